/* The late object of the streaming --gc-sections test: the only reference to stream_gc_kept. */
#include <stdio.h>
int stream_gc_kept(int);
int main(void) {
    printf("stream_gc_kept: %d %d %d\n", stream_gc_kept(0), stream_gc_kept(2), stream_gc_kept(5));
    return 0;
}
