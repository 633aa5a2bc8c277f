//! The catalog tools a model may call in model mode, each checked against
//! the agent's grants before it runs: every path a tool names, and every file
//! or path a tool returns, passes the one grant filter ([`Reach`]). A refusal
//! is text the model (and, through the run's progress, the user) reads.

use std::{path::Path, sync::Arc};

use agents::grants::{Reach, glob_matches};
use protocol::{
    agents::{RunParams, RunStatus},
    client::Event,
    context::BuildParams,
};
use serde_json::{Value, json};

use super::{
    env::{Env, RunContext},
    offline, verify,
};
use crate::{
    platform::uri,
    services::{
        codebase,
        provider::{ToolCall, ToolSpec},
        roster::Agent,
        workspace::{Refused, Workspace},
    },
};

/// What a model run produced besides text.
#[derive(Debug, Default)]
pub struct ModelOutput {
    pub text: String,
    pub findings: Vec<protocol::agents::Finding>,
    pub edits: Vec<protocol::agents::TextEdit>,
    /// The lines each of `edits` was asked for (before it was fitted to the file).
    pub(super) asked: Vec<protocol::documents::Range>,
    /// The project's tools' baseline, for trying the run's edits.
    pub(super) trials: verify::Trials,
}

/// The catalog, as far as the agent was granted it, and the board's tools in a workflow.
pub(super) fn tool_specs(agent: &Agent, run: &RunContext) -> Vec<ToolSpec> {
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
    let command = json!({"type": "object", "properties": {
        "command": {"type": "string", "description": "the command line, one of the granted commands with arguments after it, e.g. `cargo test --lib`"}},
        "required": ["command"]});
    let ask = json!({"type": "object", "properties": {
        "agent": {"type": "string", "description": "id or alias: sherlock, leonardo, marie, vince, maya, edison, alex"},
        "skill": {"type": "string"}, "path": {"type": "string"}}, "required": ["agent"]});
    let catalog = [
        ("read_file", "Read a workspace file.", path),
        ("search_symbols", "Fuzzy-search the workspace's symbols.", query),
        ("build_context", "The context bundle around a line of a workspace file.", position),
        (
            "propose_edit",
            "Propose replacing lines of a file; the user applies it or not. Edits are first tried with the project's checkers and tests on a copy of it: make every edit of one change in one response, they are tried together.",
            edit,
        ),
        ("publish_diagnostics", "Report a finding on a line, shown in the editor's problems.", diagnostic),
        ("ask_agent", "Run another agent's offline skill, on a file or the workspace, and read its report.", ask),
        (
            "run_command",
            "Run a granted command in the project (read-only, in PAIRED's sandbox, no network) and read its exit code and output.",
            command,
        ),
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

/// Runs a response's tool calls in order, each as [`call_tool`], but for
/// its `propose_edit` calls, which are tried together (one change may span
/// files: a function and its callers). One outcome per call.
pub(super) async fn call_tools(
    env: &Env,
    run: &RunContext,
    agent: &Agent,
    calls: &[ToolCall],
    local: bool,
    params: &RunParams,
    out: &mut ModelOutput,
) -> Vec<Result<String, String>> {
    let edits: Vec<Result<Value, String>> = calls
        .iter()
        .filter(|c| c.name == "propose_edit")
        .map(|c| serde_json::from_str(&c.arguments).map_err(|err| format!("arguments are not JSON: {err}")))
        .collect();
    let together = edits.len() > 1 && agent.manifest.tools.iter().any(|t| t == "propose_edit");
    let mut proposed = match Tools::new(env, agent, params, local) {
        Ok(tools) if together => tools.propose_edits(run, &edits, out).await,
        Err(why) if together => vec![Err(why); edits.len()],
        _ => Vec::new(),
    }
    .into_iter();
    let mut outcomes = Vec::with_capacity(calls.len());
    for call in calls {
        outcomes.push(if together && call.name == "propose_edit" {
            proposed.next().unwrap_or_else(|| Err("no outcome".into()))
        } else {
            call_tool(env, run, agent, call, local, params, out).await
        });
    }
    outcomes
}

/// Runs a tool call if the agent's grants allow it.
pub(super) async fn call_tool(
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
        return board(run, &call.name, &arguments, local).await;
    }
    let tools = Tools::new(env, agent, params, local)?;
    match call.name.as_str() {
        "read_file" => tools.read_file(&arguments),
        "search_symbols" => tools.search_symbols(&arguments),
        "build_context" => tools.build_context(&arguments),
        "propose_edit" => {
            let mut outcomes = tools.propose_edits(run, &[Ok(arguments)], out).await;
            outcomes.pop().unwrap_or_else(|| Err("no edit".into()))
        }
        "publish_diagnostics" => tools.publish_diagnostics(&arguments, out),
        "ask_agent" => tools.ask_agent(&arguments).await,
        "run_command" => tools.run_command(&arguments).await,
        other => Err(format!("the tool {other:?} is not in the catalog")),
    }
}

/// `board_read` and `board_write`, in a workflow step.
async fn board(run: &RunContext, tool: &str, arguments: &Value, local: bool) -> Result<String, String> {
    let step = run.board.as_ref().ok_or("not in a workflow")?;
    if tool == "board_read" {
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
    Ok("written to the board".into())
}

/// A 1-based line number argument.
fn line_of(arguments: &Value, key: &str) -> Result<u32, String> {
    arguments[key]
        .as_u64()
        .and_then(|l| u32::try_from(l).ok())
        .filter(|l| (1..u32::MAX).contains(l))
        .ok_or_else(|| format!("pass `{key}` (1-based)"))
}

/// What the workspace tools work with: the agent, its workspace and reach.
pub(super) struct Tools<'a> {
    env: &'a Env,
    agent: &'a Agent,
    workspace: Arc<Workspace>,
    /// What the agent may read: the one grant filter.
    reach: Reach,
    /// The model runs on this machine: nothing is redacted.
    local: bool,
}

impl<'a> Tools<'a> {
    pub(super) fn new(env: &'a Env, agent: &'a Agent, params: &RunParams, local: bool) -> Result<Self, String> {
        let workspace = env.workspace_for(params)?.ok_or("no workspace is open")?;
        Ok(Tools { env, agent, workspace, reach: Reach::of(&agent.manifest), local })
    }

    /// A path a tool names: plain and workspace-relative, within the agent's
    /// grants (`fs_write` for an edit), and resolved to its real file, which
    /// must be in the workspace, not excluded, and within the grants too (a
    /// link is judged by where it leads). Returns the real path, relative.
    /// Sending `path` to this run's model, as the policy sees it.
    fn send(&self, path: &str) -> policy::Action {
        let provider = self.env.provider_name(self.agent).unwrap_or_default();
        crate::services::team::policy::send_action(&self.env.config, &provider, path, self.local)
    }

    fn path(&self, arguments: &Value, write: bool) -> Result<String, String> {
        let rel = arguments["path"].as_str().ok_or("pass `path`")?.trim_start_matches("./").to_owned();
        if !agents::grants::is_plain(&rel) {
            return Err(format!("{rel:?} is not a plain workspace-relative path"));
        }
        let allowed = |rel: &str| -> Result<(), String> {
            if !write {
                return self.reach.refusal(rel).map_or(Ok(()), Err);
            }
            let grants = &self.agent.manifest.permissions.fs_write;
            if grants.iter().any(|g| glob_matches(g, rel)) {
                return Ok(());
            }
            Err(format!(
                "{} may not write {rel}: its fs_write grants are [{}]",
                self.agent.manifest.metadata.name,
                grants.join(", ")
            ))
        };
        allowed(&rel)?;
        // Refusals name workspace paths only: the model learns nothing of the
        // machine beyond the workspace.
        let resolved = self.env.codebase.workspaces.resolve(Path::new(&rel), Some(&self.workspace.root)).map_err(
            |why| match why {
                Refused::Excluded { real: Some(real), .. } => match self.workspace.relative(&real) {
                    Some(real) => format!("{rel} leads to {real}, which is excluded by the workspace's ignore rules"),
                    None => format!("{rel} leads outside the workspace"),
                },
                Refused::Excluded { real: None, .. } => format!("{rel} is excluded by the workspace's ignore rules"),
                Refused::Outside { .. } => format!("{rel} leads outside the workspace (through a symbolic link)"),
                _ => format!("{rel} is not a file of the workspace"),
            },
        )?;
        let real = self.workspace.relative(&resolved.path).ok_or_else(|| format!("{rel} is outside the workspace"))?;
        if real != rel {
            allowed(&real)?;
        }
        // Reads go only to what the index holds: the walk never follows links.
        if !write && self.workspace.index().file(&real).is_none() {
            return Err(format!("{rel} is not an indexed file of the workspace"));
        }
        Ok(real)
    }

    /// A granted command (`permissions.commands`: a granted command line and
    /// any arguments after it), run in the project in the sandbox: the
    /// project read-only, a scratch folder writable, no network. The program
    /// reads the whole project, so the agent must be granted all of it.
    async fn run_command(&self, arguments: &Value) -> Result<String, String> {
        let line = arguments["command"].as_str().ok_or("pass `command`")?;
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let name = &self.agent.manifest.metadata.name;
        let granted = &self.agent.manifest.permissions.commands;
        let allowed = granted.iter().any(|g| {
            let grant: Vec<&str> = g.split_whitespace().collect();
            !grant.is_empty() && words.len() >= grant.len() && grant.iter().zip(&words).all(|(a, b)| a == b)
        });
        if !allowed {
            return Err(format!("{name} may run only: {}", granted.join("; ")));
        }
        if !self.reach.is_everything() {
            return Err(format!(
                "{name} may not run programs here: a program reads the whole project, and its fs_read grants are narrower"
            ));
        }
        let config = &self.env.config.sandbox;
        let root = &self.workspace.root;
        let scratch = crate::services::checks::Scratch::for_project(&self.env.paths, root)
            .map_err(|err| format!("no scratch folder: {err}"))?;
        let spec = crate::services::checks::sandbox_spec(&self.env.paths, config, root, &scratch, root, &words);
        let helper = std::env::current_exe().map_err(|err| format!("the paired binary is not found: {err}"))?;
        let outcome = crate::platform::os::sandbox::run(&helper, &spec).await.map_err(|err| err.to_string())?;
        let tail = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let cut = text.char_indices().rev().nth(8000).map_or(0, |(i, _)| i);
            text[cut..].to_owned()
        };
        let text = format!(
            "{} ({:.1} s, sandbox {})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            outcome.exit.describe(),
            outcome.elapsed.as_secs_f32(),
            outcome.enforcement.summary(),
            tail(&outcome.stdout),
            tail(&outcome.stderr)
        );
        Ok(if self.local { text } else { context::redact::redact("", &text).0 })
    }

    fn read_file(&self, arguments: &Value) -> Result<String, String> {
        let rel = self.path(arguments, false)?;
        self.env.team.check_in(Some(&self.workspace.root), &self.send(&rel), &format!("sending {rel}"))?;
        let text = self.workspace.read_indexed(&rel).ok_or_else(|| format!("{rel} is not an indexed text file"))?;
        Ok(if self.local { text } else { context::redact::redact(&rel, &text).0 })
    }

    fn search_symbols(&self, arguments: &Value) -> Result<String, String> {
        let query = arguments["query"].as_str().ok_or("pass `query`")?;
        let index = self.workspace.index();
        let hits: Vec<String> = index
            .search(query, 20)
            .iter()
            .filter(|hit| self.reach.allows(hit.path))
            .map(|hit| format!("{} {} {}:{}", hit.symbol.kind.name(), hit.name, hit.path, hit.symbol.line + 1))
            .collect();
        Ok(if hits.is_empty() { "no matches".into() } else { hits.join("\n") })
    }

    fn build_context(&self, arguments: &Value) -> Result<String, String> {
        let rel = self.path(arguments, false)?;
        self.env.team.check_in(Some(&self.workspace.root), &self.send(&rel), &format!("sending {rel}"))?;
        let line = line_of(arguments, "line")?;
        let bundle = codebase::build(
            &self.env.codebase,
            BuildParams {
                uri: uri::from_path(&self.workspace.root.join(&rel)),
                position: Some(protocol::documents::Position { line: line - 1, character: 0 }),
                range: None,
                question: None,
                diagnostics: Vec::new(),
                budget_tokens: Some(2000),
                local_provider: self.local,
            },
        )
        .map_err(|err| err.to_string())?;
        // The file is granted; what the bundle draws from others must be too.
        let policy = self.env.team.for_project(Some(&self.workspace.root));
        let bundle = within_policy(within_reach(bundle, &self.reach, None), &policy, |path| self.send(path));
        Ok(render_bundle(&bundle))
    }

    /// Edits (one response's `propose_edit` calls), proposed once tried
    /// together with the run's earlier edits on a copy of the project
    /// ([`verify`]): if they break it, each is refused with what broke. The
    /// same lines of a file again replace the run's earlier edit of them
    /// (the model corrected it). One outcome per call, in order.
    async fn propose_edits(
        &self,
        run: &RunContext,
        calls: &[Result<Value, String>],
        out: &mut ModelOutput,
    ) -> Vec<Result<String, String>> {
        let mut outcomes: Vec<Result<String, String>> = Vec::with_capacity(calls.len());
        let mut new = Vec::new();
        for (i, arguments) in calls.iter().enumerate() {
            match arguments.as_ref().map_err(Clone::clone).and_then(|a| self.edit_of(a)) {
                Ok((rel, mut edit)) => {
                    let asked = edit.range;
                    self.fit(&rel, &mut edit);
                    new.push((i, rel, edit, asked));
                    outcomes.push(Ok(String::new()));
                }
                Err(why) => outcomes.push(Err(why)),
            }
        }
        if new.is_empty() {
            return outcomes;
        }
        // An edit of the lines an earlier one was asked for replaces it (as
        // asked: fitting may have moved either).
        let same = |k: usize, (_, _, n, asked): &(usize, String, protocol::agents::TextEdit, _)| {
            out.edits[k].uri == n.uri && out.asked.get(k) == Some(asked)
        };
        let replaced: Vec<bool> = new.iter().map(|n| (0..out.edits.len()).any(|k| same(k, n))).collect();
        let kept: Vec<usize> = (0..out.edits.len()).filter(|&k| !new.iter().any(|n| same(k, n))).collect();
        let mut edits: Vec<_> = kept.iter().map(|&k| out.edits[k].clone()).collect();
        let mut asked: Vec<_> = kept.iter().filter_map(|&k| out.asked.get(k).copied()).collect();
        edits.extend(new.iter().map(|(_, _, edit, _)| edit.clone()));
        asked.extend(new.iter().map(|(_, _, _, range)| *range));
        let places: Vec<String> = new
            .iter()
            .map(|(_, rel, e, _)| match (e.range.start.line + 1, e.range.end.line) {
                (start, end) if end < start => format!("new lines at line {start} of {rel}"),
                (start, end) => format!("lines {start}-{end} of {rel}"),
            })
            .collect();
        if verify::enabled(self.env) {
            self.env.send_event(Event::RunUpdate {
                run_id: run.id.clone(),
                agent: self.agent.manifest.id.clone(),
                status: RunStatus::Running,
                message: Some(format!(
                    "trying {} on a copy of the project with its checkers and tests",
                    places.join(", ")
                )),
                output_delta: None,
            });
        }
        let verdict = verify::try_edits(self.env, &self.workspace, &edits, &mut out.trials).await;
        // The tools' words quote any file: whole to a model that may read
        // every file (redacted unless it is local), else only the verdict.
        let say = |verdict: &verify::Verdict| {
            let text = if self.reach.is_everything() { &verdict.detail } else { &verdict.brief };
            if self.local { text.clone() } else { context::redact::redact("", text).0 }
        };
        let together = match new.len() {
            1 => String::new(),
            n => format!(" (the {n} edits of this response were tried together)"),
        };
        let outcome = match verdict {
            Err(why) => Err(why),
            Ok(verdict) if !verdict.passed => Err(format!("{}{together}", say(&verdict))),
            Ok(verdict) => {
                (out.edits, out.asked) = (edits, asked);
                let said = say(&verdict);
                let line = format!("proposed {}; {said}", places.join(", "));
                out.text.push_str(&format!("\n[{line}]\n"));
                // Said as it happens too, as a refusal is.
                self.env.send_event(Event::RunUpdate {
                    run_id: run.id.clone(),
                    agent: self.agent.manifest.id.clone(),
                    status: RunStatus::Running,
                    message: Some(line),
                    output_delta: None,
                });
                Ok(said)
            }
        };
        for (((i, ..), place), replaced) in new.iter().zip(&places).zip(replaced) {
            let instead = if replaced { " (in place of your earlier edit of these lines)" } else { "" };
            outcomes[*i] = match &outcome {
                Ok(said) => Ok(format!("proposed: {place}{instead}; {said}; the user decides whether to apply it")),
                Err(why) => Err(why.clone()),
            };
        }
        outcomes
    }

    /// An edit as the editor will apply it: whole lines (a last one ends with
    /// a newline); after the last line of a file that ends without a newline,
    /// an edit of that line, ended, and what follows it (so that another edit
    /// of that line overlaps it rather than gluing onto it).
    fn fit(&self, rel: &str, edit: &mut protocol::agents::TextEdit) {
        // From the disk, as the trials read it (not only an indexed file).
        let text = crate::services::workspace::read_real(&self.workspace.root.join(rel)).unwrap_or_default();
        fit_to(&text, edit);
    }

    /// `propose_edit`'s arguments as an edit of whole lines, if the agent may
    /// write the file: its workspace-relative path and the edit.
    pub(super) fn edit_of(&self, arguments: &Value) -> Result<(String, protocol::agents::TextEdit), String> {
        let rel = self.path(arguments, true)?;
        let start = line_of(arguments, "start_line")?;
        let end = arguments["end_line"].as_u64().and_then(|l| u32::try_from(l).ok()).unwrap_or(0).min(u32::MAX - 1);
        let new_text = arguments["new_text"].as_str().ok_or("pass `new_text`")?.to_owned();
        let end = end.max(start - 1);
        let edit = protocol::agents::TextEdit {
            uri: uri::from_path(&self.workspace.root.join(&rel)),
            range: protocol::documents::Range {
                start: protocol::documents::Position { line: start - 1, character: 0 },
                end: protocol::documents::Position { line: end, character: 0 },
            },
            new_text,
        };
        Ok((rel, edit))
    }

    fn publish_diagnostics(&self, arguments: &Value, out: &mut ModelOutput) -> Result<String, String> {
        let rel = self.path(arguments, false)?;
        let line = line_of(arguments, "line")?;
        let severity = match arguments["severity"].as_str().unwrap_or("info") {
            "error" => protocol::agents::Severity::Error,
            "warning" => protocol::agents::Severity::Warning,
            "hint" => protocol::agents::Severity::Hint,
            _ => protocol::agents::Severity::Info,
        };
        let message = arguments["message"].as_str().ok_or("pass `message`")?.to_owned();
        // Where the finding is, as the file has it: a line past the end is
        // refused, and one the model's count missed goes where the code it
        // quotes is.
        let text = self.workspace.read_indexed(&rel).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        if line as usize > lines.len().max(1) {
            return Err(format!("{rel} has {} lines: line {line} is past its end", lines.len()));
        }
        let said = line;
        let line = anchor(&lines, said, &message);
        let range = protocol::documents::Range {
            start: protocol::documents::Position { line: line - 1, character: 0 },
            end: protocol::documents::Position { line, character: 0 },
        };
        out.findings.push(protocol::agents::Finding {
            rule: "model".into(),
            severity,
            message,
            uri: Some(uri::from_path(&self.workspace.root.join(&rel))),
            line,
            range,
            fix: None,
        });
        Ok(if line == said {
            format!("reported on {rel}:{line}")
        } else {
            format!("reported on {rel}:{line}, where the code it quotes is (not line {said})")
        })
    }

    async fn ask_agent(&self, arguments: &Value) -> Result<String, String> {
        let name = arguments["agent"].as_str().ok_or("pass `agent`")?;
        let file = match arguments["path"].as_str() {
            Some(_) => Some(uri::from_path(&self.workspace.root.join(self.path(arguments, false)?))),
            // A workspace-wide report is drawn from every file: only for an
            // agent that may read every file.
            None if !self.reach.is_everything() => {
                return Err(format!(
                    "{} may ask for a report on a file it may read, not on the whole workspace: its fs_read grants are [{}]",
                    self.agent.manifest.metadata.name,
                    self.agent.manifest.permissions.fs_read.join(", ")
                ));
            }
            None => None,
        };
        let skill = arguments["skill"].as_str().map(str::to_owned);
        // The asked agent reaches only what both agents may read.
        let report = offline::offline(self.env, &self.reach, name, skill, file, &self.workspace).await?;
        Ok(if self.local { report } else { context::redact::redact("", &report).0 })
    }
}

