//! What the console shows, sans IO. Each back end reads its own store — the
//! daemon's SQLite, the hub's PostgreSQL — into the same [`Rollup`] rows
//! (one per day and agent/provider/model/kind, and member and teams on a hub),
//! latency histograms and accepted counts; the reports here are made from
//! those, so the one front-end sees one shape from both.

mod csv;
mod report;

use std::collections::BTreeMap;

use serde::Serialize;

pub use csv::{to_csv, usage_csv};
pub use report::{
    Cheaper, Cost, CostRow, Day, Overview, Rollup, Series, Totals, Usage, UsageRow, cost, key_of, options_of, overview,
    usage,
};

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

    pub fn days(self) -> impl Iterator<Item = i64> {
        self.from..=self.to
    }

    /// The first millisecond of the period.
    pub fn first_ms(self) -> i64 {
        self.from * DAY_MS
    }

    /// The last millisecond of the period.
    pub fn last_ms(self) -> i64 {
        (self.to + 1) * DAY_MS - 1
    }

    /// The whole calendar months inside the period, as `(first day of the
    /// first month, last day of the last month)`: what a store may read from
    /// monthly rollups instead of daily ones (`None` when no month fits).
    pub fn full_months(self) -> Option<(i64, i64)> {
        let date = |day: i64| {
            jiff::Timestamp::from_second(day * 86_400).ok().map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
        };
        let day_of = |date: jiff::civil::Date| {
            date.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_second().div_euclid(86_400))
        };
        let (from, to) = (date(self.from)?, date(self.to)?);
        let first = if from.day() == 1 { from } else { from.last_of_month().tomorrow().ok()? };
        let last = if to == to.last_of_month() { to } else { to.first_of_month().yesterday().ok()? };
        let (first, last) = (day_of(first)?, day_of(last)?);
        (first <= last).then_some((first, last))
    }

    /// The period and the 14 days before today, whichever reaches further back
    /// (the overview compares this week with the last).
    pub fn with_two_weeks(self, now_ms: i64) -> Period {
        Period { from: self.from.min(Period::last(14, now_ms).from), to: self.to }
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

/// What each (provider, model) costs.
#[derive(Debug, Clone, Default)]
pub struct Prices(pub BTreeMap<(String, String), Price>);

impl Prices {
    pub fn get(&self, provider: &str, model: &str) -> Option<Price> {
        self.0.get(&(provider.to_owned(), model.to_owned())).copied()
    }
}

/// A latency histogram: bucket → count. Bucket `k` holds latencies in
/// `[2^((k-1)/4), 2^(k/4))` ms (bucket 0: under 1 ms), so a percentile read
/// from it is within ±10%.
pub type Histogram = BTreeMap<i64, i64>;

/// The bucket a latency falls in (what the stores' rollups compute in SQL).
pub fn bucket(latency_ms: i64) -> i64 {
    if latency_ms < 1 { 0 } else { ((latency_ms as f64).log2() * 4.0).floor() as i64 + 1 }.min(128)
}

/// The percentile `q` (0..1) of a histogram: the geometric middle of the
/// bucket it falls in. `None` when empty.
pub fn percentile(histogram: &Histogram, q: f64) -> Option<f64> {
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

fn bucket_middle(bucket: i64) -> f64 {
    if bucket == 0 {
        return 0.5;
    }
    let step = 2f64.powf(0.25);
    let upper = step.powi(bucket as i32);
    (upper * upper / step).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_bucket_they_fall_in() {
        let histogram: Histogram = [(0, 1), (40, 9)].into_iter().collect();
        assert_eq!(percentile(&histogram, 0.05), Some(0.5));
        let p50 = percentile(&histogram, 0.5).expect("p50");
        // Bucket 40 holds [2^9.75, 2^10) ms.
        assert!((861.0..1024.0).contains(&p50), "{p50}");
        assert_eq!(percentile(&Histogram::new(), 0.5), None);
    }

    #[test]
    fn full_months_are_the_calendar_months_inside_a_period() {
        let day = |y: i16, m: i8, d: i8| {
            jiff::civil::date(y, m, d).to_zoned(jiff::tz::TimeZone::UTC).expect("date").timestamp().as_second() / 86_400
        };
        let period = Period { from: day(2026, 1, 15), to: day(2026, 4, 10) };
        assert_eq!(period.full_months(), Some((day(2026, 2, 1), day(2026, 3, 31))));
        let exact = Period { from: day(2026, 2, 1), to: day(2026, 2, 28) };
        assert_eq!(exact.full_months(), Some((day(2026, 2, 1), day(2026, 2, 28))));
        assert_eq!(Period { from: day(2026, 2, 2), to: day(2026, 3, 30) }.full_months(), None);
    }

    #[test]
    fn buckets_are_a_quarter_of_a_power_of_two_wide() {
        assert_eq!([bucket(0), bucket(1), bucket(2), bucket(3), bucket(1000)], [0, 1, 5, 7, 40]);
        for latency in [1, 7, 100, 999, 5000, 86_400_000] {
            let b = bucket(latency);
            let (lower, upper) = (2f64.powf((b - 1) as f64 / 4.0), 2f64.powf(b as f64 / 4.0));
            assert!(lower <= latency as f64 && (latency as f64) < upper, "{latency} in bucket {b}");
        }
    }

    #[test]
    fn csv_cells_never_run_as_formulas() {
        let rows = [vec!["=HYPERLINK(\"x\")".to_owned(), "-1.5".to_owned()], vec!["@sum".to_owned(), "2".to_owned()]];
        let text = to_csv(&["agent", "cost"], rows);
        assert_eq!(text, "agent,cost\n\"'=HYPERLINK(\"\"x\"\")\",-1.5\n'@sum,2\n");
    }
}
