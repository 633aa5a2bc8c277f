//! Delegation: the coordinator splits the request into subtasks, each for an
//! agent and skill — by its model's plan when it has one, else by its routing
//! rules; each subtask becomes a fan-out item assigned by capability.

use protocol::{
    agents::{RunParams, RunStatus},
    workflows::{SessionInfo, StepRecord, StepStatus},
};

use super::{
    preflight::{candidates, skill_names},
    record::{Job, failed_record, render},
};
use crate::{
    platform::clock::now_ms,
    services::{
        orchestrator::workflow::{Step, Target},
        roster::{Agent, Roster},
    },
};

/// A subtask: (agent, skill, task).
type Subtask = (String, String, String);

/// A subtask as a fan-out item: its step, and the file (and place) it is on
/// when the request named one the session did not.
pub(super) type Planned = (Step, Option<String>, Option<protocol::documents::Position>);

/// The coordinator's plan: the request split into subtasks, each for an
/// agent and skill — by the coordinator's model when it has one, else by its
/// routing rules.
pub(super) async fn plan(job: &Job<'_>) -> (StepRecord, Vec<Planned>) {
    let Job { orch, live, step, key, round, inputs, .. } = *job;
    let roster = orch.runs.roster(live.project.as_deref());
    let session = live.snapshot();
    let user_prompt = session.params.prompt.clone().unwrap_or_default();
    let request =
        step.prompt.as_deref().map_or(user_prompt.clone(), |t| render(t, &user_prompt, inputs, &session.board));
    let Some(coordinator) = candidates(&roster, step).first().and_then(|id| roster.resolve(id)) else {
        return (failed_record(step, key, round, "no coordinator agent"), Vec::new());
    };
    if request.trim().is_empty() {
        return (
            failed_record(step, key, round, "the coordinator needs a request: pass `prompt` (--prompt)"),
            Vec::new(),
        );
    }
    let mut subtasks: Vec<Subtask> = Vec::new();
    let mut how = "its routing rules";
    let mut note = String::new();
    if orch.env().provider_name(coordinator).is_some() {
        (subtasks, note) = by_model(job, &roster, coordinator, &session, &request).await;
        if !subtasks.is_empty() {
            how = "its model's plan";
        }
    }
    if subtasks.is_empty() {
        how = "its routing rules";
        subtasks = by_rules(&request);
    }
    let planned = with_files(orch, &session, &request, subtasks);
    let listed: Vec<String> = planned
        .iter()
        .map(|((a, s, t), named)| match named {
            Some((_, shown)) => format!("- {a}: {s}: {t} (on {shown}, which it names)"),
            None => format!("- {a}: {s}: {t}"),
        })
        .collect();
    let record = StepRecord {
        key: key.to_owned(),
        step: step.id.clone(),
        round,
        agent: coordinator.manifest.id.clone(),
        skill: "plan".into(),
        uri: session.params.uri.clone(),
        status: StepStatus::Succeeded,
        run_id: None,
        attempts: 1,
        output: format!(
            "{} splits the request into {} subtask(s) by {how}:\n{note}{}\n",
            coordinator.manifest.metadata.name,
            planned.len(),
            listed.join("\n")
        ),
        findings: Vec::new(),
        edits: Vec::new(),
        error: None,
        started_ms: now_ms(),
        finished_ms: Some(now_ms()),
    };
    let steps = planned
        .into_iter()
        .map(|((agent, skill, task), named)| {
            let (uri, position) = match named {
                Some(((uri, position), _)) => (Some(uri), position),
                None => (None, None),
            };
            let sub = Step {
                target: Target::Capability(skill.clone()),
                skill: Some(skill),
                prompt: Some(task),
                prefer: Some(agent),
                each: None,
                ..step.clone()
            };
            (sub, uri, position)
        })
        .collect();
    (record, steps)
}

/// A file (and place) a task names, and how to show it.
type Named = ((String, Option<protocol::documents::Position>), String);

