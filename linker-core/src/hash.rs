//! The byte-string hash shared by the symbol name table and string merging.

use std::hash::Hasher;

/// FxHash of `bytes` with its bits spread: merging shards by the top bits, tables index by
/// the bottom ones.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    h.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
