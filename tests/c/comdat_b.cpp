#include "comdat.h"
bump_fn bump_address_from_b() { return &bump; }
void use_from_b() {
    bump(100);
    Accumulator<int>::add(20);
    Accumulator<double>::add(0.25);
    std::printf("b: twice(1.5)=%.1f counter=%d\n", twice(1.5), shared_counter());
}
