/* Member of libstream.a needed by stream_arch_main.o; it needs stream_helper.o in turn. */
int stream_helper_fn(int);
int stream_member_fn(int x) { return stream_helper_fn(x) + 100; }
