//! The console's JSON API on the daemon: this machine's record, in the shapes
//! `console/src/api.ts` reads (the hub answers the same paths for a team).

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
    routing::get,
};
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::refuse;
use crate::{
    server::daemon::Daemon,
    services::{
        analytics::{self, UsageFilter},
        orchestrator::{self, WorkflowError},
        runs::RunError,
        team::policy::State as PolicyState,
    },
};

type DaemonState = State<Arc<Daemon>>;

/// The pages this back end serves (the hub adds `team`).
const PAGES: [&str; 7] = ["overview", "usage", "cost", "runs", "agents", "policy", "audit"];

pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/console/api/me", get(me))
        .route("/console/api/overview", get(overview))
        .route("/console/api/usage", get(usage))
        .route("/console/api/cost", get(cost))
        .route("/console/api/runs", get(runs))
        .route("/console/api/runs/{id}", get(run))
        .route("/console/api/sessions/{id}", get(session))
        .route("/console/api/agents", get(super::market::agents))
        .route("/console/api/market/search", get(super::market::search))
        .route("/console/api/market/{action}", axum::routing::post(super::market::change))
        .route("/console/api/policy", get(policy))
        .route("/console/api/policy/explain", get(explain))
        .route("/console/api/audit", get(audit))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "no such page in the console's API") })
        .with_state(daemon)
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A failed query: logged in full, answered in a sentence.
fn internal(err: anyhow::Error) -> Response {
    tracing::warn!("console query failed: {err:#}");
    refuse(StatusCode::INTERNAL_SERVER_ERROR, "the daemon could not read its database; see its log")
}

async fn me(State(d): DaemonState) -> Json<Value> {
    let team = crate::services::team::load(&d.paths).ok().flatten().map(|m| json!({"org": m.org, "hub": m.hub}));
    let name = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "you".into());
    Json(json!({
        "backend": "daemon",
        "name": name,
        "version": env!("CARGO_PKG_VERSION"),
        "pages": PAGES,
        "team": team,
    }))
}

#[derive(Debug, Deserialize)]
struct Period {
    days: Option<u32>,
}

async fn overview(State(d): DaemonState, Query(period): Query<Period>) -> Response {
    let prices = analytics::prices(&d.config);
    let days = period.days.unwrap_or(30);
    match d.store.call(move |conn| analytics::overview(conn, now_ms(), days, &prices)).await {
        Ok(report) => Json(report).into_response(),
        Err(err) => internal(err),
    }
}

#[derive(Debug, Deserialize)]
struct UsageQuery {
    days: Option<u32>,
    by: Option<String>,
    agent: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    kind: Option<String>,
    format: Option<String>,
}

async fn usage(State(d): DaemonState, Query(q): Query<UsageQuery>) -> Response {
    let prices = analytics::prices(&d.config);
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let filter = UsageFilter {
        agent: nonempty(q.agent),
        provider: nonempty(q.provider),
        model: nonempty(q.model),
        kind: nonempty(q.kind),
    };
    let by = q.by.unwrap_or_else(|| "agent".into());
    let days = q.days.unwrap_or(30);
    let report = match d.store.call(move |conn| analytics::usage(conn, now_ms(), days, &by, &filter, &prices)).await {
        Ok(report) => report,
        Err(err) => return internal(err),
    };
    if q.format.as_deref() != Some("csv") {
        return Json(report).into_response();
    }
    csv("paired-usage.csv", ::analytics::usage_csv(&report))
}

fn csv(name: &str, text: String) -> Response {
    let mut reply = Response::new(Body::from(text));
    let headers = reply.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    reply
}

async fn cost(State(d): DaemonState, Query(period): Query<Period>) -> Response {
    let prices = analytics::prices(&d.config);
    let days = period.days.unwrap_or(30);
    match d.store.call(move |conn| analytics::cost(conn, now_ms(), days, &prices)).await {
        Ok(report) => Json(report).into_response(),
        Err(err) => internal(err),
    }
}

#[derive(Debug, Deserialize)]
struct RunsQuery {
    status: Option<String>,
    limit: Option<u32>,
}

