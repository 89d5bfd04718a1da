// A Rust program exercising what a Rust link must get right: thread-locals, unwinding
// (catch_unwind, a panicking thread), backtraces with symbol names and file:line, and std.
use std::cell::Cell;
use std::collections::BTreeMap;

thread_local! { static COUNTER: Cell<u32> = const { Cell::new(1) }; }

#[inline(never)]
fn deep(n: u32) -> String {
    if n == 0 {
        let bt = std::backtrace::Backtrace::force_capture().to_string();
        let named = bt.contains("std_features::deep");
        let located = bt.contains("std_features.rs:");
        format!("backtrace names deep: {named}, has file:line: {located}")
    } else {
        deep(n - 1)
    }
}

fn main() {
    COUNTER.with(|c| c.set(c.get() + 41));
    let other = std::thread::spawn(|| COUNTER.with(|c| c.get())).join().unwrap();
    println!("tls main={} other={}", COUNTER.with(|c| c.get()), other);

    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| -> u32 { panic!("caught") });
    println!("catch_unwind caught a panic: {}", caught.is_err());
    let joined = std::thread::spawn(|| -> u32 { panic!("in a thread") }).join();
    println!("thread panic reported to join: {}", joined.is_err());
    let _ = std::panic::take_hook();

    let mut words: BTreeMap<&str, usize> = BTreeMap::new();
    for w in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *words.entry(w).or_default() += 1;
    }
    println!("the={} distinct={}", words["the"], words.len());
    println!("{}", deep(3));
}
