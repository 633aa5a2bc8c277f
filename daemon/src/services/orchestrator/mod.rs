//! Multi-agent orchestration: workflows run as sessions of steps, each step an
//! agent run (or a fan-out of them); a shared board; conflicts between agents
//! detected and resolved by the workflow's strategy; everything persisted as it
//! happens, so a session the daemon did not finish is resumable.
//!
//! - `workflow`: the file format, validation, conditions, built-ins.
//! - `engine`: running a session: readiness, conditions, retries, timeouts,
//!   loops, fan-out, budgets, delegation by capability.
//! - `conflicts`: detection and the five strategies.
//! - this module: the session registry, persistence and the JSON-RPC surface.

mod conflicts;
mod engine;
pub mod workflow;

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex},
};

use jsonrpsee::types::ErrorObjectOwned;
use protocol::{
    agents::TextEdit,
    client::Event,
    errors,
    workflows::{
        BoardEntry, ConflictRecord, DecideParams, RunWorkflowParams, SessionInfo, SessionStatus, SessionSummary,
        StepRecord, WorkflowList,
    },
};
use rusqlite::{OptionalExtension, params};
use tokio::sync::oneshot;

use crate::server::daemon::Daemon;
pub use workflow::Workflow;

fn error(code: i32, message: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message, None::<()>)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A session in flight: its live state, the runs it started, and the
/// questions it is waiting on.
pub struct Live {
    pub id: String,
    pub workflow: String,
    policy: workflow::Policy,
    /// The workflow's token budget, shared by all its runs.
    max_tokens: Option<u64>,
    state: Mutex<SessionInfo>,
    /// Edits that lost a conflict: (step key, edit index).
    rejected: Mutex<HashSet<(String, usize)>>,
    runs: Mutex<HashSet<String>>,
    decisions: Mutex<HashMap<String, oneshot::Sender<u32>>>,
    seq: std::sync::atomic::AtomicI64,
}

impl Live {
    fn lock(&self) -> std::sync::MutexGuard<'_, SessionInfo> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> SessionInfo {
        self.lock().clone()
    }

    fn track(&self, run: &str) {
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).insert(run.to_owned());
    }

    fn untrack(&self, run: &str) {
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(run);
    }

    /// Cancels every run the session has in flight.
    async fn cancel_runs(&self, daemon: &Daemon) {
        let runs: Vec<String> = self.runs.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
        for run in runs {
            let _ = crate::services::runs::cancel(daemon, &run).await;
        }
    }

    /// A run on the session's behalf that is not a step (a plan, an
    /// arbitration): background class, cancelled with the session, its tokens
    /// counted against the session.
    async fn run_for_session(
        &self,
        daemon: &Arc<Daemon>,
        params: protocol::agents::RunParams,
    ) -> Result<protocol::agents::RunInfo, String> {
        let options = crate::services::runs::RunOptions {
            class: crate::services::scheduler::Class::Background,
            owner: self.id.clone(),
            step: None,
        };
        let (info, finished) = crate::services::runs::launch(daemon.clone(), params, options)
            .await
            .map_err(|err| err.message().to_owned())?;
        self.track(&info.id);
        let run = finished.await;
        self.untrack(&info.id);
        self.lock().tokens += run.tokens;
        Ok(run)
    }

    fn next_seq(&self) -> i64 {
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
    live: Arc<Live>,
    daemon: std::sync::Weak<Daemon>,
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
        if !matches!(kind, "fact" | "decision" | "artifact" | "question") {
            return Err(format!("{kind:?} is not a board kind (fact, decision, artifact, question)"));
        }
        let daemon = self.daemon.upgrade().ok_or("the daemon is stopping")?;
        let entry = BoardEntry {
            kind: kind.to_owned(),
            key: key.chars().take(200).collect(),
            text: text.chars().take(4000).collect(),
            agent: self.agent.clone(),
            step: self.step.clone(),
            at_ms: now_ms(),
        };
        post(&daemon, &self.live, entry.clone()).await.map_err(|err| format!("cannot record it: {err:#}"))?;
        if entry.kind == "decision" {
            // Settled apart from this run: a strategy may start a run (the
            // arbiter) or wait for the user, and this run holds a slot.
            let live = self.live.clone();
            crate::services::scheduler::background().spawn(async move {
                conflicts::check_decision(&daemon, &live, &entry).await;
            });
        }
        Ok(())
    }
}

