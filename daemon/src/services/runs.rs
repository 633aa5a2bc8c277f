//! `agents/*` and `runs/*`: the roster at the JSON-RPC edge, and runs of the
//! offline skills. A run is a row in SQLite from the moment it starts: finished
//! runs survive restarts, and a run the daemon did not finish is marked failed
//! with the reason at the next start, never silently lost.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use agents::{
    grants::Reach,
    skills::{self, History, RawEdit, RawFinding, SkillInput, SkillOutput},
};
use context::SyntaxDocument;
use futures::future::BoxFuture;
use jsonrpsee::types::ErrorObjectOwned;
use protocol::{
    agents::{AgentDescription, AgentInfo, Finding, Fix, RunInfo, RunParams, RunStatus, TextEdit},
    client::Event,
    documents::{Position, Range},
    errors,
};
use rusqlite::{OptionalExtension, params};

use crate::{
    platform::uri,
    server::daemon::Daemon,
    services::codebase::{self, LineIndex},
    services::documents::byte_offset,
    services::roster::{Agent, Roster},
    services::scheduler::Class,
    services::workspace::Workspace,
};

fn error(code: i32, message: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message, None::<()>)
}

/// What a run or a workflow lacks to start. The daemon says it in its own
/// terms, never in a parameter's name, and sends it as the error's data
/// (`{"missing": "file"}`, code invalid params); each front says what to do in
/// its own words: the CLI names its flag, ACP asks to attach or name a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// The skill works on a file (or a definition in one) and the run names none.
    File,
    /// The skill answers a request in words and the run has none.
    Prompt,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct MissingData {
    missing: Missing,
}

impl Missing {
    /// How a refusal says it; every refusal for want of this input holds
    /// these words (a front whose client kept only the message reads them).
    pub(crate) fn words(self) -> &'static str {
        match self {
            Missing::File => "works on a file, and none was named",
            Missing::Prompt => "needs a request in words, and none was given",
        }
    }

    fn refusal(self, agent: &str, skill: &str) -> ErrorObjectOwned {
        self.error(format!("{agent}'s {skill} {}", self.words()))
    }

    /// The error reply refusing for want of this input: `message` (which
    /// holds [`Missing::words`]) with `{"missing": …}` as its data.
    pub(crate) fn error(self, message: String) -> ErrorObjectOwned {
        debug_assert!(message.contains(self.words()), "{message}");
        ErrorObjectOwned::owned(errors::INVALID_PARAMS, message, Some(MissingData { missing: self }))
    }

    /// What a refused `agents/run` or `workflows/run` lacks: from the
    /// error's data, else from its words (for a front whose client kept only
    /// the message).
    pub fn of_error(message: &str, data: Option<&serde_json::value::RawValue>) -> Option<Missing> {
        data.and_then(|data| serde_json::from_str::<MissingData>(data.get()).ok())
            .map(|data| data.missing)
            .or_else(|| [Missing::File, Missing::Prompt].into_iter().find(|m| message.contains(m.words())))
    }
}

/// Runs in flight: id → the task to abort on `runs/cancel`.
#[derive(Default)]
pub struct ActiveRuns {
    tasks: Mutex<HashMap<String, tokio::task::AbortHandle>>,
}

impl ActiveRuns {
    fn insert(&self, id: &str, handle: tokio::task::AbortHandle) {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), handle);
    }

    fn remove(&self, id: &str) -> Option<tokio::task::AbortHandle> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).remove(id)
    }
}

pub fn roster(daemon: &Daemon) -> Roster {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let projects: Vec<PathBuf> = daemon.workspaces.all().iter().map(|w| w.root.clone()).collect();
    let market = crate::services::market::store::Store::new(&daemon.paths.data_dir).active_manifests();
    let roster = Roster::load(home.as_deref(), &daemon.paths.config_dir, &market, &projects);
    for problem in &roster.errors {
        tracing::warn!("agent file skipped: {problem}");
    }
    roster
}

/// An agent's info, with `ask` when a provider serves it.
fn info_of(daemon: &Daemon, agent: &Agent) -> AgentInfo {
    let mut info = agent.info();
    if let Some(provider) = crate::services::model::provider_name(&daemon.config, agent) {
        let mut ask = crate::services::roster::skill_info(&agent.manifest.metadata.name, "ask");
        ask.scope = "prompt".into();
        ask.description = format!("Ask, in model mode (provider {provider}), with the file's context and tools.");
        info.skills.push(ask);
    }
    info
}

