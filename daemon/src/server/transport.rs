//! The JSON-RPC server: HTTP and WebSocket on one port of 127.0.0.1, behind the
//! security checks, with per-request tracing and panic isolation.
//!
//! Layers, outermost first:
//! 0. [`admission`]: connections that have not passed the guard are capped and
//!    timed, so idle sockets cannot use up the daemon's descriptors.
//! 1. [`GuardLayer`] (HTTP): `Host` must be loopback (DNS rebinding), a browser
//!    `Origin` must be allowlisted, the token must be present. Runs before the
//!    WebSocket upgrade, so upgrades are checked too. Paths under `/console/`
//!    go to the web [`console`](crate::server::console) instead, which checks
//!    Host and Origin against its own page and signs in with a cookie.
//! 2. jsonrpsee's own limits: body size, batch length, connections, subscriptions.
//! 3. [`RpcLayer`] (per call): nesting depth, a tracing span with method and id,
//!    and `catch_unwind`, so a panicking handler is an error reply, not a dead
//!    connection.

use std::{
    future::Future,
    net::{Ipv4Addr, SocketAddr, TcpListener},
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
    time::Instant,
};

use anyhow::{Context as _, Result};
use futures::FutureExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use jsonrpsee::{
    core::{
        BoxError,
        middleware::{Batch, BatchEntry, Notification, RpcServiceBuilder, RpcServiceT},
    },
    server::{
        BatchRequestConfig, BatchResponseBuilder, HttpBody, HttpRequest, HttpResponse, MethodResponse, Methods,
        ServerConfig, ServerHandle,
    },
    types::{ErrorObject, Request},
};
use subtle::ConstantTimeEq;
use tracing::Instrument;

use crate::{
    platform::{config::Config, os},
    server::admission::{self, Admission},
    server::console::Console,
    server::daemon::Daemon,
};

/// Binds 127.0.0.1:`port` (0 for any free port). Binding is separate from serving
/// so the security layer knows the real port.
pub fn bind(port: u16) -> Result<TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(addr).with_context(|| {
        format!(
            "cannot listen on {addr}: is another program using it? Set another with --port, PAIRED_PORT or daemon.port"
        )
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves JSON-RPC on `listener` (loopback TCP) and, when given, on `socket`
/// (the private Unix socket PAIRED's own clients use) until the returned handle
/// is stopped. The accept loops are [`admission::accept_loop`]: connections
/// that have not passed the guard yet are capped and timed, and running out of
/// descriptors backs off.
pub fn serve(
    listener: TcpListener,
    socket: Option<os::StdLocalListener>,
    daemon: Arc<Daemon>,
    token: String,
) -> Result<ServerHandle> {
    let port = listener.local_addr()?.port();
    let limits = &daemon.config.server;
    let server_config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_bytes)
        .max_response_body_size(limits.max_response_bytes)
        .max_connections(limits.max_connections)
        .max_subscriptions_per_connection(limits.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch_len))
        .build();
    let guard = GuardLayer {
        policy: Arc::new(Policy {
            port,
            token: daemon.config.server.require_token.then_some(token),
            config: daemon.config.clone(),
        }),
        console: crate::server::console::Console::new(daemon.clone(), port),
    };
    let rpc_daemon = daemon.clone();
    let rpc_middleware = RpcServiceBuilder::new().layer_fn(move |inner| RpcLayer::new(inner, rpc_daemon.clone()));
    let services = jsonrpsee::server::Server::builder()
        .set_config(server_config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(guard))
        .set_rpc_middleware(rpc_middleware)
        .to_service_builder();
    let mut module = crate::server::router::module(daemon.clone());
    if daemon.test_hooks {
        crate::server::hooks::register_test_hooks(&mut module);
    }
    let methods: Methods = module.into();
    let (stop, handle) = jsonrpsee::server::stop_channel();
    let connections = Arc::new(Connections { services, methods, stop: stop.clone() });
    // One gate for both listeners: out of descriptors on either, the oldest
    // unauthenticated TCP connection makes room.
    let gate = admission::Gate::new(admission::Limits::default());
    if let Some(socket) = socket {
        socket.set_nonblocking(true)?;
        let socket = os::LocalListener::from_std(socket).context("cannot serve the daemon's socket")?;
        let connections = connections.clone();
        tokio::spawn(admission::accept_loop(socket, gate.clone(), stop.clone().shutdown(), move |io, admission| {
            // The kernel vouched for the peer (this user): never evicted or
            // timed as a stranger, whatever floods the TCP port.
            admission.authenticated();
            connections.serve(io, admission)
        }));
    }
    let listener = tokio::net::TcpListener::from_std(listener).context("cannot serve the listening socket")?;
    tokio::spawn(admission::accept_loop(listener, gate, stop.clone().shutdown(), move |io, admission| {
        connections.serve(io, admission)
    }));
    Ok(handle)
}

