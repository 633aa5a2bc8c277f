//! Multi-agent workflows end to end: the built-ins on the offline skills, model
//! mode against the loopback fake provider, one injected conflict per
//! strategy, cancelling a whole tree, the daemon killed mid-workflow and the
//! session resumed, and an interactive run served while background steps queue.

use std::time::Duration;

use jsonrpsee::ws_client::WsClient;
use protocol::{
    agents::{self, CancelRun, ListRuns, ListRunsParams, ProjectRef, RunParams, RunRef, RunStatus},
    client::{ClientKind, Event},
    documents::Position,
    workflows::{
        self, BoardEntry, ConflictKind, Decide, DecideParams, GetSession, ListSessions, ListSessionsParams,
        ResumeSession, RunWorkflowParams, SessionInfo, SessionRef, SessionStatus, StepRecord, StepStatus,
    },
};
use serde_json::json;
use tests::{
    Home, Lsp, Rpc, agent_run, attach, eventually,
    fake_provider::{Reply, openai_text, openai_tool_call, serve_fake},
    hello, next_event, workflow_run,
};

const LIB: &str = "pub fn load(p: &str) -> String {\n    std::fs::read_to_string(p).unwrap()\n}\n\npub struct Config {\n    pub name: String,\n}\n\npub fn parse(text: &str) -> Config {\n    // TODO: real parsing\n    Config { name: text.to_owned() }\n}\n";

/// A project with `src/lib.rs` (and whatever `files` add) and, optionally, a config.
fn project(home: &Home, files: &[(&str, &str)], config: &str) -> std::path::PathBuf {
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"proj\"\n").expect("write");
    std::fs::write(root.join("src/lib.rs"), LIB).expect("write");
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    if !config.is_empty() {
        home.write_config(config);
    }
    root.canonicalize().expect("canonical")
}

async fn open(home: &Home, root: &std::path::Path) -> WsClient {
    let client = home.ws().await;
    tests::add_workspace(&client, root).await;
    client
}

fn uri(root: &std::path::Path, rel: &str) -> String {
    format!("file://{}", root.join(rel).display())
}

async fn run(client: &WsClient, params: RunWorkflowParams) -> SessionInfo {
    client.call::<workflows::Run>(params).await
}

/// `workflows/run` params: `workflow` on the file `uri`, finished when `wait`.
fn on_file(workflow: &str, uri: &str, wait: bool) -> RunWorkflowParams {
    RunWorkflowParams { uri: Some(uri.to_owned()), wait, ..workflow_run(workflow) }
}

fn session_ref(id: &str) -> SessionRef {
    SessionRef { session_id: id.to_owned(), wait: false }
}

fn step<'a>(session: &'a SessionInfo, key: &str) -> &'a StepRecord {
    session.steps.iter().find(|s| s.key == key).unwrap_or_else(|| panic!("no step {key}: {session:#?}"))
}

fn board<'a>(session: &'a SessionInfo, kind: &str) -> Vec<&'a BoardEntry> {
    session.board.iter().filter(|e| e.kind.name() == kind).collect()
}

fn model_config(port: u16) -> String {
    format!("{}max_retries = 0\n", tests::fake_provider::config(port))
}

/// `propose_edit` of line `line` to `text`, then a closing message.
fn edit(line: u32, text: &str) -> [Reply; 2] {
    let arguments = json!({"path": "src/lib.rs", "start_line": line, "end_line": line, "new_text": text}).to_string();
    [Reply::Sse(openai_tool_call("propose_edit", &arguments)), Reply::Sse(openai_text(&["done"]))]
}

fn write_workflow(root: &std::path::Path, name: &str, text: &str) {
    let dir = root.join(".paired/workflows");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join(format!("{name}.toml")), text).expect("write");
}

/// Two or three agents editing `src/lib.rs` one after another.
fn editing_workflow(strategy: &str, agents: &[&str]) -> String {
    let mut text = format!("[conflicts]\nstrategy = \"{strategy}\"\n");
    let mut previous: Option<String> = None;
    for (i, agent) in agents.iter().enumerate() {
        let id = format!("s{i}");
        text.push_str(&format!("[[steps]]\nid = \"{id}\"\nagent = \"{agent}\"\nprompt = \"Fix load.\"\n"));
        if let Some(p) = &previous {
            text.push_str(&format!("needs = [\"{p}\"]\n"));
        }
        previous = Some(id);
    }
    text
}

#[tokio::test]
async fn review_runs_its_agents_in_parallel_and_alex_merges_them() {
    let home = Home::new();
    let root = project(&home, &[], "");
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let listed = client.call::<workflows::List>(ProjectRef::default()).await;
    let names: Vec<&str> = listed.workflows.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["review", "feature", "delegate", "docs"]);
    let session = run(&client, on_file("review", &uri(&root, "src/lib.rs"), true)).await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    assert_eq!(step(&session, "qa").agent, "sherlock");
    assert_eq!(step(&session, "architecture").agent, "leonardo");
    let merge = step(&session, "merge");
    assert_eq!(merge.skill, "merge");
    // Alex's merge holds Sherlock's findings, with their lines, and the verdict.
    let rules: Vec<(&str, u32)> = merge.findings.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(rules, [("rust-unwrap", 2)], "the TODO is the backlog's, not the review's");
    assert!(session.output.contains("## Findings") && session.output.contains("lib.rs:2 [rust-unwrap]"));
    let verdicts = board(&session, "decision");
    // The verdict follows the findings: an unwrap warning asks for changes (#16.5).
    assert_eq!(verdicts[0].text, "changes requested (1 problem)", "{verdicts:?}");
    assert_eq!(verdicts[0].agent, "sherlock");
    assert_eq!(verdicts[0].step, "qa");
    assert_eq!(board(&session, "artifact").len(), 2, "one artifact per agent step");
    // Persisted: sessions/list and sessions/get read it back.
    let listed = client.call::<ListSessions>(ListSessionsParams::default()).await;
    assert_eq!(listed[0].id, session.id);
    let again = client.call::<GetSession>(session_ref(&session.id)).await;
    assert_eq!(again.steps, session.steps);
    assert_eq!(again.board, session.board);
    // The session is a usage event, beside one per run it started.
    let db = rusqlite::Connection::open(home.database()).expect("database");
    let kinds: Vec<(String, String, String)> = db
        .prepare("SELECT kind, agent, outcome FROM usage_events ORDER BY kind, agent")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect())
        .expect("usage");
    assert!(kinds.contains(&("workflow".into(), "review".into(), "succeeded".into())), "{kinds:?}");
    assert!(kinds.iter().any(|(kind, agent, _)| kind == "run" && agent == "sherlock"), "{kinds:?}");
}

