//! Runs, workflow sessions, the user's verdicts on agents' work, and the audit log.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub id: String,
    pub agent: String,
    pub skill: String,
    pub status: String,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
    pub tokens: i64,
    pub session: Option<String>,
    pub error: Option<String>,
}

/// The latest agent runs, newest first; `status` keeps only those.
pub fn runs(conn: &Connection, status: Option<&str>, limit: u32) -> rusqlite::Result<Vec<RunRow>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, agent, skill, status, created_ms, finished_ms, tokens, session, error FROM agent_runs
         WHERE ?1 IS NULL OR status = ?1 ORDER BY created_ms DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![status, limit.min(1000)], |row| {
        Ok(RunRow {
            id: row.get(0)?,
            agent: row.get(1)?,
            skill: row.get(2)?,
            status: row.get(3)?,
            created_ms: row.get(4)?,
            finished_ms: row.get(5)?,
            tokens: row.get(6)?,
            session: row.get(7)?,
            error: row.get(8)?,
        })
    })?;
    rows.collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    pub id: String,
    pub workflow: String,
    pub status: String,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
    pub tokens: i64,
    pub error: Option<String>,
}

/// The latest workflow sessions, newest first.
pub fn sessions(conn: &Connection, status: Option<&str>, limit: u32) -> rusqlite::Result<Vec<SessionRow>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, workflow, status, created_ms, finished_ms, tokens, error FROM sessions
         WHERE ?1 IS NULL OR status = ?1 ORDER BY created_ms DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![status, limit.min(1000)], |row| {
        Ok(SessionRow {
            id: row.get(0)?,
            workflow: row.get(1)?,
            status: row.get(2)?,
            created_ms: row.get(3)?,
            finished_ms: row.get(4)?,
            tokens: row.get(5)?,
            error: row.get(6)?,
        })
    })?;
    rows.collect()
}

/// A verdict on one of a run's (or a workflow session's) findings or edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// The run or session id.
    pub source: String,
    /// `finding:N` or `edit:N`.
    pub item: String,
    pub accepted: bool,
}

/// Records verdicts (a later one on the same item replaces the earlier).
/// `Ok(false)` when the source is not a run or session of this machine.
pub fn feedback(conn: &mut Connection, verdicts: &[Feedback], now_ms: i64) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    for verdict in verdicts {
        let known: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM agent_runs WHERE id = ?1 UNION ALL SELECT 1 FROM sessions WHERE id = ?1 LIMIT 1",
                [&verdict.source],
                |row| row.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO feedback (source, item, verdict, at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (source, item) DO UPDATE SET verdict = excluded.verdict, at_ms = excluded.at_ms",
            params![verdict.source, verdict.item, if verdict.accepted { "accepted" } else { "rejected" }, now_ms],
        )?;
    }
    tx.commit()?;
    Ok(true)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
}

/// Appends to the audit log.
pub fn record_audit(conn: &Connection, event: &AuditEvent) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_events (at_ms, actor, action, target, details) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![event.at_ms, event.actor, event.action, event.target, event.details],
    )?;
    Ok(())
}

/// The audit log, newest first; `search` keeps the events that mention it
/// (any field, case-insensitive, taken literally).
pub fn audit(conn: &Connection, search: &str, limit: u32) -> rusqlite::Result<Vec<AuditEvent>> {
    let pattern = format!("%{}%", search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let mut statement = conn.prepare_cached(
        "SELECT at_ms, actor, action, target, details FROM audit_events
         WHERE ?1 = '%%' OR actor LIKE ?1 ESCAPE '\\' OR action LIKE ?1 ESCAPE '\\'
             OR target LIKE ?1 ESCAPE '\\' OR details LIKE ?1 ESCAPE '\\'
         ORDER BY at_ms DESC, id DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![pattern, limit.min(10_000)], |row| {
        Ok(AuditEvent {
            at_ms: row.get(0)?,
            actor: row.get(1)?,
            action: row.get(2)?,
            target: row.get(3)?,
            details: row.get(4)?,
        })
    })?;
    rows.collect()
}
