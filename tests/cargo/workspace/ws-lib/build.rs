//! A build script (a host program cargo links and runs before compiling the crate): builds
//! the C library with `cc` and generates Rust code into OUT_DIR.
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=native/native.c");
    cc::Build::new().file("native/native.c").compile("ws_native");
    let squares: Vec<String> = (0..5u32).map(|i| (i * i).to_string()).collect();
    let code = format!("pub const SQUARES: [u32; 5] = [{}];\n", squares.join(", "));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("generated.rs");
    std::fs::write(out, code).expect("write generated.rs");
}
