#include <stdio.h>
int always_fn(void);
int optional_fn(void);
int main(int argc, char **argv) {
    (void)argv;
    int sum = 0;
    for (int i = 0; i < 1000; i++) sum += always_fn(); /* PLT calls, resolved once */
    printf("always_fn sum: %d\n", sum);
    if (argc > 1) printf("optional_fn: %d\n", optional_fn());
    return 0;
}
