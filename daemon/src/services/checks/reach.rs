//! What the tools a check runs may read besides the project: the
//! toolchains on the daemon's `PATH` and the sources their package managers
//! downloaded — their programs, libraries and caches, never the home folder
//! itself (keys, tokens, other projects).

use std::path::{Path, PathBuf};

use super::tool_path;

pub(super) fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

pub(super) fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| Some(home()?.join(".cargo")))
}

/// What the tool may read besides the project: the system, and the
/// toolchains on its `PATH` that live in the user's home — their programs
/// and libraries, never the home itself (keys, tokens, other projects).
pub(super) fn toolchain_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    let home = home();
    for dir in std::env::split_paths(&tool_path()) {
        // pyenv's and rbenv's shims run the versions beside them.
        if dir.ends_with("shims") {
            roots.extend(dir.parent().map(Path::to_path_buf));
            continue;
        }
        let Some(home) = home.as_deref().filter(|h| dir.starts_with(h)) else {
            roots.push(dir);
            continue;
        };
        let parent = dir.parent().filter(|p| *p != home);
        match parent {
            Some(p) if cargo_home().as_deref() == Some(p) => {
                roots.extend(["bin", "registry", "git"].map(|d| p.join(d)));
            }
            Some(p) if p == home.join(".local") => roots.extend(["bin", "lib"].map(|d| p.join(d))),
            Some(p) if dir.ends_with("bin") => roots.push(p.to_path_buf()),
            _ => roots.push(dir),
        }
    }
    // Cargo's downloaded sources wherever `CARGO_HOME` is (outside the home
    // folder too: `/usr/local/cargo`), never its credentials beside them.
    if let Some(cargo) = cargo_home() {
        roots.extend(["registry", "git"].map(|d| cargo.join(d)));
    }
    let rustup = std::env::var_os("RUSTUP_HOME").map(PathBuf::from).or_else(|| Some(home.as_deref()?.join(".rustup")));
    roots.extend(rustup);
    roots.extend(["GOROOT", "PYENV_ROOT", "VIRTUAL_ENV"].iter().filter_map(std::env::var_os).map(PathBuf::from));
    roots.extend(
        std::env::var_os("GOMODCACHE").map(PathBuf::from).or_else(|| Some(home.as_deref()?.join("go/pkg/mod"))),
    );
    roots.retain(|r| r.exists());
    roots.sort();
    roots.dedup();
    roots
}
