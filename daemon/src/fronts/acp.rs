//! `paired acp`: the PAIRED team as an Agent Client Protocol agent on stdio, for
//! JetBrains AI Assistant, Zed and Neovim plugins (CodeCompanion, avante).
//!
//! Like `paired lsp`, this process is a thin front: it attaches to the shared
//! daemon (starting it if needed) and turns ACP into daemon calls. A session
//! has a mode: `team` (Alex routes each prompt to the agent and skill that fits,
//! by the same rules as the daemon's delegation) or one agent of the roster;
//! `@agent` at the start of a prompt picks one for that turn. A prompt's first
//! file (resource link or embedded resource, else a file of the session's
//! folder its words name: "review src/main.rs") is the run's target: read through
//! the client when it offers `fs/read_text_file`, so unsaved buffers count.
//! One turn at a time per session; a `session/cancel` stops the daemon run, any
//! pending edit, and makes the turn answer `cancelled`.
//! A run streams as a tool call plus message chunks (its report, the summary);
//! each finding is then a finished tool call of its own, with the file and line
//! to jump to, the message and the suggested fix. A run the daemon refuses is
//! told in the chat in this front's words ("attach or name a file"). Its proposed edits are
//! shown as diffs and written through the client's `fs/write_text_file` only
//! after the user allows them (`session/request_permission`): the daemon itself
//! never writes a file.
//!
//! The client's input is read as lines here ([`client_lines`]): a line that is
//! not UTF-8, not JSON or not a request is answered with an error and the
//! connection goes on. A session's folder must be a project folder (the rule of
//! [`crate::fronts::lsp::unfit_root`]): `/`, the home folder or a system folder is refused.
//! The process ends with success when the client closes its input, and with an
//! error when the daemon goes away (the editor then restarts it).

use std::{
    collections::HashMap,
    io::BufRead as _,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use acp::{
    schema::ProtocolVersion,
    v1::{ConnectionTo, Responder, schema::*},
};
use agent_client_protocol::{self as acp, Agent, Client, Lines, on_receive_notification, on_receive_request};
use anyhow::{Context, Result};
use jsonrpsee::{
    core::client::{ClientT as _, Subscription, SubscriptionClientT},
    ws_client::WsClient,
};
use protocol::{
    NoParams, Subscription as _,
    agents::{RunInfo, RunParams, RunRef, RunStatus},
    client::{Attach, ClientHello, ClientKind, Event},
    documents::{OpenParams, UriParams},
};
use tokio::{io::AsyncWriteExt as _, sync::broadcast};

use crate::{
    platform::paths::Paths,
    server::client::{self, ByName},
};

/// The mode in which Alex routes each prompt.
const TEAM: &str = "team";

/// Findings shown as tool calls of their own, at most: a workspace's backlog
/// can hold thousands, more than a chat can show usefully.
const MAX_FINDING_CALLS: usize = 200;

/// A longer line from the client is not read into memory: it is skipped and
/// answered with a parse error.
const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

pub async fn serve(paths: &Paths) -> Result<()> {
    let connection = client::connect_or_start(paths).await.context("cannot reach the PAIRED daemon")?;
    let daemon = Arc::new(connection.client);
    let hello = ClientHello {
        kind: ClientKind::Acp,
        name: "paired acp".to_owned(),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        pid: Some(std::process::id()),
        workspace_folders: Vec::new(),
    };
    let mut events: Subscription<Event> =
        daemon.subscribe(Attach::SUBSCRIBE, ByName(&hello), Attach::UNSUBSCRIBE).await?;
    let (sender, _) = broadcast::channel(1024);
    let (lost_tx, lost) = tokio::sync::oneshot::channel::<()>();
    let shared = Arc::new(Shared {
        daemon: daemon.clone(),
        events: sender.clone(),
        sessions: Mutex::new(HashMap::new()),
        can_read: AtomicBool::new(false),
        can_write: AtomicBool::new(false),
        next_session: AtomicU64::new(1),
    });
    let events_task = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if let Ok(event) = event {
                let _ = sender.send(event);
            }
        }
        let _ = lost_tx.send(());
    });

    let (s1, s2, s3, s4, s5) = (shared.clone(), shared.clone(), shared.clone(), shared.clone(), shared.clone());
    let served = Agent
        .v1()
        .name("paired")
        .on_receive_request(
            async move |request: InitializeRequest,
                        responder: Responder<InitializeResponse>,
                        _cx: ConnectionTo<Client>| { responder.respond(s1.initialize(&request)) },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: NewSessionRequest,
                        responder: Responder<NewSessionResponse>,
                        _cx: ConnectionTo<Client>| {
                responder.respond_with_result(s2.new_session(request).await)
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: SetSessionModeRequest,
                        responder: Responder<SetSessionModeResponse>,
                        _cx: ConnectionTo<Client>| { responder.respond_with_result(s3.set_mode(&request)) },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: PromptRequest, responder: Responder<PromptResponse>, cx: ConnectionTo<Client>| {
                // The turn calls back into the client (permissions, files):
                // it runs beside the dispatch loop, never inside it.
                // The turn is reserved here, in order with `session/cancel`
                // notifications, so a cancel sent right after the prompt counts.
                if let Err(err) = s4.begin_turn(&request.session_id) {
                    return responder.respond_with_error(err);
                }
                let shared = s4.clone();
                let peer = cx.clone();
                cx.spawn(async move {
                    let sid = request.session_id.clone();
                    let result = shared.turn(&peer, request).await;
                    let cancelled = shared.end_turn(&sid);
                    // After a cancel the answer is `cancelled`, whatever happened meanwhile.
                    let result = if cancelled { Ok(PromptResponse::new(StopReason::Cancelled)) } else { result };
                    // A failed answer means the client is gone; the connection ends anyway.
                    let _ = responder.respond_with_result(result);
                    Ok(())
                })
            },
            on_receive_request!(),
        )
        .on_receive_notification(
            async move |notification: CancelNotification, cx: ConnectionTo<Client>| {
                let run = s5.mark_cancelled(&notification.session_id.0);
                let shared = s5.clone();
                cx.spawn(async move {
                    if let Some(run_id) = run {
                        shared.cancel_run(run_id).await;
                    }
                    Ok(())
                })
            },
            on_receive_notification!(),
        )
        .connect_to(Lines::new(client_output(), client_lines()));
    let served = tokio::select! {
        served = served => served,
        // Without the daemon no session can do anything: end, so the editor
        // shows the agent as stopped and starts it again (which restarts the daemon).
        Ok(()) = lost => {
            anyhow::bail!("lost the PAIRED daemon; exiting so the editor can restart `paired acp`")
        }
    };
    // The client is gone (or the connection broke): the daemon connection is
    // ours to close, not a loss to report.
    events_task.abort();
    shared.cancel_all().await;
    served.map_err(|err| anyhow::anyhow!("ACP connection failed: {err}"))
}

