//! `workspace/executeCommand`: `paired.runAgent` and `paired.runWorkflow`, run
//! in the daemon with progress in the editor, a workflow's conflicts put to the
//! user, and at the end findings as diagnostics, edits applied through the
//! editor and a message.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::{FutureExt as _, future::BoxFuture};
use protocol::{client::Event, workflows::StepRecord};
use serde_json::Value;
use tokio::sync::mpsc;
use tower_lsp_server::{NotCancellable, OngoingProgress, Unbounded, jsonrpc, ls_types::MessageType};

use super::{agents, proxy::Proxy};

/// What a command does, to be answered with (cancellable with `$/cancelRequest`).
pub(super) type Work = BoxFuture<'static, jsonrpc::Result<Value>>;

/// A run's or a session's progress in the editor.
type Progress = OngoingProgress<Unbounded, NotCancellable>;

/// `workspace/executeCommand` of `paired.runWorkflow`: the session, with a
/// progress line per step, conflicts the workflow asks about put to the user
/// (`window/showMessageRequest`), and at the end the merged findings as
/// diagnostics and the edits that stand through `workspace/applyEdit`. An error
/// when the arguments are not a workflow's.
pub(super) fn run_workflow(proxy: &Arc<Proxy>, id: &jsonrpc::Id, params: &Value) -> Result<Work, jsonrpc::Error> {
    let Some(start) = agents::workflow_params(&params["arguments"]) else {
        return Err(jsonrpc::Error::invalid_params(format!(
            "{}: pass one argument {{workflow, uri?, range?, prompt?}}",
            agents::RUN_WORKFLOW
        )));
    };
    let proxy = proxy.clone();
    let after_seq = proxy.mirror().seq;
    let key = serde_json::to_string(id).unwrap_or_default();
    Ok(async move {
        let workflow = start["workflow"].as_str().unwrap_or("workflow").to_owned();
        let progress = proxy.begin_progress(format!("PAIRED: {workflow} workflow")).await;
        let result = follow_session(&proxy, start, &key, after_seq, progress.as_ref()).await;
        if let Some(progress) = progress {
            progress.finish().await;
        }
        let session = result?;
        proxy.after_run(&agents::session_as_run(&session)).await;
        Ok(session)
    }
    .boxed())
}

/// Starts the workflow session and follows it to its end: progress per step,
/// questions to the user. The finished session.
async fn follow_session(
    proxy: &Proxy,
    start: Value,
    key: &str,
    after_seq: u64,
    progress: Option<&Progress>,
) -> jsonrpc::Result<Value> {
    let (updates, mut received) = mpsc::unbounded_channel();
    let started = proxy.forward(<protocol::workflows::Run as protocol::Method>::NAME, Some(start), after_seq).await?;
    let session_id = started["id"].as_str().unwrap_or_default().to_owned();
    proxy.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(session_id.clone(), updates);
    proxy.runs.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned(), session_id.clone());
    let mut asked = ask_recorded_conflicts(proxy, &session_id, after_seq).await;
    let wait = serde_json::json!({ "session_id": session_id, "wait": true });
    let finished = proxy.forward(<protocol::workflows::GetSession as protocol::Method>::NAME, Some(wait), after_seq);
    tokio::pin!(finished);
    // Each step's line is reported once per status it reaches.
    let mut reported = std::collections::HashSet::new();
    let outcome = loop {
        tokio::select! {
            outcome = &mut finished => break outcome,
            Some(event) = received.recv() => match event {
                Event::SessionUpdate { step: Some(step), .. } => report_step(progress, &mut reported, &step).await,
                Event::Choice { conflict_id, question, options, .. } if asked.insert(conflict_id.clone()) => {
                    proxy.ask_user(&session_id, &conflict_id, question, options, after_seq).await;
                }
                _ => {}
            },
        }
    };
    proxy.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(&session_id);
    proxy.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    // Updates still on their way when the session ended, and steps that ended
    // before this editor was listening (a fast step can finish before
    // `workflows/run` has answered): every step's end is reported before the
    // progress ends, from the finished session's record.
    while let Ok(event) = received.try_recv() {
        if let Event::SessionUpdate { step: Some(step), .. } = event {
            report_step(progress, &mut reported, &step).await;
        }
    }
    if let Ok(session) = &outcome {
        let steps: Vec<StepRecord> = serde_json::from_value(session["steps"].clone()).unwrap_or_default();
        for step in &steps {
            report_step(progress, &mut reported, step).await;
        }
    }
    outcome
}

