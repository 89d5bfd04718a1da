//! Compiles native/native.c with `cc -c` and archives it with `ar rcs` into OUT_DIR, then
//! tells cargo to link the archive. No `cc` crate: this workspace builds offline.
use std::path::PathBuf;
use std::process::Command;

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}

fn main() {
    println!("cargo::rerun-if-changed=native/native.c");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out.join("native.o");
    run(Command::new("cc").args(["-c", "-O2", "-fPIC", "native/native.c", "-o"]).arg(&object));
    let archive = out.join("libws_native_c.a");
    let _ = std::fs::remove_file(&archive);
    run(Command::new("ar").arg("rcs").arg(&archive).arg(&object));
    println!("cargo::rustc-link-lib=static=ws_native_c");
    println!("cargo::rustc-link-search=native={}", out.display());
    println!("cargo::rustc-env=WS_NATIVE_BUILT_BY=build.rs with cc and ar");
}
