/* Defines, weakly, what weak_import_main.c needs. */
__attribute__((weak)) int weak_def(void) { return 5; }
