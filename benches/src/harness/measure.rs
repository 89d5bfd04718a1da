//! Measuring the links of one workload: a checked first run of each, then wall and CPU time
//! in rounds, then a few runs under `/usr/bin/time -f %M` for peak RSS, and the output's size.
//!
//! The first run is not timed: it produces the output that the workload verifies (a
//! linker whose output is wrong is not timed at all, and its cell reads "fails").
//!
//! Timing is round-robin: each round runs every linker's link once, so that a host busy
//! with other work slows all of them alike. Timing one linker's runs after another's (as
//! hyperfine does per command) let load that came and went decide the ratios on shared
//! machines: the same build measured 0.28x and 0.83x of rust-lld in two runs an hour apart.
//! Each round runs the links in an order of its own (a fixed shuffle per round): on the VMs
//! rivet is measured on, a link that follows one that has just freed a gigabyte pays for it
//! (starship-debug with rivet-ld: 472 ms right after wild, 404 ms after rivet-ld, in the same
//! rounds), so a fixed order charged the same linkers every round.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::config::Config;
use super::linker_id::LinkerId;
use super::linkers::Linker;
use super::process::{describe, first_line, run_captured, tail};
use super::results::{Cell, Outcome, Stats};

/// How many extra runs measure peak RSS (the highest is reported).
const RSS_RUNS: usize = 3;

/// One link to measure.
/// The start of every link job: the linker's command, run in `dir`, or the reason this cell
/// has no run (rivet-ld missing is a failure; a missing peer is "n/a").
pub fn base_command(linker: &Linker, threads: u32, dir: &Path) -> std::result::Result<Command, Outcome> {
    if let Some(reason) = linker.unavailable_reason() {
        return Err(if linker.id == LinkerId::Rivet {
            Outcome::Failed(summarize(reason))
        } else {
            Outcome::NotApplicable(format!("not installed: {}", first_line(reason)))
        });
    }
    if threads > 1 && !linker.id.is_multithreaded() {
        return Err(Outcome::NotApplicable("single-threaded".into()));
    }
    let Some(mut command) = linker.command() else {
        return Err(Outcome::NotApplicable("not available".into()));
    };
    command.current_dir(dir);
    Ok(command)
}

pub struct LinkJob {
    pub linker: LinkerId,
    pub threads: u32,
    /// The complete link command (its working directory set), writing `output`.
    pub command: Command,
    pub output: PathBuf,
    /// Run before every link (e.g. emptying Zig's artifact cache); no shell.
    pub prepare: Option<Vec<String>>,
}

/// Runs, verifies and times `jobs` (the links of one workload); returns their cells in the
/// same order. Never fails: a problem becomes a "fails" cell.
pub fn measure_all(config: &Config, jobs: Vec<LinkJob>, verify: &dyn Fn(&Path) -> Result<()>) -> Vec<Cell> {
    let mut jobs: Vec<(LinkJob, Result<Option<u64>>)> = jobs
        .into_iter()
        .map(|mut job| {
            eprintln!("-- check {} ({} thread(s))", job.linker.label(), job.threads);
            let checked = check(&mut job, verify);
            (job, checked)
        })
        .collect();
    let mut samples: Vec<Vec<Sample>> = jobs.iter().map(|_| Vec::new()).collect();
    let rounds = config.warmup + config.runs;
    for round in 0..rounds {
        eprintln!("-- round {} of {rounds}{}", round + 1, if round < config.warmup { " (warm-up)" } else { "" });
        for i in round_order(jobs.len(), round) {
            let ((job, checked), samples) = (&mut jobs[i], &mut samples[i]);
            if checked.is_err() {
                continue;
            }
            match timed_run(job) {
                Ok(sample) if round >= config.warmup => samples.push(sample),
                Ok(_) => {}
                Err(error) => *checked = Err(error.context("a timed run failed")),
            }
        }
    }
    jobs.into_iter()
        .zip(samples)
        .map(|((job, checked), samples)| {
            let outcome = match checked {
                Ok(output_bytes) => {
                    let mut stats = stats_of(&samples);
                    stats.peak_rss_kib = peak_rss(&job).ok();
                    stats.output_bytes = output_bytes;
                    Outcome::Measured(stats)
                }
                Err(error) => {
                    eprintln!(
                        "  {} ({} thread(s)) fails: {}",
                        job.linker.label(),
                        job.threads,
                        tail(&format!("{error:#}"), 6)
                    );
                    Outcome::Failed(summarize(&format!("{error:#}")))
                }
            };
            Cell {
                linker: job.linker,
                threads: job.threads,
                outcome,
                command: Some(describe(&job.command)),
                label: None,
            }
        })
        .collect()
}

