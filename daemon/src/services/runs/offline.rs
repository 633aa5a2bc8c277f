//! Offline skills in a run: the skill's inputs gathered (the document, the
//! workspace's index and files, git history) within the agent's reach, the
//! skill run off the async threads, its byte offsets turned into LSP ranges.
//! Also `ask_agent`: another agent's offline skill, for a model's tool call.

use std::{path::Path, time::Duration};

use agents::{
    grants::Reach,
    skills::{History, RawEdit, Skill, SkillInput, SkillOutput},
};
use context::SyntaxDocument;
use protocol::{
    agents::{Finding, Fix, RunParams, Severity, TextEdit},
    documents::{Position, Range},
};

use super::env::{Env, Failed};
use crate::{
    platform::uri,
    services::{
        checks,
        codebase::{self, LineIndex},
        documents::byte_offset,
        roster::Agent,
        testgen,
        workspace::{self, Workspace},
    },
};

/// What a skill produced: its report, findings and edits, in protocol terms.
pub(super) type Produced = (String, Vec<Finding>, Vec<TextEdit>);

/// Gathers the skill's inputs and runs it off the async threads. The skill
/// sees only the files within `reach` (the file the run is on aside: the
/// caller checked it): the index it gets, the files it reads and the history
/// are cut down to them. `examples`: whether documentation runs the tests'
/// calls for its examples (see [`doc_examples`]).
pub(super) async fn produce(
    env: &Env,
    agent: &Agent,
    skill: Skill,
    params: &RunParams,
    (reach, examples): (&Reach, Examples),
) -> Result<Produced, Failed> {
    let path = params.uri.as_deref().and_then(uri::to_path);
    let workspace = env.workspace_for(params)?;
    if let Some(workspace) = &workspace {
        workspace.wait_ready().await;
    }
    let history = history_for(workspace.as_deref(), skill, reach).await;
    if skill == Skill::Tests
        && let (Some(workspace), Some(uri)) = (&workspace, params.uri.as_deref())
    {
        return verified_tests(env, agent, workspace, uri, params).await;
    }
    let with_tools = skill == Skill::Review && env.config.sandbox.project_tools && reach.is_everything();
    let examples = match (&workspace, params.uri.as_deref()) {
        (Some(workspace), Some(uri)) if skill == Skill::Document => {
            doc_examples(env, workspace, uri, params, (reach, examples)).await
        }
        _ => Vec::new(),
    };
    if skill == Skill::Review && params.uri.is_none() {
        return project_review(env, agent, workspace.as_deref(), with_tools).await;
    }
    let reach = reach.clone();
    let uri = params.uri.clone();
    let prompt = params.prompt.clone();
    let (range, position, codebase) = (params.range, params.position, env.codebase.clone());
    let tools_workspace = workspace.clone().filter(|_| with_tools);
    let file = path.clone();
    let name = agent.manifest.metadata.name.clone();
    // One hop off the async threads for all the work: reading (and, for a file
    // no editor has open, parsing) the document, then the skill.
    let produced = tokio::task::spawn_blocking(move || {
        let document = match &uri {
            Some(uri) => Some(codebase::document_for(&codebase, uri).map_err(|e| e.to_string())?.0),
            None => None,
        };
        let selection = document.as_ref().map(|doc| {
            let text = doc.text();
            match (range, position) {
                (Some(range), _) => byte_offset(text, range.start)..byte_offset(text, range.end),
                (None, Some(position)) => {
                    let at = byte_offset(text, position);
                    at..at
                }
                (None, None) => 0..0,
            }
        });
        let index_guard = workspace.as_ref().map(|w| w.index());
        // A reach short of everything sees a copy of the index cut down to it.
        let restricted = match &index_guard {
            Some(index) if !reach.is_everything() => Some(index.restricted(|path| reach.allows(path))),
            _ => None,
        };
        let index = restricted.as_ref().or(index_guard.as_deref());
        let rel = match (&workspace, &path) {
            (Some(w), Some(p)) => w.relative(p).unwrap_or_else(|| p.display().to_string()),
            (None, Some(p)) => p.display().to_string(),
            _ => String::new(),
        };
        let read_file = |rel: &str| {
            let workspace = workspace.as_ref().filter(|_| reach.allows(rel))?;
            // The guard is held: read as `read_indexed` does, without its lock.
            index?.file(rel)?;
            workspace::read_real(&workspace.root.join(rel))
        };
        let input = SkillInput {
            speaker: &name,
            path: &rel,
            document: document.as_ref(),
            selection,
            index,
            prompt: prompt.as_deref(),
            read_file: &read_file,
            history: history.as_ref(),
            examples: &examples,
        };
        let output = skill.run(&input)?;
        let none = output.none.clone();
        let root = workspace.as_ref().map(|w| w.root.clone());
        Ok::<_, String>((convert(uri.as_deref(), document.as_ref(), root.as_deref(), output), none))
    })
    .await
    .map_err(|err| format!("the skill stopped unexpectedly: {err}"))?
    .map_err(Failed::from)?;
    let produced = match produced {
        (produced, Some(why)) => return Err(Failed::no_result(why, produced.0)),
        (produced, None) => produced,
    };
    match tools_workspace {
        Some(workspace) => Ok(with_project_tools(env, &workspace, file.as_deref(), produced).await.0),
        None => Ok(produced),
    }
}

