//! The files an incremental link keeps beside its output, and their formats: the state
//! (`.<name>.rivet-state`: what the output was made from, see `incremental`) and the map of
//! the output (`.<name>.rivet-map`: `patch::OutputMap`).
//!
//! Both are little-endian records behind no header but the state's magic string, which
//! names the version: a file this linker did not write, or cut short, reads as nothing, and
//! the link is a full one. Counts are checked against the bytes left before anything is
//! allocated for them. Each file is written to a temporary and renamed into place.

use crate::input::FileStamp;
use crate::patch::{MergedPiece, MergedSpot, ObjectSpots, OutputMap, SectionSpot};
use crate::write::WrittenRange;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"rivet-state v4\n\0";

/// A file an output was made from: an input, or a file read while linking.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FileRecord {
    pub(crate) path: PathBuf,
    pub(crate) stamp: FileStamp,
    pub(crate) hash: u128,
}

/// What an incremental link's output was made from (see `incremental`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) linker: u128,
    pub(crate) options: u128,
    pub(crate) output: FileStamp,
    pub(crate) inputs: Vec<FileRecord>,
    pub(crate) read_while_linking: Vec<FileRecord>,
    /// The hash of the map of the output (`.<name>.rivet-map`, kept apart so that an
    /// up-to-date link neither reads nor writes it), for an in-place relink.
    pub(crate) map: Option<u128>,
    /// The copies kept of the objects, by position and member, for an in-place relink to
    /// compare their successors with.
    pub(crate) copies: Vec<KeptCopy>,
    /// The archives whose loaded members are kept too.
    pub(crate) archives: Vec<KeptArchive>,
}

/// A copy of an object kept for an in-place relink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeptCopy {
    pub(crate) position: u32,
    /// 0 for a plain object, else the archive member's index plus one.
    pub(crate) member: u32,
    /// The copy's own stamp: only rivet writes it, so the same stamp means the same bytes.
    pub(crate) stamp: FileStamp,
    /// The hash of the object it is a copy of.
    pub(crate) hash: u128,
}

/// An archive that changed since an earlier link: an archive whose contents changed once is
/// likely to change again (a crate of the workspace, not the standard library), so the
/// members the link loaded from it are kept, and a relink compares member by member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeptArchive {
    /// Its index among the inputs.
    pub(crate) input: u32,
    /// `incremental::archive_layout`: a relink patches members only where it is unchanged.
    pub(crate) layout: u128,
}

pub(crate) fn encode_map(map: &OutputMap) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(map.objects.len() as u64).to_le_bytes());
    for object in &map.objects {
        out.extend_from_slice(&object.position.to_le_bytes());
        out.extend_from_slice(&object.member.to_le_bytes());
        out.extend_from_slice(&(object.sections.len() as u64).to_le_bytes());
        for spot in &object.sections {
            out.extend_from_slice(&spot.section.to_le_bytes());
            out.extend_from_slice(&spot.offset.to_le_bytes());
            out.extend_from_slice(&spot.size.to_le_bytes());
        }
        out.extend_from_slice(&(object.merged.len() as u64).to_le_bytes());
        for spot in &object.merged {
            out.extend_from_slice(&spot.section.to_le_bytes());
            out.extend_from_slice(&spot.constant_size.to_le_bytes());
            out.extend_from_slice(&spot.offset.to_le_bytes());
            out.extend_from_slice(&spot.size.to_le_bytes());
            out.extend_from_slice(&(spot.pieces.len() as u64).to_le_bytes());
            for piece in &spot.pieces {
                out.extend_from_slice(&piece.start.to_le_bytes());
                out.extend_from_slice(&piece.out.to_le_bytes());
                out.push(piece.shared as u8);
            }
        }
        out.extend_from_slice(&(object.referrers.len() as u64).to_le_bytes());
        out.extend_from_slice(&object.referrers);
    }
    out.extend_from_slice(&(map.ranges.len() as u64).to_le_bytes());
    for range in &map.ranges {
        out.extend_from_slice(&range.at.to_le_bytes());
        out.extend_from_slice(&range.len.to_le_bytes());
        out.extend_from_slice(&range.digest.to_le_bytes());
    }
    let (at, len) = map.build_id.unwrap_or((u64::MAX, 0));
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(map.referrers_since.len() as u64).to_le_bytes());
    for (name, change) in &map.referrers_since {
        out.extend_from_slice(&(name.len() as u64).to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&change.to_le_bytes());
    }
    out
}

