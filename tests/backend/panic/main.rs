// Built by tests/tests/backend.rs with `-g` and run with RUST_BACKTRACE=1: the panic's
// backtrace must name these functions with `main.rs:<line>`. The markers name the lines.
#[inline(never)]
fn outer_frame(depth: u32) -> u32 {
    middle_frame(depth + 1) + 1 // LINE outer_frame
}

#[inline(never)]
fn middle_frame(depth: u32) -> u32 {
    innermost_frame(depth + 1) * 2 // LINE middle_frame
}

#[inline(never)]
fn innermost_frame(depth: u32) -> u32 {
    if depth >= 2 {
        panic!("nested panic at depth {depth}"); // LINE innermost_frame
    }
    depth
}

fn main() {
    println!("before the panic");
    let v = outer_frame(std::hint::black_box(0)); // LINE main
    println!("not reached: {v}");
}
