//! The PAIRED 1.0 bridge, for 1.0 clients (the 1.0 editor extension, scripts
//! speaking to `ws://localhost:7890`): the HTTP endpoints and WebSocket message
//! types of 1.0's `cascade-bridge.js`, including those 1.0 announced but never
//! handled, answered by the real agents instead of 1.0's text templates.
//!
//! Off unless `compat.bridge_1x = true` (or `paired daemon --bridge-1x`). It
//! keeps the Host and Origin checks of the daemon's own server, on 127.0.0.1
//! only. Port 7890, or `BRIDGE_PORT`.
//!
//! Reach (issue #14). 1.0 clients send no token, and any local user can connect,
//! so a client without one reaches only files of a project it connected with
//! (`PROJECT_CONNECT`, `projectPath`, the 1.0 extension's `context.workspace.path`)
//! that the user opened too: a workspace an
//! editor registered with the daemon, or a folder listed in `[bridge] projects`.
//! Paths are resolved (symbolic links, `..`) before that check, the project's
//! ignore rules apply, and a refusal reads the same whether or not the file
//! exists. Instances and shared context stay within the projects a connection
//! connected with. A client that sends the daemon's token (`?token=` on the
//! URL, `Authorization: Bearer`, or `token` in a WebSocket message) reaches
//! what the user can; `[bridge] require_token = true` refuses every other one.
//!
//! A connection's state (its instance, stored context, outbox) goes when it
//! closes, however it closes.
//!
//! Both of 1.0's spellings are accepted (`agent` / `targetAgent`, `message` /
//! `content`) and answered (`message` and `content`; `agent` as an object with
//! `name` and `emoji`, which the 1.0 extension reads, plus `agentId`).

