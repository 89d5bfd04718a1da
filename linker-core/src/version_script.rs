//! Version scripts (`--version-script`): which globals a shared object exports, and under
//! which version names. Supported: anonymous `{ global: ...; local: ...; };` and named
//! `NAME { ... } [PARENT];` nodes, `*`/`?`/`[...]` wildcards (ranges and `!`/`^` negation in
//! classes), `extern "C" { }` blocks;
//! `extern "C++"` blocks (demangled names) are refused.

use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, Default)]
pub struct VersionScript {
    /// Named versions in definition order (empty for an anonymous script).
    pub versions: Vec<Version>,
    anonymous: Option<Version>,
    /// Every node's patterns, for lookups by name.
    patterns: Patterns,
}

/// The patterns of every node, arranged so that a name is looked up, not matched against each
/// pattern in turn: the version script rustc writes for a `dylib` crate lists every symbol it
/// exports, and a link checks every global against it. Matching pattern by pattern was
/// quadratic: a shared library of 30,060 functions, each named in its script, took 10.2 s to
/// link (rust-lld: 0.1 s).
#[derive(Debug, Default)]
struct Patterns {
    /// Patterns without wildcards, by name.
    exact: rustc_hash::FxHashMap<String, Listed>,
    /// Patterns with wildcards (`*`, `?`, `[`), named versions' in their order first, then
    /// the anonymous node's: (the version's index, if named; whether `global:`; the pattern).
    wildcards: Vec<(Option<usize>, bool, String)>,
}

/// Where a name is listed without wildcards.
#[derive(Debug, Default)]
struct Listed {
    global: bool,
    local: bool,
    /// The first named version that lists it as `global:`.
    version: Option<usize>,
}

impl Patterns {
    fn of<'v>(nodes: impl Iterator<Item = (Option<usize>, &'v Version)> + Clone) -> Patterns {
        let mut patterns = Patterns::default();
        patterns.exact.reserve(nodes.clone().map(|(_, node)| node.global.len() + node.local.len()).sum());
        for (version, node) in nodes {
            let listed = node.global.iter().map(|p| (p, true)).chain(node.local.iter().map(|p| (p, false)));
            for (pattern, global) in listed {
                if pattern.contains(['*', '?', '[']) {
                    patterns.wildcards.push((version, global, pattern.clone()));
                    continue;
                }
                let entry = patterns.exact.entry(pattern.clone()).or_default();
                if global {
                    entry.global = true;
                    entry.version = entry.version.or(version);
                } else {
                    entry.local = true;
                }
            }
        }
        patterns
    }
}

#[derive(Debug, Default)]
pub struct Version {
    pub name: String,
    global: Vec<String>,
    local: Vec<String>,
}

