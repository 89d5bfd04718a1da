//! Inputs: objects from different compilers and flags, symbol binding/visibility, COMDAT,
//! mergeable sections, SHF_EXCLUDE, init/fini arrays, legacy .ctors, common symbols.
//!
//! Every link is done with the linker under test AND with ld.bfd; `run*` asserts both
//! programs behave identically, and each test also asserts the literal expected output.

use rivet_tests::{
    Driver, LinkerKind, MULTI_SOURCES, World, count_occurrences, multi_expected, nm_defines, nm_has, test_env,
};

/// The linker that gcc runs really is the linker under test (and the reference is bfd).
#[test]
fn uses_linker_under_test() {
    let t = test_env!("uses_linker_under_test");
    let out = t.linker_version_via_gcc(World::Test);
    let want = match t.kind() {
        LinkerKind::Rivet => "rivet",
        LinkerKind::Bfd => "GNU ld",
        LinkerKind::Lld => "LLD",
    };
    assert!(out.stdout.contains(want), "expected {want:?} in: {out}");
    let reference = t.linker_version_via_gcc(World::Ref);
    assert!(reference.stdout.contains("GNU ld"), "reference is not ld.bfd: {reference}");
}

fn compile_multi(t: &rivet_tests::Test, compiler: &str, tag: &str, flags: &[&str]) -> Vec<String> {
    MULTI_SOURCES
        .iter()
        .map(|s| {
            let out = format!("{}_{tag}.o", s.trim_end_matches(".c"));
            t.compile_with(compiler, s, &out, flags)
        })
        .collect()
}

fn link_and_check_multi(t: &rivet_tests::Test, driver: Driver, objs: &[String]) {
    let args: Vec<&str> = objs.iter().map(String::as_str).collect();
    t.link_with(driver, "multi", &args);
    t.run_expect("multi", &["x"], &multi_expected(true));
}

/// gcc -O0 objects (no per-function sections).
#[test]
fn gcc_objects_o0() {
    let t = test_env!("gcc_objects_o0");
    let objs = compile_multi(&t, "gcc", "gcc0", &["-O0"]);
    link_and_check_multi(&t, Driver::Gcc, &objs);
}

/// gcc -O2 with one section per function and per data object (many small input sections,
/// jump tables in .rodata, relocations between sections of the same object).
#[test]
fn gcc_objects_o2_function_sections() {
    let t = test_env!("gcc_objects_o2_function_sections");
    let objs = compile_multi(&t, "gcc", "gcc2", &["-O2", "-ffunction-sections", "-fdata-sections"]);
    link_and_check_multi(&t, Driver::Gcc, &objs);
}

/// clang -O0 objects linked through clang --ld-path.
#[test]
fn clang_objects_o0() {
    let t = test_env!("clang_objects_o0");
    if !t.require_clang() {
        return;
    }
    let objs = compile_multi(&t, "clang", "clang0", &["-O0"]);
    link_and_check_multi(&t, Driver::Clang, &objs);
}

/// clang -O2 -ffunction-sections -fdata-sections objects linked through clang.
#[test]
fn clang_objects_o2_function_sections() {
    let t = test_env!("clang_objects_o2_function_sections");
    if !t.require_clang() {
        return;
    }
    let objs = compile_multi(&t, "clang", "clang2", &["-O2", "-ffunction-sections", "-fdata-sections"]);
    link_and_check_multi(&t, Driver::Clang, &objs);
}

/// One program from a mix of gcc and clang objects with different flags.
#[test]
fn mixed_gcc_clang_objects() {
    let t = test_env!("mixed_gcc_clang_objects");
    if !t.require_clang() {
        return;
    }
    let objs = vec![
        t.cc_as("multi_main.c", "main_gcc.o", &["-O2", "-ffunction-sections"]),
        t.clang_as("multi_util.c", "util_clang.o", &["-O2", "-fdata-sections"]),
        t.clang_as("multi_data.c", "data_clang.o", &["-O0"]),
    ];
    link_and_check_multi(&t, Driver::Gcc, &objs);
}

