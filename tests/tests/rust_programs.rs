//! Rust programs built by rustc with the linker under test as its linker (the recipe in the
//! README: `-C linker=gcc -C link-arg=-B<dir with ld> -C linker-features=-lld`), run, and
//! compared with the same program linked by ld.bfd.

use rivet_tests::{Test, WORLDS, World, test_env};
use std::process::Command;

/// Builds `tests/rust/<src>` in both worlds with extra rustc flags; returns the program name.
fn rustc(t: &Test, src: &str, out: &str, flags: &[&str]) -> [rivet_tests::Output; 2] {
    WORLDS.map(|world| {
        let ld_dir = t.ld_path(world).parent().expect("ld lives in a dir").to_path_buf();
        let mut cmd = Command::new("rustc");
        cmd.arg(t.src(&format!("../rust/{src}")))
            .args(["--edition=2024", "-C", "linker=gcc", "-C", "linker-features=-lld"])
            .arg("-C")
            .arg(format!("link-arg=-B{}", ld_dir.display()))
            .args(flags)
            .arg("-o")
            .arg(t.out_in(world, out))
            .current_dir(t.world_dir(world));
        rivet_tests::run_command(&mut cmd, rivet_tests::TOOL_TIMEOUT, t.root())
    })
}

fn build(t: &Test, src: &str, out: &str, flags: &[&str]) {
    for (o, world) in rustc(t, src, out, flags).iter().zip(WORLDS) {
        assert!(o.success(), "rustc ({world:?}) failed: {o}");
    }
}

const EXPECTED: &str = "tls main=42 other=1\n\
catch_unwind caught a panic: true\n\
thread panic reported to join: true\n\
the=3 distinct=9\n\
backtrace names deep: true, has file:line: true\n";

#[test]
fn rust_debug_program() {
    let t = test_env!("rust_debug_program");
    build(&t, "std_features.rs", "prog", &["-g", "-C", "opt-level=0"]);
    t.run_expect("prog", &[], EXPECTED);
    if t.linker_is_rivet() {
        assert!(t.tool("readelf", &["-p", ".comment", "prog"]).contains("rivet"));
    }
}

#[test]
fn rust_release_program() {
    let t = test_env!("rust_release_program");
    // Release with line tables, as cargo's `debug = "line-tables-only"` gives.
    build(&t, "std_features.rs", "prog", &["-C", "opt-level=3", "-C", "debuginfo=line-tables-only"]);
    // Optimised code may fold `deep`'s frames away; file:line must still resolve, and the
    // run must match ld.bfd's exactly (checked by `run`).
    let out = t.run("prog", &[]);
    let (first, _) = EXPECTED.rsplit_once("backtrace").expect("expected text has a backtrace line");
    assert!(out.stdout.starts_with(first), "{out}");
    assert!(out.stdout.contains("has file:line: true"), "{out}");
}

#[test]
fn rust_static_glibc_program() {
    let t = test_env!("rust_static_glibc_program");
    build(&t, "std_features.rs", "prog", &["-g", "-C", "target-feature=+crt-static"]);
    t.run_expect("prog", &[], EXPECTED);
    assert!(!t.tool("readelf", &["-l", "prog"]).contains("INTERP"), "a crt-static program needs no loader");
}

#[test]
fn rust_undefined_symbol_is_demangled() {
    let t = test_env!("rust_undefined_symbol_is_demangled");
    let [test, reference] = rustc(&t, "undefined.rs", "prog", &["-g"]);
    assert!(!test.success() && !reference.success(), "linking an undefined symbol must fail");
    assert!(!t.out_in(World::Test, "prog").exists(), "no output may be left behind");
    if t.linker_is_rivet() {
        let text = format!("{}{}", test.stdout, test.stderr);
        assert!(text.contains("undefined symbol: some_crate::module::missing_thing"), "{text}");
        assert!(text.contains("undefined symbol: other_crate::inner::absent_helper"), "v0 mangling: {text}");
        assert!(text.contains("undefined.") && text.contains(".o"), "the referencing object is named: {text}");
        assert!(text.contains(".o:(undefined::main)"), "the referencing function is named, demangled: {text}");
        // With debug info, the source line of the reference, as lld gives it.
        let line = t.line_of("../rust/undefined.rs", "println!");
        assert!(text.contains(&format!("referenced by {}:{line}", t.src("../rust/undefined.rs").display())), "{text}");
        // Neither crate is in the link: the hint says so, for each.
        for krate in ["some_crate", "other_crate"] {
            assert!(text.contains(&format!("hint: no input has anything of the crate `{krate}`")), "{text}");
        }
        assert!(!text.contains("crate `std`"), "std is linked: no hint about it: {text}");
    }
}

