//! Members: their roles, deactivation, and the deletion of their personal data.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Body;
use crate::{
    Hub, audit,
    auth::Principal,
    error::ApiError,
    roles::{Action, Role, Within},
};

type Tx<'a> = deadpool_postgres::Transaction<'a>;

pub async fn list(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::MembersList, Within::Org)?;
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select m.id, m.email, m.display_name, m.role, m.status, m.created_at,
                    array(select team_id from team_members where member_id = m.id order by team_id)
               from members m where m.org_id = $1 and m.status <> 'deleted' order by m.id",
            &[&who.org],
        )
        .await?;
    // Addresses are for those who manage people; members and viewers see names.
    let addresses =
        matches!(who.role, crate::roles::Role::Admin | crate::roles::Role::Manager | crate::roles::Role::TeamLead);
    let members: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.get::<_, i64>(0), "email": if addresses { row.get::<_, Option<String>>(1) } else { None },
                "name": row.get::<_, Option<String>>(2), "role": row.get::<_, String>(3),
                "status": row.get::<_, String>(4), "created_at": row.get::<_, jiff::Timestamp>(5),
                "teams": row.get::<_, Vec<i64>>(6),
            })
        })
        .collect();
    Ok(Json(json!({"members": members})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    role: String,
}

pub async fn set_role(
    State(hub): State<Hub>,
    who: Principal,
    Path(member): Path<i64>,
    Body(new): Body<NewRole>,
) -> Result<Json<Value>, ApiError> {
    who.check(Action::MembersSetRole, Within::Org)?;
    let role = Role::parse(&new.role).ok_or_else(|| {
        ApiError::Invalid(format!("{:?} is not a role: admin, manager, team_lead, member or viewer", new.role))
    })?;
    if !who.role.may_grant(role) {
        return Err(ApiError::Forbidden(format!("a {} may not make anyone a {}", who.role.as_str(), role.as_str())));
    }
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let (old, status) = target(&tx, &who, member).await?;
    if old == Role::Admin && role != Role::Admin && status == "active" {
        keep_an_admin(&tx, who.org, member).await?;
    }
    tx.execute("update members set role = $2 where id = $1", &[&member, &role.as_str()]).await?;
    let details = json!({"from": old, "to": role});
    audit::record(&tx, &who, Action::MembersSetRole, &format!("member:{member}"), details).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": member, "role": role})))
}

pub async fn deactivate(
    State(hub): State<Hub>,
    who: Principal,
    Path(member): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    who.check(Action::MembersDeactivate, Within::Org)?;
    set_status(hub, who, member, Action::MembersDeactivate, "deactivated").await
}

pub async fn reactivate(
    State(hub): State<Hub>,
    who: Principal,
    Path(member): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    who.check(Action::MembersReactivate, Within::Org)?;
    set_status(hub, who, member, Action::MembersReactivate, "active").await
}

async fn set_status(
    hub: Hub,
    who: Principal,
    member: i64,
    action: Action,
    status: &str,
) -> Result<Json<Value>, ApiError> {
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let (role, old) = target(&tx, &who, member).await?;
    if old != status {
        if role == Role::Admin && status != "active" {
            keep_an_admin(&tx, who.org, member).await?;
        }
        tx.execute("update members set status = $2 where id = $1", &[&member, &status]).await?;
        if status != "active" {
            // Their console sessions end (reactivating does not bring them back).
            tx.execute("delete from console_sessions where member_id = $1", &[&member]).await?;
        }
        audit::record(&tx, &who, action, &format!("member:{member}"), json!({})).await?;
    }
    tx.commit().await?;
    Ok(Json(json!({"id": member, "status": status})))
}

/// Deletes a member's personal data: their address and name, tokens, team
/// places and invitations; what remains (the audit log, later usage) names a
/// number that no longer leads to a person.
pub async fn erase(State(hub): State<Hub>, who: Principal, Path(member): Path<i64>) -> Result<StatusCode, ApiError> {
    who.check(Action::MembersErase, Within::Org)?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let (role, status) = target(&tx, &who, member).await?;
    if role == Role::Admin && status == "active" {
        keep_an_admin(&tx, who.org, member).await?;
    }
    let email: Option<String> = tx.query_one("select email from members where id = $1", &[&member]).await?.get(0);
    tx.execute("delete from tokens where member_id = $1", &[&member]).await?;
    tx.execute("delete from team_members where member_id = $1", &[&member]).await?;
    tx.execute("delete from console_sessions where member_id = $1", &[&member]).await?;
    // Their usage stays in the aggregates, under no one.
    tx.execute("update usage_events set member_id = null where member_id = $1", &[&member]).await?;
    crate::console::forget_member(&tx, who.org, member).await?;
    tx.execute("delete from invitations where org_id = $1 and lower(email) = lower($2)", &[&who.org, &email]).await?;
    tx.execute(
        "update members set email = null, display_name = null, oidc_subject = null, status = 'deleted', deleted_at = now()
          where id = $1",
        &[&member],
    )
    .await?;
    audit::record(&tx, &who, Action::MembersErase, &format!("member:{member}"), json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The member's role and status, locked for this transaction; refused when
/// missing, deleted, or above what `who` may touch.
async fn target(tx: &Tx<'_>, who: &Principal, member: i64) -> Result<(Role, String), ApiError> {
    // Membership changes in one organisation take turns: two admins demoting
    // each other at once must not both succeed (nor deadlock on each other's row).
    tx.execute("select pg_advisory_xact_lock(hashtextextended('paired.members', $1))", &[&who.org]).await?;
    let row = tx
        .query_opt(
            "select role, status from members where id = $1 and org_id = $2 and status <> 'deleted' for update",
            &[&member, &who.org],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("member {member}")))?;
    let role = Role::parse(row.get(0)).ok_or_else(|| ApiError::NotFound(format!("member {member}")))?;
    if !who.role.may_grant(role) {
        return Err(ApiError::Forbidden(format!(
            "a {} may not change a {}'s membership",
            who.role.as_str(),
            role.as_str()
        )));
    }
    Ok((role, row.get(1)))
}

/// Refuses to leave the organisation without an active admin besides `leaving`.
async fn keep_an_admin(tx: &Tx<'_>, org: i64, leaving: i64) -> Result<(), ApiError> {
    // `target` holds the organisation's membership lock.
    let others = tx
        .query(
            "select id from members where org_id = $1 and role = 'admin' and status = 'active' and id <> $2",
            &[&org, &leaving],
        )
        .await?;
    if others.is_empty() {
        return Err(ApiError::Conflict(
            "this is the organisation's last active admin: make someone else admin first".into(),
        ));
    }
    Ok(())
}
