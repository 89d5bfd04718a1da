//! Symbol resolution.
//!
//! Every symbol of every file gets a dense [`SymbolId`]: file `f` owns the range
//! `files[f].symbol_base .. + symbol_count`, so per-symbol data lives in flat vectors and
//! threads can fill disjoint slices. Resolution maps each id to the id of the definition it
//! binds to (`resolved`): locals bind to themselves, globals to the winner in the name table.
//!
//! The name table is built in canonical file order (command-line position, then archive member
//! order), never in arrival order, so the winner of every name is deterministic. Archive
//! symbols enter the table as *lazy* entries (lld's semantics): a strong reference to a lazy
//! name pulls its member at once, whenever the reference arrives, so objects that arrive late
//! can still pull members, and `--start-group` needs no rescanning.
//!
//! Precedence: strong definition > common > weak definition > shared-library definition >
//! lazy > undefined. Two strong definitions are an error. COMDAT groups are kept from the first
//! file that has them; sections of later copies are discarded and their symbols become
//! references to the kept copy.
//!
//! Cost: resolution is the serial part of reading the inputs. It runs on the session's thread
//! as inputs come in, beside the parse jobs, which hash every global name in advance. Per
//! global symbol of an object it probes the index once (8-byte buckets: the entry's slot and
//! half that hash), compares the name on a hit (a cache miss into another input's string
//! table) and writes a 40-byte entry on a miss, into chunks that never move; per archive, a
//! lazy entry per name of its index. So it grows with global symbols and names, not with
//! bytes, and writes its memory once, which matters where fresh pages cost 0.5 to 1 ms a MB
//! to fault and zero (the VMs rivet is measured on). Sampled at 4 kHz under `perf` (three
//! runs at 2 threads, on a busy host), the session's thread took 194-357 ms of CPU on a
//! million functions in a thousand objects (2 million global symbols, 1 million names) and
//! 97-144 ms on typst-cli's debug link (234k names), within parse phases of 228-423 and
//! 220-343 ms that kept both cores busy throughout. Interning the names in the parse jobs
//! instead, with a sharded concurrent table, made the link no faster (1M functions: 652
//! against 620 ms; typst-debug: 649 against 643 ms): it was measured, then left out.

use crate::archive::Archive;
use crate::args::Modifiers;
use crate::elf::*;
use crate::error::{Error, Reference, Result, UndefinedSymbol, demangle};
use crate::hash::hash_bytes;
use crate::object_file::ObjectFile;
use crate::parallel::split_by_lengths;
use crate::sections::Prepared;
use crate::shared_object::SharedObject;
use crate::source_lines::SourceLines;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub type SymbolId = u32;
pub type FileId = u32;

pub enum FileData<'d> {
    Object(ObjectFile<'d>),
    Shared(SharedObject<'d>),
    /// Symbols the linker defines itself (`_end`, `__start_foo`, ...).
    Internal,
}

pub struct InputFile<'d> {
    pub data: FileData<'d>,
    pub symbol_base: SymbolId,
    pub symbol_count: u32,
    pub modifiers: Modifiers,
    /// Canonical order: (command-line position, archive member index + 1 or 0).
    pub order: (u32, u32),
    /// Per section: dropped because its COMDAT group was already kept elsewhere.
    pub discarded: Vec<bool>,
    /// Per global symbol of an object: its entry in the name table ([`NO_SLOT`] for nameless
    /// ones), recorded as it was entered so that binding needs no second lookup.
    pub name_slots: Vec<u32>,
    /// What the parse job prepared for layout; taken by the pipeline.
    pub prepared: Prepared<'d>,
}

/// [`InputFile::name_slots`] of a global without a name.
pub const NO_SLOT: u32 = u32::MAX;

