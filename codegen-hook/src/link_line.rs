//! rustc's link command, rebuilt from `CrateInfo` and the session.
//!
//! rustc builds its `cc` command line in `linker_with_args`, which is private. This module
//! writes the same command, argument for argument, for the configurations rivet links
//! ([`unsupported`] names every other one, and those go to rustc's own link): an executable,
//! proc-macro or cdylib for `x86_64-unknown-linux-gnu` through `cc`, without LTO across
//! crates, sanitizers, profiling or dynamically linked Rust crates. The order is rustc's:
//!
//! the export list (shared objects), `-m64`, `symbols.o`, the crate's objects (sorted by
//! name), the metadata object (proc-macros), the allocator shim,
//! `--as-needed`, the crate's native libraries, each upstream rlib followed by its static
//! native libraries (bundled ones extracted from the rlib, as rustc does), the upstream
//! dynamic native libraries, `-L <tmp>/raw-dylibs`, `-Bdynamic`, then the options
//! (`--eh-frame-hdr`, `-z noexecstack`, `-L` search paths, `-o`, `--gc-sections`, the
//! output kind, relro, `-O1`, strip), `-nodefaultlibs`, and `-C link-arg(s)` last.
//! `-Bstatic`/`-Bdynamic` are emitted only when the mode changes, as rustc's `GccLinker`
//! does. The command is checked against rustc's own (`--print link-args`) by
//! `tests/tests/backend.rs`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use rustc_codegen_ssa::back::archive::{ArArchiveBuilderBuilder, ArchiveBuilderBuilder};
use rustc_codegen_ssa::back::rmeta_link::RmetaLinkCache;
use rustc_codegen_ssa::{CrateInfo, NativeLib};
use rustc_middle::middle::dependency_format::Linkage;
use rustc_session::Session;
use rustc_session::config::{self, CFGuard, InstrumentMcount, Lto, Strip};
use rustc_session::search_paths::PathKind;
use rustc_span::def_id::{CrateNum, LOCAL_CRATE};
use rustc_structures::{CrateType, NativeLibKind};
use rustc_target::spec::{Cc, LinkOutputKind, LinkerFlavor, RelocModel, RelroLevel};

/// Why rivet leaves this link to rustc, if it does.
pub fn unsupported(sess: &Session, crate_types: &[CrateType]) -> Option<String> {
    let target = &sess.target;
    let checks: [(bool, &str); 15] = [
        (
            !matches!(crate_types, [CrateType::Executable | CrateType::ProcMacro | CrateType::Cdylib]),
            "the crate type is not one executable, proc-macro or cdylib",
        ),
        (sess.opts.target_triple.tuple() != "x86_64-unknown-linux-gnu", "the target is not x86_64-unknown-linux-gnu"),
        (!matches!(target.linker_flavor, LinkerFlavor::Gnu(Cc::Yes, _)), "the target does not link through cc"),
        (sess.opts.cg.linker.is_some(), "-C linker is set"),
        (sess.opts.cg.linker_flavor.is_some(), "-C linker-flavor is set"),
        (matches!(sess.lto(), Lto::Fat | Lto::Thin), "LTO across crates"),
        (sess.opts.cg.linker_plugin_lto.enabled(), "linker-plugin LTO"),
        (!sess.sanitizers().is_empty(), "sanitizers"),
        (sess.opts.cg.profile_generate.enabled() || sess.instrument_coverage(), "profiling instrumentation"),
        (sess.opts.unstable_opts.instrument_mcount != InstrumentMcount::Disabled, "-Z instrument-mcount"),
        (sess.opts.cg.control_flow_guard != CFGuard::Disabled, "-C control-flow-guard"),
        (sess.opts.cg.rpath, "-C rpath"),
        (sess.split_debuginfo() != rustc_target::spec::SplitDebuginfo::Off, "split debug info"),
        (sess.opts.unstable_opts.export_executable_symbols, "-Z export-executable-symbols"),
        (sess.opts.cg.link_self_contained.explicitly_set == Some(true), "-C link-self-contained"),
    ];
    checks.iter().find(|(applies, _)| *applies).map(|(_, why)| why.to_string())
}

