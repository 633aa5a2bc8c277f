//! Teams and who is in them.

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
};

pub async fn list(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::TeamsList, Within::Org)?;
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select t.id, t.name, array(select member_id from team_members where team_id = t.id order by member_id)
               from teams t where t.org_id = $1 order by t.name",
            &[&who.org],
        )
        .await?;
    let teams: Vec<Value> = rows
        .iter()
        .map(|row| json!({"id": row.get::<_, i64>(0), "name": row.get::<_, String>(1), "members": row.get::<_, Vec<i64>>(2)}))
        .collect();
    Ok(Json(json!({"teams": teams})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    name: String,
}

pub async fn create(
    State(hub): State<Hub>,
    who: Principal,
    Body(new): Body<NewTeam>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.check(Action::TeamsCreate, Within::Org)?;
    let name = text("name", &new.name, 100)?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let id: i64 = tx
        .query_one("insert into teams (org_id, name) values ($1, $2) returning id", &[&who.org, &name])
        .await
        .map_err(|err| ApiError::unique(err, format!("a team named {name:?} exists")))?
        .get(0);
    audit::record(&tx, &who, Action::TeamsCreate, &format!("team:{id}"), json!({"name": name})).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "name": name, "members": []}))))
}

pub async fn remove(State(hub): State<Hub>, who: Principal, Path(team): Path<i64>) -> Result<StatusCode, ApiError> {
    who.check(Action::TeamsDelete, Within::Team(team))?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let name: String = tx
        .query_opt("delete from teams where id = $1 and org_id = $2 returning name", &[&team, &who.org])
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("team {team}")))?
        .get(0);
    audit::record(&tx, &who, Action::TeamsDelete, &format!("team:{team}"), json!({"name": name})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_member(
    State(hub): State<Hub>,
    who: Principal,
    Path((team, member)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    who.check(Action::TeamMembersAdd, Within::Team(team))?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    found(&tx, &who, team, member).await?;
    let added = tx
        .execute(
            "insert into team_members (team_id, member_id) values ($1, $2) on conflict do nothing",
            &[&team, &member],
        )
        .await?;
    if added == 1 {
        audit::record(&tx, &who, Action::TeamMembersAdd, &format!("team:{team}"), json!({"member": member})).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_member(
    State(hub): State<Hub>,
    who: Principal,
    Path((team, member)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    who.check(Action::TeamMembersRemove, Within::Team(team))?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    found(&tx, &who, team, member).await?;
    let removed =
        tx.execute("delete from team_members where team_id = $1 and member_id = $2", &[&team, &member]).await?;
    if removed == 1 {
        audit::record(&tx, &who, Action::TeamMembersRemove, &format!("team:{team}"), json!({"member": member})).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Both the team and a member not deleted exist in this organisation, and the
/// member's role is one `who` could grant (nobody moves someone above them,
/// nor themselves out of a team's policy and quotas).
async fn found(
    tx: &deadpool_postgres::Transaction<'_>,
    who: &Principal,
    team: i64,
    member: i64,
) -> Result<(), ApiError> {
    let row = tx
        .query_one(
            "select exists (select 1 from teams where id = $1 and org_id = $3),
                    (select role from members where id = $2 and org_id = $3 and status <> 'deleted')",
            &[&team, &member, &who.org],
        )
        .await?;
    let role: Option<String> = row.get(1);
    match (row.get(0), role.as_deref().and_then(crate::roles::Role::parse)) {
        (false, _) => Err(ApiError::NotFound(format!("team {team}"))),
        (_, None) => Err(ApiError::NotFound(format!("member {member}"))),
        (_, Some(role)) if !who.role.may_grant(role) => Err(ApiError::Forbidden(format!(
            "a {} may not move a {} in or out of a team",
            who.role.as_str(),
            role.as_str()
        ))),
        _ => Ok(()),
    }
}
