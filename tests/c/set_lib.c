/* A shared library with a linker set of its own, iterated through __start_/__stop_. */
#include "gc.h"
extern const struct set_entry __start_rivet_set[], __stop_rivet_set[];
static int twice(int x) { return 2 * x; }
SET_ENTRY(lib_entry, "lib-twice", twice);
int set_count(void) { return (int)(__stop_rivet_set - __start_rivet_set); }
