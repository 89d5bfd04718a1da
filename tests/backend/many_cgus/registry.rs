use std::sync::atomic::{AtomicUsize, Ordering};

static CALLS: AtomicUsize = AtomicUsize::new(0);

pub fn count_call() {
    CALLS.fetch_add(1, Ordering::Relaxed);
}

pub fn calls() -> usize {
    CALLS.load(Ordering::Relaxed)
}

pub trait Plugin: Sync {
    fn name(&self) -> &str;
    fn run(&self, input: u64) -> u64;
}

struct Doubler;
struct Squarer;
struct Fib;

impl Plugin for Doubler {
    fn name(&self) -> &str {
        "doubler"
    }
    fn run(&self, input: u64) -> u64 {
        input * 2
    }
}

impl Plugin for Squarer {
    fn name(&self) -> &str {
        "squarer"
    }
    fn run(&self, input: u64) -> u64 {
        input * input
    }
}

impl Plugin for Fib {
    fn name(&self) -> &str {
        "fibonacci"
    }
    fn run(&self, input: u64) -> u64 {
        crate::numbers::fibonacci(input as u32)
    }
}

/// A static table of trait objects: data relocations to vtables in other units.
pub static PLUGINS: &[&dyn Plugin] = &[&Doubler, &Squarer, &Fib];
