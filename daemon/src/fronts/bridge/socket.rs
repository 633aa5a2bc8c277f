//! 1.0's WebSocket: one connection per 1.0 client, an instance of its own for
//! as long as it lasts, each text frame a message answered in turn
//! ([`handle`]): the token and the project it names checked first, then the
//! reply ([`super::messages`]).

use std::{
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Instant,
};

use axum::{
    Extension, Json,
    extract::{
        State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{
    messages::{self, Frame},
    reach::connect,
    state::{Bridge, Instance, Presented, Reach, Registered, TOKEN_HINT, Trusted, error, now_ms, text},
};
use crate::server::daemon::Daemon;

/// Frames waiting for one connection's writer; context shared with a client
/// that does not read is dropped beyond this, not queued without bound.
const OUTBOX_FRAMES: usize = 16;

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

pub(super) async fn upgrade(
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
    let id = format!("instance-{}", bridge.next_instance.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
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
    let trusted = match admit(bridge, instance, &mut message) {
        Ok(trusted) => trusted,
        Err(refusal) => return refusal,
    };
    if let Err(refusal) = connect_named_project(bridge, instance, trusted, &kind, &message).await {
        return refusal;
    }
    // The file the 1.0 extension's user has open: what a message naming none is about.
    let active = message["context"]["activeFile"]["fileName"].as_str().map(str::to_owned);
    let (project, reach) = {
        let instances = bridge.instances();
        let Some(entry) = instances.get(instance) else { return error("this connection has closed") };
        (entry.project.clone(), Reach { trusted, projects: entry.connected.clone() })
    };
    let frame = Frame { bridge, instance, reach, project, active };
    messages::reply(&frame, &kind, message).await
}

/// Counts the message on its instance and checks the token it carries (taken
/// out first, so that no context stored or shared holds it): whether the
/// connection is trusted, or the refusal.
fn admit(bridge: &Bridge, instance: &str, message: &mut Value) -> Result<bool, Value> {
    let token = message.as_object_mut().and_then(|m| m.remove("token")).filter(|t| !t.is_null());
    let presented = bridge.check_token(token.as_ref().map(|t| t.as_str().unwrap_or("")));
    let trusted = {
        let mut instances = bridge.instances();
        let Some(entry) = instances.get_mut(instance) else { return Err(error("this connection has closed")) };
        entry.last_activity_ms = now_ms();
        entry.message_count += 1;
        match presented {
            Presented::Wrong => return Err(error(&format!("wrong token; {TOKEN_HINT}"))),
            Presented::Valid => entry.trusted = true,
            Presented::Nothing => {}
        }
        entry.trusted
    };
    if bridge.daemon.config.bridge.require_token && !trusted {
        return Err(error(&format!("this bridge requires a token (bridge.require_token); {TOKEN_HINT}")));
    }
    Ok(trusted)
}

/// `projectPath` on any message connects, as PROJECT_CONNECT does; the refusal
/// if the client may not connect to it.
async fn connect_named_project(
    bridge: &Bridge,
    instance: &str,
    trusted: bool,
    kind: &str,
    message: &Value,
) -> Result<(), Value> {
    let connecting = match kind {
        "PROJECT_CONNECT" => {
            let path = message["project"]["path"].as_str().or(message["projectPath"].as_str()).unwrap_or("");
            if path.is_empty() {
                return Err(error("PROJECT_CONNECT needs `project.path` (or `projectPath`)"));
            }
            Some(path.to_owned())
        }
        // The 1.0 extension names its project as `context.workspace.path`.
        _ => text(message, &["projectPath"])
            .or_else(|| message["context"]["workspace"]["path"].as_str().filter(|p| !p.trim().is_empty()))
            .map(str::to_owned),
    };
    if let Some(path) = connecting {
        match connect(&bridge.daemon, trusted, &path).await {
            Ok(root) => {
                if let Some(i) = bridge.instances().get_mut(instance) {
                    i.connected.insert(root.clone());
                    i.project = Some(root);
                }
            }
            // 1.0's monitor asks for the status with its working folder as `projectPath`.
            Err(_) if ABOUT_THE_BRIDGE.contains(&kind) => {}
            Err(refusal) => return Err(error(&format!("{kind}: {refusal}"))),
        }
    }
    Ok(())
}
