//! Structural comparison of two linked outputs of the same inputs (rivet-ld's and a reference
//! linker's): the properties a loader and a user depend on, not the bytes.
//!
//! Checked: the DT_NEEDED set, the exported (defined) dynamic symbols with their versions,
//! the imported (undefined) ones with their versions and bindings, the ELF type and whether the entry point is the same symbol, every defined global symbol
//! of the reference present, no segment both writable and executable, and every section the
//! reference protects with PT_GNU_RELRO also inside ours.

use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeSet;
use std::path::Path;

struct Facts {
    e_type: u16,
    needed: BTreeSet<String>,
    exports: BTreeSet<String>,
    imports: BTreeSet<String>,
    globals: BTreeSet<String>,
    entry_symbol: Option<String>,
    wx_segment: bool,
    relro_sections: BTreeSet<String>,
}

fn facts(path: &Path) -> Result<Facts, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = ElfFile64::<Endianness>::parse(&*data).map_err(|e| format!("{}: {e}", path.display()))?;
    let endian = file.endian();
    let header = file.elf_header();
    let segments = header.program_headers(endian, &*data).map_err(|e| e.to_string())?;

    let mut needed = BTreeSet::new();
    let sections = header.sections(endian, &*data).map_err(|e| e.to_string())?;
    if let Some((dynamic, strtab_index)) = sections.dynamic(endian, &*data).map_err(|e| e.to_string())? {
        let strings = sections.strings(endian, &*data, strtab_index).map_err(|e| e.to_string())?;
        for d in dynamic {
            if d.tag32(endian) == Some(elf::DT_NEEDED) {
                let name = d.string(endian, strings).map_err(|e| e.to_string())?;
                needed.insert(String::from_utf8_lossy(name).into_owned());
            }
        }
    }

    let versions = sections.versions(endian, &*data).map_err(|e| e.to_string())?;
    let (mut exports, mut imports) = (BTreeSet::new(), BTreeSet::new());
    for sym in file.dynamic_symbols() {
        if !sym.is_global() {
            continue;
        }
        let mut name = sym.name().unwrap_or("").to_string();
        if let Some(v) = &versions {
            let vi = v.version_index(endian, sym.index());
            if let Ok(Some(version)) = v.version(vi) {
                name = format!("{name}@{}", String::from_utf8_lossy(version.name()));
            }
        }
        if !sym.is_undefined() {
            exports.insert(name);
        } else if !name.starts_with("__tls_get_addr@") {
            // lld and GNU ld keep __tls_get_addr after relaxing every call to it; rivet-ld
            // does not (README, "Compared with lld").
            imports.insert(format!("{name} {}", if sym.is_weak() { "weak" } else { "global" }));
        }
    }

    let globals: BTreeSet<String> = file
        .symbols()
        .filter(|s| s.is_global() && s.is_definition())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect();
    let entry = file.entry();
    let entry_symbol = file
        .symbols()
        .filter(|s| s.is_definition() && s.address() == entry && s.kind() == object::SymbolKind::Text && s.is_global())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .min();

    let wx_segment = segments.iter().any(|p| {
        p.p_type(endian) == elf::PT_LOAD && p.p_flags(endian) & (elf::PF_W | elf::PF_X) == (elf::PF_W | elf::PF_X)
    });
    let relro: Vec<(u64, u64)> = segments
        .iter()
        .filter(|p| p.p_type(endian) == elf::PT_GNU_RELRO)
        .map(|p| (p.p_vaddr(endian), p.p_vaddr(endian) + p.p_memsz(endian)))
        .collect();
    let relro_sections = file
        .sections()
        // lld's `.relro_padding` is its way of doing what a page-rounded PT_GNU_RELRO does.
        .filter(|s| {
            s.size() > 0
                && s.name() != Ok(".relro_padding")
                && relro.iter().any(|&(a, b)| s.address() >= a && s.address() + s.size() <= b)
        })
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect();
    Ok(Facts {
        e_type: header.e_type(endian),
        needed,
        exports,
        imports,
        globals,
        entry_symbol,
        wx_segment,
        relro_sections,
    })
}

/// Differences between `ours` and `reference` that matter; empty when they agree.
pub fn structural_differences(ours: &Path, reference: &Path) -> Result<Vec<String>, String> {
    let a = facts(ours)?;
    let b = facts(reference)?;
    let mut diffs = Vec::new();
    if a.e_type != b.e_type {
        diffs.push(format!("ELF type {} vs {}", a.e_type, b.e_type));
    }
    if a.needed != b.needed {
        diffs.push(format!("DT_NEEDED {:?} vs {:?}", a.needed, b.needed));
    }
    if a.exports != b.exports {
        let only_ours: Vec<_> = a.exports.difference(&b.exports).collect();
        let only_ref: Vec<_> = b.exports.difference(&a.exports).collect();
        diffs.push(format!("exported dynamic symbols: only ours {only_ours:?}, only reference {only_ref:?}"));
    }
    if a.imports != b.imports {
        let only_ours: Vec<_> = a.imports.difference(&b.imports).collect();
        let only_ref: Vec<_> = b.imports.difference(&a.imports).collect();
        diffs.push(format!("imported dynamic symbols: only ours {only_ours:?}, only reference {only_ref:?}"));
    }
    let missing: Vec<_> = b.globals.difference(&a.globals).collect();
    if !missing.is_empty() {
        diffs.push(format!("defined globals missing from ours: {missing:?}"));
    }
    if a.entry_symbol != b.entry_symbol {
        diffs.push(format!("entry point is {:?} vs {:?}", a.entry_symbol, b.entry_symbol));
    }
    if a.wx_segment {
        diffs.push("ours has a writable and executable segment".into());
    }
    let unprotected: Vec<_> = b.relro_sections.difference(&a.relro_sections).collect();
    if !unprotected.is_empty() {
        diffs.push(format!("sections RELRO in the reference but not in ours: {unprotected:?}"));
    }
    Ok(diffs)
}
