//! `ar` archives (static libraries), read in place without copying.
//!
//! An archive is an 8-byte magic string followed by members. Each member is a 60-byte
//! text header and then its data, padded with `\n` to an even offset:
//!
//! ```text
//! offset  size  field
//!      0    16  name, space padded
//!     16    12  modification time   (ignored)
//!     28     6  owner id            (ignored)
//!     34     6  group id            (ignored)
//!     40     8  mode, octal         (ignored)
//!     48    10  data size, decimal, space padded
//!     58     2  "`\n"
//! ```
//!
//! GNU ar names a member `name/`. Longer names live in a `//` member of newline
//! separated `name/` entries and the header says `/N`, N being the entry's offset
//! there. BSD ar instead writes `#1/N` and puts an N-byte name at the start of the data.
//! The symbol table is the member `/`: a big-endian u32 count, that many u32 member
//! header offsets, then as many NUL-terminated symbol names; `/SYM64/` is the same
//! with u64 count and offsets, used by archives over 4 GiB.
//!
//! A GNU thin archive (`!<thin>\n`) has the same headers, but only the symbol and name
//! tables have their data inside; every other member is a file whose path, relative
//! to the archive's directory unless absolute, is the member's name, and whose size is
//! in the header.

use std::fmt;

const MAGIC: &[u8] = b"!<arch>\n";
const THIN_MAGIC: &[u8] = b"!<thin>\n";
const HEADER_SIZE: usize = 60;
const HEADER_END: &[u8] = b"`\n";

#[derive(Debug)]
pub struct ArchiveError(pub String);

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArchiveError {}

#[derive(Debug, Clone)]
pub struct Archive<'a> {
    /// Ordinary members in archive order; the symbol and name tables are not included.
    pub members: Vec<Member<'a>>,
    /// Symbol table entries in table order.
    pub symbols: Vec<ArchiveSymbol<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    pub name: &'a [u8],
    /// Where the member's header starts; symbol tables refer to members by this.
    pub header_offset: u64,
    pub data: MemberData<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberData<'a> {
    Bytes(&'a [u8]),
    /// A thin archive member: a file elsewhere.
    Thin {
        /// Relative to the archive's directory unless absolute.
        path: &'a [u8],
        size: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveSymbol<'a> {
    pub name: &'a [u8],
    /// Index into [`Archive::members`] of the member that defines the symbol.
    pub member: u32,
}

pub fn is_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC) || bytes.starts_with(THIN_MAGIC)
}

pub fn parse(bytes: &[u8]) -> Result<Archive<'_>, ArchiveError> {
    let thin = if bytes.starts_with(MAGIC) {
        false
    } else if bytes.starts_with(THIN_MAGIC) {
        true
    } else {
        return Err(ArchiveError("not an archive: missing !<arch> or !<thin> magic at offset 0".into()));
    };
    let entries = read_entries(bytes, thin)?;

    // Long names may in principle be referenced before the table appears, so find it first.
    let long_names = entries.iter().find_map(|entry| match entry.kind {
        EntryKind::LongNames => entry.data,
        _ => None,
    });
    let mut members = Vec::new();
    let mut symbol_tables = Vec::new();
    for entry in &entries {
        match entry.kind {
            EntryKind::Member => {
                let member = resolve_member(entry, long_names)?;
                // BSD ar's symbol table; rivet reads the GNU-style ones.
                if !matches!(member.name, b"__.SYMDEF" | b"__.SYMDEF SORTED") {
                    members.push(member);
                }
            }
            EntryKind::SymbolTable { offset_size } => symbol_tables.push((entry, offset_size)),
            EntryKind::LongNames => {}
        }
    }
    let mut symbols = Vec::new();
    for (entry, offset_size) in symbol_tables {
        read_symbol_table(entry, offset_size, &members, &mut symbols)?;
    }
    Ok(Archive { members, symbols })
}

#[derive(Clone, Copy)]
enum EntryKind {
    Member,
    SymbolTable { offset_size: usize },
    LongNames,
}

