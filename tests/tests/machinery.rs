//! Linking machinery: PLT/GOT and lazy vs immediate binding, IFUNC, TLS in all its models,
//! the large code model, SIZE and absolute relocations, C++ exceptions and unwinding
//! tables, segment flags, hash tables, build IDs, --gc-sections with __start_/__stop_,
//! and linker-defined symbols.

use rivet_tests::{Test, WORLDS, assert_stdout, nm_address, nm_defines, nm_has, segment_flags_of, test_env};

// ---------------------------------------------------------------------------------------
// PLT / GOT, lazy binding and -z now
// ---------------------------------------------------------------------------------------

/// Lazy binding (default): a PLT slot is resolved on first call, so a program whose .so lost
/// a function it never calls still runs. With -z now all symbols are bound at start-up:
/// DT_FLAGS has BIND_NOW and the same program fails to load.
#[test]
fn plt_lazy_binding_and_z_now() {
    let t = test_env!("plt_lazy_binding_and_z_now");
    let full = t.cc("lazy_lib_full.c", &["-fPIC"]);
    let partial = t.cc("lazy_lib_partial.c", &["-fPIC"]);
    t.link("libopt.so", &["-shared", &full, "-Wl,-soname,libopt.so"]);
    let main = t.cc("lazy_main.c", &["-O1"]);
    t.link("prog_lazy", &[&main, "-L.", "-lopt", "-Wl,-z,lazy"]);
    t.link("prog_now", &[&main, "-L.", "-lopt", "-Wl,-z,now"]);
    t.link("prog_default", &[&main, "-L.", "-lopt"]);

    // With the complete library everything works, including the optional call.
    for p in ["prog_lazy", "prog_now", "prog_default"] {
        t.run_expect(p, &["call-optional"], "always_fn sum: 1000\noptional_fn: 2\n");
    }

    let d_now = t.dynamic_entries("prog_now");
    assert!(d_now.iter().any(|(k, v)| k == "FLAGS" && v.contains("BIND_NOW")), "{d_now:?}");
    assert!(d_now.iter().any(|(k, v)| k == "FLAGS_1" && v.contains("NOW")), "{d_now:?}");
    let d_lazy = t.dynamic_entries("prog_lazy");
    assert!(!d_lazy.iter().any(|(k, v)| v.contains("BIND_NOW") || (k == "FLAGS_1" && v.contains("NOW"))), "{d_lazy:?}");
    assert!(d_lazy.iter().any(|(k, _)| k == "JMPREL"), "no PLT relocations: {d_lazy:?}");
    let r = t.readelf("-r", "prog_lazy");
    assert!(r.contains("R_X86_64_JUMP_SLOT") && r.contains("always_fn"), "{r}");

    // Replace the library by one without optional_fn.
    t.link("libopt.so", &["-shared", &partial, "-Wl,-soname,libopt.so"]);
    t.run_expect("prog_lazy", &[], "always_fn sum: 1000\n");
    let o = t.run("prog_now", &[]);
    assert!(o.code == Some(127) && o.stdout.is_empty(), "-z now must fail to load: {o}");
    assert!(o.stderr.contains("optional_fn"), "{o}");
}

// ---------------------------------------------------------------------------------------
// IFUNC
// ---------------------------------------------------------------------------------------

const IFUNC_EXPECTED: &str = "compute(3) = 300\n\
via other object: 400\n\
via pointer: 500\n\
via stored pointer: 600\n";

fn ifunc_case(t: &Test, prog: &str, cflags: &[&str], ldflags: &[&str], check_eq: bool) {
    let a = t.cc_as("ifunc.c", &format!("ifunc_{prog}.o"), cflags);
    let b = t.cc_as("ifunc_other.c", &format!("ifunc_other_{prog}.o"), cflags);
    let mut args: Vec<&str> = ldflags.to_vec();
    args.extend([a.as_str(), b.as_str()]);
    t.link(prog, &args);
    if check_eq {
        t.run_expect(prog, &["eq"], &format!("{IFUNC_EXPECTED}pointers equal: yes\nname: resolved-name\n"));
    } else {
        t.run_expect(prog, &[], &format!("{IFUNC_EXPECTED}name: resolved-name\n"));
    }
}

