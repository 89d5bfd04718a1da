/* aliased_fn is undefined in every object: --defsym=aliased_fn=real_impl defines it as
 * an alias. magic_value is an absolute symbol from --defsym=magic_value=0x1234 (only in
 * the non-PIE build, where its address can be used directly). */
#include <stdint.h>
#include <stdio.h>
int aliased_fn(int);
int real_impl(int x) { return x * 11; }
#ifdef WITH_MAGIC
extern char magic_value[];
extern char magic_plus[];
#endif
int main(void) {
    /* volatile: the compiler would otherwise assume distinct functions differ */
    volatile uintptr_t a = (uintptr_t)aliased_fn, b = (uintptr_t)real_impl;
    printf("aliased_fn(3) = %d, same function: %s\n", aliased_fn(3), a == b ? "yes" : "no");
#ifdef WITH_MAGIC
    printf("magic_value = 0x%lx, magic_plus = 0x%lx\n", (unsigned long)(uintptr_t)magic_value,
           (unsigned long)(uintptr_t)magic_plus);
#endif
    return 0;
}
