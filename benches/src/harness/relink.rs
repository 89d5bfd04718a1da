//! `relink`: `rivet-ld --incremental` on the replayed links (ripgrep; typst-cli and starship
//! with `--big`), against rivet's own full link and rust-lld's, in the same rounds.
//!
//! Each workload's inputs are unpacked once (the replay step's archive and adapted response
//! file) and linked again and again, as in an edit-compile-run loop. A round times, in turn:
//! - **changed**: one crate object (`*.rcgu.o`, the largest) changed (a byte of its `.comment`
//!   toggled), linked with `--incremental`: a full link that also records its state;
//! - **full**: a plain full link of the same inputs (no `--incremental`), whose output must
//!   be byte for byte the incremental link's;
//! - **unchanged**: `--incremental` again with nothing changed: the null relink;
//! - **rewritten**: the same object written again with the same bytes (a new inode and
//!   modification time, as a rebuild that changed nothing makes), then `--incremental`: up to
//!   date once that object is hashed;
//! - **edited**: one byte of a string literal in that object changed (a placed `.rodata.*`
//!   section of its own, found in a `-Map` of the link), as a one-line edit of a literal of
//!   the same length changes rustc's object, then `--incremental`: the output is patched in
//!   place (the link must say so), and must be byte for byte a full link's of the same inputs;
//! - **grown**: that literal one byte longer (the section's bytes and the extra one appended
//!   to the object, its header pointed at them), as an edit that lengthens a literal changes
//!   rustc's object, then `--incremental`: the output is patched, the literal moved to the
//!   overflow segment (the link must say so), and the program must run (`--version`); the
//!   object is then put back as it was;
//! - **code grown**: likewise a function 16 bytes longer (`int3`s appended to a placed
//!   `.text.*` section that one symbol names, at its start), as an edit that adds code to a
//!   function changes rustc's object: the output is patched, the function moved with a jump
//!   left at its old place and its FDE rewritten (the link must say so), and the program must
//!   run; the object is then put back as it was;
//! - **rebuilt** (debug builds): the codegen units a real code edit made again (ripgrep: the
//!   operands of an `&&` in `crates/core/main.rs` swapped; typst-cli: two calls in `main`
//!   swapped; the project's `code_edit`, rebuilt by cargo in the replay's
//!   own target directory, its incremental cache reusing every other unit, and captured with
//!   `--reproduce` like the replay: `project::edited_reproduce_tarball`) written over the
//!   replay's, after an untimed relink that puts the round's other object back as it was,
//!   then `--incremental`: the output must be patched in place and run (the first relink
//!   since the round's full link to change the unit's debug information, which grows into
//!   the room the full link left after each debug section); then **undone**: the units put
//!   back, which must be patched again;
//! - **rust-lld**'s full link of the same inputs (`--threads=N`).
//!
//! rivet-ld runs as users run it, forked: it returns when the output is in place, and the
//! incremental link's child records its state after that; after every incremental link
//! that changes the output, the round waits (untimed) for the state before it goes on. Every unchanged and rewritten link must say it was up to date (`--time`
//! output). Medians of `--runs` rounds after `--warmup`, printed as a table and saved in
//! `results/relink.json`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::config::Config;
use super::linkers::{build_rivet, rust_lld_path};
use super::machine::MachineInfo;
use super::measure::median;
use super::process::run_captured;
use super::project::{self, Profile};
use super::stream::{Workload, names_crate_object};

const RESPONSE_FILE: &str = "replay.rsp";
const OUTPUT: &str = "out-relink";

#[derive(Debug, Serialize, Deserialize)]
pub struct RelinkResults {
    pub machine: MachineInfo,
    pub runs: u32,
    pub warmup: u32,
    pub workloads: Vec<RelinkWorkload>,
}

