//! `--incremental`: a link whose inputs and options are those of the link that wrote its
//! output does nothing but check that, and touches the output.
//!
//! **The state.** After each incremental link, `.<name>.rivet-state` next to the output
//! records what the output was made from:
//! - the linker: its version and the size and modification time of the file its code was
//!   loaded from (`rivet-ld`, or the rustc backend's library), so a rebuilt linker links again;
//! - the options: a hash of every setting that can change the output's bytes, with input
//!   paths, `-L` directories and the output's name left out (the files they lead to are
//!   compared instead, so a rustc temporary directory's new name changes nothing), and the
//!   contents of version scripts and dynamic lists put in;
//! - the output's stamp: device, inode, size and modification time, as the link left it; the
//!   output also gets a second name, `.<name>.rivet-output` (a hard link, no copy), because
//!   cargo removes an output before it runs rustc again;
//! - every input file in canonical order with its path, stamp and a 128-bit content hash,
//!   then the files read while linking (thin archive members), likewise.
//!
//! **The check** (before anything is parsed): the inputs are loaded as for a link (so `-l`
//! searches and GNU ld scripts are followed afresh, and a library that now shadows another
//! is seen), and the link is up to date when the linker, the options and the output's stamp
//! (or, the output being gone, its second name's) are those recorded and each input, position
//! by position, has the recorded stamp under any name (a hard link is the same file: rustc
//! reuses objects from its incremental cache so), or failing that the recorded content (one
//! hash of that file: a rebuilt but identical object, or rustc's `symbols.o` under a new
//! temporary name). Anything else, including a missing, foreign, stale or corrupt state,
//! means a full link; `--time` says why.
//!
//! **Costs.** The check stats the inputs, opening only the scripts and the files the state
//! does not know (the driver's `input::load_inputs_unread`), and stats the output: 1.6 ms for
//! ripgrep's 325 inputs, in a 3.4 ms `rivet-ld` run. Recording hashes, on the pool, the
//! inputs whose stamps the previous state did not have (after an edit: the changed objects),
//! and only after the output is in place: `rivet-ld` has told its caller by then (the forked
//! child records after the parent has exited). A link that starts before the state is
//! written finds the previous state, whose output stamp no longer matches: it links in full.
//!
//! **Safety.** The output is only touched (or linked back under its name), never written, by
//! an up-to-date link. A full link may overwrite the old output in place when its only other
//! name is this second one (see `output_file`): the stamps then differ from the state's, so
//! a link killed meanwhile leaves nothing that passes the check. The state is
//! written to a temporary and renamed into place. A link killed before it records leaves the
//! previous state, which describes either the previous output (still in place, and correct
//! for its inputs) or an output that is no longer there: both are checked like any other.
//! `--Map`, `--reproduce` and `-y` write or print what the link did, so with them every link
//! is a full one and no state is kept.

use crate::args::{Config, InputKind};
use crate::input::{FileArena, FileStamp, LoadedFile};
use crate::output_file::second_name;
use rayon::prelude::*;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"rivet-state v1\n\0";

#[derive(Debug, PartialEq, Eq)]
struct FileRecord {
    path: PathBuf,
    stamp: FileStamp,
    hash: u128,
}

#[derive(Debug, PartialEq, Eq)]
struct State {
    linker: u128,
    options: u128,
    output: FileStamp,
    inputs: Vec<FileRecord>,
    read_while_linking: Vec<FileRecord>,
}

/// Why a link could not be skipped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stale {
    NoState,
    Unreadable,
    Linker,
    Options,
    Output,
    InputCount { then: usize, now: usize },
    Input(PathBuf),
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::NoState => f.write_str("no state from an earlier link"),
            Stale::Unreadable => f.write_str("the state is not one this linker wrote"),
            Stale::Linker => f.write_str("the linker changed"),
            Stale::Options => f.write_str("the options changed"),
            Stale::Output => f.write_str("the output changed or is gone"),
            Stale::InputCount { then, now } => write!(f, "{then} inputs then, {now} now"),
            Stale::Input(path) => write!(f, "{} changed", path.display()),
        }
    }
}

/// Whether `config` keeps a state at all (see the module doc).
pub fn applies(config: &Config) -> bool {
    config.incremental && config.map_file.is_none() && config.reproduce.is_none() && config.trace_symbols.is_empty()
}

/// Where the state of `output` lives.
pub fn state_path(output: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(output.file_name().unwrap_or("a.out".as_ref()));
    name.push(".rivet-state");
    output.with_file_name(name)
}