/// Binds the daemon's private Unix socket, replacing a leftover of a daemon
/// that died (we hold the lock, and the folder is private). `None`, with a
/// warning, where it cannot be made; clients then use TCP.
pub fn bind_socket(path: &std::path::Path) -> Option<os::StdLocalListener> {
    os::bind_local(path)
        .map_err(|err| tracing::warn!("cannot make the daemon's socket {}: {err}; clients use TCP", path.display()))
        .ok()
}

/// What serves one accepted connection, on either listener.
struct Connections<S> {
    services: S,
    methods: Methods,
    stop: jsonrpsee::server::StopHandle,
}

impl<RpcMiddleware, HttpMiddleware> Connections<jsonrpsee::server::TowerServiceBuilder<RpcMiddleware, HttpMiddleware>>
where
    RpcMiddleware: Clone,
    HttpMiddleware: Clone,
    jsonrpsee::server::TowerService<RpcMiddleware, HttpMiddleware>: tower::Service<HttpRequest<hyper::body::Incoming>, Response = HttpResponse, Error = BoxError, Future: Send>
        + Clone
        + Send
        + 'static,
{
    fn serve<I>(&self, io: I, admission: Admission)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let service = Admitted {
            inner: self.services.clone().build(self.methods.clone(), self.stop.clone()),
            admission: admission.clone(),
        };
        let stopped = self.stop.clone().shutdown();
        crate::platform::stalls::spawn(
            "connection",
            admission.run(async move {
                if let Err(err) = jsonrpsee::server::serve_with_graceful_shutdown(io, service, stopped).await {
                    tracing::debug!("connection ended: {err}");
                }
            }),
        );
    }
}

/// Hands each request of a connection its [`Admission`], for the guard.
#[derive(Clone)]
struct Admitted<S> {
    inner: S,
    admission: Admission,
}

impl<S, B> tower::Service<HttpRequest<B>> for Admitted<S>
where
    S: tower::Service<HttpRequest<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: HttpRequest<B>) -> S::Future {
        request.extensions_mut().insert(self.admission.clone());
        self.inner.call(request)
    }
}

/// What the guard enforces.
#[derive(Debug)]
struct Policy {
    port: u16,
    /// `None` when `server.require_token = false`.
    token: Option<String>,
    config: Config,
}

#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Host(String),
    Origin(String),
    MissingToken,
    WrongToken,
}

impl Policy {
    /// `query` is the request's query string when it is a WebSocket upgrade (the
    /// only place a token may travel in the URL: browsers cannot set headers there).
    fn check(&self, headers: &HeaderMap, query: Option<&str>) -> Result<(), Refusal> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !self.host_allowed(host) {
            return Err(Refusal::Host(host.to_owned()));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("<not text>");
            if !self.config.origin_allowed(origin) {
                return Err(Refusal::Origin(origin.to_owned()));
            }
        }
        let Some(expected) = &self.token else {
            return Ok(());
        };
        let presented = bearer(headers).or_else(|| query_token(query?));
        match presented {
            None => Err(Refusal::MissingToken),
            Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
            Some(_) => Err(Refusal::WrongToken),
        }
    }

    /// `127.0.0.1`, `localhost` or `[::1]`, with no port or our port.
    fn host_allowed(&self, host: &str) -> bool {
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !name.ends_with(':') && (name.starts_with('[') == name.ends_with(']')) => {
                (name, Some(port))
            }
            _ => (host, None),
        };
        let loopback = matches!(name.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "[::1]");
        loopback && port.is_none_or(|p| p.parse::<u16>() == Ok(self.port))
    }
}

