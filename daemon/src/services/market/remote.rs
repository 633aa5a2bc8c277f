//! Reading a registry: TUF refresh through `tough` (pinned root, a datastore
//! per registry for rollback protection, expiry enforced), fetched by our own
//! transport (bearer tokens for private registries, timeouts), and the index
//! of packages cached for offline search until the metadata expires.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tough::{
    ExpirationEnforcement, FilesystemTransport, Limits, Repository, RepositoryLoader, Transport, TransportError,
    TransportErrorKind, TransportStream,
};

use super::{PackageMeta, registry::meta_of};
use crate::platform::config::RegistryConfig;

/// Fetches `file://` from disk and `http(s)://` with reqwest, a token if the
/// registry needs one, and timeouts so a stalled server cannot hang an install.
#[derive(Clone)]
pub struct RegistryTransport {
    http: reqwest::Client,
    token: Option<String>,
}

/// No metadata file is larger than this (tough trusts the lengths a
/// registry signs: this bounds what a hostile but signing registry can make
/// a client hold).
const MAX_METADATA_BYTES: u64 = 32 << 20;

impl std::fmt::Debug for RegistryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryTransport").field("token", &self.token.as_ref().map(|_| "…")).finish()
    }
}

impl RegistryTransport {
    /// `deadline`: the most one fetch may take, body included, so a server
    /// dripping a byte at a time cannot hold an install forever.
    pub fn new(token: Option<String>, deadline: std::time::Duration) -> Result<RegistryTransport> {
        let http = crate::platform::http::client()
            .connect_timeout(std::time::Duration::from_secs(10))
            .read_timeout(std::time::Duration::from_secs(30))
            .timeout(deadline)
            .build()
            .context("cannot build an HTTP client")?;
        Ok(RegistryTransport { http, token })
    }
}

#[tough::async_trait]
impl Transport for RegistryTransport {
    async fn fetch(&self, url: url::Url) -> Result<TransportStream, TransportError> {
        match url.scheme() {
            "file" => FilesystemTransport.fetch(url).await,
            "http" | "https" => {
                let shown = url.to_string();
                let mut request = self.http.get(url);
                if let Some(token) = &self.token {
                    request = request.bearer_auth(token);
                }
                let response = request
                    .send()
                    .await
                    .map_err(|err| TransportError::new_with_cause(TransportErrorKind::Other, &shown, err))?;
                let status = response.status();
                if matches!(status.as_u16(), 404 | 410) {
                    return Err(TransportError::new(TransportErrorKind::FileNotFound, &shown));
                }
                if !status.is_success() {
                    let why = if matches!(status.as_u16(), 401 | 403) {
                        format!("HTTP {status}: the registry refused access (check its token)")
                    } else {
                        format!("HTTP {status}")
                    };
                    return Err(TransportError::new_with_cause(TransportErrorKind::Other, &shown, why));
                }
                let cap = if shown.contains("/metadata/") { MAX_METADATA_BYTES } else { u64::MAX };
                let mut seen = 0u64;
                let stream = response.bytes_stream().map(move |chunk| {
                    let chunk = chunk.map_err(|err| {
                        let why = if err.is_timeout() {
                            "the registry took too long to send it (market.fetch_timeout_secs)".to_owned()
                        } else {
                            err.to_string()
                        };
                        TransportError::new_with_cause(TransportErrorKind::Other, &shown, why)
                    })?;
                    seen += chunk.len() as u64;
                    if seen > cap {
                        return Err(TransportError::new_with_cause(
                            TransportErrorKind::Other,
                            &shown,
                            format!("Maximum size {cap} exceeded for a metadata file"),
                        ));
                    }
                    Ok(chunk)
                });
                Ok(Box::pin(stream))
            }
            _ => Err(TransportError::new(TransportErrorKind::UnsupportedUrlScheme, url.as_str())),
        }
    }
}

/// A registry's packages as last verified, kept for offline search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    pub registry: String,
    /// Unix seconds after which the signed metadata behind this index has expired.
    pub expires: i64,
    /// Unix seconds of the refresh that produced it.
    pub refreshed: i64,
    pub packages: Vec<IndexedPackage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexedPackage {
    pub meta: PackageMeta,
    pub length: u64,
}

pub fn registry_dir(data_dir: &Path, registry: &str) -> PathBuf {
    data_dir.join("market/registries").join(registry)
}