/// The sessions running in this daemon.
#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, (Arc<Live>, tokio::task::AbortHandle)>>,
    /// Sessions being resumed right now: a second resume is refused.
    resuming: Mutex<HashSet<String>>,
}

impl Sessions {
    fn get(&self, id: &str) -> Option<(Arc<Live>, tokio::task::AbortHandle)> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    fn insert(&self, live: Arc<Live>, handle: tokio::task::AbortHandle) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).insert(live.id.clone(), (live, handle));
    }

    fn remove(&self, id: &str) -> Option<(Arc<Live>, tokio::task::AbortHandle)> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(id)
    }

    fn count(&self) -> usize {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Built-ins, then `.paired/workflows/*.toml` of each open workspace (a file
/// with a built-in's name replaces it), plus the files that did not load.
pub fn load(daemon: &Daemon) -> (Vec<Workflow>, Vec<String>) {
    load_from(daemon, None)
}

/// [`load`] with only `root`'s project files when one is given.
fn load_from(daemon: &Daemon, root: Option<&std::path::Path>) -> (Vec<Workflow>, Vec<String>) {
    let mut workflows: Vec<Workflow> =
        workflow::BUILTINS.iter().filter_map(|(name, text)| workflow::parse("built-in", name, text).ok()).collect();
    let mut problems = Vec::new();
    let folders: Vec<PathBuf> = match root {
        Some(root) => vec![root.join(".paired").join("workflows")],
        None => daemon.workspaces.all().iter().map(|w| w.root.join(".paired").join("workflows")).collect(),
    };
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "toml")) {
            let origin = file.display().to_string();
            // Small regular files only: a workflow is a page of TOML.
            match std::fs::symlink_metadata(&file) {
                Ok(meta) if meta.is_file() && meta.len() <= 256 * 1024 => {}
                Ok(_) => {
                    problems.push(format!("{origin}: not a regular file under 256 KiB"));
                    continue;
                }
                Err(err) => {
                    problems.push(format!("{origin}: {err}"));
                    continue;
                }
            }
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let parsed = std::fs::read_to_string(&file)
                .map_err(|err| format!("{origin}: {err}"))
                .and_then(|text| workflow::parse(&origin, &stem, &text));
            match parsed {
                Ok(found) => {
                    workflows.retain(|w| w.name != found.name);
                    workflows.push(found);
                }
                Err(problem) => problems.push(problem),
            }
        }
    }
    (workflows, problems)
}

pub fn list(daemon: &Daemon) -> WorkflowList {
    let (workflows, problems) = load(daemon);
    for problem in &problems {
        tracing::warn!("workflow file skipped: {problem}");
    }
    WorkflowList { workflows: workflows.iter().map(Workflow::info).collect(), problems }
}

/// The workflow a run means: the target workspace's own file first (a file in
/// another open project never stands in for it), else a built-in.
fn find(daemon: &Daemon, name: &str, params: &RunWorkflowParams) -> Result<Workflow, ErrorObjectOwned> {
    let target = params
        .uri
        .as_deref()
        .or(params.workspace.as_deref())
        .and_then(crate::platform::uri::to_path)
        .and_then(|p| daemon.workspaces.find_for(&p))
        .map(|w| w.root.clone());
    let (workflows, problems) = load_from(daemon, target.as_deref());
    if let Some(found) = workflows.into_iter().find(|w| w.name == name) {
        return Ok(found);
    }
    let broken: Vec<&String> = problems.iter().filter(|p| p.contains(&format!("{name}.toml"))).collect();
    let message = match broken.first() {
        Some(problem) => format!("the workflow {name:?} did not load: {problem}"),
        None => {
            let (known, _) = load(daemon);
            let names: Vec<String> = known.iter().map(|w| w.name.clone()).collect();
            format!("no workflow {name:?}; the workflows: {}", names.join(", "))
        }
    };
    Err(error(errors::NOT_FOUND, message))
}

