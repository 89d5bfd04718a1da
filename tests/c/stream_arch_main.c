/* Streaming test: the only reference to the archive libstream.a's members. The session gets
 * this object last, after the archive, libc and the crt files, yet it comes before the archive
 * on the command line, so the archive must still pull stream_member_fn (and, through it,
 * stream_helper_fn) for it. */
#include <stdio.h>
int stream_member_fn(int);
int main(void) {
    printf("stream_member_fn(7) = %d\n", stream_member_fn(7));
    return 0;
}
