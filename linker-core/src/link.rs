//! The link, start to finish. [`Session`] takes inputs as they come (in any order, while
//! earlier ones are being parsed) and [`Session::finish`] runs the passes that need all of
//! them. The pass list reads top to bottom in [`Session::finish`].

use crate::args::{Config, OutputKind};
use crate::elf::*;
use crate::error::{Error, Result};
use crate::input::{FileArena, FileKind, LoadedFile};
use crate::layout::{EarlyLayout, Layout};
use crate::object_file::ObjectFile;
use crate::resolve::{ArchiveInput, FileData, FileId, InputFile, Rank, Resolution, Resolver, SymbolId};
use crate::shared_object::SharedObject;
use crate::timing::Timer;
use crate::version_script::VersionScript;

/// What kind of file is produced, reduced to the questions the passes ask.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputMode {
    pub shared: bool,
    /// Position-independent: a shared object, a PIE or a static PIE.
    pub pic: bool,
    /// Has `.dynamic` (and so dynamic relocations are applied by a loader).
    pub dynamic: bool,
    /// Asks for the dynamic loader (`PT_INTERP`).
    pub interp: bool,
    /// Base address of the image.
    pub base: u64,
    /// Undefined weak symbols go to `.dynsym`, so that the loader binds them if some library
    /// defines them at run time (Rust's std finds newer libc functions this way). Like lld:
    /// when the link is dynamic (a shared object, or any shared library linked in), unless
    /// `-z nodynamic-undefined-weak`.
    pub dynamic_undefined_weak: bool,
}

