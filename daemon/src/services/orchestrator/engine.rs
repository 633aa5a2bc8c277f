//! Running a session. The driver starts every step whose needs are met (so
//! independent steps run in parallel and a step with several needs joins
//! them), skips a step whose condition is false or whose need failed, repeats a
//! loop's steps until its condition holds or its rounds run out, and records
//! every result — step, board entry, conflict — as it happens.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use agents::skills::Scope;
use protocol::{
    agents::{RunParams, RunStatus, Severity},
    workflows::{BoardEntry, SessionStatus, StepRecord, StepStatus},
};
use tokio::task::JoinSet;

use super::{
    conflicts,
    session::{Live, Orchestrator, StepContext, base_key, post, send_update, set_status},
    workflow::{Each, Field, Step, Target, Value, Workflow},
};
use crate::{
    platform::clock::now_ms,
    services::runs::{Missing, RunOptions},
    services::scheduler::Class,
};

/// Fan-out items of one step in flight at once (the scheduler limits runs).
const MAX_ITEMS_IN_FLIGHT: usize = 256;
/// Fan-out items per step.
const MAX_ITEMS: usize = 2000;

/// Why a workflow cannot start, in the user's terms (never a parameter's
/// name); `missing` when it lacks an input, which each front asks for in its
/// own words (`workflows/run` sends it as the error's data).
#[derive(Debug)]
pub struct Unfit {
    pub message: String,
    pub missing: Option<Missing>,
}

impl Unfit {
    /// The workflow lacks `missing`: `what` says which step needs it and why.
    fn lacks(workflow: &Workflow, missing: Missing, what: String) -> Unfit {
        let message = format!("the {} workflow {}: {what}", workflow.name, missing.words());
        Unfit { message, missing: Some(missing) }
    }
}

impl From<String> for Unfit {
    fn from(message: String) -> Unfit {
        Unfit { message, missing: None }
    }
}

/// Checks what can be checked before anything runs: agents exist, skills fit,
/// inputs are there.
pub fn preflight(
    orch: &Orchestrator,
    workflow: &Workflow,
    params: &protocol::workflows::RunWorkflowParams,
) -> Result<(), Unfit> {
    let roster = orch.runs.roster();
    let has_prompt = params.prompt.as_deref().is_some_and(|p| !p.trim().is_empty());
    for step in &workflow.steps {
        if step.each == Some(Each::Subtask)
            && !has_prompt
            && step.prompt.as_deref().is_none_or(|p| p.contains("{prompt}"))
        {
            let what = format!("step `{}` splits it into subtasks", step.id);
            return Err(Unfit::lacks(workflow, Missing::Prompt, what));
        }
        if step.each == Some(Each::UndocumentedSymbol) && params.uri.is_none() && !any_folder(orch, params) {
            let what = format!("step `{}` looks for undocumented definitions in one, or in an open folder", step.id);
            return Err(Unfit::lacks(workflow, Missing::File, what));
        }
        let candidates = candidates(&roster, step);
        let Some(first) = candidates.first() else {
            return Err(Unfit::from(match &step.target {
                Target::Agent(a) => format!("workflow {}: step `{}`: no agent {a:?}", workflow.name, step.id),
                Target::Capability(c) => {
                    format!("workflow {}: step `{}`: no agent offers the capability {c:?}", workflow.name, step.id)
                }
            }));
        };
        let Some(agent) = roster.resolve(first) else { continue };
        let skill = step.skill.as_deref().or_else(|| agent.skills.first().map(|s| s.name()));
        if let Some(skill) = skill.filter(|s| *s != "merge") {
            if !agent.skills.iter().any(|s| s.name() == skill) && skill != "ask" {
                return Err(Unfit::from(format!(
                    "workflow {}: step `{}`: {} has no skill {skill:?} (its skills: {})",
                    workflow.name,
                    step.id,
                    agent.manifest.metadata.name,
                    skill_names(agent)
                )));
            }
            let scope = agents::skills::scope_of(skill);
            let who = format!("step `{}` ({} {skill})", step.id, agent.manifest.metadata.name);
            if scope.needs_file() && params.uri.is_none() && step.each.is_none() {
                return Err(Unfit::lacks(workflow, Missing::File, format!("{who} needs one")));
            }
            let templated = step.prompt.as_deref().is_some_and(|p| p.trim() == "{prompt}");
            if scope == Scope::Prompt && templated && !has_prompt {
                return Err(Unfit::lacks(workflow, Missing::Prompt, format!("{who} answers it")));
            }
        }
    }
    Ok(())
}

/// Whether a session with no file has a folder to work through: the one it
/// names, else the only one open. Which folder, and whether it may be read,
/// is checked when the step runs.
fn any_folder(orch: &Orchestrator, params: &protocol::workflows::RunWorkflowParams) -> bool {
    params.workspace.is_some() || !orch.env().codebase.workspaces.all().is_empty()
}

/// The agents a step may go to, in order: the named one, or every agent
/// offering the capability (the next takes over when one fails).
fn candidates(roster: &crate::services::roster::Roster, step: &Step) -> Vec<String> {
    let mut all: Vec<String> = match &step.target {
        Target::Agent(name) => roster.resolve(name).map(|a| vec![a.manifest.id.clone()]).unwrap_or_default(),
        Target::Capability(cap) => roster.offering(cap).iter().map(|a| a.manifest.id.clone()).collect(),
    };
    if let Some(preferred) = step.prefer.as_ref().and_then(|p| roster.resolve(p)).map(|a| a.manifest.id.clone()) {
        all.retain(|a| *a != preferred);
        all.insert(0, preferred);
    }
    all
}

