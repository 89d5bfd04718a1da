//! The output `.symtab`/`.strtab`: local symbols of every object (minus assembler temporaries
//! and section symbols), then one global per name, for debuggers, profilers and `nm`.

use crate::context::{Def, Link};
use crate::elf::*;
use crate::parallel::split_by_lengths;
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
    /// planned here; their bytes are copied by [`SymtabPlan::strtab_bytes`] in the write pass,
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
        let names = runs.into_iter().flatten().map(|(_, name)| name).collect();
        SymtabPlan { entries: entries.concat(), names, first_global, strtab_size: size }
    }

    /// Entries including the null symbol.
    pub fn count(&self) -> usize {
        self.entries.len() + 1
    }

    pub fn strtab_size(&self) -> u64 {
        self.strtab_size as u64
    }

    /// `.strtab`: a zero byte, then every entry's name and its terminator, copied in parallel
    /// runs into disjoint parts.
    pub fn strtab_bytes(&self) -> Vec<u8> {
        const RUN: usize = 4096;
        let mut strtab = vec![0u8; self.strtab_size];
        let starts: Vec<usize> = self.entries.iter().step_by(RUN).map(|&(_, offset)| offset as usize).collect();
        let ends = starts.iter().skip(1).copied().chain([self.strtab_size]);
        let chunks = split_by_lengths(&mut strtab[1..], ends.zip(&starts).map(|(end, start)| end - start));
        chunks.into_par_iter().zip(self.names.par_chunks(RUN)).for_each(|(chunk, names)| {
            let mut at = 0;
            for name in names {
                chunk[at..at + name.len()].copy_from_slice(name);
                at += name.len() + 1;
            }
        });
        strtab
    }
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
