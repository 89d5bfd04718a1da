//! Layout: which output section every live input section goes to, at which offset; merged
//! strings and constants; kept `.eh_frame` records; the GOT, PLT and dynamic tables sized by
//! the scan; then segments and addresses.
//!
//! Output order is fixed by class (read-only, executable, RELRO, writable, non-allocated) and
//! a rank within the class, and inside an output section by canonical input order (command
//! line, then archive member), so the layout never depends on thread timing. Every table's
//! size is known before addresses are assigned, so the write pass is a single pass.
//!
//! Four steps, each a lap of the pipeline. [`EarlyLayout`] needs no liveness and runs
//! alongside garbage collection: it sorts every input section towards its output section (the
//! parse jobs classified them) and merges the non-allocated merge sections (`.debug_str`,
//! split into pieces by the parse jobs). [`Layout::place_inputs`] drops dead sections, places
//! the live ones and merges the allocated merge sections; [`Layout::plan_tables`] sizes the
//! tables the scan asked for; [`Layout::place_sections`] orders the output sections and gives
//! them offsets and addresses.

use crate::args::{BuildId, Config, SortCommon};
use crate::context::{Def, Link};
use crate::dynamic::DynamicTables;
use crate::eh_frame;
use crate::elf::*;
use crate::error::{Error, Result};
use crate::gdb_index::GdbIndex;
use crate::merge::{MergeMap, MergedSection};
use crate::parallel::split_by_lengths;
use crate::resolve::SymbolId;
use crate::scan::{ScanResult, flags};
use crate::sections::{FileSections, Kept, KeptSection, Prepared, SectionKey};
use crate::synthetic::Synthetic;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Segment classes in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    ReadOnly,
    Exec,
    Relro,
    Writable,
    NonAlloc,
}

pub enum Contents {
    /// Input sections at their offsets (in canonical order).
    Inputs(Vec<InputPart>),
    /// Deduplicated SHF_MERGE pieces: index into `Layout::merged`.
    Merged(usize),
    /// Kept `.eh_frame` records.
    EhFrame(Vec<EhRecord>),
    Synthetic(Synthetic),
}

#[derive(Clone, Copy, Debug)]
pub struct InputPart {
    pub file: u32,
    pub section: u32,
    pub offset: u64,
    pub size: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct EhRecord {
    pub file: u32,
    pub section: u32,
    pub input_offset: u32,
    pub size: u32,
    pub output_offset: u64,
    /// Output offset of the record's CIE, for FDEs.
    pub cie_output_offset: Option<u64>,
    /// For FDEs: which relocation of the input section sets the initial location.
    pub pc_reloc: u32,
}

pub struct OutputSection {
    pub name: Vec<u8>,
    pub sh_type: u32,
    pub flags: u64,
    pub align: u64,
    pub entsize: u64,
    pub class: Class,
    pub rank: u32,
    pub contents: Contents,
    pub size: u64,
    pub addr: u64,
    pub offset: u64,
    /// Index in the section header table.
    pub shndx: u32,
}

impl OutputSection {
    fn new(name: &[u8], sh_type: u32, flags: u64, align: u64, contents: Contents) -> Self {
        let (class, rank) = classify(name, sh_type, flags);
        OutputSection {
            name: name.to_vec(),
            sh_type,
            flags,
            align: align.max(1),
            entsize: 0,
            class,
            rank,
            contents,
            size: 0,
            addr: 0,
            offset: 0,
            shndx: 0,
        }
    }
    pub fn is_tls(&self) -> bool {
        self.flags & SHF_TLS as u64 != 0
    }
    pub fn is_alloc(&self) -> bool {
        self.flags & SHF_ALLOC as u64 != 0
    }
}

/// Whether `--compress-debug-sections` compresses output section `s`: a non-empty `.debug_*`
/// section that is not loaded.
pub fn is_compressed(config: &Config, s: &OutputSection) -> bool {
    config.compress_debug_sections.is_some()
        && !s.is_alloc()
        && s.sh_type != SHT_NOBITS
        && s.size > 0
        && s.name.starts_with(b".debug")
}

/// Where an input section went.
#[derive(Clone, Copy, Debug)]
pub enum Placement {
    None,
    At {
        out: u32,
        offset: u64,
    },
    /// A merge section: offsets map through `Layout::merge_maps`.
    Merged {
        out: u32,
        map: u32,
    },
    /// `.eh_frame`: records `first .. first + count` of the output's kept records (`count`
    /// may be 0: then `first` is where the next input's records start).
    EhFrame {
        out: u32,
        first: u32,
        count: u32,
    },
}

// One per input section: 16 bytes, not 24 (12 MB less at a million sections).
const _: () = assert!(size_of::<Placement>() == 16);

#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub addr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// A GOT slot and what goes in it.
#[derive(Clone, Copy, Debug)]
pub enum GotSlot {
    Address(SymbolId),
    TpOff(SymbolId),
    /// Module id and offset pair for general-dynamic TLS.
    TlsGd(SymbolId),
    TlsDesc(SymbolId),
    /// Module id pair for local-dynamic TLS.
    TlsLd,
}

impl GotSlot {
    pub fn words(&self) -> u64 {
        match self {
            GotSlot::Address(_) | GotSlot::TpOff(_) => 1,
            _ => 2,
        }
    }
}

pub struct Layout<'d> {
    pub sections: Vec<OutputSection>,
    pub placement: Vec<Vec<Placement>>,
    pub merged: Vec<MergedSection<'d>>,
    /// For merge input sections: (piece input starts, piece output offsets).
    pub merge_maps: Vec<MergeMap>,
    pub synthetic: FxHashMap<Synthetic, u32>,
    pub segments: Vec<Segment>,
    pub got: Vec<(GotSlot, u64)>,
    pub got_index: GotIndex,
    /// Lazy PLT entries (imported functions) then direct ones (IFUNCs); index 0 is the header
    /// when lazy entries exist.
    pub plt_lazy: Vec<SymbolId>,
    pub plt_direct: Vec<SymbolId>,
    pub plt_index: FxHashMap<SymbolId, u32>,
    pub commons: FxHashMap<SymbolId, u64>,
    pub copies: FxHashMap<SymbolId, u64>,
    pub dynamic: DynamicTables,
    /// First `.rela.dyn` index of each input section's dynamic relocations.
    pub dynrel_base: Vec<Vec<u32>>,
    pub dynrel_sections_total: u32,
    pub internal_values: Vec<u64>,
    pub tls_start: u64,
    pub tls_end: u64,
    pub file_size: u64,
    pub entry: u64,
    pub symtab: Option<crate::symtab::SymtabPlan<'d>>,
    pub gdb_index: Option<GdbIndex>,
    /// Address of every symbol id's definition, computed once in parallel so that a
    /// relocation costs one load. Three values are markers: [`DEAD`] (a dropped definition:
    /// the many debug references to functions gc took out cost no more than a live one),
    /// [`IN_MERGED`] and [`RESERVED`] (a real address equal to one of the three, which the
    /// reader computes again).
    pub symbol_addresses: Vec<u64>,
}

/// The address of a symbol whose section is not in the output.
pub const DEAD: u64 = u64::MAX;
/// The address of a merge section's section symbol: what it points at depends on the
/// relocation's addend (the piece the addend falls in).
pub const IN_MERGED: u64 = u64::MAX - 1;
/// The address of a symbol whose real address is one of the markers (an absolute symbol of
/// such a value): the reader computes it.
pub const RESERVED: u64 = u64::MAX - 2;

pub const GOT_KIND_ADDR: u8 = 0;
pub const GOT_KIND_TPOFF: u8 = 1;
pub const GOT_KIND_GD: u8 = 2;
pub const GOT_KIND_DESC: u8 = 3;

/// The contents of `.comment`: which linker made the file.
pub const COMMENT: &[u8] = concat!("Linker: rivet ", env!("CARGO_PKG_VERSION"), "\0").as_bytes();

pub fn build_id_len(id: &BuildId) -> usize {
    match id {
        BuildId::Sha1 => 20,
        BuildId::Md5 | BuildId::Uuid => 16,
        BuildId::Fast => 8,
        BuildId::Hex(h) => h.len(),
    }
}

pub fn is_ifunc(link: &Link<'_>, id: SymbolId) -> bool {
    matches!(link.def(id), Def::Section { sym, .. } if sym.st_type() == STT_GNU_IFUNC)
}

pub fn is_ifunc_slot(link: &Link<'_>, slot: &GotSlot) -> bool {
    matches!(slot, GotSlot::Address(id) if is_ifunc(link, *id))
}

/// What the dynamic linker must do for a GOT slot: per word, a relocation type and whether it
/// names the symbol (else it is relative to our image or module).
pub fn got_slot_relocs(link: &Link<'_>, slot: &GotSlot) -> [Option<(u32, bool)>; 2] {
    let dynamic = link.output.dynamic;
    let shared = link.output.shared;
    match *slot {
        GotSlot::Address(id) => {
            if link.is_preemptible(id) {
                [Some((R_X86_64_GLOB_DAT, true)), None]
            } else if is_ifunc(link, id) {
                [dynamic.then_some((R_X86_64_IRELATIVE, false)), None]
            } else if link.output.pic && !matches!(link.def(id), Def::Absolute { .. } | Def::Undefined { .. }) {
                [Some((R_X86_64_RELATIVE, false)), None]
            } else {
                [None, None]
            }
        }
        GotSlot::TpOff(id) => {
            if link.is_preemptible(id) {
                [Some((R_X86_64_TPOFF64, true)), None]
            } else if shared {
                [Some((R_X86_64_TPOFF64, false)), None]
            } else {
                [None, None]
            }
        }
        GotSlot::TlsGd(id) => {
            if link.is_preemptible(id) {
                [Some((R_X86_64_DTPMOD64, true)), Some((R_X86_64_DTPOFF64, true))]
            } else if shared {
                [Some((R_X86_64_DTPMOD64, false)), None]
            } else {
                [None, None]
            }
        }
        GotSlot::TlsDesc(id) => [Some((R_X86_64_TLSDESC, link.is_preemptible(id))), None],
        GotSlot::TlsLd => [shared.then_some((R_X86_64_DTPMOD64, false)), None],
    }
}

