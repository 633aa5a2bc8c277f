//! The publisher's commands, run here on a registry folder and its keys:
//! `init`, `check`, `pack`, `publish`, `yank`, `curate`, `stats`, `resign`,
//! `publisher init|add`, `license issue`.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, Result, bail};

use super::shared::{expiry, said, split};
use crate::{
    fronts::cli::common::{errln, outln},
    services::market::registry::{self, Expiry, Registry},
};

/// `paired market init`.
pub(super) async fn init(dir: &Path, timestamp_secs: Option<i64>, json: bool) -> Result<ExitCode> {
    let registry = Registry::init(dir, expiry(timestamp_secs)?).await?;
    let value = serde_json::json!({
        "dir": dir,
        "serve": dir.join("repository"),
        "root": registry.root_file(),
        "keys": dir.join("keys"),
    });
    said(json, value, || {
        format!(
            "created the registry in {d}\n  serve:      {d}/repository/ (any static host)\n  root:       {} (give it to users; config `root`)\n  keys:       {d}/keys/ (private: never serve or commit them)",
            registry.root_file().display(),
            d = dir.display()
        )
    })
}

/// `paired market check`.
pub(super) fn check(folder: &Path, json: bool) -> Result<ExitCode> {
    let report = registry::check(folder)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&report.certification)?)?;
    } else {
        for check in &report.certification.checks {
            outln!("{} {}: {}", if check.passed { "ok  " } else { "FAIL" }, check.name, check.detail)?;
        }
        for warning in &report.warnings {
            outln!("warn {warning}")?;
        }
    }
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `paired market pack`.
pub(super) fn pack(folder: &Path, output: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let bytes = crate::services::market::archive::pack(folder)?;
    let report = registry::check(folder)?;
    let name = crate::services::market::target_name(&report.manifest.id, &report.manifest.metadata.version);
    let output = output.unwrap_or_else(|| PathBuf::from(&name));
    std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
    let value = serde_json::json!({"file": output, "bytes": bytes.len()});
    said(json, value, || format!("{} ({} bytes)", output.display(), bytes.len()))
}

/// `paired market publish`.
pub(super) async fn publish(
    folder: &Path,
    registry: &Path,
    publisher: Option<String>,
    daemon: &str,
    timestamp_secs: Option<i64>,
    key: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    let target = Registry::open(registry)?;
    let (bytes, mut meta, report) = registry::pack_checked(folder, "", daemon)?;
    meta.publisher = publisher_of(&target, &meta.name, publisher, key.as_deref()).await?;
    for warning in &report.warnings {
        errln!("warn {warning}");
    }
    let meta = match key {
        Some(key) => target.publish_as(&key, &bytes, meta, expiry(timestamp_secs)?).await?,
        None => target.publish(&bytes, meta, expiry(timestamp_secs)?).await?,
    };
    let value = serde_json::json!({
        "name": meta.name,
        "version": meta.version,
        "publisher": meta.publisher,
        "bytes": bytes.len(),
        "certification": registry::level(meta.certification.as_ref()),
        "registry": registry,
    });
    said(json, value, || {
        format!(
            "published {}@{} by {} ({} bytes, {}) to {}",
            meta.name,
            meta.version,
            meta.publisher,
            bytes.len(),
            registry::level(meta.certification.as_ref()),
            registry.display()
        )
    })
}

/// `paired market yank NAME@VERSION`.
pub(super) async fn yank(package: &str, registry: &Path, json: bool) -> Result<ExitCode> {
    let (name, version) = split(package);
    let version = version.unwrap_or_default();
    Registry::open(registry)?.amend(&name, &version, Expiry::default(), |m| m.yanked = true).await?;
    let value = serde_json::json!({"name": name, "version": version, "yanked": true});
    said(json, value, || format!("yanked {name}@{version}"))
}

/// `paired market curate NAME@VERSION`.
pub(super) async fn curate(package: &str, registry: &Path, json: bool) -> Result<ExitCode> {
    let (name, version) = split(package);
    let version = version.unwrap_or_default();
    Registry::open(registry)?.amend(&name, &version, Expiry::default(), |m| m.curated = true).await?;
    let value = serde_json::json!({"name": name, "version": version, "curated": true});
    said(json, value, || format!("curated {name}@{version}"))
}

