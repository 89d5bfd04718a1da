//! Emits the synthetic workload's relocatable objects with Cranelift (`cranelift-object`),
//! following the arithmetic of [`Shape`]. PIC code, general-dynamic TLS, one section per
//! function.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow};
use cranelift_codegen::ir::{AbiParam, Function, InstBuilder, MemFlagsData, Signature, UserFuncName, types};
use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module, default_libcall_names};
use cranelift_object::{ObjectBuilder, ObjectModule};

use super::{Shape, symbols};

/// Byte offsets of the fields of an object's descriptor.
const DESC_TABLE: usize = 0;
const DESC_NAME: usize = 8;
const DESC_WEIGHT: usize = 16;
const DESC_NEXT: usize = 24;
const DESC_SIZE: usize = 32;

/// Writes `obj_NNNNN.o` for every object and `main.o` into `dir`, using all cores.
pub(super) fn write_objects(shape: &Shape, dir: &Path) -> Result<Vec<PathBuf>> {
    let isa = target_isa()?;
    let mut paths: Vec<PathBuf> = (0..shape.n_objects).map(|i| dir.join(format!("obj_{i:05}.o"))).collect();
    paths.push(dir.join("main.o"));

    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(paths.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let isa = Arc::clone(&isa);
                let paths = &paths;
                scope.spawn(move || -> Result<()> {
                    for (index, path) in paths.iter().enumerate().skip(worker).step_by(workers) {
                        let bytes = if index < shape.n_objects {
                            emit_object(shape, index, &isa)
                        } else {
                            emit_main(shape, &isa)
                        }
                        .with_context(|| format!("generating {}", path.display()))?;
                        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle.join().map_err(|_| anyhow!("an object-writing thread panicked"))??;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(paths)
}

fn target_isa() -> Result<OwnedTargetIsa> {
    let mut flags = settings::builder();
    flags.set("is_pic", "true")?;
    flags.set("tls_model", "elf_gd")?;
    flags.set("opt_level", "speed")?;
    let isa = isa::lookup_by_name("x86_64-unknown-linux-gnu")
        .map_err(|e| anyhow!("cranelift has no x86-64 backend: {e}"))?
        .finish(settings::Flags::new(flags))?;
    Ok(isa)
}

fn new_module(isa: &OwnedTargetIsa, name: &str) -> Result<ObjectModule> {
    let mut builder = ObjectBuilder::new(Arc::clone(isa), name, default_libcall_names())?;
    builder.per_function_section(true);
    Ok(ObjectModule::new(builder))
}

/// `(i64) -> i64`, the signature of every leaf and caller.
fn unary_signature(module: &ObjectModule) -> Signature {
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// Emits object `i`: its functions, its table and descriptor, its name, its `object_sum`,
/// and (object 0 only) the thread-local counter.
fn emit_object(shape: &Shape, i: usize, isa: &OwnedTargetIsa) -> Result<Vec<u8>> {
    let mut module = new_module(isa, &format!("obj_{i}"))?;
    let unary = unary_signature(&module);
    let next = shape.next(i);

    let own_functions: Vec<FuncId> = (0..shape.fns_per_object)
        .map(|j| module.declare_function(&symbols::function(i, j), Linkage::Export, &unary))
        .collect::<Result<_, _>>()?;
    // The next object's leaves, which callers call directly (same ids when next == i).
    let mut next_leaves: HashMap<usize, FuncId> = HashMap::new();
    for j in 0..shape.leaves() {
        let id = if next == i {
            own_functions[j]
        } else {
            module.declare_function(&symbols::function(next, j), Linkage::Import, &unary)?
        };
        next_leaves.insert(j, id);
    }

    let counter_linkage = if i == 0 { Linkage::Export } else { Linkage::Import };
    let counter = module.declare_data(symbols::COUNTER, counter_linkage, true, true)?;
    let table = module.declare_data(&symbols::table(i), Linkage::Export, false, false)?;
    let descriptor = module.declare_data(&symbols::descriptor(i), Linkage::Export, false, false)?;
    let next_descriptor = if next == i {
        descriptor
    } else {
        module.declare_data(&symbols::descriptor(next), Linkage::Import, false, false)?
    };
    let name = module.declare_data(&symbols::name_string(i), Linkage::Local, false, false)?;

    // Data: name string, function table, descriptor, counter.
    let mut name_bytes = shape.object_name(i).into_bytes();
    name_bytes.push(0);
    let mut data = DataDescription::new();
    data.define(name_bytes.into_boxed_slice());
    module.define_data(name, &data)?;

    let mut data = DataDescription::new();
    data.define(vec![0u8; 8 * shape.leaves()].into_boxed_slice());
    for (j, &function) in own_functions.iter().take(shape.leaves()).enumerate() {
        let reference = module.declare_func_in_data(function, &mut data);
        data.write_function_addr((8 * j) as u32, reference);
    }
    module.define_data(table, &data)?;

    let mut contents = vec![0u8; DESC_SIZE];
    contents[DESC_WEIGHT..DESC_WEIGHT + 8].copy_from_slice(&shape.weight(i).to_le_bytes());
    let mut data = DataDescription::new();
    data.define(contents.into_boxed_slice());
    let table_ref = module.declare_data_in_data(table, &mut data);
    data.write_data_addr(DESC_TABLE as u32, table_ref, 0);
    let name_ref = module.declare_data_in_data(name, &mut data);
    data.write_data_addr(DESC_NAME as u32, name_ref, 0);
    let next_ref = module.declare_data_in_data(next_descriptor, &mut data);
    data.write_data_addr(DESC_NEXT as u32, next_ref, 0);
    module.define_data(descriptor, &data)?;

    if i == 0 {
        let mut data = DataDescription::new();
        data.define_zeroinit(8);
        module.define_data(counter, &data)?;
    }

    let mut context = module.make_context();
    let mut builder_context = FunctionBuilderContext::new();
    for (j, &id) in own_functions.iter().enumerate() {
        context.func = Function::with_name_signature(UserFuncName::user(0, id.as_u32()), unary.clone());
        let mut b = FunctionBuilder::new(&mut context.func, &mut builder_context);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let x = b.block_params(entry)[0];
        let result = if shape.is_leaf(j) {
            let product = b.ins().imul_imm_s(x, shape.leaf_multiplier(i, j) as i64);
            b.ins().iadd_imm_s(product, shape.leaf_addend(i, j) as i64)
        } else {
            // counter += 1 (thread-local, defined in object 0)
            let counter_gv = module.declare_data_in_func(counter, b.func);
            let counter_addr = b.ins().tls_value(types::I64, counter_gv);
            let count = b.ins().load(types::I64, MemFlagsData::trusted(), counter_addr, 0);
            let count = b.ins().iadd_imm_s(count, 1);
            b.ins().store(MemFlagsData::trusted(), count, counter_addr, 0);
            // direct cross-object call
            let callee = module.declare_func_in_func(next_leaves[&shape.direct_callee(j)], b.func);
            let call = b.ins().call(callee, &[x]);
            let direct = b.inst_results(call)[0];
            // desc(i).next -> desc(next).table[indirect_callee(j)](x + j)
            let desc_gv = module.declare_data_in_func(descriptor, b.func);
            let desc_addr = b.ins().symbol_value(types::I64, desc_gv);
            let next_desc = b.ins().load(types::I64, MemFlagsData::trusted(), desc_addr, DESC_NEXT as i32);
            let next_table = b.ins().load(types::I64, MemFlagsData::trusted(), next_desc, DESC_TABLE as i32);
            let slot = (8 * shape.indirect_callee(j)) as i32;
            let target = b.ins().load(types::I64, MemFlagsData::trusted(), next_table, slot);
            let argument = b.ins().iadd_imm_s(x, j as i64);
            let sig_ref = b.import_signature(unary.clone());
            let call = b.ins().call_indirect(sig_ref, target, &[argument]);
            let indirect = b.inst_results(call)[0];
            let weight = b.ins().load(types::I64, MemFlagsData::trusted(), next_desc, DESC_WEIGHT as i32);
            let indirect = b.ins().imul_imm_s(indirect, 3);
            let sum = b.ins().iadd(direct, indirect);
            b.ins().iadd(sum, weight)
        };
        b.ins().return_(&[result]);
        b.finalize(module.isa().frontend_config());
        module.define_function(id, &mut context)?;
        module.clear_context(&mut context);
    }

    emit_object_sum(shape, i, &mut module, &own_functions, descriptor)?;
    Ok(module.finish().emit()?)
}

/// `rivet_synth_oI_sum() -> i64`: calls every function of object `i` once and adds
/// `strlen` of the object's name (reached through its descriptor).
fn emit_object_sum(
    shape: &Shape,
    i: usize,
    module: &mut ObjectModule,
    own_functions: &[FuncId],
    descriptor: DataId,
) -> Result<()> {
    let mut sum_sig = module.make_signature();
    sum_sig.returns.push(AbiParam::new(types::I64));
    let sum_id = module.declare_function(&symbols::object_sum(i), Linkage::Export, &sum_sig)?;
    let strlen = module.declare_function("strlen", Linkage::Import, &unary_signature(module))?;

    let mut context = module.make_context();
    let mut builder_context = FunctionBuilderContext::new();
    context.func = Function::with_name_signature(UserFuncName::user(0, sum_id.as_u32()), sum_sig);
    let mut b = FunctionBuilder::new(&mut context.func, &mut builder_context);
    let entry = b.create_block();
    b.switch_to_block(entry);
    b.seal_block(entry);
    let mut total = b.ins().iconst(types::I64, 0);
    for (j, &function) in own_functions.iter().enumerate() {
        let callee = module.declare_func_in_func(function, b.func);
        let argument = b.ins().iconst(types::I64, shape.sum_argument(i, j) as i64);
        let call = b.ins().call(callee, &[argument]);
        let value = b.inst_results(call)[0];
        let scaled = b.ins().imul_imm_s(total, 31);
        total = b.ins().iadd(scaled, value);
    }
    let desc_gv = module.declare_data_in_func(descriptor, b.func);
    let desc_addr = b.ins().symbol_value(types::I64, desc_gv);
    let name = b.ins().load(types::I64, MemFlagsData::trusted(), desc_addr, DESC_NAME as i32);
    let strlen_ref = module.declare_func_in_func(strlen, b.func);
    let call = b.ins().call(strlen_ref, &[name]);
    let length = b.inst_results(call)[0];
    let total = b.ins().iadd(total, length);
    b.ins().return_(&[total]);
    b.finalize(module.isa().frontend_config());
    module.define_function(sum_id, &mut context)?;
    Ok(())
}

/// `main.o`: `main` folds every object's sum, adds the thread-local counter and `printf`s.
fn emit_main(shape: &Shape, isa: &OwnedTargetIsa) -> Result<Vec<u8>> {
    let mut module = new_module(isa, "main")?;
    let mut sum_sig = module.make_signature();
    sum_sig.returns.push(AbiParam::new(types::I64));
    let sums: Vec<FuncId> = (0..shape.n_objects)
        .map(|i| module.declare_function(&symbols::object_sum(i), Linkage::Import, &sum_sig))
        .collect::<Result<_, _>>()?;
    let counter = module.declare_data(symbols::COUNTER, Linkage::Import, true, true)?;

    let mut printf_sig = module.make_signature();
    printf_sig.params.push(AbiParam::new(types::I64));
    printf_sig.params.push(AbiParam::new(types::I64));
    printf_sig.returns.push(AbiParam::new(types::I32));
    let printf = module.declare_function("printf", Linkage::Import, &printf_sig)?;

    let format = module.declare_data("rivet_synth_format", Linkage::Local, false, false)?;
    let mut data = DataDescription::new();
    data.define(b"rivet-synth checksum=%llu\n\0".to_vec().into_boxed_slice());
    module.define_data(format, &data)?;

    let mut main_sig = module.make_signature();
    main_sig.returns.push(AbiParam::new(types::I32));
    let main = module.declare_function("main", Linkage::Export, &main_sig)?;

    let mut context = module.make_context();
    let mut builder_context = FunctionBuilderContext::new();
    context.func = Function::with_name_signature(UserFuncName::user(0, main.as_u32()), main_sig);
    let mut b = FunctionBuilder::new(&mut context.func, &mut builder_context);
    let entry = b.create_block();
    b.switch_to_block(entry);
    b.seal_block(entry);
    let mut total = b.ins().iconst(types::I64, 0);
    for &sum in &sums {
        let callee = module.declare_func_in_func(sum, b.func);
        let call = b.ins().call(callee, &[]);
        let value = b.inst_results(call)[0];
        let scaled = b.ins().imul_imm_s(total, 1_000_003);
        total = b.ins().iadd(scaled, value);
    }
    let counter_gv = module.declare_data_in_func(counter, b.func);
    let counter_addr = b.ins().tls_value(types::I64, counter_gv);
    let count = b.ins().load(types::I64, MemFlagsData::trusted(), counter_addr, 0);
    let total = b.ins().iadd(total, count);
    let format_gv = module.declare_data_in_func(format, b.func);
    let format_addr = b.ins().symbol_value(types::I64, format_gv);
    let printf_ref = module.declare_func_in_func(printf, b.func);
    b.ins().call(printf_ref, &[format_addr, total]);
    let zero = b.ins().iconst(types::I32, 0);
    b.ins().return_(&[zero]);
    b.finalize(module.isa().frontend_config());
    module.define_function(main, &mut context)?;
    Ok(module.finish().emit()?)
}
