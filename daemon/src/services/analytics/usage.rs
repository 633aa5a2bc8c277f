//! Usage, cost and what changed: the console's charts, from the daily rollups.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, params_from_iter, types::Value};
use serde::Serialize;

use super::{Period, Prices, day_name, percentile};

/// One day of the overview.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Day {
    pub day: String,
    pub runs: i64,
    pub workflows: i64,
    pub completions: i64,
    pub tokens: i64,
    pub cost_usd: f64,
    /// People who used PAIRED that day: here, 1 or 0.
    pub members: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub runs: i64,
    pub workflows: i64,
    pub completions: i64,
    pub errors: i64,
    pub tokens: i64,
    pub cost_usd: f64,
    pub members: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub days: Vec<Day>,
    /// The last 7 days, today included, and the 7 before.
    pub this_week: Totals,
    pub last_week: Totals,
    /// What changed this week, in sentences.
    pub changes: Vec<String>,
    /// `provider/model` pairs that were used but have no price.
    pub unpriced: Vec<String>,
}

/// One rollup row: a day's use of one agent on one provider/model, of one kind.
struct Rollup {
    day: i64,
    kind: String,
    agent: String,
    provider: String,
    model: String,
    runs: i64,
    errors: i64,
    tokens_in: i64,
    tokens_out: i64,
    findings: i64,
    edits: i64,
}

fn rollups(conn: &Connection, period: Period, filter: &UsageFilter) -> rusqlite::Result<Vec<Rollup>> {
    let (clause, mut args) = filter.clause();
    args.insert(0, Value::Integer(period.to));
    args.insert(0, Value::Integer(period.from));
    let sql = format!(
        "SELECT day, kind, agent, provider, model, runs, errors, tokens_in, tokens_out, findings, edits
         FROM usage_daily WHERE day BETWEEN ?1 AND ?2 {clause}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(args), |row| {
        Ok(Rollup {
            day: row.get(0)?,
            kind: row.get(1)?,
            agent: row.get(2)?,
            provider: row.get(3)?,
            model: row.get(4)?,
            runs: row.get(5)?,
            errors: row.get(6)?,
            tokens_in: row.get(7)?,
            tokens_out: row.get(8)?,
            findings: row.get(9)?,
            edits: row.get(10)?,
        })
    })?;
    rows.collect()
}

/// Cost of a rollup row; records the pair in `unpriced` when it has tokens but no price.
fn cost_of(prices: &Prices, row: &Rollup, unpriced: &mut BTreeSet<String>) -> f64 {
    match prices.get(&row.provider, &row.model) {
        Some(price) => price.cost(row.tokens_in, row.tokens_out),
        None => {
            if row.tokens_in + row.tokens_out > 0 && !row.provider.is_empty() {
                unpriced.insert(format!("{}/{}", row.provider, row.model));
            }
            0.0
        }
    }
}

pub fn overview(conn: &Connection, now_ms: i64, days: u32, prices: &Prices) -> rusqlite::Result<Overview> {
    let period = Period::last(days, now_ms);
    let weeks = Period::last(14, now_ms);
    let widest = Period { from: period.from.min(weeks.from), to: period.to };
    let rows = rollups(conn, widest, &UsageFilter::default())?;
    let mut unpriced = BTreeSet::new();
    let mut by_day: BTreeMap<i64, Day> =
        period.days().map(|d| (d, Day { day: day_name(d), ..Day::default() })).collect();
    let (mut this_week, mut last_week) = (Totals::default(), Totals::default());
    let (mut active_this, mut active_last) = (BTreeSet::new(), BTreeSet::new());
    for row in &rows {
        let cost = cost_of(prices, row, &mut unpriced);
        if let Some(day) = by_day.get_mut(&row.day) {
            match row.kind.as_str() {
                "workflow" => day.workflows += row.runs,
                "completion" => day.completions += row.runs,
                _ => day.runs += row.runs,
            }
            day.tokens += row.tokens_in + row.tokens_out;
            day.cost_usd += cost;
            day.members = 1;
        }
        let (week, active) = if row.day > weeks.to - 7 {
            (&mut this_week, &mut active_this)
        } else if row.day >= weeks.from {
            (&mut last_week, &mut active_last)
        } else {
            continue;
        };
        match row.kind.as_str() {
            "workflow" => week.workflows += row.runs,
            "completion" => week.completions += row.runs,
            _ => week.runs += row.runs,
        }
        week.errors += row.errors;
        week.tokens += row.tokens_in + row.tokens_out;
        week.cost_usd += cost;
        active.insert(());
    }
    this_week.members = active_this.len() as i64;
    last_week.members = active_last.len() as i64;
    let changes = changes(&rows, weeks.to - 7, weeks.from, &this_week, &last_week);
    Ok(Overview {
        days: by_day.into_values().collect(),
        this_week,
        last_week,
        changes,
        unpriced: unpriced.into_iter().collect(),
    })
}

