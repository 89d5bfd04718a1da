/* TLS defined in a shared library: the library accesses it with the dynamic models
 * (general/local dynamic or TLS descriptors), the executable directly (initial exec or
 * general dynamic) and through accessors. */
#include <stdint.h>
__thread int lib_tls = 100;
__thread char lib_tbss[32];
static __thread int lib_static_tls = 9;
__thread __attribute__((aligned(32))) int lib_aligned_tls = 7;

int lib_tls_get(void) { return lib_tls; }
void lib_tls_add(int v) { lib_tls += v; lib_static_tls += v; lib_tbss[31] = (char)v; }
int lib_static_get(void) { return lib_static_tls; }
int lib_tbss_last(void) { return lib_tbss[31]; }
int lib_aligned_ok(void) { return ((uintptr_t)&lib_aligned_tls % 32) == 0 && lib_aligned_tls == 7; }
int *lib_tls_address(void) { return &lib_tls; }
