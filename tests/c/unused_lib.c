int unused_lib_fn(void) { return 99; }
