//! x86-64 specifics: what each relocation asks for ([`Action`], decided once by [`classify`]
//! for the scan and the write pass alike), the instruction rewrites of GOT and TLS
//! relaxations, and the PLT entry encodings.

use crate::context::{Link, class};
use crate::elf::*;
use crate::error::{Error, Result, demangle};

/// What a relocation needs, decided once per relocation by [`classify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    /// S + A; with a dynamic relocation in position-independent output.
    Abs {
        dynamic: Option<DynAbs>,
    },
    /// S + A - P.
    Pc,
    /// Through the PLT entry (L + A - P).
    Plt,
    /// The symbol's address is its PLT entry (IFUNCs in static output).
    PltAddress,
    /// Non-PIC reference to shared-library data: copy it into our .bss.
    Copy,
    /// Non-PIC address of a shared-library function: the PLT entry becomes its address.
    CanonicalPlt,
    /// G + GOT + A - P (GOT slot, PC-relative).
    Got,
    /// G + A or G + GOT + A - P, 64-bit GOT forms.
    GotAbs,
    /// A GOT-base relative form (GOTPC32/64, GOTOFF64).
    GotBase,
    RelaxGot(GotRelax),
    Size,
    TpOff,
    DtpOff,
    GotTpOff,
    GotTpOffToLe,
    TlsGd,
    TlsGdToLe,
    TlsGdToIe,
    TlsLd,
    TlsLdToLe,
    TlsDesc,
    TlsDescToLe,
    TlsDescToIe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynAbs {
    Relative,
    Symbolic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GotRelax {
    /// `mov foo@GOTPCREL(%rip), %reg` → `lea foo(%rip), %reg`.
    MovToLea,
    /// `call *foo@GOTPCREL(%rip)` → `addr32 call foo`.
    Call,
    /// `jmp *foo@GOTPCREL(%rip)` → `jmp foo; nop`.
    Jmp,
}

pub fn gotpcrelx_relaxation(data: &[u8], offset: u64) -> Option<GotRelax> {
    let o = offset as usize;
    let op = *data.get(o.checked_sub(2)?)?;
    let modrm = *data.get(o - 1)?;
    match (op, modrm) {
        (0x8b, m) if m & 0xc7 == 0x05 => Some(GotRelax::MovToLea),
        (0xff, 0x15) => Some(GotRelax::Call),
        (0xff, 0x25) => Some(GotRelax::Jmp),
        _ => None,
    }
}

/// Rewrites the opcode of the GOT access whose field is at `o` as `kind` says. The caller
/// then writes the target into [`relaxed_field`]'s place.
pub fn apply_got_relax(buf: &mut [u8], o: usize, kind: GotRelax) {
    match kind {
        GotRelax::MovToLea => buf[o - 2] = 0x8d,
        GotRelax::Call => {
            buf[o - 2] = 0x67;
            buf[o - 1] = 0xe8;
        }
        // The jump's field starts a byte earlier: a `nop` fills the byte after it.
        GotRelax::Jmp => {
            buf[o - 2] = 0xe9;
            buf[o + 3] = 0x90;
        }
    }
}

/// Where a relaxed access's PC-relative field starts, for the relocation at `o`, and the
/// value it holds there for `S + A - P` (`value`). Every form's field counts from its own
/// address: the jump's starts a byte earlier, so it holds one more.
pub fn relaxed_field(o: usize, kind: GotRelax, value: i64) -> (usize, i64) {
    match kind {
        GotRelax::Jmp => (o - 1, value.wrapping_add(1)),
        GotRelax::MovToLea | GotRelax::Call => (o, value),
    }
}

/// What a linked GOT access reads as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GotAccess {
    /// Still through the GOT: the field points at the slot.
    Slot,
    /// Relaxed: the field points at the target.
    Target,
}

/// What the link left of a `GOTPCRELX` access, from the byte two before the relocation's
/// offset (the opcode the relocation's form starts with): how it reaches its target, and
/// where its field starts, counted from that byte. The field holds `T + A - F` for the
/// target `T` and the field's own address `F` ([`relaxed_field`]). `None` for bytes no form
/// of the access starts with.
pub fn linked_got_access(opcode: u8) -> Option<(GotAccess, usize)> {
    match opcode {
        0x8b | 0xff => Some((GotAccess::Slot, 2)),
        0x8d | 0x67 => Some((GotAccess::Target, 2)),
        0xe9 => Some((GotAccess::Target, 1)),
        _ => None,
    }
}