impl VersionScript {
    /// Reads every `--version-script` of the link as one script, in command-line order (as
    /// GNU ld and lld do): their versions are concatenated and their anonymous nodes merged.
    pub fn load_all(paths: &[PathBuf]) -> Result<Option<Self>> {
        let mut all: Option<VersionScript> = None;
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let script =
                Self::parse(&text).map_err(|what| Error::bad(path.display(), format!("version script: {what}")))?;
            all = Some(match all {
                None => script,
                Some(mut merged) => {
                    merged.append(script);
                    merged
                }
            });
        }
        Ok(all)
    }

    fn append(&mut self, other: VersionScript) {
        self.versions.extend(other.versions);
        match (&mut self.anonymous, other.anonymous) {
            (Some(mine), Some(theirs)) => {
                mine.global.extend(theirs.global);
                mine.local.extend(theirs.local);
            }
            (mine, theirs) => *mine = mine.take().or(theirs),
        }
        self.index();
    }

    /// Arranges the nodes' patterns for lookups ([`Patterns`]).
    fn index(&mut self) {
        let named = self.versions.iter().enumerate().map(|(i, v)| (Some(i), v));
        self.patterns = Patterns::of(named.chain(self.anonymous.iter().map(|v| (None, v))));
    }

    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let tokens = tokenize(text);
        let mut script = VersionScript::default();
        let mut i = 0;
        while i < tokens.len() {
            let name = if tokens[i] == "{" {
                None
            } else {
                i += 1;
                Some(tokens[i - 1].clone())
            };
            if tokens.get(i).map(String::as_str) != Some("{") {
                return Err(format!("expected '{{' after {}", name.unwrap_or_default()));
            }
            i += 1;
            let mut version = Version { name: name.clone().unwrap_or_default(), ..Default::default() };
            let mut local = false;
            // Inside an `extern "C" { }` block, whose names are plain names of the node.
            let mut in_extern = false;
            while i < tokens.len() && (tokens[i] != "}" || in_extern) {
                match tokens[i].as_str() {
                    "global:" => local = false,
                    "local:" => local = true,
                    "extern" => {
                        // C++ blocks name demangled names, which no symbol here is matched by.
                        let language = tokens.get(i + 1).map_or("", |t| t.trim_matches('"'));
                        if language != "C" || tokens.get(i + 2).map(String::as_str) != Some("{") {
                            return Err(format!("extern \"{language}\" blocks are not supported (only extern \"C\")"));
                        }
                        in_extern = true;
                        i += 2;
                    }
                    "}" => in_extern = false,
                    "{" | "};" | ";" => {}
                    pattern => {
                        let p = pattern.trim_end_matches(';').trim_matches('"').to_string();
                        if local { version.local.push(p) } else { version.global.push(p) }
                    }
                }
                i += 1;
            }
            i += 1; // "}"
            // Optional parent name, then ';'.
            while i < tokens.len() && tokens[i] != ";" && tokens[i] != "{" && !tokens[i].ends_with(';') {
                if tokens.get(i + 1).map(String::as_str) == Some("{") {
                    break;
                }
                i += 1;
            }
            if i < tokens.len() && (tokens[i] == ";" || tokens[i].ends_with(';')) {
                i += 1;
            }
            match name {
                Some(_) => script.versions.push(version),
                None => script.anonymous = Some(version),
            }
        }
        script.index();
        Ok(script)
    }

    /// Exported unless only a `local:` pattern matches it.
    pub fn is_global(&self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name);
        let listed = self.patterns.exact.get(name.as_ref());
        let matched = |global: bool| self.patterns.wildcards.iter().any(|(_, g, p)| *g == global && glob(p, &name));
        if listed.is_some_and(|l| l.global) || matched(true) {
            return true;
        }
        !(listed.is_some_and(|l| l.local) || matched(false))
    }

    /// Index in `versions` of the version that names `name` in its `global:` list: the first
    /// that names it exactly (a pattern equal to it), else the first with a pattern that
    /// matches it.
    pub fn version_of(&self, name: &[u8]) -> Option<usize> {
        let name = String::from_utf8_lossy(name);
        let named = || self.patterns.wildcards.iter().filter_map(|(v, global, p)| Some((v.filter(|_| *global)?, p)));
        let listed = self.patterns.exact.get(name.as_ref()).and_then(|l| l.version);
        let exact = named().filter(|(_, p)| **p == name).map(|(v, _)| v).chain(listed).min();
        exact.or_else(|| named().find(|(_, p)| glob(p, &name)).map(|(v, _)| v))
    }
}