impl<'d> InputFile<'d> {
    pub fn name(&self) -> &str {
        match &self.data {
            FileData::Object(o) => &o.name,
            FileData::Shared(s) => &s.name,
            FileData::Internal => "<internal>",
        }
    }
    pub fn object(&self) -> Option<&ObjectFile<'d>> {
        match &self.data {
            FileData::Object(o) => Some(o),
            _ => None,
        }
    }
}

pub struct ArchiveInput<'d> {
    pub archive: Archive<'d>,
    pub modifiers: Modifiers,
    pub position: u32,
    pub pulled: Vec<bool>,
    /// Members parsed ahead of time, in parallel: `None` for members that are not ELF
    /// objects (rustc's `lib.rmeta`, text files). A parse error surfaces only if the member
    /// is pulled.
    pub parsed: Vec<Option<Result<(ObjectFile<'d>, Prepared<'d>)>>>,
    /// [`hash_bytes`] of each name in the archive's symbol index, computed while parsing.
    pub symbol_hashes: Vec<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Rank {
    Undefined = 0,
    Lazy = 1,
    Shared = 2,
    Weak = 3,
    Common = 4,
    Strong = 5,
}

#[derive(Clone, Copy)]
pub struct NameEntry {
    /// The current winner; for undefined names, the first reference.
    pub def: SymbolId,
    pub rank: Rank,
    /// For `Rank::Lazy`: archive and member that define the name.
    pub lazy: (u32, u32),
    /// Referenced by a non-weak undefined symbol of an object.
    pub strong_ref: bool,
    /// Referenced by an undefined symbol of an object, weak or not.
    pub object_ref: bool,
    /// Referenced by a shared library: a definition of ours must be exported to it.
    pub dso_ref: bool,
    /// Size of the largest common definition.
    pub common_size: u64,
}

impl NameEntry {
    /// A name seen for the first time, not yet defined; `def` is its first reference (or
    /// `NO_SYMBOL`).
    fn first(def: SymbolId) -> Self {
        NameEntry {
            def,
            rank: Rank::Undefined,
            lazy: (0, 0),
            strong_ref: false,
            object_ref: false,
            dso_ref: false,
            common_size: 0,
        }
    }
}

/// The global names and what each resolves to, in order of first appearance (canonical, so
/// deterministic), in dense chunks that passes can scan or split across threads. An index
/// table finds a name by a hash computed where the name was read (objects and archive
/// indexes hash theirs while they are parsed, in parallel), so the serial resolver only
/// probes.
///
/// Each index bucket holds the entry's slot and the low half of its name's hash, from which
/// the table's own hash is derived ([`table_hash`]): growing the table rehashes from the
/// buckets alone. Reading each entry's hash instead cost a cache miss per name at every
/// doubling, 4% of a link of a million functions in a thousand objects, on the resolving
/// thread.
///
/// Entries live in chunks of [`NAME_CHUNK`] that never move, so each is written once, into
/// memory touched once: a vector that doubled copied every entry into fresh pages at each
/// growth. On that link, zeroing fresh pages for the table's inserts (the entries' vector and
/// the index growing) was 443 of 6010 `perf` samples (7%, 110 ms of CPU), on the same thread.
#[derive(Default)]
pub struct NameTable<'d> {
    index: hashbrown::HashTable<(u32, u32)>,
    chunks: Vec<Vec<(&'d [u8], NameEntry)>>,
}

const NAME_CHUNK: usize = 1 << 14;

/// The entry at `slot` of `chunks`.
fn in_chunks<'c, 'd>(chunks: &'c [Vec<(&'d [u8], NameEntry)>], slot: u32) -> &'c (&'d [u8], NameEntry) {
    &chunks[slot as usize / NAME_CHUNK][slot as usize % NAME_CHUNK]
}