/// The address a symbol id stands for in the output (0 for symbols in dropped sections).
pub fn symbol_address(link: &Link<'_>, layout: &Layout, id: SymbolId) -> u64 {
    match layout.symbol_addresses.get(id as usize) {
        Some(&DEAD) => 0,
        Some(&a) if a < RESERVED => a,
        _ => compute_symbol_address(link, layout, id).unwrap_or(0),
    }
}

/// The address of symbol `id`'s definition; `None` if it is in a section not in the output.
pub fn compute_symbol_address(link: &Link<'_>, layout: &Layout, id: SymbolId) -> Option<u64> {
    let def_id = link.res.resolved[id as usize];
    Some(match link.def(id) {
        Def::Section { file, section, value, sym } => {
            if sym.st_type() == STT_GNU_IFUNC
                && let Some(plt) = layout.plt_addr(def_id)
            {
                return Some(plt);
            }
            layout.input_address(file, section, value)?
        }
        Def::Absolute { value, .. } => value,
        Def::Common { id, .. } => layout.addr_of(Synthetic::Commons) + layout.commons.get(&id).copied().unwrap_or(0),
        Def::Shared { .. } => {
            if let Some(off) = layout.copies.get(&def_id) {
                layout.addr_of(Synthetic::CopyRel) + off
            } else {
                layout.plt_addr(def_id).unwrap_or(0)
            }
        }
        Def::Internal(i) => layout.internal_values.get(i as usize).copied().unwrap_or(0),
        Def::Undefined { .. } => 0,
    })
}

/// Names the linker defines when they are referenced and not defined by an input.
pub fn is_linker_defined(name: &[u8]) -> bool {
    const NAMES: &[&[u8]] = &[
        b"_GLOBAL_OFFSET_TABLE_",
        b"_DYNAMIC",
        b"__ehdr_start",
        b"__executable_start",
        b"_etext",
        b"etext",
        b"__etext",
        b"_edata",
        b"edata",
        b"_end",
        b"end",
        b"__bss_start",
        b"__init_array_start",
        b"__init_array_end",
        b"__fini_array_start",
        b"__fini_array_end",
        b"__preinit_array_start",
        b"__preinit_array_end",
        b"__rela_iplt_start",
        b"__rela_iplt_end",
        b"__GNU_EH_FRAME_HDR",
        b"__dso_handle",
        b"_TLS_MODULE_BASE_",
    ];
    NAMES.contains(&name)
        || name.strip_prefix(b"__start_").is_some_and(is_c_identifier)
        || name.strip_prefix(b"__stop_").is_some_and(is_c_identifier)
}

/// The debug sections whose readers find what they hold by its offset alone, never by
/// walking the whole section: a unit's line table, location and range lists, abbreviations.
/// An in-place relink may write a unit's contribution anew at their end (`patch`).
pub const DEBUG_FOUND_BY_OFFSET: [&[u8]; 6] =
    [b".debug_line", b".debug_loc", b".debug_ranges", b".debug_loclists", b".debug_rnglists", b".debug_abbrev"];

/// Whether output section `name` is one an in-place relink grows where it is when a rebuilt
/// unit's debug information grows (`patch`, `overflow`): those of [`DEBUG_FOUND_BY_OFFSET`],
/// the debug strings, `.debug_info` and `.debug_aranges`; or when an edit adds a function:
/// `.symtab` and `.strtab`. Each keeps room after it in the file
/// ([`growth_room`]); `.debug_info`, the biggest, is last, its room past the file's end.
pub fn grown_by_relinks(name: &[u8]) -> bool {
    matches!(name, b".debug_info" | b".debug_aranges" | b".debug_str" | b".debug_line_str" | b".symtab" | b".strtab")
        || DEBUG_FOUND_BY_OFFSET.contains(&name)
}

/// The empty entries (`R_X86_64_NONE`, which the loader skips) that end `.rela.dyn` in a
/// position-independent executable, within `DT_RELASZ`: an in-place relink that adds data
/// holding an address (a Rust panic location, which points at its file's name), or fills a
/// slot of [`got_room`], turns one into the relative relocation the address needs (`patch`).
/// A shared object is never patched.
///
/// [`RELATIVE_ROOM`] entries (3 KiB of file), and one more per slot of the GOT's room: as
/// many addresses added by relinks before a full link is needed for more; a code edit adds
/// one or two. Every such link lays them out, so that an incremental link's output is byte
/// for byte a plain link's. The relink finds them by their zeros.
pub fn relative_room(config: &crate::args::Config, got_slots: u64) -> u64 {
    match config.output_kind {
        crate::args::OutputKind::Pie => RELATIVE_ROOM + got_room(config, got_slots),
        _ => 0,
    }
}

/// The entries of [`relative_room`] that are not for the GOT's room.
pub const RELATIVE_ROOM: u64 = 128;

/// The empty slots (zeros, which no dynamic relocation fills) that end `.got` in an
/// executable whose GOT has `got_slots` slots of its own: an in-place relink whose new code
/// calls or loads through the GOT a symbol no code did (a call built with `-fno-plt`,
/// Cranelift's calls into another unit, and its loads of its unit's data, which take a slot
/// for each constant whose place changed) fills one with the symbol's address (and,
/// position-independent, a relative relocation from [`relative_room`]) (`patch`). As many
/// such references as [`GOT_ROOM`] and a 64th of the GOT's own slots (the room of a debug
/// ripgrep built by Cranelift, whose GOT has 38,825 slots of its own, is 670 slots, 5 KiB,
/// with 16 KiB of relative relocations; a helper added there and taken out again filled the
/// 64 slots of the earlier, fixed room in two relinks), before a full link is
/// needed for more; every executable with a `.got` lays them out, so that an incremental
/// link's output is byte for byte a plain link's.
pub fn got_room(config: &crate::args::Config, got_slots: u64) -> u64 {
    use crate::args::OutputKind;
    match config.output_kind {
        OutputKind::Pie | OutputKind::Executable | OutputKind::StaticExecutable => GOT_ROOM + got_slots / 64,
        _ => 0,
    }
}

/// The slots of [`got_room`] in a `.got` of `total` slots, room included (the relink reads the
/// output's): the inverse of `slots + got_room(slots)`, which grows with `slots`, so that
/// there is one.
pub fn got_room_within(total: u64) -> u64 {
    let own = (total.saturating_sub(GOT_ROOM) * 64 / 65).saturating_sub(2);
    (own..=own + 4).find(|&own| own + GOT_ROOM + own / 64 == total).map_or(GOT_ROOM.min(total), |own| total - own)
}

/// The least slots of [`got_room`].
pub const GOT_ROOM: u64 = 64;

/// The room an executable's unwind information keeps for functions an in-place relink adds
/// (`patch`): bytes of zeros after the terminator that ends `.eh_frame`, where the records of
/// new functions go (so that unwinders and debuggers that walk `.eh_frame` find them too),
/// and empty entries after `.eh_frame_hdr`'s table, which its count leaves out (the loader's
/// unwinder searches the table). 4 KiB of records (in a ripgrep debug unit, 24 to 44 bytes each)
/// and 64 entries (512 bytes): as many functions added before a full link is needed for
/// more. Every such link lays them out, so that an incremental link's output is byte for
/// byte a plain link's.
pub fn unwind_room(config: &crate::args::Config) -> (u64, u64) {
    use crate::args::OutputKind;
    match config.output_kind {
        OutputKind::Pie | OutputKind::Executable | OutputKind::StaticExecutable => {
            (UNWIND_ROOM_BYTES, UNWIND_ROOM_ENTRIES)
        }
        _ => (0, 0),
    }
}

/// The bytes of `.eh_frame`'s [`unwind_room`].
pub const UNWIND_ROOM_BYTES: u64 = 4096;

/// The entries of `.eh_frame_hdr`'s [`unwind_room`].
pub const UNWIND_ROOM_ENTRIES: u64 = 64;

/// The room a section of [`grown_by_relinks`] keeps after it: an eighth of its size, a page at
/// least. A hole in the file (no disk blocks, no bytes written) until a relink uses it.
///
/// The policy, by measurement (typst-cli's debug link, a real code edit relinked in place):
/// without room every section but the last is copied to the end of the file the first time
/// it grows after a full link, 23 MB of `.debug_line` (17-32 ms of a 25-40 ms relink), and
/// 118 MB of `.debug_str` once an edit adds a string; with it, the relink writes what
/// changed. The cost is the file's apparent size, an eighth of its debug sections (every
/// link with debug information lays out the same room, so that an incremental link's output
/// is byte for byte a plain link's).
pub fn growth_room(size: u64) -> u64 {
    (size / 8).max(PAGE_SIZE)
}

