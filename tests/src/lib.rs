//! Test harness for rivet's integration tests.
//!
//! Every test links real programs the way users do: through the compiler driver
//! (`gcc -B<dir>` where `<dir>/ld` is a symlink to the linker under test, or
//! `clang --ld-path=...`), runs them, and checks what they print.
//!
//! Each test works in its own temporary directory:
//!
//! ```text
//! <tmp>/obj/        compiled objects, archives, generated sources (linker-independent)
//! <tmp>/test/       outputs of the linker under test (cwd of its links and runs)
//! <tmp>/ref/        the same links done with the reference linker, GNU ld.bfd
//! <tmp>/ld-test/ld  symlink to the linker under test
//! <tmp>/ld-ref/ld   symlink to /usr/bin/ld.bfd
//! ```
//!
//! A link (`Test::link`) is performed in both worlds with the same arguments, so relative
//! paths like `-L.` or `libfoo.so` resolve to that world's own outputs: a program built by
//! the linker under test is run against shared libraries built by the linker under test.
//! `Test::run` runs the program in both worlds and asserts that exit status and stdout
//! agree (the differential check); tests then also assert the literal expected output.
//!
//! The linker under test is selected by `RIVET_TEST_LINKER`: unset or `rivet` -> the
//! `rivet-ld` binary built by cargo; `bfd` -> `/usr/bin/ld.bfd`; `lld` -> `ld.lld-19`.
//! Set `RIVET_TEST_KEEP=1` to keep every temporary directory (they are always kept when a
//! test fails; the path is printed).

pub mod elf_compare;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Creates a [`Test`] for the linker selected by `RIVET_TEST_LINKER`.
///
/// Must be used from an integration test of this package (it reads the path of the
/// `rivet-ld-under-test` binary that cargo builds for it).
#[macro_export]
macro_rules! test_env {
    ($name:expr) => {
        $crate::Test::new(env!("CARGO_BIN_EXE_rivet-ld-under-test"), $name)
    };
}

/// How long a program under test may run.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one compile or link may take.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkerKind {
    Rivet,
    Bfd,
    Lld,
}

impl LinkerKind {
    /// A string that the linker prints in its `--version` output.
    fn version_signature(self) -> &'static str {
        match self {
            LinkerKind::Rivet => "rivet",
            LinkerKind::Bfd => "GNU ld",
            LinkerKind::Lld => "LLD",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Linker {
    pub kind: LinkerKind,
    pub path: PathBuf,
}

pub const BFD_PATH: &str = "/usr/bin/ld.bfd";
pub const LLD_NAME: &str = "ld.lld-19";

/// Which compiler driver performs a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    Gcc,
    Gxx,
    Clang,
}

/// Which output world: the linker under test or the reference linker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    Test,
    Ref,
}

pub const WORLDS: [World; 2] = [World::Test, World::Ref];

/// Result of running a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Exit code, `None` if killed by a signal.
    pub code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for messages.
    pub cmdline: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Exit status as text, e.g. "exit 1" or "signal 11".
    pub fn status_text(&self) -> String {
        if self.timed_out {
            "timed out".to_string()
        } else if let Some(c) = self.code {
            format!("exit {c}")
        } else {
            format!("signal {}", self.signal.unwrap_or(-1))
        }
    }

    /// When a link through gcc failed, the linker's own exit status as reported by collect2
    /// (`collect2: error: ld returned 1 exit status`), or `Err(message)` if collect2 reports
    /// that the linker was killed by a signal.
    pub fn collect2_linker_status(&self) -> Result<Option<i32>, String> {
        for line in self.stderr.lines() {
            if line.contains("terminated with signal") {
                return Err(line.to_string());
            }
            if let Some(pos) = line.find(" returned ") {
                let rest = &line[pos + " returned ".len()..];
                if let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse().ok()) {
                    return Ok(Some(n));
                }
            }
        }
        Ok(None)
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.cmdline)?;
        writeln!(f, "status: {}", self.status_text())?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// Tools that must be installed; the harness fails loudly without them.
const REQUIRED_TOOLS: &[&str] = &["gcc", "g++", "readelf", "nm", "ar", "objdump"];

fn which(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        let p = PathBuf::from(tool);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file())
}

