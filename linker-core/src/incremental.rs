//! `--incremental`: a link whose inputs and options are those of the link that wrote its
//! output does nothing but check that, and touches the output; one where only objects changed
//! (plain objects, or members of archives), keeping their shape, patches the output in place
//! (`patch`, [`relink_in_place`]).
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
//!   then the files read while linking (thin archive members), likewise;
//! - the map of the output (`patch::OutputMap`: where each kept object's sections are, the
//!   build id's hashed ranges), and a copy of each kept object, `.<name>.rivet-objects/<n>`
//!   (`<n>.<member>` for an archive's), with its own stamp: a relink compares an object's
//!   successor with it. A copy, not a hard link: gcc's assembler overwrites its output in
//!   place, which would change a hard link too; but a hard link to the objects of an
//!   embedder whose objects are written once (rustc's: `Inputs::objects_written_once`), which
//!   costs a system call instead of a write. Copies are written only for objects whose
//!   contents the previous state's copy does not already have. The kept objects are the plain
//!   objects, and the members the link loaded from each archive whose contents changed since
//!   an earlier link (`KeptArchive`: a crate of the workspace, not the standard library),
//!   with that archive's layout (its member count, and the symbol index but for the names of
//!   the members the link loaded: `archive_layout`).
//!
//! **The check** (before anything is parsed): the inputs are loaded as for a link (so `-l`
//! searches and GNU ld scripts are followed afresh, and a library that now shadows another
//! is seen), and the link is up to date when the linker, the options and the output's stamp
//! (or, the output being gone, its second name's) are those recorded and each input, position
//! by position, has the recorded stamp under any name (a hard link is the same file: rustc
//! reuses objects from its incremental cache so), or failing that the recorded content (one
//! hash of that file: a rebuilt but identical object, or rustc's `symbols.o` under a new
//! temporary name). When only inputs changed (no option, no file read while linking), and
//! each changed input is a plain object with a kept copy whose successor has its shape, or an
//! archive kept member by member whose layout is unchanged and whose changed loaded members
//! each have their kept copy's shape (other members may change at will: they are not
//! loaded, and the symbol index that would load them is the same), the output is patched in
//! place (`patch`); anything else, including a missing, foreign, stale or corrupt state,
//! means a full link; `--time` says why. The first change of an archive therefore links in
//! full, and keeps its members for the next one.
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
use crate::incremental_state::{
    FileRecord, KeptArchive, KeptCopy, State, decode_map, encode_map, write_file, write_state,
};
use crate::input::{FileArena, FileStamp, LoadedFile};
use crate::output_file::{beside, second_name};
use crate::patch::OutputMap;
use crate::timing::Timer;
use rayon::prelude::*;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What decides which members of an archive a link loads: the number of members and the
/// symbol index (each name with its member's index), but for the names of the members the
/// link loaded (`loaded`: indices plus one, as the map numbers them). With the same layout and
/// loaded members of the same shape (`patch`), a link loads the same members, and member `n`
/// is the successor of the earlier member `n`. A loaded member is loaded whatever its names
/// are; those an edit adds or takes out are the patch's to check (a name the output has, a
/// function another file calls). The members' names are left out: they change nothing in the
/// output, and rustc's name the compilation session (`<crate>.<unit>.<session>.rcgu.o`).
fn archive_layout(archive: &crate::archive::Archive<'_>, loaded: &[u32]) -> u128 {
    let mut hasher = twox_hash::XxHash3_128::new();
    hasher.write(&(archive.members.len() as u64).to_le_bytes());
    for symbol in archive.symbols.iter().filter(|s| !loaded.contains(&(s.member + 1))) {
        hasher.write(&(symbol.name.len() as u64).to_le_bytes());
        hasher.write(symbol.name);
        hasher.write(&symbol.member.to_le_bytes());
    }
    hasher.finish_128()
}

/// The bytes of member `member` (index plus one) of `archive`, unless it is a thin member.
fn member_bytes<'a>(archive: &crate::archive::Archive<'a>, member: u32) -> Option<&'a [u8]> {
    match archive.members.get(member.checked_sub(1)? as usize)?.data {
        crate::archive::MemberData::Bytes(bytes) => Some(bytes),
        crate::archive::MemberData::Thin { .. } => None,
    }
}

