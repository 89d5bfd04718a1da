//! Typed errors of the linker library. Each names the file (and symbol, demangled) it is about,
//! so the driver can print it as is and exit with status 1.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// A file could not be opened, mapped or written.
    Io { path: PathBuf, source: std::io::Error },
    /// An input is malformed: truncated, corrupt, or of an unsupported kind.
    BadInput { file: String, what: String },
    /// `-lname` found in none of the search paths.
    LibraryNotFound { name: String, searched: Vec<PathBuf> },
    /// Symbols referenced but defined nowhere: one entry per symbol.
    Undefined(Vec<UndefinedSymbol>),
    /// The same symbol has two strong definitions.
    Duplicate { symbol: String, first: String, second: String },
    /// A relocation the linker cannot apply.
    Relocation { file: String, section: String, symbol: String, what: String },
    /// A command-line or script problem.
    Usage(String),
}

#[derive(Debug)]
pub struct UndefinedSymbol {
    pub symbol: String,
    /// Each place that references it, in input order.
    pub referenced_by: Vec<Reference>,
    /// A guess at the cause: a Rust crate none of the inputs has anything of.
    pub hint: Option<String>,
}

/// A place that references a symbol: `file:(function)` (the section when no function
/// encloses it; the file alone when it has no relocation to show), and the source file and
/// line when the file's debug info has them.
#[derive(Debug, PartialEq, Eq)]
pub struct Reference {
    pub place: String,
    pub source: Option<String>,
}

/// At most this many references are listed per undefined symbol, then how many more.
const REFERENCES_SHOWN: usize = 8;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad(file: impl fmt::Display, what: impl Into<String>) -> Self {
        Error::BadInput { file: file.to_string(), what: what.into() }
    }
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// Demangles Rust (legacy and v0) and C++ (Itanium) names for messages; other names are kept.
pub fn demangle(name: &[u8]) -> String {
    let text = String::from_utf8_lossy(name);
    if let Ok(d) = rustc_demangle::try_demangle(&text) {
        return format!("{d:#}");
    }
    if text.starts_with("_Z")
        && let Ok(sym) = cpp_demangle::Symbol::new(text.as_bytes())
        && let Ok(s) = sym.demangle(&cpp_demangle::DemangleOptions::default())
    {
        return s;
    }
    text.into_owned()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::BadInput { file, what } => write!(f, "{file}: {what}"),
            Error::LibraryNotFound { name, searched } => {
                write!(f, "unable to find library -l{name}; searched:")?;
                if searched.is_empty() {
                    write!(f, " (no -L paths)")?;
                }
                for dir in searched {
                    write!(f, " {}", dir.display())?;
                }
                Ok(())
            }
            Error::Undefined(list) => {
                for (i, u) in list.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "undefined symbol: {}", u.symbol)?;
                    for r in u.referenced_by.iter().take(REFERENCES_SHOWN) {
                        match &r.source {
                            Some(source) => write!(f, "\n>>> referenced by {source}\n>>>               {}", r.place)?,
                            None => write!(f, "\n>>> referenced by {}", r.place)?,
                        }
                    }
                    if u.referenced_by.len() > REFERENCES_SHOWN {
                        write!(f, "\n>>> referenced {} more times", u.referenced_by.len() - REFERENCES_SHOWN)?;
                    }
                    if let Some(hint) = &u.hint {
                        write!(f, "\n>>> hint: {hint}")?;
                    }
                }
                Ok(())
            }
            Error::Duplicate { symbol, first, second } => {
                write!(f, "duplicate symbol: {symbol}\n>>> defined in {first}\n>>> defined in {second}")
            }
            Error::Relocation { file, section, symbol, what } => {
                write!(f, "{file}({section}): {what} against symbol {symbol}")
            }
            Error::Usage(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}