fn classify(name: &[u8], sh_type: u32, flags: u64) -> (Class, u32) {
    let alloc = flags & SHF_ALLOC as u64 != 0;
    let write = flags & SHF_WRITE as u64 != 0;
    let exec = flags & SHF_EXECINSTR as u64 != 0;
    let tls = flags & SHF_TLS as u64 != 0;
    let nobits = sh_type == SHT_NOBITS;
    if !alloc {
        let rank = match name {
            b".comment" => 0,
            b".symtab" => 100,
            b".strtab" => 101,
            b".shstrtab" => 102,
            // Last, the biggest section an edit makes grow: an in-place relink grows it where
            // it is (`overflow`), instead of copying it to the end of the file.
            b".debug_info" => 103,
            _ if name.starts_with(b".debug") => 10,
            _ => 20,
        };
        return (Class::NonAlloc, rank);
    }
    if exec {
        let rank = match name {
            b".init" => 0,
            b".plt" => 1,
            b".text" => 2,
            b".fini" => 4,
            _ => 3,
        };
        return (Class::Exec, rank);
    }
    if !write {
        let rank = match name {
            b".interp" => 0,
            _ if sh_type == SHT_NOTE => 1,
            b".hash" => 2,
            b".gnu.hash" => 3,
            b".dynsym" => 4,
            b".dynstr" => 5,
            b".gnu.version" => 6,
            b".gnu.version_d" => 7,
            b".gnu.version_r" => 8,
            b".rela.dyn" => 9,
            b".rela.plt" => 10,
            b".rodata" => 20,
            b".eh_frame_hdr" => 30,
            b".eh_frame" => 31,
            b".gcc_except_table" => 32,
            _ => 21,
        };
        return (Class::ReadOnly, rank);
    }
    let relro_rank = match name {
        _ if tls && !nobits => Some(0),
        _ if tls => Some(1),
        b".preinit_array" => Some(2),
        b".init_array" => Some(3),
        b".fini_array" => Some(4),
        b".data.rel.ro" => Some(5),
        b".dynamic" => Some(7),
        b".got" => Some(8),
        _ if matches!(sh_type, SHT_INIT_ARRAY | SHT_FINI_ARRAY | SHT_PREINIT_ARRAY) => Some(6),
        _ => None,
    };
    if let Some(rank) = relro_rank {
        return (Class::Relro, rank);
    }
    let rank = match name {
        b".got.plt" => 0,
        b".data" => 1,
        _ if nobits && name == b".bss" => 11,
        _ if nobits => 12,
        _ => 2,
    };
    (Class::Writable, rank)
}

impl Layout<'_> {
    /// Layout's first half, which needs no relocation scan: input sections placed in their
    /// output sections, allocated merge sections merged, `.eh_frame` records chosen, the
    /// linker's own sections added. It runs alongside the scan.
    pub fn place_inputs<'l, 'd>(
        link: &'l Link<'d>,
        early: EarlyLayout<'d>,
        folded: &crate::icf::Folded,
    ) -> Result<PlacedInputs<'l, 'd>> {
        let mut b = Builder::new(link, early);
        b.assign_input_sections()?;
        // A folded section is where the section kept in its place is.
        for &((f, s), (kf, ks)) in folded {
            b.placement[f as usize][s as usize] = b.placement[kf as usize][ks as usize];
        }
        b.merge_sections()?;
        b.layout_eh_frame()?;
        b.add_synthetic_sections()?;
        Ok(PlacedInputs(b))
    }

    /// Layout's second half, first step: the tables the scan asked for (GOT, PLT, dynamic
    /// tables), sized, beside the `.symtab` plan.
    pub fn plan_tables<'l, 'd>(
        placed: PlacedInputs<'l, 'd>,
        scan: &ScanResult,
        gdb_index: Option<GdbIndex>,
    ) -> Result<PlannedTables<'l, 'd>> {
        placed.0.plan_tables(scan, gdb_index)
    }

    /// Layout's second half, second step: section order, file offsets and addresses, and the
    /// linker-defined symbols' values.
    /// Places the sections that `--compress-debug-sections` compressed, now `sizes` long
    /// (header included), after every other section, and marks them SHF_COMPRESSED.
    pub fn place_compressed(&mut self, sizes: &[(usize, u64)]) {
        let mut off = self
            .sections
            .iter()
            .enumerate()
            .filter(|(i, s)| s.sh_type != SHT_NOBITS && !sizes.iter().any(|(c, _)| c == i))
            .map(|(_, s)| s.offset + s.size)
            .max()
            .unwrap_or(0);
        for &(i, size) in sizes {
            let s = &mut self.sections[i];
            // The header's fields are 8-byte words.
            s.align = 8;
            off = align_up(off, s.align);
            (s.offset, s.size) = (off, size);
            s.flags |= SHF_COMPRESSED as u64;
            off += size;
        }
        self.file_size = align_up(off, 8) + 64 * (self.sections.len() as u64 + 1);
    }

    pub fn place_sections<'d>(planned: PlannedTables<'_, 'd>) -> Result<Layout<'d>> {
        planned.builder.finish(planned.tables, planned.symtab, planned.gdb_index)
    }

    pub fn section(&self, s: Synthetic) -> Option<&OutputSection> {
        self.synthetic.get(&s).map(|&i| &self.sections[i as usize])
    }

    pub fn addr_of(&self, s: Synthetic) -> u64 {
        self.section(s).map_or(0, |o| o.addr)
    }

    /// Output address of byte `offset` of input section (`file`, `section`); `None` if the
    /// section is not in the output.
    pub fn input_address(&self, file: u32, section: u32, offset: u64) -> Option<u64> {
        match self.placement.get(file as usize)?.get(section as usize)? {
            Placement::None => None,
            Placement::At { out, offset: base } => Some(self.sections[*out as usize].addr + base + offset),
            Placement::Merged { out, map } => {
                Some(self.sections[*out as usize].addr + self.merge_maps[*map as usize].output_offset(offset)?)
            }
            Placement::EhFrame { out, first, count } => {
                let section = &self.sections[*out as usize];
                let Contents::EhFrame(all) = &section.contents else { return None };
                let records = &all[*first as usize..(*first + *count) as usize];
                let i = records.partition_point(|r| r.input_offset as u64 <= offset);
                if let Some(r) = i.checked_sub(1).map(|k| &records[k])
                    && offset < r.input_offset as u64 + r.size as u64
                {
                    return Some(section.addr + r.output_offset + (offset - r.input_offset as u64));
                }
                // Between or after kept records (labels like crtbegin's __EH_FRAME_BEGIN__):
                // the next kept record, this input's or a later one's, or the end of the
                // records (before the terminator).
                let next = all.get(*first as usize + i).map_or(section.size - 4, |r| r.output_offset);
                Some(section.addr + next)
            }
        }
    }

    pub fn got_slot_addr(&self, sym: SymbolId, kind: u8) -> Option<u64> {
        self.got_index.get(sym, kind).map(|off| self.addr_of(Synthetic::Got) + off)
    }

    pub fn plt_addr(&self, sym: SymbolId) -> Option<u64> {
        let i = *self.plt_index.get(&sym)? as u64;
        Some(self.addr_of(Synthetic::Plt) + 16 * i)
    }

    /// `.got.plt` slot of a lazy PLT entry (`i` counts from the first entry after the header).
    pub fn got_plt_slot(&self, lazy_index: u64) -> u64 {
        self.addr_of(Synthetic::GotPlt) + 8 * (3 + lazy_index)
    }

    pub fn got_base(&self) -> u64 {
        self.section(Synthetic::GotPlt).or(self.section(Synthetic::Got)).map_or(0, |s| s.addr)
    }
}

/// The records of one input `.eh_frame` that stay: every CIE, and the FDEs of live
/// functions; offsets count from the input's start in the output. Returns them and their size.
fn kept_eh_records(link: &Link<'_>, fi: u32, si: u32) -> Result<(Vec<EhRecord>, u64)> {
    let obj = link.res.files[fi as usize].object().expect("object");
    let data = obj.section_data(si as usize)?;
    let split = eh_frame::split(data).ok_or_else(|| Error::bad(&obj.name, "malformed .eh_frame section"))?;
    let relas = obj.relocations(si as usize);
    // Assemblers emit relocations in offset order; binary search when they are.
    let sorted = relas.is_sorted_by_key(|r| r.r_offset(E));
    let mut records = Vec::with_capacity(split.len());
    let mut cie_out: FxHashMap<u32, u64> = FxHashMap::default();
    let mut offset = 0u64;
    for rec in split {
        if rec.size == 4 {
            continue; // terminator: one is written at the very end
        }
        let mut pc_reloc = 0;
        let cie_output_offset = match rec.cie {
            None => {
                cie_out.insert(rec.offset, offset);
                None
            }
            Some(cie) => {
                let pc_begin = rec.offset as u64 + 8;
                let at = if sorted {
                    Some(relas.partition_point(|r| r.r_offset(E) < pc_begin)).filter(|&i| i < relas.len())
                } else {
                    relas.iter().position(|r| r.r_offset(E) == pc_begin)
                };
                let Some(at) = at.filter(|&i| relas[i].r_offset(E) == pc_begin) else { continue };
                pc_reloc = at as u32;
                let r = &relas[at];
                let live = link.reloc_target_section(fi, r.r_sym(E, false) as usize).is_some_and(|(f, s)| {
                    link.live[f as usize][s as usize] && !link.res.files[f as usize].discarded[s as usize]
                });
                if !live {
                    continue;
                }
                Some(*cie_out.get(&cie).ok_or_else(|| Error::bad(&obj.name, "FDE points to no CIE in .eh_frame"))?)
            }
        };
        records.push(EhRecord {
            file: fi,
            section: si,
            input_offset: rec.offset,
            size: rec.size,
            output_offset: offset,
            cie_output_offset,
            pc_reloc,
        });
        offset += rec.size as u64;
    }
    Ok((records, offset))
}

