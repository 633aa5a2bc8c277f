//! The DAG driver: it starts every step whose needs are met (so independent
//! steps run in parallel and a step with several needs joins them), skips a
//! step whose condition is false or whose need failed, repeats a loop's steps
//! until its condition holds or its rounds run out, and records the session's
//! outcome.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use protocol::workflows::{BoardEntry, SessionStatus, StepRecord, StepStatus};
use tokio::task::JoinSet;

use super::{
    record::{Job, failed_record, reader, record_step},
    step::run_step,
};
use crate::{
    platform::clock::now_ms,
    services::orchestrator::{
        session::{Live, Orchestrator, base_key, post, send_update, set_status},
        workflow::{Each, Step, Workflow},
    },
};

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
            (Ok(()), None) => {
                // Nothing any agent was asked for came back: say so, not "succeeded".
                // A delegation's plan and the merge are about the work, not it.
                let worked: Vec<&StepRecord> =
                    latest.iter().filter(|r| !matches!(r.skill.as_str(), "merge" | "plan")).collect();
                let none = worked.iter().all(|r| matches!(r.status, StepStatus::NoResult | StepStatus::Skipped))
                    && worked.iter().any(|r| r.status == StepStatus::NoResult);
                // Every step that was let fail (`continue_on_error`, a
                // delegation's sub-tasks) failed, and none did its part.
                let all_failed = !worked.is_empty()
                    && !worked.iter().any(|r| r.status == StepStatus::Succeeded)
                    && worked.iter().any(|r| matches!(r.status, StepStatus::Failed | StepStatus::Cancelled));
                if all_failed {
                    state.status = SessionStatus::Failed;
                    let why: Vec<String> = worked
                        .iter()
                        .filter(|r| r.status != StepStatus::Skipped)
                        .map(|r| format!("`{}`: {}", r.key, r.error.as_deref().unwrap_or("no result")))
                        .collect();
                    state.error = Some(format!("no step succeeded ({})", why.join("; ")));
                } else if let Some(why) = undone_part(&workflow, &worked) {
                    // A delegation did part of the request: what it did is in
                    // the session, but the request was not done.
                    state.status = SessionStatus::NoResult;
                    state.error = Some(why);
                } else if none {
                    state.status = SessionStatus::NoResult;
                    let why: Vec<String> = worked
                        .iter()
                        .filter(|r| r.status == StepStatus::NoResult)
                        .map(|r| format!("`{}`: {}", r.key, r.error.as_deref().unwrap_or("no result")))
                        .collect();
                    state.error = Some(format!("no step produced a result ({})", why.join("; ")));
                } else {
                    state.status = SessionStatus::Succeeded;
                }
            }
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