pub(crate) fn decode_map(bytes: &[u8]) -> Option<OutputMap> {
    let mut r = Reader(bytes);
    let map = r.map()?;
    r.0.is_empty().then_some(map)
}

pub(crate) fn write_state(path: &Path, state: &State) -> std::io::Result<()> {
    write_file(path, &state.encode())
}

/// Writes `bytes` to a temporary and renames it to `path`.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    let _ = std::fs::remove_file(path);
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

impl State {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.linker.to_le_bytes());
        out.extend_from_slice(&self.options.to_le_bytes());
        encode_stamp(&mut out, self.output);
        for list in [&self.inputs, &self.read_while_linking] {
            out.extend_from_slice(&(list.len() as u64).to_le_bytes());
            for record in list {
                let path = record.path.as_os_str().as_bytes();
                out.extend_from_slice(&(path.len() as u64).to_le_bytes());
                out.extend_from_slice(path);
                encode_stamp(&mut out, record.stamp);
                out.extend_from_slice(&record.hash.to_le_bytes());
            }
        }
        match self.map {
            None => out.push(0),
            Some(hash) => {
                out.push(1);
                out.extend_from_slice(&hash.to_le_bytes());
            }
        }
        out.extend_from_slice(&(self.copies.len() as u64).to_le_bytes());
        for copy in &self.copies {
            out.extend_from_slice(&copy.position.to_le_bytes());
            out.extend_from_slice(&copy.member.to_le_bytes());
            encode_stamp(&mut out, copy.stamp);
            out.extend_from_slice(&copy.hash.to_le_bytes());
        }
        out.extend_from_slice(&(self.archives.len() as u64).to_le_bytes());
        for archive in &self.archives {
            out.extend_from_slice(&archive.input.to_le_bytes());
            out.extend_from_slice(&archive.layout.to_le_bytes());
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<State> {
        let mut r = Reader(bytes.strip_prefix(MAGIC)?);
        let linker = r.u128()?;
        let options = r.u128()?;
        let output = r.stamp()?;
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            let count = r.u64()?;
            for _ in 0..count {
                let len = usize::try_from(r.u64()?).ok()?;
                let path = PathBuf::from(std::ffi::OsStr::from_bytes(r.take(len)?));
                list.push(FileRecord { path, stamp: r.stamp()?, hash: r.u128()? });
            }
        }
        let [inputs, read_while_linking] = lists;
        let map = match r.take(1)? {
            [0] => None,
            [1] => Some(r.u128()?),
            _ => return None,
        };
        let count = r.count(56)?;
        let mut copies = Vec::with_capacity(count);
        for _ in 0..count {
            copies.push(KeptCopy { position: r.u32()?, member: r.u32()?, stamp: r.stamp()?, hash: r.u128()? });
        }
        let count = r.count(20)?;
        let mut archives = Vec::with_capacity(count);
        for _ in 0..count {
            archives.push(KeptArchive { input: r.u32()?, layout: r.u128()? });
        }
        let state = State { linker, options, output, inputs, read_while_linking, map, copies, archives };
        r.0.is_empty().then_some(state)
    }
}

