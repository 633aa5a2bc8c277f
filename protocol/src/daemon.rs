//! `daemon/*`: the daemon as a whole.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Method, NoParams, client::ClientKind};

/// `daemon/status`: what the daemon is and who is using it.
pub struct Status;
impl Method for Status {
    const NAME: &'static str = "daemon/status";
    const SUMMARY: &'static str = "Version, uptime, connected clients by kind, open documents, workspaces and agents.";
    type Params = NoParams;
    type Result = StatusReport;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusReport {
    /// Version of the `paired` binary running the daemon.
    pub version: String,
    /// [`crate::PROTOCOL_VERSION`] of the daemon.
    pub protocol_version: u32,
    pub pid: u32,
    /// Port the JSON-RPC server listens on (127.0.0.1 only).
    pub port: u16,
    pub uptime_ms: u64,
    /// Attached clients by kind (`lsp`, `cli`, ...). Kinds with none are omitted.
    pub clients: BTreeMap<ClientKind, u32>,
    /// Open WebSocket and HTTP connections, attached or not.
    pub connections: u32,
    pub open_documents: u32,
    /// Workspace folders announced by attached clients, deduplicated.
    pub workspaces: Vec<String>,
    pub agents: Vec<AgentSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentSummary {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// `daemon/shutdown`: stop the daemon gracefully. Attached clients receive a
/// `shutting_down` event first.
pub struct Shutdown;
impl Method for Shutdown {
    const NAME: &'static str = "daemon/shutdown";
    const SUMMARY: &'static str = "Stop the daemon: clients are told, state is flushed, the lock is released.";
    type Params = NoParams;
    type Result = ShutdownReply;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShutdownReply {
    pub pid: u32,
}
