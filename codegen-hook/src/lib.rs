//! `rustc_codegen_rivet`: a rustc codegen backend that links while codegen is still running.
//!
//! rustc loads it with `-Zcodegen-backend=rivet` (installed in the toolchain's
//! `codegen-backends/`) or `-Zcodegen-backend=<path to the .so>`. It is rustc's LLVM backend
//! ([`llvm::Streamed`]) plus an in-process rivet link ([`in_process::Link`]):
//!
//! 1. `codegen_crate`: if rivet can link this crate ([`link_line::unsupported`]), build
//!    rustc's link command from `CrateInfo` ([`link_line::build`]), with the crate's object
//!    paths as rustc will name them, turn it into the linker's arguments ([`gcc`]), and start
//!    the link thread on it: the rlibs, the standard library and the system libraries are
//!    loaded and resolved while LLVM works. Then run rustc's codegen driver on LLVM.
//! 2. As LLVM writes each object, [`registry::deliver`] sends it to the link.
//! 3. `join_codegen`: rustc's join; the pending link is kept for `link`.
//! 4. `link`: hand over the final list of objects (the units reused from the incremental
//!    cache appear only there) and wait for the output; remove the temporary objects as
//!    rustc's `link_binary` does. If codegen made other objects than planned, the link is
//!    started again on the final list, still in-process.
//!
//! rivet links executables, proc-macros and cdylibs; every other crate (rlibs, dylibs, other
//! targets, LTO, ...) is linked by rustc's own `link`, unchanged; `RIVET_VERBOSE=1` names the
//! reason, once per crate, and `RIVET_TIME=1` prints the passes of each in-process link as
//! `--time` does (an environment variable: a `-C link-arg` would change rustc's fingerprint
//! of every crate). `RIVET_ENGINE=cranelift` makes Cranelift the code generator
//! ([`cranelift`]).
//! Errors are rustc diagnostics: `error: linking with rivet failed: ...`, and no output.
#![feature(rustc_private)]

extern crate rustc_ast;
extern crate rustc_attr_parsing;
extern crate rustc_codegen_llvm;
extern crate rustc_codegen_ssa;
extern crate rustc_data_structures;
// Links the librustc_driver that rustc has already loaded.
extern crate rustc_driver;
extern crate rustc_errors;
extern crate rustc_metadata;
extern crate rustc_middle;
extern crate rustc_session;
extern crate rustc_span;
extern crate rustc_structures;
extern crate rustc_target;

mod cranelift;
mod gcc;
mod in_process;
mod link_line;
mod llvm;
mod registry;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustc_codegen_ssa::back::write::OngoingCodegen;
use rustc_codegen_ssa::traits::CodegenBackend;
use rustc_codegen_ssa::{CompiledModule, CompiledModules, CrateInfo, TargetConfig};
use rustc_metadata::EncodedMetadata;
use rustc_metadata::creader::MetadataLoaderDyn;
use rustc_middle::dep_graph::WorkProductMap;
use rustc_middle::ty::TyCtxt;
use rustc_middle::util::Providers;
use rustc_session::config::{OutputFilenames, OutputType, PrintKind, PrintRequest};
use rustc_session::{CodegenBackendInit, EarlySession, IncrCompSession, Session};
use rustc_span::def_id::LOCAL_CRATE;
use rustc_structures::CrateType;

use crate::in_process::{Failure, Link};
use crate::link_line::LocalObjects;

/// The backend rustc loads.
pub struct RivetBackend {
    engine: Engine,
    /// Links between `join_codegen` and `link`, by the session's output stem.
    joined: Mutex<Vec<(PathBuf, PendingLink)>>,
}

/// A link started at the beginning of codegen.
struct PendingLink {
    link: Link,
    /// Ends the delivery of objects to `link` when dropped.
    _registration: registry::Registration,
    plan: Plan,
}

/// What the link command was built from.
#[derive(Clone)]
struct Plan {
    crate_name: String,
    crate_type: CrateType,
    objects: LocalObjects,
    output: PathBuf,
    /// rustc's temporary directory for the link (`symbols.o`, bundled libraries).
    tmpdir: PathBuf,
}