/// A review of the whole project: what its own linters, type checkers and
/// tests find, run in the sandbox (PAIRED's rules review a file at a time).
async fn project_review(
    env: &Env,
    agent: &Agent,
    workspace: Option<&Workspace>,
    with_tools: bool,
) -> Result<Produced, Failed> {
    let name = &agent.manifest.metadata.name;
    let Some(workspace) = workspace.filter(|_| with_tools) else {
        let why = match workspace {
            None => "a review of the project needs the project open (or a file named)",
            Some(_) => {
                "a review of the project runs its own tools, which this agent may not (it reaches only part of it)"
            }
        };
        return Err(Failed::no_result(why.to_owned(), String::new()));
    };
    let report = format!(
        "# {name}'s review of {}\n\nThe project's own checks and tests, run in the sandbox; PAIRED's rules review a file at a time (name one).\n",
        workspace.root.display()
    );
    let (produced, ran) = with_project_tools(env, workspace, None, (report, Vec::new(), Vec::new())).await;
    if ran == 0 {
        return Err(Failed::no_result("the project uses no tool PAIRED can run here".to_owned(), produced.0));
    }
    Ok(produced)
}

/// Without a model, a report says what it is made of and what a model would
/// add (and how to get one): offline output is never passed off as more.
pub(super) fn labelled(env: &Env, agent: &Agent, skill: Skill, produced: Produced) -> Produced {
    let (mut report, findings, edits) = produced;
    if env.provider_name(agent).is_some() || skill == Skill::Route {
        return (report, findings, edits);
    }
    let made_of = match skill {
        Skill::Review => "the project's own tools and PAIRED's rules",
        Skill::Tests => "calls observed on a copy of the project",
        Skill::Document => "the code's name, signature and body (and, where the report says so, its tests' calls, run)",
        Skill::Architecture | Skill::Assess => "the workspace's index",
        Skill::Metrics | Skill::Backlog => "the code and its git history",
        Skill::Accessibility | Skill::Route => "PAIRED's rules",
    };
    let adds = match skill {
        Skill::Review => "explains findings in context and reviews the logic no rule can see",
        Skill::Tests => "writes tests for methods and any type, and what the code should do, not only what it does",
        Skill::Document => "says what the code is for",
        _ => "answers questions about it in words",
    };
    let name = &agent.manifest.metadata.name;
    report.push_str(&format!(
        "\n_Offline: {made_of}. With a model, {name} also {adds}: `paired setup` finds one on this machine or takes a cloud provider._\n"
    ));
    (report, findings, edits)
}

/// Edison's tests for the function at the cursor, run in the sandbox before
/// they are proposed (`services::testgen`).
async fn verified_tests(
    env: &Env,
    agent: &Agent,
    workspace: &Workspace,
    uri: &str,
    params: &RunParams,
) -> Result<Produced, Failed> {
    let speaker = agent.manifest.metadata.name.clone();
    let (doc, cursor, rel) = document_at(env, workspace, uri, params).await?;
    let written =
        testgen::verified_tests(&env.paths, &env.config.sandbox, &workspace.root, &rel, &doc, cursor, &speaker).await;
    match written.none {
        Some(why) => Err(Failed::no_result(why, written.report)),
        None => Ok((written.report, Vec::new(), written.edits)),
    }
}

