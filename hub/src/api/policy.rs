//! Policy: rules per scope (the organisation, a team, a member), set by
//! admins; each member's daemon gets every scope that applies to them, signed
//! with the hub's Ed25519 key, and applies it offline until it expires.

use axum::{Json, extract::State, http::StatusCode};
use base64::Engine as _;
use policy::{Rules, Source, signed::Policy};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Body;
use crate::{
    Hub, audit,
    auth::Principal,
    error::ApiError,
    roles::{Action, Within},
};

fn signing(hub: &Hub) -> Result<&policy::signed::SigningKey, ApiError> {
    hub.signing.as_deref().ok_or_else(|| {
        ApiError::Conflict(
            "this hub signs no policy: start it with --policy-key-file (`paired hub keygen --out FILE`)".into(),
        )
    })
}

/// The caller's policy, signed: the organisation's rules, then each of their
/// teams', then their own.
pub async fn mine(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::PolicyRead, Within::Org)?;
    let member = who.member()?;
    let key = signing(&hub)?;
    let client = hub.pool.get().await?;
    let sources = sources(&client, who.org, member).await?;
    let org: String = client.query_one("select name from orgs where id = $1", &[&who.org]).await?.get(0);
    let now = jiff::Timestamp::now();
    let policy = Policy { org, member, issued_at: now, expires_at: now + hub.policy_ttl, sources };
    Ok(Json(json!({
        "envelope": key.sign(&policy),
        "public_key": base64::engine::general_purpose::STANDARD.encode(key.public_key()),
    })))
}

pub async fn list(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::PoliciesList, Within::Org)?;
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select scope, rules, updated_at, updated_by from policies where org_id = $1 order by scope",
            &[&who.org],
        )
        .await?;
    let policies: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "scope": row.get::<_, String>(0), "rules": row.get::<_, Value>(1),
                "updated_at": row.get::<_, jiff::Timestamp>(2), "updated_by": row.get::<_, Option<i64>>(3),
            })
        })
        .collect();
    let key = hub.signing.as_deref().map(|k| policy::signed::key_id(k.public_key()));
    Ok(Json(json!({"policies": policies, "key_id": key})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPolicy {
    /// `org`, `team:ID` or `member:ID`.
    scope: String,
    rules: Rules,
}

pub async fn set(State(hub): State<Hub>, who: Principal, Body(set): Body<SetPolicy>) -> Result<StatusCode, ApiError> {
    who.check(Action::PoliciesSet, Within::Org)?;
    set.rules.check().map_err(ApiError::Invalid)?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let exists = match set.scope.split_once(':') {
        None if set.scope == "org" => true,
        Some(("team", id)) => {
            let id: i64 = id.parse().map_err(|_| ApiError::Invalid(format!("{:?} is not a team scope", set.scope)))?;
            tx.query_one("select exists (select 1 from teams where id = $1 and org_id = $2)", &[&id, &who.org])
                .await?
                .get(0)
        }
        Some(("member", id)) => {
            let id: i64 =
                id.parse().map_err(|_| ApiError::Invalid(format!("{:?} is not a member scope", set.scope)))?;
            tx.query_one("select exists (select 1 from members where id = $1 and org_id = $2)", &[&id, &who.org])
                .await?
                .get(0)
        }
        _ => return Err(ApiError::Invalid(format!("scope {:?} is not org, team:ID or member:ID", set.scope))),
    };
    if !exists {
        return Err(ApiError::NotFound(set.scope));
    }
    let rules = serde_json::to_value(&set.rules).unwrap_or_default();
    tx.execute(
        "insert into policies (org_id, scope, rules, updated_by) values ($1, $2, $3, $4)
         on conflict (org_id, scope) do update set rules = excluded.rules, updated_by = excluded.updated_by, updated_at = now()",
        &[&who.org, &set.scope, &rules, &who.member],
    )
    .await?;
    audit::record(&tx, &who, Action::PoliciesSet, &format!("policy:{}", set.scope), json!({"rules": rules})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's policy sources, widest first: the organisation's rules, then
/// each of their teams', then their own.
pub async fn sources(client: &deadpool_postgres::Client, org: i64, member: i64) -> Result<Vec<Source>, ApiError> {
    let rows = client
        .query(
            "select p.scope, p.rules, coalesce(t.name, ''), case when p.scope = 'org' then 0 when p.scope like 'team:%' then 1 else 2 end as rank
               from policies p
               left join teams t on p.scope = 'team:' || t.id
              where p.org_id = $1
                and (p.scope = 'org' or p.scope = 'member:' || $2::bigint
                     or p.scope in (select 'team:' || team_id from team_members where member_id = $2))
              order by rank, p.scope",
            &[&org, &member],
        )
        .await?;
    let mut sources = Vec::new();
    for row in &rows {
        let scope: String = row.get(0);
        let rules: Rules = serde_json::from_value(row.get(1)).map_err(|err| {
            ApiError::Invalid(format!("the stored rules of {scope} no longer read ({err}); set them again"))
        })?;
        let label = match scope.split_once(':') {
            Some(("team", _)) => format!("team:{}", row.get::<_, String>(2)),
            Some(("member", _)) => "member".to_owned(),
            _ => scope,
        };
        sources.push(Source { scope: label, rules });
    }
    Ok(sources)
}
