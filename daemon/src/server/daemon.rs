//! The daemon's shared state: who is attached, which documents are open, and the
//! event stream. Locks are short and never held across an `.await`.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use protocol::{
    client::{ClientHello, ClientKind, Event},
    daemon::{AgentSummary, StatusReport},
};
use tokio::sync::watch;

use crate::{
    platform::config::Config,
    platform::store::Store,
    services::codebase::Codebase,
    services::documents::{ANONYMOUS, ClientId, Documents},
    services::{
        chat::Chat,
        completion::Completions,
        market::service::Marketplace,
        orchestrator::Orchestrator,
        provider::Providers,
        runs::{Env, Runs},
        scheduler::Lane,
    },
};

pub struct Daemon {
    /// The configuration the daemon started with.
    pub config: Config,
    /// What of it is applied again when the user's config file changes
    /// (`[market]`), and what would need a restart.
    pub live: Arc<crate::platform::config::Live>,
    pub store: Store,
    pub run_id: i64,
    pub port: u16,
    pub started: Instant,
    /// Test-only methods (`debug/*`) are served when `PAIRED_TEST_HOOKS=1`.
    pub test_hooks: bool,
    /// `documents/sync` requests still to refuse (`debug/refuse_document_updates`).
    pub refuse_document_updates: std::sync::atomic::AtomicU32,
    pub events: crate::services::events::Events,
    /// Set to a reason to stop the daemon.
    pub shutdown: watch::Sender<Option<String>>,
    pub connections: AtomicU32,
    next_client: AtomicU64,
    clients: Mutex<HashMap<ClientId, Client>>,
    /// Which client each connection attached as, to own the documents it opens.
    connection_clients: Mutex<HashMap<usize, ClientId>>,
    /// Open documents and indexed workspaces.
    pub codebase: Arc<Codebase>,
    /// Whether the daemon's code was given back since it last went idle.
    code_paged_out: AtomicBool,
    /// The thread that applies document updates (and reads): the smallest
    /// queued first (`platform::serial`), each client's in order by its turn.
    pub documents_thread: crate::platform::serial::Serial,
    /// The thread that decodes large params (an editor's burst), in arrival
    /// order: never the blocking pool, whose lock a request's poll would wait
    /// on while it starts a thread (#18.7, measured).
    pub decode_thread: crate::platform::serial::Serial,
    /// The thread that reads the agents' roster from disk (`agents/list`,
    /// asked with every code action): short jobs, never queued behind a
    /// decode, never waiting on the blocking pool's lock.
    pub roster_thread: crate::platform::serial::Serial,
    /// The thread that opens attaching clients' workspaces (paths resolved
    /// on disk, indexing threads started): off the runtime, and never ahead
    /// of an `agents/list` on the roster's thread.
    pub(crate) attach_thread: crate::platform::serial::Serial,
    /// Inline completions.
    pub completions: Arc<Completions>,
    /// Conversations with the team.
    pub chat: Arc<Chat>,
    pub paths: crate::platform::paths::Paths,
    /// Agent runs: the roster, the scheduler, offline skills and model mode.
    pub runs: Arc<Runs>,
    /// Workflow sessions.
    pub orchestrator: Arc<Orchestrator>,
    /// The agent marketplace.
    pub market: Arc<Marketplace>,
    /// One-time sign-in codes and sessions of the web console.
    pub console: crate::server::console::sessions::Logins,
    /// When the last client detached, for the idle shutdown of auto-started daemons.
    pub idle_since: Mutex<Option<Instant>>,
    /// The PAIRED 1.0 bridge, when one serves (a front the daemon does not own).
    bridge: Mutex<Option<std::sync::Weak<dyn FrontReport>>>,
}

/// What a front serving inside the daemon's process (the 1.0 bridge) reports
/// in `daemon/status`.
pub trait FrontReport: Send + Sync {
    fn bridge_1x(&self) -> protocol::daemon::BridgeReport;
}

