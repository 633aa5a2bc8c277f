//! Nothing an editor or an agent asks keeps the daemon's async runtime from
//! other clients' requests (issue #18.7). Editors do their burst at once, each
//! in its own workspace, with agent runs beside them; then `daemon/status`
//! reports every poll of 1 ms or more on the runtime (`runtime.slow_polls`):
//! none may have used more than 50 ms of CPU — CPU time, not wall time, so a
//! busy machine does not fail it; a debug build's own speed is in the bound —
//! and none that blocked its worker (waited on a lock, IO or a sleep) may have
//! held it for 250 ms (a handler waiting on another's work; a page fault
//! waiting on the memory map's lock is short). The
//! timer itself is tested in `daemon::platform::stalls`, and the 50-editor
//! figures are in the editor bench (`PAIRED_BENCH_ONLY=load`).

use std::path::{Path, PathBuf};

use jsonrpsee::{core::client::ClientT, rpc_params};
use serde_json::{Value, json};
use tests::{Home, Lsp};

const EDITORS: usize = 4;
const AGENT_RUNS: usize = 6;
const CHANGES: usize = 100;

/// The vendored projects' source files (Rust, Python, Go, TypeScript): ~200 KB.
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects");
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read fixtures").flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if path.is_dir() && name != "node_modules" {
                stack.push(path);
            } else if ["rs", "py", "go", "ts"].iter().any(|e| name.ends_with(&format!(".{e}"))) {
                let text = std::fs::read_to_string(&path).expect("read fixture");
                let flat = path.strip_prefix(&root).expect("under root").to_string_lossy().replace('/', "__");
                found.push((flat, text));
            }
        }
    }
    found.sort();
    found
}

fn language(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("py") => "python",
        Some("go") => "go",
        Some("ts") => "typescript",
        _ => "rust",
    }
}

fn workspace(home: &Home, n: usize, files: &[(String, String)]) -> PathBuf {
    let root = home.path().join(format!("editor-{n}"));
    std::fs::create_dir_all(&root).expect("mkdir");
    for (path, text) in files {
        std::fs::write(root.join(path), text).expect("write");
    }
    root
}

/// Every document opened, `CHANGES` full-text changes, a code action as barrier.
fn burst(mut lsp: Lsp, root: &Path, files: &[(String, String)]) {
    lsp.initialize(root);
    let uri = |path: &str| format!("file://{}/{path}", root.display());
    for (path, text) in files {
        lsp.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(path), "languageId": language(path), "version": 1, "text": text}}),
        );
    }
    for change in 0..CHANGES {
        let (path, text) = &files[change % files.len()];
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(path), "version": 2 + change}, "contentChanges": [{"text": format!("{text}\n// {change}\n")}]}),
        );
    }
    let reply = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri(&files[0].0)}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}),
    );
    assert!(reply.get("error").is_none() && reply["result"].is_array(), "{reply}");
    let _ = lsp.request("shutdown", Value::Null);
    lsp.notify("exit", Value::Null);
}

#[test]
fn editors_bursting_and_agents_running_never_block_the_daemons_runtime() {
    let home = Home::new();
    let _daemon = home.start_daemon();
    let files = sources();
    assert!(files.len() >= 20, "the vendored projects: {}", files.len());
    let roots: Vec<PathBuf> = (0..=EDITORS).map(|n| workspace(&home, n, &files)).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let client = runtime.block_on(home.ws());

    std::thread::scope(|scope| {
        for root in &roots[1..] {
            let (lsp, files) = (Lsp::spawn(home.paired(&["lsp"])), &files);
            scope.spawn(move || burst(lsp, root, files));
        }
        let agents = runtime.block_on(async {
            let folder = roots[0].display().to_string();
            let _: Value = client.request("workspaces/add", rpc_params![json!({"folder": folder})]).await.expect("add");
            let runs = (0..AGENT_RUNS).map(|n| {
                let ask = if n % 2 == 0 {
                    json!({"agent": "sherlock", "uri": format!("file://{folder}/{}", files[n].0), "wait": true})
                } else {
                    json!({"agent": "leonardo", "workspace": folder, "wait": true})
                };
                let client = &client;
                async move { client.request::<Value, _>("agents/run", rpc_params![ask]).await.expect("run") }
            });
            futures::future::join_all(runs).await
        });
        for run in agents {
            assert!(run["status"] == "succeeded" || run["status"] == "no_result", "{run}");
        }
    });

    let status: Value = runtime.block_on(client.request("daemon/status", rpc_params![])).expect("status");
    let slow = status["runtime"]["slow_polls"].as_array().expect("runtime.slow_polls");
    for poll in slow {
        let cpu = poll["most_cpu_us"].as_u64().expect("most_cpu_us");
        assert!(cpu < 50_000, "a poll used {cpu} µs of CPU on a runtime worker: {poll}\nall: {slow:#?}");
        let blocked = poll["longest_blocked_us"].as_u64().expect("longest_blocked_us");
        assert!(blocked < 250_000, "a poll blocked its worker for {blocked} µs: {poll}\nall: {slow:#?}");
    }
    eprintln!("slow polls: {slow:#?}");
}

/// An editor's keystroke waits for the update being applied, not for the
/// other editors' bursts queued before it: the documents thread takes the
/// smallest queued update first (`platform::serial`; #18.7: typing then
/// asking waited ~2.5× what asking alone did under fifty editors' bursts).
/// The thread is held by one large update; four more, of a megabyte each and
/// 400 ms of work each, are queued (`debug/stall_documents`); then an editor
/// types. In arrival order its keystroke would wait for all four.
#[tokio::test]
async fn a_keystroke_goes_ahead_of_other_editors_bursts() {
    use protocol::{
        client::{ClientHello, ClientKind},
        documents::{self, OpenParams},
    };
    use std::time::{Duration, Instant};
    use tests::{Rpc, attach, hello};

    const HELD_MS: u64 = 1_500;
    const BURST_MS: u64 = 400;
    let home = Home::new();
    let _daemon = home.start_daemon();
    let others = home.ws().await;
    let typist = home.ws().await;
    let _events = attach(&typist, ClientHello { events: Some(Vec::new()), ..hello(ClientKind::Other, "typist") }).await;
    let _: u64 = others.request("debug/stall_documents", rpc_params![HELD_MS]).await.expect("stall");
    let held = Instant::now();
    for _ in 0..4 {
        let _: u64 =
            others.request("debug/stall_documents", rpc_params![BURST_MS, 1 << 20]).await.expect("queued burst");
    }
    assert!(held.elapsed() < Duration::from_millis(HELD_MS), "the bursts were queued while the thread was held");
    let open =
        OpenParams { uri: "file:///t/a.py".into(), language_id: "python".into(), version: 1, text: "x = 1\n".into() };
    let key = typist.call::<documents::Open>(open).await;
    let took = held.elapsed();
    assert_eq!(key.bytes, 6);
    // In arrival order: HELD_MS + 4 × BURST_MS. Ahead of them: HELD_MS and a little.
    assert!(
        took < Duration::from_millis(HELD_MS + BURST_MS),
        "the keystroke waited for the bursts queued before it: {took:?}"
    );
}
