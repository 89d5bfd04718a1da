/* dlopens a Rust cdylib built by the linker under test and calls into it. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    void *h = dlopen(argc > 1 ? argv[1] : "./libcdylib.so", RTLD_NOW);
    if (!h) {
        printf("dlopen failed: %s\n", dlerror());
        return 1;
    }
    int (*add)(int, int) = (int (*)(int, int))dlsym(h, "rivet_add");
    printf("rivet_add(2, 3) = %d\n", add(2, 3));
    printf("rivet_add(-1, 3) = %d\n", add(-1, 3));
    return 0;
}
