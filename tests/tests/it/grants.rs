//! Agents stay inside their grants (#14), each point found by attack: the
//! `build_context` tool, `ask_agent` on a file, a symbolic link into an ignored
//! folder (or out of the workspace), and paths from elsewhere (`..`, another
//! project's absolute path), through `context/*`, `agents/run`, a model's
//! tools, the index and the 1.0 bridge.

use std::path::{Path, PathBuf};

use jsonrpsee::ws_client::WsClient;
use protocol::{
    agents::{self, RunParams, RunStatus},
    context::{Build, Outline, OutlineParams, SymbolQuery, Symbols},
};
use serde_json::json;
use tests::{
    Home, Rpc, agent_run, build_at, eventually,
    fake_provider::{Fake, Reply, openai_text, openai_tool_calls, serve_fake},
};

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// An agent manifest in the project, with the model's tools.
fn agent(root: &Path, id: &str, role: &str, fs_read: &str) {
    let name = format!("{}{}", id[..1].to_uppercase(), &id[1..]);
    write(
        &root.join(format!(".paired/agents/{id}.toml")),
        &format!(
            "id = \"{id}\"\ntools = [\"read_file\", \"search_symbols\", \"build_context\", \"ask_agent\"]\n[metadata]\nname = \"{name}\"\nversion = \"1.0.0\"\nrole = \"{role}\"\n[permissions]\nfs_read = [{fs_read}]\n"
        ),
    );
}

/// `src/` (what Ferris may read) uses `vaultdir/` (what it may not); `secret/`
/// is ignored and linked from `src/seclink`; `src/outlink` leads out of the
/// workspace; `other/` is another project beside it.
fn project(home: &Home) -> PathBuf {
    let root = home.path().join("proj");
    write(
        &root.join("src/app.py"),
        "from vaultdir.private import vault_layout\n\n\ndef report():\n    # TODO: granted task in src\n    return vault_layout() + 1\n",
    );
    write(
        &root.join("vaultdir/private.py"),
        "def vault_layout():\n    # TODO: PRIVATE_TODO_MARKER\n    return 4242 * 7  # PRIVATE_BODY_MARKER\n",
    );
    write(&root.join(".gitignore"), "secret/\n");
    write(&root.join("secret/key.py"), "def leaked_secret_function():\n    return 'SECRET_FILE_MARKER'\n");
    std::os::unix::fs::symlink("../secret", root.join("src/seclink")).expect("symlink");
    write(&home.path().join("outside/lib.py"), "def outside_initial_function():\n    return 'OUTSIDE_MARKER'\n");
    std::os::unix::fs::symlink(home.path().join("outside"), root.join("src/outlink")).expect("symlink");
    write(&home.path().join("other/app.py"), "def other_project_function():\n    return 'OTHER_PROJECT_MARKER'\n");
    agent(&root, "ferris", "dev", "\"src/**\"");
    agent(&root, "owl", "dev", "\"**\"");
    // An offline backlog agent of its own, granted src/ only.
    agent(&root, "tidy", "scrum_master", "\"src/**\"");
    root.canonicalize().expect("canonical")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A daemon with the fake provider as the default and the 1.0 bridge on
/// `bridge`, and the project (and the other one) added as workspaces.
async fn start(home: &Home, root: &Path, provider: u16, bridge: u16) -> (tests::Daemon, WsClient) {
    home.write_config(&tests::fake_provider::config(provider));
    let daemon = home.start_daemon_with(&[("BRIDGE_PORT", &bridge.to_string()), ("PAIRED_COMPAT_BRIDGE_1X", "true")]);
    let client = home.ws().await;
    for folder in [root.to_path_buf(), home.path().join("other").canonicalize().expect("other")] {
        tests::add_workspace(&client, &folder).await;
    }
    (daemon, client)
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A model run of `agent` in `root` (no file): what each of its tool calls returned.
async fn tool_results(client: &WsClient, fake: &Fake, root: &Path, agent: &str) -> Vec<String> {
    let before = fake.requests.lock().expect("lock").len();
    let params = RunParams {
        skill: Some("ask".into()),
        prompt: Some("Look around.".into()),
        workspace: Some(uri(root)),
        wait: true,
        ..agent_run(agent)
    };
    let run = client.call::<agents::Run>(params).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let requests = fake.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), before + 2, "a tool round, then the answer");
    tests::fake_provider::tool_results(&requests[before + 1].1)
}

