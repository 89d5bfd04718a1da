//! Error handling. The message checks are rivet-specific (behind `linker_is_rivet()`);
//! with other linkers these tests only assert a failing exit status, that the linker was
//! not killed by a signal, and that no output file is left behind.

use rivet_tests::{Output, Rng, Test, World, test_env};

/// rivet-specific: rivet exits with status exactly 1 on errors and never panics.
fn assert_rivet_error(t: &Test, o: &Output) {
    if t.linker_is_rivet() {
        assert!(!o.stderr.contains("panicked"), "rivet panicked: {o}");
        assert!(!o.stderr.contains("RUST_BACKTRACE"), "rivet panicked: {o}");
    }
}

/// Undefined symbol: the link fails and (rivet) the message names the symbol and the
/// object that references it.
#[test]
fn error_undefined_symbol() {
    let t = test_env!("error_undefined_symbol");
    let o = t.cc("undef_main.c", &[]);
    let e = t.link_fails("prog", &[&o]);
    assert_rivet_error(&t, &e);
    if t.linker_is_rivet() {
        // rivet-specific message checks.
        assert!(e.stderr.contains("missing_function"), "{e}");
        assert!(e.stderr.contains("undef_main.o:(main)"), "the referencing function is named: {e}");
    }
    // Direct invocation: exit status 1 exactly for rivet.
    let d = t.ld(&["-e", "main", "-o", "direct", &o]);
    assert!(!d.success() && d.signal.is_none(), "{d}");
    assert!(!t.out("direct").exists(), "output left behind");
    if t.linker_is_rivet() {
        assert_eq!(d.code, Some(1), "{d}");
        assert!(d.stderr.contains("missing_function") && d.stderr.contains("undef_main.o"), "{d}");
    }
}

/// With debug info, each reference also gives its source file and line (rivet, as lld
/// prints it: the line, then the object and function); at most 8 references are listed,
/// then how many more there are.
#[test]
fn error_undefined_symbol_source_lines() {
    let t = test_env!("error_undefined_symbol_source_lines");
    if !t.linker_is_rivet() {
        return;
    }
    for dwarf in ["-gdwarf-4", "-gdwarf-5"] {
        let o = t.cc_as("undef_main.c", &format!("undef{dwarf}.o"), &[dwarf]);
        let e = t.ld(&["-e", "main", "-o", "direct", &o]);
        assert_eq!(e.code, Some(1), "{e}");
        let line = t.line_of("undef_main.c", "printf(");
        let source = t.src("undef_main.c");
        let expected =
            format!(">>> referenced by {}:{line}\nrivet-ld: error: >>>               {o}:(main)", source.display());
        assert!(e.stderr.contains(&expected), "{dwarf}: expected\n{expected}\nin\n{e}");
    }
    let calls: String = (0..12).map(|i| format!("void f{i}(void) {{ missing_function(); }}\n")).collect();
    let src = t.write("many_refs.c", format!("void missing_function(void);\n{calls}int main(void) {{ return 0; }}\n"));
    let o = t.compile_with("gcc", &src, "many_refs.o", &["-g"]);
    let e = t.ld(&["-e", "main", "-o", "direct", &o]);
    assert_eq!(e.stderr.matches(">>> referenced by ").count(), 8, "{e}");
    assert!(e.stderr.contains("many_refs.c:9\n"), "the 8th reference, in f7: {e}");
    assert!(e.stderr.contains(">>> referenced 4 more times"), "{e}");
}

/// C++ undefined symbol: (rivet) the message shows the demangled name foo::bar(int).
#[test]
fn error_undefined_symbol_cxx_demangled() {
    let t = test_env!("error_undefined_symbol_cxx_demangled");
    let o = t.cxx("undef_cxx.cpp", &[]);
    let e = t.link_fails_with(rivet_tests::Driver::Gxx, "prog", &[&o]);
    assert_rivet_error(&t, &e);
    if t.linker_is_rivet() {
        assert!(e.stderr.contains("foo::bar(int)"), "{e}");
        assert!(e.stderr.contains("undef_cxx.o"), "{e}");
    }
}

