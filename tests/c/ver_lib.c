/* Exported through a version script: only foo, as foo@@VERS_1; bar becomes local. */
int bar(void) { return 2; }
int foo(void) { return 40 + bar(); }
