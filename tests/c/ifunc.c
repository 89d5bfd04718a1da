/* GNU indirect functions: the resolver runs at load time (IRELATIVE relocations, or
 * the static startup code walking __rela_iplt_start..__rela_iplt_end) and its result
 * is what calls and function pointers reach. */
#include <stdio.h>

static int impl_slow(int x) { return x + 1; }
static int impl_fast(int x) { return x * 100; }
static int impl_other(int x) { return -x; }

static volatile int selector = 2; /* chosen without calling into libc */

static int (*resolve_compute(void))(int) {
    switch (selector) {
    case 1: return impl_slow;
    case 2: return impl_fast;
    default: return impl_other;
    }
}

int compute(int x) __attribute__((ifunc("resolve_compute")));

static const char *resolve_name_impl(void) { return "resolved-name"; }
static const char *(*resolve_name(void))(void) { return resolve_name_impl; }
const char *ifunc_name(void) __attribute__((ifunc("resolve_name")));

typedef int (*compute_fn)(int);
compute_fn compute_address_from_other_object(void);
int call_compute_from_other_object(int);
compute_fn stored_pointer = compute; /* address of an ifunc in initialised data */

int main(int argc, char **argv) {
    (void)argv;
    printf("compute(3) = %d\n", compute(3));
    printf("via other object: %d\n", call_compute_from_other_object(4));
    compute_fn p = compute;
    printf("via pointer: %d\n", p(5));
    printf("via stored pointer: %d\n", stored_pointer(6));
    /* Function pointer equality for an ifunc is only guaranteed in position-dependent
     * executables (canonical PLT entry); the test asks for it there (argc > 1). */
    if (argc > 1)
        printf("pointers equal: %s\n",
               (p == compute_address_from_other_object() && p == stored_pointer) ? "yes" : "no");
    printf("name: %s\n", ifunc_name());
    return 0;
}
