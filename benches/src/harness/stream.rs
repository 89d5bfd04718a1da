//! `stream`: ripgrep's real link streamed in-process through linker-core's [`Session`], the
//! way rivet's rustc backend will drive it, to measure the **tail** of a link: the time from
//! the moment the last codegen unit's object is handed to the linker to the moment the output
//! is in place.
//!
//! The inputs are the `replay` step's (rust-lld's `--reproduce` archive of rg's final link,
//! its `response.txt` adapted to `replay.rsp` by [`adapt_response`]), unpacked afresh on
//! tmpfs before every link, as rustc writes its objects just before linking them. A link
//! parses `@replay.rsp -o <out> --threads=N` with [`parse_args`] in the unpacked directory,
//! maps every input with [`load_inputs`] and hands them to a [`Session`] whose parse jobs run
//! on a rayon pool of N threads; the calling thread adds inputs and resolves symbols, as in
//! `rivet-ld`'s driver. Each link is done two ways:
//!
//! * **full link**: every input at once, in command-line order, as `rivet-ld` does (without
//!   its fork, and without the huge-page heap its driver sets up). Timed from the session's
//!   start, mapping the inputs included, to the output ready.
//! * **streamed link**: what rustc knows before codegen (the crt objects, `symbols.o`, the
//!   rlibs and the standard library, the shared libraries: everything but the crate's own
//!   `*.rcgu.o` objects) at once, then the crate's objects one by one, in a seeded random
//!   order, at seeded uniform random times over `--spread-ms` (the last at its end), as codegen
//!   workers would deliver them. Timed: the **tail**, from the moment the last object is
//!   handed over to the output ready ([`Session::on_output_ready`], called before the
//!   teardown), and the **session**, from its start to the output ready.
//!
//! A streamed link runs twice per round: with a **busy window**, one spinning thread per core
//! standing in for codegen from the first object's delivery to the last's (under rustc the
//! cores compile the crate until its last object is written), and with an **idle window**,
//! the cores left idle but for the parse jobs. The difference is what idle cores cost: on the
//! 2-core VM this was written on, the first passes after resolution then run on about one
//! core, and slower on it.
//!
//! Each round also times rust-lld's link of the same replay (a process of its own, inputs
//! unpacked afresh, `--threads=N`), the baseline of the tail's ratio.
//!
//! Each round links once each way at every thread count (the same arrival schedule at each),
//! so that load from elsewhere falls on all alike; the medians of `--runs` rounds after
//! `--warmup` rounds are reported, and the samples are saved in `results/stream.json`.
//!
//! Before timing, a full link's output must run (`rg --version`), and a streamed link with
//! no delays (the crate's objects in shuffled order) must write exactly the same bytes: the
//! output may not depend on arrival order. Every timed link's output is compared with it too.
//!
//! Resolution follows canonical (command-line) order whatever the arrival order, and rustc
//! lists the crate's objects before the rlibs: the rlibs, parsed in the window, are resolved
//! only once the last object is in, inside the tail. `--time` prints each link's phases; in a
//! streamed link, the "parse and load inputs" line after the delivery is that wait (with the
//! last object's parse).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use linker_core::{FileArena, FileKind, LoadedFile, Session, load_inputs, parse_args};
use serde::{Deserialize, Serialize};

use super::config::Config;
use super::linkers::rust_lld_path;
use super::machine::MachineInfo;
use super::measure::median;
use super::process::{run_captured, stdout_of};
use super::project::{self, Profile, RIPGREP};
use super::replay::adapt_response;

/// The adapted response file written into each unpacked archive.
const RESPONSE_FILE: &str = "replay.rsp";
/// Every link's output, inside the unpacked archive (so each link writes a new file).
const OUTPUT: &str = "out-stream";

/// Everything `stream` measured; saved as `results/stream.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamResults {
    pub machine: MachineInfo,
    pub runs: u32,
    pub warmup: u32,
    /// The window over which the crate's objects arrive.
    pub spread_ms: u64,
    pub seed: u64,
    pub notes: Vec<String>,
    pub workloads: Vec<StreamWorkload>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StreamWorkload {
    pub name: String,
    /// Inputs handed over at the start of a streamed link.
    pub early_inputs: usize,
    /// The crate's own objects, handed over one by one.
    pub late_inputs: usize,
    pub cells: Vec<StreamCell>,
}

