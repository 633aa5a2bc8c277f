//! Installed packages on disk. The file system is the store, and every change
//! is one atomic rename, so a `kill -9` at any point leaves a consistent store
//! with the old or the new version active, never half of one:
//!
//! ```text
//! <data>/market/agents/<name>/
//!     <version>/         unpacked, verified package (agent.toml, …)
//!     current  -> <version>     the active version (what the roster loads)
//!     previous -> <version>     kept for `market/rollback`
//!     state.json         registry and granted permissions, per version
//!     .staging-*         an install in progress (removed when found stale)
//! ```

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use protocol::market::Installed;
use serde::{Deserialize, Serialize};

pub struct Store {
    root: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// version → where it came from and what the user granted.
    versions: BTreeMap<String, VersionState>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct VersionState {
    registry: String,
    #[serde(default)]
    publisher: String,
    permissions: Vec<String>,
}

impl Store {
    pub fn new(data_dir: &Path) -> Store {
        Store { root: data_dir.join("market/agents") }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `agent.toml` of every active package, for the roster.
    pub fn active_manifests(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Vec::new() };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path().join("current/agent.toml"))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found
    }

    /// Names with a folder here (installed, or being installed).
    pub fn names(&self) -> std::collections::BTreeSet<String> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Default::default() };
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect()
    }

    pub fn installed(&self) -> Vec<Installed> {
        self.names().into_iter().filter_map(|n| self.get(&n)).collect()
    }

    pub fn get(&self, name: &str) -> Option<Installed> {
        let dir = self.root.join(name);
        let version = link_target(&dir.join("current"))?;
        let state = read_state(&dir);
        let mut kept: Vec<String> = link_target(&dir.join("previous")).into_iter().filter(|v| *v != version).collect();
        kept.sort();
        let info = state.versions.get(&version).cloned().unwrap_or_default();
        Some(Installed {
            name: name.to_owned(),
            path: dir.join(&version).display().to_string(),
            version,
            registry: info.registry,
            kept,
            permissions: info.permissions,
        })
    }

    /// Installs `version`: `unpack` fills a staging folder (and checks it);
    /// then it becomes `<version>/`, the active version becomes `previous`,
    /// and `current` switches — the one step that activates it.
    pub fn activate(
        &self,
        name: &str,
        version: &str,
        registry: &str,
        publisher: &str,
        permissions: Vec<String>,
        unpack: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<Installed> {
        // Both become path components: only plain names get that far.
        for part in [name, version] {
            let plain = !part.is_empty()
                && !part.starts_with('.')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+' | '_'));
            if !plain {
                bail!("{part:?} cannot name an installed package or version");
            }
        }
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        self.clean_staging(&dir);
        let staging = dir.join(format!(".staging-{}-{}", std::process::id(), nanos()));
        if let Err(err) = unpack(&staging) {
            // Nothing of a refused package stays behind.
            let _ = std::fs::remove_dir_all(&staging);
            return Err(err);
        }
        let final_dir = dir.join(version);
        let active = [link_target(&dir.join("current")), link_target(&dir.join("previous"))];
        if final_dir.exists() && active.iter().flatten().any(|v| v == version) {
            // Reinstalling an active (verified, complete) version: keep it.
            let _ = std::fs::remove_dir_all(&staging);
        } else {
            // A folder no link points at may be a half-deleted leftover: replace it.
            if final_dir.exists() {
                self.discard(&dir, &final_dir);
            }
            std::fs::rename(&staging, &final_dir).with_context(|| format!("activating {}", final_dir.display()))?;
        }
        let mut state = read_state(&dir);
        let record = VersionState { registry: registry.to_owned(), publisher: publisher.to_owned(), permissions };
        state.versions.insert(version.to_owned(), record);
        write_state(&dir, &state)?;
        if let Some(active) = link_target(&dir.join("current"))
            && active != version
        {
            set_link(&dir.join("previous"), &active)?;
        }
        set_link(&dir.join("current"), version)?;
        self.collect_garbage(&dir);
        self.get(name).context("the package vanished while being activated")
    }

    /// Who published the active version.
    pub fn publisher(&self, name: &str) -> String {
        let dir = self.root.join(name);
        let Some(version) = link_target(&dir.join("current")) else { return String::new() };
        read_state(&dir).versions.get(&version).map(|v| v.publisher.clone()).unwrap_or_default()
    }

    /// Makes the previous version active again (and the current one previous,
    /// so `update` can go forward to it). Only ever backwards: after a
    /// rollback the kept version is newer, and a second rollback is refused
    /// instead of going forward again (issue #15).
    pub fn rollback(&self, name: &str) -> Result<Installed> {
        let dir = self.root.join(name);
        let Some(current) = link_target(&dir.join("current")) else { bail!("{name} is not installed") };
        let Some(previous) = link_target(&dir.join("previous")).filter(|p| *p != current && dir.join(p).is_dir())
        else {
            bail!("{name} has no previous version to go back to (only {current} was installed)");
        };
        let newer = |a: &str, b: &str| match (semver::Version::parse(a), semver::Version::parse(b)) {
            (Ok(a), Ok(b)) => a > b,
            _ => false,
        };
        if newer(&previous, &current) {
            bail!(
                "{name} is already at the oldest kept version ({current}); the version kept is the newer {previous} (`paired market update {name}` goes forward again)"
            );
        }
        set_link(&dir.join("previous"), &current)?;
        set_link(&dir.join("current"), &previous)?;
        self.get(name).context("the package vanished during the rollback")
    }

    /// Removes a package: renamed away first (one step), then deleted.
    pub fn remove(&self, name: &str) -> Result<Installed> {
        let dir = self.root.join(name);
        let Some(installed) = self.get(name) else { bail!("{name} is not installed") };
        let trash = self.root.join(format!(".removed-{name}-{}", nanos()));
        std::fs::rename(&dir, &trash).with_context(|| format!("removing {}", dir.display()))?;
        let _ = std::fs::remove_dir_all(&trash);
        Ok(Installed { version: String::new(), path: String::new(), kept: Vec::new(), ..installed })
    }

    /// Versions neither current nor previous, and installs that never finished.
    fn collect_garbage(&self, dir: &Path) {
        let keep: Vec<String> =
            [link_target(&dir.join("current")), link_target(&dir.join("previous"))].into_iter().flatten().collect();
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_version = entry.file_type().is_ok_and(|t| t.is_dir()) && !name.starts_with('.');
            if is_version && !keep.contains(&name) {
                self.discard(dir, &entry.path());
            }
        }
    }

    /// Removes a version folder: renamed out of the way first (one step, so
    /// it never looks installed half-deleted), then deleted.
    fn discard(&self, dir: &Path, folder: &Path) {
        let trash = dir.join(format!(".staging-discarded-{}", nanos()));
        if std::fs::rename(folder, &trash).is_ok() {
            let _ = std::fs::remove_dir_all(&trash);
        }
    }

    fn clean_staging(&self, dir: &Path) -> usize {
        let mut removed = 0;
        for (entry, name, kind) in own_entries(dir) {
            if name.starts_with(".staging-") && kind.is_dir() && std::fs::remove_dir_all(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Removes what interrupted installs and removals left: `.staging-*`
    /// folders and half-made `*.tmp-*` links and state files in a package's
    /// folder, `.removed-*` folders beside them, and package folders left
    /// empty. For daemon start, when no install can be running. Only what
    /// this store makes is touched, and no symbolic link is followed: a link
    /// named like ours, or a package folder that is a link, is left alone.
    /// Returns how many entries went.
    pub fn clean_interrupted(&self) -> usize {
        // The store itself a link: not ours to clean through.
        if !std::fs::symlink_metadata(&self.root).is_ok_and(|m| m.is_dir()) {
            return 0;
        }
        let mut removed = 0;
        for (entry, name, kind) in own_entries(&self.root) {
            if !kind.is_dir() {
                continue;
            }
            if name.starts_with(".removed-") {
                removed += usize::from(std::fs::remove_dir_all(entry.path()).is_ok());
                continue;
            }
            if name.starts_with('.') {
                continue;
            }
            let dir = entry.path();
            removed += self.clean_staging(&dir);
            for (entry, name, kind) in own_entries(&dir) {
                let half_made =
                    ["current.tmp-", "previous.tmp-", "state.json.tmp-"].iter().any(|p| name.starts_with(p));
                if half_made && !kind.is_dir() && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            // An install that never got as far as `current`: nothing left.
            let _ = std::fs::remove_dir(&dir);
        }
        removed
    }
}

/// A folder's entries with their names and types, links not followed.
fn own_entries(dir: &Path) -> Vec<(std::fs::DirEntry, String, std::fs::FileType)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let kind = e.file_type().ok()?;
            let name = e.file_name().into_string().ok()?;
            Some((e, name, kind))
        })
        .collect()
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn link_target(link: &Path) -> Option<String> {
    let target = std::fs::read_link(link).ok()?;
    let name = target.to_str()?.to_owned();
    // Only a sibling version folder counts.
    (!name.contains('/') && !name.starts_with('.')).then_some(name)
}

/// Points `link` at `target` in one step (a new link renamed over the old).
fn set_link(link: &Path, target: &str) -> Result<()> {
    let tmp = link.with_extension(format!("tmp-{}", nanos()));
    crate::platform::os::symlink(Path::new(target), &tmp).with_context(|| format!("linking {}", tmp.display()))?;
    std::fs::rename(&tmp, link).with_context(|| format!("switching {}", link.display()))?;
    Ok(())
}

fn read_state(dir: &Path) -> State {
    std::fs::read(dir.join("state.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn write_state(dir: &Path, state: &State) -> Result<()> {
    let tmp = dir.join(format!("state.json.tmp-{}", nanos()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)?;
    std::fs::rename(&tmp, dir.join("state.json"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(store: &Store, version: &str) -> Result<Installed> {
        store.activate("scribe", version, "team", "acme", vec!["read files: **".into()], |staging| {
            std::fs::create_dir_all(staging)?;
            std::fs::write(staging.join("agent.toml"), format!("version = \"{version}\"\n"))?;
            Ok(())
        })
    }

    #[test]
    fn versions_switch_in_one_step_and_roll_back() {
        let data = tempfile::tempdir().expect("tempdir");
        let store = Store::new(data.path());
        let first = install(&store, "1.0.0").expect("install");
        assert_eq!((first.version.as_str(), first.kept.len()), ("1.0.0", 0));
        let second = install(&store, "1.1.0").expect("update");
        assert_eq!(second.kept, ["1.0.0"]);
        assert_eq!(store.active_manifests().len(), 1);
        let third = install(&store, "1.2.0").expect("update");
        assert_eq!(third.kept, ["1.1.0"]);
        assert!(!store.root().join("scribe/1.0.0").exists(), "only the previous version is kept");
        let back = store.rollback("scribe").expect("rollback");
        assert_eq!((back.version.as_str(), back.kept.as_slice()), ("1.1.0", &["1.2.0".to_owned()][..]));
        // Issue #15: a second rollback went forward again, to 1.2.0.
        let err = store.rollback("scribe").expect_err("no older version is kept").to_string();
        assert!(err.contains("already at the oldest kept version (1.1.0)"), "{err}");
        assert_eq!(store.get("scribe").expect("installed").version, "1.1.0");
        assert_eq!(back.registry, "team");
        let text = std::fs::read_to_string(&store.active_manifests()[0]).expect("read");
        assert_eq!(text, "version = \"1.1.0\"\n");
        store.remove("scribe").expect("remove");
        assert!(store.installed().is_empty());
        assert!(store.rollback("scribe").is_err());
    }

    #[test]
    fn names_and_versions_that_would_leave_the_store_are_refused() {
        let data = tempfile::tempdir().expect("tempdir");
        let store = Store::new(data.path());
        for (name, version) in
            [("scribe", "../../evil"), ("scribe", "1.0.0/../../x"), ("../x", "1.0.0"), ("scribe", ".hidden")]
        {
            let err = store.activate(name, version, "team", "acme", Vec::new(), |_| Ok(())).expect_err("refused");
            assert!(err.to_string().contains("cannot name"), "{err}");
        }
        assert!(!data.path().join("evil").exists());
    }

    #[test]
    fn a_failed_install_leaves_the_active_version_alone() {
        let data = tempfile::tempdir().expect("tempdir");
        let store = Store::new(data.path());
        install(&store, "1.0.0").expect("install");
        let failed = store.activate("scribe", "2.0.0", "team", "acme", Vec::new(), |staging| {
            std::fs::create_dir_all(staging)?;
            bail!("the archive is hostile")
        });
        assert!(failed.is_err());
        assert_eq!(store.get("scribe").expect("installed").version, "1.0.0");
        // A later install cleans the staging folder the failure left.
        install(&store, "1.0.1").expect("install");
        let left: Vec<_> = std::fs::read_dir(store.root().join("scribe"))
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
            .collect();
        assert!(left.is_empty());
    }

    /// Issue #14: an interrupted install's staging folder stayed until the same
    /// package was installed again.
    #[test]
    fn leftovers_are_cleaned_without_following_links() {
        let data = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(outside.path().join(".staging-1")).expect("mkdir");
        std::fs::write(outside.path().join(".staging-1/keep"), "x").expect("write");
        std::fs::write(outside.path().join("keep"), "x").expect("write");
        let store = Store::new(data.path());
        install(&store, "1.0.0").expect("install");
        let scribe = store.root().join("scribe");
        std::fs::create_dir_all(scribe.join(".staging-7-8/tests")).expect("mkdir");
        std::fs::write(scribe.join(".staging-7-8/agent.toml"), "x").expect("write");
        std::os::unix::fs::symlink("1.0.0", scribe.join("current.tmp-9")).expect("symlink");
        std::os::unix::fs::symlink(outside.path(), scribe.join(".staging-link")).expect("symlink");
        std::fs::create_dir_all(store.root().join(".removed-old-1/1.0.0")).expect("mkdir");
        std::fs::create_dir_all(store.root().join("never/.staging-3-4")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), store.root().join("linked")).expect("symlink");
        assert_eq!(store.clean_interrupted(), 4);
        let mut left: Vec<String> = std::fs::read_dir(store.root())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["linked", "scribe"]);
        let mut left: Vec<String> = std::fs::read_dir(&scribe)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".staging-link", "1.0.0", "current", "state.json"]);
        assert!(outside.path().join(".staging-1/keep").is_file() && outside.path().join("keep").is_file());
        assert_eq!(store.get("scribe").expect("installed").version, "1.0.0");
    }
}
