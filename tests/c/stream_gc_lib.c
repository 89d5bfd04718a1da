/* Streaming --gc-sections test, compiled with -ffunction-sections -fdata-sections: nothing in
 * this object or the other early inputs references these functions. Only the late object
 * (stream_gc_main.o) references stream_gc_kept, which must make its section (and the table it
 * reads) live; the other sections must still be collected. */
int stream_gc_table[4] = {11, 22, 33, 44};
int stream_gc_dropped_table[4] = {5, 6, 7, 8};
int stream_gc_kept(int i) { return stream_gc_table[i & 3] * 2; }
int stream_gc_dropped_a(int i) { return stream_gc_dropped_table[i & 3] + 1; }
int stream_gc_dropped_b(int i) { return i * 1000; }