pub fn list(daemon: &Daemon) -> Vec<AgentInfo> {
    roster(daemon).agents.iter().map(|agent| info_of(daemon, agent)).collect()
}

fn not_found(name: &str, roster: &Roster) -> ErrorObjectOwned {
    let known: Vec<&str> = roster.agents.iter().map(|a| a.manifest.id.as_str()).collect();
    error(errors::NOT_FOUND, format!("no agent named {name:?}; the team: {}", known.join(", ")))
}

pub fn describe(daemon: &Daemon, name: &str) -> Result<AgentDescription, ErrorObjectOwned> {
    let roster = roster(daemon);
    let agent = roster.resolve(name).ok_or_else(|| not_found(name, &roster))?;
    Ok(AgentDescription { info: info_of(daemon, agent), manifest: agent.manifest.clone(), persona: agent.persona() })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn new_run_id() -> String {
    let mut bytes = [0u8; 8];
    // An id, not a secret: fall back to the clock if the OS has no randomness.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = now_ms().to_le_bytes();
    }
    format!("run-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// How a run is scheduled: its class, and whose queue it waits in.
#[derive(Clone)]
pub struct RunOptions {
    pub class: Class,
    /// Fair queueing is per owner: an editor client, a workflow session.
    pub owner: String,
    /// Set when a workflow step runs it: the session's board, for the tools.
    pub step: Option<Arc<crate::services::orchestrator::StepContext>>,
}

impl RunOptions {
    pub fn interactive() -> RunOptions {
        RunOptions { class: Class::Interactive, owner: "editor".into(), step: None }
    }
}

/// `agents/run`: an interactive run.
pub async fn run(daemon: Arc<Daemon>, params: RunParams) -> Result<RunInfo, ErrorObjectOwned> {
    run_for(daemon, params, "editor".into()).await
}

/// An interactive run queued as `owner`'s (interactive waiters are served
/// owner by owner in turn).
pub async fn run_for(daemon: Arc<Daemon>, params: RunParams, owner: String) -> Result<RunInfo, ErrorObjectOwned> {
    let wait = params.wait;
    let (info, finished) = launch(daemon, params, RunOptions { owner, ..RunOptions::interactive() }).await?;
    if wait { Ok(finished.await) } else { Ok(info) }
}

/// Starts a run: the run as recorded, and a future of the run once finished
/// (dropping it does not stop the run; `cancel` does).
///
/// Boxed with its `Send` bound in the signature: runs can start runs (a
/// workflow's arbiter, reached from a tool call), and the compiler cannot
/// prove `Send` through a recursive chain of `async fn`s.
#[allow(clippy::type_complexity)]
pub fn launch(
    daemon: Arc<Daemon>,
    params: RunParams,
    options: RunOptions,
) -> BoxFuture<'static, Result<(RunInfo, BoxFuture<'static, RunInfo>), ErrorObjectOwned>> {
    Box::pin(async move {
        let (info, finished) = launch_unboxed(daemon, params, options).await?;
        Ok((info, Box::pin(finished) as BoxFuture<'static, RunInfo>))
    })
}

async fn launch_unboxed(
    daemon: Arc<Daemon>,
    params: RunParams,
    options: RunOptions,
) -> Result<(RunInfo, impl Future<Output = RunInfo> + Send + 'static), ErrorObjectOwned> {
    let roster = roster(&daemon);
    let agent = roster.resolve(&params.agent).ok_or_else(|| not_found(&params.agent, &roster))?.clone();
    licensed(&daemon, &agent).map_err(|why| error(errors::NEEDS_LICENCE, why))?;
    let provider = crate::services::model::provider_name(&daemon.config, &agent);
    let wants_model = params.skill.as_deref() == Some("ask")
        || (params.skill.is_none() && params.prompt.is_some() && provider.is_some())
        || (params.skill.is_none() && agent.skills.is_empty() && provider.is_some());
    let skill = match &params.skill {
        _ if wants_model => {
            if provider.is_none() {
                return Err(error(
                    errors::REFUSED,
                    format!(
                        "{} has no model provider: define [providers.NAME] in config.toml and set [agents] provider = \"NAME\"",
                        agent.manifest.metadata.name
                    ),
                ));
            }
            if params.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) {
                return Err(Missing::Prompt.refusal(&agent.manifest.metadata.name, "ask"));
            }
            "ask".to_owned()
        }
        Some(skill) if agent.skills.contains(&skill.as_str()) => skill.clone(),
        Some(skill) => {
            return Err(error(
                errors::INVALID_PARAMS,
                format!(
                    "{} has no skill {skill:?}; its skills: {}",
                    agent.manifest.metadata.name,
                    agent.skills.join(", ")
                ),
            ));
        }
        None => match agent.skills.first() {
            Some(first) => (*first).to_owned(),
            None => {
                return Err(error(
                    errors::REFUSED,
                    format!(
                        "{} has no offline skills and no model provider is configured; define [providers.NAME] in config.toml and set [agents] provider = \"NAME\"",
                        agent.manifest.metadata.name
                    ),
                ));
            }
        },
    };
    let scope = crate::services::roster::SKILLS.iter().find(|(name, ..)| *name == skill).map_or("prompt", |s| s.2);
    if matches!(scope, "file" | "symbol") && params.uri.is_none() {
        return Err(Missing::File.refusal(&agent.manifest.metadata.name, &skill));
    }
    if scope == "prompt" && params.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) {
        return Err(Missing::Prompt.refusal(&agent.manifest.metadata.name, &skill));
    }
    if let Some(uri) = &params.uri {
        // A file of the workspace the run names, if it names one (a path from
        // another project is refused), never one outside its own workspace
        // through a link, never an excluded one.
        let within = params.workspace.as_deref().and_then(uri::to_path);
        codebase::resolve_uri(&daemon, uri, within.as_deref())?;
    }
    // Backpressure: a full queue is a clear refusal, not an unbounded wait.
    let lane = if skill == "ask" {
        provider.clone().unwrap_or_default()
    } else {
        crate::services::scheduler::OFFLINE.to_owned()
    };
    let permit = daemon.scheduler.try_acquire(options.class, &lane);
    // Workflow steps wait their turn (a session bounds how many it has in
    // flight); a client's request beyond the queue is refused.
    if permit.is_none() && options.class == Class::Interactive {
        daemon.scheduler.admit(options.class).map_err(|busy| error(errors::LIMIT_EXCEEDED, busy.to_string()))?;
    }
    let info = RunInfo {
        id: new_run_id(),
        agent: agent.manifest.id.clone(),
        skill: skill.clone(),
        status: if permit.is_some() { RunStatus::Running } else { RunStatus::Queued },
        uri: params.uri.clone(),
        created_ms: now_ms(),
        finished_ms: None,
        output: String::new(),
        findings: Vec::new(),
        edits: Vec::new(),
        error: None,
        tokens: 0,
    };
    let session = options.step.as_ref().map(|step| step.session.clone());
    save(&daemon, &info, &params, session).await?;
    daemon.send_event(Event::RunUpdate {
        run_id: info.id.clone(),
        agent: info.agent.clone(),
        status: info.status,
        message: Some(format!("{}: {skill}", agent.manifest.metadata.name)),
        output_delta: None,
    });
    // The run starts only once it can be found to cancel (and to finish).
    let (registered, gate) = tokio::sync::oneshot::channel::<()>();
    let task = {
        let (daemon, mut info, params) = (daemon.clone(), info.clone(), params.clone());
        tokio::spawn(async move {
            let _ = gate.await;
            let _permit = match permit {
                Some(permit) => permit,
                None => {
                    let permit = daemon.scheduler.acquire(options.class, &options.owner, &lane).await;
                    info.status = RunStatus::Running;
                    set_running(&daemon, &info.id).await;
                    daemon.send_event(Event::RunUpdate {
                        run_id: info.id.clone(),
                        agent: info.agent.clone(),
                        status: RunStatus::Running,
                        message: None,
                        output_delta: None,
                    });
                    permit
                }
            };
            CURRENT_STEP.scope(options.step, execute(daemon, info, agent, params)).await
        })
    };
    daemon.active_runs.insert(&info.id, task.abort_handle());
    let _ = registered.send(());
    let finished = {
        let (daemon, id) = (daemon.clone(), info.id.clone());
        async move {
            match task.await {
                Ok(finished) => finished,
                // Cancelled: the row says so.
                Err(_) => match get(&daemon, &id).await {
                    Ok(info) => info,
                    Err(err) => RunInfo {
                        id,
                        agent: String::new(),
                        skill: String::new(),
                        status: RunStatus::Failed,
                        uri: None,
                        created_ms: now_ms(),
                        finished_ms: Some(now_ms()),
                        output: String::new(),
                        findings: Vec::new(),
                        edits: Vec::new(),
                        error: Some(err.message().to_owned()),
                        tokens: 0,
                    },
                },
            }
        }
    };
    Ok((info, finished))
}

async fn set_running(daemon: &Daemon, id: &str) {
    let id = id.to_owned();
    let result = daemon
        .store
        .call(move |conn| {
            conn.execute("UPDATE agent_runs SET status = 'running' WHERE id = ?1 AND status = 'queued'", params![id])
        })
        .await;
    if let Err(err) = result {
        tracing::error!("cannot record a run as started: {err:#}");
    }
}

async fn execute(daemon: Arc<Daemon>, mut info: RunInfo, agent: Agent, params: RunParams) -> RunInfo {
    let tokens = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // A run reads what its agent was granted; built-ins every file.
    let reach = Reach::of(&agent.manifest);
    let work = RUN_TOKENS.scope(
        tokens.clone(),
        CURRENT_RUN.scope(info.id.clone(), produce(&daemon, &agent, &info.skill, &params, &reach)),
    );
    // A defect in a skill fails the run; it never leaves it running.
    let result = match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(work)).await {
        Ok(result) => result,
        Err(_) => Err(Failed::from("the skill failed unexpectedly (a defect; please report it)".to_owned())),
    };
    match result {
        Ok((output, findings, edits)) => {
            info.status = RunStatus::Succeeded;
            info.output = output;
            info.findings = findings;
            info.edits = edits;
        }
        Err(Failed { message, output }) => {
            info.status = RunStatus::Failed;
            info.error = Some(message);
            info.output = output;
        }
    }
    info.tokens = tokens.load(std::sync::atomic::Ordering::Relaxed);
    info.finished_ms = Some(now_ms());
    // A cancel that won the race has written its row already; do not overwrite it.
    if daemon.active_runs.remove(&info.id).is_none() {
        return get(&daemon, &info.id).await.unwrap_or(info);
    }
    if let Err(err) = finish(&daemon, &info).await {
        tracing::error!(run = %info.id, "cannot record the run: {err:#}");
    }
    daemon.send_event(Event::RunUpdate {
        run_id: info.id.clone(),
        agent: info.agent.clone(),
        status: info.status,
        message: info.error.clone(),
        // Model output has streamed already, delta by delta.
        output_delta: (!info.output.is_empty() && info.skill != "ask").then(|| info.output.clone()),
    });
    info
}