/// Why this crate's dependencies keep rivet from linking it, if they do.
pub fn unsupported_dependencies(crate_info: &CrateInfo, crate_type: CrateType) -> Option<String> {
    let formats = crate_info.dependency_formats.get(&crate_type)?;
    if formats.iter().any(|&linkage| linkage == Linkage::Dynamic) {
        return Some("a Rust crate is linked dynamically".into());
    }
    let all_libs = crate_info.used_libraries.iter().chain(crate_info.native_libraries.values().flatten());
    for lib in all_libs {
        let exports_c_symbols = matches!(lib.kind, NativeLibKind::Static { export_symbols: Some(true), .. });
        if exports_c_symbols || matches!(lib.kind, NativeLibKind::RawDylib { .. } | NativeLibKind::Framework { .. }) {
            return Some(format!("native library `{}` has kind {:?}", lib.name, lib.kind));
        }
    }
    None
}

/// The crate's own objects, in the order rustc puts them on the command line.
#[derive(Clone)]
pub struct LocalObjects {
    /// Codegen units, by module name: `(name, object path)`.
    pub regular: Vec<(String, PathBuf)>,
    /// The crate's metadata wrapped in an object, for proc-macros (`(METADATA_OBJECT, path)`).
    pub metadata: Option<(String, PathBuf)>,
    /// The allocator shim's objects.
    pub allocator: Vec<(String, PathBuf)>,
}

/// The name of the metadata object among the crate's objects: no module is named so.
pub const METADATA_OBJECT: &str = "rmeta.o";

impl LocalObjects {
    pub fn all(&self) -> impl Iterator<Item = &(String, PathBuf)> {
        self.regular.iter().chain(&self.metadata).chain(&self.allocator)
    }
}

/// rustc's output kind for `crate_type` (`link_output_kind` in rustc).
pub fn output_kind(sess: &Session, crate_type: CrateType) -> LinkOutputKind {
    let pic = matches!(sess.relocation_model(), RelocModel::Pic | RelocModel::Pie);
    let kind = match (crate_type, sess.crt_static(Some(crate_type)), pic) {
        (CrateType::Executable, false, true) => LinkOutputKind::DynamicPicExe,
        (CrateType::Executable, false, false) => LinkOutputKind::DynamicNoPicExe,
        (CrateType::Executable, true, true) => LinkOutputKind::StaticPicExe,
        (CrateType::Executable, true, false) => LinkOutputKind::StaticNoPicExe,
        (_, true, _) => LinkOutputKind::StaticDylib,
        (_, false, _) => LinkOutputKind::DynamicDylib,
    };
    match kind {
        LinkOutputKind::DynamicPicExe if !sess.target.position_independent_executables => {
            LinkOutputKind::DynamicNoPicExe
        }
        LinkOutputKind::StaticPicExe if !sess.target.static_position_independent_executables => {
            LinkOutputKind::StaticNoPicExe
        }
        LinkOutputKind::StaticDylib if !sess.target.crt_static_allows_dylibs => LinkOutputKind::DynamicDylib,
        kind => kind,
    }
}

/// A `cc` command line under construction, with `GccLinker`'s rules for linker arguments.
struct Command {
    args: Vec<OsString>,
    hinted_static: Option<bool>,
}

impl Command {
    fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Arguments given as they are (`verbatim_args` in rustc).
    fn verbatim<'s>(&mut self, args: impl IntoIterator<Item = &'s (impl AsRef<std::ffi::OsStr> + ?Sized + 's)>) {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
    }

    /// Linker arguments: `-Wl,a,b`, or `-Xlinker a` for one that holds a comma.
    fn link_args(&mut self, args: &[&str]) -> &mut Self {
        let mut combined = String::from("-Wl");
        for arg in args {
            if arg.contains(',') {
                if combined != "-Wl" {
                    self.args.push(std::mem::replace(&mut combined, "-Wl".into()).into());
                }
                self.args.push("-Xlinker".into());
                self.args.push((*arg).into());
            } else {
                combined.push(',');
                combined.push_str(arg);
            }
        }
        if combined != "-Wl" {
            self.args.push(combined.into());
        }
        self
    }

    fn link_arg_os(&mut self, arg: impl Into<OsString>) -> &mut Self {
        let arg = arg.into();
        match arg.to_str() {
            Some(text) => self.link_args(&[text]),
            None => self.arg("-Xlinker").arg(arg),
        }
    }

    fn hint_static(&mut self) {
        if self.hinted_static != Some(true) {
            self.link_args(&["-Bstatic"]);
            self.hinted_static = Some(true);
        }
    }

    fn hint_dynamic(&mut self) {
        if self.hinted_static != Some(false) {
            self.link_args(&["-Bdynamic"]);
            self.hinted_static = Some(false);
        }
    }

