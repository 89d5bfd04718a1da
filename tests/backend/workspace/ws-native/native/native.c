/* Compiled by ws-native's build script into libws_native_c.a. */
static const int table[] = {2, 3, 5, 7, 11, 13};

int ws_native_mix(int x) {
    return x * 3 + 1;
}

int ws_native_table_sum(void) {
    int sum = 0;
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
        sum += table[i];
    return sum;
}
