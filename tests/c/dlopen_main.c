#include <dlfcn.h>
#include <stdio.h>
void host_log(const char *msg) { printf("host_log: %s\n", msg); }
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("dlopen failed: %s\n", dlerror());
        return 1;
    }
    int (*compute)(int) = (int (*)(int))dlsym(h, "plugin_compute");
    if (!compute) {
        printf("dlsym failed\n");
        return 1;
    }
    printf("plugin_compute(4) = %d\n", compute(4));
    printf("plugin_compute(5) = %d\n", compute(5));
    printf("dlclose = %d\n", dlclose(h));
    return 0;
}
