// Throws through several frames with destructors (cleanup landing pads) to be run.
#include "exc.h"
#include <cstdio>
#include <vector>

struct Guard {
    int depth;
    ~Guard() { std::printf("unwinding guard %d\n", depth); }
};

void throw_my_error(int depth) {
    Guard g{depth};
    if (depth == 0) throw MyError("deep failure", 42);
    throw_my_error(depth - 1);
}

void throw_int(int v) { throw v; }

int vector_at_out_of_range() {
    std::vector<int> v(3);
    return v.at(10);
}
