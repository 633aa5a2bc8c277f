//! The PAIRED 1.0 bridge: 1.0's HTTP endpoints and WebSocket messages, as 1.0
//! clients send them (both field spellings), answered by the real agents; off
//! by default; behind the daemon's Host and Origin checks.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::{Home, http};
use tokio_tungstenite::tungstenite::Message;

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
    let _daemon = home.start_daemon_with(&[("BRIDGE_PORT", &port.to_string()), ("PAIRED_COMPAT_BRIDGE_1X", "true")]);
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
