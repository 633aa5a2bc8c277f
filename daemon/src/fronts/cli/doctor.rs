//! `paired doctor`: checks what usually goes wrong, each with what to do about it.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use anyhow::Result;
use protocol::{NoParams, daemon};
use serde::Serialize;

use crate::fronts::cli::common::outln;
use crate::{
    platform::config::Loaded,
    platform::instance::{self, Discovery},
    platform::paths::{self, Paths},
    server::client,
};

#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    level: Level,
    detail: String,
}

/// The checks made so far, in order.
#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, name: &'static str, level: Level, detail: String) {
        self.0.push(Check { name, level, detail });
    }
}

/// What of a changed `config.toml` waits for a restart, in one line.
pub(crate) fn restart_line(sections: &[String]) -> String {
    let sections: Vec<String> = sections.iter().map(|s| format!("[{s}]")).collect();
    format!(
        "config.toml changed {} since the daemon started: applies after a restart (`paired stop`; editors start it again); [market] applies at once",
        sections.join(", ")
    )
}

/// The PAIRED 1.0 bridge in one line, for `paired status` and `paired doctor`:
/// off, or its port and the 1.0 clients connected, with their projects.
pub(crate) fn bridge_line(bridge: Option<&daemon::BridgeReport>) -> String {
    let Some(b) = bridge else {
        return "PAIRED 1.0 bridge off (compat.bridge_1x = true, or `paired daemon --bridge-1x`, serves 1.0 clients)"
            .to_owned();
    };
    let projects = if b.projects.is_empty() { "no project".to_owned() } else { b.projects.join(", ") };
    format!(
        "PAIRED 1.0 bridge on 127.0.0.1:{}: {} connection(s), {} instance(s), projects: {projects}{}",
        b.port,
        b.connections,
        b.instances,
        if b.require_token { "; a token is required" } else { "" }
    )
}

/// `paired doctor`: every check in turn, then the report.
pub async fn run(paths: &Paths, json: bool) -> Result<ExitCode> {
    let mut checks = Checks::default();
    let loaded = crate::fronts::cli::common::load_config(paths);
    check_config(&mut checks, paths, &loaded);
    check_files(&mut checks, paths);
    let running = instance::is_running(paths);
    let discovery = Discovery::read(&paths.discovery_file());
    check_daemon(&mut checks, paths, running, discovery.as_ref()).await;
    if let Ok(loaded) = &loaded {
        check_port(&mut checks, loaded, discovery.as_ref().filter(|_| running));
    }
    check_database(&mut checks, paths).await;
    check_sandbox(&mut checks).await;
    report(&checks.0, json)
}

/// What the sandbox holds on this machine: `true` run in it, as agents'
/// programs are. Less than full is a warning, not a failure (nothing is
/// run unconfined unless the user allows best effort).
async fn check_sandbox(checks: &mut Checks) {
    use crate::platform::os::sandbox::{self, Level as Held, Limits, Spec};
    let scratch = match tempfile_dir() {
        Ok(dir) => dir,
        Err(err) => return checks.add("sandbox", Level::Warn, format!("no scratch folder to try it in: {err}")),
    };
    let spec = Spec {
        program: "true".into(),
        args: Vec::new(),
        cwd: scratch.clone(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        read: sandbox::system_read_paths(),
        write: vec![scratch.clone()],
        network: false,
        hide: Vec::new(),
        require_full: false,
        seen_as: None,
        limits: Limits { wall: std::time::Duration::from_secs(10), ..Limits::default() },
    };
    let helper = std::env::current_exe();
    let outcome = match &helper {
        Ok(helper) => sandbox::run(helper, &spec).await.map_err(|e| e.to_string()),
        Err(err) => Err(err.to_string()),
    };
    let _ = std::fs::remove_dir_all(&scratch);
    match outcome {
        Ok(outcome) if outcome.enforcement.level == Held::Fully => checks.add(
            "sandbox",
            Level::Ok,
            "fully enforced: Landlock, own network namespace, process and resource limits".into(),
        ),
        Ok(outcome) => checks.add("sandbox", Level::Warn, outcome.enforcement.summary()),
        Err(err) => checks.add("sandbox", Level::Warn, format!("could not be tried: {err}")),
    }
}

/// A private scratch folder for the sandbox check.
fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(crate::platform::clock::new_id("paired-doctor-"));
    crate::platform::os::create_private_dir(&dir)?;
    Ok(dir)
}

/// The configuration, and the registries of its `[market]`.
fn check_config(checks: &mut Checks, paths: &Paths, loaded: &Result<Loaded>) {
    match loaded {
        Ok(loaded) => checks.add(
            "config",
            Level::Ok,
            format!("valid ({})", loaded.sources.iter().map(ToString::to_string).collect::<Vec<_>>().join(" < ")),
        ),
        Err(err) => checks.add("config", Level::Fail, format!("{err:#}")),
    }
    let Ok(loaded) = loaded else { return };
    let registries: Vec<String> =
        crate::services::team::registry::with_team(paths, loaded.config.market.registries.clone())
            .iter()
            .map(|r| {
                let root = if r.root.is_file() { "" } else { " (its root.json is missing!)" };
                format!("{} at {}{root}", r.name, r.url)
            })
            .collect();
    let saved = "a running daemon applies [market] changes as soon as config.toml is saved";
    match registries.is_empty() {
        true => checks.add(
            "market",
            Level::Ok,
            format!("no agent registry configured: add a [[market.registries]] entry (docs/marketplace.md); {saved}"),
        ),
        false if registries.iter().any(|r| r.ends_with("missing!)")) => {
            checks.add("market", Level::Warn, format!("registries: {}; {saved}", registries.join(", ")))
        }
        false => checks.add("market", Level::Ok, format!("registries: {}; {saved}", registries.join(", "))),
    }
}