/// One thread count of one workload.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamCell {
    pub threads: u32,
    /// rust-lld's link of the same replay (`--threads=N`, a process of its own), in the same
    /// round: the baseline every ratio of the bench is taken against.
    pub rust_lld: Summary,
    /// (a) Full link: from the session's start (inputs mapped in it) to the output ready.
    pub full_link: Summary,
    /// The full link from its first `add`, without mapping the inputs.
    pub full_link_from_first_add: Summary,
    /// (b) Streamed link, busy window: from the last object handed over to the output ready.
    pub tail: Summary,
    /// (c) Streamed link, busy window: from the session's start to the output ready.
    pub streamed_session: Summary,
    /// The tail of a streamed link whose cores idled while the objects arrived.
    pub tail_idle_window: Summary,
    /// The session of a streamed link whose cores idled while the objects arrived.
    pub streamed_session_idle_window: Summary,
}

/// The median, minimum and maximum of a cell's samples, and the samples in run order.
#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub samples_s: Vec<f64>,
}

impl StreamResults {
    pub fn save(&self, results_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(results_dir)?;
        let path = results_dir.join("stream.json");
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("saved {}", path.display());
        Ok(())
    }
}

pub fn run(config: &Config) -> Result<StreamResults> {
    let machine = MachineInfo::probe();
    let mut workloads = Vec::new();
    for profile in [Profile::Debug, Profile::Release] {
        let name = format!("rg-{}", profile.name());
        eprintln!("\n== stream: {name} ==");
        let tarball = project::reproduce_tarball(config, &RIPGREP, profile)?;
        let workload =
            Workload { name, tarball, root: config.shm_dir.join("stream"), objects_last: config.objects_last };
        workloads.push(measure(config, &workload).with_context(|| format!("stream {}", workload.name))?);
    }
    let results = StreamResults {
        machine,
        runs: config.runs,
        warmup: config.warmup,
        spread_ms: config.spread_ms,
        seed: config.seed,
        notes: vec![
            "In-process links through linker_core::Session on a rayon pool of N threads; the calling thread adds inputs and resolves symbols.".into(),
            "Late inputs: the crate's own *.rcgu.o objects, in a seeded random order at uniform random times over spread_ms; every other input is added at the start.".into(),
            "Busy window: one spinning thread per core from the first object's delivery to the last's, standing in for codegen; idle window: no load but the parse jobs.".into(),
            "Inputs unpacked afresh on tmpfs before every link; every output is byte-identical to a full link's.".into(),
        ],
        workloads,
    };
    print_table(&results);
    Ok(results)
}

/// A replayed link: rust-lld's `--reproduce` archive, unpacked into `root/<name>`.
pub(super) struct Workload {
    pub(super) name: String,
    pub(super) tarball: PathBuf,
    pub(super) root: PathBuf,
    /// The crate's objects after every other input in canonical order (`--objects-last`).
    pub(super) objects_last: bool,
}

impl Workload {
    /// Unpacks the archive afresh and writes the adapted response file; returns the directory.
    pub(super) fn unpack(&self) -> Result<PathBuf> {
        let dir = self.root.join(&self.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&self.root)?;
        run_captured(Command::new("tar").arg("xf").arg(&self.tarball).arg("-C").arg(&self.root))?;
        let response = std::fs::read_to_string(dir.join("response.txt"))
            .with_context(|| format!("{} unpacked no {}/response.txt", self.tarball.display(), self.name))?;
        let mut lines = adapt_response(&response);
        if self.objects_last {
            // A stable partition: the crate's objects keep their order among themselves.
            let (objects, rest): (Vec<String>, Vec<String>) =
                lines.into_iter().partition(|l| names_crate_object(Path::new(l)));
            lines = rest.into_iter().chain(objects).collect();
        }
        std::fs::write(dir.join(RESPONSE_FILE), lines.join("\n") + "\n")?;
        Ok(dir)
    }

    /// Times rust-lld's link of freshly unpacked inputs, as the replay step runs it.
    fn time_rust_lld(&self, rust_lld: &Path, threads: u32) -> Result<Duration> {
        let dir = self.unpack()?;
        let mut command = Command::new(rust_lld);
        command.args(["-flavor", "gnu", &format!("@{RESPONSE_FILE}"), "-o", "out-rust-lld"]);
        command.arg(format!("--threads={threads}")).current_dir(&dir);
        let start = Instant::now();
        run_captured(&mut command).context("rust-lld's link failed")?;
        Ok(start.elapsed())
    }

    /// Where the first full link's output is kept, the bytes every other link must write.
    fn reference(&self) -> PathBuf {
        self.root.join(format!("{}.reference", self.name))
    }