#[tokio::test]
async fn docs_fans_out_per_undocumented_definition_and_feature_loops_until_clean_or_bounded() {
    let home = Home::new();
    let panicky = "pub fn token() -> String {\n    let api_key = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\";\n    api_key.to_owned()\n}\n";
    let helper = "pub fn fixture() -> u32 {\n    7\n}\n";
    let units = "pub struct Units;\n\nimpl std::fmt::Display for Units {\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {\n        f.write_str(\"units\")\n    }\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn shows() {\n        assert_eq!(super::Units.to_string(), \"units\");\n    }\n}\n";
    let root = project(&home, &[("src/risky.rs", panicky), ("tests/helpers.rs", helper), ("src/units.rs", units)], "");
    // The built-in feature workflow's loop, with offline skills only (the
    // built-in itself needs a model for its design and edit steps).
    write_workflow(
        &root,
        "looped",
        "[[steps]]\nid = \"plan\"\nagent = \"alex\"\nskill = \"route\"\nprompt = \"{prompt}\"\n\
         [[steps]]\nid = \"design\"\nagent = \"leonardo\"\nskill = \"architecture\"\nneeds = [\"plan\"]\n\
         [[steps]]\nid = \"edit\"\nagent = \"edison\"\nskill = \"document\"\nneeds = [\"design\"]\n\
         [[steps]]\nid = \"review\"\nagent = \"sherlock\"\nskill = \"review\"\nneeds = [\"edit\"]\n\
         [[loops]]\nsteps = [\"design\", \"edit\", \"review\"]\nuntil = \"steps.review.errors == 0\"\nmax_rounds = 3\n",
    );
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    // Without a model, the built-in feature workflow says so before it starts,
    // instead of "succeeding" with a workspace map and a doc comment (#16.5).
    let refused = client
        .try_call::<workflows::Run>(RunWorkflowParams {
            prompt: Some("add input validation".into()),
            ..on_file("feature", &uri(&root, "src/lib.rs"), true)
        })
        .await
        .expect_err("needs a model");
    assert!(refused.message.contains("the feature workflow needs a model: step `design`"), "{refused}");
    assert_eq!(refused.code, protocol::errors::REFUSED);
    let session = run(&client, on_file("docs", &uri(&root, "src/lib.rs"), true)).await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    // load, Config, parse: one item each, one doc comment each, none conflicting.
    let items: Vec<&StepRecord> = session.steps.iter().filter(|s| s.step == "document").collect();
    assert_eq!(items.len(), 3);
    let lines: Vec<u32> = {
        let mut lines: Vec<u32> = session.edits.iter().map(|e| e.range.start.line).collect();
        lines.sort();
        lines
    };
    assert_eq!(lines, [0, 4, 8]);
    assert!(session.conflicts.is_empty());
    // The merged answer counts the items' edits where it names the step (it said "0 edits", then "3 in all").
    let merged = session.steps.iter().find(|s| s.skill == "merge").expect("the merge");
    assert!(merged.output.contains("3 edits across 3 items"), "{}", merged.output);
    // The whole project: its code, not its tests' helpers and stubs.
    let whole =
        RunWorkflowParams { workspace: Some(format!("file://{}", root.display())), wait: true, ..workflow_run("docs") };
    let session = run(&client, whole).await;
    let files: std::collections::BTreeSet<&str> = session.edits.iter().map(|e| e.uri.as_str()).collect();
    assert!(files.iter().any(|f| f.ends_with("src/risky.rs")), "{files:?}");
    assert!(files.iter().all(|f| !f.contains("/tests/")), "{files:?}");
    // Of units.rs, the struct: not the trait's `fmt`, not the test module's test.
    let in_units: Vec<u32> =
        session.edits.iter().filter(|e| e.uri.ends_with("src/units.rs")).map(|e| e.range.start.line).collect();
    assert_eq!(in_units, [0], "{session:#?}");

    // Sherlock finds an error (a hard-coded secret) every round: the loop runs its 3 rounds and stops.
    let session = run(
        &client,
        RunWorkflowParams {
            position: Some(Position { line: 0, character: 7 }),
            prompt: Some("document risky".into()),
            ..on_file("looped", &uri(&root, "src/risky.rs"), true)
        },
    )
    .await;
    let keys: Vec<&str> = session.steps.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        ["plan", "design", "edit", "review", "design#2", "edit#2", "review#2", "design#3", "edit#3", "review#3"]
    );
    assert_eq!(step(&session, "review#3").round, 3);
    let facts: Vec<&str> = board(&session, "fact").iter().map(|f| f.text.as_str()).collect();
    assert!(facts.last().is_some_and(|f| f.contains("stopped after 3 rounds")), "{facts:?}");
    assert_eq!(board(&session, "decision")[0].key, "plan");
    // On a clean file one round is enough.
    let session = run(
        &client,
        RunWorkflowParams {
            position: Some(Position { line: 8, character: 7 }),
            prompt: Some("document parse".into()),
            ..on_file("looped", &uri(&root, "src/lib.rs"), true)
        },
    )
    .await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    assert_eq!(session.steps.len(), 4);
}

