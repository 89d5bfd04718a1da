/* whoami() is defined here and in the executable. Without -Bsymbolic the library's own
 * call is interposed by the executable's definition; with -Bsymbolic it binds locally. */
int whoami(void) { return 1; }
int lib_calls_whoami(void) { return whoami(); }
int lib_data_value = 10;
int lib_reads_data(void) { return lib_data_value; }
