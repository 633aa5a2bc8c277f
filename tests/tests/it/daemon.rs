//! The daemon over JSON-RPC: HTTP and WebSocket, subscriptions, single instance,
//! panic isolation, durability.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::rpc_params;
use protocol::{
    NoParams,
    client::{ClientHello, ClientKind, Event},
    daemon::Status,
    documents::{self, ChangeParams, ContentChange, DocumentVersion, OpenParams, Position, Range, UriParams},
};
use serde_json::{Value, json};
use tests::{Home, Rpc, attach, hello, next_event, process_alive, wait_until};

#[test]
fn status_over_http() {
    let home = Home::new();
    let daemon = home.start_daemon();
    let reply = home.post(r#"{"jsonrpc":"2.0","id":1,"method":"daemon/status"}"#);
    assert_eq!(reply.status, 200, "{reply:?}");
    let status = &reply.json()["result"];
    assert_eq!(status["pid"], json!(daemon.pid));
    assert_eq!(status["port"], json!(daemon.port));
    assert_eq!(status["protocol_version"], json!(protocol::PROTOCOL_VERSION));
    assert_eq!(status["agents"].as_array().map(Vec::len), Some(7));
    assert_eq!(status["agents"][1]["name"], "Sherlock (QA)");
}

#[tokio::test]
async fn websocket_methods_events_and_discovery() {
    let home = Home::new();
    let _daemon = home.start_daemon();
    let watcher = home.ws().await;
    let mut events = attach(&watcher, hello(ClientKind::Cli, "watcher")).await;
    let first = next_event(&mut events, Duration::from_secs(5)).await;
    assert!(matches!(first, Event::Attached { .. }), "{first:?}");
    // A client that names the events it uses is sent those (and `attached`) only;
    // a name that is no event type is refused.
    let picky = home.ws().await;
    let mut picky_events =
        attach(&picky, ClientHello { events: Some(vec!["run_update".into()]), ..hello(ClientKind::Lsp, "picky") })
            .await;
    assert!(matches!(next_event(&mut picky_events, Duration::from_secs(5)).await, Event::Attached { .. }));
    let seen = next_event(&mut events, Duration::from_secs(5)).await;
    assert!(matches!(&seen, Event::ClientAttached { name, .. } if name == "picky"), "{seen:?}");
    let refused = home
        .ws()
        .await
        .subscribe::<Value, _>(
            "client/attach",
            rpc_params![json!({"kind": "cli", "name": "typo", "events": ["run_updates"]})],
            "client/detach",
        )
        .await;
    let refused = refused.map(|_| ()).expect_err("an unknown event type is refused").to_string();
    assert!(refused.contains("no event type"), "{refused}");

    let editor = home.ws().await;
    let mut editor_events =
        attach(&editor, ClientHello { workspace_folders: vec!["file:///w".into()], ..hello(ClientKind::Other, "ed") })
            .await;
    next_event(&mut editor_events, Duration::from_secs(5)).await;
    let seen = next_event(&mut events, Duration::from_secs(5)).await;
    assert!(matches!(&seen, Event::ClientAttached { name, .. } if name == "ed"), "{seen:?}");

    let uri = "file:///w/a.py".to_owned();
    let opened = editor
        .call::<documents::Open>(OpenParams {
            uri: uri.clone(),
            language_id: "python".into(),
            version: 1,
            text: "x = 1\n".into(),
        })
        .await;
    assert_eq!(opened, DocumentVersion { uri: uri.clone(), version: 1, bytes: 6 });
    assert_eq!(next_event(&mut events, Duration::from_secs(5)).await, Event::DocumentOpened { uri: uri.clone() });
    let nothing = tokio::time::timeout(Duration::from_millis(300), picky_events.next()).await;
    assert!(nothing.is_err(), "not sent to a client that did not name it: {nothing:?}");
    let at = |character| Position { line: 0, character };
    let changed = editor
        .call::<documents::Change>(ChangeParams {
            uri: uri.clone(),
            version: 2,
            changes: vec![ContentChange { range: Some(Range { start: at(4), end: at(5) }), text: "42".into() }],
        })
        .await;
    assert_eq!(changed.bytes, 7);
    let doc = editor.call::<documents::Get>(UriParams { uri }).await;
    assert_eq!(doc.text, "x = 42\n");

    let status = watcher.call::<Status>(NoParams {}).await.daemon;
    assert_eq!(status.clients, BTreeMap::from([(ClientKind::Lsp, 1), (ClientKind::Cli, 1), (ClientKind::Other, 1)]));
    assert_eq!(status.open_documents, 1);
    assert_eq!(status.workspaces, ["file:///w"]);

    // A client that goes away releases its documents; others are told.
    drop(editor_events);
    drop(editor);
    let mut types = Vec::new();
    while types.len() < 2 {
        types.push(match next_event(&mut events, Duration::from_secs(5)).await {
            Event::DocumentClosed { .. } => "document_closed".to_owned(),
            Event::ClientDetached { .. } => "client_detached".to_owned(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(types, ["document_closed", "client_detached"]);
    let status = watcher.call::<Status>(NoParams {}).await.daemon;
    assert_eq!(status.open_documents, 0);
    assert_eq!(status.clients, BTreeMap::from([(ClientKind::Lsp, 1), (ClientKind::Cli, 1)]));

    // Not a protocol method: the OpenRPC document of them all.
    let discovered: Value = watcher.request("rpc.discover", rpc_params![]).await.expect("discover");
    assert_eq!(discovered, protocol::openrpc::document(env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn errors_are_clear_and_the_daemon_keeps_serving() {
    let home = Home::new();
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let err = client.try_call::<documents::Get>(UriParams { uri: "file:///nope".into() }).await.expect_err("not open");
    assert!(err.message.contains("document file:///nope is not open; send documents/open first"), "{err}");
    // What no typed client sends: a wrong field, a method that does not exist.
    let err =
        client.request::<Value, _>("documents/get", rpc_params![json!({"url": "x"})]).await.expect_err("bad params");
    assert!(err.to_string().contains("invalid params for documents/get: missing field `uri`"), "{err}");
    let err = client.request::<Value, _>("nobody/home", rpc_params![]).await.expect_err("unknown");
    assert!(err.to_string().contains("Method not found"), "{err}");

    // Malformed JSON over HTTP: a parse error, not a dropped connection.
    let reply = home.post(r#"{"jsonrpc":"2.0","id":1,"method":"#);
    assert_eq!(reply.json()["error"]["code"], -32700, "{reply:?}");
    // Too deeply nested params.
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"daemon/status","params":{}{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let reply = home.post(&deep);
    assert_eq!(reply.json()["error"]["code"], protocol::errors::LIMIT_EXCEEDED, "{reply:?}");
    assert!(reply.body.contains("nested 100 levels deep; the limit is 64"), "{reply:?}");
    // A batch over the limit.
    let batch: Vec<Value> = (0..65).map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "daemon/status"})).collect();
    let reply = home.post(&serde_json::to_string(&batch).expect("json"));
    assert!(reply.body.contains("The batch request was too large"), "{reply:?}");
    let batch: Vec<Value> = (0..3).map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "daemon/status"})).collect();
    assert_eq!(home.post(&serde_json::to_string(&batch).expect("json")).json().as_array().map(Vec::len), Some(3));
    // Over the request size limit (10 MiB).
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"documents/open","params":{{"uri":"file:///big","language_id":"x","version":1,"text":"{}"}}}}"#,
        "a".repeat(11 * 1024 * 1024)
    );
    let reply = home.post(&huge);
    assert_eq!(reply.status, 413, "{}", reply.head);
    assert!(reply.body.contains("Request is too big"), "{reply:?}");

    let status = client.call::<Status>(NoParams {}).await;
    assert_eq!(status.daemon.open_documents, 0, "still serving");
}

#[tokio::test]
async fn a_panicking_handler_is_an_error_reply_and_nobody_else_notices() {
    let home = Home::new();
    let daemon = home.start_daemon();
    let bystander = home.ws().await;
    let mut events = attach(&bystander, hello(ClientKind::Cli, "bystander")).await;
    next_event(&mut events, Duration::from_secs(5)).await;
    let culprit = home.ws().await;
    // A test hook, not a protocol method.
    let err = culprit.request::<Value, _>("debug/panic", rpc_params![]).await.expect_err("panic");
    let text = err.to_string();
    assert!(text.contains("-32603") || text.contains("internal error in debug/panic"), "{text}");
    assert!(text.contains("internal error in debug/panic: the handler failed (debug/panic was called)"), "{text}");
    // Both connections, and the bystander's subscription, are still alive.
    culprit.call::<Status>(NoParams {}).await; // the culprit is still served
    let status = bystander.call::<Status>(NoParams {}).await; // and the bystander
    assert_eq!(status.daemon.clients[&ClientKind::Cli], 1);
    assert!(bystander.is_connected());
    assert!(process_alive(daemon.pid));
    assert!(home.log().contains("handler panicked"), "the panic is logged");
}

#[test]
fn one_daemon_per_user_and_stale_locks_are_taken_over() {
    let home = Home::new();
    let mut first = home.start_daemon();
    let second = home.paired(&["daemon"]).output().expect("second daemon");
    assert!(second.status.success());
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains(&format!("a daemon is already running (pid {}", first.pid)), "{stdout}");
    assert_eq!(home.daemon_pid(), first.pid);

    // Killed without cleaning up: the lock dies with it, the discovery file stays.
    first.kill9();
    assert!(home.discovery_path().exists());
    let third = home.start_daemon();
    assert_ne!(third.pid, first.pid);
    assert!(home.log().contains("the previous daemon did not stop cleanly; taking over"), "{}", home.log());
    let db = rusqlite::Connection::open(home.database()).expect("db");
    let ended: Vec<Option<String>> = db
        .prepare("SELECT ended FROM daemon_runs ORDER BY id")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(ended, [Some("killed".to_owned()), None]);
}

