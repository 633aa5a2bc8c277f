//! Workspace folders: walked with the `ignore` crate (honouring `.gitignore`,
//! `.ignore` and `.pairedignore`), indexed in the background, and kept current with
//! `notify`. Several editors on one folder share one [`Workspace`].
//!
//! Watching: native events (inotify) when the OS allows; when it runs out of
//! watches, polling, with a warning every attached client sees. A burst of
//! changes (a branch switch) or a change to an ignore file triggers a rescan.

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, mpsc},
    time::{Duration, Instant},
};

use context::index::WorkspaceIndex;
use ignore::{WalkBuilder, gitignore::Gitignore};
use notify::Watcher;
use protocol::{client::Event, context::WorkspaceStatus};
use tokio::sync::watch;

pub mod helpers;
mod indexer;
mod life;
mod registry;

pub use registry::{IdlePolicy, Workspaces};

/// Decides which paths of a workspace are excluded, reading each folder's
/// ignore files at most once: see [`Workspace::exclusions`].
pub struct Exclusions<'w> {
    root: &'w Path,
    folders: std::cell::RefCell<HashMap<PathBuf, std::rc::Rc<Folder>>>,
    global: std::cell::OnceCell<Gitignore>,
}

/// A folder's own ignore rules.
struct Folder {
    /// From its `.gitignore`, `.ignore` and `.pairedignore`.
    matchers: Vec<Gitignore>,
    /// Whether it holds a repository (`.git`), and that repository's
    /// `.git/info/exclude`.
    repository: Option<Option<Gitignore>>,
}

impl Exclusions<'_> {
    /// The rules of the folder `root` (canonical), open as a workspace or not.
    pub fn new(root: &Path) -> Exclusions<'_> {
        Exclusions { root, folders: Default::default(), global: Default::default() }
    }

    /// Whether `path` is outside the workspace, hidden, ignored or too large.
    pub fn is_excluded(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(self.root) else { return true };
        if rel.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')) {
            return true;
        }
        let is_dir = path.is_dir();
        let ignored = |matcher: &Gitignore| matcher.matched_path_or_any_parents(path, is_dir).is_ignore();
        // The same sources the walk reads: ignore files in the folder and every
        // folder above it (above the root too), the repository's
        // `.git/info/exclude`, and the user's global gitignore.
        let mut dir = path.parent();
        let mut repository_checked = false;
        while let Some(d) = dir {
            let folder = self.folder(d);
            if folder.matchers.iter().any(ignored) {
                return true;
            }
            if !repository_checked && let Some(exclude) = &folder.repository {
                repository_checked = true;
                if exclude.as_ref().is_some_and(ignored) {
                    return true;
                }
            }
            dir = d.parent();
        }
        if ignored(self.global.get_or_init(|| Gitignore::global().0)) {
            return true;
        }
        std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_FILE_BYTES)
    }

    fn folder(&self, dir: &Path) -> std::rc::Rc<Folder> {
        if let Some(folder) = self.folders.borrow().get(dir) {
            return folder.clone();
        }
        let matchers = IGNORE_FILES
            .iter()
            .map(|name| dir.join(name))
            .filter(|file| file.is_file())
            .map(|file| Gitignore::new(&file).0)
            .collect();
        let repository = dir.join(".git").exists().then(|| {
            let exclude = dir.join(".git/info/exclude");
            exclude.is_file().then(|| {
                let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
                builder.add(&exclude);
                builder.build().ok()
            })?
        });
        let folder = std::rc::Rc::new(Folder { matchers, repository });
        self.folders.borrow_mut().insert(dir.to_path_buf(), folder.clone());
        folder
    }
}

/// Files larger than this are not indexed (generated or vendored code, data).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// A folder with more files than this (say, a home directory opened as a
/// workspace) is indexed up to this many, with a warning.
const MAX_FILES: usize = 200_000;
/// A batch of more changes than this is handled as a rescan.
const RESCAN_THRESHOLD: usize = 2_000;
const DEBOUNCE: Duration = Duration::from_millis(150);
pub const IGNORE_FILES: [&str; 3] = [".gitignore", ".ignore", ".pairedignore"];

