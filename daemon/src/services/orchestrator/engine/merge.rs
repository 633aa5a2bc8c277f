//! Alex's merge: the reports of the steps a merge step needs, in one.

use std::collections::HashSet;

use protocol::{
    agents::Severity,
    workflows::{BoardEntry, StepRecord, StepStatus},
};

use super::record::Job;
use crate::{platform::clock::now_ms, services::orchestrator::workflow::Target};

/// What each step the merge needs answered (and each of its fan-out items):
/// the merged answer holds the sub-results, not only their counts. Long
/// answers are cut, and say so.
fn results(
    report: &mut String,
    step: &crate::services::orchestrator::workflow::Step,
    inputs: &std::collections::HashMap<String, StepRecord>,
    steps: &[StepRecord],
) {
    const SHOWN: usize = 2000;
    let needed = |r: &&StepRecord| step.needs.iter().any(|n| r.key == *n || r.key.starts_with(&format!("{n}[")));
    let mut answered: Vec<&StepRecord> = inputs.values().chain(steps.iter()).filter(needed).collect();
    answered.sort_by(|a, b| a.key.cmp(&b.key));
    answered.dedup_by(|a, b| a.key == b.key);
    let answered: Vec<&StepRecord> = answered.into_iter().filter(|r| !r.output.trim().is_empty()).collect();
    if answered.is_empty() {
        return;
    }
    report.push_str("\n## Results\n");
    for record in answered {
        let text = record.output.trim();
        let cut: String = text.chars().take(SHOWN).collect();
        let more = if cut.len() < text.len() { "\n… (cut; the whole answer is the step's output)" } else { "" };
        report.push_str(&format!("\n### `{}` — {} {}\n\n{cut}{more}\n", record.key, record.agent, record.skill));
    }
}

/// Alex merges the reports of the steps this one needs: findings without
/// duplicates, most severe first, the verdicts and decisions on the board, the
/// conflicts and how they were settled.
pub(super) fn merge(job: &Job<'_>) -> StepRecord {
    let Job { live, workflow, step, key, round, inputs, .. } = *job;
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
        // A fan-out step's findings and edits are its items' (`docs[3]`).
        let items: Vec<&StepRecord> = state.steps.iter().filter(|r| r.key.starts_with(&format!("{need}["))).collect();
        let all = || std::iter::once(record).chain(items.iter().copied());
        let errors = all().flat_map(|r| &r.findings).filter(|f| f.severity == Severity::Error).count();
        let (found, edits) =
            (all().map(|r| r.findings.len()).sum::<usize>(), all().map(|r| r.edits.len()).sum::<usize>());
        let across = if items.is_empty() { String::new() } else { format!(" across {} items", items.len()) };
        report.push_str(&format!(
            "- `{}` ({} {}): {:?}, {found} findings ({errors} errors), {edits} edits{across}\n",
            record.key, record.agent, record.skill, record.status,
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
    results(&mut report, step, inputs, &state.steps);
    findings.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.uri.cmp(&b.uri)).then(a.line.cmp(&b.line)));
    if !findings.is_empty() {
        report.push_str("\n## Findings\n\n");
        for f in findings.iter().take(200) {
            let file = f.uri.as_deref().and_then(|u| u.rsplit('/').next()).unwrap_or("");
            report.push_str(&format!("- {} {file}:{} [{}] {}\n", f.severity.name(), f.line, f.rule, f.message));
        }
    }
    let decisions: Vec<&BoardEntry> =
        state.board.iter().filter(|e| e.kind == protocol::workflows::BoardKind::Decision).collect();
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
