//! In-place relinking: an object rebuilt with the same shape is written into the old output
//! where its sections already are, instead of linking everything again.
//!
//! **When it applies.** An object has the same *shape* when it has the same section headers
//! (all but their file offsets and some sizes: below; the number in the name of an anonymous
//! constant's section may change, since LLVM numbers them in order: `same_section_name`), the same symbols (the locals in the
//! same order, the globals matched by name: rustc lists them in another order when a function
//! calls one more; `SymbolMap`; but code may refer to globals the old object did not, below),
//! the same relocations (type and symbol, in the same order;
//! their addends and offsets may differ; but see code below) and the same contents in every
//! section a link reads for more than copying (merge sections, notes, groups, compressed
//! sections; `.eh_frame` record by record, below). Resolution,
//! garbage collection, layout, the GOT and PLT, the dynamic tables and `.symtab` are
//! functions of that shape alone, so a full link of the new inputs places every section and
//! every symbol where the old output has them: only the bytes of the object's placed
//! sections differ, and the build id (merged strings and constants aside: see below). A
//! changed constant, a string of the same length, a changed initial value are such edits; a
//! function that grows or shrinks is one too, with the exceptions below.
//!
//! **Sections of a new size.** A section that only this object's relocations can refer to
//! (no symbol but its section symbol names it) may change its size when it is read-only
//! data without relocations of its own (rustc's `.rodata..Lanon.*`, a literal in a section
//! of its own: an edit that makes it longer or shorter; an exception table), or debug
//! information (`.debug_info`, `.debug_line`, location and range lists, abbreviations: the
//! lines of a function moved by lines inserted above it). So may a function's code (one
//! `.text.*` section that global symbols enter only at its start), whatever names it. One
//! that shrank is written where it was (but `.debug_info`, whose readers walk its units: it
//! moves); one that grew moves, to the overflow segment (read-only data and code; the
//! segment is then executable) or to the end of its output section (debug information),
//! and every relocation of the object that refers to it follows it (`overflow`). Code that
//! moved leaves a jump at its old place: what reaches it by a global name (a call from
//! another object, a GOT slot, a vtable, the dynamic symbol table) goes there, so that its
//! address is the same for every object; the object's own references by a local name
//! (section symbol, static function, labels) follow it. Its relocations move with it: a
//! PC-relative field moves against the section's move, and a GOT load or call keeps the form
//! the link relaxed it to, every one of which is PC-relative (`patch_section`); a TLS
//! sequence that moved, or a 64-bit address in code, means a full link. Its unwind record
//! (FDE) is rewritten where the output has it (`Planner::patch_unwind`), with `.eh_frame_hdr`'s
//! entry moved to the new start, so that exceptions, panics and debuggers unwind through it;
//! a record of a new length (other call frame instructions) is written anew in the room that
//! ends `.eh_frame` (`layout::unwind_room`), `.eh_frame_hdr`'s entry pointed at it, and the
//! old record made to describe no code (a zero `pc_range`), for debuggers, which walk
//! `.eh_frame` itself. The output's `.symtab` entries of its symbols
//! move to the new place, with their new sizes, for debuggers and profilers
//! (`symbol_table_writes`; so do those of code that shrank where it is); `.dynsym` keeps the
//! old address (the jump): other modules link to that. The output is then no longer a full
//! link's byte for byte, but for what the loader and the user see.
//!
//! **Sections an edit added.** An edit that adds code adds anonymous constants: LLVM puts each
//! of rustc's in a section of its own (`.rodata..Lanon.<hash>.<n>`, `.data.rel.ro..Lanon.…`
//! for one holding addresses: every checked `+` or `unwrap()` adds a panic location, which
//! holds the address of its file's name). When the new object holds the old one's sections in
//! the same order but for such sections added or taken out, and only this object's
//! relocations name them (no symbol but their section symbols and temporaries), it is
//! numbered as the old one, the added sections after the old ones (`Shape::numbered_like`,
//! which pairs the sections of each kind by size, looking a few sections ahead, and the code
//! of functions under one shared name, Cranelift's `.text.subsection`, by the function at its
//! start), and each added section is
//! placed in an overflow segment: read-only data in the one code moves to, data with
//! addresses in a writable one the relink appends (`overflow`), made from the new object alone
//! like rebuilt code (`Rebuild::section`): each address is one of the object's own sections,
//! and gets, in a position-independent output, a relative dynamic relocation in one of the
//! empty entries a full link leaves at the end of `.rela.dyn` (`layout::relative_room`,
//! `Planner::add_relatives`). The code that refers to them has new relocations, and is
//! rebuilt. One taken out leaves its bytes in the output, unreferenced, until the next full
//! link. The map of the output then follows the new object's numbering. Cranelift puts a
//! unit's constants in one `.rodata` and one `.data.rel.ro`, each constant under a
//! temporary (`Shape::labelled_data`): the first such section an edit gives a unit is added
//! the same way; one that grows or shrinks moves to an overflow segment, made anew
//! (`Shape::movable`); one whose constants an edit ordered anew is made anew where it is, the
//! relative relocation of each of its addresses set to the new address
//! (`Planner::set_relatives`).
//!
//! **Functions an edit added** are such sections too: a `.text.*` section that one local
//! symbol names, at its start (a static function in C, a private function or closure that
//! rustc keeps within its unit: `Shape::lone_function`), goes to the overflow segment, made executable, and is made
//! like rebuilt code; its symbol is added to `.symtab` (a local, before the globals, which move
//! up; its name appended to `.strtab`: `symbol_table_writes`), its unwind record written into
//! the room that ends `.eh_frame` and listed in the room of `.eh_frame_hdr`'s table
//! (`layout::unwind_room`, `Planner::write_unwind_record`), so that exceptions, panics and
//! debuggers unwind through it. Its unit's address ranges grow: `.debug_aranges` moves to the
//! end of its output section as `.debug_info` does, the old set left empty. LLVM names each
//! function's exception table after the function's place in its unit (`GCC_except_table<n>`):
//! a function added renumbers those after it, a change of name only (`Shape::except_label`),
//! which the output's `.symtab` does not follow; an exception table added with its function
//! goes to the overflow segment, its label to `.symtab`. A function added under a global name
//! (rustc's local copy of an inline function of another crate, made in whichever unit; a C
//! function another file calls) is placed the same way, if the output exports none of its
//! functions (the relink cannot add to `.dynsym`): its symbol goes after the output's
//! globals, and objects that define such functions are planned first (`defines_new_globals`),
//! so that another changed object's new call finds it (`Planner::new_definitions`). One whose
//! name the output knows moved from another object that the same relink changes and that
//! takes the function out (a function moved to another source file or codegen unit): the old copy's
//! first bytes become a jump to the new one, so that the code that called it there, in files
//! the relink does not read, reaches it (`Planner::moved_in`), and its callers are no longer
//! counted: taking it out later links in full. One that no new code calls is listed only without
//! `--gc-sections` (with, a full link drops it: its bytes stay, unlisted). A function taken
//! out leaves its code, unreferenced, and its `.symtab` entry goes. A global one must be
//! called by no file left, and exported by no `.dynsym`: the map counts, for each global of
//! each object, the other files that refer to it (`ObjectSpots::referrers`, counted once per
//! full link over the resolved symbols: `referrer_counts`), and the count, with the change
//! since (below), must equal the number of changed objects whose earlier copy referred to the
//! name and whose new one does not (`References`); else an object the relink does not read
//! still calls it, which a full link would refuse or resolve elsewhere. The relink brings the
//! counts of the changed objects' globals up to date; for the names whose definers did not
//! change, the map keeps how many more (or fewer) files refer to each than its definer's
//! count says (`OutputMap::referrers_since`), until a relink rewrites the definer and its
//! count takes the change in. A function the link dropped (garbage collected: nothing called
//! it) that new code calls is placed the same way from its object, which did not change
//! (`Planner::revive`: found through the kept copies, once the plan of the caller fails for
//! want of it, and planned first in another try): its unwind record is written as an added
//! function's (the link dropped the old one with it), and its object's debug information is
//! made anew where it held tombstones for it. What it calls must be in the output already.
//! One that an earlier relink added, placed and left unlisted is listed where it is.
//! A section of a changed object that the link dropped and new code refers to through a
//! local symbol (an anonymous constant, a static function) is placed as an added one
//! (`Shape::made_live`).
//! Any other section added or taken out means a full link too.
//! The writable
//! segment is not protected after relocation as the full link's `PT_GNU_RELRO` range is: the
//! loader protects one range only.
//!
//! **Code whose relocations changed** (calls reordered, added or removed, in place or grown)
//! is not patched field by field but made anew (`Rebuild`): each field from its target's
//! address, a local symbol's from where its section is (merged strings and constants through
//! the map's pieces), a global's from what the old output shows the old object's code
//! resolved it to (`resolve_globals`: a call's PLT entry or address, a GOT slot, or an address
//! a relaxed GOT load took, which lets a new GOT load or call be relaxed the same way), a
//! thread-local's offset from the thread pointer (local-exec, `R_X86_64_TPOFF32`) from the old
//! code's field for the same target (`ThreadLocalOffsets`: thread-local storage does not
//! move). A function the old object never called (a new undefined symbol), or called only
//! from code the link dropped (no field of the old output shows it), is found where the output
//! defines it, by its name in the output's `.symtab`, and through the output's GOT slot for it
//! where the code calls through one (rustc calls another crate's functions so): the full
//! link resolves the call there, since the function was kept, and loaded, for what called it
//! before (`output_definitions`, `GotSlots`). A label of data added to or taken out of a
//! section of a new size (Cranelift's literals, each under a temporary in the unit's one
//! `.rodata`) is no change of shape either: references to it are made from its own value,
//! and the GOT slot of a label that moved follows it. A GOT load or call of a target no code loaded
//! through the GOT before, a function or this object's own data (Cranelift loads its data so),
//! takes one of the empty slots every executable's `.got` ends with (`layout::got_room`,
//! `Planner::spare_got_slot`), filled with the target's address (known from an earlier
//! reference, or where the old calls went when that is no PLT entry) and, position-independent,
//! given a relative relocation from `.rela.dyn`'s empty entries. A target the output does not
//! have (a function of a shared library with no PLT entry yet, a section garbage collection
//! dropped) means a full link. A callee that was local to its own unit is
//! made a hidden global there by rustc (and local again when no other unit calls it): that
//! object keeps its shape, the symbol map pairing the local with the global (the output,
//! where a hidden global is local, does not change). A call taken out may leave a function
//! that nothing calls any more: a full link with `--gc-sections` drops it, the relink leaves
//! it where it is, unreachable (as it leaves the old bytes of code that moved), until the
//! next full link.
//!
//! **Debug information** whose relocations changed (a call site or a local added or
//! removed) is made anew the same way (`Rebuild::debug_section`): addresses of the object's
//! code and data, the full link's tombstone for code it dropped, offsets into the object's
//! other debug sections where they are in their output sections, a thread-local's offset in
//! its module's block (its location) from the old section's field for the same target, as
//! for code. Debug strings
//! (`.debug_str`, `.debug_line_str`) are found by their text, wherever the object now puts
//! them: where the old section's references to the same text point in the output
//! (`Shape::string_fields`), or, for a name the output lacks (a renamed local), appended to
//! the output section (`Planner::add_strings`, which grows it at the end of the file like a
//! line table).
//!
//! **The algorithm.** For each placed section of each changed object: its new bytes, with
//! every relocation field taken from the old output where the same relocation (the same
//! place in the order of its section's relocations) was, moved by the change of its addend,
//! of its place and of its target's place when the relocation type's value is linear in them
//! (PC-relative, 32-bit and 64-bit absolute, GOT-relative, TLS offsets, sizes) and its target
//! cannot be a tombstone or a merged string. A 64-bit address in allocated data that changes
//! has, in a position-independent output, a relative dynamic relocation whose addend is that
//! address: it is changed too (`follow_addresses`). A relocation the linker may relax
//! rewrites bytes around its field: it must not move, its window (4 bytes before the field to
//! 24 after) must be the same in the old and new object, and the old output's window is kept.
//! Anything else (a 64-bit address whose dynamic relocation is a symbol's; one that moved
//! within its section, whose dynamic relocation would have to move; a relaxed window that
//! changed) means a full link. The old object is needed for that comparison: each incremental
//! link keeps a copy of every plain object it read, and of the members it loaded from archives
//! that changed before (`incremental`).
//!
//! **Merged strings and constants.** An allocated merge section of strings (`.rodata.str1.1`:
//! C literals, and the pieces of Rust's format strings) or of constants of a power-of-two
//! size (`.rodata.cst8`: a changed `f64`, a 16-byte literal in `.rodata.cst16`) is the one
//! kind read for more than copying whose changes may still be patched: when each changed
//! piece keeps its length, was stored for no other piece (the merge counts them: `merge`),
//! and equals no piece of the output section and no other piece the relink writes, the new
//! piece is written over the old one. Every reference to it (the same relocation, the same
//! addend) keeps its value. The output is then not byte for byte a full link's: a full link
//! places a piece by its hash, so there the new piece sits elsewhere in the section, the
//! references to it differ, and so does the build id. The output holds the same pieces, and
//! the program behaves the same (no piece it could compare by address became equal to
//! another). Strings that cannot be written so (of another length, shared, equal to another)
//! are placed one by one (`Planner::move_merged`): a string the object held before stays
//! where it is, any other (changed or added) goes to the overflow segment, and every
//! reference of the object to a string (through the section symbol and its addend, or an
//! assembler temporary, which may be added or taken out with its string: `symbol_map`) is
//! moved from where its old string is to where its new one is. Strings the object no longer
//! holds stay in the output until the next full link. In this toolchain that is what a
//! format string added to a function does: its template is a string of the unit's
//! `.rodata.str1.1`, under a temporary. It calls the instance of `fmt::Arguments::new` named
//! after its template's length and argument count (const parameters): when the output has
//! none of that name yet, that links in full, like any call the output does not resolve.
//!
//! The build id is a tree hash over the ranges the write pass hashed (`write`): the map of
//! the output keeps their digests, and a patch hashes again only the ranges it touched. What
//! relinks write where the full link wrote nothing (the overflow segment, a debug section's
//! room, a section copied to the end of the file) is covered by ranges of the write pass's
//! chunk size too (`chunk_region`), so that a relink hashes the chunks it wrote, not the
//! whole region (ripgrep's `.debug_info` is 14 MB); a section copied to the end of the file
//! keeps the digests of the bytes it was copied from (`moved_ranges`).
//!
//! **Costs.** Mapping the kept copy and comparing it with the new object (both whole, when
//! the patch goes ahead), then writing the changed sections and hashing again the build-id
//! ranges they fall in. The comparison reads the section headers first, then the sections
//! that must not change, and only then the code and data: an edit that changed a section's
//! size, the commonest reason for a full link, costs the headers alone before the full link. A
//! same-length literal edit of one of ripgrep's debug codegen units: 1.2–1.7 ms comparing,
//! 0.3 ms writing and hashing, 3.9–5.3 ms for the whole `rivet-ld` run (`--time`), against
//! about 80 ms for a full link. A real code edit of that unit (an `&&`'s operands swapped:
//! other code, an unwind record and debug information of another size; the bench's
//! "rebuilt" case): 0.9–1.7 ms comparing, 1.1–1.6 ms writing and hashing, 4.2–5.6 ms in all.
//! The debug sections grow into room the full link left after them (`layout::growth_room`):
//! when `.debug_line` was copied to the end of the file instead, typst-cli's first relink
//! after a full link took 25–40 ms. The old output is read in place, through a read-only
//! map: typst-cli's debug link (404 MB with the debug sections' room; a 5 MB `.symtab`, a 5
//! MB `.rela.dyn`, 190k `.eh_frame_hdr` entries) plans its rebuilt unit in 2–5 ms (8–13 ms
//! when those tables were read into buffers) and writes and hashes in 2–4 ms: 7–10 ms in all,
//! 9–12 ms for the first relink after a full link (`--time` by hand). The cost follows
//! the changed object, not the link: a release
//! starship built as one 26 MB codegen unit compares for 9–12 ms. The map is one pass over
//! the objects' placements once each incremental full link's output is in place (264 KB for
//! ripgrep's debug link), and each kept object is copied once, when its contents change.

use crate::args::{BuildId, Config, OutputKind};
use crate::context::Link;
use crate::eh_frame::HdrTable;
use crate::elf::*;
use crate::error::demangle;
use crate::layout::{Layout, Placement};
use crate::overflow::Overflow;
use crate::resolve::FileData;
use crate::write::WrittenRange;
use crate::x86_64::GotAccess;
use object::{U16, U32, U64};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, Ordering};

/// Where the sections of every object (plain or archive member) are in the output, and what
/// the build id was hashed from: what a later relink needs to patch the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputMap {
    /// In canonical order (position, then member).
    pub(crate) objects: Vec<ObjectSpots>,
    /// The ranges the build id's tree hash covers, in file order (empty without one).
    pub(crate) ranges: Vec<WrittenRange>,
    /// File offset and length of the build id's bytes, when it is a hash of the output.
    pub(crate) build_id: Option<(u64, u32)>,
    /// By name, sorted: how many more files refer to a global than its definer's count says
    /// (`ObjectSpots::referrers`), for the names that objects relinks rewrote came to refer to
    /// or ceased to, and whose definers no relink has rewritten since (their counts were not
    /// read, so they did not follow).
    pub(crate) referrers_since: Vec<(Vec<u8>, i32)>,
}

/// The placed sections of an object: a plain object (`member` 0) or an archive's member
/// (`member` is its index in the archive plus one), at command-line `position`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpots {
    pub position: u32,
    pub member: u32,
    pub sections: Vec<SectionSpot>,
    pub merged: Vec<MergedSpot>,
    /// Per global symbol (the first global's first): how many other files, and the linker's
    /// own references (`-u`, the entry...), refer to it, up to 255 (`referrer_counts`). A
    /// function an edit takes out must have none left.
    pub referrers: Vec<u8>,
}

/// An allocated merge section of an object (`patchable_merge`), merged into the output
/// section at file offset `offset`, `size` bytes long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedSpot {
    pub section: u32,
    /// The size of each constant, or 0 for NUL-terminated strings.
    pub constant_size: u32,
    pub offset: u64,
    pub size: u64,
    /// By input offset, ascending.
    pub pieces: Vec<MergedPiece>,
}

/// A string or constant of a [`MergedSpot`]: at `start` in the input section, at `out` in
/// the output section; `shared` when another piece (of any input) is stored there too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergedPiece {
    pub start: u32,
    pub out: u32,
    pub shared: bool,
}

/// A section of an object copied into the output at file offset `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionSpot {
    pub section: u32,
    pub offset: u64,
    pub size: u64,
}

/// Why an output made with `config` cannot be patched, whatever changed.
pub fn unpatchable(config: &Config) -> Option<&'static str> {
    Some(match () {
        _ if config.output_kind == OutputKind::SharedObject => "a shared object may be mapped by a running process",
        _ if config.icf.is_some() => "--icf folds sections by their contents",
        _ if config.gdb_index => "--gdb-index is built from the debug info",
        _ if config.compress_debug_sections.is_some() => "--compress-debug-sections",
        _ if matches!(config.build_id, Some(BuildId::Uuid)) => "a random build id",
        _ => return None,
    })
}

impl OutputMap {
    /// The spots of the object at command-line position and archive member `key`.
    pub(crate) fn object(&self, key: (u32, u32)) -> Option<&ObjectSpots> {
        self.objects.binary_search_by_key(&key, |o| (o.position, o.member)).ok().map(|at| &self.objects[at])
    }

    /// How many more files refer to the global `name` than its definer's count says.
    fn referrers_since(&self, name: &[u8]) -> i64 {
        let at = self.referrers_since.binary_search_by(|(n, _)| n[..].cmp(name));
        at.map_or(0, |at| i64::from(self.referrers_since[at].1))
    }

    fn object_mut(&mut self, key: (u32, u32)) -> Option<&mut ObjectSpots> {
        let at = self.objects.binary_search_by_key(&key, |o| (o.position, o.member)).ok()?;
        Some(&mut self.objects[at])
    }

    /// The map of the output `layout` describes; `ranges` are those the write pass hashed.
    pub fn of(link: &Link<'_>, layout: &Layout<'_>, ranges: Vec<WrittenRange>) -> Option<OutputMap> {
        if unpatchable(link.config).is_some() {
            return None;
        }
        let mut objects = Vec::new();
        let counts = referrer_counts(link);
        for (file, placements) in link.res.files.iter().zip(&layout.placement) {
            let (FileData::Object(object), (position, member)) = (&file.data, file.order) else { continue };
            let globals =
                file.symbol_base as usize + object.first_global..(file.symbol_base + file.symbol_count) as usize;
            let referrers = counts[globals].iter().map(|count| count.load(Ordering::Relaxed)).collect();
            let (mut sections, mut merged) = (Vec::new(), Vec::new());
            for (section, placement) in placements.iter().enumerate() {
                if matches!(placement, Placement::None | Placement::EhFrame { .. }) {
                    continue;
                }
                let header = object.sections.section(object::SectionIndex(section)).ok()?;
                if let &Placement::Merged { out, map } = placement
                    && let Some(constant_size) = patchable_merge(header)
                {
                    let out = &layout.sections[out as usize];
                    let pieces = layout.merge_maps[map as usize].pieces();
                    let pieces = pieces.map(|(start, out, shared)| MergedPiece { start, out, shared }).collect();
                    let (section, offset, size) = (section as u32, out.offset, out.size);
                    merged.push(MergedSpot { section, constant_size, offset, size, pieces });
                }
                let &Placement::At { out, offset } = placement else { continue };
                let out = &layout.sections[out as usize];
                if out.sh_type != SHT_NOBITS && header.sh_type(E) != SHT_NOBITS {
                    sections.push(SectionSpot {
                        section: section as u32,
                        offset: out.offset + offset,
                        size: header.sh_size(E),
                    });
                }
            }
            objects.push(ObjectSpots { position, member, sections, merged, referrers });
        }
        objects.sort_unstable_by_key(|o| (o.position, o.member));
        let build_id = match link.config.build_id {
            Some(BuildId::Sha1 | BuildId::Md5 | BuildId::Fast) => {
                let note = layout.section(crate::synthetic::Synthetic::BuildId)?;
                Some((note.offset + 16, crate::layout::build_id_len(link.config.build_id.as_ref()?) as u32))
            }
            _ => None,
        };
        let ranges = if build_id.is_some() { ranges } else { Vec::new() };
        Some(OutputMap { objects, ranges, build_id, referrers_since: Vec::new() })
    }
}

/// Per symbol id, how many files other than its own refer to it, up to 255: each global of
/// a file that binds to a definition in another file counts once for that definition, and
/// each name the linker itself refers to (`Config::root_names`, `--defsym` targets,
/// `--wrap`'s) counts 255. One pass over the global symbols, on the pool, only in an
/// incremental link.
fn referrer_counts(link: &Link<'_>) -> Vec<AtomicU8> {
    let res = &link.res;
    let counts: Vec<AtomicU8> = std::iter::repeat_with(|| AtomicU8::new(0)).take(res.resolved.len()).collect();
    let count = |id: u32, by: u8| {
        let counter = &counts[id as usize];
        let mut was = counter.load(Ordering::Relaxed);
        while let Err(now) =
            counter.compare_exchange_weak(was, was.saturating_add(by), Ordering::Relaxed, Ordering::Relaxed)
        {
            was = now;
        }
    };
    res.files.par_iter().enumerate().for_each(|(f, file)| {
        let first = match &file.data {
            FileData::Object(object) => object.first_global as u32,
            FileData::Shared(_) => 0,
            FileData::Internal => return,
        };
        for id in file.symbol_base + first..file.symbol_base + file.symbol_count {
            let def = res.resolved[id as usize];
            if def != id && res.file_of_symbol(def) as usize != f {
                count(def, 1);
            }
        }
    });
    // The names the linker itself refers to: its roots, `--defsym` targets and `--wrap`'s.
    let config = link.config;
    let defsyms = config.defsyms.iter().filter_map(|d| match &d.value {
        crate::args::DefsymValue::Symbol { name, .. } => Some(name.as_bytes().to_vec()),
        crate::args::DefsymValue::Absolute(_) => None,
    });
    let wrapped =
        config.wrap.iter().flat_map(|name| [format!("__real_{name}"), format!("__wrap_{name}"), name.clone()]);
    let named = config.root_names().map(<[u8]>::to_vec).chain(defsyms).chain(wrapped.map(String::into_bytes));
    for name in named {
        if let Some(entry) = res.names.get(&name).filter(|e| (e.def as usize) < counts.len()) {
            count(entry.def, u8::MAX);
        }
    }
    counts
}

/// New bytes for the output at `offset`.
pub struct Patch {
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// What a patch of one object did, for `--time`.
#[derive(Default, Debug)]
pub struct Tally {
    pub sections: usize,
    /// Merged strings and constants rewritten where their predecessors were.
    pub merged: usize,
    /// Sections of a new size (merged string sections included): those that shrank stay
    /// where they were, those that grew moved (`overflow`).
    pub resized: usize,
    /// Sections, and merged strings, moved to the overflow segment or to the end of their
    /// output section.
    pub moved: usize,
    /// Sections an edit added (anonymous constants), placed in the overflow segments.
    pub added: usize,
    pub relocations: usize,
    /// Unwind records (FDEs) rewritten: of code that changed or moved.
    pub unwind: usize,
    pub bytes: u64,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sections rewritten ({} resized, {} moved), {} added, {} merged strings and constants rewritten, \
             {} unwind records rewritten, {} relocations re-applied, {} bytes written",
            self.sections, self.resized, self.moved, self.added, self.merged, self.unwind, self.relocations, self.bytes
        )
    }
}