/// Medians in seconds of one workload at one thread count, and the object that changes.
#[derive(Debug, Serialize, Deserialize)]
pub struct RelinkWorkload {
    pub name: String,
    pub threads: u32,
    pub changed_object: String,
    pub rust_lld_s: f64,
    pub full_s: f64,
    pub changed_s: f64,
    pub unchanged_s: f64,
    pub rewritten_s: f64,
    /// Missing from results saved before the in-place relink.
    #[serde(default)]
    pub edited_s: f64,
    #[serde(default)]
    pub grown_s: f64,
    #[serde(default)]
    pub code_grown_s: f64,
    /// The units a real code edit rebuilt (none for a project without an edit).
    #[serde(default)]
    pub rebuilt_objects: Vec<String>,
    /// The edit's link (the first to change the unit's debug information after a full
    /// link), and its undoing's.
    #[serde(default)]
    pub rebuilt_s: Option<f64>,
    #[serde(default)]
    pub undone_s: Option<f64>,
}

impl RelinkResults {
    pub fn save(&self, results_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(results_dir)?;
        let path = results_dir.join("relink.json");
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("saved {}", path.display());
        Ok(())
    }
}

pub fn run(config: &Config) -> Result<RelinkResults> {
    let rivet = match std::env::var_os("RIVET_LD") {
        Some(path) => PathBuf::from(path),
        None => build_rivet(config)?,
    };
    let rust_lld = rust_lld_path(config).map_err(anyhow::Error::msg)?;
    let mut workloads = Vec::new();
    for project in project::replayed(config) {
        for profile in [Profile::Debug, Profile::Release] {
            let name = format!("{}-{}", project.key, profile.name());
            eprintln!("\n== relink: {name} ==");
            let tarball = project::reproduce_tarball(config, &project, profile)?;
            let root = config.shm_dir.join("relink");
            let edited = project::edited_reproduce_tarball(config, &project, profile)?.map(|tarball| Workload {
                name: format!("{name}-edited"),
                tarball,
                root: root.clone(),
                objects_last: false,
            });
            let workload = Workload { name, tarball, root, objects_last: false };
            for &threads in &config.threads {
                let measured = measure(config, &workload, edited.as_ref(), &rivet, &rust_lld, threads)
                    .with_context(|| format!("relink {} at {threads} thread(s)", workload.name))?;
                workloads.push(measured);
            }
        }
    }
    let results = RelinkResults { machine: MachineInfo::probe(), runs: config.runs, warmup: config.warmup, workloads };
    print_table(&results);
    Ok(results)
}

