/* A freestanding program (no libc, no crt files) for direct linker invocations:
 * `ld -e _start nolibc_main.o nolibc_util.o`. Uses raw syscalls. */
#include "nolibc.h"

static const char *const words[] = {"direct", "link", "works"};
static int counter = 5;
static char scratch[64];

__attribute__((force_align_arg_pointer, noreturn)) void _start(void) {
    int n = 0;
    for (int i = 0; i < 3; i++) {
        n += append(scratch + n, words[i]);
        scratch[n++] = i == 2 ? '\n' : ' ';
    }
    sys_write(1, scratch, n);
    n = format_number(scratch, table_sum() + counter);
    scratch[n++] = '\n';
    sys_write(1, scratch, n);
    sys_exit(apply(twice, 21));
}
