//! `paired lsp`: the editor's side, over stdio with real LSP framing.

use std::time::Duration;

use protocol::{
    NoParams,
    client::ClientKind,
    daemon::{Status, StatusReport},
    documents::{self, Document, UriParams},
};
use serde_json::{Value, json};
use tests::{Home, Lsp, kill9, poll_for, process_alive};

fn open(lsp: &mut Lsp, uri: &str, text: &str) {
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
    );
}

fn insert(lsp: &mut Lsp, uri: &str, version: i32, line: u32, character: u32, text: &str) {
    lsp.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}}, "text": text}],
        }),
    );
}

fn document(lsp: &mut Lsp, uri: &str) -> Document {
    lsp.call::<documents::Get>(UriParams { uri: uri.into() })
}

/// Polls `documents/get` until the daemon has seen `version` (until then the
/// document may not be open there yet: an error reply).
fn document_at(lsp: &mut Lsp, uri: &str, version: i32) -> Document {
    poll_for("document version", Duration::from_secs(20), || {
        lsp.try_call::<documents::Get>(UriParams { uri: uri.into() }).ok().filter(|doc| doc.version == version)
    })
}

fn status(lsp: &mut Lsp) -> StatusReport {
    lsp.call::<Status>(NoParams {}).daemon
}

#[test]
fn lifecycle_custom_requests_and_exit_on_stdin_close() {
    let home = Home::new();
    let mut lsp = home.lsp();
    // Before initialize, PAIRED requests are refused as LSP requires.
    let early = lsp.try_call::<Status>(NoParams {}).expect_err("before initialize");
    assert_eq!(early.code, -32002, "{early}");

    let init = lsp.initialize(&home.project());
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental sync");
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert!(caps["experimental"]["paired"]["methods"].as_array().is_some_and(|m| m.contains(&json!("daemon/status"))));
    assert_eq!(init["result"]["serverInfo"]["name"], "paired");

    // The daemon is started on demand and the same method names work over LSP
    // (`null` params, as an editor may send them: kept raw).
    let status = lsp.request("daemon/status", Value::Null);
    assert_eq!(status["result"]["clients"]["lsp"], 1, "{status}");
    let daemon_pid = status["result"]["pid"].as_u64().expect("pid") as u32;
    let workspace = format!("file://{}", home.project().display());
    assert_eq!(status["result"]["workspaces"], json!([workspace]));

    assert_eq!(lsp.request("shutdown", Value::Null)["result"], Value::Null);
    lsp.notify("exit", Value::Null);
    let exit = lsp.wait_exit(Duration::from_secs(5)).expect("exits after exit");
    assert!(exit.success());

    // Closing stdin without the shutdown handshake also ends the process.
    let mut lsp = home.lsp();
    lsp.initialize(&home.project());
    lsp.close_stdin();
    assert!(lsp.wait_exit(Duration::from_secs(5)).is_some(), "paired lsp exits when stdin closes");
    assert!(process_alive(daemon_pid), "the shared daemon outlives its editors");
    kill9(daemon_pid);
}

#[test]
fn two_editors_share_one_daemon() {
    let home = Home::new();
    let mut first = home.lsp();
    let mut second = home.lsp();
    first.initialize(&home.project());
    second.initialize(&home.project());
    let a = status(&mut first);
    open(&mut first, "file:///w/a.rs", "fn a() {}\n");
    open(&mut second, "file:///w/b.rs", "fn b() {}\n");
    open(&mut second, "file:///w/a.rs", "fn a() {}\n");
    document_at(&mut first, "file:///w/b.rs", 1);
    let b = status(&mut second);
    assert_eq!(a.pid, b.pid, "one daemon");
    assert_eq!(b.clients[&ClientKind::Lsp], 2);
    assert_eq!(b.open_documents, 2);
    let list = second.call::<documents::List>(NoParams {});
    assert_eq!(list[0].clients, 2, "a.rs is held by both editors: {list:?}");

    // One editor closing does not close what the other still has open.
    first.close_stdin();
    first.wait_exit(Duration::from_secs(5)).expect("first exits");
    let status = poll_for("first editor detached", Duration::from_secs(5), || {
        Some(status(&mut second)).filter(|s| s.clients.get(&ClientKind::Lsp) == Some(&1))
    });
    assert_eq!(status.open_documents, 2);
    let list = second.call::<documents::List>(NoParams {});
    assert_eq!(list[0].uri, "file:///w/a.rs");
    assert_eq!(list[0].clients, 1, "the first editor's hold on a.rs went with it: {list:?}");
    kill9(status.pid);
}

