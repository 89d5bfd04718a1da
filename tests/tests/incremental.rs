//! `--incremental`: a link whose inputs and options are unchanged since the link that wrote
//! its output is skipped; every other link is a full one, byte for byte what a plain link of
//! the same inputs writes, and the program runs as GNU ld's build of the same inputs does.
//!
//! Each test links through gcc with `-Wl,--incremental -Wl,--time`, which makes rivet-ld say
//! whether the output was up to date or why it linked in full, and with `--no-fork`, so that
//! the state is in place when the link returns (by default the linking process records it
//! after the command has returned: see the last test).

use rivet_tests::{Driver, Output, Test, World, assert_stdout, gdb_values, test_env};
use std::path::Path;

const INCREMENTAL: [&str; 3] = ["-Wl,--incremental", "-Wl,--time", "-Wl,--no-fork"];

/// A program of two objects: `main.o` prints what `greeting.o` returns.
fn program(t: &Test, greeting: &str) -> Vec<String> {
    let main = t.write(
        "main.c",
        "#include <stdio.h>\nconst char *greeting(void);\nint main(void) { puts(greeting()); return 0; }\n",
    );
    vec![t.cc(&main, &[]), greeting_object(t, greeting)]
}

/// (Re)compiles `greeting.o` to return `text`, an array in `.rodata` named by a local symbol
/// (`text.0`): a text of another length changes that symbol's size, which a patch cannot
/// follow, so the link is a full one.
fn greeting_object(t: &Test, text: &str) -> String {
    let src = format!("const char *greeting(void) {{ static const char text[] = \"{text}\"; return text; }}\n");
    t.cc(&t.write("greeting.c", src), &[])
}

/// An incremental link into `prog` in the test world; it must succeed.
fn link_incremental(t: &Test, args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).chain(INCREMENTAL).collect();
    let o = t.try_link_in(World::Test, Driver::Gcc, "prog", &args);
    assert!(o.success(), "incremental link failed: {o}");
    o
}

fn up_to_date(o: &Output) -> bool {
    o.stderr.contains("rivet-ld: incremental: up to date")
}

/// The reason an incremental link gave for linking in full (without the reason it could
/// not patch the output in place, when only inputs changed).
fn full_link_reason(o: &Output) -> String {
    let line = o.stderr.lines().find(|l| l.contains("incremental: full link: "));
    let line = line.unwrap_or_else(|| panic!("the link was not a full one: {o}"));
    line.split(", and not in place: ").next().unwrap_or(line).to_string()
}

/// `prog` must be byte for byte a plain (not incremental) link of `args`, and print `expected`
/// as GNU ld's link of the same inputs does.
fn assert_is_plain_link(t: &Test, args: &[String], expected: &str) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    t.link("plain", &args);
    let (prog, plain) = (std::fs::read(t.out("prog")).unwrap(), std::fs::read(t.out("plain")).unwrap());
    assert!(prog == plain, "the incremental link's output differs from a plain link of the same inputs");
    t.run_expect("plain", &[], expected);
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, expected);
}

fn state_of(t: &Test) -> std::path::PathBuf {
    t.out(".prog.rivet-state")
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn unchanged_inputs_skip_the_link_and_touch_the_output() {
    let t = test_env!("incremental_unchanged");
    if !t.linker_is_rivet() {
        return;
    }
    let args = program(&t, "hello");
    let first = link_incremental(&t, &args);
    assert_eq!(full_link_reason(&first), "rivet-ld: incremental: full link: no state from an earlier link");
    assert_is_plain_link(&t, &args, "hello\n");
    assert!(state_of(&t).is_file(), "no state was kept next to the output");
    let bytes = std::fs::read(t.out("prog")).unwrap();
    let before = modified(&t.out("prog"));
    std::thread::sleep(std::time::Duration::from_millis(20));

    let second = link_incremental(&t, &args);
    assert!(up_to_date(&second), "{second}");
    assert!(std::fs::read(t.out("prog")).unwrap() == bytes, "an up-to-date link changed the output");
    assert!(modified(&t.out("prog")) > before, "an up-to-date link must touch the output, as make expects");
    // And again: touching the output recorded its new stamp.
    assert!(up_to_date(&link_incremental(&t, &args)));
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, "hello\n");
}

#[test]
fn a_changed_input_links_in_full() {
    let t = test_env!("incremental_changed_input");
    if !t.linker_is_rivet() {
        return;
    }
    let args = program(&t, "hello");
    link_incremental(&t, &args);
    greeting_object(&t, "hello again");
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("greeting.o changed"), "{o}");
    assert_is_plain_link(&t, &args, "hello again\n");
    assert!(up_to_date(&link_incremental(&t, &args)));
}

#[test]
fn an_input_rebuilt_with_the_same_contents_is_up_to_date() {
    let t = test_env!("incremental_rebuilt_same");
    if !t.linker_is_rivet() {
        return;
    }
    let args = program(&t, "hello");
    link_incremental(&t, &args);
    std::thread::sleep(std::time::Duration::from_millis(20));
    greeting_object(&t, "hello");
    let o = link_incremental(&t, &args);
    assert!(o.stderr.contains("up to date (") && o.stderr.contains(", 1 hashed)"), "{o}");
    // The same contents under another name at the same position: still up to date.
    std::fs::rename(t.obj("greeting.o"), t.obj("renamed.o")).unwrap();
    let renamed = vec![args[0].clone(), t.obj("renamed.o")];
    assert!(up_to_date(&link_incremental(&t, &renamed)));
    assert_is_plain_link(&t, &renamed, "hello\n");
}

#[test]
fn changed_options_link_in_full() {
    let t = test_env!("incremental_changed_options");
    if !t.linker_is_rivet() {
        return;
    }
    let mut args = program(&t, "hello");
    link_incremental(&t, &args);
    args.push("-Wl,-z,now".into());
    let o = link_incremental(&t, &args);
    assert_eq!(full_link_reason(&o), "rivet-ld: incremental: full link: the options changed");
    assert_is_plain_link(&t, &args, "hello\n");
    // The same objects in another order link differently: that is a change too.
    args.swap(0, 1);
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with(" changed"), "{o}");
    assert_is_plain_link(&t, &args, "hello\n");
}

#[test]
fn inputs_added_or_removed_link_in_full() {
    let t = test_env!("incremental_added_removed");
    if !t.linker_is_rivet() {
        return;
    }
    let mut args = program(&t, "hello");
    link_incremental(&t, &args);
    let extra = t.write("extra.c", "int extra_data[4] = {1, 2, 3, 4};\n");
    args.push(t.cc(&extra, &[]));
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).contains("inputs then"), "{o}");
    assert_is_plain_link(&t, &args, "hello\n");
    args.pop();
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).contains("inputs then"), "{o}");
    assert_is_plain_link(&t, &args, "hello\n");
}

/// `-L first -L second -lgreet` found `second/libgreet.a`; a `libgreet.a` that appears in
/// `first` is what a full link would take, so the link is not up to date.
#[test]
fn a_library_that_now_shadows_another_links_in_full() {
    let t = test_env!("incremental_library_shadowed");
    if !t.linker_is_rivet() {
        return;
    }
    let main = program(&t, "from second")[0].clone();
    for dir in ["first", "second"] {
        std::fs::create_dir_all(t.obj(dir)).unwrap();
    }
    t.ar("second/libgreet.a", &[&t.obj("greeting.o")]);
    let args = vec![main, format!("-L{}", t.obj("first")), format!("-L{}", t.obj("second")), "-lgreet".into()];
    link_incremental(&t, &args);
    assert_is_plain_link(&t, &args, "from second\n");
    assert!(up_to_date(&link_incremental(&t, &args)));

    greeting_object(&t, "from first");
    t.ar("first/libgreet.a", &[&t.obj("greeting.o")]);
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("libgreet.a changed"), "{o}");
    assert_is_plain_link(&t, &args, "from first\n");
}

/// `-lgreet` finds `libgreet.so`, a GNU ld script naming an archive: the script is read again
/// by every check, so a script that now names another archive, or a change to the archive it
/// names, links in full.
#[test]
fn a_linker_script_input_and_what_it_names_are_checked() {
    let t = test_env!("incremental_script_input");
    if !t.linker_is_rivet() {
        return;
    }
    let main = program(&t, "archive one")[0].clone();
    std::fs::create_dir_all(t.obj("lib")).unwrap();
    t.ar("lib/libone.a", &[&t.obj("greeting.o")]);
    greeting_object(&t, "archive two");
    t.ar("lib/libtwo.a", &[&t.obj("greeting.o")]);
    let script = t.obj("lib/libgreet.so");
    std::fs::write(&script, "INPUT(libone.a)\n").unwrap();
    let args = vec![main, format!("-L{}", t.obj("lib")), "-lgreet".into()];
    link_incremental(&t, &args);
    assert_is_plain_link(&t, &args, "archive one\n");
    assert!(up_to_date(&link_incremental(&t, &args)));

    std::fs::write(&script, "INPUT(libtwo.a)\n").unwrap();
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("libtwo.a changed"), "{o}");
    assert_is_plain_link(&t, &args, "archive two\n");
    assert!(up_to_date(&link_incremental(&t, &args)));

    greeting_object(&t, "archive two, rebuilt");
    t.ar("lib/libtwo.a", &[&t.obj("greeting.o")]);
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("libtwo.a changed"), "{o}");
    assert_is_plain_link(&t, &args, "archive two, rebuilt\n");
}

/// gdb after a chain of incremental relinks, each after an edit of one function that moves
/// its lines and changes a local: gdb breaks at the marked line of the edited function and
/// prints the local's new value, as on GNU ld's program from the same objects.
#[test]
fn gdb_after_a_chain_of_incremental_relinks() {
    let t = test_env!("incremental_gdb_chain");
    if !t.linker_is_rivet() || !t.require_gdb() {
        return;
    }
    let main = t.write("main.c", "int compute(int n);\nint main(void) { return compute(3) == 0; }\n");
    let main = t.cc(&main, &["-g", "-O0"]);
    for round in 1..=4 {
        let blank_lines = "\n".repeat(round * 3);
        let source = format!(
            "int helper_{round}(int v) {{ return v + {round}; }}\n{blank_lines}\
             int compute(int n) {{\n    int local = n * {round} + 100;\n    local += helper_{round}(1); /* BREAK */\n    return local;\n}}\n"
        );
        let edited = t.write("edited.c", &source);
        let object = t.cc(&edited, &["-g", "-O0"]);
        let args = vec![main.clone(), object];
        let o = link_incremental(&t, &args);
        assert!(round == 1 || full_link_reason(&o).ends_with("edited.o changed"), "{o}");
        let line = source.lines().position(|l| l.contains("/* BREAK */")).unwrap() + 1;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        t.try_link_in(World::Ref, Driver::Gcc, "prog", &args);
        let breaks = [format!("edited.c:{line}")];
        let cmds = ["print local", "info line"];
        let (values, out) = gdb_values(&t, World::Test, "prog", &breaks, &cmds);
        assert_eq!(values, [(3 * round + 100).to_string()], "round {round}: gdb output:\n{out}");
        assert!(out.contains(&format!("Line {line} of \"")), "round {round}: info line:\n{out}");
        let (ref_values, ref_out) = gdb_values(&t, World::Ref, "prog", &breaks, &cmds);
        assert_eq!(values, ref_values, "differs from ld.bfd's program under gdb:\n{ref_out}");
    }
}

