//! `--incremental` under random edit sequences: a generated C project (four modules and a
//! `main`, built with `-ffunction-sections -fdata-sections -g`, linked with `--gc-sections`;
//! modules 2 and 3 are linked from an archive, `libmods.a`, made again whenever one of them
//! is compiled) is edited step by step as a developer would: functions added, removed, grown, shrunk and
//! renamed, a value, an array, a string literal (a module's motto, which another module may
//! share), a literal's length (a module's banner) or a thread-local's initial value changed,
//! lines inserted or removed above a module's code, a function that
//! `--gc-sections` dropped called from `main` (and one dropped again), the modules printed by
//! `main` in another order (the same calls, reordered), a note added to a module or its last
//! one taken out (an anonymous constant with an address, in a section of its own, as LLVM
//! makes a Rust panic location), a static helper function added to a module or its last one
//! taken out (a section and a local symbol of its own, as rustc makes a private function its
//! unit alone calls), nothing changed, or a module compiled again without a change. Only the modules an edit touched are compiled
//! again. After every step:
//! - the incremental link is up to date exactly when no input's bytes changed since the last
//!   link (a skipped link that should have run, or the reverse, fails the test);
//! - its output, whether patched in place or linked in full, is byte for byte a plain link of
//!   the same objects (build id included), unless a patch since the last full link rewrote a
//!   merged string: then it is a plain link's with its strings in another order
//!   (`elf_compare::same_but_for_string_places`); or a patch resized a section (a banner of
//!   another length, moved to the overflow segment when it grew; a module's debug information
//!   after lines moved) or added one (a note): then it is a plain link's in all the loader and
//!   the user see (`elf_compare::structural_differences`; but for a note, whose writable
//!   overflow segment is not made read-only after relocation as `.data.rel.ro` is);
//! - its `.symtab` lists no function the modules no longer have (one taken out or renamed
//!   leaves its bytes, not its name);
//! - the program prints what the project's model says it must, and so does GNU ld's link of
//!   the same objects.
//!
//! The edit sequence comes from a seeded generator: `RIVET_EDIT_SEED` picks the seed (1 by
//! default) and `RIVET_EDIT_STEPS` the number of steps (60 by default; the long variant runs
//! `RIVET_EDIT_STEPS=400`). The tally of up-to-date, patched and full links is printed at the end.

use rivet_tests::{Driver, Output, Test, World, test_env};

const MODULES: usize = 4;

/// How many mottos there are: few enough that modules often share one.
const MOTTOS: usize = 8;

/// The modules linked from `libmods.a`, after `main.o`.
const ARCHIVED: std::ops::Range<usize> = 2..MODULES;

/// A function `m<module>_<name>` returning `value`, its body padded with `padding`
/// volatile statements (so that growing and shrinking change its size).
struct Function {
    name: String,
    value: u32,
    padding: u32,
    /// Whether `main` calls it; the others are left for `--gc-sections` to drop.
    called: bool,
}

struct Module {
    functions: Vec<Function>,
    /// `m<i>_motto` returns "motto <motto>", which `main` prints: a literal in a merged
    /// string section, shared with every module that has the same motto.
    motto: u32,
    /// `m<i>_data`, summed by `m<i>_data_sum`, which `main` prints.
    data: Vec<u32>,
    /// The length of `m<i>_banner`'s text: a literal in a read-only section of its own that
    /// only a local label names (`.rodata.m<i>_banner`), as rustc places each literal.
    banner: usize,
    /// Blank lines at the top of the module's source: more or fewer move every line of its
    /// debug information (past line 255 a line number takes two bytes).
    lead: usize,
    /// How many notes the module has: anonymous constants as LLVM makes rustc's panic
    /// locations, each the address of its text (a string of the merged string section) in a
    /// section of its own that only a local label names (`.data.rel.ro..Lanon.m<i>.<k>`);
    /// `m<i>_note` returns the last one's text, which `main` prints.
    notes: usize,
    /// The values of the module's static helpers, `m<i>_h<k>` (each its own `.text` section
    /// and one local symbol), which `m<i>_data_sum` calls in turn, each adding its value.
    helpers: Vec<u32>,
}

