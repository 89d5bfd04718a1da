const char *greeting_from_b(void) { return "hello merged world"; }
const char *unique_to_b(void) { return "only in b"; }
double scale_b(double x) { return x * 3.14159265358979 - 2.718281828459045; }
