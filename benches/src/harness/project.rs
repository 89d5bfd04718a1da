//! ripgrep 14.1.1 from crates.io: fetching its source without git, and building it with
//! rust-lld's `--reproduce` so that only rg's final link is captured.
//!
//! The source comes from the registry: a scratch cargo project that depends on
//! `ripgrep = "=14.1.1"` is `cargo fetch`ed, and the `.crate` file (a tar.gz) left in
//! cargo's registry cache is unpacked into the work dir. Builds use the crate's own
//! Cargo.lock (`--locked`) and the toolchain pinned by the rivet workspace.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use super::config::Config;
use super::process::{run_captured, run_logged};

pub const VERSION: &str = "14.1.1";

/// Cargo profile of a ripgrep build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

/// `<work>/sources/<purpose>/ripgrep-14.1.1`, unpacked from the registry if not there yet.
/// Each purpose (`replay`, `e2e`) gets its own copy, since e2e edits its source.
pub fn unpacked_source(config: &Config, purpose: &str) -> Result<PathBuf> {
    let parent = config.work_dir.join("sources").join(purpose);
    let source = parent.join(format!("ripgrep-{VERSION}"));
    if source.join("Cargo.toml").is_file() {
        return Ok(source);
    }
    let crate_file = registry_crate_file(config)?;
    std::fs::create_dir_all(&parent)?;
    run_captured(Command::new("tar").arg("xzf").arg(&crate_file).arg("-C").arg(&parent))?;
    if !source.join("Cargo.toml").is_file() {
        bail!("{} did not unpack to {}", crate_file.display(), source.display());
    }
    Ok(source)
}

/// The `.crate` archive of ripgrep in cargo's registry cache, fetched if needed.
fn registry_crate_file(config: &Config) -> Result<PathBuf> {
    if let Some(found) = find_cached_crate()? {
        return Ok(found);
    }
    let project = config.work_dir.join("fetch-ripgrep");
    std::fs::create_dir_all(project.join("src"))?;
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"fetch-ripgrep\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nripgrep = \"={VERSION}\"\n\n[workspace]\n"
        ),
    )?;
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n")?;
    let log = config.work_dir.join("fetch-ripgrep.log");
    run_logged(config.cargo().current_dir(&project).arg("fetch"), &log)?;
    find_cached_crate()?.context("cargo fetch succeeded but ripgrep's .crate is not in the registry cache")
}

fn find_cached_crate() -> Result<Option<PathBuf>> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let cache = cargo_home.join("registry/cache");
    let Ok(registries) = std::fs::read_dir(&cache) else {
        return Ok(None);
    };
    for registry in registries.flatten() {
        let candidate = registry.path().join(format!("ripgrep-{VERSION}.crate"));
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// A `cargo` command for building ripgrep in `source`, isolated from the caller's
/// environment (own target dir, no inherited RUSTFLAGS).
pub fn cargo_in(config: &Config, source: &Path, target_dir: &Path) -> Command {
    let mut command = config.cargo();
    command
        .current_dir(source)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_INCREMENTAL");
    command
}

/// `<work>/reproduce/rg-<profile>.tar`: rust-lld's `--reproduce` archive of rg's final
/// link, built with `cargo rustc --bin rg [--release] -- -C link-arg=-Wl,--reproduce=…`.
/// Reused when it already exists.
pub fn reproduce_tarball(config: &Config, profile: Profile) -> Result<PathBuf> {
    let directory = config.work_dir.join("reproduce");
    let tarball = directory.join(format!("rg-{}.tar", profile.name()));
    if tarball.is_file() {
        return Ok(tarball);
    }
    std::fs::create_dir_all(&directory)?;
    let source = unpacked_source(config, "replay")?;
    // Make cargo re-run the final rustc even if rg is up to date from an earlier attempt.
    File::options()
        .write(true)
        .open(source.join("crates/core/main.rs"))
        .and_then(|file| file.set_modified(SystemTime::now()))
        .context("touching crates/core/main.rs")?;
    let mut command = cargo_in(config, &source, &source.join("target"));
    command.args(["rustc", "--locked", "--bin", "rg", "-j"]).arg(config.jobs.to_string());
    if profile == Profile::Release {
        command.arg("--release");
    }
    command.arg("--").arg("-C").arg(format!("link-arg=-Wl,--reproduce={}", tarball.display()));
    let log = directory.join(format!("build-{}.log", profile.name()));
    let _ = std::fs::remove_file(&log);
    run_logged(&mut command, &log)?;
    if !tarball.is_file() {
        bail!("the build finished but {} was not written (is rust-lld the default linker?)", tarball.display());
    }
    Ok(tarball)
}
