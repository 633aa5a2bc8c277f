//! The team console: the same front-end as the daemon's (`console` crate),
//! under `/console/` on the hub, signed in through the organisation's single
//! sign-on, each page's data checked with the hub's one check
//! (`Principal::check`) for the member's role.
//!
//! A browser sign-in (`/auth/login` without a CLI's loopback address) ends in
//! a console session: a random cookie (`HttpOnly`, `SameSite=Strict`,
//! `Path=/console/`, `Secure` when the hub is reached over HTTPS), stored
//! hashed in PostgreSQL so any replica serves it, 12 hours at most, 2 idle,
//! gone when the member is deactivated or erased, or signs out. A session
//! reads; it changes nothing (its scope is `read`).
//!
//! Every request: an `Origin`, when sent, must be the hub's own; API requests
//! another site started (`Sec-Fetch-Site`) are refused; every reply carries
//! the console's headers (CSP without inline scripts, no framing).

mod api;
mod usage;

use axum::{
    Router,
    body::Body,
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{Hub, auth::Principal, error::ApiError, roles::Role, secret};

const COOKIE: &str = "paired_hub_console";
/// How long a console session lasts, however busy, and untouched.
const SESSION_HOURS: i32 = 12;
const IDLE_MINUTES: i32 = 120;

pub fn router(hub: Hub) -> Router {
    Router::new()
        .route("/console", get(|| async { (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, "/console/")]) }))
        .route("/console/", get(page))
        .route("/console/{file}", get(page))
        .merge(api::router())
        .layer(axum::middleware::from_fn_with_state(hub.clone(), guard))
        .with_state(hub)
}

async fn page(request: Request) -> Response {
    let path = request.uri().path().strip_prefix("/console/").unwrap_or("");
    match ::paired_console::asset(path) {
        Some((file, kind)) => {
            ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], Body::from(file.into_owned()))
                .into_response()
        }
        None => ApiError::NotFound(format!("/console/{path}")).into_response(),
    }
}

/// The hub's own origins: its public address's, and the one the request
/// names itself by (a hub reached directly).
fn own_origin(hub: &Hub, headers: &HeaderMap, origin: &str) -> bool {
    let public = hub.public_url.trim_end_matches('/');
    let public_origin = public.split('/').take(3).collect::<Vec<_>>().join("/");
    if origin == public_origin {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

async fn guard(State(hub): State<Hub>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let foreign = || ApiError::Forbidden("another site's page may not use the console".into()).into_response();
    if let Some(origin) = headers.get(header::ORIGIN)
        && !own_origin(&hub, headers, origin.to_str().unwrap_or(""))
    {
        return foreign();
    }
    let api = request.uri().path().starts_with("/console/api/");
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if api && request.uri().path() != "/console/api/sso/login" && matches!(site, Some("cross-site" | "same-site")) {
        return foreign();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in ::paired_console::HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The session cookies' values (every one of the name: another page may have set a bogus one beside it).
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let lines = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok());
    ::paired_console::cookies(lines, COOKIE)
}

/// The first console cookie, for the rate limit's key.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookies(headers).next()
}

/// A member signed in to the console: who they are, as a read-only principal.
pub struct Session {
    pub who: Principal,
    pub id_hash: secret::Hash,
    pub name: String,
}

impl FromRequestParts<Hub> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hub: &Hub) -> Result<Session, ApiError> {
        let digests: Vec<Vec<u8>> = cookies(&parts.headers).take(4).map(|v| secret::hash(v).to_vec()).collect();
        if digests.is_empty() {
            return Err(ApiError::Unauthenticated);
        }
        let client = hub.pool.get().await?;
        let row = client
            .query_opt(
                "update console_sessions s set seen_at = now()
                   from members m
                  where s.id_hash = any($1) and s.org_id = $2 and m.id = s.member_id and m.status = 'active'
                    and s.expires_at > now() and s.seen_at > now() - make_interval(mins => $3)
                 returning m.id, m.role, coalesce(m.display_name, m.email, 'member ' || m.id),
                           array(select team_id from team_members where member_id = m.id order by team_id),
                           s.expires_at, s.id_hash",
                &[&digests, &hub.org, &IDLE_MINUTES],
            )
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let digest: Vec<u8> = row.get(5);
        let digest: secret::Hash = digest.try_into().map_err(|_| ApiError::Unauthenticated)?;
        let role: String = row.get(1);
        let role = Role::parse(&role).ok_or_else(|| ApiError::Forbidden(format!("unknown role {role}")))?;
        let who = Principal {
            org: hub.org,
            member: Some(row.get(0)),
            role,
            teams: row.get(3),
            scopes: vec!["read".into()],
            token: None,
            token_expires: Some(row.get(4)),
        };
        Ok(Session { who, id_hash: digest, name: row.get(2) })
    }
}

/// A new console session for `member` (the SSO callback's, in its
/// transaction): the `Set-Cookie` value.
pub async fn start(tx: &deadpool_postgres::Transaction<'_>, hub: &Hub, member: i64) -> Result<String, ApiError> {
    let (value, digest) = secret::new_token(secret::Kind::Console);
    tx.execute(
        "insert into console_sessions (id_hash, org_id, member_id, expires_at)
         values ($1, $2, $3, now() + make_interval(hours => $4))",
        &[&digest.as_slice(), &hub.org, &member, &SESSION_HOURS],
    )
    .await?;
    tx.execute("delete from console_sessions where expires_at < now()", &[]).await?;
    let secure = if hub.public_url.starts_with("https://") { "; Secure" } else { "" };
    Ok(format!("{COOKIE}={value}; Path=/console/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", SESSION_HOURS * 3600))
}

/// When a member's personal data is deleted: their rolled-up usage joins the
/// anonymous rows (member 0), as their events lose their member.
pub async fn forget_member(tx: &deadpool_postgres::Transaction<'_>, org: i64, member: i64) -> Result<(), ApiError> {
    // One function in the database (0009) knows every table with a member.
    tx.execute("select usage_forget_member($1, $2)", &[&org, &member]).await?;
    Ok(())
}