use agents::skills::{Scope, Skill};
use std::{
    collections::{BTreeSet, HashMap},
    net::{Ipv4Addr, SocketAddr},
    path::{Component, Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use anyhow::{Context, Result};
use axum::{
    Extension, Json, Router,
    extract::{
        State, WebSocketUpgrade,
        rejection::JsonRejection,
        ws::{Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures::{SinkExt, StreamExt};
use protocol::agents::RunParams;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, watch};

use crate::{server::daemon::Daemon, services::roster::Agent};

/// The port 1.0 clients expect.
pub const DEFAULT_PORT: u16 = 7890;

/// Frames waiting for one connection's writer; context shared with a client
/// that does not read is dropped beyond this, not queued without bound.
const OUTBOX_FRAMES: usize = 16;

/// Instances registered over `POST /register-instance` (no connection closes
/// them): the least recently active goes beyond this many.
const MAX_HTTP_INSTANCES: usize = 256;

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

struct Instance {
    /// The project it works in (canonical), 1.0's `projectPath`.
    project: Option<PathBuf>,
    /// Every project it connected with (canonical): what it may reach without a token.
    connected: BTreeSet<PathBuf>,
    /// It sent the daemon's token: it reaches what the user can.
    trusted: bool,
    last_activity_ms: u64,
    message_count: u64,
    /// Frames to this connection (context shared by another instance); `None`
    /// for an instance registered over HTTP.
    outbox: Option<mpsc::Sender<Value>>,
    /// Context the editor sent (`WINDSURF_CONTEXT`, `CONTEXT_UPDATE`), and its size as text.
    context: Option<(Value, usize)>,
}

impl Instance {
    fn new(trusted: bool, outbox: Option<mpsc::Sender<Value>>) -> Instance {
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
    fn sees(&self, other: &Instance) -> bool {
        self.trusted || other.project.as_ref().is_some_and(|p| self.connected.contains(p))
    }
}

struct Bridge {
    daemon: Arc<Daemon>,
    port: u16,
    started: Instant,
    next_instance: AtomicU64,
    instances: Mutex<HashMap<String, Instance>>,
    /// Agents registered over `POST /register-agent` (1.0's external agents).
    registered: Mutex<Vec<Value>>,
    /// The daemon's token (its 0600 file): a 1.0 client that sends it reaches
    /// what the user can. `None` if it could not be read.
    token: Option<String>,
}

/// What one request may reach: every file the user can (a token), or the
/// files of the projects its connection connected with.
struct Reach {
    trusted: bool,
    projects: BTreeSet<PathBuf>,
}

/// Whether the request came with the daemon's token (set by [`guard`]).
#[derive(Clone, Copy)]
struct Trusted(bool);

enum Presented {
    Nothing,
    Valid,
    Wrong,
}

impl Bridge {
    fn instances(&self) -> MutexGuard<'_, HashMap<String, Instance>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_token(&self, presented: Option<&str>) -> Presented {
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
struct Registered {
    bridge: Arc<Bridge>,
    id: String,
    writer: tokio::task::JoinHandle<()>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.bridge.instances().remove(&self.id);
        self.writer.abort();
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn timestamp() -> String {
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

/// Binds 127.0.0.1:`port` and serves the bridge until the daemon stops.
pub async fn start(daemon: Arc<Daemon>, port: u16) -> Result<u16> {
    let token = match crate::platform::instance::read_token(&daemon.paths.token_file()) {
        Ok(token) => Some(token),
        Err(err) if daemon.config.bridge.require_token => {
            return Err(err.context("bridge.require_token is on, but the daemon's token cannot be read"));
        }
        Err(err) => {
            tracing::warn!("the PAIRED 1.0 bridge cannot accept tokens: {err:#}");
            None
        }
    };
    for folder in &daemon.config.bridge.projects {
        if !folder.is_absolute() || !folder.is_dir() {
            tracing::warn!(
                "key `bridge.projects`: {} is not an absolute path to a folder; 1.0 clients cannot connect to it",
                folder.display()
            );
        }
    }
    if !daemon.config.bridge.require_token {
        tracing::info!(
            "the PAIRED 1.0 bridge answers token-less clients only for projects open in an editor or listed in bridge.projects"
        );
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .with_context(|| format!("cannot serve the PAIRED 1.0 bridge on 127.0.0.1:{port}: is 1.0 still running? Stop it, or set BRIDGE_PORT"))?;
    let port = listener.local_addr()?.port();
    let bridge = Arc::new(Bridge {
        daemon: daemon.clone(),
        port,
        started: Instant::now(),
        next_instance: AtomicU64::new(1),
        instances: Mutex::default(),
        registered: Mutex::default(),
        token,
    });
    daemon.set_bridge(Arc::downgrade(&bridge) as std::sync::Weak<dyn crate::server::daemon::FrontReport>);
    let app = Router::new()
        .route("/", get(upgrade))
        .route("/health", get(health))
        .route("/test-relay", get(test_relay))
        .route("/register-agent", post(register_agent))
        .route("/register-instance", post(register_instance))
        .route("/cascade-intercept", post(cascade_intercept))
        .route("/cli-command", post(cli_command))
        .layer(middleware::from_fn_with_state(bridge.clone(), guard))
        .with_state(bridge);
    // The daemon's own accept loop: idle sockets are capped and timed, running
    // out of descriptors backs off (the bridge shares the daemon's descriptors).
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = daemon.shutdown.subscribe();
    tokio::spawn(async move {
        let _ = shutdown.wait_for(Option::is_some).await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let gate = crate::server::admission::Gate::new(crate::server::admission::Limits::default());
    let accepting = stopped(stop_rx.clone());
    tokio::spawn(crate::server::admission::accept_loop(listener, gate, accepting, move |socket, admission| {
        let ends = match (socket.local_addr(), socket.peer_addr()) {
            (Ok(local), Ok(peer)) => Ends { local, peer },
            _ => return,
        };
        let app = app.clone().layer(Extension(admission.clone())).layer(Extension(ends));
        let stop = stopped(stop_rx.clone());
        tokio::spawn(admission.run(async move {
            if let Err(err) = jsonrpsee::server::serve_with_graceful_shutdown(socket, app, stop).await {
                tracing::debug!("a PAIRED 1.0 bridge connection ended: {err}");
            }
        }));
    }));
    Ok(port)
}

/// The two ends of a bridge connection, for the user check.
#[derive(Debug, Clone, Copy)]
struct Ends {
    local: SocketAddr,
    peer: SocketAddr,
}

/// Kernel socket-table reads at once, at most (each reads the whole table).
static LOOKUPS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Whether the program at the other end of a connection runs as this user
/// (Linux: the kernel's socket table). 1.0 clients send no token, so without
/// this any local user could use the bridge, hold its connections and read
/// what it answers about the user's projects. Asked at a connection's first
/// request, so idle sockets cost nothing, and another user's connection is
/// closed at once, so the table stays small.
async fn same_user(ends: Ends) -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    let _permit = LOOKUPS.acquire().await.map_err(|e| e.to_string())?;
    let mut attempts = 0;
    let uid = loop {
        let lookup = tokio::task::spawn_blocking(move || crate::platform::os::tcp_socket_uid(ends.peer, ends.local))
            .await
            .map_err(|e| e.to_string())?;
        match lookup {
            Ok(uid) => break uid,
            // Out of descriptors to read the table with: the accept loop is
            // making room; asking again soon beats refusing the user.
            Err(err) if crate::platform::os::is_resource_exhaustion(&err) && attempts < 40 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            Err(err) => return Err(err.to_string()),
        }
    };
    if uid == crate::platform::os::current_uid() {
        Ok(())
    } else {
        Err(format!("it comes from another user (uid {uid})"))
    }
}

/// Messages about the bridge itself: a `projectPath` they carry that the
/// client may not connect to is not a reason to refuse them.
const ABOUT_THE_BRIDGE: [&str; 10] = [
    "health_check",
    "HEALTH_CHECK",
    "AGENT_HEALTH",
    "STATUS_CHECK",
    "GET_UPTIME",
    "GET_VERSION",
    "PING",
    "ping",
    "LIST_AGENTS",
    "GET_CONNECTIONS",
];

/// Open WebSocket connections of the bridge at most; one more is refused (503).
const MAX_CONNECTIONS: usize = 256;

const TOKEN_HINT: &str = "the token is the daemon's, in the file its discovery file names (`~/.local/state/paired/token`): connect to ws://127.0.0.1:7890/?token=<token>, send `Authorization: Bearer <token>`, or put `token` in a WebSocket message";

/// The daemon's Host and Origin checks, then the token: a wrong one is
/// refused; none is refused only with `bridge.require_token` (a WebSocket may
/// still send it in a message, so the upgrade goes through).
async fn guard(
    State(bridge): State<Arc<Bridge>>,
    headers: HeaderMap,
    mut request: axum::extract::Request,
    next: Next,
) -> Response {
    if let Err((status, message)) =
        crate::server::transport::check_host_and_origin(&bridge.daemon.config, bridge.port, &headers)
    {
        return (status, Json(json!({ "success": false, "error": message }))).into_response();
    }
    let admission = request.extensions().get::<crate::server::admission::Admission>().cloned();
    if let (Some(ends), false) =
        (request.extensions().get::<Ends>().copied(), admission.as_ref().is_some_and(|a| a.is_authenticated()))
        && let Err(why) = same_user(ends).await
    {
        tracing::debug!("refused a PAIRED 1.0 bridge request: {why}");
        let mut response = (
            StatusCode::FORBIDDEN,
            Json(json!({ "success": false, "error": "the PAIRED 1.0 bridge serves its user's programs only" })),
        )
            .into_response();
        response.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        return response;
    }
    let presented = bearer(&headers).or_else(|| request.uri().query().and_then(query_token));
    let trusted = match bridge.check_token(presented) {
        Presented::Valid => true,
        Presented::Wrong => {
            let error = format!("wrong token; {TOKEN_HINT}");
            return (StatusCode::UNAUTHORIZED, Json(json!({ "success": false, "error": error }))).into_response();
        }
        Presented::Nothing if bridge.daemon.config.bridge.require_token && request.uri().path() != "/" => {
            let error = format!("this bridge requires a token (bridge.require_token); {TOKEN_HINT}");
            return (StatusCode::UNAUTHORIZED, Json(json!({ "success": false, "error": error }))).into_response();
        }
        Presented::Nothing => false,
    };
    // A request that passed the checks: its connection is no longer capped
    // and timed as an idle one.
    if let Some(admission) = request.extensions().get::<crate::server::admission::Admission>() {
        admission.authenticated();
    }
    request.extensions_mut().insert(Trusted(trusted));
    next.run(request).await
}

use crate::server::transport::{bearer, query_token};

fn body(payload: Result<Json<Value>, JsonRejection>) -> Result<Value, (StatusCode, Json<Value>)> {
    payload.map(|Json(v)| v).map_err(|err| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "success": false, "error": format!("the body is not JSON the bridge understands: {err}") })),
        )
    })
}

fn refused(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "success": false, "error": message, "timestamp": timestamp() }))).into_response()
}

fn text<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| value[*k].as_str()).filter(|s| !s.trim().is_empty())
}

