//! `.eh_frame`: each input section is a sequence of CIE and FDE records. FDEs whose function
//! was garbage-collected (or whose COMDAT copy was discarded) are dropped; every CIE is kept.
//! The output offsets of kept records are recorded so relocations still land, and the
//! `.eh_frame_hdr` lookup table is built from the FDEs' `pc_begin` relocations.

/// One record of an input `.eh_frame` section.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub offset: u32,
    pub size: u32,
    /// For FDEs: input offset of the CIE the record points to.
    pub cie: Option<u32>,
}

/// Splits an input `.eh_frame` into records; `None` if it is malformed.
pub fn split(data: &[u8]) -> Option<Vec<Record>> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < data.len() {
        let len = u32::from_le_bytes(data.get(off..off + 4)?.try_into().ok()?) as usize;
        if len == 0xffff_ffff {
            return None; // 64-bit DWARF: not produced for x86-64 ELF .eh_frame
        }
        let size = 4 + len;
        if off + size > data.len() {
            return None;
        }
        let cie = if len == 0 {
            None
        } else {
            let id = u32::from_le_bytes(data.get(off + 4..off + 8)?.try_into().ok()?);
            if id == 0 { None } else { Some((off + 4).checked_sub(id as usize)? as u32) }
        };
        out.push(Record { offset: off as u32, size: size as u32, cie });
        off += size;
    }
    Some(out)
}

/// Input offsets of the `pc_begin` field of every FDE (where the relocation naming the
/// described function sits).
pub fn fde_pc_begin_offsets(data: &[u8]) -> Vec<u64> {
    split(data).unwrap_or_default().iter().filter(|r| r.cie.is_some()).map(|r| r.offset as u64 + 8).collect()
}

/// Builds `.eh_frame_hdr`: version 1, pc-relative pointer to `.eh_frame`, and a table of
/// (function start, FDE address) sorted by start, both relative to the header's address.
pub fn build_hdr(hdr_addr: u64, eh_frame_addr: u64, mut table: Vec<(u64, u64)>) -> Vec<u8> {
    table.sort_unstable();
    let mut out = Vec::with_capacity(12 + table.len() * 8);
    out.extend_from_slice(&[1, 0x1b, 0x03, 0x3b]);
    out.extend_from_slice(&((eh_frame_addr.wrapping_sub(hdr_addr + 4)) as i32).to_le_bytes());
    out.extend_from_slice(&(table.len() as u32).to_le_bytes());
    for (pc, fde) in table {
        out.extend_from_slice(&(pc.wrapping_sub(hdr_addr) as i32).to_le_bytes());
        out.extend_from_slice(&(fde.wrapping_sub(hdr_addr) as i32).to_le_bytes());
    }
    out
}

pub fn hdr_size(fde_count: usize) -> u64 {
    12 + 8 * fde_count as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cie_and_fde_and_rejects_truncation() {
        let mut data = Vec::new();
        data.extend_from_slice(&12u32.to_le_bytes()); // CIE
        data.extend_from_slice(&0u32.to_le_bytes());
        data.extend_from_slice(&[1, b'z', b'R', 0, 1, 0x78, 0x10, 0]);
        data.extend_from_slice(&12u32.to_le_bytes()); // FDE pointing back 20 bytes
        data.extend_from_slice(&20u32.to_le_bytes());
        data.extend_from_slice(&[0; 8]);
        let r = split(&data).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].cie, Some(0));
        assert_eq!(fde_pc_begin_offsets(&data), vec![24]);
        assert!(split(&data[..data.len() - 1]).is_none());
    }
}
