// Calls the one function of comdat_gc.s's live group.
#include <stdio.h>

int keeper(void);

int main(void) {
    printf("keeper: %d\n", keeper());
    return 0;
}
