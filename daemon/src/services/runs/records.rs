//! Runs as SQLite rows: written when a run starts, updated as it starts
//! running and when it ends, read by `runs/get` and `runs/list`.

use protocol::agents::{RunInfo, RunParams, RunStatus};
use rusqlite::{OptionalExtension, params};

use super::env::{ModelUse, RunError};
use crate::platform::store::Store;

fn internal(what: &str, err: impl std::fmt::Display) -> RunError {
    RunError::Internal(format!("{what}: {err}"))
}

pub(super) async fn set_running(store: &Store, id: &str) {
    let id = id.to_owned();
    let result = store
        .call(move |conn| {
            conn.execute("UPDATE agent_runs SET status = 'running' WHERE id = ?1 AND status = 'queued'", params![id])
        })
        .await;
    if let Err(err) = result {
        tracing::error!("cannot record a run as started: {err:#}");
    }
}

pub(super) async fn save(
    store: &Store,
    info: &RunInfo,
    params: &RunParams,
    session: Option<String>,
) -> Result<(), RunError> {
    let (info, params) = (info.clone(), serde_json::to_string(params).unwrap_or_default());
    store
        .call(move |conn| {
            conn.execute(
                "INSERT INTO agent_runs (id, agent, skill, status, uri, created_ms, params, session) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![info.id, info.agent, info.skill, info.status.name(), info.uri, info.created_ms as i64, params, session],
            )
        })
        .await
        .map(|_| ())
        .map_err(|err| internal("cannot record the run", format!("{err:#}")))
}

/// Records the run's end and, in the same transaction, its usage event (one
/// per run: a second end recorded for it, after a cancel race, adds none).
pub(super) async fn finish(store: &Store, info: &RunInfo, model: &ModelUse) -> anyhow::Result<()> {
    let info = info.clone();
    let findings = serde_json::to_string(&info.findings)?;
    let edits = serde_json::to_string(&info.edits)?;
    let model = model.clone();
    let event = crate::platform::clock::new_id(&info.id);
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE agent_runs SET status = ?2, finished_ms = ?3, output = ?4, findings = ?5, edits = ?6, error = ?7, tokens = ?8 WHERE id = ?1",
                params![
                    info.id,
                    info.status.name(),
                    info.finished_ms.map(|t| t as i64),
                    info.output,
                    findings,
                    edits,
                    info.error,
                    info.tokens as i64
                ],
            )?;
            let finished = info.finished_ms.unwrap_or(info.created_ms);
            let tokens_out = model.tokens_out.min(info.tokens);
            tx.execute(
                "INSERT OR IGNORE INTO usage_events (id, source, at_ms, kind, agent, skill, provider, model, tokens_in,
                     tokens_out, latency_ms, outcome, findings, edits)
                 VALUES (?1, ?2, ?3, 'run', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    event,
                    info.id,
                    finished as i64,
                    info.agent,
                    info.skill,
                    model.provider,
                    model.model,
                    (info.tokens - tokens_out) as i64,
                    tokens_out as i64,
                    finished.saturating_sub(info.created_ms) as i64,
                    info.status.name(),
                    info.findings.len() as i64,
                    info.edits.len() as i64
                ],
            )?;
            tx.commit()
        })
        .await?;
    Ok(())
}

fn status_of(name: &str) -> RunStatus {
    match name {
        "queued" => RunStatus::Queued,
        "running" => RunStatus::Running,
        "succeeded" => RunStatus::Succeeded,
        "cancelled" => RunStatus::Cancelled,
        "no_result" => RunStatus::NoResult,
        _ => RunStatus::Failed,
    }
}

const COLUMNS: &str = "id, agent, skill, status, uri, created_ms, finished_ms, output, findings, edits, error, tokens";

fn row_to_info(row: &rusqlite::Row<'_>, with_output: bool) -> rusqlite::Result<RunInfo> {
    let findings: Option<String> = row.get(8)?;
    let edits: Option<String> = row.get(9)?;
    Ok(RunInfo {
        id: row.get(0)?,
        agent: row.get(1)?,
        skill: row.get(2)?,
        status: status_of(&row.get::<_, String>(3)?),
        uri: row.get(4)?,
        created_ms: row.get::<_, i64>(5)? as u64,
        finished_ms: row.get::<_, Option<i64>>(6)?.map(|t| t as u64),
        output: if with_output { row.get::<_, Option<String>>(7)?.unwrap_or_default() } else { String::new() },
        findings: if with_output {
            findings.and_then(|f| serde_json::from_str(&f).ok()).unwrap_or_default()
        } else {
            Vec::new()
        },
        edits: if with_output {
            edits.and_then(|e| serde_json::from_str(&e).ok()).unwrap_or_default()
        } else {
            Vec::new()
        },
        error: row.get(10)?,
        tokens: row.get::<_, i64>(11)? as u64,
    })
}

pub(super) async fn get(store: &Store, id: &str) -> Result<RunInfo, RunError> {
    let key = id.to_owned();
    let found = store
        .call(move |conn| {
            conn.query_row(&format!("SELECT {COLUMNS} FROM agent_runs WHERE id = ?1"), params![key], |row| {
                row_to_info(row, true)
            })
            .optional()
        })
        .await
        .map_err(|err| internal("cannot read runs", format!("{err:#}")))?;
    found.ok_or_else(|| RunError::NotFound(format!("no run {id:?}; `runs/list` shows recent runs")))
}

pub(super) async fn list(store: &Store, limit: u32) -> Result<Vec<RunInfo>, RunError> {
    let limit = limit.clamp(1, 1000);
    store
        .call(move |conn| {
            let mut statement = conn
                .prepare(&format!("SELECT {COLUMNS} FROM agent_runs ORDER BY created_ms DESC, rowid DESC LIMIT ?1"))?;
            let rows = statement.query_map(params![limit], |row| row_to_info(row, false))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .map_err(|err| internal("cannot read runs", format!("{err:#}")))
}