/// IFUNC in a dynamically linked PIE (R_X86_64_IRELATIVE in .rela.dyn / PLT).
#[test]
fn ifunc_pie() {
    let t = test_env!("ifunc_pie");
    ifunc_case(&t, "ifunc_pie", &["-O1"], &[], false);
    let r = t.readelf("-r", "ifunc_pie");
    assert!(r.contains("R_X86_64_IRELATIVE"), "{r}");
}

/// IFUNC in a non-PIE: the address of the ifunc is a canonical PLT entry, equal everywhere.
#[test]
fn ifunc_nopie() {
    let t = test_env!("ifunc_nopie");
    ifunc_case(&t, "ifunc_nopie", &["-O1", "-fno-pic"], &["-no-pie"], true);
}

/// IFUNC in a -static program: IRELATIVE relocations between __rela_iplt_start and
/// __rela_iplt_end, applied by libc's startup code.
#[test]
fn ifunc_static() {
    let t = test_env!("ifunc_static");
    ifunc_case(&t, "ifunc_static", &["-O1", "-fno-pic"], &["-static"], true);
    let nm = t.nm("ifunc_static");
    assert!(nm_has(&nm, "__rela_iplt_start") && nm_has(&nm, "__rela_iplt_end"), "{nm}");
    assert!(
        nm_address(&nm, "__rela_iplt_start") < nm_address(&nm, "__rela_iplt_end"),
        "no IRELATIVE relocations between __rela_iplt_start and __rela_iplt_end"
    );
}

/// IFUNC in a -static-pie program.
#[test]
fn ifunc_static_pie() {
    let t = test_env!("ifunc_static_pie");
    ifunc_case(&t, "ifunc_static_pie", &["-O1", "-fPIE"], &["-static-pie"], false);
}

// ---------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------

const TLS_EXPECTED: &str = "main fresh: 1\n\
thread 0: fresh=1 own-copy=1 result=1000\n\
thread 1: fresh=1 own-copy=1 result=1012\n\
thread 2: fresh=1 own-copy=1 result=1024\n\
thread 3: fresh=1 own-copy=1 result=1036\n\
distinct addresses: 1\n\
main after threads: counter=99 static=3 other=1000\n";

/// Compiles tls_main.c + tls_other.c with `cflags`, checks that the objects contain the
/// relocation `expect_reloc`, links with `ldflags` and runs.
fn tls_case(t: &Test, tag: &str, cflags: &[&str], expect_reloc: &str, ldflags: &[&str]) {
    let mut flags = vec!["-O1", "-pthread"];
    flags.extend_from_slice(cflags);
    let m = t.cc_as("tls_main.c", &format!("tls_main_{tag}.o"), &flags);
    let o = t.cc_as("tls_other.c", &format!("tls_other_{tag}.o"), &flags);
    let relocs = t.tool("readelf", &["-rW", &m]);
    assert!(relocs.contains(expect_reloc), "{tag}: {expect_reloc} not in object:\n{relocs}");
    let prog = format!("tls_{tag}");
    let mut args: Vec<&str> = ldflags.to_vec();
    args.extend([m.as_str(), o.as_str(), "-pthread"]);
    t.link(&prog, &args);
    t.run_expect(&prog, &[], TLS_EXPECTED);
    let segs = t.segment_types(&prog);
    assert!(segs.contains(&"TLS".to_string()), "{tag}: no PT_TLS: {segs:?}");
}

const TLS_MODELS: [(&str, &str); 4] = [
    ("global-dynamic", "R_X86_64_TLSGD"),
    ("local-dynamic", "R_X86_64_TLSLD"),
    ("initial-exec", "R_X86_64_GOTTPOFF"),
    ("local-exec", "R_X86_64_TPOFF32"),
];

/// gd/ld/ie/le code (compiled -fPIC so the compiler keeps the requested model) in a PIE:
/// the linker relaxes GD/LD to IE/LE and fills TP offsets; 4 threads each see their copy.
#[test]
fn tls_models_pie() {
    let t = test_env!("tls_models_pie");
    for (model, reloc) in TLS_MODELS {
        let m = format!("-ftls-model={model}");
        tls_case(&t, &format!("pie_{model}"), &["-fPIC", &m], reloc, &[]);
    }
    // General dynamic calling __tls_get_addr through the GOT (-fno-plt): another
    // code sequence the GD->LE relaxation must recognise.
    tls_case(&t, "pie_gd_noplt", &["-fPIC", "-fno-plt", "-ftls-model=global-dynamic"], "R_X86_64_TLSGD", &[]);
}