async fn health(State(bridge): State<Arc<Bridge>>) -> Json<Value> {
    let (connected, sessions, context_bytes) = {
        let instances = bridge.instances();
        let connected = instances.values().filter(|i| i.outbox.is_some()).count();
        let context_bytes: usize = instances.values().filter_map(|i| i.context.as_ref()).map(|(_, n)| n).sum();
        (connected, instances.len(), context_bytes)
    };
    let team = bridge.daemon.runs.roster().agents.len();
    Json(json!({
        "status": "active",
        "service": "PAIRED 2.0 bridge (1.0 compatible)",
        "version": env!("CARGO_PKG_VERSION"),
        "connectedInstances": connected,
        "activeSessions": sessions,
        "storedContextBytes": context_bytes,
        "alexActive": true,
        "teamAgentsActive": team,
        "uptime": bridge.started.elapsed().as_secs(),
        "timestamp": timestamp(),
    }))
}

/// The size of context kept for an instance, as its text.
fn stored_bytes(context: &Value) -> usize {
    match context {
        Value::String(s) => s.len(),
        other => other.to_string().len(),
    }
}

async fn test_relay(State(bridge): State<Arc<Bridge>>) -> Json<Value> {
    let team: Vec<String> = bridge.daemon.runs.roster().agents.iter().map(|a| a.manifest.id.clone()).collect();
    Json(json!({
        "status": "success",
        "message": "the PAIRED 2.0 daemon relays to its agents",
        "alexActive": true,
        "teamAgents": team,
        "timestamp": timestamp(),
    }))
}

async fn register_agent(State(bridge): State<Arc<Bridge>>, payload: Result<Json<Value>, JsonRejection>) -> Response {
    let value = match body(payload) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    let Some(id) = text(&value, &["agentId"]) else {
        return (StatusCode::BAD_REQUEST, Json(json!({ "success": false, "error": "pass `agentId`" }))).into_response();
    };
    let mut registered = bridge.registered.lock().unwrap_or_else(|p| p.into_inner());
    registered.retain(|a| a["agentId"] != id);
    registered.push(json!({
        "agentId": id,
        "agentName": value["agentName"],
        "capabilities": value["capabilities"],
        "emoji": value["emoji"],
    }));
    let total = registered.len() + bridge.daemon.runs.roster().agents.len();
    Json(json!({ "success": true, "message": format!("agent {id} registered"), "totalAgents": total })).into_response()
}

async fn register_instance(
    State(bridge): State<Arc<Bridge>>,
    Extension(Trusted(trusted)): Extension<Trusted>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    let value = match body(payload) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    let project = match text(&value, &["projectPath"]) {
        Some(path) => match connect(&bridge.daemon, trusted, path).await {
            Ok(root) => Some(root),
            Err(refusal) => return refused(StatusCode::FORBIDDEN, refusal),
        },
        None => None,
    };
    let id = text(&value, &["instanceId"])
        .map(str::to_owned)
        .unwrap_or_else(|| format!("instance-{}", bridge.next_instance.fetch_add(1, Ordering::Relaxed)));
    let mut instances = bridge.instances();
    if instances.get(&id).is_some_and(|i| i.outbox.is_some()) {
        return refused(
            StatusCode::CONFLICT,
            format!("instance {id:?} is a live WebSocket connection; pick another id"),
        );
    }
    if !instances.contains_key(&id) && instances.values().filter(|i| i.outbox.is_none()).count() >= MAX_HTTP_INSTANCES {
        let oldest = instances
            .iter()
            .filter(|(_, i)| i.outbox.is_none())
            .min_by_key(|(_, i)| i.last_activity_ms)
            .map(|(id, _)| id.clone());
        if let Some(oldest) = oldest {
            instances.remove(&oldest);
        }
    }
    let instance = instances.entry(id.clone()).or_insert_with(|| Instance::new(trusted, None));
    if let Some(root) = &project {
        instance.connected.insert(root.clone());
        instance.project = Some(root.clone());
    }
    instance.last_activity_ms = now_ms();
    Json(json!({ "status": "registered", "instanceId": id, "projectPath": project, "timestamp": timestamp() }))
        .into_response()
}

/// The reach of an HTTP request: its own `projectPath`, if the client may
/// connect to it (HTTP has no connection to remember one).
async fn http_reach(bridge: &Bridge, trusted: bool, value: &Value) -> Result<(Reach, Option<PathBuf>), Response> {
    let project = match text(value, &["projectPath"]) {
        Some(path) => {
            Some(connect(&bridge.daemon, trusted, path).await.map_err(|r| refused(StatusCode::FORBIDDEN, r))?)
        }
        None => None,
    };
    Ok((Reach { trusted, projects: project.iter().cloned().collect() }, project))
}

async fn cascade_intercept(
    State(bridge): State<Arc<Bridge>>,
    Extension(Trusted(trusted)): Extension<Trusted>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    let value = match body(payload) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    let Some(message) = text(&value, &["message", "content"]) else {
        return (StatusCode::BAD_REQUEST, Json(json!({ "success": false, "error": "pass `message`" }))).into_response();
    };
    let (reach, project) = match http_reach(&bridge, trusted, &value).await {
        Ok(reach) => reach,
        Err(refusal) => return refusal,
    };
    // To Alex first, as in 1.0: he routes it to the team.
    let routed = agents::skills::route::route(message);
    let agent = routed.first().map(|(agent, _)| agent.clone()).unwrap_or_else(|| "alex".into());
    let asked = Asked { message: message.to_owned(), active: None };
    let (who, response) = match answer(&bridge.daemon, &reach, Some(&agent), &asked, project.as_deref()).await {
        Ok(answered) => answered,
        Err(refusal) => return refused(StatusCode::FORBIDDEN, refusal),
    };
    Json(json!({
        "success": true,
        "routedTo": routed.iter().map(|(a, s)| format!("{a}:{s}")).collect::<Vec<_>>(),
        "agent": who,
        "response": response,
        "timestamp": timestamp(),
    }))
    .into_response()
}

