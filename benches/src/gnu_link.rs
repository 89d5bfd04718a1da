//! The GNU-ld command line for linking relocatable objects into a dynamically linked PIE
//! against the system glibc, as `gcc -pie` would, but invoking the linker directly.
//!
//! The C runtime start files (`Scrt1.o`, `crti.o`, `crtbeginS.o`, `crtendS.o`, `crtn.o`) are
//! located once with `gcc -print-file-name=…`, so the same arguments can be handed to every
//! ld-compatible linker (rivet-ld, ld.bfd, lld, mold, wild) and only the linker differs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The dynamic loader of x86-64 glibc, recorded in the executable's `PT_INTERP`.
pub const DYNAMIC_LINKER: &str = "/lib64/ld-linux-x86-64.so.2";

/// The C runtime files and library directories that `gcc` would hand the linker.
#[derive(Debug, Clone)]
pub struct CRuntime {
    pub scrt1: PathBuf,
    pub crti: PathBuf,
    pub crtbegin_s: PathBuf,
    pub crtend_s: PathBuf,
    pub crtn: PathBuf,
    /// Directories searched for `-lc` (glibc's `libc.so` linker script and friends).
    pub library_dirs: Vec<PathBuf>,
}

impl CRuntime {
    /// Asks `gcc` where its start files are.
    pub fn discover() -> Result<Self> {
        let scrt1 = gcc_file("Scrt1.o")?;
        let crti = gcc_file("crti.o")?;
        let crtbegin_s = gcc_file("crtbeginS.o")?;
        let crtend_s = gcc_file("crtendS.o")?;
        let crtn = gcc_file("crtn.o")?;
        let mut library_dirs = Vec::new();
        for file in [&crtbegin_s, &scrt1, &gcc_file("libc.so")?] {
            if let Some(dir) = file.parent() {
                let dir = dir.to_path_buf();
                if !library_dirs.contains(&dir) {
                    library_dirs.push(dir);
                }
            }
        }
        Ok(Self { scrt1, crti, crtbegin_s, crtend_s, crtn, library_dirs })
    }
}

/// Returns the full GNU-ld argument list (without the linker itself) that links `objects`
/// into the PIE `output` against glibc, with the flags `gcc -pie` passes on x86-64 Debian.
pub fn pie_link_args(runtime: &CRuntime, objects: &[PathBuf], output: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-pie",
        "-m",
        "elf_x86_64",
        "--hash-style=gnu",
        "--build-id",
        "--eh-frame-hdr",
        "-z",
        "relro",
        "-z",
        "now",
        "-dynamic-linker",
        DYNAMIC_LINKER,
        "-o",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(output.into());
    args.push(runtime.scrt1.clone().into());
    args.push(runtime.crti.clone().into());
    args.push(runtime.crtbegin_s.clone().into());
    args.extend(objects.iter().map(|object| object.clone().into_os_string()));
    for dir in &runtime.library_dirs {
        let mut flag = OsString::from("-L");
        flag.push(dir);
        args.push(flag);
    }
    args.push("-lc".into());
    args.push(runtime.crtend_s.clone().into());
    args.push(runtime.crtn.clone().into());
    args
}

fn gcc_file(name: &str) -> Result<PathBuf> {
    let output = Command::new("gcc")
        .arg(format!("-print-file-name={name}"))
        .output()
        .context("running `gcc -print-file-name` (is gcc installed?)")?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    // gcc echoes the bare name back when it cannot find the file.
    if !output.status.success() || !path.is_absolute() || !path.exists() {
        bail!("gcc does not know where {name} is (got {:?})", path);
    }
    // gcc answers with `…/12/../../../x86_64-linux-gnu/…`; keep command lines readable.
    Ok(path.canonicalize().unwrap_or(path))
}
