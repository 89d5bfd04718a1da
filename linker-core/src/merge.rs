//! SHF_MERGE sections: identical strings (SHF_STRINGS) or fixed-size constants from all
//! inputs of one output section are stored once. Pieces are deduplicated in canonical input
//! order, so offsets are deterministic; each input section keeps a map from its piece starts
//! to output offsets for relocations that point into it.

use crate::elf::*;
use crate::error::{Error, Result};
use crate::link::Link;
use rustc_hash::FxHashMap;

pub struct MergedSection {
    /// The pieces in output order, each at its output offset.
    pub pieces: Vec<(&'static [u8], u64)>,
    size: u64,
}

impl MergedSection {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn write(&self, out: &mut [u8]) {
        for (bytes, off) in &self.pieces {
            out[*off as usize..*off as usize + bytes.len()].copy_from_slice(bytes);
        }
    }
}

/// Merges `inputs` (in canonical order); returns the merged section and, per input, the
/// (piece input offsets, piece output offsets) map.
pub fn merge(
    link: &Link<'_>,
    inputs: &[(u32, u32)],
    strings: bool,
    entsize: u64,
) -> Result<(MergedSection, Vec<(Vec<u32>, Vec<u64>)>)> {
    let mut seen: FxHashMap<&[u8], u64> = FxHashMap::default();
    let mut pieces: Vec<(&'static [u8], u64)> = Vec::new();
    let mut size = 0u64;
    let mut maps = Vec::with_capacity(inputs.len());
    let align = inputs
        .iter()
        .map(|&(f, s)| link.res.files[f as usize].object().map_or(1, |o| o.section(s as usize).sh_addralign(E).max(1)))
        .max()
        .unwrap_or(1);
    for &(fi, si) in inputs {
        let obj = link.res.files[fi as usize].object().expect("object");
        let data = obj.section_data(si as usize)?;
        let (mut starts, mut outs) = (Vec::new(), Vec::new());
        let mut pos = 0usize;
        while pos < data.len() {
            let end = if strings {
                let unit = entsize as usize;
                let mut e = pos;
                loop {
                    if e + unit > data.len() {
                        return Err(Error::bad(&obj.name, format!("unterminated string in {}", String::from_utf8_lossy(obj.section_name(si as usize)))));
                    }
                    let nul = data[e..e + unit].iter().all(|&b| b == 0);
                    e += unit;
                    if nul {
                        break e;
                    }
                }
            } else {
                (pos + entsize as usize).min(data.len())
            };
            let piece = &data[pos..end];
            let out = *seen.entry(piece).or_insert_with(|| {
                // Fixed-size constants keep their natural alignment.
                let at = if strings { size } else { align_up(size, align.min(entsize)) };
                // SAFETY of the 'static: inputs live in the FileArena for the whole link.
                pieces.push((unsafe { std::mem::transmute::<&[u8], &'static [u8]>(piece) }, at));
                size = at + piece.len() as u64;
                at
            });
            starts.push(pos as u32);
            outs.push(out);
            pos = end;
        }
        maps.push((starts, outs));
    }
    Ok((MergedSection { pieces, size }, maps))
}