/// The token of an `Authorization: Bearer` header (the 1.0 bridge reads it too).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The token of a `?token=` query (a WebSocket URL; the 1.0 bridge's too).
pub(crate) fn query_token(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("token="))
}

/// The Host and Origin checks alone, for the PAIRED 1.0 bridge (1.0 clients
/// send no token): `Err` holds the status and the message to answer with.
pub(crate) fn check_host_and_origin(
    config: &Config,
    port: u16,
    headers: &HeaderMap,
) -> Result<(), (StatusCode, String)> {
    let policy = Policy { port, token: None, config: config.clone() };
    policy.check(headers, None).map_err(|refusal| refusal_text(&refusal))
}

fn refusal_response(refusal: &Refusal) -> HttpResponse {
    let (status, message) = refusal_text(refusal);
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": protocol::errors::REFUSED, "message": message },
    });
    let mut response = HttpResponse::new(HttpBody::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"paired\""));
    }
    response
}

fn refusal_text(refusal: &Refusal) -> (StatusCode, String) {
    match refusal {
        Refusal::Host(host) => (
            StatusCode::FORBIDDEN,
            format!("Host `{host}` is not allowed: the PAIRED daemon only answers requests addressed to 127.0.0.1 or localhost"),
        ),
        Refusal::Origin(origin) => (
            StatusCode::FORBIDDEN,
            format!("Origin `{origin}` is not allowed; add it to server.allowed_origins in the PAIRED config if you trust it"),
        ),
        Refusal::MissingToken => (
            StatusCode::UNAUTHORIZED,
            "missing token: send `Authorization: Bearer <token>` (or `?token=` on a WebSocket URL); the token is in the file named by the daemon's discovery file".to_owned(),
        ),
        Refusal::WrongToken => (
            StatusCode::UNAUTHORIZED,
            "wrong token: re-read the token file (the daemon issues a new one if the file was exposed)".to_owned(),
        ),
    }
}

#[derive(Clone)]
struct GuardLayer {
    policy: Arc<Policy>,
    console: Arc<Console>,
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, policy: self.policy.clone(), console: self.console.clone() }
    }
}

#[derive(Clone)]
struct Guard<S> {
    inner: S,
    policy: Arc<Policy>,
    console: Arc<Console>,
}

impl<S, B> tower::Service<HttpRequest<B>> for Guard<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        if crate::server::console::owns(request.uri().path()) {
            let console = self.console.clone();
            let admission = request.extensions().get::<Admission>().cloned();
            let request = request.map(axum::body::Body::new);
            return async move { Ok(console.serve(request, admission).await.map(HttpBody::new)) }.boxed();
        }
        let upgrade = jsonrpsee::server::ws::is_upgrade_request(&request);
        let query = if upgrade { request.uri().query() } else { None };
        match self.policy.check(request.headers(), query) {
            Ok(()) => {
                if let Some(admission) = request.extensions().get::<Admission>() {
                    admission.authenticated();
                }
                self.inner.call(request).map(|r| r.map_err(Into::into)).boxed()
            }
            Err(refusal) => {
                // The path only: the query may hold a (wrong) token.
                tracing::warn!(?refusal, path = request.uri().path(), upgrade, "refused a request");
                let response = refusal_response(&refusal);
                async move { Ok(response) }.boxed()
            }
        }
    }
}

/// Counts a connection for as long as any clone of its RPC service lives.
struct ConnectionCount(Arc<Daemon>);

impl ConnectionCount {
    fn new(daemon: Arc<Daemon>) -> ConnectionCount {
        daemon.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionCount(daemon)
    }
}

