int a2(int x) { return x * 10; }
