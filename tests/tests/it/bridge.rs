//! The PAIRED 1.0 bridge: 1.0's HTTP endpoints and WebSocket messages, as 1.0
//! clients send them (both field spellings), answered by the real agents; off
//! by default; behind the daemon's Host and Origin checks. Without a token it
//! reaches only projects a client connected with that the user opened (issue
//! #14), and a closed connection leaves nothing behind.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::{Home, http};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const LIB: &str = "pub fn load(p: &str) -> String {\n    std::fs::read_to_string(p).unwrap()\n}\n";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn project(home: &Home) -> std::path::PathBuf {
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"proj\"\n").expect("write");
    std::fs::write(root.join("src/lib.rs"), LIB).expect("write");
    root.canonicalize().expect("canonical")
}

fn post(port: u16, path: &str, body: &Value) -> tests::HttpReply {
    let host = format!("127.0.0.1:{port}");
    http(port, "POST", path, &[("Host", &host), ("Content-Type", "application/json")], &body.to_string())
}

/// Starts the daemon with the bridge on a free port; returns it and the port.
fn start_bridge(home: &Home, env: &[(&str, &str)]) -> (tests::Daemon, u16) {
    let port = free_port();
    let port_text = port.to_string();
    let mut all = vec![("BRIDGE_PORT", port_text.as_str()), ("PAIRED_COMPAT_BRIDGE_1X", "true")];
    all.extend_from_slice(env);
    let daemon = home.start_daemon_with(&all);
    tests::wait_until("the bridge", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (daemon, port)
}

/// Opens `root` as the user's editor would (`workspaces/add`, with the daemon's token).
fn open_workspace(home: &Home, root: &std::path::Path) {
    let folder = format!("file://{}", root.display());
    home.call::<protocol::context::AddWorkspace>(protocol::context::AddWorkspaceParams { folder, wait: true });
}

/// A 1.0 client: `ws://127.0.0.1:<port>/<query>`.
async fn connect(port: u16, query: &str) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/{query}")).await.expect("ws connect").0
}

/// The next JSON frame.
async fn next(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next()).await.expect("a frame in time") {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).expect("json frame"),
            Some(Ok(_)) => continue,
            other => panic!("the connection ended: {other:?}"),
        }
    }
}

async fn ask(ws: &mut Ws, message: Value) -> Value {
    ws.send(Message::text(message.to_string())).await.expect("send");
    next(ws).await
}

fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> tests::HttpReply {
    let host = format!("127.0.0.1:{port}");
    let mut all = vec![("Host", host.as_str())];
    all.extend_from_slice(headers);
    http(port, "GET", path, &all, "")
}

/// A refusal with the path it names taken out: refusals must not differ by
/// whether the path exists.
fn without(reply: &Value, path: &str) -> String {
    reply["error"].as_str().unwrap_or_default().replace(path, "<path>")
}

#[test]
fn the_bridge_is_off_unless_enabled() {
    let home = Home::new();
    let port = free_port();
    let _daemon = home.start_daemon_with(&[("BRIDGE_PORT", &port.to_string())]);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens on the 1.0 port");
}

