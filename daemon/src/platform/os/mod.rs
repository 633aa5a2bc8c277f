//! Everything PAIRED needs from the operating system beyond what the standard
//! library says portably, behind one small interface: who owns a folder and
//! private files (opened without following links), the local transport (a
//! socket only this user reaches) and its peer credentials, the uid behind a
//! loopback TCP connection, processes (exec, detach, alive, priority), the
//! descriptor limit, and the signals that stop the daemon.
//!
//! [`unix`] is the implementation (Linux in full, other Unixes where POSIX
//! says). On any other OS the same functions exist and say at run time that
//! the OS is not supported yet (`other.rs`), so a macOS-specific or Windows
//! port is work in this module alone: no other file of the daemon names an
//! OS API (`daemon/tests/layers.rs` checks it).

pub mod sandbox;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

// Compiled in unit tests on Unix too, so the stubs keep building as the
// interface changes.
#[cfg(any(not(unix), test))]
mod other;
#[cfg(not(unix))]
pub use other::*;

/// A thread's use of the CPU so far ([`thread_usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadUsage {
    pub cpu: std::time::Duration,
    /// Times it gave up the CPU to wait (voluntary context switches).
    pub blocked: u64,
}

/// Why a folder is not private enough to keep PAIRED's lock, discovery file,
/// token or log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPrivate {
    /// Another user owns it.
    Owner { uid: u32 },
    /// Others (group or world) may create or replace files in it.
    Writable { mode: u32 },
    /// Its parent lets someone else rename or replace it (world-writable and not
    /// sticky, or owned by another user).
    ParentWritable { parent: String, mode: u32, owner: u32 },
    /// It is a symbolic link (which someone else could point elsewhere).
    Link,
}

impl std::fmt::Display for NotPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotPrivate::Owner { uid } => {
                write!(f, "it belongs to another user (uid {uid}), not to you (uid {})", current_uid())
            }
            NotPrivate::Writable { mode } => write!(f, "others can write to it (mode {mode:03o})"),
            NotPrivate::ParentWritable { parent, mode, owner } => {
                write!(f, "its parent {parent} lets someone else replace it (owner uid {owner}, mode {mode:03o})")
            }
            NotPrivate::Link => write!(f, "it is a symbolic link"),
        }
    }
}
