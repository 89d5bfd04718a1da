const char *foo_flavour(void) { return "shared"; }
