//! The audit log: every administrative action, written in the transaction that
//! performs it (so the log has exactly the changes that happened). Members are
//! named by id, never by address, so deleting one's personal data leaves the
//! log intact and anonymous.

use serde_json::Value;

use crate::{auth::Principal, roles::Action};

pub async fn record(
    tx: &impl deadpool_postgres::GenericClient,
    actor: &Principal,
    action: Action,
    target: &str,
    details: Value,
) -> Result<(), tokio_postgres::Error> {
    record_as(tx, actor.org, actor.member, action.name(), target, details).await
}

/// A record under any name (`invitations.accept`, for the joiner, who holds no
/// token yet).
pub async fn record_as(
    tx: &impl deadpool_postgres::GenericClient,
    org: i64,
    actor: Option<i64>,
    action: &str,
    target: &str,
    details: Value,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "insert into audit_log (org_id, actor_id, action, target, details) values ($1, $2, $3, $4, $5)",
        &[&org, &actor, &action, &target, &details],
    )
    .await?;
    Ok(())
}
