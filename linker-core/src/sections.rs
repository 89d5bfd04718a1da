//! Per-input section classification, done in the input's parse job: which of an object's
//! sections go to the output, under which output-section key ([`SectionKey`]), and the
//! pieces of its non-allocated merge sections (`.debug_str`) split and hashed. None of it
//! depends on other inputs, on resolution or on liveness, so a late input's arrival never
//! holds it up and an early input's is done before the link needs it. Two decisions are left
//! to later passes, which filter this: COMDAT groups discarded by resolution, and allocated
//! sections that gc drops.

use crate::elf::*;
use crate::object_file::ObjectFile;
use crate::pieces::{Piece, SplitSection};

/// What an object's parse job prepares for gc and layout.
#[derive(Default)]
pub struct Prepared<'d> {
    pub sections: FileSections<'d>,
    pub roots: RootSections,
    /// The non-allocated merge sections split into pieces, by section index; a section that
    /// does not split (an unterminated string) keeps its error for the link that uses it.
    splits: Vec<(u32, Option<SplitResult>)>,
}

/// A section split into pieces, or why it does not split.
pub type SplitResult = std::result::Result<SplitSection, &'static str>;

impl<'d> Prepared<'d> {
    /// `strip_debug`: `-S`/`-s`, which leave debug sections out.
    pub fn of(obj: &ObjectFile<'d>, strip_debug: bool) -> Self {
        let (sections, roots) = FileSections::of(obj, strip_debug);
        let mut scratch: Vec<Piece> = Vec::new();
        let splits = sections
            .kept
            .iter()
            .filter_map(|ks| ks.merged_early().map(|k| (ks.index, sections.keys[k as usize])))
            // A section whose contents cannot be read is left to the merge, which reports it.
            .filter_map(|(si, key)| {
                let data = obj.section_data(si as usize).ok()?;
                let strings = key.flags & SHF_STRINGS as u64 != 0;
                Some((si, Some(SplitSection::new(data, strings, key.entsize as usize, &mut scratch))))
            })
            .collect();
        Prepared { sections, roots, splits }
    }

    /// The pieces of section `si`, if the parse job split it, handed over to the merge, which
    /// frees them as soon as it has mapped them.
    pub fn take_split(&mut self, si: u32) -> Option<SplitResult> {
        let i = self.splits.binary_search_by_key(&si, |s| s.0).ok()?;
        self.splits[i].1.take()
    }
}

/// An object's allocated sections that gc starts from, or must look at to find where to
/// start, found from their names and headers in the parse job's one pass over its sections:
/// reading every section's name again in gc was a cache miss per section (gc's search for
/// roots was 4.5% of a release typst-cli link's samples). What resolution decides (discarded COMDAT groups, the
/// `__start_`/`__stop_` symbols referred to) is left to gc.
#[derive(Default)]
pub struct RootSections {
    /// Kept whatever refers to them: `SHF_GNU_RETAIN`, init and fini arrays, notes, and the
    /// sections named `.init`, `.ctors`, `.gcc_except_table` and the like, alone or with a
    /// `.suffix`.
    pub kept: Vec<u32>,
    /// The others named like C identifiers: kept if a `__start_` or `__stop_` symbol of their
    /// name is referred to.
    pub c_identifiers: Vec<u32>,
    /// `.eh_frame`, whose personality routines and LSDAs are roots.
    pub eh_frames: Vec<u32>,
}

impl RootSections {
    /// Notes allocated section `si`, of `flags`, `sh_type` and `name`, if gc must start from it
    /// or look at it.
    fn note(&mut self, si: usize, flags: u64, sh_type: u32, name: &[u8]) {
        // `.init` or `.init.anything`, and the like: the name up to its second dot is the prefix.
        let kept_by_name = matches!(
            first_component(name),
            b".init"
                | b".fini"
                | b".ctors"
                | b".dtors"
                | b".init_array"
                | b".fini_array"
                | b".preinit_array"
                | b".gcc_except_table"
        );
        if flags & SHF_GNU_RETAIN as u64 != 0
            || matches!(sh_type, SHT_INIT_ARRAY | SHT_FINI_ARRAY | SHT_PREINIT_ARRAY | SHT_NOTE)
            || kept_by_name
        {
            self.kept.push(si as u32);
        } else if is_c_identifier(name) {
            self.c_identifiers.push(si as u32);
        }
        if name == b".eh_frame" {
            self.eh_frames.push(si as u32);
        }
    }
}

