//! Invitations (a code, or a link carrying it, that expires) and joining with
//! one: the joiner becomes a member and their daemon gets a device token.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse as _,
};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Body, email, text};
use crate::{
    Hub, audit,
    auth::Principal,
    error::ApiError,
    roles::{Action, Role, Within},
    secret,
};

const DEFAULT_HOURS: i64 = 72;
const MAX_HOURS: i64 = 30 * 24;
const MAX_USES: i32 = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// Who may use it; without one, anyone holding the code, `max_uses` times.
    email: Option<String>,
    role: String,
    team: Option<i64>,
    max_uses: Option<i32>,
    expires_in_hours: Option<i64>,
}

pub async fn create(
    State(hub): State<Hub>,
    who: Principal,
    Body(new): Body<NewInvitation>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.check(Action::InvitationsCreate, new.team.map_or(Within::Org, Within::Team))?;
    let role = Role::parse(&new.role).ok_or_else(|| {
        ApiError::Invalid(format!("{:?} is not a role: admin, manager, team_lead, member or viewer", new.role))
    })?;
    if !who.role.may_grant(role) {
        return Err(ApiError::Forbidden(format!("a {} may not invite a {}", who.role.as_str(), role.as_str())));
    }
    let address = new.email.as_deref().map(email).transpose()?;
    let max_uses = match (&address, new.max_uses) {
        (Some(_), None | Some(1)) | (None, None) => 1,
        (Some(_), Some(_)) => return Err(ApiError::Invalid("an invitation for one address has one use".into())),
        (None, Some(n)) if (1..=MAX_USES).contains(&n) => n,
        (None, Some(_)) => return Err(ApiError::Invalid(format!("max_uses must be 1 to {MAX_USES}"))),
    };
    let hours = new.expires_in_hours.unwrap_or(DEFAULT_HOURS);
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(ApiError::Invalid(format!("expires_in_hours must be 1 to {MAX_HOURS}")));
    }
    let (code, digest) = secret::new_code();
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    if let Some(team) = new.team {
        let exists = tx
            .query_one("select exists (select 1 from teams where id = $1 and org_id = $2)", &[&team, &who.org])
            .await?;
        if !exists.get::<_, bool>(0) {
            return Err(ApiError::NotFound(format!("team {team}")));
        }
    }
    if let Some(address) = &address {
        let taken = tx
            .query_one(
                "select exists (select 1 from members where org_id = $1 and lower(email) = lower($2))",
                &[&who.org, address],
            )
            .await?;
        if taken.get::<_, bool>(0) {
            return Err(ApiError::Conflict(format!("{address} is already a member")));
        }
    }
    let row = tx
        .query_one(
            "insert into invitations (org_id, code_hash, email, role, team_id, max_uses, expires_at, created_by)
             values ($1, $2, $3, $4, $5, $6, now() + make_interval(hours => $7::int), $8)
             returning id, expires_at",
            &[
                &who.org,
                &digest.as_slice(),
                &address,
                &role.as_str(),
                &new.team,
                &max_uses,
                &i32::try_from(hours).unwrap_or(1),
                &who.member,
            ],
        )
        .await?;
    let id: i64 = row.get(0);
    let details = json!({"role": role, "team": new.team, "max_uses": max_uses, "for_one_address": address.is_some()});
    audit::record(&tx, &who, Action::InvitationsCreate, &format!("invitation:{id}"), details).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id, "code": code, "link": format!("{}/join?code={code}", hub.public_url),
            "join": format!("paired team join {} --code {code}", hub.public_url),
            "email": address, "role": role, "team": new.team, "max_uses": max_uses,
            "expires_at": row.get::<_, jiff::Timestamp>(1),
        })),
    ))
}

pub async fn list(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::InvitationsList, Within::Org)?;
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select id, email, role, team_id, uses, max_uses, expires_at, created_by from invitations
              where org_id = $1 and revoked_at is null and expires_at > now() and uses < max_uses
              order by id",
            &[&who.org],
        )
        .await?;
    let pending: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.get::<_, i64>(0), "email": row.get::<_, Option<String>>(1), "role": row.get::<_, String>(2),
                "team": row.get::<_, Option<i64>>(3), "uses": row.get::<_, i32>(4), "max_uses": row.get::<_, i32>(5),
                "expires_at": row.get::<_, jiff::Timestamp>(6), "created_by": row.get::<_, Option<i64>>(7),
            })
        })
        .collect();
    Ok(Json(json!({"invitations": pending})))
}