/// Whether documentation runs the tests' calls for its examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Examples {
    /// An editor's or the CLI's request.
    Asked,
    /// A workflow step's run: not in Rust, where each definition of a
    /// fan-out would rebuild the crate's tests.
    Workflow,
    /// Within a model's turn (grounding, another agent asked by a tool): never.
    Never,
}

/// Documentation shows what the function returned for its tests' inputs,
/// run in the sandbox as its tests are (for an agent that reads every file).
async fn doc_examples(
    env: &Env,
    workspace: &Workspace,
    uri: &str,
    params: &RunParams,
    (reach, examples): (&Reach, Examples),
) -> Vec<agents::skills::document::Example> {
    if !env.config.sandbox.project_tools || !reach.is_everything() || examples == Examples::Never {
        return Vec::new();
    }
    match document_at(env, workspace, uri, params).await {
        Ok((doc, _, _)) if examples == Examples::Workflow && doc.language() == context::Language::Rust => Vec::new(),
        Ok((doc, cursor, rel)) => {
            testgen::examples(&env.paths, &env.config.sandbox, &workspace.root, &rel, &doc, cursor).await
        }
        Err(_) => Vec::new(),
    }
}

/// The document a run is on (read off the async threads), the byte of its
/// cursor and its workspace-relative path.
async fn document_at(
    env: &Env,
    workspace: &Workspace,
    uri: &str,
    params: &RunParams,
) -> Result<(SyntaxDocument, usize, String), Failed> {
    let loaded = tokio::task::spawn_blocking({
        let (codebase, uri) = (env.codebase.clone(), uri.to_owned());
        move || codebase::document_for(&codebase, &uri).map(|(doc, _)| doc).map_err(|e| e.to_string())
    })
    .await;
    let doc = match loaded {
        Ok(Ok(doc)) => doc,
        Ok(Err(err)) => return Err(Failed::from(err)),
        Err(err) => return Err(Failed::from(err.to_string())),
    };
    let cursor = match (params.range, params.position) {
        (Some(range), _) => byte_offset(doc.text(), range.start),
        (None, Some(position)) => byte_offset(doc.text(), position),
        (None, None) => 0,
    };
    let rel = uri::to_path(uri).and_then(|p| workspace.relative(&p)).unwrap_or_default();
    Ok((doc, cursor, rel))
}

