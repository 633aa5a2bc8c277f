//! Usage: daemons send events in batches (each event once, whatever is
//! retried), costed at arrival from the price table; dashboards and BI tools
//! query totals and time series, as JSON or CSV.

use axum::{
    Json,
    extract::{Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
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

/// Events per batch, at most.
pub const MAX_BATCH: usize = 1000;
/// Tokens one event may count: a billion.
const MAX_TOKENS: i64 = 1_000_000_000;
/// A day.
const MAX_LATENCY_MS: i64 = 86_400_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    #[serde(default)]
    events: Vec<Event>,
    /// How many of earlier events' findings and edits the member accepted
    /// since (verdicts come after their run's event).
    #[serde(default)]
    accepted: Vec<Accepted>,
}

/// An event's accepted and rejected counts as they are now (sent again, they
/// stay the same). A daemon before rejected counts sends none.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    id: String,
    accepted: i32,
    #[serde(default)]
    rejected: i32,
}

/// One event. No field carries code, prompts or paths: names, counts, times.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Unique per member: the same id sent again is the same event.
    id: String,
    at: jiff::Timestamp,
    /// `run`, `workflow` or `completion`.
    kind: String,
    agent: String,
    skill: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    #[serde(default)]
    tokens_in: i64,
    #[serde(default)]
    tokens_out: i64,
    #[serde(default)]
    latency_ms: i64,
    /// `succeeded`, `failed`, `cancelled`, `no_result`.
    outcome: String,
    #[serde(default)]
    findings: i32,
    #[serde(default)]
    edits: i32,
}

const KINDS: &[&str] = &["run", "workflow", "completion"];
const OUTCOMES: &[&str] = &["succeeded", "failed", "cancelled", "no_result"];

pub async fn push(State(hub): State<Hub>, who: Principal, Body(batch): Body<Batch>) -> Result<Json<Value>, ApiError> {
    who.check(Action::UsagePush, Within::Org)?;
    let member = who.member()?;
    if batch.events.len() > MAX_BATCH || batch.accepted.len() > MAX_BATCH {
        return Err(ApiError::Invalid(format!(
            "a batch has at most {MAX_BATCH} events and {MAX_BATCH} accepted counts; this one has {} and {}",
            batch.events.len(),
            batch.accepted.len()
        )));
    }
    for (n, a) in batch.accepted.iter().enumerate() {
        if !(0..=100_000).contains(&a.accepted) || !(0..=100_000).contains(&a.rejected) {
            return Err(ApiError::Invalid(format!("accepted {n} ({:?}): counts must be 0 to 100,000", a.id)));
        }
    }
    let now = jiff::Timestamp::now();
    let mut columns = Columns::default();
    for (n, event) in batch.events.iter().enumerate() {
        columns.push(event, now).map_err(|why| ApiError::Invalid(format!("event {n} ({:?}): {why}", event.id)))?;
    }
    let client = hub.pool.get().await?;
    let inserted = if columns.id.is_empty() { 0 } else { retried(|| insert(&client, &who, member, &columns)).await? };
    // Only the member's own events, never above what the event found and
    // proposed, and only a change reaches the rollups (the update trigger).
    // Its own statement: its rollup rows are locked in no set order, so it
    // must not hold the rows the insert locked.
    let ids: Vec<&str> = batch.accepted.iter().map(|a| a.id.as_str()).collect();
    let counts: Vec<i32> = batch.accepted.iter().map(|a| a.accepted).collect();
    let rejected: Vec<i32> = batch.accepted.iter().map(|a| a.rejected).collect();
    let updated = if ids.is_empty() {
        0
    } else {
        // Rejected: at most what was not accepted.
        retried(|| async {
            client
                .execute(
                    "update usage_events u
                        set accepted = least(a.n, u.findings + u.edits),
                            rejected = least(a.r, u.findings + u.edits - least(a.n, u.findings + u.edits))
                       from unnest($2::text[], $3::int4[], $4::int4[]) as a(id, n, r)
                      where u.member_id = $1 and u.event_id = a.id
                        and (u.accepted, u.rejected) <> (least(a.n, u.findings + u.edits),
                             least(a.r, u.findings + u.edits - least(a.n, u.findings + u.edits)))",
                    &[&member, &ids, &counts, &rejected],
                )
                .await
        })
        .await?
    };
    let received = batch.events.len() as u64;
    Ok(Json(
        json!({"received": received, "recorded": inserted, "duplicates": received - inserted, "accepted": updated}),
    ))
}