/// Refreshes a registry's metadata (every signature, version and expiry
/// checked against its pinned root) and saves its index.
pub async fn refresh(
    config: &RegistryConfig,
    data_dir: &Path,
    deadline: std::time::Duration,
) -> Result<(Repository, Index)> {
    let dir = registry_dir(data_dir, &config.name);
    let datastore = dir.join("tuf");
    let pinned = std::fs::read(&config.root)
        .with_context(|| format!("registry {}: cannot read its pinned root {}", config.name, config.root.display()))?;
    // What this machine verified before belongs to the root pinned then: a
    // different pinned root starts afresh.
    let fingerprint: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &pinned)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let record = dir.join("pinned.sha256");
    if std::fs::read_to_string(&record).ok().as_deref() != Some(fingerprint.as_str()) {
        let _ = std::fs::remove_dir_all(&datastore);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&record, &fingerprint).with_context(|| format!("writing {}", record.display()))?;
    }
    // The newest root verified from it (tough keeps it), so a rotation sticks
    // and hiding the newer roots cannot send a client back to revoked keys.
    let root = std::fs::read(datastore.join("root.json")).unwrap_or(pinned);
    let token =
        match &config.token_env {
            _ if config.team_device_token => {
                Some(crate::services::team::device_token().await.with_context(|| {
                    format!("registry {}: it is read with the team hub's device token", config.name)
                })?)
            }
            Some(var) => Some(std::env::var(var).with_context(|| {
                format!("registry {}: its token is read from ${var}, which is not set", config.name)
            })?),
            None => None,
        };
    std::fs::create_dir_all(&datastore).with_context(|| format!("creating {}", datastore.display()))?;
    let base = config.url.trim_end_matches('/');
    let metadata = url::Url::parse(&format!("{base}/metadata/"))?;
    let targets = url::Url::parse(&format!("{base}/targets/"))?;
    let repo = RepositoryLoader::new(&root, metadata, targets)
        .transport(RegistryTransport::new(token, deadline)?)
        .datastore(datastore)
        .expiration_enforcement(ExpirationEnforcement::Safe)
        .limits(Limits { max_root_size: 1 << 20, max_timestamp_size: 64 << 10, ..Limits::default() })
        .load()
        .await
        .map_err(|err| anyhow::anyhow!(explain(&config.name, &err)))?;
    let expires = [
        repo.timestamp().signed.expires,
        repo.snapshot().signed.expires,
        repo.targets().signed.expires,
        repo.root().signed.expires,
    ]
    .into_iter()
    .min()
    .map_or(0, |t| t.as_second());
    // Only a target named after the package and version it describes counts:
    // what is measured against the size cap is what gets downloaded.
    let packages = repo
        .all_targets()
        .filter_map(|(name, target)| {
            let meta = meta_of(target)?;
            (name.raw() == super::target_name(&meta.name, &meta.version))
                .then_some(IndexedPackage { meta, length: target.length })
        })
        .collect();
    let index =
        Index { registry: config.name.clone(), expires, refreshed: jiff::Timestamp::now().as_second(), packages };
    let file = dir.join("index.json");
    // Two refreshes at once each write their own file; the last rename wins.
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let tmp = dir.join(format!("index.json.tmp-{}-{unique}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(&index)?)?;
    std::fs::rename(&tmp, &file)?;
    Ok((repo, index))
}

/// When a registry's saved index was last written, if it was.
pub fn saved_at(registry: &str, data_dir: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(registry_dir(data_dir, registry).join("index.json")).and_then(|m| m.modified()).ok()
}

/// The index saved at the last refresh, while its metadata has not expired.
pub fn cached(config: &RegistryConfig, data_dir: &Path) -> Result<Index> {
    let file = registry_dir(data_dir, &config.name).join("index.json");
    let bytes = std::fs::read(&file)
        .with_context(|| format!("registry {}: never reached, and no cached index", config.name))?;
    let index: Index = serde_json::from_slice(&bytes).with_context(|| format!("{}: unreadable", file.display()))?;
    let now = jiff::Timestamp::now().as_second();
    if index.expires <= now {
        let when = jiff::Timestamp::from_second(index.expires).map(|t| t.to_string()).unwrap_or_default();
        anyhow::bail!(
            "registry {}: the cached index expired at {when}; connect to the registry to refresh it",
            config.name
        );
    }
    Ok(index)
}

/// A TUF failure said for a person: what it means and that nothing was installed.
pub fn explain(registry: &str, err: &dyn std::error::Error) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        chain.push_str(": ");
        chain.push_str(&inner.to_string());
        source = inner.source();
    }
    // Judge by the error's words, not by URLs or package names in it.
    let words: String = chain
        .split_whitespace()
        .filter(|w| !w.contains("://") && !w.contains(".tgz") && !w.contains(".json"))
        .collect::<Vec<_>>()
        .join(" ");
    let chain_has = |needle: &str| words.contains(needle);
    let hint = if chain_has("refused access") {
        "it refused access: check the registry's token (the variable named by its `token_env`)"
    } else if chain_has("root metadata is expired") {
        "its root of trust has expired: its maintainer must publish a new root, and users pin it"
    } else if chain_has("is expired") {
        "its signed metadata has expired: the registry is stale or someone is replaying an old copy (freeze); its maintainer must re-sign it (`paired market resign`)"
    } else if chain_has("previously fetched version")
        || chain_has("is less than")
        || chain_has("is greater than")
        || chain_has("Older")
    {
        "it served metadata older than what this machine already trusts (a rollback attack, or a stale mirror)"
    } else if chain_has("Signature threshold") || chain_has("signature") {
        "its metadata is not signed by the keys in the pinned root (wrong key, or tampered metadata)"
    } else if chain_has("Hash mismatch") {
        "a file does not match the hash its signed metadata gives (tampering, or a mix of files from different versions)"
    } else if chain_has("took too long") {
        "it sent too slowly and the fetch was abandoned (a slow drip, or a very slow link)"
    } else if chain_has("Maximum size") {
        "a file is larger than its signed length allows (endless data)"
    } else if chain_has("version mismatch") {
        "its metadata files do not belong together (mix-and-match)"
    } else {
        "the registry could not be read or verified"
    };
    format!("registry {registry}: {hint}. Nothing was installed. ({chain})")
}
