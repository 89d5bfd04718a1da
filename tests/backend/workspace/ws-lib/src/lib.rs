//! Plain Rust library with a unit test, an integration test and a doctest.

/// The `n`th Fibonacci number.
///
/// ```
/// assert_eq!(ws_lib::fibonacci(10), 55);
/// assert_eq!(ws_lib::fibonacci(0), 0);
/// ```
pub fn fibonacci(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// Steps of the Collatz sequence from `n` down to 1.
pub fn collatz_steps(mut n: u64) -> u32 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

#[cfg(test)]
mod tests {
    #[test]
    fn fibonacci_grows() {
        assert_eq!((1..=8).map(super::fibonacci).collect::<Vec<_>>(), [1, 1, 2, 3, 5, 8, 13, 21]);
    }
}
