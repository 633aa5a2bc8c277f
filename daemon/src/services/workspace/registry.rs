//! The open workspaces, one per root, and who holds each: a workspace no
//! client holds any more is put to sleep (its index and watches dropped,
//! [`Workspace::sleep`]) once it has been idle for a while, beyond the few
//! most recently used the user keeps (`[context] idle_workspace_secs`,
//! `keep_idle_workspaces`). A sleeping workspace still decides what is
//! excluded and what is outside it; it wakes (is indexed again) when it is
//! next added.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use crate::services::events::Events;

use super::Workspace;
use crate::services::documents::ClientId;

pub struct Workspaces {
    map: Mutex<HashMap<PathBuf, Entry>>,
    /// Larger files are indexed shallowly (`context.full_parse_max_kb`).
    full_parse_max: usize,
}

struct Entry {
    workspace: Arc<Workspace>,
    /// The clients that named it as one of their folders.
    holders: HashSet<ClientId>,
    /// Since when no client holds it (or it was last added): `None` while held.
    idle_since: Option<Instant>,
}

/// How long a workspace no client holds stays indexed, and how many such
/// workspaces are kept regardless (the most recently used).
#[derive(Debug, Clone, Copy)]
pub struct IdlePolicy {
    pub after: Duration,
    pub keep: usize,
}

