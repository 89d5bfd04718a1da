//! `#[derive(Describe)]` without syn: the token stream is read by hand. It adds
//! `fn describe() -> &'static str` naming the struct and its fields.
use proc_macro::{Delimiter, TokenStream, TokenTree};

#[proc_macro_derive(Describe)]
pub fn derive_describe(input: TokenStream) -> TokenStream {
    let mut tokens = input.into_iter();
    let mut name = None;
    while let Some(token) = tokens.next() {
        if let TokenTree::Ident(ident) = &token
            && ident.to_string() == "struct"
        {
            match tokens.next() {
                Some(TokenTree::Ident(n)) => name = Some(n.to_string()),
                other => panic!("expected the struct's name, found {other:?}"),
            }
            break;
        }
    }
    let name = name.expect("#[derive(Describe)] works on structs only");
    let mut fields = Vec::new();
    for token in tokens {
        if let TokenTree::Group(group) = token
            && group.delimiter() == Delimiter::Brace
        {
            fields = field_names(group.stream());
        }
    }
    let description =
        if fields.is_empty() { format!("struct {name}") } else { format!("struct {name} {{ {} }}", fields.join(", ")) };
    format!("impl {name} {{ pub fn describe() -> &'static str {{ {description:?} }} }}")
        .parse()
        .expect("generated code parses")
}

/// Field names of a braced struct body: in each comma-separated part at the top level, the
/// last identifier before the first `:`.
fn field_names(body: TokenStream) -> Vec<String> {
    let mut names = Vec::new();
    let mut last_ident = None;
    let mut in_type = false;
    let mut angle_depth = 0usize;
    for token in body {
        match token {
            TokenTree::Punct(p) if p.as_char() == ':' && !in_type => {
                names.extend(last_ident.take());
                in_type = true;
            }
            TokenTree::Punct(p) if p.as_char() == '<' => angle_depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => angle_depth = angle_depth.saturating_sub(1),
            TokenTree::Punct(p) if p.as_char() == ',' && angle_depth == 0 => {
                in_type = false;
                last_ident = None;
            }
            TokenTree::Ident(ident) if !in_type => last_ident = Some(ident.to_string()),
            _ => {}
        }
    }
    names
}