/// Checks whether the output is what a link of `inputs` (loaded, not yet parsed) would write.
/// Up to date, the output is touched and `Ok` tells how many inputs were hashed.
pub fn check(config: &Config, inputs: &mut Inputs) -> Result<usize, Stale> {
    let mut state = std::mem::replace(&mut inputs.previous, Err(Stale::NoState))?;
    if state.linker != linker_identity() {
        return Err(Stale::Linker);
    }
    if inputs.files.len() != state.inputs.len() {
        return Err(Stale::InputCount { then: state.inputs.len(), now: inputs.files.len() });
    }
    if state.options != options_fingerprint(config) {
        return Err(Stale::Options);
    }
    // Cargo removes an output before it runs rustc again: the kept name brings it back.
    let kept = second_name(&config.output);
    let restore = match FileStamp::of_path(&config.output) {
        Some(stamp) if stamp == state.output => false,
        None if FileStamp::of_path(&kept) == Some(state.output) => true,
        _ => return Err(Stale::Output),
    };
    // Inputs whose path or stamp changed but not their contents, with their new path and
    // stamp. The same stamp under another name is the same file (a hard link: how rustc
    // reuses an object from its incremental cache).
    let mut renewed = Vec::new();
    for (index, (taken, record)) in inputs.files.values().zip(&state.inputs).enumerate() {
        if taken.stamp == record.stamp {
            if taken.path != record.path {
                renewed.push((index, taken.path.clone(), taken.stamp));
            }
            continue;
        }
        if taken.hash.unwrap_or_else(|| twox_hash::XxHash3_128::oneshot(taken.bytes)) != record.hash {
            return Err(Stale::Input(taken.path.clone()));
        }
        renewed.push((index, taken.path.clone(), taken.stamp));
    }
    let mut renewed_later = Vec::new();
    for (index, record) in state.read_while_linking.iter().enumerate() {
        let Some(stamp) = FileStamp::of_path(&record.path) else { return Err(Stale::Input(record.path.clone())) };
        if stamp != record.stamp {
            if !std::fs::read(&record.path).is_ok_and(|b| twox_hash::XxHash3_128::oneshot(&b) == record.hash) {
                return Err(Stale::Input(record.path.clone()));
            }
            renewed_later.push((index, stamp));
        }
    }
    let hashed =
        renewed.iter().filter(|(index, _, stamp)| state.inputs[*index].stamp != *stamp).count() + renewed_later.len();
    // Up to date. Put the output back if it was removed, touch it as a link would have, so
    // that `make` sees it newer than its inputs, and record its new stamp with the inputs'.
    if restore {
        std::fs::hard_link(&kept, &config.output).map_err(|_| Stale::Output)?;
    }
    let now = [libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_NOW }; 2];
    let c_path = std::ffi::CString::new(config.output.as_os_str().as_bytes()).map_err(|_| Stale::Output)?;
    // SAFETY: a plain system call on a NUL-terminated path.
    if unsafe { libc::utimensat(libc::AT_FDCWD, c_path.as_ptr(), now.as_ptr(), 0) } != 0 {
        return Err(Stale::Output);
    }
    state.output = FileStamp::of_path(&config.output).ok_or(Stale::Output)?;
    for (index, path, stamp) in renewed {
        (state.inputs[index].path, state.inputs[index].stamp) = (path, stamp);
    }
    for (index, stamp) in renewed_later {
        state.read_while_linking[index].stamp = stamp;
    }
    // A state that cannot be written only costs the next link its shortcut.
    let _ = write_state(&state_path(&config.output), &state);
    Ok(hashed)
}

/// The inputs of an incremental link in canonical order, taken before they are parsed, to be
/// checked against the state or recorded once the output is in place.
pub struct Inputs<'d> {
    files: std::collections::BTreeMap<u32, Taken<'d>>,
    /// The state of the link that wrote the output, or why there is none to use.
    previous: Result<State, Stale>,
    /// The content hashes that state recorded, by stamp: a file with a recorded stamp has the
    /// recorded contents, whatever else changed, and is not hashed again. With each, whether
    /// it was an input itself (not a script or a thin archive member).
    known: std::collections::HashMap<FileStamp, (u128, bool)>,
}

struct Taken<'d> {
    path: PathBuf,
    stamp: FileStamp,
    bytes: &'d [u8],
    /// Computed by [`Inputs::hash`] or when recording.
    hash: Option<u128>,
}

