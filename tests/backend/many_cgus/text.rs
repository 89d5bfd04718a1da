pub static GREETING: &str = "hello from another codegen unit";

pub fn rot13(s: &str) -> String {
    crate::registry::count_call();
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}

pub fn word_lengths(s: &str) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = s.split_whitespace().map(|w| (w.to_string(), w.len())).collect();
    v.sort();
    v.dedup();
    v
}

pub fn palindromes<'a>(words: &[&'a str]) -> Vec<&'a str> {
    words.iter().copied().filter(|w| w.chars().eq(w.chars().rev())).collect()
}

pub fn checksum(s: &str) -> u32 {
    crate::registry::count_call();
    s.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}
