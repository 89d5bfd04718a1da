//! Debug information: gdb can break on source lines and print variables of a program
//! linked by the linker under test; -S / -s strip debug info / all symbols.

use rivet_tests::{Test, World, gdb_values, run_command, section_is_compressed, section_names_of, test_env};
use std::process::Command;

/// -g -O0 objects: gdb stops at `file.c:LINE` breakpoints (found by their marker
/// comments) in both objects and prints locals, arguments, statics and structs.
#[test]
fn gdb_breakpoint_and_locals() {
    let t = test_env!("gdb_breakpoint_and_locals");
    if !t.require_gdb() {
        return;
    }
    let m = t.cc("dbg_main.c", &["-g", "-O0"]);
    let o = t.cc("dbg_other.c", &["-g", "-O0"]);
    t.link("dbg", &[&m, &o]);
    t.run_expect("dbg", &[], "p = (126, 168)\n");
    let main_line = t.line_of("dbg_main.c", "/* BREAK HERE main */");
    let other_line = t.line_of("dbg_other.c", "/* BREAK HERE other */");
    let breaks = vec![format!("dbg_other.c:{other_line}"), format!("dbg_main.c:{main_line}")];
    let cmds = [
        "print r.x",
        "print factor",
        "print helper_calls",
        "bt",
        "continue",
        "print localvar",
        "print p",
        "print origin",
        "info line",
    ];
    let expected = ["126", "42", "1", "42", "{x = 126, y = 168}", "{x = 3, y = 4}"].map(String::from).to_vec();
    let (values, out) = gdb_values(&t, World::Test, "dbg", &breaks, &cmds);
    assert_eq!(values, expected, "gdb output:\n{out}");
    assert!(out.contains(&format!("dbg_other.c:{other_line}")), "{out}");
    assert!(out.contains("scale_point") && out.contains("main"), "backtrace:\n{out}");
    assert!(out.contains(&format!("Line {main_line} of \"")), "info line:\n{out}");
    let (ref_values, ref_out) = gdb_values(&t, World::Ref, "dbg", &breaks, &cmds);
    assert_eq!(values, ref_values, "differs from ld.bfd's program under gdb:\n{ref_out}");
}

/// Objects whose debug sections are compressed (SHF_COMPRESSED, zlib as from `gcc -gz` and
/// zstd as from rustc's `-Zdebuginfo-compression=zstd`, here made with objcopy) link like
/// uncompressed ones: the output's debug sections are plain, and gdb answers as on GNU ld's
/// program from the same objects.
#[test]
fn compressed_debug_sections_in_inputs() {
    let t = test_env!("compressed_debug_sections_in_inputs");
    if !t.require_gdb() {
        return;
    }
    let main_line = t.line_of("dbg_main.c", "/* BREAK HERE main */");
    let other_line = t.line_of("dbg_other.c", "/* BREAK HERE other */");
    let breaks = vec![format!("dbg_other.c:{other_line}"), format!("dbg_main.c:{main_line}")];
    let cmds = ["print r.x", "print factor", "continue", "print p", "print origin"];
    let expected = ["126", "42", "{x = 126, y = 168}", "{x = 3, y = 4}"].map(String::from).to_vec();
    for codec in ["zlib", "zstd"] {
        let objects: Vec<String> = ["dbg_main.c", "dbg_other.c"]
            .iter()
            .map(|src| {
                let plain = t.cc_as(src, &format!("{}_{codec}.o", src.trim_end_matches(".c")), &["-g", "-O0"]);
                let status = Command::new("objcopy")
                    .arg(format!("--compress-debug-sections={codec}"))
                    .arg(&plain)
                    .status()
                    .expect("objcopy runs");
                assert!(status.success(), "objcopy --compress-debug-sections={codec} failed");
                plain
            })
            .collect();
        let sections = t.readelf("-S", &objects[0]);
        assert!(section_is_compressed(&sections, ".debug_info") == Some(true), "not compressed:\n{sections}");
        let prog = format!("dbg_{codec}");
        t.link(&prog, &[&objects[0], &objects[1]]);
        t.run_expect(&prog, &[], "p = (126, 168)\n");
        let out_sections = t.readelf("-S", &prog);
        assert!(
            section_is_compressed(&out_sections, ".debug_info") == Some(false),
            "written compressed:\n{out_sections}"
        );
        let (values, out) = gdb_values(&t, World::Test, &prog, &breaks, &cmds);
        assert_eq!(values, expected, "{codec}: gdb output:\n{out}");
        let (ref_values, ref_out) = gdb_values(&t, World::Ref, &prog, &breaks, &cmds);
        assert_eq!(values, ref_values, "{codec}: differs from ld.bfd's program under gdb:\n{ref_out}");
    }
}

