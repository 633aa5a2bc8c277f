//! The JSON-RPC methods: protocol types in, protocol types out, state in [`Daemon`].
//!
//! Every method of [`protocol::for_each_method!`] is registered here; a test checks
//! that none is missing, so the OpenRPC document and the router agree.

use std::{future::Future, sync::Arc};

use crate::services::events::{Interest, RecvError};
use jsonrpsee::{
    ConnectionId, Extensions, RpcModule,
    server::SubscriptionMessage,
    types::{ErrorObjectOwned, Params},
};
use protocol::{
    Method, NoParams, Subscription, agents, chat,
    client::{Attach, ClientHello, Event},
    completion, console, context, daemon, documents, errors, market, workflows,
};
use serde::de::DeserializeOwned;

use crate::{
    server::daemon::Daemon,
    services::{
        codebase,
        documents::DocumentError,
        orchestrator::{self, WorkflowError},
    },
};

pub fn module(daemon: Arc<Daemon>) -> RpcModule<Daemon> {
    let mut module = RpcModule::from_arc(daemon);

    method::<daemon::Status, _, _>(&mut module, |d, NoParams {}, _| async move {
        Ok(daemon::StatusWithBridge { daemon: d.status(), bridge_1x: d.bridge_report() })
    });
    method::<daemon::Shutdown, _, _>(&mut module, |d, NoParams {}, _| async move {
        d.request_shutdown("requested over JSON-RPC (daemon/shutdown)");
        Ok(daemon::ShutdownReply { pid: std::process::id() })
    });

    documents_methods(&mut module);
    context_methods(&mut module);
    completion_methods(&mut module);
    chat_methods(&mut module);
    agents_methods(&mut module);
    workflows_methods(&mut module);
    market_methods(&mut module);
    method::<console::Login, _, _>(&mut module, |d, NoParams {}, _| async move {
        let url = format!("http://127.0.0.1:{}{}", d.port, d.console.base());
        let (code, file) = d.console.issue(&url, &d.paths.runtime_dir);
        let expires_in_secs = crate::server::console::CODE_LIFETIME.as_secs() as u32;
        Ok(console::ConsoleLogin { url, code, expires_in_secs, redirect_file: file.map(|f| f.display().to_string()) })
    });
    attach_subscription(&mut module);
    let discover = protocol::openrpc::document(env!("CARGO_PKG_VERSION"));
    register(module.register_method("rpc.discover", move |_, _, _| discover.clone()), "rpc.discover");

    module
}

/// `documents/*`: the editors' buffers. A client's updates wait their turn
/// without holding a runtime worker (other editors' requests are served
/// meanwhile: #18.7) and are applied on the documents thread, holding the
/// turn until applied; its reads take their turn too. The events an update
/// causes are sent there, in the order the updates were applied. A client that waits for each
/// reply before its next update (as `paired lsp` does) has them applied in
/// order and each read sees them all: requests sent without waiting are
/// separate tasks (jsonrpsee), in no promised order.
fn documents_methods(module: &mut RpcModule<Daemon>) {
    method::<documents::Open, _, _>(module, |d, params, conn| async move {
        let client = d.client_of(conn);
        let uri = params.uri.clone();
        let turn = d.codebase.turn(client).await;
        let size = params.text.len();
        in_turn(&d, turn, size, move |d| {
            let reply = d.documents().open(client, params);
            let _ = d.events.send(Event::DocumentOpened { uri });
            Ok::<_, ErrorObjectOwned>(reply)
        })
        .await
    });
    method::<documents::Change, _, _>(module, |d, params, conn| async move {
        let client = d.client_of(conn);
        let turn = d.codebase.turn(client).await;
        let size = change_size(&params);
        in_turn(&d, turn, size, move |d| d.documents().change(client, params).map_err(document_error)).await
    });
    method::<documents::Close, _, _>(module, |d, params, conn| async move {
        let client = d.client_of(conn);
        let uri = params.uri.clone();
        let turn = d.codebase.turn(client).await;
        in_turn(&d, turn, 0, move |d| {
            let reply = d.documents().close(client, &params.uri).map_err(document_error)?;
            if !reply.still_open {
                let _ = d.events.send(Event::DocumentClosed { uri });
            }
            Ok::<_, ErrorObjectOwned>(reply)
        })
        .await
    });
    // An editor's burst in one request, applied under one lock; events after.
    method::<documents::Sync, _, _>(module, |d, params, conn| async move {
        if d.refuse_document_update() {
            return Err(ErrorObjectOwned::owned(
                errors::INTERNAL,
                "refused (debug/refuse_document_updates)",
                None::<()>,
            ));
        }
        let client = d.client_of(conn);
        let size = sync_size(&params);
        let turn = d.codebase.turn(client).await;
        in_turn(&d, turn, size, move |d| {
            let (reply, events) = apply_sync(d, client, params);
            for event in events {
                let _ = d.events.send(event);
            }
            Ok::<_, ErrorObjectOwned>(reply)
        })
        .await
    });
    method::<documents::Get, _, _>(module, |d, params, conn| async move {
        let turn = d.codebase.turn(d.client_of(conn)).await;
        in_turn(&d, turn, 0, move |d| {
            d.documents().get(&params.uri).ok_or_else(|| document_error(DocumentError::NotOpen { uri: params.uri }))
        })
        .await
    });
    method::<documents::List, _, _>(module, |d, NoParams {}, conn| async move {
        let turn = d.codebase.turn(d.client_of(conn)).await;
        in_turn(&d, turn, 0, |d| Ok::<_, ErrorObjectOwned>(d.documents().list())).await
    });
}