pub struct Workspace {
    pub root: PathBuf,
    index: RwLock<WorkspaceIndex>,
    status: Mutex<Status>,
    ready: watch::Sender<bool>,
    events: crate::services::events::Events,
    /// Kept alive for as long as the workspace; dropping it stops watching.
    watcher: Mutex<Option<Box<dyn Watcher + Send>>>,
    /// Where watchers send their events (a fallback watcher reuses it).
    watch_tx: Mutex<Option<mpsc::Sender<notify::Result<notify::Event>>>>,
    full_parse_max: usize,
}

#[derive(Clone)]
struct Status {
    /// Indexed and watched (see [`Workspace::wake`]); asleep otherwise.
    awake: bool,
    /// Counts wakes: a background thread of an earlier wake stops.
    generation: u64,
    /// The first pass: every file read, declarations found (lexically where the
    /// scan covers the language).
    indexing: bool,
    /// The second pass: those files parsed with tree-sitter (calls, imports,
    /// exact extents), upgrading their entries in place.
    analysing: bool,
    watching: &'static str,
    warning: Option<String>,
}

/// A file a request names, resolved by [`Workspaces::resolve`].
#[derive(Clone)]
pub struct Resolved {
    /// The real path: absolute, with no link and no `.` or `..` in it (but for
    /// a last component that is a dangling link, which reads as nothing).
    pub path: PathBuf,
    /// The innermost open workspace holding the real path.
    pub workspace: Option<Arc<Workspace>>,
}

impl Resolved {
    /// The path relative to [`Resolved::workspace`]'s root, `/`-separated.
    pub fn rel(&self) -> Option<String> {
        self.workspace.as_ref().and_then(|w| w.relative(&self.path))
    }
}

/// `path` with every `.` and `..` taken away as written (a `..` drops the
/// component before it, whatever that is on disk).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `path` with every link and `..` resolved: its nearest existing ancestor
/// made canonical, and the components that do not exist (yet) appended. None
/// when those hold a `..`, which nothing on disk resolves.
fn real_path(path: &Path) -> Option<PathBuf> {
    let mut existing = path;
    let mut missing = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut real) => {
                real.extend(missing.iter().rev());
                return Some(real);
            }
            Err(_) => {
                missing.push(existing.file_name()?);
                existing = existing.parent()?;
            }
        }
    }
}

/// Why [`Workspaces::resolve`] refused a path. Displayed, it is a sentence for
/// the user; paths in it are absolute, so a caller answering someone who
/// should not learn them (a model, an untrusted client) words its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{} is not an absolute path", named.display())]
    NotAbsolute { named: PathBuf },
    #[error("{} is not a folder", folder.display())]
    NotAFolder { folder: PathBuf },
    #[error("{} goes through a folder that does not exist", named.display())]
    NoSuchFolder { named: PathBuf },
    #[error(
        "{} leads outside {} (through a symbolic link or `..`, or named from another project); nothing outside it is sent to agents",
        named.display(),
        root.display()
    )]
    Outside { named: PathBuf, root: PathBuf },
    /// `real` is where a link (or `..`) led, when that is what is excluded.
    #[error(
        "{}{} is excluded from context by .pairedignore, .gitignore or .ignore (or hidden, or over 2 MiB); nothing from it is sent to agents",
        named.display(),
        real.as_ref().map(|r| format!(" (it leads to {})", r.display())).unwrap_or_default()
    )]
    Excluded { named: PathBuf, real: Option<PathBuf> },
}

