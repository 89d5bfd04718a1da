//! The source file and line of a place in a relocatable object, for diagnostics (an undefined
//! symbol's references, as lld prints them).
//!
//! An object's `.debug_line` names code addresses through relocations (`DW_LNE_set_address`
//! against a section or function symbol), and DWARF 5 names its files through offsets into
//! `.debug_line_str` and `.debug_str`, relocated too. The section is copied and relocated
//! here with made-up addresses that say which section an address is in: (section index + 1)
//! in the bits from 40 up, the offset in the section below; string offsets get their plain
//! values. gimli then runs the line programs, and a place is looked up among the rows of its
//! section. Only errors take this path: it costs a copy of `.debug_line` per object asked.

use crate::elf::*;
use crate::object_file::ObjectFile;

/// Bits of a made-up address below the section number.
const SECTION_SHIFT: u32 = 40;

/// The line table of one object: runs of code with their source place.
pub struct SourceLines {
    /// (section, start offset, end offset, index in `files`, line), per run.
    runs: Vec<(u32, u64, u64, usize, u64)>,
    files: Vec<String>,
}

type Reader<'a> = gimli::EndianSlice<'a, gimli::LittleEndian>;

impl SourceLines {
    /// Reads `obj`'s line programs; nothing when it has none or they cannot be read.
    pub fn of(obj: &ObjectFile<'_>) -> Option<SourceLines> {
        let named = |name: &[u8]| (1..obj.sections.len()).find(|&s| obj.section_name(s) == name);
        let line_section = named(b".debug_line")?;
        let line = relocated(obj, line_section)?;
        let strings = |name: &[u8]| named(name).and_then(|s| obj.section_data(s).ok()).unwrap_or_default();
        let (line_str, str) = (strings(b".debug_line_str"), strings(b".debug_str"));
        let mut table = SourceLines { runs: Vec::new(), files: Vec::new() };
        let debug_line = gimli::DebugLine::new(&line, gimli::LittleEndian);
        let mut offset = 0;
        while offset < line.len() {
            let Ok(program) = debug_line.program(gimli::DebugLineOffset(offset), 8, None, None) else { break };
            let header = program.header();
            offset += header.unit_length() + header.format().initial_length_size() as usize;
            let mut file_names = std::collections::HashMap::new();
            let mut previous: Option<(u64, usize, u64)> = None;
            let mut rows = program.rows();
            while let Ok(Some((header, row))) = rows.next_row() {
                let address = row.address();
                if let Some((start, file, line)) = previous.take()
                    && address >> SECTION_SHIFT == start >> SECTION_SHIFT
                    && address >= start
                    && start >> SECTION_SHIFT != 0
                {
                    let mask = (1 << SECTION_SHIFT) - 1;
                    let section = (start >> SECTION_SHIFT) as u32 - 1;
                    table.runs.push((section, start & mask, address & mask, file, line));
                }
                if row.end_sequence() {
                    continue;
                }
                let file = *file_names.entry(row.file_index()).or_insert_with(|| {
                    table.files.push(file_name(header, row.file_index(), line_str, str));
                    table.files.len() - 1
                });
                previous = Some((address, file, row.line().map_or(0, |l| l.get())));
            }
        }
        Some(table)
    }

    /// `file:line` of the code at `offset` in section `section`.
    pub fn at(&self, section: u32, offset: u64) -> Option<String> {
        let &(_, _, _, file, line) = self
            .runs
            .iter()
            .rfind(|&&(s, start, end, _, _)| s == section && (start..end.max(start + 1)).contains(&offset))?;
        Some(if line == 0 { self.files[file].clone() } else { format!("{}:{line}", self.files[file]) })
    }
}

/// A copy of section `index` with its relocations applied (see the module docs).
fn relocated(obj: &ObjectFile<'_>, index: usize) -> Option<Vec<u8>> {
    let mut bytes = obj.section_data(index).ok()?.to_vec();
    for r in obj.relocations(index) {
        let sym = r.r_sym(E, false) as usize;
        let (offset, addend) = (r.r_offset(E) as usize, r.r_addend(E) as u64);
        let value = obj.symbol(sym).st_value(E).wrapping_add(addend);
        match r.r_type(E, false) {
            R_X86_64_64 => {
                let section = u64::from(obj.symbol_section(sym)) + 1;
                let made_up = (section << SECTION_SHIFT) | (value & ((1 << SECTION_SHIFT) - 1));
                bytes.get_mut(offset..offset + 8)?.copy_from_slice(&made_up.to_le_bytes());
            }
            R_X86_64_32 => bytes.get_mut(offset..offset + 4)?.copy_from_slice(&(value as u32).to_le_bytes()),
            _ => {}
        }
    }
    Some(bytes)
}

/// A file's name as the line table gives it: with its directory unless that is the
/// compilation directory (as lld prints it).
fn file_name(header: &gimli::LineProgramHeader<Reader<'_>>, index: u64, line_str: &[u8], str: &[u8]) -> String {
    let text = |value: gimli::AttributeValue<Reader<'_>>| -> Option<String> {
        let bytes = match value {
            gimli::AttributeValue::String(s) => s.slice(),
            gimli::AttributeValue::DebugLineStrRef(o) => c_string(line_str.get(o.0..)?),
            gimli::AttributeValue::DebugStrRef(o) => c_string(str.get(o.0..)?),
            _ => return None,
        };
        Some(String::from_utf8_lossy(bytes).into_owned())
    };
    let Some(file) = header.file(index) else { return "?".into() };
    let name = text(file.path_name()).unwrap_or_else(|| "?".into());
    let in_comp_dir = file.directory_index() == 0;
    match header.directory(file.directory_index()).and_then(text) {
        Some(dir) if !in_comp_dir && !name.starts_with('/') => format!("{dir}/{name}"),
        _ => name,
    }
}