/// What changed this week against the one before, most telling first.
fn changes(rows: &[Rollup], this_from_after: i64, last_from: i64, now: &Totals, before: &Totals) -> Vec<String> {
    let mut per_agent: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut per_model: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.kind != "completion") {
        let counts = per_agent.entry(&row.agent).or_default();
        if row.day > this_from_after {
            counts.0 += row.runs;
            if !row.model.is_empty() {
                *per_model.entry(format!("{}/{}", row.provider, row.model)).or_default() += row.runs;
            }
        } else if row.day >= last_from {
            counts.1 += row.runs;
        }
    }
    let mut out = Vec::new();
    let new: Vec<&str> = per_agent.iter().filter(|(_, (n, b))| *n > 0 && *b == 0).map(|(a, _)| *a).collect();
    if !new.is_empty() {
        out.push(format!("First used this week: {}.", new.join(", ")));
    }
    let mut moved: Vec<(&str, i64, i64)> =
        per_agent.iter().filter(|(_, (n, b))| *b > 0 && n != b).map(|(a, (n, b))| (*a, *n, *b)).collect();
    moved.sort_by_key(|(_, n, b)| std::cmp::Reverse((n - b).abs()));
    for (agent, now, before) in moved.into_iter().take(3) {
        let direction = if now > before { "up" } else { "down" };
        out.push(format!("{agent} ran {now} times, {direction} from {before}."));
    }
    let rate = |t: &Totals| {
        let all = t.runs + t.workflows + t.completions;
        if all == 0 { 0.0 } else { t.errors as f64 / all as f64 }
    };
    let (rate_now, rate_before) = (rate(now), rate(before));
    if (rate_now - rate_before).abs() >= 0.005 && now.runs + now.workflows + now.completions > 0 {
        out.push(format!(
            "Failures: {:.1}% of what ran, against {:.1}% the week before.",
            rate_now * 100.0,
            rate_before * 100.0
        ));
    }
    if let Some((model, runs)) = per_model.iter().max_by_key(|(_, runs)| **runs) {
        out.push(format!("Most used model: {model} ({runs} runs)."));
    }
    if before.cost_usd > 0.0 || now.cost_usd > 0.0 {
        out.push(format!("Estimated cost ${:.2}, against ${:.2} the week before.", now.cost_usd, before.cost_usd));
    }
    out
}

/// Which usage to show: the dimension to group by and the filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageFilter {
    pub agent: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub kind: Option<String>,
}

impl UsageFilter {
    /// `AND …` over the rollup's columns, and its arguments (after the period's two).
    fn clause(&self) -> (String, Vec<Value>) {
        self.clause_on(|column| column.to_owned())
    }

    /// The same over other columns: `column` names each dimension in the query.
    fn clause_on(&self, column_of: impl Fn(&str) -> String) -> (String, Vec<Value>) {
        let mut clause = String::new();
        let mut args = Vec::new();
        for (column, value) in
            [("agent", &self.agent), ("provider", &self.provider), ("model", &self.model), ("kind", &self.kind)]
        {
            if let Some(value) = value {
                args.push(Value::Text(value.clone()));
                clause.push_str(&format!(" AND {} = ?{}", column_of(column), args.len() + 2));
            }
        }
        (clause, args)
    }
}

