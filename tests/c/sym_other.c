static int helper(void) { return 200; }
int other_helper_value(void) { return helper(); }

int config_value(void) { return 42; }
int tunable = 20;

__attribute__((visibility("hidden"))) int hidden_counter = 1000;
__attribute__((visibility("hidden"))) int hidden_add(int a, int b) { return a + b; }

extern int global_data;
int read_global_from_other(void) { return global_data; }
