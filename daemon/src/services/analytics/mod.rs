//! What the console shows of this machine's own record: usage rolled up per
//! day (`usage_daily`, `usage_latency`, kept by a trigger on `usage_events`),
//! estimated cost from the prices in the config, what the user accepted of the
//! agents' work, runs and workflow sessions, and the audit log.
//!
//! Queries take a [`rusqlite::Connection`] and return serializable reports, so
//! the console's API, the tests and the benchmark call the same code. Every
//! dashboard query reads the daily rollups, never the events one by one.

mod csv;
mod records;
mod usage;

use std::collections::BTreeMap;

use serde::Serialize;

pub use csv::to_csv;
pub use records::{AuditEvent, Feedback, RunRow, SessionRow, audit, feedback, record_audit, runs, sessions};
pub use usage::{Cost, CostRow, Overview, Totals, Usage, UsageFilter, UsageRow, cost, overview, usage};

const DAY_MS: i64 = 86_400_000;

/// Days `from..=to`, counted since 1970-01-01 (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

impl Period {
    /// The last `days` days, today included.
    pub fn last(days: u32, now_ms: i64) -> Period {
        let today = now_ms.div_euclid(DAY_MS);
        Period { from: today - i64::from(days.clamp(1, 3660)) + 1, to: today }
    }

    fn days(self) -> impl Iterator<Item = i64> {
        self.from..=self.to
    }

    fn first_ms(self) -> i64 {
        self.from * DAY_MS
    }

    fn last_ms(self) -> i64 {
        (self.to + 1) * DAY_MS - 1
    }
}

/// `YYYY-MM-DD` of a day number.
pub fn day_name(day: i64) -> String {
    jiff::Timestamp::from_second(day * 86_400).map_or_else(|_| day.to_string(), |t| t.strftime("%Y-%m-%d").to_string())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of milliseconds since the epoch.
pub fn day_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map_or_else(|_| ms.to_string(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// US dollars per million tokens, in and out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Price {
    pub fn cost(self, tokens_in: i64, tokens_out: i64) -> f64 {
        (tokens_in as f64 * self.input_per_mtok + tokens_out as f64 * self.output_per_mtok) / 1e6
    }
}

/// What each (provider, model) costs, as the config's `[providers.NAME.prices]` say.
#[derive(Debug, Clone, Default)]
pub struct Prices(pub BTreeMap<(String, String), Price>);

impl Prices {
    pub fn from_config(config: &crate::platform::config::Config) -> Prices {
        let mut prices = BTreeMap::new();
        for (name, provider) in &config.providers {
            for (model, price) in &provider.prices {
                let price = Price { input_per_mtok: price.input_per_mtok, output_per_mtok: price.output_per_mtok };
                prices.insert((name.clone(), model.clone()), price);
            }
        }
        Prices(prices)
    }

    pub fn get(&self, provider: &str, model: &str) -> Option<Price> {
        self.0.get(&(provider.to_owned(), model.to_owned())).copied()
    }
}

/// The percentile `q` (0..1) of a latency histogram (bucket → count): the
/// geometric middle of the bucket it falls in. `None` when empty.
fn percentile(histogram: &BTreeMap<i64, i64>, q: f64) -> Option<f64> {
    let total: i64 = histogram.values().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (&bucket, &count) in histogram {
        seen += count;
        if seen >= rank {
            return Some(bucket_middle(bucket));
        }
    }
    None
}

/// Bucket `k` holds latencies in `[2^((k-1)/4), 2^(k/4))` ms (bucket 0: under 1 ms).
fn bucket_middle(bucket: i64) -> f64 {
    if bucket == 0 {
        return 0.5;
    }
    let step = 2f64.powf(0.25);
    let upper = step.powi(bucket as i32);
    (upper * upper / step).sqrt()
}

#[cfg(test)]
mod tests;
