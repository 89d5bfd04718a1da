//! The small GNU ld scripts that system libraries ship in place of a library.
//!
//! glibc's `libc.so`, for example, is not an ELF file but the text
//!
//! ```text
//! /* GNU ld script */
//! OUTPUT_FORMAT(elf64-x86-64)
//! GROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc_nonshared.a
//!         AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )
//! ```
//!
//! Only the commands such scripts use are supported:
//!
//! ```text
//! script  := (command | ';')*
//! command := GROUP '(' inputs ')' | INPUT '(' inputs ')'
//!          | OUTPUT_FORMAT '(' name [',' name ',' name] ')' | OUTPUT_ARCH '(' name ')'
//!          | SEARCH_DIR '(' name ')' | ENTRY '(' name ')'
//! inputs  := (name | AS_NEEDED '(' inputs ')')*      -- separated by whitespace or ','
//! ```
//!
//! An input `-lfoo` names a library to search for; any other input is a file name.
//! Names may be double-quoted and comments are `/* ... */`. Resolving the names to
//! files is left to the caller.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub struct ScriptError(pub String);

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScriptError {}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// Inputs in the order they appear.
    pub inputs: Vec<ScriptInput>,
    pub search_dirs: Vec<PathBuf>,
    pub entry: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptInput {
    pub name: ScriptInputName,
    pub as_needed: bool,
    /// Listed in a GROUP, so archives among the group's inputs are searched repeatedly.
    pub in_group: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptInputName {
    Path(PathBuf),
    /// The text after `-l`: `foo` for `-lfoo`.
    Library(String),
}

/// The only output format a script may ask for.
const OUTPUT_FORMAT: &str = "elf64-x86-64";

/// Commands that start a linker script, including ones `parse` rejects: a file that
/// starts with one of them is meant as a script, and deserves a precise error.
const SCRIPT_COMMANDS: &[&str] = &[
    "GROUP",
    "INPUT",
    "OUTPUT_FORMAT",
    "OUTPUT_ARCH",
    "SEARCH_DIR",
    "ENTRY",
    "SECTIONS",
    "MEMORY",
    "PHDRS",
    "VERSION",
    "INCLUDE",
    "OUTPUT",
    "TARGET",
    "STARTUP",
    "EXTERN",
    "INSERT",
    "ASSERT",
    "PROVIDE",
    "NOCROSSREFS",
    "REGION_ALIAS",
];

/// Cheap check whether a file is a linker script: it starts, after whitespace and
/// comments, with a script command followed by `(` or `{`.
pub fn looks_like_script(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    loop {
        rest = rest.trim_ascii_start();
        let Some(comment) = rest.strip_prefix(b"/*") else {
            break;
        };
        let Some(end) = comment.windows(2).position(|pair| pair == b"*/") else {
            return false;
        };
        rest = comment.get(end + 2..).unwrap_or_default();
    }
    let word_length = rest.iter().position(|&b| !(b.is_ascii_uppercase() || b == b'_')).unwrap_or(rest.len());
    let (word, after) = rest.split_at(word_length);
    SCRIPT_COMMANDS.iter().any(|command| command.as_bytes() == word)
        && matches!(after.trim_ascii_start().first(), Some(b'(' | b'{'))
}

pub fn parse(text: &str) -> Result<Script, ScriptError> {
    let mut lexer = Lexer { text, position: 0, line: 1, token_line: 1 };
    let mut script = Script::default();
    loop {
        match lexer.next_token()? {
            Token::End => return Ok(script),
            Token::Semicolon => {}
            Token::Word("GROUP") => parse_inputs(&mut lexer, &mut script, "GROUP", true)?,
            Token::Word("INPUT") => parse_inputs(&mut lexer, &mut script, "INPUT", false)?,
            Token::Word("OUTPUT_FORMAT") => {
                let formats = parse_arguments(&mut lexer, "OUTPUT_FORMAT")?;
                // With three formats (default, big-endian, little-endian) ld uses the
                // default one unless told the endianness, which x86-64 callers never do.
                match formats.as_slice() {
                    [format] | [format, _, _] if *format == OUTPUT_FORMAT => {}
                    [_] | [_, _, _] => {
                        return Err(lexer.error(&format!(
                            "unsupported OUTPUT_FORMAT({}): only {OUTPUT_FORMAT} is supported",
                            formats.join(", ")
                        )));
                    }
                    _ => return Err(lexer.error("OUTPUT_FORMAT takes one or three arguments")),
                }
            }
            Token::Word("OUTPUT_ARCH") => {
                // The input objects decide the architecture; this is informational.
                parse_single_argument(&mut lexer, "OUTPUT_ARCH")?;
            }
            Token::Word("SEARCH_DIR") => {
                let directory = parse_single_argument(&mut lexer, "SEARCH_DIR")?;
                script.search_dirs.push(PathBuf::from(directory));
            }
            Token::Word("ENTRY") => {
                let symbol = parse_single_argument(&mut lexer, "ENTRY")?;
                script.entry = Some(symbol.to_owned());
            }
            Token::Word(command) => {
                return Err(lexer.error(&format!("unsupported linker script command: {command}")));
            }
            token => return Err(lexer.error(&format!("unexpected {}", token.describe()))),
        }
    }
}

/// Parses `( inputs )` after GROUP or INPUT. AS_NEEDED may nest, and everything inside
/// any AS_NEEDED is as-needed, so a depth counter replaces recursion (which hostile
/// input could use to overflow the stack).
fn parse_inputs(lexer: &mut Lexer<'_>, script: &mut Script, command: &str, in_group: bool) -> Result<(), ScriptError> {
    let command_line = lexer.token_line;
    lexer.expect_open(command)?;
    let mut as_needed_depth = 0usize;
    loop {
        match lexer.next_token()? {
            Token::Comma => {}
            Token::Close if as_needed_depth == 0 => return Ok(()),
            Token::Close => as_needed_depth -= 1,
            Token::Word("AS_NEEDED") => {
                lexer.expect_open("AS_NEEDED")?;
                as_needed_depth += 1;
            }
            Token::Word(entry) => {
                let name = match entry.strip_prefix("-l") {
                    Some("") => return Err(lexer.error("-l without a library name")),
                    Some(library) => ScriptInputName::Library(library.to_owned()),
                    None => ScriptInputName::Path(PathBuf::from(entry)),
                };
                script.inputs.push(ScriptInput { name, as_needed: as_needed_depth > 0, in_group });
            }
            Token::End => {
                return Err(lexer.error_at(command_line, &format!("unterminated {command} (missing ')')")));
            }
            token => {
                return Err(lexer.error(&format!("unexpected {} in {command}", token.describe())));
            }
        }
    }
}

/// Parses `( name [, name]... )`.
fn parse_arguments<'a>(lexer: &mut Lexer<'a>, command: &str) -> Result<Vec<&'a str>, ScriptError> {
    lexer.expect_open(command)?;
    let mut arguments = Vec::new();
    loop {
        match lexer.next_token()? {
            Token::Word(argument) => arguments.push(argument),
            Token::Comma => {}
            Token::Close => return Ok(arguments),
            token => {
                return Err(lexer.error(&format!("unexpected {} in {command}", token.describe())));
            }
        }
    }
}

