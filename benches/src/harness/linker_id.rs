//! The linkers the bench compares, by name: how each is named on the command line and in
//! tables, and the arguments that pin its thread count.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LinkerId {
    RustLld,
    Lld,
    Mold,
    Wild,
    Bfd,
    Zig,
    Rivet,
}

impl LinkerId {
    pub const ALL: [LinkerId; 7] = [
        LinkerId::RustLld,
        LinkerId::Lld,
        LinkerId::Mold,
        LinkerId::Wild,
        LinkerId::Bfd,
        LinkerId::Zig,
        LinkerId::Rivet,
    ];

    /// The short name used on the command line and in file names.
    pub fn key(self) -> &'static str {
        match self {
            LinkerId::RustLld => "rust-lld",
            LinkerId::Lld => "lld",
            LinkerId::Mold => "mold",
            LinkerId::Wild => "wild",
            LinkerId::Bfd => "bfd",
            LinkerId::Zig => "zig",
            LinkerId::Rivet => "rivet",
        }
    }

    /// The name shown in tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            LinkerId::RustLld => "rust-lld",
            LinkerId::Lld => "lld-19",
            LinkerId::Mold => "mold",
            LinkerId::Wild => "wild",
            LinkerId::Bfd => "GNU ld (bfd)",
            LinkerId::Zig => "zig ld (self-hosted)",
            LinkerId::Rivet => "rivet-ld",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|id| id.key() == key)
    }

    /// Whether the linker can use more than one thread (GNU ld cannot, so it is measured
    /// once, at 1 thread).
    pub fn is_multithreaded(self) -> bool {
        self != LinkerId::Bfd
    }

    /// Arguments that pin the thread count (and keep the work in the measured process).
    pub fn thread_args(self, threads: u32) -> Vec<String> {
        match self {
            LinkerId::RustLld | LinkerId::Lld => vec![format!("--threads={threads}")],
            // mold, wild and rivet-ld fork by default and let the parent exit before the child
            // has finished cleaning up; --no-fork keeps all the work (and its RSS) measurable.
            LinkerId::Rivet => vec!["--no-fork".into(), format!("--threads={threads}")],
            LinkerId::Mold => vec!["--no-fork".into(), format!("--thread-count={threads}")],
            LinkerId::Wild => vec!["--no-fork".into(), format!("--threads={threads}")],
            LinkerId::Bfd => Vec::new(),
            LinkerId::Zig => vec![format!("-j{threads}")],
        }
    }
}