/// A thread-local's location in debug information is its offset in the module's block
/// (`R_X86_64_DTPOFF32`; not 0: another thread-local comes first): when an edit makes
/// `.debug_info` anew (a static function and a local of a new name each round, lines
/// inserted above), the relink
/// takes that offset from the old output, and gdb
/// still prints the thread-local, as on GNU ld's program from the same objects.
#[test]
fn gdb_prints_a_thread_local_after_relinks_that_make_debug_information_anew() {
    let t = test_env!("incremental_gdb_thread_local");
    if !t.linker_is_rivet() || !t.require_gdb() {
        return;
    }
    let main = t.write(
        "main.c",
        "#include <stdio.h>\nint compute(int n);\nint main(void) { printf(\"%d\\n\", compute(3)); return 0; }\n",
    );
    let flags = ["-g", "-O0", "-ffunction-sections"];
    let main = t.cc(&main, &flags);
    for round in 1..=3 {
        let helpers: String = (1..=round).map(|k| format!("static int helper_{k}(int v) {{ return v; }}\n")).collect();
        let calls: String = (1..=round).map(|k| format!(" + helper_{k}(0)")).collect();
        let source = format!(
            "__thread long first = 1;\n__thread int counter = 5;\n{helpers}{}int compute(int n) {{\n    int extra_{round} = n{calls};\n    counter += extra_{round};\n    return counter; /* BREAK */\n}}\n",
            "\n".repeat(round * 2)
        );
        let edited = t.write("edited.c", &source);
        let args = vec![main.clone(), t.cc(&edited, &flags)];
        let o = link_incremental(&t, &args);
        assert!(round == 1 || patched_in_place(&o), "round {round}: {o}");
        assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, "8\n");
        let line = source.lines().position(|l| l.contains("/* BREAK */")).unwrap() + 1;
        t.try_link_in(World::Ref, Driver::Gcc, "prog", &args.iter().map(String::as_str).collect::<Vec<_>>());
        let (breaks, cmds) = ([format!("edited.c:{line}")], ["print counter", &format!("print extra_{round}")]);
        let (values, out) = gdb_values(&t, World::Test, "prog", &breaks, &cmds);
        assert_eq!(values, ["8", "3"], "round {round}: gdb output:\n{out}");
        let (ref_values, ref_out) = gdb_values(&t, World::Ref, "prog", &breaks, &cmds);
        assert_eq!(values, ref_values, "differs from ld.bfd's program under gdb:\n{ref_out}");
    }
}

/// A thin archive's member is read while linking, not named on the command line: a change to
/// it is seen too.
#[test]
fn a_changed_thin_archive_member_links_in_full() {
    let t = test_env!("incremental_thin_member");
    if !t.linker_is_rivet() {
        return;
    }
    let main = program(&t, "member one")[0].clone();
    let archive = t.ar_thin("libthin.a", &[&t.obj("greeting.o")]);
    let args = vec![main, archive];
    link_incremental(&t, &args);
    assert!(up_to_date(&link_incremental(&t, &args)));
    greeting_object(&t, "member two");
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("greeting.o changed"), "{o}");
    assert_is_plain_link(&t, &args, "member two\n");
}

#[test]
fn a_version_script_is_compared_by_its_contents() {
    let t = test_env!("incremental_version_script");
    if !t.linker_is_rivet() {
        return;
    }
    let lib = t.write("lib.c", "int visible(void) { return 1; }\nint hidden(void) { return 2; }\n");
    let lib = t.cc(&lib, &["-fPIC"]);
    let script = t.write("lib.map", "{ global: visible; hidden; local: *; };\n");
    let args =
        |script: &str| -> Vec<String> { vec!["-shared".into(), lib.clone(), format!("-Wl,--version-script={script}")] };
    link_incremental(&t, &args(&script));
    assert!(up_to_date(&link_incremental(&t, &args(&script))));
    std::fs::write(&script, "{ global: visible; local: *; };\n").unwrap();
    let o = link_incremental(&t, &args(&script));
    assert_eq!(full_link_reason(&o), "rivet-ld: incremental: full link: the options changed");
    let dynsym = t.tool("nm", &["-D", "--defined-only", "prog"]);
    assert!(dynsym.contains(" visible") && !dynsym.contains(" hidden"), "{dynsym}");
}

#[test]
fn a_damaged_or_foreign_state_links_in_full() {
    let t = test_env!("incremental_damaged_state");
    if !t.linker_is_rivet() {
        return;
    }
    let args = program(&t, "hello");
    link_incremental(&t, &args);
    let state = std::fs::read(state_of(&t)).unwrap();

    std::fs::write(state_of(&t), &state[..state.len() / 2]).unwrap();
    let o = link_incremental(&t, &args);
    assert_eq!(full_link_reason(&o), "rivet-ld: incremental: full link: the state is not one this linker wrote");
    assert_is_plain_link(&t, &args, "hello\n");

    std::fs::write(state_of(&t), b"garbage").unwrap();
    let o = link_incremental(&t, &args);
    assert_eq!(full_link_reason(&o), "rivet-ld: incremental: full link: the state is not one this linker wrote");

    // Another output's state, copied here: its output stamp is not this output's.
    let other = t.try_link_in(World::Test, Driver::Gcc, "other", &[&args[0], &args[1], INCREMENTAL[0], INCREMENTAL[2]]);
    assert!(other.success(), "{other}");
    std::fs::copy(t.out(".other.rivet-state"), state_of(&t)).unwrap();
    let o = link_incremental(&t, &args);
    assert_eq!(full_link_reason(&o), "rivet-ld: incremental: full link: the output changed or is gone");
    assert_is_plain_link(&t, &args, "hello\n");
}

/// An output changed after the link (stripped, or written in place) is linked again; one
/// that was removed (cargo removes an output before it runs rustc) is put back from its
/// second name, unless that changed too.
#[test]
fn an_output_changed_or_removed_since_the_link() {
    let t = test_env!("incremental_output_changed");
    if !t.linker_is_rivet() {
        return;
    }
    let args = program(&t, "hello");
    link_incremental(&t, &args);
    t.tool("strip", &["prog"]);
    let o = link_incremental(&t, &args);
    assert_eq!(full_link_reason(&o), "rivet-ld: incremental: full link: the output changed or is gone");
    assert_is_plain_link(&t, &args, "hello\n");

    std::fs::remove_file(t.out("prog")).unwrap();
    assert!(up_to_date(&link_incremental(&t, &args)), "a removed output was not put back");
    assert_is_plain_link(&t, &args, "hello\n");

    // Written in place: both names see it.
    use std::io::{Seek, Write};
    let mut file = std::fs::OpenOptions::new().write(true).open(t.out("prog")).unwrap();
    file.seek(std::io::SeekFrom::End(-1)).unwrap();
    file.write_all(b"\x01").unwrap();
    drop(file);
    std::fs::remove_file(t.out("prog")).unwrap();
    let o = link_incremental(&t, &args);
    assert_eq!(full_link_reason(&o), "rivet-ld: incremental: full link: the output changed or is gone");
    assert_is_plain_link(&t, &args, "hello\n");
}

/// While the output runs: an up-to-date link leaves it alone, a full link replaces it without
/// disturbing the running program.
#[test]
fn relinking_a_running_output() {
    let t = test_env!("incremental_running_output");
    if !t.linker_is_rivet() {
        return;
    }
    let main = t.write(
        "wait_main.c",
        "#include <stdio.h>\nconst char *greeting(void);\nint main(void) { getchar(); puts(greeting()); return 0; }\n",
    );
    let args = vec![t.cc(&main, &[]), greeting_object(&t, "first")];
    link_incremental(&t, &args);
    let mut running = std::process::Command::new(t.out("prog"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(up_to_date(&link_incremental(&t, &args)));
    greeting_object(&t, "second");
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("greeting.o changed"), "{o}");
    use std::io::Write;
    running.stdin.take().unwrap().write_all(b"\n").unwrap();
    let old = running.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&old.stdout), "first\n", "the running program was disturbed");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    t.link("plain", &args);
    assert!(std::fs::read(t.out("prog")).unwrap() == std::fs::read(t.out("plain")).unwrap());
    let new = std::process::Command::new(t.out("prog")).stdin(std::process::Stdio::null()).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&new.stdout), "second\n");
}

/// `-Map` describes what the link did, so with it every link is a full one and no state is
/// kept.
#[test]
fn a_map_file_means_a_full_link_every_time() {
    let t = test_env!("incremental_map_file");
    if !t.linker_is_rivet() {
        return;
    }
    let mut args = program(&t, "hello");
    args.push("-Wl,-Map=prog.map".into());
    for _ in 0..2 {
        let o = link_incremental(&t, &args);
        assert!(!up_to_date(&o) && !o.stderr.contains("incremental: full link"), "{o}");
        assert!(std::fs::metadata(t.out("prog.map")).unwrap().len() > 0);
    }
    assert!(!state_of(&t).exists(), "a state was kept beside a map file");
}

/// Killed at any moment, an incremental link leaves a state that the next link does not trust
/// wrongly: after each kill, the next link's output is the plain link's.
#[test]
fn a_killed_incremental_link_leaves_no_wrong_state() {
    let t = test_env!("incremental_killed");
    if !t.linker_is_rivet() {
        return;
    }
    let big = t.write("big.c", "char big_data[64 << 20] = {1};\n");
    let big = t.cc(&big, &[]);
    let mut version = 0;
    for delay_ms in [0u64, 5, 10, 20, 40, 80] {
        version += 1;
        let args = [program(&t, &format!("version {version}")), vec![big.clone()]].concat();
        let mut gcc = std::process::Command::new("gcc");
        gcc.arg(format!("-B{}/", t.ld_path(World::Test).parent().unwrap().display()))
            .args(&args)
            .args(["-o", "prog", INCREMENTAL[0]])
            .current_dir(t.world_dir(World::Test))
            .stderr(std::process::Stdio::null());
        let mut child = gcc.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // Kill gcc, collect2 and rivet-ld, whichever are still there.
        let _ = std::process::Command::new("pkill")
            .args(["-KILL", "-f", &format!("{}.*-o prog", t.root().display())])
            .status();
        let _ = child.kill();
        let _ = child.wait();
        link_incremental(&t, &args);
        assert_is_plain_link(&t, &args, &format!("version {version}\n"));
    }
}

/// By default the link forks: the command returns when the output is in place, and the
/// linking process records the state after that. Once it has, the next link is up to date.
#[test]
fn the_forked_linker_records_the_state_after_returning() {
    let t = test_env!("incremental_forked");
    if !t.linker_is_rivet() {
        return;
    }
    let args = program(&t, "hello");
    let forked: Vec<&str> = args.iter().map(String::as_str).chain(INCREMENTAL[..2].iter().copied()).collect();
    let o = t.try_link_in(World::Test, Driver::Gcc, "prog", &forked);
    assert!(o.success(), "{o}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !state_of(&t).exists() {
        assert!(std::time::Instant::now() < deadline, "the forked linker never recorded the state");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let o = t.try_link_in(World::Test, Driver::Gcc, "prog", &forked);
    assert!(up_to_date(&o), "{o}");
    assert_is_plain_link(&t, &args, "hello\n");
}

/// A full link overwrites the old output in place only when its one other name is the one
/// `--incremental` keeps: a name the user gave it keeps the old program.
#[test]
fn another_name_of_the_output_keeps_the_old_program() {
    let t = test_env!("incremental_other_name");
    if !t.linker_is_rivet() {
        return;
    }
    let args = program(&t, "old");
    link_incremental(&t, &args);
    std::fs::hard_link(t.out("prog"), t.out("saved")).unwrap();
    // Longer: the object's shape changes, so this is a full link.
    greeting_object(&t, "newer");
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("greeting.o changed"), "{o}");
    assert_is_plain_link(&t, &args, "newer\n");
    assert_stdout(&t.run_in(World::Test, "saved", &[], &[]), 0, "old\n");
}

/// A program whose `number.o` defines `table` (three numbers and `extra` zeros) and
/// `number()`, which adds `value` and the count of extra zeros to `table[1]`; `main` prints
/// it. A new `value` (of the same encoded size) keeps the object's shape: the same sections,
/// symbols and relocations; another `extra` changes the size of writable data, which only a
/// full link places.
fn number_program(t: &Test, value: u32, extra: usize) -> Vec<String> {
    let main = t.write(
        "number_main.c",
        "#include <stdio.h>\nint number(void);\nint main(void) { getchar(); printf(\"%d\\n\", number()); return 0; }\n",
    );
    let zeros = ", 0".repeat(extra);
    let src = t.write(
        "number.c",
        format!(
            "int table[] = {{7, {value}, 9{zeros}}};\n\
             int number(void) {{ return table[1] + {value} + (int)(sizeof table / sizeof *table) - 3; }}\n"
        ),
    );
    let flags = ["-O1", "-g", "-ffunction-sections", "-fdata-sections"];
    vec![t.cc(&main, &flags), t.cc(&src, &flags)]
}

fn patched_in_place(o: &Output) -> bool {
    o.stderr.contains("rivet-ld: incremental: patched in place")
}

/// An object rebuilt with the same shape is written into the output where it was, and the
/// output is byte for byte a plain link's, build id included; an object whose shape changed
/// links in full, after which the next same-shape edit is patched again.
#[test]
fn an_object_rebuilt_with_the_same_shape_is_patched_in_place() {
    let t = test_env!("incremental_patched");
    if !t.linker_is_rivet() {
        return;
    }
    let args = [number_program(&t, 1000, 0), vec!["-Wl,--build-id".into()]].concat();
    link_incremental(&t, &args);
    number_program(&t, 2000, 0);
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    assert!(o.stderr.contains("2 sections rewritten"), "the function and the table: {o}");
    assert_is_plain_link(&t, &args, "4000\n");
    assert!(up_to_date(&link_incremental(&t, &args)));

    number_program(&t, 2000, 3);
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("number.o changed"), "{o}");
    assert!(o.stderr.contains("not in place: ") && o.stderr.contains("section .data.table changed"), "{o}");
    assert_is_plain_link(&t, &args, "4003\n");

    number_program(&t, 3000, 3);
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    assert_is_plain_link(&t, &args, "6003\n");
}

