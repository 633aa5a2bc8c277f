//! A session in flight and what it is made of: the orchestrator service's
//! handles ([`Orchestrator`]), a session's live state ([`Live`]), the board a
//! step's runs use ([`StepContext`], the runs service's [`Board`]), the
//! registry of running sessions, and persistence (one row per session,
//! append-only rows for its steps, board entries and conflicts).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use futures::future::BoxFuture;
use protocol::{
    agents::TextEdit,
    client::Event,
    workflows::{BoardEntry, BoardKind, ConflictRecord, RunWorkflowParams, SessionInfo, SessionStatus, StepRecord},
};
use rusqlite::{OptionalExtension, params};
use tokio::sync::oneshot;

use super::workflow;
use crate::{
    platform::{clock::now_ms, store::Store},
    services::runs::{Board, Env, Runs},
};

/// The orchestrator service: workflows run as sessions of agent runs.
pub struct Orchestrator {
    pub runs: Arc<Runs>,
    pub store: Store,
    pub sessions: Sessions,
}

impl Orchestrator {
    pub fn new(runs: Arc<Runs>, store: Store) -> Arc<Orchestrator> {
        Arc::new(Orchestrator { runs, store, sessions: Sessions::default() })
    }

    /// What runs see: configuration, events, the codebase, the roster.
    pub fn env(&self) -> &Env {
        self.runs.env()
    }

    /// The project a session is about: its agents and workflows, no other's.
    pub fn project_of(&self, params: &RunWorkflowParams) -> Option<std::path::PathBuf> {
        self.env().project_of(params.uri.as_deref(), params.workspace.as_deref())
    }
}

/// A session in flight: its live state, the runs it started, and the
/// questions it is waiting on.
pub struct Live {
    pub id: String,
    pub workflow: String,
    /// The project the session is about: whose agents its steps run.
    pub(super) project: Option<std::path::PathBuf>,
    pub(super) policy: workflow::Policy,
    /// The workflow's token budget, shared by all its runs.
    pub(super) max_tokens: Option<u64>,
    pub(super) state: Mutex<SessionInfo>,
    /// Edits that lost a conflict: (step key, edit index).
    pub(super) rejected: Mutex<HashSet<(String, usize)>>,
    pub(super) runs: Mutex<HashSet<String>>,
    pub(super) decisions: Mutex<HashMap<String, oneshot::Sender<u32>>>,
    pub(super) seq: std::sync::atomic::AtomicI64,
}

impl Live {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, SessionInfo> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> SessionInfo {
        self.lock().clone()
    }

    pub(super) fn track(&self, run: &str) {
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).insert(run.to_owned());
    }

    pub(super) fn untrack(&self, run: &str) {
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(run);
    }

    /// Cancels every run the session has in flight.
    pub(super) async fn cancel_runs(&self, orch: &Orchestrator) {
        let runs: Vec<String> = self.runs.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
        for run in runs {
            let _ = orch.runs.cancel(&run).await;
        }
    }

    /// A run on the session's behalf that is not a step (a plan, an
    /// arbitration): background class, cancelled with the session, its tokens
    /// counted against the session.
    pub(super) async fn run_for_session(
        &self,
        orch: &Arc<Orchestrator>,
        params: protocol::agents::RunParams,
    ) -> Result<protocol::agents::RunInfo, String> {
        let options = crate::services::runs::RunOptions {
            class: crate::services::scheduler::Class::Background,
            owner: self.id.clone(),
            board: None,
        };
        let (info, finished) = orch.runs.launch(params, options).await.map_err(|err| err.to_string())?;
        self.track(&info.id);
        let run = finished.await;
        self.untrack(&info.id);
        self.lock().tokens += run.tokens;
        Ok(run)
    }

    pub(super) fn next_seq(&self) -> i64 {
        self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// What a run started by a workflow step knows of its session: the board, as
/// the step may see it, for the `board_read` / `board_write` tools.
pub struct StepContext {
    pub session: String,
    pub step: String,
    pub agent: String,
    /// Step ids whose entries this step may read; `None` for all.
    pub sees: Option<Vec<String>>,
    pub(super) live: Arc<Live>,
    /// Called with each decision the step posts (conflicts between
    /// decisions are settled apart from the run that posted it).
    pub(super) on_decision: Box<dyn Fn(BoardEntry) + Send + Sync>,
    pub(super) orch: std::sync::Weak<Orchestrator>,
}

impl StepContext {
    /// The board entries this step may read.
    pub fn read(&self) -> Vec<BoardEntry> {
        let state = self.live.lock();
        state
            .board
            .iter()
            .filter(|e| {
                self.sees.as_ref().is_none_or(|sees| {
                    let base = e.step.split(['#', '[']).next().unwrap_or(&e.step);
                    sees.iter().any(|s| s == base) || e.step == self.step
                })
            })
            .cloned()
            .collect()
    }

    /// Tokens the session may still spend, if it has a budget.
    pub fn tokens_left(&self) -> Option<u64> {
        let spent = self.live.lock().tokens;
        self.live.max_tokens.map(|max| max.saturating_sub(spent))
    }

    /// Counts tokens a model request of this step used against the session.
    pub fn spend(&self, tokens: u64) {
        self.live.lock().tokens += tokens;
    }

    /// Writes an entry with this step's provenance.
    pub async fn write(&self, kind: &str, key: &str, text: &str) -> Result<(), String> {
        let Some(kind) = BoardKind::from_name(kind) else {
            return Err(format!("{kind:?} is not a board kind (fact, decision, artifact, question)"));
        };
        let entry = BoardEntry {
            kind,
            key: key.chars().take(200).collect(),
            text: text.chars().take(4000).collect(),
            agent: self.agent.clone(),
            step: self.step.clone(),
            at_ms: now_ms(),
        };
        let orch = self.orch.upgrade().ok_or("the daemon is stopping")?;
        post(&orch, &self.live, entry.clone()).await.map_err(|err| format!("cannot record it: {err:#}"))?;
        if entry.kind == BoardKind::Decision {
            (self.on_decision)(entry);
        }
        Ok(())
    }
}

impl Board for StepContext {
    fn session(&self) -> &str {
        &self.session
    }

    fn read(&self) -> Vec<BoardEntry> {
        StepContext::read(self)
    }

    fn tokens_left(&self) -> Option<u64> {
        StepContext::tokens_left(self)
    }

    fn spend(&self, tokens: u64) {
        StepContext::spend(self, tokens)
    }

    fn write<'a>(&'a self, kind: &'a str, key: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(StepContext::write(self, kind, key, text))
    }
}