#[tokio::test]
async fn workflow_files_are_checked_and_conditions_skip_steps() {
    let home = Home::new();
    let root = project(&home, &[], "");
    write_workflow(
        &root,
        "triage",
        "[[steps]]\nid = \"qa\"\nagent = \"qa\"\n[[steps]]\nid = \"fix\"\ncapability = \"documentation\"\nskill = \"document\"\nneeds = [\"qa\"]\nwhen = \"steps.qa.errors > 0\"\n[[steps]]\nid = \"tasks\"\nagent = \"vince\"\nneeds = [\"qa\"]\nwhen = \"steps.qa.output contains \\\"finding\\\"\"\n",
    );
    write_workflow(
        &root,
        "broken",
        "[[steps]]\nid = \"a\"\nagent = \"qa\"\n[[steps]]\nid = \"b\"\nagent = \"qa\"\nneeds = [\"zz\"]\n",
    );
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let listed = client.call::<workflows::List>(ProjectRef::default()).await;
    assert_eq!(
        listed.problems[0],
        format!(
            "{}: step `b`: `needs`: no step \"zz\" in this workflow",
            root.join(".paired/workflows/broken.toml").display()
        )
    );
    let session = run(&client, on_file("triage", &uri(&root, "src/lib.rs"), true)).await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    assert_eq!(step(&session, "fix").status, StepStatus::Skipped);
    assert_eq!(step(&session, "fix").output, "condition not met: steps.qa.errors > 0");
    assert_eq!(step(&session, "tasks").status, StepStatus::Succeeded);
    assert_eq!(step(&session, "tasks").agent, "vince");
    let err = client.try_call::<workflows::Run>(workflow_run("broken")).await.expect_err("a broken file does not run");
    assert!(err.message.starts_with("the workflow \"broken\" did not load: "), "{err}");
    // Issue #15: what a workflow lacks, in the user's terms (no RPC field) and as data each front words its way.
    let refused = client.try_call::<workflows::Run>(workflow_run("review")).await.expect_err("review needs a file");
    assert_eq!(
        refused.message,
        "the review workflow works on a file, and none was named: step `qa` (Sherlock review) needs one"
    );
    assert_eq!(refused.data, Some(json!({"missing": "file"})));
    let refused =
        client.try_call::<workflows::Run>(workflow_run("delegate")).await.expect_err("delegate needs a request");
    assert!(refused.message.starts_with("the delegate workflow needs a request in words"), "{}", refused.message);
    assert_eq!(refused.data, Some(json!({"missing": "prompt"})));
    // `paired workflow run` names its own flags instead.
    let out = home.paired(&["workflow", "run", "review"]).current_dir(&root).output().expect("run paired");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{out:?}");
    assert!(
        stderr.contains("paired: the review workflow works on a file") && stderr.contains("--file FILE"),
        "{stderr}"
    );
    assert!(!stderr.contains("uri") && !stderr.contains("workflows/run"), "no RPC words: {stderr}");
    let out = home.paired(&["workflow", "run", "delegate", "--json"]).current_dir(&root).output().expect("run paired");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reply: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {out:?}"));
    assert!(reply["error"]["hint"].as_str().is_some_and(|h| h.contains("--prompt")), "{reply}");
    assert!(!stdout.contains("uri") && !stdout.contains("`prompt`"), "no RPC words: {stdout}");
}

#[tokio::test]
async fn overlapping_edits_priority_by_role_and_a_vote() {
    let mut replies = Vec::new();
    replies.extend(edit(2, "    std::fs::read_to_string(p).unwrap_or_default()"));
    replies.extend(edit(2, "    std::fs::read_to_string(p).expect(\"readable\")"));
    // The vote: Edison and Marie agree, Sherlock does not.
    replies.extend(edit(2, "    std::fs::read_to_string(p).unwrap_or_default()"));
    replies.extend(edit(2, "    std::fs::read_to_string(p).unwrap_or_default()"));
    replies.extend(edit(2, "    std::fs::read_to_string(p).expect(\"readable\")"));
    let (port, _fake) = serve_fake(replies).await;
    let home = Home::new();
    let root = project(&home, &[], &model_config(port));
    write_workflow(&root, "pri", &editing_workflow("priority", &["edison", "sherlock"]));
    write_workflow(&root, "vote", &editing_workflow("vote", &["edison", "marie", "sherlock"]));
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let file = uri(&root, "src/lib.rs");

    let session = run(&client, on_file("pri", &file, true)).await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    let conflict = &session.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::OverlappingEdits, "{session:#?}");
    assert_eq!(conflict.strategy, "priority");
    assert_eq!(conflict.parties, ["s0", "s1"]);
    assert_eq!(conflict.winner.as_deref(), Some("s1"), "QA ranks above dev: {conflict:?}");
    assert!(
        conflict.reasons.contains("sherlock #1 vs edison #3") || conflict.reasons.contains("edison #3 vs sherlock #1")
    );
    assert_eq!(conflict.dropped_edits, ["s0@0"]);
    assert_eq!(session.edits.len(), 1);
    assert!(session.edits[0].new_text.contains("expect(\"readable\")"));
    let recorded: Vec<&BoardEntry> =
        board(&session, "decision").into_iter().filter(|d| d.key == "conflict-1").collect();
    assert_eq!(recorded.len(), 1, "every resolution is on the board");

    let session = run(&client, on_file("vote", &file, true)).await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    let conflicts = &session.conflicts;
    assert!(!conflicts.is_empty());
    for conflict in conflicts {
        assert_eq!(conflict.strategy, "vote");
        assert_ne!(conflict.winner.as_deref(), Some("s2"), "the majority beats priority: {conflict:?}");
        assert!(conflict.reasons.contains("vote: "), "{conflict:?}");
    }
    let texts: Vec<&str> = session.edits.iter().map(|e| e.new_text.as_str()).collect();
    assert_eq!(texts, ["    std::fs::read_to_string(p).unwrap_or_default()\n"], "agreeing edits count once");
}

