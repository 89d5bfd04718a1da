#include "comdat.h"
bump_fn bump_address_from_a() { return &bump; }
void use_from_a() {
    bump(1);
    Accumulator<int>::add(10);
    Accumulator<double>::add(0.5);
    std::printf("a: twice(21)=%d counter=%d\n", twice(21), shared_counter());
}
