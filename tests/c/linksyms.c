/* Uses the symbols the linker defines: __ehdr_start, __executable_start, etext/_etext,
 * edata/_edata, end/_end, __bss_start, __{preinit,init,fini}_array_{start,end},
 * _GLOBAL_OFFSET_TABLE_ and _DYNAMIC, with sanity checks on their values. */
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

extern const ElfW(Ehdr) __ehdr_start;
extern char __executable_start[];
extern char etext[], _etext[], edata[], _edata[], end[], _end[], __bss_start[];
typedef void (*fnptr)(void);
extern fnptr __preinit_array_start[], __preinit_array_end[];
extern fnptr __init_array_start[], __init_array_end[];
extern fnptr __fini_array_start[], __fini_array_end[];
/* Hidden, not weak: a weak reference would go through the GOT, and gas mangles
 * _GLOBAL_OFFSET_TABLE_@GOTPCREL. A direct reference is R_X86_64_GOTPC32. */
extern char _GLOBAL_OFFSET_TABLE_[] __attribute__((visibility("hidden")));
extern ElfW(Dyn) _DYNAMIC[] __attribute__((weak));

static int ran;
static void pre(void) { ran |= 1; }
__attribute__((section(".preinit_array"), used)) static fnptr pre_entry = pre;
__attribute__((constructor(150))) static void c1(void) { ran |= 2; }
__attribute__((constructor)) static void c2(void) { ran |= 4; }
__attribute__((constructor)) static void c3(void) { ran |= 8; }
__attribute__((destructor)) static void d1(void) { ran = 0; }

int initialised_data = 42;
int zero_data[1000];
static void func_in_text(void) {}

#define CHECK(cond) printf("%-58s %s\n", #cond, (cond) ? "ok" : "FAILED")

static int count_ours(fnptr *a, fnptr *b, fnptr x, fnptr y, fnptr z) {
    int n = 0;
    for (fnptr *p = a; p < b; p++) n += *p == x || *p == y || *p == z;
    return n;
}

int main(void) {
    uintptr_t ehdr = (uintptr_t)&__ehdr_start;
    CHECK(memcmp(__ehdr_start.e_ident, "\177ELF", 4) == 0);
    CHECK(__ehdr_start.e_ident[EI_CLASS] == ELFCLASS64);
    CHECK(__ehdr_start.e_phnum == getauxval(AT_PHNUM));
    CHECK(ehdr + __ehdr_start.e_phoff == getauxval(AT_PHDR));
    CHECK((uintptr_t)__executable_start <= ehdr);
    CHECK(ehdr < (uintptr_t)etext);
    CHECK(etext == _etext && edata == _edata && end == _end);
    CHECK((uintptr_t)etext <= (uintptr_t)edata);
    CHECK((uintptr_t)edata <= (uintptr_t)__bss_start);
    CHECK((uintptr_t)__bss_start <= (uintptr_t)end);
    CHECK((uintptr_t)func_in_text >= ehdr && (uintptr_t)func_in_text < (uintptr_t)etext);
    CHECK((uintptr_t)&initialised_data < (uintptr_t)edata);
    CHECK((uintptr_t)&zero_data[0] >= (uintptr_t)__bss_start);
    CHECK((uintptr_t)&zero_data[999] < (uintptr_t)end);
    CHECK(ran == 15);
    CHECK(__preinit_array_end - __preinit_array_start == 1);
    CHECK(__preinit_array_start[0] == pre);
    CHECK(count_ours(__init_array_start, __init_array_end, c1, c2, c3) == 3);
    CHECK(__init_array_start[0] == c1); /* priority 150 sorts first */
    CHECK(count_ours(__fini_array_start, __fini_array_end, d1, d1, d1) == 1);
    CHECK(_GLOBAL_OFFSET_TABLE_ != 0);
    CHECK((uintptr_t)_GLOBAL_OFFSET_TABLE_ > ehdr && (uintptr_t)_GLOBAL_OFFSET_TABLE_ < (uintptr_t)end);
    if (_DYNAMIC) {
        int strtab = 0, n = 0;
        for (ElfW(Dyn) *d = _DYNAMIC; d->d_tag != DT_NULL && n < 1000; d++, n++)
            strtab |= d->d_tag == DT_STRTAB;
        printf("_DYNAMIC: present, DT_STRTAB %s\n", strtab ? "found" : "MISSING");
    } else {
        printf("_DYNAMIC: absent\n");
    }
    return 0;
}
