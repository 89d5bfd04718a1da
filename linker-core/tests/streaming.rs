//! The library API takes inputs in any arrival order while earlier ones are parsed; the
//! output must not depend on that order. Links a freestanding program (no libc) from objects
//! and an archive, adding the inputs forwards and backwards, runs it, and compares bytes.

use linker_core::{FileArena, Session, load_inputs};
use std::path::{Path, PathBuf};
use std::process::Command;

const START: &str = r#"
extern int sum_table(void);
extern const char *greeting(void);
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
void _start(void) {
    const char *g = greeting();
    long len = 0;
    while (g[len]) len++;
    sys3(1, 1, (long)g, len);
    sys3(60, sum_table(), 0, 0);
}
"#;
const TABLE: &str = "static int table[] = {1, 2, 3, 4, 5};\nint helper(int i);\nint sum_table(void) { int s = 0; for (int i = 0; i < 5; i++) s += helper(table[i]); return s; }\n";
const HELPER: &str = "int helper(int i) { return i * 2; }\n";
const GREETING: &str = "const char *greeting(void) { return \"streamed\\n\"; }\n";

fn compile(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    let status = Command::new("gcc")
        .args(["-c", "-O1", "-fno-pic", "-ffreestanding", "-fno-stack-protector", "-fno-asynchronous-unwind-tables"])
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status()
        .expect("gcc runs");
    assert!(status.success());
    o
}

fn link(dir: &Path, inputs: &[PathBuf], out: &str, reverse: bool, threads: usize) -> Vec<u8> {
    let out = dir.join(out);
    let mut argv: Vec<std::ffi::OsString> = vec!["-static".into(), "-o".into(), out.clone().into()];
    argv.extend(inputs.iter().map(|p| p.clone().into_os_string()));
    let config = linker_core::args::parse(&argv).expect("arguments parse");
    let arena = FileArena::default();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.in_place_scope(|scope| {
        let mut session = Session::new(config.clone(), &arena, scope);
        let mut files = load_inputs(&config, &arena).expect("inputs load");
        if reverse {
            files.reverse();
        }
        for f in files {
            session.add(f).expect("input accepted");
        }
        session.finish(&pool).expect("link succeeds");
    });
    std::fs::read(&out).unwrap()
}

#[test]
fn arrival_order_does_not_change_the_output() {
    let dir = std::env::temp_dir().join(format!("rivet-streaming-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let start = compile(&dir, "start", START);
    let table = compile(&dir, "table", TABLE);
    let helper = compile(&dir, "helper", HELPER);
    let greeting = compile(&dir, "greeting", GREETING);
    let archive = dir.join("libparts.a");
    let _ = std::fs::remove_file(&archive);
    assert!(Command::new("ar").arg("rcs").arg(&archive).arg(&helper).arg(&greeting).status().unwrap().success());
    let inputs = vec![start, table, archive];

    let forward = link(&dir, &inputs, "forward", false, 2);
    let backward = link(&dir, &inputs, "backward", true, 2);
    let one_thread = link(&dir, &inputs, "one-thread", true, 1);
    assert!(forward == backward, "arrival order changed the output");
    assert!(forward == one_thread, "thread count changed the output");

    let run = Command::new(dir.join("forward")).output().expect("program runs");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "streamed\n");
    assert_eq!(run.status.code(), Some(30), "sum of doubled 1..5");
    std::fs::remove_dir_all(&dir).unwrap();
}