/// Runs the session to its end and records the outcome.
pub async fn drive(orch: Arc<Orchestrator>, live: Arc<Live>, workflow: Arc<Workflow>) {
    let work = run_steps(orch.clone(), live.clone(), workflow.clone());
    let outcome = match workflow.timeout_secs {
        Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                live.cancel_runs(&orch).await;
                Err(format!("the workflow ran past its timeout_secs = {secs}; its runs were cancelled"))
            }
        },
        None => work.await,
    };
    let rejected = live.rejected.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let info = {
        let mut state = live.lock();
        let latest = latest_records(&state.steps);
        let mut edits: Vec<protocol::agents::TextEdit> = Vec::new();
        for record in latest.iter().filter(|r| r.status == StepStatus::Succeeded) {
            for (i, edit) in record.edits.iter().enumerate() {
                // Agents that proposed the same edit agreed: it is applied once.
                if !rejected.contains(&(record.key.clone(), i)) && !edits.contains(edit) {
                    edits.push(edit.clone());
                }
            }
        }
        state.edits = edits;
        state.output = state
            .steps
            .iter()
            .rev()
            .find(|r| r.status == StepStatus::Succeeded && !r.output.is_empty())
            .map(|r| r.output.clone())
            .unwrap_or_default();
        let failed = latest.iter().find(|r| {
            matches!(r.status, StepStatus::Failed | StepStatus::Cancelled)
                && !workflow.step(&r.step).is_some_and(|s| s.continue_on_error)
        });
        match (&outcome, failed) {
            (Err(message), _) => {
                state.status = SessionStatus::Failed;
                state.error = Some(message.clone());
            }
            (Ok(()), Some(step)) => {
                state.status = SessionStatus::Failed;
                state.error = Some(format!(
                    "step `{}` ({}) failed: {}",
                    step.key,
                    step.agent,
                    step.error.as_deref().unwrap_or("no reason given")
                ));
            }
            (Ok(()), None) => state.status = SessionStatus::Succeeded,
        }
        state.finished_ms = Some(now_ms());
        state.clone()
    };
    if let Err(err) = set_status(&orch, &info).await {
        tracing::error!(session = %info.id, "cannot record the session's end: {err:#}");
    }
    orch.sessions.remove(&live.id);
    send_update(&orch, &live, None, info.error.clone().or_else(|| Some("finished".into())));
}

/// The latest record of each step key.
/// The latest record of each step (and fan-out item): a later loop round
/// supersedes an earlier one.
fn latest_records(steps: &[StepRecord]) -> Vec<StepRecord> {
    let mut by_key: HashMap<String, &StepRecord> = HashMap::new();
    let mut order = Vec::new();
    for record in steps {
        let base = base_key(&record.key);
        if by_key.insert(base.clone(), record).is_none() {
            order.push(base);
        }
    }
    order.into_iter().filter_map(|k| by_key.get(&k).map(|r| (*r).clone())).collect()
}

enum Readiness {
    NotYet,
    Ready,
    Blocked(String),
}

