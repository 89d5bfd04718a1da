//! ELF64 little-endian aliases over the `object` crate's raw structs, and the few constants
//! and helpers every phase shares.

pub use object::elf::*;
pub use object::read::elf::{FileHeader as _, Rela as _, SectionHeader as _, Sym as _};

pub type LE = object::LittleEndian;
pub const E: LE = object::LittleEndian;
pub type Ehdr = FileHeader64<LE>;
pub type Shdr = SectionHeader64<LE>;
pub type Sym = Sym64<LE>;
pub type Rela = Rela64<LE>;
pub type SectionTable<'d> = object::read::elf::SectionTable<'d, Ehdr>;
pub type SymbolTable<'d> = object::read::elf::SymbolTable<'d, Ehdr>;

pub const PAGE_SIZE: u64 = 0x1000;

pub fn align_up(value: u64, align: u64) -> u64 {
    if align <= 1 { value } else { value.wrapping_add(align - 1) & !(align - 1) }
}

/// The NUL-terminated string `bytes` starts with (all of `bytes` where no NUL ends it).
pub fn c_string(bytes: &[u8]) -> &[u8] {
    &bytes[..memchr::memchr(0, bytes).unwrap_or(bytes.len())]
}

/// The name part of a versioned symbol name (`foo@VER`, `foo@@VER`) and whether its version
/// is the default one.
pub fn split_version(name: &[u8]) -> (&[u8], Option<(&[u8], bool)>) {
    match memchr::memchr(b'@', name) {
        Some(at) => {
            let rest = &name[at + 1..];
            match rest.strip_prefix(b"@") {
                Some(v) => (&name[..at], Some((v, true))),
                None => (&name[..at], Some((rest, false))),
            }
        }
        None => (name, None),
    }
}

/// True for names usable in C, whose output sections get `__start_`/`__stop_` symbols.
pub fn is_c_identifier(name: &[u8]) -> bool {
    !name.is_empty() && !name[0].is_ascii_digit() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The section `X` of an encapsulation symbol `__start_X` or `__stop_X`.
pub fn start_stop_section(name: &[u8]) -> Option<&[u8]> {
    name.strip_prefix(b"__start_").or_else(|| name.strip_prefix(b"__stop_")).filter(|s| is_c_identifier(s))
}