impl Workspaces {
    /// Resolves a path a request names and refuses what it must not reach. The
    /// one place where paths from outside (a URI from an editor, a path in a
    /// 1.0 message, a model's tool call) become files to read: ignore rules
    /// match paths as written, so a link (`src/seclink -> ../secret`) or a
    /// `..` would otherwise carry a request past them.
    ///
    /// `path` is absolute, or relative to `within`. The real file (links and
    /// `..` resolved, see [`Resolved::path`]) is refused when it lies outside
    /// `within` (a folder, typically a workspace root), or outside the open
    /// workspace holding `path` as written, or when the ignore rules of that
    /// folder or of the workspace holding the real file exclude it (or the
    /// path as written). A path in no open workspace, written or resolved, and
    /// with no `within`, is let through: an editor's lone file is the user's.
    pub fn resolve(&self, path: &Path, within: Option<&Path>) -> Result<Resolved, Refused> {
        let within = match within {
            Some(folder) => Some(
                folder
                    .canonicalize()
                    .ok()
                    .filter(|f| f.is_dir())
                    .ok_or_else(|| Refused::NotAFolder { folder: folder.to_path_buf() })?,
            ),
            None => None,
        };
        let joined = match &within {
            Some(folder) => folder.join(path),
            None if path.is_absolute() => path.to_path_buf(),
            None => return Err(Refused::NotAbsolute { named: path.to_path_buf() }),
        };
        let written = lexical(&joined);
        let real = real_path(&joined).ok_or_else(|| Refused::NoSuchFolder { named: path.to_path_buf() })?;
        // The folder the request is confined to: the one it names, else the
        // open workspace the path is in as written (`proj/../other/x` is in
        // `proj`, and leads out of it), else once its `..` are taken away.
        let confined =
            within.or_else(|| self.find_for(&joined).or_else(|| self.find_for(&written)).map(|w| w.root.clone()));
        if let Some(root) = &confined
            && !real.starts_with(root)
        {
            return Err(Refused::Outside { named: path.to_path_buf(), root: root.clone() });
        }
        let holder = self.find_for(&real);
        // Each folder's rules, on the path as written (inside it) and the real one.
        let mut roots: Vec<&Path> = confined.iter().map(PathBuf::as_path).collect();
        if let Some(holder) = holder.as_ref().filter(|h| confined.as_ref() != Some(&h.root)) {
            roots.push(&holder.root);
        }
        for root in roots {
            let exclusions = Exclusions::new(root);
            let written_excluded = written != real && written.starts_with(root) && exclusions.is_excluded(&written);
            if written_excluded || exclusions.is_excluded(&real) {
                let real = (!written_excluded && written != real).then_some(real);
                return Err(Refused::Excluded { named: path.to_path_buf(), real });
            }
        }
        Ok(Resolved { path: real, workspace: holder })
    }
}

impl Workspace {
    pub fn index(&self) -> RwLockReadGuard<'_, WorkspaceIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the user should know about the index (a fallback to polling, say),
    /// without the index's lock.
    pub fn warning(&self) -> Option<String> {
        self.status().warning.clone()
    }

    pub fn status_report(&self) -> WorkspaceStatus {
        let status = self.status().clone();
        let index = self.index();
        WorkspaceStatus {
            root: self.root.display().to_string(),
            state: match (status.awake, status.indexing, status.analysing) {
                (false, _, _) => "asleep",
                (true, true, _) => "indexing",
                (true, false, true) => "analysing",
                (true, false, false) => "ready",
            }
            .to_owned(),
            files: index.len() as u32,
            symbols: index.symbol_count() as u32,
            shallow_files: index.shallow_count() as u32,
            watching: status.watching.to_owned(),
            warning: status.warning,
        }
    }

    /// Resolves once the index is complete, parsed files included; a sleeping workspace is
    /// woken (indexed again) first: whoever waits is about to use it.
    pub async fn wait_ready(self: &Arc<Self>) {
        self.wake();
        let mut ready = self.ready.subscribe();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// The path relative to the root, `/`-separated, if inside.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }

    /// Whether a file would be left out of the index: ignored by `.gitignore`,
    /// `.ignore` or `.pairedignore` (at the root or in any folder above it), hidden,
    /// or too large.
    pub fn is_excluded(&self, path: &Path) -> bool {
        self.exclusions().is_excluded(path)
    }

    /// Exclusion checks for many paths in one request (a context bundle checks
    /// every file it shows): each ignore file is read once per request, never
    /// cached beyond it.
    pub fn exclusions(&self) -> Exclusions<'_> {
        Exclusions::new(&self.root)
    }