async fn run_steps(orch: Arc<Orchestrator>, live: Arc<Live>, workflow: Arc<Workflow>) -> Result<(), String> {
    // Where a resumed session stands: loop rounds reached, steps done in them.
    let previous = live.snapshot().steps;
    let mut rounds: HashMap<usize, u32> = HashMap::new();
    for record in &previous {
        if let Some(l) = workflow.loop_of(&record.step) {
            let round = rounds.entry(l).or_insert(1);
            *round = (*round).max(record.round);
        }
    }
    let round_of = |rounds: &HashMap<usize, u32>, id: &str| {
        workflow.loop_of(id).map_or(1, |l| rounds.get(&l).copied().unwrap_or(1))
    };
    let mut done: HashMap<String, StepRecord> = HashMap::new();
    for record in &previous {
        let whole_step = record.key == record.step || record.key.starts_with(&format!("{}#", record.step));
        let counts = whole_step
            && record.round == round_of(&rounds, &record.step)
            && (record.status == StepStatus::Succeeded
                || (record.status == StepStatus::Skipped && record.error.is_none()))
            && workflow.step(&record.step).is_some_and(|s| s.each.is_none());
        if counts {
            done.insert(record.step.clone(), record.clone());
        }
    }
    let mut finished_loops: HashSet<usize> = HashSet::new();
    let mut pending: Vec<String> =
        workflow.steps.iter().map(|s| s.id.clone()).filter(|id| !done.contains_key(id)).collect();
    // A resumed loop whose round had finished ends or starts its next round now.
    for lp in &workflow.loops {
        if let Some(first) = lp.steps.first() {
            advance_loops(&workflow, first, &mut done, &mut rounds, &mut finished_loops, &mut pending, &orch, &live)
                .await;
        }
    }
    let mut running: JoinSet<StepRecord> = JoinSet::new();
    loop {
        let mut progressed = true;
        while progressed {
            progressed = false;
            for id in pending.clone() {
                let step = workflow.step(&id).expect("pending steps are the workflow's");
                let readiness = readiness(&workflow, step, &done, &finished_loops);
                let round = round_of(&rounds, &id);
                let key = if round > 1 { format!("{id}#{round}") } else { id.clone() };
                let skip = match readiness {
                    Readiness::NotYet => continue,
                    Readiness::Blocked(reason) => Some((reason, true)),
                    Readiness::Ready => match &step.when {
                        Some(cond) if !cond.eval(&reader(&done)) => {
                            Some((format!("condition not met: {}", step.when_text.as_deref().unwrap_or("")), false))
                        }
                        _ => None,
                    },
                };
                pending.retain(|p| p != &id);
                progressed = true;
                if let Some((reason, is_failure)) = skip {
                    let record = StepRecord {
                        key,
                        step: id.clone(),
                        round,
                        agent: String::new(),
                        skill: String::new(),
                        uri: None,
                        status: StepStatus::Skipped,
                        run_id: None,
                        attempts: 0,
                        output: if is_failure { String::new() } else { reason.clone() },
                        findings: Vec::new(),
                        edits: Vec::new(),
                        error: is_failure.then_some(reason),
                        started_ms: now_ms(),
                        finished_ms: Some(now_ms()),
                    };
                    record_step(&orch, &live, &record).await;
                    done.insert(id.clone(), record);
                    advance_loops(
                        &workflow,
                        &id,
                        &mut done,
                        &mut rounds,
                        &mut finished_loops,
                        &mut pending,
                        &orch,
                        &live,
                    )
                    .await;
                    continue;
                }
                let inputs = done.clone();
                let (orch, live, workflow, step) = (orch.clone(), live.clone(), workflow.clone(), step.clone());
                running.spawn(async move {
                    let work = run_step(&orch, &live, &workflow, &step, &key, round, &inputs);
                    match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(work)).await {
                        Ok(record) => record,
                        Err(_) => failed_record(
                            &step,
                            &key,
                            round,
                            "the step failed unexpectedly (a defect; please report it)",
                        ),
                    }
                });
            }
        }
        let Some(joined) = running.join_next().await else {
            if pending.is_empty() {
                break;
            }
            // Cannot happen for a validated workflow; never report success over it.
            return Err(format!("steps {} could not run: what they need never settled", pending.join(", ")));
        };
        let record = joined.map_err(|err| format!("a step stopped: {err}"))?;
        let id = record.step.clone();
        done.insert(id.clone(), record);
        advance_loops(&workflow, &id, &mut done, &mut rounds, &mut finished_loops, &mut pending, &orch, &live).await;
    }
    Ok(())
}

/// After a loop step finished: when the whole round is done, the loop ends
/// (its condition holds, or no rounds are left) or starts its next round.
#[allow(clippy::too_many_arguments)]
async fn advance_loops(
    workflow: &Workflow,
    id: &str,
    done: &mut HashMap<String, StepRecord>,
    rounds: &mut HashMap<usize, u32>,
    finished: &mut HashSet<usize>,
    pending: &mut Vec<String>,
    orch: &Orchestrator,
    live: &Live,
) {
    let Some(l) = workflow.loop_of(id) else { return };
    let lp = &workflow.loops[l];
    if !lp.steps.iter().all(|s| done.contains_key(s)) {
        return;
    }
    let round = rounds.get(&l).copied().unwrap_or(1);
    let met = lp.until.eval(&reader(done));
    let failed = lp
        .steps
        .iter()
        .any(|s| done.get(s).is_some_and(|r| matches!(r.status, StepStatus::Failed | StepStatus::Cancelled)));
    let (text, again) = if met {
        (format!("loop over {} ended after round {round}: its condition holds", lp.steps.join(", ")), false)
    } else if failed {
        (format!("loop over {} stopped in round {round}: a step failed", lp.steps.join(", ")), false)
    } else if round >= lp.max_rounds {
        (
            format!(
                "loop over {} stopped after {round} rounds (max_rounds) without its condition holding",
                lp.steps.join(", ")
            ),
            false,
        )
    } else {
        (
            format!("loop over {}: round {} starts (its condition does not hold yet)", lp.steps.join(", "), round + 1),
            true,
        )
    };
    let entry = BoardEntry {
        kind: "fact".into(),
        key: "loop".into(),
        text,
        agent: "paired".into(),
        step: id.to_owned(),
        at_ms: now_ms(),
    };
    if let Err(err) = post(orch, live, entry).await {
        tracing::error!("cannot record a board entry: {err:#}");
    }
    if again {
        rounds.insert(l, round + 1);
        for s in &lp.steps {
            done.remove(s);
            pending.push(s.clone());
        }
        // Keep declaration order: readiness is checked in it.
        pending.sort_by_key(|s| workflow.steps.iter().position(|w| &w.id == s));
    } else {
        finished.insert(l);
    }
}

fn readiness(
    workflow: &Workflow,
    step: &Step,
    done: &HashMap<String, StepRecord>,
    finished_loops: &HashSet<usize>,
) -> Readiness {
    let own_loop = workflow.loop_of(&step.id);
    for need in &step.needs {
        let need_loop = workflow.loop_of(need);
        let settled = match need_loop {
            Some(l) if Some(l) != own_loop => finished_loops.contains(&l) && done.contains_key(need),
            _ => done.contains_key(need),
        };
        if !settled {
            return Readiness::NotYet;
        }
    }
    for need in &step.needs {
        let record = &done[need];
        let failed = matches!(record.status, StepStatus::Failed | StepStatus::Cancelled)
            || (record.status == StepStatus::Skipped && record.error.is_some());
        if failed && !workflow.step(need).is_some_and(|s| s.continue_on_error) {
            return Readiness::Blocked(format!("needs `{need}`, which did not succeed"));
        }
    }
    Readiness::Ready
}