fn parse_single_argument<'a>(lexer: &mut Lexer<'a>, command: &str) -> Result<&'a str, ScriptError> {
    let command_line = lexer.token_line;
    match parse_arguments(lexer, command)?.as_slice() {
        [argument] => Ok(argument),
        _ => Err(lexer.error_at(command_line, &format!("{command} takes exactly one argument"))),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    Comma,
    Semicolon,
    /// A bare word or the contents of a double-quoted string.
    Word(&'a str),
    End,
}

impl Token<'_> {
    fn describe(&self) -> String {
        match self {
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
            Token::Comma => "','".into(),
            Token::Semicolon => "';'".into(),
            Token::Word(word) => format!("'{word}'"),
            Token::End => "end of script".into(),
        }
    }
}

struct Lexer<'a> {
    text: &'a str,
    /// Byte offset of the next unread character.
    position: usize,
    /// Line of the next unread character.
    line: usize,
    /// Line where the most recently read token starts, for messages.
    token_line: usize,
}

impl<'a> Lexer<'a> {
    /// An error about the most recently read token.
    fn error(&self, message: &str) -> ScriptError {
        self.error_at(self.token_line, message)
    }

    fn error_at(&self, line: usize, message: &str) -> ScriptError {
        ScriptError(format!("{message} (line {line})"))
    }