#[tokio::test]
async fn merge_keeps_edits_that_do_not_overlap_and_falls_back_when_they_do() {
    let mut replies = Vec::new();
    // Different lines of the same function: merged.
    replies.extend(edit(1, "pub fn load(p: &str) -> String { // reads p"));
    replies.extend(edit(2, "    std::fs::read_to_string(p).unwrap_or_default()"));
    // The same line: merge cannot keep both; the fallback (vote, tied) → priority.
    replies.extend(edit(2, "    A"));
    replies.extend(edit(2, "    B"));
    let (port, _fake) = serve_fake(replies).await;
    let home = Home::new();
    let root = project(&home, &[], &model_config(port));
    write_workflow(&root, "m", &editing_workflow("merge", &["edison", "sherlock"]));
    write_workflow(
        &root,
        "m2",
        &editing_workflow("merge", &["edison", "sherlock"])
            .replace("strategy = \"merge\"", "strategy = \"merge\"\nfallback = \"vote\""),
    );
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let file = uri(&root, "src/lib.rs");
    let session = run(&client, on_file("m", &file, true)).await;
    let conflict = &session.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::SameSymbol, "{session:#?}");
    assert_eq!(conflict.what, "different edits to function load");
    assert_eq!(conflict.resolution, "merged: every side is kept");
    assert_eq!(session.edits.len(), 2);
    let session = run(&client, on_file("m2", &file, true)).await;
    let conflict = &session.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::OverlappingEdits, "{session:#?}");
    assert_eq!(conflict.strategy, "merge (fallback priority)");
    let reasons = &conflict.reasons;
    assert!(reasons.contains("merge cannot keep both sides of overlapping edits; falling back to vote"), "{reasons}");
    assert!(reasons.contains("the vote is tied (edison 1 vs sherlock 1); falling back to priority"), "{reasons}");
    assert_eq!(conflict.winner.as_deref(), Some("s1"));
}

const A11Y: &str = "export function Logo() {\n  return <img src=\"logo.png\" />;\n}\n";

/// Sherlock approves a TSX file, Maya finds it inaccessible: contradictory verdicts.
fn verdict_workflow(strategy: &str) -> String {
    format!(
        "[conflicts]\nstrategy = \"{strategy}\"\nask_timeout_secs = 30\n[[steps]]\nid = \"qa\"\nagent = \"sherlock\"\n[[steps]]\nid = \"ux\"\nagent = \"maya\"\nneeds = [\"qa\"]\n"
    )
}

#[tokio::test]
async fn contradictory_verdicts_go_to_an_arbiter_or_to_the_user() {
    let home = Home::new();
    let root = project(&home, &[("web/Logo.tsx", A11Y)], "");
    write_workflow(&root, "arb", &verdict_workflow("arbiter"));
    write_workflow(&root, "ask", &verdict_workflow("ask"));
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let file = uri(&root, "web/Logo.tsx");
    let session = run(&client, on_file("arb", &file, true)).await;
    let conflict = &session.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::Verdict, "{session:#?}");
    assert_eq!(conflict.parties, ["qa", "ux"]);
    assert_eq!(conflict.strategy, "arbiter");
    assert!(conflict.reasons.starts_with("Alex (offline) routes this question to [sherlock"), "{conflict:?}");
    assert_eq!(conflict.winner.as_deref(), Some("qa"));

    // Ask: the session waits, a `choice` event reaches clients, the answer settles it.
    let mut events = attach(&client, hello(ClientKind::Cli, "test")).await;
    let started = run(&client, on_file("ask", &file, false)).await;
    let (conflict_id, options) = loop {
        if let Event::Choice { conflict_id, options, .. } = next_event(&mut events, Duration::from_secs(20)).await {
            break (conflict_id, options);
        }
    };
    assert_eq!(options.len(), 2);
    assert!(options[1].starts_with("maya: changes requested"), "{options:?}");
    let waiting = client.call::<GetSession>(session_ref(&started.id)).await;
    assert_eq!(waiting.status, SessionStatus::Waiting);
    let decide = |choice| DecideParams { session_id: started.id.clone(), conflict_id: conflict_id.clone(), choice };
    let bad = client.try_call::<Decide>(decide(7)).await;
    assert!(bad.is_err(), "an option that does not exist is refused");
    client.call::<Decide>(decide(1)).await;
    let session = client.call::<GetSession>(SessionRef { wait: true, ..session_ref(&started.id) }).await;
    let conflict = &session.conflicts[0];
    assert_eq!(conflict.winner.as_deref(), Some("ux"), "{session:#?}");
    assert_eq!(conflict.reasons, "the user chose maya (ux)");
}

#[tokio::test]
async fn cancelling_a_session_cancels_its_whole_tree() {
    let (port, fake) = serve_fake(vec![Reply::Hang]).await;
    let home = Home::new();
    let root = project(&home, &[], &model_config(port));
    write_workflow(
        &root,
        "slow",
        "[[steps]]\nid = \"a\"\nagent = \"edison\"\nprompt = \"x\"\n[[steps]]\nid = \"b\"\nagent = \"sherlock\"\nneeds = [\"a\"]\n",
    );
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let started = run(&client, on_file("slow", &uri(&root, "src/lib.rs"), false)).await;
    eventually("the step's request", async || !fake.requests.lock().expect("lock").is_empty()).await;
    // Listed as running from the command line (any client sees it).
    let listed = home.paired(&["sessions", "list"]).output().expect("paired");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.lines().any(|l| l.starts_with(&started.id) && l.contains("running")), "{listed}");
    // A session id cancels the whole tree: from the command line too.
    let cancelled = home.paired(&["sessions", "cancel", &started.id]).output().expect("paired");
    assert!(cancelled.status.success(), "{}", String::from_utf8_lossy(&cancelled.stderr));
    assert_eq!(String::from_utf8_lossy(&cancelled.stdout).trim(), format!("{}: cancelled", started.id));
    let again = client.call::<CancelRun>(RunRef { run_id: started.id.clone(), wait: false }).await;
    assert_eq!(again.status, RunStatus::Cancelled);
    let shown = home.paired(&["sessions", "show", &started.id]).output().expect("paired");
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.starts_with(&format!("{} (slow): cancelled", started.id)), "{shown}");
    let session = client.call::<GetSession>(session_ref(&started.id)).await;
    assert_eq!(session.status, SessionStatus::Cancelled);
    let runs = client.call::<ListRuns>(ListRunsParams { limit: Some(5) }).await;
    let edison = runs.iter().find(|r| r.agent == "edison").expect("the step's run");
    assert_eq!(edison.status, RunStatus::Cancelled, "the child run stopped too");
    assert!(runs.iter().all(|r| r.agent != "sherlock"), "b never started");
}

