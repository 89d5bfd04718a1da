//! Relocation scan: one parallel pass over the relocations of every live allocated section
//! decides what each referenced symbol needs (a GOT slot, a PLT entry, a TLS GOT entry, a copy
//! relocation, a `.dynsym` entry) and counts the dynamic relocations each section will emit,
//! so that every later table has its final size before addresses are assigned, and the write
//! pass can emit dynamic relocations into disjoint, pre-sized slices.
//!
//! The scan keeps each relocation's [`Action`] from [`x86_64::classify`], and the write pass
//! applies them as they are, so the two agree on every relaxation and the decision is made
//! once. Sections the scan does not visit (an `.eh_frame` that `--gc-sections` did not mark
//! live: layout keeps its records by their functions' liveness) are decided by the write pass
//! with the same function.

use crate::context::Link;
use crate::elf::*;
use crate::error::Result;
use crate::resolve::FileData;
use crate::x86_64::{self, Action};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};

pub mod flags {
    pub const GOT: u16 = 1 << 0;
    pub const PLT: u16 = 1 << 1;
    pub const GOT_TPOFF: u16 = 1 << 2;
    pub const TLS_GD: u16 = 1 << 3;
    pub const TLS_DESC: u16 = 1 << 4;
    pub const COPY: u16 = 1 << 5;
    pub const CANONICAL_PLT: u16 = 1 << 6;
    pub const DYNSYM: u16 = 1 << 7;
}

pub struct ScanResult {
    /// Needs of each definition, indexed by symbol id (only definitions are set).
    pub flags: Vec<u16>,
    /// A module-id GOT pair for local-dynamic TLS in a shared object.
    pub tls_ld: bool,
    /// `_GLOBAL_OFFSET_TABLE_`-relative relocations are used: the GOT must exist.
    pub got_base_used: bool,
    /// Dynamic relocations each input section emits: `dynrel_counts[file][section]`.
    pub dynrel_counts: Vec<Vec<u32>>,
    /// Every scanned relocation's action, for the write pass to apply without deciding again.
    pub actions: Vec<FileActions>,
}

/// The actions of one file's scanned relocations: those of its live allocated sections, in
/// section order, each section's run in relocation order.
#[derive(Default)]
pub struct FileActions {
    /// Per section: where its run starts in `all`, or `NOT_SCANNED`.
    starts: Vec<u32>,
    all: Vec<Action>,
}

const NOT_SCANNED: u32 = u32::MAX;

impl FileActions {
    /// The actions of section `si`'s `count` relocations, if the scan visited it.
    pub fn of(&self, si: usize, count: usize) -> Option<&[Action]> {
        let start = *self.starts.get(si).filter(|&&s| s != NOT_SCANNED)? as usize;
        self.all.get(start..start + count)
    }
}

pub fn run(link: &Link<'_>) -> Result<ScanResult> {
    let total = link.res.resolved.len();
    let flags: Vec<AtomicU16> = (0..total).map(|_| AtomicU16::new(0)).collect();
    let tls_ld = AtomicBool::new(false);
    let got_base_used = AtomicBool::new(false);
    let per_file: Result<Vec<(Vec<u32>, FileActions)>> = link
        .res
        .files
        .par_iter()
        .enumerate()
        .map(|(fi, file)| {
            let FileData::Object(obj) = &file.data else { return Ok(Default::default()) };
            let mut counts = vec![0u32; obj.sections.len()];
            let mut actions = FileActions { starts: vec![NOT_SCANNED; obj.sections.len()], all: Vec::new() };
            for si in 1..obj.sections.len() {
                if !link.live[fi][si] || !obj.is_allocated(si) {
                    continue;
                }
                let data = obj.section_data(si)?;
                let relas = obj.relocations(si);
                actions.starts[si] = actions.all.len() as u32;
                let mut skip_next = false;
                for (ri, r) in relas.iter().enumerate() {
                    if std::mem::take(&mut skip_next) {
                        // Rewritten with the previous one: never applied on its own.
                        actions.all.push(Action::None);
                        continue;
                    }
                    let sym = link.symbol_id(fi as u32, r.r_sym(E, false) as usize);
                    let action = x86_64::classify(link, fi as u32, si, data, relas, ri)?;
                    let def = link.res.resolved[sym as usize] as usize;
                    let need = |f: u16| {
                        flags[def].fetch_or(f, Ordering::Relaxed);
                    };
                    match action {
                        Action::Abs { dynamic: Some(x86_64::DynAbs::Symbolic) } => {
                            counts[si] += 1;
                            need(flags::DYNSYM);
                        }
                        Action::Abs { dynamic: Some(x86_64::DynAbs::Relative) } => counts[si] += 1,
                        Action::Abs { dynamic: None } | Action::Pc | Action::None | Action::Size => {}
                        Action::Plt => need(flags::PLT | if link.is_preemptible(sym) { flags::DYNSYM } else { 0 }),
                        Action::PltAddress => need(flags::PLT),
                        Action::Copy => need(flags::COPY | flags::DYNSYM),
                        Action::CanonicalPlt => need(flags::CANONICAL_PLT | flags::PLT | flags::DYNSYM),
                        Action::Got | Action::GotAbs => {
                            got_base_used.store(true, Ordering::Relaxed);
                            need(flags::GOT | if link.is_preemptible(sym) { flags::DYNSYM } else { 0 });
                        }
                        Action::GotBase => got_base_used.store(true, Ordering::Relaxed),
                        Action::RelaxGot(_) | Action::TpOff | Action::DtpOff => {}
                        Action::GotTpOff | Action::TlsGdToIe => {
                            need(flags::GOT_TPOFF | if link.is_preemptible(sym) { flags::DYNSYM } else { 0 });
                        }
                        Action::TlsGd => need(flags::TLS_GD | if link.is_preemptible(sym) { flags::DYNSYM } else { 0 }),
                        Action::TlsDesc => {
                            need(flags::TLS_DESC | if link.is_preemptible(sym) { flags::DYNSYM } else { 0 })
                        }
                        Action::TlsLd => tls_ld.store(true, Ordering::Relaxed),
                        Action::TlsGdToLe | Action::TlsLdToLe | Action::TlsDescToLe | Action::GotTpOffToLe => {}
                        Action::TlsDescToIe => {
                            need(flags::GOT_TPOFF | if link.is_preemptible(sym) { flags::DYNSYM } else { 0 })
                        }
                    }
                    if matches!(action, Action::TlsGdToLe | Action::TlsGdToIe | Action::TlsLdToLe) {
                        skip_next = true; // the __tls_get_addr call is rewritten too
                    }
                    actions.all.push(action);
                }
            }
            Ok((counts, actions))
        })
        .collect();
    let (dynrel_counts, actions) = per_file?.into_iter().unzip();
    Ok(ScanResult {
        flags: flags.into_iter().map(AtomicU16::into_inner).collect(),
        tls_ld: tls_ld.into_inner(),
        got_base_used: got_base_used.into_inner(),
        dynrel_counts,
        actions,
    })
}