fn measure(
    config: &Config,
    workload: &Workload,
    edited: Option<&Workload>,
    rivet: &Path,
    rust_lld: &Path,
    threads: u32,
) -> Result<RelinkWorkload> {
    let dir = workload.unpack()?;
    let object = largest_crate_object(&dir)?;
    let comment = comment_byte(&std::fs::read(&object)?)
        .with_context(|| format!("{} has no .comment text to change", object.display()))?;
    let link = |incremental: bool, output: &str| -> Result<(Duration, String)> {
        let mut command = Command::new(rivet);
        command.arg(format!("@{RESPONSE_FILE}")).args(["-o", output, "--time"]);
        command.arg(format!("--threads={threads}")).current_dir(&dir);
        if incremental {
            command.arg("--incremental");
        }
        let start = Instant::now();
        let done = run_captured(&mut command)?;
        Ok((start.elapsed(), String::from_utf8_lossy(&done.stderr).into_owned()))
    };
    let up_to_date = |what: &str, (elapsed, stderr): (Duration, String)| -> Result<f64> {
        if !stderr.contains("incremental: up to date") {
            bail!("the {what} incremental link was not up to date:\n{stderr}");
        }
        Ok(elapsed.as_secs_f64())
    };
    let rebuilt = match edited {
        Some(edited) => rebuilt_units(&dir, &edited.unpack()?)?,
        None => Vec::new(),
    };
    // The round's own edits of `object` would be undone by writing a rebuilt unit over it.
    if rebuilt.iter().any(|unit| unit.path == object) {
        bail!("{} is both the object the round edits and a rebuilt unit", object.display());
    }
    let map = link_map(rivet, &dir)?;
    let (literal_section, literal) = literal_section(&object, &map)?;
    let function = function_section(&object, &map)?;
    let state = dir.join(format!(".{OUTPUT}.rivet-state"));
    // An incremental link that must be patched in place; the round goes on once the forked
    // linker has recorded its state (untimed), so that the next link starts from it.
    let patched = |what: &str| -> Result<(Duration, String)> {
        let recorded_before = modified(&state);
        let (elapsed, stderr) = link(true, OUTPUT)?;
        if !stderr.contains("incremental: patched in place") {
            bail!("the {what} link was not patched in place:\n{stderr}");
        }
        wait_for_change(&state, recorded_before)?;
        Ok((elapsed, stderr))
    };
    // Writes `grown` over `object` and links: the output must be patched as `tally` says
    // (the grown section moved), and it must run.
    let patch_grown = |grown: &[u8], tally: &[&str], what: &str| -> Result<Duration> {
        std::fs::write(&object, grown)?;
        let (elapsed, stderr) = patched(what)?;
        if !tally.iter().all(|t| stderr.contains(t)) {
            bail!("the grown {what}'s link was not patched with the {what} moved:\n{stderr}");
        }
        let runs = Command::new(dir.join(OUTPUT)).arg("--version").output().context("running the moved output")?;
        if !runs.status.success() {
            bail!("the output with the {what} moved does not run: {}", String::from_utf8_lossy(&runs.stderr));
        }
        Ok(elapsed)
    };
    let (mut lld, mut full, mut changed, mut unchanged, mut rewritten) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut edited, mut grown, mut code_grown) = (vec![], vec![], vec![]);
    let (mut rebuilt_links, mut undone_links) = (vec![], vec![]);
    for round in 0..config.warmup + config.runs {
        // An edit: one object changes, and the incremental link is a full one.
        toggle_byte(&object, comment)?;
        let recorded_before = modified(&state);
        let changed_link = link(true, OUTPUT)?;
        if !changed_link.1.contains("incremental: full link") {
            bail!("the changed object's incremental link was not a full link:\n{}", changed_link.1);
        }
        wait_for_change(&state, recorded_before)?;
        let full_link = link(false, "out-full")?;
        if std::fs::read(dir.join(OUTPUT))? != std::fs::read(dir.join("out-full"))? {
            bail!("the incremental link's output differs from a full link's of the same inputs");
        }
        let unchanged_link = up_to_date("unchanged", link(true, OUTPUT)?)?;
        // The same bytes in a new file, as a rebuild that changed nothing writes them.
        let bytes = std::fs::read(&object)?;
        std::fs::remove_file(&object)?;
        std::fs::write(&object, bytes)?;
        let rewritten_link = up_to_date("rewritten", link(true, OUTPUT)?)?;
        toggle_bit(&object, literal, 0x01)?;
        let (edited_link, _) = patched("edited object's")?;
        link(false, "out-full")?;
        if std::fs::read(dir.join(OUTPUT))? != std::fs::read(dir.join("out-full"))? {
            bail!("the patched output differs from a full link's of the same inputs");
        }
        let before = std::fs::read(&object)?;
        let longer = grow_section(&before, literal_section, b"!")?;
        let grown_link = patch_grown(&longer, &["(1 resized, 1 moved)", " 0 unwind"], "literal")?;
        // The literal shrinks back where it moved to, and the function moves.
        let longer = grow_section(&before, function, &[0xcc; 16])?;
        let code_grown_link = patch_grown(&longer, &["(2 resized, 1 moved)", " 1 unwind"], "code")?;
        std::fs::write(&object, before)?;
        // Untimed: the object as it was, so that the rebuilt units are the only change.
        patched("restored object's")?;
        if !rebuilt.is_empty() {
            // The edit, then its undoing: each replaces the units (new files, as rustc writes).
            for (version, samples) in [(1, &mut rebuilt_links), (0, &mut undone_links)] {
                for unit in &rebuilt {
                    std::fs::remove_file(&unit.path)?;
                    std::fs::write(&unit.path, &unit.versions[version])?;
                }
                let (elapsed, _) = patched("rebuilt units'")?;
                let runs = Command::new(dir.join(OUTPUT)).arg("--version").output().context("running the output")?;
                if !runs.status.success() {
                    bail!("the output patched with rebuilt units does not run");
                }
                if round >= config.warmup {
                    samples.push(elapsed.as_secs_f64());
                }
            }
        }
        let mut command = Command::new(rust_lld);
        command.args(["-flavor", "gnu", &format!("@{RESPONSE_FILE}"), "-o", "out-rust-lld"]);
        command.arg(format!("--threads={threads}")).current_dir(&dir);
        let start = Instant::now();
        run_captured(&mut command).context("rust-lld's link failed")?;
        let lld_link = start.elapsed();
        if round >= config.warmup {
            lld.push(lld_link.as_secs_f64());
            full.push(full_link.0.as_secs_f64());
            changed.push(changed_link.0.as_secs_f64());
            unchanged.push(unchanged_link);
            rewritten.push(rewritten_link);
            edited.push(edited_link.as_secs_f64());
            grown.push(grown_link.as_secs_f64());
            code_grown.push(code_grown_link.as_secs_f64());
        }
    }
    let median_of = |mut samples: Vec<f64>| {
        samples.sort_by(f64::total_cmp);
        median(&samples)
    };
    Ok(RelinkWorkload {
        name: workload.name.clone(),
        threads,
        changed_object: object.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        rust_lld_s: median_of(lld),
        full_s: median_of(full),
        changed_s: median_of(changed),
        unchanged_s: median_of(unchanged),
        rewritten_s: median_of(rewritten),
        edited_s: median_of(edited),
        grown_s: median_of(grown),
        code_grown_s: median_of(code_grown),
        rebuilt_objects: rebuilt
            .iter()
            .map(|u| u.path.file_name().unwrap_or_default().to_string_lossy().into())
            .collect(),
        rebuilt_s: (!rebuilt_links.is_empty()).then(|| median_of(rebuilt_links)),
        undone_s: (!undone_links.is_empty()).then(|| median_of(undone_links)),
    })
}

