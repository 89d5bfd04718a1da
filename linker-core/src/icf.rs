//! `--icf=all|safe`: identical code folding. Live read-only sections with the same bytes and
//! relocations that point to equivalent places are folded into one; the others' symbols and
//! references then resolve to the one kept, and they are left out of the output.
//!
//! Algorithm (partition refinement, as mold does):
//! 1. Candidates: live, allocated, non-writable, non-TLS `SHT_PROGBITS` sections of objects
//!    that are not merged strings, `.eh_frame`, `.init`/`.fini` fragments or `__start_`/
//!    `__stop_` sets (C-identifier names). Under `safe`, not the address-significant ones:
//!    those holding a symbol that `.llvm_addrsig` lists (clang and rustc emit it), every
//!    section of an object without that table (gcc's), and those defining exported symbols.
//!    Never a function whose FDE names an LSDA (as lld): equal code may have different
//!    landing pads, and only the kept function's unwind information remains.
//! 2. Each candidate is summarised by a 128-bit hash of its flags, alignment, bytes and
//!    relocations (offset, type, and the target: for a target in another candidate only the
//!    offset in it, else the target section or symbol itself). Candidates are grouped by
//!    summary and the groups confirmed by comparing those fields, so a hash collision can
//!    split a group but never fold two different sections.
//! 3. Refinement: each candidate's signature is its class and the classes of the candidates
//!    its relocations point into; classes are split by signature until no class splits.
//!    Sections that call each other (recursion, mutual recursion) stay together.
//! 4. In each class of two or more, the first in canonical input order is kept.
//!
//! Classes are numbered by their first member in canonical order, and every step is a pure
//! function of the inputs, so the result does not depend on thread count or arrival order.
//! Costs: one parallel pass over candidates' bytes and relocations, then a few parallel
//! passes over their relocations (typically 3 to 6 rounds); the rest of the link then skips
//! the folded sections.

use crate::args::Icf;
use crate::context::{Def, Link, class};
use crate::elf::*;
use crate::resolve::{FileId, NO_SLOT};
use rayon::prelude::*;

/// `SHT_LLVM_ADDRSIG`: the symbols whose address is taken (ULEB128 symbol indices).
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;

/// Each folded section (file, section) and the one kept in its place.
pub type Folded = Vec<((FileId, u32), (FileId, u32))>;

