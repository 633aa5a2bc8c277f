//! The organisation's private agent registry: a TUF repository (the `market`
//! crate's, the same as `paired market init` makes) whose files and keys live
//! in PostgreSQL, so that every replica serves and edits the same one.
//!
//! An edit (publish, yank, curate, re-sign) locks the registry's row, lays the
//! current metadata and the role keys out in a private temporary folder, lets
//! `market::registry::Registry` verify, change and re-sign it there, and
//! stores the files it wrote — all in one transaction, so replicas take turns
//! and a failed edit leaves the registry as it was. The keys are sealed at rest
//! (AES-256-GCM under a key derived from the hub's policy key file, which every
//! replica has): a copy of the database alone cannot sign.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
};

use anyhow::{Context as _, Result};
use base64::Engine as _;
use deadpool_postgres::GenericClient;
use market::registry::{Expiry, Registry};
use ring::aead;
use serde_json::Value;

/// Re-sign when the first of the metadata's signatures runs out within this.
const REFRESH_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_hours(48);

/// Seals and opens the registry's keys.
pub struct Sealing(aead::LessSafeKey);

impl Sealing {
    /// The sealing key derived from the policy key file's bytes (HKDF-SHA256,
    /// its own label: no other use of that file's key can collide with it).
    pub fn derive(policy_key: &[u8]) -> Sealing {
        struct Len;
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                32
            }
        }
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"paired hub: registry keys").extract(policy_key);
        let mut bytes = [0u8; 32];
        prk.expand(&[b"aes-256-gcm v1"], Len)
            .and_then(|okm| okm.fill(&mut bytes))
            .expect("HKDF-SHA256 gives 32 bytes (it refuses only more than 8160)");
        let key = aead::UnboundKey::new(&aead::AES_256_GCM, &bytes).expect("32 bytes is AES-256-GCM's key length");
        Sealing(aead::LessSafeKey::new(key))
    }

    fn seal(&self, org: i64, keys: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
        let encoded: BTreeMap<&String, String> =
            keys.iter().map(|(role, key)| (role, base64::engine::general_purpose::STANDARD.encode(key))).collect();
        let mut sealed = serde_json::to_vec(&encoded)?;
        self.0
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(org.to_be_bytes()),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("cannot seal the registry's keys"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, org: i64, sealed: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
        let (nonce, body) = sealed.split_at_checked(aead::NONCE_LEN).context("the sealed keys are damaged")?;
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("damaged nonce"))?;
        let mut body = body.to_vec();
        let plain = self.0.open_in_place(nonce, aead::Aad::from(org.to_be_bytes()), &mut body).map_err(|_| {
            anyhow::anyhow!(
                "the registry's keys do not open with this hub's policy key file: every replica needs the file the registry was created with"
            )
        })?;
        let encoded: BTreeMap<String, String> = serde_json::from_slice(plain)?;
        encoded
            .into_iter()
            .map(|(role, key)| Ok((role, base64::engine::general_purpose::STANDARD.decode(key)?)))
            .collect()
    }
}

/// Why a registry operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("this organisation has no agent registry yet: an admin creates it (`paired team create-registry`)")]
    Missing,
    #[error("this organisation has an agent registry already")]
    Exists,
    #[error(
        "this hub keeps no registry: start it with --policy-key-file (`paired hub keygen --out FILE`), which also seals the registry's keys"
    )]
    NoSealing,
    /// What the registry itself refused (a version published twice, a look-alike name…).
    #[error("{0:#}")]
    Refused(anyhow::Error),
    /// Something that is not the request's fault (files, keys): logged, not shown.
    #[error("{0:#}")]
    Internal(anyhow::Error),
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

/// A path of the repository, as served: `metadata/<file>` or `targets/<file>`.
pub fn repository_path(kind: &str, file: &str) -> Option<String> {
    let plain = !file.is_empty()
        && file.len() <= 255
        && !file.starts_with('.')
        && file.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    (matches!(kind, "metadata" | "targets") && plain).then(|| format!("{kind}/{file}"))
}

