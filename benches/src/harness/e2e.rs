//! `e2e`: `cargo build` of ripgrep (debug), from clean and after a one-line code edit in
//! the `rg` crate, for several code generator + linker pairs. Slow: only with `e2e` or
//! `all --e2e`.
//!
//! | configuration        | RUSTFLAGS                                                        |
//! |----------------------|------------------------------------------------------------------|
//! | LLVM + rust-lld      | (none: rust-lld is this nightly's default)                       |
//! | LLVM + mold          | `-C link-arg=-fuse-ld=mold -C linker-features=-lld`              |
//! | LLVM + wild          | `-C link-arg=-B<dir with ld -> wild> -C linker-features=-lld`    |
//! | Cranelift + rust-lld | `-Zcodegen-backend=cranelift`                                    |
//! | rivet (LLVM)         | `-Zcodegen-backend=rivet` (after `scripts/install-backend.sh`)   |
//! | rivet (Cranelift)    | `-Zcodegen-backend=rivet`, `RIVET_ENGINE=cranelift`              |
//!
//! Every configuration has its own target directory. After its clean build the binary must
//! run (`rg --version`) and its `.comment` section must name the intended linker. The edit
//! ([`bump_edit`]) rewrites a string constant in `crates/core/main.rs` before every
//! incremental run, so rustc recompiles the crate and the linker relinks rg.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::config::Config;
use super::linker_id::LinkerId;
use super::linkers::{self, LinkerVersion};
use super::machine::MachineInfo;
use super::measure::{parse_hyperfine_json, summarize};
use super::process::{describe, run_captured, run_visible, shell_quote, stdout_of};
use super::project::{self, RIPGREP};
use super::replay::hyperfine_version;
use super::results::{Cell, Outcome, StepResults, WorkloadResult};

/// The string constant the edit changes, in ripgrep 14.1.1's `crates/core/main.rs`.
const EDIT_MARKER: &str = "No files were searched";
const EDIT_END: &str = ", which means";

struct BuildConfiguration {
    label: &'static str,
    key: &'static str,
    linker: LinkerId,
    rustflags: String,
    /// `RIVET_ENGINE` for the rivet backend.
    engine: Option<&'static str>,
    /// Text the output's `.comment` section must contain.
    expected_comment: &'static str,
    /// Why this configuration cannot run, if it cannot.
    unavailable: Option<String>,
}

pub fn run(config: &Config) -> Result<StepResults> {
    let machine = MachineInfo::probe();
    let source = project::unpacked_source(config, &RIPGREP, "e2e")?;
    let main_rs = source.join("crates/core/main.rs");
    let configurations = configurations(config)?;
    let mut clean = workload("e2e-clean", "`cargo build --bin rg` (debug) from an empty target directory");
    let mut incremental = workload(
        "e2e-incremental",
        "`cargo build --bin rg` (debug) after changing a string constant in crates/core/main.rs",
    );
    for configuration in &configurations {
        eprintln!("\n== e2e: {} ==", configuration.label);
        if let Some(reason) = &configuration.unavailable {
            for workload in [&mut clean, &mut incremental] {
                workload.cells.push(cell(configuration, config, Outcome::NotApplicable(reason.clone()), None));
            }
            continue;
        }
        let target_dir = config.work_dir.join("e2e").join(format!("target-{}", configuration.key));
        // Not inside the target dir: `cargo clean` deletes that before every clean run.
        let json_dir = config.work_dir.join("e2e").join("hyperfine");
        let build = build_command(config, &source, &target_dir, configuration);
        let build_line = describe(&build);
        let clean_outcome = time_builds(
            config,
            &build,
            vec!["cargo".into(), "clean".into()],
            0,
            config.e2e_runs,
            &json_dir.join(format!("{}-clean.json", configuration.key)),
        )
        .and_then(|stats| {
            check_binary(&target_dir.join("debug/rg"), configuration.expected_comment)?;
            Ok(stats)
        });
        let clean_ok = clean_outcome.is_ok();
        clean.cells.push(cell(configuration, config, outcome_of(clean_outcome), Some(build_line.clone())));
        let incremental_outcome = if clean_ok {
            let me = std::env::current_exe()?.display().to_string();
            time_builds(
                config,
                &build,
                vec![me, "bump-edit".into(), main_rs.display().to_string()],
                1,
                config.e2e_runs + 2,
                &json_dir.join(format!("{}-incremental.json", configuration.key)),
            )
        } else {
            Err(anyhow::anyhow!("the clean build failed"))
        };
        incremental.cells.push(cell(configuration, config, outcome_of(incremental_outcome), Some(build_line)));
    }
    let linkers: Vec<LinkerVersion> = linkers::discover(&Config {
        linkers: vec![LinkerId::RustLld, LinkerId::Mold, LinkerId::Wild],
        ..config.clone()
    })
    .iter()
    .map(LinkerVersion::from)
    .collect();
    Ok(StepResults {
        step: "e2e".into(),
        machine,
        linkers,
        hyperfine: hyperfine_version(),
        runs: config.e2e_runs,
        warmup: 0,
        notes: vec![
            format!("cargo -j{}; each configuration has its own target directory.", config.jobs),
            "Clean: `cargo clean` before every run, no warm-up. Incremental: one warm-up, a string constant in crates/core/main.rs changed before every run.".into(),
            "rivet: the rustc backend of codegen-hook/, installed in the toolchain by scripts/install-backend.sh.".into(),
        ],
        workloads: vec![clean, incremental],
    })
}

