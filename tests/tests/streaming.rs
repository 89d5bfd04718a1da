//! The streaming front end of the linker core (`linker_core::Session`), driven in-process the
//! way the rustc backend will drive it: inputs handed over one by one, out of canonical order,
//! while earlier ones are still being parsed on the pool.
//!
//! Every test takes the real command line that gcc gives its linker (captured by an `ld`
//! wrapper in gcc's `-B` path that records its arguments and links nothing), links it once
//! with the `rivet-ld` binary of this build (the plain link) and once in-process through a
//! `Session` fed in some arrival order, and requires byte-identical outputs. The same program
//! is also linked through gcc with the linker under test and with GNU ld (`Test::link`), both
//! are run and compared (`Test::run_expect`), and the streamed executable itself is run and must
//! print what GNU ld's does.

use linker_core::{FileArena, FileKind, LoadedFile, Session, load_inputs, parse_args};
use rivet_tests::{
    MULTI_SOURCES, Output, Rng, TOOL_TIMEOUT, Test, World, multi_expected, nm_defines, nm_has, test_env,
};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

/// How long an in-process link may take before the test calls it a hang.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// What `load_inputs` produced for one input, as an arrival order sees it.
#[derive(Clone, Debug)]
struct InputInfo {
    position: u32,
    path: PathBuf,
    kind: FileKind,
}

impl InputInfo {
    fn file_name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// Chooses the order in which a session receives the inputs: a permutation of their positions.
type Arrival = Box<dyn FnOnce(&[InputInfo]) -> Vec<u32> + Send>;

/// Every input in reverse canonical order.
fn reversed() -> Arrival {
    Box::new(|inputs| inputs.iter().rev().map(|i| i.position).collect())
}

/// A seeded shuffle (Fisher-Yates with the harness's xorshift).
fn shuffled(seed: u64) -> Arrival {
    Box::new(move |inputs| {
        let mut order: Vec<u32> = inputs.iter().map(|i| i.position).collect();
        let mut rng = Rng::new(seed);
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        order
    })
}

/// The inputs whose file name is one of `late`, in that order, after all the others; the
/// others in reverse canonical order (archives, libc and crt files first).
fn last(late: &[&str]) -> Arrival {
    let late: Vec<String> = late.iter().map(|s| s.to_string()).collect();
    Box::new(move |inputs| {
        let mut order: Vec<u32> =
            inputs.iter().rev().filter(|i| !late.contains(&i.file_name())).map(|i| i.position).collect();
        for name in &late {
            let found = inputs.iter().find(|i| &i.file_name() == name);
            order.push(found.unwrap_or_else(|| panic!("no input named {name} in {inputs:#?}")).position);
        }
        order
    })
}

/// How a streamed link is driven.
struct Stream {
    arrival: Arrival,
    /// Worker threads of the pool that parses and links.
    threads: usize,
    /// Pause after each `add`, so later adds interleave with the parse jobs of earlier ones.
    pause: Duration,
}

impl Stream {
    fn new(arrival: Arrival) -> Stream {
        Stream { arrival, threads: 2, pause: Duration::from_millis(3) }
    }
}

/// What a streamed link did.
#[derive(Debug)]
struct Streamed {
    /// The inputs, in the order the session received them.
    arrived: Vec<InputInfo>,
    /// `Err` holds the error's message.
    result: Result<(), String>,
}

/// Links `argv` (GNU ld arguments, no argv[0]) in-process: a `Session` on a fresh pool gets
/// the inputs in `stream`'s order. Runs on its own thread so that a hang fails the test after
/// [`SESSION_TIMEOUT`] instead of blocking it; a panic in the linker fails it too.
fn stream_link(argv: Vec<OsString>, stream: Stream) -> Streamed {
    let (tx, rx) = mpsc::channel();
    let description = format!("{argv:?}");
    std::thread::spawn(move || {
        let mut arrived = Vec::new();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<(), String> {
            let config = parse_args(&argv).map_err(|e| e.to_string())?;
            let arena = FileArena::default();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(stream.threads).build().unwrap();
            pool.in_place_scope(|scope| -> linker_core::Result<()> {
                let mut session = Session::new(config.clone(), &arena, scope);
                let inputs: Vec<LoadedFile> = load_inputs(&config, &arena)?;
                let infos: Vec<InputInfo> = inputs
                    .iter()
                    .map(|f| InputInfo { position: f.position, path: f.path.clone(), kind: f.kind })
                    .collect();
                for (i, info) in infos.iter().enumerate() {
                    assert_eq!(info.position, i as u32, "load_inputs positions are not dense and in order");
                }
                let order = (stream.arrival)(&infos);
                let mut sorted = order.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..infos.len() as u32).collect::<Vec<_>>(), "not a permutation: {order:?}");
                let mut slots: Vec<Option<LoadedFile>> = inputs.into_iter().map(Some).collect();
                for position in order {
                    let input = slots[position as usize].take().unwrap();
                    arrived.push(infos[position as usize].clone());
                    session.add(input)?;
                    std::thread::sleep(stream.pause);
                }
                session.finish(&pool)
            })
            .map_err(|e| e.to_string())
        }));
        let result = result.unwrap_or_else(|panic| {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("PANIC in the streamed link: {text}"))
        });
        let _ = tx.send(Streamed { arrived, result });
    });
    match rx.recv_timeout(SESSION_TIMEOUT) {
        Ok(s) => s,
        Err(_) => panic!("the streamed link did not finish within {SESSION_TIMEOUT:?} (a hang): {description}"),
    }
}

