//! Quotas and the leases daemons take on them. A lease reserves runs and
//! tokens (and their estimated cost) on every counter that applies to the
//! member, agent and provider, in one transaction under row locks taken in a
//! fixed order: all or nothing, never past a limit, whatever runs at once on
//! however many replicas. What a lease does not use is given back on release.

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

/// How long a lease holds (a daemon asks again after).
const LEASE_MINUTES: i64 = 10;
/// How long the lease a member with no quotas gets holds.
const FREE_LEASE_MINUTES: i64 = 60;

const KINDS: &[&str] = &["org", "team", "member", "agent", "provider"];
const METRICS: &[&str] = &["runs", "tokens", "cost_usd"];
const PERIODS: &[&str] = &["day", "month"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewQuota {
    subject_kind: String,
    /// A team or member id, an agent or provider name, `*` for each one
    /// separately (`org` for the organisation).
    subject: String,
    metric: String,
    period: String,
    limit: f64,
}

pub async fn set(State(hub): State<Hub>, who: Principal, Body(new): Body<NewQuota>) -> Result<Json<Value>, ApiError> {
    who.check(Action::QuotasSet, Within::Org)?;
    let one_of = |field: &str, value: &str, allowed: &[&str]| {
        if allowed.contains(&value) {
            Ok(())
        } else {
            Err(ApiError::Invalid(format!("{field} must be one of {}", allowed.join(", "))))
        }
    };
    one_of("subject_kind", &new.subject_kind, KINDS)?;
    one_of("metric", &new.metric, METRICS)?;
    one_of("period", &new.period, PERIODS)?;
    if !new.limit.is_finite() || !(0.0..=1e12).contains(&new.limit) {
        return Err(ApiError::Invalid("limit must be 0 to 10^12".into()));
    }
    let subject = text("subject", &new.subject, 100)?;
    // Written as counters name it: "07" and "+7" are 7.
    let subject = match (new.subject_kind.as_str(), subject.parse::<i64>()) {
        ("team" | "member", Ok(id)) => id.to_string(),
        _ => subject,
    };
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let exists = match (new.subject_kind.as_str(), subject.as_str()) {
        ("org", "org") | (_, "*") => true,
        ("org", _) => return Err(ApiError::Invalid("an organisation quota's subject is \"org\"".into())),
        ("team" | "member", id) => {
            let id: i64 =
                id.parse().map_err(|_| ApiError::Invalid(format!("{id:?} is not a {} id", new.subject_kind)))?;
            let table = if new.subject_kind == "team" { "teams" } else { "members" };
            let sql = format!("select exists (select 1 from {table} where id = $1 and org_id = $2)");
            tx.query_one(sql.as_str(), &[&id, &who.org]).await?.get(0)
        }
        _ => true,
    };
    if !exists {
        return Err(ApiError::NotFound(format!("{} {subject}", new.subject_kind)));
    }
    let id: i64 = tx
        .query_one(
            "insert into quotas (org_id, subject_kind, subject, metric, period, quota_limit)
             values ($1, $2, $3, $4, $5, $6::float8::numeric(20, 6))
             on conflict (org_id, subject_kind, subject, metric, period) do update set quota_limit = excluded.quota_limit
             returning id",
            &[&who.org, &new.subject_kind, &subject, &new.metric, &new.period, &new.limit],
        )
        .await?
        .get(0);
    let details = json!({"subject_kind": new.subject_kind, "subject": subject, "metric": new.metric, "period": new.period, "limit": new.limit});
    audit::record(&tx, &who, Action::QuotasSet, &format!("quota:{id}"), details).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id})))
}

