// Built by tests/tests/backend.rs: calls a C function that nothing defines, so the link fails.
unsafe extern "C" {
    fn rivet_backend_test_missing_function(x: i32) -> i32;
}

fn main() {
    let v = unsafe { rivet_backend_test_missing_function(3) };
    println!("{v}");
}
