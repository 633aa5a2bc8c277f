//! Finding and talking to the running daemon, for the CLI and `paired lsp`.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use http::{HeaderMap, HeaderValue, header};
use jsonrpsee::{
    core::{client::ClientT, traits::ToRpcParams},
    ws_client::{WsClient, WsClientBuilder},
};
use protocol::Method;
use serde::Serialize;
use serde_json::value::RawValue;

use tokio::net::TcpStream;

use crate::{
    platform::instance::{self, Discovery},
    platform::os,
    platform::paths::Paths,
};

/// A live connection and what the discovery file said.
pub struct Connection {
    pub client: WsClient,
    pub discovery: Discovery,
}

/// Connects to the daemon described by the discovery file.
///
/// The token goes only to a listener of this user's: the runtime folder must be
/// private (so nobody else wrote the discovery file), and the socket we connect
/// must be served by a program of this user's (so nobody else took the port
/// after the daemon went away).
pub async fn connect(paths: &Paths) -> Result<Connection> {
    paths.check_private()?;
    let discovery = instance::live_discovery(paths)
        .ok_or_else(|| anyhow!("no PAIRED daemon is running; start one with `paired daemon`"))?;
    // The URL names the TCP port either way: the guard checks `Host` against it.
    let url = format!("ws://127.0.0.1:{}", discovery.port);
    let client = match &discovery.socket {
        Some(socket) => {
            let stream = connect_socket(socket, &discovery).await?;
            handshake(&discovery, &url, stream).await?
        }
        None => {
            let stream =
                tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(("127.0.0.1", discovery.port)))
                    .await
                    .map_err(|_| anyhow!("timed out"))
                    .and_then(|connected| Ok(connected?))
                    .with_context(|| format!("cannot connect to the daemon at {url} (pid {})", discovery.pid))?;
            check_listener_is_ours(&stream, discovery.port)?;
            handshake(&discovery, &url, stream).await?
        }
    };
    Ok(Connection { client, discovery })
}

/// The daemon's private socket: in the private runtime folder, and served by a
/// process of this user's (the kernel says so, `SO_PEERCRED`). Another local
/// user can neither connect to it nor flood it.
async fn connect_socket(socket: &std::path::Path, discovery: &Discovery) -> Result<os::LocalStream> {
    let stream = tokio::time::timeout(Duration::from_secs(5), os::connect_local(socket))
        .await
        .map_err(|_| anyhow!("timed out"))
        .and_then(|connected| Ok(connected?))
        .with_context(|| {
            format!("cannot connect to the daemon's socket {} (pid {})", socket.display(), discovery.pid)
        })?;
    let uid = os::local_peer_uid(&stream).context("cannot ask who serves the daemon's socket")?;
    if uid != os::current_uid() {
        bail!(
            "the daemon's socket {} is served by uid {uid}, not by you: refusing to send it your token",
            socket.display()
        );
    }
    Ok(stream)
}

/// The WebSocket handshake, with the token, over a stream already checked.
async fn handshake<T>(discovery: &Discovery, url: &str, stream: T) -> Result<WsClient>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let token = instance::read_token(&discovery.token_file)?;
    crate::platform::logging::redact(&token);
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).context("the token file holds a malformed token")?;
    headers.insert(header::AUTHORIZATION, bearer);
    WsClientBuilder::default()
        .set_headers(headers)
        .request_timeout(Duration::from_secs(60))
        .connection_timeout(Duration::from_secs(5))
        .max_request_size(64 * 1024 * 1024)
        .max_response_size(64 * 1024 * 1024)
        .build_with_stream(url, stream)
        .await
        .with_context(|| format!("cannot connect to the daemon at {url} (pid {})", discovery.pid))
}

