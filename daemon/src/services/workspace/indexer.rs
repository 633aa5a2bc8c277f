//! Indexing a workspace from its files on disk, in two passes: the first reads
//! every file and finds its declarations (lexically, where the scan covers the
//! language: a complete index of names in about the time `ctags -R` takes), and
//! makes that the index; the second parses those files with tree-sitter and
//! upgrades their entries in place (calls, imports, exact extents). The
//! indexer's threads read the files and merge the entries; the parsing, both
//! passes, is done by helper processes at lower priority than the editors'
//! requests ([`super::helpers`]).

use std::{
    path::{Path, PathBuf},
    sync::{
        Condvar, LazyLock, Mutex,
        atomic::{AtomicU32, AtomicUsize, Ordering},
    },
    time::Instant,
};

use context::{
    Language,
    index::{FileEntry, MANIFESTS, WorkspaceIndex},
};
use protocol::client::Event;

use super::{MAX_FILES, Workspace, read_source, walk};

/// What one file's read gives: its path in the workspace, its entry, the text
/// of a manifest, and whether the entry waits for the second pass.
type Read = (String, FileEntry, Option<String>, bool);

impl Workspace {
    /// Walks and indexes every file into a fresh index, which then replaces the
    /// current one. `quick`: the first of two passes (see the module's docs);
    /// returns the files the second is to parse. Otherwise every file gets its
    /// final entry now (a rescan of an index already complete keeps it so).
    pub(super) fn rescan(&self, generation: u64, quick: bool) -> Vec<PathBuf> {
        self.status().indexing = true;
        let started = Instant::now();
        let files = self.files_to_index();
        let total = files.len() as u32;
        let root = self.root_name();
        self.send(Event::IndexProgress { root: root.clone(), done: 0, total, finished: false });
        let fresh = Mutex::new(WorkspaceIndex::default());
        let to_parse = Mutex::new(Vec::new());
        let done = AtomicU32::new(0);
        in_parallel(
            &files,
            |path| self.read_file(path, quick, Some(quick)),
            |batch| {
                let mut index = fresh.lock().unwrap_or_else(|p| p.into_inner());
                let mut later = Vec::new();
                for (rel, entry, manifest, parse_later) in batch.drain(..) {
                    if let Some(text) = manifest {
                        index.set_manifest(&rel, text);
                    }
                    if parse_later {
                        later.push(self.root.join(&rel));
                    }
                    index.upsert(&rel, entry);
                }
                to_parse.lock().unwrap_or_else(|p| p.into_inner()).extend(later);
            },
            || {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(500) {
                    self.send(Event::IndexProgress { root: root.clone(), done: n, total, finished: false });
                }
            },
        );
        let fresh = fresh.into_inner().unwrap_or_else(|p| p.into_inner());
        let (count, symbols) = (fresh.len(), fresh.symbol_count());
        {
            // Checked under the index's lock, which sleeping takes to empty it.
            let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
            if !self.current(generation) {
                return Vec::new();
            }
            *index = fresh;
        }
        let to_parse = to_parse.into_inner().unwrap_or_else(|p| p.into_inner());
        {
            let mut status = self.status();
            status.indexing = false;
            status.analysing = !to_parse.is_empty();
        }
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(root = %self.root.display(), files = count, symbols, ms, to_parse = to_parse.len(), "indexed");
        self.send(Event::IndexProgress { root, done: total, total, finished: true });
        to_parse
    }

    /// The second pass: parses what the first scanned, replacing each entry in
    /// the live index in small batches (a request between two batches sees a
    /// complete index, part of it already parsed). Changes to files the watcher
    /// reports meanwhile are applied after this pass, so theirs is the last word.
    pub(super) fn analyse(&self, generation: u64, files: Vec<PathBuf>) {
        if files.is_empty() {
            return;
        }
        let started = Instant::now();
        in_parallel(
            &files,
            |path| {
                // A sleep (or a newer wake) stops the pass: what is left is not read.
                if !self.current(generation) {
                    return None;
                }
                self.read_file(path, false, Some(false))
            },
            |batch| {
                let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
                if !self.current(generation) {
                    batch.clear();
                    return;
                }
                for (rel, entry, _, _) in batch.drain(..) {
                    index.upsert(&rel, entry);
                }
            },
            || {},
        );
        {
            // Only this wake's pass says it is done (a newer wake has its own).
            let mut status = self.status();
            if status.awake && status.generation == generation {
                status.analysing = false;
            }
        }
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(root = %self.root.display(), files = files.len(), ms, "parsed");
    }

    fn files_to_index(&self) -> Vec<PathBuf> {
        let mut files = walk(&self.root);
        if files.len() > MAX_FILES {
            let message = format!(
                "{} has {} files; indexing the first {MAX_FILES} only. Open a smaller folder, or list what to skip in .pairedignore",
                self.root.display(),
                files.len()
            );
            tracing::warn!("{message}");
            files.truncate(MAX_FILES);
            self.status().warning = Some(message.clone());
            self.send(Event::IndexWarning { root: self.root_name(), message });
        }
        files
    }

