//! A link killed at any moment: the output path holds the previous output, the new complete
//! output, or nothing (never a partly written file), and the next link to the same output
//! succeeds and leaves no temporary behind.
//!
//! Each round replaces an old executable (128 MiB, so a link takes a few hundred ms) with a
//! new one, kills the linker after a delay spread over the time a whole link takes, with and
//! without `--no-fork`, then checks what the path holds, byte for byte against fresh links
//! of the old and the new inputs, runs it, and links again.

use rivet_tests::{Test, World, assert_stdout, test_env};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NOLIBC_FLAGS: [&str; 5] = ["-O1", "-fno-pic", "-ffreestanding", "-fno-stack-protector", "-fno-builtin"];
/// Kills per mode, at delays spread over the first three quarters of a whole link.
const KILLS: u32 = 12;

/// What the output path held after a killed link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Outcome {
    Nothing,
    Old,
    New,
}

struct Inputs {
    new: Vec<String>,
    old_bytes: Vec<u8>,
    new_bytes: Vec<u8>,
}

fn inputs(t: &Test) -> Inputs {
    let util = t.cc("nolibc_util.c", &NOLIBC_FLAGS);
    let mut data = Vec::new();
    for i in 1..=4 {
        let src = t.write(&format!("pad_{i}.c"), format!("char pad_{i}[32 << 20] = {{{i}}};\n"));
        data.push(t.compile_with("gcc", &src, &format!("pad_{i}.o"), &[]));
    }
    let program = |version: &str| {
        let main = t.cc_as(
            "kill_main.c",
            &format!("main_{version}.o"),
            &[&NOLIBC_FLAGS[..], &[&format!("-DVERSION={version}")]].concat(),
        );
        [vec!["-static".to_string(), "-e".into(), "_start".into(), main, util.clone()], data.clone()].concat()
    };
    let (old, new) = (program("1"), program("2"));
    // Fresh links (no old output to replace): what a complete output holds.
    let fresh = |args: &[String], name: &str| {
        let o = t.ld(&[&["-o", name], &args.iter().map(String::as_str).collect::<Vec<_>>()[..]].concat());
        assert!(o.success(), "{o}");
        std::fs::read(t.out(name)).unwrap()
    };
    let inputs = Inputs { old_bytes: fresh(&old, "fresh_old"), new_bytes: fresh(&new, "fresh_new"), new };
    assert_stdout(&t.run_in(World::Test, "fresh_old", &[], &[]), 0, "version 1, data 10\n");
    assert_stdout(&t.run_in(World::Test, "fresh_new", &[], &[]), 0, "version 2, data 10\n");
    inputs
}

/// Starts rivet-ld linking `args` into `prog`, leader of its own process group (so that
/// the test can tell when every process of the link is gone).
fn spawn_link(t: &Test, args: &[String], no_fork: bool) -> std::process::Child {
    let mut cmd = Command::new(t.ld_path(World::Test));
    cmd.args(["-o", "prog"]).args(args).current_dir(t.world_dir(World::Test));
    if no_fork {
        cmd.arg("--no-fork");
    }
    cmd.env_remove("RIVET_NO_FORK").stdout(Stdio::null()).stderr(Stdio::null()).process_group(0);
    // A test run under `nohup` would hand on SIGHUP ignored, which rivet-ld rightly keeps.
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    cmd.spawn().expect("start rivet-ld")
}

/// Waits until no process of the process group `group` is left: a forked linking child
/// must die with its killed parent.
fn wait_for_group(group: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: signal 0 to a process group only checks whether it still has members.
    while unsafe { libc::kill(-(group as i32), 0) } == 0 {
        assert!(Instant::now() < deadline, "a process of the killed link ({group}) outlived it");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".prog.rivet-tmp."))
        .collect();
    found.sort();
    found
}

/// Puts a new copy of the old output (one name, executable) at `prog`; returns its path.
fn place_old_output(t: &Test, inputs: &Inputs) -> PathBuf {
    let prog = t.out("prog");
    let _ = std::fs::remove_file(&prog);
    std::fs::write(&prog, &inputs.old_bytes).unwrap();
    std::fs::set_permissions(&prog, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    prog
}

/// Replaces `prog` (a new copy of the old output, with one name) with the new program,
/// kills the link with `signal` after `delay`; returns what the path then holds and how many
/// temporaries were left.
fn killed_link(t: &Test, inputs: &Inputs, no_fork: bool, signal: i32, delay: Duration) -> (Outcome, usize) {
    let prog = place_old_output(t, inputs);
    let mut child = spawn_link(t, &inputs.new, no_fork);
    std::thread::sleep(delay);
    // SAFETY: signals the process this test started.
    unsafe { libc::kill(child.id() as i32, signal) };
    let _ = child.wait();
    wait_for_group(child.id());
    let outcome = match std::fs::read(&prog) {
        Err(_) => Outcome::Nothing,
        Ok(bytes) if bytes == inputs.old_bytes => Outcome::Old,
        Ok(bytes) if bytes == inputs.new_bytes => Outcome::New,
        Ok(bytes) => panic!(
            "after a kill {delay:?} into a link (no_fork: {no_fork}), `prog` holds {} bytes that are neither the old nor the new output",
            bytes.len()
        ),
    };
    let version = match outcome {
        Outcome::Nothing => None,
        Outcome::Old => Some(1),
        Outcome::New => Some(2),
    };
    if let Some(v) = version {
        assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, &format!("version {v}, data 10\n"));
    }
    (outcome, temporaries(&t.world_dir(World::Test)).len())
}

