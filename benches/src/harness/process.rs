//! Running external commands: every failure becomes an error carrying the command line,
//! its exit status and the tail of its stderr, so callers can report it instead of panicking.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// Renders a command line for messages and for the report (`prog arg arg …`).
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&shell_quote(arg));
    }
    text
}

/// Like [`describe`], cut to a readable length for terminal messages.
pub fn describe_short(command: &Command) -> String {
    const LIMIT: usize = 300;
    let text = describe(command);
    if text.chars().count() <= LIMIT {
        return text;
    }
    let cut: String = text.chars().take(LIMIT).collect();
    format!("{cut} … ({} arguments in all)", command.get_args().count())
}

/// Quotes one argument for a POSIX shell (used for hyperfine's command strings).
pub fn shell_quote(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain { text.into_owned() } else { format!("'{}'", text.replace('\'', r"'\''")) }
}

/// Runs `command` with captured output; fails unless it exits with status 0.
pub fn run_captured(command: &mut Command) -> Result<Output> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{}`", describe_short(command)))?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}):\n{}",
            describe_short(command),
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 25)
        );
    }
    Ok(output)
}

/// Runs `command` and returns its trimmed stdout.
pub fn stdout_of(command: &mut Command) -> Result<String> {
    let output = run_captured(command)?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs `command` with its output shown on the terminal (long builds, installs).
pub fn run_visible(command: &mut Command) -> Result<()> {
    eprintln!("+ {}", describe_short(command));
    let status = command
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("could not start `{}`", describe_short(command)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe_short(command));
    }
    Ok(())
}

/// Runs `command` with stdout and stderr appended to `log`; on failure the error quotes
/// the log's last lines.
pub fn run_logged(command: &mut Command, log: &Path) -> Result<()> {
    eprintln!("+ {}  (log: {})", describe_short(command), log.display());
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let status = command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("could not start `{}`", describe_short(command)))?;
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        bail!("`{}` failed ({status}); end of {}:\n{}", describe_short(command), log.display(), tail(&text, 25));
    }
    Ok(())
}

/// Whether `program` can be found on `PATH` (or is an existing path).
pub fn on_path(program: &str) -> bool {
    find_on_path(program).is_some()
}

pub fn find_on_path(program: &str) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        let path = Path::new(program);
        return path.is_file().then(|| path.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
    })
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The first line of `text`, for one-line error summaries in tables.
pub fn first_line(text: &str) -> String {
    text.lines().find(|line| !line.trim().is_empty()).unwrap_or("").trim().to_string()
}