/// Creates the organisation's registry: fresh keys (sealed), a signed root,
/// empty targets.
pub async fn init(
    client: &impl GenericClient,
    sealing: &Sealing,
    org: i64,
    by: Option<i64>,
) -> Result<Value, RegistryError> {
    let work = tempfile::tempdir().map_err(|err| RegistryError::Internal(err.into()))?;
    let dir = work.path().join("registry");
    let registry = Registry::init(&dir, Expiry::default()).await.map_err(RegistryError::Internal)?;
    let mut keys = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("keys")).map_err(|err| RegistryError::Internal(err.into()))? {
        let path = entry.map_err(|err| RegistryError::Internal(err.into()))?.path();
        if let Some(role) = path.file_stem().and_then(|s| s.to_str()) {
            keys.insert(role.to_owned(), std::fs::read(&path).map_err(|err| RegistryError::Internal(err.into()))?);
        }
    }
    let root = std::fs::read(registry.root_file()).map_err(|err| RegistryError::Internal(err.into()))?;
    let sealed = sealing.seal(org, &keys).map_err(RegistryError::Internal)?;
    let inserted = client
        .execute(
            "insert into registries (org_id, root, keys, created_by) values ($1, $2, $3, $4) on conflict do nothing",
            &[&org, &root, &sealed, &by],
        )
        .await?;
    if inserted == 0 {
        return Err(RegistryError::Exists);
    }
    store_files(client, org, &dir.join("repository"), &HashMap::new()).await?;
    set_expiry(client, org).await?;
    Ok(serde_json::from_slice(&root).unwrap_or(Value::Null))
}

/// The registry's pinned root (`root.json`), if there is one.
pub async fn root(client: &impl GenericClient, org: i64) -> Result<Option<Vec<u8>>, RegistryError> {
    Ok(client.query_opt("select root from registries where org_id = $1", &[&org]).await?.map(|row| row.get(0)))
}

/// One file of the repository.
pub async fn file(client: &impl GenericClient, org: i64, path: &str) -> Result<Option<Vec<u8>>, RegistryError> {
    let row =
        client.query_opt("select body from registry_files where org_id = $1 and path = $2", &[&org, &path]).await?;
    Ok(row.map(|row| row.get(0)))
}

/// Every package version the registry's current targets name.
pub async fn packages(client: &impl GenericClient, org: i64) -> Result<Vec<market::PackageMeta>, RegistryError> {
    let current = current_paths(client, org).await?;
    let Some(targets) = current.iter().find(|p| p.ends_with(".targets.json")) else {
        return Ok(Vec::new());
    };
    let body = file(client, org, targets).await?.unwrap_or_default();
    let document: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut packages: Vec<market::PackageMeta> = document
        .pointer("/signed/targets")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, target)| serde_json::from_value(target.pointer("/custom/paired")?.clone()).ok())
        .collect();
    packages.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(packages)
}

/// Whether the registry's signatures run out soon (the timestamp's first).
pub async fn needs_refresh(client: &impl GenericClient, org: i64) -> Result<bool, RegistryError> {
    let row = client
        .query_opt(
            "select expires_at < now() + make_interval(secs => $2) from registries where org_id = $1",
            &[&org, &(REFRESH_BEFORE.as_secs() as f64)],
        )
        .await?;
    Ok(row.is_some_and(|row| row.get::<_, Option<bool>>(0).unwrap_or(true)))
}

/// Runs `edit` on the registry, under its row's lock, and stores what it wrote.
/// `client` must be in a transaction (the lock and the writes are its).
pub async fn edit<T>(
    client: &impl GenericClient,
    sealing: &Sealing,
    org: i64,
    edit: impl AsyncFnOnce(&Registry) -> Result<T>,
) -> Result<T, RegistryError> {
    let row = client
        .query_opt("select root, keys from registries where org_id = $1 for update", &[&org])
        .await?
        .ok_or(RegistryError::Missing)?;
    let (root, sealed): (Vec<u8>, Vec<u8>) = (row.get(0), row.get(1));
    // Only the online roles' keys leave the sealed blob, and only into memory.
    let keys: HashMap<String, Vec<u8>> = sealing
        .open(org, &sealed)
        .map_err(RegistryError::Internal)?
        .into_iter()
        .filter(|(role, _)| ONLINE_ROLES.contains(&role.as_str()))
        .collect();
    let work = tempfile::tempdir().map_err(|err| RegistryError::Internal(err.into()))?;
    let dir = work.path();
    let laid = lay_out(client, org, dir, &root).await?;
    let registry = Registry::open_with_keys(dir, keys).map_err(RegistryError::Internal)?;
    let result = edit(&registry).await.map_err(RegistryError::Refused)?;
    store_files(client, org, &dir.join("repository"), &laid).await?;
    set_expiry(client, org).await?;
    prune(client, org).await?;
    Ok(result)
}

