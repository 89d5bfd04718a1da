/* The optional features weak_import_main.c looks for; loaded with LD_PRELOAD. */
int optional_counter = 7;
int optional_feature(int x) { return x + 22; }
