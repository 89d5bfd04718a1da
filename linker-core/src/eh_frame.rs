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

/// Where the records of an output `.eh_frame` end: the offset of the zero length that
/// terminates them (the room a relink adds records in follows it: `layout::unwind_room`), or
/// `None` if there is none.
pub fn records_end(data: &[u8]) -> Option<usize> {
    let mut off = 0usize;
    loop {
        let len = u32::from_le_bytes(data.get(off..off + 4)?.try_into().ok()?);
        if len == 0 {
            return Some(off);
        }
        if len == 0xffff_ffff {
            return None;
        }
        off = off.checked_add(4 + len as usize)?;
    }
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

/// The lookup table of an output's `.eh_frame_hdr` as an in-place relink (`patch`) reads and
/// changes it: (function start, FDE address) pairs relative to the header's address, sorted
/// by start, read where the output has them. A relink that moves a function records its
/// pair's new start (or its FDE's new place), one that adds a function a new pair, in the
/// room the full link left after the table (`layout::unwind_room`); the entries between the
/// first and the last place that changed are written back in their new order. A lookup costs a binary search and a scan of the moved
/// pairs (a relink moves few); nothing is done per entry but for those written back (190k
/// entries in typst-cli's debug link).
pub struct HdrTable<'o> {
    /// The header's file offset and address.
    offset: u64,
    address: u64,
    /// The entries as the output has them.
    table: &'o [u8],
    /// Entries that moved: their index in `table`, and the entry as it is now.
    moved: Vec<(usize, [i32; 2])>,
    /// Entries of functions a relink added.
    added: Vec<[i32; 2]>,
    /// How many entries the header has room for (`layout::unwind_room`).
    capacity: usize,
}

impl<'o> HdrTable<'o> {
    /// Reads a header `build_hdr` wrote (`bytes`, at file offset `offset` and `address`).
    pub fn parse(offset: u64, address: u64, bytes: &'o [u8]) -> Option<HdrTable<'o>> {
        if bytes.get(..4)? != HDR_ENCODINGS {
            return None;
        }
        let count = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize;
        let table = bytes.get(12..12 + count.checked_mul(8)?)?;
        let capacity = (bytes.len() - 12) / 8;
        Some(HdrTable { offset, address, table, moved: Vec::new(), added: Vec::new(), capacity })
    }

    fn len(&self) -> usize {
        self.table.len() / 8
    }

    /// Entry `index` as the output has it.
    fn written(&self, index: usize) -> [i32; 2] {
        let word = |at: usize| i32::from_le_bytes(self.table[at..at + 4].try_into().expect("four bytes"));
        [word(index * 8), word(index * 8 + 4)]
    }

    /// Where the output's entries of starts below `start` end.
    fn written_before(&self, start: i32) -> usize {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = (low + high) / 2;
            if self.written(middle)[0] < start { low = middle + 1 } else { high = middle }
        }
        low
    }

    fn relative(&self, address: u64) -> Option<i32> {
        i32::try_from(address.wrapping_sub(self.address) as i64).ok()
    }

    /// The entry of the function that starts at `start` now: `Err` with its index in the
    /// output's table, or `Ok` with its index in `moved`.
    fn find(&self, start: u64) -> Option<Result<usize, usize>> {
        let start = self.relative(start)?;
        if let Some(m) = self.moved.iter().position(|(_, e)| e[0] == start) {
            return Some(Ok(m));
        }
        let at = self.written_before(start);
        let written = at < self.len() && self.written(at)[0] == start;
        (written && !self.moved.iter().any(|&(i, _)| i == at)).then_some(Err(at))
    }

    /// The address of the FDE of the function that starts at `start`.
    pub fn fde_of(&self, start: u64) -> Option<u64> {
        let entry = match self.find(start)? {
            Ok(m) => self.moved[m].1,
            Err(at) => self.written(at),
        };
        Some(self.address.wrapping_add(entry[1] as i64 as u64))
    }

    /// The function that started at `from` now starts at `to`; `None` if no FDE describes it
    /// or `to` is out of the table's reach.
    pub fn move_start(&mut self, from: u64, to: u64) -> Option<()> {
        let to = self.relative(to)?;
        match self.find(from)? {
            Ok(m) => self.moved[m].1[0] = to,
            Err(at) => self.moved.push((at, [to, self.written(at)[1]])),
        }
        Some(())
    }

    /// The function that starts at `start` (now) has its FDE at `fde` from now on; `None` if
    /// no FDE describes it or `fde` is out of the table's reach.
    pub fn move_fde(&mut self, start: u64, fde: u64) -> Option<()> {
        let fde = self.relative(fde)?;
        match self.find(start)? {
            Ok(m) => self.moved[m].1[1] = fde,
            Err(at) => self.moved.push((at, [self.written(at)[0], fde])),
        }
        Some(())
    }

    /// Adds the entry of a function a relink added, starting at `start`, whose FDE is at
    /// `fde`; `None` when the header has no room left or either is out of its reach.
    pub fn add(&mut self, start: u64, fde: u64) -> Option<()> {
        if self.len() + self.added.len() >= self.capacity {
            return None;
        }
        self.added.push([self.relative(start)?, self.relative(fde)?]);
        Some(())
    }