/// The same models in a non-PIE executable, plus -fno-pic code.
#[test]
fn tls_models_nopie() {
    let t = test_env!("tls_models_nopie");
    for (model, reloc) in TLS_MODELS {
        let m = format!("-ftls-model={model}");
        tls_case(&t, &format!("nopie_{model}"), &["-fPIC", &m], reloc, &["-no-pie"]);
    }
    tls_case(&t, "nopie_fno_pic", &["-fno-pic"], "R_X86_64_TPOFF32", &["-no-pie"]);
}

/// The same models in a -static executable (the TLS block is set up by libc.a).
#[test]
fn tls_models_static() {
    let t = test_env!("tls_models_static");
    for (model, reloc) in TLS_MODELS {
        let m = format!("-ftls-model={model}");
        tls_case(&t, &format!("static_{model}"), &["-fPIC", &m], reloc, &["-static"]);
    }
}

/// TLS descriptors (-mtls-dialect=gnu2) relaxed in a PIE, a static and a static-pie
/// executable.
#[test]
fn tls_tlsdesc_executables() {
    let t = test_env!("tls_tlsdesc_executables");
    let f = ["-fPIC", "-mtls-dialect=gnu2"];
    tls_case(&t, "desc_pie", &f, "R_X86_64_GOTPC32_TLSDESC", &[]);
    tls_case(&t, "desc_static", &f, "R_X86_64_GOTPC32_TLSDESC", &["-static"]);
    tls_case(&t, "desc_static_pie", &f, "R_X86_64_GOTPC32_TLSDESC", &["-static-pie"]);
}

const TLS_LIB_EXPECTED: &str = "thread 0: fresh=1 lib_tls=1101 static=10 tbss=1\n\
thread 1: fresh=1 lib_tls=1102 static=11 tbss=2\n\
thread 2: fresh=1 lib_tls=1103 static=12 tbss=3\n\
main: lib_tls=1 via accessor=1 aligned=1\n";

fn tls_shared_case(t: &Test, tag: &str, lib_flags: &[&str], exe_flags: &[&str]) {
    let mut lf = vec!["-O1", "-fPIC"];
    lf.extend_from_slice(lib_flags);
    let lib = t.cc_as("tls_lib.c", &format!("tls_lib_{tag}.o"), &lf);
    let libname = format!("libtls_{tag}.so");
    t.link(&libname, &["-shared", &lib]);
    let mut ef = vec!["-O1", "-pthread"];
    ef.extend_from_slice(exe_flags);
    let main = t.cc_as("tls_lib_main.c", &format!("tls_lib_main_{tag}.o"), &ef);
    let prog = format!("prog_{tag}");
    let mut args = vec![main.as_str(), "-pthread", libname.as_str()];
    if exe_flags.contains(&"-no-pie") {
        args.push("-no-pie");
    }
    t.link(&prog, &args);
    t.run_expect(&prog, &[], TLS_LIB_EXPECTED);
    let r = t.readelf("-r", &libname);
    assert!(r.contains("R_X86_64_DTPMOD64") || r.contains("R_X86_64_TLSDESC"), "{tag}: {r}");
}

/// TLS defined in a shared library: the library uses general/local dynamic; the
/// executable accesses the library's variable directly with initial-exec (-fPIE) or
/// general-dynamic (-fPIC, relaxed to IE) code; three threads.
#[test]
fn tls_shared_library() {
    let t = test_env!("tls_shared_library");
    tls_shared_case(&t, "gd_ie", &[], &["-fPIE"]);
    tls_shared_case(&t, "gd_gd", &[], &["-fPIC"]);
    tls_shared_case(&t, "ld_gd", &["-ftls-model=local-dynamic"], &["-fPIC"]);
    tls_shared_case(&t, "nopie", &[], &["-fno-pic", "-no-pie"]);
}

/// TLS descriptors in a shared library (R_X86_64_TLSDESC dynamic relocations) and in the
/// executable that uses it.
#[test]
fn tls_shared_library_tlsdesc() {
    let t = test_env!("tls_shared_library_tlsdesc");
    tls_shared_case(&t, "desc", &["-mtls-dialect=gnu2"], &["-fPIC", "-mtls-dialect=gnu2"]);
    let r = t.readelf("-r", "libtls_desc.so");
    assert!(r.contains("R_X86_64_TLSDESC"), "{r}");
}