    /// Reads a file of the index (never one that is excluded). Takes the index's
    /// read lock: do not call it while holding [`Workspace::index`].
    pub fn read_indexed(&self, rel: &str) -> Option<String> {
        self.index().file(rel)?;
        read_real(&self.root.join(rel))
    }

    fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn root_name(&self) -> String {
        self.root.display().to_string()
    }

    /// The background thread: first index, then watch until the workspace sleeps.
    fn index_and_watch(self: Arc<Self>, generation: u64) {
        // Indexing yields to the editors' requests (its parsing threads inherit this).
        crate::platform::os::lower_priority();
        let (tx, rx) = mpsc::channel();
        *self.watch_tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx.clone());
        self.start_watching(tx, generation);
        let to_parse = self.rescan(generation, true);
        // Changes seen meanwhile wait in `rx`, applied after: the last word is theirs.
        self.analyse(generation, to_parse);
        if self.current(generation) {
            self.ready.send_replace(true);
            self.watch_loop(rx, generation);
        }
    }

    fn start_watching(&self, tx: mpsc::Sender<notify::Result<notify::Event>>, generation: u64) {
        let simulate_exhaustion = std::env::var("PAIRED_TEST_INOTIFY_EXHAUSTED").is_ok_and(|v| v == "1");
        // Links are not followed: a watch through `src/seclink -> ../secret`
        // would report the ignored files under the link's name.
        let config = changes_only().with_follow_symlinks(false);
        let native = notify::RecommendedWatcher::new(tx.clone(), config).and_then(|mut watcher| {
            if simulate_exhaustion {
                return Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch));
            }
            watcher.watch(&self.root, notify::RecursiveMode::Recursive)?;
            Ok(watcher)
        });
        match native {
            Ok(watcher) => {
                // As in `fall_back_to_polling`: never a watch on a sleeping
                // workspace, nor one of a wake a newer wake replaced (its
                // events would go to a channel nobody reads).
                let mut status = self.status();
                if status.awake && status.generation == generation {
                    *self.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(watcher));
                    status.watching = "inotify";
                }
            }
            Err(err) => {
                let why = match err.kind {
                    notify::ErrorKind::MaxFilesWatch => {
                        "the OS ran out of file watches (raise fs.inotify.max_user_watches)".to_owned()
                    }
                    _ => format!("native file watching failed ({err})"),
                };
                self.fall_back_to_polling(tx, &why, generation);
            }
        }
    }

    /// Replaces the native watcher by polling, and says so to every client:
    /// never silent staleness.
    fn fall_back_to_polling(&self, tx: mpsc::Sender<notify::Result<notify::Event>>, why: &str, generation: u64) {
        let config = changes_only().with_poll_interval(Duration::from_secs(2)).with_follow_symlinks(false);
        let polling = notify::PollWatcher::new(tx, config).and_then(|mut watcher| {
            watcher.watch(&self.root, notify::RecursiveMode::Recursive)?;
            Ok(watcher)
        });
        let message = match polling {
            Ok(watcher) => {
                // Under the status lock, as sleeping takes the watcher: a
                // workspace put to sleep meanwhile is not polled.
                let mut status = self.status();
                if !(status.awake && status.generation == generation) {
                    return;
                }
                *self.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(watcher));
                status.watching = "polling";
                drop(status);
                format!("{why}; watching {} by polling every 2s instead", self.root.display())
            }
            Err(poll_err) => format!(
                "{why}, and polling failed too ({poll_err}): the index of {} will not follow changes",
                self.root.display()
            ),
        };
        tracing::warn!("{message}");
        self.status().warning = Some(message.clone());
        self.send(Event::IndexWarning { root: self.root_name(), message });
    }

    /// Test hook: a watch error delivered as the native watcher delivers one.
    pub fn inject_watch_error(&self) {
        if let Some(tx) = self.watch_tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = tx.send(Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch)));
        }
    }

    /// Walks the whole folder and replaces the index.
    fn watch_loop(&self, rx: mpsc::Receiver<notify::Result<notify::Event>>, generation: u64) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            let deadline = Instant::now() + Duration::from_secs(1);
            while let Ok(next) = rx.recv_timeout(DEBOUNCE) {
                batch.push(next);
                if Instant::now() > deadline {
                    break;
                }
            }
            if !self.current(generation) {
                return;
            }
            self.apply(batch, generation);
        }
    }

    fn apply(&self, batch: Vec<notify::Result<notify::Event>>, generation: u64) {
        let mut paths = BTreeSet::new();
        let mut rescan = false;
        for event in batch {
            match event {
                // Opening and reading a file changes nothing (none is asked for,
                // see `changes_only`; a backend may still send one).
                Ok(event) if matches!(event.kind, notify::EventKind::Access(_)) => {}
                Ok(event) => {
                    rescan |= event.need_rescan();
                    paths.extend(event.paths);
                }
                Err(err) => {
                    tracing::warn!(root = %self.root.display(), "watch error, rescanning: {err}");
                    rescan = true;
                    // Native watching that fails at runtime (watches ran out as
                    // folders were added, the watch descriptor broke) cannot be
                    // trusted to see the next change: poll instead.
                    let native = self.status().watching == "inotify";
                    let tx = self.watch_tx.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    if let (true, Some(tx)) = (native, tx) {
                        let why = match err.kind {
                            notify::ErrorKind::MaxFilesWatch => {
                                "the OS ran out of file watches (raise fs.inotify.max_user_watches)".to_owned()
                            }
                            _ => format!("native file watching failed ({err})"),
                        };
                        self.fall_back_to_polling(tx, &why, generation);
                    }
                }
            }
        }
        rescan |= paths.len() > RESCAN_THRESHOLD
            || paths.iter().any(|p| p.file_name().is_some_and(|n| IGNORE_FILES.iter().any(|f| n == *f)));
        if rescan {
            tracing::info!(root = %self.root.display(), changes = paths.len(), "many changes or new ignore rules: rescanning");
            self.rescan(generation, false);
            return;
        }
        let mut changed = 0;
        for path in paths {
            let Some(rel) = self.relative(&path) else { continue };
            if rel.is_empty() {
                continue;
            }
            if self.through_link(&path) {
                // Never followed (see `read_source`); drop whatever was there.
                let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
                changed += usize::from(index.remove(&rel)) + index.remove_prefix(&rel);
            } else if path.is_dir() {
                // A folder created or renamed into place: index what is in it.
                for file in walk(&path) {
                    if !self.current(generation) {
                        return;
                    }
                    changed += usize::from(self.update_file(&file));
                }
            } else if path.is_file() {
                changed += usize::from(self.update_file(&path));
            } else {
                let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
                changed += usize::from(index.remove(&rel)) + index.remove_prefix(&rel);
            }
        }
        if changed > 0 {
            tracing::debug!(root = %self.root.display(), changed, "index updated");
            let total = self.index().len() as u32;
            self.send(Event::IndexProgress { root: self.root_name(), done: total, total, finished: true });
        }
    }

    /// Whether `path` is a link, or reached through one: a link to a folder
    /// (`src/seclink -> ../secret`) holds the files of another place, under
    /// names the ignore rules do not match. A path that no longer exists is
    /// judged by its nearest existing folder.
    fn through_link(&self, path: &Path) -> bool {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
        let mut folder = path.parent();
        while let Some(dir) = folder.filter(|d| d.starts_with(&self.root)) {
            if let Ok(real) = dir.canonicalize() {
                return real != dir;
            }
            folder = dir.parent();
        }
        false
    }

    /// Re-indexes one file, or drops it if it is now excluded. True if the index changed.
    fn update_file(&self, path: &Path) -> bool {
        let Some(rel) = self.relative(path) else { return false };
        if self.is_excluded(path) || self.through_link(path) {
            return self.index.write().unwrap_or_else(|p| p.into_inner()).remove(&rel);
        }
        match self.parse_file(path) {
            Some((rel, entry, manifest)) => {
                let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
                // Checked under the index's lock, which sleeping takes to empty it.
                if !self.is_awake() {
                    return false;
                }
                if let Some(text) = manifest {
                    index.set_manifest(&rel, text);
                }
                index.upsert(&rel, entry);
                true
            }
            None => self.index.write().unwrap_or_else(|p| p.into_inner()).remove(&rel),
        }
    }
}