/// What the GOT, PLT and dynamic-table step of layout hands on to [`Layout`].
struct Tables {
    commons: FxHashMap<SymbolId, u64>,
    copies: FxHashMap<SymbolId, u64>,
    got: Vec<(GotSlot, u64)>,
    got_index: GotIndex,
    plt_lazy: Vec<SymbolId>,
    plt_direct: Vec<SymbolId>,
    plt_index: FxHashMap<SymbolId, u32>,
    dynamic: DynamicTables,
    dynrel_base: Vec<Vec<u32>>,
    dynrel_sections_total: u32,
}

/// Where the GOT slots are (offsets in the GOT), by symbol and kind (`GOT_KIND_*`). Address
/// slots, nearly all of them, are in a table indexed by symbol id: the write pass looks one up
/// for every GOT relocation, and a hash map of a million (the synthetic link's) missed the
/// cache on each, an eighth of the link's samples. The TLS kinds are in a map.
pub struct GotIndex {
    /// The slot's offset divided by 8, or `u32::MAX`.
    address: Vec<u32>,
    others: FxHashMap<(SymbolId, u8), u64>,
}

impl GotIndex {
    fn new(symbols: usize) -> GotIndex {
        GotIndex { address: vec![u32::MAX; symbols], others: FxHashMap::default() }
    }

    fn insert(&mut self, (sym, kind): (SymbolId, u8), offset: u64) {
        let slot = (kind == GOT_KIND_ADDR).then(|| u32::try_from(offset / 8).ok()).flatten();
        match (slot.filter(|&s| s != u32::MAX), self.address.get_mut(sym as usize)) {
            (Some(slot), Some(entry)) => *entry = slot,
            _ => {
                self.others.insert((sym, kind), offset);
            }
        }
    }

    /// The offset in the GOT of `sym`'s slot of `kind`, if it has one.
    pub fn get(&self, sym: SymbolId, kind: u8) -> Option<u64> {
        let address = self.address.get(sym as usize).filter(|_| kind == GOT_KIND_ADDR);
        match address.copied().filter(|&s| s != u32::MAX) {
            Some(slot) => Some(8 * u64::from(slot)),
            None => self.others.get(&(sym, kind)).copied(),
        }
    }
}

/// GOT slots and PLT entries, in symbol id order (deterministic).
struct GotPlt {
    got: Vec<(GotSlot, u64)>,
    got_index: GotIndex,
    got_size: u64,
    /// Imported functions, bound lazily through `.got.plt`.
    plt_lazy: Vec<SymbolId>,
    /// IFUNCs and, in static links, everything else.
    plt_direct: Vec<SymbolId>,
    plt_index: FxHashMap<SymbolId, u32>,
}

impl GotPlt {
    fn plan(link: &Link<'_>, scan: &ScanResult, marked: &[(SymbolId, u16)]) -> Self {
        let mut plan = GotPlt {
            got: Vec::new(),
            got_index: GotIndex::new(link.res.resolved.len()),
            got_size: 0,
            plt_lazy: Vec::new(),
            plt_direct: Vec::new(),
            plt_index: FxHashMap::default(),
        };
        if scan.tls_ld {
            plan.push_got(GotSlot::TlsLd, (SymbolId::MAX, GOT_KIND_GD));
        }
        for &(id, f) in marked {
            let ifunc = is_ifunc(link, id);
            if f & flags::GOT != 0 || (ifunc && f & flags::PLT != 0) {
                plan.push_got(GotSlot::Address(id), (id, GOT_KIND_ADDR));
            }
            if f & flags::GOT_TPOFF != 0 {
                plan.push_got(GotSlot::TpOff(id), (id, GOT_KIND_TPOFF));
            }
            if f & flags::TLS_GD != 0 {
                plan.push_got(GotSlot::TlsGd(id), (id, GOT_KIND_GD));
            }
            if f & flags::TLS_DESC != 0 {
                plan.push_got(GotSlot::TlsDesc(id), (id, GOT_KIND_DESC));
            }
            if f & flags::PLT != 0 {
                if ifunc || !link.output.dynamic {
                    plan.plt_direct.push(id);
                } else {
                    plan.plt_lazy.push(id);
                }
            }
        }
        let header = plan.plt_header() as usize;
        for (i, &id) in plan.plt_lazy.iter().chain(&plan.plt_direct).enumerate() {
            plan.plt_index.insert(id, (header + i) as u32);
        }
        plan
    }

    /// Appends `slot`, found in `got_index` under `key` (symbol, GOT_KIND_*).
    fn push_got(&mut self, slot: GotSlot, key: (SymbolId, u8)) {
        self.got_index.insert(key, self.got_size);
        self.got.push((slot, self.got_size));
        self.got_size += 8 * slot.words();
    }

    /// Entries before the first symbol's: the lazy-binding header, when there are lazy ones.
    fn plt_header(&self) -> u64 {
        if self.plt_lazy.is_empty() { 0 } else { 1 }
    }
}

/// The kept FDEs, in output order, which `.eh_frame_hdr` indexes: read from the `.eh_frame`
/// records where they are needed, never copied (48 bytes each: a million in a link of a
/// million functions).
pub fn eh_fdes(sections: &[OutputSection]) -> impl Iterator<Item = &EhRecord> {
    sections
        .iter()
        .filter_map(|s| match &s.contents {
            Contents::EhFrame(records) => Some(records),
            _ => None,
        })
        .flatten()
        .filter(|r| r.cie_output_offset.is_some())
}

/// Symbols the scan marked, in id order, with their flags.
fn marked_symbols(scan: &ScanResult) -> Vec<(SymbolId, u16)> {
    scan.flags.par_iter().enumerate().filter(|(_, f)| **f != 0).map(|(i, f)| (i as SymbolId, *f)).collect()
}

/// The first `.rela.dyn` index of each input section's dynamic relocations, in the order the
/// sections are placed, and the total the scan counted. A run of consecutive input sections of
/// one output section (a chunk of the write pass) thus has one run of entries, which it writes
/// itself as it relocates, never collected whole (24 MB at a million functions). Sections that
/// are not placed as input sections (`.eh_frame` records, merged pieces) apply no dynamic
/// relocations: what the scan counted for them is left empty after all the others.
fn dynrel_bases(sections: &[OutputSection], scan: &ScanResult) -> (Vec<Vec<u32>>, u32) {
    let mut bases: Vec<Vec<u32>> = scan.dynrel_counts.iter().map(|c| vec![0; c.len()]).collect();
    let mut next = 0u32;
    for section in sections {
        let Contents::Inputs(parts) = &section.contents else { continue };
        for p in parts {
            let count = scan.dynrel_counts[p.file as usize].get(p.section as usize).copied().unwrap_or(0);
            if count > 0 {
                bases[p.file as usize][p.section as usize] = next;
                next += count;
            }
        }
    }
    let total = scan.dynrel_counts.iter().flatten().sum();
    (bases, total)
}

/// The part of layout that needs no liveness: every input section sorted towards its output
/// section, and the non-allocated merge sections (`.debug_str`, the bulk of string merging
/// in a debug build) merged. It runs alongside garbage collection; [`Layout::place_inputs`] goes
/// on from it.
pub struct EarlyLayout<'d> {
    files: Vec<FileSections<'d>>,
    /// Per non-allocated merge key: its inputs in canonical order, the merged section and
    /// each input's map.
    merged: Vec<(SectionKey<'d>, Vec<(u32, u32)>, MergedSection<'d>, Vec<MergeMap>)>,
}

impl<'d> EarlyLayout<'d> {
    /// `prepared[file]`: what the file's parse job prepared (see [`crate::sections`]).
    pub fn new(link: &Link<'d>, mut prepared: Vec<Prepared<'d>>) -> Result<Self> {
        let files: Vec<FileSections<'d>> = prepared
            .par_iter_mut()
            .zip(&link.res.files)
            .map(|(p, file)| {
                let mut sections = std::mem::take(&mut p.sections);
                if file.discarded.contains(&true) {
                    sections.kept.retain(|k| !file.discarded[k.index as usize]);
                }
                sections
            })
            .collect();
        let mut groups: Vec<(SectionKey<'d>, Vec<(u32, u32)>)> = Vec::new();
        for (fi, file) in files.iter().enumerate() {
            for k in &file.kept {
                let Some(key) = k.merged_early() else { continue };
                let key = file.keys[key as usize];
                match groups.iter_mut().find(|(g, _)| *g == key) {
                    Some((_, inputs)) => inputs.push((fi as u32, k.index)),
                    None => groups.push((key, vec![(fi as u32, k.index)])),
                }
            }
        }
        // Each input with the pieces its parse job split, which the merge frees as it goes.
        let groups: Vec<_> = groups
            .into_iter()
            .map(|(key, mut inputs)| {
                inputs.sort_unstable_by_key(|&(f, s)| (link.res.files[f as usize].order, s));
                let splits = inputs.iter().map(|&(f, s)| prepared[f as usize].take_split(s)).collect();
                (key, inputs, splits)
            })
            .collect();
        let merged = groups
            .into_par_iter()
            .map(|(key, inputs, splits)| {
                let strings = key.flags & SHF_STRINGS as u64 != 0;
                let (result, maps) = crate::merge::merge(link, &inputs, strings, key.entsize, splits)?;
                Ok((key, inputs, result, maps))
            })
            .collect::<Result<_>>()?;
        Ok(EarlyLayout { files, merged })
    }
}

/// The input sections of one output section as they are assigned, in canonical order, each
/// at its offset: a section's place is known as it comes (a million of them were once listed
/// first and placed after, in 32 MB more). Once one has an `.init_array`-style priority other
/// than 0, the priorities are kept too, and the sections are sorted by them and placed again.
#[derive(Default)]
struct PendingParts {
    parts: Vec<InputPart>,
    size: u64,
    priorities: Option<Vec<u32>>,
}

impl PendingParts {
    fn push(&mut self, (file, section): (u32, u32), align: u64, size: u64, priority: u32) {
        if priority != 0 && self.priorities.is_none() {
            self.priorities = Some(vec![0; self.parts.len()]);
        }
        if let Some(priorities) = &mut self.priorities {
            priorities.push(priority);
        }
        let offset = align_up(self.size, align);
        self.parts.push(InputPart { file, section, offset, size });
        self.size = offset + size;
    }