/// Why a link could not be skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    NoState,
    Unreadable,
    Linker,
    Options,
    Output,
    InputCount {
        then: usize,
        now: usize,
    },
    Input(PathBuf),
    /// Inputs changed, and only inputs: the output may be patched (`relink_in_place`).
    Inputs {
        first: PathBuf,
        count: usize,
    },
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
            Stale::Inputs { first, count: 1 } => write!(f, "{} changed", first.display()),
            Stale::Inputs { first, count } => write!(f, "{} and {} more inputs changed", first.display(), count - 1),
        }
    }
}

/// Whether `config` keeps a state at all (see the module doc).
pub fn applies(config: &Config) -> bool {
    config.incremental && config.map_file.is_none() && config.reproduce.is_none() && config.trace_symbols.is_empty()
}

/// Where the state of `output` lives.
pub fn state_path(output: &Path) -> PathBuf {
    beside(output, ".rivet-state")
}

/// Checks whether the output is what a link of `inputs` (loaded, not yet parsed) would write.
/// Up to date, the output is touched and `Ok` tells how many inputs were hashed. When only
/// inputs changed, [`relink_in_place`] may patch the output.
pub fn check(config: &Config, inputs: &mut Inputs) -> Result<usize, Stale> {
    let state = inputs.previous.as_mut().map_err(|why| why.clone())?;
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
    // Inputs whose stamp changed are hashed: the same contents under a new stamp (a rebuild
    // that changed nothing) are the same input. The same stamp under another name is the
    // same file (a hard link: how rustc reuses an object from its incremental cache).
    inputs.changed.clear();
    let mut hashed = 0;
    for (index, (taken, record)) in inputs.files.values_mut().zip(&state.inputs).enumerate() {
        if taken.stamp == record.stamp {
            continue;
        }
        hashed += 1;
        if !taken.has_contents_of(record) {
            inputs.changed.push(index);
        }
    }
    inputs.renewed_later.clear();
    for (index, record) in state.read_while_linking.iter().enumerate() {
        let Some(stamp) = FileStamp::of_path(&record.path) else { return Err(Stale::Input(record.path.clone())) };
        if stamp != record.stamp {
            if !std::fs::read(&record.path).is_ok_and(|b| twox_hash::XxHash3_128::oneshot(&b) == record.hash) {
                // Named after the first input that changed, if any: what it read changed.
                let first = inputs.changed.first().and_then(|&i| inputs.files.values().nth(i));
                return Err(Stale::Input(first.map_or(&record.path, |f| &f.path).clone()));
            }
            inputs.renewed_later.push((index, stamp));
        }
    }
    hashed += inputs.renewed_later.len();
    if let Some(&first) = inputs.changed.first() {
        let first = inputs.files.values().nth(first).map(|f| f.path.clone()).unwrap_or_default();
        return Err(Stale::Inputs { first, count: inputs.changed.len() });
    }
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
    inputs.renew();
    let state = inputs.previous.as_ref().map_err(|why| why.clone())?;
    // A state that cannot be written only costs the next link its shortcut.
    let _ = write_state(&state_path(&config.output), state);
    Ok(hashed)
}

/// What an in-place relink did.
pub struct Patched {
    pub inputs: usize,
    pub tally: crate::patch::Tally,
}

/// After [`check`] found that only inputs changed (`Stale::Inputs`): writes the changed
/// objects' sections into the output where they are (see `patch`), or says why a full
/// link is needed, leaving the output as it was or gone. Patched, the state is recorded.
/// With `--time`, its steps are reported once the output is in place.
pub fn relink_in_place(config: &Config, inputs: &mut Inputs) -> Result<Patched, String> {
    relink_in_place_timed(config, inputs, &mut Timer::new(config.print_timing), &mut |timer, _| timer.report())
}

