int compute(int);
typedef int (*compute_fn)(int);
compute_fn compute_address_from_other_object(void) { return compute; }
int call_compute_from_other_object(int x) { return compute(x); }
