//! `replay`: re-runs real projects' final links (debug and release) with every linker.
//!
//! rust-lld's `--reproduce` archive holds every input of rg's link and `response.txt`.
//! It is unpacked on tmpfs, and the response file is adapted for all linkers
//! ([`adapt_response`]):
//! * `--chroot .` is dropped (lld-only). Paths in the archive are relative to its root, and
//!   absolute paths inside glibc's `libc.so` linker script then resolve to the same files on
//!   this machine instead of the archived copies;
//! * `-plugin …` / `-plugin-opt=…` (gcc's LTO plugin, passed because gcc is the driver)
//!   are dropped: there are no GCC LTO objects, and GNU ld would otherwise load the plugin
//!   and write its resolution file;
//! * `-o <bin>` is replaced by `-o out-<linker>-<threads>`.
//!
//! Zig's `build-exe` cannot take these ld options; [`zig_arguments`] turns the same inputs
//! into a `zig build-exe -fno-lld` command line as far as that is possible.
//!
//! Each output is checked before timing: it must do exactly what rust-lld's output does
//! ([`behaviour`]): `--version`, and a search of ripgrep's own source for `rg`, a document
//! compiled to SVG for `typst`, the default configuration printed for `starship`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::config::Config;
use super::linker_id::LinkerId;
use super::linkers::{Linker, LinkerVersion};
use super::machine::MachineInfo;
use super::measure::{LinkJob, measure_all};
use super::process::{describe_short, run_captured, stdout_of};
use super::project::{self, Profile, Project};
use super::results::{Cell, Outcome, StepResults, WorkloadResult};

/// The response file written next to `response.txt`, usable by every GNU-style linker.
const ADAPTED_RESPONSE: &str = "replay.rsp";
/// The search that verifies each output (run over ripgrep's own `crates/` directory).
const VERIFY_PATTERN: &str = r"fn (new|search)\w*\(";

pub fn run(config: &Config, linkers: &[Linker]) -> Result<StepResults> {
    let machine = MachineInfo::probe();
    let mut workloads = Vec::new();
    for (project, profile) in
        project::replayed(config).iter().flat_map(|p| [(*p, Profile::Debug), (*p, Profile::Release)])
    {
        let name = format!("{}-{}", project.key, profile.name());
        eprintln!("\n== replay: {name} ==");
        let mut workload = WorkloadResult {
            name: name.clone(),
            description: format!(
                "{} {} ({} packages) final link of `{}` ({} profile), replayed from rust-lld's --reproduce archive",
                project.crate_name,
                project.version,
                project.packages,
                project.bin,
                profile.name()
            ),
            functions: None,
            input_bytes: None,
            input_files: None,
            error: None,
            cells: Vec::new(),
        };
        if let Err(error) = replay_workload(config, linkers, &project, profile, &mut workload) {
            eprintln!("replay {name} could not run: {error:#}");
            workload.error = Some(format!("{error:#}"));
        }
        workloads.push(workload);
    }
    Ok(StepResults {
        step: "replay".into(),
        machine,
        linkers: linkers.iter().map(LinkerVersion::from).collect(),
        hyperfine: ROUND_ROBIN.into(),
        runs: config.runs,
        warmup: config.warmup,
        notes: vec![
            "Response file adapted for all linkers: `--chroot .`, `-plugin`/`-plugin-opt` and `-o` dropped; output named per linker.".into(),
            "rivet-ld, mold and wild run with --no-fork so that all their work is inside the measured process.".into(),
            "Inputs and outputs on tmpfs (/dev/shm).".into(),
        ],
        workloads,
    })
}

