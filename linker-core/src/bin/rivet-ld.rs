//! `rivet-ld`: the GNU ld-compatible command-line driver.
fn main() -> std::process::ExitCode {
    linker_core::driver::run(std::env::args_os().skip(1).collect())
}