/// A watcher's configuration asking for changes only: no event for a file
/// opened or closed unwritten. With notify's default, every file any program
/// read in a watched tree (a build, a search, the indexer itself) woke the
/// watcher's threads: reading the 19,177 files of a workspace four times cost
/// the daemon 0.35 s of CPU for nothing; on Linux the kernel now leaves them out.
pub fn changes_only() -> notify::Config {
    notify::Config::default().with_event_kinds(notify::EventKindMask::CORE)
}

/// Every file under `dir` that the ignore rules let through, up to the size cap.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut builder = WalkBuilder::new(dir);
    builder
        .add_custom_ignore_filename(".pairedignore")
        .require_git(false)
        .follow_links(false)
        .max_filesize(Some(MAX_FILE_BYTES));
    let (tx, rx) = mpsc::channel();
    builder.threads(2).build_parallel().run(|| {
        let tx = tx.clone();
        Box::new(move |entry| {
            if let Ok(entry) = entry
                && entry.file_type().is_some_and(|t| t.is_file())
            {
                let _ = tx.send(entry.into_path());
            }
            ignore::WalkState::Continue
        })
    });
    drop(tx);
    let mut files: Vec<PathBuf> = rx.into_iter().collect();
    files.sort();
    files
}

/// [`read_source`], only when `path` is the file's real path: no link anywhere
/// in it. For paths from the index, which never holds one, in case a folder
/// was swapped for a link since it was indexed.
pub fn read_real(path: &Path) -> Option<String> {
    if path.canonicalize().ok()? != path {
        return None;
    }
    read_source(path)
}