/// The code generator.
enum Engine {
    Llvm(rustc_codegen_llvm::LlvmCodegenBackend),
    /// The toolchain's Cranelift backend, loaded at start-up (`RIVET_ENGINE=cranelift`).
    Cranelift(Box<dyn CodegenBackend>),
}

impl Engine {
    fn backend(&self) -> &dyn CodegenBackend {
        match self {
            Engine::Llvm(llvm) => llvm,
            Engine::Cranelift(cranelift) => &**cranelift,
        }
    }
}

/// What `codegen_crate` hands to `join_codegen`.
struct Ongoing {
    codegen: OngoingEngine,
    link: Option<PendingLink>,
}

enum OngoingEngine {
    Llvm(OngoingCodegen<llvm::Streamed>),
    /// Cranelift's own ongoing codegen, and the watcher that streams its objects.
    Cranelift(Box<dyn Any>, Option<cranelift::Watcher>),
}

fn verbose() -> bool {
    switched_on("RIVET_VERBOSE")
}

/// Whether the environment variable `name` is set to anything but nothing or `0`.
fn switched_on(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

fn output_key(outputs: &OutputFilenames) -> PathBuf {
    outputs.with_extension("")
}

impl RivetBackend {
    /// Starts the link of the crate `tcx` compiles, if rivet links it.
    fn start_link(&self, tcx: TyCtxt<'_>) -> Result<PendingLink, String> {
        let sess = tcx.sess;
        if let Some(why) = link_line::unsupported(sess, tcx.crate_types()) {
            return Err(why);
        }
        if !sess.opts.output_types.should_link() {
            return Err("no linked output is asked for".into());
        }
        let crate_type = tcx.crate_types()[0];
        let crate_info = CrateInfo::new(tcx, self.target_cpu(sess));
        if let Some(why) = link_line::unsupported_dependencies(&crate_info, crate_type) {
            return Err(why);
        }
        let outputs = tcx.output_filenames(());
        let crate_name = crate_info.local_crate_name.to_string();
        let out = rustc_session::output::out_filename(sess, crate_type, outputs, crate_info.local_crate_name);
        if out.is_stdout() {
            return Err("the output is stdout".into());
        }
        let output = out.file_for_writing(outputs, OutputType::Exe, &crate_name);
        let object_path = |name: &str| outputs.temp_path_for_cgu(OutputType::Object, name);
        let mut regular: Vec<(String, PathBuf)> = tcx
            .collect_and_partition_mono_items(())
            .codegen_units
            .iter()
            .map(|cgu| {
                let name = cgu.name().to_string();
                let path = object_path(&name);
                (name, path)
            })
            .collect();
        regular.sort();
        let allocator = rustc_codegen_ssa::base::allocator_kind_for_codegen(tcx).map(|_| {
            let name = rustc_middle::mono::CodegenUnitNameBuilder::new(tcx)
                .build_cgu_name(LOCAL_CRATE, &["crate"], Some("allocator"))
                .to_string();
            let path = object_path(&name);
            (name, path)
        });
        let allocator = allocator.into_iter().collect();
        let tmpdir = make_tmpdir(output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))?;
        let metadata = (crate_type == CrateType::ProcMacro)
            .then(|| (link_line::METADATA_OBJECT.to_string(), tmpdir.join(link_line::METADATA_OBJECT)));
        let objects = LocalObjects { regular, metadata, allocator };
        let plan = Plan { crate_name, crate_type, objects, output, tmpdir };
        let link = plan.start(sess, &crate_info).inspect_err(|_| plan.remove_tmpdir(sess))?;
        let registration = registry::Registration::new(outputs, link.sender());
        Ok(PendingLink { link, _registration: registration, plan })
    }
}

impl Plan {
    fn start(&self, sess: &Session, crate_info: &CrateInfo) -> Result<Link, String> {
        let cc_args = link_line::build(&link_line::Inputs {
            sess,
            crate_type: self.crate_type,
            crate_info,
            objects: &self.objects,
            tmpdir: &self.tmpdir,
            output: &self.output,
        })?;
        for print in &sess.opts.prints {
            if print.kind == PrintKind::LinkArgs {
                print.out.overwrite(&print_command(&cc_args), sess);
            }
        }
        let split = gcc::split(&cc_args)?;
        let late = self.objects.all().cloned().collect();
        Ok(Link::start(split, self.output.clone(), late, incremental_link(sess)))
    }

