//! The organisation's private agent registry (`registry.rs` keeps it):
//! created by an admin; packages published by admins, managers and team leads
//! — checked and certified here, as `paired market publish` does, whatever the
//! uploader claims; yanked and curated by admins and managers; read by every
//! member's daemon with its device token, as a TUF repository under
//! `/api/v1/registry/repository/`.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use market::registry::Expiry;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Body;
use crate::{
    Hub, audit,
    auth::Principal,
    error::ApiError,
    registry::{self, RegistryError, Sealing},
    roles::{Action, Within},
};

/// The name members' daemons give the registry (`paired market search --registry team`).
pub const NAME: &str = "team";

/// The largest package the hub takes (the daemon's default `max_package_kb`).
pub const MAX_PACKAGE_BYTES: usize = 16 << 20;

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> ApiError {
        match err {
            RegistryError::Missing => ApiError::NotFound(
                "the organisation's agent registry (an admin creates it: `paired team create-registry`)".into(),
            ),
            RegistryError::Exists | RegistryError::NoSealing => ApiError::Conflict(err.to_string()),
            RegistryError::Refused(_) => ApiError::Invalid(err.to_string()),
            RegistryError::Internal(why) => {
                tracing::error!("the agent registry: {why:#}");
                ApiError::Failed("the agent registry could not be changed or read; the hub's log says why".into())
            }
            RegistryError::Database(err) => ApiError::Internal(err),
        }
    }
}

fn sealing(hub: &Hub) -> Result<&Sealing, ApiError> {
    hub.sealing.as_deref().ok_or_else(|| RegistryError::NoSealing.into())
}

/// Where members' daemons read the repository.
pub fn url(hub: &Hub) -> String {
    format!("{}/api/v1/registry/repository", hub.public_url)
}

/// Creates the registry: its keys (sealed), a signed root, no packages yet.
pub async fn init(State(hub): State<Hub>, who: Principal) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.check(Action::RegistryInit, Within::Org)?;
    let sealing = sealing(&hub)?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let root = registry::init(&tx, sealing, who.org, who.member).await?;
    audit::record(&tx, &who, Action::RegistryInit, "registry", json!({})).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"name": NAME, "url": url(&hub), "root": root}))))
}

/// What a daemon needs to use the registry (its address and the root to pin)
/// and the packages in it.
pub async fn show(State(hub): State<Hub>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.check(Action::RegistryRead, Within::Org)?;
    refresh_if_due(&hub, who.org).await?;
    let client = hub.pool.get().await?;
    let root = registry::root(&client, who.org).await?.ok_or(RegistryError::Missing)?;
    let root: Value = serde_json::from_slice(&root).unwrap_or(Value::Null);
    let packages = registry::packages(&client, who.org).await?;
    Ok(Json(json!({"name": NAME, "url": url(&hub), "root": root, "packages": packages})))
}

