//! Model mode: an agent answers a prompt with a configured provider. Its persona
//! is the system prompt; the context bundle of the file and position (redacted
//! unless the provider is on this machine) and the agent's own offline findings
//! ground it; it may call catalog tools, each checked against the agent's
//! granted permissions before it runs. Output streams to clients as it arrives.

use std::{path::Path, sync::Arc};

use agents::grants::Reach;
use agents::{grants::glob_matches, skills::Scope};
use protocol::{
    agents::{RunParams, RunStatus},
    client::Event,
    context::BuildParams,
};
use serde_json::{Value, json};

use super::{
    env::{Env, Failed, RunContext},
    offline::{self, Produced},
};
use crate::{
    platform::uri,
    services::{
        codebase,
        provider::{ChatRequest, Message, Provider, ToolCall, ToolSpec},
        roster::Agent,
        workspace::Refused,
    },
};

/// Tool rounds per run: a model that keeps calling tools is stopped here.
const MAX_ROUNDS: usize = 6;

fn tool_specs(agent: &Agent, run: &RunContext) -> Vec<ToolSpec> {
    let path = json!({"type": "object", "properties": {"path": {"type": "string", "description": "workspace-relative path"}}, "required": ["path"]});
    let query = json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]});
    let position = json!({"type": "object", "properties": {"path": {"type": "string"}, "line": {"type": "integer", "description": "1-based"}}, "required": ["path", "line"]});
    let edit = json!({"type": "object", "properties": {
        "path": {"type": "string"}, "start_line": {"type": "integer", "description": "1-based, first line replaced"},
        "end_line": {"type": "integer", "description": "1-based, last line replaced; start_line - 1 to insert"},
        "new_text": {"type": "string"}}, "required": ["path", "start_line", "end_line", "new_text"]});
    let diagnostic = json!({"type": "object", "properties": {
        "path": {"type": "string"}, "line": {"type": "integer", "description": "1-based"},
        "severity": {"type": "string", "enum": ["error", "warning", "info", "hint"]}, "message": {"type": "string"}},
        "required": ["path", "line", "message"]});
    let ask = json!({"type": "object", "properties": {
        "agent": {"type": "string", "description": "id or alias: sherlock, leonardo, marie, vince, maya, edison, alex"},
        "skill": {"type": "string"}, "path": {"type": "string"}}, "required": ["agent"]});
    let catalog = [
        ("read_file", "Read a workspace file.", path),
        ("search_symbols", "Fuzzy-search the workspace's symbols.", query),
        ("build_context", "The context bundle around a line of a workspace file.", position),
        ("propose_edit", "Propose replacing lines of a file; the user applies it or not.", edit),
        ("publish_diagnostics", "Report a finding on a line, shown in the editor's problems.", diagnostic),
        ("ask_agent", "Run another agent's offline skill, on a file or the workspace, and read its report.", ask),
    ];
    let mut specs: Vec<ToolSpec> = catalog
        .into_iter()
        .filter(|(name, ..)| agent.manifest.tools.iter().any(|t| t == name))
        .map(|(name, description, parameters)| ToolSpec {
            name: name.into(),
            description: description.into(),
            parameters,
        })
        .collect();
    // In a workflow, every agent shares the session's board.
    if run.board.is_some() {
        specs.push(ToolSpec {
            name: "board_read".into(),
            description:
                "Read the workflow's shared board: facts, decisions, artifacts and open questions, with who wrote each."
                    .into(),
            parameters: json!({"type": "object", "properties": {}}),
        });
        specs.push(ToolSpec {
            name: "board_write".into(),
            description: "Write to the workflow's shared board for the other agents.".into(),
            parameters: json!({"type": "object", "properties": {
                "kind": {"type": "string", "enum": ["fact", "decision", "artifact", "question"]},
                "key": {"type": "string", "description": "what it is about; a decision's subject"},
                "text": {"type": "string"}}, "required": ["kind", "key", "text"]}),
        });
    }
    specs
}

