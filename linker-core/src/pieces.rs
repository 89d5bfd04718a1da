//! Splitting a merge section (SHF_MERGE) into its pieces, strings or fixed-size constants,
//! each hashed with 128-bit XXH3 and grouped by the shard of the merged section it will be
//! deduplicated in ([`crate::merge`] does that). It needs nothing but the section's bytes, so
//! it runs in an input's parse job, while other inputs are still arriving: for `.debug_str`,
//! most of the string merge's cost (325,000 strings in a debug ripgrep link).

/// Shards of a merged section: pieces are dealt into them by hash and each is deduplicated
/// on its own, in parallel.
pub const SHARDS: usize = 32;

/// A piece of an input section: where it starts, how long it is, and its 128-bit hash in two
/// halves (`hash` picks the shard and the table slot; `check` only confirms).
#[derive(Clone, Copy)]
pub struct Piece {
    pub start: u32,
    pub len: u32,
    pub hash: u64,
    pub check: u64,
}

/// One input section's pieces, grouped by shard.
#[derive(Clone)]
pub struct SplitSection {
    /// The pieces grouped by shard, in input order within a shard.
    by_shard: Vec<Piece>,
    /// `by_shard[k]`'s index among the input's pieces in input order.
    index: Vec<u32>,
    shard_starts: [u32; SHARDS + 1],
}

impl SplitSection {
    /// Splits `data`: NUL-terminated strings of `entsize`-byte characters, or constants of
    /// `entsize` bytes. `scratch` is reused between calls.
    pub fn new(
        data: &[u8],
        strings: bool,
        entsize: usize,
        scratch: &mut Vec<Piece>,
    ) -> std::result::Result<Self, &'static str> {
        scratch.clear();
        split_into(data, strings, entsize, scratch)?;
        let mut counts = [0u32; SHARDS + 1];
        for p in scratch.iter() {
            counts[shard_of(p.hash) + 1] += 1;
        }
        for s in 0..SHARDS {
            counts[s + 1] += counts[s];
        }
        let mut next = counts;
        let blank = Piece { start: 0, len: 0, hash: 0, check: 0 };
        let (mut by_shard, mut index) = (vec![blank; scratch.len()], vec![0u32; scratch.len()]);
        for (i, p) in scratch.iter().enumerate() {
            let k = &mut next[shard_of(p.hash)];
            by_shard[*k as usize] = *p;
            index[*k as usize] = i as u32;
            *k += 1;
        }
        Ok(SplitSection { by_shard, index, shard_starts: counts })
    }

    /// This input's pieces that fall in shard `s`, and their indices in input order.
    pub fn in_shard(&self, s: usize) -> (&[Piece], &[u32]) {
        let range = self.shard_starts[s] as usize..self.shard_starts[s + 1] as usize;
        (&self.by_shard[range.clone()], &self.index[range])
    }

    pub fn piece_count(&self) -> usize {
        self.index.len()
    }

    /// Every piece's offset in the input, in no useful order.
    pub fn starts(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_shard.iter().map(|p| p.start)
    }
}

/// Bits that neither the shard's table slot (low bits) nor its control bytes (top 7) use.
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize % SHARDS
}

/// Splits one input section into `pieces`.
fn split_into(
    data: &[u8],
    strings: bool,
    entsize: usize,
    pieces: &mut Vec<Piece>,
) -> std::result::Result<(), &'static str> {
    let mut push = |start: usize, end: usize| {
        let h = twox_hash::XxHash3_128::oneshot(&data[start..end]);
        pieces.push(Piece { start: start as u32, len: (end - start) as u32, hash: h as u64, check: (h >> 64) as u64 });
    };
    let unterminated = || "unterminated string in a mergeable string section";
    let mut pos = 0usize;
    if strings && entsize == 1 {
        for_each_nul(data, |nul| {
            push(pos, nul + 1);
            pos = nul + 1;
        });
        if pos < data.len() {
            return Err(unterminated());
        }
    } else if strings {
        while pos < data.len() {
            let mut end = pos;
            loop {
                if end + entsize > data.len() {
                    return Err(unterminated());
                }
                end += entsize;
                if data[end - entsize..end].iter().all(|&b| b == 0) {
                    break;
                }
            }
            push(pos, end);
            pos = end;
        }
    } else {
        while pos < data.len() {
            let end = (pos + entsize).min(data.len());
            push(pos, end);
            pos = end;
        }
    }
    Ok(())
}

/// Calls `f` with the offset of every NUL byte of `data`, in order. Strings in debug sections
/// are short (60 bytes on average in a debug ripgrep): testing 64 bytes at a time and walking
/// the bits costs a third of a `memchr` call per string.
fn for_each_nul(data: &[u8], mut f: impl FnMut(usize)) {
    let mut blocks = data.chunks_exact(64);
    let mut base = 0;
    for block in &mut blocks {
        let mut nuls = zero_bytes(block);
        while nuls != 0 {
            f(base + nuls.trailing_zeros() as usize);
            nuls &= nuls - 1;
        }
        base += 64;
    }
    for (i, &b) in blocks.remainder().iter().enumerate() {
        if b == 0 {
            f(base + i);
        }
    }
}

/// A bit per byte of the 64-byte `block`: set where the byte is 0.
#[cfg(target_arch = "x86_64")]
fn zero_bytes(block: &[u8]) -> u64 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_setzero_si128};
    assert_eq!(block.len(), 64);
    let mut bits = 0u64;
    for k in 0..4 {
        // SAFETY: SSE2 is part of x86-64; the 16 bytes read are inside `block`, and the
        // load has no alignment requirement.
        let mask = unsafe {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()))
        };
        bits |= (mask as u16 as u64) << (16 * k);
    }
    bits
}

#[cfg(not(target_arch = "x86_64"))]
fn zero_bytes(block: &[u8]) -> u64 {
    block.iter().enumerate().fold(0, |bits, (i, &b)| bits | ((b == 0) as u64) << i)
}

#[cfg(test)]
mod tests {
    use super::for_each_nul;

    #[test]
    fn for_each_nul_finds_every_nul_in_order() {
        // NULs at block edges, runs of them, and a tail shorter than a block.
        let mut data = [b'x'; 200];
        for at in [0, 1, 2, 15, 16, 63, 64, 65, 127, 128, 150, 151, 152, 199] {
            data[at] = 0;
        }
        for len in [0, 1, 63, 64, 65, 128, 150, 200] {
            let expected: Vec<usize> = (0..len).filter(|&i| data[i] == 0).collect();
            let mut found = Vec::new();
            for_each_nul(&data[..len], |i| found.push(i));
            assert_eq!(found, expected, "length {len}");
        }
    }
}
