//! `paired daemon`: start-up, the serving loop and a clean shutdown.

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use protocol::client::Event;

use crate::{
    fronts::cli::common::outln,
    platform::config::Loaded,
    platform::instance::{self, Acquired, Discovery},
    platform::logging::{self, Logging},
    platform::os,
    platform::paths::Paths,
    platform::store::Store,
    server::client,
    server::daemon::Daemon,
    server::transport,
};

#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    /// Start in the background and return once it answers.
    pub detach: bool,
    /// We are the background process started by `--detach` or `paired lsp`.
    pub detached_child: bool,
    /// Started on demand by `paired lsp`: stop when idle.
    pub autostarted: bool,
    /// Options `--detach` passes on to the background process.
    pub forwarded: Vec<String>,
}

pub fn run(paths: &Paths, loaded: Loaded, options: DaemonOptions) -> Result<ExitCode> {
    paths.create_all()?;
    if options.detach {
        return detach(paths, &options.forwarded);
    }
    let (lock, stale) = match instance::acquire(paths)? {
        Acquired::Lock { lock, stale } => (lock, stale),
        Acquired::AlreadyRunning(discovery) => {
            say_already_running(discovery.as_ref())?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let config = loaded.config;
    logging::init(Logging {
        filter: &config.log.filter,
        stderr: !options.detached_child,
        file: Some((&paths.log_file(), config.log.file_max_bytes)),
    })?;
    install_panic_hook();
    // An editor's daemon (`--autostarted`) does not refuse unknown `PAIRED_*`
    // variables; it says so once, here.
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    // What installs of a previous daemon did not finish left behind: we hold
    // the lock, so no install is running.
    crate::services::market::store::Store::new(&paths.data_dir).clean_interrupted();
    // The `paired` binary running this daemon parses for its indexer too.
    crate::services::workspace::helpers::use_helper_processes();
    match crate::platform::os::raise_descriptor_limit() {
        Ok(limit) => tracing::debug!(limit, "open descriptor limit"),
        Err(err) => tracing::warn!("cannot raise the open descriptor limit: {err}"),
    }
    if let Some(stale) = stale {
        tracing::warn!(previous_pid = stale.pid, "the previous daemon did not stop cleanly; taking over");
    }
    for source in &loaded.sources {
        tracing::debug!(%source, "configuration layer");
    }
    if !config.server.require_token {
        tracing::warn!("server.require_token = false: any local process can call the daemon without a token");
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    // Two workers: the async work is IO and short steps (#18.7); tokio's own
    // `TOKIO_WORKER_THREADS`, when set, decides instead (for measuring).
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        runtime.worker_threads(2);
    }
    let runtime = runtime.thread_name("paired-worker").enable_all().build()?;
    let detached = options.detached_child;
    let result = runtime.block_on(serve(paths, config, options));
    // A detached daemon's stderr goes nowhere: why it stopped goes to its
    // log, where the command that started it reads it.
    if let Err(err) = &result
        && detached
    {
        tracing::error!("{err:#}");
    }
    drop(lock);
    result
}

async fn serve(paths: &Paths, config: crate::platform::config::Config, options: DaemonOptions) -> Result<ExitCode> {
    let token = instance::load_or_create_token(&paths.token_file())?;
    logging::redact(&token);
    let store = Store::open(&paths.database())?;
    let listener = transport::bind(config.daemon.port)?;
    let port = listener.local_addr()?.port();
    let run_id = store.begin_run(std::process::id(), env!("CARGO_PKG_VERSION"), port).await?;
    crate::server::console::sessions::Logins::sweep(&paths.runtime_dir);
    let test_hooks = std::env::var("PAIRED_TEST_HOOKS").is_ok_and(|v| v == "1");
    let idle_limit = (options.autostarted && config.daemon.autostart_idle_secs > 0)
        .then(|| Duration::from_secs(config.daemon.autostart_idle_secs));
    let daemon = Daemon::new(config, paths.clone(), store.clone(), run_id, port, test_hooks)
        .context("could not start the daemon's documents thread")?;
    let socket_path = paths.socket_file();
    let socket = transport::bind_socket(&socket_path);
    let socket_path = socket.is_some().then_some(socket_path);
    let handle = transport::serve(listener, socket, daemon.clone(), token)?;
    let _config_watch = watch_config(&daemon, paths.config_file());
    // Usage to the team hub, once this machine has joined one (`paired team join`).
    let usage_push = Duration::from_secs(u64::from(daemon.config.team.usage_push_secs));
    let policy_refresh = Duration::from_secs(u64::from(daemon.config.team.policy_refresh_secs));
    tokio::spawn(crate::services::team::usage::push_loop(paths.clone(), store.clone(), usage_push, policy_refresh));

    let discovery = Discovery {
        pid: std::process::id(),
        port,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol_version: protocol::PROTOCOL_VERSION,
        token_file: paths.token_file(),
        log_file: paths.log_file(),
        socket: socket_path.clone(),
        started_at_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
    };
    discovery.write(&paths.discovery_file())?;
    tracing::info!(port, pid = discovery.pid, test_hooks, "PAIRED daemon listening on 127.0.0.1:{port}");
    if daemon.config.compat.bridge_1x {
        let bridge_port = match std::env::var("BRIDGE_PORT") {
            Ok(value) => value.trim().parse::<u16>().ok(),
            Err(_) => Some(crate::fronts::bridge::DEFAULT_PORT),
        };
        match bridge_port {
            // The daemon serves its own clients either way: a busy 1.0 port is a warning.
            Some(port) => match crate::fronts::bridge::start(daemon.clone(), port).await {
                Ok(port) => tracing::info!(port, "PAIRED 1.0 bridge listening on 127.0.0.1:{port} (compat.bridge_1x)"),
                Err(err) => tracing::warn!("{err:#}"),
            },
            None => tracing::warn!("BRIDGE_PORT is not a port number; the PAIRED 1.0 bridge is not served"),
        }
    }

    let reason = wait_for_stop(&daemon, idle_limit, options.detached_child, &paths.discovery_file()).await?;
    tracing::info!(%reason, "shutting down");
    let _ = daemon.events.send(Event::ShuttingDown { reason: reason.clone() });
    // Clients stop finding us first: a port or socket that is about to be free
    // must not be advertised while someone else could take it.
    Discovery::remove_if_ours(&paths.discovery_file());
    // Let replies in flight (such as daemon/shutdown's own) and the event reach clients.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = handle.stop();
    if tokio::time::timeout(Duration::from_secs(3), handle.stopped()).await.is_err() {
        tracing::warn!("connections did not close within 3s; stopping anyway");
    }
    if let Some(path) = &socket_path {
        let _ = std::fs::remove_file(path);
    }
    store.end_run(run_id).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// How often an idle auto-started daemon checks that clients can still find it.
const FINDABLE_CHECK_SECS: u64 = 10;
/// How long it must have been idle first.
const FINDABLE_IDLE: Duration = Duration::from_secs(20);

/// Whether the discovery file at `path` is gone or names another daemon
/// (a file there that cannot be read is neither).
fn unfindable(path: &std::path::Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Err(err) => err.kind() == std::io::ErrorKind::NotFound,
        Ok(_) => Discovery::read(path).is_some_and(|found| found.pid != std::process::id()),
    }
}

async fn wait_for_stop(
    daemon: &Arc<Daemon>,
    idle_limit: Option<Duration>,
    detached: bool,
    discovery_file: &std::path::Path,
) -> Result<String> {
    let mut signals = os::StopSignals::new()?;
    let mut requested = daemon.shutdown.subscribe();
    let mut idle_check = tokio::time::interval(Duration::from_secs(1));
    let (mut ticks, mut unfindable_checks) = (0u64, 0u32);
    loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                os::StopSignal::Interrupt => return Ok("interrupted (SIGINT)".to_owned()),
                os::StopSignal::Terminate => return Ok("terminated (SIGTERM)".to_owned()),
                // A detached daemon outlives the terminal that started it.
                os::StopSignal::Hangup if !detached => return Ok("terminal closed (SIGHUP)".to_owned()),
                os::StopSignal::Hangup => {}
            },
            changed = requested.changed() => {
                changed.context("shutdown channel closed")?;
                if let Some(reason) = requested.borrow().clone() {
                    return Ok(reason);
                }
            }
            _ = idle_check.tick() => {
                // Dropping indexes and trimming take time: not on a runtime worker.
                let sweeping = daemon.clone();
                drop(tokio::task::spawn_blocking(move || sweeping.sweep_workspaces()));
                let idle_for = daemon.idle_since.lock().unwrap_or_else(|p| p.into_inner()).map(|t| t.elapsed());
                if let (Some(limit), Some(idle_for)) = (idle_limit, idle_for)
                    && idle_for >= limit
                    && daemon.attached_clients() == 0
                {
                    return Ok(format!("idle for {}s with no editor attached (daemon.autostart_idle_secs)", limit.as_secs()));
                }
                // An auto-started daemon whose discovery file is gone (the
                // runtime folder removed at logout, a test's HOME deleted) or
                // names another daemon: no new client finds it, so once idle
                // (no client, no run, no 1.0 bridge, whose clients find it by
                // its fixed port) it ends rather than linger until its idle
                // limit. Seen twice in a row; a file that cannot be read is
                // not taken for gone.
                ticks += 1;
                let idle = idle_for.is_some_and(|t| t >= FINDABLE_IDLE)
                    && daemon.attached_clients() == 0
                    && !daemon.runs.busy()
                    && !daemon.config.compat.bridge_1x;
                if idle_limit.is_none() || !idle {
                    unfindable_checks = 0;
                } else if ticks.is_multiple_of(FINDABLE_CHECK_SECS) {
                    let file = discovery_file.to_path_buf();
                    let gone = tokio::task::spawn_blocking(move || unfindable(&file)).await.unwrap_or(false);
                    unfindable_checks = if gone { unfindable_checks + 1 } else { 0 };
                    if unfindable_checks >= 2 {
                        return Ok(format!("no client can find it any more ({} is gone or names another daemon)", discovery_file.display()));
                    }
                }
            }
        }
    }
}

