//! The LLVM engine: rustc's own LLVM backend, wrapped so that every object it writes is
//! handed to the link the moment it is on disk.
//!
//! [`Streamed`] implements rustc's backend traits by delegating each method to
//! `LlvmCodegenBackend`; the only addition is a call to [`crate::registry::deliver`] after the
//! three functions that write an object (`codegen` for a codegen unit, and the two LTO
//! variants). Those are associated functions run on LLVM's worker threads without a `self`,
//! so the link is found through the registry, keyed by the session's output paths.
//! The module buffer type is wrapped because `ThinShared<Streamed>` must hold
//! `ModuleBuffer`s of this backend while LLVM's LTO hands back `ThinShared<LLVM>`.

use std::any::Any;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustc_ast::expand::allocator::AllocatorMethod;
use rustc_codegen_llvm::LlvmCodegenBackend;
use rustc_codegen_ssa::back::lto::{SerializedModule, ThinModule, ThinShared};
use rustc_codegen_ssa::back::write::{
    CodegenContext, FatLtoInput, ModuleConfig, SharedEmitter, TargetMachineFactoryFn, ThinLtoInput,
};
use rustc_codegen_ssa::traits::{ExtraBackendMethods, ModuleBufferMethods, WriteBackendMethods};
use rustc_codegen_ssa::{CompiledModule, ModuleCodegen};
use rustc_data_structures::profiling::SelfProfilerRef;
use rustc_errors::DiagCtxtHandle;
use rustc_middle::dep_graph::WorkProduct;
use rustc_middle::ty::TyCtxt;
use rustc_session::Session;
use rustc_session::config::OptLevel;
use rustc_span::Symbol;

type Llvm = LlvmCodegenBackend;
type LlvmBuffer = <Llvm as WriteBackendMethods>::ModuleBuffer;

/// rustc's LLVM backend as a value. `LlvmCodegenBackend` is a unit struct with a private
/// field, built only by `new() -> Box<dyn CodegenBackend>`; being zero-sized, the value can
/// be read out of that box (which owns no allocation).
pub fn llvm_backend() -> Llvm {
    const { assert!(std::mem::size_of::<Llvm>() == 0) };
    let boxed: Box<dyn rustc_codegen_ssa::traits::CodegenBackend> = Llvm::new();
    assert_eq!(boxed.name(), "llvm", "rustc_codegen_llvm::LlvmCodegenBackend::new() built another backend");
    // SAFETY: `new` returns `Box::new(LlvmCodegenBackend(()))` (checked by name above); the
    // type is zero-sized, so reading it through the box's data pointer reads no memory, and
    // leaking the box leaks nothing.
    unsafe { std::ptr::read(Box::into_raw(boxed) as *const Llvm) }
}

/// LLVM, with each object streamed to the link.
#[derive(Clone)]
pub struct Streamed {
    llvm: Llvm,
    /// The codegen units LLVM compiles in this session (the others are reused).
    compiled: Arc<Mutex<Vec<String>>>,
}

impl Streamed {
    pub fn new(llvm: Llvm) -> Streamed {
        Streamed { llvm, compiled: Arc::default() }
    }

    /// The names of the codegen units compiled so far: once rustc's `codegen_crate` has
    /// returned, every unit not reused from the incremental cache.
    pub fn compiled(&self) -> Vec<String> {
        self.compiled.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A module buffer of [`Streamed`]: LLVM's own, or one held by LLVM's thin-LTO state.
pub enum Buffer {
    Own(LlvmBuffer),
    InThinShared(Arc<ThinShared<Llvm>>, usize),
}

impl ModuleBufferMethods for Buffer {
    fn data(&self) -> &[u8] {
        match self {
            Buffer::Own(buffer) => buffer.data(),
            Buffer::InThinShared(shared, index) => shared.modules[*index].data(),
        }
    }
}

/// LLVM's serialized module for one of ours. Buffers held by thin-LTO state only come back
/// from `run_thin_lto`, never go into it.
fn unwrap_serialized(module: SerializedModule<Buffer>) -> SerializedModule<LlvmBuffer> {
    match module {
        SerializedModule::Local(Buffer::Own(buffer)) => SerializedModule::Local(buffer),
        SerializedModule::Local(Buffer::InThinShared(shared, index)) => {
            SerializedModule::FromRlib(shared.modules[index].data().to_vec())
        }
        SerializedModule::FromRlib(bytes) => SerializedModule::FromRlib(bytes),
        SerializedModule::FromUncompressedFile(map) => SerializedModule::FromUncompressedFile(map),
    }
}

impl ExtraBackendMethods for Streamed {
    type Module = <Llvm as ExtraBackendMethods>::Module;

    fn codegen_allocator<'tcx>(
        &self,
        tcx: TyCtxt<'tcx>,
        module_name: &str,
        methods: &[AllocatorMethod],
    ) -> Self::Module {
        self.llvm.codegen_allocator(tcx, module_name, methods)
    }

    fn compile_codegen_unit(
        &self,
        tcx: TyCtxt<'_>,
        cgu_name: Symbol,
        bitcode_needed: bool,
    ) -> (ModuleCodegen<Self::Module>, u64) {
        self.compiled.lock().unwrap_or_else(|p| p.into_inner()).push(cgu_name.to_string());
        self.llvm.compile_codegen_unit(tcx, cgu_name, bitcode_needed)
    }
}

impl WriteBackendMethods for Streamed {
    type Module = <Llvm as WriteBackendMethods>::Module;
    type TargetMachine = <Llvm as WriteBackendMethods>::TargetMachine;
    type ModuleBuffer = Buffer;
    type ThinData = Arc<ThinShared<Llvm>>;

