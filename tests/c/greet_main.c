#include <stdio.h>
const char *greet(const char *name);
int greet_apply(int (*fn)(int), int v);
extern int greet_calls;
static int square(int x) { return x * x; }
int main(void) {
    puts(greet("linker"));
    puts(greet("world"));
    printf("greet_calls = %d\n", greet_calls);
    printf("greet_apply = %d\n", greet_apply(square, 7));
    return 0;
}
