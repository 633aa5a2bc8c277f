//! Helpers for the integration tests and benchmarks: a private HOME per test, the
//! real `paired` binary, and plain clients (raw HTTP, WebSocket JSON-RPC, LSP over
//! stdio with standard framing).
//!
//! Protocol methods are called through their `protocol` types ([`Rpc::call`],
//! [`Lsp::call`], [`Home::call`]): the method name, the params and the result are
//! those the daemon's router is generated from. Tests that send what no typed
//! client can (malformed JSON, wrong types, extra fields, 1.0 messages) build the
//! raw request themselves. Tests wait for what they can observe with
//! [`eventually`] (async) or [`wait_until`]/[`poll_for`] (blocking).

pub mod console;
pub mod fake_provider;
pub mod hub;
pub mod postgres;
pub mod static_server;

use std::{
    fmt,
    future::Future,
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::{
        OnceLock,
        mpsc::{self, Receiver},
    },
    time::{Duration, Instant},
};

use jsonrpsee::{
    core::{
        ClientError,
        client::{ClientT, Subscription as EventStream, SubscriptionClientT},
        traits::ToRpcParams,
    },
    ws_client::{HeaderMap, HeaderValue, WsClient, WsClientBuilder},
};
use protocol::{
    Method, Subscription,
    agents::RunParams,
    client::{ClientHello, ClientKind, Event},
    context::{AddWorkspaceParams, BuildParams, WorkspaceStatus},
    documents::Position,
    workflows::RunWorkflowParams,
};
use serde_json::{Value, json, value::RawValue};

/// The `paired` binary under test: `$PAIRED_BIN`, or built on first use.
pub fn paired_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("PAIRED_BIN") {
            return PathBuf::from(bin);
        }
        // Benchmarks are built optimised and measure the optimised binary.
        let profile: &[&str] = if cfg!(debug_assertions) { &[] } else { &["--release"] };
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "--package", "daemon", "--bin", "paired", "--bin", "paired-lsp"])
            .args(profile)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build of paired failed");
        let exe = std::env::current_exe().expect("current exe");
        // target/<profile>/deps/<test> -> target/<profile>/paired
        let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
        profile_dir.join("paired")
    })
    .clone()
}

/// The source tree benchmarks read: `PAIRED_BENCH_TREE`, else the crate sources
/// cargo has downloaded (`~/.cargo/registry/src/<index>`).
pub fn bench_tree() -> PathBuf {
    if let Some(tree) = std::env::var_os("PAIRED_BENCH_TREE") {
        return PathBuf::from(tree);
    }
    let registry = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/registry/src");
    std::fs::read_dir(&registry).ok().and_then(|mut d| d.find_map(|e| e.ok().map(|e| e.path()))).unwrap_or(registry)
}

