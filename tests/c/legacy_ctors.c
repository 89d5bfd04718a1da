/* Legacy constructors: function pointers placed directly into .ctors/.dtors (as old
 * compilers did). crtbegin.o no longer walks .ctors on this system; GNU ld's default
 * script places .ctors into .init_array (and .dtors into .fini_array) so they still
 * run. Also a prioritised .ctors.NNNNN entry. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void say(const char *s) {
    write(1, s, strlen(s));
    write(1, "\n", 1);
}

static void legacy_ctor(void) { say("legacy .ctors constructor ran"); }
static void legacy_dtor(void) { say("legacy .dtors destructor ran"); }
static void modern_ctor(void) { say("modern .init_array constructor ran"); }

__attribute__((section(".ctors"), used)) static void (*ctor_entry)(void) = legacy_ctor;
__attribute__((section(".dtors"), used)) static void (*dtor_entry)(void) = legacy_dtor;
__attribute__((section(".init_array"), used)) static void (*init_entry)(void) = modern_ctor;

int main(void) {
    say("main");
    return 0;
}