/// [`relink_in_place`], with a `--time` lap per step; `on_output_ready` gets the timer and
/// what was done once the patched output is in place, before the copies and the state are
/// recorded (a link that starts before they are finds no state and links in full).
pub(crate) fn relink_in_place_timed(
    config: &Config,
    inputs: &mut Inputs,
    timer: &mut Timer,
    on_output_ready: &mut dyn FnMut(&Timer, &Patched),
) -> Result<Patched, String> {
    if let Some(why) = crate::patch::unpatchable(config) {
        return Err(why.into());
    }
    let state = inputs.previous.as_mut().map_err(|why| why.to_string())?;
    let map_path = map_path(&config.output);
    let map = std::fs::read(&map_path)
        .ok()
        .filter(|bytes| state.map == Some(twox_hash::XxHash3_128::oneshot(bytes)))
        .and_then(|bytes| decode_map(&bytes));
    let mut map = map.ok_or("the earlier link kept no map of its output")?;
    let mut target = crate::output_file::Patching::open(config, state.output)?;
    timer.lap(if target.is_copy() { "incremental: output copied" } else { "incremental: output opened" });
    let files: Vec<(&u32, &Taken)> = inputs.files.iter().collect();
    let changed = changed_objects(state, &map, &files, &inputs.changed)?;
    let output = target.map().map_err(|e| format!("the output: {e}"))?;
    let mut olds = Vec::with_capacity(changed.len());
    for object in &changed {
        let key = (object.position, object.member);
        let old = map_kept_copy(&config.output, &state.copies, key, object.old_hash)
            .ok_or_else(|| format!("no copy of the earlier {}", object.name))?;
        olds.push(old.map_err(|e| format!("{}: {e}", kept_copy(&config.output, key.0, key.1).display()))?);
    }
    // Objects that define a function an edit added first: another's new call may go there.
    let mut order: Vec<usize> = (0..changed.len()).collect();
    if changed.len() > 1 {
        order.sort_by_key(|&i| !crate::patch::defines_new_globals(&olds[i], changed[i].bytes));
    }
    // Functions of unchanged objects that no code called (the link dropped them, or a relink
    // added them unlisted) and new code calls, by object: found once a plan fails for want of
    // them, and planned first in the next try.
    let mut revived: Vec<((u32, u32), memmap2::Mmap, Vec<Vec<u8>>)> = Vec::new();
    let planner = loop {
        let mut planner = crate::patch::Planner::new(config);
        let Err(why) = plan_all(&mut planner, &changed, &olds, &order, &revived, &map, &output) else { break planner };
        let tries = revived.iter().map(|(_, _, names)| names.len()).sum::<usize>();
        let Some(name) = planner.missing_definitions().iter().min().filter(|_| tries < MAX_REVIVED) else {
            return Err(why);
        };
        let changed_keys: Vec<(u32, u32)> = changed.iter().map(|o| (o.position, o.member)).collect();
        let Some((key, object)) = uncalled_definition(config, state, &map, &changed_keys, name) else {
            return Err(why);
        };
        match revived.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, names)) if !names.contains(name) => names.push(name.clone()),
            Some(_) => return Err(why),
            None => revived.push((key, object, vec![name.clone()])),
        }
    };
    let relink = planner.finish(&mut map, &output)?;
    drop(output);
    timer.lap("incremental: changed objects compared, patches planned");
    // From here on the old output is being changed: no state describes it until it is done.
    let _ = std::fs::remove_file(state_path(&config.output));
    target.begin().map_err(|e| format!("the output: {e}"))?;
    crate::patch::apply(target.file(), &relink, &mut map).map_err(|e| format!("the output: {e}"))?;
    target.commit().map_err(|e| format!("the output: {e}"))?;
    // A patched copy is a new file: the second name must follow it.
    keep_output(&config.output).map_err(|e| format!("the output's second name: {e}"))?;
    timer.lap("incremental: output patched, build id hashed");
    let patched = Patched { inputs: inputs.changed.len(), tally: relink.tally };
    on_output_ready(timer, &patched);
    state.output = FileStamp::of_path(&config.output).ok_or("the output is gone")?;
    // A copy that cannot be kept costs the next relink of that object its patch.
    for object in &changed {
        let key = (object.position, object.member);
        state.copies.retain(|c| (c.position, c.member) != key);
        let written_once = file_written_once(&inputs.files, inputs.objects_written_once, key);
        if let Ok(kept) = keep_copy(&config.output, key, object.bytes, object.hash, None, written_once) {
            state.copies.push(kept);
        }
    }
    state.copies.sort_unstable_by_key(|c| (c.position, c.member));
    state.map = write_map(&map_path, &map).ok();
    inputs.renew();
    inputs.changed.clear();
    let state = inputs.previous.as_ref().map_err(|why| why.to_string())?;
    let _ = write_state(&state_path(&config.output), state);
    Ok(patched)
}

