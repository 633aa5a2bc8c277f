//! `paired lsp`: what an editor launches. It speaks LSP on stdio (tower-lsp-server)
//! and is a thin, stateless-but-for-replay proxy to the shared daemon, which it
//! starts when absent.
//!
//! Invariants:
//! - Document notifications are applied strictly in arrival order. tower-lsp-server
//!   runs handlers concurrently, so the front ([`front`]), a tower `Service` in front of it,
//!   takes `didOpen`/`didChange`/`didClose` off the stream synchronously as they
//!   are read, applies them to a local mirror and queues them, numbered, for one
//!   task that sends them to the daemon one at a time.
//! - If the daemon goes away, the proxy reconnects (restarting it), re-attaches and
//!   re-opens every document from the mirror before any queued change is sent;
//!   changes the replay already covers are skipped by number.
//! - The process exits when stdin closes, on `exit`, or when the editor process
//!   named in `initialize` dies. It never outlives its editor.
//! - Every `area/verb` method of the protocol is forwarded as an LSP custom
//!   request of the same name; `$/cancelRequest` cancels a forwarded request.
//! - Nothing the editor sends takes the proxy down: the input is framed here
//!   ([`frames`]), and a malformed frame is answered with an error or dropped.
//! - Nothing the editor sends can wedge the daemon connection: a document whose
//!   open request would exceed the daemon's request limit is held here only
//!   (the daemon is told to close its older copy) and the user is told once; a
//!   forwarded request over the limit is refused here. A document the daemon
//!   keeps dropping the connection over while it is replayed is held the same way.
//! - A workspace root that is no project folder (`/`, the home folder, system
//!   folders) is not announced to the daemon, so it is never indexed.
//!
//! The parts: [`front`] (what the editor sends, in order), [`documents`] (the
//! mirror and document sync), [`forward`] (PAIRED's methods to the daemon),
//! [`replay`] (the daemon connection, re-attached and replayed; its events),
//! [`backend`] (the LSP lifecycle), [`commands`] (`paired.runAgent`,
//! `paired.runWorkflow`), [`convert`] (symbols as LSP shapes), over the shared
//! state in [`proxy`] and the request sizes in [`limits`].

// Public for the fuzz target `lsp_framing` (`fuzz/`) only.
#[doc(hidden)]
pub mod agents;
pub mod frames;

mod backend;
mod commands;
mod complete;
mod convert;
mod documents;
mod forward;
mod front;
mod incoming;
mod lenses;
mod limits;
mod packed;
mod proxy;
mod replay;

use std::{
    process::ExitCode,
    sync::{Arc, atomic::Ordering},
};

use anyhow::Result;
use protocol::{Subscription as _, client::Attach};
use tokio::sync::mpsc;
use tower_lsp_server::{LspService, Server};

#[doc(hidden)]
pub use documents::fuzz_document_notifications;

use self::{backend::Backend, front::Front, proxy::Proxy};
use crate::platform::paths::Paths;

/// Serves the editor on stdio. `notices`: what to tell the user once the editor
/// is ready (logged already), such as unknown `PAIRED_*` variables.
pub fn run(paths: Paths, notices: Vec<String>, test_hooks: bool) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(serve(paths, notices, test_hooks))
}

async fn serve(paths: Paths, notices: Vec<String>, test_hooks: bool) -> Result<ExitCode> {
    let (ops_tx, ops_rx) = mpsc::unbounded_channel();
    let mut forwarded: Vec<&'static str> = protocol::openrpc::method_names()
        .into_iter()
        .filter(|name| *name != Attach::SUBSCRIBE && *name != Attach::UNSUBSCRIBE)
        .collect();
    if test_hooks {
        forwarded.extend(["debug/sleep", "debug/panic", "debug/refuse_document_updates"]);
    }
    // Until the daemon says what it takes (`attached`).
    let request_limit = crate::platform::config::ServerConfig::default().max_request_bytes as usize;
    let mut proxy = Proxy::new(paths, request_limit, notices, forwarded, ops_tx);
    proxy.lose_step_updates = test_hooks && std::env::var("PAIRED_TEST_LOSE_STEP_UPDATES").is_ok_and(|v| v == "1");
    let proxy = Arc::new(proxy);
    tokio::spawn(documents::sync_documents(proxy.clone(), ops_rx));

    let backend_proxy = proxy.clone();
    let (service, socket) = LspService::new(move |client| {
        let _ = backend_proxy.editor.set(client);
        Backend { proxy: backend_proxy.clone() }
    });
    let front = Front { inner: service, proxy: proxy.clone() };
    Server::new(editor_input(proxy.clone())?, tokio::io::stdout(), socket).serve(front).await;
    let clean = proxy.shutdown_requested.load(Ordering::Relaxed);
    tracing::info!(clean, "editor closed the connection; exiting");
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The editor's input as tower-lsp-server reads it: only well-formed frames,
/// and for each malformed one a [`front::MALFORMED`] request carrying its error.
/// Document notifications are read on the way ([`incoming::Incoming`]).
fn editor_input(proxy: Arc<Proxy>) -> Result<frames::FrameReader> {
    let (frames_tx, frames_rx) = mpsc::channel(64);
    std::thread::Builder::new()
        .name("paired-lsp-stdin".to_owned())
        .spawn(move || frames::read_stdin(frames_tx, |body| proxy.incoming.take(body)))?;
    Ok(frames::FrameReader::new(frames_rx, |frame| match frame {
        frames::Frame::Message(body) => body,
        frames::Frame::Malformed { id, code, message } => serde_json::to_vec(&serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": front::MALFORMED,
            "params": { "code": code, "message": message },
        }))
        .unwrap_or_default(),
    }))
}
