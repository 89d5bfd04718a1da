//! Command-line options: -e, --defsym, -u, --no-undefined, -Map, @response files,
//! -rpath and new dtags, --sysroot, -l:file, -Bstatic/-Bdynamic, --push-state/--pop-state,
//! and output determinism (also across --threads).

use rivet_tests::{Driver, Test, World, assert_stdout, nm_address, nm_defines, test_env};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// -e custom_entry: the ELF entry point is custom_entry, which runs instead of _start/main.
#[test]
fn entry_point_option() {
    let t = test_env!("entry_point_option");
    let o = t.cc("entry.c", &["-O1"]);
    t.link("entry", &[&o, "-Wl,-e,custom_entry"]);
    let r = t.run("entry", &[]);
    assert_stdout(&r, 7, "custom entry reached\n");
    let h = t.readelf("-h", "entry");
    let entry = h
        .lines()
        .find_map(|l| l.trim().strip_prefix("Entry point address:"))
        .map(|v| u64::from_str_radix(v.trim().trim_start_matches("0x"), 16).unwrap())
        .expect("entry point");
    assert_eq!(Some(entry), nm_address(&t.nm("entry"), "custom_entry"), "{h}");
    // --entry= long form.
    t.link("entry2", &[&o, "-Wl,--entry=custom_entry"]);
    assert_stdout(&t.run("entry2", &[]), 7, "custom entry reached\n");
}

/// --defsym=sym=other defines an alias (PIE); --defsym=sym=0x1234 an absolute symbol and
/// --defsym=sym=expr+0x10 an expression (non-PIE, so the value is used as an address).
#[test]
fn defsym_option() {
    let t = test_env!("defsym_option");
    let o = t.cc("defsym_main.c", &["-O1"]);
    t.link("defsym_pie", &[&o, "-Wl,--defsym=aliased_fn=real_impl"]);
    t.run_expect("defsym_pie", &[], "aliased_fn(3) = 33, same function: yes\n");
    let o2 = t.cc_as("defsym_main.c", "defsym_magic.o", &["-O1", "-fno-pic", "-DWITH_MAGIC"]);
    t.link(
        "defsym_nopie",
        &[
            "-no-pie",
            &o2,
            "-Wl,--defsym=aliased_fn=real_impl",
            "-Wl,--defsym=magic_value=0x1234",
            "-Wl,--defsym=magic_plus=magic_value+0x10",
        ],
    );
    t.run_expect(
        "defsym_nopie",
        &[],
        "aliased_fn(3) = 33, same function: yes\nmagic_value = 0x1234, magic_plus = 0x1244\n",
    );
    let nm = t.nm("defsym_nopie");
    assert_eq!(nm_address(&nm, "magic_value"), Some(0x1234), "{nm}");
}

/// -u sym makes the linker pull the archive member defining sym although nothing
/// references it (its constructor runs).
#[test]
fn undefined_option_pulls_archive_member() {
    let t = test_env!("undefined_option_pulls_archive_member");
    let main = t.cc("arch_main.c", &[]);
    let m: Vec<String> = ["arch_dep.c", "arch_used.c", "arch_unused.c"].iter().map(|s| t.cc(s, &[])).collect();
    let lib = t.ar("libarch.a", &[&m[0], &m[1], &m[2]]);
    t.link("with_u", &["-Wl,-u,force_me", &main, &lib]);
    t.run_expect("with_u", &[], "unused member linked\nused_fn(5) = 210\n");
    assert!(nm_defines(&t.nm("with_u"), "unused_fn"));
    t.link("with_undefined", &["-Wl,--undefined=force_me", &main, &lib]);
    t.run_expect("with_undefined", &[], "unused member linked\nused_fn(5) = 210\n");
    t.link("without_u", &[&main, &lib]);
    t.run_expect("without_u", &[], "used_fn(5) = 210\n");
    assert!(!nm_defines(&t.nm("without_u"), "unused_fn"));
}

/// A shared library with an undefined symbol links by default, but fails with
/// --no-undefined or -z defs (no output file left).
#[test]
fn no_undefined_shared_library() {
    let t = test_env!("no_undefined_shared_library");
    let o = t.cc("shlib_undef.c", &["-fPIC"]);
    t.link("libundef.so", &["-shared", &o]);
    let e = t.link_fails("libundef_strict.so", &["-shared", &o, "-Wl,--no-undefined"]);
    if t.linker_is_rivet() {
        assert!(e.stderr.contains("missing_symbol_xyz"), "{e}");
    }
    t.link_fails("libundef_defs.so", &["-shared", &o, "-Wl,-z,defs"]);
}