/// A step's line in the editor's progress, unless already reported with this status.
async fn report_step(progress: Option<&Progress>, reported: &mut std::collections::HashSet<String>, step: &StepRecord) {
    let line = format!("{} {} ({} {})", step.key, format!("{:?}", step.status).to_lowercase(), step.agent, step.skill);
    if let Some(progress) = progress
        && reported.insert(line.clone())
    {
        progress.report(line).await;
    }
}

/// A question asked before this editor was listening is on the session's
/// record: asks those still pending. The conflicts asked about.
async fn ask_recorded_conflicts(proxy: &Proxy, session_id: &str, after_seq: u64) -> std::collections::HashSet<String> {
    let mut asked: std::collections::HashSet<String> = std::collections::HashSet::new();
    let now = serde_json::json!({ "session_id": session_id });
    if let Ok(session) =
        proxy.forward(<protocol::workflows::GetSession as protocol::Method>::NAME, Some(now), after_seq).await
    {
        for conflict in session["conflicts"].as_array().into_iter().flatten() {
            let options: Vec<String> = conflict["options"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o.as_str().map(str::to_owned))
                .collect();
            let id = conflict["id"].as_str().unwrap_or_default().to_owned();
            if conflict["resolution"] == "pending" && !options.is_empty() && asked.insert(id.clone()) {
                let question =
                    format!("The agents disagree: {}. Which should stand?", conflict["what"].as_str().unwrap_or(""));
                proxy.ask_user(session_id, &id, question, options, after_seq).await;
            }
        }
    }
    asked
}

/// `workspace/executeCommand` of `paired.runAgent`: the run, with progress
/// while it lasts, its findings as diagnostics, its edits applied through
/// the editor, and a message when it ends. An error when the arguments are
/// not a run's.
pub(super) fn run_agent(proxy: &Arc<Proxy>, id: &jsonrpc::Id, params: &Value) -> Result<Work, jsonrpc::Error> {
    let Some(run_params) = agents::run_params(&params["arguments"]) else {
        return Err(jsonrpc::Error::invalid_params(format!(
            "{}: pass one argument {{agent, skill?, uri?, range?, prompt?}}",
            agents::RUN_AGENT
        )));
    };
    let proxy = proxy.clone();
    let after_seq = proxy.mirror().seq;
    let key = serde_json::to_string(id).unwrap_or_default();
    Ok(async move {
        let agent = run_params["agent"].as_str().unwrap_or("agent").to_owned();
        let progress = proxy.begin_progress(format!("PAIRED: {agent}")).await;
        let mut start = run_params;
        start["wait"] = Value::Bool(false);
        let result = async {
            let started =
                proxy.forward(<protocol::agents::Run as protocol::Method>::NAME, Some(start), after_seq).await?;
            let run_id = started["id"].as_str().unwrap_or_default().to_owned();
            proxy.runs.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), run_id.clone());
            let finished = proxy
                .forward(
                    <protocol::agents::GetRun as protocol::Method>::NAME,
                    Some(serde_json::json!({ "run_id": run_id, "wait": true })),
                    after_seq,
                )
                .await;
            proxy.runs.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            finished
        }
        .await;
        if let Some(progress) = progress {
            progress.finish().await;
        }
        let run = result?;
        proxy.after_run(&run).await;
        Ok(run)
    }
    .boxed())
}

impl Proxy {
    async fn begin_progress(&self, title: String) -> Option<Progress> {
        let editor = self.editor.get()?;
        let token = tower_lsp_server::ls_types::NumberOrString::String(format!(
            "paired-run-{}",
            self.mirror().seq.wrapping_add(std::process::id() as u64)
        ));
        let create = editor.send_request::<tower_lsp_server::ls_types::request::WorkDoneProgressCreate>(
            tower_lsp_server::ls_types::WorkDoneProgressCreateParams { token: token.clone() },
        );
        if !matches!(tokio::time::timeout(Duration::from_secs(2), create).await, Ok(Ok(()))) {
            return None;
        }
        Some(editor.progress(token, title).begin().await)
    }

