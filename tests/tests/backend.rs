//! rivet's rustc codegen backend (`codegen-hook/`, `-Zcodegen-backend=rivet`), used exactly
//! as the README says: `rustc -Zcodegen-backend=rivet main.rs`, or cargo with
//!
//! ```toml
//! [unstable]
//! codegen-backend = true
//!
//! [profile.dev]
//! codegen-backend = "rivet"
//! ```
//!
//! in `.cargo/config.toml`. `scripts/install-backend.sh` builds and installs the backend once
//! per test binary. Fixtures are under `tests/backend/`; everything runs on the pinned
//! toolchain (`RUSTUP_TOOLCHAIN` from `rust-toolchain.toml`).
//!
//! Each test builds in two worlds of its temp dir: `test/` with the backend, `ref/` with stock
//! rustc (its link: cc + rust-lld). Each program is run in both, and exit status and stdout
//! must agree (the differential check) and match the literal expectation.
//!
//! What is proven:
//! - rustc with the backend links executables in-process (their `.comment` says
//!   `Linker: rivet`; `RIVET_VERBOSE=1` reports each link) and the programs behave as stock
//!   rustc's: a hello world built by the plain recipe (which prints nothing else and leaves no
//!   `*.rcgu.o` or `rivet*` temporary directory behind), a program split into 16 codegen units,
//!   a cargo workspace whose bin uses a library, a hand-written derive macro and a C archive
//!   made by a build script (the build script and the proc-macro, which rustc loads, linked
//!   in-process too), and `cargo test` of that workspace (unit tests, an integration test, a
//!   doctest), whose harnesses are linked in-process (but for the proc-macro crate's, which
//!   cargo builds with `-C prefer-dynamic` and rivet leaves to rustc);
//! - a cdylib is linked in-process: a C program built against it with `cc -L. -l<name>`
//!   calls its functions (values, callbacks, strings, a caught panic, statics and a
//!   thread-local) as it does stock rustc's, and its defined dynamic symbols are exactly
//!   stock's, the `#[unsafe(no_mangle)]` items;
//! - with `RIVET_ENGINE=cranelift` the toolchain's Cranelift generates the code (the debug
//!   info's producer says so) and rivet still links in-process: hello, the 16-unit program,
//!   the workspace, the panic's backtrace and the edit-rebuild loop behave as with stock
//!   rustc (the reference stays LLVM and rust-lld); the Cranelift tests print `SKIP` when the
//!   toolchain lacks the `rustc-codegen-cranelift-preview` component;
//! - debug info survives: a panic's backtrace names the same frames as stock rustc's, at the
//!   same locations, with `main.rs:<line>` of each function, the output has one section of
//!   each `.debug_*` name, and gdb breaks on a line and prints a local;
//! - an incremental cargo build links what was just compiled: editing a string literal back and
//!   forth shows the edit in each run;
//! - a failing link is a rustc error (`linking with rivet failed`, the undefined symbol and its
//!   referencing object named, exit 1, no output, no temporary files);
//! - `--print link-args` prints the same `cc` command as stock rustc: same libraries, flags and
//!   order, once rustc's environment words, its `-B<...>/gcc-ld -fuse-ld=lld` and the names of
//!   the temporary directories are set aside.

use rivet_tests::{Output, Rng, TOOL_TIMEOUT, Test, WORLDS, World, cargo_test_summary, run_command, test_env};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// A cargo build of a fixture (tiny crates, no crates.io dependency) on a slow machine.
const CARGO_TIMEOUT: Duration = Duration::from_secs(300);

/// The first build of the backend in a fresh target dir.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(1200);

/// `.cargo/config.toml` of the README: the dev profile is built with rivet's backend.
const CARGO_RECIPE: &str = "[unstable]\ncodegen-backend = true\n\n[profile.dev]\ncodegen-backend = \"rivet\"\n";

/// What a program linked by rivet has in its `.comment` section.
const RIVET_COMMENT: &[u8] = b"Linker: rivet";

/// Variables of the environment that would change what the fixtures' builds do. The tests
/// set what they need themselves.
const CLEARED_VARS: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
    "CARGO_INCREMENTAL",
    "CARGO_BUILD_INCREMENTAL",
    "CARGO_PROFILE_DEV_INCREMENTAL",
    "CARGO_PROFILE_DEV_CODEGEN_BACKEND",
    "CARGO_UNSTABLE_CODEGEN_BACKEND",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTDOC",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "RIVET_VERBOSE",
    "RIVET_TIME",
    "RIVET_ENGINE",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository").to_path_buf()
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("backend")
}

/// The channel of the pinned toolchain, read from `rust-toolchain.toml`.
fn toolchain() -> &'static str {
    static CHANNEL: OnceLock<String> = OnceLock::new();
    CHANNEL.get_or_init(|| {
        let path = repo_root().join("rust-toolchain.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        text.lines()
            .find_map(|l| {
                let (key, value) = l.split_once('=')?;
                (key.trim() == "channel").then(|| value.trim().trim_matches('"').to_string())
            })
            .unwrap_or_else(|| panic!("no `channel` in {}", path.display()))
    })
}

/// A command of the pinned toolchain (`rustc`, `cargo`) with [`CLEARED_VARS`] removed.
fn toolchain_command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for var in CLEARED_VARS {
        cmd.env_remove(var);
    }
    cmd.env("RUSTUP_TOOLCHAIN", toolchain());
    cmd
}

/// Runs `scripts/install-backend.sh` once per test binary, so that `-Zcodegen-backend=rivet`
/// loads the backend built from this tree; panics with the script's output if it fails.
fn install_backend() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("scripts/install-backend.sh")).env("RUSTUP_TOOLCHAIN", toolchain());
        let out = run_command(&mut cmd, INSTALL_TIMEOUT, &std::env::temp_dir());
        if out.success() { Ok(()) } else { Err(out.to_string()) }
    });
    if let Err(out) = result {
        panic!("scripts/install-backend.sh failed, so the backend cannot be tested:\n{out}");
    }
}

/// A test's temp dir with the backend installed.
fn backend_test(name: &str) -> Test {
    install_backend();
    test_env!(name)
}

/// The code generator of rivet's backend. The reference world is stock rustc (LLVM and
/// rust-lld) whichever the backend uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Engine {
    /// rustc's LLVM backend, the default.
    Llvm,
    /// The toolchain's Cranelift backend (`RIVET_ENGINE=cranelift`).
    Cranelift,
}

/// What the DWARF producer of a unit Cranelift compiled says (`rustc version ... with
/// cranelift 0.135.0`); LLVM's says `clang LLVM (rustc version ...)`.
const CRANELIFT_PRODUCER: &[u8] = b" with cranelift ";

impl Engine {
    /// The environment of the backend's world that selects the engine.
    fn env(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Engine::Llvm => &[],
            Engine::Cranelift => &[("RIVET_ENGINE", "cranelift")],
        }
    }

    /// Asserts that the code of the crate linked into `path` was generated by this engine: a
    /// Cranelift build with debug info (`-g`, cargo's dev profile) has Cranelift's DWARF
    /// producer, an LLVM build has none (the standard library is LLVM's either way).
    fn assert_generated(self, path: &Path) {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let cranelift = rivet_tests::count_occurrences(&bytes, CRANELIFT_PRODUCER) > 0;
        assert_eq!(
            cranelift,
            self == Engine::Cranelift,
            "{}: the code generator must be {self:?}, but Cranelift's DWARF producer (`rustc version ...{}...`) is {}",
            path.display(),
            String::from_utf8_lossy(CRANELIFT_PRODUCER),
            if cranelift { "there" } else { "missing" }
        );
    }
}

/// The Cranelift backend of the pinned toolchain (component
/// `rustc-codegen-cranelift-preview`), if installed.
fn cranelift_backend() -> Option<&'static Path> {
    static BACKEND: OnceLock<Option<PathBuf>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let out = run_command(
                toolchain_command("rustc").arg("--print").arg("sysroot"),
                TOOL_TIMEOUT,
                &std::env::temp_dir(),
            );
            assert!(out.success(), "rustc --print sysroot failed: {out}");
            let dir = Path::new(out.stdout.trim()).join("lib/rustlib/x86_64-unknown-linux-gnu/codegen-backends");
            std::fs::read_dir(dir)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("librustc_codegen_cranelift-")))
        })
        .as_deref()
}

/// A test's temp dir with the backend installed, for a test of `engine`; `None` (after
/// printing `SKIP: ...`) for Cranelift when the toolchain does not have it.
fn engine_test(name: &str, engine: Engine) -> Option<Test> {
    let t = backend_test(name);
    if engine == Engine::Cranelift && cranelift_backend().is_none() {
        println!("SKIP: no Cranelift backend in the toolchain {} ({name})", toolchain());
        return None;
    }
    Some(t)
}

/// How a world builds: `test/` with rivet's backend, `ref/` with stock rustc.
fn world_name(world: World) -> &'static str {
    match world {
        World::Test => "rivet's backend",
        World::Ref => "stock rustc",
    }
}

/// `rustc [-Zcodegen-backend=rivet] args...` in `dir` (relative) of a world's directory (the
/// backend in `test/`).
fn rustc(t: &Test, world: World, dir: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = toolchain_command("rustc");
    if world == World::Test {
        cmd.arg("-Zcodegen-backend=rivet");
    }
    cmd.args(args).envs(env.iter().copied()).current_dir(t.world_dir(world).join(dir));
    run_command(&mut cmd, TOOL_TIMEOUT, t.root())
}

/// [`rustc`] in both worlds; both must succeed. With the backend, `RIVET_VERBOSE=1` and the
/// engine's environment are set, and it must report the in-process link of `crate_name` into
/// `output`.
fn rustc_both(t: &Test, engine: Engine, args: &[&str], crate_name: &str, output: &str) -> [Output; 2] {
    WORLDS.map(|world| {
        let mut env = vec![];
        if world == World::Test {
            env.push(("RIVET_VERBOSE", "1"));
            env.extend_from_slice(engine.env());
        }
        let out = rustc(t, world, ".", args, &env);
        assert!(out.success(), "rustc with {} failed: {out}", world_name(world));
        if world == World::Test {
            let report = format!("rivet: linked `{crate_name}` in-process ({output}), ");
            assert!(out.stderr.contains(&report), "no report of the in-process link ({report}...): {out}");
        }
        out
    })
}

