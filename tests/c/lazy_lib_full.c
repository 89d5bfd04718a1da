/* Link-time version of libopt.so: defines both functions. */
int always_fn(void) { return 1; }
int optional_fn(void) { return 2; }
