/* Identical code folding: twins with the same code (one pair recursive, so only the
 * refinement can prove them equal), a pair whose addresses are compared, and a function
 * that differs in one constant. */
#include <stdio.h>
__attribute__((noinline)) int twin_a(int x) { return x * 7 + 3; }
__attribute__((noinline)) int twin_b(int x) { return x * 7 + 3; }
__attribute__((noinline)) int count_a(int x) { return x <= 0 ? 0 : 1 + count_a(x - 1); }
__attribute__((noinline)) int count_b(int x) { return x <= 0 ? 0 : 1 + count_b(x - 1); }
__attribute__((noinline)) int taken_a(int x) { return x * 11 + 5; }
__attribute__((noinline)) int taken_b(int x) { return x * 11 + 5; }
__attribute__((noinline)) int unlike(int x) { return x * 7 + 4; }
int (*volatile pointer_a)(int) = taken_a;
int (*volatile pointer_b)(int) = taken_b;
int main(void) {
    printf("%d %d %d %d %d %d %d\n", twin_a(1), twin_b(2), count_a(5), count_b(6), pointer_a(1), pointer_b(2), unlike(1));
    printf("taken functions have distinct addresses: %s\n", pointer_a != pointer_b ? "yes" : "no");
    return 0;
}
