int common_counter;
int common_array[16];
__attribute__((aligned(64))) int common_aligned;
void add_from_b(int v) { common_counter += v; common_array[15] = 15; }
