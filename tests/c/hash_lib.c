/* 300 exported functions, so the dynamic hash tables (.gnu.hash / .hash) have many
 * buckets and chains; every one of them is looked up by name at run time. */
#define F(n) int hash_fn_##n(void) { return n; }
#define F10(n) F(n##0) F(n##1) F(n##2) F(n##3) F(n##4) F(n##5) F(n##6) F(n##7) F(n##8) F(n##9)
#define F100(n) F10(n##0) F10(n##1) F10(n##2) F10(n##3) F10(n##4) F10(n##5) F10(n##6) \
    F10(n##7) F10(n##8) F10(n##9)
F100(1) F100(2) F100(3)
int hash_data_object = 4242;
