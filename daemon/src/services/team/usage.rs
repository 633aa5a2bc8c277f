//! Usage events to the hub: the oldest not yet sent, in batches, once this
//! machine has joined; and the daemon's loop that sends them and keeps the
//! team policy fresh.

use std::time::Duration;

use serde_json::{Value, json};

use super::{TeamError, device_token, load, policy, request};
use crate::platform::{paths::Paths, store::Store};

/// Usage events per batch (the hub takes up to 1,000).
const BATCH: i64 = 500;

/// The longest wait between tries while the hub cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What one push did.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    NotJoined,
    Nothing,
    /// `recorded` new on the hub, `duplicates` it had already (a batch sent
    /// before whose answer was lost); `more` still waiting here.
    Sent {
        recorded: u64,
        duplicates: u64,
        more: bool,
    },
}

/// Sends the oldest usage events the hub does not have yet, made since this
/// machine joined (what happened before stays on this machine), and marks them
/// sent once the hub has recorded them. A batch whose answer is lost is sent
/// again with the same ids, which the hub counts once.
pub async fn push_usage(paths: &Paths, store: &Store) -> Result<Pushed, TeamError> {
    let Some(membership) = load(paths)? else {
        return Ok(Pushed::NotJoined);
    };
    let events = push_events(&membership, store).await?;
    let accepted = push_accepted(&membership, store).await?;
    Ok(match (events, accepted) {
        (Pushed::Sent { recorded, duplicates, more }, accepted) => {
            Pushed::Sent { recorded, duplicates, more: more || accepted == Some(true) }
        }
        (_, Some(more)) => Pushed::Sent { recorded: 0, duplicates: 0, more },
        (other, None) => other,
    })
}

/// The events of [`push_usage`].
async fn push_events(membership: &super::Membership, store: &Store) -> Result<Pushed, TeamError> {
    let since = membership.joined_at.parse::<jiff::Timestamp>().map_or(0, |t| t.as_millisecond());
    let events = store
        .call(move |conn| {
            let mut statement = conn.prepare(
                "SELECT id, at_ms, kind, agent, skill, provider, model, tokens_in, tokens_out, latency_ms, outcome,
                        findings, edits
                   FROM usage_events WHERE pushed_ms IS NULL AND at_ms >= ?1 ORDER BY at_ms LIMIT ?2",
            )?;
            let rows = statement.query_map(rusqlite::params![since, BATCH], |row| {
                let at = jiff::Timestamp::from_millisecond(row.get(1)?).unwrap_or_default();
                Ok(json!({
                    "id": row.get::<_, String>(0)?, "at": at.to_string(), "kind": row.get::<_, String>(2)?,
                    "agent": clip(row.get::<_, String>(3)?), "skill": row.get::<_, Option<String>>(4)?.map(clip),
                    "provider": row.get::<_, Option<String>>(5)?.map(clip), "model": row.get::<_, Option<String>>(6)?.map(clip),
                    "tokens_in": row.get::<_, i64>(7)?, "tokens_out": row.get::<_, i64>(8)?,
                    "latency_ms": row.get::<_, i64>(9)?, "outcome": row.get::<_, String>(10)?,
                    "findings": row.get::<_, i64>(11)?, "edits": row.get::<_, i64>(12)?,
                }))
            })?;
            rows.collect::<rusqlite::Result<Vec<Value>>>()
        })
        .await
        .map_err(TeamError::State)?;
    if events.is_empty() {
        return Ok(Pushed::Nothing);
    }
    let token = device_token().await?;
    let ids: Vec<String> = events.iter().filter_map(|e| e["id"].as_str().map(str::to_owned)).collect();
    let full = events.len() as i64 == BATCH;
    let body = json!({"events": events});
    let sent = request(&membership.hub, reqwest::Method::POST, "/api/v1/usage", Some(&token), Some(body)).await;
    let reply = match sent {
        Ok(reply) => reply,
        // One event the hub will never take (it says which): set aside, so that
        // it does not hold back every event after it; the rest go next time.
        Err(TeamError::Refused(why)) if refused_event(&why).is_some_and(|n| n < ids.len()) => {
            let index = refused_event(&why).unwrap_or_default();
            let id = ids[index].clone();
            tracing::warn!("the team hub refused usage event {id}, which stays on this machine only: {why}");
            store
                .call(move |conn| {
                    conn.execute("UPDATE usage_events SET pushed_ms = -1 WHERE id = ?1", rusqlite::params![id])
                })
                .await
                .map_err(TeamError::State)?;
            return Ok(Pushed::Sent { recorded: 0, duplicates: 0, more: true });
        }
        Err(err) => return Err(err),
    };
    let now = jiff::Timestamp::now().as_millisecond();
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            for id in &ids {
                tx.execute("UPDATE usage_events SET pushed_ms = ?2 WHERE id = ?1", rusqlite::params![id, now])?;
            }
            tx.commit()
        })
        .await
        .map_err(TeamError::State)?;
    Ok(Pushed::Sent {
        recorded: reply["recorded"].as_u64().unwrap_or_default(),
        duplicates: reply["duplicates"].as_u64().unwrap_or_default(),
        more: full,
    })
}