fn new_session_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    format!("session-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// `workflows/run`.
pub async fn run(daemon: Arc<Daemon>, params: RunWorkflowParams) -> Result<SessionInfo, ErrorObjectOwned> {
    let workflow = find(&daemon, &params.workflow, &params)?;
    engine::preflight(&daemon, &workflow, &params).map_err(|unfit| match unfit.missing {
        Some(missing) => missing.error(unfit.message),
        None => error(errors::INVALID_PARAMS, unfit.message),
    })?;
    let limit = daemon.config.limits.max_sessions as usize;
    if daemon.sessions.count() >= limit {
        return Err(error(
            errors::LIMIT_EXCEEDED,
            format!(
                "the daemon is busy: {limit} workflow sessions are running (limits.max_sessions); try again when one finishes"
            ),
        ));
    }
    let info = SessionInfo {
        id: new_session_id(),
        workflow: workflow.name.clone(),
        status: SessionStatus::Running,
        created_ms: now_ms(),
        finished_ms: None,
        params: params.clone(),
        steps: Vec::new(),
        conflicts: Vec::new(),
        board: Vec::new(),
        edits: Vec::new(),
        output: String::new(),
        tokens: 0,
        error: None,
    };
    insert_session(&daemon, &info)
        .await
        .map_err(|err| error(errors::INTERNAL, format!("cannot record the session: {err:#}")))?;
    start(daemon, info, workflow, params.wait).await
}

/// Starts (or resumes) the driver of a session.
async fn start(
    daemon: Arc<Daemon>,
    info: SessionInfo,
    workflow: Workflow,
    wait: bool,
) -> Result<SessionInfo, ErrorObjectOwned> {
    let live = Arc::new(Live {
        id: info.id.clone(),
        workflow: info.workflow.clone(),
        policy: workflow.policy.clone(),
        max_tokens: workflow.max_tokens,
        seq: std::sync::atomic::AtomicI64::new((info.steps.len() + info.board.len()) as i64),
        rejected: Mutex::new(rejected_from(&info)),
        state: Mutex::new(info),
        runs: Mutex::default(),
        decisions: Mutex::default(),
    });
    let (registered, gate) = oneshot::channel::<()>();
    // Sessions are background work: they run on the low-priority runtime.
    let task = {
        let (daemon, live) = (daemon.clone(), live.clone());
        crate::services::scheduler::background().spawn(async move {
            let _ = gate.await;
            engine::drive(daemon, live, Arc::new(workflow)).await
        })
    };
    daemon.sessions.insert(live.clone(), task.abort_handle());
    let _ = registered.send(());
    let snapshot = live.snapshot();
    send_update(&daemon, &live, None, Some(format!("workflow {} started", live.workflow)));
    if !wait {
        return Ok(snapshot);
    }
    let _ = task.await;
    get(&daemon, &snapshot.id).await
}

/// Which edits lost a conflict, from the conflicts recorded (for a resume).
fn rejected_from(info: &SessionInfo) -> HashSet<(String, usize)> {
    let mut rejected = HashSet::new();
    for conflict in &info.conflicts {
        for (step, index) in conflicts::rejected_edits(conflict) {
            rejected.insert((step, index));
        }
    }
    rejected
}

/// `sessions/get`.
pub async fn get(daemon: &Daemon, id: &str) -> Result<SessionInfo, ErrorObjectOwned> {
    if let Some((live, _)) = daemon.sessions.get(id) {
        return Ok(live.snapshot());
    }
    load_session(daemon, id)
        .await
        .map_err(|err| error(errors::INTERNAL, format!("cannot read sessions: {err:#}")))?
        .ok_or_else(|| error(errors::NOT_FOUND, format!("no session {id:?}; `sessions/list` shows recent ones")))
}

/// `sessions/get` with `wait`.
pub async fn wait(daemon: &Daemon, id: &str) -> Result<SessionInfo, ErrorObjectOwned> {
    let mut events = daemon.events.subscribe();
    loop {
        let session = get(daemon, id).await?;
        if session.status.is_finished() || session.status == SessionStatus::Interrupted {
            return Ok(session);
        }
        loop {
            match events.recv().await {
                Ok(Event::SessionUpdate { session_id, status, .. })
                    if session_id == id && (status.is_finished() || status == SessionStatus::Interrupted) =>
                {
                    break;
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return Err(error(errors::DAEMON_UNAVAILABLE, "the daemon is shutting down".into()));
                }
            }
        }
    }
}

/// `sessions/resume`: continues a session the daemon did not finish.
pub async fn resume(daemon: Arc<Daemon>, id: &str, wait: bool) -> Result<SessionInfo, ErrorObjectOwned> {
    let claimed = daemon.sessions.resuming.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned());
    if !claimed || daemon.sessions.get(id).is_some() {
        if claimed {
            daemon.sessions.resuming.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        }
        return Err(error(errors::CONFLICT, format!("session {id} is running already")));
    }
    let outcome = resume_claimed(daemon.clone(), id, wait).await;
    daemon.sessions.resuming.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    outcome
}

