//! Editors and agent clients that send what they should not (#14): documents
//! over the daemon's request limit, malformed frames, bytes that are not UTF-8,
//! roots that are no project folders, a client that just goes away. The fronts
//! (`paired lsp`, `paired acp`) answer or drop what is wrong and go on serving.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Stdio},
    sync::mpsc::{self, Receiver},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tests::{Home, Lsp, kill9, wait_child};

/// The daemon's default `server.max_request_bytes`.
const REQUEST_LIMIT: usize = 10 * 1024 * 1024;

/// A project folder under the test's HOME.
fn project(home: &Home) -> PathBuf {
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("src/lib.rs"), "pub fn f() {}\n").expect("write");
    root
}

fn open(lsp: &mut Lsp, uri: &str, text: &str) {
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
    );
}

fn change(lsp: &mut Lsp, uri: &str, version: i32, range: Option<Value>, text: &str) {
    let mut edit = json!({"text": text});
    if let Some(range) = range {
        edit["range"] = range;
    }
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [edit]}),
    );
}

/// Source text of `bytes` bytes (give or take a line).
fn big_text(bytes: usize) -> String {
    "fn filler() { let x = \"a string with \\\"quotes\\\" in it\"; }\n".repeat(bytes / 55 + 1)
}

/// Asks quickly: an editor's request must not wait on a document it cannot send.
fn ask(lsp: &mut Lsp, method: &str, params: Value) -> Value {
    let id = lsp.request_async(method, params);
    lsp.response(id, Duration::from_secs(10))
}

/// Waits for a `window/showMessage` that says `needle`; returns its text.
fn wait_message(lsp: &mut Lsp, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = lsp.wait_for_method("window/showMessage", left);
        let text = message["params"]["message"].as_str().unwrap_or_default().to_owned();
        if text.contains(needle) {
            return text;
        }
    }
}

fn messages_about(lsp: &Lsp, needle: &str) -> usize {
    lsp.backlog
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .filter(|m| m["params"]["message"].as_str().is_some_and(|t| t.contains(needle)))
        .count()
}