/// Local symbols with equal names stay separate; weak undefined -> NULL; weak definitions
/// overridden by strong ones; hidden symbols bind within the output and are not exported
/// even with --export-dynamic.
#[test]
fn symbol_binding_and_visibility() {
    let t = test_env!("symbol_binding_and_visibility");
    let main = t.cc("sym_main.c", &["-O1"]);
    let other = t.cc("sym_other.c", &["-O1"]);
    t.link("sym", &[&main, &other, "-Wl,--export-dynamic"]);
    t.run_expect(
        "sym",
        &[],
        "helper here: 100, helper there: 200\n\
         weak undefined function: null\n\
         weak undefined variable: null\n\
         config_value: 42\n\
         tunable: 20\n\
         only_weak: 77\n\
         hidden: 1005\n\
         global seen by other object: 9\n",
    );
    let dynsyms = t.readelf("--dyn-syms", "sym");
    for exported in ["config_value", "global_data", "only_weak"] {
        assert!(dynsyms.contains(exported), "{exported} not exported:\n{dynsyms}");
    }
    for hidden in ["hidden_add", "hidden_counter"] {
        assert!(!dynsyms.contains(hidden), "hidden symbol {hidden} exported:\n{dynsyms}");
    }
    // Same order of objects reversed: the strong definitions still win.
    t.link("sym_rev", &[&other, &main]);
    let o = t.run("sym_rev", &[]);
    assert!(o.stdout.contains("config_value: 42\ntunable: 20\n"), "{o}");
}

/// COMDAT groups: inline functions, their static locals, template functions and template
/// static data members are emitted by several g++ objects; exactly one copy is kept.
#[test]
fn comdat_cxx_inline_and_templates() {
    let t = test_env!("comdat_cxx_inline_and_templates");
    for opt in ["-O0", "-O2"] {
        let objs: Vec<String> = ["comdat_a.cpp", "comdat_b.cpp", "comdat_main.cpp"]
            .iter()
            .map(|s| t.cxx_as(s, &format!("{}{opt}.o", s.trim_end_matches(".cpp")), &[opt]))
            .collect();
        let prog = format!("comdat{opt}");
        t.link_cxx(&prog, &[&objs[0], &objs[1], &objs[2]]);
        t.run_expect(
            &prog,
            &[],
            "a: twice(21)=42 counter=1\n\
             b: twice(1.5)=3.0 counter=101\n\
             main: counter=1101 int total=30 double total=0.75\n\
             same bump address: yes\n\
             twice<int> in main: 16\n",
        );
        let nm = t.tool("nm", &["-C", &prog]);
        let n = nm.lines().filter(|l| l.ends_with(" shared_counter()::counter")).count();
        assert_eq!(n, 1, "shared_counter()::counter must exist once:\n{nm}");
    }
}

/// COMDAT groups under `--gc-sections`: a live section keeps every member of its group, even
/// one nothing refers to; a group none of whose members is reached is dropped whole, before
/// and after the live one in the object.
#[test]
fn comdat_groups_live_and_dropped_whole_under_gc() {
    let t = test_env!("comdat_groups_live_and_dropped_whole_under_gc");
    let main = t.cc("comdat_gc_main.c", &["-O2"]);
    let groups = t.cc("comdat_gc.s", &[]);
    t.link("comdat_gc", &["-Wl,--gc-sections", &main, &groups]);
    t.run_expect("comdat_gc", &[], "keeper: 7\n");
    for world in rivet_tests::WORLDS {
        let nm = t.tool_in(world, "nm", &["comdat_gc"]);
        assert!(nm_defines(&nm, "keeper") && nm_defines(&nm, "group_tag"), "{world:?}: the live group, whole:\n{nm}");
        for dropped in ["dead_first_fn", "dead_first_tag", "dead_last_fn", "dead_last_tag"] {
            assert!(!nm_has(&nm, dropped), "{world:?}: {dropped} kept:\n{nm}");
        }
    }
}

/// SHF_MERGE|SHF_STRINGS: identical literals from several objects are merged (pointer
/// equality, one copy in the file); SHF_MERGE .rodata.cst8 doubles are merged and correct.
#[test]
fn merge_strings_and_constants() {
    let t = test_env!("merge_strings_and_constants");
    let objs: Vec<String> = ["merge_a.c", "merge_b.c", "merge_main.c"].iter().map(|s| t.cc(s, &["-O2"])).collect();
    let a_sections = t.tool("readelf", &["-SW", &objs[0]]);
    assert!(
        a_sections.contains(".rodata.str1.1") && a_sections.contains(".rodata.cst8"),
        "compiler did not produce mergeable sections:\n{a_sections}"
    );
    t.link("merge", &[&objs[0], &objs[1], &objs[2]]);
    t.run_expect(
        "merge",
        &[],
        "a: hello merged world\n\
         b: hello merged world\n\
         same pointer: yes\n\
         suffix: merged world (ok)\n\
         unique: only in a / only in b\n\
         scale_a(2) = 9.001467\n\
         scale_b(2) = 3.564903\n\
         in main: same literal\n",
    );
    let bytes = std::fs::read(t.out("merge")).unwrap();
    assert_eq!(count_occurrences(&bytes, b"hello merged world\0"), 1, "string not merged");
    for v in [3.14159265358979f64, 2.718281828459045] {
        assert_eq!(count_occurrences(&bytes, &v.to_le_bytes()), 1, "constant {v} not merged");
    }
}

