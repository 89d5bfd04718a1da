//! The output file while a link writes it, and what a link leaves if it is killed.
//!
//! A link writes into a temporary file next to the output, `.<name>.rivet-tmp.<pid>`, and
//! renames it over the output only once it is complete (closed, build id included), so the
//! output path never holds a partly written file. Replacing an old executable, the old file
//! is moved to the temporary name and overwritten in place, as mold does: storing into a
//! file's existing pages costs less than giving a new file fresh ones and freeing the old.
//!
//! **What a killed link leaves.** At every instant the output path holds the previous
//! output, the new complete output, or nothing:
//! - killed before the claim, or when the old output is not overwritten in place (a shared
//!   object, a second name, an input, a running executable): the previous output;
//! - killed after an in-place overwrite has begun, that is, from the claim to the rename:
//!   nothing, since the old bytes are being overwritten in the temporary;
//! - killed after the rename: the new output.
//!
//! The temporary is what a kill leaks, and **the next link to the same output repairs it**:
//! each link holds an exclusive `flock` on its temporary from the moment it owns it, and
//! scans the directory for the temporaries of its output name. One whose lock is free and
//! whose process is gone is a leftover (the lock is released by the kernel however its
//! holder died; the process check covers the instant between creating a file and locking
//! it). The first leftover becomes this link's temporary, to be overwritten in place like an
//! old output (nobody can be running or mapping it: it never had the output's name); the
//! others are removed. The scan runs on a background thread with the removal of the old
//! output, and the writer waits for it only when it has no old output of its own to reuse.
//! The same code runs in the rustc backend's in-process link, so rustc killed mid-link
//! leaves the same states and the next build repairs them.
//!
//! `rivet-ld` also removes its temporary on SIGINT, SIGTERM and SIGHUP (see `driver`), and
//! its forked linking child dies with the parent process it reports to.

use crate::args::{Config, OutputKind};
use crate::error::{Error, Result};
use crate::input::{FileArena, FileStamp};
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// The second name `--incremental` keeps an output under, `.<name>.rivet-output` (a hard
/// link: cargo removes an output before it runs rustc again, and an up-to-date link puts it
/// back).
pub fn second_name(output: &Path) -> PathBuf {
    beside(output, ".rivet-output")
}

/// A hidden file next to `output` that belongs to it, `.<name><suffix>`.
pub fn beside(output: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(output.file_name().unwrap_or("a.out".as_ref()));
    name.push(suffix);
    output.with_file_name(name)
}

/// Whether the old output at `output` has no name but its own and the second name
/// `--incremental` gave it (whose state then no longer matches it once it is overwritten),
/// `uplifted` names left aside.
fn only_names_are_ours(output: &Path, meta: &std::fs::Metadata, uplifted: bool) -> bool {
    match std::os::unix::fs::MetadataExt::nlink(meta) - uplifted as u64 {
        1 => true,
        2 => FileStamp::of_path(&second_name(output)).is_some_and(|kept| kept.same_file(&FileStamp::of(meta))),
        _ => false,
    }
}

/// The temporary file a link by this process writes before renaming it to `output`.
pub fn temporary_path(output: &Path) -> PathBuf {
    let (dir, prefix) = temporary_prefix(output);
    let mut name = prefix;
    name.push(std::process::id().to_string());
    dir.join(name)
}

/// The directory of `output` and the file name its temporaries start with.
fn temporary_prefix(output: &Path) -> (PathBuf, OsString) {
    let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut prefix = OsString::from(".");
    prefix.push(output.file_name().unwrap_or("a.out".as_ref()));
    prefix.push(".rivet-tmp.");
    (dir.to_path_buf(), prefix)
}