/// `movq foo@gottpoff(%rip), %reg` or `addq foo@gottpoff(%rip), %reg` with a REX prefix.
pub fn ie_to_le_ok(data: &[u8], offset: u64) -> bool {
    let o = offset as usize;
    if o < 3 || o + 4 > data.len() {
        return false;
    }
    matches!(data[o - 3], 0x48 | 0x4c) && matches!(data[o - 2], 0x8b | 0x03) && data[o - 1] & 0xc7 == 0x05
}

/// Rewrites an initial-exec load into a local-exec immediate (`mov $tpoff, %reg` or
/// `add $tpoff, %reg`); the caller writes the 32-bit value.
pub fn apply_ie_to_le(buf: &mut [u8], o: usize) {
    let reg = (buf[o - 1] >> 3) & 7;
    let rex_b = if buf[o - 3] == 0x4c { 0x49 } else { 0x48 };
    buf[o - 3] = rex_b;
    if buf[o - 2] == 0x8b {
        buf[o - 2] = 0xc7;
    } else {
        buf[o - 2] = 0x81;
    }
    buf[o - 1] = 0xc0 | reg;
}

/// `data16 lea x@tlsgd(%rip),%rdi; data16 data16 rex64 call __tls_get_addr` (or the
/// `call *__tls_get_addr@GOTPCREL(%rip)` form).
pub fn tls_gd_sequence_ok(data: &[u8], offset: u64) -> bool {
    let o = offset as usize;
    o >= 4
        && o + 12 <= data.len()
        && data[o - 4..o] == [0x66, 0x48, 0x8d, 0x3d]
        && (data[o + 4..o + 8] == [0x66, 0x66, 0x48, 0xe8] || data[o + 4..o + 8] == [0x66, 0x48, 0xff, 0x15])
}

/// GD → LE: `mov %fs:0,%rax; lea x@tpoff(%rax),%rax` (16 bytes). Returns where the 32-bit
/// TP offset goes.
pub fn apply_gd_to_le(buf: &mut [u8], o: usize) -> usize {
    buf[o - 4..o + 12].copy_from_slice(&[0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x8d, 0x80, 0, 0, 0, 0]);
    o + 8
}

/// GD → IE: `mov %fs:0,%rax; add x@gottpoff(%rip),%rax`. Returns where the PC-relative GOT
/// offset goes.
pub fn apply_gd_to_ie(buf: &mut [u8], o: usize) -> usize {
    buf[o - 4..o + 12].copy_from_slice(&[0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x03, 0x05, 0, 0, 0, 0]);
    o + 8
}

/// `lea x@tlsld(%rip),%rdi; call __tls_get_addr` (rel32 or through the GOT).
pub fn tls_ld_sequence_ok(data: &[u8], offset: u64) -> bool {
    let o = offset as usize;
    o >= 3
        && o + 5 <= data.len()
        && data[o - 3..o] == [0x48, 0x8d, 0x3d]
        && (data[o + 4] == 0xe8 || (o + 6 <= data.len() && data[o + 4..o + 6] == [0xff, 0x15]))
}

/// LD → LE: the module base becomes the thread pointer, `mov %fs:0,%rax`, padded to the
/// original length.
pub fn apply_ld_to_le(buf: &mut [u8], o: usize) {
    if buf[o + 4] == 0xe8 {
        buf[o - 3..o + 9].copy_from_slice(&[0x66, 0x66, 0x66, 0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0]);
    } else {
        buf[o - 3..o + 10].copy_from_slice(&[0x66, 0x66, 0x66, 0x66, 0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0]);
    }
}

/// `lea x@tlsdesc(%rip), %reg`.
pub fn tlsdesc_sequence_ok(data: &[u8], offset: u64) -> bool {
    let o = offset as usize;
    o >= 3
        && o + 4 <= data.len()
        && matches!(data[o - 3], 0x48 | 0x4c)
        && data[o - 2] == 0x8d
        && data[o - 1] & 0xc7 == 0x05
}

/// TLSDESC → LE: `mov $tpoff, %reg`.
pub fn apply_desc_to_le(buf: &mut [u8], o: usize) {
    let reg = (buf[o - 1] >> 3) & 7;
    buf[o - 3] = if buf[o - 3] == 0x4c { 0x49 } else { 0x48 };
    buf[o - 2] = 0xc7;
    buf[o - 1] = 0xc0 | reg;
}

