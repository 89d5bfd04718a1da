/* Member of libstream.a needed only by another member (stream_member.o). */
int stream_helper_fn(int x) { return x * 3; }