/// The script's words, in one pass: `{`, `}` and `;` stand alone, a `:` after a space joins
/// the word before it (`global :`), and comments (`/* */`, `#` to the end of the line) separate
/// words. (Three string replacements and a join before took a tenth of a link whose script
/// named 30,000 symbols.)
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut word = String::new();
    let end_word = |word: &mut String, tokens: &mut Vec<String>| {
        if !word.is_empty() {
            tokens.push(std::mem::take(word));
        }
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                end_word(&mut word, &mut tokens);
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '#' => {
                end_word(&mut word, &mut tokens);
                chars.by_ref().find(|&c| c == '\n');
            }
            '{' | '}' | ';' => {
                end_word(&mut word, &mut tokens);
                tokens.push(c.to_string());
            }
            ':' if word.is_empty() => match tokens.last_mut() {
                Some(last) => last.push(':'),
                None => word.push(':'),
            },
            c if c.is_whitespace() => end_word(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    end_word(&mut word, &mut tokens);
    tokens
}

/// Whether `c` is in the class `class` (what is between `[` and `]`): characters and ranges
/// (`a-z`), all negated by a leading `!` or `^`.
fn in_class(class: &[u8], c: u8) -> bool {
    let (negated, mut rest) = match class.split_first() {
        Some((b'!' | b'^', rest)) => (true, rest),
        _ => (false, class),
    };
    let mut found = false;
    while let Some(&first) = rest.first() {
        if let [_, b'-', last, ..] = rest {
            found |= (first..=*last).contains(&c);
            rest = &rest[3..];
        } else {
            found |= first == c;
            rest = &rest[1..];
        }
    }
    found != negated
}

/// Shell-style wildcard match: `*`, `?` and `[...]` classes (see [`in_class`]). One
/// pass with one point to go back to, the last `*`: a class or `?` matches exactly one
/// character, so no earlier choice needs revisiting, and the cost is at most the product of
/// the lengths (trying every split at every `*` was exponential in the stars:
/// `*a*a*a*a*a*a*a*a*b` against forty `a`s).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // After the last `*` seen: where the pattern goes on, and the text it has taken up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some(b'*') => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => p[pi..]
                .iter()
                .position(|&c| c == b']')
                .filter(|&end| in_class(&p[pi + 1..pi + end], t[ti]))
                .map(|end| end + 1),
            Some(&c) => (c == t[ti]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(step), _) => {
                pi += step;
                ti += 1;
            }
            (None, Some((after, taken))) => {
                (pi, ti) = (after, taken + 1);
                star = Some((after, taken + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_anonymous_nodes() {
        let vs =
            VersionScript::parse("VERS_1 { global: foo; bar_*; local: *; };\nVERS_2 { global: baz; } VERS_1;").unwrap();
        assert!(vs.is_global(b"foo") && vs.is_global(b"bar_x") && vs.is_global(b"baz"));
        assert!(!vs.is_global(b"hidden"));
        assert_eq!(vs.version_of(b"baz"), Some(1));
        let anon = VersionScript::parse("{ global: a*; local: *; };").unwrap();
        assert!(anon.is_global(b"abc") && !anon.is_global(b"b"));
        assert!(anon.versions.is_empty());
    }

    /// The lookups answer as matching every pattern in turn would, which is how the rules
    /// read: exported if any `global:` pattern matches, else not if a `local:` one does; the
    /// version is the first that lists the name itself, else the first with a matching pattern.
    #[test]
    fn lookups_agree_with_matching_every_pattern() {
        let mut script = VersionScript::parse(
            "V1 { global: foo; bar_*; b?z; local: qux; c[ab]t; };\n\
             V2 { global: qux; foo*; baz; extern \"C\" { lit*; }; } V1;\n\
             { global: anon; local: *; };",
        )
        .unwrap();
        script.append(VersionScript::parse("V3 { global: bar_x; cat; baz; local: zzz; };").unwrap());
        let nodes = || script.versions.iter().chain(script.anonymous.iter());
        let is_global = |name: &str| {
            nodes().any(|v| v.global.iter().any(|p| glob(p, name)))
                || !nodes().any(|v| v.local.iter().any(|p| glob(p, name)))
        };
        let version_of = |name: &str| {
            let exact = script.versions.iter().position(|v| v.global.iter().any(|p| p == name));
            exact.or_else(|| script.versions.iter().position(|v| v.global.iter().any(|p| glob(p, name))))
        };
        let names = [
            "foo", "food", "bar_", "bar_x", "baz", "biz", "bz", "qux", "cat", "cbt", "cct", "anon", "zzz", "literal",
            "lit*", "other", "",
        ];
        for name in names {
            assert_eq!(script.is_global(name.as_bytes()), is_global(name), "is_global({name:?})");
            assert_eq!(script.version_of(name.as_bytes()), version_of(name), "version_of({name:?})");
        }
    }

    /// Comments separate words; a `:` may stand apart from its keyword; braces and semicolons
    /// need no spaces.
    #[test]
    fn comments_and_spacing() {
        let vs = VersionScript::parse(
            "/* lib */ V1{global :foo;bar/* two */;# one line\n local\t: *;};\nV2 {global: baz;}V1;",
        )
        .unwrap();
        assert!(vs.is_global(b"foo") && vs.is_global(b"bar") && vs.is_global(b"baz") && !vs.is_global(b"qux"));
        assert_eq!((vs.version_of(b"bar"), vs.version_of(b"baz")), (Some(0), Some(1)));
    }

    /// The one-pass match answers as trying every split at every `*` does (the rule as
    /// written), on 20,000 patterns and names drawn at random from a small alphabet.
    #[test]
    fn glob_agrees_with_trying_every_split() {
        fn spec(p: &[u8], t: &[u8]) -> bool {
            match p.first() {
                None => t.is_empty(),
                Some(b'*') => (0..=t.len()).any(|k| spec(&p[1..], &t[k..])),
                Some(b'?') => !t.is_empty() && spec(&p[1..], &t[1..]),
                Some(b'[') => {
                    let Some(end) = p.iter().position(|&c| c == b']') else { return false };
                    !t.is_empty() && in_class(&p[1..end], t[0]) && spec(&p[end + 1..], &t[1..])
                }
                Some(&c) => t.first() == Some(&c) && spec(&p[1..], &t[1..]),
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..20_000 {
            let pattern: String = (0..next(8)).map(|_| b"ab*?[]-!"[next(8) as usize] as char).collect();
            let text: String = (0..next(8)).map(|_| b"ab]"[next(3) as usize] as char).collect();
            assert_eq!(glob(&pattern, &text), spec(pattern.as_bytes(), text.as_bytes()), "{pattern:?} {text:?}");
        }
        assert!(glob("*a*a*a*a*a*a*a*a*b", &"a".repeat(40).replace("aa", "ab")));
        assert!(glob("[a-c]x", "bx") && !glob("[a-c]x", "dx") && !glob("[!a-c]x", "bx") && glob("[^ab]", "c"));
        assert!(!glob("*a*a*a*a*a*a*a*a*b", &"a".repeat(40)));
    }

    /// Any text is parsed or refused, never a panic: 5,000 scripts of words drawn at random
    /// (a fixed seed) from the grammar's own.
    #[test]
    fn any_text_is_parsed_or_refused() {
        const WORDS: [&str; 16] = [
            "{", "}", ";", "global:", "local:", "extern", "\"C\"", "\"C++\"", "V1", "foo*", ":", "#c\n", "/*", "*/",
            " ", "b[a",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(WORDS[(state % WORDS.len() as u64) as usize]);
                text.push(' ');
            }
            if let Ok(script) = VersionScript::parse(&text) {
                let _ = (script.is_global(b"foo1"), script.version_of(b"ba"));
            }
        }
    }

    /// `extern "C"` blocks hold plain names of their node; C++ blocks are refused.
    #[test]
    fn extern_blocks() {
        let vs = VersionScript::parse("V1 { global: extern \"C\" { foo; bar*; }; baz; local: *; };").unwrap();
        assert!(vs.is_global(b"foo") && vs.is_global(b"bar_1") && vs.is_global(b"baz") && !vs.is_global(b"qux"));
        assert_eq!(vs.version_of(b"bar_1"), Some(0));
        let cxx = VersionScript::parse("V1 { global: extern \"C++\" { \"ns::f()\"; }; };").unwrap_err();
        assert!(cxx.contains("extern \"C++\" blocks are not supported"), "{cxx}");
    }

    /// Several `--version-script`s act as one: a later script's versions and patterns count.
    #[test]
    fn scripts_are_appended() {
        let mut first = VersionScript::parse("V1 { global: foo; local: *; };").unwrap();
        first.append(VersionScript::parse("V2 { global: bar; } V1;").unwrap());
        assert!(first.is_global(b"foo") && first.is_global(b"bar") && !first.is_global(b"baz"));
        assert_eq!(first.version_of(b"bar"), Some(1));
        let mut anon = VersionScript::parse("{ global: a; local: *; };").unwrap();
        anon.append(VersionScript::parse("{ global: b; };").unwrap());
        assert!(anon.is_global(b"a") && anon.is_global(b"b") && !anon.is_global(b"c"));
    }
}
