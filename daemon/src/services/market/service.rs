//! The `market/*` methods: search and info over the registries' verified
//! indexes, and installs that verify before anything is unpacked.
//!
//! Install: resolve the version → refuse what is yanked, incompatible or too
//! large → ask for consent to the agent's permissions (the client shows them
//! and calls again) → download through `tough` (length and hash checked
//! against signed metadata) → unpack defensively into staging → check that the
//! archive's manifest is the package that was signed → activate in one rename.

use std::sync::Arc;

use protocol::{
    client::Event,
    market::{
        InstallParams, Installed, PackageInfo, PackageRef, PackageSummary, RecommendParams, Recommendation,
        Recommendations, SearchParams, SearchResult,
    },
};
use tough::{IntoVec, TargetName};

use super::{PackageMeta, archive, error::MarketError, remote, search, store::Store};
use crate::{
    platform::{
        config::{Live, RegistryConfig},
        paths::Paths,
    },
    services::codebase::Codebase,
};

/// The marketplace service's handles.
pub struct Marketplace {
    pub paths: Paths,
    /// `[market]` as the user's config file says now.
    pub live: Arc<Live>,
    pub events: crate::services::events::Events,
    /// The open workspaces, for recommendations.
    pub codebase: Arc<Codebase>,
    /// The run history, for usage.
    pub db: crate::platform::store::Store,
    /// The team policy: publishers, registries, certification, grants.
    pub team: Arc<crate::services::team::policy::TeamPolicy>,
}

