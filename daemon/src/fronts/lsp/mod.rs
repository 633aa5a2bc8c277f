//! `paired lsp`: what an editor launches. It speaks LSP on stdio (tower-lsp-server)
//! and is a thin, stateless-but-for-replay proxy to the shared daemon, which it
//! starts when absent.
//!
//! Invariants:
//! - Document notifications are applied strictly in arrival order. tower-lsp-server
//!   runs handlers concurrently, so [`Front`], a tower `Service` in front of it,
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

// Public for the fuzz target `lsp_framing` (`fuzz/`) only.
#[doc(hidden)]
pub mod agents;
pub mod frames;

use std::{
    collections::{HashMap, HashSet},
    process::ExitCode,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use anyhow::Result;
use futures::{FutureExt, future::BoxFuture, stream::AbortHandle};
use jsonrpsee::{
    core::client::{ClientT, Error as ClientError, SubscriptionClientT},
    ws_client::WsClient,
};
use protocol::{
    Subscription as _,
    client::{Attach, ClientHello, ClientKind, Event},
    documents::{ChangeParams, ContentChange, OpenParams},
};
use serde::Deserialize;
use serde_json::Value;
use tokio::{
    io::AsyncWriteExt as _,
    sync::{mpsc, watch},
};
use tower_lsp_server::{
    Client, ExitedError, LanguageServer, LspService, Server,
    jsonrpc::{self, ErrorCode, Request, Response},
    ls_types::{
        InitializeParams, InitializeResult, InitializedParams, MessageType, OneOf, PositionEncodingKind,
        ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    },
};
use tracing::Instrument;

use crate::{
    platform::paths::Paths,
    server::client::{self, ByName, Raw},
    services::documents::{ANONYMOUS, Documents},
};

/// How long a forwarded request waits for the daemon to come (back) up.
const CONNECT_WAIT: Duration = Duration::from_secs(15);

/// What [`frames`] turns a malformed frame into: a request that [`Front`]
/// answers with the error, so the answer goes out in turn with the others.
const MALFORMED: &str = "$/paired/malformedFrame";

/// Room for the JSON-RPC envelope around a request's parameters, a language id
/// included (see [`MAX_LANGUAGE_ID_BYTES`]).
const ENVELOPE_BYTES: usize = 512;

/// Language ids are short names (`rust`, `typescriptreact`); a longer one is
/// not passed on.
const MAX_LANGUAGE_ID_BYTES: usize = 64;

pub fn run(paths: Paths, test_hooks: bool) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(serve(paths, test_hooks))
}

async fn serve(paths: Paths, test_hooks: bool) -> Result<ExitCode> {
    let (ops_tx, ops_rx) = mpsc::unbounded_channel();
    let mut forwarded: Vec<&'static str> = protocol::openrpc::method_names()
        .into_iter()
        .filter(|name| *name != Attach::SUBSCRIBE && *name != Attach::UNSUBSCRIBE)
        .collect();
    if test_hooks {
        forwarded.extend(["debug/sleep", "debug/panic"]);
    }
    let request_limit = daemon_request_limit(&paths);
    // Logged already (`cli::init_front_logging`); shown to the user once too.
    let config_warnings =
        crate::platform::config::Environment::from_process().map(|env| env.warnings()).unwrap_or_default();
    let proxy = Arc::new(Proxy::new(paths, request_limit, config_warnings, forwarded, ops_tx));
    tokio::spawn(sync_documents(proxy.clone(), ops_rx));

    let backend_proxy = proxy.clone();
    let (service, socket) = LspService::new(move |client| {
        let _ = backend_proxy.editor.set(client);
        Backend { proxy: backend_proxy.clone() }
    });
    let front = Front { inner: service, proxy: proxy.clone() };
    Server::new(editor_input()?, tokio::io::stdout(), socket).serve(front).await;
    let clean = proxy.shutdown_requested.load(Ordering::Relaxed);
    tracing::info!(clean, "editor closed the connection; exiting");
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The editor's input as tower-lsp-server reads it: only well-formed frames,
/// and for each malformed one a [`MALFORMED`] request carrying its error.
fn editor_input() -> Result<tokio::io::DuplexStream> {
    let (frames_tx, mut frames_rx) = mpsc::channel(64);
    std::thread::Builder::new().name("paired-lsp-stdin".to_owned()).spawn(move || frames::read_stdin(frames_tx))?;
    let (mut input, server_input) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        while let Some(frame) = frames_rx.recv().await {
            let body = match frame {
                frames::Frame::Message(body) => body,
                frames::Frame::Malformed { id, code, message } => serde_json::to_vec(&serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "method": MALFORMED,
                    "params": { "code": code, "message": message },
                }))
                .unwrap_or_default(),
            };
            let head = format!("Content-Length: {}\r\n\r\n", body.len());
            if input.write_all(head.as_bytes()).await.is_err() || input.write_all(&body).await.is_err() {
                return;
            }
        }
        // Dropping `input` is the end of input for the server.
    });
    Ok(server_input)
}

/// The daemon's request limit (`server.max_request_bytes`), from the
/// configuration a daemon started from here reads. A daemon started otherwise
/// may have a lower one: the replay's fallback covers that.
fn daemon_request_limit(paths: &Paths) -> usize {
    let configured = crate::platform::config::load(&paths.config_file(), None, &|key| std::env::var(key).ok())
        .map(|loaded| loaded.config.server.max_request_bytes);
    configured.unwrap_or_else(|_| crate::platform::config::ServerConfig::default().max_request_bytes) as usize
}

struct Proxy {
    paths: Paths,
    /// The largest request the daemon takes, in bytes.
    request_limit: usize,
    /// What to tell the user once the editor is ready: roots `initialize` named
    /// that are no project folders, unknown `PAIRED_*` variables.
    notices: Mutex<Vec<String>>,
    forwarded: Vec<&'static str>,
    mirror: Mutex<Mirror>,
    ops: mpsc::UnboundedSender<DocOp>,
    /// The live daemon connection, `None` while (re)connecting.
    connection: watch::Sender<Option<Arc<WsClient>>>,
    /// Document operations up to this number are already in the daemon (replayed).
    replayed_through: AtomicU64,
    /// Document operations up to this number have been applied by the daemon;
    /// a forwarded request waits for the edits that came before it.
    sent_through: watch::Sender<u64>,
    hello: OnceLock<ClientHello>,
    editor: OnceLock<Client>,
    pending: Mutex<HashMap<String, AbortHandle>>,
    /// Agent runs started for editor requests: request key → run id, so that
    /// `$/cancelRequest` also cancels the run in the daemon.
    runs: Mutex<HashMap<String, String>>,
    /// Workflow sessions started by this editor: session id → where their
    /// updates and questions go.
    sessions: Mutex<HashMap<String, mpsc::UnboundedSender<Event>>>,
    /// Diagnostics published for agents' findings: uri → agent → diagnostics.
    agent_diagnostics: Mutex<HashMap<String, HashMap<String, Vec<Value>>>>,
    initialized: AtomicBool,
    shutdown_requested: AtomicBool,
    /// The editor asked for the daemon's run and session events as
    /// `paired/event` notifications (`initializationOptions.paired.events`),
    /// for an agent panel.
    events_wanted: AtomicBool,
}