/// Applies the user's config file again when it changes: `[market]` at once
/// (`config::Live`), validated first — a file that does not load keeps the
/// configuration in force, and the log says why; other changes are logged as
/// needing a restart. The watcher lives as long as what it returns.
fn watch_config(daemon: &Arc<Daemon>, file: std::path::PathBuf) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let (dir, name) = (file.parent()?.to_path_buf(), file.file_name()?.to_owned());
    let (changed, mut changes) = tokio::sync::mpsc::unbounded_channel();
    // The folder is watched, not the file: editors save by renaming a new file over it.
    let on_event = move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
            && event.paths.iter().any(|p| p.file_name() == Some(name.as_os_str()))
        {
            let _ = changed.send(());
        }
    };
    let watcher = notify::RecommendedWatcher::new(on_event, crate::services::workspace::changes_only());
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(err) => {
            tracing::warn!("cannot watch {}: config changes apply after a restart ({err})", file.display());
            return None;
        }
    };
    if let Err(err) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
        tracing::warn!("cannot watch {}: config changes apply after a restart ({err})", dir.display());
        return None;
    }
    let daemon = daemon.clone();
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            // A save can be several events: wait until they settle.
            loop {
                match tokio::time::timeout(Duration::from_millis(200), changes.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            // As `paired daemon` reads it: the user's file and the environment.
            let loaded = crate::platform::config::Environment::from_process()
                .and_then(|env| crate::platform::config::load(&file, None, &|key| env.get(key)))
                .map(|loaded| loaded.config);
            match daemon.live.apply(&daemon.config, loaded) {
                crate::platform::config::Reload::Invalid(why) => tracing::warn!(
                    "{} changed but does not load, so the configuration in force is kept: {why}",
                    file.display()
                ),
                crate::platform::config::Reload::Applied { market_changed, restart_needed } => {
                    if market_changed {
                        tracing::info!("applied the changed [market] configuration from {}", file.display());
                    }
                    if !restart_needed.is_empty() {
                        tracing::warn!(
                            "{} changed [{}]: restart needed — those apply when the daemon starts again (`paired stop`; editors start it on demand)",
                            file.display(),
                            restart_needed.join("], [")
                        );
                    }
                }
            }
        }
    });
    Some(watcher)
}

