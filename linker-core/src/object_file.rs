//! ELF relocatable objects (`ET_REL`): a zero-copy view of sections, symbols and relocations,
//! validated once so that later phases can index without re-checking.

use crate::elf::*;
use crate::error::{Error, Result};
use crate::hash::hash_bytes;

pub struct ObjectFile<'d> {
    /// Display name: `path` or `archive(member)`.
    pub name: String,
    pub data: &'d [u8],
    pub sections: SectionTable<'d>,
    pub symbols: SymbolTable<'d>,
    /// Index of the first non-local symbol.
    pub first_global: usize,
    /// Per section: the relocations that apply to it, as a range of `data` (see `Span`). Those
    /// of allocated sections are validated in `parse`; the others where they are applied.
    relas: Vec<Span>,
    /// Per section: whether it is allocated. Kept apart from the 64-byte headers, which gc
    /// would otherwise read one cache miss per section it visits.
    allocated: Vec<bool>,
    /// COMDAT groups: signature and member sections.
    pub groups: Vec<Group<'d>>,
    /// Per section: its COMDAT group's index in `groups` ([`NO_GROUP`] if none); empty when
    /// the object has no groups. A C++ object holds a group per inline function, tens of
    /// thousands of them, so looking a section's group up by scanning them all is quadratic.
    group_of: Vec<u32>,
    /// For each global symbol (from `first_global`): its name in the name table and that
    /// name's hash, found while parsing (in parallel) so that the serial resolver only probes.
    global_names: Vec<(Span, u64)>,
    /// Every section's name, looked up once: the passes ask for them again and again.
    section_names: Vec<Span>,
    /// The symbols' string table.
    symbol_strings: &'d [u8],
    /// SHF_COMPRESSED sections, inflated: (section index, contents, alignment), by index.
    inflated: Vec<(u32, &'d [u8], u64)>,
}

/// A range of an object's bytes: its offset and length. Half the size of a slice, for the
/// tables kept per section and per symbol (a link of a million functions keeps 2 million
/// sections' names and relocations: 32 MB less). Objects are under 4 GiB (`parse`).
#[derive(Clone, Copy, Default)]
struct Span {
    at: u32,
    len: u32,
}

impl Span {
    /// The span of `part`, a slice of `data`; an empty span for an empty `part`, or one from
    /// elsewhere (the empty name a malformed object's symbol or section gets).
    fn of(data: &[u8], part: &[u8]) -> Span {
        let at = (part.as_ptr() as usize).wrapping_sub(data.as_ptr() as usize);
        if part.is_empty() || at.checked_add(part.len()).is_none_or(|end| end > data.len()) {
            return Span::default();
        }
        Span { at: at as u32, len: part.len() as u32 }
    }

    fn bytes(self, data: &[u8]) -> &[u8] {
        &data[self.at as usize..][..self.len as usize]
    }
}

/// No COMDAT group (in `ObjectFile::group_of`).
const NO_GROUP: u32 = u32::MAX;

pub struct Group<'d> {
    pub signature: &'d [u8],
    pub members: Vec<u32>,
}

/// Maps the pages of an object that some pass will read, in the parallel parse jobs: that is
/// cheaper than faulting them in one by one later. Those are nearly all of them, except the
/// contents of SHF_EXCLUDE sections: the standard library's objects carry their LLVM bitcode
/// in one (`.llvmbc`: 8 MB of the 87 MB a release ripgrep link would map), which no link reads.
fn populate_read_parts(data: &[u8], headers: &[Shdr]) {
    const MIN_SKIP: u64 = 64 << 10;
    let mut pos = 0;
    for s in headers.iter().filter(|s| s.sh_flags(E) & SHF_EXCLUDE as u64 != 0 && s.sh_type(E) != SHT_NOBITS) {
        let (start, size) = (s.sh_offset(E), s.sh_size(E));
        // Headers are not validated yet: a section out of order or past the end of the file
        // is simply not skipped.
        let end = start.checked_add(size).filter(|&end| end <= data.len() as u64);
        if let Some(end) = end.filter(|_| size >= MIN_SKIP && start >= pos) {
            crate::input::populate(&data[pos as usize..start as usize]);
            pos = end;
        }
    }
    crate::input::populate(&data[pos as usize..]);
}

