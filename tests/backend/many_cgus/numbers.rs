pub fn primes_below(limit: usize) -> Vec<usize> {
    crate::registry::count_call();
    let mut sieve = vec![true; limit];
    let mut primes = Vec::new();
    for n in 2..limit {
        if sieve[n] {
            primes.push(n);
            let mut m = n * n;
            while m < limit {
                sieve[m] = false;
                m += n;
            }
        }
    }
    primes
}

pub fn fibonacci(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

pub fn collatz_steps(mut n: u64) -> u32 {
    crate::registry::count_call();
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

pub fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Generic: instantiated in the caller's codegen unit for each type.
pub fn sum_of<T: Copy + std::iter::Sum<T>>(values: &[T], f: impl Fn(T) -> T) -> T {
    values.iter().map(|&v| f(v)).sum()
}
