//! Where an in-place relink puts the sections that grew or were added: read-only data and
//! code in an overflow segment, data the loader relocates in a writable one, sections the
//! program does not load (debug line tables...) at the end of the file.
//!
//! A full link packs loaded sections one after another, so a loaded section that grows has
//! no room where it is. An in-place relink (`patch`) moves it instead. The debug sections a
//! relink grows have room after them (`layout::growth_room`).
//!
//! **Read-only data** moves to a loadable read-only segment that the first relink needing
//! one appends, past every byte of the file and every address of the program; later relinks
//! append to it, within [`SEGMENT_ROOM`] bytes of file. The program header table moves with
//! it: the full link's table has no free entry for the new segment, and growing it in place
//! would move every section after it. So the table is copied, with the new `PT_LOAD` after the
//! last one (the loader wants them in address order) and `PT_PHDR` pointing at the copy, to
//! the start of the overflow segment, and `e_phoff` is pointed there; the old table stays
//! behind, unused. The kernel reads the table at `e_phoff` and tells the program where it is
//! in memory (`AT_PHDR`): since Linux 5.18 as the address of that offset in the segment that
//! maps it, before that as the first segment's address minus its offset plus `e_phoff`. The
//! segment is placed where both agree: its address minus its offset equals the first
//! segment's (`address = offset + base`), at a page boundary past the end of the file and of
//! the program's memory image (`.bss` included).
//!
//! **Data the loader relocates** (an anonymous constant an edit added that holds an address:
//! `patch`) goes to a second, writable segment, appended after the overflow segment's room the
//! first time a relink needs it, in the program header table's entry that the overflow
//! segment's table keeps empty (`PT_NULL`) for it; within [`SEGMENT_ROOM`] too.
//!
//! **A section the program does not load** grows at the end of its output section, into the
//! room before whatever follows it in the file. The full link leaves an eighth of the size of
//! each debug section a relink grows free after it (`layout::grown_by_relinks`), and puts
//! `.debug_info`, the biggest, last, where a relink keeps the same room past the file's end
//! (what it appends goes past that room): the section header table, which follows it, moves
//! past everything when it grows. A section that outgrows its room is copied to the end of
//! the file (past the overflow segment's room), with room after it again, and its header
//! pointed at the copy. Its
//! input sections keep their offsets in it, so what refers to them by offset (a unit's
//! `DW_AT_stmt_list`) still does; the grown input section itself is written at the end, and
//! the references to it follow it.
//!
//! **Costs.** Reading the ELF header, the program and section headers and the section names
//! of the output once per relink that resizes or moves a section (a few kilobytes), then writing the header, the tables and the
//! moved sections; copying an output section that outgrew its room within the file, in the
//! kernel (`copy_file_range`), once: it has room to grow afterwards. Before the full link
//! left room, the first relink of typst-cli's real code edit after a full link copied its
//! 23 MB `.debug_line` (25–40 ms in all, `rivet-ld --time`); now it grows where it is (9–12
//! ms). The room a copied section leaves behind is not reused: the file grows until the next
//! full link.

use crate::elf::*;
use crate::layout::growth_room;
use object::read::elf::{Dyn as _, ProgramHeader as _};
use object::{U16, U32, U64};

pub type Phdr = ProgramHeader64<LE>;

/// Bytes to write at a file offset.
pub type Write = (u64, Vec<u8>);

/// `len` bytes of the file to copy from offset `from` to offset `to`, past its end.
#[derive(Clone, Copy, Debug)]
pub struct Move {
    pub from: u64,
    pub len: u64,
    pub to: u64,
}

/// The file room of the overflow segment: sections moved out of the loaded image by the
/// relinks since the last full link must fit in it.
pub const SEGMENT_ROOM: u64 = 1 << 20;