// ---------------------------------------------------------------------------------------
// Code models and relocation kinds
// ---------------------------------------------------------------------------------------

const LARGE_EXPECTED: &str = "local sum: 2016\n\
large_sum(256): 65280 via pointer: 90\n\
table[255]: 510 names: first second\n\
large model local string\n";

/// -mcmodel=large: -fPIC code (GOTPC64, GOTOFF64, GOT64, PLTOFF64) in a PIE and in a shared
/// library; -fno-pic code (R_X86_64_64 everywhere) in a non-PIE.
#[test]
fn mcmodel_large() {
    let t = test_env!("mcmodel_large");
    let pic = ["-O1", "-mcmodel=large", "-fPIC"];
    let m = t.cc_as("large_main.c", "large_main_pic.o", &pic);
    let d = t.cc_as("large_data.c", "large_data_pic.o", &pic);
    let relocs = t.tool("readelf", &["-rW", &m, &d]);
    for r in ["R_X86_64_GOTPC64", "R_X86_64_GOTOFF64", "R_X86_64_PLTOFF64", "R_X86_64_GOT64"] {
        assert!(relocs.contains(r), "{r} not produced by the compiler:\n{relocs}");
    }
    t.link("large_pie", &[&m, &d]);
    t.run_expect("large_pie", &[], LARGE_EXPECTED);
    t.link("liblarge.so", &["-shared", &d]);
    t.link("large_shared", &[&m, "-L.", "-llarge"]);
    t.run_expect("large_shared", &[], LARGE_EXPECTED);

    let abs = ["-O1", "-mcmodel=large", "-fno-pic"];
    let m = t.cc_as("large_main.c", "large_main_abs.o", &abs);
    let d = t.cc_as("large_data.c", "large_data_abs.o", &abs);
    t.link("large_nopie", &["-no-pie", &m, &d]);
    t.run_expect("large_nopie", &[], LARGE_EXPECTED);
}

/// R_X86_64_SIZE32 / R_X86_64_SIZE64 (`sym@SIZE`) resolve to st_size (+ addend).
#[test]
fn size_relocations() {
    let t = test_env!("size_relocations");
    let s = t.cc("size_relocs.s", &[]);
    let relocs = t.tool("readelf", &["-rW", &s]);
    assert!(relocs.contains("R_X86_64_SIZE32") && relocs.contains("R_X86_64_SIZE64"), "{relocs}");
    let m = t.cc("size_main.c", &["-O1"]);
    t.link("size", &[&m, &s]);
    let o = t.run("size", &[]);
    let fn_size = t
        .readelf("-s", "size")
        .lines()
        .find(|l| l.ends_with(" small_function"))
        .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        .expect("small_function in symtab");
    assert_stdout(
        &o,
        0,
        &format!(
            "SIZE32: 1234\n\
             SIZE32+16: 1250\n\
             SIZE64: 1234\n\
             SIZE64 asm_object-2: 22\n\
             small_function size nonzero: yes\n\
             small_function(2) = 15\n\
             SIZE_FN {fn_size}\n"
        ),
    );
}

/// Absolute 8/16/32/32S/64-bit and PC-relative 32/64-bit data and code relocations in a
/// -no-pie executable, including ones against an absolute (SHN_ABS) symbol.
#[test]
fn absolute_relocations_nopie() {
    let t = test_env!("absolute_relocations_nopie");
    let r = t.cc("abs_relocs.s", &[]);
    let a = t.cc("abs_sym.s", &[]);
    let relocs = t.tool("readelf", &["-rW", &r]);
    for k in ["R_X86_64_8 ", "R_X86_64_16 ", "R_X86_64_32 ", "R_X86_64_32S ", "R_X86_64_PC64 "] {
        assert!(relocs.contains(k), "{k} missing in object:\n{relocs}");
    }
    let m = t.cc("abs_main.c", &["-O1", "-fno-pic"]);
    t.link("abs", &["-no-pie", &m, &r, &a]);
    t.run_expect(
        "abs",
        &[],
        "R_X86_64_8: 0x42 0x43\n\
         R_X86_64_16: 0x142\n\
         R_X86_64_32: ok\n\
         R_X86_64_32+4: ok\n\
         R_X86_64_PC32: ok\n\
         R_X86_64_64: ok\n\
         R_X86_64_PC64: ok\n\
         R_X86_64_32 abs symbol: 0x42\n\
         absolute symbol address: 0x42\n\
         movl $sym: ok\n\
         movq $sym+12 (32S): ok\n\
         C pointer: 3, C addr32: ok\n",
    );
}

