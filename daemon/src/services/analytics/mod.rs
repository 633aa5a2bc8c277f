//! What the console shows of this machine's own record: the rows the
//! [`analytics`] crate makes its reports from, read from SQLite — usage
//! rolled up per day (`usage_daily`, `usage_latency`, kept by a trigger on
//! `usage_events`), estimated cost from the prices in the config, what the
//! user accepted of the agents' work — and runs, workflow sessions and the
//! audit log.
//!
//! Queries take a [`rusqlite::Connection`], so the console's API, the tests
//! and the benchmark call the same code. Every dashboard query reads the daily
//! rollups, never the events one by one.

mod records;
mod usage;

pub use analytics::{Overview, Period, Price, Prices, day_time, to_csv};
pub use records::{AuditEvent, Feedback, RunRow, SessionRow, audit, feedback, record_audit, runs, sessions};
pub use usage::{DIMENSIONS, UsageFilter, cost, overview, usage};

/// The prices the config's `[providers.NAME.prices]` set.
pub fn prices(config: &crate::platform::config::Config) -> Prices {
    let mut prices = Prices::default();
    for (name, provider) in &config.providers {
        for (model, price) in &provider.prices {
            let price = Price { input_per_mtok: price.input_per_mtok, output_per_mtok: price.output_per_mtok };
            prices.0.insert((name.clone(), model.clone()), price);
        }
    }
    prices
}

#[cfg(test)]
mod tests;
