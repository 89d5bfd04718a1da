//! Command-line parsing and the settings every step shares (paths, toolchain, run counts).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::linker_id::LinkerId;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Setup,
    Replay,
    Synth,
    EndToEnd,
    /// Streamed replay of ripgrep's link through linker-core's `Session`: the tail of a link.
    Stream,
    Relink,
    Report,
    All,
    /// Writes one synthetic workload and prints its checksum and link command.
    Generate,
    /// Internal: the edit hyperfine applies before each incremental end-to-end build.
    BumpEdit,
}

pub const USAGE: &str = "\
usage: cargo run --release -p rivet-bench -- <command> [options]

commands:
  setup    install the peer linkers and tools (idempotent), build rivet-ld
  replay   link replays of real projects (debug and release): ripgrep, and with --big
           typst-cli and starship
  synth    synthetic scaling workload (generated objects, 1k..100k functions; with --big
           also 300k and 1M)
  e2e      end-to-end cargo builds of ripgrep (slow)
  stream   ripgrep's link streamed in-process through rivet's Session API, as the rustc
           backend will drive it: the tail from the last object handed over to the output
  relink   rivet-ld --incremental on the replays (with --big too): an object changed, none
           changed, one rewritten with the same bytes; rivet's full link and rust-lld's
           alongside (--threads a,b,... as for stream)
  report   regenerate benches/RESULTS.md and benches/results/*.svg from saved JSON
  all      setup + replay + synth + report (+ e2e with --e2e)
  generate DIR OBJECTS FUNCTIONS
           write one synthetic workload into DIR and print its checksum and an ld command

options:
  --e2e              with `all`: also run the end-to-end builds
  --big              replay too the big links (typst-cli and starship: 312 and 291 packages;
                     their first builds take tens of minutes); synth too 300k and 1M functions
  --quick            fewer runs and smaller synthetic sizes (smoke test, ~3 min)
  --runs N           timed runs per link (default 10)
  --warmup N         warm-up runs per link (default 2)
  --e2e-runs N       timed runs per end-to-end build (default 3)
  --linkers a,b,...  only these linkers (rust-lld is always included as the baseline):
                     rust-lld, lld, mold, wild, bfd, zig, rivet
  --jobs N           cargo jobs for building ripgrep and rivet-ld (default: all cores)
  --work-dir DIR     scratch directory (default $RIVET_BENCH_DIR or /tmp/rivet-bench)
  --no-install       never install anything; missing peers are reported as missing

stream options:
  --threads a,b,...  thread counts to measure (default 1,2)
  --spread-ms N      window over which the crate's own objects arrive (default 1500)
  --seed N           seed of their arrival order and spacing (default 1)
  --time             print each link's phases (rivet-ld --time) to stderr
  --objects-last     canonical order with the crate's own objects after every other input
                     (the order the backend can choose), instead of rustc's command line
";

/// Settings shared by all steps.
#[derive(Debug, Clone)]
pub struct Config {
    pub step: Step,
    pub with_e2e: bool,
    /// `--big`: the replay includes the big projects.
    pub big: bool,
    pub quick: bool,
    pub runs: u32,
    pub warmup: u32,
    pub e2e_runs: u32,
    pub jobs: usize,
    pub install: bool,
    pub linkers: Vec<LinkerId>,
    /// `stream`: the thread counts measured.
    pub threads: Vec<u32>,
    /// `stream`: the window over which the late inputs arrive, in milliseconds.
    pub spread_ms: u64,
    /// `stream`: seed of the late inputs' arrival order and spacing.
    pub seed: u64,
    /// `stream`: each link prints its phases, as `rivet-ld --time` does.
    pub linker_time: bool,
    /// `stream`: the crate's objects move after every other input on the command line.
    pub objects_last: bool,
    /// The workspace root (parent of `benches/`).
    pub repo_root: PathBuf,
    /// `benches/`: where RESULTS.md and `results/*.svg` go.
    pub benches_dir: PathBuf,
    /// Scratch space for sources, builds and JSON results (outside the repo).
    pub work_dir: PathBuf,
    /// tmpfs directory for link inputs and outputs (`/dev/shm/<work dir's name>`).
    pub shm_dir: PathBuf,
    /// The toolchain pinned in rust-toolchain.toml, exported as RUSTUP_TOOLCHAIN to every
    /// cargo/rustc the harness starts (the work dir is outside the repo, so rustup would
    /// otherwise pick its default toolchain).
    pub toolchain: String,
}

/// The extra argument list after the command name, e.g. for `bump-edit FILE`.
pub fn parse(args: &[String]) -> Result<(Config, Vec<String>)> {
    let Some(command) = args.first() else { bail!("no command given\n\n{USAGE}") };
    let step = match command.as_str() {
        "setup" => Step::Setup,
        "replay" => Step::Replay,
        "synth" => Step::Synth,
        "e2e" => Step::EndToEnd,
        "stream" => Step::Stream,
        "relink" => Step::Relink,
        "report" => Step::Report,
        "all" => Step::All,
        "generate" => Step::Generate,
        "bump-edit" => Step::BumpEdit,
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            std::process::exit(0);
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    };

    let benches_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo_root = benches_dir.parent().context("benches/ has no parent")?.to_path_buf();
    let mut config = Config {
        step,
        with_e2e: false,
        big: false,
        quick: false,
        runs: 10,
        warmup: 2,
        e2e_runs: 3,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        install: true,
        linkers: LinkerId::ALL.to_vec(),
        threads: vec![1, 2],
        spread_ms: 1500,
        seed: 1,
        linker_time: false,
        objects_last: false,
        toolchain: pinned_toolchain(&repo_root)?,
        work_dir: std::env::var_os("RIVET_BENCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp/rivet-bench")),
        shm_dir: PathBuf::new(),
        repo_root,
        benches_dir,
    };
    let mut runs_given = false;
    let mut rest = Vec::new();
    let mut iter = args[1..].iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| iter.next().cloned().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--e2e" => config.with_e2e = true,
            "--big" => config.big = true,
            "--quick" => config.quick = true,
            "--no-install" => config.install = false,
            "--runs" => {
                config.runs = value("--runs")?.parse().context("--runs")?;
                runs_given = true;
            }
            "--warmup" => config.warmup = value("--warmup")?.parse().context("--warmup")?,
            "--e2e-runs" => config.e2e_runs = value("--e2e-runs")?.parse().context("--e2e-runs")?,
            "--jobs" => config.jobs = value("--jobs")?.parse().context("--jobs")?,
            "--work-dir" => config.work_dir = PathBuf::from(value("--work-dir")?),
            "--threads" => {
                config.threads = value("--threads")?
                    .split(',')
                    .filter(|count| !count.is_empty())
                    .map(|count| count.parse().with_context(|| format!("--threads: `{count}`")))
                    .collect::<Result<_>>()?;
                if config.threads.is_empty() || config.threads.contains(&0) {
                    bail!("--threads needs thread counts of at least 1");
                }
            }
            "--spread-ms" => config.spread_ms = value("--spread-ms")?.parse().context("--spread-ms")?,
            "--seed" => config.seed = value("--seed")?.parse().context("--seed")?,
            "--time" => config.linker_time = true,
            "--objects-last" => config.objects_last = true,
            "--linkers" => {
                let mut chosen = vec![LinkerId::RustLld];
                for key in value("--linkers")?.split(',').filter(|k| !k.is_empty()) {
                    let id = LinkerId::from_key(key).with_context(|| format!("unknown linker `{key}` in --linkers"))?;
                    if !chosen.contains(&id) {
                        chosen.push(id);
                    }
                }
                chosen.sort();
                config.linkers = chosen;
            }
            other if other.starts_with("--") => bail!("unknown option `{other}`\n\n{USAGE}"),
            other => rest.push(other.to_string()),
        }
    }
    // tmpfs twin of the work dir: /tmp/rivet-bench -> /dev/shm/rivet-bench.
    let work_name = config.work_dir.file_name().map_or("rivet-bench".into(), |n| n.to_os_string());
    config.shm_dir = PathBuf::from("/dev/shm").join(work_name);
    if config.quick && !runs_given {
        config.runs = 3;
        config.warmup = 1;
        config.e2e_runs = 1;
    }
    if config.runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok((config, rest))
}

impl Config {
    pub fn results_dir(&self) -> PathBuf {
        self.work_dir.join("results")
    }

    pub fn wants(&self, linker: LinkerId) -> bool {
        self.linkers.contains(&linker)
    }

    /// `cargo` with the pinned toolchain selected.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new("cargo");
        command.env("RUSTUP_TOOLCHAIN", &self.toolchain);
        command
    }

    /// `rustc` with the pinned toolchain selected.
    pub fn rustc(&self) -> Command {
        let mut command = Command::new("rustc");
        command.env("RUSTUP_TOOLCHAIN", &self.toolchain);
        command
    }
}

/// The `channel` of the workspace's rust-toolchain.toml (or $RUSTUP_TOOLCHAIN if set).
fn pinned_toolchain(repo_root: &std::path::Path) -> Result<String> {
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        return Ok(toolchain);
    }
    let path = repo_root.join("rust-toolchain.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("channel"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(|value| value.trim().trim_matches('"').to_string())
        .next()
        .with_context(|| format!("no `channel = \"…\"` in {}", path.display()))
}