/// The subtasks, each with what its task names ("the parser"), through the
/// index, when it works on a file and the session names none: a task naming
/// several definitions ("tests for intcomma and intword") is one subtask
/// each (as many as the index resolves: three); a file named beside a
/// definition in it is that definition's; one that names nothing ("… and
/// test it") works on what the one before it named, else on what the whole
/// request names. The same work on the same place is planned once.
fn with_files(
    orch: &super::super::Orchestrator,
    session: &SessionInfo,
    request: &str,
    subtasks: Vec<Subtask>,
) -> Vec<(Subtask, Option<Named>)> {
    let on_file = |skill: &str| {
        agents::skills::Skill::from_name(skill)
            .is_some_and(|s| matches!(s.scope(), agents::skills::Scope::File | agents::skills::Scope::Symbol))
    };
    let on_symbol = |skill: &str| {
        agents::skills::Skill::from_name(skill).is_some_and(|s| s.scope() == agents::skills::Scope::Symbol)
    };
    // A file the session is about, with no cursor in it: a definition the
    // part names is looked for in that file ("write tests for parse", run on
    // index.js: `parse`, where Edison was asked for a test of the file).
    let file =
        session.params.uri.as_deref().filter(|_| session.params.position.is_none() && session.params.range.is_none());
    let mut before: Option<Named> = None;
    let mut out = Vec::new();
    for subtask in subtasks {
        let in_file = file.is_some() && on_symbol(&subtask.1);
        if (session.params.uri.is_some() && !in_file) || !on_file(&subtask.1) {
            out.push((subtask, None));
            continue;
        }
        let mut found = match file {
            Some(file) => defined_in(orch, file, &subtask.2),
            None => named_in(orch, session, &subtask.2),
        };
        // "in number.py, write tests for clamp": clamp, not the file too.
        let places: Vec<String> = found.iter().filter(|n| n.0.1.is_some()).map(|n| n.0.0.clone()).collect();
        found.retain(|n| n.0.1.is_some() || !places.contains(&n.0.0));
        if found.is_empty() && file.is_none() {
            found.extend(before.clone().or_else(|| named_in(orch, session, request).into_iter().next()));
        }
        before = found.last().cloned();
        let planned: Vec<(Subtask, Option<Named>)> = match found.len() {
            0 => vec![(subtask, None)],
            _ => found.into_iter().map(|named| (subtask.clone(), Some(named))).collect(),
        };
        for (subtask, named) in planned {
            let place = named.as_ref().map(|n| n.0.clone());
            let again = out.iter().any(|(s, n): &(Subtask, Option<Named>)| {
                s.0 == subtask.0 && s.1 == subtask.1 && n.as_ref().map(|n| n.0.clone()) == place
            });
            if !again {
                out.push((subtask, named));
            }
        }
    }
    out
}

/// Each part of the request routed on its own ("add a test for withQuery
/// and review src/parse.ts" is two tasks, each with its own file), the part
/// its task.
fn by_rules(request: &str) -> Vec<Subtask> {
    let mut subtasks: Vec<Subtask> = Vec::new();
    for part in agents::skills::route::parts(request) {
        for (agent, skill) in agents::skills::route::route(&part) {
            let subtask = (agent, skill, part.clone());
            if !subtasks.contains(&subtask) {
                subtasks.push(subtask);
            }
        }
    }
    subtasks
}

/// The files and definitions the request names, in its order, each as a
/// URI and place and how to show it (`src/parser.rs`, `` `Parser` in
/// src/parser.rs:3 ``).
fn named_in(orch: &super::super::Orchestrator, session: &SessionInfo, request: &str) -> Vec<Named> {
    let params = RunParams {
        agent: String::new(),
        skill: None,
        uri: session.params.uri.clone(),
        position: None,
        range: None,
        prompt: None,
        workspace: session.params.workspace.clone(),
        wait: false,
        max_tokens: None,
    };
    let Some(workspace) = orch.env().workspace_for(&params).ok().flatten() else { return Vec::new() };
    let found = agents::skills::route::resolve(request, &workspace.index());
    let mut named: Vec<Named> = Vec::new();
    for resolved in found {
        let uri = crate::platform::uri::from_path(&workspace.root.join(&resolved.path));
        let one = match resolved.symbol {
            Some((name, line)) => {
                let position = protocol::documents::Position { line, character: 0 };
                ((uri, Some(position)), format!("`{name}` in {}:{}", resolved.path, line + 1))
            }
            None => ((uri, None), resolved.path),
        };
        if !named.iter().any(|n| n.0 == one.0) {
            named.push(one);
        }
    }
    named
}

