// A cdylib: C ABI functions, a Rust thread-local and a caught panic inside the library.
use std::cell::Cell;
thread_local! { static CALLS: Cell<u32> = const { Cell::new(0) }; }

#[unsafe(no_mangle)]
pub extern "C" fn rivet_add(a: i32, b: i32) -> i32 {
    CALLS.with(|c| c.set(c.get() + 1));
    let caught = std::panic::catch_unwind(|| if a < 0 { panic!("negative") } else { a }).unwrap_or(0);
    caught + b + CALLS.with(|c| c.get()) as i32
}
