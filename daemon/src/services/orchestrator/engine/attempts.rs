//! A step's run with its retries: each attempt within the workflow's token
//! budget and the step's timeout; for a capability, the next agent offering
//! it takes over a failed attempt (re-assignment is posted on the board).

use std::{sync::Arc, time::Duration};

use agents::skills::Scope;
use protocol::{
    agents::{RunInfo, RunParams, RunStatus},
    documents::Position,
    workflows::{BoardEntry, StepRecord, StepStatus},
};

use super::{
    preflight::candidates,
    record::{Job, failed_record, render},
};
use crate::{
    platform::clock::now_ms,
    services::{
        orchestrator::{
            conflicts,
            session::{Live, Orchestrator, StepContext, post},
            workflow::Step,
        },
        runs::RunOptions,
        scheduler::Class,
    },
};

/// Runs one step (or item) with its retries; a capability's next agent takes
/// over a failed attempt.
pub(super) async fn attempts(job: &Job<'_>, uri: Option<String>, position: Option<Position>) -> StepRecord {
    let Job { orch, live, workflow, step, key, round, inputs } = *job;
    let started = now_ms();
    let roster = orch.runs.roster(live.project.as_deref());
    let candidates = candidates(&roster, step);
    let params_of_session = live.lock().params.clone();
    let mut last_error = String::from("no agent to run it");
    let mut last_agent = String::new();
    for attempt in 0..=step.retries {
        let Some(agent_id) = candidates.get(attempt as usize % candidates.len().max(1)).cloned() else { break };
        let Some(agent) = roster.resolve(&agent_id) else { break };
        if attempt > 0 && agent_id != last_agent {
            reassigned(job, &last_agent, &agent_id, &last_error).await;
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
        let board = step_context(job, &agent_id);
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
        match launch_and_wait(orch, live, step, params, options).await {
            Ok(run) => match ended(job, run, agent_id, skill, attempt + 1, started) {
                Ok(record) => return record,
                Err(reason) => last_error = reason,
            },
            Err(reason) => last_error = reason,
        }
    }
    StepRecord {
        agent: last_agent,
        attempts: step.retries + 1,
        ..failed_record(step, key, round, &format!("{last_error} (after {} attempt(s))", step.retries + 1))
    }
}

/// Posts on the board that `to` takes the step over from `from`, and why.
async fn reassigned(job: &Job<'_>, from: &str, to: &str, why: &str) {
    let key = job.key;
    let entry = BoardEntry {
        kind: protocol::workflows::BoardKind::Decision,
        key: format!("reassign:{key}"),
        text: format!("{key} re-assigned from {from} to {to} after: {why}"),
        agent: "paired".into(),
        step: key.to_owned(),
        at_ms: now_ms(),
    };
    if let Err(err) = post(job.orch, job.live, entry).await {
        tracing::error!(session = %job.live.id, "cannot record a re-assignment on the board: {err:#}");
    }
}

/// The board as the step's run on `agent_id` sees it.
fn step_context(job: &Job<'_>, agent_id: &str) -> StepContext {
    let Job { orch, live, step, key, .. } = *job;
    StepContext {
        session: live.id.clone(),
        step: key.to_owned(),
        agent: agent_id.to_owned(),
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
    }
}

/// Launches one attempt's run and waits for it to finish, or for the step's
/// timeout; why it did not run, or ran out of time.
async fn launch_and_wait(
    orch: &Arc<Orchestrator>,
    live: &Live,
    step: &Step,
    params: RunParams,
    options: RunOptions,
) -> Result<RunInfo, String> {
    // Listening before the launch: the step's timeout counts from when its
    // run starts, not while it waits its turn.
    let mut events = orch.env().events.subscribe(crate::services::events::Interest::kinds(["run_update"]));
    let (info, mut finished) = orch.runs.launch(params, options).await.map_err(|err| err.to_string())?;
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
                    // Missed updates: the run may have started among them.
                    Err(crate::services::events::RecvError::Lagged(_)) => {
                        if orch.runs.get(&info.id).await.is_ok_and(|run| run.status != RunStatus::Queued) {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(crate::services::events::RecvError::Closed) => break,
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
    result
}

/// The step's record when its run succeeded or was cancelled (no retry
/// then); otherwise why the attempt failed.
fn ended(
    job: &Job<'_>,
    run: RunInfo,
    agent_id: String,
    skill: String,
    attempts: u32,
    started: u64,
) -> Result<StepRecord, String> {
    let Job { step, key, round, .. } = *job;
    if run.status == RunStatus::Succeeded {
        return Ok(StepRecord {
            key: key.to_owned(),
            step: step.id.clone(),
            round,
            agent: agent_id,
            skill,
            uri: run.uri.clone(),
            status: StepStatus::Succeeded,
            run_id: Some(run.id),
            attempts,
            output: run.output,
            findings: run.findings,
            edits: run.edits,
            error: None,
            started_ms: started,
            finished_ms: Some(now_ms()),
        });
    }
    if run.status == RunStatus::NoResult {
        return Ok(StepRecord {
            status: StepStatus::NoResult,
            run_id: Some(run.id),
            agent: agent_id,
            attempts,
            output: run.output,
            ..failed_record(step, key, round, run.error.as_deref().unwrap_or("no result"))
        });
    }
    if run.status == RunStatus::Cancelled {
        return Ok(StepRecord {
            status: StepStatus::Cancelled,
            run_id: Some(run.id),
            agent: agent_id,
            attempts,
            ..failed_record(step, key, round, run.error.as_deref().unwrap_or("cancelled"))
        });
    }
    Err(run.error.unwrap_or_else(|| "failed".into()))
}
