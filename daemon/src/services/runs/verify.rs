//! A model's edits, tried before they are proposed (#16.4, #16.9: no proposed
//! edit breaks the build or the project's tests). At a run's first edit the
//! project is copied once (the base: what the run's edits are of), where no
//! sandbox writes. Each trial is a fresh copy of the base with every edit the
//! run proposes so far, on which the project's own checkers and test runners
//! (`checks::detect`) run in the sandbox. A trial where everything ran, no
//! test failed and no checker reported an error passes as it is; otherwise
//! the same tools run on the base too (once per run) and the edit is refused
//! when, against it, a tool no longer runs, a test fails that did not (twice:
//! a flaky one is not the edit's), or a checker reports a new error (a new
//! warning in an edited file is said, not refused). The model reads what
//! broke, in the tools' words, and may correct it.

use std::path::{Path, PathBuf};

use agents::toolchain::{Purpose, Tool};
use protocol::agents::{Severity, TextEdit};

use super::env::Env;
use crate::{
    platform::{os::sandbox::Exit, uri},
    services::{
        checks::{self, ToolRun},
        documents::apply_edits,
        workspace::Workspace,
    },
};

/// One trial at a time: the machine's cores, and the project's build folder.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Failures and errors quoted per tool; the rest are counted.
const SHOWN: usize = 5;

/// A file the trials read or write is at most this large.
const MAX_FILE_BYTES: u64 = 8 << 20;

/// What a run's trials keep between its edits.
#[derive(Debug, Default)]
pub(super) struct Trials {
    base: Option<Base>,
    /// Why there is no base (said again, not tried again).
    no_base: Option<String>,
    /// The tools on the base, once a trial needed them.
    baseline: Option<Vec<Seen>>,
    trials: u32,
}

/// Whether edits are tried at all (`sandbox.try_edits`, `sandbox.project_tools`).
pub(super) fn enabled(env: &Env) -> bool {
    env.config.sandbox.try_edits && env.config.sandbox.project_tools
}

/// The run's copy of the project and the tools it has; removed with the run.
#[derive(Debug)]
struct Base {
    /// Holds `base/` and the trials' copies, outside every scratch space.
    dir: PathBuf,
    tools: Vec<Tool>,
}

impl Base {
    fn copy(&self) -> PathBuf {
        self.dir.join("base")
    }
}

impl Drop for Base {
    fn drop(&mut self) {
        let dir = self.dir.clone();
        let _ = std::thread::Builder::new().name("paired-trials".into()).spawn(move || {
            let _ = std::fs::remove_dir_all(dir);
        });
    }
}

/// A trial's outcome: whether the edits pass, and what to say of it — whole
/// (the tools' own words), or brief, for a model that may not read every
/// file the tools report on.
#[derive(Debug)]
pub(super) struct Verdict {
    pub passed: bool,
    pub detail: String,
    pub brief: String,
}

impl Verdict {
    fn untried(why: String) -> Verdict {
        Verdict { passed: true, detail: format!("not tried: {why}"), brief: format!("not tried: {why}") }
    }
}