async fn runs(State(d): DaemonState, Query(q): Query<RunsQuery>) -> Response {
    let status = q.status.filter(|s| !s.is_empty());
    let limit = q.limit.unwrap_or(100);
    let found = d
        .store
        .call(move |conn| {
            let runs = analytics::runs(conn, status.as_deref(), limit)?;
            let sessions = analytics::sessions(conn, status.as_deref(), limit)?;
            Ok(json!({"runs": runs, "sessions": sessions}))
        })
        .await;
    match found {
        Ok(found) => Json(found).into_response(),
        Err(err) => internal(err),
    }
}

async fn run(State(d): DaemonState, Path(id): Path<String>) -> Response {
    match d.runs.get(&id).await {
        Ok(info) => Json(info).into_response(),
        Err(RunError::NotFound(message)) => refuse(StatusCode::NOT_FOUND, &message),
        Err(err) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}

async fn session(State(d): DaemonState, Path(id): Path<String>) -> Response {
    match orchestrator::get(&d.orchestrator, &id).await {
        Ok(info) => Json(info).into_response(),
        Err(WorkflowError::NotFound(message)) => refuse(StatusCode::NOT_FOUND, &message),
        Err(err) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}

/// The policy's actions, as `paired policy explain ACTION:WHAT` names them.
const ACTIONS: [&str; 6] = ["run", "model", "send", "install", "grant", "mcp"];

async fn policy(State(d): DaemonState) -> Json<Value> {
    let (state, summary, rules) = match crate::services::team::policy::state(&d.paths) {
        PolicyState::None => {
            ("none", "No team policy applies: this machine joined no hub that signs one.".to_owned(), Vec::new())
        }
        PolicyState::FailsClosed(why) => (
            "fails_closed",
            format!(
                "The team policy cannot be trusted ({why}): until the hub is reached, what it would decide is refused."
            ),
            Vec::new(),
        ),
        PolicyState::Applies(policy) => {
            let mut rules = Vec::new();
            for source in &policy.sources {
                let level = source.scope.split(':').next().unwrap_or(&source.scope).to_owned();
                for (path, value) in leaves(serde_json::to_value(&source.rules).unwrap_or_default()) {
                    rules.push(json!({"rule": format!("{path}: {value}"), "level": level, "source": source.scope}));
                }
            }
            (
                "applies",
                format!(
                    "The policy of {} (member {}), signed by its hub, valid until {}. A deny anywhere wins; then each allow list must allow.",
                    policy.org, policy.member, policy.expires_at
                ),
                rules,
            )
        }
    };
    Json(json!({"state": state, "summary": summary, "rules": rules, "actions": ACTIONS}))
}

/// `a.b.c` → leaf, for a nested JSON object (arrays are leaves).
fn leaves(value: Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let path = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
                    walk(&path, value, out);
                }
            }
            Value::Null => {}
            leaf => out.push((prefix.to_owned(), leaf.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

#[derive(Debug, Deserialize)]
struct Explain {
    action: String,
    what: String,
}

async fn explain(State(d): DaemonState, Query(q): Query<Explain>) -> Response {
    let action = match ::policy::Action::parse(&format!("{}:{}", q.action, q.what)) {
        Ok(action) => action,
        Err(err) => return refuse(StatusCode::BAD_REQUEST, &err),
    };
    // The team's levels and the user's own (the console is about no one project).
    let decision = crate::services::team::policy::TeamPolicy::new(d.paths.clone()).decide(&action);
    let (because, level) = (decision.because(), decision.level());
    Json(json!({"allowed": decision.allowed, "because": because, "level": level})).into_response()
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    q: Option<String>,
    limit: Option<u32>,
    format: Option<String>,
}

async fn audit(State(d): DaemonState, Query(q): Query<AuditQuery>) -> Response {
    let search = q.q.unwrap_or_default();
    let limit = q.limit.unwrap_or(200);
    let events = match d.store.call(move |conn| analytics::audit(conn, &search, limit)).await {
        Ok(events) => events,
        Err(err) => return internal(err),
    };
    if q.format.as_deref() == Some("csv") {
        let rows = events.iter().map(|e| {
            vec![analytics::day_time(e.at_ms), e.actor.clone(), e.action.clone(), e.target.clone(), e.details.clone()]
        });
        return csv("paired-audit.csv", analytics::to_csv(&["at", "actor", "action", "target", "details"], rows));
    }
    Json(json!({"events": events})).into_response()
}
