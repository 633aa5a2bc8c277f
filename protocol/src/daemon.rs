//! `daemon/*`: the daemon as a whole.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Method, NoParams, client::ClientKind};

/// `daemon/status`: what the daemon is and who is using it.
pub struct Status;
impl Method for Status {
    const NAME: &'static str = "daemon/status";
    const SUMMARY: &'static str =
        "Version, uptime, connected clients by kind, open documents, workspaces, agents and the PAIRED 1.0 bridge.";
    type Params = NoParams;
    type Result = StatusWithBridge;
}

/// `daemon/status`'s result: the daemon's own report and, beside its fields
/// on the wire, the PAIRED 1.0 bridge's. (Two types because the daemon's
/// state builds the first and the bridge, which it does not own, the second.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "StatusReport")]
pub struct StatusWithBridge {
    #[serde(flatten)]
    pub daemon: StatusReport,
    /// The PAIRED 1.0 bridge, when the daemon serves it (`compat.bridge_1x`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_1x: Option<BridgeReport>,
}

/// What the daemon reports of itself (flattened into [`StatusWithBridge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "DaemonReport")]
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
    /// Sections of the user's `config.toml` changed since the daemon started
    /// that apply only after a restart (`[market]` applies at once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_needed: Vec<String>,
    /// How long anything held one of the async runtime's workers at a time.
    #[serde(default)]
    pub runtime: RuntimeReport,
}

/// The daemon's async runtime: every request, connection and task of the
/// daemon is polled through a timer. A long poll is work that kept a worker from
/// other clients' requests for that long.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RuntimeReport {
    /// The longest single poll since the daemon started, in microseconds.
    pub longest_poll_us: u64,
    /// What made polls of 1 ms or more, longest first (at most 10).
    pub slow_polls: Vec<SlowPoll>,
    /// How long requests took in the daemon, from their first poll to their
    /// reply (waits for a turn, the blocking pool or the CPU included), by
    /// method, slowest p99 first (at most 10). Older daemons do not send it.
    #[serde(default)]
    pub requests: Vec<RequestTimes>,
}

/// A method's requests since the daemon started, each value within 12.5 %.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RequestTimes {
    /// A method's name (`agents/list`), or `documents/sync (keystroke)`: the
    /// `documents/sync` requests whose params are at most 4 KiB, apart from bursts.
    pub name: String,
    pub count: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub longest_us: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlowPoll {
    /// A method's name (`documents/sync`, `documents/sync (keystroke)`), `connection`, or a task's name.
    pub name: String,
    pub longest_us: u64,
    /// The most CPU time one of its polls used: far below `longest_us`, the
    /// long poll waited (blocking IO, a lock, or the OS ran other threads).
    pub most_cpu_us: u64,
    /// Of its polls of 1 ms or more, those during which the worker blocked
    /// (waited on a contended lock, blocking IO or a sleep), and the longest
    /// of those. A few short ones are the kernel's (a page fault waiting on
    /// the memory map's lock); a long one is a handler waiting.
    pub blocked: u64,
    pub longest_blocked_us: u64,
    pub over_1ms: u64,
    pub over_10ms: u64,
}

/// The PAIRED 1.0 bridge: where it listens and who is connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BridgeReport {
    /// Port on 127.0.0.1 (1.0 clients expect 7890).
    pub port: u16,
    /// Open 1.0 WebSocket connections.
    pub connections: u32,
    /// 1.0 instances: the connections and those registered over HTTP.
    pub instances: u32,
    /// Projects the instances work in (their `projectPath`), deduplicated.
    pub projects: Vec<String>,
    /// Whether every 1.0 client must send the daemon's token (`bridge.require_token`).
    pub require_token: bool,
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
