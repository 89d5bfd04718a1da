/* Debug-info test program: gdb must find the marked lines (.debug_line), the local
 * variables (.debug_info/.debug_loc relocated against the right addresses) and a
 * struct from the other object. */
#include <stdio.h>
#include "dbg.h"

struct point origin = {3, 4};

int main(int argc, char **argv) {
    (void)argv;
    int localvar = 40 + argc + 1;
    struct point p = scale_point(origin, localvar);
    printf("p = (%d, %d)\n", p.x, p.y); /* BREAK HERE main */
    return 0;
}
