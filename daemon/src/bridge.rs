//! The PAIRED 1.0 bridge, for 1.0 clients (the 1.0 editor extension, scripts
//! speaking to `ws://localhost:7890`): the HTTP endpoints and WebSocket message
//! types of 1.0's `cascade-bridge.js`, including those 1.0 announced but never
//! handled, answered by the real agents instead of 1.0's text templates.
//!
//! Off unless `compat.bridge_1x = true` (or `paired daemon --bridge-1x`): 1.0
//! clients send no token, so the bridge keeps only the Host and Origin checks
//! of the daemon's own server, on 127.0.0.1 only. Port 7890, or `BRIDGE_PORT`.
//!
//! Both of 1.0's spellings are accepted (`agent` / `targetAgent`, `message` /
//! `content`) and answered (`message` and `content`; `agent` as an object with
//! `name` and `emoji`, which the 1.0 extension reads, plus `agentId`).

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use anyhow::{Context, Result};
use axum::{
    Json, Router,
    extract::{
        State, WebSocketUpgrade,
        rejection::JsonRejection,
        ws::{Message, WebSocket},
    },
    http::{HeaderMap, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures::{SinkExt, StreamExt};
use protocol::agents::RunParams;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{roster::Agent, state::Daemon};

/// The port 1.0 clients expect.
pub const DEFAULT_PORT: u16 = 7890;

struct Instance {
    project_path: Option<String>,
    last_activity_ms: u64,
    message_count: u64,
    /// Frames to this connection (context shared by another instance).
    outbox: Option<mpsc::UnboundedSender<Value>>,
    /// Context the editor sent (`WINDSURF_CONTEXT`, `CONTEXT_UPDATE`).
    context: Option<Value>,
}

struct Bridge {
    daemon: Arc<Daemon>,
    port: u16,
    started: Instant,
    next_instance: AtomicU64,
    instances: Mutex<HashMap<String, Instance>>,
    /// Agents registered over `POST /register-agent` (1.0's external agents).
    registered: Mutex<Vec<Value>>,
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
    });
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
    let mut shutdown = daemon.shutdown.subscribe();
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(Option::is_some).await;
        };
        if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
            tracing::error!("the PAIRED 1.0 bridge stopped: {err}");
        }
    });
    Ok(port)
}

/// The daemon's Host and Origin checks (no token: 1.0 clients have none).
async fn guard(
    State(bridge): State<Arc<Bridge>>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    match crate::server::check_host_and_origin(&bridge.daemon.config, bridge.port, &headers) {
        Ok(()) => next.run(request).await,
        Err((status, message)) => (status, Json(json!({ "success": false, "error": message }))).into_response(),
    }
}

fn body(payload: Result<Json<Value>, JsonRejection>) -> Result<Value, (StatusCode, Json<Value>)> {
    payload.map(|Json(v)| v).map_err(|err| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "success": false, "error": format!("the body is not JSON the bridge understands: {err}") })),
        )
    })
}

fn text<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| value[*k].as_str()).filter(|s| !s.trim().is_empty())
}

async fn health(State(bridge): State<Arc<Bridge>>) -> Json<Value> {
    let instances = bridge.instances.lock().unwrap_or_else(|p| p.into_inner());
    let connected = instances.values().filter(|i| i.outbox.is_some()).count();
    let team = crate::agents_rpc::roster(&bridge.daemon).agents.len();
    Json(json!({
        "status": "active",
        "service": "PAIRED 2.0 bridge (1.0 compatible)",
        "version": env!("CARGO_PKG_VERSION"),
        "connectedInstances": connected,
        "activeSessions": instances.len(),
        "alexActive": true,
        "teamAgentsActive": team,
        "uptime": bridge.started.elapsed().as_secs(),
        "timestamp": timestamp(),
    }))
}