/// The client's lines, read on a thread of their own (a read blocked on a quiet
/// client must not hold up the runtime's shutdown). Blank lines are skipped. A
/// line that is not UTF-8, or is over [`MAX_LINE_BYTES`], is passed on as a
/// short note that is not JSON, which the ACP library answers with a parse
/// error (-32700); the connection goes on. The stream ends at end of input.
fn client_lines() -> impl futures::Stream<Item = std::io::Result<String>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<String>>(16);
    let reader = std::thread::Builder::new().name("paired-acp-stdin".to_owned()).spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let line = match read_line(&mut stdin, MAX_LINE_BYTES) {
                Ok(Some(line)) => line,
                Ok(None) => return,
                Err(err) => {
                    let _ = tx.blocking_send(Err(err));
                    return;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            if tx.blocking_send(Ok(line)).is_err() {
                return;
            }
        }
    });
    if let Err(err) = reader {
        tracing::error!("cannot start reading the client's input: {err}");
    }
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|line| (line, rx)) })
}

/// One line of `input` without its line ending; `None` at end of input.
fn read_line(input: &mut impl std::io::BufRead, max: usize) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = std::io::Read::take(&mut *input, max as u64 + 1).read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') && line.len() > max {
        // The rest of the line is read and dropped, a buffer at a time.
        input.skip_until(b'\n')?;
        return Ok(Some(format!("<a line of more than {max} bytes, not read>")));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(
        String::from_utf8(line)
            .unwrap_or_else(|err| format!("<a line of {} bytes that is not UTF-8>", err.as_bytes().len())),
    ))
}

/// Lines to the client on stdout, each flushed as it is written.
fn client_output() -> impl futures::Sink<String, Error = std::io::Error> + Send + 'static {
    futures::sink::unfold(tokio::io::stdout(), |mut out, line: String| async move {
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
        out.flush().await?;
        Ok(out)
    })
}

struct Shared {
    daemon: Arc<WsClient>,
    events: broadcast::Sender<Event>,
    sessions: Mutex<HashMap<String, Session>>,
    can_read: AtomicBool,
    can_write: AtomicBool,
    next_session: AtomicU64,
}

struct Session {
    cwd: PathBuf,
    mode: String,
    /// Agents the user allowed to edit for the rest of the session.
    trusted: Vec<String>,
    /// The prompt turn in progress: one at a time per session.
    turn: Option<Turn>,
    agents: Vec<AgentChoice>,
}

#[derive(Default)]
struct Turn {
    cancelled: bool,
    /// The daemon run, once started.
    run: Option<String>,
}

#[derive(Clone)]
struct AgentChoice {
    id: String,
    name: String,
    description: String,
    aliases: Vec<String>,
}

/// What a prompt asks, once its content blocks are read.
#[derive(Debug, Default, PartialEq)]
struct Ask {
    text: String,
    /// The files the prompt points at: uri (without fragment), line range, text sent along.
    files: Vec<FileRef>,
}

#[derive(Debug, PartialEq)]
struct FileRef {
    uri: String,
    lines: Option<(u32, u32)>,
    text: Option<String>,
}

impl Shared {
    fn initialize(&self, request: &InitializeRequest) -> InitializeResponse {
        self.can_read.store(request.client_capabilities.fs.read_text_file, Ordering::Relaxed);
        self.can_write.store(request.client_capabilities.fs.write_text_file, Ordering::Relaxed);
        InitializeResponse::new(ProtocolVersion::V1)
            .agent_capabilities(
                AgentCapabilities::new().prompt_capabilities(PromptCapabilities::new().embedded_context(true)),
            )
            .agent_info(Implementation::new("paired", env!("CARGO_PKG_VERSION")).title("PAIRED".to_owned()))
    }

