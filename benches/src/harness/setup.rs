//! `setup`: installs the peer linkers and tools the benchmarks need, skipping whatever is
//! already present, fetches the sources of the replayed projects and builds rivet-ld.
//!
//! * Debian packages: `mold`, `lld-19`, `hyperfine`, `time` (for `/usr/bin/time`),
//!   `binutils` (ld.bfd), `gcc`, `cmake` (starship's build compiles zlib-ng with it):
//!   `apt-get update` then `apt-get install -y` of the missing ones;
//! * `wild`: `cargo install wild-linker --locked` (with the pinned nightly: wild needs a
//!   recent rustc);
//! * Zig: `python3 -m pip install ziglang`.
//!
//! A failed install is reported and the remaining steps still run; the affected linker then
//! shows as unavailable in the results.

use std::process::Command;

use anyhow::{Result, bail};

use super::config::Config;
use super::linker_id::LinkerId;
use super::linkers;
use super::process::{on_path, run_visible};
use super::project;

/// A Debian package and the file whose presence shows it is installed.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("mold", "mold"),
    ("lld-19", "ld.lld-19"),
    ("hyperfine", "hyperfine"),
    ("time", "/usr/bin/time"),
    ("binutils", "ld.bfd"),
    ("gcc", "gcc"),
    ("cmake", "cmake"),
];

pub fn run(config: &Config) -> Result<()> {
    let mut problems = Vec::new();
    if let Err(e) = install_debian_packages(config) {
        problems.push(format!("Debian packages: {e:#}"));
    }
    if config.wants(LinkerId::Wild) {
        if let Err(e) = install_wild(config) {
            problems.push(format!("wild: {e:#}"));
        }
    }
    if config.wants(LinkerId::Zig) {
        if let Err(e) = install_zig(config) {
            problems.push(format!("zig: {e:#}"));
        }
    }
    for p in project::replayed(config) {
        if let Err(e) = project::unpacked_source(config, &p, "replay") {
            problems.push(format!("{} source: {e:#}", p.crate_name));
        }
    }

    eprintln!("\n== linkers ==");
    for linker in linkers::discover(config) {
        match linker.unavailable_reason() {
            None => eprintln!("  {:<22} {}", linker.id.label(), linker.version),
            Some(reason) => {
                eprintln!("  {:<22} UNAVAILABLE: {}", linker.id.label(), super::process::first_line(reason));
                if linker.id == LinkerId::Rivet {
                    eprintln!("  {:<22} (expected while rivet-ld is being written: its cells will read \"fails\")", "");
                } else {
                    problems.push(format!("{}: {reason}", linker.id.label()));
                }
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { bail!("setup finished with problems:\n  {}", problems.join("\n  ")) }
}

fn install_debian_packages(config: &Config) -> Result<()> {
    let missing: Vec<&str> =
        DEBIAN_PACKAGES.iter().filter(|(_, file)| !on_path(file)).map(|(package, _)| *package).collect();
    if missing.is_empty() {
        eprintln!("setup: Debian packages present ({})", names(DEBIAN_PACKAGES));
        return Ok(());
    }
    if !config.install {
        bail!("missing Debian packages {missing:?} and --no-install was given");
    }
    run_visible(Command::new("apt-get").arg("update"))?;
    run_visible(Command::new("apt-get").args(["install", "-y"]).args(&missing))?;
    Ok(())
}

fn install_wild(config: &Config) -> Result<()> {
    if linkers::wild_path().is_ok() {
        eprintln!("setup: wild present");
        return Ok(());
    }
    if !config.install {
        bail!("wild is missing and --no-install was given");
    }
    run_visible(
        config
            .cargo()
            .current_dir(&config.repo_root)
            .args(["install", "wild-linker", "--locked", "-j"])
            .arg(config.jobs.to_string()),
    )
}

fn install_zig(config: &Config) -> Result<()> {
    if linkers::zig_path().is_ok() {
        eprintln!("setup: zig (ziglang) present");
        return Ok(());
    }
    if !config.install {
        bail!("ziglang is missing and --no-install was given");
    }
    run_visible(Command::new("python3").args(["-m", "pip", "install", "ziglang"]))
}

fn names(packages: &[(&str, &str)]) -> String {
    packages.iter().map(|(package, _)| *package).collect::<Vec<_>>().join(", ")
}
