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
use crate::pipeline::OnOutputReady;
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
        let job = self.parse_job(file.position);
        self.scope.spawn(move |scope| job.deliver(|| job.start(file, scope)));
        self.resolve_ready(false)
    }

    /// The job that parses the input at canonical `position`, counted as added.
    fn parse_job(&mut self, position: u32) -> ParseJob<'d> {
        self.added += 1;
        ParseJob {
            arena: self.arena,
            strip_debug: !matches!(self.config.strip, crate::args::Strip::None),
            position,
            done: self.parsed_tx.clone(),
        }
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

/// The parse of one input, on the pool. It sends the session the parsed input once, or the
/// payload of a panic (the session re-raises the first it receives).
///
/// An archive's members are parsed by jobs of their own, in batches of about
/// [`MEMBER_BATCH_BYTES`], and the last batch to finish sends the archive. No job waits for
/// another: a job that waited (a parallel iterator over the members) would let its thread
/// steal later inputs' jobs meanwhile and finish only after them, holding up the resolution
/// of every input after it in canonical order (on typst-cli's debug link, resolution stood
/// still from 21 to 237 ms behind one small archive, then ran alone for 107 ms).
#[derive(Clone)]
struct ParseJob<'d> {
    arena: &'d FileArena,
    strip_debug: bool,
    position: u32,
    done: crossbeam_channel::Sender<(u32, ParseOutcome<'d>)>,
}

/// The size of a batch of archive members parsed by one job: large enough that a job's cost
/// hides the spawn, small enough that a big archive spreads over every thread.
const MEMBER_BATCH_BYTES: u64 = 1 << 20;

/// A member's parse: `None` for members that are not ELF objects.
type ParsedMember<'d> = Option<Result<(ObjectFile<'d>, Prepared<'d>)>>;

/// An archive whose members are being parsed: each batch fills its slot, the last one to
/// finish assembles the [`ArchiveInput`].
struct ArchiveInFlight<'d> {
    batches: Vec<std::sync::Mutex<Vec<ParsedMember<'d>>>>,
    /// The batches still running, and the index job's own part (hashing the symbol index).
    remaining: std::sync::atomic::AtomicUsize,
    /// The archive, its symbol hashes and its modifiers, taken by the last batch.
    rest: std::sync::Mutex<Option<(crate::archive::Archive<'d>, Vec<u64>, crate::args::Modifiers)>>,
}