/// The bundle without what lies beyond `reach`: parts from files outside it
/// and, unless it is every file, the project facts (drawn from every manifest
/// of the workspace). `own` is the file the user pointed the run at, as the
/// bundle names it: the user's to show, whatever the grants.
pub(super) fn within_reach(
    mut bundle: protocol::context::ContextBundle,
    reach: &Reach,
    own: Option<&str>,
) -> protocol::context::ContextBundle {
    let everything = reach.is_everything();
    let (kept, refused): (Vec<_>, Vec<_>) = bundle.parts.into_iter().partition(|part| match &part.path {
        None => everything || part.kind != protocol::context::PartKind::ProjectFacts,
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

/// Parts drawn from files the team policy keeps on this machine, taken out
/// (listed as dropped, with the rule).
pub(super) fn within_policy(
    mut bundle: protocol::context::ContextBundle,
    team: &crate::services::team::policy::Decider,
    send: impl Fn(&str) -> policy::Action,
) -> protocol::context::ContextBundle {
    let mut withheld = Vec::new();
    bundle.parts.retain(|part| {
        let Some(path) = &part.path else { return true };
        match team.check(&send(path), &format!("sending {path}")) {
            Ok(()) => true,
            Err(why) => {
                withheld.push(protocol::context::DroppedPart {
                    title: format!("{} ({why})", part.title),
                    kind: part.kind,
                    tokens: part.tokens,
                });
                false
            }
        }
    });
    bundle.dropped.extend(withheld);
    bundle
}

pub(super) fn render_bundle(bundle: &protocol::context::ContextBundle) -> String {
    bundle.parts.iter().map(|part| format!("## {}\n{}\n", part.title, part.text)).collect::<Vec<_>>().join("\n")
}

/// [`Tools::fit`] for a file whose text is `text`.
fn fit_to(text: &str, edit: &mut protocol::agents::TextEdit) {
    if edit.new_text.is_empty() {
        return;
    }
    if !edit.new_text.ends_with('\n') {
        edit.new_text.push('\n');
    }
    let lines = text.lines().count();
    if let Some(last) = text.rsplit('\n').next().filter(|last| !last.is_empty())
        && edit.range.start.line as usize >= lines
    {
        let line = u32::try_from(lines - 1).unwrap_or(u32::MAX);
        edit.range.start = protocol::documents::Position { line, character: 0 };
        edit.range.end = protocol::documents::Position { line: line + 1, character: 0 };
        edit.new_text = format!("{last}\n{}", edit.new_text);
    }
}

/// The line (1-based) a finding on `line` that quotes code (`like this`) is
/// about: `line` when a quoted piece is on it or within two lines, else the
/// nearest line holding a piece that the file has at most three times (a
/// model's line count drifts; what it quotes is what it read). Pieces under
/// four characters, or found nowhere (a suggestion, not a quote), decide nothing.
fn anchor(lines: &[&str], line: u32, message: &str) -> u32 {
    let quotes: Vec<&str> =
        message.split('`').skip(1).step_by(2).map(str::trim).filter(|q| q.len() >= 4 && !q.contains('\n')).collect();
    let at = line as usize - 1;
    let near = at.saturating_sub(2)..(at + 3).min(lines.len());
    if quotes.is_empty() || lines[near].iter().any(|l| quotes.iter().any(|q| l.contains(q))) {
        return line;
    }
    let mut best: Option<(usize, usize)> = None;
    for quote in quotes {
        let found: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains(quote)).collect();
        if found.len() > 3 {
            continue;
        }
        for i in found {
            let distance = i.abs_diff(at);
            if best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, i));
            }
        }
    }
    best.map_or(line, |(_, i)| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use protocol::{
        agents::TextEdit,
        documents::{Position, Range},
    };

    use super::{anchor, fit_to};
    use crate::services::documents::apply_edits;

    fn edit(start: u32, end: u32, text: &str) -> TextEdit {
        let at = |line| Position { line, character: 0 };
        TextEdit {
            uri: "file:///p/a.py".into(),
            range: Range { start: at(start), end: at(end) },
            new_text: text.into(),
        }
    }

    /// Fitted edits applied as an editor applies them (`apply_edits`).
    fn applied(text: &str, edits: &[TextEdit]) -> Option<String> {
        let fitted: Vec<TextEdit> = edits
            .iter()
            .map(|e| {
                let mut e = e.clone();
                fit_to(text, &mut e);
                e
            })
            .collect();
        apply_edits(text, &fitted.iter().collect::<Vec<_>>())
    }

    #[test]
    fn edits_are_whole_lines_where_the_editor_applies_them() {
        assert_eq!(applied("a\nb\n", &[edit(1, 2, "B")]).as_deref(), Some("a\nB\n"));
        assert_eq!(applied("a\nb\n", &[edit(2, 2, "c")]).as_deref(), Some("a\nb\nc\n"), "appended");
        // After a last line without a newline: a line of its own, not glued on.
        assert_eq!(applied("a\nb", &[edit(2, 2, "c")]).as_deref(), Some("a\nb\nc\n"));
        assert_eq!(applied("a\nb", &[edit(1, 2, "B")]).as_deref(), Some("a\nB\n"), "the last line replaced");
        // That line edited and appended to at once: refused, never a stray line.
        assert_eq!(applied("a\nb", &[edit(1, 2, "B"), edit(2, 2, "c")]), None);
        assert_eq!(applied("", &[edit(0, 0, "new")]).as_deref(), Some("new\n"), "a new file");
        assert_eq!(applied("a\nb", &[edit(1, 2, "")]).as_deref(), Some("a\n"), "a deletion adds nothing");
    }

    #[test]
    fn a_finding_goes_where_the_code_it_quotes_is() {
        let file = "fn load(p: &str) -> String {\n    let text = std::fs::read_to_string(p).unwrap();\n    text\n}\n\n\n\n\nfn other() {}\n";
        let lines: Vec<&str> = file.lines().collect();
        let unwrap = "`read_to_string(p).unwrap()` panics on a missing file";
        assert_eq!(anchor(&lines, 2, unwrap), 2, "on the line");
        assert_eq!(anchor(&lines, 4, unwrap), 4, "within two lines: the model's line stands");
        assert_eq!(anchor(&lines, 9, unwrap), 2, "drifted: where the quote is");
        assert_eq!(anchor(&lines, 9, "consider `Option<String>` here"), 9, "a suggestion, not in the file");
        assert_eq!(anchor(&lines, 9, "no quote at all"), 9);
        assert_eq!(anchor(&lines, 9, "`fn` is short"), 9, "too short to tell");
        let common = "a\nlet x = f();\nlet x = f();\nlet x = f();\nlet x = f();\nb\nc\nd\ne\n";
        let lines: Vec<&str> = common.lines().collect();
        assert_eq!(anchor(&lines, 9, "`let x = f()` again"), 9, "four places: no telling which");
    }
}