impl<'d> Inputs<'d> {
    /// Starts taking the inputs of a link to `config.output`, reading the state its last
    /// incremental link left.
    pub fn new(config: &Config) -> Inputs<'d> {
        let previous = std::fs::read(state_path(&config.output))
            .map_err(|_| Stale::NoState)
            .and_then(|bytes| State::decode(&bytes).ok_or(Stale::Unreadable));
        let known = match &previous {
            Ok(state) => {
                let read = state.read_while_linking.iter().map(|r| (r.stamp, (r.hash, false)));
                // Inputs last: a file both read while linking and an input is an input.
                read.chain(state.inputs.iter().map(|r| (r.stamp, (r.hash, true)))).collect()
            }
            Err(_) => Default::default(),
        };
        Inputs { files: Default::default(), previous, known }
    }

    /// Whether there is a previous state to check against.
    pub fn has_previous(&self) -> bool {
        self.previous.is_ok()
    }

    /// Whether a file with `stamp` was an input of the previous link: it need not be read to
    /// be checked (`input::load_inputs_unread`).
    pub fn was_input(&self, stamp: &FileStamp) -> bool {
        self.known.get(stamp).is_some_and(|&(_, input)| input)
    }

    /// Forgets the inputs taken so far (to take them again as they were mapped).
    pub fn clear(&mut self) {
        self.files.clear();
    }

    pub fn add(&mut self, input: &LoadedFile<'d>) {
        let hash = self.known.get(&input.stamp).map(|&(hash, _)| hash);
        let taken = Taken { path: input.path.clone(), stamp: input.stamp, bytes: input.bytes, hash };
        self.files.insert(input.position, taken);
    }

    /// Hashes the contents of the inputs taken so far, on the current thread pool: an
    /// embedder with idle cores does it before the link ends (the rustc backend, during
    /// codegen), so that recording is quick.
    pub fn hash(&mut self) {
        self.files.par_iter_mut().filter(|(_, f)| f.hash.is_none()).for_each(|(_, f)| {
            f.hash = Some(twox_hash::XxHash3_128::oneshot(f.bytes));
        });
    }

    /// Writes the state of the link that just put `config.output` in place from these inputs
    /// and whatever else `arena` mapped. Runs on the current thread pool.
    pub fn record(mut self, config: &Config, arena: &FileArena) -> std::io::Result<()> {
        let output = FileStamp::of_path(&config.output).ok_or_else(|| std::io::Error::other("the output is gone"))?;
        keep_output(&config.output)?;
        // Files mapped while linking (thin archive members, scripts), each once.
        let mut seen: std::collections::HashSet<PathBuf> = self.files.values().map(|f| f.path.clone()).collect();
        let mut later = Inputs { files: Default::default(), previous: Err(Stale::NoState), known: Default::default() };
        for (path, stamp, bytes) in arena.files() {
            if seen.insert(path.clone()) {
                let hash = self.known.get(&stamp).map(|&(hash, _)| hash);
                later.files.insert(later.files.len() as u32, Taken { path, stamp, bytes, hash });
            }
        }
        self.hash();
        later.hash();
        let records = |inputs: Inputs| -> Vec<FileRecord> {
            let records = inputs.files.into_values().map(|f| FileRecord {
                path: f.path,
                stamp: f.stamp,
                hash: f.hash.unwrap_or(0),
            });
            records.collect()
        };
        let mut read_while_linking = records(later);
        read_while_linking.sort_by(|a, b| a.path.cmp(&b.path));
        let state = State {
            linker: linker_identity(),
            options: options_fingerprint(config),
            output,
            inputs: records(self),
            read_while_linking,
        };
        write_state(&state_path(&config.output), &state)
    }
}

/// Gives `output` its second name, replacing the previous output's.
///
/// Neither this name nor the state is renamed over an existing file: ext4 (`auto_da_alloc`)
/// then writes the new file's data out at once, which costs tens of milliseconds for a large
/// output. The old one is removed first instead; a link that finds either missing in
/// between links in full.
fn keep_output(output: &Path) -> std::io::Result<()> {
    let kept = second_name(output);
    let _ = std::fs::remove_file(&kept);
    std::fs::hard_link(output, &kept)
}

