//! Measuring one link: a checked first run, then hyperfine for wall/CPU time, then a few
//! runs under `/usr/bin/time -f %M` for peak RSS, and the output's size.
//!
//! The first run is not timed: it produces the output that the workload verifies (a
//! linker whose output is wrong is not timed at all, and its cell reads "fails").

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::config::Config;
use super::linkers::{Linker, LinkerId};
use super::process::{describe, first_line, run_captured, run_visible, tail};
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

/// Runs, verifies and times `job`; never fails, a problem becomes a "fails" cell.
pub fn measure(config: &Config, mut job: LinkJob, verify: &dyn Fn(&Path) -> Result<()>) -> Cell {
    let command_line = describe(&job.command);
    let outcome = match check_then_time(config, &mut job, verify) {
        Ok(stats) => Outcome::Measured(stats),
        Err(error) => {
            eprintln!("  {} ({} thread(s)) fails: {}", job.linker.label(), job.threads, tail(&format!("{error:#}"), 6));
            Outcome::Failed(summarize(&format!("{error:#}")))
        }
    };
    Cell { linker: job.linker, threads: job.threads, outcome, command: Some(command_line), label: None }
}

fn check_then_time(config: &Config, job: &mut LinkJob, verify: &dyn Fn(&Path) -> Result<()>) -> Result<Stats> {
    let _ = std::fs::remove_file(&job.output);
    prepare(job)?;
    run_captured(&mut job.command).context("link failed")?;
    if !job.output.is_file() {
        bail!("the linker exited successfully but wrote no {}", job.output.display());
    }
    verify(&job.output).context("output fails verification")?;
    let output_bytes = std::fs::metadata(&job.output).ok().map(|m| m.len());
    let mut stats = hyperfine(config, job)?;
    stats.peak_rss_kib = peak_rss(job).ok();
    stats.output_bytes = output_bytes;
    Ok(stats)
}

fn prepare(job: &LinkJob) -> Result<()> {
    if let Some(argv) = &job.prepare {
        run_captured(Command::new(&argv[0]).args(&argv[1..]))?;
    }
    Ok(())
}

fn hyperfine(config: &Config, job: &LinkJob) -> Result<Stats> {
    let json = job.output.with_extension("hyperfine.json");
    let mut command = Command::new("hyperfine");
    if let Some(dir) = job.command.get_current_dir() {
        command.current_dir(dir);
    }
    command
        .args(["-N", "--style", "basic", "--warmup"])
        .arg(config.warmup.to_string())
        .arg("--runs")
        .arg(config.runs.to_string())
        .arg("--export-json")
        .arg(&json)
        .arg("--command-name")
        .arg(format!("{} --threads={}", job.linker.label(), job.threads));
    if let Some(argv) = &job.prepare {
        command
            .arg("--prepare")
            .arg(argv.iter().map(|a| super::process::shell_quote(a.as_ref())).collect::<Vec<_>>().join(" "));
    }
    command.arg(describe(&job.command));
    run_visible(&mut command).context("hyperfine failed (the link failed during the timed runs?)")?;
    parse_hyperfine_json(&json)
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
