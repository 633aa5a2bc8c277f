//! The console's Usage page on the hub: usage grouped by one dimension, with
//! filters, from the rollups (never the raw events).
//!
//! The organisation as a whole reads the rollups without the member
//! dimension (`usage_daily_org`, 0008); a view by team, or a team lead's,
//! those per team set (`usage_team_daily`, 0009). A view by member, filtered
//! by member, or a member's own reads the per-member rollups cut by calendar
//! month: the days before and after the period's whole months from
//! the daily rows, the months from the monthly rows (0009) — a year is twelve
//! months of rows and a few days, not 365 days — and the per-day chart from
//! the daily rows; or, when neither the grouping nor a filter needs the other
//! dimensions, from usage per member per day and latency per member per
//! month alone.

use std::collections::{BTreeMap, BTreeSet};

use analytics::{Histogram, Period, Rollup};
use axum::{
    Json,
    extract::{Query, State},
    response::{IntoResponse, Response},
};
use jiff::civil::Date;
use serde::Deserialize;
use tokio_postgres::types::ToSql;

use super::{
    Session,
    api::{DIMENSIONS, Names, Scope, csv, days, now_ms, scope},
};
use crate::{Hub, error::ApiError};

#[derive(Deserialize)]
pub(super) struct UsageQuery {
    days: Option<u32>,
    by: Option<String>,
    agent: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    kind: Option<String>,
    member: Option<String>,
    team: Option<String>,
    format: Option<String>,
}

/// A period cut for rollups kept per day and per calendar month: the days
/// before its whole months, the days after them, and the months (an empty
/// range is 1970-01-02..1970-01-01).
struct Spans {
    head: (Date, Date),
    tail: (Date, Date),
    months: (Date, Date),
}

impl Spans {
    fn of(period: Period) -> Spans {
        let (head, tail, months) = match period.full_months() {
            Some((first, last)) => ((period.from, first - 1), (last + 1, period.to), (first, last)),
            None => ((period.from, period.to), (1, 0), (1, 0)),
        };
        let range = |(a, b): (i64, i64)| (days(a), days(b));
        Spans { head: range(head), tail: range(tail), months: range(months) }
    }
}

/// The per-member rollup rows of a period as a derived table (`columns` of
/// `daily` on the spans' days, of `monthly` in their months): `$1` is the
/// organisation, `$2`/`$3` the head's days, `$n`/`$n+1` the tail's and
/// `$n+2`/`$n+3` the months.
fn spanned(daily: &str, monthly: &str, columns: &str, n: usize) -> String {
    let (t1, t2, m1, m2) = (n, n + 1, n + 2, n + 3);
    format!(
        "(select {columns} from {daily} where org_id = $1 and (day between $2 and $3 or day between ${t1} and ${t2})
          union all select {columns} from {monthly} where org_id = $1 and month between ${m1} and ${m2})"
    )
}

const USAGE_COLUMNS: &str = "member_key, team_ids, kind, agent, provider, model, runs, errors, tokens_in, tokens_out, cost_usd, findings, edits,
     accepted";
const LATENCY_COLUMNS: &str = "member_key, team_ids, kind, agent, provider, model, bucket, count";

/// The grouping key of dimension `by` over a rollup `d` (teams through the
/// lateral `t`).
fn key_sql(by: &str) -> &'static str {
    match by {
        "provider" => "d.provider",
        "model" => "d.model",
        "kind" => "d.kind",
        "member" => "d.member_key::text",
        "team" => "t.team::text",
        _ => "d.agent",
    }
}

const FILTERS: &str = "and ($5::text is null or d.agent = $5) and ($6::text is null or d.provider = $6)
     and ($7::text is null or d.model = $7) and ($8::text is null or d.kind = $8)
     and ($9::int8 is null or d.member_key = $9) and ($10::int8 is null or $10 = any(d.team_ids))";

const TEAMS: &str = "left join lateral unnest(case when cardinality(d.team_ids) = 0 then array[0::int8] else d.team_ids end) as t(team) on true";

