__attribute__((noinline)) int helper_in_other_object(int (*cb)(void)) {
    int v = cb();
    return v;
}