/// The index's hash of a name whose [`hash_bytes`] is `hash`: its low half, spread over 64
/// bits (the index takes its bucket from the low bits and its tag from the top ones).
fn table_hash(low: u32) -> u64 {
    (low as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl<'d> NameTable<'d> {
    pub fn reserve(&mut self, additional: usize) {
        self.index.reserve(additional, |&(_, low)| table_hash(low));
    }

    fn at(&self, slot: u32) -> &(&'d [u8], NameEntry) {
        in_chunks(&self.chunks, slot)
    }

    fn at_mut(&mut self, slot: u32) -> &mut NameEntry {
        &mut self.chunks[slot as usize / NAME_CHUNK][slot as usize % NAME_CHUNK].1
    }

    fn find(&self, name: &[u8], hash: u64) -> Option<u32> {
        let low = hash as u32;
        self.index.find(table_hash(low), |&(i, l)| l == low && self.at(i).0 == name).map(|&(i, _)| i)
    }

    pub fn get(&self, name: &[u8]) -> Option<&NameEntry> {
        self.get_hashed(name, hash_bytes(name))
    }

    /// Like [`NameTable::get`], with the name's [`hash_bytes`] already known.
    pub fn get_hashed(&self, name: &[u8], hash: u64) -> Option<&NameEntry> {
        self.find(name, hash).map(|i| &self.at(i).1)
    }

    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut NameEntry> {
        self.find(name, hash_bytes(name)).map(|i| self.at_mut(i))
    }

    /// The entry of `name` (whose hash is `hash`), created as `new` if the name is new.
    pub fn entry(&mut self, name: &'d [u8], hash: u64, new: NameEntry) -> &mut NameEntry {
        self.entry_with_slot(name, hash, new).1
    }

    /// [`NameTable::entry`], and where the entry lives for [`NameTable::at_slot`].
    pub fn entry_with_slot(&mut self, name: &'d [u8], hash: u64, new: NameEntry) -> (u32, &mut NameEntry) {
        let chunks = &mut self.chunks;
        let low = hash as u32;
        let same = |&(i, l): &(u32, u32)| l == low && in_chunks(chunks, i).0 == name;
        let slot = match self.index.entry(table_hash(low), same, |&(_, l)| table_hash(l)) {
            hashbrown::hash_table::Entry::Occupied(o) => o.get().0,
            hashbrown::hash_table::Entry::Vacant(v) => {
                if chunks.last().is_none_or(|chunk| chunk.len() == NAME_CHUNK) {
                    chunks.push(Vec::with_capacity(NAME_CHUNK));
                }
                let slot = ((chunks.len() - 1) * NAME_CHUNK + chunks[chunks.len() - 1].len()) as u32;
                v.insert((slot, low));
                chunks.last_mut().expect("a chunk").push((name, new));
                slot
            }
        };
        (slot, self.at_mut(slot))
    }

    /// The name at `slot` (from [`NameTable::entry_with_slot`]).
    pub fn name_at(&self, slot: u32) -> &'d [u8] {
        self.at(slot).0
    }

    /// The entry at `slot` (from [`NameTable::entry_with_slot`]).
    pub fn at_slot(&self, slot: u32) -> &NameEntry {
        &self.at(slot).1
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'d [u8], &NameEntry)> {
        self.chunks.iter().flatten().map(|(name, e)| (*name, e))
    }

    pub fn values(&self) -> impl Iterator<Item = &NameEntry> {
        self.chunks.iter().flatten().map(|(_, e)| e)
    }

    /// [`NameTable::iter`], split across the thread pool, in order.
    pub fn par_iter(&self) -> impl ParallelIterator<Item = (&'d [u8], &NameEntry)> {
        self.chunks.par_iter().flat_map_iter(|chunk| chunk.iter().map(|(name, e)| (*name, e)))
    }

    /// [`NameTable::values`], split across the thread pool, in order.
    pub fn par_values(&self) -> impl ParallelIterator<Item = &NameEntry> {
        self.chunks.par_iter().flat_map_iter(|chunk| chunk.iter().map(|(_, e)| e))
    }
}

/// The state of resolution, built up as inputs are added.
#[derive(Default)]
pub struct Resolver<'d> {
    pub files: Vec<InputFile<'d>>,
    pub archives: Vec<ArchiveInput<'d>>,
    pub names: NameTable<'d>,
    comdat: FxHashMap<&'d [u8], FileId>,
    next_symbol: SymbolId,
    errors: Vec<Error>,
    /// `--wrap`: the name (and its hash) an object's undefined reference binds to instead of
    /// its own: `sym` to `__wrap_sym`, `__real_sym` to `sym`. Definitions keep their names.
    pub wrapped: FxHashMap<&'d [u8], (&'d [u8], u64)>,
}