/// A review with the project's own linters and type checkers — and, for the
/// whole project, its tests — run in the sandbox: their findings (in the
/// reviewed file) merged with the agent's, and what each tool did, with the
/// sandbox's enforcement, in the report; and how many tools ran.
async fn with_project_tools(
    env: &Env,
    workspace: &Workspace,
    file: Option<&Path>,
    produced: Produced,
) -> (Produced, usize) {
    let (mut report, own, edits) = produced;
    let mut runs = checks::run_checks(&env.paths, &env.config.sandbox, &workspace.root).await;
    if file.is_none() {
        runs.extend(checks::run_tests(&env.paths, &env.config.sandbox, &workspace.root).await);
    }
    let file = file.and_then(|p| workspace.relative(p));
    let found: Vec<Finding> = runs
        .iter()
        .flat_map(|run| &run.findings)
        .filter(|f| file.as_deref().is_none_or(|rel| f.path == rel))
        .map(|f| checks::to_protocol(&workspace.root, f))
        .collect();
    let from_tools = found.len();
    let own_found = own.len();
    let findings = checks::merge(own, found);
    report.push_str("\n## The project's own tools\n\n");
    if runs.is_empty() {
        report.push_str(
            "None found to run: PAIRED runs clippy, ruff (or flake8) and mypy, eslint, tsc and prettier, and go vet \
             when the project uses them and they are installed.\n",
        );
    }
    for (name, evidence) in checks::missing(&workspace.root) {
        // PAIRED runs ruff and mypy where they are installed; golangci-lint, not yet.
        let why = if name == "golangci-lint" { "PAIRED does not run it yet" } else { "not installed here, so not run" };
        report.push_str(&format!("- {name} ({evidence}): {why}\n"));
    }
    for run in &runs {
        // A tool checks the whole project: how many of its findings are in
        // the reviewed file too.
        let here = match &file {
            Some(rel) if !run.findings.is_empty() => {
                format!(" — {} in `{rel}`", run.findings.iter().filter(|f| f.path == *rel).count())
            }
            _ => String::new(),
        };
        report.push_str(&format!("- {}{here}\n", run.summary()));
    }
    for run in &runs {
        for failure in run.results.iter().flat_map(|r| &r.failures) {
            let place = failure.place.as_ref().map_or_else(String::new, |(path, line)| format!(" ({path}:{line})"));
            let said = failure.message.replace('\n', "\n  > ");
            report.push_str(&format!("\n`{}` fails{place}:\n  > {said}\n", failure.name));
        }
    }
    if from_tools > 0 {
        let count = |s: &[Severity]| findings.iter().filter(|f| s.contains(&f.severity)).count();
        // The headline (the agent's own rules') counts the tools' too.
        let (errors, warnings, notes) =
            (count(&[Severity::Error]), count(&[Severity::Warning]), count(&[Severity::Info, Severity::Hint]));
        let own = findings.len().saturating_sub(from_tools);
        // The agent's findings a tool made too are the tool's (listed above
        // among the agent's, they are counted once).
        let same = match own_found.saturating_sub(own) {
            0 => String::new(),
            n => format!(" ({n} more the same as a tool's)"),
        };
        if let Some(end) = report.find('\n')
            && let Some(colon) = report[..end].find("`: ")
        {
            report.replace_range(
                colon + 3..end,
                &format!(
                    "{} finding(s) — {errors} error(s), {warnings} warning(s), {notes} note(s): {own} from its own rules{same}, {from_tools} from the project's tools.",
                    findings.len()
                ),
            );
        }
        report.push_str(&format!(
            "\nIn all: {} finding(s) — {} error(s), {} warning(s), {} note(s); {from_tools} from these tools.\n",
            findings.len(),
            count(&[Severity::Error]),
            count(&[Severity::Warning]),
            count(&[Severity::Info, Severity::Hint]),
        ));
    }
    // A tool that could not check (it did not start, or ended in an error
    // with nothing found: a dependency it could not fetch) is said in the
    // headline: "no findings" alone read as a clean bill of health.
    let unchecked: Vec<&str> =
        runs.iter().filter(|r| r.ran.is_err() || r.failure.is_some()).map(|r| r.tool.name).collect();
    if !unchecked.is_empty()
        && let Some(end) = report.find('\n')
    {
        let names = unchecked.join(" and ");
        let at = if report[..end].ends_with('.') { end - 1 } else { end };
        report.insert_str(at, &format!(" — but {names} could not check (see below)"));
    }
    let ran = runs.iter().filter(|r| r.ran.is_ok()).count();
    ((report, findings, edits), ran)
}

/// Another agent's offline skill, for the `ask_agent` tool: its report and
/// findings as text. The asked agent reaches only what both it and the asking
/// agent (`caller`) may read, the file it is asked about included; `uri` is
/// a resolved file of `workspace`.
pub(super) async fn offline(
    env: &Env,
    caller: &Reach,
    name: &str,
    skill: Option<String>,
    uri: Option<String>,
    workspace: &Workspace,
) -> Result<String, String> {
    let roster = env.roster(Some(&workspace.root));
    let agent = roster.resolve(name).ok_or_else(|| super::not_found(name, &roster).to_string())?.clone();
    env.licensed(&agent)?;
    let reach = caller.narrowed_to(&agent.manifest);
    if let Some(path) = uri.as_deref().and_then(uri::to_path) {
        let rel = workspace.relative(&path).ok_or_else(|| format!("{} is outside the workspace", path.display()))?;
        if let Some(why) = reach.refusal(&rel) {
            return Err(why);
        }
    }
    let workspace = Some(uri::from_path(&workspace.root));
    let skill = match skill {
        Some(name) => match Skill::from_name(&name).filter(|s| agent.skills.contains(s)) {
            Some(skill) => skill,
            None => return Err(format!("{} has no skill {name:?}", agent.manifest.metadata.name)),
        },
        None => *agent.skills.first().ok_or("that agent has no offline skills")?,
    };
    let params = RunParams {
        agent: agent.manifest.id.clone(),
        skill: Some(skill.name().to_owned()),
        uri,
        position: None,
        range: None,
        prompt: None,
        workspace,
        wait: true,
        max_tokens: None,
    };
    let (report, findings, _) =
        Box::pin(produce(env, &agent, skill, &params, (&reach, Examples::Never))).await.map_err(|f| f.message)?;
    let listed: Vec<String> =
        findings.iter().map(|f| format!("- line {}: [{}] {}", f.line, f.rule, f.message)).collect();
    Ok(format!("{report}\n{}", listed.join("\n")))
}

