//! The workspace's library: C code built by its build script, thread-locals of both kinds,
//! a linkme slice that other crates add to, and a backtrace through its own frames.
#![feature(thread_local)]

use std::cell::Cell;

// `SQUARES`, written by build.rs.
include!(concat!(env!("OUT_DIR"), "/generated.rs"));

unsafe extern "C" {
    fn ws_native_mix(x: i32) -> i32;
    fn ws_native_calls() -> i32;
}

/// `3 * x + 1`, computed in C; the `+ 1` is set by a C constructor.
///
/// ```
/// let before = ws_lib::native_calls();
/// assert_eq!(ws_lib::native_mix(5), 16);
/// assert_eq!(ws_lib::native_calls(), before + 1);
/// ```
pub fn native_mix(x: i32) -> i32 {
    unsafe { ws_native_mix(x) }
}

/// How often this thread called [`native_mix`] (a C `__thread` counter).
pub fn native_calls() -> i32 {
    unsafe { ws_native_calls() }
}

thread_local! {
    pub static LIB_COUNTER: Cell<u32> = const { Cell::new(0) };
}

#[thread_local]
static LIB_RAW: Cell<u32> = Cell::new(100);

/// Increments both of this crate's thread-locals; returns (`thread_local!`, `#[thread_local]`).
pub fn bump() -> (u32, u32) {
    LIB_COUNTER.with(|c| c.set(c.get() + 1));
    LIB_RAW.set(LIB_RAW.get() + 1);
    (LIB_COUNTER.with(Cell::get), LIB_RAW.get())
}

pub struct Greeting {
    pub name: &'static str,
    pub order: u32,
}

/// Filled by every crate linked in (`__start_`/`__stop_` of a section, under --gc-sections).
#[linkme::distributed_slice]
pub static GREETINGS: [Greeting];

#[linkme::distributed_slice(GREETINGS)]
static FROM_LIB: Greeting = Greeting { name: "ws-lib", order: 1 };

/// The names in [`GREETINGS`], by order.
///
/// ```
/// assert_eq!(ws_lib::greeting_names(), ["ws-lib"]);
/// ```
pub fn greeting_names() -> Vec<&'static str> {
    let mut all: Vec<&Greeting> = GREETINGS.iter().collect();
    all.sort_by_key(|g| g.order);
    all.iter().map(|g| g.name).collect()
}

/// Whether a backtrace captured here names this function and the file:line of the capture.
#[inline(never)]
pub fn backtrace_report() -> String {
    let (bt, line) = (std::backtrace::Backtrace::force_capture().to_string(), line!());
    // A frame is a line with its function's name, then `at <file>:<line>:<column>`, the file
    // relative to the current directory when below it, else absolute.
    let mut frame = bt.lines().skip_while(|l| !l.contains("ws_lib::backtrace_report"));
    let named = frame.next().is_some();
    let located = frame.next().is_some_and(|l| l.contains(&format!("src/lib.rs:{line}:")));
    format!("backtrace names ws_lib::backtrace_report: {named}, has src/lib.rs:<line>: {located}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_script_generated_code() {
        assert_eq!(SQUARES, [0, 1, 4, 9, 16]);
    }

    #[test]
    fn thread_locals_are_per_thread() {
        let main = bump();
        assert_eq!(std::thread::spawn(bump).join().unwrap(), (1, 101));
        assert_eq!(bump(), (main.0 + 1, main.1 + 1));
    }

    #[test]
    fn backtrace_has_names_and_lines() {
        assert!(backtrace_report().ends_with(": true, has src/lib.rs:<line>: true"), "{}", backtrace_report());
    }
}