/// What conditions read: the latest record of each step.
fn reader(done: &HashMap<String, StepRecord>) -> impl Fn(&str, Field) -> Option<Value> + '_ {
    move |step: &str, field: Field| {
        let record = done.get(step)?;
        let count = |severity: Severity| record.findings.iter().filter(|f| f.severity == severity).count() as f64;
        Some(match field {
            Field::Errors => Value::Number(count(Severity::Error)),
            Field::Warnings => Value::Number(count(Severity::Warning)),
            Field::Findings => Value::Number(record.findings.len() as f64),
            Field::Edits => Value::Number(record.edits.len() as f64),
            Field::Status => Value::Text(
                match record.status {
                    StepStatus::Succeeded => "succeeded",
                    StepStatus::Failed => "failed",
                    StepStatus::Skipped => "skipped",
                    StepStatus::Cancelled => "cancelled",
                    StepStatus::Pending => "pending",
                    StepStatus::Running => "running",
                }
                .into(),
            ),
            Field::Output => Value::Text(record.output.clone()),
        })
    }
}

fn failed_record(step: &Step, key: &str, round: u32, reason: &str) -> StepRecord {
    StepRecord {
        key: key.to_owned(),
        step: step.id.clone(),
        round,
        agent: String::new(),
        skill: step.skill.clone().unwrap_or_default(),
        uri: None,
        status: StepStatus::Failed,
        run_id: None,
        attempts: 0,
        output: String::new(),
        findings: Vec::new(),
        edits: Vec::new(),
        error: Some(reason.to_owned()),
        started_ms: now_ms(),
        finished_ms: Some(now_ms()),
    }
}

/// Records a finished step (or item): in memory, on disk, to clients, and the
/// board entries it implies.
async fn record_step(orch: &Arc<Orchestrator>, live: &Arc<Live>, record: &StepRecord) {
    if let Err(err) = super::session::append_step(orch, live, record).await {
        tracing::error!(session = %live.id, "cannot record a step: {err:#}");
    }
    live.lock().steps.push(record.clone());
    if record.status == StepStatus::Succeeded && record.skill != "merge" && !record.edits.is_empty() {
        conflicts::check_edits(orch, live, record).await;
    }
    let status = match record.status {
        StepStatus::Succeeded => "done",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
        _ => "finished",
    };
    let message = format!("step {} {status}", record.key);
    send_update(orch, live, Some(record.clone()), Some(message));
    if record.status == StepStatus::Succeeded && record.skill != "merge" {
        for entry in board_entries(record) {
            if let Err(err) = post(orch, live, entry.clone()).await {
                tracing::error!("cannot record a board entry: {err:#}");
            }
            if entry.kind == "decision" {
                conflicts::check_decision(orch, live, &entry).await;
            }
        }
    }
}

/// What a step's result tells the others: the artifact it produced, a verdict
/// when it reviewed something, a plan when it routed a request.
fn board_entries(record: &StepRecord) -> Vec<BoardEntry> {
    let entry = |kind: &str, key: String, text: String| BoardEntry {
        kind: kind.into(),
        key,
        text,
        agent: record.agent.clone(),
        step: record.key.clone(),
        at_ms: now_ms(),
    };
    let errors = record.findings.iter().filter(|f| f.severity == Severity::Error).count();
    let mut entries = vec![entry(
        "artifact",
        record.key.clone(),
        format!(
            "{} {}: {} findings ({errors} errors), {} edits. {}",
            record.agent,
            record.skill,
            record.findings.len(),
            record.edits.len(),
            record.output.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
        ),
    )];
    let subject = record.uri.clone();
    // Sherlock asks for changes over errors; Maya over any accessibility
    // failure (each is a WCAG failure, reported as a warning).
    let blocking = if record.skill == "accessibility" { record.findings.len() } else { errors };
    if matches!(record.skill.as_str(), "review" | "accessibility") {
        let verdict =
            if blocking > 0 { format!("changes requested ({blocking} problems)") } else { "approve".to_owned() };
        let target = subject.unwrap_or_else(|| "the workspace".into());
        entries.push(entry("decision", format!("verdict:{target}"), verdict));
    }
    if record.skill == "route" {
        let plan: Vec<&str> = record.output.lines().filter(|l| l.starts_with("- ")).collect();
        entries.push(entry("decision", "plan".into(), plan.join("; ")));
    }
    entries
}