/// `.comment` is a merged string section the program does not load, like `.debug_str`, but
/// its strings are the output's own, not found through relocations: an object whose only
/// change is its `.comment` links in full, byte for byte a plain link.
#[test]
fn a_changed_comment_links_in_full() {
    let t = test_env!("incremental_comment");
    if !t.linker_is_rivet() {
        return;
    }
    let args = [number_program(&t, 1000, 0), vec!["-Wl,--build-id".into()]].concat();
    link_incremental(&t, &args);
    let object = &args[1];
    let mut bytes = std::fs::read(object).unwrap();
    let at = bytes.windows(4).position(|w| w == b"GCC:").expect("gcc's .comment");
    bytes[at] ^= 0x20;
    std::fs::write(object, bytes).unwrap();
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("number.o changed"), "{o}");
    assert!(o.stderr.contains("the contents of .comment changed"), "{o}");
    assert_is_plain_link(&t, &args, "2000\n");
}

/// A program whose strings gcc puts in a merge section (`.rodata.str1.1`): `main.o` prints
/// "common 0001", then what `words.o` returns, a word of eleven letters and "common 0001"
/// again (`words.o`'s own copy, stored once with `main.o`'s).
fn words_program(t: &Test, word: &str, common: &str) -> Vec<String> {
    let main = t.write(
        "words_main.c",
        "#include <stdio.h>\nconst char *word(void);\nconst char *common(void);\n\
         int main(void) { puts(\"common 0001\"); puts(word()); puts(common()); return 0; }\n",
    );
    let words = t.write(
        "words.c",
        format!(
            "const char *word(void) {{ return \"{word}\"; }}\n\
             const char *common(void) {{ return \"{common}\"; }}\n"
        ),
    );
    let flags = ["-O1", "-ffunction-sections"];
    vec![t.cc(&main, &flags), t.cc(&words, &flags)]
}

/// `prog` holds `word`, and is a full link's output (`plain`) but for where strings sit
/// (`elf_compare::same_but_for_string_places`).
fn assert_same_but_for_string_places(t: &Test, word: &str) {
    let prog = std::fs::read(t.out("prog")).unwrap();
    assert!(prog.windows(word.len()).any(|w| w == word.as_bytes()), "no {word:?} in the output");
    let same = rivet_tests::elf_compare::same_but_for_string_places(&t.out("prog"), &t.out("plain"));
    assert_eq!(same, Ok(()), "the patched output is not a full link's with its strings in another order");
    assert!(prog != std::fs::read(t.out("plain")).unwrap(), "the strings are where a full link puts them");
}

/// A string literal that changed, keeping its length, is written where the old one is in the
/// merged string section: the output then runs as a full link's does, with its strings in
/// another order. A literal stored once for two objects, one that now equals another string,
/// and one of another length are patched too, the references following the string to its
/// new place.
#[test]
fn a_changed_merged_string_is_rewritten_in_place() {
    let t = test_env!("incremental_patch_string");
    if !t.linker_is_rivet() {
        return;
    }
    let args = [words_program(&t, "message 001", "common 0001"), vec!["-Wl,--build-id".into()]].concat();
    link_incremental(&t, &args);

    words_program(&t, "message 002", "common 0001");
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o) && o.stderr.contains(" 1 merged strings and constants rewritten"), "{o}");
    t.link("plain", &args.iter().map(String::as_str).collect::<Vec<_>>());
    let expected = "common 0001\nmessage 002\ncommon 0001\n";
    t.run_expect("plain", &[], expected);
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, expected);
    assert_same_but_for_string_places(&t, "message 002");
    assert!(up_to_date(&link_incremental(&t, &args)));

    // Patched twice over: the string's place is the map's, not the hash's.
    words_program(&t, "message 003", "common 0001");
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    t.link("plain", &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, "common 0001\nmessage 003\ncommon 0001\n");
    assert_same_but_for_string_places(&t, "message 003");

    // A string stored once for `main.o` and `words.o` changes in `words.o`: the new one goes
    // to the overflow segment, `main.o`'s stays.
    words_program(&t, "message 003", "common 0002");
    assert_patched_as_a_full_link_runs(&t, &args, "common 0001\nmessage 003\ncommon 0002\n");

    // A string that now equals another: it too goes to the overflow segment (the one it
    // equals could be rewritten in place later, under it). Then a longer one
    // and a shorter one, which cannot be written where the old ones are.
    words_program(&t, "common 0001", "common 0002");
    assert_patched_as_a_full_link_runs(&t, &args, "common 0001\ncommon 0001\ncommon 0002\n");
    words_program(&t, "a longer message", "common 2");
    assert_patched_as_a_full_link_runs(&t, &args, "common 0001\na longer message\ncommon 2\n");
}

/// `main.o` prints "common 0001", then what `pick.o`'s `pick` returns (its body is `body`)
/// and `scaled(1)`. `pick.o` keeps its assembler's labels of strings in its symbol table
/// (`-Wa,-L`: `.LC0`...), as LLVM keeps rustc's (`.Lanon.<hash>.<n>`), and puts `scaled`'s
/// table in section `section`, named as LLVM names one of rustc's anonymous constants
/// (`.rodata..Lanon.<hash>.<n>`).
fn pick_program(t: &Test, body: &str, section: &str) -> Vec<String> {
    let main = t.write(
        "pick_main.c",
        "#include <stdio.h>\nconst char *pick(void);\nint scaled(int i);\n\
         int main(void) { puts(\"common 0001\"); printf(\"%s %d\\n\", pick(), scaled(1)); return 0; }\n",
    );
    let pick = t.write(
        "pick.c",
        format!(
            "static const int scale[2] __attribute__((section(\"{section}\"))) = {{10, 20}};\n\
             int scaled(int i) {{ return scale[i]; }}\n\
             const char *pick(void) {{ {body} }}\n"
        ),
    );
    let flags = ["-O1", "-ffunction-sections", "-Wa,-L"];
    vec![t.cc(&main, &flags), t.cc(&pick, &flags)]
}

/// Strings added to a merged string section, with their labels, or taken out, are patched:
/// a new string goes to the overflow segment, a string the object held before stays where it
/// is, and a string that now equals another object's goes to the overflow segment too. An
/// anonymous constant's section renumbered (LLVM numbers them in order, so one literal added
/// renumbers those after it) is the same section. Each output runs as a full link's does.
#[test]
fn strings_added_or_removed_are_patched_in_place() {
    let t = test_env!("incremental_strings_added");
    if !t.linker_is_rivet() {
        return;
    }
    let args = pick_program(&t, "return \"alpha\";", ".rodata..Lanon.h.3");
    link_incremental(&t, &args);
    pick_program(&t, "volatile int one = 1; return one ? \"beta\" : \"alpha\";", ".rodata..Lanon.h.4");
    assert_patched_as_a_full_link_runs(&t, &args, "common 0001\nbeta 20\n");
    pick_program(&t, "return \"common 0001\";", ".rodata..Lanon.h.3");
    assert_patched_as_a_full_link_runs(&t, &args, "common 0001\ncommon 0001 20\n");
    // Another hash is another constant, not a renumbered one.
    pick_program(&t, "return \"common 0001\";", ".rodata..Lanon.g.3");
    let o = link_incremental(&t, &args);
    assert!(o.stderr.contains("section .rodata..Lanon.h.3 that a symbol names was taken out"), "{o}");
    assert_is_plain_link(&t, &args, "common 0001\ncommon 0001 20\n");
}

/// `main.o` prints what `where` and `what` of `anon.o` return. `anon.o` is `-fPIE`, keeps its
/// assembler's temporaries (`-Wa,-L`) and has `constants` at its top, its sections in the
/// order of the source: anonymous constants as
/// LLVM makes rustc's, each in a section of its own named by a temporary
/// (`.data.rel.ro..Lanon.h.1`: the address of a string, which a position-independent
/// executable relocates at load time, like a Rust panic location; `.rodata..Lanon.h.2`).
fn anon_program(t: &Test, constants: &str, where_body: &str, what_body: &str) -> Vec<String> {
    let main = t.write(
        "anon_main.c",
        "#include <stdio.h>\nconst char *where(void);\nconst char *what(void);\n\
         int main(void) { printf(\"%s %s\\n\", where(), what()); return 0; }\n",
    );
    let anon = t.write(
        "anon.c",
        format!("{constants}\nconst char *where(void) {{ {where_body} }}\nconst char *what(void) {{ {what_body} }}\n"),
    );
    // In the order of the source, as LLVM emits a unit's sections.
    let flags = ["-O1", "-fPIE", "-ffunction-sections", "-fno-toplevel-reorder", "-Wa,-L"];
    vec![t.cc(&main, &flags), t.cc(&anon, &flags)]
}

/// An edit that adds anonymous constants (a Rust panic location, a literal) is patched: each
/// goes to an overflow segment, read-only data to the one code moves to, data holding an
/// address to a writable one the relink appends, and that address gets a relative dynamic
/// relocation in one of the empty entries that end `.rela.dyn`. The code that refers to them
/// is made anew. A later change of what the address points to follows it; the constants
/// taken out, and added again, are patched too. Each output runs as a full link's does.
#[test]
fn anonymous_constants_added_are_patched_in_place() {
    let t = test_env!("incremental_anon_added");
    if !t.linker_is_rivet() {
        return;
    }
    let constants = |text: &str| {
        format!(
            "static const char *const w __asm__(\".Lw.1\") __attribute__((section(\".data.rel.ro..Lanon.h.1\"))) = \"{text}\";\n\
             static const char r[] __asm__(\".Lr.2\") __attribute__((section(\".rodata..Lanon.h.2\"))) = \"read-only\";"
        )
    };
    let (where_body, what_body) = ("return *(const char *const volatile *)&w;", "return r;");
    let empty_relocations = |t: &Test| {
        let o = std::process::Command::new("readelf").args(["-rW"]).arg(t.out("prog")).output().unwrap();
        String::from_utf8_lossy(&o.stdout).matches("R_X86_64_NONE").count()
    };
    let args =
        [anon_program(&t, "", "return \"nowhere\";", "return \"none\";"), vec!["-Wl,--build-id".into()]].concat();
    link_incremental(&t, &args);
    let room = empty_relocations(&t);
    assert!(room > 0, "a position-independent executable's .rela.dyn ends with empty entries");

    // The writable overflow segment is not made read-only after relocation, as the full
    // link's `.data.rel.ro` is (`PT_GNU_RELRO`: the loader protects one range only).
    let unprotected = ["sections RELRO in the reference but not in ours: [\".data.rel.ro\"]"];
    anon_program(&t, &constants("here"), where_body, what_body);
    assert_patched_runs_with_differences(&t, &args, "here read-only\n", &unprotected);
    assert_eq!(empty_relocations(&t), room - 1, "the address took an empty dynamic relocation");
    let segments = std::process::Command::new("readelf").args(["-lW"]).arg(t.out("prog")).output().unwrap();
    let segments = String::from_utf8_lossy(&segments.stdout).into_owned();
    let loads: Vec<&str> = segments.lines().filter(|l| l.trim_start().starts_with("LOAD")).collect();
    assert!(loads.last().is_some_and(|l| l.contains(" RW ")), "a writable overflow segment last:\n{segments}");

    anon_program(&t, &constants("there"), where_body, what_body);
    assert_patched_runs_with_differences(&t, &args, "there read-only\n", &unprotected);
    assert_eq!(empty_relocations(&t), room - 1, "the same relocation follows the address");

    // Taken out, the constants stay in the output, unreferenced; added again, they are placed
    // anew, with another relative relocation.
    anon_program(&t, "", "return \"nowhere\";", "return \"none\";");
    assert_patched_as_a_full_link_runs(&t, &args, "nowhere none\n");
    anon_program(&t, &constants("again"), where_body, what_body);
    assert_patched_runs_with_differences(&t, &args, "again read-only\n", &unprotected);
    assert_eq!(empty_relocations(&t), room - 2, "the address took another empty dynamic relocation");
}

