//! `market/usage`: runs per installed marketplace agent, from the run history,
//! with each paid agent's licence.

use std::sync::Arc;

use super::{
    error::MarketError,
    service::{Marketplace, RpcResult, error},
    store::Store,
};

/// Runs per installed marketplace agent, from the run history.
pub async fn usage(marketplace: &Arc<Marketplace>) -> RpcResult<Vec<protocol::market::AgentUsage>> {
    let store = Store::new(&marketplace.paths.data_dir);
    let installed = store.installed();
    let names: Vec<String> = installed.iter().map(|i| i.name.clone()).collect();
    let counts = marketplace
        .db
        .call(move |conn| {
            let mut statement = conn.prepare(
                "SELECT count(*), sum(status = 'succeeded'), sum(status = 'failed'), sum(tokens), min(created_ms), max(created_ms)
                 FROM agent_runs WHERE agent = ?1",
            )?;
            let mut rows = Vec::new();
            for name in names {
                let row = statement.query_row([&name], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                    ))
                })?;
                rows.push(row);
            }
            Ok(rows)
        })
        .await
        .map_err(|err| error(MarketError::Internal, format!("{err:#}")))?;
    let market = marketplace.live.market();
    let licensee = market.licensee.as_deref();
    Ok(installed
        .into_iter()
        .zip(counts)
        .map(|(i, (runs, succeeded, failed, tokens, first, last))| {
            let manifest = std::fs::read_to_string(std::path::Path::new(&i.path).join("agent.toml"))
                .ok()
                .and_then(|t| agents::manifest::parse_toml("agent.toml", &t).ok());
            let paid = manifest.as_ref().is_some_and(|m| m.pricing.kind == protocol::agents::PricingKind::Paid);
            let licence =
                paid.then(|| super::licence::check_run(&marketplace.paths.data_dir, &i.name, licensee).ok()).flatten();
            protocol::market::AgentUsage {
                name: i.name.clone(),
                version: i.version.clone(),
                registry: i.registry.clone(),
                publisher: store.publisher(&i.name),
                pricing: if paid { "paid".into() } else { "free".into() },
                runs: runs.max(0) as u64,
                succeeded: succeeded.unwrap_or(0).max(0) as u64,
                failed: failed.unwrap_or(0).max(0) as u64,
                tokens: tokens.unwrap_or(0).max(0) as u64,
                first_ms: first.map(|v| v as u64),
                last_ms: last.map(|v| v as u64),
                licensee: licence.as_ref().map(|l| l.licensee.clone()),
                licence_expires: licence.map(|l| l.expires),
            }
        })
        .collect())
}