async fn cli_command(
    State(bridge): State<Arc<Bridge>>,
    Extension(Trusted(trusted)): Extension<Trusted>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
    let value = match body(payload) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    let Some(command) = text(&value, &["command"]) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "success": false, "error": "pass `command`, e.g. \"qa:review src/lib.rs\"" })),
        )
            .into_response();
    };
    let (agent, message) = cli_route(command, &value["args"]);
    let (reach, project) = match http_reach(&bridge, trusted, &value).await {
        Ok(reach) => reach,
        Err(refusal) => return refusal,
    };
    let asked = Asked { message, active: None };
    let (who, response) = match answer(&bridge.daemon, &reach, Some(&agent), &asked, project.as_deref()).await {
        Ok(answered) => answered,
        Err(refusal) => return refused(StatusCode::FORBIDDEN, refusal),
    };
    Json(json!({ "success": who.is_some(), "agent": who, "response": response, "timestamp": timestamp() }))
        .into_response()
}

/// A 1.0 CLI command: `qa:<x>`, `arch:<x>`, `sherlock:<x>`…; `task:`,
/// `context:`, `collaborate:` and no prefix go to Alex. The agent, and the
/// message with the string `args` appended.
fn cli_route(command: &str, args: &Value) -> (String, String) {
    let (prefix, rest) = command.split_once(':').unwrap_or(("alex", command));
    let agent = match prefix.trim().to_ascii_lowercase().as_str() {
        "task" | "context" | "collaborate" => "alex".to_owned(),
        other => other.to_owned(),
    };
    let mut message = rest.trim().to_owned();
    for arg in args.as_array().into_iter().flatten().filter_map(Value::as_str) {
        message.push(' ');
        message.push_str(arg);
    }
    (agent, message)
}

async fn open_project(daemon: &Arc<Daemon>, root: &Path) -> bool {
    let params = protocol::context::AddWorkspaceParams { folder: crate::platform::uri::from_path(root), wait: true };
    crate::services::codebase::add_workspace(&daemon.codebase, params).await.is_ok()
}

/// The projects the user opened (the workspaces editors registered) or
/// configured (`bridge.projects`), canonical.
fn user_projects(daemon: &Daemon) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = daemon.codebase.workspaces.all().iter().map(|w| w.root.clone()).collect();
    roots
        .extend(daemon.config.bridge.projects.iter().filter(|p| p.is_absolute()).filter_map(|p| p.canonicalize().ok()));
    roots
}

/// Connects a 1.0 client to the project at `path` (`PROJECT_CONNECT`,
/// `projectPath`): its canonical folder, or why not. Without a token the folder
/// must be one the user opened or configured, and the refusal is the same
/// whether the folder exists or not.
async fn connect(daemon: &Arc<Daemon>, trusted: bool, path: &str) -> Result<PathBuf, String> {
    let folder = crate::platform::uri::to_path(path).and_then(|p| p.canonicalize().ok()).filter(|p| p.is_dir());
    if trusted {
        let folder = folder.ok_or_else(|| format!("{path:?} is not a folder on this machine"))?;
        open_project(daemon, &folder).await;
        return Ok(folder);
    }
    let Some(root) = folder.filter(|f| user_projects(daemon).contains(f)) else {
        return Err(format!(
            "{path:?} is not a project this 1.0 client may connect to: without a token, the bridge connects only to a workspace open in an editor or a folder listed in `bridge.projects` of the user's config"
        ));
    };
    // A configured project is indexed when a client first connects to it.
    if daemon.codebase.workspaces.find_for(&root).is_none_or(|w| w.root != root) {
        open_project(daemon, &root).await;
    }
    Ok(root)
}

fn agent_json(agent: &Agent) -> Value {
    let info = agent.info();
    json!({ "id": info.id, "name": info.display_name, "emoji": info.emoji, "role": agent.manifest.metadata.role })
}

/// What a 1.0 client asked: its message, and the file its editor has open
/// (the 1.0 extension's `context.activeFile.fileName`), if it said.
struct Asked {
    message: String,
    active: Option<String>,
}

/// Definitions a symbol skill runs on when the message names none: at most this many.
const DEFINITIONS_PER_ANSWER: usize = 12;

