//! The replies to 1.0's WebSocket messages, one message type after another,
//! for a connection that passed the token and project checks
//! ([`super::socket`]).

use std::{path::PathBuf, sync::Arc};

use serde_json::{Value, json};

use super::{
    answer::{Asked, answer, cli_route},
    state::{Bridge, Instance, Reach, agent_json, error, stored_bytes, text, timestamp},
};

/// A message's connection, as its reply needs it.
pub(super) struct Frame<'a> {
    pub(super) bridge: &'a Arc<Bridge>,
    pub(super) instance: &'a str,
    pub(super) reach: Reach,
    /// The project the instance works in.
    pub(super) project: Option<PathBuf>,
    /// The file the 1.0 extension's user has open: what a message naming none is about.
    pub(super) active: Option<String>,
}

impl Frame<'_> {
    /// `text` answered by `agent` (Alex if `None`).
    async fn answer(&self, agent: Option<&str>, text: &str) -> Result<(Option<Value>, String), String> {
        let asked = Asked { message: text.to_owned(), active: self.active.clone() };
        answer(&self.bridge.daemon, &self.reach, agent, &asked, self.project.as_deref()).await
    }

    /// The bridge's open WebSocket connections.
    fn connections(&self) -> usize {
        self.bridge.instances().values().filter(|i| i.outbox.is_some()).count()
    }
}

/// The reply to a message of type `kind`.
pub(super) async fn reply(frame: &Frame<'_>, kind: &str, message: Value) -> Value {
    let bridge = frame.bridge;
    let instance = frame.instance;
    let team = || bridge.daemon.runs.roster(frame.project.as_deref());
    match kind {
        "health_check" | "HEALTH_CHECK" => json!({
            "type": "health_response",
            "status": "healthy",
            "bridge": "running",
            "agents": team().agents.len(),
            "connections": frame.connections(),
            "timestamp": timestamp(),
        }),
        "AGENT_HEALTH" => json!({
            "type": "AGENT_HEALTH_RESPONSE",
            "status": "healthy",
            "agents": team().agents.iter().map(|a| a.manifest.id.clone()).collect::<Vec<_>>(),
            "timestamp": timestamp(),
        }),
        "AGENT_MESSAGE" => agent_message(frame, &message).await,
        "user_request" => user_request(frame, &message).await,
        "agent_request" => agent_request(frame, &message).await,
        "agent_message" | "context_share" => share_context(frame, &message),
        "get_instances" | "GET_CONNECTIONS" => instances_list(frame, kind),
        "PROJECT_CONNECT" => {
            json!({ "type": "PROJECT_CONNECTED", "project": message["project"], "instanceId": instance, "timestamp": timestamp() })
        }
        "STATUS_CHECK" => status(frame),
        "GET_UPTIME" => {
            json!({ "type": "UPTIME", "uptime": bridge.started.elapsed().as_secs(), "timestamp": timestamp() })
        }
        "GET_VERSION" => {
            json!({ "type": "VERSION", "version": env!("CARGO_PKG_VERSION"), "bridge": "paired-1.0-compatible", "timestamp": timestamp() })
        }
        // 1.0's lib/bridge/communication.js tests the bridge with `ping`.
        "PING" | "ping" => json!({ "type": "PONG", "timestamp": timestamp() }),
        "REGISTER_INSTANCE" => {
            json!({ "type": "INSTANCE_REGISTERED", "instanceId": instance, "projectPath": frame.project, "timestamp": timestamp() })
        }
        "LIST_AGENTS" => {
            let mut agents: Vec<Value> = team().agents.iter().map(agent_json).collect();
            agents.extend(bridge.registered.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned());
            json!({ "type": "AGENTS_LIST", "agents": agents, "timestamp": timestamp() })
        }
        "WINDSURF_CONTEXT" | "CONTEXT_UPDATE" => store_context(frame, message),
        "OPTIMIZE_CONTEXT" => optimize_context(frame, &message),
        "paired_cli_command" => cli_command(frame, &message).await,
        "" => error("a message needs a `type`"),
        other => error(&format!(
            "unknown message type {other:?}; the bridge answers health_check, AGENT_HEALTH, AGENT_MESSAGE, user_request, agent_request, agent_message, context_share, get_instances, PROJECT_CONNECT, STATUS_CHECK, GET_CONNECTIONS, GET_UPTIME, GET_VERSION, PING, ping, REGISTER_INSTANCE, LIST_AGENTS, WINDSURF_CONTEXT, CONTEXT_UPDATE, OPTIMIZE_CONTEXT, paired_cli_command"
        )),
    }
}

