/* dup_a.c and dup_b.c both define dup_sym strongly. */
#include <stdio.h>
int dup_sym(void) { return 1; }
int main(void) {
    printf("%d\n", dup_sym());
    return 0;
}