type Produced = (String, Vec<Finding>, Vec<TextEdit>);

/// Why a run failed, and the output it had produced (and streamed) by then:
/// kept on the run, never thrown away with the error.
pub struct Failed {
    pub message: String,
    pub output: String,
}

impl From<String> for Failed {
    fn from(message: String) -> Failed {
        Failed { message, output: String::new() }
    }
}

/// The workspace a run works in: the file's, else the one named, else the only
/// one open.
pub(crate) fn workspace_for(daemon: &Daemon, params: &RunParams) -> Result<Option<Arc<Workspace>>, String> {
    if let Some(path) = params.uri.as_deref().and_then(uri::to_path) {
        return Ok(daemon.workspaces.resolve(&path, None).map_err(|why| why.to_string())?.workspace);
    }
    if let Some(folder) = &params.workspace {
        let path = uri::to_path(folder)
            .and_then(|p| p.canonicalize().ok())
            .ok_or_else(|| format!("{folder} is not a folder"))?;
        return daemon.workspaces.find_for(&path).map(Some).ok_or_else(|| {
            format!("{folder} is not open in PAIRED: open it in your editor, or run the command inside it")
        });
    }
    let all = daemon.workspaces.all();
    match all.len() {
        0 | 1 => Ok(all.into_iter().next()),
        n => Err(format!(
            "{n} project folders are open and nothing says which one: name a file, or the folder to work in"
        )),
    }
}