impl<'d> ObjectFile<'d> {
    pub fn parse(name: String, data: &'d [u8]) -> Result<Self> {
        let bad = |what: &str| Error::bad(&name, what.to_string());
        let header = Ehdr::parse(data).map_err(|e| bad(&format!("not a valid ELF object: {e}")))?;
        if header.e_machine(E) != EM_X86_64 {
            return Err(bad("not an x86-64 object (e_machine)"));
        }
        if u32::try_from(data.len()).is_err() {
            return Err(bad("objects of 4 GiB or more are not supported"));
        }
        let sections = header.sections(E, data).map_err(|e| bad(&format!("bad section table: {e}")))?;
        populate_read_parts(data, sections.iter().as_slice());
        let symbols = sections.symbols(E, data, SHT_SYMTAB).map_err(|e| bad(&format!("bad symbol table: {e}")))?;
        // Section and symbol names are read below, in no order of their tables (often one).
        let string_section = symbols.string_section();
        let shstrndx = header.shstrndx(E, data).map(|i| object::SectionIndex(i as usize)).unwrap_or(string_section);
        let table = |index| sections.section(index).and_then(|s| s.data(E, data)).unwrap_or(&[]);
        let name_tables = [table(string_section), if shstrndx == string_section { &[] } else { table(shstrndx) }];
        name_tables.iter().for_each(|t| crate::input::prefetch(t));
        let section_count = sections.len();
        let mut relas_of = vec![Span::default(); section_count];
        let allocated: Vec<bool> = sections.iter().map(|s| s.sh_flags(E) & SHF_ALLOC as u64 != 0).collect();
        let mut groups = Vec::new();
        let mut first_global = symbols.len();
        for (index, section) in sections.iter().enumerate() {
            match section.sh_type(E) {
                SHT_RELA => {
                    let target = section.sh_info(E) as usize;
                    if target == 0 || target >= section_count {
                        return Err(bad(&format!(
                            "relocation section {index} targets section {target}, which does not exist"
                        )));
                    }
                    if section.sh_link(E) as usize != symbols.section().0 {
                        return Err(bad(&format!("relocation section {index} does not use the symbol table")));
                    }
                    let (relas, _) = section
                        .rela(E, data)
                        .map_err(|e| bad(&format!("bad relocation section {index}: {e}")))?
                        .unwrap_or((&[], object::SectionIndex(0)));
                    // Debug sections' relocations (most of a debug build's) are checked where
                    // they are applied: reading them all here too was a second pass over tens of
                    // megabytes (and one `--strip-debug` never needs).
                    if allocated[target]
                        && let Some(r) = relas.iter().find(|r| r.r_sym(E, false) as usize >= symbols.len())
                    {
                        return Err(bad(&format!(
                            "relocation in section {index} uses symbol {} out of range",
                            r.r_sym(E, false)
                        )));
                    }
                    relas_of[target] = Span::of(data, object::pod::bytes_of_slice(relas));
                }
                SHT_REL => return Err(bad("SHT_REL relocations are not used on x86-64")),
                SHT_GROUP => {
                    let words: &[object::U32<LE>] =
                        section.data_as_array(E, data).map_err(|e| bad(&format!("bad group section {index}: {e}")))?;
                    let Some((flags, members)) = words.split_first() else { continue };
                    if flags.get(E) & GRP_COMDAT == 0 {
                        continue;
                    }
                    let sym_index = section.sh_info(E) as usize;
                    let sym = symbols
                        .symbol(object::SymbolIndex(sym_index))
                        .map_err(|_| bad(&format!("group section {index} names a symbol out of range")))?;
                    let signature = symbols
                        .symbol_name(E, sym)
                        .map_err(|_| bad(&format!("group section {index} has a bad signature name")))?;
                    let members: Vec<u32> = members.iter().map(|m| m.get(E)).collect();
                    if members.iter().any(|&m| m as usize >= section_count) {
                        return Err(bad(&format!("group section {index} lists a section out of range")));
                    }
                    groups.push(Group { signature, members });
                }
                _ => {}
            }
            let align = section.sh_addralign(E);
            if align != 0 && !align.is_power_of_two() {
                return Err(bad(&format!("section {index} has alignment {align}, not a power of two")));
            }
        }
        // Symbol 0 is the null symbol: in no section (every pass reads it like the others).
        if symbols.iter().next().is_some_and(|null| null.st_shndx(E) != SHN_UNDEF) {
            return Err(bad("symbol 0 is not the null symbol"));
        }
        for (i, sym) in symbols.iter().enumerate().skip(1) {
            if sym.st_bind() != STB_LOCAL {
                first_global = first_global.min(i);
            } else if i > first_global {
                return Err(bad(&format!("local symbol {i} after the first global symbol")));
            }
            let shndx = symbol_section_index(&symbols, i, sym);
            if shndx != 0 && shndx < SHN_LORESERVE as u32 && shndx as usize >= section_count {
                return Err(bad(&format!("symbol {i} is in section {shndx}, which does not exist")));
            }
        }
        first_global = first_global.min(symbols.len()).max(1.min(symbols.len()));
        let mut group_of = Vec::new();
        if !groups.is_empty() {
            group_of = vec![NO_GROUP; section_count];
            // ELF puts a section in one group at most; of an object that lists one in several,
            // the first is kept.
            for (g, group) in groups.iter().enumerate().rev() {
                group.members.iter().for_each(|&m| group_of[m as usize] = g as u32);
            }
        }
        let mut obj = ObjectFile {
            name,
            data,
            section_names: sections
                .iter()
                .map(|s| Span::of(data, sections.section_name(E, s).unwrap_or(b"")))
                .collect(),
            symbol_strings: name_tables[0],
            sections,
            symbols,
            first_global,
            relas: relas_of,
            allocated,
            groups,
            group_of,
            global_names: Vec::new(),
            inflated: Vec::new(),
        };
        obj.global_names = (first_global..obj.symbols.len())
            .map(|i| {
                let name = obj.table_name(i);
                (Span::of(data, name), hash_bytes(name))
            })
            .collect();
        Ok(obj)
    }

