//! Structural comparison of two linked outputs of the same inputs (rivet-ld's and a reference
//! linker's): the properties a loader and a user depend on, not the bytes.
//! Also the comparison of an output an in-place relink patched with a full link's
//! (`same_but_for_string_places`).
//!
//! Checked: the DT_NEEDED set, the exported (defined) dynamic symbols with their versions,
//! the imported (undefined) ones with their versions and bindings, the ELF type and whether the entry point is the same symbol, every defined global symbol
//! of the reference present, no segment both writable and executable, every section the
//! reference protects with PT_GNU_RELRO also inside ours, our unwind information whole
//! (`unwind_faults`), and no global named twice in our `.symtab`.

use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeSet;
use std::path::Path;

struct Facts {
    e_type: u16,
    needed: BTreeSet<String>,
    exports: BTreeSet<String>,
    imports: BTreeSet<String>,
    globals: BTreeSet<String>,
    /// The global (and weak) names `.symtab` has more than one entry for.
    repeated_globals: BTreeSet<String>,
    entry_symbol: Option<String>,
    wx_segment: bool,
    relro_sections: BTreeSet<String>,
    unwind_faults: Vec<String>,
}

/// What is wrong with the unwind information of an output: an FDE of `.eh_frame` whose CIE
/// pointer does not land on a CIE (debuggers walk the section), an entry of `.eh_frame_hdr`'s
/// table whose FDE does not start at the entry's function (the loader's unwinder searches
/// the table), or a table out of order.
fn unwind_faults(file: &ElfFile64<Endianness>) -> Vec<String> {
    let section = |name: &str| file.section_by_name(name).and_then(|s| Some((s.address(), s.data().ok()?)));
    let Some((eh_address, eh)) = section(".eh_frame") else { return Vec::new() };
    let word = |bytes: &[u8], at: usize| bytes.get(at..at + 4).map(|w| u32::from_le_bytes(w.try_into().unwrap()));
    let (mut faults, mut cies, mut fdes) = (Vec::new(), BTreeSet::new(), std::collections::BTreeMap::new());
    let mut at = 0;
    while let Some(length) = word(eh, at).filter(|&l| l != 0 && l != u32::MAX) {
        match word(eh, at + 4) {
            Some(0) => _ = cies.insert(at),
            Some(pointer) if cies.contains(&(at + 4).wrapping_sub(pointer as usize)) => {
                let begin = word(eh, at + 8).unwrap_or(0) as i32 as i64;
                fdes.insert(at, (eh_address + at as u64 + 8).wrapping_add(begin as u64));
            }
            _ => faults.push(format!("the FDE at .eh_frame+{at:#x} points at no CIE")),
        }
        at += 4 + length as usize;
    }
    if let Some((hdr_address, hdr)) = section(".eh_frame_hdr") {
        let count = word(hdr, 8).unwrap_or(0) as usize;
        let mut last = i64::MIN;
        for i in 0..count {
            let (start, fde) = (word(hdr, 12 + 8 * i), word(hdr, 16 + 8 * i));
            let (Some(start), Some(fde)) = (start, fde) else { break };
            let start = hdr_address.wrapping_add(start as i32 as i64 as u64);
            let fde = hdr_address.wrapping_add(fde as i32 as i64 as u64).wrapping_sub(eh_address) as usize;
            if fdes.get(&fde) != Some(&start) {
                faults.push(format!(".eh_frame_hdr's entry for {start:#x} points at no FDE of it"));
            }
            if (start as i64) < last {
                faults.push(format!(".eh_frame_hdr's entry for {start:#x} is out of order"));
            }
            last = start as i64;
        }
    }
    faults
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
    let mut seen = BTreeSet::new();
    let repeated_globals = file
        .symbols()
        .filter(|s| s.is_global())
        .filter_map(|s| s.name().ok().filter(|n| !seen.insert(n.to_string())).map(str::to_string))
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
        repeated_globals,
        entry_symbol,
        wx_segment,
        relro_sections,
        unwind_faults: unwind_faults(&file),
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
    diffs.extend(a.unwind_faults);
    if !a.repeated_globals.is_empty() {
        diffs.push(format!("globals that ours lists more than once in .symtab: {:?}", a.repeated_globals));
    }
    let unprotected: Vec<_> = b.relro_sections.difference(&a.relro_sections).collect();
    if !unprotected.is_empty() {
        diffs.push(format!("sections RELRO in the reference but not in ours: {unprotected:?}"));
    }
    Ok(diffs)
}

/// The NUL-terminated string at offset `at` of `bytes`, if one starts there.
fn string_at(bytes: &[u8], at: u64) -> Option<&[u8]> {
    let rest = bytes.get(at as usize..)?;
    rest.iter().position(|&c| c == 0).map(|end| &rest[..end])
}

