//! A workspace's life: created asleep, woken (indexed and watched in the
//! background) when added or waited for, put to sleep (index and watches
//! dropped) when no client has held it for a while ([`super::Workspaces::sweep`]).

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
};

use crate::services::events::Events;
use tokio::sync::watch;

use super::{Status, Workspace, WorkspaceIndex};

impl Workspace {
    pub(super) fn new(root: PathBuf, events: Events, full_parse_max: usize) -> Arc<Workspace> {
        Arc::new(Workspace {
            root,
            index: RwLock::default(),
            status: Mutex::new(Status {
                awake: false,
                generation: 0,
                indexing: false,
                analysing: false,
                watching: "none",
                warning: None,
            }),
            ready: watch::channel(false).0,
            events,
            watcher: Mutex::new(None),
            watch_tx: Mutex::new(None),
            full_parse_max,
        })
    }

    /// Indexes and watches the workspace in the background, unless it already is.
    pub fn wake(self: &Arc<Self>) {
        let generation = {
            let mut status = self.status();
            if status.awake {
                return;
            }
            status.awake = true;
            status.indexing = true;
            status.generation += 1;
            status.generation
        };
        let background = self.clone();
        std::thread::Builder::new()
            .name("paired-index".into())
            .spawn(move || background.index_and_watch(generation))
            .map_err(|err| tracing::error!("cannot start the indexer: {err}"))
            .ok();
    }

    /// Stops watching and drops the index (its memory goes back): nothing
    /// holds the workspace any more. What is excluded and what is outside it
    /// is still decided from its root; [`Workspace::wake`] indexes it again.
    pub(super) fn sleep(&self) {
        // Taken under the status lock, which waking takes too: a wake cannot
        // start its watcher between these steps and lose it here.
        let (watcher, sender) = {
            let mut status = self.status();
            if !status.awake {
                return;
            }
            status.awake = false;
            status.indexing = false;
            status.analysing = false;
            status.watching = "none";
            self.ready.send_replace(false);
            let watcher = self.watcher.lock().unwrap_or_else(|p| p.into_inner()).take();
            (watcher, self.watch_tx.lock().unwrap_or_else(|p| p.into_inner()).take())
        };
        // The background thread ends once the last sender of its events is gone.
        drop((watcher, sender));
        let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
        if !self.is_awake() {
            *index = WorkspaceIndex::default();
        }
        drop(index);
        tracing::info!(root = %self.root.display(), "workspace asleep: no client holds it");
    }

    pub fn is_awake(&self) -> bool {
        self.status().awake
    }

    /// Whether the background thread of wake number `generation` is still the one.
    pub(super) fn current(&self, generation: u64) -> bool {
        let status = self.status();
        status.awake && status.generation == generation
    }
}
