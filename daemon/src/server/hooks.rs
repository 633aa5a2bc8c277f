//! The test hooks (`debug/*`), served only with `PAIRED_TEST_HOOKS=1` and
//! never listed in `rpc.discover`: what tests need to put the daemon in the
//! states the outside world can (a stuck thread, a panic, a refused update).

use std::time::Duration;

use jsonrpsee::{RpcModule, types::ErrorObjectOwned};

use super::{daemon::Daemon, router::register};

/// `debug/panic` and `debug/sleep`, for tests of panic isolation and cancellation;
/// `debug/stall_roster` and `debug/stall_attach`, a thread stuck on the disk; `debug/stall_documents`,
/// the documents thread busy with a large update; `debug/refuse_document_updates`,
/// the next `[n]` `documents/sync` requests refused whole (a bug, a panic in the documents
/// thread), for the editors' recovery.
/// Served only with `PAIRED_TEST_HOOKS=1`, never listed in `rpc.discover`.
pub(super) fn register_test_hooks(module: &mut RpcModule<Daemon>) {
    register(
        module.register_method("debug/refuse_document_updates", |params, daemon, _| {
            let n = params.parse::<(u32,)>().map_or(1, |(n,)| n);
            daemon.refuse_document_updates.store(n, std::sync::atomic::Ordering::Release);
            Ok::<u32, ErrorObjectOwned>(n)
        }),
        "debug/refuse_document_updates",
    );
    register(
        module.register_method("debug/advance_clock", |params, _, _| {
            // Seconds to move the expiry clock forward: `[3600]`.
            let secs = params.parse::<(i64,)>().map_or(0, |(secs,)| secs);
            Ok::<i64, ErrorObjectOwned>(crate::platform::clock::advance_expiry_clock(secs))
        }),
        "debug/advance_clock",
    );
    register(
        module.register_async_method("debug/panic", |_, _, _| async move {
            #[allow(clippy::panic)]
            if true {
                panic!("debug/panic was called");
            }
            Ok::<(), ErrorObjectOwned>(())
        }),
        "debug/panic",
    );
    register(
        module.register_async_method("debug/sleep", |params, _, _| async move {
            let ms: u64 =
                params.as_str().and_then(|raw| serde_json::from_str::<(u64,)>(raw).ok()).map_or(1000, |(ms,)| ms);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<u64, ErrorObjectOwned>(ms)
        }),
        "debug/sleep",
    );
    stall_hooks(module);
}

/// A thread of the daemon's stuck (roster, attach, documents) or a watcher's error.
fn stall_hooks(module: &mut RpcModule<Daemon>) {
    register(
        module.register_async_method("debug/stall_roster", |params, daemon, _| async move {
            // The roster's thread stuck for `[ms]` (a hung agent folder),
            // queued before the reply.
            let ms: u64 =
                params.as_str().and_then(|raw| serde_json::from_str::<(u64,)>(raw).ok()).map_or(1000, |(ms,)| ms);
            drop(daemon.roster_thread.run(move || std::thread::sleep(Duration::from_millis(ms))));
            Ok::<u64, ErrorObjectOwned>(ms)
        }),
        "debug/stall_roster",
    );
    register(
        module.register_async_method("debug/stall_attach", |params, daemon, _| async move {
            // The attach thread stuck for `[ms]` (a folder on a hung mount).
            let ms = params.parse::<(u64,)>().map_or(1000, |(ms,)| ms);
            drop(daemon.attach_thread.run(move || std::thread::sleep(Duration::from_millis(ms))));
            Ok::<u64, ErrorObjectOwned>(ms)
        }),
        "debug/stall_attach",
    );
    register(
        module.register_async_method("debug/stall_documents", |params, daemon, _| async move {
            // The documents thread busy for `[ms]` (a large update), as a job
            // of the largest size, the reply once it has begun; `[ms, size]`:
            // a job of that size queued, the reply once it is.
            let raw = params.as_str().unwrap_or("[]");
            let (ms, size) = serde_json::from_str::<(u64, usize)>(raw)
                .map(|(ms, size)| (ms, Some(size)))
                .or_else(|_| serde_json::from_str::<(u64,)>(raw).map(|(ms,)| (ms, None)))
                .unwrap_or((1000, None));
            let stall = move || std::thread::sleep(Duration::from_millis(ms));
            match size {
                Some(size) => drop(daemon.documents_thread.run_sized(size, stall)),
                None => {
                    let (begun, begins) = tokio::sync::oneshot::channel();
                    drop(daemon.documents_thread.run(move || {
                        let _ = begun.send(());
                        stall();
                    }));
                    let _ = begins.await;
                }
            }
            Ok::<u64, ErrorObjectOwned>(ms)
        }),
        "debug/stall_documents",
    );
    register(
        module.register_async_method("debug/watch_error", |params, daemon, _| async move {
            // A watch error for the workspace of `folder`, through its watcher's channel.
            let folder: String = params
                .as_str()
                .and_then(|raw| serde_json::from_str::<(String,)>(raw).ok())
                .map(|(f,)| f)
                .unwrap_or_default();
            let workspace =
                crate::platform::uri::to_path(&folder).and_then(|p| daemon.codebase.workspaces.find_for(&p));
            let found = workspace.is_some();
            if let Some(workspace) = workspace {
                workspace.inject_watch_error();
            }
            Ok::<bool, ErrorObjectOwned>(found)
        }),
        "debug/watch_error",
    );
}