/// The output's headers, and what the relink appends, as they will be once it is written.
pub struct Overflow {
    header: Ehdr,
    phdrs: Vec<Phdr>,
    sections: Vec<Shdr>,
    /// The section names' table (`.shstrtab`): a relink never changes it.
    section_names: Vec<u8>,
    /// Index in `phdrs` of the overflow segment's `PT_LOAD`, once there is one.
    load: Option<usize>,
    /// Index in `phdrs` of the writable overflow segment's `PT_LOAD`, once there is one: the
    /// entry after `load`'s, left empty (`PT_NULL`) for it when `load`'s was made.
    writable: Option<usize>,
    /// The end of the file as the relink leaves it (the overflow segment's room included).
    end: u64,
    /// Output sections copied to the end of the file.
    moves: Vec<Move>,
    /// A zero at the end of each copy's room.
    room_ends: Vec<Write>,
    /// The output sections this relink grew, by index, each with where its new bytes start
    /// (where it was copied to, or its old end).
    grown: Vec<(usize, u64)>,
    program_headers_changed: bool,
    section_headers_changed: bool,
    /// Whether a section grew over the section header table, which moved past everything.
    table_moved: bool,
}

impl Overflow {
    /// Reads the headers of the output (`output`: its bytes).
    pub fn read(output: &[u8]) -> Result<Overflow, String> {
        let header = *object::pod::from_bytes::<Ehdr>(output).map_err(|_| "a short ELF header")?.0;
        if header.e_phentsize(E) as usize != size_of::<Phdr>() || header.e_shentsize(E) as usize != size_of::<Shdr>() {
            return Err("the output's headers have an unexpected size".into());
        }
        let (phnum, shnum) = (header.e_phnum(E) as usize, header.e_shnum(E) as usize);
        if phnum == 0xffff || shnum == 0 {
            return Err("the output has too many program or section headers".into());
        }
        let table = |at: u64, count: usize| output.get(at as usize..).unwrap_or_default().get(..count);
        let phdrs = table(header.e_phoff(E), phnum * size_of::<Phdr>()).ok_or("program headers cut short")?;
        let phdrs = object::pod::slice_from_all_bytes::<Phdr>(phdrs).map_err(|_| "bad program headers")?.to_vec();
        let sections = table(header.e_shoff(E), shnum * size_of::<Shdr>()).ok_or("section headers cut short")?;
        let sections = object::pod::slice_from_all_bytes::<Shdr>(sections).map_err(|_| "bad section headers")?.to_vec();
        // A segment that starts where the table is: a relink made it.
        let load = phdrs.iter().position(|p| p.p_type(E) == PT_LOAD && p.p_offset(E) == header.e_phoff(E));
        let writable = load
            .map(|load| load + 1)
            .filter(|&w| phdrs.get(w).is_some_and(|p| p.p_type(E) == PT_LOAD && p.p_flags(E) & PF_W != 0));
        let mut end = output.len() as u64;
        if let Some(load) = load {
            let last_load = phdrs.iter().rposition(|p| p.p_type(E) == PT_LOAD);
            let segments = [Some(load), writable].into_iter().flatten();
            if last_load != writable.or(Some(load)) || segments.clone().any(|i| phdrs[i].p_filesz(E) > SEGMENT_ROOM) {
                return Err("the overflow segment is not the last one".into());
            }
            for i in segments {
                end = end.max(phdrs[i].p_offset(E) + SEGMENT_ROOM);
            }
        }
        let names = sections.get(header.e_shstrndx(E) as usize).ok_or("no section names")?;
        let section_names = table(names.sh_offset(E), names.sh_size(E) as usize).ok_or("section names cut short")?;
        let section_names = section_names.to_vec();
        // The last section in the file (the full link puts `.debug_info` there) grows where it
        // is, into room kept free after it: what a relink appends goes past that room.
        let last = sections.iter().filter(|s| s.sh_type(E) != SHT_NOBITS).max_by_key(|s| s.sh_offset(E) + s.sh_size(E));
        if let Some(last) = last.filter(|s| s.sh_flags(E) & SHF_ALLOC as u64 == 0) {
            end = end.max(last.sh_offset(E) + last.sh_size(E) + growth_room(last.sh_size(E)));
        }
        Ok(Overflow {
            header,
            phdrs,
            sections,
            section_names,
            load,
            writable,
            end,
            moves: Vec::new(),
            room_ends: Vec::new(),
            grown: Vec::new(),
            program_headers_changed: false,
            section_headers_changed: false,
            table_moved: false,
        })
    }

