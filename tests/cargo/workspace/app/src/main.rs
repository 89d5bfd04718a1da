//! The workspace's program. Each line it prints depends on something the link must get
//! right: build-script output, a `cc`-built C library with a constructor and a C
//! thread-local, Rust thread-locals of both kinds in two crates, serde's derive (a
//! proc-macro), a linkme slice filled from two crates, unwinding and backtraces.
#![feature(thread_local)]

use serde::Serialize;
use std::cell::Cell;
use ws_lib::{GREETINGS, Greeting};

thread_local! {
    static APP_COUNTER: Cell<u32> = const { Cell::new(10) };
}

#[thread_local]
static APP_RAW: Cell<u32> = Cell::new(20);

#[linkme::distributed_slice(GREETINGS)]
static FROM_APP: Greeting = Greeting { name: "app", order: 2 };

#[linkme::distributed_slice(GREETINGS)]
static FROM_APP_AGAIN: Greeting = Greeting { name: "app again", order: 3 };

#[derive(Serialize)]
struct Report {
    name: &'static str,
    parts: Vec<u32>,
    inner: Inner,
}

#[derive(Serialize)]
struct Inner {
    flag: bool,
    ratio: f64,
}

/// Increments every thread-local of this crate and of ws-lib: (lib!, lib#, app!, app#).
fn bump_all() -> (u32, u32, u32, u32) {
    let (lib_macro, lib_attr) = ws_lib::bump();
    APP_COUNTER.with(|c| c.set(c.get() + 1));
    APP_RAW.set(APP_RAW.get() + 1);
    (lib_macro, lib_attr, APP_COUNTER.with(Cell::get), APP_RAW.get())
}

/// The message of a panic payload.
fn message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload.downcast_ref::<&str>().copied().unwrap_or("?")
}

fn main() {
    println!("build script: squares {:?}", ws_lib::SQUARES);

    ws_lib::native_mix(0);
    let mixed = ws_lib::native_mix(5);
    let in_thread = std::thread::spawn(|| (ws_lib::native_mix(1), ws_lib::native_calls())).join().unwrap();
    println!("c: native_mix(5) = {mixed}, calls in main {}, in a new thread {}", ws_lib::native_calls(), in_thread.1);

    bump_all();
    let main = bump_all();
    let new = std::thread::spawn(bump_all).join().unwrap();
    println!("thread_local!: ws-lib main={} new={}, app main={} new={}", main.0, new.0, main.2, new.2);
    println!("#[thread_local]: ws-lib main={} new={}, app main={} new={}", main.1, new.1, main.3, new.3);

    let report = Report { name: "rivet", parts: vec![1, 2, 3], inner: Inner { flag: true, ratio: 0.5 } };
    println!("serde: {}", serde_json::to_string(&report).expect("serializes"));

    let names = ws_lib::greeting_names();
    println!("linkme: {} greetings: {}", names.len(), names.join(", "));

    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| -> u32 { panic!("boom") }).unwrap_err();
    println!("catch_unwind caught: {}", message(&*caught));
    let joined = std::thread::spawn(|| -> u32 { panic!("boom in a thread") }).join().unwrap_err();
    println!("spawned thread panic reported to join: {}", message(&*joined));
    let _ = std::panic::take_hook();

    println!("{}", ws_lib::backtrace_report());
}
