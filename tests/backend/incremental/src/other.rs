pub fn suffix(n: usize) -> String {
    format!("({n} letters, {})", helper(letters(n)))
}

/// The letters `suffix` shows for a word of `n`: a function only this module's code unit
/// calls (rustc keeps it local to the unit), until the test makes `main`'s unit call it too.
#[inline(never)]
pub fn letters(n: usize) -> usize {
    n
}

fn helper(n: usize) -> String {
    (0..n).map(|i| char::from(b'a' + i as u8)).collect()
}
