#include <stdio.h>
int whoami(void) { return 2; }
int lib_calls_whoami(void);
int main(void) {
    printf("exe whoami() = %d\n", whoami());
    printf("lib_calls_whoami() = %d\n", lib_calls_whoami());
    return 0;
}