async fn resume_claimed(daemon: Arc<Daemon>, id: &str, wait: bool) -> Result<SessionInfo, ErrorObjectOwned> {
    let mut info = get(&daemon, id).await?;
    if info.status != SessionStatus::Interrupted {
        return Err(error(
            errors::CONFLICT,
            format!("session {id} is {}; only an interrupted session can be resumed", info.status.name()),
        ));
    }
    let workflow = find(&daemon, &info.workflow, &info.params)
        .map_err(|err| error(errors::NOT_FOUND, format!("cannot resume: {}", err.message())))?;
    info.status = SessionStatus::Running;
    info.error = None;
    set_status(&daemon, &info)
        .await
        .map_err(|err| error(errors::INTERNAL, format!("cannot record the resume: {err:#}")))?;
    start(daemon, info, workflow, wait).await
}

/// `sessions/decide`: the user's answer to a `choice`.
pub async fn decide(daemon: &Daemon, params: DecideParams) -> Result<SessionInfo, ErrorObjectOwned> {
    let (live, _) = daemon
        .sessions
        .get(&params.session_id)
        .ok_or_else(|| error(errors::NOT_FOUND, format!("session {} is not running", params.session_id)))?;
    let sender = live.decisions.lock().unwrap_or_else(|p| p.into_inner()).remove(&params.conflict_id);
    let sender = sender.ok_or_else(|| {
        error(
            errors::NOT_FOUND,
            format!("session {} is not waiting on conflict {:?}", params.session_id, params.conflict_id),
        )
    })?;
    let options = live.lock().conflicts.iter().find(|c| c.id == params.conflict_id).map_or(0, |c| c.parties.len());
    if params.choice as usize >= options {
        // Put it back: a bad answer does not use up the question.
        live.decisions.lock().unwrap_or_else(|p| p.into_inner()).insert(params.conflict_id.clone(), sender);
        return Err(error(
            errors::INVALID_PARAMS,
            format!("choice {} is not one of the {options} options", params.choice),
        ));
    }
    let _ = sender.send(params.choice);
    Ok(live.snapshot())
}

/// `runs/cancel` on a session id: the whole tree stops.
pub async fn cancel(daemon: &Daemon, id: &str) -> Result<Option<SessionInfo>, ErrorObjectOwned> {
    let Some((live, handle)) = daemon.sessions.remove(id) else {
        return match load_session(daemon, id).await {
            Ok(Some(info)) => Ok(Some(info)),
            Ok(None) => Ok(None),
            Err(err) => Err(error(errors::INTERNAL, format!("cannot read sessions: {err:#}"))),
        };
    };
    handle.abort();
    live.cancel_runs(daemon).await;
    let info = {
        let mut state = live.lock();
        state.status = SessionStatus::Cancelled;
        state.error = Some("cancelled by the user".into());
        state.finished_ms = Some(now_ms());
        state.clone()
    };
    set_status(daemon, &info)
        .await
        .map_err(|err| error(errors::INTERNAL, format!("cannot record the cancel: {err:#}")))?;
    send_update(daemon, &live, None, Some("cancelled".into()));
    Ok(Some(info))
}

