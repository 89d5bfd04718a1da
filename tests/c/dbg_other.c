#include "dbg.h"
static int helper_calls;
struct point scale_point(struct point p, int factor) {
    struct point r = {p.x * factor, p.y * factor};
    helper_calls++;
    return r; /* BREAK HERE other */
}