/// The arguments gcc gives its linker for `gcc <args> -o <out>`, taken from an `ld` wrapper
/// in gcc's `-B` path that records them and links nothing. Runs in the linker-under-test's
/// world directory, as `Test::link` does; the `-o` value is the one relative path.
fn gcc_linker_args(t: &Test, args: &[&str], out: &str) -> Vec<String> {
    let dir = t.root().join("ld-capture");
    std::fs::create_dir_all(&dir).unwrap();
    let record = dir.join(format!("{out}.args"));
    let ld = dir.join("ld");
    let script = format!("#!/bin/sh\nprintf '%s\\0' \"$@\" > '{}'\nexit 0\n", record.display());
    std::fs::write(&ld, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ld, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new("gcc");
    cmd.arg(format!("-B{}/", dir.display())).args(args).arg("-o").arg(out).current_dir(t.world_dir(World::Test));
    let o = rivet_tests::run_command(&mut cmd, TOOL_TIMEOUT, t.root());
    assert!(o.success(), "gcc with the recording ld failed: {o}");
    let bytes = std::fs::read(&record).unwrap_or_else(|e| panic!("gcc did not run the recording ld ({e}): {o}"));
    let argv: Vec<String> =
        bytes.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8(a.to_vec()).unwrap()).collect();
    assert!(argv.windows(2).any(|w| w[0] == "-o" && w[1] == out), "no `-o {out}` in the linker arguments: {argv:?}");
    argv
}

/// `argv` with its output (`-o X`) replaced by `output`, an absolute path: the in-process link
/// does not run in the world directory.
fn with_output(argv: &[String], output: &Path) -> Vec<String> {
    let mut v = argv.to_vec();
    let i = v.iter().position(|a| a == "-o").expect("-o in the arguments");
    v[i + 1] = output.to_str().unwrap().to_string();
    v
}

fn os_args(argv: &[String]) -> Vec<OsString> {
    argv.iter().map(OsString::from).collect()
}

/// The `rivet-ld` binary of this build, whatever `RIVET_TEST_LINKER` selects: the streamed
/// link is compared with rivet's own plain link.
fn rivet_ld() -> &'static str {
    env!("CARGO_BIN_EXE_rivet-ld-under-test")
}

/// Links `argv` with the `rivet-ld` binary into the linker-under-test's world as `out`.
fn plain_link(t: &Test, argv: &[String], out: &str) -> Output {
    let mut cmd = Command::new(rivet_ld());
    cmd.args(with_output(argv, &t.out(out))).current_dir(t.world_dir(World::Test));
    rivet_tests::run_command(&mut cmd, TOOL_TIMEOUT, t.root())
}