impl Proxy {
    /// A proxy not yet initialized by its editor nor connected to the daemon.
    fn new(
        paths: Paths,
        request_limit: usize,
        notices: Vec<String>,
        forwarded: Vec<&'static str>,
        ops: mpsc::UnboundedSender<DocOp>,
    ) -> Proxy {
        Proxy {
            paths,
            request_limit,
            notices: Mutex::new(notices),
            forwarded,
            mirror: Mutex::default(),
            ops,
            connection: watch::channel(None).0,
            replayed_through: AtomicU64::new(0),
            sent_through: watch::channel(0).0,
            hello: OnceLock::new(),
            editor: OnceLock::new(),
            pending: Mutex::default(),
            agent_diagnostics: Mutex::default(),
            runs: Mutex::default(),
            sessions: Mutex::default(),
            initialized: AtomicBool::new(false),
            shutdown_requested: AtomicBool::new(false),
            events_wanted: AtomicBool::new(false),
        }
    }
}

#[derive(Default)]
struct Mirror {
    documents: Documents,
    /// Number of the last document operation taken from the editor.
    seq: u64,
    /// Documents held here only: too large for the daemon.
    held: HashSet<String>,
    /// Documents the user was told about (once each).
    told: HashSet<String>,
    /// Documents whose replay lost the daemon connection, and how often.
    replay_failures: HashMap<String, u32>,
}

struct DocOp {
    seq: u64,
    kind: DocOpKind,
}

enum DocOpKind {
    Open(OpenParams),
    Change(ChangeParams),
    Close(String),
}