#[test]
fn stop_is_clean_and_detach_returns_at_once() {
    let home = Home::new();
    let out = home.paired(&["daemon", "--detach"]).output().expect("detach");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("daemon started in the background"), "{stdout}");
    let pid = home.daemon_pid();
    assert!(process_alive(pid));
    // Detached into a session of its own (a terminal's hang-up does not reach
    // it; on Linux, a scheduling group of its own): it leads it.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..].split(' ').collect();
    assert_eq!(
        (fields[2], fields[3]),
        (pid.to_string().as_str(), pid.to_string().as_str()),
        "pgrp and session: {stat}"
    );

    let out = home.paired(&["stop"]).output().expect("stop");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("daemon (pid {pid}) stopped")));
    wait_until("daemon exit", Duration::from_secs(5), || !process_alive(pid));
    assert!(!home.discovery_path().exists(), "discovery file removed on a clean stop");
    let db = rusqlite::Connection::open(home.database()).expect("db");
    let ended: String = db.query_row("SELECT ended FROM daemon_runs", [], |r| r.get(0)).expect("run");
    assert_eq!(ended, "clean");

    let out = home.paired(&["status"]).output().expect("status");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("paired: no PAIRED daemon is running"), "{stderr}");
    assert!(stderr.contains("hint: start it with `paired daemon --detach`"), "{stderr}");
}