/// The incremental link of `args` is patched in place, and its output prints `expected` as
/// a full link's does, and is that link's in all the loader and the user see.
fn assert_patched_as_a_full_link_runs(t: &Test, args: &[String], expected: &str) {
    assert_patched_runs_with_differences(t, args, expected, &[]);
}

/// As [`assert_patched_as_a_full_link_runs`], but for the structural differences `known`.
fn assert_patched_runs_with_differences(t: &Test, args: &[String], expected: &str, known: &[&str]) {
    let o = link_incremental(t, args);
    assert!(patched_in_place(&o), "{o}");
    t.link("plain", &args.iter().map(String::as_str).collect::<Vec<_>>());
    t.run_expect("plain", &[], expected);
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, expected);
    let diffs = rivet_tests::elf_compare::structural_differences(&t.out("prog"), &t.out("plain"));
    assert_eq!(diffs, Ok(known.iter().map(|d| d.to_string()).collect()), "{expected:?}");
}

/// `main.o` prints what `scale.o` returns and a quarter of it; gcc puts both doubles, the
/// returned one and 0.25, in merge sections of 8-byte constants (`.rodata.cst8`).
fn scale_program(t: &Test, value: &str) -> Vec<String> {
    let main = t.write(
        "scale_main.c",
        "#include <stdio.h>\ndouble scale(void);\nint main(void) { printf(\"%g %g\\n\", scale(), scale() * 0.25); return 0; }\n",
    );
    let scale = t.write("scale.c", format!("double scale(void) {{ return {value}; }}\n"));
    vec![t.cc(&main, &["-O1"]), t.cc(&scale, &["-O1"])]
}

/// A changed constant of a merge section of constants is written where the old one is, as a
/// changed merged string is; one that now equals another constant, or that was stored once
/// for two objects, links in full.
#[test]
fn a_changed_merged_constant_is_rewritten_in_place() {
    let t = test_env!("incremental_patch_constant");
    if !t.linker_is_rivet() {
        return;
    }
    let args = scale_program(&t, "3.5");
    link_incremental(&t, &args);
    let plain = |t: &Test| t.link("plain", &args.iter().map(String::as_str).collect::<Vec<_>>());

    scale_program(&t, "4.5");
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o) && o.stderr.contains(" 1 merged strings and constants rewritten"), "{o}");
    plain(&t);
    t.run_expect("plain", &[], "4.5 1.125\n");
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, "4.5 1.125\n");
    let same = rivet_tests::elf_compare::same_but_for_string_places(&t.out("prog"), &t.out("plain"));
    assert_eq!(same, Ok(()));

    scale_program(&t, "0.25");
    let o = link_incremental(&t, &args);
    assert!(o.stderr.contains("now equal to another"), "{o}");
    assert_is_plain_link(&t, &args, "0.25 0.0625\n");

    scale_program(&t, "5.5");
    let o = link_incremental(&t, &args);
    assert!(o.stderr.contains("was stored once for several"), "{o}");
    assert_is_plain_link(&t, &args, "5.5 1.375\n");

    scale_program(&t, "6.5");
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, "6.5 1.625\n");
}

/// An archive whose contents changed once (a library of the project, not the C library) is
/// kept member by member: the members the link loaded are copied, and a later change to one
/// of them with the same shape is patched in place like a plain object's, whatever else
/// changed in members the link does not load. A member whose symbols changed changes the
/// archive's symbol index: that links in full.
#[test]
fn a_member_of_a_changed_archive_is_patched_in_place() {
    let t = test_env!("incremental_patch_member");
    if !t.linker_is_rivet() {
        return;
    }
    let unused = |t: &Test, text: &str| {
        let src = t.write("unused.c", format!("const char *unused(void) {{ return \"{text}\"; }}\n"));
        t.cc(&src, &["-ffunction-sections"])
    };
    let library = |t: &Test, value: u32, text: &str| {
        let [main, number] = <[String; 2]>::try_from(number_program(t, value, 0)).unwrap();
        let unused = unused(t, text);
        let lib = t.ar("libnumber.a", &[&number, &unused]);
        vec![main, lib]
    };
    let args = [library(&t, 1000, "a"), vec!["-Wl,--build-id".into()]].concat();
    link_incremental(&t, &args);

    library(&t, 2000, "a");
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("libnumber.a changed"), "{o}");
    assert!(o.stderr.contains("an archive that had not changed before"), "{o}");
    assert_is_plain_link(&t, &args, "4000\n");

    library(&t, 3000, "b");
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    assert!(o.stderr.contains("2 sections rewritten"), "the function and the table: {o}");
    assert_is_plain_link(&t, &args, "6000\n");
    assert!(up_to_date(&link_incremental(&t, &args)));

    // Only a member the link does not load changed: nothing to rewrite.
    library(&t, 3000, "c");
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o) && o.stderr.contains("0 sections rewritten"), "{o}");
    assert_is_plain_link(&t, &args, "6000\n");

    number_program(&t, 3500, 0);
    let src = t.write("unused.c", "const char *unused(void) { return \"c\"; }\nint more(void) { return 1; }\n");
    let unused = t.cc(&src, &["-ffunction-sections"]);
    t.ar("libnumber.a", &[&t.obj("number.o"), &unused]);
    let o = link_incremental(&t, &args);
    assert!(o.stderr.contains("its members or its symbol index changed"), "{o}");
    assert_is_plain_link(&t, &args, "7000\n");

    library(&t, 4000, "c");
    let o = link_incremental(&t, &args);
    assert!(o.stderr.contains("its members or its symbol index changed"), "{o}");
    library(&t, 4500, "c");
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    assert_is_plain_link(&t, &args, "9000\n");
}

/// cargo links a binary in its build directory and, once rustc has succeeded, replaces
/// `<profile>/<bin>` with a hard link to it. That uplifted name is no reason to copy the
/// output before patching it (cargo links it to the new output anyway): the output is
/// patched in place and the uplifted name removed first, so that it never shows a partly
/// patched file. A running uplifted binary still gets a copy, and runs on undisturbed.
#[test]
fn cargo_s_uplifted_binary_is_no_reason_to_copy_the_output() {
    let t = test_env!("incremental_patch_uplifted");
    if !t.linker_is_rivet() {
        return;
    }
    assert!(std::env::var_os("CARGO").is_some(), "cargo runs these tests, and the links see CARGO");
    // cargo's original layout, and its layout by build unit (with a crate name's `_` as `-`).
    for (output, bin) in [("deps/prog-0123456789abcdef", "prog"), ("build/prog/0123abcd/out/my_prog", "my-prog")] {
        std::fs::create_dir_all(t.out(output).parent().unwrap()).unwrap();
        let built = t.out(output).to_str().unwrap().to_string();
        let link = |args: &[String]| {
            let args: Vec<&str> = args.iter().map(String::as_str).chain(INCREMENTAL).collect();
            let o = t.try_link_in(World::Test, Driver::Gcc, output, &args);
            assert!(o.success(), "incremental link failed: {o}");
            o
        };
        let uplift = || {
            let _ = std::fs::remove_file(t.out(bin));
            std::fs::hard_link(t.out(output), t.out(bin)).unwrap();
        };
        let args = number_program(&t, 1000, 0);
        link(&args);
        uplift();

        number_program(&t, 2000, 0);
        let o = link(&args);
        assert!(patched_in_place(&o) && o.stderr.contains("incremental: output opened"), "{o}");
        assert!(!t.out(bin).exists(), "the uplifted name is left for cargo to put back");
        assert_stdout(&t.run_in(World::Test, &built, &[], &[]), 0, "4000\n");
        uplift();

        // cargo removed the output: its second name is patched in place and linked back.
        std::fs::remove_file(t.out(output)).unwrap();
        number_program(&t, 2500, 0);
        let o = link(&args);
        assert!(patched_in_place(&o) && o.stderr.contains("incremental: output opened"), "{o}");
        assert!(!t.out(bin).exists());
        assert_stdout(&t.run_in(World::Test, &built, &[], &[]), 0, "5000\n");
        uplift();

        let mut running = std::process::Command::new(t.out(bin))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        number_program(&t, 3000, 0);
        let o = link(&args);
        assert!(patched_in_place(&o) && o.stderr.contains("incremental: output copied"), "{o}");
        use std::io::Write;
        running.stdin.take().unwrap().write_all(b"\n").unwrap();
        let old = running.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&old.stdout), "5000\n", "the running program was disturbed");
        assert_stdout(&t.run_in(World::Test, &built, &[], &[]), 0, "6000\n");
        assert_stdout(&t.run_in(World::Test, bin, &[], &[]), 0, "5000\n");
    }
}

/// A running output is never written: it is patched in a copy, and the running program goes
/// on undisturbed. So is an output with a name of its own (cargo's uplifted binary): that name
/// keeps the old program. An output that cargo removed is patched under its second name and
/// put back.
#[test]
fn a_running_or_removed_output_and_a_patch() {
    let t = test_env!("incremental_patch_running");
    if !t.linker_is_rivet() {
        return;
    }
    let args = number_program(&t, 1000, 0);
    link_incremental(&t, &args);
    let mut running = std::process::Command::new(t.out("prog"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    number_program(&t, 2000, 0);
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    use std::io::Write;
    running.stdin.take().unwrap().write_all(b"\n").unwrap();
    let old = running.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&old.stdout), "2000\n", "the running program was disturbed");
    assert_is_plain_link(&t, &args, "4000\n");

    std::fs::hard_link(t.out("prog"), t.out("uplifted")).unwrap();
    number_program(&t, 2500, 0);
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    assert_is_plain_link(&t, &args, "5000\n");
    assert_stdout(&t.run_in(World::Test, "uplifted", &[], &[]), 0, "4000\n");
    assert!(up_to_date(&link_incremental(&t, &args)));

    std::fs::remove_file(t.out("prog")).unwrap();
    number_program(&t, 3000, 0);
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    assert_is_plain_link(&t, &args, "6000\n");
}

/// `main.o` prints what `banner.o` returns, twice: a literal in a read-only section of its
/// own that only a local label names (`.rodata.banner`), as rustc places each literal; once
/// as `banner`'s code finds it, once through a pointer to it in read-only data after
/// relocation (`banner_slot`, as rustc's format strings point at their pieces), which a
/// position-independent executable has a relative dynamic relocation for.
fn banner_program(t: &Test, text: &str) -> Vec<String> {
    let main = t.write(
        "banner_main.c",
        "#include <stdio.h>\nconst char *banner(void);\nconst char *banner_via_slot(void);\nint counter = 2;\n\
         int main(void) {\n    const char *shown = banner();\n    puts(shown); /* SHOWN */\n    puts(banner_via_slot());\n    return counter != 2;\n}\n",
    );
    let banner = t.write(
        "banner.c",
        format!(
            "__asm__(\".pushsection .rodata.banner,\\\"a\\\",@progbits\\n.Lbanner: .string \\\"{text}\\\"\\n.popsection\");\n\
             __asm__(\".pushsection .data.rel.ro.banner_slot,\\\"aw\\\",@progbits\\n.balign 8\\nbanner_slot: .quad .Lbanner\\n.popsection\");\n\
             const char *banner(void) {{ const char *p; __asm__(\"leaq .Lbanner(%%rip), %0\" : \"=r\"(p)); return p; }}\n\
             const char *banner_via_slot(void) {{ const char *p; __asm__(\"movq banner_slot(%%rip), %0\" : \"=r\"(p)); return p; }}\n"
        ),
    );
    let flags = ["-O1", "-g", "-ffunction-sections", "-fdata-sections"];
    vec![t.cc(&main, &flags), t.cc(&banner, &flags)]
}

/// The program header at `e_phoff` that maps the table itself: the overflow segment a
/// relink appended, if any, as (file offset, size).
fn overflow_segment(t: &Test) -> Option<(u64, u64)> {
    overflow_load(t).map(|[offset, size, _, _]| (offset, size))
}

/// The overflow segment's `PT_LOAD` in `prog` (the one that holds the program header table):
/// its file offset and size, its address and size in memory.
fn overflow_load(t: &Test) -> Option<[u64; 4]> {
    let data = std::fs::read(t.out("prog")).unwrap();
    let file = object::read::elf::ElfFile64::<object::LittleEndian>::parse(&*data).unwrap();
    use object::read::elf::{FileHeader, ProgramHeader};
    let (header, endian) = (file.elf_header(), object::LittleEndian);
    let phoff = header.e_phoff(endian);
    let segments = header.program_headers(endian, &*data).unwrap();
    let load = segments.iter().find(|p| p.p_type(endian) == object::elf::PT_LOAD && p.p_offset(endian) == phoff);
    load.map(|p| [p.p_offset(endian), p.p_filesz(endian), p.p_vaddr(endian), p.p_memsz(endian)])
}