/// Expands `{prompt}`, `{steps.X.output}` and `{board}` in a step's prompt.
fn render(template: &str, user_prompt: &str, inputs: &HashMap<String, StepRecord>, board: &[BoardEntry]) -> String {
    // One pass over the template: what is inserted (a user's prompt, a step's
    // output) is never scanned again, so text that quotes a placeholder stays text.
    let mut text = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        text.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find('}') else {
            text.push_str(after);
            return text;
        };
        let name = &after[1..end];
        let mut parts = name.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("prompt"), None, ..) => text.push_str(user_prompt),
            (Some("board"), None, ..) => {
                let rendered: Vec<String> = board
                    .iter()
                    .map(|e| format!("- [{}] {} ({}, {}): {}", e.kind, e.key, e.agent, e.step, e.text))
                    .collect();
                text.push_str(&rendered.join("\n"));
            }
            (Some("steps"), Some(step), Some(field), None) => match (inputs.get(step), field) {
                (Some(record), "output") => text.extend(record.output.chars().take(4000)),
                (Some(record), "status") => text.push_str(&format!("{:?}", record.status).to_lowercase()),
                _ => {}
            },
            _ => text.push_str(&after[..=end]),
        }
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    text
}

/// One step: a merge, a fan-out, or a run with retries, a timeout and, for a
/// capability, re-assignment to the next agent offering it.
async fn run_step(
    orch: &Arc<Orchestrator>,
    live: &Arc<Live>,
    workflow: &Workflow,
    step: &Step,
    key: &str,
    round: u32,
    inputs: &HashMap<String, StepRecord>,
) -> StepRecord {
    if step.skill.as_deref() == Some("merge") {
        let record = merge(live, workflow, step, key, round, inputs);
        record_step(orch, live, &record).await;
        return record;
    }
    let params = live.snapshot().params;
    // Fan-out: one run per item, each recorded as it finishes; items a resumed
    // session finished before are not run again.
    let started = now_ms();
    let items: Vec<(Step, Option<String>, Option<protocol::documents::Position>)> = match step.each {
        None => {
            let record =
                attempts(orch, live, workflow, step, key, round, inputs, params.uri.clone(), params.position).await;
            record_step(orch, live, &record).await;
            return record;
        }
        Some(Each::UndocumentedSymbol) => match listed(orch, &params).await {
            Ok(found) => found.into_iter().map(|(uri, position)| (step.clone(), Some(uri), Some(position))).collect(),
            Err(reason) => {
                let record = failed_record(step, key, round, &reason);
                record_step(orch, live, &record).await;
                return record;
            }
        },
        Some(Each::Subtask) => {
            let (plan, subtasks) = plan(orch, live, step, key, round, inputs).await;
            record_step(orch, live, &plan).await;
            if plan.status != StepStatus::Succeeded {
                return plan;
            }
            subtasks.into_iter().map(|sub| (sub, params.uri.clone(), params.position)).collect()
        }
    };
    let finished_before: HashMap<String, StepRecord> = live
        .snapshot()
        .steps
        .into_iter()
        .filter(|r| r.step == step.id && r.round == round && r.status == StepStatus::Succeeded)
        .map(|r| (r.key.clone(), r))
        .collect();
    let gate = Arc::new(tokio::sync::Semaphore::new(MAX_ITEMS_IN_FLIGHT));
    let mut items_running = JoinSet::new();
    let mut records: Vec<StepRecord> = Vec::new();
    for (i, (item_step, uri, position)) in items.into_iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        if let Some(record) = finished_before.get(&item_key) {
            records.push(record.clone());
            continue;
        }
        let (orch, live, workflow, inputs, gate) =
            (orch.clone(), live.clone(), workflow.clone(), inputs.clone(), gate.clone());
        items_running.spawn(async move {
            let _slot = gate.acquire_owned().await;
            let record = attempts(&orch, &live, &workflow, &item_step, &item_key, round, &inputs, uri, position).await;
            record_step(&orch, &live, &record).await;
            record
        });
    }
    while let Some(joined) = items_running.join_next().await {
        match joined {
            Ok(record) => records.push(record),
            Err(err) => records.push(failed_record(step, key, round, &format!("an item stopped: {err}"))),
        }
    }
    let failed: Vec<&StepRecord> = records.iter().filter(|r| r.status != StepStatus::Succeeded).collect();
    StepRecord {
        key: key.to_owned(),
        step: step.id.clone(),
        round,
        agent: records.first().map(|r| r.agent.clone()).unwrap_or_default(),
        skill: step.skill.clone().unwrap_or_default(),
        uri: live.snapshot().params.uri,
        status: if failed.is_empty() { StepStatus::Succeeded } else { StepStatus::Failed },
        run_id: None,
        attempts: 1,
        output: format!(
            "{} of {} items done{}",
            records.len() - failed.len(),
            records.len(),
            if records.is_empty() { " (nothing to do: every definition is documented)" } else { "" }
        ),
        findings: records.iter().flat_map(|r| r.findings.clone()).collect(),
        // Items' edits stay on the items (each recorded); the aggregate is for conditions.
        edits: Vec::new(),
        error: failed
            .first()
            .and_then(|r| r.error.clone())
            .map(|e| format!("{} items failed; first: {e}", failed.len())),
        started_ms: started,
        finished_ms: Some(now_ms()),
    }
}