/// A source file's text: UTF-8 (lossy), not binary, within the size cap.
/// Symbolic links are not followed: a link inside a workspace could point at
/// anything (`~/.ssh/id_rsa`), past every ignore rule.
pub fn read_source(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    // The read is capped too: a /proc file reports length 0 and may read on for
    // gigabytes (`/proc/self/pagemap`, the daemon's own; found with the fuzz target).
    let file = std::fs::File::open(path).ok()?;
    // Sized once from the file's length (growing it as the read went was a
    // twentieth of the daemon's CPU under fifty editors' load, #18.7).
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).map_or(0, |len| len.saturating_add(1)));
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_FILE_BYTES + 1), &mut bytes).ok()?;
    if bytes.len() as u64 > MAX_FILE_BYTES || bytes.iter().take(8192).any(|b| *b == 0) {
        return None;
    }
    Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Why `root` is no project folder for PAIRED to index — the file system's
/// root, the home folder itself or a folder above it, a system folder — and how
/// to use it anyway; `None` for a project folder. A folder the user made a
/// PAIRED project (it holds `.paired/config.toml`) always counts as one. `root`
/// is canonical. The daemon applies it to every folder it is asked to index
/// (`workspaces/add`, `client/attach`), `paired lsp` and `paired acp` before asking.
pub fn unfit_root(root: &Path) -> Option<String> {
    let what = folder_kind(root, std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from))?;
    let marker = root.join(".paired").join("config.toml");
    if marker.is_file() {
        return None;
    }
    Some(format!(
        "{} is {what}, not a project folder, so PAIRED does not index it. Open a project folder instead, \
         or, to use this one anyway, create {} (it may be empty).",
        root.display(),
        marker.display()
    ))
}

