//! Conflicts between agents: found when a step's edits overlap another's (or
//! change the same symbol differently), or when two steps post contradictory
//! verdicts or decisions; settled by the workflow's strategy, each with its
//! reasons recorded on the session and its board.

use std::sync::Arc;

use protocol::{
    agents::{RunParams, RunStatus, TextEdit},
    client::Event,
    documents::{Position, Range},
    workflows::ConflictKind,
    workflows::{BoardEntry, ConflictRecord, SessionStatus, StepRecord, StepStatus},
};

use super::{
    session::{Live, Orchestrator, base_key, post, save_conflict, send_update, set_status},
    workflow::{Policy, Strategy},
};
use crate::platform::clock::now_ms;

/// One side of a conflict.
struct Party {
    key: String,
    agent: String,
    /// What this side holds, for people (and the arbiter).
    position: String,
    /// Its contested edits (indices into the step's edits).
    edits: Vec<usize>,
    /// Steps that hold the same position (for a vote).
    supporters: usize,
}

fn before(a: Position, b: Position) -> bool {
    (a.line, a.character) < (b.line, b.character)
}

fn overlap(a: &Range, b: &Range) -> bool {
    let empty = |r: &Range| r.start == r.end;
    (before(a.start, b.end) && before(b.start, a.end))
        || (empty(a) && empty(b) && a.start == b.start)
        || (empty(a) && !before(a.start, b.start) && before(a.start, b.end))
        || (empty(b) && !before(b.start, a.start) && before(b.start, a.end))
}

/// The latest records of the other steps (and items) that succeeded and edit
/// one of the files `record` edits. Not compared: earlier rounds of the same
/// step or item (a newer round supersedes them), and items of one fan-out run
/// by the same agent (one agent's parallel work on different definitions).
fn others(live: &Live, record: &StepRecord) -> Vec<StepRecord> {
    let own = base_key(&record.key);
    let files: Vec<&str> = record.edits.iter().map(|e| e.uri.as_str()).collect();
    let state = live.lock();
    let mut seen: Vec<String> = vec![own.clone()];
    let mut latest: Vec<StepRecord> = Vec::new();
    for r in state.steps.iter().rev() {
        let base = base_key(&r.key);
        if seen.contains(&base) {
            continue;
        }
        seen.push(base);
        let same_fan_out = r.step == record.step && r.agent == record.agent;
        if r.status == StepStatus::Succeeded && !same_fan_out && r.edits.iter().any(|e| files.contains(&e.uri.as_str()))
        {
            latest.push(r.clone());
        }
    }
    latest
}

/// The innermost symbol of an outline around `at`, by kind and name.
fn enclosing(outline: &protocol::context::DocumentOutline, at: Position) -> Option<String> {
    let mut found = None;
    let mut level = outline.symbols.as_slice();
    while let Some(symbol) = level.iter().find(|s| !before(at, s.range.start) && before(at, s.range.end)) {
        found = Some(format!("{} {}", symbol.kind, symbol.name));
        level = symbol.children.as_slice();
    }
    found
}

fn describe(edit: &TextEdit) -> String {
    let file = edit.uri.rsplit('/').next().unwrap_or(&edit.uri);
    let text: String = edit.new_text.lines().next().unwrap_or("").chars().take(60).collect();
    format!("{file} lines {}-{}: {text:?}", edit.range.start.line + 1, edit.range.end.line + 1)
}

