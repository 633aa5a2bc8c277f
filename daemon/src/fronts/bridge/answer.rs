//! A 1.0 client's message answered by an agent's real work: its model when one
//! is configured, else the offline skill that fits the file, definition or
//! project the message is about.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::Arc,
};

use agents::skills::{Scope, Skill};
use protocol::agents::RunParams;
use serde_json::Value;

use super::{
    reach::{Mention, file_in_reach, mentioned_file},
    state::{Reach, agent_json},
};
use crate::{server::daemon::Daemon, services::roster::Agent};

/// A 1.0 CLI command: `qa:<x>`, `arch:<x>`, `sherlock:<x>`…; `task:`,
/// `context:`, `collaborate:` and no prefix go to Alex. The agent, and the
/// message with the string `args` appended.
pub(super) fn cli_route(command: &str, args: &Value) -> (String, String) {
    let (prefix, rest) = command.split_once(':').unwrap_or(("alex", command));
    let agent = match prefix.trim().to_ascii_lowercase().as_str() {
        "task" | "context" | "collaborate" => "alex".to_owned(),
        other => other.to_owned(),
    };
    let mut message = rest.trim().to_owned();
    for arg in args.as_array().into_iter().flatten().filter_map(Value::as_str) {
        message.push(' ');
        message.push_str(arg);
    }
    (agent, message)
}

/// What a 1.0 client asked: its message, and the file its editor has open
/// (the 1.0 extension's `context.activeFile.fileName`), if it said.
pub(super) struct Asked {
    pub(super) message: String,
    pub(super) active: Option<String>,
}

/// Definitions a symbol skill runs on when the message names none: at most this many.
const DEFINITIONS_PER_ANSWER: usize = 12;

/// A message to an agent, answered by its real work: its model when one is
/// configured, else the offline skill that fits — on a file the message
/// names (else the file the editor has open), at the definition it names,
/// on the project, or on the request itself. The agent is `None` when there
/// is no such agent; `Err` is a refusal: a file or project out of reach.
pub(super) async fn answer(
    daemon: &Arc<Daemon>,
    reach: &Reach,
    agent: Option<&str>,
    asked: &Asked,
    project: Option<&Path>,
) -> Result<(Option<Value>, String), String> {
    let message = asked.message.as_str();
    let roster = daemon.runs.roster(project);
    let name = agent.unwrap_or("alex");
    let Some(agent) = roster.resolve(name) else {
        let known: Vec<&str> = roster.agents.iter().map(|a| a.manifest.id.as_str()).collect();
        return Ok((None, format!("no agent named {name:?}; the team: {}", known.join(", "))));
    };
    let who = Some(agent_json(agent));
    let file = file_asked_about(daemon, reach, asked, project)?;
    let model = daemon.runs.env().provider_name(agent).is_some();
    let assessment = message.trim() == "COMPREHENSIVE_PROJECT_ASSESSMENT";
    // With no project named, a run falls back to the only workspace open: one
    // this client did not connect with.
    if !reach.trusted && project.is_none() && (model || assessment) {
        return Err(format!(
            "{} needs a project: connect with PROJECT_CONNECT (or `projectPath`) to a workspace open in an editor or a folder listed in `bridge.projects`",
            agent.info().display_name
        ));
    }
    let workspace = project.map(crate::platform::uri::from_path);
    let mut params = RunParams {
        agent: agent.manifest.id.clone(),
        skill: None,
        uri: None,
        position: None,
        range: None,
        prompt: Some(message.to_owned()),
        workspace: workspace.clone(),
        wait: true,
        max_tokens: None,
    };
    if model {
        params.skill = Some("ask".into());
        params.uri = file.as_deref().map(crate::platform::uri::from_path);
        return Ok((who, run_text(daemon, params).await));
    }
    // The agent's skill for that scope: the one the message names ("tests"), else its first.
    let lowered = message.to_lowercase();
    let pick = |wanted: Scope| {
        let mut fitting = agent.skills.iter().filter(|s| s.scope() == wanted);
        let first = fitting.clone().next();
        fitting.find(|s| lowered.contains(s.name().trim_end_matches('s'))).or(first).map(|s| s.name().to_owned())
    };
    let chosen = if assessment && agent.skills.contains(&Skill::Assess) {
        Some(Skill::Assess.name().to_owned())
    } else if let (Some(path), Some(skill)) = (&file, pick(Scope::File)) {
        params.uri = Some(crate::platform::uri::from_path(path));
        Some(skill)
    } else if let (Some(path), Some(skill)) = (&file, pick(Scope::Symbol)) {
        // The bridge has no cursor: the definition the message names, else
        // each one of the file (those without a doc comment, to document).
        params.skill = Some(skill);
        params.uri = Some(crate::platform::uri::from_path(path));
        return Ok((who, on_definitions(daemon, params, path, message).await));
    } else if let (Some(_), Some(skill)) = (&workspace, pick(Scope::Workspace)) {
        Some(skill)
    } else {
        pick(Scope::Prompt)
    };
    let Some(skill) = chosen else {
        return Ok((who, what_it_works_on(agent, project)));
    };
    params.skill = Some(skill);
    Ok((who, run_text(daemon, params).await))
}

