//! A model's edits, tried before they are proposed (#16.4, #16.9: no proposed
//! edit breaks the build or the project's tests). The project's own tools
//! (its checkers and test runners, `checks::detect`) run in the sandbox on a
//! copy of the project as it is — once per run, the baseline — and then on a
//! copy with every edit the run has proposed so far. An edit after which a
//! tool no longer runs, a test fails that did not, fewer tests pass, or a
//! checker reports a new error in an edited file is not proposed: the model
//! reads what broke, in the tool's words, and may propose it corrected.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use agents::toolchain::Purpose;
use protocol::agents::{Severity, TextEdit};

use super::env::Env;
use crate::{
    platform::uri,
    services::{
        checks::{self, Scratch, ToolRun},
        workspace::Workspace,
    },
};

/// One trial at a time: they share the project's copy and its build folder.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a run's trials keep between its edits: the baseline.
#[derive(Debug, Default)]
pub(super) struct Trials {
    baseline: Option<Vec<Seen>>,
}

/// One tool's run, as the comparison needs it.
#[derive(Debug)]
struct Seen {
    tool: &'static str,
    /// It ran and its output was read (a checker with findings may exit non-zero).
    ran: bool,
    failure: Option<String>,
    /// Failing tests: name and first line of what failed.
    failing: Vec<(String, String)>,
    passed: Option<u32>,
    findings: Vec<Found>,
}

#[derive(Debug, Clone)]
struct Found {
    path: String,
    rule: String,
    message: String,
    severity: Severity,
}

impl Seen {
    fn of(run: ToolRun) -> Seen {
        let failing = run.results.as_ref().map_or_else(Vec::new, |results| {
            results
                .failures
                .iter()
                .map(|f| (f.name.clone(), f.message.lines().next().unwrap_or("it failed").to_owned()))
                .collect()
        });
        Seen {
            tool: run.tool.name,
            ran: run.ran.is_ok() && run.failure.is_none(),
            failure: match &run.ran {
                Err(err) => Some(err.clone()),
                Ok(_) => run.failure.clone(),
            },
            failing,
            passed: run.results.as_ref().map(|r| r.passed),
            findings: run
                .findings
                .into_iter()
                // Failing tests are compared by name, above.
                .filter(|f| !f.rule.ends_with(":failing-test"))
                .map(|f| Found { path: f.path, rule: f.rule, message: f.message, severity: f.severity })
                .collect(),
        }
    }
}

/// Tries `edits` (every edit of the run so far, the new one last) on a copy
/// of `workspace`'s project: what ran, or why the last edit is refused.
pub(super) async fn try_edits(
    env: &Env,
    workspace: &Workspace,
    edits: &[TextEdit],
    trials: &mut Trials,
) -> Result<String, String> {
    let root = &workspace.root;
    let changed = changed_files(workspace, edits)?;
    let config = &env.config.sandbox;
    if !config.try_edits || !config.project_tools {
        let off = if config.project_tools { "sandbox.try_edits" } else { "sandbox.project_tools" };
        return Ok(format!("not tried: trying edits with the project's tools is off ({off} = false)"));
    }
    let tools: Vec<_> = [Purpose::Check, Purpose::Test].into_iter().flat_map(|p| checks::detect(root, p)).collect();
    if tools.is_empty() {
        return Ok("not tried: PAIRED found no checker or test runner of this project to try it with".into());
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let scratch = match Scratch::for_project(&env.paths, root) {
        Ok(scratch) => scratch,
        Err(err) => return Ok(format!("not tried: no scratch folder: {err}")),
    };
    let copy = scratch.dir.join("edits");
    // Where the copy cannot be made or the tools cannot start, the edit is
    // proposed as not tried, saying why: the user reviews it as it is.
    let baseline = match trials.baseline.take() {
        Some(baseline) => baseline,
        None => match run_all(env, root, &copy, &tools, &[]).await {
            Ok(baseline) => baseline,
            Err(why) => return Ok(why),
        },
    };
    let verdict = match run_all(env, root, &copy, &tools, &changed).await {
        Ok(after) => judge(&baseline, &after, &changed.iter().map(|(rel, _)| rel.clone()).collect::<Vec<_>>()),
        Err(why) => Ok(why),
    };
    trials.baseline = Some(baseline);
    verdict
}

/// The files `edits` change, each with its text after all of its edits
/// (ranges of the file as it is, as an editor applies a workspace edit).
fn changed_files(workspace: &Workspace, edits: &[TextEdit]) -> Result<Vec<(String, String)>, String> {
    let mut by_file: Vec<(String, Vec<&TextEdit>)> = Vec::new();
    for edit in edits {
        let rel = uri::to_path(&edit.uri)
            .and_then(|path| workspace.relative(&path))
            .ok_or_else(|| "the edit is not of a file of the workspace".to_owned())?;
        match by_file.iter_mut().find(|(r, _)| *r == rel) {
            Some((_, list)) => list.push(edit),
            None => by_file.push((rel, vec![edit])),
        }
    }
    let mut changed = Vec::new();
    for (rel, mut list) in by_file {
        let before = std::fs::read_to_string(workspace.root.join(&rel)).unwrap_or_default();
        list.sort_by_key(|e| (e.range.start.line, e.range.end.line));
        for pair in list.windows(2) {
            if pair[1].range.start.line < pair[0].range.end.line {
                let (a, b) = (&pair[0].range, &pair[1].range);
                return Err(format!(
                    "lines {}-{} and {}-{} of {rel} overlap: one of them was proposed before; to change it, \
                     propose the same lines again, whole",
                    a.start.line + 1,
                    a.end.line,
                    b.start.line + 1,
                    b.end.line
                ));
            }
        }
        changed.push((rel, apply(&before, &list)));
    }
    Ok(changed)
}

/// `text` with whole-line `edits` (sorted, not overlapping) applied.
fn apply(text: &str, edits: &[&TextEdit]) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut next = 0usize;
    for edit in edits {
        let (start, end) = (edit.range.start.line as usize, edit.range.end.line as usize);
        let start = start.min(lines.len());
        out.extend(lines[next.min(start)..start].iter().copied());
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&edit.new_text);
        next = end.max(start).min(lines.len());
    }
    out.extend(lines[next..].iter().copied());
    out
}