/// The order of `n` links in round `round`: a shuffle that depends only on the round
/// (Fisher-Yates driven by a 64-bit xorshift seeded with it), so that runs are repeatable.
fn round_order(n: usize, round: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (u64::from(round) + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// The untimed first run: links, checks the output exists and verifies; returns its size.
fn check(job: &mut LinkJob, verify: &dyn Fn(&Path) -> Result<()>) -> Result<Option<u64>> {
    let _ = std::fs::remove_file(&job.output);
    prepare(job)?;
    run_captured(&mut job.command).context("link failed")?;
    if !job.output.is_file() {
        bail!("the linker exited successfully but wrote no {}", job.output.display());
    }
    verify(&job.output).context("output fails verification")?;
    Ok(std::fs::metadata(&job.output).ok().map(|m| m.len()))
}

fn prepare(job: &LinkJob) -> Result<()> {
    if let Some(argv) = &job.prepare {
        run_captured(Command::new(&argv[0]).args(&argv[1..]))?;
    }
    Ok(())
}

/// One timed run: wall seconds, and the user and system CPU seconds of the processes waited for.
struct Sample {
    wall: f64,
    user: f64,
    system: f64,
}

fn timed_run(job: &mut LinkJob) -> Result<Sample> {
    prepare(job)?;
    job.command.stdout(Stdio::null()).stderr(Stdio::null());
    let before = children_cpu();
    let start = Instant::now();
    let status = job.command.status().with_context(|| format!("running {}", describe(&job.command)))?;
    let wall = start.elapsed().as_secs_f64();
    let after = children_cpu();
    if !status.success() {
        bail!("the link exited with {status}");
    }
    Ok(Sample { wall, user: after.0 - before.0, system: after.1 - before.1 })
}

/// User and system CPU seconds of all children waited for so far.
fn children_cpu() -> (f64, f64) {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (seconds(usage.ru_utime), seconds(usage.ru_stime))
}

/// The median of `sorted` (0 for none).
pub fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        len if len % 2 == 1 => sorted[len / 2],
        len => (sorted[len / 2 - 1] + sorted[len / 2]) / 2.0,
    }
}

fn stats_of(samples: &[Sample]) -> Stats {
    let mut walls: Vec<f64> = samples.iter().map(|s| s.wall).collect();
    walls.sort_by(f64::total_cmp);
    let n = walls.len().max(1) as f64;
    let median = median(&walls);
    let mean = walls.iter().sum::<f64>() / n;
    let variance = walls.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    Stats {
        runs: samples.len(),
        median_s: median,
        mean_s: mean,
        stddev_s: variance.sqrt(),
        min_s: walls.first().copied().unwrap_or(0.0),
        max_s: walls.last().copied().unwrap_or(0.0),
        user_s: samples.iter().map(|s| s.user).sum::<f64>() / n,
        system_s: samples.iter().map(|s| s.system).sum::<f64>() / n,
        peak_rss_kib: None,
        output_bytes: None,
    }
}

/// Reads hyperfine's `--export-json` output (one command).
pub fn parse_hyperfine_json(path: &Path) -> Result<Stats> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    let result = &value["results"][0];
    let number = |key: &str| result[key].as_f64().with_context(|| format!("hyperfine JSON has no `{key}`"));
    let runs = result["times"].as_array().map_or(0, Vec::len);
    Ok(Stats {
        runs,
        median_s: number("median")?,
        mean_s: number("mean")?,
        stddev_s: number("stddev").unwrap_or(0.0),
        min_s: number("min")?,
        max_s: number("max")?,
        user_s: number("user")?,
        system_s: number("system")?,
        peak_rss_kib: None,
        output_bytes: None,
    })
}

/// The highest max-RSS (KiB) over a few runs under `/usr/bin/time -f %M`.
fn peak_rss(job: &LinkJob) -> Result<u64> {
    let report = job.output.with_extension("rss");
    let mut peak = 0;
    for _ in 0..RSS_RUNS {
        prepare(job)?;
        let mut command = Command::new("/usr/bin/time");
        command.args(["-f", "%M", "-o"]).arg(&report).arg(job.command.get_program()).args(job.command.get_args());
        if let Some(dir) = job.command.get_current_dir() {
            command.current_dir(dir);
        }
        for (key, value) in job.command.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        run_captured(&mut command)?;
        let text = std::fs::read_to_string(&report)?;
        let kib: u64 =
            text.trim().lines().last().unwrap_or("").trim().parse().context("parsing /usr/bin/time output")?;
        peak = peak.max(kib);
    }
    Ok(peak)
}

/// One line for a table cell: the most telling line of an error chain.
pub fn summarize(error: &str) -> String {
    let interesting = error
        .lines()
        .map(str::trim)
        .find(|line| {
            let lower = line.to_ascii_lowercase();
            (lower.contains("error") || lower.contains("unsupported") || lower.contains("not implemented"))
                && !lower.starts_with("link failed")
        })
        .map(str::to_string)
        .unwrap_or_else(|| first_line(error));
    let mut text: String = interesting.chars().take(160).collect();
    if interesting.chars().count() > 160 {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::round_order;

    #[test]
    fn each_round_runs_every_link_once_in_an_order_of_its_own() {
        let orders: Vec<Vec<usize>> = (0..6).map(|round| round_order(11, round)).collect();
        for order in &orders {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..11).collect::<Vec<_>>());
        }
        // Who runs right before whom changes from round to round.
        let predecessors = |order: &Vec<usize>| order.windows(2).map(|w| (w[0], w[1])).collect::<Vec<_>>();
        assert!(orders.windows(2).all(|w| predecessors(&w[0]) != predecessors(&w[1])));
        assert_eq!(round_order(11, 3), round_order(11, 3));
    }
}
