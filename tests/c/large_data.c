int large_table[256];
const char *large_names[] = {"first", "second"};
static int initialised;
static void init(void) {
    for (int i = 0; i < 256; i++) large_table[i] = i * 2;
    initialised = 1;
}
int large_sum(int n) {
    if (!initialised) init();
    int s = 0;
    for (int i = 0; i < n; i++) s += large_table[i];
    return s;
}