#[tokio::test]
async fn a_session_survives_the_daemon_being_killed_and_resumes_where_it_stopped() {
    let (port, fake) =
        serve_fake(vec![Reply::Sse(openai_text(&["planned"])), Reply::Hang, Reply::Sse(openai_text(&["built"]))]).await;
    let home = Home::new();
    let root = project(&home, &[], &model_config(port));
    write_workflow(
        &root,
        "two",
        "[[steps]]\nid = \"plan\"\nagent = \"alex\"\nprompt = \"plan it\"\n[[steps]]\nid = \"build\"\nagent = \"edison\"\nprompt = \"build it after {steps.plan.output}\"\nneeds = [\"plan\"]\n",
    );
    let mut daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let started = run(&client, on_file("two", &uri(&root, "src/lib.rs"), false)).await;
    eventually("the second step's request", async || fake.requests.lock().expect("lock").len() == 2).await;
    daemon.kill9();
    drop(client);

    let _daemon = home.start_daemon();
    // Right after the restart: no editor has opened the project again (#16.8).
    let client = home.ws().await;
    let session = client.call::<GetSession>(session_ref(&started.id)).await;
    assert_eq!(session.status, SessionStatus::Interrupted, "{session:#?}");
    assert!(session.error.as_ref().is_some_and(|e| e.contains("sessions/resume")));
    assert_eq!(session.steps.len(), 1, "the finished step was kept");
    let listed = home.paired(&["sessions", "list"]).output().expect("paired");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.lines().any(|l| l.starts_with(&started.id) && l.contains("interrupted")), "{listed}");
    // Resumed from the command line: it waits, shows the steps, exits 0 once
    // done. (Off this test's runtime thread, which serves the fake provider.)
    let mut resume = home.paired(&["sessions", "resume", &started.id]);
    let resumed = tokio::task::spawn_blocking(move || resume.output().expect("paired")).await.expect("joined");
    let said = String::from_utf8_lossy(&resumed.stdout).into_owned();
    assert!(resumed.status.success(), "{said}{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(said.contains("succeeded") && said.lines().any(|l| l.contains("done") && l.contains("build")), "{said}");
    let resumed = client.call::<GetSession>(session_ref(&started.id)).await;
    assert_eq!(resumed.status, SessionStatus::Succeeded, "{resumed:#?}");
    assert_eq!(step(&resumed, "build").output, "built");
    let requests = fake.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 3, "plan was not run again");
    assert!(requests[2].1.to_string().contains("build it after planned"), "the resumed step gets the kept output");
    let again = client.try_call::<ResumeSession>(session_ref(&started.id)).await.expect_err("finished");
    assert!(again.message.ends_with("only an interrupted session can be resumed"), "{again}");
    let again = home.paired(&["sessions", "resume", &started.id]).output().expect("paired");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("only an interrupted session can be resumed"));
}

#[tokio::test]
async fn an_interactive_run_is_served_while_fifty_background_steps_wait() {
    let (port, fake) = serve_fake(Vec::new()).await;
    *fake.fallback.lock().expect("lock") = Some(Reply::Hang);
    let mut many = String::new();
    for i in 0..55 {
        many.push_str(&format!("pub fn f{i}() {{}}\n"));
    }
    let home = Home::new();
    let config = format!("{}[limits]\nmax_running = 2\ninteractive_reserved = 1\n", model_config(port));
    let root = project(&home, &[("src/many.rs", &many)], &config);
    write_workflow(
        &root,
        "bulk",
        "[[steps]]\nid = \"doc\"\nagent = \"edison\"\nskill = \"document\"\neach = \"undocumented_symbol\"\nprompt = \"Document it.\"\n",
    );
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let started = run(&client, on_file("bulk", &uri(&root, "src/many.rs"), false)).await;
    // One background slot: one request hangs, the other 54 steps queue.
    eventually("the first background request", async || !fake.requests.lock().expect("lock").is_empty()).await;
    let queued = async || {
        let runs = client.call::<ListRuns>(ListRunsParams { limit: Some(100) }).await;
        runs.iter().filter(|r| r.status == RunStatus::Queued).count()
    };
    eventually("50 background steps queued", async || queued().await >= 50).await;
    // The editor asks: its run goes first, on the reserved slot.
    let review = client
        .call::<agents::Run>(RunParams {
            skill: Some("review".into()),
            uri: Some(uri(&root, "src/lib.rs")),
            wait: true,
            ..agent_run("sherlock")
        })
        .await;
    assert_eq!(review.status, RunStatus::Succeeded, "{review:?}");
    let session = client.call::<GetSession>(session_ref(&started.id)).await;
    assert_eq!(session.status, SessionStatus::Running, "the background work is still there");
    assert_eq!(fake.requests.lock().expect("lock").len(), 1, "and still one at a time");
    client.call::<CancelRun>(RunRef { run_id: started.id, wait: false }).await;
}

#[tokio::test]
async fn alex_splits_a_request_into_subtasks_by_his_routing_rules_offline() {
    let home = Home::new();
    let root = project(&home, &[], "");
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let session = run(
        &client,
        RunWorkflowParams {
            position: Some(Position { line: 8, character: 7 }),
            prompt: Some("review this file and document parse".into()),
            ..on_file("delegate", &uri(&root, "src/lib.rs"), true)
        },
    )
    .await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    let plan = step(&session, "subtasks");
    assert_eq!(plan.skill, "plan");
    assert!(plan.output.contains("into 2 subtask(s) by its routing rules"), "{plan:?}");
    assert_eq!(step(&session, "subtasks[0]").agent, "sherlock");
    assert_eq!(step(&session, "subtasks[0]").skill, "review");
    assert_eq!(step(&session, "subtasks[1]").agent, "edison");
    assert_eq!(step(&session, "subtasks[1]").skill, "document");
    assert_eq!(session.edits.len(), 1, "Edison's doc comment");
    assert!(session.output.contains("[rust-unwrap]"), "merged: {}", session.output);
    // The file without a cursor: the definition the request names, in it.
    let session = run(
        &client,
        RunWorkflowParams {
            prompt: Some("review this file and document parse".into()),
            ..on_file("delegate", &uri(&root, "src/lib.rs"), true)
        },
    )
    .await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    assert_eq!(session.edits.len(), 1, "Edison's doc comment for parse: {session:#?}");
    assert_eq!(session.edits[0].range.start.line, 8, "above parse");
}