/// Tokens of text, estimated the way the context budget does (4 bytes a token).
fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Runs a tool call if the agent's grants allow it. The refusal text is what
/// the model (and, through the run's progress, the user) sees.
async fn call_tool(
    env: &Env,
    run: &RunContext,
    agent: &Agent,
    call: &ToolCall,
    local: bool,
    params: &RunParams,
    out: &mut ModelOutput,
) -> Result<String, String> {
    let board_tool = matches!(call.name.as_str(), "board_read" | "board_write");
    if !(agent.manifest.tools.contains(&call.name) || (board_tool && run.board.is_some())) {
        return Err(format!("{} has no tool {:?}", agent.manifest.metadata.name, call.name));
    }
    let arguments: Value =
        serde_json::from_str(&call.arguments).map_err(|err| format!("arguments are not JSON: {err}"))?;
    if board_tool {
        let step = run.board.as_ref().ok_or("not in a workflow")?;
        if call.name == "board_read" {
            let entries: Vec<String> = step
                .read()
                .iter()
                .map(|e| format!("- [{}] {} — {} (by {} in {})", e.kind, e.key, e.text, e.agent, e.step))
                .collect();
            let text = if entries.is_empty() { "the board is empty".to_owned() } else { entries.join("\n") };
            return Ok(if local { text } else { context::redact::redact("", &text).0 });
        }
        let field = |key: &str| arguments[key].as_str().ok_or_else(|| format!("pass `{key}`"));
        step.write(field("kind")?, field("key")?, field("text")?).await?;
        return Ok("written to the board".into());
    }
    let workspace = env.workspace_for(params)?.ok_or("no workspace is open")?;
    // The one grant filter: every path a tool names, and every file or path a
    // tool returns, is checked against what the agent may read.
    let reach = Reach::of(&agent.manifest);
    // A path a tool names: plain and workspace-relative, within the agent's
    // grants (`fs_write` for an edit), and resolved to its real file, which
    // must be in the workspace, not excluded, and within the grants too (a
    // link is judged by where it leads). Returns the real path, relative.
    let granted = |arguments: &Value, write: bool| -> Result<String, String> {
        let rel = arguments["path"].as_str().ok_or("pass `path`")?.trim_start_matches("./").to_owned();
        if !agents::grants::is_plain(&rel) {
            return Err(format!("{rel:?} is not a plain workspace-relative path"));
        }
        let allowed = |rel: &str| -> Result<(), String> {
            if !write {
                return reach.refusal(rel).map_or(Ok(()), Err);
            }
            let grants = &agent.manifest.permissions.fs_write;
            if grants.iter().any(|g| glob_matches(g, rel)) {
                return Ok(());
            }
            Err(format!(
                "{} may not write {rel}: its fs_write grants are [{}]",
                agent.manifest.metadata.name,
                grants.join(", ")
            ))
        };
        allowed(&rel)?;
        // Refusals name workspace paths only: the model learns nothing of the
        // machine beyond the workspace.
        let resolved =
            env.codebase.workspaces.resolve(Path::new(&rel), Some(&workspace.root)).map_err(|why| match why {
                Refused::Excluded { real: Some(real), .. } => match workspace.relative(&real) {
                    Some(real) => format!("{rel} leads to {real}, which is excluded by the workspace's ignore rules"),
                    None => format!("{rel} leads outside the workspace"),
                },
                Refused::Excluded { real: None, .. } => format!("{rel} is excluded by the workspace's ignore rules"),
                Refused::Outside { .. } => format!("{rel} leads outside the workspace (through a symbolic link)"),
                _ => format!("{rel} is not a file of the workspace"),
            })?;
        let real = workspace.relative(&resolved.path).ok_or_else(|| format!("{rel} is outside the workspace"))?;
        if real != rel {
            allowed(&real)?;
        }
        // Reads go only to what the index holds: the walk never follows links.
        if !write && workspace.index().file(&real).is_none() {
            return Err(format!("{rel} is not an indexed file of the workspace"));
        }
        Ok(real)
    };
    let path_argument = |arguments: &Value| granted(arguments, false);
    let line_of = |arguments: &Value, key: &str| -> Result<u32, String> {
        arguments[key]
            .as_u64()
            .and_then(|l| u32::try_from(l).ok())
            .filter(|l| (1..u32::MAX).contains(l))
            .ok_or_else(|| format!("pass `{key}` (1-based)"))
    };
    match call.name.as_str() {
        "read_file" => {
            let rel = path_argument(&arguments)?;
            let text = workspace.read_indexed(&rel).ok_or_else(|| format!("{rel} is not an indexed text file"))?;
            Ok(if local { text } else { context::redact::redact(&rel, &text).0 })
        }
        "search_symbols" => {
            let query = arguments["query"].as_str().ok_or("pass `query`")?;
            let index = workspace.index();
            let hits: Vec<String> = index
                .search(query, 20)
                .iter()
                .filter(|hit| reach.allows(hit.path))
                .map(|hit| format!("{} {} {}:{}", hit.symbol.kind.name(), hit.name, hit.path, hit.symbol.line + 1))
                .collect();
            Ok(if hits.is_empty() { "no matches".into() } else { hits.join("\n") })
        }
        "build_context" => {
            let rel = path_argument(&arguments)?;
            let line = line_of(&arguments, "line")?;
            let bundle = codebase::build(
                &env.codebase,
                BuildParams {
                    uri: uri::from_path(&workspace.root.join(&rel)),
                    position: Some(protocol::documents::Position { line: line - 1, character: 0 }),
                    range: None,
                    question: None,
                    diagnostics: Vec::new(),
                    budget_tokens: Some(2000),
                    local_provider: local,
                },
            )
            .map_err(|err| err.to_string())?;
            // The file is granted; what the bundle draws from others must be too.
            Ok(render_bundle(&within_reach(bundle, &reach, None)))
        }
        "propose_edit" => {
            let rel = granted(&arguments, true)?;
            let start = line_of(&arguments, "start_line")?;
            let end = arguments["end_line"].as_u64().and_then(|l| u32::try_from(l).ok()).unwrap_or(0).min(u32::MAX - 1);
            let new_text = arguments["new_text"].as_str().ok_or("pass `new_text`")?;
            let mut new_text = new_text.to_owned();
            if !new_text.is_empty() && !new_text.ends_with('\n') {
                new_text.push('\n');
            }
            let end = end.max(start - 1);
            out.edits.push(protocol::agents::TextEdit {
                uri: uri::from_path(&workspace.root.join(&rel)),
                range: protocol::documents::Range {
                    start: protocol::documents::Position { line: start - 1, character: 0 },
                    end: protocol::documents::Position { line: end, character: 0 },
                },
                new_text,
            });
            Ok(format!("proposed: lines {start}-{end} of {rel}; the user decides whether to apply it"))
        }
        "publish_diagnostics" => {
            let rel = path_argument(&arguments)?;
            let line = line_of(&arguments, "line")?;
            let severity = match arguments["severity"].as_str().unwrap_or("info") {
                "error" => protocol::agents::Severity::Error,
                "warning" => protocol::agents::Severity::Warning,
                "hint" => protocol::agents::Severity::Hint,
                _ => protocol::agents::Severity::Info,
            };
            let message = arguments["message"].as_str().ok_or("pass `message`")?.to_owned();
            let range = protocol::documents::Range {
                start: protocol::documents::Position { line: line - 1, character: 0 },
                end: protocol::documents::Position { line, character: 0 },
            };
            out.findings.push(protocol::agents::Finding {
                rule: "model".into(),
                severity,
                message,
                uri: Some(uri::from_path(&workspace.root.join(&rel))),
                line,
                range,
                fix: None,
            });
            Ok(format!("reported on {rel}:{line}"))
        }
        "ask_agent" => {
            let name = arguments["agent"].as_str().ok_or("pass `agent`")?;
            let file = match arguments["path"].as_str() {
                Some(_) => Some(uri::from_path(&workspace.root.join(path_argument(&arguments)?))),
                // A workspace-wide report is drawn from every file: only for an
                // agent that may read every file.
                None if !reach.is_everything() => {
                    return Err(format!(
                        "{} may ask for a report on a file it may read, not on the whole workspace: its fs_read grants are [{}]",
                        agent.manifest.metadata.name,
                        agent.manifest.permissions.fs_read.join(", ")
                    ));
                }
                None => None,
            };
            let skill = arguments["skill"].as_str().map(str::to_owned);
            // The asked agent reaches only what both agents may read.
            let report = offline::offline(env, &reach, name, skill, file, &workspace).await?;
            Ok(if local { report } else { context::redact::redact("", &report).0 })
        }
        other => Err(format!("the tool {other:?} is not in the catalog")),
    }
}

