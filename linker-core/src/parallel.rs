//! Handing disjoint parts of one buffer to threads.

/// Splits `buf` into consecutive pieces of the given lengths (which must not add up to more
/// than `buf.len()`), so that each can go to a different thread.
pub fn split_by_lengths<T>(mut buf: &mut [T], lengths: impl IntoIterator<Item = usize>) -> Vec<&mut [T]> {
    lengths
        .into_iter()
        .map(|len| {
            let (piece, rest) = std::mem::take(&mut buf).split_at_mut(len);
            buf = rest;
            piece
        })
        .collect()
}
