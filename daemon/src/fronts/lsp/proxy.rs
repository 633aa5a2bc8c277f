//! The proxy's state, shared by its parts: the editor's documents (the mirror)
//! and the operations queued for the daemon, the daemon connection, and what is
//! in flight for the editor.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, MutexGuard, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::stream::AbortHandle;
use jsonrpsee::ws_client::WsClient;
use protocol::client::{ClientHello, Event};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tower_lsp_server::Client;

use super::packed::Packed;
use crate::{platform::paths::Paths, services::documents::Documents};

/// How long an automatic completion request waits when the editor names no
/// `paired.completion.debounceMs`.
const COMPLETION_DEBOUNCE_MS: u64 = 50;

pub(super) struct Proxy {
    pub(super) paths: Paths,
    /// The largest request the daemon takes, in bytes: the default until the
    /// daemon says (`attached`).
    request_limit: AtomicUsize,
    /// What to tell the user once the editor is ready: roots `initialize` named
    /// that are no project folders, unknown `PAIRED_*` variables.
    pub(super) notices: Mutex<Vec<String>>,
    pub(super) forwarded: Vec<&'static str>,
    pub(super) mirror: Mutex<Mirror>,
    /// Document notifications read off the editor's input, waiting for their turn.
    pub(super) incoming: super::incoming::Incoming,
    pub(super) ops: mpsc::UnboundedSender<DocOp>,
    /// The live daemon connection, `None` while (re)connecting.
    pub(super) connection: watch::Sender<Option<Arc<WsClient>>>,
    /// Document operations up to this number are already in the daemon (replayed).
    pub(super) replayed_through: AtomicU64,
    /// Document operations up to this number have been applied by the daemon;
    /// a forwarded request waits for the edits that came before it.
    pub(super) sent_through: watch::Sender<u64>,
    pub(super) hello: OnceLock<ClientHello>,
    /// The editor has `initialize`'s answer (`initialized`): time to connect.
    pub(super) connect_now: tokio::sync::Notify,
    pub(super) editor: OnceLock<Client>,
    pub(super) pending: Mutex<HashMap<String, AbortHandle>>,
    /// Agent runs started for editor requests: request key → run id, so that
    /// `$/cancelRequest` also cancels the run in the daemon.
    pub(super) runs: Mutex<HashMap<String, String>>,
    /// Workflow sessions started by this editor: session id → where their
    /// updates and questions go.
    pub(super) sessions: Mutex<HashMap<String, mpsc::UnboundedSender<Event>>>,
    /// Diagnostics published for agents' findings: uri → agent → diagnostics.
    pub(super) agent_diagnostics: Mutex<HashMap<String, HashMap<String, Vec<Value>>>>,
    /// Inline completions: the newest request per document, and those the daemon has.
    pub(super) completions: Mutex<CompletionRequests>,
    /// How long an automatic completion request waits for the next keystroke.
    pub(super) completion_debounce_ms: AtomicU64,
    /// The user was told completions have no model (once).
    pub(super) told_completion_unavailable: AtomicBool,
    /// The editor has no inline completions (Helix, Neovim before 0.12 without
    /// paired.lua, Emacs…): the model's completion goes in its completion menu.
    pub(super) completion_menu: AtomicBool,
    /// The editor reviews change-annotated edits before applying them
    /// (`workspace.workspaceEdit.changeAnnotationSupport`).
    pub(super) edit_review: AtomicBool,
    pub(super) initialized: AtomicBool,
    pub(super) shutdown_requested: AtomicBool,
    /// The editor asked for the daemon's run and session events as
    /// `paired/event` notifications (`initializationOptions.paired.events`),
    /// for an agent panel.
    pub(super) events_wanted: AtomicBool,
    /// Test hook (`PAIRED_TEST_LOSE_STEP_UPDATES=1` with the test hooks on):
    /// a session's step updates never reach the command following it, as when
    /// they came before it listened.
    pub(super) lose_step_updates: bool,
}

impl Proxy {
    /// A proxy not yet initialized by its editor nor connected to the daemon.
    pub(super) fn new(
        paths: Paths,
        request_limit: usize,
        notices: Vec<String>,
        forwarded: Vec<&'static str>,
        ops: mpsc::UnboundedSender<DocOp>,
    ) -> Proxy {
        Proxy {
            paths,
            request_limit: AtomicUsize::new(request_limit),
            notices: Mutex::new(notices),
            forwarded,
            mirror: Mutex::default(),
            incoming: super::incoming::Incoming::default(),
            ops,
            connection: watch::channel(None).0,
            replayed_through: AtomicU64::new(0),
            sent_through: watch::channel(0).0,
            hello: OnceLock::new(),
            connect_now: tokio::sync::Notify::new(),
            editor: OnceLock::new(),
            pending: Mutex::default(),
            agent_diagnostics: Mutex::default(),
            runs: Mutex::default(),
            sessions: Mutex::default(),
            completions: Mutex::default(),
            completion_debounce_ms: AtomicU64::new(COMPLETION_DEBOUNCE_MS),
            told_completion_unavailable: AtomicBool::new(false),
            completion_menu: AtomicBool::new(false),
            edit_review: AtomicBool::new(false),
            initialized: AtomicBool::new(false),
            shutdown_requested: AtomicBool::new(false),
            events_wanted: AtomicBool::new(false),
            lose_step_updates: false,
        }
    }
}