/// Absolute symbols whose values rivet-ld uses as markers in its table of symbol addresses
/// (all ones, and one and two less): relocations against them, in data and in a
/// non-allocated section, get the values themselves, as with GNU ld.
#[test]
fn absolute_symbols_with_marker_values() {
    let t = test_env!("absolute_symbols_with_marker_values");
    let m = t.cc("marker_main.c", &["-O0", "-fno-pic"]);
    let a = t.cc("marker_abs.s", &[]);
    t.link("markers", &["-no-pie", &m, &a]);
    t.run_expect("markers", &[], "ffffffffffffffff\nfffffffffffffffe\nfffffffffffffffd\n");
    let dump = t.readelf("-x .rivet_markers", "markers");
    assert!(
        dump.contains("ffffffff ffffffff feffffff ffffffff") && dump.contains("fdffffff ffffffff"),
        "the non-allocated section's relocated values:\n{dump}"
    );
}

// ---------------------------------------------------------------------------------------
// Exceptions and unwinding
// ---------------------------------------------------------------------------------------

const EXC_EXPECTED: &str = "unwinding guard 0\n\
unwinding guard 1\n\
unwinding guard 2\n\
unwinding guard 3\n\
caught: deep failure code=42\n\
caught int 7, rethrowing\n\
caught rethrown exception\n\
caught std::out_of_range\n";

/// PT_GNU_EH_FRAME and .eh_frame_hdr (gcc passes --eh-frame-hdr except for -static links).
fn assert_eh_frame_hdr(t: &Test, prog: &str) {
    let segs = t.segment_types(prog);
    assert!(segs.contains(&"GNU_EH_FRAME".to_string()), "{prog}: no PT_GNU_EH_FRAME: {segs:?}");
    let names = t.section_names(prog);
    assert!(
        names.contains(&".eh_frame_hdr".to_string()) && names.contains(&".eh_frame".to_string()),
        "{prog}: {names:?}"
    );
}

/// C++ exceptions thrown in one object (and in libstdc++) are caught in another, with
/// cleanups run on the way; needs .eh_frame, .gcc_except_table and .eh_frame_hdr.
#[test]
fn cxx_exceptions_across_objects() {
    let t = test_env!("cxx_exceptions_across_objects");
    for opt in ["-O0", "-O2"] {
        let m = t.cxx_as("exc_main.cpp", &format!("exc_main{opt}.o"), &[opt]);
        let th = t.cxx_as("exc_throw.cpp", &format!("exc_throw{opt}.o"), &[opt]);
        let stub = t.cxx_as("exc_nolib.cpp", &format!("exc_nolib{opt}.o"), &[opt]);
        let prog = format!("exc{opt}");
        t.link_cxx(&prog, &[&m, &th, &stub]);
        t.run_expect(&prog, &[], EXC_EXPECTED);
        assert_eh_frame_hdr(&t, &prog);
    }
}

/// The same in a -static C++ program (libstdc++.a, libgcc_eh.a), without and with
/// --eh-frame-hdr.
#[test]
fn cxx_exceptions_static() {
    let t = test_env!("cxx_exceptions_static");
    let m = t.cxx("exc_main.cpp", &["-O1"]);
    let th = t.cxx("exc_throw.cpp", &["-O1"]);
    let stub = t.cxx("exc_nolib.cpp", &[]);
    // gcc registers .eh_frame through crtbeginT.o in static links (no --eh-frame-hdr).
    t.link_cxx("exc_static", &["-static", &m, &th, &stub]);
    t.run_expect("exc_static", &[], EXC_EXPECTED);
    assert!(t.section_names("exc_static").contains(&".eh_frame".to_string()));
    // With an explicit --eh-frame-hdr the lookup table is there too.
    t.link_cxx("exc_static_hdr", &["-static", &m, &th, &stub, "-Wl,--eh-frame-hdr"]);
    t.run_expect("exc_static_hdr", &[], EXC_EXPECTED);
    assert_eh_frame_hdr(&t, "exc_static_hdr");
}