    fn supports_parallel(&self) -> bool {
        self.llvm.supports_parallel()
    }

    fn thread_profiler() -> Box<dyn Any> {
        Llvm::thread_profiler()
    }

    fn target_machine_factory(&self, sess: &Session, opt_level: OptLevel) -> TargetMachineFactoryFn<Self> {
        self.llvm.target_machine_factory(sess, opt_level)
    }

    fn optimize_and_codegen_fat_lto(
        sess: &Session,
        cgcx: &CodegenContext,
        shared_emitter: &SharedEmitter,
        tm_factory: TargetMachineFactoryFn<Self>,
        exported_symbols_for_lto: &[String],
        each_linked_rlib_for_lto: &[PathBuf],
        modules: Vec<FatLtoInput<Self>>,
    ) -> CompiledModule {
        let modules = modules
            .into_iter()
            .map(|module| match module {
                FatLtoInput::Serialized { name, bitcode_path } => FatLtoInput::Serialized { name, bitcode_path },
                FatLtoInput::InMemory(module) => FatLtoInput::InMemory(module),
            })
            .collect();
        let compiled = Llvm::optimize_and_codegen_fat_lto(
            sess,
            cgcx,
            shared_emitter,
            tm_factory,
            exported_symbols_for_lto,
            each_linked_rlib_for_lto,
            modules,
        );
        crate::registry::deliver(&cgcx.output_filenames, &compiled);
        compiled
    }

    fn run_thin_lto(
        cgcx: &CodegenContext,
        prof: &SelfProfilerRef,
        dcx: DiagCtxtHandle<'_>,
        exported_symbols_for_lto: &[String],
        each_linked_rlib_for_lto: &[PathBuf],
        modules: Vec<ThinLtoInput<Self>>,
    ) -> (Vec<ThinModule<Self>>, Vec<WorkProduct>) {
        let modules = modules
            .into_iter()
            .map(|module| match module {
                ThinLtoInput::Red { name, buffer } => ThinLtoInput::Red { name, buffer: unwrap_serialized(buffer) },
                ThinLtoInput::Green { wp, bitcode_path } => ThinLtoInput::Green { wp, bitcode_path },
            })
            .collect();
        let (thin, work_products) =
            Llvm::run_thin_lto(cgcx, prof, dcx, exported_symbols_for_lto, each_linked_rlib_for_lto, modules);
        // One ThinShared of ours per ThinShared of LLVM's (there is one per LTO run).
        let mut wrapped: Vec<(Arc<ThinShared<Llvm>>, Arc<ThinShared<Streamed>>)> = Vec::new();
        let thin = thin
            .into_iter()
            .map(|module| {
                let shared = match wrapped.iter().find(|(inner, _)| Arc::ptr_eq(inner, &module.shared)) {
                    Some((_, outer)) => outer.clone(),
                    None => {
                        let inner = module.shared.clone();
                        let outer = Arc::new(ThinShared::<Streamed> {
                            data: inner.clone(),
                            modules: (0..inner.modules.len())
                                .map(|i| SerializedModule::Local(Buffer::InThinShared(inner.clone(), i)))
                                .collect(),
                            module_names: inner.module_names.clone(),
                        });
                        wrapped.push((inner, outer.clone()));
                        outer
                    }
                };
                ThinModule { shared, idx: module.idx }
            })
            .collect();
        (thin, work_products)
    }

    fn optimize(
        cgcx: &CodegenContext,
        prof: &SelfProfilerRef,
        shared_emitter: &SharedEmitter,
        module: &mut ModuleCodegen<Self::Module>,
        config: &ModuleConfig,
    ) {
        Llvm::optimize(cgcx, prof, shared_emitter, module, config)
    }

    fn optimize_and_codegen_thin(
        cgcx: &CodegenContext,
        prof: &SelfProfilerRef,
        shared_emitter: &SharedEmitter,
        tm_factory: TargetMachineFactoryFn<Self>,
        thin: ThinModule<Self>,
    ) -> CompiledModule {
        let inner = ThinModule::<Llvm> { shared: thin.shared.data.clone(), idx: thin.idx };
        let compiled = Llvm::optimize_and_codegen_thin(cgcx, prof, shared_emitter, tm_factory, inner);
        crate::registry::deliver(&cgcx.output_filenames, &compiled);
        compiled
    }

    fn codegen(
        cgcx: &CodegenContext,
        prof: &SelfProfilerRef,
        shared_emitter: &SharedEmitter,
        module: ModuleCodegen<Self::Module>,
        config: &ModuleConfig,
    ) -> CompiledModule {
        let compiled = Llvm::codegen(cgcx, prof, shared_emitter, module, config);
        crate::registry::deliver(&cgcx.output_filenames, &compiled);
        compiled
    }

    fn serialize_module(module: Self::Module, is_thin: bool) -> Self::ModuleBuffer {
        Buffer::Own(Llvm::serialize_module(module, is_thin))
    }
}