/// Copies a fixture file or directory into a world's directory; returns the copy's path.
fn copy_fixture(t: &Test, world: World, fixture: &str, to: &str) -> PathBuf {
    let dest = t.world_dir(world).join(to);
    copy_tree(&fixtures_dir().join(fixture), &dest);
    dest
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            // Leftovers of someone building the fixture in place.
            if name == "target" || name == "Cargo.lock" {
                continue;
            }
            copy_tree(&entry.path(), &to.join(name));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {} -> {}: {e}", from.display(), to.display()));
    }
}

/// Copies a cargo fixture into `<world>/<fixture>`, with the README's `.cargo/config.toml`
/// in the backend's world; returns the project's directory.
fn cargo_project(t: &Test, world: World, fixture: &str) -> PathBuf {
    let dir = copy_fixture(t, world, fixture, fixture);
    if world == World::Test {
        std::fs::create_dir_all(dir.join(".cargo")).unwrap();
        std::fs::write(dir.join(".cargo/config.toml"), CARGO_RECIPE).unwrap();
    }
    dir
}

/// A world's cargo target dir (`<world>/target`, one per world).
fn target_dir(t: &Test, world: World) -> PathBuf {
    t.world_dir(world).join("target")
}

/// `cargo args...` in a project of a world, with the world's target dir; `RIVET_VERBOSE=1`
/// and the engine's environment with the backend. Asserts success.
fn cargo(t: &Test, world: World, engine: Engine, project: &Path, args: &[&str]) -> Output {
    cargo_with(t, world, engine, project, args, &[])
}

/// `cargo` with `env` set as well, in both worlds.
fn cargo_with(t: &Test, world: World, engine: Engine, project: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = toolchain_command("cargo");
    cmd.args(args).env("CARGO_TARGET_DIR", target_dir(t, world)).envs(env.iter().copied()).current_dir(project);
    if world == World::Test {
        cmd.env("RIVET_VERBOSE", "1").envs(engine.env().iter().copied());
    }
    let out = run_command(&mut cmd, CARGO_TIMEOUT, t.root());
    assert!(out.success(), "cargo with {} failed: {out}", world_name(world));
    out
}

fn has_rivet_comment(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    rivet_tests::count_occurrences(&bytes, RIVET_COMMENT) > 0
}

/// Asserts that the executable at `path` was linked by rivet (its `.comment`).
fn assert_linked_by_rivet(t: &Test, path: &Path) {
    let comment = t.tool("readelf", &["-p", ".comment", &rivet_tests::path_str(path)]);
    assert!(has_rivet_comment(path), "{} was not linked by rivet; its .comment:\n{comment}", path.display());
}

/// Asserts that the stock build at `path` was not linked by rivet (so that the check above
/// means something).
fn assert_not_linked_by_rivet(path: &Path) {
    assert!(!has_rivet_comment(path), "{} (stock rustc) says it was linked by rivet", path.display());
}

/// Files and directories under `dir` that a link should not leave: codegen's `*.rcgu.o`
/// objects and the link's temporary directories (rivet's `rivet<pid>-<hex>`, rustc's
/// `rustcXXXXXX`).
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let is_dir = entry.file_type().unwrap().is_dir();
        if name.ends_with(".rcgu.o") || (is_dir && (is_rivet_tmpdir_name(&name) || is_rustc_tmpdir_name(&name))) {
            found.push(path);
        } else if is_dir {
            found.extend(leftovers(&path));
        }
    }
    found
}

/// `rivet<pid>-<hex>`.
fn is_rivet_tmpdir_name(name: &str) -> bool {
    let Some((pid, stamp)) = name.strip_prefix("rivet").and_then(|rest| rest.split_once('-')) else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !stamp.is_empty()
        && stamp.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `rustcXXXXXX` (six random alphanumerics).
fn is_rustc_tmpdir_name(name: &str) -> bool {
    name.strip_prefix("rustc").is_some_and(|rest| rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Names in a directory, sorted.
fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Copies a file (e.g. a binary from a target dir) into a world's directory as `to`.
fn copy_into_world(t: &Test, world: World, from: &Path, to: &str) {
    let dest = t.world_dir(world).join(to);
    std::fs::copy(from, &dest).unwrap_or_else(|e| panic!("copy {} -> {}: {e}", from.display(), dest.display()));
}

/// Line number (1-based) of the line of a fixture holding `marker`.
fn line_of(fixture: &str, marker: &str) -> usize {
    let text = std::fs::read_to_string(fixtures_dir().join(fixture)).unwrap();
    text.lines().position(|l| l.contains(marker)).unwrap_or_else(|| panic!("{marker:?} not in {fixture}")) + 1
}

/// Runs a program (its path relative to the world's directory) in both worlds; asserts that
/// exit status and stdout agree, and exit 0 and stdout == `expected`.
fn run_both_expect(t: &Test, prog: &str, args: &[&str], expected: &str) {
    let [test, reference] = WORLDS.map(|world| {
        let path = rivet_tests::path_str(&t.world_dir(world).join(prog));
        t.run_in(world, &path, args, &[])
    });
    assert!(
        test.code == reference.code && test.signal == reference.signal && test.stdout == reference.stdout,
        "DIFFERENTIAL MISMATCH between rivet's backend and stock rustc:\n=== rivet ===\n{test}\n=== stock ===\n{reference}"
    );
    rivet_tests::assert_stdout(&test, 0, expected);
}

const HELLO_OUTPUT: &str = "hello, rivet, from a program rustc linked in-process\n";

/// `rustc -Zcodegen-backend=rivet <flags> hello.rs` in the source's directory, with the
/// engine's environment. The program runs; rustc prints nothing (stock rustc prints only its
/// note that no edition was given, which any `-Z` option silences); only the program is
/// left next to the source, no object and no temporary directory.
fn hello(t: &Test, engine: Engine, flags: &[&str]) {
    let [test, _] = WORLDS.map(|world| {
        copy_fixture(t, world, "hello.rs", "hello/hello.rs");
        let env = if world == World::Test { engine.env() } else { &[] };
        let out = rustc(t, world, "hello", &[flags, &["hello.rs"]].concat(), env);
        assert!(out.success(), "rustc with {} failed: {out}", world_name(world));
        out
    });
    assert_eq!((test.stdout.as_str(), test.stderr.as_str()), ("", ""), "rustc with the backend printed: {test}");
    run_both_expect(t, "hello/hello", &[], HELLO_OUTPUT);
    run_both_expect(t, "hello/hello", &["world"], "hello, world, from a program rustc linked in-process\n");
    assert_linked_by_rivet(t, &t.out("hello/hello"));
    assert_not_linked_by_rivet(&t.out_in(World::Ref, "hello/hello"));
    engine.assert_generated(&t.out("hello/hello"));
    assert_eq!(dir_listing(&t.out("hello")), ["hello", "hello.rs"], "the link left files behind");
}

/// The README's recipe, word for word: `rustc -Zcodegen-backend=rivet hello.rs`.
#[test]
fn hello_by_name() {
    hello(&backend_test("hello_by_name"), Engine::Llvm, &[]);
}

/// `RIVET_ENGINE=cranelift rustc -Zcodegen-backend=rivet -g hello.rs` (`-g` so that the
/// program's debug info names the code generator): the same as with LLVM.
#[test]
fn hello_cranelift() {
    let Some(t) = engine_test("hello_cranelift", Engine::Cranelift) else { return };
    hello(&t, Engine::Cranelift, &["-g"]);
}

const MANY_CGUS_ARGS: &[&str] =
    &["--edition=2024", "--crate-name", "many_cgus", "-C", "codegen-units=16", "many_cgus/main.rs", "-o", "many"];

const MANY_CGUS_OUTPUT: &str = r#"circle    area    7.069 perimeter   9.425
rectangle area    7.000 perimeter  11.000
triangle  area    6.000 perimeter  12.000
total area: 20.069
primes below 60: [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59]
fib(1..=12): [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]
collatz steps of 27: 111
gcd(1071, 462) = 21
sum of squares: 30
sum of cubes: 36
rot13: Yvaxre va-cebprff
words: [("brown", 5), ("dog", 3), ("fox", 3), ("jumps", 5), ("lazy", 4), ("over", 4), ("quick", 5), ("the", 3)]
palindromes: ["level", "racecar", "noon"]
checksum: f55aef77
plugin doubler: 14
plugin squarer: 49
plugin fibonacci: 13
calls counted across units: 6
"#;

/// The 16-unit program built with `flags` added, the backend with `engine`: rivet's report
/// counts 17 objects (16 units and the allocator shim) and the program prints what stock
/// rustc's prints.
fn many_cgus(t: &Test, engine: Engine, flags: &[&str]) {
    for world in WORLDS {
        copy_fixture(t, world, "many_cgus", "many_cgus");
    }
    let [test, _] = rustc_both(t, engine, &[MANY_CGUS_ARGS, flags].concat(), "many_cgus", "many");
    assert!(test.stderr.contains(" of 17 objects came at the end)"), "17 objects in the link expected: {test}");
    run_both_expect(t, "many", &[], MANY_CGUS_OUTPUT);
    assert_linked_by_rivet(t, &t.out("many"));
    assert_not_linked_by_rivet(&t.out_in(World::Ref, "many"));
    engine.assert_generated(&t.out("many"));
    assert_eq!(leftovers(&t.world_dir(World::Test)), Vec::<PathBuf>::new(), "the link left files behind");
}

/// A program whose functions, statics and vtables are spread over modules, built with
/// `-C codegen-units=16`: the objects reach the link as LLVM writes them, in any order, and
/// the program prints what stock rustc's prints. (`link_args_match_rustc` checks that there
/// are 16 objects on the command line.)
#[test]
fn many_codegen_units() {
    many_cgus(&backend_test("many_codegen_units"), Engine::Llvm, &[]);
}

/// The 16-unit program (with `-g`) generated by Cranelift, whose objects the backend follows
/// as Cranelift writes them: the same as with LLVM.
#[test]
fn many_codegen_units_cranelift() {
    let Some(t) = engine_test("many_codegen_units_cranelift", Engine::Cranelift) else { return };
    many_cgus(&t, Engine::Cranelift, &["-g"]);
}

const WORKSPACE_OUTPUT: &str = "ws-lib: fibonacci(10) = 55, collatz(27) = 111\n\
ws-derive: struct Point { x, y, label }\n\
ws-derive: struct Unit\n\
ws-native: mix(5) = 16, table sum = 41\n\
ws-native: built by build.rs with cc and ar\n";

/// The output paths of the in-process links that `RIVET_VERBOSE=1` reported for `crate_name`.
fn reported_links(stderr: &str, crate_name: &str) -> Vec<PathBuf> {
    let prefix = format!("rivet: linked `{crate_name}` in-process (");
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&prefix)?;
            let (path, _) = rest.split_once("), ")?;
            Some(PathBuf::from(path))
        })
        .collect()
}