/// Every tool on a fresh copy of the project with `changed` written over it:
/// checkers first (the test runs write in the copy).
async fn run_all(
    env: &Env,
    root: &Path,
    copy: &Path,
    tools: &[agents::toolchain::Tool],
    changed: &[(String, String)],
) -> Result<Vec<Seen>, String> {
    let made = tokio::task::spawn_blocking({
        let (root, copy, changed) = (root.to_path_buf(), copy.to_path_buf(), changed.to_vec());
        move || -> std::io::Result<()> {
            checks::copy_project(&root, &copy)?;
            for (rel, text) in &changed {
                write_in_copy(&copy, rel, text)?;
            }
            Ok(())
        }
    })
    .await;
    match made {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(format!("not tried: the project could not be copied to try it: {err}")),
        Err(err) => return Err(format!("not tried: the copy stopped: {err}")),
    }
    let mut seen = Vec::new();
    for tool in tools {
        let run = checks::run_tool_in(&env.paths, &env.config.sandbox, root, tool.clone(), Some(copy)).await;
        seen.push(Seen::of(run));
    }
    Ok(seen)
}

/// Writes `rel` in the copy, never through a link: the copy links the
/// project's installed dependencies (`node_modules`), which are the user's.
fn write_in_copy(copy: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let path: PathBuf = copy.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
        let mut at = parent;
        while at != copy {
            if std::fs::symlink_metadata(at)?.file_type().is_symlink() {
                return Err(std::io::Error::other(format!("{rel} is under a link in the copy")));
            }
            at = at.parent().unwrap_or(copy);
        }
    }
    match std::fs::remove_file(&path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())
}

/// What the edits changed in what the tools say: `Err` with what broke.
fn judge(before: &[Seen], after: &[Seen], edited: &[String]) -> Result<String, String> {
    let mut broke = Vec::new();
    let mut said = Vec::new();
    for (before, after) in before.iter().zip(after) {
        let tool = after.tool;
        if !before.ran {
            let why = before.failure.as_deref().unwrap_or("it failed");
            said.push(format!(
                "{tool} did not run on the project as it is either ({why}), so it did not judge the edit"
            ));
            continue;
        }
        if !after.ran {
            let why = after.failure.clone().unwrap_or_else(|| "it failed".into());
            broke.push(format!("{tool} no longer runs: {why}"));
            continue;
        }
        let new_failures: Vec<String> = after
            .failing
            .iter()
            .filter(|(name, _)| !before.failing.iter().any(|(b, _)| b == name))
            .map(|(name, said)| format!("{tool}: `{name}` fails: {said}"))
            .collect();
        let fewer = match (before.passed, after.passed) {
            (Some(b), Some(a)) if a < b && new_failures.is_empty() => {
                Some(format!("{tool}: {a} tests pass, {b} passed before (tests no longer run)"))
            }
            _ => None,
        };
        broke.extend(new_failures);
        broke.extend(fewer);
        let (errors, others) = new_findings(before, after, edited);
        broke.extend(errors.iter().map(|f| format!("{tool} reports in {}: [{}] {}", f.path, f.rule, f.message)));
        let passed = after.passed.map(|p| format!("{p} tests pass"));
        match (passed, others.len()) {
            (Some(passed), _) => said.push(format!("{tool}: {passed}")),
            (None, 0) => said.push(format!("{tool}: nothing new in the edited files")),
            (None, n) => said.push(format!(
                "{tool}: {n} new finding(s) in the edited files, not errors: {}",
                others.iter().take(3).map(|f| format!("[{}] {}", f.rule, f.message)).collect::<Vec<_>>().join("; ")
            )),
        }
    }
    if broke.is_empty() {
        Ok(format!("tried on a copy of the project with the run's edits: {}", said.join("; ")))
    } else {
        Err(format!(
            "the edit was tried on a copy of the project with the run's edits and breaks it: {}. It is not proposed; correct it and propose it again",
            broke.join("; ")
        ))
    }
}