/// A crate object of the replay that a code edit made again: its path in the replay, and
/// its bytes before and after the edit.
struct RebuiltUnit {
    path: PathBuf,
    versions: [Vec<u8>; 2],
}

/// The crate objects of the replay in `dir` whose codegen unit has other bytes in the
/// edited build's replay in `edited`. Units are matched by name without the session suffix
/// (an incremental build's `rg.<unit>.<session>.rcgu.o`: rustc names a unit it made again
/// after the session that made it).
fn rebuilt_units(dir: &Path, edited: &Path) -> Result<Vec<RebuiltUnit>> {
    let unit = |path: &Path| -> Option<String> {
        let name = path.file_name()?.to_str()?.strip_suffix(".rcgu.o")?;
        Some(name.rsplit_once('.')?.0.to_string())
    };
    let objects = |dir: &Path| -> Result<Vec<(String, PathBuf)>> {
        let response = std::fs::read_to_string(dir.join(RESPONSE_FILE))?;
        let paths = response.lines().map(|l| dir.join(l)).filter(|p| names_crate_object(p) && p.is_file());
        Ok(paths.filter_map(|p| Some((unit(&p)?, p))).collect())
    };
    let after: std::collections::HashMap<String, PathBuf> = objects(edited)?.into_iter().collect();
    let before = objects(dir)?;
    if after.len() != before.len() {
        bail!("the units of {} are not named as an incremental build's", edited.display());
    }
    let mut rebuilt = Vec::new();
    for (unit, path) in before {
        let new = after.get(&unit).with_context(|| format!("the edited build has no unit {unit}"))?;
        let (old, new) = (std::fs::read(&path)?, std::fs::read(new)?);
        if old != new {
            rebuilt.push(RebuiltUnit { path, versions: [old, new] });
        }
    }
    if rebuilt.is_empty() {
        bail!("the edited build made no unit with other bytes ({})", edited.display());
    }
    Ok(rebuilt)
}

/// The largest of the crate's own objects named in the response file.
fn largest_crate_object(dir: &Path) -> Result<PathBuf> {
    let response = std::fs::read_to_string(dir.join(RESPONSE_FILE))?;
    let objects = response.lines().map(|l| dir.join(l)).filter(|p| names_crate_object(p) && p.is_file());
    objects.max_by_key(|p| std::fs::metadata(p).map_or(0, |m| m.len())).context("no *.rcgu.o in the replay")
}

