#include "exc.h"
struct LibError : MyError {
    LibError(int code) : MyError("from the library", code) {}
};
void lib_throw(int code) { throw LibError(code); }