impl Proxy {
    fn mirror(&self) -> MutexGuard<'_, Mirror> {
        self.mirror.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets `stale` if it is still the current connection (a newer one may
    /// already have replaced it).
    fn drop_connection(&self, stale: &Arc<WsClient>) {
        self.connection.send_if_modified(|current| {
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, stale)) {
                *current = None;
                true
            } else {
                false
            }
        });
    }

    fn mark_sent(&self, seq: u64) {
        self.sent_through.send_if_modified(|sent| {
            let newer = seq > *sent;
            if newer {
                *sent = seq;
            }
            newer
        });
    }

    async fn connected(&self, limit: Duration) -> Option<Arc<WsClient>> {
        let mut rx = self.connection.subscribe();
        let wait = rx.wait_for(Option::is_some);
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(connection)) => connection.clone(),
            _ => None,
        }
    }

    /// Takes a document notification off the stream, in order. Called
    /// synchronously by [`Front::call`].
    fn document_notification(&self, method: &str, params: Option<Value>) {
        let params = params.unwrap_or(Value::Null);
        let parsed = match method {
            "textDocument/didOpen" => serde_json::from_value::<DidOpen>(params).map(|p| {
                DocOpKind::Open(OpenParams {
                    uri: p.text_document.uri,
                    language_id: Some(p.text_document.language_id)
                        .filter(|id| id.len() <= MAX_LANGUAGE_ID_BYTES)
                        .unwrap_or_default(),
                    version: p.text_document.version,
                    text: p.text_document.text,
                })
            }),
            "textDocument/didChange" => serde_json::from_value::<DidChange>(params).map(|p| {
                DocOpKind::Change(ChangeParams {
                    uri: p.text_document.uri,
                    version: p.text_document.version,
                    changes: p.content_changes,
                })
            }),
            _ => serde_json::from_value::<DidClose>(params).map(|p| DocOpKind::Close(p.text_document.uri)),
        };
        let kind = match parsed {
            Ok(kind) => kind,
            Err(err) => {
                tracing::warn!(method, "ignoring malformed notification: {err}");
                return;
            }
        };
        let mut mirror = self.mirror();
        let uri = kind.uri().to_owned();
        let known = mirror.documents.buffer(&uri).is_some();
        let applied = match &kind {
            DocOpKind::Open(params) => {
                mirror.documents.open(ANONYMOUS, params.clone());
                Ok(())
            }
            DocOpKind::Change(params) => mirror.documents.change(ANONYMOUS, params.clone()).map(drop),
            DocOpKind::Close(uri) => mirror.documents.close(ANONYMOUS, uri).map(drop),
        };
        if let Err(err) = applied {
            tracing::warn!(method, "{err}");
            return;
        }
        let held = mirror.held.contains(&uri);
        let oversized = match &kind {
            DocOpKind::Close(_) => None,
            _ => mirror.documents.buffer(&uri).and_then(|(text, _)| over_limit(&uri, text, self.request_limit)),
        };
        // What the daemon must hear for its copy to match the mirror's.
        let ops = match kind {
            DocOpKind::Close(uri) if mirror.held.remove(&uri) => Vec::new(),
            DocOpKind::Close(uri) => vec![DocOpKind::Close(uri)],
            _ if oversized.is_some() => {
                mirror.held.insert(uri.clone());
                if mirror.told.insert(uri.clone()) {
                    self.tell_held(&uri, oversized.unwrap_or_default());
                }
                // The daemon's older copy would be read as this document's text.
                if known && !held { vec![DocOpKind::Close(uri)] } else { Vec::new() }
            }
            DocOpKind::Change(params) if held || change_request_bytes(&params) > self.request_limit => {
                mirror.held.remove(&uri);
                let reopen = reopen_params(&mirror.documents, &uri);
                let close = (!held).then_some(DocOpKind::Close(uri));
                close.into_iter().chain(reopen.map(DocOpKind::Open)).collect()
            }
            kind => {
                mirror.held.remove(&uri);
                vec![kind]
            }
        };
        for kind in ops {
            mirror.seq += 1;
            // Sent while the mirror is locked, so queue order is number order.
            let _ = self.ops.send(DocOp { seq: mirror.seq, kind });
        }
    }

    /// Tells the user, once per document, that the daemon does not get it.
    fn tell_held(&self, uri: &str, bytes: usize) {
        let name = uri.rsplit('/').next().unwrap_or(uri);
        let message = format!(
            "PAIRED: {name} is too large to share with the daemon ({:.1} MiB; its limit is {:.1} MiB, \
             server.max_request_bytes). PAIRED's agents will not see this editor's copy of it; everything else works as usual.",
            bytes as f64 / (1024.0 * 1024.0),
            self.request_limit as f64 / (1024.0 * 1024.0),
        );
        tracing::warn!(uri, bytes, limit = self.request_limit, "document held in the proxy: too large for the daemon");
        if let Some(editor) = self.editor.get().cloned() {
            tokio::spawn(async move { editor.show_message(MessageType::WARNING, message).await });
        }
    }

    fn cancel(&self, params: Option<&Value>) {
        let Some(id) = params.and_then(|p| p.get("id")) else {
            return;
        };
        if let Some(handle) = self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&id.to_string()) {
            handle.abort();
        }
        // The editor gave up on an agent run: so does the daemon (and its model call).
        let key = serde_json::to_string(id).unwrap_or_default();
        if let Some(run_id) = self.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(&key)
            && let Some(connection) = self.connection.borrow().clone()
        {
            tokio::spawn(async move {
                let params = protocol::agents::RunRef { run_id: run_id.clone(), wait: false };
                if let Err(err) = connection.request::<Value, _>("runs/cancel", ByName(&params)).await {
                    tracing::warn!("cannot cancel run {run_id}: {err}");
                }
            });
        }
    }

    /// Forwards a custom request to the daemon, waiting for it to come up, and
    /// retrying once if the connection drops mid-request (when it can be repeated).
    async fn forward(&self, method: &str, params: Option<Value>, after_seq: u64) -> jsonrpc::Result<Value> {
        let params = params.filter(|p| !p.is_null());
        let raw = params
            .as_ref()
            .map(serde_json::value::to_raw_value)
            .transpose()
            .map_err(|err| jsonrpc::Error::invalid_params(err.to_string()))?;
        // The daemon would refuse it, and the connection would go with it.
        let bytes = ENVELOPE_BYTES + method.len() + raw.as_ref().map_or(0, |r| r.get().len());
        if bytes > self.request_limit {
            return Err(jsonrpc::Error {
                code: ErrorCode::ServerError(i64::from(protocol::errors::LIMIT_EXCEEDED)),
                message: format!(
                    "{method}: the request is {bytes} bytes, over the daemon's limit of {} (server.max_request_bytes)",
                    self.request_limit
                )
                .into(),
                data: None,
            });
        }
        // Answer about the text the editor had when it asked, not an older one.
        let mut sent = self.sent_through.subscribe();
        if tokio::time::timeout(CONNECT_WAIT, sent.wait_for(|s| *s >= after_seq)).await.is_err() {
            return Err(daemon_unavailable(format!(
                "{method}: the daemon has not taken the editor's latest changes within {}s",
                CONNECT_WAIT.as_secs()
            )));
        }
        for attempt in 0..2 {
            let Some(connection) = self.connected(CONNECT_WAIT).await else {
                return Err(daemon_unavailable(format!(
                    "the PAIRED daemon did not answer within {}s; run `paired doctor`",
                    CONNECT_WAIT.as_secs()
                )));
            };
            match connection.request::<Value, _>(method, Raw(raw.clone())).await {
                Ok(value) => return Ok(value),
                Err(ClientError::Call(err)) => {
                    return Err(jsonrpc::Error {
                        code: ErrorCode::from(i64::from(err.code())),
                        message: err.message().to_owned().into(),
                        data: err.data().and_then(|d| serde_json::from_str(d.get()).ok()),
                    });
                }
                // Only a request that can be repeated is: a second `agents/run`
                // or `workflows/run` would start the work twice if the first
                // daemon had taken it before the connection dropped.
                Err(err) if attempt == 0 && matches!(err, ClientError::RestartNeeded(_)) && repeatable(method) => {
                    tracing::info!(method, "daemon connection dropped mid-request; retrying after reconnect");
                    self.drop_connection(&connection);
                }
                Err(err) => return Err(daemon_unavailable(format!("{method}: {err}"))),
            }
        }
        Err(daemon_unavailable(format!("{method}: the daemon connection dropped twice")))
    }
}

impl DocOpKind {
    fn uri(&self) -> &str {
        match self {
            DocOpKind::Open(params) => &params.uri,
            DocOpKind::Change(params) => &params.uri,
            DocOpKind::Close(uri) => uri,
        }
    }
}

/// The mirror's current copy of `uri`, as a `documents/open`.
fn reopen_params(documents: &Documents, uri: &str) -> Option<OpenParams> {
    let doc = documents.get(uri)?;
    Some(OpenParams { uri: doc.uri, language_id: doc.language_id, version: doc.version, text: doc.text })
}

/// The size of the `documents/open` request for `text`, give or take the envelope.
fn open_request_bytes(uri: &str, text: &str) -> usize {
    ENVELOPE_BYTES + json_string_bytes(uri) + json_string_bytes(text)
}

/// The size of the `documents/open` request for `text` (give or take the
/// envelope) if it is over `limit`. Counted only when it could be: a keystroke
/// in a large document does not rescan it.
fn over_limit(uri: &str, text: &str, limit: usize) -> Option<usize> {
    // No character takes more than six bytes escaped.
    if ENVELOPE_BYTES + 6 * (uri.len() + text.len() + 4) <= limit {
        return None;
    }
    Some(open_request_bytes(uri, text)).filter(|bytes| *bytes > limit)
}

fn change_request_bytes(params: &ChangeParams) -> usize {
    let changes: usize = params.changes.iter().map(|c| ENVELOPE_BYTES + json_string_bytes(&c.text)).sum();
    ENVELOPE_BYTES + json_string_bytes(&params.uri) + changes
}

