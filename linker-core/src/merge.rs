//! SHF_MERGE sections: identical strings (SHF_STRINGS) or fixed-size constants from all
//! inputs of one output section are stored once.
//!
//! Parallel and deterministic: every input is split into pieces and each piece hashed (in
//! parallel over inputs); pieces are dealt into a fixed number of shards by hash; each shard
//! deduplicates its pieces (in parallel over shards) visiting inputs in canonical order, so a
//! piece's place in its shard never depends on timing; shards are concatenated in shard
//! order. The thread count changes nothing but speed. Each input keeps a map from its piece
//! starts to output offsets for the relocations that point into it.

use crate::elf::*;
use crate::error::{Error, Result};
use crate::link::Link;
use rayon::prelude::*;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

const SHARDS: usize = 32;

pub struct MergedSection {
    /// Per shard: its pieces at offsets relative to the shard's base.
    shards: Vec<Vec<(&'static [u8], u64)>>,
    bases: Vec<u64>,
    size: u64,
}

impl MergedSection {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn write(&self, out: &mut [u8]) {
        for (pieces, base) in self.shards.iter().zip(&self.bases) {
            for (bytes, off) in pieces {
                let at = (base + off) as usize;
                out[at..at + bytes.len()].copy_from_slice(bytes);
            }
        }
    }
}

/// A piece of an input section: where it starts, how long it is, and its hash.
#[derive(Clone, Copy)]
struct Piece {
    start: u32,
    len: u32,
    hash: u64,
}

/// A key that hashes to its precomputed hash.
#[derive(PartialEq, Eq)]
struct Key<'a> {
    hash: u64,
    bytes: &'a [u8],
}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("keys hash as one u64")
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    // Spread the bits: the shard is taken from the top, the table uses the bottom.
    h.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn shard_of(hash: u64) -> usize {
    (hash >> 59) as usize % SHARDS
}

/// Splits one input section into pieces.
fn split(data: &[u8], strings: bool, entsize: usize, name: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let end = if strings {
            if entsize == 1 {
                match memchr::memchr(0, &data[pos..]) {
                    Some(n) => pos + n + 1,
                    None => return Err(Error::bad(name, "unterminated string in a mergeable string section")),
                }
            } else {
                let mut e = pos;
                loop {
                    if e + entsize > data.len() {
                        return Err(Error::bad(name, "unterminated string in a mergeable string section"));
                    }
                    let nul = data[e..e + entsize].iter().all(|&b| b == 0);
                    e += entsize;
                    if nul {
                        break e;
                    }
                }
            }
        } else {
            (pos + entsize).min(data.len())
        };
        pieces.push(Piece { start: pos as u32, len: (end - pos) as u32, hash: hash_bytes(&data[pos..end]) });
        pos = end;
    }
    Ok(pieces)
}

/// Merges `inputs` (in canonical order); returns the merged section and, per input, the
/// (piece input offsets, piece output offsets) map.
pub fn merge(
    link: &Link<'_>,
    inputs: &[(u32, u32)],
    strings: bool,
    entsize: u64,
) -> Result<(MergedSection, Vec<(Vec<u32>, Vec<u64>)>)> {
    let entsize = entsize as usize;
    let align = inputs
        .iter()
        .map(|&(f, s)| link.res.files[f as usize].object().map_or(1, |o| o.section(s as usize).sh_addralign(E).max(1)))
        .max()
        .unwrap_or(1);
    // Constants keep their natural alignment; strings pack.
    let piece_align = if strings { 1 } else { align.min(entsize as u64).max(1) };

    // 1. Split and hash, in parallel over inputs; group each input's pieces by shard.
    struct Split<'a> {
        data: &'a [u8],
        pieces: Vec<Piece>,
        /// Piece indices grouped by shard, ascending within a shard.
        by_shard: Vec<u32>,
        shard_starts: [u32; SHARDS + 1],
    }
    let splits: Vec<Split<'_>> = inputs
        .par_iter()
        .map(|&(fi, si)| {
            let obj = link.res.files[fi as usize].object().expect("object");
            let data = obj.section_data(si as usize)?;
            let name = format!("{}({})", obj.name, String::from_utf8_lossy(obj.section_name(si as usize)));
            let pieces = split(data, strings, entsize, &name)?;
            let mut counts = [0u32; SHARDS + 1];
            for p in &pieces {
                counts[shard_of(p.hash) + 1] += 1;
            }
            for s in 0..SHARDS {
                counts[s + 1] += counts[s];
            }
            let mut next = counts;
            let mut by_shard = vec![0u32; pieces.len()];
            for (i, p) in pieces.iter().enumerate() {
                let s = shard_of(p.hash);
                by_shard[next[s] as usize] = i as u32;
                next[s] += 1;
            }
            Ok(Split { data, pieces, by_shard, shard_starts: counts })
        })
        .collect::<Result<_>>()?;

    // 2. Deduplicate each shard, in parallel over shards, inputs in canonical order.
    type Table<'a> = HashMap<Key<'a>, u64, BuildHasherDefault<PassThrough>>;
    let shard_results: Vec<(Vec<(&[u8], u64)>, u64, Vec<Vec<u64>>)> = (0..SHARDS)
        .into_par_iter()
        .map(|s| {
            let mut table: Table<'_> = HashMap::default();
            let mut unique: Vec<(&[u8], u64)> = Vec::new();
            let mut size = 0u64;
            let mut offsets = Vec::with_capacity(splits.len());
            for sp in &splits {
                let group = &sp.by_shard[sp.shard_starts[s] as usize..sp.shard_starts[s + 1] as usize];
                let mut local = Vec::with_capacity(group.len());
                for &pi in group {
                    let p = sp.pieces[pi as usize];
                    let bytes = &sp.data[p.start as usize..(p.start + p.len) as usize];
                    let off = *table.entry(Key { hash: p.hash, bytes }).or_insert_with(|| {
                        let at = align_up(size, piece_align);
                        unique.push((bytes, at));
                        size = at + bytes.len() as u64;
                        at
                    });
                    local.push(off);
                }
                offsets.push(local);
            }
            (unique, size, offsets)
        })
        .collect();

    // 3. Shard bases, then every input's piece map.
    let mut bases = Vec::with_capacity(SHARDS);
    let mut total = 0u64;
    for (_, size, _) in &shard_results {
        total = align_up(total, piece_align);
        bases.push(total);
        total += size;
    }
    let maps: Vec<(Vec<u32>, Vec<u64>)> = splits
        .par_iter()
        .enumerate()
        .map(|(i, sp)| {
            let mut outs = vec![0u64; sp.pieces.len()];
            for s in 0..SHARDS {
                let group = &sp.by_shard[sp.shard_starts[s] as usize..sp.shard_starts[s + 1] as usize];
                for (k, &pi) in group.iter().enumerate() {
                    outs[pi as usize] = bases[s] + shard_results[s].2[i][k];
                }
            }
            (sp.pieces.iter().map(|p| p.start).collect(), outs)
        })
        .collect();
    // SAFETY of the 'static: piece bytes live in the FileArena for the whole link.
    let shards = shard_results
        .into_iter()
        .map(|(unique, _, _)| unsafe { std::mem::transmute::<Vec<(&[u8], u64)>, Vec<(&'static [u8], u64)>>(unique) })
        .collect();
    Ok((MergedSection { shards, bases, size: total }, maps))
}