    fn remove_tmpdir(&self, sess: &Session) {
        if !sess.opts.cg.save_temps {
            let _ = std::fs::remove_dir_all(&self.tmpdir);
        }
    }
}

/// Whether the link skips itself when its inputs are unchanged (`linker_core::incremental`):
/// whenever rustc compiles incrementally (cargo's dev profile), unless `RIVET_INCREMENTAL=0`.
fn incremental_link(sess: &Session) -> bool {
    sess.opts.incremental.is_some() && std::env::var_os("RIVET_INCREMENTAL").is_none_or(|v| v != "0")
}

/// `--print link-args`: the `cc` command rustc would run, quoted as rustc prints it.
fn print_command(cc_args: &[std::ffi::OsString]) -> String {
    let mut line = String::from("\"cc\"");
    for arg in cc_args {
        line.push_str(&format!(" {:?}", arg));
    }
    line + "\n"
}

/// A fresh directory for the link's temporary files next to the output, as rustc's.
fn make_tmpdir(parent: &Path) -> Result<PathBuf, String> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let parent = std::path::absolute(parent).map_err(|e| format!("cannot find {}: {e}", parent.display()))?;
    let dir = parent.join(format!("rivet{}-{stamp:x}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Sends the objects of the codegen units reused from the incremental cache, which never
/// pass through LLVM: once rustc's `codegen_crate` has returned, the units it did not give
/// LLVM (`compiled`) are reused, and their objects are the previous session's work products.
/// (Being green in the dependency graph does not tell: a recompiled unit whose result hash is
/// unchanged is green too.) Without this they would reach the link only with the final
/// list, after codegen (on a one-line edit of ripgrep, 256 of 257 objects, 20-35 ms of
/// parsing in the tail). The link checks each against the final list (`in_process`).
fn send_reused_objects(tcx: TyCtxt<'_>, link: &Link, compiled: &[String]) {
    let Some(dir) = tcx.incr_comp_session.and_then(|s| s.old_session_directory.as_deref()) else { return };
    if tcx.sess.lto() != rustc_session::config::Lto::No {
        return;
    }
    for cgu in tcx.collect_and_partition_mono_items(()).codegen_units {
        if compiled.iter().any(|name| name.as_str() == cgu.name().as_str()) {
            continue;
        }
        let object =
            tcx.dep_graph.previous_work_product(&cgu.work_product_id()).and_then(|wp| wp.saved_files.get("o").cloned());
        if let Some(file) = object {
            let _ =
                link.sender().send(in_process::Event::Object { name: cgu.name().to_string(), path: dir.join(file) });
        }
    }
}

/// The crate's objects as codegen made them, with the metadata object, in rustc's order.
fn final_objects(modules: &CompiledModules, metadata: Option<&(String, PathBuf)>) -> LocalObjects {
    let of = |module: &CompiledModule| {
        let object = module.object.clone().map(|path| (module.name.clone(), path));
        // Objects of `global_asm!` (Cranelift): never planned, so they restart the link.
        let global_asm = module.global_asm_object.clone().map(|path| (format!("{}.global_asm", module.name), path));
        object.into_iter().chain(global_asm)
    };
    LocalObjects {
        regular: modules.modules.iter().flat_map(of).collect(),
        metadata: metadata.cloned(),
        allocator: modules.allocator_module.iter().flat_map(of).collect(),
    }
}

impl CodegenBackend for RivetBackend {
    fn name(&self) -> &'static str {
        // rustc compares it with "llvm" for LLVM-specific behaviour: the engine's name.
        self.engine.backend().name()
    }

    fn init(&mut self, sess: &EarlySession) -> CodegenBackendInit {
        match &mut self.engine {
            Engine::Llvm(llvm) => llvm.init(sess),
            Engine::Cranelift(cranelift) => cranelift.init(sess),
        }
    }

    fn print(&self, req: &PrintRequest, out: &mut String, sess: &Session) {
        self.engine.backend().print(req, out, sess)
    }

    fn target_config(&self, sess: &EarlySession) -> TargetConfig {
        self.engine.backend().target_config(sess)
    }

    fn supported_crate_types(&self, sess: &Session) -> Vec<CrateType> {
        self.engine.backend().supported_crate_types(sess)
    }

    fn print_passes(&self) {
        self.engine.backend().print_passes()
    }

    fn print_version(&self) {
        self.engine.backend().print_version()
    }

    fn has_zstd(&self) -> bool {
        self.engine.backend().has_zstd()
    }

    fn has_mnemonic(&self, sess: &Session, mnemonic: &str) -> bool {
        self.engine.backend().has_mnemonic(sess, mnemonic)
    }

    fn metadata_loader(&self) -> Box<MetadataLoaderDyn> {
        self.engine.backend().metadata_loader()
    }

    fn provide(&self, providers: &mut Providers) {
        self.engine.backend().provide(providers)
    }

    fn target_cpu(&self, sess: &Session) -> String {
        self.engine.backend().target_cpu(sess)
    }

    fn codegen_crate<'tcx>(&self, tcx: TyCtxt<'tcx>) -> Box<dyn Any> {
        let link = match self.start_link(tcx) {
            Ok(link) => Some(link),
            Err(why) => {
                let links = tcx.crate_types().iter().any(|t| !matches!(t, CrateType::Rlib | CrateType::StaticLib));
                if links && verbose() {
                    eprintln!("rivet: `{}` is linked by rustc: {why}", tcx.crate_name(LOCAL_CRATE));
                }
                None
            }
        };
        let codegen = match &self.engine {
            Engine::Llvm(llvm) => {
                let streamed = llvm::Streamed::new(llvm.clone());
                let codegen = rustc_codegen_ssa::base::codegen_crate(streamed.clone(), tcx);
                if let Some(link) = &link {
                    send_reused_objects(tcx, &link.link, &streamed.compiled());
                }
                OngoingEngine::Llvm(codegen)
            }

            Engine::Cranelift(cranelift) => {
                let watcher = link.as_ref().and_then(|link| {
                    let planned = link.plan.objects.all().cloned().collect();
                    cranelift::Watcher::start(planned, link.link.sender())
                        .inspect_err(|e| {
                            eprintln!("rivet: warning: objects will reach the link at the end of codegen: {e}")
                        })
                        .ok()
                });
                OngoingEngine::Cranelift(cranelift.codegen_crate(tcx), watcher)
            }
        };
        Box::new(Ongoing { codegen, link })
    }

    fn join_codegen(
        &self,
        ongoing: Box<dyn Any>,
        sess: &Session,
        incr_comp_session: Option<&IncrCompSession>,
        outputs: &OutputFilenames,
        crate_info: &CrateInfo,
    ) -> (CompiledModules, WorkProductMap) {
        let ongoing = *ongoing.downcast::<Ongoing>().expect("join_codegen got another backend's codegen");
        let joined = match ongoing.codegen {
            OngoingEngine::Llvm(codegen) => codegen.join(sess, incr_comp_session, crate_info),
            OngoingEngine::Cranelift(codegen, watcher) => {
                let joined = self.engine.backend().join_codegen(codegen, sess, incr_comp_session, outputs, crate_info);
                drop(watcher);
                joined
            }
        };
        if let Some(link) = ongoing.link {
            let mut pending = self.joined.lock().unwrap_or_else(|p| p.into_inner());
            pending.push((output_key(outputs), link));
        }
        joined
    }

    fn print_pass_timings(&self) {
        self.engine.backend().print_pass_timings()
    }

    fn print_statistics(&self) {
        self.engine.backend().print_statistics()
    }

    fn print_statistics_json(&self) -> String {
        self.engine.backend().print_statistics_json()
    }

    fn link(
        &self,
        sess: &Session,
        compiled_modules: CompiledModules,
        crate_info: CrateInfo,
        metadata: EncodedMetadata,
        outputs: &OutputFilenames,
    ) {
        let key = output_key(outputs);
        let pending = {
            let mut joined = self.joined.lock().unwrap_or_else(|p| p.into_inner());
            joined.iter().position(|(k, _)| *k == key).map(|i| joined.remove(i).1)
        };
        let Some(PendingLink { link, _registration, plan }) = pending else {
            return self.engine.backend().link(sess, compiled_modules, crate_info, metadata, outputs);
        };
        drop(_registration);
        let result = write_metadata_object(sess, &plan, &crate_info, &metadata).and_then(|()| {
            let objects = final_objects(&compiled_modules, plan.objects.metadata.as_ref());
            match link.finish(objects.all().cloned().collect()) {
                Err(Failure::Replan(why)) => {
                    if verbose() {
                        eprintln!("rivet: `{}` is linked again from codegen's final objects: {why}", plan.crate_name);
                    }
                    let replanned = Plan { objects, ..plan.clone() };
                    let link = replanned.start(sess, &crate_info)?;
                    link.finish(replanned.objects.all().cloned().collect()).map_err(|failure| match failure {
                        Failure::Error(message) | Failure::Replan(message) => message,
                    })
                }
                Err(Failure::Error(message)) => Err(message),
                Ok(report) => Ok(report),
            }
        });
        let planned_count = plan.objects.all().count();
        remove_temporaries(sess, &compiled_modules);
        plan.remove_tmpdir(sess);
        match result {
            Ok(report) => {
                if verbose() {
                    eprintln!(
                        "rivet: linked `{}` in-process ({}), {:.1} ms after codegen's end ({} of {} objects came at the end){}",
                        plan.crate_name,
                        plan.output.display(),
                        report.tail_ms,
                        report.late_objects,
                        planned_count,
                        report.incremental.map(|outcome| format!("; incremental: {outcome}")).unwrap_or_default(),
                    );
                }
            }
            Err(message) => {
                sess.dcx().fatal(format!("linking with rivet failed: {message}"));
            }
        }
    }
}

