//! `--icf=all|safe`: identical sections folded, differential against GNU ld (which folds
//! nothing: the programs must behave the same).

use rivet_tests::{Driver, Test, World, nm_address, test_env};
use std::process::Command;

const EXPECTED: &str = "10 17 5 6 16 27 11\ntaken functions have distinct addresses: yes\n";

/// Links `prog` with `--icf=<mode>` by the linker under test, and without by GNU ld (which
/// has no ICF), so that `t.run` compares a folded program with an unfolded one.
fn link_icf(t: &Test, driver: Driver, prog: &str, args: &[&str], mode: &str) {
    let icf = format!("-Wl,--icf={mode}");
    let o = t.try_link_in(World::Test, driver, prog, &[args, &[icf.as_str()]].concat());
    assert!(o.success(), "{o}");
    let r = t.try_link_in(World::Ref, driver, prog, args);
    assert!(r.success(), "{r}");
}

fn addresses(t: &Test, prog: &str, names: &[&str]) -> Vec<u64> {
    let nm = t.nm(prog);
    names.iter().map(|n| nm_address(&nm, n).unwrap_or_else(|| panic!("{n} not in {prog}"))).collect()
}

/// --icf=all folds every pair of twins, recursive ones included, and keeps a function that
/// differs; the output is the same at any thread count.
#[test]
fn icf_all_folds_identical_functions() {
    let t = test_env!("icf_all_folds_identical_functions");
    if !t.linker_is_rivet() {
        return;
    }
    let o = t.cc("icf_main.c", &["-O1", "-ffunction-sections"]);
    link_icf(&t, Driver::Gcc, "prog", &[&o], "all");
    let out = t.run_in(World::Test, "prog", &[], &[]);
    // Under `all`, even the functions whose addresses are compared fold.
    assert_eq!(out.stdout, EXPECTED.replace("yes", "no"), "{out}");
    let a = addresses(&t, "prog", &["twin_a", "twin_b", "count_a", "count_b", "taken_a", "taken_b", "unlike"]);
    assert!(a[0] == a[1] && a[2] == a[3] && a[4] == a[5], "twins folded: {a:x?}");
    assert!(a[6] != a[0], "a function that differs in a constant stays: {a:x?}");
    let one = t.try_link_in(World::Test, Driver::Gcc, "prog1", &[&o, "-Wl,--icf=all", "-Wl,--threads=1"]);
    assert!(one.success(), "{one}");
    assert!(
        std::fs::read(t.out("prog")).unwrap() == std::fs::read(t.out("prog1")).unwrap(),
        "thread count changed the output"
    );
    link_icf(&t, Driver::Gcc, "plain", &[&o], "none");
    let p = addresses(&t, "plain", &["twin_a", "twin_b"]);
    assert_ne!(p[0], p[1], "--icf=none folds nothing");
    t.run_expect("plain", &[], EXPECTED);
}

/// --icf=safe folds only what no code compares by address: clang's `.llvm_addrsig` names
/// the address-taken functions, which keep distinct addresses; gcc's objects have no such
/// table, so nothing of theirs folds.
#[test]
fn icf_safe_keeps_address_taken_functions_apart() {
    let t = test_env!("icf_safe_keeps_address_taken_functions_apart");
    if !t.linker_is_rivet() || !t.require_clang() {
        return;
    }
    let o = t.clang_as("icf_main.c", "icf_clang.o", &["-O1", "-ffunction-sections"]);
    link_icf(&t, Driver::Clang, "prog", &[&o], "safe");
    t.run_expect("prog", &[], EXPECTED);
    let a = addresses(&t, "prog", &["twin_a", "twin_b", "count_a", "count_b", "taken_a", "taken_b"]);
    assert!(a[0] == a[1] && a[2] == a[3], "functions whose address is not taken fold: {a:x?}");
    assert_ne!(a[4], a[5], "address-taken functions keep distinct addresses");
    let g = t.cc_as("icf_main.c", "icf_gcc.o", &["-O1", "-ffunction-sections"]);
    link_icf(&t, Driver::Gcc, "gcc_prog", &[&g], "safe");
    t.run_expect("gcc_prog", &[], EXPECTED);
    let a = addresses(&t, "gcc_prog", &["twin_a", "twin_b"]);
    assert_ne!(a[0], a[1], "objects without .llvm_addrsig fold nothing under safe");
}

/// Functions with the same code but different exception handlers (different LSDAs) are
/// not folded: each still catches its own exception.
#[test]
fn icf_keeps_functions_with_different_landing_pads() {
    let t = test_env!("icf_keeps_functions_with_different_landing_pads");
    let o = t.cxx("icf_eh.cpp", &["-O2", "-ffunction-sections"]);
    link_icf(&t, Driver::Gxx, "prog", &[&o], "all");
    t.run_expect("prog", &[], "-1 -1\nlogic passes catch_runtime\nruntime passes catch_logic\n");
}

/// A Rust program (std: threads, panics, unwinding, backtraces) linked with --icf=all and
/// with --icf=safe runs as it does unfolded.
#[test]
fn icf_rust_program() {
    let t = test_env!("icf_rust_program");
    if !t.linker_is_rivet() {
        return;
    }
    let ld_dir = t.ld_path(World::Test).parent().unwrap().to_path_buf();
    for mode in ["none", "all", "safe"] {
        let mut cmd = Command::new("rustc");
        cmd.arg(t.src("../rust/std_features.rs"))
            .args(["--edition=2024", "-C", "opt-level=2", "-C", "debuginfo=line-tables-only", "-C", "linker=gcc"])
            .args(["-C", "linker-features=-lld", "-C"])
            .arg(format!("link-arg=-B{}", ld_dir.display()))
            .arg(format!("-Clink-arg=-Wl,--icf={mode}"))
            .arg("-o")
            .arg(t.out(mode))
            .current_dir(t.world_dir(World::Test));
        let o = rivet_tests::run_command(&mut cmd, rivet_tests::TOOL_TIMEOUT, t.root());
        assert!(o.success(), "{mode}: {o}");
    }
    let plain = t.run_in(World::Test, "none", &[], &[]);
    assert_eq!(plain.code, Some(0), "{plain}");
    for mode in ["all", "safe"] {
        let folded = t.run_in(World::Test, mode, &[], &[]);
        assert_eq!((folded.code, &folded.stdout), (plain.code, &plain.stdout), "--icf={mode}: {folded}");
    }
    let size = |p: &str| std::fs::metadata(t.out(p)).unwrap().len();
    assert!(size("all") < size("none"), "--icf=all folds something in std");
}