/// The addresses of the overflow segment of `prog`: its start and size in memory.
fn overflow_segment_addresses(t: &Test) -> Option<(u64, u64)> {
    overflow_load(t).map(|[_, _, address, size]| (address, size))
}

/// The file offset and size of section `name` of `path`.
fn section_range(path: &Path, name: &str) -> Option<(u64, u64)> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.section_by_name(name)?.file_range()
}

/// The address and size of the `.symtab` symbol `name` in the output at `path`.
fn symbol_in(path: &Path, name: &str) -> Option<(u64, u64)> {
    use object::{Object, ObjectSymbol};
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let symbol = file.symbols().find(|s| s.name() == Ok(name))?;
    Some((symbol.address(), symbol.size()))
}

/// A literal that grew is moved to a read-only segment the relink appends, the program
/// header table with it, and the pointer to it and its relative dynamic relocation follow it;
/// one that shrank is rewritten where it was. The program prints the
/// new text, as GNU ld's link of the same objects does, gdb reads it in the running program,
/// and the output is a full link's in all the loader and the user see (`elf_compare`). A
/// literal that grows again moves again, to the same segment's end.
#[test]
fn a_literal_that_grew_moves_to_the_overflow_segment() {
    let t = test_env!("incremental_patch_moved");
    if t.linker_is_rivet() {
        literal_moves(&t, &[]);
    }
}

/// The same in an executable loaded where it was linked: the pointer to the literal is an
/// address the loader leaves alone.
#[test]
fn a_literal_that_grew_moves_in_a_position_dependent_executable() {
    let t = test_env!("incremental_patch_moved_no_pie");
    if t.linker_is_rivet() {
        literal_moves(&t, &["-no-pie"]);
    }
}

fn literal_moves(t: &Test, link_args: &[&str]) {
    let link_args = link_args.iter().map(|a| a.to_string());
    let args = [banner_program(t, "short"), vec!["-Wl,--build-id".into()], link_args.collect()].concat();
    link_incremental(t, &args);
    assert_eq!(overflow_segment(t), None, "a full link has no overflow segment");
    let mut build_ids = vec![t.readelf("-n", "prog")];
    let texts = ["a longer banner", "an even longer banner than that", "tiny", "longer again, and again"];
    for (round, text) in texts.into_iter().enumerate() {
        banner_program(t, text);
        let o = link_incremental(t, &args);
        // Each text is longer than the one before, but "tiny".
        let moved = if text == "tiny" { "(1 resized, 0 moved)" } else { "(1 resized, 1 moved)" };
        assert!(patched_in_place(&o) && o.stderr.contains(moved), "{text:?}, expected {moved}: {o}");
        t.link("plain", &args.iter().map(String::as_str).collect::<Vec<_>>());
        t.run_expect("plain", &[], &format!("{text}\n{text}\n"));
        assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, &format!("{text}\n{text}\n"));
        let diffs = rivet_tests::elf_compare::structural_differences(&t.out("prog"), &t.out("plain"));
        assert_eq!(diffs, Ok(vec![]), "{text:?}");
        let (at, size) = overflow_segment(t).expect("the moved banner's segment");
        assert_eq!(at + size, std::fs::metadata(t.out("prog")).unwrap().len(), "the segment ends the file");
        build_ids.push(t.readelf("-n", "prog"));
        assert!(!build_ids[..round + 1].contains(&build_ids[round + 1]), "the build id follows the contents");
        assert!(up_to_date(&link_incremental(t, &args)));
        if t.require_gdb() {
            let breaks = ["banner_main.c:7".to_string()];
            let (values, out) = gdb_values(t, World::Test, "prog", &breaks, &["print shown"]);
            assert!(values.len() == 1 && values[0].ends_with(&format!("\"{text}\"")), "{text:?}: gdb:\n{out}");
        }
    }
}

/// `main.o` calls `grown` in `grown.o` (C++, `-O0 -ffunction-sections`) three times and once
/// through a pointer that `grown.o` initializes, and compares that pointer with `&grown`.
/// `grown` holds a guard with a destructor, adds `padding` ones to a local and calls a static
/// `thrower`, which throws on its second call: the exception unwinds through `grown` (its
/// FDE, its landing pad in `.gcc_except_table`) to `main`. Returns the link arguments, the
/// line of the call to `thrower`, and what the program prints.
fn grown_program(t: &Test, padding: usize) -> (Vec<String>, usize, String) {
    let main = t.write(
        "grown_main.cc",
        "#include <cstdio>\n#include <stdexcept>\nint grown(int n);\nextern int (*grown_slot)(int);\n\
         int main() {\n    for (int i = 0; i < 3; i++) {\n        try { std::printf(\"ok %d\\n\", grown(i)); }\n        \
         catch (const std::exception &e) { std::printf(\"caught %s\\n\", e.what()); }\n    }\n    \
         std::printf(\"same address %d, via the slot %d\\n\", grown_slot == &grown, grown_slot(5));\n}\n",
    );
    let source = format!(
        "#include <cstdio>\n#include <stdexcept>\n\
         struct Guard {{ int id; ~Guard() {{ std::printf(\"unwound %d\\n\", id); }} }};\n\
         [[gnu::noinline]] static void thrower(int n) {{ if (n == 1) throw std::runtime_error(\"one\"); }}\n\
         int grown(int n) {{\n    Guard guard{{n}};\n    volatile int x = n;\n{}    thrower(n); /* THROW */\n    return x;\n}}\n\
         int (*grown_slot)(int) = grown;\n",
        "    x += 1;\n".repeat(padding)
    );
    let line = source.lines().position(|l| l.contains("/* THROW */")).unwrap() + 1;
    let flags = ["-O0", "-g", "-ffunction-sections"];
    let args = vec![t.cxx(&main, &flags), t.cxx(&t.write("grown.cc", &source), &flags), "-lstdc++".into()];
    let p = padding;
    let expected = format!(
        "unwound 0\nok {p}\nunwound 1\ncaught one\nunwound 2\nok {}\nunwound 5\nsame address 1, via the slot {}\n",
        p + 2,
        p + 5
    );
    (args, line, expected)
}

/// A function that grows moves to the overflow segment, which becomes executable, and leaves
/// a jump where it was; one that shrinks is rewritten where it is. After each relink the
/// program prints what GNU ld's link of the same objects prints: calls by name and through a
/// pointer reach the new code, the pointer still equals `&grown`, and an exception unwinds
/// through the moved function (its rewritten FDE, found through `.eh_frame_hdr`, and its
/// moved landing pads) and runs its guard's destructor. gdb breaks at a line of the moved
/// function, prints a local and walks the stack through it to `main`. Its line table grows
/// into the room the full link left after `.debug_line` (`layout::growth_room`), where it is.
#[test]
fn a_function_that_grew_moves_and_still_unwinds() {
    let t = test_env!("incremental_function_grew");
    if !t.linker_is_rivet() {
        return;
    }
    let (args, _, _) = grown_program(&t, 1);
    link_incremental(&t, &args);
    let (lines_place, lines_size) = section_range(&t.out("prog"), ".debug_line").expect("line tables");
    let mut lines_grew = false;
    for padding in [4, 40, 2, 200] {
        let (_, line, expected) = grown_program(&t, padding);
        let o = link_incremental(&t, &args);
        assert!(patched_in_place(&o) && o.stderr.contains(" 1 unwind records rewritten"), "{padding}: {o}");
        let moved = !o.stderr.contains(" 0 moved)");
        assert_eq!(moved, padding != 2, "only a function that grew moves: {o}");
        t.link("plain", &args.iter().map(String::as_str).collect::<Vec<_>>());
        t.run_expect("plain", &[], &expected);
        assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, &expected);
        let diffs = rivet_tests::elf_compare::structural_differences(&t.out("prog"), &t.out("plain"));
        assert_eq!(diffs, Ok(vec![]), "{padding}");
        let segments = t.readelf("-lW", "prog");
        let (at, _) = overflow_segment(&t).expect("the moved function's segment");
        let overflow = segments.lines().find(|l| l.contains("LOAD") && l.contains(&format!("0x{at:06x}")));
        assert!(overflow.is_some_and(|l| l.contains("R E")), "an executable overflow segment:\n{segments}");
        // `.symtab` names the code where it runs (it moved on the first relink, and shrinks
        // where it is), with the size a full link gives it.
        let (address, size) = symbol_in(&t.out("prog"), "_Z5growni").expect("grown in .symtab");
        let (start, len) = overflow_segment_addresses(&t).expect("the overflow segment");
        assert!((start..start + len).contains(&address), "{padding}: grown at {address:#x}, not in the overflow");
        assert_eq!(Some(size), symbol_in(&t.out("plain"), "_Z5growni").map(|(_, size)| size), "{padding}");
        let (place, size) = section_range(&t.out("prog"), ".debug_line").expect("line tables");
        assert_eq!(place, lines_place, "{padding}: .debug_line is where the full link put it");
        lines_grew |= size > lines_size;
        if t.require_gdb() {
            let (values, out) = gdb_values(&t, World::Test, "prog", &[format!("grown.cc:{line}")], &["print x", "bt"]);
            assert_eq!(values, [padding.to_string()], "{padding}: gdb:\n{out}");
            assert!(out.contains("#0  grown (n=0) at ") && out.contains(&format!("grown.cc:{line}")), "{out}");
            assert!(out.contains(" in main () at ") && out.contains("grown_main.cc:7"), "gdb walks to main:\n{out}");
        }
    }
    assert!(lines_grew, "no relink grew .debug_line");
    assert!(up_to_date(&link_incremental(&t, &args)));
}

/// `main.o` prints what `compute(i)` returns for i = 0, 1, 2, or the `int` it throws.
/// `added.o` (C++, `-O2 -ffunction-sections`) defines `compute`, which with `helper` calls a
/// static `checked` (its own `.text` section) that throws on 1 and calls a static `triple`
/// (two functions added, whose unwind records point at the CIE the output has for `compute`'s,
/// itself written anew), and without it returns `n + 1`.
/// Either throws on 5 (never called so), for what the new code's throw needs of libstdc++
/// (`_ZTIi`, which a new reference could not find in the output otherwise).
fn added_function_program(t: &Test, helper: bool) -> (Vec<String>, usize, &'static str) {
    let main = t.write(
        "added_main.cc",
        "#include <cstdio>\nint compute(int n);\n\
         int main() {\n    for (int i = 0; i < 3; i++) {\n        try { std::printf(\"ok %d\\n\", compute(i)); }\n        \
         catch (int thrown) { std::printf(\"caught %d\\n\", thrown); }\n    }\n}\n",
    );
    let source = match helper {
        true => {
            "[[gnu::noipa]] static int triple(int n) { return n * 3; }\n\
             [[gnu::noipa]] static int checked(int n) {\n    volatile int tripled = triple(n);\n    \
                 if (n == 1) throw n * 10; /* THROW */\n    return tripled;\n}\n\
                 int compute(int n) {\n    volatile int x = n;\n    if (x == 5) throw x;\n    \
                 int a = checked(x), b = checked(2);\n    return a + b - 6 + 1;\n}\n"
        }
        false => "int compute(int n) { volatile int x = n; if (x == 5) throw x; return x + 1; }\n",
    };
    let line = source.lines().position(|l| l.contains("/* THROW */")).map_or(0, |l| l + 1);
    let flags = ["-O0", "-g", "-ffunction-sections"];
    // Optimized, `compute` keeps `a` in a register its callee must save: the edit gives it an
    // unwind record of another length (no cold part split off, no clones of the helpers).
    let optimized = ["-O2", "-g", "-ffunction-sections", "-fno-reorder-blocks-and-partition"];
    let args = vec![t.cxx(&main, &flags), t.cxx(&t.write("added.cc", source), &optimized), "-lstdc++".into()];
    (args, line, if helper { "ok 1\ncaught 10\nok 7\n" } else { "ok 1\nok 2\nok 3\n" })
}

