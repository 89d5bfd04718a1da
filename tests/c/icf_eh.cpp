// Two functions whose code is the same (the handlers do the same thing) but whose landing
// pads catch different exceptions: only their LSDAs' type tables differ, so ICF must keep both.
#include <cstdio>
#include <stdexcept>
__attribute__((noinline)) int thrower(int x) {
    if (x == 1) throw std::runtime_error("runtime");
    if (x == 2) throw std::logic_error("logic");
    return x;
}
__attribute__((noinline)) int catch_runtime(int x) {
    try { return thrower(x); } catch (const std::runtime_error &) { return -1; }
}
__attribute__((noinline)) int catch_logic(int x) {
    try { return thrower(x); } catch (const std::logic_error &) { return -1; }
}
int main() {
    std::printf("%d %d\n", catch_runtime(1), catch_logic(2));
    try { catch_runtime(2); } catch (const std::logic_error &) { std::puts("logic passes catch_runtime"); }
    try { catch_logic(1); } catch (const std::runtime_error &) { std::puts("runtime passes catch_logic"); }
    return 0;
}
