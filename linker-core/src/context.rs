//! The shared context of a link after symbol resolution: [`Link`] holds the configuration,
//! the resolution, the output mode and, per symbol, what the relocation passes ask of its
//! definition ([`class`] bits and the section it lives in), computed once in parallel. The
//! passes after resolution (gc, scan, layout, write) read it; it depends on nothing they define.
//! Liveness is filled in once, by the pipeline, from the gc pass's result.

use crate::args::{Config, OutputKind};
use crate::elf::*;
use crate::error::{Error, Result};
use crate::resolve::{FileData, FileId, InputFile, Rank, Resolution, Resolver, SymbolId};
use crate::version_script::VersionScript;

/// What kind of file is produced, reduced to the questions the passes ask.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputMode {
    pub shared: bool,
    /// Position-independent: a shared object, a PIE or a static PIE.
    pub pic: bool,
    /// Has `.dynamic` (and so dynamic relocations are applied by a loader).
    pub dynamic: bool,
    /// Asks for the dynamic loader (`PT_INTERP`).
    pub interp: bool,
    /// Base address of the image.
    pub base: u64,
    /// Undefined weak symbols go to `.dynsym`, so that the loader binds them if some library
    /// defines them at run time (Rust's std finds newer libc functions this way). Like lld:
    /// when the link is dynamic (a shared object, or any shared library linked in), unless
    /// `-z nodynamic-undefined-weak`.
    pub dynamic_undefined_weak: bool,
}

pub fn output_mode(config: &Config, resolver: &Resolver<'_>) -> OutputMode {
    let has_dso = resolver.files.iter().any(|f| matches!(f.data, FileData::Shared(_)));
    let mut mode = match config.output_kind {
        OutputKind::SharedObject => OutputMode { shared: true, pic: true, dynamic: true, ..Default::default() },
        OutputKind::Pie => {
            OutputMode { pic: true, dynamic: true, interp: !config.no_dynamic_linker, ..Default::default() }
        }
        OutputKind::StaticPie => OutputMode { pic: true, dynamic: true, ..Default::default() },
        OutputKind::StaticExecutable => OutputMode { base: 0x400000, ..Default::default() },
        OutputKind::Executable => OutputMode {
            dynamic: has_dso,
            interp: has_dso && !config.no_dynamic_linker,
            base: 0x400000,
            ..Default::default()
        },
    };
    // Only a loader binds them: never in a static PIE, which GNU ld too ignores the flag for.
    let wanted = config.z_dynamic_undefined_weak.unwrap_or(mode.shared || has_dso);
    mode.dynamic_undefined_weak = wanted && (mode.shared || mode.interp);
    mode
}

/// Everything the passes after resolution share.
pub struct Link<'d> {
    pub config: &'d Config,
    pub res: Resolution<'d>,
    pub output: OutputMode,
    /// `live[file][section]`: the section goes to the output.
    pub live: Vec<Vec<bool>>,
    pub version_script: Option<VersionScript>,
    /// Per symbol id: [`class`] bits of its definition.
    pub classes: Vec<u8>,
    /// Per symbol id: the (file, section) its definition is in, `NOT_IN_SECTION` if none.
    def_sections: Vec<(u32, u32)>,
    /// With a version script, per name of the name table: what the script says of it, asked
    /// once per name (in parallel), not once per reference and again per dynamic symbol.
    script_answers: Vec<ScriptAnswer>,
}

/// What a version script says of a name.
#[derive(Clone, Copy, Debug)]
struct ScriptAnswer {
    /// It stays global ([`VersionScript::is_global`]).
    global: bool,
    /// Its version ([`VersionScript::version_of`]).
    version: Option<u32>,
}

impl ScriptAnswer {
    fn of(script: &VersionScript, name: &[u8]) -> ScriptAnswer {
        ScriptAnswer { global: script.is_global(name), version: script.version_of(name).map(|v| v as u32) }
    }
}

const NOT_IN_SECTION: (u32, u32) = (u32::MAX, 0);