struct Client {
    hello: ClientHello,
    connection: Option<usize>,
    session_row: Option<i64>,
}

impl Daemon {
    pub fn new(
        config: Config,
        paths: crate::platform::paths::Paths,
        store: Store,
        run_id: i64,
        port: u16,
        test_hooks: bool,
    ) -> std::io::Result<Arc<Daemon>> {
        let full_parse_max = config.context.full_parse_max_kb as usize * 1024;
        let limits = &config.limits;
        let mut lanes: std::collections::HashMap<Lane, usize> = config
            .providers
            .iter()
            .map(|(name, p)| (Lane::Provider(name.clone()), p.max_concurrent.unwrap_or(limits.per_provider) as usize))
            .collect();
        lanes.insert(Lane::Offline, limits.offline as usize);
        let scheduler = crate::services::scheduler::Scheduler::new(crate::services::scheduler::Limits {
            max_running: limits.max_running as usize,
            interactive_reserved: limits.interactive_reserved as usize,
            per_lane: limits.per_provider as usize,
            lanes,
            max_queued: limits.max_queued as usize,
        });
        let events = crate::services::events::Events::new(1024);
        let codebase = Arc::new(Codebase::new(full_parse_max, config.context.budget_tokens, events.clone()));
        let live = Arc::new(crate::platform::config::Live::new(&config));
        let team = Arc::new(crate::services::team::policy::TeamPolicy::new(paths.clone()));
        let env = Arc::new(Env {
            config: Arc::new(config.clone()),
            live: live.clone(),
            paths: paths.clone(),
            events: events.clone(),
            codebase: codebase.clone(),
            providers: Providers::default(),
            team: team.clone(),
            quotas: Arc::new(crate::services::team::quota::Quotas::new(paths.clone())),
        });
        let runs = Arc::new(Runs::new(env, store.clone(), scheduler));
        let orchestrator = Orchestrator::new(runs.clone(), store.clone());
        let completions =
            Arc::new(Completions::new(config.clone(), codebase.clone(), team.clone(), Some(store.clone())));
        let chat = Arc::new(Chat::new(runs.clone(), store.clone()));
        let market = Arc::new(Marketplace {
            paths: paths.clone(),
            live: live.clone(),
            events: events.clone(),
            codebase: codebase.clone(),
            db: store.clone(),
            team: team.clone(),
        });
        let documents_thread = crate::platform::serial::Serial::start("paired-documents")?;
        let decode_thread = crate::platform::serial::Serial::start("paired-decode")?;
        let roster_thread = crate::platform::serial::Serial::start("paired-roster")?;
        let attach_thread = crate::platform::serial::Serial::start("paired-attach")?;
        Ok(Arc::new(Daemon {
            live,
            config,
            store,
            run_id,
            port,
            started: Instant::now(),
            test_hooks,
            refuse_document_updates: std::sync::atomic::AtomicU32::new(0),
            events,
            shutdown: watch::channel(None).0,
            connections: AtomicU32::new(0),
            next_client: AtomicU64::new(1),
            clients: Mutex::default(),
            connection_clients: Mutex::default(),
            documents_thread,
            decode_thread,
            roster_thread,
            attach_thread,
            code_paged_out: AtomicBool::new(false),
            codebase,
            completions,
            chat,
            paths,
            runs,
            orchestrator,
            market,
            idle_since: Mutex::new(Some(Instant::now())),
            bridge: Mutex::new(None),
            console: Default::default(),
        }))
    }

    /// Broadcasts an event to attached clients; none listening is fine.
    pub fn send_event(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub fn documents(&self) -> MutexGuard<'_, Documents<context::SyntaxDocument>> {
        self.codebase.documents()
    }