pub(super) async fn usage(
    State(hub): State<Hub>,
    session: Session,
    Query(q): Query<UsageQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(&session.who)?;
    let period = Period::last(q.days.unwrap_or(30), now_ms());
    let by = q.by.as_deref().filter(|b| DIMENSIONS.contains(b)).unwrap_or("agent").to_owned();
    let client = hub.pool.get().await?;
    let names = Names::load(&client, hub.org).await?;
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let member =
        nonempty(&q.member).map(|label| names.members.iter().find(|(_, n)| **n == label).map_or(-1, |(id, _)| *id));
    let team = nonempty(&q.team).map(|label| names.teams.iter().find(|(_, n)| **n == label).map_or(-1, |(id, _)| *id));
    let filters = Filters {
        agent: nonempty(&q.agent),
        provider: nonempty(&q.provider),
        model: nonempty(&q.model),
        kind: nonempty(&q.kind),
        member,
        team,
    };
    let org_wide = matches!(scope, Scope::Org) && by != "member" && by != "team" && member.is_none() && team.is_none();
    let per_member = matches!(scope, Scope::Member(_)) || by == "member" || member.is_some();
    let report = if org_wide {
        usage_org(&client, hub.org, period, &by, &filters, &names).await?
    } else if per_member {
        usage_members(&hub, &client, period, &by, &filters, &scope, &names).await?
    } else {
        usage_teams(&client, hub.org, period, &by, &filters, &scope, &names).await?
    };
    if q.format.as_deref() == Some("csv") {
        return Ok(csv("paired-usage.csv", analytics::usage_csv(&report)));
    }
    Ok(Json(report).into_response())
}

/// What the filters keep (`-1`: a member or team that does not exist).
struct Filters {
    agent: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    kind: Option<String>,
    member: Option<i64>,
    team: Option<i64>,
}

/// Usage by team, or within a team lead's teams, not split or filtered by
/// member: from the rollups per team set (a row per team set, not per
/// member), latency per month for the period's whole months.
async fn usage_teams(
    client: &deadpool_postgres::Client,
    org: i64,
    period: Period,
    by: &str,
    f: &Filters,
    scope: &Scope,
    names: &Names,
) -> Result<analytics::Usage, ApiError> {
    let Spans { head: (h1, h2), tail: (t1, t2), months: (m1, m2) } = Spans::of(period);
    let (key, lateral, clause) = (key_sql(by), if by == "team" { TEAMS } else { "" }, scope.clause());
    let label = |raw: String| match by {
        "team" => names.team(raw.parse().unwrap_or(0)),
        _ if raw.is_empty() => "(none)".to_owned(),
        _ => raw,
    };
    const TEAM_FILTERS: &str = "and ($5::text is null or d.agent = $5) and ($6::text is null or d.provider = $6)
         and ($7::text is null or d.model = $7) and ($8::text is null or d.kind = $8)
         and ($9::int8 is null or $9 = any(d.team_ids))";
    let (arg, from, to) = (scope.arg(), days(period.from), days(period.to));
    let sql = format!(
        "select (d.day - date '1970-01-01')::int8, {key}, sum(d.runs)::int8, sum(d.errors)::int8, sum(d.tokens_in)::int8,
                sum(d.tokens_out)::int8, sum(d.cost_usd)::float8, sum(d.findings)::int8, sum(d.edits)::int8,
                sum(d.accepted)::int8
           from usage_team_daily d {lateral}
          where d.org_id = $1 and d.day between $2 and $3 {clause} {TEAM_FILTERS} group by 1, 2"
    );
    let params: [&(dyn ToSql + Sync); 9] = [&org, &from, &to, &arg, &f.agent, &f.provider, &f.model, &f.kind, &f.team];
    let rows: Vec<Rollup> =
        client.query(&sql, &params).await?.into_iter().map(|r| keyed_rollup(by, label(r.get(1)), &r)).collect();
    let latency = spanned(
        "usage_latency",
        "usage_latency_team_monthly",
        "team_ids, kind, agent, provider, model, bucket, count",
        10,
    );
    let sql = format!(
        "select {key}, d.bucket::int8, sum(d.count)::int8 from {latency} d {lateral}
          where true {clause} {TEAM_FILTERS} group by 1, 2"
    );
    let params: [&(dyn ToSql + Sync); 13] =
        [&org, &h1, &h2, &arg, &f.agent, &f.provider, &f.model, &f.kind, &f.team, &t1, &t2, &m1, &m2];
    let mut latencies: BTreeMap<String, Histogram> = BTreeMap::new();
    for r in client.query(&sql, &params).await? {
        latencies.entry(label(r.get(0))).or_default().insert(r.get(1), r.get(2));
    }
    let (options, unpriced) = options_unpriced(client, org, period, scope, names).await?;
    Ok(analytics::usage(by, &DIMENSIONS, period, &rows, options, &latencies, &BTreeMap::new(), unpriced))
}