/// -Map=file writes a link map naming the input objects, output sections and symbols.
#[test]
fn map_file() {
    let t = test_env!("map_file");
    let m = t.cc("greet_main.c", &[]);
    let l = t.cc("greet_lib.c", &[]);
    t.link("prog", &[&m, &l, "-Wl,-Map=prog.map"]);
    t.link("prog2", &[&m, &l, "-Wl,-Map,prog2.map"]);
    for f in ["prog.map", "prog2.map"] {
        let map = std::fs::read_to_string(t.out(f)).unwrap_or_else(|e| panic!("map file {f} not created: {e}"));
        for needle in ["greet_main.o", "greet_lib.o", ".text", "main", "greet"] {
            assert!(map.contains(needle), "{f} does not mention {needle}:\n{map}");
        }
    }
    t.run("prog", &[]);
}

const NOLIBC_FLAGS: [&str; 5] = ["-O1", "-fno-pic", "-ffreestanding", "-fno-stack-protector", "-fno-builtin"];

/// Response files: `-Wl,@file` through gcc (which hands the linker its whole command line
/// in a temporary response file with backslash escapes), and `ld @file` directly with
/// quoting, an argument containing a space and a nested @file.
#[test]
fn response_files() {
    let t = test_env!("response_files");
    let m = t.cc("defsym_main.c", &[]);
    t.write_in_worlds("gcc.rsp", "--defsym=aliased_fn=real_impl\n-Map \"map with space.txt\"\n");
    t.link("via_gcc", &[&m, "-Wl,@gcc.rsp"]);
    t.run_expect("via_gcc", &[], "aliased_fn(3) = 33, same function: yes\n");
    assert!(t.out("map with space.txt").is_file(), "map file from the response file missing");

    let a = t.cc("nolibc_main.c", &NOLIBC_FLAGS);
    let b = t.cc("nolibc_util.c", &NOLIBC_FLAGS);
    t.write_in_worlds("inner.rsp", format!("'{b}'\n-static\n"));
    t.write_in_worlds("outer.rsp", format!("-o \"direct prog\" -e _start\n{a} @inner.rsp\n"));
    for w in [World::Test, World::Ref] {
        let o = t.ld_in(w, &["@outer.rsp"]);
        assert!(o.success(), "{o}");
    }
    let o = t.run("direct prog", &[]);
    assert_stdout(&o, 42, "direct link works\n60\n");
}

/// The output can be run the moment the linker returns. rivet-ld links in a child process
/// that reports success to the waiting parent; a file still mapped for writing cannot be
/// executed (ETXTBSY), so the output must be unmapped before success is reported. A large
/// output makes the unmapping slow enough to catch.
#[test]
fn output_runs_the_moment_the_linker_returns() {
    let t = test_env!("output_runs_the_moment_the_linker_returns");
    let a = t.cc("nolibc_main.c", &NOLIBC_FLAGS);
    let b = t.cc("nolibc_util.c", &NOLIBC_FLAGS);
    let big = t.cc("big_data.c", &[]);
    for _ in 0..10 {
        let o = t.ld(&["-static", "-e", "_start", "-o", "prog", &a, &b, &big]);
        assert!(o.success(), "{o}");
        assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 42, "direct link works\n60\n");
    }
}

