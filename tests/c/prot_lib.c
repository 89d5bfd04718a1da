/* A protected symbol is exported but calls from inside the library bind to the
 * library's own definition, even when the executable defines the same name. */
__attribute__((visibility("protected"))) int prot_value(void) { return 1; }
int default_value(void) { return 1; }
int lib_calls_prot(void) { return prot_value(); }
int lib_calls_default(void) { return default_value(); }
__attribute__((visibility("hidden"))) int hidden_in_lib(void) { return 5; }
int lib_calls_hidden(void) { return hidden_in_lib(); }