/// A member as its header describes it, before names are resolved.
struct Entry<'a> {
    header_offset: usize,
    kind: EntryKind,
    /// The header's name field with trailing padding removed.
    raw_name: &'a [u8],
    size: u64,
    /// The data stored in the archive; `None` for thin archive members.
    data: Option<&'a [u8]>,
}

fn read_entries(bytes: &[u8], thin: bool) -> Result<Vec<Entry<'_>>, ArchiveError> {
    let mut entries = Vec::new();
    let mut offset = MAGIC.len();
    while offset < bytes.len() {
        let header = bytes
            .get(offset..offset.saturating_add(HEADER_SIZE))
            .ok_or_else(|| error_at(offset, "truncated member header"))?;
        let (name_field, rest) = header.split_at(16);
        let (_time_owner_group_mode, rest) = rest.split_at(32);
        let (size_field, terminator) = rest.split_at(10);
        if terminator != HEADER_END {
            return Err(error_at(offset, "member header does not end with \"`\\n\""));
        }
        let size = parse_decimal(size_field)
            .ok_or_else(|| error_at(offset, &format!("bad member size {:?}", String::from_utf8_lossy(size_field))))?;
        let raw_name = name_field.trim_ascii_end();
        let kind = classify(raw_name);
        let data_offset = offset + HEADER_SIZE;
        let data_stored_here = !thin || !matches!(kind, EntryKind::Member);
        let data = if data_stored_here {
            let data = usize::try_from(size)
                .ok()
                .and_then(|size| bytes.get(data_offset..data_offset.checked_add(size)?))
                .ok_or_else(|| {
                    let archive_size = bytes.len();
                    let message = format!(
                        "member data ({size} bytes) extends past the end of the archive \
                         ({archive_size} bytes)"
                    );
                    error_at(offset, &message)
                })?;
            Some(data)
        } else {
            None
        };
        entries.push(Entry { header_offset: offset, kind, raw_name, size, data });
        let data_end = data_offset + data.map_or(0, <[u8]>::len);
        offset = data_end + data_end % 2;
    }
    Ok(entries)
}

fn classify(raw_name: &[u8]) -> EntryKind {
    match raw_name {
        b"/" => EntryKind::SymbolTable { offset_size: 4 },
        b"/SYM64/" => EntryKind::SymbolTable { offset_size: 8 },
        b"//" => EntryKind::LongNames,
        _ => EntryKind::Member,
    }
}

fn resolve_member<'a>(entry: &Entry<'a>, long_names: Option<&'a [u8]>) -> Result<Member<'a>, ArchiveError> {
    let header_offset = entry.header_offset as u64;
    if let Some(length) = entry.raw_name.strip_prefix(b"#1/") {
        // BSD: the name is the start of the data, and the rest is the member.
        let data =
            entry.data.ok_or_else(|| error_at(entry.header_offset, "BSD-style member name in a thin archive"))?;
        let (name, data) = parse_decimal(length)
            .and_then(|length| usize::try_from(length).ok())
            .and_then(|length| data.split_at_checked(length))
            .ok_or_else(|| error_at(entry.header_offset, "bad BSD-style member name length"))?;
        // BSD names are NUL padded.
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        return Ok(Member { name, header_offset, data: MemberData::Bytes(data) });
    }
    let name = match entry.raw_name.strip_prefix(b"/") {
        Some(index) => long_name(index, long_names).ok_or_else(|| {
            error_at(
                entry.header_offset,
                &format!("bad long member name reference {:?}", String::from_utf8_lossy(entry.raw_name)),
            )
        })?,
        None => entry.raw_name.strip_suffix(b"/").unwrap_or(entry.raw_name),
    };
    let data = match entry.data {
        Some(bytes) => MemberData::Bytes(bytes),
        None => MemberData::Thin { path: name, size: entry.size },
    };
    Ok(Member { name, header_offset, data })
}