/// The coordinator's plan: the request split into subtasks, each for an
/// agent and skill — by the coordinator's model when it has one, else by its
/// routing rules.
async fn plan(
    orch: &Arc<Orchestrator>,
    live: &Arc<Live>,
    step: &Step,
    key: &str,
    round: u32,
    inputs: &HashMap<String, StepRecord>,
) -> (StepRecord, Vec<Step>) {
    let roster = orch.runs.roster();
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
    let mut subtasks: Vec<(String, String, String)> = Vec::new();
    let mut how = "its routing rules";
    let mut note = String::new();
    if orch.env().provider_name(coordinator).is_some() {
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
            max_tokens: step.max_tokens,
        };
        match live.run_for_session(orch, params).await {
            Ok(run) => {
                if run.status == RunStatus::Succeeded {
                    subtasks = parse_plan(&roster, &run.output);
                    how = "its model's plan";
                    if subtasks.is_empty() {
                        note = "(the model's answer named no known agent and skill; routed by rules instead)\n".into();
                    }
                } else {
                    note = format!(
                        "(the model could not plan: {}; routed by rules instead)\n",
                        run.error.unwrap_or_default()
                    );
                }
            }
            Err(err) => note = format!("(the model could not plan: {err}; routed by rules instead)\n"),
        }
    }
    if subtasks.is_empty() {
        how = "its routing rules";
        subtasks = agents::skills::route::route(&request)
            .into_iter()
            .map(|(agent, skill)| (agent, skill, request.clone()))
            .collect();
    }
    let listed: Vec<String> = subtasks.iter().map(|(a, s, t)| format!("- {a}: {s}: {t}")).collect();
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
            subtasks.len(),
            listed.join("\n")
        ),
        findings: Vec::new(),
        edits: Vec::new(),
        error: None,
        started_ms: now_ms(),
        finished_ms: Some(now_ms()),
    };
    let steps = subtasks
        .into_iter()
        .map(|(agent, skill, task)| Step {
            target: Target::Capability(skill.clone()),
            skill: Some(skill),
            prompt: Some(task),
            prefer: Some(agent),
            each: None,
            ..step.clone()
        })
        .collect();
    (record, steps)
}