impl Marketplace {
    fn send_event(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

pub(super) type RpcResult<T> = Result<T, MarketError>;

pub(super) fn error(kind: fn(String) -> MarketError, message: impl Into<String>) -> MarketError {
    kind(message.into())
}

/// The registries in force now: `[market]` is applied as soon as the user's
/// config file changes (`config::Live`).
fn registries(marketplace: &Marketplace, only: Option<&str>) -> RpcResult<Vec<RegistryConfig>> {
    let market = marketplace.live.market();
    let all = &crate::services::team::registry::with_team(&marketplace.paths, market.registries.clone());
    if all.is_empty() {
        return Err(error(
            MarketError::NotFound,
            "no agent registry is configured: add a [[market.registries]] entry (name, url, root) to config.toml; the daemon applies it as soon as the file is saved",
        ));
    }
    let chosen: Vec<RegistryConfig> = all.iter().filter(|r| only.is_none_or(|name| r.name == name)).cloned().collect();
    if chosen.is_empty() {
        let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
        return Err(error(
            MarketError::NotFound,
            format!("no registry named {:?}; configured: {}", only.unwrap_or(""), names.join(", ")),
        ));
    }
    Ok(chosen)
}

/// A registry's index in memory, with what search needs built once: the
/// newest version of each package and their BM25 index.
pub struct Prepared {
    pub index: remote::Index,
    latest: Vec<PackageSummary>,
    search: search::SearchIndex,
    /// When the saved index this came from was written: another writer
    /// (`paired market refresh`) makes it stale.
    saved: Option<std::time::SystemTime>,
}

impl Prepared {
    fn new(index: remote::Index, saved: Option<std::time::SystemTime>) -> Prepared {
        let mut names: Vec<&str> = index.packages.iter().map(|p| p.meta.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let latest: Vec<PackageSummary> = names
            .into_iter()
            .filter_map(|name| {
                let all = versions(&index, name);
                pick(&all).or(all.first()).cloned()
            })
            .collect();
        let search = search::SearchIndex::new(&latest);
        Prepared { index, latest, search, saved }
    }
}

/// Prepared indexes by registry name, kept while fresh.
static PREPARED: std::sync::Mutex<Option<std::collections::HashMap<String, Arc<Prepared>>>> =
    std::sync::Mutex::new(None);

fn remember(marketplace: &Marketplace, registry: &str, index: remote::Index) -> Arc<Prepared> {
    let saved = remote::saved_at(registry, &marketplace.paths.data_dir);
    let prepared = Arc::new(Prepared::new(index, saved));
    PREPARED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_default()
        .insert(registry.to_owned(), prepared.clone());
    prepared
}

/// The index of a registry: the one in memory (or saved) while fresh, else
/// refreshed, else (offline) the saved one until its metadata expires, with a
/// warning. A saved index rewritten since it was read (`paired market
/// refresh`, `--refresh`) replaces the one in memory.
async fn index(
    marketplace: &Marketplace,
    registry: &RegistryConfig,
    fresh: bool,
    warnings: &mut Vec<String>,
) -> Option<Arc<Prepared>> {
    let data = &marketplace.paths.data_dir;
    let reuse = i64::from(marketplace.live.market().refresh_secs);
    let now = jiff::Timestamp::now().as_second();
    if !fresh {
        let kept =
            PREPARED.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|m| m.get(&registry.name).cloned());
        if let Some(kept) = kept
            && now - kept.index.refreshed < reuse
            && kept.index.expires > now
            && kept.saved == remote::saved_at(&registry.name, data)
        {
            return Some(kept);
        }
        if let Ok(cached) = remote::cached(registry, data)
            && now - cached.refreshed < reuse
        {
            return Some(remember(marketplace, &registry.name, cached));
        }
    }
    match remote::refresh(registry, data, deadline(marketplace)).await {
        Ok((_, index)) => Some(remember(marketplace, &registry.name, index)),
        // An install or update acts on what the registry says now: metadata
        // that cannot be refreshed (expired, frozen, not verifying, not
        // reachable) stops it, never an older copy kept here (TUF's freeze
        // attack: a stale view that hides a newer version).
        Err(err) if fresh => {
            warnings.push(format!("{err:#}"));
            None
        }
        Err(err) => match remote::cached(registry, data) {
            Ok(cached) => {
                warnings.push(format!("{err:#} — showing the cached index"));
                Some(remember(marketplace, &registry.name, cached))
            }
            Err(cached_err) => {
                warnings.push(format!("{err:#}; {cached_err:#}"));
                None
            }
        },
    }
}

/// A package version as clients see it (`installed` is filled in per answer).
fn summary(meta: &PackageMeta, length: u64, registry: &str) -> PackageSummary {
    PackageSummary {
        name: meta.name.clone(),
        version: meta.version.clone(),
        registry: registry.to_owned(),
        description: meta.description.clone(),
        domain: meta.domain.clone(),
        specialization: meta.specialization.clone(),
        capabilities: meta.capabilities.clone(),
        permissions: super::permission_lines(&meta.permissions),
        pricing: format!("{:?}", meta.pricing.kind).to_lowercase(),
        publisher: meta.publisher.clone(),
        certified: super::registry::tested(meta.certification.as_ref()),
        certification: super::registry::level(meta.certification.as_ref()).to_owned(),
        curated: meta.curated,
        rating: meta.rating.shown(),
        downloads: meta.downloads,
        yanked: meta.yanked,
        daemon: meta.daemon.clone(),
        compatible: super::compatible(&meta.daemon),
        size: length,
        installed: None,
        score: 0.0,
    }
}

fn version_of(p: &PackageSummary) -> semver::Version {
    semver::Version::parse(&p.version).unwrap_or(semver::Version::new(0, 0, 0))
}

/// Versions of a package, newest first.
fn versions(index: &remote::Index, name: &str) -> Vec<PackageSummary> {
    let mut found: Vec<PackageSummary> = index
        .packages
        .iter()
        .filter(|p| p.meta.name == name)
        .map(|p| summary(&p.meta, p.length, &index.registry))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(version_of(p)));
    found
}

/// The version to install by default: the newest compatible, not yanked.
fn pick(versions: &[PackageSummary]) -> Option<&PackageSummary> {
    versions.iter().find(|v| v.compatible && !v.yanked)
}

pub async fn search(marketplace: &Arc<Marketplace>, params: SearchParams) -> RpcResult<SearchResult> {
    let fresh = false;
    let store = Store::new(&marketplace.paths.data_dir);
    let mut warnings = Vec::new();
    let limit = params.limit.unwrap_or(50).clamp(1, 1000) as usize;
    let mut found: Vec<PackageSummary> = Vec::new();
    for registry in &registries(marketplace, params.registry.as_deref())? {
        let Some(prepared) = index(marketplace, registry, fresh, &mut warnings).await else { continue };
        found.extend(
            prepared
                .search
                .rank(&prepared.latest, &params.query, limit)
                .into_iter()
                .map(|(i, score)| PackageSummary { score, ..prepared.latest[i].clone() }),
        );
    }
    found.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
    found.truncate(limit);
    let installed = store.names();
    for package in found.iter_mut().filter(|p| installed.contains(&p.name)) {
        package.installed = store.get(&package.name).map(|i| i.version);
    }
    Ok(SearchResult { packages: found, warnings })
}

pub async fn info(marketplace: &Arc<Marketplace>, params: PackageRef) -> RpcResult<PackageInfo> {
    versions_of(marketplace, params, false).await
}

async fn versions_of(marketplace: &Arc<Marketplace>, params: PackageRef, fresh: bool) -> RpcResult<PackageInfo> {
    let store = Store::new(&marketplace.paths.data_dir);
    let mut warnings = Vec::new();
    for registry in &registries(marketplace, params.registry.as_deref())? {
        let Some(prepared) = index(marketplace, registry, fresh, &mut warnings).await else { continue };
        let mut all = versions(&prepared.index, &params.name);
        let installed = store.get(&params.name).map(|i| i.version);
        for version in &mut all {
            version.installed = installed.clone();
        }
        if let Some(latest) = pick(&all).or(all.first()).cloned() {
            return Ok(PackageInfo { latest, versions: all, installed: store.get(&params.name) });
        }
    }
    if fresh && !warnings.is_empty() {
        return Err(error(
            MarketError::Verification,
            format!("cannot check the registry for {:?} now: {}", params.name, warnings.join("; ")),
        ));
    }
    let why = if warnings.is_empty() { String::new() } else { format!(" ({})", warnings.join("; ")) };
    Err(error(MarketError::NotFound, format!("no package named {:?} in the registries{why}", params.name)))
}

fn deadline(marketplace: &Marketplace) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(marketplace.live.market().fetch_timeout_secs))
}