/// PAIRED's folders and the token file: private to the user.
fn check_files(checks: &mut Checks, paths: &Paths) {
    match paths.check_private() {
        Ok(()) => checks.add("folders", Level::Ok, "private to you (config, data, state, runtime)".to_owned()),
        Err(err) => checks.add("folders", Level::Fail, format!("{err:#}")),
    }

    let token_file = paths.token_file();
    match paths::mode_of(&token_file) {
        Ok(mode) if mode & 0o077 == 0 => {
            checks.add("token", Level::Ok, format!("{} (mode {mode:o})", token_file.display()))
        }
        Ok(mode) => checks.add(
            "token",
            Level::Fail,
            format!(
                "{} is readable by others (mode {mode:o}); restart the daemon to issue a new token",
                token_file.display()
            ),
        ),
        Err(_) => checks.add(
            "token",
            Level::Warn,
            format!("{} does not exist yet; the first daemon start creates it", token_file.display()),
        ),
    }
}

/// The daemon: whether it runs and answers, and then what it says of itself.
async fn check_daemon(checks: &mut Checks, paths: &Paths, running: bool, discovery: Option<&Discovery>) {
    match (running, discovery) {
        (true, Some(d)) => match client::connect(paths).await {
            Ok(connection) => match client::call::<daemon::Status>(&connection.client, &NoParams {}).await {
                Ok(status) => check_status(checks, status),
                Err(err) => checks.add(
                    "daemon",
                    Level::Fail,
                    format!("pid {} answers but daemon/status failed: {err:#}", d.pid),
                ),
            },
            Err(err) => checks.add(
                "daemon",
                Level::Fail,
                format!("pid {} holds the lock but cannot be reached: {err:#}", d.pid),
            ),
        },
        (true, None) => checks.add(
            "daemon",
            Level::Warn,
            "a daemon holds the lock but has not written its discovery file yet (starting?)".into(),
        ),
        (false, Some(d)) => checks.add(
            "daemon",
            Level::Warn,
            format!("not running; a daemon (pid {}) stopped without cleaning up — the next start takes over", d.pid),
        ),
        (false, None) => checks.add(
            "daemon",
            Level::Warn,
            "not running; start it with `paired daemon --detach` (editors start it on demand)".into(),
        ),
    }
}

/// What a running daemon says of itself: its clients, the bridge, whether it
/// runs with the current config, its version.
fn check_status(checks: &mut Checks, status: daemon::StatusWithBridge) {
    let daemon::StatusWithBridge { daemon: status, bridge_1x } = status;
    checks.add(
        "daemon",
        Level::Ok,
        format!("pid {} on 127.0.0.1:{}, {} client(s)", status.pid, status.port, status.clients.values().sum::<u32>()),
    );
    checks.add("bridge", Level::Ok, bridge_line(bridge_1x.as_ref()));
    if status.restart_needed.is_empty() {
        checks.add("config", Level::Ok, "the daemon runs with the current config.toml".to_owned());
    } else {
        checks.add("config", Level::Warn, restart_line(&status.restart_needed));
    }
    let ours = env!("CARGO_PKG_VERSION");
    if status.version == ours && status.protocol_version == protocol::PROTOCOL_VERSION {
        checks.add("versions", Level::Ok, format!("cli and daemon {ours}, protocol {}", status.protocol_version));
    } else {
        checks.add(
            "versions",
            Level::Warn,
            format!(
                "cli {ours} but daemon {} (protocol {}); restart it with `paired stop` then `paired daemon --detach`",
                status.version, status.protocol_version
            ),
        );
    }
}

/// The configured port, against the one a running daemon (`serving`) is on.
fn check_port(checks: &mut Checks, loaded: &Loaded, serving: Option<&Discovery>) {
    let port = loaded.config.daemon.port;
    match serving.map(|d| d.port) {
        Some(actual) if port == 0 || actual == port => {
            checks.add("port", Level::Ok, format!("daemon on {actual} (configured {port})"))
        }
        Some(actual) => {
            checks.add("port", Level::Warn, format!("daemon on {actual} but configured {port}; restart it to apply"))
        }
        None if port == 0 => checks.add("port", Level::Ok, "0: a free port is picked at start".into()),
        None => match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => checks.add("port", Level::Ok, format!("127.0.0.1:{port} is free")),
            Err(err) => checks.add(
                "port",
                Level::Fail,
                format!("127.0.0.1:{port} is taken by another program ({err}); set daemon.port or PAIRED_PORT"),
            ),
        },
    }
}

/// The database: there, and whole.
async fn check_database(checks: &mut Checks, paths: &Paths) {
    let db = paths.database();
    if db.exists() {
        match crate::platform::store::Store::open(&db) {
            Ok(store) => match store.call(|c| c.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0))).await {
                Ok(result) if result == "ok" => checks.add("database", Level::Ok, db.display().to_string()),
                Ok(result) => checks.add("database", Level::Fail, format!("{}: {result}", db.display())),
                Err(err) => checks.add("database", Level::Fail, format!("{err:#}")),
            },
            Err(err) => checks.add("database", Level::Fail, format!("{err:#}")),
        }
    } else {
        checks.add("database", Level::Ok, format!("{} will be created at the first start", db.display()));
    }
}

/// The checks, as JSON or one line each; failure if any failed.
fn report(checks: &[Check], json: bool) -> Result<ExitCode> {
    let failed = checks.iter().any(|c| c.level == Level::Fail);
    if json {
        outln!("{}", serde_json::to_string_pretty(&checks)?)?;
    } else {
        for check in checks {
            let tag = match check.level {
                Level::Ok => "ok  ",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            outln!("{tag} {:<9} {}", check.name, check.detail)?;
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
