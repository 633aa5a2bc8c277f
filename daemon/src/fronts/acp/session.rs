//! The sessions of this client and what they share: the daemon connection,
//! its events, the client's capabilities; a session's mode and its one turn at
//! a time, and the chat updates every part sends.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use acp::{
    schema::ProtocolVersion,
    v1::{ConnectionTo, schema::*},
};
use agent_client_protocol::{self as acp, Client};
use anyhow::{Context as _, Result};
use jsonrpsee::{
    core::client::{Subscription, SubscriptionClientT},
    ws_client::WsClient,
};
use protocol::{
    Subscription as _,
    agents::ProjectRef,
    agents::RunRef,
    client::{Attach, ClientHello, ClientKind, Event},
};
use tokio::sync::broadcast;

use crate::{
    platform::paths::Paths,
    server::client::{self, ByName},
};

/// The mode in which Alex routes each prompt.
pub(super) const TEAM: &str = "team";

/// How long a request waits for the daemon to come back before it fails.
const RECONNECT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

pub(super) struct Shared {
    /// The live daemon connection; `None` while reconnecting.
    connection: tokio::sync::watch::Sender<Option<Arc<WsClient>>>,
    pub(super) events: broadcast::Sender<Event>,
    pub(super) sessions: Mutex<HashMap<String, Session>>,
    pub(super) can_read: AtomicBool,
    pub(super) can_write: AtomicBool,
    pub(super) next_session: AtomicU64,
}

pub(super) struct Session {
    pub(super) cwd: PathBuf,
    pub(super) mode: String,
    /// Agents the user allowed to edit for the rest of the session.
    pub(super) trusted: Vec<String>,
    /// The prompt turn in progress: one at a time per session.
    pub(super) turn: Option<Turn>,
    pub(super) agents: Vec<AgentChoice>,
}

#[derive(Default)]
pub(super) struct Turn {
    pub(super) cancelled: bool,
    /// The daemon run, once started.
    pub(super) run: Option<String>,
}

#[derive(Clone)]
pub(super) struct AgentChoice {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) aliases: Vec<String>,
}