/// Why `patched` (an output an in-place relink rewrote merged strings or constants in) is
/// not `full` (a full link of the same inputs) but for where those pieces sit, if it is not
/// (debug strings too, which a relink finds by their text where the output has them):
/// the same section headers; the build id aside, every section the same byte for byte, except
/// sections that hold the same pieces in another order (NUL-terminated strings, or constants
/// of the section's entry size in a merge section of constants), and fields that refer to such
/// a piece: a 64- or 32-bit address, or a 32-bit PC-relative displacement (counted from the
/// field's end, as in `lea` and `call`), that leads to the same piece in both outputs.
pub fn same_but_for_string_places(patched: &Path, full: &Path) -> Result<(), String> {
    let (a, b) = (std::fs::read(patched).map_err(|e| e.to_string())?, std::fs::read(full).map_err(|e| e.to_string())?);
    let parse = |data| ElfFile64::<Endianness>::parse(data).map_err(|e| e.to_string());
    let (a, b) = (parse(&*a)?, parse(&*b)?);
    let headers = |file: &ElfFile64<Endianness>| -> Vec<(String, u64, u64)> {
        file.sections().map(|s| (s.name().unwrap_or("?").to_string(), s.address(), s.size())).collect()
    };
    if headers(&a) != headers(&b) {
        return Err("the section headers differ".into());
    }
    // Where each piece of the full link is in the patched output: (full address, length,
    // patched address), for pieces that occur once in their section.
    let mut moved: Vec<(u64, u64, u64)> = Vec::new();
    let mut differing = Vec::new();
    // Sections of strings the program does not load that hold the same strings in another
    // order: (patched, full).
    let mut reordered: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (x, y) in a.sections().zip(b.sections()) {
        let name = x.name().unwrap_or("?").to_string();
        let (x_bytes, y_bytes) = (x.data().map_err(|e| e.to_string())?, y.data().map_err(|e| e.to_string())?);
        if x_bytes == y_bytes || name == ".note.gnu.build-id" {
            continue;
        }
        let header = x.elf_section_header();
        let flags = header.sh_flags(a.endian());
        let constants = flags & u64::from(elf::SHF_MERGE) != 0 && flags & u64::from(elf::SHF_STRINGS) == 0;
        let size = if constants { header.sh_entsize(a.endian()).max(1) as usize } else { 0 };
        let same_pieces = sorted_pieces(x_bytes, size) == sorted_pieces(y_bytes, size);
        if same_pieces && x.address() == 0 && flags & u64::from(elf::SHF_STRINGS) != 0 {
            // Debug strings in another order: the references to them are offsets, checked by
            // the text they lead to (below).
            reordered.push((x_bytes.to_vec(), y_bytes.to_vec()));
        } else if same_pieces && x.address() != 0 {
            let (in_patched, in_full) =
                (piece_places(x_bytes, x.address(), size), piece_places(y_bytes, y.address(), size));
            for (piece, full_at) in in_full {
                if let (Some(full_at), Some(Some(patched_at))) = (full_at, in_patched.get(piece)) {
                    let len = if size == 0 { piece.len() + 1 } else { piece.len() };
                    moved.push((full_at, len as u64, *patched_at));
                }
            }
        } else {
            differing.push((name, x.address(), x_bytes.to_vec(), y_bytes.to_vec()));
        }
    }
    moved.sort_unstable();
    let translate = |address: u64| -> Option<u64> {
        let i = moved.partition_point(|&(start, _, _)| start <= address).checked_sub(1)?;
        let (start, len, to) = moved[i];
        (address < start + len).then(|| to + (address - start))
    };
    for (name, address, x_bytes, y_bytes) in differing {
        let mut at = 0;
        while at < x_bytes.len() {
            if x_bytes[at] == y_bytes[at] {
                at += 1;
                continue;
            }
            let mut end = at;
            while end < x_bytes.len() && x_bytes[end] != y_bytes[end] {
                end += 1;
            }
            let field = |width: usize, start: usize| -> bool {
                let read = |bytes: &[u8]| {
                    let mut value = [0u8; 8];
                    value[..width].copy_from_slice(&bytes[start..start + width]);
                    u64::from_le_bytes(value)
                };
                let (ours, theirs) = (read(&x_bytes), read(&y_bytes));
                let absolute = translate(theirs) == Some(ours);
                let same_text = width == 4
                    && reordered
                        .iter()
                        .any(|(x, y)| string_at(x, ours).is_some_and(|t| Some(t) == string_at(y, theirs)));
                let after = address + (start + width) as u64;
                let relative = width == 4
                    && translate(after.wrapping_add(theirs as u32 as i32 as i64 as u64))
                        == Some(after.wrapping_add(ours as u32 as i32 as i64 as u64));
                absolute || relative || same_text
            };
            let explained = [8usize, 4].iter().any(|&width| {
                (end.saturating_sub(width)..=at)
                    .filter(|&start| start + width <= x_bytes.len() && start + width >= end)
                    .any(|start| field(width, start))
            });
            if !explained {
                return Err(format!("{name} differs at offset {at:#x}, and not in a reference to a string"));
            }
            at = end;
        }
    }
    Ok(())
}

/// The pieces of a section, sorted: NUL-terminated strings (`size` 0) or constants.
fn sorted_pieces(bytes: &[u8], size: usize) -> Vec<&[u8]> {
    let mut list: Vec<&[u8]> = match size {
        0 => bytes.split(|&b| b == 0).collect(),
        size => bytes.chunks(size).collect(),
    };
    list.sort_unstable();
    list
}

/// Each piece of a section at `base` (as in [`sorted_pieces`]) with its address, or none
/// where it occurs more than once.
fn piece_places(bytes: &[u8], base: u64, size: usize) -> std::collections::HashMap<&[u8], Option<u64>> {
    let mut at = std::collections::HashMap::<&[u8], Option<u64>>::new();
    let pieces: Box<dyn Iterator<Item = &[u8]>> = match size {
        0 => Box::new(bytes.split(|&b| b == 0)),
        size => Box::new(bytes.chunks(size)),
    };
    let mut offset = 0;
    for piece in pieces {
        at.entry(piece).and_modify(|seen| *seen = None).or_insert(Some(base + offset));
        offset += (if size == 0 { piece.len() + 1 } else { piece.len() }) as u64;
    }
    at
}
