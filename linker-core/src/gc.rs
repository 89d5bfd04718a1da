//! `--gc-sections`: marks input sections reachable from the roots through relocations; the
//! rest are left out of the output.
//!
//! Roots: the entry point, `-u`/`--require-defined` symbols, exported symbols of a shared
//! output (or every global with `--export-dynamic`), symbols shared libraries reference,
//! sections that must run or be kept (`.init`, `.fini`, `.init_array`, `.ctors`, notes,
//! `SHF_GNU_RETAIN`), sections named like C identifiers whose `__start_`/`__stop_` symbols
//! are referenced (`-z nostart-stop-gc`: they keep the whole section set alive), and the
//! personality routines and LSDAs that `.eh_frame` points to. FDEs do not keep their function
//! alive: they are dropped with it. Without `--gc-sections` every allocated section is live.
//! A live section in a COMDAT group keeps every member of its group.
//!
//! Cost: one visit per live section, reading its relocations and, through the object's
//! table of section groups (`ObjectFile::group_members`), its group's members: linear in
//! live sections and relocations. Finding a section's group by scanning the object's groups
//! instead was quadratic in groups: 235 ms of a 251 ms link of one g++ object with 20,000
//! COMDAT groups, against 1.3 ms now. The marking is a depth-first walk that splits its
//! stack among the pool's threads, with no barrier between levels: marking level by level,
//! one parallel round per level of the reference graph (124 rounds in a debug typst-cli
//! link), took 64 ms there at 2 threads against 49 ms at 1, with a barrier at each round's
//! end. The walk that splits takes 10 to 18 ms less CPU in that phase at 2 threads (three
//! alternated runs; a release typst-cli link: 25.4 to 21.2 ms); its wall time moved within
//! the host's noise (74.7 to 70.8, 72.4 to 78.2 and 76.3 to 67.7 ms; the whole link 0.47× to
//! 0.50× of rust-lld's in the same rounds with either build).

