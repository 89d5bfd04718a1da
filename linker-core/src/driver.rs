//! The `rivet-ld` command: parse the GNU ld command line, run the link, report errors as one
//! clear message per problem with exit status 1.

use crate::args;
use crate::incremental;
use crate::input::{FileArena, load_inputs};
use crate::session::Session;
use crate::timing::Timer;
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

pub fn run(argv: Vec<OsString>) -> ExitCode {
    jobserver();
    let config = match args::parse(&argv) {
        Ok(c) => c,
        Err(e) => return report(Err(e.to_string())),
    };
    if config.no_fork || std::env::var_os("RIVET_NO_FORK").is_some() {
        return report(run_inner(config, None));
    }
    run_detached(config)
}

fn report(result: Result<(), String>) -> ExitCode {
    ExitCode::from(status_of(result))
}

fn status_of(result: Result<(), String>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(message) => {
            for line in message.lines() {
                eprintln!("rivet-ld: error: {line}");
            }
            1
        }
    }
}

/// Links in a child process that reports its exit status through a pipe the moment the
/// output is in place; the parent exits with it at once, while the child unmaps inputs and
/// frees memory (tens of milliseconds on large links) after nobody waits for it any more.
/// Killing the parent kills the link: the child dies with it (a killed linker must not go on
/// writing its output), and SIGINT, SIGTERM and SIGHUP are passed on to the child, which
/// removes its temporary file before it dies.
fn run_detached(config: args::Config) -> ExitCode {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: plain POSIX calls on a single-threaded process (no threads exist yet).
    unsafe {
        let parent = libc::getpid();
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return report(run_inner(config, None));
        }
        match libc::fork() {
            -1 => {
                libc::close(fds[0]);
                libc::close(fds[1]);
                report(run_inner(config, None))
            }
            0 => {
                libc::close(fds[0]);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                hand_death_signal_to_a_watch();
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                let status = status_of(run_inner(config, Some(fds[1])));
                exit_now(status, Some(fds[1]))
            }
            child => {
                libc::close(fds[1]);
                LINKING_CHILD.store(child, Ordering::Relaxed);
                on_fatal_signals(forward_to_child);
                let mut status = 0u8;
                if libc::read(fds[0], (&mut status as *mut u8).cast(), 1) == 1 {
                    return ExitCode::from(status);
                }
                // The child died without reporting (a crash): pass its fate on.
                let mut wstatus = 0;
                libc::waitpid(child, &mut wstatus, 0);
                if libc::WIFSIGNALED(wstatus) {
                    eprintln!("rivet-ld: error: linker process killed by signal {}", libc::WTERMSIG(wstatus));
                    return ExitCode::from(1);
                }
                ExitCode::from(libc::WEXITSTATUS(wstatus) as u8)
            }
        }
    }
}

/// The thread that holds the linking child's parent-death signal, and the sender that ends it.
static DEATH_WATCH: std::sync::Mutex<Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>> =
    std::sync::Mutex::new(None);

/// Moves the parent-death signal from the main thread to a thread of its own. The kernel
/// keeps the signal per thread and sends it for each live thread that holds one, so ending
/// that thread ([`outlive_parent`]) lets the child go on once it has reported, which nothing
/// could do for the main thread while it waits for the link's pool.
fn hand_death_signal_to_a_watch() {
    let (armed_tx, armed_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let watch = std::thread::spawn(move || {
        // SAFETY: a plain system call on this thread.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        let _ = armed_tx.send(());
        let _ = stop_rx.recv();
    });
    if armed_rx.recv().is_ok() {
        // SAFETY: as above; the watch holds the signal now.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0) };
        *DEATH_WATCH.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop_tx, watch));
    }
}

/// Ends the parent-death watch: from now on this process outlives its parent.
fn outlive_parent() {
    if let Some((stop, watch)) = DEATH_WATCH.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = stop.send(());
        let _ = watch.join();
    }
}

/// The jobserver of the make or cargo that started this process, if any.
fn jobserver() -> Option<&'static jobserver::Client> {
    static CLIENT: std::sync::OnceLock<Option<jobserver::Client>> = std::sync::OnceLock::new();
    // SAFETY: called first thing in the process (see `run`), before any descriptor is opened
    // that the variables' descriptor numbers could name by mistake.
    CLIENT.get_or_init(|| unsafe { jobserver::Client::from_env() }).as_ref()
}

/// Tokens taken from the jobserver for the link's threads, given back before the link reports
/// its status (`exit_now` skips destructors).
static JOBSERVER_TOKENS: std::sync::Mutex<Vec<jobserver::Acquired>> = std::sync::Mutex::new(Vec::new());

fn release_jobserver_tokens() {
    if let Ok(mut tokens) = JOBSERVER_TOKENS.try_lock() {
        tokens.clear();
    }
}