    /// The parts in their final order (by priority, equal ones in canonical order) at their
    /// offsets, and the output section's size.
    fn finish(self, link: &Link<'_>) -> (Vec<InputPart>, u64) {
        let Some(priorities) = self.priorities.filter(|p| !p.is_sorted()) else { return (self.parts, self.size) };
        let mut sorted: Vec<(u32, InputPart)> = priorities.into_iter().zip(self.parts).collect();
        sorted.sort_by_key(|&(priority, _)| priority);
        let mut offset = 0;
        let parts = sorted
            .into_iter()
            .map(|(_, p)| {
                let align = link.res.files[p.file as usize].object().map_or(1, |o| o.section_align(p.section as usize));
                offset = align_up(offset, align);
                let placed = InputPart { offset, ..p };
                offset += p.size;
                placed
            })
            .collect();
        (parts, offset)
    }
}

/// See [`Layout::place_inputs`].
pub struct PlacedInputs<'l, 'd>(Builder<'l, 'd>);

/// See [`Layout::plan_tables`].
pub struct PlannedTables<'l, 'd> {
    builder: Builder<'l, 'd>,
    tables: Tables,
    symtab: Option<crate::symtab::SymtabPlan<'d>>,
    gdb_index: Option<GdbIndex>,
}

struct Builder<'l, 'd> {
    link: &'l Link<'d>,
    sections: Vec<OutputSection>,
    by_key: FxHashMap<SectionKey<'d>, u32>,
    /// Inputs per output section, placed as they are assigned.
    pending: Vec<PendingParts>,
    placement: Vec<Vec<Placement>>,
    merge_inputs: Vec<Vec<(u32, u32)>>,
    merged: Vec<MergedSection<'d>>,
    merge_maps: Vec<MergeMap>,
    synthetic: FxHashMap<Synthetic, u32>,
    /// (file, section) of every live `.eh_frame` input, in canonical order.
    eh_inputs: Vec<(u32, u32)>,
    early: EarlyLayout<'d>,
}

impl<'l, 'd> Builder<'l, 'd> {
    fn new(link: &'l Link<'d>, early: EarlyLayout<'d>) -> Self {
        let placement = link
            .res
            .files
            .iter()
            .map(|f| f.object().map(|o| vec![Placement::None; o.sections.len()]).unwrap_or_default())
            .collect();
        Builder {
            link,
            sections: Vec::new(),
            by_key: FxHashMap::default(),
            pending: Vec::new(),
            placement,
            merge_inputs: Vec::new(),
            merged: Vec::new(),
            merge_maps: Vec::new(),
            synthetic: FxHashMap::default(),
            eh_inputs: Vec::new(),
            early,
        }
    }

    fn output_for(&mut self, key: SectionKey<'d>, contents: impl FnOnce() -> Contents) -> u32 {
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        let i = self.sections.len() as u32;
        let mut s = OutputSection::new(key.name, key.sh_type, key.flags, 1, contents());
        s.entsize = key.entsize;
        self.sections.push(s);
        self.pending.push(PendingParts::default());
        self.by_key.insert(key, i);
        i
    }

    /// The output section of `key`, made (with its own merge input list if it merges) if new.
    fn output_of_key(&mut self, key: SectionKey<'d>) -> u32 {
        if !key.merge() {
            return self.output_for(key, || Contents::Inputs(Vec::new()));
        }
        let next = self.merge_inputs.len();
        let out = self.output_for(key, || Contents::Merged(next));
        if let Contents::Merged(m) = self.sections[out as usize].contents
            && m == self.merge_inputs.len()
        {
            self.merge_inputs.push(Vec::new());
        }
        out
    }

    fn assign_input_sections(&mut self) -> Result<()> {
        let link = self.link;
        let files = std::mem::take(&mut self.early.files);
        let is_live = |fi: usize, ks: &KeptSection| !ks.live_only || link.live[fi][ks.index as usize];
        // Output sections in order of first (live) appearance, in file id order; each file's
        // output per key.
        let outs: Vec<Vec<Option<u32>>> = files
            .iter()
            .enumerate()
            .map(|(fi, file)| {
                let mut outs = vec![None; file.keys.len()];
                for ks in file.kept.iter().filter(|ks| is_live(fi, ks)) {
                    if let Kept::Merge(k) | Kept::Inputs(k, _) = ks.kept {
                        outs[k as usize].get_or_insert_with(|| self.output_of_key(file.keys[k as usize]));
                    }
                }
                outs
            })
            .collect();
        // Each output section's list is sized first: grown by doubling, the lists of a million
        // sections were copied into fresh memory (zeroing it was 3% of such a link's samples).
        let mut counts = vec![0; self.pending.len()];
        for (fi, file) in files.iter().enumerate() {
            for ks in file.kept.iter().filter(|ks| is_live(fi, ks)) {
                if let Kept::Inputs(k, _) = ks.kept {
                    counts[outs[fi][k as usize].expect("output made above") as usize] += 1;
                }
            }
        }
        for (pending, count) in self.pending.iter_mut().zip(counts) {
            pending.parts.reserve_exact(count);
        }
        // Inputs in canonical order: files by (command line, member), sections by index, so
        // that only `.init_array`-style priorities are left to sort.
        let mut canonical: Vec<usize> = (0..files.len()).collect();
        canonical.sort_by_key(|&fi| link.res.files[fi].order);
        let mut eh_inputs: Vec<(u32, u32)> = Vec::new();
        for fi in canonical {
            let file = &files[fi];
            for ks in file.kept.iter().filter(|ks| is_live(fi, ks)) {
                let si = ks.index;
                let (Kept::Merge(k) | Kept::Inputs(k, _)) = ks.kept else {
                    eh_inputs.push((fi as u32, si));
                    continue;
                };
                let out = outs[fi][k as usize].expect("output made above");
                let sec = &mut self.sections[out as usize];
                sec.align = sec.align.max(ks.align);
                match (ks.kept, &sec.contents) {
                    (Kept::Merge(_), &Contents::Merged(m)) => self.merge_inputs[m].push((fi as u32, si)),
                    (Kept::Inputs(_, priority), _) => {
                        self.pending[out as usize].push((fi as u32, si), ks.align, ks.size, priority)
                    }
                    _ => unreachable!("merge keys make merged sections"),
                }
            }
        }
        for (out, pending) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            if pending.parts.is_empty() {
                continue;
            }
            let (parts, size) = pending.finish(link);
            let out = out as u32;
            for p in &parts {
                self.placement[p.file as usize][p.section as usize] = Placement::At { out, offset: p.offset };
            }
            self.sections[out as usize].size = size;
            self.sections[out as usize].contents = Contents::Inputs(parts);
        }
        self.eh_inputs = eh_inputs;
        Ok(())
    }

    fn merge_sections(&mut self) -> Result<()> {
        let link = self.link;
        let (mut merged, mut maps) = (Vec::new(), Vec::new());
        let groups = std::mem::take(&mut self.merge_inputs);
        for out in 0..self.sections.len() {
            let Contents::Merged(m) = self.sections[out].contents else { continue };
            let section = &self.sections[out];
            let key = SectionKey::new(&section.name, section.sh_type, section.flags, section.entsize);
            let (inputs, result, input_maps) = match self.early.merged.iter().position(|e| e.0 == key) {
                Some(i) => {
                    let (_, inputs, result, maps) = self.early.merged.swap_remove(i);
                    (inputs, result, maps)
                }
                None => {
                    let mut inputs = groups[m].clone();
                    inputs.sort_unstable_by_key(|&(f, s)| (link.res.files[f as usize].order, s));
                    let strings = section.flags & SHF_STRINGS as u64 != 0;
                    let (result, maps) = crate::merge::merge(link, &inputs, strings, section.entsize, Vec::new())?;
                    (inputs, result, maps)
                }
            };
            for ((fi, si), map) in inputs.iter().zip(input_maps) {
                self.placement[*fi as usize][*si as usize] =
                    Placement::Merged { out: out as u32, map: maps.len() as u32 };
                maps.push(map);
            }
            self.sections[out].size = result.size();
            merged.push(result);
            self.sections[out].contents = Contents::Merged(merged.len() - 1);
        }
        self.merged = merged;
        self.merge_maps = maps;
        Ok(())
    }
}