/// Plans the patches of one relink: the changed objects one after another ([`Planner::plan`]),
/// then the headers, the copies and the map that follow from the sections they moved
/// ([`Planner::finish`]).
pub struct Planner<'o> {
    patches: Vec<Patch>,
    /// The merged strings and constants written so far, by output section (`patch_merged`).
    written: HashSet<(u64, Vec<u8>)>,
    /// The output's headers, read once a section must move.
    overflow: Option<Overflow>,
    /// The output's `.eh_frame_hdr` table, read once an unwind record changes.
    unwind_table: Option<HdrTable<'o>>,
    /// The file offset where the records of the output's `.eh_frame` end, once this relink
    /// added one (`Planner::write_unwind_record`).
    unwind_end: Option<u64>,
    /// The FDEs this relink wrote there, by address: the address of their CIE.
    unwind_written: HashMap<u64, u64>,
    /// Debug strings this relink appended: (output section's name, text) → offset in it.
    added_strings: HashMap<(&'static [u8], Vec<u8>), u64>,
    /// The new spots of sections that moved or shrank, by object (position, member).
    respotted: Vec<((u32, u32), SectionSpot)>,
    /// The new pieces of merged string sections whose pieces moved, by object.
    remerged: Vec<((u32, u32), MergedSpot)>,
    /// 64-bit addresses in allocated data that changed, by how much: (place, change).
    addresses_moved: Vec<(u64, i64)>,
    /// The symbols of code that moved or changed its size: `.symtab` follows them
    /// (`symbol_table_writes`).
    code_symbols_moved: Vec<SymbolMove>,
    /// The symbols of functions (and their exception tables) the edits added (name, entry
    /// with its address, the output section the full link would put it in): `.symtab` gets
    /// them (`symbol_table_writes`).
    symbols_added: Vec<(Vec<u8>, Sym, &'static [u8])>,
    /// The global functions the edits added, by name: where they are (a later object's new
    /// code may call them), and whether new code calls them (a full link with
    /// `--gc-sections` would drop one nothing calls: `.symtab` does not list it).
    new_definitions: NewDefinitions,
    /// With `--gc-sections`, the names the linker itself keeps (`Config::root_names`); `None`
    /// without, where every function stays.
    gc_roots: Option<HashSet<Vec<u8>>>,
    /// The symbols of functions the edits took out (name, address): `.symtab` loses them.
    symbols_removed: Vec<(Vec<u8>, u64)>,
    /// The global functions the edits took out, by name: the file offset and address of the
    /// function's first byte, and its size, where a jump can take its callers elsewhere.
    taken_out_at: HashMap<Vec<u8>, (u64, u64, u64)>,
    /// The global functions an edit added under a name the output has (among the new
    /// definitions): moved from another changed object, which takes the name out
    /// (`Planner::finish`).
    moved_in: HashSet<Vec<u8>>,
    /// Where the sections the edits added were placed, by object (numbered as in the old
    /// object's numbering extended: `Shape::numbered_like`).
    added_spots: Vec<((u32, u32), SectionSpot)>,
    /// For each object whose new sections were numbered anew, each section's index in the
    /// object itself (`Shape::numbered_like`): the map takes those once the relink is planned.
    renumbered: Vec<((u32, u32), Vec<u32>)>,
    /// Empty dynamic relocations (`layout::relative_room`) this relink made relative ones.
    relatives_used: usize,
    /// The slots of the room that ends `.got` (`layout::got_room`) this relink filled, by
    /// index in `.got`.
    got_slots_taken: Vec<usize>,
    /// The output's GOT slots, by the address each holds, once a plan needed them.
    got_slots: Option<GotSlots>,
    /// What the changed objects refer to by name, against their earlier copies.
    references: References,
    /// The names new code calls that the output does not define, once a plan failed so.
    missing: Vec<Vec<u8>>,
    pub tally: Tally,
}

/// What the changed objects of a relink refer to by name, against their earlier copies: a
/// global function an edit took out must be called by no file left (`Planner::finish`), and
/// the map's referrer counts follow the edits (`ObjectSpots::referrers`, `References::renew`).
#[derive(Default)]
struct References {
    /// The global functions the edits took out, each with its count of referrers.
    taken_out: Vec<(Vec<u8>, u8)>,
    /// The names that earlier copies referred to and their successors do not, with how many
    /// objects dropped each.
    dropped: HashMap<Vec<u8>, u32>,
    /// The names that new objects refer to and their earlier copies did not, with how many
    /// objects added each.
    added: HashMap<Vec<u8>, u32>,
    /// Per changed object, its new globals' counts before this relink.
    renewed: Vec<RenewedCounts>,
}

/// The referrer counts of a changed object's new globals, by index from the first: the count
/// of the global of the same name in the earlier copy (255 when unknown), `None` for a
/// function the edit added; and the index and name of each global it defines.
struct RenewedCounts {
    key: (u32, u32),
    counts: Vec<Option<u8>>,
    defined: Vec<(usize, Vec<u8>)>,
}

impl References {
    /// Records what `new` refers to that `old` did not, and the reverse; and the referrer
    /// counts of `new`'s globals as they were.
    fn compare(&mut self, (old, new): (&Shape<'_>, &Shape<'_>), symbols: &SymbolMap, spots: &ObjectSpots) {
        let (was, now) = (old.undefined_names(), new.undefined_names());
        for name in was.difference(&now) {
            *self.dropped.entry(name.to_vec()).or_default() += 1;
        }
        for name in now.difference(&was) {
            *self.added.entry(name.to_vec()).or_default() += 1;
        }
        let old_first = old.first_global();
        let counted = spots.referrers.len() == old.symbols.len() - old_first;
        let count = |was: u32| match (was as usize).checked_sub(old_first) {
            // A global the old object did not have (`SymbolMap::old_globals`).
            Some(_) if was as usize >= old.symbols.len() => None,
            Some(global) if counted => Some(spots.referrers[global]),
            // One that was local, or not counted.
            _ => Some(u8::MAX),
        };
        let counts = symbols.old_globals.iter().map(|&was| count(was)).collect();
        let new_first = new.first_global();
        let globals = new.symbols[new_first..].iter().enumerate();
        let defined = globals.filter(|(_, s)| s.st_shndx(E) != SHN_UNDEF);
        let defined = defined.map(|(i, s)| (i, new.symbol_name(s).to_vec())).collect();
        self.renewed.push(RenewedCounts { key: (spots.position, spots.member), counts, defined });
    }

    /// The global function of `old`'s section `index`, which the edit took out: its name and
    /// count of referrers, to be checked once every object is compared.
    fn take_out(&mut self, old: &Shape<'_>, index: usize, spots: &ObjectSpots) -> Result<(), String> {
        let first_global = old.first_global();
        let mut globals = old.symbols.iter().enumerate().skip(first_global);
        let (at, symbol) = globals.find(|(_, s)| usize::from(s.st_shndx(E)) == index).ok_or("no symbol")?;
        let name = old.symbol_name(symbol);
        let counted = spots.referrers.len() == old.symbols.len() - first_global;
        let referrers = spots.referrers.get(at - first_global).filter(|_| counted);
        let referrers = *referrers.ok_or_else(|| format!("the references to `{}` were not counted", demangle(name)))?;
        self.taken_out.push((name.to_vec(), referrers));
        Ok(())
    }

    /// Whether a global function taken out is still referred to: by a file that is not a
    /// changed object whose new copy no longer does (a full link would refuse it, or resolve
    /// it elsewhere), or by new code. One that `moved` to another object may be.
    fn still_called(&self, map: &OutputMap, moved: &HashSet<Vec<u8>>) -> Option<&[u8]> {
        let (taken_out, dropped, added) = (&self.taken_out, &self.dropped, &self.added);
        let still = |(name, referrers): &&(Vec<u8>, u8)| {
            if moved.contains(name) {
                return false;
            }
            let dropped = i64::from(dropped.get(name).copied().unwrap_or(0));
            *referrers == u8::MAX
                || i64::from(*referrers) + map.referrers_since(name) != dropped
                || added.contains_key(name)
        };
        taken_out.iter().find(still).map(|(name, _)| &name[..])
    }

    /// Brings the map's referrer counts up to date: a changed object's globals count the
    /// references the edits added and took out, and the change since their count was last
    /// brought up to date (`OutputMap::referrers_since`); a function an edit added, those of
    /// the changed objects (the output knew no such name: no other file could refer to it).
    /// The other names are defined by objects that did not change, whose counts are not read
    /// here: their changes add up in `OutputMap::referrers_since`, and go with the function
    /// when it is taken out (they were changes of its count). A count that would fall below
    /// zero (the counts went wrong) or reach 255 is unknown (255) from then on, as is
    /// that of a function that `moved` from another object (whose callers are not counted).
    fn renew(self, map: &mut OutputMap, moved: &HashSet<Vec<u8>>) {
        let mut counted = HashSet::new();
        for renewed in &self.renewed {
            let mut counts: Vec<u8> = renewed.counts.iter().map(|c| c.unwrap_or(u8::MAX)).collect();
            for (index, name) in &renewed.defined {
                let dropped = i64::from(self.dropped.get(name).copied().unwrap_or(0));
                let added = i64::from(self.added.get(name).copied().unwrap_or(0));
                let since = map.referrers_since(name);
                let (Some(count), Some(&was)) = (counts.get_mut(*index), renewed.counts.get(*index)) else { continue };
                let now = match was {
                    _ if moved.contains(name) => i64::from(u8::MAX),
                    None => added + since,
                    Some(u8::MAX) => i64::from(u8::MAX),
                    Some(count) => i64::from(count) + since - dropped + added,
                };
                *count = u8::try_from(now).unwrap_or(u8::MAX);
                counted.insert(name);
            }
            map.object_mut(renewed.key).expect("a planned object is in the map").referrers = counts;
        }
        counted.extend(self.taken_out.iter().map(|(name, _)| name));
        let mut since: HashMap<Vec<u8>, i64> =
            map.referrers_since.drain(..).map(|(name, change)| (name, i64::from(change))).collect();
        since.retain(|name, _| !counted.contains(name));
        let uncounted = |(name, _): &(Vec<u8>, u32)| !counted.contains(name);
        for (name, added) in self.added.into_iter().filter(uncounted) {
            *since.entry(name).or_default() += i64::from(added);
        }
        for (name, dropped) in self.dropped.into_iter().filter(uncounted) {
            *since.entry(name).or_default() -= i64::from(dropped);
        }
        let changed = since.into_iter().filter(|&(_, change)| change != 0);
        map.referrers_since = changed.map(|(name, change)| (name, change.clamp(-1 << 20, 1 << 20) as i32)).collect();
        map.referrers_since.sort_unstable();
    }
}

/// The global functions a relink's edits added, by name: their address, and whether new code
/// calls them.
type NewDefinitions = HashMap<Vec<u8>, (u64, bool)>;

/// A symbol of code that moved or changed its size: its name, its old and new address, its
/// new size.
struct SymbolMove {
    name: Vec<u8>,
    was: u64,
    now: u64,
    size: u64,
}

impl<'o> Planner<'o> {
    pub fn new(config: &Config) -> Planner<'o> {
        let gc_roots = config.gc_sections.then(|| config.root_names().map(<[u8]>::to_vec).collect());
        Planner {
            gc_roots,
            patches: Vec::new(),
            written: HashSet::new(),
            overflow: None,
            unwind_table: None,
            unwind_end: None,
            unwind_written: HashMap::new(),
            symbols_added: Vec::new(),
            symbols_removed: Vec::new(),
            new_definitions: HashMap::new(),
            taken_out_at: HashMap::new(),
            moved_in: HashSet::new(),
            added_strings: HashMap::new(),
            respotted: Vec::new(),
            remerged: Vec::new(),
            addresses_moved: Vec::new(),
            code_symbols_moved: Vec::new(),
            added_spots: Vec::new(),
            renumbered: Vec::new(),
            relatives_used: 0,
            got_slots_taken: Vec::new(),
            got_slots: None,
            references: References::default(),
            missing: Vec::new(),
            tally: Tally::default(),
        }
    }

    /// Plans the writes that replace `old`'s placed sections and merged strings (`spots`) in
    /// the output when `new` takes its place, or says why a full link is needed.
    /// `output` is the old output's bytes.
    pub fn plan(&mut self, old: &[u8], new: &[u8], spots: &ObjectSpots, output: &'o [u8]) -> Result<(), String> {
        self.plan_sections(old, new, spots, output, &[])
    }

    /// Makes the functions `names` of `object`, an object that did not change, that no code
    /// called and new code calls, definitions the objects planned next find among the new
    /// ones. Those whose sections the link dropped (garbage collected) are placed as if an
    /// edit had added them (`Planner::plan`): in the overflow segment, made anew, with their
    /// unwind records and `.symtab` entries, and the object's debug information made anew
    /// where it refers to them (a tombstone until then). Those an earlier relink added, and
    /// placed without listing them as a full link leaves them out (`Planner::finish`), are
    /// listed where they are.
    pub fn revive(
        &mut self,
        object: &[u8],
        spots: &ObjectSpots,
        names: &[Vec<u8>],
        output: &'o [u8],
    ) -> Result<(), String> {
        let shape = Shape::parse(object).ok_or("not an ELF relocatable object")?;
        let mut dropped = Vec::new();
        for name in names {
            let uncalled = shape.uncalled_function(spots, name);
            match uncalled.ok_or_else(|| format!("`{}` is no function that no code called", demangle(name)))? {
                (section, None) => dropped.push(section),
                (section, Some(spot)) => self.list_placed(&shape, section, spot, output)?,
            }
        }
        if dropped.is_empty() {
            return Ok(());
        }
        self.plan_sections(object, object, spots, output, &dropped)
    }

    /// Lists the symbols of the function in `section` of `shape`, placed at `spot` by an
    /// earlier relink, in `.symtab`, and its global among the new definitions, called.
    fn list_placed(
        &mut self,
        shape: &Shape<'_>,
        section: usize,
        spot: SectionSpot,
        output: &'o [u8],
    ) -> Result<(), String> {
        let overflow = headers(&mut self.overflow, output)?;
        let address = overflow.address_of(spot.offset).ok_or("an address outside every segment")?;
        for symbol in shape.symbols_in(section).filter(|s| !shape.temporary(s)) {
            let name = shape.symbol_name(symbol).to_vec();
            let at = address + symbol.st_value(E);
            if symbol.st_bind() != STB_LOCAL {
                self.new_definitions.insert(name.clone(), (at, true));
            }
            self.symbols_added.push((name, Sym { st_value: U64::new(E, at), ..*symbol }, b".text"));
        }
        Ok(())
    }

    /// The names that new code calls and the output does not define, when a plan failed for
    /// that: functions the link dropped, which `revive` may place.
    pub fn missing_definitions(&self) -> &[Vec<u8>] {
        &self.missing
    }

    /// [`Planner::plan`], with the sections `revived` of an unchanged object placed as added
    /// ones ([`Planner::revive`]).
    fn plan_sections(
        &mut self,
        old: &[u8],
        new: &[u8],
        spots: &ObjectSpots,
        output: &'o [u8],
        revived: &[usize],
    ) -> Result<(), String> {
        let old = Shape::parse(old).ok_or("the earlier object is not an ELF object")?;
        let new = Shape::parse(new).ok_or("not an ELF relocatable object")?;
        // Sections an edit added are numbered after the old ones, those it took out leave
        // their places empty (`Shape::numbered_like`).
        let (new, numbering) = match old.same_sections(&new) {
            true => (new, Vec::new()),
            false => match new.numbered_like(&old) {
                Some(numbered) => numbered,
                // The same count: the header that differs says why, below.
                None if old.same_section_count(&new) => (new, Vec::new()),
                None => return Err("its sections changed".into()),
            },
        };
        let added = old.headers.len()..new.headers.len();
        let mut placed: HashMap<u32, SectionSpot> = spots.sections.iter().map(|s| (s.section, *s)).collect();
        let merged: HashMap<u32, &MergedSpot> = spots.merged.iter().map(|m| (m.section, m)).collect();
        // The unwind records are compared record by record (`Planner::patch_unwind`).
        let unwind: Vec<usize> = (0..old.headers.len()).filter(|&index| old.unwind_records(index)).collect();
        // The symbol table and its names: compared through the map of the symbols, below; and
        // the section names (in that table with LLVM), header by header.
        let symbol_tables = |index: usize| {
            old.headers[index].sh_type(E) == SHT_SYMTAB || old.symbol_strings == Some(index) || index == old.names_index
        };
        let unwind_records = |index: usize| {
            let header = &old.headers[index];
            unwind.contains(&index) || header.sh_type(E) == SHT_RELA && unwind.contains(&(header.sh_info(E) as usize))
        };
        // The headers first: a section that changed its size in a way the patch cannot
        // follow is the commonest reason to link in full, found without reading any
        // section's contents.
        let mut resized = Vec::new();
        // Merged string sections whose pieces are placed again, one by one.
        let mut reshuffled = Vec::new();
        // Code whose relocations changed: its fields are made anew (`Rebuild`).
        let mut rebuilt = Vec::new();
        for (index, (a, b)) in old.headers.iter().zip(new.headers.iter()).enumerate() {
            if new.gone(index) {
                // An anonymous constant or a function taken out: its old bytes stay,
                // unreferenced; the function's `.symtab` entry goes (`symbol_table_writes`).
                // A global one must be called by no file left (`Planner::finish`), and
                // exported by no `.dynsym` (the relink cannot take it out of that).
                let global = old.new_global_function(index);
                let listed = old.lone_function(index) || old.lone_except_table(index) || global;
                if a.sh_type(E) != SHT_RELA && !old.named_alone(index) && !listed {
                    return Err(format!("section {} that a symbol names was taken out", old.name(index)));
                }
                if global {
                    self.references.take_out(&old, index, spots)?;
                    if old.symbols_in(index).any(|s| s.st_visibility() != STV_HIDDEN)
                        && headers(&mut self.overflow, output)?.exports(output)?
                    {
                        return Err(format!(
                            "a function taken out of an output that exports its own, {}",
                            old.name(index)
                        ));
                    }
                }
                if listed && let Some(spot) = placed.get(&(index as u32)) {
                    let overflow = headers(&mut self.overflow, output)?;
                    let at = overflow.address_of(spot.offset).ok_or("a section outside every segment")?;
                    for symbol in old.symbols_in(index).filter(|s| !old.temporary(s)) {
                        let (name, value) = (old.symbol_name(symbol).to_vec(), symbol.st_value(E));
                        if global && symbol.st_bind() != STB_LOCAL {
                            let size = spot.size.saturating_sub(value);
                            self.taken_out_at.insert(name.clone(), (spot.offset + value, at + value, size));
                        }
                        self.symbols_removed.push((name, at + value));
                    }
                }
                continue;
            }
            let same_header = old.same_header(&new, index);
            // Code may be aligned anew: it is placed as if it were resized.
            let realigned = a.sh_addralign(E) != b.sh_addralign(E);
            if !same_header || realigned && !(old.executable(index) && old.movable(index)) {
                return Err(format!("section {} changed its attributes", old.name(index)));
            }
            // The symbols are compared through the map (`symbol_map`): one more name is no
            // change of shape.
            if symbol_tables(index) {
                continue;
            }
            let strings = merged.get(&(index as u32)).is_some_and(|m| m.constant_size == 0);
            let relocations_of_code = a.sh_type(E) == SHT_RELA && old.rebuildable(a.sh_info(E) as usize);
            if a.sh_size(E) != b.sh_size(E) && relocations_of_code {
                rebuilt.push(a.sh_info(E) as usize);
            } else if a.sh_size(E) != b.sh_size(E) && unwind_records(index) {
                // Records of added functions (`Planner::patch_unwind`).
            } else if a.sh_size(E) != b.sh_size(E) && old.debug_strings_section(index) {
                // Found by their text (`string_fields`), new ones appended (`add_strings`).
            } else if a.sh_size(E) != b.sh_size(E) && strings {
                // Its pieces are placed one by one (`Planner::move_merged`).
                reshuffled.push(index);
            } else if a.sh_size(E) != b.sh_size(E) || realigned {
                let movable = old.movable(index);
                if !copied_as_is(a, old.name_bytes(index)) || placed.contains_key(&(index as u32)) && !movable {
                    return Err(format!("section {} changed its size", old.name(index)));
                }
                resized.push(index);
                // Writable data moves with its addresses, each made anew (`Planner::resize`).
                if a.sh_flags(E) & SHF_WRITE as u64 != 0 && !rebuilt.contains(&index) {
                    rebuilt.push(index);
                }
            }
        }
        // A unit's emptied address ranges keep naming its old unit: it must move too, and
        // stay behind emptied.
        let resized_named = |name: &[u8]| resized.iter().any(|&index| old.name_bytes(index) == name);
        if resized_named(b".debug_aranges") && !resized_named(b".debug_info") {
            return Err("the address ranges of a unit that keeps its size changed".into());
        }
        // Then the sections that must not change at all (symbols, `.eh_frame`, `.comment`...):
        // before the code and data, the bulk of the object, are read.
        let must_stay = |index: usize| {
            let header = &old.headers[index];
            !matches!(header.sh_type(E), SHT_NOBITS | SHT_RELA)
                && !new.gone(index)
                && !copied_as_is(header, old.name_bytes(index))
                && !merged.contains_key(&(index as u32))
                && !unwind.contains(&index)
                && !old.debug_strings_section(index)
        };
        // The symbols, compared by name: rustc may list the same ones in another order.
        // Strings may be labelled anew when their section's strings are placed one by one
        // (checked once that is known, below).
        let strings: Vec<usize> =
            merged.iter().filter(|(_, m)| m.constant_size == 0).map(|(&s, _)| s as usize).collect();
        let shifted: Vec<usize> = reshuffled.iter().chain(&strings).copied().collect();
        let symbols = old.symbol_map(&new, &resized, &shifted, added.start).ok_or("its symbols changed")?;
        self.references.compare((&old, &new), &symbols, spots);
        for index in (0..old.headers.len()).filter(|&index| must_stay(index) && !symbol_tables(index)) {
            let group = old.headers[index].sh_type(E) == SHT_GROUP;
            if group && old.group(index)? != new.group(index)?
                || !group && old.contents(index)? != new.contents(index)?
            {
                return Err(format!("the contents of {} changed", old.name(index)));
            }
        }
        crate::input::populate(old.data);
        // Sections whose bytes or relocation addends changed, or that refer to one that moved.
        let mut changed = vec![false; new.headers.len()];
        let mut moved = HashMap::new();
        let mut places = HashMap::new();
        for &index in resized.iter().filter(|&&index| placed.contains_key(&(index as u32))) {
            let (offset, by) = self.resize((&old, &new), &symbols, index, spots, &placed, output)?;
            places.insert(index as u32, offset);
            // Even where it stayed, what its temporaries name may have moved within it.
            moved.insert(index as u32, by);
        }
        if !moved.is_empty() {
            new.referrers(&moved, &mut changed)?;
        }
        // Debug strings in another order: every reference to them is found again by its text.
        let mut debug_strings = HashMap::new();
        for index in (0..old.headers.len()).filter(|&index| old.debug_strings_section(index)) {
            if old.contents(index)? != new.contents(index)? {
                debug_strings.insert(index as u32, 0);
            }
        }
        if !debug_strings.is_empty() {
            new.referrers(&debug_strings, &mut changed)?;
        }
        // Merged string sections whose pieces moved: where each piece was and is.
        let mut placed_pieces: HashMap<u32, PieceMoves> = HashMap::new();
        for (index, a) in old.headers.iter().enumerate() {
            let unwind_records = unwind_records(index);
            // Debug strings were compared above.
            let compared = must_stay(index) || old.debug_strings_section(index);
            if a.sh_type(E) == SHT_NOBITS || compared || resized.contains(&index) || unwind_records || new.gone(index) {
                continue;
            }
            let (a_bytes, b_bytes) = (old.contents(index)?, new.contents(index)?);
            // The same relocations name other symbols when the globals' order changed.
            if a_bytes == b_bytes && (a.sh_type(E) != SHT_RELA || symbols.identity) {
                continue;
            }
            if a.sh_type(E) == SHT_RELA {
                let target = a.sh_info(E) as usize;
                let same_targets = symbols.same_targets(old.relas(index)?, new.relas(index)?);
                if !same_targets && old.rebuildable(target) {
                    if !rebuilt.contains(&target) {
                        rebuilt.push(target);
                    }
                    changed[target] = true;
                    continue;
                }
                if !same_targets {
                    return Err(format!("the relocations of {} changed", old.name(index)));
                }
                // New addends change the bytes of the section they apply to: it must be one the
                // patch can rewrite (not `.eh_frame`, whose records the link rebuilds).
                if old.headers.get(target).is_none_or(|t| !copied_as_is(t, old.name_bytes(target))) {
                    return Err(format!("the relocations of {} changed", old.name(index)));
                }
                changed[target] = true;
                continue;
            }
            if let Some(merged) = merged.get(&(index as u32)) {
                let in_place = match reshuffled.contains(&index) {
                    true => Err("a string changed its length"),
                    false => patch_merged(a_bytes, b_bytes, merged, output, &mut self.written, &mut self.tally),
                };
                match in_place {
                    Ok(patches) => self.patches.extend(patches),
                    Err(why) if merged.constant_size != 0 => {
                        return Err(format!("the merged {} changed: {why}", old.name(index)));
                    }
                    Err(_) if !old.named_alone(index) => {
                        return Err(format!("the merged {} changed, and a symbol names it", old.name(index)));
                    }
                    Err(_) => {
                        let pieces = self.move_merged(a_bytes, b_bytes, merged, output);
                        let pieces = pieces.map_err(|why| format!("the merged {} changed: {why}", old.name(index)))?;
                        self.tally.resized += usize::from(reshuffled.contains(&index));
                        placed_pieces.insert(index as u32, pieces);
                    }
                }
                continue;
            }
            changed[index] = true;
        }
        for &index in &resized {
            changed[index] = placed.contains_key(&(index as u32));
        }
        for &index in &rebuilt {
            changed[index] = placed.contains_key(&(index as u32));
        }
        // Sections the link dropped that new code refers to (a constant or a static function
        // nothing used before) are placed as if the edit had added them.
        let in_output = rebuilt.iter().filter(|&&index| placed.contains_key(&(index as u32)));
        let referrers: Vec<usize> = in_output.chain(revived).copied().chain(added.clone()).collect();
        let revived: Vec<usize> =
            revived.iter().copied().chain(new.made_live(&referrers, &placed, old.headers.len())?).collect();
        // The sections the edit added: to the overflow segments, made from the new object
        // alone, like rebuilt code.
        for index in
            added.clone().chain(revived.iter().copied()).filter(|&index| new.headers[index].sh_type(E) != SHT_RELA)
        {
            let function = new.lone_function(index) || new.new_global_function(index);
            // Its symbols that `.symtab` lists (a function's, an exception table's label), in
            // the output section the full link would put it in.
            let listed = match (function, new.lone_except_table(index)) {
                (true, _) => Some(&b".text"[..]),
                (false, true) => Some(&b".gcc_except_table"[..]),
                (false, false) => None,
            };
            if !new.named_alone(index) && listed.is_none() {
                return Err(format!("an added section {} that a symbol names", new.name(index)));
            }
            let header = &new.headers[index];
            let (size, align) = (header.sh_size(E), header.sh_addralign(E).max(1));
            let overflow = headers(&mut self.overflow, output)?;
            let writable = header.sh_flags(E) & SHF_WRITE as u64 != 0;
            let addresses = new.relocations_of(index)?.iter().any(|r| r.r_type(E, false) == R_X86_64_64);
            if addresses && !writable && overflow.position_independent() {
                // The loader could not write its relocations there.
                return Err(format!("an added section {} of read-only data with addresses", new.name(index)));
            }
            let (offset, address) = match writable {
                true => overflow.place_writable(size, align)?,
                false => overflow.place(size, align, function)?,
            };
            if let Some(output_section) = listed {
                // `.symtab` names it too, for debuggers and profilers (`symbol_table_writes`).
                for symbol in new.symbols_in(index).filter(|s| !new.temporary(s)) {
                    let name = new.symbol_name(symbol).to_vec();
                    if symbol.st_bind() != STB_LOCAL {
                        // A new global: the output may export none of its own (the relink
                        // cannot add to `.dynsym`). One whose name the output knows moved
                        // from another object, which must take it out in this relink: the
                        // code that calls it there is sent on (`Planner::finish`), and is
                        // not counted (`References::renew`).
                        if symbol.st_visibility() != STV_HIDDEN && overflow.exports(output)? {
                            return Err(format!(
                                "a function added to an output that exports its own, {}",
                                new.name(index)
                            ));
                        }
                        let moved = output_knows(overflow, output, &name)?;
                        if moved {
                            self.moved_in.insert(name.clone());
                        }
                        self.new_definitions.insert(name.clone(), (address + symbol.st_value(E), moved));
                    }
                    let entry = Sym { st_value: U64::new(E, address + symbol.st_value(E)), ..*symbol };
                    self.symbols_added.push((name, entry, output_section));
                }
            }
            placed.insert(index as u32, SectionSpot { section: index as u32, offset, size });
            self.added_spots
                .push(((spots.position, spots.member), SectionSpot { section: index as u32, offset, size }));
            self.tally.added += 1;
            changed[index] = true;
            rebuilt.push(index);
        }
        // Debug information that refers to a revived function holds tombstones there: it is
        // made anew, with the function's address.
        for header in old.headers.iter().filter(|h| !revived.is_empty() && h.sh_type(E) == SHT_RELA) {
            let target = header.sh_info(E) as usize;
            let debug = old.headers.get(target).is_some_and(|h| h.sh_flags(E) & SHF_ALLOC as u64 == 0);
            if !debug || !old.rebuildable(target) || !placed.contains_key(&(target as u32)) {
                continue;
            }
            let revived_target = |r: &Rela| {
                old.section_of_symbol(r.r_sym(E, false)).is_some_and(|section| revived.contains(&(section as usize)))
            };
            if old.relocations_of(target)?.iter().any(revived_target) && !rebuilt.contains(&target) {
                rebuilt.push(target);
                changed[target] = true;
            }
        }
        if !numbering.is_empty() {
            self.renumbered.push(((spots.position, spots.member), numbering));
        }
        let mut resolved = match rebuilt.iter().any(|index| placed.contains_key(&(*index as u32))) {
            true => {
                let overflow = headers(&mut self.overflow, output)?;
                let found = (&*overflow, &mut self.got_slots, &mut self.new_definitions, &mut self.missing);
                // What the old output shows is read where the old object's sections were: a
                // revived function was in no output.
                let was_placed = match revived.is_empty() {
                    true => Cow::Borrowed(&placed),
                    false => Cow::Owned(
                        placed
                            .iter()
                            .filter(|(s, _)| !revived.contains(&(**s as usize)))
                            .map(|(s, p)| (*s, *p))
                            .collect(),
                    ),
                };
                resolve_globals(&old, &new, &symbols, &rebuilt, &was_placed, found, output)?
            }
            false => Default::default(),
        };
        // Code that loads or calls through the GOT a symbol the output has no slot for: a slot
        // of the room the full link left (`layout::got_room`). The references, in one pass: the
        // globals by their old index (whether only a relaxable form names it), this object's
        // own symbols (Cranelift loads its data through the GOT) by their index.
        let (mut globals_through_got, mut locals_through_got) = (HashMap::new(), Vec::new());
        for &index in rebuilt.iter().filter(|&&index| placed.contains_key(&(index as u32))) {
            for r in new.relocations_of(index)? {
                let (r_type, sym) = (r.r_type(E, false), r.r_sym(E, false));
                let relaxable_form = matches!(r_type, R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX);
                if r_type != R_X86_64_GOTPCREL && !relaxable_form {
                    continue;
                }
                match new.section_of_symbol(sym) {
                    Some(section) if r_type == R_X86_64_GOTPCREL && !merged.contains_key(&section) => {
                        locals_through_got.push((sym, section));
                    }
                    Some(_) => {}
                    None => *globals_through_got.entry(symbols.old_index(sym)).or_insert(true) &= relaxable_form,
                }
            }
        }
        // The target's address: known, or where the old code's calls went when that is not a
        // PLT entry (a function of the output, called directly).
        let overflow = self.overflow.as_ref();
        let direct = |found: &Resolved| {
            let called = found.call.filter(|&at| overflow.is_some_and(|o| !o.in_linkage_table(at)));
            found.address.or(called)
        };
        let mut wanted: Vec<(u32, u64)> = resolved
            .iter()
            .filter(|(_, found)| found.slot.is_none())
            .filter(|(sym, found)| {
                globals_through_got.get(*sym).is_some_and(|&only_relaxable| !only_relaxable || !found.relaxable)
            })
            .filter_map(|(&sym, found)| direct(found).map(|at| (sym, at)))
            .collect();
        wanted.sort_unstable();
        for (sym, address) in wanted {
            let slot = self.spare_got_slot(address, output)?;
            resolved.get_mut(&sym).expect("a resolved symbol").slot = Some(slot);
        }
        // This object's own: the slot the output has for the address; or the one it has for
        // where the symbol was, which follows it (`Follow::got_slots` does the same for code
        // not made anew); or one of the room's. By address.
        let mut local_slots: HashMap<u64, u64> = HashMap::new();
        let mut local_wanted = Vec::new();
        if !locals_through_got.is_empty() {
            let overflow = headers(&mut self.overflow, output)?;
            let mut places = Vec::with_capacity(locals_through_got.len());
            for (sym, section) in locals_through_got {
                let Some(at) = placed.get(&section).and_then(|spot| overflow.address_of(spot.offset)) else { continue };
                let moved_by = moved.get(&section).copied().unwrap_or(0) as u64;
                let address = at.wrapping_add(moved_by).wrapping_add(new.symbols[sym as usize].st_value(E));
                let was = old.symbols.get(symbols.old_index(sym) as usize).map(|s| at.wrapping_add(s.st_value(E)));
                places.push((address, was.filter(|&was| was != address)));
            }
            let got = got_index(&mut self.got_slots, overflow, output)?;
            let slots = got.slots_of(places.iter().flat_map(|&(address, was)| [Some(address), was]).flatten());
            for (address, was) in places {
                let old_slot = was.and_then(|was| slots.get(&was).map(|&slot| (slot, was)));
                local_wanted.push((address, slots.get(&address).copied(), old_slot));
            }
        }
        for (address, found, old_slot) in local_wanted {
            if local_slots.contains_key(&address) {
                continue;
            }
            let slot = match (found, old_slot) {
                (Some(slot), _) => slot,
                (None, Some((slot, was))) => {
                    if !self.addresses_moved.iter().any(|&(place, _)| place == slot) {
                        let overflow = headers(&mut self.overflow, output)?;
                        let at = overflow.offset_of(slot).ok_or("a .got outside every segment")?;
                        self.patches.push(Patch { offset: at, bytes: address.to_le_bytes().to_vec() });
                        self.addresses_moved.push((slot, address.wrapping_sub(was) as i64));
                    }
                    slot
                }
                (None, None) => self.spare_got_slot(address, output)?,
            };
            local_slots.insert(address, slot);
        }
        let relabelled = |i: usize| {
            let Some(a) = old.symbols.get(symbols.old_index(i as u32) as usize) else { return false };
            let b = &new.symbols[i];
            let section = u32::from(a.st_shndx(E));
            a.st_value(E) != b.st_value(E)
                && strings.contains(&(section as usize))
                && !placed_pieces.contains_key(&section)
        };
        let labels_changed = symbols.relabelled_strings.iter().any(|section| !placed_pieces.contains_key(section));
        if labels_changed || (0..symbols.first_global).any(relabelled) {
            return Err("a string's label moved in a section written in place".into());
        }
        if !placed_pieces.is_empty() {
            let sections: HashMap<u32, i64> = placed_pieces.keys().map(|&s| (s, 0)).collect();
            new.referrers(&sections, &mut changed)?;
            for (&section, pieces) in &placed_pieces {
                let spot = merged[&section];
                let pieces =
                    pieces.new.iter().map(|&(start, out, shared)| MergedPiece { start, out, shared }).collect();
                self.remerged.push(((spots.position, spots.member), MergedSpot { pieces, ..spot.clone() }));
            }
        }
        let strings_changed = !debug_strings.is_empty();
        let targets = Targets {
            placed: &placed,
            moved: &moved,
            pieces: &placed_pieces,
            strings_changed,
            added: added.start,
            revived: &revived,
        };
        for &index in &unwind {
            self.patch_unwind(&old, &new, &symbols, index, &targets, output)?;
        }
        for (index, header) in new.headers.iter().enumerate().filter(|&(index, _)| changed[index]) {
            let Some(spot) = placed.get(&(index as u32)) else { continue };
            if old.headers.get(index).is_some_and(|h| spot.size != h.sh_size(E)) {
                return Err(format!("section {} is not where the map says", old.name(index)));
            }
            if header.sh_flags(E) & SHF_COMPRESSED as u64 != 0 {
                return Err(format!("section {} is compressed", old.name(index)));
            }
            let allocated = header.sh_flags(E) & SHF_ALLOC as u64 != 0;
            let rebuilt_code = rebuilt.contains(&index);
            // Rebuilt code is made from the new object alone.
            let old_output =
                if rebuilt_code && allocated { &[][..] } else { output_at(output, spot.offset, spot.size)? };
            // (Not of a revived function: its old bytes are in no output.)
            let thread_locals = match index < old.headers.len() && rebuilt_code && !revived.contains(&index) {
                true => {
                    old.thread_local_offsets(old.relocations_of(index)?, output_at(output, spot.offset, spot.size)?)
                }
                false => HashMap::new(),
            };
            let mut follow = Follow::default();
            let mut bytes = if rebuilt_code {
                let overflow = headers(&mut self.overflow, output)?;
                let code = Rebuild {
                    placed: &placed,
                    moved: &moved,
                    merged: &merged,
                    pieces: &placed_pieces,
                    resolved: &resolved,
                    local_slots: &local_slots,
                    thread_locals: &thread_locals,
                    overflow,
                };
                if allocated {
                    code.section(&new, &symbols, index, spot, &mut follow)?
                } else {
                    code.debug_section(&old, &new, index, old_output, &mut follow)?
                }
            } else {
                patch_section(&old, &new, index, old_output, &targets, &mut follow)?
            };
            self.tally.relocations += follow.relocations;
            if !follow.new_strings.is_empty() {
                self.add_strings(&follow.new_strings, &mut bytes, output)?;
            }
            let offset = places.get(&(index as u32)).copied().unwrap_or(spot.offset);
            // Placed anew: its addresses need relative relocations of their own.
            let anew = added.contains(&index) || revived.contains(&index) || offset != spot.offset;
            if !follow.new_addresses.is_empty() && anew {
                self.add_relatives(offset, &follow.new_addresses, output)?;
            } else if !follow.new_addresses.is_empty() {
                // Data made anew where it was: its addresses must be where they were, each
                // with the relative relocation the full link gave it.
                let addresses = |shape: &Shape<'_>| -> Result<Vec<u64>, String> {
                    let relocations = shape.relocations_of(index)?.iter();
                    Ok(relocations.filter(|r| r.r_type(E, false) == R_X86_64_64).map(|r| r.r_offset(E)).collect())
                };
                if addresses(&old)? != addresses(&new)? {
                    return Err(format!("the addresses in {} moved", old.name(index)));
                }
                self.set_relatives(offset, &follow.new_addresses, output)?;
            }
            if !follow.addresses.is_empty() || !follow.got_slots.is_empty() {
                let overflow = headers(&mut self.overflow, output)?;
                let outside = "an address outside every segment";
                for (at, delta) in follow.addresses {
                    self.addresses_moved.push((overflow.address_of(offset + at).ok_or(outside)?, delta));
                }
                let section = overflow.address_of(spot.offset).ok_or(outside)?;
                for (relative, by) in follow.got_slots {
                    let slot = section.wrapping_add(relative as u64);
                    if self.addresses_moved.iter().any(|&(place, _)| place == slot) {
                        continue;
                    }
                    // The slot holds the target's address (and, position-independent, has a
                    // relative dynamic relocation for it): both follow the target.
                    let at = overflow.offset_of(slot).ok_or(outside)?;
                    let held = output_at(output, at, 8)?.try_into().expect("eight bytes");
                    let now = u64::from_le_bytes(held).wrapping_add(by as u64);
                    self.patches.push(Patch { offset: at, bytes: now.to_le_bytes().to_vec() });
                    self.addresses_moved.push((slot, by));
                }
            }
            // A section that shrank where it was: the rest of its room is zeros.
            bytes.resize(bytes.len().max(if offset == spot.offset { spot.size as usize } else { 0 }), 0);
            self.tally.sections += 1;
            self.tally.bytes += bytes.len() as u64;
            self.patches.push(Patch { offset, bytes });
        }
        Ok(())
    }

    /// Gives each address of `addresses` ((offset in the section, address)) of data an edit
    /// added at file offset `offset` the relative dynamic relocation a position-independent
    /// output needs for it, in one of the empty entries that end `.rela.dyn`
    /// (`layout::relative_room`), the first this relink has not taken yet.
    fn add_relatives(&mut self, offset: u64, addresses: &[(u64, u64)], output: &[u8]) -> Result<(), String> {
        let overflow = headers(&mut self.overflow, output)?;
        if !overflow.position_independent() {
            return Ok(());
        }
        let (at, size) = overflow.dynamic_relocations(output)?.ok_or("an output without dynamic relocations")?;
        let relocations: &[Rela] = object::pod::slice_from_all_bytes(output_at(output, at, size)?)
            .map_err(|_| "a dynamic relocation table cut short")?;
        let empty = |r: &Rela| r.r_offset(E) == 0 && r.r_info(E, false) == 0 && r.r_addend(E) == 0;
        let free = relocations.len() - relocations.iter().rev().take_while(|r| empty(r)).count();
        for &(within, address) in addresses {
            let slot = free + self.relatives_used;
            if slot >= relocations.len() {
                return Err("no empty dynamic relocation left for an added address".into());
            }
            let place = overflow.address_of(offset + within).ok_or("an address outside every segment")?;
            let mut entry = Vec::with_capacity(24);
            entry.extend_from_slice(&place.to_le_bytes());
            entry.extend_from_slice(&u64::from(R_X86_64_RELATIVE).to_le_bytes());
            entry.extend_from_slice(&address.to_le_bytes());
            self.patches.push(Patch { offset: at + slot as u64 * 24, bytes: entry });
            self.relatives_used += 1;
        }
        Ok(())
    }

    /// Sets the relative dynamic relocation of each address of `addresses` ((offset in the
    /// section, address)) of data at file offset `offset`, made anew where it was, to the
    /// address (nothing to do in an output that is not position-independent).
    fn set_relatives(&mut self, offset: u64, addresses: &[(u64, u64)], output: &[u8]) -> Result<(), String> {
        let overflow = headers(&mut self.overflow, output)?;
        if !overflow.position_independent() {
            return Ok(());
        }
        let outside = "an address outside every segment";
        let mut wanted = Vec::with_capacity(addresses.len());
        for &(within, address) in addresses {
            wanted.push((overflow.address_of(offset + within).ok_or(outside)?, address));
        }
        let found = dynamic_relocations_at(overflow, wanted.iter().map(|&(place, _)| place), output)?;
        for (place, address) in wanted {
            match found.get(&place) {
                Some(&(entry, R_X86_64_RELATIVE, _)) => {
                    self.patches.push(Patch { offset: entry + 16, bytes: address.to_le_bytes().to_vec() })
                }
                Some(_) => {
                    return Err(format!("the address at {place:#x} has a dynamic relocation that is not relative"));
                }
                None => return Err(format!("the address at {place:#x} has no dynamic relocation")),
            }
        }
        Ok(())
    }

    /// A slot of the room that ends the output's `.got` (`layout::got_room`) that neither an
    /// earlier relink (which left an address in it) nor this one took, filled with `address`
    /// (with, position-independent, a relative dynamic relocation): its address.
    fn spare_got_slot(&mut self, address: u64, output: &[u8]) -> Result<u64, String> {
        let overflow = headers(&mut self.overflow, output)?;
        let got = overflow.section_named(b".got").ok_or("an output without .got")?;
        let offset = overflow.section_offset(got);
        let size = overflow.section_at(offset).map_or(0, |h| h.sh_size(E));
        let slots: &[object::U64<LE>] = object::pod::slice_from_all_bytes(output_at(output, offset, size)?)
            .map_err(|_| "a .got of a size not a multiple of 8")?;
        let room = slots.len() - crate::layout::got_room_within(slots.len() as u64) as usize;
        let free = (room..slots.len()).find(|&i| slots[i].get(E) == 0 && !self.got_slots_taken.contains(&i));
        let free = free.ok_or("no empty GOT slot left for a new reference through the GOT")?;
        self.got_slots_taken.push(free);
        let at = offset + 8 * free as u64;
        self.patches.push(Patch { offset: at, bytes: address.to_le_bytes().to_vec() });
        self.add_relatives(at, &[(0, address)], output)?;
        let overflow = headers(&mut self.overflow, output)?;
        overflow.address_of(at).ok_or_else(|| "a .got outside every segment".into())
    }

    /// Appends to the output's debug string sections the strings `wanted` (field, section
    /// name, text) that it does not hold yet, once each, and writes their offsets into the
    /// fields of `bytes` that refer to them. The section grows at its end (`overflow`).
    fn add_strings(
        &mut self,
        wanted: &[(usize, &'static [u8], Vec<u8>)],
        bytes: &mut [u8],
        output: &[u8],
    ) -> Result<(), String> {
        let overflow = headers(&mut self.overflow, output)?;
        for (at, section, text) in wanted {
            let key = (*section, text.clone());
            let offset = match self.added_strings.get(&key) {
                Some(&offset) => offset,
                None => {
                    // Its offset, not its index, changes when the section is copied.
                    let index = overflow.section_named(section).ok_or("no such output section")?;
                    let start = overflow.section_offset(index);
                    let mut string = text.clone();
                    string.push(0);
                    let (file_offset, offset) = overflow.grow(start, string.len() as u64, 1)?;
                    self.tally.bytes += string.len() as u64;
                    self.patches.push(Patch { offset: file_offset, bytes: string });
                    self.added_strings.insert(key, offset);
                    offset
                }
            };
            let offset = u32::try_from(offset).map_err(|_| "a debug string past 4 GiB")?;
            bytes[*at..*at + 4].copy_from_slice(&offset.to_le_bytes());
        }
        Ok(())
    }

    /// Rewrites, where the output has them, the unwind records (`.eh_frame`, section `index`)
    /// of the functions that changed or moved. The records must be the same in number, kind
    /// and length, the CIEs the same, and each record's relocations the same but for their
    /// addends. An FDE is written again from the object's, its CIE pointer kept (the CIE stays
    /// where it is) and its fields made from the new addresses of what they point at (the
    /// function and its exception table, sections of this object). The output's FDE is found
    /// through `.eh_frame_hdr`, whose entry follows a function that moved (`HdrTable`).
    fn patch_unwind(
        &mut self,
        old: &Shape<'_>,
        new: &Shape<'_>,
        symbols: &SymbolMap,
        index: usize,
        targets: &Targets<'_>,
        output: &'o [u8],
    ) -> Result<(), String> {
        let Targets { placed, moved, added, revived, .. } = *targets;
        let (old_bytes, new_bytes) = (old.contents(index)?, new.contents(index)?);
        let (old_relas, new_relas) = (old.relocations_of(index)?, new.relocations_of(index)?);
        let moves = |r: &Rela| {
            new.section_of_symbol(r.r_sym(E, false)).is_some_and(|s| moved.get(&s).is_some_and(|&by| by != 0))
        };
        let same_relas =
            symbols.identity && object::pod::bytes_of_slice(old_relas) == object::pod::bytes_of_slice(new_relas);
        if old_bytes == new_bytes && same_relas && !new_relas.iter().any(moves) && revived.is_empty() {
            return Ok(());
        }
        let fail = |what: &str| format!("{what} in {}", old.name(index));
        let split = |bytes| crate::eh_frame::split(bytes).ok_or_else(|| fail("malformed unwind records"));
        let by_offset = |relas: &[Rela]| relas.is_sorted_by_key(|r| r.r_offset(E));
        if !by_offset(old_relas) || !by_offset(new_relas) {
            return Err(fail("unwind records with relocations out of order"));
        }
        fn relocations<'r>(relas: &'r [Rela], r: &crate::eh_frame::Record) -> &'r [Rela] {
            let start = relas.partition_point(|x| x.r_offset(E) < u64::from(r.offset));
            let end = relas.partition_point(|x| x.r_offset(E) < u64::from(r.offset + r.size));
            &relas[start..end]
        }
        // The FDEs of functions the edit added (their `pc_begin` names an added section) are
        // new records; every other pairs with the old record in its place.
        // The section of an FDE's function: what its first relocation, at `pc_begin`, names.
        let function = |shape: &Shape<'_>, relas: &[Rela], r: &crate::eh_frame::Record| {
            let first = relocations(relas, r).first().filter(|x| x.r_offset(E) == u64::from(r.offset) + 8);
            first.and_then(|x| shape.section_of_symbol(x.r_sym(E, false))).filter(|_| r.cie.is_some())
        };
        // A revived function's record is a new one too: the link dropped the old one with it.
        let revived_or = |s: u32, or: bool| or || revived.contains(&(s as usize));
        let of_added_function = |r: &_| function(new, new_relas, r).is_some_and(|s| revived_or(s, s as usize >= added));
        // Those of functions it took out stay in the output, describing code nothing calls.
        let of_gone_function = |r: &_| function(old, old_relas, r).is_some_and(|s| revived_or(s, new.gone(s as usize)));
        let (old_records, all) = (split(old_bytes)?, split(new_bytes)?);
        let (gone_fdes, was): (Vec<_>, Vec<_>) = old_records.into_iter().partition(of_gone_function);
        // A CIE that only taken-out functions' records used stays too.
        let used_cies: HashSet<u32> = was.iter().filter_map(|r| r.cie).collect();
        let gone_cie = |r: &crate::eh_frame::Record| {
            r.cie.is_none() && !used_cies.contains(&r.offset) && gone_fdes.iter().any(|f| f.cie == Some(r.offset))
        };
        let was: Vec<_> = was.into_iter().filter(|r| !gone_cie(r)).collect();
        let (now, new_fdes): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| !of_added_function(r));
        // A CIE only added functions' records use (one without a personality routine, when
        // every old function had one) is added with them.
        let kept_cies: HashSet<u32> = now.iter().filter_map(|r| r.cie).collect();
        let added_cie = |r: &crate::eh_frame::Record| {
            r.cie.is_none() && !kept_cies.contains(&r.offset) && new_fdes.iter().any(|f| f.cie == Some(r.offset))
        };
        let (new_cies, now): (Vec<_>, Vec<_>) = now.into_iter().partition(added_cie);
        if was.len() != now.len() {
            return Err(fail("unwind records added or removed"));
        }
        // Records are in the order of their offsets (`eh_frame::split`).
        let cie_index =
            |records: &[crate::eh_frame::Record], cie: u32| records.binary_search_by_key(&cie, |r| r.offset).ok();
        let overflow = headers(&mut self.overflow, output)?;
        let outside = "an address outside every segment";
        // The symbol's address, before and after the relink, or `None` when its section is
        // not in the output.
        let addresses = |sym: u32| -> Result<Option<(u64, u64)>, String> {
            let section = new.section_of_symbol(sym).ok_or_else(|| fail("an unwind record naming a global symbol"))?;
            let Some(spot) = placed.get(&section) else { return Ok(None) };
            let at = overflow.address_of(spot.offset).ok_or(outside)?;
            let by = moved.get(&section).copied().unwrap_or(0);
            let old_symbol = old.symbols.get(symbols.old_index(sym) as usize);
            let was = old_symbol.ok_or_else(|| fail("an unwind record naming a new symbol"))?.st_value(E);
            let now = new.symbols[sym as usize].st_value(E);
            Ok(Some((at.wrapping_add(was), at.wrapping_add(now).wrapping_add(by as u64))))
        };
        // FDEs of a new length: (record, relocations, their targets, CIE address, function
        // start before and after, offset in the object's `.eh_frame`).
        let mut rewritten = Vec::new();
        for (a, b) in was.iter().zip(&now) {
            let old_record = &old_bytes[a.offset as usize..(a.offset + a.size) as usize];
            let new_record = &new_bytes[b.offset as usize..(b.offset + b.size) as usize];
            let (old_r, new_r) = (relocations(old_relas, a), relocations(new_relas, b));
            let same_places = old_r.len() == new_r.len()
                && old_r.iter().zip(new_r).all(|(x, y)| {
                    symbols.same_target(x, y)
                        && x.r_offset(E) - u64::from(a.offset) == y.r_offset(E) - u64::from(b.offset)
                });
            if !same_places {
                return Err(fail("the relocations of an unwind record changed"));
            }
            let same_addends = old_r.iter().zip(new_r).all(|(x, y)| x.r_addend(E) == y.r_addend(E));
            match (a.cie, b.cie) {
                (None, None) if old_record == new_record && same_addends => continue,
                (Some(c), Some(d)) if cie_index(&was, c).is_some() && cie_index(&was, c) == cie_index(&now, d) => {}
                _ => return Err(fail("a CIE changed")),
            }
            // An FDE: its first relocation, at `pc_begin`, names its function.
            let Some(first) = new_r.first().filter(|r| r.r_offset(E) == u64::from(b.offset) + 8) else {
                return Err(fail("an FDE whose function is not relocated"));
            };
            let Some((was_at, now_at)) = addresses(first.r_sym(E, false))? else { continue };
            let (mut targets, mut unmoved) = (Vec::with_capacity(new_r.len()), was_at == now_at);
            for r in new_r {
                let (was, now) =
                    addresses(r.r_sym(E, false))?.ok_or_else(|| fail("an FDE naming a dropped section"))?;
                targets.push(now.wrapping_add(r.r_addend(E) as u64));
                unmoved &= was == now;
            }
            if old_record == new_record && same_addends && unmoved {
                continue;
            }
            let table = unwind_table(&mut self.unwind_table, overflow, output)?;
            let (was_start, now_start) = (was_at.wrapping_add(old_r[0].r_addend(E) as u64), targets[0]);
            let fde = table.fde_of(was_start).ok_or_else(|| fail("an FDE the output's .eh_frame_hdr does not list"))?;
            let at = overflow.offset_of(fde).ok_or(outside)?;
            let mut bytes = output_at(output, at, a.size as u64)?.to_vec();
            if bytes[..4] != old_record[..4] {
                return Err(fail("an FDE that is not where .eh_frame_hdr says"));
            }
            let cie_pointer = [bytes[4], bytes[5], bytes[6], bytes[7]];
            if a.size != b.size {
                // Of a new length: written anew in the room after the output's records, and
                // the old one made to describe no code (its `pc_range`, after a 4-byte
                // `pc_begin`, zero) for whatever walks `.eh_frame` itself.
                if first.r_type(E, false) != R_X86_64_PC32 {
                    return Err(fail("an unwind record of a wide encoding changed its length"));
                }
                let cie = fde.wrapping_add(4).wrapping_sub(u64::from(u32::from_le_bytes(cie_pointer)));
                self.patches.push(Patch { offset: at + 12, bytes: vec![0; 4] });
                rewritten.push((new_record, new_r, targets, cie, (was_start, now_start), b.offset));
                continue;
            }
            let was_written = bytes.clone();
            bytes.copy_from_slice(new_record);
            bytes[4..8].copy_from_slice(&cie_pointer);
            for (r, &target) in new_r.iter().zip(&targets) {
                let within = (r.r_offset(E) - u64::from(b.offset)) as usize;
                let value = target.wrapping_sub(fde + within as u64) as i64;
                let past_end = || fail("a relocation past the end of an FDE");
                match r.r_type(E, false) {
                    R_X86_64_PC32 => {
                        let value = i32::try_from(value).map_err(|_| fail("an FDE field out of reach"))?;
                        let field = bytes.get_mut(within..within + 4).ok_or_else(past_end)?;
                        field.copy_from_slice(&value.to_le_bytes());
                    }
                    R_X86_64_PC64 => {
                        let field = bytes.get_mut(within..within + 8).ok_or_else(past_end)?;
                        field.copy_from_slice(&value.to_le_bytes());
                    }
                    r_type => {
                        let name = crate::x86_64::reloc_name(r_type);
                        return Err(fail(&format!("a relocation ({name}) in an FDE")));
                    }
                }
            }
            if now_start != was_start {
                table.move_start(was_start, now_start).ok_or_else(|| fail("an FDE out of .eh_frame_hdr's reach"))?;
            }
            if bytes != was_written {
                self.tally.unwind += 1;
                self.tally.bytes += bytes.len() as u64;
                self.patches.push(Patch { offset: at, bytes });
            }
        }
        // Where the targets of an added record's relocations are.
        let target = |r: &Rela| -> Option<u64> {
            let sym = r.r_sym(E, false);
            let spot = placed.get(&new.section_of_symbol(sym)?)?;
            let at = overflow.address_of(spot.offset)?;
            Some(at.wrapping_add(new.symbols.get(sym as usize)?.st_value(E)).wrapping_add(r.r_addend(E) as u64))
        };
        let mut adds = Vec::with_capacity(new_fdes.len());
        for b in &new_fdes {
            let record = &new_bytes[b.offset as usize..(b.offset + b.size) as usize];
            let relas = relocations(new_relas, b);
            let targets: Option<Vec<u64>> = relas.iter().map(target).collect();
            let targets = targets.ok_or_else(|| fail("an added FDE naming a section not in the output"))?;
            let cie = b.cie.expect("an FDE");
            if new_cies.iter().any(|c| c.offset == cie) {
                adds.push((record, relas, targets, Err(cie), b.offset));
                continue;
            }
            // The CIE it points at: the old object's in its place, which the output has where
            // another FDE of the object points: one of a function starting where it did
            // before or does after this relink (which may have moved it, and its entry in
            // `.eh_frame_hdr`).
            let old_cie = now.iter().position(|r| r.offset == cie).map(|i| was[i].offset);
            let mut starts = Vec::new();
            for (a, b) in was.iter().zip(&now).filter(|(a, _)| a.cie.is_some() && a.cie == old_cie) {
                let (Some(x), Some(y)) = (relocations(old_relas, a).first(), relocations(new_relas, b).first()) else {
                    continue;
                };
                if let Some((was_at, now_at)) = addresses(y.r_sym(E, false)).ok().flatten() {
                    starts.push(now_at.wrapping_add(y.r_addend(E) as u64));
                    starts.push(was_at.wrapping_add(x.r_addend(E) as u64));
                }
            }
            adds.push((record, relas, targets, Ok(starts), b.offset));
        }
        for (record, relas, targets, cie, (was_start, now_start), offset) in rewritten {
            let fde = self
                .write_unwind_record(record, relas, &targets, Some(cie), offset, output)
                .map_err(|why| fail(&why))?;
            let table = self.unwind_table.as_mut().expect("read for the old record");
            if now_start != was_start {
                table.move_start(was_start, now_start).ok_or_else(|| fail("an FDE out of .eh_frame_hdr's reach"))?;
            }
            table.move_fde(now_start, fde).ok_or_else(|| fail("an FDE out of .eh_frame_hdr's reach"))?;
        }
        // The added CIEs, written once each, before the first record that uses them.
        let mut written_cies: HashMap<u32, u64> = HashMap::new();
        for (record, relas, targets, cie, offset) in adds {
            let cie = match cie {
                Ok(starts) => self.cie_of(&starts, output).map_err(|why| fail(&why))?,
                Err(at) => match written_cies.get(&at) {
                    Some(&address) => address,
                    None => {
                        let c = new_cies.iter().find(|c| c.offset == at).expect("an added CIE");
                        if !relocations(new_relas, c).is_empty() {
                            return Err(fail("an added CIE with relocations"));
                        }
                        let bytes = &new_bytes[c.offset as usize..(c.offset + c.size) as usize];
                        let address = self
                            .write_unwind_record(bytes, &[], &[], None, c.offset, output)
                            .map_err(|why| fail(&why))?;
                        written_cies.insert(at, address);
                        address
                    }
                },
            };
            let fde = self
                .write_unwind_record(record, relas, &targets, Some(cie), offset, output)
                .map_err(|why| fail(&why))?;
            let table = self.unwind_table.as_mut().expect("read by `cie_of`");
            table.add(targets[0], fde).ok_or_else(|| fail("no room left in .eh_frame_hdr's table"))?;
        }
        Ok(())
    }

    /// The address of the CIE that the output's FDE of the function starting at one of
    /// `starts` points at.
    fn cie_of(&mut self, starts: &[u64], output: &'o [u8]) -> Result<u64, String> {
        let overflow = headers(&mut self.overflow, output)?;
        let table = unwind_table(&mut self.unwind_table, overflow, output)?;
        let fde = starts.iter().find_map(|&start| table.fde_of(start));
        let fde = fde.ok_or("an added FDE whose CIE no other FDE of the output points at")?;
        // One this relink wrote is not in the output yet.
        if let Some(&cie) = self.unwind_written.get(&fde) {
            return Ok(cie);
        }
        let written = output_at(output, overflow.offset_of(fde).ok_or("an FDE outside every segment")?, 8)?;
        let pointer = u32::from_le_bytes(written[4..8].try_into().expect("four bytes"));
        Ok(fde.wrapping_add(4).wrapping_sub(u64::from(pointer)))
    }

    /// Writes the FDE `record` (at `offset` in its object's `.eh_frame`, with relocations
    /// `relas` whose targets are at `targets`) of a function the edit added, or one of a new
    /// length, into the room after the records of the output's `.eh_frame`
    /// (`layout::unwind_room`), its CIE pointer pointing at `cie`, or a CIE the edit added
    /// (`cie` none); returns its address.
    fn write_unwind_record(
        &mut self,
        record: &[u8],
        relas: &[Rela],
        targets: &[u64],
        cie: Option<u64>,
        offset: u32,
        output: &'o [u8],
    ) -> Result<u64, String> {
        let overflow = headers(&mut self.overflow, output)?;
        let outside = "an address outside every segment";
        // The room: past the terminator of the output's records, or of those this relink added.
        let section = overflow.section_named(b".eh_frame").ok_or("an output without .eh_frame")?;
        let (start, size) = (overflow.section_offset(section), overflow.section_size(section));
        let end = match self.unwind_end {
            Some(end) => end,
            None => {
                let records = output_at(output, start, size)?;
                start + crate::eh_frame::records_end(records).ok_or("an .eh_frame without its terminator")? as u64
            }
        };
        if end + record.len() as u64 + 4 > start + size {
            return Err("no room left for unwind records in .eh_frame".into());
        }
        let fde = overflow.address_of(end).ok_or(outside)?;
        let mut bytes = record.to_vec();
        if let Some(cie) = cie {
            bytes[4..8].copy_from_slice(&(fde.wrapping_add(4).wrapping_sub(cie) as u32).to_le_bytes());
        }
        for (r, &target) in relas.iter().zip(targets) {
            let within = (r.r_offset(E) - u64::from(offset)) as usize;
            let value = target.wrapping_sub(fde + within as u64) as i64;
            let field = match r.r_type(E, false) {
                R_X86_64_PC32 => i32::try_from(value).map_err(|_| "an FDE field out of reach")?.to_le_bytes().to_vec(),
                R_X86_64_PC64 => value.to_le_bytes().to_vec(),
                r_type => return Err(format!("a relocation ({}) in an FDE", crate::x86_64::reloc_name(r_type))),
            };
            bytes
                .get_mut(within..within + field.len())
                .ok_or("a relocation past the end of an FDE")?
                .copy_from_slice(&field);
        }
        self.unwind_end = Some(end + bytes.len() as u64);
        if let Some(cie) = cie {
            self.unwind_written.insert(fde, cie);
        }
        self.tally.unwind += 1;
        self.tally.bytes += bytes.len() as u64;
        self.patches.push(Patch { offset: end, bytes });
        Ok(fde)
    }

    /// Places the strings of a merged string section (`spot`) that changed from `old` to `new`
    /// (strings changed, added or removed, in any order): a string the old section also held
    /// stays where the old one is; any other goes to the end of the overflow segment
    /// (`overflow`), the references to it following. The old strings stay, for whatever else
    /// shares them. A new string equal to one of the output section that this object did not
    /// hold is not pointed there: that one's owner could rewrite it in place later, or in this
    /// very relink (`patch_merged`).
    fn move_merged(
        &mut self,
        old: &[u8],
        new: &[u8],
        spot: &MergedSpot,
        output: &[u8],
    ) -> Result<PieceMoves, &'static str> {
        let split = |bytes: &[u8]| -> Option<Vec<(u32, u32)>> {
            if bytes.last().is_some_and(|&b| b != 0) {
                return None;
            }
            let mut pieces = Vec::new();
            let mut at = 0;
            while at < bytes.len() {
                let end = at + memchr::memchr(0, &bytes[at..])? + 1;
                pieces.push((at as u32, end as u32));
                at = end;
            }
            Some(pieces)
        };
        let (was, now) =
            (split(old).ok_or("a string has no terminator")?, split(new).ok_or("a string has no terminator")?);
        let overflow = headers(&mut self.overflow, output).map_err(|_| "unreadable headers")?;
        let mut moves = PieceMoves { old: Vec::new(), new: Vec::new() };
        let mut kept: HashMap<&[u8], (u32, bool)> = HashMap::with_capacity(was.len());
        for &(start, end) in &was {
            let found = spot.pieces.binary_search_by_key(&start, |p| p.start);
            let piece = found.map(|i| spot.pieces[i]).map_err(|_| "a piece is not where the map says")?;
            moves.old.push((start, piece.out, piece.shared));
            kept.entry(&old[start as usize..end as usize]).or_insert((piece.out, piece.shared));
        }
        // A full link of the new object orders its strings otherwise, and leaves out those it
        // no longer holds: each of those counts as rewritten, with those the relink writes.
        let held: HashSet<&[u8]> = now.iter().map(|&(start, end)| &new[start as usize..end as usize]).collect();
        self.tally.merged +=
            was.iter().filter(|&&(start, end)| !held.contains(&old[start as usize..end as usize])).count();
        for (&(new_start, new_end), same_place) in now.iter().zip(was.iter().map(Some).chain(std::iter::repeat(None))) {
            let after = &new[new_start as usize..new_end as usize];
            if let Some(&(out, shared)) = kept.get(after) {
                let unmoved = same_place.is_some_and(|&(start, end)| old[start as usize..end as usize] == *after);
                self.tally.merged += usize::from(!unmoved);
                moves.new.push((new_start, out, shared));
                continue;
            }
            let (offset, address) =
                overflow.place(after.len() as u64, 1, false).map_err(|_| "the overflow segment is full")?;
            // References move by the change of file offset: it must be the address's.
            let here = overflow.address_of(spot.offset).ok_or("a section outside every segment")?;
            if here.wrapping_sub(spot.offset) != address.wrapping_sub(offset) {
                return Err("a section mapped unlike the overflow segment");
            }
            self.patches.push(Patch { offset, bytes: after.to_vec() });
            self.tally.merged += 1;
            self.tally.moved += 1;
            self.tally.bytes += after.len() as u64;
            let out = u32::try_from(offset - spot.offset).map_err(|_| "a string too far from its section")?;
            moves.new.push((new_start, out, false));
        }
        Ok(moves)
    }

    /// Notes the symbols of code section `index`, of a new size, which moved from address
    /// `was` to `now` (or stays there): `.symtab` follows them (`symbol_table_writes`).
    fn symbols_follow(
        &mut self,
        (old, new): (&Shape<'_>, &Shape<'_>),
        symbols: &SymbolMap,
        index: usize,
        was: u64,
        now: u64,
    ) {
        for (i, symbol) in new.symbols.iter().enumerate() {
            if usize::from(symbol.st_shndx(E)) != index || symbol.st_type() == STT_SECTION || new.temporary(symbol) {
                continue;
            }
            // The map pairs only symbols of the same section (`Shape::symbol_map`).
            let Some(before) = old.symbols.get(symbols.old_index(i as u32) as usize) else { continue };
            self.code_symbols_moved.push(SymbolMove {
                name: new.symbol_name(symbol).to_vec(),
                was: was + before.st_value(E),
                now: now + symbol.st_value(E),
                size: symbol.st_size(E),
            });
        }
    }

    /// Finds the new place of section `index` of `new`, of a new size or alignment
    /// (`Shape::movable`): where it was when it did not grow and is aligned there; when it
    /// did, or is not, at the end of the overflow segment
    /// (read-only data) or at the end of its output section (a section the program does not
    /// load: `overflow`). Returns its file offset and by how much what refers to it must move
    /// (its address, or its offset in its output section).
    fn resize(
        &mut self,
        (old, new): (&Shape<'_>, &Shape<'_>),
        symbols: &SymbolMap,
        index: usize,
        spots: &ObjectSpots,
        placed: &HashMap<u32, SectionSpot>,
        output: &[u8],
    ) -> Result<(u64, i64), String> {
        let spot = placed[&(index as u32)];
        if spot.size != old.headers[index].sh_size(E) {
            return Err(format!("section {} is not where the map says", old.name(index)));
        }
        let header = &new.headers[index];
        let (size, align) = (header.sh_size(E), header.sh_addralign(E).max(1));
        self.tally.resized += 1;
        // Units that are walked one after another cannot leave room behind: they move; so
        // do a unit's address ranges (`.debug_aranges`), and writable data, whose addresses
        // have relative relocations at their old places.
        let units = old.name_bytes(index) == b".debug_info";
        let ranges = old.name_bytes(index) == b".debug_aranges";
        let writable = header.sh_flags(E) & SHF_WRITE as u64 != 0;
        // File offsets and addresses agree modulo the page, past which nothing is aligned.
        if size <= spot.size && !units && !ranges && !writable && spot.offset.is_multiple_of(align) {
            if new.executable(index) {
                let overflow = headers(&mut self.overflow, output)?;
                let at = overflow.address_of(spot.offset).ok_or("a section outside every segment")?;
                self.symbols_follow((old, new), symbols, index, at, at);
            }
            self.respotted.push(((spots.position, spots.member), SectionSpot { size, ..spot }));
            return Ok((spot.offset, 0));
        }
        let overflow = headers(&mut self.overflow, output)?;
        let in_place = |why: String| format!("{}: {why}", old.name(index));
        let (offset, by) = if writable {
            let was = overflow.address_of(spot.offset).ok_or("a section outside every segment")?;
            let (offset, address) = overflow.place_writable(size, align).map_err(in_place)?;
            (offset, address.wrapping_sub(was) as i64)
        } else if header.sh_flags(E) & SHF_ALLOC as u64 != 0 {
            let code = new.executable(index);
            let flags = if code { SHF_ALLOC | SHF_EXECINSTR } else { SHF_ALLOC };
            let like_it = |s: &Shdr| s.sh_flags(E) == u64::from(flags) && s.sh_type(E) == SHT_PROGBITS;
            if !overflow.holds(spot.offset) && !overflow.section_at(spot.offset).is_some_and(like_it) {
                return Err(format!(
                    "section {} grew, in an output section that is neither read-only data nor code",
                    old.name(index)
                ));
            }
            let was = overflow.address_of(spot.offset).ok_or("a section outside every segment")?;
            if code && spot.size < JUMP.len() as u64 {
                return Err(format!("section {} grew from fewer bytes than a jump", old.name(index)));
            }
            let (offset, address) = overflow.place(size, align, code).map_err(in_place)?;
            if code {
                // Calls by a global name, and addresses taken by one, still go to the old place.
                let bytes = jump(was, address).ok_or_else(|| in_place("too far to jump".into()))?;
                self.patches.push(Patch { offset: spot.offset, bytes });
                // Debuggers and profilers that read `.symtab` find the code where it runs
                // (its global name still takes callers to the jump).
                self.symbols_follow((old, new), symbols, index, was, address);
            }
            (offset, address.wrapping_sub(was) as i64)
        } else {
            let at = overflow.translate(spot.offset);
            let was = at - overflow.section_at(at).ok_or("a section outside every output section")?.sh_offset(E);
            if units {
                // The old units stay where they were, emptied: a reader that walks the units
                // finds one with no entries (a null first entry), which it skips.
                for first_entry in
                    first_entries(old.contents(index)?).ok_or_else(|| in_place("unknown units".into()))?
                {
                    self.patches.push(Patch { offset: spot.offset + first_entry, bytes: vec![0] });
                }
            }
            if ranges {
                // The old sets stay, emptied (a null first pair ends a set's ranges), each
                // naming the old unit, which moved too (and stays, emptied): no unit is named
                // by two sets.
                for (first_pair, end) in
                    first_pairs(old.contents(index)?).ok_or_else(|| in_place("unknown address range sets".into()))?
                {
                    self.patches
                        .push(Patch { offset: spot.offset + first_pair, bytes: vec![0; (end - first_pair) as usize] });
                }
            }
            let (offset, now) = overflow.grow(at, size, align).map_err(in_place)?;
            (offset, now.wrapping_sub(was) as i64)
        };
        self.tally.moved += 1;
        self.respotted.push(((spots.position, spots.member), SectionSpot { section: spot.section, offset, size }));
        Ok((offset, by))
    }

    /// All the writes of the relink: the output sections copied to the end first, then the
    /// changed objects' sections (where their output sections now are), then the headers.
    /// `map` is brought up to date with where the sections now are, and the build id's ranges
    /// with what was written past the end of the file.
    pub fn finish(mut self, map: &mut OutputMap, output: &[u8]) -> Result<Relink, String> {
        // A function an edit added that no new code calls: a full link keeps it without
        // `--gc-sections`, and `.symtab` lists it; with, a full link drops it (unless the
        // linker itself keeps it), and its bytes stay unlisted, as those of one taken out.
        let uncalled = |name: &Vec<u8>| self.new_definitions.get(name).is_some_and(|&(_, called)| !called);
        let dropped = |name: &Vec<u8>| self.gc_roots.as_ref().is_some_and(|roots| !roots.contains(name));
        self.symbols_added.retain(|(name, _, _)| !(uncalled(name) && dropped(name)));
        if let Some(name) = self.references.still_called(map, &self.moved_in) {
            return Err(format!("`{}` was taken out, and other code may still call it", demangle(name)));
        }
        // A function that moved to another object: its old first bytes jump to where it is
        // now (a new definition), so that the code that called it there, in any file,
        // reaches it.
        let mut moved: Vec<&Vec<u8>> = self.moved_in.iter().collect();
        moved.sort_unstable();
        for name in moved {
            let Some(&(offset, was, size)) = self.taken_out_at.get(name) else {
                return Err(format!("a function added under a name the output has, `{}`", demangle(name)));
            };
            if size < JUMP.len() as u64 {
                return Err(format!("`{}` moved from fewer bytes than a jump", demangle(name)));
            }
            let (now, _) = self.new_definitions[name];
            let bytes = jump(was, now).ok_or_else(|| format!("`{}` moved too far to jump", demangle(name)))?;
            self.patches.push(Patch { offset, bytes });
        }
        let Planner {
            mut patches,
            mut overflow,
            unwind_table,
            respotted,
            remerged,
            addresses_moved,
            code_symbols_moved,
            symbols_added,
            symbols_removed,
            added_spots,
            renumbered,
            references,
            moved_in,
            tally,
            ..
        } = self;
        references.renew(map, &moved_in);
        for (key, spot) in remerged {
            let object = map.object_mut(key).expect("a planned object is in the map");
            if let Some(old) = object.merged.iter_mut().find(|m| m.section == spot.section) {
                *old = spot;
            }
        }
        if let Some(overflow) = &overflow {
            patches.extend(follow_addresses(overflow, &addresses_moved, output)?);
        }
        for (offset, bytes) in unwind_table.as_ref().map(HdrTable::changes).unwrap_or_default() {
            patches.push(Patch { offset, bytes });
        }
        for (key, spot) in respotted {
            let object = map.object_mut(key).expect("a planned object is in the map");
            if let Some(old) = object.sections.iter_mut().find(|s| s.section == spot.section) {
                *old = spot;
            }
        }
        for (key, spot) in added_spots {
            map.object_mut(key).expect("a planned object is in the map").sections.push(spot);
        }
        // The kept copy of the object is the new one: the map follows its numbering.
        for (key, numbering) in renumbered {
            let object = map.object_mut(key).expect("a planned object is in the map");
            // A section the edit took out is no longer the object's.
            let kept = |section: u32| numbering.get(section as usize).is_some_and(|&now| now != u32::MAX);
            object.sections.retain(|s| kept(s.section));
            object.merged.retain(|m| kept(m.section));
            for section in object
                .sections
                .iter_mut()
                .map(|s| &mut s.section)
                .chain(object.merged.iter_mut().map(|m| &mut m.section))
            {
                *section = numbering[*section as usize];
            }
        }
        if let Some(overflow) = &mut overflow {
            let changes =
                SymbolChanges { moved: &code_symbols_moved, added: &symbols_added, removed: &symbols_removed };
            patches.extend(symbol_table_writes(overflow, changes, output)?);
        }
        // Every offset, old or new, follows the output sections copied after it was found (a
        // place found after a copy is past the copied bytes, which the copy leaves alone).
        if let Some(overflow) = &overflow {
            for patch in &mut patches {
                patch.offset = overflow.translate(patch.offset);
            }
            for spot in map.objects.iter_mut().flat_map(|o| o.sections.iter_mut()) {
                spot.offset = overflow.translate(spot.offset);
            }
        }
        let Some(overflow) = overflow else {
            return Ok(Relink { moves: Vec::new(), patches, rehash: Vec::new(), tally });
        };
        let mut rehash = Vec::new();
        if map.build_id.is_some() {
            moved_ranges(&mut map.ranges, overflow.moves());
            for (at, len) in overflow.regions() {
                rehash.extend(chunk_region(&mut map.ranges, at, len));
            }
            map.ranges.sort_by_key(|r| r.at);
        }
        let (moves, room_ends, headers) = overflow.writes();
        let patch = |(offset, bytes)| Patch { offset, bytes };
        let all = room_ends.into_iter().map(patch).chain(patches).chain(headers.into_iter().map(patch)).collect();
        Ok(Relink { moves, patches: all, rehash, tally })
    }
}

