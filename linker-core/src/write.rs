//! The write pass: one parallel pass over chunks of the output (runs of input sections, merged
//! section shards) copies each into a reused buffer, applies its relocations there, hashes it
//! for the build id while it is in cache and writes it with one `pwrite`, and writes the
//! dynamic relocations it asked for into their run of `.rela.dyn` the same way (layout gives
//! each chunk one run: `layout::dynrel_bases`; a million-function PIE has 24 MB of them, once
//! collected, then encoded in one buffer after the copy); meanwhile the
//! symbol table and its names are made, written and hashed run by run the same way (never
//! held whole: 46 MB at a million symbols), and the linker's other tables (GOT, PLT, dynamic
//! tables) are computed, then hashed in parallel and written with the headers; the build id
//! is finished last. The output is never
//! mapped: it goes to the temporary file of `output_file` (when that holds an earlier file's
//! bytes, to be overwritten in place, the padding is zeroed too), closed and renamed into
//! place only when everything succeeded.

use crate::args::{BuildId, Config, DebugCompression};
use crate::compressed;
use crate::context::{Def, Link};
use crate::dynamic::DynamicTables;
use crate::elf::*;
use crate::error::{Error, Result};
use crate::layout::{
    COMMENT, Contents, GOT_KIND_ADDR, GOT_KIND_DESC, GOT_KIND_GD, GOT_KIND_TPOFF, GotSlot, Layout, OutputSection,
    Placement, build_id_len, compute_symbol_address, got_slot_relocs, is_compressed, is_ifunc, symbol_address,
};
use crate::output_file::PendingOutput;
use crate::resolve::SymbolId;
use crate::scan::{ScanResult, flags};
use crate::synthetic::Synthetic;
use crate::x86_64::{self, Action, DynAbs};
use rayon::prelude::*;
use std::path::Path;

/// A dynamic relocation to emit.
#[derive(Clone, Copy, Debug)]
pub struct DynRel {
    pub offset: u64,
    pub r_type: u32,
    pub sym: u32,
    pub addend: i64,
}

/// The image written into the temporary file, all but its build id.
pub struct WrittenImage {
    out: PendingOutput,
    file: std::fs::File,
    ranges: Vec<WrittenRange>,
    gaps: Vec<(u64, u64)>,
}

impl WrittenImage {
    /// Computes and writes the build id, when one is asked for; the output is then complete.
    /// Also returns the ranges its tree hash covered, in file order (see `patch`).
    pub fn finish_build_id(self, layout: &Layout, config: &Config) -> Result<(PendingOutput, Vec<WrittenRange>)> {
        let tree = matches!(config.build_id, Some(BuildId::Sha1 | BuildId::Md5 | BuildId::Fast));
        let hashed = if tree { tree_hash_ranges(self.ranges, &self.gaps) } else { Vec::new() };
        if let Some(id) = &config.build_id {
            write_build_id(layout, &self.file, self.out.path(), id, &hashed)?;
        }
        Ok((self.out, hashed))
    }
}

/// Writes the whole image into a temporary file next to the output.
pub fn write_image(
    link: &Link<'_>,
    scan: &ScanResult,
    layout: &mut Layout,
    mut out: PendingOutput,
) -> Result<WrittenImage> {
    let config = link.config;
    let (file, reused) = out.open(layout.file_size)?;
    let tmp = out.path().to_path_buf();
    let hash = matches!(config.build_id, Some(BuildId::Sha1 | BuildId::Md5 | BuildId::Fast));

    // Input sections and the linker's own tables are independent until .rela.dyn.
    let (written, ((content, rela_tail), symbol_tables)) = rayon::join(
        || write_sections(link, scan, layout, &file, &tmp, hash),
        || {
            rayon::join(
                || synthetic_contents(link, scan, layout),
                || write_symbol_tables(link, layout, &file, &tmp, hash),
            )
        },
    );
    let Written { mut ranges, compressed } = written?;
    ranges.extend(symbol_tables?);
    let mut blobs = placed_synthetic(layout, content)?;
    blobs.extend(rela_tail.finish(layout)?);
    if let Some(codec) = config.compress_debug_sections {
        blobs.extend(place_compressed(layout, codec, compressed));
        file.set_len(layout.file_size).map_err(|e| Error::io(&tmp, e))?;
    }
    blobs.extend(headers(link, layout));
    // Hashed in parallel, written from one thread: writes to one file serialize anyway (a
    // buffered write holds the inode lock), and a thread that met another there would spin.
    let (written, blobs_hashed) = rayon::join(
        || -> Result<()> {
            use std::os::unix::fs::FileExt;
            blobs.iter().try_for_each(|(at, bytes)| file.write_all_at(bytes, *at).map_err(|e| Error::io(&tmp, e)))
        },
        || -> Vec<WrittenRange> { blobs.par_iter().map(|(at, bytes)| WrittenRange::of(*at, bytes, hash)).collect() },
    );
    written?;
    ranges.extend(blobs_hashed);
    ranges.sort_unstable_by_key(|r| r.at);
    let gaps = gaps(&ranges, layout.file_size);
    if reused {
        zero_fill(&file, &tmp, &gaps)?;
    }
    Ok(WrittenImage { out, file, ranges, gaps })
}

/// Joins each compressed section's pieces into its contents and places it at the end of the
/// file; returns where each goes and its bytes.
fn place_compressed(layout: &mut Layout, codec: DebugCompression, mut pieces: Vec<Piece>) -> Vec<(u64, Vec<u8>)> {
    pieces.sort_unstable_by_key(|p| (p.section, p.start));
    let sections: Vec<&[Piece]> = pieces.chunk_by(|a, b| a.section == b.section).collect();
    let contents: Vec<(usize, Vec<u8>)> = sections
        .into_par_iter()
        .map(|group| {
            let section = group[0].section;
            let group: Vec<&compressed::DeflatedPiece> = group.iter().map(|p| &p.piece).collect();
            (section, compressed::join_pieces(codec, &group, layout.sections[section].align))
        })
        .collect();
    layout.place_compressed(&contents.iter().map(|(i, c)| (*i, c.len() as u64)).collect::<Vec<_>>());
    contents.into_iter().map(|(i, c)| (layout.sections[i].offset, c)).collect()
}

/// The ranges of the file between the sorted written `ranges`: padding, which reads as zeros
/// in a new file.
fn gaps(ranges: &[WrittenRange], file_size: u64) -> Vec<(u64, u64)> {
    let mut gaps = Vec::new();
    let mut pos = 0u64;
    for (at, len) in ranges.iter().map(|r| (r.at, r.len)).chain([(file_size, 0)]) {
        if pos < at {
            gaps.push((pos, at - pos));
        }
        pos = pos.max(at + len);
    }
    gaps
}

/// Zeroes `gaps`, where a reused file still holds the old output's bytes: the output must
/// not depend on them. A gap of a page or more is punched out of the file (it reads as zeros
/// and holds no blocks, like the room after a debug section in a new file:
/// `layout::growth_room`); where the file system cannot, and for padding, zeros are written.
fn zero_fill(file: &std::fs::File, path: &Path, gaps: &[(u64, u64)]) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    for &(mut at, len) in gaps {
        let punch = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
        // SAFETY: a system call on an open file; no memory is shared.
        if len >= PAGE_SIZE && unsafe { libc::fallocate(file.as_raw_fd(), punch, at as i64, len as i64) } == 0 {
            continue;
        }
        for bytes in zeros(len) {
            file.write_all_at(bytes, at).map_err(|e| Error::io(path, e))?;
            at += bytes.len() as u64;
        }
    }
    Ok(())
}

/// `len` zero bytes, in slices of at most 4 KiB.
fn zeros<'a>(len: u64) -> impl Iterator<Item = &'a [u8]> {
    const ZEROS: [u8; 4096] = [0; 4096];
    (0..len).step_by(ZEROS.len()).map(move |at| &ZEROS[..(len - at).min(ZEROS.len() as u64) as usize])
}

