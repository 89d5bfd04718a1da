//! rivet's linker core: an x86-64 ELF linker that takes its inputs while a link is in
//! progress ([`Session`]) and finishes with one parallel copy-and-relocate pass.
//!
//! The pipeline, in the order the work happens:
//!
//! 1. as each input arrives (`session`): map it, expand scripts, find `-l` libraries
//!    (`input`, `script`, `archive`); parse it on the pool (`object_file`, `shared_object`)
//!    and, in the same job, classify its sections, find those gc starts from, and split its
//!    `.debug_str` into hashed pieces (`sections`, `pieces`); bind its symbols as soon as every input before it in
//!    canonical order is in (`resolve`);
//! 2. after the last input (`pipeline`, one `--time` lap per pass): the shared context
//!    (`context`); garbage collection (`gc`) ∥ merging the debug strings (`layout`, `merge`);
//!    identical code folding (`icf`);
//!    the relocation scan (`scan`, `x86_64`) ∥ placing input sections (`layout`,
//!    `eh_frame`) ∥ planning the gdb index (`gdb_index`); the linker-made tables and addresses (`layout`, `dynamic`, `symtab`,
//!    `synthetic`); copying, relocating and committing the output (`output_file`, `write`, `map_file`).
//!
//! Modules in layers: a module imports only modules listed before it, in an earlier layer or
//! earlier in its own.
//!
//! | layer | modules |
//! |---|---|
//! | basics | `elf`, `error`, `args`, `hash`, `parallel`, `huge_pages`, `timing`, `version_script` |
//! | inputs | `archive`, `script`, `input`, `compressed`, `object_file`, `shared_object`, `pieces`, `sections`, `source_lines` |
//! | resolution | `resolve`, then `context` |
//! | passes | `eh_frame`, `x86_64`, `gc`, `icf`, `gdb_index`, `scan`, `merge`, `synthetic`, `dynamic`, `symtab`, then `layout` |
//! | output | `output_file`, `write`, `overflow`, `patch`, `map_file`, `reproduce`, `incremental_state`, then `incremental` |
//! | driving | `pipeline`, `session`, `driver` |

// Lints this crate answers otherwise: tables of plain tuples, read next to where they are
// built (type_complexity); loops over several parallel tables by one index
// (needless_range_loop); a parsed input, moved once, not boxed (large_enum_variant);
// conditions written as the rule they state (nonminimal_bool).
#![allow(clippy::type_complexity, clippy::needless_range_loop, clippy::large_enum_variant, clippy::nonminimal_bool)]

mod archive;
mod args;
mod compressed;
mod context;
pub mod driver;
mod dynamic;
mod eh_frame;
mod elf;
mod error;
mod gc;
mod gdb_index;
mod hash;
mod huge_pages;
mod icf;
pub mod incremental;
mod incremental_state;
mod input;
mod layout;
mod map_file;
mod merge;
mod object_file;
mod output_file;
mod overflow;
mod parallel;
mod patch;
mod pieces;
mod pipeline;
mod reproduce;
mod resolve;
mod scan;
mod script;
mod sections;
mod session;
mod shared_object;
mod source_lines;
mod symtab;
mod synthetic;
mod timing;
mod version_script;
mod write;
mod x86_64;

pub use args::{Config, VERSION, parse as parse_args, split_words};
pub use error::{Error, Result};
pub use input::{FileArena, FileKind, LoadedFile, Reserved, load_inputs, load_inputs_reserving};
pub use patch::OutputMap;
pub use reproduce::write as write_reproducer;
pub use session::Session;

#[cfg(test)]
mod tests {
    /// The table of layers above is the import order: every module imports only modules it
    /// lists before it, and it lists every module.
    #[test]
    fn every_module_imports_only_modules_listed_before_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("a module's source");
        let lib = read("lib.rs");
        let listed: Vec<&str> = lib
            .lines()
            .filter_map(|line| line.strip_prefix("//! | "))
            .filter(|row| !row.starts_with("layer "))
            .flat_map(|row| row.split('`').skip(1).step_by(2))
            .collect();
        let declared =
            lib.lines().filter_map(|line| line.trim_start_matches("pub ").strip_prefix("mod ")?.strip_suffix(';'));
        for module in declared {
            assert!(listed.contains(&module), "module {module} is missing from lib.rs's table of layers");
        }
        for (position, module) in listed.iter().enumerate() {
            let source = read(&format!("{module}.rs"));
            for line in source.lines().filter(|line| !line.trim_start().starts_with("//")) {
                for (at, _) in line.match_indices("crate::") {
                    let used: String =
                        line[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if let Some(later) = listed.iter().position(|m| *m == used).filter(|&p| p > position) {
                        panic!(
                            "{module} imports {used}, which lib.rs lists after it (at {later}, {module} at {position})"
                        );
                    }
                }
            }
        }
    }
}