    pub fn section(&self, index: usize) -> &'d Shdr {
        &self.sections.iter().as_slice()[index]
    }

    pub fn section_name(&self, index: usize) -> &'d [u8] {
        self.section_names[index].bytes(self.data)
    }

    /// Global symbol `index`'s name in the name table, and that name's hash: `foo@@V` defines
    /// `foo`; `foo@V` (a non-default version) only answers to its full name.
    pub fn global_name(&self, index: usize) -> (&'d [u8], u64) {
        let (name, hash) = self.global_names[index - self.first_global];
        (name.bytes(self.data), hash)
    }

    /// The members of the COMDAT group `section` belongs to (itself among them); none if it
    /// belongs to none.
    pub fn group_members(&self, section: usize) -> &[u32] {
        match self.group_of.get(section) {
            Some(&g) if g != NO_GROUP => &self.groups[g as usize].members,
            _ => &[],
        }
    }

    /// How many global symbols the object has.
    pub fn global_count(&self) -> usize {
        self.symbols.len() - self.first_global
    }

    /// Frees what [`ObjectFile::global_name`] reads, once the name table holds the names and
    /// every global is bound: 16 bytes a global (24 MB at a million functions) that would
    /// otherwise stay to the end of the link.
    pub fn forget_global_names(&mut self) {
        self.global_names = Vec::new();
    }

    /// Inflates the SHF_COMPRESSED sections (see [`crate::compressed`]) into buffers `keep`
    /// holds for the link; with `skip_debug` (`-S`), not the debug sections, which go nowhere.
    pub fn inflate_compressed(&mut self, keep: &dyn Fn(Vec<u8>) -> &'d [u8], skip_debug: bool) -> Result<()> {
        for (index, s) in self.sections.iter().enumerate() {
            if s.sh_flags(E) & SHF_COMPRESSED as u64 == 0 || s.sh_type(E) == SHT_NOBITS {
                continue;
            }
            let name = self.section_name(index);
            let bad =
                |what: String| Error::bad(&self.name, format!("section {}: {what}", String::from_utf8_lossy(name)));
            if s.sh_flags(E) & SHF_ALLOC as u64 != 0 {
                return Err(bad("an allocated section may not be compressed".into()));
            }
            if skip_debug && name.starts_with(b".debug") {
                continue;
            }
            let raw = s.data(E, self.data).map_err(|_| bad("extends past the end of the file".into()))?;
            let inflated = crate::compressed::inflate(raw).map_err(bad)?;
            self.inflated.push((index as u32, keep(inflated.bytes), inflated.align));
        }
        Ok(())
    }

    /// The section's inflated contents and alignment, if it was compressed.
    fn inflated(&self, index: usize) -> Option<(&'d [u8], u64)> {
        if self.inflated.is_empty() {
            return None;
        }
        let i = self.inflated.binary_search_by_key(&(index as u32), |s| s.0).ok()?;
        Some((self.inflated[i].1, self.inflated[i].2))
    }

    /// The size of the section's contents (inflated, if it was compressed).
    pub fn section_size(&self, index: usize) -> u64 {
        self.inflated(index).map_or(self.section(index).sh_size(E), |(bytes, _)| bytes.len() as u64)
    }

    /// The alignment of the section's contents (the inflated one's, if it was compressed).
    pub fn section_align(&self, index: usize) -> u64 {
        self.inflated(index).map_or(self.section(index).sh_addralign(E), |(_, align)| align).max(1)
    }

    pub fn section_data(&self, index: usize) -> Result<&'d [u8]> {
        if let Some((bytes, _)) = self.inflated(index) {
            return Ok(bytes);
        }
        let s = self.section(index);
        if s.sh_type(E) == SHT_NOBITS {
            return Ok(&[]);
        }
        s.data(E, self.data).map_err(|_| {
            Error::bad(
                &self.name,
                format!(
                    "section {} extends past the end of the file",
                    String::from_utf8_lossy(self.section_name(index))
                ),
            )
        })
    }

    /// The relocations that apply to section `section` (see [`ObjectFile::relas`]).
    pub fn relocations(&self, section: usize) -> &'d [Rela] {
        let span = self.relas[section];
        if span.len == 0 {
            return &[];
        }
        // `parse` read them from these very bytes.
        object::pod::slice_from_all_bytes(span.bytes(self.data)).unwrap_or(&[])
    }

    pub fn is_allocated(&self, section: usize) -> bool {
        self.allocated[section]
    }

    pub fn symbol(&self, index: usize) -> &'d Sym {
        &self.symbols.symbols()[index]
    }

    /// Symbol `index`'s name: empty where its table has no terminated string there.
    pub fn symbol_name(&self, index: usize) -> &'d [u8] {
        let rest = self.name_from(index);
        memchr::memchr(0, rest).map_or(b"", |end| &rest[..end])
    }

    /// The string table from symbol `index`'s name on.
    fn name_from(&self, index: usize) -> &'d [u8] {
        self.symbol_strings.get(self.symbol(index).st_name(E) as usize..).unwrap_or(b"")
    }

    /// Symbol `index`'s full name (as [`ObjectFile::symbol_name`] reads it) and the length of
    /// its part before a version (`foo` of `foo@@V` and of `foo@V`, as [`split_version`] finds
    /// it), in one scan of the string table for both.
    fn name_and_base(&self, index: usize) -> (&'d [u8], usize) {
        let rest = self.name_from(index);
        match memchr::memchr2(b'@', 0, rest) {
            Some(end) if rest[end] == 0 => (&rest[..end], end),
            Some(at) => match memchr::memchr(0, &rest[at..]) {
                Some(nul) => (&rest[..at + nul], at),
                None => (b"", 0),
            },
            None => (b"", 0),
        }
    }

    /// Symbol `index`'s name without a version (`foo` of `foo@@V` and of `foo@V`).
    pub fn symbol_base_name(&self, index: usize) -> &'d [u8] {
        let (full, base) = self.name_and_base(index);
        &full[..base]
    }

    /// The name a global symbol has in the name table: `foo@@V` defines `foo`; `foo@V` (a
    /// non-default version) only answers to its full name. See [`ObjectFile::global_name`].
    fn table_name(&self, i: usize) -> &'d [u8] {
        let (full, base) = self.name_and_base(i);
        let non_default_version = full.get(base..).is_some_and(|v| v.starts_with(b"@") && !v.starts_with(b"@@"));
        if non_default_version && self.symbol_section(i) != SHN_UNDEF as u32 { full } else { &full[..base] }
    }

    /// The section a symbol is defined in (0 if undefined; >= SHN_LORESERVE for special ones).
    pub fn symbol_section(&self, index: usize) -> u32 {
        symbol_section_index(&self.symbols, index, self.symbol(index))
    }
}

fn symbol_section_index(symbols: &SymbolTable<'_>, index: usize, sym: &Sym) -> u32 {
    let shndx = sym.st_shndx(E);
    if shndx == SHN_XINDEX { symbols.shndx(E, object::SymbolIndex(index)).unwrap_or(0) } else { shndx as u32 }
}