    /// Links on freshly unpacked inputs and checks the output against the reference.
    fn link_checked(&self, threads: u32, delivery: Delivery, linker_time: bool) -> Result<LinkTimes> {
        let dir = self.unpack()?;
        let times = link(&dir, threads, delivery, linker_time)?;
        let output = dir.join(OUTPUT);
        let reference = self.reference();
        if std::fs::read(&output)? != std::fs::read(&reference)? {
            let kept = self.root.join(format!("{}.mismatch", self.name));
            std::fs::copy(&output, &kept)?;
            bail!(
                "the output of a {} link at {threads} thread(s) differs from a full link's: compare {} with {}",
                delivery.describe(),
                kept.display(),
                reference.display()
            );
        }
        Ok(times)
    }
}

/// The checks, then the timed rounds, of one workload.
fn measure(config: &Config, workload: &Workload) -> Result<StreamWorkload> {
    let rust_lld = rust_lld_path(config).map_err(anyhow::Error::msg)?;
    let first_threads = config.threads[0];
    let dir = workload.unpack()?;
    link(&dir, first_threads, Delivery::AllAtOnce, false).context("the full link failed")?;
    std::fs::copy(dir.join(OUTPUT), workload.reference())?;
    let version = stdout_of(Command::new(workload.reference()).arg("--version")).context("the output does not run")?;
    eprintln!("full link at {first_threads} thread(s) runs: {}", version.lines().next().unwrap_or(""));
    let mut counts = (0, 0);
    for &threads in &config.threads {
        let immediate = Delivery::Streamed { spread: Duration::ZERO, seed: config.seed, codegen_load: false };
        counts = workload.link_checked(threads, immediate, false)?.counts;
        eprintln!("streamed link with no delays at {threads} thread(s): same output");
    }
    let (early_inputs, late_inputs) = counts;
    eprintln!("{early_inputs} inputs at the start, {late_inputs} of the crate's objects over {} ms", config.spread_ms);

    let spread = Duration::from_millis(config.spread_ms);
    let mut round_seeds = SplitMix64(config.seed);
    let mut samples: Vec<Vec<RoundTimes>> = config.threads.iter().map(|_| Vec::new()).collect();
    let rounds = config.warmup + config.runs;
    for round in 0..rounds {
        let seed = round_seeds.next();
        let busy = Delivery::Streamed { spread, seed, codegen_load: true };
        let idle = Delivery::Streamed { spread, seed, codegen_load: false };
        let warm_up = if round < config.warmup { " (warm-up)" } else { "" };
        let mut line = format!("-- round {} of {rounds}{warm_up}:", round + 1);
        for (&threads, samples) in config.threads.iter().zip(&mut samples) {
            let times = RoundTimes {
                rust_lld: workload.time_rust_lld(&rust_lld, threads)?,
                full: workload.link_checked(threads, Delivery::AllAtOnce, config.linker_time)?,
                busy: workload.link_checked(threads, busy, config.linker_time)?,
                idle: workload.link_checked(threads, idle, config.linker_time)?,
            };
            line += &format!(
                "  {threads}t rust-lld {:.3} s, full {:.3} s, tail {:.3} s (idle window {:.3} s);",
                times.rust_lld.as_secs_f64(),
                times.full.ready.as_secs_f64(),
                times.busy.tail().as_secs_f64(),
                times.idle.tail().as_secs_f64()
            );
            if round >= config.warmup {
                samples.push(times);
            }
        }
        eprintln!("{}", line.trim_end_matches(';'));
    }
    let cells = config
        .threads
        .iter()
        .zip(&samples)
        .map(|(&threads, samples)| StreamCell {
            threads,
            rust_lld: summarize(samples.iter().map(|times| times.rust_lld)),
            full_link: summarize(samples.iter().map(|times| times.full.ready)),
            full_link_from_first_add: summarize(samples.iter().map(|times| times.full.ready - times.full.loaded)),
            tail: summarize(samples.iter().map(|times| times.busy.tail())),
            streamed_session: summarize(samples.iter().map(|times| times.busy.ready)),
            tail_idle_window: summarize(samples.iter().map(|times| times.idle.tail())),
            streamed_session_idle_window: summarize(samples.iter().map(|times| times.idle.ready)),
        })
        .collect();
    Ok(StreamWorkload { name: workload.name.clone(), early_inputs, late_inputs, cells })
}

/// When a link's inputs are handed over.
#[derive(Clone, Copy)]
enum Delivery {
    /// All of them at once, in command-line order.
    AllAtOnce,
    /// Everything but the crate's objects at once, then those one by one, in an order and at
    /// times drawn from `seed`, over `spread` (all at once when it is zero); with
    /// `codegen_load`, every core is kept busy until the last one is handed over.
    Streamed { spread: Duration, seed: u64, codegen_load: bool },
}