async fn agent_message(frame: &Frame<'_>, message: &Value) -> Value {
    let Some(text_in) = text(message, &["message", "content"]) else {
        return error("AGENT_MESSAGE needs `message` (or `content`)");
    };
    let target = text(message, &["agent", "targetAgent"]).map(str::to_owned);
    let (who, response) = match frame.answer(target.as_deref(), text_in).await {
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

async fn user_request(frame: &Frame<'_>, message: &Value) -> Value {
    let text_in = text(message, &["originalMessage", "message", "content"]).unwrap_or("");
    let target = text(message, &["requestedAgent", "agent", "targetAgent"]).map(str::to_owned);
    let (who, response) = match frame.answer(target.as_deref(), text_in).await {
        Ok(answered) => answered,
        Err(refusal) => return error(&refusal),
    };
    json!({ "type": "agent_response", "response": response, "agent": who.map(|w| w["id"].clone()), "timestamp": timestamp() })
}

async fn agent_request(frame: &Frame<'_>, message: &Value) -> Value {
    let text_in = text(message, &["message", "content"]).unwrap_or("");
    let target = text(message, &["agentName", "agent", "targetAgent"]).map(str::to_owned);
    let (who, response) = match frame.answer(target.as_deref(), text_in).await {
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

/// `agent_message`, `context_share`: shared with the other connected
/// instances, as 1.0 relayed it, but only those in a project this one
/// connected with (any, with a token).
fn share_context(frame: &Frame<'_>, message: &Value) -> Value {
    let instance = frame.instance;
    let shared = json!({
        "type": "context_shared",
        "from": instance,
        "context": message.get("context").or(message.get("message")).cloned().unwrap_or(Value::Null),
        "timestamp": timestamp(),
    });
    let mut delivered = 0;
    let instances = frame.bridge.instances();
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

/// `get_instances`, `GET_CONNECTIONS`: the instances this one sees.
fn instances_list(frame: &Frame<'_>, kind: &str) -> Value {
    let instance = frame.instance;
    let instances = frame.bridge.instances();
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

/// `STATUS_CHECK`: 1.0's scripts/status.sh reads `teamAgentsActive` and
/// `<id>Active` per agent.
fn status(frame: &Frame<'_>) -> Value {
    let roster = frame.bridge.daemon.runs.roster(frame.project.as_deref());
    let mut status = json!({
        "type": "STATUS",
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime": frame.bridge.started.elapsed().as_secs(),
        "agents": roster.agents.len(),
        "teamAgentsActive": roster.agents.len(),
        "connections": frame.connections(),
        "timestamp": timestamp(),
    });
    for agent in &roster.agents {
        status[format!("{}Active", agent.manifest.id)] = json!(true);
    }
    status
}

/// `WINDSURF_CONTEXT`, `CONTEXT_UPDATE`: the context kept for the instance.
fn store_context(frame: &Frame<'_>, mut message: Value) -> Value {
    let taken = ["context", "data"].iter().find_map(|key| message.as_object_mut()?.remove(*key));
    let context = taken.unwrap_or(message);
    let bytes = stored_bytes(&context);
    if let Some(i) = frame.bridge.instances().get_mut(frame.instance) {
        i.context = Some((context, bytes));
    }
    json!({ "type": "CONTEXT_RECEIVED", "instanceId": frame.instance, "timestamp": timestamp() })
}

/// `OPTIMIZE_CONTEXT`: what 1.0 promised, the context made smaller — here
/// secrets redacted and the text cut to the target at line boundaries.
fn optimize_context(frame: &Frame<'_>, message: &Value) -> Value {
    let stored = frame.bridge.instances().get(frame.instance).and_then(|i| i.context.as_ref().map(|(c, _)| c.clone()));
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

/// `paired_cli_command`: 1.0's bin/paired-enhanced and paired-kf32 send a
/// `/cli-command` over the WebSocket, answered with its `id`; they print
/// `result || message`.
async fn cli_command(frame: &Frame<'_>, message: &Value) -> Value {
    let command = text(message, &["command"]).unwrap_or("");
    let (agent, text_in) = cli_route(command, &message["args"]);
    let answered = frame.answer(Some(&agent), &text_in).await;
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
