//! The runs service: `agents/*` and `runs/*`. A run is a row in SQLite from
//! the moment it starts (`records`): finished runs survive restarts, and a run
//! the daemon did not finish is marked failed with the reason at the next
//! start, never silently lost. Every run passes the scheduler; its work is an
//! offline skill (`offline`) or model mode (`model`); what it sees is its
//! [`Env`] and its own [`RunContext`], passed down explicitly.
//!
//! Layout, each file using only those after it: this file (the lifecycle:
//! launch, execute, cancel, wait) → `model` → `tools` → `offline` → `records`, `env`.

mod env;
mod model;
mod offline;
mod preview;
mod records;
#[cfg(test)]
mod tests;
mod tools;
mod verify;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use agents::{grants::Reach, skills::Skill};
pub use env::{Board, Env, Failed, Missing, MissingData, RunContext, RunError, provider_name, unknown_provider};
use futures::future::BoxFuture;
use protocol::{
    agents::{AgentDescription, AgentInfo, RunInfo, RunParams, RunStatus},
    client::Event,
};

use crate::{
    platform::{
        clock::{new_id, now_ms},
        store::Store,
        uri,
    },
    services::{
        codebase,
        roster::{Agent, Roster},
        scheduler::{Class, Lane, Scheduler},
    },
};

/// Runs in flight: id → the task to abort on `runs/cancel`.
#[derive(Default)]
struct ActiveRuns {
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

/// How a run is scheduled: its class, and whose queue it waits in.
#[derive(Clone)]
pub struct RunOptions {
    pub class: Class,
    /// Fair queueing is per owner: an editor client, a workflow session.
    pub owner: String,
    /// Set when a workflow step runs it: the session's board, for the tools.
    pub board: Option<Arc<dyn Board>>,
}

impl RunOptions {
    pub fn interactive() -> RunOptions {
        RunOptions { class: Class::Interactive, owner: "editor".into(), board: None }
    }
}

/// The runs service.
pub struct Runs {
    env: Arc<Env>,
    store: Store,
    scheduler: Arc<Scheduler>,
    active: ActiveRuns,
}

fn not_found(name: &str, roster: &Roster) -> RunError {
    let known: Vec<&str> = roster.agents.iter().map(|a| a.manifest.id.as_str()).collect();
    RunError::NotFound(format!("no agent named {name:?}; the team: {}", known.join(", ")))
}

impl Runs {
    /// Whether any run is in flight or waiting for its turn.
    pub fn busy(&self) -> bool {
        let (running, queued) = self.scheduler.load();
        running + queued > 0
    }

    pub fn new(env: Arc<Env>, store: Store, scheduler: Arc<Scheduler>) -> Runs {
        Runs { env, store, scheduler, active: ActiveRuns::default() }
    }

    /// What every run sees; the orchestrator reads the roster and the workspaces through it.
    pub fn env(&self) -> &Arc<Env> {
        &self.env
    }

    pub fn scheduler(&self) -> &Arc<Scheduler> {
        &self.scheduler
    }

    /// The agents of `project` (see [`Env::roster`]).
    pub fn roster(&self, project: Option<&std::path::Path>) -> Roster {
        self.env.roster(project)
    }

    /// An agent's info, with `ask` when a provider serves it.
    fn info_of(&self, agent: &Agent) -> AgentInfo {
        let mut info = agent.info();
        if let Some(provider) = self.env.provider_name(agent) {
            info.skills.push(crate::services::roster::ask_info(&agent.manifest.metadata.name, &provider));
        }
        info
    }

    /// `agents/problems`: agent files that did not load, and agents whose
    /// manifest names a provider the user did not configure.
    pub fn problems(&self, project: Option<&std::path::Path>) -> Vec<String> {
        let roster = self.roster(project);
        let mut problems = roster.errors.clone();
        problems.extend(roster.agents.iter().filter_map(|agent| unknown_provider(&self.env.config, agent)));
        problems
    }

    /// `agents/list`: the agents a request about `project` may use.
    pub fn list(&self, project: Option<&std::path::Path>) -> Vec<AgentInfo> {
        self.roster(project).agents.iter().map(|agent| self.info_of(agent)).collect()
    }

    /// `agents/describe`, as `project` has the agent.
    pub fn describe(&self, name: &str, project: Option<&std::path::Path>) -> Result<AgentDescription, RunError> {
        let roster = self.roster(project);
        let agent = roster.resolve(name).ok_or_else(|| not_found(name, &roster))?;
        Ok(AgentDescription { info: self.info_of(agent), manifest: agent.manifest.clone(), persona: agent.persona() })
    }