impl Delivery {
    fn describe(self) -> String {
        match self {
            Delivery::AllAtOnce => "full".into(),
            Delivery::Streamed { spread, seed, codegen_load } => format!(
                "streamed ({} ms, seed {seed}, {} window)",
                spread.as_millis(),
                if codegen_load { "busy" } else { "idle" }
            ),
        }
    }
}

/// One round's links at one thread count.
struct RoundTimes {
    rust_lld: Duration,
    full: LinkTimes,
    /// Streamed, the cores busy while the objects arrive.
    busy: LinkTimes,
    /// Streamed, the cores idle while the objects arrive.
    idle: LinkTimes,
}

/// The moments of one link, from the session's start.
struct LinkTimes {
    /// Every input mapped.
    loaded: Duration,
    /// The last input handed over.
    last_add: Duration,
    /// The output in place.
    ready: Duration,
    /// (inputs added at the start, inputs added one by one).
    counts: (usize, usize),
}

impl LinkTimes {
    fn tail(&self) -> Duration {
        self.ready - self.last_add
    }
}

/// Links the replay unpacked in `dir` in this process, on a pool of `threads` threads.
fn link(dir: &Path, threads: u32, delivery: Delivery, linker_time: bool) -> Result<LinkTimes> {
    let mut argv: Vec<OsString> = vec![
        format!("@{RESPONSE_FILE}").into(),
        "-o".into(),
        dir.join(OUTPUT).into(),
        format!("--threads={threads}").into(),
    ];
    if linker_time {
        argv.push("--time".into());
    }
    in_directory(dir, || {
        let config = parse_args(&argv)?;
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads as usize).build()?;
        let arena = FileArena::default();
        let output_ready = OnceLock::new();
        let start = Instant::now();
        let (loaded, last_add, counts) = pool.in_place_scope(|scope| -> Result<_> {
            let mut session = Session::new(config.clone(), &arena, scope);
            session.on_output_ready(|_| {
                let _ = output_ready.set(Instant::now());
            });
            let inputs = load_inputs(&config, &arena)?;
            session.lap("open inputs");
            let loaded = Instant::now();
            let (early, late): (Vec<_>, Vec<_>) = match delivery {
                Delivery::AllAtOnce => (inputs, Vec::new()),
                Delivery::Streamed { .. } => inputs.into_iter().partition(|input| !is_crate_object(input)),
            };
            let counts = (early.len(), late.len());
            let mut last_add = Instant::now();
            let mut codegen = None;
            for input in early {
                last_add = Instant::now();
                session.add(input)?;
            }
            if let Delivery::Streamed { spread, seed, codegen_load } = delivery {
                session.lap("add the inputs known before codegen");
                codegen = codegen_load.then(CodegenLoad::start);
                let delivery_start = Instant::now();
                let schedule = arrival_schedule(late.len(), spread, seed);
                let arrivals = schedule.len();
                let mut late: Vec<Option<LoadedFile>> = late.into_iter().map(Some).collect();
                for (arrival, (index, offset)) in schedule.into_iter().enumerate() {
                    std::thread::sleep((delivery_start + offset).saturating_duration_since(Instant::now()));
                    if arrival + 1 == arrivals {
                        // Codegen is over; with `--time`, the next lap is the whole wait for
                        // the last object's parse and the resolution queued behind it.
                        if let Some(codegen) = &codegen {
                            codegen.stop();
                        }
                        session.lap("deliver the crate's objects");
                    }
                    last_add = Instant::now();
                    session.add(late[index].take().context("an object arrives twice")?)?;
                }
            }
            session.finish(&pool)?;
            drop(codegen);
            Ok((loaded, last_add, counts))
        })?;
        let ready = *output_ready.get().context("the link returned without its output in place")?;
        Ok(LinkTimes { loaded: loaded - start, last_add: last_add - start, ready: ready - start, counts })
    })
}

/// Runs `f` in `dir`, as the replay runs its linkers: the response file's paths are relative
/// to the unpacked archive.
fn in_directory<T>(dir: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let previous = std::env::current_dir()?;
    std::env::set_current_dir(dir).with_context(|| format!("entering {}", dir.display()))?;
    let result = f();
    std::env::set_current_dir(&previous)?;
    result
}

/// One spinning thread per core, standing in for rustc's codegen workers while the crate's
/// objects arrive. [`CodegenLoad::stop`] ends the spinning at once; dropping it also waits
/// for the threads (after the link, so that a descheduled spinner cannot delay it).
struct CodegenLoad {
    running: Arc<AtomicBool>,
    spinners: Vec<JoinHandle<()>>,
}