impl Shared {
    /// Attaches to the daemon (starting it if needed) as an ACP client. Its
    /// events go to every turn from a task of their own, which also reconnects
    /// when the daemon goes away (restarting it), attaches again and re-opens
    /// the sessions' folders: the editor's agent outlives a daemon restart.
    pub(super) async fn attach(paths: &Paths) -> Result<(Arc<Shared>, tokio::task::JoinHandle<()>)> {
        let (daemon, events) = connect(paths).await.context("cannot reach the PAIRED daemon")?;
        let (sender, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            connection: tokio::sync::watch::channel(Some(daemon)).0,
            events: sender,
            sessions: Mutex::new(HashMap::new()),
            can_read: AtomicBool::new(false),
            can_write: AtomicBool::new(false),
            next_session: AtomicU64::new(1),
        });
        let events_task = tokio::spawn(stay_connected(Arc::downgrade(&shared), paths.clone(), events));
        Ok((shared, events_task))
    }

    /// The daemon connection, waiting for a reconnect if there is none now
    /// (or the one there is has closed).
    pub(super) async fn daemon(&self) -> Result<Arc<WsClient>> {
        self.forget_if_closed();
        let mut live = self.connection.subscribe();
        match tokio::time::timeout(RECONNECT_WAIT, live.wait_for(Option::is_some)).await {
            Ok(Ok(connection)) => connection.clone().context("no daemon connection"),
            _ => anyhow::bail!(
                "the PAIRED daemon has not come back within {}s; see `paired doctor`",
                RECONNECT_WAIT.as_secs()
            ),
        }
    }

    /// A live daemon connection now (no waiting).
    pub(super) fn connected(&self) -> bool {
        self.connection.borrow().as_ref().is_some_and(|c| c.is_connected())
    }

    /// Drops a connection that has closed (the daemon went away), so callers
    /// wait for the reconnect instead of failing on it.
    pub(super) fn forget_if_closed(&self) {
        self.connection.send_if_modified(|current| {
            let closed = current.as_ref().is_some_and(|c| !c.is_connected());
            if closed {
                *current = None;
            }
            closed
        });
    }

    /// Calls `M` on the daemon (see [`client::call`]); once more on the next
    /// connection when this one closed under the call (the daemon went away:
    /// nothing it had taken survives it).
    pub(super) async fn call<M: protocol::Method>(&self, params: &M::Params) -> Result<M::Result> {
        let daemon = self.daemon().await?;
        match client::call::<M>(&daemon, params).await {
            Err(err) if err.downcast_ref::<client::Refused>().is_none() && !daemon.is_connected() => {
                self.forget_if_closed();
                client::call::<M>(&*self.daemon().await?, params).await
            }
            result => result,
        }
    }

    pub(super) fn initialize(&self, request: &InitializeRequest) -> InitializeResponse {
        self.can_read.store(request.client_capabilities.fs.read_text_file, Ordering::Relaxed);
        self.can_write.store(request.client_capabilities.fs.write_text_file, Ordering::Relaxed);
        InitializeResponse::new(ProtocolVersion::V1)
            .agent_capabilities(
                AgentCapabilities::new().prompt_capabilities(PromptCapabilities::new().embedded_context(true)),
            )
            .agent_info(Implementation::new("paired", env!("CARGO_PKG_VERSION")).title("PAIRED".to_owned()))
    }

    pub(super) async fn new_session(&self, request: NewSessionRequest) -> acp::Result<NewSessionResponse> {
        if !request.cwd.is_absolute() {
            return Err(acp::Error::invalid_params().data(format!("cwd must be absolute: {}", request.cwd.display())));
        }
        // The daemon keys workspaces by their real path; so do the grant checks.
        let cwd = std::fs::canonicalize(&request.cwd).map_err(|err| {
            acp::Error::invalid_params().data(format!("cwd {} is not a folder here: {err}", request.cwd.display()))
        })?;
        if let Some(why) = crate::services::workspace::unfit_root(&cwd) {
            return Err(acp::Error::invalid_params().data(why));
        }
        let folder = protocol::context::AddWorkspaceParams { folder: cwd.display().to_string(), wait: false };
        self.call::<protocol::context::AddWorkspace>(&folder).await.map_err(daemon_error)?;
        let agents: Vec<protocol::agents::AgentInfo> = self
            .call::<protocol::agents::List>(&ProjectRef { project: Some(folder.folder.clone()) })
            .await
            .map_err(daemon_error)?;
        let agents: Vec<AgentChoice> = agents
            .into_iter()
            .map(|a| AgentChoice { id: a.id, name: a.display_name, description: a.description, aliases: a.aliases })
            .collect();
        let id = format!("paired-{}-{}", std::process::id(), self.next_session.fetch_add(1, Ordering::Relaxed));
        let modes = modes(&agents, TEAM);
        self.sessions()
            .insert(id.clone(), Session { cwd, mode: TEAM.to_owned(), trusted: Vec::new(), turn: None, agents });
        Ok(NewSessionResponse::new(id).modes(modes))
    }

    pub(super) fn set_mode(&self, request: &SetSessionModeRequest) -> acp::Result<SetSessionModeResponse> {
        let mut sessions = self.sessions();
        let session = sessions.get_mut(&*request.session_id.0).ok_or_else(|| unknown_session(&request.session_id))?;
        let mode = request.mode_id.0.to_string();
        if mode != TEAM && !session.agents.iter().any(|a| a.id == mode) {
            return Err(acp::Error::invalid_params().data(format!("no agent or mode named {mode:?}")));
        }
        session.mode = mode;
        Ok(SetSessionModeResponse::new())
    }

    /// Reserves the session for one prompt turn.
    pub(super) fn begin_turn(&self, sid: &SessionId) -> acp::Result<()> {
        let mut sessions = self.sessions();
        let session = sessions.get_mut(&*sid.0).ok_or_else(|| unknown_session(sid))?;
        if session.turn.is_some() {
            return Err(
                acp::Error::invalid_request().data("a prompt is already running in this session; cancel it first")
            );
        }
        session.turn = Some(Turn::default());
        Ok(())
    }

    /// Ends the turn; says whether it was cancelled.
    pub(super) fn end_turn(&self, sid: &SessionId) -> bool {
        self.sessions().get_mut(&*sid.0).and_then(|s| s.turn.take()).is_some_and(|t| t.cancelled)
    }

    pub(super) fn is_cancelled(&self, sid: &SessionId) -> bool {
        self.sessions().get(&*sid.0).and_then(|s| s.turn.as_ref()).is_some_and(|t| t.cancelled)
    }

    /// Marks the session's turn cancelled; the run to stop, if one started.
    pub(super) fn mark_cancelled(&self, session_id: &str) -> Option<String> {
        let mut sessions = self.sessions();
        let turn = sessions.get_mut(session_id)?.turn.as_mut()?;
        turn.cancelled = true;
        turn.run.clone()
    }

    pub(super) async fn cancel_run(&self, run_id: String) {
        if let Err(err) = self.call::<protocol::agents::CancelRun>(&RunRef { run_id, wait: false }).await {
            tracing::warn!("cannot cancel the run: {err:#}");
        }
    }

    pub(super) async fn cancel_all(&self) {
        let ids: Vec<String> = self.sessions().keys().cloned().collect();
        for id in ids {
            if let Some(run_id) = self.mark_cancelled(&id) {
                self.cancel_run(run_id).await;
            }
        }
    }

    pub(super) fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connection to the daemon, attached as this ACP client, and its events.