/// `--compress-debug-sections=zlib|zstd` writes every `.debug_*` section compressed; readelf
/// inflates them to exactly the bytes of the uncompressed link of the same objects, gdb
/// answers as on GNU ld's program linked with the same option, and the output is the same at
/// any thread count. Inputs compressed with one codec are written with the other. `none`
/// gives the uncompressed bytes.
#[test]
fn compressed_debug_sections_in_output() {
    let t = test_env!("compressed_debug_sections_in_output");
    if !t.require_gdb() {
        return;
    }
    let main_line = t.line_of("dbg_main.c", "/* BREAK HERE main */");
    let other_line = t.line_of("dbg_other.c", "/* BREAK HERE other */");
    let breaks = vec![format!("dbg_other.c:{other_line}"), format!("dbg_main.c:{main_line}")];
    let cmds = ["print r.x", "print factor", "bt", "continue", "print p", "print origin"];
    let expected = ["126", "42", "{x = 126, y = 168}", "{x = 3, y = 4}"].map(String::from).to_vec();
    let m = t.cc("dbg_main.c", &["-g", "-O0"]);
    let o = t.cc("dbg_other.c", &["-g", "-O0"]);
    t.link("plain", &[&m, &o]);
    let dump = |prog: &str| t.tool("readelf", &["--debug-dump=info,abbrev,line,str,aranges", prog]);
    let plain_dump = dump("plain");
    for codec in ["zlib", "zstd"] {
        let prog = format!("dbg_{codec}");
        let option = format!("-Wl,--compress-debug-sections={codec}");
        t.link(&prog, &[&m, &o, &option]);
        t.run_expect(&prog, &[], "p = (126, 168)\n");
        let sections = t.readelf("-S", &prog);
        let debug: Vec<String> = section_names_of(&sections).into_iter().filter(|n| n.starts_with(".debug_")).collect();
        assert!(debug.len() >= 4, "{sections}");
        for name in &debug {
            assert_eq!(
                section_is_compressed(&sections, name),
                Some(true),
                "{codec}: {name} not compressed:\n{sections}"
            );
        }
        assert!(
            dump(&prog).replace(&prog, "plain") == plain_dump,
            "{codec}: inflates to other debug info than the plain link's"
        );
        let (values, out) = gdb_values(&t, World::Test, &prog, &breaks, &cmds);
        assert_eq!(values, expected, "{codec}: gdb output:\n{out}");
        assert!(out.contains("scale_point") && out.contains(&format!("dbg_other.c:{other_line}")), "{out}");
        let (ref_values, ref_out) = gdb_values(&t, World::Ref, &prog, &breaks, &cmds);
        assert_eq!(values, ref_values, "{codec}: differs from ld.bfd's program under gdb:\n{ref_out}");
        let one = format!("{prog}_1");
        let o1 = t.try_link_in(World::Test, rivet_tests::Driver::Gcc, &one, &[&m, &o, &option, "-Wl,--threads=1"]);
        if t.linker_is_rivet() {
            assert!(o1.success(), "{o1}");
            assert!(
                std::fs::read(t.out(&prog)).unwrap() == std::fs::read(t.out(&one)).unwrap(),
                "{codec}: thread count changed the output"
            );
        }
    }
    // Compressed inputs, written with the other codec.
    let inputs: Vec<String> = ["dbg_main.c", "dbg_other.c"]
        .iter()
        .map(|src| t.cc_as(src, &format!("{}_gz.o", src.trim_end_matches(".c")), &["-g", "-O0", "-gz=zlib"]))
        .collect();
    t.link("from_zlib", &[&inputs[0], &inputs[1], "-Wl,--compress-debug-sections=zstd"]);
    t.link("from_zlib_plain", &[&inputs[0], &inputs[1]]);
    t.run_expect("from_zlib", &[], "p = (126, 168)\n");
    let plain_of_inputs = dump("from_zlib_plain").replace("from_zlib_plain", "from_zlib");
    assert!(dump("from_zlib") == plain_of_inputs, "zlib inputs written as zstd inflate to other debug info");
    let (values, out) = gdb_values(&t, World::Test, "from_zlib", &breaks, &cmds);
    assert_eq!(values, expected, "zlib inputs, zstd output: gdb output:\n{out}");
    t.link("none", &[&m, &o, "-Wl,--compress-debug-sections=none"]);
    assert!(
        std::fs::read(t.out("none")).unwrap() == std::fs::read(t.out("plain")).unwrap(),
        "=none changes the output"
    );
}

