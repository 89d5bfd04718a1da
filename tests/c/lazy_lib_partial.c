/* Run-time version of libopt.so: optional_fn is gone. A lazily bound program that never
 * calls it still runs; a -z now program fails to start. */
int always_fn(void) { return 1; }
