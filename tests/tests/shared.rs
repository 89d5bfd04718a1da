//! Shared libraries and output kinds: DT_NEEDED/SONAME, --as-needed, symbol versions,
//! PIE / non-PIE (copy relocations) / static / static-pie / -shared, --export-dynamic,
//! -Bsymbolic, protected visibility, dlopen of a library built by the linker under test.

use rivet_tests::{Driver, MULTI_SOURCES, Test, World, assert_stdout, multi_expected, test_env};

const GREET_EXPECTED: &str = "Hello, linker! (init=1)\n\
Hello, world! (init=1)\n\
greet_calls = 2\n\
greet_apply = 71\n";

/// Builds libgreet.so (SONAME libgreet.so.1, plus the libgreet.so.1 symlink) in both worlds.
fn build_greet(t: &Test) {
    let lib = t.cc("greet_lib.c", &["-fPIC", "-O1"]);
    t.link("libgreet.so", &["-shared", &lib, "-Wl,-soname,libgreet.so.1"]);
    t.symlink_in_worlds("libgreet.so", "libgreet.so.1");
}

/// -shared with -soname: the library carries DT_SONAME, and a program linked against
/// libgreet.so records DT_NEEDED libgreet.so.1 (the SONAME, not the file name) and runs.
#[test]
fn shared_library_soname_and_needed() {
    let t = test_env!("shared_library_soname_and_needed");
    build_greet(&t);
    let lib_dyn = t.dynamic_entries("libgreet.so");
    assert!(lib_dyn.iter().any(|(k, v)| k == "SONAME" && v.contains("[libgreet.so.1]")), "{lib_dyn:?}");
    let lib_hdr = t.readelf("-h", "libgreet.so");
    assert!(lib_hdr.contains("DYN (Shared object file)"), "{lib_hdr}");
    let main = t.cc("greet_main.c", &["-O1"]);
    t.link("prog", &[&main, "-L.", "-lgreet"]);
    assert!(t.needed("prog").contains(&"libgreet.so.1".to_string()), "{:?}", t.needed("prog"));
    assert!(!t.needed("prog").contains(&"libgreet.so".to_string()));
    t.run_expect("prog", &[], GREET_EXPECTED);
    // The file named directly on the command line works the same.
    t.link("prog2", &[&main, "libgreet.so"]);
    assert!(t.needed("prog2").contains(&"libgreet.so.1".to_string()));
    t.run_expect("prog2", &[], GREET_EXPECTED);
}

/// --as-needed drops DT_NEEDED for a library no symbol was used from; --no-as-needed
/// keeps it. (Debian's gcc passes --as-needed by default.)
#[test]
fn as_needed_drops_unused_library() {
    let t = test_env!("as_needed_drops_unused_library");
    build_greet(&t);
    let u = t.cc("unused_lib.c", &["-fPIC"]);
    t.link("libunused.so", &["-shared", &u]);
    let main = t.cc("greet_main.c", &[]);
    t.link("prog_as", &[&main, "-L.", "-Wl,--as-needed", "-lunused", "-lgreet"]);
    let n = t.needed("prog_as");
    assert!(!n.contains(&"libunused.so".to_string()) && n.contains(&"libgreet.so.1".to_string()), "{n:?}");
    t.run_expect("prog_as", &[], GREET_EXPECTED);
    t.link("prog_no_as", &[&main, "-L.", "-Wl,--no-as-needed", "-lunused", "-lgreet"]);
    let n = t.needed("prog_no_as");
    assert!(n.contains(&"libunused.so".to_string()), "{n:?}");
    t.run_expect("prog_no_as", &[], GREET_EXPECTED);
}

/// A program using glibc references versioned symbols: .gnu.version_r lists GLIBC_2.x
/// and the dynamic symbols carry @GLIBC_2.x.
#[test]
fn glibc_symbol_versions() {
    let t = test_env!("glibc_symbol_versions");
    let main = t.cc("greet_main.c", &[]);
    build_greet(&t);
    t.link("prog", &[&main, "-L.", "-lgreet"]);
    t.run_expect("prog", &[], GREET_EXPECTED);
    let v = t.readelf("-V", "prog");
    assert!(v.contains(".gnu.version_r"), "{v}");
    assert!(v.contains("File: libc.so.6") && v.contains("Name: GLIBC_2."), "{v}");
    let names = t.section_names("prog");
    assert!(names.contains(&".gnu.version".to_string()), "{names:?}");
    let dynsyms = t.readelf("--dyn-syms", "prog");
    assert!(dynsyms.contains("puts@GLIBC_2."), "{dynsyms}");
}

