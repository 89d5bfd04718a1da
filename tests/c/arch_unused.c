#include <stdio.h>
int unused_fn(int x) { return x * 1000; }
int force_me = 1; /* the symbol named by -u in cmdline tests */
__attribute__((constructor)) static void announce(void) { printf("unused member linked\n"); }