/// How many functions that no code called one relink may revive (`Planner::revive`); each costs
/// a try of the plan.
const MAX_REVIVED: usize = 8;

/// Plans the relink: the functions `revived` first, then the objects that define functions
/// an edit added (another's new call may go there), then the others.
fn plan_all<'o>(
    planner: &mut crate::patch::Planner<'o>,
    changed: &[ChangedObject<'_>],
    olds: &[memmap2::Mmap],
    order: &[usize],
    revived: &[((u32, u32), memmap2::Mmap, Vec<Vec<u8>>)],
    map: &OutputMap,
    output: &'o [u8],
) -> Result<(), String> {
    for (key, object, names) in revived {
        let spots = map.object(*key).ok_or("a revived object not in the map")?;
        planner.revive(object, spots, names, output)?;
    }
    for &i in order {
        let object = &changed[i];
        let spots = map
            .object((object.position, object.member))
            .ok_or_else(|| format!("{} is no plain object", object.name))?;
        planner.plan(&olds[i], object.bytes, spots, output).map_err(|why| format!("{}: {why}", object.name))?;
    }
    Ok(())
}

/// The unchanged object (its key and its kept copy, mapped) that defines the function `name`
/// that no code called (`Planner::revive`), if one does: each object of the map but the
/// `changed` ones is looked at, through its kept copy.
fn uncalled_definition(
    config: &Config,
    state: &State,
    map: &OutputMap,
    changed: &[(u32, u32)],
    name: &[u8],
) -> Option<((u32, u32), memmap2::Mmap)> {
    for spots in &map.objects {
        let key = (spots.position, spots.member);
        if changed.contains(&key) {
            continue;
        }
        let Some(kept) = kept_copy_of(&state.copies, key) else { continue };
        let Some(Ok(object)) = map_kept_copy(&config.output, &state.copies, key, kept.hash) else { continue };
        if crate::patch::defines_uncalled_function(&object, spots, name) {
            return Some((key, object));
        }
    }
    None
}

/// An object whose contents changed: a plain object, or a member of an archive.
struct ChangedObject<'d> {
    position: u32,
    member: u32,
    /// For messages: the path, and the member's name.
    name: String,
    bytes: &'d [u8],
    hash: u128,
    /// The hash of the contents it replaces.
    old_hash: u128,
}

/// The objects that changed among the changed inputs (`changed`, indices into `files`): each
/// plain object, and each loaded member of an archive kept member by member (`KeptArchive`)
/// whose layout is unchanged; or why the output cannot be patched.
fn changed_objects<'d>(
    state: &State,
    map: &OutputMap,
    files: &[(&u32, &Taken<'d>)],
    changed: &[usize],
) -> Result<Vec<ChangedObject<'d>>, String> {
    let mut objects = Vec::new();
    for &index in changed {
        let (&position, taken) = files[index];
        let path = taken.path.display();
        if taken.bytes.is_empty() {
            // Only stat'ed: a file the previous link had elsewhere (the inputs moved).
            return Err(format!("{path} was an input elsewhere"));
        }
        let hash = taken.hash.ok_or_else(|| format!("{path} was not hashed"))?;
        if !crate::archive::is_archive(taken.bytes) {
            let old_hash = state.inputs[index].hash;
            objects.push(ChangedObject {
                position,
                member: 0,
                name: path.to_string(),
                bytes: taken.bytes,
                hash,
                old_hash,
            });
            continue;
        }
        let kept = state.archives.iter().find(|a| a.input as usize == index);
        let kept = kept.ok_or_else(|| format!("{path} is an archive that had not changed before"))?;
        let archive = crate::archive::parse(taken.bytes).map_err(|e| format!("{path}: {e}"))?;
        let loaded = loaded_members(map, position);
        if archive_layout(&archive, &loaded) != kept.layout {
            return Err(format!("{path}: its members or its symbol index changed"));
        }
        for member in loaded {
            let bytes = member_bytes(&archive, member).ok_or_else(|| format!("{path}: a thin member"))?;
            let hash = twox_hash::XxHash3_128::oneshot(bytes);
            let old_hash = kept_copy_of(&state.copies, (position, member)).map_or(0, |c| c.hash);
            if hash != old_hash {
                let name = String::from_utf8_lossy(archive.members[member as usize - 1].name);
                let name = format!("{path}({name})");
                objects.push(ChangedObject { position, member, name, bytes, hash, old_hash });
            }
        }
    }
    Ok(objects)
}