/// A library built with a version script exports foo@@VERS_1 only (bar becomes local);
/// the program binds foo@VERS_1.
#[test]
fn version_script_vers_1() {
    let t = test_env!("version_script_vers_1");
    t.write_in_worlds("ver.map", "VERS_1 { global: foo; local: *; };\n");
    let lib = t.cc("ver_lib.c", &["-fPIC"]);
    t.link("libver.so", &["-shared", &lib, "-Wl,--version-script=ver.map"]);
    let lib_syms = t.readelf("--dyn-syms", "libver.so");
    assert!(lib_syms.contains("foo@@VERS_1"), "{lib_syms}");
    assert!(!lib_syms.contains(" bar"), "bar must be local:\n{lib_syms}");
    let vd = t.readelf("-V", "libver.so");
    assert!(vd.contains(".gnu.version_d") && vd.contains("VERS_1"), "{vd}");
    let main = t.cc("ver_main.c", &[]);
    t.link("prog", &[&main, "-L.", "-lver"]);
    let syms = t.readelf("--dyn-syms", "prog");
    assert!(syms.contains("foo@VERS_1"), "{syms}");
    let vr = t.readelf("-V", "prog");
    assert!(vr.contains("File: libver.so") && vr.contains("Name: VERS_1"), "{vr}");
    t.run_expect("prog", &[], "foo() = 42\n");
}

/// Version-script classes take ranges and a leading `!`, as GNU ld's (fnmatch) do.
#[test]
fn version_script_class_ranges() {
    let t = test_env!("version_script_class_ranges");
    t.write_in_worlds("ver.map", "VERS_1 { global: [e-g]o[!x]; local: *; };\n");
    let lib = t.cc("ver_lib.c", &["-fPIC"]);
    t.link("libver.so", &["-shared", &lib, "-Wl,--version-script=ver.map"]);
    for world in rivet_tests::WORLDS {
        let syms = t.tool_in(world, "readelf", &["-W", "--dyn-syms", "libver.so"]);
        assert!(syms.contains("foo@@VERS_1") && !syms.contains(" bar"), "{world:?}:\n{syms}");
    }
}

/// Names in an `extern "C" { }` block of a version script are plain names of their node, as
/// with GNU ld; `extern "C++"` blocks (demangled names) are refused with the script's name.
#[test]
fn version_script_extern_c_block() {
    let t = test_env!("version_script_extern_c_block");
    t.write_in_worlds("ver.map", "VERS_1 {\n  global:\n    extern \"C\" {\n      foo;\n    };\n  local: *;\n};\n");
    let lib = t.cc("ver_lib.c", &["-fPIC"]);
    t.link("libver.so", &["-shared", &lib, "-Wl,--version-script=ver.map"]);
    let lib_syms = t.readelf("--dyn-syms", "libver.so");
    assert!(lib_syms.contains("foo@@VERS_1"), "{lib_syms}");
    assert!(!lib_syms.contains(" bar"), "bar must be local:\n{lib_syms}");
    let main = t.cc("ver_main.c", &[]);
    t.link("prog", &[&main, "-L.", "-lver"]);
    t.run_expect("prog", &[], "foo() = 42\n");

    t.write_in_worlds("cxx.map", "VERS_1 { global: extern \"C++\" { \"ns::foo()\"; }; local: *; };\n");
    let o = t.try_link_in(World::Test, Driver::Gcc, "libcxx.so", &["-shared", &lib, "-Wl,--version-script=cxx.map"]);
    assert!(!o.success() && o.stderr.contains("cxx.map") && o.stderr.contains("extern \"C++\""), "{o}");
}

/// Several `--version-script`s act as one script, as with GNU ld: the second one's version
/// and patterns count too (the first one's `local: *` does not hide what the second exports).
#[test]
fn version_scripts_are_combined() {
    let t = test_env!("version_scripts_are_combined");
    t.write_in_worlds("v1.map", "VERS_1 { global: foo; local: *; };\n");
    t.write_in_worlds("v2.map", "VERS_2 { global: bar; } VERS_1;\n");
    let lib = t.cc("ver_lib.c", &["-fPIC"]);
    t.link("libver.so", &["-shared", &lib, "-Wl,--version-script=v1.map", "-Wl,--version-script=v2.map"]);
    let lib_syms = t.readelf("--dyn-syms", "libver.so");
    assert!(lib_syms.contains("foo@@VERS_1") && lib_syms.contains("bar@@VERS_2"), "{lib_syms}");
    let main = t.cc("ver_main.c", &[]);
    t.link("prog", &[&main, "-L.", "-lver"]);
    t.run_expect("prog", &[], "foo() = 42\n");
}