/// Runs a documents update or read on the documents thread, in the client's
/// `turn`: in arrival order, except that an update of `size` bytes goes ahead
/// of larger ones queued by other clients ([`crate::platform::serial`]): a
/// keystroke does not wait for fifty editors' bursts (#18.7). A client's own
/// updates stay in order: its turn lets the next one in when one is done.
/// The turn is released when the work is done, not when the request's future
/// is: a connection that closes mid-update drops the future, and the client's
/// release (which takes the turn) must come after the update, not before it.
async fn in_turn<T: Send + 'static, E: Into<ErrorObjectOwned> + Send + 'static>(
    d: &Arc<Daemon>,
    turn: tokio::sync::OwnedMutexGuard<()>,
    size: usize,
    update: impl FnOnce(&Daemon) -> Result<T, E> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    let daemon = d.clone();
    let done = d
        .documents_thread
        .run_sized(size, move || {
            let done = update(&daemon).map_err(Into::into);
            drop(turn);
            done
        })
        .await;
    done.unwrap_or_else(|_| {
        tracing::error!("a documents request's work panicked");
        Err(ErrorObjectOwned::owned(protocol::errors::INTERNAL, "internal error (see the daemon's log)", None::<()>))
    })
}

/// About how much work a change is: the text it puts in, and for each ranged
/// edit a share of the scan and move of the document it costs.
fn change_size(change: &documents::ChangeParams) -> usize {
    change.changes.iter().map(|c| c.text.len() + if c.range.is_some() { RANGED_EDIT } else { 0 }).sum()
}

/// What a ranged edit counts for beside its text (a keystroke: 1 KiB).
const RANGED_EDIT: usize = 1024;

/// About how much work a `documents/sync` is: the text its operations put in.
fn sync_size(sync: &documents::SyncParams) -> usize {
    let op = |op: &documents::DocumentOp| match op {
        documents::DocumentOp::Open(open) => open.text.len(),
        documents::DocumentOp::Change(change) => change_size(change),
        documents::DocumentOp::Close(_) => 0,
    };
    sync.ops.iter().map(op).sum()
}

/// `documents/sync`'s operations, in order: the reply and the events to send.
fn apply_sync(d: &Daemon, client: u64, params: documents::SyncParams) -> (documents::SyncReply, Vec<Event>) {
    let mut reply = documents::SyncReply { applied: 0, refused: Vec::new() };
    let mut events = Vec::new();
    let mut docs = d.documents();
    for (index, op) in params.ops.into_iter().enumerate() {
        let applied = match op {
            documents::DocumentOp::Open(params) => {
                events.push(Event::DocumentOpened { uri: params.uri.clone() });
                docs.open(client, params);
                Ok(())
            }
            documents::DocumentOp::Change(params) => docs.change(client, params).map(drop),
            documents::DocumentOp::Close(params) => docs.close(client, &params.uri).map(|reply| {
                if !reply.still_open {
                    events.push(Event::DocumentClosed { uri: params.uri });
                }
            }),
        };
        match applied {
            Ok(()) => reply.applied += 1,
            Err(err) => reply.refused.push(documents::RefusedOp {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                message: err.to_string(),
            }),
        }
    }
    (reply, events)
}