/// A contiguous run of one output section's bytes: rendered in a buffer the thread reuses,
/// then written with one `pwrite`. Writing through a buffer costs half of what storing
/// through a fresh file mapping does (a page fault per 4 KiB page), on tmpfs and ext4 alike.
enum Chunk<'a> {
    /// Input sections, whole: `parts` are consecutive in `sec`.
    Parts(&'a OutputSection, &'a [crate::layout::InputPart]),
    /// One shard of a merged section.
    MergedShard(&'a OutputSection, usize, usize),
    EhFrame(&'a OutputSection),
}

impl<'a> Chunk<'a> {
    /// The section the chunk is in, and where in it the chunk starts and how long it is.
    fn range(&self, layout: &Layout) -> (&'a OutputSection, u64, u64) {
        match *self {
            Chunk::Parts(sec, parts) => {
                let (first, last) = (&parts[0], &parts[parts.len() - 1]);
                (sec, first.offset, last.offset + last.size - first.offset)
            }
            Chunk::MergedShard(sec, m, s) => {
                let (start, len) = layout.merged[m].shard_range(s);
                (sec, start, len)
            }
            Chunk::EhFrame(sec) => (sec, 0, sec.size),
        }
    }
}

/// Input sections are gathered into chunks of about this many bytes (and the build id hashes
/// gaps, and an in-place relink what it writes where the full link wrote nothing, in chunks
/// of this size).
pub(crate) const CHUNK_BYTES: u64 = 256 << 10;

/// The chunks of every section with contents in the file, each with its section's index, in
/// section order and ascending offsets.
fn chunks<'a>(layout: &'a Layout<'_>) -> Vec<(usize, Chunk<'a>)> {
    let mut chunks = Vec::new();
    for (index, sec) in layout.sections.iter().enumerate().filter(|(_, s)| s.sh_type != SHT_NOBITS && s.size > 0) {
        match &sec.contents {
            Contents::Inputs(parts) => {
                let mut first = 0;
                for (i, p) in parts.iter().enumerate() {
                    if i > first && p.offset + p.size - parts[first].offset > CHUNK_BYTES {
                        chunks.push((index, Chunk::Parts(sec, &parts[first..i])));
                        first = i;
                    }
                }
                if first < parts.len() {
                    chunks.push((index, Chunk::Parts(sec, &parts[first..])));
                }
            }
            Contents::Merged(m) => {
                chunks.extend((0..layout.merged[*m].shard_count()).map(|s| (index, Chunk::MergedShard(sec, *m, s))))
            }
            Contents::EhFrame(_) => chunks.push((index, Chunk::EhFrame(sec))),
            Contents::Synthetic(_) => {}
        }
    }
    chunks
}

/// The zero bytes before and after each chunk that a compressed section's stream must hold
/// (padding between input sections that fall in different chunks, and after the last);
/// `(0, 0)` for chunks written to the file, whose gaps are left as holes.
fn compressed_padding(link: &Link<'_>, layout: &Layout, chunks: &[(usize, Chunk<'_>)]) -> Vec<(u64, u64)> {
    let mut padding = vec![(0, 0); chunks.len()];
    let mut end_of_previous = 0;
    for (i, (section, chunk)) in chunks.iter().enumerate() {
        let (sec, start, len) = chunk.range(layout);
        if !crate::layout::is_compressed(link.config, sec) {
            continue;
        }
        let first = i == 0 || chunks[i - 1].0 != *section;
        let last = chunks.get(i + 1).is_none_or(|(next, _)| next != section);
        let lead = if first { start } else { start - end_of_previous };
        let tail = if last { sec.size - (start + len) } else { 0 };
        padding[i] = (lead, tail);
        end_of_previous = start + len;
    }
    padding
}

/// What the copy-and-relocate pass produced besides the bytes it wrote.
struct Written {
    ranges: Vec<WrittenRange>,
    /// The pieces of the sections to be compressed, kept rather than written.
    compressed: Vec<Piece>,
}

/// A chunk of a compressed section, compressed.
struct Piece {
    section: usize,
    start: u64,
    piece: compressed::DeflatedPiece,
}

/// Copies and relocates every input-backed section into the output file, in parallel (the
/// sections to be compressed are compressed instead, piece by piece, and kept).
fn write_sections(
    link: &Link<'_>,
    scan: &ScanResult,
    layout: &Layout,
    file: &std::fs::File,
    path: &Path,
    hash: bool,
) -> Result<Written> {
    use std::os::unix::fs::FileExt;
    let chunks = chunks(layout);
    let padding = compressed_padding(link, layout, &chunks);
    type Buffers = (Vec<u8>, Vec<u8>);
    // Per chunk: its run of `.rela.dyn`, and its bytes' range or its compressed piece.
    type ChunkWritten = (Option<WrittenRange>, Result<WrittenRange, Piece>);
    let results: Vec<Result<ChunkWritten>> = chunks
        .into_par_iter()
        .zip(padding)
        .map_init(Buffers::default, |(buf, relas): &mut Buffers, ((section, chunk), (lead, tail))| {
            let (sec, start, len) = chunk.range(layout);
            buf.clear();
            relas.clear();
            let relas_at = match chunk {
                Chunk::Parts(sec, parts) => write_input_parts(link, scan, layout, sec, parts, buf, relas)?,
                Chunk::MergedShard(_, m, s) => {
                    layout.merged[m].write_shard(s, buf);
                    None
                }
                Chunk::EhFrame(sec) => {
                    buf.resize(len as usize, 0);
                    write_eh_frame(link, scan, layout, sec, buf)?;
                    None
                }
            };
            // The chunk's run of `.rela.dyn` (see `layout::dynrel_bases`).
            let relas = match relas_at {
                Some(at) => {
                    file.write_all_at(relas, at).map_err(|e| Error::io(path, e))?;
                    Some(WrittenRange::of(at, relas, hash))
                }
                None => None,
            };
            if let Some(codec) = link.config.compress_debug_sections.filter(|_| is_compressed(link.config, sec)) {
                let bytes = zeros(lead).chain([&buf[..]]).chain(zeros(tail));
                let piece = Piece { section, start, piece: compressed::deflate_piece(codec, bytes) };
                return Ok((relas, Err(piece)));
            }
            let at = sec.offset + start;
            file.write_all_at(buf, at).map_err(|e| Error::io(path, e))?;
            // The build id hashes the chunk while it is still in cache.
            Ok((relas, Ok(WrittenRange::of(at, buf, hash))))
        })
        .collect();
    let mut written = Written { ranges: Vec::new(), compressed: Vec::new() };
    for r in results {
        let (relas, range) = r?;
        written.ranges.extend(relas);
        match range {
            Ok(range) => written.ranges.push(range),
            Err(piece) => written.compressed.push(piece),
        }
    }
    Ok(written)
}

/// A range of the output file that was written and, when the build id is a hash, the
/// XXH3-128 digest of its bytes (else 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrittenRange {
    pub at: u64,
    pub len: u64,
    pub digest: u128,
}

impl WrittenRange {
    fn of(at: u64, bytes: &[u8], hash: bool) -> WrittenRange {
        let digest = if hash { twox_hash::XxHash3_128::oneshot(bytes) } else { 0 };
        WrittenRange { at, len: bytes.len() as u64, digest }
    }
}

/// Copies and relocates consecutive input sections `parts` of `sec` into the empty `buf`,
/// which then starts at the first one; only the padding between them is zero-filled. Their
/// dynamic relocations go to the empty `relas`, encoded, from the first one's place in
/// `.rela.dyn`, whose file offset it returns (none if they have none).
fn write_input_parts(
    link: &Link<'_>,
    scan: &ScanResult,
    layout: &Layout,
    sec: &OutputSection,
    parts: &[crate::layout::InputPart],
    buf: &mut Vec<u8>,
    relas: &mut Vec<u8>,
) -> Result<Option<u64>> {
    let start = parts[0].offset;
    let mut first_base = None;
    let mut shared = ChunkTargets::new(layout);
    for p in parts {
        let mut rel = Relocator::new(link, scan, layout, &mut shared, p.file, p.section as usize)?;
        let at = (p.offset - start) as usize;
        buf.resize(at, 0);
        buf.extend_from_slice(&rel.data[..p.size as usize]);
        let out = &mut buf[at..];
        let addr = sec.addr + p.offset;
        if sec.is_alloc() {
            let mut skip = false;
            for ri in 0..rel.relas.len() {
                if std::mem::take(&mut skip) {
                    continue;
                }
                let off = rel.relas[ri].r_offset(E) as usize;
                skip = rel.apply_alloc(ri, out, off, addr + off as u64)?;
            }
        } else {
            // A debug section's many relocations (a debug build's `.debug_info`) look up this
            // file's symbols all over its slice of addresses: one sequential read beats a
            // cache miss each.
            if rel.relas.len() > 1024 {
                crate::input::prefetch(rel.addresses);
            }
            rel.apply_non_alloc_section(out, &sec.name)?;
        }
        if !rel.dynrels.is_empty() {
            let (file, section) = (p.file as usize, p.section as usize);
            let planned = scan.dynrel_counts[file].get(section).copied().unwrap_or(0) as usize;
            if rel.dynrels.len() > planned {
                // More would write over the next input section's entries.
                return Err(Error::Usage(format!(
                    "internal error: {} dynamic relocations where layout made room for {planned}",
                    rel.dynrels.len()
                )));
            }
            let base = layout.dynrel_base[file][section];
            let at = 24 * (base - *first_base.get_or_insert(base)) as usize;
            relas.resize(at + 24 * rel.dynrels.len(), 0);
            put_relas(&mut relas[at..], &rel.dynrels);
        }
    }
    let rela_dyn = layout.section(Synthetic::RelaDyn).map_or(0, |s| s.offset);
    Ok(first_base.map(|base| rela_dyn + 24 * base as u64))
}