/// A message to an agent, answered by its real work: its model when one is
/// configured, else the offline skill that fits — on a file the message
/// names (else the file the editor has open), at the definition it names,
/// on the project, or on the request itself. The agent is `None` when there
/// is no such agent; `Err` is a refusal: a file or project out of reach.
async fn answer(
    daemon: &Arc<Daemon>,
    reach: &Reach,
    agent: Option<&str>,
    asked: &Asked,
    project: Option<&Path>,
) -> Result<(Option<Value>, String), String> {
    let message = asked.message.as_str();
    let roster = daemon.runs.roster();
    let name = agent.unwrap_or("alex");
    let Some(agent) = roster.resolve(name) else {
        let known: Vec<&str> = roster.agents.iter().map(|a| a.manifest.id.as_str()).collect();
        return Ok((None, format!("no agent named {name:?}; the team: {}", known.join(", "))));
    };
    let who = Some(agent_json(agent));
    let mentioned = match mentioned_file(daemon, reach, message, project) {
        Mention::Nothing => match &asked.active {
            Some(active) => file_in_reach(daemon, reach, active, project).unwrap_or(Mention::Nothing),
            None => Mention::Nothing,
        },
        other => other,
    };
    let file = match mentioned {
        Mention::Nothing => None,
        Mention::File(path) => Some(path),
        Mention::Refused(refusal) => return Err(refusal),
    };
    let model = daemon.runs.env().provider_name(agent).is_some();
    let assessment = message.trim() == "COMPREHENSIVE_PROJECT_ASSESSMENT";
    // With no project named, a run falls back to the only workspace open: one
    // this client did not connect with.
    if !reach.trusted && project.is_none() && (model || assessment) {
        return Err(format!(
            "{} needs a project: connect with PROJECT_CONNECT (or `projectPath`) to a workspace open in an editor or a folder listed in `bridge.projects`",
            agent.info().display_name
        ));
    }
    let workspace = project.map(crate::platform::uri::from_path);
    let mut params = RunParams {
        agent: agent.manifest.id.clone(),
        skill: None,
        uri: None,
        position: None,
        range: None,
        prompt: Some(message.to_owned()),
        workspace: workspace.clone(),
        wait: true,
        max_tokens: None,
    };
    if model {
        params.skill = Some("ask".into());
        params.uri = file.as_deref().map(crate::platform::uri::from_path);
        return Ok((who, run_text(daemon, params).await));
    }
    // The agent's skill for that scope: the one the message names ("tests"), else its first.
    let lowered = message.to_lowercase();
    let pick = |wanted: Scope| {
        let mut fitting = agent.skills.iter().filter(|s| s.scope() == wanted);
        let first = fitting.clone().next();
        fitting.find(|s| lowered.contains(s.name().trim_end_matches('s'))).or(first).map(|s| s.name().to_owned())
    };
    let chosen = if assessment && agent.skills.contains(&Skill::Assess) {
        Some(Skill::Assess.name().to_owned())
    } else if let (Some(path), Some(skill)) = (&file, pick(Scope::File)) {
        params.uri = Some(crate::platform::uri::from_path(path));
        Some(skill)
    } else if let (Some(path), Some(skill)) = (&file, pick(Scope::Symbol)) {
        // The bridge has no cursor: the definition the message names, else
        // each one of the file (those without a doc comment, to document).
        params.skill = Some(skill);
        params.uri = Some(crate::platform::uri::from_path(path));
        return Ok((who, on_definitions(daemon, params, path, message).await));
    } else if let (Some(_), Some(skill)) = (&workspace, pick(Scope::Workspace)) {
        Some(skill)
    } else {
        pick(Scope::Prompt)
    };
    let Some(skill) = chosen else {
        let info = agent.info();
        let of_what = if agent.skills.iter().any(|s| s.scope() == Scope::Symbol) {
            "a function, method or type in a file: name the file and the definition in your message (\"document load in src/lib.rs\"); without a definition named, each one in the file"
        } else {
            "files: name a file in your message"
        };
        let project_hint = match project {
            Some(_) => String::new(),
            None => " A file is named by its path in the project this client connected with (PROJECT_CONNECT, `projectPath`, or the 1.0 extension's `context.workspace.path`), or by its absolute path.".to_owned(),
        };
        return Ok((
            who,
            format!(
                "{} works on {of_what} (skills: {}), or configure a model provider to talk freely.{project_hint}",
                info.display_name,
                agent.skills.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    params.skill = Some(skill);
    Ok((who, run_text(daemon, params).await))
}

/// A run's answer as 1.0 clients show it: its output, findings and proposed edits.
async fn run_text(daemon: &Arc<Daemon>, params: RunParams) -> String {
    match daemon.runs.run_for(params, "editor".into()).await {
        Ok(run) if run.status == protocol::agents::RunStatus::Succeeded => {
            let mut text = run.output.trim_end().to_owned();
            for finding in &run.findings {
                text.push_str(&format!("\n- line {}: [{}] {}", finding.line, finding.rule, finding.message));
            }
            for edit in &run.edits {
                text.push_str(&format!("\n\nproposed at line {}:\n{}", edit.range.start.line + 1, edit.new_text));
            }
            text
        }
        Ok(run) => format!("the run failed: {}", run.error.unwrap_or_default()),
        Err(err) => err.to_string(),
    }
}

/// A symbol skill (Edison's `document`, `tests`) on `file`, with the cursor on
/// each definition the message names, else on each definition of the file
/// (for `document`, those without a doc comment), up to [`DEFINITIONS_PER_ANSWER`].
async fn on_definitions(daemon: &Arc<Daemon>, params: RunParams, file: &Path, message: &str) -> String {
    let uri = params.uri.clone().unwrap_or_default();
    let reader = daemon.codebase.clone();
    let undocumented_only = params.skill.as_deref() == Some("document");
    // Names, not paths: `main` in `src/main.rs` names no function.
    let words: BTreeSet<String> = message
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '/')))
        .filter(|w| !w.contains('.') && !w.contains('/'))
        .flat_map(|w| w.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let found = tokio::task::spawn_blocking(move || {
        let (document, _) = crate::services::codebase::document_for(&reader, &uri).map_err(|e| e.to_string())?;
        let outline = context::symbols::outline(&document);
        let mut all = Vec::new();
        let mut stack: Vec<&context::symbols::Symbol> = outline.symbols.iter().rev().collect();
        while let Some(symbol) = stack.pop() {
            all.push(symbol);
            stack.extend(symbol.children.iter().rev());
        }
        let definition = |s: &&context::symbols::Symbol| {
            use context::symbols::SymbolKind as K;
            !matches!(s.kind, K::Module | K::Impl | K::Constant)
        };
        let named: Vec<&context::symbols::Symbol> = all.iter().copied().filter(|s| words.contains(&s.name)).collect();
        let named_any = !named.is_empty();
        let chosen: Vec<&context::symbols::Symbol> = if named_any {
            named
        } else {
            all.into_iter().filter(definition).filter(|s| !undocumented_only || s.doc.is_none()).collect()
        };
        let lines = crate::services::codebase::LineIndex::new(document.text());
        let at: Vec<(String, protocol::documents::Position)> =
            chosen.iter().map(|s| (s.name.clone(), lines.position(s.bytes.start))).collect();
        Ok::<_, String>((named_any, at))
    })
    .await;
    let (named, at) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(message)) => return message,
        Err(err) => return format!("reading the file failed: {err}"),
    };
    let shown = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    if at.is_empty() {
        return format!(
            "found no function, method or type {} in {shown}; name one in your message (\"document load in {shown}\")",
            if undocumented_only { "without a doc comment" } else { "" }
        );
    }
    let mut answers = Vec::new();
    for (_, position) in at.iter().take(DEFINITIONS_PER_ANSWER) {
        let mut one = params.clone();
        one.position = Some(*position);
        answers.push(run_text(daemon, one).await);
    }
    if at.len() > DEFINITIONS_PER_ANSWER {
        let rest: Vec<&str> = at[DEFINITIONS_PER_ANSWER..].iter().map(|(name, _)| name.as_str()).collect();
        answers.push(format!(
            "{} more in {shown}, not done: {} (name one in your message)",
            rest.len(),
            rest.join(", ")
        ));
    } else if !named {
        answers.push(format!("({} definition(s) in {shown}; name one to work on it alone)", at.len()));
    }
    answers.join("\n\n")
}