/// The captured arguments of one program, ready for plain and streamed links.
struct Program<'t> {
    t: &'t Test,
    argv: Vec<String>,
    /// The program linked through gcc (in both worlds).
    name: String,
    /// The plain link's output (in the linker-under-test's world).
    plain: String,
    expected: String,
}

impl<'t> Program<'t> {
    /// Links `gcc args -o name` with the linker under test and with GNU ld, runs both (which
    /// must agree and print `expected`), captures gcc's linker arguments and links them with
    /// the `rivet-ld` binary as `<name>.plain`.
    fn new(t: &'t Test, name: &str, args: &[&str], expected: &str) -> Program<'t> {
        t.link(name, args);
        t.run_expect(name, &[], expected);
        let argv = gcc_linker_args(t, args, name);
        let plain = format!("{name}.plain");
        let o = plain_link(t, &argv, &plain);
        assert!(o.success(), "the plain rivet-ld link failed: {o}");
        Program { t, argv, name: name.to_string(), plain, expected: expected.to_string() }
    }

    /// Streams the link into `out` (in the linker-under-test's world) and requires success.
    fn stream(&self, out: &str, stream: Stream) -> Streamed {
        let s = stream_link(os_args(&with_output(&self.argv, &self.t.out(out))), stream);
        assert!(s.result.is_ok(), "the streamed link {out} failed: {:?}\narrival order: {:#?}", s.result, s.arrived);
        s
    }

    /// Asserts that `out` is byte-identical to the plain link, and that it runs and prints what
    /// the program linked by GNU ld prints.
    fn check(&self, out: &str, s: &Streamed) {
        let t = self.t;
        let plain = std::fs::read(t.out(&self.plain)).unwrap();
        let streamed = std::fs::read(t.out(out)).unwrap_or_else(|e| panic!("no output {out}: {e}"));
        let order: Vec<String> = s.arrived.iter().map(|i| format!("{} {}", i.position, i.file_name())).collect();
        assert!(
            plain == streamed,
            "{out} ({} bytes) differs from the plain rivet-ld link {} ({} bytes); arrival order (position name): {order:#?}",
            streamed.len(),
            self.plain,
            plain.len()
        );
        let ran = t.run_in(World::Test, out, &[], &[]);
        rivet_tests::assert_stdout(&ran, 0, &self.expected);
        let reference = t.run_in(World::Ref, &self.name, &[], &[]);
        assert_eq!((ran.code, &ran.stdout), (reference.code, &reference.stdout), "differs from GNU ld's program");
    }
}

/// The `multi` program (three objects, crt files, libc through its linker script): about a
/// dozen inputs of every kind (objects, an archive, shared objects).
fn multi_program(t: &Test) -> Program<'_> {
    let objs: Vec<String> = MULTI_SOURCES.iter().map(|s| t.cc(s, &["-O2"])).collect();
    let args: Vec<&str> = objs.iter().map(String::as_str).collect();
    let p = Program::new(t, "multi", &args, &multi_expected(false));
    // The arrival orders below mean something only if there are inputs to reorder.
    let inputs = stream_link_inputs(&p.argv);
    assert!(inputs.len() >= 8, "expected crt files, objects, libc and more: {inputs:#?}");
    for kind in [FileKind::Object, FileKind::Archive, FileKind::SharedObject] {
        assert!(inputs.iter().any(|i| i.kind == kind), "no {kind:?} among the inputs: {inputs:#?}");
    }
    p
}

/// The inputs `load_inputs` finds for `argv`, in canonical order.
fn stream_link_inputs(argv: &[String]) -> Vec<InputInfo> {
    let config = parse_args(&os_args(argv)).expect("arguments parse");
    let arena = FileArena::default();
    let inputs = load_inputs(&config, &arena).expect("inputs load");
    inputs.iter().map(|f| InputInfo { position: f.position, path: f.path.clone(), kind: f.kind }).collect()
}

