//! The bridge's listener on 127.0.0.1: its routes, served through the daemon's
//! accept loop, and the guard every request passes first — the daemon's Host
//! and Origin checks, the same user at the other end, then the token.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Instant,
};

use anyhow::{Context, Result};
use axum::{
    Extension, Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;
use tokio::sync::watch;

use super::{
    http::{cascade_intercept, cli_command, health, register_agent, register_instance, test_relay},
    socket::upgrade,
    state::{Bridge, Presented, TOKEN_HINT, Trusted},
};
use crate::server::{
    daemon::Daemon,
    transport::{bearer, query_token},
};

/// The port 1.0 clients expect.
pub const DEFAULT_PORT: u16 = 7890;

/// Binds 127.0.0.1:`port` and serves the bridge until the daemon stops.
pub async fn start(daemon: Arc<Daemon>, port: u16) -> Result<u16> {
    let token = match crate::platform::instance::read_token(&daemon.paths.token_file()) {
        Ok(token) => Some(token),
        Err(err) if daemon.config.bridge.require_token => {
            return Err(err.context("bridge.require_token is on, but the daemon's token cannot be read"));
        }
        Err(err) => {
            tracing::warn!("the PAIRED 1.0 bridge cannot accept tokens: {err:#}");
            None
        }
    };
    for folder in &daemon.config.bridge.projects {
        if !folder.is_absolute() || !folder.is_dir() {
            tracing::warn!(
                "key `bridge.projects`: {} is not an absolute path to a folder; 1.0 clients cannot connect to it",
                folder.display()
            );
        }
    }
    if !daemon.config.bridge.require_token {
        tracing::info!(
            "the PAIRED 1.0 bridge answers token-less clients only for projects open in an editor or listed in bridge.projects"
        );
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .with_context(|| format!("cannot serve the PAIRED 1.0 bridge on 127.0.0.1:{port}: is 1.0 still running? Stop it, or set BRIDGE_PORT"))?;
    let port = listener.local_addr()?.port();
    let bridge = Arc::new(Bridge {
        daemon: daemon.clone(),
        port,
        started: Instant::now(),
        next_instance: AtomicU64::new(1),
        instances: Mutex::default(),
        registered: Mutex::default(),
        token,
    });
    daemon.set_bridge(Arc::downgrade(&bridge) as std::sync::Weak<dyn crate::server::daemon::FrontReport>);
    let app = Router::new()
        .route("/", get(upgrade))
        .route("/health", get(health))
        .route("/test-relay", get(test_relay))
        .route("/register-agent", post(register_agent))
        .route("/register-instance", post(register_instance))
        .route("/cascade-intercept", post(cascade_intercept))
        .route("/cli-command", post(cli_command))
        .layer(middleware::from_fn_with_state(bridge.clone(), guard))
        .with_state(bridge);
    // The daemon's own accept loop: idle sockets are capped and timed, running
    // out of descriptors backs off (the bridge shares the daemon's descriptors).
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = daemon.shutdown.subscribe();
    tokio::spawn(async move {
        let _ = shutdown.wait_for(Option::is_some).await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let gate = crate::server::admission::Gate::new(crate::server::admission::Limits::default());
    let accepting = stopped(stop_rx.clone());
    tokio::spawn(crate::server::admission::accept_loop(listener, gate, accepting, move |socket, admission| {
        let ends = match (socket.local_addr(), socket.peer_addr()) {
            (Ok(local), Ok(peer)) => Ends { local, peer },
            _ => return,
        };
        let app = app.clone().layer(Extension(admission.clone())).layer(Extension(ends));
        let stop = stopped(stop_rx.clone());
        tokio::spawn(admission.run(async move {
            if let Err(err) = jsonrpsee::server::serve_with_graceful_shutdown(socket, app, stop).await {
                tracing::debug!("a PAIRED 1.0 bridge connection ended: {err}");
            }
        }));
    }));
    Ok(port)
}

/// The two ends of a bridge connection, for the user check.
#[derive(Debug, Clone, Copy)]
struct Ends {
    local: SocketAddr,
    peer: SocketAddr,
}

/// Kernel socket-table reads at once, at most (each reads the whole table).
static LOOKUPS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Whether the program at the other end of a connection runs as this user
/// (Linux: the kernel's socket table). 1.0 clients send no token, so without
/// this any local user could use the bridge, hold its connections and read
/// what it answers about the user's projects. Asked at a connection's first
/// request, so idle sockets cost nothing, and another user's connection is
/// closed at once, so the table stays small.
async fn same_user(ends: Ends) -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    let _permit = LOOKUPS.acquire().await.map_err(|e| e.to_string())?;
    let mut attempts = 0;
    let uid = loop {
        let lookup = tokio::task::spawn_blocking(move || crate::platform::os::tcp_socket_uid(ends.peer, ends.local))
            .await
            .map_err(|e| e.to_string())?;
        match lookup {
            Ok(uid) => break uid,
            // Out of descriptors to read the table with: the accept loop is
            // making room; asking again soon beats refusing the user.
            Err(err) if crate::platform::os::is_resource_exhaustion(&err) && attempts < 40 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            Err(err) => return Err(err.to_string()),
        }
    };
    if uid == crate::platform::os::current_uid() {
        Ok(())
    } else {
        Err(format!("it comes from another user (uid {uid})"))
    }
}

/// The daemon's Host and Origin checks, then the token: a wrong one is
/// refused; none is refused only with `bridge.require_token` (a WebSocket may
/// still send it in a message, so the upgrade goes through).
async fn guard(
    State(bridge): State<Arc<Bridge>>,
    headers: HeaderMap,
    mut request: axum::extract::Request,
    next: Next,
) -> Response {
    if let Err((status, message)) =
        crate::server::transport::check_host_and_origin(&bridge.daemon.config, bridge.port, &headers)
    {
        return (status, Json(json!({ "success": false, "error": message }))).into_response();
    }
    let admission = request.extensions().get::<crate::server::admission::Admission>().cloned();
    if let (Some(ends), false) =
        (request.extensions().get::<Ends>().copied(), admission.as_ref().is_some_and(|a| a.is_authenticated()))
        && let Err(why) = same_user(ends).await
    {
        tracing::debug!("refused a PAIRED 1.0 bridge request: {why}");
        let mut response = (
            StatusCode::FORBIDDEN,
            Json(json!({ "success": false, "error": "the PAIRED 1.0 bridge serves its user's programs only" })),
        )
            .into_response();
        response.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        return response;
    }
    let presented = bearer(&headers).or_else(|| request.uri().query().and_then(query_token));
    let trusted = match bridge.check_token(presented) {
        Presented::Valid => true,
        Presented::Wrong => {
            let error = format!("wrong token; {TOKEN_HINT}");
            return (StatusCode::UNAUTHORIZED, Json(json!({ "success": false, "error": error }))).into_response();
        }
        Presented::Nothing if bridge.daemon.config.bridge.require_token && request.uri().path() != "/" => {
            let error = format!("this bridge requires a token (bridge.require_token); {TOKEN_HINT}");
            return (StatusCode::UNAUTHORIZED, Json(json!({ "success": false, "error": error }))).into_response();
        }
        Presented::Nothing => false,
    };
    // A request that passed the checks: its connection is no longer capped
    // and timed as an idle one.
    if let Some(admission) = request.extensions().get::<crate::server::admission::Admission>() {
        admission.authenticated();
    }
    request.extensions_mut().insert(Trusted(trusted));
    next.run(request).await
}