/// What a relocation's symbol stands for, before the addend: a value, a discarded
/// definition, or (a section symbol of a merge section) the place its pieces went.
#[derive(Clone, Copy)]
enum SymTarget {
    Value(u64),
    Dead,
    Merged { section_addr: u64, map: u32, st_value: u64 },
}

impl SymTarget {
    /// What symbol `sym_index` of `file` stands for, when [`Layout::symbol_addresses`] holds
    /// one of its markers rather than the address.
    #[cold]
    fn of_marked(link: &Link<'_>, layout: &Layout, file: u32, sym_index: usize) -> SymTarget {
        let id = link.symbol_id(file, sym_index);
        if let Some((section_addr, map)) = layout.merged_section_symbol(link, id) {
            let obj = link.res.files[file as usize].object().expect("object");
            return SymTarget::Merged { section_addr, map, st_value: obj.symbol(sym_index).st_value(E) };
        }
        match compute_symbol_address(link, layout, id) {
            Some(a) => SymTarget::Value(a),
            None => SymTarget::Dead,
        }
    }

    /// The value S and whether the target is in the output. With the merge-section rule:
    /// a section symbol plus addend names a byte inside a merged piece.
    fn value(self, layout: &Layout, addend: i64) -> (u64, bool) {
        match self {
            SymTarget::Value(a) => (a, true),
            SymTarget::Dead => (0, false),
            SymTarget::Merged { section_addr, map, st_value } => {
                match merged_address(section_addr, &layout.merge_maps[map as usize], st_value, addend as u64) {
                    Some(sa) => (sa.wrapping_sub(addend as u64), true),
                    None => (0, false),
                }
            }
        }
    }
}

/// S + A for a section symbol (of value `st_value`) of a merged input section, which went to
/// the output section at `section_addr`: the output address of the byte the two point at
/// (see [`crate::merge::MergeMap::output_offset`]); `None` if no piece holds or precedes it.
fn merged_address(section_addr: u64, map: &crate::merge::MergeMap, st_value: u64, addend: u64) -> Option<u64> {
    Some(section_addr.wrapping_add(map.output_offset(st_value.wrapping_add(addend))?))
}

/// The target value S of a relocation's symbol (see [`SymTarget::value`]).
fn target_address(link: &Link<'_>, layout: &Layout, file: u32, r: &Rela) -> (u64, bool) {
    let sym = r.r_sym(E, false) as usize;
    match layout.symbol_addresses[link.symbol_id(file, sym) as usize] {
        crate::layout::DEAD => (0, false),
        crate::layout::IN_MERGED | crate::layout::RESERVED => {
            SymTarget::of_marked(link, layout, file, sym).value(layout, r.r_addend(E))
        }
        a => (a, true),
    }
}

fn relocation_overflow(link: &Link<'_>, file: u32, si: usize, id: SymbolId, r_type: u32, v: u64) -> Error {
    let obj = link.res.files[file as usize].object().expect("object");
    Error::Relocation {
        file: obj.name.clone(),
        section: String::from_utf8_lossy(obj.section_name(si)).into_owned(),
        symbol: crate::error::demangle(link.symbol_name(id)),
        what: format!("{} out of range: {v:#x}", x86_64::reloc_name(r_type)),
    }
}

/// Stores the low `width` bytes of `value` at `out[off..]`; `width` is one of
/// [`x86_64::reloc_width`]'s. Once per relocation, so each width is a fixed-size store rather
/// than a `memcpy` call.
#[inline]
fn write_at(out: &mut [u8], off: usize, width: usize, value: u64) {
    let bytes = value.to_le_bytes();
    match width {
        8 => out[off..off + 8].copy_from_slice(&bytes),
        4 => out[off..off + 4].copy_from_slice(&bytes[..4]),
        2 => out[off..off + 2].copy_from_slice(&bytes[..2]),
        1 => out[off] = bytes[0],
        _ => {}
    }
}

/// What the relocations of one chunk share: the GOT's addresses, looked up once, and the
/// targets of recently used marked symbols by (file, symbol index), direct-mapped: debug
/// sections point at `.debug_str`'s section symbol over and over, and a file's consecutive
/// code sections at the same few merged-string sections.
struct ChunkTargets {
    /// `_GLOBAL_OFFSET_TABLE_` and `.got`.
    got_base: u64,
    got_addr: u64,
    recent: [(u32, u32, SymTarget); 16],
}

impl ChunkTargets {
    fn new(layout: &Layout) -> Self {
        ChunkTargets {
            got_base: layout.got_base(),
            got_addr: layout.addr_of(Synthetic::Got),
            recent: [(u32::MAX, u32::MAX, SymTarget::Dead); 16],
        }
    }
}

/// Applies the relocations of one input section: what they share, and the state carried from
/// one relocation to the next.
struct Relocator<'a, 'l, 'c> {
    link: &'a Link<'l>,
    layout: &'a Layout<'a>,
    file: u32,
    si: usize,
    data: &'a [u8],
    relas: &'a [Rela],
    /// What the scan decided for each of `relas`, when it visited the section.
    actions: Option<&'a [Action]>,
    /// This file's slice of [`Layout::symbol_addresses`].
    addresses: &'a [u64],
    dynrels: Vec<DynRel>,
    shared: &'c mut ChunkTargets,
}

impl<'a, 'l, 'c> Relocator<'a, 'l, 'c> {
    fn new(
        link: &'a Link<'l>,
        scan: &'a ScanResult,
        layout: &'a Layout,
        shared: &'c mut ChunkTargets,
        file: u32,
        si: usize,
    ) -> Result<Self> {
        let obj = link.res.files[file as usize].object().expect("object");
        let relas = obj.relocations(si);
        Ok(Relocator {
            link,
            layout,
            file,
            si,
            data: obj.section_data(si)?,
            relas,
            actions: scan.actions[file as usize].of(si, relas.len()),
            addresses: &layout.symbol_addresses[link.symbol_id(file, 0) as usize..][..obj.symbols.len()],
            dynrels: Vec::new(),
            shared,
        })
    }

    /// The target value S of relocation `r` of this section.
    #[inline]
    fn target(&mut self, r: &Rela) -> (u64, bool) {
        let sym = r.r_sym(E, false);
        match self.addresses[sym as usize] {
            crate::layout::DEAD => (0, false),
            crate::layout::IN_MERGED | crate::layout::RESERVED => self.marked_target(sym, r.r_addend(E)),
            a => (a, true),
        }
    }

    fn marked_target(&mut self, sym: u32, addend: i64) -> (u64, bool) {
        let slot = &mut self.shared.recent[sym as usize % 16];
        if (slot.0, slot.1) != (self.file, sym) {
            *slot = (self.file, sym, SymTarget::of_marked(self.link, self.layout, self.file, sym as usize));
        }
        slot.2.value(self.layout, addend)
    }

