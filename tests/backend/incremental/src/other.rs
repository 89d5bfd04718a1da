pub fn suffix(n: usize) -> String {
    format!("({n} letters, {})", helper(n))
}

/// The letters of a word of `n` letters that `shown` shows: a function of this module's code
/// unit that another unit calls, and that the test makes `main`'s unit call too.
#[inline(never)]
pub fn letters(n: usize) -> usize {
    n
}

fn helper(n: usize) -> String {
    (0..n).map(|i| char::from(b'a' + i as u8)).collect()
}
