/* A "linker set": entries placed in section rivet_set by several objects, found at run
 * time between the linker-defined __start_rivet_set and __stop_rivet_set. */
#pragma once
struct set_entry {
    const char *name;
    int (*fn)(int);
};
#define SET_ENTRY(var, nm, f)                                                              \
    __attribute__((section("rivet_set"), used, aligned(sizeof(void *))))                  \
    static const struct set_entry var = {nm, f}