/// Duplicate strong definitions: the link fails and (rivet) the message names the symbol and
/// both files.
#[test]
fn error_duplicate_symbol() {
    let t = test_env!("error_duplicate_symbol");
    let a = t.cc("dup_a.c", &[]);
    let b = t.cc("dup_b.c", &[]);
    let e = t.link_fails("prog", &[&a, &b]);
    assert_rivet_error(&t, &e);
    if t.linker_is_rivet() {
        assert!(e.stderr.contains("dup_sym"), "{e}");
        assert!(e.stderr.contains("dup_a.o") && e.stderr.contains("dup_b.o"), "{e}");
    }
}

/// A merged string section whose last string has no terminator (`.debug_str`, split into
/// pieces in the object's parse job): (rivet) a clear error naming the object and section,
/// exit status 1, no output.
#[test]
fn error_unterminated_merge_string() {
    let t = test_env!("error_unterminated_merge_string");
    if !t.linker_is_rivet() {
        return; // GNU ld copies such a section as it is
    }
    let main = t.write("main.c", "int main(void) { return 0; }\n");
    let main = t.cc(&main, &[]);
    let bad = t.write("unterminated.s", ".section .debug_str,\"MS\",@progbits,1\n.asciz \"fine\"\n.ascii \"cut\"\n");
    let bad = t.cc(&bad, &[]);
    let e = t.ld(&["-e", "main", "-o", "prog", &main, &bad]);
    assert_eq!(e.code, Some(1), "{e}");
    assert_rivet_error(&t, &e);
    assert!(e.stderr.contains("unterminated string") && e.stderr.contains("unterminated.o(.debug_str)"), "{e}");
    assert!(!t.out("prog").exists(), "output left behind");
}

/// A missing library: the link fails and (rivet) names it.
#[test]
fn error_missing_library() {
    let t = test_env!("error_missing_library");
    let o = t.cc("greet_main.c", &[]);
    let e = t.link_fails("prog", &[&o, "-lnosuchlib"]);
    assert_rivet_error(&t, &e);
    if t.linker_is_rivet() {
        assert!(e.stderr.contains("nosuchlib"), "{e}");
    }
    let e = t.link_fails("prog2", &[&o, "/nonexistent/dir/libmissing.a"]);
    if t.linker_is_rivet() {
        assert!(e.stderr.contains("libmissing.a"), "{e}");
    }
}

/// An unknown option: exit 1 and (rivet) the message names it; through gcc and directly.
#[test]
fn error_unknown_option() {
    let t = test_env!("error_unknown_option");
    let o = t.cc("greet_main.c", &[]);
    let e = t.link_fails("prog", &[&o, "-Wl,--no-such-option-xyz"]);
    assert_rivet_error(&t, &e);
    if t.linker_is_rivet() {
        assert!(e.stderr.contains("--no-such-option-xyz"), "{e}");
    }
    let d = t.ld(&["--no-such-option-xyz", "-o", "direct", &o]);
    assert!(!d.success() && d.signal.is_none(), "{d}");
    assert!(!t.out("direct").exists(), "output left behind");
    if t.linker_is_rivet() {
        assert_eq!(d.code, Some(1), "{d}");
        assert!(d.stderr.contains("--no-such-option-xyz"), "{d}");
    }
}

/// A failed link does not leave an output file (nothing pre-created), also when the output
/// goes into a subdirectory and when the failure comes late (undefined symbol found after
/// all inputs were read).
#[test]
fn error_no_output_left_behind() {
    let t = test_env!("error_no_output_left_behind");
    let ok = t.cc("greet_main.c", &[]);
    let undef = t.cc("undef_main.c", &[]);
    t.mkdir_in_worlds("sub");
    t.link_fails("sub/prog", &[&undef]);
    t.link_fails("libx.so", &["-shared", &undef, "-Wl,--no-undefined"]);
    t.link_fails("prog_static", &["-static", &undef]);
    t.link_fails("prog_dup", &[&ok, &ok]);
    for f in ["sub/prog", "libx.so", "prog_static", "prog_dup"] {
        assert!(!t.out(f).exists(), "{f} left behind");
    }
}

const NOLIBC_FLAGS: [&str; 5] = ["-O1", "-fPIC", "-ffreestanding", "-fno-stack-protector", "-fno-builtin"];

