/* Looks itself up with dlsym(RTLD_DEFAULT): succeeds only if the executable's symbol
 * is in its dynamic symbol table (--export-dynamic / -rdynamic). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int exported_hook(int x) { return x * 3; }
int exported_value = 12;
int main(void) {
    int (*f)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "exported_hook");
    int *v = (int *)dlsym(RTLD_DEFAULT, "exported_value");
    if (!f || !v) {
        printf("not exported\n");
        return 3;
    }
    printf("exported_hook(14) = %d, same address: %s\n", f(14), f == exported_hook ? "yes" : "no");
    printf("exported_value = %d\n", *v);
    return 0;
}
