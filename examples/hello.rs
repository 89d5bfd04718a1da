//! Built by `scripts/demo.sh` through the rivet backend (`-Zcodegen-backend=rivet`).
fn main() {
    let linker = std::fs::read(std::env::current_exe().expect("own path")).expect("own bytes");
    let by_rivet = linker.windows(13).any(|w| w == b"Linker: rivet");
    println!("hello from a Rust program linked in-process by rivet: {by_rivet}");
}