/// Link modes used for corrupted inputs (direct linker invocations).
const MODES: [&[&str]; 4] = [
    &["-static", "-e", "_start"],
    &["-shared"],
    &["-static", "-e", "_start", "--gc-sections"],
    &["-pie", "-e", "_start"],
];

struct Verdict {
    linked: usize,
    failed: usize,
    crashed: Vec<String>,
}

/// Links `victims` (with the intact nolibc_main.o) in `mode` into `corrupt.out`; checks the
/// outcome rules: exit 0 with an output file, or exit 1 without one; never a signal, a
/// timeout or a panic.
fn link_corrupted(t: &Test, main: &str, victims: &[&str], mode: &[&str], label: &str, v: &mut Verdict) {
    let out = "corrupt.out";
    let _ = std::fs::remove_file(t.out(out));
    let mut args: Vec<&str> = mode.to_vec();
    args.extend(["-o", out, main]);
    args.extend(victims);
    let o = t.ld(&args);
    let bad = o.timed_out
        || o.signal.is_some()
        || !matches!(o.code, Some(0) | Some(1))
        || (t.linker_is_rivet() && (o.stderr.contains("panicked") || o.stderr.contains("RUST_BACKTRACE")));
    if bad {
        v.crashed.push(format!(
            "{label}: {}\n{}",
            o.status_text(),
            o.stderr.lines().take(5).collect::<Vec<_>>().join("\n")
        ));
    }
    if o.success() {
        v.linked += 1;
        assert!(t.out(out).exists(), "{label}: success but no output: {o}");
    } else {
        v.failed += 1;
        assert!(!t.out(out).exists(), "{label}: failed link left {out} behind: {o}");
    }
}

/// Crash-freeness is rivet's requirement; other linkers' crashes are only reported
/// (they are not the code under test).
fn finish(t: &Test, what: &str, v: &Verdict) {
    println!("{what}: {} linked, {} rejected, {} crashed", v.linked, v.failed, v.crashed.len());
    if !v.crashed.is_empty() {
        let msg = format!("{what}: the linker crashed, panicked or hung on:\n{}", v.crashed.join("\n---\n"));
        if t.linker_is_rivet() {
            panic!("{msg}");
        } else {
            println!("NOTE (not asserted for {:?}): {msg}", t.kind());
        }
    }
}

fn nolibc_objects(t: &Test) -> (String, Vec<u8>) {
    let main = t.cc("nolibc_main.c", &NOLIBC_FLAGS);
    let util = t.cc("nolibc_util.c", &NOLIBC_FLAGS);
    // Sanity: the intact objects link in every mode and the static program runs.
    for (i, m) in MODES.iter().enumerate() {
        let mut args: Vec<&str> = m.to_vec();
        let out = format!("intact{i}");
        args.extend(["-o", &out, &main, &util]);
        let o = t.ld(&args);
        assert!(o.success(), "intact objects must link: {o}");
    }
    let r = t.run_in(World::Test, "intact0", &[], &[]);
    assert!(r.code == Some(42) && r.stdout == "direct link works\n60\n", "{r}");
    (main, std::fs::read(util).unwrap())
}

/// rivet-specific robustness: object files truncated at many lengths are rejected with
/// status 1 (or linked), never crash the linker, and leave no output when rejected.
#[test]
fn corrupted_truncated_objects() {
    let t = test_env!("corrupted_truncated_objects");
    let (main, bytes) = nolibc_objects(&t);
    let n = bytes.len();
    let mut lens = vec![0, 1, 4, 16, 52, 63, 64, 65, 100, n / 8, n / 4, n / 3, n / 2, 3 * n / 4, n - 64, n - 24, n - 1];
    lens.dedup();
    let mut v = Verdict { linked: 0, failed: 0, crashed: Vec::new() };
    for (i, len) in lens.iter().enumerate() {
        let victim = t.write(&format!("trunc_{len}.o"), &bytes[..*len]);
        for (k, mode) in MODES.iter().enumerate() {
            link_corrupted(&t, &main, &[&victim], mode, &format!("truncated to {len} bytes, mode {k}"), &mut v);
        }
        // Also through gcc for a couple of lengths: a normal link must fail cleanly.
        if i % 6 == 0 {
            let e = t.link_fails(
                &format!("gcc_trunc_{len}"),
                &[&victim, "-nostartfiles", "-nostdlib", "-e", "_start", &main],
            );
            assert_rivet_error(&t, &e);
        }
    }
    assert!(v.failed > 0, "no truncated object was rejected?");
    finish(&t, "truncated objects", &v);
}