/// `agent: skill: task` lines naming agents and skills that exist.
fn parse_plan(roster: &crate::services::roster::Roster, text: &str) -> Vec<(String, String, String)> {
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

/// [`undocumented`] off the async threads (outlines parse files).
async fn listed(
    orch: &Arc<Orchestrator>,
    params: &protocol::workflows::RunWorkflowParams,
) -> Result<Vec<(String, protocol::documents::Position)>, String> {
    let (orch, params) = (orch.clone(), params.clone());
    tokio::task::spawn_blocking(move || undocumented(&orch, &params))
        .await
        .unwrap_or_else(|err| Err(format!("listing the definitions failed: {err}")))
}

/// The definitions without a doc comment: in the session's file, or in every
/// indexed file of the workspace.
fn undocumented(
    orch: &Orchestrator,
    params: &protocol::workflows::RunWorkflowParams,
) -> Result<Vec<(String, protocol::documents::Position)>, String> {
    let uris: Vec<String> = match &params.uri {
        Some(uri) => vec![uri.clone()],
        None => {
            let run = RunParams {
                agent: String::new(),
                skill: None,
                uri: None,
                position: None,
                range: None,
                prompt: None,
                workspace: params.workspace.clone(),
                wait: false,
                max_tokens: None,
            };
            let workspace = orch
                .env()
                .workspace_for(&run)?
                .ok_or("no file was named and no folder is open to look for undocumented definitions in")?;
            let index = workspace.index();
            let mut paths: Vec<String> = index.paths().map(str::to_owned).collect();
            paths.sort();
            paths.into_iter().map(|p| crate::platform::uri::from_path(&workspace.root.join(p))).collect()
        }
    };
    let mut items = Vec::new();
    for uri in uris {
        let Ok(outline) = crate::services::codebase::outline(
            &orch.env().codebase,
            protocol::context::OutlineParams { uri: uri.clone() },
        ) else {
            continue;
        };
        let mut stack: Vec<&protocol::context::OutlineSymbol> = outline.symbols.iter().collect();
        let mut found = Vec::new();
        while let Some(symbol) = stack.pop() {
            let documentable = matches!(
                symbol.kind.as_str(),
                "function" | "method" | "struct" | "enum" | "class" | "interface" | "type"
            );
            if documentable && symbol.doc.is_none() {
                found.push(symbol.selection_range.start);
            }
            stack.extend(symbol.children.iter());
        }
        found.sort_by_key(|p| (p.line, p.character));
        items.extend(found.into_iter().map(|p| (uri.clone(), p)));
        if items.len() >= MAX_ITEMS {
            items.truncate(MAX_ITEMS);
            break;
        }
    }
    Ok(items)
}

/// Runs one step (or item) with its retries; a capability's next agent takes
/// over a failed attempt.
#[allow(clippy::too_many_arguments)]
async fn attempts(
    orch: &Arc<Orchestrator>,
    live: &Arc<Live>,
    workflow: &Workflow,
    step: &Step,
    key: &str,
    round: u32,
    inputs: &HashMap<String, StepRecord>,
    uri: Option<String>,
    position: Option<protocol::documents::Position>,
) -> StepRecord {
    let started = now_ms();
    let roster = orch.runs.roster();
    let candidates = candidates(&roster, step);
    let params_of_session = live.lock().params.clone();
    let mut last_error = String::from("no agent to run it");
    let mut last_agent = String::new();
    for attempt in 0..=step.retries {
        let Some(agent_id) = candidates.get(attempt as usize % candidates.len().max(1)).cloned() else { break };
        let Some(agent) = roster.resolve(&agent_id) else { break };
        if attempt > 0 && agent_id != last_agent {
            let entry = BoardEntry {
                kind: "decision".into(),
                key: format!("reassign:{key}"),
                text: format!("{key} re-assigned from {last_agent} to {agent_id} after: {last_error}"),
                agent: "paired".into(),
                step: key.to_owned(),
                at_ms: now_ms(),
            };
            let _ = post(orch, live, entry).await;
        }
        last_agent = agent_id.clone();
        // Budgets: what the workflow has left bounds the run (and every model
        // request checks the session's total as it goes: parallel runs share it).
        let spent = live.lock().tokens;
        let remaining = workflow.max_tokens.map(|max| max.saturating_sub(spent));
        if remaining == Some(0) {
            return StepRecord {
                agent: agent_id,
                attempts: attempt,
                ..failed_record(
                    step,
                    key,
                    round,
                    &format!("the workflow's token budget ({}) is spent", workflow.max_tokens.unwrap_or(0)),
                )
            };
        }
        let max_tokens = match (step.max_tokens, remaining) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let board = StepContext {
            session: live.id.clone(),
            step: key.to_owned(),
            agent: agent_id.clone(),
            sees: step.sees.clone(),
            live: live.clone(),
            orch: Arc::downgrade(orch),
            on_decision: {
                let (orch, live) = (Arc::downgrade(orch), live.clone());
                // Settled apart from the run that posted it: a strategy may
                // start a run (the arbiter) or wait for the user, and the run
                // holds a slot.
                Box::new(move |entry: BoardEntry| {
                    let Some(orch) = orch.upgrade() else { return };
                    let live = live.clone();
                    crate::services::scheduler::background().spawn(async move {
                        conflicts::check_decision(&orch, &live, &entry).await;
                    });
                })
            },
        };
        let user_prompt = params_of_session.prompt.clone().unwrap_or_default();
        let prompt = step.prompt.as_deref().map(|t| render(t, &user_prompt, inputs, &board.read()));
        let model =
            orch.env().provider_name(agent).is_some() && prompt.as_deref().is_some_and(|p| !p.trim().is_empty());
        let skill = if model {
            "ask".to_owned()
        } else {
            step.skill.clone().or_else(|| agent.skills.first().map(|s| s.name().to_owned())).unwrap_or_default()
        };
        let scope = agents::skills::scope_of(&skill);
        let params = RunParams {
            agent: agent_id.clone(),
            skill: Some(skill.clone()),
            uri: uri.clone(),
            position: if scope == Scope::Symbol || model { position.or(params_of_session.position) } else { None },
            range: if model { params_of_session.range } else { None },
            prompt: prompt.filter(|p| !p.trim().is_empty()),
            workspace: params_of_session.workspace.clone(),
            wait: false,
            max_tokens,
        };
        let options = RunOptions { class: Class::Background, owner: live.id.clone(), board: Some(Arc::new(board)) };
        // Listening before the launch: the step's timeout counts from when its
        // run starts, not while it waits its turn.
        let mut events = orch.env().events.subscribe();
        let (info, mut finished) = match orch.runs.launch(params, options).await {
            Ok(launched) => launched,
            Err(err) => {
                last_error = err.to_string();
                continue;
            }
        };
        live.track(&info.id);
        let mut done_early = None;
        if info.status == RunStatus::Queued && step.timeout_secs.is_some() {
            loop {
                tokio::select! {
                    run = &mut finished => {
                        done_early = Some(run);
                        break;
                    }
                    event = events.recv() => match event {
                        Ok(protocol::client::Event::RunUpdate { run_id, status, .. }) if run_id == info.id && status != RunStatus::Queued => break,
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    },
                }
            }
        }
        drop(events);
        let result = match (done_early, step.timeout_secs) {
            (Some(run), _) => Ok(run),
            (None, Some(secs)) => match tokio::time::timeout(Duration::from_secs(secs), finished).await {
                Ok(run) => Ok(run),
                Err(_) => {
                    let _ = orch.runs.cancel(&info.id).await;
                    Err(format!("timed out after {secs}s (timeout_secs)"))
                }
            },
            (None, None) => Ok(finished.await),
        };
        live.untrack(&info.id);
        match result {
            Ok(run) => {
                if run.status == RunStatus::Succeeded {
                    return StepRecord {
                        key: key.to_owned(),
                        step: step.id.clone(),
                        round,
                        agent: agent_id,
                        skill,
                        uri: run.uri.clone(),
                        status: StepStatus::Succeeded,
                        run_id: Some(run.id),
                        attempts: attempt + 1,
                        output: run.output,
                        findings: run.findings,
                        edits: run.edits,
                        error: None,
                        started_ms: started,
                        finished_ms: Some(now_ms()),
                    };
                }
                if run.status == RunStatus::Cancelled {
                    return StepRecord {
                        status: StepStatus::Cancelled,
                        run_id: Some(run.id),
                        agent: agent_id,
                        attempts: attempt + 1,
                        ..failed_record(step, key, round, run.error.as_deref().unwrap_or("cancelled"))
                    };
                }
                last_error = run.error.unwrap_or_else(|| "failed".into());
            }
            Err(reason) => last_error = reason,
        }
    }
    StepRecord {
        agent: last_agent,
        attempts: step.retries + 1,
        ..failed_record(step, key, round, &format!("{last_error} (after {} attempt(s))", step.retries + 1))
    }
}

/// Alex merges the reports of the steps this one needs: findings without
/// duplicates, most severe first, the verdicts and decisions on the board, the
/// conflicts and how they were settled.
fn merge(
    live: &Live,
    workflow: &Workflow,
    step: &Step,
    key: &str,
    round: u32,
    inputs: &HashMap<String, StepRecord>,
) -> StepRecord {
    let state = live.snapshot();
    let mut findings = Vec::new();
    let mut seen = HashSet::new();
    let mut report = format!(
        "# {} — merged by {}\n\n",
        workflow.name,
        match &step.target {
            Target::Agent(a) => a.as_str(),
            Target::Capability(c) => c.as_str(),
        }
    );
    for need in &step.needs {
        let Some(record) = inputs.get(need) else { continue };
        let errors = record.findings.iter().filter(|f| f.severity == Severity::Error).count();
        report.push_str(&format!(
            "- `{}` ({} {}): {:?}, {} findings ({errors} errors), {} edits\n",
            record.key,
            record.agent,
            record.skill,
            record.status,
            record.findings.len(),
            record.edits.len()
        ));
        for finding in &record.findings {
            if seen.insert((finding.uri.clone(), finding.line, finding.rule.clone())) {
                findings.push(finding.clone());
            }
        }
    }
    // Fan-out items count for their step.
    for record in state.steps.iter().filter(|r| step.needs.iter().any(|n| r.key.starts_with(&format!("{n}[")))) {
        for finding in &record.findings {
            if seen.insert((finding.uri.clone(), finding.line, finding.rule.clone())) {
                findings.push(finding.clone());
            }
        }
    }
    findings.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.uri.cmp(&b.uri)).then(a.line.cmp(&b.line)));
    if !findings.is_empty() {
        report.push_str("\n## Findings\n\n");
        for f in findings.iter().take(200) {
            let file = f.uri.as_deref().and_then(|u| u.rsplit('/').next()).unwrap_or("");
            report.push_str(&format!("- {} {file}:{} [{}] {}\n", f.severity.name(), f.line, f.rule, f.message));
        }
    }
    let decisions: Vec<&BoardEntry> = state.board.iter().filter(|e| e.kind == "decision").collect();
    if !decisions.is_empty() {
        report.push_str("\n## Decisions\n\n");
        for d in decisions {
            report.push_str(&format!("- {} ({}): {}\n", d.key, d.agent, d.text));
        }
    }
    if !state.conflicts.is_empty() {
        report.push_str("\n## Conflicts\n\n");
        for c in &state.conflicts {
            report.push_str(&format!("- {} ({}): {} — {}\n", c.what, c.strategy, c.resolution, c.reasons));
        }
    }
    let edits = state.steps.iter().filter(|r| r.status == StepStatus::Succeeded).map(|r| r.edits.len()).sum::<usize>();
    report.push_str(&format!(
        "\n{edits} edits proposed in all; those that stand after conflicts are the session's `edits`.\n"
    ));
    StepRecord {
        key: key.to_owned(),
        step: step.id.clone(),
        round,
        agent: match &step.target {
            Target::Agent(a) => a.clone(),
            Target::Capability(c) => c.clone(),
        },
        skill: "merge".into(),
        uri: state.params.uri.clone(),
        status: StepStatus::Succeeded,
        run_id: None,
        attempts: 1,
        output: report,
        findings,
        edits: Vec::new(),
        error: None,
        started_ms: now_ms(),
        finished_ms: Some(now_ms()),
    }
}