/// A proc-macro crate linked by the linker under test is a shared object rustc itself
/// dlopens; the program that uses the macro is linked by it too.
#[test]
fn rust_proc_macro() {
    let t = test_env!("rust_proc_macro");
    for world in WORLDS {
        let ld_dir = t.ld_path(world).parent().expect("ld lives in a dir").to_path_buf();
        let flags = |cmd: &mut Command| {
            cmd.args(["--edition=2024", "-C", "linker=gcc", "-C", "linker-features=-lld"])
                .arg("-C")
                .arg(format!("link-arg=-B{}", ld_dir.display()))
                .current_dir(t.world_dir(world));
        };
        let mut pm = Command::new("rustc");
        flags(&mut pm);
        pm.arg(t.src("../rust/derive_hello.rs")).args(["--crate-type", "proc-macro", "--crate-name", "derive_hello"]);
        let o = rivet_tests::run_command(&mut pm, rivet_tests::TOOL_TIMEOUT, t.root());
        assert!(o.success(), "building the proc-macro ({world:?}) failed: {o}");
        let mut bin = Command::new("rustc");
        flags(&mut bin);
        bin.arg(t.src("../rust/uses_derive.rs")).args(["--extern", "derive_hello=libderive_hello.so", "-o", "prog"]);
        let o = rivet_tests::run_command(&mut bin, rivet_tests::TOOL_TIMEOUT, t.root());
        assert!(o.success(), "using the proc-macro ({world:?}) failed: {o}");
    }
    if t.linker_is_rivet() {
        assert!(t.tool("readelf", &["-p", ".comment", "libderive_hello.so"]).contains("rivet"));
    }
    t.run_expect("prog", &[], "hello from Widget, derived by a macro\n");
}

/// A Rust cdylib linked by the linker under test, loaded with dlopen by a C program.
#[test]
fn rust_cdylib_dlopen() {
    let t = test_env!("rust_cdylib_dlopen");
    build(&t, "cdylib.rs", "libcdylib.so", &["--crate-type", "cdylib", "-C", "panic=unwind"]);
    let loader = t.cc("load_cdylib.c", &[]);
    t.link("loader", &[&loader, "-ldl"]);
    t.run_expect("loader", &[], "rivet_add(2, 3) = 6\nrivet_add(-1, 3) = 5\n");
}

/// `-C prefer-dynamic`: the program links against the toolchain's libstd-*.so.
#[test]
fn rust_prefer_dynamic() {
    let t = test_env!("rust_prefer_dynamic");
    build(&t, "std_features.rs", "prog", &["-g", "-C", "prefer-dynamic"]);
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().expect("rustc runs");
    let libdir =
        format!("{}/lib/rustlib/x86_64-unknown-linux-gnu/lib", String::from_utf8_lossy(&sysroot.stdout).trim());
    assert!(t.tool("readelf", &["-d", "prog"]).contains("libstd-"), "prog should need libstd-*.so");
    let out = t.run_env("prog", &[], &[("LD_LIBRARY_PATH", &libdir)]);
    rivet_tests::assert_stdout(&out, 0, EXPECTED);
}

/// The same Rust program linked by the linker under test and by rust-lld (rustc's default):
/// structurally the same where it matters (see `rivet_tests::elf_compare`).
#[test]
fn rust_structure_matches_rust_lld() {
    let t = test_env!("rust_structure_matches_rust_lld");
    build(&t, "std_features.rs", "prog", &["-g"]);
    let mut lld = Command::new("rustc");
    lld.arg(t.src("../rust/std_features.rs"))
        .args(["--edition=2024", "-g", "-o"])
        .arg(t.out_in(World::Ref, "prog-rust-lld"))
        .current_dir(t.world_dir(World::Ref));
    let o = rivet_tests::run_command(&mut lld, rivet_tests::TOOL_TIMEOUT, t.root());
    assert!(o.success(), "rustc with rust-lld failed: {o}");
    assert!(t.tool_in(World::Ref, "readelf", &["-p", ".comment", "prog-rust-lld"]).contains("LLD"));
    let diffs =
        rivet_tests::elf_compare::structural_differences(&t.out("prog"), &t.out_in(World::Ref, "prog-rust-lld"))
            .expect("both outputs parse");
    assert!(diffs.is_empty(), "differences from rust-lld:\n{}", diffs.join("\n"));
}

/// A Rust `dylib` crate linked by the linker under test, and a program using it with
/// `-C prefer-dynamic`.
#[test]
fn rust_dylib_crate() {
    let t = test_env!("rust_dylib_crate");
    build(&t, "greeting_dylib.rs", "libgreeting_dylib.so", &["--crate-type", "dylib", "-C", "prefer-dynamic"]);
    build(
        &t,
        "uses_dylib.rs",
        "prog",
        &["-C", "prefer-dynamic", "--extern", "greeting_dylib=libgreeting_dylib.so", "-L", "."],
    );
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().expect("rustc runs");
    let std_dir =
        format!("{}/lib/rustlib/x86_64-unknown-linux-gnu/lib", String::from_utf8_lossy(&sysroot.stdout).trim());
    for world in WORLDS {
        let dir = t.world_dir(world);
        let path = format!("{}:{std_dir}", dir.display());
        let out = t.run_in(world, "prog", &[], &[("LD_LIBRARY_PATH", &path)]);
        rivet_tests::assert_stdout(&out, 0, "hello, rivet, from a Rust dylib\nlargest = 9\n");
    }
}

