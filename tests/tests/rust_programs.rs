//! Rust programs built by rustc with the linker under test as its linker (the recipe in the
//! README: `-C linker=gcc -C link-arg=-B<dir with ld> -C linker-features=-lld`), run, and
//! compared with the same program linked by ld.bfd.

use rivet_tests::{test_env, Test, World, WORLDS};
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
    let [test, reference] = rustc(&t, "undefined.rs", "prog", &[]);
    assert!(!test.success() && !reference.success(), "linking an undefined symbol must fail");
    assert!(!t.out_in(World::Test, "prog").exists(), "no output may be left behind");
    if t.linker_is_rivet() {
        let text = format!("{}{}", test.stdout, test.stderr);
        assert!(text.contains("undefined symbol: some_crate::module::missing_thing"), "{text}");
        assert!(text.contains("undefined.") && text.contains(".o"), "the referencing object is named: {text}");
    }
}
