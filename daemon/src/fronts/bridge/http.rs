//! 1.0's HTTP endpoints: `/health`, `/test-relay`, `/register-agent`,
//! `/register-instance`, `/cascade-intercept`, `/cli-command`.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::Ordering},
};

use axum::{
    Extension, Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    answer::{Asked, answer, cli_route},
    reach::connect,
    state::{Bridge, Instance, Reach, Trusted, now_ms, text, timestamp},
};

/// Instances registered over `POST /register-instance` (no connection closes
/// them): the least recently active goes beyond this many.
const MAX_HTTP_INSTANCES: usize = 256;

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

pub(super) async fn health(State(bridge): State<Arc<Bridge>>) -> Json<Value> {
    let (connected, sessions, context_bytes) = {
        let instances = bridge.instances();
        let connected = instances.values().filter(|i| i.outbox.is_some()).count();
        let context_bytes: usize = instances.values().filter_map(|i| i.context.as_ref()).map(|(_, n)| n).sum();
        (connected, instances.len(), context_bytes)
    };
    // No instance, no project: the team and the user's agents.
    let team = bridge.daemon.runs.roster(None).agents.len();
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

pub(super) async fn test_relay(State(bridge): State<Arc<Bridge>>) -> Json<Value> {
    let team: Vec<String> = bridge.daemon.runs.roster(None).agents.iter().map(|a| a.manifest.id.clone()).collect();
    Json(json!({
        "status": "success",
        "message": "the PAIRED 2.0 daemon relays to its agents",
        "alexActive": true,
        "teamAgents": team,
        "timestamp": timestamp(),
    }))
}

pub(super) async fn register_agent(
    State(bridge): State<Arc<Bridge>>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Response {
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
    let total = registered.len() + bridge.daemon.runs.roster(None).agents.len();
    Json(json!({ "success": true, "message": format!("agent {id} registered"), "totalAgents": total })).into_response()
}

pub(super) async fn register_instance(
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

pub(super) async fn cascade_intercept(
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

pub(super) async fn cli_command(
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