/// Which output section an input section joins: its output name, type, the flags that
/// keep sections apart, and the entry size of a merge section (0 otherwise).
#[derive(Clone, Copy, Eq, Hash)]
pub struct SectionKey<'d> {
    pub name: &'d [u8],
    pub sh_type: u32,
    pub flags: u64,
    pub entsize: u64,
}

impl PartialEq for SectionKey<'_> {
    /// Compared once or more per input section: names are usually the very same slice (an
    /// output name [`output_name`] returns), so that is checked before the bytes.
    fn eq(&self, other: &Self) -> bool {
        (self.sh_type, self.flags, self.entsize) == (other.sh_type, other.flags, other.entsize)
            && (std::ptr::eq(self.name, other.name) || self.name == other.name)
    }
}

impl<'d> SectionKey<'d> {
    pub fn new(name: &'d [u8], sh_type: u32, flags: u64, entsize: u64) -> Self {
        let flags = flags & (SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_TLS | SHF_MERGE | SHF_STRINGS) as u64;
        SectionKey { name, sh_type, flags, entsize }
    }

    pub fn merge(&self) -> bool {
        self.entsize > 0
    }
}

/// What becomes of a kept input section; numbers index the file's own key list.
#[derive(Clone, Copy)]
pub enum Kept {
    EhFrame,
    Merge(u32),
    /// Copied whole; with its `.init_array`-style priority.
    Inputs(u32, u32),
}

/// One file's sections bound for the output, and the distinct output-section keys they use.
#[derive(Default)]
pub struct FileSections<'d> {
    pub kept: Vec<KeptSection>,
    pub keys: Vec<SectionKey<'d>>,
}

/// An input section bound for the output: allocated ones go only if gc keeps them
/// (`live_only`), `.eh_frame` and the rest always. Its size and alignment are read here with
/// the rest of its header, so that placing it does not read the header again (a cache miss
/// per section).
#[derive(Clone, Copy)]
pub struct KeptSection {
    pub index: u32,
    pub live_only: bool,
    pub kept: Kept,
    pub align: u64,
    pub size: u64,
}

impl KeptSection {
    /// The key of a merge section that is merged before liveness is known (a non-allocated
    /// one: `.debug_str`), as an index into its file's keys.
    pub fn merged_early(&self) -> Option<u32> {
        match self.kept {
            Kept::Merge(key) if !self.live_only => Some(key),
            _ => None,
        }
    }
}