/// The members of the archive at `position` that the link loaded, by index plus one.
fn loaded_members(map: &OutputMap, position: u32) -> Vec<u32> {
    map.objects.iter().filter(|o| o.position == position && o.member != 0).map(|o| o.member).collect()
}

/// Where the map of `output` is kept.
fn map_path(output: &Path) -> PathBuf {
    beside(output, ".rivet-map")
}

/// Writes `map` to `path` (through a temporary); returns the hash of its bytes.
fn write_map(path: &Path, map: &OutputMap) -> std::io::Result<u128> {
    let bytes = encode_map(map);
    write_file(path, &bytes)?;
    Ok(twox_hash::XxHash3_128::oneshot(&bytes))
}

/// Where an incremental link keeps a copy of the object at `position` (`<position>`), or of
/// an archive's member there (`<position>.<member>`): an in-place relink compares the
/// object that replaces it with it.
fn kept_copy(output: &Path, position: u32, member: u32) -> PathBuf {
    let name = if member == 0 { position.to_string() } else { format!("{position}.{member}") };
    beside(output, ".rivet-objects").join(name)
}

/// The copy kept for the object at `(position, member)`, among `copies` (sorted so).
fn kept_copy_of(copies: &[KeptCopy], key: (u32, u32)) -> Option<&KeptCopy> {
    copies.binary_search_by_key(&key, |c| (c.position, c.member)).ok().map(|at| &copies[at])
}

/// The copy kept of the object at `key` when it held contents hashed `hash`, mapped; `None`
/// when there is no such copy, or the file is not the one the state recorded.
fn map_kept_copy(
    output: &Path,
    copies: &[KeptCopy],
    key: (u32, u32),
    hash: u128,
) -> Option<std::io::Result<memmap2::Mmap>> {
    let kept = kept_copy_of(copies, key).filter(|c| c.hash == hash)?;
    let file = std::fs::File::open(kept_copy(output, key.0, key.1)).ok()?;
    file.metadata().ok().filter(|m| kept.stamp == FileStamp::of(m))?;
    // SAFETY: a private read-only map of a file only rivet writes (its stamp was checked).
    // Not populated: `patch::plan` reads the headers and small sections first, and
    // populates the map only when they allow a patch.
    Some(unsafe { memmap2::MmapOptions::new().map(&file) })
}

/// The file the copy kept of the object at `(position, member)` may be a hard link to: a
/// plain object's own, where the embedder says it writes its objects once (`all_once`,
/// `Inputs::objects_written_once`).
fn file_written_once<'a>(
    files: &'a std::collections::BTreeMap<u32, Taken<'_>>,
    all_once: bool,
    (position, member): (u32, u32),
) -> Option<&'a Path> {
    files.get(&position).filter(|_| all_once && member == 0).map(|taken| taken.path.as_path())
}

/// Keeps a copy of `bytes` (hashed `hash`) for the object at `(position, member)`, unless
/// `previous` is one already. A copy, not a hard link, unless `written_once` names the file
/// the bytes are from, whose writer never rewrites it in place (`Inputs::objects_written_once`):
/// compilers that overwrite their output in place (gcc's assembler does) would change a hard
/// link too. The old copy is removed first, never written through: it may be a hard link.
fn keep_copy(
    output: &Path,
    (position, member): (u32, u32),
    bytes: &[u8],
    hash: u128,
    previous: Option<&KeptCopy>,
    written_once: Option<&Path>,
) -> std::io::Result<KeptCopy> {
    let copy = kept_copy(output, position, member);
    if let Some(&previous) = previous.filter(|p| p.hash == hash && FileStamp::of_path(&copy) == Some(p.stamp)) {
        return Ok(previous);
    }
    let keep = || {
        let _ = std::fs::remove_file(&copy);
        match written_once {
            Some(file) => std::fs::hard_link(file, &copy).or_else(|_| std::fs::write(&copy, bytes)),
            None => std::fs::write(&copy, bytes),
        }
    };
    if let Err(e) = keep() {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(e);
        }
        std::fs::create_dir_all(copy.parent().unwrap_or(Path::new(".")))?;
        keep()?;
    }
    let stamp = FileStamp::of_path(&copy).ok_or_else(|| std::io::Error::other("the copy is gone"))?;
    Ok(KeptCopy { position, member, stamp, hash })
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
    /// Found by [`check`]: the inputs whose contents changed, by index, and the files read
    /// while linking whose stamp changed but not their contents, with their new stamp.
    changed: Vec<usize>,
    renewed_later: Vec<(usize, FileStamp)>,
    /// See [`Inputs::objects_written_once`].
    objects_written_once: bool,
}