/// Positions in the object worth corrupting: ELF header, section header table, and the
/// contents of symbol tables, string tables and relocation sections.
fn structural_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let rd = |off: usize, len: usize| -> u64 {
        let mut v = 0u64;
        for i in (0..len).rev() {
            v = (v << 8) | b[off + i] as u64;
        }
        v
    };
    let mut ranges = vec![(0usize, 64usize)];
    let shoff = rd(0x28, 8) as usize;
    let shentsize = rd(0x3a, 2) as usize;
    let shnum = rd(0x3c, 2) as usize;
    if shoff + shnum * shentsize <= b.len() {
        ranges.push((shoff, shoff + shnum * shentsize));
        for i in 0..shnum {
            let sh = shoff + i * shentsize;
            let ty = rd(sh + 4, 4);
            let off = rd(sh + 0x18, 8) as usize;
            let size = rd(sh + 0x20, 8) as usize;
            // SYMTAB, STRTAB, RELA, GROUP
            if matches!(ty, 2 | 3 | 4 | 17) && size > 0 && off + size <= b.len() {
                ranges.push((off, off + size));
            }
        }
    }
    ranges
}

/// rivet-specific robustness: 200 deterministic variants of a real object, each with 1-4
/// bytes flipped (biased towards headers, symbol/string tables and relocations), linked in
/// four modes round-robin: exit 0 or 1, never a signal/panic (101)/hang, no output on failure.
#[test]
fn corrupted_bit_flipped_objects() {
    let t = test_env!("corrupted_bit_flipped_objects");
    let (main, bytes) = nolibc_objects(&t);
    let ranges = structural_ranges(&bytes);
    let mut rng = Rng::new(0x5eed_2026_0001);
    let mut v = Verdict { linked: 0, failed: 0, crashed: Vec::new() };
    for i in 0..200 {
        let mut b = bytes.clone();
        let flips = 1 + rng.below(4) as usize;
        let mut desc = Vec::new();
        for _ in 0..flips {
            let pos = if rng.below(4) == 0 {
                rng.below(b.len() as u64) as usize
            } else {
                let (s, e) = ranges[rng.below(ranges.len() as u64) as usize];
                s + rng.below((e - s) as u64) as usize
            };
            let old = b[pos];
            b[pos] = if rng.below(2) == 0 { old ^ (1 << rng.below(8)) } else { old ^ (1 + rng.below(255)) as u8 };
            desc.push(format!("[{pos:#x}] {old:#04x}->{:#04x}", b[pos]));
        }
        let victim = t.write("flipped.o", &b);
        let mode = MODES[i % MODES.len()];
        link_corrupted(
            &t,
            &main,
            &[&victim],
            mode,
            &format!("variant {i} ({}) mode {:?}", desc.join(" "), mode),
            &mut v,
        );
    }
    assert!(v.failed > 0, "no corrupted object was rejected?");
    finish(&t, "bit-flipped objects", &v);
}

/// Symbol 0 of an object is the null symbol: one that claims a section (a byte flipped, found
/// by corrupting an object an in-place relink read) is refused with the file named, not read
/// as a definition in a section that does not exist. (GNU ld links it, never reading symbol
/// 0: refusing a malformed object is the rule here.)
#[test]
fn a_null_symbol_in_a_section_is_refused() {
    use object::{Object, ObjectSection};
    let t = test_env!("null_symbol_in_a_section");
    let (main, mut bytes) = nolibc_objects(&t);
    let file = object::read::elf::ElfFile64::<object::Endianness>::parse(&*bytes).unwrap();
    let symtab = file.section_by_name(".symtab").and_then(|s| s.file_range()).expect("a symbol table").0 as usize;
    // `st_shndx` of the first entry.
    bytes[symtab + 6..symtab + 8].copy_from_slice(&256u16.to_le_bytes());
    let victim = t.write("null_in_section.o", &bytes);
    let args = [victim.as_str(), "-nostartfiles", "-nostdlib", "-e", "_start", &main];
    let e = t.try_link_in(World::Test, rivet_tests::Driver::Gcc, "null_in_section", &args);
    assert!(e.code == Some(1) && e.stderr.contains("null_in_section.o: symbol 0 is not the null symbol"), "{e}");
    assert!(!t.out("null_in_section").exists(), "an output left behind: {e}");
}

