#include <stdio.h>
int impl(void);
int main(void) {
    printf("impl() = %d\n", impl());
    return 0;
}
