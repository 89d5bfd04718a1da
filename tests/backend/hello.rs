// Built by tests/tests/backend.rs: `rustc -Zcodegen-backend=rivet hello.rs`.
fn main() {
    let who = std::env::args().nth(1).unwrap_or_else(|| "rivet".to_string());
    println!("hello, {who}, from a program rustc linked in-process");
}
