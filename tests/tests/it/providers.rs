//! Model mode end to end: the real daemon against loopback HTTP servers that
//! speak the OpenAI and Anthropic streaming wire formats, scripted per
//! connection — text, tool calls, 429 with Retry-After, 500, hangs, malformed
//! SSE, a connection dropped mid-stream — and cancellation.

use std::time::{Duration, Instant};

use jsonrpsee::{core::client::Subscription, ws_client::WsClient};
use protocol::{
    agents::{self, CancelRun, ListRuns, ListRunsParams, RunInfo, RunParams, RunRef, RunStatus},
    client::{ClientKind, Event},
    documents::{Position, Range},
};
use serde_json::{Value, json};
use tests::{
    Home, Rpc, agent_run, attach, eventually,
    fake_provider::{
        Reply, anthropic, openai_text, openai_tool_call, openai_tool_call_in_pieces, openai_tool_calls, serve_fake,
        tool_results,
    },
    hello, next_event,
};

/// A project, a config naming the fake provider, and a daemon with its key.
fn setup(home: &Home, provider: &str) -> std::path::PathBuf {
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"proj\"\n").expect("write");
    std::fs::write(
        root.join("src/lib.rs"),
        "pub fn load(p: &str) -> String {\n    std::fs::read_to_string(p).unwrap()\n}\n",
    )
    .expect("write");
    std::fs::write(root.join(".env"), "STRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n").expect("write");
    std::fs::create_dir_all(root.join(".paired/agents")).expect("mkdir");
    std::fs::write(
        root.join(".paired/agents/ferris.toml"),
        "id = \"ferris\"\ntools = [\"read_file\"]\n[metadata]\nname = \"Ferris\"\nversion = \"1.0.0\"\nrole = \"dev\"\n[permissions]\nfs_read = [\"src/**\"]\n",
    )
    .expect("write");
    home.write_config(&format!("[agents]\nprovider = \"fake\"\n\n{provider}"));
    root.canonicalize().expect("canonical")
}

/// The daemon with the machine's toolchains (a model's edits are tried with
/// the project's own tools before they are proposed).
async fn start(home: &Home, root: &std::path::Path) -> (tests::Daemon, WsClient) {
    let mut command = home.paired_with_toolchains(&["daemon"]);
    command.env("FAKE_API_KEY", "sk-test-not-a-real-key-123");
    let daemon = home.start_daemon_command(command);
    let client = home.ws().await;
    tests::add_workspace(&client, root).await;
    (daemon, client)
}

fn openai_config(port: u16, extra: &str) -> String {
    format!(
        "[providers.fake]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"gpt-test\"\napi_key_env = \"FAKE_API_KEY\"\nmax_retries = 1\n{extra}"
    )
}

async fn ask(client: &WsClient, agent: &str, uri: Option<String>) -> RunInfo {
    let params = RunParams { prompt: Some("What does load do?".into()), uri, wait: true, ..agent_run(agent) };
    client.call::<agents::Run>(params).await
}

/// Waits for the first streamed text of run `id`: the model's answer is under way.
async fn first_text(events: &mut Subscription<Event>, id: &str) -> String {
    loop {
        if let Event::RunUpdate { run_id, output_delta: Some(text), .. } =
            next_event(events, Duration::from_secs(20)).await
            && run_id == id
        {
            return text;
        }
    }
}

#[tokio::test]
async fn openai_streams_text_and_runs_granted_tools() {
    let (port, fake) = serve_fake(vec![
        Reply::Sse(openai_tool_call("read_file", r#"{"path": "src/lib.rs"}"#)),
        Reply::Sse(openai_text(&["`load` reads ", "a file ", "and panics on errors."])),
    ])
    .await;
    let home = Home::new();
    let root = setup(&home, &openai_config(port, ""));
    let (_daemon, client) = start(&home, &root).await;
    let uri = format!("file://{}", root.join("src/lib.rs").display());
    let run = ask(&client, "sherlock", Some(uri)).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.skill, "ask");
    assert_eq!(run.output, "`load` reads a file and panics on errors.");
    assert_eq!(run.findings[0].rule, "rust-unwrap", "grounded in the offline review");
    let requests = fake.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 2);
    let (head, first) = &requests[0];
    assert!(head.starts_with("POST /v1/chat/completions"), "{head}");
    assert!(head.to_ascii_lowercase().contains("authorization: bearer sk-test-not-a-real-key-123"), "{head}");
    assert_eq!(first["model"], "gpt-test");
    assert_eq!(first["stream"], true);
    assert!(first["messages"][0]["content"].as_str().is_some_and(|s| s.contains("You are Sherlock")), "{first}");
    assert!(first["messages"][1]["content"].as_str().is_some_and(|s| s.contains("rust-unwrap")));
    let tools: Vec<&str> =
        first["tools"].as_array().expect("tools").iter().filter_map(|t| t["function"]["name"].as_str()).collect();
    assert!(tools.contains(&"read_file"), "{tools:?}");
    let second = &requests[1].1;
    let tool_message =
        second["messages"].as_array().expect("messages").iter().find(|m| m["role"] == "tool").expect("tool result");
    assert_eq!(tool_message["tool_call_id"], "call_1");
    assert!(tool_message["content"].as_str().is_some_and(|c| c.contains("pub fn load")), "{tool_message}");
    // The key never reaches the log.
    assert!(!home.log().contains("sk-test-not-a-real-key-123"));
}