    async fn new_session(&self, request: NewSessionRequest) -> acp::Result<NewSessionResponse> {
        if !request.cwd.is_absolute() {
            return Err(acp::Error::invalid_params().data(format!("cwd must be absolute: {}", request.cwd.display())));
        }
        // The daemon keys workspaces by their real path; so do the grant checks.
        let cwd = std::fs::canonicalize(&request.cwd).map_err(|err| {
            acp::Error::invalid_params().data(format!("cwd {} is not a folder here: {err}", request.cwd.display()))
        })?;
        if let Some(why) = crate::fronts::lsp::unfit_root(&cwd) {
            return Err(acp::Error::invalid_params().data(why));
        }
        let folder = protocol::context::AddWorkspaceParams { folder: cwd.display().to_string(), wait: false };
        client::call::<protocol::context::AddWorkspace>(&self.daemon, &folder).await.map_err(daemon_error)?;
        let agents: Vec<protocol::agents::AgentInfo> =
            client::call::<protocol::agents::List>(&self.daemon, &NoParams {}).await.map_err(daemon_error)?;
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

    fn set_mode(&self, request: &SetSessionModeRequest) -> acp::Result<SetSessionModeResponse> {
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
    fn begin_turn(&self, sid: &SessionId) -> acp::Result<()> {
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
    fn end_turn(&self, sid: &SessionId) -> bool {
        self.sessions().get_mut(&*sid.0).and_then(|s| s.turn.take()).is_some_and(|t| t.cancelled)
    }

    fn is_cancelled(&self, sid: &SessionId) -> bool {
        self.sessions().get(&*sid.0).and_then(|s| s.turn.as_ref()).is_some_and(|t| t.cancelled)
    }

    /// Marks the session's turn cancelled; the run to stop, if one started.
    fn mark_cancelled(&self, session_id: &str) -> Option<String> {
        let mut sessions = self.sessions();
        let turn = sessions.get_mut(session_id)?.turn.as_mut()?;
        turn.cancelled = true;
        turn.run.clone()
    }

    async fn cancel_run(&self, run_id: String) {
        if let Err(err) =
            client::call::<protocol::agents::CancelRun>(&self.daemon, &RunRef { run_id, wait: false }).await
        {
            tracing::warn!("cannot cancel the run: {err:#}");
        }
    }

    async fn cancel_all(&self) {
        let ids: Vec<String> = self.sessions().keys().cloned().collect();
        for id in ids {
            if let Some(run_id) = self.mark_cancelled(&id) {
                self.cancel_run(run_id).await;
            }
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One prompt turn: pick the agent, run it, stream it, offer its edits.
    async fn turn(&self, cx: &ConnectionTo<Client>, request: PromptRequest) -> acp::Result<PromptResponse> {
        let sid = request.session_id.clone();
        let (cwd, mode, agents) = {
            let sessions = self.sessions();
            let session = sessions.get(&*sid.0).ok_or_else(|| unknown_session(&sid))?;
            (session.cwd.clone(), session.mode.clone(), session.agents.clone())
        };
        let mut ask = read_prompt(&request.prompt);
        if ask.files.is_empty()
            && let Some(path) = named_file(&ask.text, &cwd)
        {
            ask.files.push(FileRef { uri: crate::platform::uri::from_path(&path), lines: None, text: None });
        }
        if ask.text.trim().is_empty() && ask.files.is_empty() {
            return Err(acp::Error::invalid_params().data("the prompt is empty: say what you want, or attach a file"));
        }
        let (agent, skill, text) = choose(&agents, &mode, &ask.text);
        let shown = agents.iter().find(|a| a.id == agent).map_or(agent.clone(), |a| a.name.clone());
        if mode == TEAM || agent != mode {
            let how = skill.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
            say_thought(cx, &sid, &format!("Handing this to {shown}{how}.\n"))?;
        }

        if ask.files.len() > 1 {
            let others: Vec<&str> = ask.files[1..].iter().map(|f| f.uri.as_str()).collect();
            say_thought(cx, &sid, &format!("Working on the first file attached; not on {}.\n", others.join(", ")))?;
        }

        let mut opened = Vec::new();
        let target = match ask.files.first() {
            Some(file) => Some(self.target(cx, &sid, file, &mut opened).await),
            None => None,
        };
        let result = self.run_and_stream(cx, &sid, &cwd, (agent, &shown), skill, text, target.as_ref()).await;
        for uri in opened {
            let _ = client::call::<protocol::documents::Close>(&self.daemon, &UriParams { uri }).await;
        }
        let run = match result {
            Ok(run) => run,
            // The agent could not take it (no such skill for this request, no
            // file where one is needed…): said in the chat, not as a protocol error.
            Err(TurnError::Refused(message)) => {
                say(cx, &sid, &format!("{message}\n"))?;
                return Ok(PromptResponse::new(StopReason::EndTurn));
            }
            Err(TurnError::Failed(err)) => return Err(err),
        };
        if self.is_cancelled(&sid) || run.status == RunStatus::Cancelled {
            return Ok(PromptResponse::new(StopReason::Cancelled));
        }
        for (n, finding) in run.findings.iter().enumerate().take(MAX_FINDING_CALLS) {
            update(cx, &sid, SessionUpdate::ToolCall(finding_call(&run, n, finding, &cwd)))?;
        }
        if let Some(more) = run.findings.len().checked_sub(MAX_FINDING_CALLS).filter(|&n| n > 0) {
            say(
                cx,
                &sid,
                &format!("\n{more} more finding(s) are not shown here; the report above counts them all.\n"),
            )?;
        }
        if run.status == RunStatus::Succeeded && !run.edits.is_empty() {
            return self.offer_edits(cx, &sid, &cwd, &run).await;
        }
        Ok(PromptResponse::new(StopReason::EndTurn))
    }

    /// The run's target file: its text from the client if it sent it or lets
    /// us read it (an unsaved buffer wins over the disk), opened in the daemon
    /// for the length of the turn.
    async fn target(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        file: &FileRef,
        opened: &mut Vec<String>,
    ) -> (String, Option<(u32, u32)>) {
        let mut text = file.text.clone();
        if text.is_none()
            && self.can_read.load(Ordering::Relaxed)
            && let Some(path) = crate::platform::uri::to_path(&file.uri)
        {
            match cx.send_request(ReadTextFileRequest::new(sid.clone(), path)).block_task().await {
                Ok(read) => text = Some(read.content),
                Err(err) => tracing::info!("the client did not read {}: {err}; the daemon reads the disk", file.uri),
            }
        }
        if let Some(text) = text {
            let open = OpenParams { uri: file.uri.clone(), language_id: String::new(), version: 1, text };
            match client::call::<protocol::documents::Open>(&self.daemon, &open).await {
                Ok(_) => opened.push(file.uri.clone()),
                Err(err) => tracing::warn!("cannot open {} in the daemon: {err:#}", file.uri),
            }
        }
        (file.uri.clone(), file.lines)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_and_stream(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        cwd: &Path,
        (agent, shown): (String, &str),
        skill: Option<String>,
        prompt: String,
        target: Option<&(String, Option<(u32, u32)>)>,
    ) -> Result<RunInfo, TurnError> {
        // Listen before starting, so no update is missed.
        let mut events = self.events.subscribe();
        let range = target.and_then(|(_, lines)| *lines).map(|(first, last)| protocol::documents::Range {
            start: protocol::documents::Position { line: first.saturating_sub(1), character: 0 },
            end: protocol::documents::Position { line: last, character: 0 },
        });
        let params = RunParams {
            agent,
            skill,
            uri: target.map(|(uri, _)| uri.clone()),
            position: None,
            range,
            prompt: (!prompt.trim().is_empty()).then_some(prompt),
            workspace: Some(crate::platform::uri::from_path(cwd)),
            wait: false,
            max_tokens: None,
        };
        if self.is_cancelled(sid) {
            return Err(TurnError::Failed(acp::Error::request_cancelled()));
        }
        // Called here rather than through `client::call`, which keeps only the
        // message: what a refusal lacks is in its data.
        let started: RunInfo =
            match self.daemon.request(<protocol::agents::Run as protocol::Method>::NAME, ByName(&params)).await {
                Ok(started) => started,
                Err(jsonrpsee::core::client::Error::Call(refused)) => {
                    return Err(TurnError::Refused(refusal(shown, &refused)));
                }
                Err(err) => return Err(TurnError::Failed(daemon_error(anyhow::anyhow!("agents/run: {err}")))),
            };
        let run_id = started.id.clone();
        let cancelled_meanwhile = {
            let mut sessions = self.sessions();
            match sessions.get_mut(&*sid.0).and_then(|s| s.turn.as_mut()) {
                Some(turn) => {
                    turn.run = Some(run_id.clone());
                    turn.cancelled
                }
                None => true,
            }
        };
        if cancelled_meanwhile {
            self.cancel_run(run_id.clone()).await;
        }
        let streamed = self.stream(cx, sid, cwd, &started, &mut events).await;
        if streamed.is_err() {
            // Whatever went wrong here, the run must not go on unseen.
            self.cancel_run(run_id).await;
        }
        streamed.map_err(TurnError::Failed)
    }

    /// Follows a started run to its end: a tool call for the run, its progress
    /// messages, its output as message chunks.
    async fn stream(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        cwd: &Path,
        started: &RunInfo,
        events: &mut broadcast::Receiver<Event>,
    ) -> acp::Result<RunInfo> {
        let run_id = started.id.clone();
        let title = match &started.uri {
            Some(uri) => format!("{}: {} {}", started.agent, started.skill, short_path(uri, cwd)),
            None => format!("{}: {}", started.agent, started.skill),
        };
        let mut call =
            ToolCall::new(run_id.clone(), title).kind(tool_kind(&started.skill)).status(ToolCallStatus::InProgress);
        if let Some(path) = started.uri.as_deref().and_then(crate::platform::uri::to_path) {
            call = call.locations(vec![ToolCallLocation::new(path)]);
        }
        update(cx, sid, SessionUpdate::ToolCall(call))?;

        let mut streamed = String::new();
        let mut lagged = false;
        let mut status = started.status;
        let get = RunRef { run_id: run_id.clone(), wait: false };
        while !status.is_finished() {
            match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
                Ok(Ok(Event::RunUpdate { run_id: id, status: now, message, output_delta, .. })) if id == run_id => {
                    status = now;
                    if let Some(message) = message {
                        let fields = ToolCallUpdateFields::new().content(vec![ToolCallContent::from(message)]);
                        update(cx, sid, SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(run_id.clone(), fields)))?;
                    }
                    if let Some(delta) = output_delta.filter(|d| !d.is_empty()) {
                        say(cx, sid, &delta)?;
                        streamed.push_str(&delta);
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    lagged = true;
                    status = client::call::<protocol::agents::GetRun>(&self.daemon, &get)
                        .await
                        .map_err(daemon_error)?
                        .status;
                }
                // A quiet second (or no more events): ask where the run is.
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    status = client::call::<protocol::agents::GetRun>(&self.daemon, &get)
                        .await
                        .map_err(daemon_error)?
                        .status;
                }
            }
        }
        let run = client::call::<protocol::agents::GetRun>(&self.daemon, &get).await.map_err(daemon_error)?;
        // What did not stream: offline skills answer in one piece; after missed
        // updates the whole output is given again, marked as such.
        match run.output.strip_prefix(streamed.as_str()) {
            Some(rest) if !rest.is_empty() => say(cx, sid, rest)?,
            Some(_) => {}
            None if lagged && !run.output.is_empty() => say(cx, sid, &format!("\n\n---\n{}", run.output))?,
            None => {}
        }
        if let Some(error) = &run.error
            && run.status == RunStatus::Failed
        {
            say(cx, sid, &format!("\n\n{} failed: {error}\n", run.agent))?;
        }
        let done = match run.status {
            RunStatus::Succeeded => ToolCallStatus::Completed,
            _ => ToolCallStatus::Failed,
        };
        update(
            cx,
            sid,
            SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(run_id, ToolCallUpdateFields::new().status(done))),
        )?;
        Ok(run)
    }

    /// Shows each edited file as a diff and writes it through the client once
    /// the user allows it; a cancel stops before the next file or write.
    async fn offer_edits(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        cwd: &Path,
        run: &RunInfo,
    ) -> acp::Result<PromptResponse> {
        let mut by_file: Vec<(String, Vec<&protocol::agents::TextEdit>)> = Vec::new();
        for edit in &run.edits {
            match by_file.iter_mut().find(|(uri, _)| *uri == edit.uri) {
                Some((_, edits)) => edits.push(edit),
                None => by_file.push((edit.uri.clone(), vec![edit])),
            }
        }
        let can_write = self.can_write.load(Ordering::Relaxed);
        let describe = protocol::agents::DescribeParams { agent: run.agent.clone() };
        let grants = client::call::<protocol::agents::Describe>(&self.daemon, &describe)
            .await
            .map_err(daemon_error)?
            .manifest
            .permissions
            .fs_write;
        let cancelled = || Ok(PromptResponse::new(StopReason::Cancelled));
        for (n, (uri, edits)) in by_file.into_iter().enumerate() {
            if self.is_cancelled(sid) {
                return cancelled();
            }
            let call_id = format!("{}-edit-{n}", run.id);
            let Some(path) = crate::platform::uri::to_path(&uri) else { continue };
            // PAIRED's grants bound what the user is even asked about.
            if let Err(why) = may_write(&run.agent, &grants, cwd, &path) {
                say(cx, sid, &format!("\nNot applied: {why}.\n"))?;
                continue;
            }
            let old = match self.read(cx, sid, &path).await {
                Ok(text) => text,
                Err(err) => {
                    say(cx, sid, &format!("\nCannot read {} to apply {}'s edit: {err}\n", path.display(), run.agent))?;
                    continue;
                }
            };
            let Some(new) = apply_edits(&old, &edits) else {
                say(cx, sid, &format!("\n{}'s edits to {} overlap; not applied.\n", run.agent, path.display()))?;
                continue;
            };
            let diff = ToolCallContent::from(Diff::new(path.clone(), new.clone()).old_text(old));
            let call = ToolCall::new(call_id.clone(), format!("{}: edit {}", run.agent, path.display()))
                .kind(ToolKind::Edit)
                .status(ToolCallStatus::Pending)
                .content(vec![diff.clone()])
                .locations(vec![ToolCallLocation::new(path.clone())]);
            update(cx, sid, SessionUpdate::ToolCall(call))?;
            // A tool call update's content replaces the old: the diff stays in it.
            let not_applied = |note: String| {
                let fields = ToolCallUpdateFields::new()
                    .status(ToolCallStatus::Failed)
                    .content(vec![diff.clone(), ToolCallContent::from(note)]);
                SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(call_id.clone(), fields))
            };
            if !can_write {
                let note = "This editor does not let agents write files; apply the diff yourself.".to_owned();
                update(cx, sid, not_applied(note))?;
                continue;
            }
            match self.allowed(cx, sid, &run.agent, &call_id).await? {
                Permission::Granted => {}
                Permission::Declined => {
                    update(cx, sid, not_applied(format!("Not applied: you declined {}'s edit.", run.agent)))?;
                    continue;
                }
                Permission::Cancelled => {
                    update(cx, sid, not_applied("Not applied: the turn was cancelled.".to_owned()))?;
                    return cancelled();
                }
            }
            if self.is_cancelled(sid) {
                update(cx, sid, not_applied("Not applied: the turn was cancelled.".to_owned()))?;
                return cancelled();
            }
            let status = match cx.send_request(WriteTextFileRequest::new(sid.clone(), path, new)).block_task().await {
                Ok(_) => ToolCallStatus::Completed,
                Err(err) => {
                    say(cx, sid, &format!("\nThe editor did not write the file: {err}\n"))?;
                    ToolCallStatus::Failed
                }
            };
            update(
                cx,
                sid,
                SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(call_id, ToolCallUpdateFields::new().status(status))),
            )?;
        }
        Ok(PromptResponse::new(StopReason::EndTurn))
    }

    /// The user's permission for `agent` to write: asked once per edit, unless
    /// they allowed that agent for the whole session.
    async fn allowed(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        agent: &str,
        call_id: &str,
    ) -> acp::Result<Permission> {
        if self.sessions().get(&*sid.0).is_some_and(|s| s.trusted.iter().any(|a| a == agent)) {
            return Ok(Permission::Granted);
        }
        let options = vec![
            PermissionOption::new("allow-once", "Allow this edit", PermissionOptionKind::AllowOnce),
            PermissionOption::new(
                "allow-always",
                format!("Allow {agent}'s edits for this session"),
                PermissionOptionKind::AllowAlways,
            ),
            PermissionOption::new("reject", "Reject", PermissionOptionKind::RejectOnce),
        ];
        let request = RequestPermissionRequest::new(
            sid.clone(),
            ToolCallUpdate::new(call_id.to_owned(), ToolCallUpdateFields::new()),
            options,
        );
        let answer = cx.send_request(request).block_task().await?;
        let chosen = match answer.outcome {
            RequestPermissionOutcome::Selected(selected) => selected.option_id.0.to_string(),
            // The client answers `cancelled` when the turn was cancelled meanwhile.
            _ => return Ok(Permission::Cancelled),
        };
        if chosen == "allow-always"
            && let Some(session) = self.sessions().get_mut(&*sid.0)
        {
            session.trusted.push(agent.to_owned());
        }
        Ok(if chosen == "allow-once" || chosen == "allow-always" { Permission::Granted } else { Permission::Declined })
    }

    /// A file's text: through the client when it offers reads (its buffer),
    /// else from the disk.
    async fn read(&self, cx: &ConnectionTo<Client>, sid: &SessionId, path: &Path) -> Result<String> {
        if self.can_read.load(Ordering::Relaxed) {
            let read = cx.send_request(ReadTextFileRequest::new(sid.clone(), path.to_path_buf())).block_task().await;
            return read.map(|r| r.content).map_err(|err| anyhow::anyhow!("{err}"));
        }
        Ok(tokio::fs::read_to_string(path).await?)
    }
}

/// Why the daemon would not start a run, in this front's words: a missing file
/// is attached or named in the prompt here, a missing request said in it.
fn refusal(agent: &str, refused: &jsonrpsee::types::ErrorObjectOwned) -> String {
    match crate::services::runs::Missing::of_error(refused.message(), refused.data()) {
        Some(crate::services::runs::Missing::File) => format!(
            "{agent} works on a file: attach or name a file in your prompt (for example \"review src/main.rs\")."
        ),
        Some(crate::services::runs::Missing::Prompt) => {
            format!("{agent} needs to know what you want: say it in your prompt.")
        }
        None => refused.message().to_owned(),
    }
}

/// A finding as a finished tool call of its own: where it is (a location the
/// client can jump to), what is wrong and the suggested fix. The run's report
/// is the summary, in the chat.
fn finding_call(run: &RunInfo, n: usize, finding: &protocol::agents::Finding, cwd: &Path) -> ToolCall {
    let path = finding.uri.as_deref().and_then(crate::platform::uri::to_path);
    let place = match &path {
        Some(path) => format!("{}:{}", path.strip_prefix(cwd).unwrap_or(path).display(), finding.line),
        None => format!("line {}", finding.line),
    };
    let mut content = vec![ToolCallContent::from(finding.message.clone())];
    if let Some(fix) = &finding.fix {
        content.push(ToolCallContent::from(format!("Suggested fix: {}", fix.title)));
    }
    let mut call = ToolCall::new(
        format!("{}-finding-{n}", run.id),
        format!("{place}: {} `{}`", finding.severity.name(), finding.rule),
    )
    .kind(tool_kind(&run.skill))
    .status(ToolCallStatus::Completed)
    .content(content);
    if let Some(path) = path {
        call = call.locations(vec![ToolCallLocation::new(path).line(finding.line)]);
    }
    call
}

/// The file a prompt's words name ("review src/main.rs"), relative to the
/// session's folder or absolute, as a path or a `file://` URI: the first word
/// that is a file inside the folder.
fn named_file(text: &str, cwd: &Path) -> Option<PathBuf> {
    let quotes = |c: char| matches!(c, '`' | '"' | '\'' | '(' | ')' | '[' | ']' | '<' | '>' | ',' | ';' | '!' | '?');
    text.split_whitespace()
        .take(256)
        .map(|word| word.trim_matches(quotes).trim_end_matches([':', '.']))
        .filter(|word| !word.is_empty() && !word.starts_with('@'))
        .find_map(|word| {
            let path = match word.strip_prefix("file://") {
                Some(_) => crate::platform::uri::to_path(word)?,
                None => cwd.join(word),
            };
            let real = std::fs::canonicalize(path).ok()?;
            (real.starts_with(cwd) && real.is_file()).then_some(real)
        })
}

enum TurnError {
    /// The daemon would not start the run; told to the user in the chat.
    Refused(String),
    Failed(acp::Error),
}

enum Permission {
    Granted,
    Declined,
    Cancelled,
}

/// Whether an agent's `fs_write` grants (globs relative to the session's
/// folder, which is canonical) cover `path`. Only plain paths count: no `.`
/// or `..`, and a link in the path must not lead out of the folder.
fn may_write(agent: &str, grants: &[String], cwd: &Path, path: &Path) -> Result<(), String> {
    use std::path::Component;
    if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
        return Err(format!("{} is not a plain absolute path", path.display()));
    }
    // The nearest existing ancestor, resolved, must still be inside the folder.
    let mut existing = path;
    while !existing.exists() {
        existing = existing.parent().unwrap_or(Path::new("/"));
    }
    let resolved = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    let real = resolved.join(path.strip_prefix(existing).unwrap_or(Path::new("")));
    let rel = real
        .strip_prefix(cwd)
        .map_err(|_| format!("{} is outside the session's folder {}", path.display(), cwd.display()))?;
    let rel = rel.to_string_lossy();
    if grants.iter().any(|g| agents::grants::glob_matches(g, &rel)) {
        Ok(())
    } else {
        Err(format!("{agent} may not write {rel}: its fs_write grants are [{}]", grants.join(", ")))
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

/// Which agent (and skill) takes a prompt: `@agent` first, else the session's
/// mode, else Alex's routing rules. Returns the prompt without the `@agent`.
fn choose(agents: &[AgentChoice], mode: &str, text: &str) -> (String, Option<String>, String) {
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix('@') {
        let (name, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let name = name.trim_end_matches([',', ':']).to_lowercase();
        if let Some(agent) = agents.iter().find(|a| a.id == name || a.aliases.contains(&name)) {
            return (agent.id.clone(), None, after.trim().to_owned());
        }
    }
    if mode != TEAM {
        return (mode.to_owned(), None, text.trim().to_owned());
    }
    let (agent, skill) =
        agents::skills::route::route(text).into_iter().next().unwrap_or(("alex".into(), "assess".into()));
    (agent, Some(skill), text.trim().to_owned())
}

fn read_prompt(blocks: &[ContentBlock]) -> Ask {
    let mut ask = Ask::default();
    for block in blocks {
        match block {
            ContentBlock::Text(text) => {
                if !ask.text.is_empty() {
                    ask.text.push('\n');
                }
                ask.text.push_str(&text.text);
            }
            ContentBlock::ResourceLink(link) => ask.files.extend(file_ref(&link.uri, None)),
            ContentBlock::Resource(embedded) => {
                if let EmbeddedResourceResource::TextResourceContents(contents) = &embedded.resource {
                    ask.files.extend(file_ref(&contents.uri, Some(contents.text.clone())));
                }
            }
            _ => {}
        }
    }
    ask
}

/// A `file://` URI as clients send it, with Zed's `#L10:20` (or `#L10-20`)
/// line fragment taken off.
fn file_ref(uri: &str, text: Option<String>) -> Option<FileRef> {
    if !uri.starts_with("file://") {
        return None;
    }
    let (base, fragment) = uri.split_once('#').unwrap_or((uri, ""));
    let lines = fragment.strip_prefix('L').and_then(|range| {
        let (first, last) = range.split_once([':', '-']).unwrap_or((range, range));
        let first: u32 = first.trim_start_matches('L').parse().ok()?;
        let last: u32 = last.trim_start_matches('L').parse().ok()?;
        (first >= 1 && last >= first).then_some((first, last))
    });
    // An embedded excerpt of some lines is not the file's text.
    let text = if lines.is_some() { None } else { text };
    Some(FileRef { uri: base.to_owned(), lines, text })
}

/// Applies LSP edits (UTF-16 positions) to `text`; `None` if two overlap.
fn apply_edits(text: &str, edits: &[&protocol::agents::TextEdit]) -> Option<String> {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            let start = crate::services::documents::byte_offset(text, e.range.start);
            let end = crate::services::documents::byte_offset(text, e.range.end).max(start);
            (start, end, e.new_text.as_str())
        })
        .collect();
    spans.sort_by_key(|&(start, end, _)| (start, end));
    if spans.windows(2).any(|pair| pair[0].1 > pair[1].0) {
        return None;
    }
    let mut out = text.to_owned();
    for (start, end, new_text) in spans.into_iter().rev() {
        out.replace_range(start..end, new_text);
    }
    Some(out)
}

/// A run reads and thinks; what it writes comes as separate edit tool calls.
fn tool_kind(skill: &str) -> ToolKind {
    match skill {
        "review" | "security" | "analyze" | "assess" => ToolKind::Read,
        _ => ToolKind::Think,
    }
}

fn short_path(uri: &str, cwd: &Path) -> String {
    match crate::platform::uri::to_path(uri) {
        Some(path) => path.strip_prefix(cwd).unwrap_or(&path).display().to_string(),
        None => uri.to_owned(),
    }
}

fn update(cx: &ConnectionTo<Client>, sid: &SessionId, update: SessionUpdate) -> acp::Result<()> {
    cx.send_notification(SessionNotification::new(sid.clone(), update))
}

fn say(cx: &ConnectionTo<Client>, sid: &SessionId, text: &str) -> acp::Result<()> {
    update(cx, sid, SessionUpdate::AgentMessageChunk(ContentChunk::new(ContentBlock::from(text.to_owned()))))
}

fn say_thought(cx: &ConnectionTo<Client>, sid: &SessionId, text: &str) -> acp::Result<()> {
    update(cx, sid, SessionUpdate::AgentThoughtChunk(ContentChunk::new(ContentBlock::from(text.to_owned()))))
}

fn unknown_session(id: &SessionId) -> acp::Error {
    acp::Error::invalid_params().data(format!("no session {id}: create one with session/new"))
}

fn daemon_error(err: anyhow::Error) -> acp::Error {
    acp::Error::internal_error().data(format!("PAIRED daemon: {err:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Vec<AgentChoice> {
        ["alex", "sherlock", "edison"]
            .iter()
            .map(|id| AgentChoice {
                id: (*id).to_owned(),
                name: id.to_uppercase(),
                description: String::new(),
                aliases: if *id == "sherlock" { vec!["qa".to_owned()] } else { Vec::new() },
            })
            .collect()
    }

    #[test]
    fn lines_are_read_whatever_they_hold() {
        let input: &[u8] = b"{\"a\":1}\r\n\xff\xfe\n0123456789abcdef\nlast";
        let mut input = std::io::BufReader::with_capacity(4, input);
        let mut lines = Vec::new();
        while let Some(line) = read_line(&mut input, 12).expect("read") {
            lines.push(line);
        }
        assert_eq!(
            lines,
            ["{\"a\":1}", "<a line of 2 bytes that is not UTF-8>", "<a line of more than 12 bytes, not read>", "last"]
        );
    }

    #[test]
    fn an_at_name_picks_the_agent_else_the_mode_else_alex_routes() {
        let agents = team();
        assert_eq!(choose(&agents, TEAM, "@qa, look at this"), ("sherlock".into(), None, "look at this".into()));
        assert_eq!(choose(&agents, TEAM, "@nobody hi").0, "alex");
        assert_eq!(choose(&agents, "edison", "write tests"), ("edison".into(), None, "write tests".into()));
        assert_eq!(
            choose(&agents, TEAM, "please review this for bugs"),
            ("sherlock".into(), Some("review".into()), "please review this for bugs".into())
        );
    }

    #[test]
    fn files_come_from_links_and_embedded_resources_with_line_fragments() {
        assert_eq!(
            file_ref("file:///p/a.rs#L3:9", Some("x".into())),
            Some(FileRef { uri: "file:///p/a.rs".into(), lines: Some((3, 9)), text: None })
        );
        assert_eq!(file_ref("file:///p/a.rs#L4-2", None).and_then(|f| f.lines), None);
        assert_eq!(file_ref("file:///p/a.rs", Some("t".into())).and_then(|f| f.text), Some("t".into()));
        assert_eq!(file_ref("https://example.com/a.rs", None), None);
    }

    /// Issue #15: "review src/main.rs" was refused for want of a file.
    #[test]
    fn a_prompt_names_a_file_of_the_session_folder_by_path_or_uri() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cwd = std::fs::canonicalize(dir.path()).expect("canonical");
        std::fs::create_dir_all(cwd.join("src")).expect("mkdir");
        std::fs::write(cwd.join("src/main.rs"), "fn main() {}\n").expect("write");
        let main = cwd.join("src/main.rs");
        let uri = crate::platform::uri::from_path(&main);
        let cases = [
            ("review src/main.rs", Some(&main)),
            ("is `src/main.rs`, safe?", Some(&main)),
            ("look at src/main.rs.", Some(&main)),
            (&*format!("review {}", main.display()), Some(&main)),
            (&*format!("review ({uri})"), Some(&main)),
            ("review src", None),
            ("review this file", None),
            ("review ../../../etc/passwd", None),
            ("review /etc/passwd", None),
        ];
        for (prompt, expected) in cases {
            assert_eq!(named_file(prompt, &cwd).as_ref(), expected, "{prompt}");
        }
    }

    #[test]
    fn writes_need_a_grant_and_stay_in_the_session_folder() {
        let cwd = Path::new("/p");
        let src = ["src/**".to_owned()];
        assert_eq!(may_write("ferris", &src, cwd, Path::new("/p/src/a.rs")), Ok(()));
        assert_eq!(
            may_write("ferris", &src, cwd, Path::new("/p/Cargo.toml")),
            Err("ferris may not write Cargo.toml: its fs_write grants are [src/**]".into())
        );
        assert!(
            may_write("ferris", &["**".into()], cwd, Path::new("/etc/passwd"))
                .expect_err("outside")
                .contains("outside")
        );
        assert!(may_write("ferris", &[], cwd, Path::new("/p/src/a.rs")).is_err());
    }

    #[test]
    fn edits_apply_from_the_end_and_overlaps_are_refused() {
        let edit = |sl, sc, el, ec, text: &str| protocol::agents::TextEdit {
            uri: "file:///a".into(),
            range: protocol::documents::Range {
                start: protocol::documents::Position { line: sl, character: sc },
                end: protocol::documents::Position { line: el, character: ec },
            },
            new_text: text.into(),
        };
        let text = "fn a() {}\nfn b() {}\n";
        let (doc, rename) = (edit(0, 0, 0, 0, "/// A.\n"), edit(1, 3, 1, 4, "c"));
        assert_eq!(apply_edits(text, &[&rename, &doc]).as_deref(), Some("/// A.\nfn a() {}\nfn c() {}\n"));
        let (x, y) = (edit(0, 0, 0, 5, "x"), edit(0, 3, 0, 8, "y"));
        assert_eq!(apply_edits(text, &[&x, &y]), None);
    }
}