/// -rpath: the program finds its library through DT_RPATH/DT_RUNPATH without
/// LD_LIBRARY_PATH; --enable-new-dtags gives DT_RUNPATH, --disable-new-dtags DT_RPATH;
/// $ORIGIN works.
#[test]
fn rpath_and_runpath() {
    let t = test_env!("rpath_and_runpath");
    let l = t.cc("greet_lib.c", &["-fPIC"]);
    t.mkdir_in_worlds("libs");
    t.link("libs/libgreet.so", &["-shared", &l]);
    let m = t.cc("greet_main.c", &[]);
    let expected = "Hello, linker! (init=1)\nHello, world! (init=1)\ngreet_calls = 2\ngreet_apply = 71\n";
    let no_ldpath = [("LD_LIBRARY_PATH", "")];
    let cases: [(&str, &str, Option<&str>); 4] = [
        ("prog_default", "-Wl,-rpath,{world}/libs", None),
        ("prog_new", "-Wl,-rpath,{world}/libs,--enable-new-dtags", Some("RUNPATH")),
        ("prog_old", "-Wl,-rpath,{world}/libs,--disable-new-dtags", Some("RPATH")),
        ("prog_origin", "-Wl,-rpath,$ORIGIN/libs", None),
    ];
    for (prog, flag, want) in cases {
        t.link(prog, &[&m, "-Llibs", "-lgreet", flag]);
        let o = t.run_env(prog, &[], &no_ldpath);
        assert_stdout(&o, 0, expected);
        let d = t.dynamic_entries(prog);
        let tags: Vec<&str> = d.iter().filter(|(_, v)| v.contains("/libs]")).map(|(k, _)| k.as_str()).collect();
        assert_eq!(tags.len(), 1, "{prog}: {d:?}");
        match want {
            Some(w) => assert_eq!(tags[0], w, "{prog}: {d:?}"),
            // The default differs between builds of GNU ld (upstream: DT_RPATH; Debian's
            // binutils is configured with --enable-new-dtags) and lld (DT_RUNPATH).
            None => assert!(tags[0] == "RPATH" || tags[0] == "RUNPATH", "{prog}: {d:?}"),
        }
    }
    // Without rpath the program does not find the library.
    t.link("prog_norpath", &[&m, "-Llibs", "-lgreet"]);
    let o = t.run_env("prog_norpath", &[], &no_ldpath);
    assert_eq!(o.code, Some(127), "{o}");
}

/// --sysroot: `-L=/dir` is relative to the sysroot, and an absolute path inside a linker
/// script that lives in the sysroot is looked up in the sysroot too.
#[test]
fn sysroot_option() {
    let t = test_env!("sysroot_option");
    let main = t.cc("arch_main.c", &[]);
    let m: Vec<String> = ["arch_dep.c", "arch_used.c"].iter().map(|s| t.cc(s, &[])).collect();
    let lib = t.ar("libsr_impl.a", &[&m[0], &m[1]]);
    t.copy_to_worlds(&lib, "sysroot/usr/lib/rivet/libsr_impl.a");
    // libsr.so is a linker script (like glibc's libc.so) naming an absolute path.
    t.write_in_worlds("sysroot/usr/lib/rivet/libsr.so", "/* GNU ld script */\nGROUP ( /usr/lib/rivet/libsr_impl.a )\n");
    t.link("prog", &[&main, "-Wl,--sysroot={world}/sysroot", "-Wl,-L=/usr/lib/rivet", "-lsr"]);
    t.run_expect("prog", &[], "used_fn(5) = 210\n");
    // GNU ld also accepts a $SYSROOT prefix like '=' (lld does not).
    if t.linker_is_lld() {
        return;
    }
    t.link("prog2", &[&main, "-Wl,--sysroot={world}/sysroot", "-Wl,-L$SYSROOT/usr/lib/rivet", "-lsr_impl"]);
    t.run_expect("prog2", &[], "used_fn(5) = 210\n");
}

/// Builds libfoo.a (says "static") and libfoo.so (says "shared") side by side in both worlds.
fn build_foo_pair(t: &Test) -> String {
    let s = t.cc("foo_static.c", &[]);
    let lib = t.ar("libfoo.a", &[&s]);
    t.copy_to_worlds(&lib, "libfoo.a");
    let d = t.cc("foo_shared.c", &["-fPIC"]);
    t.link("libfoo.so", &["-shared", &d]);
    t.cc("foo_main.c", &[])
}

/// -lfoo prefers libfoo.so; -l:libfoo.a names the exact file.
#[test]
fn exact_library_name() {
    let t = test_env!("exact_library_name");
    let main = build_foo_pair(&t);
    t.link("dyn", &[&main, "-L.", "-lfoo"]);
    t.run_expect("dyn", &[], "foo says: shared\n");
    assert!(t.needed("dyn").contains(&"libfoo.so".to_string()));
    t.link("exact", &[&main, "-L.", "-l:libfoo.a"]);
    t.run_expect("exact", &[], "foo says: static\n");
    assert!(!t.needed("exact").contains(&"libfoo.so".to_string()));
    t.link("exact_so", &[&main, "-L.", "-l:libfoo.so"]);
    t.run_expect("exact_so", &[], "foo says: shared\n");
}

