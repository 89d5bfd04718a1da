//! rivet's linker core: an x86-64 ELF linker built to take its inputs while a link is in
//! progress (see [`link::Session`]) and to finish with one parallel copy-and-relocate pass.
//!
//! Phases, in order (one module each): [`input`] maps files and expands scripts;
//! [`object_file`], [`shared_object`] and [`archive`] parse; [`resolve`] binds symbols;
//! [`gc`] marks live sections; [`scan`] decides GOT/PLT/TLS needs; [`layout`] places
//! everything ([`merge`], [`eh_frame`], [`dynamic`], [`symtab`]); [`write`] copies, relocates
//! ([`x86_64`]) and commits the output.

pub mod archive;
pub mod args;
pub mod context;
pub mod driver;
pub mod dynamic;
pub mod eh_frame;
pub mod elf;
pub mod error;
pub mod gc;
pub mod hash;
mod huge_pages;
pub mod input;
pub mod layout;
pub mod map_file;
pub mod merge;
pub mod object_file;
pub mod parallel;
pub mod pieces;
pub mod pipeline;
pub mod resolve;
pub mod scan;
pub mod script;
pub mod sections;
pub mod session;
pub mod shared_object;
pub mod symtab;
pub mod synthetic;
pub mod timing;
pub mod version_script;
pub mod write;
pub mod x86_64;

pub use args::{Config, parse as parse_args};
pub use error::{Error, Result};
pub use input::{FileArena, FileKind, LoadedFile, load_inputs};
pub use session::Session;
