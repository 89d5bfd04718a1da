#include <stdlib.h>
#include "multi.h"

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void sort_ints(int *v, int n) { qsort(v, (size_t)n, sizeof *v, cmp_int); }

static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

const char *day_name(int i) { return days[i % 7]; }

/* Dense switch: a jump table in .rodata at -O2 (relative or absolute entries). */
int classify(int x) {
    switch (x % 11) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 2;
    case 3: return 3;
    case 4: return 1;
    case 5: return 2;
    case 6: return 0;
    case 7: return 3;
    case 8: return 2;
    case 9: return 1;
    default: return 0;
    }
}

unsigned long checksum(const char *s, size_t n) {
    unsigned long h = 5381;
    for (size_t i = 0; i < n; i++) h = h * 33 + (unsigned char)s[i];
    return h;
}
