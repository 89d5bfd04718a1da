//! Differential test on a small synthetic workload (8 objects x 50 functions): the program
//! linked by rivet-ld, and the one linked by GNU ld, must both print the checksum that the
//! generator computed in advance.
//!
//! rivet-ld is not a dependency of this package, so the test looks for the binary that
//! `cargo build -p linker-core` puts in the same target directory as this test executable
//! (`target/<profile>/rivet-ld`), and fails with instructions if it is not there.

use std::path::{Path, PathBuf};
use std::process::Command;

use rivet_bench::gnu_link::{CRuntime, pie_link_args};
use rivet_bench::synth;

const OBJECTS: usize = 8;
const FUNCTIONS_PER_OBJECT: usize = 50;

#[test]
fn synthetic_program_linked_by_gnu_ld_prints_expected_checksum() {
    let dir = scratch_dir("bfd");
    link_run_and_check(Path::new("ld.bfd"), &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn synthetic_program_linked_by_rivet_ld_prints_expected_checksum() {
    let rivet_ld = match locate_rivet_ld() {
        Ok(path) => path,
        Err(searched) => panic!(
            "rivet-ld binary not found (looked in: {searched}); \
             run `cargo build -p linker-core` first (same profile and target directory as the tests)"
        ),
    };
    let dir = scratch_dir("rivet");
    link_run_and_check(&rivet_ld, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

fn link_run_and_check(linker: &Path, dir: &Path) {
    let workload =
        synth::generate_workload(dir, OBJECTS, FUNCTIONS_PER_OBJECT).expect("generating the synthetic workload");
    let runtime = CRuntime::discover().expect("locating the C runtime start files with gcc");
    let output = dir.join("synth");
    let link = Command::new(linker)
        .args(pie_link_args(&runtime, &workload.objects, &output))
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", linker.display()));
    assert!(
        link.status.success(),
        "{} failed to link the synthetic workload ({}):\n{}",
        linker.display(),
        link.status,
        String::from_utf8_lossy(&link.stderr)
    );
    let run = Command::new(&output)
        .output()
        .unwrap_or_else(|e| panic!("could not run the program linked by {}: {e}", linker.display()));
    assert!(
        run.status.success(),
        "the program linked by {} exited with {}; stderr:\n{}",
        linker.display(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        synth::expected_stdout(workload.expected_checksum),
        "the program linked by {} printed the wrong checksum",
        linker.display()
    );
}

/// `target/<profile>/rivet-ld`, found by walking up from this test executable
/// (`target/<profile>/deps/…`, or `target/<profile>/build/<pkg>/<hash>/out/…` with cargo's
/// newer build-directory layout).
fn locate_rivet_ld() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("<current_exe failed: {e}>"))?;
    let mut searched = Vec::new();
    for dir in exe.ancestors().skip(1).take(6) {
        let candidate = dir.join("rivet-ld");
        if candidate.is_file() {
            return Ok(candidate);
        }
        searched.push(candidate.display().to_string());
    }
    Err(searched.join(", "))
}

fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rivet-bench-synth-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}