/// One file of the repository, as a static host would serve it. The timestamp
/// is re-signed first when it is about to run out.
pub async fn fetch(
    State(hub): State<Hub>,
    who: Principal,
    Path((kind, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    who.check(Action::RegistryFetch, Within::Org)?;
    let path = registry::repository_path(&kind, &file).ok_or_else(|| ApiError::NotFound(format!("{kind}/{file}")))?;
    if path == "metadata/timestamp.json" {
        refresh_if_due(&hub, who.org).await?;
    }
    // Packages are up to 16 MiB each, held while a client reads: a few at a time per replica.
    let _turn = match kind.as_str() {
        "targets" => Some(DOWNLOADS.acquire().await.map_err(|_| ApiError::Failed("shutting down".into()))?),
        _ => None,
    };
    let client = hub.pool.get().await?;
    let body = registry::file(&client, who.org, &path).await?.ok_or(ApiError::NotFound(path))?;
    drop(client);
    let kind = if kind == "metadata" { "application/json" } else { "application/octet-stream" };
    Ok(([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response())
}

/// Re-signs the registry when its first signature runs out within two days
/// (replicas take turns on the row's lock; the second finds nothing to do).
async fn refresh_if_due(hub: &Hub, org: i64) -> Result<(), ApiError> {
    let Some(sealing) = hub.sealing.as_deref() else { return Ok(()) };
    if !registry::needs_refresh(&hub.pool.get().await?, org).await? {
        return Ok(());
    }
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("select 1 from registries where org_id = $1 for update", &[&org]).await?;
    if registry::needs_refresh(&tx, org).await? {
        match registry::edit(&tx, sealing, org, async |r| r.refresh(Expiry::default()).await).await {
            Ok(()) => tracing::info!(org, "re-signed the agent registry before its signatures ran out"),
            // What is stored still holds for a while: serve it, and say so.
            Err(err) => {
                tracing::error!("the agent registry's signatures run out soon and cannot be renewed: {err:#}");
                return Ok(());
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Packages being checked at once on this replica (each runs its test cases).
static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Packages being sent at once by this replica.
static DOWNLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishQuery {
    /// A semver requirement on the daemon (default any).
    daemon: Option<String>,
}

/// Publishes a package (the `.tgz` `paired market pack` makes, as the body):
/// unpacked defensively, checked and certified here, re-packed and signed.
pub async fn publish(
    State(hub): State<Hub>,
    who: Principal,
    Query(query): Query<PublishQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    who.check(Action::RegistryPublish, Within::Org)?;
    let sealing = sealing(&hub)?;
    if body.is_empty() {
        return Err(ApiError::Invalid(
            "send the agent package (the .tgz `paired market pack` makes) as the request body".into(),
        ));
    }
    let org: String = hub.pool.get().await?.query_one("select name from orgs where id = $1", &[&who.org]).await?.get(0);
    let publisher = publisher_name(&org);
    let daemon = query.daemon.unwrap_or_else(|| "*".to_owned());
    // No database connection is held while the package is checked.
    let _turn = CHECKS.acquire().await.map_err(|_| ApiError::Failed("shutting down".into()))?;
    let checked = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let work = tempfile::tempdir()?;
        let folder = work.path().join("package");
        market::archive::unpack(&body, &folder, market::archive::Limits::default())?;
        market::registry::pack_checked(&folder, &publisher, &daemon)
    })
    .await
    .map_err(|err| ApiError::Invalid(format!("checking the package failed: {err}")))?;
    let (bytes, meta, report) = checked.map_err(|err| ApiError::Invalid(format!("{err:#}")))?;
    drop(_turn);
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    may_publish(&tx, &who, &meta.name).await?;
    let meta =
        registry::edit(&tx, sealing, who.org, async |r| r.publish(&bytes, meta, Expiry::default()).await).await?;
    let level = market::registry::level(meta.certification.as_ref());
    let target = format!("registry:{}@{}", meta.name, meta.version);
    let details = json!({"certification": level, "bytes": bytes.len(), "warnings": report.warnings});
    audit::record(&tx, &who, Action::RegistryPublish, &target, details).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "name": meta.name, "version": meta.version, "publisher": meta.publisher, "bytes": bytes.len(),
            "certification": level, "warnings": report.warnings,
        })),
    ))
}

/// A package's first publisher owns it: a team lead publishes new versions of
/// their own packages only (admins and managers, of any). Recorded here on
/// the first publish, in the publishing transaction.
async fn may_publish(tx: &deadpool_postgres::Transaction<'_>, who: &Principal, name: &str) -> Result<(), ApiError> {
    registry::root(tx, who.org).await?.ok_or(RegistryError::Missing)?;
    tx.execute(
        "insert into registry_owners (org_id, name, member_id) values ($1, $2, $3) on conflict do nothing",
        &[&who.org, &name, &who.member],
    )
    .await?;
    let owner: Option<i64> = tx
        .query_one(
            "select member_id from registry_owners where org_id = $1 and name = $2 for update",
            &[&who.org, &name],
        )
        .await?
        .get(0);
    if who.role == crate::roles::Role::TeamLead && owner != who.member {
        return Err(ApiError::Forbidden(format!(
            "{name} was first published by another member: a team lead publishes new versions of their own packages (an admin or a manager may publish this one)"
        )));
    }
    Ok(())
}

/// The publisher members see for the organisation's packages: its name as a
/// package name would be written (`Acme Corp` → `acme-corp`).
fn publisher_name(org: &str) -> String {
    let plain: String =
        org.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let plain = plain.split('-').filter(|part| !part.is_empty()).collect::<Vec<_>>().join("-");
    market::check_name(&plain).unwrap_or_else(|_| format!("org-{plain}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Yank {
    yanked: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Curate {
    curated: bool,
}

/// Yanks a version (daemons stop offering it; installed copies keep working)
/// or takes the yank back.
pub async fn yank(
    State(hub): State<Hub>,
    who: Principal,
    Path((name, version)): Path<(String, String)>,
    Body(body): Body<Yank>,
) -> Result<Json<Value>, ApiError> {
    amend(&hub, &who, Action::RegistryYank, &name, &version, json!({"yanked": body.yanked}), move |m| {
        m.yanked = body.yanked
    })
    .await
}

/// Marks a version as curated by the organisation (or not).
pub async fn curate(
    State(hub): State<Hub>,
    who: Principal,
    Path((name, version)): Path<(String, String)>,
    Body(body): Body<Curate>,
) -> Result<Json<Value>, ApiError> {
    amend(&hub, &who, Action::RegistryCurate, &name, &version, json!({"curated": body.curated}), move |m| {
        m.curated = body.curated
    })
    .await
}

async fn amend(
    hub: &Hub,
    who: &Principal,
    action: Action,
    name: &str,
    version: &str,
    details: Value,
    change: impl FnOnce(&mut market::PackageMeta) + Send,
) -> Result<Json<Value>, ApiError> {
    who.check(action, Within::Org)?;
    let sealing = sealing(hub)?;
    let mut client = hub.pool.get().await?;
    let tx = client.transaction().await?;
    let meta = registry::edit(&tx, sealing, who.org, async |r| r.amend(name, version, Expiry::default(), change).await)
        .await?;
    audit::record(&tx, who, action, &format!("registry:{name}@{version}"), details).await?;
    tx.commit().await?;
    Ok(Json(json!({
        "name": meta.name, "version": meta.version, "yanked": meta.yanked, "curated": meta.curated,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_organisation_publishes_under_its_own_name() {
        assert_eq!(publisher_name("Acme Corp"), "acme-corp");
        assert_eq!(publisher_name("  ACME  "), "acme");
        // A name a package could not have still gives a publisher.
        assert!(publisher_name("paired").starts_with("org-"), "{}", publisher_name("paired"));
    }
}
