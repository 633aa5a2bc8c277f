//! The hostile inputs of SECURITY.md that reach the daemon's endpoint.

use tests::{Home, http};

/// (what, headers, expected status, expected message)
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);

const STATUS: &str = r#"{"jsonrpc":"2.0","id":1,"method":"daemon/status"}"#;

fn ws_upgrade(port: u16, extra: &[(&str, &str)], path: &str) -> tests::HttpReply {
    let mut headers = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    headers.extend_from_slice(extra);
    http(port, "GET", path, &headers, "")
}

#[test]
fn token_host_and_origin_are_checked_on_http_and_websocket() {
    let home = Home::new();
    let daemon = home.start_daemon();
    let port = daemon.port;
    let token = home.token();
    let bearer = format!("Bearer {token}");
    let host = format!("127.0.0.1:{port}");
    let json = ("Content-Type", "application/json");

    // The happy path, so the refusals below are about the one header they change.
    let ok = http(port, "POST", "/", &[("Host", &host), ("Authorization", &bearer), json], STATUS);
    assert_eq!(ok.status, 200, "{ok:?}");

    let cases: Vec<Case<'_>> = vec![
        ("no token", vec![("Host", &host), json], 401, "missing token"),
        ("wrong token", vec![("Host", &host), ("Authorization", "Bearer 0000"), json], 401, "wrong token"),
        (
            "foreign Host",
            vec![("Host", "evil.example"), ("Authorization", &bearer), json],
            403,
            "Host `evil.example` is not allowed",
        ),
        (
            "DNS rebinding: foreign Host with matching Origin",
            vec![("Host", "evil.example:80"), ("Origin", "http://evil.example:80"), ("Authorization", &bearer), json],
            403,
            "is not allowed",
        ),
        (
            "foreign Origin",
            vec![("Host", &host), ("Origin", "https://evil.example"), ("Authorization", &bearer), json],
            403,
            "Origin `https://evil.example` is not allowed",
        ),
        (
            "Origin: null",
            vec![("Host", &host), ("Origin", "null"), ("Authorization", &bearer), json],
            403,
            "Origin `null`",
        ),
        (
            "cross-site form POST",
            vec![
                ("Host", &host),
                ("Origin", "https://evil.example"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            403,
            "is not allowed",
        ),
    ];
    for (what, headers, status, message) in cases {
        let reply = http(port, "POST", "/", &headers, STATUS);
        assert_eq!(reply.status, status, "{what}: {reply:?}");
        assert!(reply.body.contains(message), "{what}: {reply:?}");
        assert!(!reply.head.to_ascii_lowercase().contains("access-control-allow-origin: *"), "{what}");
        if status == 401 {
            assert!(reply.head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{what}");
        }
    }

    // WebSocket upgrades get the same checks; the token may come as a query parameter.
    let query = format!("/?token={token}");
    assert_eq!(ws_upgrade(port, &[("Host", &host)], &query).status, 101);
    assert_eq!(ws_upgrade(port, &[("Host", &host), ("Authorization", &bearer)], "/").status, 101);
    assert_eq!(ws_upgrade(port, &[("Host", &host)], "/").status, 401, "upgrade without token");
    assert_eq!(ws_upgrade(port, &[("Host", &host)], "/?token=nope").status, 401);
    assert_eq!(ws_upgrade(port, &[("Host", &host), ("Origin", "https://evil.example")], &query).status, 403);
    assert_eq!(ws_upgrade(port, &[("Host", "attacker.example")], &query).status, 403);

    // On plain HTTP the token must be a header: a URL is too easily logged or leaked.
    let in_url = http(port, "POST", &query, &[("Host", &host), json], STATUS);
    assert_eq!(in_url.status, 401, "{in_url:?}");
    assert!(!home.log().contains(&token), "the token never reaches the log");

    // Still serving after all of that.
    assert_eq!(home.post(STATUS).status, 200);
}

#[test]
fn only_loopback_is_bound_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let daemon = home.start_daemon();
    let listening = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let port_hex = format!(":{:04X}", daemon.port);
    let local: Vec<&str> = listening
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        // Column 4 is the state; 0A is LISTEN.
        .filter(|cols| cols.len() > 3 && cols[3] == "0A" && cols[1].ends_with(&port_hex))
        .map(|cols| cols[1])
        .collect();
    assert_eq!(local, ["0100007F".to_owned() + &port_hex], "bound to 127.0.0.1 only");
    for file in ["token", "daemon.json"] {
        let mode = std::fs::metadata(home.state_dir().join(file)).expect(file).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    let discovery = home.discovery().expect("discovery");
    assert_eq!(discovery["pid"], daemon.pid);
    assert!(discovery["token_file"].as_str().is_some_and(|f| f.ends_with("/token")));
    assert!(discovery.get("token").is_none(), "the discovery file names the token file, never the token");
}

#[tokio::test]
async fn connection_limit_is_a_clear_refusal_and_serving_goes_on() {
    let home = Home::new();
    let _daemon = home.start_daemon_with(&[("PAIRED_SERVER_MAX_CONNECTIONS", "2")]);
    let first = home.ws().await;
    let second = home.ws().await;
    let query = format!("/?token={}", home.token());
    let host = format!("127.0.0.1:{}", home.port());
    let third = ws_upgrade(home.port(), &[("Host", &host)], &query);
    assert_eq!(third.status, 429, "{third:?}");
    assert!(third.body.contains("Too many connections"), "{third:?}");
    drop(second);
    // The freed slot is usable again (the client's close runs on this runtime, so
    // wait asynchronously), and the first connection never noticed.
    tests::eventually("the closed connection's slot to be freed", async || {
        ws_upgrade(home.port(), &[("Host", &host)], &query).status == 101
    })
    .await;
    use tests::Rpc;
    let status = first.call::<protocol::daemon::Status>(protocol::NoParams {}).await; // first is still served
    assert_eq!(status.daemon.protocol_version, protocol::PROTOCOL_VERSION);
}
