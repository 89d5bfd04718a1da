#include <stdio.h>
#include <string.h>
const char *greeting_from_a(void);
const char *greeting_from_b(void);
const char *suffix_from_a(void);
const char *unique_to_a(void);
const char *unique_to_b(void);
double scale_a(double);
double scale_b(double);

int main(void) {
    const char *a = greeting_from_a(), *b = greeting_from_b();
    printf("a: %s\nb: %s\n", a, b);
    printf("same pointer: %s\n", a == b ? "yes" : "no");
    printf("suffix: %s (%s)\n", suffix_from_a(), strcmp(suffix_from_a(), a + 6) == 0 ? "ok" : "bad");
    printf("unique: %s / %s\n", unique_to_a(), unique_to_b());
    printf("scale_a(2) = %.6f\n", scale_a(2.0));
    printf("scale_b(2) = %.6f\n", scale_b(2.0));
    printf("in main: %s\n", "hello merged world" == a ? "same literal" : "different literal");
    return 0;
}