/// What kind of folder that is no project `root` is, if it is one.
fn folder_kind(root: &Path, home: Option<PathBuf>) -> Option<&'static str> {
    /// Folders of the system, never a project themselves (their subfolders may be).
    const SYSTEM: &str = "/bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /media /mnt /nix /opt /proc /root \
        /run /sbin /snap /srv /sys /tmp /usr /usr/bin /usr/include /usr/lib /usr/lib64 /usr/libexec /usr/local \
        /usr/sbin /usr/share /usr/src /var /var/cache /var/lib /var/log /var/tmp /Applications /Library /System \
        /Users /Volumes /private /private/tmp /private/var";
    /// File systems of the kernel and the store: nothing under them is a project.
    const PSEUDO: [&str; 5] = ["/proc", "/sys", "/dev", "/run", "/nix/store"];
    if root.parent().is_none() {
        return Some("the root of the file system");
    }
    if let Some(home) = home {
        let home = std::fs::canonicalize(&home).unwrap_or(home);
        if root == home {
            return Some("your home folder");
        }
        if home.starts_with(root) {
            return Some("a folder that holds your home folder");
        }
        /// Where keys, tokens and browser profiles live (PAIRED's own among
        /// them): hidden below a root, but not when opened as one.
        const SECRETS: [&str; 16] = [
            ".ssh",
            ".gnupg",
            ".aws",
            ".azure",
            ".kube",
            ".docker",
            ".password-store",
            ".netrc",
            ".config/gcloud",
            ".config/gh",
            ".config/paired",
            ".local/share/keyrings",
            ".local/share/paired",
            ".local/state",
            ".mozilla",
            ".pki",
        ];
        if let Ok(inside) = root.strip_prefix(&home)
            && SECRETS.iter().any(|secret| inside.starts_with(secret) || Path::new(secret).starts_with(inside))
            && !inside.as_os_str().is_empty()
        {
            return Some("a folder of credentials or settings in your home folder");
        }
    }
    let system = SYSTEM.split_whitespace().any(|s| root == Path::new(s)) || PSEUDO.iter().any(|p| root.starts_with(p));
    system.then_some("a system folder")
}