/// What a message says about files.
enum Mention {
    /// It names no file (or only files that are not there, inside a project it may reach).
    Nothing,
    /// A file it may reach, canonical.
    File(PathBuf),
    /// A path out of reach; the refusal says nothing of whether it exists.
    Refused(String),
}

/// The first file the message names (`src/lib.rs` in the project, an absolute
/// path) that is there, checked against the request's reach by [`file_in_reach`].
fn mentioned_file(daemon: &Daemon, reach: &Reach, message: &str, project: Option<&Path>) -> Mention {
    let words = message
        .split(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | ',' | '(' | ')'))
        .filter(|w| w.contains('.') || w.contains('/'))
        .map(|w| w.trim_end_matches(['.', ':', ';', '?', '!']))
        .filter(|w| w.chars().any(|c| c != '/' && c != '.'));
    for word in words {
        if let Some(mention) = file_in_reach(daemon, reach, word, project) {
            return mention;
        }
    }
    Mention::Nothing
}

/// `word` as a file (relative to `project`, or absolute) the request may
/// reach, a refusal, or `None`: not a file name after all (nothing there, a
/// folder), inside a project it may reach. Without a token the path must lie
/// in a connected project as written — checked before the file system is
/// asked — and once resolved by [`crate::services::workspace::Workspaces::resolve`]
/// (links, `..`, the project's ignore rules). Every refusal reads the same.
fn file_in_reach(daemon: &Daemon, reach: &Reach, word: &str, project: Option<&Path>) -> Option<Mention> {
    let named = PathBuf::from(word);
    let path = match project {
        _ if named.is_absolute() => named,
        Some(project) => project.join(named),
        None => return None,
    };
    let within = if reach.trusted {
        None
    } else {
        let written = lexically_normal(&path);
        match reach.projects.iter().find(|root| written.starts_with(root)) {
            Some(root) => Some(root.as_path()),
            None => return Some(Mention::Refused(out_of_reach(word))),
        }
    };
    match daemon.codebase.workspaces.resolve(&path, within) {
        Ok(resolved) if resolved.path.is_file() => Some(Mention::File(resolved.path)),
        Ok(resolved) if resolved.path.is_dir() => None,
        // Nothing there (a dangling link is something: refused).
        Ok(resolved)
            if std::fs::symlink_metadata(&resolved.path).is_err() && std::fs::symlink_metadata(&path).is_err() =>
        {
            None
        }
        _ => Some(Mention::Refused(out_of_reach(word))),
    }
}

fn out_of_reach(word: &str) -> String {
    format!(
        "{word:?} is out of reach: without a token, the bridge answers only for files of a project this client connected with (PROJECT_CONNECT or `projectPath`) that is open in an editor or listed in `bridge.projects`, and not excluded by .gitignore, .ignore or .pairedignore"
    )
}

/// `path` with `.` and `..` resolved by name, without asking the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

async fn upgrade(
    State(bridge): State<Arc<Bridge>>,
    Extension(Trusted(trusted)): Extension<Trusted>,
    ws: WebSocketUpgrade,
) -> Response {
    let open = bridge.instances().values().filter(|instance| instance.outbox.is_some()).count();
    if open >= MAX_CONNECTIONS {
        let error = format!("too many PAIRED 1.0 bridge connections ({MAX_CONNECTIONS}); close some and retry");
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "success": false, "error": error }))).into_response();
    }
    ws.max_message_size(bridge.daemon.config.server.max_request_bytes as usize)
        .on_upgrade(move |socket| connection(bridge, socket, trusted))
}

async fn connection(bridge: Arc<Bridge>, socket: WebSocket, trusted: bool) {
    let id = format!("instance-{}", bridge.next_instance.fetch_add(1, Ordering::Relaxed));
    let (outbox, mut inbox) = mpsc::channel::<Value>(OUTBOX_FRAMES);
    bridge.instances().insert(id.clone(), Instance::new(trusted, Some(outbox.clone())));
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(frame) = inbox.recv().await {
            if sink.send(Message::Text(frame.to_string().into())).await.is_err() {
                break;
            }
        }
    });
    let _registered = Registered { bridge: bridge.clone(), id: id.clone(), writer };
    while let Some(Ok(frame)) = stream.next().await {
        let reply = match frame {
            Message::Text(text) => match serde_json::from_str::<Value>(&text) {
                Ok(message) => handle(&bridge, &id, message).await,
                Err(err) => error(&format!("the frame is not JSON: {err}")),
            },
            Message::Close(_) => break,
            _ => continue,
        };
        if outbox.send(reply).await.is_err() {
            break;
        }
    }
}

/// For the fuzz target `bridge_message` (`fuzz/`) only: one text frame from a
/// 1.0 client without a token, parsed and answered as [`connection`] does, by
/// a bridge that is not listening, for a connection of its own.
#[doc(hidden)]
pub async fn fuzz_text_frame(daemon: Arc<Daemon>, text: &str) -> Value {
    let bridge = Arc::new(Bridge {
        daemon,
        port: 0,
        started: Instant::now(),
        next_instance: AtomicU64::new(2),
        instances: Mutex::default(),
        registered: Mutex::default(),
        token: None,
    });
    let id = "instance-1";
    bridge.instances().insert(id.to_owned(), Instance::new(false, None));
    match serde_json::from_str::<Value>(text) {
        Ok(message) => handle(&bridge, id, message).await,
        Err(err) => error(&format!("the frame is not JSON: {err}")),
    }
}