/// Inputs handed to the session in reverse canonical order, and in several seeded shuffles,
/// with short pauses between adds so that they interleave with the parsing of earlier ones,
/// give exactly the bytes of the plain rivet-ld link, and the program runs as GNU ld's does.
#[test]
fn reverse_and_shuffled_arrival_give_the_plain_links_bytes() {
    let t = test_env!("stream_reverse_and_shuffled");
    let p = multi_program(&t);
    let s = p.stream("reversed", Stream::new(reversed()));
    assert!(s.arrived.windows(2).all(|w| w[0].position > w[1].position), "{:#?}", s.arrived);
    p.check("reversed", &s);
    for seed in [1, 7, 1234] {
        let out = format!("shuffled{seed}");
        let mut stream = Stream::new(shuffled(seed));
        stream.pause = Duration::from_millis(seed % 5);
        let s = p.stream(&out, stream);
        assert!(s.arrived.windows(2).any(|w| w[0].position > w[1].position), "seed {seed} did not shuffle");
        p.check(&out, &s);
    }
    // No pauses at all: every add lands while the parse jobs of the others still run.
    let mut stream = Stream::new(shuffled(99));
    stream.pause = Duration::ZERO;
    let s = p.stream("burst", stream);
    p.check("burst", &s);
}

/// An archive whose members only a late object needs: the archive, libc and the crt files
/// arrive first, the object that references the member last (it comes before the archive on
/// the command line). The member and the member it needs in turn are pulled, an unreferenced
/// member is not, and the bytes are the plain link's.
#[test]
fn archive_member_needed_only_by_the_last_object() {
    let t = test_env!("stream_archive_member_late_object");
    let main = t.cc("stream_arch_main.c", &["-O1"]);
    let members: Vec<String> =
        ["stream_helper.c", "stream_member.c", "stream_unused.c"].iter().map(|s| t.cc(s, &["-O1"])).collect();
    let lib = t.ar("libstream.a", &[&members[0], &members[1], &members[2]]);
    let p = Program::new(&t, "archprog", &[&main, &lib], "stream_member_fn(7) = 121\n");
    let s = p.stream("archprog.streamed", Stream::new(last(&["stream_arch_main.o"])));
    let arrived: Vec<String> = s.arrived.iter().map(InputInfo::file_name).collect();
    assert_eq!(arrived.last().map(String::as_str), Some("stream_arch_main.o"), "{arrived:?}");
    let archive_at = arrived.iter().position(|n| n == "libstream.a").expect("the archive is an input");
    assert!(archive_at < arrived.len() - 1, "{arrived:?}");
    p.check("archprog.streamed", &s);
    let nm = t.nm("archprog.streamed");
    assert!(nm_defines(&nm, "stream_member_fn") && nm_defines(&nm, "stream_helper_fn"), "members missing:\n{nm}");
    assert!(!nm_has(&nm, "stream_unused_fn"), "an unreferenced member was linked:\n{nm}");
}

/// Under --gc-sections, a late object makes a section live that no earlier input references:
/// early objects built with -ffunction-sections define functions and data nobody else uses;
/// the object that arrives last calls one of them. The output is the plain link's, the call
/// works, and the unreferenced functions and data are still collected.
#[test]
fn late_object_makes_a_dead_section_live_under_gc_sections() {
    let t = test_env!("stream_gc_late_object");
    let f = ["-O1", "-ffunction-sections", "-fdata-sections"];
    let lib = t.cc("stream_gc_lib.c", &f);
    let other = t.cc("stream_gc_other.c", &f);
    let main = t.cc("stream_gc_main.c", &f);
    let p = Program::new(&t, "gcprog", &["-Wl,--gc-sections", &lib, &other, &main], "stream_gc_kept: 22 66 44\n");
    assert!(p.argv.iter().any(|a| a == "--gc-sections"), "{:?}", p.argv);
    let s = p.stream("gcprog.streamed", Stream::new(last(&["stream_gc_main.o"])));
    p.check("gcprog.streamed", &s);
    let nm = t.nm("gcprog.streamed");
    assert!(nm_defines(&nm, "stream_gc_kept") && nm_defines(&nm, "stream_gc_table"), "live symbols missing:\n{nm}");
    for gone in ["stream_gc_dropped_a", "stream_gc_dropped_b", "stream_gc_dropped_c", "stream_gc_dropped_table"] {
        assert!(!nm_has(&nm, gone), "{gone} survived --gc-sections:\n{nm}");
    }
    // Without --gc-sections they are there, so the check above means something.
    let full = gcc_linker_args(&t, &[&lib, &other, &main], "gcfull");
    let o = plain_link(&t, &full, "gcfull");
    assert!(o.success(), "{o}");
    assert!(nm_defines(&t.nm("gcfull"), "stream_gc_dropped_a"));
}