/// The length of `text` as a JSON string, escapes included (as serde_json writes it).
fn json_string_bytes(text: &str) -> usize {
    2 + text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

fn daemon_unavailable(message: String) -> jsonrpc::Error {
    jsonrpc::Error {
        code: ErrorCode::ServerError(i64::from(protocol::errors::DAEMON_UNAVAILABLE)),
        message: message.into(),
        data: None,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidOpen {
    text_document: TextDocumentItem,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TextDocumentItem {
    uri: String,
    language_id: String,
    version: i32,
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidChange {
    text_document: VersionedId,
    content_changes: Vec<ContentChange>,
}

#[derive(Deserialize)]
struct VersionedId {
    uri: String,
    version: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidClose {
    text_document: UriOnly,
}

#[derive(Deserialize)]
struct UriOnly {
    uri: String,
}

/// Sends document operations to the daemon one at a time, in order.
async fn sync_documents(proxy: Arc<Proxy>, mut ops: mpsc::UnboundedReceiver<DocOp>) {
    while let Some(op) = ops.recv().await {
        loop {
            let Some(connection) = proxy.connected(Duration::MAX).await else {
                return;
            };
            if op.seq <= proxy.replayed_through.load(Ordering::Acquire) {
                proxy.mark_sent(op.seq);
                break;
            }
            let sent = match &op.kind {
                DocOpKind::Open(params) => {
                    client::call::<protocol::documents::Open>(&connection, params).await.map(drop)
                }
                DocOpKind::Change(params) => {
                    client::call::<protocol::documents::Change>(&connection, params).await.map(drop)
                }
                DocOpKind::Close(uri) => {
                    let params = protocol::documents::UriParams { uri: uri.clone() };
                    client::call::<protocol::documents::Close>(&connection, &params).await.map(drop)
                }
            };
            match sent {
                Ok(()) => {
                    proxy.mark_sent(op.seq);
                    break;
                }
                Err(_) if !connection.is_connected() => {
                    // The reconnect replays the mirror, which already holds this op.
                    proxy.drop_connection(&connection);
                }
                Err(err) => {
                    tracing::warn!("the daemon refused a document update: {err:#}");
                    proxy.mark_sent(op.seq);
                    break;
                }
            }
        }
    }
}

/// For the fuzz target `lsp_framing` (`fuzz/`) only: the editor's document
/// notifications, `(method, params)` in arrival order, taken off the stream by
/// the proxy's own reader ([`Proxy::document_notification`]) on a proxy with no
/// daemon behind it. Returns the mirror's documents afterwards and the
/// operations queued for the daemon, as `documents/*` method and params.
#[doc(hidden)]
pub fn fuzz_document_notifications(
    notifications: Vec<(String, Option<Value>)>,
) -> (Vec<protocol::documents::Document>, Vec<(&'static str, Value)>) {
    let (ops, mut queued) = mpsc::unbounded_channel();
    let none = std::path::PathBuf::new;
    let paths = Paths { config_dir: none(), data_dir: none(), state_dir: none(), runtime_dir: none() };
    let limit = crate::platform::config::ServerConfig::default().max_request_bytes as usize;
    let proxy = Proxy::new(paths, limit, Vec::new(), Vec::new(), ops);
    proxy.initialized.store(true, Ordering::Release);
    for (method, params) in notifications {
        proxy.document_notification(&method, params);
    }
    let mut sent = Vec::new();
    while let Ok(op) = queued.try_recv() {
        sent.push(match op.kind {
            DocOpKind::Open(p) => ("documents/open", serde_json::to_value(p).unwrap_or_default()),
            DocOpKind::Change(p) => ("documents/change", serde_json::to_value(p).unwrap_or_default()),
            DocOpKind::Close(uri) => ("documents/close", serde_json::json!({ "uri": uri })),
        });
    }
    // Documents held in the proxy (too large for the daemon) are not the daemon's to have.
    let mirror = proxy.mirror();
    let documents = mirror.documents.snapshot().into_iter().filter(|doc| !mirror.held.contains(&doc.uri)).collect();
    drop(mirror);
    (documents, sent)
}

/// Keeps the proxy attached to a daemon for the life of the process.
async fn stay_connected(proxy: Arc<Proxy>) {
    let Some(hello) = proxy.hello.get().cloned() else {
        return;
    };
    let mut backoff = Duration::from_millis(20);
    let mut warned = false;
    loop {
        match attach_and_replay(&proxy, &hello).await {
            Ok((connection, mut events, replayed)) => {
                backoff = Duration::from_millis(20);
                warned = false;
                tracing::info!(replayed, "attached to the PAIRED daemon");
                proxy.connection.send_replace(Some(connection.clone()));
                let mut progress = IndexProgressUi::default();
                loop {
                    tokio::select! {
                        _ = connection.on_disconnect() => break,
                        event = events.next() => match event {
                            Some(Ok(Event::ShuttingDown { reason })) => tracing::info!(%reason, "the daemon is shutting down"),
                            Some(Ok(event @ (Event::RunUpdate { .. } | Event::SessionUpdate { .. } | Event::Choice { .. }))) => {
                                proxy.to_panel(&event).await;
                                proxy.to_session(event);
                            }
                            Some(Ok(event)) => progress.show(&proxy, &hello, event).await,
                            Some(Err(_)) => {}
                            None => break,
                        },
                    }
                }
                proxy.drop_connection(&connection);
                tracing::info!("lost the daemon connection; reconnecting");
            }
            Err(err) => {
                tracing::warn!("cannot reach the PAIRED daemon: {err:#}");
                if !warned && let Some(editor) = proxy.editor.get() {
                    warned = true;
                    editor
                        .show_message(
                            MessageType::WARNING,
                            format!("PAIRED: cannot reach the daemon ({err:#}); retrying"),
                        )
                        .await;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

type Events = jsonrpsee::core::client::Subscription<Event>;

/// Shows the indexing of this editor's workspace folders as LSP `$/progress`, and
/// index warnings as messages.
#[derive(Default)]
struct IndexProgressUi {
    ongoing:
        HashMap<String, tower_lsp_server::OngoingProgress<tower_lsp_server::Bounded, tower_lsp_server::NotCancellable>>,
    next_token: u32,
}

impl IndexProgressUi {
    async fn show(&mut self, proxy: &Proxy, hello: &ClientHello, event: Event) {
        let Some(editor) = proxy.editor.get() else { return };
        let ours = |root: &str| {
            hello
                .workspace_folders
                .iter()
                .any(|f| crate::platform::uri::to_path(f).is_some_and(|p| p.to_string_lossy() == root))
        };
        match event {
            Event::IndexProgress { root, done, total, finished } if ours(&root) => {
                let percentage = if total == 0 { 100 } else { (u64::from(done) * 100 / u64::from(total)) as u32 };
                if finished {
                    if let Some(progress) = self.ongoing.remove(&root) {
                        progress.finish_with_message(format!("{total} files indexed")).await;
                    }
                    return;
                }
                if let Some(progress) = self.ongoing.get(&root) {
                    progress.report_with_message(format!("{done}/{total} files"), percentage).await;
                    return;
                }
                self.next_token += 1;
                let token =
                    tower_lsp_server::ls_types::NumberOrString::String(format!("paired-index-{}", self.next_token));
                let create = editor.send_request::<tower_lsp_server::ls_types::request::WorkDoneProgressCreate>(
                    tower_lsp_server::ls_types::WorkDoneProgressCreateParams { token: token.clone() },
                );
                // An editor that never answers must not stall the event stream.
                if !matches!(tokio::time::timeout(Duration::from_secs(2), create).await, Ok(Ok(()))) {
                    return;
                }
                let name = root.rsplit('/').next().unwrap_or(&root).to_owned();
                let progress = editor
                    .progress(token, format!("PAIRED: indexing {name}"))
                    .with_percentage(percentage)
                    .with_message(format!("{done}/{total} files"))
                    .begin()
                    .await;
                self.ongoing.insert(root, progress);
            }
            Event::IndexWarning { root, message } if ours(&root) => {
                editor.show_message(MessageType::WARNING, format!("PAIRED: {message}")).await;
            }
            _ => {}
        }
    }
}

async fn attach_and_replay(proxy: &Proxy, hello: &ClientHello) -> Result<(Arc<WsClient>, Events, usize)> {
    let connection = Arc::new(client::connect_or_start(&proxy.paths).await?.client);
    let events: Events = connection.subscribe(Attach::SUBSCRIBE, ByName(hello), Attach::UNSUBSCRIBE).await?;
    let (documents, seq) = {
        let mirror = proxy.mirror();
        let documents: Vec<_> =
            mirror.documents.snapshot().into_iter().filter(|doc| !mirror.held.contains(&doc.uri)).collect();
        (documents, mirror.seq)
    };
    for doc in &documents {
        let params = OpenParams {
            uri: doc.uri.clone(),
            language_id: doc.language_id.clone(),
            version: doc.version,
            text: doc.text.clone(),
        };
        match client::call::<protocol::documents::Open>(&connection, &params).await {
            Ok(_) => {
                proxy.mirror().replay_failures.remove(&doc.uri);
            }
            // Refused: the daemon goes on without this document, so do we.
            Err(err) if connection.is_connected() => {
                tracing::warn!(uri = doc.uri, "the daemon refused a replayed document: {err:#}");
            }
            // The connection went with it. Twice is no coincidence (a request
            // over a limit we did not know of): the document is held here, or
            // every reconnect would end the same way.
            Err(err) => {
                let mut mirror = proxy.mirror();
                let failures = mirror.replay_failures.entry(doc.uri.clone()).or_default();
                *failures += 1;
                if *failures >= 2 {
                    mirror.replay_failures.remove(&doc.uri);
                    mirror.held.insert(doc.uri.clone());
                    if mirror.told.insert(doc.uri.clone()) {
                        proxy.tell_held(&doc.uri, open_request_bytes(&doc.uri, &doc.text));
                    }
                }
                return Err(err);
            }
        }
    }
    proxy.replayed_through.store(seq, Ordering::Release);
    proxy.mark_sent(seq);
    Ok((connection, events, documents.len()))
}

/// The LSP lifecycle; documents and PAIRED methods are handled by [`Front`].
struct Backend {
    proxy: Arc<Proxy>,
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> jsonrpc::Result<InitializeResult> {
        // `rootUri` stands for the folders when the editor names none.
        #[allow(deprecated)]
        let named: Vec<String> = match params.workspace_folders {
            Some(folders) => folders.into_iter().map(|folder| folder.uri.as_str().to_owned()).collect(),
            None => params.root_uri.iter().map(|uri| uri.as_str().to_owned()).collect(),
        };
        let mut workspace_folders = Vec::new();
        for uri in named {
            let unfit = crate::platform::uri::to_path(&uri).and_then(|path| {
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                unfit_root(&path)
            });
            match unfit {
                Some(why) => {
                    tracing::warn!(uri, "not indexing the workspace folder: {why}");
                    self.proxy.notices.lock().unwrap_or_else(|p| p.into_inner()).push(why);
                }
                None => workspace_folders.push(uri),
            }
        }
        let hello = ClientHello {
            kind: ClientKind::Lsp,
            name: params.client_info.as_ref().map_or_else(|| "editor".to_owned(), |info| info.name.clone()),
            version: params.client_info.and_then(|info| info.version),
            pid: Some(std::process::id()),
            workspace_folders,
        };
        let wants_events = params
            .initialization_options
            .as_ref()
            .and_then(|options| options.pointer("/paired/events"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.proxy.events_wanted.store(wants_events, Ordering::Relaxed);
        if self.proxy.hello.set(hello).is_ok() {
            tokio::spawn(stay_connected(self.proxy.clone()));
        }
        // Watch the editor's pid only if we can see it now: an editor in a
        // sandbox (Flatpak, a container) may report a pid from another namespace.
        match params.process_id {
            Some(editor_pid) if client::process_alive(editor_pid) => {
                tokio::spawn(exit_when_gone(editor_pid));
            }
            Some(editor_pid) => {
                tracing::warn!(editor_pid, "the editor's pid is not visible here; relying on stdin to end")
            }
            None => {}
        }
        self.proxy.initialized.store(true, Ordering::Release);
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(PositionEncodingKind::UTF16),
                document_symbol_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(tower_lsp_server::ls_types::CodeActionProviderCapability::Simple(true)),
                execute_command_provider: Some(tower_lsp_server::ls_types::ExecuteCommandOptions {
                    commands: vec![agents::RUN_AGENT.to_owned(), agents::RUN_WORKFLOW.to_owned()],
                    ..Default::default()
                }),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    ..TextDocumentSyncOptions::default()
                })),
                experimental: Some(serde_json::json!({
                    "paired": {
                        "protocolVersion": protocol::PROTOCOL_VERSION,
                        "methods": self.proxy.forwarded,
                    }
                })),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "paired".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        let refused = std::mem::take(&mut *self.proxy.notices.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(editor) = self.proxy.editor.get() {
            for why in refused {
                editor.show_message(MessageType::WARNING, format!("PAIRED: {why}")).await;
            }
        }
    }

    async fn shutdown(&self) -> jsonrpc::Result<()> {
        self.proxy.shutdown_requested.store(true, Ordering::Release);
        Ok(())
    }
}

/// Exits when the editor process dies, even if it left our stdin open.
async fn exit_when_gone(editor_pid: u32) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !client::process_alive(editor_pid) {
            tracing::info!(editor_pid, "the editor process is gone; exiting");
            std::process::exit(1);
        }
    }
}

impl<S> Front<S> {
    /// Forwards a request to the daemon after every edit that came before it,
    /// cancellable with `$/cancelRequest`, converting the result with `convert`.
    fn forward_request(
        &mut self,
        id: jsonrpc::Id,
        method: &'static str,
        params: Option<Value>,
        convert: fn(Value) -> Value,
        initialized: bool,
        span: tracing::Span,
    ) -> BoxFuture<'static, Result<Option<Response>, ExitedError>> {
        let proxy = self.proxy.clone();
        let after_seq = self.proxy.mirror().seq;
        let work = async move { proxy.forward(method, params, after_seq).await.map(convert) }.boxed();
        self.answer_with(id, work, initialized, span)
    }

    /// Answers request `id` with `work`, which `$/cancelRequest` aborts.
    fn answer_with(
        &mut self,
        id: jsonrpc::Id,
        work: BoxFuture<'static, jsonrpc::Result<Value>>,
        initialized: bool,
        span: tracing::Span,
    ) -> BoxFuture<'static, Result<Option<Response>, ExitedError>> {
        if !initialized || self.proxy.shutdown_requested.load(Ordering::Acquire) {
            let error = if initialized {
                jsonrpc::Error::invalid_request()
            } else {
                jsonrpc::Error {
                    code: ErrorCode::ServerError(-32002),
                    message: "server not initialized: send initialize first".into(),
                    data: None,
                }
            };
            return futures::future::ready(Ok(Some(Response::from_error(id, error)))).boxed();
        }
        let key = serde_json::to_string(&id).unwrap_or_default();
        let (work, handle) = futures::future::abortable(work);
        self.proxy.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), handle);
        let proxy = self.proxy.clone();
        async move {
            let result = work.await;
            proxy.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            let body = result.unwrap_or_else(|_aborted| Err(jsonrpc::Error::request_cancelled()));
            Ok(Some(Response::from_parts(id, body)))
        }
        .instrument(span)
        .boxed()
    }

    /// `workspace/executeCommand` of `paired.runWorkflow`: the session, with a
    /// progress line per step, conflicts the workflow asks about put to the user
    /// (`window/showMessageRequest`), and at the end the merged findings as
    /// diagnostics and the edits that stand through `workspace/applyEdit`.
    fn run_workflow_command(
        &mut self,
        id: jsonrpc::Id,
        params: Value,
        initialized: bool,
        span: tracing::Span,
    ) -> BoxFuture<'static, Result<Option<Response>, ExitedError>> {
        let Some(start) = agents::workflow_params(&params["arguments"]) else {
            let error = jsonrpc::Error::invalid_params(format!(
                "{}: pass one argument {{workflow, uri?, range?, prompt?}}",
                agents::RUN_WORKFLOW
            ));
            return futures::future::ready(Ok(Some(Response::from_error(id, error)))).boxed();
        };
        let proxy = self.proxy.clone();
        let after_seq = self.proxy.mirror().seq;
        let key = serde_json::to_string(&id).unwrap_or_default();
        let work = async move {
            let workflow = start["workflow"].as_str().unwrap_or("workflow").to_owned();
            let progress = proxy.begin_progress(format!("PAIRED: {workflow} workflow")).await;
            let (updates, mut received) = mpsc::unbounded_channel();
            let result = async {
                let started = proxy.forward("workflows/run", Some(start), after_seq).await?;
                let session_id = started["id"].as_str().unwrap_or_default().to_owned();
                proxy.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(session_id.clone(), updates);
                proxy.runs.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), session_id.clone());
                // A question asked before this editor was listening is on the session's record.
                let mut asked: std::collections::HashSet<String> = std::collections::HashSet::new();
                let now = serde_json::json!({ "session_id": session_id });
                if let Ok(session) = proxy.forward("sessions/get", Some(now), after_seq).await {
                    for conflict in session["conflicts"].as_array().into_iter().flatten() {
                        let options: Vec<String> = conflict["options"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|o| o.as_str().map(str::to_owned))
                            .collect();
                        let id = conflict["id"].as_str().unwrap_or_default().to_owned();
                        if conflict["resolution"] == "pending" && !options.is_empty() && asked.insert(id.clone()) {
                            let question = format!("The agents disagree: {}. Which should stand?", conflict["what"].as_str().unwrap_or(""));
                            proxy.ask_user(&session_id, &id, question, options, after_seq).await;
                        }
                    }
                }
                let wait = serde_json::json!({ "session_id": session_id, "wait": true });
                let finished = proxy.forward("sessions/get", Some(wait), after_seq);
                tokio::pin!(finished);
                let outcome = loop {
                    tokio::select! {
                        outcome = &mut finished => break outcome,
                        Some(event) = received.recv() => match event {
                            Event::SessionUpdate { step: Some(step), .. } => {
                                if let Some(progress) = &progress {
                                    let line = format!("{} {} ({} {})", step.key, format!("{:?}", step.status).to_lowercase(), step.agent, step.skill);
                                    progress.report(line).await;
                                }
                            }
                            Event::Choice { conflict_id, question, options, .. } if asked.insert(conflict_id.clone()) => {
                                proxy.ask_user(&session_id, &conflict_id, question, options, after_seq).await;
                            }
                            _ => {}
                        },
                    }
                };
                proxy.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(&session_id);
                proxy.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                outcome
            }
            .await;
            if let Some(progress) = progress {
                progress.finish().await;
            }
            let session = result?;
            proxy.after_run(&agents::session_as_run(&session)).await;
            Ok(session)
        }
        .boxed();
        self.answer_with(id, work, initialized, span)
    }

    /// `workspace/executeCommand` of `paired.runAgent`: the run, with progress
    /// while it lasts, its findings as diagnostics, its edits applied through
    /// the editor, and a message when it ends.
    fn run_agent_command(
        &mut self,
        id: jsonrpc::Id,
        params: Value,
        initialized: bool,
        span: tracing::Span,
    ) -> BoxFuture<'static, Result<Option<Response>, ExitedError>> {
        let Some(run_params) = agents::run_params(&params["arguments"]) else {
            let error = jsonrpc::Error::invalid_params(format!(
                "{}: pass one argument {{agent, skill?, uri?, range?, prompt?}}",
                agents::RUN_AGENT
            ));
            return futures::future::ready(Ok(Some(Response::from_error(id, error)))).boxed();
        };
        let proxy = self.proxy.clone();
        let after_seq = self.proxy.mirror().seq;
        let key = serde_json::to_string(&id).unwrap_or_default();
        let work = async move {
            let agent = run_params["agent"].as_str().unwrap_or("agent").to_owned();
            let progress = proxy.begin_progress(format!("PAIRED: {agent}")).await;
            let mut start = run_params;
            start["wait"] = Value::Bool(false);
            let result = async {
                let started = proxy.forward("agents/run", Some(start), after_seq).await?;
                let run_id = started["id"].as_str().unwrap_or_default().to_owned();
                proxy.runs.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), run_id.clone());
                let finished = proxy
                    .forward("runs/get", Some(serde_json::json!({ "run_id": run_id, "wait": true })), after_seq)
                    .await;
                proxy.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                finished
            }
            .await;
            if let Some(progress) = progress {
                progress.finish().await;
            }
            let run = result?;
            proxy.after_run(&run).await;
            Ok(run)
        }
        .boxed();
        self.answer_with(id, work, initialized, span)
    }
}

