//! Transparent huge pages for the linker's heap, on glibc.
//!
//! A large link touches tens of MB of fresh heap, and the first touch of every 4 KiB page
//! is a page fault: about 13,000 of them in a debug ripgrep link, at some 2 µs each on the
//! VMs rivet is measured on. glibc backs its heap with transparent huge pages when asked
//! (`glibc.malloc.hugetlb=1`, with a 64 MiB `top_pad` so that heaps grow by whole huge
//! pages), which leaves about 2,600 faults, for a few MB more peak memory. It takes that
//! request only from the `GLIBC_TUNABLES` environment variable, read when the process starts,
//! so a large link re-executes the linker once with it set: one `execve`, about a
//! millisecond. Small links, kernels with huge pages off, a `GLIBC_TUNABLES` that already
//! sets `glibc.malloc.hugetlb`, and a failed `execve` all go on in the process as it is.

use crate::args::{Config, InputKind};
use std::ffi::OsString;

const TUNABLES: &str = "glibc.malloc.hugetlb=1:glibc.malloc.top_pad=67108864";

/// Below this many bytes of inputs named on the command line, the `execve` costs more than
/// the faults it saves.
const MIN_INPUT_BYTES: u64 = 32 << 20;

/// Replaces the process with the same linker and arguments, `GLIBC_TUNABLES` set, when the
/// link is large enough to gain from it; returns otherwise. Call it while the process has
/// one thread.
pub fn reexec_if_worthwhile(config: &Config, args: &[OsString]) {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    let current = std::env::var_os("GLIBC_TUNABLES").unwrap_or_default();
    if current.to_string_lossy().contains("glibc.malloc.hugetlb") || !transparent_huge_pages_on() {
        return;
    }
    let input_bytes: u64 = config
        .inputs
        .iter()
        .filter_map(|input| match &input.kind {
            InputKind::Path(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            InputKind::Library(_) => None,
        })
        .sum();
    if input_bytes < MIN_INPUT_BYTES {
        return;
    }
    let mut value = current;
    if !value.is_empty() {
        value.push(":");
    }
    value.push(TUNABLES);
    let arg0 = std::env::args_os().next().unwrap_or_else(|| "rivet-ld".into());
    use std::os::unix::process::CommandExt;
    // `exec` returns only if it failed; the link then runs here, without huge pages.
    let _ = std::process::Command::new("/proc/self/exe").arg0(arg0).args(args).env("GLIBC_TUNABLES", value).exec();
}

/// Whether glibc was asked for a heap in huge pages (by the re-exec, or by the user).
pub fn requested() -> bool {
    std::env::var_os("GLIBC_TUNABLES").is_some_and(|v| v.to_string_lossy().contains("glibc.malloc.hugetlb=1"))
}

/// Whether the kernel gives huge pages to memory that asks for them.
fn transparent_huge_pages_on() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| mode.contains("[always]") || mode.contains("[madvise]"))
}