    /// The address of file offset `offset`, in the segment that maps it.
    pub fn address_of(&self, offset: u64) -> Option<u64> {
        let load = self.phdrs.iter().filter(|p| p.p_type(E) == PT_LOAD);
        let mut load = load.filter(|p| p.p_offset(E) <= offset && offset < p.p_offset(E) + p.p_filesz(E));
        load.next().map(|p| p.p_vaddr(E) + (offset - p.p_offset(E)))
    }

    /// The output section file offset `offset` is in (where the relink leaves it).
    pub fn section_at(&self, offset: u64) -> Option<&Shdr> {
        self.section_index_at(offset).map(|index| &self.sections[index])
    }

    fn section_index_at(&self, offset: u64) -> Option<usize> {
        let holds = |s: &Shdr| s.sh_offset(E) <= offset && offset < s.sh_offset(E) + s.sh_size(E);
        self.sections.iter().position(|s| s.sh_type(E) != SHT_NOBITS && holds(s))
    }

    /// Whether file offset `offset` is in an overflow segment (moved there by a relink).
    pub fn holds(&self, offset: u64) -> bool {
        self.segments().any(|(at, len)| at <= offset && offset < at + len)
    }

    /// The overflow segments' file ranges: the read-only (or executable) one and the
    /// writable one, once there are.
    fn segments(&self) -> impl Iterator<Item = (u64, u64)> + Clone + '_ {
        let range = |i: usize| (self.phdrs[i].p_offset(E), self.phdrs[i].p_filesz(E));
        self.load.into_iter().chain(self.writable).map(range)
    }

    /// Whether the output is loaded at an address of the loader's choosing (a position-
    /// independent executable), so that its absolute addresses have relative relocations.
    pub fn position_independent(&self) -> bool {
        self.header.e_type(E) == ET_DYN
    }

    /// The file range of the dynamic relocations the loader applies (`DT_RELA`,
    /// `DT_RELASZ`), if the output has any.
    pub fn dynamic_relocations(&self, output: &[u8]) -> Result<Option<(u64, u64)>, String> {
        let Some(dynamic) = self.phdrs.iter().find(|p| p.p_type(E) == PT_DYNAMIC) else { return Ok(None) };
        let bytes = output.get(dynamic.p_offset(E) as usize..).unwrap_or_default();
        let bytes = bytes.get(..dynamic.p_filesz(E) as usize).ok_or("a dynamic section cut short")?;
        let entries: &[Dyn64<LE>] =
            object::pod::slice_from_all_bytes(bytes).map_err(|_| "a dynamic section cut short")?;
        let value = |tag: u32| entries.iter().find(|d| d.d_tag(E) == u64::from(tag)).map(|d| d.d_val(E));
        let (Some(address), Some(size)) = (value(DT_RELA), value(DT_RELASZ)) else { return Ok(None) };
        let offset = self.offset_of(address).ok_or("dynamic relocations outside every segment")?;
        Ok(Some((offset, size)))
    }

    /// The file offset and address of `.eh_frame_hdr` (`PT_GNU_EH_FRAME`), and its size.
    pub fn eh_frame_hdr(&self) -> Option<(u64, u64, u64)> {
        let p = self.phdrs.iter().find(|p| p.p_type(E) == PT_GNU_EH_FRAME)?;
        Some((p.p_offset(E), p.p_vaddr(E), p.p_filesz(E)))
    }

    /// The file offset of address `address`, in the segment that maps it.
    pub fn offset_of(&self, address: u64) -> Option<u64> {
        let load = self.phdrs.iter().filter(|p| p.p_type(E) == PT_LOAD);
        let mut load = load.filter(|p| p.p_vaddr(E) <= address && address < p.p_vaddr(E) + p.p_filesz(E));
        load.next().map(|p| p.p_offset(E) + (address - p.p_vaddr(E)))
    }

    /// Room for `size` bytes aligned to `align` at the overflow segment's end: their file
    /// offset and address. Code (`executable`) makes the segment executable, as a link with
    /// lld's `--no-rosegment` maps read-only data with the code.
    pub fn place(&mut self, size: u64, align: u64, executable: bool) -> Result<(u64, u64), String> {
        let load = match self.load {
            Some(load) => load,
            None => self.open()?,
        };
        if executable {
            let p = &mut self.phdrs[load];
            p.p_flags = U32::new(E, p.p_flags(E) | PF_X);
        }
        self.append(load, size, align)
    }

    /// Room for `size` bytes aligned to `align` at the end of the writable overflow segment,
    /// which holds data the loader relocates (a Rust panic location: the address of its
    /// file's name): their file offset and address. The segment is made the first time,
    /// after the overflow segment's room (which is made too if need be), in the entry of the
    /// program header table left empty for it. It is not read-only after relocation, as the
    /// full link's `PT_GNU_RELRO` part is.
    pub fn place_writable(&mut self, size: u64, align: u64) -> Result<(u64, u64), String> {
        let writable = match self.writable {
            Some(writable) => writable,
            None => self.open_writable()?,
        };
        self.append(writable, size, align)
    }

    /// Room for `size` bytes aligned to `align` at the end of segment `load` (an overflow
    /// segment), within its [`SEGMENT_ROOM`].
    fn append(&mut self, load: usize, size: u64, align: u64) -> Result<(u64, u64), String> {
        if align > PAGE_SIZE {
            return Err(format!("an alignment of {align} bytes"));
        }
        let p = &mut self.phdrs[load];
        let offset = align_up(p.p_offset(E) + p.p_filesz(E), align);
        let filled = offset + size - p.p_offset(E);
        if filled > SEGMENT_ROOM {
            return Err("the overflow segment is full".into());
        }
        p.p_filesz = U64::new(E, filled);
        p.p_memsz = U64::new(E, filled);
        self.program_headers_changed = true;
        Ok((offset, p.p_vaddr(E) + (offset - p.p_offset(E))))
    }

    fn open_writable(&mut self) -> Result<usize, String> {
        let load = match self.load {
            Some(load) => load,
            None => self.open()?,
        };
        let spare = load + 1;
        if self.phdrs.get(spare).is_none_or(|p| p.p_type(E) != PT_NULL) {
            return Err("no room in the program header table for a writable segment".into());
        }
        let p = self.phdrs[load];
        let base = p.p_vaddr(E).wrapping_sub(p.p_offset(E));
        let offset = align_up(self.end, PAGE_SIZE);
        let address = offset.wrapping_add(base);
        self.phdrs[spare] = Phdr {
            p_type: U32::new(E, PT_LOAD),
            p_flags: U32::new(E, PF_R | PF_W),
            p_offset: U64::new(E, offset),
            p_vaddr: U64::new(E, address),
            p_paddr: U64::new(E, address),
            p_filesz: U64::new(E, 0),
            p_memsz: U64::new(E, 0),
            p_align: U64::new(E, PAGE_SIZE),
        };
        self.writable = Some(spare);
        self.end = offset + SEGMENT_ROOM;
        self.program_headers_changed = true;
        Ok(spare)
    }

    /// Appends the overflow segment, holding the program header table, to the table.
    fn open(&mut self) -> Result<usize, String> {
        let loads = || self.phdrs.iter().filter(|p| p.p_type(E) == PT_LOAD);
        let first = loads().min_by_key(|p| p.p_offset(E)).ok_or("the output has no loadable segment")?;
        let base = first.p_vaddr(E).wrapping_sub(first.p_offset(E));
        if !base.is_multiple_of(PAGE_SIZE) {
            return Err("the output's first segment is not page-aligned".into());
        }
        let image_end = loads().map(|p| p.p_vaddr(E) + p.p_memsz(E)).max().unwrap_or(0);
        let offset = align_up(self.end.max(image_end.saturating_sub(base)), PAGE_SIZE);
        let address = offset + base;
        let last_load = self.phdrs.iter().rposition(|p| p.p_type(E) == PT_LOAD).expect("a loadable segment");
        // With an empty entry after the new one, for a writable segment (`place_writable`).
        let table = (self.phdrs.len() as u64 + 2) * size_of::<Phdr>() as u64;
        let segment = Phdr {
            p_type: U32::new(E, PT_LOAD),
            p_flags: U32::new(E, PF_R),
            p_offset: U64::new(E, offset),
            p_vaddr: U64::new(E, address),
            p_paddr: U64::new(E, address),
            p_filesz: U64::new(E, table),
            p_memsz: U64::new(E, table),
            p_align: U64::new(E, PAGE_SIZE),
        };
        self.phdrs.insert(last_load + 1, segment);
        self.phdrs.insert(last_load + 2, Phdr { p_type: U32::new(E, PT_NULL), ..segment });
        for p in self.phdrs.iter_mut().filter(|p| p.p_type(E) == PT_PHDR) {
            (p.p_offset, p.p_vaddr, p.p_paddr) = (U64::new(E, offset), U64::new(E, address), U64::new(E, address));
            (p.p_filesz, p.p_memsz) = (U64::new(E, table), U64::new(E, table));
        }
        self.header.e_phoff = U64::new(E, offset);
        self.header.e_phnum = U16::new(E, self.phdrs.len() as u16);
        self.load = Some(last_load + 1);
        self.end = offset + SEGMENT_ROOM;
        self.program_headers_changed = true;
        Ok(last_load + 1)
    }

    /// Room for `size` bytes aligned to `align` at the end of the output section that holds
    /// file offset `offset` (one the program does not load): where it is when nothing follows
    /// it closer than that (the section header table moves out of its way), else in a copy at
    /// the end of the file. Returns the room's file offset and its offset in the output
    /// section.
    pub fn grow(&mut self, offset: u64, size: u64, align: u64) -> Result<(u64, u64), String> {
        let index = self.section_index_at(offset).ok_or("a section outside every output section")?;
        let section = &self.sections[index];
        if section.sh_flags(E) & SHF_ALLOC as u64 != 0 {
            return Err("a loaded output section cannot grow".into());
        }
        let (mut at, used) = (section.sh_offset(E), section.sh_size(E));
        let in_section = align_up(used, align);
        let mut new_bytes = at + used;
        if at + in_section + size > self.room_end(index) {
            let to = align_up(self.end, section.sh_addralign(E).max(1));
            // The copy's bytes are the section's as the output has them, whose build id
            // ranges follow it (`moved_ranges`), then what this relink already added to it.
            let added_from = self.grown.iter().find(|&&(i, _)| i == index).map(|&(_, start)| start - at);
            self.moves.push(Move { from: at, len: used, to });
            (at, new_bytes) = (to, to + added_from.unwrap_or(used));
            self.grown.retain(|&(i, _)| i != index);
            // Room to grow again without another copy: the file ends past a zero at the
            // room's end, so that later relinks put nothing there.
            self.end = to + in_section + size + growth_room(used);
            self.room_ends.push((self.end - 1, vec![0]));
        }
        let section = &mut self.sections[index];
        section.sh_offset = U64::new(E, at);
        section.sh_size = U64::new(E, in_section + size);
        self.end = self.end.max(at + in_section + size);
        self.section_headers_changed = true;
        if !self.grown.iter().any(|&(i, _)| i == index) {
            self.grown.push((index, new_bytes));
        }
        let (table, table_len) = (self.header.e_shoff(E), self.table_len());
        if at < table + table_len && table < at + in_section + size {
            let to = align_up(self.end, 8);
            self.header.e_shoff = U64::new(E, to);
            self.end = to + table_len;
            self.table_moved = true;
        }
        Ok((at + in_section, in_section))
    }

    /// The output sections copied to the end of the file, in the order they are made.
    pub fn moves(&self) -> &[Move] {
        &self.moves
    }

    /// The file ranges (offset, size) of `.symtab` and of its names, if the output has them.
    pub fn symbol_table(&self) -> Option<((u64, u64), (u64, u64))> {
        let symbols = &self.sections[self.symbol_table_index()?];
        let names = self.sections.get(symbols.sh_link(E) as usize)?;
        let range = |s: &Shdr| (s.sh_offset(E), s.sh_size(E));
        Some((range(symbols), range(names)))
    }

    /// Whether the output exports functions of its own: a function defined in `.dynsym` (what
    /// `--export-dynamic` or a dynamic list makes; a data symbol a shared library refers to,
    /// copied into the executable, is no sign of it). A relink cannot add to `.dynsym`.
    pub fn exports(&self, output: &[u8]) -> Result<bool, String> {
        let Some(dynsym) = self.sections.iter().find(|s| s.sh_type(E) == SHT_DYNSYM) else { return Ok(false) };
        let (at, size) = (dynsym.sh_offset(E) as usize, dynsym.sh_size(E) as usize);
        let bytes = output.get(at..at + size).ok_or("the output is cut short")?;
        let entries: &[Sym64<LE>] = object::pod::slice_from_all_bytes(bytes).map_err(|_| "a .dynsym cut short")?;
        Ok(entries.iter().any(|s| s.st_shndx(E) != SHN_UNDEF && s.st_type() == STT_FUNC))
    }

    /// The index of output section `.symtab`, if the output has one.
    pub fn symbol_table_index(&self) -> Option<usize> {
        self.sections.iter().position(|s| s.sh_type(E) == SHT_SYMTAB)
    }

    /// The file offset of output section `index` (where the relink leaves it).
    pub fn section_offset(&self, index: usize) -> u64 {
        self.sections[index].sh_offset(E)
    }

    /// The size of output section `index` (as the relink leaves it).
    pub fn section_size(&self, index: usize) -> u64 {
        self.sections[index].sh_size(E)
    }

    /// The `sh_info` of output section `index`: `.symtab`'s first global.
    pub fn section_info(&self, index: usize) -> u32 {
        self.sections[index].sh_info(E)
    }

    /// Sets the `sh_info` of output section `index` (`.symtab`'s first global, once a relink
    /// added locals before the globals).
    pub fn set_section_info(&mut self, index: usize, info: u32) {
        self.sections[index].sh_info = U32::new(E, info);
        self.section_headers_changed = true;
    }

    /// Sets the size of output section `index`, one the program does not load, to `size`, no
    /// more than it has (`.symtab` once a relink took symbols out).
    pub fn set_section_size(&mut self, index: usize, size: u64) {
        let section = &mut self.sections[index];
        section.sh_size = U64::new(E, size.min(section.sh_size(E)));
        self.section_headers_changed = true;
    }

    /// Whether `address` is in the procedure linkage table (`.plt`, where a full link puts
    /// every PLT entry, IFUNCs' too): a call that goes there goes to an entry, not to its
    /// function.
    pub fn in_linkage_table(&self, address: u64) -> bool {
        let plt = self.section_named(b".plt").map(|index| &self.sections[index]);
        plt.is_some_and(|s| (s.sh_addr(E)..s.sh_addr(E) + s.sh_size(E)).contains(&address))
    }

    /// The index of the output section named `name`, if there is one.
    pub fn section_named(&self, name: &[u8]) -> Option<usize> {
        let named = |s: &Shdr| c_string(self.section_names.get(s.sh_name(E) as usize..).unwrap_or_default()) == name;
        self.sections.iter().position(named)
    }

    fn table_len(&self) -> u64 {
        self.sections.len() as u64 * size_of::<Shdr>() as u64
    }

    /// Where the room of output section `index` ends: where the next thing in the file
    /// starts (a section, the overflow segment), or nowhere when it is the last (the section
    /// header table, which may follow it, moves).
    fn room_end(&self, index: usize) -> u64 {
        let at = self.sections[index].sh_offset(E);
        let sections = self.sections.iter().enumerate().filter(|&(i, s)| i != index && s.sh_type(E) != SHT_NOBITS);
        let sections = sections.map(|(_, s)| s.sh_offset(E));
        let segments = self.segments().map(|(offset, _)| offset);
        let after = sections.chain(segments).filter(|&start| start > at);
        after.min().unwrap_or(u64::MAX)
    }

    /// Where the bytes at file offset `offset` of the output before this relink are once it
    /// is written: elsewhere if their output section was copied to the end.
    pub fn translate(&self, offset: u64) -> u64 {
        self.moves
            .iter()
            .fold(offset, |at, m| if m.from <= at && at < m.from + m.len { m.to + (at - m.from) } else { at })
    }

    /// The file ranges this relink wrote past what was there: the overflow segment, the new
    /// bytes of each output section it grew (of one it copied, those past what the output
    /// held: the copied ones keep their ranges, `patch::moved_ranges`), and the section header
    /// table where it moved, as (offset, length), in file order.
    pub fn regions(&self) -> Vec<(u64, u64)> {
        let segment = self.segments().filter(|_| self.program_headers_changed);
        let grown = self.grown.iter().map(|&(i, from)| {
            let s = &self.sections[i];
            (from, s.sh_offset(E) + s.sh_size(E) - from)
        });
        let table = self.table_moved.then(|| (self.header.e_shoff(E), self.table_len()));
        let mut regions: Vec<(u64, u64)> = segment.into_iter().chain(grown).chain(table).collect();
        regions.sort_unstable();
        regions
    }

    /// The copies of the output sections that moved (to be made first, before the relink's
    /// other writes into them), the zeros that end their room, and the writes that bring the
    /// output's headers up to date.
    pub fn writes(self) -> (Vec<Move>, Vec<Write>, Vec<Write>) {
        let mut headers = Vec::new();
        if self.program_headers_changed || self.table_moved {
            headers.push((0, object::pod::bytes_of(&self.header).to_vec()));
        }
        if self.program_headers_changed {
            headers.push((self.header.e_phoff(E), object::pod::bytes_of_slice(&self.phdrs).to_vec()));
        }
        if self.section_headers_changed {
            headers.push((self.header.e_shoff(E), object::pod::bytes_of_slice(&self.sections).to_vec()));
        }
        (self.moves, self.room_ends, headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output with two sections the program does not load, `.a` (0x80 bytes at 0x100,
    /// with room up to `.b` at 0x200) and `.b`, then the section names and the table.
    fn output() -> Vec<u64> {
        let mut words = vec![0u64; 0x500 / 8];
        let bytes = object::pod::bytes_of_slice_mut(&mut words);
        let mut put =
            |at: usize, value: u64, width: usize| bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        put(0, u64::from_le_bytes(*b"\x7fELF\x02\x01\x01\0"), 8);
        for (at, value, width) in [(16, 2, 2), (18, 62, 2), (20, 1, 4), (40, 0x400, 8), (52, 64, 2), (54, 56, 2)] {
            put(at, value, width);
        }
        for (at, value) in [(58, 64), (60, 4), (62, 3)] {
            put(at, value, 2);
        }
        let names = b"\0.a\0.b\0.shstrtab\0";
        for (i, &byte) in names.iter().enumerate() {
            put(0x300 + i, u64::from(byte), 1);
        }
        // (name, type, offset, size) of sections 1 to 3.
        let sections =
            [(1, SHT_PROGBITS, 0x100, 0x80), (4, SHT_PROGBITS, 0x200, 0x100), (7, SHT_STRTAB, 0x300, names.len())];
        for (i, (name, kind, offset, size)) in sections.into_iter().enumerate() {
            let at = 0x400 + (i + 1) * 64;
            put(at, name, 4);
            put(at + 4, u64::from(kind), 4);
            put(at + 24, offset, 8);
            put(at + 32, size as u64, 8);
            put(at + 48, 1, 8);
        }
        words
    }

    #[test]
    fn a_section_grown_in_place_then_copied_leaves_its_new_bytes_to_be_hashed() {
        let words = output();
        let mut overflow = Overflow::read(object::pod::bytes_of_slice(&words)).unwrap();
        // 0x40 bytes fit in `.a`'s room; 0x100 more do not: `.a` is copied to the file's end.
        assert_eq!(overflow.grow(0x100, 0x40, 1).unwrap(), (0x180, 0x80));
        let (at, offset) = overflow.grow(0x100, 0x100, 1).unwrap();
        let copy = overflow.moves()[0];
        assert_eq!((copy.from, copy.len, offset), (0x100, 0xc0, 0xc0));
        assert_eq!(at, copy.to + 0xc0);
        // The copied bytes that the output held keep their build id ranges
        // (`patch::moved_ranges`); all that the relink added is a region of its own.
        assert!(overflow.regions().contains(&(copy.to + 0x80, 0x40 + 0x100)), "{:?}", overflow.regions());
    }
}
