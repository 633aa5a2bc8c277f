//! The reports: overview, usage by a dimension, cost by agent and model.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::{Histogram, Period, Prices, day_name, percentile};

/// One day's use of one agent on one provider/model, of one kind (and, on a
/// hub, by one member, in their teams): what both stores roll events up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    pub day: i64,
    pub kind: String,
    pub agent: String,
    /// `""` when no model was used (an offline run, a workflow).
    pub provider: String,
    pub model: String,
    /// `""` on the daemon (one user).
    pub member: String,
    pub teams: Vec<String>,
    pub runs: i64,
    pub errors: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    pub findings: i64,
    pub edits: i64,
    /// Findings and edits the user accepted, where the store keeps them with
    /// the rollups (the hub); the daemon passes them separately.
    pub accepted: i64,
}

/// The values of dimension `by` a row counts under (a member in two teams
/// counts in both). `""` is shown as `(none)`.
pub fn key_of<'r>(by: &str, row: &'r Rollup) -> Vec<&'r str> {
    let one = match by {
        "provider" => &row.provider,
        "model" => &row.model,
        "kind" => &row.kind,
        "member" => &row.member,
        "team" if row.teams.is_empty() => return vec!["(no team)"],
        "team" => return row.teams.iter().map(String::as_str).collect(),
        _ => &row.agent,
    };
    vec![if one.is_empty() { "(none)" } else { one }]
}

/// One day of the overview.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Day {
    pub day: String,
    pub runs: i64,
    pub workflows: i64,
    pub completions: i64,
    pub tokens: i64,
    pub cost_usd: f64,
    /// People who used PAIRED that day.
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

impl Totals {
    fn add(&mut self, row: &Rollup) {
        match row.kind.as_str() {
            "workflow" => self.workflows += row.runs,
            "completion" => self.completions += row.runs,
            _ => self.runs += row.runs,
        }
        self.errors += row.errors;
        self.tokens += row.tokens_in + row.tokens_out;
        self.cost_usd += row.cost_usd;
    }

    fn failure_rate(&self) -> f64 {
        let all = self.runs + self.workflows + self.completions;
        if all == 0 { 0.0 } else { self.errors as f64 / all as f64 }
    }
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

/// The overview of `period` from `rows`, which cover it and the two weeks
/// before `now_ms` ([`Period::with_two_weeks`]).
pub fn overview(period: Period, now_ms: i64, rows: &[Rollup], unpriced: Vec<String>) -> Overview {
    let weeks = Period::last(14, now_ms);
    let this_week_from = weeks.to - 6;
    let mut days: BTreeMap<i64, (Day, BTreeSet<&str>)> =
        period.days().map(|d| (d, (Day { day: day_name(d), ..Day::default() }, BTreeSet::new()))).collect();
    let (mut this_week, mut last_week) = (Totals::default(), Totals::default());
    let (mut active_this, mut active_last) = (BTreeSet::new(), BTreeSet::new());
    for row in rows {
        if let Some((day, members)) = days.get_mut(&row.day) {
            let mut totals = Totals::default();
            totals.add(row);
            day.runs += totals.runs;
            day.workflows += totals.workflows;
            day.completions += totals.completions;
            day.tokens += totals.tokens;
            day.cost_usd += totals.cost_usd;
            members.insert(&row.member);
        }
        if row.day >= this_week_from {
            this_week.add(row);
            active_this.insert(&row.member);
        } else if row.day >= weeks.from {
            last_week.add(row);
            active_last.insert(&row.member);
        }
    }
    this_week.members = active_this.len() as i64;
    last_week.members = active_last.len() as i64;
    let changes = changes(rows, this_week_from, weeks.from, &this_week, &last_week);
    let days = days
        .into_values()
        .map(|(mut day, members)| {
            day.members = members.len() as i64;
            day
        })
        .collect();
    Overview { days, this_week, last_week, changes, unpriced }
}

/// What changed this week against the one before, most telling first.
fn changes(rows: &[Rollup], this_from: i64, last_from: i64, now: &Totals, before: &Totals) -> Vec<String> {
    let mut per_agent: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut per_model: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.kind != "completion") {
        let counts = per_agent.entry(&row.agent).or_default();
        if row.day >= this_from {
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
    let (rate_now, rate_before) = (now.failure_rate(), before.failure_rate());
    if (rate_now - rate_before).abs() >= 0.005 && now.runs + now.workflows + now.completions > 0 {
        out.push(format!(
            "Failures: {:.1}% of what ran, against {:.1}% the week before.",
            rate_now * 100.0,
            rate_before * 100.0
        ));
    }
    if now.members != before.members && before.members > 0 {
        out.push(format!("{} active members, against {} the week before.", now.members, before.members));
    }
    if let Some((model, runs)) = per_model.iter().max_by_key(|(_, runs)| **runs) {
        out.push(format!("Most used model: {model} ({runs} runs)."));
    }
    if before.cost_usd > 0.0 || now.cost_usd > 0.0 {
        out.push(format!("Estimated cost ${:.2}, against ${:.2} the week before.", now.cost_usd, before.cost_usd));
    }
    out
}

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

/// The values each of `dimensions` takes in `rows`: what the filters offer.
pub fn options_of(dimensions: &[&str], rows: &[Rollup]) -> BTreeMap<String, Vec<String>> {
    let mut options: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        for dimension in dimensions {
            for value in key_of(dimension, row) {
                if !value.starts_with('(') {
                    options.entry((*dimension).to_owned()).or_default().insert(value.to_owned());
                }
            }
        }
    }
    options.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect()
}

/// Usage over `period` grouped `by` one of `dimensions`, from the `rows` the
/// filters keep (each needs only its `by` field and the day), with the
/// latency histograms and accepted counts per key; `options` are what the
/// filters offer ([`options_of`]).
#[allow(clippy::too_many_arguments)]
pub fn usage(
    by: &str,
    dimensions: &[&str],
    period: Period,
    rows: &[Rollup],
    options: BTreeMap<String, Vec<String>>,
    latencies: &BTreeMap<String, Histogram>,
    accepted: &BTreeMap<String, i64>,
    unpriced: Vec<String>,
) -> Usage {
    let mut table: BTreeMap<String, UsageRow> = BTreeMap::new();
    let mut per_day: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    for row in rows {
        for key in key_of(by, row) {
            let entry =
                table.entry(key.to_owned()).or_insert_with(|| UsageRow { key: key.to_owned(), ..UsageRow::default() });
            entry.runs += row.runs;
            entry.errors += row.errors;
            entry.tokens_in += row.tokens_in;
            entry.tokens_out += row.tokens_out;
            entry.cost_usd += row.cost_usd;
            entry.findings += row.findings;
            entry.edits += row.edits;
            entry.accepted += row.accepted;
            *per_day.entry(key.to_owned()).or_default().entry(row.day).or_default() += row.runs;
        }
    }
    let mut rows: Vec<UsageRow> = table.into_values().collect();
    for row in &mut rows {
        if let Some(histogram) = latencies.get(&row.key) {
            row.latency_p50_ms = percentile(histogram, 0.5);
            row.latency_p95_ms = percentile(histogram, 0.95);
        }
        row.accepted += accepted.get(&row.key).copied().unwrap_or(0);
        row.cost_per_accepted = (row.accepted > 0).then(|| row.cost_usd / row.accepted as f64);
    }
    rows.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.key.cmp(&b.key)));
    let keys: Vec<String> = rows.iter().take(5).map(|r| r.key.clone()).collect();
    let series =
        Series { days: period.days().map(day_name).collect(), runs: runs_per_day(period, &keys, &per_day), keys };
    Usage {
        by: by.to_owned(),
        dimensions: dimensions.iter().map(|d| (*d).to_owned()).collect(),
        rows,
        series,
        options,
        unpriced,
    }
}