/// The file a message is about: the first one it names, else the one the
/// editor has open; `Err` is a refusal (out of reach).
fn file_asked_about(
    daemon: &Daemon,
    reach: &Reach,
    asked: &Asked,
    project: Option<&Path>,
) -> Result<Option<PathBuf>, String> {
    let mentioned = match mentioned_file(daemon, reach, &asked.message, project) {
        Mention::Nothing => match &asked.active {
            Some(active) => file_in_reach(daemon, reach, active, project).unwrap_or(Mention::Nothing),
            None => Mention::Nothing,
        },
        other => other,
    };
    match mentioned {
        Mention::Nothing => Ok(None),
        Mention::File(path) => Ok(Some(path)),
        Mention::Refused(refusal) => Err(refusal),
    }
}

/// The answer of an agent none of whose skills fits the message: what it works on.
fn what_it_works_on(agent: &Agent, project: Option<&Path>) -> String {
    let info = agent.info();
    let of_what = if agent.skills.iter().any(|s| s.scope() == Scope::Symbol) {
        "a function, method or type in a file: name the file and the definition in your message (\"document load in src/lib.rs\"); without a definition named, each one in the file"
    } else {
        "files: name a file in your message"
    };
    let project_hint = match project {
        Some(_) => String::new(),
        None => " A file is named by its path in the project this client connected with (PROJECT_CONNECT, `projectPath`, or the 1.0 extension's `context.workspace.path`), or by its absolute path.".to_owned(),
    };
    format!(
        "{} works on {of_what} (skills: {}), or configure a model provider to talk freely.{project_hint}",
        info.display_name,
        agent.skills.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
    )
}

/// A run's answer as 1.0 clients show it: its output, findings and proposed edits.
async fn run_text(daemon: &Arc<Daemon>, params: RunParams) -> String {
    match daemon.runs.run_for(params, "editor".into()).await {
        Ok(run) if run.status == protocol::agents::RunStatus::Succeeded => {
            let mut text = run.output.trim_end().to_owned();
            for finding in &run.findings {
                text.push_str(&format!("\n- line {}: [{}] {}", finding.line, finding.rule, finding.message));
            }
            for edit in &run.edits {
                text.push_str(&format!("\n\nproposed at line {}:\n{}", edit.range.start.line + 1, edit.new_text));
            }
            text
        }
        Ok(run) => format!("the run failed: {}", run.error.unwrap_or_default()),
        Err(err) => err.to_string(),
    }
}

/// A symbol skill (Edison's `document`, `tests`) on `file`, with the cursor on
/// each definition the message names, else on each definition of the file
/// (for `document`, those without a doc comment), up to [`DEFINITIONS_PER_ANSWER`].
async fn on_definitions(daemon: &Arc<Daemon>, params: RunParams, file: &Path, message: &str) -> String {
    let uri = params.uri.clone().unwrap_or_default();
    let reader = daemon.codebase.clone();
    let undocumented_only = params.skill.as_deref() == Some("document");
    // Names, not paths: `main` in `src/main.rs` names no function.
    let words: BTreeSet<String> = message
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '/')))
        .filter(|w| !w.contains('.') && !w.contains('/'))
        .flat_map(|w| w.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let found = tokio::task::spawn_blocking(move || {
        let (document, _) = crate::services::codebase::document_for(&reader, &uri).map_err(|e| e.to_string())?;
        let outline = context::symbols::outline(&document);
        let mut all = Vec::new();
        let mut stack: Vec<&context::symbols::Symbol> = outline.symbols.iter().rev().collect();
        while let Some(symbol) = stack.pop() {
            all.push(symbol);
            stack.extend(symbol.children.iter().rev());
        }
        let definition = |s: &&context::symbols::Symbol| {
            use context::symbols::SymbolKind as K;
            !matches!(s.kind, K::Module | K::Impl | K::Constant)
        };
        let named: Vec<&context::symbols::Symbol> = all.iter().copied().filter(|s| words.contains(&s.name)).collect();
        let named_any = !named.is_empty();
        let chosen: Vec<&context::symbols::Symbol> = if named_any {
            named
        } else {
            all.into_iter().filter(definition).filter(|s| !undocumented_only || s.doc.is_none()).collect()
        };
        let lines = crate::services::codebase::LineIndex::new(document.text());
        let at: Vec<(String, protocol::documents::Position)> =
            chosen.iter().map(|s| (s.name.clone(), lines.position(s.bytes.start))).collect();
        Ok::<_, String>((named_any, at))
    })
    .await;
    let (named, at) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(message)) => return message,
        Err(err) => return format!("reading the file failed: {err}"),
    };
    let shown = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    if at.is_empty() {
        return format!(
            "found no function, method or type {} in {shown}; name one in your message (\"document load in {shown}\")",
            if undocumented_only { "without a doc comment" } else { "" }
        );
    }
    let mut answers = Vec::new();
    for (_, position) in at.iter().take(DEFINITIONS_PER_ANSWER) {
        let mut one = params.clone();
        one.position = Some(*position);
        answers.push(run_text(daemon, one).await);
    }
    if at.len() > DEFINITIONS_PER_ANSWER {
        let rest: Vec<&str> = at[DEFINITIONS_PER_ANSWER..].iter().map(|(name, _)| name.as_str()).collect();
        answers.push(format!(
            "{} more in {shown}, not done: {} (name one in your message)",
            rest.len(),
            rest.join(", ")
        ));
    } else if !named {
        answers.push(format!("({} definition(s) in {shown}; name one to work on it alone)", at.len()));
    }
    answers.join("\n\n")
}