/// Writes the crate's metadata, wrapped in an object, where the plan holds a place for it
/// (proc-macros: rustc reads it back from the shared object).
fn write_metadata_object(
    sess: &Session,
    plan: &Plan,
    crate_info: &CrateInfo,
    metadata: &EncodedMetadata,
) -> Result<(), String> {
    let Some((_, path)) = &plan.objects.metadata else { return Ok(()) };
    let bytes =
        rustc_codegen_ssa::back::metadata::create_compressed_metadata_file(sess, metadata, &crate_info.metadata_symbol);
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The crate's objects go once linked, as in rustc's `link_binary` (debug info stays in
/// the executable on Linux, so no object is kept for it).
fn remove_temporaries(sess: &Session, modules: &CompiledModules) {
    if sess.opts.cg.save_temps {
        return;
    }
    for module in modules.modules.iter().chain(&modules.allocator_module) {
        for path in module.object.iter().chain(&module.global_asm_object).chain(&module.dwarf_object) {
            if let Err(error) = std::fs::remove_file(path)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                sess.dcx().warn(format!("cannot remove {}: {error}", path.display()));
            }
        }
    }
}

/// The entry point rustc looks up in a codegen backend's shared object.
#[unsafe(no_mangle)]
pub fn __rustc_codegen_backend() -> Box<dyn CodegenBackend> {
    let engine = match std::env::var("RIVET_ENGINE").as_deref() {
        Ok("cranelift") => match cranelift::load() {
            Ok(cranelift) => Engine::Cranelift(cranelift),
            Err(why) => {
                eprintln!("error: rivet's Cranelift engine: {why}");
                std::process::exit(1);
            }
        },
        Ok("llvm") | Ok("") | Err(_) => Engine::Llvm(llvm::llvm_backend()),
        Ok(other) => {
            eprintln!("error: RIVET_ENGINE={other}: the engines are `llvm` (the default) and `cranelift`");
            std::process::exit(1);
        }
    };
    Box::new(RivetBackend { engine, joined: Mutex::new(Vec::new()) })
}