/// Symbol versioning with .symver: a new program binds the default impl@@VERS_2, while a
/// program linked against an older library (impl@VERS_1 only) keeps the VERS_1 binding
/// after the library is upgraded.
#[test]
fn symver_default_and_old_versions() {
    let t = test_env!("symver_default_and_old_versions");
    // Old library: only VERS_1.
    t.write_in_worlds("old.map", "VERS_1 { global: impl; local: *; };\n");
    let old_src = t.write("symver_old.c", "int impl(void) { return 1; }\n");
    let old = t.cc(&old_src, &["-fPIC"]);
    t.link("libsv.so", &["-shared", &old, "-Wl,--version-script=old.map", "-Wl,-soname,libsv.so"]);
    let main = t.cc("symver_main.c", &[]);
    t.link("prog_old", &[&main, "-L.", "-lsv"]);
    t.run_expect("prog_old", &[], "impl() = 1\n");
    // New library with both versions replaces the old one.
    t.write_in_worlds("new.map", "VERS_1 { global: impl; local: *; };\nVERS_2 { global: impl; } VERS_1;\n");
    let new = t.cc("symver_lib.c", &["-fPIC"]);
    t.link("libsv.so", &["-shared", &new, "-Wl,--version-script=new.map", "-Wl,-soname,libsv.so"]);
    let lib_syms = t.readelf("--dyn-syms", "libsv.so");
    assert!(lib_syms.contains("impl@@VERS_2") && lib_syms.contains("impl@VERS_1"), "{lib_syms}");
    t.run_expect("prog_old", &[], "impl() = 1\n");
    t.link("prog_new", &[&main, "-L.", "-lsv"]);
    let syms = t.readelf("--dyn-syms", "prog_new");
    assert!(syms.contains("impl@VERS_2"), "{syms}");
    t.run_expect("prog_new", &[], "impl() = 2\n");
}

fn multi_objs(t: &Test, flags: &[&str], tag: &str) -> Vec<String> {
    MULTI_SOURCES.iter().map(|s| t.cc_as(s, &format!("{}_{tag}.o", s.trim_end_matches(".c")), flags)).collect()
}

/// Default output of gcc is a PIE: ET_DYN with DF_1_PIE, PT_INTERP, PT_DYNAMIC.
#[test]
fn pie_default() {
    let t = test_env!("pie_default");
    let o = multi_objs(&t, &["-O1"], "pie");
    t.link("prog", &[&o[0], &o[1], &o[2]]);
    t.run_expect("prog", &[], &multi_expected(false));
    let h = t.readelf("-h", "prog");
    assert!(h.contains("DYN (Position-Independent Executable file)"), "{h}");
    let segs = t.segment_types("prog");
    assert!(segs.contains(&"INTERP".into()) && segs.contains(&"DYNAMIC".into()), "{segs:?}");
    let d = t.dynamic_entries("prog");
    assert!(d.iter().any(|(k, v)| k == "FLAGS_1" && v.contains("PIE")), "{d:?}");
}

/// -no-pie: ET_EXEC; an `extern int` from a .so is accessed through a copy relocation
/// (reads and writes are shared with the library) and the address of a .so function is
/// canonical (equal to what the library itself sees).
#[test]
fn nopie_copy_relocation_and_canonical_plt() {
    let t = test_env!("nopie_copy_relocation_and_canonical_plt");
    let lib = t.cc("nopie_lib.c", &["-fPIC", "-O1"]);
    t.link("libnopie.so", &["-shared", &lib]);
    let main = t.cc("nopie_main.c", &["-fno-pic", "-O1"]);
    t.link("prog", &["-no-pie", &main, "-L.", "-lnopie"]);
    t.run_expect(
        "prog",
        &[],
        "lib_data = 1234, lib_array[2] = 30\n\
         after lib_set: lib_data = 77, lib_array[3] = 154\n\
         lib_get() = 5\n\
         fn_ptr(1) = 2\n\
         same function address: yes\n\
         same pointer in data: yes\n",
    );
    let h = t.readelf("-h", "prog");
    assert!(h.contains("EXEC (Executable file)"), "{h}");
    let r = t.readelf("-r", "prog");
    assert!(r.contains("R_X86_64_COPY") && r.contains("lib_data"), "{r}");
}

