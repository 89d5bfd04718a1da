#include "multi.h"

static int op_add(int a, int b) { return a + b; }
static int op_mul(int a, int b) { return a * b; }
static int op_sub(int a, int b) { return a - b; }
int op_xor(int a, int b) { return a ^ b; }

/* Pointers to functions and strings: needs relocations (relative ones in a PIE). */
const struct op ops[] = {
    {"add", op_add}, {"mul", op_mul}, {"sub", op_sub}, {"xor", op_xor},
};
const int num_ops = sizeof ops / sizeof ops[0];

int classify_counts[4];
static char big_bss[1 << 16];
const char greeting[] = "linking is fun";

int bss_is_zero(void) {
    for (unsigned i = 0; i < sizeof big_bss; i++)
        if (big_bss[i]) return 0;
    return 1;
}