impl<'l, 'd> Builder<'l, 'd> {
    /// Keeps every CIE and the FDEs of live functions, in canonical input order, and one
    /// terminator at the end.
    fn layout_eh_frame(&mut self) -> Result<()> {
        let mut inputs = std::mem::take(&mut self.eh_inputs);
        if inputs.is_empty() {
            return Ok(());
        }
        let link = self.link;
        inputs.sort_unstable_by_key(|&(f, s)| (link.res.files[f as usize].order, s));
        let key = SectionKey::new(b".eh_frame", SHT_PROGBITS, SHF_ALLOC as u64, 0);
        let out = self.output_for(key, || Contents::EhFrame(Vec::new()));
        // Each input's kept records in parallel, at offsets from its own start; then placed.
        let per_input: Vec<(Vec<EhRecord>, u64)> =
            inputs.par_iter().map(|&(fi, si)| kept_eh_records(link, fi, si)).collect::<Result<_>>()?;
        let mut records: Vec<EhRecord> = Vec::with_capacity(per_input.iter().map(|(r, _)| r.len()).sum());
        let mut offset = 0u64;
        for (&(fi, si), (kept, size)) in inputs.iter().zip(per_input) {
            let first = records.len() as u32;
            records.extend(kept.into_iter().map(|r| EhRecord {
                output_offset: r.output_offset + offset,
                cie_output_offset: r.cie_output_offset.map(|c| c + offset),
                ..r
            }));
            self.placement[fi as usize][si as usize] =
                Placement::EhFrame { out, first, count: records.len() as u32 - first };
            offset += size;
        }
        let sec = &mut self.sections[out as usize];
        // The terminator, then the room a relink adds unwind records in (zeros: more
        // terminators).
        sec.size = offset + 4 + unwind_room(link.config).0;
        sec.align = 8;
        sec.contents = Contents::EhFrame(records);
        Ok(())
    }

    fn add(&mut self, kind: Synthetic, name: &[u8], sh_type: u32, flags: u32, align: u64, size: u64) -> u32 {
        let i = self.sections.len() as u32;
        let mut s = OutputSection::new(name, sh_type, flags as u64, align, Contents::Synthetic(kind));
        s.size = size;
        s.entsize = match kind {
            Synthetic::DynSym | Synthetic::SymTab => 24,
            Synthetic::RelaDyn | Synthetic::RelaPlt => 24,
            Synthetic::Dynamic => 16,
            Synthetic::VerSym => 2,
            Synthetic::Got | Synthetic::GotPlt => 8,
            _ => 0,
        };
        self.sections.push(s);
        self.synthetic.insert(kind, i);
        i
    }

    fn add_synthetic_sections(&mut self) -> Result<()> {
        let link = self.link;
        let config = link.config;
        let output = link.output;
        let a = SHF_ALLOC;
        if output.interp {
            let interp = config.dynamic_linker.as_deref().unwrap_or("/lib64/ld-linux-x86-64.so.2");
            self.add(Synthetic::Interp, b".interp", SHT_PROGBITS, a, 1, interp.len() as u64 + 1);
        }
        if let Some(id) = &config.build_id {
            self.add(Synthetic::BuildId, b".note.gnu.build-id", SHT_NOTE, a, 4, 16 + build_id_len(id) as u64);
        }
        Ok(())
    }

    fn plan_tables(mut self, scan: &ScanResult, gdb_index: Option<GdbIndex>) -> Result<PlannedTables<'l, 'd>> {
        let link = self.link;
        // The .symtab plan needs only the final placement: it runs beside the tables, which
        // are mostly serial work.
        let placement = std::mem::take(&mut self.placement);
        let strip_all = matches!(link.config.strip, crate::args::Strip::All);
        let (symtab, tables) = rayon::join(
            || {
                let placed = |file: usize, section: usize| {
                    placement.get(file).and_then(|p| p.get(section)).is_some_and(|p| !matches!(p, Placement::None))
                };
                (!strip_all).then(|| crate::symtab::SymtabPlan::new(link, &placed))
            },
            || self.tables(scan),
        );
        self.placement = placement;
        Ok(PlannedTables { tables: tables?, symtab, gdb_index, builder: self })
    }

    fn finish(
        mut self,
        tables: Tables,
        symtab: Option<crate::symtab::SymtabPlan<'d>>,
        gdb_index: Option<GdbIndex>,
    ) -> Result<Layout<'d>> {
        let link = self.link;
        if let Some(index) = &gdb_index {
            self.add(Synthetic::GdbIndex, b".gdb_index", SHT_PROGBITS, 0, 4, index.size());
        }
        if let Some(plan) = &symtab {
            self.add(Synthetic::SymTab, b".symtab", SHT_SYMTAB, 0, 8, 24 * plan.count() as u64);
            self.add(Synthetic::StrTab, b".strtab", SHT_STRTAB, 0, 1, plan.strtab_size());
        }
        self.add(Synthetic::ShStrTab, b".shstrtab", SHT_STRTAB, 0, 1, 0);

