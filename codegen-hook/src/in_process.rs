//! The in-process link: a thread that owns a `linker_core::Session` from the start of
//! codegen to the output.
//!
//! At the start it maps and parses every input already on disk (crt objects, `symbols.o`,
//! the rlibs, system libraries) and resolves their symbols in canonical order, while rustc
//! generates code. Each object LLVM writes arrives as an [`Event::Object`] and goes into
//! the position held for it on the command line ([`linker_core::Reserved`]), so the
//! result is the same whatever order the objects come in. [`Event::Finish`] brings the
//! final list of the crate's objects (those reused from the incremental cache appear only
//! there); the session then runs the passes that need every input and writes the output.
//!
//! An incremental link (`linker_core::incremental`, on when rustc compiles incrementally)
//! hashes the inputs known at the start on the parse pool while codegen runs. When the last
//! object is in, it checks them all against the state of the link that wrote the output; up
//! to date, it reports success without linking; with only objects changed, it patches the
//! output in place. Otherwise it links, and records the state before it reports: rustc may
//! end the process as soon as the link is reported. The objects the state keeps for later
//! patches are hard links to rustc's (`Inputs::objects_written_once`): after an edit that
//! made rustc rebuild 242 of ripgrep's units, copying them took 55–70 ms of the report's
//! wait, the links 15–18 ms with everything else recording does.
//!
//! **A rebuild that will likely be patched parses nothing early.** When the state promises a
//! patch (its linker, options and input count are this link's, and each input known at the
//! start has the contents it recorded: `Inputs::patch_likely`), those inputs are left
//! unparsed: a patch does not read them, and parsing them (100 MB of rlibs for ripgrep, 883
//! MB for typst-cli) at nice 10 still took from rustc, and their teardown with it. Each
//! object codegen writes is looked at as it comes (`Inputs::rules_out_patch`: its contents,
//! and its section list against the copy kept of it); the first one that rules the patch out
//! (a function or a literal added: new sections) has them parsed from then on, as a full
//! link needs; so does a patch that fails at the end. Measured with `scripts/edit-loop.py`
//! (medians, seconds) against the same backend parsing them from the start:
//! - ripgrep, the `&&` swap (patched), 7 rounds: 0.515 against 0.540; touched (up to date):
//!   0.409 against 0.443;
//! - typst-cli, the `"greeted-"` literal (patched), 3 rounds: 0.839 against 0.850; touched:
//!   0.746 against 0.909 (these two a day apart, so less sure);
//! - a full link instead (an `eprintln!` added to `main`): ripgrep's costs what it did
//!   (79–86 ms after codegen's end either way: the edited unit comes while codegen goes on);
//!   typst-cli's costs more, 0.92 s after codegen's end against 0.65 s (1.90 against 1.68 s
//!   in all, 6 builds each), because its edited unit is the last thing codegen writes and
//!   the parse of 883 MB is then left to the tail.
//! Parsing them at `SCHED_IDLE` instead, and at nice 10 again once the patch is ruled out,
//! cost the patched loop as much as nice 10 did (ripgrep 0.608 s against 0.601, 7 rounds, with
//! 0.583 s left unparsed): the cost is not only the cycles the parse takes.
//!
//! Sharing the machine with codegen: parse jobs run on a pool whose threads have nice
//! level 10, so they take only the cycles LLVM's workers leave; when codegen is over, the
//! passes after the last input run on a pool of one thread plus one per jobserver token
//! rustc's client gets at once (cargo's `-j` is shared with the other rustc processes), at
//! most one per core. Success is reported the moment the output is in place; the thread
//! frees the link's memory afterwards, nobody waiting.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Instant;

use linker_core::{FileArena, LoadedFile, Reserved, Session};

use crate::gcc::{Probe, Split};

pub enum Event {
    /// An object of the crate has been written.
    Object { name: String, path: PathBuf },
    /// Codegen is over: these are all of the crate's objects, by module name.
    Finish { objects: Vec<(String, PathBuf)> },
}

pub type Sender = crossbeam_channel::Sender<Event>;

/// Why a link ended without an output.
pub enum Failure {
    /// The link failed: the message says why.
    Error(String),
    /// The objects are not those the link was started with (codegen made other units, or
    /// an object sent early proved stale): link again from the final list.
    Replan(String),
}

/// A link running on its own thread.
pub struct Link {
    sender: Sender,
    done: crossbeam_channel::Receiver<Result<Report, Failure>>,
    thread: Option<JoinHandle<()>>,
}

/// What a finished link reports.
pub struct Report {
    /// From the `Finish` event to the output in place.
    pub tail_ms: f64,
    /// The crate's objects that came only with the `Finish` event.
    pub late_objects: usize,
    /// With `--incremental`: that the output was up to date, or why it was linked in full.
    pub incremental: Option<String>,
}