/// Edits of `record` against every other step's.
pub async fn check_edits(orch: &Arc<Orchestrator>, live: &Arc<Live>, record: &StepRecord) {
    // One outline per file for this check, not one per pair of edits.
    let mut outlines: std::collections::HashMap<String, Option<protocol::context::DocumentOutline>> =
        std::collections::HashMap::new();
    let mut enclosing_of = |uri: &str, at: Position| {
        let outline = outlines.entry(uri.to_owned()).or_insert_with(|| {
            crate::services::codebase::outline(
                &orch.env().codebase,
                protocol::context::OutlineParams { uri: uri.to_owned() },
            )
            .ok()
        });
        outline.as_ref().and_then(|o| enclosing(o, at))
    };
    for other in others(live, record) {
        // Edits that lost a conflict already are out of the running.
        let rejected = live.rejected.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut mine = Vec::new();
        let mut theirs = Vec::new();
        let mut kind = None;
        let mut what = String::new();
        for (i, a) in record.edits.iter().enumerate() {
            if rejected.contains(&(record.key.clone(), i)) {
                continue;
            }
            for (j, b) in other.edits.iter().enumerate() {
                if a.uri != b.uri || a == b || rejected.contains(&(other.key.clone(), j)) {
                    continue;
                }
                let this = if overlap(&a.range, &b.range) {
                    Some((ConflictKind::OverlappingEdits, format!("overlapping edits to {}", describe(a))))
                } else {
                    match (enclosing_of(&a.uri, a.range.start), enclosing_of(&b.uri, b.range.start)) {
                        (Some(x), Some(y)) if x == y => {
                            Some((ConflictKind::SameSymbol, format!("different edits to {x}")))
                        }
                        _ => None,
                    }
                };
                let Some((k, w)) = this else { continue };
                if kind.is_none() || k == ConflictKind::OverlappingEdits {
                    if kind != Some(ConflictKind::OverlappingEdits) {
                        what = w;
                    }
                    kind = Some(k);
                }
                if !mine.contains(&i) {
                    mine.push(i);
                }
                if !theirs.contains(&j) {
                    theirs.push(j);
                }
            }
        }
        let Some(kind) = kind else { continue };
        let support = |edits: &[usize], of: &StepRecord| -> usize {
            let all = live.lock().steps.clone();
            let mut keys: Vec<&str> = all
                .iter()
                .filter(|r| r.status == StepStatus::Succeeded && r.key != of.key && r.step != of.step)
                .filter(|r| edits.iter().all(|&i| r.edits.contains(&of.edits[i])))
                .map(|r| r.key.as_str())
                .collect();
            keys.dedup();
            keys.len()
        };
        let parties = vec![
            Party {
                key: other.key.clone(),
                agent: other.agent.clone(),
                position: theirs.iter().map(|&j| describe(&other.edits[j])).collect::<Vec<_>>().join("; "),
                supporters: support(&theirs, &other),
                edits: theirs,
            },
            Party {
                key: record.key.clone(),
                agent: record.agent.clone(),
                position: mine.iter().map(|&i| describe(&record.edits[i])).collect::<Vec<_>>().join("; "),
                supporters: support(&mine, record),
                edits: mine,
            },
        ];
        settle(orch, live, kind, what, parties).await;
    }
}

/// The class of a verdict: `approve` or `changes requested (3 errors)` are
/// different positions; two counts of errors are not.
fn stance(text: &str) -> String {
    text.split(" (").next().unwrap_or(text).trim().to_lowercase()
}

/// A decision just posted against the others with the same key.
pub async fn check_decision(orch: &Arc<Orchestrator>, live: &Arc<Live>, entry: &BoardEntry) {
    if entry.agent == "paired" {
        return;
    }
    let board = live.lock().board.clone();
    let base = |step: &str| step.split(['#', '[']).next().unwrap_or(step).to_owned();
    // Each other step's latest stance on this key.
    let mut latest: Vec<&BoardEntry> = Vec::new();
    for e in board.iter().rev() {
        if e.kind == protocol::workflows::BoardKind::Decision
            && e.key == entry.key
            && e.agent != "paired"
            && base(&e.step) != base(&entry.step)
            && !latest.iter().any(|l| base(&l.step) == base(&e.step))
        {
            latest.push(e);
        }
    }
    let Some(opposed) = latest.iter().find(|e| stance(&e.text) != stance(&entry.text)) else { return };
    let count = |text: &str| latest.iter().filter(|e| stance(&e.text) == stance(text)).count();
    let kind = if entry.key.starts_with("verdict:") { ConflictKind::Verdict } else { ConflictKind::Decision };
    let subject =
        entry.key.strip_prefix("verdict:").map_or(entry.key.clone(), |s| s.rsplit('/').next().unwrap_or(s).to_owned());
    let what = format!("contradictory {kind}s on {subject}: {:?} vs {:?}", opposed.text, entry.text);
    let parties = vec![
        Party {
            key: opposed.step.clone(),
            agent: opposed.agent.clone(),
            position: opposed.text.clone(),
            edits: Vec::new(),
            supporters: count(&opposed.text).saturating_sub(1),
        },
        Party {
            key: entry.step.clone(),
            agent: entry.agent.clone(),
            position: entry.text.clone(),
            edits: Vec::new(),
            supporters: count(&entry.text),
        },
    ];
    settle(orch, live, kind, what, parties).await;
}

/// The edits a recorded conflict dropped, as (step key, index).
pub fn rejected_edits(record: &ConflictRecord) -> Vec<(String, usize)> {
    record
        .dropped_edits
        .iter()
        .filter_map(|d| d.rsplit_once('@').and_then(|(k, i)| i.parse().ok().map(|i| (k.to_owned(), i))))
        .collect()
}

