//! One daemon per user: the instance lock, the discovery file and the token.
//!
//! The lock is an OS file lock (`flock`) on `daemon.lock`: the kernel drops it when
//! the process dies however it dies, so a lock left by a killed daemon is never
//! stale. A discovery file whose daemon no longer holds the lock is stale, and the
//! next daemon takes over.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::{Read, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::{
    platform::os,
    platform::paths::{self, Paths},
};

/// What clients read to find the daemon. Written (0600) once the port is bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    pub pid: u32,
    pub port: u16,
    pub version: String,
    pub protocol_version: u32,
    pub token_file: PathBuf,
    pub log_file: PathBuf,
    /// The daemon's private Unix socket, which PAIRED's own clients use (absent
    /// where it could not be made, and in files of older daemons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
}

impl Discovery {
    /// Reads the discovery file: a regular file of this user's, never through a link.
    pub fn read(path: &Path) -> Option<Discovery> {
        serde_json::from_str(&read_private(path)?).ok()
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).context("serializing discovery file")?;
        paths::write_private(path, &json)
    }

    /// Removes the discovery file if it still describes this process.
    pub fn remove_if_ours(path: &Path) {
        if Discovery::read(path).is_some_and(|d| d.pid == std::process::id()) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Held by the running daemon for its whole life.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

pub enum Acquired {
    /// We are the daemon. `stale` is what a previous daemon, killed without
    /// cleaning up, left in the discovery file.
    Lock { lock: InstanceLock, stale: Option<Discovery> },
    /// Another daemon holds the lock. Its discovery file, once it has written it.
    AlreadyRunning(Option<Discovery>),
}

pub fn acquire(paths: &Paths) -> Result<Acquired> {
    let lock_path = paths.lock_file();
    let mut file = os::open_private(&lock_path, OpenOptions::new().read(true).write(true).create(true).truncate(false))
        .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Ok(Acquired::AlreadyRunning(Discovery::read(&paths.discovery_file())));
        }
        Err(TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("cannot lock {}", lock_path.display()));
        }
    }
    file.set_len(0)?;
    writeln!(file, "{}", std::process::id())?;
    let stale = Discovery::read(&paths.discovery_file());
    Ok(Acquired::Lock { lock: InstanceLock { _file: file }, stale })
}

/// The pid the lock holder wrote into the lock file.
pub fn lock_pid(paths: &Paths) -> Option<u32> {
    read_private(&paths.lock_file())?.trim().parse().ok()
}

/// A small file of ours, read without following links; `None` when absent,
/// someone else's or unreadable.
fn read_private(path: &Path) -> Option<String> {
    let mut text = String::new();
    os::open_private(path, OpenOptions::new().read(true)).ok()?.read_to_string(&mut text).ok()?;
    Some(text)
}

/// The discovery file, if it describes the daemon that holds the lock now (not a
/// stale one left by a killed daemon).
pub fn live_discovery(paths: &Paths) -> Option<Discovery> {
    let discovery = Discovery::read(&paths.discovery_file())?;
    (is_running(paths) && lock_pid(paths) == Some(discovery.pid)).then_some(discovery)
}

/// Whether some process holds the instance lock right now.
pub fn is_running(paths: &Paths) -> bool {
    let Ok(file) = os::open_private(&paths.lock_file(), OpenOptions::new().read(true)) else {
        return false;
    };
    matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
}

/// Loads the token, creating a fresh 256-bit one on first start. A token file that
/// others could read is treated as leaked and replaced.
pub fn load_or_create_token(path: &Path) -> Result<String> {
    if let Ok(mode) = paths::mode_of(path) {
        let token = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let token = token.trim();
        if mode & 0o077 == 0 && token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(token.to_owned());
        }
        tracing::warn!(
            "token file {} was readable by others (mode {mode:o}) or malformed; issuing a new token",
            path.display()
        );
    }
    let token = new_token()?;
    paths::write_private(path, token.as_bytes())?;
    Ok(token)
}

fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| anyhow::anyhow!("no OS randomness for the token: {err}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads the token a client needs to call the daemon.
pub fn read_token(path: &Path) -> Result<String> {
    let mut token = String::new();
    os::open_private(path, OpenOptions::new().read(true))
        .and_then(|mut file| file.read_to_string(&mut token))
        .with_context(|| {
            format!("cannot read the daemon token {}; is the daemon running as this user?", path.display())
        })?;
    let token = token.trim();
    if token.is_empty() {
        bail!("the daemon token {} is empty; restart the daemon to issue a new one", path.display());
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(root: &Path) -> Paths {
        let p = Paths {
            config_dir: root.join("c"),
            data_dir: root.join("d"),
            state_dir: root.join("s"),
            runtime_dir: root.join("r"),
        };
        p.create_all().expect("dirs");
        p
    }

    #[test]
    fn second_acquire_sees_the_first_and_release_frees_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = paths(dir.path());
        let Acquired::Lock { lock, stale: None } = acquire(&paths).expect("acquire") else { panic!("first") };
        assert!(is_running(&paths));
        assert!(matches!(acquire(&paths).expect("acquire"), Acquired::AlreadyRunning(None)));
        drop(lock);
        assert!(!is_running(&paths));
        assert!(matches!(acquire(&paths).expect("acquire"), Acquired::Lock { .. }));
    }

    #[test]
    fn token_is_private_and_stable_and_replaced_when_exposed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        let first = load_or_create_token(&path).expect("create");
        assert_eq!(first.len(), 64);
        assert_eq!(paths::mode_of(&path).expect("mode"), 0o600);
        assert_eq!(load_or_create_token(&path).expect("load"), first);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let second = load_or_create_token(&path).expect("replace");
        assert_ne!(second, first);
        assert_eq!(paths::mode_of(&path).expect("mode"), 0o600);
    }
}
