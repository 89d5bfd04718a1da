#include <stdio.h>
#include <stdint.h>
extern int common_counter;
extern int common_array[16];
extern int common_aligned;
int common_counter;           /* a third tentative definition */
void add_from_a(int);
void add_from_b(int);
int main(void) {
    add_from_a(3);
    add_from_b(4);
    common_counter += 10;
    printf("common_counter = %d\n", common_counter);
    printf("common_array[7] = %d, [15] = %d\n", common_array[7], common_array[15]);
    int zero = 1;
    for (int i = 0; i < 16; i++)
        if (i != 7 && i != 15 && common_array[i]) zero = 0;
    printf("rest zero: %d\n", zero);
    printf("aligned to 64: %s\n", ((uintptr_t)&common_aligned % 64) == 0 ? "yes" : "no");
    return 0;
}