async fn settle(orch: &Arc<Orchestrator>, live: &Arc<Live>, kind: ConflictKind, what: String, parties: Vec<Party>) {
    let id = format!("conflict-{}", live.lock().conflicts.len() + 1);
    let policy = live.policy.clone();
    let mut record = ConflictRecord {
        id: id.clone(),
        kind,
        what: what.clone(),
        parties: parties.iter().map(|p| p.key.clone()).collect(),
        strategy: policy.strategy.name().to_owned(),
        resolution: "pending".into(),
        winner: None,
        reasons: String::new(),
        options: Vec::new(),
        dropped_edits: Vec::new(),
    };
    live.lock().conflicts.push(record.clone());
    let (strategy, winner, reasons) = decide(orch, live, &policy, &id, kind, &what, &parties).await;
    record.strategy = if strategy == policy.strategy {
        strategy.name().to_owned()
    } else {
        format!("{} (fallback {})", policy.strategy.name(), strategy.name())
    };
    resolve(&mut record, winner, &parties);
    record.reasons = reasons.join("; ");
    keep(orch, live, &record, &parties).await;
}

/// The policy's strategy, then its fallback (then priority) while one cannot
/// decide: the strategy that decided, the winner (`None`: every side is
/// kept), and the reasons given on the way.
async fn decide(
    orch: &Arc<Orchestrator>,
    live: &Arc<Live>,
    policy: &Policy,
    id: &str,
    kind: ConflictKind,
    what: &str,
    parties: &[Party],
) -> (Strategy, Option<usize>, Vec<String>) {
    let mut strategy = policy.strategy;
    let mut reasons: Vec<String> = Vec::new();
    let winner: Option<usize> = loop {
        let outcome = match strategy {
            Strategy::Priority => Ok(Some(by_priority(&policy.priority, parties, &mut reasons))),
            Strategy::Vote => by_vote(parties, &mut reasons),
            Strategy::Merge => {
                if kind == ConflictKind::SameSymbol {
                    reasons.push("the edits do not overlap: both are kept".into());
                    Ok(None)
                } else {
                    Err(format!("merge cannot keep both sides of {}", kind.name().replace('_', " ")))
                }
            }
            Strategy::Arbiter => by_arbiter(orch, live, &policy.arbiter, kind, what, parties, &mut reasons).await,
            Strategy::Ask => {
                let secs = policy.ask_timeout_secs;
                by_user(orch, live, id, what, parties, secs, &mut reasons).await
            }
        };
        match outcome {
            Ok(winner) => break winner,
            Err(why) if strategy != policy.fallback => {
                reasons.push(format!("{why}; falling back to {}", policy.fallback.name()));
                strategy = policy.fallback;
            }
            Err(why) => {
                reasons.push(format!("{why}; falling back to priority"));
                strategy = Strategy::Priority;
            }
        }
    };
    (strategy, winner, reasons)
}

/// Writes the outcome on the record: who stands over whom, and the losers'
/// contested edits as dropped.
fn resolve(record: &mut ConflictRecord, winner: Option<usize>, parties: &[Party]) {
    match winner {
        Some(w) => {
            let win = &parties[w];
            record.winner = Some(win.key.clone());
            for (_, party) in parties.iter().enumerate().filter(|(i, _)| *i != w) {
                for &edit in &party.edits {
                    record.dropped_edits.push(format!("{}@{edit}", party.key));
                }
            }
            let losers: Vec<String> = parties
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != w)
                .map(|(_, p)| format!("{} ({})", p.agent, p.key))
                .collect();
            record.resolution =
                format!("{} ({}) stands: {}; over {}", win.agent, win.key, win.position, losers.join(", "));
        }
        None => record.resolution = "merged: every side is kept".into(),
    }
}

/// A settled conflict, kept: its dropped edits out of the running, the
/// record in memory and on disk, and a decision on the board.
async fn keep(orch: &Arc<Orchestrator>, live: &Arc<Live>, record: &ConflictRecord, parties: &[Party]) {
    let id = &record.id;
    {
        let mut rejected = live.rejected.lock().unwrap_or_else(|p| p.into_inner());
        for (key, index) in rejected_edits(record) {
            rejected.insert((key, index));
        }
    }
    {
        let mut state = live.lock();
        if let Some(slot) = state.conflicts.iter_mut().find(|c| &c.id == id) {
            *slot = record.clone();
        }
    }
    if let Err(err) = save_conflict(orch, live, record).await {
        tracing::error!("cannot record a conflict: {err:#}");
    }
    let entry = BoardEntry {
        kind: protocol::workflows::BoardKind::Decision,
        key: id.clone(),
        text: format!("{} — {} ({})", record.what, record.resolution, record.reasons),
        agent: "paired".into(),
        step: parties.last().map(|p| p.key.clone()).unwrap_or_default(),
        at_ms: now_ms(),
    };
    if let Err(err) = post(orch, live, entry).await {
        tracing::error!("cannot record a board entry: {err:#}");
    }
}