/// The dimensions usage can be grouped by on this machine.
pub const DIMENSIONS: [&str; 4] = ["agent", "provider", "model", "kind"];

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageRow {
    pub key: String,
    pub runs: i64,
    pub errors: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub findings: i64,
    pub edits: i64,
    /// Findings and edits the user accepted.
    pub accepted: i64,
    pub cost_per_accepted: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub days: Vec<String>,
    /// The busiest keys (at most five), and each one's runs per day.
    pub keys: Vec<String>,
    pub runs: Vec<Vec<i64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub by: String,
    pub dimensions: Vec<String>,
    pub rows: Vec<UsageRow>,
    pub series: Series,
    /// The values each filter can take in the period.
    pub options: BTreeMap<String, Vec<String>>,
    pub unpriced: Vec<String>,
}

fn key_of<'r>(by: &str, row: &'r Rollup) -> &'r str {
    match by {
        "provider" => &row.provider,
        "model" => &row.model,
        "kind" => &row.kind,
        _ => &row.agent,
    }
}

pub fn usage(
    conn: &Connection,
    now_ms: i64,
    days: u32,
    by: &str,
    filter: &UsageFilter,
    prices: &Prices,
) -> rusqlite::Result<Usage> {
    let by = if DIMENSIONS.contains(&by) { by } else { "agent" };
    let period = Period::last(days, now_ms);
    let all = rollups(conn, period, &UsageFilter::default())?;
    let mut options: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &all {
        for dimension in DIMENSIONS {
            let value = key_of(dimension, row);
            if !value.is_empty() {
                options.entry(dimension.to_owned()).or_default().insert(value.to_owned());
            }
        }
    }
    let rows = if *filter == UsageFilter::default() { all } else { rollups(conn, period, filter)? };
    let mut unpriced = BTreeSet::new();
    let mut table: BTreeMap<String, UsageRow> = BTreeMap::new();
    let mut per_day: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    for row in &rows {
        let key = key_of(by, row);
        let key = if key.is_empty() { "(none)" } else { key };
        let cost = cost_of(prices, row, &mut unpriced);
        let entry =
            table.entry(key.to_owned()).or_insert_with(|| UsageRow { key: key.to_owned(), ..UsageRow::default() });
        entry.runs += row.runs;
        entry.errors += row.errors;
        entry.tokens_in += row.tokens_in;
        entry.tokens_out += row.tokens_out;
        entry.cost_usd += cost;
        entry.findings += row.findings;
        entry.edits += row.edits;
        *per_day.entry(key.to_owned()).or_default().entry(row.day).or_default() += row.runs;
    }
    for (key, histogram) in latencies(conn, period, by, filter)? {
        if let Some(row) = table.get_mut(&key) {
            row.latency_p50_ms = percentile(&histogram, 0.5);
            row.latency_p95_ms = percentile(&histogram, 0.95);
        }
    }
    for (key, accepted) in accepted(conn, period, by, filter)? {
        if let Some(row) = table.get_mut(&key) {
            row.accepted = accepted;
        }
    }
    let mut rows: Vec<UsageRow> = table.into_values().collect();
    for row in &mut rows {
        row.cost_per_accepted = (row.accepted > 0).then(|| row.cost_usd / row.accepted as f64);
    }
    rows.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.key.cmp(&b.key)));
    let keys: Vec<String> = rows.iter().take(5).map(|r| r.key.clone()).collect();
    let series = Series {
        days: period.days().map(day_name).collect(),
        runs: keys
            .iter()
            .map(|k| period.days().map(|d| per_day.get(k).and_then(|m| m.get(&d)).copied().unwrap_or(0)).collect())
            .collect(),
        keys,
    };
    Ok(Usage {
        by: by.to_owned(),
        dimensions: DIMENSIONS.iter().map(|d| (*d).to_owned()).collect(),
        rows,
        series,
        options: options.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect(),
        unpriced: unpriced.into_iter().collect(),
    })
}

