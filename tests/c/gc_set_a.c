#include "gc.h"
static int plus_one(int x) { return x + 1; }
static int square(int x) { return x * x; }
SET_ENTRY(a1, "a-plus-one", plus_one);
SET_ENTRY(a2, "a-square", square);
int gc_set_a_unused(void) { return 5; }