fn check_required_tools() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let missing: Vec<_> = REQUIRED_TOOLS.iter().filter(|t| which(t).is_none()).collect();
        if !missing.is_empty() {
            panic!(
                "rivet tests need these tools, which are not installed (not on PATH): {missing:?}. \
                 Install gcc, g++ and binutils."
            );
        }
        if which(BFD_PATH).is_none() {
            panic!("the reference linker {BFD_PATH} is not installed (binutils)");
        }
    });
}

/// The linker selected by `RIVET_TEST_LINKER`.
pub fn linker_under_test(rivet_bin: &str) -> Linker {
    let sel = std::env::var("RIVET_TEST_LINKER").unwrap_or_default();
    match sel.as_str() {
        "" | "rivet" => Linker { kind: LinkerKind::Rivet, path: PathBuf::from(rivet_bin) },
        "bfd" => Linker { kind: LinkerKind::Bfd, path: PathBuf::from(BFD_PATH) },
        "lld" => Linker {
            kind: LinkerKind::Lld,
            path: which(LLD_NAME).unwrap_or_else(|| panic!("RIVET_TEST_LINKER=lld but {LLD_NAME} is not on PATH")),
        },
        other => panic!("RIVET_TEST_LINKER={other:?}: expected rivet, bfd or lld"),
    }
}

fn reference_linker() -> Linker {
    Linker { kind: LinkerKind::Bfd, path: PathBuf::from(BFD_PATH) }
}

/// Directory holding the C/C++/asm sources of the tests (`tests/c`).
/// The toolchain's `gcc-ld` directory: `gcc -B<it> -fuse-ld=lld` links with rust-lld.
pub fn rust_lld_gcc_dir() -> PathBuf {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().expect("rustc runs");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    Path::new(&sysroot).join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld")
}

pub fn sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("c")
}

pub fn have_tool(tool: &str) -> bool {
    which(tool).is_some()
}