/// -Bstatic -lfoo -Bdynamic picks libfoo.a while the rest stays dynamic (libc).
#[test]
fn bstatic_bdynamic() {
    let t = test_env!("bstatic_bdynamic");
    let main = build_foo_pair(&t);
    t.link("prog", &[&main, "-L.", "-Wl,-Bstatic", "-lfoo", "-Wl,-Bdynamic"]);
    t.run_expect("prog", &[], "foo says: static\n");
    let needed = t.needed("prog");
    assert!(!needed.contains(&"libfoo.so".to_string()), "{needed:?}");
    assert!(needed.contains(&"libc.so.6".to_string()), "{needed:?}");
    assert!(nm_defines(&t.nm("prog"), "foo_flavour"));
    // -Bstatic with only a .so available fails: -Bstatic does not search for .so files.
    t.mkdir_in_worlds("onlyso");
    t.copy_in_worlds("libfoo.so", "onlyso/libbar.so");
    t.link_fails("prog_fail", &[&main, "-Lonlyso", "-Wl,-Bstatic", "-lbar", "-Wl,-Bdynamic"]);
}

/// --push-state,--as-needed ... --pop-state limits --as-needed to the libraries between.
#[test]
fn push_pop_state() {
    let t = test_env!("push_pop_state");
    let u = t.cc("unused_lib.c", &["-fPIC"]);
    t.link("libunusedA.so", &["-shared", &u]);
    t.link("libunusedB.so", &["-shared", &u]);
    let main = t.cc("foo_main.c", &[]);
    let s = t.cc("foo_static.c", &[]);
    t.link(
        "prog",
        &[
            &main,
            &s,
            "-L.",
            "-Wl,--no-as-needed",
            "-Wl,--push-state,--as-needed",
            "-lunusedA",
            "-Wl,--pop-state",
            "-lunusedB",
        ],
    );
    t.run_expect("prog", &[], "foo says: static\n");
    let n = t.needed("prog");
    assert!(!n.contains(&"libunusedA.so".to_string()), "{n:?}");
    assert!(n.contains(&"libunusedB.so".to_string()), "{n:?}");
}

fn determinism_inputs(t: &Test) -> Vec<String> {
    let mut v: Vec<String> = ["multi_main.c", "multi_util.c", "multi_data.c"]
        .iter()
        .map(|s| t.cc(s, &["-O2", "-fPIC", "-ffunction-sections", "-fdata-sections", "-g"]))
        .collect();
    v.push(t.cc("greet_lib.c", &["-O2", "-fPIC", "-g"]));
    v.push(t.cc("tls_other.c", &["-O2", "-fPIC"]));
    v
}

/// Linking the same inputs twice gives byte-identical outputs (build-id included).
#[test]
fn deterministic_output() {
    let t = test_env!("deterministic_output");
    let objs = determinism_inputs(&t);
    let mut args: Vec<&str> = objs.iter().map(String::as_str).collect();
    args.push("-Wl,--build-id=sha1");
    t.link("a", &args);
    t.link("b", &args);
    let a = std::fs::read(t.out("a")).unwrap();
    let b = std::fs::read(t.out("b")).unwrap();
    assert!(a == b, "two identical links produced different files");
}

/// rivet-specific: --threads=1 and --threads=2 produce byte-identical outputs (skipped for
/// ld.bfd, which has no --threads option).
#[test]
fn deterministic_across_thread_counts() {
    let t = test_env!("deterministic_across_thread_counts");
    if t.linker_is_bfd() {
        println!("SKIP: ld.bfd has no --threads option");
        return;
    }
    let objs = determinism_inputs(&t);
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        for kind in ["exe", "so"] {
            let out = format!("{kind}_threads{threads}");
            let mut args: Vec<String> = objs.clone();
            args.push(format!("-Wl,--threads={threads}"));
            args.push("-Wl,--build-id=sha1".into());
            if kind == "so" {
                args.retain(|a| !a.ends_with("multi_main.o"));
                args.push("-shared".into());
            }
            let o = t.try_link_in(World::Test, rivet_tests::Driver::Gcc, &out, &rivet_tests::strs(&args));
            assert!(o.success(), "{o}");
            outputs.push((out.clone(), std::fs::read(t.out(&out)).unwrap()));
        }
    }
    assert!(outputs[0].1 == outputs[2].1, "executable differs between --threads=1 and 2");
    assert!(outputs[1].1 == outputs[3].1, "shared library differs between --threads=1 and 2");
    let o = t.run_in(World::Test, "exe_threads2", &[], &[]);
    assert!(o.success() && o.stdout.contains("sorted: 3 5 7 19 23 42 61 88"), "{o}");
}

/// A program that prints a greeting from libgreet.so, waits for its standard input to close,
/// then prints another.
const WAITING_MAIN: &str = r#"#include <stdio.h>
#include <unistd.h>
const char *greet(const char *name);
int main(void) {
    char c;
    puts(greet("before"));
    fflush(stdout);
    while (read(0, &c, 1) > 0) {}
    puts(greet("after"));
    return 0;
}
"#;