/// Refuses a connection whose other end belongs to another user.
fn check_listener_is_ours(stream: &TcpStream, port: u16) -> Result<()> {
    let (local, peer) = (stream.local_addr()?, stream.peer_addr()?);
    match os::loopback_peer_uid(local, peer) {
        Ok(Some(uid)) if uid == os::current_uid() => Ok(()),
        Ok(Some(uid)) => bail!(
            "the program listening on 127.0.0.1:{port} belongs to uid {uid}, not to you (uid {}): refusing to send it your token; \
             the daemon's discovery file may have been planted, check `paired doctor`",
            os::current_uid()
        ),
        // The OS cannot tell (not Linux); the private runtime folder is the guarantee there.
        Ok(None) => Ok(()),
        Err(err) => {
            Err(err).context(format!("cannot check who is listening on 127.0.0.1:{port}; not sending it the token"))
        }
    }
}

/// Connects, starting a daemon first when none is running. Used by `paired lsp`,
/// so an editor never has to start the daemon itself.
pub async fn connect_or_start(paths: &Paths) -> Result<Connection> {
    let limit = Duration::from_secs(10);
    let deadline = Instant::now() + limit;
    let mut last_spawn: Option<(Instant, Spawned)> = None;
    loop {
        let error = match connect(paths).await {
            Ok(connection) => return Ok(connection),
            Err(err) => err,
        };
        // The one started stopped with an error (its port taken, its
        // database unreadable): said now, not after the wait.
        if let Some(why) = last_spawn.as_ref().and_then(|(_, spawned)| spawned.failure(paths)) {
            bail!("the PAIRED daemon could not start: {why}");
        }
        // Start one when none holds the lock, including right after a daemon
        // stopped (a start while it was still shutting down lost to its lock).
        if !instance::is_running(paths)
            && last_spawn.as_ref().is_none_or(|(t, _)| t.elapsed() > Duration::from_millis(300))
        {
            let spawned = spawn_daemon(paths, &["--autostarted"]).context("cannot start the PAIRED daemon")?;
            last_spawn = Some((Instant::now(), spawned));
        }
        if Instant::now() >= deadline {
            return Err(error.context(format!(
                "the daemon did not come up within {}s; see its log in {}",
                limit.as_secs(),
                paths.log_file().display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls until a daemon answers, or `limit` passes, or the one `spawned`
/// stops with an error.
pub async fn wait_for_daemon(paths: &Paths, spawned: &Spawned, limit: Duration) -> Result<Connection> {
    let deadline = Instant::now() + limit;
    let mut delay = Duration::from_millis(5);
    loop {
        match connect(paths).await {
            Ok(connection) => return Ok(connection),
            Err(err) if Instant::now() >= deadline => {
                return Err(err.context(format!(
                    "the daemon did not come up within {}s; see its log in {}",
                    limit.as_secs(),
                    paths.log_file().display()
                )));
            }
            Err(_) => {
                if let Some(why) = spawned.failure(paths) {
                    bail!("the PAIRED daemon could not start: {why}");
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(100));
            }
        }
    }
}

/// A daemon started in the background, and how it ended if it did.
pub struct Spawned {
    pub pid: u32,
    exited: std::sync::Arc<std::sync::OnceLock<std::process::ExitStatus>>,
    /// How long its log was before it started: what follows is its own.
    log_from: u64,
}

impl Spawned {
    /// Why it stopped, when it stopped with an error: its status and the
    /// last lines it logged (a detached daemon has no terminal to say it on).
    pub fn failure(&self, paths: &Paths) -> Option<String> {
        let status = self.exited.get().filter(|status| !status.success())?;
        let logged = std::fs::read(paths.log_file()).unwrap_or_default();
        // Shorter than it was: the daemon's first line rotated it, and all of it is the daemon's.
        let since = String::from_utf8_lossy(logged.get(self.log_from as usize..).unwrap_or(&logged)).into_owned();
        // Its errors, as said (`… ERROR daemon::…: cannot listen …` → `cannot listen …`); else its last lines.
        let errors: Vec<&str> = since
            .lines()
            .filter_map(|l| l.split_once(" ERROR ").map(|(_, rest)| rest.split_once(": ").map_or(rest, |(_, m)| m)))
            .collect();
        let lines: Vec<&str> = match errors.is_empty() {
            true => since.lines().map(str::trim).filter(|l| !l.is_empty()).collect(),
            false => errors,
        };
        let said = lines[lines.len().saturating_sub(3)..].join(" / ");
        Some(match said.is_empty() {
            true => format!("it exited ({status}) without a word in {}", paths.log_file().display()),
            false => format!("{said} (it exited: {status}; its log is {})", paths.log_file().display()),
        })
    }
}

/// Starts `paired daemon <args>` in the background: its own process group (so an
/// editor's or terminal's signals do not reach it), no stdio.
/// A thread reaps the child when it exits, so no zombie is left behind.
pub fn spawn_daemon(paths: &Paths, args: &[&str]) -> Result<Spawned> {
    let exe = std::env::current_exe().context("cannot find the paired executable")?;
    // `paired-lsp` starts the daemon through `paired`, beside it.
    let exe = if exe.file_name().is_some_and(|n| n == "paired-lsp") { exe.with_file_name("paired") } else { exe };
    let mut child = Command::new(exe);
    child
        .arg("daemon")
        .arg("--detached-child")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let log_from = std::fs::metadata(paths.log_file()).map_or(0, |m| m.len());
    let mut child = os::detach(&mut child).spawn()?;
    let pid = child.id();
    let exited = std::sync::Arc::new(std::sync::OnceLock::new());
    std::thread::spawn({
        let exited = exited.clone();
        move || {
            if let Ok(status) = child.wait() {
                let _ = exited.set(status);
            }
        }
    });
    Ok(Spawned { pid, exited, log_from })
}

/// Opens `root` in the daemon (`workspaces/add`), as the CLI does for the
/// project it runs in. A folder that is no project (the home folder, `/`, a
/// system folder: [`crate::services::workspace::unfit_root`]) is not opened: `false`, and
/// the command goes on without a workspace.
pub async fn open_project(client: &WsClient, root: &std::path::Path, wait: bool) -> Result<bool> {
    if crate::services::workspace::unfit_root(root).is_some() {
        return Ok(false);
    }
    let folder = protocol::context::AddWorkspaceParams { folder: root.display().to_string(), wait };
    call::<protocol::context::AddWorkspace>(client, &folder).await?;
    Ok(true)
}

/// Calls a protocol method with by-name params.
pub async fn call<M: Method>(client: &WsClient, params: &M::Params) -> Result<M::Result> {
    client.request(M::NAME, ByName(params)).await.map_err(|err| match err {
        jsonrpsee::core::client::Error::Call(reply) => anyhow::Error::new(Refused { method: M::NAME, reply }),
        other => anyhow!("{}: {other}", M::NAME),
    })
}

/// The daemon's error reply to a [`call`], told as `method: message`; its
/// data (what a refused run lacks, say) stays for the front to read.
#[derive(Debug, thiserror::Error)]
#[error("{method}: {}", reply.message())]
pub struct Refused {
    pub method: &'static str,
    pub reply: jsonrpsee::types::ErrorObjectOwned,
}

/// Serializes a params struct as a JSON-RPC by-name (object) params value.
pub struct ByName<'a, T>(pub &'a T);

impl<T: Serialize> ToRpcParams for ByName<'_, T> {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        serde_json::value::to_raw_value(self.0).map(Some)
    }
}

/// Raw params for forwarding a request whose params are already JSON.
pub struct Raw(pub Option<Box<RawValue>>);

impl ToRpcParams for Raw {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        Ok(self.0)
    }
}

/// Waits for the process `pid` to exit.
pub async fn wait_for_exit(pid: u32, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while process_alive(pid) {
        if Instant::now() >= deadline {
            bail!("process {pid} is still running after {}s", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

pub fn process_alive(pid: u32) -> bool {
    os::process_alive(pid)
}
