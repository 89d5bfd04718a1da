/* Built by tests/tests/backend.rs: `cc main.c -L. -lrivet_cdylib`, run with LD_LIBRARY_PATH
 * pointing at the directory of librivet_cdylib.so (lib.rs, a Rust cdylib). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern const uint32_t RIVET_CDYLIB_VERSION;
uint64_t rivet_cdylib_checksum(uint32_t n);
size_t rivet_cdylib_each_word(const char *text, void (*callback)(size_t, const char *, size_t, void *),
                              void *data);
char *rivet_cdylib_describe(const char *text);
void rivet_cdylib_free(char *s);
int64_t rivet_cdylib_checked_div(int64_t a, int64_t b);
uint32_t rivet_cdylib_calls(uint32_t *on_this_thread);

static void on_word(size_t index, const char *word, size_t len, void *data) {
    size_t *letters = data;
    *letters += len;
    printf("word %zu: %.*s\n", index, (int)len, word);
}

int main(void) {
    printf("version: %u\n", RIVET_CDYLIB_VERSION);
    printf("checksum(10) = %llu\n", (unsigned long long)rivet_cdylib_checksum(10));
    printf("checksum(27) = %llu\n", (unsigned long long)rivet_cdylib_checksum(27));
    size_t letters = 0;
    size_t words = rivet_cdylib_each_word("linked by rivet  in-process", on_word, &letters);
    printf("%zu words, %zu letters\n", words, letters);
    char *description = rivet_cdylib_describe("the quick brown fox");
    printf("%s\n", description);
    rivet_cdylib_free(description);
    printf("84 / 2 = %lld\n", (long long)rivet_cdylib_checked_div(84, 2));
    printf("1 / 0 = %lld\n", (long long)rivet_cdylib_checked_div(1, 0));
    uint32_t on_this_thread = 0;
    uint32_t calls = rivet_cdylib_calls(&on_this_thread);
    printf("calls: %u (%u on this thread)\n", calls, on_this_thread);
    return 0;
}