async fn test_relay(State(bridge): State<Arc<Bridge>>) -> Json<Value> {
    let team: Vec<String> =
        crate::agents_rpc::roster(&bridge.daemon).agents.iter().map(|a| a.manifest.id.clone()).collect();
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
    let total = registered.len() + crate::agents_rpc::roster(&bridge.daemon).agents.len();
    Json(json!({ "success": true, "message": format!("agent {id} registered"), "totalAgents": total })).into_response()
}

async fn register_instance(State(bridge): State<Arc<Bridge>>, payload: Result<Json<Value>, JsonRejection>) -> Response {
    let value = match body(payload) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    let id = text(&value, &["instanceId"])
        .map(str::to_owned)
        .unwrap_or_else(|| format!("instance-{}", bridge.next_instance.fetch_add(1, Ordering::Relaxed)));
    let project = text(&value, &["projectPath"]).map(str::to_owned);
    if let Some(path) = &project {
        open_project(&bridge.daemon, path).await;
    }
    let mut instances = bridge.instances.lock().unwrap_or_else(|p| p.into_inner());
    let instance = instances.entry(id.clone()).or_insert_with(|| Instance {
        project_path: None,
        last_activity_ms: now_ms(),
        message_count: 0,
        outbox: None,
        context: None,
    });
    instance.project_path = project.clone().or(instance.project_path.take());
    instance.last_activity_ms = now_ms();
    Json(json!({ "status": "registered", "instanceId": id, "projectPath": project, "timestamp": timestamp() }))
        .into_response()
}

async fn cascade_intercept(State(bridge): State<Arc<Bridge>>, payload: Result<Json<Value>, JsonRejection>) -> Response {
    let value = match body(payload) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    let Some(message) = text(&value, &["message", "content"]) else {
        return (StatusCode::BAD_REQUEST, Json(json!({ "success": false, "error": "pass `message`" }))).into_response();
    };
    // To Alex first, as in 1.0: he routes it to the team.
    let routed = agents::skills::route::route(message);
    let agent = routed.first().map(|(agent, _)| agent.clone()).unwrap_or_else(|| "alex".into());
    let project = text(&value, &["projectPath"]).map(str::to_owned);
    let (who, response) = answer(&bridge.daemon, Some(&agent), message, project.as_deref()).await;
    Json(json!({
        "success": true,
        "routedTo": routed.iter().map(|(a, s)| format!("{a}:{s}")).collect::<Vec<_>>(),
        "agent": who,
        "response": response,
        "timestamp": timestamp(),
    }))
    .into_response()
}

async fn cli_command(State(bridge): State<Arc<Bridge>>, payload: Result<Json<Value>, JsonRejection>) -> Response {
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
    // `qa:<x>`, `arch:<x>`, `sherlock:<x>`…; `task:`, `context:`, `collaborate:` go to Alex.
    let (prefix, rest) = command.split_once(':').unwrap_or(("alex", command));
    let agent = match prefix.trim().to_ascii_lowercase().as_str() {
        "task" | "context" | "collaborate" => "alex".to_owned(),
        other => other.to_owned(),
    };
    let mut message = rest.trim().to_owned();
    for arg in value["args"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        message.push(' ');
        message.push_str(arg);
    }
    let project = text(&value, &["projectPath"]).map(str::to_owned);
    let (who, response) = answer(&bridge.daemon, Some(&agent), &message, project.as_deref()).await;
    Json(json!({ "success": who.is_some(), "agent": who, "response": response, "timestamp": timestamp() }))
        .into_response()
}

async fn open_project(daemon: &Arc<Daemon>, path: &str) -> bool {
    let params = protocol::context::AddWorkspaceParams { folder: path.to_owned(), wait: true };
    crate::context_rpc::add_workspace(daemon, params).await.is_ok()
}

fn agent_json(agent: &Agent) -> Value {
    let info = agent.info();
    json!({ "id": info.id, "name": info.display_name, "emoji": info.emoji, "role": agent.manifest.metadata.role })
}