impl Workspaces {
    pub fn new(full_parse_max: usize) -> Workspaces {
        Workspaces { map: Mutex::default(), full_parse_max }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<PathBuf, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The workspace for `root`, created (and indexed in the background) on
    /// first use, woken if it was asleep. Counts as a use: an idle workspace's
    /// time starts again.
    pub fn add(&self, root: PathBuf, events: &Events) -> Arc<Workspace> {
        let workspace = {
            let mut map = self.map();
            if let Some(entry) = map.get_mut(&root) {
                if entry.idle_since.is_some() {
                    entry.idle_since = Some(Instant::now());
                }
                entry.workspace.clone()
            } else {
                let workspace = Workspace::new(root.clone(), events.clone(), self.full_parse_max);
                map.insert(
                    root,
                    Entry { workspace: workspace.clone(), holders: HashSet::new(), idle_since: Some(Instant::now()) },
                );
                workspace
            }
        };
        // Woken (its indexing thread started) outside the map's lock: starting
        // a thread can wait on the memory map's lock, and every request that
        // resolves a path takes this one (#18.7). A sweep meanwhile leaves it
        // be (it sleeps awake workspaces only, and none its caller holds a
        // reference to); two adds of one root share it, and `wake` starts one
        // indexing thread.
        workspace.wake();
        workspace
    }

    /// `client` holds the workspace at `root` (one of its folders) until it
    /// is [released](Workspaces::release).
    pub fn hold(&self, root: &Path, client: ClientId) {
        if let Some(entry) = self.map().get_mut(root) {
            entry.holders.insert(client);
            entry.idle_since = None;
        }
    }

    /// `client` is gone: the workspaces only it held start their idle time.
    pub fn release(&self, client: ClientId) {
        for entry in self.map().values_mut() {
            if entry.holders.remove(&client) && entry.holders.is_empty() {
                entry.idle_since = Some(Instant::now());
            }
        }
    }

    /// Puts to sleep the workspaces idle for longer than `policy.after`,
    /// beyond the `policy.keep` most recently used. A workspace something is
    /// using (a run, a request: a reference beyond the map's and its indexer's)
    /// counts as used now. Decided and done under the map's lock, so that a
    /// client adding and holding it meanwhile keeps it awake. Returns the roots.
    pub fn sweep(&self, now: Instant, policy: IdlePolicy) -> Vec<PathBuf> {
        let mut map = self.map();
        let mut idle: Vec<(Instant, &mut Entry)> = Vec::new();
        for entry in map.values_mut().filter(|entry| entry.workspace.is_awake()) {
            let Some(since) = entry.idle_since else { continue };
            if Arc::strong_count(&entry.workspace) > 2 {
                entry.idle_since = Some(now);
                continue;
            }
            idle.push((since, entry));
        }
        idle.sort_by_key(|(since, _)| std::cmp::Reverse(*since));
        let mut slept = Vec::new();
        for (since, entry) in idle.into_iter().skip(policy.keep) {
            if now.saturating_duration_since(since) >= policy.after {
                entry.workspace.sleep();
                slept.push(entry.workspace.root.clone());
            }
        }
        slept
    }

    /// The innermost workspace containing `path`.
    pub fn find_for(&self, path: &Path) -> Option<Arc<Workspace>> {
        let map = self.map();
        map.values()
            .map(|entry| &entry.workspace)
            .filter(|w| path.starts_with(&w.root))
            .max_by_key(|w| w.root.as_os_str().len())
            .cloned()
    }

    pub fn all(&self) -> Vec<Arc<Workspace>> {
        let mut all: Vec<_> = self.map().values().map(|entry| entry.workspace.clone()).collect();
        all.sort_by(|a, b| a.root.cmp(&b.root));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(home: &Path, name: &str) -> PathBuf {
        let root = home.join(name);
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::fs::write(root.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").expect("write");
        std::fs::write(root.join(".gitignore"), "secret/\n").expect("write");
        root
    }

    #[tokio::test]
    async fn a_workspace_nobody_holds_sleeps_after_a_while_and_wakes_when_added() {
        let home = tempfile::tempdir().expect("tempdir");
        let home = home.path().canonicalize().expect("canonical");
        let (a, b) = (project(&home, "a"), project(&home, "b"));
        let events = Events::new(64);
        let workspaces = Workspaces::new(1 << 20);
        let policy = IdlePolicy { after: Duration::from_secs(30), keep: 0 };
        workspaces.add(a.clone(), &events).wait_ready().await;
        workspaces.hold(&a, 1);
        let status = |root: &Path| workspaces.find_for(root).expect("workspace").status_report();
        assert_eq!(status(&a).files, 1);
        let later = |secs| Instant::now() + Duration::from_secs(secs);
        assert!(workspaces.sweep(later(3600), policy).is_empty(), "held: never put to sleep");

        workspaces.release(1);
        assert!(workspaces.sweep(later(10), policy).is_empty(), "not idle long enough");
        let in_use = workspaces.find_for(&a).expect("workspace");
        assert!(workspaces.sweep(later(31), policy).is_empty(), "in use (a run holds it): not put to sleep");
        drop(in_use);
        assert_eq!(workspaces.sweep(later(62), policy), std::slice::from_ref(&a));
        let (state, files, watching) = {
            let s = status(&a);
            (s.state, s.files, s.watching)
        };
        assert_eq!((state.as_str(), files, watching.as_str()), ("asleep", 0, "none"));
        // Asleep, it still decides what is excluded and what is outside it.
        let refused = workspaces.resolve(&a.join("secret/key.txt"), None);
        assert!(matches!(refused, Err(super::super::Refused::Excluded { .. })), "{:?}", refused.err());

        // Waiting for it (a run about to use it) wakes it, as adding it again does.
        workspaces.find_for(&a).expect("workspace").wait_ready().await;
        assert_eq!((status(&a).state.as_str(), status(&a).files), ("ready", 1));
        workspaces.add(a.clone(), &events).wait_ready().await;

        // A budget of one idle workspace keeps the one used last.
        workspaces.add(b.clone(), &events).wait_ready().await;
        let keep_one = IdlePolicy { keep: 1, ..policy };
        // (The indexer of a's earlier wake may take a moment to end: until
        // then a counts as in use.) The map, a's indexer and this look: 3.
        for _ in 0..250 {
            if Arc::strong_count(&workspaces.find_for(&a).expect("a")) <= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let slept = workspaces.sweep(later(31), keep_one);
        assert_eq!(slept, std::slice::from_ref(&a), "b was used last");
        let (workspace, other) = (workspaces.find_for(&a).expect("a"), workspaces.find_for(&b).expect("b"));
        assert!(other.is_awake() && !workspace.is_awake());
    }
}