struct Project {
    modules: Vec<Module>,
    /// The initial value of module 0's thread-local counter, which `main` bumps twice.
    tls_start: u32,
    next_name: u32,
    /// The order in which `main` prints the modules.
    order: Vec<usize>,
}

/// How many lengths a banner may have.
const BANNER_LENGTHS: usize = 24;

/// Motto `motto`: one of `MOTTOS`, each of its own length.
fn motto_text(motto: u32) -> String {
    format!("motto {motto}{}", "!".repeat(motto as usize))
}

/// Module `index`'s banner of `length` (`Module::banner`).
fn banner_text(index: usize, length: usize) -> String {
    format!("m{index} banner {}", "=".repeat(length))
}

/// The text of module `index`'s note `k` (`usize::MAX`: what it says with none).
fn note_text(index: usize, k: usize) -> String {
    match k {
        usize::MAX => format!("m{index} has no notes"),
        k => format!("m{index} note {k}"),
    }
}

/// xorshift64*: the same sequence for the same seed on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

impl Project {
    fn new(rng: &mut Rng) -> Project {
        let mut project = Project { modules: Vec::new(), tls_start: 7, next_name: 0, order: (0..MODULES).collect() };
        for _ in 0..MODULES {
            let functions = (0..6).map(|i| project.new_function(rng, i % 3 != 2)).collect();
            let data = (0..8).map(|_| rng.below(1000) as u32).collect();
            let motto = rng.below(MOTTOS) as u32;
            let banner = rng.below(BANNER_LENGTHS);
            let notes = rng.below(3);
            project.modules.push(Module { functions, data, motto, banner, lead: 0, notes, helpers: Vec::new() });
        }
        project
    }

    fn new_function(&mut self, rng: &mut Rng, called: bool) -> Function {
        self.next_name += 1;
        Function {
            name: format!("f{}", self.next_name),
            value: rng.below(100_000) as u32,
            padding: rng.below(20) as u32,
            called,
        }
    }

    fn module_source(&self, index: usize) -> String {
        let module = &self.modules[index];
        let mut s = "\n".repeat(module.lead);
        if index == 0 {
            s += &format!("__thread int tls_counter = {};\n", self.tls_start);
            s += "int m0_bump(void) { return ++tls_counter; }\n";
        }
        s += &format!("const char *m{index}_motto(void) {{ return \"{}\"; }}\n", motto_text(module.motto));
        s += &format!(
            "__asm__(\".pushsection .rodata.m{index}_banner,\\\"a\\\",@progbits\\n.Lm{index}_banner: .string \\\"{}\\\"\\n.popsection\");\n\
             const char *m{index}_banner(void) {{ const char *p; __asm__(\"leaq .Lm{index}_banner(%%rip), %0\" : \"=r\"(p)); return p; }}\n",
            banner_text(index, module.banner)
        );
        for k in 0..module.notes {
            s += &format!(
                "__asm__(\".pushsection .data.rel.ro..Lanon.m{index}.{k},\\\"aw\\\",@progbits\\n.p2align 3\\n\
                 .Lm{index}_note{k}: .quad .Lm{index}_note_text{k}\\n.popsection\\n\
                 .pushsection .rodata.str1.1,\\\"aMS\\\",@progbits,1\\n.Lm{index}_note_text{k}: .string \\\"{}\\\"\\n.popsection\");\n",
                note_text(index, k)
            );
        }
        // What `m<i>_note` says without notes, in the same merged string section as the notes'
        // texts (a literal of its own would be in a section of the function's).
        s += &format!(
            "__asm__(\".pushsection .rodata.str1.1,\\\"aMS\\\",@progbits,1\\n.Lm{index}_no_note: .string \\\"{}\\\"\\n.popsection\");\n",
            note_text(index, usize::MAX)
        );
        match module.notes.checked_sub(1) {
            None => {
                s += &format!(
                    "const char *m{index}_note(void) {{ const char *p; __asm__(\"leaq .Lm{index}_no_note(%%rip), %0\" : \"=r\"(p)); return p; }}\n"
                )
            }
            Some(last) => {
                s += &format!(
                    "const char *m{index}_note(void) {{ const char *const *p; __asm__(\"leaq .Lm{index}_note{last}(%%rip), %0\" : \"=r\"(p)); return *p; }}\n"
                )
            }
        }
        let data: Vec<String> = module.data.iter().map(u32::to_string).collect();
        s += &format!("int m{index}_data[] = {{{}}};\n", data.join(", "));
        let mut calls = String::new();
        for (k, value) in module.helpers.iter().enumerate() {
            s += &format!(
                "static __attribute__((noinline, noclone)) int m{index}_h{k}(int s) {{ return s + {value}; }}\n"
            );
            calls += &format!(" s = m{index}_h{k}(s);");
        }
        s += &format!(
            "int m{index}_data_sum(void) {{ int s = 0; for (unsigned i = 0; i < sizeof m{index}_data / sizeof *m{index}_data; i++) s += m{index}_data[i];{calls} return s; }}\n"
        );
        for f in &module.functions {
            s += &format!("int m{index}_{}(void) {{\n    volatile int x = 0;\n", f.name);
            for _ in 0..f.padding {
                s += "    x += 1;\n";
            }
            s += &format!("    return {} + x - {};\n}}\n", f.value, f.padding);
        }
        s
    }

