//! The audit log: searchable, paged newest first, exportable as CSV.

use axum::{
    Json,
    extract::{Query, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    Hub,
    auth::Principal,
    error::ApiError,
    roles::{Action, Within},
};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    action: Option<String>,
    actor: Option<i64>,
    target: Option<String>,
    since: Option<jiff::Timestamp>,
    until: Option<jiff::Timestamp>,
    /// Entries older than this id (the previous page's `next_before`).
    before: Option<i64>,
    limit: Option<i64>,
    /// `csv` for a spreadsheet; JSON otherwise.
    format: Option<String>,
}

pub async fn list(
    State(hub): State<Hub>,
    who: Principal,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    who.check(Action::AuditRead, Within::Org)?;
    let Query(filter) =
        filter.map_err(|err| ApiError::Invalid(format!("the audit filter is not valid: {}", err.body_text())))?;
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Invalid(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let csv = super::export::wants_csv(filter.format.as_deref())?;
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select id, at, actor_id, action, target, details from audit_log
              where org_id = $1
                and ($2::text is null or action = $2)
                and ($3::bigint is null or actor_id = $3)
                and ($4::text is null or target = $4)
                and ($5::timestamptz is null or at >= $5)
                and ($6::timestamptz is null or at < $6)
                and ($7::bigint is null or id < $7)
              order by id desc limit $8",
            &[
                &who.org,
                &filter.action,
                &filter.actor,
                &filter.target,
                &filter.since,
                &filter.until,
                &filter.before,
                &limit,
            ],
        )
        .await?;
    let entries: Vec<Entry> = rows
        .iter()
        .map(|row| Entry {
            id: row.get(0),
            at: row.get(1),
            actor: row.get(2),
            action: row.get(3),
            target: row.get(4),
            details: row.get(5),
        })
        .collect();
    if csv {
        return Ok(to_csv(&entries).into_response());
    }
    let next_before = (entries.len() as i64 == limit).then(|| entries.last().map(|e| e.id)).flatten();
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| json!({"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "details": e.details}))
        .collect();
    Ok(Json(json!({"entries": entries, "next_before": next_before})).into_response())
}

struct Entry {
    id: i64,
    at: jiff::Timestamp,
    /// `None`: the break-glass admin token.
    actor: Option<i64>,
    action: String,
    target: String,
    details: Value,
}

fn to_csv(entries: &[Entry]) -> Response {
    let rows = entries.iter().map(|e| {
        vec![
            e.id.to_string(),
            e.at.to_string(),
            e.actor.map_or_else(|| "break-glass".to_owned(), |id| format!("member:{id}")),
            e.action.clone(),
            e.target.clone(),
            e.details.to_string(),
        ]
    });
    super::export::csv(&["id", "at", "actor", "action", "target", "details"], rows)
}