/// What an in-place relink writes, and what it did.
pub struct Relink {
    /// Output sections copied to the end of the file, before the patches are written.
    pub moves: Vec<crate::overflow::Move>,
    pub patches: Vec<Patch>,
    /// The starts of the build id's ranges the relink made or resized: hashed again even
    /// where no patch writes into them (alignment padding).
    pub rehash: Vec<u64>,
    pub tally: Tally,
}

/// Covers the region `at..at + len` where the full link wrote nothing (the overflow
/// segment, what an output section grew) with build id ranges of `write::CHUNK_BYTES`, as a full link covers its
/// sections, so that a relink hashes again the chunks it wrote into, not the whole region
/// (14 MB of ripgrep's `.debug_info` for every edit, otherwise). Ranges already there with the
/// same extent keep their digests; returns the starts of the others.
fn chunk_region(ranges: &mut Vec<WrittenRange>, at: u64, len: u64) -> Vec<u64> {
    let end = at + len;
    let inside = |r: &WrittenRange| r.at == at || (at < r.at && r.at < end);
    let earlier: Vec<WrittenRange> = ranges.iter().filter(|r| inside(r)).copied().collect();
    ranges.retain(|r| !inside(r));
    let mut rehash = Vec::new();
    let mut start = at;
    while start < end {
        let len = (end - start).min(crate::write::CHUNK_BYTES);
        match earlier.iter().find(|r| r.at == start && r.len == len) {
            Some(&kept) => ranges.push(kept),
            None => {
                ranges.push(WrittenRange { at: start, len, digest: 0 });
                rehash.push(start);
            }
        }
        start += len;
    }
    rehash
}

