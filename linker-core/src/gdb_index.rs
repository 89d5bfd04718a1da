//! `--gdb-index`: the `.gdb_index` section (version 7), gdb's ready-made index of the
//! compilation units, the code addresses each covers and the names each defines, so that
//! gdb starts without reading every unit of `.debug_info`.
//!
//! The section holds, after a 24-byte header of offsets:
//! - the unit list: each compilation unit's offset in the output `.debug_info` and its length;
//! - the (empty) type-unit list: `.debug_types` units are not indexed;
//! - the address area: (start, end, unit) per live code section;
//! - the symbol table: an open-addressed hash table of (name, unit vector) offsets into
//! - the constant pool: per name, the units that define it with the kind of each definition
//!   (a `u32` count, then `unit | flags << 24`), then the names themselves.
//!
//! **Where the names come from.** From the `.debug_gnu_pubnames` and `.debug_gnu_pubtypes`
//! sections where an object has them (`-ggnu-pubnames`), as lld and mold do: their entry
//! flags are gdb's symbol kinds as they stand. Otherwise (rustc writes none) from the units'
//! own entries, as gdb names them in the indexes it builds itself: functions, variables
//! outside functions, types, namespaces and enumerators, qualified by their enclosing
//! namespaces and types except in C, a definition apart from its declaration (a Rust method,
//! a C++ member) by the declaration's name. Entries inside functions are skipped unread.
//! Strings and unit headers are read through the object's relocations (`.debug_str`
//! offsets are addends in a relocatable object). gdb 13 ignores an index with no names,
//! so without this second source a Rust program's index would be useless (lld's is).
//!
//! **Which unit covers a code section.** An object with one compilation unit (nearly all:
//! one per codegen unit, per C file) covers all its live code sections. In an object with
//! several (LTO, `ld -r`), a code section belongs to the first unit whose `.debug_info`
//! bytes, or whose DWARF 5 `.debug_addr` contribution (contributions follow their units'
//! order), hold a relocation against it. Folded (`--icf`) and collected sections are left
//! out: their addresses are some other section's or none.
//!
//! **Cost.** Each object is read on the pool (unit headers, pubnames or entries, names
//! hashed there); the names are merged serially in canonical file order (one lookup of a
//! precomputed hash each), the unit vectors come from one parallel sort of (name, unit,
//! kind) triples, and the table and pool are built before layout; only the unit offsets and
//! the addresses wait for layout. Reading entries dominates: on ripgrep's debug link (387
//! units, 261k names, 71k distinct) the pass takes 70 to 130 ms beside the scan, which is
//! where the rest of the link waits for it. Everything follows file and section order: the
//! bytes are the same at any thread count.

use crate::context::Link;
use crate::elf::*;
use crate::error::{Error, Result};
use crate::object_file::ObjectFile;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::ops::Range;

const VERSION: u32 = 7;
const HEADER_SIZE: u64 = 24;

/// The index, planned from the inputs; [`GdbIndex::bytes`] adds what layout decides.
pub struct GdbIndex {
    units: Vec<Unit>,
    areas: Vec<Area>,
    /// The number of slots of the symbol table.
    slots: u32,
    /// The symbol table, then the constant pool: fixed by the inputs alone.
    symbols: Vec<u8>,
}

/// An entry of the address area: a code section and the unit that covers it.
#[derive(Clone, Copy)]
struct Area {
    file: u32,
    section: u32,
    size: u64,
    unit: u32,
}

/// A compilation unit: where its header is in an input `.debug_info` section.
#[derive(Clone, Copy)]
struct Unit {
    file: u32,
    section: u32,
    offset: u64,
    length: u64,
}

/// What one object contributes, with its units numbered from 0.
#[derive(Default)]
struct FileIndex {
    units: Vec<Unit>,
    /// (section, size, unit).
    areas: Vec<(u32, u64, u32)>,
    /// (name, unit, gdb's kind flags, the name's hash); names are ranges of `text`.
    names: Vec<(Range<usize>, u32, u8, u64)>,
    text: Vec<u8>,
}

