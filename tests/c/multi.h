#ifndef MULTI_H
#define MULTI_H
#include <stddef.h>
struct op { const char *name; int (*fn)(int, int); };
extern const struct op ops[];
extern const int num_ops;
extern int classify_counts[4];
extern const char greeting[];
void sort_ints(int *v, int n);
const char *day_name(int i);
int classify(int x);
unsigned long checksum(const char *s, size_t n);
int bss_is_zero(void);
#endif
