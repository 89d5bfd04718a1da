//! From rustc's `cc` command to the linker's: what the C compiler driver adds.
//!
//! rustc runs `cc`, and `cc` runs the linker with its own additions: the C runtime's start
//! and end objects (`Scrt1.o crti.o crtbeginS.o` … `crtendS.o crtn.o`), its library search
//! paths, the dynamic linker, `--build-id`, `--hash-style`, `--eh-frame-hdr` and, on
//! Debian-built compilers, a leading `--as-needed`. Those depend on the compiler installed,
//! so they are asked of it: `cc -###` prints the linker command it would run, for the same
//! driver flags (`-m64`, `-pie`, `-nodefaultlibs`, ...) and one placeholder object, and
//! rustc's linker arguments go where the placeholder was. One probe costs about 10 ms and
//! runs on the link thread while rustc generates code.
//!
//! Arguments meant for `cc` itself that could change what it links (`-fsanitize=...`,
//! `-static-libgcc`, ...) are not rewritten: they are refused, and the link goes to rustc.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

/// rustc's `cc` arguments, split into what `cc` consumes and what it passes to the linker.
#[derive(Debug, Default, PartialEq)]
pub struct Split {
    /// Flags for the driver (they choose the start files and the linker's mode).
    pub driver: Vec<OsString>,
    /// `-L` directories, searched before the driver's own.
    pub search_dirs: Vec<OsString>,
    /// Linker arguments in order: inputs, `-l`, and the `-Wl,`/`-Xlinker` options.
    pub linker: Vec<OsString>,
    pub output: Option<OsString>,
}

/// Driver flags that `cc -###` is given, so that the start files and modes match.
const DRIVER_FLAGS: &[&str] =
    &["-m64", "-pie", "-no-pie", "-static", "-static-pie", "-shared", "-nodefaultlibs", "-nostartfiles", "-nostdlib"];

/// Splits rustc's `cc` arguments. Unknown driver flags are an error: the caller falls back.
pub fn split(cc_args: &[OsString]) -> Result<Split, String> {
    let mut split = Split::default();
    let mut args = cc_args.iter();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        let mut value = |flag: &str| args.next().cloned().ok_or_else(|| format!("`{flag}` without a value"));
        if let Some(list) = bytes.strip_prefix(b"-Wl,") {
            split.linker.extend(list.split(|&b| b == b',').map(|a| OsStr::from_bytes(a).to_os_string()));
        } else if bytes == b"-Xlinker" {
            split.linker.push(value("-Xlinker")?);
        } else if bytes == b"-L" {
            split.search_dirs.push(value("-L")?);
        } else if let Some(dir) = bytes.strip_prefix(b"-L") {
            split.search_dirs.push(OsStr::from_bytes(dir).to_os_string());
        } else if bytes == b"-o" {
            split.output = Some(value("-o")?);
        } else if bytes.starts_with(b"-l") || !bytes.starts_with(b"-") {
            split.linker.push(arg.clone());
        } else if DRIVER_FLAGS.iter().any(|f| f.as_bytes() == bytes) {
            split.driver.push(arg.clone());
        } else if bytes.starts_with(b"-B") || bytes.starts_with(b"-fuse-ld=") {
            // Which linker `cc` would run: rivet is the linker.
        } else {
            return Err(format!("the C compiler option `{}`", arg.to_string_lossy()));
        }
    }
    Ok(split)
}

/// The driver's linker command around the object list: `(before, after)`.
#[derive(Debug)]
pub struct Probe {
    before: Vec<OsString>,
    after: Vec<OsString>,
}

const PLACEHOLDER: &str = "rivet-placeholder.o";

impl Probe {
    /// Asks `cc` what it would run for `driver` flags.
    pub fn run(driver: &[OsString]) -> Result<Probe, String> {
        let output = Command::new("cc")
            .args(driver)
            .arg("-###")
            .arg(PLACEHOLDER)
            .args(["-o", "rivet-placeholder"])
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| format!("cannot run cc: {e}"))?;
        let text = String::from_utf8_lossy(&output.stderr);
        let line = text
            .lines()
            .find(|l| l.contains(PLACEHOLDER) && (l.contains("collect2") || l.contains("/ld")))
            .ok_or_else(|| format!("`cc -###` printed no linker command:\n{text}"))?;
        // gcc quotes the words it prints as libiberty reads them back.
        let words = linker_core::split_words(line.as_bytes());
        let at = words.iter().position(|w| w == PLACEHOLDER).expect("the line holds the placeholder");
        let mut before = Vec::new();
        let mut words_before = words[1..at].iter();
        while let Some(word) = words_before.next() {
            if word == "-plugin" || word == "-o" {
                words_before.next();
            } else if !word.as_bytes().starts_with(b"-plugin-opt=") {
                before.push(word.clone());
            }
        }
        let after = words[at + 1..].to_vec();
        Ok(Probe { before, after })
    }

    /// The linker's command line for rustc's arguments (without the program name).
    pub fn linker_args(&self, split: &Split, output: &Path) -> Vec<OsString> {
        let mut args = Vec::with_capacity(self.before.len() + split.linker.len() + self.after.len() + 16);
        let first_dir = self.before.iter().position(|a| a.as_bytes().starts_with(b"-L")).unwrap_or(self.before.len());
        args.extend(self.before[..first_dir].iter().cloned());
        for dir in &split.search_dirs {
            let mut arg = OsString::from("-L");
            arg.push(dir);
            args.push(arg);
        }
        args.extend(self.before[first_dir..].iter().cloned());
        args.extend(split.linker.iter().cloned());
        args.extend(self.after.iter().cloned());
        args.push("-o".into());
        args.push(output.into());
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn splits_rustc_arguments_like_cc() {
        let split = split(&os(&[
            "-m64",
            "a.o",
            "-Wl,--as-needed",
            "-Wl,-Bstatic",
            "x.rlib",
            "-lc",
            "-L",
            "/d",
            "-Xlinker",
            "--a,b",
            "-o",
            "out",
            "-Wl,-z,relro,-z,now",
            "-pie",
            "-nodefaultlibs",
            "-fuse-ld=lld",
        ]))
        .unwrap();
        assert_eq!(split.driver, os(&["-m64", "-pie", "-nodefaultlibs"]));
        assert_eq!(split.search_dirs, os(&["/d"]));
        assert_eq!(split.output, Some("out".into()));
        assert_eq!(
            split.linker,
            os(&["a.o", "--as-needed", "-Bstatic", "x.rlib", "-lc", "--a,b", "-z", "relro", "-z", "now"])
        );
    }

    #[test]
    fn refuses_driver_options_it_does_not_know() {
        assert!(split(&os(&["a.o", "-fsanitize=address"])).is_err());
    }
}