impl GdbIndex {
    pub fn plan(link: &Link<'_>) -> Result<GdbIndex> {
        let files: Vec<FileIndex> = link
            .res
            .files
            .par_iter()
            .enumerate()
            .map(|(fi, f)| f.object().map_or(Ok(FileIndex::default()), |obj| of_object(link, fi as u32, obj)))
            .collect::<Result<_>>()?;
        let mut units = Vec::new();
        let mut areas = Vec::new();
        // Each distinct name, with its first occurrence's place; then (name, unit, flags) per
        // occurrence, to be sorted into unit vectors.
        let mut names: Vec<&[u8]> = Vec::new();
        let mut by_name: FxHashMap<NameKey<'_>, u32> = FxHashMap::default();
        let mut entries: Vec<u64> = Vec::with_capacity(files.iter().map(|f| f.names.len()).sum());
        for (fi, file) in files.iter().enumerate() {
            let base = units.len() as u32;
            units.extend_from_slice(&file.units);
            areas.extend(file.areas.iter().map(|&(section, size, unit)| Area {
                file: fi as u32,
                section,
                size,
                unit: base + unit,
            }));
            for (range, unit, flags, hash) in &file.names {
                let key = NameKey { hash: *hash, name: &file.text[range.clone()] };
                let symbol = *by_name.entry(key).or_insert_with(|| {
                    names.push(key.name);
                    names.len() as u32 - 1
                });
                entries.push(u64::from(symbol) << 32 | u64::from(base + unit) << 8 | u64::from(*flags));
            }
        }
        entries.par_sort_unstable();
        entries.dedup();
        let (slots, symbols) = symbol_table(&names, &entries);
        Ok(GdbIndex { units, areas, slots, symbols })
    }

    pub fn size(&self) -> u64 {
        HEADER_SIZE + 16 * self.units.len() as u64 + 20 * self.areas.len() as u64 + self.symbols.len() as u64
    }

    /// The section's bytes, given where layout put each input `.debug_info` section in the
    /// output one (`info_offset`) and each code section (`address`).
    pub fn bytes(&self, info_offset: &dyn Fn(u32, u32) -> Option<u64>, address: &dyn Fn(u32, u32) -> u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size() as usize);
        let units_at = HEADER_SIZE as u32;
        let types_at = units_at + 16 * self.units.len() as u32;
        let areas_at = types_at;
        let symbols_at = areas_at + 20 * self.areas.len() as u32;
        let pool_at = symbols_at + self.slots * 8;
        for word in [VERSION, units_at, types_at, areas_at, symbols_at, pool_at] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        for u in &self.units {
            let at = info_offset(u.file, u.section).map_or(0, |base| base + u.offset);
            out.extend_from_slice(&at.to_le_bytes());
            out.extend_from_slice(&u.length.to_le_bytes());
        }
        for a in &self.areas {
            let start = address(a.file, a.section);
            out.extend_from_slice(&start.to_le_bytes());
            out.extend_from_slice(&(start + a.size).to_le_bytes());
            out.extend_from_slice(&a.unit.to_le_bytes());
        }
        out.extend_from_slice(&self.symbols);
        out
    }
}

/// gdb's hash of a name in an index of version 5 or later.
fn name_hash(name: &[u8]) -> u32 {
    name.iter().fold(0u32, |r, &c| r.wrapping_mul(67).wrapping_add(u32::from(c.to_ascii_lowercase())).wrapping_sub(113))
}

/// A name with its hash, computed where the name was read (in parallel).
#[derive(Clone, Copy, PartialEq, Eq)]
struct NameKey<'a> {
    hash: u64,
    name: &'a [u8],
}

