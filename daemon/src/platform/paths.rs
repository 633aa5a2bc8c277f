//! Where PAIRED keeps its files, following the XDG base directories on Linux and
//! each platform's conventions elsewhere (the `directories` crate).
//!
//! | what | where (Linux) |
//! |---|---|
//! | user config | `$XDG_CONFIG_HOME/paired/config.toml` |
//! | database | `$XDG_DATA_HOME/paired/paired.db` |
//! | token, log | `$XDG_STATE_HOME/paired/` |
//! | lock, discovery file, socket | `$XDG_RUNTIME_DIR/paired/`, else the state dir |

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};

use crate::platform::os;

#[derive(Debug, Clone)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    pub runtime_dir: PathBuf,
}

impl Paths {
    pub fn from_env() -> Result<Paths> {
        let dirs = directories::ProjectDirs::from("", "", "paired")
            .context("cannot find the home directory: set HOME (or XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME)")?;
        let state_dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()).to_path_buf();
        let runtime_dir = dirs.runtime_dir().map(Path::to_path_buf).unwrap_or_else(|| state_dir.clone());
        Ok(Paths {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            state_dir,
            runtime_dir,
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
    pub fn database(&self) -> PathBuf {
        self.data_dir.join("paired.db")
    }
    pub fn token_file(&self) -> PathBuf {
        self.state_dir.join("token")
    }
    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("paired.log")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.runtime_dir.join("daemon.lock")
    }
    pub fn discovery_file(&self) -> PathBuf {
        self.runtime_dir.join("daemon.json")
    }
    pub fn socket_file(&self) -> PathBuf {
        self.runtime_dir.join("daemon.sock")
    }

    /// Creates every directory, private to the user (0700), and checks that each
    /// is the user's own and that nobody else can write to it.
    pub fn create_all(&self) -> Result<()> {
        for dir in self.all() {
            create_private_dir(dir)?;
        }
        self.check_private()
    }

    /// Refuses folders another user could plant files in: a `daemon.json` that
    /// points clients (and their token) at someone else's port, a `daemon.lock`
    /// or temporary file that is a link to the victim's files. What ssh-agent and
    /// gpg-agent do for their socket folders.
    pub fn check_private(&self) -> Result<()> {
        for dir in self.all() {
            match os::check_private_dir(dir) {
                Ok(None) => {}
                // Not there yet: whoever creates it checks it.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err).with_context(|| format!("cannot check {}", dir.display())),
                Ok(Some(problem)) => bail!("{}", unsafe_dir_message(dir, &problem)),
            }
        }
        Ok(())
    }

    fn all(&self) -> [&PathBuf; 4] {
        [&self.config_dir, &self.data_dir, &self.state_dir, &self.runtime_dir]
    }
}

/// What `paired` says (and `paired doctor` shows) about an unsafe folder.
pub fn unsafe_dir_message(dir: &Path, problem: &os::NotPrivate) -> String {
    let hint = match problem {
        os::NotPrivate::Writable { .. } => format!("run `chmod go-w {}`", dir.display()),
        os::NotPrivate::ParentWritable { .. } | os::NotPrivate::Owner { .. } | os::NotPrivate::Link => {
            "point XDG_RUNTIME_DIR (or XDG_STATE_HOME, XDG_CONFIG_HOME, XDG_DATA_HOME) at a folder of your own, or remove it so PAIRED creates it privately".to_owned()
        }
    };
    format!(
        "refusing to use {}: {problem}, so another user could plant or replace PAIRED's files there; {hint}",
        dir.display()
    )
}

pub fn create_private_dir(dir: &Path) -> Result<()> {
    os::create_private_dir(dir).with_context(|| format!("cannot create directory {}", dir.display()))
}

/// Writes `contents` to `path` atomically (temporary file + rename), readable and
/// writable by the user only. The temporary file is created new (`O_EXCL`,
/// `O_NOFOLLOW`): a leftover or a planted link in its place is removed, never
/// written through.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let write = || -> io::Result<()> {
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let mut file = os::create_new_private(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// The permission bits of a file, for `doctor` and the token check.
pub fn mode_of(path: &Path) -> io::Result<u32> {
    Ok(os::mode(&fs::metadata(path)?) & 0o777)
}
