//! What a step is given and what it leaves: the [`Job`] a step's run gets,
//! its record (in memory, on disk, to clients), the board entries its result
//! implies, and the two ways steps read each other's results — prompt
//! templates and conditions.

use std::{collections::HashMap, sync::Arc};

use protocol::{
    agents::Severity,
    workflows::{BoardEntry, BoardKind, StepRecord, StepStatus},
};

use crate::{
    platform::clock::now_ms,
    services::orchestrator::{
        conflicts,
        session::{self, Live, Orchestrator, post, send_update},
        workflow::{Field, Step, Value, Workflow},
    },
};

/// A step (or one item of a fan-out) to run in a session, and what it reads:
/// the latest records of the steps done before it.
pub(super) struct Job<'a> {
    pub(super) orch: &'a Arc<Orchestrator>,
    pub(super) live: &'a Arc<Live>,
    pub(super) workflow: &'a Workflow,
    pub(super) step: &'a Step,
    /// The record's key: the step's id, with its loop round (`edit#2`) and
    /// fan-out item (`doc[3]`).
    pub(super) key: &'a str,
    pub(super) round: u32,
    pub(super) inputs: &'a HashMap<String, StepRecord>,
}

/// What conditions read: the latest record of each step.
pub(super) fn reader(done: &HashMap<String, StepRecord>) -> impl Fn(&str, Field) -> Option<Value> + '_ {
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
                    StepStatus::NoResult => "no_result",
                }
                .into(),
            ),
            Field::Output => Value::Text(record.output.clone()),
        })
    }
}

pub(super) fn failed_record(step: &Step, key: &str, round: u32, reason: &str) -> StepRecord {
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
pub(super) async fn record_step(orch: &Arc<Orchestrator>, live: &Arc<Live>, record: &StepRecord) {
    if let Err(err) = session::append_step(orch, live, record).await {
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
        StepStatus::NoResult => "ended with no result",
        _ => "finished",
    };
    let message = format!("step {} {status}", record.key);
    send_update(orch, live, Some(record.clone()), Some(message));
    if record.status == StepStatus::Succeeded && record.skill != "merge" {
        for entry in board_entries(record) {
            if let Err(err) = post(orch, live, entry.clone()).await {
                tracing::error!("cannot record a board entry: {err:#}");
            }
            if entry.kind == BoardKind::Decision {
                conflicts::check_decision(orch, live, &entry).await;
            }
        }
    }
}

/// What a step's result tells the others: the artifact it produced, a verdict
/// when it reviewed something, a plan when it routed a request.
fn board_entries(record: &StepRecord) -> Vec<BoardEntry> {
    let entry = |kind: BoardKind, key: String, text: String| BoardEntry {
        kind,
        key,
        text,
        agent: record.agent.clone(),
        step: record.key.clone(),
        at_ms: now_ms(),
    };
    let errors = record.findings.iter().filter(|f| f.severity == Severity::Error).count();
    let mut entries = vec![entry(
        BoardKind::Artifact,
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
    // The verdict follows the findings: changes are requested over every
    // error and warning (Maya's accessibility failures are all WCAG failures);
    // notes alone (info, hints) approve, and say so.
    let blocking = if record.skill == "accessibility" {
        record.findings.len()
    } else {
        record.findings.iter().filter(|f| matches!(f.severity, Severity::Error | Severity::Warning)).count()
    };
    let notes = record.findings.len() - blocking;
    let plural = |n: usize, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
    if matches!(record.skill.as_str(), "review" | "accessibility") {
        let verdict = match (blocking, notes) {
            (0, 0) => "approve".to_owned(),
            (0, notes) => format!("approve ({})", plural(notes, "note")),
            (blocking, _) => format!("changes requested ({})", plural(blocking, "problem")),
        };
        let target = subject.unwrap_or_else(|| "the workspace".into());
        entries.push(entry(BoardKind::Decision, format!("verdict:{target}"), verdict));
    }
    if record.skill == "route" {
        let plan: Vec<&str> = record.output.lines().filter(|l| l.starts_with("- ")).collect();
        entries.push(entry(BoardKind::Decision, "plan".into(), plan.join("; ")));
    }
    entries
}

/// Expands `{prompt}`, `{steps.X.output}` and `{board}` in a step's prompt.
pub(super) fn render(
    template: &str,
    user_prompt: &str,
    inputs: &HashMap<String, StepRecord>,
    board: &[BoardEntry],
) -> String {
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
            kind: BoardKind::Decision,
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
