//! What the market's commands share: their `--json` or text output, package
//! names with versions, signature lifetimes.

use std::process::ExitCode;

use anyhow::Result;

use crate::{fronts::cli::common::outln, services::market::registry::Expiry};

/// Checked here, before anything is written: issue #14 (a timestamp past the
/// calendar's end panicked half-way through `market init`).
pub(super) fn expiry(timestamp_secs: Option<i64>) -> Result<Expiry> {
    timestamp_secs.map_or_else(|| Ok(Expiry::default()), Expiry::with_timestamp_secs)
}

pub(super) fn split(package: &str) -> (String, Option<String>) {
    match package.split_once('@') {
        Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
        None => (package.to_owned(), None),
    }
}

/// What a command did: `value` with `--json`, else `text`.
pub(super) fn said(json: bool, value: serde_json::Value, text: impl FnOnce() -> String) -> Result<ExitCode> {
    if json {
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        outln!("{}", text())?;
    }
    Ok(ExitCode::SUCCESS)
}