/// The output file while the link writes it: a temporary name next to the target, renamed
/// into place only when everything succeeded and removed on drop otherwise. Like `make` and
/// ld.bfd, a failed link leaves no stale output behind.
pub struct PendingOutput {
    tmp: PathBuf,
    /// The file at `tmp`, opened and locked, to be overwritten in place: the old output or a
    /// killed link's leftover.
    reused: Option<File>,
    /// A leftover adopted by the background scan, when there was no old output to reuse.
    adopted: Option<mpsc::Receiver<Option<File>>>,
    /// The background scan for leftovers and the removal of an old output that is not reused.
    cleanup: Option<std::thread::JoinHandle<()>>,
    committed: bool,
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl PendingOutput {
    /// Takes the output path over before anything is written (every input is mapped by then).
    ///
    /// An old executable is moved to the temporary name and overwritten in place, only when
    /// nothing else can see it change: it is no input, has no other name, is not a shared
    /// object (processes that loaded a library have it mapped), and is not running (opening
    /// it for writing fails with ETXTBSY). Any other old output is unlinked in the background:
    /// freeing its pages (ms per 10 MB on tmpfs) then overlaps the link instead of the rename.
    pub fn claim(config: &Config, arena: &FileArena) -> PendingOutput {
        let tmp = temporary_path(&config.output);
        let mut out = PendingOutput { tmp, reused: None, adopted: None, cleanup: None, committed: false };
        let old = std::fs::symlink_metadata(&config.output).ok().filter(|m| m.file_type().is_file());
        if let Some(meta) = &old {
            let reusable = config.output_kind != OutputKind::SharedObject
                && only_names_are_ours(&config.output, meta, false)
                && !arena.holds(&FileStamp::of(meta));
            if reusable
                && let Some(file) = open_locked(&config.output)
                && std::fs::rename(&config.output, &out.tmp).is_ok()
            {
                out.reused = Some(file);
            }
        }
        let old_to_remove = old.is_some() && out.reused.is_none();
        let (sender, receiver) = mpsc::sync_channel(1);
        let adopting = out.reused.is_none();
        if adopting {
            out.adopted = Some(receiver);
        }
        let (output, tmp) = (config.output.clone(), out.tmp.clone());
        out.cleanup = Some(std::thread::spawn(move || {
            let mut leftovers = find_leftovers(&output).into_iter();
            if adopting {
                let _ = sender.send(leftovers.next().and_then(|(path, file)| adopt(&path, file, &tmp)));
            }
            if old_to_remove {
                let _ = std::fs::remove_file(&output);
            }
            for (path, _) in leftovers {
                let _ = std::fs::remove_file(path);
            }
        }));
        out
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Opens the temporary file, sized `len`, and says whether it held an earlier file's
    /// bytes (which the writer must then overwrite, padding included): the old output or an
    /// adopted leftover when there is one, else a new file.
    pub fn open(&mut self, len: u64) -> Result<(File, bool)> {
        if self.reused.is_none()
            && let Some(adopted) = self.adopted.take()
        {
            self.reused = adopted.recv().ok().flatten();
        }
        let (file, reused) = match self.reused.take() {
            Some(file) => (file, true),
            None => {
                let _ = std::fs::remove_file(&self.tmp);
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&self.tmp)
                    .map_err(|e| Error::io(&self.tmp, e))?;
                // Nobody else knows the file yet: the lock cannot be contended.
                let _ = file.try_lock();
                (file, false)
            }
        };
        file.set_len(len).map_err(|e| Error::io(&self.tmp, e))?;
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o755));
        Ok((file, reused))
    }

    /// Renames the finished output into place. It was written through a descriptor that is
    /// closed by now: a file open for writing cannot be executed (ETXTBSY), and whoever
    /// waits for the link may run the output at once.
    pub fn commit(mut self, config: &Config) -> Result<()> {
        if let Some(cleanup) = self.cleanup.take() {
            let _ = cleanup.join();
        }
        std::fs::rename(&self.tmp, &config.output).map_err(|e| Error::io(&config.output, e))?;
        self.committed = true;
        Ok(())
    }
}

/// cargo's uplifted name of `output` when cargo runs the link and `output` (met as `meta`) has
/// one. cargo builds a binary in its build directory, as `<profile>/deps/<crate>-<16 hex
/// digits>` (its original layout) or `<profile>/build/<package>/<hash>/out/<crate>` (its
/// layout by build unit), and once rustc has succeeded it replaces `<profile>/<bin>` with a
/// hard link to it (`<bin>` is the crate name, with `-` where the crate name has `_`).
fn cargo_uplift(output: &Path, meta: &std::fs::Metadata) -> Option<PathBuf> {
    std::env::var_os("CARGO")?;
    let name = output.file_name()?.to_str()?;
    let dir = |levels: usize| output.ancestors().nth(levels).and_then(Path::file_name).and_then(|n| n.to_str());
    let (profile, krate) = if dir(1) == Some("deps") {
        let (krate, hash) = name.rsplit_once('-')?;
        if hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        (output.ancestors().nth(2)?, krate)
    } else if dir(1) == Some("out") && dir(4) == Some("build") {
        (output.ancestors().nth(5)?, name)
    } else {
        return None;
    };
    let stamp = FileStamp::of(meta);
    [krate.to_string(), krate.replace('_', "-")]
        .into_iter()
        .map(|bin| profile.join(bin))
        .find(|uplift| FileStamp::of_path(uplift).is_some_and(|s| s.same_file(&stamp)))
}

/// The old output opened to be patched by an incremental relink (`patch`). In place when the
/// rules for overwriting it in place allow (an executable with no name but its own and its
/// second name, not running), under the temporary name while it changes, so that the output
/// path never holds a partly patched file; else in a copy (`copy_file_range`: a reflink where
/// the file system shares extents), renamed over the output when done, so that a running
/// program and the output's other names keep the old file.
///
/// cargo's uplifted name of a binary (`cargo_uplift`) is the exception: cargo replaces it
/// with a hard link to the new output as soon as rustc succeeds, so it is no name to keep the
/// old file under, and copying a 366 MB typst-cli to keep it costs 90 ms of a 100 ms relink.
/// The output is patched in place, the uplifted name removed before the first byte changes:
/// like the output's own name, it then holds the old file or nothing, never a partly patched
/// one, and cargo puts it back.
pub struct Patching {
    file: File,
    output: PathBuf,
    /// The second name, when the output itself was gone (cargo removed it): that file is
    /// patched and linked back under the output's name.
    kept: Option<PathBuf>,
    /// cargo's uplifted name of the output, removed when the patch begins.
    uplift: Option<PathBuf>,
    tmp: PathBuf,
    /// Whether `file` is a copy at `tmp`.
    copied: bool,
    moved: bool,
    done: bool,
}

