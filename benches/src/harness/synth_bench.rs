//! `synth`: links the generated scaling workload (see `rivet_bench::synth`) at several sizes
//! with every linker, as a PIE against glibc, and checks that each program prints the
//! checksum the generator computed: a differential correctness test as well as a benchmark.
//!
//! GNU-style linkers get the command line of `rivet_bench::gnu_link` (the crt files located
//! with gcc); Zig gets `zig build-exe -fno-lld -lc <objects>` with its own C runtime.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rivet_bench::gnu_link::{CRuntime, pie_link_args};
use rivet_bench::synth;

use super::config::Config;
use super::linker_id::LinkerId;
use super::linkers::{Linker, LinkerVersion};
use super::machine::MachineInfo;
use super::measure::{LinkJob, measure_all};
use super::replay::ROUND_ROBIN;
use super::results::{Cell, Outcome, StepResults, WorkloadResult};

/// (objects, functions per object) of each size.
const FULL_SIZES: &[(usize, usize)] = &[(10, 100), (20, 150), (40, 250), (60, 500), (100, 1000)];
const QUICK_SIZES: &[(usize, usize)] = &[(10, 100), (40, 250)];
/// With `--big`, after the full sizes: as many sections as the big real links hold (a
/// million functions, each in its own section, and as many FDEs and symbols).
const BIG_SIZES: &[(usize, usize)] = &[(300, 1000), (1000, 1000)];

pub fn run(config: &Config, linkers: &[Linker]) -> Result<StepResults> {
    let machine = MachineInfo::probe();
    let runtime = CRuntime::discover()?;
    let sizes: Vec<(usize, usize)> = match (config.quick, config.big) {
        (true, _) => QUICK_SIZES.to_vec(),
        (false, false) => FULL_SIZES.to_vec(),
        (false, true) => [FULL_SIZES, BIG_SIZES].concat(),
    };
    let mut workloads = Vec::new();
    let mut notes = vec![
        "Each program is run after linking; its output must be the checksum the generator computed.".into(),
        "GNU-style linkers are invoked directly with gcc's crt files (Scrt1.o, crti.o, crtbeginS.o, crtendS.o, crtn.o) and -lc; Zig uses `zig build-exe -fno-lld -lc` with its own C runtime.".into(),
        "Zig's artifact cache is emptied before every run (its global cache of libc stubs stays warm).".into(),
    ];
    for (objects, functions) in sizes {
        let name = format!("synth-{}", super::charts::format_count((objects * functions) as f64));
        eprintln!("\n== synth: {name} ({objects} objects x {functions} functions) ==");
        let dir = config.shm_dir.join("synth").join(&name);
        let mut workload = WorkloadResult {
            name: name.clone(),
            description: format!("{objects} objects x {functions} functions, PIE against glibc"),
            functions: Some(objects * functions),
            input_bytes: None,
            input_files: Some(objects + 1),
            error: None,
            cells: Vec::new(),
        };
        match generate(&dir, objects, functions) {
            Ok((generated, seconds)) => {
                notes.push(format!("{name}: generated in {seconds:.1} s"));
                workload.input_bytes =
                    Some(generated.objects.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum());
                link_all(config, linkers, &runtime, &dir, &generated, &mut workload);
            }
            Err(error) => workload.error = Some(format!("generating the workload failed: {error:#}")),
        }
        workloads.push(workload);
    }
    Ok(StepResults {
        step: "synth".into(),
        machine,
        linkers: linkers.iter().map(LinkerVersion::from).collect(),
        hyperfine: ROUND_ROBIN.into(),
        runs: config.runs,
        warmup: config.warmup,
        notes,
        workloads,
    })
}

fn generate(dir: &Path, objects: usize, functions: usize) -> Result<(synth::Workload, f64)> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let start = Instant::now();
    let generated = synth::generate_workload(&dir.join("objects"), objects, functions)?;
    Ok((generated, start.elapsed().as_secs_f64()))
}

fn link_all(
    config: &Config,
    linkers: &[Linker],
    runtime: &CRuntime,
    dir: &Path,
    generated: &synth::Workload,
    workload: &mut WorkloadResult,
) {
    let expected = synth::expected_stdout(generated.expected_checksum);
    let verify = |program: &Path| -> Result<()> {
        let run = Command::new(program).output().with_context(|| format!("running {}", program.display()))?;
        if !run.status.success() {
            bail!("the linked program exited with {}: {}", run.status, String::from_utf8_lossy(&run.stderr).trim());
        }
        let printed = String::from_utf8_lossy(&run.stdout);
        if printed != expected {
            bail!("the linked program printed {:?}, expected {:?}", printed.trim(), expected.trim());
        }
        Ok(())
    };
    let mut jobs = Vec::new();
    for linker in linkers {
        for threads in [1, 2] {
            let output = dir.join(format!("out-{}-{threads}", linker.id.key()));
            match job_for(linker, threads, dir, &output, runtime, generated) {
                Ok(job) => jobs.push(job),
                Err(outcome) => {
                    workload.cells.push(Cell { linker: linker.id, threads, outcome, command: None, label: None })
                }
            }
        }
    }
    workload.cells.extend(measure_all(config, jobs, &verify));
}

fn job_for(
    linker: &Linker,
    threads: u32,
    dir: &Path,
    output: &Path,
    runtime: &CRuntime,
    generated: &synth::Workload,
) -> Result<LinkJob, Outcome> {
    let mut command = super::measure::base_command(linker, threads, dir)?;
    let mut prepare = None;
    if linker.id == LinkerId::Zig {
        let cache = dir.join("zig-cache");
        command
            .arg(format!("-femit-bin={}", output.display()))
            .arg("--cache-dir")
            .arg(&cache)
            .args(["-fPIE", "-lc", &format!("-j{threads}")])
            .args(&generated.objects);
        prepare = Some(vec!["rm".into(), "-rf".into(), cache.display().to_string()]);
    } else {
        command.args(pie_link_args(runtime, &generated.objects, output));
        command.args(linker.id.thread_args(threads));
    }
    Ok(LinkJob { linker: linker.id, threads, command, output: output.to_path_buf(), prepare })
}