/// A temporary HOME with nothing of the real user's in it.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().expect("temp HOME") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `paired <args>` with this HOME, port 0 (a free one) and the test hooks on.
    pub fn paired(&self, args: &[&str]) -> Command {
        let mut command = Command::new(paired_bin());
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("PAIRED_PORT", "0")
            .env("PAIRED_TEST_HOOKS", "1")
            .env("PAIRED_LOG", "info")
            .current_dir(self.path());
        command
    }

    /// `paired <args>` as [`Home::paired`], with the toolchains of the machine
    /// the tests run on (rustup's, cargo's and pyenv's homes are the real
    /// user's, not this HOME), for the project tools the agents run.
    pub fn paired_with_toolchains(&self, args: &[&str]) -> Command {
        let mut command = self.paired(args);
        let real_home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let homes = [
            ("RUSTUP_HOME", real_home.join(".rustup")),
            ("CARGO_HOME", real_home.join(".cargo")),
            ("PYENV_ROOT", real_home.join(".pyenv")),
        ];
        for (key, default) in homes {
            command.env(key, std::env::var_os(key).map_or(default, PathBuf::from));
        }
        command
    }

    /// An empty project folder inside this HOME (`<home>/project`), created on
    /// first use: the home folder itself is no project folder, and PAIRED
    /// refuses to index it.
    pub fn project(&self) -> PathBuf {
        let root = self.path().join("project");
        std::fs::create_dir_all(&root).expect("mkdir project");
        root
    }

    /// Writes the user's `config.toml` (`~/.config/paired/config.toml`); returns its path.
    pub fn write_config(&self, text: &str) -> PathBuf {
        let dir = self.path().join(".config/paired");
        std::fs::create_dir_all(&dir).expect("mkdir config dir");
        let file = dir.join("config.toml");
        std::fs::write(&file, text).expect("write config.toml");
        file
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path().join(".local/state/paired")
    }

    pub fn discovery_path(&self) -> PathBuf {
        self.state_dir().join("daemon.json")
    }

    pub fn discovery(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.discovery_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn database(&self) -> PathBuf {
        self.path().join(".local/share/paired/paired.db")
    }

    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(self.state_dir().join("paired.log")).unwrap_or_default();
        // What a wrapper around the daemon (or the daemon before its log opens) said.
        match std::fs::read_to_string(self.path().join(".daemon-stderr")) {
            Ok(stderr) if !stderr.trim().is_empty() => format!("{log}\n--- stderr:\n{stderr}"),
            _ => log,
        }
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("token")).expect("token file").trim().to_owned()
    }

    /// Starts `paired daemon` in the foreground and waits until it answers.
    pub fn start_daemon(&self) -> Daemon {
        self.start_daemon_with(&[])
    }

    /// [`Home::start_daemon`] with extra environment variables.
    pub fn start_daemon_with(&self, env: &[(&str, &str)]) -> Daemon {
        let mut command = self.paired(&["daemon"]);
        command.envs(env.iter().copied());
        self.start_daemon_command(command)
    }

    /// Starts the daemon through `command`: [`Home::paired`]`(&["daemon"])`, or a
    /// wrapper that execs it (so that the child's pid is the daemon's: a wrapper
    /// that forks would never be recognised in the discovery file, and the wait
    /// fails with the wrapper's stderr in the message).
    pub fn start_daemon_command(&self, mut command: Command) -> Daemon {
        // Not piped: nobody would drain the pipe, and a full pipe blocks the daemon's
        // logging. The log file has everything.
        let stderr = std::fs::File::create(self.path().join(".daemon-stderr")).expect("stderr file");
        let child = command.stdout(Stdio::null()).stderr(stderr).spawn().expect("spawn daemon");
        let pid = child.id();
        let mut daemon = Daemon { child: Some(child), pid, port: 0 };
        daemon.port = self.wait_for_daemon(pid);
        daemon
    }

    /// Waits until the discovery file names `pid` (any pid when 0) and the port
    /// accepts connections; returns the port.
    pub fn wait_for_daemon(&self, pid: u32) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(d) = self.discovery() {
                let port = d["port"].as_u64().unwrap_or(0) as u16;
                if (pid == 0 || d["pid"] == json!(pid)) && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return port;
                }
            }
            assert!(Instant::now() < deadline, "daemon did not come up; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn port(&self) -> u16 {
        self.discovery().and_then(|d| d["port"].as_u64()).expect("discovery port") as u16
    }

    pub fn daemon_pid(&self) -> u32 {
        self.discovery().and_then(|d| d["pid"].as_u64()).expect("discovery pid") as u32
    }

    /// A WebSocket JSON-RPC client with the token.
    pub async fn ws(&self) -> WsClient {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {}", self.token())).expect("header"));
        WsClientBuilder::default()
            .set_headers(headers)
            // Long enough for a benchmark's cold index; tests have nextest's own limits.
            .request_timeout(Duration::from_secs(900))
            .build(format!("ws://127.0.0.1:{}", self.port()))
            .await
            .expect("ws connect")
    }

    /// POSTs a JSON-RPC body with the token.
    pub fn post(&self, body: &str) -> HttpReply {
        let auth = format!("Bearer {}", self.token());
        http(
            self.port(),
            "POST",
            "/",
            &[("Host", "127.0.0.1"), ("Authorization", &auth), ("Content-Type", "application/json")],
            body,
        )
    }

    /// Calls a protocol method over HTTP (a fresh connection, by-name params).
    pub fn try_call<M: Method>(&self, params: M::Params) -> Result<M::Result, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": M::NAME, "params": params});
        let reply = self.post(&body.to_string());
        typed_reply::<M>(&reply.json())
    }

    /// [`Home::try_call`] that must succeed.
    pub fn call<M: Method>(&self, params: M::Params) -> M::Result {
        self.try_call::<M>(params).unwrap_or_else(|err| panic!("{}: {err}", M::NAME))
    }

    /// Starts `paired lsp` with stdio piped.
    pub fn lsp(&self) -> Lsp {
        Lsp::spawn(self.paired(&["lsp"]))
    }
}

/// A daemon process started by a test; killed when dropped.
pub struct Daemon {
    child: Option<Child>,
    pub pid: u32,
    pub port: u16,
}