/// The workspace in `tests/backend/workspace` (a bin using a library, a derive macro written
/// without syn, and a crate whose build script compiles C with `cc -c` and `ar rcs`) built
/// with the `.cargo/config.toml` recipe and with stock cargo: the bins print the same. The
/// bin, the build script and the proc-macro (which rustc then loads) are linked in-process.
#[test]
fn cargo_workspace() {
    workspace_build(&backend_test("cargo_workspace"), Engine::Llvm);
}

/// The workspace built with the recipe and `RIVET_ENGINE=cranelift`: the same as with LLVM;
/// the bin and the proc-macro are Cranelift's code (the build script has no debug info to
/// tell).
#[test]
fn cargo_workspace_cranelift() {
    let Some(t) = engine_test("cargo_workspace_cranelift", Engine::Cranelift) else { return };
    workspace_build(&t, Engine::Cranelift);
}

fn workspace_build(t: &Test, engine: Engine) {
    let builds = WORLDS.map(|world| {
        let project = cargo_project(t, world, "workspace");
        let out = cargo(t, world, engine, &project, &["build"]);
        copy_into_world(t, world, &target_dir(t, world).join("debug/app"), "app");
        out
    });
    run_both_expect(t, "app", &[], WORKSPACE_OUTPUT);
    assert_linked_by_rivet(t, &t.out("app"));
    assert_not_linked_by_rivet(&t.out_in(World::Ref, "app"));
    engine.assert_generated(&t.out("app"));

    let stderr = &builds[0].stderr;
    let app = reported_links(stderr, "app");
    assert_eq!(app.len(), 1, "one in-process link of the bin expected: {}", builds[0]);
    assert_linked_by_rivet(t, &app[0]);
    let build_scripts = reported_links(stderr, "build_script_build");
    assert!(
        build_scripts.len() == 1 && build_scripts[0].to_string_lossy().contains("/ws-native/"),
        "ws-native's build script must be linked in-process: {}",
        builds[0]
    );
    assert_linked_by_rivet(t, &build_scripts[0]);
    // The proc-macro is a shared object that rustc dlopens to expand the derive in app.
    let proc_macros = reported_links(stderr, "ws_derive");
    assert!(
        proc_macros.len() == 1 && proc_macros[0].to_string_lossy().ends_with(".so"),
        "ws-derive (proc-macro) must be linked in-process: {}",
        builds[0]
    );
    assert_linked_by_rivet(t, &proc_macros[0]);
    engine.assert_generated(&proc_macros[0]);
    assert_eq!(leftovers(&target_dir(t, World::Test)), Vec::<PathBuf>::new(), "the links left files behind");
}

/// Edits across a workspace, each built as with stock cargo and printing what the stock build
/// prints. An edit of a library crate changes one member of its rlib: the first such edit
/// links in full (the rlib had not changed before); from then on the rlib's loaded members
/// are kept, and the next edit that keeps the changed unit's shape is patched into the
/// program in place. An edit of a `println!` literal in the bin crate, keeping its length,
/// rewrites one merged string in place. An edit of ws-lib that changes the size of
/// `collatz_steps`' code (a parity test with one more operation) is patched too, its unwind
/// record rewritten.
#[test]
fn workspace_edits_are_patched_in_place() {
    let t = backend_test("workspace_edits_are_patched_in_place");
    let projects = WORLDS.map(|world| cargo_project(&t, world, "workspace"));
    // fibonacci's second seed (fibonacci(10) is 55 times it), how app's println! spells it,
    // and collatz_steps' parity test.
    let steps = [
        ("the first build", 1, "fibonacci", "n % 2 == 0", "full link: no state from an earlier link"),
        ("the first edit of ws-lib", 2, "fibonacci", "n % 2 == 0", "an archive that had not changed before"),
        ("the second edit of ws-lib", 3, "fibonacci", "n % 2 == 0", "patched in place"),
        ("the edit of app's println!", 3, "Fibonacci", "n % 2 == 0", " 1 merged strings and constants rewritten"),
        ("the edit of collatz_steps", 3, "Fibonacci", "(n^0)%2==0", " 1 unwind records rewritten"),
    ];
    for (what, seed, spelled, parity, outcome) in steps {
        let mut builds = Vec::new();
        for (world, project) in WORLDS.into_iter().zip(&projects) {
            let replace = |file: &str, pattern: &str, at: usize, with: &str| {
                let path = project.join(file);
                let text = std::fs::read_to_string(&path).unwrap();
                let start = text.find(pattern).unwrap_or_else(|| panic!("{pattern:?} in {file}")) + at;
                let edited = format!("{}{with}{}", &text[..start], &text[start + with.len()..]);
                if edited != text {
                    std::fs::write(&path, edited).unwrap();
                }
            };
            let seeds = "let (mut a, mut b) = (0u64, ";
            replace("ws-lib/src/lib.rs", seeds, seeds.len(), &seed.to_string());
            replace("app/src/main.rs", "ws-lib: ", 8, &spelled[..1]);
            replace("ws-lib/src/lib.rs", "n = if ", 7, parity);
            builds.push(cargo_with(&t, world, Engine::Llvm, project, &["build"], &[("CARGO_INCREMENTAL", "1")]));
        }
        let [test, reference] = WORLDS
            .map(|world| t.run_in(world, &rivet_tests::path_str(&target_dir(&t, world).join("debug/app")), &[], &[]));
        let shown = format!("{spelled}(10) = {}, ", 55 * seed);
        assert!(reference.code == Some(0) && reference.stdout.contains(&shown), "stock build {what}: {reference}");
        assert!(
            test.code == Some(0) && test.stdout == reference.stdout,
            "the build with rivet's backend {what} prints what the stock build does not:\n{test}\n{reference}"
        );
        let report = builds[0].stderr.lines().find(|l| l.contains("rivet: linked `app`"));
        assert!(report.is_some_and(|l| l.contains(outcome)), "{what}: the link should say {outcome:?}: {}", builds[0]);
    }
    assert_eq!(leftovers(&target_dir(&t, World::Test)), Vec::<PathBuf>::new(), "the links left files behind");
}

/// What `cargo test` in the workspace runs, in cargo's order: app's unit test, ws-derive's
/// (none), ws-lib's unit and integration tests, ws-native's unit test, then the doctests.
const WORKSPACE_TESTS: &str = "running 1 test
test tests::derive_names_fields ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 0 tests
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 1 test
test tests::fibonacci_grows ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 1 test
test collatz_of_27 ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 1 test
test tests::c_functions_answer ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 0 tests
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 1 test
test ws-lib/src/lib.rs - fibonacci ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
running 0 tests
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out
";

/// The test executables cargo ran: the paths in its `Running <what> (<path>)` lines.
fn harnesses(project: &Path, stderr: &str) -> Vec<PathBuf> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("Running ")?;
            let path = rest.strip_suffix(')')?.rsplit_once(" (")?.1;
            Some(project.join(path))
        })
        .collect()
}

/// `cargo test` in the workspace with the recipe: the unit tests, the integration test and
/// the doctest pass, as with stock cargo, and the test harnesses are linked in-process. The
/// exception is ws-derive's harness: cargo builds a proc-macro crate's tests with
/// `-C prefer-dynamic` (libstd as a shared library), which rivet leaves to rustc.
#[test]
fn cargo_test_with_doctests() {
    let t = backend_test("cargo_test_with_doctests");
    let [test, reference] = WORLDS.map(|world| {
        let project = cargo_project(&t, world, "workspace");
        let out = cargo(&t, world, Engine::Llvm, &project, &["test", "--", "--test-threads=1"]);
        (project, out)
    });
    assert_eq!(
        cargo_test_summary(&reference.1.stdout),
        WORKSPACE_TESTS,
        "stock cargo test differs from the expectation"
    );
    assert_eq!(cargo_test_summary(&test.1.stdout), WORKSPACE_TESTS, "cargo test with the backend: {}", test.1);

    let (project, out) = &test;
    let harnesses = harnesses(project, &out.stderr);
    assert_eq!(harnesses.len(), 5, "cargo ran 5 test executables: {out}");
    for harness in &harnesses {
        let name = harness.file_name().unwrap().to_string_lossy().into_owned();
        let crate_name = name.rsplit_once('-').map_or(name.as_str(), |(c, _)| c).to_string();
        if crate_name == "ws_derive" {
            assert!(
                out.stderr.contains("rivet: `ws_derive` is linked by rustc: a Rust crate is linked dynamically"),
                "ws-derive's harness (prefer-dynamic) is left to rustc: {out}"
            );
            assert_not_linked_by_rivet(harness);
            continue;
        }
        assert!(
            reported_links(&out.stderr, &crate_name).contains(harness),
            "no in-process link of {} reported: {out}",
            harness.display()
        );
        assert_linked_by_rivet(&t, harness);
    }
    assert_eq!(leftovers(&target_dir(&t, World::Test)), Vec::<PathBuf>::new(), "the links left files behind");
}

