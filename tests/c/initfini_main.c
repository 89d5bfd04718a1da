/* Constructors and destructors through .init_array/.fini_array (and their
 * priority-sorted .init_array.NNNNN/.fini_array.NNNNN input sections) plus
 * .preinit_array. Output order proves the linker sorted and kept them all:
 * constructors run by ascending priority, destructors by descending priority,
 * unprioritised ones after (ctors) / before (dtors) the prioritised ones. */
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>

/* write(2) rather than stdio so that output from destructors is never lost. */
void say(const char *s) {
    write(1, s, strlen(s));
    write(1, "\n", 1);
}

static void preinit_fn(void) { say("preinit"); }
__attribute__((section(".preinit_array"), used)) static void (*preinit_entry)(void) = preinit_fn;

__attribute__((constructor(300))) static void ctor300(void) { say("ctor 300 (main.c)"); }
__attribute__((constructor(101))) static void ctor101(void) { say("ctor 101 (main.c)"); }
__attribute__((constructor)) static void ctor_plain(void) { say("ctor default (main.c)"); }

__attribute__((destructor(300))) static void dtor300(void) { say("dtor 300 (main.c)"); }
__attribute__((destructor(101))) static void dtor101(void) { say("dtor 101 (main.c)"); }
__attribute__((destructor)) static void dtor_plain(void) { say("dtor default (main.c)"); }

static void at_exit_handler(void) { say("atexit handler"); }

int main(void) {
    atexit(at_exit_handler);
    say("main");
    return 0;
}
