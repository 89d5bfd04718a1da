/// How many letters `main` shows for a word of `n`. A module of its own: its call makes
/// `other::letters` a symbol `other`'s code unit exports (rustc keeps one that only its own
/// unit calls local to it).
#[inline(never)]
pub fn shown(n: usize) -> usize {
    crate::other::letters(n)
}
