#include <stdio.h>
int prot_value(void) { return 2; }
int default_value(void) { return 2; }
int lib_calls_prot(void);
int lib_calls_default(void);
int lib_calls_hidden(void);
int main(void) {
    printf("exe prot_value() = %d, lib_calls_prot() = %d\n", prot_value(), lib_calls_prot());
    printf("exe default_value() = %d, lib_calls_default() = %d\n", default_value(),
           lib_calls_default());
    printf("lib_calls_hidden() = %d\n", lib_calls_hidden());
    return 0;
}
