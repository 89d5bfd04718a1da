#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int hash_fn_123(void);
extern int hash_data_object;
int main(void) {
    long sum = 0;
    int found = 0;
    for (int i = 100; i < 400; i++) {
        char name[32];
        snprintf(name, sizeof name, "hash_fn_%d", i);
        int (*f)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, name);
        if (f) {
            found++;
            sum += f();
        }
    }
    void *missing = dlsym(RTLD_DEFAULT, "hash_fn_999");
    printf("found %d functions, sum %ld, missing %s\n", found, sum, missing ? "FOUND?!" : "absent");
    printf("direct: %d %d\n", hash_fn_123(), hash_data_object);
    return 0;
}
