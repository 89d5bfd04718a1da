#pragma once
#include <stdexcept>
#include <string>
struct MyError : std::runtime_error {
    int code;
    MyError(const std::string &what, int code) : std::runtime_error(what), code(code) {}
};
void throw_my_error(int depth);        // exc_throw.cpp
void throw_int(int v);                 // exc_throw.cpp
int vector_at_out_of_range();          // exc_throw.cpp: libstdc++ throws
void lib_throw(int code);              // exc_lib.cpp (in a shared library)