/// The offset of a letter of rustc's "rustc version" string in `.comment` (any letter in
/// those bytes changes only the output's `.comment`, which no relink patches). Searched in
/// `.comment` only: a program may hold the same text among its allocated strings (starship
/// does), which a relink would patch in place.
fn comment_byte(bytes: &[u8]) -> Option<usize> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).ok()?;
    let (start, size) = file.section_by_name(".comment")?.file_range()?;
    let comment = bytes.get(start as usize..(start + size) as usize)?;
    let at = comment.windows(14).position(|w| w == b"rustc version ")?;
    Some(start as usize + at + 1)
}

/// Toggles the case of the letter at `offset`.
fn toggle_byte(path: &Path, offset: usize) -> Result<()> {
    toggle_bit(path, offset, 0x20)
}

fn toggle_bit(path: &Path, offset: usize, bit: u8) -> Result<()> {
    let mut bytes = std::fs::read(path)?;
    bytes[offset] ^= bit;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// The `-Map` of a plain link of the replay in `dir`.
fn link_map(rivet: &Path, dir: &Path) -> Result<String> {
    let mut command = Command::new(rivet);
    command.arg(format!("@{RESPONSE_FILE}")).args(["-o", "out-map", "-Map", "relink.map"]).current_dir(dir);
    run_captured(&mut command).context("the link that writes a map failed")?;
    Ok(std::fs::read_to_string(dir.join("relink.map"))?)
}

/// The index of a string literal's section the link placed, and the file offset in `object`
/// of its first byte: the first section, in the object's order, that the map shows placed,
/// named `.rodata.*`, neither merged nor relocated, and named by no symbol (rustc's
/// `.rodata..Lanon.*`; not a constant a release build shares between its codegen units).
fn literal_section(object: &Path, map: &str) -> Result<(usize, usize)> {
    use object::{Object, ObjectSection};
    let placed = placed_sections(object, map);
    let bytes = std::fs::read(object)?;
    let file = object::File::parse(&*bytes).with_context(|| format!("parsing {}", object.display()))?;
    use object::ObjectSymbol;
    // Named by no symbol but its section symbol: so that a relink may move it when it grows.
    let named =
        |index| file.symbols().any(|s| s.section_index() == Some(index) && s.kind() != object::SymbolKind::Section);
    let literal = file.sections().find(|s| {
        let merged = matches!(s.flags(), object::SectionFlags::Elf { sh_flags } if sh_flags & u64::from(object::elf::SHF_MERGE) != 0);
        s.name().is_ok_and(|n| n.starts_with(".rodata.") && placed.contains(n))
            && !merged
            && s.size() > 0
            && s.relocations().next().is_none()
            && !named(s.index())
    });
    let literal = literal.context("no placed string literal in the changed object")?;
    let range = literal.file_range().context("a literal without bytes")?;
    Ok((literal.index().0, range.0 as usize))
}

/// The index of a function's section the link placed: the first section, in the object's
/// order, that the map shows placed, named `.text.*`, at least 5 bytes long (room for the
/// jump a move leaves), named by one symbol, at its start, and relocated only in the ways a
/// relink can follow when it moves (no TLS sequence, no 64-bit address).
fn function_section(object: &Path, map: &str) -> Result<usize> {
    use object::{Object, ObjectSection, ObjectSymbol};
    let placed = placed_sections(object, map);
    let bytes = std::fs::read(object)?;
    let file = object::File::parse(&*bytes).with_context(|| format!("parsing {}", object.display()))?;
    let followed = |s: &object::Section<'_, '_>| {
        s.relocations().all(|(_, r)| match r.flags() {
            object::RelocationFlags::Elf { r_type } => matches!(
                r_type,
                object::elf::R_X86_64_PC32
                    | object::elf::R_X86_64_PLT32
                    | object::elf::R_X86_64_GOTPCREL
                    | object::elf::R_X86_64_GOTPCRELX
                    | object::elf::R_X86_64_REX_GOTPCRELX
            ),
            _ => false,
        })
    };
    let one_entry = |index| {
        let mut names =
            file.symbols().filter(|s| s.section_index() == Some(index) && s.kind() != object::SymbolKind::Section);
        names.next().is_some_and(|s| s.address() == 0) && names.next().is_none()
    };
    let function = file.sections().find(|s| {
        s.name().is_ok_and(|n| n.starts_with(".text.") && placed.contains(n))
            && s.size() >= 5
            && followed(s)
            && one_entry(s.index())
    });
    Ok(function.context("no placed function in the changed object")?.index().0)
}

/// The names of `object`'s sections that the link's `map` shows placed.
fn placed_sections(object: &Path, map: &str) -> std::collections::HashSet<String> {
    let file_name = object.file_name().unwrap_or_default().to_string_lossy();
    let tag = format!("{file_name}:(");
    map.lines()
        .filter_map(|line| line.split_once(tag.as_str()).and_then(|(_, rest)| rest.strip_suffix(')')))
        .map(str::to_string)
        .collect()
}

/// `object` with section `index` longer by `tail`: its bytes and `tail` appended to the
/// file, its header pointed at them.
fn grow_section(object: &[u8], index: usize, tail: &[u8]) -> Result<Vec<u8>> {
    let read = |at: usize| -> Result<u64> {
        let bytes = object.get(at..at + 8).context("a short object")?;
        Ok(u64::from_le_bytes(bytes.try_into()?))
    };
    let header = read(0x28)? as usize + index * 64;
    let (offset, size) = (read(header + 24)? as usize, read(header + 32)? as usize);
    let mut grown = object.to_vec();
    grown.resize(grown.len().next_multiple_of(16), 0);
    let at = grown.len();
    grown.extend_from_slice(object.get(offset..offset + size).context("a section past the object's end")?);
    grown.extend_from_slice(tail);
    grown[header + 24..header + 32].copy_from_slice(&(at as u64).to_le_bytes());
    grown[header + 32..header + 40].copy_from_slice(&((size + tail.len()) as u64).to_le_bytes());
    Ok(grown)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Waits until the forked linker has recorded a new state.
fn wait_for_change(state: &Path, before: Option<SystemTime>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while modified(state) == before || modified(state).is_none() {
        if Instant::now() > deadline {
            bail!("the incremental link recorded no state in 10 s ({})", state.display());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn print_table(results: &RelinkResults) {
    println!(
        "\nmedians of {} rounds after {} warm-up; ratios against rust-lld's full link in the same rounds",
        results.runs, results.warmup
    );
    println!(
        "{:18} {:>7} {:>12} {:>18} {:>22} {:>18} {:>18} {:>18} {:>18} {:>18} {:>18} {:>18}",
        "workload",
        "threads",
        "rust-lld",
        "rivet full",
        "changed (incremental)",
        "unchanged",
        "rewritten",
        "edited (patched)",
        "grown (moved)",
        "code grown (moved)",
        "rebuilt (patched)",
        "undone (patched)"
    );
    for w in &results.workloads {
        let cell = |s: f64| format!("{:7.1} ms {:4.2}x", s * 1e3, s / w.rust_lld_s);
        println!(
            "{:18} {:>7} {:>9.1} ms {:>18} {:>22} {:>18} {:>18} {:>18} {:>18} {:>18} {:>18} {:>18}",
            w.name,
            w.threads,
            w.rust_lld_s * 1e3,
            cell(w.full_s),
            cell(w.changed_s),
            cell(w.unchanged_s),
            cell(w.rewritten_s),
            cell(w.edited_s),
            cell(w.grown_s),
            cell(w.code_grown_s),
            w.rebuilt_s.map_or("-".into(), cell),
            w.undone_s.map_or("-".into(), cell)
        );
    }
    for w in results.workloads.iter().filter(|w| !w.rebuilt_objects.is_empty()) {
        println!("{} at {} thread(s), rebuilt: {}", w.name, w.threads, w.rebuilt_objects.join(", "));
    }
}
