//! The single-user console: the web pages of `console/` (embedded) and their
//! JSON API, under `/console/` on the daemon's loopback port.
//!
//! Signing in: `paired console` asks for a one-time code (`console/login`,
//! over the token-guarded JSON-RPC API) and opens the console with it in the
//! URL's fragment, through a private redirect file. The page trades the code
//! for a session cookie (`HttpOnly`, `SameSite=Strict`); the daemon's token
//! never reaches the browser. A signed-in console lives under a secret path
//! per daemon run (`/console/SECRET/`) and its cookie is scoped to that path:
//! browsers send a cookie of 127.0.0.1 to every port of it, so without the
//! path a page of another local server could receive the cookie and replay it.
//!
//! Every request: `Host` must name this loopback port (DNS rebinding); an
//! `Origin`, when sent, must be the console's own, and a change (anything but
//! GET) must send it; an API request another site started (`Sec-Fetch-Site`)
//! is refused. Every reply forbids framing, inline
//! scripts (content security policy), sniffing and caching of data.

mod api;
mod market;
pub mod sessions;

use std::sync::Arc;

use axum::{body::Body, response::IntoResponse};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::json;

pub use sessions::CODE_LIFETIME;

use crate::server::{admission::Admission, daemon::Daemon};

/// Where the console lives on the daemon's port.
pub const PREFIX: &str = "/console";

const COOKIE: &str = "paired_console";

/// Whether `path` is the console's (the rest of the port is JSON-RPC).
pub fn owns(path: &str) -> bool {
    path == PREFIX || path.starts_with("/console/")
}

/// The console's side of the port: what it needs to answer.
pub struct Console {
    daemon: Arc<Daemon>,
    port: u16,
    router: axum::Router,
}

impl Console {
    pub fn new(daemon: Arc<Daemon>, port: u16) -> Arc<Console> {
        let router = api::router(daemon.clone());
        Arc::new(Console { daemon, port, router })
    }

    /// Answers one request under [`PREFIX`]; `admission` is the connection's
    /// place at the gate, admitted once the request proves a session.
    pub async fn serve(&self, request: Request<Body>, admission: Option<Admission>) -> Response<Body> {
        let mut response = self.answer(request, admission).await;
        let headers = response.headers_mut();
        for (name, value) in ::paired_console::HEADERS {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
        response
    }

    async fn answer(&self, request: Request<Body>, admission: Option<Admission>) -> Response<Body> {
        let headers = request.headers();
        let Some(origin) = self.own_origin(headers) else {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            return refuse(
                StatusCode::FORBIDDEN,
                &format!("Host `{host}` is not this console's: open it as http://127.0.0.1:{}/console/", self.port),
            );
        };
        if let Some(sent) = headers.get(header::ORIGIN)
            && sent.as_bytes() != origin.as_bytes()
        {
            return refuse(StatusCode::FORBIDDEN, "another site's page may not use the console");
        }
        // A change (sign-in, sign-out, an install) only from a page that says
        // where it comes from: every browser sends `Origin` with these.
        let reads = request.method() == Method::GET || request.method() == Method::HEAD;
        if !reads && headers.get(header::ORIGIN).is_none() {
            return refuse(StatusCode::FORBIDDEN, "a change to the console needs the page's Origin");
        }
        let path = request.uri().path().to_owned();
        let base = self.daemon.console.base();
        let (inside, rest) = match path.strip_prefix(base) {
            Some(rest) => (true, rest),
            None => (false, path.strip_prefix("/console/").unwrap_or("")),
        };
        let Some(api_path) = rest.strip_prefix("api/") else {
            // The pages hold no data: any link may open them (under an old
            // run's secret path too: they then say the browser is signed out).
            let file = match rest.split_once('/') {
                Some((_, file)) if !inside => file,
                _ => rest,
            };
            return asset(&path, file, &request);
        };
        // The data only to the console's own pages (a browser says who asks).
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if matches!(site, Some("cross-site" | "same-site")) {
            return refuse(StatusCode::FORBIDDEN, "another site's page may not use the console");
        }
        if api_path == "about" {
            // Before signing in: which back end this is, for the sign-in page.
            return axum::Json(json!({"backend": "daemon", "sso": false})).into_response();
        }
        if !inside {
            return refuse(StatusCode::UNAUTHORIZED, "signed out: run `paired console` to sign in");
        }
        if api_path == "session" && request.method() == Method::POST {
            let reply = self.sign_in(request).await;
            if reply.status().is_success()
                && let Some(admission) = admission
            {
                admission.authenticated();
            }
            return reply;
        }
        // Every cookie of that name is tried: another page may have set a bogus one beside it.
        let Some(session) = cookies(headers).find_map(|id| self.daemon.console.session(id)) else {
            return refuse(StatusCode::UNAUTHORIZED, "signed out: run `paired console` to sign in");
        };
        if let Some(admission) = admission {
            admission.authenticated();
        }
        if api_path == "session" && request.method() == Method::DELETE {
            self.daemon.console.end(&session);
            audit(&self.daemon, "you (console)", "sign-out", "", "");
            let mut reply = axum::Json(json!({"signed_out": true})).into_response();
            let clear = format!("{COOKIE}=; Path={base}; HttpOnly; SameSite=Strict; Max-Age=0");
            if let Ok(value) = HeaderValue::from_str(&clear) {
                reply.headers_mut().insert(header::SET_COOKIE, value);
            }
            return reply;
        }
        // The API's routes do not know the secret path.
        let mut request = request;
        let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
        match format!("/console/api/{api_path}{query}").parse() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => return refuse(StatusCode::BAD_REQUEST, "that address is not one the console knows"),
        }
        use tower::ServiceExt;
        match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// `http://HOST` when the request's Host is this loopback port's.
    fn own_origin(&self, headers: &HeaderMap) -> Option<String> {
        let host = headers.get(header::HOST)?.to_str().ok()?;
        let port = self.port.to_string();
        let (name, host_port) = host.rsplit_once(':')?;
        let loopback = matches!(name, "127.0.0.1" | "localhost" | "[::1]");
        (loopback && host_port == port).then(|| format!("http://{host}"))
    }

    async fn sign_in(&self, request: Request<Body>) -> Response<Body> {
        #[derive(serde::Deserialize)]
        struct SignIn {
            code: String,
        }
        let body = match axum::body::to_bytes(request.into_body(), 4096).await {
            Ok(body) => body,
            Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, "a sign-in is a short JSON object"),
        };
        let Ok(SignIn { code }) = serde_json::from_slice(&body) else {
            return refuse(StatusCode::BAD_REQUEST, "send {\"code\": \"…\"} from `paired console`");
        };
        let Some(session) = self.daemon.console.redeem(&code) else {
            tracing::warn!("refused a console sign-in: a wrong, used or expired code");
            return refuse(StatusCode::UNAUTHORIZED, "that code is wrong, used or expired: run `paired console` again");
        };
        audit(&self.daemon, "you (console)", "sign-in", "", "");
        let mut reply = axum::Json(json!({"signed_in": true})).into_response();
        let cookie = format!(
            "{COOKIE}={session}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}",
            self.daemon.console.base(),
            sessions::SESSION_LIFETIME.as_secs()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            reply.headers_mut().insert(header::SET_COOKIE, value);
        }
        reply
    }
}