    fn link_dylib_by_name(&mut self, name: &str, verbatim: bool, as_needed: bool) {
        self.hint_dynamic();
        if !as_needed {
            self.link_args(&["--no-as-needed"]);
        }
        self.arg(format!("-l{}{name}", if verbatim { ":" } else { "" }));
        if !as_needed {
            self.link_args(&["--as-needed"]);
        }
    }

    fn link_staticlib_by_name(&mut self, name: &str, verbatim: bool, whole_archive: bool) {
        self.hint_static();
        let arg = format!("-l{}{name}", if verbatim { ":" } else { "" });
        if whole_archive {
            self.link_args(&["--whole-archive"]).arg(arg).link_args(&["--no-whole-archive"]);
        } else {
            self.arg(arg);
        }
    }

    fn link_staticlib_by_path(&mut self, path: &Path, whole_archive: bool) {
        self.hint_static();
        if whole_archive {
            self.link_args(&["--whole-archive"]).link_arg_os(path).link_args(&["--no-whole-archive"]);
        } else {
            self.arg(path);
        }
    }
}

/// Everything needed to build the command, gathered once.
pub struct Inputs<'a> {
    pub sess: &'a Session,
    pub crate_type: CrateType,
    pub crate_info: &'a CrateInfo,
    pub objects: &'a LocalObjects,
    /// rustc's temporary directory for this link (`symbols.o`, bundled libraries, `raw-dylibs`).
    pub tmpdir: &'a Path,
    pub output: &'a Path,
}

