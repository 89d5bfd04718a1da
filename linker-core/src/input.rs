//! Input files: mapping them once, telling their kinds apart, finding `-l` libraries, expanding
//! the GNU ld scripts that system libraries ship as `.so` files, and opening archive members.
//!
//! Every input's bytes live in a [`FileArena`] for the whole link, so parsed objects borrow
//! them (`&'d [u8]`) without copies, and an input can be added while others are already parsed.

use crate::archive;
use crate::args::{Config, InputKind, Modifiers};
use crate::error::{Error, Result};
use crate::script;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Owns the memory maps of all inputs. Mapped bytes never move and are never unmapped before
/// the arena is dropped, so slices handed out live as long as the arena.
#[derive(Default)]
pub struct FileArena {
    maps: Mutex<Vec<(memmap2::Mmap, FileStamp, PathBuf)>>,
    /// Bytes made during the link that live as long as the inputs (inflated sections).
    made: Mutex<Vec<Box<[u8]>>>,
}

/// Asks the kernel to map `bytes`, part of an input, in one call (`MADV_POPULATE_READ`)
/// rather than fault it in page by page as the link reads it. On the VMs rivet is measured
/// on, tmpfs maps 16 pages per fault for files it wrote recently but only one for files that
/// have been cached a while (the change comes after a quarter of an hour to an hour, with no
/// cause found), and a fault costs about 2 µs: populating costs half as much. Slices under
/// 32 KiB are left alone; a kernel without the advice ignores it.
pub fn populate(bytes: &[u8]) {
    const MIN_BYTES: usize = 32 << 10;
    const PAGE: usize = 4096;
    if bytes.len() < MIN_BYTES {
        return;
    }
    let start = bytes.as_ptr() as usize & !(PAGE - 1);
    let end = bytes.as_ptr() as usize + bytes.len();
    // SAFETY: advice on part of a read-only mapping this process owns; it reads nothing.
    unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_POPULATE_READ) };
}

/// Asks the CPU to bring `items` into its caches, a line at a time, without waiting for them.
/// For a table that is about to be read out of order (string tables: compilers sort names
/// for tail sharing, so consecutive symbols' and sections' names are far apart; a file's
/// symbol addresses, for its debug relocations), this turns a cache miss per read into one
/// sequential read.
pub fn prefetch<T>(items: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = items.as_ptr().cast::<i8>();
        for offset in (0..std::mem::size_of_val(items)).step_by(64) {
            // SAFETY: a hint about memory inside `items`; it reads nothing and cannot fault.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(start.add(offset)) };
        }
    }
}

/// A file as it was mapped: its device and inode (the same file under any name), size and
/// modification time (the same stamp means the same contents, as make and cargo assume).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileStamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: u64,
}

impl FileStamp {
    pub fn of(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        let mtime_ns = (meta.mtime() as u64).wrapping_mul(1_000_000_000).wrapping_add(meta.mtime_nsec() as u64);
        FileStamp { dev: meta.dev(), ino: meta.ino(), size: meta.size(), mtime_ns }
    }

    pub fn of_path(path: &Path) -> Option<FileStamp> {
        std::fs::metadata(path).ok().map(|m| FileStamp::of(&m))
    }

    pub fn same_file(&self, other: &FileStamp) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }
}