/// Sends the accepted and rejected counts of events the hub has whose verdicts changed
/// since (`Some(more)`), on their own: a hub that refuses them (an older one)
/// never holds back the events. Refused counts are set aside, logged.
async fn push_accepted(membership: &super::Membership, store: &Store) -> Result<Option<bool>, TeamError> {
    let accepted = store
        .call(move |conn| {
            let mut statement = conn.prepare(
                "SELECT id, accepted_due, rejected_due FROM usage_events
                  WHERE accepted_due IS NOT NULL AND pushed_ms > 0 ORDER BY id LIMIT ?1",
            )?;
            let rows = statement.query_map([BATCH], |row| {
                let (accepted, rejected) = (row.get::<_, i64>(1)?, row.get::<_, Option<i64>>(2)?.unwrap_or(0));
                Ok(json!({"id": row.get::<_, String>(0)?, "accepted": accepted, "rejected": rejected}))
            })?;
            rows.collect::<rusqlite::Result<Vec<Value>>>()
        })
        .await
        .map_err(TeamError::State)?;
    if accepted.is_empty() {
        return Ok(None);
    }
    let token = device_token().await?;
    let body = json!({"events": [], "accepted": accepted});
    match request(&membership.hub, reqwest::Method::POST, "/api/v1/usage", Some(&token), Some(body)).await {
        Ok(_) => {}
        Err(TeamError::Refused(why)) => {
            tracing::warn!(
                "the team hub refused {} accepted counts, which stay on this machine: {why}",
                accepted.len()
            );
        }
        Err(err) => return Err(err),
    }
    let more = accepted.len() as i64 == BATCH;
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            // Sent (or refused) as it was: due again only if a verdict came meanwhile.
            for a in &accepted {
                tx.execute(
                    "UPDATE usage_events SET accepted_due = NULL, rejected_due = NULL
                      WHERE id = ?1 AND accepted_due = ?2 AND coalesce(rejected_due, 0) = ?3",
                    rusqlite::params![a["id"].as_str(), a["accepted"].as_i64(), a["rejected"].as_i64()],
                )?;
            }
            tx.commit()
        })
        .await
        .map_err(TeamError::State)?;
    Ok(Some(more))
}

/// A name as the hub takes it: at most 100 characters.
fn clip(name: String) -> String {
    if name.chars().count() <= 100 { name } else { name.chars().take(100).collect() }
}

/// The index of the event the hub refused (`event N (…): why`).
fn refused_event(why: &str) -> Option<usize> {
    why.strip_prefix("event ")?.split(' ').next()?.parse().ok()
}

/// The daemon's usage pusher: every `every`, at once while a backlog drains,
/// backing off (to five minutes) while the hub cannot be reached; each new
/// kind of failure is logged once.
pub async fn push_loop(paths: Paths, store: Store, every: Duration, policy_every: Duration) {
    let mut wait = every;
    let mut failing: Option<String> = None;
    loop {
        tokio::time::sleep(wait).await;
        policy::refresh_if_due(&paths, policy_every).await;
        match push_usage(&paths, &store).await {
            Ok(pushed) => {
                if let Some(was) = failing.take() {
                    tracing::info!("usage reaches the team hub again (it had failed: {was})");
                }
                if let Pushed::Sent { recorded, duplicates, .. } = pushed {
                    tracing::debug!(recorded, duplicates, "usage sent to the team hub");
                }
                wait =
                    if matches!(pushed, Pushed::Sent { more: true, .. }) { Duration::from_millis(50) } else { every };
            }
            Err(err) => {
                let text = err.to_string();
                if failing.as_deref() != Some(text.as_str()) {
                    tracing::warn!("usage did not reach the team hub; kept here and sent later: {text}");
                    failing = Some(text);
                }
                wait = (wait * 2).clamp(every, MAX_BACKOFF.max(every));
            }
        }
    }
}