/// How many threads the link runs: `--threads` when given; under a jobserver, one for the
/// token every process holds implicitly and one for each further token it grants at once (up
/// to the cores), held until the link ends, so that a parallel `make` or `cargo` build is
/// never oversubscribed; else one per core.
fn thread_count(config: &args::Config) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(threads) = config.threads {
        return threads;
    }
    let Some(client) = jobserver() else { return cores };
    let mut tokens = JOBSERVER_TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    while 1 + tokens.len() < cores {
        match client.try_acquire() {
            Ok(Some(token)) => tokens.push(token),
            _ => break,
        }
    }
    1 + tokens.len()
}

/// Flushes what was printed, reports `status` on `pipe` (the detached parent waits on it),
/// and exits without freeing anything: the kernel reclaims it all at once.
fn exit_now(status: u8, pipe: Option<libc::c_int>) -> ! {
    report_status(status, pipe);
    // SAFETY: ends the process; everything it holds goes with it.
    unsafe { libc::_exit(status as libc::c_int) }
}

/// Gives the jobserver's tokens back, flushes what was printed and reports `status` on `pipe`,
/// whose reader (the detached parent) exits with it at once: make or cargo must find every
/// token back when it sees the linker end. (An incremental link's recording, after this,
/// is a few milliseconds of hashing the changed inputs.)
fn report_status(status: u8, pipe: Option<libc::c_int>) {
    use std::io::Write;
    release_jobserver_tokens();
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    if let Some(fd) = pipe {
        // SAFETY: plain POSIX calls on a descriptor this process owns.
        unsafe {
            libc::write(fd, (&status as *const u8).cast(), 1);
            libc::close(fd);
        }
    }
}

/// The temporary output file of the link in this process, removed if a signal ends it.
static TEMPORARY_OUTPUT: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
/// The child process a detached parent waits for.
static LINKING_CHILD: AtomicI32 = AtomicI32::new(0);

/// Handles the signals that ask a process to end (unless they are ignored, as in a
/// background job) with `handler`.
fn on_fatal_signals(handler: extern "C" fn(libc::c_int)) {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installs an async-signal-safe handler; restores an inherited SIG_IGN.
        unsafe {
            if libc::signal(signal, handler as libc::sighandler_t) == libc::SIG_IGN {
                libc::signal(signal, libc::SIG_IGN);
            }
        }
    }
}

extern "C" fn remove_temporary_and_die(signal: libc::c_int) {
    let path = TEMPORARY_OUTPUT.load(Ordering::Relaxed);
    // SAFETY: unlink is async-signal-safe; the path is a leaked, never freed C string.
    unsafe {
        if !path.is_null() {
            libc::unlink(path);
        }
        die_of(signal)
    }
}

extern "C" fn forward_to_child(signal: libc::c_int) {
    let child = LINKING_CHILD.load(Ordering::Relaxed);
    // SAFETY: kill and waitpid are async-signal-safe.
    unsafe {
        libc::kill(child, signal);
        libc::waitpid(child, std::ptr::null_mut(), 0);
        die_of(signal)
    }
}

/// Ends the process by `signal`'s default action, as if it had not been handled.
unsafe fn die_of(signal: libc::c_int) -> ! {
    // SAFETY: async-signal-safe calls.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
        // Inside its handler the signal is blocked: unblocking delivers the raised one.
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::_exit(128 + signal)
    }
}

fn run_inner(config: args::Config, pipe: Option<libc::c_int>) -> Result<(), String> {
    let temporary = crate::output_file::temporary_path(&config.output).into_os_string().into_encoded_bytes();
    if let Ok(temporary) = std::ffi::CString::new(temporary) {
        TEMPORARY_OUTPUT.store(temporary.into_raw(), Ordering::Relaxed);
        on_fatal_signals(remove_temporary_and_die);
    }
    if config.print_help {
        print!("{}", args::help_text());
        return Ok(());
    }
    if config.print_version {
        println!("{}", args::VERSION);
        if config.inputs.is_empty() {
            return Ok(());
        }
    }
    for what in &config.warnings {
        if config.fatal_warnings {
            return Err(format!("{what} (--fatal-warnings)"));
        }
        eprintln!("rivet-ld: warning: {what}");
    }
    if config.inputs.is_empty() {
        return Err("no input files".into());
    }
    let arena = FileArena::default();
    let linked = link(&config, &arena, pipe);
    // Written whether or not the link succeeded: a failing link is what reproducers are for.
    let reproduced = crate::reproduce::write(&config, &arena, args::VERSION).map_err(|e| e.to_string());
    release_jobserver_tokens();
    linked.and(reproduced)
}