/// The functions and types of the file at `uri` that `part` names, as
/// words ("write tests for parse": `parse`), in the file's order: the file's
/// own, never a definition of the same name elsewhere or a file the words
/// name ("tests" is no `test/parse.js` here).
fn defined_in(orch: &super::super::Orchestrator, uri: &str, part: &str) -> Vec<Named> {
    let Some(path) = crate::platform::uri::to_path(uri) else { return Vec::new() };
    let Ok(resolved) = orch.env().codebase.workspaces.resolve(&path, None) else { return Vec::new() };
    let (Some(workspace), Some(rel)) = (resolved.workspace.clone(), resolved.rel()) else { return Vec::new() };
    let words: std::collections::BTreeSet<&str> =
        part.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).filter(|w| !w.is_empty()).collect();
    let index = workspace.index();
    let Some(entry) = index.file(&rel) else { return Vec::new() };
    use context::symbols::SymbolKind as K;
    let mut named: Vec<Named> = Vec::new();
    for (name, symbol) in entry.named_symbols() {
        let definition = matches!(symbol.kind, K::Function | K::Method | K::Class | K::Struct | K::Enum | K::Type);
        if definition && words.contains(name) && !named.iter().any(|n| n.1.starts_with(&format!("`{name}`"))) {
            let position = protocol::documents::Position { line: symbol.line, character: 0 };
            named.push(((uri.to_owned(), Some(position)), format!("`{name}` in {rel}:{}", symbol.line + 1)));
        }
    }
    named
}

/// The coordinator's model's plan, and a note for the plan's record when it
/// gave none (the rules route the request then).
async fn by_model(
    job: &Job<'_>,
    roster: &Roster,
    coordinator: &Agent,
    session: &SessionInfo,
    request: &str,
) -> (Vec<Subtask>, String) {
    let team: Vec<String> = roster
        .agents
        .iter()
        .filter(|a| !a.skills.is_empty())
        .map(|a| format!("- {}: {}", a.manifest.id, skill_names(a)))
        .collect();
    let prompt = format!(
        "Split this request into subtasks for the PAIRED team. Answer with one line per subtask, exactly `agent: skill: task`, using only these agents and skills:\n{}\n\nRequest: {request}",
        team.join("\n")
    );
    let params = RunParams {
        agent: coordinator.manifest.id.clone(),
        skill: Some("ask".into()),
        uri: session.params.uri.clone(),
        position: session.params.position,
        range: session.params.range,
        prompt: Some(prompt),
        workspace: session.params.workspace.clone(),
        wait: false,
        max_tokens: job.step.max_tokens,
    };
    match job.live.run_for_session(job.orch, params).await {
        Ok(run) if run.status == RunStatus::Succeeded => {
            let subtasks = parse_plan(roster, &run.output);
            let note = if subtasks.is_empty() {
                "(the model's answer named no known agent and skill; routed by rules instead)\n".into()
            } else {
                String::new()
            };
            (subtasks, note)
        }
        Ok(run) => (
            Vec::new(),
            format!("(the model could not plan: {}; routed by rules instead)\n", run.error.unwrap_or_default()),
        ),
        Err(err) => (Vec::new(), format!("(the model could not plan: {err}; routed by rules instead)\n")),
    }
}

/// `agent: skill: task` lines naming agents and skills that exist.
fn parse_plan(roster: &Roster, text: &str) -> Vec<Subtask> {
    text.lines()
        .filter_map(|line| {
            let line = line
                .trim()
                .trim_start_matches(['-', '*', ' '])
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')')
                .trim();
            let mut parts = line.splitn(3, ':').map(|p| p.trim().trim_matches('`'));
            let (agent, skill, task) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
            let agent = roster.resolve(agent)?;
            let skill = agent.skills.iter().map(|s| s.name()).find(|s| s.eq_ignore_ascii_case(skill))?;
            Some((agent.manifest.id.clone(), (*skill).to_owned(), task.to_owned()))
        })
        .collect()
}