/// The project a folder belongs to: a PAIRED project, else the nearest folder
/// that looks like a project root (version control, ignore rules, a build
/// manifest), else the folder itself.
pub fn project_root(dir: &Path) -> PathBuf {
    let markers: Vec<&str> = [".git", ".pairedignore"].into_iter().chain(context::index::MANIFESTS).collect();
    crate::platform::config::find_project_root(dir)
        .or_else(|| dir.ancestors().find(|d| markers.iter().any(|m| d.join(m).exists())).map(Path::to_path_buf))
        .unwrap_or_else(|| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One request per line: the path as named, the folder it is named
    /// within, and the real file (relative to the workspace) or the refusal.
    #[test]
    fn paths_from_requests_resolve_or_are_refused() {
        let home = tempfile::tempdir().expect("tempdir");
        let home = home.path().canonicalize().expect("canonical");
        let root = home.join("proj");
        for (file, text) in [
            ("proj/src/app.py", "x = 1\n"),
            ("proj/.gitignore", "secret/\n"),
            ("proj/secret/key.py", "KEY = 1\n"),
            ("proj/.env", "KEY=1\n"),
            ("outside/lib.py", "y = 2\n"),
        ] {
            std::fs::create_dir_all(home.join(file).parent().expect("parent")).expect("mkdir");
            std::fs::write(home.join(file), text).expect("write");
        }
        std::os::unix::fs::symlink("../secret", root.join("src/seclink")).expect("link");
        std::os::unix::fs::symlink(home.join("outside"), root.join("src/outlink")).expect("link");
        std::os::unix::fs::symlink("app.py", root.join("src/alias.py")).expect("link");
        let events = crate::services::events::Events::new(16);
        let workspaces = Workspaces::new(1 << 20);
        workspaces.add(root.clone(), &events);
        let check = |named: &str, within: Option<&Path>| -> String {
            match workspaces.resolve(Path::new(named), within) {
                Ok(resolved) => format!("ok {}", resolved.rel().unwrap_or_else(|| resolved.path.display().to_string())),
                Err(Refused::Outside { .. }) => "outside".to_owned(),
                Err(Refused::Excluded { real: Some(_), .. }) => "excluded through a link".to_owned(),
                Err(Refused::Excluded { real: None, .. }) => "excluded".to_owned(),
                Err(Refused::NoSuchFolder { .. }) => "no such folder".to_owned(),
                Err(other) => other.to_string(),
            }
        };
        let at = |rel: &str| root.join(rel).display().to_string();
        let elsewhere = home.join("outside/lib.py").display().to_string();
        let cases = [
            (at("src/app.py"), None, "ok src/app.py".to_owned()),
            (at("src/new.py"), None, "ok src/new.py".to_owned()),
            (at("src/alias.py"), None, "ok src/app.py".to_owned()),
            (at("secret/key.py"), None, "excluded".to_owned()),
            (at(".env"), None, "excluded".to_owned()),
            (at("src/seclink/key.py"), None, "excluded through a link".to_owned()),
            (at("src/outlink/lib.py"), None, "outside".to_owned()),
            (at("src/../secret/key.py"), None, "excluded".to_owned()),
            (at("../outside/lib.py"), None, "outside".to_owned()),
            (at("src/missing/../app.py"), None, "no such folder".to_owned()),
            ("src/app.py".to_owned(), Some(root.as_path()), "ok src/app.py".to_owned()),
            ("src/seclink/key.py".to_owned(), Some(root.as_path()), "excluded through a link".to_owned()),
            ("../outside/lib.py".to_owned(), Some(root.as_path()), "outside".to_owned()),
            (elsewhere.clone(), Some(root.as_path()), "outside".to_owned()),
            // A lone file in no workspace is the editor's own.
            (elsewhere.clone(), None, format!("ok {elsewhere}")),
            ("src/app.py".to_owned(), None, "src/app.py is not an absolute path".to_owned()),
        ];
        for (named, within, expected) in &cases {
            assert_eq!(&check(named, *within), expected, "{named} within {within:?}");
        }
    }

    /// A watched tree's files read by another program (a build, a search)
    /// send the daemon's watcher nothing; a file written does.
    #[test]
    fn reading_a_watched_file_is_no_event_and_writing_one_is() {
        use notify::Watcher as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("lib.rs");
        std::fs::write(&file, "fn a() {}\n").expect("write");
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::RecommendedWatcher::new(tx, changes_only()).expect("watcher");
        watcher.watch(dir.path(), notify::RecursiveMode::Recursive).expect("watch");
        for _ in 0..20 {
            assert_eq!(std::fs::read_to_string(&file).expect("read"), "fn a() {}\n");
        }
        let read = rx.recv_timeout(Duration::from_millis(300));
        assert!(read.is_err(), "reading was an event: {read:?}");
        std::fs::write(&file, "fn b() {}\n").expect("write");
        let written = rx.recv_timeout(Duration::from_secs(5)).expect("an event").expect("no error");
        assert!(!matches!(written.kind, notify::EventKind::Access(_)), "{written:?}");
        assert!(written.paths.iter().any(|p| p.ends_with("lib.rs")), "{written:?}");
    }

    #[test]
    fn roots_that_are_no_project_folders_are_named() {
        let home = Some(std::path::PathBuf::from("/home/ada"));
        let kind = |root: &str| super::folder_kind(std::path::Path::new(root), home.clone());
        assert_eq!(kind("/"), Some("the root of the file system"));
        assert_eq!(kind("/home/ada"), Some("your home folder"));
        assert_eq!(kind("/home"), Some("a folder that holds your home folder"));
        for system in ["/usr", "/etc", "/var", "/proc", "/proc/1/root", "/sys/class", "/tmp"] {
            assert_eq!(kind(system), Some("a system folder"), "{system}");
        }
        for secrets in [
            "/home/ada/.ssh",
            "/home/ada/.gnupg/private-keys-v1.d",
            "/home/ada/.local",
            "/home/ada/.local/state/paired",
        ] {
            assert_eq!(kind(secrets), Some("a folder of credentials or settings in your home folder"), "{secrets}");
        }
        for project in [
            "/home/ada/src/paired",
            "/usr/src/linux",
            "/etc/nixos",
            "/srv/www/site",
            "/tmp/scratch",
            "/home/ada/.config/nvim",
        ] {
            assert_eq!(kind(project), None, "{project}");
        }
    }
}
