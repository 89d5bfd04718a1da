//! Version scripts (`--version-script`): which globals a shared object exports, and under
//! which version names. Supported: anonymous `{ global: ...; local: ...; };` and named
//! `NAME { ... } [PARENT];` nodes, `*`/`?`/`[...]` wildcards, `extern "C" { }` blocks.

use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, Default)]
pub struct VersionScript {
    /// Named versions in definition order (empty for an anonymous script).
    pub versions: Vec<Version>,
    anonymous: Option<Version>,
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
            while i < tokens.len() && tokens[i] != "}" {
                match tokens[i].as_str() {
                    "global:" => local = false,
                    "local:" => local = true,
                    "extern" => i += 1, // the language string; its block's names are plain
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
        Ok(script)
    }

    fn nodes(&self) -> impl Iterator<Item = &Version> {
        self.versions.iter().chain(self.anonymous.iter())
    }

    /// Exported unless only a `local:` pattern matches it.
    pub fn is_global(&self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name);
        if self.nodes().any(|v| v.global.iter().any(|p| glob(p, &name))) {
            return true;
        }
        !self.nodes().any(|v| v.local.iter().any(|p| glob(p, &name)))
    }

    /// Index in `versions` of the version that names `name` in its `global:` list.
    pub fn version_of(&self, name: &[u8]) -> Option<usize> {
        let name = String::from_utf8_lossy(name);
        let exact = self.versions.iter().position(|v| v.global.iter().any(|p| *p == name));
        exact.or_else(|| self.versions.iter().position(|v| v.global.iter().any(|p| glob(p, &name))))
    }
}

fn tokenize(text: &str) -> Vec<String> {
    let mut without_comments = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        without_comments.push_str(&rest[..start]);
        rest = rest[start..].find("*/").map(|e| &rest[start + e + 2..]).unwrap_or("");
    }
    without_comments.push_str(rest);
    let spaced = without_comments
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        .replace('{', " { ")
        .replace('}', " } ")
        .replace(';', " ; ");
    let mut tokens: Vec<String> = Vec::new();
    for t in spaced.split_whitespace() {
        if t == ":" {
            if let Some(last) = tokens.last_mut() {
                last.push(':');
            }
        } else {
            tokens.push(t.to_string());
        }
    }
    tokens
}

/// Shell-style wildcard match: `*`, `?` and `[...]` classes.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') => (0..=t.len()).any(|k| go(&p[1..], &t[k..])),
            Some(b'?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(b'[') => {
                let Some(end) = p.iter().position(|&c| c == b']') else { return false };
                let class = &p[1..end];
                !t.is_empty() && class.contains(&t[0]) && go(&p[end + 1..], &t[1..])
            }
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
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