/// Gives each output section copied to the end of the file (`moves`) the build id ranges
/// of the bytes it was copied from, digests and all: the copy's bytes are the same, so only
/// the chunks a patch writes into are hashed again, not the whole section (23 MB of
/// `.debug_line` in typst-cli's debug link). The ranges of the old place stay: its bytes
/// are still in the file.
fn moved_ranges(ranges: &mut Vec<WrittenRange>, moves: &[crate::overflow::Move]) {
    for m in moves {
        let inside = |r: &&WrittenRange| m.from <= r.at && r.at + r.len <= m.from + m.len;
        let copies: Vec<WrittenRange> =
            ranges.iter().filter(inside).map(|r| WrittenRange { at: r.at - m.from + m.to, ..*r }).collect();
        ranges.extend(copies);
    }
}

/// What a relink changes in the output's `.symtab`.
#[derive(Clone, Copy)]
struct SymbolChanges<'a> {
    /// Symbols of code that moved or changed its size.
    moved: &'a [SymbolMove],
    /// Symbols of functions added (name, entry with its address, output section).
    added: &'a [(Vec<u8>, Sym, &'static [u8])],
    /// Symbols of functions taken out (name, address).
    removed: &'a [(Vec<u8>, u64)],
}

/// The writes that bring the output's `.symtab` up to date: the entries of symbols of code that
/// moved or changed its size (`Planner::symbols_follow`) take the new address and size; those
/// of functions taken out go, and those of functions added come (locals before the globals,
/// which move up: in a Rust executable most symbols are globals, 20k of ripgrep's 28k; names
/// appended to `.strtab`, which grows: `Overflow::grow`). Entries are found by their address
/// and name: reads the whole table (28k symbols in ripgrep's debug link).
fn symbol_table_writes(
    overflow: &mut Overflow,
    changes: SymbolChanges<'_>,
    output: &[u8],
) -> Result<Vec<Patch>, String> {
    let SymbolChanges { moved, added, removed } = changes;
    let Some(index) =
        overflow.symbol_table_index().filter(|_| !moved.is_empty() || !added.is_empty() || !removed.is_empty())
    else {
        return Ok(Vec::new());
    };
    let ((at, size), (names_at, names_size)) = overflow.symbol_table().expect("a .symtab");
    let table = output_at(output, at, size)?;
    let names = output_at(output, names_at, names_size)?;
    let entries: &[Sym] = object::pod::slice_from_all_bytes(table).map_err(|_| "a .symtab cut short")?;
    let first_global = overflow.section_info(index) as usize;
    if first_global > entries.len() {
        return Err("a .symtab whose first global is past its end".into());
    }
    let entry = |i: usize| at + (i * size_of::<Sym>()) as u64;
    let mut writes = Vec::new();
    let mut gone = Vec::new();
    // The entries that changed, as they are now (looked up for each entry rewritten: 176k
    // in typst-cli's debug link, a cheap hash).
    let mut now: FxHashMap<usize, Sym> = FxHashMap::default();
    for (i, symbol) in entries.iter().enumerate() {
        // The name only where the address is one of them: most entries are neither.
        let value = symbol.st_value(E);
        let name = || nul_terminated(names, symbol.st_name(E) as usize);
        // An exception table's label may have had another number in the object (LLVM numbers
        // them in order), which the output kept (`Shape::except_label`).
        let same = |n: &[u8]| n == name() || except_table_label(n) && except_table_label(name());
        if removed.iter().any(|(n, address)| *address == value && same(n)) {
            gone.push(i);
            continue;
        }
        for m in moved.iter().filter(|m| m.was == value && m.name == name()) {
            let moved = Sym { st_value: U64::new(E, m.now), st_size: U64::new(E, m.size), ..*symbol };
            now.insert(i, moved);
            let bytes = [m.now.to_le_bytes(), m.size.to_le_bytes()].concat();
            writes.push(Patch { offset: entry(i) + 8, bytes });
        }
    }
    let current = |i: usize| now.get(&i).copied().unwrap_or(entries[i]);
    if added.is_empty() && gone.is_empty() {
        return Ok(writes);
    }
    // From the first entry that moves on, the table is written again: new locals go before
    // the globals, which move up; new globals after them.
    let locals_added = added.iter().any(|(_, s, _)| s.st_bind() == STB_LOCAL);
    let first =
        gone.first().copied().unwrap_or(entries.len()).min(if locals_added { first_global } else { entries.len() });
    writes.retain(|w| w.offset < entry(first));
    let mut added_entries = Vec::with_capacity(added.len());
    for (name, symbol, output_section) in added {
        let section = overflow.section_named(output_section).ok_or("an output without the section of a new symbol")?;
        let section = u16::try_from(section).map_err(|_| "a section past the section index range")?;
        let mut string = name.clone();
        string.push(0);
        let (file_offset, offset) = overflow.grow(names_at, string.len() as u64, 1)?;
        writes.push(Patch { offset: file_offset, bytes: string });
        let offset = u32::try_from(offset).map_err(|_| "a .strtab past 4 GiB")?;
        added_entries.push(Sym { st_name: U32::new(E, offset), st_shndx: U16::new(E, section), ..*symbol });
    }
    let kept = |range: std::ops::Range<usize>| range.filter(|i| gone.binary_search(i).is_err());
    let locals_gone = gone.iter().filter(|&&i| i < first_global).count();
    let (added_globals, added_locals): (Vec<Sym>, Vec<Sym>) =
        added_entries.into_iter().partition(|s| s.st_bind() != STB_LOCAL);
    // `first` may be past the first global: only what follows it is written again.
    let mut rest: Vec<Sym> = kept(first..first_global).map(current).collect();
    rest.extend_from_slice(&added_locals);
    rest.extend(kept(first.max(first_global)..entries.len()).map(current));
    rest.extend_from_slice(&added_globals);
    let (was, now) = (entries.len() - first, rest.len());
    let start = match now > was {
        true => {
            let (room, in_section) = overflow.grow(at, ((now - was) * size_of::<Sym>()) as u64, 8)?;
            room - in_section
        }
        false => {
            overflow.set_section_size(index, ((first + now) * size_of::<Sym>()) as u64);
            overflow.section_offset(index)
        }
    };
    let bytes = object::pod::bytes_of_slice(&rest).to_vec();
    writes.push(Patch { offset: start + (first * size_of::<Sym>()) as u64, bytes });
    overflow.set_section_info(index, (first_global - locals_gone + added_locals.len()) as u32);
    Ok(writes)
}

/// The output's headers (`overflow`), read the first time a relink needs them.
fn headers<'o>(overflow: &'o mut Option<Overflow>, output: &[u8]) -> Result<&'o mut Overflow, String> {
    match overflow {
        Some(overflow) => Ok(overflow),
        None => Ok(overflow.insert(Overflow::read(output)?)),
    }
}

/// The output's `.eh_frame_hdr` table (`HdrTable`), read the first time a relink needs it.
fn unwind_table<'t, 'o>(
    table: &'t mut Option<HdrTable<'o>>,
    overflow: &Overflow,
    output: &'o [u8],
) -> Result<&'t mut HdrTable<'o>, String> {
    match table {
        Some(table) => Ok(table),
        None => {
            let (at, address, size) = overflow.eh_frame_hdr().ok_or("an output without .eh_frame_hdr")?;
            let parsed =
                HdrTable::parse(at, address, output_at(output, at, size)?).ok_or("an unknown .eh_frame_hdr")?;
            Ok(table.insert(parsed))
        }
    }
}

/// `len` bytes of the old output from file offset `at`.
fn output_at(output: &[u8], at: u64, len: u64) -> Result<&[u8], String> {
    let end = at.checked_add(len).filter(|&end| end <= output.len() as u64);
    end.map(|end| &output[at as usize..end as usize]).ok_or_else(|| "the output is cut short".to_string())
}

