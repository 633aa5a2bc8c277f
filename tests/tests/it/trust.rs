//! #14: other local users and hostile processes on the same machine. Each test
//! is an attack that worked before the fix.
//!
//! Attacks from another user run that user as uid 65534 (`nobody`) through
//! `setpriv`, which needs root; without root they are skipped with a reason.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tests::{Home, wait_until};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

/// Whether another uid can be impersonated here; says why not otherwise.
fn can_be_another_user(test: &str) -> bool {
    let ok = is_root() && Command::new("setpriv").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED {test}: running another user needs root and setpriv (util-linux)");
    }
    ok
}

/// `python3 -c script` as `nobody`, the other local user of these tests.
fn python_as_nobody(script: &str) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid",
            &NOBODY.to_string(),
            "--regid",
            &NOBODY.to_string(),
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
        ])
        .arg(script);
    command
}

fn chown(path: &Path, uid: u32) {
    let status = Command::new("chown").arg(format!("{uid}:{uid}")).arg(path).status().expect("chown");
    assert!(status.success());
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A listener run by `nobody` that writes whatever a client sends it to `log`.
struct Eavesdropper {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Eavesdropper {
    fn start(dir: &Path) -> Eavesdropper {
        Eavesdropper::start_with(dir, "s=socket.socket(); s.bind(('127.0.0.1',0))")
    }

    /// A dual-stack IPv6 listener: IPv4 connections to it are listed in
    /// `/proc/net/tcp6`, not `/proc/net/tcp`.
    fn start_dual_stack(dir: &Path) -> Eavesdropper {
        Eavesdropper::start_with(
            dir,
            "s=socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(('::',0))",
        )
    }

    fn start_with(dir: &Path, bind: &str) -> Eavesdropper {
        let log = dir.join("eavesdropped");
        let port_file = dir.join("eavesdropper.port");
        let script = format!(
            "import socket\n{bind}; s.listen(16)\nopen({port:?},'w').write(str(s.getsockname()[1]))\n\
             while True:\n  c,_=s.accept(); c.settimeout(2)\n  try:\n    d=c.recv(65536)\n  except Exception:\n    d=b''\n  open({log:?},'ab').write(d); c.close()\n",
            port = port_file.display().to_string(),
            log = log.display().to_string(),
        );
        chmod(dir, 0o777);
        let child = python_as_nobody(&script).stdin(Stdio::null()).spawn().expect("run the eavesdropper as nobody");
        // The file exists before its number is written: wait for the number.
        let port = || std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok());
        wait_until("the eavesdropper listens", Duration::from_secs(10), || port().is_some());
        let port = port().expect("port number");
        Eavesdropper { child, port, log }
    }

    fn heard(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }
}

impl Drop for Eavesdropper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A world-writable runtime folder (`XDG_RUNTIME_DIR=/tmp/shared`, say) in which
/// another user planted `paired/daemon.json` pointing at their own port: the
/// victim's `paired status` must refuse the folder and send the token nowhere.
#[test]
fn a_runtime_dir_planted_by_another_user_is_refused() {
    if !can_be_another_user("a_runtime_dir_planted_by_another_user_is_refused") {
        return;
    }
    let home = Home::new();
    let shared = tempfile::tempdir().expect("shared folder");
    let spy = Eavesdropper::start(shared.path());
    let runtime = shared.path().join("runtime");
    std::fs::create_dir(&runtime).expect("mkdir");
    chmod(&runtime, 0o777);
    // What the attacker plants: a folder of theirs with a discovery file and a
    // lock file naming a live process (their eavesdropper), and a token file.
    let planted = runtime.join("paired");
    std::fs::create_dir(&planted).expect("mkdir");
    let discovery = serde_json::json!({
        "pid": spy.child.id(), "port": spy.port, "version": "2.0.0", "protocol_version": 1,
        "token_file": home.state_dir().join("token"), "log_file": "/dev/null", "started_at_ms": 0,
    });
    std::fs::write(planted.join("daemon.json"), discovery.to_string()).expect("plant");
    std::fs::write(planted.join("daemon.lock"), format!("{}\n", spy.child.id())).expect("plant");
    for file in [&planted.join("daemon.json"), &planted.join("daemon.lock"), &planted] {
        chown(file, NOBODY);
    }
    chmod(&planted, 0o777);

    // The victim's own daemon would write its token here.
    let _daemon = home.start_daemon();
    let token = home.token();
    let status = home.paired(&["status"]).env("XDG_RUNTIME_DIR", &runtime).output().expect("status");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(!status.status.success(), "{stderr}");
    assert!(stderr.contains("refusing to use") && stderr.contains("paired"), "{stderr}");
    assert!(stderr.contains("another user") || stderr.contains("others can write"), "{stderr}");
    assert!(!spy.heard().contains(&token), "the token reached the other user: {}", spy.heard());

    // The daemon itself refuses such a folder too, and says how to fix it.
    let daemon = home.paired(&["daemon"]).env("XDG_RUNTIME_DIR", &runtime).output().expect("daemon");
    let stderr = String::from_utf8_lossy(&daemon.stderr);
    assert!(!daemon.status.success(), "{stderr}");
    assert!(stderr.contains("refusing to use") && stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");

    // `paired doctor` says why.
    let doctor = home.paired(&["doctor"]).env("XDG_RUNTIME_DIR", &runtime).output().expect("doctor");
    let out = String::from_utf8_lossy(&doctor.stdout).into_owned() + &String::from_utf8_lossy(&doctor.stderr);
    assert!(out.contains("refusing to use"), "{out}");
}

/// The daemon's own folder, but the port in its discovery file is now served
/// by another user (the daemon went away and someone took its port): the
/// client checks who is listening before it sends the token.
#[test]
fn the_token_is_never_sent_to_another_users_listener() {
    if !can_be_another_user("the_token_is_never_sent_to_another_users_listener") {
        return;
    }
    // IPv4, and (#14 review) dual-stack IPv6, which the first check missed.
    for dual_stack in [false, true] {
        let home = Home::new();
        let shared = tempfile::tempdir().expect("shared folder");
        let spy =
            if dual_stack { Eavesdropper::start_dual_stack(shared.path()) } else { Eavesdropper::start(shared.path()) };
        let _daemon = home.start_daemon();
        let token = home.token();
        // The daemon's socket is the user's own; a client that goes by TCP (a
        // daemon without one) must check who listens before it sends the token.
        let mut discovery = home.discovery().expect("discovery");
        assert!(discovery["socket"].is_string(), "the daemon has a private socket: {discovery}");
        discovery["port"] = spy.port.into();
        discovery.as_object_mut().expect("object").remove("socket");
        std::fs::write(home.discovery_path(), discovery.to_string()).expect("rewrite");

        let status = home.paired(&["status"]).output().expect("status");
        let stderr = String::from_utf8_lossy(&status.stderr);
        assert!(!status.status.success(), "{stderr}");
        assert!(
            stderr.contains("belongs to uid 65534") && stderr.contains("refusing to send it your token"),
            "{stderr}"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert!(!spy.heard().contains(&token), "the token reached the other user: {}", spy.heard());
        assert!(!spy.heard().contains("Authorization"), "{}", spy.heard());
    }
}

/// #14 review: another user flooding the daemon's TCP port with connections
/// (tens of thousands a second) evicted the user's own clients before their
/// handshake. PAIRED's clients use the private socket, which nobody else can
/// reach.
#[test]
fn a_connection_flood_from_another_user_does_not_lock_out_the_users_clients() {
    if !can_be_another_user("a_connection_flood_from_another_user_does_not_lock_out_the_users_clients") {
        return;
    }
    let home = Home::new();
    let daemon = home.start_daemon();
    let socket = home.discovery().expect("discovery")["socket"].as_str().expect("socket").to_owned();
    let mode = std::fs::metadata(&socket).expect("socket").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is private");
    let script = format!(
        "import socket,time\nend=time.time()+8\nheld=[]\nwhile time.time()<end:\n  try:\n    c=socket.create_connection(('127.0.0.1',{port}))\n    held.append(c)\n    if len(held)>200: held.pop(0).close()\n  except Exception:\n    pass\n",
        port = daemon.port
    );
    let mut flood = python_as_nobody(&script).spawn().expect("flood as nobody");
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..10 {
        let status = home.paired(&["status"]).output().expect("status");
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    }
    let _ = flood.kill();
    let _ = flood.wait();
}

/// #14 review: one idle unauthenticated connection made `paired stop` wait
/// the full 3 s, with the discovery file still naming a port about to be free.
#[test]
fn stopping_does_not_wait_for_unauthenticated_connections() {
    let home = Home::new();
    let daemon = home.start_daemon();
    // Half a request each: hyper's graceful shutdown waits for such a one.
    let mut idle = idle_sockets(daemon.port, 3);
    for socket in &mut idle {
        socket.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("half a request");
    }
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    // The daemon is this test's child: `paired stop` would wait on the zombie.
    let stop = home.post(r#"{"jsonrpc":"2.0","id":1,"method":"daemon/shutdown"}"#);
    assert_eq!(stop.status, 200, "{stop:?}");
    wait_until("the daemon exits", Duration::from_secs(10), || !tests::process_alive(daemon.pid));
    assert!(started.elapsed() < Duration::from_secs(2), "stopping took {:?}", started.elapsed());
    assert!(!home.log().contains("did not close within"), "{}", home.log());
}

/// Planted links where the daemon writes its lock file: the daemon refuses to
/// open it and the link's target is untouched.
#[test]
fn a_planted_lock_link_is_not_followed() {
    let home = Home::new();
    let victim = home.path().join("precious.txt");
    std::fs::write(&victim, "keep me").expect("write");
    std::fs::create_dir_all(home.state_dir()).expect("mkdir");
    chmod(&home.state_dir(), 0o700);
    std::os::unix::fs::symlink(&victim, home.state_dir().join("daemon.lock")).expect("symlink");
    let out = home.paired(&["daemon"]).output().expect("daemon");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep me");
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat.rsplit(')').next().expect("fields").split_whitespace().collect();
    // utime and stime: fields 14 and 15 of the whole line, 12 and 13 after the name.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn soft_nofile(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("nofile line");
    line.split_whitespace().nth(3).expect("soft").parse().expect("number")
}

/// The daemon's descriptor limit in the flood test: low enough that a few
/// dozen idle sockets would use it up.
const NOFILE: u64 = 64;

/// Starts the daemon with a hard descriptor limit of [`NOFILE`] (and a soft one
/// below it, which the daemon raises). `prlimit` execs the daemon: same pid.
fn start_with_few_descriptors(home: &Home, env: &[(&str, &str)]) -> tests::Daemon {
    let mut inner = home.paired(&["daemon"]);
    inner.envs(env.iter().copied());
    let mut command = Command::new("prlimit");
    command.arg(format!("--nofile={}:{NOFILE}", NOFILE - 16)).arg("--").arg(inner.get_program()).args(inner.get_args());
    command.env_clear().current_dir(home.path());
    for (key, value) in inner.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    home.start_daemon_command(command)
}

/// Opens `count` idle TCP connections to `port`.
fn idle_sockets(port: u16, count: usize) -> Vec<TcpStream> {
    (0..count).map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect")).collect()
}

/// How many of `sockets` the other end has closed.
fn closed_by_peer(sockets: &mut [TcpStream]) -> usize {
    let mut closed = 0;
    for stream in sockets {
        stream.set_read_timeout(Some(Duration::from_millis(20))).expect("timeout");
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) => closed += 1,
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            _ => {}
        }
    }
    closed
}

/// ~20,000 idle unauthenticated connections used up the daemon's descriptors: token
/// holders could no longer connect and the accept loop spun at ~94 % of a core.
#[test]
fn idle_connections_cannot_lock_out_the_token_holder() {
    let home = Home::new();
    let daemon = start_with_few_descriptors(&home, &[]);
    assert_eq!(soft_nofile(daemon.pid), NOFILE, "the soft limit is raised to the hard one");

    let mut idle = idle_sockets(daemon.port, 400);
    std::thread::sleep(Duration::from_millis(500));
    // Not spinning: under a tenth of a core over two seconds (the spin was ~94 %).
    let before = cpu_ticks(daemon.pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(daemon.pid) - before;
    assert!(used < 20, "the daemon used {used} ticks (1/100 s) in 2 s with idle connections open");

    // The token holder gets in, while all those sockets are still open.
    let started = Instant::now();
    let status = home.paired(&["status", "--json"]).output().expect("status");
    assert!(
        status.status.success(),
        "{}{}\n{}",
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr),
        home.log()
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // Unauthenticated sockets were closed (evicted or timed out), not kept.
    let closed = closed_by_peer(&mut idle);
    assert!(closed >= 300, "only {closed} of 400 idle connections were closed");

    // Errors were logged, but rate-limited.
    let log = home.log();
    let lines = log.lines().filter(|l| l.contains("cannot accept a connection")).count();
    assert!(lines <= 5, "{lines} accept errors logged:\n{log}");
}

/// The token-less 1.0 bridge shares the daemon's descriptors: idle sockets on
/// its port must not lock out 1.0 clients or the daemon's own clients.
#[test]
fn idle_connections_to_the_bridge_cannot_lock_anyone_out() {
    let home = Home::new();
    let bridge_port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let port_text = bridge_port.to_string();
    let daemon = start_with_few_descriptors(&home, &[("BRIDGE_PORT", &port_text), ("PAIRED_COMPAT_BRIDGE_1X", "true")]);
    wait_until("the bridge", Duration::from_secs(10), || TcpStream::connect(("127.0.0.1", bridge_port)).is_ok());
    let mut idle = idle_sockets(bridge_port, 400);
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_ticks(daemon.pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(daemon.pid) - before;
    assert!(used < 20, "the daemon used {used} ticks (1/100 s) in 2 s with idle bridge connections open");
    let host = format!("127.0.0.1:{bridge_port}");
    let health = tests::http(bridge_port, "GET", "/health", &[("Host", &host)], "");
    assert_eq!(health.status, 200, "{health:?}");
    let status = home.paired(&["status"]).output().expect("status");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(closed_by_peer(&mut idle) >= 300);
}

/// #14 review: 1.0 clients send no token, so any local user could use the
/// bridge: read what it answers about the user's open projects, hold its
/// connections (keep-alive, 256 WebSockets) and lock the user's 1.0 clients out.
/// The bridge serves the user's own processes only.
#[test]
fn the_bridge_serves_only_the_users_own_processes() {
    if !can_be_another_user("the_bridge_serves_only_the_users_own_processes") {
        return;
    }
    let home = Home::new();
    let bridge_port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let port_text = bridge_port.to_string();
    let _daemon = home.start_daemon_with(&[("BRIDGE_PORT", &port_text), ("PAIRED_COMPAT_BRIDGE_1X", "true")]);
    wait_until("the bridge", Duration::from_secs(10), || TcpStream::connect(("127.0.0.1", bridge_port)).is_ok());
    let host = format!("127.0.0.1:{bridge_port}");
    assert_eq!(tests::http(bridge_port, "GET", "/health", &[("Host", &host)], "").status, 200, "the user is served");
    let script = format!(
        "import socket\nc=socket.create_connection(('127.0.0.1',{bridge_port}))\nc.settimeout(5)\n\
         c.sendall(b'GET /health HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n')\n\
         try:\n  print(repr(c.recv(65536)))\nexcept ConnectionResetError:\n  print('reset')\n"
    );
    let out = python_as_nobody(&script).output().expect("another user asks");
    let answer = String::from_utf8_lossy(&out.stdout);
    let answer = answer.trim();
    assert!(
        answer == "reset" || answer == "b''" || answer.contains("403 Forbidden") && !answer.contains("activeSessions"),
        "another user got an answer: {answer} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An idle connection that never authenticates is closed after the timeout
/// even when the daemon has descriptors to spare.
#[test]
fn an_idle_unauthenticated_connection_is_closed() {
    let home = Home::new();
    let daemon = home.start_daemon();
    let mut idle = TcpStream::connect(("127.0.0.1", daemon.port)).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let read = idle.read(&mut buf);
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(5) && waited < Duration::from_secs(25), "{waited:?}");
    // An authenticated client is not timed.
    assert_eq!(home.post(r#"{"jsonrpc":"2.0","id":1,"method":"daemon/status"}"#).status, 200);
}

/// The token appeared in `paired.log` at `RUST_LOG=trace` (jsonrpsee logs the
/// whole HTTP request). It is never written anywhere, at any level, on either
/// side of the connection.
#[test]
fn the_token_is_never_logged_even_at_trace() {
    let home = Home::new();
    let _daemon = home.start_daemon_with(&[("RUST_LOG", "trace"), ("PAIRED_LOG", "trace")]);
    let token = home.token();
    // An editor's `paired lsp` at trace level: its stderr is the editor's log.
    let mut lsp = home
        .paired(&["lsp"])
        .env("RUST_LOG", "trace")
        .env("PAIRED_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("paired lsp");
    let root = format!("file://{}", home.path().display());
    let messages = [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": null, "rootUri": root, "capabilities": {}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "daemon/status", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}),
        serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    ];
    {
        let mut stdin = lsp.stdin.take().expect("stdin");
        for message in messages {
            let body = message.to_string();
            write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
            stdin.flush().expect("flush");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let output = lsp.wait_with_output().expect("lsp output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("\"id\":2"), "the proxy answered: {stdout}");
    let client_log = String::from_utf8_lossy(&output.stderr);
    assert!(client_log.contains("TRACE") || client_log.contains("DEBUG"), "the proxy logs at trace:\n{client_log}");
    assert!(!client_log.contains(&token), "the token is in the proxy's log");
    // Also a token in a WebSocket URL, and a plain POST.
    let query = format!("/?token={token}");
    let _ = tests::http(home.port(), "GET", &query, &[("Host", "127.0.0.1"), ("Upgrade", "websocket")], "");
    assert_eq!(home.post(r#"{"jsonrpc":"2.0","id":1,"method":"daemon/status"}"#).status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let log = home.log();
    assert!(log.contains("TRACE") || log.contains("trace"), "the log is at trace level:\n{log}");
    assert!(!log.contains(&token), "the token is in the daemon's log");
}