/// Frames of a `RUST_BACKTRACE=1` backtrace: (function, `at` location if any).
fn backtrace_frames(stderr: &str) -> Vec<(String, Option<String>)> {
    let mut frames: Vec<(String, Option<String>)> = Vec::new();
    for line in stderr.lines() {
        let l = line.trim();
        if let Some(at) = l.strip_prefix("at ") {
            if let Some(last) = frames.last_mut() {
                last.1 = Some(at.to_string());
            }
        } else if let Some((num, name)) = l.split_once(": ")
            && num.parse::<u32>().is_ok()
        {
            frames.push((name.to_string(), None));
        }
    }
    frames
}

/// The `.debug_*` sections of a world's output that appear more than once. DWARF readers
/// take the first section of a name, so there must be one of each, as in stock's output.
fn repeated_debug_sections(t: &Test, world: World, file: &str) -> Vec<String> {
    let mut names: Vec<String> = rivet_tests::section_names_of(&t.tool_in(world, "readelf", &["-S", "-W", file]))
        .into_iter()
        .filter(|n| n.starts_with(".debug"))
        .collect();
    names.sort();
    let mut repeated: Vec<String> = names.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0].clone()).collect();
    repeated.dedup();
    repeated
}

/// A panic in a nested function with `RUST_BACKTRACE=1`: the message and the backtrace's
/// frames with `main.rs:<line>` of each function, and the same function names as the stock
/// build's backtrace, at the same locations (the standard library's frames too, whose paths
/// start with the compilation directory in the debug info, a `.debug_str` string). The
/// output has one section of each `.debug_*` name, as stock's.
#[test]
fn panic_backtrace() {
    panic_backtrace_of(&backend_test("panic_backtrace"), Engine::Llvm);
}

/// The panic's backtrace with the program generated by Cranelift: the same as stock
/// rustc's.
#[test]
fn panic_backtrace_cranelift() {
    let Some(t) = engine_test("panic_backtrace_cranelift", Engine::Cranelift) else { return };
    panic_backtrace_of(&t, Engine::Cranelift);
}

fn panic_backtrace_of(t: &Test, engine: Engine) {
    for world in WORLDS {
        copy_fixture(t, world, "panic/main.rs", "main.rs");
    }
    rustc_both(
        t,
        engine,
        &["--edition=2024", "-g", "--crate-name", "panic_fixture", "main.rs", "-o", "panicking"],
        "panic_fixture",
        "panicking",
    );
    assert_linked_by_rivet(t, &t.out("panicking"));
    engine.assert_generated(&t.out("panicking"));
    assert_eq!(repeated_debug_sections(t, World::Ref, "panicking"), Vec::<String>::new(), "stock's output");
    let repeated = repeated_debug_sections(t, World::Test, "panicking");
    assert!(
        repeated.is_empty(),
        "rivet's output has more than one section named {repeated:?}; DWARF readers use the first:\n{}",
        t.tool("readelf", &["-S", "-W", "panicking"])
    );

    let env = [("RUST_BACKTRACE", "1")];
    let [test, reference] = WORLDS.map(|world| t.run_in(world, "panicking", &[], &env));
    assert!(
        test.code == Some(101) && test.stdout == "before the panic\n",
        "the program must print one line and panic (exit 101): {test}"
    );
    assert_eq!((test.code, &test.stdout), (reference.code, &reference.stdout), "stock: {reference}");
    let panic_line = line_of("panic/main.rs", "LINE innermost_frame");
    let message = format!("panicked at main.rs:{panic_line}:9:\nnested panic at depth 2\n");
    assert!(test.stderr.contains(&message), "expected {message:?} in: {test}");

    let frames = backtrace_frames(&test.stderr);
    let reference_frames = backtrace_frames(&reference.stderr);
    let names: Vec<&String> = frames.iter().map(|(name, _)| name).collect();
    let reference_names: Vec<&String> = reference_frames.iter().map(|(name, _)| name).collect();
    assert_eq!(names, reference_names, "frames differ from stock rustc's:\n{test}\n=== stock ===\n{reference}");
    let mut position = 0;
    for function in ["innermost_frame", "middle_frame", "outer_frame", "main"] {
        let name = format!("panic_fixture::{function}");
        let found = frames[position..].iter().position(|(n, _)| *n == name);
        let Some(offset) = found else { panic!("no frame {name} (after frame {position}) in: {test}") };
        position += offset;
        let line = line_of("panic/main.rs", &format!("LINE {function}"));
        let at = frames[position].1.as_deref().unwrap_or("");
        assert!(
            at.starts_with("./main.rs:") && at.contains(&format!("main.rs:{line}:")),
            "frame {name} must be at main.rs:{line}, is at {at:?}: {test}"
        );
        position += 1;
    }
    for (i, (frame, reference_frame)) in frames.iter().zip(&reference_frames).enumerate() {
        assert_eq!(
            frame.1, reference_frame.1,
            "frame {i} ({}) is not where stock rustc's is:\n{test}\n=== stock ===\n{reference}",
            frame.0
        );
    }
}

/// Runs gdb in batch mode on a world's program: a breakpoint, `run`, then `cmds`. Returns the
/// values of the `$N = value` lines and the whole output.
fn gdb_values(t: &Test, world: World, prog: &str, breakpoint: &str, cmds: &[&str]) -> (Vec<String>, Output) {
    let mut cmd = Command::new("gdb");
    cmd.args(["-nx", "-batch", "-iex", "set debuginfod enabled off", "-iex", "set pagination off"]).args([
        "-ex",
        &format!("break {breakpoint}"),
        "-ex",
        "run",
    ]);
    for c in cmds {
        cmd.args(["-ex", c]);
    }
    cmd.arg(t.out_in(world, prog)).current_dir(t.world_dir(world));
    let out = run_command(&mut cmd, Duration::from_secs(60), t.root());
    let values = out
        .stdout
        .lines()
        .filter_map(|l| {
            let (num, value) = l.trim().strip_prefix('$')?.split_once(" = ")?;
            num.parse::<u32>().ok()?;
            Some(value.to_string())
        })
        .collect();
    (values, out)
}

/// gdb on a `-g` program linked in-process: it stops at a line of a function (the stop names
/// the function and its file:line) and prints its locals, as with the stock build.
#[test]
fn gdb_breaks_and_prints_local() {
    let t = backend_test("gdb_breaks_and_prints_local");
    if !t.require_gdb() {
        return;
    }
    for world in WORLDS {
        copy_fixture(&t, world, "gdb/main.rs", "main.rs");
    }
    let args = ["--edition=2024", "-g", "-C", "opt-level=0", "--crate-name", "gdb_fixture", "main.rs", "-o", "prog"];
    rustc_both(&t, Engine::Llvm, &args, "gdb_fixture", "prog");
    assert_linked_by_rivet(&t, &t.out("prog"));
    run_both_expect(&t, "prog", &[], "weighted sum: 421\n");

    let line = line_of("gdb/main.rs", "BREAK HERE");
    let breakpoint = format!("main.rs:{line}");
    let cmds = ["print total", "print scaled", "print items.length", "print items[1]"];
    let expected = ["42", "420", "3", "gdb_fixture::Item {weight: 5, count: 6}"];
    let (values, out) = gdb_values(&t, World::Test, "prog", &breakpoint, &cmds);
    assert_eq!(values, expected, "gdb on the program linked by rivet: {out}");
    let stop = "Breakpoint 1, gdb_fixture::weighted_sum (";
    assert!(out.stdout.contains(stop) && out.stdout.contains(&format!("at main.rs:{line}")), "{out}");
    let (reference_values, reference) = gdb_values(&t, World::Ref, "prog", &breakpoint, &cmds);
    assert_eq!(values, reference_values, "gdb answers differently on the stock build: {reference}");
}