/// Inserts a batch's events (the statement triggers roll them up in the same
/// transaction); events already recorded are left as they are.
async fn insert(
    client: &deadpool_postgres::Client,
    who: &Principal,
    member: i64,
    columns: &Columns,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            "insert into usage_events (org_id, member_id, team_ids, event_id, at, kind, agent, skill, provider, model,
                                       tokens_in, tokens_out, cost_usd, latency_ms, outcome, findings, edits)
             select $1, $2, (select coalesce(array_agg(team_id order by team_id), '{}') from team_members where member_id = $2),
                    e.id, e.at, e.kind, e.agent, e.skill, e.provider, e.model, e.tin, e.tout,
                    coalesce((p.input_per_mtok * e.tin + p.output_per_mtok * e.tout) / 1000000, 0),
                    e.lat, e.outcome, e.findings, e.edits
               from unnest($3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                           $10::int8[], $11::int8[], $12::int8[], $13::text[], $14::int4[], $15::int4[])
                    as e(id, at, kind, agent, skill, provider, model, tin, tout, lat, outcome, findings, edits)
               left join prices p on p.org_id = $1 and p.provider = e.provider and p.model = e.model
             on conflict (member_id, event_id) do nothing",
            &[
                &who.org,
                &member,
                &columns.id,
                &columns.at,
                &columns.kind,
                &columns.agent,
                &columns.skill,
                &columns.provider,
                &columns.model,
                &columns.tokens_in,
                &columns.tokens_out,
                &columns.latency_ms,
                &columns.outcome,
                &columns.findings,
                &columns.edits,
            ],
        )
        .await
}

/// Runs a statement again when PostgreSQL chose it as a deadlock's victim
/// (it rolled back, so running it again counts nothing twice): at most three times.
async fn retried<F, Fut>(mut statement: F) -> Result<u64, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, tokio_postgres::Error>>,
{
    let mut attempt = 0;
    loop {
        match statement().await {
            Err(err) if attempt < 2 && err.code() == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) => {
                attempt += 1;
                tracing::debug!("usage batch chosen as a deadlock's victim; again ({attempt})");
            }
            done => return done.map_err(ApiError::from),
        }
    }
}

#[derive(Default)]
struct Columns {
    id: Vec<String>,
    at: Vec<jiff::Timestamp>,
    kind: Vec<String>,
    agent: Vec<String>,
    skill: Vec<Option<String>>,
    provider: Vec<Option<String>>,
    model: Vec<Option<String>>,
    tokens_in: Vec<i64>,
    tokens_out: Vec<i64>,
    latency_ms: Vec<i64>,
    outcome: Vec<String>,
    findings: Vec<i32>,
    edits: Vec<i32>,
}

impl Columns {
    fn push(&mut self, e: &Event, now: jiff::Timestamp) -> Result<(), String> {
        if e.id.is_empty() || e.id.len() > 100 || !e.id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err("id must be 1 to 100 letters, digits, `-`, `_`, `.` or `:`".into());
        }
        let day = jiff::SignedDuration::from_hours(24);
        if e.at > now + day || e.at < now - day * 400 {
            return Err("at is more than a day ahead of the hub's clock or over 400 days old".into());
        }
        if !KINDS.contains(&e.kind.as_str()) {
            return Err(format!("kind must be one of {KINDS:?}"));
        }
        if !OUTCOMES.contains(&e.outcome.as_str()) {
            return Err(format!("outcome must be one of {OUTCOMES:?}"));
        }
        // Bounds no real run comes near, so that no sum of them can overflow.
        let within = |value: i64, max: i64| (0..=max).contains(&value);
        if !within(e.tokens_in, MAX_TOKENS) || !within(e.tokens_out, MAX_TOKENS) {
            return Err(format!("tokens must be 0 to {MAX_TOKENS}"));
        }
        if !within(e.latency_ms, MAX_LATENCY_MS) {
            return Err(format!("latency_ms must be 0 to {MAX_LATENCY_MS}"));
        }
        if !within(i64::from(e.findings), 100_000) || !within(i64::from(e.edits), 100_000) {
            return Err("findings and edits must be 0 to 100,000".into());
        }
        let name = |field: &str, value: &str| text(field, value, 100).map_err(|err| err.to_string());
        let optional = |field: &str, value: &Option<String>| value.as_deref().map(|v| name(field, v)).transpose();
        self.id.push(e.id.clone());
        self.at.push(e.at);
        self.kind.push(e.kind.clone());
        self.agent.push(name("agent", &e.agent)?);
        self.skill.push(optional("skill", &e.skill)?);
        self.provider.push(optional("provider", &e.provider)?);
        self.model.push(optional("model", &e.model)?);
        self.tokens_in.push(e.tokens_in);
        self.tokens_out.push(e.tokens_out);
        self.latency_ms.push(e.latency_ms);
        self.outcome.push(e.outcome.clone());
        self.findings.push(e.findings);
        self.edits.push(e.edits);
        Ok(())
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Up to three of: hour, day, week, month, member, team, agent, provider,
    /// model, kind, outcome.
    by: Option<String>,
    since: Option<jiff::Timestamp>,
    until: Option<jiff::Timestamp>,
    team: Option<i64>,
    member: Option<i64>,
    agent: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    kind: Option<String>,
    format: Option<String>,
}