/// TLSDESC → IE: `mov x@gottpoff(%rip), %reg`.
pub fn apply_desc_to_ie(buf: &mut [u8], o: usize) {
    buf[o - 2] = 0x8b;
}

pub fn reloc_width(r_type: u32) -> usize {
    match r_type {
        R_X86_64_NONE => 0,
        // The call is rewritten to a two-byte nop in executables.
        R_X86_64_TLSDESC_CALL => 2,
        R_X86_64_8 | R_X86_64_PC8 => 1,
        R_X86_64_16 | R_X86_64_PC16 => 2,
        R_X86_64_64 | R_X86_64_PC64 | R_X86_64_GOTOFF64 | R_X86_64_GOTPC64 | R_X86_64_GOT64 | R_X86_64_GOTPCREL64
        | R_X86_64_PLTOFF64 | R_X86_64_SIZE64 | R_X86_64_DTPOFF64 | R_X86_64_TPOFF64 | R_X86_64_DTPMOD64 => 8,
        _ => 4,
    }
}

pub fn reloc_name(r_type: u32) -> String {
    let name = match r_type {
        R_X86_64_NONE => "R_X86_64_NONE",
        R_X86_64_64 => "R_X86_64_64",
        R_X86_64_PC32 => "R_X86_64_PC32",
        R_X86_64_GOT32 => "R_X86_64_GOT32",
        R_X86_64_PLT32 => "R_X86_64_PLT32",
        R_X86_64_GOTPCREL => "R_X86_64_GOTPCREL",
        R_X86_64_32 => "R_X86_64_32",
        R_X86_64_32S => "R_X86_64_32S",
        R_X86_64_16 => "R_X86_64_16",
        R_X86_64_PC16 => "R_X86_64_PC16",
        R_X86_64_8 => "R_X86_64_8",
        R_X86_64_PC8 => "R_X86_64_PC8",
        R_X86_64_DTPMOD64 => "R_X86_64_DTPMOD64",
        R_X86_64_DTPOFF64 => "R_X86_64_DTPOFF64",
        R_X86_64_TPOFF64 => "R_X86_64_TPOFF64",
        R_X86_64_TLSGD => "R_X86_64_TLSGD",
        R_X86_64_TLSLD => "R_X86_64_TLSLD",
        R_X86_64_DTPOFF32 => "R_X86_64_DTPOFF32",
        R_X86_64_GOTTPOFF => "R_X86_64_GOTTPOFF",
        R_X86_64_TPOFF32 => "R_X86_64_TPOFF32",
        R_X86_64_PC64 => "R_X86_64_PC64",
        R_X86_64_GOTOFF64 => "R_X86_64_GOTOFF64",
        R_X86_64_GOTPC32 => "R_X86_64_GOTPC32",
        R_X86_64_GOT64 => "R_X86_64_GOT64",
        R_X86_64_GOTPCREL64 => "R_X86_64_GOTPCREL64",
        R_X86_64_GOTPC64 => "R_X86_64_GOTPC64",
        R_X86_64_PLTOFF64 => "R_X86_64_PLTOFF64",
        R_X86_64_SIZE32 => "R_X86_64_SIZE32",
        R_X86_64_SIZE64 => "R_X86_64_SIZE64",
        R_X86_64_GOTPC32_TLSDESC => "R_X86_64_GOTPC32_TLSDESC",
        R_X86_64_TLSDESC_CALL => "R_X86_64_TLSDESC_CALL",
        R_X86_64_GOTPCRELX => "R_X86_64_GOTPCRELX",
        R_X86_64_REX_GOTPCRELX => "R_X86_64_REX_GOTPCRELX",
        other => return format!("relocation type {other}"),
    };
    name.to_string()
}

/// Lazy PLT header: `push GOTPLT+8(%rip); jmp *GOTPLT+16(%rip); nop`.
pub fn plt_header(plt: u64, got_plt: u64) -> [u8; 16] {
    let mut e = [0xff, 0x35, 0, 0, 0, 0, 0xff, 0x25, 0, 0, 0, 0, 0x0f, 0x1f, 0x40, 0x00];
    e[2..6].copy_from_slice(&((got_plt + 8).wrapping_sub(plt + 6) as i32).to_le_bytes());
    e[8..12].copy_from_slice(&((got_plt + 16).wrapping_sub(plt + 12) as i32).to_le_bytes());
    e
}

