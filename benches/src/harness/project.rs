//! The real Rust projects whose final link the bench replays, from crates.io: fetching a
//! project's source without git, and building it with rust-lld's `--reproduce` so that only
//! its binary's final link is captured.
//!
//! The source comes from the registry: a scratch cargo project that depends on the crate at
//! its exact version is `cargo fetch`ed, and the `.crate` file (a tar.gz) left in cargo's
//! registry cache is unpacked into the work dir. Builds use the crate's own Cargo.lock
//! (`--locked`) and the toolchain pinned by the rivet workspace.
//!
//! ripgrep (33 packages) is the everyday workload; typst-cli (312 packages) and
//! starship (291) are the big links where per-input costs and output size dominate (`--big`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use super::config::Config;
use super::process::{run_captured, run_logged};

/// Cargo profile of a build.
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

/// The projects whose links `replay` replays: ripgrep, and the big ones with `--big`.
pub fn replayed(config: &Config) -> Vec<Project> {
    if config.big { vec![RIPGREP, TYPST, STARSHIP] } else { vec![RIPGREP] }
}

/// A project from crates.io with one binary whose link is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Project {
    /// Workload names start with it: `rg-debug`, `typst-release`.
    pub key: &'static str,
    pub crate_name: &'static str,
    pub version: &'static str,
    pub bin: &'static str,
    /// A source file of the binary, touched so that cargo reruns the final rustc.
    pub main_source: &'static str,
    /// Packages in its dependency graph on Linux, itself included
    /// (`cargo tree --locked -e normal,build --prefix none | sed 's/ (\*)//' | sort -u | wc -l`).
    pub packages: u32,
    /// A code edit in `main_source` (text found there once, and what it becomes), for the
    /// relink bench's rebuilt codegen unit; none where the bench makes none.
    pub code_edit: Option<(&'static str, &'static str)>,
}

pub const RIPGREP: Project = Project {
    key: "rg",
    crate_name: "ripgrep",
    version: "14.1.1",
    bin: "rg",
    main_source: "crates/core/main.rs",
    packages: 33,
    // The operands of an `&&` swapped: the same behaviour, other code.
    code_edit: Some(("if matched && args.quit_after_match() {", "if args.quit_after_match() && matched {")),
};

pub const TYPST: Project = Project {
    key: "typst",
    crate_name: "typst-cli",
    version: "0.13.1",
    bin: "typst",
    main_source: "src/main.rs",
    packages: 312,
    // Two calls in `main` swapped: the same behaviour (on an error), other code.
    code_edit: Some((
        "        set_failed();\n        print_error(msg.message()).expect(\"failed to print error\");",
        "        print_error(msg.message()).expect(\"failed to print error\");\n        set_failed();",
    )),
};

pub const STARSHIP: Project = Project {
    key: "starship",
    crate_name: "starship",
    version: "1.22.1",
    bin: "starship",
    main_source: "src/main.rs",
    packages: 291,
    code_edit: None,
};

/// `<work>/sources/<purpose>/<crate>-<version>`, unpacked from the registry if not there
/// yet. Each purpose (`replay`, `e2e`) gets its own copy, since e2e edits its source.
pub fn unpacked_source(config: &Config, project: &Project, purpose: &str) -> Result<PathBuf> {
    let parent = config.work_dir.join("sources").join(purpose);
    let source = parent.join(format!("{}-{}", project.crate_name, project.version));
    if source.join("Cargo.toml").is_file() {
        return Ok(source);
    }
    let crate_file = registry_crate_file(config, project)?;
    std::fs::create_dir_all(&parent)?;
    run_captured(Command::new("tar").arg("xzf").arg(&crate_file).arg("-C").arg(&parent))?;
    if !source.join("Cargo.toml").is_file() {
        bail!("{} did not unpack to {}", crate_file.display(), source.display());
    }
    Ok(source)
}

/// The project's `.crate` archive in cargo's registry cache, fetched if needed.
fn registry_crate_file(config: &Config, project: &Project) -> Result<PathBuf> {
    if let Some(found) = find_cached_crate(project)? {
        return Ok(found);
    }
    let scratch = config.work_dir.join(format!("fetch-{}", project.crate_name));
    std::fs::create_dir_all(scratch.join("src"))?;
    std::fs::write(
        scratch.join("Cargo.toml"),
        format!(
            "[package]\nname = \"fetch-{}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\n{} = \"={}\"\n\n[workspace]\n",
            project.crate_name, project.crate_name, project.version
        ),
    )?;
    std::fs::write(scratch.join("src/main.rs"), "fn main() {}\n")?;
    let log = config.work_dir.join(format!("fetch-{}.log", project.crate_name));
    run_logged(config.cargo().current_dir(&scratch).arg("fetch"), &log)?;
    find_cached_crate(project)?.with_context(|| {
        format!("cargo fetch succeeded but {}'s .crate is not in the registry cache", project.crate_name)
    })
}