struct Taken<'d> {
    path: PathBuf,
    stamp: FileStamp,
    bytes: &'d [u8],
    /// Computed by [`Inputs::hash`] or when recording.
    hash: Option<u128>,
}

impl Taken<'_> {
    /// Whether the file has the contents `record` recorded: the same stamp, or failing that
    /// the same hash (computed now, and kept).
    fn has_contents_of(&mut self, record: &FileRecord) -> bool {
        let bytes = self.bytes;
        self.stamp == record.stamp
            || *self.hash.get_or_insert_with(|| twox_hash::XxHash3_128::oneshot(bytes)) == record.hash
    }
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
        Inputs { known, previous, ..Inputs::new_empty() }
    }

    fn new_empty() -> Inputs<'d> {
        let previous = Err(Stale::NoState);
        Inputs {
            files: Default::default(),
            previous,
            known: Default::default(),
            changed: Vec::new(),
            renewed_later: Vec::new(),
            objects_written_once: false,
        }
    }

    /// Says that the plain objects among the inputs are files their writer never rewrites in
    /// place (rustc writes each codegen unit's object to a new file, and keeps it in its
    /// incremental cache as it is): the copies kept of them are then hard links, not
    /// copies. A link after rustc rebuilt most units (a line inserted above code that many
    /// units inline) kept 242 objects of ripgrep's; copying them took 55–70 ms before the
    /// backend could report.
    pub fn objects_written_once(&mut self) {
        self.objects_written_once = true;
    }

    /// Gives the previous state the paths, stamps and hashes of the inputs taken (which
    /// [`check`] hashed where their stamp changed) and the new stamps of the files read while
    /// linking.
    fn renew(&mut self) {
        let Ok(state) = &mut self.previous else { return };
        for (taken, record) in self.files.values().zip(&mut state.inputs) {
            if taken.stamp != record.stamp {
                record.hash = taken.hash.unwrap_or(record.hash);
                record.stamp = taken.stamp;
            }
            record.path.clone_from(&taken.path);
        }
        for &(index, stamp) in &self.renewed_later {
            state.read_while_linking[index].stamp = stamp;
        }
    }

    /// The archives to keep member by member (`KeptArchive`): those the previous state kept
    /// so, and those whose contents changed since it, each parsed, by position. A thin
    /// archive is not kept so (its members are files read while linking).
    fn kept_archives(
        &self,
        map: Option<&OutputMap>,
    ) -> (Vec<KeptArchive>, std::collections::HashMap<u32, crate::archive::Archive<'d>>) {
        let Ok(state) = &self.previous else { return Default::default() };
        let mut before: std::collections::HashMap<&Path, (u128, bool)> =
            state.inputs.iter().map(|r| (r.path.as_path(), (r.hash, false))).collect();
        for kept in &state.archives {
            if let Some(record) = state.inputs.get(kept.input as usize) {
                before.insert(&record.path, (record.hash, true));
            }
        }
        let (mut archives, mut parsed) = (Vec::new(), std::collections::HashMap::new());
        for (index, (&position, taken)) in self.files.iter().enumerate() {
            let kept = match before.get(taken.path.as_path()) {
                Some(&(hash, kept)) => kept || taken.hash != Some(hash),
                None => false,
            };
            if !kept || !crate::archive::is_archive(taken.bytes) {
                continue;
            }
            let Ok(archive) = crate::archive::parse(taken.bytes) else { continue };
            if archive.members.iter().any(|m| matches!(m.data, crate::archive::MemberData::Thin { .. })) {
                continue;
            }
            let loaded = map.map(|map| loaded_members(map, position)).unwrap_or_default();
            archives.push(KeptArchive { input: index as u32, layout: archive_layout(&archive, &loaded) });
            parsed.insert(position, archive);
        }
        (archives, parsed)
    }

    /// Whether there is a previous state to check against.
    pub fn has_previous(&self) -> bool {
        self.previous.is_ok()
    }

    /// Whether this link may well end in an in-place relink: the state is that of a link by
    /// this linker, with these options and `count` inputs, and each input taken so far has
    /// the contents it recorded. An embedder that took the inputs known before the crate's
    /// objects (the rustc backend) may then leave them unparsed until an object rules the
    /// relink out ([`Inputs::rules_out_patch`]) or it fails: parsing them would only compete
    /// with codegen for the cores.
    pub fn patch_likely(&mut self, config: &Config, count: usize) -> bool {
        let Ok(state) = &self.previous else { return false };
        crate::patch::unpatchable(config).is_none()
            && state.linker == linker_identity()
            && state.inputs.len() == count
            && state.options == options_fingerprint(config)
            && self.files.iter_mut().all(|(&position, taken)| {
                state.inputs.get(position as usize).is_some_and(|record| taken.has_contents_of(record))
            })
    }

    /// Whether `file`, taken just now, rules an in-place relink out: its contents changed, and
    /// it is not a plain object whose kept copy has its section list (`patch`). Reads its
    /// section headers and its copy's, and hashes it.
    pub fn rules_out_patch(&mut self, config: &Config, file: &LoadedFile<'d>) -> bool {
        let Ok(state) = &self.previous else { return true };
        let (Some(record), Some(taken)) =
            (state.inputs.get(file.position as usize), self.files.get_mut(&file.position))
        else {
            return true;
        };
        if taken.has_contents_of(record) {
            return false;
        }
        match map_kept_copy(&config.output, &state.copies, (file.position, 0), record.hash) {
            Some(Ok(old)) => !crate::patch::may_replace_in_place(&old, taken.bytes),
            _ => true,
        }
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
    /// `map` is what an in-place relink of the output needs; the objects it lists (plain
    /// objects, and the loaded members of the archives kept member by member) are copied for
    /// such a relink to compare their successors with.
    pub fn record(mut self, config: &Config, arena: &FileArena, map: Option<OutputMap>) -> std::io::Result<()> {
        let output = FileStamp::of_path(&config.output).ok_or_else(|| std::io::Error::other("the output is gone"))?;
        keep_output(&config.output)?;
        // Files mapped while linking (thin archive members, scripts), each once.
        let mut seen: std::collections::HashSet<PathBuf> = self.files.values().map(|f| f.path.clone()).collect();
        let mut later = Inputs::new_empty();
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
        let (archives, parsed) = self.kept_archives(map.as_ref());
        // Kept before the state is written: a relink trusts a copy only with the stamp the
        // state records.
        let previous = match &self.previous {
            Ok(state) => &state.copies[..],
            Err(_) => &[],
        };
        let mut copies = Vec::new();
        let map = map.map(|mut map| {
            map.objects.retain(|o| o.member == 0 || parsed.contains_key(&o.position));
            map
        });
        let map = map.filter(|map| {
            map.objects.iter().all(|object| {
                let key = (object.position, object.member);
                let Some(taken) = self.files.get(&object.position) else { return false };
                let (bytes, hash) = match (object.member, parsed.get(&object.position)) {
                    (0, _) => (taken.bytes, taken.hash.unwrap_or(0)),
                    (member, Some(archive)) => match member_bytes(archive, member) {
                        Some(bytes) => (bytes, twox_hash::XxHash3_128::oneshot(bytes)),
                        None => return false,
                    },
                    _ => return false,
                };
                let kept = kept_copy_of(previous, key);
                let written_once = file_written_once(&self.files, self.objects_written_once, key);
                keep_copy(&config.output, key, bytes, hash, kept, written_once).map(|kept| copies.push(kept)).is_ok()
            })
        });
        let state = State {
            linker: linker_identity(),
            options: options_fingerprint(config),
            output,
            inputs: records(self),
            read_while_linking,
            map: map.and_then(|map| write_map(&map_path(&config.output), &map).ok()),
            copies,
            archives,
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
    let text = format!("{} {} {}", crate::args::VERSION, stamp.size, stamp.mtime_ns);
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