/// A linker set (what `linkme` builds on): section members found through `__start_`/`__stop_`,
/// kept alive under rustc's `--gc-sections`.
#[test]
fn rust_linker_set_survives_gc() {
    let t = test_env!("rust_linker_set_survives_gc");
    build(&t, "linker_set.rs", "prog", &["-C", "opt-level=2"]);
    t.run_expect("prog", &[], "3 entries, sum 42: [7, 11, 24]\n");
}

/// `-Zdebuginfo-compression=zstd`: rustc compresses its objects' debug sections and asks
/// the linker for compressed output (`--compress-debug-sections=zstd`); the program runs as
/// GNU ld's does, its debug sections are compressed, and gdb stops in a Rust function with
/// its source file in the backtrace.
#[test]
fn rust_compressed_debug_info() {
    let t = test_env!("rust_compressed_debug_info");
    build(&t, "std_features.rs", "prog", &["-g", "-C", "opt-level=0", "-Zdebuginfo-compression=zstd"]);
    // std's own backtrace symbolizer reads zlib but not zstd sections: its file:line answer
    // is whatever GNU ld's program gives (`run` compares them).
    let out = t.run("prog", &[]);
    let (first, _) = EXPECTED.rsplit_once("backtrace").expect("expected text has a backtrace line");
    assert!(out.stdout.starts_with(first) && out.stdout.contains("backtrace names deep: true"), "{out}");
    let sections = t.readelf("-S", "prog");
    assert_eq!(rivet_tests::section_is_compressed(&sections, ".debug_info"), Some(true), "{sections}");
    if !t.require_gdb() {
        return;
    }
    let mut gdb = Command::new("gdb");
    gdb.args(["-nx", "-batch", "-iex", "set debuginfod enabled off", "-ex", "break std_features::deep", "-ex", "run"])
        .args(["-ex", "bt 2"])
        .arg(t.out("prog"))
        .current_dir(t.world_dir(World::Test));
    let o = rivet_tests::run_command(&mut gdb, rivet_tests::TOOL_TIMEOUT, t.root());
    assert!(o.stdout.contains("std_features::deep") && o.stdout.contains("std_features.rs:"), "{o}");
}

/// `--gdb-index` on a Rust program (rustc writes no pubnames, so the names come from the
/// units' entries): the program runs; the index names its functions qualified by crate and
/// module; gdb reads the index and stops in `std_features::deep` by name; the output is
/// the same at 1 and 2 threads.
#[test]
fn rust_gdb_index() {
    let t = test_env!("rust_gdb_index");
    if !t.require_gdb() {
        return;
    }
    let ld_dir = t.ld_path(World::Test).parent().expect("ld lives in a dir").to_path_buf();
    for (out, threads) in [("prog", "2"), ("prog-1", "1")] {
        let mut cmd = Command::new("rustc");
        cmd.arg(t.src("../rust/std_features.rs"))
            .args(["--edition=2024", "-g", "-C", "linker=gcc", "-C", "linker-features=-lld"])
            .arg("-C")
            .arg(format!("link-arg=-B{}", ld_dir.display()))
            .args(["-C", "link-arg=-Wl,--gdb-index", "-C", &format!("link-arg=-Wl,--threads={threads}"), "-o", out])
            .current_dir(t.world_dir(World::Test));
        let o = rivet_tests::run_command(&mut cmd, rivet_tests::TOOL_TIMEOUT, t.root());
        assert!(o.success(), "rustc failed: {o}");
    }
    let out = rivet_tests::run_command(
        Command::new(t.out("prog")).current_dir(t.world_dir(World::Test)),
        rivet_tests::TOOL_TIMEOUT,
        t.root(),
    );
    rivet_tests::assert_stdout(&out, 0, EXPECTED);
    assert!(std::fs::read(t.out("prog")).unwrap() == std::fs::read(t.out("prog-1")).unwrap(), "1 and 2 threads differ");

    let dump = t.tool("readelf", &["--debug-dump=gdb_index", "prog"]);
    for name in ["std_features::deep:", "std_features::main:", "alloc::collections::btree::map::BTreeMap"] {
        assert!(dump.lines().any(|l| l.contains(&format!("] {name}"))), "the index lacks {name}");
    }
    let mut gdb = Command::new("gdb");
    gdb.args(["-nx", "-batch", "-iex", "set debuginfod enabled off", "-ex", "maint print objfiles"])
        .args(["-ex", "break std_features::deep", "-ex", "run", "-ex", "bt 2", "-ex", "info args", "prog"])
        .current_dir(t.world_dir(World::Test));
    let o = rivet_tests::run_command(&mut gdb, std::time::Duration::from_secs(120), t.root());
    assert!(o.stdout.contains(".gdb_index: version 7"), "gdb ignored the index:\n{o}");
    assert!(o.stdout.contains("std_features::deep (n=3)"), "gdb did not stop in deep:\n{o}");
    assert!(o.stdout.contains("std_features.rs:"), "no source line:\n{o}");
}
