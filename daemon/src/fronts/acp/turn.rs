//! One prompt turn: the agent picked, its target file read through the client
//! and opened in the daemon, the run started and streamed as a tool call and
//! message chunks, each finding a tool call of its own, then the edits offered.

use std::{path::Path, sync::atomic::Ordering, time::Duration};

use acp::v1::{ConnectionTo, schema::*};
use agent_client_protocol::{self as acp, Client};
use jsonrpsee::core::client::ClientT as _;
use protocol::{
    agents::{RunInfo, RunParams, RunRef, RunStatus},
    client::Event,
    documents::{OpenParams, UriParams},
};
use tokio::sync::broadcast;

use super::{
    live::LiveEdits,
    prompt::{FileRef, choose, named_file, read_prompt},
    session::{Shared, TEAM, daemon_error, say, say_thought, unknown_session, update},
};
use crate::server::client::ByName;

/// Findings shown as tool calls of their own, at most: a workspace's backlog
/// can hold thousands, more than a chat can show usefully.
const MAX_FINDING_CALLS: usize = 200;

impl Shared {
    /// One prompt turn: pick the agent, run it, stream it, offer its edits.
    pub(super) async fn turn(&self, cx: &ConnectionTo<Client>, request: PromptRequest) -> acp::Result<PromptResponse> {
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
            let _ = self.call::<protocol::documents::Close>(&UriParams { uri }).await;
        }
        let (run, mut live) = match result {
            Ok(done) => done,
            // The agent could not take it (no such skill for this request, no
            // file where one is needed…): said in the chat, not as a protocol error.
            Err(TurnError::Refused(message)) => {
                say(cx, &sid, &format!("{message}\n"))?;
                return Ok(PromptResponse::new(StopReason::EndTurn));
            }
            Err(TurnError::Failed(err)) => return Err(err),
        };
        let response = self.after_run(cx, &sid, &cwd, &run, &mut live).await;
        // A diff shown while it was written and then not offered (the run
        // failed or was cancelled, the call was refused) ends here.
        self.close_unoffered(cx, &sid, &live)?;
        response
    }

    /// The run's findings as tool calls, then its edits offered.
    async fn after_run(
        &self,
        cx: &ConnectionTo<Client>,
        sid: &SessionId,
        cwd: &Path,
        run: &RunInfo,
        live: &mut LiveEdits,
    ) -> acp::Result<PromptResponse> {
        if self.is_cancelled(sid) || run.status == RunStatus::Cancelled {
            return Ok(PromptResponse::new(StopReason::Cancelled));
        }
        for (n, finding) in run.findings.iter().enumerate().take(MAX_FINDING_CALLS) {
            update(cx, sid, SessionUpdate::ToolCall(finding_call(run, n, finding, cwd)))?;
        }
        if let Some(more) = run.findings.len().checked_sub(MAX_FINDING_CALLS).filter(|&n| n > 0) {
            say(cx, sid, &format!("\n{more} more finding(s) are not shown here; the report above counts them all.\n"))?;
        }
        if run.status == RunStatus::Succeeded && !run.edits.is_empty() {
            return self.offer_edits(cx, sid, cwd, run, live).await;
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
            match self.call::<protocol::documents::Open>(&open).await {
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
    ) -> Result<(RunInfo, LiveEdits), TurnError> {
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
        let mut attempts = 0;
        let started: RunInfo = loop {
            attempts += 1;
            let daemon = self.daemon().await.map_err(|err| TurnError::Failed(daemon_error(err)))?;
            match daemon.request(<protocol::agents::Run as protocol::Method>::NAME, ByName(&params)).await {
                Ok(started) => break started,
                Err(jsonrpsee::core::client::Error::Call(refused)) => {
                    return Err(TurnError::Refused(refusal(shown, &refused)));
                }
                // The daemon went away under the request: a run it had taken
                // died with it (it is marked killed), so the next one starts it.
                Err(_) if attempts == 1 && !daemon.is_connected() => {
                    self.forget_if_closed();
                    continue;
                }
                Err(err) => return Err(TurnError::Failed(daemon_error(anyhow::anyhow!("agents/run: {err}")))),
            }
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
    ) -> acp::Result<(RunInfo, LiveEdits)> {
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
        let mut live = LiveEdits::new(&run_id);
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
                Ok(Ok(Event::RunEdit { run_id: id, call, uri, range, text, .. })) if id == run_id => {
                    self.live_edit(cx, sid, &started.agent, &mut live, (call, uri, range, text)).await?;
                }
                Ok(Ok(_)) => {}
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    lagged = true;
                    status = self.call::<protocol::agents::GetRun>(&get).await.map_err(daemon_error)?.status;
                }
                // A quiet second (or no more events): ask where the run is.
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    status = self.call::<protocol::agents::GetRun>(&get).await.map_err(daemon_error)?.status;
                }
            }
        }
        let run = self.call::<protocol::agents::GetRun>(&get).await.map_err(daemon_error)?;
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
            // Its report says why there is nothing: the call itself completed.
            RunStatus::Succeeded | RunStatus::NoResult => ToolCallStatus::Completed,
            _ => ToolCallStatus::Failed,
        };
        update(
            cx,
            sid,
            SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(run_id, ToolCallUpdateFields::new().status(done))),
        )?;
        Ok((run, live))
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

enum TurnError {
    /// The daemon would not start the run; told to the user in the chat.
    Refused(String),
    Failed(acp::Error),
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