    /// `agents/run`: an interactive run queued as `owner`'s (interactive
    /// waiters are served owner by owner in turn).
    pub async fn run_for(self: &Arc<Self>, params: RunParams, owner: String) -> Result<RunInfo, RunError> {
        let wait = params.wait;
        let (info, finished) = self.launch(params, RunOptions { owner, ..RunOptions::interactive() }).await?;
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
        self: &Arc<Self>,
        params: RunParams,
        options: RunOptions,
    ) -> BoxFuture<'static, Result<(RunInfo, BoxFuture<'static, RunInfo>), RunError>> {
        let runs = self.clone();
        Box::pin(async move {
            let (info, finished) = runs.launch_unboxed(params, options).await?;
            Ok((info, Box::pin(finished) as BoxFuture<'static, RunInfo>))
        })
    }

    /// What the run will do, or why it cannot start.
    fn choose_work(
        &self,
        agent: &Agent,
        params: &RunParams,
        project: Option<&std::path::Path>,
    ) -> Result<Work, RunError> {
        let name = &agent.manifest.metadata.name;
        let policy = self.env.team.for_project(project);
        let run = policy::Action::Run { agent: agent.manifest.id.clone() };
        policy.check(&run, &format!("running {name}")).map_err(RunError::Refused)?;
        let provider = self.env.provider_name(agent);
        let wants_model = params.skill.as_deref() == Some("ask")
            || (params.skill.is_none() && params.prompt.is_some() && provider.is_some())
            || (params.skill.is_none() && agent.skills.is_empty() && provider.is_some());
        let configure = "define [providers.NAME] in config.toml and set [agents] provider = \"NAME\"";
        let unknown = unknown_provider(&self.env.config, agent);
        let wants_model = wants_model || (params.skill.is_none() && params.prompt.is_some() && unknown.is_some());
        if wants_model {
            let Some(provider) = provider else {
                return Err(RunError::Refused(unknown.unwrap_or(format!("{name} has no model provider: {configure}"))));
            };
            if params.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) {
                return Err(Missing::Prompt.refusal(name, "ask"));
            }
            let model = crate::services::team::policy::model_action(&self.env.config, &provider);
            policy.check(&model, &format!("asking the provider {provider}")).map_err(RunError::Refused)?;
            return Ok(Work::Ask { provider });
        }
        let skill = match &params.skill {
            Some(wanted) => match Skill::from_name(wanted).filter(|s| agent.skills.contains(s)) {
                Some(skill) => skill,
                None => {
                    let skills: Vec<&str> = agent.skills.iter().map(|s| s.name()).collect();
                    return Err(RunError::Invalid(format!(
                        "{name} has no skill {wanted:?}; its skills: {}",
                        skills.join(", ")
                    )));
                }
            },
            // Words and no skill: the skill that takes words (Alex routes a
            // request rather than assessing the project and ignoring it) —
            // unless the request is for one of the agent's own ("give me an
            // overview": Alex's assessment).
            None if params.prompt.as_deref().is_some_and(|p| !p.trim().is_empty())
                && agent.skills.iter().any(|s| s.scope() == agents::skills::Scope::Prompt) =>
            {
                let prompt = params.prompt.as_deref().unwrap_or_default();
                let own = agents::skills::route::matched(prompt)
                    .into_iter()
                    .next()
                    .filter(|(to, _)| *to == agent.manifest.id)
                    .and_then(|(_, skill)| Skill::from_name(&skill))
                    .filter(|skill| agent.skills.contains(skill));
                own.or_else(|| agent.skills.iter().copied().find(|s| s.scope() == agents::skills::Scope::Prompt))
                    .unwrap_or(agent.skills[0])
            }
            None => *agent.skills.first().ok_or_else(|| {
                RunError::Refused(unknown.clone().unwrap_or(format!(
                    "{name} has no offline skills and no model provider is configured; {configure}"
                )))
            })?,
        };
        let scope = skill.scope();
        // A review asked for with neither a file nor words (`paired agents run
        // sherlock --skill review` in a project) is the project's: its own
        // tools and tests (without any, a file is asked for). A request in words without a file ("review this")
        // is asked which file: running a whole suite is not what it meant.
        let project_review = skill == Skill::Review
            && self.env.config.sandbox.project_tools
            && params.prompt.as_deref().is_none_or(|p| p.trim().is_empty())
            && params.workspace.is_some()
            && matches!(self.env.workspace_for(params), Ok(Some(w)) if crate::services::checks::has_tools(&w.root));
        if scope.needs_file() && params.uri.is_none() && !project_review {
            return Err(Missing::File.refusal(name, skill.name()));
        }
        if scope == agents::skills::Scope::Prompt && params.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) {
            return Err(Missing::Prompt.refusal(name, skill.name()));
        }
        Ok(Work::Offline(skill))
    }