/// `context/*` and `workspaces/*`: the codebase service.
fn context_methods(module: &mut RpcModule<Daemon>) {
    // Parsing, file reads and bundle assembly: on the blocking pool, never on
    // the runtime's workers that serve every editor's requests (#18).
    method::<context::Outline, _, _>(module, |d, params, _| {
        off_the_runtime(move || codebase::outline(&d.codebase, params))
    });
    method::<context::Symbols, _, _>(module, |d, params, _| {
        off_the_runtime(move || Ok::<_, codebase::Error>(codebase::symbols(&d.codebase, params)))
    });
    method::<context::Build, _, _>(module, |d, params, _| {
        off_the_runtime(move || codebase::build(&d.codebase, params))
    });
    method::<context::AddWorkspace, _, _>(module, |d, params, _| async move {
        Ok(codebase::add_workspace(&d.codebase, params).await?)
    });
    method::<context::ListWorkspaces, _, _>(module, |d, NoParams {}, _| async move {
        Ok(codebase::list_workspaces(&d.codebase))
    });
}

/// `completion/*`: inline completions.
fn completion_methods(module: &mut RpcModule<Daemon>) {
    method::<completion::Inline, _, _>(module, |d, params, conn| async move {
        let client = d.client_of(conn);
        Ok(d.completions.complete(client, params).await?)
    });
    method::<completion::Cancel, _, _>(module, |d, params, conn| async move {
        Ok(d.completions.cancel(d.client_of(conn), &params.key))
    });
}

/// `chat/*`: conversations with the team.
fn chat_methods(module: &mut RpcModule<Daemon>) {
    method::<chat::Send, _, _>(module, |d, params, conn| async move {
        let owner = format!("client-{}", d.client_of(conn));
        Ok(d.chat.send(params, owner).await?)
    });
    method::<chat::List, _, _>(module, |d, params, _| async move { Ok(d.chat.list(params).await?) });
    method::<chat::Get, _, _>(module, |d, params, _| async move { Ok(d.chat.get(&params.conversation).await?) });
}

/// `agents/*` and `runs/*`: the runs service.
fn agents_methods(module: &mut RpcModule<Daemon>) {
    // Each about one project: its agents, never another open project's.
    // The roster is read from the agent folders on disk: off the runtime, on
    // the roster's thread (an editor asks for it with every code action).
    // A roster read stuck on the disk (an agent folder on a hung network file
    // system) must not hold every editor's list: after a second the request
    // goes to the blocking pool instead, and the thread's queue drains behind.
    method::<agents::List, _, _>(module, |d, params, _| async move {
        let list = |d: Arc<Daemon>, project: Option<String>| {
            move || Ok::<_, ErrorObjectOwned>(d.runs.list(d.runs.env().project_of(None, project.as_deref()).as_deref()))
        };
        let on_roster = on_thread(&d.roster_thread, list(d.clone(), params.project.clone()));
        match tokio::time::timeout(ROSTER_WAIT, on_roster).await {
            Ok(listed) => listed,
            Err(_) => {
                tracing::warn!("the roster's thread is slow (a stuck agent folder?): agents/list on the blocking pool");
                off_the_runtime(list(d, params.project)).await
            }
        }
    });
    method::<agents::Problems, _, _>(module, |d, params, _| {
        off_the_runtime(move || {
            Ok::<_, ErrorObjectOwned>(
                d.runs.problems(d.runs.env().project_of(None, params.project.as_deref()).as_deref()),
            )
        })
    });
    method::<agents::Describe, _, _>(module, |d, params, _| {
        off_the_runtime(move || {
            let project = d.runs.env().project_of(None, params.project.as_deref());
            d.runs.describe(&params.agent, project.as_deref())
        })
    });
    method::<agents::Run, _, _>(module, |d, params, conn| async move {
        // Each client queues on its own: one editor's burst does not delay another's request.
        let owner = format!("client-{}", d.client_of(conn));
        Ok(d.runs.run_for(params, owner).await?)
    });
    method::<agents::Feedback, _, _>(module, |d, params, _| async move {
        let verdicts = feedback_verdicts(params)?;
        let count = verdicts.len() as u32;
        let now = jiff::Timestamp::now().as_millisecond();
        let known = d
            .store
            .call(move |conn| crate::services::analytics::feedback(conn, &verdicts, now))
            .await
            .map_err(|err| ErrorObjectOwned::owned(errors::INTERNAL, format!("{err:#}"), None::<()>))?;
        if !known {
            let message = "no run or workflow session of this machine has that id";
            return Err(ErrorObjectOwned::owned(errors::NOT_FOUND, message, None::<()>));
        }
        Ok(agents::FeedbackReply { recorded: count })
    });
    method::<agents::GetRun, _, _>(module, |d, params, _| async move {
        Ok(if params.wait { d.runs.wait(&params.run_id).await? } else { d.runs.get(&params.run_id).await? })
    });
    method::<agents::CancelRun, _, _>(module, |d, params, _| async move {
        // A session id cancels the workflow's whole tree; the reply is its last step's run, or a summary run.
        if params.run_id.starts_with("session-") {
            let session = orchestrator::cancel(&d.orchestrator, &params.run_id)
                .await?
                .ok_or_else(|| WorkflowError::NotFound(format!("no session {:?}", params.run_id)))?;
            return Ok(orchestrator::as_run(&session));
        }
        Ok(d.runs.cancel(&params.run_id).await?)
    });
    method::<agents::ListRuns, _, _>(module, |d, params, _| async move {
        Ok(d.runs.list_runs(params.limit.unwrap_or(50)).await?)
    });
    method::<agents::Generate, _, _>(module, |d, params, _| async move {
        Ok(crate::services::market::generate::generate(d.runs.env(), params).await?)
    });
}

