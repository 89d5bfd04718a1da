//! The overflow segment: where an in-place relink puts the read-only sections that grew.
//!
//! A full link packs sections one after another, so a section that grows has no room where
//! it is. An in-place relink (`patch`) moves it instead: to a loadable read-only segment the
//! first such relink appends to the output, past every byte of the file and every address
//! of the program. Later relinks append to the same segment.
//!
//! **The program header table moves with it.** The full link's table has no free entry for
//! the new segment, and growing it in place would move every section after it. So the table
//! is copied, with the new `PT_LOAD` after the last one (the loader wants them in address
//! order) and `PT_PHDR` pointing at the copy, to the start of the overflow segment, and
//! `e_phoff` is pointed there; the old table stays behind, unused. The kernel reads the
//! table at `e_phoff` and tells the program where it is in memory (`AT_PHDR`): since Linux
//! 5.18 as the address of that offset in the segment that maps it, before that as the
//! first segment's address minus its offset plus `e_phoff`. The segment is placed where
//! both agree: its address minus its offset equals the first segment's
//! (`address = offset + base`), at a page boundary past the end of the file and of the
//! program's memory image (`.bss` included).
//!
//! **Costs.** Reading the ELF header, the program and section headers of the output once per
//! relink that moves a section (a few kilobytes), then writing the header, the table and the
//! moved sections. The room a section leaves behind is not reused, and the section headers
//! still describe the sections where they were: the segment has none of its own.

use crate::elf::*;
use object::read::elf::ProgramHeader as _;
use object::U32;
use object::U64;

pub type Phdr = ProgramHeader64<LE>;

/// The output's headers, and the overflow segment as it will be once the relink is written.
pub struct Overflow {
    header: Ehdr,
    phdrs: Vec<Phdr>,
    sections: Vec<Shdr>,
    /// Index in `phdrs` of the overflow segment's `PT_LOAD`, once there is one.
    load: Option<usize>,
    /// The file's length: a new segment starts past it.
    file_len: u64,
    /// Whether the header or the table must be written.
    changed: bool,
}

impl Overflow {
    /// Reads the headers of the output (`read` reads its bytes; it is `file_len` long).
    pub fn read(read: &mut dyn FnMut(u64, &mut [u8]) -> std::io::Result<()>, file_len: u64) -> Result<Overflow, String> {
        let failed = |e: std::io::Error| format!("reading the output's headers: {e}");
        let mut bytes = vec![0u8; size_of::<Ehdr>()];
        read(0, &mut bytes).map_err(failed)?;
        let header = *object::pod::from_bytes::<Ehdr>(&bytes).map_err(|_| "a short ELF header")?.0;
        if header.e_phentsize(E) as usize != size_of::<Phdr>() || header.e_shentsize(E) as usize != size_of::<Shdr>() {
            return Err("the output's headers have an unexpected size".into());
        }
        let (phnum, shnum) = (header.e_phnum(E) as usize, header.e_shnum(E) as usize);
        if phnum == 0xffff || shnum == 0 {
            return Err("the output has too many program or section headers".into());
        }
        bytes.resize(phnum * size_of::<Phdr>(), 0);
        read(header.e_phoff(E), &mut bytes).map_err(failed)?;
        let phdrs = object::pod::slice_from_all_bytes::<Phdr>(&bytes).map_err(|_| "bad program headers")?.to_vec();
        bytes.resize(shnum * size_of::<Shdr>(), 0);
        read(header.e_shoff(E), &mut bytes).map_err(failed)?;
        let sections = object::pod::slice_from_all_bytes::<Shdr>(&bytes).map_err(|_| "bad section headers")?.to_vec();
        // A segment that starts where the table is: a relink made it.
        let load = phdrs.iter().position(|p| p.p_type(E) == PT_LOAD && p.p_offset(E) == header.e_phoff(E));
        if let Some(load) = load {
            let p = &phdrs[load];
            let last_load = phdrs.iter().rposition(|p| p.p_type(E) == PT_LOAD);
            if last_load != Some(load) || p.p_offset(E) + p.p_filesz(E) != file_len {
                return Err("the overflow segment is not at the end of the output".into());
            }
        }
        Ok(Overflow { header, phdrs, sections, load, file_len, changed: false })
    }

    /// The address of file offset `offset`, in the segment that maps it.
    pub fn address_of(&self, offset: u64) -> Option<u64> {
        let load = self.phdrs.iter().filter(|p| p.p_type(E) == PT_LOAD);
        let mut load = load.filter(|p| p.p_offset(E) <= offset && offset < p.p_offset(E) + p.p_filesz(E));
        load.next().map(|p| p.p_vaddr(E) + (offset - p.p_offset(E)))
    }

    /// The output section file offset `offset` is in.
    pub fn section_at(&self, offset: u64) -> Option<&Shdr> {
        let mut with_bytes = self.sections.iter().filter(|s| s.sh_type(E) != SHT_NOBITS);
        with_bytes.find(|s| s.sh_offset(E) <= offset && offset < s.sh_offset(E) + s.sh_size(E))
    }

    /// Room for `size` bytes aligned to `align` at the overflow segment's end: their file
    /// offset and address.
    pub fn place(&mut self, size: u64, align: u64) -> Result<(u64, u64), String> {
        if align > PAGE_SIZE {
            return Err(format!("an alignment of {align} bytes"));
        }
        let load = match self.load {
            Some(load) => load,
            None => self.open()?,
        };
        let p = &mut self.phdrs[load];
        let offset = align_up(p.p_offset(E) + p.p_filesz(E), align);
        let end = offset + size - p.p_offset(E);
        p.p_filesz = U64::new(E, end);
        p.p_memsz = U64::new(E, end);
        self.changed = true;
        Ok((offset, p.p_vaddr(E) + (offset - p.p_offset(E))))
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
        let offset = align_up(self.file_len.max(image_end.saturating_sub(base)), PAGE_SIZE);
        let address = offset + base;
        let last_load = self.phdrs.iter().rposition(|p| p.p_type(E) == PT_LOAD).expect("a loadable segment");
        let table = (self.phdrs.len() as u64 + 1) * size_of::<Phdr>() as u64;
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
        for p in self.phdrs.iter_mut().filter(|p| p.p_type(E) == PT_PHDR) {
            (p.p_offset, p.p_vaddr, p.p_paddr) = (U64::new(E, offset), U64::new(E, address), U64::new(E, address));
            (p.p_filesz, p.p_memsz) = (U64::new(E, table), U64::new(E, table));
        }
        self.header.e_phoff = U64::new(E, offset);
        self.header.e_phnum = object::U16::new(E, self.phdrs.len() as u16);
        self.load = Some(last_load + 1);
        self.changed = true;
        Ok(last_load + 1)
    }

    /// Whether file offset `offset` is in the overflow segment (moved there by a relink).
    pub fn holds(&self, offset: u64) -> bool {
        self.range().is_some_and(|(at, len)| at <= offset && offset < at + len)
    }

    /// The segment's file range, once there is one.
    pub fn range(&self) -> Option<(u64, u64)> {
        self.load.map(|load| (self.phdrs[load].p_offset(E), self.phdrs[load].p_filesz(E)))
    }

    /// The writes (file offset, bytes) that bring the ELF header and the program header
    /// table up to date: none when nothing was placed.
    pub fn writes(&self) -> Vec<(u64, Vec<u8>)> {
        if !self.changed {
            return Vec::new();
        }
        let header = object::pod::bytes_of(&self.header).to_vec();
        let table = object::pod::bytes_of_slice(&self.phdrs).to_vec();
        vec![(0, header), (self.header.e_phoff(E), table)]
    }
}
