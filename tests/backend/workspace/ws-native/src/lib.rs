//! Rust wrappers of the C functions in native/native.c (an archive made by build.rs).

unsafe extern "C" {
    fn ws_native_mix(x: i32) -> i32;
    fn ws_native_table_sum() -> i32;
}

/// Set by the build script (`cargo::rustc-env`).
pub const BUILT_BY: &str = env!("WS_NATIVE_BUILT_BY");

pub fn mix(x: i32) -> i32 {
    // SAFETY: a pure C function.
    unsafe { ws_native_mix(x) }
}

pub fn table_sum() -> i32 {
    // SAFETY: a pure C function reading a constant table.
    unsafe { ws_native_table_sum() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn c_functions_answer() {
        assert_eq!(super::mix(0), 1);
        assert_eq!(super::table_sum(), 41);
    }
}
