//! Where LLVM's worker threads find the link their objects belong to.
//!
//! rustc's `WriteBackendMethods::codegen` has no `self`: all a hook has is the codegen
//! context, whose output file names are the session's. So the one piece of global state is
//! this table from a session's output stem (`<out dir>/<crate file stem>`) to the sender of
//! its in-process link. An entry lives from the start of codegen to the end of `link` (or
//! to the drop of the [`Registration`], whatever ends the session), so a process that runs
//! several sessions, one after the other or at once, never sends one's objects to another.

use std::path::PathBuf;
use std::sync::Mutex;

use rustc_codegen_ssa::CompiledModule;
use rustc_session::config::OutputFilenames;

use crate::in_process::{Event, Sender};

static LINKS: Mutex<Vec<(PathBuf, Sender)>> = Mutex::new(Vec::new());

fn key(outputs: &OutputFilenames) -> PathBuf {
    outputs.with_extension("")
}

/// Sends the objects of `outputs`'s session to `sender` until the registration drops.
pub struct Registration(PathBuf);

impl Registration {
    pub fn new(outputs: &OutputFilenames, sender: Sender) -> Registration {
        let key = key(outputs);
        let mut links = LINKS.lock().unwrap_or_else(|p| p.into_inner());
        links.retain(|(k, _)| *k != key);
        links.push((key.clone(), sender));
        Registration(key)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        LINKS.lock().unwrap_or_else(|p| p.into_inner()).retain(|(k, _)| *k != self.0);
    }
}

/// Hands the object of `module`, just written, to its session's link, if it has one.
pub fn deliver(outputs: &OutputFilenames, module: &CompiledModule) {
    let key = key(outputs);
    let sender =
        LINKS.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(k, _)| *k == key).map(|(_, s)| s.clone());
    if let (Some(sender), Some(object)) = (sender, &module.object) {
        // A link that stopped (it failed, or the session is over) takes no more objects.
        let _ = sender.send(Event::Object { name: module.name.clone(), path: object.clone() });
    }
}
