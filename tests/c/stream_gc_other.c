/* Another early object for the streaming --gc-sections test: referenced by nobody. */
int stream_gc_dropped_c(int i) { return i ^ 0x55; }