impl std::hash::Hash for NameKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The symbol table's slot count, and its slots followed by the constant pool, for the
/// distinct `names` and their sorted `entries` (name << 32 | unit << 8 | flags).
fn symbol_table(names: &[&[u8]], entries: &[u64]) -> (u32, Vec<u8>) {
    // Kept at most three quarters full, and never full: gdb probes until an empty slot.
    let slots = (names.len() * 4 / 3 + 1).next_power_of_two();
    let mask = slots as u32 - 1;
    let hashes: Vec<u32> = names.par_iter().map(|n| name_hash(n)).collect();
    let vectors_size = 4 * (names.len() + entries.len());
    let pool_size = vectors_size + names.iter().map(|n| n.len() + 1).sum::<usize>();
    let mut out = vec![0u8; slots * 8 + pool_size];
    let (table, pool) = out.split_at_mut(slots * 8);
    // The unit vectors first, one per name in order; then the names.
    let mut vectors = Vec::with_capacity(names.len());
    let mut at = 0;
    for group in entries.chunk_by(|a, b| a >> 32 == b >> 32) {
        vectors.push(at as u32);
        pool[at..at + 4].copy_from_slice(&(group.len() as u32).to_le_bytes());
        at += 4;
        for e in group {
            let word = (*e as u32 >> 8) | (*e as u32 & 0xff) << 24;
            pool[at..at + 4].copy_from_slice(&word.to_le_bytes());
            at += 4;
        }
    }
    for ((name, hash), vector) in names.iter().zip(hashes).zip(vectors) {
        let step = (hash.wrapping_mul(17) & mask) | 1;
        let mut slot = hash & mask;
        while table[slot as usize * 8..slot as usize * 8 + 8] != [0; 8] {
            slot = (slot + step) & mask;
        }
        let entry = &mut table[slot as usize * 8..slot as usize * 8 + 8];
        entry[..4].copy_from_slice(&(at as u32).to_le_bytes());
        entry[4..].copy_from_slice(&vector.to_le_bytes());
        pool[at..at + name.len()].copy_from_slice(name);
        at += name.len() + 1;
    }
    (slots as u32, out)
}

/// Reads `obj`'s compilation units, which of its live code sections each covers, and the
/// names its pubnames sections give each.
fn of_object(link: &Link<'_>, file: u32, obj: &ObjectFile<'_>) -> Result<FileIndex> {
    let discarded = &link.res.files[file as usize].discarded;
    let kept = |s: usize| {
        !discarded.get(s).copied().unwrap_or(false) && obj.section(s).sh_flags(E) & u64::from(SHF_EXCLUDE) == 0
    };
    let named = |name: &'static [u8]| (1..obj.sections.len()).filter(move |&s| obj.section_name(s) == name && kept(s));
    let bad = |s: usize, what: String| {
        Error::bad(&obj.name, format!("section {}: {what}", String::from_utf8_lossy(obj.section_name(s))))
    };
    let mut index = FileIndex::default();
    // The DWARF 5 units, in order: their `.debug_addr` contributions come in the same order.
    let mut dwarf5_units = Vec::new();
    for s in named(b".debug_info") {
        let data = obj.section_data(s)?;
        let mut at = 0;
        while at < data.len() {
            let header =
                unit_header(&data[at..]).ok_or_else(|| bad(s, format!("bad unit header at offset {at:#x}")))?;
            if header.covers_code {
                if header.version >= 5 {
                    dwarf5_units.push(index.units.len() as u32);
                }
                let unit = Unit { file, section: s as u32, offset: at as u64, length: header.length as u64 };
                index.units.push(unit);
            }
            at += header.length;
        }
    }
    if index.units.is_empty() {
        return Ok(index);
    }

    let live = &link.live[file as usize];
    let code = (1..obj.sections.len()).filter(|&s| {
        let exec = u64::from(SHF_ALLOC | SHF_EXECINSTR);
        obj.section(s).sh_flags(E) & exec == exec && live.get(s).copied().unwrap_or(false) && kept(s)
    });
    if index.units.len() == 1 {
        index.areas = code.map(|s| (s as u32, obj.section_size(s), 0)).collect();
    } else {
        let mut owner = vec![u32::MAX; obj.sections.len()];
        let mut claim = |relocations: &[Rela], unit_at: &dyn Fn(u64) -> Option<u32>| {
            for r in relocations {
                let sym = r.r_sym(E, false) as usize;
                if sym >= obj.symbols.symbols().len() {
                    continue;
                }
                let target = obj.symbol_section(sym) as usize;
                if let (Some(slot), Some(unit)) = (owner.get_mut(target), unit_at(r.r_offset(E)))
                    && *slot == u32::MAX
                {
                    *slot = unit;
                }
            }
        };
        for s in named(b".debug_info") {
            let units = &index.units;
            claim(obj.relocations(s), &|at| {
                let i = units.partition_point(|u| u.section < s as u32 || (u.section == s as u32 && u.offset <= at));
                (i > 0 && units[i - 1].section == s as u32).then(|| i as u32 - 1)
            });
        }
        for s in named(b".debug_addr") {
            let starts = contribution_starts(obj.section_data(s)?);
            claim(obj.relocations(s), &|at| {
                let k = starts.partition_point(|&start| start <= at);
                k.checked_sub(1).and_then(|k| dwarf5_units.get(k).copied())
            });
        }
        index.areas =
            code.filter(|&s| owner[s] != u32::MAX).map(|s| (s as u32, obj.section_size(s), owner[s])).collect();
    }
    index.areas.retain(|&(_, size, _)| size > 0);

    let mut pubnames = named(b".debug_gnu_pubnames").chain(named(b".debug_gnu_pubtypes")).peekable();
    if pubnames.peek().is_none() {
        for s in named(b".debug_info") {
            names_from_entries(obj, s, &mut index).map_err(|e| bad(s, format!("cannot be read: {e}")))?;
        }
    }
    for s in pubnames {
        read_pubnames(obj, s, &index.units, &mut index.text, &mut index.names)
            .ok_or_else(|| bad(s, "malformed name set".into()))?;
    }
    for (range, _, _, hash) in &mut index.names {
        *hash = crate::hash::hash_bytes(&index.text[range.clone()]);
    }
    Ok(index)
}