/// rustc's `cc` arguments (without the program name) for linking the crate. Writes
/// `symbols.o`, the export list and the bundled native libraries into `tmpdir`, as rustc does.
pub fn build(inputs: &Inputs<'_>) -> Result<Vec<OsString>, String> {
    let Inputs { sess, crate_type, crate_info, objects, tmpdir, output } = *inputs;
    let flavor = sess.target.linker_flavor;
    let output_kind = output_kind(sess, crate_type);
    let mut cmd = Command { args: Vec::new(), hinted_static: None };
    let mut rmeta_links = RmetaLinkCache::default();

    if crate_type != CrateType::Executable && sess.target.limit_rdylib_exports {
        let exported = crate_info.exported_symbols.get(&crate_type).map(|v| &v[..]).unwrap_or(&[]);
        let path = tmpdir.join("list");
        std::fs::write(&path, version_script(exported.iter().map(|s| s.name.as_str())))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut arg = OsString::from("--version-script=");
        arg.push(&path);
        cmd.link_arg_os(arg);
        cmd.link_args(&["--no-undefined-version"]);
    }

    if let Some(args) = sess.target.pre_link_args.get(&flavor) {
        cmd.verbatim(args.iter().map(|a| &**a));
    }
    cmd.verbatim(&sess.opts.unstable_opts.pre_link_args);

    let linked_symbols = crate_info.linked_symbols.get(&crate_type).map(|v| &v[..]).unwrap_or(&[]);
    if !linked_symbols.is_empty() {
        let path = tmpdir.join("symbols.o");
        std::fs::write(&path, symbols_object(linked_symbols.iter().map(|(name, kind)| (name.as_str(), *kind))))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        cmd.arg(path);
    }
    for (_, path) in objects.all() {
        cmd.arg(path);
    }
    cmd.link_args(&["--as-needed"]);

    let libs = Libraries { sess, crate_info, tmpdir, output_kind };
    libs.add(&mut cmd, &mut rmeta_links, LOCAL_CRATE, true, true)?;
    let formats = &crate_info.dependency_formats[&crate_type];
    for &cnum in &crate_info.used_crates {
        let linkage = formats[cnum];
        let static_crate = linkage == Linkage::Static
            || matches!(linkage, Linkage::IncludedFromDylib | Linkage::NotLinked)
                && (crate_info.compiler_builtins == Some(cnum) || crate_info.profiler_runtime == Some(cnum));
        if static_crate {
            let rlib = crate_info.used_crate_source[&cnum]
                .rlib
                .as_ref()
                .ok_or_else(|| format!("crate `{}` has no rlib", crate_info.crate_name[&cnum]))?;
            cmd.link_staticlib_by_path(&rehome_lib_path(sess, rlib), false);
        }
        libs.add(&mut cmd, &mut rmeta_links, cnum, static_crate, false)?;
    }
    for &cnum in &crate_info.used_crates {
        libs.add(&mut cmd, &mut rmeta_links, cnum, false, true)?;
    }
    let raw_dylibs = tmpdir.join("raw-dylibs");
    std::fs::create_dir_all(&raw_dylibs).map_err(|e| format!("cannot create {}: {e}", raw_dylibs.display()))?;
    cmd.arg("-L").arg(&raw_dylibs);
    cmd.hint_dynamic();

    let any_dynamic = formats.iter().any(|&l| l == Linkage::Dynamic);
    let late = if any_dynamic { &sess.target.late_link_args_dynamic } else { &sess.target.late_link_args_static };
    for args in [late.get(&flavor), sess.target.late_link_args.get(&flavor)].into_iter().flatten() {
        cmd.verbatim(args.iter().map(|a| &**a));
    }

    // add_order_independent_options
    if sess.target.eh_frame_header {
        cmd.link_args(&["--eh-frame-hdr"]);
    }
    cmd.link_args(&["-z", "noexecstack"]);
    for search in sess.target_filesearch().cli_search_paths(PathKind::Native) {
        cmd.arg("-L").arg(&*search.dir);
    }
    cmd.arg("-L").arg(&*sess.target_tlib_path.dir);
    cmd.arg("-o").arg(output);
    if !sess.link_dead_code() {
        cmd.link_args(&["--gc-sections"]);
    }
    match output_kind {
        LinkOutputKind::DynamicNoPicExe => {
            cmd.arg("-no-pie");
        }
        LinkOutputKind::DynamicPicExe => {
            cmd.arg("-pie");
        }
        LinkOutputKind::StaticNoPicExe => {
            cmd.arg("-static").arg("-no-pie");
        }
        LinkOutputKind::StaticPicExe => {
            cmd.arg("-static-pie");
        }
        LinkOutputKind::DynamicDylib => {
            cmd.arg("-shared");
        }
        other => return Err(format!("output kind {other:?}")),
    }
    match sess.opts.cg.relro_level.unwrap_or(sess.target.relro_level) {
        RelroLevel::Full => {
            cmd.link_args(&["-z", "relro", "-z", "now"]);
        }
        RelroLevel::Partial => {
            cmd.link_args(&["-z", "relro"]);
        }
        RelroLevel::Off => {
            cmd.link_args(&["-z", "norelro"]);
        }
        RelroLevel::None => {}
    }
    if matches!(sess.opts.optimize, config::OptLevel::More | config::OptLevel::Aggressive) {
        cmd.link_args(&["-O1"]);
    }
    match sess.opts.cg.strip {
        Strip::None => {}
        Strip::Debuginfo => {
            cmd.link_args(&["--strip-debug"]);
        }
        Strip::Symbols => {
            cmd.link_args(&["--strip-all"]);
        }
    }
    match sess.opts.unstable_opts.debuginfo_compression {
        config::DebugInfoCompression::None => {}
        config::DebugInfoCompression::Zlib => {
            cmd.link_args(&["--compress-debug-sections=zlib"]);
        }
        config::DebugInfoCompression::Zstd => {
            cmd.link_args(&["--compress-debug-sections=zstd"]);
        }
    }
    if !sess.opts.cg.default_linker_libraries && sess.target.no_default_libraries {
        cmd.arg("-nodefaultlibs");
    }
    cmd.verbatim(&sess.opts.cg.link_args);
    if let Some(args) = sess.target.post_link_args.get(&flavor) {
        cmd.verbatim(args.iter().map(|a| &**a));
    }
    Ok(cmd.args)
}

/// The export list of a shared object: rustc's version script, line for line.
fn version_script<'s>(symbols: impl Iterator<Item = &'s str>) -> String {
    let mut script = String::from("{\n");
    let mut symbols = symbols.peekable();
    if symbols.peek().is_some() {
        script.push_str("  global:\n");
        symbols.for_each(|name| script.push_str(&format!("    {name};\n")));
    }
    script + "\n  local:\n    *;\n};\n"
}

/// `symbols.o`: an object with one undefined symbol per symbol rustc keeps alive
/// (`#[used]` statics and the like), so that the rlibs defining them are pulled in.
pub fn symbols_object<'s>(
    symbols: impl Iterator<Item = (&'s str, rustc_middle::middle::exported_symbols::SymbolExportKind)>,
) -> Vec<u8> {
    use object::write::{Object, Symbol, SymbolSection};
    use rustc_middle::middle::exported_symbols::SymbolExportKind;
    let mut file = Object::new(object::BinaryFormat::Elf, object::Architecture::X86_64, object::Endianness::Little);
    for (name, kind) in symbols {
        file.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: match kind {
                SymbolExportKind::Text => object::SymbolKind::Text,
                SymbolExportKind::Data => object::SymbolKind::Data,
                SymbolExportKind::Tls => object::SymbolKind::Tls,
            },
            scope: object::SymbolScope::Unknown,
            weak: false,
            section: SymbolSection::Undefined,
            flags: object::SymbolFlags::None,
        });
    }
    file.write().expect("an object of undefined symbols always writes")
}

