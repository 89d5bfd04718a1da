// Built by tests/tests/backend.rs with `--crate-type cdylib` (librivet_cdylib.so) and called
// from C (main.c): its `#[unsafe(no_mangle)]` functions and static are the library's whole
// interface. Inside, it uses what a Rust shared object needs at run time: the heap, string
// formatting, a callback into the program, a static and a thread-local, and unwinding (a
// panic caught before it reaches C).
use std::cell::Cell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::atomic::{AtomicU32, Ordering};

/// Read by the C program directly (a copy relocation in the executable).
#[unsafe(no_mangle)]
pub static RIVET_CDYLIB_VERSION: u32 = 7;

static CALLS: AtomicU32 = AtomicU32::new(0);

thread_local! {
    static CALLS_ON_THIS_THREAD: Cell<u32> = const { Cell::new(0) };
}

fn count_call() {
    CALLS.fetch_add(1, Ordering::Relaxed);
    CALLS_ON_THIS_THREAD.with(|c| c.set(c.get() + 1));
}

/// The sum of i * collatz_steps(i) for i in 1..=n.
#[unsafe(no_mangle)]
pub extern "C" fn rivet_cdylib_checksum(n: u32) -> u64 {
    count_call();
    let steps: Vec<u64> = (1..=u64::from(n))
        .map(|mut x| {
            let mut steps = 0;
            while x != 1 {
                x = if x % 2 == 0 { x / 2 } else { 3 * x + 1 };
                steps += 1;
            }
            steps
        })
        .collect();
    steps.iter().zip(1..).map(|(s, i)| s * i).sum()
}

/// Calls `callback(index, word, length, data)` for each word of `text`; returns how many.
#[unsafe(no_mangle)]
pub extern "C" fn rivet_cdylib_each_word(
    text: *const c_char,
    callback: extern "C" fn(usize, *const c_char, usize, *mut c_void),
    data: *mut c_void,
) -> usize {
    count_call();
    // SAFETY: the caller passes a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(text) }.to_str().unwrap_or("");
    let mut count = 0;
    for (index, word) in text.split_whitespace().enumerate() {
        callback(index, word.as_ptr().cast(), word.len(), data);
        count += 1;
    }
    count
}

/// A new string describing `text`; the caller frees it with `rivet_cdylib_free`.
#[unsafe(no_mangle)]
pub extern "C" fn rivet_cdylib_describe(text: *const c_char) -> *mut c_char {
    count_call();
    // SAFETY: the caller passes a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let mut words: Vec<&str> = text.split_whitespace().collect();
    words.sort_unstable();
    let description = format!("{} bytes, sorted: {}, shouted: {}", text.len(), words.join(" "), text.to_uppercase());
    CString::new(description).unwrap().into_raw()
}

#[unsafe(no_mangle)]
pub extern "C" fn rivet_cdylib_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `rivet_cdylib_describe`.
        drop(unsafe { CString::from_raw(s) });
    }
}

#[inline(never)]
fn divide(a: i64, b: i64) -> i64 {
    if b == 0 {
        panic!("division of {a} by zero");
    }
    a / b
}

/// `a / b`, or -1 when `b` is 0: the panic unwinds through this library's frames and is
/// caught here.
#[unsafe(no_mangle)]
pub extern "C" fn rivet_cdylib_checked_div(a: i64, b: i64) -> i64 {
    count_call();
    std::panic::catch_unwind(|| divide(a, b)).unwrap_or(-1)
}

/// Calls so far: all threads, and this thread's.
#[unsafe(no_mangle)]
pub extern "C" fn rivet_cdylib_calls(on_this_thread: *mut u32) -> u32 {
    if !on_this_thread.is_null() {
        // SAFETY: the caller passes a valid pointer.
        unsafe { *on_this_thread = CALLS_ON_THIS_THREAD.with(Cell::get) };
    }
    CALLS.load(Ordering::Relaxed)
}