    /// The agent (from the roster of the project the run is about, never
    /// another's) and what it will do, once the run is allowed.
    fn prepare(&self, params: &RunParams) -> Result<(Agent, Work), RunError> {
        let project = self.env.project_of(params.uri.as_deref(), params.workspace.as_deref());
        let roster = self.roster(project.as_deref());
        let agent = roster.resolve(&params.agent).ok_or_else(|| not_found(&params.agent, &roster))?.clone();
        self.env.licensed(&agent).map_err(RunError::NeedsLicence)?;
        let work = self.choose_work(&agent, params, project.as_deref())?;
        if let Some(uri) = &params.uri {
            // A file of the workspace the run names, if it names one (a path from
            // another project is refused), never one outside its own workspace
            // through a link, never an excluded one.
            let within = params.workspace.as_deref().and_then(uri::to_path);
            codebase::resolve_uri(&self.env.codebase, uri, within.as_deref())?;
        }
        Ok((agent, work))
    }

    async fn launch_unboxed(
        self: Arc<Self>,
        params: RunParams,
        options: RunOptions,
    ) -> Result<(RunInfo, impl Future<Output = RunInfo> + Send + 'static), RunError> {
        // Reading the roster, the policy files and the paths the run names
        // touches the disk: off the async runtime.
        let (agent, work) = {
            let (runs, params) = (self.clone(), params.clone());
            tokio::task::spawn_blocking(move || runs.prepare(&params))
                .await
                .map_err(|err| RunError::Internal(format!("preparing the run stopped: {err}")))??
        };
        if let Work::Ask { provider } = &work {
            let model = self.env.config.providers.get(provider).map_or("", |p| p.model.as_str());
            let tokens = params.max_tokens.unwrap_or(u64::from(self.env.config.context.budget_tokens) * 2);
            self.env.quotas.admit(&agent.manifest.id, provider, model, tokens).await.map_err(RunError::Refused)?;
        }
        // Backpressure: a full queue is a clear refusal, not an unbounded wait.
        let lane = match &work {
            Work::Ask { provider } => Lane::Provider(provider.clone()),
            Work::Offline(_) => Lane::Offline,
        };
        let permit = self.scheduler.try_acquire(options.class, &lane);
        // Workflow steps wait their turn (a session bounds how many it has in
        // flight); a client's request beyond the queue is refused.
        if permit.is_none() && options.class == Class::Interactive {
            self.scheduler.admit(options.class).map_err(|busy| RunError::Busy(busy.to_string()))?;
        }
        let info = RunInfo {
            id: new_id("run"),
            agent: agent.manifest.id.clone(),
            skill: work.name().to_owned(),
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
        let session = options.board.as_ref().map(|board| board.session().to_owned());
        records::save(&self.store, &info, &params, session).await?;
        self.env.send_event(Event::RunUpdate {
            run_id: info.id.clone(),
            agent: info.agent.clone(),
            status: info.status,
            message: Some(format!("{}: {}", agent.manifest.metadata.name, work.name())),
            output_delta: None,
        });
        // The run starts only once it can be found to cancel (and to finish).
        let (registered, gate) = tokio::sync::oneshot::channel::<()>();
        let task = {
            let (runs, mut info, params) = (self.clone(), info.clone(), params.clone());
            crate::platform::stalls::spawn("agent run", async move {
                let _ = gate.await;
                let _permit = match permit {
                    Some(permit) => permit,
                    None => {
                        let permit = runs.scheduler.acquire(options.class, &options.owner, &lane).await;
                        info.status = RunStatus::Running;
                        records::set_running(&runs.store, &info.id).await;
                        runs.env.send_event(Event::RunUpdate {
                            run_id: info.id.clone(),
                            agent: info.agent.clone(),
                            status: RunStatus::Running,
                            message: None,
                            output_delta: None,
                        });
                        permit
                    }
                };
                let context = RunContext::new(info.id.clone(), options.board);
                runs.execute(context, info, agent, work, params).await
            })
        };
        self.active.insert(&info.id, task.abort_handle());
        let _ = registered.send(());
        let finished = self.clone().outcome(task, info.id.clone());
        Ok((info, finished))
    }

    /// The run once its task ends; a cancelled task's run as its row says.
    async fn outcome(self: Arc<Self>, task: tokio::task::JoinHandle<RunInfo>, id: String) -> RunInfo {
        match task.await {
            Ok(finished) => finished,
            // Cancelled: the row says so.
            Err(_) => match self.get(&id).await {
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
                    error: Some(err.to_string()),
                    tokens: 0,
                },
            },
        }
    }