/// Gathers the skill's inputs and runs it off the async threads. The skill
/// sees only the files within `reach` (the file the run is on aside: the
/// caller checked it): the index it gets, the files it reads and the history
/// are cut down to them.
async fn produce(
    daemon: &Arc<Daemon>,
    agent: &Agent,
    skill: &str,
    params: &RunParams,
    reach: &Reach,
) -> Result<Produced, Failed> {
    if skill == "ask" {
        return ask(daemon, agent, params).await;
    }
    let path = params.uri.as_deref().and_then(uri::to_path);
    let workspace = workspace_for(daemon, params)?;
    if let Some(workspace) = &workspace {
        workspace.wait_ready().await;
    }
    let mut history = match (&workspace, skill) {
        (Some(workspace), "metrics" | "backlog") => git_history(&workspace.root).await,
        _ => None,
    };
    if let Some(history) = &mut history {
        history.files.retain(|path, _| reach.allows(path));
    }
    let reach = reach.clone();
    let uri = params.uri.clone();
    let (skill, prompt) = (skill.to_owned(), params.prompt.clone());
    let (range, position, reader) = (params.range, params.position, daemon.clone());
    let name = agent.manifest.metadata.name.clone();
    // One hop off the async threads for all the work: reading (and, for a file
    // no editor has open, parsing) the document, then the skill.
    tokio::task::spawn_blocking(move || {
        let document = match &uri {
            Some(uri) => Some(codebase::document_for(&reader, uri).map_err(|e| e.message().to_owned())?.0),
            None => None,
        };
        let selection = document.as_ref().map(|doc| {
            let text = doc.text();
            match (range, position) {
                (Some(range), _) => byte_offset(text, range.start)..byte_offset(text, range.end),
                (None, Some(position)) => {
                    let at = byte_offset(text, position);
                    at..at
                }
                (None, None) => 0..0,
            }
        });
        let index_guard = workspace.as_ref().map(|w| w.index());
        // A reach short of everything sees a copy of the index cut down to it.
        let restricted = match &index_guard {
            Some(index) if !reach.is_everything() => Some(index.restricted(|path| reach.allows(path))),
            _ => None,
        };
        let index = restricted.as_ref().or(index_guard.as_deref());
        let rel = match (&workspace, &path) {
            (Some(w), Some(p)) => w.relative(p).unwrap_or_else(|| p.display().to_string()),
            (None, Some(p)) => p.display().to_string(),
            _ => String::new(),
        };
        let read_file = |rel: &str| {
            let workspace = workspace.as_ref().filter(|_| reach.allows(rel))?;
            // The guard is held: read as `read_indexed` does, without its lock.
            index?.file(rel)?;
            crate::services::workspace::read_real(&workspace.root.join(rel))
        };
        let input = SkillInput {
            speaker: &name,
            path: &rel,
            document: document.as_ref(),
            selection,
            index,
            prompt: prompt.as_deref(),
            read_file: &read_file,
            history: history.as_ref(),
        };
        let output = run_skill(&skill, &input)?;
        let root = workspace.as_ref().map(|w| w.root.clone());
        Ok::<_, String>(convert(uri.as_deref(), document.as_ref(), root.as_deref(), output))
    })
    .await
    .map_err(|err| format!("the skill stopped unexpectedly: {err}"))?
    .map_err(Failed::from)
}

