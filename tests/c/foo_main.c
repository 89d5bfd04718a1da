#include <stdio.h>
const char *foo_flavour(void);
int main(void) {
    printf("foo says: %s\n", foo_flavour());
    return 0;
}
