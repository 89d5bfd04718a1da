//! The Cranelift engine (`RIVET_ENGINE=cranelift`): the toolchain's shipped Cranelift
//! backend generates the code, rivet links it in-process.
//!
//! The backend is the `rustc-codegen-cranelift-preview` component's shared object, loaded
//! from the running rustc's sysroot with `dlopen` (never closed: rustc keeps using the
//! code) and driven through the same `CodegenBackend` trait rustc uses. Its codegen driver
//! is private, so its objects cannot be handed over by a hook in the code: instead a
//! [`Watcher`] follows the output directory with inotify and sends each planned object the
//! moment its file is closed after writing (`IN_CLOSE_WRITE`; renames into place too).
//! Only the exact paths the link planned are taken: other rustc processes under cargo
//! write to the same directory. An object written before the watch starts, or one that
//! was not planned (Cranelift's separate `global_asm!` objects), reaches the link with the
//! final list at the end of codegen, so nothing is lost, only less is overlapped.

use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use rustc_codegen_ssa::traits::CodegenBackend;

use crate::in_process::{Event, Sender};

/// Loads the toolchain's Cranelift backend.
pub fn load() -> Result<Box<dyn CodegenBackend>, String> {
    let rustc = std::env::current_exe().map_err(|e| format!("cannot find the running rustc: {e}"))?;
    let sysroot = rustc.parent().and_then(Path::parent).ok_or("the running rustc is not in a sysroot")?;
    // rivet links for x86_64 Linux only, so the backend runs in rustc for that host.
    let host = "x86_64-unknown-linux-gnu";
    let dir = sysroot.join("lib/rustlib").join(host).join("codegen-backends");
    let library = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.file_name().is_some_and(|n| n.as_bytes().starts_with(b"librustc_codegen_cranelift")))
        .ok_or_else(|| {
            format!("no Cranelift backend in {} (rustup component add rustc-codegen-cranelift-preview)", dir.display())
        })?;
    let path = CString::new(library.as_os_str().as_bytes()).map_err(|_| "a path with a NUL byte")?;
    // SAFETY: loading the Cranelift backend built for this very rustc (same sysroot); its
    // entry point has the signature rustc itself calls it with. The handle is never closed.
    unsafe {
        let handle = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if handle.is_null() {
            return Err(format!(
                "cannot load {}: {}",
                library.display(),
                CStr::from_ptr(libc::dlerror()).to_string_lossy()
            ));
        }
        let entry = libc::dlsym(handle, c"__rustc_codegen_backend".as_ptr());
        if entry.is_null() {
            return Err(format!("{} has no __rustc_codegen_backend", library.display()));
        }
        let entry: fn() -> Box<dyn CodegenBackend> = std::mem::transmute(entry);
        Ok(entry())
    }
}

/// Sends planned objects to a link as their files are written.
pub struct Watcher {
    stop: libc::c_int,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Watches the directories of `planned` objects (`(module name, path)`).
    pub fn start(planned: Vec<(String, PathBuf)>, sender: Sender) -> Result<Watcher, String> {
        // SAFETY: plain system calls on descriptors this function owns.
        unsafe {
            let inotify = libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK);
            if inotify < 0 {
                return Err(format!("inotify: {}", std::io::Error::last_os_error()));
            }
            let mut dirs: Vec<&Path> = planned.iter().map(|(_, p)| directory_of(p)).collect();
            dirs.sort();
            dirs.dedup();
            let mut watches = Vec::new();
            for dir in dirs {
                let dir_c = CString::new(dir.as_os_str().as_bytes()).map_err(|_| "a path with a NUL byte")?;
                let wd = libc::inotify_add_watch(inotify, dir_c.as_ptr(), libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO);
                if wd < 0 {
                    libc::close(inotify);
                    return Err(format!("inotify on {}: {}", dir.display(), std::io::Error::last_os_error()));
                }
                watches.push((wd, dir.to_path_buf()));
            }
            let mut pipe = [0; 2];
            if libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                libc::close(inotify);
                return Err(format!("pipe: {}", std::io::Error::last_os_error()));
            }
            let stop_read = pipe[0];
            let thread = std::thread::Builder::new()
                .name("rivet-watch".into())
                .spawn(move || watch(inotify, stop_read, &watches, planned, sender))
                .map_err(|e| e.to_string())?;
            Ok(Watcher { stop: pipe[1], thread: Some(thread) })
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // SAFETY: closing the write end this value owns wakes the watching thread.
        unsafe { libc::close(self.stop) };
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The directory a path names its file in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn watch(
    inotify: libc::c_int,
    stop: libc::c_int,
    watches: &[(libc::c_int, PathBuf)],
    planned: Vec<(String, PathBuf)>,
    sender: Sender,
) {
    let mut remaining = planned;
    let mut buffer = vec![0u8; 64 << 10];
    while !remaining.is_empty() {
        let mut fds = [
            libc::pollfd { fd: inotify, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: stop, events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: polling two descriptors this thread owns.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 || fds[1].revents != 0 {
            break;
        }
        // SAFETY: reading into a buffer this thread owns.
        let read = unsafe { libc::read(inotify, buffer.as_mut_ptr().cast(), buffer.len()) };
        if read <= 0 {
            continue;
        }
        let mut at = 0;
        while at + std::mem::size_of::<libc::inotify_event>() <= read as usize {
            // SAFETY: the kernel wrote whole events; the header may be unaligned in the buffer.
            let event: libc::inotify_event = unsafe { std::ptr::read_unaligned(buffer.as_ptr().add(at).cast()) };
            let name_start = at + std::mem::size_of::<libc::inotify_event>();
            let name_bytes = &buffer[name_start..name_start + event.len as usize];
            let name = OsStr::from_bytes(name_bytes.split(|&b| b == 0).next().unwrap_or_default());
            at = name_start + event.len as usize;
            let Some((_, dir)) = watches.iter().find(|(wd, _)| *wd == event.wd) else { continue };
            let written = |p: &Path| directory_of(p) == dir && p.file_name() == Some(name);
            if let Some(i) = remaining.iter().position(|(_, p)| written(p)) {
                let (module, path) = remaining.swap_remove(i);
                let _ = sender.send(Event::Object { name: module, path });
            }
        }
    }
    // SAFETY: closing descriptors this thread owns.
    unsafe {
        libc::close(inotify);
        libc::close(stop);
    }
}