/// Versions of each role's metadata kept besides the newest (a client that
/// read a timestamp a moment ago still finds the snapshot it names); older
/// ones go, so every edit does not add to the registry for good. Roots are
/// all kept (a client walks their chain), and so are the packages.
pub const KEEP_VERSIONS: i64 = 16;

async fn prune(client: &impl GenericClient, org: i64) -> Result<(), RegistryError> {
    client
        .execute(
            "with versioned as (
                 select path, m[1]::bigint as version, m[2] as role
                   from registry_files, regexp_match(path, '^metadata/([0-9]+)\\.(.+)\\.json$') as m
                  where org_id = $1 and m is not null and m[2] <> 'root'
             ), old as (
                 select path from (select path, version, max(version) over (partition by role) as newest from versioned) v
                  where version < newest - $2
             )
             delete from registry_files f using old where f.org_id = $1 and f.path = old.path",
            &[&org, &KEEP_VERSIONS],
        )
        .await?;
    Ok(())
}

/// The roles an edit signs for (the root's and the licensing keys stay sealed).
const ONLINE_ROLES: [&str; 3] = ["targets", "snapshot", "timestamp"];

/// The largest the targets metadata may grow (every client downloads it whole).
const MAX_TARGETS_BYTES: usize = 8 << 20;

/// The root and the current metadata in `dir`, as `Registry` expects them;
/// what was written, by repository path.
async fn lay_out(
    client: &impl GenericClient,
    org: i64,
    dir: &Path,
    root: &[u8],
) -> Result<HashMap<String, Vec<u8>>, RegistryError> {
    let failed = |err: std::io::Error| RegistryError::Internal(err.into());
    let metadata = dir.join("repository/metadata");
    std::fs::create_dir_all(&metadata).map_err(failed)?;
    std::fs::create_dir_all(dir.join("repository/targets")).map_err(failed)?;
    std::fs::write(dir.join("root.json"), root).map_err(failed)?;
    let paths = current_paths(client, org).await?;
    let rows = client
        .query("select path, body from registry_files where org_id = $1 and path = any($2)", &[&org, &paths])
        .await?;
    let mut laid = HashMap::new();
    for row in rows {
        let (path, body): (String, Vec<u8>) = (row.get(0), row.get(1));
        std::fs::write(dir.join("repository").join(&path), &body).map_err(failed)?;
        laid.insert(path, body);
    }
    Ok(laid)
}

/// The metadata a client reads now: every root, the timestamp, the snapshot it
/// names and the roles that snapshot names, at their versions.
async fn current_paths(client: &impl GenericClient, org: i64) -> Result<Vec<String>, RegistryError> {
    let mut paths: Vec<String> = client
        .query(
            "select path from registry_files where org_id = $1 and path ~ '^metadata/[0-9]+\\.root\\.json$'",
            &[&org],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    paths.push("metadata/timestamp.json".to_owned());
    let versions = |body: Option<Vec<u8>>| -> Vec<(String, u64)> {
        let document: Value = body.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
        document
            .pointer("/signed/meta")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(name, meta)| Some((name.clone(), meta.get("version")?.as_u64()?)))
            .collect()
    };
    for (name, version) in versions(file(client, org, "metadata/timestamp.json").await?) {
        let snapshot = format!("metadata/{version}.{name}");
        for (role, version) in versions(file(client, org, &snapshot).await?) {
            paths.push(format!("metadata/{version}.{role}"));
        }
        paths.push(snapshot);
    }
    Ok(paths)
}