        // Sort into output order and renumber everything that refers to section indices.
        let mut order: Vec<u32> = (0..self.sections.len() as u32).collect();
        order.sort_by_key(|&i| {
            let s = &self.sections[i as usize];
            (s.class, s.rank, s.sh_type == SHT_NOBITS, i)
        });
        let mut new_index = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old as usize] = new as u32;
        }
        let mut old_sections: Vec<Option<OutputSection>> =
            std::mem::take(&mut self.sections).into_iter().map(Some).collect();
        let mut sections: Vec<OutputSection> =
            order.iter().map(|&i| old_sections[i as usize].take().expect("each once")).collect();
        for p in self.placement.iter_mut().flatten() {
            match p {
                Placement::At { out, .. } | Placement::Merged { out, .. } | Placement::EhFrame { out, .. } => {
                    *out = new_index[*out as usize]
                }
                Placement::None => {}
            }
        }
        for v in self.synthetic.values_mut() {
            *v = new_index[*v as usize];
        }
        // .shstrtab's size depends on the final names.
        let shstrtab_size: u64 = 1 + sections.iter().map(|s| s.name.len() as u64 + 1).sum::<u64>();
        sections[self.synthetic[&Synthetic::ShStrTab] as usize].size = shstrtab_size;
        for (i, s) in sections.iter_mut().enumerate() {
            s.shndx = i as u32 + 1;
        }

        let mut layout = Layout {
            sections,
            placement: self.placement,
            merged: self.merged,
            merge_maps: self.merge_maps,
            synthetic: self.synthetic,
            segments: Vec::new(),
            got: tables.got,
            got_index: tables.got_index,
            plt_lazy: tables.plt_lazy,
            plt_direct: tables.plt_direct,
            plt_index: tables.plt_index,
            commons: tables.commons,
            copies: tables.copies,
            dynamic: tables.dynamic,
            dynrel_base: tables.dynrel_base,
            dynrel_sections_total: tables.dynrel_sections_total,
            internal_values: Vec::new(),
            tls_start: 0,
            tls_end: 0,
            file_size: 0,
            entry: 0,
            symtab,
            gdb_index,
            symbol_addresses: Vec::new(),
        };
        layout.assign_addresses(link);
        layout.define_internal_symbols(link)?;
        Ok(layout)
    }

    /// Sizes every linker-made table and adds its output section, in a fixed order (the order
    /// of sections of the same class and rank in the output).
    fn tables(&mut self, scan: &ScanResult) -> Result<Tables> {
        let link = self.link;
        let commons = self.place_commons();
        let marked = marked_symbols(scan);
        let copies = self.place_copies(&marked);
        let got_plt = GotPlt::plan(link, scan, &marked);
        let dynamic = crate::dynamic::DynamicTables::build(link, scan, &copies)?;
        let (dynrel_base, dynrel_sections_total) = dynrel_bases(&self.sections, scan);
        self.add_dynamic_sections(scan, &got_plt, &dynamic, copies.len());
        self.add_eh_frame_hdr();
        self.add(Synthetic::Comment, b".comment", SHT_PROGBITS, SHF_MERGE | SHF_STRINGS, 1, COMMENT.len() as u64);
        Ok(Tables {
            commons,
            copies,
            got: got_plt.got,
            got_index: got_plt.got_index,
            plt_lazy: got_plt.plt_lazy,
            plt_direct: got_plt.plt_direct,
            plt_index: got_plt.plt_index,
            dynamic,
            dynrel_base,
            dynrel_sections_total,
        })
    }

    /// Common symbols, in id order, in a `.bss` of their own; each at the largest size any
    /// input gave it.
    fn place_commons(&mut self) -> FxHashMap<SymbolId, u64> {
        let link = self.link;
        let mut commons = FxHashMap::default();
        let mut common_ids: Vec<SymbolId> =
            link.res.names.par_values().filter(|e| e.rank == crate::resolve::Rank::Common).map(|e| e.def).collect();
        common_ids.sort_unstable();
        // A common's st_value is its alignment.
        let alignment = |id: SymbolId| match link.def(id) {
            Def::Common { sym, .. } => sym.st_value(E).max(1),
            _ => 1,
        };
        match link.config.sort_common {
            Some(SortCommon::Descending) => common_ids.sort_by_key(|&id| std::cmp::Reverse(alignment(id))),
            Some(SortCommon::Ascending) => common_ids.sort_by_key(|&id| alignment(id)),
            None => {}
        }
        let (mut size, mut align) = (0u64, 1u64);
        for id in common_ids {
            let Def::Common { sym, .. } = link.def(id) else { continue };
            let al = alignment(id);
            size = align_up(size, al);
            commons.insert(id, size);
            size += link.res.names.get(link.symbol_name(id)).map_or(sym.st_size(E), |e| e.common_size);
            align = align.max(al);
        }
        if size > 0 {
            self.add(Synthetic::Commons, b".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, align, size);
        }
        commons
    }

    /// Shared-library data the program refers to directly, copied into `.dynbss`.
    fn place_copies(&mut self, marked: &[(SymbolId, u16)]) -> FxHashMap<SymbolId, u64> {
        let mut copies = FxHashMap::default();
        let (mut size, mut align) = (0u64, 1u64);
        for &(id, f) in marked {
            if f & flags::COPY == 0 {
                continue;
            }
            let Def::Shared { sym, .. } = self.link.def(id) else { continue };
            let al = 32u64.min(sym.st_size(E).next_power_of_two().max(8));
            size = align_up(size, al);
            copies.insert(id, size);
            size += sym.st_size(E).max(1);
            align = align.max(al);
        }
        if size > 0 {
            self.add(Synthetic::CopyRel, b".dynbss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, align, size);
        }
        copies
    }

    /// The dynamic tables' sections (`.gnu.hash` to `.dynamic`), the relocation tables, the
    /// PLT and the GOTs, sized.
    fn add_dynamic_sections(&mut self, scan: &ScanResult, got_plt: &GotPlt, dynamic: &DynamicTables, copies: usize) {
        let link = self.link;
        let output = link.output;
        let (a, w) = (SHF_ALLOC, SHF_WRITE);
        if output.dynamic {
            if link.config.hash_style != crate::args::HashStyle::Sysv {
                self.add(Synthetic::GnuHash, b".gnu.hash", SHT_GNU_HASH, a, 8, dynamic.gnu_hash_size());
            }
            if link.config.hash_style != crate::args::HashStyle::Gnu {
                self.add(Synthetic::SysvHash, b".hash", SHT_HASH, a, 4, dynamic.sysv_hash_size());
            }
            self.add(Synthetic::DynSym, b".dynsym", SHT_DYNSYM, a, 8, 24 * (dynamic.symbols.len() as u64 + 1));
            self.add(Synthetic::DynStr, b".dynstr", SHT_STRTAB, a, 1, dynamic.strtab.len() as u64);
            if dynamic.has_versions() {
                self.add(Synthetic::VerSym, b".gnu.version", SHT_GNU_VERSYM, a, 2, 2 * dynamic.versym.len() as u64);
                if !dynamic.verneed.is_empty() {
                    self.add(Synthetic::VerNeed, b".gnu.version_r", SHT_GNU_VERNEED, a, 4, dynamic.verneed_size());
                }
                if !dynamic.verdef.is_empty() {
                    self.add(Synthetic::VerDef, b".gnu.version_d", SHT_GNU_VERDEF, a, 4, dynamic.verdef_size());
                }
            }
        }
        let got_relocs: u64 =
            got_plt.got.iter().map(|(slot, _)| got_slot_relocs(link, slot).iter().flatten().count() as u64).sum();
        let rela_dyn_count =
            scan.dynrel_counts.iter().flatten().map(|&c| c as u64).sum::<u64>() + got_relocs + copies as u64;
        if rela_dyn_count > 0 {
            let room = relative_room(link.config, got_plt.got_size / 8);
            self.add(Synthetic::RelaDyn, b".rela.dyn", SHT_RELA, a, 8, 24 * (rela_dyn_count + room));
        }
        let static_irelative = if output.dynamic {
            0
        } else {
            got_plt.got.iter().filter(|(slot, _)| is_ifunc_slot(link, slot)).count() as u64
        };
        let lazy = got_plt.plt_lazy.len() as u64;
        if lazy > 0 || static_irelative > 0 {
            let size = 24 * (lazy + static_irelative);
            self.add(Synthetic::RelaPlt, b".rela.plt", SHT_RELA, a | SHF_INFO_LINK, 8, size);
        }
        let plt_size = 16 * (got_plt.plt_header() + lazy + got_plt.plt_direct.len() as u64);
        if plt_size > 0 {
            self.add(Synthetic::Plt, b".plt", SHT_PROGBITS, a | SHF_EXECINSTR, 16, plt_size);
        }
        if got_plt.got_size > 0 || (scan.got_base_used && !output.dynamic) {
            let room = if got_plt.got_size > 0 { 8 * got_room(link.config, got_plt.got_size / 8) } else { 0 };
            self.add(Synthetic::Got, b".got", SHT_PROGBITS, a | w, 8, got_plt.got_size + room);
        }
        if output.dynamic {
            let got_plt_section = self.add(Synthetic::GotPlt, b".got.plt", SHT_PROGBITS, a | w, 8, 8 * (3 + lazy));
            if link.config.z_now {
                // Bound eagerly, the PLT's GOT never changes after start-up: protect it.
                let s = &mut self.sections[got_plt_section as usize];
                s.class = Class::Relro;
                s.rank = 9;
            }
            // .dynamic last: its entries depend on which tables exist.
            self.add(Synthetic::Dynamic, b".dynamic", SHT_DYNAMIC, a | w, 8, 0);
            let has_init_fini = |n: &[u8]| link.res.input_definition(n).is_some();
            let count = dynamic
                .entries(
                    link,
                    &|s| self.synthetic.contains_key(&s).then_some((0, 0)),
                    &|n| self.sections.iter().any(|s| s.name == n && s.is_alloc()).then_some((0, 0)),
                    (has_init_fini(b"_init").then_some(0), has_init_fini(b"_fini").then_some(0)),
                )
                .len();
            let i = self.synthetic[&Synthetic::Dynamic] as usize;
            self.sections[i].size = 16 * count as u64;
        }
    }

    /// `.eh_frame_hdr`, sized for the kept FDEs.
    fn add_eh_frame_hdr(&mut self) {
        if self.link.config.eh_frame_hdr && self.sections.iter().any(|s| matches!(s.contents, Contents::EhFrame(_))) {
            let fdes = eh_fdes(&self.sections).count();
            let size = eh_frame::hdr_size(fdes + unwind_room(self.link.config).1 as usize);
            self.add(Synthetic::EhFrameHdr, b".eh_frame_hdr", SHT_PROGBITS, SHF_ALLOC, 4, size);
        }
    }
}

impl Layout<'_> {
    /// Fills [`Layout::symbol_addresses`], file by file in parallel, each symbol table read in
    /// order.
    pub fn fill_symbol_addresses(&mut self, link: &Link<'_>) {
        self.symbol_addresses = self.compute_symbol_addresses(link);
    }

    fn compute_symbol_addresses(&self, link: &Link<'_>) -> Vec<u64> {
        let files = &link.res.files;
        let mut addresses = vec![0u64; link.res.resolved.len()];
        split_by_lengths(&mut addresses, files.iter().map(|f| f.symbol_count as usize))
            .into_par_iter()
            .zip(files.par_iter().enumerate())
            .for_each(|(out, (fi, file))| {
                let obj = file.object();
                for (i, a) in out.iter_mut().enumerate() {
                    *a = if obj.is_some_and(|o| self.merged_placement(fi, o, i).is_some()) {
                        IN_MERGED
                    } else {
                        match compute_symbol_address(link, self, file.symbol_base + i as u32) {
                            None => DEAD,
                            Some(a) => a.min(RESERVED),
                        }
                    };
                }
            });
        addresses
    }

    /// For the section symbol of a merged input section: the output section's address and
    /// the section's merge map.
    pub fn merged_section_symbol(&self, link: &Link<'_>, id: SymbolId) -> Option<(u64, u32)> {
        let file = link.res.file_of_symbol(id) as usize;
        let obj = link.res.files[file].object()?;
        let (out, map) = self.merged_placement(file, obj, (id - link.res.files[file].symbol_base) as usize)?;
        Some((self.sections[out as usize].addr, map))
    }

    /// If symbol `index` of object `file` is the section symbol of a merged input section:
    /// the output section and the section's merge map.
    fn merged_placement(
        &self,
        file: usize,
        obj: &crate::object_file::ObjectFile<'_>,
        index: usize,
    ) -> Option<(u32, u32)> {
        if index >= obj.first_global || obj.symbol(index).st_type() != STT_SECTION {
            return None;
        }
        match self.placement[file].get(obj.symbol_section(index) as usize)? {
            Placement::Merged { out, map } => Some((*out, *map)),
            _ => None,
        }
    }

    /// Program headers in the order the loader wants them.
    fn plan_segments(&self, link: &Link<'_>) -> Vec<u32> {
        let mut types = Vec::new();
        let has = |c: Class| self.sections.iter().any(|s| s.class == c && s.is_alloc());
        if link.output.dynamic {
            types.push(PT_PHDR);
        }
        if self.synthetic.contains_key(&Synthetic::Interp) {
            types.push(PT_INTERP);
        }
        for c in [Class::ReadOnly, Class::Exec, Class::Relro, Class::Writable] {
            if c == Class::ReadOnly || has(c) {
                types.push(PT_LOAD);
            }
        }
        if self.synthetic.contains_key(&Synthetic::Dynamic) {
            types.push(PT_DYNAMIC);
        }
        if self.sections.iter().any(|s| s.sh_type == SHT_NOTE && s.is_alloc()) {
            types.push(PT_NOTE);
        }
        if self.sections.iter().any(|s| s.is_tls()) {
            types.push(PT_TLS);
        }
        if self.synthetic.contains_key(&Synthetic::EhFrameHdr) {
            types.push(PT_GNU_EH_FRAME);
        }
        types.push(PT_GNU_STACK);
        if link.config.z_relro && has(Class::Relro) {
            types.push(PT_GNU_RELRO);
        }
        types
    }

    fn assign_addresses(&mut self, link: &Link<'_>) {
        let types = self.plan_segments(link);
        let headers = 64 + 56 * types.len() as u64;
        let base = link.output.base;
        let mut off = headers;
        let mut addr = base + headers;
        // The read-only segment always exists: it maps the headers.
        let mut loads = vec![Segment {
            p_type: PT_LOAD,
            flags: PF_R,
            offset: 0,
            addr: base,
            filesz: headers,
            memsz: headers,
            align: PAGE_SIZE,
        }];
        let mut current = Class::ReadOnly;
        for s in self.sections.iter_mut().filter(|s| s.is_alloc()) {
            if current != s.class {
                addr = align_up(addr, PAGE_SIZE) + (off & (PAGE_SIZE - 1));
                let flags = if s.class == Class::Exec { PF_R | PF_X } else { PF_R | PF_W };
                loads.push(Segment {
                    p_type: PT_LOAD,
                    flags,
                    offset: off,
                    addr,
                    filesz: 0,
                    memsz: 0,
                    align: PAGE_SIZE,
                });
                current = s.class;
            }
            let pad = align_up(addr, s.align) - addr;
            if s.sh_type == SHT_NOBITS && s.is_tls() {
                // .tbss only exists in the TLS template: it takes no address space here.
                s.addr = addr + pad;
                s.offset = off;
                let seg = loads.last_mut().expect("a segment was opened");
                seg.memsz = seg.memsz.max(s.addr - seg.addr);
                continue;
            }
            addr += pad;
            if s.sh_type != SHT_NOBITS {
                off += pad;
            }
            s.addr = addr;
            s.offset = off;
            let seg = loads.last_mut().expect("a segment was opened");
            if s.sh_type == SHT_NOBITS {
                addr += s.size;
                seg.memsz = seg.memsz.max(s.addr + s.size - seg.addr);
            } else {
                addr += s.size;
                off += s.size;
                seg.filesz = off - seg.offset;
                seg.memsz = addr - seg.addr;
            }
        }
        // Sections to be compressed go last: their sizes are known only once written. The
        // last of the others grows past the file's end; those before it into room of their own.
        let last_grown = self.sections.iter().rposition(|s| !s.is_alloc() && !is_compressed(link.config, s));
        for compressed in [false, true] {
            for (index, s) in self.sections.iter_mut().enumerate() {
                if s.is_alloc() || is_compressed(link.config, s) != compressed {
                    continue;
                }
                off = align_up(off, s.align);
                s.offset = off;
                s.addr = 0;
                off += s.size;
                if !compressed && Some(index) != last_grown && grown_by_relinks(&s.name) {
                    off += growth_room(s.size);
                }
            }
        }
        self.file_size = align_up(off, 8) + 64 * (self.sections.len() as u64 + 1);

        let span = |secs: &mut dyn Iterator<Item = &OutputSection>| -> Option<Segment> {
            let list: Vec<&OutputSection> = secs.collect();
            let first = list.first()?;
            let last_file = list
                .iter()
                .filter(|s| s.sh_type != SHT_NOBITS)
                .map(|s| s.offset + s.size)
                .max()
                .unwrap_or(first.offset);
            let end = list.iter().map(|s| s.addr + s.size).max().unwrap_or(first.addr);
            let align = list.iter().map(|s| s.align).max().unwrap_or(1);
            Some(Segment {
                p_type: 0,
                flags: PF_R,
                offset: first.offset,
                addr: first.addr,
                filesz: last_file - first.offset,
                memsz: end - first.addr,
                align,
            })
        };
        let mut segments = Vec::new();
        let mut load_iter = loads.into_iter();
        for t in types {
            let seg = match t {
                PT_PHDR => Some(Segment {
                    p_type: PT_PHDR,
                    flags: PF_R,
                    offset: 64,
                    addr: base + 64,
                    filesz: headers - 64,
                    memsz: headers - 64,
                    align: 8,
                }),
                PT_LOAD => load_iter.next(),
                PT_INTERP => span(&mut self.section(Synthetic::Interp).into_iter()),
                PT_DYNAMIC => {
                    span(&mut self.section(Synthetic::Dynamic).into_iter()).map(|s| Segment { flags: PF_R | PF_W, ..s })
                }
                PT_NOTE => span(&mut self.sections.iter().filter(|s| s.sh_type == SHT_NOTE && s.is_alloc())),
                PT_TLS => span(&mut self.sections.iter().filter(|s| s.is_tls())),
                PT_GNU_EH_FRAME => span(&mut self.section(Synthetic::EhFrameHdr).into_iter()),
                PT_GNU_STACK => Some(Segment {
                    p_type: PT_GNU_STACK,
                    flags: if link.config.z_execstack { PF_R | PF_W | PF_X } else { PF_R | PF_W },
                    offset: 0,
                    addr: 0,
                    filesz: 0,
                    memsz: 0,
                    align: 16,
                }),
                // Up to the end of its page: the loader protects whole pages only, and the
                // next segment starts on a fresh page.
                PT_GNU_RELRO => span(&mut self.sections.iter().filter(|s| s.class == Class::Relro && s.is_alloc()))
                    .map(|s| Segment { align: 1, memsz: align_up(s.addr + s.memsz, PAGE_SIZE) - s.addr, ..s }),
                _ => None,
            };
            if let Some(mut seg) = seg {
                seg.p_type = t;
                segments.push(seg);
            }
        }
        if let Some(tls) = segments.iter().find(|s| s.p_type == PT_TLS) {
            self.tls_start = tls.addr;
            self.tls_end = align_up(tls.addr + tls.memsz, tls.align);
        }
        self.segments = segments;
    }

    fn define_internal_symbols(&mut self, link: &Link<'_>) -> Result<()> {
        let end_of = |pred: &dyn Fn(&OutputSection) -> bool| -> Option<u64> {
            self.sections
                .iter()
                .filter(|s| s.is_alloc() && pred(s))
                .map(|s| s.addr + if s.is_tls() && s.sh_type == SHT_NOBITS { 0 } else { s.size })
                .max()
        };
        let named = |name: &[u8]| self.sections.iter().find(|s| s.name == name && s.is_alloc());
        let start_of = |name: &[u8]| named(name).map(|s| s.addr);
        let stop_of = |name: &[u8]| named(name).map(|s| s.addr + s.size);
        let base = link.output.base;
        let text_end = end_of(&|s| s.class <= Class::Exec).unwrap_or(base);
        let data_end = end_of(&|s| s.sh_type != SHT_NOBITS).unwrap_or(base);
        let image_end = end_of(&|_| true).unwrap_or(base);
        let bss_start = self
            .sections
            .iter()
            .filter(|s| s.is_alloc() && s.sh_type == SHT_NOBITS && !s.is_tls())
            .map(|s| s.addr)
            .min()
            .unwrap_or(data_end);
        let irel = self.section(Synthetic::RelaPlt).filter(|_| !link.output.dynamic);
        let mut values = Vec::with_capacity(link.res.internal.len());
        for name in &link.res.internal {
            let v = match *name {
                b"_GLOBAL_OFFSET_TABLE_" => self.got_base(),
                b"_DYNAMIC" => self.addr_of(Synthetic::Dynamic),
                b"__ehdr_start" | b"__executable_start" | b"__dso_handle" => base,
                b"_etext" | b"etext" | b"__etext" => text_end,
                b"_edata" | b"edata" => data_end,
                b"_end" | b"end" => image_end,
                b"__bss_start" => bss_start,
                b"__init_array_start" => start_of(b".init_array").unwrap_or(0),
                b"__init_array_end" => stop_of(b".init_array").unwrap_or(0),
                b"__fini_array_start" => start_of(b".fini_array").unwrap_or(0),
                b"__fini_array_end" => stop_of(b".fini_array").unwrap_or(0),
                b"__preinit_array_start" => start_of(b".preinit_array").unwrap_or(0),
                b"__preinit_array_end" => stop_of(b".preinit_array").unwrap_or(0),
                b"__rela_iplt_start" => irel.map_or(0, |s| s.addr),
                b"__rela_iplt_end" => irel.map_or(0, |s| s.addr + s.size),
                b"__GNU_EH_FRAME_HDR" => self.addr_of(Synthetic::EhFrameHdr),
                b"_TLS_MODULE_BASE_" => self.tls_start,
                n if link.defsym(n).is_some() => match link.defsym(n).map(|d| &d.value) {
                    Some(crate::args::DefsymValue::Absolute(v)) => *v,
                    Some(crate::args::DefsymValue::Symbol { name, addend }) => {
                        match link.res.names.get(name.as_bytes()) {
                            Some(e) if e.rank > crate::resolve::Rank::Lazy => {
                                symbol_address(link, self, e.def).wrapping_add(*addend as u64)
                            }
                            _ => return Err(Error::Usage(format!("--defsym: symbol {name} is not defined"))),
                        }
                    }
                    None => 0,
                },
                n => {
                    if let Some(sec) = n.strip_prefix(b"__start_") {
                        start_of(sec).unwrap_or(0)
                    } else if let Some(sec) = n.strip_prefix(b"__stop_") {
                        stop_of(sec).unwrap_or(0)
                    } else {
                        0
                    }
                }
            };
            values.push(v);
        }
        self.internal_values = values;
        // --defsym NAME=SYMBOL+N may name another linker-defined symbol: a second pass.
        for (i, name) in link.res.internal.iter().enumerate() {
            if let Some(crate::args::DefsymValue::Symbol { name: target, addend }) = link.defsym(name).map(|d| &d.value)
                && let Some(e) = link.res.names.get(target.as_bytes())
            {
                self.internal_values[i] = symbol_address(link, self, e.def).wrapping_add(*addend as u64);
            }
        }
        let entry_name = link.config.entry_name();
        self.entry = match link.res.names.get(entry_name) {
            Some(e) if e.rank > crate::resolve::Rank::Lazy => symbol_address(link, self, e.def),
            _ if link.output.shared => 0,
            _ => {
                // Like ld: fall back to the start of .text, with a warning.
                eprintln!(
                    "rivet-ld: warning: cannot find entry symbol {}; defaulting to the start of .text",
                    String::from_utf8_lossy(entry_name)
                );
                start_of(b".text").unwrap_or(0)
            }
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{GOT_ROOM, got_room_within};

    #[test]
    fn the_got_room_is_found_from_the_size_of_the_got() {
        for own in (0..5000).chain((5000..2_000_000).step_by(997)) {
            let room = GOT_ROOM + own / 64;
            assert_eq!(got_room_within(own + room), room, "a .got of {own} slots");
        }
    }
}