    fn main_source(&self) -> String {
        let mut decls = String::from("#include <stdio.h>\nint m0_bump(void);\n");
        let mut body = String::from("int main(void) {\n");
        for (index, module) in self.order.iter().map(|&index| (index, &self.modules[index])) {
            decls += &format!(
                "int m{index}_data_sum(void);\nconst char *m{index}_motto(void);\nconst char *m{index}_banner(void);\n\
                 const char *m{index}_note(void);\n"
            );
            body += &format!("    printf(\"m{index} data %d\\n\", m{index}_data_sum());\n");
            body += &format!("    puts(m{index}_motto());\n    puts(m{index}_banner());\n    puts(m{index}_note());\n");
            for f in module.functions.iter().filter(|f| f.called) {
                decls += &format!("int m{index}_{}(void);\n", f.name);
                body += &format!("    printf(\"m{index}_{} %d\\n\", m{index}_{}());\n", f.name, f.name);
            }
        }
        body += "    m0_bump();\n    printf(\"tls %d\\n\", m0_bump());\n    return 0;\n}\n";
        decls + &body
    }

    /// What the program must print.
    fn expected_output(&self) -> String {
        let mut out = String::new();
        for (index, module) in self.order.iter().map(|&index| (index, &self.modules[index])) {
            out += &format!("m{index} data {}\n", module.data.iter().chain(&module.helpers).sum::<u32>());
            out += &format!("{}\n{}\n", motto_text(module.motto), banner_text(index, module.banner));
            out += &format!("{}\n", note_text(index, module.notes.wrapping_sub(1)));
            for f in module.functions.iter().filter(|f| f.called) {
                out += &format!("m{index}_{} {}\n", f.name, f.value);
            }
        }
        out + &format!("tls {}\n", self.tls_start + 2)
    }

    /// The names of the functions the modules define now (`m<i>_f<k>`, `m<i>_h<k>`).
    fn functions(&self) -> std::collections::BTreeSet<String> {
        let mut names = std::collections::BTreeSet::new();
        for (index, module) in self.modules.iter().enumerate() {
            names.extend(module.functions.iter().map(|f| format!("m{index}_{}", f.name)));
            names.extend((0..module.helpers.len()).map(|k| format!("m{index}_h{k}")));
        }
        names
    }
}

