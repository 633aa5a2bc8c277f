//! One step: Alex's merge, a single run with its retries, or a fan-out —
//! one run per item (per subtask of the coordinator's plan, per undocumented
//! definition), each recorded as it finishes.

use std::{collections::HashMap, sync::Arc};

use protocol::{
    agents::RunParams,
    documents::Position,
    workflows::{RunWorkflowParams, StepRecord, StepStatus},
};
use tokio::task::JoinSet;

use super::{
    attempts::attempts,
    delegate::plan,
    merge::merge,
    record::{Job, failed_record, record_step},
};
use crate::{
    platform::clock::now_ms,
    services::orchestrator::{
        session::Orchestrator,
        workflow::{Each, Step},
    },
};

/// Fan-out items of one step in flight at once (the scheduler limits runs).
const MAX_ITEMS_IN_FLIGHT: usize = 256;
/// Fan-out items per step.
const MAX_ITEMS: usize = 2000;

/// The items of a fan-out: the step each runs (a subtask's own), and the
/// file and position it is about.
type Items = Vec<(Step, Option<String>, Option<Position>)>;

/// One step: a merge, a fan-out, or a run with retries, a timeout and, for a
/// capability, re-assignment to the next agent offering it.
pub(super) async fn run_step(job: &Job<'_>) -> StepRecord {
    let Job { orch, live, step, key, round, .. } = *job;
    if step.skill.as_deref() == Some("merge") {
        let record = merge(job);
        record_step(orch, live, &record).await;
        return record;
    }
    let params = live.snapshot().params;
    // Fan-out: one run per item, each recorded as it finishes; items a resumed
    // session finished before are not run again.
    let started = now_ms();
    let items: Items = match step.each {
        None => {
            let record = attempts(job, params.uri.clone(), params.position).await;
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
            let (plan, subtasks) = plan(job).await;
            record_step(orch, live, &plan).await;
            if plan.status != StepStatus::Succeeded {
                return plan;
            }
            subtasks
                .into_iter()
                .map(|(sub, uri, position)| (sub, uri.or(params.uri.clone()), position.or(params.position)))
                .collect()
        }
    };
    let records = fan_out(job, items).await;
    aggregate(job, started, &records)
}

/// Runs a fan-out's items, at most [`MAX_ITEMS_IN_FLIGHT`] at once, each
/// recorded as it finishes; their records, those of a previous run first.
async fn fan_out(job: &Job<'_>, items: Items) -> Vec<StepRecord> {
    let Job { orch, live, workflow, step, key, round, inputs } = *job;
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
            let item = Job {
                orch: &orch,
                live: &live,
                workflow: &workflow,
                step: &item_step,
                key: &item_key,
                round,
                inputs: &inputs,
            };
            let record = attempts(&item, uri, position).await;
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
    records
}

/// A fan-out step's own record: how many items succeeded, their findings,
/// the first failure.
fn aggregate(job: &Job<'_>, started: u64, records: &[StepRecord]) -> StepRecord {
    let Job { live, step, key, round, .. } = *job;
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

/// [`undocumented`] off the async threads (outlines parse files).
async fn listed(orch: &Arc<Orchestrator>, params: &RunWorkflowParams) -> Result<Vec<(String, Position)>, String> {
    let (orch, params) = (orch.clone(), params.clone());
    tokio::task::spawn_blocking(move || undocumented(&orch, &params))
        .await
        .unwrap_or_else(|err| Err(format!("listing the definitions failed: {err}")))
}

/// The definitions without a doc comment: in the session's file, or in every
/// indexed file of the workspace.
fn undocumented(orch: &Orchestrator, params: &RunWorkflowParams) -> Result<Vec<(String, Position)>, String> {
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
            // The project's own code: its tests' stubs and helpers are
            // documented by the tests themselves (a fake `getHeader` was
            // called "Returns the header.").
            let mut paths: Vec<String> =
                index.paths().filter(|p| !agents::skills::is_test_path(p)).map(str::to_owned).collect();
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
            use protocol::context::SymbolKind as K;
            // A test module's functions say what they test by their names, and
            // a trait's implementation is documented by the trait ("Err.",
            // "Test units." were 36 of humantime's proposals).
            let tests = symbol.kind == K::Module && matches!(symbol.name.as_str(), "tests" | "test");
            if tests || (symbol.kind == K::Impl && symbol.name.contains(" for ")) {
                continue;
            }
            let documentable = matches!(
                symbol.kind,
                K::Function | K::Method | K::Struct | K::Enum | K::Class | K::Interface | K::Type
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
