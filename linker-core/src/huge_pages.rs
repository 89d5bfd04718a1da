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
//! depending on a stray stack byte (later releases terminate it). rivet-ld therefore sizes
//! the heaps itself and advises them. On a large link it sets glibc's `M_TOP_PAD` (what the
//! `glibc.malloc.top_pad` tunable sets), so that the next growth of the `brk` heap reserves
//! room for the whole link, makes that growth happen at once, and marks the heap
//! `MADV_HUGEPAGE` before any large allocation; each worker thread marks the arena glibc gave
//! it when it starts. Small links, kernels with huge pages off and a `GLIBC_TUNABLES` that
//! already sets `glibc.malloc.hugetlb` go on with glibc's defaults.
//!
//! **Not under a hypervisor that takes free memory back.** A guest whose kernel reports free
//! pages to the host (virtio-balloon free page reporting, as on the Firecracker VMs rivet is
//! measured on) reports free blocks of huge-page size (`page_reporting_order` 9) about two
//! seconds after they are freed, and the host drops them. A huge page is always such a block,
//! so after any idle moment each one the link touches is faulted in again by the host behind
//! the guest's zeroing (the likely cause of the spread of 0.1 to 2.3 ms a MB that `pipeline`
//! reports); 4 KiB pages come first from smaller free blocks, which are never reported. Links
//! 3 s apart (`scripts/alternate.py --gap 3 8`, 2 threads, rivet-ld built with huge pages
//! beside the same build without): typst-cli release 198.8 ms in huge pages against 161.6 ms
//! without (wild 166.5, rust-lld 303.5), ripgrep debug 131.7 against 97.4 ms (wild 138.1,
//! rust-lld 210.3). Only back to back, before the freed blocks are reported, do huge pages win
//! (the same builds, `scripts/alternate.py 12`: 128.1 against 152.3 ms and 82.1 against
//! 92.9 ms). A link follows a compiler that ran a while, so where free pages are reported the
//! heap stays in 4 KiB pages, unless `RIVET_HUGE_PAGES=1` asks for huge pages (to measure
//! both, or for links that run back to back).

/// Room reserved for a 256 MiB `brk` heap, and thread arenas mapped whole (address space
/// only: pages cost memory when they are first touched).
const TOP_PAD: usize = 256 << 20;

const HUGE_PAGE: usize = 2 << 20;

/// The size and alignment of a glibc thread arena's heap on 64-bit targets.
const ARENA_HEAP_BYTES: usize = 64 << 20;

/// Below this many bytes of inputs, huge pages save too few faults to be worth the larger
/// heap.
const MIN_INPUT_BYTES: u64 = 32 << 20;

/// Under glibc's default `mmap` threshold (128 KiB), so that it comes from the `brk` heap.
const GROW_STEP: usize = 64 << 10;

/// Reserves and advises the `brk` heap when the link, of `input_bytes` of mapped inputs, is
/// large enough to gain from it. Call it before the link's threads start and before it
/// allocates much.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn use_if_worthwhile(input_bytes: u64) {
    let tunables = std::env::var_os("GLIBC_TUNABLES").unwrap_or_default();
    if input_bytes < MIN_INPUT_BYTES
        || tunables.to_string_lossy().contains("glibc.malloc.hugetlb")
        || !transparent_huge_pages_on()
        || free_pages_reported() && std::env::var_os("RIVET_HUGE_PAGES").is_none_or(|v| v != "1")
    {
        return;
    }
    // SAFETY: glibc's documented interface; the blocks are freed at once and only their
    // effect on the break is used.
    unsafe {
        if libc::mallopt(libc::M_TOP_PAD, TOP_PAD as libc::c_int) == 0 {
            return;
        }
        // Allocate until the heap grows (by `TOP_PAD`): the top chunk's free part is what
        // remains of glibc's first, small growth.
        let before = libc::sbrk(0) as usize;
        let mut blocks = [std::ptr::null_mut(); 8];
        for block in &mut blocks {
            *block = libc::malloc(GROW_STEP);
            if libc::sbrk(0) as usize != before {
                break;
            }
        }
        for block in blocks {
            libc::free(block);
        }
    }
    advise_heap();
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn use_if_worthwhile(_: u64) {}

/// The `brk` heap's range, once it is advised.
static BRK_HEAP: std::sync::OnceLock<std::ops::Range<usize>> = std::sync::OnceLock::new();

/// Whether the heap was marked for huge pages.
pub fn advised() -> bool {
    BRK_HEAP.get().is_some()
}

/// Marks the `brk` heap, which [`use_if_worthwhile`] grew by [`TOP_PAD`], `MADV_HUGEPAGE`.
/// In a forked process the heap is two mappings: the part inherited from the parent and the
/// part grown since.
fn advise_heap() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return };
    let ranges = maps.lines().filter(|l| l.ends_with("[heap]")).filter_map(|l| {
        let (start, end) = l.split(' ').next()?.split_once('-')?;
        Some((usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?))
    });
    let Some((start, end)) = ranges.reduce(|(start, _), (_, end)| (start, end)) else { return };
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

/// Whether the kernel reports free pages to the hypervisor: a virtio balloon (device 5) whose
/// driver took the free page reporting feature (bit 5 of the bits sysfs lists, first bit
/// first).
fn free_pages_reported() -> bool {
    const BALLOON: &str = "0x0005";
    const FREE_PAGE_REPORTING: usize = 5;
    let Ok(devices) = std::fs::read_dir("/sys/bus/virtio/devices") else { return false };
    devices.flatten().map(|device| device.path()).any(|device| {
        let read = |file: &str| std::fs::read_to_string(device.join(file)).unwrap_or_default();
        read("device").trim() == BALLOON && read("features").as_bytes().get(FREE_PAGE_REPORTING) == Some(&b'1')
    })
}

/// Whether the kernel gives huge pages to memory that asks for them.
fn transparent_huge_pages_on() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|mode| mode.contains("[always]") || mode.contains("[madvise]"))
}
