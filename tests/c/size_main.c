#include <stdio.h>
#include <stdint.h>
char big_object[1234];
extern struct {
    uint32_t a, b;
    uint64_t c, d;
    uint32_t f;
} size_table;
/* A function whose size we also know from the symbol table (checked by the test). */
int small_function(int x) { return x * 7 + 1; }
int main(void) {
    printf("SIZE32: %u\n", size_table.a);
    printf("SIZE32+16: %u\n", size_table.b);
    printf("SIZE64: %llu\n", (unsigned long long)size_table.c);
    printf("SIZE64 asm_object-2: %llu\n", (unsigned long long)size_table.d);
    printf("small_function size nonzero: %s\n", size_table.f > 0 ? "yes" : "no");
    printf("small_function(2) = %d\n", small_function(2));
    printf("SIZE_FN %u\n", size_table.f);
    return 0;
}