/// The entries of a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Streams a link that must fail because of the input `bad`, which arrives last: the error
/// comes back from `add` or `finish` (no hang, no panic), names `bad`, and no output (nor
/// temporary file) is left behind. The plain rivet-ld link of the same arguments fails too,
/// with status 1 and a message naming `bad`.
fn check_late_error(t: &Test, argv: &[String], bad: &str, also_named: &[&str]) -> String {
    let dir = t.world_dir(World::Test);
    let before = listing(&dir);
    let out = t.out("broken");
    let s = stream_link(os_args(&with_output(argv, &out)), Stream::new(last(&[bad])));
    assert_eq!(s.arrived.last().map(InputInfo::file_name).as_deref(), Some(bad), "{:#?}", s.arrived);
    let message = match s.result {
        Ok(()) => panic!("the streamed link succeeded although {bad} is bad"),
        Err(m) => m,
    };
    assert!(!message.starts_with("PANIC"), "{message}");
    for name in std::iter::once(&bad).chain(also_named) {
        assert!(message.contains(name), "the error does not name {name}: {message}");
    }
    assert!(!out.exists(), "a failed streamed link left {} behind", out.display());
    assert_eq!(listing(&dir), before, "a failed streamed link left files behind");
    let o = plain_link(t, argv, "broken");
    assert_eq!(o.code, Some(1), "{o}");
    assert!(o.stderr.contains(bad), "{o}");
    assert!(!out.exists(), "a failed plain link left {} behind", out.display());
    message
}

/// An error in the input that arrives last is returned by the session, not a hang or a panic:
/// a truncated object (its section headers cut off), and an object that defines a symbol an
/// earlier one already defines. Each message names the file; no output is left behind.
#[test]
fn an_error_in_the_last_input_is_returned_and_leaves_no_output() {
    let t = test_env!("stream_late_error");
    // A truncated object: the first part of a real one, its section headers gone.
    let objs: Vec<String> = MULTI_SOURCES.iter().map(|s| t.cc(s, &["-O2"])).collect();
    let whole = std::fs::read(&objs[2]).unwrap();
    let truncated = t.write("stream_truncated.o", &whole[..whole.len() / 2]);
    let argv = gcc_linker_args(&t, &[&objs[0], &objs[1], &truncated], "broken");
    let m = check_late_error(&t, &argv, "stream_truncated.o", &[]);
    println!("truncated object: {m}");

    // A duplicate definition in the last input.
    let a = t.cc("dup_a.c", &[]);
    let b = t.cc("dup_b.c", &[]);
    let argv = gcc_linker_args(&t, &[&a, &b], "broken");
    let m = check_late_error(&t, &argv, "dup_b.o", &["dup_a.o", "dup_sym"]);
    println!("duplicate symbol: {m}");
}

/// One worker thread and two give the same bytes for the same arrival order (and both are
/// the plain link's).
#[test]
fn one_and_two_threads_give_the_same_bytes() {
    let t = test_env!("stream_thread_counts");
    let p = multi_program(&t);
    for threads in [1, 2] {
        for (name, arrival) in [("reversed", reversed()), ("shuffled", shuffled(42))] {
            let out = format!("{name}.t{threads}");
            let mut stream = Stream::new(arrival);
            stream.threads = threads;
            let s = p.stream(&out, stream);
            p.check(&out, &s);
        }
    }
    for name in ["reversed", "shuffled"] {
        let one = std::fs::read(t.out(&format!("{name}.t1"))).unwrap();
        let two = std::fs::read(t.out(&format!("{name}.t2"))).unwrap();
        assert!(one == two, "{name}: 1 and 2 threads differ");
    }
}
