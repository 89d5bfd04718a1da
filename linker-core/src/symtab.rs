//! The output `.symtab`/`.strtab`: local symbols of every object (minus assembler temporaries
//! and section symbols), then one global per name, for debuggers, profilers and `nm`.

use crate::elf::*;
use crate::layout::Placement;
use crate::link::{Def, Link};
use crate::resolve::{FileData, Rank, SymbolId};

pub struct SymtabPlan {
    /// Local symbols, then globals, as (symbol id, name offset).
    pub entries: Vec<(SymbolId, u32)>,
    pub first_global: usize,
    pub strtab: Vec<u8>,
}

impl SymtabPlan {
    pub fn new(link: &Link<'_>, placement: &[Vec<Placement>]) -> Self {
        let mut entries = Vec::new();
        let mut strtab = vec![0u8];
        let mut add = |id: SymbolId, name: &[u8], entries: &mut Vec<(SymbolId, u32)>| {
            entries.push((id, strtab.len() as u32));
            strtab.extend_from_slice(name);
            strtab.push(0);
        };
        let mut files: Vec<usize> = (0..link.res.files.len()).collect();
        files.sort_by_key(|&f| link.res.files[f].order);
        if !matches!(link.config.strip, crate::args::Strip::All) {
            for &fi in &files {
                let FileData::Object(obj) = &link.res.files[fi].data else { continue };
                for i in 1..obj.first_global {
                    let sym = obj.symbol(i);
                    if matches!(sym.st_type(), STT_SECTION | STT_FILE) {
                        continue;
                    }
                    let name = obj.symbol_name(i);
                    if name.is_empty() || name.starts_with(b".L") {
                        continue;
                    }
                    let shndx = obj.symbol_section(i);
                    let placed = shndx >= SHN_LORESERVE as u32
                        || placement
                            .get(fi)
                            .and_then(|p| p.get(shndx as usize))
                            .is_some_and(|p| !matches!(p, Placement::None));
                    if shndx == 0 || !placed {
                        continue;
                    }
                    add(link.symbol_id(fi as u32, i), name, &mut entries);
                }
            }
        }
        let first_global = entries.len();
        let mut globals: Vec<SymbolId> = link
            .res
            .names
            .values()
            .filter(|e| e.rank >= Rank::Shared || (e.rank == Rank::Undefined && e.def != crate::resolve::NO_SYMBOL))
            .map(|e| e.def)
            .filter(|&id| match link.def(id) {
                Def::Section { file, section, .. } => {
                    !matches!(placement[file as usize][section as usize], Placement::None)
                }
                Def::Undefined { .. } => link.res.file_of_symbol(id) != link.res.internal_file,
                _ => true,
            })
            .collect();
        globals.sort_unstable();
        for id in globals {
            add(id, link.symbol_name(id), &mut entries);
        }
        SymtabPlan { entries, first_global, strtab }
    }

    /// Entries including the null symbol.
    pub fn count(&self) -> usize {
        self.entries.len() + 1
    }

    pub fn strtab_size(&self) -> u64 {
        self.strtab.len() as u64
    }
}