/// The sessions running in this daemon.
#[derive(Default)]
pub struct Sessions {
    pub(super) live: Mutex<HashMap<String, (Arc<Live>, tokio::task::AbortHandle)>>,
    /// Sessions being resumed right now: a second resume is refused.
    pub(super) resuming: Mutex<HashSet<String>>,
}

impl Sessions {
    pub(super) fn get(&self, id: &str) -> Option<(Arc<Live>, tokio::task::AbortHandle)> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    pub(super) fn insert(&self, live: Arc<Live>, handle: tokio::task::AbortHandle) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).insert(live.id.clone(), (live, handle));
    }

    pub(super) fn remove(&self, id: &str) -> Option<(Arc<Live>, tokio::task::AbortHandle)> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(id)
    }

    pub(super) fn count(&self) -> usize {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

pub(super) async fn insert_session(orch: &Orchestrator, info: &SessionInfo) -> anyhow::Result<()> {
    let info = info.clone();
    let params_json = serde_json::to_string(&info.params)?;
    orch.store
        .call(move |conn| {
            conn.execute(
                "INSERT INTO sessions (id, workflow, status, created_ms, params) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![info.id, info.workflow, info.status.name(), info.created_ms as i64, params_json],
            )
        })
        .await?;
    Ok(())
}

/// Records the session's status; when it has finished, its usage event too,
/// in the same transaction (one per session; its tokens are its runs', which
/// have events of their own).
pub(super) async fn set_status(orch: &Orchestrator, info: &SessionInfo) -> anyhow::Result<()> {
    let info = info.clone();
    let edits = serde_json::to_string(&info.edits)?;
    let event = crate::platform::clock::new_id(&info.id);
    orch.store
        .call(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE sessions SET status = ?2, finished_ms = ?3, output = ?4, edits = ?5, tokens = ?6, error = ?7 WHERE id = ?1",
                params![
                    info.id,
                    info.status.name(),
                    info.finished_ms.map(|t| t as i64),
                    info.output,
                    edits,
                    info.tokens as i64,
                    info.error
                ],
            )?;
            let outcome = match info.status.name() {
                done @ ("succeeded" | "failed" | "cancelled") => Some(done),
                _ => None,
            };
            if let (Some(outcome), Some(finished)) = (outcome, info.finished_ms) {
                tx.execute(
                    "INSERT OR IGNORE INTO usage_events (id, source, at_ms, kind, agent, tokens_in, tokens_out, latency_ms,
                         outcome, findings, edits)
                     VALUES (?1, ?2, ?3, 'workflow', ?4, 0, 0, ?5, ?6, 0, ?7)",
                    params![
                        event,
                        info.id,
                        finished as i64,
                        info.workflow,
                        finished.saturating_sub(info.created_ms) as i64,
                        outcome,
                        info.edits.len() as i64
                    ],
                )?;
            }
            tx.commit()
        })
        .await?;
    Ok(())
}

