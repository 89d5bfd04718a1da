pub fn suffix(n: usize) -> String {
    format!("({n} letters, {})", helper(n))
}

fn helper(n: usize) -> String {
    (0..n).map(|i| char::from(b'a' + i as u8)).collect()
}