#[tokio::test]
async fn a_tool_call_outside_the_grants_is_refused_and_never_runs() {
    let (port, fake) = serve_fake(vec![
        Reply::Sse(openai_tool_call("read_file", r#"{"path": ".env"}"#)),
        Reply::Sse(openai_text(&["I could not read it."])),
    ])
    .await;
    let home = Home::new();
    let root = setup(&home, &openai_config(port, ""));
    let (_daemon, client) = start(&home, &root).await;
    let run = ask(&client, "ferris", None).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert!(run.output.contains("[tool read_file refused: Ferris may not read .env"), "{run:?}");
    let requests = fake.requests.lock().expect("lock").clone();
    let second = requests[1].1.to_string();
    assert!(second.contains("refused: Ferris may not read .env: its fs_read grants are [src/**]"), "{second}");
    assert!(!second.contains("sk_live_4eC39HqLyjWDarjtT1zdp7dc"), "the file was never read");
}

#[tokio::test]
async fn edits_findings_and_other_agents_through_tools_within_grants() {
    let (port, fake) = serve_fake(vec![
        Reply::Sse(openai_tool_calls(&[
            ("propose_edit", r#"{"path": "src/lib.rs", "start_line": 2, "end_line": 2, "new_text": "    std::fs::read_to_string(p).unwrap_or_default()"}"#),
            ("propose_edit", r#"{"path": "Cargo.toml", "start_line": 1, "end_line": 1, "new_text": "[workspace]"}"#),
            ("publish_diagnostics", r#"{"path": "src/lib.rs", "line": 2, "severity": "warning", "message": "panics on a missing file"}"#),
            ("ask_agent", r#"{"agent": "qa", "path": "src/lib.rs"}"#),
            ("ask_agent", r#"{"agent": "arch"}"#),
            // A line the file does not have.
            ("publish_diagnostics", r#"{"path": "src/lib.rs", "line": 9, "message": "panics"}"#),
        ])),
        Reply::Sse(openai_text(&["Proposed a fix."])),
    ])
    .await;
    let home = Home::new();
    let root = setup(&home, &openai_config(port, ""));
    std::fs::write(
        root.join(".paired/agents/ferris.toml"),
        "id = \"ferris\"\ntools = [\"propose_edit\", \"publish_diagnostics\", \"ask_agent\"]\n[metadata]\nname = \"Ferris\"\nversion = \"1.0.0\"\nrole = \"dev\"\n[permissions]\nfs_read = [\"src/**\"]\nfs_write = [\"src/**\"]\n",
    )
    .expect("write");
    let (_daemon, client) = start(&home, &root).await;
    let run = ask(&client, "ferris", None).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let edits = &run.edits;
    assert_eq!(edits.len(), 1, "only the granted edit: {run:?}");
    assert!(edits[0].uri.ends_with("/src/lib.rs"));
    let line = |line| Position { line, character: 0 };
    assert_eq!(edits[0].range, Range { start: line(1), end: line(2) });
    assert_eq!(edits[0].new_text, "    std::fs::read_to_string(p).unwrap_or_default()\n");
    assert_eq!(run.findings[0].line, 2);
    assert_eq!(run.findings[0].message, "panics on a missing file");
    let results = tool_results(&fake.requests.lock().expect("lock")[1].1);
    assert_eq!(results.len(), 6);
    assert_eq!(results[5], "refused: src/lib.rs has 3 lines: line 9 is past its end");
    assert_eq!(run.findings.len(), 1, "{run:?}");
    assert!(results[0].starts_with("proposed: lines 2-2 of src/lib.rs"), "{results:?}");
    // Tried with the crate's own tools first.
    assert!(results[0].contains("clippy: ") && results[0].contains("cargo test: 0 tests pass"), "{results:?}");
    assert_eq!(results[1], "refused: Ferris may not write Cargo.toml: its fs_write grants are [src/**]");
    assert!(
        results[3].contains("Sherlock reviewed `src/lib.rs`") && results[3].contains("[rust-unwrap]"),
        "{results:?}"
    );
    // A workspace-wide report is drawn from every file, .env included: not for Ferris.
    assert_eq!(
        results[4],
        "refused: Ferris may ask for a report on a file it may read, not on the whole workspace: its fs_read grants are [src/**]"
    );
}

/// An edit streams to the editors as the model writes it (for a live diff),
/// where the agent may write; the finished run's edit is the one reviewed.
#[tokio::test]
async fn an_edit_streams_as_the_model_writes_it() {
    let new_text = "pub fn load(p: &str) -> String {\n    // «missing is empty»\n    std::fs::read_to_string(p).unwrap_or_default()\n}\n";
    let text = serde_json::to_string(new_text).expect("json");
    let granted = format!(r#"{{"path": "src/lib.rs", "start_line": 1, "end_line": 3, "new_text": {text}}}"#);
    let refused = format!(r#"{{"path": "Cargo.toml", "start_line": 1, "end_line": 1, "new_text": {text}}}"#);
    let paced = |arguments: &str| Reply::Stream {
        content_type: "text/event-stream",
        chunks: openai_tool_call_in_pieces("propose_edit", arguments, 6),
        gap: Duration::from_millis(5),
        stall: false,
    };
    let (port, _fake) = serve_fake(vec![
        paced(&granted),
        Reply::Sse(openai_text(&["Proposed."])),
        paced(&refused),
        Reply::Sse(openai_text(&["Proposed."])),
    ])
    .await;
    let home = Home::new();
    // Trying edits is not what this is about (and a cold build may pass the
    // 20 s between events).
    let root = setup(&home, &openai_config(port, "\n[sandbox]\ntry_edits = false\n"));
    std::fs::write(
        root.join(".paired/agents/ferris.toml"),
        "id = \"ferris\"\ntools = [\"propose_edit\"]\n[metadata]\nname = \"Ferris\"\nversion = \"1.0.0\"\nrole = \"dev\"\n[permissions]\nfs_read = [\"src/**\"]\nfs_write = [\"src/**\"]\n",
    )
    .expect("write");
    let (_daemon, client) = start(&home, &root).await;
    let mut events = attach(&client, hello(ClientKind::Other, "watcher")).await;
    for (expect_pieces, what) in [(true, "src/lib.rs, granted"), (false, "Cargo.toml, not granted")] {
        let started =
            client.call::<agents::Run>(RunParams { prompt: Some("fix load".into()), ..agent_run("ferris") }).await;
        let mut pieces = Vec::new();
        loop {
            match next_event(&mut events, Duration::from_secs(20)).await {
                Event::RunEdit { run_id, call, uri, range, text, .. } if run_id == started.id => {
                    pieces.push((call, uri, range, text));
                }
                Event::RunUpdate { run_id, status, .. } if run_id == started.id && status != RunStatus::Running => {
                    assert_eq!(status, RunStatus::Succeeded, "{what}");
                    break;
                }
                _ => {}
            }
        }
        let run = client.call::<agents::GetRun>(RunRef { run_id: started.id, wait: true }).await;
        if !expect_pieces {
            assert_eq!(pieces, [], "{what}: nothing is shown of an edit the agent may not make");
            assert!(run.edits.is_empty(), "{run:?}");
            continue;
        }
        assert!(pieces.len() >= 3, "{what}: shown as it comes, not at once: {pieces:?}");
        let joined: String = pieces.iter().map(|p| p.3.as_str()).collect();
        assert_eq!(joined, new_text, "{what}: every piece, in order");
        let line = |line| Position { line, character: 0 };
        for (call, uri, range, _) in &pieces {
            assert_eq!((call.as_str(), uri.ends_with("/src/lib.rs")), ("0.0", true));
            assert_eq!(*range, Range { start: line(0), end: line(3) });
        }
        assert_eq!(run.edits.len(), 1);
        assert_eq!(run.edits[0].new_text, new_text, "the finished edit is the one streamed");
    }
}

/// A model's edit is tried on a copy of the project with the project's own
/// tools before it is proposed (#16.4): one that breaks an existing test, and
/// a new test that does not pass, are refused with what broke, in pytest's
/// words, for the model to correct; the corrected test is proposed, saying
/// what ran. The project is never touched.
#[tokio::test]
async fn a_models_edit_that_breaks_the_project_is_refused_with_what_broke() {
    let call = |path: &str, start: u32, end: u32, text: &str| {
        let arguments = json!({"path": path, "start_line": start, "end_line": end, "new_text": text}).to_string();
        Reply::Sse(openai_tool_call("propose_edit", &arguments))
    };
    let (port, fake) = serve_fake(vec![
        call("calc.py", 2, 2, "    return a - b"),
        call("tests/test_calc.py", 6, 5, "\n\ndef test_sub():\n    assert sub(3, 1) == 2"),
        call("tests/test_calc.py", 6, 5, "\n\ndef test_add_negative():\n    assert add(-1, -2) == -3"),
        // The same lines again replace that edit.
        call("tests/test_calc.py", 6, 5, "\n\ndef test_add_negatives():\n    assert add(-1, -2) == -3"),
        // A rename and its caller: each alone breaks the tests, together they pass.
        Reply::Sse(openai_tool_calls(&[
            ("propose_edit", r#"{"path": "calc.py", "start_line": 1, "end_line": 1, "new_text": "def plus(a, b):"}"#),
            ("propose_edit", r#"{"path": "tests/test_calc.py", "start_line": 1, "end_line": 1, "new_text": "from calc import plus as add"}"#),
        ])),
        Reply::Sse(openai_text(&["A test for negative numbers."])),
    ])
    .await;
    let pytest =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join("pytest").is_file());
    assert!(pytest, "this test needs pytest on PATH (scripts/test installs it)");
    let home = Home::new();
    let root = setup(&home, &openai_config(port, ""));
    std::fs::remove_file(root.join("Cargo.toml")).expect("not a crate");
    std::fs::write(root.join("calc.py"), "def add(a, b):\n    return a + b\n").expect("write");
    std::fs::create_dir_all(root.join("tests")).expect("mkdir");
    let tests_before = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n";
    std::fs::write(root.join("tests/test_calc.py"), tests_before).expect("write");
    std::fs::write(root.join("pyproject.toml"), "[tool.pytest.ini_options]\npythonpath = [\".\"]\n").expect("write");
    std::fs::write(
        root.join(".paired/agents/ferris.toml"),
        "id = \"ferris\"\ntools = [\"propose_edit\"]\n[metadata]\nname = \"Ferris\"\nversion = \"1.0.0\"\nrole = \"dev\"\n[permissions]\nfs_read = [\"**\"]\nfs_write = [\"calc.py\", \"tests/**\"]\n",
    )
    .expect("write");
    let (_daemon, client) = start(&home, &root).await;
    let run = ask(&client, "ferris", None).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");

    let results = tool_results(&fake.requests.lock().expect("lock")[5].1);
    assert_eq!(results.len(), 6, "{results:?}");
    assert!(
        results[0].starts_with("refused: tried on a copy of the project with the run's edits, it breaks it"),
        "{results:?}"
    );
    assert!(
        results[0].contains("pytest: `") && results[0].contains("test_add` fails"),
        "the broken test named: {results:?}"
    );
    assert!(results[1].contains("test_sub` fails") && results[1].contains("NameError"), "{results:?}");
    assert!(
        results[2].starts_with("proposed: new lines at line 6 of tests/test_calc.py; tried on a copy of the project")
            && results[2].contains("pytest: 2 tests pass"),
        "{results:?}"
    );
    assert!(
        results[3].starts_with(
            "proposed: new lines at line 6 of tests/test_calc.py (in place of your earlier edit of these lines); tried on a copy of the project"
        ),
        "{results:?}"
    );
    for together in &results[4..6] {
        assert!(
            together.starts_with("proposed: lines 1-1 of ") && together.contains("pytest: 2 tests pass"),
            "{results:?}"
        );
    }
    assert_eq!(run.edits.len(), 3, "the edits that work, the test as corrected: {run:?}");
    let test = run.edits.iter().find(|e| e.new_text.contains("def test_")).expect("the test");
    assert!(test.uri.ends_with("/tests/test_calc.py") && test.new_text.contains("test_add_negatives"), "{run:?}");
    assert!(run.output.contains("pytest: 2 tests pass"), "the user sees what was tried: {}", run.output);
    assert!(
        run.output.contains("[proposed lines 1-1 of calc.py, lines 1-1 of tests/test_calc.py; tried on a copy"),
        "the two edits of one response tried together: {}",
        run.output
    );
    assert_eq!(std::fs::read_to_string(root.join("tests/test_calc.py")).expect("read"), tests_before);
    assert_eq!(std::fs::read_to_string(root.join("calc.py")).expect("read"), "def add(a, b):\n    return a + b\n");
}

#[tokio::test]
async fn the_context_sent_to_a_model_holds_only_files_the_agent_may_read() {
    let (port, fake) =
        serve_fake(vec![Reply::Sse(openai_text(&["ferris"])), Reply::Sse(openai_text(&["sherlock"]))]).await;
    let home = Home::new();
    let root = setup(&home, &openai_config(port, ""));
    std::fs::write(root.join("src/report.rs"), "pub fn report() -> u32 {\n    vault_layout() + 1\n}\n").expect("write");
    std::fs::create_dir_all(root.join("vendor")).expect("mkdir");
    std::fs::write(root.join("vendor/vault.rs"), "pub fn vault_layout() -> u32 {\n    4242 * 7\n}\n").expect("write");
    let (_daemon, client) = start(&home, &root).await;
    let uri = format!("file://{}", root.join("src/report.rs").display());
    for agent in ["ferris", "sherlock"] {
        let params = RunParams {
            skill: Some("ask".into()),
            prompt: Some("Explain.".into()),
            uri: Some(uri.clone()),
            position: Some(Position { line: 1, character: 6 }),
            wait: true,
            ..agent_run(agent)
        };
        let run = client.call::<agents::Run>(params).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    }
    let requests = fake.requests.lock().expect("lock").clone();
    let prompt = |i: usize| requests[i].1["messages"][1]["content"].as_str().unwrap_or("").to_owned();
    // Ferris (fs_read = src/**) sees its file but not the definition in vendor/.
    assert!(prompt(0).contains("vault_layout() + 1"), "{}", prompt(0));
    assert!(!prompt(0).contains("4242"), "{}", prompt(0));
    // Sherlock may read everything: the definition is there (the check can fail).
    assert!(prompt(1).contains("4242 * 7"), "{}", prompt(1));
}

#[tokio::test]
async fn anthropic_streams_text_and_tool_use() {
    let (port, fake) = serve_fake(vec![
        Reply::Sse(anthropic(
            &[json!({"id": "toolu_1", "name": "search_symbols", "input": {"query": "load"}})],
            "tool_use",
        )),
        Reply::Sse(anthropic(&[json!({"text": "It is in src/lib.rs."})], "end_turn")),
    ])
    .await;
    let home = Home::new();
    let config = format!(
        "[providers.fake]\nkind = \"anthropic\"\nbase_url = \"http://127.0.0.1:{port}\"\nmodel = \"claude-test\"\napi_key_env = \"FAKE_API_KEY\"\n"
    );
    let root = setup(&home, &config);
    let (_daemon, client) = start(&home, &root).await;
    let run = ask(&client, "alex", None).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.output, "It is in src/lib.rs.");
    let requests = fake.requests.lock().expect("lock").clone();
    let (head, first) = &requests[0];
    assert!(head.starts_with("POST /v1/messages"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("x-api-key: sk-test-not-a-real-key-123") && lower.contains("anthropic-version: 2023-06-01"));
    assert!(first["system"].as_str().is_some_and(|s| s.contains("You are Alex")));
    let second = &requests[1].1;
    let result = &second["messages"][2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["tool_use_id"], "toolu_1");
    assert!(result["content"].as_str().is_some_and(|c| c.contains("function load src/lib.rs:1")), "{result}");
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_delay_the_server_asks() {
    let (port, fake) = serve_fake(vec![
        Reply::Status(429, vec![("retry-after", "1")], r#"{"error": {"message": "Rate limit reached"}}"#),
        Reply::Sse(openai_text(&["ok"])),
    ])
    .await;
    let home = Home::new();
    let root = setup(&home, &openai_config(port, ""));
    let (_daemon, client) = start(&home, &root).await;
    let started = Instant::now();
    let run = ask(&client, "alex", None).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited for Retry-After");
    assert_eq!(fake.requests.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn failures_end_in_a_clear_result() {
    // 500 twice (one retry allowed), a hang, malformed SSE, a dropped stream.
    let (port, fake) = serve_fake(vec![
        Reply::Status(500, vec![], r#"{"error": {"message": "upstream exploded"}}"#),
        Reply::Status(500, vec![], r#"{"error": {"message": "upstream exploded"}}"#),
        Reply::Hang,
        Reply::Hang,
        Reply::Sse(vec!["data: {not json\n\n".into()]),
        Reply::SseThenDrop(openai_text(&["partial ", "answer"])[..2].to_vec()),
    ])
    .await;
    let home = Home::new();
    let root = setup(&home, &openai_config(port, "read_timeout_secs = 1\n"));
    let (_daemon, client) = start(&home, &root).await;
    let expect_failure = |run: &RunInfo, wanted: &str| {
        assert_eq!(run.status, RunStatus::Failed, "{run:?}");
        let error = run.error.as_deref().unwrap_or("");
        assert!(error.contains(wanted), "{error:?} should say {wanted:?}");
    };
    expect_failure(&ask(&client, "alex", None).await, "gave up after 2 attempt(s); last: http://127.0.0.1");
    expect_failure(&ask(&client, "alex", None).await, "timed out");
    expect_failure(&ask(&client, "alex", None).await, "malformed stream: not JSON");
    let requests_before = fake.requests.lock().expect("lock").len();
    let broken = ask(&client, "alex", None).await;
    expect_failure(&broken, "the stream broke after output had started");
    assert_eq!(broken.output, "partial answer", "what streamed before the break is kept on the run");
    assert_eq!(fake.requests.lock().expect("lock").len(), requests_before + 1, "never retried once output streamed");
}

#[tokio::test]
async fn failover_to_the_next_endpoint_and_cancel_aborts_the_request() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let (port, fake) = serve_fake(vec![
        Reply::Sse(openai_text(&["from the live one"])),
        Reply::SseThenStall(openai_text(&["thinking"])[..1].to_vec()),
    ])
    .await;
    let home = Home::new();
    let config = format!(
        "[providers.fake]\nkind = \"openai\"\nbase_urls = [\"http://127.0.0.1:{dead}/v1\", \"http://127.0.0.1:{port}/v1\"]\nmodel = \"m\"\nmax_retries = 2\n"
    );
    let root = setup(&home, &config);
    let (_daemon, client) = start(&home, &root).await;
    let run = ask(&client, "alex", None).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.output, "from the live one");
    let head = fake.requests.lock().expect("lock")[0].0.to_ascii_lowercase();
    assert!(!head.contains("authorization"), "a local model needs no key: {head}");

    // A run that stalls mid-stream, cancelled: the HTTP request is aborted.
    let mut events = attach(&client, hello(ClientKind::Other, "watcher")).await;
    let started = client.call::<agents::Run>(RunParams { prompt: Some("long one".into()), ..agent_run("alex") }).await;
    assert_eq!(first_text(&mut events, &started.id).await, "thinking", "mid-stream");
    let cancelled = client.call::<CancelRun>(RunRef { run_id: started.id, wait: false }).await;
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    eventually("the provider to see the request go away", async || *fake.closed_by_client.lock().expect("lock")).await;
}

/// `$/cancelRequest` on a long agent run in the editor cancels the run in the
/// daemon, which aborts the model's HTTP request.
#[test]
fn cancelling_from_the_editor_aborts_the_model_call() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (port, fake) =
        runtime.block_on(serve_fake(vec![Reply::SseThenStall(openai_text(&["thinking"])[..1].to_vec())]));
    let home = Home::new();
    let root = setup(&home, &openai_config(port, ""));
    let _daemon = home.start_daemon_with(&[("FAKE_API_KEY", "sk-test-not-a-real-key-123")]);
    // A watcher of the daemon's events, to see the answer start streaming.
    let (_watcher, mut events) = runtime.block_on(async {
        let client = home.ws().await;
        let events = attach(&client, hello(ClientKind::Other, "watcher")).await;
        (client, events)
    });
    let mut lsp = home.lsp();
    lsp.initialize(&root);
    let id = lsp.request_async(
        "workspace/executeCommand",
        json!({"command": "paired.runAgent", "arguments": [{"agent": "alex", "prompt": "take your time"}]}),
    );
    let text = runtime.block_on(async {
        loop {
            if let Event::RunUpdate { output_delta: Some(text), .. } =
                next_event(&mut events, Duration::from_secs(20)).await
            {
                return text;
            }
        }
    });
    assert_eq!(text, "thinking", "cancelled mid-stream");
    lsp.notify("$/cancelRequest", json!({"id": id}));
    let reply = lsp.response(id, Duration::from_secs(20));
    assert_eq!(reply["error"]["code"], -32800, "{reply}");
    tests::wait_until("the provider to see the request go", Duration::from_secs(20), || {
        *fake.closed_by_client.lock().expect("lock")
    });
    let runs = lsp.call::<ListRuns>(ListRunsParams { limit: Some(1) });
    assert_eq!(runs[0].status, RunStatus::Cancelled, "{runs:?}");
}

/// `paired providers set-key ENTRY` with the key on standard input.
fn set_key(home: &Home, bus: &str, entry: &str, key: &str) {
    use std::io::Write;
    let mut child = home
        .paired(&["providers", "set-key", entry])
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn set-key");
    child.stdin.take().expect("stdin").write_all(format!("{key}\n").as_bytes()).expect("write key");
    let out = child.wait_with_output().expect("set-key");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "set-key failed: {stdout}{stderr}");
    assert!(stdout.contains(&format!("api_key_keyring = \"{entry}\"")), "{stdout}");
    assert!(!stdout.contains(key) && !stderr.contains(key), "the key is never printed");
}

#[tokio::test]
async fn api_keys_come_from_the_os_keyring_and_a_rotated_key_is_picked_up() {
    let home = Home::new();
    let keyring = tests::SecretService::start(home.path());
    let bus = keyring.address.clone();
    let (first, second) = ("sk-keyring-first-4f1e2d", "sk-keyring-second-9a8b7c");
    set_key(&home, &bus, "fake", first);
    let (port, fake) = serve_fake(vec![
        Reply::Sse(openai_text(&["first answer"])),
        Reply::Status(401, vec![], r#"{"error": {"message": "Incorrect API key provided"}}"#),
        Reply::Sse(openai_text(&["second answer"])),
    ])
    .await;
    let provider = format!(
        "[providers.fake]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"gpt-test\"\napi_key_keyring = \"fake\"\nmax_retries = 0\n\
         [providers.unset]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"gpt-test\"\napi_key_keyring = \"never-stored\"\n\
         [agents.providers]\nedison = \"unset\"\n"
    );
    let root = setup(&home, &provider);

    // What the daemon would use, checked before it starts.
    let listed =
        home.paired(&["providers", "list", "--json"]).env("DBUS_SESSION_BUS_ADDRESS", &bus).output().expect("list");
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("providers list --json");
    assert_eq!(listed["providers"][0]["name"], "fake");
    assert_eq!(listed["providers"][0]["key_status"], "ok", "{listed}");
    assert_eq!(listed["providers"][0]["used_by"], json!(["default"]));
    assert!(
        listed["providers"][1]["key_status"].as_str().is_some_and(|s| s.contains("set-key never-stored")),
        "{listed}"
    );

    let _daemon = home.start_daemon_with(&[("DBUS_SESSION_BUS_ADDRESS", &bus)]);
    let client = home.ws().await;
    tests::add_workspace(&client, &root).await;
    let run = ask(&client, "alex", None).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.output, "first answer");

    // The key is rotated in the keyring: the API refuses the old one once, with a
    // message saying where the key lives, and the next run reads the new one.
    set_key(&home, &bus, "fake", second);
    let refused = ask(&client, "alex", None).await;
    assert_eq!(refused.status, RunStatus::Failed, "{refused:?}");
    let error = refused.error.as_deref().unwrap_or("");
    assert!(error.contains("HTTP 401") && error.contains("paired providers set-key fake"), "{error}");
    let run = ask(&client, "alex", None).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.output, "second answer");
    let heads: Vec<String> =
        fake.requests.lock().expect("lock").iter().map(|(head, _)| head.to_ascii_lowercase()).collect();
    assert_eq!(heads.len(), 3);
    assert!(heads[0].contains(&format!("authorization: bearer {first}")), "{}", heads[0]);
    assert!(heads[1].contains(&format!("authorization: bearer {first}")), "{}", heads[1]);
    assert!(heads[2].contains(&format!("authorization: bearer {second}")), "{}", heads[2]);

    // An entry that was never stored: a clear failure, no request made.
    let missing = ask(&client, "edison", None).await;
    assert_eq!(missing.status, RunStatus::Failed, "{missing:?}");
    let error = missing.error.as_deref().unwrap_or("");
    assert!(
        error.contains("no entry paired/never-stored") && error.contains("paired providers set-key never-stored"),
        "{error}"
    );
    assert_eq!(fake.requests.lock().expect("lock").len(), 3);

    let log = home.log();
    assert!(!log.contains(first) && !log.contains(second), "keys never reach the log");
}

/// Issue #16.7: Ctrl-C in `paired agents run` cancels the run in the daemon
/// (which aborts the model's request), instead of leaving the model called and
/// billed after the command is gone; the command exits 130.
#[test]
fn ctrl_c_in_the_cli_cancels_the_run_in_the_daemon() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (port, fake) =
        runtime.block_on(serve_fake(vec![Reply::SseThenStall(openai_text(&["thinking"])[..1].to_vec())]));
    let home = Home::new();
    let root = setup(&home, &openai_config(port, ""));
    let _daemon = home.start_daemon_with(&[("FAKE_API_KEY", "sk-test-not-a-real-key-123")]);
    let file = root.join("src/lib.rs");
    let cli = home
        .paired(&["agents", "run", "alex", "--file", file.to_str().expect("utf-8"), "--prompt", "take your time"])
        .current_dir(&root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("paired agents run");
    tests::wait_until("the model's answer to start", Duration::from_secs(20), || {
        !fake.requests.lock().expect("lock").is_empty()
    });
    std::thread::sleep(Duration::from_millis(200));
    // Ctrl-C, as a terminal sends it.
    let sent = std::process::Command::new("kill").args(["-INT", &cli.id().to_string()]).status().expect("kill");
    assert!(sent.success());
    let out = cli.wait_with_output().expect("exited");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(said.contains("interrupted: run-") && said.contains("cancelled"), "{said}");
    tests::wait_until("the provider to see the request go", Duration::from_secs(20), || {
        *fake.closed_by_client.lock().expect("lock")
    });
    let client = runtime.block_on(home.ws());
    let runs = runtime.block_on(client.call::<ListRuns>(ListRunsParams { limit: Some(1) }));
    assert_eq!(runs[0].status, RunStatus::Cancelled, "{runs:?}");
}

/// Issue #16.6: `paired providers test NAME` sends one short request as a run
/// would (same key lookup and timeouts) and says how it went; an unreachable
/// provider is a clear failure, an unknown name lists the defined ones.
#[test]
fn providers_test_sends_one_request_and_says_how_it_went() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (port, fake) = runtime.block_on(serve_fake(vec![Reply::Sse(openai_text(&["O", "K"]))]));
    let home = Home::new();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    home.write_config(&format!(
        "{}[providers.gone]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{dead}/v1\"\nmodel = \"m\"\nmax_retries = 0\nconnect_timeout_secs = 2\n",
        openai_config(port, "")
    ));
    let test = |name: &str| {
        let out = home.paired(&["providers", "test", name]).env("FAKE_API_KEY", "sk-test-not-a-real-key-123").output();
        let out = out.expect("paired");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, said, _) = test("fake");
    assert!(
        ok && said.contains("answered in") && said.contains("\"OK\"") && said.contains("redacted (not marked local)"),
        "{said}"
    );
    let sent = fake.requests.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1, "one request");
    assert!(
        sent[0].0.to_ascii_lowercase().contains("authorization: bearer sk-test-not-a-real-key-123"),
        "with the key"
    );
    let (ok, _, err) = test("gone");
    assert!(!ok && err.contains("provider gone") && err.contains("did not answer"), "{err}");
    let (ok, _, err) = test("nope");
    assert!(!ok && err.contains("no provider named \"nope\"") && err.contains("fake, gone"), "{err}");
}

/// Issue #16.6: `paired setup` finds a model server running here, lists its
/// models, writes the provider (keeping the user's own config text) and
/// tests it with one request; with none running it says what to do.
#[tokio::test]
async fn setup_finds_a_local_server_writes_the_config_and_tests_it() {
    use tests::fake_provider::{Reply, openai_text, serve_fake};
    let (port, fake) = serve_fake(vec![Reply::Sse(openai_text(&["OK"]))]).await;
    let home = Home::new();
    let config = home.write_config("# my settings\n[agents]\nalways_redact = false\n");
    let servers = format!("ollama=http://127.0.0.1:1,llamacpp=http://127.0.0.1:{port}");
    let setup = {
        let mut command = home.paired(&["setup", "--yes"]);
        command.env("PAIRED_TEST_SETUP_SERVERS", &servers);
        tokio::task::spawn_blocking(move || command.output().expect("setup")).await.expect("join")
    };
    let stdout = String::from_utf8_lossy(&setup.stdout);
    assert!(setup.status.success(), "{stdout}{}", String::from_utf8_lossy(&setup.stderr));
    assert!(
        stdout.contains(&format!("found llamacpp at http://127.0.0.1:{port} with 2 model(s): fake-coder, fake-chat")),
        "{stdout}"
    );
    assert!(stdout.contains("llamacpp (fake-coder at") && stdout.contains("answered in"), "tested: {stdout}");
    let written = std::fs::read_to_string(&config).expect("config");
    assert!(
        written.starts_with("# my settings\n[agents]\nprovider = \"llamacpp\"\nalways_redact = false\n"),
        "{written}"
    );
    assert!(written.contains(&format!("[providers.llamacpp]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"fake-coder\"\nlocal = true")), "{written}");
    assert_eq!(fake.requests.lock().expect("lock").len(), 1, "one short request");
    // Again: the provider is there already, and nothing is rewritten.
    let again = {
        let mut command = home.paired(&["setup", "--yes"]);
        command.env("PAIRED_TEST_SETUP_SERVERS", &servers);
        tokio::task::spawn_blocking(move || command.output().expect("setup")).await.expect("join")
    };
    assert!(
        !again.status.success() && String::from_utf8_lossy(&again.stderr).contains("has [providers.llamacpp] already")
    );
    assert_eq!(std::fs::read_to_string(&config).expect("config"), written);
    // Nothing running: what to do instead.
    let empty = Home::new();
    let none = {
        let mut command = empty.paired(&["setup", "--yes"]);
        command.env("PAIRED_TEST_SETUP_SERVERS", "ollama=http://127.0.0.1:1");
        tokio::task::spawn_blocking(move || command.output().expect("setup")).await.expect("join")
    };
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert!(
        !none.status.success() && stderr.contains("no model server answered") && stderr.contains("--cloud"),
        "{stderr}"
    );
}
