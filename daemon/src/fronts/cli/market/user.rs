//! The user's commands besides installs, through the daemon (started if
//! absent): `refresh`, `search`, `recommend`, `info`, `remove`, `rollback`,
//! `usage`, `installed`, and `license add` (a file in the data folder).

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result, bail};
use protocol::{
    NoParams,
    market::{self as wire, PackageRef, PackageSummary, SearchParams},
};

use super::shared::said;
use crate::{
    fronts::cli::common::{errln, outln},
    platform::paths::Paths,
    server::client,
};

/// `paired market refresh` of the configured registries (all, or `only`).
pub(super) async fn refresh(paths: &Paths, only: Option<&str>, json: bool) -> Result<ExitCode> {
    let refreshed = refresh_registries(paths, only).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&refreshed)?)?;
    } else {
        for r in &refreshed {
            match &r.error {
                None => outln!("{}: {} packages, verified", r.registry, r.packages)?,
                Some(why) => errln!("warn {why}"),
            }
        }
    }
    let failed = refreshed.iter().any(|r| r.error.is_some());
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `paired market search`.
pub(super) async fn search(
    paths: &Paths,
    query: String,
    registry: Option<String>,
    again: bool,
    json: bool,
) -> Result<ExitCode> {
    if again {
        warn_failed(&refresh_registries(paths, registry.as_deref()).await?);
    }
    let connection = client::connect_or_start(paths).await?;
    let found =
        client::call::<wire::Search>(&connection.client, &SearchParams { query, registry, limit: None }).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&found)?)?;
    } else {
        for warning in &found.warnings {
            errln!("warn {warning}");
        }
        if found.packages.is_empty() {
            outln!("no package matches")?;
        }
        for p in &found.packages {
            outln!("{}", line(p))?;
            if !p.description.is_empty() {
                outln!("    {}", p.description)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `paired market recommend` for a workspace (default: the current folder).
pub(super) async fn recommend(paths: &Paths, workspace: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let folder = match workspace {
        Some(folder) => folder,
        None => std::env::current_dir()?,
    };
    let folder = std::fs::canonicalize(&folder).with_context(|| format!("{}: no such folder", folder.display()))?;
    let connection = client::connect_or_start(paths).await?;
    let add = protocol::context::AddWorkspaceParams { folder: folder.display().to_string(), wait: true };
    client::call::<protocol::context::AddWorkspace>(&connection.client, &add).await?;
    let params = wire::RecommendParams { workspace: Some(folder.display().to_string()), limit: None };
    let found = client::call::<wire::Recommend>(&connection.client, &params).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&found)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for line in &found.context {
        outln!("for {line}")?;
    }
    for warning in &found.warnings {
        errln!("warn {warning}");
    }
    if found.packages.is_empty() {
        outln!("nothing to recommend")?;
    }
    for r in &found.packages {
        outln!("{}", line(&r.package))?;
        for reason in &r.reasons {
            outln!("    {reason}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `paired market info`.
pub(super) async fn info(paths: &Paths, name: String, again: bool, json: bool) -> Result<ExitCode> {
    if again {
        warn_failed(&refresh_registries(paths, None).await?);
    }
    let connection = client::connect_or_start(paths).await?;
    let info = client::call::<wire::Info>(&connection.client, &PackageRef { name, registry: None }).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&info)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let p = &info.latest;
    outln!("{}", line(p))?;
    outln!("    {}", p.description)?;
    if !p.capabilities.is_empty() {
        outln!("capabilities: {}", p.capabilities.join(", "))?;
    }
    outln!(
        "may: {}",
        if p.permissions.is_empty() { "nothing beyond answering".to_owned() } else { p.permissions.join("; ") }
    )?;
    outln!(
        "checked: {}",
        if p.certified {
            "tested (its manifest and permissions were reviewed, and its test cases ran and passed)"
        } else {
            "not tested (no test cases of its own ran and passed)"
        }
    )?;
    outln!("publisher: {}", if p.publisher.is_empty() { "unknown" } else { p.publisher.as_str() })?;
    let versions: Vec<String> =
        info.versions.iter().map(|v| format!("{}{}", v.version, if v.yanked { " (yanked)" } else { "" })).collect();
    outln!("versions: {}", versions.join(", "))?;
    if let Some(installed) = &info.installed {
        outln!("installed: {}", installed.version)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `paired market remove`.
pub(super) async fn remove(paths: &Paths, name: String, json: bool) -> Result<ExitCode> {
    let connection = client::connect_or_start(paths).await?;
    let removed = client::call::<wire::Remove>(&connection.client, &PackageRef { name, registry: None }).await?;
    said(json, serde_json::to_value(&removed)?, || format!("removed {}", removed.name))
}

/// `paired market rollback`.
pub(super) async fn rollback(paths: &Paths, name: String, json: bool) -> Result<ExitCode> {
    let connection = client::connect_or_start(paths).await?;
    let back = client::call::<wire::Rollback>(&connection.client, &PackageRef { name, registry: None }).await?;
    said(json, serde_json::to_value(&back)?, || format!("{} is back at {}", back.name, back.version))
}

/// `paired market license add`: the token kept in the data folder.
pub(super) fn add_licence(paths: &Paths, agent: &str, token: &str, json: bool) -> Result<ExitCode> {
    let name = crate::services::market::check_name(agent).map_err(anyhow::Error::msg)?;
    crate::services::market::licence::save_token(&paths.data_dir, &name, token)?;
    said(json, serde_json::json!({"agent": name, "kept": true}), || {
        format!("kept the licence for {name}: it is verified at install and before every run")
    })
}

/// `paired market usage`.
pub(super) async fn usage(paths: &Paths, json: bool) -> Result<ExitCode> {
    let connection = client::connect_or_start(paths).await?;
    let rows = client::call::<wire::Usage>(&connection.client, &NoParams {}).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&rows)?)?;
    } else if rows.is_empty() {
        outln!("no agent installed from a marketplace")?;
    } else {
        for r in &rows {
            outln!(
                "{}@{} ({}, {}): {} runs, {} succeeded, {} tokens",
                r.name,
                r.version,
                r.publisher,
                r.pricing,
                r.runs,
                r.succeeded,
                r.tokens
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `paired market installed`.
pub(super) async fn installed(paths: &Paths, json: bool) -> Result<ExitCode> {
    let connection = client::connect_or_start(paths).await?;
    let all = client::call::<wire::ListInstalled>(&connection.client, &NoParams {}).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&all)?)?;
    } else if all.is_empty() {
        outln!("no agent installed from a marketplace")?;
    } else {
        for i in &all {
            let kept = if i.kept.is_empty() { String::new() } else { format!(" (kept: {})", i.kept.join(", ")) };
            outln!("{}@{} from {}{kept}", i.name, i.version, i.registry)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One registry's refresh, as `paired market refresh --json` says it.
#[derive(Debug, serde::Serialize)]
struct Refreshed {
    registry: String,
    packages: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Fetches and verifies the configured registries' metadata now, as the
/// daemon would (same pinned roots, same trusted state in the data folder),
/// and saves their indexes: the daemon uses a saved index as soon as it
/// changes, so search and info show a publish or a yank at once.
async fn refresh_registries(paths: &Paths, only: Option<&str>) -> Result<Vec<Refreshed>> {
    // The daemon's configuration: the user's file and the environment, no project's.
    let market = crate::fronts::cli::common::load_layers(paths, None)?.config.market;
    let registries = crate::services::team::registry::with_team(paths, market.registries.clone());
    if registries.is_empty() {
        bail!("no agent registry is configured: add a [[market.registries]] entry (name, url, root) to config.toml");
    }
    let chosen: Vec<_> = registries.iter().filter(|r| only.is_none_or(|n| r.name == n)).collect();
    if chosen.is_empty() {
        bail!("no registry named {:?} is configured", only.unwrap_or(""));
    }
    let deadline = std::time::Duration::from_secs(u64::from(market.fetch_timeout_secs));
    let mut done = Vec::new();
    for registry in chosen {
        let result = crate::services::market::remote::refresh(registry, &paths.data_dir, deadline).await;
        done.push(match result {
            Ok((_, index)) => {
                Refreshed { registry: registry.name.clone(), packages: index.packages.len(), error: None }
            }
            Err(err) => Refreshed { registry: registry.name.clone(), packages: 0, error: Some(format!("{err:#}")) },
        });
    }
    Ok(done)
}

fn warn_failed(refreshed: &[Refreshed]) {
    for why in refreshed.iter().filter_map(|r| r.error.as_ref()) {
        errln!("warn {why}");
    }
}

fn line(p: &PackageSummary) -> String {
    let mut tags = vec![p.pricing.clone()];
    if p.certified {
        tags.push("tested".into());
    }
    if p.curated {
        tags.push("curated".into());
    }
    if p.rating.count > 0 {
        tags.push(format!("★ {:.1} ({})", p.rating.average, p.rating.count));
    }
    if !p.compatible {
        tags.push(format!("needs daemon {}", p.daemon));
    }
    if let Some(installed) = &p.installed {
        tags.push(format!("installed {installed}"));
    }
    format!("{}@{} [{}] {}", p.name, p.version, p.registry, tags.join(" · "))
}
