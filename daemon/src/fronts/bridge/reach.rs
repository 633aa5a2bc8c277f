//! What a 1.0 client reaches: the projects it may connect to (without a token,
//! only those the user opened or configured) and the files a message names,
//! resolved and checked against them. Every refusal reads the same, whether
//! or not the file exists.

use std::{
    path::{Component, Path, PathBuf},
    sync::Arc,
};

use super::state::Reach;
use crate::server::daemon::Daemon;

async fn open_project(daemon: &Arc<Daemon>, root: &Path) -> bool {
    let params = protocol::context::AddWorkspaceParams { folder: crate::platform::uri::from_path(root), wait: true };
    crate::services::codebase::add_workspace(&daemon.codebase, params).await.is_ok()
}

/// The projects the user opened (the workspaces editors registered) or
/// configured (`bridge.projects`), canonical.
fn user_projects(daemon: &Daemon) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = daemon.codebase.workspaces.all().iter().map(|w| w.root.clone()).collect();
    roots
        .extend(daemon.config.bridge.projects.iter().filter(|p| p.is_absolute()).filter_map(|p| p.canonicalize().ok()));
    roots
}

/// Connects a 1.0 client to the project at `path` (`PROJECT_CONNECT`,
/// `projectPath`): its canonical folder, or why not. Without a token the folder
/// must be one the user opened or configured, and the refusal is the same
/// whether the folder exists or not.
pub(super) async fn connect(daemon: &Arc<Daemon>, trusted: bool, path: &str) -> Result<PathBuf, String> {
    let folder = crate::platform::uri::to_path(path).and_then(|p| p.canonicalize().ok()).filter(|p| p.is_dir());
    if trusted {
        let folder = folder.ok_or_else(|| format!("{path:?} is not a folder on this machine"))?;
        open_project(daemon, &folder).await;
        return Ok(folder);
    }
    let Some(root) = folder.filter(|f| user_projects(daemon).contains(f)) else {
        return Err(format!(
            "{path:?} is not a project this 1.0 client may connect to: without a token, the bridge connects only to a workspace open in an editor or a folder listed in `bridge.projects` of the user's config"
        ));
    };
    // A configured project is indexed when a client first connects to it.
    if daemon.codebase.workspaces.find_for(&root).is_none_or(|w| w.root != root) {
        open_project(daemon, &root).await;
    }
    Ok(root)
}

/// What a message says about files.
pub(super) enum Mention {
    /// It names no file (or only files that are not there, inside a project it may reach).
    Nothing,
    /// A file it may reach, canonical.
    File(PathBuf),
    /// A path out of reach; the refusal says nothing of whether it exists.
    Refused(String),
}

/// The first file the message names (`src/lib.rs` in the project, an absolute
/// path) that is there, checked against the request's reach by [`file_in_reach`].
pub(super) fn mentioned_file(daemon: &Daemon, reach: &Reach, message: &str, project: Option<&Path>) -> Mention {
    let words = message
        .split(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | ',' | '(' | ')'))
        .filter(|w| w.contains('.') || w.contains('/'))
        .map(|w| w.trim_end_matches(['.', ':', ';', '?', '!']))
        .filter(|w| w.chars().any(|c| c != '/' && c != '.'));
    for word in words {
        if let Some(mention) = file_in_reach(daemon, reach, word, project) {
            return mention;
        }
    }
    Mention::Nothing
}

/// `word` as a file (relative to `project`, or absolute) the request may
/// reach, a refusal, or `None`: not a file name after all (nothing there, a
/// folder), inside a project it may reach. Without a token the path must lie
/// in a connected project as written — checked before the file system is
/// asked — and once resolved by [`crate::services::workspace::Workspaces::resolve`]
/// (links, `..`, the project's ignore rules). Every refusal reads the same.
pub(super) fn file_in_reach(daemon: &Daemon, reach: &Reach, word: &str, project: Option<&Path>) -> Option<Mention> {
    let named = PathBuf::from(word);
    let path = match project {
        _ if named.is_absolute() => named,
        Some(project) => project.join(named),
        None => return None,
    };
    let within = if reach.trusted {
        None
    } else {
        let written = lexically_normal(&path);
        match reach.projects.iter().find(|root| written.starts_with(root)) {
            Some(root) => Some(root.as_path()),
            None => return Some(Mention::Refused(out_of_reach(word))),
        }
    };
    match daemon.codebase.workspaces.resolve(&path, within) {
        Ok(resolved) if resolved.path.is_file() => Some(Mention::File(resolved.path)),
        Ok(resolved) if resolved.path.is_dir() => None,
        // Nothing there (a dangling link is something: refused).
        Ok(resolved)
            if std::fs::symlink_metadata(&resolved.path).is_err() && std::fs::symlink_metadata(&path).is_err() =>
        {
            None
        }
        _ => Some(Mention::Refused(out_of_reach(word))),
    }
}

fn out_of_reach(word: &str) -> String {
    format!(
        "{word:?} is out of reach: without a token, the bridge answers only for files of a project this client connected with (PROJECT_CONNECT or `projectPath`) that is open in an editor or listed in `bridge.projects`, and not excluded by .gitignore, .ignore or .pairedignore"
    )
}

/// `path` with `.` and `..` resolved by name, without asking the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    #[test]
    fn paths_are_normalised_by_name_before_the_file_system_is_asked() {
        let normal = |p: &str| super::lexically_normal(Path::new(p));
        assert_eq!(normal("/home/u/proj/../../../etc/shadow"), PathBuf::from("/etc/shadow"));
        assert_eq!(normal("/home/u/proj/./src/../lib.rs"), PathBuf::from("/home/u/proj/lib.rs"));
        assert_eq!(normal("/../.."), PathBuf::from("/"));
    }
}