/// The literal in `word` of tests/backend/incremental/src/main.rs.
fn set_word(project: &Path, word: &str) {
    let path = project.join("src/main.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    let pattern = "fn word() -> &'static str {\n    \"";
    let start = text.find(pattern).expect("word() in the fixture") + pattern.len();
    let end = start + text[start..].find('"').unwrap();
    std::fs::write(&path, format!("{}{word}{}", &text[..start], &text[end..])).unwrap();
}

/// An edit of tests/backend/incremental/src/main.rs other than the word's.
#[derive(Clone, Copy)]
enum CodeEdit {
    /// A function added (`main` prints what it returns instead of `word()`), or taken out
    /// again: the code unit gains sections (the function's code, its literal).
    AddedFunction(bool),
    /// `main` calls `other::letters` (a function of another code unit, local to it until then)
    /// and shows a letter less (`3 ^ 1`: no overflow check, no call to `wrapping_add`,
    /// which Cranelift would add as a function of `main`'s unit), or no longer: a call to a
    /// function that `main`'s unit did not call before.
    LettersCall(bool),
    /// `main` prints a line more before its own (`print!("[{filler} numbers, {}]", word())`),
    /// or no longer: a format string added to the unit's merged strings, which renumbers the
    /// unit's anonymous constants after it; its `fmt::Arguments::new` instance (named after
    /// the template's length) is the one `other::suffix`'s format string already calls.
    NumbersLine(bool),
    /// `main` computes the word's length as `word().len() + (filler & 1)` (80 filler functions
    /// count), or no longer: a checked addition, whose panic location is an anonymous
    /// constant the unit gains, with the address of the file's name (the program has the
    /// panic function already: `helper` adds too).
    Arithmetic(bool),
    /// `other::letters` returns `n + (n & 0)`, or `n` again: a checked addition in `other`'s
    /// code unit, whose constants with addresses are all anonymous (`main`'s unit holds
    /// `FILLER`, a global).
    OtherArithmetic(bool),
}

impl CodeEdit {
    fn apply(self, project: &Path) {
        let file = match self {
            CodeEdit::OtherArithmetic(_) => "src/other.rs",
            _ => "src/main.rs",
        };
        let path = project.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let (plain, edited, appended) = match self {
            CodeEdit::AddedFunction(_) => (
                "functions]\", word(),",
                "functions]\", added(),",
                "\n#[inline(never)]\nfn added() -> &'static str {\n    \"added\"\n}\n",
            ),
            CodeEdit::LettersCall(_) => {
                ("other::suffix(word().len())", "other::suffix(word().len() ^ other::letters(1))", "")
            }
            CodeEdit::Arithmetic(_) => {
                ("other::suffix(word().len())", "other::suffix(word().len() + (filler & 1))", "")
            }
            CodeEdit::OtherArithmetic(_) => ("usize {\n    n\n}", "usize {\n    n + (n & 0)\n}", ""),
            CodeEdit::NumbersLine(_) => (
                "    println!(\"{} {} [{filler}",
                "    print!(\"[{filler} numbers, {}]\", word());\n    println!(\"{} {} [{filler}",
                "",
            ),
        };
        let on = matches!(
            self,
            CodeEdit::AddedFunction(true)
                | CodeEdit::LettersCall(true)
                | CodeEdit::NumbersLine(true)
                | CodeEdit::Arithmetic(true)
                | CodeEdit::OtherArithmetic(true)
        );
        let result = match on {
            true => text.replacen(plain, edited, 1) + appended,
            false => text.replacen(edited, plain, 1).replacen(appended, "", 1),
        };
        assert!(result != text && text.contains(if on { plain } else { edited }), "main() in the fixture");
        std::fs::write(&path, result).unwrap();
    }
}

/// A cargo project (dev profile: incremental) with the recipe, rebuilt after each edit of a
/// string literal: "one", "two", "three", "one" again, then a function added and taken out,
/// then a call to another unit's function added and taken out, then a line printed before
/// `main`'s and taken out (a format string), then a checked addition in `main` and in
/// `other` and taken out (a panic location), then no change, then the source touched. Each run prints the literal of the source it was
/// built from, as with stock cargo, and each binary is linked in-process. The link is incremental (rustc compiles
/// incrementally), and each edit is patched into the output in place: the edit to "two", of
/// the same length, where the literal was; "three", longer, moves it to the overflow segment
/// a relink appends; "one" again writes it where "three" went (Cranelift keeps a unit's
/// literals in one `.rodata`, each under a temporary symbol, and loads them through the GOT:
/// the section moves, the symbols within it, and the GOT slots follow); the unchanged
/// rebuild compiles nothing; after the touch rustc compiles the crate
/// again, reusing every unit, and the link finds its output up to date. A patch leaves the
/// inputs known at the start (the rlibs, the standard library) unparsed. The added function,
/// a section and a local symbol of its own, goes to the overflow segment, its unwind record
/// and symbol to the room `.eh_frame`, `.eh_frame_hdr` and `.symtab` keep (Cranelift's
/// sections of functions all have one name, and are told apart by their functions).
/// The new call is patched: its target is found in
/// the output's symbol table, and `other`'s unit, which rustc changes to make `letters`
/// global (and local again when the call goes), keeps its shape. So is the new line: its
/// template goes to the overflow segment, its call to the `fmt::Arguments::new` instance the
/// output has for `other`'s format string of the same length.
#[test]
fn incremental_rebuild_sees_the_edit() {
    edit_loop(&backend_test("incremental_rebuild_sees_the_edit"), Engine::Llvm);
}

/// The edit-rebuild loop with `RIVET_ENGINE=cranelift` (Cranelift's incremental cache): each
/// run prints the literal of its source, as with stock cargo.
#[test]
fn incremental_rebuild_cranelift() {
    let Some(t) = engine_test("incremental_rebuild_cranelift", Engine::Cranelift) else { return };
    edit_loop(&t, Engine::Cranelift);
}

fn edit_loop(t: &Test, engine: Engine) {
    let projects = WORLDS.map(|world| cargo_project(t, world, "incremental"));
    // What each build does: an edit of the word or of the code, nothing, or a touch of the
    // source; what the program then prints; and what the incremental link reports, if it
    // links.
    let (patched, unparsed) = ("patched in place", "the inputs known at the start left unparsed");
    // A function added to `main`'s unit (a section and a local symbol of its own) goes to the
    // overflow segment, and out again. Cranelift names every function's section
    // `.text.subsection`: the sections are paired by the function at their start.
    let (function_added, function_taken_out) = (patched, patched);
    // Cranelift calls another unit's function through a GOT slot (`R_X86_64_GOTPCREL`, which
    // a link cannot relax), and loads its data so: the output has no slot for `letters`,
    // which only its own unit called, nor for the data the new code loads; the relink fills
    // slots of the room every executable's `.got` ends with.
    let new_call = patched;
    // Cranelift puts the new template in the unit's one `.rodata`, which grows and moves,
    // under a temporary symbol of its own, loaded through a GOT slot from the room.
    let new_line = patched;
    // Cranelift keeps a unit's constants with addresses in one `.data.rel.ro`, which grows,
    // or shrinks. `main`'s holds `FILLER` too, a global that other units could refer to: it
    // cannot move. `other`'s unit has none until the edit: its `.data.rel.ro`, labelled by
    // temporaries alone, is added to the writable overflow segment, its address with a
    // relative relocation from the room, and taken out again (the code and `.rodata` are
    // resized).
    let (added, taken_out) = match engine {
        Engine::Llvm => ("1 added", patched),
        Engine::Cranelift => ("section .data.rel.ro changed its size", "section .data.rel.ro changed its size"),
    };
    let (other_added, other_taken_out) = match engine {
        Engine::Llvm => ("1 added", patched),
        Engine::Cranelift => ("1 added", "(3 resized, 0 moved)"),
    };
    let steps = [
        (
            "the first build",
            Some("one"),
            None,
            "one (3 letters, abc)",
            &["full link: no state from an earlier link"][..],
        ),
        ("after the edit to \"two\"", Some("two"), None, "two (3 letters, abc)", &[patched, unparsed]),
        ("after the edit to \"three\"", Some("three"), None, "three (5 letters, abcde)", &["(1 resized, 1 moved)"]),
        ("after the edit back to \"one\"", Some("one"), None, "one (3 letters, abc)", &["(1 resized, 0 moved)"]),
        (
            "after a function was added",
            None,
            Some(CodeEdit::AddedFunction(true)),
            "added (3 letters, abc)",
            &[function_added],
        ),
        (
            "after it was taken out",
            None,
            Some(CodeEdit::AddedFunction(false)),
            "one (3 letters, abc)",
            &[function_taken_out],
        ),
        ("after a call to `letters`", None, Some(CodeEdit::LettersCall(true)), "one (2 letters, ab)", &[new_call]),
        ("after it was taken out", None, Some(CodeEdit::LettersCall(false)), "one (3 letters, abc)", &[new_call]),
        (
            "after a line was printed before",
            None,
            Some(CodeEdit::NumbersLine(true)),
            "[80 numbers, one]one (3 letters, abc)",
            &[new_line],
        ),
        ("after it was taken out", None, Some(CodeEdit::NumbersLine(false)), "one (3 letters, abc)", &[new_line]),
        ("after checked arithmetic", None, Some(CodeEdit::Arithmetic(true)), "one (3 letters, abc)", &[added]),
        ("after it was taken out", None, Some(CodeEdit::Arithmetic(false)), "one (3 letters, abc)", &[taken_out]),
        (
            "after checked arithmetic in `other`",
            None,
            Some(CodeEdit::OtherArithmetic(true)),
            "one (3 letters, abc)",
            &[other_added],
        ),
        (
            "after it was taken out of `other`",
            None,
            Some(CodeEdit::OtherArithmetic(false)),
            "one (3 letters, abc)",
            &[other_taken_out],
        ),
        ("after a rebuild with no change", None, None, "one (3 letters, abc)", &[]),
        ("after touching the source", Some("one"), None, "one (3 letters, abc)", &["up to date", unparsed]),
    ];
    for (what, edit, code_edit, shown, incremental) in steps {
        let mut builds = Vec::new();
        for (world, project) in WORLDS.into_iter().zip(&projects) {
            if let Some(word) = edit {
                // Rewritten even when it is the same word: the file is newer either way.
                set_word(project, word);
            }
            if let Some(code_edit) = code_edit {
                code_edit.apply(project);
            }
            // Incremental whatever the machine's cargo configuration says: on the CI machine
            // these dev builds were not incremental, so neither was the link.
            // `RIVET_TIME=1`: a relink prints its steps.
            let env = [("CARGO_INCREMENTAL", "1"), ("RIVET_TIME", "1")];
            builds.push(cargo_with(t, world, engine, project, &["build"], &env));
        }
        let [test, reference] = WORLDS
            .map(|world| t.run_in(world, &rivet_tests::path_str(&target_dir(t, world).join("debug/incr")), &[], &[]));
        let expected = format!("{shown} [80 filler functions]\n");
        assert!(
            reference.code == Some(0) && reference.stdout == expected,
            "stock build {what}: expected {expected:?}: {reference}"
        );
        assert!(
            test.code == Some(0) && test.stdout == expected,
            "the build with rivet's backend {what} prints what another source said: expected {expected:?}\n{test}\n\
             === its build ===\n{}",
            builds[0]
        );
        let binary = target_dir(t, World::Test).join("debug/incr");
        assert_linked_by_rivet(t, &binary);
        engine.assert_generated(&binary);
        if incremental.is_empty() {
            assert!(!builds[0].stderr.contains("Compiling"), "nothing changed, nothing to compile: {}", builds[0]);
            continue;
        }
        assert_eq!(reported_links(&builds[0].stderr, "incr").len(), 1, "{what}: {}", builds[0]);
        let report = builds[0].stderr.lines().find(|l| l.starts_with("rivet: ") && l.contains("incremental: "));
        for outcome in incremental {
            assert!(
                report.is_some_and(|l| l.contains(outcome)),
                "{what}: the link should say {outcome:?}: {}",
                builds[0]
            );
        }
        if report.is_some_and(|l| l.contains(patched)) {
            let step = "rivet-ld: ";
            let timed = ["incremental: changed objects compared, patches planned", "total"]
                .iter()
                .all(|lap| builds[0].stderr.lines().any(|l| l.starts_with(step) && l.ends_with(lap)));
            assert!(timed, "{what}: RIVET_TIME=1 should time the relink's steps: {}", builds[0]);
        }
    }
    assert_eq!(leftovers(&target_dir(t, World::Test)), Vec::<PathBuf>::new(), "the links left files behind");
}

const CDYLIB_ARGS: &[&str] =
    &["--edition=2024", "--crate-type", "cdylib", "--crate-name", "rivet_cdylib", "cdylib/lib.rs"];

const CDYLIB_OUTPUT: &str = "version: 7
checksum(10) = 471
checksum(27) = 7385
word 0: linked
word 1: by
word 2: rivet
word 3: in-process
4 words, 23 letters
19 bytes, sorted: brown fox quick the, shouted: THE QUICK BROWN FOX
84 / 2 = 42
1 / 0 = -1
calls: 6 (6 on this thread)
";

/// The dynamic symbols `tests/backend/cdylib/lib.rs` defines: its `#[unsafe(no_mangle)]`
/// items, as `nm -D` shows them.
const CDYLIB_EXPORTS: &[(char, &str)] = &[
    ('R', "RIVET_CDYLIB_VERSION"),
    ('T', "rivet_cdylib_calls"),
    ('T', "rivet_cdylib_checked_div"),
    ('T', "rivet_cdylib_checksum"),
    ('T', "rivet_cdylib_describe"),
    ('T', "rivet_cdylib_each_word"),
    ('T', "rivet_cdylib_free"),
];

/// The defined dynamic symbols of a world's shared object (`nm -D --defined-only`) as
/// (type, name), sorted.
fn defined_dynamic_symbols(t: &Test, world: World, file: &str) -> Vec<(char, String)> {
    let mut symbols = rivet_tests::nm_symbols(&t.tool_in(world, "nm", &["-D", "--defined-only", file]));
    symbols.sort();
    symbols
}

/// A cdylib (`tests/backend/cdylib/lib.rs`, `--crate-type cdylib`) linked in-process, and a
/// C program (`main.c`, built by `cc main.c -L. -lrivet_cdylib`) calling what it exports: a
/// computed value, a callback for each word of a string, a string the library allocates and
/// frees, a panic caught inside the library, counters in a static and a thread-local, and
/// a static the program reads directly (a copy relocation). Run against its world's library
/// (`LD_LIBRARY_PATH`), the program prints what it prints with stock rustc's, and the
/// library's defined dynamic symbols are exactly stock's: the `#[unsafe(no_mangle)]` items.
#[test]
fn cdylib_called_from_c() {
    let t = backend_test("cdylib_called_from_c");
    for world in WORLDS {
        copy_fixture(&t, world, "cdylib", "cdylib");
    }
    rustc_both(&t, Engine::Llvm, CDYLIB_ARGS, "rivet_cdylib", "librivet_cdylib.so");
    for world in WORLDS {
        let mut cmd = Command::new("cc");
        cmd.args(["cdylib/main.c", "-L.", "-lrivet_cdylib", "-o", "prog"]).current_dir(t.world_dir(world));
        let out = run_command(&mut cmd, TOOL_TIMEOUT, t.root());
        assert!(out.success(), "cc against the cdylib of {} failed: {out}", world_name(world));
    }
    run_both_expect(&t, "prog", &[], CDYLIB_OUTPUT);
    assert_linked_by_rivet(&t, &t.out("librivet_cdylib.so"));
    assert_not_linked_by_rivet(&t.out_in(World::Ref, "librivet_cdylib.so"));

    let [exports, reference_exports] = WORLDS.map(|world| defined_dynamic_symbols(&t, world, "librivet_cdylib.so"));
    let expected: Vec<(char, String)> = CDYLIB_EXPORTS.iter().map(|&(kind, name)| (kind, name.to_string())).collect();
    assert_eq!(reference_exports, expected, "what stock rustc's cdylib exports");
    assert_eq!(exports, reference_exports, "rivet's cdylib must export what stock rustc's does, and nothing else");
    assert_eq!(leftovers(&t.world_dir(World::Test)), Vec::<PathBuf>::new(), "the link left files behind");
}

/// A program calling an `extern "C"` function that nothing defines: rustc reports
/// `error: linking with rivet failed`, naming the symbol and the object that refers to it,
/// exits with status 1 and leaves neither the output nor temporary files (stock rustc fails
/// too).
#[test]
fn undefined_symbol_is_a_rustc_error() {
    let t = backend_test("undefined_symbol_is_a_rustc_error");
    let [test, reference] = WORLDS.map(|world| {
        copy_fixture(&t, world, "undefined.rs", "undefined/undefined.rs");
        rustc(&t, world, "undefined", &["--edition=2024", "undefined.rs"], &[])
    });
    assert_eq!(reference.code, Some(1), "stock rustc must fail to link: {reference}");
    assert_eq!(test.code, Some(1), "rustc with the backend must exit with status 1: {test}");
    assert!(!test.timed_out && test.signal.is_none(), "{test}");
    assert!(test.stderr.contains("error: linking with rivet failed: "), "{test}");
    assert!(
        test.stderr.contains("undefined symbol: rivet_backend_test_missing_function"),
        "the symbol is named: {test}"
    );
    let referencing = test
        .stderr
        .lines()
        .find(|l| l.contains("referenced by"))
        .unwrap_or_else(|| panic!("the referencing object is named: {test}"));
    assert!(
        referencing.contains("undefined.")
            && referencing.contains(".rcgu.o")
            && referencing.contains("(undefined::main)"),
        "the referencing object and function: {test}"
    );
    assert!(!test.stderr.contains("panicked"), "{test}");
    assert_eq!(dir_listing(&t.out("undefined")), ["undefined.rs"], "a failed link leaves nothing behind");
}

/// The words of a `--print link-args` line (`"cc" "-m64" ...`, each word quoted as Rust's
/// `{:?}` quotes); stock rustc's environment words (`LC_ALL="C"` ...) are left out.
fn link_args_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut prefix = String::new();
        while let Some(&c) = chars.peek()
            && c != '"'
            && c != ' '
        {
            prefix.push(c);
            chars.next();
        }
        let mut word = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => word.push('\n'),
                        Some('t') => word.push('\t'),
                        Some(other) => word.push(other),
                        None => break,
                    },
                    c => word.push(c),
                }
            }
        }
        if prefix.is_empty() {
            words.push(word);
        } else {
            assert!(prefix.ends_with('='), "unexpected word {prefix:?} in {line}");
        }
    }
    words
}