impl<'d> FileSections<'d> {
    /// Decides, for every section of `obj`, whether it goes to the output and where, and
    /// finds the sections gc starts from. Which allocated sections are live is left to gc, and
    /// which COMDAT groups are discarded to resolution: this needs neither, so it runs in the
    /// parse job.
    fn of(obj: &ObjectFile<'d>, strip_debug: bool) -> (Self, RootSections) {
        let mut out = FileSections::default();
        let mut roots = RootSections::default();
        let is_crt_edge = {
            let n = obj.name.rsplit('/').next().unwrap_or("");
            n.starts_with("crtbegin") || n.starts_with("crtend")
        };
        let mut key_index = |key: SectionKey<'d>| -> u32 {
            // Files use a handful of distinct keys, usually the same one as the last section.
            let i = out.keys.iter().rposition(|k| *k == key).unwrap_or_else(|| {
                out.keys.push(key);
                out.keys.len() - 1
            });
            i as u32
        };
        let mut kept = Vec::new();
        for si in 1..obj.sections.len() {
            let s = obj.section(si);
            let flags = s.sh_flags(E);
            let sh_type = s.sh_type(E);
            if flags & SHF_ALLOC as u64 != 0 {
                roots.note(si, flags, sh_type, obj.section_name(si));
            }
            if flags & SHF_EXCLUDE as u64 != 0 {
                continue;
            }
            if !matches!(
                sh_type,
                SHT_PROGBITS
                    | SHT_NOBITS
                    | SHT_INIT_ARRAY
                    | SHT_FINI_ARRAY
                    | SHT_PREINIT_ARRAY
                    | SHT_NOTE
                    | SHT_X86_64_UNWIND
            ) {
                continue;
            }
            let name = obj.section_name(si);
            let alloc = flags & SHF_ALLOC as u64 != 0;
            // .eh_frame is never a GC root; its records are filtered by liveness later.
            let keep = |live_only, kept| KeptSection {
                index: si as u32,
                live_only,
                kept,
                align: obj.section_align(si),
                size: obj.section_size(si),
            };
            if name == b".eh_frame" && alloc {
                kept.push(keep(false, Kept::EhFrame));
                continue;
            }
            if !alloc {
                if strip_debug && name.starts_with(b".debug") {
                    continue;
                }
                if name == b".comment" || name.starts_with(b".note") || name == b".llvmbc" || name == b".llvmcmd" {
                    continue; // .comment is written by the linker; the rest is not for the output
                }
            }
            if name == b".note.GNU-stack" || name == b".note.gnu.property" {
                continue;
            }
            // crtbegin/crtend's legacy .ctors/.dtors list markers must not run.
            if is_crt_edge && (name.starts_with(b".ctors") || name.starts_with(b".dtors")) {
                continue;
            }
            let out_name = output_name(name);
            let out_type = match sh_type {
                _ if out_name == b".init_array" => SHT_INIT_ARRAY,
                _ if out_name == b".fini_array" => SHT_FINI_ARRAY,
                SHT_X86_64_UNWIND => SHT_PROGBITS,
                t => t,
            };
            let entsize = match s.sh_entsize(E) {
                // Strings with no character size given are byte strings: the `object` crate
                // (so Cranelift) writes `.debug_str` so. Merged with 1-byte strings of the same
                // name they make one output section, as DWARF readers need.
                0 if flags & SHF_STRINGS as u64 != 0 => 1,
                entsize => entsize,
            };
            if flags & SHF_MERGE as u64 != 0 && entsize > 0 && sh_type == SHT_PROGBITS {
                let key = SectionKey::new(out_name, out_type, flags, entsize);
                kept.push(keep(alloc, Kept::Merge(key_index(key))));
                continue;
            }
            // A section that is not merged joins the plain sections of its name.
            let flags = flags & !((SHF_MERGE | SHF_STRINGS) as u64);
            let priority =
                if out_type == SHT_INIT_ARRAY || out_type == SHT_FINI_ARRAY { init_priority(name) } else { 0 };
            kept.push(keep(alloc, Kept::Inputs(key_index(SectionKey::new(out_name, out_type, flags, 0)), priority)));
        }
        out.kept = kept;
        (out, roots)
    }
}

/// A section name up to its second dot (`.text` of `.text.main`), or whole.
fn first_component(name: &[u8]) -> &[u8] {
    let end = name.iter().skip(1).position(|&b| b == b'.').map_or(name.len(), |i| i + 1);
    &name[..end]
}

/// The output section name an input section goes to.
fn output_name(name: &[u8]) -> &[u8] {
    // The prefix is the name up to its second dot: matched as a whole (once per input section,
    // so without a comparison per prefix), but for the one prefix with a dot of its own.
    match first_component(name) {
        b".data" if name.get(5..12) == Some(b".rel.ro") && matches!(name.get(12), None | Some(b'.')) => b".data.rel.ro",
        b".text" => b".text",
        b".rodata" => b".rodata",
        b".data" => b".data",
        b".bss" => b".bss",
        b".tdata" => b".tdata",
        b".tbss" => b".tbss",
        b".init_array" => b".init_array",
        b".fini_array" => b".fini_array",
        b".preinit_array" => b".preinit_array",
        b".ctors" => b".init_array",
        b".dtors" => b".fini_array",
        b".gcc_except_table" => b".gcc_except_table",
        b".ldata" => b".ldata",
        b".lrodata" => b".lrodata",
        b".lbss" => b".lbss",
        _ => name,
    }
}

/// Sort key of an `.init_array.N`/`.ctors.N` input: lower priority numbers run first; plain
/// sections after all numbered ones.
fn init_priority(name: &[u8]) -> u32 {
    let digits = |s: &[u8]| std::str::from_utf8(s).ok().and_then(|t| t.parse::<u32>().ok());
    for (prefix, ctors) in
        [(&b".init_array."[..], false), (b".fini_array.", false), (b".ctors.", true), (b".dtors.", true)]
    {
        if let Some(n) = name.strip_prefix(prefix).and_then(digits) {
            return if ctors { 65535u32.saturating_sub(n) } else { n };
        }
    }
    u32::MAX
}