/// What the relocation passes need to know about a symbol's definition.
pub mod class {
    /// References must go through the dynamic linker.
    pub const PREEMPTIBLE: u8 = 1;
    /// A local IFUNC: references go through a PLT entry and an IRELATIVE GOT slot.
    pub const IFUNC: u8 = 2;
    /// Defined by a shared library.
    pub const SHARED: u8 = 4;
    pub const SHARED_FUNC: u8 = 8;
    /// Absolute or undefined: its value does not move with the image.
    pub const ABSOLUTE: u8 = 16;
    pub const UNDEFINED: u8 = 32;
}

/// Where a symbol's definition is, after resolution.
#[derive(Clone, Copy, Debug)]
pub enum Def<'d> {
    /// In section `section` of object `file`, at `value`.
    Section {
        file: FileId,
        section: u32,
        value: u64,
        sym: &'d Sym,
    },
    Absolute {
        value: u64,
        sym: &'d Sym,
    },
    Common {
        id: SymbolId,
        sym: &'d Sym,
    },
    Shared {
        file: FileId,
        index: u32,
        sym: &'d Sym,
    },
    /// Defined by the linker; index into `Resolution::internal`.
    Internal(u32),
    Undefined {
        weak: bool,
    },
}

impl<'d> Link<'d> {
    /// The context of a link whose symbols are resolved: classes and definition sections are
    /// computed here, liveness is filled in by the pipeline after the gc pass.
    pub fn new(
        config: &'d Config,
        res: Resolution<'d>,
        output: OutputMode,
        version_script: Option<VersionScript>,
    ) -> Self {
        use rayon::prelude::*;
        let script_answers = match &version_script {
            Some(script) => res.names.par_iter().map(|(name, _)| ScriptAnswer::of(script, name)).collect(),
            None => Vec::new(),
        };
        let mut link = Link {
            config,
            res,
            output,
            live: Vec::new(),
            version_script,
            classes: Vec::new(),
            def_sections: Vec::new(),
            script_answers,
        };
        link.compute_classes();
        link
    }