async fn connect(paths: &Paths) -> Result<(Arc<WsClient>, Subscription<Event>)> {
    let connection = client::connect_or_start(paths).await?;
    let daemon = Arc::new(connection.client);
    let hello = ClientHello {
        kind: ClientKind::Acp,
        name: "paired acp".to_owned(),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        pid: Some(std::process::id()),
        workspace_folders: Vec::new(),
        events: Some(
            ["run_update", "run_edit", "session_update", "choice", "shutting_down"].map(String::from).to_vec(),
        ),
    };
    let events = daemon.subscribe(Attach::SUBSCRIBE, ByName(&hello), Attach::UNSUBSCRIBE).await?;
    Ok((daemon, events))
}

/// Passes the daemon's events on; when they end (the daemon went away),
/// reconnects — starting the daemon again — with a growing pause, and opens the
/// sessions' folders in the new daemon. Ends when the sessions are gone.
async fn stay_connected(shared: std::sync::Weak<Shared>, paths: Paths, mut events: Subscription<Event>) {
    loop {
        while let Some(event) = events.next().await {
            let Some(shared) = shared.upgrade() else { return };
            if let Ok(event) = event {
                let _ = shared.events.send(event);
            }
        }
        let Some(live) = shared.upgrade() else { return };
        live.connection.send_replace(None);
        drop(live);
        tracing::warn!("lost the PAIRED daemon; reconnecting");
        let mut pause = std::time::Duration::from_millis(100);
        events = loop {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(5));
            match connect(&paths).await {
                Ok((daemon, events)) => {
                    let Some(live) = shared.upgrade() else { return };
                    let folders: Vec<PathBuf> = live.sessions().values().map(|s| s.cwd.clone()).collect();
                    for folder in folders {
                        let params =
                            protocol::context::AddWorkspaceParams { folder: folder.display().to_string(), wait: false };
                        if let Err(err) = client::call::<protocol::context::AddWorkspace>(&daemon, &params).await {
                            tracing::warn!("cannot reopen {} in the daemon: {err:#}", folder.display());
                        }
                    }
                    live.connection.send_replace(Some(daemon));
                    tracing::info!("reconnected to the PAIRED daemon");
                    break events;
                }
                Err(err) => tracing::warn!("the PAIRED daemon is not back yet: {err:#}"),
            }
        };
    }
}

fn modes(agents: &[AgentChoice], current: &str) -> SessionModeState {
    let mut modes = vec![
        SessionMode::new(TEAM, "Team").description("Alex hands each request to the agent that fits it".to_owned()),
    ];
    modes.extend(
        agents.iter().map(|a| SessionMode::new(a.id.clone(), a.name.clone()).description(a.description.clone())),
    );
    SessionModeState::new(current.to_owned(), modes)
}

pub(super) fn update(cx: &ConnectionTo<Client>, sid: &SessionId, update: SessionUpdate) -> acp::Result<()> {
    cx.send_notification(SessionNotification::new(sid.clone(), update))
}

pub(super) fn say(cx: &ConnectionTo<Client>, sid: &SessionId, text: &str) -> acp::Result<()> {
    update(cx, sid, SessionUpdate::AgentMessageChunk(ContentChunk::new(ContentBlock::from(text.to_owned()))))
}

pub(super) fn say_thought(cx: &ConnectionTo<Client>, sid: &SessionId, text: &str) -> acp::Result<()> {
    update(cx, sid, SessionUpdate::AgentThoughtChunk(ContentChunk::new(ContentBlock::from(text.to_owned()))))
}

pub(super) fn unknown_session(id: &SessionId) -> acp::Error {
    acp::Error::invalid_params().data(format!("no session {id}: create one with session/new"))
}

pub(super) fn daemon_error(err: anyhow::Error) -> acp::Error {
    acp::Error::internal_error().data(format!("PAIRED daemon: {err:#}"))
}
