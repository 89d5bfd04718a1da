//! The output `.symtab`/`.strtab`: local symbols of every object (minus assembler temporaries
//! and section symbols), then one global per name, for debuggers, profilers and `nm`.

use crate::context::{Def, Link};
use crate::elf::*;
use crate::resolve::{FileData, Rank, SymbolId};
use rayon::prelude::*;

pub struct SymtabPlan<'d> {
    /// Local symbols, then globals, as (symbol id, name offset).
    pub entries: Vec<(SymbolId, u32)>,
    /// Each entry's name, for `.strtab`.
    names: Vec<&'d [u8]>,
    pub first_global: usize,
    strtab_size: usize,
}

impl<'d> SymtabPlan<'d> {
    /// `placed(file, section)`: the input section is in the output. Only names' offsets are
    /// planned here; their bytes are copied run by run in the write pass ([`SymtabPlan::runs`]),
    /// beside the input sections (a big debug link has 35 MB of them).
    pub fn new(link: &Link<'d>, placed: &(dyn Fn(usize, usize) -> bool + Sync)) -> Self {
        let mut files: Vec<usize> = (0..link.res.files.len()).collect();
        files.sort_by_key(|&f| link.res.files[f].order);
        // Locals, per file in parallel (canonical file order), then every global's winner.
        let mut runs: Vec<Vec<(SymbolId, &[u8])>> = files.par_iter().map(|&fi| kept_locals(link, placed, fi)).collect();
        let first_global = runs.iter().map(Vec::len).sum();
        let mut globals: Vec<SymbolId> = link
            .res
            .names
            .par_values()
            // Like lld: a library's symbol only if an object refers to it.
            .filter(|e| match e.rank {
                Rank::Shared => e.object_ref,
                Rank::Undefined => e.def != crate::resolve::NO_SYMBOL,
                rank => rank > Rank::Shared,
            })
            .map(|e| e.def)
            .filter(|&id| match link.symbol_section(id) {
                Some((file, section)) => placed(file as usize, section as usize),
                None => match link.def(id) {
                    Def::Undefined { .. } => link.res.file_of_symbol(id) != link.res.internal_file,
                    _ => true,
                },
            })
            .collect();
        globals.par_sort_unstable();
        // Globals in runs of a few thousand, so that their names are looked up in parallel too.
        runs.par_extend(globals.par_chunks(4096).map(|run| run.iter().map(|&id| (id, link.symbol_name(id))).collect()));

        // Name offsets by prefix sums over the runs, then each run's offsets in parallel.
        let mut run_starts = Vec::with_capacity(runs.len());
        let mut size = 1usize;
        for run in &runs {
            run_starts.push(size);
            size += run.iter().map(|(_, name)| name.len() + 1).sum::<usize>();
        }
        let entries: Vec<Vec<(SymbolId, u32)>> = runs
            .par_iter()
            .zip(&run_starts)
            .map(|(run, &start)| {
                let mut at = start;
                run.iter()
                    .map(|&(id, name)| {
                        let offset = at as u32;
                        at += name.len() + 1;
                        (id, offset)
                    })
                    .collect()
            })
            .collect();
        // Sized once: a flattened iterator does not know its length (16 MB at a million).
        let mut names = Vec::with_capacity(runs.iter().map(Vec::len).sum());
        names.extend(runs.into_iter().flatten().map(|(_, name)| name));
        SymtabPlan { entries: entries.concat(), names, first_global, strtab_size: size }
    }

    /// Entries including the null symbol.
    pub fn count(&self) -> usize {
        self.entries.len() + 1
    }

    pub fn strtab_size(&self) -> u64 {
        self.strtab_size as u64
    }

    /// The tables in runs of a few thousand entries, for the write pass to make and write one
    /// run at a time, in parallel: each run's slots in `.symtab` (slot 0, the null symbol, in
    /// the first) and the range of `.strtab` its names fill (the first byte, a zero, in the
    /// first), so that neither table is ever held whole (46 MB at a million symbols).
    pub fn runs(&self) -> Vec<SymtabRun> {
        const RUN: usize = 4096;
        let starts = (0..self.entries.len()).step_by(RUN);
        starts
            .map(|first| {
                let end = (first + RUN).min(self.entries.len());
                let name_at = |k: usize| self.entries.get(k).map_or(self.strtab_size, |&(_, at)| at as usize);
                let (slot, name) = if first == 0 { (0, 0) } else { (1 + first, name_at(first)) };
                SymtabRun { entries: first..end, slots: slot..1 + end, names: name..name_at(end) }
            })
            .collect()
    }

    /// The names of `run`'s entries, each with its terminator, as `.strtab` holds them from
    /// `run.names.start` on (after a zero for the first run).
    pub fn write_names(&self, run: &SymtabRun, out: &mut Vec<u8>) {
        if run.names.start == 0 {
            out.push(0);
        }
        for name in &self.names[run.entries.clone()] {
            out.extend_from_slice(name);
            out.push(0);
        }
    }
}

/// A run of `.symtab` entries (indices into [`SymtabPlan::entries`]), with the slots it fills
/// in `.symtab` and the bytes in `.strtab`.
pub struct SymtabRun {
    pub entries: std::ops::Range<usize>,
    pub slots: std::ops::Range<usize>,
    pub names: std::ops::Range<usize>,
}

/// The local symbols of file `fi` that go to `.symtab`: named, not assembler temporaries, not
/// section or file symbols, and defined in a section that is in the output.
fn kept_locals<'d>(
    link: &Link<'d>,
    placed: &(dyn Fn(usize, usize) -> bool + Sync),
    fi: usize,
) -> Vec<(SymbolId, &'d [u8])> {
    let FileData::Object(obj) = &link.res.files[fi].data else { return Vec::new() };
    (1..obj.first_global)
        .filter_map(|i| {
            let sym = obj.symbol(i);
            if matches!(sym.st_type(), STT_SECTION | STT_FILE) {
                return None;
            }
            let shndx = obj.symbol_section(i);
            let placed = shndx >= SHN_LORESERVE as u32 || placed(fi, shndx as usize);
            if shndx == 0 || !placed {
                return None;
            }
            let name = obj.symbol_name(i);
            (!name.is_empty() && !name.starts_with(b".L")).then(|| (link.symbol_id(fi as u32, i), name))
        })
        .collect()
}
