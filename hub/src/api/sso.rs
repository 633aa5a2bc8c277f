//! Sign-in with the organisation's identity provider: `/auth/login` sends the
//! browser there (PKCE, state, nonce kept in PostgreSQL, so any replica can
//! take the callback), `/auth/callback` checks what comes back, finds the
//! member (by subject, else by verified address, else a new member when their
//! groups map to a team), follows their groups into and out of the teams that
//! follow a group, and — for `paired team join --sso` — sends the browser back
//! to the CLI's loopback address with a one-time code the CLI trades for a
//! device token at `POST /api/v1/auth/exchange`; a person signing in from a
//! browser lands in the team console, signed in (`crate::console`).

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Body, text};
use crate::{
    Hub, audit,
    auth::Principal,
    error::ApiError,
    roles::{Action, Within},
    secret,
};

/// How long a sign-in may take, and a one-time code may wait.
const LOGIN_MINUTES: i32 = 10;
const CODE_SECONDS: i32 = 120;

fn oidc(hub: &Hub) -> Result<&crate::oidc::Oidc, ApiError> {
    hub.oidc.as_deref().ok_or_else(|| {
        ApiError::NotFound("sign-in with an identity provider (this hub has none: --oidc-issuer)".into())
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Where a CLI waits (`http://127.0.0.1:PORT/…`); none for a browser.
    redirect: Option<String>,
    device: Option<String>,
}

/// A CLI's address must be this machine's loopback (RFC 8252): a sign-in can
/// never be sent to another host.
fn loopback(redirect: &str) -> Result<(), ApiError> {
    let refuse = || {
        ApiError::Invalid(format!("redirect {redirect:?} must be http://127.0.0.1:PORT/… or http://localhost:PORT/…"))
    };
    let rest = redirect.strip_prefix("http://").ok_or_else(refuse)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (name, port) = host.rsplit_once(':').ok_or_else(refuse)?;
    if !matches!(name, "127.0.0.1" | "localhost" | "[::1]") || port.parse::<u16>().is_err() || redirect.contains('@') {
        return Err(refuse());
    }
    Ok(())
}

pub async fn login(
    State(hub): State<Hub>,
    query: Result<Query<Login>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(login) = query.map_err(|err| ApiError::Invalid(err.body_text()))?;
    let oidc = oidc(&hub)?;
    if let Some(redirect) = &login.redirect {
        loopback(redirect)?;
    }
    let device = login.device.as_deref().map(|d| text("device", d, 100)).transpose()?;
    let started = oidc.start();
    let client = hub.pool.get().await?;
    client
        .execute("delete from sso_logins where created_at < now() - make_interval(mins => $1)", &[&LOGIN_MINUTES])
        .await?;
    client
        .execute(
            "insert into sso_logins (state, org_id, verifier, nonce, redirect, device) values ($1, $2, $3, $4, $5, $6)",
            &[&started.state, &hub.org, &started.verifier, &started.nonce, &login.redirect, &device],
        )
        .await?;
    // The sign-in is this browser's: the callback must come back with this
    // cookie, so nobody can finish a sign-in of theirs in someone else's
    // browser (login CSRF: the victim signed in as the attacker).
    let secure = if hub.public_url.starts_with("https://") { "; Secure" } else { "" };
    let binding = format!(
        "{LOGIN_COOKIE}={}; Path=/auth/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        started.state,
        LOGIN_MINUTES * 60
    );
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, started.url), (header::SET_COOKIE, binding)]).into_response())
}

/// The cookie that ties a sign-in's callback to the browser that started it.
const LOGIN_COOKIE: &str = "paired_hub_login";

/// Whether the request carries the binding cookie of sign-in `state`.
fn started_here(headers: &axum::http::HeaderMap, state: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(LOGIN_COOKIE)?.strip_prefix('='))
        .any(|value| crate::secret::equal(&crate::secret::hash(value), &crate::secret::hash(state)))
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><main><h1>{}</h1><p>{}</p></main></body></html>",
        escape(title),
        escape(title),
        escape(body)
    );
    (status, [(header::CONTENT_SECURITY_POLICY, "default-src 'none'")], Html(html)).into_response()
}

