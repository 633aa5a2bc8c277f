//! `client/*`: a client announces itself and receives the daemon's events.
//!
//! Attaching is a WebSocket subscription so that the daemon learns of a client's
//! departure the moment its connection closes, however it went away.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Subscription;

/// `client/attach`: announce a client and stream [`Event`]s to it as
/// `client/event` notifications until `client/detach` or the connection closes.
pub struct Attach;
impl Subscription for Attach {
    const SUBSCRIBE: &'static str = "client/attach";
    const NOTIFICATION: &'static str = "client/event";
    const UNSUBSCRIBE: &'static str = "client/detach";
    const SUMMARY: &'static str = "Announce this client and receive the daemon's events.";
    type Params = ClientHello;
    type Item = Event;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// A `paired lsp` process serving one editor window.
    Lsp,
    /// The `paired` command line.
    Cli,
    /// An ACP client (JetBrains, Zed, Neovim plugins).
    Acp,
    /// A PAIRED 1.0 bridge client.
    Bridge,
    /// Anything else speaking JSON-RPC.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClientHello {
    pub kind: ClientKind,
    /// Free-form client name, e.g. the editor's `clientInfo.name`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Process id of the client, for diagnostics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Workspace folder URIs the client has open.
    #[serde(default)]
    pub workspace_folders: Vec<String>,
    /// The event types this client is sent (`run_update`, `index_progress`…;
    /// `attached` always): every type when absent. An editor that names what
    /// it uses is not sent every other editor's document events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
}

impl ClientHello {
    /// Whether this client is sent `event`.
    pub fn wants(&self, event: &Event) -> bool {
        matches!(event, Event::Attached { .. })
            || self.events.as_ref().is_none_or(|kinds| kinds.iter().any(|k| k == event.kind()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Always the first event: the id the daemon gave this client, and the
    /// largest request it takes (`server.max_request_bytes`), so a front can
    /// keep its requests within it (absent from daemons before 2.0.0-alpha.2).
    Attached {
        client_id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_request_bytes: Option<u64>,
    },
    ClientAttached {
        client_id: u64,
        kind: ClientKind,
        name: String,
    },
    ClientDetached {
        client_id: u64,
        kind: ClientKind,
    },
    DocumentOpened {
        uri: String,
    },
    DocumentClosed {
        uri: String,
    },
    /// The daemon is stopping; reconnect later (an LSP proxy restarts it on demand).
    ShuttingDown {
        reason: String,
    },
    /// Indexing of a workspace folder: `done` files of `total` so far.
    IndexProgress {
        root: String,
        done: u32,
        total: u32,
        finished: bool,
    },
    /// Something the user should know about a workspace's index, such as falling
    /// back to polling when the OS ran out of file watches.
    IndexWarning {
        root: String,
        message: String,
    },
    /// A run changed status or produced output.
    RunUpdate {
        run_id: String,
        agent: String,
        status: crate::agents::RunStatus,
        /// What happened, for a progress line ("reviewing src/lib.rs").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// New output since the last update.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output_delta: Option<String>,
    },
    /// An edit a model is still writing (its `propose_edit` call streaming), to
    /// be shown as it comes: `text` continues what earlier events of the same
    /// run and `call` began, the replacement of `range` in `uri`. Nothing is
    /// applied: the run's `edits`, when it ends, are what the user reviews.
    RunEdit {
        run_id: String,
        agent: String,
        /// Which of the run's tool calls this is ("round.index").
        call: String,
        uri: String,
        range: crate::documents::Range,
        text: String,
    },
    /// A workflow session moved: a step started or finished, a conflict was
    /// resolved, or the session ended.
    SessionUpdate {
        session_id: String,
        workflow: String,
        status: crate::workflows::SessionStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<Box<crate::workflows::StepRecord>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A marketplace install moving on: `phase` is `resolve`, `download`,
    /// `verify`, `extract` or `activate`; `done`/`total` in bytes while downloading.
    MarketProgress {
        name: String,
        phase: String,
        done: u64,
        total: u64,
    },
    /// A workflow asks the user to settle a conflict: answer with `sessions/decide`.
    Choice {
        session_id: String,
        conflict_id: String,
        question: String,
        options: Vec<String>,
    },
}

impl Event {
    /// Every event's `type`.
    pub const KINDS: [&'static str; 13] = [
        "attached",
        "client_attached",
        "client_detached",
        "document_opened",
        "document_closed",
        "shutting_down",
        "index_progress",
        "index_warning",
        "run_update",
        "run_edit",
        "session_update",
        "market_progress",
        "choice",
    ];

    /// The event's `type`, as it is serialized.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Attached { .. } => "attached",
            Event::ClientAttached { .. } => "client_attached",
            Event::ClientDetached { .. } => "client_detached",
            Event::DocumentOpened { .. } => "document_opened",
            Event::DocumentClosed { .. } => "document_closed",
            Event::ShuttingDown { .. } => "shutting_down",
            Event::IndexProgress { .. } => "index_progress",
            Event::IndexWarning { .. } => "index_warning",
            Event::RunUpdate { .. } => "run_update",
            Event::RunEdit { .. } => "run_edit",
            Event::SessionUpdate { .. } => "session_update",
            Event::MarketProgress { .. } => "market_progress",
            Event::Choice { .. } => "choice",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_daemons_attached_event_still_reads() {
        let old: Event = serde_json::from_str(r#"{"type":"attached","client_id":7}"#).expect("attached");
        assert_eq!(old, Event::Attached { client_id: 7, max_request_bytes: None });
        let new = serde_json::to_value(Event::Attached { client_id: 7, max_request_bytes: Some(1024) }).expect("json");
        assert_eq!(new, serde_json::json!({"type": "attached", "client_id": 7, "max_request_bytes": 1024}));
    }

    #[test]
    fn an_events_kind_is_its_serialized_type_and_a_client_gets_the_kinds_it_names() {
        let events = [
            Event::Attached { client_id: 1, max_request_bytes: Some(1 << 20) },
            Event::DocumentOpened { uri: "file:///a.rs".into() },
            Event::IndexProgress { root: "/a".into(), done: 1, total: 2, finished: false },
            Event::RunUpdate {
                run_id: "r".into(),
                agent: "sherlock".into(),
                status: crate::agents::RunStatus::Running,
                message: None,
                output_delta: None,
            },
            Event::MarketProgress { name: "x".into(), phase: "download".into(), done: 0, total: 0 },
        ];
        for event in &events {
            let json = serde_json::to_value(event).expect("serialize");
            assert_eq!(json["type"], event.kind());
            assert!(Event::KINDS.contains(&event.kind()));
        }
        let mut hello = ClientHello {
            kind: ClientKind::Lsp,
            name: "e".into(),
            version: None,
            pid: None,
            workspace_folders: Vec::new(),
            events: None,
        };
        assert!(events.iter().all(|e| hello.wants(e)), "every kind when none is named");
        hello.events = Some(vec!["run_update".into()]);
        let sent: Vec<&str> = events.iter().filter(|e| hello.wants(e)).map(Event::kind).collect();
        assert_eq!(sent, ["attached", "run_update"]);
    }
}