/// Tries `edits` (every edit of the run, the new ones last) on a copy of
/// `workspace`'s project. `Err`: the edits cannot be applied at all.
pub(super) async fn try_edits(
    env: &Env,
    workspace: &Workspace,
    edits: &[TextEdit],
    trials: &mut Trials,
) -> Result<Verdict, String> {
    let config = &env.config.sandbox;
    if !enabled(env) {
        let off = if config.project_tools { "sandbox.try_edits" } else { "sandbox.project_tools" };
        return Ok(Verdict::untried(format!("trying edits with the project's tools is off ({off} = false)")));
    }
    if let Some(why) = &trials.no_base {
        return Ok(Verdict::untried(why.clone()));
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    if trials.base.is_none() {
        match make_base(env, &workspace.root).await {
            Ok(base) => trials.base = Some(base),
            Err(why) => {
                trials.no_base = Some(why.clone());
                return Ok(Verdict::untried(why));
            }
        }
    }
    let Some(base) = &trials.base else { unreachable!("made above") };
    let changed = changed_files(workspace, &base.copy(), edits).await?;
    trials.trials += 1;
    let trial = base.dir.join(format!("trial-{}", trials.trials));
    let verdict = match run_all(env, &workspace.root, base, &trial, &changed).await {
        Err(why) => Verdict::untried(why),
        Ok(after) if after.iter().all(Seen::clean) => judge(None, &after, &changed),
        Ok(mut after) => {
            if trials.baseline.is_none() {
                let on_base = base.dir.join("baseline");
                match run_all(env, &workspace.root, base, &on_base, &[]).await {
                    Ok(seen) => trials.baseline = Some(seen),
                    Err(why) => trials.no_base = Some(why),
                }
                remove(on_base).await;
            }
            match &trials.baseline {
                Some(baseline) => {
                    again_where_tests_failed(env, &workspace.root, base, &trial, baseline, &mut after).await;
                    judge(Some(baseline), &after, &changed)
                }
                None => Verdict::untried(trials.no_base.clone().unwrap_or_default()),
            }
        }
    };
    remove(trial).await;
    Ok(verdict)
}

/// The run's base: the tools, and a copy of the project in a folder of its
/// own (copies a daemon that is gone left behind are removed first).
async fn make_base(env: &Env, root: &Path) -> Result<Base, String> {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let trials = env.paths.data_dir.join("checks").join("trials");
    let dir = trials.join(format!("{}-{n}", std::process::id()));
    let made = tokio::task::spawn_blocking({
        let (root, dir) = (root.to_path_buf(), dir.clone());
        move || -> Result<Vec<Tool>, String> {
            remove_left_behind(&trials);
            let tools: Vec<Tool> =
                [Purpose::Check, Purpose::Test].into_iter().flat_map(|p| checks::detect(&root, p)).collect();
            if tools.is_empty() {
                return Err("PAIRED found no checker or test runner of this project to try it with".into());
            }
            checks::copy_project(&root, &dir.join("base"))
                .map_err(|err| format!("the project could not be copied to try it: {err}"))?;
            Ok(tools)
        }
    })
    .await;
    match made {
        Ok(Ok(tools)) => Ok(Base { dir, tools }),
        Ok(Err(why)) => {
            remove(dir).await;
            Err(why)
        }
        Err(err) => Err(format!("the copy stopped: {err}")),
    }
}

/// Trial folders (`<pid>-<n>`) of daemons that are gone.
fn remove_left_behind(trials: &Path) {
    let Ok(entries) = std::fs::read_dir(trials) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid != std::process::id() && !crate::platform::os::process_alive(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn remove(dir: PathBuf) {
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
}

/// The files `edits` change (workspace-relative), each with its text after
/// all of its edits, applied to the base's copy as an editor applies them.
async fn changed_files(
    workspace: &Workspace,
    base: &Path,
    edits: &[TextEdit],
) -> Result<Vec<(String, String)>, String> {
    let mut by_file: Vec<(String, Vec<TextEdit>)> = Vec::new();
    for edit in edits {
        let rel = uri::to_path(&edit.uri)
            .and_then(|path| workspace.relative(&path))
            .ok_or_else(|| "the edit is not of a file of the workspace".to_owned())?;
        if Path::new(&rel)
            .components()
            .next()
            .is_some_and(|first| checks::LINKED.iter().any(|l| first.as_os_str() == *l))
        {
            return Err(format!("{rel} is in the project's installed dependencies, which an edit does not change"));
        }
        match by_file.iter_mut().find(|(r, _)| *r == rel) {
            Some((_, list)) => list.push(edit.clone()),
            None => by_file.push((rel, vec![edit.clone()])),
        }
    }
    let base = base.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut changed = Vec::new();
        for (rel, list) in by_file {
            let before = read_text(&base.join(&rel), &rel)?;
            let after = apply_edits(&before, &list.iter().collect::<Vec<_>>()).ok_or_else(|| {
                format!(
                    "it overlaps an edit of {rel} proposed before; to change that edit, propose the same lines again, whole"
                )
            })?;
            changed.push((rel, after));
        }
        Ok(changed)
    })
    .await
    .map_err(|err| format!("the edit could not be applied: {err}"))?
}

/// A file of the copy as text: `""` when it does not exist (a new file); a
/// link, a FIFO, a file over [`MAX_FILE_BYTES`] or one that is not UTF-8 is refused.
fn read_text(path: &Path, rel: &str) -> Result<String, String> {
    let meta = match std::fs::symlink_metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(err) => return Err(format!("{rel} cannot be read: {err}")),
        Ok(meta) => meta,
    };
    if !meta.is_file() {
        return Err(format!("{rel} is not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("{rel} is larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    let bytes = std::fs::read(path).map_err(|err| format!("{rel} cannot be read: {err}"))?;
    String::from_utf8(bytes).map_err(|_| format!("{rel} is not UTF-8 text"))
}

/// Every tool on `copy`, a fresh copy of the base with `changed` written over
/// it: checkers first (the test runs write in the copy).
async fn run_all(
    env: &Env,
    root: &Path,
    base: &Base,
    copy: &Path,
    changed: &[(String, String)],
) -> Result<Vec<Seen>, String> {
    let made = tokio::task::spawn_blocking({
        let (from, copy, changed) = (base.copy(), copy.to_path_buf(), changed.to_vec());
        move || -> std::io::Result<()> {
            checks::copy_project(&from, &copy)?;
            for (rel, text) in &changed {
                write_in_copy(&copy, rel, text)?;
            }
            Ok(())
        }
    })
    .await;
    match made {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(format!("the copy to try it on could not be made: {err}")),
        Err(err) => return Err(format!("the copy stopped: {err}")),
    }
    let mut seen = Vec::new();
    for tool in &base.tools {
        let run = checks::run_tool_in(&env.paths, &env.config.sandbox, root, tool.clone(), Some(copy)).await;
        seen.push(Seen::of(run, copy));
    }
    Ok(seen)
}

/// A test runner whose tests failed in the trial and not on the base runs
/// once more: only failures seen both times are the edit's.
async fn again_where_tests_failed(
    env: &Env,
    root: &Path,
    base: &Base,
    trial: &Path,
    baseline: &[Seen],
    after: &mut [Seen],
) {
    for (i, tool) in base.tools.iter().enumerate() {
        let Some(before) = baseline.get(i) else { continue };
        if after[i].new_failures(before).next().is_none() {
            continue;
        }
        // In the same copy: what the first run left (caches) is what a
        // second run of the project's own would find too.
        let again = checks::run_tool_in(&env.paths, &env.config.sandbox, root, tool.clone(), Some(trial)).await;
        after[i].merge_again(Seen::of(again, trial));
    }
}

/// Writes `rel` in the copy, which the daemon made and no sandbox has
/// written to yet; never through a link (the copy links the project's
/// installed dependencies, which are the user's).
fn write_in_copy(copy: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let mut at = copy.to_path_buf();
    let parts: Vec<_> = Path::new(rel).components().collect();
    if parts.is_empty() || !parts.iter().all(|p| matches!(p, std::path::Component::Normal(_))) {
        return Err(std::io::Error::other(format!("{rel} is not a plain relative path")));
    }
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(std::io::Error::other(format!("{rel} is under a link or a file in the copy"))),
            Err(_) => std::fs::create_dir(&at)?,
        }
    }
    let path = copy.join(rel);
    match std::fs::remove_file(&path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())
}

/// One tool's run, as the comparison needs it.
#[derive(Debug)]
struct Seen {
    tool: &'static str,
    /// It ran to its end and its output was read (a checker with findings
    /// may exit non-zero).
    ran: bool,
    failure: Option<String>,
    /// Failing tests: name and the first line of what failed.
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

impl Found {
    /// What stays when lines move: the file, the rule and the message with
    /// its numbers blanked (`already defined on line 12`).
    fn key(&self) -> (String, String, String) {
        (self.path.clone(), self.rule.clone(), self.message.replace(|c: char| c.is_ascii_digit(), "#"))
    }
}

impl Seen {
    /// `run` on `copy`, whose paths in the tools' words are made the
    /// project's (relative): the same message from two copies is one.
    fn of(run: ToolRun, copy: &Path) -> Seen {
        let prefix = format!("{}/", copy.display());
        let own = |text: &str| text.replace(&prefix, "");
        let failing = run.results.as_ref().map_or_else(Vec::new, |results| {
            results
                .failures
                .iter()
                .map(|f| (test_name(&f.name), own(f.message.lines().next().unwrap_or("it failed"))))
                .collect()
        });
        let failure = match &run.ran {
            Err(err) => Some(own(err)),
            Ok((_, Exit::Stopped(why), _)) => Some(format!("it was stopped: {why}")),
            Ok((_, exit, _)) => run.failure.as_ref().map(|tail| format!("{} — {}", exit.describe(), own(tail))),
        };
        Seen {
            tool: run.tool.name,
            ran: failure.is_none(),
            failure,
            failing,
            passed: run.results.as_ref().map(|r| r.passed),
            findings: run
                .findings
                .into_iter()
                // Failing tests are compared by name, above.
                .filter(|f| !f.rule.ends_with(":failing-test"))
                .map(|f| Found { message: own(&f.message), path: f.path, rule: f.rule, severity: f.severity })
                .collect(),
        }
    }

    /// A second run of a test runner: a test failing only once was flaky.
    fn merge_again(&mut self, again: Seen) {
        if again.ran {
            self.failing.retain(|(name, _)| again.failing.iter().any(|(n, _)| n == name));
            self.passed = self.passed.max(again.passed);
        }
    }

    /// Ran, no test failed, no error reported: nothing to compare.
    fn clean(&self) -> bool {
        self.ran && self.failing.is_empty() && !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    fn new_failures<'a>(&'a self, before: &'a Seen) -> impl Iterator<Item = &'a (String, String)> {
        self.failing.iter().filter(|(name, _)| !before.failing.iter().any(|(b, _)| b == name))
    }
}

/// A test's name without what differs from run to run: an object's address
/// in a parametrized id (`test_x[<Obj at 0x7f3a9c21>]`, six hex digits or
/// more; `test_p[0x10]` stays).
fn test_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at + 2]);
        let after = &rest[at + 2..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len();
        if digits >= 6 {
            out.push('…');
        }
        rest = if digits >= 6 { &after[digits..] } else { after };
    }
    out.push_str(rest);
    out
}

