// Exceptions thrown in other objects (and libstdc++, and optionally a shared library)
// caught here by base class; rethrow; catch(...).
#include "exc.h"
#include <cstdio>
#include <cstring>

static void rethrower() {
    try {
        throw_int(7);
    } catch (int v) {
        std::printf("caught int %d, rethrowing\n", v);
        throw;
    }
}

int main(int argc, char **argv) {
    try {
        throw_my_error(3);
    } catch (const std::exception &e) {
        const MyError *m = dynamic_cast<const MyError *>(&e);
        std::printf("caught: %s code=%d\n", e.what(), m ? m->code : -1);
    }
    try {
        rethrower();
    } catch (...) {
        std::printf("caught rethrown exception\n");
    }
    try {
        vector_at_out_of_range();
    } catch (const std::out_of_range &) {
        std::printf("caught std::out_of_range\n");
    }
    if (argc > 1 && std::strcmp(argv[1], "lib") == 0) {
        try {
            lib_throw(9);
        } catch (const MyError &e) {
            std::printf("caught from library: %s code=%d\n", e.what(), e.code);
        }
    }
    return 0;
}