/// Runs `cmd` with stdout/stderr captured (through files, so no pipe can fill up) and a
/// timeout after which the process is killed.
pub fn run_command(cmd: &mut Command, timeout: Duration, capture_dir: &Path) -> Output {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let out_path = capture_dir.join(format!(".cmd{seq}.out"));
    let err_path = capture_dir.join(format!(".cmd{seq}.err"));
    let cmdline = format_command(cmd);
    let out_f = std::fs::File::create(&out_path).expect("create capture file");
    let err_f = std::fs::File::create(&err_path).expect("create capture file");
    cmd.stdin(Stdio::null()).stdout(out_f).stderr(err_f);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot start `{cmdline}`: {e}"),
    };
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            timed_out = true;
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    use std::os::unix::process::ExitStatusExt;
    let read = |p: &Path| {
        let bytes = std::fs::read(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Output {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: read(&out_path),
        stderr: read(&err_path),
        cmdline,
    }
}

fn format_command(cmd: &Command) -> String {
    let mut s = String::new();
    if let Some(dir) = cmd.get_current_dir() {
        s.push_str(&format!("(cd {} && ", dir.display()));
    }
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            s.push_str(&format!("{}={} ", k.to_string_lossy(), v.to_string_lossy()));
        }
    }
    s.push_str(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(' ') {
            s.push_str(&format!(" '{a}'"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    if cmd.get_current_dir().is_some() {
        s.push(')');
    }
    s
}

/// One test's environment: temp dirs, the linker under test and the reference linker.
pub struct Test {
    name: String,
    root: PathBuf,
    under_test: Linker,
    reference: Linker,
    keep: bool,
}

impl Test {
    /// `rivet_bin` is `env!("CARGO_BIN_EXE_rivet-ld-under-test")`; use [`test_env!`].
    pub fn new(rivet_bin: &str, name: &str) -> Test {
        check_required_tools();
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let under_test = linker_under_test(rivet_bin);
        if !under_test.path.is_file() {
            panic!("linker under test {} does not exist", under_test.path.display());
        }
        let root = std::env::temp_dir().join(format!(
            "rivet-test-{name}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        let t = Test {
            name: name.to_string(),
            root,
            under_test,
            reference: reference_linker(),
            keep: std::env::var_os("RIVET_TEST_KEEP").is_some_and(|v| v != "0" && !v.is_empty()),
        };
        for d in ["obj", "test", "ref", "ld-test", "ld-ref"] {
            std::fs::create_dir_all(t.root.join(d)).expect("create temp dir");
        }
        std::os::unix::fs::symlink(&t.under_test.path, t.root.join("ld-test/ld")).expect("symlink ld");
        std::os::unix::fs::symlink(&t.reference.path, t.root.join("ld-ref/ld")).expect("symlink ld");
        t.check_driver_uses_linker();
        t
    }

    /// Once per process: check that `gcc -B<dir>` really runs `<dir>/ld`, the chosen linker.
    fn check_driver_uses_linker(&self) {
        static CHECKED: OnceLock<()> = OnceLock::new();
        CHECKED.get_or_init(|| {
            for world in WORLDS {
                let out = self.linker_version_via_gcc(world);
                let want = self.linker(world).kind.version_signature();
                assert!(
                    out.stdout.contains(want),
                    "`gcc -B{}` did not run the expected linker ({want}): {out}",
                    self.ld_dir(world).display()
                );
            }
        });
    }

    /// `gcc -B<ld dir> -Wl,--version`: shows which linker gcc really runs.
    pub fn linker_version_via_gcc(&self, world: World) -> Output {
        let src = self.write("version_probe.c", "int main(void) { return 0; }\n");
        let mut cmd = Command::new("gcc");
        cmd.arg(format!("-B{}/", self.ld_dir(world).display()))
            .arg("-Wl,--version")
            .arg(&src)
            .arg("-o")
            .arg(self.world_dir(world).join("version_probe"))
            .current_dir(self.world_dir(world));
        let out = run_command(&mut cmd, TOOL_TIMEOUT, &self.root);
        assert!(out.success(), "gcc -Wl,--version failed: {out}");
        out
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn linker(&self, world: World) -> &Linker {
        match world {
            World::Test => &self.under_test,
            World::Ref => &self.reference,
        }
    }

    pub fn kind(&self) -> LinkerKind {
        self.under_test.kind
    }

    pub fn linker_is_rivet(&self) -> bool {
        self.under_test.kind == LinkerKind::Rivet
    }

    pub fn linker_is_lld(&self) -> bool {
        self.under_test.kind == LinkerKind::Lld
    }

    pub fn linker_is_bfd(&self) -> bool {
        self.under_test.kind == LinkerKind::Bfd
    }

    /// Directory with the linker-independent files (objects, archives, sources).
    pub fn obj_dir(&self) -> PathBuf {
        self.root.join("obj")
    }

    /// Directory where a world's links write and its programs run.
    pub fn world_dir(&self, world: World) -> PathBuf {
        self.root.join(match world {
            World::Test => "test",
            World::Ref => "ref",
        })
    }

    fn ld_dir(&self, world: World) -> PathBuf {
        self.root.join(match world {
            World::Test => "ld-test",
            World::Ref => "ld-ref",
        })
    }

    /// Path of the symlink `ld` to a world's linker.
    pub fn ld_path(&self, world: World) -> PathBuf {
        self.ld_dir(world).join("ld")
    }

    /// Path of a file in the linker-under-test's world.
    pub fn out(&self, name: &str) -> PathBuf {
        self.world_dir(World::Test).join(name)
    }

    /// Path of a file in a world.
    pub fn out_in(&self, world: World, name: &str) -> PathBuf {
        self.world_dir(world).join(name)
    }

    /// Absolute path (as a String) of a file in the objects dir.
    pub fn obj(&self, name: &str) -> String {
        path_str(&self.obj_dir().join(name))
    }

    /// Path of a source under tests/c.
    pub fn src(&self, name: &str) -> PathBuf {
        let p = sources_dir().join(name);
        assert!(p.is_file(), "test source {} does not exist", p.display());
        p
    }

    /// Writes a file into the objects dir and returns its absolute path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.obj_dir().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        path_str(&p)
    }

    /// Writes a file into both worlds (e.g. a linker script or response file that links refer
    /// to by a relative name).
    pub fn write_in_worlds(&self, name: &str, contents: impl AsRef<[u8]>) {
        for w in WORLDS {
            let p = self.world_dir(w).join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(&p, contents.as_ref()).unwrap();
        }
    }

    /// Resolves a source name: absolute paths as they are, others under tests/c.
    fn resolve_src(&self, src: &str) -> PathBuf {
        let p = Path::new(src);
        if p.is_absolute() { p.to_path_buf() } else { self.src(src) }
    }

    fn default_obj_name(src: &str) -> String {
        let stem = Path::new(src).file_stem().unwrap().to_string_lossy().into_owned();
        format!("{stem}.o")
    }

    /// Compiles with `compiler -c src -o obj/<out> flags...`; returns the object's path.
    pub fn compile_with(&self, compiler: &str, src: &str, out: &str, flags: &[&str]) -> String {
        let src_path = self.resolve_src(src);
        let out_path = self.obj_dir().join(out);
        let mut cmd = Command::new(compiler);
        cmd.arg("-c").arg(&src_path).arg("-o").arg(&out_path).args(flags);
        cmd.current_dir(self.obj_dir());
        let o = run_command(&mut cmd, TOOL_TIMEOUT, &self.root);
        assert!(o.success(), "compile failed: {o}");
        path_str(&out_path)
    }

    /// `gcc -c tests/c/<src>` -> obj/<stem>.o
    pub fn cc(&self, src: &str, flags: &[&str]) -> String {
        self.compile_with("gcc", src, &Self::default_obj_name(src), flags)
    }

    /// `gcc -c tests/c/<src>` -> obj/<out>
    pub fn cc_as(&self, src: &str, out: &str, flags: &[&str]) -> String {
        self.compile_with("gcc", src, out, flags)
    }

    /// `g++ -c tests/c/<src>` -> obj/<stem>.o
    pub fn cxx(&self, src: &str, flags: &[&str]) -> String {
        self.compile_with("g++", src, &Self::default_obj_name(src), flags)
    }

    pub fn cxx_as(&self, src: &str, out: &str, flags: &[&str]) -> String {
        self.compile_with("g++", src, out, flags)
    }

    /// `clang -c`; only call after checking [`Test::require_clang`].
    pub fn clang_as(&self, src: &str, out: &str, flags: &[&str]) -> String {
        self.compile_with("clang", src, out, flags)
    }

    /// Returns false (after printing "SKIP: clang not installed") when clang is missing.
    pub fn require_clang(&self) -> bool {
        if have_tool("clang") {
            true
        } else {
            println!("SKIP: clang not installed ({})", self.name);
            false
        }
    }

    /// Returns false (after printing "SKIP: gdb not installed") when gdb is missing.
    pub fn require_gdb(&self) -> bool {
        if have_tool("gdb") {
            true
        } else {
            println!("SKIP: gdb not installed ({})", self.name);
            false
        }
    }

    /// `ar rcs obj/<name> members...`
    pub fn ar(&self, name: &str, members: &[&str]) -> String {
        self.ar_with("rcs", name, members)
    }

    /// Thin archive: `ar rcsT obj/<name> members...`
    pub fn ar_thin(&self, name: &str, members: &[&str]) -> String {
        self.ar_with("rcsT", name, members)
    }

    fn ar_with(&self, flags: &str, name: &str, members: &[&str]) -> String {
        let out = self.obj_dir().join(name);
        let _ = std::fs::remove_file(&out);
        let mut cmd = Command::new("ar");
        cmd.arg(flags).arg(&out).args(members).current_dir(self.obj_dir());
        let o = run_command(&mut cmd, TOOL_TIMEOUT, &self.root);
        assert!(o.success(), "ar failed: {o}");
        path_str(&out)
    }

    fn driver_command(&self, driver: Driver, world: World) -> Command {
        let mut cmd = match driver {
            Driver::Gcc => Command::new("gcc"),
            Driver::Gxx => Command::new("g++"),
            Driver::Clang => Command::new("clang"),
        };
        match driver {
            Driver::Gcc | Driver::Gxx => {
                cmd.arg(format!("-B{}/", self.ld_dir(world).display()));
            }
            Driver::Clang => {
                cmd.arg(format!("--ld-path={}", self.ld_path(world).display()));
            }
        }
        cmd.current_dir(self.world_dir(world));
        cmd
    }

    /// Replaces `{world}` in an argument by the world's absolute directory (for options
    /// that need absolute paths, like `-Wl,-rpath,{world}/lib` or `--sysroot={world}/sr`).
    pub fn world_arg(&self, world: World, arg: &str) -> String {
        arg.replace("{world}", &path_str(&self.world_dir(world)))
    }

    /// Links `args... -o out` with `driver` in one world, without checking the result.
    /// `{world}` in arguments is replaced by the world's directory.
    pub fn try_link_in(&self, world: World, driver: Driver, out: &str, args: &[&str]) -> Output {
        let mut cmd = self.driver_command(driver, world);
        cmd.args(args.iter().map(|a| self.world_arg(world, a))).arg("-o").arg(out);
        run_command(&mut cmd, TOOL_TIMEOUT, &self.root)
    }

    /// Links in both worlds with `driver`; asserts both succeed. Returns the outputs
    /// (linker under test first).
    pub fn link_with(&self, driver: Driver, out: &str, args: &[&str]) -> [Output; 2] {
        let res = WORLDS.map(|w| self.try_link_in(w, driver, out, args));
        assert!(res[1].success(), "the REFERENCE link (ld.bfd) failed, so the test itself is wrong: {}", res[1]);
        assert!(res[0].success(), "link with the linker under test failed: {}", res[0]);
        for w in WORLDS {
            assert!(self.out_in(w, out).exists(), "link succeeded but produced no {out}");
        }
        res
    }

    /// `gcc -B<ld> args... -o out` in both worlds; both must succeed.
    pub fn link(&self, out: &str, args: &[&str]) -> [Output; 2] {
        self.link_with(Driver::Gcc, out, args)
    }

    /// `g++ -B<ld> args... -o out` in both worlds; both must succeed.
    pub fn link_cxx(&self, out: &str, args: &[&str]) -> [Output; 2] {
        self.link_with(Driver::Gxx, out, args)
    }

    /// `clang --ld-path=<ld> args... -o out` in both worlds; both must succeed.
    pub fn link_clang(&self, out: &str, args: &[&str]) -> [Output; 2] {
        self.link_with(Driver::Clang, out, args)
    }

    /// A link that must fail in both worlds. Checks that the compiler driver reported a
    /// failure, that the linker was not killed by a signal and that no output file is left
    /// behind. Returns the linker-under-test's output (gcc's stderr includes the linker's).
    pub fn link_fails_with(&self, driver: Driver, out: &str, args: &[&str]) -> Output {
        for w in WORLDS {
            assert!(!self.out_in(w, out).exists(), "{out} exists before the link");
        }
        let res = WORLDS.map(|w| self.try_link_in(w, driver, out, args));
        assert!(!res[1].success(), "the REFERENCE link (ld.bfd) succeeded but was expected to fail: {}", res[1]);
        let o = &res[0];
        assert!(!o.success(), "link was expected to fail but succeeded: {o}");
        assert!(!o.timed_out, "link timed out: {o}");
        match o.collect2_linker_status() {
            Err(line) => panic!("the linker crashed ({line}): {o}"),
            Ok(Some(code)) => {
                assert_ne!(code, 101, "the linker panicked (exit 101): {o}");
                if self.linker_is_rivet() {
                    assert_eq!(code, 1, "rivet must exit with status 1 on link errors: {o}");
                }
            }
            Ok(None) => {}
        }
        assert!(!self.out(out).exists(), "a failed link left the output file {} behind", self.out(out).display());
        res.into_iter().next().unwrap()
    }

    pub fn link_fails(&self, out: &str, args: &[&str]) -> Output {
        self.link_fails_with(Driver::Gcc, out, args)
    }

    /// Runs a world's linker directly (not through gcc), cwd = that world's dir.
    pub fn ld_in(&self, world: World, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.ld_path(world));
        cmd.args(args.iter().map(|a| self.world_arg(world, a))).current_dir(self.world_dir(world));
        run_command(&mut cmd, TOOL_TIMEOUT, &self.root)
    }

    /// Runs the linker under test directly.
    pub fn ld(&self, args: &[&str]) -> Output {
        self.ld_in(World::Test, args)
    }

    /// Runs a program built in a world; cwd is that world's dir and LD_LIBRARY_PATH points at
    /// it (unless `env` sets LD_LIBRARY_PATH itself, to "" for none).
    pub fn run_in(&self, world: World, prog: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let dir = self.world_dir(world);
        let prog_path = if prog.contains('/') { PathBuf::from(prog) } else { dir.join(prog) };
        let mut cmd = Command::new(&prog_path);
        cmd.args(args).current_dir(&dir);
        cmd.env("LD_LIBRARY_PATH", &dir);
        cmd.env_remove("LD_BIND_NOW");
        cmd.env_remove("LD_PRELOAD");
        for (k, v) in env {
            if *k == "LD_LIBRARY_PATH" && v.is_empty() {
                cmd.env_remove("LD_LIBRARY_PATH");
            } else {
                cmd.env(k, v);
            }
        }
        run_command(&mut cmd, RUN_TIMEOUT, &self.root)
    }

    /// Runs `prog` in both worlds and asserts that exit status and stdout agree. Returns the
    /// linker-under-test's run.
    pub fn run_env(&self, prog: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let [t, r] = WORLDS.map(|w| self.run_in(w, prog, args, env));
        assert!(!t.timed_out, "program timed out: {t}");
        assert!(!r.timed_out, "reference program timed out: {r}");
        assert!(
            t.code == r.code && t.signal == r.signal && t.stdout == r.stdout,
            "DIFFERENTIAL MISMATCH between the linker under test ({:?}) and ld.bfd:\n\
             === linker under test ===\n{t}\n=== reference (ld.bfd) ===\n{r}",
            self.under_test.kind
        );
        t
    }

    pub fn run(&self, prog: &str, args: &[&str]) -> Output {
        self.run_env(prog, args, &[])
    }

    /// Runs in both worlds, asserts they agree, exit status 0 and stdout == `expected`.
    pub fn run_expect(&self, prog: &str, args: &[&str], expected: &str) -> Output {
        let o = self.run(prog, args);
        assert_stdout(&o, 0, expected);
        o
    }

    /// Runs a tool (readelf, nm, ...) with cwd = a world's dir; asserts success.
    pub fn tool_in(&self, world: World, tool: &str, args: &[&str]) -> String {
        let mut cmd = Command::new(tool);
        cmd.args(args).current_dir(self.world_dir(world));
        let o = run_command(&mut cmd, TOOL_TIMEOUT, &self.root);
        assert!(o.success(), "{tool} failed: {o}");
        o.stdout
    }

    /// Runs a tool in the linker-under-test's world.
    pub fn tool(&self, tool: &str, args: &[&str]) -> String {
        self.tool_in(World::Test, tool, args)
    }

    /// `readelf <args> <file>` (wide output) on a file of the linker-under-test's world.
    pub fn readelf(&self, args: &str, file: &str) -> String {
        let mut a: Vec<&str> = vec!["-W"];
        a.extend(args.split_whitespace());
        a.push(file);
        self.tool("readelf", &a)
    }

    /// `nm <file>` in the linker-under-test's world.
    pub fn nm(&self, file: &str) -> String {
        self.tool("nm", &[file])
    }

    /// Names of the sections of a file of the linker-under-test's world.
    pub fn section_names(&self, file: &str) -> Vec<String> {
        section_names_of(&self.readelf("-S", file))
    }

    /// Program header types (`readelf -l`) of a file of the linker-under-test's world.
    pub fn segment_types(&self, file: &str) -> Vec<String> {
        segment_types_of(&self.readelf("-l", file))
    }

    /// `readelf -d` entries as (tag, value) pairs, e.g. ("NEEDED", "Shared library: [libc.so.6]").
    pub fn dynamic_entries(&self, file: &str) -> Vec<(String, String)> {
        dynamic_entries_of(&self.readelf("-d", file))
    }

    /// The library names of DT_NEEDED entries.
    pub fn needed(&self, file: &str) -> Vec<String> {
        self.dynamic_entries(file).into_iter().filter(|(t, _)| t == "NEEDED").map(|(_, v)| bracketed(&v)).collect()
    }

    /// Creates a symlink `link -> target` in both worlds (e.g. libfoo.so.1 -> libfoo.so).
    pub fn symlink_in_worlds(&self, target: &str, link: &str) {
        for w in WORLDS {
            let l = self.world_dir(w).join(link);
            let _ = std::fs::remove_file(&l);
            std::os::unix::fs::symlink(target, &l).unwrap();
        }
    }

    /// Copies `from` to `to` within each world (both relative to the world dir).
    pub fn copy_in_worlds(&self, from: &str, to: &str) {
        for w in WORLDS {
            let d = self.world_dir(w);
            if let Some(parent) = d.join(to).parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::copy(d.join(from), d.join(to)).unwrap();
        }
    }

    /// Copies a file (e.g. an archive from the objects dir) to `to` (relative) in both worlds.
    pub fn copy_to_worlds(&self, from: &str, to: &str) {
        for w in WORLDS {
            let dest = self.world_dir(w).join(to);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::copy(from, &dest).unwrap_or_else(|e| panic!("copy {from} -> {}: {e}", dest.display()));
        }
    }

    /// Creates a directory in both worlds.
    pub fn mkdir_in_worlds(&self, dir: &str) {
        for w in WORLDS {
            std::fs::create_dir_all(self.world_dir(w).join(dir)).unwrap();
        }
    }

    /// Line number (1-based) of the first line of a tests/c source containing `marker`.
    pub fn line_of(&self, src: &str, marker: &str) -> usize {
        let text = std::fs::read_to_string(self.src(src)).unwrap();
        text.lines().position(|l| l.contains(marker)).unwrap_or_else(|| panic!("{marker:?} not found in {src}")) + 1
    }
}

impl Drop for Test {
    fn drop(&mut self) {
        if std::thread::panicking() || self.keep {
            let _ = writeln!(
                std::io::stderr(),
                "[{}] kept temp dir: {} (linker under test: {:?} = {})",
                self.name,
                self.root.display(),
                self.under_test.kind,
                self.under_test.path.display()
            );
        } else if let Err(e) = remove_dir_all_retry(&self.root) {
            let _ =
                writeln!(std::io::stderr(), "[{}] could not remove temp dir {}: {e}", self.name, self.root.display());
        }
    }
}

/// `remove_dir_all`, retried a few times: a process that exited may still have files
/// being closed/written by a grandchild for a moment.
fn remove_dir_all_retry(p: &Path) -> std::io::Result<()> {
    let mut last = Ok(());
    for _ in 0..5 {
        last = std::fs::remove_dir_all(p);
        match &last {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    last
}

/// Runs gdb in batch mode on a world's program; returns the `$N = value` lines (values
/// only) and the full output.
pub fn gdb_values(t: &Test, world: World, prog: &str, breaks: &[String], cmds: &[&str]) -> (Vec<String>, String) {
    let mut cmd = Command::new("gdb");
    cmd.args(["-nx", "-batch", "-iex", "set debuginfod enabled off", "-iex", "set pagination off"]);
    for b in breaks {
        cmd.args(["-ex", &format!("break {b}")]);
    }
    cmd.args(["-ex", "run"]);
    for c in cmds {
        cmd.args(["-ex", c]);
    }
    cmd.arg(t.out_in(world, prog));
    cmd.current_dir(t.world_dir(world));
    let o = run_command(&mut cmd, Duration::from_secs(60), t.root());
    let values = o
        .stdout
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix('$')?;
            let (num, val) = rest.split_once(" = ")?;
            num.parse::<u32>().ok()?;
            Some(val.to_string())
        })
        .collect();
    (values, format!("{o}"))
}

pub fn path_str(p: &Path) -> String {
    p.to_str().expect("non-UTF-8 path").to_string()
}

/// Asserts exit code and exact stdout.
pub fn assert_stdout(o: &Output, code: i32, expected: &str) {
    assert!(
        o.code == Some(code) && o.stdout == expected,
        "expected exit {code} and stdout:\n{expected}\n--- but got ---\n{o}"
    );
}

/// Whether `readelf -W -S` lists section `name` with the compressed flag (C); `None` when it
/// lists no such section.
pub fn section_is_compressed(readelf_s: &str, name: &str) -> Option<bool> {
    let line = readelf_s.lines().find(|l| l.split_whitespace().any(|w| w == name))?;
    // After the name: type, address, offset, size, entry size, then the flags (absent when
    // the section has none).
    let flags =
        line.split_whitespace().skip_while(|w| *w != name).nth(6).filter(|w| w.chars().all(|c| c.is_ascii_uppercase()));
    Some(flags.is_some_and(|f| f.contains('C')))
}

/// Section names from `readelf -S -W` output.
pub fn section_names_of(readelf_s: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in readelf_s.lines() {
        let l = line.trim_start();
        if !l.starts_with('[') {
            continue;
        }
        let Some(close) = l.find(']') else { continue };
        let idx = l[1..close].trim();
        if idx.parse::<u32>().is_err() {
            continue;
        }
        let rest = l[close + 1..].trim_start();
        if let Some(name) = rest.split_whitespace().next() {
            // Index 0 is the null section whose name column holds the type "NULL".
            if idx != "0" {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// Segment types from `readelf -l -W` output.
pub fn segment_types_of(readelf_l: &str) -> Vec<String> {
    let mut in_headers = false;
    let mut types = Vec::new();
    for line in readelf_l.lines() {
        if line.starts_with("Program Headers:") {
            in_headers = true;
            continue;
        }
        if in_headers {
            let l = line.trim();
            if l.is_empty() || l.starts_with("Section to Segment") {
                break;
            }
            if l.starts_with("Type") || l.starts_with('[') {
                continue;
            }
            if let Some(t) = l.split_whitespace().next() {
                types.push(t.to_string());
            }
        }
    }
    types
}

/// Flags column ("RW", "R E", ...) of a segment type in `readelf -l -W` output.
pub fn segment_flags_of(readelf_l: &str, seg_type: &str) -> Option<String> {
    for line in readelf_l.lines() {
        let l = line.trim();
        if l.split_whitespace().next() == Some(seg_type) {
            // Columns: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() >= 8 {
                return Some(cols[6..cols.len() - 1].join(" "));
            }
        }
    }
    None
}

/// (tag, value) pairs of `readelf -d` output.
pub fn dynamic_entries_of(readelf_d: &str) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for line in readelf_d.lines() {
        let l = line.trim();
        if !l.starts_with("0x") {
            continue;
        }
        let Some(open) = l.find('(') else { continue };
        let Some(close) = l[open..].find(')') else {
            continue;
        };
        let tag = l[open + 1..open + close].to_string();
        let value = l[open + close + 1..].trim().to_string();
        v.push((tag, value));
    }
    v
}

/// The text between the first `[` and the next `]`.
pub fn bracketed(s: &str) -> String {
    match (s.find('['), s.find(']')) {
        (Some(a), Some(b)) if b > a => s[a + 1..b].to_string(),
        _ => s.to_string(),
    }
}

/// Symbols of `nm` output as (type letter, name).
pub fn nm_symbols(nm_output: &str) -> Vec<(char, String)> {
    nm_output
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            match cols.len() {
                3 => Some((cols[1].chars().next()?, cols[2].to_string())),
                2 => Some((cols[0].chars().next()?, cols[1].to_string())),
                _ => None,
            }
        })
        .collect()
}

/// Whether `nm` output has a symbol `name` that is defined (type not U/w/v).
pub fn nm_defines(nm_output: &str, name: &str) -> bool {
    nm_symbols(nm_output).iter().any(|(t, n)| n == name && !matches!(t, 'U' | 'w' | 'v'))
}

/// Whether `nm` output mentions `name` at all.
pub fn nm_has(nm_output: &str, name: &str) -> bool {
    nm_symbols(nm_output).iter().any(|(_, n)| n == name)
}

/// Address of a symbol in `nm` output.
pub fn nm_address(nm_output: &str, name: &str) -> Option<u64> {
    nm_output.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.len() == 3 && cols[2] == name).then(|| u64::from_str_radix(cols[0], 16).ok())?
    })
}