fn find_cached_crate(project: &Project) -> Result<Option<PathBuf>> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let cache = cargo_home.join("registry/cache");
    let Ok(registries) = std::fs::read_dir(&cache) else {
        return Ok(None);
    };
    for registry in registries.flatten() {
        let candidate = registry.path().join(format!("{}-{}.crate", project.crate_name, project.version));
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// A `cargo` command for building a project in `source`, isolated from the caller's
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

/// `<work>/reproduce/<key>-<profile>.tar`: rust-lld's `--reproduce` archive of the
/// binary's final link, built with `cargo rustc --bin <bin> [--release] -- -C
/// link-arg=-Wl,--reproduce=…`. Reused when it already exists.
pub fn reproduce_tarball(config: &Config, project: &Project, profile: Profile) -> Result<PathBuf> {
    reproduce(config, project, profile, None)
}

/// `<work>/reproduce/<key>-<profile>-edited.tar`: the same link after the project's
/// `code_edit`, built in the same directory right after [`reproduce_tarball`]'s build (so
/// with its incremental cache: only the edited codegen units are made again), the edit then
/// undone. Reused when it already exists; `None` for a project without an edit, and for
/// release builds: they are not incremental, and rustc partitions the crate's code into
/// units anew after an edit (every unit of ripgrep's changes).
pub fn edited_reproduce_tarball(config: &Config, project: &Project, profile: Profile) -> Result<Option<PathBuf>> {
    let Some(edit) = project.code_edit.filter(|_| profile == Profile::Debug) else { return Ok(None) };
    reproduce_tarball(config, project, profile)?;
    reproduce(config, project, profile, Some(edit)).map(Some)
}

fn reproduce(config: &Config, project: &Project, profile: Profile, edit: Option<(&str, &str)>) -> Result<PathBuf> {
    let directory = config.work_dir.join("reproduce");
    let stem = format!("{}-{}{}", project.key, profile.name(), if edit.is_some() { "-edited" } else { "" });
    let tarball = directory.join(format!("{stem}.tar"));
    if tarball.is_file() {
        return Ok(tarball);
    }
    std::fs::create_dir_all(&directory)?;
    let source = unpacked_source(config, project, "replay")?;
    let main = source.join(project.main_source);
    let original = std::fs::read_to_string(&main).with_context(|| format!("reading {}", main.display()))?;
    match (edit, project.code_edit) {
        (Some((line, edited)), _) => {
            if original.matches(line).count() != 1 {
                bail!("{} does not hold `{line}` exactly once", main.display());
            }
            std::fs::write(&main, original.replace(line, edited))?;
        }
        // A build of the edited source killed before the edit was undone.
        (None, Some((_, edited))) if original.contains(edited) => {
            bail!("{} still holds the bench's edit `{edited}`: undo it", main.display());
        }
        (None, _) => {}
    }
    // Make cargo re-run the final rustc even if the binary is up to date from an earlier attempt.
    let built = File::options()
        .write(true)
        .open(&main)
        .and_then(|file| file.set_modified(SystemTime::now()))
        .with_context(|| format!("touching {}", project.main_source))
        .and_then(|()| {
            let mut command = cargo_in(config, &source, &source.join("target"));
            command.args(["rustc", "--locked", "--bin", project.bin, "-j"]).arg(config.jobs.to_string());
            if profile == Profile::Release {
                command.arg("--release");
            }
            command.arg("--").arg("-C").arg(format!("link-arg=-Wl,--reproduce={}", tarball.display()));
            let log = directory.join(format!("build-{stem}.log"));
            let _ = std::fs::remove_file(&log);
            run_logged(&mut command, &log)
        });
    if edit.is_some() {
        std::fs::write(&main, &original)?;
    }
    built?;
    if !tarball.is_file() {
        bail!("the build finished but {} was not written (is rust-lld the default linker?)", tarball.display());
    }
    Ok(tarball)
}
