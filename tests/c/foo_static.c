const char *foo_flavour(void) { return "static"; }
