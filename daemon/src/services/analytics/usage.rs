//! The daily rollups, latency histograms and accepted counts, read from SQLite
//! and made into the console's reports by the `analytics` crate.

use std::collections::{BTreeMap, BTreeSet};

use analytics::{Cost, Histogram, Overview, Period, Prices, Rollup, Usage};
use rusqlite::{Connection, params_from_iter, types::Value};

/// The dimensions usage can be grouped by on this machine.
pub const DIMENSIONS: [&str; 4] = ["agent", "provider", "model", "kind"];

/// Which usage to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageFilter {
    pub agent: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub kind: Option<String>,
}

impl UsageFilter {
    /// `AND …` over the columns `column_of` names, and its arguments (after the period's two).
    fn clause_on(&self, column_of: impl Fn(&str) -> String) -> (String, Vec<Value>) {
        self.clause_after(2, column_of)
    }

    /// The same, its arguments numbered after `leading` others.
    fn clause_after(&self, leading: usize, column_of: impl Fn(&str) -> String) -> (String, Vec<Value>) {
        let mut clause = String::new();
        let mut args = Vec::new();
        for (column, value) in
            [("agent", &self.agent), ("provider", &self.provider), ("model", &self.model), ("kind", &self.kind)]
        {
            if let Some(value) = value {
                args.push(Value::Text(value.clone()));
                clause.push_str(&format!(" AND {} = ?{}", column_of(column), args.len() + leading));
            }
        }
        (clause, args)
    }

    fn clause(&self) -> (String, Vec<Value>) {
        self.clause_on(str::to_owned)
    }
}

/// The period's rollup rows the filter keeps, costed; the used `provider/model`
/// pairs without a price go in `unpriced`.
fn rollups(
    conn: &Connection,
    period: Period,
    filter: &UsageFilter,
    prices: &Prices,
    unpriced: &mut BTreeSet<String>,
) -> rusqlite::Result<Vec<Rollup>> {
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
            ..Rollup::default()
        })
    })?;
    let mut rows: Vec<Rollup> = rows.collect::<rusqlite::Result<_>>()?;
    for row in &mut rows {
        match prices.get(&row.provider, &row.model) {
            Some(price) => row.cost_usd = price.cost(row.tokens_in, row.tokens_out),
            None if row.tokens_in + row.tokens_out > 0 && !row.provider.is_empty() => {
                unpriced.insert(format!("{}/{}", row.provider, row.model));
            }
            None => {}
        }
    }
    Ok(rows)
}

pub fn overview(conn: &Connection, now_ms: i64, days: u32, prices: &Prices) -> rusqlite::Result<Overview> {
    let period = Period::last(days, now_ms);
    let mut unpriced = BTreeSet::new();
    let rows = rollups(conn, period.with_two_weeks(now_ms), &UsageFilter::default(), prices, &mut unpriced)?;
    Ok(analytics::overview(period, now_ms, &rows, unpriced.into_iter().collect()))
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
    let mut unpriced = BTreeSet::new();
    let all = rollups(conn, period, &UsageFilter::default(), prices, &mut unpriced)?;
    let kept = if *filter == UsageFilter::default() {
        all.clone()
    } else {
        unpriced.clear();
        rollups(conn, period, filter, prices, &mut unpriced)?
    };
    let latencies = latencies(conn, period, by, filter)?;
    let accepted = accepted(conn, period, by, filter)?;
    let options = analytics::options_of(&DIMENSIONS, &all);
    Ok(analytics::usage(by, &DIMENSIONS, period, &kept, options, &latencies, &accepted, unpriced.into_iter().collect()))
}

/// Latency histograms per key over the period (`by` is one of [`DIMENSIONS`]):
/// its whole months from the monthly histograms, the days around them from
/// the daily ones.
fn latencies(
    conn: &Connection,
    period: Period,
    by: &str,
    filter: &UsageFilter,
) -> rusqlite::Result<BTreeMap<String, Histogram>> {
    // Days before the months, days after them, the months (an empty range is (1, 0)).
    let ranges = match period.full_months() {
        Some((first, last)) => [(period.from, first - 1), (last + 1, period.to), (first, last)],
        None => [(period.from, period.to), (1, 0), (1, 0)],
    };
    let (clause, mut args) = filter.clause_after(6, str::to_owned);
    for (i, (from, to)) in ranges.iter().enumerate() {
        args.insert(2 * i, Value::Integer(*from));
        args.insert(2 * i + 1, Value::Integer(*to));
    }
    let sql = format!(
        "SELECT CASE k WHEN '' THEN '(none)' ELSE k END, bucket, sum(count) FROM (
             SELECT {by} AS k, bucket, count FROM usage_latency WHERE day BETWEEN ?1 AND ?2 {clause}
             UNION ALL SELECT {by}, bucket, count FROM usage_latency WHERE day BETWEEN ?3 AND ?4 {clause}
             UNION ALL SELECT {by}, bucket, count FROM usage_latency_monthly WHERE month BETWEEN ?5 AND ?6 {clause})
         GROUP BY 1, 2"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut out: BTreeMap<String, Histogram> = BTreeMap::new();
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

/// Agent and model pairs, most expensive first, with the cheapest priced alternative.
pub fn cost(conn: &Connection, now_ms: i64, days: u32, prices: &Prices) -> rusqlite::Result<Cost> {
    let period = Period::last(days, now_ms);
    let mut unpriced = BTreeSet::new();
    let rows = rollups(conn, period, &UsageFilter::default(), prices, &mut unpriced)?;
    let mut accepted = BTreeMap::new();
    let mut statement = conn.prepare_cached(
        "SELECT e.agent, coalesce(e.provider, ''), coalesce(e.model, ''), count(*)
         FROM feedback f JOIN usage_events e ON e.source = f.source
         WHERE f.verdict = 'accepted' AND e.at_ms BETWEEN ?1 AND ?2 GROUP BY 1, 2, 3",
    )?;
    let mut found = statement.query([period.first_ms(), period.last_ms()])?;
    while let Some(row) = found.next()? {
        accepted.insert((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?);
    }
    Ok(analytics::cost(&rows, prices, &accepted, unpriced.into_iter().collect()))
}