    fn expect_open(&mut self, command: &str) -> Result<(), ScriptError> {
        match self.next_token()? {
            Token::Open => Ok(()),
            token => Err(self.error(&format!("expected '(' after {command}, found {}", token.describe()))),
        }
    }

    fn peek_byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    /// Moves past `count` bytes, counting lines.
    fn advance(&mut self, count: usize) {
        let end = (self.position + count).min(self.text.len());
        let skipped = self.text.as_bytes().get(self.position..end).unwrap_or_default();
        self.line += skipped.iter().filter(|&&b| b == b'\n').count();
        self.position = end;
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.position..).unwrap_or_default()
    }

    fn skip_whitespace_and_comments(&mut self) -> Result<(), ScriptError> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.advance(rest.len() - trimmed.len());
            if !trimmed.starts_with("/*") {
                return Ok(());
            }
            let line = self.line;
            match trimmed.find("*/") {
                Some(end) => self.advance(end + 2),
                None => return Err(self.error_at(line, "unterminated comment")),
            }
        }
    }

    fn next_token(&mut self) -> Result<Token<'a>, ScriptError> {
        self.skip_whitespace_and_comments()?;
        self.token_line = self.line;
        let single = match self.peek_byte() {
            None => return Ok(Token::End),
            Some(b'(') => Some(Token::Open),
            Some(b')') => Some(Token::Close),
            Some(b',') => Some(Token::Comma),
            Some(b';') => Some(Token::Semicolon),
            Some(_) => None,
        };
        if let Some(token) = single {
            self.advance(1);
            return Ok(token);
        }
        let rest = self.rest();
        if let Some(quoted) = rest.strip_prefix('"') {
            let Some(length) = quoted.find('"') else {
                return Err(self.error("unterminated string"));
            };
            self.advance(length + 2);
            return Ok(Token::Word(quoted.get(..length).unwrap_or_default()));
        }
        let length =
            rest.find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';' | '"')).unwrap_or(rest.len());
        self.advance(length);
        Ok(Token::Word(rest.get(..length).unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str, as_needed: bool, in_group: bool) -> ScriptInput {
        ScriptInput { name: ScriptInputName::Path(name.into()), as_needed, in_group }
    }

    fn library(name: &str, as_needed: bool, in_group: bool) -> ScriptInput {
        ScriptInput { name: ScriptInputName::Library(name.into()), as_needed, in_group }
    }

    fn error_of(text: &str) -> String {
        match parse(text) {
            Ok(script) => panic!("expected an error for {text:?}, got {script:?}"),
            Err(error) => error.to_string(),
        }
    }

    const LIBC_SO: &str = "/* GNU ld script
   Use the shared library, but some functions are only in
   the static library, so try that secondarily.  */
OUTPUT_FORMAT(elf64-x86-64)
GROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc_nonshared.a  AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )
";

    #[test]
    fn glibc_libc_so() {
        let script = parse(LIBC_SO).unwrap();
        assert_eq!(
            script.inputs,
            [
                path("/lib/x86_64-linux-gnu/libc.so.6", false, true),
                path("/usr/lib/x86_64-linux-gnu/libc_nonshared.a", false, true),
                path("/lib64/ld-linux-x86-64.so.2", true, true),
            ]
        );
        assert!(script.search_dirs.is_empty() && script.entry.is_none());
        assert!(looks_like_script(LIBC_SO.as_bytes()));
    }

    #[test]
    fn gcc_libgcc_s_so() {
        let text = "/* GNU ld script
   Use the shared library, but some functions are only in
   the static library.  */
GROUP ( libgcc_s.so.1 -lgcc )
";
        let script = parse(text).unwrap();
        assert_eq!(script.inputs, [path("libgcc_s.so.1", false, true), library("gcc", false, true)]);
        assert!(looks_like_script(text.as_bytes()));
    }

    /// The scripts installed on this machine, whichever of them exist.
    #[test]
    fn system_scripts() {
        for file in [
            "/usr/lib/x86_64-linux-gnu/libc.so",
            "/usr/lib/x86_64-linux-gnu/libm.so",
            "/usr/lib/gcc/x86_64-linux-gnu/12/libgcc_s.so",
        ] {
            let Ok(bytes) = std::fs::read(file) else {
                eprintln!("skipping {file}: not present");
                continue;
            };
            if !looks_like_script(&bytes) {
                // Some distributions install a symlink to the real shared library here.
                assert!(bytes.starts_with(b"\x7fELF"), "{file}");
                continue;
            }
            let text = std::str::from_utf8(&bytes).unwrap();
            let script = parse(text).unwrap_or_else(|error| panic!("{file}: {error}"));
            assert!(!script.inputs.is_empty(), "{file}");
        }
    }

    #[test]
    fn other_commands_and_separators() {
        let script = parse(
            "OUTPUT_FORMAT(\"elf64-x86-64\", \"elf64-x86-64\", \"elf64-x86-64\")\n\
             OUTPUT_ARCH(i386:x86-64);\n\
             SEARCH_DIR(\"=/usr/local/lib\") SEARCH_DIR(/opt/lib)\n\
             ENTRY(_start)\n\
             INPUT(a.o,b.o , -lm \"with space.o\" AS_NEEDED(-lz AS_NEEDED(c.so), d.so) e.o)",
        )
        .unwrap();
        assert_eq!(script.search_dirs, [PathBuf::from("=/usr/local/lib"), PathBuf::from("/opt/lib")]);
        assert_eq!(script.entry.as_deref(), Some("_start"));
        assert_eq!(
            script.inputs,
            [
                path("a.o", false, false),
                path("b.o", false, false),
                library("m", false, false),
                path("with space.o", false, false),
                library("z", true, false),
                path("c.so", true, false),
                path("d.so", true, false),
                path("e.o", false, false),
            ]
        );
        assert_eq!(parse("").unwrap(), Script::default());
        assert_eq!(parse("/* only a comment */").unwrap(), Script::default());
        assert!(parse("GROUP()").unwrap().inputs.is_empty());
    }

    #[test]
    fn errors() {
        assert!(
            error_of("SECTIONS { .text : { *(.text) } }").starts_with("unsupported linker script command: SECTIONS")
        );
        assert!(error_of("/* c */\n\nfoo = 1;").contains("unsupported linker script command: foo (line 3)"));
        assert!(error_of("OUTPUT_FORMAT(elf32-i386)").contains("elf32-i386"));
        assert!(error_of("OUTPUT_FORMAT(binary)").contains("binary"));
        assert!(error_of("OUTPUT_FORMAT(a, b)").contains("one or three"));
        assert!(error_of("GROUP ( a.so").contains("unterminated GROUP"));
        assert!(error_of("GROUP a.so").contains("expected '('"));
        assert!(error_of("GROUP ( -l )").contains("-l without"));
        assert!(error_of("GROUP ( a ( b ) )").contains("unexpected '('"));
        assert!(error_of("GROUP ( a ) )").contains("unexpected ')'"));
        assert!(error_of("AS_NEEDED ( a )").contains("unsupported linker script command: AS_NEEDED"));
        assert!(error_of("ENTRY(a b)").contains("exactly one"));
        assert!(error_of("ENTRY(").contains("end of script"));
        assert!(error_of("/* never closed").contains("unterminated comment"));
        assert!(error_of("INPUT(\"never closed)").contains("unterminated string"));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 100_000;
        let text = format!("GROUP({}x{})", "AS_NEEDED(".repeat(depth), ")".repeat(depth));
        assert_eq!(parse(&text).unwrap().inputs, [path("x", true, true)]);
        assert!(parse(&format!("GROUP({}", "AS_NEEDED(".repeat(depth))).is_err());
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_script(b"GROUP(a)"));
        assert!(looks_like_script(b"\n  /* a */ /* b */ INPUT\n(a)"));
        assert!(looks_like_script(b"SECTIONS {"));
        assert!(!looks_like_script(b"\x7fELF\x02\x01\x01"));
        assert!(!looks_like_script(b"!<arch>\n"));
        assert!(!looks_like_script(b"GROUPS(a)"));
        assert!(!looks_like_script(b"GROUP"));
        assert!(!looks_like_script(b"/* unterminated GROUP("));
        assert!(!looks_like_script(b""));
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let pieces = ["GROUP", "(", ")", ",", "\"", "/*", "*/", "AS_NEEDED", "-l", "é", "\n", " ", "x", ";"];
        // Every sequence of up to four pieces.
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> =
                texts.iter().flat_map(|text| pieces.iter().map(move |piece| format!("{text}{piece}"))).collect();
            texts.extend(longer);
            texts.dedup();
        }
        for text in &texts {
            let _ = parse(text);
            let _ = looks_like_script(text.as_bytes());
        }
    }
}
