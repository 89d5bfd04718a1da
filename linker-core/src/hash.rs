//! The hash of symbol names: computed once per name while parsing objects and archive
//! indexes, then used by the name table.

use std::hash::Hasher;

/// FxHash of `bytes` with its bits spread: the table indexes by the bottom bits and keeps
/// the top ones as control bytes.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    h.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