/// The writes that make the dynamic relocations of the 64-bit addresses in `moved` (place,
/// change) follow them: a position-independent output has a relative relocation at each
/// such place, whose addend is the address. A place without any holds an address the loader
/// leaves alone, in an output that is not position-independent. Any other (a symbol's
/// address, which the loader computes) cannot be patched.
fn follow_addresses(overflow: &Overflow, moved: &[(u64, i64)], output: &[u8]) -> Result<Vec<Patch>, String> {
    if moved.is_empty() {
        return Ok(Vec::new());
    }
    let found = dynamic_relocations_at(overflow, moved.iter().map(|&(place, _)| place), output)?;
    let mut patches = Vec::new();
    for &(place, change) in moved {
        match found.get(&place) {
            Some(&(entry, R_X86_64_RELATIVE, addend)) => {
                patches.push(Patch { offset: entry + 16, bytes: addend.wrapping_add(change).to_le_bytes().to_vec() });
            }
            None if !overflow.position_independent() => {}
            _ => return Err(format!("the address at {place:#x} has a dynamic relocation that is not relative")),
        }
    }
    Ok(patches)
}

/// The first dynamic relocation at each of `places` (addresses), found in one pass over
/// `.rela.dyn` (225,000 entries in a debug typst-cli): its file offset, type and addend.
fn dynamic_relocations_at(
    overflow: &Overflow,
    places: impl IntoIterator<Item = u64>,
    output: &[u8],
) -> Result<FxHashMap<u64, (u64, u32, i64)>, String> {
    let mut found = FxHashMap::default();
    let Some((at, size)) = overflow.dynamic_relocations(output)? else { return Ok(found) };
    let relocations: &[Rela] = object::pod::slice_from_all_bytes(output_at(output, at, size)?)
        .map_err(|_| "a dynamic relocation table cut short")?;
    let wanted: rustc_hash::FxHashSet<u64> = places.into_iter().collect();
    for (index, r) in relocations.iter().enumerate().filter(|(_, r)| wanted.contains(&r.r_offset(E))) {
        found.entry(r.r_offset(E)).or_insert((at + 24 * index as u64, r.r_type(E, false), r.r_addend(E)));
    }
    Ok(found)
}

/// The offset of each unit's first entry in `.debug_info` contents: after its header (32-bit
/// DWARF 2 to 5, of the unit types compilers write), or none for anything else.
fn first_entries(units: &[u8]) -> Option<Vec<u64>> {
    let mut entries = Vec::new();
    let mut at = 0usize;
    while at < units.len() {
        let length = u32::from_le_bytes(units.get(at..at + 4)?.try_into().ok()?) as usize;
        let version = u16::from_le_bytes(units.get(at + 4..at + 6)?.try_into().ok()?);
        let header = match version {
            2..=4 => 11,
            // DW_UT_compile and _partial; _skeleton and _split_compile (a unit id);
            // _type and _split_type (a type signature and offset).
            5 => match *units.get(at + 6)? {
                1 | 3 => 12,
                4 | 5 => 20,
                2 | 6 => 24,
                _ => return None,
            },
            _ => return None,
        };
        if length >= 0xffff_fff0 || header > length + 4 || at + 4 + length > units.len() {
            return None;
        }
        // A unit with no entries is empty already.
        if header < length + 4 {
            entries.push((at + header) as u64);
        }
        at += 4 + length;
    }
    Some(entries)
}

/// Whether `name` is that of the label LLVM puts on a function's exception table,
/// `GCC_except_table<n>` (`Shape::except_label`).
fn except_table_label(name: &[u8]) -> bool {
    name.starts_with(b"GCC_except_table")
}

/// The pairs of each set of `.debug_aranges` contents (32-bit DWARF, 8-byte addresses, no
/// segments): from its first pair's offset to the set's end; none for anything else.
fn first_pairs(sets: &[u8]) -> Option<Vec<(u64, u64)>> {
    let mut pairs = Vec::new();
    let mut at = 0usize;
    while at < sets.len() {
        let length = u32::from_le_bytes(sets.get(at..at + 4)?.try_into().ok()?) as usize;
        let (address_size, segment_size) = (*sets.get(at + 10)?, *sets.get(at + 11)?);
        // The header (12 bytes) is padded to a multiple of a pair's size.
        let first = at + 16;
        if length >= 0xffff_fff0 || address_size != 8 || segment_size != 0 || at + 4 + length > sets.len() {
            return None;
        }
        let end = at + 4 + length;
        if first < end {
            pairs.push((first as u64, end as u64));
        }
        at = end;
    }
    Some(pairs)
}

/// Whether an input section is an allocated merge section whose changed pieces may be written
/// where their predecessors were (`patch_merged`), and the size of its constants (0 for
/// strings): one-byte strings, or constants of a power-of-two size, which the merge stores
/// one after another from the section's start, each at a multiple of its size.
fn patchable_merge(header: &Shdr) -> Option<u32> {
    let flags = header.sh_flags(E);
    let (merge, entsize) = ((SHF_ALLOC | SHF_MERGE) as u64, header.sh_entsize(E));
    if flags & merge != merge || flags & SHF_COMPRESSED as u64 != 0 {
        return None;
    }
    match flags & SHF_STRINGS as u64 != 0 {
        true => (entsize <= 1).then_some(0),
        false => (entsize.is_power_of_two() && entsize <= 64).then_some(entsize as u32),
    }
}

/// The patches that write the pieces (strings or constants) of a merge section (`spot`) that
/// changed from `old` to `new` (the same size) where the old pieces are in the output, or why
/// they cannot be written so. Each changed string must keep its length, no changed piece may
/// have been shared with another (of any input: it would change too), and each must be equal
/// to no piece of the output section and no other piece this relink writes (a full link would
/// store them once). The output then differs from a full link's in where that piece is: a
/// full link places pieces by their hash (`merge`). `written` holds the pieces written so far
/// by this relink, by output section.
fn patch_merged(
    old: &[u8],
    new: &[u8],
    spot: &MergedSpot,
    output: &[u8],
    written: &mut HashSet<(u64, Vec<u8>)>,
    tally: &mut Tally,
) -> Result<Vec<Patch>, &'static str> {
    let constant = spot.constant_size as usize;
    if constant == 0 && (old.last() != Some(&0) || new.last() != Some(&0)) {
        return Err("a string has no terminator");
    }
    if constant != 0 && !old.len().is_multiple_of(constant) {
        return Err("a section of constants that is not whole constants");
    }
    let section = output.get(spot.offset as usize..).and_then(|rest| rest.get(..spot.size as usize));
    let section = section.ok_or("the output is cut short")?;
    let mut patches = Vec::new();
    let mut at = 0;
    while at < old.len() {
        let end = match constant {
            0 => at + memchr::memchr(0, &old[at..]).unwrap_or(old.len() - at) + 1,
            size => at + size,
        };
        let (was, now) = (&old[at..end], &new[at..end]);
        if constant == 0 && memchr::memchr(0, now) != Some(now.len() - 1) {
            return Err("a string changed its length");
        }
        if was != now {
            let found = spot.pieces.binary_search_by_key(&(at as u32), |p| p.start);
            let piece = found.map(|i| spot.pieces[i]).map_err(|_| "a piece is not where the map says")?;
            if piece.shared {
                return Err("a piece that changed was stored once for several");
            }
            let stored = match constant {
                0 => memchr::memmem::find_iter(section, now).any(|i| i == 0 || section[i - 1] == 0),
                size => section.chunks_exact(size).any(|c| c == now),
            };
            let key = (spot.offset, now.to_vec());
            if stored || written.contains(&key) || patches.iter().any(|p: &Patch| p.bytes == now) {
                return Err("a piece that changed is now equal to another");
            }
            patches.push(Patch { offset: spot.offset + u64::from(piece.out), bytes: now.to_vec() });
        }
        at = end;
    }
    // Only a section written whole counts: one that falls back to placing its strings one by
    // one (`Planner::move_merged`) leaves nothing behind.
    for patch in &patches {
        written.insert((spot.offset, patch.bytes.clone()));
        tally.merged += 1;
        tally.bytes += patch.bytes.len() as u64;
    }
    Ok(patches)
}

/// `jmp rel32`, left where a function was when it moved.
const JUMP: [u8; 5] = [0xe9, 0, 0, 0, 0];

/// The bytes of a [`JUMP`] at address `from` to address `to`; `None` if `to` is out of its
/// reach.
fn jump(from: u64, to: u64) -> Option<Vec<u8>> {
    let far = i32::try_from(to.wrapping_sub(from + JUMP.len() as u64) as i64).ok()?;
    let mut jump = JUMP.to_vec();
    jump[1..].copy_from_slice(&far.to_le_bytes());
    Some(jump)
}

/// Section kinds whose contents a link only copies and relocates.
fn copied_as_is(header: &Shdr, name: &[u8]) -> bool {
    let kind = header.sh_type(E);
    let flags = header.sh_flags(E);
    matches!(kind, SHT_PROGBITS | SHT_INIT_ARRAY | SHT_FINI_ARRAY | SHT_PREINIT_ARRAY)
        && flags & (SHF_MERGE | SHF_COMPRESSED) as u64 == 0
        && ![&b".eh_frame"[..], b".gnu.warning", b".note", b".comment", b".ctors", b".dtors"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// What the old output says the references to a global symbol resolve to, read from where the
/// old object referred to it.
#[derive(Default, Clone, Copy)]
struct Resolved {
    /// Its address: from a PC-relative or absolute reference, or from a GOT load or call the
    /// link relaxed; or, defined in this object, where its section is.
    address: Option<u64>,
    /// Whether that address is known to be in the output and not preemptible (a relaxed GOT
    /// reference, or a definition in this object): a GOT load or call of it may be relaxed.
    relaxable: bool,
    /// Where a call to it goes (`R_X86_64_PLT32`: its PLT entry, or its address).
    call: Option<u64>,
    /// Its GOT slot.
    slot: Option<u64>,
}

/// What the global symbols that the new code of `rebuilt` sections refers to resolve to in
/// the old output: each definition of this object where its section is, a function an edit
/// added to another object where this relink put it (`new_definitions`), and for the others
/// the value of a relocation of the old object's code (or data) against it, read back from
/// the output. A new reference to a name the output does not define is added to `missing`.
fn resolve_globals(
    old: &Shape<'_>,
    new: &Shape<'_>,
    symbols: &SymbolMap,
    rebuilt: &[usize],
    placed: &HashMap<u32, SectionSpot>,
    (overflow, got, new_definitions, missing): (
        &Overflow,
        &mut Option<GotSlots>,
        &mut NewDefinitions,
        &mut Vec<Vec<u8>>,
    ),
    output: &[u8],
) -> Result<FxHashMap<u32, Resolved>, String> {
    let outside = "an address outside every segment";
    // Looked up once per relocation of the old object's code: a cheap hash.
    let mut resolved: FxHashMap<u32, Resolved> = FxHashMap::default();
    for &index in rebuilt {
        for r in new.relocations_of(index)? {
            let sym = r.r_sym(E, false);
            if new.section_of_symbol(sym).is_none() && sym != 0 {
                resolved.entry(symbols.old_index(sym)).or_default();
            }
        }
    }
    // New references, whose GOT slots are looked up together, as are the names the output's
    // `.symtab` is searched for.
    let mut needs_slot = Vec::new();
    let mut by_name = Vec::new();
    for (&sym, found) in resolved.iter_mut() {
        if let Some(&added) = (sym as usize).checked_sub(old.symbols.len()).and_then(|k| symbols.added.get(k)) {
            let symbol = &new.symbols[added as usize];
            let hidden = symbol.st_visibility() == STV_HIDDEN;
            let name = new.symbol_name(symbol);
            // A function an edit added, to this object or another this relink planned first.
            let here = placed.get(&u32::from(symbol.st_shndx(E))).filter(|_| symbol.st_shndx(E) != SHN_UNDEF);
            let here = match here {
                Some(spot) => Some(overflow.address_of(spot.offset).ok_or(outside)? + symbol.st_value(E)),
                None => new_definitions.get(name).map(|&(at, _)| at),
            };
            // Called: a full link keeps it.
            if let Some(definition) = new_definitions.get_mut(name) {
                definition.1 = true;
            }
            match here {
                Some(at) => {
                    *found = Resolved { address: Some(at), relaxable: true, call: Some(at), slot: None };
                    needs_slot.push((sym, at));
                }
                None => by_name.push((sym, name, hidden)),
            }
            continue;
        }
        let symbol = old.symbols.get(sym as usize).ok_or("a symbol out of range")?;
        let section = u32::from(symbol.st_shndx(E));
        // A strong definition outside any group is the one the link chose; so is a local one
        // (which the new object made global: `Shape::symbol_map`).
        let chosen = symbol.st_shndx(E) != SHN_UNDEF
            && (symbol.st_bind() == STB_LOCAL
                || symbol.st_bind() == STB_GLOBAL
                    && old.headers.get(section as usize).is_some_and(|h| h.sh_flags(E) & SHF_GROUP as u64 == 0));
        if let Some(spot) = placed.get(&section).filter(|_| chosen) {
            let at = overflow.address_of(spot.offset).ok_or(outside)?.wrapping_add(symbol.st_value(E));
            *found = Resolved { address: Some(at), relaxable: true, call: Some(at), slot: None };
        }
    }
    let wanted: Vec<(&[u8], bool)> = by_name.iter().map(|&(_, name, hidden)| (name, hidden)).collect();
    for ((sym, name, _), at) in by_name.into_iter().zip(output_definitions(overflow, output, &wanted)?) {
        match at {
            Some(at) => {
                let found = resolved.get_mut(&sym).expect("a resolved symbol");
                *found = Resolved { address: Some(at), relaxable: true, call: Some(at), slot: None };
                needs_slot.push((sym, at));
            }
            None => missing.push(name.to_vec()),
        }
    }
    // Functions the output does not have: a full link, unless they can be revived
    // (`Planner::revive`, `Planner::missing_definitions`).
    if let Some(name) = missing.iter().min() {
        return Err(format!("`{}` is not defined in the output", String::from_utf8_lossy(name)));
    }
    if !needs_slot.is_empty() {
        let slots = got_index(got, overflow, output)?.slots_of(needs_slot.iter().map(|&(_, at)| at));
        for (sym, at) in needs_slot {
            resolved.get_mut(&sym).expect("a resolved symbol").slot = slots.get(&at).copied();
        }
    }
    for (&index, spot) in placed.iter().filter(|(index, _)| old.executable(**index as usize)) {
        let section = overflow.address_of(spot.offset).ok_or(outside)?;
        for r in old.relocations_of(index as usize)? {
            let Some(found) = resolved.get_mut(&r.r_sym(E, false)) else { continue };
            // One reference of each kind is enough.
            let unknown = match r.r_type(E, false) {
                R_X86_64_PC32 | R_X86_64_32S => found.address.is_none(),
                R_X86_64_PLT32 => found.call.is_none(),
                R_X86_64_GOTPCREL => found.slot.is_none(),
                R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => found.slot.is_none() || !found.relaxable,
                _ => false,
            };
            if !unknown {
                continue;
            }
            let (at, addend) = (r.r_offset(E), r.r_addend(E) as u64);
            let (place, offset) = (section.wrapping_add(at), spot.offset + at);
            if at < 2 || at + 4 > spot.size {
                continue;
            }
            let field = output_at(output, offset - 2, 6)?;
            let value =
                |from: usize| i32::from_le_bytes(field[from..from + 4].try_into().expect("four bytes")) as i64 as u64;
            let relative = value(2).wrapping_sub(addend).wrapping_add(place);
            match r.r_type(E, false) {
                R_X86_64_PC32 | R_X86_64_32S => {
                    let address =
                        if r.r_type(E, false) == R_X86_64_PC32 { relative } else { value(2).wrapping_sub(addend) };
                    found.address.get_or_insert(address);
                }
                R_X86_64_PLT32 => _ = found.call.get_or_insert(relative),
                R_X86_64_GOTPCREL => _ = found.slot.get_or_insert(relative),
                R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
                    let Some((access, from)) = crate::x86_64::linked_got_access(field[0]) else { continue };
                    let target = value(from).wrapping_sub(addend).wrapping_add(place + from as u64).wrapping_sub(2);
                    match access {
                        GotAccess::Slot => _ = found.slot.get_or_insert(target),
                        GotAccess::Target => (found.address, found.relaxable) = (Some(target), true),
                    }
                }
                _ => {}
            }
        }
    }
    // Globals that only data refers to (a closure's address in a `.data.rel.ro` constant,
    // defined in another unit): the address the old reference holds, where the full link
    // gave it a relative dynamic relocation (its addend), or, not position-independent, in
    // the field itself. One with a symbol's dynamic relocation (imported, preemptible) stays
    // unknown.
    let mut in_data = Vec::new();
    let unknown = resolved.values().any(|found| found.address.is_none());
    for (&index, spot) in placed.iter().filter(|_| unknown) {
        // Sections an edit added are the new object's alone.
        let Some(header) = old.headers.get(index as usize) else { continue };
        if header.sh_flags(E) & SHF_ALLOC as u64 == 0 || old.executable(index as usize) {
            continue;
        }
        // Notes and the like are loaded by no segment.
        let Some(section) = overflow.address_of(spot.offset) else { continue };
        for r in old.relocations_of(index as usize)?.iter().filter(|r| r.r_type(E, false) == R_X86_64_64) {
            let unknown = resolved.get(&r.r_sym(E, false)).is_some_and(|found| found.address.is_none());
            if unknown && r.r_offset(E) + 8 <= spot.size {
                let at = (section + r.r_offset(E), spot.offset + r.r_offset(E));
                in_data.push((at, r.r_sym(E, false), r.r_addend(E) as u64));
            }
        }
    }
    if !in_data.is_empty() {
        let relocations = match overflow.position_independent() {
            true => dynamic_relocations_at(overflow, in_data.iter().map(|&((place, _), _, _)| place), output)?,
            false => FxHashMap::default(),
        };
        for ((place, offset), sym, addend) in in_data {
            let value = match relocations.get(&place) {
                Some(&(_, R_X86_64_RELATIVE, value)) => value as u64,
                Some(_) => continue,
                None if overflow.position_independent() => continue,
                None => u64::from_le_bytes(output_at(output, offset, 8)?.try_into().expect("eight bytes")),
            };
            let found = resolved.get_mut(&sym).expect("a resolved symbol");
            if found.address.is_none() {
                (found.address, found.relaxable) = (Some(value.wrapping_sub(addend)), true);
            }
        }
    }
    // Globals that only code the link dropped referred to: where the output's `.symtab` has
    // them, as for a name new code refers to, with the slot of `.got` that holds the address.
    let unknown = |found: &Resolved| found.address.is_none() && found.call.is_none() && found.slot.is_none();
    let mut unknowns = Vec::new();
    for (&sym, _) in resolved.iter().filter(|(_, found)| unknown(found)) {
        let Some(symbol) = old.symbols.get(sym as usize).filter(|s| s.st_shndx(E) == SHN_UNDEF) else { continue };
        unknowns.push((sym, (old.symbol_name(symbol), symbol.st_visibility() == STV_HIDDEN)));
    }
    let wanted: Vec<(&[u8], bool)> = unknowns.iter().map(|&(_, wanted)| wanted).collect();
    let found: Vec<(u32, u64)> = unknowns
        .iter()
        .zip(output_definitions(overflow, output, &wanted)?)
        .filter_map(|(&(sym, _), at)| at.map(|at| (sym, at)))
        .collect();
    if !found.is_empty() {
        let slots = got_index(got, overflow, output)?.slots_of(found.iter().map(|&(_, at)| at));
        for (sym, at) in found {
            let slot = slots.get(&at).copied();
            *resolved.get_mut(&sym).expect("a resolved symbol") =
                Resolved { address: Some(at), relaxable: true, call: Some(at), slot };
        }
    }
    Ok(resolved)
}

/// Whether the output's `.symtab` has a symbol named `name`, defined or not. Reads the whole
/// table.
fn output_knows(overflow: &Overflow, output: &[u8], name: &[u8]) -> Result<bool, String> {
    let Some((symbols, names)) = overflow.symbol_table() else { return Ok(true) };
    let table = output_at(output, symbols.0, symbols.1)?;
    let names = output_at(output, names.0, names.1)?;
    let entries: &[Sym] = object::pod::slice_from_all_bytes(table).map_err(|_| "a .symtab cut short")?;
    Ok(entries.iter().any(|s| nul_terminated(names, s.st_name(E) as usize) == name))
}

/// For each of `wanted` (a name, and whether the reference to it is hidden), the address where
/// the output (an executable: nothing in it is preemptible) defines that global, from its
/// `.symtab`: a function a relink's code calls for the first time,
/// whose call the full link resolves there (it was kept, and loaded, for what called it
/// before). A link makes a hidden global local in its output, so a `hidden` reference, or one
/// to a mangled name, may find a local of that name, if it is the only one (rustc's
/// references within a crate are hidden, Cranelift's not, and its names are unique). `None` if the output has no such definition, or one a new
/// reference could not be resolved to alone (thread-local, an IFUNC, absolute). Reads the
/// whole `.symtab` (28k symbols in ripgrep's debug link) once, whatever the number of names.
fn output_definitions(
    overflow: &Overflow,
    output: &[u8],
    wanted: &[(&[u8], bool)],
) -> Result<Vec<Option<u64>>, String> {
    let Some((symbols, names)) = overflow.symbol_table().filter(|_| !wanted.is_empty()) else {
        return Ok(vec![None; wanted.len()]);
    };
    let table = output_at(output, symbols.0, symbols.1)?;
    let names = output_at(output, names.0, names.1)?;
    let entries: &[Sym] = object::pod::slice_from_all_bytes(table).map_err(|_| "a .symtab cut short")?;
    // Per name: its global definition, its last local one and how many locals have it.
    let mut seen: HashMap<&[u8], (Option<&Sym>, Option<&Sym>, u32)> =
        wanted.iter().map(|&(name, _)| (name, (None, None, 0))).collect();
    let defined = entries.iter().filter(|s| {
        !matches!(s.st_shndx(E), SHN_UNDEF | SHN_ABS) && matches!(s.st_type(), STT_FUNC | STT_OBJECT | STT_NOTYPE)
    });
    for symbol in defined {
        let Some((global, local, locals)) = seen.get_mut(nul_terminated(names, symbol.st_name(E) as usize)) else {
            continue;
        };
        match symbol.st_bind() {
            STB_LOCAL => (*local, *locals) = (Some(symbol), *locals + 1),
            _ => *global = Some(symbol),
        }
    }
    let found = |&(name, hidden): &(&[u8], bool)| {
        let (global, local, locals) = seen[name];
        // A static function could have the name of a default-visibility global only in C:
        // names that begin with `_` and a capital are the implementation's, and mangled Rust
        // and C++ ones say whether they are local (`_ZL`).
        let mangled = name.starts_with(b"_R") || name.starts_with(b"_Z");
        global.or(local.filter(|_| (hidden || mangled) && locals == 1)).map(|s| s.st_value(E))
    };
    Ok(wanted.iter().map(found).collect())
}

/// The output's GOT slots and the address each holds (another reference of the full link's
/// made it): in a position-independent output, only those with the relative dynamic
/// relocation that puts the address there. rustc calls a function of another crate through
/// its GOT slot (`R_X86_64_GOTPCREL`, which a link cannot relax), and Cranelift loads its data
/// so. Read once a relink, from `.got` and `.rela.dyn`, with no map: a debug typst-cli has
/// 147,000 slots and 225,000 dynamic relocations, and a relink asks for a few addresses, in
/// batches, each answered by one pass over the slots (`GotSlots::slots_of`).
struct GotSlots {
    /// Each usable slot's address and the address it holds, in the GOT's order.
    held: Vec<(u64, u64)>,
}

impl GotSlots {
    fn read(overflow: &Overflow, output: &[u8]) -> Result<GotSlots, String> {
        let none = GotSlots { held: Vec::new() };
        let Some(got) = overflow.section_named(b".got") else { return Ok(none) };
        let offset = overflow.section_offset(got);
        let size = overflow.section_at(offset).map_or(0, |h| h.sh_size(E));
        let slots: &[object::U64<LE>] = object::pod::slice_from_all_bytes(output_at(output, offset, size)?)
            .map_err(|_| "a .got of a size not a multiple of 8")?;
        // The section is in one segment: its slots' addresses follow from the first's.
        let Some(start) = overflow.address_of(offset) else { return Ok(none) };
        let pie = overflow.position_independent();
        // Position-independent: the addend of each slot's relative relocation, by slot.
        let mut relative: Vec<Option<u64>> = vec![None; if pie { slots.len() } else { 0 }];
        let table = match pie {
            true => overflow.dynamic_relocations(output)?,
            false => None,
        };
        if let Some((at, size)) = table {
            let relocations: &[Rela] = object::pod::slice_from_all_bytes(output_at(output, at, size)?)
                .map_err(|_| "dynamic relocations cut short")?;
            for r in relocations.iter().filter(|r| r.r_type(E, false) == R_X86_64_RELATIVE) {
                let slot = r.r_offset(E).checked_sub(start).filter(|d| d % 8 == 0).map(|d| (d / 8) as usize);
                if let Some(addend) = slot.and_then(|slot| relative.get_mut(slot)) {
                    *addend = Some(r.r_addend(E) as u64);
                }
            }
        }
        let held = slots
            .iter()
            .enumerate()
            .filter(|&(i, slot)| !pie || relative[i] == Some(slot.get(E)))
            .map(|(i, slot)| (start + 8 * i as u64, slot.get(E)))
            .collect();
        Ok(GotSlots { held })
    }

    /// For each of `addresses` that a slot holds, the first such slot's address.
    fn slots_of(&self, addresses: impl IntoIterator<Item = u64>) -> FxHashMap<u64, u64> {
        let mut found: FxHashMap<u64, Option<u64>> = addresses.into_iter().map(|a| (a, None)).collect();
        if found.is_empty() {
            return FxHashMap::default();
        }
        for &(place, held) in &self.held {
            if let Some(slot @ None) = found.get_mut(&held) {
                *slot = Some(place);
            }
        }
        found.into_iter().filter_map(|(address, slot)| Some((address, slot?))).collect()
    }
}

/// The output's GOT slots (`GotSlots`), read the first time a relink asks.
fn got_index<'o>(slots: &'o mut Option<GotSlots>, overflow: &Overflow, output: &[u8]) -> Result<&'o GotSlots, String> {
    match slots {
        Some(slots) => Ok(slots),
        None => Ok(slots.insert(GotSlots::read(overflow, output)?)),
    }
}

/// Makes anew the fields of code whose relocations changed (`Shape::rebuildable`): from the
/// new places of this object's sections for its local symbols, and from what the old output
/// says for the global ones (`resolve_globals`). A target the old output does not show (a
/// section the link dropped, a function it does not define) means a full link.
struct Rebuild<'a> {
    placed: &'a HashMap<u32, SectionSpot>,
    moved: &'a HashMap<u32, i64>,
    merged: &'a HashMap<u32, &'a MergedSpot>,
    /// Merged string sections whose pieces this relink placed anew.
    pieces: &'a HashMap<u32, PieceMoves>,
    resolved: &'a FxHashMap<u32, Resolved>,
    /// The GOT slots of this object's own symbols that code loads through the GOT, by address.
    local_slots: &'a HashMap<u64, u64>,
    /// The thread-local offsets of the old section's fields (`Shape::thread_local_offsets`).
    thread_locals: &'a ThreadLocalOffsets<'a>,
    overflow: &'a Overflow,
}

/// The thread-local offsets (`R_X86_64_TPOFF32`, `R_X86_64_DTPOFF32`, `R_X86_64_DTPOFF64`)
/// of a section's fields in the old output, less their addends, by their target's name
/// (`Shape::target_name`) and type: thread-local storage is placed as it was, so a new field
/// of the same target and type has that value plus its own addend.
type ThreadLocalOffsets<'d> = HashMap<(&'d [u8], u32), i64>;

/// Whether relocations of type `r_type` hold a thread-local offset (`ThreadLocalOffsets`).
fn thread_local_offset(r_type: u32) -> bool {
    matches!(r_type, R_X86_64_TPOFF32 | R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64)
}

