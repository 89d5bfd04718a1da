//! Archives: members pulled on demand through the symbol index, thin archives,
//! --whole-archive, circular dependencies with --start-group, non-ELF members.

use rivet_tests::{Test, nm_defines, nm_has, test_env};

/// Compiles the archive members and returns (main.o, [dep.o, used.o, unused.o]).
fn archive_objects(t: &Test) -> (String, Vec<String>) {
    let main = t.cc("arch_main.c", &["-O1"]);
    // dep comes BEFORE used in the archive: the linker must rescan the index after
    // pulling used.o to find dep_fn.
    let members = ["arch_dep.c", "arch_used.c", "arch_unused.c"].iter().map(|s| t.cc(s, &["-O1"])).collect();
    (main, members)
}

/// Only the members that resolve undefined symbols are linked (transitively); an
/// unreferenced member is left out (its symbols are absent and its constructor does not run).
#[test]
fn archive_pulls_members_on_demand() {
    let t = test_env!("archive_pulls_members_on_demand");
    let (main, m) = archive_objects(&t);
    let lib = t.ar("libarch.a", &[&m[0], &m[1], &m[2]]);
    t.link("prog", &[&main, &lib]);
    t.run_expect("prog", &[], "used_fn(5) = 210\n");
    let nm = t.nm("prog");
    assert!(nm_defines(&nm, "used_fn") && nm_defines(&nm, "dep_fn"), "{nm}");
    assert!(!nm_has(&nm, "unused_fn") && !nm_has(&nm, "force_me"), "unused member linked:\n{nm}");
    // Also through -L/-l.
    t.link("prog_l", &[&main, &format!("-L{}", t.obj_dir().display()), "-larch"]);
    t.run_expect("prog_l", &[], "used_fn(5) = 210\n");
}

/// A thin archive (`ar rcsT`: members referenced by path) links like a normal one.
#[test]
fn thin_archive() {
    let t = test_env!("thin_archive");
    let (main, m) = archive_objects(&t);
    let lib = t.ar_thin("libthin.a", &[&m[0], &m[1], &m[2]]);
    let head = std::fs::read(&lib).unwrap();
    assert!(head.starts_with(b"!<thin>\n"), "ar did not make a thin archive");
    t.link("prog", &[&main, &lib]);
    t.run_expect("prog", &[], "used_fn(5) = 210\n");
    let nm = t.nm("prog");
    assert!(nm_defines(&nm, "dep_fn") && !nm_has(&nm, "unused_fn"), "{nm}");
}

/// --whole-archive links every member (the unused member's constructor runs), and
/// --no-whole-archive ends that for later archives.
#[test]
fn whole_archive() {
    let t = test_env!("whole_archive");
    let (main, m) = archive_objects(&t);
    let lib = t.ar("libarch.a", &[&m[0], &m[1], &m[2]]);
    let lib2 = t.ar("libarch2.a", &[&m[2]]);
    t.link("prog", &[&main, "-Wl,--whole-archive", &lib, "-Wl,--no-whole-archive", &lib2]);
    t.run_expect("prog", &[], "unused member linked\nused_fn(5) = 210\n");
    let nm = t.nm("prog");
    assert!(nm_defines(&nm, "unused_fn") && nm_defines(&nm, "force_me"), "{nm}");
}

/// Circular references between two archives are resolved inside --start-group/--end-group.
#[test]
fn archive_group_circular() {
    let t = test_env!("archive_group_circular");
    let main = t.cc("circ_main.c", &[]);
    let a1 = t.cc("circ_a1.c", &[]);
    let a2 = t.cc("circ_a2.c", &[]);
    let b1 = t.cc("circ_b1.c", &[]);
    let liba = t.ar("liba.a", &[&a1, &a2]);
    let libb = t.ar("libb.a", &[&b1]);
    t.link("prog", &[&main, "-Wl,--start-group", &liba, &libb, "-Wl,--end-group"]);
    t.run_expect("prog", &[], "a1(1) = 1140\n");
    // Short forms -( -) too.
    t.link("prog2", &[&main, "-Wl,-(", &liba, &libb, "-Wl,-)"]);
    t.run_expect("prog2", &[], "a1(1) = 1140\n");
    // Without the group GNU ld fails (a2 is needed only after liba.a was scanned). lld
    // resolves it anyway (it does not depend on archive order), so only bfd is asserted.
    if t.linker_is_bfd() {
        let o = t.try_link_in(rivet_tests::World::Test, rivet_tests::Driver::Gcc, "nogroup", &[&main, &liba, &libb]);
        assert!(!o.success() && o.stderr.contains("a2"), "{o}");
    }
}

/// An archive containing a non-ELF member (a text file) still links; the member is ignored.
#[test]
fn archive_with_non_elf_member() {
    let t = test_env!("archive_with_non_elf_member");
    let (main, m) = archive_objects(&t);
    let readme = t.write("README.txt", "This is not an object file.\nJust text.\n");
    let lib = t.ar("libmixed.a", &[&readme, &m[0], &m[1], &m[2]]);
    let listing = t.tool("ar", &["t", &lib]);
    assert!(listing.contains("README.txt"), "{listing}");
    t.link("prog", &[&main, &lib]);
    t.run_expect("prog", &[], "used_fn(5) = 210\n");
}
