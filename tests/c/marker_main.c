#include <stdio.h>

extern char all_ones[], all_ones_less_1[], all_ones_less_2[];

/* Relocated data: R_X86_64_64 against each absolute symbol. */
unsigned long values[] = {
    (unsigned long)all_ones,
    (unsigned long)all_ones_less_1,
    (unsigned long)all_ones_less_2,
};

int main(void) {
    for (int i = 0; i < 3; i++)
        printf("%lx\n", values[i]);
    return 0;
}