use crate::context::Link;
use crate::elf::*;
use crate::resolve::{FileData, Rank};
use crate::sections::RootSections;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// `live[file][section]`: the sections the output keeps. `found[file]`: the roots its parse
/// job found.
pub fn run(link: &Link<'_>, found: &[RootSections]) -> Vec<Vec<bool>> {
    let files = &link.res.files;
    let mut live: Vec<Vec<bool>> =
        files.iter().map(|f| f.object().map(|o| vec![false; o.sections.len()]).unwrap_or_default()).collect();
    let gc = link.config.gc_sections;
    let mut work: Vec<(u32, u32)> = Vec::new();
    let start_stop_names: Vec<&[u8]> = link
        .res
        .names
        .par_iter()
        .filter(|(_, e)| e.rank <= Rank::Lazy || link.res.file_of_symbol(e.def) == link.res.internal_file)
        .filter_map(|(n, _)| n.strip_prefix(b"__start_").or_else(|| n.strip_prefix(b"__stop_")))
        .collect();
    // Root sections, per file in parallel, from those its parse job found.
    work.extend(
        files
            .par_iter()
            .zip(found)
            .enumerate()
            .flat_map_iter(|(fi, (file, found))| {
                let mut roots: Vec<(u32, u32)> = Vec::new();
                let Some(obj) = file.object() else { return roots };
                let kept = |si: &u32| !file.discarded[*si as usize];
                let fi = fi as u32;
                if gc {
                    let named = |si: &u32| start_stop_names.contains(&obj.section_name(*si as usize));
                    roots.extend(found.kept.iter().copied().filter(kept).map(|si| (fi, si)));
                    roots.extend(found.c_identifiers.iter().copied().filter(kept).filter(named).map(|si| (fi, si)));
                } else {
                    let allocated = |si: &u32| obj.is_allocated(*si as usize);
                    roots.extend((1..obj.sections.len() as u32).filter(kept).filter(allocated).map(|si| (fi, si)));
                }
                for &si in found.eh_frames.iter().filter(|si| kept(si)) {
                    // Personality routines and LSDAs: everything .eh_frame points at except
                    // the functions its FDEs describe.
                    let data = obj.section_data(si as usize).unwrap_or(&[]);
                    let pc_begins = crate::eh_frame::fde_pc_begin_offsets(data);
                    for r in obj.relocations(si as usize) {
                        if pc_begins.binary_search(&r.r_offset(E)).is_ok() {
                            continue;
                        }
                        if let Some(t) = link.reloc_target_section(fi, r.r_sym(E, false) as usize) {
                            roots.push(t);
                        }
                    }
                }
                roots
            })
            .collect::<Vec<_>>(),
    );
    if gc {
        for id in root_symbols(link) {
            if let Some(t) = link.symbol_section(id) {
                work.push(t);
            }
        }
    }
    // Marking in parallel: each task walks a stack of claimed sections depth-first and hands
    // `SHARE` of them to the pool whenever it grows past twice that, so an idle thread steals
    // work without waiting for a round to end; `swap` lets exactly one thread claim a
    // section, and the final set does not depend on the order. Marks are one flat array,
    // indexed from each file's first section.
    let mut bases = Vec::with_capacity(live.len());
    let mut total = 0;
    for l in &live {
        bases.push(total);
        total += l.len();
    }
    let marks: Vec<AtomicBool> = (0..total).map(|_| AtomicBool::new(false)).collect();
    // Most targets are claimed already: look before the (costlier) atomic swap.
    let claim = |(f, s): (u32, u32)| {
        let mark = &marks[bases[f as usize] + s as usize];
        !mark.load(Ordering::Relaxed) && !mark.swap(true, Ordering::Relaxed)
    };
    let visit = |(fi, si): (u32, u32), next: &mut Vec<(u32, u32)>| {
        let FileData::Object(obj) = &files[fi as usize].data else { return };
        // Only allocated sections' references keep code alive (and only theirs were
        // validated while parsing).
        if !obj.is_allocated(si as usize) {
            return;
        }
        let mut last_sym = u32::MAX;
        for r in obj.relocations(si as usize) {
            // Runs of relocations against one symbol are common (a function's calls to
            // one callee, a section symbol's many offsets).
            let sym = r.r_sym(E, false);
            if std::mem::replace(&mut last_sym, sym) == sym {
                continue;
            }
            if let Some(t) = link.reloc_target_section(fi, sym as usize)
                && claim(t)
            {
                next.push(t);
            }
        }
        // A section in a COMDAT group keeps its whole group (e.g. a function and its
        // out-of-line data).
        next.extend(obj.group_members(si as usize).iter().map(|&m| (fi, m)).filter(|&t| claim(t)));
    };
    let roots: Vec<(u32, u32)> = work.into_iter().filter(|&t| claim(t)).collect();
    rayon::scope(|scope| {
        for chunk in roots.chunks(SHARE) {
            let visit = &visit;
            scope.spawn(move |scope| mark_from(scope, chunk.to_vec(), visit));
        }
    });
    for (l, base) in live.iter_mut().zip(bases) {
        for (slot, mark) in l.iter_mut().zip(&marks[base..]) {
            *slot = mark.load(Ordering::Relaxed);
        }
    }
    live
}

/// Sections a marking task hands to the pool at a time, once its stack holds twice as many:
/// enough that a hand-off (a heap block and a queued job) is rare beside the visits.
const SHARE: usize = 256;

/// Visits `stack` and everything it newly reaches, depth-first, splitting off work for the
/// pool as the stack grows.
fn mark_from<'s, V>(scope: &rayon::Scope<'s>, mut stack: Vec<(u32, u32)>, visit: &'s V)
where
    V: Fn((u32, u32), &mut Vec<(u32, u32)>) + Sync,
{
    while let Some(section) = stack.pop() {
        visit(section, &mut stack);
        if stack.len() > 2 * SHARE {
            // The oldest entries: they tend to lead to more than the newest.
            let shared = stack.drain(..SHARE).collect();
            scope.spawn(move |scope| mark_from(scope, shared, visit));
        }
    }
}

/// Symbols whose definitions are GC roots.
fn root_symbols(link: &Link<'_>) -> Vec<u32> {
    let names = link.config.root_names();
    let mut ids: Vec<u32> = names.filter_map(|n| link.res.names.get(n)).map(|e| e.def).collect();
    let export_all = link.output.shared || link.config.export_dynamic;
    for e in link.res.names.values() {
        if e.rank >= Rank::Weak && (e.dso_ref || (export_all && link.is_exportable(e.def))) {
            ids.push(e.def);
        }
    }
    ids.sort_unstable();
    ids
}
