//! The bridge's state: the instances (1.0 clients, connected over WebSocket or
//! registered over HTTP) with what they reach, the daemon's token, and what
//! every answer is made of (timestamps, `ERROR` frames).

use std::{
    collections::{BTreeSet, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard, atomic::AtomicU64},
    time::Instant,
};

use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

use crate::{server::daemon::Daemon, services::roster::Agent};

pub(super) const TOKEN_HINT: &str = "the token is the daemon's, in the file its discovery file names (`~/.local/state/paired/token`): connect to ws://127.0.0.1:7890/?token=<token>, send `Authorization: Bearer <token>`, or put `token` in a WebSocket message";

/// What `daemon/status` says of the bridge: its port and who is connected.
/// The daemon holds the bridge weakly, as a front it does not own.
impl crate::server::daemon::FrontReport for Bridge {
    fn bridge_1x(&self) -> protocol::daemon::BridgeReport {
        let instances = self.instances();
        let projects: BTreeSet<String> =
            instances.values().filter_map(|i| i.project.as_ref()).map(|p| p.display().to_string()).collect();
        protocol::daemon::BridgeReport {
            port: self.port,
            connections: instances.values().filter(|i| i.outbox.is_some()).count() as u32,
            instances: instances.len() as u32,
            projects: projects.into_iter().collect(),
            require_token: self.daemon.config.bridge.require_token,
        }
    }
}

pub(super) struct Instance {
    /// The project it works in (canonical), 1.0's `projectPath`.
    pub(super) project: Option<PathBuf>,
    /// Every project it connected with (canonical): what it may reach without a token.
    pub(super) connected: BTreeSet<PathBuf>,
    /// It sent the daemon's token: it reaches what the user can.
    pub(super) trusted: bool,
    pub(super) last_activity_ms: u64,
    pub(super) message_count: u64,
    /// Frames to this connection (context shared by another instance); `None`
    /// for an instance registered over HTTP.
    pub(super) outbox: Option<mpsc::Sender<Value>>,
    /// Context the editor sent (`WINDSURF_CONTEXT`, `CONTEXT_UPDATE`), and its size as text.
    pub(super) context: Option<(Value, usize)>,
}

impl Instance {
    pub(super) fn new(trusted: bool, outbox: Option<mpsc::Sender<Value>>) -> Instance {
        Instance {
            project: None,
            connected: BTreeSet::new(),
            trusted,
            last_activity_ms: now_ms(),
            message_count: 0,
            outbox,
            context: None,
        }
    }

    /// Whether `other` is visible to this instance (`get_instances`) and may
    /// receive its shared context: with a token, every one; without, those
    /// working in a project this one connected with.
    pub(super) fn sees(&self, other: &Instance) -> bool {
        self.trusted || other.project.as_ref().is_some_and(|p| self.connected.contains(p))
    }
}

pub(super) struct Bridge {
    pub(super) daemon: Arc<Daemon>,
    pub(super) port: u16,
    pub(super) started: Instant,
    pub(super) next_instance: AtomicU64,
    pub(super) instances: Mutex<HashMap<String, Instance>>,
    /// Agents registered over `POST /register-agent` (1.0's external agents).
    pub(super) registered: Mutex<Vec<Value>>,
    /// The daemon's token (its 0600 file): a 1.0 client that sends it reaches
    /// what the user can. `None` if it could not be read.
    pub(super) token: Option<String>,
}

/// What one request may reach: every file the user can (a token), or the
/// files of the projects its connection connected with.
pub(super) struct Reach {
    pub(super) trusted: bool,
    pub(super) projects: BTreeSet<PathBuf>,
}

/// Whether the request came with the daemon's token (set by the guard, [`super::listen`]).
#[derive(Clone, Copy)]
pub(super) struct Trusted(pub(super) bool);

pub(super) enum Presented {
    Nothing,
    Valid,
    Wrong,
}

impl Bridge {
    pub(super) fn instances(&self) -> MutexGuard<'_, HashMap<String, Instance>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn check_token(&self, presented: Option<&str>) -> Presented {
        match (presented, &self.token) {
            (None, _) => Presented::Nothing,
            (Some(token), Some(expected)) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => {
                Presented::Valid
            }
            (Some(_), _) => Presented::Wrong,
        }
    }
}

/// Removes a connection's instance (its stored context, its outbox) and stops
/// its writer when the connection ends: closed, reset, or its task dropped.
pub(super) struct Registered {
    pub(super) bridge: Arc<Bridge>,
    pub(super) id: String,
    pub(super) writer: tokio::task::JoinHandle<()>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.bridge.instances().remove(&self.id);
        self.writer.abort();
    }
}

pub(super) use crate::platform::clock::now_ms;

pub(super) fn timestamp() -> String {
    // RFC 3339 in UTC, as 1.0's `new Date().toISOString()`.
    let ms = now_ms();
    let (secs, millis) = (ms / 1000, ms % 1000);
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
}

pub(super) fn text<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| value[*k].as_str()).filter(|s| !s.trim().is_empty())
}

/// The size of context kept for an instance, as its text.
pub(super) fn stored_bytes(context: &Value) -> usize {
    match context {
        Value::String(s) => s.len(),
        other => other.to_string().len(),
    }
}

pub(super) fn agent_json(agent: &Agent) -> Value {
    let info = agent.info();
    json!({ "id": info.id, "name": info.display_name, "emoji": info.emoji, "role": agent.manifest.metadata.role })
}

/// An `ERROR` frame: 1.0's bridge put the text in `message` (which 1.0's
/// paired-bridge-connect.sh prints) and the cause in `error`; both carry it.
pub(super) fn error(message: &str) -> Value {
    json!({ "type": "ERROR", "error": message, "message": message, "timestamp": timestamp() })
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_iso_8601_utc() {
        let stamp = super::timestamp();
        assert_eq!(stamp.len(), 24, "{stamp}");
        assert!(stamp.starts_with("20") && stamp.ends_with('Z') && &stamp[10..11] == "T", "{stamp}");
    }
}
