#include "comdat.h"
int main() {
    use_from_a();
    use_from_b();
    bump(1000);
    std::printf("main: counter=%d int total=%d double total=%.2f\n", shared_counter(),
                Accumulator<int>::get(), Accumulator<double>::get());
    std::printf("same bump address: %s\n",
                bump_address_from_a() == bump_address_from_b() ? "yes" : "no");
    std::printf("twice<int> in main: %d\n", twice(8));
    return 0;
}
