//! Shared libraries (`ET_DYN`) as link inputs: their exported dynamic symbols, the version
//! each one carries, and the SONAME that becomes our DT_NEEDED entry.

use crate::elf::*;
use crate::error::{Error, Result};

pub struct SharedObject<'d> {
    pub name: String,
    pub soname: Vec<u8>,
    pub symbols: SymbolTable<'d>,
    versions: Option<object::read::elf::VersionTable<'d, Ehdr>>,
}

/// The version an imported symbol binds to: its name and ELF hash, for `.gnu.version_r`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolVersion<'d> {
    pub name: &'d [u8],
    pub hash: u32,
}

impl<'d> SharedObject<'d> {
    pub fn parse(name: String, path: &std::path::Path, data: &'d [u8]) -> Result<Self> {
        let bad = |what: String| Error::bad(&name, what);
        let header = Ehdr::parse(data).map_err(|e| bad(format!("not a valid ELF shared object: {e}")))?;
        if header.e_machine(E) != EM_X86_64 {
            return Err(bad("not an x86-64 shared object (e_machine)".into()));
        }
        let sections = header.sections(E, data).map_err(|e| bad(format!("bad section table: {e}")))?;
        let symbols =
            sections.symbols(E, data, SHT_DYNSYM).map_err(|e| bad(format!("bad dynamic symbol table: {e}")))?;
        let versions = sections.versions(E, data).map_err(|e| bad(format!("bad symbol versions: {e}")))?;
        let mut soname = None;
        if let Some((dynamic, strtab_index)) =
            sections.dynamic(E, data).map_err(|e| bad(format!("bad dynamic section: {e}")))?
        {
            let strings =
                sections.strings(E, data, strtab_index).map_err(|e| bad(format!("bad dynamic string table: {e}")))?;
            for entry in dynamic {
                if entry.d_tag.get(E) == DT_SONAME as u64 {
                    let s = strings
                        .get(entry.d_val.get(E) as u32)
                        .map_err(|_| bad("DT_SONAME points outside the string table".into()))?;
                    soname = Some(s.to_vec());
                }
            }
        }
        let soname =
            soname.unwrap_or_else(|| path.file_name().map(|f| f.as_encoded_bytes().to_vec()).unwrap_or_default());
        Ok(SharedObject { name, soname, symbols, versions })
    }

    pub fn symbol(&self, index: usize) -> &'d Sym {
        &self.symbols.symbols()[index]
    }

    pub fn symbol_name(&self, index: usize) -> &'d [u8] {
        self.symbols.symbol_name(E, self.symbol(index)).unwrap_or(b"")
    }

    /// Whether an unversioned reference may bind to this symbol: it is not a hidden
    /// (non-default) version.
    pub fn is_default_version(&self, index: usize) -> bool {
        match &self.versions {
            Some(v) => !v.version_index(E, object::SymbolIndex(index)).is_hidden(),
            None => true,
        }
    }

    pub fn version(&self, index: usize) -> Option<SymbolVersion<'d>> {
        let table = self.versions.as_ref()?;
        let vi = table.version_index(E, object::SymbolIndex(index));
        let v = table.version(vi).ok().flatten()?;
        Some(SymbolVersion { name: v.name(), hash: v.hash() })
    }
}
