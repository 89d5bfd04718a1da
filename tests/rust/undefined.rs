// References a Rust (legacy-mangled) function nobody defines: the link must fail and name it
// demangled.
unsafe extern "Rust" {
    #[link_name = "_ZN10some_crate6module13missing_thing17h0123456789abcdefE"]
    fn missing_thing() -> u32;
    // The same kind of path in v0 mangling.
    #[link_name = "_RNvNtCs1234_11other_crate5inner13absent_helper"]
    fn absent_helper() -> u32;
}

fn main() {
    println!("{}", unsafe { missing_thing() + absent_helper() });
}