pub const NO_SYMBOL: SymbolId = u32::MAX;

impl<'d> Resolver<'d> {
    /// Adds a parsed file (object or shared library) and resolves its symbols.
    pub fn add_file(
        &mut self,
        data: FileData<'d>,
        prepared: Prepared<'d>,
        modifiers: Modifiers,
        order: (u32, u32),
    ) -> Result<()> {
        let symbol_count = match &data {
            FileData::Object(o) => o.symbols.len() as u32,
            FileData::Shared(s) => s.symbols.len() as u32,
            FileData::Internal => 0,
        };
        let file_id = self.files.len() as FileId;
        let symbol_base = self.next_symbol;
        self.next_symbol = self
            .next_symbol
            .checked_add(symbol_count)
            .ok_or_else(|| Error::Usage("too many symbols (more than 2^32)".into()))?;
        let discarded = match &data {
            FileData::Object(o) => vec![false; o.sections.len()],
            _ => Vec::new(),
        };
        self.files.push(InputFile {
            data,
            symbol_base,
            symbol_count,
            modifiers,
            order,
            discarded,
            name_slots: Vec::new(),
            prepared,
        });
        match &self.files[file_id as usize].data {
            FileData::Object(_) => self.add_object_symbols(file_id),
            FileData::Shared(_) => self.add_shared_symbols(file_id),
            FileData::Internal => Ok(()),
        }
    }