/// Two editors with the same file open keep their own buffers and versions.
#[test]
fn two_editors_editing_one_file_do_not_corrupt_each_other() {
    let home = Home::new();
    let mut first = home.lsp();
    let mut second = home.lsp();
    first.initialize(&home.project());
    second.initialize(&home.project());
    let uri = "file:///w/same.rs";
    open(&mut first, uri, "fn f() {}\n");
    open(&mut second, uri, "fn f() {}\n");
    // Both opens have reached the daemon (a request waits for its editor's edits).
    first.call::<documents::List>(NoParams {});
    second.call::<documents::List>(NoParams {});
    insert(&mut first, uri, 2, 0, 0, "// one\n");
    let doc = document_at(&mut first, uri, 2);
    assert_eq!(doc.text, "// one\nfn f() {}\n");
    // The second editor's version 2 is its own, and applies to its own text.
    insert(&mut second, uri, 2, 0, 9, " // two");
    let doc = document(&mut second, uri);
    assert_eq!(doc.text, "fn f() {} // two\n", "{doc:?}");
    insert(&mut first, uri, 3, 1, 0, "pub ");
    let doc = document(&mut first, uri);
    assert_eq!(doc.text, "// one\npub fn f() {}\n", "{doc:?}");
    kill9(status(&mut first).pid);
}

#[test]
fn rapid_changes_apply_in_order() {
    let home = Home::new();
    let mut lsp = home.lsp();
    lsp.initialize(&home.project());
    let uri = "file:///w/order.rs";
    open(&mut lsp, uri, "");
    let mut expected = String::new();
    for version in 2..=400 {
        let ch = char::from(b'a' + (version % 26) as u8);
        insert(&mut lsp, uri, version, 0, (version - 2) as u32, &ch.to_string());
        expected.push(ch);
    }
    // No polling: a request waits for the edits sent before it.
    let doc = document(&mut lsp, uri);
    assert_eq!(doc.version, 400);
    assert_eq!(doc.text, expected);
    kill9(status(&mut lsp).pid);
}

#[test]
fn reconnects_after_the_daemon_is_killed_and_keeps_documents() {
    let home = Home::new();
    let mut lsp = home.lsp();
    lsp.initialize(&home.project());
    let uri = "file:///w/keep.rs";
    open(&mut lsp, uri, "fn main() {\n}\n");
    insert(&mut lsp, uri, 2, 1, 0, "    one();\n");
    let before = document_at(&mut lsp, uri, 2);
    let old_pid = status(&mut lsp).pid;

    kill9(old_pid);
    // Edits made while the daemon is down are not lost.
    insert(&mut lsp, uri, 3, 2, 0, "    two();\n");
    let after = document_at(&mut lsp, uri, 3);
    assert_eq!(before.text, "fn main() {\n    one();\n}\n");
    assert_eq!(after.text, "fn main() {\n    one();\n    two();\n}\n");
    let status = status(&mut lsp);
    assert_ne!(status.pid, old_pid, "a new daemon was started");
    assert_eq!(status.clients[&ClientKind::Lsp], 1);
    kill9(status.pid);
}

#[test]
fn cancel_request_is_honoured() {
    let home = Home::new();
    let mut lsp = home.lsp();
    lsp.initialize(&home.project());
    status(&mut lsp);
    let started = std::time::Instant::now();
    // A test hook, not a protocol method.
    let id = lsp.request_async("debug/sleep", json!([10_000]));
    // Nothing to poll for: time for the request to reach the daemon, so that the
    // cancel finds it in flight there.
    std::thread::sleep(Duration::from_millis(100));
    lsp.notify("$/cancelRequest", json!({"id": id}));
    let reply = lsp.response(id, Duration::from_secs(5));
    assert_eq!(reply["error"]["code"], -32800, "{reply}");
    assert!(started.elapsed() < Duration::from_secs(5));
    kill9(status(&mut lsp).pid);
}

#[test]
fn exits_when_the_editor_process_dies() {
    let home = Home::new();
    // A stand-in editor process whose pid goes into initialize.
    let mut editor = std::process::Command::new("sleep").arg("30").spawn().expect("sleep");
    let mut lsp = home.lsp();
    lsp.request("initialize", json!({"processId": editor.id(), "capabilities": {}, "rootUri": null}));
    let daemon_pid = status(&mut lsp).pid;
    editor.kill().expect("kill editor");
    editor.wait().expect("reap editor");
    // stdin stays open: only the editor's death can end the proxy.
    assert!(lsp.wait_exit(Duration::from_secs(5)).is_some(), "paired lsp exits when its editor dies");
    kill9(daemon_pid);
}