/// Model mode, grounded in the agent's own offline skill on the file when it has one.
async fn ask(daemon: &Arc<Daemon>, agent: &Agent, params: &RunParams) -> Result<Produced, Failed> {
    let name =
        crate::services::model::provider_name(&daemon.config, agent).ok_or("no provider is configured".to_owned())?;
    let provider = daemon.providers.get(&daemon.config, &name)?;
    let file_skill = agent
        .skills
        .iter()
        .copied()
        .find(|s| crate::services::roster::SKILLS.iter().any(|(name, _, scope, _)| name == s && *scope == "file"));
    let (mut findings, mut grounding) = (Vec::new(), None);
    if let (Some(skill), Some(_)) = (file_skill, &params.uri) {
        let reach = Reach::of(&agent.manifest);
        let (report, found, _) = Box::pin(produce(daemon, agent, skill, params, &reach)).await?;
        let listed: Vec<String> =
            found.iter().map(|f| format!("- line {}: [{}] {}", f.line, f.rule, f.message)).collect();
        grounding = Some(format!("{report}\n{}", listed.join("\n")));
        findings = found;
    }
    let run_id = CURRENT_RUN.try_with(Clone::clone).unwrap_or_default();
    let output = crate::services::model::run(daemon, agent, provider, &run_id, params, grounding).await?;
    findings.extend(output.findings);
    Ok((output.text, findings, output.edits))
}

