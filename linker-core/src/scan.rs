//! Relocation scan: one parallel pass over the relocations of every live allocated section
//! decides what each referenced symbol needs (a GOT slot, a PLT entry, a TLS GOT entry, a copy
//! relocation, a `.dynsym` entry) and counts the dynamic relocations each section will emit,
//! so that every later table has its final size before addresses are assigned, and the write
//! pass can emit dynamic relocations into disjoint, pre-sized slices.
//!
//! The scan keeps each relocation's [`Action`] from [`classify`], and the write pass
//! applies them as they are, so the two agree on every relaxation and the decision is made
//! once. Sections the scan does not visit (an `.eh_frame` that `--gc-sections` did not mark
//! live: layout keeps its records by their functions' liveness) are decided by the write pass
//! with the same function.

use crate::context::{Link, class};
use crate::elf::*;
use crate::error::{Error, Result, demangle};
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
                    let action = classify(link, fi as u32, si, data, relas, ri)?;
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

/// The one decision, shared by scan and write, of what relocation `ri` of section `si`
/// does. `data` is the section's input bytes (relaxations look at the instruction).
pub fn classify(link: &Link<'_>, file: u32, si: usize, data: &[u8], relas: &[Rela], ri: usize) -> Result<Action> {
    let r = &relas[ri];
    let sym = link.symbol_id(file, r.r_sym(E, false) as usize);
    let r_type = r.r_type(E, false);
    let offset = r.r_offset(E);
    let obj = link.res.files[file as usize].object().expect("relocations come from objects");
    let section = obj.section(si);
    let writable = section.sh_flags(E) & SHF_WRITE as u64 != 0;
    let c = link.class(sym);
    let preemptible = c & class::PREEMPTIBLE != 0;
    let ifunc = c & class::IFUNC != 0;
    let is_func = c & class::SHARED_FUNC != 0;
    // An undefined weak symbol left to the loader (`OutputMode::dynamic_undefined_weak`):
    // a reference that cannot be dynamic (no GOT slot, PLT entry or writable word) takes
    // its link-time value, 0, as lld does.
    let undefined_weak = preemptible && c & class::UNDEFINED != 0 && !link.output.shared;
    let absolute = c & class::ABSOLUTE != 0 && (!preemptible || undefined_weak);
    let exe = !link.output.shared;
    let err = |what: &str| -> Error {
        Error::Relocation {
            file: obj.name.clone(),
            section: String::from_utf8_lossy(obj.section_name(si)).into_owned(),
            symbol: demangle(link.symbol_name(sym)),
            what: format!("{} at offset {offset:#x}: {what}", x86_64::reloc_name(r_type)),
        }
    };
    if offset.checked_add(x86_64::reloc_width(r_type) as u64).is_none_or(|end| end > section.sh_size(E)) {
        return Err(err("relocation past the end of the section"));
    }
    use x86_64::DynAbs;
    Ok(match r_type {
        R_X86_64_NONE => Action::None,
        R_X86_64_64 => {
            if ifunc {
                if link.output.pic { Action::Abs { dynamic: Some(DynAbs::Relative) } } else { Action::PltAddress }
            } else if preemptible {
                if writable || link.output.shared {
                    Action::Abs { dynamic: Some(DynAbs::Symbolic) }
                } else if undefined_weak {
                    Action::Abs { dynamic: None }
                } else if !link.output.pic {
                    if is_func { Action::CanonicalPlt } else { Action::Copy }
                } else {
                    return Err(err(
                        "relocation against a shared-library symbol in a read-only section; recompile with -fPIC",
                    ));
                }
            } else if link.output.pic && !absolute {
                if !writable {
                    return Err(err("dynamic relocation in a read-only section; recompile with -fPIC"));
                }
                Action::Abs { dynamic: Some(DynAbs::Relative) }
            } else {
                Action::Abs { dynamic: None }
            }
        }
        R_X86_64_32 | R_X86_64_32S | R_X86_64_16 | R_X86_64_8 => {
            if preemptible && !undefined_weak {
                if link.output.pic {
                    return Err(err("cannot be used against a shared-library symbol; recompile with -fPIC"));
                }
                if is_func { Action::CanonicalPlt } else { Action::Copy }
            } else if ifunc {
                if link.output.pic {
                    return Err(err(
                        "cannot be used against an IFUNC in a position-independent output; recompile with -fPIC",
                    ));
                }
                Action::PltAddress
            } else if link.output.pic && !absolute {
                return Err(err("cannot be used when making a position-independent output; recompile with -fPIC"));
            } else {
                Action::Abs { dynamic: None }
            }
        }
        R_X86_64_PC32 | R_X86_64_PC64 | R_X86_64_PC8 | R_X86_64_PC16 => {
            if ifunc {
                Action::PltAddress
            } else if preemptible && !undefined_weak {
                // Executables, PIEs included (GCC's x86-64 PIE code relies on it), copy
                // shared-library data and give functions a canonical PLT address.
                if is_func {
                    if link.output.shared { Action::Plt } else { Action::CanonicalPlt }
                } else if !link.output.shared && c & class::SHARED != 0 {
                    Action::Copy
                } else {
                    return Err(err("PC-relative reference to a symbol that may be preempted; recompile with -fPIC"));
                }
            } else {
                Action::Pc
            }
        }
        R_X86_64_PLT32 => {
            if preemptible || ifunc {
                Action::Plt
            } else {
                Action::Pc
            }
        }
        R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
            let relaxable = r_type != R_X86_64_GOTPCREL
                && !preemptible
                && !ifunc
                && !(absolute && link.output.pic)
                && c & class::UNDEFINED == 0;
            match relaxable.then(|| x86_64::gotpcrelx_relaxation(data, offset)).flatten() {
                Some(kind) => Action::RelaxGot(kind),
                None => Action::Got,
            }
        }
        R_X86_64_GOT32 | R_X86_64_GOT64 | R_X86_64_GOTPCREL64 => Action::GotAbs,
        R_X86_64_GOTPC32 | R_X86_64_GOTPC64 | R_X86_64_GOTOFF64 => Action::GotBase,
        R_X86_64_PLTOFF64 => {
            if preemptible || ifunc {
                Action::Plt
            } else {
                Action::GotBase
            }
        }
        R_X86_64_SIZE32 | R_X86_64_SIZE64 => Action::Size,
        R_X86_64_TPOFF32 | R_X86_64_TPOFF64 => {
            if link.output.shared {
                return Err(err("local-exec TLS cannot be used in a shared object; recompile with -fPIC"));
            }
            Action::TpOff
        }
        R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 => Action::DtpOff,
        R_X86_64_GOTTPOFF => {
            if exe && !preemptible && x86_64::ie_to_le_ok(data, offset) {
                Action::GotTpOffToLe
            } else {
                Action::GotTpOff
            }
        }
        R_X86_64_TLSGD => {
            if exe {
                let next_ok =
                    relas.get(ri + 1).is_some_and(|n| n.r_offset(E) == offset + 8 || n.r_offset(E) == offset + 9);
                if !next_ok || !x86_64::tls_gd_sequence_ok(data, offset) {
                    return Err(err("unexpected instruction sequence for general-dynamic TLS"));
                }
                if preemptible { Action::TlsGdToIe } else { Action::TlsGdToLe }
            } else {
                Action::TlsGd
            }
        }
        R_X86_64_TLSLD => {
            if exe {
                let next_ok =
                    relas.get(ri + 1).is_some_and(|n| n.r_offset(E) == offset + 5 || n.r_offset(E) == offset + 6);
                if !next_ok || !x86_64::tls_ld_sequence_ok(data, offset) {
                    return Err(err("unexpected instruction sequence for local-dynamic TLS"));
                }
                Action::TlsLdToLe
            } else {
                Action::TlsLd
            }
        }
        R_X86_64_GOTPC32_TLSDESC => {
            if exe {
                if !x86_64::tlsdesc_sequence_ok(data, offset) {
                    return Err(err("unexpected instruction for TLS descriptor"));
                }
                if preemptible { Action::TlsDescToIe } else { Action::TlsDescToLe }
            } else {
                Action::TlsDesc
            }
        }
        R_X86_64_TLSDESC_CALL => {
            if exe {
                Action::TlsDescToLe
            } else {
                Action::None
            }
        }
        _ => return Err(err("unsupported relocation type")),
    })
}