    /// Applies relocation `ri` of an allocated section at `out[o..]`, whose address is `p`.
    /// Returns whether the next relocation was consumed by a TLS rewrite.
    fn apply_alloc(&mut self, ri: usize, out: &mut [u8], o: usize, p: u64) -> Result<bool> {
        let (link, layout, file, si, data, relas) = (self.link, self.layout, self.file, self.si, self.data, self.relas);
        let r = &relas[ri];
        let (s, _) = self.target(r);
        let dynrels = &mut self.dynrels;
        let r_type = r.r_type(E, false);
        let a = r.r_addend(E);
        let action = match self.actions.and_then(|a| a.get(ri)) {
            Some(&action) => action,
            None => x86_64::classify(link, file, si, data, relas, ri)?,
        };
        let id = link.symbol_id(file, r.r_sym(E, false) as usize);
        let def = link.res.resolved[id as usize];
        let width = x86_64::reloc_width(r_type);
        let (got_base, got_addr) = (self.shared.got_base, self.shared.got_addr);
        let sa = s.wrapping_add(a as u64);
        let check32 = |v: i64, signed: bool| -> Result<()> {
            let ok = if signed { v >= i32::MIN as i64 && v <= i32::MAX as i64 } else { v >= 0 && v <= u32::MAX as i64 };
            if ok || width != 4 {
                Ok(())
            } else {
                let obj = link.res.files[file as usize].object().expect("object");
                Err(Error::Relocation {
                    file: obj.name.clone(),
                    section: String::from_utf8_lossy(obj.section_name(si)).into_owned(),
                    symbol: crate::error::demangle(link.symbol_name(id)),
                    what: format!("{} out of range: {v:#x}", x86_64::reloc_name(r_type)),
                })
            }
        };
        let tp = |addr: u64| addr.wrapping_sub(layout.tls_end);
        let got_slot = |kind: u8| layout.got_index.get(def, kind).map_or(0, |off| got_addr + off);
        match action {
            Action::None => {}
            Action::Abs { dynamic } => {
                match dynamic {
                    Some(DynAbs::Relative) => {
                        dynrels.push(DynRel { offset: p, r_type: R_X86_64_RELATIVE, sym: 0, addend: sa as i64 })
                    }
                    Some(DynAbs::Symbolic) => {
                        let sym = layout.dynamic.index.get(&def).copied().unwrap_or(0);
                        dynrels.push(DynRel { offset: p, r_type: R_X86_64_64, sym, addend: a });
                    }
                    None => {}
                }
                let v = if dynamic == Some(DynAbs::Symbolic) { 0 } else { sa };
                let fits = match r_type {
                    R_X86_64_32 => v <= u32::MAX as u64,
                    R_X86_64_32S => (v as i64) >= i32::MIN as i64 && (v as i64) <= i32::MAX as i64,
                    R_X86_64_16 => v <= u16::MAX as u64 || (v as i64) >= i16::MIN as i64,
                    R_X86_64_8 => v <= u8::MAX as u64 || (v as i64) >= i8::MIN as i64,
                    _ => true,
                };
                if !fits {
                    return Err(relocation_overflow(link, file, si, id, r_type, v));
                }
                write_at(out, o, width, v);
            }
            Action::Pc | Action::Plt | Action::PltAddress | Action::Copy | Action::CanonicalPlt => {
                let target = match action {
                    Action::Plt => layout.plt_addr(def).unwrap_or(s),
                    _ => s,
                };
                if matches!(r_type, R_X86_64_32 | R_X86_64_32S | R_X86_64_64) {
                    write_at(out, o, width, target.wrapping_add(a as u64));
                } else if r_type == R_X86_64_PLTOFF64 {
                    write_at(out, o, 8, target.wrapping_add(a as u64).wrapping_sub(got_base));
                } else {
                    let v = target.wrapping_add(a as u64).wrapping_sub(p) as i64;
                    check32(v, true)?;
                    write_at(out, o, width, v as u64);
                }
            }
            Action::Got => {
                let v = got_slot(GOT_KIND_ADDR).wrapping_add(a as u64).wrapping_sub(p) as i64;
                check32(v, true)?;
                write_at(out, o, 4, v as u64);
            }
            Action::GotAbs => {
                let slot = got_slot(GOT_KIND_ADDR);
                let v = match r_type {
                    R_X86_64_GOTPCREL64 => slot.wrapping_add(a as u64).wrapping_sub(p),
                    _ => slot.wrapping_sub(got_base).wrapping_add(a as u64),
                };
                write_at(out, o, width, v);
            }
            Action::GotBase => {
                let v = match r_type {
                    R_X86_64_GOTOFF64 | R_X86_64_PLTOFF64 => sa.wrapping_sub(got_base),
                    _ => got_base.wrapping_add(a as u64).wrapping_sub(p),
                };
                write_at(out, o, width, v);
            }
            Action::RelaxGot(kind) => {
                x86_64::apply_got_relax(out, o, kind);
                let (at, v) = x86_64::relaxed_field(o, kind, sa.wrapping_sub(p) as i64);
                check32(v, true)?;
                write_at(out, at, 4, v as u64);
            }
            Action::Size => {
                let size = match link.def(id) {
                    Def::Section { sym, .. }
                    | Def::Absolute { sym, .. }
                    | Def::Common { sym, .. }
                    | Def::Shared { sym, .. } => sym.st_size(E),
                    _ => 0,
                };
                write_at(out, o, width, size.wrapping_add(a as u64));
            }
            Action::TpOff => write_at(out, o, width, tp(sa)),
            Action::DtpOff => {
                let v = if link.output.shared { sa.wrapping_sub(layout.tls_start) } else { tp(sa) };
                write_at(out, o, width, v);
            }
            Action::GotTpOff => {
                let v = got_slot(GOT_KIND_TPOFF).wrapping_add(a as u64).wrapping_sub(p);
                write_at(out, o, 4, v);
            }
            Action::GotTpOffToLe => {
                x86_64::apply_ie_to_le(out, o);
                write_at(out, o, 4, tp(s));
            }
            Action::TlsGd => {
                let v = got_slot(GOT_KIND_GD).wrapping_add(a as u64).wrapping_sub(p);
                write_at(out, o, 4, v);
            }
            Action::TlsGdToLe => {
                let at = x86_64::apply_gd_to_le(out, o);
                write_at(out, at, 4, tp(s));
                return Ok(true);
            }
            Action::TlsGdToIe => {
                let at = x86_64::apply_gd_to_ie(out, o);
                // `add x@gottpoff(%rip), %rax`: its displacement ends at `at + 4`.
                let v = got_slot(GOT_KIND_TPOFF).wrapping_sub(p - o as u64 + at as u64 + 4);
                write_at(out, at, 4, v);
                return Ok(true);
            }
            Action::TlsLd => {
                let slot = layout.got_index.get(SymbolId::MAX, GOT_KIND_GD).map_or(0, |off| got_addr + off);
                write_at(out, o, 4, slot.wrapping_add(a as u64).wrapping_sub(p));
            }
            Action::TlsLdToLe => {
                x86_64::apply_ld_to_le(out, o);
                return Ok(true);
            }
            Action::TlsDesc => {
                let v = got_slot(GOT_KIND_DESC).wrapping_add(a as u64).wrapping_sub(p);
                write_at(out, o, 4, v);
            }
            Action::TlsDescToLe => {
                if r_type == R_X86_64_TLSDESC_CALL {
                    out[o] = 0x66;
                    out[o + 1] = 0x90;
                } else {
                    x86_64::apply_desc_to_le(out, o);
                    write_at(out, o, 4, tp(s));
                }
            }
            Action::TlsDescToIe => {
                x86_64::apply_desc_to_ie(out, o);
                let v = got_slot(GOT_KIND_TPOFF).wrapping_add(a as u64).wrapping_sub(p);
                write_at(out, o, 4, v);
            }
        }
        Ok(false)
    }

