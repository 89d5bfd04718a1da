//! SHF_MERGE sections: identical strings (SHF_STRINGS) or fixed-size constants from all
//! inputs of one output section are stored once.
//!
//! Parallel and deterministic: every input is split into pieces and each piece hashed (in
//! parallel over inputs); pieces are dealt into a fixed number of shards by hash; each shard
//! deduplicates its pieces (in parallel over shards) visiting inputs in canonical order, so a
//! piece's place in its shard never depends on timing; shards are concatenated in shard
//! order. The thread count changes nothing but speed. Each input keeps a map from its piece
//! starts to output offsets for the relocations that point into it; in an allocated section
//! of an incremental link, also whether each piece shares its place with another, for an
//! in-place relink (`patch`) to know which strings it may rewrite.
//!
//! Pieces are told apart by their 128-bit XXH3 hash, which covers their length. In allocated
//! sections the program reads the bytes, so equal hashes are confirmed byte by byte. Debug
//! strings (by far the most pieces: 325,000 in a debug ripgrep) are not: comparing them read
//! two cold strings per duplicate and took over a quarter of the merge, and two different
//! strings of one link share a 128-bit hash with odds near n²/2¹²⁹ (10⁻²⁵ for ten million
//! strings), far below those of a memory error, for at worst a wrong name in the debugger.

use crate::context::Link;
use crate::elf::*;
use crate::error::{Error, Result};
use crate::pieces::{SHARDS, SplitSection};
use crate::sections::SplitResult;
use rayon::prelude::*;

pub struct MergedSection<'d> {
    /// Per shard: its pieces at offsets relative to the shard's base.
    shards: Vec<Vec<(&'d [u8], u64)>>,
    bases: Vec<u64>,
    size: u64,
}

impl MergedSection<'_> {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Shards are written independently: each is a contiguous range of the section.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Where shard `s` starts in the section, and its length.
    pub fn shard_range(&self, s: usize) -> (u64, u64) {
        let end = self.shards[s].last().map_or(0, |(bytes, off)| off + bytes.len() as u64);
        (self.bases[s], end)
    }

    /// Appends shard `s` to the empty `out`; only the padding between pieces (none between
    /// strings) is zero-filled.
    pub fn write_shard(&self, s: usize, out: &mut Vec<u8>) {
        for (bytes, off) in &self.shards[s] {
            out.resize(*off as usize, 0);
            out.extend_from_slice(bytes);
        }
    }
}

/// Where the pieces of one input section went: input offset -> output offset.
pub struct MergeMap {
    /// Per piece, in input order: its offset in the output section. Where it starts in the
    /// input is its bit in `words`: a debug link holds millions of pieces, and a lookup finds
    /// the start in the word it reads anyway (a relocation into a piece points at its start,
    /// or less than a word past it, but for the middle of a long string).
    outs: Vec<u32>,
    /// Per piece, in an allocated section of an incremental link: whether another piece (of
    /// any input) is stored in the same place. Empty otherwise. An in-place relink may
    /// rewrite a string only where no other piece shares it (`patch`).
    shared: Vec<bool>,
    /// Per 64 input bytes: how many pieces start before them, and a bit per byte that
    /// starts a piece (low half, high half). Relocations point into string sections in no
    /// useful order; this finds a piece with two memory reads and no data-dependent branch.
    words: Vec<[u32; 3]>,
}

impl MergeMap {
    /// `outs[i]`: piece `i`'s output offset; `starts`: every piece's input offset, in any
    /// order; `len`: the input section's size.
    fn new(outs: Vec<u32>, starts: impl Iterator<Item = u32>, shared: Vec<bool>, len: usize) -> MergeMap {
        let mut words = vec![[0u32; 3]; len.div_ceil(64)];
        for start in starts {
            let (w, bit) = (start as usize / 64, start % 64);
            words[w][1 + bit as usize / 32] |= 1 << (bit % 32);
        }
        let mut before = 0;
        for w in &mut words {
            w[0] = before;
            before += w[1].count_ones() + w[2].count_ones();
        }
        MergeMap { outs, shared, words }
    }

