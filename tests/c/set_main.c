#include <stdio.h>
int set_count(void);
int main(void) {
    printf("library set entries: %d\n", set_count());
    return 0;
}