/// A parsed input waiting for resolution, tagged with its canonical position.
enum Parsed<'d> {
    File(FileData<'d>, crate::args::Modifiers, u32),
    Archive(ArchiveInput<'d>),
}

/// What a parse job sends back: the parsed input, or the payload of a panic (a bug), which the
/// session re-raises on its own thread. A job that died silently would leave the session
/// waiting for its input forever.
type ParseOutcome<'d> = std::thread::Result<Result<Parsed<'d>>>;

/// A link in progress. Inputs are added one by one, in any order, while earlier ones are
/// still being parsed: each is parsed on the thread pool as soon as it arrives, and the
/// caller's thread resolves symbols of every input whose canonical predecessors are all in.
/// So resolution never depends on arrival order, and only what truly needs every input waits
/// for [`Session::finish`].
///
/// Positions are canonical and dense: the inputs of a link are numbered `0..n` (command-line
/// order for `rivet-ld`; for codegen units, their names' order).
pub struct Session<'d, 's> {
    config: Config,
    arena: &'d FileArena,
    scope: &'s rayon::Scope<'d>,
    parsed_tx: crossbeam_channel::Sender<(u32, ParseOutcome<'d>)>,
    parsed_rx: crossbeam_channel::Receiver<(u32, ParseOutcome<'d>)>,
    /// Parsed inputs waiting for a predecessor.
    waiting: std::collections::BTreeMap<u32, Result<Parsed<'d>>>,
    next_position: u32,
    added: u32,
    resolver: Resolver<'d>,
    timer: Timer,
    on_output_ready: Option<Box<dyn FnOnce() + Send + 'd>>,
}

impl<'d, 's> Session<'d, 's> {
    /// Starts a link whose parsing jobs run in `scope` (a scope of the thread pool the link
    /// uses; the session's own methods must be called from outside the pool's workers).
    pub fn new(config: Config, arena: &'d FileArena, scope: &'s rayon::Scope<'d>) -> Self {
        let timer = Timer::new(config.print_timing);
        let (parsed_tx, parsed_rx) = crossbeam_channel::unbounded();
        Session {
            config,
            arena,
            scope,
            parsed_tx,
            parsed_rx,
            waiting: Default::default(),
            next_position: 0,
            added: 0,
            resolver: Resolver::new(arena),
            timer,
            on_output_ready: None,
        }
    }

    /// Calls `f` the moment the output file is in place, before the link's memory is freed:
    /// a command-line driver can report success and exit without waiting for the teardown.
    pub fn on_output_ready(&mut self, f: impl FnOnce() + Send + 'd) {
        self.on_output_ready = Some(Box::new(f));
    }

    /// Hands over one input; returns at once. Parsing starts on the pool, and every input
    /// that is now next in canonical order is resolved.
    pub fn add(&mut self, file: LoadedFile<'d>) -> Result<()> {
        let arena = self.arena;
        self.spawn_parse(file.position, move || parse_input(file, arena));
        self.resolve_ready(false)
    }

    /// Runs `parse` on the pool for the input at canonical `position`.
    fn spawn_parse(&mut self, position: u32, parse: impl FnOnce() -> Result<Parsed<'d>> + Send + 'd) {
        self.added += 1;
        let tx = self.parsed_tx.clone();
        self.scope.spawn(move |_| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse));
            // The receiver lives as long as the session; a send fails only if it is gone.
            let _ = tx.send((position, outcome));
        });
    }

    /// Files a parse job's outcome; a job's panic continues on this thread.
    fn receive(&mut self, (position, outcome): (u32, ParseOutcome<'d>)) {
        match outcome {
            Ok(parsed) => {
                self.waiting.insert(position, parsed);
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Resolves the inputs that are next in canonical order; with `wait`, until every input
    /// handed over is resolved.
    fn resolve_ready(&mut self, wait: bool) -> Result<()> {
        loop {
            while let Ok(message) = self.parsed_rx.try_recv() {
                self.receive(message);
            }
            while let Some(parsed) = self.waiting.remove(&self.next_position) {
                match parsed? {
                    Parsed::File(data, modifiers, pos) => self.resolver.add_file(data, modifiers, (pos, 0))?,
                    Parsed::Archive(a) => self.resolver.add_archive(a)?,
                }
                self.next_position += 1;
            }
            if !wait || self.next_position >= self.added {
                return Ok(());
            }
            match self.parsed_rx.recv() {
                Ok(message) => self.receive(message),
                Err(_) => return Err(Error::Usage("input positions are not dense: an input is missing".into())),
            }
            if !self.waiting.contains_key(&self.next_position)
                && self.waiting.len() as u32 + self.next_position >= self.added
            {
                return Err(Error::Usage(format!("input position {} was never added", self.next_position)));
            }
        }
    }

    pub fn lap(&mut self, phase: &'static str) {
        self.timer.lap(phase);
    }

    /// Waits for the last inputs, then runs every pass that needs all of them, on `pool`.
    pub fn finish(mut self, pool: &rayon::ThreadPool) -> Result<()> {
        self.resolve_ready(true)?;
        self.timer.lap("parse and load inputs");
        // Every input is mapped by now: the old output may be moved or removed (the claim
        // never writes into one that is an input).
        let pending = crate::write::PendingOutput::claim(&self.config, self.arena);
        pool.install(move || self.link_all(pending))
    }

    fn link_all(mut self, pending: crate::write::PendingOutput) -> Result<()> {
        let mut resolver = std::mem::replace(&mut self.resolver, Resolver::new(self.arena));
        for name in self.config.undefined.iter().chain(&self.config.require_defined) {
            resolver.add_undefined(name.as_bytes())?;
        }
        let output = output_mode(&self.config, &resolver);
        // A shared object may leave symbols to its loader. In an executable, every
        // `__tls_get_addr` call is relaxed away, so static links need no definition of it.
        let allow_undefined = output.shared && !self.config.no_undefined;
        let may_stay_undefined = |name: &[u8]| allow_undefined || (!output.shared && name == b"__tls_get_addr");
        let defsyms: Vec<&[u8]> = self.config.defsyms.iter().map(|d| d.name.as_bytes()).collect();
        let res = resolver.finish(&|n| crate::layout::is_linker_defined(n), &defsyms, &may_stay_undefined)?;
        self.timer.lap("resolve symbols");

        let version_script = self.config.version_scripts.iter().map(|p| VersionScript::load(p)).next().transpose()?;
        let mut link = Link {
            config: &self.config,
            res,
            output,
            live: Vec::new(),
            version_script,
            classes: Vec::new(),
            def_sections: Vec::new(),
        };
        link.compute_classes();
        link.check_required()?;
        // Garbage collection, and meanwhile what layout can do without it.
        let (live, early) = rayon::join(|| link.live_sections(), || EarlyLayout::new(&link));
        link.live = live;
        let early = early?;
        self.timer.lap("gc sections, sorting sections, merging debug strings");
        let (scan, placed) = rayon::join(|| link.scan_relocations(), || Layout::place_inputs(&link, early));
        let (scan, placed) = (scan?, placed?);
        self.timer.lap("scan relocations ∥ layout: input sections, merge sections, .eh_frame");
        let mut layout = Layout::build(placed, &scan, &mut self.timer)?;
        if let Some(map) = &self.config.map_file {
            crate::map_file::write(&link, &layout, map)?;
            self.timer.lap("map file");
        }
        let image = crate::write::write_image(&link, &scan, &mut layout, pending, &mut self.timer)?;
        image.commit(&self.config)?;
        self.timer.lap("write output");
        self.timer.report();
        if let Some(ready) = self.on_output_ready.take() {
            ready();
        }
        Ok(())
    }
}

fn parse_input<'d>(f: LoadedFile<'d>, arena: &'d FileArena) -> Result<Parsed<'d>> {
    use rayon::prelude::*;
    let name = f.path.display().to_string();
    Ok(match f.kind {
        FileKind::Object => Parsed::File(FileData::Object(ObjectFile::parse(name, f.bytes)?), f.modifiers, f.position),
        FileKind::SharedObject => {
            Parsed::File(FileData::Shared(SharedObject::parse(name, &f.path, f.bytes)?), f.modifiers, f.position)
        }
        FileKind::Archive => {
            let archive = crate::archive::parse(f.bytes).map_err(|e| Error::bad(&name, e.to_string()))?;
            let pulled = vec![false; archive.members.len()];
            let parsed = archive
                .members
                .par_iter()
                .map(|m| {
                    let bytes = match crate::input::member_bytes(arena, &f.path, &m.data) {
                        Ok(b) => b,
                        Err(e) => return Some(Err(e)),
                    };
                    // Archives may hold anything (rustc's lib.rmeta, text files): only ELF
                    // objects link.
                    (crate::input::identify(bytes) == FileKind::Object).then(|| {
                        ObjectFile::parse(format!("{}({})", f.path.display(), String::from_utf8_lossy(m.name)), bytes)
                    })
                })
                .collect();
            let symbol_hashes = archive.symbols.par_iter().map(|s| crate::hash::hash_bytes(s.name)).collect();
            Parsed::Archive(ArchiveInput {
                path: f.path,
                symbol_hashes,
                archive,
                modifiers: f.modifiers,
                position: f.position,
                pulled,
                parsed,
            })
        }
        FileKind::Script | FileKind::Unknown => return Err(Error::bad(name, "unknown file type")),
    })
}

fn output_mode(config: &Config, resolver: &Resolver<'_>) -> OutputMode {
    let has_dso = resolver.files.iter().any(|f| matches!(f.data, FileData::Shared(_)));
    let mut mode = match config.output_kind {
        OutputKind::SharedObject => OutputMode { shared: true, pic: true, dynamic: true, ..Default::default() },
        OutputKind::Pie => {
            OutputMode { pic: true, dynamic: true, interp: !config.no_dynamic_linker, ..Default::default() }
        }
        OutputKind::StaticPie => OutputMode { pic: true, dynamic: true, ..Default::default() },
        OutputKind::StaticExecutable => OutputMode { base: 0x400000, ..Default::default() },
        OutputKind::Executable => OutputMode {
            dynamic: has_dso,
            interp: has_dso && !config.no_dynamic_linker,
            base: 0x400000,
            ..Default::default()
        },
    };
    // Only a loader binds them: never in a static PIE, which GNU ld too ignores the flag for.
    let wanted = config.z_dynamic_undefined_weak.unwrap_or(mode.shared || has_dso);
    mode.dynamic_undefined_weak = wanted && (mode.shared || mode.interp);
    mode
}

/// Everything the passes after resolution share.
pub struct Link<'d> {
    pub config: &'d Config,
    pub res: Resolution<'d>,
    pub output: OutputMode,
    /// `live[file][section]`: the section goes to the output.
    pub live: Vec<Vec<bool>>,
    pub version_script: Option<VersionScript>,
    /// Per symbol id: [`class`] bits of its definition.
    pub classes: Vec<u8>,
    /// Per symbol id: the (file, section) its definition is in, `NOT_IN_SECTION` if none.
    def_sections: Vec<(u32, u32)>,
}

const NOT_IN_SECTION: (u32, u32) = (u32::MAX, 0);

/// What the relocation passes need to know about a symbol's definition.
pub mod class {
    /// References must go through the dynamic linker.
    pub const PREEMPTIBLE: u8 = 1;
    /// A local IFUNC: references go through a PLT entry and an IRELATIVE GOT slot.
    pub const IFUNC: u8 = 2;
    /// Defined by a shared library.
    pub const SHARED: u8 = 4;
    pub const SHARED_FUNC: u8 = 8;
    /// Absolute or undefined: its value does not move with the image.
    pub const ABSOLUTE: u8 = 16;
    pub const UNDEFINED: u8 = 32;
}

impl<'d> Resolution<'d> {
    pub fn file_of_symbol(&self, id: SymbolId) -> FileId {
        self.symbol_file[id as usize]
    }
}

/// Where a symbol's definition is, after resolution.
#[derive(Clone, Copy, Debug)]
pub enum Def<'d> {
    /// In section `section` of object `file`, at `value`.
    Section {
        file: FileId,
        section: u32,
        value: u64,
        sym: &'d Sym,
    },
    Absolute {
        value: u64,
        sym: &'d Sym,
    },
    Common {
        id: SymbolId,
        sym: &'d Sym,
    },
    Shared {
        file: FileId,
        index: u32,
        sym: &'d Sym,
    },
    /// Defined by the linker; index into `Resolution::internal`.
    Internal(u32),
    Undefined {
        weak: bool,
    },
}

impl<'d> Link<'d> {
    pub fn entry_name(&self) -> &[u8] {
        self.config.entry.as_deref().map(str::as_bytes).unwrap_or(b"_start")
    }

    /// The definition symbol `id` binds to.
    pub fn def(&self, id: SymbolId) -> Def<'d> {
        let target = self.res.resolved[id as usize];
        let fid = self.res.file_of_symbol(target);
        let file = &self.res.files[fid as usize];
        self.def_in(fid, file, (target - file.symbol_base) as usize)
    }

    /// What symbol `index` of file `fid` (`file`) defines, when it is its own definition.
    fn def_in(&self, fid: FileId, file: &InputFile<'d>, index: usize) -> Def<'d> {
        match &file.data {
            FileData::Internal => Def::Internal(index as u32),
            FileData::Shared(so) => Def::Shared { file: fid, index: index as u32, sym: so.symbol(index) },
            FileData::Object(obj) => {
                let sym = obj.symbol(index);
                let shndx = obj.symbol_section(index);
                if shndx == SHN_UNDEF as u32 || (shndx < SHN_LORESERVE as u32 && file.discarded[shndx as usize]) {
                    Def::Undefined { weak: sym.st_bind() == STB_WEAK }
                } else if shndx == SHN_ABS as u32 {
                    Def::Absolute { value: sym.st_value(E), sym }
                } else if shndx == SHN_COMMON as u32 {
                    Def::Common { id: file.symbol_base + index as SymbolId, sym }
                } else if shndx >= SHN_LORESERVE as u32 {
                    Def::Absolute { value: sym.st_value(E), sym }
                } else {
                    Def::Section { file: fid, section: shndx, value: sym.st_value(E), sym }
                }
            }
        }
    }

    pub fn symbol_id(&self, file: FileId, index: usize) -> SymbolId {
        self.res.files[file as usize].symbol_base + index as u32
    }

    /// The (file, section) a definition lives in, if it is in an input section.
    pub fn symbol_section(&self, id: SymbolId) -> Option<(u32, u32)> {
        Some(self.def_sections[id as usize]).filter(|&s| s != NOT_IN_SECTION)
    }

    pub fn reloc_target_section(&self, file: FileId, sym_index: usize) -> Option<(u32, u32)> {
        self.symbol_section(self.symbol_id(file, sym_index))
    }

    pub fn symbol_name(&self, id: SymbolId) -> &'d [u8] {
        let fid = self.res.file_of_symbol(id);
        let file = &self.res.files[fid as usize];
        let index = (id - file.symbol_base) as usize;
        match &file.data {
            FileData::Object(o) => split_version(o.symbol_name(index)).0,
            FileData::Shared(s) => s.symbol_name(index),
            FileData::Internal => self.res.internal[index],
        }
    }

    /// The version an object gave its definition with `.symver` (`name@V`, or `name@@V` for
    /// the default), if any.
    pub fn symbol_version(&self, id: SymbolId) -> Option<(&'d [u8], bool)> {
        let target = self.res.resolved[id as usize];
        let file = &self.res.files[self.res.file_of_symbol(target) as usize];
        let obj = file.object()?;
        split_version(obj.symbol_name((target - file.symbol_base) as usize)).1
    }

    /// A definition of ours that may appear in `.dynsym`: global, not hidden or internal.
    pub fn is_exportable(&self, id: SymbolId) -> bool {
        match self.def(id) {
            Def::Section { sym, .. } | Def::Absolute { sym, .. } | Def::Common { sym, .. } => {
                sym.st_bind() != STB_LOCAL
                    && matches!(sym.st_visibility(), STV_DEFAULT | STV_PROTECTED)
                    && self.version_script_allows(self.symbol_name(id))
            }
            // Of the linker's own symbols, the encapsulation symbols are exported from shared
            // objects (protected), as GNU ld and lld do.
            Def::Internal(_) => {
                let name = self.symbol_name(id);
                start_stop_section(name).is_some() && self.version_script_allows(name)
            }
            _ => false,
        }
    }

    /// Whether references to the symbol must go through the dynamic linker, because the
    /// definition is in a shared library or may be interposed at run time.
    pub fn is_preemptible(&self, id: SymbolId) -> bool {
        self.class(id) & class::PREEMPTIBLE != 0
    }

    /// The [`class`] bits of the definition symbol `id` binds to.
    pub fn class(&self, id: SymbolId) -> u8 {
        self.classes[id as usize]
    }

    /// Computes every symbol's class and definition section once, in parallel, so the
    /// per-relocation passes read a byte or two instead of walking to the definition.
    fn compute_classes(&mut self) {
        use crate::parallel::split_by_lengths;
        use rayon::prelude::*;
        let total = self.res.resolved.len();
        let (mut classes, mut def_sections) = (vec![0u8; total], vec![NOT_IN_SECTION; total]);
        let lengths = || self.res.files.iter().map(|f| f.symbol_count as usize);
        // Per file, so that a file's own definitions (its local symbols: most of them) are
        // looked up without going through the symbol-to-file map.
        split_by_lengths(&mut classes, lengths())
            .into_par_iter()
            .zip(split_by_lengths(&mut def_sections, lengths()))
            .zip(self.res.files.par_iter().enumerate())
            .for_each(|((classes, sections), (fid, file))| {
                for (i, (class, section)) in classes.iter_mut().zip(sections).enumerate() {
                    let id = file.symbol_base + i as SymbolId;
                    let def = if self.res.resolved[id as usize] == id {
                        self.def_in(fid as FileId, file, i)
                    } else {
                        self.def(id)
                    };
                    if let Def::Section { file, section: s, .. } = def {
                        *section = (file, s);
                    }
                    *class = self.compute_class(id, def);
                }
            });
        (self.classes, self.def_sections) = (classes, def_sections);
    }

    /// The class bits of symbol `id`, whose definition is `def`.
    fn compute_class(&self, id: SymbolId, def: Def<'d>) -> u8 {
        let mut c = if self.compute_preemptible(id, def) { class::PREEMPTIBLE } else { 0 };
        match def {
            Def::Section { sym, .. } if sym.st_type() == STT_GNU_IFUNC => c |= class::IFUNC,
            Def::Shared { sym, .. } => {
                c |= class::SHARED;
                if matches!(sym.st_type(), STT_FUNC | STT_GNU_IFUNC) {
                    c |= class::SHARED_FUNC;
                }
            }
            Def::Absolute { .. } => c |= class::ABSOLUTE,
            Def::Undefined { .. } => c |= class::ABSOLUTE | class::UNDEFINED,
            _ => {}
        }
        c
    }

    fn compute_preemptible(&self, id: SymbolId, def: Def<'d>) -> bool {
        match def {
            Def::Shared { .. } => true,
            Def::Undefined { weak } => {
                self.output.shared
                    || (weak && self.output.dynamic_undefined_weak && self.undefined_visibility(id) == STV_DEFAULT)
            }
            Def::Internal(_) => false,
            Def::Section { sym, .. } | Def::Absolute { sym, .. } | Def::Common { sym, .. } => {
                self.output.shared
                    && sym.st_bind() != STB_LOCAL
                    && sym.st_visibility() == STV_DEFAULT
                    && match self.config.bsymbolic {
                        crate::args::Bsymbolic::All => false,
                        crate::args::Bsymbolic::Functions => sym.st_type() != STT_FUNC,
                        crate::args::Bsymbolic::None => true,
                    }
                    && self.version_script_allows(self.symbol_name(self.res.resolved[id as usize]))
            }
        }
    }

    /// The visibility an undefined symbol was referenced with (by its first reference).
    fn undefined_visibility(&self, id: SymbolId) -> u8 {
        let target = self.res.resolved[id as usize];
        let file = &self.res.files[self.res.file_of_symbol(target) as usize];
        file.object().map_or(STV_DEFAULT, |o| o.symbol((target - file.symbol_base) as usize).st_visibility())
    }

    pub fn defsym(&self, name: &[u8]) -> Option<&crate::args::Defsym> {
        self.config.defsyms.iter().rev().find(|d| d.name.as_bytes() == name)
    }

    pub fn version_script_allows(&self, name: &[u8]) -> bool {
        self.version_script.as_ref().is_none_or(|vs| vs.is_global(name))
    }

    /// `--require-defined` symbols must be defined by something.
    fn check_required(&self) -> Result<()> {
        for name in &self.config.require_defined {
            let defined = self.res.names.get(name.as_bytes()).is_some_and(|e| e.rank > Rank::Lazy);
            if !defined {
                return Err(Error::Usage(format!("--require-defined: symbol {name} is not defined")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parse job that panics (a bug) must fail the link on the session's thread, not leave it
    /// waiting for that input forever.
    #[test]
    fn a_panicking_parse_job_reaches_the_session_thread() {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let config = crate::args::parse(&["-o".into(), "unused.out".into()]).expect("arguments parse");
            let arena = FileArena::default();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let outcome = pool.in_place_scope(|scope| {
                let mut session = Session::new(config, &arena, scope);
                session.spawn_parse(0, || panic!("a parser bug"));
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.resolve_ready(true))).map(|_| ())
            });
            let _ = done_tx.send(outcome.map_err(|p| p.downcast_ref::<&str>().map(|m| m.to_string())));
        });
        let outcome = done_rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the session hung");
        assert_eq!(outcome, Err(Some("a parser bug".to_string())));
    }
}
