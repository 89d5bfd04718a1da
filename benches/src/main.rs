//! `rivet-bench`: side-by-side link benchmarks of rivet-ld and its peers.
//!
//! `cargo run --release -p rivet-bench -- all` installs the peers, replays ripgrep's link,
//! links the synthetic scaling workload and writes `benches/RESULTS.md` with SVG charts in
//! `benches/results/`. See `benches/README.md`.

mod harness;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = harness::config::parse(&args).and_then(|(config, rest)| harness::run(&config, &rest));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rivet-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}