/// Starts `prog` of the linker-under-test's world and waits for its first line.
fn start_waiting(t: &Test, prog: &str) -> (std::process::Child, std::io::BufReader<std::process::ChildStdout>) {
    use std::io::BufRead;
    let dir = t.out("");
    let mut child = std::process::Command::new(dir.join(prog))
        .env("LD_LIBRARY_PATH", &dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start program");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "Hello, before! (init=1)\n");
    (child, out)
}

/// Lets a program from [`start_waiting`] finish; checks it ran to the end unharmed.
fn finish_waiting(mut child: std::process::Child, mut out: std::io::BufReader<std::process::ChildStdout>) {
    use std::io::Read;
    drop(child.stdin.take());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success() && rest == "Hello, after! (init=1)\n", "{status}: {rest:?}");
}

/// An existing output is replaced whole, whatever was there: a larger file of other bytes
/// (the result equals a fresh link's, byte for byte); the executable while it runs, and the
/// shared library a running program has loaded, relinked with other contents (both programs
/// go on unharmed); a file with a second name (that name keeps the old bytes); and, with
/// rivet-ld, one of the link's own inputs (the output equals that of a separate link).
#[test]
fn existing_outputs_are_replaced() {
    let t = test_env!("existing_outputs_are_replaced");
    let main = t.write("waiting_main.c", WAITING_MAIN);
    let main = t.cc_as(&main, "waiting_main.o", &["-O1"]);
    let lib = t.cc("greet_lib.c", &["-O1", "-fPIC"]);
    let padding = t.cc("multi_util.c", &["-O1", "-fPIC"]);
    let prog_args = [main.as_str(), "-L{world}", "-lgreet", "-Wl,--build-id=sha1"];
    t.link("libgreet.so", &["-shared", &lib]);
    t.link("fresh", &prog_args);
    let fresh = std::fs::read(t.out("fresh")).unwrap();

    let old: Vec<u8> = (0..fresh.len() * 2 + 12345).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(t.out("prog"), &old).unwrap();
    std::fs::hard_link(t.out("prog"), t.out("prog_other_name")).unwrap();
    t.link("prog", &prog_args);
    assert!(std::fs::read(t.out("prog_other_name")).unwrap() == old, "the output's other name changed");
    std::fs::remove_file(t.out("prog_other_name")).unwrap();
    std::fs::write(t.out("prog"), &old).unwrap();
    t.link("prog", &prog_args);
    assert!(std::fs::read(t.out("prog")).unwrap() == fresh, "relinking over other bytes differs from a fresh link");

    let (child, out) = start_waiting(&t, "prog");
    t.link("prog", &prog_args);
    t.link("libgreet.so", &["-shared", &padding, &lib]);
    finish_waiting(child, out);
    assert!(std::fs::read(t.out("prog")).unwrap() == fresh, "relinking a running program differs from a fresh link");
    t.run_expect("prog", &[], "Hello, before! (init=1)\nHello, after! (init=1)\n");

    // rivet-specific (GNU ld refuses it): the output replaces one of its own inputs, which is
    // read while the output is written.
    if t.linker_is_rivet() {
        let main = t.cc("nolibc_main.c", &NOLIBC_FLAGS);
        let util = t.ar("libutil.a", &[&t.cc("nolibc_util.c", &NOLIBC_FLAGS)]);
        std::fs::copy(&util, t.out("self.a")).unwrap();
        let link = |out: &str, archive: &str| {
            let o = t.ld(&["-static", "-e", "_start", "-o", out, &main, archive]);
            assert!(o.success(), "{o}");
            std::fs::read(t.out(out)).unwrap()
        };
        let separate = link("separate", &util);
        assert!(link("self.a", "self.a") == separate, "an output written over its own input differs");
        assert_stdout(&t.run_in(World::Test, "self.a", &[], &[]), 42, "direct link works\n60\n");
    }
}

