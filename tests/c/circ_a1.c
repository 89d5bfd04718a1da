int b1(int);
int a1(int x) { return b1(x + 1) + 1000; }
