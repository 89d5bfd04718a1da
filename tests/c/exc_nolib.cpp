// Stub for programs linked without the exception-throwing shared library.
#include "exc.h"
void lib_throw(int) {}