    /// Applies every relocation of a non-allocated section. Nearly all of DWARF's are 32- or
    /// 64-bit absolute values, of a live symbol or of the section symbol of a merged string
    /// section (`.debug_str`: over half of them in a debug build), and take the short way
    /// here, with the merged section's map at hand; the rest take [`Self::apply_non_alloc`].
    fn apply_non_alloc_section(&mut self, out: &mut [u8], sec_name: &[u8]) -> Result<()> {
        use crate::layout::{IN_MERGED, RESERVED};
        // The merged section symbol last seen: (symbol, section address, map, symbol value).
        let mut merged: Option<(u32, u64, &crate::merge::MergeMap, u64)> = None;
        for r in self.relas {
            let (r_type, sym) = (r.r_type(E, false), r.r_sym(E, false));
            let width = match r_type {
                R_X86_64_32 => 4,
                R_X86_64_64 => 8,
                _ => 0,
            };
            let o = r.r_offset(E) as usize;
            let a = r.r_addend(E) as u64;
            let fits = width != 0 && o.checked_add(width).is_some_and(|end| end <= out.len());
            let value = match self.addresses.get(sym as usize) {
                Some(&s) if fits && s < RESERVED => Some(s.wrapping_add(a)),
                Some(&IN_MERGED) if fits => {
                    if merged.is_none_or(|m| m.0 != sym) {
                        merged = match SymTarget::of_marked(self.link, self.layout, self.file, sym as usize) {
                            SymTarget::Merged { section_addr, map, st_value } => {
                                Some((sym, section_addr, &self.layout.merge_maps[map as usize], st_value))
                            }
                            _ => None,
                        };
                    }
                    merged.and_then(|(_, addr, map, st_value)| merged_address(addr, map, st_value, a))
                }
                _ => None,
            };
            match value {
                Some(v) => write_at(out, o, width, v),
                None => self.apply_non_alloc(r, out, sec_name)?,
            }
        }
        Ok(())
    }

    /// One relocation in a debug or other non-allocated section: absolute values only;
    /// references to discarded code get a tombstone instead of a bogus address.
    fn apply_non_alloc(&mut self, r: &Rela, out: &mut [u8], sec_name: &[u8]) -> Result<()> {
        let (link, layout, file, si) = (self.link, self.layout, self.file, self.si);
        let r_type = r.r_type(E, false);
        let o = r.r_offset(E) as usize;
        let width = x86_64::reloc_width(r_type);
        if o.checked_add(width).is_none_or(|e| e > out.len()) {
            let obj = link.res.files[file as usize].object().expect("object");
            return Err(Error::bad(
                &obj.name,
                format!("relocation past the end of section {}", String::from_utf8_lossy(obj.section_name(si))),
            ));
        }
        if r.r_sym(E, false) as usize >= self.addresses.len() {
            let obj = link.res.files[file as usize].object().expect("object");
            return Err(Error::bad(
                &obj.name,
                format!(
                    "relocation in section {} uses symbol {} out of range",
                    String::from_utf8_lossy(obj.section_name(si)),
                    r.r_sym(E, false)
                ),
            ));
        }
        let (s, live) = self.target(r);
        let a = r.r_addend(E);
        let v = match r_type {
            R_X86_64_NONE => return Ok(()),
            _ if !live => tombstone(sec_name),
            R_X86_64_64 | R_X86_64_32 | R_X86_64_32S => s.wrapping_add(a as u64),
            R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 => s.wrapping_add(a as u64).wrapping_sub(layout.tls_start),
            R_X86_64_SIZE32 | R_X86_64_SIZE64 => a as u64,
            R_X86_64_PC32 | R_X86_64_PC64 => s.wrapping_add(a as u64).wrapping_sub(o as u64),
            _ => {
                let obj = link.res.files[file as usize].object().expect("object");
                return Err(Error::Relocation {
                    file: obj.name.clone(),
                    section: String::from_utf8_lossy(obj.section_name(si)).into_owned(),
                    symbol: crate::error::demangle(link.symbol_name(link.symbol_id(file, r.r_sym(E, false) as usize))),
                    what: format!("{} is not supported in a non-allocated section", x86_64::reloc_name(r_type)),
                });
            }
        };
        write_at(out, o, width, v);
        Ok(())
    }
}

fn write_eh_frame(
    link: &Link<'_>,
    scan: &ScanResult,
    layout: &Layout,
    sec: &OutputSection,
    buf: &mut [u8],
) -> Result<()> {
    let Contents::EhFrame(records) = &sec.contents else { return Ok(()) };
    let mut shared = ChunkTargets::new(layout);
    // Records come in runs from one input section: one relocator per run.
    for run in records.chunk_by(|a, b| (a.file, a.section) == (b.file, b.section)) {
        let mut rel = Relocator::new(link, scan, layout, &mut shared, run[0].file, run[0].section as usize)?;
        let relas = rel.relas;
        for rec in run {
            let out_off = rec.output_offset as usize;
            let input = &rel.data[rec.input_offset as usize..(rec.input_offset + rec.size) as usize];
            buf[out_off..out_off + input.len()].copy_from_slice(input);
            if let Some(cie) = rec.cie_output_offset {
                write_at(buf, out_off + 4, 4, (rec.output_offset + 4 - cie) as u32 as u64);
            }
            let start = relas.partition_point(|r| r.r_offset(E) < rec.input_offset as u64);
            for ri in start..relas.len() {
                let r_off = relas[ri].r_offset(E);
                if r_off >= (rec.input_offset + rec.size) as u64 {
                    break;
                }
                let o = out_off + (r_off - rec.input_offset as u64) as usize;
                rel.apply_alloc(ri, buf, o, sec.addr + o as u64)?;
            }
        }
    }
    Ok(())
}