impl Daemon {
    pub fn kill9(&mut self) {
        kill9(self.pid);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn kill9(pid: u32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

pub fn process_alive(pid: u32) -> bool {
    // /proc/<pid>/stat exists for zombies too; a zombie counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

/// Blocks until `done` holds, polling every 10 ms for at most `limit`.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    poll_for(what, limit, || done().then_some(()));
}

/// Blocks until `check` returns something, polling every 10 ms for at most `limit`.
pub fn poll_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How long [`eventually`] waits: far longer than anything takes on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `check` holds, polling every 20 ms for at most [`PATIENCE`],
/// without blocking the runtime (the fake provider and the client run on it).
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A JSON-RPC error reply: what the daemon refused, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i32,
    pub message: String,
    pub data: Option<Value>,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error {}: {}", self.code, self.message)?;
        match &self.data {
            Some(data) => write!(f, " (data: {data})"),
            None => Ok(()),
        }
    }
}

impl From<jsonrpsee::types::ErrorObjectOwned> for RpcError {
    fn from(object: jsonrpsee::types::ErrorObjectOwned) -> RpcError {
        RpcError {
            code: object.code(),
            message: object.message().to_owned(),
            data: object
                .data()
                .map(|d| serde_json::from_str(d.get()).unwrap_or_else(|_| Value::String(d.get().into()))),
        }
    }
}

/// The result of a JSON-RPC reply (`{"result"}` or `{"error"}`), typed as `M`'s.
fn typed_reply<M: Method>(reply: &Value) -> Result<M::Result, RpcError> {
    if let Some(error) = reply.get("error") {
        return Err(RpcError {
            code: error["code"].as_i64().unwrap_or_else(|| panic!("{}: no error code: {reply}", M::NAME)) as i32,
            message: error["message"].as_str().unwrap_or_default().to_owned(),
            data: error.get("data").cloned(),
        });
    }
    let result = reply.get("result").unwrap_or_else(|| panic!("{}: neither result nor error: {reply}", M::NAME));
    Ok(serde_json::from_value(result.clone())
        .unwrap_or_else(|err| panic!("{}: the result is not a {} ({err}): {result}", M::NAME, type_name::<M>())))
}

fn type_name<M: Method>() -> &'static str {
    std::any::type_name::<M::Result>()
}

/// Params sent by name (an object), as PAIRED's own clients send them.
struct ByName(Box<RawValue>);

impl ToRpcParams for ByName {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        Ok(Some(self.0))
    }
}

/// Typed calls and subscriptions of the protocol over a JSON-RPC client (the
/// WebSocket client of [`Home::ws`]).
pub trait Rpc {
    /// Calls `M`; an error reply is returned, anything else (a closed
    /// connection, a result that is not `M::Result`) panics.
    fn try_call<M: Method>(&self, params: M::Params) -> impl Future<Output = Result<M::Result, RpcError>> + Send;

    /// Calls `M`, which must succeed.
    fn call<M: Method>(&self, params: M::Params) -> impl Future<Output = M::Result> + Send;

    /// Subscribes to `S` (`client/attach`: the client's events).
    fn subscribe_to<S: Subscription>(&self, params: S::Params) -> impl Future<Output = EventStream<S::Item>> + Send;
}

impl<C: SubscriptionClientT + Sync> Rpc for C {
    async fn try_call<M: Method>(&self, params: M::Params) -> Result<M::Result, RpcError> {
        let params = ByName(serde_json::value::to_raw_value(&params).expect("params serialize"));
        match ClientT::request::<M::Result, _>(self, M::NAME, params).await {
            Ok(result) => Ok(result),
            Err(ClientError::Call(object)) => Err(object.into()),
            Err(other) => panic!("{}: not an error reply: {other}", M::NAME),
        }
    }

    async fn call<M: Method>(&self, params: M::Params) -> M::Result {
        self.try_call::<M>(params).await.unwrap_or_else(|err| panic!("{}: {err}", M::NAME))
    }

    async fn subscribe_to<S: Subscription>(&self, params: S::Params) -> EventStream<S::Item> {
        let params = ByName(serde_json::value::to_raw_value(&params).expect("params serialize"));
        SubscriptionClientT::subscribe::<S::Item, _>(self, S::SUBSCRIBE, params, S::UNSUBSCRIBE)
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", S::SUBSCRIBE))
    }
}

/// Attaches a client of `kind` named `name` (`client/attach`): its event stream.
pub async fn attach(client: &impl Rpc, hello: ClientHello) -> EventStream<Event> {
    client.subscribe_to::<protocol::client::Attach>(hello).await
}