/// `kill -9` while clients attach (each attach is a committed row before the client
/// hears back): the database opens, passes integrity_check and has every row a
/// client was told about.
#[tokio::test]
async fn kill_dash_nine_loses_no_committed_data() {
    let home = Home::new();
    let mut daemon = home.start_daemon();
    let mut acknowledged = 0;
    let mut clients = Vec::new();
    for i in 0..40 {
        let client = home.ws().await;
        let mut events = attach(&client, hello(ClientKind::Cli, &format!("c{i}"))).await;
        next_event(&mut events, Duration::from_secs(5)).await;
        acknowledged += 1;
        clients.push((client, events));
    }
    // Keep writes in flight while the daemon dies, counting those acknowledged.
    // (Attaches that fail as the daemon dies end the loop: no typed helper here.)
    let port = daemon.port;
    let token = home.token();
    let racing_so_far = Arc::new(AtomicI64::new(0));
    let counter = racing_so_far.clone();
    let racing = tokio::spawn(async move {
        let mut acknowledged = 0i64;
        let mut clients = Vec::new();
        for i in 0.. {
            let mut headers = jsonrpsee::ws_client::HeaderMap::new();
            headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
            let Ok(client) = jsonrpsee::ws_client::WsClientBuilder::default()
                .set_headers(headers)
                .build(format!("ws://127.0.0.1:{port}"))
                .await
            else {
                break;
            };
            let params = rpc_params![json!({"kind": "cli", "name": format!("w{i}")})];
            let Ok(mut sub) = client.subscribe::<Value, _>("client/attach", params, "client/detach").await else {
                break;
            };
            // The `attached` event comes after the row is committed.
            if matches!(sub.next().await, Some(Ok(_))) {
                acknowledged += 1;
                counter.store(acknowledged, Ordering::Relaxed);
            }
            clients.push((client, sub));
        }
        acknowledged
    });
    // The writer is under way (a few of its attaches acknowledged, more in flight).
    tests::eventually("racing writes", async || racing_so_far.load(Ordering::Relaxed) >= 5).await;
    daemon.kill9();
    let racing_acknowledged = racing.await.expect("racing writer");
    assert!(racing_acknowledged > 0, "the kill raced some writes");

    let db = rusqlite::Connection::open(home.database()).expect("db opens");
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity");
    assert_eq!(check, "ok");
    let named: i64 =
        db.query_row("SELECT count(*) FROM client_sessions WHERE name LIKE 'c%'", [], |r| r.get(0)).expect("count");
    assert_eq!(named, acknowledged);
}