/// Usage by member, or filtered by member, or within a member's own scope,
/// from the per-member rollups: without the other dimensions when neither
/// the grouping nor a filter needs them.
async fn usage_members(
    hub: &Hub,
    client: &deadpool_postgres::Client,
    period: Period,
    by: &str,
    f: &Filters,
    scope: &Scope,
    names: &Names,
) -> Result<analytics::Usage, ApiError> {
    let org = hub.org;
    let Spans { head: (h1, h2), tail: (t1, t2), months: (m1, m2) } = Spans::of(period);
    let (key, lateral, clause) = (key_sql(by), if by == "team" { TEAMS } else { "" }, scope.clause());
    let label = |raw: String| match by {
        "member" => names.member(raw.parse().unwrap_or(0)),
        "team" => names.team(raw.parse().unwrap_or(0)),
        _ if raw.is_empty() => "(none)".to_owned(),
        _ => raw,
    };
    let (arg, from, to) = (scope.arg(), days(period.from), days(period.to));
    let narrow = (by == "member" || by == "team")
        && f.agent.is_none()
        && f.provider.is_none()
        && f.model.is_none()
        && f.kind.is_none();
    let report = if narrow {
        let mut latencies: BTreeMap<String, Histogram> = BTreeMap::new();
        const MEMBER_FILTERS: &str =
            "and ($5::int8 is null or d.member_key = $5) and ($6::int8 is null or $6 = any(d.team_ids))";
        let sql = format!(
            "select (d.day - date '1970-01-01')::int8, {key}, sum(d.runs)::int8, sum(d.errors)::int8,
                    sum(d.tokens_in)::int8, sum(d.tokens_out)::int8, sum(d.cost_usd)::float8, sum(d.findings)::int8,
                    sum(d.edits)::int8, sum(d.accepted)::int8
               from usage_member_daily d {lateral}
              where d.org_id = $1 and d.day between $2 and $3 {clause} {MEMBER_FILTERS} group by 1, 2"
        );
        let params: [&(dyn ToSql + Sync); 6] = [&org, &from, &to, &arg, &f.member, &f.team];
        let rows: Vec<Rollup> =
            client.query(&sql, &params).await?.into_iter().map(|r| keyed_rollup(by, label(r.get(1)), &r)).collect();
        let latency =
            spanned("usage_latency", "usage_latency_member_monthly", "member_key, team_ids, bucket, count", 7);
        let sql = format!(
            "select {key}, d.bucket::int8, sum(d.count)::int8 from {latency} d {lateral}
              where true {clause} {MEMBER_FILTERS} group by 1, 2"
        );
        let params: [&(dyn ToSql + Sync); 10] = [&org, &h1, &h2, &arg, &f.member, &f.team, &t1, &t2, &m1, &m2];
        for r in client.query(&sql, &params).await? {
            latencies.entry(label(r.get(0))).or_default().insert(r.get(1), r.get(2));
        }
        let (options, unpriced) = options_unpriced(client, org, period, scope, names).await?;
        analytics::usage(by, &DIMENSIONS, period, &rows, options, &latencies, &BTreeMap::new(), unpriced)
    } else {
        // Three reads of their own, at once (each a scan of its own rollup).
        let pool = &hub.pool;
        let params: [&(dyn ToSql + Sync); 14] =
            [&org, &h1, &h2, &arg, &f.agent, &f.provider, &f.model, &f.kind, &f.member, &f.team, &t1, &t2, &m1, &m2];
        let params = &params;
        let totals = async {
            // Totals, without days (the monthly rows have none).
            let rows = spanned("usage_daily", "usage_monthly", USAGE_COLUMNS, 11);
            let sql = format!(
                "select 0::int8, {key}, sum(d.runs)::int8, sum(d.errors)::int8, sum(d.tokens_in)::int8,
                        sum(d.tokens_out)::int8, sum(d.cost_usd)::float8, sum(d.findings)::int8, sum(d.edits)::int8,
                sum(d.accepted)::int8
                   from {rows} d {lateral} where true {clause} {FILTERS} group by 2"
            );
            let rows: Vec<Rollup> =
                client.query(&sql, params).await?.into_iter().map(|r| keyed_rollup(by, label(r.get(1)), &r)).collect();
            Ok::<_, ApiError>(rows)
        };
        let latency = async {
            let latency = spanned("usage_latency", "usage_latency_monthly", LATENCY_COLUMNS, 11);
            let sql = format!(
                "select {key}, d.bucket::int8, sum(d.count)::int8 from {latency} d {lateral}
                  where true {clause} {FILTERS} group by 1, 2"
            );
            let mut latencies: BTreeMap<String, Histogram> = BTreeMap::new();
            for r in pool.get().await?.query(&sql, params).await? {
                latencies.entry(label(r.get(0))).or_default().insert(r.get(1), r.get(2));
            }
            Ok::<_, ApiError>(latencies)
        };
        // The runs per day for the chart.
        let series = async {
            let sql = format!(
                "select (d.day - date '1970-01-01')::int8, {key}, sum(d.runs)::int8 from usage_daily d {lateral}
                  where d.org_id = $1 and d.day between $2 and $3 {clause} {FILTERS} group by 1, 2"
            );
            let params: [&(dyn ToSql + Sync); 10] =
                [&org, &from, &to, &arg, &f.agent, &f.provider, &f.model, &f.kind, &f.member, &f.team];
            let mut per_day: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
            for r in pool.get().await?.query(&sql, &params).await? {
                *per_day.entry(label(r.get(1))).or_default().entry(r.get(0)).or_default() += r.get::<_, i64>(2);
            }
            Ok::<_, ApiError>(per_day)
        };
        let (rows, latencies, per_day) = tokio::try_join!(totals, latency, series)?;
        let (options, unpriced) = options_unpriced(client, org, period, scope, names).await?;
        analytics::usage(by, &DIMENSIONS, period, &rows, options, &latencies, &BTreeMap::new(), unpriced)
            .with_runs_per_day(period, &per_day)
    };
    Ok(report)
}

