//! A real cargo workspace (`tests/cargo/workspace`, dependencies pinned by its Cargo.lock)
//! built, run and `cargo test`ed with the linker under test, and again with ld.bfd.
//!
//! What is proven, in both worlds:
//! - every kind of link cargo and rustdoc do goes through the world's linker: `ld` in the
//!   `-B` directory is a wrapper that logs each output before running the linker, and the log
//!   must show the proc-macros rustc dlopens (serde_derive, linkme-impl), build scripts, the
//!   unit-test and integration-test harnesses, rustdoc's doctest executable and the program;
//! - the program prints exactly the expected lines (build-script output, a `cc`-built C
//!   library with a constructor and a C thread-local, `thread_local!` and `#[thread_local]` in
//!   two crates, serde's derive, a linkme slice filled from two crates and kept by
//!   `__start_`/`__stop_` under rustc's `--gc-sections`, `catch_unwind`, a panic reported by
//!   `join`, a backtrace with a workspace function and its file:line), the same as ld.bfd's;
//! - `cargo test` passes the same unit, integration and doc tests as with ld.bfd.

use rivet_tests::{Output, Test, WORLDS, World, cargo_test_summary, run_command, test_env};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const HOST: &str = "x86_64-unknown-linux-gnu";

/// A cold build, crate downloads included, on a slow 2-core machine.
const CARGO_TIMEOUT: Duration = Duration::from_secs(600);

/// Cargo's and rustdoc's flags from the environment would replace the ones this test sets.
const FLAG_VARS: &[&str] =
    &["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTDOCFLAGS", "CARGO_ENCODED_RUSTDOCFLAGS", "CARGO_BUILD_TARGET"];

const EXPECTED_RUN: &str = "build script: squares [0, 1, 4, 9, 16]\n\
c: native_mix(5) = 16, calls in main 2, in a new thread 1\n\
thread_local!: ws-lib main=2 new=1, app main=12 new=11\n\
#[thread_local]: ws-lib main=102 new=101, app main=22 new=21\n\
serde: {\"name\":\"rivet\",\"parts\":[1,2,3],\"inner\":{\"flag\":true,\"ratio\":0.5}}\n\
linkme: 3 greetings: ws-lib, app, app again\n\
catch_unwind caught: boom\n\
spawned thread panic reported to join: boom in a thread\n\
backtrace names ws_lib::backtrace_report: true, has src/lib.rs:<line>: true\n";

/// `cargo test` output as [`cargo_test_summary`] reduces it: unit tests, integration test, doctests.
const EXPECTED_TESTS: &str = "running 3 tests
test tests::backtrace_has_names_and_lines ... ok
test tests::build_script_generated_code ... ok
test tests::thread_locals_are_per_thread ... ok
test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 1 test
test slice_and_c_library ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 2 tests
test ws-lib/src/lib.rs - greeting_names ... ok
test ws-lib/src/lib.rs - native_mix ... ok
test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
";

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cargo/workspace")
}

/// The log of a world's links: one output path per line.
fn link_log(t: &Test, world: World) -> PathBuf {
    t.world_dir(world).join("links.log")
}

/// The `ld` that gcc finds through `-B`: logs the output of the link, then runs the world's
/// linker (`{log}` and `{linker}` are filled in).
const LD_WRAPPER: &str = r#"#!/bin/sh
out=?
prev=
for a in "$@"; do
    [ "$prev" = -o ] && out=$a
    prev=$a
done
echo "$out" >> '{log}'
exec '{linker}' "$@"
"#;