/// The next event, within `limit`.
pub async fn next_event(events: &mut EventStream<Event>, limit: Duration) -> Event {
    tokio::time::timeout(limit, events.next())
        .await
        .expect("an event in time")
        .expect("the event stream is open")
        .expect("an event of the protocol")
}

/// `client/attach` params: a client of `kind` named `name`, no workspace.
pub fn hello(kind: ClientKind, name: &str) -> ClientHello {
    ClientHello { kind, name: name.to_owned(), version: None, pid: None, workspace_folders: Vec::new(), events: None }
}

/// `agents/run` params: `agent`'s first skill, nothing else set.
pub fn agent_run(agent: &str) -> RunParams {
    RunParams {
        agent: agent.to_owned(),
        skill: None,
        uri: None,
        position: None,
        range: None,
        prompt: None,
        workspace: None,
        wait: false,
        max_tokens: None,
    }
}

/// `workflows/run` params: `workflow`, nothing else set.
pub fn workflow_run(workflow: &str) -> RunWorkflowParams {
    RunWorkflowParams {
        workflow: workflow.to_owned(),
        uri: None,
        position: None,
        range: None,
        prompt: None,
        workspace: None,
        wait: false,
    }
}

/// `context/build` params: the bundle for `uri` at a position.
pub fn build_at(uri: &str, line: u32, character: u32) -> BuildParams {
    BuildParams {
        uri: uri.to_owned(),
        position: Some(Position { line, character }),
        range: None,
        question: None,
        diagnostics: Vec::new(),
        budget_tokens: None,
        local_provider: false,
    }
}

/// Adds `folder` as a workspace and waits for its first index (`workspaces/add`).
pub async fn add_workspace(client: &impl Rpc, folder: &Path) -> WorkspaceStatus {
    let params = AddWorkspaceParams { folder: folder.display().to_string(), wait: true };
    client.call::<protocol::context::AddWorkspace>(params).await
}

/// Resident set size of a process in KiB, from /proc.
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// The daemon's resident set with its index helpers' (`paired __index`,
/// its children while it indexes): what the daemon costs, in KiB.
pub fn daemon_rss_kib(pid: u32) -> u64 {
    rss_kib(pid) + index_helpers(pid).into_iter().map(rss_kib).sum::<u64>()
}

/// The daemon's index helpers running now.
pub fn index_helpers(daemon: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let parent = stat.rsplit(") ").next().unwrap_or("").split(' ').nth(1).and_then(|p| p.parse().ok());
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            parent == Some(daemon) && cmdline.split(|b| *b == 0).nth(1) == Some(b"__index")
        })
        .collect()
}

/// A `/proc/PID/status` size in KiB: `VmRSS`, `RssAnon` (the heap and other
/// private memory), `RssFile` (pages of the binary and other files mapped).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl HttpReply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// One HTTP/1.1 request over a fresh TCP connection, headers exactly as given, so
/// tests can send what a hostile page or a broken client would.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> HttpReply {
    http_bytes(port, method, path, headers, body.as_bytes())
}