/// Byte offsets to LSP ranges, workspace paths to URIs.
fn convert(uri: Option<&str>, document: Option<&SyntaxDocument>, root: Option<&Path>, output: SkillOutput) -> Produced {
    let text = document.map_or("", |d| d.text());
    let lines = LineIndex::new(text);
    let range =
        |bytes: &std::ops::Range<usize>| Range { start: lines.position(bytes.start), end: lines.position(bytes.end) };
    let file_uri = |path: &str| root.map_or_else(|| path.to_owned(), |r| uri::from_path(&r.join(path)));
    let edit = |e: &RawEdit| match &e.path {
        Some(path) => TextEdit {
            uri: file_uri(path),
            range: Range { start: Position { line: 0, character: 0 }, end: Position { line: 0, character: 0 } },
            new_text: e.new_text.clone(),
        },
        None => {
            TextEdit { uri: uri.unwrap_or_default().to_owned(), range: range(&e.bytes), new_text: e.new_text.clone() }
        }
    };
    let findings = output
        .findings
        .iter()
        .map(|f| {
            let (finding_uri, range) = match (&f.path, f.line) {
                (Some(path), Some(line)) => (
                    Some(file_uri(path)),
                    Range { start: Position { line, character: 0 }, end: Position { line: line + 1, character: 0 } },
                ),
                _ => (uri.map(str::to_owned), range(&f.bytes)),
            };
            Finding {
                rule: f.rule.to_owned(),
                severity: f.severity,
                message: f.message.clone(),
                uri: finding_uri,
                line: range.start.line + 1,
                range,
                fix: f
                    .fix
                    .as_ref()
                    .map(|fix| Fix { title: fix.title.clone(), edits: fix.edits.iter().map(edit).collect() }),
            }
        })
        .collect();
    (output.report, findings, output.edits.iter().map(edit).collect())
}

/// The files within reach that hold a TODO/FIXME/XXX/HACK, at most 50.
/// The git history Marie's metrics and Vince's backlog read (churn,
/// renames, blame), cut down to what the agent may see.
async fn history_for(workspace: Option<&Workspace>, skill: Skill, reach: &Reach) -> Option<History> {
    let workspace = workspace.filter(|_| matches!(skill, Skill::Metrics | Skill::Backlog))?;
    let mut history = git_history(&workspace.root).await?;
    if skill == Skill::Backlog {
        history.blame = git_blame(&workspace.root, &backlog_files(workspace, reach), &history.names).await;
    }
    history.files.retain(|path, _| reach.allows(path));
    history.blame.retain(|path, _| reach.allows(path));
    Some(history)
}

fn backlog_files(workspace: &Workspace, reach: &Reach) -> Vec<String> {
    let index = workspace.index();
    let mut paths: Vec<String> = index.paths().filter(|p| reach.allows(p)).map(str::to_owned).collect();
    drop(index);
    paths.sort();
    paths
        .into_iter()
        .filter(|p| {
            workspace::read_real(&workspace.root.join(p))
                .is_some_and(|text| ["TODO", "FIXME", "XXX", "HACK"].iter().any(|tag| text.contains(tag)))
        })
        .take(50)
        .collect()
}

/// Who wrote each line of `paths`, from `git blame` (5 s in all): one person
/// under the name `names` gives their address (the log's newest), as Marie
/// counts them.
async fn git_blame(
    root: &Path,
    paths: &[String],
    names: &std::collections::HashMap<String, String>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut blame = std::collections::BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    for path in paths {
        let run = tokio::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["blame", "--line-porcelain", "--", path])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        let Ok(Ok(output)) = tokio::time::timeout_at(deadline, run).await else { break };
        if !output.status.success() {
            continue;
        }
        blame.insert(path.clone(), blame_authors(&String::from_utf8_lossy(&output.stdout), names));
    }
    blame
}