pub async fn callback(
    State(hub): State<Hub>,
    headers: axum::http::HeaderMap,
    Query(back): Query<Callback>,
) -> Result<Response, ApiError> {
    let oidc = oidc(&hub)?;
    if let Some(error) = back.error {
        let why = back.error_description.unwrap_or(error);
        return Ok(page(StatusCode::BAD_REQUEST, "Sign-in failed", &format!("The identity provider said: {why}")));
    }
    let (Some(code), Some(state)) = (back.code, back.state) else {
        return Ok(page(StatusCode::BAD_REQUEST, "Sign-in failed", "The identity provider sent no code."));
    };
    if !started_here(&headers, &state) {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "This sign-in was not started in this browser (or its cookie was lost): start again from here.",
        ));
    }
    let mut client = hub.pool.get().await?;
    // Single use: taken out whether what follows works or not.
    let Some(login) = client
        .query_opt(
            "delete from sso_logins where state = $1 and org_id = $2
               and created_at > now() - make_interval(mins => $3)
             returning verifier, nonce, redirect, device",
            &[&state, &hub.org, &LOGIN_MINUTES],
        )
        .await?
    else {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "This sign-in is unknown, used or too old: start again.",
        ));
    };
    let (verifier, nonce, redirect, device): (String, String, Option<String>, Option<String>) =
        (login.get(0), login.get(1), login.get(2), login.get(3));
    let identity = match oidc.finish(&code, &verifier, &nonce).await {
        Ok(identity) => identity,
        Err(why) => return Ok(page(StatusCode::BAD_REQUEST, "Sign-in failed", &why)),
    };
    let tx = client.transaction().await?;
    let signed_in = match sign_in(&tx, hub.org, &identity).await? {
        Ok(signed_in) => signed_in,
        Err(why) => return Ok(page(StatusCode::FORBIDDEN, "Not a member", &why)),
    };
    let details =
        json!({"teams_joined": signed_in.joined, "teams_left": signed_in.left, "new_member": signed_in.created});
    audit::record_as(
        &tx,
        hub.org,
        Some(signed_in.member),
        "sso.sign_in",
        &format!("member:{}", signed_in.member),
        details,
    )
    .await?;
    let Some(redirect) = redirect else {
        // A person in a browser: into the team console, signed in.
        let cookie = crate::console::start(&tx, &hub, signed_in.member).await?;
        tx.commit().await?;
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/console/".to_owned()), (header::SET_COOKIE, cookie)])
            .into_response());
    };
    let (code, digest) = secret::new_token(secret::Kind::Device);
    tx.execute(
        "insert into sso_codes (code_hash, org_id, member_id, device, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(secs => $5::int))",
        &[&digest.as_slice(), &hub.org, &signed_in.member, &device.unwrap_or_else(|| "device".into()), &CODE_SECONDS],
    )
    .await?;
    tx.commit().await?;
    let separator = if redirect.contains('?') { '&' } else { '?' };
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{redirect}{separator}code={code}"))]).into_response())
}

struct SignedIn {
    member: i64,
    created: bool,
    joined: Vec<i64>,
    left: Vec<i64>,
}

/// The member `identity` is (found, bound or made), and their teams brought
/// in line with their groups. `Ok(Err(why))` when they may not sign in.
async fn sign_in(
    tx: &deadpool_postgres::Transaction<'_>,
    org: i64,
    identity: &crate::oidc::Identity,
) -> Result<Result<SignedIn, String>, ApiError> {
    let rows = tx
        .query("select id from teams where org_id = $1 and sso_group = any($2::text[])", &[&org, &identity.groups])
        .await?;
    let groups_teams: Vec<i64> = ids(&rows);
    let by_subject = tx
        .query_opt(
            "select id, role, status from members where org_id = $1 and oidc_subject = $2 for update",
            &[&org, &identity.subject],
        )
        .await?;
    let verified = identity.email.as_ref().filter(|_| identity.email_verified);
    let mut found = by_subject;
    if found.is_none()
        && let Some(email) = verified
    {
        // The first sign-in of an invited member: their verified address binds the subject.
        let bound = tx
            .query_opt(
                "update members set oidc_subject = $3
                  where org_id = $1 and lower(email) = lower($2) and oidc_subject is null and email_verified
                 returning id, role, status",
                &[&org, email, &identity.subject],
            )
            .await?;
        found = bound;
    }
    let (member, _role, created) = match found {
        Some(row) => {
            let status: String = row.get(2);
            if status != "active" {
                return Ok(Err("This membership is deactivated: ask an admin.".into()));
            }
            let id: i64 = row.get(0);
            // A name the member has none of yet comes from the identity provider.
            tx.execute(
                "update members set display_name = $2 where id = $1 and display_name is null",
                &[&id, &identity.name],
            )
            .await?;
            (id, row.get::<_, String>(1), false)
        }
        None => {
            let Some(email) = verified else {
                return Ok(Err(
                    "The identity provider gave no verified address, and no member has this identity.".into()
                ));
            };
            if groups_teams.is_empty() {
                return Ok(Err(format!(
                    "{email} is not a member, and none of their groups is a team's: ask for an invitation."
                )));
            }
            let row = tx
                .query_one(
                    "insert into members (org_id, email, display_name, role, oidc_subject, email_verified)
                     values ($1, $2, $3, 'member', $4, true) returning id",
                    &[&org, email, &identity.name, &identity.subject],
                )
                .await
                .map_err(|err| ApiError::unique(err, format!("{email} is a member with another identity")))?;
            (row.get::<_, i64>(0), "member".to_owned(), true)
        }
    };
    // Teams that follow a group: in them exactly when in the group.
    let rows = tx
        .query(
            "insert into team_members (team_id, member_id) select unnest($1::bigint[]), $2 on conflict do nothing returning team_id",
            &[&groups_teams, &member],
        )
        .await?;
    let joined = ids(&rows);
    let rows = tx
        .query(
            "delete from team_members tm using teams t
              where tm.team_id = t.id and tm.member_id = $1 and t.org_id = $2
                and t.sso_group is not null and not (t.id = any($3::bigint[]))
             returning tm.team_id",
            &[&member, &org, &groups_teams],
        )
        .await?;
    let left = ids(&rows);
    Ok(Ok(SignedIn { member, created, joined, left }))
}