    /// The definition symbol `id` binds to.
    pub fn def(&self, id: SymbolId) -> Def<'d> {
        let target = self.res.resolved[id as usize];
        let fid = self.res.file_of_symbol(target);
        let file = &self.res.files[fid as usize];
        self.def_in(fid, file, (target - file.symbol_base) as usize)
    }

    /// What symbol `index` of file `fid` (`file`) defines, when it is its own definition.
    fn def_in(&self, fid: FileId, file: &InputFile<'d>, index: usize) -> Def<'d> {
        match &file.data {
            FileData::Internal => Def::Internal(index as u32),
            FileData::Shared(so) => Def::Shared { file: fid, index: index as u32, sym: so.symbol(index) },
            FileData::Object(obj) => {
                let sym = obj.symbol(index);
                let shndx = obj.symbol_section(index);
                if shndx == SHN_UNDEF as u32 || (shndx < SHN_LORESERVE as u32 && file.discarded[shndx as usize]) {
                    Def::Undefined { weak: sym.st_bind() == STB_WEAK }
                } else if shndx == SHN_ABS as u32 {
                    Def::Absolute { value: sym.st_value(E), sym }
                } else if shndx == SHN_COMMON as u32 {
                    Def::Common { id: file.symbol_base + index as SymbolId, sym }
                } else if shndx >= SHN_LORESERVE as u32 {
                    Def::Absolute { value: sym.st_value(E), sym }
                } else {
                    Def::Section { file: fid, section: shndx, value: sym.st_value(E), sym }
                }
            }
        }
    }

    pub fn symbol_id(&self, file: FileId, index: usize) -> SymbolId {
        self.res.files[file as usize].symbol_base + index as u32
    }

    /// The (file, section) a definition lives in, if it is in an input section.
    pub fn symbol_section(&self, id: SymbolId) -> Option<(u32, u32)> {
        Some(self.def_sections[id as usize]).filter(|&s| s != NOT_IN_SECTION)
    }

    pub fn reloc_target_section(&self, file: FileId, sym_index: usize) -> Option<(u32, u32)> {
        self.symbol_section(self.symbol_id(file, sym_index))
    }

    pub fn symbol_name(&self, id: SymbolId) -> &'d [u8] {
        let fid = self.res.file_of_symbol(id);
        let file = &self.res.files[fid as usize];
        let index = (id - file.symbol_base) as usize;
        match &file.data {
            FileData::Object(o) => o.symbol_base_name(index),
            FileData::Shared(s) => s.symbol_name(index),
            FileData::Internal => self.res.internal[index],
        }
    }

    /// The version an object gave its definition with `.symver` (`name@V`, or `name@@V` for
    /// the default), if any.
    pub fn symbol_version(&self, id: SymbolId) -> Option<(&'d [u8], bool)> {
        let target = self.res.resolved[id as usize];
        let file = &self.res.files[self.res.file_of_symbol(target) as usize];
        let obj = file.object()?;
        split_version(obj.symbol_name((target - file.symbol_base) as usize)).1
    }

    /// A definition of ours that may appear in `.dynsym`: global, not hidden or internal.
    pub fn is_exportable(&self, id: SymbolId) -> bool {
        match self.def(id) {
            Def::Section { sym, .. } | Def::Absolute { sym, .. } | Def::Common { sym, .. } => {
                sym.st_bind() != STB_LOCAL
                    && matches!(sym.st_visibility(), STV_DEFAULT | STV_PROTECTED)
                    && self.version_script_allows_definition(self.res.resolved[id as usize])
            }
            // Of the linker's own symbols, the encapsulation symbols are exported from shared
            // objects (protected), as GNU ld and lld do.
            Def::Internal(_) => {
                let name = self.symbol_name(id);
                start_stop_section(name).is_some() && self.version_script_allows(name)
            }
            _ => false,
        }
    }

    /// Whether references to the symbol must go through the dynamic linker, because the
    /// definition is in a shared library or may be interposed at run time.
    pub fn is_preemptible(&self, id: SymbolId) -> bool {
        self.class(id) & class::PREEMPTIBLE != 0
    }

    /// The [`class`] bits of the definition symbol `id` binds to.
    pub fn class(&self, id: SymbolId) -> u8 {
        self.classes[id as usize]
    }

    /// Computes every symbol's class and definition section once, in parallel, so the
    /// per-relocation passes read a byte or two instead of walking to the definition.
    fn compute_classes(&mut self) {
        use crate::parallel::split_by_lengths;
        use rayon::prelude::*;
        let total = self.res.resolved.len();
        let (mut classes, mut def_sections) = (vec![0u8; total], vec![NOT_IN_SECTION; total]);
        let lengths = || self.res.files.iter().map(|f| f.symbol_count as usize);
        // Per file, so that a file's own definitions (its local symbols: most of them) are
        // looked up without going through the symbol-to-file map.
        split_by_lengths(&mut classes, lengths())
            .into_par_iter()
            .zip(split_by_lengths(&mut def_sections, lengths()))
            .zip(self.res.files.par_iter().enumerate())
            .for_each(|((classes, sections), (fid, file))| {
                for (i, (class, section)) in classes.iter_mut().zip(sections).enumerate() {
                    let id = file.symbol_base + i as SymbolId;
                    let def = if self.res.resolved[id as usize] == id {
                        self.def_in(fid as FileId, file, i)
                    } else {
                        self.def(id)
                    };
                    if let Def::Section { file, section: s, .. } = def {
                        *section = (file, s);
                    }
                    *class = self.compute_class(id, def);
                }
            });
        (self.classes, self.def_sections) = (classes, def_sections);
    }

    /// The class bits of symbol `id`, whose definition is `def`.
    fn compute_class(&self, id: SymbolId, def: Def<'d>) -> u8 {
        let mut c = if self.compute_preemptible(id, def) { class::PREEMPTIBLE } else { 0 };
        match def {
            Def::Section { sym, .. } if sym.st_type() == STT_GNU_IFUNC => c |= class::IFUNC,
            Def::Shared { sym, .. } => {
                c |= class::SHARED;
                if matches!(sym.st_type(), STT_FUNC | STT_GNU_IFUNC) {
                    c |= class::SHARED_FUNC;
                }
            }
            Def::Absolute { .. } => c |= class::ABSOLUTE,
            Def::Undefined { .. } => c |= class::ABSOLUTE | class::UNDEFINED,
            _ => {}
        }
        c
    }

    fn compute_preemptible(&self, id: SymbolId, def: Def<'d>) -> bool {
        match def {
            Def::Shared { .. } => true,
            Def::Undefined { weak } => {
                self.output.shared
                    || (weak && self.output.dynamic_undefined_weak && self.undefined_visibility(id) == STV_DEFAULT)
            }
            Def::Internal(_) => false,
            Def::Section { sym, .. } | Def::Absolute { sym, .. } | Def::Common { sym, .. } => {
                self.output.shared
                    && sym.st_bind() != STB_LOCAL
                    && sym.st_visibility() == STV_DEFAULT
                    && match self.config.bsymbolic {
                        crate::args::Bsymbolic::All => false,
                        crate::args::Bsymbolic::Functions => sym.st_type() != STT_FUNC,
                        crate::args::Bsymbolic::None => true,
                    }
                    && self.version_script_allows_definition(self.res.resolved[id as usize])
            }
        }
    }

    /// The visibility an undefined symbol was referenced with (by its first reference).
    fn undefined_visibility(&self, id: SymbolId) -> u8 {
        let target = self.res.resolved[id as usize];
        let file = &self.res.files[self.res.file_of_symbol(target) as usize];
        file.object().map_or(STV_DEFAULT, |o| o.symbol((target - file.symbol_base) as usize).st_visibility())
    }

    pub fn defsym(&self, name: &[u8]) -> Option<&crate::args::Defsym> {
        self.config.defsyms.iter().rev().find(|d| d.name.as_bytes() == name)
    }

    pub fn version_script_allows(&self, name: &[u8]) -> bool {
        self.version_script.as_ref().is_none_or(|vs| vs.is_global(name))
    }

    /// Whether the version script leaves the name of `def`, a definition, global (as
    /// [`Link::version_script_allows`] answers for a name).
    fn version_script_allows_definition(&self, def: SymbolId) -> bool {
        self.script_answer(def).is_none_or(|answer| answer.global)
    }

    /// The index of the version script's version that `def`, a definition, gets by its name.
    pub fn script_version_of_definition(&self, def: SymbolId) -> Option<usize> {
        self.script_answer(def)?.version.map(|v| v as usize)
    }

    /// What the version script (if any) says of `def`'s name: the answer kept for its entry
    /// in the name table, unless that entry's name is not the symbol's (`foo@V`, a
    /// non-default version, is entered under its full name) or it has none.
    fn script_answer(&self, def: SymbolId) -> Option<ScriptAnswer> {
        let script = self.version_script.as_ref()?;
        let name = self.symbol_name(def);
        let file = &self.res.files[self.res.file_of_symbol(def) as usize];
        let slot = file.object().and_then(|obj| {
            let global = ((def - file.symbol_base) as usize).checked_sub(obj.first_global)?;
            file.name_slots.get(global).copied().filter(|&slot| slot != crate::resolve::NO_SLOT)
        });
        Some(match slot {
            Some(slot) if self.res.names.name_at(slot).len() == name.len() => self.script_answers[slot as usize],
            _ => ScriptAnswer::of(script, name),
        })
    }

    /// `--require-defined` symbols must be defined by something.
    pub fn check_required(&self) -> Result<()> {
        for name in &self.config.require_defined {
            let defined = self.res.names.get(name.as_bytes()).is_some_and(|e| e.rank > Rank::Lazy);
            if !defined {
                return Err(Error::Usage(format!("--require-defined: symbol {name} is not defined")));
            }
        }
        Ok(())
    }
}