struct UnitHeader {
    /// The whole unit's length, its length field included.
    length: usize,
    version: u16,
    /// Whether it is a compilation unit (full, partial or skeleton), not a type unit.
    covers_code: bool,
}

/// Reads a DWARF initial length: (the length that follows, the size of the length field).
fn initial_length(data: &[u8]) -> Option<(usize, usize)> {
    let short = u32::from_le_bytes(data.get(..4)?.try_into().ok()?);
    match short {
        0xffff_ffff => Some((usize::try_from(u64::from_le_bytes(data.get(4..12)?.try_into().ok()?)).ok()?, 12)),
        0xffff_fff0.. => None,
        n => Some((n as usize, 4)),
    }
}

fn unit_header(data: &[u8]) -> Option<UnitHeader> {
    let (length, field) = initial_length(data)?;
    let length = length.checked_add(field).filter(|&l| l <= data.len() && l >= field + 3)?;
    let version = u16::from_le_bytes(data[field..field + 2].try_into().ok()?);
    // DWARF 5 names the unit's type next: DW_UT_type and DW_UT_split_type describe types.
    let covers_code = version < 5 || !matches!(data[field + 2], 2 | 6);
    Some(UnitHeader { length, version, covers_code })
}

/// Where each DWARF 5 contribution of a `.debug_addr` section starts.
fn contribution_starts(data: &[u8]) -> Vec<u64> {
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some((length, field)) = data.get(at..).and_then(initial_length) {
        starts.push(at as u64);
        at += field + length;
    }
    starts
}

/// Adds the names of the `.debug_gnu_pubnames`-style section `s` to `names`, with the unit
/// each set names (sets naming no unit of the file are skipped); `None` if it is malformed.
fn read_pubnames(
    obj: &ObjectFile<'_>,
    s: usize,
    units: &[Unit],
    text: &mut Vec<u8>,
    names: &mut Vec<(Range<usize>, u32, u8, u64)>,
) -> Option<()> {
    let data = obj.section_data(s).ok()?;
    let relocations = obj.relocations(s);
    let mut at = 0;
    while at < data.len() {
        let (length, field) = initial_length(&data[at..])?;
        let end = at.checked_add(field + length).filter(|&e| e <= data.len())?;
        let word = if field == 12 { 8 } else { 4 };
        let read = |pos: usize| -> Option<u64> {
            let bytes = data.get(pos..pos + word)?;
            Some(if word == 8 {
                u64::from_le_bytes(bytes.try_into().ok()?)
            } else {
                u64::from(u32::from_le_bytes(bytes.try_into().ok()?))
            })
        };
        // The set's unit: an offset into `.debug_info`, relocated in a relocatable object.
        let unit_field = at + field + 2;
        let (info, offset) = match relocations.iter().find(|r| r.r_offset(E) == unit_field as u64) {
            Some(r) if (r.r_sym(E, false) as usize) < obj.symbols.symbols().len() => {
                let sym = r.r_sym(E, false) as usize;
                (obj.symbol_section(sym), obj.symbol(sym).st_value(E).wrapping_add(r.r_addend(E) as u64))
            }
            _ => (units.first()?.section, read(unit_field)?),
        };
        let unit = units.iter().position(|u| u.section == info && u.offset == offset);
        let mut pos = unit_field + 2 * word;
        while pos < end {
            if read(pos)? == 0 {
                break;
            }
            let flags = *data.get(pos + word)?;
            let name_at = pos + word + 1;
            let len = data.get(name_at..end)?.iter().position(|&b| b == 0)?;
            if let Some(unit) = unit {
                text.extend_from_slice(&data[name_at..name_at + len]);
                names.push((text.len() - len..text.len(), unit as u32, flags, 0));
            }
            pos = name_at + len + 1;
        }
        at = end;
    }
    Some(())
}

