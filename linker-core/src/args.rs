//! GNU ld command line → [`Config`].
//!
//! ld accepts every option in several spellings, and compiler drivers use all of them:
//! long options with one or two dashes (`-soname`, `--soname`), values attached with `=`
//! or passed as the next argument, and single-letter options with the value glued on
//! (`-lfoo`, `-L/dir`, `-zdefs`) or separate (`-l foo`). Like ld (which uses
//! `getopt_long_only`), a single-dash argument is first tried as a long option and only
//! then as a single-letter one; the exception is anything starting with `-o`, which is
//! always the output file.
//!
//! `@FILE` arguments are replaced by the words of FILE before parsing, recursively,
//! using the libiberty quoting rules that gcc and ld share: whitespace separates words,
//! single and double quotes group, and a backslash escapes the next character anywhere.
//!
//! Some options are positional: `--as-needed`, `-Bstatic`, `--whole-archive` and groups
//! apply to the inputs that follow them. Each [`Input`] carries a snapshot of those
//! [`Modifiers`] as they were where it appeared on the command line.
//!
//! All options live in one table, `OPTIONS`, each listed once with its aliases.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use Action::{FallibleFlag, FileName, Flag, IgnoredValue, OptionalValue, Parsed, Text};

/// What `--version` prints; also what tells one rivet-ld from another in a reproducer and in
/// an incremental link's state.
pub const VERSION: &str = concat!("rivet-ld ", env!("CARGO_PKG_VERSION"), " (compatible with GNU linkers)");

/// A command-line problem; the message names the offending option or file.
#[derive(Debug)]
pub struct ArgsError(pub String);

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgsError {}

#[derive(Debug, Clone)]
pub struct Config {
    pub output: PathBuf,
    /// Input files and libraries in command-line order.
    pub inputs: Vec<Input>,
    /// `-L` directories in order, with a leading `=` or `$SYSROOT` replaced by the sysroot.
    pub search_paths: Vec<PathBuf>,
    pub sysroot: Option<PathBuf>,
    /// What to produce, resolved from `-shared`, `-pie`, `-no-pie`, `-static`, `-static-pie`.
    pub output_kind: OutputKind,
    /// `-static` or `-static-pie` was given: link no shared libraries at all.
    pub link_static: bool,
    pub entry: Option<String>,
    pub soname: Option<String>,
    pub dynamic_linker: Option<String>,
    pub no_dynamic_linker: bool,
    pub rpath: Vec<String>,
    pub enable_new_dtags: bool,
    /// `-u` and `--require-defined` symbols: both force the symbol to be resolved.
    pub undefined: Vec<String>,
    /// `--require-defined` symbols, which must also end up defined (they are in `undefined` too).
    pub require_defined: Vec<String>,
    pub defsyms: Vec<Defsym>,
    pub gc_sections: bool,
    /// `-z [no]dynamic-undefined-weak`; unset: dynamic when the link is (see
    /// `OutputMode::dynamic_undefined_weak`).
    pub z_dynamic_undefined_weak: Option<bool>,
    pub z_now: bool,
    pub z_relro: bool,
    pub z_execstack: bool,
    pub z_origin: bool,
    pub z_nodelete: bool,
    pub z_nodlopen: bool,
    pub eh_frame_hdr: bool,
    pub build_id: Option<BuildId>,
    /// `--icf=all|safe`: identical sections folded.
    pub icf: Option<Icf>,
    /// `--gdb-index`: a `.gdb_index` section for gdb.
    pub gdb_index: bool,
    /// `--sort-common`: common symbols placed by alignment rather than in input order.
    pub sort_common: Option<SortCommon>,
    /// `--compress-debug-sections=zlib|zstd`: the codec of the output's `.debug_*` sections.
    pub compress_debug_sections: Option<DebugCompression>,
    pub hash_style: HashStyle,
    pub strip: Strip,
    pub export_dynamic: bool,
    pub dynamic_list: Vec<PathBuf>,
    pub bsymbolic: Bsymbolic,
    pub version_scripts: Vec<PathBuf>,
    /// `--no-undefined` or `-z defs`.
    pub no_undefined: bool,
    pub map_file: Option<PathBuf>,
    /// `--reproduce=FILE.tar`: write every input and a response file that relinks them.
    pub reproduce: Option<PathBuf>,
    /// `--chroot DIR`: absolute input paths, on the command line and in scripts, are
    /// taken inside DIR (what a reproducer's response file asks for).
    pub chroot: Option<PathBuf>,
    /// The command line after response files were expanded, with the words that name input
    /// files marked, for a reproducer to rewrite.
    pub command_line: Vec<CommandWord>,
    /// `--incremental`: skip a link whose inputs and options have not changed (`incremental`).
    pub incremental: bool,
    pub threads: Option<usize>,
    pub print_timing: bool,
    /// `--no-fork`: link in this process (its exit then includes freeing memory); by default
    /// the link runs in a child that reports its status as soon as the output is in place.
    pub no_fork: bool,
    pub print_version: bool,
    pub print_help: bool,
    pub fatal_warnings: bool,
    pub emulation: Option<String>,
    /// The last of `-shared`/`-pie`/`-no-pie`/`-static-pie` asked for a PIE.
    pub pie_requested: bool,
    /// The output is a shared object.
    pub shared: bool,
    /// The output is a static PIE (`-static-pie`, or `-static` with `-pie`).
    pub static_pie: bool,
    /// `-no-pie` was the last of `-shared`/`-pie`/`-no-pie`/`-static-pie`.
    pub no_pie: bool,
    pub discard: Discard,
    pub trace_symbols: Vec<String>,
    pub wrap: Vec<String>,
    /// What the command line asks that rivet goes on without, as GNU ld and lld do (an unknown
    /// `-z` keyword): the driver warns about each (an error with `--fatal-warnings`).
    pub warnings: Vec<String>,
}

/// A word of the command line as a reproducer writes it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandWord {
    /// An option with its value, if that was a separate word, or a word of another kind.
    Text(Vec<OsString>),
    /// A file or directory that is read, after the option that names it (`-L`,
    /// `--version-script`) if any: stored in the reproducer, named relative to its root.
    Input { option: Option<String>, path: PathBuf },
    /// A file that is written, after its option: only its name is kept, so that it lands in
    /// the current directory.
    Output { option: String, path: PathBuf },
}

/// Which identical sections `--icf` folds: any (`all`), or only those whose address no code
/// compares (`safe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Icf {
    All,
    Safe,
}

/// The order `--sort-common` places common symbols in, by alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortCommon {
    Descending,
    Ascending,
}

/// The codec of compressed output debug sections (an `Elf64_Chdr` then the stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugCompression {
    Zlib,
    Zstd,
}

