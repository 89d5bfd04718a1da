//! The sections the linker makes itself, by identity. Layout sizes and places each; the
//! write pass fills it.

/// Sections the linker writes itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Synthetic {
    Interp,
    BuildId,
    GnuHash,
    SysvHash,
    DynSym,
    DynStr,
    VerSym,
    VerDef,
    VerNeed,
    RelaDyn,
    RelaPlt,
    EhFrameHdr,
    Plt,
    Got,
    GotPlt,
    Dynamic,
    Commons,
    CopyRel,
    Comment,
    GdbIndex,
    SymTab,
    StrTab,
    ShStrTab,
}