/// The functions and helpers of the modules (`m<i>_f<k>`, `m<i>_h<k>`) that the `.symtab` of
/// the program at `path` lists.
fn listed_functions(path: &std::path::Path) -> std::collections::BTreeSet<String> {
    use object::{Object, ObjectSymbol, SymbolKind};
    let bytes = std::fs::read(path).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let module_function = |name: &str| {
        let Some((module, function)) = name.strip_prefix('m').and_then(|rest| rest.split_once('_')) else {
            return false;
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        digits(module) && function.strip_prefix(['f', 'h']).is_some_and(digits)
    };
    let functions = file.symbols().filter(|s| s.kind() == SymbolKind::Text && !s.is_undefined());
    functions.filter_map(|s| s.name().ok().filter(|n| module_function(n)).map(String::from)).collect()
}

/// What one step did to the sources, and the modules to compile again (`MODULES` stands for
/// `main`).
struct Edit {
    what: String,
    touched: Vec<usize>,
}

fn edit(project: &mut Project, rng: &mut Rng) -> Edit {
    let m = rng.below(MODULES);
    let main = MODULES;
    let count = project.modules[m].functions.len();
    let pick = |rng: &mut Rng| rng.below(count.max(1));
    let (what, touched) = match rng.below(17) {
        0 => {
            let called = rng.below(2) == 0;
            let f = project.new_function(rng, called);
            let what = format!("add m{m}_{} (called: {called})", f.name);
            project.modules[m].functions.push(f);
            (what, if called { vec![m, main] } else { vec![m] })
        }
        1 if count > 1 => {
            let f = project.modules[m].functions.remove(pick(rng));
            (format!("remove m{m}_{}", f.name), if f.called { vec![m, main] } else { vec![m] })
        }
        2 if count > 0 => {
            let i = pick(rng);
            let f = &mut project.modules[m].functions[i];
            f.padding += 1 + rng.below(40) as u32;
            (format!("grow m{m}_{} to {} statements", f.name, f.padding), vec![m])
        }
        3 if count > 0 => {
            let i = pick(rng);
            let f = &mut project.modules[m].functions[i];
            f.padding /= 2;
            (format!("shrink m{m}_{} to {} statements", f.name, f.padding), vec![m])
        }
        4 if count > 0 => {
            let i = pick(rng);
            project.next_name += 1;
            let new = format!("f{}", project.next_name);
            let f = &mut project.modules[m].functions[i];
            let what = format!("rename m{m}_{} to m{m}_{new}", f.name);
            f.name = new;
            (what, if f.called { vec![m, main] } else { vec![m] })
        }
        5 if count > 0 => {
            let i = pick(rng);
            let f = &mut project.modules[m].functions[i];
            f.value = rng.below(100_000) as u32;
            (format!("m{m}_{} returns {}", f.name, f.value), vec![m])
        }
        6 => {
            let i = rng.below(project.modules[m].data.len());
            project.modules[m].data[i] = rng.below(1000) as u32;
            (format!("m{m}_data[{i}] changed"), vec![m])
        }
        7 => {
            project.tls_start = rng.below(1000) as u32;
            (format!("tls_counter starts at {}", project.tls_start), vec![0])
        }
        8 if count > 0 => {
            let i = pick(rng);
            let f = &mut project.modules[m].functions[i];
            f.called = !f.called;
            let what = if f.called { "now called" } else { "no longer called" };
            (format!("m{m}_{} {what}", f.name), vec![main])
        }
        9 => ("no change".to_string(), vec![]),
        10 => {
            project.modules[m].motto = rng.below(MOTTOS) as u32;
            (format!("m{m}'s motto is now {:04}", project.modules[m].motto), vec![m])
        }
        11 => {
            project.modules[m].banner = rng.below(BANNER_LENGTHS);
            (format!("m{m}'s banner is now {} long", project.modules[m].banner), vec![m])
        }
        12 => {
            project.modules[m].lead = rng.below(300);
            (format!("m{m} now starts with {} blank lines", project.modules[m].lead), vec![m])
        }
        13 => {
            let other = (m + 1 + rng.below(MODULES - 1)) % MODULES;
            let (a, b) = (project.order[m], project.order[other]);
            project.order.swap(m, other);
            (format!("main prints m{b} where it printed m{a}, and the reverse"), vec![main])
        }
        14 if !project.modules[m].helpers.is_empty() && rng.below(2) == 0 => {
            project.modules[m].helpers.pop();
            (format!("m{m} loses its last helper, {} left", project.modules[m].helpers.len()), vec![m])
        }
        14 => {
            project.modules[m].helpers.push(rng.below(1000) as u32);
            (format!("m{m} gains a helper, {} in all", project.modules[m].helpers.len()), vec![m])
        }
        15 | 16 if project.modules[m].notes > 0 && rng.below(2) == 0 => {
            project.modules[m].notes -= 1;
            (format!("m{m} loses its last note, {} left", project.modules[m].notes), vec![m])
        }
        15 | 16 => {
            project.modules[m].notes += 1;
            (format!("m{m} gains a note, {} in all", project.modules[m].notes), vec![m])
        }
        _ => (format!("m{m} compiled again, unchanged"), vec![m]),
    };
    Edit { what, touched }
}

fn source_name(module: usize) -> String {
    if module == MODULES { "main.c".to_string() } else { format!("m{module}.c") }
}

fn compile(t: &Test, project: &Project, module: usize) {
    let source = if module == MODULES { project.main_source() } else { project.module_source(module) };
    let path = t.write(&source_name(module), source);
    t.cc(&path, &["-O1", "-g", "-ffunction-sections", "-fdata-sections"]);
}

fn link(t: &Test, world: World, out: &str, objects: &[String], incremental: bool) -> Output {
    let mut args: Vec<&str> = objects.iter().map(String::as_str).collect();
    args.push("-Wl,--gc-sections");
    if incremental {
        args.extend(["-Wl,--incremental", "-Wl,--time", "-Wl,--no-fork"]);
    }
    let o = t.try_link_in(world, Driver::Gcc, out, &args);
    assert!(o.success(), "link of {out} failed: {o}");
    o
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn random_edits_relink_as_a_full_link_would() {
    let t = test_env!("incremental_random_edits");
    if !t.linker_is_rivet() {
        return;
    }
    let seed = env_number("RIVET_EDIT_SEED", 1);
    let steps = env_number("RIVET_EDIT_STEPS", 60);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut project = Project::new(&mut rng);
    for module in 0..=MODULES {
        compile(&t, &project, module);
    }
    let object = |m: usize| t.obj(&source_name(m).replace(".c", ".o"));
    let archive =
        || t.ar("libmods.a", &ARCHIVED.map(object).collect::<Vec<_>>().iter().map(String::as_str).collect::<Vec<_>>());
    let mut objects: Vec<String> = (0..=MODULES).filter(|m| !ARCHIVED.contains(m)).map(object).collect();
    objects.push(archive());
    let contents = || objects.iter().map(|o| std::fs::read(o).unwrap()).collect::<Vec<_>>();
    let mut linked_from: Option<Vec<Vec<u8>>> = None;
    let (mut up_to_date, mut patched, mut full, mut changed) = (0, 0, 0, 0);
    // Whether a patch since the last full link rewrote a merged string, and how many did;
    // the same for a patch that resized a section.
    let (mut strings_moved, mut patched_strings) = (false, 0);
    let (mut resized, mut patched_resized) = (false, 0);
    // Whether a patch since the last full link added sections (notes): the writable overflow
    // segment they go to is not made read-only after relocation, as `.data.rel.ro` is.
    let mut added = false;
    // Why changed inputs were linked in full, with the module's names left out, by kind of
    // edit, and how often.
    let mut full_reasons = std::collections::BTreeMap::<(String, String), usize>::new();
    // By kind of edit: how many steps were up to date, patched and linked in full.
    let mut by_kind = std::collections::BTreeMap::<String, [usize; 3]>::new();
    let mut kind = String::new();
    let mut history = Vec::new();
    for step in 0..=steps {
        if step > 0 {
            let e = edit(&mut project, &mut rng);
            for &module in &e.touched {
                compile(&t, &project, module);
            }
            if e.touched.iter().any(|m| ARCHIVED.contains(m)) {
                archive();
            }
            history.push(format!("step {step}: {}", e.what));
            kind = edit_kind(&e.what);
        }
        let context = || format!("seed {seed}, after:\n{}", history.join("\n"));
        let now = contents();
        let unchanged = linked_from.as_ref() == Some(&now);
        changed += usize::from(!unchanged);
        let o = link(&t, World::Test, "prog", &objects, true);
        let skipped = o.stderr.contains("rivet-ld: incremental: up to date");
        assert_eq!(
            skipped,
            unchanged,
            "up to date is {skipped}, the inputs unchanged is {unchanged}: {o}\n{}",
            context()
        );
        let outcome = if skipped {
            0
        } else if o.stderr.contains("rivet-ld: incremental: patched in place") {
            1
        } else {
            2
        };
        if step > 0 {
            by_kind.entry(kind.clone()).or_default()[outcome] += 1;
        }
        if skipped {
            up_to_date += 1
        } else if o.stderr.contains("rivet-ld: incremental: patched in place") {
            patched += 1;
            if !o.stderr.contains(" 0 merged strings and constants rewritten") {
                strings_moved = true;
                patched_strings += 1;
            }
            if !o.stderr.contains("(0 resized, 0 moved)") {
                resized = true;
                patched_resized += 1;
            }
            if !o.stderr.contains("), 0 added, ") {
                (resized, added) = (true, true);
            }
        } else {
            full += 1;
            (strings_moved, resized, added) = (false, false, false);
            let reason = o.stderr.lines().find_map(|l| l.split_once("incremental: full link: ")).map(|(_, r)| r);
            *full_reasons.entry((kind.clone(), reason.map_or("?".into(), full_link_kind))).or_default() += 1;
        }
        linked_from = Some(now);
        // A function taken out leaves its bytes, but not its name.
        let stale: Vec<String> = listed_functions(&t.out("prog")).difference(&project.functions()).cloned().collect();
        assert!(stale.is_empty(), "`.symtab` lists functions the modules no longer have: {stale:?}\n{}", context());

        link(&t, World::Test, "plain", &objects, false);
        let (prog, plain) = (std::fs::read(t.out("prog")).unwrap(), std::fs::read(t.out("plain")).unwrap());
        if resized {
            let mut differences = rivet_tests::elf_compare::structural_differences(&t.out("prog"), &t.out("plain"));
            if added && let Ok(differences) = &mut differences {
                differences.retain(|d| d != "sections RELRO in the reference but not in ours: [\".data.rel.ro\"]");
            }
            assert_eq!(differences, Ok(vec![]), "the incremental link's output is not the plain link's\n{}", context());
        } else if strings_moved {
            let same = rivet_tests::elf_compare::same_but_for_string_places(&t.out("prog"), &t.out("plain"));
            assert_eq!(same, Ok(()), "the incremental link's output is not the plain link's\n{}", context());
        } else {
            assert!(prog == plain, "the incremental link's output is not the plain link's\n{}", context());
        }
        let expected = project.expected_output();
        for world in [World::Test, World::Ref] {
            if world == World::Ref {
                link(&t, world, "prog", &objects, false);
            }
            let run = t.run_in(world, "prog", &[], &[]);
            assert!(run.code == Some(0) && run.stdout == expected, "expected {expected:?}: {run}\n{}", context());
        }
    }
    eprintln!(
        "random edits (seed {seed}, {steps} steps): {up_to_date} links up to date, {patched} patched in place \
         ({patched_strings} of them rewriting merged strings or constants, {patched_resized} resizing sections), {full} full; {changed} with changed inputs (the first \
         link included)"
    );
    eprintln!("  up to date / patched / full, by kind of edit, and why the full links were:");
    for (kind, [up_to_date, patched, full]) in by_kind {
        eprintln!("  {up_to_date:4} {patched:4} {full:4}  {kind}");
        for ((_, reason), count) in full_reasons.iter().filter(|((k, _), _)| *k == kind) {
            eprintln!("                   {count:4}: {reason}");
        }
    }
}

/// An edit's description with its numbers and names left out (`grow m*_* to * statements`).
fn edit_kind(what: &str) -> String {
    let words = what.split(' ').map(|word| if word.contains(|c: char| c.is_ascii_digit()) { "*" } else { word });
    words.collect::<Vec<_>>().join(" ")
}

/// What kind of reason an incremental link gave for linking in full: the reason it could not
/// patch the output when only inputs changed, without the object's path, and with the
/// project's function and data names (`m<i>_<name>`) as `m*_*`.
fn full_link_kind(reason: &str) -> String {
    let why = reason.split_once(", and not in place: ").map_or(reason, |(_, why)| why);
    let why = why.rsplit_once(".o: ").or_else(|| why.rsplit_once(".a: ")).map_or(why, |(_, why)| why);
    let why = why.split_once(".a is ").map_or(why, |(_, why)| why);
    let words = why.split(' ').map(|word| {
        let named = word.find(".m").map_or(word, |at| &word[at + 1..]);
        let project = named.len() > 3 && named.starts_with('m') && named.as_bytes()[1].is_ascii_digit();
        if project { word.replace(named, "m*_*") } else { word.to_string() }
    });
    words.collect::<Vec<_>>().join(" ")
}
