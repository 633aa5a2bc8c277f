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
mod session;
pub mod workflow;

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use protocol::{
    client::Event,
    workflows::{DecideParams, RunWorkflowParams, SessionInfo, SessionStatus, SessionSummary, WorkflowList},
};
use rusqlite::params;
use tokio::sync::oneshot;

use session::{Live, insert_session, load_session, send_update, set_status};
pub use session::{Orchestrator, StepContext};
pub use workflow::Workflow;

use crate::{
    platform::clock::{new_id, now_ms},
    services::runs::Missing,
};

/// Why the orchestrator refused or could not answer a request.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// Not possible as configured (a step needs a model and none is).
    #[error("{0}")]
    Refused(String),
    /// An input the workflow needs is missing.
    #[error("{message}")]
    Missing { missing: Missing, message: String },
    /// Too many sessions are running.
    #[error("{0}")]
    Busy(String),
    /// The session is already being resumed, or has finished.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

/// The workflows of a request about `project`: built-ins, then the project's
/// `.paired/workflows/*.toml` (a file with a built-in's name replaces it) —
/// never another open project's — plus the files that did not load.
pub fn load(project: Option<&std::path::Path>) -> (Vec<Workflow>, Vec<String>) {
    let mut workflows: Vec<Workflow> =
        workflow::BUILTINS.iter().filter_map(|(name, text)| workflow::parse("built-in", name, text).ok()).collect();
    let mut problems = Vec::new();
    let folders: Vec<PathBuf> = project.map(|root| root.join(".paired").join("workflows")).into_iter().collect();
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

/// `workflows/list`, for `project`.
pub fn list(project: Option<&std::path::Path>) -> WorkflowList {
    let (workflows, problems) = load(project);
    for problem in &problems {
        tracing::warn!("workflow file skipped: {problem}");
    }
    WorkflowList { workflows: workflows.iter().map(Workflow::info).collect(), problems }
}

/// The workflow a run means: the target project's own file first (a file in
/// another open project never stands in for it), else a built-in.
fn find(orch: &Orchestrator, name: &str, params: &RunWorkflowParams) -> Result<Workflow, WorkflowError> {
    let project = orch.project_of(params);
    let (workflows, problems) = load(project.as_deref());
    if let Some(found) = workflows.into_iter().find(|w| w.name == name) {
        return Ok(found);
    }
    let broken: Vec<&String> = problems.iter().filter(|p| p.contains(&format!("{name}.toml"))).collect();
    let message = match broken.first() {
        Some(problem) => format!("the workflow {name:?} did not load: {problem}"),
        None => {
            let (known, _) = load(project.as_deref());
            let names: Vec<String> = known.iter().map(|w| w.name.clone()).collect();
            format!("no workflow {name:?}; the workflows: {}", names.join(", "))
        }
    };
    Err(WorkflowError::NotFound(message))
}

/// `workflows/run`.
pub async fn run(orch: Arc<Orchestrator>, params: RunWorkflowParams) -> Result<SessionInfo, WorkflowError> {
    let workflow = find(&orch, &params.workflow, &params)?;
    engine::preflight(&orch, &workflow, &params).map_err(|unfit| match unfit.missing {
        Some(missing) => WorkflowError::Missing { missing, message: unfit.message },
        None if unfit.refused => WorkflowError::Refused(unfit.message),
        None => WorkflowError::Invalid(unfit.message),
    })?;
    let limit = orch.env().config.limits.max_sessions as usize;
    if orch.sessions.count() >= limit {
        return Err(WorkflowError::Busy(format!(
            "the daemon is busy: {limit} workflow sessions are running (limits.max_sessions); try again when one finishes"
        )));
    }
    let info = SessionInfo {
        id: new_id("session"),
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
    insert_session(&orch, &info)
        .await
        .map_err(|err| WorkflowError::Internal(format!("cannot record the session: {err:#}")))?;
    start(orch, info, workflow, params.wait).await
}

/// Starts (or resumes) the driver of a session.
async fn start(
    orch: Arc<Orchestrator>,
    info: SessionInfo,
    workflow: Workflow,
    wait: bool,
) -> Result<SessionInfo, WorkflowError> {
    let live = Arc::new(Live {
        project: orch.project_of(&info.params),
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
        let (orch, live) = (orch.clone(), live.clone());
        crate::services::scheduler::background().spawn(async move {
            let _ = gate.await;
            engine::drive(orch, live, Arc::new(workflow)).await
        })
    };
    orch.sessions.insert(live.clone(), task.abort_handle());
    let _ = registered.send(());
    let snapshot = live.snapshot();
    send_update(&orch, &live, None, Some(format!("workflow {} started", live.workflow)));
    if !wait {
        return Ok(snapshot);
    }
    let _ = task.await;
    get(&orch, &snapshot.id).await
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
pub async fn get(orch: &Orchestrator, id: &str) -> Result<SessionInfo, WorkflowError> {
    if let Some((live, _)) = orch.sessions.get(id) {
        return Ok(live.snapshot());
    }
    load_session(orch, id)
        .await
        .map_err(|err| WorkflowError::Internal(format!("cannot read sessions: {err:#}")))?
        .ok_or_else(|| WorkflowError::NotFound(format!("no session {id:?}; `sessions/list` shows recent ones")))
}

/// `sessions/get` with `wait`.
pub async fn wait(orch: &Orchestrator, id: &str) -> Result<SessionInfo, WorkflowError> {
    let done = |status: SessionStatus| status.is_finished() || status == SessionStatus::Interrupted;
    let found = crate::services::events::look_until(
        &orch.env().events,
        crate::services::events::Interest::kinds(["session_update"]),
        || async { get(orch, id).await.map(|session| done(session.status).then_some(session)) },
        |event| matches!(event, Event::SessionUpdate { session_id, status, .. } if session_id == id && done(*status)),
    )
    .await?;
    found.ok_or(WorkflowError::ShuttingDown)
}

/// `sessions/resume`: continues a session the daemon did not finish.
pub async fn resume(orch: Arc<Orchestrator>, id: &str, wait: bool) -> Result<SessionInfo, WorkflowError> {
    let claimed = orch.sessions.resuming.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned());
    if !claimed || orch.sessions.get(id).is_some() {
        if claimed {
            orch.sessions.resuming.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        }
        return Err(WorkflowError::Conflict(format!("session {id} is running already")));
    }
    let outcome = resume_claimed(orch.clone(), id, wait).await;
    orch.sessions.resuming.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    outcome
}

async fn resume_claimed(orch: Arc<Orchestrator>, id: &str, wait: bool) -> Result<SessionInfo, WorkflowError> {
    let mut info = get(&orch, id).await?;
    if info.status != SessionStatus::Interrupted {
        return Err(WorkflowError::Conflict(format!(
            "session {id} is {}; only an interrupted session can be resumed",
            info.status.name()
        )));
    }
    // Right after a restart no editor may have opened the session's project
    // yet: open it, so its workflow and agents are found.
    reopen_project(&orch, &info.params);
    let workflow = find(&orch, &info.workflow, &info.params)
        .map_err(|err| WorkflowError::NotFound(format!("cannot resume: {}", err)))?;
    info.status = SessionStatus::Running;
    info.error = None;
    set_status(&orch, &info)
        .await
        .map_err(|err| WorkflowError::Internal(format!("cannot record the resume: {err:#}")))?;
    start(orch, info, workflow, wait).await
}

/// Opens the project a session's file or folder belongs to, when no open
/// workspace holds it and it can be a project.
fn reopen_project(orch: &Orchestrator, params: &RunWorkflowParams) {
    let workspaces = &orch.env().codebase.workspaces;
    let named = params.uri.as_deref().or(params.workspace.as_deref()).and_then(crate::platform::uri::to_path);
    let Some(path) = named.and_then(|p| p.canonicalize().ok()) else { return };
    if workspaces.find_for(&path).is_some() {
        return;
    }
    let folder = if path.is_dir() { path } else { path.parent().map_or(path.clone(), std::path::Path::to_path_buf) };
    let root = crate::services::workspace::project_root(&folder);
    if crate::services::workspace::unfit_root(&root).is_none() {
        tracing::info!(root = %root.display(), "opening the project of a session to resume");
        workspaces.add(root, &orch.env().events);
    }
}

/// `sessions/decide`: the user's answer to a `choice`.
pub async fn decide(orch: &Orchestrator, params: DecideParams) -> Result<SessionInfo, WorkflowError> {
    let (live, _) = orch
        .sessions
        .get(&params.session_id)
        .ok_or_else(|| WorkflowError::NotFound(format!("session {} is not running", params.session_id)))?;
    let sender = live.decisions.lock().unwrap_or_else(|p| p.into_inner()).remove(&params.conflict_id);
    let sender = sender.ok_or_else(|| {
        WorkflowError::NotFound(format!(
            "session {} is not waiting on conflict {:?}",
            params.session_id, params.conflict_id
        ))
    })?;
    let options = live.lock().conflicts.iter().find(|c| c.id == params.conflict_id).map_or(0, |c| c.parties.len());
    if params.choice as usize >= options {
        // Put it back: a bad answer does not use up the question.
        live.decisions.lock().unwrap_or_else(|p| p.into_inner()).insert(params.conflict_id.clone(), sender);
        return Err(WorkflowError::Invalid(format!("choice {} is not one of the {options} options", params.choice)));
    }
    let _ = sender.send(params.choice);
    Ok(live.snapshot())
}

/// `runs/cancel` on a session id: the whole tree stops.
pub async fn cancel(orch: &Orchestrator, id: &str) -> Result<Option<SessionInfo>, WorkflowError> {
    let Some((live, handle)) = orch.sessions.remove(id) else {
        return match load_session(orch, id).await {
            Ok(Some(info)) => Ok(Some(info)),
            Ok(None) => Ok(None),
            Err(err) => Err(WorkflowError::Internal(format!("cannot read sessions: {err:#}"))),
        };
    };
    handle.abort();
    live.cancel_runs(orch).await;
    let info = {
        let mut state = live.lock();
        state.status = SessionStatus::Cancelled;
        state.error = Some("cancelled by the user".into());
        state.finished_ms = Some(now_ms());
        state.clone()
    };
    set_status(orch, &info)
        .await
        .map_err(|err| WorkflowError::Internal(format!("cannot record the cancel: {err:#}")))?;
    send_update(orch, &live, None, Some("cancelled".into()));
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
            SessionStatus::NoResult => RunStatus::NoResult,
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

pub async fn list_sessions(orch: &Orchestrator, limit: u32) -> Result<Vec<SessionSummary>, WorkflowError> {
    let limit = limit.clamp(1, 1000);
    orch.store
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
        .map_err(|err| WorkflowError::Internal(format!("cannot read sessions: {err:#}")))
}