/// Findings in the edited files that were not there before (by file, rule
/// and message: the lines moved), split into errors and the rest.
fn new_findings(before: &Seen, after: &Seen, edited: &[String]) -> (Vec<Found>, Vec<Found>) {
    let key = |f: &Found| (f.path.clone(), f.rule.clone(), f.message.clone());
    let mut had: HashMap<(String, String, String), usize> = HashMap::new();
    for found in &before.findings {
        *had.entry(key(found)).or_default() += 1;
    }
    let mut new = Vec::new();
    for found in after.findings.iter().filter(|f| edited.contains(&f.path)) {
        match had.get_mut(&key(found)) {
            Some(n) if *n > 0 => *n -= 1,
            _ => new.push(found.clone()),
        }
    }
    new.into_iter().partition(|f| f.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use protocol::documents::{Position, Range};

    use super::*;

    fn edit(start: u32, end: u32, text: &str) -> TextEdit {
        let at = |line| Position { line, character: 0 };
        TextEdit {
            uri: "file:///p/a.py".into(),
            range: Range { start: at(start), end: at(end) },
            new_text: text.into(),
        }
    }

    #[test]
    fn edits_apply_to_the_file_as_it_is_replacing_and_inserting_whole_lines() {
        let text = "a\nb\nc\nd\n";
        let (replace, insert) = (edit(1, 2, "B\n"), edit(3, 3, "x\ny\n"));
        assert_eq!(apply(text, &[&replace, &insert]), "a\nB\nc\nx\ny\nd\n");
        assert_eq!(apply(text, &[&edit(4, 4, "e\n")]), "a\nb\nc\nd\ne\n", "appended");
        assert_eq!(apply("a\nb", &[&edit(2, 2, "c\n")]), "a\nb\nc\n", "after a last line without newline");
        assert_eq!(apply("", &[&edit(0, 0, "new\n")]), "new\n", "a new file");
    }

    fn seen(ran: bool, failing: &[&str], passed: Option<u32>, findings: &[(&str, &str, Severity)]) -> Seen {
        Seen {
            tool: "t",
            ran,
            failure: (!ran).then(|| "error[E0425]: cannot find value `x`".into()),
            failing: failing.iter().map(|n| ((*n).to_owned(), "assert 1 == 2".to_owned())).collect(),
            passed,
            findings: findings
                .iter()
                .map(|(path, rule, severity)| Found {
                    path: (*path).into(),
                    rule: (*rule).into(),
                    message: "m".into(),
                    severity: *severity,
                })
                .collect(),
        }
    }

    #[test]
    fn an_edit_breaks_the_project_when_a_tool_stops_running_a_test_fails_or_an_error_appears_in_it() {
        let edited = vec!["a.py".to_owned()];
        let judged = |before: Seen, after: Seen| judge(&[before], &[after], &edited);
        assert!(judged(seen(true, &[], Some(3), &[]), seen(true, &[], Some(4), &[])).is_ok());
        let broke = judged(seen(true, &[], None, &[]), seen(false, &[], None, &[])).expect_err("broken");
        assert!(broke.contains("t no longer runs: error[E0425]"), "{broke}");
        let broke =
            judged(seen(true, &["old"], Some(3), &[]), seen(true, &["old", "new"], Some(3), &[])).expect_err("broken");
        assert!(
            broke.contains("`new` fails") && !broke.contains("`old`"),
            "a test failing before is not the edit's: {broke}"
        );
        let broke = judged(seen(true, &[], Some(5), &[]), seen(true, &[], Some(2), &[])).expect_err("broken");
        assert!(broke.contains("2 tests pass, 5 passed before"), "{broke}");
        let error = ("a.py", "ruff:F821", Severity::Error);
        let broke = judged(seen(true, &[], None, &[]), seen(true, &[], None, &[error])).expect_err("broken");
        assert!(broke.contains("[ruff:F821]"), "{broke}");
        // The same error before the edit, another file's, or a warning: not the edit's doing.
        assert!(judged(seen(true, &[], None, &[error]), seen(true, &[], None, &[error])).is_ok());
        assert!(
            judged(seen(true, &[], None, &[]), seen(true, &[], None, &[("b.py", "ruff:F821", Severity::Error)]))
                .is_ok()
        );
        let said =
            judged(seen(true, &[], None, &[]), seen(true, &[], None, &[("a.py", "ruff:E501", Severity::Warning)]));
        assert!(
            said.as_ref().is_ok_and(|s| s.contains("1 new finding(s) in the edited files, not errors")),
            "{said:?}"
        );
        // A tool that did not run before cannot judge.
        let said = judged(seen(false, &[], None, &[]), seen(false, &[], None, &[])).expect("not judged");
        assert!(said.contains("did not run on the project as it is either"), "{said}");
    }
}
