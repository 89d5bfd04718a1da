/* A section with SHF_EXCLUDE ("e" flag) must be dropped from linked outputs; the
 * program itself is unaffected. The asm directive creates .rivet_excluded with the "e"
 * flag; the section attribute puts a C variable into another excluded section (the
 * trailing '#' comments out the flags gcc would append, so ours are used). */
#include <stdio.h>

__asm__(".section .rivet_excluded,\"e\",@progbits\n"
        ".ascii \"RIVET-EXCLUDED-PAYLOAD\"\n"
        ".quad main\n" /* even with a relocation against kept code */
        ".previous\n");

__attribute__((section(".rivet_excluded_c,\"e\",@progbits #"), used)) static const char
    excluded_note[] = "ANOTHER-EXCLUDED-STRING";

static int kept_value = 31;

int main(void) {
    printf("kept value: %d\n", kept_value);
    printf("exclusion test done\n");
    return 0;
}