/// A function an edit added (a static one: its own `.text` section and one local symbol) is
/// placed in the overflow segment, its unwind record written into the room after the records
/// of `.eh_frame` and listed in `.eh_frame_hdr`'s room (`layout::unwind_room`), its symbol
/// added to `.symtab` and its address ranges to the unit's (which move, as the unit does).
/// The exception it throws unwinds through it and its caller to `main`, as in a plain link of
/// the same objects; gdb breaks in it, prints a local and walks the stack to `main`. Taken
/// out again, and added again, it is patched too, the output structurally a plain link's.
#[test]
fn an_added_function_is_patched_in_place() {
    let t = test_env!("incremental_added_function");
    if !t.linker_is_rivet() {
        return;
    }
    let (args, _, _) = added_function_program(&t, false);
    link_incremental(&t, &args);
    let (_, line, expected) = added_function_program(&t, true);
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o) && o.stderr.contains(", 2 added,"), "{o}");
    t.link("plain", &args.iter().map(String::as_str).collect::<Vec<_>>());
    t.run_expect("plain", &[], expected);
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, expected);
    let (address, size) = symbol_in(&t.out("prog"), "_ZL7checkedi").expect("checked in .symtab");
    let (start, len) = overflow_segment_addresses(&t).expect("the overflow segment");
    assert!((start..start + len).contains(&address), "checked at {address:#x}, not in the overflow");
    assert_eq!(Some(size), symbol_in(&t.out("plain"), "_ZL7checkedi").map(|(_, size)| size));
    let diffs = rivet_tests::elf_compare::structural_differences(&t.out("prog"), &t.out("plain"));
    assert_eq!(diffs, Ok(vec![]));
    if t.require_gdb() {
        let (values, out) =
            gdb_values(&t, World::Test, "prog", &[format!("added.cc:{line}")], &["print tripled", "bt"]);
        assert_eq!(values, ["0"], "gdb:\n{out}");
        assert!(out.contains("#0  checked (n=0) at ") && out.contains(" compute (n="), "{out}");
        assert!(out.contains(" in main () at ") && out.contains("added_main.cc:5"), "gdb walks to main:\n{out}");
    }
    assert!(up_to_date(&link_incremental(&t, &args)));
    // Taken out, and added again: its code stays, unreferenced, and its symbol goes.
    for helper in [false, true] {
        let (_, _, expected) = added_function_program(&t, helper);
        assert_patched_as_a_full_link_runs(&t, &args, expected);
        assert_eq!(symbol_in(&t.out("prog"), "_ZL7checkedi").is_some(), helper);
    }
}

/// `caller.o` prints `base()`, or with `added` `plus_two(base())`; `util.o` defines `base`,
/// and with `added` the global `plus_two` too.
fn new_global_program(t: &Test, added: bool) -> (Vec<String>, &'static str) {
    let call = if added { "plus_two(base())" } else { "base()" };
    let caller = t.write(
        "caller.c",
        format!("#include <stdio.h>\nint base(void);\nint plus_two(int x);\nint main(void) {{ printf(\"%d\\n\", {call}); return 0; }}\n"),
    );
    let extra = if added { "int plus_two(int x) { return x + 2; }\n" } else { "" };
    let util = t.write("util.c", format!("int base(void) {{ return 40; }}\n{extra}"));
    let flags = ["-O0", "-g", "-ffunction-sections"];
    (vec![t.cc(&caller, &flags), t.cc(&util, &flags)], if added { "42\n" } else { "40\n" })
}

/// A global function an edit added to one object and called from another, both rebuilt: the
/// object that defines it is planned first (`patch::defines_new_globals`), so that the
/// caller's new call finds it; `.symtab` gets it after the other globals. The output then
/// runs as a plain link of the same objects, and is structurally the same. Taken out with
/// its call, it is patched again: `.symtab` loses it.
#[test]
fn a_new_global_function_called_from_another_object_is_patched() {
    let t = test_env!("incremental_new_global");
    if !t.linker_is_rivet() {
        return;
    }
    let (args, _) = new_global_program(&t, false);
    link_incremental(&t, &args);
    let (_, expected) = new_global_program(&t, true);
    assert_patched_as_a_full_link_runs(&t, &args, expected);
    let globals = t.readelf("-sW", "prog");
    assert!(globals.lines().any(|l| l.contains(" GLOBAL ") && l.ends_with(" plus_two")), "{globals}");
    let (_, expected) = new_global_program(&t, false);
    assert_patched_as_a_full_link_runs(&t, &args, expected);
    assert_eq!(symbol_in(&t.out("prog"), "plus_two"), None);
}

/// `main` calls `used`; `dropped.o` also defines `unused`, whose body is `padding` volatile
/// increments, and which `--gc-sections` drops. Built with DWARF 4 (`.debug_ranges`, as rustc
/// writes it).
fn dropped_program(t: &Test, padding: usize) -> Vec<String> {
    let main = t.write(
        "dropped_main.c",
        "#include <stdio.h>\nint used(void);\nint main(void) { printf(\"%d\\n\", used()); return 0; }\n",
    );
    let body = "x++; ".repeat(padding);
    let lib = format!("int used(void) {{ return 42; }}\nint unused(void) {{ volatile int x = 0; {body}return x; }}\n");
    let flags = ["-O0", "-g", "-gdwarf-4", "-ffunction-sections"];
    vec![t.cc(&main, &flags), t.cc(&t.write("dropped.c", lib), &flags), "-Wl,--gc-sections".into()]
}

/// Code the link dropped has a tombstone wherever debug information refers to it: when an
/// edit changes the size of a function `--gc-sections` dropped, the relocations of its
/// address range in `.debug_ranges` change their addends, and the tombstone stays, as a full
/// link writes it whatever the addend. The relink is patched in place.
#[test]
fn a_dropped_function_of_a_new_size_keeps_its_tombstone() {
    let t = test_env!("incremental_dropped_resized");
    if !t.linker_is_rivet() {
        return;
    }
    let args = dropped_program(&t, 1);
    link_incremental(&t, &args);
    let ranges = |name: &str| {
        use object::{Object, ObjectSection};
        let data = std::fs::read(t.out(name)).unwrap();
        let file = object::File::parse(&*data).unwrap();
        file.section_by_name(".debug_ranges").map(|s| s.data().unwrap().to_vec())
    };
    for padding in [6, 2] {
        dropped_program(&t, padding);
        assert_patched_as_a_full_link_runs(&t, &args, "42\n");
        assert_eq!(symbol_in(&t.out("prog"), "unused"), None);
        assert!(
            ranges("prog").is_some() && ranges("prog") == ranges("plain"),
            "`.debug_ranges` is not the full link's"
        );
    }
}

/// `lib.o` defines `base`, `unused`, `spare` and `last`; `user.o`'s `twice` calls `base`; `main`
/// prints `twice()` and, when `spare_called`, `spare()`. `lib.o` leaves out the functions
/// of `taken_out`.
fn taken_out_program(t: &Test, spare_called: bool, taken_out: &[&str]) -> (Vec<String>, &'static str) {
    let functions = [("base", 40), ("unused", 1), ("spare", 2), ("last", 3)];
    let lib: String = functions
        .iter()
        .filter(|(name, _)| !taken_out.contains(name))
        .map(|(name, value)| format!("int {name}(void) {{ return {value}; }}\n"))
        .collect();
    let user = "int base(void);\nint twice(void) { return 2 * base(); }\n";
    let call = if spare_called { "printf(\"%d %d\\n\", twice(), spare())" } else { "printf(\"%d\\n\", twice())" };
    let main =
        format!("#include <stdio.h>\nint twice(void);\nint spare(void);\nint main(void) {{ {call}; return 0; }}\n");
    let flags = ["-O0", "-ffunction-sections"];
    let objects = [("lib.c", lib), ("user.c", user.to_string()), ("main.c", main)];
    let args = objects.into_iter().map(|(name, source)| t.cc(&t.write(name, source), &flags)).collect();
    (args, if spare_called { "80 2\n" } else { "80\n" })
}

/// A global function an edit took out is patched away (its bytes stay, `.symtab` loses it)
/// when no file calls it any more: none did (`unused`), or the one that did is rebuilt
/// without the call (`spare`), as the map's count of each global's referrers tells. One that
/// an object the relink does not read still calls (`base`, from `user.o`) links in full,
/// which refuses it as GNU ld does.
#[test]
fn a_global_function_taken_out_is_patched_when_no_file_calls_it() {
    let t = test_env!("incremental_global_taken_out");
    if !t.linker_is_rivet() {
        return;
    }
    let (args, _) = taken_out_program(&t, true, &[]);
    link_incremental(&t, &args);
    let (_, expected) = taken_out_program(&t, true, &["unused"]);
    assert_patched_as_a_full_link_runs(&t, &args, expected);
    assert_eq!(symbol_in(&t.out("prog"), "unused"), None);
    let (_, expected) = taken_out_program(&t, false, &["unused", "spare"]);
    assert_patched_as_a_full_link_runs(&t, &args, expected);
    assert_eq!(symbol_in(&t.out("prog"), "spare"), None);
    assert!(symbol_in(&t.out("prog"), "base").is_some());

    taken_out_program(&t, false, &["unused", "spare", "base"]);
    assert_refused_as_still_called(&t, &args, "base");
}

/// An incremental link of `args` whose edit took out the global function `name` while an
/// object the relink does not read may still call it: the link is a full one, which refuses
/// the call, as GNU ld's does.
fn assert_refused_as_still_called(t: &Test, args: &[String], name: &str) {
    let incremental: Vec<&str> = args.iter().map(String::as_str).chain(INCREMENTAL).collect();
    let o = t.try_link_in(World::Test, Driver::Gcc, "prog", &incremental);
    let why = format!("`{name}` was taken out, and other code may still call it");
    assert!(!o.success() && o.stderr.contains(&why), "{o}");
    assert!(o.stderr.contains("undefined symbol") && o.stderr.contains(name), "{o}");
    let reference =
        t.try_link_in(World::Ref, Driver::Gcc, "prog", &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!reference.success(), "GNU ld links a call to a function no object defines: {reference}");
}

/// `value` moves from `a.o` to `b.o` (a function moved to another source file): both objects
/// change, and `main.o`, which the relink does not read, still calls `value` where `a.o` had
/// it. The relink leaves a jump there to where `b.o`'s copy is placed; `main` prints what a
/// full link's does, through an edit of the moved copy, a move back to `a.o` and `b.o` no
/// longer calling it. Taken out then while `main.o` still calls it, the link is a full one
/// (the callers of a function that moved are not counted), which refuses the call as GNU ld
/// does.
#[test]
fn a_function_moved_to_another_changed_object_is_patched() {
    let t = test_env!("incremental_moved_function");
    if !t.linker_is_rivet() {
        return;
    }
    let (args, _) = moved_program(&t, Some(40), None, true);
    link_incremental(&t, &args);
    for (in_a, in_b, b_calls) in
        [(None, Some(41), true), (None, Some(43), true), (Some(44), None, true), (Some(45), None, false)]
    {
        let (_, expected) = moved_program(&t, in_a, in_b, b_calls);
        assert_patched_as_a_full_link_runs(&t, &args, &expected);
    }
    moved_program(&t, None, None, false);
    assert_refused_as_still_called(&t, &args, "value");
}

/// `main.o` prints `value()` and `twice()`; `b.o`'s `twice` doubles `value()` when `b_calls`,
/// else returns 42; `a.o` defines `other`, and `value` returning `in_a` if given, as `b.o`
/// does with `in_b`.
fn moved_program(t: &Test, in_a: Option<i32>, in_b: Option<i32>, b_calls: bool) -> (Vec<String>, String) {
    let value = |v: Option<i32>| v.map_or(String::new(), |v| format!("int value(void) {{ return {v}; }}\n"));
    let a = format!("{}int other(void) {{ return 7; }}\n", value(in_a));
    let twice = if b_calls { "2 * value()" } else { "42" };
    let b = format!("int value(void);\n{}int twice(void) {{ return {twice}; }}\n", value(in_b));
    let main = "#include <stdio.h>\nint value(void);\nint twice(void);\nint main(void) { printf(\"%d %d\\n\", value(), twice()); return 0; }\n";
    let flags = ["-O0", "-ffunction-sections"];
    let objects = [("moved_a.c", a), ("moved_b.c", b), ("moved_main.c", main.to_string())];
    let args = objects.into_iter().map(|(name, source)| t.cc(&t.write(name, source), &flags)).collect();
    let v = in_a.or(in_b).unwrap_or(0);
    (args, format!("{v} {}\n", if b_calls { 2 * v } else { 42 }))
}