impl Rebuild<'_> {
    /// The address of this object's section `section`, found at `spot`, after this relink.
    fn address(&self, spot: &SectionSpot, section: u32) -> Option<u64> {
        let at = self.overflow.address_of(spot.offset)?;
        Some(at.wrapping_add(self.moved.get(&section).copied().unwrap_or(0) as u64))
    }

    /// Makes anew the fields of debug information (`index`) whose relocations changed:
    /// addresses of this object's code and data (a tombstone for code the link dropped, as
    /// `write` gives it), offsets into this object's other debug sections where they are in
    /// their output sections, and debug strings where the old section's references to the
    /// same text have them.
    fn debug_section(
        &self,
        old: &Shape<'_>,
        new: &Shape<'_>,
        index: usize,
        old_output: &[u8],
        follow: &mut Follow,
    ) -> Result<Vec<u8>, String> {
        let fail = |what: &str| format!("{what} in {}", new.name(index));
        let strings = old.string_fields(old.relocations_of(index)?, old_output);
        let name = new.name_bytes(index);
        let tombstone = crate::write::tombstone(name);
        let mut out = new.contents(index)?.to_vec();
        for r in new.relocations_of(index)? {
            let (r_type, sym, addend) = (r.r_type(E, false), r.r_sym(E, false), r.r_addend(E));
            let at = r.r_offset(E) as usize;
            let width = match r_type {
                R_X86_64_NONE => continue,
                R_X86_64_32 => 4,
                R_X86_64_64 => 8,
                // A thread-local's offset in its module's block (its location, for debuggers).
                R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 => {
                    self.thread_local_field(new, r, &mut out).map_err(fail)?;
                    follow.relocations += 1;
                    continue;
                }
                _ => {
                    return Err(fail(&format!(
                        "a relocation ({}) in debug information that changed",
                        crate::x86_64::reloc_name(r_type)
                    )));
                }
            };
            if at.checked_add(width).is_none_or(|end| end > out.len()) {
                return Err(fail("a relocation past the end of its section"));
            }
            let section = new
                .definition_here(sym)
                .ok_or_else(|| fail("a reference to a global symbol in debug information that changed"))?;
            let header = new.headers.get(section as usize).ok_or_else(|| fail("a symbol out of range"))?;
            let value = new.symbols[sym as usize].st_value(E).wrapping_add(addend as u64);
            let value = if new.debug_strings_section(section as usize) {
                let text = new.string_at(sym, addend).ok_or_else(|| fail("a reference past a debug string"))?;
                match strings.get(&(text, r_type)) {
                    Some(found) => out[at..at + width].copy_from_slice(&found[..width]),
                    None => follow.new_string(new, sym, at, r_type, text).map_err(fail)?,
                }
                follow.relocations += 1;
                continue;
            } else if header.sh_flags(E) & SHF_ALLOC as u64 != 0 {
                if self.merged.contains_key(&section) {
                    let base = self
                        .merged_target(new, sym, addend, section)
                        .ok_or_else(|| fail("an address outside every segment"))?;
                    base.wrapping_add(addend as u64)
                } else if let Some(spot) = self.placed.get(&section) {
                    let at = self.address(spot, section).ok_or_else(|| fail("an address outside every segment"))?;
                    at.wrapping_add(value)
                } else if copied_as_is(header, new.name_bytes(section as usize)) && header.sh_type(E) != SHT_NOBITS {
                    tombstone
                } else {
                    return Err(fail("a reference to data not placed as it is"));
                }
            } else {
                let spot = self
                    .placed
                    .get(&section)
                    .ok_or_else(|| fail("a reference to debug information not in the output"))?;
                let at = self.overflow.translate(spot.offset);
                let start = self
                    .overflow
                    .section_at(at)
                    .ok_or_else(|| fail("a section outside every output section"))?
                    .sh_offset(E);
                (at - start).wrapping_add(self.moved.get(&section).copied().unwrap_or(0) as u64).wrapping_add(value)
            };
            match width {
                4 => out[at..at + 4]
                    .copy_from_slice(&u32::try_from(value).map_err(|_| fail("an offset past 4 GiB"))?.to_le_bytes()),
                _ => out[at..at + 8].copy_from_slice(&value.to_le_bytes()),
            }
            follow.relocations += 1;
        }
        Ok(out)
    }

    /// Writes the field of thread-local offset `r` into `out`, from the old section's field
    /// of the same target and type (`ThreadLocalOffsets`).
    fn thread_local_field(&self, new: &Shape<'_>, r: &Rela, out: &mut [u8]) -> Result<(), &'static str> {
        let (r_type, at) = (r.r_type(E, false), r.r_offset(E) as usize);
        let base = self.thread_locals.get(&(new.target_name(r.r_sym(E, false)), r_type));
        let value = base.ok_or("a thread-local offset the old output does not show")?.wrapping_add(r.r_addend(E));
        let place =
            out.get_mut(at..at + crate::x86_64::reloc_width(r_type)).ok_or("a relocation past its section's end")?;
        match place.len() {
            4 => place
                .copy_from_slice(&i32::try_from(value).map_err(|_| "a thread-local offset past 2 GiB")?.to_le_bytes()),
            _ => place.copy_from_slice(&value.to_le_bytes()),
        }
        Ok(())
    }

    /// The address that, plus the addend, a reference to symbol `sym` of merged section
    /// `section` resolves to: where the piece it points into is (a section symbol's addend
    /// picks the piece; another symbol's picks a byte from its piece).
    fn merged_target(&self, new: &Shape<'_>, sym: u32, addend: i64, section: u32) -> Option<u64> {
        let spot = self.merged.get(&section)?;
        let symbol = new.symbols.get(sym as usize)?;
        let section_symbol = symbol.st_type() == STT_SECTION;
        let offset = symbol.st_value(E) as i64 + if section_symbol { addend } else { 0 };
        let (start, out) = match self.pieces.get(&section) {
            Some(moves) => {
                let piece = moves.new.partition_point(|&(start, _, _)| i64::from(start) <= offset).checked_sub(1)?;
                (moves.new[piece].0, moves.new[piece].1)
            }
            None => {
                let piece = spot.pieces.partition_point(|p| i64::from(p.start) <= offset).checked_sub(1)?;
                (spot.pieces[piece].start, spot.pieces[piece].out)
            }
        };
        let at = spot.offset + u64::from(out) + (offset - i64::from(start)) as u64;
        let address = self.overflow.address_of(at)?;
        Some(if section_symbol { address.wrapping_sub(addend as u64) } else { address })
    }

    fn section(
        &self,
        new: &Shape<'_>,
        symbols: &SymbolMap,
        index: usize,
        spot: &SectionSpot,
        follow: &mut Follow,
    ) -> Result<Vec<u8>, String> {
        let fail = |what: &str| format!("{what} in {}", new.name(index));
        let outside = || fail("an address outside every segment");
        let here = self.address(spot, index as u32).ok_or_else(outside)?;
        let mut out = new.contents(index)?.to_vec();
        for r in new.relocations_of(index)? {
            let (r_type, sym) = (r.r_type(E, false), r.r_sym(E, false));
            let (at, addend) = (r.r_offset(E) as usize, r.r_addend(E) as u64);
            let place = here.wrapping_add(at as u64);
            let name = crate::x86_64::reloc_name(r_type);
            let target = match new.section_of_symbol(sym) {
                _ if r_type == R_X86_64_NONE => continue,
                Some(section) if self.merged.contains_key(&section) => {
                    let at = self.merged_target(new, sym, r.r_addend(E), section).ok_or_else(outside)?;
                    Resolved { address: Some(at), relaxable: true, call: None, slot: None }
                }
                Some(section) => {
                    let spot =
                        self.placed.get(&section).ok_or_else(|| fail("a reference to a section not in the output"))?;
                    let at = self.address(spot, section).ok_or_else(outside)?;
                    let at = at.wrapping_add(new.symbols[sym as usize].st_value(E));
                    Resolved {
                        address: Some(at),
                        relaxable: true,
                        call: Some(at),
                        slot: self.local_slots.get(&at).copied(),
                    }
                }
                None => self.resolved.get(&symbols.old_index(sym)).copied().unwrap_or_default(),
            };
            let unresolved = || {
                let symbol =
                    String::from_utf8_lossy(new.symbols.get(sym as usize).map_or(&[][..], |s| new.symbol_name(s)));
                fail(&format!("a reference ({name}) to {symbol} that the old output does not resolve"))
            };
            let field = |v: u64| -> Result<[u8; 4], String> {
                let v = i32::try_from(v as i64)
                    .map_err(|_| fail("a relocation's new value that does not fit its field"))?;
                Ok(v.to_le_bytes())
            };
            let width = if r_type == R_X86_64_64 { 8 } else { 4 };
            if at.checked_add(width).is_none_or(|end| end > out.len()) {
                return Err(fail("a relocation past the end of its section"));
            }
            match r_type {
                // An address in data: of this object's own (a panic location's file name), or of
                // a global the output has, not preemptible (`resolve_globals`); another's might be
                // another module's, which the loader finds.
                R_X86_64_64 if !new.executable(index) && (new.section_of_symbol(sym).is_some() || target.relaxable) => {
                    let address = target.address.ok_or_else(unresolved)?.wrapping_add(addend);
                    out[at..at + 8].copy_from_slice(&address.to_le_bytes());
                    follow.new_addresses.push((at as u64, address));
                }
                R_X86_64_PC32 => {
                    let address = target.address.ok_or_else(unresolved)?;
                    out[at..at + 4].copy_from_slice(&field(address.wrapping_add(addend).wrapping_sub(place))?);
                }
                R_X86_64_PLT32 => {
                    let call = target.call.or(target.address.filter(|_| target.relaxable)).ok_or_else(unresolved)?;
                    out[at..at + 4].copy_from_slice(&field(call.wrapping_add(addend).wrapping_sub(place))?);
                }
                R_X86_64_GOTPCREL => {
                    let slot = target.slot.ok_or_else(unresolved)?;
                    out[at..at + 4].copy_from_slice(&field(slot.wrapping_add(addend).wrapping_sub(place))?);
                }
                R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
                    let relaxation = crate::x86_64::gotpcrelx_relaxation(&out, at as u64);
                    match (target.address.filter(|_| target.relaxable), relaxation, target.slot) {
                        (Some(address), Some(kind), _) => {
                            crate::x86_64::apply_got_relax(&mut out, at, kind);
                            let value = address.wrapping_add(addend).wrapping_sub(place) as i64;
                            let (from, value) = crate::x86_64::relaxed_field(at, kind, value);
                            out[from..from + 4].copy_from_slice(&field(value as u64)?);
                        }
                        (_, _, Some(slot)) => {
                            out[at..at + 4].copy_from_slice(&field(slot.wrapping_add(addend).wrapping_sub(place))?)
                        }
                        _ => return Err(unresolved()),
                    }
                }
                // A local-exec access's offset from the thread pointer.
                R_X86_64_TPOFF32 => self.thread_local_field(new, r, &mut out).map_err(fail)?,
                _ => return Err(fail(&format!("a relocation ({name}) in code that changed"))),
            }
            follow.relocations += 1;
        }
        Ok(out)
    }
}

/// How the symbols of a rebuilt object correspond to its predecessor's: the locals by index,
/// the globals by name (`Shape::symbol_map`).
struct SymbolMap {
    /// For each new local: the index of the old one (a local the new object made global is
    /// among the globals: `Shape::symbol_map`).
    old_locals: Vec<u32>,
    /// For each new global, from the first: the index of the old one of its name, or for one
    /// the old object did not refer to, the old symbol count plus its place in `added`.
    old_globals: Vec<u32>,
    first_global: usize,
    /// Whether every symbol has the index it had.
    identity: bool,
    /// The new object's references to globals the old one did not refer to, and its
    /// definitions of functions an edit added, by index.
    added: Vec<u32>,
    /// The merged string sections where a string's label was added or removed (the new
    /// ones have no old index): their strings must be placed one by one.
    relabelled_strings: Vec<u32>,
}

impl SymbolMap {
    /// The index in the old object of the new object's symbol `sym`.
    fn old_index(&self, sym: u32) -> u32 {
        match (sym as usize).checked_sub(self.first_global) {
            Some(global) => self.old_globals.get(global).copied().unwrap_or(u32::MAX),
            None => self.old_locals.get(sym as usize).copied().unwrap_or(u32::MAX),
        }
    }

    /// Whether `old` and `new` are the same relocation (type and symbol), but for their
    /// addends and offsets.
    fn same_target(&self, old: &Rela, new: &Rela) -> bool {
        old.r_type(E, false) == new.r_type(E, false) && old.r_sym(E, false) == self.old_index(new.r_sym(E, false))
    }

    /// The same relocations, one by one: the fields of a rewritten section are made again from
    /// the old ones wherever they are (`patch_section`).
    fn same_targets(&self, old: &[Rela], new: &[Rela]) -> bool {
        old.len() == new.len() && old.iter().zip(new).all(|(a, b)| self.same_target(a, b))
    }
}

/// Where the pieces of a merged string section were and are: (input offset, offset from the
/// output section's start in the file, shared), by input offset, for the old object and the
/// new one (`Planner::move_merged`).
struct PieceMoves {
    old: Vec<(u32, u32, bool)>,
    new: Vec<(u32, u32, bool)>,
}

/// What a rewritten section's relocations may refer to: the sections in place, those moved
/// or resized (by how much their address changed), the merged string sections whose pieces
/// moved.
#[derive(Clone, Copy)]
struct Targets<'a> {
    placed: &'a HashMap<u32, SectionSpot>,
    moved: &'a HashMap<u32, i64>,
    pieces: &'a HashMap<u32, PieceMoves>,
    /// Whether the object's debug strings changed: every reference to them is found again.
    strings_changed: bool,
    /// The first section the edit added (`Shape::numbered_like`): those from it on are.
    added: usize,
    /// Sections of an unchanged object placed as added ones (`Planner::revive`).
    revived: &'a [usize],
}

/// What a rewritten section's relocations did besides its bytes (`patch_section`).
#[derive(Default)]
struct Follow {
    /// Relocations re-applied.
    relocations: usize,
    /// 64-bit addresses in allocated data that changed: (offset in the section, change).
    addresses: Vec<(u64, i64)>,
    /// GOT slots of targets that moved (Cranelift loads its data through the GOT): (slot
    /// address relative to the section's, change).
    got_slots: Vec<(i64, i64)>,
    /// References to debug strings the output does not have yet: (offset of the 32-bit
    /// field in the section, the strings' section name, the text); `Planner::add_strings`
    /// appends them.
    new_strings: Vec<(usize, &'static [u8], Vec<u8>)>,
    /// 64-bit addresses in data an edit added: (offset in the section, the address), each
    /// needing a relative dynamic relocation in a position-independent output.
    new_addresses: Vec<(u64, u64)>,
}

impl Follow {
    /// Notes a 32-bit reference at `at` to a debug string (`text`, of `sym`'s section) that
    /// the old output does not hold.
    fn new_string(
        &mut self,
        new: &Shape<'_>,
        sym: u32,
        at: usize,
        r_type: u32,
        text: &[u8],
    ) -> Result<(), &'static str> {
        let section = new.section_of_symbol(sym).ok_or("a debug string of no section")?;
        let name: &'static [u8] = match new.name_bytes(section as usize) {
            b".debug_str" => b".debug_str",
            b".debug_line_str" => b".debug_line_str",
            _ => return Err("a new string in an unknown string section"),
        };
        if r_type != R_X86_64_32 {
            return Err("a new debug string referred to by more than 32 bits");
        }
        self.new_strings.push((at, name, text.to_vec()));
        Ok(())
    }
}

/// How a relocation's field is made again.
#[derive(PartialEq)]
enum Remake {
    /// Its value is the old one moved by the change of the addend, and its application
    /// writes nothing but its field.
    Linear,
    /// The linker may relax it, rewriting bytes around its field.
    Relaxable,
    /// Only the field is written, but its value is no function of the addend that can be
    /// moved: the addend must be the same.
    SameAddend,
}

fn remake(r_type: u32) -> Remake {
    match r_type {
        R_X86_64_PC32 | R_X86_64_PC64 | R_X86_64_PLT32 | R_X86_64_32 | R_X86_64_32S | R_X86_64_GOTPCREL
        | R_X86_64_TPOFF32 | R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 | R_X86_64_GOTOFF64 | R_X86_64_GOTPC32
        | R_X86_64_GOTPC64 | R_X86_64_SIZE32 | R_X86_64_SIZE64 | R_X86_64_64 => Remake::Linear,
        R_X86_64_GOTPCRELX
        | R_X86_64_REX_GOTPCRELX
        | R_X86_64_GOTTPOFF
        | R_X86_64_TLSGD
        | R_X86_64_TLSLD
        | R_X86_64_GOTPC32_TLSDESC
        | R_X86_64_TLSDESC_CALL => Remake::Relaxable,
        _ => Remake::SameAddend,
    }
}

/// Whether a relocation's value is counted from its place, and moves against it.
fn pc_relative(r_type: u32) -> bool {
    matches!(
        r_type,
        R_X86_64_PC32 | R_X86_64_PC64 | R_X86_64_PLT32 | R_X86_64_GOTPCREL | R_X86_64_GOTPC32 | R_X86_64_GOTPC64
    )
}

/// Whether a relocation's value moves with its target's address, by as much: the
/// relocations that are the target's address (or its distance from the place) plus the
/// addend (a 64-bit address in allocated data, and the dynamic relocation that a
/// position-independent output has for it: `Planner::finish`). Not so for references
/// through the GOT, whose slot holds the address.
fn follows_its_target(r_type: u32) -> bool {
    matches!(
        r_type,
        R_X86_64_PC32 | R_X86_64_PC64 | R_X86_64_PLT32 | R_X86_64_32 | R_X86_64_32S | R_X86_64_GOTOFF64 | R_X86_64_64
    )
}

/// Bytes around a relocation's field that a relaxation may rewrite (TLS sequences are the
/// longest: up to 4 bytes before the field and a call after it).
const WINDOW_BEFORE: usize = 4;
const WINDOW_AFTER: usize = 24;
/// A GOT load or call's relaxation rewrites the opcode and ModRM bytes before its field.
const GOT_LOAD_BEFORE: usize = 2;

fn patch_section(
    old: &Shape<'_>,
    new: &Shape<'_>,
    index: usize,
    old_output: &[u8],
    targets: &Targets<'_>,
    follow: &mut Follow,
) -> Result<Vec<u8>, String> {
    let Targets { placed, moved, pieces, strings_changed, .. } = *targets;
    let mut out = new.contents(index)?.to_vec();
    let (old_in, new_in) = (old.contents(index)?, new.contents(index)?);
    let (old_relas, new_relas) = (old.relocations_of(index)?, new.relocations_of(index)?);
    let size = out.len();
    let allocated = new.headers[index].sh_flags(E) & SHF_ALLOC as u64 != 0;
    // How far the section itself moved: PC-relative fields move against it.
    let own_move = if allocated { moved.get(&(index as u32)).copied().unwrap_or(0) } else { 0 };
    let fail = |what: &str| format!("{what} in {}", old.name(index));
    let name = |r_type| crate::x86_64::reloc_name(r_type);
    // Relaxable relocations first: their windows come from the old output.
    let mut windows = Vec::new();
    // The old output's fields of references to debug strings, by text (`Shape::string_fields`).
    let mut strings_seen = None;
    for (a, b) in old_relas.iter().zip(new_relas) {
        let r_type = b.r_type(E, false);
        if remake(r_type) != Remake::Relaxable {
            continue;
        }
        let target = new.section_of_symbol(b.r_sym(E, false));
        if target.is_some_and(|section| moved.contains_key(&section) || pieces.contains_key(&section)) {
            return Err(fail(&format!("a reference ({}) to a section that moved", name(r_type))));
        }
        let (at, was_at) = (b.r_offset(E) as usize, a.r_offset(E) as usize);
        let got_load = matches!(r_type, R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX);
        // A GOT load or call is relaxed within its opcode and field; a TLS sequence may be
        // rewritten around its field.
        let (before, after) = if got_load { (GOT_LOAD_BEFORE, 4) } else { (WINDOW_BEFORE, WINDOW_AFTER) };
        let window = at.saturating_sub(before)..(at + after).min(size);
        let was_window = was_at.saturating_sub(before)..(was_at + after).min(size).min(old_output.len());
        if a.r_addend(E) != b.r_addend(E)
            || at < before
            || window.len() != was_window.len()
            || old_in.get(was_window.clone()) != new_in.get(window.clone())
        {
            return Err(fail(&format!("a relocation that may be relaxed ({}) changed", name(r_type))));
        }
        let mut bytes = old_output[was_window].to_vec();
        let place_moved = own_move.wrapping_add(at as i64 - was_at as i64);
        if place_moved != 0 {
            // Every form the link leaves of a GOT load or call is PC-relative, to the GOT
            // slot or to the target.
            let field = match bytes.first().copied().and_then(crate::x86_64::linked_got_access) {
                Some((_, from)) if got_load => from,
                _ => return Err(fail(&format!("a relocation that may be relaxed ({}) moved", name(r_type)))),
            };
            let cut =
                || fail(&format!("a relocation that may be relaxed ({}) at the end of its section", name(r_type)));
            let field = bytes.get_mut(field..field + 4).ok_or_else(cut)?;
            let value = i32::from_le_bytes(field[..].try_into().expect("four bytes"));
            let value = i32::try_from(i64::from(value) - place_moved)
                .map_err(|_| fail("a relocation's new value that does not fit its field"))?;
            field.copy_from_slice(&value.to_le_bytes());
        }
        out[window.clone()].copy_from_slice(&bytes);
        windows.push(window);
        follow.relocations += 1;
    }
    for (a, b) in old_relas.iter().zip(new_relas) {
        let r_type = b.r_type(E, false);
        let how = remake(r_type);
        if r_type == R_X86_64_NONE || how == Remake::Relaxable {
            continue;
        }
        // In a section of a new size the same relocation may be elsewhere: its old value is
        // where it was.
        let (at, was_at) = (b.r_offset(E) as usize, a.r_offset(E) as usize);
        let width = crate::x86_64::reloc_width(r_type);
        let field = at..at + width;
        if field.end > size || was_at + width > old_output.len() {
            return Err(fail("a relocation past the end of its section"));
        }
        let mut value = [0u8; 8];
        value[..width].copy_from_slice(&old_output[was_at..was_at + width]);
        let mut delta = b.r_addend(E).wrapping_sub(a.r_addend(E));
        if delta != 0 && how != Remake::Linear {
            return Err(fail(&format!("a changed addend of {}", name(r_type))));
        }
        if at != was_at {
            // A relaxed relocation's window is the old output's: it must not hold another's
            // field, at its old place or its new one.
            let overlaps = |start: usize| windows.iter().any(|w| w.start < start + width && start < w.end);
            // A 64-bit address in allocated data may have a dynamic relocation at its place.
            let dynamic = r_type == R_X86_64_64 && allocated;
            if how != Remake::Linear || dynamic || overlaps(at) || overlaps(was_at) {
                return Err(fail(&format!("a relocation ({}) that moved", name(r_type))));
            }
            if pc_relative(r_type) {
                delta = delta.wrapping_sub(at as i64 - was_at as i64);
            }
        }
        if pc_relative(r_type) {
            delta = delta.wrapping_sub(own_move);
        }
        let sym = b.r_sym(E, false);
        // Unless the strings or the addend changed, the old field is right.
        if !allocated && (strings_changed || a.r_addend(E) != b.r_addend(E)) && new.debug_strings(sym) {
            // A debug string: its output offset is where the old section's references to the
            // same text have it (the strings' order in the object may have changed).
            let seen = strings_seen.get_or_insert_with(|| old.string_fields(old_relas, old_output));
            let text = new.string_at(sym, b.r_addend(E)).ok_or_else(|| fail("a reference past a debug string"))?;
            match seen.get(&(text, r_type)) {
                Some(found) => out[field].copy_from_slice(&found[..width]),
                None => follow.new_string(new, sym, at, r_type, text).map_err(fail)?,
            }
            follow.relocations += 1;
            continue;
        }
        let mut retargeted = false;
        let resized = new.section_of_symbol(sym).is_some_and(|s| moved.contains_key(&s) || pieces.contains_key(&s));
        if resized && matches!(r_type, R_X86_64_SIZE32 | R_X86_64_SIZE64) {
            return Err(fail(&format!("a {} of a symbol in a section of a new size", name(r_type))));
        }
        if let Some(moves) = new.section_of_symbol(sym).and_then(|section| pieces.get(&section)) {
            // A merged string: where the old target was and the new one is.
            let old_symbol = old.symbols.get(a.r_sym(E, false) as usize).ok_or_else(|| fail("a bad symbol index"))?;
            let new_symbol = &new.symbols[sym as usize];
            let target = |moves: &[(u32, u32, bool)], value: u64, addend: i64| -> Option<i64> {
                let section = old_symbol.st_type() == STT_SECTION;
                let offset = if section { value as i64 + addend } else { value as i64 };
                let piece = moves.partition_point(|&(start, _, _)| i64::from(start) <= offset).checked_sub(1)?;
                let (start, out, _) = moves[piece];
                let at = i64::from(out) + (offset - i64::from(start));
                Some(if section { at } else { at + addend })
            };
            let was = target(&moves.old, old_symbol.st_value(E), a.r_addend(E));
            let now = target(&moves.new, new_symbol.st_value(E), b.r_addend(E));
            let (Some(was), Some(now)) = (was, now) else { return Err(fail("a reference outside a merged section")) };
            let by = now - was;
            if by != 0 && !follows_its_target(r_type) {
                return Err(fail(&format!("a reference ({}) to a merged string that moved", name(r_type))));
            }
            // The addend's change is in `by` already.
            delta = delta.wrapping_sub(b.r_addend(E).wrapping_sub(a.r_addend(E))).wrapping_add(by);
            retargeted = true;
        } else if let Some(&moved_by) = new.section_of_symbol(sym).and_then(|section| moved.get(&section)) {
            // The section's move, and the symbol's within it.
            let was = old.symbols.get(a.r_sym(E, false) as usize).ok_or_else(|| fail("a bad symbol index"))?;
            let within = new.symbols[sym as usize].st_value(E).wrapping_sub(was.st_value(E));
            let by = moved_by.wrapping_add(within as i64);
            if by != 0 && r_type == R_X86_64_GOTPCREL {
                // Through the GOT: the slot follows the target, the field stays (`Follow`).
                let old_value = i32::from_le_bytes(value[..4].try_into().expect("four bytes")) as i64;
                follow.got_slots.push((was_at as i64 + old_value - a.r_addend(E), by));
            } else if by != 0 && !follows_its_target(r_type) {
                return Err(fail(&format!("a reference ({}) to a section that moved", name(r_type))));
            } else {
                delta = delta.wrapping_add(by);
            }
        }
        if delta != 0 {
            if windows.iter().any(|w| w.start < field.end && field.start < w.end) {
                return Err(fail("a changed addend next to a relaxed relocation"));
            }
            // The old object's symbol of the same relocation: an edit may have numbered the
            // symbols anew.
            if b.r_addend(E) != a.r_addend(E)
                && !retargeted
                && old.retargetable(a.r_sym(E, false), allocated, placed).map_err(fail)? == Retarget::Tombstone
            {
                out[field].copy_from_slice(&value[..width]);
                follow.relocations += 1;
                continue;
            }
            let old_value = u64::from_le_bytes(value);
            let moved = match (width, r_type) {
                (8, _) => Some(old_value.wrapping_add(delta as u64)),
                (4, R_X86_64_32) => u32::try_from(old_value as i64 + delta).ok().map(u64::from),
                (4, _) => i32::try_from(old_value as u32 as i32 as i64 + delta).ok().map(|v| u64::from(v as u32)),
                _ => None,
            };
            value = moved.ok_or_else(|| fail("a relocation's new value that does not fit its field"))?.to_le_bytes();
            if r_type == R_X86_64_64 && allocated {
                follow.addresses.push((at as u64, delta));
            }
        }
        out[field].copy_from_slice(&value[..width]);
        follow.relocations += 1;
    }
    Ok(out)
}

/// Whether two objects' sections of these names, at the same place in their section tables,
/// go to the same place in the output. They do when the names are the same, and when both
/// name an anonymous constant (`.rodata..Lanon.<hash>.<n>`, `.data.rel.ro..L__unnamed_<n>`)
/// by an assembler temporary that differs only in its number: LLVM numbers a unit's anonymous
/// constants in order, so one added before them (a new literal) renumbers all the others.
/// The number is no part of the output: the output section is chosen by the name's prefix,
/// no symbol of the output carries a temporary's name, and no `__start_`/`__stop_` symbol
/// can name a section whose name holds a dot after its start.
fn same_section_name(a: &[u8], b: &[u8]) -> bool {
    let unnumbered = |name: &[u8]| -> Option<usize> {
        let digits = name.iter().rev().take_while(|c| c.is_ascii_digit()).count();
        let stem = name.len() - digits;
        let anonymous = name.windows(3).any(|w| w == b"..L");
        (digits > 0 && anonymous && matches!(name[stem - 1], b'.' | b'_')).then_some(stem)
    };
    a == b || matches!((unnumbered(a), unnumbered(b)), (Some(x), Some(y)) if a[..x] == b[..y])
}

