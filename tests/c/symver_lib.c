/* Two versions of one symbol: old programs bound to impl@VERS_1 keep getting the old
 * implementation; newly linked programs bind to the default impl@@VERS_2. */
__asm__(".symver impl_v1, impl@VERS_1");
__asm__(".symver impl_v2, impl@@VERS_2");
int impl_v1(void) { return 1; }
int impl_v2(void) { return 2; }
