/* Compiled with -mcmodel=large: addresses are materialised with 64-bit relocations
 * (R_X86_64_64 for -fno-pic; R_X86_64_GOTPC64 / GOTOFF64 / PLTOFF64 / GOT64 for -fPIC). */
#include <stdio.h>
extern int large_table[256];
extern const char *large_names[];
int large_sum(int n);
static int local_array[64];
static const char *local_msg = "large model local string";
int (*fnptr)(int) = large_sum;

int main(void) {
    for (int i = 0; i < 64; i++) local_array[i] = i;
    int s = 0;
    for (int i = 0; i < 64; i++) s += local_array[i];
    printf("local sum: %d\n", s);
    printf("large_sum(256): %d via pointer: %d\n", large_sum(256), fnptr(10));
    printf("table[255]: %d names: %s %s\n", large_table[255], large_names[0], large_names[1]);
    puts(local_msg);
    return 0;
}