/// -static: no PT_INTERP, no dynamic section, ET_EXEC, and it runs (libc from libc.a).
#[test]
fn static_executable() {
    let t = test_env!("static_executable");
    let o = multi_objs(&t, &["-O2"], "static");
    t.link("prog", &["-static", &o[0], &o[1], &o[2]]);
    t.run_expect("prog", &[], &multi_expected(false));
    let h = t.readelf("-h", "prog");
    assert!(h.contains("EXEC (Executable file)"), "{h}");
    let segs = t.segment_types("prog");
    assert!(!segs.contains(&"INTERP".into()) && !segs.contains(&"DYNAMIC".into()), "{segs:?}");
}

/// -static-pie: ET_DYN, no PT_INTERP but a PT_DYNAMIC with relative relocations that the
/// program applies to itself.
#[test]
fn static_pie_executable() {
    let t = test_env!("static_pie_executable");
    let o = multi_objs(&t, &["-O2", "-fPIE"], "spie");
    t.link("prog", &["-static-pie", &o[0], &o[1], &o[2]]);
    t.run_expect("prog", &[], &multi_expected(false));
    let h = t.readelf("-h", "prog");
    assert!(h.contains("DYN ("), "{h}");
    let segs = t.segment_types("prog");
    assert!(!segs.contains(&"INTERP".into()) && segs.contains(&"DYNAMIC".into()), "{segs:?}");
    let r = t.readelf("-r", "prog");
    assert!(r.contains("R_X86_64_RELATIVE"), "{r}");
}

/// --export-dynamic puts the executable's symbols in .dynsym so dlsym(RTLD_DEFAULT) finds
/// them; without it the lookup fails.
#[test]
fn export_dynamic_dlsym() {
    let t = test_env!("export_dynamic_dlsym");
    let main = t.cc("exportdyn_main.c", &[]);
    t.link("prog", &[&main, "-Wl,--export-dynamic"]);
    t.run_expect("prog", &[], "exported_hook(14) = 42, same address: yes\nexported_value = 12\n");
    t.link("prog_rdynamic", &[&main, "-rdynamic"]);
    t.run_expect("prog_rdynamic", &[], "exported_hook(14) = 42, same address: yes\nexported_value = 12\n");
    t.link("prog_not_exported", &[&main]);
    let o = t.run("prog_not_exported", &[]);
    rivet_tests::assert_stdout(&o, 3, "not exported\n");
}

/// -Bsymbolic: the library's call to its own whoami() binds locally although the
/// executable defines whoami too; without it the executable's definition interposes.
#[test]
fn bsymbolic_binds_locally() {
    let t = test_env!("bsymbolic_binds_locally");
    let lib = t.cc("bsym_lib.c", &["-fPIC"]);
    t.link("libplain.so", &["-shared", &lib]);
    t.link("libsymb.so", &["-shared", &lib, "-Wl,-Bsymbolic"]);
    t.link("libsymbf.so", &["-shared", &lib, "-Wl,-Bsymbolic-functions"]);
    let d = t.dynamic_entries("libsymb.so");
    assert!(
        d.iter().any(|(k, v)| k == "SYMBOLIC" || (k == "FLAGS" && v.contains("SYMBOLIC"))),
        "-Bsymbolic should set DT_SYMBOLIC / DF_SYMBOLIC: {d:?}"
    );
    let main = t.cc("bsym_main.c", &[]);
    t.link("prog_plain", &[&main, "-L.", "-lplain"]);
    t.link("prog_symb", &[&main, "-L.", "-lsymb"]);
    t.link("prog_symbf", &[&main, "-L.", "-lsymbf"]);
    t.run_expect("prog_plain", &[], "exe whoami() = 2\nlib_calls_whoami() = 2\n");
    t.run_expect("prog_symb", &[], "exe whoami() = 2\nlib_calls_whoami() = 1\n");
    t.run_expect("prog_symbf", &[], "exe whoami() = 2\nlib_calls_whoami() = 1\n");
}

