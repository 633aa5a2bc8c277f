//! What every part of a run sees: the handles the runs service shares
//! ([`Env`]), the run's own context passed down explicitly ([`RunContext`]),
//! the workflow board a step's run may use ([`Board`], implemented by the
//! orchestrator), and how a run fails ([`Failed`], [`RunError`]).

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use futures::future::BoxFuture;
use protocol::{agents::RunParams, client::Event, workflows::BoardEntry};

use crate::{
    platform::{
        config::{Config, Live},
        paths::Paths,
        uri,
    },
    services::{
        codebase::{self, Codebase},
        market,
        provider::Providers,
        roster::{Agent, Roster},
        team::{policy::TeamPolicy, quota::Quotas},
        workspace::Workspace,
    },
};

/// The handles a run works with.
pub struct Env {
    /// The configuration the daemon started with.
    pub config: Arc<Config>,
    /// What of it applies again when the user's config file changes (the licensee).
    pub live: Arc<Live>,
    pub paths: Paths,
    pub events: crate::services::events::Events,
    pub codebase: Arc<Codebase>,
    pub providers: Providers,
    /// The team policy, when this machine has joined a hub.
    pub team: Arc<TeamPolicy>,
    /// The team's quotas: leases from the hub before model runs.
    pub quotas: Arc<Quotas>,
}

impl Env {
    /// Broadcasts an event to attached clients; none listening is fine.
    pub fn send_event(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// The agents available to a request about `project`: built-ins, the
    /// user's files, installed marketplace agents, and that project's own files
    /// — never another open project's. Loaded on each request: they are few
    /// and small, and an edit applies at once.
    pub fn roster(&self, project: Option<&Path>) -> Roster {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let installed = market::store::Store::new(&self.paths.data_dir).active_manifests();
        let roster = Roster::load(home.as_deref(), &self.paths.config_dir, &installed, project);
        for problem in &roster.errors {
            tracing::warn!("agent file skipped: {problem}");
        }
        roster
    }

    /// The project a run or a session is about: the workspace of its file,
    /// else the folder it names, else the only one open; none when nothing
    /// says which (then only the user's agents and workflows apply).
    pub fn project_of(&self, uri: Option<&str>, workspace: Option<&str>) -> Option<PathBuf> {
        if let Some(path) = uri.and_then(uri::to_path) {
            return self.codebase.workspaces.resolve(&path, None).ok()?.workspace.map(|w| w.root.clone());
        }
        if let Some(folder) = workspace {
            return self.project_named(folder);
        }
        let all = self.codebase.workspaces.all();
        (all.len() == 1).then(|| all[0].root.clone())
    }

    /// The project a client names (a folder, or a file in it, as a `file://`
    /// URI): the open workspace holding it, else the folder itself when it
    /// is one that can be a project.
    pub fn project_named(&self, reference: &str) -> Option<PathBuf> {
        let path = uri::to_path(reference)?.canonicalize().ok()?;
        if let Some(workspace) = self.codebase.workspaces.find_for(&path) {
            return Some(workspace.root.clone());
        }
        let folder = if path.is_dir() { path } else { path.parent()?.to_path_buf() };
        crate::services::workspace::unfit_root(&folder).is_none().then_some(folder)
    }

    /// The provider that serves `agent` in model mode, if any.
    pub fn provider_name(&self, agent: &Agent) -> Option<String> {
        provider_name(&self.config, agent)
    }

    /// The workspace a run works in: the file's, else the one named, else the
    /// only one open.
    pub fn workspace_for(&self, params: &RunParams) -> Result<Option<Arc<Workspace>>, String> {
        let workspaces = &self.codebase.workspaces;
        if let Some(path) = params.uri.as_deref().and_then(uri::to_path) {
            return Ok(workspaces.resolve(&path, None).map_err(|why| why.to_string())?.workspace);
        }
        if let Some(folder) = &params.workspace {
            let path = uri::to_path(folder)
                .and_then(|p| p.canonicalize().ok())
                .ok_or_else(|| format!("{folder} is not a folder"))?;
            return workspaces.find_for(&path).map(Some).ok_or_else(|| {
                format!("{folder} is not open in PAIRED: open it in your editor, or run the command inside it")
            });
        }
        let all = workspaces.all();
        match all.len() {
            0 | 1 => Ok(all.into_iter().next()),
            n => Err(format!(
                "{n} project folders are open and nothing says which one: name a file, or the folder to work in"
            )),
        }
    }

    /// A paid marketplace agent runs only with a valid licence (checked
    /// offline), for the licensee in force now: `[market]` applies as soon as
    /// config.toml is saved, so the run reads the live configuration.
    pub fn licensed(&self, agent: &Agent) -> Result<(), String> {
        let market = self.live.market();
        market::licence::may_run(&self.paths.data_dir, &agent.source, &agent.manifest, market.licensee.as_deref())
    }
}

/// The provider an agent uses: the user's choice for its id, else its
/// manifest's, else the default; none means offline only. A manifest naming
/// a provider the user did not configure gets none (see [`unknown_provider`]),
/// never the default in its place.
pub fn provider_name(config: &Config, agent: &Agent) -> Option<String> {
    // The user's own choice first: a manifest (which a cloned project can
    // carry) never sends an agent to a provider the user picked against.
    if let Some(chosen) = config.agents.providers.get(&agent.manifest.id) {
        return Some(chosen.clone());
    }
    match &agent.manifest.provider {
        Some(named) => config.providers.contains_key(named).then(|| named.clone()),
        None => config.agents.provider.clone(),
    }
}

/// Why an agent has no provider although its manifest names one: the
/// provider is not in the user's configuration (and the user chose none for
/// the agent). Said, not silently replaced by the default.
pub fn unknown_provider(config: &Config, agent: &Agent) -> Option<String> {
    let named = agent.manifest.provider.as_ref()?;
    if config.agents.providers.contains_key(&agent.manifest.id) || config.providers.contains_key(named) {
        return None;
    }
    Some(format!(
        "{}'s manifest ({}) names the model provider {named:?}, which config.toml does not define: define [providers.{named}], or choose one for it with [agents.providers] {} = \"NAME\"",
        agent.manifest.metadata.name, agent.source, agent.manifest.id
    ))
}

/// A workflow session's board and budget, as a run in one of its steps sees
/// them. The orchestrator implements it; the runs service knows nothing else
/// of workflows.
pub trait Board: Send + Sync {
    /// The session's id, recorded on the run.
    fn session(&self) -> &str;
    /// The board's entries, oldest first.
    fn read(&self) -> Vec<BoardEntry>;
    /// Tokens the session may still spend, if it has a budget.
    fn tokens_left(&self) -> Option<u64>;
    fn spend(&self, tokens: u64);
    /// Posts an entry as the step's agent (`kind`: fact, decision, artifact, question).
    fn write<'a>(&'a self, kind: &'a str, key: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// One run's own context, handed down from its start to the provider call.
#[derive(Clone)]
pub struct RunContext {
    /// The run's id, for streamed output.
    pub id: String,
    /// Model tokens the run has used.
    tokens: Arc<AtomicU64>,
    /// The model it asked and the tokens that came back (usage events).
    model: Arc<std::sync::Mutex<ModelUse>>,
    /// The workflow step the run belongs to, if any.
    pub board: Option<Arc<dyn Board>>,
}

impl RunContext {
    pub fn new(id: String, board: Option<Arc<dyn Board>>) -> RunContext {
        RunContext { id, tokens: Arc::default(), model: Arc::default(), board }
    }