    async fn execute(
        &self,
        context: RunContext,
        mut info: RunInfo,
        agent: Agent,
        work: Work,
        params: RunParams,
    ) -> RunInfo {
        // A run reads what its agent was granted; built-ins every file.
        let reach = Reach::of(&agent.manifest);
        let env = &self.env;
        let produced = async {
            match work {
                Work::Ask { .. } => model::ask(env, &context, &agent, &params).await,
                // A workflow step's run has a board: its documentation runs examples where cheap.
                Work::Offline(skill) => {
                    let examples =
                        if context.board.is_some() { offline::Examples::Workflow } else { offline::Examples::Asked };
                    offline::produce(env, &agent, skill, &params, (&reach, examples))
                        .await
                        .map(|produced| offline::labelled(env, &agent, skill, produced))
                }
            }
        };
        // A defect in a skill fails the run; it never leaves it running.
        let result = match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(produced)).await {
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
            Err(Failed { message, output, no_result }) => {
                info.status = if no_result { RunStatus::NoResult } else { RunStatus::Failed };
                info.error = Some(message);
                info.output = output;
            }
        }
        info.tokens = context.tokens_used();
        info.finished_ms = Some(now_ms());
        if let Work::Ask { provider } = &work {
            env.quotas.spent(&info.agent, provider, info.tokens).await;
        }
        // A cancel that won the race has written its row already; do not overwrite it.
        if self.active.remove(&info.id).is_none() {
            return self.get(&info.id).await.unwrap_or(info);
        }
        if let Err(err) = records::finish(&self.store, &info, &context.model_use()).await {
            tracing::error!(run = %info.id, "cannot record the run: {err:#}");
        }
        self.env.send_event(Event::RunUpdate {
            run_id: info.id.clone(),
            agent: info.agent.clone(),
            status: info.status,
            message: info.error.clone(),
            // Model output has streamed already, delta by delta.
            output_delta: (!info.output.is_empty() && !matches!(work, Work::Ask { .. })).then(|| info.output.clone()),
        });
        info
    }

    /// `runs/cancel`.
    pub async fn cancel(&self, id: &str) -> Result<RunInfo, RunError> {
        let current = self.get(id).await?;
        if current.status.is_finished() {
            return Ok(current);
        }
        let Some(task) = self.active.remove(id) else {
            // The run is recording its result right now: that result stands.
            return self.wait(id).await;
        };
        task.abort();
        let mut info = current;
        info.status = RunStatus::Cancelled;
        info.error = Some("cancelled by the user".into());
        info.finished_ms = Some(now_ms());
        records::finish(&self.store, &info, &env::ModelUse::default())
            .await
            .map_err(|err| RunError::Internal(format!("cannot record the cancel: {err:#}")))?;
        self.env.send_event(Event::RunUpdate {
            run_id: info.id.clone(),
            agent: info.agent.clone(),
            status: RunStatus::Cancelled,
            message: info.error.clone(),
            output_delta: None,
        });
        Ok(info)
    }

    /// `runs/get`.
    pub async fn get(&self, id: &str) -> Result<RunInfo, RunError> {
        records::get(&self.store, id).await
    }

    /// `runs/get` with `wait`: the run once it has finished.
    pub async fn wait(&self, id: &str) -> Result<RunInfo, RunError> {
        let found = crate::services::events::look_until(
            &self.env.events,
            crate::services::events::Interest::kinds(["run_update"]),
            || async { self.get(id).await.map(|run| run.status.is_finished().then_some(run)) },
            |event| matches!(event, Event::RunUpdate { run_id, status, .. } if run_id == id && status.is_finished()),
        )
        .await?;
        found.ok_or(RunError::ShuttingDown)
    }

    /// `runs/list`: the latest runs, newest first, without their output.
    pub async fn list_runs(&self, limit: u32) -> Result<Vec<RunInfo>, RunError> {
        records::list(&self.store, limit).await
    }
}

/// What a run does: model mode with a provider, or an offline skill.
#[derive(Debug, Clone)]
enum Work {
    Ask { provider: String },
    Offline(Skill),
}

impl Work {
    /// The skill's name, as the run records it.
    fn name(&self) -> &'static str {
        match self {
            Work::Ask { .. } => "ask",
            Work::Offline(skill) => skill.name(),
        }
    }
}