/// The contents of the sections the linker makes (GOT, PLT, dynamic tables, symbol table,
/// ...), computed while the input sections are being written, plus the dynamic relocations
/// that follow the input sections' own in `.rela.dyn`.
fn synthetic_contents(link: &Link<'_>, scan: &ScanResult, layout: &Layout) -> (Vec<(Synthetic, Vec<u8>)>, RelaDynTail) {
    let dynamic = &layout.dynamic;
    let dynsym_of = |id: SymbolId| dynamic.index.get(&link.res.resolved[id as usize]).copied().unwrap_or(0);
    let mut rela_dyn = RelaDynTail::new(layout);
    let mut rela_plt: Vec<DynRel> = Vec::new();
    let got_addr = layout.addr_of(Synthetic::Got);
    let mut got_words = vec![0u64; layout.section(Synthetic::Got).map_or(0, |s| s.size / 8) as usize];
    for (slot, off) in &layout.got {
        let addr = got_addr + off;
        let w = (*off / 8) as usize;
        let relocs = got_slot_relocs(link, slot);
        match *slot {
            GotSlot::Address(id) => {
                let value = if is_ifunc(link, id) {
                    match link.def(id) {
                        Def::Section { file, section, value, .. } => {
                            layout.input_address(file, section, value).unwrap_or(0)
                        }
                        _ => 0,
                    }
                } else {
                    symbol_address(link, layout, id)
                };
                match relocs[0] {
                    Some((t, true)) => rela_dyn.push(DynRel { offset: addr, r_type: t, sym: dynsym_of(id), addend: 0 }),
                    Some((t, false)) => rela_dyn.push(DynRel { offset: addr, r_type: t, sym: 0, addend: value as i64 }),
                    None if is_ifunc(link, id) => {
                        rela_plt.push(DynRel { offset: addr, r_type: R_X86_64_IRELATIVE, sym: 0, addend: value as i64 })
                    }
                    None => {}
                }
                if relocs[0].is_none_or(|(t, _)| t == R_X86_64_RELATIVE) && !is_ifunc(link, id) {
                    got_words[w] = value;
                }
            }
            GotSlot::TpOff(id) => {
                let s = symbol_address(link, layout, id);
                match relocs[0] {
                    Some((t, true)) => rela_dyn.push(DynRel { offset: addr, r_type: t, sym: dynsym_of(id), addend: 0 }),
                    Some((t, false)) => rela_dyn.push(DynRel {
                        offset: addr,
                        r_type: t,
                        sym: 0,
                        addend: s.wrapping_sub(layout.tls_start) as i64,
                    }),
                    None => got_words[w] = s.wrapping_sub(layout.tls_end),
                }
            }
            GotSlot::TlsGd(id) => {
                let s = symbol_address(link, layout, id);
                for (k, r) in relocs.iter().enumerate() {
                    match r {
                        Some((t, true)) => rela_dyn.push(DynRel {
                            offset: addr + 8 * k as u64,
                            r_type: *t,
                            sym: dynsym_of(id),
                            addend: 0,
                        }),
                        Some((t, false)) => {
                            rela_dyn.push(DynRel { offset: addr + 8 * k as u64, r_type: *t, sym: 0, addend: 0 })
                        }
                        None if k == 1 => got_words[w + 1] = s.wrapping_sub(layout.tls_start),
                        None => got_words[w] = 1,
                    }
                }
            }
            GotSlot::TlsDesc(id) => {
                let s = symbol_address(link, layout, id);
                match relocs[0] {
                    Some((t, true)) => rela_dyn.push(DynRel { offset: addr, r_type: t, sym: dynsym_of(id), addend: 0 }),
                    _ => rela_dyn.push(DynRel {
                        offset: addr,
                        r_type: R_X86_64_TLSDESC,
                        sym: 0,
                        addend: s.wrapping_sub(layout.tls_start) as i64,
                    }),
                }
            }
            GotSlot::TlsLd => match relocs[0] {
                Some((t, _)) => rela_dyn.push(DynRel { offset: addr, r_type: t, sym: 0, addend: 0 }),
                None => got_words[w] = 1,
            },
        }
    }
    let mut copies: Vec<(&SymbolId, &u64)> = layout.copies.iter().collect();
    copies.sort_unstable();
    for (id, off) in copies {
        rela_dyn.push(DynRel {
            offset: layout.addr_of(Synthetic::CopyRel) + off,
            r_type: R_X86_64_COPY,
            sym: dynsym_of(*id),
            addend: 0,
        });
    }

    // PLT and .got.plt.
    let plt_addr = layout.addr_of(Synthetic::Plt);
    let got_plt_addr = layout.addr_of(Synthetic::GotPlt);
    let mut plt = Vec::new();
    let mut got_plt = Vec::new();
    if layout.section(Synthetic::GotPlt).is_some() {
        got_plt.extend_from_slice(&layout.addr_of(Synthetic::Dynamic).to_le_bytes());
        got_plt.extend_from_slice(&[0; 16]);
    }
    if !layout.plt_lazy.is_empty() {
        plt.extend_from_slice(&x86_64::plt_header(plt_addr, got_plt_addr));
        for (i, &id) in layout.plt_lazy.iter().enumerate() {
            let entry = plt_addr + 16 * (i as u64 + 1);
            let slot = layout.got_plt_slot(i as u64);
            plt.extend_from_slice(&x86_64::plt_entry(entry, slot, i as u32, plt_addr));
            got_plt.extend_from_slice(&(entry + 6).to_le_bytes());
            rela_plt.insert(i, DynRel { offset: slot, r_type: R_X86_64_JUMP_SLOT, sym: dynsym_of(id), addend: 0 });
        }
    }
    for &id in &layout.plt_direct {
        let entry = layout.plt_addr(id).unwrap_or(0);
        let slot = layout.got_slot_addr(id, GOT_KIND_ADDR).unwrap_or(0);
        plt.extend_from_slice(&x86_64::plt_entry_direct(entry, slot));
    }

    let mut content: Vec<(Synthetic, Vec<u8>)> = Vec::new();
    let got_bytes: Vec<u8> = got_words.iter().flat_map(|w| w.to_le_bytes()).collect();
    content.push((Synthetic::Got, got_bytes));
    content.push((Synthetic::GotPlt, got_plt));
    content.push((Synthetic::Plt, plt));
    content.push((Synthetic::RelaPlt, rela_bytes(&rela_plt)));
    if let Some(interp) = layout.section(Synthetic::Interp) {
        let mut v = link.config.dynamic_linker.as_deref().unwrap_or("/lib64/ld-linux-x86-64.so.2").as_bytes().to_vec();
        v.push(0);
        v.resize(interp.size as usize, 0);
        content.push((Synthetic::Interp, v));
    }
    if layout.section(Synthetic::DynSym).is_some() {
        content.push((Synthetic::DynSym, dynsym_bytes(link, scan, layout, dynamic)));
        content.push((Synthetic::DynStr, dynamic.strtab.clone()));
        content.push((Synthetic::GnuHash, dynamic.gnu_hash_bytes().to_vec()));
        content.push((Synthetic::SysvHash, dynamic.sysv_hash_bytes().to_vec()));
        content.push((Synthetic::VerSym, dynamic.versym.iter().flat_map(|v| v.to_le_bytes()).collect()));
        content.push((Synthetic::VerNeed, dynamic.verneed_bytes()));
        content.push((Synthetic::VerDef, dynamic.verdef_bytes()));
        let sect = |s: Synthetic| layout.section(s).map(|o| (o.addr, o.size));
        let named = |n: &[u8]| layout.sections.iter().find(|s| s.name == n && s.is_alloc()).map(|s| (s.addr, s.size));
        let address_of = |name: &[u8]| link.res.input_definition(name).map(|id| symbol_address(link, layout, id));
        let entries = dynamic.entries(link, &sect, &named, (address_of(b"_init"), address_of(b"_fini")));
        content.push((
            Synthetic::Dynamic,
            entries.iter().flat_map(|(t, v)| [t.to_le_bytes(), v.to_le_bytes()]).flatten().collect(),
        ));
    }
    if let Some(hdr) = layout.section(Synthetic::EhFrameHdr) {
        let eh = layout.sections.iter().find(|s| matches!(s.contents, Contents::EhFrame(_))).map_or(0, |s| s.addr);
        let table = crate::layout::eh_fdes(&layout.sections)
            .filter_map(|f| {
                let obj = link.res.files[f.file as usize].object()?;
                let r = obj.relocations(f.section as usize).get(f.pc_reloc as usize)?;
                let (s, _) = target_address(link, layout, f.file, r);
                Some((s.wrapping_add(r.r_addend(E) as u64), eh + f.output_offset))
            })
            .collect();
        let mut bytes = crate::eh_frame::build_hdr(hdr.addr, eh, table);
        bytes.resize(hdr.size as usize, 0);
        content.push((Synthetic::EhFrameHdr, bytes));
    }
    content.push((Synthetic::Comment, COMMENT.to_vec()));
    if let Some(index) = &layout.gdb_index {
        let info_offset = |file: u32, section: u32| match layout.placement[file as usize][section as usize] {
            Placement::At { offset, .. } => Some(offset),
            _ => None,
        };
        let address = |file: u32, section: u32| layout.input_address(file, section, 0).unwrap_or(0);
        content.push((Synthetic::GdbIndex, index.bytes(&info_offset, &address)));
    }
    if let Some(id) = &link.config.build_id {
        let len = build_id_len(id);
        let mut note = Vec::with_capacity(16 + len);
        for w in [4u32, len as u32, NT_GNU_BUILD_ID] {
            note.extend_from_slice(&w.to_le_bytes());
        }
        note.extend_from_slice(b"GNU\0");
        note.resize(16 + len, 0);
        if let BuildId::Hex(h) = id {
            note[16..].copy_from_slice(h);
        }
        content.push((Synthetic::BuildId, note));
    }
    let mut shstrtab = vec![0u8];
    for s in &layout.sections {
        shstrtab.extend_from_slice(&s.name);
        shstrtab.push(0);
    }
    content.push((Synthetic::ShStrTab, shstrtab));

    (content, rela_dyn)
}

/// Where each finished synthetic section goes in the file; each must have its planned size.
fn placed_synthetic(layout: &Layout, content: Vec<(Synthetic, Vec<u8>)>) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut placed = Vec::with_capacity(content.len());
    for (kind, bytes) in content {
        let Some(sec) = layout.section(kind) else { continue };
        if bytes.len() as u64 != sec.size {
            return Err(Error::Usage(format!(
                "internal error: {} is {} bytes, {} were planned",
                String::from_utf8_lossy(&sec.name),
                bytes.len(),
                sec.size
            )));
        }
        placed.push((sec.offset, bytes));
    }
    Ok(placed)
}

/// The end of `.rela.dyn`, after the input sections' relocations (which the chunks of the
/// write pass write at their pre-assigned bases): the linker's own, encoded as they are made
/// (a GOT slot's relocation each: megabytes at a million slots), then the empty entries a
/// relink may use (`layout::relative_room`).
struct RelaDynTail {
    bytes: Vec<u8>,
}

impl RelaDynTail {
    fn new(layout: &Layout) -> Self {
        let inputs = 24 * layout.dynrel_sections_total as u64;
        let size = layout.section(Synthetic::RelaDyn).map_or(0, |s| s.size.saturating_sub(inputs));
        RelaDynTail { bytes: Vec::with_capacity(size as usize) }
    }

    fn push(&mut self, d: DynRel) {
        let at = self.bytes.len();
        self.bytes.resize(at + 24, 0);
        put_relas(&mut self.bytes[at..], &[d]);
    }