impl Patching {
    /// Opens the old output, which must have `stamp`.
    pub fn open(config: &Config, stamp: FileStamp) -> Result<Patching, String> {
        let kept = second_name(&config.output);
        let (path, restore) = match FileStamp::of_path(&config.output) {
            Some(now) if now == stamp => (config.output.clone(), false),
            None if FileStamp::of_path(&kept) == Some(stamp) => (kept.clone(), true),
            _ => return Err("the output changed".into()),
        };
        let meta = std::fs::symlink_metadata(&path).map_err(|e| e.to_string())?;
        if !meta.file_type().is_file() {
            return Err("the output is no regular file".into());
        }
        let uplift = cargo_uplift(&config.output, &meta);
        let names_ours = if restore {
            std::os::unix::fs::MetadataExt::nlink(&meta) - uplift.is_some() as u64 == 1
        } else {
            only_names_are_ours(&config.output, &meta, uplift.is_some())
        };
        let tmp = temporary_path(&config.output);
        let kept = restore.then_some(kept);
        let output = config.output.clone();
        if names_ours && let Some(file) = open_locked(&path) {
            return Ok(Patching { file, output, kept, uplift, tmp, copied: false, moved: false, done: false });
        }
        let copy = std::fs::copy(&path, &tmp).map_err(|e| format!("copying the output: {e}"));
        match copy.and_then(|_| open_locked(&tmp).ok_or_else(|| "the copy of the output is locked".to_string())) {
            Ok(file) => {
                Ok(Patching { file, output, kept: None, uplift: None, tmp, copied: true, moved: false, done: false })
            }
            Err(why) => {
                let _ = std::fs::remove_file(&tmp);
                Err(why)
            }
        }
    }

    /// A read-only map of the output as it is before the patch. Planning reads it in
    /// place: the tables it scans (`.symtab`, `.rela.dyn`, `.eh_frame_hdr`) are megabytes in
    /// a big link, which reads into fresh buffers would copy and fault in.
    pub fn map(&self) -> std::io::Result<memmap2::Mmap> {
        // SAFETY: the file is only read through the map, which is dropped before this
        // process writes the patch; the lock (`open_locked`, advisory) keeps other rivet links
        // out, and nothing else writes a file named as rivet's output.
        unsafe { memmap2::Mmap::map(&self.file) }
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Whether the patch goes into a copy of the output.
    pub fn is_copy(&self) -> bool {
        self.copied
    }

    /// Takes the output's name away before the first byte of it changes in place.
    pub fn begin(&mut self) -> std::io::Result<()> {
        if let Some(uplift) = &self.uplift {
            std::fs::remove_file(uplift)?;
        }
        if !self.copied && self.kept.is_none() {
            std::fs::rename(&self.output, &self.tmp)?;
            self.moved = true;
        }
        Ok(())
    }

    /// Puts the patched output in place.
    pub fn commit(mut self) -> std::io::Result<()> {
        match &self.kept {
            Some(kept) => std::fs::hard_link(kept, &self.output)?,
            None => std::fs::rename(&self.tmp, &self.output)?,
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for Patching {
    fn drop(&mut self) {
        if (self.moved || self.copied) && !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Opens `path` for writing with an exclusive lock, or nothing when it is running (ETXTBSY)
/// or another link holds it.
fn open_locked(path: &Path) -> Option<File> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path).ok()?;
    file.try_lock().ok()?;
    Some(file)
}

/// The temporaries of `output` left by links that died, each opened with its lock now held
/// by this process, in name order (a deterministic choice of the one to adopt).
fn find_leftovers(output: &Path) -> Vec<(PathBuf, Option<File>)> {
    let (dir, prefix) = temporary_prefix(output);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let prefix = prefix.as_encoded_bytes();
    let mut found: Vec<(PathBuf, Option<File>)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let pid = name.as_encoded_bytes().strip_prefix(prefix)?;
            let pid: i32 = std::str::from_utf8(pid).ok()?.parse().ok().filter(|&p| p > 0)?;
            if pid as u32 == std::process::id() || process_exists(pid) {
                return None;
            }
            let path = entry.path();
            // A leftover that cannot be opened for writing (someone runs it) is still removed.
            match open_locked(&path) {
                Some(file) => Some((path, Some(file))),
                None => File::open(&path).ok()?.try_lock().ok().map(|()| (path, None)),
            }
        })
        .collect();
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Renames a leftover to this link's temporary name, to be overwritten in place.
fn adopt(path: &Path, file: Option<File>, tmp: &Path) -> Option<File> {
    let file = file?;
    let single_name = file.metadata().is_ok_and(|m| std::os::unix::fs::MetadataExt::nlink(&m) == 1);
    if single_name && std::fs::rename(path, tmp).is_ok() {
        Some(file)
    } else {
        let _ = std::fs::remove_file(path);
        None
    }
}

fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    unsafe { libc::kill(pid, 0) == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) }
}