/// One WebSocket message: its reply.
async fn handle(bridge: &Arc<Bridge>, instance: &str, mut message: Value) -> Value {
    let kind = message["type"].as_str().unwrap_or("").to_owned();
    // Taken out first, so that no context stored or shared holds it.
    let token = message.as_object_mut().and_then(|m| m.remove("token")).filter(|t| !t.is_null());
    let presented = bridge.check_token(token.as_ref().map(|t| t.as_str().unwrap_or("")));
    let trusted = {
        let mut instances = bridge.instances();
        let Some(entry) = instances.get_mut(instance) else { return error("this connection has closed") };
        entry.last_activity_ms = now_ms();
        entry.message_count += 1;
        match presented {
            Presented::Wrong => return error(&format!("wrong token; {TOKEN_HINT}")),
            Presented::Valid => entry.trusted = true,
            Presented::Nothing => {}
        }
        entry.trusted
    };
    if bridge.daemon.config.bridge.require_token && !trusted {
        return error(&format!("this bridge requires a token (bridge.require_token); {TOKEN_HINT}"));
    }
    let daemon = &bridge.daemon;
    // `projectPath` on any message connects, as PROJECT_CONNECT does.
    let connecting = match kind.as_str() {
        "PROJECT_CONNECT" => {
            let path = message["project"]["path"].as_str().or(message["projectPath"].as_str()).unwrap_or("");
            if path.is_empty() {
                return error("PROJECT_CONNECT needs `project.path` (or `projectPath`)");
            }
            Some(path.to_owned())
        }
        // The 1.0 extension names its project as `context.workspace.path`.
        _ => text(&message, &["projectPath"])
            .or_else(|| message["context"]["workspace"]["path"].as_str().filter(|p| !p.trim().is_empty()))
            .map(str::to_owned),
    };
    if let Some(path) = connecting {
        match connect(daemon, trusted, &path).await {
            Ok(root) => {
                if let Some(i) = bridge.instances().get_mut(instance) {
                    i.connected.insert(root.clone());
                    i.project = Some(root);
                }
            }
            // 1.0's monitor asks for the status with its working folder as `projectPath`.
            Err(_) if ABOUT_THE_BRIDGE.contains(&kind.as_str()) => {}
            Err(refusal) => return error(&format!("{kind}: {refusal}")),
        }
    }
    // The file the 1.0 extension's user has open: what a message naming none is about.
    let active = message["context"]["activeFile"]["fileName"].as_str().map(str::to_owned);
    let asked = |text: &str| Asked { message: text.to_owned(), active: active.clone() };
    let (project, reach) = {
        let instances = bridge.instances();
        let Some(entry) = instances.get(instance) else { return error("this connection has closed") };
        (entry.project.clone(), Reach { trusted, projects: entry.connected.clone() })
    };
    let team = || daemon.runs.roster();
    match kind.as_str() {
        "health_check" | "HEALTH_CHECK" => json!({
            "type": "health_response",
            "status": "healthy",
            "bridge": "running",
            "agents": team().agents.len(),
            "connections": bridge.instances().values().filter(|i| i.outbox.is_some()).count(),
            "timestamp": timestamp(),
        }),
        "AGENT_HEALTH" => json!({
            "type": "AGENT_HEALTH_RESPONSE",
            "status": "healthy",
            "agents": team().agents.iter().map(|a| a.manifest.id.clone()).collect::<Vec<_>>(),
            "timestamp": timestamp(),
        }),
        "AGENT_MESSAGE" => {
            let Some(text_in) = text(&message, &["message", "content"]) else {
                return error("AGENT_MESSAGE needs `message` (or `content`)");
            };
            let target = text(&message, &["agent", "targetAgent"]).map(str::to_owned);
            let (who, response) =
                match answer(daemon, &reach, target.as_deref(), &asked(text_in), project.as_deref()).await {
                    Ok(answered) => answered,
                    Err(refusal) => return error(&refusal),
                };
            json!({
                "type": "AGENT_RESPONSE",
                "agent": who.clone().unwrap_or(Value::Null),
                "agentId": who.as_ref().map(|w| w["id"].clone()),
                "message": response,
                "content": response,
                "timestamp": timestamp(),
            })
        }
        "user_request" => {
            let text_in = text(&message, &["originalMessage", "message", "content"]).unwrap_or("");
            let target = text(&message, &["requestedAgent", "agent", "targetAgent"]).map(str::to_owned);
            let (who, response) =
                match answer(daemon, &reach, target.as_deref(), &asked(text_in), project.as_deref()).await {
                    Ok(answered) => answered,
                    Err(refusal) => return error(&refusal),
                };
            json!({ "type": "agent_response", "response": response, "agent": who.map(|w| w["id"].clone()), "timestamp": timestamp() })
        }
        "agent_request" => {
            let text_in = text(&message, &["message", "content"]).unwrap_or("");
            let target = text(&message, &["agentName", "agent", "targetAgent"]).map(str::to_owned);
            let (who, response) =
                match answer(daemon, &reach, target.as_deref(), &asked(text_in), project.as_deref()).await {
                    Ok(answered) => answered,
                    Err(refusal) => {
                        let mut refused = error(&refusal);
                        refused["requestId"] = message["requestId"].clone();
                        return refused;
                    }
                };
            json!({
                "type": "agent_response",
                "requestId": message["requestId"],
                "response": response,
                "agent": who.map(|w| w["id"].clone()),
                "timestamp": timestamp(),
            })
        }
        "agent_message" | "context_share" => {
            // Shared with the other connected instances, as 1.0 relayed it, but
            // only those in a project this one connected with (any, with a token).
            let shared = json!({
                "type": "context_shared",
                "from": instance,
                "context": message.get("context").or(message.get("message")).cloned().unwrap_or(Value::Null),
                "timestamp": timestamp(),
            });
            let mut delivered = 0;
            let instances = bridge.instances();
            if let Some(sender) = instances.get(instance) {
                for (id, other) in instances.iter() {
                    if id != instance
                        && sender.sees(other)
                        && let Some(outbox) = &other.outbox
                        && outbox.try_send(shared.clone()).is_ok()
                    {
                        delivered += 1;
                    }
                }
            }
            json!({ "type": "context_shared", "from": instance, "delivered": delivered, "timestamp": timestamp() })
        }
        "get_instances" | "GET_CONNECTIONS" => {
            let instances = bridge.instances();
            let Some(asking) = instances.get(instance) else { return error("this connection has closed") };
            let visible: Vec<(&String, &Instance)> =
                instances.iter().filter(|(id, other)| id.as_str() == instance || asking.sees(other)).collect();
            let list: Vec<Value> = visible
                .iter()
                .map(|(id, i)| {
                    json!({
                        "id": id,
                        "projectPath": i.project,
                        "lastActivity": i.last_activity_ms,
                        "messageCount": i.message_count,
                        "isActive": i.outbox.is_some(),
                    })
                })
                .collect();
            let active = visible.iter().filter(|(_, i)| i.outbox.is_some()).count();
            let kind = if kind == "get_instances" { "instances_list" } else { "CONNECTIONS" };
            // `activeConnections`: 1.0's bridge-status.sh prints it.
            json!({ "type": kind, "instances": list, "totalActive": active, "activeConnections": active, "timestamp": timestamp() })
        }
        "PROJECT_CONNECT" => {
            json!({ "type": "PROJECT_CONNECTED", "project": message["project"], "instanceId": instance, "timestamp": timestamp() })
        }
        "STATUS_CHECK" => {
            // 1.0's scripts/status.sh reads `teamAgentsActive` and `<id>Active` per agent.
            let roster = team();
            let mut status = json!({
                "type": "STATUS",
                "status": "running",
                "version": env!("CARGO_PKG_VERSION"),
                "uptime": bridge.started.elapsed().as_secs(),
                "agents": roster.agents.len(),
                "teamAgentsActive": roster.agents.len(),
                "connections": bridge.instances().values().filter(|i| i.outbox.is_some()).count(),
                "timestamp": timestamp(),
            });
            for agent in &roster.agents {
                status[format!("{}Active", agent.manifest.id)] = json!(true);
            }
            status
        }
        "GET_UPTIME" => {
            json!({ "type": "UPTIME", "uptime": bridge.started.elapsed().as_secs(), "timestamp": timestamp() })
        }
        "GET_VERSION" => {
            json!({ "type": "VERSION", "version": env!("CARGO_PKG_VERSION"), "bridge": "paired-1.0-compatible", "timestamp": timestamp() })
        }
        // 1.0's lib/bridge/communication.js tests the bridge with `ping`.
        "PING" | "ping" => json!({ "type": "PONG", "timestamp": timestamp() }),
        "REGISTER_INSTANCE" => {
            json!({ "type": "INSTANCE_REGISTERED", "instanceId": instance, "projectPath": project, "timestamp": timestamp() })
        }
        "LIST_AGENTS" => {
            let mut agents: Vec<Value> = team().agents.iter().map(agent_json).collect();
            agents.extend(bridge.registered.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned());
            json!({ "type": "AGENTS_LIST", "agents": agents, "timestamp": timestamp() })
        }
        "WINDSURF_CONTEXT" | "CONTEXT_UPDATE" => {
            let taken = ["context", "data"].iter().find_map(|key| message.as_object_mut()?.remove(*key));
            let context = taken.unwrap_or(message);
            let bytes = stored_bytes(&context);
            if let Some(i) = bridge.instances().get_mut(instance) {
                i.context = Some((context, bytes));
            }
            json!({ "type": "CONTEXT_RECEIVED", "instanceId": instance, "timestamp": timestamp() })
        }
        "OPTIMIZE_CONTEXT" => {
            // What 1.0 promised: the context made smaller — here secrets
            // redacted and the text cut to the target at line boundaries.
            let stored = bridge.instances().get(instance).and_then(|i| i.context.as_ref().map(|(c, _)| c.clone()));
            let raw = match message.get("context").or(stored.as_ref()) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return error("OPTIMIZE_CONTEXT needs `context` (or a CONTEXT_UPDATE before it)"),
            };
            let target = message["target"].as_u64().or(message["optimizationTarget"].as_u64()).unwrap_or(4000) as usize;
            let (redacted, found) = context::redact::redact("", &raw);
            let mut kept = String::new();
            for line in redacted.lines() {
                if (kept.len() + line.len() + 1).div_ceil(4) > target {
                    break;
                }
                kept.push_str(line);
                kept.push('\n');
            }
            let (before, after) = (raw.len().div_ceil(4), kept.len().div_ceil(4));
            let reduction = (before.saturating_sub(after) * 100).checked_div(before).unwrap_or(0);
            json!({
                "type": "CONTEXT_OPTIMIZED",
                "context": kept,
                "tokensBefore": before,
                "tokensAfter": after,
                "secretsRedacted": found.len(),
                // The 1.0 extension reads `optimizationMetrics.reductionPercentage`.
                "optimizationMetrics": { "originalTokens": before, "optimizedTokens": after, "reductionPercentage": reduction },
                "timestamp": timestamp(),
            })
        }
        "paired_cli_command" => {
            // 1.0's bin/paired-enhanced and paired-kf32: a `/cli-command` over
            // the WebSocket, answered with its `id`; they print `result || message`.
            let command = text(&message, &["command"]).unwrap_or("");
            let (agent, text_in) = cli_route(command, &message["args"]);
            let answered = answer(daemon, &reach, Some(&agent), &asked(&text_in), project.as_deref()).await;
            let (who, response) = match answered {
                Ok(answered) => answered,
                Err(refusal) => {
                    let mut refused = error(&refusal);
                    refused["id"] = message["id"].clone();
                    return refused;
                }
            };
            json!({
                "type": "paired_cli_response",
                "id": message["id"],
                "success": who.is_some(),
                "agent": who,
                "result": response,
                "message": response,
                "response": response,
                "timestamp": timestamp(),
            })
        }
        "" => error("a message needs a `type`"),
        other => error(&format!(
            "unknown message type {other:?}; the bridge answers health_check, AGENT_HEALTH, AGENT_MESSAGE, user_request, agent_request, agent_message, context_share, get_instances, PROJECT_CONNECT, STATUS_CHECK, GET_CONNECTIONS, GET_UPTIME, GET_VERSION, PING, ping, REGISTER_INSTANCE, LIST_AGENTS, WINDSURF_CONTEXT, CONTEXT_UPDATE, OPTIMIZE_CONTEXT, paired_cli_command"
        )),
    }
}

/// An `ERROR` frame: 1.0's bridge put the text in `message` (which 1.0's
/// paired-bridge-connect.sh prints) and the cause in `error`; both carry it.
fn error(message: &str) -> Value {
    json!({ "type": "ERROR", "error": message, "message": message, "timestamp": timestamp() })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    #[test]
    fn timestamps_are_iso_8601_utc() {
        let stamp = super::timestamp();
        assert_eq!(stamp.len(), 24, "{stamp}");
        assert!(stamp.starts_with("20") && stamp.ends_with('Z') && &stamp[10..11] == "T", "{stamp}");
    }

    #[test]
    fn paths_are_normalised_by_name_before_the_file_system_is_asked() {
        let normal = |p: &str| super::lexically_normal(Path::new(p));
        assert_eq!(normal("/home/u/proj/../../../etc/shadow"), PathBuf::from("/etc/shadow"));
        assert_eq!(normal("/home/u/proj/./src/../lib.rs"), PathBuf::from("/home/u/proj/lib.rs"));
        assert_eq!(normal("/../.."), PathBuf::from("/"));
    }
}