/// How the words of two `--print link-args` lines are made comparable.
struct Normalise<'a> {
    /// The world's directory, replaced by `<dir>`.
    dir: &'a Path,
    /// Cargo builds: the hashes in file and directory names (cargo's metadata hashes, which
    /// depend on the profile's codegen backend) and codegen units' names (derived from them)
    /// replaced too.
    hashes: bool,
}

impl Normalise<'_> {
    /// The words of `stdout`'s link-args line with the link's temporary directory (rivet's
    /// `rivet<pid>-<hex>` or rustc's `rustcXXXXXX`) as `<tmp>` and without `-B<...>/gcc-ld`
    /// and `-fuse-ld=lld`. Asserts the temporary directory is absolute and rightly named.
    fn words(&self, world: World, stdout: &str) -> Vec<String> {
        let line = stdout
            .lines()
            .find(|l| l.contains("\"cc\""))
            .unwrap_or_else(|| panic!("no link-args line printed ({}):\n{stdout}", world_name(world)));
        if world == World::Test {
            assert!(line.starts_with("\"cc\" \""), "rivet's line must start with the cc command: {line}");
        }
        let dir = format!("{}/", self.dir.display());
        link_args_words(line)
            .into_iter()
            .filter(|w| {
                world == World::Test || (w != "-fuse-ld=lld" && !(w.starts_with("-B") && w.ends_with("/gcc-ld")))
            })
            .map(|w| {
                let mut parts: Vec<String> = w.split('/').map(str::to_string).collect();
                for part in &mut parts {
                    let is_tmpdir = match world {
                        World::Test => is_rivet_tmpdir_name(part),
                        World::Ref => is_rustc_tmpdir_name(part),
                    };
                    if is_tmpdir {
                        *part = "<tmp>".into();
                    } else if self.hashes {
                        *part = normalise_hashes(part);
                    }
                }
                let w = parts.join("/");
                if w.contains("<tmp>") {
                    assert!(w.contains(&dir), "the temporary directory must be absolute, in the output's: {w}");
                }
                w.replace(&dir, "<dir>/")
            })
            .collect()
    }
}

/// A 16-hex-digit hash, alone or after a `-`, becomes `<hash>`; `<crate>.<cgu>.rcgu.o`
/// becomes `<crate>.<cgu>.rcgu.o` literally.
fn normalise_hashes(name: &str) -> String {
    if let Some(stem) = name.strip_suffix(".rcgu.o") {
        let crate_name = normalise_hashes(stem.split('.').next().unwrap());
        return format!("{crate_name}.<cgu>.rcgu.o");
    }
    let is_hash = |s: &str| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hash(name) {
        return "<hash>".into();
    }
    // libfoo-0123456789abcdef.rlib, foo-0123456789abcdef
    if let Some(dash) = name.rfind('-') {
        let rest = &name[dash + 1..];
        let (hash, ext) = rest.split_at(rest.find('.').unwrap_or(rest.len()));
        if is_hash(hash) {
            return format!("{}-<hash>{ext}", &name[..dash]);
        }
    }
    name.to_string()
}