fn configurations(config: &Config) -> Result<Vec<BuildConfiguration>> {
    let wild_dir = config.work_dir.join("e2e/wild-as-ld");
    let wild = match linkers::wild_path() {
        Ok(wild) => {
            std::fs::create_dir_all(&wild_dir)?;
            let link = wild_dir.join("ld");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&wild, &link)?;
            None
        }
        Err(reason) => Some(reason),
    };
    let cranelift = backend_missing(config, "cranelift", "rustup component add rustc-codegen-cranelift-preview");
    Ok(vec![
        BuildConfiguration {
            label: "LLVM + rust-lld",
            key: "llvm-rust-lld",
            linker: LinkerId::RustLld,
            rustflags: String::new(),
            engine: None,
            expected_comment: "Linker: LLD",
            unavailable: None,
        },
        BuildConfiguration {
            label: "LLVM + mold",
            key: "llvm-mold",
            linker: LinkerId::Mold,
            rustflags: "-C link-arg=-fuse-ld=mold -C linker-features=-lld".into(),
            engine: None,
            expected_comment: "mold",
            unavailable: (!super::process::on_path("mold")).then(|| "mold is not installed".into()),
        },
        BuildConfiguration {
            label: "LLVM + wild",
            key: "llvm-wild",
            linker: LinkerId::Wild,
            rustflags: format!("-C link-arg=-B{} -C linker-features=-lld", wild_dir.display()),
            engine: None,
            expected_comment: "Linker: Wild",
            unavailable: wild,
        },
        BuildConfiguration {
            label: "Cranelift + rust-lld",
            key: "cranelift-rust-lld",
            linker: LinkerId::RustLld,
            rustflags: "-Zcodegen-backend=cranelift".into(),
            engine: None,
            expected_comment: "Linker: LLD",
            unavailable: cranelift.clone(),
        },
        BuildConfiguration {
            label: "rivet (LLVM)",
            key: "rivet-llvm",
            linker: LinkerId::Rivet,
            rustflags: "-Zcodegen-backend=rivet".into(),
            engine: Some("llvm"),
            expected_comment: "Linker: rivet",
            unavailable: backend_missing(config, "rivet", "run scripts/install-backend.sh"),
        },
        BuildConfiguration {
            label: "rivet (Cranelift)",
            key: "rivet-cranelift",
            linker: LinkerId::Rivet,
            rustflags: "-Zcodegen-backend=rivet".into(),
            engine: Some("cranelift"),
            expected_comment: "Linker: rivet",
            unavailable: backend_missing(config, "rivet", "run scripts/install-backend.sh").or(cranelift),
        },
    ])
}

/// Why the codegen backend `name` cannot be used by name, if it cannot (`remedy` says how).
fn backend_missing(config: &Config, name: &str, remedy: &str) -> Option<String> {
    let sysroot = match stdout_of(config.rustc().args(["--print", "sysroot"])) {
        Ok(sysroot) => PathBuf::from(sysroot),
        Err(e) => return Some(format!("{e:#}")),
    };
    let backends = sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/codegen-backends");
    let prefix = format!("librustc_codegen_{name}");
    let found = std::fs::read_dir(&backends)
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with(&prefix)))
        .unwrap_or(false);
    (!found).then(|| format!("the {name} backend is not installed in the toolchain ({remedy})"))
}