/// Each line's author from `git blame --line-porcelain`: its `author` line,
/// or the name `names` has for its `author-mail`.
fn blame_authors(porcelain: &str, names: &std::collections::HashMap<String, String>) -> Vec<String> {
    let mut authors = Vec::new();
    let mut name = "";
    for line in porcelain.lines() {
        if let Some(said) = line.strip_prefix("author ") {
            name = said;
        } else if let Some(mail) = line.strip_prefix("author-mail ") {
            let email = mail.trim().trim_start_matches('<').trim_end_matches('>').to_lowercase();
            authors.push(names.get(&email).cloned().unwrap_or_else(|| name.to_owned()));
        }
    }
    authors
}

/// Per-file commits, churn and authors from `git log` (up to 2,000 commits, 10 s),
/// following renames: a file's history before it was renamed counts under its
/// current name.
async fn git_history(root: &Path) -> Option<History> {
    let output = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new("git")
            .arg("-C")
            .arg(root)
            // The names and addresses as the project's .mailmap has them.
            .args(["log", "--no-merges", "-M", "-n", "2000", "--numstat", "--relative", "--format=%x00%aN%x01%aE"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    if !output.status.success() {
        return None;
    }
    let mut history = History::default();
    let mut author = String::new();
    // Newest first: a rename is seen before the commits to its old name.
    let mut renamed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    // One person under one name: commits by one address are the name its
    // newest commit gives ("Hugo van Kemenade", not also "Hugo").
    let names = &mut history.names;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some(said) = line.strip_prefix('\0') {
            let (name, email) = said.split_once('\x01').unwrap_or((said, ""));
            author = match email.trim() {
                "" => name.to_owned(),
                email => names.entry(email.to_lowercase()).or_insert_with(|| name.to_owned()).clone(),
            };
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(added), Some(removed), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let path = match rename(path) {
            Some((old, new)) => {
                let current = renamed.get(&new).cloned().unwrap_or(new);
                renamed.insert(old, current.clone());
                current
            }
            None => renamed.get(path).cloned().unwrap_or_else(|| path.to_owned()),
        };
        let file = history.files.entry(path).or_default();
        file.commits += 1;
        file.lines_changed += added.parse::<u64>().unwrap_or(0) + removed.parse::<u64>().unwrap_or(0);
        match file.authors.iter_mut().find(|(a, _)| *a == author) {
            Some((_, n)) => *n += 1,
            None => file.authors.push((author.clone(), 1)),
        }
    }
    for file in history.files.values_mut() {
        file.authors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    Some(history)
}

/// `git log --numstat -M`'s rename notation: `old => new`, or with a common
/// part in braces, `src/{a.rs => b.rs}`, `{old => new}/x.rs`.
fn rename(path: &str) -> Option<(String, String)> {
    if !path.contains(" => ") {
        return None;
    }
    match (path.find('{'), path.find('}')) {
        (Some(open), Some(close)) if open < close => {
            let (before, inner, after) = (&path[..open], &path[open + 1..close], &path[close + 1..]);
            let (old, new) = inner.split_once(" => ")?;
            let join = |middle: &str| format!("{before}{middle}{after}").replace("//", "/");
            Some((join(old), join(new)))
        }
        _ => path.split_once(" => ").map(|(old, new)| (old.to_owned(), new.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renames_in_numstat_notation() {
        assert_eq!(super::rename("src/{a.rs => b.rs}"), Some(("src/a.rs".into(), "src/b.rs".into())));
        assert_eq!(super::rename("{old => new}/x.rs"), Some(("old/x.rs".into(), "new/x.rs".into())));
        assert_eq!(super::rename("src/{ => inner}/x.rs"), Some(("src/x.rs".into(), "src/inner/x.rs".into())));
        assert_eq!(super::rename("a.rs => b.rs"), Some(("a.rs".into(), "b.rs".into())));
        assert_eq!(super::rename("src/plain.rs"), None);
    }

    #[test]
    fn blamed_lines_go_to_one_name_per_address() {
        let porcelain = "\
abc 1 1 1\nauthor Hugo\nauthor-mail <Hugo@Example.com>\nsummary x\n\tline one
abc 2 2\nauthor Ada\nauthor-mail <ada@example.com>\nsummary y\n\tline two
abc 3 3\nauthor Not Committed Yet\nauthor-mail <not.committed.yet>\n\tline three\n";
        let names = [("hugo@example.com".to_owned(), "Hugo van Kemenade".to_owned())].into_iter().collect();
        assert_eq!(super::blame_authors(porcelain, &names), ["Hugo van Kemenade", "Ada", "Not Committed Yet"]);
    }
}
