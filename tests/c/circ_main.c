/* liba.a(circ_a1.o) needs libb.a(circ_b1.o), which needs liba.a(circ_a2.o): only a
 * --start-group/--end-group (or repeating liba.a) resolves this with GNU semantics. */
#include <stdio.h>
int a1(int);
int main(void) {
    printf("a1(1) = %d\n", a1(1));
    return 0;
}