/// A message to an agent, answered by its real work: its model when one is
/// configured, else the offline skill that fits — on a file the message
/// names, on the project, or on the request itself. `None` when no such agent.
async fn answer(
    daemon: &Arc<Daemon>,
    agent: Option<&str>,
    message: &str,
    project: Option<&str>,
) -> (Option<Value>, String) {
    let roster = crate::agents_rpc::roster(daemon);
    let name = agent.unwrap_or("alex");
    let Some(agent) = roster.resolve(name) else {
        let known: Vec<&str> = roster.agents.iter().map(|a| a.manifest.id.as_str()).collect();
        return (None, format!("no agent named {name:?}; the team: {}", known.join(", ")));
    };
    let who = Some(agent_json(agent));
    if let Some(path) = project {
        open_project(daemon, path).await;
    }
    let workspace = project.map(|p| crate::uri::from_path(std::path::Path::new(p)));
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
    let file = mentioned_file(message, project);
    if crate::model_run::provider_name(&daemon.config, agent).is_some() {
        params.skill = Some("ask".into());
        params.uri = file.as_deref().map(crate::uri::from_path);
    } else {
        let scope = |skill: &str| crate::roster::SKILLS.iter().find(|(n, ..)| *n == skill).map_or("prompt", |s| s.2);
        let assessment = message.trim() == "COMPREHENSIVE_PROJECT_ASSESSMENT";
        let pick = |wanted: &str| agent.skills.iter().find(|s| scope(s) == wanted).map(|s| (*s).to_owned());
        let chosen = if assessment && agent.skills.contains(&"assess") {
            Some("assess".to_owned())
        } else if let (Some(path), Some(skill)) = (&file, pick("file")) {
            params.uri = Some(crate::uri::from_path(path));
            Some(skill)
        } else if let (Some(_), Some(skill)) = (&workspace, pick("workspace")) {
            Some(skill)
        } else {
            pick("prompt")
        };
        let Some(skill) = chosen else {
            let info = agent.info();
            return (
                who,
                format!(
                    "{} works on files: name a file of the project in your message (skills: {}), or configure a model provider to talk freely.",
                    info.display_name,
                    agent.skills.join(", ")
                ),
            );
        };
        params.skill = Some(skill);
    }
    match crate::agents_rpc::run(daemon.clone(), params).await {
        Ok(run) if run.status == protocol::agents::RunStatus::Succeeded => {
            let mut text = run.output.trim_end().to_owned();
            for finding in &run.findings {
                text.push_str(&format!("\n- line {}: [{}] {}", finding.line, finding.rule, finding.message));
            }
            (who, text)
        }
        Ok(run) => (who, format!("the run failed: {}", run.error.unwrap_or_default())),
        Err(err) => (who, err.message().to_owned()),
    }
}

/// A file of the project the message names (`src/lib.rs`, an absolute path).
fn mentioned_file(message: &str, project: Option<&str>) -> Option<PathBuf> {
    message
        .split(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | ',' | '(' | ')'))
        .filter(|w| w.contains('.') || w.contains('/'))
        .map(|w| w.trim_end_matches(['.', ':', ';', '?', '!']))
        .find_map(|w| {
            let path = PathBuf::from(w);
            let path = if path.is_absolute() { path } else { PathBuf::from(project?).join(path) };
            path.is_file().then_some(path)
        })
}

async fn upgrade(State(bridge): State<Arc<Bridge>>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(bridge.daemon.config.server.max_request_bytes as usize)
        .on_upgrade(move |socket| connection(bridge, socket))
}