/// Issue #14: a `didOpen` over the daemon's limit made `paired lsp` reconnect and
/// resend it forever, and every later request failed with -32050.
#[test]
fn documents_over_the_request_limit_are_held_by_the_proxy_and_never_block_the_editor() {
    let home = Home::new();
    let root = project(&home);
    let mut lsp = home.lsp();
    lsp.initialize(&root);
    let status = ask(&mut lsp, "daemon/status", Value::Null);
    let daemon_pid = status["result"]["pid"].as_u64().expect("pid") as u32;
    let connections = status["result"]["connections"].clone();

    let small = "file:///w/small.rs";
    open(&mut lsp, small, "fn small() {}\n");
    let big = "file:///w/big.rs";
    open(&mut lsp, big, &big_text(REQUEST_LIMIT + 1024 * 1024));
    // The editor's other requests are answered, at once, by the same daemon.
    let doc = ask(&mut lsp, "documents/get", json!({"uri": small}));
    assert_eq!(doc["result"]["text"], "fn small() {}\n", "{doc}");
    let message = wait_message(&mut lsp, "big.rs is too large");
    assert!(message.contains("server.max_request_bytes"), "{message}");
    let held = ask(&mut lsp, "documents/get", json!({"uri": big}));
    assert!(held.get("error").is_some(), "the daemon does not have it: {held}");

    // A document that grows past the limit: the daemon drops its older copy.
    let grows = "file:///w/grows.rs";
    open(&mut lsp, grows, "fn grows() {}\n");
    assert_eq!(ask(&mut lsp, "documents/get", json!({"uri": grows}))["result"]["version"], 1);
    let end = json!({"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}});
    change(&mut lsp, grows, 2, Some(end.clone()), &big_text(REQUEST_LIMIT));
    let stale = ask(&mut lsp, "documents/get", json!({"uri": grows}));
    assert!(stale.get("error").is_some(), "no stale copy in the daemon: {stale}");
    wait_message(&mut lsp, "grows.rs is too large");
    change(&mut lsp, grows, 3, Some(end), "// more\n");
    // Back under the limit, the daemon has it again, whole and current.
    change(&mut lsp, grows, 4, None, "fn grows() { 2 }\n");
    let back = ask(&mut lsp, "documents/get", json!({"uri": grows}));
    assert_eq!((&back["result"]["version"], &back["result"]["text"]), (&json!(4), &json!("fn grows() { 2 }\n")));

    // A forwarded request over the limit is refused here, not by a dropped connection.
    let huge = ask(
        &mut lsp,
        "documents/open",
        json!({"uri": "file:///w/x.rs", "language_id": "rust", "version": 1, "text": big_text(REQUEST_LIMIT)}),
    );
    assert_eq!(huge["error"]["code"], -32041, "{huge}");
    lsp.notify("textDocument/didClose", json!({"textDocument": {"uri": big}}));
    let after = ask(&mut lsp, "daemon/status", Value::Null);
    assert_eq!(after["result"]["pid"], daemon_pid, "{after}");
    assert_eq!(after["result"]["connections"], connections, "the proxy never reconnected: {after}");
    assert_eq!(after["result"]["open_documents"], 2, "small.rs and grows.rs: {after}");
    assert_eq!(messages_about(&lsp, "grows.rs"), 0, "told once per document: {:?}", lsp.backlog);
    kill9(daemon_pid);
}

/// Issue #18.2: the proxy reads no configuration file (no TOML in the process
/// every editor window runs): it keeps within the limit the daemon it attached
/// to says it has, here one set lower in the user's config.
#[test]
fn the_proxy_keeps_within_the_limit_the_daemon_says_it_has() {
    let home = Home::new();
    home.write_config("[server]\nmax_request_bytes = 1048576\n");
    let root = project(&home);
    let mut lsp = home.lsp();
    lsp.initialize(&root);
    let status = ask(&mut lsp, "daemon/status", Value::Null);
    let connections = status["result"]["connections"].clone();
    let big = "file:///w/big.rs";
    open(&mut lsp, big, &big_text(2 * 1024 * 1024));
    let message = wait_message(&mut lsp, "big.rs is too large");
    assert!(message.contains("its limit is 1.0 MiB"), "{message}");
    let small = "file:///w/small.rs";
    open(&mut lsp, small, "fn small() {}\n");
    let doc = ask(&mut lsp, "documents/get", json!({"uri": small}));
    assert_eq!(doc["result"]["text"], "fn small() {}\n", "{doc}");
    let after = ask(&mut lsp, "daemon/status", Value::Null);
    assert_eq!(after["result"]["connections"], connections, "the proxy never reconnected: {after}");
    assert_eq!(after["result"]["open_documents"], 1, "only small.rs: {after}");
    let pid = after["result"]["pid"].as_u64().expect("pid") as u32;
    kill9(pid);
}

/// The replay after a daemon restart keeps within what the new daemon says it
/// takes: a document the old one had is held, the rest (compressed in the
/// mirror, not ASCII) arrives whole.
#[test]
fn a_replay_holds_what_the_new_daemon_does_not_take_and_sends_the_rest_whole() {
    let home = Home::new();
    let root = project(&home);
    let mut lsp = home.lsp();
    lsp.initialize(&root);
    let big = "file:///w/big.rs";
    open(&mut lsp, big, &big_text(2 * 1024 * 1024));
    let small = "file:///w/small.rs";
    let text = "fn été() { let s = \"😀\"; }\n".repeat(200);
    open(&mut lsp, small, &text);
    assert_eq!(ask(&mut lsp, "documents/get", json!({"uri": big}))["result"]["version"], 1, "the first daemon has it");
    let old = ask(&mut lsp, "daemon/status", Value::Null)["result"]["pid"].as_u64().expect("pid") as u32;

    kill9(old);
    home.write_config("[server]\nmax_request_bytes = 1048576\n");
    // Asked while the proxy reconnects: refused against the new daemon's
    // limit, not sent to cost the new connection.
    let huge = ask(
        &mut lsp,
        "documents/open",
        json!({"uri": "file:///w/x.rs", "language_id": "rust", "version": 1, "text": big_text(2 * 1024 * 1024)}),
    );
    assert_eq!(huge["error"]["code"], -32041, "{huge}");
    let doc = ask(&mut lsp, "documents/get", json!({"uri": small}));
    assert_eq!(doc["result"]["text"], json!(text), "replayed whole");
    let message = wait_message(&mut lsp, "big.rs is too large");
    assert!(message.contains("its limit is 1.0 MiB"), "{message}");
    let held = ask(&mut lsp, "documents/get", json!({"uri": big}));
    assert!(held.get("error").is_some(), "the new daemon does not have it: {held}");
    let status = ask(&mut lsp, "daemon/status", Value::Null);
    assert_ne!(status["result"]["pid"], old, "{status}");
    assert_eq!(status["result"]["open_documents"], 1, "{status}");
    kill9(status["result"]["pid"].as_u64().expect("pid") as u32);
}

/// Issue #14: roots that are no project folders are not indexed; the editor is told.
#[test]
fn lsp_roots_that_are_no_project_folders_are_not_indexed() {
    let home = Home::new();
    let root = project(&home);
    let mut lsp = home.lsp();
    let uri = |p: &Path| format!("file://{}", p.display());
    let folders = [uri(Path::new("/")), uri(home.path()), uri(Path::new("/usr")), uri(&root)];
    let init = lsp.request(
        "initialize",
        json!({
            "processId": std::process::id(),
            "rootUri": "file:///",
            "workspaceFolders": folders.iter().map(|f| json!({"uri": f, "name": "f"})).collect::<Vec<_>>(),
            "capabilities": {},
        }),
    );
    assert!(init.get("result").is_some(), "{init}");
    lsp.notify("initialized", json!({}));
    let status = ask(&mut lsp, "daemon/status", Value::Null);
    assert_eq!(status["result"]["workspaces"], json!([uri(&root)]), "{status}");
    let daemon_pid = status["result"]["pid"].as_u64().expect("pid") as u32;
    for folder in ["/ is the root of the file system", "is your home folder", "/usr is a system folder"] {
        let text = wait_message(&mut lsp, folder);
        assert!(text.contains("not a project folder") && text.contains(".paired/config.toml"), "{text}");
    }

    // A folder the user made a PAIRED project is one, wherever it is; and an
    // editor naming only `rootUri` is held to the same rule.
    std::fs::create_dir_all(home.path().join(".paired")).expect("mkdir");
    std::fs::write(home.path().join(".paired/config.toml"), "").expect("write");
    let mut second = home.lsp();
    second.request(
        "initialize",
        json!({"processId": std::process::id(), "rootUri": uri(home.path()), "capabilities": {}}),
    );
    second.notify("initialized", json!({}));
    let status = ask(&mut second, "daemon/status", Value::Null);
    let mut expected = vec![uri(home.path()), uri(&root)];
    expected.sort();
    let sorted = |status: &Value| {
        let mut folders: Vec<String> =
            serde_json::from_value(status["result"]["workspaces"].clone()).unwrap_or_default();
        folders.sort();
        folders
    };
    assert_eq!(sorted(&status), expected, "{status}");
    let mut third = home.lsp();
    third.request("initialize", json!({"processId": std::process::id(), "rootUri": "file:///", "capabilities": {}}));
    let status = ask(&mut third, "daemon/status", Value::Null);
    assert_eq!(sorted(&status), expected, "/ was not added: {status}");
    kill9(daemon_pid);
}

/// A child's stdin and what it writes, unframed: the test frames (or breaks) it.
struct Raw {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    seen: Vec<Value>,
}

impl Raw {
    /// `lsp`: stdout is LSP-framed; else one JSON message a line (ACP).
    fn spawn(mut command: std::process::Command, lsp: bool) -> Raw {
        let mut child =
            command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || if lsp { read_lsp(stdout, tx) } else { read_lines(stdout, tx) });
        Raw { stdin: child.stdin.take(), child, messages, seen: Vec::new() }
    }

    fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write");
        stdin.flush().expect("flush");
    }

    fn response(&mut self, id: Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(found) = self.seen.iter().find(|m| m["id"] == id && m.get("method").is_none()) {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let message =
                self.messages.recv_timeout(left).unwrap_or_else(|_| panic!("no response {id}; seen {:?}", self.seen));
            self.seen.push(message);
        }
    }

    /// Error replies with `code` seen so far (after what has arrived is read).
    fn errors(&mut self, code: i64) -> Vec<Value> {
        while let Ok(message) = self.messages.try_recv() {
            self.seen.push(message);
        }
        self.seen.iter().filter(|m| m["error"]["code"] == code).cloned().collect()
    }

    fn close(&mut self) -> std::process::ExitStatus {
        self.stdin.take();
        wait_child(&mut self.child, Duration::from_secs(10)).expect("exits when its input closes")
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lsp(mut reader: impl BufRead, tx: mpsc::Sender<Value>) {
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line.trim_end().is_empty() {
                break;
            }
            if let Some(value) = line.trim_end().strip_prefix("Content-Length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.expect("Content-Length from the server")];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let message = serde_json::from_slice(&body).expect("the server writes JSON");
        if tx.send(message).is_err() {
            return;
        }
    }
}

fn read_lines(reader: impl BufRead, tx: mpsc::Sender<Value>) {
    for line in reader.lines() {
        let Ok(line) = line else { return };
        let message = serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
        if tx.send(message).is_err() {
            return;
        }
    }
}

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Issue #14: the first malformed frame ended `paired lsp` (and with it the editor's PAIRED).
#[test]
fn malformed_lsp_frames_are_answered_or_dropped_and_the_front_keeps_serving() {
    let home = Home::new();
    let root = project(&home);
    let mut lsp = Raw::spawn(home.paired(&["lsp"]), true);
    let hostile: Vec<Vec<u8>> = vec![
        b"Content-Length: banana\r\n\r\n{}".to_vec(),
        b"Content-Length: 5\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":90,\"method\":\"daemon/status\"}".to_vec(),
        [b"Content-Length: 2\r\nX-Junk: ".to_vec(), vec![b'a'; 200_000], b"\r\n\r\n{}".to_vec()].concat(),
        frame("this is not JSON"),
        b"Content-Length: 3\r\n\r\n\"\xff\"".to_vec(),
        frame("[1, 2, 3]"),
        frame(r#"{"id": 91, "method": 5}"#),
        frame("42"),
    ];
    for bytes in &hostile {
        lsp.write(bytes);
    }
    // Headers it does not need (a Content-Type without charset, others) do not matter.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": std::process::id(), "rootUri": format!("file://{}", root.display()), "capabilities": {},
    }})
    .to_string();
    lsp.write(
        format!("Content-Type: application/vscode-jsonrpc\r\nX-Other: 1\r\n{}", String::from_utf8_lossy(&frame(&init)))
            .as_bytes(),
    );
    let reply = lsp.response(json!(1));
    assert_eq!(reply["result"]["serverInfo"]["name"], "paired", "{reply}");
    lsp.write(&frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#));
    for bytes in hostile.iter().rev() {
        lsp.write(bytes);
    }
    lsp.write(&frame(r#"{"jsonrpc":"2.0","id":2,"method":"daemon/status"}"#));
    let status = lsp.response(json!(2));
    let daemon_pid = status["result"]["pid"].as_u64().unwrap_or_else(|| panic!("{status}")) as u32;
    assert_eq!(lsp.errors(-32600).iter().filter(|e| e["id"] == 91).count(), 2, "{:?}", lsp.seen);
    assert!(lsp.errors(-32700).iter().all(|e| e["id"].is_null()));
    assert!(lsp.errors(-32700).len() >= 8, "{:?}", lsp.seen);
    assert!(lsp.seen.iter().all(|m| m["id"] != 90), "a cut frame is not run");
    lsp.write(&frame(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#));
    lsp.response(json!(3));
    lsp.write(&frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
    assert!(lsp.close().success());
    kill9(daemon_pid);
}

fn acp(home: &Home, root: &Path) -> Raw {
    let mut command = home.paired(&["acp"]);
    command.current_dir(root);
    Raw::spawn(command, false)
}

fn acp_request(id: u32, method: &str, params: Value) -> Vec<u8> {
    let mut line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
    line.push('\n');
    line.into_bytes()
}

fn acp_initialize(id: u32) -> Vec<u8> {
    acp_request(id, "initialize", json!({"protocolVersion": 1, "clientCapabilities": {}}))
}

/// Issue #14: a line that was not UTF-8 ended `paired acp` ("lost the PAIRED
/// daemon"); a session could be opened on `/`.
#[test]
fn acp_answers_malformed_lines_refuses_roots_that_are_no_projects_and_keeps_serving() {
    let home = Home::new();
    let root = project(&home);
    let mut acp = acp(&home, &root);
    acp.write(b"\xff\xfe{\"jsonrpc\n");
    acp.write(b"not JSON\n\n[1, 2]\n{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":5}\n");
    acp.write(&acp_initialize(1));
    let init = acp.response(json!(1));
    assert_eq!(init["result"]["protocolVersion"], 1, "{init}");
    assert!(acp.errors(-32700).len() >= 2, "{:?}", acp.seen);

    for (id, cwd) in [(2, PathBuf::from("/")), (3, home.path().to_path_buf()), (4, PathBuf::from("/etc"))] {
        let refused = acp.response_to(acp_request(id, "session/new", json!({"cwd": cwd, "mcpServers": []})), id);
        let error = refused["error"].to_string();
        assert!(error.contains("not a project folder") && error.contains(".paired/config.toml"), "{refused}");
    }
    let session = acp.response_to(acp_request(5, "session/new", json!({"cwd": root, "mcpServers": []})), 5);
    assert!(session["result"]["sessionId"].is_string(), "{session}");
    acp.write(b"\xc3\x28\n");
    let again = acp.response_to(acp_request(6, "session/new", json!({"cwd": root, "mcpServers": []})), 6);
    assert!(again["result"]["sessionId"].is_string(), "{again}");
    assert!(acp.close().success(), "a normal close of stdin is success");
    kill9(home.daemon_pid());
}

impl Raw {
    fn response_to(&mut self, line: Vec<u8>, id: u32) -> Value {
        self.write(&line);
        self.response(json!(id))
    }
}

/// Issue #14: `paired acp` exited with 1 in most runs when the client closed
/// stdin before any session existed (the daemon connection it was closing
/// itself was reported as lost).
#[test]
fn acp_exits_with_success_every_time_its_input_closes() {
    let home = Home::new();
    let root = project(&home);
    for run in 0..20 {
        let mut acp = acp(&home, &root);
        if run % 2 == 1 {
            let init = acp.response_to(acp_initialize(1), 1);
            assert!(init.get("result").is_some(), "{init}");
        }
        let status = acp.close();
        assert!(status.success(), "run {run}: {status}");
    }
    kill9(home.daemon_pid());
}

/// What `paired acp` said in the chat (message chunks) and the tool calls it
/// started, among `messages`.
fn acp_chat(messages: &[Value]) -> (String, Vec<Value>) {
    let updates = messages.iter().filter(|m| m["method"] == "session/update").map(|m| &m["params"]["update"]);
    let mut said = String::new();
    let mut calls = Vec::new();
    for update in updates {
        match update["sessionUpdate"].as_str() {
            Some("agent_message_chunk") => said.push_str(update["content"]["text"].as_str().unwrap_or_default()),
            Some("tool_call") => calls.push(update.clone()),
            _ => {}
        }
    }
    (said, calls)
}

/// Issue #15: "review src/main.rs" was refused in RPC words ("agents/run: review
/// works on a file: pass `uri`"), and a review's findings had no place to jump
/// to. A file named outside the session's folder is not read.
#[test]
fn acp_prompts_name_their_file_findings_have_places_and_refusals_speak_the_clients_words() {
    let home = Home::new();
    let root = project(&home);
    std::fs::write(
        root.join("src/main.rs"),
        "fn main() {\n    let _x: Option<u8> = None;\n    std::env::var(\"HOME\").unwrap();\n}\n",
    )
    .expect("write");
    let main = std::fs::canonicalize(root.join("src/main.rs")).expect("canonical");
    let mut acp = acp(&home, &root);
    acp.response_to(acp_initialize(1), 1);
    let session = acp.response_to(acp_request(2, "session/new", json!({"cwd": root, "mcpServers": []})), 2);
    let sid = session["result"]["sessionId"].clone();
    let mut prompt = |id: u32, text: &str| {
        let from = acp.seen.len();
        let params = json!({"sessionId": sid, "prompt": [{"type": "text", "text": text}]});
        let answer = acp.response_to(acp_request(id, "session/prompt", params), id);
        assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
        acp_chat(&acp.seen[from..])
    };

    let (said, calls) = prompt(3, "review src/main.rs");
    assert!(said.starts_with("Sherlock reviewed `src/main.rs`: 1 finding(s)"), "{said}");
    let finding = calls.iter().find(|c| c["toolCallId"].as_str().is_some_and(|id| id.contains("-finding-")));
    let finding = finding.unwrap_or_else(|| panic!("no finding as a tool call: {calls:?}"));
    assert_eq!(finding["locations"], json!([{"path": main, "line": 3}]), "{finding}");
    assert_eq!(finding["title"], "src/main.rs:3: warning `rust-unwrap`");
    assert_eq!(finding["status"], "completed");
    let message = finding["content"][0]["content"]["text"].as_str().unwrap_or_default();
    assert!(message.contains("`unwrap()` panics"), "{finding}");

    for (id, text) in [(4, "review /etc/passwd"), (5, "review ../../../../etc/passwd"), (6, "review it")] {
        let (said, calls) = prompt(id, text);
        assert!(said.contains("attach or name a file"), "{text}: {said}");
        assert!(!said.contains("uri") && !said.contains("agents/run"), "no RPC words: {said}");
        assert!(calls.is_empty(), "nothing ran: {calls:?}");
    }
    assert!(acp.close().success());
    kill9(home.daemon_pid());
}

/// Issue #17.6: `paired acp` exited when the daemon went away, taking the
/// editor's agent with it. Now it reconnects (starting the daemon again),
/// re-opens its sessions' folders, and the same session answers the next prompt.
#[test]
fn acp_outlives_a_daemon_restart_and_its_session_goes_on() {
    let home = Home::new();
    let root = project(&home);
    std::fs::write(root.join("src/main.rs"), "fn main() {\n    std::env::var(\"HOME\").unwrap();\n}\n").expect("write");
    let mut acp = acp(&home, &root);
    acp.response_to(acp_initialize(1), 1);
    let session = acp.response_to(acp_request(2, "session/new", json!({"cwd": root, "mcpServers": []})), 2);
    let sid = session["result"]["sessionId"].clone();
    let first = home.daemon_pid();
    kill9(first);
    tests::wait_until("the daemon to be gone", Duration::from_secs(10), || !tests::process_alive(first));

    let params = json!({"sessionId": sid, "prompt": [{"type": "text", "text": "review src/main.rs"}]});
    let from = acp.seen.len();
    let answer = acp.response_to(acp_request(3, "session/prompt", params), 3);
    assert_eq!(answer["result"]["stopReason"], "end_turn", "{answer}");
    let (said, _) = acp_chat(&acp.seen[from..]);
    assert!(said.starts_with("Sherlock reviewed `src/main.rs`: 1 finding(s)"), "{said}");
    let second = home.daemon_pid();
    assert_ne!(first, second, "a new daemon serves the session");
    // A new session works too, and the process is still the same one.
    let again = acp.response_to(acp_request(4, "session/new", json!({"cwd": root, "mcpServers": []})), 4);
    assert!(again["result"]["sessionId"].is_string(), "{again}");
    assert!(acp.close().success());
    kill9(second);
}

/// A document update the daemon refuses (a bug, a panic in its documents
/// thread) leaves its copy other than the editor's, and the next keystrokes
/// — sent as the edits they make, even by an editor that syncs whole texts —
/// would land on it: the proxy reconnects, and its replay puts the editor's
/// text back.
#[test]
fn a_refused_document_update_is_repaired_by_the_replay() {
    let home = Home::new();
    let root = project(&home);
    let mut lsp = home.lsp();
    lsp.initialize(&root);
    let uri = "file:///w/typed.rs";
    open(&mut lsp, uri, "fn typed() {}\n");
    assert_eq!(ask(&mut lsp, "documents/get", json!({"uri": uri}))["result"]["version"], 1);
    let hook = ask(&mut lsp, "debug/refuse_document_updates", json!([1]));
    assert_eq!(hook["result"], 1, "{hook}");
    change(&mut lsp, uri, 2, None, "fn typed() { 1 }\n");
    change(&mut lsp, uri, 3, None, "fn typed() { 12 }\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let doc = ask(&mut lsp, "documents/get", json!({"uri": uri}));
        if doc["result"]["text"] == "fn typed() { 12 }\n" {
            break;
        }
        assert!(Instant::now() < deadline, "the daemon's copy is not the editor's: {doc}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