/// Maps the inputs; ends here if `--incremental` finds the output up to date; else links
/// them on a pool of [`thread_count`] threads.
fn link(config: &args::Config, arena: &FileArena, pipe: Option<libc::c_int>) -> Result<(), String> {
    let mut timer = Timer::new(config.print_timing);
    let mut incremental = incremental::applies(config).then(|| incremental::Inputs::new(config));
    let inputs = match &mut incremental {
        Some(taken) => check_incremental(config, arena, taken, &mut timer, pipe)?,
        None => load_inputs(config, arena).map_err(|e| e.to_string())?,
    };
    timer.lap("open inputs");
    crate::huge_pages::use_if_worthwhile(inputs.iter().map(|input| input.bytes.len() as u64).sum());
    let threads = thread_count(config);
    if config.print_timing {
        let tokens = JOBSERVER_TOKENS.lock().map_or(0, |t| t.len());
        let source = match (config.threads, tokens) {
            (Some(_), _) => "--threads".to_string(),
            (None, 0) if jobserver().is_none() => "every core".to_string(),
            (None, tokens) => format!("the jobserver's implicit token and {tokens} more"),
        };
        eprintln!("rivet-ld: threads: {threads} ({source})");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| crate::huge_pages::advise_thread_heap())
        .build()
        .map_err(|e| e.to_string())?;
    pool.in_place_scope(|scope| {
        let mut session = Session::new(config.clone(), arena, scope);
        session.continue_timing(timer);
        // Success is final once the output is in place: tell the parent then, and leave the
        // teardown of inputs and tables to the kernel (unless a reproducer is still to be
        // written). An incremental link records its state after that.
        if config.reproduce.is_none() {
            session.on_output_ready(move |map_of_output| {
                if let Some(taken) = incremental {
                    // The parent exits now; the map is made and the state recorded after it.
                    outlive_parent();
                    report_status(0, pipe);
                    if let Err(e) = taken.record(config, arena, map_of_output()) {
                        eprintln!("rivet-ld: warning: no incremental state kept: {e}");
                    }
                    exit_now(0, None)
                }
                exit_now(0, pipe)
            });
        }
        for input in inputs {
            session.add(input).map_err(|e| e.to_string())?;
        }
        session.finish(&pool).map_err(|e| e.to_string())
    })
}

/// Ends the process if the output is what a link of the inputs would write (up to date); else
/// returns the inputs, mapped and taken for recording. The inputs the previous link had are
/// only stat'ed for the check: an up-to-date `rivet-ld` run on ripgrep's 325 inputs took 5.3
/// ms mapping them all, 3.1 ms so (hyperfine, both builds in one run); a link that goes on
/// pays a stat per input more.
fn check_incremental<'d>(
    config: &args::Config,
    arena: &'d FileArena,
    taken: &mut incremental::Inputs<'d>,
    timer: &mut Timer,
    pipe: Option<libc::c_int>,
) -> Result<Vec<crate::input::LoadedFile<'d>>, String> {
    let load = || load_inputs(config, arena).map_err(|e| e.to_string());
    // An input that cannot be loaded is reported by the full load.
    let unread = taken.has_previous().then(|| crate::input::load_inputs_unread(config, arena, &|s| taken.was_input(s)));
    let mut inputs = match unread {
        Some(Ok(inputs)) => inputs,
        _ => load()?,
    };
    inputs.iter().for_each(|input| taken.add(input));
    match incremental::check(config, taken) {
        Ok(hashed) => {
            timer.lap("incremental: inputs checked, output touched");
            if config.print_timing {
                eprintln!("rivet-ld: incremental: up to date ({} inputs, {hashed} hashed)", inputs.len());
                timer.report();
            }
            // Nothing to tear down worth waiting for: leave the maps to the kernel.
            exit_now(0, pipe);
        }
        Err(why @ incremental::Stale::Inputs { .. }) => {
            timer.lap("incremental: inputs checked");
            // Success is final once the patched output is in place: the parent reports then,
            // and the copies and state are recorded after it.
            let mut report = |timer: &Timer, patched: &incremental::Patched| {
                if config.print_timing {
                    eprintln!(
                        "rivet-ld: incremental: patched in place ({why}): {} inputs, {}",
                        patched.inputs, patched.tally
                    );
                    timer.report();
                }
                outlive_parent();
                report_status(0, pipe);
            };
            match incremental::relink_in_place_timed(config, taken, timer, &mut report) {
                Ok(_) => exit_now(0, None),
                Err(reason) if config.print_timing => {
                    eprintln!("rivet-ld: incremental: full link: {why}, and not in place: {reason}")
                }
                Err(_) => {}
            }
        }
        Err(why) if config.print_timing => eprintln!("rivet-ld: incremental: full link: {why}"),
        Err(_) => {}
    }
    if crate::input::read_unread(arena, &mut inputs).is_err() {
        inputs = load()?;
    }
    taken.clear();
    inputs.iter().for_each(|input| taken.add(input));
    Ok(inputs)
}