    /// One file's final entry (the watcher's updates).
    pub(super) fn parse_file(&self, path: &Path) -> Option<(String, FileEntry, Option<String>)> {
        // One file an edit changed: no turn to wait for behind whole passes.
        self.read_file(path, false, None).map(|(rel, entry, manifest, _)| (rel, entry, manifest))
    }

    /// `turn`: the indexing turn to take for the parse (see [`Permits`]):
    /// `Some(true)` for a first pass, `Some(false)` for other passes.
    /// One file's entry. One odd file does not take the indexer down with it
    /// (a parse that fails leaves the file out; see [`super::helpers`]).
    fn read_file(&self, path: &Path, quick: bool, turn: Option<bool>) -> Option<Read> {
        let rel = self.relative(path)?;
        // Read without a turn (a slow or hung file system holds no permit); parsed in one.
        let text = read_source(path)?;
        let _turn = turn.map(indexing_turn);
        let name = rel.rsplit('/').next().unwrap_or(&rel).to_owned();
        let manifest = MANIFESTS.contains(&name.as_str()).then(|| text.clone());
        let language = Language::from_path(&name);
        let (entry, later) = super::helpers::parse(language, text, self.full_parse_max, quick)
            .map_err(|cause| tracing::error!(path = %path.display(), %cause, "indexing this file failed; it is left out (please report it)"))
            .ok()?;
        Some((rel, entry, manifest, later))
    }
}

/// Indexing's share of the machine, daemon-wide: one file parsed at a time per
/// core, whatever the number of workspaces being indexed (files are read
/// before the turn is taken: a hung file system holds no permit). Fifty
/// editors opening fifty workspaces at once had a hundred indexing threads
/// runnable together (#18.7), and every request of the daemon waited its turn
/// among them; now they take turns for these permits, asleep meanwhile. A
/// workspace's first pass (its complete index of names) goes before other
/// workspaces' second passes.
struct Permits {
    state: Mutex<PermitState>,
    for_first: Condvar,
    for_second: Condvar,
}

struct PermitState {
    free: usize,
    first_waiting: usize,
}

static PERMITS: LazyLock<Permits> =
    LazyLock::new(|| Permits::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// A permit to parse one file; given back when dropped.
pub(super) struct Permit<'a>(&'a Permits);

/// A turn at indexing work (see [`Permits`]), `first_pass` for the work a
/// workspace's complete index of names waits for.
pub(super) fn indexing_turn(first_pass: bool) -> Permit<'static> {
    PERMITS.acquire(first_pass)
}

impl Permits {
    fn new(permits: usize) -> Permits {
        Permits {
            state: Mutex::new(PermitState { free: permits, first_waiting: 0 }),
            for_first: Condvar::new(),
            for_second: Condvar::new(),
        }
    }

    fn acquire(&self, first_pass: bool) -> Permit<'_> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if first_pass {
            state.first_waiting += 1;
            while state.free == 0 {
                state = self.for_first.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            state.first_waiting -= 1;
        } else {
            while state.free == 0 || state.first_waiting > 0 {
                state = self.for_second.wait(state).unwrap_or_else(|p| p.into_inner());
            }
        }
        state.free -= 1;
        // Permits left over (more were given back than first passes took):
        // the next taker's.
        if state.free > 0 {
            self.hand_on(&state);
        }
        Permit(self)
    }

    /// Wakes one taker for a free permit: a first pass's if any waits.
    fn hand_on(&self, state: &PermitState) {
        if state.first_waiting > 0 {
            self.for_first.notify_one();
        } else {
            self.for_second.notify_one();
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        state.free += 1;
        self.0.hand_on(&state);
    }
}