fn valid_name(name: &str) -> RpcResult<String> {
    super::check_name(name).map_err(|e| error(MarketError::Invalid, e))
}

/// One change at a time per package (install, update, rollback, remove): the
/// store's steps are atomic, but two installs of one name must not interleave.
async fn lock(name: &str) -> tokio::sync::OwnedMutexGuard<()> {
    static LOCKS: std::sync::Mutex<Option<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
        std::sync::Mutex::new(None);
    let lock = LOCKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_default()
        .entry(name.to_owned())
        .or_default()
        .clone();
    lock.lock_owned().await
}

pub async fn install(marketplace: &Arc<Marketplace>, params: InstallParams) -> RpcResult<Installed> {
    let name = valid_name(&params.name)?;
    let _guard = lock(&name).await;
    let progress = |phase: &str, done: u64, total: u64| {
        marketplace.send_event(Event::MarketProgress { name: name.clone(), phase: phase.to_owned(), done, total });
    };
    progress("resolve", 0, 0);
    for registry in &registries(marketplace, params.registry.as_deref())? {
        // Installs always verify against fresh metadata. A registry that cannot
        // be read stops the install: falling through to the next one could
        // install a same-named package from someone else.
        let (repo, index) = match remote::refresh(registry, &marketplace.paths.data_dir, deadline(marketplace)).await {
            Ok((repo, index)) => {
                let prepared = remember(marketplace, &registry.name, index);
                (repo, prepared.index.clone())
            }
            Err(err) => {
                let hint = if params.registry.is_none() { " (name another with --registry / `registry`)" } else { "" };
                return Err(error(MarketError::Verification, format!("{err:#}{hint}")));
            }
        };
        let all = versions(&index, &name);
        if all.is_empty() {
            continue;
        }
        let chosen = choose(&name, registry, params.version.as_deref(), &all)?;
        let meta = admitted(marketplace, &name, registry, chosen, &index)?;
        consent(marketplace, &name, &params, registry, chosen, &meta)?;
        let paid = meta.pricing.kind == protocol::agents::PricingKind::Paid;
        let licensing = if paid {
            Some(licence_for(marketplace, &repo, &registry.name, &name, params.licence.as_deref()).await?)
        } else {
            None
        };
        progress("download", 0, chosen.size);
        let bytes = fetch(&repo, &registry.name, &name, chosen, &progress).await?;
        progress("verify", bytes.len() as u64, chosen.size);
        progress("extract", 0, 0);
        let installed = activate(marketplace, &name, &registry.name, chosen, meta, bytes).await?;
        if let Some((keys, token)) = licensing {
            let data = &marketplace.paths.data_dir;
            let kept = super::licence::save_keys(data, &name, &keys)
                .and_then(|_| super::licence::save_token(data, &name, &token));
            kept.map_err(|err| {
                error(MarketError::Internal, format!("{name} is installed but its licence could not be kept: {err}"))
            })?;
        }
        progress("activate", 1, 1);
        return Ok(installed);
    }
    Err(error(MarketError::NotFound, format!("no registry offers {name}")))
}