#[tokio::test]
async fn a_model_plans_the_subtasks_and_a_failed_one_goes_to_the_next_agent_offering_the_skill() {
    let (port, fake) = serve_fake(vec![
        Reply::Sse(openai_text(&["sherlock: review: check how load handles errors\n", "nobody: review: ignored\n"])),
        Reply::Status(500, vec![], r#"{"error": {"message": "overloaded"}}"#),
        Reply::Sse(openai_text(&["load panics on a missing file."])),
    ])
    .await;
    let home = Home::new();
    let root = project(&home, &[], &model_config(port));
    std::fs::create_dir_all(root.join(".paired/agents")).expect("mkdir");
    std::fs::write(
        root.join(".paired/agents/hawk.toml"),
        "id = \"hawk\"\ncapabilities = [\"code_review\"]\n[metadata]\nname = \"Hawk\"\nversion = \"1.0.0\"\nrole = \"qa\"\n[permissions]\nfs_read = [\"src/**\"]\n",
    )
    .expect("write");
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let session = run(
        &client,
        RunWorkflowParams {
            prompt: Some("is load safe?".into()),
            ..on_file("delegate", &uri(&root, "src/lib.rs"), true)
        },
    )
    .await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    let plan = step(&session, "subtasks");
    assert!(
        plan.output.contains("1 subtask(s) by its model's plan")
            && plan.output.contains("sherlock: review: check how load handles errors"),
        "{plan:?}"
    );
    let subtask = step(&session, "subtasks[0]");
    assert_eq!(subtask.agent, "hawk", "re-assigned after Sherlock's run failed: {subtask:?}");
    assert_eq!(subtask.attempts, 2);
    assert_eq!(subtask.output, "load panics on a missing file.");
    // The merged answer holds the sub-result itself, not only its counts (#16.5).
    assert!(
        session.output.contains("## Results") && session.output.contains("load panics on a missing file."),
        "{}",
        session.output
    );
    let reassigned: Vec<&BoardEntry> =
        board(&session, "decision").into_iter().filter(|d| d.key == "reassign:subtasks[0]").collect();
    assert!(
        reassigned[0].text.contains("from sherlock to hawk") && reassigned[0].text.contains("HTTP 500"),
        "{reassigned:?}"
    );
    let requests = fake.requests.lock().expect("lock").clone();
    assert!(requests[0].1.to_string().contains("agent: skill: task"), "the planning prompt");
    assert!(requests[1].1.to_string().contains("check how load handles errors"), "the subtask's own task");
}

/// The code action that runs the docs workflow on the project's `src/lib.rs`.
fn docs_workflow_action(lsp: &mut Lsp, root: &std::path::Path) -> serde_json::Value {
    let file = uri(root, "src/lib.rs");
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": file}, "range": range, "context": {"diagnostics": []}}),
    );
    actions["result"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["title"] == "PAIRED: document this file (docs workflow)")
        .expect("the docs workflow action")
        .clone()
}

/// The lines of `$/progress` reports the editor has been sent.
fn progress_reports(lsp: &Lsp) -> Vec<String> {
    lsp.backlog
        .iter()
        .filter(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "report")
        .filter_map(|m| m["params"]["value"]["message"].as_str().map(str::to_owned))
        .collect()
}

/// Every step of a workflow run from the editor is in its progress, even when
/// the step's own update never reached the proxy (a fast step can end before
/// the proxy listens for its session; CI saw `document[0]` missing): the
/// finished session's record says how each step ended.
#[test]
fn every_step_is_in_the_editors_progress_even_when_its_update_is_lost() {
    let home = Home::new();
    let root = project(&home, &[], "");
    let mut command = home.paired(&["lsp"]);
    command.env("PAIRED_TEST_LOSE_STEP_UPDATES", "1");
    let mut lsp = Lsp::spawn(command);
    lsp.initialize(&root);
    let docs = docs_workflow_action(&mut lsp, &root);
    lsp.choose = Some(0);
    let id = lsp.request_async("workspace/executeCommand", docs["command"].clone());
    let session = lsp.response(id, Duration::from_secs(20));
    assert_eq!(session["result"]["status"], "succeeded", "{session}");
    let steps: Vec<String> = session["result"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| format!("{} {}", s["key"].as_str().unwrap_or(""), s["status"].as_str().unwrap_or("")))
        .collect();
    assert!(steps.len() >= 2, "{session}");
    let reports = progress_reports(&lsp);
    for step in &steps {
        assert!(reports.iter().any(|r| r.starts_with(step.as_str())), "{step} reported: {reports:?}");
    }
}

/// The editor surface: a workflow from a code action, its steps as progress,
/// its edits through `workspace/applyEdit`, and a conflict put to the user.
#[test]
fn workflows_in_the_editor_over_lsp() {
    let home = Home::new();
    let root = project(&home, &[("web/Logo.tsx", A11Y)], "");
    write_workflow(&root, "ask", &verdict_workflow("ask"));
    let mut lsp = home.lsp();
    let init = lsp.initialize(&root);
    assert_eq!(init["result"]["capabilities"]["executeCommandProvider"]["commands"][1], "paired.runWorkflow");
    let docs = docs_workflow_action(&mut lsp, &root);
    // An editor without change-annotation review is asked first; it says "Apply".
    lsp.choose = Some(0);
    let id = lsp.request_async("workspace/executeCommand", docs["command"].clone());
    let apply = lsp.wait_for_method("workspace/applyEdit", Duration::from_secs(20));
    let asked = lsp.backlog.iter().position(|m| m["method"] == "window/showMessageRequest").expect("asked first");
    let asked = lsp.backlog.remove(asked);
    assert!(
        asked["params"]["message"].as_str().is_some_and(|m| m.ends_with("3 edit(s) in 1 file(s). Apply them?")),
        "{asked}"
    );
    let edits = apply["params"]["edit"]["documentChanges"][0]["edits"].as_array().expect("edits").clone();
    assert_eq!(edits.len(), 3, "one doc comment per undocumented definition: {apply}");
    let session = lsp.response(id, Duration::from_secs(20));
    assert_eq!(session["result"]["status"], "succeeded", "{session}");
    let reports = progress_reports(&lsp);
    assert!(reports.iter().any(|r| r.starts_with("document[0] succeeded (edison document)")), "{reports:?}");

    // The user settles a conflict from the editor.
    lsp.choose = Some(1);
    let id = lsp.request_async(
        "workspace/executeCommand",
        json!({"command": "paired.runWorkflow", "arguments": [{"workflow": "ask", "uri": uri(&root, "web/Logo.tsx")}]}),
    );
    let asked = lsp.wait_for_method("window/showMessageRequest", Duration::from_secs(20));
    assert!(asked["params"]["message"].as_str().is_some_and(|m| m.contains("contradictory verdicts")), "{asked}");
    let session = lsp.response(id, Duration::from_secs(20));
    assert_eq!(session["result"]["conflicts"][0]["winner"], "ux", "{session}");
    assert_eq!(session["result"]["conflicts"][0]["reasons"], "the user chose maya (ux)");
}

