/* String literals land in SHF_MERGE|SHF_STRINGS sections (.rodata.str1.1); double
 * constants in SHF_MERGE sections with entsize 8 (.rodata.cst8). */
const char *greeting_from_a(void) { return "hello merged world"; }
const char *suffix_from_a(void) { return "merged world"; }
const char *unique_to_a(void) { return "only in a"; }
double scale_a(double x) { return x * 3.14159265358979 + 2.718281828459045; }