    /// The writes (file offset, bytes) that bring the header up to date, if anything
    /// changed: the entries between the first and the last place a moved entry left or took
    /// (to the table's end, when entries were added), in the order of their starts, and the
    /// count when it changed.
    pub fn changes(&self) -> Vec<(u64, Vec<u8>)> {
        let Some((offset, bytes)) = self.span() else { return Vec::new() };
        let mut writes = vec![(offset, bytes)];
        if !self.added.is_empty() {
            let count = (self.len() + self.added.len()) as u32;
            writes.push((self.offset + 8, count.to_le_bytes().to_vec()));
        }
        writes
    }

    fn span(&self) -> Option<(u64, Vec<u8>)> {
        let end = self.len().saturating_sub(1);
        let places = self.moved.iter().flat_map(|&(at, e)| [at, self.written_before(e[0]).min(end)]);
        let added = self.added.iter().flat_map(|e| [self.written_before(e[0]).min(end), end]);
        let places = places.chain(added);
        let (first, last) = (places.clone().min()?, places.max()?);
        // The span's entries are in order already: the moved and added ones are merged in.
        let mut moved: Vec<[i32; 2]> = self.moved.iter().map(|&(_, e)| e).chain(self.added.iter().copied()).collect();
        moved.sort_unstable();
        let mut moved = moved.into_iter().peekable();
        let mut left: Vec<usize> = self.moved.iter().map(|&(at, _)| at).collect();
        left.sort_unstable();
        let mut bytes = Vec::with_capacity((last - first + 1) * 8);
        let mut put = |e: [i32; 2]| e.iter().for_each(|w| bytes.extend_from_slice(&w.to_le_bytes()));
        for at in (first..=last).filter(|&at| at < self.len() && left.binary_search(&at).is_err()) {
            let entry = self.written(at);
            while let Some(m) = moved.next_if(|m| *m < entry) {
                put(m);
            }
            put(entry);
        }
        moved.for_each(put);
        Some((self.offset + 12 + first as u64 * 8, bytes))
    }
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
    fn moved_functions_rewrite_the_table_as_a_fresh_build_would() {
        let (hdr, eh_frame) = (0x1000, 0x2000);
        let table = |starts: [u64; 5]| starts.iter().zip((0x2010..).step_by(0x10)).map(|(&s, f)| (s, f)).collect();
        let output = build_hdr(hdr, eh_frame, table([0x3000, 0x3100, 0x3200, 0x3300, 0x3400]));
        let mut parsed = HdrTable::parse(7, hdr, &output).unwrap();
        assert!(parsed.changes().is_empty());
        assert_eq!(parsed.fde_of(0x3100), Some(0x2020));
        // Past the last, before the first, then the first one again.
        parsed.move_start(0x3100, 0x3500).unwrap();
        parsed.move_start(0x3300, 0x2f00).unwrap();
        parsed.move_start(0x3500, 0x3250).unwrap();
        assert_eq!(parsed.fde_of(0x3250), Some(0x2020));
        assert_eq!(parsed.fde_of(0x2f00), Some(0x2040));
        assert_eq!(parsed.fde_of(0x3400), Some(0x2050));
        assert_eq!(parsed.fde_of(0x3100), None);
        assert!(parsed.move_start(0x3300, 0x3600).is_none());
        let [(offset, bytes)] = &parsed.changes()[..] else { panic!("one write") };
        let mut patched = output.clone();
        let at = (offset - 7) as usize;
        patched[at..at + bytes.len()].copy_from_slice(bytes);
        assert_eq!(patched, build_hdr(hdr, eh_frame, table([0x3000, 0x3250, 0x3200, 0x2f00, 0x3400])));
    }

    /// A function a relink adds (past every other, in the overflow segment) takes an entry of
    /// the room after the table; the header's count follows; a full room refuses.
    #[test]
    fn added_functions_take_the_room_after_the_table() {
        let (hdr, eh_frame) = (0x1000, 0x2000);
        let mut output = build_hdr(hdr, eh_frame, vec![(0x3000, 0x2010), (0x3100, 0x2020), (0x3200, 0x2030)]);
        output.resize(output.len() + 2 * 8, 0);
        let mut parsed = HdrTable::parse(0, hdr, &output).unwrap();
        parsed.move_start(0x3100, 0x9000).unwrap();
        parsed.add(0x8000, 0x2100).unwrap();
        parsed.add(0x8800, 0x2140).unwrap();
        assert!(parsed.add(0x8900, 0x2180).is_none());
        let mut patched = output.clone();
        for (at, bytes) in parsed.changes() {
            patched[at as usize..at as usize + bytes.len()].copy_from_slice(&bytes);
        }
        let table = vec![(0x3000, 0x2010), (0x3200, 0x2030), (0x8000, 0x2100), (0x8800, 0x2140), (0x9000, 0x2020)];
        assert_eq!(patched, build_hdr(hdr, eh_frame, table));
    }
}