#[tokio::test]
async fn budgets_timeouts_and_backpressure_are_enforced() {
    let (port, fake) = serve_fake(vec![
        Reply::Hang,
        Reply::Hang,
        Reply::Sse(openai_text(&["short"])),
        Reply::Sse(openai_text(&["a long answer that uses up the budget of the whole workflow, and then some more"])),
    ])
    .await;
    let home = Home::new();
    let config = format!("{}[limits]\nmax_running = 1\ninteractive_reserved = 0\nmax_queued = 1\n", model_config(port));
    let root = project(&home, &[], &config);
    write_workflow(
        &root,
        "timed",
        "[[steps]]\nid = \"slow\"\nagent = \"alex\"\nprompt = \"x\"\ntimeout_secs = 1\nretries = 1\n",
    );
    let budget_workflow = |max: u64| {
        format!(
            "max_tokens = {max}\n[[steps]]\nid = \"first\"\nagent = \"alex\"\nprompt = \"x\"\n[[steps]]\nid = \"second\"\nagent = \"alex\"\nprompt = \"y\"\nneeds = [\"first\"]\ncontinue_on_error = true\n"
        )
    };
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;

    // A step past its timeout is cancelled and retried, then fails the session.
    let session = run(&client, RunWorkflowParams { wait: true, ..workflow_run("timed") }).await;
    assert_eq!(session.status, SessionStatus::Failed, "{session:#?}");
    let slow = step(&session, "slow");
    assert_eq!(slow.attempts, 2);
    assert_eq!(slow.error.as_deref(), Some("timed out after 1s (timeout_secs) (after 2 attempt(s))"));
    assert_eq!(fake.requests.lock().expect("lock").len(), 2);

    // The workflow's token budget: the first step spends it, the second is
    // refused before any request. What one such request costs, measured first:
    let alex = |prompt: &str| RunParams { prompt: Some(prompt.into()), ..agent_run("alex") };
    let measured = client.call::<agents::Run>(RunParams { wait: true, ..alex("x") }).await;
    let one = measured.tokens;
    assert!(one > 0, "tokens counted: {measured:?}");
    write_workflow(&root, "budget", &budget_workflow(one + 30));
    let session = run(&client, RunWorkflowParams { wait: true, ..workflow_run("budget") }).await;
    assert!(session.tokens > 0, "{session:#?}");
    let second = step(&session, "second");
    assert_eq!(second.status, StepStatus::Failed, "{session:#?}");
    assert!(second.error.as_ref().is_some_and(|e| e.contains("token budget")), "{second:?}");
    assert_eq!(fake.requests.lock().expect("lock").len(), 4, "no request for the refused step");

    // A run's own budget: refused before the request is sent.
    let run = client.call::<agents::Run>(RunParams { max_tokens: Some(5), wait: true, ..alex("hi") }).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.as_ref().is_some_and(|e| e.starts_with("the run's token budget (5) would be passed")), "{run:?}");
    assert_eq!(fake.requests.lock().expect("lock").len(), 4);

    // Backpressure: one run in flight, one waiting, the next refused with a clear error.
    *fake.fallback.lock().expect("lock") = Some(Reply::Hang);
    client.call::<agents::Run>(alex("1")).await; // runs
    client.call::<agents::Run>(alex("2")).await; // queues
    let refused = client.try_call::<agents::Run>(alex("3")).await.expect_err("a full queue refuses");
    assert_eq!(refused.message, "the daemon is busy: 1 runs are waiting (limit 1); try again shortly");
}

/// Issue #16.5: a workflow whose steps produced nothing asked for ends as
/// `no_result`, with each step's reason, not `succeeded`.
#[tokio::test]
async fn a_workflow_that_produced_nothing_says_so() {
    let home = Home::new();
    let workflow =
        "description = \"tests for the file\"\n[[steps]]\nid = \"tests\"\nagent = \"edison\"\nskill = \"tests\"\n";
    let root = project(&home, &[("src/settings.py", "TIMEOUT = 30\n"), (".paired/workflows/tests.toml", workflow)], "");
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let session = run(&client, on_file("tests", &uri(&root, "src/settings.py"), true)).await;
    assert_eq!(session.status, SessionStatus::NoResult, "{session:#?}");
    let tests = step(&session, "tests");
    assert_eq!(tests.status, StepStatus::NoResult);
    assert!(tests.error.as_deref().is_some_and(|e| e.contains("put the cursor in a function")), "{tests:?}");
    assert!(session.error.as_deref().is_some_and(|e| e.contains("no step produced a result")), "{session:?}");
    // The command line: exit code 3, neither success nor failure.
    let out = home
        .paired(&["workflow", "run", "tests", "--file", root.join("src/settings.py").to_str().expect("utf8")])
        .current_dir(&root)
        .output()
        .expect("workflow run");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Issue #16.5: a delegation none of whose sub-tasks did its part does not
/// say "succeeded" (python-humanize, tried as a user would: both of Edison's
/// sub-tasks came back empty and the session succeeded).
#[tokio::test]
async fn a_delegation_whose_subtasks_all_came_back_empty_does_not_succeed() {
    let home = Home::new();
    let size = "def naturalsize(value: float | str) -> str:\n    \"\"\"Format a number of bytes.\"\"\"\n    return str(value)\n";
    let root = project(&home, &[("src/size.py", size)], "");
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let params = RunWorkflowParams {
        prompt: Some("add a test for the naturalsize function and document naturalsize".into()),
        workspace: Some(root.display().to_string()),
        wait: true,
        ..workflow_run("delegate")
    };
    let session = run(&client, params).await;
    let subtasks: Vec<&StepRecord> = session.steps.iter().filter(|s| s.key.starts_with("subtasks[")).collect();
    assert!(!subtasks.is_empty() && subtasks.iter().all(|s| s.status != StepStatus::Succeeded), "{session:#?}");
    assert_ne!(session.status, SessionStatus::Succeeded, "{session:#?}");
    let out = home
        .paired(&[
            "workflow",
            "run",
            "delegate",
            "--prompt",
            "add a test for the naturalsize function and document naturalsize",
        ])
        .current_dir(&root)
        .output()
        .expect("workflow run");
    assert_ne!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !said.contains("FAILED") || subtasks.iter().any(|s| s.status == StepStatus::Failed),
        "a step with no result is not said to have failed: {said}"
    );
}