/// `paired market stats NAME@VERSION`: downloads, and stars with their
/// number of ratings (given together).
pub(super) async fn stats(
    package: &str,
    registry: &Path,
    downloads: Option<u64>,
    rating: Option<(u64, u64)>,
    json: bool,
) -> Result<ExitCode> {
    let (name, Some(version)) = split(package) else {
        bail!("{package}: say which version, as NAME@VERSION");
    };
    if let Some((stars, ratings)) = rating
        && stars > ratings.saturating_mul(5)
    {
        bail!("{stars} stars from {ratings} ratings is more than five stars each");
    }
    let meta = Registry::open(registry)?
        .amend(&name, &version, Expiry::default(), |m| {
            if let Some(downloads) = downloads {
                m.downloads = downloads;
            }
            if let Some((stars, count)) = rating {
                m.rating = crate::services::market::SignedRating { stars, count };
            }
        })
        .await?;
    let rating = meta.rating.shown();
    let value = serde_json::json!({
        "name": name, "version": version, "downloads": meta.downloads, "rating": rating,
    });
    said(json, value, || {
        format!(
            "{name}@{version}: {} downloads, {:.1} stars from {} ratings",
            meta.downloads, rating.average, rating.count
        )
    })
}

/// `paired market resign`.
pub(super) async fn resign(registry: &Path, timestamp_secs: Option<i64>, json: bool) -> Result<ExitCode> {
    Registry::open(registry)?.refresh(expiry(timestamp_secs)?).await?;
    said(json, serde_json::json!({"resigned": registry}), || format!("re-signed {}", registry.display()))
}

/// `paired market refresh --registry DIR` on a registry folder: a resign, said so.
pub(super) async fn resign_folder(folder: &str, timestamp_secs: Option<i64>, json: bool) -> Result<ExitCode> {
    if !json {
        errln!("note: re-signing the registry folder {folder}; this is `paired market resign`");
    }
    resign(Path::new(folder), timestamp_secs, json).await
}

/// `paired market publisher init`.
pub(super) async fn publisher_init(name: &str, out: &Path, json: bool) -> Result<ExitCode> {
    let files = registry::publisher_init(out, name).await?;
    said(json, serde_json::to_value(&files)?, || {
        format!(
            "publisher {}:\n  send:  {} (your public key and role) to the registry's maintainer (`paired market publisher add --from`)\n  keep:  {} (your private signing key, {}): never send, serve or commit it; publish with `--key {}`",
            files.name,
            files.public.display(),
            files.private.display(),
            files.key.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            files.key.display()
        )
    })
}

/// `paired market publisher add`.
pub(super) async fn publisher_add(registry: &Path, name: &str, from: &Path, json: bool) -> Result<ExitCode> {
    Registry::open(registry)?.add_publisher(name, from, Expiry::default()).await?;
    let value = serde_json::json!({"publisher": name, "packages": format!("{name}-*"), "registry": registry});
    said(json, value, || format!("{name} now signs the packages named {name}-… in {}", registry.display()))
}

/// `paired market license issue`.
pub(super) async fn issue_licence(
    registry: &Path,
    agent: &str,
    licensee: &str,
    seconds: i64,
    json: bool,
) -> Result<ExitCode> {
    let token = Registry::open(registry)?.issue_licence(agent, licensee, seconds).await?;
    let value = serde_json::json!({"agent": agent, "licensee": licensee, "token": token});
    said(json, value, || token.clone())
}

/// Who publishes a package: as given (a package name's rules), else whoever
/// published its earlier versions here, else the name of the delegated key.
/// Never empty: users are shown it when asked to grant permissions.
async fn publisher_of(target: &Registry, package: &str, given: Option<String>, key: Option<&Path>) -> Result<String> {
    let from_key = key.and_then(|k| k.file_stem()).map(|s| s.to_string_lossy().into_owned());
    let name = match given {
        Some(name) => name,
        None => match target.owner(package).await?.filter(|o| !o.is_empty()) {
            Some(owner) => owner,
            None => from_key.with_context(|| {
                format!(
                    "say who publishes {package}: --publisher NAME (users see it when asked to grant its permissions)"
                )
            })?,
        },
    };
    crate::services::market::check_name(&name).map_err(|why| anyhow::anyhow!("--publisher: {why}"))
}