/// An excluded section (SHF_EXCLUDE, like rustc's `.llvmbc`) is never read. One whose header
/// puts it past the end of the file, its offset and size even wrapping around when added, is
/// linked or refused cleanly in every mode, and a link that succeeds gives a program that runs.
#[test]
fn corrupted_excluded_section_past_end_of_file() {
    let t = test_env!("corrupted_excluded_section_past_end_of_file");
    let main = t.cc("nolibc_main.c", &NOLIBC_FLAGS);
    let util = t.cc("nolibc_util.c", &NOLIBC_FLAGS);
    let blob = t.cc("excluded_blob.s", &[]);
    let mut bytes = std::fs::read(&blob).unwrap();
    let header = section_header(&bytes, ".blob").expect("the assembler kept .blob");
    bytes[header + 0x18..header + 0x20].copy_from_slice(&(u64::MAX - 0xfff).to_le_bytes());
    let victim = t.write("excluded_past_end.o", &bytes);
    let mut v = Verdict { linked: 0, failed: 0, crashed: Vec::new() };
    for (k, mode) in MODES.iter().enumerate() {
        link_corrupted(&t, &main, &[&util, &victim], mode, &format!("mode {k}"), &mut v);
        if k == 0 && t.out("corrupt.out").exists() {
            let r = t.run_in(World::Test, "corrupt.out", &[], &[]);
            assert!(r.code == Some(42) && r.stdout == "direct link works\n60\n", "{r}");
        }
    }
    finish(&t, "excluded section past the end of the file", &v);
}

/// Where the header of the section named `name` is in the ELF object `b`.
fn section_header(b: &[u8], name: &str) -> Option<usize> {
    let rd = |off: usize, len: usize| b[off..off + len].iter().rev().fold(0u64, |v, &x| (v << 8) | x as u64) as usize;
    let (shoff, shnum, shstrndx) = (rd(0x28, 8), rd(0x3c, 2), rd(0x3e, 2));
    let header = |i: usize| shoff + i * 64;
    let names = rd(header(shstrndx) + 0x18, 8);
    (0..shnum).map(header).find(|&h| {
        let at = names + rd(h, 4);
        b[at..].iter().position(|&c| c == 0).is_some_and(|len| &b[at..at + len] == name.as_bytes())
    })
}

/// Offset and size of the section named `name` in the ELF object `b`.
fn section_range(b: &[u8], name: &str) -> Option<(usize, usize)> {
    let rd = |off: usize| usize::from_le_bytes(b[off..off + 8].try_into().unwrap());
    section_header(b, name).map(|h| (rd(h + 0x18), rd(h + 0x20)))
}

