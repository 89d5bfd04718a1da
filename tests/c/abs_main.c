#include <stdint.h>
#include <stdio.h>
#include <string.h>
int target_var[8] = {1, 2, 3, 4, 5, 6, 7, 8};
extern unsigned char reloc_table[];
extern char small_abs[];
uint32_t addr32_of_target(void);
uint64_t addr32s_of_target(void);
/* Compiled -fno-pic: these use R_X86_64_32/32S in code and R_X86_64_64 in data. */
static int *const target_ptr = &target_var[2];
static uint32_t target_addr32(void) { return (uint32_t)(uintptr_t)&target_var[1]; }

#define AT(type, off) ({ type v_; memcpy(&v_, reloc_table + (off), sizeof v_); v_; })

int main(void) {
    uintptr_t t = (uintptr_t)target_var;
    uintptr_t base = (uintptr_t)reloc_table;
    printf("R_X86_64_8: 0x%x 0x%x\n", reloc_table[0], reloc_table[1]);
    printf("R_X86_64_16: 0x%x\n", AT(uint16_t, 2));
    printf("R_X86_64_32: %s\n", AT(uint32_t, 4) == (uint32_t)t ? "ok" : "BAD");
    printf("R_X86_64_32+4: %s\n", AT(uint32_t, 8) == (uint32_t)(t + 4) ? "ok" : "BAD");
    printf("R_X86_64_PC32: %s\n", (int64_t)AT(int32_t, 12) == (int64_t)(t - (base + 12)) ? "ok" : "BAD");
    printf("R_X86_64_64: %s\n", AT(uint64_t, 16) == t + 8 ? "ok" : "BAD");
    printf("R_X86_64_PC64: %s\n", AT(int64_t, 24) == (int64_t)(t - (base + 24)) ? "ok" : "BAD");
    printf("R_X86_64_32 abs symbol: 0x%x\n", AT(uint32_t, 32));
    printf("absolute symbol address: 0x%lx\n", (unsigned long)(uintptr_t)small_abs);
    printf("movl $sym: %s\n", addr32_of_target() == (uint32_t)t ? "ok" : "BAD");
    printf("movq $sym+12 (32S): %s\n", addr32s_of_target() == t + 12 ? "ok" : "BAD");
    printf("C pointer: %d, C addr32: %s\n", *target_ptr,
           target_addr32() == (uint32_t)(t + 4) ? "ok" : "BAD");
    return 0;
}
