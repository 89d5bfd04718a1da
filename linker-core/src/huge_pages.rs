//! Transparent huge pages for the linker's heap, on glibc.
//!
//! A large link touches tens of MB of fresh heap, and the first touch of every 4 KiB page
//! is a page fault: about 13,000 of them in a debug ripgrep link, at some 2 µs each on the
//! VMs rivet is measured on. In huge pages that leaves about 3,000 faults, for a few MB more
//! peak memory.
//!
//! glibc's own switch for this (`glibc.malloc.hugetlb=1`) cannot be relied on: early glibc
//! releases that have it, 2.36 as Debian 12 ships it among them, compare the kernel's THP mode
//! string without terminating it, so the request takes effect in about half of all runs,
//! depending on a stray stack byte (later releases terminate it). rivet-ld therefore sizes the heaps with a glibc
//! tunable and advises them itself. Tunables are read only from `GLIBC_TUNABLES` when the
//! process starts, so a large link re-executes the linker once with a `top_pad` that makes
//! the first `sbrk` reserve room for the whole link (one `execve`, about a millisecond). The
//! re-executed linker marks that `brk` heap `MADV_HUGEPAGE` before any large allocation, and
//! each worker thread marks the arena glibc gave it when it starts. Small links,
//! kernels with huge pages off, a `GLIBC_TUNABLES` that already sets `glibc.malloc.hugetlb`,
//! and a failed `execve` all go on in the process as it is.

use crate::args::{Config, InputKind};
use std::ffi::OsString;

/// Room reserved for a 256 MiB `brk` heap, and thread arenas mapped whole (address space
/// only: pages cost memory when they are first touched).
const TUNABLES: &str = "glibc.malloc.top_pad=268435456";

const HUGE_PAGE: usize = 2 << 20;

/// The size and alignment of a glibc thread arena's heap on 64-bit targets.
const ARENA_HEAP_BYTES: usize = 64 << 20;

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
    if current.to_string_lossy().ends_with(TUNABLES) {
        // This is the re-executed linker.
        advise_heap();
        return;
    }
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

/// The `brk` heap's range, once it is advised.
static BRK_HEAP: std::sync::OnceLock<std::ops::Range<usize>> = std::sync::OnceLock::new();

/// Whether the heap was marked for huge pages.
pub fn advised() -> bool {
    BRK_HEAP.get().is_some()
}

/// Marks the `brk` heap, which glibc's first allocation grew by `top_pad`, `MADV_HUGEPAGE`.
fn advise_heap() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return };
    let Some(range) = maps.lines().find(|l| l.ends_with("[heap]")).and_then(|l| l.split(' ').next()) else {
        return;
    };
    let Some((start, end)) = range.split_once('-') else { return };
    let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else { return };
    if advise(start, end) {
        let _ = BRK_HEAP.set(start..end);
    }
}

/// Run by each worker thread as it starts: marks the heap of the arena glibc assigned it,
/// unless that is the `brk` heap. A thread arena's heap is a mapping of
/// [`ARENA_HEAP_BYTES`] aligned to its size, so it is found from any block it handed out.
pub fn advise_thread_heap() {
    let Some(brk_heap) = BRK_HEAP.get() else { return };
    // A block too large for glibc's per-thread cache, which may hold blocks other threads
    // allocated, so that it comes from the thread's arena.
    // SAFETY: a block from glibc's malloc, freed at once; only its address is used.
    let at = unsafe {
        let block = std::hint::black_box(libc::malloc(4096));
        libc::free(block);
        block as usize
    };
    if at != 0 && !brk_heap.contains(&at) {
        let start = at & !(ARENA_HEAP_BYTES - 1);
        advise(start, start + ARENA_HEAP_BYTES);
    }
}

/// Marks the whole huge pages in `start..end` `MADV_HUGEPAGE`.
fn advise(start: usize, end: usize) -> bool {
    let start = start.next_multiple_of(HUGE_PAGE);
    if start >= end {
        return false;
    }
    // SAFETY: advice on mappings this process owns; it changes no contents.
    unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) == 0 }
}

/// Whether the kernel gives huge pages to memory that asks for them.
fn transparent_huge_pages_on() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| mode.contains("[always]") || mode.contains("[madvise]"))
}
