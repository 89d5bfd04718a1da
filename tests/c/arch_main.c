/* Uses one archive member (arch_used.o), which needs another (arch_dep.o). The member
 * arch_unused.o defines nothing we reference and must only be linked on request
 * (--whole-archive, -u). Its constructor would announce it. */
#include <stdio.h>
int used_fn(int);
int main(void) {
    printf("used_fn(5) = %d\n", used_fn(5));
    return 0;
}