/// The names that the code of several functions shares in `old` or `new` (Cranelift names
/// each function's section `.text.subsection`, LLVM after its function): such sections are
/// told apart by the symbol at their start.
fn shared_code_names<'a>(old: &Shape<'a>, new: &Shape<'a>) -> HashSet<&'a [u8]> {
    let mut shared = HashSet::new();
    for shape in [old, new] {
        let mut seen = HashSet::new();
        for index in (0..shape.headers.len()).filter(|&index| shape.function(index)) {
            if !seen.insert(shape.names[index]) {
                shared.insert(shape.names[index]);
            }
        }
    }
    shared
}

/// The NUL-terminated string at `at` of string table `table` (empty past its end).
fn nul_terminated(table: &[u8], at: usize) -> &[u8] {
    c_string(table.get(at..).unwrap_or_default())
}

/// Whether `object` defines the global function `name` that no code called and the output
/// does not list (`Planner::revive`).
pub(crate) fn defines_uncalled_function(object: &[u8], spots: &ObjectSpots, name: &[u8]) -> bool {
    Shape::parse(object).is_some_and(|shape| shape.uncalled_function(spots, name).is_some())
}

/// Whether `new`, a rebuilt `old`, defines a global that `old` did not (a function an edit
/// added, which another changed object's new code may call): such objects are planned
/// first, so that the calls find it (`Planner::new_definitions`).
pub(crate) fn defines_new_globals(old: &[u8], new: &[u8]) -> bool {
    let (Some(old), Some(new)) = (Shape::parse(old), Shape::parse(new)) else { return false };
    let defined =
        |shape: &Shape<'_>, s: &Sym| s.st_bind() != STB_LOCAL && s.st_shndx(E) != SHN_UNDEF && !shape.temporary(s);
    let known: HashSet<&[u8]> = old.symbols.iter().filter(|s| defined(&old, s)).map(|s| old.symbol_name(s)).collect();
    new.symbols.iter().any(|s| defined(&new, s) && !known.contains(new.symbol_name(s)))
}

/// Whether `new` can replace `old` in the output in place as far as its section headers
/// tell ([`Planner::plan`] decides): the same sections, with the same attributes, but maybe
/// for anonymous constants added or taken out (`Shape::numbered_like`). A cheap
/// first look at an object the moment it arrives: it reads the headers and the names alone.
pub(crate) fn may_replace_in_place(old: &[u8], new: &[u8]) -> bool {
    match (Shape::parse(old), Shape::parse(new)) {
        (Some(old), Some(new)) => {
            old.same_sections(&new) || new.numbered_like(&old).is_some_and(|(new, _)| old.same_headers(&new))
        }
        _ => false,
    }
}

/// A parsed relocatable object: only what the shape comparison reads. Its sections may be
/// numbered as in the object it replaces (`Shape::numbered_like`).
struct Shape<'d> {
    data: &'d [u8],
    headers: Cow<'d, [Shdr]>,
    /// The index of the section names' table.
    names_index: usize,
    /// Per section: its name, found once (a plan asks for each several times, and a release
    /// crate built as one codegen unit has 30k sections named after mangled symbols).
    names: Vec<&'d [u8]>,
    symbols: Cow<'d, [Sym]>,
    /// Each section's index here, by its index in the object, when they differ
    /// (`Shape::numbered_like`).
    numbered: Vec<u32>,
    /// The symbols' names.
    symbol_names: &'d [u8],
    /// The index of the symbols' names' string table.
    symbol_strings: Option<usize>,
    /// Per section: the index of the RELA section that applies to it, 0 if none.
    rela_of: Vec<u32>,
    /// Per section: whether it is a merged string section of debug information, which only
    /// relocations refer to (`.debug_str`, `.debug_line_str`; not `.comment`, whose strings
    /// are the output's own).
    debug_strings: Vec<bool>,
}

impl<'d> Shape<'d> {
    fn parse(data: &'d [u8]) -> Option<Shape<'d>> {
        let header = Ehdr::parse(data).ok()?;
        if header.e_type(E) != ET_REL || header.e_machine(E) != EM_X86_64 {
            return None;
        }
        let headers = header.section_headers(E, data).ok()?;
        let table = headers.get(header.e_shstrndx(E) as usize).and_then(|s| s.data(E, data).ok())?;
        let names: Vec<&[u8]> = headers.iter().map(|h| nul_terminated(table, h.sh_name(E) as usize)).collect();
        let symtab = headers.iter().find(|s| s.sh_type(E) == SHT_SYMTAB);
        let symbols = match symtab {
            Some(s) => s.data_as_array(E, data).ok()?,
            None => &[][..],
        };
        let symbol_strings = symtab.map(|s| s.sh_link(E) as usize);
        let symbol_names = match symbol_strings {
            Some(index) => headers.get(index)?.data(E, data).ok()?,
            None => &[][..],
        };
        let mut rela_of = vec![0; headers.len()];
        for (index, s) in headers.iter().enumerate().filter(|(_, s)| s.sh_type(E) == SHT_RELA) {
            *rela_of.get_mut(s.sh_info(E) as usize)? = index as u32;
        }
        let strings = (SHF_MERGE | SHF_STRINGS) as u64;
        let debug_strings = headers
            .iter()
            .zip(&names)
            .map(|(h, name)| h.sh_flags(E) & (strings | SHF_ALLOC as u64) == strings && name.starts_with(b".debug_"))
            .collect();
        Some(Shape {
            data,
            headers: Cow::Borrowed(headers),
            names_index: usize::from(header.e_shstrndx(E)),
            names,
            symbols: Cow::Borrowed(symbols),
            numbered: Vec::new(),
            symbol_names,
            symbol_strings,
            rela_of,
            debug_strings,
        })
    }

    /// This object with its sections numbered as in `old`, which it replaces, when it holds
    /// `old`'s sections in the same order but for sections of anonymous constants
    /// ([`Shape::addable`]) that a code edit added (a Rust panic location, a literal) or took
    /// out. Each section is paired with the first of `old`'s left that is of its kind (its
    /// name but for an anonymous constant's number, its type and its flags, and for code
    /// under a name several functions share, the function at its start); an anonymous
    /// constant of `old`'s that has no match before the next section that does is taken
    /// out, and one of this object's that has none is added. Anonymous constants are alike to
    /// the link (only the object's own relocations name them), so pairing a changed one with
    /// another's old place is as good as with its own. The added sections are numbered after
    /// `old`'s last; the place of one taken out holds an empty header ([`Shape::gone`]).
    /// Returns the renumbered object and, for each of its sections, the index it has in the
    /// object itself (`u32::MAX` for one taken out); `None` when the sections are not so.
    fn numbered_like(&self, old: &Shape<'_>) -> Option<(Shape<'d>, Vec<u32>)> {
        if self.headers.iter().chain(old.headers.iter()).any(|s| s.sh_type(E) == SHT_SYMTAB_SHNDX) {
            return None;
        }
        let kind = |shape: &Shape<'_>, index: usize| {
            let h = &shape.headers[index];
            (h.sh_type(E), h.sh_flags(E))
        };
        let shared = shared_code_names(old, self);
        let (old_starts, new_starts) = (old.code_starts(&shared), self.code_starts(&shared));
        let alike = |index: usize, new_index: usize| {
            kind(old, index) == kind(self, new_index)
                && same_section_name(old.names[index], self.names[new_index])
                && old_starts[index] == new_starts[new_index]
        };
        // A function's code or exception table, or their relocations.
        let code = |index: usize| {
            let h = &self.headers[index];
            let named = |index: usize| self.function(index) || self.lone_except_table(index);
            named(index) || h.sh_type(E) == SHT_RELA && named(h.sh_info(E) as usize)
        };
        // Alike and of the same size: a section an edit did not change (the sections of
        // constants with addresses cannot change their size in place); or of the same name, a
        // function's or its exception table's (or their relocations'), which names it alone
        // (its code may have changed), or merged strings or constants (some changed).
        let fits = |index: usize, new_index: usize| {
            let renamed = || code(new_index) || self.merged_data(new_index);
            index < old.headers.len()
                && new_index < self.headers.len()
                && alike(index, new_index)
                && (old.headers[index].sh_size(E) == self.headers[new_index].sh_size(E)
                    || renamed() && old.names[index] == self.names[new_index])
        };
        let mut order: Vec<u32> = Vec::with_capacity(self.headers.len().max(old.headers.len()));
        let mut added = Vec::new();
        let mut next = 0;
        // How far the next section that fits is, past anonymous constants only: in the old
        // object (those are taken out) and in this one (those are added); within a few.
        const AHEAD: usize = 16;
        for index in 0..self.headers.len() {
            loop {
                let taken_out = (0..AHEAD).find(|&k| (0..k).all(|d| old.addable_at(next + d)) && fits(next + k, index));
                let put_in = (0..AHEAD).find(|&m| (0..m).all(|d| self.addable_at(index + d)) && fits(next, index + m));
                let remove = match (taken_out, put_in) {
                    (Some(0), _) | (_, Some(0)) => false,
                    (Some(k), Some(m)) => k <= m,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    // Nothing fits near: the kinds decide.
                    (None, None) => {
                        let kept = self.addable(index) || next < old.headers.len() && alike(next, index);
                        !kept && old.addable_at(next)
                    }
                };
                if remove {
                    order.push(u32::MAX);
                    next += 1;
                    continue;
                }
                if next < old.headers.len() && alike(next, index) && put_in.is_none_or(|m| m == 0) {
                    order.push(index as u32);
                    next += 1;
                } else if self.addable(index) {
                    added.push(index as u32);
                } else {
                    return None;
                }
                break;
            }
        }
        while next < old.headers.len() {
            if !old.addable(next) {
                return None;
            }
            order.push(u32::MAX);
            next += 1;
        }
        order.extend(&added);
        let mut numbered = vec![u32::MAX; self.headers.len()];
        for (now, &was) in order.iter().enumerate().filter(|(_, was)| **was != u32::MAX) {
            numbered[was as usize] = now as u32;
        }
        let renumber = |index: u32| numbered.get(index as usize).copied().filter(|&i| i != u32::MAX);
        let mut headers = Vec::with_capacity(order.len());
        for (now, &was) in order.iter().enumerate() {
            if was == u32::MAX {
                // Taken out: an empty header in its place, never read (`Shape::gone`).
                headers.push(Shdr { sh_type: U32::new(E, SHT_NULL), sh_size: U64::new(E, 0), ..old.headers[now] });
                continue;
            }
            let mut h = self.headers[was as usize];
            if h.sh_link(E) != 0 {
                h.sh_link = U32::new(E, renumber(h.sh_link(E))?);
            }
            if matches!(h.sh_type(E), SHT_RELA | SHT_REL) || h.sh_flags(E) & SHF_INFO_LINK as u64 != 0 {
                h.sh_info = U32::new(E, renumber(h.sh_info(E))?);
            }
            headers.push(h);
        }
        let mut symbols = self.symbols.to_vec();
        for symbol in &mut symbols {
            let section = symbol.st_shndx(E);
            if section != SHN_UNDEF && section < SHN_LORESERVE {
                symbol.st_shndx = U16::new(E, u16::try_from(renumber(u32::from(section))?).ok()?);
            }
        }
        let mut rela_of = vec![0; headers.len()];
        for (index, s) in headers.iter().enumerate().filter(|(_, s)| s.sh_type(E) == SHT_RELA) {
            *rela_of.get_mut(s.sh_info(E) as usize)? = index as u32;
        }
        let symbol_strings = match self.symbol_strings {
            Some(index) => Some(renumber(index as u32)? as usize),
            None => None,
        };
        let names_index = renumber(self.names_index as u32)? as usize;
        let name = |&was: &u32| match was {
            u32::MAX => &[][..],
            _ => self.names[was as usize],
        };
        let shape = Shape {
            data: self.data,
            headers: Cow::Owned(headers),
            names_index,
            names: order.iter().map(name).collect(),
            symbols: Cow::Owned(symbols),
            numbered,
            symbol_names: self.symbol_names,
            symbol_strings,
            rela_of,
            debug_strings: order.iter().map(|&was| was != u32::MAX && self.debug_strings[was as usize]).collect(),
        };
        Some((shape, order))
    }