impl FileArena {
    /// Maps `path` for the rest of the link; returns its bytes and its stamp as mapped.
    pub fn map(&self, path: &Path) -> Result<(&[u8], FileStamp)> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        // SAFETY: the mapping is private and read-only; like every linker we assume inputs are
        // not truncated while we link.
        let map = unsafe { memmap2::MmapOptions::new().len(meta.len() as usize).map(&file) }
            .map_err(|e| Error::io(path, e))?;
        let bytes: *const [u8] = &map[..];
        let stamp = FileStamp::of(&meta);
        self.maps.lock().unwrap_or_else(|p| p.into_inner()).push((map, stamp, path.to_path_buf()));
        // SAFETY: the mapping's address is fixed and it lives until the arena drops.
        Ok((unsafe { &*bytes }, stamp))
    }

    /// Keeps `bytes` for as long as the inputs.
    pub fn keep(&self, bytes: Vec<u8>) -> &[u8] {
        let boxed = bytes.into_boxed_slice();
        let kept: *const [u8] = &*boxed;
        self.made.lock().unwrap_or_else(|p| p.into_inner()).push(boxed);
        // SAFETY: a box's contents never move, and it lives until the arena drops.
        unsafe { &*kept }
    }

    /// Whether `file` is one of the mapped inputs.
    pub fn holds(&self, file: &FileStamp) -> bool {
        self.maps.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|(_, mapped, _)| mapped.same_file(file))
    }

    /// Every file mapped so far with its stamp and bytes, in the order they were mapped.
    pub fn files(&self) -> Vec<(PathBuf, FileStamp, &[u8])> {
        let maps = self.maps.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: as in `map`: mappings live, unmoved, until the arena drops.
        maps.iter().map(|(map, stamp, path)| (path.clone(), *stamp, unsafe { &*(&map[..] as *const [u8]) })).collect()
    }

    /// The path of every file mapped so far, in the order they were mapped, each once.
    pub fn paths(&self) -> Vec<PathBuf> {
        let maps = self.maps.lock().unwrap_or_else(|p| p.into_inner());
        let mut seen = std::collections::HashSet::new();
        maps.iter().map(|(_, _, path)| path.clone()).filter(|path| seen.insert(path.clone())).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Object,
    SharedObject,
    Archive,
    Script,
    Unknown,
    /// Only stat'ed ([`load_inputs_unread`]): no bytes yet, kind not known.
    Unread,
}

pub fn identify(bytes: &[u8]) -> FileKind {
    if bytes.starts_with(b"\x7fELF") {
        if bytes.len() >= 18 {
            return match u16::from_le_bytes([bytes[16], bytes[17]]) {
                object::elf::ET_REL => FileKind::Object,
                object::elf::ET_DYN => FileKind::SharedObject,
                _ => FileKind::Unknown,
            };
        }
        return FileKind::Unknown;
    }
    if archive::is_archive(bytes) {
        return FileKind::Archive;
    }
    if script::looks_like_script(bytes) {
        return FileKind::Script;
    }
    FileKind::Unknown
}

/// One loaded input, before parsing: a file named on the command line or in a script.
pub struct LoadedFile<'d> {
    pub path: PathBuf,
    pub bytes: &'d [u8],
    pub kind: FileKind,
    pub modifiers: Modifiers,
    /// Position on the command line after script expansion: the canonical order of inputs.
    pub position: u32,
    /// The file as it was mapped.
    pub stamp: FileStamp,
}

/// Maps every input named by the configuration, in command-line order, expanding `-l` and
/// linker scripts. Files are opened serially (cheap); parsing happens later, in parallel.
pub fn load_inputs<'d>(config: &Config, arena: &'d FileArena) -> Result<Vec<LoadedFile<'d>>> {
    Ok(load_inputs_reserving(config, arena, |_| false)?.0)
}

/// Like [`load_inputs`], for a check that may find the link unnecessary (`--incremental`): a
/// file whose stamp `known` accepts is only stat'ed, not opened (`FileKind::Unread`, no
/// bytes): ripgrep's 325 inputs took 3–4 ms to map and take 1.6 ms to check so, state read
/// and written included. [`read_unread`] maps them if the link goes on. `known`
/// must accept only stamps of files that were inputs themselves, never scripts, which are
/// always read and expanded.
pub fn load_inputs_unread<'d>(
    config: &Config,
    arena: &'d FileArena,
    known: &dyn Fn(&FileStamp) -> bool,
) -> Result<Vec<LoadedFile<'d>>> {
    let mut loader = Loader::new(config, arena);
    loader.known = Some(known);
    for input in &config.inputs {
        loader.add_input(&input.kind, input.modifiers)?;
    }
    Ok(loader.out)
}