    /// Each piece's input offset, output offset, and whether another piece shares its place
    /// (true where that was not tracked).
    pub fn pieces(&self) -> impl Iterator<Item = (u32, u32, bool)> + '_ {
        let shared = |i: usize| self.shared.get(i).copied().unwrap_or(true);
        let starts = self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = starts_in(word);
            std::iter::from_fn(move || {
                let bit = (bits != 0).then(|| bits.trailing_zeros())?;
                bits &= bits - 1;
                Some(64 * w as u32 + bit)
            })
        });
        starts.zip(&self.outs).enumerate().map(move |(i, (start, &out))| (start, out, shared(i)))
    }

    /// Output offset (within the merged section) of input byte `at`: the same offset in the
    /// piece that holds it, or past the last piece for offsets beyond it.
    pub fn output_offset(&self, at: u64) -> Option<u64> {
        let w = (at / 64) as usize;
        let (piece, start) = match self.words.get(w) {
            Some(&word) => {
                let upto = starts_in(word) & (u64::MAX >> (63 - at % 64));
                let piece = (word[0] + upto.count_ones()).checked_sub(1)? as usize;
                match upto {
                    0 => (piece, self.last_start_before(w)?),
                    _ => (piece, 64 * w as u64 + 63 - upto.leading_zeros() as u64),
                }
            }
            None => (self.outs.len().checked_sub(1)?, self.last_start_before(self.words.len())?),
        };
        Some(self.outs[piece] as u64 + (at - start))
    }

    /// Where the last piece that starts before word `w` starts.
    #[cold]
    fn last_start_before(&self, w: usize) -> Option<u64> {
        let (k, bits) = self.words[..w].iter().map(|&word| starts_in(word)).enumerate().rev().find(|&(_, b)| b != 0)?;
        Some(64 * k as u64 + 63 - bits.leading_zeros() as u64)
    }
}

/// The bits of a [`MergeMap`] word, one per byte that starts a piece.
fn starts_in([_, low, high]: [u32; 3]) -> u64 {
    low as u64 | (high as u64) << 32
}

/// A shard's table entry: a distinct piece's hash (which covers its length), its offset in
/// the shard and its index in the shard's list.
#[derive(Clone, Copy)]
struct Distinct {
    hash: u64,
    check: u64,
    offset: u32,
    index: u32,
}