    /// Registers an archive: whole-archive members are added now, the rest become lazy names.
    pub fn add_archive(&mut self, archive: ArchiveInput<'d>) -> Result<()> {
        let index = self.archives.len() as u32;
        let whole = archive.modifiers.whole_archive;
        let members = archive.archive.members.len();
        self.archives.push(archive);
        if whole {
            for m in 0..members {
                self.pull_member(index, m as u32)?;
            }
            return Ok(());
        }
        // Most of an archive's names end up in the table: grow it once, not by doubling.
        self.names.reserve(self.archives[index as usize].archive.symbols.len());
        let archive = &self.archives[index as usize];
        let symbols: Vec<(&'d [u8], u32, u64)> =
            archive.archive.symbols.iter().zip(&archive.symbol_hashes).map(|(s, &h)| (s.name, s.member, h)).collect();
        for (name, member, hash) in symbols {
            let entry = self.names.entry(name, hash, NameEntry::first(NO_SYMBOL));
            match entry.rank {
                Rank::Undefined if entry.strong_ref => self.pull_member(index, member)?,
                Rank::Undefined => {
                    entry.rank = Rank::Lazy;
                    entry.lazy = (index, member);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A `-u` symbol: an undefined reference that pulls archive members like any other.
    pub fn add_undefined(&mut self, name: &'d [u8]) -> Result<()> {
        let entry = self.names.entry(name, hash_bytes(name), NameEntry::first(NO_SYMBOL));
        entry.strong_ref = true;
        if entry.rank == Rank::Lazy {
            let (a, m) = entry.lazy;
            self.pull_member(a, m)?;
        }
        Ok(())
    }

    fn pull_member(&mut self, archive: u32, member: u32) -> Result<()> {
        let a = &mut self.archives[archive as usize];
        if a.pulled[member as usize] {
            return Ok(());
        }
        a.pulled[member as usize] = true;
        let (modifiers, position) = (a.modifiers, a.position);
        match a.parsed[member as usize].take() {
            Some(parsed) => {
                let (object, prepared) = parsed?;
                self.add_file(FileData::Object(object), prepared, modifiers, (position, member + 1))
            }
            None => Ok(()),
        }
    }

    fn add_object_symbols(&mut self, file_id: FileId) -> Result<()> {
        let mut discarded = std::mem::take(&mut self.files[file_id as usize].discarded);
        let files = &self.files;
        let file = &files[file_id as usize];
        let FileData::Object(obj) = &file.data else { return Ok(()) };
        let base = file.symbol_base;
        // COMDAT: the first file with a group signature keeps it.
        for group in &obj.groups {
            let kept = *self.comdat.entry(group.signature).or_insert(file_id);
            if kept != file_id {
                for &m in &group.members {
                    discarded[m as usize] = true;
                }
            }
        }
        let mut pulls = Vec::new();
        let mut name_slots = vec![NO_SLOT; obj.global_count()];
        for i in obj.first_global..obj.symbols.len() {
            let sym = obj.symbol(i);
            let id = base + i as u32;
            let shndx = obj.symbol_section(i);
            let (name, hash) = obj.global_name(i);
            if name.is_empty() {
                continue;
            }
            let weak = sym.st_bind() == STB_WEAK;
            let rank = if shndx == SHN_UNDEF as u32 || discarded.get(shndx as usize).copied().unwrap_or(false) {
                Rank::Undefined
            } else if shndx == SHN_COMMON as u32 {
                Rank::Common
            } else if weak {
                Rank::Weak
            } else {
                Rank::Strong
            };
            let (name, hash) = match rank {
                Rank::Undefined if !self.wrapped.is_empty() => self.wrapped.get(name).copied().unwrap_or((name, hash)),
                _ => (name, hash),
            };
            let (slot, entry) = self.names.entry_with_slot(name, hash, NameEntry::first(id));
            name_slots[i - obj.first_global] = slot;
            if rank == Rank::Undefined {
                entry.object_ref = true;
                if !weak {
                    entry.strong_ref = true;
                    if entry.rank == Rank::Lazy {
                        pulls.push(entry.lazy);
                    }
                }
                if entry.def == NO_SYMBOL {
                    entry.def = id;
                }
                continue;
            }
            if rank == Rank::Common {
                entry.common_size = entry.common_size.max(sym.st_size(E));
            }
            if rank == Rank::Strong && entry.rank == Rank::Strong {
                let first = file_of(files, entry.def);
                self.errors.push(Error::Duplicate {
                    symbol: demangle(name),
                    first: files[first as usize].name().to_string(),
                    second: obj.name.clone(),
                });
                continue;
            }
            let better = rank > entry.rank
                || (rank == Rank::Common
                    && entry.rank == Rank::Common
                    && sym.st_size(E) > common_size_of(files, entry.def));
            if better {
                entry.def = id;
                entry.rank = rank;
            }
        }
        self.files[file_id as usize].discarded = discarded;
        self.files[file_id as usize].name_slots = name_slots;
        for (archive, member) in pulls {
            self.pull_member(archive, member)?;
        }
        Ok(())
    }

    fn add_shared_symbols(&mut self, file_id: FileId) -> Result<()> {
        let file = &self.files[file_id as usize];
        let FileData::Shared(so) = &file.data else { return Ok(()) };
        let base = file.symbol_base;
        for i in 1..so.symbols.len() {
            let sym = so.symbol(i);
            if sym.st_bind() == STB_LOCAL {
                continue;
            }
            let name = so.symbol_name(i);
            let entry = self.names.entry(name, hash_bytes(name), NameEntry::first(NO_SYMBOL));
            // Referenced or defined by a library: our definition must be exported so that
            // the library binds to it (interposition).
            entry.dso_ref = true;
            if sym.st_shndx(E) == SHN_UNDEF {
                continue;
            }
            if !so.is_default_version(i) {
                continue;
            }
            if entry.rank < Rank::Shared {
                entry.def = base + i as u32;
                entry.rank = Rank::Shared;
            }
        }
        Ok(())
    }

    pub fn file_of(&self, id: SymbolId) -> FileId {
        file_of(&self.files, id)
    }

    /// Ends resolution: binds linker-defined names, reports undefined symbols (unless they may
    /// stay undefined) and returns the definition of every symbol id.
    pub fn finish(
        mut self,
        internal_names: &dyn Fn(&[u8]) -> bool,
        defsyms: &[&'d [u8]],
        may_stay_undefined: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> Result<Resolution<'d>> {
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        // Linker-defined symbols: bind every undefined name the linker can provide.
        let mut internal: Vec<&'d [u8]> = self
            .names
            .iter()
            .filter(|(name, e)| e.rank <= Rank::Lazy && internal_names(name))
            .map(|(name, _)| name)
            .collect();
        // --defsym defines its symbol whether or not anything refers to it, and wins over
        // definitions in inputs.
        for &name in defsyms {
            self.names.entry(name, hash_bytes(name), NameEntry::first(NO_SYMBOL));
            internal.push(name);
        }
        internal.sort_unstable();
        internal.dedup();
        let internal_base = self.next_symbol;
        for (i, name) in internal.iter().enumerate() {
            let e = self.names.get_mut(name).expect("name from the table");
            e.def = internal_base + i as u32;
            e.rank = Rank::Strong;
        }
        let internal_file = self.files.len() as FileId;
        self.files.push(InputFile {
            data: FileData::Internal,
            symbol_base: internal_base,
            symbol_count: internal.len() as u32,
            modifiers: Modifiers::default(),
            order: (u32::MAX, 0),
            discarded: Vec::new(),
            name_slots: Vec::new(),
            prepared: Prepared::default(),
        });
        let total = internal_base as usize + internal.len();

        // Bind every object's globals, in parallel over files: each file owns the slice of
        // `resolved` for its id range.
        let mut resolved: Vec<SymbolId> = vec![0; total];
        let names = &self.names;
        let slices = split_by_lengths(&mut resolved, self.files.iter().map(|f| f.symbol_count as usize));
        let undefined: Vec<(&'d [u8], SymbolId)> = self
            .files
            .par_iter()
            .zip(slices)
            .flat_map_iter(|(file, out)| {
                // Locals (and globals left unbound) stand for themselves.
                for (i, id) in out.iter_mut().enumerate() {
                    *id = file.symbol_base + i as u32;
                }
                let mut undefined = Vec::new();
                if let FileData::Object(obj) = &file.data {
                    for i in obj.first_global..obj.symbols.len() {
                        let slot = file.name_slots.get(i - obj.first_global).copied().unwrap_or(NO_SLOT);
                        if slot == NO_SLOT {
                            continue;
                        }
                        let entry = names.at_slot(slot);
                        if entry.rank <= Rank::Lazy {
                            let name = obj.global_name(i).0;
                            if obj.symbol(i).st_bind() != STB_WEAK && !may_stay_undefined(name) {
                                undefined.push((name, file.symbol_base + i as u32));
                            }
                            continue;
                        }
                        out[i] = entry.def;
                    }
                }
                undefined
            })
            .collect();
        if !undefined.is_empty() {
            return Err(self.undefined_error(undefined));
        }
        for file in &mut self.files {
            if let FileData::Object(obj) = &mut file.data {
                obj.forget_global_names();
            }
        }
        let mut symbol_file = vec![0 as FileId; total];
        split_by_lengths(&mut symbol_file, self.files.iter().map(|f| f.symbol_count as usize))
            .into_par_iter()
            .enumerate()
            .for_each(|(f, s)| s.fill(f as FileId));
        Ok(Resolution {
            files: self.files,
            _archives: self.archives,
            names: self.names,
            resolved,
            symbol_file,
            internal,
            internal_file,
        })
    }

    /// `-y`/`--trace-symbol`: each input that defines or references one of `names`, in input
    /// order, one line each as lld prints them (`a.o: definition of f`).
    pub fn trace(&self, names: &[String]) -> String {
        let mut lines = String::new();
        for file in &self.files {
            let symbols: Vec<(&[u8], &str)> = match &file.data {
                FileData::Object(obj) => (obj.first_global..obj.symbols.len())
                    .map(|i| {
                        let what = match obj.symbol_section(i) {
                            shndx if shndx == SHN_UNDEF as u32 => "reference to",
                            shndx if shndx == SHN_COMMON as u32 => "common definition of",
                            _ => "definition of",
                        };
                        (obj.symbol_name(i), what)
                    })
                    .collect(),
                FileData::Shared(so) => (1..so.symbols.len())
                    .filter(|&i| so.symbol(i).st_bind() != STB_LOCAL)
                    .map(|i| {
                        let undefined = so.symbol(i).st_shndx(E) == SHN_UNDEF;
                        (so.symbol_name(i), if undefined { "reference to" } else { "shared definition of" })
                    })
                    .collect(),
                FileData::Internal => Vec::new(),
            };
            for (name, what) in symbols {
                if let Some(traced) = names.iter().find(|n| n.as_bytes() == name) {
                    lines.push_str(&format!("{}: {what} {traced}\n", file.name()));
                }
            }
        }
        lines
    }

    fn undefined_error(&self, list: Vec<(&[u8], SymbolId)>) -> Error {
        let mut by_name: Vec<UndefinedSymbol> = Vec::new();
        let mut index: FxHashMap<&[u8], usize> = FxHashMap::default();
        let mut lines: FxHashMap<FileId, Option<SourceLines>> = FxHashMap::default();
        for (name, id) in list {
            let file_id = self.file_of(id);
            let file = &self.files[file_id as usize];
            let slot = *index.entry(name).or_insert_with(|| {
                let hint = self.missing_crate_hint(name);
                by_name.push(UndefinedSymbol { symbol: demangle(name), referenced_by: Vec::new(), hint });
                by_name.len() - 1
            });
            let local = (id - file.symbol_base) as usize;
            let entry = &mut by_name[slot].referenced_by;
            let Some(obj) = file.object() else {
                entry.push(Reference { place: file.name().to_string(), source: None });
                continue;
            };
            let lines = lines.entry(file_id).or_insert_with(|| SourceLines::of(obj));
            let sites = referencing_sites(obj, local, lines.as_ref());
            if sites.is_empty() {
                entry.push(Reference { place: file.name().to_string(), source: None });
            }
            for (site, source) in sites {
                entry.push(Reference { place: format!("{}:({})", file.name(), site), source });
            }
        }
        Error::Undefined(by_name)
    }

    /// For a Rust symbol, when no input defines or offers anything of its crate: the crate
    /// is likely missing from the link (a dependency not declared, an rlib not passed).
    fn missing_crate_hint(&self, name: &[u8]) -> Option<String> {
        let krate = rust_crate_of(name)?;
        // Cheap filter on the mangled names (both manglings spell the crate as <len><name>),
        // then the demangled crate compared.
        let spelled = format!("{}{krate}", krate.len());
        let finder = memchr::memmem::Finder::new(spelled.as_bytes());
        let present = self.names.iter().any(|(other, entry)| {
            entry.rank > Rank::Undefined
                && finder.find(other).is_some()
                && rust_crate_of(other).as_deref() == Some(krate.as_str())
        });
        (!present).then(|| {
            format!("no input has anything of the crate `{krate}`: is it missing from the dependencies or the link?")
        })
    }
}

/// The crate a Rust symbol's path starts in (`<crate::Type as …>` and `crate::f` alike).
fn rust_crate_of(name: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(name).ok()?;
    let demangled = format!("{:#}", rustc_demangle::try_demangle(text).ok()?);
    let path = demangled.trim_start_matches('<');
    let krate = &path[..path.find("::")?];
    (!krate.is_empty() && krate.chars().all(|c| c.is_alphanumeric() || c == '_')).then(|| krate.to_string())
}

/// Where symbol `index` is used, for undefined-symbol reports: per relocation, the function or
/// object it lies in (demangled, as lld names it), else its section, with its source line when
/// `lines` has it; each place once, in section order. Only an error takes this path, so it may
/// walk the symbol table.
fn referencing_sites(obj: &ObjectFile<'_>, index: usize, lines: Option<&SourceLines>) -> Vec<(String, Option<String>)> {
    let mut sites: Vec<(String, Option<String>)> = Vec::new();
    for s in 0..obj.sections.len() {
        let uses: Vec<u64> =
            obj.relocations(s).iter().filter(|r| r.r_sym(E, false) as usize == index).map(|r| r.r_offset(E)).collect();
        if uses.is_empty() {
            continue;
        }
        let enclosing = |offset: u64| {
            (1..obj.symbols.len()).find(|&i| {
                let sym = obj.symbol(i);
                matches!(sym.st_type(), STT_FUNC | STT_OBJECT)
                    && obj.symbol_section(i) as usize == s
                    && (sym.st_value(E)..sym.st_value(E).saturating_add(sym.st_size(E))).contains(&offset)
            })
        };
        for offset in uses {
            let site = match enclosing(offset) {
                Some(i) => demangle(obj.symbol_name(i)),
                None => String::from_utf8_lossy(obj.section_name(s)).into_owned(),
            };
            let site = (site, lines.and_then(|l| l.at(s as u32, offset)));
            if !sites.contains(&site) {
                sites.push(site);
            }
        }
    }
    sites
}

fn common_size_of(files: &[InputFile<'_>], id: SymbolId) -> u64 {
    let f = &files[file_of(files, id) as usize];
    match &f.data {
        FileData::Object(o) => o.symbol((id - f.symbol_base) as usize).st_size(E),
        _ => 0,
    }
}

pub fn file_of(files: &[InputFile<'_>], id: SymbolId) -> FileId {
    // Files are in id order; the last one whose base is <= id owns it.
    files.partition_point(|f| f.symbol_base <= id).saturating_sub(1) as FileId
}

/// The outcome of resolution: every symbol id bound to its definition.
pub struct Resolution<'d> {
    pub files: Vec<InputFile<'d>>,
    /// The archives and the members no symbol pulled: never read again, but kept so that
    /// they are freed with the process, off the link's critical path.
    _archives: Vec<ArchiveInput<'d>>,
    pub names: NameTable<'d>,
    /// `resolved[id]` is the definition symbol `id` binds to.
    pub resolved: Vec<SymbolId>,
    /// `symbol_file[id]`: the file that owns symbol `id`.
    pub symbol_file: Vec<FileId>,
    /// Names of linker-defined symbols; symbol `internal_base + i` is `internal[i]`.
    pub internal: Vec<&'d [u8]>,
    pub internal_file: FileId,
}

impl Resolution<'_> {
    pub fn file_of_symbol(&self, id: SymbolId) -> FileId {
        self.symbol_file[id as usize]
    }

    /// The symbol an input defines under `name` (not the linker), if any: `_init` and `_fini`
    /// are only called through DT_INIT/DT_FINI when a crt object defines them.
    pub fn input_definition(&self, name: &[u8]) -> Option<SymbolId> {
        self.names
            .get(name)
            .filter(|e| e.rank >= Rank::Weak && self.file_of_symbol(e.def) != self.internal_file)
            .map(|e| e.def)
    }
}
