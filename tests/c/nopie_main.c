#include <stdio.h>
extern int lib_data;
extern int lib_array[4];
int lib_fn(int);
void *lib_fn_addr(void);
void lib_set(int);
int lib_get(void);
int (*fn_ptr)(int) = lib_fn; /* absolute address of a .so function in data */
int main(void) {
    printf("lib_data = %d, lib_array[2] = %d\n", lib_data, lib_array[2]);
    lib_set(77); /* the library writes the executable's copy */
    printf("after lib_set: lib_data = %d, lib_array[3] = %d\n", lib_data, lib_array[3]);
    lib_data = 5; /* and reads what the executable wrote */
    printf("lib_get() = %d\n", lib_get());
    printf("fn_ptr(1) = %d\n", fn_ptr(1));
    printf("same function address: %s\n", (void *)lib_fn == lib_fn_addr() ? "yes" : "no");
    printf("same pointer in data: %s\n", (void *)fn_ptr == lib_fn_addr() ? "yes" : "no");
    return 0;
}