/// Stores every file under `repository` that is new or changed.
async fn store_files(
    client: &impl GenericClient,
    org: i64,
    repository: &Path,
    laid: &HashMap<String, Vec<u8>>,
) -> Result<(), RegistryError> {
    for kind in ["metadata", "targets"] {
        let entries = std::fs::read_dir(repository.join(kind)).map_err(|err| RegistryError::Internal(err.into()))?;
        for entry in entries {
            let entry = entry.map_err(|err| RegistryError::Internal(err.into()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // A file the hub could not serve fails the edit (nothing is stored).
            let path = repository_path(kind, &name).ok_or_else(|| {
                RegistryError::Refused(anyhow::anyhow!("{name:?} cannot be served from the registry"))
            })?;
            let body = std::fs::read(entry.path()).map_err(|err| RegistryError::Internal(err.into()))?;
            if laid.get(&path) == Some(&body) {
                continue;
            }
            if path.ends_with(".targets.json") && body.len() > MAX_TARGETS_BYTES {
                return Err(RegistryError::Refused(anyhow::anyhow!(
                    "the registry's metadata would grow to {} bytes (at most {MAX_TARGETS_BYTES}): every client downloads it",
                    body.len()
                )));
            }
            client
                .execute(
                    "insert into registry_files (org_id, path, body) values ($1, $2, $3)
                     on conflict (org_id, path) do update set body = excluded.body",
                    &[&org, &path, &body],
                )
                .await?;
        }
    }
    Ok(())
}

/// Records when the first of the current signatures runs out.
async fn set_expiry(client: &impl GenericClient, org: i64) -> Result<(), RegistryError> {
    let mut first: Option<jiff::Timestamp> = None;
    for path in current_paths(client, org).await? {
        if path.ends_with(".root.json") {
            continue;
        }
        let body = file(client, org, &path).await?.unwrap_or_default();
        let document: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let expires = document.pointer("/signed/expires").and_then(Value::as_str).and_then(|t| t.parse().ok());
        first = match (first, expires) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    client.execute("update registries set expires_at = $2 where org_id = $1", &[&org, &first]).await?;
    Ok(())
}

/// Writes the registry as static files for any web server or object store:
/// `<dir>/root.json` (give it to users) and `<dir>/repository/` (serve it),
/// re-signing first when the signatures run out within two days. Existing
/// files are replaced; nothing else in `dir` is touched.
pub async fn export(pool: &crate::db::Pool, sealing: &Sealing, org: i64, dir: &Path) -> Result<usize> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let root = root(&tx, org).await?.ok_or(RegistryError::Missing)?;
    if needs_refresh(&tx, org).await? {
        edit(&tx, sealing, org, async |r| r.refresh(Expiry::default()).await).await?;
    }
    tx.commit().await?;
    for kind in ["metadata", "targets"] {
        std::fs::create_dir_all(dir.join("repository").join(kind))
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(dir.join("root.json"), &root).with_context(|| format!("writing {}", dir.display()))?;
    // Packages first, the timestamp last: a host serving the folder while it is
    // written never names a file that is not there yet. One file in memory at
    // a time (packages are up to 16 MiB each).
    let order = "case when path = 'metadata/timestamp.json' then 2 when path like 'targets/%' then 0 else 1 end, path";
    let sql = format!("select path, body from registry_files where org_id = $1 order by {order}");
    let rows = client.query_raw(sql.as_str(), [&org]).await?;
    futures::pin_mut!(rows);
    let mut written = 0;
    while let Some(row) = futures::TryStreamExt::try_next(&mut rows).await? {
        let (path, body): (String, Vec<u8>) = (row.get(0), row.get(1));
        written += 1;
        write_exported(dir, &path, &body)?;
    }
    Ok(written)
}

/// One exported file, renamed into place once whole.
fn write_exported(dir: &Path, path: &str, body: &[u8]) -> Result<()> {
    {
        // Checked when stored; checked again before it names a file here.
        let (kind, name) = path.split_once('/').context("a stored path without a folder")?;
        let path = repository_path(kind, name).context("a stored path that is not a repository file")?;
        let file = dir.join("repository").join(path);
        let unique = file.with_extension(format!("tmp-export-{}", std::process::id()));
        std::fs::write(&unique, body).with_context(|| format!("writing {}", unique.display()))?;
        std::fs::rename(&unique, &file).with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(())
}
