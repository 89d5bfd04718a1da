// A proc-macro crate: rustc loads the shared object the linker under test produced.
extern crate proc_macro;
use proc_macro::TokenStream;

#[proc_macro_derive(Hello)]
pub fn derive_hello(input: TokenStream) -> TokenStream {
    let text = input.to_string();
    let name = text
        .split_whitespace()
        .skip_while(|w| *w != "struct")
        .nth(1)
        .expect("a struct name")
        .trim_end_matches(';')
        .to_string();
    format!("impl {name} {{ fn hello() -> &'static str {{ \"hello from {name}, derived by a macro\" }} }}")
        .parse()
        .expect("generated code parses")
}
