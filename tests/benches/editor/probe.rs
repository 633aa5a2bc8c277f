//! The load bench's probe editor (#18.7), a process of its own: it starts its
//! `paired lsp` and the floor's trivial server, times a code action, a
//! keystroke then a code action, the floor's answer and the daemon's
//! `agents/list` over a WebSocket of its own — 50 of each before the load
//! (`ready` on stdout), then by turns every 10 ms until the bench writes
//! `stop` — and prints every time it measured as one JSON line.
//!
//! It used to be a thread of the bench, which also drives the fifty loaded
//! editors' bursts (their JSON written and read by ~100 threads): every time
//! the probe took included waiting for a core among those threads, its floor
//! too. An editor is an app of its own; so is the probe.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, ChildStdin, Command, Stdio},
    sync::atomic::{AtomicBool, AtomicI32, Ordering},
    time::{Duration, Instant},
};

use jsonrpsee::core::client::ClientT;
use serde_json::{Value, json};
use tests::{Home, Lsp};

/// The probe's document.
pub const SMALL: &str = "fn probe(x: u32) -> u32 {\n    x + 1\n}\n";

/// What the probe measured, before the load (`*_quiet`) and under it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Waits {
    pub quiet: Vec<Duration>,
    pub waits: Vec<Duration>,
    pub edit_quiet: Vec<Duration>,
    pub edit_waits: Vec<Duration>,
    pub floor_quiet: Vec<Duration>,
    pub floor_waits: Vec<Duration>,
    pub direct_quiet: Vec<Duration>,
    pub direct_waits: Vec<Duration>,
    /// When each round under the load began, from `ready`.
    pub rounds_at: Vec<Duration>,
}

/// The probe process, started and past its quiet rounds.
pub struct Driver {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Driver {
    /// Starts the probe on `root` against `home`'s daemon (in a session of its
    /// own unless `PAIRED_BENCH_SESSIONS=0`); returns once it is `ready`.
    pub fn start(home: &Home, root: &Path) -> Driver {
        // `paired lsp` as the bench would start it, run by the driver: the
        // same program, arguments, environment and folder.
        let lsp = home.paired(&["lsp"]);
        let mut command = Command::new(std::env::current_exe().expect("exe"));
        command
            .arg("--probe-driver")
            .arg(root)
            .arg(home.port().to_string())
            .arg(home.token())
            .arg(lsp.get_program())
            .args(lsp.get_args())
            .env_clear();
        for (key, value) in lsp.get_envs() {
            if let Some(value) = value {
                command.env(key, value);
            }
        }
        if let Some(dir) = lsp.get_current_dir() {
            command.current_dir(dir);
        }
        let mut command = super::own_session(command);
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("probe driver");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("probe driver's first line");
        assert_eq!(line.trim(), "ready", "the probe driver did not start");
        Driver { child, stdin, stdout }
    }

    /// Stops the rounds; what the probe measured.
    pub fn stop(mut self) -> Waits {
        writeln!(self.stdin, "stop").expect("tell the probe driver");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("the probe driver's times");
        let _ = self.child.wait();
        // `PAIRED_BENCH_RAW=FILE`: every time measured, for a closer look.
        if let Some(file) = std::env::var_os("PAIRED_BENCH_RAW") {
            std::fs::write(file, &line).expect("write PAIRED_BENCH_RAW");
        }
        serde_json::from_str(&line).expect("the probe driver's times as JSON")
    }
}

/// The driver's `main`: `ROOT PORT TOKEN PROGRAM ARGS…`.
pub fn drive(args: Vec<String>) {
    let [root, port, token, program, lsp_args @ ..] = args.as_slice() else {
        panic!("usage: --probe-driver ROOT PORT TOKEN PROGRAM ARGS…");
    };
    let root = Path::new(root);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = runtime.block_on(async {
        use jsonrpsee::ws_client::{HeaderMap, HeaderValue, WsClientBuilder};
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).expect("header"));
        WsClientBuilder::default()
            .set_headers(headers)
            .request_timeout(Duration::from_secs(600))
            .build(format!("ws://127.0.0.1:{port}"))
            .await
            .expect("ws connect")
    });
    let mut probe = Lsp::spawn({
        let mut command = Command::new(program);
        command.args(lsp_args);
        command
    });
    probe.initialize(root);
    let uri = format!("file://{}/probe.rs", root.display());
    probe.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": SMALL}}),
    );
    let action = json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}});
    let ask = |lsp: &mut Lsp| {
        let started = Instant::now();
        let reply = lsp.request("textDocument/codeAction", action.clone());
        assert!(reply.get("error").is_none(), "probe: {reply}");
        started.elapsed()
    };
    // What typing then asking costs: a keystroke, then the code actions,
    // which the proxy holds until the daemon has applied the keystroke.
    let version = AtomicI32::new(1);
    let edit_then_ask = |lsp: &mut Lsp| {
        let started = Instant::now();
        let version = version.fetch_add(1, Ordering::Relaxed) + 1;
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}}, "text": " "}]}),
        );
        let reply = lsp.request("textDocument/codeAction", action.clone());
        assert!(reply.get("error").is_none(), "probe: {reply}");
        started.elapsed()
    };
    // The floor beside it: an editor's server that answers at once.
    let mut floor = Lsp::spawn({
        let mut command = Command::new(std::env::current_exe().expect("exe"));
        command.arg("--floor-lsp");
        command
    });
    floor.initialize(root);
    // And the daemon without an editor process between: `agents/list` (what
    // the probe's code actions ask it) over a WebSocket.
    let project = format!("file://{}", root.display());
    let direct = || {
        let started = Instant::now();
        let _: Value = runtime
            .block_on(client.request("agents/list", jsonrpsee::rpc_params![json!({"project": project})]))
            .expect("agents/list");
        started.elapsed()
    };
    let quiet = (0..50).map(|_| ask(&mut probe)).collect();
    let edit_quiet = (0..50).map(|_| edit_then_ask(&mut probe)).collect();
    let floor_quiet = (0..50).map(|_| ask(&mut floor)).collect();
    let direct_quiet = (0..50).map(|_| direct()).collect();
    println!("ready");
    let ready = Instant::now();
    let stop = AtomicBool::new(false);
    let (waits, edit_waits, floor_waits, direct_waits, rounds_at) = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            stop.store(true, Ordering::Relaxed);
        });
        let (mut waits, mut edit_waits, mut floor_waits, mut direct_waits, mut rounds_at) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        while !stop.load(Ordering::Relaxed) {
            rounds_at.push(ready.elapsed());
            waits.push(ask(&mut probe));
            edit_waits.push(edit_then_ask(&mut probe));
            floor_waits.push(ask(&mut floor));
            direct_waits.push(direct());
            std::thread::sleep(Duration::from_millis(10));
        }
        (waits, edit_waits, floor_waits, direct_waits, rounds_at)
    });
    let waits =
        Waits { quiet, waits, edit_quiet, edit_waits, floor_quiet, floor_waits, direct_quiet, direct_waits, rounds_at };
    println!("{}", serde_json::to_string(&waits).expect("json"));
    for lsp in [&mut probe, &mut floor] {
        let _ = lsp.request("shutdown", Value::Null);
        lsp.notify("exit", Value::Null);
        lsp.close_stdin();
        let _ = lsp.wait_exit(Duration::from_secs(5));
    }
}