fn rank(priority: &[String], agent: &str) -> usize {
    priority.iter().position(|p| p.eq_ignore_ascii_case(agent)).unwrap_or(priority.len())
}

fn by_priority(priority: &[String], parties: &[Party], reasons: &mut Vec<String>) -> usize {
    let best = (0..parties.len()).min_by_key(|&i| (rank(priority, &parties[i].agent), i)).unwrap_or(0);
    let ranks: Vec<String> = parties.iter().map(|p| format!("{} #{}", p.agent, rank(priority, &p.agent) + 1)).collect();
    reasons.push(format!("priority order [{}]: {}", priority.join(", "), ranks.join(" vs ")));
    best
}

fn by_vote(parties: &[Party], reasons: &mut Vec<String>) -> Result<Option<usize>, String> {
    let votes: Vec<usize> = parties.iter().map(|p| 1 + p.supporters).collect();
    let tally: Vec<String> = parties.iter().zip(&votes).map(|(p, v)| format!("{} {v}", p.agent)).collect();
    let top = votes.iter().copied().max().unwrap_or(0);
    let leaders: Vec<usize> = (0..parties.len()).filter(|&i| votes[i] == top).collect();
    if leaders.len() == 1 {
        reasons.push(format!("vote: {}", tally.join(" vs ")));
        Ok(Some(leaders[0]))
    } else {
        Err(format!("the vote is tied ({})", tally.join(" vs ")))
    }
}

/// The arbiter agent decides: its model when it has one, else its routing
/// rules (the side whose agent Alex would send this kind of question to).
async fn by_arbiter(
    orch: &Arc<Orchestrator>,
    live: &Arc<Live>,
    arbiter: &str,
    kind: ConflictKind,
    what: &str,
    parties: &[Party],
    reasons: &mut Vec<String>,
) -> Result<Option<usize>, String> {
    let roster = orch.runs.roster(live.project.as_deref());
    let agent = roster.resolve(arbiter).ok_or_else(|| format!("no arbiter agent {arbiter:?}"))?;
    let options: Vec<String> = parties
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}. {} ({}): {}", i + 1, p.agent, p.key, p.position))
        .collect();
    if orch.env().provider_name(agent).is_some() {
        let prompt = format!(
            "Two agents disagree: {what}.\n\n{}\n\nAnswer with the number of the option that should stand, then one sentence why.",
            options.join("\n")
        );
        let params = RunParams {
            agent: agent.manifest.id.clone(),
            skill: Some("ask".into()),
            uri: None,
            position: None,
            range: None,
            prompt: Some(prompt),
            workspace: live.snapshot().params.workspace,
            wait: false,
            max_tokens: None,
        };
        let run =
            live.run_for_session(orch, params).await.map_err(|err| format!("the arbiter could not run: {err}"))?;
        if run.status != RunStatus::Succeeded {
            return Err(format!("the arbiter's run failed: {}", run.error.unwrap_or_default()));
        }
        let choice = run
            .output
            .split(|c: char| !c.is_ascii_digit())
            .find_map(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=parties.len()).contains(n))
            .ok_or_else(|| {
                format!("the arbiter's answer names no option: {:?}", run.output.chars().take(120).collect::<String>())
            })?;
        reasons.push(format!("{} (model) chose option {choice}: {}", agent.manifest.metadata.name, run.output.trim()));
        return Ok(Some(choice - 1));
    }
    // Offline: route the question as Alex routes requests.
    let sides: Vec<String> =
        parties.iter().map(|p| p.key.split(['#', '[']).next().unwrap_or(&p.key).to_owned()).collect();
    let question = match kind {
        ConflictKind::Verdict => format!("review quality verdict: {what}"),
        _ => format!("{} {what}", sides.join(" ")),
    };
    let routed = agents::skills::route::route(&question);
    let order: Vec<&str> = routed.iter().map(|(a, _)| a.as_str()).collect();
    let pick = order.iter().find_map(|agent| parties.iter().position(|p| p.agent.eq_ignore_ascii_case(agent)));
    match pick {
        Some(i) => {
            reasons.push(format!(
                "{} (offline) routes this question to [{}]: {} decides",
                agent.manifest.metadata.name,
                order.join(", "),
                parties[i].agent
            ));
            Ok(Some(i))
        }
        None => Err(format!("{} routes this question to none of the parties", agent.manifest.metadata.name)),
    }
}