/// The daemon's run and session events, for editors that asked for them.
enum PairedEvent {}

impl tower_lsp_server::ls_types::notification::Notification for PairedEvent {
    type Params = Event;
    const METHOD: &'static str = "paired/event";
}

impl Proxy {
    /// Passes a run or session event on to an editor that shows them (an agent panel).
    async fn to_panel(&self, event: &Event) {
        if !self.events_wanted.load(Ordering::Relaxed) {
            return;
        }
        if let Some(editor) = self.editor.get() {
            editor.send_notification::<PairedEvent>(event.clone()).await;
        }
    }

    /// Hands a workflow event to the command that started the session.
    fn to_session(&self, event: Event) {
        let id = match &event {
            Event::SessionUpdate { session_id, .. } | Event::Choice { session_id, .. } => session_id.clone(),
            _ => return,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        // A command the editor cancelled no longer listens: forget it.
        if sessions.get(&id).is_some_and(|sender| sender.send(event).is_err()) {
            sessions.remove(&id);
        }
    }

    async fn begin_progress(
        &self,
        title: String,
    ) -> Option<tower_lsp_server::OngoingProgress<tower_lsp_server::Unbounded, tower_lsp_server::NotCancellable>> {
        let editor = self.editor.get()?;
        let token = tower_lsp_server::ls_types::NumberOrString::String(format!(
            "paired-run-{}",
            self.mirror().seq.wrapping_add(std::process::id() as u64)
        ));
        let create = editor.send_request::<tower_lsp_server::ls_types::request::WorkDoneProgressCreate>(
            tower_lsp_server::ls_types::WorkDoneProgressCreateParams { token: token.clone() },
        );
        if !matches!(tokio::time::timeout(Duration::from_secs(2), create).await, Ok(Ok(()))) {
            return None;
        }
        Some(editor.progress(token, title).begin().await)
    }

    /// Puts a workflow's conflict to the user and passes on the answer; no
    /// answer (the message dismissed) leaves it to the workflow's fallback.
    async fn ask_user(
        &self,
        session_id: &str,
        conflict_id: &str,
        question: String,
        options: Vec<String>,
        after_seq: u64,
    ) {
        let Some(editor) = self.editor.get() else { return };
        let actions: Vec<tower_lsp_server::ls_types::MessageActionItem> = options
            .iter()
            .map(|o| tower_lsp_server::ls_types::MessageActionItem { title: o.clone(), properties: HashMap::new() })
            .collect();
        let answer = editor.show_message_request(MessageType::INFO, format!("PAIRED: {question}"), Some(actions)).await;
        let Ok(Some(chosen)) = answer else { return };
        let Some(choice) = options.iter().position(|o| *o == chosen.title) else { return };
        let decide = serde_json::json!({ "session_id": session_id, "conflict_id": conflict_id, "choice": choice });
        if let Err(err) = self.forward("sessions/decide", Some(decide), after_seq).await {
            tracing::warn!("cannot pass on the user's choice: {err}");
        }
    }

    async fn after_run(&self, run: &Value) {
        let Some(editor) = self.editor.get() else { return };
        let agent = run["agent"].as_str().unwrap_or("agent");
        let source = capitalised(agent);
        let mut found = agents::diagnostics(run, &source);
        // A clean run clears what the agent reported on its document before.
        if let Some(uri) = run["uri"].as_str() {
            found.entry(uri.to_owned()).or_default();
        }
        for (uri, diagnostics) in found {
            let all: Vec<Value> = {
                let mut published = self.agent_diagnostics.lock().unwrap_or_else(|p| p.into_inner());
                let by_agent = published.entry(uri.clone()).or_default();
                by_agent.insert(source.clone(), diagnostics);
                by_agent.values().flatten().cloned().collect()
            };
            let params = serde_json::json!({ "uri": uri, "diagnostics": all });
            match serde_json::from_value::<tower_lsp_server::ls_types::PublishDiagnosticsParams>(params) {
                Ok(params) => {
                    editor
                        .send_notification::<tower_lsp_server::ls_types::notification::PublishDiagnostics>(params)
                        .await
                }
                Err(err) => tracing::warn!("cannot publish {source}'s diagnostics for {uri}: {err}"),
            }
        }
        let edits: Vec<Value> = run["edits"].as_array().cloned().unwrap_or_default();
        if !edits.is_empty() {
            match serde_json::from_value::<tower_lsp_server::ls_types::WorkspaceEdit>(agents::workspace_edit(&edits)) {
                Ok(edit) => {
                    if let Err(err) = editor.apply_edit(edit).await {
                        tracing::warn!("the editor did not apply {source}'s edit: {err}");
                    }
                }
                Err(err) => tracing::warn!("cannot express {source}'s edit: {err}"),
            }
        }
        editor.show_message(MessageType::INFO, agents::summary(run, &source)).await;
    }
}

pub(crate) use crate::services::workspace::unfit_root;

/// Requests that start work (or answer a question) must not be sent twice.
fn repeatable(method: &str) -> bool {
    !matches!(method, "agents/run" | "workflows/run" | "sessions/resume" | "sessions/decide")
}

fn capitalised(id: &str) -> String {
    let mut chars = id.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// LSP `SymbolKind` numbers for the context engine's kinds.
fn lsp_symbol_kind(kind: &str) -> u32 {
    match kind {
        "module" => 2,
        "class" => 5,
        "method" => 6,
        "enum" => 10,
        "interface" => 11,
        "function" | "macro" => 12,
        "constant" => 14,
        "impl" => 19,
        "struct" => 23,
        "type" => 26,
        _ => 13,
    }
}

/// `context/outline` → `DocumentSymbol[]`.
fn to_document_symbols(outline: Value) -> Value {
    fn convert(symbol: &Value) -> Value {
        let children: Vec<Value> =
            symbol["children"].as_array().map(|c| c.iter().map(convert).collect()).unwrap_or_default();
        serde_json::json!({
            "name": symbol["name"],
            "detail": symbol["signature"],
            "kind": lsp_symbol_kind(symbol["kind"].as_str().unwrap_or("")),
            "range": symbol["range"],
            "selectionRange": symbol["selection_range"],
            "children": children,
        })
    }
    Value::Array(outline["symbols"].as_array().map(|s| s.iter().map(convert).collect()).unwrap_or_default())
}

/// `context/symbols` → `SymbolInformation[]`.
fn to_symbol_information(matches: Value) -> Value {
    let convert = |m: &Value| {
        let mut info = serde_json::json!({
            "name": m["name"],
            "kind": lsp_symbol_kind(m["kind"].as_str().unwrap_or("")),
            "location": {
                "uri": m["uri"],
                "range": {
                    "start": { "line": m["line"], "character": 0 },
                    "end": { "line": m["end_line"], "character": 0 },
                },
            },
        });
        if let Some(container) = m["container"].as_str() {
            info["containerName"] = Value::from(container);
        }
        info
    };
    Value::Array(matches.as_array().map(|m| m.iter().map(convert).collect()).unwrap_or_default())
}

/// The tower `Service` in front of tower-lsp-server's: see the module docs.
struct Front<S> {
    inner: S,
    proxy: Arc<Proxy>,
}

impl<S> tower::Service<Request> for Front<S>
where
    S: tower::Service<Request, Response = Option<Response>, Error = ExitedError>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = ExitedError;
    type Future = BoxFuture<'static, Result<Option<Response>, ExitedError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ExitedError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let method = request.method().to_owned();
        let id = request.id().cloned();
        let span = tracing::info_span!("lsp", method = %method, id = ?id.as_ref().map(ToString::to_string));
        let initialized = self.proxy.initialized.load(Ordering::Acquire);
        match method.as_str() {
            "textDocument/didOpen" | "textDocument/didChange" | "textDocument/didClose" if initialized => {
                let _entered = span.enter();
                let (_, _, params) = request.into_parts();
                self.proxy.document_notification(&method, params);
                futures::future::ready(Ok(None)).boxed()
            }
            MALFORMED => {
                let Some(id) = id else { return futures::future::ready(Ok(None)).boxed() };
                let params = request.params().cloned().unwrap_or(Value::Null);
                let error = jsonrpc::Error {
                    code: ErrorCode::from(params["code"].as_i64().unwrap_or(-32700)),
                    message: params["message"].as_str().unwrap_or("Parse error").to_owned().into(),
                    data: None,
                };
                futures::future::ready(Ok(Some(Response::from_error(id, error)))).boxed()
            }
            "$/cancelRequest" => {
                self.proxy.cancel(request.params());
                self.inner.call(request).instrument(span).boxed()
            }
            "textDocument/documentSymbol" | "workspace/symbol" => {
                let Some(id) = id else { return futures::future::ready(Ok(None)).boxed() };
                let (_, _, params) = request.into_parts();
                let params = params.unwrap_or(Value::Null);
                let (daemon_method, daemon_params, convert): (&'static str, Value, fn(Value) -> Value) =
                    if method == "workspace/symbol" {
                        let query = params["query"].as_str().unwrap_or("").to_owned();
                        ("context/symbols", serde_json::json!({ "query": query, "limit": 200 }), to_symbol_information)
                    } else {
                        let uri = params["textDocument"]["uri"].clone();
                        ("context/outline", serde_json::json!({ "uri": uri }), to_document_symbols)
                    };
                self.forward_request(id, daemon_method, Some(daemon_params), convert, initialized, span)
            }
            "textDocument/codeAction" => {
                let Some(id) = id else { return futures::future::ready(Ok(None)).boxed() };
                let (_, _, params) = request.into_parts();
                let params = params.unwrap_or(Value::Null);
                let proxy = self.proxy.clone();
                let after_seq = self.proxy.mirror().seq;
                let work = async move {
                    let agents = proxy.forward("agents/list", Some(serde_json::json!({})), after_seq).await?;
                    Ok(agents::code_actions(&agents, &params))
                }
                .boxed();
                self.answer_with(id, work, initialized, span)
            }
            "workspace/executeCommand" => {
                let Some(id) = id else { return futures::future::ready(Ok(None)).boxed() };
                let (_, _, params) = request.into_parts();
                let params = params.unwrap_or(Value::Null);
                if params["command"] == agents::RUN_WORKFLOW {
                    return self.run_workflow_command(id, params, initialized, span);
                }
                if params["command"] != agents::RUN_AGENT {
                    let error = jsonrpc::Error::invalid_params(format!(
                        "unknown command {}; PAIRED has {} and {}",
                        params["command"],
                        agents::RUN_AGENT,
                        agents::RUN_WORKFLOW
                    ));
                    return futures::future::ready(Ok(Some(Response::from_error(id, error)))).boxed();
                }
                self.run_agent_command(id, params, initialized, span)
            }
            name if self.proxy.forwarded.contains(&name) => {
                let Some(id) = id else {
                    return futures::future::ready(Ok(None)).boxed(); // a notification: nothing to answer
                };
                let (_, _, params) = request.into_parts();
                let method: &'static str = self.proxy.forwarded.iter().copied().find(|m| *m == method).unwrap_or("");
                self.forward_request(id, method, params, |v| v, initialized, span)
            }
            _ => self.inner.call(request).instrument(span).boxed(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_sizes_count_json_escapes() {
        assert_eq!(super::json_string_bytes("a\"\\\n\u{1}é"), 2 + 1 + 2 + 2 + 2 + 6 + 2);
        let text = "\"".repeat(1000);
        assert_eq!(super::over_limit("file:///a", &text, 1_000_000), None);
        let bytes = super::over_limit("file:///a", &text, 2000).expect("over");
        assert_eq!(bytes, super::ENVELOPE_BYTES + 11 + 2002);
    }

    #[test]
    fn only_requests_that_start_nothing_are_retried_after_a_dropped_connection() {
        for method in ["context/build", "documents/get", "sessions/get", "runs/get", "agents/list"] {
            assert!(super::repeatable(method), "{method}");
        }
        for method in ["agents/run", "workflows/run", "sessions/resume", "sessions/decide"] {
            assert!(!super::repeatable(method), "{method}");
        }
    }
}