/// rivet-specific: a link whose mapped inputs reach 32 MiB runs with glibc's heap
/// in transparent huge pages (rivet-ld reserves the `brk` heap with `mallopt`, then marks the
/// heaps `MADV_HUGEPAGE`; `--time` says so), and links exactly as a link kept from it by the
/// user's own setting; a small link does not, and neither does a link where the kernel
/// reports free pages to a hypervisor (a virtio balloon with free page reporting, bit 5 of
/// its features), which drops them: there huge pages cost more than they save, unless
/// `RIVET_HUGE_PAGES=1` asks for them.
#[test]
fn large_links_use_huge_pages() {
    let t = test_env!("large_links_use_huge_pages");
    if !t.linker_is_rivet() {
        println!("SKIP: rivet-ld's own heap setting");
        return;
    }
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    if !thp.contains("[always]") && !thp.contains("[madvise]") {
        println!("SKIP: transparent huge pages are off on this machine ({thp:?})");
        return;
    }
    // An archive may hold anything: 40 MiB of data that no link uses counts as input bytes.
    let bulk = t.write("bulk.bin", vec![b'x'; 40 << 20]);
    let archive = t.ar("libbulk.a", &[&bulk]);
    let main = t.cc("greet_main.c", &["-O1"]);
    let lib = t.cc("greet_lib.c", &["-O1"]);
    let link = |out: &str, extra: &[&str], tunables: Option<&str>, asked: bool| {
        let mut cmd = std::process::Command::new("gcc");
        cmd.arg(format!("-B{}/", t.ld_path(World::Test).parent().unwrap().display()));
        cmd.args([&main, &lib]).args(extra).args(["-Wl,--time", "-Wl,--build-id=sha1", "-o"]).arg(t.out(out));
        match tunables {
            Some(v) => cmd.env("GLIBC_TUNABLES", v),
            None => cmd.env_remove("GLIBC_TUNABLES"),
        };
        match asked {
            true => cmd.env("RIVET_HUGE_PAGES", "1"),
            false => cmd.env_remove("RIVET_HUGE_PAGES"),
        };
        let o = rivet_tests::run_command(&mut cmd, rivet_tests::TOOL_TIMEOUT, t.root());
        assert!(o.success(), "{o}");
        o.stderr.contains("heap in transparent huge pages")
    };
    let reported = std::fs::read_dir("/sys/bus/virtio/devices").into_iter().flatten().flatten().any(|device| {
        let read = |file: &str| std::fs::read_to_string(device.path().join(file)).unwrap_or_default();
        read("device").trim() == "0x0005" && read("features").chars().nth(5) == Some('1')
    });
    let default = link("default", &[&archive], None, false);
    assert_eq!(default, !reported, "huge pages in a large link (free pages reported: {reported})");
    assert!(link("large", &[&archive], None, true), "RIVET_HUGE_PAGES=1 did not ask for huge pages");
    assert!(!link("pinned", &[&archive], Some("glibc.malloc.hugetlb=0"), true), "the user's setting was overridden");
    assert!(!link("small", &[], None, true), "a small link asked for huge pages");
    let large = std::fs::read(t.out("large")).unwrap();
    assert!(large == std::fs::read(t.out("pinned")).unwrap(), "the output depends on the heap's pages");
    let r = t.run_in(World::Test, "large", &[], &[]);
    assert!(r.success() && r.stdout.starts_with("Hello, linker!"), "{r}");
}

/// --reproduce=FILE.tar (lld's format): the archive holds every input the link read (crt
/// files, libc's linker script and the libraries it names, a shared library, a version
/// script) and a response file; unpacked anywhere, `rivet-ld @response.txt` relinks the same
/// bytes. A failing link writes one too, and relinking from it fails the same way. GNU ld
/// has no --reproduce.
#[test]
fn reproducer_relinks_the_same_bytes() {
    let t = test_env!("reproducer_relinks_the_same_bytes");
    if !t.linker_is_rivet() {
        return;
    }
    let lib = t.cc("greet_lib.c", &["-fPIC"]);
    t.link("libgreet.so", &["-shared", &lib]);
    let main = t.cc("greet_main.c", &[]);
    t.write_in_worlds("prog.map", "{ global: main; local: *; };\n");
    let args = [main.as_str(), "-L.", "-lgreet", "-Wl,--version-script=prog.map", "-Wl,--reproduce=repro.tar"];
    let o = t.try_link_in(World::Test, Driver::Gcc, "prog", &args);
    assert!(o.success(), "{o}");
    let expected = "Hello, linker! (init=1)\nHello, world! (init=1)\ngreet_calls = 2\ngreet_apply = 71\n";
    assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 0, expected);

    let unpacked = t.root().join("unpacked");
    let relink = |tar: &str| -> (PathBuf, rivet_tests::Output) {
        std::fs::create_dir_all(&unpacked).unwrap();
        let mut untar = Command::new("tar");
        untar.arg("xf").arg(t.out(tar)).current_dir(&unpacked);
        assert!(rivet_tests::run_command(&mut untar, Duration::from_secs(60), t.root()).success());
        let dir = unpacked.join(Path::new(tar).file_stem().unwrap());
        let mut ld = Command::new(t.ld_path(World::Test));
        ld.arg("@response.txt").current_dir(&dir);
        (dir, rivet_tests::run_command(&mut ld, Duration::from_secs(60), t.root()))
    };
    let (dir, o) = relink("repro.tar");
    assert!(o.success(), "relinking from the reproducer failed: {o}");
    let response = std::fs::read_to_string(dir.join("response.txt")).unwrap();
    assert!(response.starts_with("--chroot .\n") && response.contains("\n-o prog\n"), "{response}");
    assert!(dir.join("version.txt").is_file() && dir.join(main.trim_start_matches('/')).is_file());
    assert!(
        std::fs::read(dir.join("prog")).unwrap() == std::fs::read(t.out("prog")).unwrap(),
        "the relinked output differs from the original"
    );
    assert_stdout(&t.run_in(World::Test, &dir.join("prog").to_string_lossy(), &[], &[]), 0, expected);

    let broken = t.write("broken.c", "int missing_function(void);\nint main(void) { return missing_function(); }\n");
    let broken = t.compile_with("gcc", &broken, "broken.o", &[]);
    let o = t.try_link_in(World::Test, Driver::Gcc, "broken", &[&broken, "-Wl,--reproduce=broken.tar"]);
    assert!(!o.success() && o.stderr.contains("missing_function"), "{o}");
    let (_, again) = relink("broken.tar");
    assert!(!again.success() && again.stderr.contains("missing_function"), "{again}");
}