impl Drop for ConnectionCount {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Per-call middleware; one is built per connection.
#[derive(Clone)]
struct RpcLayer<S> {
    inner: S,
    max_depth: usize,
    max_response_bytes: usize,
    _connection: Arc<ConnectionCount>,
}

impl<S> RpcLayer<S> {
    fn new(inner: S, daemon: Arc<Daemon>) -> RpcLayer<S> {
        let max_depth = daemon.config.server.max_nesting_depth as usize;
        let max_response_bytes = daemon.config.server.max_response_bytes as usize;
        RpcLayer { inner, max_depth, max_response_bytes, _connection: Arc::new(ConnectionCount::new(daemon)) }
    }
}

impl<S> RpcServiceT for RpcLayer<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let method = request.method_name().to_owned();
        let id = request.id().into_owned();
        let id_text = serde_json::to_string(&id).unwrap_or_default();
        let depth = request.params().as_str().map_or(0, |p| nesting_depth(p.as_bytes()));
        let too_deep = depth > self.max_depth;
        let max_depth = self.max_depth;
        let inner = self.inner.clone();
        let span = tracing::info_span!("rpc", method = %method, id = %id_text);
        async move {
            if too_deep {
                return MethodResponse::error(
                    id,
                    ErrorObject::owned(
                        protocol::errors::LIMIT_EXCEEDED,
                        format!("params of {method} are nested {depth} levels deep; the limit is {max_depth} (server.max_nesting_depth)"),
                        None::<()>,
                    ),
                );
            }
            let started = Instant::now();
            match AssertUnwindSafe(inner.call(request)).catch_unwind().await {
                Ok(response) => {
                    tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, error = response.is_error(), "answered");
                    response
                }
                Err(panic) => {
                    let cause = panic_message(&*panic);
                    tracing::error!(%cause, "handler panicked; replying with an error and serving on");
                    MethodResponse::error(
                        id,
                        ErrorObject::owned(
                            protocol::errors::INTERNAL,
                            format!("internal error in {method}: the handler failed ({cause}); the daemon is still running — please report this with the daemon log"),
                            None::<()>,
                        ),
                    )
                }
            }
        }
        .instrument(span)
    }

    /// Each entry goes through [`RpcLayer::call`], so batch entries get the same
    /// depth limit, span and panic isolation as single calls.
    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let service = self.clone();
        let span = tracing::info_span!("rpc_batch", len = batch.len());
        async move {
            let mut responses = BatchResponseBuilder::new_with_limit(service.max_response_bytes);
            let mut got_notification = false;
            for entry in batch {
                let response = match entry {
                    Ok(BatchEntry::Call(request)) => service.call(request).await,
                    Ok(BatchEntry::Notification(notification)) => {
                        got_notification = true;
                        service.notification(notification).await;
                        continue;
                    }
                    Err(err) => {
                        let (err, id) = err.into_parts();
                        MethodResponse::error(id, err)
                    }
                };
                if let Err(too_big) = responses.append(response) {
                    return too_big;
                }
            }
            if responses.is_empty() && got_notification {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(responses.finish())
            }
        }
        .instrument(span)
    }

    fn notification<'a>(&self, notification: Notification<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let span = tracing::info_span!("rpc_notification", method = %notification.method_name());
        self.inner.notification(notification).instrument(span)
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// How deeply arrays and objects nest in a JSON text, ignoring brackets in strings.
fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut max, mut at) = (0usize, 0usize, 0usize);
    while let Some(&byte) = json.get(at) {
        match byte {
            // Strings are most of the bytes (a document's text): their end is
            // found a word at a time, not byte by byte (this ran on a runtime
            // worker over every `documents/sync`, 11 % of the daemon's CPU
            // under fifty editors' bursts).
            b'"' => match string_end(&json[at + 1..]) {
                Some(len) => at += len + 1,
                None => return max,
            },
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    max
}

/// Where the string whose text starts `rest` ends: the offset of its closing
/// quote (escapes skipped), `None` if it does not end.
fn string_end(rest: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        at += memchr::memchr2(b'"', b'\\', &rest[at..])?;
        if rest[at] == b'"' {
            return Some(at);
        }
        // A backslash and the byte it escapes.
        at += 2;
        if at > rest.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str]) -> Policy {
        let mut config = Config::default();
        config.server.allowed_origins = origins.iter().map(|o| o.to_string()).collect();
        Policy { port: 7891, token: Some("secret".into()), config }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn guard_decisions() {
        let p = policy(&["vscode-webview://*"]);
        let ok = [("host", "127.0.0.1:7891"), ("authorization", "Bearer secret")];
        assert_eq!(p.check(&headers(&ok), None), Ok(()));
        assert_eq!(p.check(&headers(&[("host", "localhost")]), Some("a=1&token=secret")), Ok(()));
        assert_eq!(p.check(&headers(&[("host", "[::1]:7891"), ("authorization", "bearer secret")]), None), Ok(()));
        let cases: [(&[(&'static str, &str)], Refusal); 7] = [
            (
                &[("host", "evil.example:7891"), ("authorization", "Bearer secret")],
                Refusal::Host("evil.example:7891".into()),
            ),
            (&[("host", "127.0.0.1:80"), ("authorization", "Bearer secret")], Refusal::Host("127.0.0.1:80".into())),
            (&[("authorization", "Bearer secret")], Refusal::Host(String::new())),
            (
                &[("host", "127.0.0.1:7891"), ("origin", "http://127.0.0.1:7891"), ("authorization", "Bearer secret")],
                Refusal::Origin("http://127.0.0.1:7891".into()),
            ),
            (
                &[("host", "localhost"), ("origin", "null"), ("authorization", "Bearer secret")],
                Refusal::Origin("null".into()),
            ),
            (&[("host", "localhost")], Refusal::MissingToken),
            (&[("host", "localhost"), ("authorization", "Bearer secreT")], Refusal::WrongToken),
        ];
        for (h, expected) in cases {
            assert_eq!(p.check(&headers(h), None), Err(expected), "{h:?}");
        }
        let webview = [("host", "localhost"), ("origin", "vscode-webview://x"), ("authorization", "Bearer secret")];
        assert_eq!(p.check(&headers(&webview), None), Ok(()));
    }

    #[test]
    fn nesting_ignores_brackets_in_strings() {
        assert_eq!(nesting_depth(br#"{"a":[1,{"b":"[[[[\"]]"}]}"#), 3);
        assert_eq!(nesting_depth(b"[[[[]]]]"), 4);
        assert_eq!(nesting_depth(b"1"), 0);
    }

    /// The scan agrees with reading byte by byte on strings with escapes at
    /// every place (an escaped backslash before a quote, a backslash last, a
    /// string that never ends) and on brackets on either side of them.
    #[test]
    fn nesting_agrees_with_a_byte_by_byte_scan() {
        fn byte_by_byte(json: &[u8]) -> usize {
            let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
            for &byte in json {
                if in_string {
                    match (escaped, byte) {
                        (true, _) => escaped = false,
                        (false, b'\\') => escaped = true,
                        (false, b'"') => in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match byte {
                    b'"' => in_string = true,
                    b'[' | b'{' => {
                        depth += 1;
                        max = max.max(depth);
                    }
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            max
        }
        let pieces: [&[u8]; 9] = [b"[", b"{", b"]", b"}", b"\"", b"\\", b"x", b":", b","];
        // Every sequence of up to six pieces: 9^6 inputs.
        let mut input = Vec::new();
        for n in 0..9usize.pow(6) {
            input.clear();
            let mut k = n;
            for _ in 0..6 {
                input.extend_from_slice(pieces[k % 9]);
                k /= 9;
            }
            assert_eq!(nesting_depth(&input), byte_by_byte(&input), "{}", String::from_utf8_lossy(&input));
        }
        let long = format!("[{{\"text\":\"{}\\\\\\\"]]\"}}, [[]]]", "a\\\"[".repeat(10_000));
        assert_eq!(nesting_depth(long.as_bytes()), 3);
        assert_eq!(nesting_depth(long.as_bytes()), byte_by_byte(long.as_bytes()));
    }
}