/// What the filters offer and which models used have no price, within the
/// member's scope.
async fn options_unpriced(
    client: &deadpool_postgres::Client,
    org: i64,
    period: Period,
    scope: &Scope,
    names: &Names,
) -> Result<(BTreeMap<String, Vec<String>>, Vec<String>), ApiError> {
    if matches!(scope, Scope::Org) {
        return Ok((org_options(client, org, period, names).await?, unpriced_org(client, org, period).await?));
    }
    let Spans { head: (h1, h2), tail: (t1, t2), months: (m1, m2) } = Spans::of(period);
    let (arg, clause) = (scope.arg(), scope.clause());
    let params: [&(dyn ToSql + Sync); 8] = [&org, &h1, &h2, &arg, &t1, &t2, &m1, &m2];
    let options = options(client, &params, scope, names).await?;
    let rows = spanned("usage_daily", "usage_monthly", USAGE_COLUMNS, 5);
    let sql = format!(
        "select distinct d.provider || '/' || d.model from {rows} d
          where d.provider <> '' and d.tokens_in + d.tokens_out > 0 {clause}
            and not exists (select 1 from prices p where p.org_id = $1 and p.provider = d.provider and p.model = d.model)
          order by 1"
    );
    let unpriced = client.query(&sql, &params).await?.iter().map(|r| r.get(0)).collect();
    Ok((options, unpriced))
}

/// The models the organisation used in the period that have no price.
async fn unpriced_org(client: &deadpool_postgres::Client, org: i64, period: Period) -> Result<Vec<String>, ApiError> {
    let sql = "select distinct d.provider || '/' || d.model from usage_daily_org d
                where d.org_id = $1 and d.day between $2 and $3 and d.provider <> '' and d.tokens_in + d.tokens_out > 0
                  and not exists (select 1 from prices p where p.org_id = d.org_id and p.provider = d.provider and p.model = d.model)
                order by 1";
    Ok(client.query(sql, &[&org, &days(period.from), &days(period.to)]).await?.iter().map(|r| r.get(0)).collect())
}

