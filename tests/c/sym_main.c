/* Symbol binding and visibility in an executable:
 *  - static functions with the same name in two objects stay separate,
 *  - a weak undefined function/variable resolves to NULL,
 *  - weak definitions are overridden by strong ones from another object,
 *  - a hidden symbol is usable across objects of the same output,
 *  - a weak definition with no strong competitor is used as is. */
#include <stdio.h>

static int helper(void) { return 100; } /* sym_other.c has its own helper() */
int other_helper_value(void);

extern int maybe_missing(void) __attribute__((weak));
extern int maybe_missing_var __attribute__((weak));

__attribute__((weak)) int config_value(void) { return 1; } /* overridden by sym_other.c */
__attribute__((weak)) int tunable = 10;                     /* overridden by sym_other.c */
__attribute__((weak)) int only_weak(void) { return 77; }    /* no strong definition anywhere */

__attribute__((visibility("hidden"))) int hidden_add(int a, int b);
extern int hidden_counter __attribute__((visibility("hidden")));

int global_data = 5;
int read_global_from_other(void);

int main(void) {
    printf("helper here: %d, helper there: %d\n", helper(), other_helper_value());
    printf("weak undefined function: %s\n", maybe_missing ? "present" : "null");
    printf("weak undefined variable: %s\n", &maybe_missing_var ? "present" : "null");
    printf("config_value: %d\n", config_value());
    printf("tunable: %d\n", tunable);
    printf("only_weak: %d\n", only_weak());
    hidden_counter += hidden_add(2, 3);
    printf("hidden: %d\n", hidden_counter);
    global_data = 9;
    printf("global seen by other object: %d\n", read_global_from_other());
    return 0;
}