/// Finds identical sections among the live ones; returns what folds into what.
pub fn run(link: &Link<'_>, mode: Icf) -> Folded {
    let candidates = candidates(link, mode);
    if candidates.len() < 2 {
        return Vec::new();
    }
    // Dense candidate ids per file, to look relocation targets up without hashing.
    let mut index: Vec<Vec<u32>> = link
        .res
        .files
        .iter()
        .map(|f| f.object().map(|o| vec![NOT_CANDIDATE; o.sections.len()]).unwrap_or_default())
        .collect();
    for (i, &(f, s)) in candidates.iter().enumerate() {
        index[f as usize][s as usize] = i as u32;
    }
    let summaries: Vec<u128> = candidates.par_iter().map(|&(f, s)| summary(link, &index, f, s)).collect();
    let mut classes = initial_classes(link, &index, &candidates, &summaries);
    // Targets of each candidate's relocations that are candidates themselves, in order.
    let edges: Vec<Vec<u32>> = candidates
        .par_iter()
        .map(|&(f, s)| {
            let obj = link.res.files[f as usize].object().expect("candidates are objects");
            obj.relocations(s as usize)
                .iter()
                .filter_map(|r| match target(link, &index, f, r.r_sym(E, false) as usize) {
                    Target::Candidate(c, _) => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect();
    loop {
        let signatures: Vec<u128> = (0..candidates.len())
            .into_par_iter()
            .map(|i| {
                let mut h = twox_hash::XxHash3_128::new();
                h.write(&classes[i].to_le_bytes());
                for &c in &edges[i] {
                    h.write(&classes[c as usize].to_le_bytes());
                }
                h.finish_128()
            })
            .collect();
        let refined = renumber(&classes, &signatures);
        let changed = refined != classes;
        classes = refined;
        if !changed {
            break;
        }
    }
    let mut folded = Vec::new();
    for (i, &class) in classes.iter().enumerate() {
        if class as usize != i {
            folded.push((candidates[i], candidates[class as usize]));
        }
    }
    folded
}

const NOT_CANDIDATE: u32 = u32::MAX;

/// The sections that may fold, in canonical order (by file order, then section index).
fn candidates(link: &Link<'_>, mode: Icf) -> Vec<(FileId, u32)> {
    let files = &link.res.files;
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&f| files[f].order);
    let per_file: Vec<Vec<(FileId, u32)>> = order
        .par_iter()
        .map(|&f| {
            let Some(obj) = files[f].object() else { return Vec::new() };
            let significant = (mode == Icf::Safe).then(|| address_significant(link, f as FileId));
            let with_lsda = with_lsda(link, f as FileId);
            (1..obj.sections.len())
                .filter(|&s| {
                    let sh = obj.section(s);
                    let flags = sh.sh_flags(E);
                    let name = obj.section_name(s);
                    link.live[f][s]
                        && !files[f].discarded[s]
                        && sh.sh_type(E) == SHT_PROGBITS
                        && flags & SHF_ALLOC as u64 != 0
                        && flags & (SHF_WRITE | SHF_TLS | SHF_MERGE) as u64 == 0
                        && name != b".eh_frame"
                        && !is_init_or_fini(name)
                        && !is_c_identifier(name)
                        && significant.as_ref().is_none_or(|sig| !sig[s])
                        && !with_lsda[s]
                })
                .map(|s| (f as FileId, s as u32))
                .collect()
        })
        .collect();
    per_file.concat()
}

/// Per section of object `f`: whether its FDE names an LSDA (exception or cleanup tables).
/// Such a function is never folded, as lld does: its code may equal another's while its
/// landing pads differ, and only the kept one's unwind information would remain.
fn with_lsda(link: &Link<'_>, f: FileId) -> Vec<bool> {
    let obj = link.res.files[f as usize].object().expect("an object");
    let mut marked = vec![false; obj.sections.len()];
    for eh in (1..obj.sections.len()).filter(|&s| obj.section_name(s) == b".eh_frame") {
        let Ok(data) = obj.section_data(eh) else { continue };
        let mut relocations: Vec<(u64, usize)> =
            obj.relocations(eh).iter().map(|r| (r.r_offset(E), r.r_sym(E, false) as usize)).collect();
        relocations.sort_unstable();
        for record in crate::eh_frame::split(data).unwrap_or_default().iter().filter(|r| r.cie.is_some()) {
            let (start, end) = (u64::from(record.offset), u64::from(record.offset) + u64::from(record.size));
            let first = relocations.partition_point(|&(at, _)| at < start);
            let in_record = &relocations[first..first + relocations[first..].partition_point(|&(at, _)| at < end)];
            // One relocation is the FDE's pc_begin; any other points to its LSDA.
            let pc_begin = in_record.iter().find(|&&(at, _)| at == start + 8);
            if let Some(&(_, sym)) = pc_begin.filter(|_| in_record.len() > 1)
                && let Some((tf, ts)) = link.reloc_target_section(f, sym)
                && tf == f
            {
                marked[ts as usize] = true;
            }
        }
    }
    marked
}

fn is_init_or_fini(name: &[u8]) -> bool {
    matches!(name, b".init" | b".fini") || name.starts_with(b".ctors") || name.starts_with(b".dtors")
}

/// Per section of object `f`: whether its address may be compared (see the module docs).
fn address_significant(link: &Link<'_>, f: FileId) -> Vec<bool> {
    let file = &link.res.files[f as usize];
    let obj = file.object().expect("an object");
    let table = (1..obj.sections.len()).find(|&s| obj.section(s).sh_type(E) == SHT_LLVM_ADDRSIG);
    let Some(bytes) = table.and_then(|s| obj.section_data(s).ok()) else {
        return vec![true; obj.sections.len()];
    };
    let mut significant = vec![false; obj.sections.len()];
    let mut mark = |sym: usize| {
        if sym < obj.symbols.len() {
            let s = obj.symbol_section(sym) as usize;
            if let Some(slot) = significant.get_mut(s) {
                *slot = true;
            }
        }
    };
    let mut rest = bytes;
    while let Some((sym, used)) = uleb128(rest) {
        mark(sym as usize);
        rest = &rest[used..];
    }
    // What the output exports (the dynamic symbol table's definitions): other modules may
    // compare those addresses.
    let export_all = link.output.shared || link.config.export_dynamic;
    for sym in obj.first_global..obj.symbols.len() {
        let id = file.symbol_base + sym as u32;
        let Some(&slot) = file.name_slots.get(sym - obj.first_global).filter(|&&s| s != NO_SLOT) else { continue };
        let entry = link.res.names.at_slot(slot);
        if link.output.dynamic && entry.def == id && (export_all || entry.dso_ref) && link.is_exportable(id) {
            mark(sym);
        }
    }
    significant
}

fn uleb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// What a relocation's symbol stands for, for comparing sections.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    /// At this offset of a candidate (which may fold, so only its class tells).
    Candidate(u32, u64),
    /// At this offset of another input section.
    Section(FileId, u32, u64),
    /// Anything else: the definition symbol itself.
    Symbol(u32),
}

fn target(link: &Link<'_>, index: &[Vec<u32>], file: FileId, sym: usize) -> Target {
    let id = link.symbol_id(file, sym);
    // A preemptible or IFUNC definition is reached through the loader or a PLT: by name.
    if link.class(id) & (class::PREEMPTIBLE | class::IFUNC) != 0 {
        return Target::Symbol(link.res.resolved[id as usize]);
    }
    match link.def(id) {
        Def::Section { file, section, value, .. } => match index[file as usize][section as usize] {
            NOT_CANDIDATE => Target::Section(file, section, value),
            c => Target::Candidate(c, value),
        },
        _ => Target::Symbol(link.res.resolved[id as usize]),
    }
}

/// The parts of a section that must be equal for it to fold, but for its candidate targets'
/// classes: each part once, as bytes.
fn summary(link: &Link<'_>, index: &[Vec<u32>], f: FileId, s: u32) -> u128 {
    let mut h = twox_hash::XxHash3_128::new();
    each_part(link, index, f, s, &mut |bytes| h.write(bytes));
    h.finish_128()
}

fn each_part(link: &Link<'_>, index: &[Vec<u32>], f: FileId, s: u32, part: &mut dyn FnMut(&[u8])) {
    let obj = link.res.files[f as usize].object().expect("candidates are objects");
    let sh = obj.section(s as usize);
    part(&sh.sh_flags(E).to_le_bytes());
    part(&obj.section_align(s as usize).to_le_bytes());
    let data = obj.section_data(s as usize).unwrap_or_default();
    part(&(data.len() as u64).to_le_bytes());
    part(data);
    for r in obj.relocations(s as usize) {
        part(&r.r_offset(E).to_le_bytes());
        part(&r.r_type(E, false).to_le_bytes());
        part(&r.r_addend(E).to_le_bytes());
        match target(link, index, f, r.r_sym(E, false) as usize) {
            Target::Candidate(_, offset) => part(&[&[0u8][..], &offset.to_le_bytes()].concat()),
            Target::Section(tf, ts, offset) => {
                part(&[&[1u8][..], &tf.to_le_bytes(), &ts.to_le_bytes(), &offset.to_le_bytes()].concat())
            }
            Target::Symbol(id) => part(&[&[2u8][..], &id.to_le_bytes()].concat()),
        }
    }
}

/// Classes of equal summaries, confirmed part by part; numbered by their first member.
fn initial_classes(link: &Link<'_>, index: &[Vec<u32>], candidates: &[(FileId, u32)], summaries: &[u128]) -> Vec<u32> {
    let mut by_summary: Vec<u32> = (0..candidates.len() as u32).collect();
    by_summary.sort_unstable_by_key(|&i| (summaries[i as usize], i));
    let groups: Vec<&[u32]> = by_summary.chunk_by(|&a, &b| summaries[a as usize] == summaries[b as usize]).collect();
    let mut classes: Vec<u32> = (0..candidates.len() as u32).collect();
    let confirmed: Vec<Vec<(u32, u32)>> = groups
        .par_iter()
        .filter(|g| g.len() > 1)
        .map(|group| {
            // Members equal to an earlier representative join its class.
            let mut representatives: Vec<u32> = Vec::new();
            let mut assigned = Vec::with_capacity(group.len());
            for &member in group.iter() {
                let same =
                    |&first: &u32| same_parts(link, index, candidates[first as usize], candidates[member as usize]);
                match representatives.iter().find(|r| same(r)) {
                    Some(&first) => assigned.push((member, first)),
                    None => representatives.push(member),
                }
            }
            assigned
        })
        .collect();
    for (member, first) in confirmed.into_iter().flatten() {
        classes[member as usize] = first;
    }
    classes
}

/// Whether sections `a` and `b` agree in every part [`each_part`] summarises, compared in
/// place.
fn same_parts(link: &Link<'_>, index: &[Vec<u32>], (af, as_): (FileId, u32), (bf, bs): (FileId, u32)) -> bool {
    let (a, b) = (link.res.files[af as usize].object(), link.res.files[bf as usize].object());
    let (Some(a), Some(b)) = (a, b) else { return false };
    let (asec, bsec) = (as_ as usize, bs as usize);
    let (ar, br) = (a.relocations(asec), b.relocations(bsec));
    let same_target = |t: Target, u: Target| match (t, u) {
        (Target::Candidate(_, x), Target::Candidate(_, y)) => x == y,
        _ => t == u,
    };
    a.section(asec).sh_flags(E) == b.section(bsec).sh_flags(E)
        && a.section_align(asec) == b.section_align(bsec)
        && a.section_data(asec).ok() == b.section_data(bsec).ok()
        && ar.len() == br.len()
        && ar.iter().zip(br).all(|(x, y)| {
            (x.r_offset(E), x.r_type(E, false), x.r_addend(E)) == (y.r_offset(E), y.r_type(E, false), y.r_addend(E))
                && same_target(
                    target(link, index, af, x.r_sym(E, false) as usize),
                    target(link, index, bf, y.r_sym(E, false) as usize),
                )
        })
}

/// Splits classes by signature: members with the same class and signature stay together;
/// each class is numbered by its first member.
fn renumber(classes: &[u32], signatures: &[u128]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..classes.len() as u32).collect();
    order.par_sort_unstable_by_key(|&i| (classes[i as usize], signatures[i as usize], i));
    let mut refined = vec![0u32; classes.len()];
    for group in order.chunk_by(|&a, &b| {
        (classes[a as usize], signatures[a as usize]) == (classes[b as usize], signatures[b as usize])
    }) {
        for &member in group {
            refined[member as usize] = group[0];
        }
    }
    refined
}