/// An exception type defined and thrown in a shared library (built by the linker under
/// test) is caught by base class in the executable.
#[test]
fn cxx_exceptions_from_shared_library() {
    let t = test_env!("cxx_exceptions_from_shared_library");
    let lib = t.cxx("exc_lib.cpp", &["-fPIC", "-O1"]);
    t.link_cxx("libexc.so", &["-shared", &lib]);
    assert_eh_frame_hdr(&t, "libexc.so");
    let m = t.cxx("exc_main.cpp", &["-O1"]);
    let th = t.cxx("exc_throw.cpp", &["-O1"]);
    t.link_cxx("exc_lib_prog", &[&m, &th, "-L.", "-lexc"]);
    t.run_expect("exc_lib_prog", &["lib"], &format!("{EXC_EXPECTED}caught from library: from the library code=9\n"));
}

/// A C program walks its own stack with _Unwind_Backtrace and maps return addresses to
/// functions with _Unwind_FindEnclosingFunction (uses .eh_frame_hdr's lookup table).
#[test]
fn unwind_backtrace_c() {
    let t = test_env!("unwind_backtrace_c");
    let m = t.cc("unwind.c", &["-O0", "-funwind-tables"]);
    let o = t.cc("unwind_other.c", &["-O0", "-funwind-tables"]);
    let expected = "recurse frames: 5\nhelper frames: 1\nmain found: yes\nenough frames: yes\n";
    t.link("unwind", &[&m, &o]);
    t.run_expect("unwind", &[], expected);
    assert_eh_frame_hdr(&t, "unwind");
    t.link("unwind_static", &["-static", &m, &o, "-Wl,--eh-frame-hdr"]);
    t.run_expect("unwind_static", &[], expected);
    assert_eh_frame_hdr(&t, "unwind_static");
}

// ---------------------------------------------------------------------------------------
// Segments, hash tables, build IDs
// ---------------------------------------------------------------------------------------

/// PT_GNU_STACK is non-executable (RW) by default and RWE with -z execstack; PT_GNU_RELRO
/// is present by default and absent with -z norelro.
#[test]
fn gnu_stack_and_relro_segments() {
    let t = test_env!("gnu_stack_and_relro_segments");
    let m = t.cc("greet_main.c", &[]);
    let l = t.cc("greet_lib.c", &["-fPIC"]);
    t.link("libgreet.so", &["-shared", &l]);
    t.link("prog", &[&m, "libgreet.so"]);
    t.link("prog_execstack", &[&m, "libgreet.so", "-Wl,-z,execstack"]);
    t.link("prog_norelro", &[&m, "libgreet.so", "-Wl,-z,norelro"]);
    let expected = "Hello, linker! (init=1)\nHello, world! (init=1)\ngreet_calls = 2\ngreet_apply = 71\n";
    for p in ["prog", "prog_execstack", "prog_norelro"] {
        t.run_expect(p, &[], expected);
    }
    for f in ["prog", "libgreet.so"] {
        let l = t.readelf("-l", f);
        assert_eq!(segment_flags_of(&l, "GNU_STACK").as_deref(), Some("RW"), "{f}:\n{l}");
        assert!(t.segment_types(f).contains(&"GNU_RELRO".to_string()), "{f}:\n{l}");
    }
    let l = t.readelf("-l", "prog_execstack");
    assert_eq!(segment_flags_of(&l, "GNU_STACK").as_deref(), Some("RWE"), "{l}");
    assert!(!t.segment_types("prog_norelro").contains(&"GNU_RELRO".to_string()));
}

/// --hash-style=gnu gives .gnu.hash only, sysv gives .hash only, both gives both; the
/// dynamic loader finds all 300 exported functions through whichever table exists.
#[test]
fn hash_styles() {
    let t = test_env!("hash_styles");
    let lib = t.cc("hash_lib.c", &["-fPIC"]);
    let main = t.cc("hash_main.c", &[]);
    let expected = "found 300 functions, sum 74850, missing absent\ndirect: 123 4242\n";
    for (style, gnu, sysv) in [("gnu", true, false), ("sysv", false, true), ("both", true, true)] {
        let libname = format!("libhash_{style}.so");
        let prog = format!("prog_{style}");
        let hs = format!("-Wl,--hash-style={style}");
        t.link(&libname, &["-shared", &lib, &hs]);
        t.link(&prog, &[&main, &libname, &hs]);
        for f in [&libname, &prog] {
            let names = t.section_names(f);
            assert_eq!(names.contains(&".gnu.hash".to_string()), gnu, "{f}: {names:?}");
            assert_eq!(names.contains(&".hash".to_string()), sysv, "{f}: {names:?}");
        }
        t.run_expect(&prog, &[], expected);
    }
}