/// `workflows/*` and `sessions/*`: the orchestrator.
fn workflows_methods(module: &mut RpcModule<Daemon>) {
    method::<workflows::List, _, _>(module, |d, params, _| async move {
        Ok(orchestrator::list(d.runs.env().project_of(None, params.project.as_deref()).as_deref()))
    });
    method::<workflows::Run, _, _>(module, |d, params, _| async move {
        Ok(orchestrator::run(d.orchestrator.clone(), params).await?)
    });
    method::<workflows::ListSessions, _, _>(module, |d, params, _| async move {
        Ok(orchestrator::list_sessions(&d.orchestrator, params.limit.unwrap_or(50)).await?)
    });
    method::<workflows::GetSession, _, _>(module, |d, params, _| async move {
        let orchestrator = &d.orchestrator;
        Ok(if params.wait {
            orchestrator::wait(orchestrator, &params.session_id).await?
        } else {
            orchestrator::get(orchestrator, &params.session_id).await?
        })
    });
    method::<workflows::ResumeSession, _, _>(module, |d, params, _| async move {
        Ok(orchestrator::resume(d.orchestrator.clone(), &params.session_id, params.wait).await?)
    });
    method::<workflows::Decide, _, _>(module, |d, params, _| async move {
        Ok(orchestrator::decide(&d.orchestrator, params).await?)
    });
}

/// `market/*`: the marketplace.
fn market_methods(module: &mut RpcModule<Daemon>) {
    method::<market::Search, _, _>(module, |d, params, _| async move {
        Ok(crate::services::market::service::search(&d.market, params).await?)
    });
    method::<market::Recommend, _, _>(module, |d, params, _| async move {
        Ok(crate::services::market::service::recommend(&d.market, params).await?)
    });
    method::<market::Info, _, _>(module, |d, params, _| async move {
        Ok(crate::services::market::service::info(&d.market, params).await?)
    });
    method::<market::Install, _, _>(module, |d, params, _| async move {
        let changed = crate::services::market::service::install(&d.market, params).await?;
        crate::server::console::audit_market(&d, "you", "market.install", &changed);
        Ok(changed)
    });
    method::<market::Update, _, _>(module, |d, params, _| async move {
        let changed = crate::services::market::service::update(&d.market, params).await?;
        crate::server::console::audit_market(&d, "you", "market.update", &changed);
        Ok(changed)
    });
    method::<market::Remove, _, _>(module, |d, params, _| async move {
        let changed = crate::services::market::service::remove(&d.market, params).await?;
        crate::server::console::audit_market(&d, "you", "market.remove", &changed);
        Ok(changed)
    });
    method::<market::Rollback, _, _>(module, |d, params, _| async move {
        let changed = crate::services::market::service::rollback(&d.market, params).await?;
        crate::server::console::audit_market(&d, "you", "market.rollback", &changed);
        Ok(changed)
    });
    method::<market::Usage, _, _>(module, |d, NoParams {}, _| async move {
        Ok(crate::services::market::usage::usage(&d.market).await?)
    });
    method::<market::ListInstalled, _, _>(module, |d, NoParams {}, _| async move {
        Ok(crate::services::market::service::installed(&d.market))
    });
}

