//! rivet's linker core: an x86-64 ELF linker built to take its inputs while a link is in
//! progress (see [`link::Session`]) and to finish with one parallel copy-and-relocate pass.
//!
//! Phases, in order (one module each): [`input`] maps files and expands scripts;
//! [`object_file`], [`shared_object`] and [`archive`] parse; [`resolve`] binds symbols;
//! [`gc`] marks live sections; [`scan`] decides GOT/PLT/TLS needs; [`layout`] places
//! everything ([`merge`], [`eh_frame`], [`dynamic`], [`symtab`]); [`write`] copies, relocates
//! ([`x86_64`]) and commits the output.

mod archive;
mod args;
mod context;
pub mod driver;
mod dynamic;
mod eh_frame;
mod elf;
mod error;
mod gc;
mod hash;
mod huge_pages;
mod input;
mod layout;
mod map_file;
mod merge;
mod object_file;
mod parallel;
mod pieces;
mod pipeline;
mod resolve;
mod scan;
mod script;
mod sections;
mod session;
mod shared_object;
mod symtab;
mod synthetic;
mod timing;
mod version_script;
mod write;
mod x86_64;

pub use args::{Config, parse as parse_args};
pub use error::{Error, Result};
pub use input::{FileArena, FileKind, LoadedFile, load_inputs};
pub use session::Session;