/// What a model run produced besides text.
#[derive(Debug, Default)]
pub struct ModelOutput {
    pub text: String,
    pub findings: Vec<protocol::agents::Finding>,
    pub edits: Vec<protocol::agents::TextEdit>,
}

/// The bundle without what lies beyond `reach`: parts from files outside it
/// and, unless it is every file, the project facts (drawn from every manifest
/// of the workspace). `own` is the file the user pointed the run at, as the
/// bundle names it: the user's to show, whatever the grants.
fn within_reach(
    mut bundle: protocol::context::ContextBundle,
    reach: &Reach,
    own: Option<&str>,
) -> protocol::context::ContextBundle {
    let everything = reach.is_everything();
    let (kept, refused): (Vec<_>, Vec<_>) = bundle.parts.into_iter().partition(|part| match &part.path {
        None => everything || part.kind != "project_facts",
        Some(path) => own == Some(path.as_str()) || reach.allows(path),
    });
    bundle.parts = kept;
    bundle.dropped.extend(refused.into_iter().map(|part| protocol::context::DroppedPart {
        title: format!("{} (beyond the fs_read grants: {})", part.title, reach.describe()),
        kind: part.kind,
        tokens: part.tokens,
    }));
    bundle
}

fn render_bundle(bundle: &protocol::context::ContextBundle) -> String {
    bundle.parts.iter().map(|part| format!("## {}\n{}\n", part.title, part.text)).collect::<Vec<_>>().join("\n")
}