    /// Puts a workflow's conflict to the user and passes on the answer; no
    /// answer (the message dismissed) leaves it to the workflow's fallback.
    async fn ask_user(
        &self,
        session_id: &str,
        conflict_id: &str,
        question: String,
        options: Vec<String>,
        after_seq: u64,
    ) {
        let Some(editor) = self.editor.get() else { return };
        let actions: Vec<tower_lsp_server::ls_types::MessageActionItem> = options
            .iter()
            .map(|o| tower_lsp_server::ls_types::MessageActionItem { title: o.clone(), properties: HashMap::new() })
            .collect();
        let answer = editor.show_message_request(MessageType::INFO, format!("PAIRED: {question}"), Some(actions)).await;
        let Ok(Some(chosen)) = answer else { return };
        let Some(choice) = options.iter().position(|o| *o == chosen.title) else { return };
        let decide = serde_json::json!({ "session_id": session_id, "conflict_id": conflict_id, "choice": choice });
        if let Err(err) =
            self.forward(<protocol::workflows::Decide as protocol::Method>::NAME, Some(decide), after_seq).await
        {
            tracing::warn!("cannot pass on the user's choice: {err}");
        }
    }

    async fn after_run(&self, run: &Value) {
        let Some(editor) = self.editor.get() else { return };
        let agent = run["agent"].as_str().unwrap_or("agent");
        let source = capitalised(agent);
        let mut found = agents::diagnostics(run, &source);
        // A clean run clears what the agent reported on its document before.
        if let Some(uri) = run["uri"].as_str() {
            found.entry(uri.to_owned()).or_default();
        }
        for (uri, diagnostics) in found {
            let all: Vec<Value> = {
                let mut published = self.agent_diagnostics.lock().unwrap_or_else(|p| p.into_inner());
                let by_agent = published.entry(uri.clone()).or_default();
                by_agent.insert(source.clone(), diagnostics);
                by_agent.values().flatten().cloned().collect()
            };
            let params = serde_json::json!({ "uri": uri, "diagnostics": all });
            match serde_json::from_value::<tower_lsp_server::ls_types::PublishDiagnosticsParams>(params) {
                Ok(params) => {
                    editor
                        .send_notification::<tower_lsp_server::ls_types::notification::PublishDiagnostics>(params)
                        .await
                }
                Err(err) => tracing::warn!("cannot publish {source}'s diagnostics for {uri}: {err}"),
            }
        }
        let edits: Vec<Value> = run["edits"].as_array().cloned().unwrap_or_default();
        if !edits.is_empty() {
            self.propose(editor, &edits, &source).await;
        }
        editor.show_message(MessageType::INFO, agents::summary(run, &source)).await;
    }
}

impl Proxy {
    /// An agent's edits, written only once the user accepts them: through the
    /// editor's review of a change-annotated edit (VS Code's refactor preview:
    /// per file and per hunk), else after a yes to "apply?". Undo restores.
    async fn propose(&self, editor: &tower_lsp_server::Client, edits: &[Value], source: &str) {
        let files: std::collections::BTreeSet<&str> = edits.iter().filter_map(|e| e["uri"].as_str()).collect();
        let reviewable = self.edit_review.load(std::sync::atomic::Ordering::Relaxed);
        let edit = if reviewable {
            agents::reviewed_edit(edits, source)
        } else {
            let question = format!("{source} proposes {} edit(s) in {} file(s). Apply them?", edits.len(), files.len());
            let apply = tower_lsp_server::ls_types::MessageActionItem {
                title: "Apply".to_owned(),
                properties: Default::default(),
            };
            let discard = tower_lsp_server::ls_types::MessageActionItem {
                title: "Discard".to_owned(),
                properties: Default::default(),
            };
            match editor.show_message_request(MessageType::INFO, question, Some(vec![apply, discard])).await {
                Ok(Some(choice)) if choice.title == "Apply" => agents::workspace_edit(edits),
                _ => return,
            }
        };
        // Sent as written: the typed `WorkspaceEdit` would read an annotated
        // edit as a plain one and drop its `annotationId`.
        match editor.send_request::<ApplyEdit>(serde_json::json!({ "label": source, "edit": edit })).await {
            Ok(response) if response["applied"] != true => {
                tracing::info!("the user did not take {source}'s edit: {}", response["failureReason"])
            }
            Ok(_) => {}
            Err(err) => tracing::warn!("the editor did not apply {source}'s edit: {err}"),
        }
    }
}

/// `workspace/applyEdit` with the edit as JSON.
enum ApplyEdit {}

impl tower_lsp_server::ls_types::request::Request for ApplyEdit {
    type Params = Value;
    type Result = Value;
    const METHOD: &'static str = "workspace/applyEdit";
}

fn capitalised(id: &str) -> String {
    let mut chars = id.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