#[tokio::test]
async fn websocket_limits_and_batches_get_the_same_protection() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let home = Home::new();
    let _daemon = home.start_daemon();
    let url = format!("ws://127.0.0.1:{}/?token={}", home.port(), home.token());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
    let mut ask = async |text: String| -> Value {
        ws.send(Message::text(text)).await.expect("send");
        loop {
            match ws.next().await.expect("reply").expect("frame") {
                Message::Text(t) => return serde_json::from_str(&t).expect("json reply"),
                _ => continue,
            }
        }
    };
    let malformed = ask(r#"{"jsonrpc":"2.0","id":1,"method":"#.to_owned()).await;
    assert_eq!(malformed["error"]["code"], -32700, "{malformed}");
    let deep =
        format!(r#"{{"jsonrpc":"2.0","id":2,"method":"daemon/status","params":{}{}}}"#, "[".repeat(80), "]".repeat(80));
    assert_eq!(ask(deep).await["error"]["code"], protocol::errors::LIMIT_EXCEEDED);
    // In a batch, each entry gets the depth limit and panic isolation on its own.
    let batch = format!(
        r#"[{{"jsonrpc":"2.0","id":"ok","method":"daemon/status"}},{{"jsonrpc":"2.0","id":"deep","method":"daemon/status","params":{}{}}},{{"jsonrpc":"2.0","id":"boom","method":"debug/panic"}}]"#,
        "[".repeat(80),
        "]".repeat(80)
    );
    let replies = ask(batch).await;
    let by_id =
        |id: &str| replies.as_array().and_then(|r| r.iter().find(|e| e["id"] == id)).cloned().unwrap_or_default();
    assert!(by_id("ok")["result"]["pid"].is_u64(), "{replies}");
    assert_eq!(by_id("deep")["error"]["code"], protocol::errors::LIMIT_EXCEEDED, "{replies}");
    assert_eq!(by_id("boom")["error"]["code"], -32603, "{replies}");
    let status = ask(r#"{"jsonrpc":"2.0","id":9,"method":"daemon/status"}"#.to_owned()).await;
    assert!(status["result"]["pid"].is_u64(), "the connection still serves: {status}");
}

#[test]
fn detach_passes_its_options_on() {
    let home = Home::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let out = home.paired(&["daemon", "--detach", "--port", &port.to_string()]).output().expect("detach");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(home.port(), port);
    let pid = home.daemon_pid();
    tests::kill9(pid);
}

/// A daemon started in the background that cannot start (its port taken by
/// another program) is said at once, with its reason from its log: not ten
/// seconds of waiting and "see its log", nor a new daemon spawned every 300 ms.
#[test]
fn a_daemon_that_cannot_start_says_why_at_once() {
    let home = Home::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    for args in [&["daemon", "--detach"][..], &["agents", "list"][..]] {
        let started = std::time::Instant::now();
        let out = home.paired(args).env("PAIRED_PORT", &port).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {out:?}");
        assert!(
            stderr.contains("could not start") && stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
            "{args:?}: {stderr}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?} took {:?}", started.elapsed());
    }
    let logged = std::fs::read_to_string(home.path().join(".local/state/paired/paired.log")).expect("the log");
    assert_eq!(logged.matches("cannot listen on").count(), 2, "one daemon per command: {logged}");
    drop(taken);
}

/// An editor's daemon (auto-started) that no client can find any more — its
/// discovery file removed (the runtime folder is deleted at logout; a test's
/// HOME is deleted) — ends once idle rather than linger unreachable until
/// its idle limit (15 minutes). An attached client keeps it; a daemon the
/// user started themselves is left alone.
#[tokio::test]
async fn an_editors_daemon_nobody_can_find_ends_once_idle() {
    let home = Home::new();
    let daemon = home.start_daemon_command(home.paired(&["daemon", "--autostarted"]));
    let users = Home::new();
    let users_daemon = users.start_daemon();
    let editor = home.ws().await;
    let events = attach(&editor, hello(ClientKind::Lsp, "editor")).await;
    std::fs::remove_file(home.discovery_path()).expect("remove the discovery file");
    std::fs::remove_file(users.discovery_path()).expect("remove the discovery file");
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(process_alive(daemon.pid), "a client is attached: it stays");
    drop((events, editor));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while process_alive(daemon.pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!process_alive(daemon.pid), "it ended once idle");
    let log = std::fs::read_to_string(home.path().join(".local/state/paired/paired.log")).unwrap_or_default();
    assert!(log.contains("no client can find it any more"), "{log}");
    assert!(process_alive(users_daemon.pid), "a daemon the user started stays");
}

/// An editor whose connection closes while its workspaces are still being
/// opened (the attach thread held up: a folder on a hung mount) leaves them
/// held by nobody: its attach runs to its end and is detached, and the
/// workspace goes to sleep once idle. It used to be held by a client id no one
/// would ever detach, its index and watches kept for the daemon's life.
#[tokio::test]
async fn an_editor_gone_while_attaching_holds_no_workspace() {
    use protocol::context::ListWorkspaces;

    let home = Home::new();
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("src/lib.rs"), "pub fn one() -> u32 {\n    1\n}\n").expect("write");
    let root = root.canonicalize().expect("canonical");
    home.write_config("[context]\nidle_workspace_secs = 1\n");
    let _daemon = home.start_daemon();
    let control = home.ws().await;
    let _: u64 = control.request("debug/stall_attach", rpc_params![2_000]).await.expect("stall");
    let editor = home.ws().await;
    let hello =
        ClientHello { workspace_folders: vec![format!("file://{}", root.display())], ..hello(ClientKind::Lsp, "gone") };
    let attaching = tokio::spawn(async move {
        let _events = attach(&editor, hello).await;
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The editor goes: its connection closes while its attach waits its turn.
    attaching.abort();
    let _ = attaching.await;
    let ours = |home: &Home| {
        home.call::<ListWorkspaces>(NoParams {}).into_iter().find(|w| std::path::Path::new(&w.root) == root)
    };
    wait_until("the workspace opened for the gone editor", Duration::from_secs(20), || ours(&home).is_some());
    wait_until("the workspace asleep, nobody holding it", Duration::from_secs(30), || {
        ours(&home).is_some_and(|status| status.state == "asleep")
    });
    let status = home.call::<Status>(NoParams {}).daemon;
    assert!(!status.clients.contains_key(&ClientKind::Lsp), "no ghost client: {:?}", status.clients);
}
