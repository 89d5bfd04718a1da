//! The streaming front end of a link. [`Session`] takes inputs as they come (in any order,
//! while earlier ones are being parsed): each is parsed on the thread pool the moment it
//! arrives, and the caller's thread resolves the symbols of every input whose canonical
//! predecessors are all in, so resolution never depends on arrival order. [`Session::finish`]
//! waits for the last inputs and hands the resolver to [`crate::pipeline::run`], the passes
//! that need every input.

use crate::args::Config;
use crate::error::{Error, Result};
use crate::input::{FileArena, FileKind, LoadedFile};
use crate::object_file::ObjectFile;
use crate::patch::OutputMap;
use crate::resolve::{ArchiveInput, FileData, Resolver};
use crate::sections::Prepared;
use crate::shared_object::SharedObject;
use crate::timing::Timer;

/// A parsed input waiting for resolution, tagged with its canonical position.
enum Parsed<'d> {
    File(FileData<'d>, Prepared<'d>, crate::args::Modifiers, u32),
    Archive(ArchiveInput<'d>),
}

/// What a parse job sends back: the parsed input, or the payload of a panic (a bug), which the
/// session re-raises on its own thread. A job that died silently would leave the session
/// waiting for its input forever.
type ParseOutcome<'d> = std::thread::Result<Result<Parsed<'d>>>;

/// A link in progress. Inputs are added one by one, in any order, while earlier ones are
/// still being parsed: each is parsed on the thread pool as soon as it arrives (its sections
/// classified and its debug strings split in the same job), and the caller's thread resolves
/// symbols of every input whose canonical predecessors are all in. So resolution never
/// depends on arrival order, and only what truly needs every input waits for
/// [`Session::finish`].
///
/// Positions are canonical and dense: the inputs of a link are numbered `0..n` (command-line
/// order for `rivet-ld`). An embedder that knows which inputs come late (a codegen backend:
/// the crate's own objects) should number them last, in their names' order: everything before
/// them is then resolved while they are still coming (`rivet-bench stream --objects-last`:
/// the wait left at the last object drops from 5-8 to 1-3 ms on ripgrep's link).
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
    on_output_ready: Option<OnOutputReady<'d>>,
}

/// What runs the moment the output is in place (`Session::on_output_ready`). It gets what
/// makes the map of the output, for an incremental link's state: made when asked, so that a
/// driver can report the link first.
pub type OnOutputReady<'d> = Box<dyn FnOnce(&mut dyn FnMut() -> Option<OutputMap>) + Send + 'd>;

impl<'d, 's> Session<'d, 's> {
    /// Starts a link whose parsing jobs run in `scope` (a scope of the thread pool the link
    /// uses; the session's own methods must be called from outside the pool's workers).
    pub fn new(config: Config, arena: &'d FileArena, scope: &'s rayon::Scope<'d>) -> Self {
        let timer = Timer::new(config.print_timing);
        let (parsed_tx, parsed_rx) = crossbeam_channel::unbounded();
        let mut resolver = Resolver::default();
        for symbol in &config.wrap {
            let name = |text: String| {
                let bytes = arena.keep(text.into_bytes());
                (bytes, crate::hash::hash_bytes(bytes))
            };
            let (plain, wrapper) = (name(symbol.clone()), name(format!("__wrap_{symbol}")));
            resolver.wrapped.insert(plain.0, wrapper);
            resolver.wrapped.insert(name(format!("__real_{symbol}")).0, plain);
        }
        Session {
            config,
            arena,
            scope,
            parsed_tx,
            parsed_rx,
            waiting: Default::default(),
            next_position: 0,
            added: 0,
            resolver,
            timer,
            on_output_ready: None,
        }
    }

    /// Calls `f` the moment the output file is in place, before the link's memory is freed:
    /// a command-line driver can report success and exit without waiting for the teardown.
    /// With `--incremental`, `f` gets what makes the map of the output an in-place relink
    /// needs (none when the output cannot be patched), to record with the inputs: a pass over
    /// every object's placements (7 ms of CPU on typst-cli's debug link), best made after the
    /// link is reported.
    pub fn on_output_ready(&mut self, f: impl FnOnce(&mut dyn FnMut() -> Option<OutputMap>) + Send + 'd) {
        self.on_output_ready = Some(Box::new(f));
    }

    /// Hands over one input; returns at once. Parsing starts on the pool, and every input
    /// that is now next in canonical order is resolved.
    pub fn add(&mut self, file: LoadedFile<'d>) -> Result<()> {
        let arena = self.arena;
        let strip_debug = !matches!(self.config.strip, crate::args::Strip::None);
        self.spawn_parse(file.position, move || parse_input(file, arena, strip_debug));
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
                    Parsed::File(data, prepared, modifiers, pos) => {
                        self.resolver.add_file(data, prepared, modifiers, (pos, 0))?
                    }
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

    /// Goes on with `timer`, whose laps began before the session (the driver's input loading).
    pub(crate) fn continue_timing(&mut self, timer: Timer) {
        self.timer = timer;
    }

    /// Waits for the last inputs, then runs every pass that needs all of them, on `pool`.
    pub fn finish(mut self, pool: &rayon::ThreadPool) -> Result<()> {
        self.resolve_ready(true)?;
        self.timer.lap("parse and load inputs");
        let Session { config, arena, resolver, mut timer, on_output_ready, .. } = self;
        pool.install(|| crate::pipeline::run(&config, arena, resolver, &mut timer, on_output_ready))
    }
}

/// Parses one input and prepares what layout needs of each object in it ([`Prepared`]): work
/// that depends on no other input, done the moment the input arrives.
fn parse_input<'d>(f: LoadedFile<'d>, arena: &'d FileArena, strip_debug: bool) -> Result<Parsed<'d>> {
    use rayon::prelude::*;
    let name = f.path.display().to_string();
    let parse_object = |name: String, bytes: &'d [u8]| -> Result<(ObjectFile<'d>, Prepared<'d>)> {
        let mut object = ObjectFile::parse(name, bytes)?;
        object.inflate_compressed(&|made| arena.keep(made), strip_debug)?;
        let prepared = Prepared::of(&object, strip_debug);
        Ok((object, prepared))
    };
    Ok(match f.kind {
        FileKind::Object => {
            let (object, prepared) = parse_object(name, f.bytes)?;
            Parsed::File(FileData::Object(object), prepared, f.modifiers, f.position)
        }
        FileKind::SharedObject => {
            let shared = SharedObject::parse(name, &f.path, f.bytes)?;
            Parsed::File(FileData::Shared(shared), Prepared::default(), f.modifiers, f.position)
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
                        parse_object(format!("{}({})", f.path.display(), String::from_utf8_lossy(m.name)), bytes)
                    })
                })
                .collect();
            let symbol_hashes = archive.symbols.par_iter().map(|s| crate::hash::hash_bytes(s.name)).collect();
            Parsed::Archive(ArchiveInput {
                symbol_hashes,
                archive,
                modifiers: f.modifiers,
                position: f.position,
                pulled,
                parsed,
            })
        }
        FileKind::Script | FileKind::Unknown => return Err(Error::bad(name, "unknown file type")),
        FileKind::Unread => return Err(Error::bad(name, "not read (`read_unread` maps it)")),
    })
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
