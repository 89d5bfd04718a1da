/* The C part of ws-lib, compiled by the `cc` crate into a static library: a function Rust
   calls, a C thread-local, and a constructor (.init_array) that must run before main. */
static int constructed;
static __thread int calls_in_this_thread;

__attribute__((constructor)) static void ws_native_init(void) {
    constructed = 1;
}

/* 3 * x + 1, where the 1 is only there if the constructor ran. */
int ws_native_mix(int x) {
    calls_in_this_thread++;
    return 3 * x + constructed;
}

int ws_native_calls(void) {
    return calls_in_this_thread;
}