#[derive(Default)]
pub(super) struct CompletionRequests {
    /// uri → the key of the newest request for it.
    pub(super) latest: HashMap<String, String>,
    /// Keys of requests the daemon is working on.
    pub(super) forwarded: HashSet<String>,
}

#[derive(Default)]
pub(super) struct Mirror {
    /// Compressed but for the one the editor last changed ([`Packed`]).
    pub(super) documents: Documents<Packed>,
    /// The document the editor last opened or changed: kept plain.
    pub(super) hot: Option<String>,
    /// Number of the last document operation taken from the editor.
    pub(super) seq: u64,
    /// Documents held here only: too large for the daemon.
    pub(super) held: HashSet<String>,
    /// Documents the user was told about (once each).
    pub(super) told: HashSet<String>,
    /// Documents whose replay lost the daemon connection, and how often.
    pub(super) replay_failures: HashMap<String, u32>,
}

pub(super) struct DocOp {
    pub(super) seq: u64,
    pub(super) kind: DocOpKind,
}

pub(super) use super::incoming::DocOpKind;

impl Proxy {
    /// The largest request the daemon takes, in bytes.
    pub(super) fn request_limit(&self) -> usize {
        self.request_limit.load(Ordering::Relaxed)
    }

    /// The daemon said what it takes (each connection may be to a new daemon).
    pub(super) fn set_request_limit(&self, bytes: u64) {
        self.request_limit.store(usize::try_from(bytes).unwrap_or(usize::MAX), Ordering::Relaxed);
    }

    pub(super) fn mirror(&self) -> MutexGuard<'_, Mirror> {
        self.mirror.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets `stale` if it is still the current connection (a newer one may
    /// already have replaced it).
    pub(super) fn drop_connection(&self, stale: &Arc<WsClient>) {
        self.connection.send_if_modified(|current| {
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, stale)) {
                *current = None;
                true
            } else {
                false
            }
        });
    }

    pub(super) fn mark_sent(&self, seq: u64) {
        self.sent_through.send_if_modified(|sent| {
            let newer = seq > *sent;
            if newer {
                *sent = seq;
            }
            newer
        });
    }

    pub(super) async fn connected(&self, limit: Duration) -> Option<Arc<WsClient>> {
        let mut rx = self.connection.subscribe();
        let wait = rx.wait_for(Option::is_some);
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(connection)) => connection.clone(),
            _ => None,
        }
    }
}

impl Mirror {
    /// After an operation on `uri` (or a change to it that failed): only a
    /// change moves which document is kept plain, and the one changed before
    /// it is compressed. An opened document (an editor opens files to peek at
    /// them) is compressed at once; closing another leaves the one being
    /// edited as it is.
    pub(super) fn settle(&mut self, uri: &str, kind: Settle) {
        let hot = self.hot.as_deref() == Some(uri);
        match kind {
            Settle::Changed if !hot => {
                if let Some(before) = self.hot.take()
                    && let Some(buffer) = self.documents.buffer_mut(&before)
                {
                    buffer.pack();
                }
                self.hot = Some(uri.to_owned());
            }
            Settle::Opened | Settle::Failed if !hot => {
                if let Some(buffer) = self.documents.buffer_mut(uri) {
                    buffer.pack();
                }
            }
            Settle::Closed if hot => self.hot = None,
            _ => {}
        }
    }
}

/// What happened to a document, for [`Mirror::settle`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    Opened,
    Changed,
    Closed,
    /// A change the mirror refused (its version, its ranges).
    Failed,
}

impl DocOpKind {
    pub(super) fn uri(&self) -> &str {
        match self {
            DocOpKind::Open(params) => &params.uri,
            DocOpKind::Change(params) => &params.uri,
            DocOpKind::Close(uri) => uri,
        }
    }

    /// The editor's notification this is.
    pub(super) fn method(&self) -> &'static str {
        match self {
            DocOpKind::Open(_) => "textDocument/didOpen",
            DocOpKind::Change(_) => "textDocument/didChange",
            DocOpKind::Close(_) => "textDocument/didClose",
        }
    }
}