impl CodegenLoad {
    fn start() -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let spinners = (0..cores)
            .map(|_| {
                let running = Arc::clone(&running);
                std::thread::spawn(move || {
                    while running.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        CodegenLoad { running, spinners }
    }

    fn stop(&self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

impl Drop for CodegenLoad {
    fn drop(&mut self) {
        self.stop();
        for spinner in self.spinners.drain(..) {
            let _ = spinner.join();
        }
    }
}

/// An object the crate's codegen writes (rlibs hold the dependencies' `*.rcgu.o` as members).
fn is_crate_object(input: &LoadedFile) -> bool {
    input.kind == FileKind::Object && names_crate_object(&input.path)
}

/// Whether `path` (an input, or a line of the response file) names one of the crate's objects.
pub(super) fn names_crate_object(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name.to_string_lossy().ends_with(".rcgu.o"))
}

/// The order in which `count` late inputs arrive (indexes into them) and when, from the start
/// of the delivery: uniform random times, scaled so that the last falls at the end of `spread`.
fn arrival_schedule(count: usize, spread: Duration, seed: u64) -> Vec<(usize, Duration)> {
    let mut random = SplitMix64(seed);
    let mut order: Vec<usize> = (0..count).collect();
    for i in (1..count).rev() {
        order.swap(i, random.below(i + 1));
    }
    let mut times: Vec<f64> = (0..count).map(|_| random.unit()).collect();
    times.sort_by(f64::total_cmp);
    let latest = times.last().copied().unwrap_or(1.0);
    order.into_iter().zip(times).map(|(index, time)| (index, spread.mul_f64(time / latest))).collect()
}

/// SplitMix64: a small seeded generator, plenty for shuffling and spacing arrivals.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn summarize(samples: impl Iterator<Item = Duration>) -> Summary {
    let samples_s: Vec<f64> = samples.map(|sample| sample.as_secs_f64()).collect();
    let mut sorted = samples_s.clone();
    sorted.sort_by(f64::total_cmp);
    Summary {
        median_s: median(&sorted),
        min_s: sorted.first().copied().unwrap_or(0.0),
        max_s: sorted.last().copied().unwrap_or(0.0),
        samples_s,
    }
}

fn print_table(results: &StreamResults) {
    println!(
        "\nstream: milliseconds, median (min-max) of {} runs; the crate's objects arrive over {} ms (seed {})",
        results.runs, results.spread_ms, results.seed
    );
    println!(
        "{:<11} {:>7}  {:<16} {:<16} {:<16} {:>9} {:>13}  {:<19} {:<16}",
        "workload",
        "threads",
        "rust-lld",
        "(a) full link",
        "(b) tail",
        "tail/full",
        "tail/rust-lld",
        "(c) session",
        "tail, idle window"
    );
    let cell = |summary: &Summary| {
        format!("{:.0} ({:.0}-{:.0})", summary.median_s * 1e3, summary.min_s * 1e3, summary.max_s * 1e3)
    };
    for workload in &results.workloads {
        for row in &workload.cells {
            println!(
                "{:<11} {:>7}  {:<16} {:<16} {:<16} {:>8.0}% {:>12.2}×  {:<19} {:<16}",
                workload.name,
                row.threads,
                cell(&row.rust_lld),
                cell(&row.full_link),
                cell(&row.tail),
                100.0 * row.tail.median_s / row.full_link.median_s,
                row.tail.median_s / row.rust_lld.median_s,
                cell(&row.streamed_session),
                cell(&row.tail_idle_window)
            );
        }
        println!(
            "{:<11} {} inputs at the start, then {} of the crate's objects",
            "", workload.early_inputs, workload.late_inputs
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_schedule_delivers_each_input_once_within_the_spread() {
        let spread = Duration::from_millis(1500);
        let schedule = arrival_schedule(50, spread, 7);
        let mut indexes: Vec<usize> = schedule.iter().map(|&(index, _)| index).collect();
        assert_ne!(indexes, (0..50).collect::<Vec<_>>(), "the order is shuffled");
        indexes.sort();
        assert_eq!(indexes, (0..50).collect::<Vec<_>>());
        assert!(schedule.windows(2).all(|pair| pair[0].1 <= pair[1].1), "arrival times ascend");
        assert_eq!(schedule.last().unwrap().1, spread);
        assert_eq!(arrival_schedule(50, spread, 7), schedule, "the seed fixes the schedule");
        assert!(arrival_schedule(50, Duration::ZERO, 7).iter().all(|&(_, offset)| offset.is_zero()));
    }
}