/// The trial (`after`) against the base (`before`; `None` when the trial
/// was clean and needed none).
fn judge(before: Option<&[Seen]>, after: &[Seen], changed: &[(String, String)]) -> Verdict {
    let edited = |path: &str| changed.iter().any(|(rel, _)| rel == path);
    // What broke and what ran, in the tools' words and (brief) in counts.
    let (mut broke, mut broke_brief, mut said, mut said_brief) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let nothing = Seen { tool: "", ran: true, failure: None, failing: Vec::new(), passed: None, findings: Vec::new() };
    for (i, after) in after.iter().enumerate() {
        let tool = after.tool;
        let base = before.map(|b| b.get(i).unwrap_or(&nothing));
        if let Some(base) = base.filter(|b| !b.ran) {
            let why = base.failure.as_deref().unwrap_or("it failed");
            let not = format!("{tool} did not run on the project as it is either");
            said.push(format!("{not} ({why}), so it did not judge the edit"));
            said_brief.push(format!("{not}, so it did not judge the edit"));
            continue;
        }
        if !after.ran {
            let why = after.failure.as_deref().unwrap_or("it failed");
            broke.push(format!("{tool} no longer runs: {why}"));
            broke_brief.push(format!("{tool} no longer runs"));
            continue;
        }
        let base = base.unwrap_or(&nothing);
        let new_failures: Vec<_> = after.new_failures(base).collect();
        if !new_failures.is_empty() {
            broke_brief.push(format!("{tool}: {} test(s) that did not fail now fail", new_failures.len()));
        }
        // The first few in the tools' words: forty failures say no more than five.
        broke.extend(new_failures.iter().take(SHOWN).map(|(name, said)| format!("{tool}: `{name}` fails: {said}")));
        if new_failures.len() > SHOWN {
            broke.push(format!("{tool}: {} more test(s) that did not fail now fail", new_failures.len() - SHOWN));
        }
        let mut had: Vec<_> = base.findings.iter().map(Found::key).collect();
        let new: Vec<&Found> = after
            .findings
            .iter()
            .filter(|f| match had.iter().position(|k| *k == f.key()) {
                Some(at) => {
                    had.swap_remove(at);
                    false
                }
                None => true,
            })
            .collect();
        // An error anywhere (a caller the edit broke); a warning where the edit is.
        let (errors, others): (Vec<&Found>, Vec<&Found>) = new
            .into_iter()
            .filter(|f| f.severity == Severity::Error || edited(&f.path))
            .partition(|f| f.severity == Severity::Error);
        if !errors.is_empty() {
            broke_brief.push(format!("{tool}: {} new error(s)", errors.len()));
        }
        broke.extend(
            errors.iter().take(SHOWN).map(|f| format!("{tool} reports in {}: [{}] {}", f.path, f.rule, f.message)),
        );
        if errors.len() > SHOWN {
            broke.push(format!("{tool}: {} more new error(s)", errors.len() - SHOWN));
        }
        // Without a base run (the trial was clean), an edited file's
        // warnings may be old ones.
        let new = if before.is_some() { "new " } else { "" };
        let (line, brief) = match (after.passed, others.len()) {
            (Some(passed), _) => (format!("{tool}: {passed} tests pass"), format!("{tool}: {passed} tests pass")),
            (None, 0) => {
                let line = format!("{tool}: nothing {new}in the edited files");
                (line.clone(), line)
            }
            (None, n) => {
                let head = format!("{tool}: {n} {new}finding(s) in the edited files, not errors");
                let quoted = others.iter().take(3).map(|f| format!("[{}] {}", f.rule, f.message));
                (format!("{head}: {}", quoted.collect::<Vec<_>>().join("; ")), head)
            }
        };
        said.push(line);
        said_brief.push(brief);
    }
    let head = "tried on a copy of the project with the run's edits";
    if broke.is_empty() {
        Verdict {
            passed: true,
            detail: format!("{head}: {}", said.join("; ")),
            brief: format!("{head}: {}", said_brief.join("; ")),
        }
    } else {
        let tail = "It is not proposed; correct it and propose it again";
        Verdict {
            passed: false,
            detail: format!("{head}, it breaks it: {}. {tail}", broke.join("; ")),
            brief: format!("{head}, it breaks it: {}. {tail}", broke_brief.join("; ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(ran: bool, failing: &[&str], passed: Option<u32>, findings: &[(&str, &str, Severity)]) -> Seen {
        Seen {
            tool: "t",
            ran,
            failure: (!ran).then(|| "exit code 101 — error[E0425]: cannot find value `x`".into()),
            failing: failing.iter().map(|n| ((*n).to_owned(), "assert 1 == 2".to_owned())).collect(),
            passed,
            findings: findings
                .iter()
                .map(|(path, rule, severity)| Found {
                    path: (*path).into(),
                    rule: (*rule).into(),
                    message: format!("`x` already defined on line {}", rule.len()),
                    severity: *severity,
                })
                .collect(),
        }
    }

    #[test]
    fn an_edit_breaks_the_project_when_a_tool_stops_running_a_test_fails_or_an_error_appears() {
        let changed = vec![("a.py".to_owned(), String::new())];
        let judged = |before: Seen, after: Seen| judge(Some(&[before]), &[after], &changed);
        assert!(judged(seen(true, &[], Some(3), &[]), seen(true, &[], Some(4), &[])).passed);
        let broke = judged(seen(true, &[], None, &[]), seen(false, &[], None, &[]));
        assert!(!broke.passed && broke.detail.contains("t no longer runs: exit code 101 — error[E0425]"), "{broke:?}");
        assert!(
            broke.brief.contains("t no longer runs") && !broke.brief.contains("E0425"),
            "the brief quotes nothing: {broke:?}"
        );
        let broke = judged(seen(true, &["old"], Some(3), &[]), seen(true, &["old", "new"], Some(3), &[]));
        assert!(!broke.passed && broke.detail.contains("`new` fails") && !broke.detail.contains("`old`"), "{broke:?}");
        let error = ("a.py", "ruff:F821", Severity::Error);
        assert!(!judged(seen(true, &[], None, &[]), seen(true, &[], None, &[error])).passed);
        // An error the edit caused in another file (a caller) breaks it too.
        let caller = ("b.py", "mypy:call-arg", Severity::Error);
        assert!(!judged(seen(true, &[], None, &[]), seen(true, &[], None, &[caller])).passed);
        // The same error before the edit, or a warning: not the edit's doing.
        assert!(judged(seen(true, &[], None, &[error]), seen(true, &[], None, &[error])).passed);
        let warning =
            judged(seen(true, &[], None, &[]), seen(true, &[], None, &[("a.py", "ruff:E501", Severity::Warning)]));
        assert!(
            warning.passed && warning.detail.contains("1 new finding(s) in the edited files, not errors"),
            "{warning:?}"
        );
        let elsewhere =
            judged(seen(true, &[], None, &[]), seen(true, &[], None, &[("b.py", "ruff:E501", Severity::Warning)]));
        assert!(elsewhere.passed && elsewhere.detail.contains("nothing new"), "{elsewhere:?}");
        // A tool that did not run before cannot judge.
        let not = judged(seen(false, &[], None, &[]), seen(false, &[], None, &[]));
        assert!(not.passed && not.detail.contains("did not run on the project as it is either"), "{not:?}");
    }

    #[test]
    fn what_moves_with_lines_or_runs_is_not_a_new_finding_or_test() {
        let mut moved = Found {
            path: "a.py".into(),
            rule: "mypy:no-redef".into(),
            message: "on line 12".into(),
            severity: Severity::Error,
        };
        let before = moved.key();
        moved.message = "on line 14".into();
        assert_eq!(moved.key(), before);
        assert_eq!(test_name("test_x[<Obj at 0x7f3a9c>]"), test_name("test_x[<Obj at 0x7f11ee>]"));
        assert_ne!(test_name("test_add[1-2]"), test_name("test_add[1-3]"), "parameters stay apart");
        assert_ne!(test_name("test_p[0x10]"), test_name("test_p[0x20]"), "a short number is a parameter");
    }

    #[test]
    fn forty_failures_are_five_quoted_and_the_rest_counted() {
        let changed = vec![("a.py".to_owned(), String::new())];
        let names: Vec<String> = (0..40).map(|n| format!("test_{n}")).collect();
        let failing: Vec<&str> = names.iter().map(String::as_str).collect();
        let verdict = judge(Some(&[seen(true, &[], Some(40), &[])]), &[seen(true, &failing, Some(0), &[])], &changed);
        assert_eq!(verdict.detail.matches("` fails: ").count(), 5, "{verdict:?}");
        assert!(verdict.detail.contains("t: 35 more test(s) that did not fail now fail"), "{verdict:?}");
    }

    #[test]
    fn a_test_failing_once_was_flaky_and_does_not_refuse_the_edit() {
        let changed = vec![("a.py".to_owned(), String::new())];
        let base = seen(true, &[], Some(10), &[]);
        let mut trial = seen(true, &["x"], Some(9), &[]);
        trial.merge_again(seen(true, &[], Some(10), &[]));
        let verdict = judge(Some(&[base]), &[trial], &changed);
        assert!(verdict.passed && verdict.detail.contains("10 tests pass"), "{verdict:?}");
        // Failing both times is the edit's.
        let mut trial = seen(true, &["x"], Some(9), &[]);
        trial.merge_again(seen(true, &["x"], Some(9), &[]));
        assert!(!judge(Some(&[seen(true, &[], Some(10), &[])]), &[trial], &changed).passed);
    }

    #[test]
    fn the_brief_verdict_quotes_no_tool_output_even_when_the_edit_passes() {
        let changed = vec![("a.py".to_owned(), String::new())];
        let warning = ("a.py", "ruff:E501", Severity::Warning);
        let not_run = seen(false, &[], None, &[]);
        let verdict = judge(
            Some(&[not_run, seen(true, &[], None, &[])]),
            &[seen(false, &[], None, &[]), seen(true, &[], None, &[warning])],
            &changed,
        );
        assert!(verdict.passed, "{verdict:?}");
        assert!(verdict.detail.contains("E0425") && verdict.detail.contains("already defined"), "{verdict:?}");
        assert!(!verdict.brief.contains("E0425") && !verdict.brief.contains("already defined"), "{verdict:?}");
        assert!(verdict.brief.contains("1 new finding(s) in the edited files, not errors"), "{verdict:?}");
    }

    #[test]
    fn only_a_regular_text_file_is_read_to_be_edited() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = |name: &str| dir.path().join(name);
        assert_eq!(read_text(&at("new.py"), "new.py"), Ok(String::new()), "a new file");
        std::fs::write(at("latin1.py"), b"caf\xe9\n").expect("write");
        assert_eq!(read_text(&at("latin1.py"), "latin1.py"), Err("latin1.py is not UTF-8 text".into()));
        std::fs::write(at("a.py"), "x = 1\n").expect("write");
        crate::platform::os::symlink(&at("a.py"), &at("link.py")).expect("link");
        assert_eq!(read_text(&at("link.py"), "link.py"), Err("link.py is not a regular file".into()));
        assert_eq!(read_text(&at("a.py"), "a.py"), Ok("x = 1\n".into()));
    }

    #[test]
    fn a_file_in_the_copy_is_never_written_through_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (copy, outside) = (dir.path().join("copy"), dir.path().join("outside"));
        std::fs::create_dir_all(&copy).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        crate::platform::os::symlink(&outside, &copy.join("src")).expect("link");
        assert!(write_in_copy(&copy, "src/a.py", "x = 1\n").is_err());
        assert!(write_in_copy(&copy, "src/new/a.py", "x = 1\n").is_err());
        assert_eq!(std::fs::read_dir(&outside).expect("read").count(), 0, "nothing made through the link");
        write_in_copy(&copy, "pkg/sub/a.py", "x = 1\n").expect("a new folder");
        assert_eq!(std::fs::read_to_string(copy.join("pkg/sub/a.py")).expect("read"), "x = 1\n");
    }
}