/// From ufo tried as a user would: "add a test for withQuery and review
/// src/parse.ts" gave every sub-task the whole request and the first name
/// it found (Sherlock reviewed src/utils.ts), and said "succeeded" with one
/// sub-task empty. Each part is now a task with its own file, and a request
/// done in part says so.
#[tokio::test]
async fn a_delegation_gives_each_part_its_own_file_and_a_part_undone_is_said() {
    let home = Home::new();
    let size = "def naturalsize(value):\n    \"\"\"Format a number of bytes.\"\"\"\n    return str(value)\n";
    let other = "def other(x):\n    try:\n        return int(x)\n    except:\n        pass\n";
    let root = project(&home, &[("src/size.py", size), ("src/other.py", other)], "");
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let params = RunWorkflowParams {
        prompt: Some("document naturalsize and review src/other.py".into()),
        workspace: Some(root.display().to_string()),
        wait: true,
        ..workflow_run("delegate")
    };
    let session = run(&client, params).await;
    let plan = step(&session, "subtasks");
    assert!(plan.output.contains("into 2 subtask(s) by its routing rules"), "{plan:?}");
    assert!(
        plan.output.contains("edison: document: document naturalsize (on `naturalsize` in src/size.py:1"),
        "{plan:?}"
    );
    assert!(plan.output.contains("sherlock: review: review src/other.py (on src/other.py"), "{plan:?}");
    let review = step(&session, "subtasks[1]");
    assert_eq!(review.status, StepStatus::Succeeded, "{review:?}");
    assert!(review.uri.as_deref().is_some_and(|u| u.ends_with("src/other.py")), "its own file: {review:?}");
    assert_eq!(step(&session, "subtasks[0]").status, StepStatus::NoResult, "documented already");
    assert_eq!(session.status, SessionStatus::NoResult, "{session:#?}");
    let error = session.error.as_deref().unwrap_or_default();
    assert!(error.contains("1 of 2 sub-task(s) not done: `subtasks[0]` (edison document)"), "{error}");
    // Said as the run said it: no result, not FAILED.
    let shown = home.paired(&["sessions", "show", &session.id]).output().expect("sessions show");
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("no result") && !shown.contains("FAILED"), "{shown}");
    // A part that names nothing ("it") works on what the part before it named.
    let params = RunWorkflowParams {
        prompt: Some("review src/other.py and document it".into()),
        workspace: Some(root.display().to_string()),
        wait: true,
        ..workflow_run("delegate")
    };
    let session = run(&client, params).await;
    let document = step(&session, "subtasks[1]");
    assert_eq!(document.skill, "document", "{session:#?}");
    assert!(document.uri.as_deref().is_some_and(|u| u.ends_with("src/other.py")), "{document:?}");
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    // A part naming two files is a sub-task each (python-humanize's "write
    // tests for intcomma and intword" tested intcomma alone).
    let params = RunWorkflowParams {
        prompt: Some("review src/size.py, src/other.py".into()),
        workspace: Some(root.display().to_string()),
        wait: true,
        ..workflow_run("delegate")
    };
    let session = run(&client, params).await;
    let mut reviewed: Vec<String> = session
        .steps
        .iter()
        .filter(|s| s.skill == "review")
        .filter_map(|s| s.uri.as_deref().and_then(|u| u.rsplit('/').next()).map(str::to_owned))
        .collect();
    reviewed.sort();
    assert_eq!(reviewed, ["other.py", "size.py"], "a sub-task each, in whichever order they ended: {session:#?}");
}

/// Issue #16.5: Alex resolves what a request names ("the parser") through the
/// index, and the file-scoped subtasks work on it.
#[tokio::test]
async fn delegate_finds_the_file_a_request_names() {
    let home = Home::new();
    let parser = "pub fn parse(text: &str) -> u32 {\n    text.trim().parse().unwrap()\n}\n";
    let root = project(&home, &[("src/parser.rs", parser), ("tests/parser.rs", "fn t() {}\n")], "");
    let _daemon = home.start_daemon();
    let client = open(&home, &root).await;
    let params = RunWorkflowParams {
        prompt: Some("review the parser".into()),
        workspace: Some(root.display().to_string()),
        wait: true,
        ..workflow_run("delegate")
    };
    let session = run(&client, params).await;
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    let plan = session.steps.iter().find(|s| s.skill == "plan").expect("plan");
    assert!(plan.output.contains("review the parser (on src/parser.rs, which it names)"), "{}", plan.output);
    let review = session.steps.iter().find(|s| s.skill == "review").expect("Sherlock's subtask");
    assert!(review.uri.as_deref().is_some_and(|u| u.ends_with("/src/parser.rs")), "{review:?}");
    assert!(review.findings.iter().any(|f| f.rule == "rust-unwrap" && f.line == 2), "{review:?}");
}