fn build_id_of(t: &Test, file: &str) -> Option<String> {
    let n = t.readelf("-n", file);
    n.lines().find_map(|l| l.split_once("Build ID: ").map(|(_, id)| id.trim().to_string()))
}

/// --build-id=sha1/md5/uuid/0xHEX produce an NT_GNU_BUILD_ID note of the right length
/// (and exact value for 0xHEX); sha1 is a deterministic hash of the output; none drops it.
#[test]
fn build_id_styles() {
    let t = test_env!("build_id_styles");
    let m = t.cc("greet_main.c", &[]);
    let l = t.cc("greet_lib.c", &[]);
    for (style, len) in [("sha1", 40), ("md5", 32), ("uuid", 32)] {
        let p = format!("prog_{style}");
        t.link(&p, &[&m, &l, &format!("-Wl,--build-id={style}")]);
        let id = build_id_of(&t, &p).unwrap_or_else(|| panic!("{style}: no build id"));
        assert_eq!(id.len(), len, "{style}: {id}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert!(id.chars().any(|c| c != '0'), "{style}: all-zero build id");
    }
    t.link("prog_hex", &[&m, &l, "-Wl,--build-id=0xdeadBEEF01234567"]);
    assert_eq!(build_id_of(&t, "prog_hex").as_deref(), Some("deadbeef01234567"));
    t.link("prog_none", &[&m, &l, "-Wl,--build-id=none"]);
    assert_eq!(build_id_of(&t, "prog_none"), None);
    t.link("prog_sha1_again", &[&m, &l, "-Wl,--build-id=sha1"]);
    assert_eq!(build_id_of(&t, "prog_sha1"), build_id_of(&t, "prog_sha1_again"));
    // Different contents -> different id.
    t.link("prog_sha1_other", &[&m, &l, "-Wl,--build-id=sha1", "-Wl,--defsym=unused_sym=1"]);
    assert_ne!(build_id_of(&t, "prog_sha1"), build_id_of(&t, "prog_sha1_other"));
    let segs = t.segment_types("prog_sha1");
    assert!(segs.contains(&"NOTE".to_string()), "{segs:?}");
    t.run_expect(
        "prog_sha1",
        &[],
        "Hello, linker! (init=1)\nHello, world! (init=1)\ngreet_calls = 2\ngreet_apply = 71\n",
    );
}

// ---------------------------------------------------------------------------------------
// --gc-sections and linker-defined symbols
// ---------------------------------------------------------------------------------------

/// --gc-sections drops unreferenced functions and data, but keeps every input section of
/// a __start_/__stop_ linker set (all four entries, from three objects, are iterated).
#[test]
fn gc_sections_keeps_start_stop_sets() {
    let t = test_env!("gc_sections_keeps_start_stop_sets");
    let f = ["-O1", "-ffunction-sections", "-fdata-sections"];
    let objs: Vec<String> = ["gc_main.c", "gc_set_a.c", "gc_set_b.c"].iter().map(|s| t.cc(s, &f)).collect();
    let expected = "set entries: 4\n  \
                    main-entry -> 20\n  \
                    a-square -> 100\n  \
                    a-plus-one -> 11\n  \
                    b-negate -> -10\n\
                    used: 2 17\n";
    t.link("gc", &["-Wl,--gc-sections", &objs[0], &objs[1], &objs[2]]);
    t.run_expect("gc", &[], expected);
    let nm = t.nm("gc");
    assert!(nm_defines(&nm, "gc_used_function") && nm_defines(&nm, "gc_used_data"), "{nm}");
    for gone in ["gc_unused_function", "gc_unused_data", "gc_set_a_unused"] {
        assert!(!nm_has(&nm, gone), "{gone} survived --gc-sections:\n{nm}");
    }
    // Without --gc-sections everything is there (so the check above means something).
    t.link("nogc", &[&objs[0], &objs[1], &objs[2]]);
    t.run_expect("nogc", &[], expected);
    let nm = t.nm("nogc");
    assert!(nm_defines(&nm, "gc_unused_function") && nm_defines(&nm, "gc_set_a_unused"), "{nm}");
}

/// A shared object's __start_/__stop_ symbols are exported, protected, as GNU ld and lld do
/// (`-z start-stop-visibility=protected`), and the library iterates its own set.
#[test]
fn start_stop_symbols_exported_from_shared_objects() {
    let t = test_env!("start_stop_symbols_exported_from_shared_objects");
    let lib = t.cc("set_lib.c", &["-fPIC"]);
    t.link("libset.so", &["-shared", &lib]);
    let main = t.cc("set_main.c", &[]);
    t.link("prog", &[&main, "-L.", "-lset"]);
    t.run_expect("prog", &[], "library set entries: 1\n");
    for world in WORLDS {
        let syms = t.tool_in(world, "readelf", &["--dyn-syms", "-W", "libset.so"]);
        for name in ["__start_rivet_set", "__stop_rivet_set"] {
            assert!(
                syms.lines().any(|l| l.ends_with(name) && l.contains("PROTECTED")),
                "{world:?}: {name} not exported as protected:\n{syms}"
            );
        }
    }
}

fn linksyms_expected(dynamic: bool) -> String {
    let checks = [
        "memcmp(__ehdr_start.e_ident, \"\\177ELF\", 4) == 0",
        "__ehdr_start.e_ident[EI_CLASS] == ELFCLASS64",
        "__ehdr_start.e_phnum == getauxval(AT_PHNUM)",
        "ehdr + __ehdr_start.e_phoff == getauxval(AT_PHDR)",
        "(uintptr_t)__executable_start <= ehdr",
        "ehdr < (uintptr_t)etext",
        "etext == _etext && edata == _edata && end == _end",
        "(uintptr_t)etext <= (uintptr_t)edata",
        "(uintptr_t)edata <= (uintptr_t)__bss_start",
        "(uintptr_t)__bss_start <= (uintptr_t)end",
        "(uintptr_t)func_in_text >= ehdr && (uintptr_t)func_in_text < (uintptr_t)etext",
        "(uintptr_t)&initialised_data < (uintptr_t)edata",
        "(uintptr_t)&zero_data[0] >= (uintptr_t)__bss_start",
        "(uintptr_t)&zero_data[999] < (uintptr_t)end",
        "ran == 15",
        "__preinit_array_end - __preinit_array_start == 1",
        "__preinit_array_start[0] == pre",
        "count_ours(__init_array_start, __init_array_end, c1, c2, c3) == 3",
        "__init_array_start[0] == c1",
        "count_ours(__fini_array_start, __fini_array_end, d1, d1, d1) == 1",
        "_GLOBAL_OFFSET_TABLE_ != 0",
        "(uintptr_t)_GLOBAL_OFFSET_TABLE_ > ehdr && (uintptr_t)_GLOBAL_OFFSET_TABLE_ < (uintptr_t)end",
    ];
    let mut s = String::new();
    for c in checks {
        s.push_str(&format!("{c:<58} ok\n"));
    }
    s.push_str(if dynamic { "_DYNAMIC: present, DT_STRTAB found\n" } else { "_DYNAMIC: absent\n" });
    s
}

/// Linker-defined symbols have sane values in PIE, non-PIE, static and static-pie
/// executables (ELF header at __ehdr_start, section boundary ordering, init/fini array
/// bounds containing exactly our constructors, GOT and _DYNAMIC).
#[test]
fn linker_defined_symbols() {
    let t = test_env!("linker_defined_symbols");
    let o = t.cc("linksyms.c", &["-O1"]);
    for (prog, flags, dynamic) in [
        ("linksyms_pie", &[][..], true),
        ("linksyms_nopie", &["-no-pie"][..], true),
        ("linksyms_static", &["-static"][..], false),
        ("linksyms_static_pie", &["-static-pie"][..], true),
    ] {
        let mut args = flags.to_vec();
        args.push(&o);
        t.link(prog, &args);
        t.run_expect(prog, &[], &linksyms_expected(dynamic));
    }
}
