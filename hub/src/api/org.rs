//! The organisation, oneself, and the roles matrix.

use axum::{Json, extract::State};
use serde_json::{Value, json};

use crate::{
    Hub,
    auth::Principal,
    error::ApiError,
    roles::{Action, Role, Within},
};

pub async fn show(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::OrgRead, Within::Org)?;
    let client = hub.pool.get().await?;
    let row = client
        .query_one(
            "select o.name, o.created_at,
                    (select count(*) from members where org_id = o.id and status = 'active'),
                    (select count(*) from teams where org_id = o.id)
               from orgs o where o.id = $1",
            &[&who.org],
        )
        .await?;
    let created: jiff::Timestamp = row.get(1);
    Ok(Json(json!({
        "id": who.org, "name": row.get::<_, String>(0), "created_at": created,
        "active_members": row.get::<_, i64>(2), "teams": row.get::<_, i64>(3),
        "hub": hub.public_url,
    })))
}

pub async fn me(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::MeRead, Within::Org)?;
    let Some(member) = who.member else {
        return Ok(Json(
            json!({"member": null, "role": "admin", "break_glass": true, "teams": [], "scopes": who.scopes}),
        ));
    };
    let client = hub.pool.get().await?;
    let row = client.query_one("select email, display_name from members where id = $1", &[&member]).await?;
    // The organisation's agent registry, for the member's daemon to use.
    let registry = crate::registry::root(&client, who.org).await?.map(|root| {
        let root: Value = serde_json::from_slice(&root).unwrap_or(Value::Null);
        json!({"name": super::registry::NAME, "url": super::registry::url(&hub), "root": root})
    });
    Ok(Json(json!({
        "member": member, "email": row.get::<_, Option<String>>(0), "name": row.get::<_, Option<String>>(1),
        "role": who.role, "teams": who.teams, "scopes": who.scopes, "break_glass": false, "registry": registry,
    })))
}

/// The roles × actions matrix, as `roles.rs` has it.
pub async fn roles(who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::RolesRead, Within::Org)?;
    let actions: Vec<Value> = Action::ALL
        .iter()
        .map(|&action| {
            let (method, path) = action.endpoint();
            json!({
                "action": action.name(), "method": method, "path": path, "scope": action.scope(),
                "roles": action.roles(), "team_scoped": action.team_scoped(), "description": action.describe(),
            })
        })
        .collect();
    Ok(Json(json!({"roles": Role::ALL, "actions": actions})))
}