fn replay_workload(
    config: &Config,
    linkers: &[Linker],
    project: &Project,
    profile: Profile,
    workload: &mut WorkloadResult,
) -> Result<()> {
    let tarball = project::reproduce_tarball(config, project, profile)?;
    let replay_root = config.shm_dir.join("replay");
    let stem = format!("{}-{}", project.key, profile.name());
    let dir = replay_root.join(&stem);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&replay_root)?;
    run_captured(Command::new("tar").arg("xf").arg(&tarball).arg("-C").arg(&replay_root))?;
    let response = std::fs::read_to_string(dir.join("response.txt"))
        .with_context(|| format!("{} has no response.txt", tarball.display()))?;
    let adapted = adapt_response(&response);
    std::fs::write(dir.join(ADAPTED_RESPONSE), adapted.join("\n") + "\n")?;
    let inputs = input_files(&adapted);
    workload.input_files = Some(inputs.len());
    workload.input_bytes =
        Some(inputs.iter().filter_map(|p| std::fs::metadata(dir.join(p)).ok()).map(|m| m.len()).sum());

    let source = project::unpacked_source(config, project, "replay")?;
    let scratch = dir.join("behaviour");
    std::fs::create_dir_all(&scratch)?;
    let rust_lld = linkers.iter().find(|l| l.id == LinkerId::RustLld).context("rust-lld is not configured")?;
    let reference_output = dir.join("out-reference");
    let mut reference_link = rust_lld.command().context("rust-lld is unavailable")?;
    reference_link.current_dir(&dir).arg(format!("@{ADAPTED_RESPONSE}")).arg("-o").arg(&reference_output);
    run_captured(&mut reference_link).context("the reference link with rust-lld failed")?;
    let reference =
        behaviour(project, &reference_output, &source, &scratch).context("rust-lld's own output does not run")?;
    eprintln!("reference output (rust-lld): {} bytes of output", reference.1.len());
    let verify = |output: &Path| -> Result<()> {
        let observed = behaviour(project, output, &source, &scratch)?;
        if observed.0 != reference.0 {
            bail!("`--version` prints {:?}, rust-lld's output prints {:?}", observed.0, reference.0);
        }
        if observed.1 != reference.1 {
            bail!("its output differs from rust-lld's output's");
        }
        Ok(())
    };

    let mut jobs = Vec::new();
    for linker in linkers {
        for threads in [1, 2] {
            let output = dir.join(format!("out-{}-{threads}", linker.id.key()));
            match job_for(linker, threads, &dir, &output, &adapted) {
                Ok(job) => {
                    eprintln!("-- {} {} thread(s): {}", linker.id.label(), threads, describe_short(&job.command));
                    jobs.push(job);
                }
                Err(outcome) => {
                    workload.cells.push(Cell { linker: linker.id, threads, outcome, command: None, label: None })
                }
            }
        }
    }
    workload.cells.extend(measure_all(config, jobs, &verify));
    Ok(())
}

/// The link job of `linker` at `threads`, or why there is none.
fn job_for(linker: &Linker, threads: u32, dir: &Path, output: &Path, adapted: &[String]) -> Result<LinkJob, Outcome> {
    let mut command = super::measure::base_command(linker, threads, dir)?;
    let mut prepare = None;
    if linker.id == LinkerId::Zig {
        let cache = dir.join("zig-cache");
        command.args(zig_arguments(adapted, dir, output, &cache).map_err(Outcome::NotApplicable)?);
        command.arg(format!("-j{threads}"));
        prepare = Some(vec!["rm".into(), "-rf".into(), cache.display().to_string()]);
    } else {
        command.arg(format!("@{ADAPTED_RESPONSE}")).arg("-o").arg(output);
        command.args(linker.id.thread_args(threads));
    }
    Ok(LinkJob { linker: linker.id, threads, command, output: output.to_path_buf(), prepare })
}

/// The response file with lld-specific and driver-only arguments removed (see module docs).
pub fn adapt_response(response: &str) -> Vec<String> {
    response
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter(|line| {
            !(line.starts_with("--chroot")
                || line.starts_with("-plugin")
                || line.starts_with("--plugin")
                || *line == "-o"
                || line.starts_with("-o "))
        })
        .map(str::to_string)
        .collect()
}

/// Input files named in the response (objects, archives, crt files).
fn input_files(adapted: &[String]) -> Vec<PathBuf> {
    adapted.iter().filter(|line| !line.starts_with('-')).map(|line| PathBuf::from(unquote(line))).collect()
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text)
}

/// A `zig build-exe -fno-lld` equivalent of the adapted response (after `build-exe
/// -fno-lld`): the same objects and archives (rlibs get `.a` names through symlinks, since
/// zig picks the input kind by extension), the same libraries, without the C runtime files
/// (zig supplies its own). Returns why not if an argument has no zig equivalent.
pub fn zig_arguments(adapted: &[String], dir: &Path, output: &Path, cache: &Path) -> Result<Vec<String>, String> {
    const C_RUNTIME: [&str; 5] = ["Scrt1.o", "crti.o", "crtn.o", "crtbeginS.o", "crtendS.o"];
    let links = dir.join("zig-inputs");
    let _ = std::fs::create_dir_all(&links);
    let mut args = vec![
        format!("-femit-bin={}", output.display()),
        "--cache-dir".into(),
        cache.display().to_string(),
        "-fPIE".into(),
        "-lc".into(),
    ];
    let mut tokens = adapted.iter().flat_map(|line| split_option(line)).peekable();
    while let Some(token) = tokens.next() {
        let token = unquote(&token).to_string();
        match token.as_str() {
            "-L" => {
                let dir_arg = tokens.next().ok_or("-L without a directory")?;
                args.push(format!("-L{}", unquote(&dir_arg)));
            }
            "-l" => {
                let library = tokens.next().ok_or("-l without a library")?;
                // zig links glibc's pieces itself (-lc covers them); libgcc_s is zig's libunwind.
                match library.as_str() {
                    "c" | "m" | "dl" | "rt" | "pthread" | "util" => {}
                    "gcc_s" => args.push("-lunwind".into()),
                    other => args.push(format!("-l{other}")),
                }
            }
            "-m" | "-dynamic-linker" | "--hash-style" | "-z" | "-O" => {
                let value = tokens.next().unwrap_or_default();
                // zig knows -z relro/now; its stacks are non-executable anyway.
                if token == "-z" && value != "noexecstack" {
                    args.push("-z".into());
                    args.push(value);
                }
            }
            "--gc-sections" | "--eh-frame-hdr" => args.push(token),
            "--as-needed" | "-Bstatic" | "-Bdynamic" | "-pie" | "--no-as-needed" => {}
            flag if flag.starts_with("--build-id") => args.push(flag.to_string()),
            flag if flag.starts_with('-') => {
                return Err(format!("zig build-exe has no equivalent of the ld option `{flag}`"));
            }
            path => {
                let file = Path::new(path);
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if C_RUNTIME.contains(&name) {
                    continue;
                }
                if name.ends_with(".rlib") {
                    let link = links.join(format!("{}.a", name.trim_end_matches(".rlib")));
                    let _ = std::fs::remove_file(&link);
                    std::os::unix::fs::symlink(dir.join(file), &link).map_err(|e| e.to_string())?;
                    args.push(link.display().to_string());
                } else {
                    args.push(dir.join(file).display().to_string());
                }
            }
        }
    }
    Ok(args)
}