fn ids(rows: &[tokio_postgres::Row]) -> Vec<i64> {
    rows.iter().map(|row| row.get(0)).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    code: String,
}

/// A one-time code from a CLI's sign-in, traded for a device token.
pub async fn exchange(
    State(hub): State<Hub>,
    Body(exchange): Body<Exchange>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let digest = secret::hash(exchange.code.trim());
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "delete from sso_codes where code_hash = $1 and org_id = $2 and expires_at > now() returning member_id, device",
            &[&digest.as_slice(), &hub.org],
        )
        .await?
        .ok_or_else(|| ApiError::Forbidden("this sign-in code is not valid: it may be used or too old".into()))?;
    let (member, device): (i64, String) = (row.get(0), row.get(1));
    let found = tx
        .query_one(
            "select m.email, m.role, m.status, o.name from members m join orgs o on o.id = m.org_id where m.id = $1",
            &[&member],
        )
        .await?;
    if found.get::<_, String>(2) != "active" {
        return Err(ApiError::Forbidden("this membership is deactivated".into()));
    }
    let (token, token_hash) = secret::new_token(secret::Kind::Device);
    let token_id: i64 = tx
        .query_one(
            "insert into tokens (org_id, member_id, kind, name, token_hash, scopes)
             values ($1, $2, 'device', $3, $4, $5) returning id",
            &[&hub.org, &member, &device, &token_hash.as_slice(), &vec!["device".to_owned()]],
        )
        .await?
        .get(0);
    audit::record_as(&tx, hub.org, Some(member), "sso.device", &format!("token:{token_id}"), json!({})).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "org": {"id": hub.org, "name": found.get::<_, String>(3)},
            "member": {"id": member, "email": found.get::<_, Option<String>>(0), "role": found.get::<_, String>(1)},
            "token": token, "token_id": token_id, "hub": hub.public_url,
            "policy_key": hub.signing.as_deref().map(|k| base64::engine::general_purpose::STANDARD.encode(k.public_key())),
        })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The group's name in the identity provider's groups claim; null: none.
    group: Option<String>,
}

pub async fn map_group(
    State(hub): State<Hub>,
    who: Principal,
    Path(team): Path<i64>,
    Body(body): Body<Group>,
) -> Result<StatusCode, ApiError> {
    who.check(Action::TeamsMapGroup, Within::Team(team))?;
    let group = body.group.as_deref().map(|g| text("group", g, 200)).transpose()?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let changed = tx
        .execute("update teams set sso_group = $3 where id = $1 and org_id = $2", &[&team, &who.org, &group])
        .await
        .map_err(|err| ApiError::unique(err, "another team follows this group"))?;
    if changed == 0 {
        return Err(ApiError::NotFound(format!("team {team}")));
    }
    audit::record(&tx, &who, Action::TeamsMapGroup, &format!("team:{team}"), json!({"group": group})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