/// Another agent's offline skill, for the `ask_agent` tool: its report and
/// findings as text. The asked agent reaches only what both it and the asking
/// agent (`caller`) may read, the file it is asked about included; `uri` is
/// a resolved file of `workspace`.
pub(crate) async fn offline(
    daemon: &Arc<Daemon>,
    caller: &Reach,
    name: &str,
    skill: Option<String>,
    uri: Option<String>,
    workspace: &Workspace,
) -> Result<String, String> {
    let roster = roster(daemon);
    let agent = roster.resolve(name).ok_or_else(|| not_found(name, &roster).message().to_owned())?.clone();
    licensed(daemon, &agent)?;
    let reach = caller.narrowed_to(&agent.manifest);
    if let Some(path) = uri.as_deref().and_then(uri::to_path) {
        let rel = workspace.relative(&path).ok_or_else(|| format!("{} is outside the workspace", path.display()))?;
        if let Some(why) = reach.refusal(&rel) {
            return Err(why);
        }
    }
    let workspace = Some(uri::from_path(&workspace.root));
    let skill = match skill {
        Some(skill) if agent.skills.contains(&skill.as_str()) => skill,
        Some(skill) => return Err(format!("{} has no skill {skill:?}", agent.manifest.metadata.name)),
        None => agent.skills.first().map(|s| (*s).to_owned()).ok_or("that agent has no offline skills")?,
    };
    let params = RunParams {
        agent: agent.manifest.id.clone(),
        skill: Some(skill.clone()),
        uri,
        position: None,
        range: None,
        prompt: None,
        workspace,
        wait: true,
        max_tokens: None,
    };
    let (report, findings, _) =
        Box::pin(produce(daemon, &agent, &skill, &params, &reach)).await.map_err(|f| f.message)?;
    let listed: Vec<String> =
        findings.iter().map(|f| format!("- line {}: [{}] {}", f.line, f.rule, f.message)).collect();
    Ok(format!("{report}\n{}", listed.join("\n")))
}

/// A paid marketplace agent runs only with a valid licence (checked offline),
/// for the licensee in force now: `[market]` applies as soon as config.toml is
/// saved, so the run reads the live configuration, not the one at start.
fn licensed(daemon: &Daemon, agent: &crate::services::roster::Agent) -> Result<(), String> {
    let market = daemon.live.market();
    crate::services::market::licence::may_run(
        &daemon.paths.data_dir,
        &agent.source,
        &agent.manifest,
        market.licensee.as_deref(),
    )
}

tokio::task_local! {
    /// The id of the run a task is executing, for streamed output.
    static CURRENT_RUN: String;
    /// Model tokens the current run has used.
    pub(crate) static RUN_TOKENS: Arc<std::sync::atomic::AtomicU64>;
    /// The workflow step the current run belongs to, if any.
    pub(crate) static CURRENT_STEP: Option<Arc<crate::services::orchestrator::StepContext>>;
}

/// An offline skill on one file's text, outside any workspace (the
/// marketplace's QA pipeline runs packages' test cases with it: their findings
/// count, and the report speaks as no agent in particular).
pub fn offline_skill(skill: &str, path: &str, text: String) -> Result<SkillOutput, String> {
    let document = context::SyntaxDocument::new(context::Language::from_path(path), text);
    let no_files = |_: &str| None;
    let input = SkillInput {
        speaker: "The agent",
        path,
        document: Some(&document),
        selection: None,
        index: None,
        prompt: None,
        read_file: &no_files,
        history: None,
    };
    run_skill(skill, &input)
}