/// `agents/feedback`'s verdicts, checked: items are `finding:N` or `edit:N`.
fn feedback_verdicts(
    params: agents::FeedbackParams,
) -> Result<Vec<crate::services::analytics::Feedback>, ErrorObjectOwned> {
    if params.verdicts.len() > 10_000 {
        return Err(ErrorObjectOwned::owned(errors::LIMIT_EXCEEDED, "at most 10000 verdicts at once", None::<()>));
    }
    params
        .verdicts
        .into_iter()
        .map(|v| {
            let well_formed = v
                .item
                .split_once(':')
                .is_some_and(|(kind, n)| matches!(kind, "finding" | "edit") && n.parse::<u32>().is_ok());
            if !well_formed {
                let message = format!("item {:?}: expected `finding:N` or `edit:N`", v.item);
                return Err(ErrorObjectOwned::owned(errors::INVALID_PARAMS, message, None::<()>));
            }
            Ok(crate::services::analytics::Feedback {
                source: params.source.clone(),
                item: v.item,
                accepted: v.accepted,
            })
        })
        .collect()
}

/// Runs CPU-bound or blocking work of a handler on the blocking pool. A panic
/// there is an internal error reply, as one on the runtime would be.
/// How long `agents/list` waits for the roster's thread before it reads the
/// roster on the blocking pool.
const ROSTER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `work` on one of the daemon's own threads (in the order handed over).
async fn on_thread<T: Send + 'static, E: Into<ErrorObjectOwned> + Send + 'static>(
    thread: &crate::platform::serial::Serial,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    thread.run(move || work().map_err(Into::into)).await.unwrap_or_else(|_| {
        tracing::error!("a request's work panicked");
        Err(ErrorObjectOwned::owned(protocol::errors::INTERNAL, "internal error (see the daemon's log)", None::<()>))
    })
}

async fn off_the_runtime<T: Send + 'static, E: Into<ErrorObjectOwned> + Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    tokio::task::spawn_blocking(move || work().map_err(Into::into)).await.unwrap_or_else(|err| {
        tracing::error!("a request's work panicked: {err}");
        Err(ErrorObjectOwned::owned(protocol::errors::INTERNAL, "internal error (see the daemon's log)", None::<()>))
    })
}

/// Params longer than this are decoded off the runtime, on the decode thread
/// (#18.7): decoding a megabyte takes milliseconds of a worker.
const LARGE_PARAMS: usize = 64 * 1024;

