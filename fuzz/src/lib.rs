//! What the fuzz targets share: one tokio runtime and one daemon per process,
//! built as `paired daemon` builds it but without a socket, its files in a
//! temporary folder.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use daemon::server::daemon::Daemon;

/// The runtime every async target runs on.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// A folder that lives as long as the process (removed by the OS's /tmp
/// cleaning, never by the target: libFuzzer exits without unwinding).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::Builder::new().prefix("paired-fuzz-").tempdir().expect("tempdir").keep())
}

/// A small project, open in the daemon as an editor's workspace: what a 1.0
/// client's `projectPath` is pinned to.
pub fn project() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch().join("project");
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        std::fs::write(
            dir.join("src/lib.rs"),
            "/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\npub fn unused() {}\n",
        )
        .expect("write");
        std::fs::write(dir.join("src/app.py"), "def main():\n    password = 'hunter2'\n    return 1\n").expect("write");
        std::fs::write(dir.join("README.md"), "# Fuzz project\n").expect("write");
        dir
    })
}

/// The daemon, as `paired daemon` builds it (default configuration, its own
/// database), with no socket and no test hooks.
pub fn daemon() -> Arc<Daemon> {
    static DAEMON: OnceLock<Arc<Daemon>> = OnceLock::new();
    DAEMON
        .get_or_init(|| {
            let dir = scratch().join("daemon");
            std::fs::create_dir_all(&dir).expect("mkdir");
            let paths = daemon::platform::paths::Paths {
                config_dir: dir.join("config"),
                data_dir: dir.join("data"),
                state_dir: dir.join("state"),
                runtime_dir: dir.join("run"),
            };
            for d in [&paths.config_dir, &paths.data_dir, &paths.state_dir, &paths.runtime_dir] {
                std::fs::create_dir_all(d).expect("mkdir");
            }
            let _guard = runtime().enter();
            let store = daemon::platform::store::Store::open(&paths.state_dir.join("paired.db")).expect("store");
            let daemon = Daemon::new(daemon::platform::config::Config::default(), paths, store, 1, 0, false);
            // The fixture project is open, as if an editor had it: requests
            // and 1.0 clients that name it reach it.
            let root = project().canonicalize().expect("the fixture project");
            daemon.workspaces.add(root, &daemon.events);
            daemon
        })
        .clone()
}

/// Text of a fuzz input, if it is UTF-8 (every parser here takes `&str`).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Runs `f` on a thread with the stack of a tokio worker (2 MiB), where the
/// daemon runs its handlers, so that recursion a worker could not afford
/// crashes here too (libFuzzer's own thread has 8 MiB).
pub fn on_worker_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new().stack_size(2 << 20).spawn_scoped(scope, f).expect("a thread");
        match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Runs a future as the daemon's handlers run: spawned on a runtime worker.
pub fn on_worker<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime();
    match rt.block_on(rt.spawn(future)) {
        Ok(output) => output,
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}