/// Maps the inputs [`load_inputs_unread`] only stat'ed, as [`load_inputs`] would have. A file
/// that is no longer an object, archive or shared library (it changed meanwhile) is an error:
/// loading afresh handles it.
pub fn read_unread<'d>(arena: &'d FileArena, inputs: &mut [LoadedFile<'d>]) -> Result<()> {
    for input in inputs.iter_mut().filter(|input| input.kind == FileKind::Unread) {
        let (bytes, stamp) = arena.map(&input.path)?;
        input.kind = match identify(bytes) {
            kind @ (FileKind::Object | FileKind::SharedObject | FileKind::Archive) => kind,
            _ => return Err(Error::bad(input.path.display(), "changed while it was being loaded")),
        };
        (input.bytes, input.stamp) = (bytes, stamp);
    }
    Ok(())
}

/// An object named on the command line that does not exist yet (a codegen unit still being
/// compiled): its canonical position is held for it, and it is added with
/// [`LoadedFile::reserved_object`] when it is written.
#[derive(Clone, Debug)]
pub struct Reserved {
    pub path: PathBuf,
    pub position: u32,
    modifiers: Modifiers,
}

/// Like [`load_inputs`], except that the command-line paths `is_late` names are neither
/// opened nor looked at: each gets its position ([`Reserved`]), so the inputs after it keep
/// theirs and can be resolved before it arrives.
pub fn load_inputs_reserving<'d>(
    config: &Config,
    arena: &'d FileArena,
    is_late: impl Fn(&Path) -> bool,
) -> Result<(Vec<LoadedFile<'d>>, Vec<Reserved>)> {
    let mut loader = Loader::new(config, arena);
    let mut reserved = Vec::new();
    for input in &config.inputs {
        match &input.kind {
            InputKind::Path(path) if is_late(path) => {
                reserved.push(Reserved {
                    path: path.clone(),
                    position: loader.next_position,
                    modifiers: input.modifiers,
                });
                loader.next_position += 1;
            }
            kind => loader.add_input(kind, input.modifiers)?,
        }
    }
    Ok((loader.out, reserved))
}

impl<'d> LoadedFile<'d> {
    /// Maps the object written at `path` for the position `slot` holds.
    pub fn reserved_object(arena: &'d FileArena, slot: &Reserved, path: &Path) -> Result<LoadedFile<'d>> {
        let (bytes, stamp) = arena.map(path)?;
        if identify(bytes) != FileKind::Object {
            return Err(Error::bad(path.display(), "not an ELF relocatable object"));
        }
        Ok(LoadedFile {
            path: path.to_path_buf(),
            bytes,
            kind: FileKind::Object,
            modifiers: slot.modifiers,
            position: slot.position,
            stamp,
        })
    }
}

struct Loader<'c, 'd> {
    config: &'c Config,
    arena: &'d FileArena,
    out: Vec<LoadedFile<'d>>,
    next_position: u32,
    /// SEARCH_DIR()s from scripts, searched after -L.
    extra_dirs: Vec<PathBuf>,
    /// Stamps of files left unread ([`load_inputs_unread`]).
    known: Option<&'c dyn Fn(&FileStamp) -> bool>,
}

impl<'c, 'd> Loader<'c, 'd> {
    fn new(config: &'c Config, arena: &'d FileArena) -> Loader<'c, 'd> {
        Loader { config, arena, out: Vec::new(), next_position: 0, extra_dirs: Vec::new(), known: None }
    }

    fn add_input(&mut self, kind: &InputKind, modifiers: Modifiers) -> Result<()> {
        match kind {
            InputKind::Path(path) => self.add_path(path, modifiers, 0),
            InputKind::Library(name) => {
                let path = self.find_library(name, modifiers.link_static || self.config.link_static)?;
                self.add_path(&path, modifiers, 0)
            }
        }
    }

    fn add_path(&mut self, path: &Path, modifiers: Modifiers, depth: u32) -> Result<()> {
        if let Some(known) = self.known {
            let stamp = std::fs::metadata(path).map(|meta| FileStamp::of(&meta)).map_err(|e| Error::io(path, e))?;
            if known(&stamp) {
                let position = self.next_position;
                self.next_position += 1;
                let kind = FileKind::Unread;
                self.out.push(LoadedFile { path: path.to_path_buf(), bytes: &[], kind, modifiers, position, stamp });
                return Ok(());
            }
        }
        let (bytes, stamp) = self.arena.map(path)?;
        let kind = identify(bytes);
        if kind == FileKind::Script {
            return self.expand_script(path, bytes, modifiers, depth);
        }
        if kind == FileKind::Unknown {
            return Err(Error::bad(path.display(), "unknown file type (not an ELF object, archive or linker script)"));
        }
        let position = self.next_position;
        self.next_position += 1;
        self.out.push(LoadedFile { path: path.to_path_buf(), bytes, kind, modifiers, position, stamp });
        Ok(())
    }

