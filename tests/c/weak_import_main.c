/* Optional features found at run time through undefined weak references, the way Rust's
   std looks for newer libc functions; `weak_def` is a library's weak definition that the
   program needs (a strong reference); strnlen is an IFUNC in glibc. */
#include <stdio.h>
#include <string.h>

__attribute__((weak)) extern int optional_feature(int);
__attribute__((weak)) extern int optional_counter;
int weak_def(void);

int main(int argc, char **argv) {
    if (optional_feature)
        printf("optional_feature present: %d\n", optional_feature(20));
    else
        printf("optional_feature absent\n");
    if (&optional_counter)
        printf("optional_counter present: %d\n", optional_counter);
    else
        printf("optional_counter absent\n");
    printf("weak_def() = %d, strnlen = %d\n", weak_def(), strnlen(argv[0], 64) > 0);
    return argc - 1;
}