/// Asserts that two link-args word lists are the same, showing the first difference.
fn assert_same_link_args(what: &str, rivet: &[String], stock: &[String]) {
    if rivet != stock {
        let first = rivet.iter().zip(stock).position(|(a, b)| a != b).unwrap_or(rivet.len().min(stock.len()));
        panic!(
            "{what}: rivet's link-args differ from stock rustc's at word {first}: rivet {:?}, stock {:?}\n\
             rivet: {rivet:?}\nstock: {stock:?}",
            rivet.get(first),
            stock.get(first)
        );
    }
}

/// `--print link-args` of rivet's backend is rustc's `cc` command: for hello, the 16-unit
/// program, the workspace's bin and its proc-macro (through `cargo rustc`), the words are the same as stock
/// rustc's, in the same order, once rustc's environment, its `-B<...>/gcc-ld -fuse-ld=lld`
/// and the temporary directories' names are set aside (and, for cargo, the metadata hashes
/// that the profile's codegen backend changes). Each output is built with the same `-o`
/// name in its world.
#[test]
fn link_args_match_rustc() {
    let t = backend_test("link_args_match_rustc");
    let normalised = |world: World, stdout: &str, hashes: bool| {
        let dir = t.world_dir(world);
        Normalise { dir: &dir, hashes }.words(world, stdout)
    };

    // hello
    let [test, reference] = WORLDS.map(|world| {
        copy_fixture(&t, world, "hello.rs", "hello.rs");
        let out = rustc(&t, world, ".", &["hello.rs", "--print", "link-args"], &[]);
        assert!(out.success(), "rustc --print link-args with {} failed: {out}", world_name(world));
        out
    });
    let hello = normalised(World::Test, &test.stdout, false);
    assert_same_link_args("hello", &hello, &normalised(World::Ref, &reference.stdout, false));
    assert!(hello.iter().any(|w| w == "<dir>/<tmp>/symbols.o"), "rustc's symbols.o is in the temporary dir: {hello:?}");
    run_both_expect(&t, "hello", &[], HELLO_OUTPUT);
    assert_linked_by_rivet(&t, &t.out("hello"));

    // 16 codegen units
    let mut args = MANY_CGUS_ARGS.to_vec();
    args.extend(["--print", "link-args"]);
    let [test, reference] = WORLDS.map(|world| {
        copy_fixture(&t, world, "many_cgus", "many_cgus");
        let out = rustc(&t, world, ".", &args, &[]);
        assert!(out.success(), "rustc --print link-args with {} failed: {out}", world_name(world));
        out
    });
    let many = normalised(World::Test, &test.stdout, false);
    assert_same_link_args("many_cgus", &many, &normalised(World::Ref, &reference.stdout, false));
    let objects = many.iter().filter(|w| w.ends_with(".rcgu.o")).count();
    assert_eq!(objects, 17, "16 codegen units and the allocator shim: {many:?}");
    run_both_expect(&t, "many", &[], MANY_CGUS_OUTPUT);
    assert_linked_by_rivet(&t, &t.out("many"));

    // the workspace's bin, through cargo
    let projects = WORLDS.map(|world| cargo_project(&t, world, "workspace"));
    let [test, reference] = WORLDS.map(|world| {
        let project = &projects[world as usize];
        cargo(&t, world, Engine::Llvm, project, &["rustc", "-p", "app", "--bin", "app", "--", "--print", "link-args"])
    });
    let app = normalised(World::Test, &test.stdout, true);
    assert_same_link_args("workspace app", &app, &normalised(World::Ref, &reference.stdout, true));
    // The C archive is bundled in ws-native's rlib; the build script's search path stays.
    for word in ["libws_native-<hash>.rlib", "libws_lib-<hash>.rlib", "<dir>/target/debug/build/ws-native/<hash>/out"] {
        assert!(app.iter().any(|w| w.ends_with(word)), "{word} is on the command line: {app:?}");
    }
    for world in WORLDS {
        copy_into_world(&t, world, &target_dir(&t, world).join("debug/app"), "app");
    }
    run_both_expect(&t, "app", &[], WORKSPACE_OUTPUT);
    assert_linked_by_rivet(&t, &t.out("app"));

    // the workspace's proc-macro, a shared object with rustc's export list and metadata
    let [test, reference] = WORLDS.map(|world| {
        let project = &projects[world as usize];
        cargo(&t, world, Engine::Llvm, project, &["rustc", "-p", "ws-derive", "--", "--print", "link-args"])
    });
    let proc_macro = normalised(World::Test, &test.stdout, true);
    assert_same_link_args("workspace proc-macro", &proc_macro, &normalised(World::Ref, &reference.stdout, true));
    assert!(proc_macro.iter().any(|w| w == "-shared"), "a proc-macro is a shared object: {proc_macro:?}");
    assert_eq!(leftovers(&t.world_dir(World::Test)), Vec::<PathBuf>::new(), "the links left files behind");
}

