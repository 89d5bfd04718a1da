// References foo::bar(int), which no input defines: the error must show the demangled name.
#include <cstdio>
namespace foo {
struct bar_holder {};
int bar(int);
} // namespace foo
int main() {
    std::printf("%d\n", foo::bar(1));
    return 0;
}