fn workload(name: &str, description: &str) -> WorkloadResult {
    WorkloadResult {
        name: name.into(),
        description: description.into(),
        functions: None,
        input_bytes: None,
        input_files: None,
        error: None,
        cells: Vec::new(),
    }
}

fn cell(configuration: &BuildConfiguration, config: &Config, outcome: Outcome, command: Option<String>) -> Cell {
    Cell {
        linker: configuration.linker,
        threads: config.jobs as u32,
        outcome,
        command: command.map(|c| format!("RUSTFLAGS={} {c}", shell_quote(configuration.rustflags.as_ref()))),
        label: Some(configuration.label.into()),
    }
}

fn outcome_of(result: Result<super::results::Stats>) -> Outcome {
    match result {
        Ok(stats) => Outcome::Measured(stats),
        Err(error) => {
            eprintln!("  fails: {error:#}");
            Outcome::Failed(summarize(&format!("{error:#}")))
        }
    }
}

fn build_command(config: &Config, source: &Path, target_dir: &Path, configuration: &BuildConfiguration) -> Command {
    let mut command = project::cargo_in(config, source, target_dir);
    command.env("RUSTFLAGS", &configuration.rustflags);
    if let Some(engine) = configuration.engine {
        command.env("RIVET_ENGINE", engine);
    }
    command.args(["build", "--locked", "--bin", "rg", "-j"]).arg(config.jobs.to_string());
    command
}

/// Times `build` with hyperfine, running `prepare` (no shell) before every run, in the
/// build's directory and environment.
fn time_builds(
    config: &Config,
    build: &Command,
    prepare: Vec<String>,
    warmup: u32,
    runs: u32,
    json: &Path,
) -> Result<super::results::Stats> {
    if let Some(parent) = json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut hyperfine = Command::new("hyperfine");
    if let Some(dir) = build.get_current_dir() {
        hyperfine.current_dir(dir);
    }
    hyperfine.env("RUSTUP_TOOLCHAIN", &config.toolchain);
    for (key, value) in build.get_envs() {
        match value {
            Some(value) => hyperfine.env(key, value),
            None => hyperfine.env_remove(key),
        };
    }
    let prepare_line = prepare.iter().map(|a| shell_quote(a.as_ref())).collect::<Vec<_>>().join(" ");
    let build_line =
        std::iter::once(build.get_program()).chain(build.get_args()).map(shell_quote).collect::<Vec<_>>().join(" ");
    hyperfine
        .args(["-N", "--style", "basic", "--warmup"])
        .arg(warmup.to_string())
        .arg("--runs")
        .arg(runs.max(1).to_string())
        .arg("--export-json")
        .arg(json)
        .arg("--prepare")
        .arg(prepare_line)
        .arg(build_line);
    run_visible(&mut hyperfine)?;
    parse_hyperfine_json(json)
}

/// The build must run and must have been linked by the intended linker.
fn check_binary(rg: &Path, expected_comment: &str) -> Result<()> {
    stdout_of(Command::new(rg).arg("--version")).context("the built rg does not run")?;
    let comment = run_captured(Command::new("readelf").args(["-p", ".comment"]).arg(rg))?;
    let comment = String::from_utf8_lossy(&comment.stdout);
    if !comment.contains(expected_comment) {
        bail!("rg's .comment does not mention `{expected_comment}` (wrong linker used?):\n{comment}");
    }
    Ok(())
}

/// `bump-edit FILE`: changes the string constant `"No files were searched…"` in ripgrep's
/// main.rs to carry the next edit number (`(edit 1)`, `(edit 2)`, …).
pub fn bump_edit(file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let start = text.find(EDIT_MARKER).with_context(|| format!("`{EDIT_MARKER}` not found in {}", file.display()))?
        + EDIT_MARKER.len();
    let end =
        start + text[start..].find(EDIT_END).with_context(|| format!("`{EDIT_END}` not found after the marker"))?;
    let current = text[start..end].trim();
    let number: u64 = current
        .strip_prefix("(edit ")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let edited = format!("{} (edit {}){}", &text[..start], number + 1, &text[end..]);
    std::fs::write(file, edited)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_edit_numbers_each_edit() {
        let dir = std::env::temp_dir().join(format!("rivet-bench-bump-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("main.rs");
        std::fs::write(&file, "let m = \"No files were searched, which means ripgrep\";\n").unwrap();
        bump_edit(&file).unwrap();
        bump_edit(&file).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text, "let m = \"No files were searched (edit 2), which means ripgrep\";\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