/// The referrer counts follow calls that relinks add and take out while the callee's object
/// does not change: `spare`, called from `main.o` after one relink and no longer after
/// another, is then taken out of `lib.o` by a patch, as no file calls it. Put back, and
/// called again from a `main.o` the relink rewrites alone, it may not be: taken out then,
/// the link is a full one, which refuses the call as GNU ld does.
#[test]
fn a_function_called_and_no_longer_called_across_relinks_is_taken_out_by_a_patch() {
    let t = test_env!("incremental_referrers_since");
    if !t.linker_is_rivet() {
        return;
    }
    let steps: [(bool, &[&str]); 5] = [(true, &[]), (false, &[]), (false, &["spare"]), (false, &[]), (true, &[])];
    assert_spare_patched_then_refused(&t, false, &steps);
}

/// Links [`taken_out_program`] with `main` calling `spare` if `called_first`, then relinks
/// each of `steps` (whether `main` calls `spare`, what `lib.o` leaves out): each must be
/// patched, and `.symtab` list `spare` while `lib.o` has it. Last, `spare` is taken out
/// while `main` calls it: the link is a full one, which refuses it.
fn assert_spare_patched_then_refused(t: &Test, called_first: bool, steps: &[(bool, &[&str])]) {
    let (args, _) = taken_out_program(t, called_first, &[]);
    link_incremental(t, &args);
    for &(called, taken_out) in steps {
        let (_, expected) = taken_out_program(t, called, taken_out);
        assert_patched_as_a_full_link_runs(t, &args, expected);
        assert_eq!(symbol_in(&t.out("prog"), "spare").is_some(), taken_out.is_empty(), "{taken_out:?}");
    }
    taken_out_program(t, true, &["spare"]);
    assert_refused_as_still_called(t, &args, "spare");
}

/// A count that changed while its function's object did not (`main.o` no longer calls
/// `spare`) belongs to that definition: once `spare` is taken out of `lib.o`, and put back
/// in the same relink as `main.o` calls it again, its count is the one call, and taking it out
/// again while `main.o` still calls it links in full, which refuses the call as GNU ld does.
#[test]
fn a_function_taken_out_and_put_back_is_counted_afresh() {
    let t = test_env!("incremental_put_back_counted");
    if !t.linker_is_rivet() {
        return;
    }
    assert_spare_patched_then_refused(&t, true, &[(false, &[]), (false, &["spare"]), (true, &[])]);
}

/// A function an edit added that no code calls is placed and left out of `.symtab`
/// (`--gc-sections`: a full link drops it). When another object's edit calls it, its own
/// object unchanged, the relink lists it where it is: the program prints what a full link's
/// does, and `.symtab` names the function.
#[test]
fn a_function_added_uncalled_then_called_from_another_object_is_listed_where_it_is() {
    let t = test_env!("incremental_added_uncalled_then_called");
    if !t.linker_is_rivet() {
        return;
    }
    let (objects, _) = taken_out_program(&t, false, &["spare"]);
    let args: Vec<String> = objects.into_iter().chain(["-Wl,--gc-sections".to_string()]).collect();
    link_incremental(&t, &args);
    let (_, expected) = taken_out_program(&t, false, &[]);
    assert_patched_as_a_full_link_runs(&t, &args, expected);
    assert_eq!(symbol_in(&t.out("prog"), "spare"), None);
    let (_, expected) = taken_out_program(&t, true, &[]);
    assert_patched_as_a_full_link_runs(&t, &args, expected);
    assert!(symbol_in(&t.out("prog"), "spare").is_some());
}

/// A static function that nothing calls, and the data only it reads (the address of a string,
/// which a position-independent output relocates at load time, in a section named by
/// assembler temporaries alone, as rustc's anonymous constants are), which the link drops
/// (`--gc-sections`), called after an edit of their own object: both are placed as added
/// sections, the function listed in `.symtab` (not another that nothing calls); the program
/// prints what a full link's does, and gdb breaks in the function (its debug information made
/// anew).
#[test]
fn a_dropped_static_function_its_object_calls_after_an_edit_is_placed() {
    let t = test_env!("incremental_made_live");
    if !t.linker_is_rivet() {
        return;
    }
    let program = |called: bool| {
        const SOURCE: &str = r#"#include <stdio.h>
__asm__(".pushsection .data.rel.ro..Lanon.note,\"aw\",@progbits\n.p2align 3\n.Lnote: .quad .Lnote_text\n.popsection\n"
        ".pushsection .rodata.str1.1,\"aMS\",@progbits,1\n.Lnote_text: .string \"three\"\n"
        ".Lformat: .string \"%d\\n\"\n.popsection");
static int unused(int x) { return x + 1; }
static int helper(int x) {
    const char *const *p;
    __asm__("leaq .Lnote(%%rip), %0" : "=r"(p));
    int length = 0;
    while ((*p)[length]) length++;
    return x * 3 + length - 5;
}
int main(void) {
    const char *format;
    __asm__("leaq .Lformat(%%rip), %0" : "=r"(format));
    BODY
    return 0;
}
"#;
        // A new local: new debug information, whose relocations change too.
        let body = if called { "int result = helper(14);\n    printf(format, result);" } else { "printf(format, 42);" };
        let source = SOURCE.replace("BODY", body);
        let object = t.cc(&t.write("one.c", source), &["-O0", "-g", "-ffunction-sections"]);
        vec![object, "-Wl,--gc-sections".to_string()]
    };
    let args = program(false);
    link_incremental(&t, &args);
    assert_eq!(symbol_in(&t.out("prog"), "helper"), None);
    program(true);
    // The data is in the writable overflow segment, which is not made read-only after
    // relocation as the full link's `.data.rel.ro` is (the loader protects one range only).
    let unprotected = ["sections RELRO in the reference but not in ours: [\".data.rel.ro\"]"];
    assert_patched_runs_with_differences(&t, &args, "42\n", &unprotected);
    assert!(symbol_in(&t.out("prog"), "helper").is_some());
    // The debug information refers to every function; it keeps none alive.
    assert_eq!(symbol_in(&t.out("prog"), "unused"), None);
    if t.require_gdb() {
        let (values, out) = gdb_values(&t, World::Test, "prog", &["helper".to_string()], &["print x"]);
        assert_eq!(values, ["14"], "gdb breaks in the placed function and prints its argument:\n{out}");
    }
}

/// A global function that the edited object called only from a function the link dropped
/// (`--gc-sections`: nothing calls `unused`), called from its live code after the edit: no
/// field of the old output holds its address, the output's `.symtab` does.
#[test]
fn a_call_to_a_function_that_only_dropped_code_called_is_patched() {
    let t = test_env!("incremental_called_from_dropped_code");
    if !t.linker_is_rivet() {
        return;
    }
    let program = |called: bool| {
        let sum = if called { "2 * base() + other()" } else { "2 * base()" };
        let sources = [
            ("lib.c", "int base(void) { return 40; }\nint other(void) { return 2; }\n".to_string()),
            (
                "user.c",
                format!(
                    "int base(void);\nint other(void);\nint unused(void) {{ return other(); }}\n\
                     int twice(void) {{ return {sum}; }}\n"
                ),
            ),
            (
                "main.c",
                "#include <stdio.h>\nint twice(void);\nint other(void);\n\
                 int main(void) { printf(\"%d %d\\n\", twice(), other()); return 0; }\n"
                    .to_string(),
            ),
        ];
        let flags = ["-O0", "-ffunction-sections"];
        let objects = sources.into_iter().map(|(name, source)| t.cc(&t.write(name, source), &flags));
        objects.chain(["-Wl,--gc-sections".to_string()]).collect::<Vec<_>>()
    };
    let args = program(false);
    link_incremental(&t, &args);
    assert_eq!(symbol_in(&t.out("prog"), "unused"), None);
    program(true);
    assert_patched_as_a_full_link_runs(&t, &args, "82 2\n");
}

/// `calls.o` defines `combine(n)`, whose body is `body`, over `twice`, `thrice` and
/// `quadruple` (in `callees.o`, each printing its name and argument) and a static `hidden`;
/// `main` prints what `combine(5)` returns.
fn calls_program(t: &Test, body: &str) -> Vec<String> {
    let callees = t.write(
        "callees.c",
        "#include <stdio.h>\nint twice(int x) { printf(\"twice %d\\n\", x); return 2 * x; }\n\
         int thrice(int x) { printf(\"thrice %d\\n\", x); return 3 * x; }\n\
         int quadruple(int x) { printf(\"quadruple %d\\n\", x); return 4 * x; }\n",
    );
    let calls = t.write(
        "calls.c",
        format!(
            "#include <stdio.h>\nint twice(int x);\nint thrice(int x);\nint quadruple(int x);\n\
             static int hidden(int x) {{ return x + 100; }}\n\
             int combine(int n) {{\n    {body}\n}}\n\
             int main(void) {{ printf(\"%d\\n\", combine(5)); return 0; }}\n"
        ),
    );
    let flags = ["-O0", "-g", "-ffunction-sections"];
    vec![t.cc(&callees, &flags), t.cc(&calls, &flags)]
}

/// A function whose calls are reordered, added or removed keeps its object's symbols (their
/// order may change: gcc lists undefined symbols as the code first uses them) but not its
/// relocations: its code's fields are made anew, from the new places of the object's
/// sections and from what the old output shows each called symbol resolved to, and it moves
/// when it grew. After each relink the program prints, call by call, what GNU ld's link of
/// the same objects prints, and gdb finds a local of a new name (its name appended to the
/// output's `.debug_str`). A call to a function the old code never called is found in the
/// output's `.symtab` (`quadruple`); one to a function of a shared library the output does not
/// call yet (`puts`: no PLT entry) links in full.
#[test]
fn calls_reordered_added_or_removed_are_patched_in_place() {
    let t = test_env!("incremental_calls");
    if !t.linker_is_rivet() {
        return;
    }
    let args = calls_program(&t, "return twice(n) + thrice(n) + hidden(n);");
    link_incremental(&t, &args);
    let bodies = [
        "return thrice(n) + twice(n) + hidden(n);",
        "return thrice(n) + twice(n) + twice(n) + hidden(n);",
        "return thrice(hidden(n)) + twice(twice(n));",
        "int a = twice(n); return thrice(n) - a;",
        "return twice(n) + thrice(n) + hidden(n);",
    ];
    for body in bodies {
        calls_program(&t, body);
        let o = link_incremental(&t, &args);
        assert!(patched_in_place(&o), "{body}: {o}");
        t.link("plain", &rivet_tests::strs(&args));
        // Both worlds' plain links print the same, and the patched program prints that.
        let expected = t.run("plain", &[]);
        assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, &expected.stdout);
        let diffs = rivet_tests::elf_compare::structural_differences(&t.out("prog"), &t.out("plain"));
        assert_eq!(diffs, Ok(vec![]), "{body}");
    }
    // A local of a new name: its name is appended to the output's `.debug_str`.
    calls_program(&t, "int a_fresh_name = twice(n); return thrice(n) - a_fresh_name; /* BREAK */");
    let o = link_incremental(&t, &args);
    assert!(patched_in_place(&o), "{o}");
    if t.require_gdb() {
        let cmds = ["print sizeof(a_fresh_name)"];
        let (values, out) = gdb_values(&t, World::Test, "prog", &["calls.c:7".to_string()], &cmds);
        assert_eq!(values, ["4"], "gdb finds the new local by its name:\n{out}");
    }
    // `quadruple`, which the new code calls, is not among the old object's symbols, but the
    // output defines it.
    calls_program(&t, "return quadruple(n) + hidden(n);");
    assert_patched_as_a_full_link_runs(&t, &args, "quadruple 5\n125\n");
    // `puts` neither: nothing in the output calls it.
    calls_program(&t, "puts(\"hello\"); return hidden(n);");
    let o = link_incremental(&t, &args);
    assert!(full_link_reason(&o).ends_with("calls.o changed"), "{o}");
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, "hello\n105\n");
}

/// `main.o` prints what `answer()` returns, whose body is `body`; `user.o` calls `seven`
/// (in `lib.o`, with `eight`) through its GOT slot, as rustc calls another crate's functions
/// (`-fno-plt`, and the assembler's `R_X86_64_GOTPCREL`, which a link cannot relax).
fn got_calls_program(t: &Test, body: &str) -> Vec<String> {
    let lib = t.write("got_lib.c", "int seven(void) { return 7; }\nint eight(void) { return 8; }\n");
    let user = t.write("got_user.c", "int seven(void);\nint user(void) { return seven() * 10; }\n");
    let main = t.write(
        "got_main.c",
        format!(
            "#include <stdio.h>\nint seven(void);\nint eight(void);\nint user(void);\n\
             int answer(void) {{ {body} }}\n\
             int main(void) {{ printf(\"%d %d\\n\", user(), answer()); return 0; }}\n"
        ),
    );
    let flags = ["-O0", "-g", "-ffunction-sections", "-fno-plt", "-Wa,-mrelax-relocations=no"];
    [lib, user, main].iter().map(|src| t.cc(src, &flags)).collect()
}