/// gdb's symbol kinds, in the flags byte's bits 4 to 6; bit 7 marks a static symbol.
const KIND_TYPE: u8 = 1 << 4;
const KIND_VARIABLE: u8 = 2 << 4;
const KIND_FUNCTION: u8 = 3 << 4;
const STATIC: u8 = 1 << 7;

/// The relocations of one debug section of a relocatable object, sorted by offset: what a
/// field at an offset really holds (a string's offset in `.debug_str`, a unit's abbreviations).
#[derive(Clone, Copy)]
struct Relocations<'a, 'd> {
    obj: &'a ObjectFile<'d>,
    sorted: &'a [Rela],
}

impl Relocations<'_, '_> {
    fn value_at(&self, offset: u64) -> Option<u64> {
        let i = self.sorted.partition_point(|r| r.r_offset(E) < offset);
        let r = self.sorted.get(i).filter(|r| r.r_offset(E) == offset)?;
        let sym = r.r_sym(E, false) as usize;
        (sym < self.obj.symbols.symbols().len())
            .then(|| self.obj.symbol(sym).st_value(E).wrapping_add(r.r_addend(E) as u64))
    }
}

impl std::fmt::Debug for Relocations<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} relocations", self.sorted.len())
    }
}

impl gimli::Relocate for Relocations<'_, '_> {
    fn relocate_address(&self, offset: usize, value: u64) -> gimli::Result<u64> {
        Ok(self.value_at(offset as u64).unwrap_or(value))
    }

    fn relocate_offset(&self, offset: usize, value: usize) -> gimli::Result<usize> {
        Ok(self.value_at(offset as u64).map_or(value, |v| v as usize))
    }
}

type Reader<'a, 'd> = gimli::RelocateReader<gimli::EndianSlice<'d, gimli::LittleEndian>, Relocations<'a, 'd>>;

/// Section `s`'s relocations sorted by offset (compilers write them so; a copy otherwise).
fn sorted_relocations<'d>(obj: &ObjectFile<'d>, s: usize) -> std::borrow::Cow<'d, [Rela]> {
    let relas = obj.relocations(s);
    if relas.is_sorted_by_key(|r| r.r_offset(E)) {
        relas.into()
    } else {
        let mut copy = relas.to_vec();
        copy.sort_by_key(|r| r.r_offset(E));
        copy.into()
    }
}

/// Where a unit's names are: the string sections and the unit's base in `.debug_str_offsets`.
struct Strings<'a, 'd> {
    str: &'d [u8],
    line_str: &'d [u8],
    offsets: &'d [u8],
    offsets_relocations: Relocations<'a, 'd>,
    offsets_base: u64,
}

impl Strings<'_, '_> {
    /// Appends the bytes of a string attribute's value to `out`; false if it is none.
    fn read(&self, value: &gimli::AttributeValue<Reader<'_, '_>>, out: &mut Vec<u8>) -> bool {
        let mut at = |section: &[u8], offset: usize| {
            let Some(rest) = section.get(offset..) else { return false };
            let Some(len) = rest.iter().position(|&b| b == 0) else { return false };
            out.extend_from_slice(&rest[..len]);
            true
        };
        use gimli::AttributeValue as V;
        match value {
            V::String(r) => gimli::Reader::to_slice(r).is_ok_and(|s| {
                out.extend_from_slice(&s);
                true
            }),
            V::DebugStrRef(o) => at(self.str, o.0),
            V::DebugLineStrRef(o) => at(self.line_str, o.0),
            V::DebugStrOffsetsIndex(i) => {
                let field = self.offsets_base + 4 * i.0 as u64;
                let Some(raw) = self.offsets.get(field as usize..field as usize + 4) else { return false };
                let raw = u64::from(u32::from_le_bytes(raw.try_into().unwrap_or_default()));
                at(self.str, self.offsets_relocations.value_at(field).unwrap_or(raw) as usize)
            }
            _ => false,
        }
    }
}