    fn expand_script(&mut self, path: &Path, bytes: &[u8], modifiers: Modifiers, depth: u32) -> Result<()> {
        if depth > 8 {
            return Err(Error::bad(path.display(), "linker scripts include each other too deeply"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| Error::bad(path.display(), "linker script is not UTF-8"))?;
        let parsed = script::parse(text).map_err(|e| Error::bad(path.display(), e.to_string()))?;
        let dirs = parsed.search_dirs.iter().map(|dir| match &self.config.chroot {
            Some(root) => crate::args::inside_root(root, dir),
            None => dir.clone(),
        });
        self.extra_dirs.extend(dirs);
        for input in &parsed.inputs {
            let mut m = modifiers;
            m.as_needed |= input.as_needed;
            let resolved = match &input.name {
                script::ScriptInputName::Library(name) => self.find_library(name, m.link_static)?,
                script::ScriptInputName::Path(p) => self.script_path(path, p)?,
            };
            self.add_path(&resolved, m, depth + 1)?;
        }
        Ok(())
    }

    /// Paths in scripts: absolute ones are taken inside the sysroot when the script is; others
    /// are tried relative to the current directory, then in the search paths.
    fn script_path(&self, script: &Path, p: &Path) -> Result<PathBuf> {
        if p.is_absolute() {
            if let Some(root) = &self.config.chroot {
                return Ok(crate::args::inside_root(root, p));
            }
            if let Some(root) = &self.config.sysroot
                && script.starts_with(root)
            {
                let inside = root.join(p.strip_prefix("/").unwrap_or(p));
                if inside.exists() {
                    return Ok(inside);
                }
            }
            return Ok(p.to_path_buf());
        }
        if p.exists() {
            return Ok(p.to_path_buf());
        }
        for dir in self.search_dirs() {
            let candidate = dir.join(p);
            if candidate.exists() {
                return Ok(candidate);
            }
        }
        Err(Error::bad(script.display(), format!("cannot find {} named by the script", p.display())))
    }

    fn search_dirs(&self) -> impl Iterator<Item = &PathBuf> {
        self.config.search_paths.iter().chain(&self.extra_dirs)
    }

    fn find_library(&self, name: &str, link_static: bool) -> Result<PathBuf> {
        let candidates: Vec<String> = match name.strip_prefix(':') {
            Some(exact) => vec![exact.to_string()],
            None if link_static => vec![format!("lib{name}.a")],
            None => vec![format!("lib{name}.so"), format!("lib{name}.a")],
        };
        for dir in self.search_dirs() {
            for c in &candidates {
                let p = dir.join(c);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        Err(Error::LibraryNotFound { name: name.to_string(), searched: self.search_dirs().cloned().collect() })
    }
}

/// The bytes of an archive member: inline, or for thin archives a file next to the archive.
pub fn member_bytes<'d>(arena: &'d FileArena, archive_path: &Path, data: &archive::MemberData<'d>) -> Result<&'d [u8]> {
    match data {
        // `object` reads unaligned fields (its "unaligned" feature): archive members,
        // which sit at 2-byte offsets, are parsed in place.
        archive::MemberData::Bytes(b) => Ok(b),
        archive::MemberData::Thin { path, .. } => {
            let rel = Path::new(
                std::str::from_utf8(path)
                    .map_err(|_| Error::bad(archive_path.display(), "thin member path is not UTF-8"))?,
            );
            let full = if rel.is_absolute() {
                rel.to_path_buf()
            } else {
                archive_path.parent().unwrap_or(Path::new(".")).join(rel)
            };
            Ok(arena.map(&full)?.0)
        }
    }
}