/// Asks the user through the editor and waits (at most `secs`).
async fn by_user(
    orch: &Arc<Orchestrator>,
    live: &Arc<Live>,
    id: &str,
    what: &str,
    parties: &[Party],
    secs: u64,
    reasons: &mut Vec<String>,
) -> Result<Option<usize>, String> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    live.decisions.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), answer);
    let snapshot = {
        let mut state = live.lock();
        state.status = SessionStatus::Waiting;
        state.clone()
    };
    if let Err(err) = set_status(orch, &snapshot).await {
        tracing::error!(session = %live.id, "cannot record that the session waits for the user: {err:#}");
    }
    send_update(orch, live, None, Some(format!("waiting for the user to decide: {what}")));
    let options: Vec<String> = parties.iter().map(|p| format!("{}: {}", p.agent, p.position)).collect();
    // On the record too: a client that missed the event finds the question there.
    let pending = {
        let mut state = live.lock();
        let record = state.conflicts.iter_mut().find(|c| c.id == id);
        record.map(|r| {
            r.options = options.clone();
            r.clone()
        })
    };
    if let Some(pending) = pending
        && let Err(err) = save_conflict(orch, live, &pending).await
    {
        tracing::error!(session = %live.id, "cannot record the question put to the user: {err:#}");
    }
    orch.env().send_event(Event::Choice {
        session_id: live.id.clone(),
        conflict_id: id.to_owned(),
        question: format!("The agents disagree: {what}. Which should stand?"),
        options,
    });
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(secs), answered).await;
    live.decisions.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    let snapshot = {
        let mut state = live.lock();
        state.status = SessionStatus::Running;
        state.clone()
    };
    if let Err(err) = set_status(orch, &snapshot).await {
        tracing::error!(session = %live.id, "cannot record that the session runs again: {err:#}");
    }
    send_update(orch, live, None, Some("decided; continuing".into()));
    match outcome {
        Ok(Ok(choice)) => {
            let i = choice as usize;
            reasons.push(format!("the user chose {} ({})", parties[i].agent, parties[i].key));
            Ok(Some(i))
        }
        _ => Err(format!("no answer from the user within {secs}s")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(a: (u32, u32), b: (u32, u32)) -> Range {
        Range { start: Position { line: a.0, character: a.1 }, end: Position { line: b.0, character: b.1 } }
    }

    #[test]
    fn ranges_overlap_as_editors_apply_them() {
        assert!(overlap(&range((1, 0), (3, 0)), &range((2, 0), (4, 0))));
        assert!(!overlap(&range((1, 0), (2, 0)), &range((2, 0), (3, 0))), "touching is not overlapping");
        assert!(overlap(&range((2, 0), (2, 0)), &range((2, 0), (2, 0))), "two inserts at one point");
        assert!(overlap(&range((2, 4), (2, 4)), &range((2, 0), (3, 0))), "an insert inside a replacement");
        assert!(!overlap(&range((1, 0), (1, 0)), &range((2, 0), (3, 0))));
    }

    #[test]
    fn stances_ignore_counts() {
        assert_eq!(stance("changes requested (2 errors)"), stance("changes requested (5 errors)"));
        assert_ne!(stance("approve"), stance("changes requested (1 errors)"));
    }

    fn party(agent: &str, supporters: usize) -> Party {
        Party { key: agent.into(), agent: agent.into(), position: String::new(), edits: Vec::new(), supporters }
    }

    #[test]
    fn priority_and_vote() {
        let priority: Vec<String> = ["sherlock", "edison"].iter().map(|s| (*s).to_owned()).collect();
        let mut reasons = Vec::new();
        assert_eq!(by_priority(&priority, &[party("edison", 0), party("sherlock", 0)], &mut reasons), 1);
        assert_eq!(by_priority(&priority, &[party("maya", 0), party("vince", 0)], &mut reasons), 0, "unranked: first");
        assert_eq!(by_vote(&[party("a", 0), party("b", 1)], &mut reasons), Ok(Some(1)));
        assert_eq!(by_vote(&[party("a", 0), party("b", 0)], &mut reasons), Err("the vote is tied (a 1 vs b 1)".into()));
    }
}