/// The names of the units of `.debug_info` section `s` from their entries, as gdb indexes
/// them when it builds an index itself: functions, variables outside functions, types,
/// namespaces and enumerators, qualified by their enclosing namespaces and types (except in
/// C), a function or variable defined apart from its declaration by the declaration's name.
/// Entries inside functions are skipped unread.
fn names_from_entries(obj: &ObjectFile<'_>, s: usize, index: &mut FileIndex) -> gimli::Result<()> {
    let named = |name: &[u8]| (1..obj.sections.len()).find(|&i| obj.section_name(i) == name);
    let data = |name: &[u8]| named(name).and_then(|i| obj.section_data(i).ok()).unwrap_or_default();
    let info_relocations = sorted_relocations(obj, s);
    let no_relocations = Relocations { obj, sorted: &[] };
    let offsets_relocations = named(b".debug_str_offsets").map(|i| sorted_relocations(obj, i)).unwrap_or_default();
    let reader = |bytes, relocations| {
        gimli::RelocateReader::new(gimli::EndianSlice::new(bytes, gimli::LittleEndian), relocations)
    };
    let info = gimli::DebugInfo::from(reader(
        obj.section_data(s).unwrap_or_default(),
        Relocations { obj, sorted: &info_relocations },
    ));
    let abbrev = gimli::DebugAbbrev::from(reader(data(b".debug_abbrev"), no_relocations));
    let mut strings = Strings {
        str: data(b".debug_str"),
        line_str: data(b".debug_line_str"),
        offsets: data(b".debug_str_offsets"),
        offsets_relocations: Relocations { obj, sorted: &offsets_relocations },
        offsets_base: 0,
    };
    let mut walk = Walk::default();
    let mut headers = info.units();
    while let Some(header) = headers.next()? {
        let start = header.offset().0 as u64;
        let Some(unit) = index.units.iter().position(|u| u.section == s as u32 && u.offset == start) else { continue };
        let abbreviations = header.abbreviations(&abbrev)?;
        walk.unit(&header, &abbreviations, &mut strings, unit as u32, index)?;
    }
    Ok(())
}

/// Whether entries of this tag qualify the names of the entries inside them.
fn names_a_scope(tag: gimli::DwTag) -> bool {
    use gimli::constants::*;
    [
        DW_TAG_namespace,
        DW_TAG_structure_type,
        DW_TAG_class_type,
        DW_TAG_union_type,
        DW_TAG_enumeration_type,
        DW_TAG_interface_type,
    ]
    .contains(&tag)
}

/// The state of the walk over a unit's entries, its buffers reused from unit to unit.
#[derive(Default)]
struct Walk {
    /// The current qualifier (`a::b::`), and per enclosing scope its depth and the
    /// qualifier's length outside it.
    scope: Vec<u8>,
    scopes: Vec<(isize, usize)>,
    /// Declarations by unit offset: the qualified name (in the file's text) and whether it
    /// is external.
    declarations: FxHashMap<usize, (Range<usize>, bool)>,
    /// Definitions that name their declaration: (its offset, kind, external).
    pending: Vec<(usize, u8, bool)>,
    /// The name of the entry being read.
    name: Vec<u8>,
}