/// Splits "-L dir" style lines into option and value; other lines stay whole.
fn split_option(line: &str) -> Vec<String> {
    match line.split_once(' ') {
        Some((option, value)) if option.starts_with('-') => {
            vec![option.to_string(), value.to_string()]
        }
        _ => vec![line.to_string()],
    }
}

/// What a built binary of `project` does: (`--version` output, the output of a run that
/// exercises it). `scratch` is a directory the run may write in.
fn behaviour(project: &Project, bin: &Path, source: &Path, scratch: &Path) -> Result<(String, String)> {
    let version = stdout_of(Command::new(bin).arg("--version"))?;
    let mut run = Command::new(bin);
    match project.key {
        "rg" => {
            run.args(["--no-config", "-n", "--sort", "path", "-e", VERIFY_PATTERN]).arg(source.join("crates"));
        }
        "typst" => {
            std::fs::write(scratch.join("doc.typ"), TYPST_DOCUMENT)?;
            let _ = std::fs::remove_file(scratch.join("doc.svg"));
            run.args(["compile", "--format", "svg", "doc.typ", "doc.svg"]).current_dir(scratch);
        }
        "starship" => {
            run.args(["print-config", "--default"]).env("STARSHIP_CONFIG", scratch.join("none.toml"));
        }
        other => bail!("no behaviour check for `{other}`"),
    }
    let output = run.output().with_context(|| format!("running {}", bin.display()))?;
    if !output.status.success() {
        bail!("`{}` exited with {}: {}", bin.display(), output.status, String::from_utf8_lossy(&output.stderr));
    }
    let mut observed = String::from_utf8_lossy(&output.stdout).into_owned();
    if project.key == "typst" {
        observed = std::fs::read_to_string(scratch.join("doc.svg")).context("typst wrote no SVG")?;
    }
    Ok((version, observed))
}

/// What the typst check compiles: text, a heading, maths, a table (fonts are built in).
const TYPST_DOCUMENT: &str = "= Linking\nA *linker* joins objects: $sum_(i=1)^n s_i <= 2^32$.\n\n\
#table(columns: 2, [rivet], [lld], [0.44], [1.00])\n";

/// The timer of the replay and synthetic steps, for the machine table.
pub const ROUND_ROBIN: &str = "round-robin (rivet-bench)";

pub fn hyperfine_version() -> String {
    stdout_of(Command::new("hyperfine").arg("--version")).unwrap_or_else(|_| "hyperfine (unknown version)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapted_response_keeps_inputs_and_drops_driver_options() {
        let response = "--chroot .\n-plugin /usr/lib/gcc/liblto_plugin.so\n-plugin-opt=-fresolution=/tmp/x.res\n\
                        -pie\n-o rg\nusr/lib/x86_64-linux-gnu/Scrt1.o\n-L usr/lib\n-l c\n";
        assert_eq!(adapt_response(response), ["-pie", "usr/lib/x86_64-linux-gnu/Scrt1.o", "-L usr/lib", "-l c"]);
    }

    #[test]
    fn zig_arguments_reject_unknown_ld_options() {
        let adapted = vec!["--icf=all".to_string()];
        let dir = std::env::temp_dir().join(format!("rivet-bench-zig-args-{}", std::process::id()));
        let error = zig_arguments(&adapted, &dir, &dir.join("out"), &dir.join("cache")).unwrap_err();
        assert!(error.contains("--icf=all"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