/// The name at decimal offset `index` in the `//` table: up to the newline, without
/// the `/` that GNU ar ends it with.
fn long_name<'a>(index: &[u8], long_names: Option<&'a [u8]>) -> Option<&'a [u8]> {
    let start = usize::try_from(parse_decimal(index)?).ok()?;
    let rest = long_names?.get(start..)?;
    let line = rest.split(|&b| b == b'\n').next()?;
    Some(line.strip_suffix(b"/").unwrap_or(line))
}

fn read_symbol_table<'a>(
    entry: &Entry<'a>,
    offset_size: usize,
    members: &[Member<'a>],
    symbols: &mut Vec<ArchiveSymbol<'a>>,
) -> Result<(), ArchiveError> {
    let table_error = |message: &str| error_at(entry.header_offset, &format!("symbol table: {message}"));
    let data = entry.data.ok_or_else(|| table_error("no data"))?;
    let (count, rest) = read_big_endian(data, offset_size).ok_or_else(|| table_error("truncated symbol count"))?;
    let offsets_size = usize::try_from(count)
        .ok()
        .and_then(|count| count.checked_mul(offset_size))
        .filter(|&size| size <= rest.len())
        .ok_or_else(|| table_error(&format!("{count} symbols do not fit in {} bytes", data.len())))?;
    let (mut offsets, mut names) = rest.split_at(offsets_size);
    symbols.reserve(offsets_size / offset_size);
    for index in 0..count {
        let (member_offset, next_offsets) =
            read_big_endian(offsets, offset_size).ok_or_else(|| table_error("truncated offsets"))?;
        offsets = next_offsets;
        let name_length = memchr::memchr(0, names)
            .ok_or_else(|| table_error(&format!("name of symbol {index} is missing or not NUL-terminated")))?;
        let (name, rest) = names.split_at(name_length);
        names = rest.get(1..).unwrap_or_default();
        let member = members.binary_search_by_key(&member_offset, |member| member.header_offset).map_err(|_| {
            table_error(&format!(
                "symbol {} refers to offset {member_offset}, where no member starts",
                String::from_utf8_lossy(name)
            ))
        })?;
        let member = u32::try_from(member).map_err(|_| table_error("too many members"))?;
        symbols.push(ArchiveSymbol { name, member });
    }
    Ok(())
}

/// Reads a big-endian unsigned integer of `size` (4 or 8) bytes from the front of `bytes`.
fn read_big_endian(bytes: &[u8], size: usize) -> Option<(u64, &[u8])> {
    let (number, rest) = bytes.split_at_checked(size)?;
    let value = number.iter().fold(0u64, |value, &byte| (value << 8) | u64::from(byte));
    Some((value, rest))
}

/// A decimal number followed by optional space padding, as header fields are written.
fn parse_decimal(field: &[u8]) -> Option<u64> {
    let digits = field.trim_ascii_end();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &digit| value.checked_mul(10)?.checked_add(u64::from(digit - b'0')))
}

