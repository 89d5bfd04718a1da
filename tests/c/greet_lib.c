/* A small shared library: functions, exported data, a constructor, and a callback into
 * the executable's code through a function pointer. */
#include <stdio.h>
#include <string.h>

int greet_calls = 0;
static char buffer[128];
static int initialised;

__attribute__((constructor)) static void greet_init(void) { initialised = 1; }

const char *greet(const char *name) {
    greet_calls++;
    snprintf(buffer, sizeof buffer, "Hello, %s! (init=%d)", name, initialised);
    return buffer;
}

int greet_apply(int (*fn)(int), int v) { return fn(v) + (int)strlen(buffer); }