/// The next link repairs what the killed one left: it succeeds, gives the fresh link's
/// bytes, and no temporary remains.
fn relink_repairs(t: &Test, inputs: &Inputs, context: &str) {
    let o = t.ld(&[&["-o", "prog"], &inputs.new.iter().map(String::as_str).collect::<Vec<_>>()[..]].concat());
    assert!(o.success(), "{context}: the link after a killed one failed: {o}");
    assert!(
        std::fs::read(t.out("prog")).unwrap() == inputs.new_bytes,
        "{context}: the repairing link differs from a fresh link"
    );
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, "version 2, data 10\n");
    let left = temporaries(&t.world_dir(World::Test));
    assert!(left.is_empty(), "{context}: temporaries left after the next link: {left:?}");
}

/// How long an uninterrupted replacement of the old output takes (median of three).
fn link_time(t: &Test, inputs: &Inputs) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            std::fs::write(t.out("prog"), &inputs.old_bytes).unwrap();
            let start = Instant::now();
            let status = spawn_link(t, &inputs.new, true).wait().unwrap();
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

#[test]
fn sigkill_at_any_moment_loses_nothing() {
    let t = test_env!("sigkill_at_any_moment_loses_nothing");
    let inputs = inputs(&t);
    let whole = link_time(&t, &inputs);
    let mut tally = std::collections::BTreeMap::new();
    let mut left_behind = 0;
    for no_fork in [false, true] {
        for delay in (0..KILLS).map(|k| whole * 3 * k / (4 * KILLS)) {
            let (outcome, leftovers) = killed_link(&t, &inputs, no_fork, libc::SIGKILL, delay);
            *tally.entry((no_fork, outcome)).or_insert(0) += 1;
            left_behind += leftovers;
            relink_repairs(&t, &inputs, &format!("SIGKILL after {delay:?} (no_fork: {no_fork})"));
        }
    }
    eprintln!(
        "a whole link: {whole:?}; outcomes (no_fork, what the path held): {tally:?}; temporaries left by the kills: {left_behind}"
    );
    // The delays straddle the link: some kills must have caught it mid-write, or the test
    // proved nothing about repairs.
    assert!(left_behind > 0, "no kill interrupted a link (a whole link took {whole:?}): {tally:?}");
}

/// SIGINT, SIGTERM and SIGHUP end the link at once and take its temporary with them, with
/// or without the forked child. Each signal is sent the moment the link's temporary appears
/// (the old output claimed, the new one being written in its place), so the path then holds
/// nothing and no temporary is left.
#[test]
fn termination_signals_remove_the_temporary() {
    let t = test_env!("termination_signals_remove_the_temporary");
    let inputs = inputs(&t);
    let dir = t.world_dir(World::Test);
    for no_fork in [false, true] {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            let context = format!("signal {signal} (no_fork: {no_fork})");
            let prog = place_old_output(&t, &inputs);
            let mut child = spawn_link(&t, &inputs.new, no_fork);
            let deadline = Instant::now() + Duration::from_secs(60);
            while temporaries(&dir).is_empty() {
                assert!(child.try_wait().unwrap().is_none(), "{context}: the link ended before its temporary was seen");
                assert!(Instant::now() < deadline, "{context}: no temporary appeared");
                std::thread::sleep(Duration::from_micros(200));
            }
            // SAFETY: signals the process this test started.
            unsafe { libc::kill(child.id() as i32, signal) };
            let status = child.wait().unwrap();
            wait_for_group(child.id());
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(signal),
                "{context}: the link must end by the signal it got ({status:?})"
            );
            assert!(!prog.exists(), "{context}: the path holds something after a link stopped mid-write");
            assert_eq!(temporaries(&dir), Vec::<PathBuf>::new(), "{context}: the temporary outlived the link");
            relink_repairs(&t, &inputs, &context);
        }
    }
}

/// A temporary that may still be written is left alone: one whose process is alive (here,
/// the test's own), and one whose process is gone but whose lock is held (a link in another
/// PID namespace sharing the directory). A leftover without either is taken over.
#[test]
fn temporaries_of_running_links_are_left_alone() {
    let t = test_env!("temporaries_of_running_links_are_left_alone");
    let a = t.cc("nolibc_main.c", &NOLIBC_FLAGS);
    let b = t.cc("nolibc_util.c", &NOLIBC_FLAGS);
    let dir = t.world_dir(World::Test);
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let live = dir.join(format!(".prog.rivet-tmp.{}", std::process::id()));
    let locked = dir.join(format!(".prog.rivet-tmp.{}", gone.id()));
    let leftover = dir.join(".prog.rivet-tmp.2147483646");
    for path in [&live, &locked, &leftover] {
        std::fs::write(path, b"written by a link").unwrap();
    }
    let lock = std::fs::File::open(&locked).unwrap();
    lock.lock().unwrap();
    let o = t.ld(&["-static", "-e", "_start", "-o", "prog", &a, &b]);
    assert!(o.success(), "{o}");
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 42, "direct link works\n60\n");
    let mut kept = vec![locked.clone(), live.clone()];
    kept.sort();
    assert_eq!(temporaries(&dir), kept, "only the unowned leftover goes");
    drop(lock);
    let o = t.ld(&["-static", "-e", "_start", "-o", "prog", &a, &b]);
    assert!(o.success(), "{o}");
    assert_eq!(temporaries(&dir), [live], "a leftover whose lock is free goes once its process is gone");
}
