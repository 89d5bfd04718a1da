int dup_sym(void) { return 2; }