/// Usage of the whole organisation not split by member or team, from the
/// rollups without the member dimension; latency from the monthly histograms
/// for the period's whole months.
async fn usage_org(
    client: &deadpool_postgres::Client,
    org: i64,
    period: Period,
    by: &str,
    f: &Filters,
    names: &Names,
) -> Result<analytics::Usage, ApiError> {
    let key = key_sql(by);
    let (from, to) = (days(period.from), days(period.to));
    const ORG_FILTERS: &str = "and ($4::text is null or d.agent = $4) and ($5::text is null or d.provider = $5)
         and ($6::text is null or d.model = $6) and ($7::text is null or d.kind = $7)";
    let params: [&(dyn ToSql + Sync); 7] = [&org, &from, &to, &f.agent, &f.provider, &f.model, &f.kind];
    let sql = format!(
        "select (d.day - date '1970-01-01')::int8, {key}, sum(d.runs)::int8, sum(d.errors)::int8, sum(d.tokens_in)::int8,
                sum(d.tokens_out)::int8, sum(d.cost_usd)::float8, sum(d.findings)::int8, sum(d.edits)::int8,
                sum(d.accepted)::int8
           from usage_daily_org d where d.org_id = $1 and d.day between $2 and $3 {ORG_FILTERS} group by 1, 2"
    );
    let label = |raw: String| if raw.is_empty() { "(none)".to_owned() } else { raw };
    let rows: Vec<Rollup> =
        client.query(&sql, &params).await?.into_iter().map(|r| keyed_rollup(by, label(r.get(1)), &r)).collect();
    let Spans { head: (h1, h2), tail: (t1, t2), months: (m1, m2) } = Spans::of(period);
    let params: [&(dyn ToSql + Sync); 11] =
        [&org, &h1, &h2, &f.agent, &f.provider, &f.model, &f.kind, &t1, &t2, &m1, &m2];
    let sql = format!(
        "select k, bucket::int8, sum(count)::int8 from (
             select {key} as k, d.bucket, d.count from usage_latency_org d
              where d.org_id = $1 and d.day between $2 and $3 {ORG_FILTERS}
             union all select {key}, d.bucket, d.count from usage_latency_org d
              where d.org_id = $1 and d.day between $8 and $9 {ORG_FILTERS}
             union all select {key}, d.bucket, d.count from usage_latency_org_monthly d
              where d.org_id = $1 and d.month between $10 and $11 {ORG_FILTERS}) x
          group by 1, 2"
    );
    let mut latencies: BTreeMap<String, Histogram> = BTreeMap::new();
    for r in client.query(&sql, &params).await? {
        latencies.entry(label(r.get(0))).or_default().insert(r.get(1), r.get(2));
    }
    let (options, unpriced) =
        (org_options(client, org, period, names).await?, unpriced_org(client, org, period).await?);
    Ok(analytics::usage(by, &DIMENSIONS, period, &rows, options, &latencies, &BTreeMap::new(), unpriced))
}

/// The values each filter can take for someone who sees the whole
/// organisation: what was used in the period, and every member and team (who
/// used what is the next question).
async fn org_options(
    client: &deadpool_postgres::Client,
    org: i64,
    period: Period,
    names: &Names,
) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let mut options: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let sql = "select distinct d.agent, d.provider, d.model, d.kind from usage_daily_org d
                where d.org_id = $1 and d.day between $2 and $3";
    for r in client.query(sql, &[&org, &days(period.from), &days(period.to)]).await? {
        for (i, dimension) in ["agent", "provider", "model", "kind"].into_iter().enumerate() {
            let value: String = r.get(i);
            if !value.is_empty() {
                options.entry(dimension.to_owned()).or_default().insert(value);
            }
        }
    }
    options.insert("member".into(), names.members.iter().filter(|(id, _)| **id != 0).map(|(_, n)| n.clone()).collect());
    options.insert("team".into(), names.teams.values().cloned().collect());
    Ok(options.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect())
}

/// The values each filter can take in the period within a team lead's or a
/// member's scope (`params`: the organisation, the spans and the scope's
/// argument as [`spanned`] with `n = 5` numbers them).
async fn options(
    client: &deadpool_postgres::Client,
    params: &[&(dyn ToSql + Sync)],
    scope: &Scope,
    names: &Names,
) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let (clause, rows) = (scope.clause(), spanned("usage_daily", "usage_monthly", USAGE_COLUMNS, 5));
    let sql = format!(
        "select distinct d.agent, d.provider, d.model, d.kind, d.member_key, d.team_ids from {rows} d where true {clause}"
    );
    let mut found: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in client.query(&sql, params).await? {
        for (i, dimension) in ["agent", "provider", "model", "kind"].into_iter().enumerate() {
            let value: String = r.get(i);
            if !value.is_empty() {
                found.entry(dimension).or_default().insert(value);
            }
        }
        found.entry("member").or_default().insert(names.member(r.get(4)));
        for team in r.get::<_, Vec<i64>>(5) {
            found.entry("team").or_default().insert(names.team(team));
        }
    }
    Ok(found.into_iter().map(|(k, v)| (k.to_owned(), v.into_iter().collect())).collect())
}

/// A row of `select day, KEY, runs, errors, tokens_in, tokens_out, cost, findings, edits, accepted`
/// as a rollup whose `by` dimension is `value` (its label).
fn keyed_rollup(by: &str, value: String, r: &tokio_postgres::Row) -> Rollup {
    let mut row = Rollup {
        day: r.get(0),
        runs: r.get(2),
        errors: r.get(3),
        tokens_in: r.get(4),
        tokens_out: r.get(5),
        cost_usd: r.get(6),
        findings: r.get(7),
        edits: r.get(8),
        accepted: r.get(9),
        ..Rollup::default()
    };
    match by {
        "provider" => row.provider = value,
        "model" => row.model = value,
        "kind" => row.kind = value,
        "member" => row.member = value,
        "team" => row.teams = vec![value],
        _ => row.agent = value,
    }
    row
}