/// Registers `M` with a handler taking its typed params and the caller's connection.
fn method<M, F, Fut>(module: &mut RpcModule<Daemon>, handler: F)
where
    M: Method,
    M::Params: Send + 'static,
    F: Fn(Arc<Daemon>, M::Params, Option<usize>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<M::Result, ErrorObjectOwned>> + Send + 'static,
{
    let registered = module.register_async_method(M::NAME, move |params, daemon, extensions| {
        let handler = handler.clone();
        let name = timed_name(M::NAME, params.as_str().map_or(0, str::len));
        crate::platform::stalls::Timed::request(name, async move {
            let params = match params.as_str() {
                // An editor's burst (megabytes of text) is decoded on the decode
                // thread, moved there as it is: no copy of megabytes on a worker.
                Some(raw) if raw.len() > LARGE_PARAMS => {
                    let decode = &daemon.clone().decode_thread;
                    on_thread(decode, move || parse_params::<M::Params>(M::NAME, &params)).await?
                }
                _ => parse_params::<M::Params>(M::NAME, &params)?,
            };
            handler(daemon, params, connection(&extensions)).await
        })
    });
    register(registered, M::NAME);
}

/// Params at most this long are a keystroke's update, not a burst.
const KEYSTROKE_PARAMS: usize = 4 * 1024;

/// The name a request is timed under (`runtime.requests`): an editor's
/// keystroke-sized `documents/sync` apart from the bursts, so that what a
/// typing editor waits shows beside what fifty editors' bursts do (#18.7).
fn timed_name(method: &'static str, params_len: usize) -> &'static str {
    if method == documents::Sync::NAME && params_len <= KEYSTROKE_PARAMS {
        "documents/sync (keystroke)"
    } else {
        method
    }
}

pub(super) fn register<T, E: std::fmt::Display>(result: Result<T, E>, name: &str) {
    // Names come from the protocol crate, which a unit test keeps unique; a clash
    // is a programming error found by every test run, not a runtime condition.
    if let Err(err) = result {
        panic!("registering {name}: {err}");
    }
}

fn connection(extensions: &Extensions) -> Option<usize> {
    extensions.get::<ConnectionId>().map(|c| c.0)
}

/// Parses by-name params (an object), or a single object in a by-position array.
/// No params, `null` and `[]` mean `{}`.
pub fn parse_params<P: DeserializeOwned>(method: &str, params: &Params<'_>) -> Result<P, ErrorObjectOwned> {
    let raw = params.as_str().map(str::trim).unwrap_or("{}");
    let parsed = match raw {
        "" | "null" | "[]" => serde_json::from_str("{}"),
        _ if raw.starts_with('[') => serde_json::from_str::<(P,)>(raw).map(|(p,)| p),
        _ => serde_json::from_str(raw),
    };
    parsed.map_err(|err| {
        ErrorObjectOwned::owned(
            errors::INVALID_PARAMS,
            format!("invalid params for {method}: {err}; see rpc.discover for the expected shape"),
            None::<()>,
        )
    })
}

fn document_error(err: DocumentError) -> ErrorObjectOwned {
    let code = match err {
        DocumentError::NotOpen { .. } => errors::NOT_FOUND,
        DocumentError::VersionNotNewer { .. } => errors::CONFLICT,
        DocumentError::RangeOutOfOrder { .. } => errors::INVALID_PARAMS,
    };
    ErrorObjectOwned::owned(code, err.to_string(), None::<()>)
}

/// `client/attach`: the client is attached for as long as the subscription lives,
/// which ends when it unsubscribes or its connection closes for any reason.
fn attach_subscription(module: &mut RpcModule<Daemon>) {
    let registered = module.register_subscription(
        Attach::SUBSCRIBE,
        Attach::NOTIFICATION,
        Attach::UNSUBSCRIBE,
        |params, pending, daemon, extensions| async move {
            // Spawned, so it always runs to its end: a connection that closes
            // while the client's workspaces are being opened cancels this
            // future, and an attach cut short would leave them held by a
            // client nobody detaches. Run whole, `accept` fails and `detach`
            // releases them.
            let attach = attach_client(params, pending, daemon, extensions);
            tokio::spawn(crate::platform::stalls::Timed::new(Attach::SUBSCRIBE, attach))
                .await
                .unwrap_or_else(|err| Err(format!("client/attach failed: {err}").into()))
        },
    );
    register(registered, Attach::SUBSCRIBE);
}

/// A client attached for as long as its subscription lives (see above).
async fn attach_client(
    params: jsonrpsee::types::Params<'static>,
    pending: jsonrpsee::PendingSubscriptionSink,
    daemon: Arc<Daemon>,
    extensions: Extensions,
) -> jsonrpsee::core::SubscriptionResult {
    let hello: ClientHello = match parse_params(Attach::SUBSCRIBE, &params) {
        Ok(hello) => hello,
        Err(err) => {
            pending.reject(err).await;
            return Ok(());
        }
    };
    if let Err(err) = known_events(&hello) {
        pending.reject(err).await;
        return Ok(());
    }
    // Handed only the kinds it named: not woken for every other
    // editor's document events.
    let interest =
        hello.events.as_ref().map_or(Interest::ALL, |kinds| Interest::kinds(kinds.iter().map(String::as_str)));
    let mut events = daemon.events.subscribe(interest);
    let wanted = hello.clone();
    // Attach (and link the connection) before the client hears back, so
    // whatever it sends next is already filed under it.
    let id = daemon.attach(hello, connection(&extensions)).await;
    let sink = match pending.accept().await {
        Ok(sink) => sink,
        Err(err) => {
            daemon.detach(id).await;
            return Err(err.into());
        }
    };
    let mut next = Some(Event::Attached {
        client_id: id,
        max_request_bytes: Some(u64::from(daemon.config.server.max_request_bytes)),
    });
    loop {
        if let Some(event) = next.take() {
            let message = SubscriptionMessage::from(serde_json::value::to_raw_value(&event)?);
            if sink.send(message).await.is_err() {
                break;
            }
        }
        tokio::select! {
            () = sink.closed() => break,
            received = events.recv() => match received {
                Ok(Event::ClientAttached { client_id, .. }) if client_id == id => {}
                Ok(event) if wanted.wants(&event) => next = Some(event),
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => tracing::warn!(client_id = id, missed, "client fell behind the event stream"),
                Err(RecvError::Closed) => break,
            },
        }
    }
    daemon.detach(id).await;
    Ok(())
}

/// A hello's `events` names known event types only, each once at most.
fn known_events(hello: &ClientHello) -> Result<(), ErrorObjectOwned> {
    let Some(kinds) = &hello.events else { return Ok(()) };
    let known = protocol::client::Event::KINDS;
    match kinds.iter().find(|kind| !known.contains(&kind.as_str())) {
        _ if kinds.len() > known.len() => Err(format!("events: at most {} names", known.len())),
        Some(unknown) => Err(format!("events: no event type {unknown:?}; the types: {}", known.join(", "))),
        None => Ok(()),
    }
    .map_err(|message| ErrorObjectOwned::owned(errors::INVALID_PARAMS, message, None::<()>))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_updates_size_is_its_text_and_its_ranged_edits() {
        use documents::{ChangeParams, ContentChange, DocumentOp, OpenParams, SyncParams, UriParams};
        let at = documents::Position { line: 0, character: 0 };
        let keystroke = ChangeParams {
            uri: "file:///a".into(),
            version: 2,
            changes: vec![ContentChange { range: Some(documents::Range { start: at, end: at }), text: "x".into() }],
        };
        assert_eq!(change_size(&keystroke), 1 + RANGED_EDIT);
        let whole =
            ChangeParams { changes: vec![ContentChange { range: None, text: "y".repeat(5000) }], ..keystroke.clone() };
        assert_eq!(change_size(&whole), 5000);
        let open =
            OpenParams { uri: "file:///b".into(), language_id: "rust".into(), version: 1, text: "z".repeat(700) };
        let sync = SyncParams {
            ops: vec![
                DocumentOp::Open(open),
                DocumentOp::Change(keystroke),
                DocumentOp::Close(UriParams { uri: "file:///b".into() }),
            ],
        };
        assert_eq!(sync_size(&sync), 700 + 1 + RANGED_EDIT);
    }

    #[test]
    fn a_keystrokes_update_is_timed_apart_from_bursts() {
        assert_eq!(timed_name(documents::Sync::NAME, 300), "documents/sync (keystroke)");
        assert_eq!(timed_name(documents::Sync::NAME, 128 * 1024), documents::Sync::NAME);
        assert_eq!(timed_name(documents::Open::NAME, 300), documents::Open::NAME);
    }

    #[tokio::test]
    async fn every_protocol_method_is_served() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::platform::store::Store::open(&dir.path().join("db")).expect("store");
        let paths = crate::platform::paths::Paths {
            config_dir: dir.path().join("config"),
            data_dir: dir.path().join("data"),
            state_dir: dir.path().join("state"),
            runtime_dir: dir.path().join("run"),
        };
        let daemon =
            Daemon::new(crate::platform::config::Config::default(), paths, store, 1, 0, false).expect("daemon");
        let module = module(daemon);
        let served: Vec<&str> = module.method_names().collect();
        for name in protocol::openrpc::method_names() {
            assert!(served.contains(&name), "{name} is in the protocol but not served");
        }
        assert!(!served.contains(&"debug/panic"), "test hooks are off by default");
    }

    #[test]
    fn params_accept_every_empty_spelling_and_by_position_objects() {
        for raw in [None, Some("null"), Some("[]"), Some("{}")] {
            let params = Params::new(raw);
            parse_params::<NoParams>("x/y", &params).expect("empty");
        }
        let params = Params::new(Some(r#"[{"uri":"file:///a"}]"#));
        let parsed: documents::UriParams = parse_params("x/y", &params).expect("positional");
        assert_eq!(parsed.uri, "file:///a");
        let params = Params::new(Some(r#"{"url":"file:///a"}"#));
        let err = parse_params::<documents::UriParams>("documents/get", &params).expect_err("bad");
        assert!(
            err.message().starts_with("invalid params for documents/get: missing field `uri`"),
            "{}",
            err.message()
        );
    }
}
