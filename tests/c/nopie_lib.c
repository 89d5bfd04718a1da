/* Data and functions used by a non-PIE executable: the executable's direct accesses to
 * lib_data need a copy relocation, its function pointer a canonical PLT address. */
int lib_data = 1234;
int lib_array[4] = {10, 20, 30, 40};
int lib_fn(int x) { return x + 1; }
void *lib_fn_addr(void) { return (void *)lib_fn; }
void lib_set(int v) { lib_data = v; lib_array[3] = v * 2; }
int lib_get(void) { return lib_data; }