fn tools_then_text(calls: &[(&str, &str)]) -> [Reply; 2] {
    [Reply::Sse(openai_tool_calls(calls)), Reply::Sse(openai_text(&["done"]))]
}

/// What the 1.0 bridge answers to a `/cli-command`.
async fn bridge_command(port: u16, command: String, project: &Path) -> String {
    let body = json!({"command": command, "projectPath": project}).to_string();
    let reply = tokio::task::spawn_blocking(move || {
        let host = format!("127.0.0.1:{port}");
        tests::http(port, "POST", "/cli-command", &[("Host", &host), ("Content-Type", "application/json")], &body)
    })
    .await
    .expect("bridge request");
    let reply = reply.json();
    reply["response"].as_str().or(reply["error"].as_str()).unwrap_or_default().to_owned()
}

async fn symbol_paths(client: &WsClient, query: &str) -> Vec<String> {
    let found = client.call::<Symbols>(SymbolQuery { query: query.into(), limit: 100 }).await;
    found.into_iter().map(|m| m.uri).collect()
}

/// A review of `uri` by Sherlock, finished.
fn review(uri: String) -> RunParams {
    RunParams { skill: Some("review".into()), uri: Some(uri), wait: true, ..agent_run("sherlock") }
}

/// #14.1: `build_context` and `search_symbols` as tools return only files the
/// agent may read, like the bundle a run starts with.
#[tokio::test]
async fn context_tools_return_only_files_within_the_grants() {
    let calls =
        [("build_context", r#"{"path": "src/app.py", "line": 6}"#), ("search_symbols", r#"{"query": "vault_layout"}"#)];
    let [a, b] = tools_then_text(&calls);
    let [c, d] = tools_then_text(&calls);
    let (port, fake) = serve_fake(vec![a, b, c, d]).await;
    let home = Home::new();
    let root = project(&home);
    let (_daemon, client) = start(&home, &root, port, free_port()).await;

    let ferris = tool_results(&client, &fake, &root, "ferris").await;
    assert!(ferris[0].contains("vault_layout() + 1"), "its own file: {ferris:?}");
    assert!(!ferris[0].contains("4242") && !ferris[0].contains("PRIVATE_BODY_MARKER"), "{ferris:?}");
    assert!(!ferris[0].contains("vaultdir/private.py"), "not even the path: {ferris:?}");
    assert_eq!(ferris[1], "no matches");
    // Owl may read everything: the definition is there (the check can fail).
    let owl = tool_results(&client, &fake, &root, "owl").await;
    assert!(owl[0].contains("4242 * 7"), "{owl:?}");
    assert!(owl[1].contains("vaultdir/private.py"), "{owl:?}");
}

/// #14.2: an agent asked with `ask_agent` reaches only what both agents may
/// read, whether or not a path is given.
#[tokio::test]
async fn an_asked_agent_reaches_only_what_both_agents_may_read() {
    let ferris_calls = [
        ("ask_agent", r#"{"agent": "vince", "path": "src/app.py"}"#),
        ("ask_agent", r#"{"agent": "leonardo", "path": "src/app.py"}"#),
    ];
    let owl_calls = [
        ("ask_agent", r#"{"agent": "tidy"}"#),
        ("ask_agent", r#"{"agent": "tidy", "path": "vaultdir/private.py"}"#),
        ("ask_agent", r#"{"agent": "vince"}"#),
        ("ask_agent", r#"{"agent": "leonardo"}"#),
    ];
    let [a, b] = tools_then_text(&ferris_calls);
    let [c, d] = tools_then_text(&owl_calls);
    let (port, fake) = serve_fake(vec![a, b, c, d]).await;
    let home = Home::new();
    let root = project(&home);
    let (_daemon, client) = start(&home, &root, port, free_port()).await;

    let ferris = tool_results(&client, &fake, &root, "ferris").await;
    assert!(ferris[0].contains("granted task in src"), "Vince's backlog of what Ferris may read: {ferris:?}");
    assert!(!ferris[0].contains("PRIVATE_TODO_MARKER") && !ferris[0].contains("vaultdir"), "{ferris:?}");
    assert!(ferris[1].contains("src"), "Leonardo's map of what Ferris may read: {ferris:?}");
    assert!(!ferris[1].contains("vaultdir"), "{ferris:?}");

    let owl = tool_results(&client, &fake, &root, "owl").await;
    // Owl may read everything, Tidy only src/: Tidy's report holds src/ only.
    assert!(owl[0].contains("granted task in src"), "{owl:?}");
    assert!(!owl[0].contains("PRIVATE_TODO_MARKER"), "{owl:?}");
    assert_eq!(owl[1], "refused: Tidy may not read vaultdir/private.py: its fs_read grants are [src/**]");
    // Both may read everything: all of it is there (the checks can fail).
    assert!(owl[2].contains("PRIVATE_TODO_MARKER"), "{owl:?}");
    assert!(owl[3].contains("vaultdir"), "{owl:?}");
}

/// #14.3: a link to an ignored folder (`src/seclink -> ../secret`) is refused
/// by `context/*`, `agents/run`, the model's tools and the 1.0 bridge.
#[tokio::test]
async fn a_link_into_an_ignored_folder_is_refused_everywhere() {
    let [a, b] = tools_then_text(&[
        ("read_file", r#"{"path": "src/seclink/key.py"}"#),
        ("build_context", r#"{"path": "src/seclink/key.py", "line": 1}"#),
        ("read_file", r#"{"path": "src/outlink/lib.py"}"#),
    ]);
    let (port, fake) = serve_fake(vec![a, b]).await;
    let home = Home::new();
    let root = project(&home);
    let bridge = free_port();
    let (_daemon, client) = start(&home, &root, port, bridge).await;
    let linked = uri(&root.join("src/seclink/key.py"));

    let err = client.try_call::<Build>(build_at(&linked, 0, 0)).await.expect_err("refused");
    assert!(err.message.contains("is excluded from context"), "{err}");
    // Nowhere in the reply, its data included.
    assert!(!err.to_string().contains("SECRET_FILE_MARKER"), "{err}");
    let err = client.try_call::<Outline>(OutlineParams { uri: linked.clone() }).await.expect_err("refused");
    assert!(err.message.contains("is excluded from context"), "{err}");
    let err = client.try_call::<agents::Run>(review(linked)).await.expect_err("refused");
    assert!(err.message.contains("is excluded from context"), "{err}");
    // Out of the workspace through a link: refused too.
    let outside = uri(&root.join("src/outlink/lib.py"));
    let err = client.try_call::<Build>(build_at(&outside, 0, 0)).await.expect_err("refused");
    assert!(err.message.contains("leads outside"), "{err}");

    let results = tool_results(&client, &fake, &root, "owl").await;
    assert_eq!(results.len(), 3);
    for result in &results {
        assert!(result.starts_with("refused: "), "{results:?}");
        assert!(!result.contains("SECRET_FILE_MARKER") && !result.contains("OUTSIDE_MARKER"), "{results:?}");
        // Refusals name workspace paths only: nothing of the machine goes to a model.
        assert!(!result.contains(&home.path().display().to_string()), "{results:?}");
    }
    assert!(results[0].contains("src/seclink/key.py leads to secret/key.py, which is excluded"), "{results:?}");
    assert!(results[2].contains("src/outlink/lib.py leads outside the workspace"), "{results:?}");

    // The bridge refuses too (through `agents/run`, or earlier by its own rules).
    let reply = bridge_command(bridge, "qa:review src/seclink/key.py".into(), &root).await;
    assert!(!reply.contains("reviewed") && !reply.contains("SECRET_FILE_MARKER"), "never read: {reply}");
}

/// #14.3: the index does not follow links, neither in the walk nor in the
/// watcher's events: files added behind a link never enter it.
#[tokio::test]
async fn the_index_never_follows_a_link() {
    let (port, _fake) = serve_fake(Vec::new()).await;
    let home = Home::new();
    let root = project(&home);
    let (_daemon, client) = start(&home, &root, port, free_port()).await;
    assert!(symbol_paths(&client, "outside_initial_function").await.is_empty());
    assert!(symbol_paths(&client, "leaked_secret_function").await.is_empty());

    write(&home.path().join("outside/later.py"), "def outside_later_function():\n    pass\n");
    write(&root.join("secret/later.py"), "def secret_later_function():\n    pass\n");
    // Not something to poll for: the control file must come in a later batch of
    // the watcher's events (their debounce is 150 ms), so that once it is
    // indexed the earlier events have been handled.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    write(&root.join("src/control.py"), "def control_function():\n    pass\n");
    eventually("the control file", async || symbol_paths(&client, "control_function").await.len() == 1).await;
    assert_eq!(symbol_paths(&client, "outside_later_function").await, Vec::<String>::new());
    assert_eq!(symbol_paths(&client, "secret_later_function").await, Vec::<String>::new());
}

/// #14.4: `..` and another project's absolute path get the same refusal, from
/// `agents/run`, `context/build`, the model's tools and the 1.0 bridge.
#[tokio::test]
async fn paths_from_elsewhere_are_refused() {
    let home = Home::new();
    let root = project(&home);
    let other = home.path().join("other/app.py").canonicalize().expect("other");
    let absolute = other.display().to_string();
    let [a, b] = tools_then_text(&[
        ("read_file", r#"{"path": "../other/app.py"}"#),
        ("read_file", &format!(r#"{{"path": "{absolute}"}}"#)),
        ("read_file", r#"{"path": "src/../secret/key.py"}"#),
    ]);
    let (port, fake) = serve_fake(vec![a, b]).await;
    let bridge = free_port();
    let (_daemon, client) = start(&home, &root, port, bridge).await;
    let workspace = uri(&root);

    // A run in this workspace on a file of another project (open as well).
    let in_workspace = |file: &Path| RunParams { workspace: Some(workspace.clone()), ..review(uri(file)) };
    let err = client.try_call::<agents::Run>(in_workspace(&other)).await.expect_err("refused");
    assert!(err.message.contains("leads outside"), "{err}");
    for sneaky in [root.join("../other/app.py"), root.join("src/../secret/key.py")] {
        let err = client.try_call::<agents::Run>(in_workspace(&sneaky)).await.expect_err("refused");
        assert!(err.message.contains("leads outside") || err.message.contains("is excluded"), "{err}");
        let err = client.try_call::<Build>(build_at(&uri(&sneaky), 0, 0)).await.expect_err("refused");
        assert!(err.message.contains("leads outside") || err.message.contains("is excluded"), "{err}");
    }

    let results = tool_results(&client, &fake, &root, "owl").await;
    assert_eq!(results.len(), 3);
    for result in &results {
        assert!(
            result.starts_with("refused: ") && result.contains("not a plain workspace-relative path"),
            "{results:?}"
        );
    }

    for named in [absolute.clone(), "../other/app.py".to_owned()] {
        let reply = bridge_command(bridge, format!("qa:review {named}"), &root).await;
        assert!(!reply.contains("reviewed") && !reply.contains("OTHER_PROJECT_MARKER"), "never read: {named}: {reply}");
    }
}