async fn connection(bridge: Arc<Bridge>, socket: WebSocket) {
    let id = format!("instance-{}", bridge.next_instance.fetch_add(1, Ordering::Relaxed));
    let (outbox, mut inbox) = mpsc::unbounded_channel::<Value>();
    bridge.instances.lock().unwrap_or_else(|p| p.into_inner()).insert(
        id.clone(),
        Instance {
            project_path: None,
            last_activity_ms: now_ms(),
            message_count: 0,
            outbox: Some(outbox.clone()),
            context: None,
        },
    );
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(frame) = inbox.recv().await {
            if sink.send(Message::Text(frame.to_string().into())).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(frame)) = stream.next().await {
        let reply = match frame {
            Message::Text(text) => match serde_json::from_str::<Value>(&text) {
                Ok(message) => handle(&bridge, &id, message).await,
                Err(err) => {
                    json!({ "type": "ERROR", "error": format!("the frame is not JSON: {err}"), "timestamp": timestamp() })
                }
            },
            Message::Close(_) => break,
            _ => continue,
        };
        if outbox.send(reply).is_err() {
            break;
        }
    }
    if let Some(instance) = bridge.instances.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&id) {
        instance.outbox = None;
    }
    writer.abort();
}

/// One WebSocket message: its reply.
async fn handle(bridge: &Arc<Bridge>, instance: &str, message: Value) -> Value {
    let kind = message["type"].as_str().unwrap_or("").to_owned();
    let project = {
        let mut instances = bridge.instances.lock().unwrap_or_else(|p| p.into_inner());
        let entry = instances.get_mut(instance);
        entry
            .map(|i| {
                i.last_activity_ms = now_ms();
                i.message_count += 1;
                if let Some(path) = text(&message, &["projectPath"]) {
                    i.project_path = Some(path.to_owned());
                }
                i.project_path.clone()
            })
            .unwrap_or_default()
    };
    let daemon = &bridge.daemon;
    let team = || crate::agents_rpc::roster(daemon);
    match kind.as_str() {
        "health_check" | "HEALTH_CHECK" => json!({
            "type": "health_response",
            "status": "healthy",
            "bridge": "running",
            "agents": team().agents.len(),
            "connections": bridge.instances.lock().unwrap_or_else(|p| p.into_inner()).values().filter(|i| i.outbox.is_some()).count(),
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
            let (who, response) = answer(daemon, target.as_deref(), text_in, project.as_deref()).await;
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
            let (who, response) = answer(daemon, target.as_deref(), text_in, project.as_deref()).await;
            json!({ "type": "agent_response", "response": response, "agent": who.map(|w| w["id"].clone()), "timestamp": timestamp() })
        }
        "agent_request" => {
            let text_in = text(&message, &["message", "content"]).unwrap_or("");
            let target = text(&message, &["agentName", "agent", "targetAgent"]).map(str::to_owned);
            let (who, response) = answer(daemon, target.as_deref(), text_in, project.as_deref()).await;
            json!({
                "type": "agent_response",
                "requestId": message["requestId"],
                "response": response,
                "agent": who.map(|w| w["id"].clone()),
                "timestamp": timestamp(),
            })
        }
        "agent_message" | "context_share" => {
            // Shared with the other connected instances, as 1.0 relayed it.
            let shared = json!({
                "type": "context_shared",
                "from": instance,
                "context": message.get("context").or(message.get("message")).cloned().unwrap_or(Value::Null),
                "timestamp": timestamp(),
            });
            let mut delivered = 0;
            for (id, other) in bridge.instances.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                if id != instance
                    && let Some(outbox) = &other.outbox
                    && outbox.send(shared.clone()).is_ok()
                {
                    delivered += 1;
                }
            }
            json!({ "type": "context_shared", "from": instance, "delivered": delivered, "timestamp": timestamp() })
        }
        "get_instances" | "GET_CONNECTIONS" => {
            let instances = bridge.instances.lock().unwrap_or_else(|p| p.into_inner());
            let list: Vec<Value> = instances
                .iter()
                .map(|(id, i)| {
                    json!({
                        "id": id,
                        "projectPath": i.project_path,
                        "lastActivity": i.last_activity_ms,
                        "messageCount": i.message_count,
                        "isActive": i.outbox.is_some(),
                    })
                })
                .collect();
            let active = instances.values().filter(|i| i.outbox.is_some()).count();
            let kind = if kind == "get_instances" { "instances_list" } else { "CONNECTIONS" };
            json!({ "type": kind, "instances": list, "totalActive": active, "timestamp": timestamp() })
        }
        "PROJECT_CONNECT" => {
            let path = message["project"]["path"].as_str().or(message["projectPath"].as_str()).unwrap_or("");
            if path.is_empty() || !std::path::Path::new(path).is_dir() {
                return error(&format!("PROJECT_CONNECT: {path:?} is not a folder on this machine"));
            }
            open_project(daemon, path).await;
            if let Some(i) = bridge.instances.lock().unwrap_or_else(|p| p.into_inner()).get_mut(instance) {
                i.project_path = Some(path.to_owned());
            }
            json!({ "type": "PROJECT_CONNECTED", "project": message["project"], "instanceId": instance, "timestamp": timestamp() })
        }
        "STATUS_CHECK" => json!({
            "type": "STATUS",
            "status": "running",
            "version": env!("CARGO_PKG_VERSION"),
            "uptime": bridge.started.elapsed().as_secs(),
            "agents": team().agents.len(),
            "timestamp": timestamp(),
        }),
        "GET_UPTIME" => {
            json!({ "type": "UPTIME", "uptime": bridge.started.elapsed().as_secs(), "timestamp": timestamp() })
        }
        "GET_VERSION" => {
            json!({ "type": "VERSION", "version": env!("CARGO_PKG_VERSION"), "bridge": "paired-1.0-compatible", "timestamp": timestamp() })
        }
        "PING" => json!({ "type": "PONG", "timestamp": timestamp() }),
        "REGISTER_INSTANCE" => {
            if let Some(path) = text(&message, &["projectPath"]) {
                open_project(daemon, path).await;
            }
            json!({ "type": "INSTANCE_REGISTERED", "instanceId": instance, "projectPath": project, "timestamp": timestamp() })
        }
        "LIST_AGENTS" => {
            let mut agents: Vec<Value> = team().agents.iter().map(agent_json).collect();
            agents.extend(bridge.registered.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned());
            json!({ "type": "AGENTS_LIST", "agents": agents, "timestamp": timestamp() })
        }
        "WINDSURF_CONTEXT" | "CONTEXT_UPDATE" => {
            let context = message.get("context").or(message.get("data")).cloned().unwrap_or(message.clone());
            if let Some(i) = bridge.instances.lock().unwrap_or_else(|p| p.into_inner()).get_mut(instance) {
                i.context = Some(context);
            }
            json!({ "type": "CONTEXT_RECEIVED", "instanceId": instance, "timestamp": timestamp() })
        }
        "OPTIMIZE_CONTEXT" => {
            // What 1.0 promised: the context made smaller — here secrets
            // redacted and the text cut to the target at line boundaries.
            let stored = bridge
                .instances
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(instance)
                .and_then(|i| i.context.clone());
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
            json!({
                "type": "CONTEXT_OPTIMIZED",
                "context": kept,
                "tokensBefore": raw.len().div_ceil(4),
                "tokensAfter": kept.len().div_ceil(4),
                "secretsRedacted": found.len(),
                "timestamp": timestamp(),
            })
        }
        "" => error("a message needs a `type`"),
        other => error(&format!(
            "unknown message type {other:?}; the bridge answers health_check, AGENT_HEALTH, AGENT_MESSAGE, user_request, agent_request, agent_message, context_share, get_instances, PROJECT_CONNECT, STATUS_CHECK, GET_CONNECTIONS, GET_UPTIME, GET_VERSION, PING, REGISTER_INSTANCE, LIST_AGENTS, WINDSURF_CONTEXT, CONTEXT_UPDATE, OPTIMIZE_CONTEXT"
        )),
    }
}

fn error(message: &str) -> Value {
    json!({ "type": "ERROR", "error": message, "timestamp": timestamp() })
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