/// Counts non-overlapping occurrences of `needle` in `hay`.
pub fn count_occurrences(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    let mut n = 0;
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            n += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    n
}

/// A small deterministic PRNG (xorshift64*), for the corrupted-input tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Convenience: `&[String]` -> `Vec<&str>`.
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The sources of the `multi` test program (tests/c/multi_*.c), linked by several tests.
pub const MULTI_SOURCES: [&str; 3] = ["multi_main.c", "multi_util.c", "multi_data.c"];

/// What `multi` prints; its `classes` line depends on the argument count, so that a program
/// that does not see its arguments fails.
pub fn multi_expected(one_argument: bool) -> String {
    let classes = if one_argument { "3 3 4 2" } else { "3 4 3 2" };
    format!(
        "sorted: 3 5 7 19 23 42 61 88\n\
         day names: Mon,Tue,Wed,Thu,Fri,Sat,Sun\n\
         op add -> 12\nop mul -> 36\nop sub -> 32\nop xor -> 37\n\
         classes: {classes}\n\
         checksum: 6369757856945626774\n\
         bss all zero: 1\n"
    )
}

/// The result lines of `cargo test`'s stdout (`running N tests`, `test ... ok`, `test result:
/// ...`) without timings and doctest line numbers (which would tie an expectation to the
/// layout of a source file).
pub fn cargo_test_summary(stdout: &str) -> String {
    let mut summary = String::new();
    for line in stdout.lines().filter(|l| l.starts_with("running ") || l.starts_with("test ")) {
        let line = line.split("; finished in").next().unwrap();
        match line.split_once(" (line ") {
            Some((name, rest)) => summary.push_str(&format!("{name}{}", &rest[rest.find(')').unwrap() + 1..])),
            None => summary.push_str(line),
        }
        summary.push('\n');
    }
    summary
}