fn run_skill(skill: &str, input: &SkillInput<'_>) -> Result<SkillOutput, String> {
    let document = || input.document.ok_or_else(|| format!("{skill} works on a file"));
    let cursor = input.selection.as_ref().map_or(0, |s| s.start);
    let speaker = input.speaker;
    Ok(match skill {
        "review" => skills::review::review_as(speaker, input.path, document()?),
        "metrics" => skills::metrics::metrics(speaker, input.path, document()?, input.history),
        "document" => skills::document::document(speaker, document()?, cursor),
        "tests" => skills::document::tests(speaker, input.path, document()?, cursor),
        "accessibility" => skills::accessibility::accessibility(speaker, input.path, document()?.text()),
        "architecture" => {
            let index =
                input.index.ok_or("open a workspace folder first: the architecture map comes from its index")?;
            skills::architecture::architecture(speaker, index)
        }
        "backlog" => backlog(input)?,
        "assess" => skills::route::assess(speaker, input.index),
        "route" => skills::route::route_output(speaker, input.prompt.unwrap_or("")),
        other => return Err(format!("unknown skill {other:?}")),
    })
}

/// The backlog: the workspace's tasks (or the file's, with no workspace), each
/// also a finding on its line.
fn backlog(input: &SkillInput<'_>) -> Result<SkillOutput, String> {
    let mut tasks = Vec::new();
    match input.index {
        Some(index) => {
            for path in index.paths() {
                if let Some(text) = (input.read_file)(path) {
                    tasks.extend(skills::backlog::tasks(path, &text));
                }
            }
        }
        None => {
            let doc = input.document.ok_or("open a workspace folder or pass a file")?;
            tasks.extend(skills::backlog::tasks(input.path, doc.text()));
        }
    }
    let report = skills::backlog::report(input.speaker, &tasks, input.history);
    let findings = tasks
        .iter()
        .map(|task| RawFinding {
            rule: "todo",
            severity: protocol::agents::Severity::Info,
            message: format!("{}: {}", task.tag, if task.text.is_empty() { "(no description)" } else { &task.text }),
            bytes: 0..0,
            path: Some(task.path.clone()),
            line: Some(task.line),
            fix: None,
        })
        .collect();
    Ok(SkillOutput { report, findings, ..SkillOutput::default() })
}

/// Byte offsets to LSP ranges, workspace paths to URIs.
fn convert(uri: Option<&str>, document: Option<&SyntaxDocument>, root: Option<&Path>, output: SkillOutput) -> Produced {
    let text = document.map_or("", |d| d.text());
    let lines = LineIndex::new(text);
    let range =
        |bytes: &std::ops::Range<usize>| Range { start: lines.position(bytes.start), end: lines.position(bytes.end) };
    let file_uri = |path: &str| root.map_or_else(|| path.to_owned(), |r| uri::from_path(&r.join(path)));
    let edit = |e: &RawEdit| match &e.path {
        Some(path) => TextEdit {
            uri: file_uri(path),
            range: Range { start: Position { line: 0, character: 0 }, end: Position { line: 0, character: 0 } },
            new_text: e.new_text.clone(),
        },
        None => {
            TextEdit { uri: uri.unwrap_or_default().to_owned(), range: range(&e.bytes), new_text: e.new_text.clone() }
        }
    };
    let findings = output
        .findings
        .iter()
        .map(|f| {
            let (finding_uri, range) = match (&f.path, f.line) {
                (Some(path), Some(line)) => (
                    Some(file_uri(path)),
                    Range { start: Position { line, character: 0 }, end: Position { line: line + 1, character: 0 } },
                ),
                _ => (uri.map(str::to_owned), range(&f.bytes)),
            };
            Finding {
                rule: f.rule.to_owned(),
                severity: f.severity,
                message: f.message.clone(),
                uri: finding_uri,
                line: range.start.line + 1,
                range,
                fix: f
                    .fix
                    .as_ref()
                    .map(|fix| Fix { title: fix.title.clone(), edits: fix.edits.iter().map(edit).collect() }),
            }
        })
        .collect();
    (output.report, findings, output.edits.iter().map(edit).collect())
}