fn error_at(offset: usize, message: &str) -> ArchiveError {
    ArchiveError(format!("malformed archive at offset {offset}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Builds a regular archive by hand from (header name field, data) pairs.
    fn build_archive(magic: &[u8], members: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut bytes = magic.to_vec();
        for (name, data) in members {
            bytes.extend_from_slice(&member_header(name, data.len()));
            bytes.extend_from_slice(data);
            if bytes.len() % 2 == 1 {
                bytes.push(b'\n');
            }
        }
        bytes
    }

    fn member_header(name: &[u8], size: usize) -> Vec<u8> {
        let mut header = format!("{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", "", 0, 0, 0, 644, size).into_bytes();
        header[..name.len()].copy_from_slice(name);
        header
    }

    fn names<'a>(archive: &Archive<'a>) -> Vec<&'a [u8]> {
        archive.members.iter().map(|member| member.name).collect()
    }

    /// Symbol names paired with the names of their members.
    fn symbol_map<'a>(archive: &Archive<'a>) -> Vec<(&'a [u8], &'a [u8])> {
        archive.symbols.iter().map(|symbol| (symbol.name, archive.members[symbol.member as usize].name)).collect()
    }

    /// Cutting an archive short anywhere past its magic must be an error; the archives
    /// passed here have a symbol in their last member, so even a cut at a member
    /// boundary leaves a dangling symbol. (Just the magic is a valid empty archive.)
    fn assert_truncations_fail(bytes: &[u8]) {
        for length in (0..bytes.len()).filter(|&length| length != MAGIC.len()) {
            assert!(parse(&bytes[..length]).is_err(), "truncated to {length}");
        }
    }

    fn expect_error(bytes: &[u8], needle: &str) {
        match parse(bytes) {
            Ok(archive) => panic!("expected an error containing {needle:?}, got {archive:?}"),
            Err(error) => assert!(error.to_string().contains(needle), "{error}"),
        }
    }

    #[test]
    fn empty_archives() {
        for magic in [MAGIC, THIN_MAGIC] {
            let archive = parse(magic).unwrap();
            assert!(archive.members.is_empty() && archive.symbols.is_empty());
            assert!(is_archive(magic));
        }
        assert!(!is_archive(b"!<arch>"));
        assert!(!is_archive(b"\x7fELF"));
        expect_error(b"!<arch", "magic");
        expect_error(b"", "magic");
    }

    #[test]
    fn gnu_names_and_symbol_table() {
        let long_name = b"a_rather_long_member_name.o";
        let mut long_names = long_name.to_vec();
        long_names.extend_from_slice(b"/\n");
        let data_a = b"odd";
        let data_b = b"even";
        // The symbol table needs the member offsets, which depend on its own size.
        let names_area = b"alpha\0beta\0gamma\0";
        let table_size = 4 + 3 * 4 + names_area.len();
        let table_end = MAGIC.len() + HEADER_SIZE + table_size;
        let long_names_end = table_end + table_end % 2 + HEADER_SIZE + long_names.len();
        let offset_a = long_names_end + long_names_end % 2;
        let offset_b = offset_a + HEADER_SIZE + data_a.len() + 1;
        let mut table = 3u32.to_be_bytes().to_vec();
        for offset in [offset_a, offset_b, offset_a] {
            table.extend_from_slice(&(offset as u32).to_be_bytes());
        }
        table.extend_from_slice(names_area);
        let bytes =
            build_archive(MAGIC, &[(b"/", &table), (b"//", &long_names), (b"short.o/", data_a), (b"/0", data_b)]);
        let archive = parse(&bytes).unwrap();
        assert_eq!(names(&archive), [&b"short.o"[..], long_name]);
        assert_eq!(archive.members[0].header_offset, offset_a as u64);
        assert_eq!(archive.members[0].data, MemberData::Bytes(data_a));
        assert_eq!(archive.members[1].data, MemberData::Bytes(data_b));
        assert_eq!(
            symbol_map(&archive),
            [(&b"alpha"[..], &b"short.o"[..]), (b"beta", long_name), (b"gamma", b"short.o")]
        );

        assert_truncations_fail(&bytes);
    }

    #[test]
    fn sym64_table() {
        let member_offset = (MAGIC.len() + HEADER_SIZE + 8 + 8 + 4) as u64;
        let mut table = 1u64.to_be_bytes().to_vec();
        table.extend_from_slice(&member_offset.to_be_bytes());
        table.extend_from_slice(b"big\0");
        let bytes = build_archive(MAGIC, &[(b"/SYM64/", &table), (b"x.o/", b"data")]);
        let archive = parse(&bytes).unwrap();
        assert_eq!(symbol_map(&archive), [(&b"big"[..], &b"x.o"[..])]);
    }

    #[test]
    fn bsd_names() {
        let bytes = build_archive(
            MAGIC,
            &[
                (b"#1/20", b"__.SYMDEF SORTED\0\0\0\0\0\0\0\0"),
                (b"#1/12", b"long_name.o\0payload"),
                (b"plain.o", b"xy"),
                (b"__.SYMDEF", b""),
            ],
        );
        let archive = parse(&bytes).unwrap();
        assert_eq!(names(&archive), [&b"long_name.o"[..], b"plain.o"]);
        assert_eq!(archive.members[0].data, MemberData::Bytes(b"payload"));
        expect_error(&build_archive(MAGIC, &[(b"#1/99", b"short")]), "BSD");
        expect_error(&build_archive(THIN_MAGIC, &[(b"#1/3", b"")]), "thin");
    }

    #[test]
    fn malformed_headers_and_tables() {
        let good = build_archive(MAGIC, &[(b"a.o/", b"data")]);
        let mut bad_terminator = good.clone();
        bad_terminator[MAGIC.len() + 58] = b'X';
        expect_error(&bad_terminator, "offset 8");
        let mut bad_size = good.clone();
        bad_size[MAGIC.len() + 48] = b'x';
        expect_error(&bad_size, "bad member size");
        let mut huge_size = good.clone();
        huge_size[MAGIC.len() + 48..MAGIC.len() + 58].copy_from_slice(b"9999999999");
        expect_error(&huge_size, "past the end");

        expect_error(&build_archive(MAGIC, &[(b"/5", b"")]), "long member name");
        expect_error(&build_archive(MAGIC, &[(b"//", b"x/\n"), (b"/9", b"")]), "long member name");
        expect_error(&build_archive(MAGIC, &[(b"/x", b"")]), "long member name");

        let huge_count = [0xff, 0xff, 0xff, 0xff];
        expect_error(&build_archive(MAGIC, &[(b"/", &huge_count)]), "do not fit");
        expect_error(&build_archive(MAGIC, &[(b"/", b"\0\0")]), "symbol count");
        let nowhere = [0, 0, 0, 1, 0, 0, 0, 9, b's', 0];
        expect_error(&build_archive(MAGIC, &[(b"/", &nowhere), (b"a.o/", b"")]), "offset 9");
        let unterminated = [0, 0, 0, 1, 0, 0, 0, 8, b's'];
        expect_error(&build_archive(MAGIC, &[(b"/", &unterminated)]), "NUL");
        // A table entry pointing at the table itself is not a member either.
        let at_table = [0, 0, 0, 1, 0, 0, 0, 8, b's', 0];
        expect_error(&build_archive(MAGIC, &[(b"/", &at_table)]), "no member starts");
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let mut table = 2u32.to_be_bytes().to_vec();
        table.extend_from_slice(&[0, 0, 0, 0x5c, 0, 0, 0, 0x5c]);
        table.extend_from_slice(b"f\0g\0");
        let bytes = build_archive(
            MAGIC,
            &[(b"/", &table), (b"//", b"long_member_name.o/\n"), (b"/0", b"abc"), (b"#1/4", b"name1234")],
        );
        for position in 0..bytes.len() {
            for replacement in [0, b' ', b'/', b'9', b'#', b'1', b'\n', 0xff] {
                let mut corrupted = bytes.clone();
                corrupted[position] = replacement;
                let _ = parse(&corrupted);
            }
        }
        for length in 0..bytes.len() {
            let _ = parse(&bytes[..length]);
        }
    }

    /// A scratch directory that is removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let path = std::env::temp_dir().join(format!("rivet-archive-{}-{name}", std::process::id()));
            std::fs::create_dir_all(path.join("sub")).expect("create temp dir");
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).ok();
        }
    }

    fn tool_available(tool: &str) -> bool {
        let available = Command::new(tool).arg("--version").output().is_ok_and(|output| output.status.success());
        if !available {
            eprintln!("skipping: `{tool}` is not installed");
        }
        available
    }

    fn run(dir: &Path, program: &str, args: &[&str]) {
        let output = Command::new(program).args(args).current_dir(dir).output().expect("run tool");
        assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Assembles objects with `as` that define the given global symbols.
    fn make_objects(dir: &Path, objects: &[(&str, &[&str])]) {
        for (object, symbols) in objects {
            let source: String = symbols.iter().map(|symbol| format!(".globl {symbol}\n{symbol}: .byte 0\n")).collect();
            let source_path = dir.join(format!("{object}.s"));
            std::fs::write(&source_path, source).unwrap();
            run(dir, "as", &["-o", object, source_path.to_str().unwrap()]);
        }
    }

    const OBJECTS: &[(&str, &[&str])] =
        &[("a.o", &["alpha", "apple"]), ("a_member_with_a_long_name.o", &["long_one"]), ("sub/nested.o", &["nested"])];

    fn expected_symbols(member_names: &[&str]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut expected: Vec<_> = OBJECTS
            .iter()
            .zip(member_names)
            .flat_map(|((_, symbols), member)| {
                symbols.iter().map(move |symbol| (symbol.as_bytes().to_vec(), member.as_bytes().to_vec()))
            })
            .collect();
        expected.sort();
        expected
    }

    fn actual_symbols(archive: &Archive<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut actual: Vec<_> =
            symbol_map(archive).into_iter().map(|(symbol, member)| (symbol.to_vec(), member.to_vec())).collect();
        actual.sort();
        actual
    }

    #[test]
    fn archives_built_by_ar() {
        if !tool_available("ar") || !tool_available("as") {
            return;
        }
        let dir = TempDir::new("regular");
        make_objects(&dir.0, OBJECTS);
        // An odd-sized member exercises padding. It goes first so that the last member
        // has a symbol, which makes every truncation an error.
        std::fs::write(dir.0.join("odd.txt"), "odd").unwrap();
        let mut args = vec!["rcs", "libtest.a", "odd.txt"];
        args.extend(OBJECTS.iter().map(|(object, _)| *object));
        run(&dir.0, "ar", &args);

        let bytes = std::fs::read(dir.0.join("libtest.a")).unwrap();
        let archive = parse(&bytes).unwrap();
        // ar stores members by file name, without directories.
        let member_names = ["odd.txt", "a.o", "a_member_with_a_long_name.o", "nested.o"];
        let expected_names: Vec<&[u8]> = member_names.iter().map(|name| name.as_bytes()).collect();
        assert_eq!(names(&archive), expected_names);
        assert_eq!(archive.members[0].data, MemberData::Bytes(b"odd"));
        for (member, (object, _)) in archive.members[1..].iter().zip(OBJECTS) {
            let on_disk = std::fs::read(dir.0.join(object)).unwrap();
            assert_eq!(member.data, MemberData::Bytes(&on_disk));
        }
        assert_eq!(actual_symbols(&archive), expected_symbols(&member_names[1..]));

        assert_truncations_fail(&bytes);
    }

    #[test]
    fn thin_archives_built_by_ar() {
        if !tool_available("ar") || !tool_available("as") {
            return;
        }
        let dir = TempDir::new("thin");
        make_objects(&dir.0, OBJECTS);
        let mut args = vec!["rcsT", "libthin.a"];
        args.extend(OBJECTS.iter().map(|(object, _)| *object));
        run(&dir.0, "ar", &args);

        let bytes = std::fs::read(dir.0.join("libthin.a")).unwrap();
        let archive = parse(&bytes).unwrap();
        let member_names: Vec<&str> = OBJECTS.iter().map(|(object, _)| *object).collect();
        for (member, object) in archive.members.iter().zip(&member_names) {
            let size = std::fs::metadata(dir.0.join(object)).unwrap().len();
            assert_eq!(member.data, MemberData::Thin { path: object.as_bytes(), size });
            assert_eq!(member.name, object.as_bytes());
        }
        assert_eq!(archive.members.len(), OBJECTS.len());
        assert_eq!(actual_symbols(&archive), expected_symbols(&member_names));

        assert_truncations_fail(&bytes);
    }
}
