//! The benchmark driver behind `cargo run --release -p rivet-bench -- <command>`.
//!
//! Each step is a module: [`setup`] installs peers, [`replay`] replays real projects' links,
//! [`synth_bench`] links the generated scaling workload, [`e2e`] times whole cargo builds,
//! and [`report`] renders the saved JSON ([`results`]) as RESULTS.md and [`charts`].
//! [`stream`] drives linker-core in-process to time the tail of a streamed link; [`relink`]
//! times `rivet-ld --incremental`.

pub mod charts;
pub mod config;
pub mod e2e;
pub mod linker_id;
pub mod linkers;
pub mod machine;
pub mod measure;
pub mod process;
pub mod project;
pub mod relink;
pub mod replay;
pub mod report;
pub mod results;
pub mod setup;
pub mod stream;
pub mod synth_bench;

use anyhow::{Result, bail};

use config::{Config, Step};

/// Runs the step the configuration asks for. Steps of `all` run even when an earlier one
/// failed; the failures are summed up at the end.
pub fn run(config: &Config, rest: &[String]) -> Result<()> {
    match config.step {
        Step::Setup => setup::run(config),
        Step::Replay => {
            let linkers = linkers::discover(config);
            replay::run(config, &linkers)?.save(&config.results_dir())?;
            report::write(config)
        }
        Step::Synth => {
            let linkers = linkers::discover(config);
            synth_bench::run(config, &linkers)?.save(&config.results_dir())?;
            report::write(config)
        }
        Step::EndToEnd => {
            e2e::run(config)?.save(&config.results_dir())?;
            report::write(config)
        }
        Step::Stream => stream::run(config)?.save(&config.results_dir()),
        Step::Relink => relink::run(config)?.save(&config.results_dir()),
        Step::Report => report::write(config),
        Step::All => run_all(config),
        Step::Generate => match rest {
            [dir, objects, functions] => generate(dir, objects.parse()?, functions.parse()?),
            _ => bail!("usage: rivet-bench generate <dir> <objects> <functions per object>"),
        },
        Step::BumpEdit => match rest {
            [file] => e2e::bump_edit(std::path::Path::new(file)),
            _ => bail!("usage: rivet-bench bump-edit <ripgrep crates/core/main.rs>"),
        },
    }
}

fn run_all(config: &Config) -> Result<()> {
    let started = std::time::Instant::now();
    let mut problems = Vec::new();
    if let Err(e) = setup::run(config) {
        eprintln!("warning: {e:#}");
        problems.push("setup".to_string());
    }
    let linkers = linkers::discover(config);
    match replay::run(config, &linkers).and_then(|r| r.save(&config.results_dir())) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("replay failed: {e:#}");
            problems.push("replay".into());
        }
    }
    match synth_bench::run(config, &linkers).and_then(|r| r.save(&config.results_dir())) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("synth failed: {e:#}");
            problems.push("synth".into());
        }
    }
    if config.with_e2e {
        if let Err(e) = e2e::run(config).and_then(|r| r.save(&config.results_dir())) {
            eprintln!("e2e failed: {e:#}");
            problems.push("e2e".into());
        }
    }
    report::write(config)?;
    eprintln!("all: finished in {:.1} min", started.elapsed().as_secs_f64() / 60.0);
    if problems.is_empty() { Ok(()) } else { bail!("steps with problems: {}", problems.join(", ")) }
}

/// `generate DIR N M`: one synthetic workload for poking at by hand.
fn generate(dir: &str, objects: usize, functions: usize) -> Result<()> {
    let dir = std::path::Path::new(dir);
    let workload = rivet_bench::synth::generate_workload(dir, objects, functions)?;
    let runtime = rivet_bench::gnu_link::CRuntime::discover()?;
    let args = rivet_bench::gnu_link::pie_link_args(&runtime, &workload.objects, &dir.join("synth"));
    let mut command = std::process::Command::new("ld.bfd");
    command.args(args);
    println!("expected output: {}", rivet_bench::synth::expected_stdout(workload.expected_checksum).trim_end());
    println!("link with:       {}", process::describe(&command));
    Ok(())
}