impl Default for Config {
    /// GNU ld's defaults as configured on x86-64 Linux distributions.
    fn default() -> Self {
        Config {
            output: PathBuf::from("a.out"),
            inputs: Vec::new(),
            search_paths: Vec::new(),
            sysroot: None,
            output_kind: OutputKind::Executable,
            link_static: false,
            entry: None,
            soname: None,
            dynamic_linker: None,
            no_dynamic_linker: false,
            rpath: Vec::new(),
            enable_new_dtags: false,
            undefined: Vec::new(),
            require_defined: Vec::new(),
            defsyms: Vec::new(),
            gc_sections: false,
            z_dynamic_undefined_weak: None,
            z_now: false,
            z_relro: true,
            z_execstack: false,
            z_origin: false,
            z_nodelete: false,
            z_nodlopen: false,
            eh_frame_hdr: false,
            build_id: None,
            compress_debug_sections: None,
            sort_common: None,
            icf: None,
            gdb_index: false,
            hash_style: HashStyle::Sysv,
            strip: Strip::None,
            export_dynamic: false,
            dynamic_list: Vec::new(),
            bsymbolic: Bsymbolic::None,
            version_scripts: Vec::new(),
            no_undefined: false,
            map_file: None,
            reproduce: None,
            chroot: None,
            command_line: Vec::new(),
            threads: None,
            print_timing: false,
            incremental: false,
            no_fork: false,
            print_version: false,
            print_help: false,
            fatal_warnings: false,
            emulation: None,
            pie_requested: false,
            shared: false,
            static_pie: false,
            no_pie: false,
            discard: Discard::None,
            trace_symbols: Vec::new(),
            wrap: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl Config {
    /// The entry symbol's name (`-e`, `_start` by default).
    pub fn entry_name(&self) -> &[u8] {
        self.entry.as_deref().map(str::as_bytes).unwrap_or(b"_start")
    }

    /// The names the link keeps whatever the inputs refer to (garbage collection's roots by
    /// name): the entry, `-u` and `--require-defined` names, `_init` and `_fini`.
    pub fn root_names(&self) -> impl Iterator<Item = &[u8]> {
        let listed = self.undefined.iter().chain(&self.require_defined).map(|name| name.as_bytes());
        [self.entry_name(), b"_init", b"_fini"].into_iter().chain(listed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Non-PIE executable; dynamic if any shared library gets linked.
    Executable,
    Pie,
    StaticExecutable,
    StaticPie,
    SharedObject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub kind: InputKind,
    pub modifiers: Modifiers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    Path(PathBuf),
    /// The text after `-l`, verbatim: `foo` for `-lfoo`, `:foo.a` for `-l:foo.a`.
    Library(String),
}

/// The positional options in effect where an input appears.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modifiers {
    pub whole_archive: bool,
    pub as_needed: bool,
    /// `-Bstatic` (or `-static`, `-dn`, `-non_shared`) is in effect.
    pub link_static: bool,
    /// Which `--start-group` ... `--end-group` the input is in, numbered from 0.
    pub group: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defsym {
    pub name: String,
    pub value: DefsymValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefsymValue {
    Absolute(u64),
    Symbol { name: String, addend: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildId {
    Sha1,
    Md5,
    Uuid,
    Fast,
    Hex(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashStyle {
    Sysv,
    Gnu,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strip {
    None,
    Debug,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bsymbolic {
    None,
    All,
    Functions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    None,
    Locals,
    All,
}

/// `--help`: every option, and for each that rivet accepts without effect or refuses, why.
pub fn help_text() -> String {
    let mut text = String::from(
        "Usage: rivet-ld [options] file...\nA GNU ld-compatible x86-64 ELF linker. Options do what GNU ld and lld \
         document, except where noted:\n",
    );
    for spec in OPTIONS {
        let value = match spec.action {
            Flag(_) | FallibleFlag(_) => "",
            OptionalValue(_) => "[=VALUE]",
            Text(_) | FileName(_) | Parsed(_) | IgnoredValue => " VALUE",
        };
        let names: Vec<String> = spec
            .names
            .iter()
            .map(|n| if n.len() == 1 { format!("-{n}{value}") } else { format!("--{n}{value}") })
            .collect();
        let note = match spec.effect {
            Applies => String::new(),
            NoOp(why) => format!("  (accepted without effect: {why})"),
            Refused => "  (refused)".to_string(),
        };
        text.push_str(&format!("  {}{note}\n", names.join(", ")));
    }
    text
}

/// Parses ld's arguments (without argv\[0\]).
pub fn parse(args: &[OsString]) -> Result<Config, ArgsError> {
    let args = expand_response_files(args.to_vec(), 0)?;
    let mut state = State::default();
    let mut remaining = args.iter();
    let mut options_ended = false;
    while let Some(arg) = remaining.next() {
        let bytes = arg.as_bytes();
        // "-" alone is a file name to getopt, and "--" ends the options.
        if options_ended || bytes.len() < 2 || !bytes.starts_with(b"-") {
            state.add_input(InputKind::Path(PathBuf::from(arg)));
            state.config.command_line.push(CommandWord::Input { option: None, path: PathBuf::from(arg) });
        } else if bytes == b"--" {
            options_ended = true;
            state.config.command_line.push(CommandWord::Text(vec![arg.clone()]));
        } else {
            let found = find_option(bytes).ok_or_else(|| {
                let name = bytes.split(|&b| b == b'=').next().unwrap_or(bytes);
                ArgsError(format!("unknown option: {}", String::from_utf8_lossy(name)))
            })?;
            let separate = state.apply(&found, &mut remaining)?;
            state.record(&found, arg, separate);
        }
    }
    state.finish()
}

/// What an option does with its argument, if it takes one.
enum Action {
    Flag(fn(&mut State)),
    FallibleFlag(fn(&mut State) -> Result<(), ArgsError>),
    /// Takes a required value that must be UTF-8.
    Text(fn(&mut State, &str)),
    /// Takes a required value that is a file name (any bytes).
    FileName(fn(&mut State, PathBuf)),
    /// Takes a required UTF-8 value that may be rejected.
    Parsed(fn(&mut State, &str) -> Result<(), ArgsError>),
    /// Takes a value only when attached with `=`.
    OptionalValue(fn(&mut State, Option<&str>) -> Result<(), ArgsError>),
    /// Takes a required value and ignores it.
    IgnoredValue,
}

struct OptionSpec {
    /// Single-character names are short options (`-o`); the rest are long options,
    /// which may be written with one or two dashes.
    names: &'static [&'static str],
    action: Action,
    effect: Effect,
}

/// What an accepted option does, stated for every one (a test holds each to it): never
/// accepted and silently ignored.
enum Effect {
    /// Does what GNU ld and lld do (values rivet does not support are refused).
    Applies,
    /// Accepted and ignored, because it cannot change rivet's output: the reason.
    NoOp(&'static str),
    /// Refused with an error.
    Refused,
}
use Effect::*;

const fn opt(names: &'static [&'static str], action: Action, effect: Effect) -> OptionSpec {
    OptionSpec { names, action, effect }
}

// One line per option keeps this readable as a table of contents.
#[rustfmt::skip]
static OPTIONS: &[OptionSpec] = &[
    // What to produce.
    opt(&["o", "output"], FileName(|s, v| s.config.output = v), Applies),
    opt(&["shared", "Bshareable"], Flag(|s| s.link_type = LinkType::Shared), Applies),
    opt(&["pie", "pic-executable"], Flag(|s| s.link_type = LinkType::Pie), Applies),
    opt(&["no-pie", "no-pic-executable"], Flag(|s| s.link_type = LinkType::NoPie), Applies),
    opt(&["static-pie"], Flag(|s| {
        s.link_type = LinkType::Pie;
        s.set_static();
    }), Applies),
    // ld treats -static as -Bstatic; gcc passes it for fully static links.
    opt(&["static"], Flag(State::set_static), Applies),
    opt(&["r", "relocatable"], FallibleFlag(|_| Err(ArgsError("-r (relocatable output) is not supported".into()))), Refused),
    opt(&["m"], Parsed(State::set_emulation), Applies),
    opt(&["sysroot"], FileName(|s, v| s.config.sysroot = Some(v)), Applies),
    opt(&["e", "entry"], Text(|s, v| s.config.entry = Some(v.to_owned())), Applies),
    opt(&["soname", "h"], Text(|s, v| s.config.soname = Some(v.to_owned())), Applies),
    opt(&["dynamic-linker", "I"], Text(|s, v| s.config.dynamic_linker = Some(v.to_owned())), Applies),
    opt(&["no-dynamic-linker"], Flag(|s| s.config.no_dynamic_linker = true), Applies),
    opt(&["rpath", "R"], Text(|s, v| s.config.rpath.push(v.to_owned())), Applies),
    opt(&["enable-new-dtags"], Flag(|s| s.config.enable_new_dtags = true), Applies),
    opt(&["disable-new-dtags"], Flag(|s| s.config.enable_new_dtags = false), Applies),
    opt(&["z"], Parsed(State::apply_z_keyword), Applies),
    opt(&["build-id"], OptionalValue(State::set_build_id), Applies),
    opt(&["hash-style"], Parsed(State::set_hash_style), Applies),
    opt(&["eh-frame-hdr"], Flag(|s| s.config.eh_frame_hdr = true), Applies),
    opt(&["no-eh-frame-hdr"], Flag(|s| s.config.eh_frame_hdr = false), Applies),
    opt(&["pack-dyn-relocs"], Parsed(|_, v| accept_only("--pack-dyn-relocs", v, "none")), Applies),
    opt(&["compress-debug-sections"], Parsed(State::set_debug_compression), Applies),
    opt(&["T", "script"], Parsed(|_, _| Err(ArgsError(SCRIPTS_UNSUPPORTED.into()))), Refused),
    // Inputs and how they are linked.
    opt(&["l", "library"], Text(|s, v| s.add_input(InputKind::Library(v.to_owned()))), Applies),
    opt(&["L", "library-path"], FileName(|s, v| s.library_paths.push(v)), Applies),
    opt(&["whole-archive"], Flag(|s| s.modifiers.whole_archive = true), Applies),
    opt(&["no-whole-archive"], Flag(|s| s.modifiers.whole_archive = false), Applies),
    opt(&["as-needed"], Flag(|s| s.modifiers.as_needed = true), Applies),
    opt(&["no-as-needed"], Flag(|s| s.modifiers.as_needed = false), Applies),
    opt(&["Bstatic", "dn", "non_shared"], Flag(|s| s.modifiers.link_static = true), Applies),
    opt(&["Bdynamic", "dy", "call_shared"], Flag(|s| s.modifiers.link_static = false), Applies),
    opt(&["start-group", "("], FallibleFlag(State::start_group), Applies),
    opt(&["end-group", ")"], FallibleFlag(State::end_group), Applies),
    opt(&["push-state"], Flag(|s| s.saved_modifiers.push(s.modifiers)), Applies),
    opt(&["pop-state"], FallibleFlag(State::pop_state), Applies),
    // Symbols.
    opt(&["u", "undefined"], Text(|s, v| s.config.undefined.push(v.to_owned())), Applies),
    opt(&["require-defined"], Text(|s, v| {
        s.config.undefined.push(v.to_owned());
        s.config.require_defined.push(v.to_owned());
    }), Applies),
    opt(&["defsym"], Parsed(|s, v| {
        s.config.defsyms.push(parse_defsym(v)?);
        Ok(())
    }), Applies),
    opt(&["E", "export-dynamic"], Flag(|s| s.config.export_dynamic = true), Applies),
    opt(&["no-export-dynamic"], Flag(|s| s.config.export_dynamic = false), Applies),
    opt(&["dynamic-list"], FileName(|s, v| s.config.dynamic_list.push(v)), Applies),
    opt(&["version-script"], FileName(|s, v| s.config.version_scripts.push(v)), Applies),
    opt(&["Bsymbolic"], Flag(|s| s.config.bsymbolic = Bsymbolic::All), Applies),
    opt(&["Bsymbolic-functions"], Flag(|s| s.config.bsymbolic = Bsymbolic::Functions), Applies),
    opt(&["Bno-symbolic"], Flag(|s| s.config.bsymbolic = Bsymbolic::None), Applies),
    opt(&["no-undefined"], Flag(|s| s.config.no_undefined = true), Applies),
    opt(&["allow-shlib-undefined"], Flag(|_| {}), NoOp("only decides whether shared libraries' own undefined symbols are reported; rivet leaves them to the loader and reports none")),
    opt(&["no-allow-shlib-undefined"], Flag(|_| {}), NoOp("only decides whether shared libraries' own undefined symbols are reported; rivet leaves them to the loader and reports none")),
    opt(&["y", "trace-symbol"], Text(|s, v| s.config.trace_symbols.push(v.to_owned())), Applies),
    opt(&["wrap"], Text(|s, v| s.config.wrap.push(v.to_owned())), Applies),
    // Sections and symbol tables in the output.
    opt(&["gc-sections"], Flag(|s| s.config.gc_sections = true), Applies),
    opt(&["no-gc-sections"], Flag(|s| s.config.gc_sections = false), Applies),
    opt(&["icf"], Parsed(State::set_icf), Applies),
    opt(&["gdb-index"], Flag(|s| s.config.gdb_index = true), Applies),
    opt(&["no-gdb-index"], Flag(|s| s.config.gdb_index = false), Applies),
    opt(&["O"], Parsed(|_, v| {
        v.parse::<u8>().map_err(|_| invalid_value("-O", v, "expected a number"))?;
        Ok(())
    }), NoOp("a hint that lets a linker spend time on a smaller output (GNU ld: hash table sizes; lld: string tail merging); rivet's output is the same at every level")),
    opt(&["S", "strip-debug"], Flag(|s| s.config.strip = Strip::Debug), Applies),
    opt(&["s", "strip-all"], Flag(|s| s.config.strip = Strip::All), Applies),
    opt(&["X", "discard-locals"], Flag(|s| s.config.discard = Discard::Locals), Applies),
    opt(&["x", "discard-all"], Flag(|s| s.config.discard = Discard::All), Applies),
    opt(&["discard-none"], Flag(|s| s.config.discard = Discard::None), Applies),
    // How rivet runs and reports.
    opt(&["Map"], FileName(|s, v| s.config.map_file = Some(v)), Applies),
    opt(&["threads"], OptionalValue(|s, v| {
        // Without a count, use the default (all cores).
        s.config.threads = v.map(|count| parse_thread_count("--threads", count)).transpose()?;
        Ok(())
    }), Applies),
    opt(&["thread-count"], Parsed(|s, v| {
        s.config.threads = Some(parse_thread_count("--thread-count", v)?);
        Ok(())
    }), Applies),
    opt(&["no-threads"], Flag(|s| s.config.threads = Some(1)), Applies),
    opt(&["time"], Flag(|s| s.config.print_timing = true), Applies),
    opt(&["incremental"], Flag(|s| s.config.incremental = true), Applies),
    opt(&["no-incremental"], Flag(|s| s.config.incremental = false), Applies),
    opt(&["fork"], Flag(|s| s.config.no_fork = false), Applies),
    opt(&["no-fork"], Flag(|s| s.config.no_fork = true), Applies),
    opt(&["reproduce"], FileName(|s, v| s.config.reproduce = Some(v)), Applies),
    opt(&["chroot"], FileName(|s, v| s.config.chroot = Some(v)), Applies),
    opt(&["v", "V", "version"], Flag(|s| s.config.print_version = true), Applies),
    opt(&["help"], Flag(|s| s.config.print_help = true), Applies),
    opt(&["verbose"], OptionalValue(|_, _level| Ok(())), NoOp("GNU ld prints its built-in script, lld the inputs; rivet prints nothing more")),
    opt(&["fatal-warnings"], Flag(|s| s.config.fatal_warnings = true), Applies),
    opt(&["no-fatal-warnings"], Flag(|s| s.config.fatal_warnings = false), Applies),
    opt(&["warn-common"], Flag(|_| {}), NoOp("asks for warnings about common symbols only")),
    opt(&["color-diagnostics"], OptionalValue(|_, _when| Ok(())), NoOp("rivet's messages have no colour")),
    opt(&["no-color-diagnostics"], Flag(|_| {}), NoOp("rivet's messages have no colour")),
    opt(&["error-limit"], Parsed(|_, v| {
        v.parse::<u64>().map_err(|_| invalid_value("--error-limit", v, "expected a number"))?;
        Ok(())
    }), NoOp("only limits how many errors are reported; rivet reports every one")),
    opt(&["sort-common"], OptionalValue(State::set_sort_common), Applies),
    // Accepted for compatibility, each with the reason it cannot change rivet's output.
    opt(&["g"], Flag(|_| {}), NoOp("GNU ld ignores it too")),
    opt(&["EL"], Flag(|_| {}), NoOp("little-endian x86-64 is the only output rivet writes")),
    opt(&["nostdlib"], Flag(|_| {}), NoOp("rivet has no built-in library directories to leave out")),
    opt(&["warn-shared-textrel"], Flag(|_| {}), NoOp("rivet never writes text relocations (a link that needs one fails with an error), so there is nothing to warn about")),
    opt(&["no-rosegment"], FallibleFlag(|_| Err(ArgsError("unsupported: --no-rosegment (rivet keeps read-only data out of the executable segment)".into()))), Refused),
    opt(&["no-add-needed", "no-copy-dt-needed-entries"], Flag(|_| {}), NoOp("rivet never copies shared libraries' DT_NEEDED entries: what this asks for is its only behaviour")),
    opt(&["undefined-version", "no-undefined-version"], Flag(|_| {}), NoOp("only decides whether a version script naming a missing symbol is an error; the output is the same")),
    opt(&["plugin", "plugin-opt"], IgnoredValue, NoOp("gcc always names its LTO plugin; rivet links no LTO objects, whose code the plugin would make")),
    opt(&["rpath-link"], IgnoredValue, NoOp("only says where to find the libraries shared libraries need, for checks rivet does not make")),
];

const SCRIPTS_UNSUPPORTED: &str = "linker scripts given with -T are not supported";

/// An option found in an argument, with the value glued onto it, if any.
struct FoundOption<'a> {
    spec: &'static OptionSpec,
    name: &'static str,
    attached: Option<&'a [u8]>,
}

impl FoundOption<'_> {
    /// The option as ld's documentation spells it, for messages.
    fn display_name(&self) -> String {
        if self.name.len() == 1 { format!("-{}", self.name) } else { format!("--{}", self.name) }
    }
}

fn find_option(arg: &[u8]) -> Option<FoundOption<'_>> {
    if let Some(body) = arg.strip_prefix(b"--") {
        return find_long_option(body);
    }
    let body = arg.strip_prefix(b"-")?;
    // ld reads `-o...` as the output file even when it spells a long option.
    if !body.starts_with(b"o")
        && let Some(found) = find_long_option(body)
    {
        return Some(found);
    }
    let (letter, glued) = body.split_at_checked(1)?;
    let (spec, name) = OPTIONS.iter().find_map(|spec| {
        let name = spec.names.iter().find(|name| name.as_bytes() == letter)?;
        Some((spec, *name))
    })?;
    let takes_value = !matches!(spec.action, Flag(_) | FallibleFlag(_));
    match (takes_value, glued.is_empty()) {
        (_, true) => Some(FoundOption { spec, name, attached: None }),
        (true, false) => Some(FoundOption { spec, name, attached: Some(glued) }),
        // `-sx` style bundling of flags is not something ld callers rely on.
        (false, false) => None,
    }
}

fn find_long_option(body: &[u8]) -> Option<FoundOption<'_>> {
    let (name_bytes, attached) = match body.iter().position(|&b| b == b'=') {
        Some(equals) => {
            let (name, rest) = body.split_at(equals);
            (name, rest.get(1..))
        }
        None => (body, None),
    };
    OPTIONS.iter().find_map(|spec| {
        let name = spec.names.iter().find(|name| name.len() > 1 && name.as_bytes() == name_bytes)?;
        Some(FoundOption { spec, name, attached })
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LinkType {
    Unspecified,
    NoPie,
    Pie,
    Shared,
}

/// Parser state: the config being built plus what positional options have set so far.
struct State {
    config: Config,
    modifiers: Modifiers,
    saved_modifiers: Vec<Modifiers>,
    groups_started: u32,
    /// Like ld, the last of -shared / -pie / -no-pie wins.
    link_type: LinkType,
    /// `-L` paths as written; the sysroot is applied at the end because ld honours
    /// `--sysroot` wherever it appears.
    library_paths: Vec<PathBuf>,
}

impl Default for State {
    fn default() -> Self {
        State {
            config: Config::default(),
            modifiers: Modifiers::default(),
            saved_modifiers: Vec::new(),
            groups_started: 0,
            link_type: LinkType::Unspecified,
            library_paths: Vec::new(),
        }
    }
}

impl State {
    /// Applies an option; returns its value when it was the next word rather than attached.
    fn apply<'a>(
        &mut self,
        found: &FoundOption<'a>,
        remaining: &mut impl Iterator<Item = &'a OsString>,
    ) -> Result<Option<&'a OsString>, ArgsError> {
        let option = found.display_name();
        let mut separate = None;
        let mut required_value = || -> Result<&'a [u8], ArgsError> {
            match found.attached {
                Some(value) => Ok(value),
                None => {
                    separate = remaining.next();
                    separate
                        .map(|value| value.as_bytes())
                        .ok_or_else(|| ArgsError(format!("missing argument to {option}")))
                }
            }
        };
        match found.spec.action {
            Flag(action) => {
                reject_attached_value(found)?;
                action(self);
            }
            FallibleFlag(action) => {
                reject_attached_value(found)?;
                action(self)?;
            }
            Text(action) => action(self, utf8(&option, required_value()?)?),
            FileName(action) => action(self, PathBuf::from(OsStr::from_bytes(required_value()?))),
            Parsed(action) => action(self, utf8(&option, required_value()?)?)?,
            OptionalValue(action) => {
                let value = found.attached.map(|value| utf8(&option, value)).transpose()?;
                action(self, value)?;
            }
            IgnoredValue => {
                required_value()?;
            }
        }
        Ok(separate)
    }

    /// Records an applied option for a reproducer: file names marked, `--reproduce` and
    /// `--chroot` left out (a reproducer's paths are already inside its root).
    fn record(&mut self, found: &FoundOption<'_>, arg: &OsString, separate: Option<&OsString>) {
        let words = &mut self.config.command_line;
        let value = || {
            PathBuf::from(
                separate
                    .map(OsString::as_os_str)
                    .unwrap_or_else(|| OsStr::from_bytes(found.attached.unwrap_or_default())),
            )
        };
        match (&found.spec.action, found.name) {
            (_, "reproduce" | "chroot") => {}
            (FileName(_), "o" | "output" | "Map") => {
                words.push(CommandWord::Output { option: found.display_name(), path: value() })
            }
            (FileName(_), _) => words.push(CommandWord::Input { option: Some(found.display_name()), path: value() }),
            _ => words.push(CommandWord::Text([arg].into_iter().chain(separate).cloned().collect())),
        }
    }

    fn add_input(&mut self, kind: InputKind) {
        self.config.inputs.push(Input { kind, modifiers: self.modifiers });
    }

    fn set_static(&mut self) {
        self.config.link_static = true;
        self.modifiers.link_static = true;
    }

    fn start_group(&mut self) -> Result<(), ArgsError> {
        if self.modifiers.group.is_some() {
            return Err(ArgsError("--start-group: groups may not be nested".into()));
        }
        self.modifiers.group = Some(self.groups_started);
        self.groups_started += 1;
        Ok(())
    }

    fn end_group(&mut self) -> Result<(), ArgsError> {
        if self.modifiers.group.take().is_none() {
            return Err(ArgsError("--end-group without a matching --start-group".into()));
        }
        Ok(())
    }

    fn pop_state(&mut self) -> Result<(), ArgsError> {
        let saved = self
            .saved_modifiers
            .pop()
            .ok_or_else(|| ArgsError("--pop-state without a matching --push-state".into()))?;
        // Groups are bracketed by their own options, not by push/pop.
        self.modifiers = Modifiers { group: self.modifiers.group, ..saved };
        Ok(())
    }

    fn set_emulation(&mut self, emulation: &str) -> Result<(), ArgsError> {
        if emulation != "elf_x86_64" {
            return Err(invalid_value("-m", emulation, "only elf_x86_64 is supported"));
        }
        self.config.emulation = Some(emulation.to_owned());
        Ok(())
    }

    fn set_hash_style(&mut self, style: &str) -> Result<(), ArgsError> {
        self.config.hash_style = match style {
            "sysv" => HashStyle::Sysv,
            "gnu" => HashStyle::Gnu,
            "both" => HashStyle::Both,
            _ => {
                return Err(invalid_value("--hash-style", style, "expected sysv, gnu or both"));
            }
        };
        Ok(())
    }

    fn set_build_id(&mut self, style: Option<&str>) -> Result<(), ArgsError> {
        self.config.build_id = match style {
            None | Some("sha1") => Some(BuildId::Sha1),
            Some("md5") => Some(BuildId::Md5),
            Some("uuid") => Some(BuildId::Uuid),
            Some("fast") => Some(BuildId::Fast),
            Some("none") => None,
            Some(other) => {
                let bytes = other.strip_prefix("0x").and_then(parse_hex_bytes).ok_or_else(|| {
                    invalid_value("--build-id", other, "expected sha1, md5, uuid, fast, none or 0x<hex>")
                })?;
                Some(BuildId::Hex(bytes))
            }
        };
        Ok(())
    }

    fn set_sort_common(&mut self, order: Option<&str>) -> Result<(), ArgsError> {
        self.config.sort_common = match order {
            None | Some("descending") => Some(SortCommon::Descending),
            Some("ascending") => Some(SortCommon::Ascending),
            Some(other) => return Err(invalid_value("--sort-common", other, "expected ascending or descending")),
        };
        Ok(())
    }

    fn set_debug_compression(&mut self, codec: &str) -> Result<(), ArgsError> {
        self.config.compress_debug_sections = match codec {
            "none" => None,
            "zlib" | "zlib-gabi" => Some(DebugCompression::Zlib),
            "zstd" => Some(DebugCompression::Zstd),
            "zlib-gnu" => {
                return Err(ArgsError(
                    "unsupported: --compress-debug-sections=zlib-gnu (the obsolete .zdebug format; use zlib)".into(),
                ));
            }
            _ => return Err(invalid_value("--compress-debug-sections", codec, "expected none, zlib or zstd")),
        };
        Ok(())
    }

    fn set_icf(&mut self, mode: &str) -> Result<(), ArgsError> {
        match mode {
            "all" => self.config.icf = Some(Icf::All),
            "safe" => self.config.icf = Some(Icf::Safe),
            "none" => self.config.icf = None,
            _ => return Err(invalid_value("--icf", mode, "expected all, safe or none")),
        }
        Ok(())
    }

    fn warn(&mut self, what: &str) {
        if !self.config.warnings.iter().any(|w| w == what) {
            self.config.warnings.push(what.to_string());
        }
    }

    fn apply_z_keyword(&mut self, keyword: &str) -> Result<(), ArgsError> {
        let config = &mut self.config;
        // rivet lays segments out on 4 KiB pages, the x86-64 default of GNU ld and lld: that
        // size is accepted, any other refused.
        if let Some(size) = keyword.strip_prefix("max-page-size=").or_else(|| keyword.strip_prefix("common-page-size="))
        {
            return match parse_number(size) {
                Some(4096) => Ok(()),
                Some(_) => Err(ArgsError(format!("unsupported: -z {keyword} (rivet lays out 4096-byte pages)"))),
                None => Err(invalid_value("-z", keyword, "expected a page size")),
            };
        }
        match keyword {
            "now" => config.z_now = true,
            "lazy" => config.z_now = false,
            "relro" => config.z_relro = true,
            "norelro" => config.z_relro = false,
            "execstack" => config.z_execstack = true,
            "noexecstack" => config.z_execstack = false,
            // rivet never writes text relocations: a link that needs one fails with an error
            // naming it, so both ask for what rivet does whenever the link succeeds.
            "text" | "notext" | "textoff" => {}
            "origin" => config.z_origin = true,
            "nodelete" => config.z_nodelete = true,
            "nodlopen" => config.z_nodlopen = true,
            // Code always has pages of its own.
            "separate-code" => {}
            "noseparate-code" => {
                return Err(ArgsError("unsupported: -z noseparate-code (rivet keeps code on pages of its own)".into()));
            }
            "defs" => config.no_undefined = true,
            "undefs" => config.no_undefined = false,
            // A `__start_`/`__stop_` reference keeps its sections alive, as by default in GNU
            // ld and lld.
            "nostart-stop-gc" => {}
            "start-stop-gc" => {
                return Err(ArgsError(
                    "unsupported: -z start-stop-gc (__start_/__stop_ references keep their sections)".into(),
                ));
            }
            "dynamic-undefined-weak" => config.z_dynamic_undefined_weak = Some(true),
            "nodynamic-undefined-weak" => config.z_dynamic_undefined_weak = Some(false),
            // GNU ld and lld warn about a keyword they do not know, and go on.
            _ => self.warn(&format!("-z {keyword} ignored (unknown keyword)")),
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Config, ArgsError> {
        if self.modifiers.group.is_some() {
            return Err(ArgsError("--start-group without a matching --end-group".into()));
        }
        let config = &mut self.config;
        config.search_paths =
            self.library_paths.iter().map(|path| apply_sysroot(path, config.sysroot.as_deref())).collect();
        if let Some(root) = &config.chroot {
            let inputs = config.inputs.iter_mut().filter_map(|input| match &mut input.kind {
                InputKind::Path(path) => Some(path),
                InputKind::Library(_) => None,
            });
            for path in inputs
                .chain(&mut config.search_paths)
                .chain(&mut config.version_scripts)
                .chain(&mut config.dynamic_list)
            {
                *path = inside_root(root, path);
            }
        }
        config.output_kind = match self.link_type {
            LinkType::Shared => OutputKind::SharedObject,
            LinkType::Pie if config.link_static => OutputKind::StaticPie,
            LinkType::Pie => OutputKind::Pie,
            LinkType::Unspecified | LinkType::NoPie if config.link_static => OutputKind::StaticExecutable,
            LinkType::Unspecified | LinkType::NoPie => OutputKind::Executable,
        };
        config.shared = config.output_kind == OutputKind::SharedObject;
        config.static_pie = config.output_kind == OutputKind::StaticPie;
        config.pie_requested = self.link_type == LinkType::Pie;
        config.no_pie = self.link_type == LinkType::NoPie;
        Ok(self.config)
    }
}

/// `path` taken inside `root` when it is absolute (`--chroot`).
pub fn inside_root(root: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix("/") {
        Ok(relative) => root.join(relative),
        Err(_) => path.to_path_buf(),
    }
}

fn reject_attached_value(found: &FoundOption<'_>) -> Result<(), ArgsError> {
    match found.attached {
        Some(_) => Err(ArgsError(format!("option {} does not take a value", found.display_name()))),
        None => Ok(()),
    }
}

fn utf8<'a>(option: &str, value: &'a [u8]) -> Result<&'a str, ArgsError> {
    std::str::from_utf8(value)
        .map_err(|_| ArgsError(format!("value of {option} is not valid UTF-8: {}", String::from_utf8_lossy(value))))
}

fn invalid_value(option: &str, value: &str, expected: &str) -> ArgsError {
    ArgsError(format!("invalid value for {option}: '{value}' ({expected})"))
}

/// For options whose only supported setting is the one that changes nothing.
fn accept_only(option: &str, value: &str, supported: &str) -> Result<(), ArgsError> {
    if value == supported {
        Ok(())
    } else {
        Err(ArgsError(format!("unsupported: {option}={value} (only {supported} is supported)")))
    }
}

fn parse_thread_count(option: &str, text: &str) -> Result<usize, ArgsError> {
    match text.parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(invalid_value(option, text, "expected a positive number")),
    }
}

/// `0x`-prefixed hexadecimal or plain decimal.
fn parse_number(text: &str) -> Option<u64> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    // from_str_radix would also accept a leading '+'.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

fn parse_hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes().chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()).collect()
}

/// `NAME=EXPR` where EXPR is a number, a symbol, or a symbol plus or minus a number.
fn parse_defsym(text: &str) -> Result<Defsym, ArgsError> {
    let invalid = || invalid_value("--defsym", text, "expected NAME=NUMBER or NAME=SYMBOL[+-NUMBER]");
    let (name, expression) = text.split_once('=').ok_or_else(invalid)?;
    let name = name.trim();
    let expression = expression.trim();
    if !is_symbol_name(name) {
        return Err(invalid());
    }
    let value = if let Some(number) = parse_number(expression) {
        DefsymValue::Absolute(number)
    } else {
        let (symbol, addend) = match expression.find(['+', '-']) {
            Some(operator) => {
                let (symbol, rest) = expression.split_at(operator);
                let magnitude = rest
                    .get(1..)
                    .and_then(|number| parse_number(number.trim()))
                    .and_then(|number| i64::try_from(number).ok())
                    .ok_or_else(invalid)?;
                let addend = if rest.starts_with('-') { -magnitude } else { magnitude };
                (symbol.trim(), addend)
            }
            None => (expression, 0),
        };
        if !is_symbol_name(symbol) {
            return Err(invalid());
        }
        DefsymValue::Symbol { name: symbol.to_owned(), addend }
    };
    Ok(Defsym { name: name.to_owned(), value })
}

fn is_symbol_name(text: &str) -> bool {
    let starts_like_symbol =
        text.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '.' | '$'));
    starts_like_symbol && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$' | '@'))
}

/// `=/usr/lib` and `$SYSROOT/usr/lib` name directories inside the sysroot.
fn apply_sysroot(path: &Path, sysroot: Option<&Path>) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    let Some(inside) = bytes.strip_prefix(b"=").or_else(|| bytes.strip_prefix(b"$SYSROOT")) else {
        return path.to_path_buf();
    };
    // Concatenate rather than join: joining an absolute path would discard the sysroot.
    let mut resolved = sysroot.map(|root| root.as_os_str().to_owned()).unwrap_or_default();
    resolved.push(OsStr::from_bytes(inside));
    PathBuf::from(resolved)
}

/// Response files may include others; a cycle would otherwise recurse forever.
const MAX_RESPONSE_FILE_DEPTH: usize = 32;

fn expand_response_files(args: Vec<OsString>, depth: usize) -> Result<Vec<OsString>, ArgsError> {
    let mut expanded = Vec::with_capacity(args.len());
    for arg in args {
        let Some(file) = arg.as_bytes().strip_prefix(b"@").filter(|file| !file.is_empty()) else {
            expanded.push(arg);
            continue;
        };
        let file = Path::new(OsStr::from_bytes(file));
        if depth >= MAX_RESPONSE_FILE_DEPTH {
            return Err(ArgsError(format!(
                "response file {} is nested too deeply (does it include itself?)",
                file.display()
            )));
        }
        let contents = std::fs::read(file)
            .map_err(|error| ArgsError(format!("cannot read response file {}: {error}", file.display())))?;
        expanded.extend(expand_response_files(split_words(&contents), depth + 1)?);
    }
    Ok(expanded)
}

/// Splits text into words with libiberty's rules (see the module docs): response files, and
/// the commands `gcc -###` prints.
pub fn split_words(contents: &[u8]) -> Vec<OsString> {
    let mut words = Vec::new();
    let mut word = Vec::new();
    // Quotes can make an empty word, so track "inside a word" separately from its length.
    let mut in_word = false;
    let mut quote = None;
    let mut bytes = contents.iter().copied();
    while let Some(byte) = bytes.next() {
        match (byte, quote) {
            (b'\\', _) => {
                in_word = true;
                word.extend(bytes.next());
            }
            (_, Some(open)) if byte == open => quote = None,
            (_, Some(_)) => word.push(byte),
            (b'\'' | b'"', None) => {
                quote = Some(byte);
                in_word = true;
            }
            (b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c, None) => {
                if in_word {
                    words.push(OsStr::from_bytes(&word).to_owned());
                    word.clear();
                    in_word = false;
                }
            }
            _ => {
                word.push(byte);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(OsStr::from_bytes(&word).to_owned());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    fn parse_line(line: &str) -> Result<Config, ArgsError> {
        parse(&args(line))
    }

    fn input_names(config: &Config) -> Vec<String> {
        config
            .inputs
            .iter()
            .map(|input| match &input.kind {
                InputKind::Path(path) => path.display().to_string(),
                InputKind::Library(name) => format!("-l{name}"),
            })
            .collect()
    }

    fn modifiers_of<'c>(config: &'c Config, name: &str) -> Vec<&'c Modifiers> {
        config
            .inputs
            .iter()
            .filter(|input| match &input.kind {
                InputKind::Path(path) => path.as_os_str() == name,
                InputKind::Library(library) => format!("-l{library}") == name,
            })
            .map(|input| &input.modifiers)
            .collect()
    }

    fn error_of(line: &str) -> String {
        match parse_line(line) {
            Ok(config) => panic!("expected an error for {line:?}, got {config:?}"),
            Err(error) => error.to_string(),
        }
    }

    /// A scratch directory for response-file tests.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rivet-args-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        dir
    }

    const GCC12_PIE: &str = "-plugin /usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so \
        -plugin-opt=/usr/lib/gcc/x86_64-linux-gnu/12/lto-wrapper \
        -plugin-opt=-fresolution=/tmp/cckIRJeF.res -plugin-opt=-pass-through=-lgcc \
        -plugin-opt=-pass-through=-lgcc_s -plugin-opt=-pass-through=-lc \
        -plugin-opt=-pass-through=-lgcc -plugin-opt=-pass-through=-lgcc_s --build-id \
        --eh-frame-hdr -m elf_x86_64 --hash-style=gnu --as-needed \
        -dynamic-linker /lib64/ld-linux-x86-64.so.2 -pie \
        /usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu/Scrt1.o \
        /usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu/crti.o \
        /usr/lib/gcc/x86_64-linux-gnu/12/crtbeginS.o -L/usr/lib/gcc/x86_64-linux-gnu/12 \
        -L/usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu \
        -L/usr/lib/gcc/x86_64-linux-gnu/12/../../../../lib -L/lib/x86_64-linux-gnu \
        -L/lib/../lib -L/usr/lib/x86_64-linux-gnu -L/usr/lib/../lib \
        -L/usr/lib/gcc/x86_64-linux-gnu/12/../../.. /tmp/cctcbgv9.o -lgcc --push-state \
        --as-needed -lgcc_s --pop-state -lc -lgcc --push-state --as-needed -lgcc_s \
        --pop-state /usr/lib/gcc/x86_64-linux-gnu/12/crtendS.o \
        /usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu/crtn.o";

    #[test]
    fn gcc12_pie_line() {
        let config = parse_line(GCC12_PIE).unwrap();
        assert_eq!(config.output_kind, OutputKind::Pie);
        assert!(config.pie_requested && !config.shared && !config.static_pie);
        assert_eq!(config.output, PathBuf::from("a.out"));
        assert_eq!(config.build_id, Some(BuildId::Sha1));
        assert!(config.eh_frame_hdr);
        assert_eq!(config.emulation.as_deref(), Some("elf_x86_64"));
        assert_eq!(config.hash_style, HashStyle::Gnu);
        assert_eq!(config.dynamic_linker.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
        assert!(!config.link_static);
        assert_eq!(config.search_paths.len(), 8);
        assert_eq!(config.search_paths[0], PathBuf::from("/usr/lib/gcc/x86_64-linux-gnu/12"));
        assert_eq!(
            input_names(&config),
            [
                "/usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu/Scrt1.o",
                "/usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu/crti.o",
                "/usr/lib/gcc/x86_64-linux-gnu/12/crtbeginS.o",
                "/tmp/cctcbgv9.o",
                "-lgcc",
                "-lgcc_s",
                "-lc",
                "-lgcc",
                "-lgcc_s",
                "/usr/lib/gcc/x86_64-linux-gnu/12/crtendS.o",
                "/usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu/crtn.o",
            ]
        );
        // gcc's early --as-needed covers every input.
        let as_needed = Modifiers { as_needed: true, ..Modifiers::default() };
        assert!(config.inputs.iter().all(|input| input.modifiers == as_needed));
    }

    #[test]
    fn gcc12_static_line_groups_libraries() {
        let config = parse_line(
            "-plugin /usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so \
             -plugin-opt=-fresolution=/tmp/ccCEPtZ9.res --build-id -m elf_x86_64 \
             --hash-style=gnu --as-needed -static crt1.o crti.o crtbeginT.o \
             -L/usr/lib/gcc/x86_64-linux-gnu/12 hello.o --start-group -lgcc -lgcc_eh -lc \
             --end-group crtend.o crtn.o",
        )
        .unwrap();
        assert_eq!(config.output_kind, OutputKind::StaticExecutable);
        assert!(config.link_static);
        assert!(config.inputs.iter().all(|input| input.modifiers.link_static));
        for library in ["-lgcc", "-lgcc_eh", "-lc"] {
            assert_eq!(modifiers_of(&config, library)[0].group, Some(0));
        }
        assert_eq!(modifiers_of(&config, "hello.o")[0].group, None);
        assert_eq!(modifiers_of(&config, "crtend.o")[0].group, None);
    }

    #[test]
    fn gcc12_static_pie_line() {
        let config = parse_line(
            "--build-id --eh-frame-hdr -m elf_x86_64 --hash-style=gnu --as-needed -static \
             -pie --no-dynamic-linker -z text -pie rcrt1.o crti.o crtbeginS.o hello.o \
             --start-group -lgcc -lgcc_eh -lc --end-group crtendS.o crtn.o",
        )
        .unwrap();
        assert_eq!(config.output_kind, OutputKind::StaticPie);
        assert!(config.static_pie && config.no_dynamic_linker && config.warnings.is_empty());
    }

    #[test]
    fn gcc12_shared_line() {
        let config = parse_line(
            "--build-id --eh-frame-hdr -m elf_x86_64 --hash-style=gnu --as-needed -shared \
             -o x.so crti.o crtbeginS.o hello.o -lgcc --push-state --as-needed -lgcc_s \
             --pop-state -lc crtendS.o crtn.o",
        )
        .unwrap();
        assert_eq!(config.output_kind, OutputKind::SharedObject);
        assert!(config.shared);
        assert_eq!(config.output, PathBuf::from("x.so"));
    }

    #[test]
    fn clang_line() {
        let line = r#""-pie" "--hash-style=both" "--build-id" "--eh-frame-hdr" "-m" "elf_x86_64" "-dynamic-linker" "/lib64/ld-linux-x86-64.so.2" "-o" "a.out" "/lib/x86_64-linux-gnu/Scrt1.o" "/lib/x86_64-linux-gnu/crti.o" "/usr/bin/../lib/gcc/x86_64-linux-gnu/12/crtbeginS.o" "-L/usr/bin/../lib/gcc/x86_64-linux-gnu/12" "-L/lib/x86_64-linux-gnu" "-L/usr/lib" "/tmp/hello-47ac7e.o" "-lgcc" "--as-needed" "-lgcc_s" "--no-as-needed" "-lc" "-lgcc" "--as-needed" "-lgcc_s" "--no-as-needed" "/usr/bin/../lib/gcc/x86_64-linux-gnu/12/crtendS.o" "/lib/x86_64-linux-gnu/crtn.o""#;
        let config = parse_line(&line.replace('"', "")).unwrap();
        assert_eq!(config.output_kind, OutputKind::Pie);
        assert_eq!(config.hash_style, HashStyle::Both);
        let gcc_s = modifiers_of(&config, "-lgcc_s");
        assert!(gcc_s.iter().all(|modifiers| modifiers.as_needed));
        assert!(!modifiers_of(&config, "-lc")[0].as_needed);
        assert_eq!(config.inputs.len(), 11);
    }

    /// What rustc's cc invocation becomes after gcc 12's collect2.
    #[test]
    fn rustc_line() {
        let config = parse_line(
            "-plugin /usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so \
             -plugin-opt=/usr/lib/gcc/x86_64-linux-gnu/12/lto-wrapper \
             -plugin-opt=-fresolution=/tmp/ccBN1Kjq.res --build-id --eh-frame-hdr \
             -m elf_x86_64 --hash-style=gnu --as-needed \
             -dynamic-linker /lib64/ld-linux-x86-64.so.2 -pie -o m Scrt1.o crti.o \
             crtbeginS.o -L/tmp/rustc/raw-dylibs -L/rustlib/lib symbols.o m.cgu.0.rcgu.o \
             --as-needed -Bstatic /rustlib/lib/libstd.rlib /rustlib/lib/libcore.rlib \
             -Bdynamic -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc --eh-frame-hdr \
             -z noexecstack --gc-sections -z relro -z now crtendS.o crtn.o",
        )
        .unwrap();
        assert_eq!(config.output_kind, OutputKind::Pie);
        assert_eq!(config.output, PathBuf::from("m"));
        assert!(config.gc_sections && config.z_now && config.z_relro && !config.z_execstack);
        assert!(config.warnings.is_empty());
        assert!(modifiers_of(&config, "/rustlib/lib/libstd.rlib")[0].link_static);
        assert!(!modifiers_of(&config, "-lgcc_s")[0].link_static);
        assert!(!modifiers_of(&config, "symbols.o")[0].link_static);
        assert!(!config.link_static);
        assert_eq!(config.search_paths, [PathBuf::from("/tmp/rustc/raw-dylibs"), PathBuf::from("/rustlib/lib")]);
    }

    #[test]
    fn rustc_cc_level_flags_with_separate_values() {
        let config = parse_line("-L /rustlib/lib -o out a.o -z relro -z now").unwrap();
        assert_eq!(config.search_paths, [PathBuf::from("/rustlib/lib")]);
        assert_eq!(config.output, PathBuf::from("out"));
    }

    #[test]
    fn option_spellings() {
        for line in [
            "-soname libx.so.1",
            "--soname libx.so.1",
            "--soname=libx.so.1",
            "-hlibx.so.1",
            "-h libx.so.1",
            "-soname=libx.so.1",
        ] {
            assert_eq!(parse_line(line).unwrap().soname.as_deref(), Some("libx.so.1"), "{line}");
        }
        for line in ["-ofoo", "-o foo", "--output=foo", "--output foo"] {
            assert_eq!(parse_line(line).unwrap().output, PathBuf::from("foo"), "{line}");
        }
        for line in ["-lfoo", "-l foo", "--library=foo", "--library foo", "-library=foo"] {
            let config = parse_line(line).unwrap();
            assert_eq!(config.inputs[0].kind, InputKind::Library("foo".into()), "{line}");
        }
        for line in ["-e start", "-estart", "--entry=start", "-entry start"] {
            assert_eq!(parse_line(line).unwrap().entry.as_deref(), Some("start"), "{line}");
        }
        for line in ["-znow", "-z now"] {
            assert!(parse_line(line).unwrap().z_now, "{line}");
        }
        for line in ["-Ldir", "-L dir", "--library-path=dir"] {
            assert_eq!(parse_line(line).unwrap().search_paths, [PathBuf::from("dir")], "{line}");
        }
        let config = parse_line("-l:libfoo.a -Map=out.map -O2 -rpath /a -R /b -I /ld.so").unwrap();
        assert_eq!(config.inputs[0].kind, InputKind::Library(":libfoo.a".into()));
        assert_eq!(config.map_file, Some(PathBuf::from("out.map")));
        assert_eq!(config.rpath, ["/a", "/b"]);
        assert_eq!(config.dynamic_linker.as_deref(), Some("/ld.so"));
        // Anything after -o is the output name, even if it spells a long option.
        assert_eq!(parse_line("-output").unwrap().output, PathBuf::from("utput"));
    }

    #[test]
    fn z_keywords() {
        let config = parse_line(
            "-z max-page-size=4096 -zcommon-page-size=0x1000 -z execstack -z norelro -z defs -z ibt -z shstk \
             -z separate-code -z nostart-stop-gc -z text -z notext",
        )
        .unwrap();
        assert!(config.z_execstack && !config.z_relro && config.no_undefined);
        assert_eq!(config.warnings, ["-z ibt ignored (unknown keyword)", "-z shstk ignored (unknown keyword)"]);
        // What would change the layout or the liveness rivet gives is refused.
        for refused in ["max-page-size=0x200000", "common-page-size=65536", "start-stop-gc", "noseparate-code"] {
            assert!(error_of(&format!("-z {refused}")).contains("unsupported"), "{refused}");
        }
        assert!(error_of("-z max-page-size=lots").contains("max-page-size"));
    }

    #[test]
    fn values_of_enumerated_options() {
        let config =
            parse_line("--build-id=0xdeadBEEF --hash-style=sysv -Bsymbolic-functions --icf=all -x -S").unwrap();
        assert_eq!(config.build_id, Some(BuildId::Hex(vec![0xde, 0xad, 0xbe, 0xef])));
        assert_eq!(config.hash_style, HashStyle::Sysv);
        assert_eq!(config.bsymbolic, Bsymbolic::Functions);
        assert_eq!((config.discard, config.strip), (Discard::All, Strip::Debug));
        assert_eq!(parse_line("--build-id --build-id=none").unwrap().build_id, None);
        assert_eq!(parse_line("--build-id=md5").unwrap().build_id, Some(BuildId::Md5));
        assert!(error_of("--build-id=0xabc").contains("--build-id"));
        assert!(error_of("--hash-style=fancy").contains("--hash-style"));
        assert!(error_of("--icf=some").contains("--icf"));
        assert!(error_of("--compress-debug-sections=zlib-gnu").contains("unsupported"));
        assert!(error_of("--compress-debug-sections=lz4").contains("--compress-debug-sections"));
        assert!(parse_line("--compress-debug-sections=none --pack-dyn-relocs=none").is_ok());
        assert!(error_of("-m elf_i386").contains("elf_i386"));
    }

    #[test]
    fn threads_and_diagnostics() {
        assert_eq!(parse_line("--threads=4").unwrap().threads, Some(4));
        assert_eq!(parse_line("--threads").unwrap().threads, None);
        assert_eq!(parse_line("--thread-count 3").unwrap().threads, Some(3));
        assert_eq!(parse_line("--no-threads").unwrap().threads, Some(1));
        assert!(error_of("--threads=0").contains("--threads"));
        let config = parse_line(
            "--time -v --help --verbose --fatal-warnings --warn-common --color-diagnostics \
             --error-limit=0",
        )
        .unwrap();
        assert!(config.print_timing && config.print_version && config.print_help && config.fatal_warnings);
        assert!(parse_line("-V").unwrap().print_version);
        assert!(parse_line("--version").unwrap().print_version);
    }

    /// Every option is labelled (the table does not compile otherwise), and the label holds:
    /// a no-op says why and leaves the configuration as it was, so it cannot change the
    /// output; a refused option is an error.
    #[test]
    fn every_option_applies_is_a_documented_no_op_or_is_refused() {
        let baseline = format!("{:?}", Config::default());
        let (mut no_ops, mut refused) = (0, 0);
        for spec in OPTIONS {
            for name in spec.names {
                let dashed = if name.len() == 1 { format!("-{name}") } else { format!("--{name}") };
                let mut argv = vec![OsString::from(&dashed)];
                if matches!(spec.action, Text(_) | FileName(_) | Parsed(_) | IgnoredValue) {
                    argv.push("1".into());
                }
                match spec.effect {
                    NoOp(why) => {
                        assert!(why.len() > 10, "{dashed}: a no-op must say why");
                        let mut config = parse(&argv).unwrap_or_else(|e| panic!("{dashed}: {e}"));
                        config.command_line.clear();
                        assert_eq!(
                            format!("{config:?}"),
                            baseline,
                            "{dashed} is a no-op but changes the configuration"
                        );
                        no_ops += 1;
                    }
                    Refused => {
                        assert!(parse(&argv).is_err(), "{dashed} is refused but accepted");
                        refused += 1;
                    }
                    Applies => {}
                }
            }
        }
        assert!(no_ops >= 15 && refused >= 4, "{no_ops} no-ops, {refused} refused");
        let help = help_text();
        assert!(
            help.contains("  -O VALUE  (accepted without effect: ") && help.contains("  -r, --relocatable  (refused)")
        );
    }

    /// The command line a reproducer writes back: file names marked as inputs or outputs,
    /// an option and its separate value kept together, --reproduce and --chroot left out;
    /// --chroot takes absolute input paths inside its directory.
    #[test]
    fn command_line_is_recorded_for_reproducers() {
        let config =
            parse_line("-o out -L/lib --version-script v.map -m elf_x86_64 --reproduce=r.tar a.o --chroot /r /b.o")
                .unwrap();
        let input =
            |option: Option<&str>, path: &str| CommandWord::Input { option: option.map(Into::into), path: path.into() };
        assert_eq!(
            config.command_line,
            [
                CommandWord::Output { option: "-o".into(), path: "out".into() },
                input(Some("-L"), "/lib"),
                input(Some("--version-script"), "v.map"),
                CommandWord::Text(vec!["-m".into(), "elf_x86_64".into()]),
                input(None, "a.o"),
                input(None, "/b.o"),
            ]
        );
        assert_eq!(config.search_paths, [PathBuf::from("/r/lib")]);
        let paths: Vec<_> = config.inputs.iter().map(|i| format!("{:?}", i.kind)).collect();
        assert_eq!(paths, [r#"Path("a.o")"#, r#"Path("/r/b.o")"#]);
    }

    #[test]
    fn accepted_and_ignored_options() {
        let config = parse_line(
            "-g -EL -nostdlib --no-add-needed \
             --no-copy-dt-needed-entries --warn-shared-textrel \
             --undefined-version --no-undefined-version \
             -rpath-link /x -plugin-opt -foo -plugin-opt=-bar --plugin-opt=baz a.o",
        )
        .unwrap();
        assert_eq!(input_names(&config), ["a.o"]);
    }

    #[test]
    fn symbols() {
        let config = parse_line(
            "-u a --undefined=b --require-defined c -y d --trace-symbol=e --wrap=malloc \
             --defsym=x=0x10 --defsym y=base+8 --defsym=z=base-0x4 --defsym=w=other",
        )
        .unwrap();
        assert_eq!(config.undefined, ["a", "b", "c"]);
        assert_eq!(config.require_defined, ["c"]);
        assert_eq!(config.trace_symbols, ["d", "e"]);
        assert_eq!(config.wrap, ["malloc"]);
        let values: Vec<_> = config.defsyms.iter().map(|d| (d.name.as_str(), d.value.clone())).collect();
        let symbol = |name: &str, addend| DefsymValue::Symbol { name: name.into(), addend };
        assert_eq!(
            values,
            [
                ("x", DefsymValue::Absolute(0x10)),
                ("y", symbol("base", 8)),
                ("z", symbol("base", -4)),
                ("w", symbol("other", 0)),
            ]
        );
        for bad in ["--defsym=x", "--defsym==1", "--defsym=x=1+", "--defsym=x=a*2", "--defsym=x=0xZZ", "--defsym=x=+1"]
        {
            assert!(error_of(bad).contains("--defsym"), "{bad}");
        }
    }

    #[test]
    fn output_kind_last_option_wins() {
        assert_eq!(parse_line("-pie -no-pie").unwrap().output_kind, OutputKind::Executable);
        assert!(parse_line("-pie -no-pie").unwrap().no_pie);
        assert_eq!(parse_line("-no-pie -pie").unwrap().output_kind, OutputKind::Pie);
        assert_eq!(parse_line("-static").unwrap().output_kind, OutputKind::StaticExecutable);
        assert_eq!(parse_line("-static-pie").unwrap().output_kind, OutputKind::StaticPie);
        assert_eq!(parse_line("--pic-executable -static").unwrap().output_kind, OutputKind::StaticPie);
        assert_eq!(parse_line("-pie -shared").unwrap().output_kind, OutputKind::SharedObject);
        assert_eq!(parse_line("-Bshareable").unwrap().output_kind, OutputKind::SharedObject);
        assert_eq!(parse_line("a.o").unwrap().output_kind, OutputKind::Executable);
        // -Bstatic only affects library lookup, not the kind of output.
        let config = parse_line("-Bstatic -lfoo").unwrap();
        assert_eq!(config.output_kind, OutputKind::Executable);
        assert!(config.inputs[0].modifiers.link_static);
        assert!(error_of("-r").contains("relocatable output"));
    }

    #[test]
    fn push_and_pop_state() {
        let config = parse_line(
            "--whole-archive -dn --push-state --no-whole-archive --as-needed -Bdynamic a \
             --pop-state b --no-whole-archive -dy c",
        )
        .unwrap();
        let pushed = Modifiers { as_needed: true, ..Modifiers::default() };
        let restored = Modifiers { whole_archive: true, link_static: true, ..Modifiers::default() };
        assert_eq!(*modifiers_of(&config, "a")[0], pushed);
        assert_eq!(*modifiers_of(&config, "b")[0], restored);
        assert_eq!(*modifiers_of(&config, "c")[0], Modifiers::default());
        assert!(error_of("--pop-state").contains("--pop-state"));
    }

    #[test]
    fn groups() {
        let config = parse_line("a -( b -lc -) d --start-group e --end-group").unwrap();
        let groups: Vec<_> = config.inputs.iter().map(|input| input.modifiers.group).collect();
        assert_eq!(groups, [None, Some(0), Some(0), None, Some(1)]);
        // A group survives --pop-state.
        let config = parse_line("--push-state --start-group a --pop-state b --end-group").unwrap();
        assert_eq!(modifiers_of(&config, "b")[0].group, Some(0));
        assert!(error_of("--start-group a").contains("--end-group"));
        assert!(error_of("a --end-group").contains("--end-group"));
        assert!(error_of("-( -( a -) -)").contains("nested"));
    }

    #[test]
    fn errors_name_the_option() {
        assert_eq!(error_of("--frobnicate"), "unknown option: --frobnicate");
        assert_eq!(error_of("-frobnicate=3"), "unknown option: -frobnicate");
        assert_eq!(error_of("-sx"), "unknown option: -sx");
        assert!(error_of("-o").contains("missing argument to -o"));
        assert!(error_of("--soname").contains("--soname"));
        assert!(error_of("--gc-sections=yes").contains("--gc-sections does not take a value"));
        assert!(error_of("-T link.ld").contains("-T are not supported"));
        assert!(error_of("--script=link.ld").contains("-T are not supported"));
    }

    #[test]
    fn sysroot_applies_to_marked_paths_wherever_it_appears() {
        let config = parse_line("-L=/usr/lib -L$SYSROOT/lib -L/opt/lib --sysroot=/sys").unwrap();
        assert_eq!(
            config.search_paths,
            [PathBuf::from("/sys/usr/lib"), PathBuf::from("/sys/lib"), PathBuf::from("/opt/lib")]
        );
        assert_eq!(parse_line("-L=/usr/lib").unwrap().search_paths, [PathBuf::from("/usr/lib")]);
    }

    #[test]
    fn inputs_that_look_odd() {
        let non_utf8 = OsStr::from_bytes(b"caf\xe9.o").to_owned();
        let config = parse(&[non_utf8.clone(), "-".into(), "--".into(), "-notanoption".into()]).unwrap();
        let paths: Vec<_> = config.inputs.iter().map(|input| input.kind.clone()).collect();
        assert_eq!(
            paths,
            [InputKind::Path(non_utf8.into()), InputKind::Path("-".into()), InputKind::Path("-notanoption".into()),]
        );
        let error = parse(&["--soname".into(), OsStr::from_bytes(b"\xff").to_owned()]).unwrap_err();
        assert!(error.to_string().contains("--soname"));
    }

    #[test]
    fn response_files() {
        let dir = temp_dir("rsp");
        let inner = dir.join("inner.rsp");
        std::fs::write(&inner, "-lm 'with space.o' \"dq \\\"x\\\".o\" back\\ slash.o ''\n").unwrap();
        let outer = dir.join("outer.rsp");
        std::fs::write(&outer, format!("-o out\t--as-needed\n@{}\r\nlast.o", inner.display())).unwrap();
        let config = parse(&["first.o".into(), format!("@{}", outer.display()).into()]).unwrap();
        assert_eq!(config.output, PathBuf::from("out"));
        assert_eq!(
            input_names(&config),
            ["first.o", "-lm", "with space.o", "dq \"x\".o", "back slash.o", "", "last.o"]
        );
        assert!(modifiers_of(&config, "last.o")[0].as_needed);

        let missing = dir.join("missing.rsp");
        let error = parse(&[format!("@{}", missing.display()).into()]).unwrap_err();
        assert!(error.to_string().contains("missing.rsp"), "{error}");

        let looping = dir.join("loop.rsp");
        std::fs::write(&looping, format!("@{}", looping.display())).unwrap();
        let error = parse(&[format!("@{}", looping.display()).into()]).unwrap_err();
        assert!(error.to_string().contains("loop.rsp"), "{error}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn response_file_quoting() {
        let words = split_words(b"a\\'b 'c\\'d' \"e 'f'\" g\\");
        assert_eq!(words, ["a'b", "c'd", "e 'f'", "g"]);
        assert!(split_words(b"  \n\t ").is_empty());
    }

    #[test]
    fn option_table_has_no_duplicate_names() {
        let mut names: Vec<_> = OPTIONS.iter().flat_map(|spec| spec.names.iter()).collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total);
    }
}