/// A session as a run, for `runs/cancel` on a session id.
pub fn as_run(session: &SessionInfo) -> protocol::agents::RunInfo {
    use protocol::agents::RunStatus;
    protocol::agents::RunInfo {
        id: session.id.clone(),
        agent: "paired".into(),
        skill: format!("workflow:{}", session.workflow),
        status: match session.status {
            SessionStatus::Succeeded => RunStatus::Succeeded,
            SessionStatus::Cancelled => RunStatus::Cancelled,
            SessionStatus::Running | SessionStatus::Waiting => RunStatus::Running,
            SessionStatus::Failed | SessionStatus::Interrupted => RunStatus::Failed,
        },
        uri: session.params.uri.clone(),
        created_ms: session.created_ms,
        finished_ms: session.finished_ms,
        output: session.output.clone(),
        findings: Vec::new(),
        edits: session.edits.clone(),
        error: session.error.clone(),
        tokens: session.tokens,
    }
}

pub async fn list_sessions(daemon: &Daemon, limit: u32) -> Result<Vec<SessionSummary>, ErrorObjectOwned> {
    let limit = limit.clamp(1, 1000);
    daemon
        .store
        .call(move |conn| {
            let mut statement = conn.prepare(
                "SELECT id, workflow, status, created_ms, finished_ms, error FROM sessions
                 ORDER BY created_ms DESC, rowid DESC LIMIT ?1",
            )?;
            let rows = statement.query_map(params![limit], |row| {
                Ok(SessionSummary {
                    id: row.get(0)?,
                    workflow: row.get(1)?,
                    status: SessionStatus::from_name(&row.get::<_, String>(2)?),
                    created_ms: row.get::<_, i64>(3)? as u64,
                    finished_ms: row.get::<_, Option<i64>>(4)?.map(|t| t as u64),
                    error: row.get(5)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .map_err(|err| error(errors::INTERNAL, format!("cannot read sessions: {err:#}")))
}

// Persistence: one row per session, and append-only rows for its steps, board
// and conflicts, written as each happens.

async fn insert_session(daemon: &Daemon, info: &SessionInfo) -> anyhow::Result<()> {
    let info = info.clone();
    let params_json = serde_json::to_string(&info.params)?;
    daemon
        .store
        .call(move |conn| {
            conn.execute(
                "INSERT INTO sessions (id, workflow, status, created_ms, params) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![info.id, info.workflow, info.status.name(), info.created_ms as i64, params_json],
            )
        })
        .await?;
    Ok(())
}

async fn set_status(daemon: &Daemon, info: &SessionInfo) -> anyhow::Result<()> {
    let info = info.clone();
    let edits = serde_json::to_string(&info.edits)?;
    daemon
        .store
        .call(move |conn| {
            conn.execute(
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
            )
        })
        .await?;
    Ok(())
}

async fn append_step(daemon: &Daemon, live: &Live, record: &StepRecord) -> anyhow::Result<()> {
    let (id, seq, json) = (live.id.clone(), live.next_seq(), serde_json::to_string(record)?);
    daemon
        .store
        .call(move |conn| {
            conn.execute("INSERT INTO session_steps (session, seq, record) VALUES (?1, ?2, ?3)", params![id, seq, json])
        })
        .await?;
    Ok(())
}

/// Adds an entry to the board: in memory, on disk, to clients.
async fn post(daemon: &Daemon, live: &Live, entry: BoardEntry) -> anyhow::Result<()> {
    let (id, seq, json) = (live.id.clone(), live.next_seq(), serde_json::to_string(&entry)?);
    daemon
        .store
        .call(move |conn| {
            conn.execute("INSERT INTO session_board (session, seq, entry) VALUES (?1, ?2, ?3)", params![id, seq, json])
        })
        .await?;
    let message = format!("board: {} {} by {}", entry.kind, entry.key, entry.agent);
    live.lock().board.push(entry);
    send_update(daemon, live, None, Some(message));
    Ok(())
}

async fn save_conflict(daemon: &Daemon, live: &Live, record: &ConflictRecord) -> anyhow::Result<()> {
    let (id, key, json) = (live.id.clone(), record.id.clone(), serde_json::to_string(record)?);
    daemon
        .store
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

async fn load_session(daemon: &Daemon, id: &str) -> anyhow::Result<Option<SessionInfo>> {
    let id = id.to_owned();
    daemon
        .store
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

fn send_update(daemon: &Daemon, live: &Live, step: Option<StepRecord>, message: Option<String>) {
    let status = live.lock().status;
    daemon.send_event(Event::SessionUpdate {
        session_id: live.id.clone(),
        workflow: live.workflow.clone(),
        status,
        step: step.map(Box::new),
        message,
    });
}