    /// Per section: when it is code under a name in `shared`, or the relocations of such
    /// code, the name of the symbol at the code's start; else empty.
    fn code_starts(&self, shared: &HashSet<&[u8]>) -> Vec<&'d [u8]> {
        let mut starts = vec![&[][..]; self.headers.len()];
        for symbol in self.symbols.iter().filter(|s| s.st_value(E) == 0 && s.st_type() == STT_FUNC) {
            let index = usize::from(symbol.st_shndx(E));
            if index < starts.len() && starts[index].is_empty() && shared.contains(self.names[index]) {
                starts[index] = self.symbol_name(symbol);
            }
        }
        for (index, header) in self.headers.iter().enumerate().filter(|(_, h)| h.sh_type(E) == SHT_RELA) {
            starts[index] = starts.get(header.sh_info(E) as usize).copied().unwrap_or_default();
        }
        starts
    }

    /// Whether section `index` was taken out by the edit (`Shape::numbered_like`): its place
    /// holds an empty header. Never in an object numbered as itself.
    fn gone(&self, index: usize) -> bool {
        let numbered = !self.numbered.is_empty();
        numbered && index != 0 && self.headers.get(index).is_some_and(|h| h.sh_type(E) == SHT_NULL)
    }

    /// Whether there is a section `index`, and it is [`Shape::addable`].
    fn addable_at(&self, index: usize) -> bool {
        index < self.headers.len() && self.addable(index)
    }

    /// Whether section `index` may be one that a code edit added: an anonymous constant
    /// (`.rodata..L…`, `.data.rel.ro..L…`, what LLVM names rustc's; Cranelift's unit's first,
    /// `.rodata` or `.data.rel.ro`, labelled by temporaries alone) in no group, read-only
    /// data or data with addresses the loader relocates, a section of merged strings or
    /// constants (`.rodata.str1.1`, `.rodata.cst8`: placed whole, its pieces not merged with
    /// the output's until the next full link), a function's code (`.text.*`) or exception
    /// table (`.gcc_except_table.*`), or the relocations of one. Whether what it holds can
    /// be placed is the plan's to say.
    fn addable(&self, index: usize) -> bool {
        let h = &self.headers[index];
        let name = self.names[index];
        if h.sh_type(E) == SHT_RELA {
            return self.headers.get(h.sh_info(E) as usize).is_some_and(|_| self.addable(h.sh_info(E) as usize));
        }
        let data = name.starts_with(b".rodata..L") && h.sh_flags(E) == SHF_ALLOC as u64
            || name.starts_with(b".data.rel.ro..L") && h.sh_flags(E) == (SHF_ALLOC | SHF_WRITE) as u64
            || matches!(name, b".rodata" | b".data.rel.ro") && self.labelled_data(index)
            || self.merged_data(index);
        let except_table = name.starts_with(b".gcc_except_table.") && h.sh_flags(E) == SHF_ALLOC as u64;
        (data || except_table) && h.sh_type(E) == SHT_PROGBITS || self.function(index) && name.starts_with(b".text.")
    }

    /// Whether section `index` holds merged read-only strings or constants (`.rodata.str1.1`:
    /// a panic location's file name in a unit that had none; `.rodata.cst8`, `.rodata.cst16`:
    /// LLVM's for a literal of 8 or 16 bytes).
    fn merged_data(&self, index: usize) -> bool {
        let (h, name) = (&self.headers[index], self.names[index]);
        (name.starts_with(b".rodata.str") || name.starts_with(b".rodata.cst"))
            && h.sh_flags(E) & !(SHF_STRINGS as u64) == (SHF_ALLOC | SHF_MERGE) as u64
    }

    /// Whether `other` has this object's sections, and no more, with the same attributes.
    fn same_sections(&self, other: &Shape) -> bool {
        self.same_section_count(other) && self.same_headers(other)
    }

    /// Whether `other`, maybe numbered as this object (`Shape::numbered_like`), has this
    /// object's sections in the same order, with the same attributes ([`Shape::same_header`]),
    /// but for those it took out.
    fn same_headers(&self, other: &Shape) -> bool {
        (0..self.headers.len()).all(|index| other.gone(index) || self.same_header(other, index))
    }

    /// Whether `other` has as many sections as this object, and its section names in the
    /// same section: the first thing an in-place relink needs, and the commonest reason it
    /// cannot be (a function or a literal added or removed).
    fn same_section_count(&self, other: &Shape) -> bool {
        self.headers.len() == other.headers.len() && self.names_index == other.names_index
    }

    /// Whether section `index` has the same header in `other`, but for its place in the
    /// file, its size and its alignment. A group's signature is compared by its name: a symbol
    /// added before it (a function called for the first time) moves it in the table; and the
    /// symbol table's count of locals not at all (`Shape::symbol_map`). The name of a section
    /// of an anonymous constant may differ in its number ([`same_section_name`]).
    fn same_header(&self, other: &Shape, index: usize) -> bool {
        let (a, b) = (&self.headers[index], &other.headers[index]);
        let same_info = match a.sh_type(E) {
            SHT_GROUP => self.named(a.sh_info(E)).is_some_and(|name| Some(name) == other.named(b.sh_info(E))),
            // The number of locals: the symbols are compared through their map.
            SHT_SYMTAB => true,
            _ => a.sh_info(E) == b.sh_info(E),
        };
        same_section_name(self.name_bytes(index), other.name_bytes(index))
            && a.sh_type(E) == b.sh_type(E)
            && a.sh_flags(E) == b.sh_flags(E)
            && a.sh_addr(E) == b.sh_addr(E)
            && a.sh_link(E) == b.sh_link(E)
            && same_info
            && a.sh_entsize(E) == b.sh_entsize(E)
    }

    /// Group section `index`: its flags, then its members' indices (as this shape numbers
    /// them).
    fn group(&self, index: usize) -> Result<Vec<u32>, String> {
        let words: &[object::U32<LE>] = self.headers[index]
            .data_as_array(E, self.data)
            .map_err(|_| format!("section {} is out of bounds", self.name(index)))?;
        let member = |(i, w): (usize, &object::U32<LE>)| match i {
            0 => w.get(E),
            _ => self.numbered.get(w.get(E) as usize).copied().unwrap_or(w.get(E)),
        };
        Ok(words.iter().enumerate().map(member).collect())
    }

    fn name_bytes(&self, index: usize) -> &'d [u8] {
        self.names[index]
    }

    fn name(&self, index: usize) -> String {
        String::from_utf8_lossy(self.name_bytes(index)).into_owned()
    }

    fn contents(&self, index: usize) -> Result<&'d [u8], String> {
        self.headers[index].data(E, self.data).map_err(|_| format!("section {} is out of bounds", self.name(index)))
    }

    fn relas(&self, index: usize) -> Result<&'d [Rela], String> {
        self.headers[index].data_as_array(E, self.data).map_err(|_| format!("bad relocations in {}", self.name(index)))
    }

    /// The relocations that apply to section `index` (x86-64 objects have one RELA section
    /// per section at most).
    fn relocations_of(&self, index: usize) -> Result<&'d [Rela], String> {
        match self.rela_of[index] {
            0 => Ok(&[]),
            rela => self.relas(rela as usize),
        }
    }

    /// The section a local symbol is defined in: references to it follow that section when it
    /// is resized.
    fn section_of_symbol(&self, sym: u32) -> Option<u32> {
        let symbol = self.symbols.get(sym as usize)?;
        (symbol.st_bind() == STB_LOCAL && symbol.st_shndx(E) != SHN_UNDEF).then(|| u32::from(symbol.st_shndx(E)))
    }

    /// The section that symbol `sym` is defined in, when the link resolves it there whatever
    /// the other inputs hold: a local, or a strong global outside any group (GCC's debug
    /// information refers to a global function by its name).
    fn definition_here(&self, sym: u32) -> Option<u32> {
        let symbol = self.symbols.get(sym as usize)?;
        let section = symbol.st_shndx(E);
        let strong = symbol.st_bind() == STB_GLOBAL
            && section != SHN_UNDEF
            && section < SHN_LORESERVE
            && self.headers.get(usize::from(section)).is_some_and(|h| h.sh_flags(E) & SHF_GROUP as u64 == 0);
        self.section_of_symbol(sym).or(strong.then_some(u32::from(section)))
    }

    /// Whether only this object's relocations can refer to section `index`: no symbol but
    /// its section symbol and assembler temporaries (`temporary`) names it.
    fn named_alone(&self, index: usize) -> bool {
        self.symbols_in(index).all(|s| s.st_bind() == STB_LOCAL && self.temporary(s))
    }

    /// Whether symbol `symbol` is an assembler temporary (`.L…`), which the output's
    /// `.symtab` leaves out.
    fn temporary(&self, symbol: &Sym) -> bool {
        self.symbol_name(symbol).starts_with(b".L")
    }

    /// Whether symbol `symbol` is the label LLVM puts on a function's exception table,
    /// `GCC_except_table<n>`, numbered after the function's place in its unit: a function
    /// added before it renumbers it. Nothing refers to it by its name; the output's
    /// `.symtab` keeps the number it had in the full link.
    fn except_label(&self, symbol: &Sym) -> bool {
        symbol.st_bind() == STB_LOCAL && symbol.st_type() == STT_NOTYPE && except_table_label(self.symbol_name(symbol))
    }

    fn symbol_name(&self, symbol: &Sym) -> &'d [u8] {
        nul_terminated(self.symbol_names, symbol.st_name(E) as usize)
    }

    /// The name of symbol `index`, if there is one.
    fn named(&self, index: u32) -> Option<&'d [u8]> {
        self.symbols.get(index as usize).map(|symbol| self.symbol_name(symbol))
    }

    /// How the symbols of `other`, this object rebuilt, correspond to this one's, if the two
    /// tables hold the same symbols: the locals in the same order, the globals in any (rustc
    /// lists them in another order when a function calls one more). They may differ only
    /// where sections of a new size let them: in the values and sizes of temporaries
    /// (`temporary`) defined in sections of `resized` or `shifted` (they move within their
    /// section: merged strings whose pieces are placed anew), and in the sizes of the other
    /// symbols of resized code (a function that grew or shrank; the output's `.symtab`
    /// keeps the old size). `other` may also refer to globals this object does not (a
    /// function called for the first time, `SymbolMap::added`), and no longer to some it did.
    fn symbol_map(
        &self,
        other: &Shape<'_>,
        resized: &[usize],
        shifted: &[usize],
        added_from: usize,
    ) -> Option<SymbolMap> {
        let (first_global, new_first_global) = (self.first_global(), other.first_global());
        let alike_but_binding = |a: &Sym, b: &Sym| {
            let same_but_place = a.st_type() == b.st_type() && a.st_shndx(E) == b.st_shndx(E);
            let section = usize::from(a.st_shndx(E));
            let shifted = resized.contains(&section) || shifted.contains(&section);
            let movable = a.st_bind() == STB_LOCAL && self.temporary(a) && shifted;
            let code = resized.contains(&section) && self.executable(section);
            same_but_place && (movable || (a.st_value(E) == b.st_value(E) && (code || a.st_size(E) == b.st_size(E))))
        };
        let alike = |a: &Sym, b: &Sym| a.st_info == b.st_info && a.st_other == b.st_other && alike_but_binding(a, b);
        // Globals of the same names that are not alike are matched by name, below: a name the
        // old object referred to may be one the new object defines.
        let same_order = self.symbols.len() == other.symbols.len()
            && first_global == new_first_global
            && self.symbol_names == other.symbol_names
            && self.symbols.iter().zip(other.symbols.iter()).all(|(a, b)| a.st_name(E) == b.st_name(E))
            && self.symbols[first_global..].iter().zip(&other.symbols[first_global..]).all(|(a, b)| alike(a, b));
        let (old_by_name, new_by_name) = match same_order {
            true => Default::default(),
            false => (self.globals_by_name(), other.globals_by_name()),
        };
        // A local of one object that is a hidden global of the same definition in the other:
        // rustc exports a function from its unit once another unit calls it, and no longer
        // when none does. The output, where a hidden global is local, does not change.
        let hidden_in = |shape: &Shape<'_>, by_name: &HashMap<&[u8], usize>, local: &Sym, name: &[u8]| {
            let named = !matches!(local.st_type(), STT_SECTION | STT_FILE) && !name.is_empty();
            let global = by_name.get(name).map(|&i| &shape.symbols[i]);
            let hidden = global.filter(|g| g.st_visibility() == STV_HIDDEN && g.st_shndx(E) != SHN_UNDEF);
            named && !name.starts_with(b".L") && hidden.is_some_and(|g| alike_but_binding(g, local))
        };
        // A label of a string, or the section symbol the references to its strings go through.
        let string_label = |shape: &Shape<'_>, symbol: &Sym| {
            symbol.st_bind() == STB_LOCAL
                && (shape.temporary(symbol) || symbol.st_type() == STT_SECTION)
                && shifted.contains(&usize::from(symbol.st_shndx(E)))
        };
        let data_label = |shape: &Shape<'_>, symbol: &Sym| {
            let section = usize::from(symbol.st_shndx(E));
            symbol.st_bind() == STB_LOCAL
                && shape.temporary(symbol)
                && (resized.contains(&section) && !shape.executable(section) || shape.labelled_data(section))
        };
        let lone_label = |shape: &Shape<'_>, symbol: &Sym| string_label(shape, symbol) || data_label(shape, symbol);
        // The string sections whose labels changed: their strings must be placed one by one.
        let relabelled = |shape: &Shape<'_>, symbol: &Sym, sections: &mut Vec<u32>| {
            if string_label(shape, symbol) {
                sections.push(u32::from(symbol.st_shndx(E)));
            }
        };
        let mut relabelled_strings = Vec::new();
        let section_symbols = |shape: &Shape<'_>| -> HashSet<u16> {
            shape.symbols.iter().filter(|s| s.st_type() == STT_SECTION).map(|s| s.st_shndx(E)).collect()
        };
        let (old_sections, new_sections) = (section_symbols(self), section_symbols(other));
        let promoted = |a: &Sym| hidden_in(other, &new_by_name, a, self.symbol_name(a));
        let demoted = |b: &Sym| hidden_in(self, &old_by_name, b, other.symbol_name(b));
        let mut old_locals = Vec::with_capacity(new_first_global);
        let mut was_local: HashMap<&[u8], u32> = HashMap::new();
        let mut at = 0;
        for b in &other.symbols[..new_first_global] {
            loop {
                let a = self.symbols[..first_global].get(at);
                // Assembler temporaries are named after the unit's contents (`.Lanon.<hash>.0`).
                let same_name = |a: &Sym| {
                    self.symbol_name(a) == other.symbol_name(b)
                        || self.temporary(a) && other.temporary(b)
                        || self.except_label(a) && other.except_label(b)
                };
                if a.is_some_and(|a| alike(a, b) && (same_order || same_name(a))) {
                    old_locals.push(at as u32);
                    at += 1;
                    break;
                }
                if let Some(a) = a.filter(|a| promoted(a)) {
                    was_local.insert(self.symbol_name(a), at as u32);
                    at += 1;
                    continue;
                }
                if demoted(b) {
                    old_locals.push(old_by_name[other.symbol_name(b)] as u32);
                    break;
                }
                // A section symbol that one object has and the other not: an assembler makes
                // one for a section that relocations refer to through it, and no other.
                if a.is_some_and(|a| a.st_type() == STT_SECTION && !new_sections.contains(&a.st_shndx(E))) {
                    at += 1;
                    continue;
                }
                if b.st_type() == STT_SECTION && !old_sections.contains(&b.st_shndx(E)) {
                    old_locals.push(u32::MAX);
                    break;
                }
                // The symbols of a section an edit added (`Shape::numbered_like`), which no old
                // symbol matches.
                let section = usize::from(b.st_shndx(E));
                if b.st_bind() == STB_LOCAL && (added_from..other.headers.len()).contains(&section) {
                    old_locals.push(u32::MAX);
                    break;
                }
                // The symbols of a section the edit took out.
                if a.is_some_and(|a| a.st_bind() == STB_LOCAL && other.gone(usize::from(a.st_shndx(E)))) {
                    at += 1;
                    continue;
                }
                // A label the new object no longer has, or one it has anew: of a string (its
                // section's strings are placed one by one: `Planner::move_merged`), or of data in
                // a section of a new size (Cranelift's literals, each under a temporary in its
                // unit's one `.rodata`). Each reference is made from the label's own value.
                if let Some(a) = a.filter(|a| lone_label(self, a)) {
                    relabelled(self, a, &mut relabelled_strings);
                    at += 1;
                    continue;
                }
                if lone_label(other, b) {
                    relabelled(other, b, &mut relabelled_strings);
                    old_locals.push(u32::MAX);
                    break;
                }
                return None;
            }
        }
        for (index, a) in self.symbols[..first_global].iter().enumerate().skip(at) {
            let unmatched_section = a.st_type() == STT_SECTION && !new_sections.contains(&a.st_shndx(E));
            if other.gone(usize::from(a.st_shndx(E))) || unmatched_section {
                continue;
            }
            if lone_label(self, a) {
                relabelled(self, a, &mut relabelled_strings);
                continue;
            }
            if !promoted(a) {
                return None;
            }
            was_local.insert(self.symbol_name(a), index as u32);
        }
        let mut added = Vec::new();
        let old_globals = if same_order {
            (first_global as u32..self.symbols.len() as u32).collect()
        } else {
            let mut old_globals = Vec::with_capacity(other.symbols.len() - new_first_global);
            let defined_anew = |b: &Sym| {
                b.st_bind() == STB_GLOBAL && (added_from..other.headers.len()).contains(&usize::from(b.st_shndx(E)))
            };
            for (i, b) in other.symbols.iter().enumerate().skip(new_first_global) {
                let name = other.symbol_name(b);
                match (old_by_name.get(name).map(|&was| was as u32), was_local.get(name)) {
                    (Some(was), _) if alike(&self.symbols[was as usize], b) => old_globals.push(was),
                    // A name the old object referred to and the new one defines, in a section
                    // the edit added: a function that moved here from another object.
                    (Some(was), _) if self.symbols[was as usize].st_shndx(E) == SHN_UNDEF && defined_anew(b) => {
                        old_globals.push((self.symbols.len() + added.len()) as u32);
                        added.push(i as u32);
                    }
                    // One the old object defined in a section the edit took out, and the new
                    // one refers to: a function that moved to another object. The new
                    // references go where the old definition was (`Planner::finish`).
                    (Some(was), _)
                        if b.st_shndx(E) == SHN_UNDEF
                            && b.st_bind() != STB_LOCAL
                            && self.symbols[was as usize].st_shndx(E) != SHN_UNDEF
                            && other.gone(usize::from(self.symbols[was as usize].st_shndx(E))) =>
                    {
                        old_globals.push(was)
                    }
                    (Some(_), _) => return None,
                    (None, Some(&was)) => old_globals.push(was),
                    // A new reference; or a new definition, of a function an edit added
                    // (whose name the plan checks the output does not know: it would change
                    // what the link resolves, and the output's tables).
                    (None, None) if b.st_shndx(E) == SHN_UNDEF && b.st_bind() != STB_LOCAL || defined_anew(b) => {
                        old_globals.push((self.symbols.len() + added.len()) as u32);
                        added.push(i as u32);
                    }
                    (None, None) => return None,
                }
            }
            old_globals
        };
        let identity = self.symbols.len() == other.symbols.len()
            && first_global == new_first_global
            && old_locals.iter().enumerate().all(|(i, &old)| old as usize == i)
            && old_globals.iter().enumerate().all(|(i, &old)| old as usize == first_global + i);
        relabelled_strings.dedup();
        Some(SymbolMap { old_locals, old_globals, first_global: new_first_global, identity, added, relabelled_strings })
    }

    /// The names of the globals this object refers to and does not define.
    fn undefined_names(&self) -> HashSet<&'d [u8]> {
        let globals = self.symbols[self.first_global()..].iter();
        globals.filter(|s| s.st_shndx(E) == SHN_UNDEF).map(|s| self.symbol_name(s)).collect()
    }

    /// Each global symbol's index, by its name.
    fn globals_by_name(&self) -> HashMap<&'d [u8], usize> {
        (self.first_global()..self.symbols.len()).map(|i| (self.symbol_name(&self.symbols[i]), i)).collect()
    }

    /// The index of the first global symbol (all locals come first).
    fn first_global(&self) -> usize {
        self.symbols.iter().skip(1).position(|s| s.st_bind() != STB_LOCAL).map_or(self.symbols.len(), |i| i + 1)
    }

    /// Whether section `index` holds code.
    fn executable(&self, index: usize) -> bool {
        self.headers.get(index).is_some_and(|h| h.sh_flags(E) & SHF_EXECINSTR as u64 != 0)
    }

    /// Whether section `index` may be written elsewhere in the output when it changes its
    /// size. No symbol but its section symbol may name it, so that only this object's
    /// relocations refer to it, and it must be one of:
    /// - read-only data (`.rodata.*`: neither writable, executable, thread-local nor in a
    ///   group) with no relocations of its own, which moves to the overflow segment, and so
    ///   does an exception table (`.gcc_except_table.*`, which local labels may name);
    /// - writable data that temporaries label ([`Shape::labelled_data`]: Cranelift's
    ///   `.data.rel.ro`, which grows with each panic location an edit adds), which moves to
    ///   the writable overflow segment and is made anew there, each of its addresses with a
    ///   relative relocation of its own;
    /// - code (`.text.*`, in no group) that no global symbol enters but at its start (one
    ///   function): it moves to the overflow segment, made executable, and a jump at its old
    ///   place takes there whoever calls it by a global name (another object, a GOT slot, a
    ///   vtable, the dynamic symbol table), so that its address stays the same for all;
    /// - debug information relocated by absolute addresses or offsets only, which grows at
    ///   the end of its output section: what its readers find by its offset alone, never by
    ///   walking the whole output section (a unit's line table, location and range lists,
    ///   abbreviations), or `.debug_info`, whose units are walked one after another, and
    ///   which leaves behind units emptied of their entries (`first_entries`), or
    ///   `.debug_aranges`, whose sets are walked likewise, and which leaves behind sets
    ///   emptied of their address ranges (`first_pairs`), naming units that moved too.
    fn movable(&self, index: usize) -> bool {
        // With extended section indices a symbol's `st_shndx` does not say its section.
        if self.headers.iter().any(|s| s.sh_type(E) == SHT_SYMTAB_SHNDX) {
            return false;
        }
        let header = &self.headers[index];
        let name = self.name_bytes(index);
        let units = name == b".debug_info" || name == b".debug_aranges";
        let named_alone = || self.named_alone(index);
        let absolute_only = || {
            let relas = self.relocations_of(index).unwrap_or(&[]);
            // A thread-local's offset does not depend on the place either.
            let types = |t| matches!(t, R_X86_64_NONE | R_X86_64_64 | R_X86_64_32) || thread_local_offset(t);
            relas.iter().all(|r| types(r.r_type(E, false)))
        };
        let named_locally = || self.symbols_in(index).all(|s| s.st_bind() == STB_LOCAL);
        let except_table = || name == b".gcc_except_table" || name.starts_with(b".gcc_except_table.");
        let read_only_data = header.sh_flags(E) == SHF_ALLOC as u64
            && self.rela_of[index] == 0
            && ((name == b".rodata" || name.starts_with(b".rodata.")) && named_alone()
                || except_table() && named_locally());
        let debug = header.sh_flags(E) & (SHF_ALLOC | SHF_GROUP) as u64 == 0
            && (crate::layout::DEBUG_FOUND_BY_OFFSET.contains(&name) || units)
            && absolute_only()
            && named_alone();
        let entered_at_start = || {
            self.symbols_in(index).all(|s| {
                matches!(s.st_type(), STT_FUNC | STT_NOTYPE) && (s.st_bind() == STB_LOCAL || s.st_value(E) == 0)
            })
        };
        let writable_data = header.sh_flags(E) & SHF_WRITE as u64 != 0 && self.labelled_data(index);
        header.sh_type(E) == SHT_PROGBITS && (read_only_data || writable_data || debug)
            || self.function(index) && entered_at_start()
    }

    /// Whether section `index` is the code of one function that only this object can call:
    /// a `.text.*` section that one local symbol names, at its start (what an edit may add or
    /// take out).
    fn lone_function(&self, index: usize) -> bool {
        let mut symbols = self.symbols_in(index);
        let local = |s: &Sym| s.st_bind() == STB_LOCAL && s.st_value(E) == 0 && !self.temporary(s);
        self.function(index) && symbols.next().is_some_and(local) && symbols.next().is_none()
    }

    /// The section of the global function `name` that this object defines, which no code
    /// called, if it does, with its spot: none where the link dropped it, the spot of `spots`
    /// that places it where an earlier relink added it (and the output does not list it).
    fn uncalled_function(&self, spots: &ObjectSpots, name: &[u8]) -> Option<(usize, Option<SectionSpot>)> {
        let defined = self.symbols[self.first_global()..]
            .iter()
            .find(|s| s.st_shndx(E) != SHN_UNDEF && s.st_shndx(E) < SHN_LORESERVE && self.symbol_name(s) == name)?;
        let section = usize::from(defined.st_shndx(E));
        let placed = spots.sections.iter().find(|spot| spot.section as usize == section);
        self.new_global_function(section).then_some((section, placed.copied()))
    }

    /// The sections of this object below `count` (those of the object it replaces) that the
    /// link dropped (none of `placed`) and that the allocated `referrers` refer to through
    /// local symbols, and those these refer to in turn: code or data an edit made live again.
    /// Only whole sections of code or data outside any group are; a merged section the link
    /// dropped stays out (a reference to it links in full).
    fn made_live(
        &self,
        referrers: &[usize],
        placed: &HashMap<u32, SectionSpot>,
        count: usize,
    ) -> Result<Vec<usize>, String> {
        let mut live = Vec::new();
        let mut queue = referrers.to_vec();
        while let Some(index) = queue.pop() {
            // Debug information refers to every function: it keeps none alive.
            if self.headers.get(index).is_none_or(|h| h.sh_flags(E) & SHF_ALLOC as u64 == 0) {
                continue;
            }
            for r in self.relocations_of(index)? {
                let Some(target) = self.section_of_symbol(r.r_sym(E, false)) else { continue };
                let target = target as usize;
                let Some(header) = self.headers.get(target).filter(|_| target < count && !self.gone(target)) else {
                    continue;
                };
                let flags = header.sh_flags(E);
                let whole = header.sh_type(E) == SHT_PROGBITS
                    && flags & SHF_ALLOC as u64 != 0
                    && flags & (SHF_MERGE | SHF_GROUP | SHF_TLS) as u64 == 0;
                if whole && !placed.contains_key(&(target as u32)) && !live.contains(&target) {
                    live.push(target);
                    queue.push(target);
                }
            }
        }
        live.sort_unstable();
        Ok(live)
    }

    /// Whether section `index` is the code of one function an edit may add under a global
    /// name: a `.text.*` section that one strong global symbol names, at its start (rustc's
    /// functions that other units call are hidden globals, Cranelift's all globals).
    fn new_global_function(&self, index: usize) -> bool {
        let mut symbols = self.symbols_in(index);
        let global = |s: &Sym| s.st_bind() == STB_GLOBAL && s.st_value(E) == 0 && s.st_type() == STT_FUNC;
        self.function(index) && symbols.next().is_some_and(global) && symbols.next().is_none()
    }

    /// Whether section `index` is a function's exception table that only this object can
    /// refer to (`.gcc_except_table.*`, named by its label and temporaries alone): what an
    /// edit adds or takes out with its function.
    fn lone_except_table(&self, index: usize) -> bool {
        let Some(header) = self.headers.get(index) else { return false };
        header.sh_type(E) == SHT_PROGBITS
            && header.sh_flags(E) == SHF_ALLOC as u64
            && self.name_bytes(index).starts_with(b".gcc_except_table.")
            && self.symbols_in(index).all(|s| s.st_bind() == STB_LOCAL && (self.temporary(s) || self.except_label(s)))
    }

    /// Whether section `index` is a function's code (`.text.*`, in no group).
    fn function(&self, index: usize) -> bool {
        let Some(header) = self.headers.get(index) else { return false };
        let name = self.name_bytes(index);
        header.sh_type(E) == SHT_PROGBITS
            && header.sh_flags(E) == (SHF_ALLOC | SHF_EXECINSTR) as u64
            && (name == b".text" || name.starts_with(b".text."))
    }

    /// Whether section `index` is one whose fields the patch can make anew when its
    /// relocations change (`Rebuild`): a function's code (`.text.*`), debug information
    /// (`.debug_*`, its strings aside), or data only this object names
    /// ([`Shape::labelled_data`]), in no group.
    fn rebuildable(&self, index: usize) -> bool {
        let Some(header) = self.headers.get(index) else { return false };
        let debug = header.sh_type(E) == SHT_PROGBITS
            && header.sh_flags(E) == 0
            && self.name_bytes(index).starts_with(b".debug_");
        self.function(index) || debug || self.labelled_data(index)
    }

    /// Whether section `index` is data (not code, not thread-local, in no group) that only
    /// this object's relocations refer to, by temporaries that label what it holds:
    /// Cranelift's `.rodata` and `.data.rel.ro` of a unit, whose labels it renumbers and
    /// whose contents it orders anew when an edit adds or takes out a constant. A label that
    /// moved within it is no change of shape: references to it are made from its own value.
    fn labelled_data(&self, index: usize) -> bool {
        let Some(header) = self.headers.get(index) else { return false };
        let not = (SHF_EXECINSTR | SHF_TLS | SHF_GROUP) as u64;
        header.sh_type(E) == SHT_PROGBITS
            && header.sh_flags(E) & SHF_ALLOC as u64 != 0
            && header.sh_flags(E) & not == 0
            && self.named_alone(index)
    }

    /// The symbols defined in section `index`, but its section symbol.
    fn symbols_in(&self, index: usize) -> impl Iterator<Item = &Sym> + '_ {
        self.symbols.iter().filter(move |s| usize::from(s.st_shndx(E)) == index && s.st_type() != STT_SECTION)
    }

    /// Whether section `index` holds unwind records (`.eh_frame`).
    fn unwind_records(&self, index: usize) -> bool {
        self.name_bytes(index) == b".eh_frame"
    }

    /// Marks in `changed` each section with a relocation that refers to a section in
    /// `moved`: its fields must follow. Only sections the patch rewrites may refer to one,
    /// and the unwind records (`Planner::patch_unwind` makes them follow).
    fn referrers(&self, moved: &HashMap<u32, i64>, changed: &mut [bool]) -> Result<(), String> {
        for (index, rela) in self.rela_of.iter().enumerate().filter(|&(_, &rela)| rela != 0) {
            if self.unwind_records(index) {
                continue;
            }
            let relas = self.relas(*rela as usize)?;
            let refers = |r: &Rela| self.section_of_symbol(r.r_sym(E, false)).is_some_and(|s| moved.contains_key(&s));
            if relas.iter().any(refers) {
                if !copied_as_is(&self.headers[index], self.name_bytes(index)) {
                    return Err(format!("{} refers to a section that moved", self.name(index)));
                }
                changed[index] = true;
            }
        }
        Ok(())
    }

    /// Whether section `index` is a merged string section of debug information
    /// (`Shape::debug_strings`).
    fn debug_strings_section(&self, index: usize) -> bool {
        self.debug_strings.get(index).copied().unwrap_or(false)
    }

    /// Whether symbol `sym` is in a merged string section the program does not load.
    fn debug_strings(&self, sym: u32) -> bool {
        self.section_of_symbol(sym).is_some_and(|section| self.debug_strings_section(section as usize))
    }

    /// The text (up to its terminator) a reference to symbol `sym` of a merged string section
    /// with `addend` points at.
    fn string_at(&self, sym: u32, addend: i64) -> Option<&'d [u8]> {
        let section = self.section_of_symbol(sym)?;
        let bytes = self.contents(section as usize).ok()?;
        let at = usize::try_from(self.symbols.get(sym as usize)?.st_value(E) as i64 + addend).ok()?;
        let rest = bytes.get(at..)?;
        Some(&rest[..memchr::memchr(0, rest)?])
    }

    /// The old output's field of each of `relas` (of a section whose old output is `output`)
    /// that refers to a debug string (`debug_strings`), by the string's text and the type.
    fn string_fields(&self, relas: &[Rela], output: &[u8]) -> HashMap<(&'d [u8], u32), [u8; 8]> {
        let mut fields = HashMap::new();
        for r in relas.iter().filter(|r| self.debug_strings(r.r_sym(E, false))) {
            let (at, r_type) = (r.r_offset(E) as usize, r.r_type(E, false));
            let width = crate::x86_64::reloc_width(r_type);
            let bytes = output.get(at..at + width).filter(|_| matches!(r_type, R_X86_64_32 | R_X86_64_64));
            if let (Some(bytes), Some(text)) = (bytes, self.string_at(r.r_sym(E, false), r.r_addend(E))) {
                let mut field = [0u8; 8];
                field[..width].copy_from_slice(bytes);
                fields.insert((text, r_type), field);
            }
        }
        fields
    }

    /// The thread-local offsets of `relas`' fields (of a section whose old output is
    /// `output`), less their addends (`ThreadLocalOffsets`); a target and type whose fields
    /// disagree is left out.
    fn thread_local_offsets(&self, relas: &[Rela], output: &[u8]) -> ThreadLocalOffsets<'d> {
        let mut found: HashMap<_, Option<i64>> = HashMap::new();
        for r in relas.iter().filter(|r| thread_local_offset(r.r_type(E, false))) {
            let (at, r_type) = (r.r_offset(E) as usize, r.r_type(E, false));
            let value = match output.get(at..at + crate::x86_64::reloc_width(r_type)) {
                Some(&[a, b, c, d]) => i64::from(i32::from_le_bytes([a, b, c, d])),
                Some(bytes) if bytes.len() == 8 => i64::from_le_bytes(bytes.try_into().expect("8 bytes")),
                _ => continue,
            };
            let base = value.wrapping_sub(r.r_addend(E));
            let entry = found.entry((self.target_name(r.r_sym(E, false)), r_type)).or_insert(Some(base));
            if *entry != Some(base) {
                *entry = None;
            }
        }
        found.into_iter().filter_map(|(key, base)| Some((key, base?))).collect()
    }

    /// The name a relocation against symbol `sym` is matched by across the old and new
    /// object: its own, or its section's for a section symbol.
    fn target_name(&self, sym: u32) -> &'d [u8] {
        match self.symbols.get(sym as usize) {
            Some(symbol) if symbol.st_type() == STT_SECTION => self.name_bytes(usize::from(symbol.st_shndx(E))),
            Some(symbol) => self.symbol_name(symbol),
            None => b"",
        }
    }

    /// What a relocation against symbol `sym` holds when its addend changes: its value must
    /// be the symbol's address plus the addend, and moves with the addend (`Retarget::Moves`).
    /// Not so for a string in a merge section (the addend picks the string). A non-allocated
    /// section's reference to code the link dropped (garbage collected, a discarded COMDAT
    /// copy: every other code section of the object is placed) holds a tombstone, whatever
    /// the addend: it stays (`Retarget::Tombstone`). A target in an allocated section that is
    /// live is in the output, and a placed section of this object is.
    fn retargetable(
        &self,
        sym: u32,
        allocated: bool,
        placed: &HashMap<u32, SectionSpot>,
    ) -> Result<Retarget, &'static str> {
        let symbol = self.symbols.get(sym as usize).ok_or("a relocation against a missing symbol")?;
        if symbol.st_bind() != STB_LOCAL {
            return if allocated { Ok(Retarget::Moves) } else { Err("a changed addend against a global symbol") };
        }
        let shndx = symbol.st_shndx(E);
        if shndx == SHN_ABS || placed.contains_key(&u32::from(shndx)) {
            Ok(Retarget::Moves)
        } else if !allocated && self.executable(usize::from(shndx)) {
            Ok(Retarget::Tombstone)
        } else {
            Err("a changed addend against a section not copied as is")
        }
    }
}

/// What a field whose relocation's addend changed holds (`Shape::retargetable`).
#[derive(Debug, PartialEq, Eq)]
enum Retarget {
    /// Its target's address plus the addend: it moves with the addend.
    Moves,
    /// The tombstone of code the link dropped: it stays.
    Tombstone,
}

/// Writes the relink's patches into `file`, the old output, and brings its build id up to
/// date: the ranges of the tree hash that a patch touched or the relink made are hashed again
/// (the id's own bytes as zeros, as when it was first computed).
pub fn apply(file: &std::fs::File, relink: &Relink, map: &mut OutputMap) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    for m in &relink.moves {
        copy_within(file, *m)?;
    }
    let patches = &relink.patches;
    for patch in patches {
        file.write_all_at(&patch.bytes, patch.offset)?;
    }
    let Some((id_at, id_len)) = map.build_id else { return Ok(()) };
    let mut touched: Vec<usize> = Vec::new();
    for patch in patches {
        let end = patch.offset + patch.bytes.len() as u64;
        // Ranges are in file order and only empty ones share a start: from the last
        // non-empty range that starts at or before the patch, those that overlap it.
        let mut first = map.ranges.partition_point(|r| r.at <= patch.offset);
        while first > 0 && map.ranges[first - 1].len == 0 {
            first -= 1;
        }
        let overlapping = map.ranges[first.saturating_sub(1)..].iter().take_while(|r| r.at < end);
        let base = first.saturating_sub(1);
        touched.extend(overlapping.enumerate().filter(|(_, r)| r.at + r.len > patch.offset).map(|(i, _)| base + i));
    }
    touched.extend(relink.rehash.iter().filter_map(|at| map.ranges.binary_search_by_key(at, |r| r.at).ok()));
    touched.sort_unstable();
    touched.dedup();
    // On the pool, from the file's pages in place: the chunks the patches wrote into and
    // those the relink made (what a section grew; a copied section keeps its digests:
    // `moved_ranges`). A chunk of a table the full link wrote whole (`.symtab`, `.eh_frame`)
    // is megabytes, which reads into buffers would copy and fault in.
    // SAFETY: a read-only map of the output this process holds locked, dropped before it
    // writes again.
    let view = unsafe { memmap2::Mmap::map(file)? };
    let cut_short = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "a build id range past the file's end");
    let digests: Vec<std::io::Result<u128>> = touched
        .par_iter()
        .map(|&index| {
            let range = &map.ranges[index];
            let bytes = view.get(range.at as usize..(range.at + range.len) as usize).ok_or_else(cut_short)?;
            let id =
                id_at.saturating_sub(range.at) as usize..(id_at + u64::from(id_len)).saturating_sub(range.at) as usize;
            if id.start < bytes.len() && !id.is_empty() {
                let mut bytes = bytes.to_vec();
                let end = id.end.min(bytes.len());
                bytes[id.start..end].fill(0);
                return Ok(twox_hash::XxHash3_128::oneshot(&bytes));
            }
            Ok(twox_hash::XxHash3_128::oneshot(bytes))
        })
        .collect();
    drop(view);
    for (index, digest) in touched.into_iter().zip(digests) {
        map.ranges[index].digest = digest?;
    }
    let id = crate::write::tree_hash(&map.ranges);
    file.write_all_at(&id[..id_len as usize], id_at)
}

/// Copies a moved output section inside the file, in the kernel (`copy_file_range`: no
/// bytes pass through the process), or through a buffer where the file system cannot. Only
/// the bytes the file holds are copied: what the relink appended to the section before it
/// was moved is written by its patches, which follow the move (`Overflow::translate`).
fn copy_within(file: &std::fs::File, m: crate::overflow::Move) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    let held = m.len.min(file.metadata()?.len().saturating_sub(m.from));
    let (mut from, mut to, mut left) = (m.from as i64, m.to as i64, held as usize);
    while left > 0 {
        // SAFETY: a system call on an open file with offsets it advances; no memory is shared.
        let copied = unsafe { libc::copy_file_range(file.as_raw_fd(), &mut from, file.as_raw_fd(), &mut to, left, 0) };
        if copied <= 0 {
            let mut bytes = vec![0; left];
            file.read_exact_at(&mut bytes, from as u64)?;
            return file.write_all_at(&bytes, to as u64);
        }
        left -= copied as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::CHUNK_BYTES;

    #[test]
    fn anonymous_constants_renumbered_keep_their_sections() {
        let same = |a: &str, b: &str| same_section_name(a.as_bytes(), b.as_bytes());
        assert!(same(".rodata..Lanon.2cb02d83.29", ".rodata..Lanon.2cb02d83.30"));
        assert!(same(".data.rel.ro..Lanon.2cb02d83.9", ".data.rel.ro..Lanon.2cb02d83.10"));
        assert!(same(".rodata..L__unnamed_1", ".rodata..L__unnamed_12"));
        assert!(same(".text.main", ".text.main"));
        // Another hash, another prefix, or a name that is not a temporary's: another section.
        assert!(!same(".rodata..Lanon.2cb02d83.29", ".rodata..Lanon.ffffffff.29"));
        assert!(!same(".rodata..Lanon.2cb02d83.29", ".data.rel.ro..Lanon.2cb02d83.29"));
        assert!(!same(".text.f1", ".text.f2"));
        assert!(!same(".init_array.00100", ".init_array.00200"));
        assert!(!same(".rodata..Lanon.2cb02d83.29", ".rodata..Lanon.2cb02d83.29x"));
    }

    #[test]
    fn a_grown_region_is_hashed_again_only_where_it_changed() {
        let range = |at, len, digest| WrittenRange { at, len, digest };
        let at = 0x10_0000;
        // The full link's last range, before the region, is left alone.
        let mut ranges = vec![range(0, 0x1000, 7)];
        let made = chunk_region(&mut ranges, at, 2 * CHUNK_BYTES + 100);
        assert_eq!(made, vec![at, at + CHUNK_BYTES, at + 2 * CHUNK_BYTES]);
        assert_eq!(ranges[0], range(0, 0x1000, 7));
        assert_eq!(ranges[3], range(at + 2 * CHUNK_BYTES, 100, 0));
        for (digest, r) in ranges[1..].iter_mut().enumerate() {
            r.digest = digest as u128 + 1;
        }
        // Grown by 200 bytes: the last chunk is resized, the others keep their digests.
        let made = chunk_region(&mut ranges, at, 2 * CHUNK_BYTES + 300);
        ranges.sort_by_key(|r| r.at);
        assert_eq!(made, vec![at + 2 * CHUNK_BYTES]);
        assert_eq!(&ranges[1..3], &[range(at, CHUNK_BYTES, 1), range(at + CHUNK_BYTES, CHUNK_BYTES, 2)]);
        assert_eq!(ranges[3], range(at + 2 * CHUNK_BYTES, 300, 0));
        assert_eq!(ranges.len(), 4);
        // A region hashed whole (one range at its start) is cut into chunks, all hashed anew.
        let mut ranges = vec![range(at, 3 * CHUNK_BYTES, 9)];
        let made = chunk_region(&mut ranges, at, 3 * CHUNK_BYTES);
        assert_eq!(made, vec![at, at + CHUNK_BYTES, at + 2 * CHUNK_BYTES]);
        assert!(ranges.iter().all(|r| r.len == CHUNK_BYTES && r.digest == 0));
    }

    #[test]
    fn a_copied_section_keeps_its_digests_and_only_what_it_grew_is_hashed() {
        let hash = |bytes: &[u8]| twox_hash::XxHash3_128::oneshot(bytes);
        let (from, len, to) = (0x1000u64, 3 * CHUNK_BYTES + 50, 0x20_0000u64);
        let mut file: Vec<u8> = (0..to + len + 1000).map(|i| (i * 7 % 251) as u8).collect();
        // The full link's ranges over the section: chunks of its own lengths, a hole between two.
        let full = [(from, CHUNK_BYTES + 8), (from + CHUNK_BYTES + 16, 2 * CHUNK_BYTES + 34)];
        let mut ranges: Vec<WrittenRange> = full
            .iter()
            .map(|&(at, len)| WrittenRange { at, len, digest: hash(&file[at as usize..(at + len) as usize]) })
            .collect();
        // Copied to the end of the file, then 1000 bytes appended to it.
        file.copy_within(from as usize..(from + len) as usize, to as usize);
        moved_ranges(&mut ranges, &[crate::overflow::Move { from, len, to }]);
        let made = chunk_region(&mut ranges, to + len, 1000);
        ranges.sort_by_key(|r| r.at);
        assert_eq!(made, vec![to + len]);
        assert_eq!(ranges.len(), 5);
        for r in ranges.iter_mut().filter(|r| made.contains(&r.at)) {
            r.digest = hash(&file[r.at as usize..(r.at + r.len) as usize]);
        }
        for r in &ranges {
            assert_eq!(r.digest, hash(&file[r.at as usize..(r.at + r.len) as usize]), "the range at {:#x}", r.at);
        }
    }
}