fn encode_stamp(out: &mut Vec<u8>, stamp: FileStamp) {
    for field in [stamp.dev, stamp.ino, stamp.size, stamp.mtime_ns] {
        out.extend_from_slice(&field.to_le_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(taken)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A count of items of at least `size` bytes each, no more than the bytes left can hold.
    fn count(&mut self, size: usize) -> Option<usize> {
        usize::try_from(self.u64()?).ok().filter(|&n| n.checked_mul(size).is_some_and(|b| b <= self.0.len()))
    }

    fn map(&mut self) -> Option<OutputMap> {
        let count = self.count(24)?;
        let mut objects = Vec::with_capacity(count);
        for _ in 0..count {
            let (position, member) = (self.u32()?, self.u32()?);
            let count = self.count(20)?;
            let mut sections = Vec::with_capacity(count);
            for _ in 0..count {
                sections.push(SectionSpot { section: self.u32()?, offset: self.u64()?, size: self.u64()? });
            }
            let count = self.count(32)?;
            let mut merged = Vec::with_capacity(count);
            for _ in 0..count {
                let (section, constant_size, offset, size) = (self.u32()?, self.u32()?, self.u64()?, self.u64()?);
                let count = self.count(9)?;
                let mut pieces = Vec::with_capacity(count);
                for _ in 0..count {
                    let (start, out) = (self.u32()?, self.u32()?);
                    let shared = match self.take(1)? {
                        [0] => false,
                        [1] => true,
                        _ => return None,
                    };
                    pieces.push(MergedPiece { start, out, shared });
                }
                merged.push(MergedSpot { section, constant_size, offset, size, pieces });
            }
            let count = self.count(1)?;
            let referrers = self.take(count)?.to_vec();
            objects.push(ObjectSpots { position, member, sections, merged, referrers });
        }
        let count = self.count(32)?;
        let mut ranges = Vec::with_capacity(count);
        for _ in 0..count {
            ranges.push(WrittenRange { at: self.u64()?, len: self.u64()?, digest: self.u128()? });
        }
        let build_id = match (self.u64()?, self.u32()?) {
            (u64::MAX, 0) => None,
            (at, len) => Some((at, len)),
        };
        let count = self.count(12)?;
        let mut referrers_since = Vec::with_capacity(count);
        for _ in 0..count {
            let len = self.count(1)?;
            referrers_since.push((self.take(len)?.to_vec(), self.u32()? as i32));
        }
        Some(OutputMap { objects, ranges, build_id, referrers_since })
    }

    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }

    fn stamp(&mut self) -> Option<FileStamp> {
        Some(FileStamp { dev: self.u64()?, ino: self.u64()?, size: self.u64()?, mtime_ns: self.u64()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_rejects_damage() {
        let record = |p: &str, n: u64| FileRecord {
            path: PathBuf::from(p),
            stamp: FileStamp { dev: n, ino: n + 1, size: n + 2, mtime_ns: n + 3 },
            hash: u128::from(n) << 64 | 7,
        };
        let state = State {
            linker: 1,
            options: 2,
            output: FileStamp { dev: 3, ino: 4, size: 5, mtime_ns: 6 },
            inputs: vec![record("a.o", 10), record("/x/libstd.rlib", 20)],
            read_while_linking: vec![record("thin/m.o", 30)],
            map: Some(8),
            copies: vec![KeptCopy { position: 0, member: 2, stamp: record("c", 40).stamp, hash: 11 }],
            archives: vec![KeptArchive { input: 1, layout: 12 }],
        };
        let bytes = state.encode();
        assert_eq!(State::decode(&bytes), Some(state));
        for cut in 0..bytes.len() {
            assert_eq!(State::decode(&bytes[..cut]), None, "a state cut at {cut} bytes was read");
        }
        let mut foreign = bytes.clone();
        foreign[3] ^= 1;
        assert_eq!(State::decode(&foreign), None);
        let map = OutputMap {
            objects: vec![ObjectSpots {
                position: 0,
                member: 3,
                sections: vec![SectionSpot { section: 3, offset: 0x1000, size: 40 }],
                merged: vec![MergedSpot {
                    section: 5,
                    constant_size: 8,
                    offset: 0x2000,
                    size: 300,
                    pieces: vec![
                        MergedPiece { start: 0, out: 12, shared: false },
                        MergedPiece { start: 6, out: 0, shared: true },
                    ],
                }],
                referrers: vec![0, 2, 255],
            }],
            ranges: vec![WrittenRange { at: 0, len: 0x1000, digest: 9 }],
            build_id: Some((0x2f4, 20)),
            referrers_since: vec![(b"f".to_vec(), -1), (b"main".to_vec(), 3)],
        };
        let encoded = encode_map(&map);
        assert_eq!(decode_map(&encoded), Some(map));
        for cut in 0..encoded.len() {
            assert_eq!(decode_map(&encoded[..cut]), None, "a map cut at {cut} bytes was read");
        }
        let mut huge_count = bytes;
        let at = MAGIC.len() + 32 + 32;
        huge_count[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(State::decode(&huge_count), None);
    }
}