/// Lazy PLT entry `index`: `jmp *slot(%rip); push $index; jmp header`.
pub fn plt_entry(entry: u64, slot: u64, index: u32, header: u64) -> [u8; 16] {
    let mut e = [0xff, 0x25, 0, 0, 0, 0, 0x68, 0, 0, 0, 0, 0xe9, 0, 0, 0, 0];
    e[2..6].copy_from_slice(&(slot.wrapping_sub(entry + 6) as i32).to_le_bytes());
    e[7..11].copy_from_slice(&index.to_le_bytes());
    e[12..16].copy_from_slice(&(header.wrapping_sub(entry + 16) as i32).to_le_bytes());
    e
}

/// Non-lazy entry (IFUNCs, static output): `jmp *slot(%rip)` padded with a nop.
pub fn plt_entry_direct(entry: u64, slot: u64) -> [u8; 16] {
    let mut e = [0xff, 0x25, 0, 0, 0, 0, 0x66, 0x0f, 0x1f, 0x44, 0, 0, 0x0f, 0x1f, 0x40, 0x00];
    e[2..6].copy_from_slice(&(slot.wrapping_sub(entry + 6) as i32).to_le_bytes());
    e
}

/// The one decision, shared by scan and write, of what relocation `ri` of section `si`
/// does. `data` is the section's input bytes (relaxations look at the instruction).
pub fn classify(link: &Link<'_>, file: u32, si: usize, data: &[u8], relas: &[Rela], ri: usize) -> Result<Action> {
    let r = &relas[ri];
    let sym = link.symbol_id(file, r.r_sym(E, false) as usize);
    let r_type = r.r_type(E, false);
    let offset = r.r_offset(E);
    let obj = link.res.files[file as usize].object().expect("relocations come from objects");
    let section = obj.section(si);
    let writable = section.sh_flags(E) & SHF_WRITE as u64 != 0;
    let c = link.class(sym);
    let preemptible = c & class::PREEMPTIBLE != 0;
    let ifunc = c & class::IFUNC != 0;
    let is_func = c & class::SHARED_FUNC != 0;
    // An undefined weak symbol left to the loader (`OutputMode::dynamic_undefined_weak`):
    // a reference that cannot be dynamic (no GOT slot, PLT entry or writable word) takes
    // its link-time value, 0, as lld does.
    let undefined_weak = preemptible && c & class::UNDEFINED != 0 && !link.output.shared;
    let absolute = c & class::ABSOLUTE != 0 && (!preemptible || undefined_weak);
    let exe = !link.output.shared;
    let err = |what: &str| -> Error {
        Error::Relocation {
            file: obj.name.clone(),
            section: String::from_utf8_lossy(obj.section_name(si)).into_owned(),
            symbol: demangle(link.symbol_name(sym)),
            what: format!("{} at offset {offset:#x}: {what}", reloc_name(r_type)),
        }
    };
    if offset.checked_add(reloc_width(r_type) as u64).is_none_or(|end| end > section.sh_size(E)) {
        return Err(err("relocation past the end of the section"));
    }
    Ok(match r_type {
        R_X86_64_NONE => Action::None,
        R_X86_64_64 => {
            if ifunc {
                if link.output.pic { Action::Abs { dynamic: Some(DynAbs::Relative) } } else { Action::PltAddress }
            } else if preemptible {
                if writable || link.output.shared {
                    Action::Abs { dynamic: Some(DynAbs::Symbolic) }
                } else if undefined_weak {
                    Action::Abs { dynamic: None }
                } else if !link.output.pic {
                    if is_func { Action::CanonicalPlt } else { Action::Copy }
                } else {
                    return Err(err(
                        "relocation against a shared-library symbol in a read-only section; recompile with -fPIC",
                    ));
                }
            } else if link.output.pic && !absolute {
                if !writable {
                    return Err(err("dynamic relocation in a read-only section; recompile with -fPIC"));
                }
                Action::Abs { dynamic: Some(DynAbs::Relative) }
            } else {
                Action::Abs { dynamic: None }
            }
        }
        R_X86_64_32 | R_X86_64_32S | R_X86_64_16 | R_X86_64_8 => {
            if preemptible && !undefined_weak {
                if link.output.pic {
                    return Err(err("cannot be used against a shared-library symbol; recompile with -fPIC"));
                }
                if is_func { Action::CanonicalPlt } else { Action::Copy }
            } else if ifunc {
                if link.output.pic {
                    return Err(err(
                        "cannot be used against an IFUNC in a position-independent output; recompile with -fPIC",
                    ));
                }
                Action::PltAddress
            } else if link.output.pic && !absolute {
                return Err(err("cannot be used when making a position-independent output; recompile with -fPIC"));
            } else {
                Action::Abs { dynamic: None }
            }
        }
        R_X86_64_PC32 | R_X86_64_PC64 | R_X86_64_PC8 | R_X86_64_PC16 => {
            if ifunc {
                Action::PltAddress
            } else if preemptible && !undefined_weak {
                // Executables, PIEs included (GCC's x86-64 PIE code relies on it), copy
                // shared-library data and give functions a canonical PLT address.
                if is_func {
                    if link.output.shared { Action::Plt } else { Action::CanonicalPlt }
                } else if !link.output.shared && c & class::SHARED != 0 {
                    Action::Copy
                } else {
                    return Err(err("PC-relative reference to a symbol that may be preempted; recompile with -fPIC"));
                }
            } else {
                Action::Pc
            }
        }
        R_X86_64_PLT32 => {
            if preemptible || ifunc {
                Action::Plt
            } else {
                Action::Pc
            }
        }
        R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
            let relaxable = r_type != R_X86_64_GOTPCREL
                && !preemptible
                && !ifunc
                && !(absolute && link.output.pic)
                && c & class::UNDEFINED == 0;
            match relaxable.then(|| gotpcrelx_relaxation(data, offset)).flatten() {
                Some(kind) => Action::RelaxGot(kind),
                None => Action::Got,
            }
        }
        R_X86_64_GOT32 | R_X86_64_GOT64 | R_X86_64_GOTPCREL64 => Action::GotAbs,
        R_X86_64_GOTPC32 | R_X86_64_GOTPC64 | R_X86_64_GOTOFF64 => Action::GotBase,
        R_X86_64_PLTOFF64 => {
            if preemptible || ifunc {
                Action::Plt
            } else {
                Action::GotBase
            }
        }
        R_X86_64_SIZE32 | R_X86_64_SIZE64 => Action::Size,
        R_X86_64_TPOFF32 | R_X86_64_TPOFF64 => {
            if link.output.shared {
                return Err(err("local-exec TLS cannot be used in a shared object; recompile with -fPIC"));
            }
            Action::TpOff
        }
        R_X86_64_DTPOFF32 | R_X86_64_DTPOFF64 => Action::DtpOff,
        R_X86_64_GOTTPOFF => {
            if exe && !preemptible && ie_to_le_ok(data, offset) {
                Action::GotTpOffToLe
            } else {
                Action::GotTpOff
            }
        }
        R_X86_64_TLSGD => {
            if exe {
                let next_ok =
                    relas.get(ri + 1).is_some_and(|n| n.r_offset(E) == offset + 8 || n.r_offset(E) == offset + 9);
                if !next_ok || !tls_gd_sequence_ok(data, offset) {
                    return Err(err("unexpected instruction sequence for general-dynamic TLS"));
                }
                if preemptible { Action::TlsGdToIe } else { Action::TlsGdToLe }
            } else {
                Action::TlsGd
            }
        }
        R_X86_64_TLSLD => {
            if exe {
                let next_ok =
                    relas.get(ri + 1).is_some_and(|n| n.r_offset(E) == offset + 5 || n.r_offset(E) == offset + 6);
                if !next_ok || !tls_ld_sequence_ok(data, offset) {
                    return Err(err("unexpected instruction sequence for local-dynamic TLS"));
                }
                Action::TlsLdToLe
            } else {
                Action::TlsLd
            }
        }
        R_X86_64_GOTPC32_TLSDESC => {
            if exe {
                if !tlsdesc_sequence_ok(data, offset) {
                    return Err(err("unexpected instruction for TLS descriptor"));
                }
                if preemptible { Action::TlsDescToIe } else { Action::TlsDescToLe }
            } else {
                Action::TlsDesc
            }
        }
        R_X86_64_TLSDESC_CALL => {
            if exe {
                Action::TlsDescToLe
            } else {
                Action::None
            }
        }
        _ => return Err(err("unsupported relocation type")),
    })
}