    /// Where the tail goes in the file, and its bytes, room included.
    fn finish(mut self, layout: &Layout) -> Result<Option<(u64, Vec<u8>)>> {
        let Some(sec) = layout.section(Synthetic::RelaDyn) else { return Ok(None) };
        let inputs = 24 * layout.dynrel_sections_total as u64;
        if inputs + self.bytes.len() as u64 > sec.size {
            return Err(Error::Usage(format!(
                "internal error: {} dynamic relocations, room was planned for {}",
                (inputs + self.bytes.len() as u64) / 24,
                sec.size / 24
            )));
        }
        self.bytes.resize((sec.size - inputs) as usize, 0);
        Ok(Some((sec.offset + inputs, self.bytes)))
    }
}

fn rela_bytes(list: &[DynRel]) -> Vec<u8> {
    let mut out = vec![0u8; 24 * list.len()];
    put_relas(&mut out, list);
    out
}

/// Writes Elf64_Rela entries from the start of `out`, which layout sized for them (from the
/// scan's counts): more would write over the next input's entries.
fn put_relas(out: &mut [u8], list: &[DynRel]) {
    assert!(out.len() >= 24 * list.len(), "{} dynamic relocations where layout made room for fewer", list.len());
    for (slot, d) in out.chunks_exact_mut(24).zip(list) {
        slot[0..8].copy_from_slice(&d.offset.to_le_bytes());
        slot[8..16].copy_from_slice(&(((d.sym as u64) << 32) | d.r_type as u64).to_le_bytes());
        slot[16..24].copy_from_slice(&d.addend.to_le_bytes());
    }
}

/// The value a debug section's reference to discarded code gets: 0, but 1 in range and
/// location lists, where 0 would end the list.
pub(crate) fn tombstone(section_name: &[u8]) -> u64 {
    u64::from(section_name == b".debug_ranges" || section_name == b".debug_loc")
}

/// Writes one Elf64_Sym into a 24-byte slot.
fn put_sym(slot: &mut [u8], name: u32, info: u8, other: u8, shndx: u16, value: u64, size: u64) {
    slot[0..4].copy_from_slice(&name.to_le_bytes());
    slot[4] = info;
    slot[5] = other;
    slot[6..8].copy_from_slice(&shndx.to_le_bytes());
    slot[8..16].copy_from_slice(&value.to_le_bytes());
    slot[16..24].copy_from_slice(&size.to_le_bytes());
}

/// Output section index and value of a defined symbol, for symbol tables.
fn symbol_location(link: &Link<'_>, layout: &Layout, id: SymbolId) -> (u16, u64) {
    let addr = symbol_address(link, layout, id);
    let def_id = link.res.resolved[id as usize];
    let shndx_of = |s: Synthetic| layout.section(s).map_or(SHN_ABS, |o| o.shndx as u16);
    match link.def(id) {
        Def::Section { file, section, sym, .. } => {
            let shndx = match layout.placement[file as usize][section as usize] {
                Placement::At { out, .. } | Placement::Merged { out, .. } | Placement::EhFrame { out, .. } => {
                    layout.sections[out as usize].shndx as u16
                }
                Placement::None => SHN_ABS,
            };
            let value = if sym.st_type() == STT_TLS { addr.wrapping_sub(layout.tls_start) } else { addr };
            (shndx, value)
        }
        Def::Common { .. } => (shndx_of(Synthetic::Commons), addr),
        Def::Internal(_) => {
            // `__start_X`/`__stop_X` belong to X even where an empty section starts at the
            // same address or the next one starts at X's end.
            let named = start_stop_section(link.symbol_name(id))
                .and_then(|name| layout.sections.iter().find(|s| s.name == name && s.is_alloc()));
            let shndx = named
                .or_else(|| {
                    layout.sections.iter().find(|s| s.is_alloc() && addr >= s.addr && addr < s.addr + s.size.max(1))
                })
                .map_or(SHN_ABS, |s| s.shndx as u16);
            (shndx, addr)
        }
        Def::Absolute { value, .. } => (SHN_ABS, value),
        Def::Shared { .. } if layout.copies.contains_key(&def_id) => (shndx_of(Synthetic::CopyRel), addr),
        _ => (SHN_UNDEF, 0),
    }
}

fn dynsym_bytes(link: &Link<'_>, scan: &ScanResult, layout: &Layout, dynamic: &DynamicTables) -> Vec<u8> {
    let mut out = vec![0u8; 24 * (dynamic.symbols.len() + 1)];
    for ((i, &id), slot) in dynamic.symbols.iter().enumerate().zip(out[24..].chunks_mut(24)) {
        let (info, other, size) = symbol_attributes(link, layout, id);
        let (mut shndx, mut value) = symbol_location(link, layout, id);
        if let Def::Shared { .. } = link.def(id)
            && !layout.copies.contains_key(&id)
        {
            shndx = SHN_UNDEF;
            value =
                if scan.flags[id as usize] & flags::CANONICAL_PLT != 0 { layout.plt_addr(id).unwrap_or(0) } else { 0 };
        }
        put_sym(slot, dynamic.name_offsets[i], info, other, shndx, value, size);
    }
    out
}

/// A symbol's info (binding and type), visibility and size in `.symtab` and `.dynsym`.
fn symbol_attributes(link: &Link<'_>, layout: &Layout, id: SymbolId) -> (u8, u8, u64) {
    match link.def(id) {
        // A library's symbol stays undefined here unless it is copied in. Like GNU ld and
        // lld: weak only if every reference is (a strong one must fail to load if the
        // library lacks it, whatever the library's own binding), size 0, and a function
        // where the library has an IFUNC (which is the library's business).
        Def::Shared { sym, .. } if !layout.copies.contains_key(&id) => {
            let strong = link.res.names.get(link.symbol_name(id)).is_some_and(|e| e.strong_ref);
            let bind = if strong { STB_GLOBAL } else { STB_WEAK };
            let kind = if sym.st_type() == STT_GNU_IFUNC { STT_FUNC } else { sym.st_type() };
            ((bind << 4) | kind, sym.st_other & 3, 0)
        }
        Def::Section { sym, .. } | Def::Absolute { sym, .. } | Def::Shared { sym, .. } => {
            let bind = if sym.st_bind() == STB_LOCAL {
                STB_LOCAL
            } else if sym.st_bind() == STB_WEAK {
                STB_WEAK
            } else {
                STB_GLOBAL
            };
            ((bind << 4) | sym.st_type(), sym.st_other & 3, sym.st_size(E))
        }
        Def::Common { sym, .. } => (
            (STB_GLOBAL << 4) | STT_OBJECT,
            0,
            link.res.names.get(link.symbol_name(id)).map_or(sym.st_size(E), |e| e.common_size),
        ),
        // Encapsulation symbols are protected, as GNU ld and lld make them by default
        // (`-z start-stop-visibility=protected`); the linker's other symbols are hidden.
        Def::Internal(_) if start_stop_section(link.symbol_name(id)).is_some() => {
            ((STB_GLOBAL << 4) | STT_NOTYPE, STV_PROTECTED, 0)
        }
        Def::Internal(_) => ((STB_GLOBAL << 4) | STT_NOTYPE, STV_HIDDEN, 0),
        Def::Undefined { weak } => (((if weak { STB_WEAK } else { STB_GLOBAL }) << 4) | STT_NOTYPE, 0, 0),
    }
}