/// Each key's runs on each day of the period.
fn runs_per_day(period: Period, keys: &[String], per_day: &BTreeMap<String, BTreeMap<i64, i64>>) -> Vec<Vec<i64>> {
    keys.iter()
        .map(|k| period.days().map(|d| per_day.get(k).and_then(|m| m.get(&d)).copied().unwrap_or(0)).collect())
        .collect()
}

impl Usage {
    /// The per-day chart from runs counted by key and day elsewhere, for a
    /// report made from rows without days (rolled up per month).
    pub fn with_runs_per_day(mut self, period: Period, per_day: &BTreeMap<String, BTreeMap<i64, i64>>) -> Usage {
        self.series.runs = runs_per_day(period, &self.series.keys, per_day);
        self
    }
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
    /// The priced model that would have cost least for the same tokens, when cheaper.
    pub cheaper: Option<Cheaper>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub rows: Vec<CostRow>,
    pub unpriced: Vec<String>,
}

/// Agent and model pairs, most expensive first, each with the cheapest priced
/// model that would have done the same tokens for less; `accepted` per
/// (agent, provider, model).
pub fn cost(
    rows: &[Rollup],
    prices: &Prices,
    accepted: &BTreeMap<(String, String, String), i64>,
    unpriced: Vec<String>,
) -> Cost {
    let mut pairs: BTreeMap<(String, String, String), CostRow> = BTreeMap::new();
    for row in rows.iter().filter(|r| !r.model.is_empty()) {
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
        entry.cost_usd += row.cost_usd;
        entry.accepted += row.accepted;
    }
    let mut rows: Vec<CostRow> = pairs
        .into_iter()
        .map(|(key, mut row)| {
            row.accepted += accepted.get(&key).copied().unwrap_or(0);
            row.cost_per_accepted = (row.accepted > 0).then(|| row.cost_usd / row.accepted as f64);
            row.cheaper = prices
                .0
                .iter()
                .map(|((provider, model), price)| (provider, model, price.cost(row.tokens_in, row.tokens_out)))
                .filter(|(provider, model, cost)| {
                    *cost < row.cost_usd && (*provider, *model) != (&row.provider, &row.model)
                })
                .min_by(|a, b| a.2.total_cmp(&b.2))
                .map(|(provider, model, cost_usd)| Cheaper {
                    provider: provider.clone(),
                    model: model.clone(),
                    cost_usd,
                });
            row
        })
        .collect();
    rows.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd).then_with(|| b.runs.cmp(&a.runs)));
    Cost { rows, unpriced }
}
