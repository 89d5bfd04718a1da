/* A shared library with an undefined symbol: fine by default, an error with
 * --no-undefined / -z defs. */
int missing_symbol_xyz(void);
int needs_missing(void) { return missing_symbol_xyz() + 1; }