impl Link {
    /// Starts linking rustc's command `split` into `output`; `late` are the objects among
    /// its inputs that codegen will write, by module name. An `incremental` link is skipped
    /// when its inputs are those of the link that wrote the output (`linker_core::incremental`).
    pub fn start(split: Split, output: PathBuf, late: Vec<(String, PathBuf)>, incremental: bool) -> Link {
        // Bounded: a link thread that fell behind slows the producers instead of queueing
        // without limit; it only maps and queues each object, so it never does.
        let (sender, events) = crossbeam_channel::bounded(4096);
        let (report, done) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new()
            .name("rivet-link".into())
            .spawn(move || {
                let reported = report.clone();
                let outcome = run(split, output, late, incremental, events, move |report| {
                    let _ = reported.send(Ok(report));
                });
                if let Err(failure) = outcome {
                    let _ = report.send(Err(failure));
                }
            })
            .expect("cannot start the link thread");
        Link { sender, done, thread: Some(thread) }
    }

    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// Hands over the crate's final objects and waits for the output.
    pub fn finish(mut self, objects: Vec<(String, PathBuf)>) -> Result<Report, Failure> {
        let _ = self.sender.send(Event::Finish { objects });
        let stopped = || Err(Failure::Error("the link thread stopped without a word".into()));
        let result = self.done.recv().unwrap_or_else(|_| stopped());
        if result.is_err() {
            // A failed link has nothing left to free in the background.
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
        result
    }
}

fn run(
    split: Split,
    output: PathBuf,
    late: Vec<(String, PathBuf)>,
    incremental: bool,
    events: crossbeam_channel::Receiver<Event>,
    on_output_ready: impl FnOnce(Report) + Send + 'static,
) -> Result<(), Failure> {
    let argv = Probe::run(&split.driver)?.linker_args(&split, &output);
    let mut config = linker_core::parse_args(&argv).map_err(|e| e.to_string())?;
    config.incremental |= incremental;
    config.print_timing |= crate::switched_on("RIVET_TIME");
    // What rivet-ld would warn about (an unknown `-z` keyword in `-C link-arg`), as it would.
    for warning in &config.warnings {
        if config.fatal_warnings {
            return Err(Failure::Error(format!("{warning} (--fatal-warnings)")));
        }
        eprintln!("warning: rivet: {warning}");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parse_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .thread_name(|i| format!("rivet-parse-{i}"))
        // SAFETY: setpriority on the calling thread (its tid) only lowers its priority.
        .start_handler(|_| unsafe {
            libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
        })
        .build()
        .map_err(|e| e.to_string())?;
    let arena = FileArena::default();
    parse_pool.in_place_scope(|scope| {
        let mut session = Session::new(config.clone(), &arena, scope);
        let late_paths: HashSet<&Path> = late.iter().map(|(_, p)| p.as_path()).collect();
        let (early, reserved) = linker_core::load_inputs_reserving(&config, &arena, |p| late_paths.contains(p))
            .map_err(|e| e.to_string())?;
        let mut taken = linker_core::incremental::applies(&config).then(|| {
            let mut inputs = linker_core::incremental::Inputs::new(&config);
            inputs.objects_written_once();
            inputs
        });
        let input_count = early.len() + reserved.len();
        if let Some(taken) = &mut taken {
            early.iter().for_each(|input| taken.add(input));
        }
        // On a rebuild that will likely be patched in place, the inputs known at the start
        // are parsed only once an object rules that out, or the patch fails.
        let patch_likely = taken.as_mut().is_some_and(|taken| taken.patch_likely(&config, input_count));
        // For `RIVET_VERBOSE`'s report of an incremental link: when they were.
        let mut parsed = String::from(if patch_likely { "left unparsed" } else { "parsed from the start" });
        let mut unparsed = Vec::new();
        match patch_likely {
            true => unparsed = early,
            false => early.into_iter().try_for_each(|input| session.add(input)).map_err(|e| e.to_string())?,
        }
        // Those the last state did not record are hashed while codegen runs, so that recording
        // the state at the end is quick.
        if let Some(taken) = &mut taken {
            parse_pool.install(|| taken.hash());
        }
        let slot_of_path: HashMap<&PathBuf, &Reserved> = reserved.iter().map(|r| (&r.path, r)).collect();
        let mut slots: HashMap<String, &Reserved> =
            late.iter().filter_map(|(name, path)| Some((name.clone(), *slot_of_path.get(path)?))).collect();
        if slots.len() != late.len() {
            return Err(Failure::Error("an object of the crate is named twice on the command line".into()));
        }
        // Which file went into each place (its path, and its identity when it was mapped:
        // rustc may remove a previous session's file before the end), to check it against
        // the final list.
        let mut delivered: HashMap<String, (PathBuf, Option<FileId>)> = HashMap::new();
        let (objects, finish_at) = loop {
            match events.recv() {
                Ok(Event::Object { name, path }) => {
                    let Some(slot) = slots.get(&name).copied() else { continue };
                    // An object sent early that cannot be read now (a cache file rustc
                    // removed) waits for the final list instead.
                    if let Ok(file) = LoadedFile::reserved_object(&arena, slot, &path) {
                        slots.remove(&name);
                        if let Some(taken) = &mut taken {
                            taken.add(&file);
                            if !unparsed.is_empty() && taken.rules_out_patch(&config, &file) {
                                unparsed
                                    .drain(..)
                                    .try_for_each(|input| session.add(input))
                                    .map_err(|e| e.to_string())?;
                                parsed = format!("parsed from when `{name}` came and ruled the patch out");
                            }
                        }
                        session.add(file).map_err(|e| e.to_string())?;
                        let id = file_id(&path);
                        delivered.insert(name, (path, id));
                    }
                }
                Ok(Event::Finish { objects }) => {
                    session.lap("codegen (inputs parsed and resolved as they come)");
                    break (objects, Instant::now());
                }
                Err(_) => return Err(Failure::Error("codegen stopped before its end".into())),
            }
        };
        // The final list must be the one the command line was built for.
        let mut expected: Vec<&String> = late.iter().map(|(name, _)| name).collect();
        let mut got: Vec<&String> = objects.iter().map(|(name, _)| name).collect();
        expected.sort();
        got.sort();
        if expected != got {
            return Err(Failure::Replan(format!(
                "codegen made other objects than planned ({} planned, {} made)",
                expected.len(),
                got.len()
            )));
        }
        for (name, path) in &objects {
            if let Some((early, id)) = delivered.get(name)
                && (id.is_none() || *id != file_id(path))
            {
                return Err(Failure::Replan(format!(
                    "the object sent early for `{name}` ({}) is not the one codegen made ({})",
                    early.display(),
                    path.display()
                )));
            }
        }
        let late_objects = slots.len();
        let mut last = Vec::new();
        for (name, path) in &objects {
            if let Some(slot) = slots.remove(name) {
                last.push(LoadedFile::reserved_object(&arena, slot, path).map_err(|e| e.to_string())?);
            }
        }
        let mut incremental_outcome = None;
        if let Some(taken) = &mut taken {
            last.iter().for_each(|file| taken.add(file));
            match linker_core::incremental::check(&config, taken) {
                Ok(hashed) => {
                    let outcome =
                        format!("up to date ({hashed} inputs hashed); the inputs known at the start {parsed}");
                    let tail_ms = finish_at.elapsed().as_secs_f64() * 1e3;
                    on_output_ready(Report { tail_ms, late_objects, incremental: Some(outcome) });
                    return Ok(());
                }
                Err(why @ linker_core::incremental::Stale::Inputs { .. }) => {
                    match linker_core::incremental::relink_in_place(&config, taken) {
                        Ok(patched) => {
                            let outcome = format!(
                                "patched in place ({why}): {}; the inputs known at the start {parsed}",
                                patched.tally
                            );
                            let tail_ms = finish_at.elapsed().as_secs_f64() * 1e3;
                            on_output_ready(Report { tail_ms, late_objects, incremental: Some(outcome) });
                            return Ok(());
                        }
                        Err(reason) => {
                            incremental_outcome = Some(format!("full link: {why}, and not in place: {reason}"))
                        }
                    }
                }
                Err(why) => incremental_outcome = Some(format!("full link: {why}")),
            }
        }
        if !unparsed.is_empty() {
            parsed = String::from("parsed once the patch had failed");
        }
        if let Some(outcome) = &mut incremental_outcome {
            outcome.push_str(&format!("; the inputs known at the start {parsed}"));
        }
        for file in unparsed.into_iter().chain(last) {
            session.add(file).map_err(|e| e.to_string())?;
        }
        // Held until the link is done.
        let tokens = jobserver_tokens(cores - 1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1 + tokens.len())
            .thread_name(|i| format!("rivet-link-{i}"))
            .build()
            .map_err(|e| e.to_string())?;
        let (config_ref, arena_ref) = (&config, &arena);
        session.on_output_ready(move |map_of_output| {
            // Recorded before reporting: rustc may end the process once the link is reported.
            if let Some(taken) = taken
                && let Err(e) = taken.record(config_ref, arena_ref, map_of_output())
            {
                eprintln!("warning: rivet: no incremental state kept: {e}");
            }
            let tail_ms = finish_at.elapsed().as_secs_f64() * 1e3;
            on_output_ready(Report { tail_ms, late_objects, incremental: incremental_outcome })
        });
        let linked = session.finish(&pool).map_err(|e| e.to_string());
        // `-Wl,--reproduce=`, as rivet-ld writes it: whether or not the link succeeded.
        linker_core::write_reproducer(&config, &arena, linker_core::VERSION).map_err(|e| e.to_string())?;
        Ok(linked?)
    })
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Error(message)
    }
}

/// A file's identity: an object reused from the incremental cache is a hard link to the
/// previous session's, so both paths have the same.
type FileId = (u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Up to `wanted` tokens from rustc's jobserver client, without waiting for any.
fn jobserver_tokens(wanted: usize) -> Vec<rustc_data_structures::jobserver::Acquired> {
    let client = rustc_data_structures::jobserver::client();
    let mut tokens = Vec::new();
    while tokens.len() < wanted {
        match client.try_acquire() {
            Ok(Some(token)) => tokens.push(token),
            _ => break,
        }
    }
    tokens
}