/// Runs `work` over `files` on up to four threads, each taking the next file as
/// it becomes free (the walk's order clusters large files: fixed halves would
/// leave one core idle), and hands results to `flush` in batches of 64 so they
/// never pile up beside the index (peak memory). `each` runs once per file.
fn in_parallel<T: Send>(
    files: &[PathBuf],
    work: impl Fn(&Path) -> Option<T> + Sync,
    flush: impl Fn(&mut Vec<T>) + Sync,
    each: impl Fn() + Sync,
) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (work, flush, each, next) = (&work, &flush, &each, &next);
            scope.spawn(move || {
                let mut batch = Vec::with_capacity(64);
                while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Some(item) = work(path) {
                        batch.push(item);
                        if batch.len() == 64 {
                            flush(&mut batch);
                        }
                    }
                    each();
                }
                flush(&mut batch);
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn names(index: &WorkspaceIndex, path: &str) -> BTreeSet<String> {
        index.file(path).expect("indexed").named_symbols().map(|(name, _)| name.to_owned()).collect()
    }

    #[test]
    fn a_wake_a_newer_wake_replaced_installs_no_watcher() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let events = crate::services::events::Events::new(64);
        let workspace = Workspace::new(root, events, 1 << 20);
        {
            let mut status = workspace.status();
            (status.awake, status.generation) = (true, 2);
        }
        let (stale, _rx) = std::sync::mpsc::channel();
        workspace.start_watching(stale, 1);
        assert_eq!(workspace.status().watching, "none", "wake 1 was replaced by wake 2: its watcher is not installed");
        assert!(workspace.watcher.lock().expect("watcher").is_none());
        let (current, _rx) = std::sync::mpsc::channel();
        workspace.start_watching(current, 2);
        assert_ne!(workspace.status().watching, "none");
        assert!(workspace.watcher.lock().expect("watcher").is_some());
    }

    #[test]
    fn indexing_takes_turns_and_a_first_pass_goes_before_second_passes() {
        let permits = Permits::new(2);
        let order = Mutex::new(Vec::new());
        let (a, b) = (permits.acquire(false), permits.acquire(true));
        std::thread::scope(|scope| {
            let waiting = |n: usize| {
                let deadline = Instant::now() + std::time::Duration::from_secs(10);
                loop {
                    let state = permits.state.lock().expect("state");
                    let second = order.lock().expect("order").len();
                    if state.first_waiting + second >= n || Instant::now() > deadline {
                        break;
                    }
                    drop(state);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            };
            // Both permits taken: a second pass waits, then a first pass.
            scope.spawn(|| {
                let _turn = permits.acquire(false);
                order.lock().expect("order").push("second");
            });
            std::thread::sleep(std::time::Duration::from_millis(50));
            scope.spawn(|| {
                let _turn = permits.acquire(true);
                order.lock().expect("order").push("first");
            });
            waiting(1);
            assert!(order.lock().expect("order").is_empty(), "nobody runs while both permits are held");
            // One permit back: the first pass takes it though the second
            // pass waited longer, and the second runs only once it is given
            // back. (Both back at once would let both run, and which records
            // itself first would be a race.)
            drop(a);
            let deadline = Instant::now() + std::time::Duration::from_secs(10);
            while order.lock().expect("order").is_empty() && Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            drop(b);
        });
        assert_eq!(*order.lock().expect("order"), ["first", "second"]);
        assert_eq!(permits.state.lock().expect("state").free, 2, "every permit came back");
    }

    #[test]
    fn the_first_pass_is_a_complete_index_of_names_and_the_second_upgrades_it_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        let rust = "use std::fmt;\n\npub struct Parser {\n    depth: u32,\n}\n\nimpl Parser {\n    pub fn parse(&self) -> u32 {\n        helper(self.depth)\n    }\n}\n\nfn helper(x: u32) -> u32 {\n    x + 1\n}\n";
        std::fs::write(root.join("src/lib.rs"), rust).expect("write");
        std::fs::write(
            root.join("app.py"),
            "import os\n\nclass App:\n    def run(self):\n        return os.getcwd()\n",
        )
        .expect("write");
        std::fs::write(root.join("build.rb"), "class Build\n  def go\n  end\nend\n").expect("write");
        let events = crate::services::events::Events::new(64);
        let workspace = Workspace::new(root.clone(), events, 1 << 20);
        {
            let mut status = workspace.status();
            (status.awake, status.generation) = (true, 1);
        }

        let mut to_parse = workspace.rescan(1, true);
        to_parse.sort();
        assert_eq!(
            to_parse,
            [root.join("app.py"), root.join("src/lib.rs")],
            "Ruby has no lexical scan: parsed at once"
        );
        assert_eq!(workspace.status_report().state, "analysing");
        let first = {
            let index = workspace.index();
            assert!(index.file("src/lib.rs").expect("lib.rs").shallow);
            assert!(!index.file("build.rb").expect("build.rb").shallow);
            assert_eq!(names(&index, "build.rb"), BTreeSet::from(["Build".to_owned(), "go".to_owned()]));
            assert!(index.callers("helper", 10).is_empty(), "calls come with the parse");
            names(&index, "src/lib.rs")
        };
        for name in ["Parser", "parse", "helper"] {
            assert!(first.contains(name), "{name} in the first pass: {first:?}");
        }

        // A pass of an earlier wake (the workspace slept and woke since) changes nothing.
        workspace.status().generation = 2;
        workspace.analyse(1, to_parse.clone());
        assert!(workspace.index().file("src/lib.rs").expect("lib.rs").shallow);

        workspace.analyse(2, to_parse);
        assert_eq!(workspace.status_report().state, "ready");
        let index = workspace.index();
        let parsed = index.file("src/lib.rs").expect("lib.rs");
        assert!(!parsed.shallow && !parsed.imports.is_empty());
        assert_eq!(index.callers("helper", 10), [("src/lib.rs", 8)]);
        assert!(first.is_subset(&names(&index, "src/lib.rs")), "the parse finds every name the scan found");
        assert!(!index.file("app.py").expect("app.py").shallow);
        assert_eq!(index.shallow_count(), 0);
    }
}