/// Merges `inputs` (in canonical order); returns the merged section and, per input, where
/// its pieces went.
///
/// `split_early[i]`: the pieces of input `i` if its parse job split them (missing or `None`
/// if not). Each input's pieces are freed once its map is made: in a debug link they are the
/// largest table there is (28 bytes a string: 70 MB in typst-cli's), and the maps then take
/// their place rather than add to it.
pub fn merge<'d>(
    link: &Link<'d>,
    inputs: &[(u32, u32)],
    strings: bool,
    entsize: u64,
    mut split_early: Vec<Option<SplitResult>>,
) -> Result<(MergedSection<'d>, Vec<MergeMap>)> {
    let entsize = entsize as usize;
    let align = inputs
        .iter()
        .map(|&(f, s)| link.res.files[f as usize].object().map_or(1, |o| o.section_align(s as usize)))
        .max()
        .unwrap_or(1);
    // Constants keep their natural alignment; strings pack.
    let piece_align = if strings { 1 } else { align.min(entsize as u64).max(1) };
    let compare_bytes =
        inputs.iter().any(|&(f, s)| link.res.files[f as usize].object().is_some_and(|o| o.is_allocated(s as usize)));
    let track_sharing = compare_bytes && link.config.incremental;

    // 1. Split and hash, in parallel over inputs, unless the parse job did; each input's
    // pieces are ordered by shard, so that deduplicating a shard reads them in sequence.
    struct Split<'d> {
        data: &'d [u8],
        pieces: SplitSection,
    }
    split_early.resize_with(inputs.len(), || None);
    let splits: Vec<Split<'d>> = inputs
        .par_iter()
        .zip(split_early)
        .map_init(Vec::new, |scratch, (&(fi, si), early)| {
            let obj = link.res.files[fi as usize].object().expect("object");
            let data = obj.section_data(si as usize)?;
            let name = || format!("{}({})", obj.name, String::from_utf8_lossy(obj.section_name(si as usize)));
            let pieces = match early {
                Some(split) => split,
                None => SplitSection::new(data, strings, entsize, scratch),
            };
            Ok(Split { data, pieces: pieces.map_err(|e| Error::bad(name(), e))? })
        })
        .collect::<Result<_>>()?;

    // 2. Deduplicate each shard, in parallel over shards, inputs in canonical order. A shard
    // keeps its pieces' offsets flat, input after input: `firsts[i]` is where input i's run
    // starts.
    struct Shard<'a> {
        unique: Vec<(&'a [u8], u64)>,
        size: u64,
        offsets: Vec<u32>,
        firsts: Vec<u32>,
        /// With `track_sharing`: per distinct piece, how many pieces it stands for; per piece,
        /// its distinct piece.
        uses: Vec<u32>,
        distinct: Vec<u32>,
    }
    let shards: Vec<Shard<'d>> = (0..SHARDS)
        .into_par_iter()
        .map(|s| {
            let pieces: usize = splits.iter().map(|sp| sp.pieces.in_shard(s).0.len()).sum();
            // Most strings repeat across inputs: half the pieces is a fair first guess.
            let mut table = hashbrown::HashTable::<Distinct>::with_capacity(pieces / 2);
            let mut shard = Shard {
                unique: Vec::new(),
                size: 0,
                offsets: Vec::with_capacity(pieces),
                firsts: Vec::new(),
                uses: Vec::new(),
                distinct: Vec::new(),
            };
            for sp in &splits {
                shard.firsts.push(shard.offsets.len() as u32);
                for p in sp.pieces.in_shard(s).0 {
                    let bytes = &sp.data[p.start as usize..(p.start + p.len) as usize];
                    let unique = &mut shard.unique;
                    let same = |d: &Distinct| {
                        d.hash == p.hash
                            && d.check == p.check
                            && (!compare_bytes || unique[d.index as usize].0 == bytes)
                    };
                    let (off, index) = match table.find(p.hash, same) {
                        Some(d) => (d.offset, d.index),
                        None => {
                            let at = align_up(shard.size, piece_align);
                            let index = unique.len() as u32;
                            table.insert_unique(
                                p.hash,
                                Distinct { hash: p.hash, check: p.check, offset: at as u32, index },
                                |d| d.hash,
                            );
                            unique.push((bytes, at));
                            shard.size = at + bytes.len() as u64;
                            (at as u32, index)
                        }
                    };
                    shard.offsets.push(off);
                    if track_sharing {
                        if index as usize == shard.uses.len() {
                            shard.uses.push(0);
                        }
                        shard.uses[index as usize] += 1;
                        shard.distinct.push(index);
                    }
                }
            }
            shard
        })
        .collect();

    // 3. Shard bases, then every input's piece map.
    let mut bases = Vec::with_capacity(SHARDS);
    let mut total = 0u64;
    for shard in &shards {
        total = align_up(total, piece_align);
        bases.push(total);
        total += shard.size;
    }
    if total > u32::MAX as u64 {
        return Err(Error::Usage(format!("merged section of {total} bytes: over the 4 GiB a merge section may hold")));
    }
    let maps: Vec<MergeMap> = splits
        .into_par_iter()
        .enumerate()
        .map(|(i, sp)| {
            let mut outs = vec![0u32; sp.pieces.piece_count()];
            let mut shared = vec![false; if track_sharing { outs.len() } else { 0 }];
            for (s, shard) in shards.iter().enumerate() {
                let (group, index) = sp.pieces.in_shard(s);
                let first = shard.firsts[i] as usize;
                let offsets = &shard.offsets[first..][..group.len()];
                for (&i, &off) in index.iter().zip(offsets) {
                    outs[i as usize] = (bases[s] + off as u64) as u32;
                }
                if track_sharing {
                    for (&i, &d) in index.iter().zip(&shard.distinct[first..][..group.len()]) {
                        shared[i as usize] = shard.uses[d as usize] > 1;
                    }
                }
            }
            MergeMap::new(outs, sp.pieces.starts(), shared, sp.data.len())
        })
        .collect();
    let shards = shards.into_iter().map(|shard| shard.unique).collect();
    Ok((MergedSection { shards, bases, size: total }, maps))
}

#[cfg(test)]
mod tests {
    use super::MergeMap;

    #[test]
    fn output_offset_agrees_with_a_binary_search() {
        // Pieces of irregular lengths, some longer than a bucket, some many to a bucket.
        let lens = [1u32, 3, 200, 7, 64, 65, 2, 130, 1, 1, 1, 90];
        let starts: Vec<u32> = lens.iter().scan(0, |at, len| Some(std::mem::replace(at, *at + len))).collect();
        let outs: Vec<u32> = (0..lens.len() as u32).map(|i| 1000 * i).collect();
        let len = lens.iter().sum::<u32>() as usize;
        let map = MergeMap::new(outs.clone(), starts.iter().rev().copied(), Vec::new(), len);
        for at in 0..len as u64 + 100 {
            let i = starts.partition_point(|&s| s as u64 <= at) - 1;
            assert_eq!(map.output_offset(at), Some(outs[i] as u64 + at - starts[i] as u64), "at {at}");
        }
        let pieces: Vec<(u32, u32)> = map.pieces().map(|(start, out, _)| (start, out)).collect();
        assert_eq!(pieces, starts.into_iter().zip(outs).collect::<Vec<_>>());
        assert_eq!(MergeMap::new(Vec::new(), std::iter::empty(), Vec::new(), 0).output_offset(0), None);
    }
}
