//! `--reproduce=FILE.tar`: an archive from which anyone can rerun the link, to attach to a bug
//! report. Its layout is lld's, so tools made for lld's reproducers read it: under one
//! directory named after the archive, `response.txt` (the command line, starting with
//! `--chroot .`), `version.txt`, and every file the link read, stored at its absolute path
//! made relative (`/usr/lib/crt1.o` as `usr/lib/crt1.o`). The response file names the inputs
//! by those relative paths and the outputs by their file names alone, so
//! `tar xf FILE.tar && cd FILE && rivet-ld @response.txt` relinks in place, and `--chroot .`
//! takes the absolute paths that linker scripts name (glibc's `libc.so`) inside it too.
//!
//! Files are stored by the path the link opened them with, normalised without following
//! symbolic links: a script's `/lib/...` must be found at `lib/...` however `/lib` is made.
//! The archive is written after the link, whether or not it succeeded (a failing link is what
//! a reproducer is for), through a temporary file renamed into place; entries have fixed
//! times and modes, so the same link gives the same archive.

use crate::args::{CommandWord, Config};
use crate::error::{Error, Result};
use crate::input::FileArena;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Writes the reproducer `config` asks for, of the files `arena` mapped.
pub fn write(config: &Config, arena: &FileArena, version: &str) -> Result<()> {
    let Some(tar_path) = &config.reproduce else { return Ok(()) };
    let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
    let root = PathBuf::from(tar_path.file_stem().unwrap_or(OsStr::new("reproduce")));
    let mut files = arena.paths();
    files.extend(config.version_scripts.iter().chain(&config.dynamic_list).cloned());

    let tmp = crate::output_file::temporary_path(tar_path);
    let written = (|| -> std::io::Result<()> {
        let mut tar = tar::Builder::new(std::io::BufWriter::new(std::fs::File::create(&tmp)?));
        tar.mode(tar::HeaderMode::Deterministic);
        append(&mut tar, &root.join("response.txt"), response(&config.command_line, &cwd).as_bytes())?;
        append(&mut tar, &root.join("version.txt"), format!("{version}\n").as_bytes())?;
        let mut stored = std::collections::HashSet::new();
        for file in files {
            let name = inside_archive(&cwd, &file);
            if stored.insert(name.clone()) {
                append(&mut tar, &root.join(name), &std::fs::read(&file)?)?;
            }
        }
        tar.into_inner()?.into_inner().map_err(|e| e.into_error())?.sync_data()
    })();
    let renamed = written.and_then(|()| std::fs::rename(&tmp, tar_path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(tar_path, e));
    }
    Ok(())
}

fn append(tar: &mut tar::Builder<impl std::io::Write>, name: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, bytes)
}

/// The response file: one line per option with its value, inputs named inside the archive.
fn response(words: &[CommandWord], cwd: &Path) -> String {
    let mut text = String::from("--chroot .\n");
    for word in words {
        let (option, value) = match word {
            CommandWord::Text(words) => {
                let quoted: Vec<String> = words.iter().map(|w| quote(&w.to_string_lossy())).collect();
                text.push_str(&quoted.join(" "));
                text.push('\n');
                continue;
            }
            CommandWord::Input { option, path } => {
                (option.as_deref(), inside_archive(cwd, path).into_os_string().into_encoded_bytes())
            }
            CommandWord::Output { option, path } => {
                (Some(option.as_str()), path.file_name().unwrap_or(path.as_os_str()).as_bytes().to_vec())
            }
        };
        if let Some(option) = option {
            text.push_str(option);
            text.push(' ');
        }
        text.push_str(&quote(&String::from_utf8_lossy(&value)));
        text.push('\n');
    }
    text
}

/// `word` as libiberty's response-file reader reads it back.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./=:,+-@%^".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    let mut quoted = String::from("\"");
    for c in word.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Where the archive stores `path` (as the link named it, from `cwd`): its absolute form,
/// `.` and `..` resolved by name, relative to the archive's root.
fn inside_archive(cwd: &Path, path: &Path) -> PathBuf {
    let mut inside = PathBuf::new();
    for component in cwd.join(path).components() {
        match component {
            Component::Normal(name) => inside.push(name),
            Component::ParentDir => {
                inside.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_named_inside_the_archive_and_outputs_by_name() {
        let words = [
            CommandWord::Output { option: "-o".into(), path: "/tmp/out dir/prog".into() },
            CommandWord::Input { option: Some("-L".into()), path: "../lib".into() },
            CommandWord::Input { option: None, path: "/usr/lib/crt1.o".into() },
            CommandWord::Text(vec!["-m".into(), "elf_x86_64".into()]),
        ];
        let text = response(&words, Path::new("/home/me/proj"));
        assert_eq!(text, "--chroot .\n-o prog\n-L home/me/lib\nusr/lib/crt1.o\n-m elf_x86_64\n");
        assert_eq!(crate::split_words(text.as_bytes()).len(), 9);
        assert_eq!(quote("a b\"c\\"), r#""a b\"c\\""#);
        assert_eq!(crate::split_words(quote("a b\"c\\").as_bytes()), ["a b\"c\\"]);
    }
}