    fn clients(&self) -> MutexGuard<'_, HashMap<ClientId, Client>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn request_shutdown(&self, reason: &str) {
        self.shutdown.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason.to_owned());
                true
            } else {
                false
            }
        });
    }

    pub async fn attach(&self, hello: ClientHello, connection: Option<usize>) -> ClientId {
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        // Off the runtime: paths are resolved on disk, and a new workspace
        // starts its indexing thread (fifty editors attaching at once held
        // both workers for up to 245 ms: #18.7, measured).
        // On a thread of its own, not the blocking pool (whose lock a poll
        // waits on while it starts a thread). The trade-off: a folder on a
        // hung network mount holds later attaches too, where the pool held
        // only its own.
        let (codebase, events, folders) = (self.codebase.clone(), self.events.clone(), hello.workspace_folders.clone());
        let added = self.attach_thread.run(move || add_workspaces(&codebase, &events, &folders, id)).await;
        if added.is_err() {
            tracing::error!("adding a client's workspaces failed (see above)");
        }
        let session_row =
            match self.store.client_attached(self.run_id, kind_name(hello.kind), &hello.name, hello.pid).await {
                Ok(row) => Some(row),
                Err(err) => {
                    tracing::warn!("could not record client session: {err:#}");
                    None
                }
            };
        let event = Event::ClientAttached { client_id: id, kind: hello.kind, name: hello.name.clone() };
        tracing::info!(client_id = id, kind = kind_name(hello.kind), name = %hello.name, pid = ?hello.pid, "client attached");
        self.clients().insert(id, Client { hello, connection, session_row });
        if let Some(conn) = connection {
            self.connection_clients.lock().unwrap_or_else(|p| p.into_inner()).insert(conn, id);
        }
        *self.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let _ = self.events.send(event);
        id
    }

    pub async fn detach(&self, id: ClientId) {
        let Some(client) = self.clients().remove(&id) else {
            return;
        };
        if let Some(conn) = client.connection {
            self.connection_clients.lock().unwrap_or_else(|p| p.into_inner()).remove(&conn);
        }
        let closed = self.codebase.release_client(id, &self.documents_thread).await;
        self.codebase.workspaces.release(id);
        self.completions.release_client(id);
        tracing::info!(
            client_id = id,
            kind = kind_name(client.hello.kind),
            documents_closed = closed.len(),
            "client detached"
        );
        if self.clients().is_empty() {
            *self.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            // The last editor's documents are gone: their memory goes back too.
            drop(tokio::task::spawn_blocking(crate::platform::os::release_free_memory));
        }
        for uri in closed {
            let _ = self.events.send(Event::DocumentClosed { uri });
        }
        let _ = self.events.send(Event::ClientDetached { client_id: id, kind: client.hello.kind });
        if let Some(row) = client.session_row
            && let Err(err) = self.store.client_detached(row).await
        {
            tracing::warn!("could not record client detach: {err:#}");
        }
    }

    /// Puts to sleep the workspaces no client has held for a while
    /// (`[context] idle_workspace_secs`, `keep_idle_workspaces`), and gives
    /// the memory they held back to the OS.
    pub fn sweep_workspaces(&self) {
        let policy = crate::services::workspace::IdlePolicy {
            after: Duration::from_secs(self.config.context.idle_workspace_secs),
            keep: self.config.context.keep_idle_workspaces as usize,
        };
        let slept = self.codebase.workspaces.sweep(Instant::now(), policy);
        if !slept.is_empty() {
            crate::platform::os::release_free_memory();
        }
        // Every project asleep and no editor for as long as a workspace is
        // let idle (`idle_workspace_secs`): the code and tables that parsing
        // paged in go back too (they come back on next use), once each time
        // the daemon goes idle — not in a brief gap, nor just before the
        // editor that started the daemon attaches.
        let idle_for = self.idle_since.lock().unwrap_or_else(|p| p.into_inner()).map(|t| t.elapsed());
        let idle = self.clients().is_empty()
            && idle_for.is_some_and(|t| t >= policy.after)
            && self.codebase.workspaces.all().iter().all(|w| !w.is_awake());
        if !idle {
            self.code_paged_out.store(false, Ordering::Relaxed);
        } else if !self.code_paged_out.swap(true, Ordering::Relaxed) {
            let before = crate::platform::os::resident_file_kib();
            if crate::platform::os::page_out_own_code() {
                let after = crate::platform::os::resident_file_kib();
                tracing::info!(
                    before_kib = before,
                    after_kib = after,
                    "idle: the daemon's code pages given back to the OS"
                );
            }
        }
    }

    /// The client a connection attached as.
    /// Whether to refuse this `documents/sync` (a test hook's count, taken one by one).
    pub fn refuse_document_update(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.refuse_document_updates.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok()
    }

    pub fn client_of(&self, connection: Option<usize>) -> ClientId {
        connection
            .and_then(|c| self.connection_clients.lock().unwrap_or_else(|p| p.into_inner()).get(&c).copied())
            .unwrap_or(ANONYMOUS)
    }

    pub fn status(&self) -> StatusReport {
        let (clients, workspaces) = {
            let clients = self.clients();
            let mut by_kind = BTreeMap::new();
            let mut workspaces = BTreeSet::new();
            for client in clients.values() {
                *by_kind.entry(client.hello.kind).or_insert(0) += 1;
                workspaces.extend(client.hello.workspace_folders.iter().cloned());
            }
            (by_kind, workspaces.into_iter().collect())
        };
        StatusReport {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol_version: protocol::PROTOCOL_VERSION,
            pid: std::process::id(),
            port: self.port,
            uptime_ms: self.started.elapsed().as_millis() as u64,
            clients,
            connections: self.connections.load(Ordering::Relaxed),
            open_documents: self.codebase.open_count(),
            workspaces,
            agents: agents::BUILTIN_AGENTS
                .iter()
                .map(|a| AgentSummary { id: a.id.to_owned(), name: a.display_name(), role: a.role.to_owned() })
                .collect(),
            restart_needed: self.live.restart_needed(),
            runtime: crate::platform::stalls::report(10),
        }
    }

    /// Records the 1.0 bridge serving for this daemon.
    pub fn set_bridge(&self, bridge: std::sync::Weak<dyn FrontReport>) {
        *self.bridge.lock().unwrap_or_else(|p| p.into_inner()) = Some(bridge);
    }

    /// The 1.0 bridge's report, if one serves.
    pub fn bridge_report(&self) -> Option<protocol::daemon::BridgeReport> {
        let bridge = self.bridge.lock().unwrap_or_else(|p| p.into_inner()).as_ref()?.upgrade()?;
        Some(bridge.bridge_1x())
    }

    pub fn attached_clients(&self) -> usize {
        self.clients().len()
    }
}

/// Indexes (or joins) each of a client's workspace folders, held by `client`.
fn add_workspaces(codebase: &Codebase, events: &crate::services::events::Events, folders: &[String], client: ClientId) {
    for folder in folders {
        // Canonical, so one folder spelled two ways (or through a link) is one index.
        match crate::platform::uri::to_path(folder).and_then(|p| p.canonicalize().ok()).filter(|p| p.is_dir()) {
            Some(root) if let Some(why) = crate::services::workspace::unfit_root(&root) => tracing::warn!("{why}"),
            Some(root) => {
                let workspace = codebase.workspaces.add(root, events);
                codebase.workspaces.hold(&workspace.root, client);
                // A client arriving later still learns of a degraded index.
                if let Some(message) = workspace.warning() {
                    let root = workspace.root.display().to_string();
                    let _ = events.send(Event::IndexWarning { root, message });
                }
            }
            None => tracing::warn!(%folder, "not indexing a workspace folder that is not a local directory"),
        }
    }
}

pub fn kind_name(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Lsp => "lsp",
        ClientKind::Cli => "cli",
        ClientKind::Acp => "acp",
        ClientKind::Bridge => "bridge",
        ClientKind::Other => "other",
    }
}
