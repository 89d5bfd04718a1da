#include "nolibc.h"

long sys_write(int fd, const void *buf, unsigned long n) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "0"(1L), "D"((long)fd), "S"(buf), "d"(n)
                     : "rcx", "r11", "memory");
    return r;
}

void sys_exit(int code) {
    __asm__ volatile("syscall" : : "a"(231L), "D"((long)code) : "rcx", "r11", "memory");
    __builtin_unreachable();
}

int append(char *dst, const char *src) {
    int n = 0;
    while (src[n]) { dst[n] = src[n]; n++; }
    return n;
}

int format_number(char *dst, long v) {
    char tmp[24];
    int n = 0, len = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) dst[len++] = tmp[--n];
    return len;
}

static const int table[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
int table_sum(void) {
    int s = 0;
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++) s += table[i];
    return s;
}

int twice(int x) { return 2 * x; }
int apply(int (*f)(int), int v) { return f(v); }
