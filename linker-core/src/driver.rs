//! The `rivet-ld` command: parse the GNU ld command line, run the link, report errors as one
//! clear message per problem with exit status 1.

use crate::args;
use crate::input::{load_inputs, FileArena};
use crate::link::Session;
use std::ffi::OsString;
use std::process::ExitCode;

pub const VERSION: &str = concat!("rivet-ld ", env!("CARGO_PKG_VERSION"), " (compatible with GNU linkers)");

pub fn run(argv: Vec<OsString>) -> ExitCode {
    match run_inner(argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            for line in message.lines() {
                eprintln!("rivet-ld: error: {line}");
            }
            ExitCode::from(1)
        }
    }
}

fn run_inner(argv: Vec<OsString>) -> Result<(), String> {
    let config = args::parse(&argv).map_err(|e| e.to_string())?;
    if config.print_help {
        println!("Usage: rivet-ld [options] file...\nA GNU ld-compatible x86-64 ELF linker. See the rivet README for the supported options.");
        return Ok(());
    }
    if config.print_version {
        println!("{VERSION}");
        if config.inputs.is_empty() {
            return Ok(());
        }
    }
    if config.relocatable {
        return Err("-r (relocatable output) is not supported".into());
    }
    if config.inputs.is_empty() {
        return Err("no input files".into());
    }
    let threads = config.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
    pool.install(|| {
        let arena = FileArena::default();
        let inputs = load_inputs(&config, &arena).map_err(|e| e.to_string())?;
        let session = Session::new(config.clone(), &arena);
        session.add_inputs(inputs);
        session.finish().map_err(|e| e.to_string())
    })
}
