/* The program of the killed-link test: prints its VERSION and the first byte of each large
 * data object it is linked with (pad_1 ... pad_4, 32 MiB each), so every link copies 128 MiB. */
#include "nolibc.h"

extern char pad_1[], pad_2[], pad_3[], pad_4[];
static char line[64];

__attribute__((force_align_arg_pointer, noreturn)) void _start(void) {
    int n = append(line, "version ");
    n += format_number(line + n, VERSION);
    n += append(line + n, ", data ");
    n += format_number(line + n, pad_1[0] + pad_2[0] + pad_3[0] + pad_4[0]);
    line[n++] = '\n';
    sys_write(1, line, n);
    sys_exit(0);
}
