int a2(int);
int b1(int x) { return a2(x + 2) + 100; }
