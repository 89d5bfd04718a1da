/* References a function that no input defines. */
#include <stdio.h>
int missing_function(int);
int main(void) {
    printf("%d\n", missing_function(1));
    return 0;
}
