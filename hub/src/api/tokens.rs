//! Personal access tokens: scoped, expiring, revocable, stored hashed; and
//! the device tokens joined daemons hold, revoked the same way.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
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

const DEFAULT_DAYS: i64 = 90;
const MAX_DAYS: i64 = 366;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    /// `read`, `write` (which includes reading).
    scopes: Vec<String>,
    expires_in_days: Option<i64>,
}

pub async fn create(
    State(hub): State<Hub>,
    who: Principal,
    Body(new): Body<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.check(Action::TokensCreate, Within::Org)?;
    let member = who.member()?;
    let name = text("name", &new.name, 100)?;
    if new.scopes.is_empty() || new.scopes.iter().any(|s| s != "read" && s != "write") {
        return Err(ApiError::Invalid("scopes must be one or both of \"read\" and \"write\"".into()));
    }
    // A personal token never makes one that reaches further than itself.
    if new.scopes.iter().any(|s| s == "write") && !who.scopes.iter().any(|s| s == "write" || s == "device") {
        return Err(ApiError::Forbidden("a token without the write scope cannot make one with it".into()));
    }
    let days = new.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::Invalid(format!("expires_in_days must be 1 to {MAX_DAYS}")));
    }
    // Nor outlives it: a leaked short-lived token cannot mint a long-lived one.
    let mut days = days;
    if let Some(limit) = who.token_expires {
        let left = limit.duration_since(jiff::Timestamp::now()).as_secs() / 86_400;
        if left < 1 {
            return Err(ApiError::Forbidden("this token expires within a day: it cannot make another".into()));
        }
        days = days.min(left);
    }
    let (token, digest) = secret::new_token(secret::Kind::Personal);
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_one(
            "insert into tokens (org_id, member_id, kind, name, token_hash, scopes, expires_at)
             values ($1, $2, 'personal', $3, $4, $5, now() + make_interval(days => $6::int))
             returning id, expires_at",
            &[&who.org, &member, &name, &digest.as_slice(), &new.scopes, &i32::try_from(days).unwrap_or(1)],
        )
        .await?;
    let id: i64 = row.get(0);
    let details = json!({"scopes": new.scopes, "days": days});
    audit::record(&tx, &who, Action::TokensCreate, &format!("token:{id}"), details).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id, "token": token, "name": name, "scopes": new.scopes,
            "expires_at": row.get::<_, jiff::Timestamp>(1),
        })),
    ))
}

/// One's own tokens (never the token itself: only its hash is kept).
pub async fn list(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::TokensList, Within::Org)?;
    tokens_of(&hub, who.org, who.member()?).await
}

async fn tokens_of(hub: &Hub, org: i64, member: i64) -> Result<Json<Value>, ApiError> {
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select id, kind, name, scopes, expires_at, last_used_at, created_at, revoked_at is not null
               from tokens where member_id = $1 and org_id = $2 order by id",
            &[&member, &org],
        )
        .await?;
    let tokens: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.get::<_, i64>(0), "kind": row.get::<_, String>(1), "name": row.get::<_, String>(2),
                "scopes": row.get::<_, Vec<String>>(3), "expires_at": row.get::<_, Option<jiff::Timestamp>>(4),
                "last_used_at": row.get::<_, Option<jiff::Timestamp>>(5),
                "created_at": row.get::<_, jiff::Timestamp>(6), "revoked": row.get::<_, bool>(7),
            })
        })
        .collect();
    Ok(Json(json!({"tokens": tokens})))
}

/// A member's tokens (an admin's view).
pub async fn list_any(
    State(hub): State<Hub>,
    who: Principal,
    Path(member): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    who.check(Action::TokensListAny, Within::Org)?;
    tokens_of(&hub, who.org, member).await
}

/// Revokes one of one's own tokens.
pub async fn revoke(State(hub): State<Hub>, who: Principal, Path(token): Path<i64>) -> Result<StatusCode, ApiError> {
    who.check(Action::TokensRevoke, Within::Org)?;
    let member = who.member()?;
    revoke_of(hub, who, member, token, Action::TokensRevoke).await
}

/// Revokes a member's token (an admin's power: a lost laptop).
pub async fn revoke_any(
    State(hub): State<Hub>,
    who: Principal,
    Path((member, token)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    who.check(Action::TokensRevokeAny, Within::Org)?;
    revoke_of(hub, who, member, token, Action::TokensRevokeAny).await
}

async fn revoke_of(hub: Hub, who: Principal, member: i64, token: i64, action: Action) -> Result<StatusCode, ApiError> {
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let revoked = tx
        .execute(
            "update tokens set revoked_at = now()
              where id = $1 and member_id = $2 and org_id = $3 and revoked_at is null",
            &[&token, &member, &who.org],
        )
        .await?;
    if revoked == 0 {
        return Err(ApiError::NotFound(format!("token {token}")));
    }
    audit::record(&tx, &who, action, &format!("token:{token}"), json!({"member": member})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