/// A compressed debug section whose stream is corrupt, or whose header announces another
/// size, is (rivet) a clear error naming the object and the section, exit status 1, no output.
#[test]
fn error_corrupt_compressed_section() {
    let t = test_env!("error_corrupt_compressed_section");
    if !t.linker_is_rivet() {
        return; // the message is rivet's; other linkers word it their own way
    }
    let main = t.cc("dbg_main.c", &["-g", "-O0"]);
    for codec in ["zlib", "zstd"] {
        let other = t.cc_as("dbg_other.c", &format!("other_{codec}.o"), &["-g", "-O0"]);
        let status = std::process::Command::new("objcopy")
            .arg(format!("--compress-debug-sections={codec}"))
            .arg(&other)
            .status()
            .expect("objcopy runs");
        assert!(status.success());
        let pristine = std::fs::read(&other).unwrap();
        let (start, size) = section_range(&pristine, ".debug_info").expect(".debug_info");
        // Ch_size (after ch_type and ch_reserved) one larger; then the stream itself spoiled.
        let mut wrong_size = pristine.clone();
        wrong_size[start + 8] = wrong_size[start + 8].wrapping_add(1);
        let mut spoiled = pristine.clone();
        spoiled[start + 24..start + size].iter_mut().for_each(|b| *b = 0x55);
        for (label, bytes, what) in [("size", wrong_size, "header says"), ("stream", spoiled, "corrupt")] {
            let bad = t.write(&format!("bad_{codec}_{label}.o"), &bytes);
            let out = format!("prog_{codec}_{label}");
            let e = t.ld(&["-e", "main", "-o", &out, &main, &bad]);
            assert_eq!(e.code, Some(1), "{codec} {label}: {e}");
            assert_rivet_error(&t, &e);
            let named = format!("bad_{codec}_{label}.o: section .debug_info");
            assert!(e.stderr.contains(&named) && e.stderr.contains(what), "{codec} {label}: {e}");
            assert!(!t.out(&out).exists(), "output left behind");
        }
    }
}

/// A debug section's relocation whose offset lies past the end of its section (checked where
/// it is applied, like its symbol) is a clean error naming the file, in every mode, and leaves
/// no output. Every linker refuses the link; ld.lld 19 does so by crashing (SIGSEGV in
/// `relocateNonAlloc`), so only rivet-ld is held to a clean exit.
#[test]
fn error_debug_relocation_past_section_end() {
    let t = test_env!("error_debug_relocation_past_section_end");
    // r_offset: far past the end of .debug_info.
    let patch = |rela: &mut [u8]| rela[0..8].copy_from_slice(&0x7fff_fff0u64.to_le_bytes());
    check_bad_debug_relocation(&t, "bad_debug_offset.o", patch, "past the end", false);
}

/// rivet checks the symbol of a debug section's relocation where it applies it (not also
/// while parsing, to spare a second pass over the debug relocations): one out of range is
/// still a clean error naming the file, in every mode, and leaves no output.
#[test]
fn error_debug_relocation_symbol_out_of_range() {
    let t = test_env!("error_debug_relocation_symbol_out_of_range");
    // r_info: symbol 0x00ffffff, type unchanged.
    let patch = |rela: &mut [u8]| rela[12..16].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    check_bad_debug_relocation(&t, "bad_debug_reloc.o", patch, "out of range", true);
}

/// Links a -g object whose last `.rela.debug_info` entry `patch` spoiled, written as `name`,
/// in every mode: the link fails and leaves no output; rivet-ld exits 1 with an error naming
/// the file and saying `what`. With `clean_everywhere`, no linker may die of a signal.
fn check_bad_debug_relocation(t: &Test, name: &str, patch: impl FnOnce(&mut [u8]), what: &str, clean_everywhere: bool) {
    let main = t.cc("nolibc_main.c", &NOLIBC_FLAGS);
    let mut flags = NOLIBC_FLAGS.to_vec();
    flags.push("-g");
    let util = t.cc("nolibc_util.c", &flags);
    let mut bytes = std::fs::read(&util).unwrap();
    let (off, size) = section_range(&bytes, ".rela.debug_info").expect("a -g object has .rela.debug_info");
    assert!(size >= 24, "no debug relocations");
    patch(&mut bytes[off + size - 24..off + size]);
    let victim = t.write(name, &bytes);
    for (k, mode) in MODES.iter().enumerate() {
        let out = format!("bad{k}");
        let mut args: Vec<&str> = mode.to_vec();
        args.extend(["-o", &out, &main, &victim]);
        let o = t.ld(&args);
        assert!(!o.success(), "mode {k}: {o}");
        assert!(!t.out(&out).exists(), "mode {k}: {out} left behind");
        if clean_everywhere || t.linker_is_rivet() {
            assert!(o.signal.is_none(), "mode {k}: {o}");
        }
        if t.linker_is_rivet() {
            assert_eq!(o.code, Some(1), "mode {k}: {o}");
            assert_rivet_error(t, &o);
            assert!(o.stderr.contains(name) && o.stderr.contains(what), "mode {k}: {o}");
        }
    }
}
