//! The team's quotas on this machine: before a model run, a lease from the
//! hub (a few runs and their tokens, reserved there at once); runs go on from
//! the lease while the hub cannot be reached, and stop when it is used up. A
//! refusal is the hub's: which quota, what is left, when it resets. What a
//! lease did not use is given back when the next one is taken.

use std::collections::HashMap;

use serde_json::json;

use super::{TeamError, device_token, load, request};
use crate::platform::paths::Paths;

/// Runs one lease asks for.
const RUNS_PER_LEASE: u64 = 5;

struct Lease {
    /// `None`: no quota applies (unlimited until it expires).
    id: Option<i64>,
    runs_left: i64,
    tokens_left: i64,
    runs_used: i64,
    tokens_used: i64,
    expires: jiff::Timestamp,
}

/// Leases per (agent, provider).
pub struct Quotas {
    paths: Paths,
    leases: tokio::sync::Mutex<HashMap<(String, String), Lease>>,
}

impl Quotas {
    pub fn new(paths: Paths) -> Quotas {
        Quotas { paths, leases: tokio::sync::Mutex::default() }
    }

    /// Admits one model run of `agent` on `provider` needing about `tokens`,
    /// or says why the team's quotas do not.
    pub async fn admit(&self, agent: &str, provider: &str, model: &str, tokens: u64) -> Result<(), String> {
        let Ok(Some(membership)) = load(&self.paths) else { return Ok(()) };
        let tokens = i64::try_from(tokens.max(1)).unwrap_or(i64::MAX);
        let key = (agent.to_owned(), provider.to_owned());
        let mut leases = self.leases.lock().await;
        let now = jiff::Timestamp::now();
        if let Some(lease) = leases.get_mut(&key)
            && now < lease.expires
        {
            if lease.id.is_none() {
                return Ok(());
            }
            if lease.runs_left >= 1 && lease.tokens_left >= tokens {
                lease.runs_left -= 1;
                lease.runs_used += 1;
                return Ok(());
            }
        }
        let token = device_token().await.map_err(|err| err.to_string())?;
        if let Some(old) = leases.remove(&key)
            && let Some(id) = old.id
        {
            let body = json!({"lease": id, "runs_used": old.runs_used, "tokens_used": old.tokens_used});
            if let Err(err) =
                request(&membership.hub, reqwest::Method::POST, "/api/v1/quota/release", Some(&token), Some(body)).await
            {
                tracing::debug!("a used lease was not given back (the hub keeps it counted): {err}");
            }
        }
        let runs = i64::try_from(RUNS_PER_LEASE).unwrap_or(1);
        let body = json!({
            "agent": agent, "provider": provider, "model": Some(model).filter(|m| !m.is_empty()),
            "runs": runs, "tokens": tokens.saturating_mul(runs), "min_tokens": tokens,
        });
        let reply = request(&membership.hub, reqwest::Method::POST, "/api/v1/quota/lease", Some(&token), Some(body))
            .await
            .map_err(|err| match err {
                TeamError::Refused(why) => format!("the team's quota: {why}"),
                other => format!("no quota lease is left on this machine for {agent} on {provider}, and {other}"),
            })?;
        let number = |field: &str| reply[field].as_i64().unwrap_or(0);
        let expires = reply["expires_at"].as_str().and_then(|t| t.parse().ok()).unwrap_or(now);
        let mut lease = Lease {
            id: reply["lease"].as_i64(),
            runs_left: number("runs"),
            tokens_left: number("tokens"),
            runs_used: 0,
            tokens_used: 0,
            expires,
        };
        if lease.id.is_some() {
            lease.runs_left -= 1;
            lease.runs_used += 1;
        }
        leases.insert(key, lease);
        Ok(())
    }

    /// What a run of `agent` on `provider` used, taken from its lease.
    pub async fn spent(&self, agent: &str, provider: &str, tokens: u64) {
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        if let Some(lease) = self.leases.lock().await.get_mut(&(agent.to_owned(), provider.to_owned())) {
            lease.tokens_left = lease.tokens_left.saturating_sub(tokens);
            lease.tokens_used = lease.tokens_used.saturating_add(tokens);
        }
    }
}