/// The parsing and normalisation that `link_args_match_rustc` relies on.
#[test]
fn link_args_normalisation() {
    assert_eq!(
        link_args_words(r#"LC_ALL="C" PATH="/a:/b" VSLANG="1033" "cc" "-m64" "a b" "q\"x""#),
        ["cc", "-m64", "a b", "q\"x"]
    );
    assert!(is_rivet_tmpdir_name("rivet6584-18ee2182cf53bd90"));
    assert!(!is_rivet_tmpdir_name("rivet-test"));
    assert!(is_rustc_tmpdir_name("rustceN93U0"));
    assert_eq!(normalise_hashes("libws_lib-633eac9471f344e9.rlib"), "libws_lib-<hash>.rlib");
    assert_eq!(normalise_hashes("5610d077b5547fda"), "<hash>");
    assert_eq!(normalise_hashes("app.0nshircmmrppl748gjcsk66ec.0q33w73.rcgu.o"), "app.<cgu>.rcgu.o");
    assert_eq!(normalise_hashes("ws_derive-46e68d60097aaf5c.01a3njr.1r5sdqs.rcgu.o"), "ws_derive-<hash>.<cgu>.rcgu.o");
    assert_eq!(normalise_hashes("libstd-530112f2fd58de10.rlib"), "libstd-<hash>.rlib");
}

/// `-Zdebuginfo-compression=zstd` through the backend: rivet links the crate in-process
/// (the link line carries `--compress-debug-sections=zstd`, as rustc's does), the program
/// runs, and its debug sections are compressed.
#[test]
fn compressed_debug_info_in_process() {
    let t = backend_test("compressed_debug_info_in_process");
    let flags = ["-g", "-Zdebuginfo-compression=zstd"];
    hello(&t, Engine::Llvm, &flags);
    let sections = t.readelf("-S", "hello/hello");
    assert_eq!(rivet_tests::section_is_compressed(&sections, ".debug_info"), Some(true), "{sections}");
}

/// A function of a module of `edlib`, `f<k>`, returning `value` through `padding` calls of
/// `black_box` (more or fewer change its code's size); `app` prints it when `called`.
struct RustFunction {
    name: String,
    value: u64,
    padding: u32,
    called: bool,
}

/// A module of `edlib`: `DATA` (summed by `data_sum`, with the values of its private helpers,
/// `helper_<k>`, each a function of its own), `motto()` (a literal: its text may change its
/// length, and modules may share it), blank lines at the top (`lead`: every line below moves).
struct RustModule {
    functions: Vec<RustFunction>,
    data: Vec<u64>,
    helpers: Vec<u64>,
    motto: u32,
    lead: usize,
}

/// A cargo workspace of a library, `edlib` (modules `m0`.. `m3`; `m0` with a thread-local
/// counter), and a bin, `app`, which prints a banner, each module's data sum, motto and
/// called functions in `order`, and the counter bumped twice.
struct RustProject {
    modules: Vec<RustModule>,
    order: Vec<usize>,
    banner: usize,
    tls_start: u64,
    next_name: u32,
}

const RUST_MODULES: usize = 4;

/// A number in `0..n` from `rng`.
fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

impl RustProject {
    fn new(rng: &mut Rng) -> RustProject {
        let mut project = RustProject {
            modules: Vec::new(),
            order: (0..RUST_MODULES).collect(),
            banner: 8,
            tls_start: 7,
            next_name: 0,
        };
        for _ in 0..RUST_MODULES {
            let functions = (0..4).map(|i| project.new_function(rng, i % 2 == 0)).collect();
            let data = (0..6).map(|_| rng.below(1000)).collect();
            let motto = below(rng, 6) as u32;
            project.modules.push(RustModule { functions, data, helpers: Vec::new(), motto, lead: 0 });
        }
        project
    }

    fn new_function(&mut self, rng: &mut Rng, called: bool) -> RustFunction {
        self.next_name += 1;
        let (value, padding) = (rng.below(100_000), below(rng, 12) as u32);
        RustFunction { name: format!("f{}", self.next_name), value, padding, called }
    }

    /// The files of the workspace, by path.
    fn files(&self) -> Vec<(String, String)> {
        let mut files = vec![
            ("Cargo.toml".to_string(), "[workspace]\nmembers = [\"edlib\", \"app\"]\nresolver = \"2\"\n".to_string()),
            (
                "edlib/Cargo.toml".into(),
                "[package]\nname = \"edlib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            (
                "app/Cargo.toml".into(),
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n\
                 edlib = { path = \"../edlib\" }\n"
                    .into(),
            ),
        ];
        let modules: String = (0..RUST_MODULES).map(|i| format!("pub mod m{i};\n")).collect();
        files.push(("edlib/src/lib.rs".into(), modules));
        for (i, module) in self.modules.iter().enumerate() {
            let mut s = "\n".repeat(module.lead);
            if i == 0 {
                s += &format!(
                    "thread_local! {{ static COUNTER: std::cell::Cell<u64> = const {{ std::cell::Cell::new({}) }}; }}\n\
                     pub fn bump() -> u64 {{ COUNTER.with(|c| {{ c.set(c.get() + 1); c.get() }}) }}\n",
                    self.tls_start
                );
            }
            let data: Vec<String> = module.data.iter().map(u64::to_string).collect();
            s += &format!("pub static DATA: [u64; {}] = [{}];\n", data.len(), data.join(", "));
            s += &format!(
                "pub fn motto() -> &'static str {{ \"{}\" }}\n",
                "motto ".to_string() + &"*".repeat(module.motto as usize)
            );
            let mut sum = "DATA.iter().sum::<u64>()".to_string();
            for (k, value) in module.helpers.iter().enumerate() {
                s += &format!("#[inline(never)]\nfn helper_{k}() -> u64 {{ std::hint::black_box({value}) }}\n");
                sum += &format!(" + helper_{k}()");
            }
            s += &format!("pub fn data_sum() -> u64 {{ {sum} }}\n");
            for f in &module.functions {
                let padding = "    let v = std::hint::black_box(v);\n".repeat(f.padding as usize);
                s += &format!(
                    "#[inline(never)]\npub fn {}() -> u64 {{\n    let v = std::hint::black_box({}u64);\n{padding}    v\n}}\n",
                    f.name, f.value
                );
            }
            files.push((format!("edlib/src/m{i}.rs"), s));
        }
        let mut main = format!("fn main() {{\n    println!(\"{}\");\n", "=".repeat(self.banner));
        for &i in &self.order {
            main += &format!("    println!(\"m{i} data {{}}\", edlib::m{i}::data_sum());\n");
            main += &format!("    println!(\"{{}}\", edlib::m{i}::motto());\n");
            for f in self.modules[i].functions.iter().filter(|f| f.called) {
                main += &format!("    println!(\"m{i}_{0} {{}}\", edlib::m{i}::{0}());\n", f.name);
            }
        }
        main += "    edlib::m0::bump();\n    println!(\"tls {}\", edlib::m0::bump());\n}\n";
        files.push(("app/src/main.rs".into(), main));
        files
    }

    /// Makes a random edit; returns what it did.
    fn edit(&mut self, rng: &mut Rng) -> String {
        let m = below(rng, RUST_MODULES);
        let module = &mut self.modules[m];
        let count = module.functions.len();
        match below(rng, 15) {
            0 if count > 0 => {
                let f = &mut module.functions[below(rng, count)];
                f.value = rng.below(100_000);
                format!("m{m}::{} returns {}", f.name, f.value)
            }
            1 if count > 0 => {
                let f = &mut module.functions[below(rng, count)];
                f.padding += 1 + below(rng, 4) as u32;
                format!("m{m}::{} grows to {}", f.name, f.padding)
            }
            2 if count > 0 => {
                let f = &mut module.functions[below(rng, count)];
                f.padding = f.padding.saturating_sub(1 + below(rng, 4) as u32);
                format!("m{m}::{} shrinks to {}", f.name, f.padding)
            }
            3 => {
                let called = below(rng, 2) == 0;
                let f = self.new_function(rng, called);
                let what = format!("add m{m}::{} (called: {called})", f.name);
                self.modules[m].functions.push(f);
                what
            }
            4 if count > 1 => {
                let f = module.functions.remove(below(rng, count));
                format!("remove m{m}::{} (called: {})", f.name, f.called)
            }
            5 if count > 0 => {
                let k = below(rng, count);
                self.next_name += 1;
                let name = format!("f{}", self.next_name);
                let f = &mut self.modules[m].functions[k];
                let what = format!("rename m{m}::{} to {name} (called: {})", f.name, f.called);
                f.name = name;
                what
            }
            6 if count > 0 => {
                let f = &mut module.functions[below(rng, count)];
                f.called = !f.called;
                format!("m{m}::{} called: {}", f.name, f.called)
            }
            7 => {
                module.motto = below(rng, 6) as u32;
                format!("m{m}'s motto has {} stars", module.motto)
            }
            8 => {
                let k = below(rng, module.data.len());
                module.data[k] = rng.below(1000);
                format!("m{m}'s DATA[{k}] is {}", module.data[k])
            }
            9 => {
                module.lead = below(rng, 40);
                format!("m{m} starts with {} blank lines", module.lead)
            }
            10 => {
                module.helpers.push(rng.below(1000));
                format!("m{m} gains a helper, {} in all", module.helpers.len())
            }
            11 if !module.helpers.is_empty() => {
                module.helpers.pop();
                format!("m{m} loses its last helper, {} left", module.helpers.len())
            }
            12 => {
                let (a, b) = (below(rng, RUST_MODULES), below(rng, RUST_MODULES));
                self.order.swap(a, b);
                format!("app prints the modules in the order {:?}", self.order)
            }
            13 => {
                self.banner = 4 + below(rng, 12);
                format!("the banner is {} long", self.banner)
            }
            _ => {
                self.tls_start = rng.below(1000);
                format!("the counter starts at {}", self.tls_start)
            }
        }
    }
}

/// Random edits of a cargo workspace, built incrementally with the backend and with stock
/// cargo after each: functions of the library changed, grown, shrunk, added, taken out,
/// renamed, called or no longer called from the bin; a literal of another length, data, lines
/// inserted above a module's code, private helpers added or taken out, the bin's order and
/// banner, a thread-local's initial value. After every step the program prints what the
/// stock build prints, its unwind tables are whole and no segment is writable and executable
/// (`elf_compare`); the tally of how the backend linked (patched in place, or in full and why) is printed by
/// kind of edit. `RIVET_EDIT_SEED` picks the seed (1 by default), `RIVET_RUST_EDIT_STEPS` the
/// number of steps (40 by default; the long variant runs 300).
#[test]
fn random_rust_edits_run_as_stock_builds() {
    let t = backend_test("random_rust_edits_run_as_stock_builds");
    let number = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (seed, steps) = (number("RIVET_EDIT_SEED", 1), number("RIVET_RUST_EDIT_STEPS", 40));
    let mut rng = Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut project = RustProject::new(&mut rng);
    let roots = WORLDS.map(|world| {
        let root = t.world_dir(world).join("edits");
        if world == World::Test {
            std::fs::create_dir_all(root.join(".cargo")).unwrap();
            std::fs::write(root.join(".cargo/config.toml"), CARGO_RECIPE).unwrap();
        }
        root
    });
    let mut tally = std::collections::BTreeMap::<String, std::collections::BTreeMap<String, usize>>::new();
    let mut history = Vec::new();
    for step in 0..=steps {
        let what = if step == 0 { "the first build".to_string() } else { project.edit(&mut rng) };
        history.push(format!("step {step}: {what}"));
        let mut builds = Vec::new();
        for (world, root) in WORLDS.into_iter().zip(&roots) {
            for (path, contents) in project.files() {
                let path = root.join(path);
                // Only what changed is written: cargo compiles again what is newer.
                if std::fs::read_to_string(&path).ok().as_deref() != Some(contents.as_str()) {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(&path, contents).unwrap();
                }
            }
            builds.push(cargo_with(&t, world, Engine::Llvm, root, &["build"], &[("CARGO_INCREMENTAL", "1")]));
        }
        let [test, reference] = WORLDS
            .map(|world| t.run_in(world, &rivet_tests::path_str(&target_dir(&t, world).join("debug/app")), &[], &[]));
        let context = || format!("seed {seed}, after:\n{}\n=== the build ===\n{}", history.join("\n"), builds[0]);
        assert!(reference.code == Some(0), "the stock build fails to run: {reference}\n{}", context());
        assert!(
            test.code == Some(0) && test.stdout == reference.stdout,
            "the build with rivet's backend prints what the stock build does not:\n{test}\n{reference}\n{}",
            context()
        );
        // Against itself, which checks its own unwind tables and segments: the stock program's
        // symbols are named after another crate disambiguator (cargo's metadata hashes the
        // workspace's path).
        let binary = target_dir(&t, World::Test).join("debug/app");
        let differences = rivet_tests::elf_compare::structural_differences(&binary, &binary);
        assert_eq!(differences, Ok(vec![]), "{}", context());
        let report = builds[0].stderr.lines().find(|l| l.starts_with("rivet: ") && l.contains("incremental: "));
        let outcome = match report.and_then(|l| l.split_once("incremental: ")) {
            Some((_, outcome)) if outcome.starts_with("patched in place") => "patched in place".to_string(),
            // Why it linked in full, without the object's name, and with names of symbols
            // and of anonymous constants' sections left out.
            Some((_, outcome)) => {
                let reason = outcome.split(", and not in place: ").last().unwrap_or(outcome);
                let reason = reason.split("; ").next().unwrap_or(reason);
                let reason = reason.rsplit_once(".o): ").or(reason.rsplit_once(".o: ")).map_or(reason, |(_, why)| why);
                let word = |w: &str| match () {
                    _ if w.starts_with('`') => "`…`".to_string(),
                    _ if w.contains(".Lanon.") => ".Lanon.…".to_string(),
                    _ if w.contains('/') => normalise_hashes(w.rsplit('/').next().unwrap_or(w)),
                    _ => w.to_string(),
                };
                reason.split(' ').map(word).collect::<Vec<_>>().join(" ")
            }
            None => "not linked".to_string(),
        };
        // The kind of edit: its numbers left out.
        let mut kind = String::new();
        for c in what.chars() {
            match c.is_ascii_digit() {
                true if !kind.ends_with('*') => kind.push('*'),
                true => {}
                false => kind.push(c),
            }
        }
        *tally.entry(kind).or_default().entry(outcome).or_default() += 1;
    }
    let count = |patched: bool| -> usize {
        let outcomes = tally.values().flat_map(|outcomes| outcomes.iter());
        outcomes.filter(|(outcome, _)| (outcome.as_str() == "patched in place") == patched).map(|(_, n)| n).sum()
    };
    eprintln!(
        "random Rust edits (seed {seed}, {steps} steps): {} patched in place, {} linked in full or not linked; \
         how the backend linked after each kind of edit:",
        count(true),
        count(false)
    );
    for (kind, outcomes) in &tally {
        eprintln!("  {kind}");
        for (outcome, count) in outcomes {
            eprintln!("    {count:4}  {outcome}");
        }
    }
}
