/* Tentative definitions compiled with -fcommon become SHN_COMMON symbols; the linker
 * merges same-named commons into one object (largest size, largest alignment). */
int common_counter;
int common_array[8];        /* common_b.c declares it with 16 elements: largest wins */
void add_from_a(int v) { common_counter += v; common_array[7] = 7; }
