// Inline functions and templates defined in a header: every object that uses them gets
// its own copy in a COMDAT group; the linker must keep exactly one.
#pragma once
#include <cstdio>

inline int &shared_counter() {
    static int counter = 0; // one static for the whole program iff COMDAT is deduplicated
    return counter;
}

inline int bump(int by) { return shared_counter() += by; }

template <typename T> struct Accumulator {
    static T total;                  // template static data member: COMDAT too
    static void add(T v) { total += v; }
    static T get() { return total; }
};
template <typename T> T Accumulator<T>::total = T();

template <typename T> T twice(T v) { return v + v; }

typedef int (*bump_fn)(int);
bump_fn bump_address_from_a();
bump_fn bump_address_from_b();
void use_from_a();
void use_from_b();
