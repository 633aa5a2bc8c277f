//! Reading a registry: TUF refresh through `tough` (pinned root, a datastore
//! per registry for rollback protection, expiry enforced), fetched by our own
//! transport (bearer tokens for private registries, timeouts), and the index
//! of packages cached for offline search until the metadata expires.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use tough::{
    ExpirationEnforcement, FilesystemTransport, Limits, Repository, RepositoryLoader, Transport, TransportError,
    TransportErrorKind, TransportStream,
};

use super::{PackageMeta, registry::meta_of};
use crate::config::RegistryConfig;

/// Fetches `file://` from disk and `http(s)://` with reqwest, a token if the
/// registry needs one, and timeouts so a stalled server cannot hang an install.
#[derive(Clone)]
pub struct RegistryTransport {
    http: reqwest::Client,
    token: Option<String>,
}

impl std::fmt::Debug for RegistryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryTransport").field("token", &self.token.as_ref().map(|_| "…")).finish()
    }
}

impl RegistryTransport {
    pub fn new(token: Option<String>) -> Result<RegistryTransport> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .read_timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("paired/", env!("CARGO_PKG_VERSION")))
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
                let stream = response
                    .bytes_stream()
                    .map_err(move |err| TransportError::new_with_cause(TransportErrorKind::Other, &shown, err));
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
pub async fn refresh(config: &RegistryConfig, data_dir: &Path) -> Result<(Repository, Index)> {
    let root = std::fs::read(&config.root)
        .with_context(|| format!("registry {}: cannot read its pinned root {}", config.name, config.root.display()))?;
    let token =
        match &config.token_env {
            Some(var) => Some(std::env::var(var).with_context(|| {
                format!("registry {}: its token is read from ${var}, which is not set", config.name)
            })?),
            None => None,
        };
    let dir = registry_dir(data_dir, &config.name);
    let datastore = dir.join("tuf");
    std::fs::create_dir_all(&datastore).with_context(|| format!("creating {}", datastore.display()))?;
    let base = config.url.trim_end_matches('/');
    let metadata = url::Url::parse(&format!("{base}/metadata/"))?;
    let targets = url::Url::parse(&format!("{base}/targets/"))?;
    let repo = RepositoryLoader::new(&root, metadata, targets)
        .transport(RegistryTransport::new(token)?)
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
    let packages = repo
        .all_targets()
        .filter_map(|(_, target)| Some(IndexedPackage { meta: meta_of(target)?, length: target.length }))
        .collect();
    let index =
        Index { registry: config.name.clone(), expires, refreshed: jiff::Timestamp::now().as_second(), packages };
    let file = dir.join("index.json");
    let tmp = dir.join("index.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&index)?)?;
    std::fs::rename(&tmp, &file)?;
    Ok((repo, index))
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
    let hint = if chain.contains("refused access") {
        "it refused access: check the registry's token (the variable named by its `token_env`)"
    } else if chain.contains("is expired") {
        "its signed metadata has expired: the registry is stale or someone is replaying an old copy (freeze); its maintainer must re-sign it (`paired market refresh`)"
    } else if chain.contains("previously fetched version") || chain.contains("Older") || chain.contains("rollback") {
        "it served metadata older than what this machine already trusts (a rollback attack, or a stale mirror)"
    } else if chain.contains("Signature threshold") || chain.contains("signature") {
        "its metadata is not signed by the keys in the pinned root (wrong key, or tampered metadata)"
    } else if chain.contains("Hash mismatch") {
        "a file does not match the hash its signed metadata gives (tampering, or a mix of files from different versions)"
    } else if chain.contains("Maximum size") {
        "a file is larger than its signed length allows (endless data)"
    } else if chain.contains("version mismatch") {
        "its metadata files do not belong together (mix-and-match)"
    } else {
        "the registry could not be read or verified"
    };
    format!("registry {registry}: {hint}. Nothing was installed. ({chain})")
}