fn write_state(path: &Path, state: &State) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}", std::process::id()));
    std::fs::write(&temporary, state.encode())?;
    let _ = std::fs::remove_file(path);
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// The build of the linker running: its version and the stamp of the file its code came from.
fn linker_identity() -> u128 {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let here = linker_identity as *const libc::c_void;
    // SAFETY: dladdr only reads the loader's tables; `dli_fname` is a C string it owns.
    let file = if unsafe { libc::dladdr(here, &mut info) } != 0 && !info.dli_fname.is_null() {
        let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
        PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()))
    } else {
        PathBuf::new()
    };
    // The main program's name may be relative to a directory since left.
    let file = if file.is_absolute() { file } else { std::env::current_exe().unwrap_or(file) };
    let stamp = FileStamp::of_path(&file).unwrap_or_default();
    let text = format!("{} {} {}", crate::driver::VERSION, stamp.size, stamp.mtime_ns);
    twox_hash::XxHash3_128::oneshot(text.as_bytes())
}

/// A hash of every setting that can change the output (see the module doc).
fn options_fingerprint(config: &Config) -> u128 {
    let mut c = config.clone();
    for input in &mut c.inputs {
        if let InputKind::Path(path) = &mut input.kind {
            *path = PathBuf::new();
        }
    }
    let contents = |paths: &[PathBuf]| -> Vec<u128> {
        paths.iter().map(|p| std::fs::read(p).map_or(0, |b| twox_hash::XxHash3_128::oneshot(&b))).collect()
    };
    let side_files = (contents(&c.version_scripts), contents(&c.dynamic_list));
    c.version_scripts.clear();
    c.dynamic_list.clear();
    c.search_paths.clear();
    c.command_line.clear();
    c.output = PathBuf::new();
    c.threads = None;
    c.print_timing = false;
    c.no_fork = false;
    twox_hash::XxHash3_128::oneshot(format!("{c:?} {side_files:?}").as_bytes())
}

impl State {
    fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.linker.to_le_bytes());
        out.extend_from_slice(&self.options.to_le_bytes());
        encode_stamp(&mut out, self.output);
        for list in [&self.inputs, &self.read_while_linking] {
            out.extend_from_slice(&(list.len() as u64).to_le_bytes());
            for record in list {
                let path = record.path.as_os_str().as_bytes();
                out.extend_from_slice(&(path.len() as u64).to_le_bytes());
                out.extend_from_slice(path);
                encode_stamp(&mut out, record.stamp);
                out.extend_from_slice(&record.hash.to_le_bytes());
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<State> {
        let mut r = Reader(bytes.strip_prefix(MAGIC)?);
        let linker = r.u128()?;
        let options = r.u128()?;
        let output = r.stamp()?;
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            let count = r.u64()?;
            for _ in 0..count {
                let len = usize::try_from(r.u64()?).ok()?;
                let path = PathBuf::from(std::ffi::OsStr::from_bytes(r.take(len)?));
                list.push(FileRecord { path, stamp: r.stamp()?, hash: r.u128()? });
            }
        }
        let [inputs, read_while_linking] = lists;
        r.0.is_empty().then_some(State { linker, options, output, inputs, read_while_linking })
    }
}

fn encode_stamp(out: &mut Vec<u8>, stamp: FileStamp) {
    for field in [stamp.dev, stamp.ino, stamp.size, stamp.mtime_ns] {
        out.extend_from_slice(&field.to_le_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(taken)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }

    fn stamp(&mut self) -> Option<FileStamp> {
        Some(FileStamp { dev: self.u64()?, ino: self.u64()?, size: self.u64()?, mtime_ns: self.u64()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_rejects_damage() {
        let record = |p: &str, n: u64| FileRecord {
            path: PathBuf::from(p),
            stamp: FileStamp { dev: n, ino: n + 1, size: n + 2, mtime_ns: n + 3 },
            hash: u128::from(n) << 64 | 7,
        };
        let state = State {
            linker: 1,
            options: 2,
            output: FileStamp { dev: 3, ino: 4, size: 5, mtime_ns: 6 },
            inputs: vec![record("a.o", 10), record("/x/libstd.rlib", 20)],
            read_while_linking: vec![record("thin/m.o", 30)],
        };
        let bytes = state.encode();
        assert_eq!(State::decode(&bytes), Some(state));
        for cut in 0..bytes.len() {
            assert_eq!(State::decode(&bytes[..cut]), None, "a state cut at {cut} bytes was read");
        }
        let mut foreign = bytes.clone();
        foreign[3] ^= 1;
        assert_eq!(State::decode(&foreign), None);
        let mut huge_count = bytes;
        let at = MAGIC.len() + 32 + 32;
        huge_count[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(State::decode(&huge_count), None);
    }
}