    pub fn tokens_used(&self) -> u64 {
        self.tokens.load(Ordering::Relaxed)
    }

    pub fn spend(&self, tokens: u64) {
        self.tokens.fetch_add(tokens, Ordering::Relaxed);
    }

    /// The provider and model the run asks.
    pub fn asks(&self, provider: &str, model: &str) {
        let mut used = self.model.lock().unwrap_or_else(|p| p.into_inner());
        used.provider = Some(provider.to_owned());
        used.model = Some(model.to_owned()).filter(|m| !m.is_empty());
    }

    /// Of the tokens spent, those the model sent back.
    pub fn received(&self, tokens: u64) {
        self.model.lock().unwrap_or_else(|p| p.into_inner()).tokens_out += tokens;
    }

    pub fn model_use(&self) -> ModelUse {
        self.model.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Which model a run asked, and how many of its tokens were the model's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelUse {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub tokens_out: u64,
}

/// Why a run failed, and the output it had produced (and streamed) by then:
/// kept on the run, never thrown away with the error.
#[derive(Debug)]
pub struct Failed {
    pub message: String,
    pub output: String,
    /// Not a failure: the run worked and found nothing to give (`no_result`).
    pub no_result: bool,
}

impl From<String> for Failed {
    fn from(message: String) -> Failed {
        Failed { message, output: String::new(), no_result: false }
    }
}

impl Failed {
    /// A failure, with what the run had produced by then.
    pub fn with_output(message: String, output: String) -> Failed {
        Failed { message, output, no_result: false }
    }

    /// The run produced nothing the request asked for: `why`, with its report.
    pub fn no_result(why: String, output: String) -> Failed {
        Failed { message: why, output, no_result: true }
    }
}

/// What a run or a workflow lacks to start. The daemon says it in its own
/// terms, never in a parameter's name; each front says what to do in its own
/// words: the CLI names its flag, ACP asks to attach or name a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// The skill works on a file (or a definition in one) and the run names none.
    File,
    /// The skill answers a request in words and the run has none.
    Prompt,
}

/// How [`Missing`] travels as a JSON-RPC error's data: `{"missing": "file"}`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct MissingData {
    pub missing: Missing,
}

impl Missing {
    /// How a refusal says it; every refusal for want of this input holds
    /// these words (a front whose client kept only the message reads them).
    pub fn words(self) -> &'static str {
        match self {
            Missing::File => "works on a file, and none was named",
            Missing::Prompt => "needs a request in words, and none was given",
        }
    }

    /// The refusal of `agent`'s `skill` for want of this input.
    pub fn refusal(self, agent: &str, skill: &str) -> RunError {
        self.error(format!("{agent}'s {skill} {}", self.words()))
    }

    /// A refusal for want of this input; `message` holds [`Missing::words`].
    pub fn error(self, message: String) -> RunError {
        debug_assert!(message.contains(self.words()), "{message}");
        RunError::Missing { missing: self, message }
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

/// Why the runs service refused or could not answer a request.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    NotFound(String),
    /// Not allowed or not possible as configured (no provider, no skills).
    #[error("{0}")]
    Refused(String),
    /// An input the skill needs is missing.
    #[error("{message}")]
    Missing { missing: Missing, message: String },
    #[error("{0}")]
    Invalid(String),
    /// The scheduler's queue is full.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    NeedsLicence(String),
    /// The database failed.
    #[error("{0}")]
    Internal(String),
    #[error("the daemon is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Codebase(#[from] codebase::Error),
}