/// Per-file commits, churn and authors from `git log` (up to 2,000 commits, 10 s).
async fn git_history(root: &Path) -> Option<History> {
    let output = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["log", "--no-merges", "-n", "2000", "--numstat", "--relative", "--format=%x00%an"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    if !output.status.success() {
        return None;
    }
    let mut history = History::default();
    let mut author = String::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some(name) = line.strip_prefix('\0') {
            author = name.to_owned();
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(added), Some(removed), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let file = history.files.entry(path.to_owned()).or_default();
        file.commits += 1;
        file.lines_changed += added.parse::<u64>().unwrap_or(0) + removed.parse::<u64>().unwrap_or(0);
        match file.authors.iter_mut().find(|(a, _)| *a == author) {
            Some((_, n)) => *n += 1,
            None => file.authors.push((author.clone(), 1)),
        }
    }
    for file in history.files.values_mut() {
        file.authors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    Some(history)
}

pub async fn cancel(daemon: &Daemon, id: &str) -> Result<RunInfo, ErrorObjectOwned> {
    let current = get(daemon, id).await?;
    if current.status.is_finished() {
        return Ok(current);
    }
    let Some(task) = daemon.active_runs.remove(id) else {
        // The run is recording its result right now: that result stands.
        return wait(daemon, id).await;
    };
    task.abort();
    let mut info = current;
    info.status = RunStatus::Cancelled;
    info.error = Some("cancelled by the user".into());
    info.finished_ms = Some(now_ms());
    finish(daemon, &info).await.map_err(|err| error(errors::INTERNAL, format!("cannot record the cancel: {err:#}")))?;
    daemon.send_event(Event::RunUpdate {
        run_id: info.id.clone(),
        agent: info.agent.clone(),
        status: RunStatus::Cancelled,
        message: info.error.clone(),
        output_delta: None,
    });
    Ok(info)
}

async fn save(
    daemon: &Daemon,
    info: &RunInfo,
    params: &RunParams,
    session: Option<String>,
) -> Result<(), ErrorObjectOwned> {
    let (info, params) = (info.clone(), serde_json::to_string(params).unwrap_or_default());
    daemon
        .store
        .call(move |conn| {
            conn.execute(
                "INSERT INTO agent_runs (id, agent, skill, status, uri, created_ms, params, session) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![info.id, info.agent, info.skill, info.status.name(), info.uri, info.created_ms as i64, params, session],
            )
        })
        .await
        .map(|_| ())
        .map_err(|err| error(errors::INTERNAL, format!("cannot record the run: {err:#}")))
}

async fn finish(daemon: &Daemon, info: &RunInfo) -> anyhow::Result<()> {
    let info = info.clone();
    let findings = serde_json::to_string(&info.findings)?;
    let edits = serde_json::to_string(&info.edits)?;
    daemon
        .store
        .call(move |conn| {
            conn.execute(
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
            )
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

pub async fn get(daemon: &Daemon, id: &str) -> Result<RunInfo, ErrorObjectOwned> {
    let key = id.to_owned();
    let found = daemon
        .store
        .call(move |conn| {
            conn.query_row(&format!("SELECT {COLUMNS} FROM agent_runs WHERE id = ?1"), params![key], |row| {
                row_to_info(row, true)
            })
            .optional()
        })
        .await
        .map_err(|err| error(errors::INTERNAL, format!("cannot read runs: {err:#}")))?;
    found.ok_or_else(|| error(errors::NOT_FOUND, format!("no run {id:?}; `runs/list` shows recent runs")))
}

/// `runs/get` with `wait`: the run once it has finished.
pub async fn wait(daemon: &Daemon, id: &str) -> Result<RunInfo, ErrorObjectOwned> {
    // Listen first, then look: a run finishing in between is seen either way.
    let mut events = daemon.events.subscribe();
    loop {
        let run = get(daemon, id).await?;
        if run.status.is_finished() {
            return Ok(run);
        }
        loop {
            match events.recv().await {
                Ok(Event::RunUpdate { run_id, status, .. }) if run_id == id && status.is_finished() => break,
                Ok(_) => {}
                // Missed some events: look again.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return Err(error(errors::DAEMON_UNAVAILABLE, "the daemon is shutting down".into()));
                }
            }
        }
    }
}

pub async fn list_runs(daemon: &Daemon, limit: u32) -> Result<Vec<RunInfo>, ErrorObjectOwned> {
    let limit = limit.clamp(1, 1000);
    daemon
        .store
        .call(move |conn| {
            let mut statement = conn
                .prepare(&format!("SELECT {COLUMNS} FROM agent_runs ORDER BY created_ms DESC, rowid DESC LIMIT ?1"))?;
            let rows = statement.query_map(params![limit], |row| row_to_info(row, false))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .map_err(|err| error(errors::INTERNAL, format!("cannot read runs: {err:#}")))
}