/// Latency histograms per key over the period.
fn latencies(
    conn: &Connection,
    period: Period,
    by: &str,
    filter: &UsageFilter,
) -> rusqlite::Result<BTreeMap<String, BTreeMap<i64, i64>>> {
    let (clause, mut args) = filter.clause();
    args.insert(0, Value::Integer(period.to));
    args.insert(0, Value::Integer(period.from));
    let sql = format!(
        "SELECT CASE {by} WHEN '' THEN '(none)' ELSE {by} END, bucket, sum(count) FROM usage_latency
         WHERE day BETWEEN ?1 AND ?2 {clause} GROUP BY 1, 2"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut out: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    let mut rows = statement.query(params_from_iter(args))?;
    while let Some(row) = rows.next()? {
        out.entry(row.get(0)?).or_default().insert(row.get(1)?, row.get(2)?);
    }
    Ok(out)
}

/// Findings and edits accepted per key, for the events of the period.
fn accepted(
    conn: &Connection,
    period: Period,
    by: &str,
    filter: &UsageFilter,
) -> rusqlite::Result<BTreeMap<String, i64>> {
    // Events have NULL where the rollups have ''.
    let column = |name: &str| match name {
        "provider" | "model" => format!("coalesce(e.{name}, '')"),
        _ => format!("e.{name}"),
    };
    let (clause, mut args) = filter.clause_on(column);
    args.insert(0, Value::Integer(period.last_ms()));
    args.insert(0, Value::Integer(period.first_ms()));
    let key = column(by);
    let sql = format!(
        "SELECT CASE {key} WHEN '' THEN '(none)' ELSE {key} END, count(*)
         FROM feedback f JOIN usage_events e ON e.source = f.source
         WHERE f.verdict = 'accepted' AND e.at_ms BETWEEN ?1 AND ?2 {clause} GROUP BY 1"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(args), |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cheaper {
    pub provider: String,
    pub model: String,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostRow {
    pub agent: String,
    pub provider: String,
    pub model: String,
    pub runs: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    pub accepted: i64,
    pub cost_per_accepted: Option<f64>,
    /// The configured model that would have cost least for the same tokens, when cheaper.
    pub cheaper: Option<Cheaper>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub rows: Vec<CostRow>,
    pub unpriced: Vec<String>,
}

/// Agent and model pairs, most expensive first, each with the cheapest priced
/// model that would have done the same tokens for less.
pub fn cost(conn: &Connection, now_ms: i64, days: u32, prices: &Prices) -> rusqlite::Result<Cost> {
    let period = Period::last(days, now_ms);
    let mut unpriced = BTreeSet::new();
    let mut pairs: BTreeMap<(String, String, String), CostRow> = BTreeMap::new();
    for row in rollups(conn, period, &UsageFilter::default())?.iter().filter(|r| !r.model.is_empty()) {
        let cost = cost_of(prices, row, &mut unpriced);
        let key = (row.agent.clone(), row.provider.clone(), row.model.clone());
        let entry = pairs.entry(key).or_insert_with(|| CostRow {
            agent: row.agent.clone(),
            provider: row.provider.clone(),
            model: row.model.clone(),
            runs: 0,
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: 0.0,
            accepted: 0,
            cost_per_accepted: None,
            cheaper: None,
        });
        entry.runs += row.runs;
        entry.tokens_in += row.tokens_in;
        entry.tokens_out += row.tokens_out;
        entry.cost_usd += cost;
    }
    let mut accepted_pairs: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut statement = conn.prepare_cached(
        "SELECT e.agent, coalesce(e.provider, ''), coalesce(e.model, ''), count(*)
         FROM feedback f JOIN usage_events e ON e.source = f.source
         WHERE f.verdict = 'accepted' AND e.at_ms BETWEEN ?1 AND ?2 GROUP BY 1, 2, 3",
    )?;
    let mut rows = statement.query([period.first_ms(), period.last_ms()])?;
    while let Some(row) = rows.next()? {
        accepted_pairs.insert((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?);
    }
    let mut rows: Vec<CostRow> = pairs.into_values().collect();
    for row in &mut rows {
        row.accepted =
            accepted_pairs.get(&(row.agent.clone(), row.provider.clone(), row.model.clone())).copied().unwrap_or(0);
        row.cost_per_accepted = (row.accepted > 0).then(|| row.cost_usd / row.accepted as f64);
        row.cheaper = prices
            .0
            .iter()
            .map(|((provider, model), price)| (provider, model, price.cost(row.tokens_in, row.tokens_out)))
            .filter(|(provider, model, cost)| {
                *cost < row.cost_usd && (*provider, *model) != (&row.provider, &row.model)
            })
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(provider, model, cost_usd)| Cheaper { provider: provider.clone(), model: model.clone(), cost_usd });
    }
    rows.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd).then_with(|| b.runs.cmp(&a.runs)));
    Ok(Cost { rows, unpriced: unpriced.into_iter().collect() })
}