/// An agent's offline skills, as a list for people.
fn skill_names(agent: &crate::services::roster::Agent) -> String {
    agent.skills.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::orchestrator::workflow::Cond;

    #[test]
    fn prompts_render_inputs_and_the_board() {
        let mut inputs = HashMap::new();
        inputs.insert(
            "plan".to_owned(),
            StepRecord {
                key: "plan".into(),
                step: "plan".into(),
                round: 1,
                agent: "alex".into(),
                skill: "route".into(),
                uri: None,
                status: StepStatus::Succeeded,
                run_id: None,
                attempts: 1,
                output: "- sherlock: review".into(),
                findings: Vec::new(),
                edits: Vec::new(),
                error: None,
                started_ms: 0,
                finished_ms: None,
            },
        );
        let board = vec![BoardEntry {
            kind: "decision".into(),
            key: "plan".into(),
            text: "review first".into(),
            agent: "alex".into(),
            step: "plan".into(),
            at_ms: 0,
        }];
        assert_eq!(
            render("Do {prompt}. Plan: {steps.plan.output}; {steps.gone.output}|{board}", "x", &inputs, &board),
            "Do x. Plan: - sherlock: review; |- [decision] plan (alex, plan): review first"
        );
        // Inserted text is not expanded again (it could loop forever).
        assert_eq!(
            render("{prompt} {steps.plan.output}", "{steps.plan.output}", &inputs, &board),
            "{steps.plan.output} - sherlock: review"
        );
        assert_eq!(render("json {\"a\": 1} {unclosed", "", &inputs, &board), "json {\"a\": 1} {unclosed");
    }

    #[test]
    fn a_condition_reads_the_latest_result() {
        let cond = Cond::parse("steps.plan.status == \"succeeded\"").expect("parses");
        assert!(!cond.eval(&reader(&HashMap::new())));
    }
}
