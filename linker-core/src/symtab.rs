//! The output `.symtab`/`.strtab`: local symbols of every object (minus assembler temporaries
//! and section symbols), then one global per name, for debuggers, profilers and `nm`.

use crate::context::{Def, Link};
use crate::elf::*;
use crate::resolve::{FileData, Rank, SymbolId};
use rayon::prelude::*;

pub struct SymtabPlan<'d> {
    /// Local symbols per file (canonical file order), then globals in runs of [`RUN`], each
    /// with its name: the only per-entry table the plan keeps (24 bytes an entry; name
    /// offsets are counted again as the runs are written). At a million symbols, lists of
    /// offsets and of names beside them were 36 MB more (synth-1M's anonymous peak: 335 MB
    /// with them, 321 MB without).
    lists: Vec<Vec<(SymbolId, &'d [u8])>>,
    /// Per list: the index of its first entry among all entries.
    list_starts: Vec<usize>,
    /// The `.strtab` offset of the name of every [`RUN`]th entry, then `.strtab`'s size.
    run_names: Vec<usize>,
    pub first_global: usize,
    entries: usize,
}

/// Entries per run of the write pass.
const RUN: usize = 4096;

impl<'d> SymtabPlan<'d> {
    /// `placed(file, section)`: the input section is in the output. Only names' offsets are
    /// planned here; their bytes are copied run by run in the write pass ([`SymtabPlan::runs`]),
    /// beside the input sections (a big debug link has 35 MB of them).
    pub fn new(link: &Link<'d>, placed: &(dyn Fn(usize, usize) -> bool + Sync)) -> Self {
        let mut files: Vec<usize> = (0..link.res.files.len()).collect();
        files.sort_by_key(|&f| link.res.files[f].order);
        // Locals, per file in parallel (canonical file order), then every global's winner.
        let mut lists: Vec<Vec<(SymbolId, &[u8])>> =
            files.par_iter().map(|&fi| kept_locals(link, placed, fi)).collect();
        let first_global = lists.iter().map(Vec::len).sum();
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
        // Globals in runs, so that their names are looked up in parallel too.
        lists.par_extend(globals.par_chunks(RUN).map(|run| run.iter().map(|&id| (id, link.symbol_name(id))).collect()));
        lists.retain(|list| !list.is_empty());

        // Where each list starts, in entries and in `.strtab` (after its leading zero); then,
        // per list in parallel, the name offsets of the run starts that fall in it.
        let (mut list_starts, mut name_starts) = (Vec::with_capacity(lists.len()), Vec::with_capacity(lists.len()));
        let (mut entries, mut size) = (0usize, 1usize);
        for list in &lists {
            list_starts.push(entries);
            name_starts.push(size);
            entries += list.len();
            size += list.iter().map(|(_, name)| name.len() + 1).sum::<usize>();
        }
        let mut run_names: Vec<usize> = lists
            .par_iter()
            .zip(&list_starts)
            .zip(&name_starts)
            .flat_map_iter(|((list, &first), &name)| {
                let mut at = name;
                list.iter().enumerate().filter_map(move |(i, (_, n))| {
                    let start = ((first + i) % RUN == 0).then_some(at);
                    at += n.len() + 1;
                    start
                })
            })
            .collect();
        run_names.push(size);
        SymtabPlan { lists, list_starts, run_names, first_global, entries }
    }

    /// Entries including the null symbol.
    pub fn count(&self) -> usize {
        self.entries + 1
    }

    pub fn strtab_size(&self) -> u64 {
        self.run_names[self.run_names.len() - 1] as u64
    }

    /// The tables in runs of [`RUN`] entries, for the write pass to make and write one run at
    /// a time, in parallel: each run's slots in `.symtab` (slot 0, the null symbol, in the
    /// first) and the range of `.strtab` its names fill (the first byte, a zero, in the
    /// first), so that neither table is ever held whole (46 MB at a million symbols).
    pub fn runs(&self) -> Vec<SymtabRun> {
        (0..self.entries)
            .step_by(RUN)
            .enumerate()
            .map(|(j, first)| {
                let end = (first + RUN).min(self.entries);
                let (slot, name) = if first == 0 { (0, 0) } else { (1 + first, self.run_names[j]) };
                SymtabRun { entries: first..end, slots: slot..1 + end, names: name..self.run_names[j + 1] }
            })
            .collect()
    }

    /// The entries of `run`, each with the `.strtab` offset of its name.
    pub fn entries<'p>(&'p self, run: &SymtabRun) -> impl Iterator<Item = (SymbolId, u32, &'d [u8])> + 'p {
        let list = self.list_starts.partition_point(|&start| start <= run.entries.start) - 1;
        let skip = run.entries.start - self.list_starts[list];
        let mut at = if run.names.start == 0 { 1 } else { run.names.start };
        self.lists[list..].iter().flatten().skip(skip).take(run.entries.len()).map(move |&(id, name)| {
            let offset = at as u32;
            at += name.len() + 1;
            (id, offset, name)
        })
    }

    /// The names of `run`'s entries, each with its terminator, as `.strtab` holds them from
    /// `run.names.start` on (after a zero for the first run).
    pub fn write_names(&self, run: &SymtabRun, out: &mut Vec<u8>) {
        if run.names.start == 0 {
            out.push(0);
        }
        for (_, _, name) in self.entries(run) {
            out.extend_from_slice(name);
            out.push(0);
        }
    }
}

/// A run of `.symtab` entries (indices into the plan's entries, all lists together), with
/// the slots it fills in `.symtab` and the bytes in `.strtab`.
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