/// The version asked for, else the newest that can be; refused when it cannot.
fn choose<'a>(
    name: &str,
    registry: &RegistryConfig,
    wanted: Option<&str>,
    all: &'a [PackageSummary],
) -> RpcResult<&'a PackageSummary> {
    let chosen = match wanted {
        Some(wanted) => all.iter().find(|v| v.version == *wanted).ok_or_else(|| {
            let listed: Vec<&str> = all.iter().map(|v| v.version.as_str()).collect();
            error(MarketError::NotFound, format!("{name} has no version {wanted}; there are {}", listed.join(", ")))
        })?,
        None => pick(all).ok_or_else(|| {
            error(
                MarketError::Conflict,
                format!(
                    "no version of {name} can be installed here: each is yanked or needs another daemon ({})",
                    all.iter().map(|v| format!("{} needs {}", v.version, v.daemon)).collect::<Vec<_>>().join(", ")
                ),
            )
        })?,
    };
    if semver::Version::parse(&chosen.version).is_err() {
        return Err(error(
            MarketError::Verification,
            format!(
                "registry {} lists {name} with version {:?}, which is not a version: refused",
                registry.name, chosen.version
            ),
        ));
    }
    if chosen.yanked {
        return Err(error(
            MarketError::Conflict,
            format!("{name}@{} was yanked by its publisher; install another version", chosen.version),
        ));
    }
    if !chosen.compatible {
        return Err(error(
            MarketError::Conflict,
            format!(
                "{name}@{} needs a daemon matching {}, this one is {}",
                chosen.version,
                chosen.daemon,
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    Ok(chosen)
}

/// The chosen version's signed metadata, once `[market]` admits it (size, policy).
fn admitted(
    marketplace: &Marketplace,
    name: &str,
    registry: &RegistryConfig,
    chosen: &PackageSummary,
    index: &remote::Index,
) -> RpcResult<PackageMeta> {
    let market = marketplace.live.market();
    let max = u64::from(market.max_package_kb) * 1024;
    if chosen.size > max {
        return Err(error(
            MarketError::Limit,
            format!("{name}@{} is {} bytes, over market.max_package_kb ({max} bytes)", chosen.version, chosen.size),
        ));
    }
    let meta_for_policy = index
        .packages
        .iter()
        .find(|p| p.meta.name == name && p.meta.version == chosen.version)
        .map(|p| p.meta.permissions.clone())
        .unwrap_or_default();
    if let Some(refusal) = super::policy::refusal(&market.policy, &registry.name, &meta_for_policy) {
        return Err(error(MarketError::Refused, format!("{name}@{}: {refusal}; not installed", chosen.version)));
    }
    if let Some(meta) = index.packages.iter().find(|p| p.meta.name == name && p.meta.version == chosen.version) {
        let refused =
            |why: String| error(MarketError::Refused, format!("{name}@{}: {why}; not installed", chosen.version));
        let install = ::policy::Action::Install {
            publisher: meta.meta.publisher.clone(),
            registry: registry.name.clone(),
            certification: super::registry::level(meta.meta.certification.as_ref()).to_owned(),
        };
        marketplace.team.check(&install, &format!("installing {name}")).map_err(refused)?;
        for kind in super::policy::asked_kinds(&meta.meta.permissions) {
            let grant = ::policy::Action::Grant { kind: kind.to_owned() };
            marketplace.team.check(&grant, &format!("granting {kind} to {name}")).map_err(refused)?;
        }
    }
    index
        .packages
        .iter()
        .find(|p| p.meta.name == name && p.meta.version == chosen.version)
        .map(|p| p.meta.clone())
        .ok_or_else(|| error(MarketError::Internal, "the index changed under the install"))
}

/// Consent is to exactly what was shown: this registry, this version,
/// these permissions. Anything else is asked again.
fn consent(
    marketplace: &Marketplace,
    name: &str,
    params: &InstallParams,
    registry: &RegistryConfig,
    chosen: &PackageSummary,
    meta: &PackageMeta,
) -> RpcResult<()> {
    let shown_differs = params.permissions.as_ref().is_some_and(|p| *p != chosen.permissions);
    if chosen.permissions.is_empty() || (params.accept_permissions && !shown_differs) {
        return Ok(());
    }
    let message = if shown_differs {
        format!("{name}@{} now asks for other permissions than the ones accepted: ask again", chosen.version)
    } else {
        format!(
            "{name}@{} asks for permissions: show them to the user, then install with accept_permissions",
            chosen.version
        )
    };
    Err(MarketError::NeedsConsent {
        message,
        data: serde_json::json!({
            "name": name,
            "version": chosen.version,
            "registry": registry.name,
            "publisher": meta.publisher,
            "permissions": chosen.permissions,
            // What the installed version was granted, so an update
            // can show which permissions are new.
            "granted": Store::new(&marketplace.paths.data_dir).get(name).map(|i| i.permissions),
        }),
    })
}

/// Downloads the package through `tough` (length and hash checked as it goes).
async fn fetch(
    repo: &tough::Repository,
    registry: &str,
    name: &str,
    chosen: &PackageSummary,
    progress: &impl Fn(&str, u64, u64),
) -> RpcResult<Vec<u8>> {
    let target = TargetName::new(super::target_name(name, &chosen.version))
        .map_err(|err| error(MarketError::Invalid, err.to_string()))?;
    match repo.read_target(&target).await {
        Ok(Some(stream)) => download(stream, chosen.size, |done| progress("download", done, chosen.size)).await,
        Ok(None) => {
            return Err(error(MarketError::NotFound, format!("{target:?} is not in registry {registry}")));
        }
        Err(err) => Err(err),
    }
    .map_err(|err| error(MarketError::Verification, remote::explain(registry, &err)))
}

/// Unpacks into staging, checks it is the package signed, activates it in one rename.
async fn activate(
    marketplace: &Marketplace,
    name: &str,
    registry: &str,
    chosen: &PackageSummary,
    meta: PackageMeta,
    bytes: Vec<u8>,
) -> RpcResult<Installed> {
    let permissions = chosen.permissions.clone();
    let (version, registry_name, checked) = (chosen.version.clone(), registry.to_owned(), meta);
    let (store_name, data_dir) = (name.to_owned(), marketplace.paths.data_dir.clone());
    // Unpacking and file moves are blocking work: off the async workers.
    tokio::task::spawn_blocking(move || {
        Store::new(&data_dir).activate(
            &store_name,
            &version,
            &registry_name,
            &checked.publisher,
            permissions,
            |staging| {
                archive::unpack(&bytes, staging, archive::Limits::default())?;
                check_contents(staging, &checked)
            },
        )
    })
    .await
    .map_err(|err| error(MarketError::Internal, format!("the install task failed: {err}")))?
    .map_err(|err| {
        error(MarketError::Verification, format!("{name}@{}: {err:#}. Nothing was installed.", chosen.version))
    })
}

/// Reads a package's stream (`tough` checks its length and hash as it goes),
/// reporting progress at most every 100 ms or 1 %, whichever comes first.
async fn download<B: AsRef<[u8]>, E>(
    stream: impl futures::Stream<Item = Result<B, E>>,
    total: u64,
    mut progress: impl FnMut(u64),
) -> Result<Vec<u8>, E> {
    use futures::StreamExt;
    let mut stream = std::pin::pin!(stream);
    let mut bytes = Vec::with_capacity(usize::try_from(total).unwrap_or(0).min(64 << 20));
    let step = (total / 100).max(1);
    let (mut shown, mut at) = (0u64, std::time::Instant::now());
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(chunk?.as_ref());
        let done = bytes.len() as u64;
        if done - shown >= step || at.elapsed() >= std::time::Duration::from_millis(100) {
            progress(done);
            (shown, at) = (done, std::time::Instant::now());
        }
    }
    Ok(bytes)
}

/// The archive must hold the package that was signed: same id, version and
/// permissions (a signed artifact of one package served as another fails here
/// even before its hash would).
fn check_contents(dir: &std::path::Path, meta: &PackageMeta) -> anyhow::Result<()> {
    let path = dir.join("agent.toml");
    let text = std::fs::read_to_string(&path).map_err(|_| anyhow::anyhow!("the package has no agent.toml"))?;
    let manifest = agents::manifest::parse_toml("agent.toml", &text)?;
    if manifest.id != meta.name || manifest.metadata.version != meta.version {
        anyhow::bail!(
            "the archive holds {}@{}, not the {}@{} its registry signed",
            manifest.id,
            manifest.metadata.version,
            meta.name,
            meta.version
        );
    }
    if manifest.permissions != meta.permissions {
        anyhow::bail!("the archive's permissions differ from the ones its registry signed");
    }
    if manifest.pricing.kind != meta.pricing.kind {
        anyhow::bail!("the archive's pricing differs from the one its registry signed");
    }
    Ok(())
}

pub async fn update(marketplace: &Arc<Marketplace>, params: InstallParams) -> RpcResult<Installed> {
    let store = Store::new(&marketplace.paths.data_dir);
    valid_name(&params.name)?;
    let Some(current) = store.get(&params.name) else {
        return Err(error(MarketError::NotFound, format!("{} is not installed", params.name)));
    };
    let wanted = PackageRef { name: params.name.clone(), registry: Some(current.registry.clone()) };
    let info = versions_of(marketplace, wanted, true).await?;
    let newest = pick(&info.versions).cloned();
    let ours = semver::Version::parse(&current.version).ok();
    match newest {
        Some(newest) if ours.as_ref().is_none_or(|o| version_of(&newest) > *o) => {
            let wanted = InstallParams {
                name: params.name,
                version: Some(newest.version),
                registry: Some(current.registry),
                // Unchanged permissions were consented to already: the install
                // checks the version it fetches asks for exactly those.
                accept_permissions: params.accept_permissions || newest.permissions == current.permissions,
                permissions: if params.accept_permissions {
                    params.permissions
                } else {
                    Some(current.permissions.clone())
                },
                licence: params.licence,
            };
            install(marketplace, wanted).await
        }
        _ => Ok(current),
    }
}

pub async fn remove(marketplace: &Arc<Marketplace>, params: PackageRef) -> RpcResult<Installed> {
    let name = valid_name(&params.name)?;
    let _guard = lock(&name).await;
    let store = Store::new(&marketplace.paths.data_dir);
    tokio::task::spawn_blocking(move || store.remove(&name))
        .await
        .map_err(|err| error(MarketError::Internal, format!("the remove task failed: {err}")))?
        .map_err(|err| error(MarketError::NotFound, format!("{err:#}")))
}

pub async fn rollback(marketplace: &Arc<Marketplace>, params: PackageRef) -> RpcResult<Installed> {
    let name = valid_name(&params.name)?;
    let _guard = lock(&name).await;
    Store::new(&marketplace.paths.data_dir)
        .rollback(&name)
        .map_err(|err| error(MarketError::Conflict, format!("{err:#}")))
}

pub fn installed(marketplace: &Arc<Marketplace>) -> Vec<Installed> {
    Store::new(&marketplace.paths.data_dir).installed()
}

/// Packages for the open workspaces: their languages, frameworks and test
/// set-up are the query; packages already installed are left out, and those
/// offering a capability no agent here has yet are preferred.
pub async fn recommend(marketplace: &Arc<Marketplace>, params: RecommendParams) -> RpcResult<Recommendations> {
    let wanted = params.workspace.as_deref().map(|w| crate::platform::uri::to_path(w).unwrap_or_else(|| w.into()));
    let mut words: Vec<String> = Vec::new();
    let mut context = Vec::new();
    for workspace in marketplace.codebase.workspaces.all() {
        if wanted.as_ref().is_some_and(|w| *w != workspace.root) {
            continue;
        }
        let facts = workspace.index().facts();
        let languages: Vec<String> = facts.languages.iter().take(3).map(|(l, _)| l.to_lowercase()).collect();
        context.push(format!(
            "{}: {}{}{}",
            workspace.root.display(),
            languages.join(", "),
            if facts.frameworks.is_empty() { String::new() } else { format!("; {}", facts.frameworks.join(", ")) },
            if facts.test_frameworks.is_empty() {
                String::new()
            } else {
                format!("; tests: {}", facts.test_frameworks.join(", "))
            },
        ));
        words.extend(languages);
        words.extend(facts.frameworks.iter().map(|f| f.to_lowercase()));
        words.extend(facts.test_frameworks.iter().map(|f| f.to_lowercase()));
    }
    if context.is_empty() {
        return Err(error(
            MarketError::NotFound,
            "no workspace is open to recommend for: open a folder in the editor, or run `paired init` in it",
        ));
    }
    words.sort();
    words.dedup();
    let query = words.join(" ");
    let store = Store::new(&marketplace.paths.data_dir);
    let installed: Vec<String> = store.installed().into_iter().map(|i| i.name).collect();
    let market = store.active_manifests();
    let roster = crate::services::roster::Roster::load(None, &marketplace.paths.config_dir, &market, None);
    let covered = |capability: &str| !roster.offering(capability).is_empty();
    let mut warnings = Vec::new();
    let mut found: Vec<Recommendation> = Vec::new();
    for registry in &registries(marketplace, None)? {
        let Some(prepared) = index(marketplace, registry, false, &mut warnings).await else { continue };
        for (i, score) in prepared.search.rank(&prepared.latest, &query, 200) {
            let package = &prepared.latest[i];
            if installed.contains(&package.name) || !package.compatible || package.yanked {
                continue;
            }
            let text = format!(
                "{} {} {} {} {}",
                package.name,
                package.description,
                package.capabilities.join(" "),
                package.domain.as_deref().unwrap_or(""),
                package.specialization.as_deref().unwrap_or("")
            )
            .to_lowercase();
            let matched: Vec<&str> = words.iter().map(String::as_str).filter(|w| text.contains(*w)).collect();
            let mut reasons = Vec::new();
            if !matched.is_empty() {
                reasons.push(format!("matches your workspace: {}", matched.join(", ")));
            }
            let new: Vec<&str> = package.capabilities.iter().map(String::as_str).filter(|c| !covered(c)).collect();
            let bonus = if new.is_empty() {
                0.0
            } else {
                reasons.push(format!("adds {}, which no agent here offers", new.join(", ")));
                0.5
            };
            found.push(Recommendation { package: PackageSummary { score: score + bonus, ..package.clone() }, reasons });
        }
    }
    found.sort_by(|a, b| b.package.score.total_cmp(&a.package.score));
    found.truncate(params.limit.unwrap_or(10) as usize);
    Ok(Recommendations { context, packages: found, warnings })
}

/// A paid agent's licence, checked against the registry's signed licensing
/// keys: the one passed, else the one the user added.
async fn licence_for(
    marketplace: &Marketplace,
    repo: &tough::Repository,
    registry: &str,
    name: &str,
    given: Option<&str>,
) -> RpcResult<(super::licence::LicensingKeys, String)> {
    let refuse = |why: String| error(MarketError::NeedsLicence, why);
    let token = given
        .map(str::to_owned)
        .or_else(|| super::licence::token(&marketplace.paths.data_dir, name))
        .ok_or_else(|| {
            refuse(format!(
                "{name} is a paid agent: get a licence from its marketplace and add it with `paired market license add {name} TOKEN`"
            ))
        })?;
    let market = marketplace.live.market();
    let licensee = market.licensee.as_deref().ok_or_else(|| {
        refuse(format!("{name} is a paid agent: set market.licensee in config.toml to the identity its licence names"))
    })?;
    let target = TargetName::new(super::licence::TARGET).map_err(|e| error(MarketError::Internal, e.to_string()))?;
    if repo.all_targets().any(|(n, t)| *n == target && t.length > 64 * 1024) {
        return Err(refuse(format!("registry {registry}: its licensing keys are implausibly large; refused")));
    }
    let bytes = match repo.read_target(&target).await {
        Ok(Some(stream)) => {
            stream.into_vec().await.map_err(|err| error(MarketError::Verification, remote::explain(registry, &err)))?
        }
        Ok(None) => {
            return Err(refuse(format!(
                "registry {registry} publishes no licensing keys, so {name} cannot be licensed"
            )));
        }
        Err(err) => return Err(error(MarketError::Verification, remote::explain(registry, &err))),
    };
    let keys: super::licence::LicensingKeys = serde_json::from_slice(&bytes).map_err(|err| {
        error(MarketError::Verification, format!("registry {registry}: its licensing keys do not parse: {err}"))
    })?;
    super::licence::verify(&token, &keys, name, licensee, jiff::Timestamp::now().as_second())
        .map_err(|why| refuse(format!("{name} is a paid agent and {why}: not installed")))?;
    Ok((keys, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_must_hold_the_package_that_was_signed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifest = |id: &str, version: &str, extra: &str| {
            std::fs::write(
                dir.path().join("agent.toml"),
                format!("id = \"{id}\"\n[metadata]\nname = \"X\"\nversion = \"{version}\"\nrole = \"qa\"\n{extra}"),
            )
            .expect("write");
        };
        let meta = PackageMeta { name: "rust-auditor".into(), version: "1.0.0".into(), ..PackageMeta::default() };
        manifest("rust-auditor", "1.0.0", "");
        assert!(check_contents(dir.path(), &meta).is_ok());
        manifest("other-agent", "1.0.0", "");
        let err = check_contents(dir.path(), &meta).expect_err("another package").to_string();
        assert!(err.contains("holds other-agent@1.0.0, not the rust-auditor@1.0.0"), "{err}");
        manifest("rust-auditor", "0.9.0", "");
        assert!(check_contents(dir.path(), &meta).is_err(), "another version");
        manifest("rust-auditor", "1.0.0", "[permissions]\ncommands = [\"curl\"]\n");
        assert!(check_contents(dir.path(), &meta).expect_err("wider").to_string().contains("permissions differ"));
        manifest(
            "rust-auditor",
            "1.0.0",
            "[pricing]\nkind = \"paid\"\nmodel = \"subscription\"\nprice_cents = 900\ncurrency = \"EUR\"\n",
        );
        let err = check_contents(dir.path(), &meta).expect_err("paid").to_string();
        assert!(err.contains("pricing differs"), "{err}");
        std::fs::remove_file(dir.path().join("agent.toml")).expect("rm");
        assert!(check_contents(dir.path(), &meta).expect_err("none").to_string().contains("no agent.toml"));
    }
}
