/* A program whose entry point is custom_entry (-e custom_entry) instead of _start:
 * the dynamic loader jumps straight here, so it only uses write/_exit. */
#include <string.h>
#include <unistd.h>

__attribute__((force_align_arg_pointer, noreturn)) void custom_entry(void) {
    static const char msg[] = "custom entry reached\n";
    write(1, msg, strlen(msg));
    _exit(7);
}

int main(void) {
    write(1, "main must not run\n", 18);
    return 0;
}