fn say_already_running(discovery: Option<&Discovery>) -> Result<()> {
    match discovery {
        Some(d) => outln!(
            "paired: a daemon is already running (pid {}, port {}, version {}); nothing to do",
            d.pid,
            d.port,
            d.version
        ),
        None => outln!("paired: a daemon is already running (still starting up); nothing to do"),
    }
}

/// `--detach`: start the daemon in the background and wait until it answers.
fn detach(paths: &Paths, forwarded: &[String]) -> Result<ExitCode> {
    if let Some(running) = instance::live_discovery(paths) {
        say_already_running(Some(&running))?;
        return Ok(ExitCode::SUCCESS);
    }
    let args: Vec<&str> = forwarded.iter().map(String::as_str).collect();
    let spawned = client::spawn_daemon(paths, &args)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = Instant::now();
    let connected = runtime.block_on(client::wait_for_daemon(paths, &spawned, Duration::from_secs(10)))?.discovery;
    outln!(
        "paired: daemon started in the background (pid {}, port {}) in {} ms; stop it with `paired stop`",
        connected.pid,
        connected.port,
        started.elapsed().as_millis()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Panics are bugs: log them through tracing (the daemon log), not only stderr,
/// which a detached daemon does not have.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(%info, "panic");
        default(info);
    }));
}