/// Code that calls through the GOT a function its object never called (rustc's calls into
/// another crate) is patched: through the GOT slot the output has for it, made for another
/// object's call (`seven`), or, for a function no code called through the GOT (`eight`),
/// through a slot of the room every executable's `.got` ends with, which the relink fills.
/// The program then prints what a plain link of the same objects prints, with the same
/// structure.
#[test]
fn a_new_call_through_the_got_is_patched_in_place() {
    let t = test_env!("incremental_got_calls");
    if !t.linker_is_rivet() {
        return;
    }
    // A call from the start: the code has relocations, so that their section is no new one.
    let args = got_calls_program(&t, "return user() - 69;");
    link_incremental(&t, &args);
    got_calls_program(&t, "return seven() + 1;");
    assert_patched_as_a_full_link_runs(&t, &args, "70 8\n");
    got_calls_program(&t, "return eight() + 1;");
    assert_patched_as_a_full_link_runs(&t, &args, "70 9\n");
    // Both: `eight` keeps the slot the last relink gave it, in the room that ends `.got`.
    got_calls_program(&t, "return seven() + eight();");
    assert_patched_as_a_full_link_runs(&t, &args, "70 15\n");
}

/// `thrower.o` (C++) defines `thrower`, which throws its argument when it is positive;
/// `lib.o` defines `first`, which returns `thrower(0)`, and `revived`, which calls it with
/// twice its own; both call it through the GOT (`-fno-plt`, as rustc calls another crate's
/// functions). `main` prints `first()`, and with `call_revived` then calls `revived(21)`,
/// catching what they throw. Linked with `--gc-sections`: until `main` calls it, `revived`
/// is dropped.
fn revived_program(t: &Test, call_revived: bool) -> (Vec<String>, usize) {
    let thrower = "int thrower(int x) { if (x > 0) throw x; return 0; }\n";
    let lib = "int thrower(int x);\nint first() { return thrower(0); }\n\
               int revived(int x) {\n    int local = x * 2;\n    return thrower(local) + 1; /* BREAK */\n}\n";
    let call = if call_revived { "revived(21);" } else { "" };
    let main = format!(
        "#include <cstdio>\nint first();\nint revived(int x);\n\
         int main() {{ try {{ printf(\"%d\\n\", first()); {call} }} catch (int e) {{ printf(\"caught %d\\n\", e); }} return 0; }}\n"
    );
    let flags = ["-O0", "-g", "-gdwarf-4", "-ffunction-sections", "-fno-plt"];
    let line = lib.lines().position(|l| l.contains("/* BREAK */")).unwrap() + 1;
    let sources = [("revived_thrower", thrower.to_string()), ("revived_lib", lib.to_string()), ("revived_main", main)];
    let objects =
        sources.map(|(name, source)| t.cxx_as(&t.write(&format!("{name}.cpp"), source), &format!("{name}.o"), &flags));
    (objects.into_iter().chain(["-Wl,--gc-sections".to_string(), "-lstdc++".to_string()]).collect(), line)
}

/// A function the link dropped (`--gc-sections`: nothing called it) that an edit of another
/// object calls: its object did not change, but the relink places the function as if it had
/// been added, from the object's kept copy (`Planner::revive`): in the overflow segment, with
/// its unwind record (an exception thrown below it reaches `main`'s handler), its `.symtab`
/// entry, and its object's debug information made anew where it held tombstones for it, so
/// that gdb breaks on its line and prints a local, as on GNU ld's program.
#[test]
fn a_dropped_function_called_again_is_placed_from_its_unchanged_object() {
    let t = test_env!("incremental_revived");
    if !t.linker_is_rivet() || !t.require_gdb() {
        return;
    }
    let (args, line) = revived_program(&t, false);
    link_incremental(&t, &args);
    assert_eq!(symbol_in(&t.out("prog"), "_Z7revivedi"), None, "the full link keeps what nothing calls");
    revived_program(&t, true);
    assert_patched_as_a_full_link_runs(&t, &args, "0\ncaught 42\n");
    assert!(symbol_in(&t.out("prog"), "_Z7revivedi").is_some(), "`.symtab` lists the revived function");
    t.try_link_in(World::Ref, Driver::Gcc, "prog", &args.iter().map(String::as_str).collect::<Vec<_>>());
    let (breaks, cmds) = ([format!("revived_lib.cpp:{line}")], ["print local"]);
    let (values, out) = gdb_values(&t, World::Test, "prog", &breaks, &cmds);
    assert_eq!(values, ["42"], "gdb output:\n{out}");
    let (ref_values, ref_out) = gdb_values(&t, World::Ref, "prog", &breaks, &cmds);
    assert_eq!(values, ref_values, "differs from ld.bfd's program under gdb:\n{ref_out}");
}

/// `main.o` prints what `answer()` returns, whose body is `body`; `nine.o` defines `nine`.
/// Calls go straight to `nine` (no `-fno-plt`: a link resolves the PLT call to the function);
/// its address is loaded through the GOT (`R_X86_64_GOTPCREL`, which a link cannot relax).
fn direct_program(t: &Test, body: &str) -> Vec<String> {
    let nine = t.write("nine.c", "int nine(void) { return 9; }\n");
    let main = format!(
        "#include <stdio.h>\nint nine(void);\nint answer(void) {{ {body} }}\n\
         int main(void) {{ printf(\"%d\\n\", answer()); return 0; }}\n"
    );
    let flags = ["-O0", "-ffunction-sections", "-Wa,-mrelax-relocations=no"];
    vec![t.cc(&nine, &flags), t.cc(&t.write("direct_main.c", main), &flags)]
}

/// A function that code called directly, and whose address new code loads through the GOT:
/// the output has no slot for it, and the relink fills one of the room `.got` ends with with
/// the address the old calls went to (not a PLT entry).
#[test]
fn a_function_called_directly_then_loaded_through_the_got_is_patched() {
    let t = test_env!("incremental_direct_then_got");
    if !t.linker_is_rivet() {
        return;
    }
    let args = direct_program(&t, "return nine() + 1;");
    link_incremental(&t, &args);
    direct_program(&t, "int (*volatile f)(void) = nine; return f() + nine() + 2;");
    assert_patched_as_a_full_link_runs(&t, &args, "20\n");
}

/// `main.o` calls `compute`, which `lines.o` defines below `blank` blank lines.
fn lines_program(t: &Test, blank: usize) -> (Vec<String>, usize) {
    let main = t.write("lines_main.c", "int compute(int n);\nint main(void) { return compute(3) != 110; }\n");
    let source = format!(
        "{}int compute(int n) {{\n    int local = n * 3 + 100;\n    local += 1; /* BREAK */\n    return local;\n}}\n",
        "\n".repeat(blank)
    );
    let line = source.lines().position(|l| l.contains("/* BREAK */")).unwrap() + 1;
    let flags = ["-g", "-O0", "-ffunction-sections"];
    (vec![t.cc(&main, &flags), t.cc(&t.write("lines.c", &source), &flags)], line)
}

/// Lines inserted above a function change its object's line table and, past line 255, the
/// size of its debug information (a line number then takes two bytes): the unit is written
/// anew at the end of `.debug_info` (a section the relink moves, in the patch's tally), and
/// the old unit is left empty. `.debug_info`, the last section of a full link, grows where it
/// is, and the section headers move out of its way. gdb still breaks at the marked line and
/// prints the local, as on GNU ld's program from the same objects, after each of a chain of
/// such relinks.
#[test]
fn lines_inserted_above_a_function_are_patched_in_place() {
    let t = test_env!("incremental_lines");
    if !t.linker_is_rivet() || !t.require_gdb() {
        return;
    }
    let (args, _) = lines_program(&t, 240);
    link_incremental(&t, &args);
    let debug_info = |t: &Test| {
        let data = std::fs::read(t.out("prog")).unwrap();
        let header = object::elf::FileHeader64::<object::LittleEndian>::parse(&*data).unwrap();
        use object::read::elf::FileHeader;
        let table = header.e_shoff(object::LittleEndian);
        (section_range(&t.out("prog"), ".debug_info").unwrap(), table)
    };
    let ((full_link_place, full_link_size), _) = debug_info(&t);
    let mut moved = 0;
    for blank in [250, 251, 254, 260, 300, 301] {
        let (_, line) = lines_program(&t, blank);
        let o = link_incremental(&t, &args);
        assert!(patched_in_place(&o), "{blank} blank lines: {o}");
        moved += usize::from(!o.stderr.contains(" 0 moved)"));
        let strs: Vec<&str> = args.iter().map(String::as_str).collect();
        t.try_link_in(World::Ref, Driver::Gcc, "prog", &strs);
        let breaks = [format!("lines.c:{line}")];
        let cmds = ["print local", "info line"];
        let (values, out) = gdb_values(&t, World::Test, "prog", &breaks, &cmds);
        assert_eq!(values, ["109"], "{blank} blank lines: gdb output:\n{out}");
        assert!(out.contains(&format!("Line {line} of \"")), "{blank} blank lines: info line:\n{out}");
        let (ref_values, ref_out) = gdb_values(&t, World::Ref, "prog", &breaks, &cmds);
        assert_eq!(values, ref_values, "differs from ld.bfd's program under gdb:\n{ref_out}");
        assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, "");
    }
    assert!(moved > 0, "no relink moved a section");
    let ((place, size), table) = debug_info(&t);
    assert!(size > full_link_size, "a relink grew .debug_info ({size} bytes, {full_link_size} linked in full)");
    assert_eq!(place, full_link_place, "the grown .debug_info is where the full link put it");
    assert!(table >= place + size, "the section headers moved past the grown .debug_info");
}

/// `main.o` calls `alpha` and `beta`, each defined in its own object below some blank lines:
/// the line of each `/* BREAK */`.
fn two_modules_program(t: &Test, alpha_blank: usize, beta_blank: usize) -> (Vec<String>, [usize; 2]) {
    let main = t.write(
        "two_main.c",
        "int alpha(int n);\nint beta(int n);\nint main(void) { return alpha(3) + beta(4) != 219; }\n",
    );
    let flags = ["-g", "-O0", "-ffunction-sections"];
    let mut objects = vec![t.cc(&main, &flags)];
    let mut lines = [0; 2];
    for (i, (name, blank)) in [("alpha", alpha_blank), ("beta", beta_blank)].into_iter().enumerate() {
        let source = format!(
            "{}int {name}(int n) {{\n    int local = n * 3 + 100;\n    local += 1; /* BREAK */\n    return local;\n}}\n",
            "\n".repeat(blank)
        );
        lines[i] = source.lines().position(|l| l.contains("/* BREAK */")).unwrap() + 1;
        objects.push(t.cc(&t.write(&format!("{name}.c"), &source), &flags));
    }
    (objects, lines)
}

/// In one relink one object's line table shrinks (its first line number takes one byte
/// instead of two) and another's grows, so the output's `.debug_line` is copied to the end of
/// the file: the shrunk table is found in the copy by the next relink, which rewrites it
/// there. gdb breaks at both functions' marked lines after each relink, as on GNU ld's program.
#[test]
fn line_tables_of_two_objects_resized_in_one_relink() {
    let t = test_env!("incremental_two_tables");
    if !t.linker_is_rivet() || !t.require_gdb() {
        return;
    }
    let (args, _) = two_modules_program(&t, 70, 10);
    link_incremental(&t, &args);
    for (alpha_blank, beta_blank) in [(10, 70), (11, 70), (12, 71)] {
        let (_, lines) = two_modules_program(&t, alpha_blank, beta_blank);
        let o = link_incremental(&t, &args);
        assert!(patched_in_place(&o), "{alpha_blank}/{beta_blank} blank lines: {o}");
        let strs: Vec<&str> = args.iter().map(String::as_str).collect();
        t.try_link_in(World::Ref, Driver::Gcc, "prog", &strs);
        let breaks = [format!("alpha.c:{}", lines[0]), format!("beta.c:{}", lines[1])];
        let cmds = ["print local", "continue", "print local"];
        let (values, out) = gdb_values(&t, World::Test, "prog", &breaks, &cmds);
        assert_eq!(values, ["109", "112"], "{alpha_blank}/{beta_blank} blank lines: gdb output:\n{out}");
        let (ref_values, ref_out) = gdb_values(&t, World::Ref, "prog", &breaks, &cmds);
        assert_eq!(values, ref_values, "differs from ld.bfd's program under gdb:\n{ref_out}");
    }
}