#[test]
fn http_endpoints_answer_with_the_real_agents_and_keep_host_and_origin_checks() {
    let home = Home::new();
    let root = project(&home);
    let port = free_port();
    // The user lists the project for 1.0 clients (`[bridge] projects`).
    let root_text = root.display().to_string();
    let _daemon = home.start_daemon_with(&[
        ("BRIDGE_PORT", &port.to_string()),
        ("PAIRED_COMPAT_BRIDGE_1X", "true"),
        ("PAIRED_BRIDGE_PROJECTS", &root_text),
    ]);
    let host = format!("127.0.0.1:{port}");
    tests::wait_until("the bridge", std::time::Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let health = http(port, "GET", "/health", &[("Host", &host)], "").json();
    assert_eq!(health["status"], "active");
    assert_eq!(health["alexActive"], true);
    assert_eq!(health["teamAgentsActive"], 7);
    let relay = http(port, "GET", "/test-relay", &[("Host", &host)], "").json();
    assert_eq!(relay["status"], "success");
    assert_eq!(relay["teamAgents"][0], "alex");

    let registered = post(port, "/register-instance", &json!({"instanceId": "win-1", "projectPath": root}));
    assert_eq!(registered.json()["status"], "registered");
    // `qa:` is Sherlock; the file named is reviewed for real.
    let reply = post(port, "/cli-command", &json!({"command": "qa:review src/lib.rs", "projectPath": root})).json();
    assert_eq!(reply["success"], true, "{reply}");
    assert_eq!(reply["agent"]["id"], "sherlock");
    let response = reply["response"].as_str().unwrap_or("");
    assert!(response.contains("line 2: [rust-unwrap]"), "{response}");
    // Alex routes an intercepted message to the agent for it.
    let routed = post(
        port,
        "/cascade-intercept",
        &json!({"instanceId": "win-1", "message": "show the TODO backlog", "projectPath": root}),
    )
    .json();
    assert_eq!(routed["agent"]["id"], "vince", "{routed}");
    let agent =
        post(port, "/register-agent", &json!({"agentId": "scout", "agentName": "Scout", "capabilities": ["search"]}))
            .json();
    assert_eq!(agent["totalAgents"], 8);

    let bad = post(port, "/cli-command", &json!({"args": []}));
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().is_some_and(|e| e.contains("pass `command`")));
    let broken =
        http(port, "POST", "/cli-command", &[("Host", &host), ("Content-Type", "application/json")], "{not json");
    assert_eq!(broken.status, 400);
    // The daemon's checks: a rebinding Host, a web page's Origin.
    let rebinding = http(port, "GET", "/health", &[("Host", "evil.example")], "");
    assert_eq!(rebinding.status, 403, "{rebinding:?}");
    let page = http(port, "GET", "/health", &[("Host", &host), ("Origin", "https://evil.example")], "");
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn websocket_messages_of_1_0_in_both_spellings() {
    let home = Home::new();
    let root = project(&home);
    let port = free_port();
    let _daemon = home.start_daemon_with(&[("BRIDGE_PORT", &port.to_string()), ("PAIRED_COMPAT_BRIDGE_1X", "true")]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (mut ws, _) = loop {
        match tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}")).await {
            Ok(connected) => break connected,
            Err(err) => {
                assert!(std::time::Instant::now() < deadline, "the bridge never came up: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    let mut ask = async |message: Value| -> Value {
        ws.send(Message::text(message.to_string())).await.expect("send");
        loop {
            match ws.next().await.expect("reply").expect("frame") {
                Message::Text(t) => return serde_json::from_str(&t).expect("json reply"),
                _ => continue,
            }
        }
    };
    assert_eq!(ask(json!({"type": "HEALTH_CHECK"})).await["type"], "health_response");
    assert_eq!(ask(json!({"type": "health_check"})).await["status"], "healthy");
    let agents = ask(json!({"type": "AGENT_HEALTH"})).await;
    assert_eq!(agents["type"], "AGENT_HEALTH_RESPONSE");
    assert_eq!(agents["agents"].as_array().map(Vec::len), Some(7));
    // A project the user opened (1.0 clients connect only to those without a token).
    open_workspace(&home, &root);
    let connected = ask(json!({"type": "PROJECT_CONNECT", "project": {"name": "proj", "path": root}})).await;
    assert_eq!(connected["type"], "PROJECT_CONNECTED", "{connected}");

    // The extension's spelling (`targetAgent`), answered with both.
    let reply = ask(json!({"type": "AGENT_MESSAGE", "targetAgent": "qa", "message": "please review src/lib.rs"})).await;
    assert_eq!(reply["type"], "AGENT_RESPONSE");
    assert_eq!(reply["agent"]["name"], "Sherlock (QA)", "1.0's display convention");
    assert!(reply["agent"]["emoji"].is_string());
    assert_eq!(reply["agentId"], "sherlock");
    assert_eq!(reply["message"], reply["content"]);
    assert!(reply["content"].as_str().is_some_and(|c| c.contains("[rust-unwrap]")), "{reply}");
    // The server's spelling (`agent`, `content`).
    let reply = ask(json!({"type": "AGENT_MESSAGE", "agent": "leonardo", "content": "map the modules"})).await;
    assert_eq!(reply["agentId"], "leonardo");
    assert!(reply["content"].as_str().is_some_and(|c| c.contains("Leonardo")), "{reply}");

    let request = ask(json!({"type": "agent_request", "agentName": "alex", "message": "COMPREHENSIVE_PROJECT_ASSESSMENT", "requestId": "r-7"})).await;
    assert_eq!(request["type"], "agent_response");
    assert_eq!(request["requestId"], "r-7");
    assert!(request["response"].as_str().is_some_and(|r| r.contains("Alex's project assessment")), "{request}");
    let user = ask(json!({"type": "user_request", "requestedAgent": "nobody", "originalMessage": "hi"})).await;
    assert!(user["response"].as_str().is_some_and(|r| r.starts_with("no agent named \"nobody\"")), "{user}");

    // What 1.0 announced and never answered.
    assert_eq!(ask(json!({"type": "PING"})).await["type"], "PONG");
    assert_eq!(ask(json!({"type": "GET_VERSION"})).await["type"], "VERSION");
    assert_eq!(ask(json!({"type": "GET_UPTIME"})).await["type"], "UPTIME");
    assert_eq!(ask(json!({"type": "STATUS_CHECK"})).await["status"], "running");
    let listed = ask(json!({"type": "LIST_AGENTS"})).await;
    assert_eq!(listed["agents"][1]["name"], "Sherlock (QA)");
    assert_eq!(ask(json!({"type": "REGISTER_INSTANCE", "projectPath": root})).await["type"], "INSTANCE_REGISTERED");
    let instances = ask(json!({"type": "get_instances"})).await;
    assert_eq!(instances["totalActive"], 1);
    assert_eq!(instances["instances"][0]["projectPath"], root.display().to_string());
    assert_eq!(ask(json!({"type": "GET_CONNECTIONS"})).await["type"], "CONNECTIONS");
    // What the 1.0 extension sent and 1.0 never handled.
    let context = "fn main() {}\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
    assert_eq!(ask(json!({"type": "CONTEXT_UPDATE", "context": context})).await["type"], "CONTEXT_RECEIVED");
    let optimized = ask(json!({"type": "OPTIMIZE_CONTEXT", "target": 1000})).await;
    assert_eq!(optimized["type"], "CONTEXT_OPTIMIZED");
    assert!(!optimized["context"].as_str().unwrap_or("").contains("wJalrXUtnFEMI"), "{optimized}");
    assert_eq!(optimized["secretsRedacted"], 1);
    assert_eq!(ask(json!({"type": "context_share", "context": "x"})).await["delivered"], 0);
    // Bad input: a clear error, and the connection goes on.
    let bad = ask(json!({"type": "TELEPORT"})).await;
    assert!(bad["error"].as_str().is_some_and(|e| e.starts_with("unknown message type \"TELEPORT\"")));
    ws.send(Message::text("{not json")).await.expect("send");
    let reply = loop {
        if let Message::Text(t) = ws.next().await.expect("reply").expect("frame") {
            break serde_json::from_str::<Value>(&t).expect("json");
        }
    };
    assert_eq!(reply["type"], "ERROR");
    assert!(reply["error"].as_str().is_some_and(|e| e.starts_with("the frame is not JSON")));
}

/// Issue #14: any local user can reach the bridge, so without a token it
/// answers only for files of a project the client connected with that the
/// user opened too; a path outside gets one refusal, with no content, whether
/// or not it exists (links and `..` resolved first, ignore rules applied).
#[tokio::test]
async fn without_a_token_the_bridge_reaches_only_connected_projects_the_user_opened() {
    let home = Home::new();
    let root = project(&home);
    std::fs::write(root.join(".gitignore"), "ignored.rs\n").expect("write");
    std::fs::write(
        root.join("src/ignored.rs"),
        "fn the_ignored_plan(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8) {}\n",
    )
    .expect("write");
    let secret_dir = home.path().join("secret");
    std::fs::create_dir_all(&secret_dir).expect("mkdir");
    let secret = secret_dir.join("notes.rs");
    std::fs::write(&secret, "// Sherlock names the parameter an unwrap trusts: what is in the file shows.\npub fn f(the_launch_code_is_0000: Option<u8>) -> u8 {\n    the_launch_code_is_0000.unwrap()\n}\n").expect("write");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let secret = secret.canonicalize().expect("canonical").display().to_string();
    std::os::unix::fs::symlink(&secret, root.join("src/link.rs")).expect("symlink");
    let other = home.path().join("other");
    std::fs::create_dir_all(other.join("src")).expect("mkdir");
    std::fs::write(
        other.join("src/lib.rs"),
        "fn the_other_projects_plan(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8) {}\n",
    )
    .expect("write");
    let other = other.canonicalize().expect("canonical").display().to_string();
    let missing = home.path().join("nowhere/gone.rs").display().to_string();
    let (_daemon, port) = start_bridge(&home, &[]);
    open_workspace(&home, &root);

    let review =
        |what: &str| json!({"type": "AGENT_MESSAGE", "targetAgent": "qa", "message": format!("please review {what}")});
    let mut ws = connect(port, "").await;
    // Connected to nothing: a 0600 file, /etc/shadow and a path that does not
    // exist get the same refusal, with nothing of the file in it.
    let refused = ask(&mut ws, review(&secret)).await;
    assert_eq!(refused["type"], "ERROR", "{refused}");
    assert!(!refused.to_string().contains("launch_code"), "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("out of reach")), "{refused}");
    let shadow = ask(&mut ws, review("/etc/shadow")).await;
    let nothing = ask(&mut ws, review(&missing)).await;
    assert_eq!(shadow["type"], "ERROR");
    assert_eq!(without(&shadow, "/etc/shadow"), without(&refused, &secret), "no existence oracle");
    assert_eq!(without(&nothing, &missing), without(&refused, &secret), "no existence oracle");
    // A project the user has not opened, or no folder at all: one refusal.
    let elsewhere = ask(&mut ws, json!({"type": "PROJECT_CONNECT", "project": {"name": "other", "path": other}})).await;
    let nowhere = ask(&mut ws, json!({"type": "PROJECT_CONNECT", "project": {"name": "x", "path": missing}})).await;
    assert_eq!(elsewhere["type"], "ERROR", "{elsewhere}");
    assert_eq!(without(&elsewhere, &other), without(&nowhere, &missing));
    let assessment = ask(&mut ws, json!({"type": "agent_request", "agentName": "alex", "message": "COMPREHENSIVE_PROJECT_ASSESSMENT", "requestId": "r-1"})).await;
    assert_eq!(assessment["type"], "ERROR", "no project: not the only workspace open instead: {assessment}");
    assert_eq!(assessment["requestId"], "r-1");

    // Connected to the project the user opened: its files, and nothing else.
    let connected = ask(&mut ws, json!({"type": "PROJECT_CONNECT", "project": {"name": "proj", "path": root}})).await;
    assert_eq!(connected["type"], "PROJECT_CONNECTED", "{connected}");
    let reply = ask(&mut ws, review("src/lib.rs")).await;
    assert!(reply["content"].as_str().is_some_and(|c| c.contains("[rust-unwrap]")), "{reply}");
    for (what, why) in [
        (secret.as_str(), "a file outside the project"),
        ("src/link.rs", "a link out of the project"),
        ("../secret/notes.rs", "`..` out of the project"),
        ("src/ignored.rs", "a file the project's .gitignore excludes"),
        (&format!("{other}/src/lib.rs"), "a project the client did not connect with"),
    ] {
        let reply = ask(&mut ws, review(what)).await;
        assert_eq!(reply["type"], "ERROR", "{why}: {reply}");
        assert!(!reply.to_string().contains("plan") && !reply.to_string().contains("launch_code"), "{why}: {reply}");
    }
    let moved = ask(&mut ws, json!({"type": "user_request", "requestedAgent": "qa", "originalMessage": "review src/lib.rs", "projectPath": other})).await;
    assert_eq!(moved["type"], "ERROR", "`projectPath` connects only where PROJECT_CONNECT may: {moved}");

    // HTTP: the request's own `projectPath` is all it reaches.
    let cli = post(port, "/cli-command", &json!({"command": format!("qa:review {secret}")}));
    assert_eq!(cli.status, 403, "{cli:?}");
    assert!(!cli.body.contains("launch_code"));
    let shadow = post(port, "/cli-command", &json!({"command": "qa:review /etc/shadow", "projectPath": root}));
    assert_eq!(shadow.status, 403);
    assert_eq!(without(&shadow.json(), "/etc/shadow"), without(&cli.json(), &secret));
    let other_project = post(port, "/cli-command", &json!({"command": "qa:review src/lib.rs", "projectPath": other}));
    assert_eq!(other_project.status, 403, "{other_project:?}");
    assert!(!other_project.body.contains("plan"));
    let ok = post(port, "/cli-command", &json!({"command": "qa:review src/lib.rs", "projectPath": root})).json();
    assert!(ok["response"].as_str().is_some_and(|r| r.contains("[rust-unwrap]")), "{ok}");

    // The daemon's token reaches what the user can: on the URL, or as a header.
    let token = home.token();
    let mut holder = connect(port, &format!("?token={token}")).await;
    let reply = ask(&mut holder, review(&secret)).await;
    assert!(reply["content"].as_str().is_some_and(|c| c.contains("the_launch_code_is_0000")), "{reply}");
    let auth = format!("Bearer {token}");
    let host = format!("127.0.0.1:{port}");
    let body = json!({"command": format!("qa:review {secret}")}).to_string();
    let headers = [("Host", host.as_str()), ("Content-Type", "application/json"), ("Authorization", auth.as_str())];
    let cli = http(port, "POST", "/cli-command", &headers, &body).json();
    assert!(cli["response"].as_str().is_some_and(|r| r.contains("launch_code")), "{cli}");
    // A wrong token is refused at the door.
    let wrong = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/?token=0123")).await;
    match wrong {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a wrong token was let in: {:?}", other.map(|(_, r)| r.status())),
    }
}

/// Issue #14: `get_instances` and `context_share` stay within the projects a
/// connection connected with.
#[tokio::test]
async fn instances_and_shared_context_stay_within_the_projects_a_client_connected_with() {
    let home = Home::new();
    let a = project(&home);
    let b = home.path().join("b");
    std::fs::create_dir_all(&b).expect("mkdir");
    let b = b.canonicalize().expect("canonical");
    let (_daemon, port) = start_bridge(&home, &[]);
    open_workspace(&home, &a);
    open_workspace(&home, &b);
    let (mut first, mut second, mut loose, mut third) =
        (connect(port, "").await, connect(port, "").await, connect(port, "").await, connect(port, "").await);
    let on_a = ask(&mut first, json!({"type": "PROJECT_CONNECT", "project": {"name": "a", "path": a}})).await;
    let first_id = on_a["instanceId"].clone();
    assert_eq!(
        ask(&mut second, json!({"type": "PROJECT_CONNECT", "projectPath": b})).await["type"],
        "PROJECT_CONNECTED"
    );

    let seen = ask(&mut second, json!({"type": "get_instances"})).await;
    assert_eq!(seen["instances"].as_array().map(Vec::len), Some(1), "only itself: {seen}");
    assert_eq!(seen["instances"][0]["projectPath"], b.display().to_string());
    assert!(!seen.to_string().contains(&a.display().to_string()), "{seen}");
    let seen = ask(&mut loose, json!({"type": "GET_CONNECTIONS"})).await;
    assert_eq!(seen["instances"].as_array().map(Vec::len), Some(1), "only itself: {seen}");
    assert_eq!(seen["totalActive"], 1);

    // Nobody else on A: shared with no one (not with B's client).
    let shared = ask(&mut first, json!({"type": "context_share", "context": "a's secret plan"})).await;
    assert_eq!(shared["delivered"], 0, "{shared}");
    let shared = ask(&mut loose, json!({"type": "context_share", "context": "injected"})).await;
    assert_eq!(shared["delivered"], 0, "a client connected to nothing injects into nothing: {shared}");
    assert_eq!(
        ask(&mut third, json!({"type": "PROJECT_CONNECT", "projectPath": a})).await["type"],
        "PROJECT_CONNECTED"
    );
    let shared = ask(&mut first, json!({"type": "context_share", "context": "for a"})).await;
    assert_eq!(shared["delivered"], 1, "{shared}");
    let received = next(&mut third).await;
    assert_eq!((received["type"].as_str(), received["context"].as_str()), (Some("context_shared"), Some("for a")));
    // B's client got nothing: its next frame is the reply to its own message.
    assert_eq!(ask(&mut second, json!({"type": "PING"})).await["type"], "PONG");
    let seen = ask(&mut third, json!({"type": "get_instances"})).await;
    assert_eq!(seen["instances"].as_array().map(Vec::len), Some(2), "both on A: {seen}");

    // HTTP cannot take over a live connection's instance, nor register an unopened project.
    let taken = post(port, "/register-instance", &json!({"instanceId": first_id, "projectPath": b}));
    assert_eq!(taken.status, 409, "{taken:?}");
    let unopened = post(port, "/register-instance", &json!({"instanceId": "x", "projectPath": home.path()}));
    assert_eq!(unopened.status, 403, "{unopened:?}");
}

/// Issue #14: a closed connection's state goes with it (20 connections that
/// stored 2 MiB of context each were kept forever).
#[tokio::test]
async fn closed_connections_leave_nothing_behind() {
    let home = Home::new();
    let (_daemon, port) = start_bridge(&home, &[]);
    let health = || get(port, "/health", &[]).json();
    let baseline = health();
    assert_eq!(baseline["activeSessions"], 0, "{baseline}");
    let big = "x".repeat(2 * 1024 * 1024);
    let mut connections = Vec::new();
    for _ in 0..20 {
        let mut ws = connect(port, "").await;
        let stored = ask(&mut ws, json!({"type": "CONTEXT_UPDATE", "context": big})).await;
        assert_eq!(stored["type"], "CONTEXT_RECEIVED");
        connections.push(ws);
    }
    let busy = health();
    assert_eq!((busy["activeSessions"].as_u64(), busy["connectedInstances"].as_u64()), (Some(20), Some(20)), "{busy}");
    // Half say goodbye, half just go (the TCP connection dropped).
    for (n, mut ws) in connections.into_iter().enumerate() {
        if n % 2 == 0 {
            ws.close(None).await.expect("close");
        }
    }
    tests::wait_until("the bridge to drop closed connections", Duration::from_secs(20), || {
        let now = health();
        now["activeSessions"] == 0 && now["connectedInstances"] == 0
    });
    // The context they stored went with them (and was counted while they lived).
    assert!(busy["storedContextBytes"].as_u64() >= Some(20 * big.len() as u64), "{busy}");
    assert_eq!(health()["storedContextBytes"], 0);
}

/// `[bridge] require_token = true`: every client must send the daemon's token,
/// on the URL, as a header, or in a message; with it, it reaches what the user can.
#[tokio::test]
async fn require_token_refuses_clients_without_the_token() {
    let home = Home::new();
    let elsewhere = home.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    std::fs::write(
        elsewhere.join("todo.rs"),
        "fn main() {\n    std::fs::read_to_string(\"only-for-the-token-holder\").unwrap();\n}\n",
    )
    .expect("write");
    let (_daemon, port) = start_bridge(&home, &[("PAIRED_BRIDGE_REQUIRE_TOKEN", "true")]);
    let token = home.token();
    assert_eq!(get(port, "/health", &[]).status, 401);
    let auth = format!("Bearer {token}");
    assert_eq!(get(port, "/health", &[("Authorization", &auth)]).status, 200);
    assert_eq!(get(port, &format!("/health?token={token}"), &[]).status, 200);
    let refused = post(port, "/cli-command", &json!({"command": "qa:review /etc/hostname"}));
    assert_eq!(refused.status, 401, "{refused:?}");

    let mut ws = connect(port, "").await;
    let refused = ask(&mut ws, json!({"type": "PING"})).await;
    assert_eq!(refused["type"], "ERROR");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("requires a token")), "{refused}");
    let wrong = ask(&mut ws, json!({"type": "PING", "token": "nope"})).await;
    assert!(wrong["error"].as_str().is_some_and(|e| e.starts_with("wrong token")), "{wrong}");
    // The token in the connect message: any folder the user can read.
    let connected =
        ask(&mut ws, json!({"type": "PROJECT_CONNECT", "token": token, "project": {"name": "e", "path": elsewhere}}))
            .await;
    assert_eq!(connected["type"], "PROJECT_CONNECTED", "{connected}");
    assert_eq!(ask(&mut ws, json!({"type": "PING"})).await["type"], "PONG");
    let reply = ask(&mut ws, json!({"type": "AGENT_MESSAGE", "agent": "qa", "message": "review todo.rs"})).await;
    assert!(reply["content"].as_str().is_some_and(|c| c.contains("line 2: [rust-unwrap]")), "{reply}");
}

const MAIN_RS: &str = "fn read_config(path: &str) -> String {\n    std::fs::read_to_string(path).unwrap()\n}\n\nfn main() {\n    println!(\"{}\", read_config(\"paired.toml\"));\n}\n";

/// A project with `src/main.rs`, open in the user's editor.
fn opened_project(home: &Home) -> std::path::PathBuf {
    let root = project(home);
    std::fs::write(root.join("src/main.rs"), MAIN_RS).expect("write");
    root
}

/// The 1.0 extension's context (windsurf-plugin/src/extension.js, `extractCurrentContext`).
fn extension_context(workspace: &std::path::Path, active: &str) -> Value {
    json!({
        "activeFile": {"fileName": active, "languageId": "rust", "content": MAIN_RS, "selection": null, "cursor": null},
        "workspace": {"name": "proj", "path": workspace},
        "timestamp": 0
    })
}

/// Issue #15: the 1.0 extension names its project as `context.workspace.path`
/// and its file as `context.activeFile.fileName`, never with PROJECT_CONNECT:
/// relative names resolve in that workspace, a message naming no file is
/// about the active one, and the reach rules of #14 hold (the workspace is a
/// `projectPath`: one the user opened, the file inside it).
#[tokio::test]
async fn the_1_0_extension_is_answered_about_its_workspace_and_active_file() {
    let home = Home::new();
    let root = opened_project(&home);
    let main = root.join("src/main.rs").display().to_string();
    let (_daemon, port) = start_bridge(&home, &[]);
    open_workspace(&home, &root);

    // `askAgent` in extension.js, as sent.
    let ask_agent = |question: &str, context: Value| json!({"type": "AGENT_MESSAGE", "targetAgent": "sherlock", "message": question, "context": context, "instanceId": "a5b2"});
    let mut ws = connect(port, "").await;
    let reply = ask(&mut ws, ask_agent("review src/main.rs", extension_context(&root, &main))).await;
    assert_eq!(reply["type"], "AGENT_RESPONSE", "{reply}");
    assert!(reply["content"].as_str().is_some_and(|c| c.contains("line 2: [rust-unwrap]")), "{reply}");
    let lib = root.join("src/lib.rs").display().to_string();
    let reply = ask(&mut ws, ask_agent("anything wrong here?", extension_context(&root, &lib))).await;
    let content = reply["content"].as_str().unwrap_or("");
    assert!(content.contains("[rust-unwrap]") && content.contains("src/lib.rs"), "the active file: {reply}");

    // A workspace the user has not opened, an active file outside the workspace.
    let other = home.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("x.rs"), "fn other_plans(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8) {}\n")
        .expect("write");
    let mut fresh = connect(port, "").await;
    let refused = ask(&mut fresh, ask_agent("review x.rs", extension_context(&other, "/etc/hostname"))).await;
    assert_eq!(refused["type"], "ERROR", "{refused}");
    assert!(!refused.to_string().contains("other_plans"));
    let outside = other.join("x.rs").display().to_string();
    let refused = ask(&mut ws, ask_agent("what about it?", extension_context(&root, &outside))).await;
    assert_eq!(refused["type"], "ERROR", "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("out of reach")), "{refused}");
    assert!(!refused.to_string().contains("other_plans"));
}

/// Issue #15: Edison's skills work at a cursor, which the bridge never has:
/// the definition the message names is the cursor, and with none named each
/// definition of the file is documented. Without a file, the answer says what
/// is missing.
#[tokio::test]
async fn edison_documents_the_definition_a_message_names() {
    let home = Home::new();
    let root = opened_project(&home);
    let (_daemon, port) = start_bridge(&home, &[]);
    open_workspace(&home, &root);
    let mut ws = connect(port, "").await;
    let request = |message: &str| json!({"type": "agent_request", "agentName": "edison", "message": message, "projectPath": root, "requestId": "r-1"});
    let reply = ask(&mut ws, request("document read_config in src/main.rs")).await;
    let response = reply["response"].as_str().unwrap_or("");
    assert!(response.contains("/// Reads config from `path`."), "{reply}");
    assert!(!response.contains("documentation for `main`"), "only the definition named: {reply}");
    let reply = ask(&mut ws, request("document src/main.rs")).await;
    let response = reply["response"].as_str().unwrap_or("");
    assert!(
        response.contains("documentation for `read_config`") && response.contains("documentation for `main`"),
        "{reply}"
    );
    assert!(response.contains("/// The program's entry point."), "{reply}");
    let reply = ask(&mut ws, request("write tests for read_config in src/main.rs")).await;
    assert!(reply["response"].as_str().is_some_and(|r| r.contains("read_config")), "{reply}");
    let reply = ask(&mut ws, request("document read_config")).await;
    let response = reply["response"].as_str().unwrap_or("");
    assert!(response.contains("name the file and the definition"), "what is missing: {reply}");
}

/// Issue #15: every field 1.0's own clients and scripts read from the bridge,
/// replaying their exact messages. From SEMalytics/paired (MIT), snapshot of
/// 2025-09-03: (the 1.0 file, the message it sends, the reply's fields it reads).
#[tokio::test]
async fn the_fields_1_0_scripts_and_clients_read_are_sent() {
    let home = Home::new();
    let root = opened_project(&home);
    let (_daemon, port) = start_bridge(&home, &[]);
    open_workspace(&home, &root);
    let unopened = home.path().join("not-opened");
    std::fs::create_dir_all(&unopened).expect("mkdir");
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        // `teamAgentsActive` (grep'd as a number > 0), then `"<id>Active":true` per agent.
        (
            "scripts/status.sh",
            json!({"type": "STATUS_CHECK", "instanceId": "status-check", "timestamp": 1_725_000_000_000u64}),
            vec![
                "teamAgentsActive",
                "alexActive",
                "sherlockActive",
                "edisonActive",
                "leonardoActive",
                "mayaActive",
                "vinceActive",
                "marieActive",
            ],
        ),
        (
            "config/templates/project-scripts/bridge-status.sh",
            json!({"type": "GET_CONNECTIONS"}),
            vec!["activeConnections"],
        ),
        ("config/templates/project-scripts/bridge-status.sh", json!({"type": "GET_UPTIME"}), vec!["uptime"]),
        // `response.teamAgentsActive !== undefined` or type health_response; then `"agents":N`.
        (
            "bin/paired-monitor",
            json!({"type": "HEALTH_CHECK", "instanceId": "monitor-health-check", "timestamp": 1}),
            vec!["type", "agents"],
        ),
        // Its working folder as `projectPath`: a status, not a refusal.
        (
            "bin/paired-monitor",
            json!({"type": "STATUS_CHECK", "instanceId": "monitor-test", "message": "Bridge monitor test - please respond with status", "projectPath": unopened}),
            vec!["teamAgentsActive"],
        ),
        (
            "scripts/paired-doctor.sh",
            json!({"type": "HEALTH_CHECK", "instanceId": "doctor", "timestamp": 1}),
            vec!["agents"],
        ),
        ("scripts/start-agents.sh", json!({"type": "AGENT_HEALTH", "agentId": "sherlock"}), vec!["status"]),
        ("scripts/start-agents.sh", json!({"type": "HEALTH_CHECK"}), vec!["status"]),
        ("bin/startup-controller.js", json!({"type": "health_check"}), vec!["type"]),
        ("lib/bridge/health-monitor.js", json!({"type": "health_check"}), vec!["status"]),
        // testConnection: any reply.
        (
            "lib/bridge/communication.js",
            json!({"instanceId": "bridge-test", "message": "Bridge connectivity test", "type": "ping"}),
            vec!["type"],
        ),
        (
            "lib/bridge/communication.js",
            json!({"instanceId": "windsurf-sherlock-1", "message": "review src/main.rs", "type": "user_request", "projectPath": root, "targetAgent": "sherlock"}),
            vec!["agent", "response"],
        ),
        (
            "bin/paired-agent",
            json!({"type": "user_request", "content": "Alex, please ask sherlock to help with: review src/main.rs", "projectPath": root, "requestedAgent": "sherlock", "originalMessage": "review src/main.rs", "timestamp": "2025-09-03T10:00:00.000Z"}),
            vec!["type", "response"],
        ),
        ("config/templates/global-windsurfrules.md", json!({"type": "LIST_AGENTS"}), vec!["agents"]),
        // `response.id` matches the request; `result || message` is printed.
        (
            "bin/paired-kf32",
            json!({"id": "6f1c", "type": "paired_cli_command", "command": "qa:review", "args": ["src/main.rs"], "source": "paired_cli"}),
            vec!["id", "result", "message"],
        ),
        (
            "windsurf-plugin/src/extension.js",
            json!({"type": "OPTIMIZE_CONTEXT", "context": extension_context(&root, "src/main.rs"), "instanceId": "a5b2"}),
            vec!["optimizationMetrics"],
        ),
        // `ERROR`: `response.message` is printed ("Connection failed: undefined").
        (
            "scripts/paired-bridge-connect.sh",
            json!({"type": "PROJECT_CONNECT", "project": {"name": "not-opened", "path": unopened}, "timestamp": "2025-09-03T10:00:00.000Z"}),
            vec!["message"],
        ),
    ];
    for (source, message, fields) in cases {
        let mut ws = connect(port, "").await;
        let reply = ask(&mut ws, message.clone()).await;
        for field in fields {
            let value = &reply[field];
            assert!(
                !value.is_null() && value != "" && value != false,
                "{source}: `{field}` in the reply to {message}: {reply}"
            );
        }
        if source == "scripts/status.sh" {
            assert_eq!(reply["teamAgentsActive"], 7, "{reply}");
        }
        if source == "bin/paired-kf32" {
            assert_eq!(reply["id"], "6f1c");
        }
        if source == "windsurf-plugin/src/extension.js" {
            assert!(reply["optimizationMetrics"]["reductionPercentage"].is_number(), "{reply}");
        }
    }
}

/// Issue #15: `paired status` and `paired doctor` say whether the 1.0 bridge
/// is on, on which port, and who is connected (connections and their projects).
#[tokio::test]
async fn status_and_doctor_report_the_1_0_bridge() {
    let home = Home::new();
    let root = opened_project(&home);
    let (_daemon, port) = start_bridge(&home, &[]);
    open_workspace(&home, &root);
    let mut ws = connect(port, "").await;
    let connected = ask(&mut ws, json!({"type": "PROJECT_CONNECT", "project": {"name": "proj", "path": root}})).await;
    assert_eq!(connected["type"], "PROJECT_CONNECTED");
    let _idle = connect(port, "").await;

    let out = home.paired(&["status", "--json"]).output().expect("status");
    let status: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["bridge_1x"]["port"], port, "{status}");
    assert_eq!(status["bridge_1x"]["connections"], 2, "{status}");
    assert_eq!(status["bridge_1x"]["projects"], json!([root.display().to_string()]), "{status}");
    assert!(status["version"].is_string(), "the daemon's own fields stay where they were: {status}");
    let text = String::from_utf8_lossy(&home.paired(&["status"]).output().expect("status").stdout).into_owned();
    let line = text.lines().find(|l| l.contains("1.0 bridge")).unwrap_or_default().to_owned();
    assert!(line.contains(&format!("127.0.0.1:{port}")) && line.contains("2 connection(s)"), "{text}");
    assert!(line.contains(&root.display().to_string()), "{text}");
    let doctor = String::from_utf8_lossy(&home.paired(&["doctor"]).output().expect("doctor").stdout).into_owned();
    let line = doctor.lines().find(|l| l.contains("bridge")).unwrap_or_default().to_owned();
    assert!(line.contains(&format!("127.0.0.1:{port}")) && line.contains("2 connection(s)"), "{doctor}");

    // Off: said so.
    let other = Home::new();
    let _off = other.start_daemon();
    let text = String::from_utf8_lossy(&other.paired(&["status"]).output().expect("status").stdout).into_owned();
    assert!(text.lines().any(|l| l.contains("1.0 bridge") && l.contains("off")), "{text}");
    let status: Value =
        serde_json::from_slice(&other.paired(&["status", "--json"]).output().expect("status").stdout).expect("json");
    assert!(status.get("bridge_1x").is_none(), "{status}");
}