/// Under a make or cargo jobserver (`MAKEFLAGS=--jobserver-auth=R,W` or `=fifo:PATH`) the
/// link runs one thread for its implicit token plus one per token it could take at once (no
/// more than the cores), gives every token back, and `--threads` still wins.
#[test]
fn jobserver_limits_the_threads() {
    let t = test_env!("jobserver_limits_the_threads");
    if !t.linker_is_rivet() {
        return;
    }
    let a = t.cc("nolibc_main.c", &NOLIBC_FLAGS);
    let b = t.cc("nolibc_util.c", &NOLIBC_FLAGS);
    let cores = std::thread::available_parallelism().unwrap().get();
    // A pipe both ends of which the linker inherits, or a fifo the test holds open.
    let mut fds = [0; 2];
    // SAFETY: a plain pipe(2); its descriptors stay open (and inheritable) for the test.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let fifo = t.root().join("jobserver.fifo");
    let fifo_c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo and open on a path this test owns.
    let fifo_fd = unsafe {
        assert_eq!(libc::mkfifo(fifo_c.as_ptr(), 0o600), 0);
        libc::open(fifo_c.as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC)
    };
    assert!(fifo_fd >= 0);
    let styles = [
        (format!("-j --jobserver-auth={},{}", fds[0], fds[1]), fds[0], fds[1]),
        (format!("-j --jobserver-auth=fifo:{}", fifo.display()), fifo_fd, fifo_fd),
    ];
    for (makeflags, read_fd, write_fd) in &styles {
        for (tokens, threads_option, expected) in [(0, None, 1), (3, None, cores.min(4)), (0, Some("--threads=2"), 2)] {
            // SAFETY: writes `tokens` bytes into the jobserver this test made.
            assert_eq!(unsafe { libc::write(*write_fd, b"+++".as_ptr().cast(), tokens) }, tokens as isize);
            let mut cmd = Command::new(t.ld_path(World::Test));
            cmd.args(["--time", "-static", "-e", "_start", "-o", "prog", &a, &b]).args(threads_option);
            cmd.current_dir(t.world_dir(World::Test)).env("MAKEFLAGS", makeflags).env_remove("CARGO_MAKEFLAGS");
            let o = rivet_tests::run_command(&mut cmd, Duration::from_secs(60), t.root());
            let context = format!("{makeflags} with {tokens} tokens, {threads_option:?}");
            assert!(o.success(), "{context}: {o}");
            assert!(o.stderr.contains(&format!("rivet-ld: threads: {expected} (")), "{context}: {}", o.stderr);
            assert_stdout(&t.run_in(World::Test, "prog", &[], &[]), 42, "direct link works\n60\n");
            let mut back = [0u8; 8];
            // SAFETY: a non-blocking read of what is left in the jobserver (the pipe: made
            // non-blocking for the read).
            let got = unsafe {
                libc::fcntl(*read_fd, libc::F_SETFL, libc::O_NONBLOCK);
                libc::read(*read_fd, back.as_mut_ptr().cast(), back.len())
            };
            assert_eq!(got.max(0), tokens as isize, "{context}: tokens not given back");
            // SAFETY: back to blocking, as a jobserver's reader expects.
            unsafe { libc::fcntl(*read_fd, libc::F_SETFL, 0) };
        }
    }
    // SAFETY: closes the descriptors this test opened.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
        libc::close(fifo_fd);
    }
}

