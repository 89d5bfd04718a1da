// A Rust `dylib`: Rust-ABI functions and a generic, used by a program through -C prefer-dynamic.
pub fn greet(name: &str) -> String {
    format!("hello, {name}, from a Rust dylib")
}

pub fn largest<T: PartialOrd + Copy>(items: &[T]) -> T {
    items.iter().copied().fold(items[0], |a, b| if b > a { b } else { a })
}
