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

/// `.eh_frame_hdr`'s first bytes as `build_hdr` writes them: version 1, `.eh_frame`'s
/// pointer PC-relative (`sdata4`), the count `udata4`, the table relative to the header.
const HDR_ENCODINGS: [u8; 4] = [1, 0x1b, 0x03, 0x3b];

/// Builds `.eh_frame_hdr`: version 1, pc-relative pointer to `.eh_frame`, and a table of
/// (function start, FDE address) sorted by start, both relative to the header's address.
pub fn build_hdr(hdr_addr: u64, eh_frame_addr: u64, mut table: Vec<(u64, u64)>) -> Vec<u8> {
    table.sort_unstable();
    let mut out = Vec::with_capacity(12 + table.len() * 8);
    out.extend_from_slice(&HDR_ENCODINGS);
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

    #[test]
    fn a_moved_function_rewrites_the_table_as_a_fresh_build_would() {
        let (hdr, eh_frame) = (0x1000, 0x2000);
        let table = |moved: u64| vec![(0x3000, 0x2010), (moved, 0x2020), (0x3200, 0x2030), (0x3300, 0x2040)];
        let mut output = build_hdr(hdr, eh_frame, table(0x3100));
        let mut parsed = HdrTable::parse(7, hdr, &output).unwrap();
        assert!(parsed.changes().is_none());
        assert_eq!(parsed.fde_of(0x3100), Some(0x2020));
        parsed.move_start(0x3100, 0x3400).unwrap();
        let (offset, bytes) = parsed.changes().unwrap();
        let at = (offset - 7) as usize;
        output[at..at + bytes.len()].copy_from_slice(&bytes);
        assert_eq!(output, build_hdr(hdr, eh_frame, table(0x3400)));
        assert_eq!(parsed.fde_of(0x3400), Some(0x2020));
        assert!(parsed.move_start(0x3100, 0x3500).is_none());
    }
}

/// The lookup table of an output's `.eh_frame_hdr` as an in-place relink (`patch`) reads and
/// changes it: (function start, FDE address) pairs relative to the header's address, sorted
/// by start. A relink that moves a function moves its pair to its new place in the order, and
/// writes back the entries between the first and the last that changed.
pub struct HdrTable {
    /// The header's file offset and address.
    offset: u64,
    address: u64,
    entries: Vec<[i32; 2]>,
    /// The first and last entry that may differ from the output's, once one moved.
    changed: Option<(usize, usize)>,
}

impl HdrTable {
    /// Reads a header `build_hdr` wrote (`bytes`, at file offset `offset` and `address`).
    pub fn parse(offset: u64, address: u64, bytes: &[u8]) -> Option<HdrTable> {
        if bytes.get(..4)? != HDR_ENCODINGS {
            return None;
        }
        let count = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize;
        let table = bytes.get(12..12 + count.checked_mul(8)?)?;
        let word = |b: &[u8]| i32::from_le_bytes(b.try_into().expect("four bytes"));
        let entries: Vec<[i32; 2]> = table.chunks_exact(8).map(|e| [word(&e[..4]), word(&e[4..])]).collect();
        Some(HdrTable { offset, address, entries, changed: None })
    }

    fn relative(&self, address: u64) -> Option<i32> {
        i32::try_from(address.wrapping_sub(self.address) as i64).ok()
    }

    fn find(&self, start: u64) -> Option<usize> {
        let start = self.relative(start)?;
        self.entries.binary_search_by_key(&start, |e| e[0]).ok()
    }

    /// The address of the FDE of the function that starts at `start`.
    pub fn fde_of(&self, start: u64) -> Option<u64> {
        self.find(start).map(|at| self.address.wrapping_add(self.entries[at][1] as i64 as u64))
    }

    /// The function that started at `from` now starts at `to`; `None` if no FDE describes it
    /// or `to` is out of the table's reach.
    pub fn move_start(&mut self, from: u64, to: u64) -> Option<()> {
        let (at, to) = (self.find(from)?, self.relative(to)?);
        let mut entry = self.entries.remove(at);
        entry[0] = to;
        let now = self.entries.partition_point(|e| e[0] < to);
        self.entries.insert(now, entry);
        // The entries between its old and new place shifted by one.
        let (first, last) = (at.min(now), at.max(now));
        self.changed = Some(self.changed.map_or((first, last), |(f, l)| (f.min(first), l.max(last))));
        Some(())
    }

    /// The file offset and bytes of the entries that changed, if any did.
    pub fn changes(&self) -> Option<(u64, Vec<u8>)> {
        let (first, last) = self.changed?;
        let bytes = self.entries[first..=last].iter().flat_map(|e| e.iter().flat_map(|w| w.to_le_bytes())).collect();
        Some((self.offset + 12 + first as u64 * 8, bytes))
    }
}