/// Protected symbols bind locally inside the library, default ones are interposed, hidden
/// ones are not exported at all.
#[test]
fn protected_and_hidden_visibility_in_shared_lib() {
    let t = test_env!("protected_and_hidden_visibility_in_shared_lib");
    let lib = t.cc("prot_lib.c", &["-fPIC", "-O1"]);
    t.link("libprot.so", &["-shared", &lib]);
    let dynsyms = t.readelf("--dyn-syms", "libprot.so");
    assert!(dynsyms.contains("prot_value") && !dynsyms.contains("hidden_in_lib"), "{dynsyms}");
    let main = t.cc("prot_main.c", &["-O1"]);
    t.link("prog", &[&main, "-L.", "-lprot"]);
    t.run_expect(
        "prog",
        &[],
        "exe prot_value() = 2, lib_calls_prot() = 1\n\
         exe default_value() = 2, lib_calls_default() = 2\n\
         lib_calls_hidden() = 5\n",
    );
}

/// A program dlopen()s a plugin built by the linker under test; the plugin has a
/// constructor, TLS and relocated data, and calls back into the executable.
#[test]
fn dlopen_plugin() {
    let t = test_env!("dlopen_plugin");
    let p = t.cc("plugin.c", &["-fPIC", "-O1"]);
    t.link("libplugin.so", &["-shared", &p]);
    let main = t.cc("dlopen_main.c", &[]);
    t.link("host", &[&main, "-rdynamic"]);
    t.run_expect(
        "host",
        &["./libplugin.so"],
        "host_log: plugin computing 4 (beta)\n\
         plugin_compute(4) = 412\n\
         host_log: plugin computing 5 (gamma)\n\
         plugin_compute(5) = 517\n\
         dlclose = 0\n",
    );
}

/// Imports are what GNU ld makes them. An undefined weak reference in a PIE linked against
/// shared libraries goes to `.dynsym`, so the loader binds it when a library loaded at run
/// time defines it (Rust's std finds newer libc functions this way); `-z
/// nodynamic-undefined-weak` resolves it to null at link time. A strong reference to a
/// library's weak definition stays GLOBAL (so a library without it fails to load), imports
/// have size 0, and an IFUNC of the library is imported as a FUNC.
#[test]
fn imports_and_undefined_weak_references() {
    let t = test_env!("imports_and_undefined_weak_references");
    let lib = t.cc("weak_import_lib.c", &["-fPIC", "-O1"]);
    t.link("libweakdef.so", &["-shared", &lib]);
    let optional = t.cc("weak_import_optional.c", &["-fPIC", "-O1"]);
    t.link("liboptional.so", &["-shared", &optional]);
    let main = t.cc("weak_import_main.c", &["-O1"]);
    t.link("prog", &[&main, "-L.", "-lweakdef"]);
    let without = "optional_feature absent\noptional_counter absent\nweak_def() = 5, strnlen = 1\n";
    t.run_expect("prog", &[], without);
    let preload = [("LD_PRELOAD", "./liboptional.so")];
    let o = t.run_env("prog", &[], &preload);
    assert_stdout(&o, 0, "optional_feature present: 42\noptional_counter present: 7\nweak_def() = 5, strnlen = 1\n");
    // Name, binding, type and size of every import, in both worlds.
    let imports = |world| -> Vec<String> {
        let mut v: Vec<String> = t
            .tool_in(world, "readelf", &["--dyn-syms", "-W", "prog"])
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.len() >= 8 && f[6] == "UND")
            .map(|f| format!("{} {} {} {}", f[7], f[4], f[3], f[2]))
            .collect();
        v.sort();
        v
    };
    let ours = imports(World::Test);
    assert_eq!(ours, imports(World::Ref), "imports differ from GNU ld's");
    for expected in ["optional_feature WEAK NOTYPE 0", "optional_counter WEAK NOTYPE 0", "weak_def GLOBAL FUNC 0"] {
        assert!(ours.iter().any(|i| i == expected), "{expected:?} not in {ours:#?}");
    }
    assert!(ours.iter().any(|i| i.starts_with("strnlen@GLIBC_2.") && i.ends_with(" GLOBAL FUNC 0")), "{ours:#?}");
    t.link("prog_static_weak", &[&main, "-L.", "-lweakdef", "-Wl,-z,nodynamic-undefined-weak"]);
    assert_stdout(&t.run_env("prog_static_weak", &[], &preload), 0, without);
}