/// The session ids in the request's cookies.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let lines = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok());
    ::paired_console::cookies(lines, COOKIE)
}

/// A built file of the front-end (`file` under the console's folder; `""`
/// is the page); `/console` goes to `/console/`.
fn asset(path: &str, file: &str, request: &Request<Body>) -> Response<Body> {
    if path == PREFIX {
        let mut reply = StatusCode::PERMANENT_REDIRECT.into_response();
        reply.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/console/"));
        return reply;
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "the console's pages are only read");
    }
    let Some((file, kind)) = ::paired_console::asset(file) else {
        return refuse(StatusCode::NOT_FOUND, &format!("no {path} in the console"));
    };
    let mut reply = Response::new(Body::from(file.into_owned()));
    let headers = reply.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    reply
}

/// A JSON error, in the shape the hub's API uses too.
pub(crate) fn refuse(status: StatusCode, message: &str) -> Response<Body> {
    let mut reply = (status, axum::Json(json!({"error": {"message": message}}))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        reply
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Cookie realm=\"paired console\""));
    }
    reply
}

/// Writes to this machine's audit log; a failure is logged, never the user's problem.
pub(crate) fn audit(daemon: &Daemon, actor: &str, action: &'static str, target: &str, details: &str) {
    let event = crate::services::analytics::AuditEvent {
        at_ms: jiff::Timestamp::now().as_millisecond(),
        actor: actor.into(),
        action: action.into(),
        target: target.into(),
        details: details.into(),
    };
    let store = daemon.store.clone();
    tokio::spawn(async move {
        if let Err(err) = store.call(move |conn| crate::services::analytics::record_audit(conn, &event)).await {
            tracing::warn!("cannot write the audit log: {err:#}");
        }
    });
}

/// A change to what is installed, in this machine's audit log (the console's Audit page).
pub(crate) fn audit_market(d: &Daemon, actor: &str, action: &'static str, package: &protocol::market::Installed) {
    let permissions = if package.permissions.is_empty() { "none".to_owned() } else { package.permissions.join(", ") };
    let details = format!("registry {}; permissions: {permissions}", package.registry);
    let target =
        if package.version.is_empty() { package.name.clone() } else { format!("{}@{}", package.name, package.version) };
    audit(d, actor, action, &target, &details);
}