/// SHF_EXCLUDE sections (and their relocations) are not copied to the output.
#[test]
fn exclude_section_dropped() {
    let t = test_env!("exclude_section_dropped");
    let o = t.cc("exclude.c", &[]);
    let in_obj = t.tool("readelf", &["-SW", &o]);
    assert!(in_obj.contains(".rivet_excluded"), "{in_obj}");
    t.link("exclude", &[&o]);
    t.run_expect("exclude", &[], "kept value: 31\nexclusion test done\n");
    let names = t.section_names("exclude");
    assert!(!names.iter().any(|n| n.contains("rivet_excluded")), "excluded section in output: {names:?}");
    let bytes = std::fs::read(t.out("exclude")).unwrap();
    assert_eq!(count_occurrences(&bytes, b"RIVET-EXCLUDED-PAYLOAD"), 0);
    assert_eq!(count_occurrences(&bytes, b"ANOTHER-EXCLUDED-STRING"), 0);
}

const INITFINI_EXPECTED: &str = "preinit\n\
ctor 101 (main.c)\n\
ctor 200 (other.c)\n\
ctor 300 (main.c)\n\
ctor 65000 (other.c)\n\
ctor default (main.c)\n\
ctor default (other.c)\n\
main\n\
atexit handler\n\
dtor default (other.c)\n\
dtor default (main.c)\n\
dtor 300 (main.c)\n\
dtor 200 (other.c)\n\
dtor 101 (main.c)\n";

/// .preinit_array, .init_array(.N) and .fini_array(.N) sorted by priority across objects,
/// in a PIE and in a static executable.
#[test]
fn init_fini_array_priorities() {
    let t = test_env!("init_fini_array_priorities");
    let m = t.cc("initfini_main.c", &["-O1"]);
    let o = t.cc("initfini_other.c", &["-O1"]);
    t.link("initfini", &[&m, &o]);
    t.run_expect("initfini", &[], INITFINI_EXPECTED);
    t.link("initfini_static", &["-static", &m, &o]);
    t.run_expect("initfini_static", &[], INITFINI_EXPECTED);
}

/// Legacy .ctors/.dtors function pointers run (GNU ld folds them into .init_array /
/// .fini_array since crtbegin.o no longer walks .ctors).
#[test]
fn legacy_ctors_dtors_run() {
    let t = test_env!("legacy_ctors_dtors_run");
    let o = t.cc("legacy_ctors.c", &[]);
    let in_obj = t.tool("readelf", &["-SW", &o]);
    assert!(in_obj.contains(".ctors") && in_obj.contains(".dtors"), "{in_obj}");
    t.link("legacy", &[&o]);
    t.run_expect(
        "legacy",
        &[],
        "legacy .ctors constructor ran\n\
         modern .init_array constructor ran\n\
         main\n\
         legacy .dtors destructor ran\n",
    );
}

/// -fcommon tentative definitions in several objects become one object (largest size,
/// strictest alignment), zero-initialised.
#[test]
fn common_symbols() {
    let t = test_env!("common_symbols");
    let objs: Vec<String> =
        ["common_a.c", "common_b.c", "common_main.c"].iter().map(|s| t.cc(s, &["-fcommon", "-O1"])).collect();
    let nm_b = t.tool("nm", &[&objs[1]]);
    assert!(nm_b.contains(" C common_counter"), "not a common symbol:\n{nm_b}");
    t.link("common", &[&objs[0], &objs[1], &objs[2]]);
    t.run_expect(
        "common",
        &[],
        "common_counter = 17\n\
         common_array[7] = 7, [15] = 15\n\
         rest zero: 1\n\
         aligned to 64: yes\n",
    );
    let nm = t.nm("common");
    assert!(nm_defines(&nm, "common_counter") && nm_defines(&nm, "common_array"), "{nm}");
    let syms = t.readelf("-s", "common");
    let arr = syms.lines().find(|l| l.ends_with(" common_array")).expect("common_array");
    assert!(arr.split_whitespace().nth(2) == Some("64"), "common_array size must be 64: {arr}");
}