/// Without stripping the debug sections are kept; -Wl,-S drops .debug_* but keeps .symtab;
/// -Wl,-s drops .symtab (and .strtab) too. All three run.
#[test]
fn strip_debug_and_all() {
    let t = test_env!("strip_debug_and_all");
    let m = t.cc("dbg_main.c", &["-g", "-O0"]);
    let o = t.cc("dbg_other.c", &["-g", "-O0"]);
    t.link("full", &[&m, &o]);
    t.link("strip_debug", &[&m, &o, "-Wl,-S"]);
    t.link("strip_all", &[&m, &o, "-Wl,-s"]);
    t.link("strip_debug_long", &[&m, &o, "-Wl,--strip-debug"]);
    for p in ["full", "strip_debug", "strip_all", "strip_debug_long"] {
        t.run_expect(p, &[], "p = (126, 168)\n");
    }
    let full = t.section_names("full");
    for s in [".debug_info", ".debug_line", ".debug_abbrev", ".symtab", ".strtab"] {
        assert!(full.contains(&s.to_string()), "full: missing {s}: {full:?}");
    }
    for p in ["strip_debug", "strip_debug_long"] {
        let names = t.section_names(p);
        assert!(!names.iter().any(|n| n.starts_with(".debug")), "{p}: {names:?}");
        assert!(names.contains(&".symtab".to_string()), "{p}: {names:?}");
        assert!(t.nm(p).contains(" main"), "{p}: symbols should remain");
    }
    let names = t.section_names("strip_all");
    assert!(!names.iter().any(|n| n.starts_with(".debug")), "{names:?}");
    assert!(!names.contains(&".symtab".to_string()) && !names.contains(&".strtab".to_string()), "{names:?}");
    assert!(names.contains(&".dynsym".to_string()), "dynamic symbols must stay: {names:?}");
}

/// `.debug_str` of one object marked as strings (SHF_MERGE|SHF_STRINGS) with no character size
/// (entsize 0, as the `object` crate, hence Cranelift, writes it) and of another with entsize
/// 1 (as gcc and LLVM write it) go to one output `.debug_str`: DWARF readers take the first
/// section of a name, so a second one would leave the other object's strings unreadable.
/// gdb then answers as on ld.bfd's program.
#[test]
fn debug_strings_without_entry_size() {
    let t = test_env!("debug_strings_without_entry_size");
    if !t.require_gdb() {
        return;
    }
    let m = t.cc("dbg_main.c", &["-g", "-O0"]);
    let o = t.cc("dbg_other.c", &["-g", "-O0"]);
    set_entry_size(&t.obj_dir().join(&o), b".debug_str", 0);
    t.link("dbg", &[&m, &o]);
    t.run_expect("dbg", &[], "p = (126, 168)\n");
    let sections = t.readelf("-S", "dbg");
    let debug_str = sections.lines().filter(|l| l.split_whitespace().any(|w| w == ".debug_str")).count();
    assert_eq!(debug_str, 1, "one .debug_str expected:\n{sections}");
    let other_line = t.line_of("dbg_other.c", "/* BREAK HERE other */");
    let breaks = vec![format!("dbg_other.c:{other_line}")];
    let cmds = ["print r.x", "print factor", "info locals"];
    let (values, out) = gdb_values(&t, World::Test, "dbg", &breaks, &cmds);
    assert_eq!(values, ["126", "42"].map(String::from).to_vec(), "gdb output:\n{out}");
    let (ref_values, ref_out) = gdb_values(&t, World::Ref, "dbg", &breaks, &cmds);
    assert_eq!(values, ref_values, "differs from ld.bfd's program under gdb:\n{ref_out}");
}

/// Rewrites `sh_entsize` of the section `name` in the ELF64 object at `path`.
fn set_entry_size(path: &std::path::Path, name: &[u8], entsize: u64) {
    let mut bytes = std::fs::read(path).expect("object readable");
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(&bytes, 0x28), u16_at(&bytes, 0x3a), u16_at(&bytes, 0x3c), u16_at(&bytes, 0x3e));
    let names = u64_at(&bytes, shoff + shstrndx * shentsize + 0x18);
    let header = (0..shnum)
        .map(|i| shoff + i * shentsize)
        .find(|&h| {
            let start = names + u32_at(&bytes, h);
            bytes[start..].split(|&b| b == 0).next() == Some(name)
        })
        .unwrap_or_else(|| panic!("no {} in {}", String::from_utf8_lossy(name), path.display()));
    bytes[header + 0x38..header + 0x40].copy_from_slice(&entsize.to_le_bytes());
    std::fs::write(path, bytes).expect("object writable");
}

