//! The linkers under comparison: where each one is, its version, and how to ask it for a
//! given number of threads.
//!
//! All but Zig take GNU ld command lines. Zig's self-hosted linker is reached through
//! `zig build-exe -fno-lld`, which takes objects and `-l` flags, not ld options, so each
//! workload builds Zig's command itself (or reports why it cannot).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::config::Config;
use super::linker_id::LinkerId;
use super::process::{find_on_path, first_line, run_logged, stdout_of};

/// A linker found on this machine (or the reason it was not).
#[derive(Debug, Clone)]
pub struct Linker {
    pub id: LinkerId,
    /// The executable and the arguments that always precede the link arguments
    /// (`rust-lld -flavor gnu`, `zig build-exe -fno-lld`).
    pub program: Result<(PathBuf, Vec<OsString>), String>,
    pub version: String,
}

impl Linker {
    /// A command ready for the link arguments.
    pub fn command(&self) -> Option<Command> {
        let (program, prefix) = self.program.as_ref().ok()?;
        let mut command = Command::new(program);
        command.args(prefix);
        Some(command)
    }

    pub fn unavailable_reason(&self) -> Option<&str> {
        self.program.as_ref().err().map(String::as_str)
    }
}

/// Version information recorded in the results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkerVersion {
    pub linker: LinkerId,
    pub version: String,
    pub path: String,
}

impl From<&Linker> for LinkerVersion {
    fn from(linker: &Linker) -> Self {
        Self {
            linker: linker.id,
            version: linker.version.clone(),
            path: match &linker.program {
                Ok((program, _)) => program.display().to_string(),
                Err(reason) => format!("unavailable: {reason}"),
            },
        }
    }
}

/// Finds every linker the configuration asks for; rivet-ld is built (release) on the way.
pub fn discover(config: &Config) -> Vec<Linker> {
    config.linkers.iter().map(|&id| discover_one(config, id)).collect()
}

fn discover_one(config: &Config, id: LinkerId) -> Linker {
    let found: Result<(PathBuf, Vec<OsString>), String> = match id {
        LinkerId::RustLld => rust_lld_path(config).map(|p| (p, vec!["-flavor".into(), "gnu".into()])),
        LinkerId::Lld => on_path_or(id, "ld.lld-19"),
        LinkerId::Mold => on_path_or(id, "mold"),
        LinkerId::Wild => wild_path().map(|p| (p, Vec::new())),
        LinkerId::Bfd => on_path_or(id, "ld.bfd"),
        LinkerId::Zig => zig_path().map(|p| (p, vec!["build-exe".into(), "-fno-lld".into()])),
        LinkerId::Rivet => match std::env::var_os("RIVET_LD") {
            // A prebuilt rivet-ld to measure instead of building the workspace's.
            Some(path) => Ok((PathBuf::from(path), Vec::new())),
            None => build_rivet(config).map(|p| (p, Vec::new())).map_err(|e| format!("{e:#}")),
        },
    };
    let version = match &found {
        Ok((program, _)) => version_of(id, program),
        Err(_) => "not available".into(),
    };
    Linker { id, program: found, version }
}

fn on_path_or(id: LinkerId, program: &str) -> Result<(PathBuf, Vec<OsString>), String> {
    find_on_path(program)
        .map(|p| (p, Vec::new()))
        .ok_or_else(|| format!("`{program}` not found on PATH (run `setup`) for {}", id.label()))
}

fn version_of(id: LinkerId, program: &Path) -> String {
    let mut command = Command::new(program);
    match id {
        LinkerId::RustLld => command.args(["-flavor", "gnu", "--version"]),
        LinkerId::Zig => command.arg("version"),
        _ => command.arg("--version"),
    };
    match stdout_of(&mut command) {
        Ok(text) => {
            let line = first_line(&text);
            match id {
                LinkerId::Zig => format!("zig {line}"),
                // "LLD 23.1.4 (/checkout/src/llvm-project/llvm <hash>)": drop the build path.
                LinkerId::RustLld | LinkerId::Lld => line.split(" (").next().unwrap_or(&line).to_string(),
                _ => line,
            }
        }
        Err(e) if id == LinkerId::Rivet => {
            format!("workspace build (--version failed: {})", first_line(&e.to_string()))
        }
        Err(e) => format!("unknown ({})", first_line(&e.to_string())),
    }
}

/// `<sysroot>/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld` of the pinned toolchain.
pub fn rust_lld_path(config: &Config) -> Result<PathBuf, String> {
    let sysroot = stdout_of(config.rustc().args(["--print", "sysroot"])).map_err(|e| format!("{e:#}"))?;
    let path = PathBuf::from(sysroot).join("lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld");
    if path.is_file() { Ok(path) } else { Err(format!("{} does not exist", path.display())) }
}

/// `wild` from PATH or from cargo's bin directory.
pub fn wild_path() -> Result<PathBuf, String> {
    if let Some(path) = find_on_path("wild") {
        return Ok(path);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    cargo_home
        .map(|home| home.join("bin/wild"))
        .filter(|path| path.is_file())
        .ok_or_else(|| "`wild` not found (run `setup`: cargo install wild-linker)".into())
}

/// The `zig` executable inside the `ziglang` Python package (called directly, not through
/// `python3 -m ziglang`, so Python's start-up is not timed).
pub fn zig_path() -> Result<PathBuf, String> {
    let directory =
        stdout_of(Command::new("python3").args(["-c", "import ziglang, os; print(os.path.dirname(ziglang.__file__))"]))
            .map_err(|_| {
                "the ziglang Python package is not installed (run `setup`: pip install ziglang)".to_string()
            })?;
    let path = PathBuf::from(directory).join("zig");
    if path.is_file() { Ok(path) } else { Err(format!("{} does not exist", path.display())) }
}

/// The workspace's target directory (honours CARGO_TARGET_DIR and .cargo/config).
pub fn target_dir(config: &Config) -> Result<PathBuf> {
    let json = stdout_of(config.cargo().current_dir(&config.repo_root).args([
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
    ]))?;
    let value: serde_json::Value = serde_json::from_str(&json).context("parsing cargo metadata")?;
    value["target_directory"].as_str().map(PathBuf::from).context("cargo metadata has no target_directory")
}

/// `cargo build --release -p linker-core`; returns the path of `rivet-ld`.
pub fn build_rivet(config: &Config) -> Result<PathBuf> {
    std::fs::create_dir_all(&config.work_dir)?;
    let log = config.work_dir.join("rivet-build.log");
    let _ = std::fs::remove_file(&log);
    let mut command = config.cargo();
    command
        .current_dir(&config.repo_root)
        .args(["build", "--release", "-p", "linker-core", "--bin", "rivet-ld", "-j"])
        .arg(config.jobs.to_string());
    if let Err(error) = run_logged(&mut command, &log) {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let first_error = text.lines().find(|l| l.starts_with("error")).unwrap_or("see log").to_string();
        bail!("build failed: {first_error} (full log: {}; {})", log.display(), first_line(&error.to_string()));
    }
    let path = target_dir(config)?.join("release/rivet-ld");
    if !path.is_file() {
        bail!("cargo build succeeded but {} is missing", path.display());
    }
    Ok(path)
}