/// Writes a world's [`LD_WRAPPER`] into `<world>/ld-wrapper/`; returns that directory.
fn ld_wrapper(t: &Test, world: World) -> PathBuf {
    let dir = t.world_dir(world).join("ld-wrapper");
    std::fs::create_dir_all(&dir).unwrap();
    let script = LD_WRAPPER
        .replace("{log}", &link_log(t, world).display().to_string())
        .replace("{linker}", &t.ld_path(world).display().to_string());
    let ld = dir.join("ld");
    std::fs::write(&ld, script).unwrap();
    std::fs::set_permissions(&ld, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// `cargo <subcommand> <args>` on the workspace in one world (its own target dir), linking everything
/// with the README's recipe (`gcc -B<dir>`, rustc's lld off); rustdoc, which links the
/// doctests, gets the same flags. Asserts success.
fn cargo(t: &Test, world: World, ld_dir: &Path, subcommand: &str, args: &[&str]) -> Output {
    let flags = format!("[\"-C\", \"link-arg=-B{}\", \"-C\", \"linker-features=-lld\"]", ld_dir.display());
    let mut cmd = Command::new("cargo");
    cmd.arg(subcommand)
        .args(["--workspace", "--locked", "-j2", "--target-dir"])
        .arg(t.world_dir(world).join("target"))
        .args(["--config", &format!("target.{HOST}.linker = \"gcc\"")])
        .args(["--config", &format!("target.{HOST}.rustflags = {flags}")])
        .args(["--config", &format!("build.rustdocflags = {flags}")])
        .args(args)
        .current_dir(workspace_dir());
    for var in FLAG_VARS {
        cmd.env_remove(var);
    }
    let out = run_command(&mut cmd, CARGO_TIMEOUT, t.root());
    match world {
        World::Ref => assert!(out.success(), "cargo with the REFERENCE linker (ld.bfd) failed: {out}"),
        World::Test => assert!(out.success(), "cargo with the linker under test failed: {out}"),
    }
    out
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}

/// The first logged link output (a path) that satisfies `is`.
fn logged_output<'a>(log: &'a str, what: &str, is: impl Fn(&str) -> bool) -> &'a str {
    log.lines()
        .find(|p| is(p))
        .unwrap_or_else(|| panic!("no link of {what} went through the linker; links seen:\n{log}"))
}

#[test]
fn cargo_workspace() {
    let t = test_env!("cargo_workspace");
    let summaries = WORLDS.map(|world| {
        let ld_dir = ld_wrapper(&t, world);
        cargo(&t, world, &ld_dir, "build", &[]);
        let tested = cargo(&t, world, &ld_dir, "test", &["--", "--test-threads=1"]);
        cargo_test_summary(&tested.stdout)
    });

    t.copy_in_worlds("target/debug/app", "app");
    t.run_expect("app", &[], EXPECTED_RUN);

    let [test, reference] = summaries;
    assert_eq!(reference, EXPECTED_TESTS, "cargo test with the REFERENCE linker (ld.bfd) differs from the expectation");
    assert_eq!(test, EXPECTED_TESTS, "cargo test with the linker under test differs from ld.bfd's");

    for world in WORLDS {
        let log = std::fs::read_to_string(link_log(&t, world)).expect("the ld wrapper ran");
        let serde_derive = logged_output(&log, "the serde_derive proc-macro", |p| {
            file_name(p).starts_with("libserde_derive-") && p.ends_with(".so")
        });
        logged_output(&log, "the linkme-impl proc-macro", |p| file_name(p).starts_with("liblinkme_impl-"));
        logged_output(&log, "ws-lib's build script", |p| {
            p.contains("/ws-lib") && file_name(p).starts_with("build_script_build")
        });
        logged_output(&log, "the unit-test harness", |p| file_name(p).starts_with("ws_lib-"));
        logged_output(&log, "the integration test", |p| file_name(p).starts_with("integration-"));
        logged_output(&log, "rustdoc's doctests", |p| file_name(p) == "rust_out");
        logged_output(&log, "the program", |p| file_name(p) == "app");
        if world == World::Test && t.linker_is_rivet() {
            for file in ["app", serde_derive] {
                assert!(t.tool("readelf", &["-p", ".comment", file]).contains("rivet"), "{file} not linked by rivet");
            }
        }
    }
}
