/* Member of libstream.a that nothing references: it must stay out of the link (its
 * constructor would announce it). */
#include <stdio.h>
int stream_unused_fn(int x) { return x - 1; }
__attribute__((constructor)) static void stream_unused_ctor(void) { puts("unused member linked"); }