/// Usage of the organisation (or, for a team lead, of a team of theirs).
pub async fn query(
    State(hub): State<Hub>,
    who: Principal,
    filter: Result<Query<Filter>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(filter) =
        filter.map_err(|err| ApiError::Invalid(format!("the usage filter is not valid: {}", err.body_text())))?;
    who.check(Action::UsageRead, filter.team.map_or(Within::Org, Within::Team))?;
    run_query(&hub, who.org, filter).await
}

/// One's own usage.
pub async fn own(
    State(hub): State<Hub>,
    who: Principal,
    filter: Result<Query<Filter>, QueryRejection>,
) -> Result<Response, ApiError> {
    who.check(Action::UsageOwn, Within::Org)?;
    let Query(mut filter) =
        filter.map_err(|err| ApiError::Invalid(format!("the usage filter is not valid: {}", err.body_text())))?;
    filter.member = Some(who.member()?);
    run_query(&hub, who.org, filter).await
}

/// A dimension's SQL expression, from this fixed list only.
fn dimension(name: &str) -> Option<&'static str> {
    Some(match name {
        "hour" => "date_trunc('hour', u.at, 'UTC')",
        "day" => "date_trunc('day', u.at, 'UTC')",
        "week" => "date_trunc('week', u.at, 'UTC')",
        "month" => "date_trunc('month', u.at, 'UTC')",
        "member" => "u.member_id",
        "team" => "t.team",
        "agent" => "u.agent",
        "provider" => "u.provider",
        "model" => "u.model",
        "kind" => "u.kind",
        "outcome" => "u.outcome",
        _ => return None,
    })
}

async fn run_query(hub: &Hub, org: i64, filter: Filter) -> Result<Response, ApiError> {
    let dims: Vec<&str> = filter.by.as_deref().map_or_else(Vec::new, |by| by.split(',').map(str::trim).collect());
    if dims.len() > 3 {
        return Err(ApiError::Invalid(
            "group by at most three of hour, day, week, month, member, team, agent, provider, model, kind, outcome"
                .into(),
        ));
    }
    let mut exprs = Vec::new();
    for dim in &dims {
        let expr = dimension(dim).ok_or_else(|| ApiError::Invalid(format!("cannot group usage by {dim:?}")))?;
        exprs.push(format!("({expr})::text"));
    }
    let csv = super::export::wants_csv(filter.format.as_deref())?;
    let teams = if dims.contains(&"team") { "cross join lateral unnest(u.team_ids) as t(team)" } else { "" };
    let positions: Vec<String> = (1..=exprs.len()).map(|i| i.to_string()).collect();
    let (group, order) = if exprs.is_empty() {
        (String::new(), String::new())
    } else {
        (format!("group by {}", positions.join(", ")), format!("order by {}", positions.join(", ")))
    };
    let selected: String = exprs.iter().map(|e| format!("{e}, ")).collect();
    let sql = format!(
        "select {selected}count(*), coalesce(sum(u.tokens_in), 0)::float8, coalesce(sum(u.tokens_out), 0)::float8,
                coalesce(sum(u.cost_usd), 0)::float8,
                coalesce(percentile_cont(0.5) within group (order by u.latency_ms), 0)::float8,
                coalesce(percentile_cont(0.95) within group (order by u.latency_ms), 0)::float8,
                count(*) filter (where u.outcome = 'failed'), coalesce(sum(u.findings), 0)::float8, coalesce(sum(u.edits), 0)::float8,
                coalesce(sum(u.accepted), 0)::float8, coalesce(sum(u.rejected), 0)::float8
           from usage_events u {teams}
          where u.org_id = $1
            and ($2::timestamptz is null or u.at >= $2) and ($3::timestamptz is null or u.at < $3)
            and ($4::bigint is null or $4 = any(u.team_ids)) and ($5::bigint is null or u.member_id = $5)
            and ($6::text is null or u.agent = $6) and ($7::text is null or u.provider = $7)
            and ($8::text is null or u.model = $8) and ($9::text is null or u.kind = $9)
          {group} {order}"
    );
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            sql.as_str(),
            &[
                &org,
                &filter.since,
                &filter.until,
                &filter.team,
                &filter.member,
                &filter.agent,
                &filter.provider,
                &filter.model,
                &filter.kind,
            ],
        )
        .await?;
    let width = exprs.len();
    let series: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut item = serde_json::Map::new();
            for (i, dim) in dims.iter().enumerate() {
                item.insert((*dim).to_owned(), json!(row.get::<_, Option<String>>(i)));
            }
            let n = width;
            let events: i64 = row.get(n);
            let failed: i64 = row.get(n + 6);
            item.insert("events".into(), json!(events));
            item.insert("tokens_in".into(), whole(row.get::<_, f64>(n + 1)));
            item.insert("tokens_out".into(), whole(row.get::<_, f64>(n + 2)));
            item.insert("cost_usd".into(), json!(row.get::<_, f64>(n + 3)));
            item.insert("latency_p50_ms".into(), json!(row.get::<_, f64>(n + 4)));
            item.insert("latency_p95_ms".into(), json!(row.get::<_, f64>(n + 5)));
            item.insert("error_rate".into(), json!(if events == 0 { 0.0 } else { failed as f64 / events as f64 }));
            item.insert("findings".into(), whole(row.get::<_, f64>(n + 7)));
            item.insert("edits".into(), whole(row.get::<_, f64>(n + 8)));
            item.insert("accepted".into(), whole(row.get::<_, f64>(n + 9)));
            item.insert("rejected".into(), whole(row.get::<_, f64>(n + 10)));
            Value::Object(item)
        })
        .collect();
    if csv {
        return Ok(to_csv(&dims, &series));
    }
    Ok(Json(json!({"by": dims, "series": series})).into_response())
}