pub async fn remove(State(hub): State<Hub>, who: Principal, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    who.check(Action::QuotasDelete, Within::Org)?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    if tx.execute("delete from quotas where id = $1 and org_id = $2", &[&id, &who.org]).await? == 0 {
        return Err(ApiError::NotFound(format!("quota {id}")));
    }
    audit::record(&tx, &who, Action::QuotasDelete, &format!("quota:{id}"), json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every quota, with what its counters of the current period have used.
pub async fn list(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::QuotasList, Within::Org)?;
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select q.id, q.subject_kind, q.subject, q.metric, q.period, q.quota_limit::float8,
                    coalesce(jsonb_agg(jsonb_build_object('subject', u.subject_key, 'used', u.used::float8))
                             filter (where u.quota_id is not null), '[]'),
                    date_trunc(q.period, now(), 'UTC') + ('1 ' || q.period)::interval
               from quotas q
               left join quota_usage u on u.quota_id = q.id and u.period_start = date_trunc(q.period, now(), 'UTC')
              where q.org_id = $1
              group by q.id order by q.id",
            &[&who.org],
        )
        .await?;
    let quotas: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.get::<_, i64>(0), "subject_kind": row.get::<_, String>(1), "subject": row.get::<_, String>(2),
                "metric": row.get::<_, String>(3), "period": row.get::<_, String>(4), "limit": row.get::<_, f64>(5),
                "used": row.get::<_, Value>(6), "resets_at": row.get::<_, jiff::Timestamp>(7),
            })
        })
        .collect();
    Ok(Json(json!({"quotas": quotas})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    agent: String,
    provider: String,
    model: Option<String>,
    /// Runs and tokens wanted; the lease may hold fewer.
    runs: i32,
    tokens: i64,
    /// The least worth having: one run's tokens. Less, and the lease is refused.
    #[serde(default)]
    min_tokens: i64,
}

/// One counter a request touches.
struct Counter {
    quota: i64,
    key: String,
    kind: String,
    subject: String,
    metric: String,
    period: String,
    limit: f64,
    used: f64,
    period_start: jiff::Timestamp,
    resets_at: jiff::Timestamp,
}

impl Counter {
    fn describe(&self) -> String {
        let whose = match (self.kind.as_str(), self.subject.as_str()) {
            ("org", _) => "the organisation".to_owned(),
            (kind, "*") => format!("each {kind}"),
            (kind, _) => format!("{kind} {}", self.key),
        };
        let metric = if self.metric == "cost_usd" { "US dollars of estimated cost" } else { &self.metric };
        format!("{} {metric} per {} for {whose}", self.limit, self.period)
    }

    fn json(&self) -> Value {
        json!({
            "id": self.quota, "subject_kind": self.kind, "subject": self.key, "metric": self.metric,
            "period": self.period, "limit": self.limit, "used": self.used,
            "left": (self.limit - self.used).max(0.0), "resets_at": self.resets_at,
        })
    }
}

/// The counters of every quota that applies, locked (in a fixed order).
async fn counters(
    tx: &deadpool_postgres::Transaction<'_>,
    who: &Principal,
    member: i64,
    agent: &str,
    provider: &str,
) -> Result<Vec<Counter>, ApiError> {
    // Sorted: every lease takes its locks in the same order (no deadlocks).
    let mut sorted = who.teams.clone();
    sorted.sort_unstable();
    let teams: Vec<String> = sorted.iter().map(i64::to_string).collect();
    let quotas = tx
        .query(
            "select id, subject_kind, subject, metric, period, quota_limit::float8 from quotas
              where org_id = $1 and (subject_kind = 'org'
                 or (subject_kind = 'member' and subject in ('*', $2::bigint::text))
                 or (subject_kind = 'team' and (subject = '*' or subject = any($3::text[])))
                 or (subject_kind = 'agent' and (subject in ('*', $4) or $4 = '*'))
                 or (subject_kind = 'provider' and (subject in ('*', $5) or $5 = '*')))
              order by id",
            &[&who.org, &member, &teams, &agent, &provider],
        )
        .await?;
    let mut out = Vec::new();
    for row in &quotas {
        let (quota, kind, subject): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
        let keys: Vec<String> = match (kind.as_str(), subject.as_str()) {
            ("org", _) => vec!["org".into()],
            ("member", _) => vec![member.to_string()],
            ("team", "*") => teams.clone(),
            // `*` asked (one's own quotas): every named one, under its name.
            ("agent", named) => vec![if agent == "*" { named.to_owned() } else { agent.to_owned() }],
            ("provider", named) => vec![if provider == "*" { named.to_owned() } else { provider.to_owned() }],
            (_, one) => vec![one.to_owned()],
        };
        let period: String = row.get(4);
        for key in keys {
            tx.execute(
                "insert into quota_usage (quota_id, subject_key, period_start)
                 values ($1, $2, date_trunc($3, now(), 'UTC')) on conflict do nothing",
                &[&quota, &key, &period],
            )
            .await?;
            let usage = tx
                .query_one(
                    "select used::float8, period_start, period_start + ('1 ' || $3)::interval from quota_usage
                      where quota_id = $1 and subject_key = $2 and period_start = date_trunc($3, now(), 'UTC')
                      for update",
                    &[&quota, &key, &period],
                )
                .await?;
            out.push(Counter {
                quota,
                key,
                kind: kind.clone(),
                subject: subject.clone(),
                metric: row.get(3),
                period: period.clone(),
                limit: row.get(5),
                used: usage.get(0),
                period_start: usage.get(1),
                resets_at: usage.get(2),
            });
        }
    }
    Ok(out)
}

pub async fn lease(
    State(hub): State<Hub>,
    who: Principal,
    Body(request): Body<LeaseRequest>,
) -> Result<Json<Value>, ApiError> {
    who.check(Action::QuotaLease, Within::Org)?;
    let member = who.member()?;
    let (agent, provider) = (text("agent", &request.agent, 100)?, text("provider", &request.provider, 100)?);
    if !(1..=1000).contains(&request.runs) || !(1..=100_000_000).contains(&request.tokens) || request.min_tokens < 0 {
        return Err(ApiError::Invalid("runs must be 1 to 1,000 and tokens 1 to 10^8".into()));
    }
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let counters = counters(&tx, &who, member, &agent, &provider).await?;
    if counters.is_empty() {
        let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(FREE_LEASE_MINUTES);
        return Ok(Json(json!({
            "lease": null, "unlimited": true, "runs": request.runs, "tokens": request.tokens, "expires_at": expires,
        })));
    }
    // The estimated cost of a token: the dearer of the model's two prices.
    let per_token: f64 = tx
        .query_opt(
            "select greatest(input_per_mtok, output_per_mtok)::float8 / 1000000 from prices
              where org_id = $1 and provider = $2 and ($3::text is null or model = $3)
              order by greatest(input_per_mtok, output_per_mtok) desc limit 1",
            &[&who.org, &provider, &request.model],
        )
        .await?
        .map_or(0.0, |row| row.get(0));
    let mut runs = i64::from(request.runs);
    let mut tokens = request.tokens;
    let mut binding: Option<&Counter> = None;
    for counter in &counters {
        let left = (counter.limit - counter.used).max(0.0);
        let most = match counter.metric.as_str() {
            "runs" => {
                runs = runs.min(left.floor() as i64);
                runs
            }
            "tokens" => {
                tokens = tokens.min(left.floor() as i64);
                if tokens < request.min_tokens.max(1) { 0 } else { 1 }
            }
            _ if per_token > 0.0 => {
                tokens = tokens.min((left / per_token).floor() as i64);
                if tokens < request.min_tokens.max(1) { 0 } else { 1 }
            }
            _ => 1,
        };
        if most < 1 && binding.is_none() {
            binding = Some(counter);
        }
    }
    if let Some(counter) = binding {
        let left = (counter.limit - counter.used).max(0.0);
        return Err(ApiError::QuotaExceeded {
            message: format!(
                "the quota of {} is used up ({left} left); it resets at {}",
                counter.describe(),
                counter.resets_at
            ),
            quota: counter.json(),
        });
    }
    let cost = tokens as f64 * per_token;
    let mut reserved = Vec::new();
    for counter in &counters {
        let amount = match counter.metric.as_str() {
            "runs" => runs as f64,
            "tokens" => tokens as f64,
            _ => cost,
        };
        tx.execute(
            "update quota_usage set used = used + $4::float8::numeric
              where quota_id = $1 and subject_key = $2 and period_start = $3",
            &[&counter.quota, &counter.key, &counter.period_start, &amount],
        )
        .await?;
        reserved.push(json!({"quota": counter.quota, "key": counter.key, "period_start": counter.period_start, "metric": counter.metric, "amount": amount}));
    }
    let runs = i32::try_from(runs).unwrap_or(i32::MAX);
    let row = tx
        .query_one(
            "insert into leases (org_id, member_id, agent, provider, runs, tokens, cost_usd, expires_at, reserved)
             values ($1, $2, $3, $4, $5, $6, $7::float8::numeric(20, 9), now() + make_interval(mins => $8::int), $9)
             returning id, expires_at",
            &[
                &who.org,
                &member,
                &agent,
                &provider,
                &runs,
                &tokens,
                &cost,
                &(LEASE_MINUTES as i32),
                &Value::Array(reserved),
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(Json(json!({
        "lease": row.get::<_, i64>(0), "unlimited": false, "runs": runs, "tokens": tokens,
        "expires_at": row.get::<_, jiff::Timestamp>(1),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    lease: i64,
    runs_used: i64,
    tokens_used: i64,
}

/// Gives back what a lease did not use (once; a second release changes nothing).
pub async fn release(
    State(hub): State<Hub>,
    who: Principal,
    Body(release): Body<Release>,
) -> Result<Json<Value>, ApiError> {
    who.check(Action::QuotaRelease, Within::Org)?;
    let member = who.member()?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "select runs, tokens, cost_usd::float8, reserved, released_at is not null from leases
              where id = $1 and member_id = $2 for update",
            &[&release.lease, &member],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("lease {}", release.lease)))?;
    if row.get::<_, bool>(4) {
        return Ok(Json(json!({"released": false})));
    }
    let (runs, tokens, cost): (i32, i64, f64) = (row.get(0), row.get(1), row.get(2));
    let unused_runs = (i64::from(runs) - release.runs_used.max(0)).max(0) as f64;
    let unused_tokens = (tokens - release.tokens_used.max(0)).max(0) as f64;
    let unused_cost = if tokens > 0 { cost * unused_tokens / tokens as f64 } else { 0.0 };
    let reserved: Value = row.get(3);
    // Each counter in the order the lease took them: the same order every lease locks in.
    for entry in reserved.as_array().into_iter().flatten() {
        let refund = match entry["metric"].as_str() {
            Some("runs") => unused_runs,
            Some("tokens") => unused_tokens,
            _ => unused_cost,
        };
        let start: Option<jiff::Timestamp> = entry["period_start"].as_str().and_then(|t| t.parse().ok());
        tx.execute(
            "update quota_usage set used = greatest(used - $4::float8::numeric, 0)
              where quota_id = $1 and subject_key = $2 and period_start = $3",
            &[&entry["quota"].as_i64(), &entry["key"].as_str(), &start, &refund],
        )
        .await?;
    }
    tx.execute("update leases set released_at = now() where id = $1", &[&release.lease]).await?;
    tx.commit().await?;
    Ok(Json(json!({"released": true, "runs_returned": unused_runs, "tokens_returned": unused_tokens})))
}

/// The quotas that apply to the caller, with their counters.
pub async fn own(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::QuotaOwn, Within::Org)?;
    let member = who.member()?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    // Every agent and provider: quotas named for one show under its name.
    let counters = counters(&tx, &who, member, "*", "*").await?;
    tx.rollback().await?;
    Ok(Json(json!({"quotas": counters.iter().map(Counter::json).collect::<Vec<_>>()})))
}