/// [`http`] with a body of any bytes (an archive, say).
pub fn http_bytes(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpReply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    stream.write_all(request.as_bytes()).expect("write head");
    // A server may answer (e.g. 413) and close before reading a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
        // A 101 keeps the connection open: the head is all there is to read.
        if raw.starts_with(b"HTTP/1.1 101") && raw.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
    HttpReply { status, head: head.to_owned(), body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// An LSP client over a child's stdio, with `Content-Length` framing.
/// One LSP frame: the `Content-Length` header and the message.
pub fn frame(message: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(message).expect("message serializes");
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(&body);
    frame
}

pub struct Lsp {
    pub child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    next_id: i64,
    /// Messages read while waiting for something else.
    pub backlog: Vec<Value>,
    /// The action to pick when the server asks (`window/showMessageRequest`);
    /// `None` dismisses the question.
    pub choose: Option<usize>,
}

impl Lsp {
    pub fn spawn(mut command: Command) -> Lsp {
        let mut child =
            command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn lsp");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || read_frames(stdout, tx));
        Lsp { child, stdin, messages, next_id: 0, backlog: Vec::new(), choose: None }
    }

    /// Writes one message as an editor does: the whole frame in one write
    /// (`write!` to the unbuffered pipe wrote each piece of the header alone).
    pub fn send(&mut self, message: &Value) {
        let frame = frame(message);
        self.send_frames(&frame);
    }

    /// Writes frames made beforehand with [`frame`], as they are.
    pub fn send_frames(&mut self, frames: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(frames).expect("write lsp");
        stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request; returns its id.
    pub fn request_async(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    pub fn response(&mut self, id: i64, limit: Duration) -> Value {
        if let Some(i) = self.backlog.iter().position(|m| m["id"] == json!(id) && m.get("method").is_none()) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.messages.recv_timeout(left).unwrap_or_else(|_| panic!("no response to request {id}"));
            if message["id"] == json!(id) && message.get("method").is_none() {
                return message;
            }
            // A request from the server (e.g. window/workDoneProgress/create): an
            // editor answers it.
            if message.get("method").is_some() && message.get("id").is_some() {
                self.answer_server_request(&message);
            }
            self.backlog.push(message);
        }
    }

    /// Waits for a notification or server request named `method`.
    pub fn wait_for_method(&mut self, method: &str, limit: Duration) -> Value {
        if let Some(i) = self.backlog.iter().position(|m| m["method"] == method) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.messages.recv_timeout(left).unwrap_or_else(|_| panic!("no {method} arrived"));
            if message.get("method").is_some() && message.get("id").is_some() {
                self.answer_server_request(&message);
            }
            if message["method"] == method {
                return message;
            }
            self.backlog.push(message);
        }
    }

    /// Answers a request from the server as an editor would: edits are applied.
    fn answer_server_request(&mut self, message: &Value) {
        let result = match message["method"].as_str() {
            Some("workspace/applyEdit") => json!({"applied": true}),
            Some("window/showMessageRequest") => {
                self.choose.map_or(Value::Null, |i| message["params"]["actions"][i].clone())
            }
            _ => Value::Null,
        };
        self.send(&json!({"jsonrpc": "2.0", "id": message["id"], "result": result}));
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.request_async(method, params);
        self.response(id, Duration::from_secs(30))
    }

    /// Calls a protocol method as an LSP custom request: an error reply is
    /// returned, a result that is not `M::Result` panics.
    pub fn try_call<M: Method>(&mut self, params: M::Params) -> Result<M::Result, RpcError> {
        let params = serde_json::to_value(params).expect("params serialize");
        typed_reply::<M>(&self.request(M::NAME, params))
    }

    /// [`Lsp::try_call`] that must succeed.
    pub fn call<M: Method>(&mut self, params: M::Params) -> M::Result {
        self.try_call::<M>(params).unwrap_or_else(|err| panic!("{}: {err}", M::NAME))
    }

    pub fn initialize(&mut self, root: &Path) -> Value {
        self.initialize_with(root, json!({}))
    }

    /// `initialize` with the editor's `capabilities`.
    pub fn initialize_with(&mut self, root: &Path, capabilities: Value) -> Value {
        let uri = format!("file://{}", root.display());
        let reply = self.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "clientInfo": {"name": "paired-tests", "version": "1"},
                "rootUri": uri,
                "workspaceFolders": [{"uri": uri, "name": "root"}],
                "capabilities": capabilities,
            }),
        );
        self.notify("initialized", json!({}));
        reply
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        wait_child(&mut self.child, limit)
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_frames(stdout: ChildStdout, tx: mpsc::Sender<Value>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        match serde_json::from_slice(&body) {
            Ok(message) => {
                if tx.send(message).is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// A private D-Bus session bus with GNOME Keyring's Secret Service on it,
/// unlocked, its keyrings kept under `home`: the OS keyring a desktop session
/// has, without touching the user's. Stopped when dropped.
pub struct SecretService {
    child: Child,
    /// `DBUS_SESSION_BUS_ADDRESS` for the processes that should see it.
    pub address: String,
}

impl SecretService {
    pub fn start(home: &Path) -> SecretService {
        for tool in ["dbus-run-session", "gnome-keyring-daemon"] {
            let found = std::env::var_os("PATH")
                .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
            assert!(found, "{tool} is not installed: scripts/test installs the Debian packages dbus and gnome-keyring");
        }
        let runtime = home.join("run");
        std::fs::create_dir_all(&runtime).expect("mkdir runtime dir");
        // The session lives as long as `cat` waits on our pipe.
        let script = "printf test | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                      && echo \"$DBUS_SESSION_BUS_ADDRESS\" && exec cat >/dev/null";
        let mut child = Command::new("dbus-run-session")
            .args(["--", "sh", "-c", script])
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dbus-run-session");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read bus address");
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "no session bus address from dbus-run-session: {line:?}");
        SecretService { child, address }
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // Closing stdin ends `cat`, then dbus-run-session stops the bus and the keyring.
        drop(self.child.stdin.take());
        if wait_child(&mut self.child, Duration::from_secs(3)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits at most `limit` for a child to exit.
pub fn wait_child(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