/// --wrap=sym: undefined references to `sym` bind to `__wrap_sym`, and `__real_sym` to the
/// real `sym`; the definition keeps its name. Differential against GNU ld.
#[test]
fn wrap_option() {
    let t = test_env!("wrap_option");
    let lib = t.write("wrapped.c", "int compute(int x) { return x * 2; }\n");
    let lib = t.compile_with("gcc", &lib, "wrapped.o", &[]);
    let main = t.write(
        "wrap_main.c",
        "#include <stdio.h>\nint compute(int);\nint __real_compute(int);\n\
         int __wrap_compute(int x) { printf(\"wrapped %d\\n\", x); return __real_compute(x) + 1; }\n\
         int main(void) { printf(\"%d\\n\", compute(20)); return 0; }\n",
    );
    let main = t.compile_with("gcc", &main, "wrap_main.o", &[]);
    t.link("prog", &[&main, &lib, "-Wl,--wrap=compute"]);
    t.run_expect("prog", &[], "wrapped 20\n41\n");
    t.link("plain", &[&main, &lib, "-Wl,--defsym=__real_compute=compute"]);
    t.run_expect("plain", &[], "40\n");
}

/// -y/--trace-symbol: every input that defines or references the symbol, in input order,
/// as lld prints it (`file: definition of sym`), including a shared library's definition.
#[test]
fn trace_symbol_option() {
    let t = test_env!("trace_symbol_option");
    if !t.linker_is_rivet() {
        return;
    }
    let a = t.write("trace_def.c", "int traced(int x) { return x + 1; }\n");
    let a = t.compile_with("gcc", &a, "trace_def.o", &[]);
    let b = t.write(
        "trace_use.c",
        "#include <stdio.h>\nint traced(int);\nint main(void) { printf(\"%d\\n\", traced(1)); return 0; }\n",
    );
    let b = t.compile_with("gcc", &b, "trace_use.o", &[]);
    let o = t.try_link_in(World::Test, Driver::Gcc, "prog", &[&a, &b, "-Wl,-y,traced", "-Wl,--trace-symbol=printf"]);
    assert!(o.success(), "{o}");
    let lines: Vec<&str> = o.stdout.lines().collect();
    // In input order; within a file, in its symbol table's order.
    let mut objects = lines[..3].to_vec();
    objects[1..].sort();
    assert_eq!(
        objects,
        [
            format!("{a}: definition of traced"),
            format!("{b}: reference to printf"),
            format!("{b}: reference to traced"),
        ]
    );
    assert!(lines[3].ends_with("libc.so.6: shared definition of printf"), "{}", o.stdout);
    assert_eq!(lines.len(), 4, "{}", o.stdout);
}

/// --sort-common: common symbols placed by descending alignment (the default order) or
/// ascending, as GNU ld does: the addresses of the commons follow, and the program runs.
#[test]
fn sort_common_option() {
    let t = test_env!("sort_common_option");
    let src = t.write(
        "commons.c",
        "#include <stdio.h>\n#include <stdint.h>\n\
         char small_a; int __attribute__((aligned(64))) big_b; short mid_c; char small_d;\n\
         int main(void) { printf(\"%d %d %d %d\\n\", small_a, big_b, mid_c, small_d); return 0; }\n",
    );
    let obj = t.compile_with("gcc", &src, "commons.o", &["-fcommon"]);
    for (order, expected) in
        [("", ["big_b", "mid_c", "small_a", "small_d"]), ("=ascending", ["small_a", "small_d", "mid_c", "big_b"])]
    {
        t.link("prog", &[&obj, &format!("-Wl,--sort-common{order}")]);
        t.run_expect("prog", &[], "0 0 0 0\n");
        let nm = t.nm("prog");
        let mut placed: Vec<(u64, &str)> =
            ["small_a", "big_b", "mid_c", "small_d"].iter().map(|s| (nm_address(&nm, s).unwrap(), *s)).collect();
        placed.sort();
        let names: Vec<&str> = placed.iter().map(|(_, s)| *s).collect();
        assert_eq!(names, expected, "--sort-common{order}");
    }
}