/// `.symtab` and `.strtab`, made and written run by run in parallel (each entry depends only
/// on its symbol), each run hashed for the build id while it is in cache: neither table is
/// ever held whole.
fn write_symbol_tables(
    link: &Link<'_>,
    layout: &Layout,
    file: &std::fs::File,
    path: &Path,
    hash: bool,
) -> Result<Vec<WrittenRange>> {
    use std::os::unix::fs::FileExt;
    let (Some(plan), Some(symtab), Some(strtab)) =
        (&layout.symtab, layout.section(Synthetic::SymTab), layout.section(Synthetic::StrTab))
    else {
        return Ok(Vec::new());
    };
    let runs = plan.runs();
    let (slots, names) = runs.last().map_or((1, 1), |r| (r.slots.end, r.names.end));
    if (24 * slots) as u64 != symtab.size || names as u64 != strtab.size {
        return Err(Error::Usage("internal error: .symtab or .strtab is not the size planned".into()));
    }
    let written: Vec<Result<[WrittenRange; 2]>> = runs
        .par_iter()
        .map_init(Vec::new, |buf: &mut Vec<u8>, run| {
            buf.clear();
            buf.resize(24 * run.slots.len(), 0);
            let first = run.slots.len() - run.entries.len();
            for (k, (slot, (id, name, _))) in buf[24 * first..].chunks_mut(24).zip(plan.entries(run)).enumerate() {
                let (mut info, other, size) = symbol_attributes(link, layout, id);
                if run.entries.start + k < plan.first_global {
                    info = (STB_LOCAL << 4) | (info & 0xf);
                } else if info >> 4 == STB_LOCAL {
                    info = (STB_GLOBAL << 4) | (info & 0xf);
                }
                let (shndx, value) = symbol_location(link, layout, id);
                put_sym(slot, name, info, other, shndx, value, size);
            }
            let at = symtab.offset + 24 * run.slots.start as u64;
            file.write_all_at(buf, at).map_err(|e| Error::io(path, e))?;
            let entries_range = WrittenRange::of(at, buf, hash);
            buf.clear();
            plan.write_names(run, buf);
            let at = strtab.offset + run.names.start as u64;
            file.write_all_at(buf, at).map_err(|e| Error::io(path, e))?;
            Ok([entries_range, WrittenRange::of(at, buf, hash)])
        })
        .collect();
    let mut ranges = Vec::with_capacity(2 * written.len());
    for pair in written {
        ranges.extend(pair?);
    }
    Ok(ranges)
}

/// The ELF header with the program headers after it, and the section header table: where
/// each goes in the file and its bytes.
fn headers(link: &Link<'_>, layout: &Layout) -> [(u64, Vec<u8>); 2] {
    let shoff = align_up(
        layout
            .sections
            .iter()
            .map(|s| if s.sh_type == SHT_NOBITS { s.offset } else { s.offset + s.size })
            .max()
            .unwrap_or(0),
        8,
    );
    let shstrndx = layout.synthetic.get(&Synthetic::ShStrTab).map_or(0, |&i| layout.sections[i as usize].shndx);
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&[
        0x7f,
        b'E',
        b'L',
        b'F',
        ELFCLASS64,
        ELFDATA2LSB,
        EV_CURRENT,
        ELFOSABI_NONE,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    let e_type = if link.output.pic { ET_DYN } else { ET_EXEC };
    h.extend_from_slice(&e_type.to_le_bytes());
    h.extend_from_slice(&EM_X86_64.to_le_bytes());
    h.extend_from_slice(&(EV_CURRENT as u32).to_le_bytes());
    h.extend_from_slice(&layout.entry.to_le_bytes());
    h.extend_from_slice(&64u64.to_le_bytes());
    h.extend_from_slice(&shoff.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, layout.segments.len() as u16, 64, layout.sections.len() as u16 + 1, shstrndx as u16] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    for s in &layout.segments {
        h.extend_from_slice(&s.p_type.to_le_bytes());
        h.extend_from_slice(&s.flags.to_le_bytes());
        for v in [s.offset, s.addr, s.addr, s.filesz, s.memsz, s.align] {
            h.extend_from_slice(&v.to_le_bytes());
        }
    }
    let link_of = |s: &OutputSection| -> (u32, u32) {
        let idx = |k: Synthetic| layout.synthetic.get(&k).map_or(0, |&i| layout.sections[i as usize].shndx);
        match s.contents {
            Contents::Synthetic(Synthetic::DynSym) => (idx(Synthetic::DynStr), layout.dynamic.first_defined as u32 + 1),
            Contents::Synthetic(Synthetic::SymTab) => {
                (idx(Synthetic::StrTab), layout.symtab.as_ref().map_or(0, |p| p.first_global as u32 + 1))
            }
            Contents::Synthetic(Synthetic::GnuHash | Synthetic::SysvHash | Synthetic::VerSym | Synthetic::RelaDyn) => {
                (idx(Synthetic::DynSym), 0)
            }
            Contents::Synthetic(Synthetic::RelaPlt) => {
                (if link.output.dynamic { idx(Synthetic::DynSym) } else { 0 }, idx(Synthetic::GotPlt))
            }
            Contents::Synthetic(Synthetic::VerNeed) => (idx(Synthetic::DynStr), layout.dynamic.verneed.len() as u32),
            Contents::Synthetic(Synthetic::VerDef) => (idx(Synthetic::DynStr), layout.dynamic.verdef.len() as u32),
            Contents::Synthetic(Synthetic::Dynamic) => (idx(Synthetic::DynStr), 0),
            _ => (0, 0),
        }
    };
    let mut sh = vec![0u8; 64];
    let mut name_off = 1u32;
    for s in &layout.sections {
        let (l, info) = link_of(s);
        sh.extend_from_slice(&name_off.to_le_bytes());
        sh.extend_from_slice(&s.sh_type.to_le_bytes());
        for v in [s.flags, s.addr, s.offset, s.size] {
            sh.extend_from_slice(&v.to_le_bytes());
        }
        sh.extend_from_slice(&l.to_le_bytes());
        sh.extend_from_slice(&info.to_le_bytes());
        sh.extend_from_slice(&s.align.to_le_bytes());
        sh.extend_from_slice(&s.entsize.to_le_bytes());
        name_off += s.name.len() as u32 + 1;
    }
    [(0, h), (shoff, sh)]
}

/// Fills in the build id note's descriptor. For the hashed kinds, the id is a digest of the
/// whole output with the descriptor zeroed: of the digests of the ranges as they were
/// written (`hashed`, in any order) and of the zeros between them.
fn write_build_id(
    layout: &Layout,
    file: &std::fs::File,
    path: &Path,
    id: &BuildId,
    hashed: &[WrittenRange],
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let Some(note) = layout.section(Synthetic::BuildId) else { return Ok(()) };
    let len = build_id_len(id);
    let digest: Vec<u8> = match id {
        BuildId::Hex(_) => return Ok(()),
        BuildId::Uuid => {
            let mut v = vec![0u8; 16];
            if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
                use std::io::Read;
                let _ = f.read_exact(&mut v);
            }
            v[6] = (v[6] & 0x0f) | 0x40;
            v[8] = (v[8] & 0x3f) | 0x80;
            v
        }
        // Like lld, a tree hash: the file in ranges hashed in parallel (each while it was
        // written), then the list of their digests in file order, by BLAKE3. The ranges
        // depend only on the layout, so the id is a function of the output's bytes. The id
        // only has to be unique (lld's default is a 64-bit xxHash; mold uses SHA-256 for
        // every kind): ranges are hashed with XXH3-128, several times faster than SHA-1 or
        // BLAKE3, and the id takes the length of the kind asked for.
        BuildId::Sha1 | BuildId::Md5 | BuildId::Fast => tree_hash(hashed),
    };
    file.write_all_at(&digest[..len], note.offset + 16).map_err(|e| Error::io(path, e))
}

/// Every range of the file a tree-hash build id covers, in file order: those written and the
/// padding between them (zeros), cut into chunks of [`CHUNK_BYTES`]. A whole chunk of zeros
/// is hashed once for all (the room after the debug sections is megabytes:
/// `layout::growth_room`), and a relink that writes into a gap hashes again only the chunks
/// it wrote.
fn tree_hash_ranges(mut ranges: Vec<WrittenRange>, gaps: &[(u64, u64)]) -> Vec<WrittenRange> {
    let mut whole_chunk = None;
    for &(at, len) in gaps {
        let end = at + len;
        let mut start = at;
        while start < end {
            let len = (end - start).min(CHUNK_BYTES);
            let digest = match len {
                CHUNK_BYTES => *whole_chunk.get_or_insert_with(|| zeros_digest(CHUNK_BYTES)),
                _ => zeros_digest(len),
            };
            ranges.push(WrittenRange { at: start, len, digest });
            start += len;
        }
    }
    ranges.sort_unstable_by_key(|r| r.at);
    ranges
}

/// The build id of a file hashed in `ranges` (file order): BLAKE3 of their digests.
pub fn tree_hash(ranges: &[WrittenRange]) -> Vec<u8> {
    let digests: Vec<[u8; 16]> = ranges.iter().map(|r| r.digest.to_le_bytes()).collect();
    blake3::hash(digests.as_flattened()).as_bytes().to_vec()
}

/// The digest of `len` zero bytes.
fn zeros_digest(len: u64) -> u128 {
    let mut hasher = twox_hash::XxHash3_128::new();
    zeros(len).for_each(|bytes| hasher.write(bytes));
    hasher.finish_128()
}