pub(super) async fn append_step(orch: &Orchestrator, live: &Live, record: &StepRecord) -> anyhow::Result<()> {
    let (id, seq, json) = (live.id.clone(), live.next_seq(), serde_json::to_string(record)?);
    orch.store
        .call(move |conn| {
            conn.execute("INSERT INTO session_steps (session, seq, record) VALUES (?1, ?2, ?3)", params![id, seq, json])
        })
        .await?;
    Ok(())
}

/// Adds an entry to the board: in memory, on disk, to clients.
pub(super) async fn post(orch: &Orchestrator, live: &Live, entry: BoardEntry) -> anyhow::Result<()> {
    let (id, seq, json) = (live.id.clone(), live.next_seq(), serde_json::to_string(&entry)?);
    orch.store
        .call(move |conn| {
            conn.execute("INSERT INTO session_board (session, seq, entry) VALUES (?1, ?2, ?3)", params![id, seq, json])
        })
        .await?;
    let message = format!("board: {} {} by {}", entry.kind, entry.key, entry.agent);
    live.lock().board.push(entry);
    send_update(orch, live, None, Some(message));
    Ok(())
}

pub(super) async fn save_conflict(orch: &Orchestrator, live: &Live, record: &ConflictRecord) -> anyhow::Result<()> {
    let (id, key, json) = (live.id.clone(), record.id.clone(), serde_json::to_string(record)?);
    orch.store
        .call(move |conn| {
            conn.execute(
                "INSERT INTO session_conflicts (session, id, record) VALUES (?1, ?2, ?3)
                 ON CONFLICT (session, id) DO UPDATE SET record = excluded.record",
                params![id, key, json],
            )
        })
        .await?;
    Ok(())
}

pub(super) async fn load_session(orch: &Orchestrator, id: &str) -> anyhow::Result<Option<SessionInfo>> {
    let id = id.to_owned();
    orch.store
        .call(move |conn| {
            let row = conn
                .query_row(
                    "SELECT id, workflow, status, created_ms, finished_ms, params, output, edits, tokens, error
                     FROM sessions WHERE id = ?1",
                    params![id],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, i64>(3)?,
                            row.get::<_, Option<i64>>(4)?,
                            row.get::<_, String>(5)?,
                            row.get::<_, String>(6)?,
                            row.get::<_, String>(7)?,
                            row.get::<_, i64>(8)?,
                            row.get::<_, Option<String>>(9)?,
                        ))
                    },
                )
                .optional()?;
            let Some((id, workflow, status, created, finished, params_json, output, edits, tokens, error)) = row else {
                return Ok(None);
            };
            let column = |sql: &str| -> rusqlite::Result<Vec<String>> {
                let mut statement = conn.prepare(sql)?;
                let rows = statement.query_map(params![id], |row| row.get::<_, String>(0))?;
                rows.collect()
            };
            let steps = column("SELECT record FROM session_steps WHERE session = ?1 ORDER BY seq")?;
            let board = column("SELECT entry FROM session_board WHERE session = ?1 ORDER BY seq")?;
            let conflicts = column("SELECT record FROM session_conflicts WHERE session = ?1 ORDER BY rowid")?;
            let params: RunWorkflowParams = serde_json::from_str(&params_json).unwrap_or(RunWorkflowParams {
                workflow: workflow.clone(),
                uri: None,
                position: None,
                range: None,
                prompt: None,
                workspace: None,
                wait: false,
            });
            Ok(Some(SessionInfo {
                id,
                workflow,
                status: SessionStatus::from_name(&status),
                created_ms: created as u64,
                finished_ms: finished.map(|t| t as u64),
                params,
                steps: steps.iter().filter_map(|s| serde_json::from_str(s).ok()).collect(),
                conflicts: conflicts.iter().filter_map(|s| serde_json::from_str(s).ok()).collect(),
                board: board.iter().filter_map(|s| serde_json::from_str(s).ok()).collect(),
                edits: serde_json::from_str::<Vec<TextEdit>>(&edits).unwrap_or_default(),
                output,
                tokens: tokens as u64,
                error,
            }))
        })
        .await
}

pub(super) fn send_update(orch: &Orchestrator, live: &Live, step: Option<StepRecord>, message: Option<String>) {
    let status = live.lock().status;
    orch.env().send_event(Event::SessionUpdate {
        session_id: live.id.clone(),
        workflow: live.workflow.clone(),
        status,
        step: step.map(Box::new),
        message,
    });
}

/// A record's key without its loop round: `edit#2` → `edit`, `doc#3[4]` → `doc[4]`.
pub(super) fn base_key(key: &str) -> String {
    match key.find('#') {
        Some(hash) => {
            let rest = &key[hash + 1..];
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            format!("{}{}", &key[..hash], &rest[digits..])
        }
        None => key.to_owned(),
    }
}