/// The `.gdb_index` symbol table as `readelf --debug-dump=gdb_index` prints it, one
/// `name: unit [kind]` line per distinct entry (lld repeats a name a unit's pubnames list
/// twice; rivet does not), sorted; and the unit list's lengths.
fn gdb_index_contents(t: &Test, world: World, prog: &str) -> (Vec<String>, Vec<String>) {
    let dump = t.tool_in(world, "readelf", &["--debug-dump=gdb_index", prog]);
    let units = dump
        .split("CU table:")
        .nth(1)
        .and_then(|rest| rest.split("TU table:").next())
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once("] ").map(|(_, range)| range.trim().to_string()))
        .collect();
    let mut symbols = Vec::new();
    let mut name = String::new();
    for line in dump.split("Symbol table:").nth(1).unwrap_or("").lines() {
        if let Some((_, rest)) = line.split_once("] ") {
            let (n, entry) = rest.split_once(": ").unwrap_or((rest.trim_end_matches(':'), ""));
            name = n.to_string();
            if !entry.is_empty() {
                symbols.push(format!("{name}: {entry}"));
            }
        } else if !line.trim().is_empty() {
            symbols.push(format!("{name}: {}", line.trim()));
        }
    }
    symbols.sort();
    symbols.dedup();
    (symbols, units)
}

/// Whether gdb reads `prog`'s `.gdb_index` rather than indexing the DWARF itself.
fn gdb_uses_index(t: &Test, world: World, prog: &str) -> bool {
    let mut cmd = Command::new("gdb");
    cmd.args(["-nx", "-batch", "-iex", "set debuginfod enabled off", "-ex", "maint print objfiles"]);
    cmd.arg(t.out_in(world, prog));
    let o = run_command(&mut cmd, std::time::Duration::from_secs(60), t.root());
    o.stdout.contains(".gdb_index: version 7")
}

/// `--gdb-index` on C objects built with `-ggnu-pubnames`: the index lists the same
/// units, names and kinds as rust-lld's `--gdb-index` on the same objects; gdb reads it
/// (instead of indexing the DWARF) and stops and prints as on GNU ld's program without one.
#[test]
fn gdb_index_from_pubnames() {
    let t = test_env!("gdb_index_from_pubnames");
    if !t.require_gdb() {
        return;
    }
    let flags = ["-g", "-O0", "-ggnu-pubnames"];
    let m = t.cc("dbg_main.c", &flags);
    let o = t.cc("dbg_other.c", &flags);
    // Both worlds without an index (GNU ld has no --gdb-index), then this one with.
    t.link("dbg", &[&m, &o]);
    let linked = t.try_link_in(World::Test, rivet_tests::Driver::Gcc, "dbg", &[&m, &o, "-Wl,--gdb-index"]);
    assert!(linked.success(), "{linked}");
    t.run_expect("dbg", &[], "p = (126, 168)\n");
    let lld_dir = rivet_tests::rust_lld_gcc_dir();
    let mut lld = Command::new("gcc");
    lld.arg(format!("-B{}", lld_dir.display()))
        .args(["-fuse-ld=lld", "-Wl,--gdb-index", &m, &o, "-o", "dbg-lld"])
        .current_dir(t.world_dir(World::Ref));
    let lld_out = run_command(&mut lld, std::time::Duration::from_secs(60), t.root());
    assert!(lld_out.success(), "gcc with rust-lld failed: {lld_out}");
    let (symbols, units) = gdb_index_contents(&t, World::Test, "dbg");
    assert!(symbols.iter().any(|s| s.starts_with("scale_point: ")), "{symbols:#?}");
    assert_eq!((symbols, units), gdb_index_contents(&t, World::Ref, "dbg-lld"), "differs from rust-lld's index");

    assert!(gdb_uses_index(&t, World::Test, "dbg"), "gdb ignored the index");
    let main_line = t.line_of("dbg_main.c", "/* BREAK HERE main */");
    let breaks = vec!["scale_point".to_string(), format!("dbg_main.c:{main_line}")];
    let cmds = ["print factor", "print helper_calls", "continue", "print p", "print origin", "ptype p"];
    let (values, out) = gdb_values(&t, World::Test, "dbg", &breaks, &cmds);
    let (ref_values, ref_out) = gdb_values(&t, World::Ref, "dbg", &breaks, &cmds);
    assert!(values.len() >= 4, "gdb output:\n{out}");
    assert_eq!(values, ref_values, "differs from ld.bfd's program without an index:\n{out}\n{ref_out}");
}
