//! Foundation benchmarks (issue #2): cold start, JSON-RPC round trip and
//! throughput over WebSocket next to a raw WebSocket echo floor measured in the
//! same run, idle RSS, and RSS with 10 `paired lsp` sessions attached.
//!
//! Run: `cargo bench -p tests --bench foundation` (builds the release binary).
//! Results go to stdout as a Markdown table for docs/benchmarks.md.

use std::{
    net::TcpStream,
    process::Stdio,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use jsonrpsee::{core::client::ClientT, rpc_params};
use serde_json::{Value, json};
use tests::{Home, kill9, rss_kib};
use tokio_tungstenite::tungstenite::Message;

const ROUND_TRIPS: usize = 5_000;
const CLIENTS: usize = 8;
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(3);
const LSP_SESSIONS: usize = 10;

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let bin = tests::paired_bin();
    println!("binary: {}", bin.display());
    let mut rows: Vec<(String, String, String)> = Vec::new();

    let (fresh, warm) = cold_start();
    rows.push(("cold start to first answered request, fresh HOME (median of 20)".into(), ms(fresh), "≤ 30 ms".into()));
    rows.push((
        "cold start to first answered request, existing HOME (median of 20)".into(),
        ms(warm),
        "≤ 30 ms".into(),
    ));

    let home = Home::new();
    let daemon = home.start_daemon();
    let trips = runtime.block_on(round_trips(&home));
    let (rpc50, echo50) = (percentile(&trips.daemon_raw, 0.5), percentile(&trips.echo, 0.5));
    rows.push((
        "JSON-RPC `daemon/status` round trip over WebSocket, p50".into(),
        us(rpc50),
        format!("≤ 2× echo p50 = {}", us(echo50 * 2)),
    ));
    rows.push(("JSON-RPC round trip, p99".into(), us(percentile(&trips.daemon_raw, 0.99)), String::new()));
    rows.push(("raw loopback WebSocket echo (floor), same client, p50".into(), us(echo50), String::new()));
    rows.push(("raw loopback WebSocket echo (floor), p99".into(), us(percentile(&trips.echo, 0.99)), String::new()));
    rows.push((
        "p50 ratio JSON-RPC / echo".into(),
        format!("{:.2}×", rpc50.as_secs_f64() / echo50.as_secs_f64()),
        "≤ 2×".into(),
    ));
    rows.push((
        "round trip through jsonrpsee's client (as the CLI and `paired lsp` call), p50 / p99".into(),
        format!("{} / {}", us(percentile(&trips.daemon_jsonrpsee, 0.5)), us(percentile(&trips.daemon_jsonrpsee, 0.99))),
        String::new(),
    ));

    let (rpc_tput, echo_tput) = runtime.block_on(throughput(&home));
    rows.push((
        format!("throughput, {CLIENTS} concurrent WebSocket clients, JSON-RPC `daemon/status`"),
        format!("{rpc_tput:.0} req/s"),
        String::new(),
    ));
    rows.push((
        format!("throughput, {CLIENTS} concurrent clients, raw echo (floor)"),
        format!("{echo_tput:.0} msg/s"),
        String::new(),
    ));

    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_kib(daemon.pid);
    rows.push(("daemon idle RSS (after the runs above)".into(), mib(idle), "≤ 20 MB".into()));
    drop(daemon);

    let (daemon_idle, daemon_loaded, lsp_max) = lsp_sessions();
    rows.push(("daemon RSS, fresh, no clients".into(), mib(daemon_idle), "≤ 20 MB".into()));
    rows.push((
        format!("daemon RSS with {LSP_SESSIONS} `paired lsp` sessions attached"),
        mib(daemon_loaded),
        String::new(),
    ));
    let per_session = daemon_loaded.saturating_sub(daemon_idle) / LSP_SESSIONS as u64;
    rows.push(("daemon RSS added per editor session".into(), mib(per_session), "≤ 2 MB".into()));
    rows.push(("largest `paired lsp` process RSS".into(), mib(lsp_max), "≤ 8 MB".into()));

    println!("\n| measure | result | target |\n|---|---|---|");
    for (what, result, target) in rows {
        println!("| {what} | {result} | {target} |");
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}
fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Spawn → first `daemon/status` answered over HTTP, polling as fast as it can.
fn cold_start() -> (Duration, Duration) {
    let mut fresh = Vec::new();
    let mut warm = Vec::new();
    let reused = Home::new();
    for i in 0..20 {
        let new_home = Home::new();
        for (home, out) in [(&new_home, &mut fresh), (&reused, &mut warm)] {
            let started = Instant::now();
            let mut child =
                home.paired(&["daemon"]).env("PAIRED_LOG", "warn").stderr(Stdio::null()).spawn().expect("spawn");
            let pid = child.id();
            loop {
                if let Some(d) = home.discovery().filter(|d| d["pid"] == json!(pid)) {
                    let port = d["port"].as_u64().unwrap_or(0) as u16;
                    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        let reply = home.post(r#"{"jsonrpc":"2.0","id":1,"method":"daemon/status"}"#);
                        if reply.status == 200 {
                            break;
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            out.push(started.elapsed());
            let _ = child.kill();
            let _ = child.wait();
            if i == 0 {
                // Take the stale-lock path out of the reused HOME's measurements.
                let _ = std::fs::remove_file(home.discovery_path());
            }
            let _ = std::fs::remove_file(home.discovery_path());
        }
    }
    (median(fresh), median(warm))
}

const STATUS_REQUEST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"daemon/status"}"#;

/// Times `ROUND_TRIPS` request/reply pairs of `STATUS_REQUEST` over one raw
/// WebSocket (tungstenite) to `url`, after a warm-up; returns them sorted.
async fn raw_round_trips(url: &str) -> Vec<Duration> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
    let mut times = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..ROUND_TRIPS + 500 {
        let started = Instant::now();
        ws.send(Message::text(STATUS_REQUEST)).await.expect("send");
        ws.next().await.expect("reply").expect("frame");
        if i >= 500 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    times
}

struct RoundTrips {
    /// The same raw WebSocket client against the daemon and against the echo server.
    daemon_raw: Vec<Duration>,
    echo: Vec<Duration>,
    /// Through jsonrpsee's client, as the CLI and `paired lsp` call the daemon.
    daemon_jsonrpsee: Vec<Duration>,
}

async fn round_trips(home: &Home) -> RoundTrips {
    let daemon_url = format!("ws://127.0.0.1:{}/?token={}", home.port(), home.token());
    let daemon_raw = raw_round_trips(&daemon_url).await;
    let (port, _server) = echo_server().await;
    let echo = raw_round_trips(&format!("ws://127.0.0.1:{port}")).await;

    let client = home.ws().await;
    let mut daemon_jsonrpsee = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..ROUND_TRIPS + 500 {
        let started = Instant::now();
        let _: Value = client.request("daemon/status", rpc_params![]).await.expect("status");
        if i >= 500 {
            daemon_jsonrpsee.push(started.elapsed());
        }
    }
    daemon_jsonrpsee.sort();
    RoundTrips { daemon_raw, echo, daemon_jsonrpsee }
}

/// Requests per second from `CLIENTS` raw WebSocket clients, each sending the
/// next request when the previous reply arrives.
async fn raw_throughput(url: &str) -> f64 {
    let deadline = Instant::now() + THROUGHPUT_WINDOW;
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                ws.send(Message::text(STATUS_REQUEST)).await.expect("send");
                ws.next().await.expect("reply").expect("frame");
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task");
    }
    total as f64 / THROUGHPUT_WINDOW.as_secs_f64()
}

async fn echo_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_text() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, task)
}

async fn throughput(home: &Home) -> (f64, f64) {
    let rpc = raw_throughput(&format!("ws://127.0.0.1:{}/?token={}", home.port(), home.token())).await;
    let (port, _server) = echo_server().await;
    let echo = raw_throughput(&format!("ws://127.0.0.1:{port}")).await;
    (rpc, echo)
}

/// Ten editors through `paired lsp`, each with a document open.
fn lsp_sessions() -> (u64, u64, u64) {
    let home = Home::new();
    let daemon = home.start_daemon();
    let _ = home.post(r#"{"jsonrpc":"2.0","id":1,"method":"daemon/status"}"#);
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(daemon.pid);
    let mut sessions = Vec::new();
    for i in 0..LSP_SESSIONS {
        let mut lsp = home.lsp();
        lsp.initialize(&home.project());
        let uri = format!("file:///w/file{i}.rs");
        let text = "fn main() {\n    println!(\"hello\");\n}\n".repeat(50);
        lsp.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        );
        let status = lsp.request("daemon/status", Value::Null);
        assert_eq!(status["result"]["pid"], json!(daemon.pid));
        sessions.push(lsp);
    }
    std::thread::sleep(Duration::from_millis(500));
    let loaded = rss_kib(daemon.pid);
    let lsp_max = sessions.iter().map(|s| rss_kib(s.child.id())).max().unwrap_or(0);
    kill9(daemon.pid);
    (idle, loaded, lsp_max)
}