impl Walk {
    // DWARF's constants keep the standard's spelling (`DW_TAG_subprogram`).
    #[allow(non_upper_case_globals)]
    fn unit(
        &mut self,
        header: &gimli::UnitHeader<Reader<'_, '_>>,
        abbreviations: &gimli::Abbreviations,
        strings: &mut Strings<'_, '_>,
        unit: u32,
        index: &mut FileIndex,
    ) -> gimli::Result<()> {
        use gimli::constants::*;
        self.scope.clear();
        self.scopes.clear();
        self.declarations.clear();
        self.pending.clear();
        let mut entries = header.entries_raw(abbreviations, None)?;
        let mut qualify = true;
        let mut in_function: Option<isize> = None;
        let mut first = true;
        let unit_start = header.offset().0;
        while !entries.is_empty() {
            let depth = entries.next_depth();
            let offset = entries.next_offset().0;
            let Some(abbrev) = entries.read_abbreviation()? else { continue };
            while self.scopes.last().is_some_and(|&(d, _)| d >= depth) {
                let (_, len) = self.scopes.pop().unwrap_or_default();
                self.scope.truncate(len);
            }
            if in_function.is_some_and(|d| depth > d) {
                entries.skip_attributes(abbrev.attributes())?;
                continue;
            }
            in_function = None;
            let tag = abbrev.tag();
            let kind = match tag {
                DW_TAG_subprogram => KIND_FUNCTION,
                DW_TAG_variable => KIND_VARIABLE,
                DW_TAG_compile_unit | DW_TAG_partial_unit | DW_TAG_skeleton_unit if first => 0,
                DW_TAG_typedef | DW_TAG_base_type | DW_TAG_enumerator => KIND_TYPE,
                _ if names_a_scope(tag) => KIND_TYPE,
                _ => {
                    entries.skip_attributes(abbrev.attributes())?;
                    continue;
                }
            };
            first = false;
            let (mut named, mut external, mut declaration, mut specification) = (false, false, false, None);
            self.name.clear();
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                match attr.name() {
                    DW_AT_name => named = strings.read(&attr.value(), &mut self.name),
                    DW_AT_external => external = matches!(attr.value(), gimli::AttributeValue::Flag(true)),
                    DW_AT_declaration => declaration = matches!(attr.value(), gimli::AttributeValue::Flag(true)),
                    DW_AT_specification | DW_AT_abstract_origin => {
                        specification = match attr.value() {
                            gimli::AttributeValue::UnitRef(o) => Some(o.0),
                            gimli::AttributeValue::DebugInfoRef(o) => o.0.checked_sub(unit_start),
                            _ => None,
                        }
                    }
                    DW_AT_language => {
                        if let gimli::AttributeValue::Language(l) = attr.value() {
                            qualify = !matches!(l, DW_LANG_C89 | DW_LANG_C | DW_LANG_C99 | DW_LANG_C11 | DW_LANG_C17);
                        }
                    }
                    DW_AT_str_offsets_base => {
                        if let gimli::AttributeValue::DebugStrOffsetsBase(b) = attr.value() {
                            strings.offsets_base = b.0 as u64;
                        }
                    }
                    _ => {}
                }
            }
            if kind == 0 {
                continue;
            }
            let is_scope = names_a_scope(tag);
            // As gdb's own indexes have it: namespaces are global, types static.
            let is_static = match kind {
                KIND_TYPE => tag != DW_TAG_namespace,
                _ => !external,
            };
            let flags = kind | if is_static { STATIC } else { 0 };
            if tag == DW_TAG_subprogram && abbrev.has_children() {
                in_function = Some(depth);
            }
            let scope_len = self.scope.len();
            // An enumerator belongs to the scope around its enumeration.
            let around =
                if tag == DW_TAG_enumerator { self.scopes.last().map_or(0, |&(_, len)| len) } else { scope_len };
            match (named, specification) {
                (true, _) => {
                    let name = &self.name;
                    let start = index.text.len();
                    if qualify {
                        index.text.extend_from_slice(&self.scope[..around]);
                    }
                    index.text.extend_from_slice(name);
                    let range = start..index.text.len();
                    if declaration {
                        if matches!(kind, KIND_FUNCTION | KIND_VARIABLE) {
                            self.declarations.insert(offset, (range, external));
                        }
                    } else {
                        index.names.push((range, unit, flags, 0));
                    }
                    if is_scope && abbrev.has_children() && qualify {
                        self.scopes.push((depth, scope_len));
                        self.scope.extend_from_slice(name);
                        self.scope.extend_from_slice(b"::");
                    }
                }
                (false, Some(target)) if !declaration && kind != KIND_TYPE => {
                    self.pending.push((target, kind, external))
                }
                (false, _) => {
                    if is_scope && abbrev.has_children() {
                        // An anonymous scope: its members are named as if outside it.
                        self.scopes.push((depth, scope_len));
                    }
                }
            }
        }
        for &(target, kind, external) in &self.pending {
            if let Some((range, declared_external)) = self.declarations.get(&target) {
                let flags = kind | if external || *declared_external { 0 } else { STATIC };
                index.names.push((range.clone(), unit, flags, 0));
            }
        }
        Ok(())
    }
}
