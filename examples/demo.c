/* The demo program README's first command links with rivet-ld: a little of everything a C
 * link needs (libc through PLT/GOT, TLS, constructors, string merging). */
#include <stdio.h>
#include <string.h>

static __thread int per_thread = 40;
static int constructed;

__attribute__((constructor)) static void init(void) { constructed = 1; }

int main(int argc, char **argv) {
    (void)argv;
    per_thread += argc + 1;
    printf("linked by rivet-ld: constructor ran=%d, tls=%d, strlen=%zu\n", constructed, per_thread,
           strlen("hello, rivet"));
    return 0;
}