pub async fn revoke(State(hub): State<Hub>, who: Principal, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    who.check(Action::InvitationsRevoke, Within::Org)?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let revoked = tx
        .execute(
            "update invitations set revoked_at = now() where id = $1 and org_id = $2 and revoked_at is null",
            &[&id, &who.org],
        )
        .await?;
    if revoked == 0 {
        return Err(ApiError::NotFound(format!("invitation {id}")));
    }
    audit::record(&tx, &who, Action::InvitationsRevoke, &format!("invitation:{id}"), json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    code: String,
    /// Required for a code that is not for one address.
    email: Option<String>,
    name: Option<String>,
    /// What the device token is called (the machine's name).
    device: Option<String>,
}

/// The invitation link's page: what to run (a browser cannot join a machine).
pub async fn page(
    State(hub): State<Hub>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    let code = query.get("code").map(String::as_str).unwrap_or("CODE");
    let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Join the team on PAIRED</title></head>\
         <body><main><h1>Join the team on PAIRED</h1><p>On the machine you code on, run:</p>\
         <pre>paired team join {} --code {code}</pre></main></body></html>",
        hub.public_url.replace('<', "&lt;")
    );
    ([(axum::http::header::CONTENT_SECURITY_POLICY, "default-src 'none'")], axum::response::Html(html)).into_response()
}

/// Joins with an invitation code: no token needed, the code is the credential.
pub async fn join(State(hub): State<Hub>, Body(join): Body<Join>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let refused = || {
        ApiError::Forbidden("this invitation code is not valid: it may be mistyped, used, expired or revoked".into())
    };
    let digest = secret::code_hash(&join.code);
    let name = join.name.as_deref().map(|n| text("name", n, 100)).transpose()?;
    let device = text("device", join.device.as_deref().unwrap_or("device"), 100)?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let invitation = tx
        .query_opt(
            "select id, org_id, email, role, team_id from invitations
              where code_hash = $1 and org_id = $2 and revoked_at is null and expires_at > now() and uses < max_uses
              for update",
            &[&digest.as_slice(), &hub.org],
        )
        .await?
        .ok_or_else(refused)?;
    let (id, org): (i64, i64) = (invitation.get(0), invitation.get(1));
    let address = match (invitation.get::<_, Option<String>>(2), join.email.as_deref().map(email).transpose()?) {
        (Some(invited), Some(given)) if !invited.eq_ignore_ascii_case(&given) => return Err(refused()),
        (Some(invited), _) => invited,
        (None, Some(given)) => given,
        (None, None) => return Err(ApiError::Invalid("this code is for anyone: say who you are with `email`".into())),
    };
    let role: String = invitation.get(3);
    let vouched = invitation.get::<_, Option<String>>(2).is_some();
    if !vouched {
        // An open code does not let anyone take an address someone was invited at.
        let pending = tx
            .query_one(
                "select exists (select 1 from invitations where org_id = $1 and lower(email) = lower($2)
                                 and revoked_at is null and expires_at > now() and uses < max_uses)",
                &[&org, &address],
            )
            .await?;
        if pending.get::<_, bool>(0) {
            return Err(ApiError::Conflict(format!("{address} has an invitation of its own: use that code")));
        }
    }
    let member: i64 = tx
        .query_one(
            "insert into members (org_id, email, display_name, role, email_verified) values ($1, $2, $3, $4, $5)
             returning id",
            &[&org, &address, &name, &role, &vouched],
        )
        .await
        .map_err(|err| {
            ApiError::unique(err, format!("{address} is already a member: add this device from a signed-in session"))
        })?
        .get(0);
    if let Some(team) = invitation.get::<_, Option<i64>>(4) {
        tx.execute("insert into team_members (team_id, member_id) values ($1, $2)", &[&team, &member]).await?;
    }
    tx.execute("update invitations set uses = uses + 1 where id = $1", &[&id]).await?;
    let (token, token_hash) = secret::new_token(secret::Kind::Device);
    let token_id: i64 = tx
        .query_one(
            "insert into tokens (org_id, member_id, kind, name, token_hash, scopes)
             values ($1, $2, 'device', $3, $4, $5) returning id",
            &[&org, &member, &device, &token_hash.as_slice(), &vec!["device".to_owned()]],
        )
        .await?
        .get(0);
    let details = json!({"invitation": id, "role": role});
    audit::record_as(&tx, org, Some(member), "invitations.accept", &format!("member:{member}"), details).await?;
    let org_name: String = tx.query_one("select name from orgs where id = $1", &[&org]).await?.get(0);
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "org": {"id": org, "name": org_name}, "member": {"id": member, "email": address, "role": role},
            "token": token, "token_id": token_id, "hub": hub.public_url,
            // The key the member's daemon pins: policies signed by any other are refused.
            "policy_key": hub.signing.as_deref().map(|k| base64::engine::general_purpose::STANDARD.encode(k.public_key())),
        })),
    ))
}