/// rustc's path for a library in the sysroot: the sysroot as the session names it.
fn rehome_lib_path(sess: &Session, path: &Path) -> PathBuf {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return path.to_path_buf() };
    let sysroot_lib = &sess.target_tlib_path.dir;
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if canonical(dir) == canonical(sysroot_lib) { sysroot_lib.join(name) } else { path.to_path_buf() }
}

/// Native libraries, as `add_native_libs_from_crate` adds them.
struct Libraries<'a> {
    sess: &'a Session,
    crate_info: &'a CrateInfo,
    tmpdir: &'a Path,
    output_kind: LinkOutputKind,
}

impl Libraries<'_> {
    fn add(
        &self,
        cmd: &mut Command,
        rmeta_links: &mut RmetaLinkCache,
        cnum: CrateNum,
        link_static: bool,
        link_dynamic: bool,
    ) -> Result<(), String> {
        if !self.sess.opts.unstable_opts.link_native_libraries {
            return Ok(());
        }
        let crate_info = self.crate_info;
        let (libs, bundled): (&[NativeLib], Vec<Option<rustc_span::Symbol>>) = if cnum == LOCAL_CRATE {
            (&crate_info.used_libraries, Vec::new())
        } else {
            let libs = &crate_info.native_libraries[&cnum];
            let bundled = match &crate_info.used_crate_source[&cnum].rlib {
                Some(rlib) => rmeta_links.native_lib_filenames(&self.sess.target, rlib, libs),
                None => Vec::new(),
            };
            (libs, bundled)
        };
        if link_static && cnum != LOCAL_CRATE && bundled.iter().any(Option::is_some) {
            let rlib = crate_info.used_crate_source[&cnum].rlib.as_ref().expect("bundled libraries come from an rlib");
            let names = bundled.iter().flatten().copied().collect();
            ArArchiveBuilderBuilder
                .extract_bundled_libs(rlib, self.tmpdir, &names)
                .map_err(|_| format!("cannot extract the native libraries bundled in {}", rlib.display()))?;
        }
        let mut last = (None, NativeLibKind::Unspecified, false);
        for (i, lib) in libs.iter().enumerate() {
            if let Some(cfg) = &lib.cfg
                && !rustc_attr_parsing::eval_config_entry(self.sess, cfg).as_bool()
            {
                continue;
            }
            if (Some(lib.name), lib.kind, lib.verbatim) == last {
                continue;
            }
            last = (Some(lib.name), lib.kind, lib.verbatim);
            let name = lib.name.as_str();
            match lib.kind {
                NativeLibKind::Static { bundle, whole_archive, .. } => {
                    if link_static {
                        let whole_archive = whole_archive == Some(true);
                        if bundle.unwrap_or(true) && cnum != LOCAL_CRATE {
                            if let Some(file) = bundled.get(i).copied().flatten() {
                                cmd.link_staticlib_by_path(&self.tmpdir.join(file.as_str()), whole_archive);
                            }
                        } else {
                            cmd.link_staticlib_by_name(name, lib.verbatim, whole_archive);
                        }
                    }
                }
                NativeLibKind::Dylib { as_needed } => {
                    if link_dynamic {
                        cmd.link_dylib_by_name(name, lib.verbatim, as_needed.unwrap_or(true));
                    }
                }
                NativeLibKind::Unspecified => {
                    if !self.output_kind.can_link_dylib() && !self.sess.target.crt_static_allows_dylibs {
                        if link_static {
                            cmd.link_staticlib_by_name(name, lib.verbatim, false);
                        }
                    } else if link_dynamic {
                        cmd.link_dylib_by_name(name, lib.verbatim, true);
                    }
                }
                NativeLibKind::LinkArg => {
                    if link_static {
                        if lib.verbatim {
                            cmd.arg(name);
                        } else {
                            cmd.link_args(&[name]);
                        }
                    }
                }
                NativeLibKind::WasmImportModule => {}
                NativeLibKind::RawDylib { .. } | NativeLibKind::Framework { .. } => {
                    return Err(format!("native library `{name}` has kind {:?}", lib.kind));
                }
            }
        }
        Ok(())
    }
}
