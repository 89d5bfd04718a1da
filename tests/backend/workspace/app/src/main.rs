//! Prints values from each crate of the workspace: a library, a derive macro (run inside
//! rustc, from the proc-macro's shared object) and a C library compiled by a build script.
use ws_derive::Describe;

#[derive(Describe)]
#[allow(dead_code)]
struct Point {
    x: i64,
    pub y: i64,
    label: Option<String>,
}

#[derive(Describe)]
#[allow(dead_code)]
struct Unit;

fn main() {
    println!("ws-lib: fibonacci(10) = {}, collatz(27) = {}", ws_lib::fibonacci(10), ws_lib::collatz_steps(27));
    println!("ws-derive: {}", Point::describe());
    println!("ws-derive: {}", Unit::describe());
    println!("ws-native: mix(5) = {}, table sum = {}", ws_native::mix(5), ws_native::table_sum());
    println!("ws-native: built by {}", ws_native::BUILT_BY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_names_fields() {
        assert_eq!(Point::describe(), "struct Point { x, y, label }");
    }
}