/// A delegation's sub-tasks (the items of an `each = "subtask"` step) of
/// which some did their part and some did not: which did not, and why.
fn undone_part(workflow: &Workflow, worked: &[&StepRecord]) -> Option<String> {
    let subtasks: Vec<&&StepRecord> =
        worked.iter().filter(|r| workflow.step(&r.step).is_some_and(|s| s.each == Some(Each::Subtask))).collect();
    let undone: Vec<String> = subtasks
        .iter()
        .filter(|r| matches!(r.status, StepStatus::NoResult | StepStatus::Failed | StepStatus::Cancelled))
        .map(|r| format!("`{}` ({} {}): {}", r.key, r.agent, r.skill, r.error.as_deref().unwrap_or("no result")))
        .collect();
    let done = subtasks.iter().any(|r| r.status == StepStatus::Succeeded);
    (done && !undone.is_empty())
        .then(|| format!("{} of {} sub-task(s) not done: {}", undone.len(), subtasks.len(), undone.join("; ")))
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

/// Where a session stands as it runs: the latest record of each step done,
/// the steps still to start (in declaration order), the loop rounds reached,
/// the loops finished, and the steps running.
struct Driver {
    orch: Arc<Orchestrator>,
    live: Arc<Live>,
    workflow: Arc<Workflow>,
    done: HashMap<String, StepRecord>,
    rounds: HashMap<usize, u32>,
    finished_loops: HashSet<usize>,
    pending: Vec<String>,
    running: JoinSet<StepRecord>,
}

async fn run_steps(orch: Arc<Orchestrator>, live: Arc<Live>, workflow: Arc<Workflow>) -> Result<(), String> {
    let mut driver = Driver::resume(orch, live, workflow.clone());
    // A resumed loop whose round had finished ends or starts its next round now.
    for lp in &workflow.loops {
        if let Some(first) = lp.steps.first() {
            driver.advance_loops(first).await;
        }
    }
    loop {
        driver.start_ready().await;
        let Some(joined) = driver.running.join_next().await else {
            if driver.pending.is_empty() {
                break;
            }
            // Cannot happen for a validated workflow; never report success over it.
            return Err(format!("steps {} could not run: what they need never settled", driver.pending.join(", ")));
        };
        let record = joined.map_err(|err| format!("a step stopped: {err}"))?;
        let id = record.step.clone();
        driver.done.insert(id.clone(), record);
        driver.advance_loops(&id).await;
    }
    Ok(())
}

impl Driver {
    /// Where a resumed session stands: loop rounds reached, steps done in them.
    fn resume(orch: Arc<Orchestrator>, live: Arc<Live>, workflow: Arc<Workflow>) -> Driver {
        let previous = live.snapshot().steps;
        let mut rounds: HashMap<usize, u32> = HashMap::new();
        for record in &previous {
            if let Some(l) = workflow.loop_of(&record.step) {
                let round = rounds.entry(l).or_insert(1);
                *round = (*round).max(record.round);
            }
        }
        let mut driver = Driver {
            orch,
            live,
            workflow: workflow.clone(),
            done: HashMap::new(),
            rounds,
            finished_loops: HashSet::new(),
            pending: Vec::new(),
            running: JoinSet::new(),
        };
        for record in &previous {
            let whole_step = record.key == record.step || record.key.starts_with(&format!("{}#", record.step));
            let counts = whole_step
                && record.round == driver.round_of(&record.step)
                && (record.status == StepStatus::Succeeded
                    || (record.status == StepStatus::Skipped && record.error.is_none()))
                && workflow.step(&record.step).is_some_and(|s| s.each.is_none());
            if counts {
                driver.done.insert(record.step.clone(), record.clone());
            }
        }
        driver.pending =
            workflow.steps.iter().map(|s| s.id.clone()).filter(|id| !driver.done.contains_key(id)).collect();
        driver
    }

    /// The loop round step `id` is in.
    fn round_of(&self, id: &str) -> u32 {
        self.workflow.loop_of(id).map_or(1, |l| self.rounds.get(&l).copied().unwrap_or(1))
    }

    /// Starts (or skips) every pending step that is ready, again until none
    /// is: a skipped step may make others ready.
    async fn start_ready(&mut self) {
        let workflow = self.workflow.clone();
        let mut progressed = true;
        while progressed {
            progressed = false;
            for id in self.pending.clone() {
                let step = workflow.step(&id).expect("pending steps are the workflow's");
                let readiness = readiness(&workflow, step, &self.done, &self.finished_loops);
                let round = self.round_of(&id);
                let key = if round > 1 { format!("{id}#{round}") } else { id.clone() };
                let skip = match readiness {
                    Readiness::NotYet => continue,
                    Readiness::Blocked(reason) => Some((reason, true)),
                    Readiness::Ready => match &step.when {
                        Some(cond) if !cond.eval(&reader(&self.done)) => {
                            Some((format!("condition not met: {}", step.when_text.as_deref().unwrap_or("")), false))
                        }
                        _ => None,
                    },
                };
                self.pending.retain(|p| p != &id);
                progressed = true;
                match skip {
                    Some((reason, is_failure)) => self.skip(&id, key, round, reason, is_failure).await,
                    None => self.spawn(step, key, round),
                }
            }
        }
    }

    /// Records a step that does not run: its condition is false (`output`
    /// says why) or a step it needs failed (`error` says which).
    async fn skip(&mut self, id: &str, key: String, round: u32, reason: String, is_failure: bool) {
        let record = StepRecord {
            key,
            step: id.to_owned(),
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
        record_step(&self.orch, &self.live, &record).await;
        self.done.insert(id.to_owned(), record);
        self.advance_loops(id).await;
    }

    /// Runs a ready step in its own task, with the records done so far as its
    /// inputs; a panic fails the step, not the session.
    fn spawn(&mut self, step: &Step, key: String, round: u32) {
        let inputs = self.done.clone();
        let (orch, live, workflow, step) = (self.orch.clone(), self.live.clone(), self.workflow.clone(), step.clone());
        self.running.spawn(async move {
            let job =
                Job { orch: &orch, live: &live, workflow: &workflow, step: &step, key: &key, round, inputs: &inputs };
            let work = run_step(&job);
            match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(work)).await {
                Ok(record) => record,
                Err(_) => {
                    failed_record(&step, &key, round, "the step failed unexpectedly (a defect; please report it)")
                }
            }
        });
    }

    /// After a loop step finished: when the whole round is done, the loop ends
    /// (its condition holds, or no rounds are left) or starts its next round.
    async fn advance_loops(&mut self, id: &str) {
        let workflow = self.workflow.clone();
        let Some(l) = workflow.loop_of(id) else { return };
        let lp = &workflow.loops[l];
        if !lp.steps.iter().all(|s| self.done.contains_key(s)) {
            return;
        }
        let round = self.rounds.get(&l).copied().unwrap_or(1);
        let met = lp.until.eval(&reader(&self.done));
        let failed = lp
            .steps
            .iter()
            .any(|s| self.done.get(s).is_some_and(|r| matches!(r.status, StepStatus::Failed | StepStatus::Cancelled)));
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
                format!(
                    "loop over {}: round {} starts (its condition does not hold yet)",
                    lp.steps.join(", "),
                    round + 1
                ),
                true,
            )
        };
        let entry = BoardEntry {
            kind: protocol::workflows::BoardKind::Fact,
            key: "loop".into(),
            text,
            agent: "paired".into(),
            step: id.to_owned(),
            at_ms: now_ms(),
        };
        if let Err(err) = post(&self.orch, &self.live, entry).await {
            tracing::error!("cannot record a board entry: {err:#}");
        }
        if again {
            self.rounds.insert(l, round + 1);
            for s in &lp.steps {
                self.done.remove(s);
                self.pending.push(s.clone());
            }
            // Keep declaration order: readiness is checked in it.
            self.pending.sort_by_key(|s| workflow.steps.iter().position(|w| &w.id == s));
        } else {
            self.finished_loops.insert(l);
        }
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