/// Model mode, grounded in the agent's own offline skill on the file when it has one.
pub(super) async fn ask(env: &Env, run: &RunContext, agent: &Agent, params: &RunParams) -> Result<Produced, Failed> {
    let name = env.provider_name(agent).ok_or("no provider is configured".to_owned())?;
    let provider = env.providers.get(&env.config, &name)?;
    let file_skill = agent.skills.iter().copied().find(|s| s.scope() == Scope::File);
    let (mut findings, mut grounding) = (Vec::new(), None);
    if let (Some(skill), Some(_)) = (file_skill, &params.uri) {
        let reach = Reach::of(&agent.manifest);
        let (report, found, _) = Box::pin(offline::produce(env, agent, skill, params, &reach)).await?;
        let listed: Vec<String> =
            found.iter().map(|f| format!("- line {}: [{}] {}", f.line, f.rule, f.message)).collect();
        grounding = Some(format!("{report}\n{}", listed.join("\n")));
        findings = found;
    }
    let output = converse(env, run, agent, provider, params, grounding).await?;
    findings.extend(output.findings);
    Ok((output.text, findings, output.edits))
}

/// The model turn loop: requests, streamed output, tool calls, budgets.
async fn converse(
    env: &Env,
    run: &RunContext,
    agent: &Agent,
    provider: Arc<Provider>,
    params: &RunParams,
    grounding: Option<String>,
) -> Result<ModelOutput, Failed> {
    let local = provider.config.is_local();
    let mut user = String::new();
    if let Some(uri) = &params.uri {
        let bundle = codebase::build(
            &env.codebase,
            BuildParams {
                uri: uri.clone(),
                position: params.position,
                range: params.range,
                question: None,
                diagnostics: Vec::new(),
                budget_tokens: None,
                local_provider: local,
            },
        )
        .map_err(|err| err.to_string())?;
        // Named as the bundle names it: relative to its workspace, else absolute.
        let own = uri::to_path(uri)
            .and_then(|p| env.codebase.workspaces.resolve(&p, None).ok())
            .map(|r| r.rel().unwrap_or_else(|| r.path.display().to_string()));
        let bundle = within_reach(bundle, &Reach::of(&agent.manifest), own.as_deref());
        user.push_str("# Context from the editor\n\n");
        user.push_str(&render_bundle(&bundle));
    }
    if let Some(grounding) = grounding {
        user.push_str("\n# Your offline analysis of this file\n\n");
        // Findings quote the code (a TODO's text): redacted like the bundle.
        user.push_str(&if local { grounding } else { context::redact::redact("", &grounding).0 });
    }
    user.push_str("\n# Request\n\n");
    let prompt = params.prompt.clone().unwrap_or_default();
    user.push_str(if local { prompt.clone() } else { context::redact::redact("", &prompt).0 }.as_str());
    let mut request = ChatRequest {
        system: format!(
            "{}\n\nYou work inside the user's editor through PAIRED. Be specific: cite files and lines. Use the tools when you need more of the workspace.",
            agent.persona()
        ),
        messages: vec![Message::user(user)],
        tools: tool_specs(agent, run),
    };
    let mut result = ModelOutput::default();
    for _ in 0..MAX_ROUNDS {
        let (agent_id, id) = (agent.manifest.id.clone(), run.id.clone());
        let mut streamed = String::new();
        let kept = &mut streamed;
        let mut on_text = move |text: &str| {
            kept.push_str(text);
            env.send_event(Event::RunUpdate {
                run_id: id.clone(),
                agent: agent_id.clone(),
                status: RunStatus::Running,
                message: None,
                output_delta: Some(text.to_owned()),
            });
        };
        // The budget is checked before each request: a request that would pass
        // it is never sent.
        let sent = estimate_tokens(&request.system)
            + request
                .messages
                .iter()
                .map(|m| {
                    estimate_tokens(&m.content)
                        + m.tool_calls.iter().map(|c| estimate_tokens(&c.arguments)).sum::<u64>()
                })
                .sum::<u64>();
        let used = run.tokens_used();
        let step = run.board.as_ref();
        if let Some(left) = step.as_ref().and_then(|s| s.tokens_left()).filter(|left| sent > *left) {
            drop(on_text);
            return Err(Failed {
                message: format!(
                    "the workflow's token budget would be passed: {left} left, the next request needs about {sent}"
                ),
                output: result.text,
            });
        }
        if let Some(max) = params.max_tokens.filter(|max| used + sent > *max) {
            drop(on_text);
            return Err(Failed {
                message: format!(
                    "the run's token budget ({max}) would be passed: {used} used, the next request needs about {sent}"
                ),
                output: result.text,
            });
        }
        let response = provider.chat(&request, &mut on_text).await;
        drop(on_text);
        let spent = sent
            + response.as_ref().map_or(estimate_tokens(&streamed), |r| {
                estimate_tokens(&r.text) + r.tool_calls.iter().map(|c| estimate_tokens(&c.arguments)).sum::<u64>()
            });
        run.spend(spent);
        if let Some(step) = step {
            step.spend(spent);
        }
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                // What streamed before the failure was shown already: it stays on the run.
                result.text.push_str(&streamed);
                return Err(Failed { message: format!("provider {}: {err}", provider.name), output: result.text });
            }
        };
        result.text.push_str(&response.text);
        if response.tool_calls.is_empty() {
            return Ok(result);
        }
        request.messages.push(Message {
            role: "assistant".into(),
            content: response.text.clone(),
            tool_calls: response.tool_calls.clone(),
            tool_call_id: None,
        });
        for call in &response.tool_calls {
            let outcome = call_tool(env, run, agent, call, local, params, &mut result).await;
            let content = match outcome {
                Ok(content) => content,
                Err(reason) => {
                    let refusal = format!("refused: {reason}");
                    env.send_event(Event::RunUpdate {
                        run_id: run.id.clone(),
                        agent: agent.manifest.id.clone(),
                        status: RunStatus::Running,
                        message: Some(format!("tool {} {refusal}", call.name)),
                        output_delta: None,
                    });
                    tracing::info!(run = %run.id, tool = %call.name, "tool call refused: {reason}");
                    result.text.push_str(&format!("\n[tool {} {refusal}]\n", call.name));
                    refusal
                }
            };
            request.messages.push(Message {
                role: "tool".into(),
                content,
                tool_calls: Vec::new(),
                tool_call_id: Some(call.id.clone()),
            });
        }
    }
    Err(Failed { message: format!("stopped after {MAX_ROUNDS} rounds of tool calls"), output: result.text })
}
