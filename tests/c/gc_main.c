/* Compiled with -ffunction-sections -fdata-sections and linked with --gc-sections:
 * unreferenced functions/data are dropped, but sections reachable through
 * __start_/__stop_ symbols are kept (including those of gc_set_b.o, which nothing else
 * references). */
#include <stdio.h>
#include "gc.h"

extern const struct set_entry __start_rivet_set[], __stop_rivet_set[];

__attribute__((noinline)) int gc_used_function(int x) { return x + 1; }
int gc_unused_function(int x) { return x * 12345; }
int gc_used_data = 17;
int gc_unused_data[100] = {1};

static int twice(int x) { return 2 * x; }
SET_ENTRY(main_entry, "main-entry", twice);

int main(void) {
    int n = (int)(__stop_rivet_set - __start_rivet_set);
    printf("set entries: %d\n", n);
    for (const struct set_entry *e = __start_rivet_set; e < __stop_rivet_set; e++)
        printf("  %s -> %d\n", e->name, e->fn(10));
    printf("used: %d %d\n", gc_used_function(1), gc_used_data);
    return 0;
}
