/* A small multi-object program: sorting through function pointers, a switch that
 * compiles to a jump table at -O2, tables of pointers to strings and functions
 * (relocations in data), and zero-initialised data. */
#include <stdio.h>
#include <string.h>
#include "multi.h"

int main(int argc, char **argv) {
    (void)argv;
    int values[] = {42, 7, 19, 3, 88, 61, 5, 23};
    int n = (int)(sizeof values / sizeof values[0]);
    sort_ints(values, n);
    printf("sorted:");
    for (int i = 0; i < n; i++) printf(" %d", values[i]);
    printf("\n");

    for (int i = 0; i < 7; i++) printf("%s%s", i ? "," : "day names: ", day_name(i));
    printf("\n");

    int acc = 10;
    for (int i = 0; i < num_ops; i++) {
        acc = ops[i].fn(acc, i + 2);
        printf("op %s -> %d\n", ops[i].name, acc);
    }

    for (int i = 0; i < 12; i++) classify_counts[classify(i * 7 + argc)]++;
    printf("classes: %d %d %d %d\n", classify_counts[0], classify_counts[1],
           classify_counts[2], classify_counts[3]);

    printf("checksum: %lu\n", checksum(greeting, strlen(greeting)));
    printf("bss all zero: %d\n", bss_is_zero());
    return 0;
}
