#include "gc.h"
static int negate(int x) { return -x; }
SET_ENTRY(b1, "b-negate", negate);