impl<'d> ParseJob<'d> {
    /// Runs one job's `work` and sends the session what it finished, or its panic.
    fn deliver(&self, work: impl FnOnce() -> Option<Result<Parsed<'d>>>) {
        let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
            Ok(None) => return,
            Ok(Some(parsed)) => Ok(parsed),
            Err(panic) => Err(panic),
        };
        // The receiver lives as long as the session; a send fails only if it is gone.
        let _ = self.done.send((self.position, outcome));
    }

    /// Parses `file` and prepares what layout needs of each object in it ([`Prepared`]):
    /// work that depends on no other input, done the moment the input arrives. `None` when
    /// an archive's member jobs were spawned and will send it.
    fn start(&self, file: LoadedFile<'d>, scope: &rayon::Scope<'d>) -> Option<Result<Parsed<'d>>> {
        let name = || file.path.display().to_string();
        let (modifiers, position) = (file.modifiers, file.position);
        Some(match file.kind {
            FileKind::Archive => return self.start_archive(file, scope),
            FileKind::Object => self
                .parse_object(name(), file.bytes)
                .map(|(object, prepared)| Parsed::File(FileData::Object(object), prepared, modifiers, position)),
            FileKind::SharedObject => SharedObject::parse(name(), &file.path, file.bytes)
                .map(|shared| Parsed::File(FileData::Shared(shared), Prepared::default(), modifiers, position)),
            FileKind::Script | FileKind::Unknown => Err(Error::bad(name(), "unknown file type")),
            FileKind::Unread => Err(Error::bad(name(), "not read (`read_unread` maps it)")),
        })
    }

    fn parse_object(&self, name: String, bytes: &'d [u8]) -> Result<(ObjectFile<'d>, Prepared<'d>)> {
        let mut object = ObjectFile::parse(name, bytes)?;
        object.inflate_compressed(&|made| self.arena.keep(made), self.strip_debug)?;
        let prepared = Prepared::of(&object, self.strip_debug);
        Ok((object, prepared))
    }

    /// Parses the archive's index and spawns its member batches; parses a one-batch archive
    /// on the spot.
    fn start_archive(&self, file: LoadedFile<'d>, scope: &rayon::Scope<'d>) -> Option<Result<Parsed<'d>>> {
        let archive = match crate::archive::parse(file.bytes) {
            Ok(archive) => archive,
            Err(e) => return Some(Err(Error::bad(file.path.display(), e.to_string()))),
        };
        let mut batches = Vec::new();
        let mut batch_bytes = 0;
        for (i, member) in archive.members.iter().enumerate() {
            if batches.is_empty() || batch_bytes >= MEMBER_BATCH_BYTES {
                batches.push(i..i);
                batch_bytes = 0;
            }
            batches.last_mut().expect("a batch").end = i + 1;
            batch_bytes += match member.data {
                crate::archive::MemberData::Bytes(bytes) => bytes.len() as u64,
                crate::archive::MemberData::Thin { size, .. } => size,
            };
        }
        if batches.len() <= 1 {
            let parsed = self.parse_members(&file.path, &archive.members);
            let symbol_hashes = hash_index(&archive);
            return Some(Ok(archive_input(archive, symbol_hashes, file.modifiers, file.position, parsed)));
        }
        let in_flight = std::sync::Arc::new(ArchiveInFlight {
            batches: batches.iter().map(|_| Default::default()).collect(),
            remaining: std::sync::atomic::AtomicUsize::new(batches.len() + 1),
            rest: std::sync::Mutex::new(None),
        });
        let members: std::sync::Arc<[crate::archive::Member<'d>]> = archive.members.clone().into();
        for (index, range) in batches.into_iter().enumerate() {
            let job = self.clone();
            let (in_flight, members, path) = (in_flight.clone(), members.clone(), file.path.clone());
            scope.spawn(move |_| {
                job.deliver(|| {
                    let parsed = job.parse_members(&path, &members[range]);
                    *in_flight.batches[index].lock().expect("no panic while locked") = parsed;
                    job.finish_part(&in_flight)
                })
            });
        }
        let symbol_hashes = hash_index(&archive);
        *in_flight.rest.lock().expect("no panic while locked") = Some((archive, symbol_hashes, file.modifiers));
        self.finish_part(&in_flight)
    }

    /// Counts one part of an archive in flight as done (a batch, or the index job's own
    /// part); the last part returns the archive.
    fn finish_part(&self, in_flight: &ArchiveInFlight<'d>) -> Option<Result<Parsed<'d>>> {
        if in_flight.remaining.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) != 1 {
            return None;
        }
        let (archive, symbol_hashes, modifiers) =
            in_flight.rest.lock().expect("no panic while locked").take().expect("the index job's part is done");
        let parsed = in_flight
            .batches
            .iter()
            .flat_map(|b| std::mem::take(&mut *b.lock().expect("no panic while locked")))
            .collect();
        Some(Ok(archive_input(archive, symbol_hashes, modifiers, self.position, parsed)))
    }

    fn parse_members(
        &self,
        archive_path: &std::path::Path,
        members: &[crate::archive::Member<'d>],
    ) -> Vec<ParsedMember<'d>> {
        members.iter().map(|member| self.parse_member(archive_path, member)).collect()
    }

    fn parse_member(&self, archive_path: &std::path::Path, member: &crate::archive::Member<'d>) -> ParsedMember<'d> {
        let bytes = match crate::input::member_bytes(self.arena, archive_path, &member.data) {
            Ok(bytes) => bytes,
            Err(e) => return Some(Err(e)),
        };
        // Archives may hold anything (rustc's lib.rmeta, text files): only ELF objects link.
        (crate::input::identify(bytes) == FileKind::Object).then(|| {
            self.parse_object(format!("{}({})", archive_path.display(), String::from_utf8_lossy(member.name)), bytes)
        })
    }
}

/// [`crate::hash::hash_bytes`] of each name in the archive's symbol index.
fn hash_index(archive: &crate::archive::Archive<'_>) -> Vec<u64> {
    archive.symbols.iter().map(|s| crate::hash::hash_bytes(s.name)).collect()
}

fn archive_input<'d>(
    archive: crate::archive::Archive<'d>,
    symbol_hashes: Vec<u64>,
    modifiers: crate::args::Modifiers,
    position: u32,
    parsed: Vec<ParsedMember<'d>>,
) -> Parsed<'d> {
    let pulled = vec![false; archive.members.len()];
    Parsed::Archive(ArchiveInput { symbol_hashes, archive, modifiers, position, pulled, parsed })
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
                let job = session.parse_job(0);
                scope.spawn(move |_| job.deliver(|| panic!("a parser bug")));
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.resolve_ready(true))).map(|_| ())
            });
            let _ = done_tx.send(outcome.map_err(|p| p.downcast_ref::<&str>().map(|m| m.to_string())));
        });
        let outcome = done_rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the session hung");
        assert_eq!(outcome, Err(Some("a parser bug".to_string())));
    }
}