/// A sum as a whole number when it is one that JSON holds exactly.
fn whole(sum: f64) -> Value {
    if sum.fract() == 0.0 && sum.abs() < 9.0e15 { json!(sum as i64) } else { json!(sum) }
}

const METRICS: &[&str] = &[
    "events",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "latency_p50_ms",
    "latency_p95_ms",
    "error_rate",
    "findings",
    "edits",
    "accepted",
    "rejected",
];

fn to_csv(dims: &[&str], series: &[Value]) -> Response {
    let header: Vec<&str> = dims.iter().copied().chain(METRICS.iter().copied()).collect();
    let rows = series.iter().map(|item| {
        header
            .iter()
            .map(|key| match &item[*key] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect()
    });
    super::export::csv(&header, rows)
}

pub async fn prices(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::PricesRead, Within::Org)?;
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select provider, model, input_per_mtok::float8, output_per_mtok::float8, updated_at from prices
              where org_id = $1 order by provider, model",
            &[&who.org],
        )
        .await?;
    let prices: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "provider": row.get::<_, String>(0), "model": row.get::<_, String>(1),
                "input_per_mtok": row.get::<_, f64>(2), "output_per_mtok": row.get::<_, f64>(3),
                "updated_at": row.get::<_, jiff::Timestamp>(4),
            })
        })
        .collect();
    Ok(Json(json!({"currency": "USD", "unit": "per million tokens", "prices": prices})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    provider: String,
    model: String,
    input_per_mtok: f64,
    output_per_mtok: f64,
}

/// Sets one price; events that arrive from now on are costed with it (those
/// already recorded keep the cost they were given).
pub async fn set_price(
    State(hub): State<Hub>,
    who: Principal,
    Body(price): Body<Price>,
) -> Result<StatusCode, ApiError> {
    who.check(Action::PricesWrite, Within::Org)?;
    let (provider, model) = (text("provider", &price.provider, 100)?, text("model", &price.model, 100)?);
    for value in [price.input_per_mtok, price.output_per_mtok] {
        if !value.is_finite() || !(0.0..=100_000.0).contains(&value) {
            return Err(ApiError::Invalid("prices are US dollars per million tokens, 0 to 100,000".into()));
        }
    }
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "insert into prices (org_id, provider, model, input_per_mtok, output_per_mtok)
         values ($1, $2, $3, $4::float8::numeric(12, 6), $5::float8::numeric(12, 6))
         on conflict (org_id, provider, model) do update
            set input_per_mtok = excluded.input_per_mtok, output_per_mtok = excluded.output_per_mtok, updated_at = now()",
        &[&who.org, &provider, &model, &price.input_per_mtok, &price.output_per_mtok],
    )
    .await?;
    let details = json!({"provider": provider, "model": model, "input_per_mtok": price.input_per_mtok, "output_per_mtok": price.output_per_mtok});
    audit::record(&tx, &who, Action::PricesWrite, &format!("price:{provider}/{model}"), details).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
