//! The publisher side: a registry folder and its keys.
//!
//! ```text
//! <dir>/root.json        the root of trust: give it to users (config `root`)
//! <dir>/repository/      serve this folder, as is, from any static host
//!     metadata/          N.root.json, N.targets.json, N.snapshot.json, timestamp.json
//!     targets/           <sha256>.<name>-<version>.tgz
//! <dir>/keys/            root, targets, snapshot, timestamp (Ed25519, 0600): never serve
//! ```
//!
//! Every change (publish, yank, curate, refresh) loads the repository through
//! `tough` — so a registry that does not verify cannot be extended — edits the
//! targets, bumps every role's version and re-signs.

use std::{
    collections::HashMap,
    num::NonZeroU64,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use aws_lc_rs::{rand::SystemRandom, signature::Ed25519KeyPair};
use jiff::{SignedDuration, Timestamp};
use tough::{
    ExpirationEnforcement, RepositoryLoader, TargetName,
    editor::{
        RepositoryEditor,
        signed::{PathExists, SignedRole},
    },
    key_source::{KeySource, LocalKeySource},
    schema::{KeyHolder, RoleKeys, RoleType, Root, Target},
    sign::{Sign, parse_keypair},
};

use crate::{META_KEY, PackageMeta, archive};

const ROLES: [(RoleType, &str); 4] = [
    (RoleType::Root, "root"),
    (RoleType::Targets, "targets"),
    (RoleType::Snapshot, "snapshot"),
    (RoleType::Timestamp, "timestamp"),
];

/// How long each role's signature holds. The timestamp is the short one: a
/// maintainer re-signs it (`paired market refresh`) before it runs out, and
/// clients refuse a registry frozen past it.
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    pub root_days: i64,
    pub targets_days: i64,
    pub snapshot_days: i64,
    pub timestamp_secs: i64,
}

impl Default for Expiry {
    fn default() -> Self {
        // The root is signed offline, rarely: ten years, so no registry stops working
        // for want of a root re-signing (rotating it is a new pinned root for users).
        Expiry { root_days: 3650, targets_days: 90, snapshot_days: 30, timestamp_secs: 7 * 24 * 3600 }
    }
}

/// The longest any signature or licence made here may hold: the root's ten years.
pub const MAX_LIFETIME_SECS: i64 = 3650 * 24 * 3600;

impl Expiry {
    /// The default expiries with the timestamp's lifetime given by the
    /// maintainer (`--timestamp-secs`): at least a second, at most the root's.
    pub fn with_timestamp_secs(secs: i64) -> Result<Expiry> {
        let expiry = Expiry { timestamp_secs: secs, ..Expiry::default() };
        expiry.check()?;
        Ok(expiry)
    }

    /// Every lifetime is at least a second and at most the root's.
    fn check(&self) -> Result<()> {
        for days in [self.root_days, self.targets_days, self.snapshot_days] {
            check_lifetime("an expiry of", days.saturating_mul(24 * 3600))?;
        }
        check_lifetime("--timestamp-secs", self.timestamp_secs)
    }
}

/// A lifetime in seconds from the command line: 1 to [`MAX_LIFETIME_SECS`].
pub fn check_lifetime(what: &str, secs: i64) -> Result<()> {
    if !(1..=MAX_LIFETIME_SECS).contains(&secs) {
        bail!("{what} {secs}: must be from 1 to {MAX_LIFETIME_SECS} seconds (3650 days, the root's lifetime)");
    }
    Ok(())
}

pub struct Registry {
    dir: PathBuf,
    /// The role keys held in memory (a hub's), instead of `<dir>/keys/`.
    keys: Option<HashMap<String, Vec<u8>>>,
}

/// A role key held in memory: signs without ever being written to a file.
#[derive(Debug)]
struct MemoryKey(Vec<u8>);

#[async_trait::async_trait]
impl KeySource for MemoryKey {
    async fn as_sign(&self) -> Result<Box<dyn Sign>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        Ok(Box::new(parse_keypair(&self.0)?))
    }

    async fn write(
        &self,
        _value: &str,
        _key_id_hex: &str,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        Err("a key held in memory is not written".into())
    }
}

impl Registry {
    pub fn open(dir: &Path) -> Result<Registry> {
        let dir = std::fs::canonicalize(dir).with_context(|| format!("{}: no such registry folder", dir.display()))?;
        let registry = Registry { dir: dir.clone(), keys: None };
        if !registry.metadata().join("timestamp.json").is_file() {
            bail!(
                "{} is not a registry folder (no repository/metadata/timestamp.json): create one with `paired market init`",
                dir.display()
            );
        }
        Ok(registry)
    }

    /// A registry folder with no `keys/`: its role keys (`targets`, `snapshot`,
    /// `timestamp`, by name; PKCS#8) are given here and never touch the disk.
    pub fn open_with_keys(dir: &Path, keys: HashMap<String, Vec<u8>>) -> Result<Registry> {
        Ok(Registry { keys: Some(keys), ..Registry::open(dir)? })
    }

    pub fn root_file(&self) -> PathBuf {
        self.dir.join("root.json")
    }
    fn metadata(&self) -> PathBuf {
        self.dir.join("repository/metadata")
    }
    fn targets(&self) -> PathBuf {
        self.dir.join("repository/targets")
    }
    fn key(&self, role: &str) -> PathBuf {
        self.dir.join("keys").join(format!("{role}.pk8"))
    }

    /// A new registry: four fresh keys, a signed root, empty targets.
    ///
    /// All or nothing: it is made in a hidden folder (beside `dir`, or inside
    /// it when `dir` exists already) and moved into place once complete; on
    /// any failure, a panic included, that folder is removed.
    pub async fn init(dir: &Path, expiry: Expiry) -> Result<Registry> {
        expiry.check()?;
        let exists = dir.exists();
        if exists && !dir.is_dir() {
            bail!("{} is not a folder", dir.display());
        }
        if ["repository", "keys", "root.json"].iter().any(|entry| dir.join(entry).exists()) {
            bail!("{} already holds a registry; use another folder", dir.display());
        }
        let beside = match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dir.file_name().with_context(|| format!("{}: name a folder for the registry", dir.display()))?;
        let work_in = if exists { dir.to_path_buf() } else { beside };
        std::fs::create_dir_all(&work_in).with_context(|| format!("creating {}", work_in.display()))?;
        let work_in = std::fs::canonicalize(&work_in)?;
        let unfinished = Unfinished::create(&work_in, name.to_string_lossy().as_ref())?;
        let registry = Registry { dir: unfinished.0.clone(), keys: None };
        registry.build(expiry).await.with_context(|| format!("creating the registry {}", dir.display()))?;
        let _ = std::fs::remove_dir_all(registry.dir.join(".staging"));
        if exists {
            unfinished.move_contents_into(dir)?;
        } else {
            unfinished.rename_to(dir)?;
        }
        Registry::open(dir)
    }

    /// Keys, root, and the first targets, snapshot and timestamp, in `self.dir`.
    async fn build(&self, expiry: Expiry) -> Result<()> {
        let registry = self;
        std::fs::create_dir_all(registry.metadata())?;
        std::fs::create_dir_all(registry.targets())?;
        crate::fs::create_private_dir(&registry.dir.join("keys"))?;
        let mut keys = HashMap::new();
        let mut roles = HashMap::new();
        for (role, name) in ROLES {
            let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
            crate::fs::write_private(&registry.key(name), document.as_ref())?;
            let key = parse_keypair(document.as_ref()).context("reading the new key")?.tuf_key();
            let id = key.key_id().context("key id")?;
            keys.insert(id.clone(), key);
            roles.insert(role, RoleKeys { keyids: vec![id], threshold: NonZeroU64::MIN, _extra: HashMap::new() });
        }
        let root = Root {
            spec_version: "1.0.0".to_owned(),
            consistent_snapshot: true,
            version: NonZeroU64::MIN,
            expires: in_days(expiry.root_days)?,
            keys,
            roles,
            _extra: HashMap::new(),
        };
        let signed =
            SignedRole::new(root.clone(), &KeyHolder::Root(root), &registry.sources(&["root"]), &SystemRandom::new())
                .await
                .context("signing the root")?;
        signed.write(registry.metadata(), true).await.context("writing the root")?;
        std::fs::write(registry.root_file(), signed.buffer())?;
        let mut editor = RepositoryEditor::new(registry.metadata().join("1.root.json")).await?;
        editor
            .targets_version(NonZeroU64::MIN)?
            .targets_expires(in_days(expiry.targets_days)?)?
            .snapshot_version(NonZeroU64::MIN)
            .snapshot_expires(in_days(expiry.snapshot_days)?)
            .timestamp_version(NonZeroU64::MIN)
            .timestamp_expires(in_secs(expiry.timestamp_secs)?);
        let signed = editor.sign(&registry.sources(&["targets", "snapshot", "timestamp"])).await?;
        signed.write(registry.metadata()).await?;
        registry.licensing_keys(expiry).await?;
        Ok(())
    }

    /// The registry's licensing key (made on first use), its public half
    /// published as the signed target `licensing.json`.
    async fn licensing_keys(&self, expiry: Expiry) -> Result<Vec<u8>> {
        let file = self.key("licensing");
        if file.is_file() {
            return Ok(std::fs::read(&file)?);
        }
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
        let keys = crate::licence::LicensingKeys {
            keys: vec![crate::licence::public_key(document.as_ref()).map_err(anyhow::Error::msg)?],
        };
        let staging = self.dir.join(".staging");
        std::fs::create_dir_all(&staging)?;
        let json = staging.join(crate::licence::TARGET);
        std::fs::write(&json, serde_json::to_vec_pretty(&keys)?)?;
        let target = Target::from_path(&json).await?;
        let name = TargetName::new(crate::licence::TARGET)?;
        let repo = self.load().await?;
        let signed = self
            .resign(repo, expiry, |editor| {
                editor.add_target(name.clone(), target)?;
                Ok(())
            })
            .await?;
        signed.copy_target(&json, &self.targets(), PathExists::Replace, Some(&name)).await?;
        let _ = std::fs::remove_file(&json);
        crate::fs::write_private(&file, document.as_ref())?;
        Ok(document.as_ref().to_vec())
    }

    /// A licence for a paid agent of this registry.
    pub async fn issue_licence(&self, agent: &str, licensee: &str, seconds: i64) -> Result<String> {
        check_lifetime("--seconds", seconds)?;
        if licensee.trim().is_empty() || licensee.contains(char::is_whitespace) {
            bail!("the licensee is a user (alice@acme.example) or an organisation (org:acme.example)");
        }
        if !self.packages().await?.iter().any(|p| p.name == agent) {
            bail!("{agent} is not in this registry");
        }
        let key = self.licensing_keys(Expiry::default()).await?;
        let now = Timestamp::now().as_second();
        crate::licence::issue(&key, agent, licensee, now, now.saturating_add(seconds)).map_err(anyhow::Error::msg)
    }

    fn sources(&self, roles: &[&str]) -> Vec<Box<dyn KeySource>> {
        if let Some(keys) = &self.keys {
            return roles
                .iter()
                .map(|role| Box::new(MemoryKey(keys.get(*role).cloned().unwrap_or_default())) as Box<dyn KeySource>)
                .collect();
        }
        roles.iter().map(|role| Box::new(LocalKeySource { path: self.key(role) }) as Box<dyn KeySource>).collect()
    }

    /// The registry as a client would read it (expiry not enforced: the
    /// maintainer may be refreshing an expired one).
    pub async fn load(&self) -> Result<tough::Repository> {
        let root =
            std::fs::read(self.root_file()).with_context(|| format!("reading {}", self.root_file().display()))?;
        let metadata = url::Url::from_directory_path(self.metadata()).map_err(|_| anyhow::anyhow!("bad path"))?;
        let targets = url::Url::from_directory_path(self.targets()).map_err(|_| anyhow::anyhow!("bad path"))?;
        RepositoryLoader::new(&root, metadata, targets)
            .expiration_enforcement(ExpirationEnforcement::Unsafe)
            .load()
            .await
            .context("the registry does not verify")
    }

    /// Who publishes `name` here, if any version of it is published.
    pub async fn owner(&self, name: &str) -> Result<Option<String>> {
        Ok(self.packages().await?.into_iter().find(|p| p.name == name).map(|p| p.publisher))
    }

    /// Every package version in the registry.
    pub async fn packages(&self) -> Result<Vec<PackageMeta>> {
        let repo = self.load().await?;
        Ok(repo.all_targets().filter_map(|(_, target)| meta_of(target)).collect())
    }

    /// Adds a package version (an archive made by [`archive::pack`]) and
    /// re-signs. Versions are immutable: publishing one twice is refused.
    pub async fn publish(&self, package: &[u8], mut meta: PackageMeta, expiry: Expiry) -> Result<PackageMeta> {
        let repo = self.load().await?;
        for (_, target) in repo.all_targets() {
            let Some(other) = meta_of(target) else { continue };
            if other.name == meta.name && other.version == meta.version {
                bail!(
                    "{}@{} is already published; versions never change: publish a new version",
                    meta.name,
                    meta.version
                );
            }
            if other.name != meta.name && crate::skeleton(&other.name) == crate::skeleton(&meta.name) {
                bail!("{:?} looks too much like {:?}, already in this registry", meta.name, other.name);
            }
            if other.name == meta.name && other.publisher != meta.publisher {
                bail!("{} belongs to publisher {:?}, not {:?}", meta.name, other.publisher, meta.publisher);
            }
        }
        let name = crate::target_name(&meta.name, &meta.version);
        let staging = self.dir.join(".staging");
        std::fs::create_dir_all(&staging)?;
        let file = staging.join(&name);
        std::fs::write(&file, package)?;
        let mut target = Target::from_path(&file).await?;
        meta.yanked = false;
        target.custom.insert(META_KEY.to_owned(), serde_json::to_value(&meta)?);
        let target_name = TargetName::new(&name)?;
        let signed = self
            .resign(repo, expiry, |editor| {
                editor.add_target(target_name.clone(), target)?;
                Ok(())
            })
            .await?;
        let copied = signed.copy_target(&file, &self.targets(), PathExists::Fail, Some(&target_name)).await;
        let _ = std::fs::remove_file(&file);
        copied?;
        Ok(meta)
    }

    /// Changes the signed metadata of one version (yank, curate, stats).
    pub async fn amend(
        &self,
        name: &str,
        version: &str,
        expiry: Expiry,
        change: impl FnOnce(&mut PackageMeta),
    ) -> Result<PackageMeta> {
        let repo = self.load().await?;
        let target_name = TargetName::new(crate::target_name(name, version))?;
        let Some(target) = repo.all_targets().find(|(n, _)| **n == target_name).map(|(_, t)| t.clone()) else {
            bail!("{name}@{version} is not in this registry");
        };
        let mut meta = meta_of(&target).context("the target has no package metadata")?;
        change(&mut meta);
        let mut target = target;
        target.custom.insert(META_KEY.to_owned(), serde_json::to_value(&meta)?);
        self.resign(repo, expiry, |editor| {
            editor.remove_target(&target_name)?;
            editor.add_target(target_name.clone(), target)?;
            Ok(())
        })
        .await?;
        Ok(meta)
    }

    /// Re-signs everything with fresh expiries (run before the timestamp runs out).
    pub async fn refresh(&self, expiry: Expiry) -> Result<()> {
        let repo = self.load().await?;
        self.resign(repo, expiry, |_| Ok(())).await.map(|_| ())
    }

    async fn resign(
        &self,
        repo: tough::Repository,
        expiry: Expiry,
        edit: impl FnOnce(&mut RepositoryEditor) -> Result<()>,
    ) -> Result<tough::editor::signed::SignedRepository> {
        expiry.check()?;
        let next = |v: NonZeroU64| v.checked_add(1).context("version overflow");
        let targets_version = next(repo.targets().signed.version)?;
        let snapshot_version = next(repo.snapshot().signed.version)?;
        let timestamp_version = next(repo.timestamp().signed.version)?;
        let mut editor = RepositoryEditor::from_repo(self.root_file(), repo).await?;
        edit(&mut editor)?;
        editor
            .targets_version(targets_version)?
            .targets_expires(in_days(expiry.targets_days)?)?
            .snapshot_version(snapshot_version)
            .snapshot_expires(in_days(expiry.snapshot_days)?)
            .timestamp_version(timestamp_version)
            .timestamp_expires(in_secs(expiry.timestamp_secs)?);
        let signed = editor.sign(&self.sources(&["targets", "snapshot", "timestamp"])).await?;
        signed.write(self.metadata()).await?;
        Ok(signed)
    }
}

/// What `publisher_init` made: what is shared and what stays private.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PublisherFiles {
    pub name: String,
    /// `<dir>/public/`: `<name>.pub.json` (the public key) and `<name>.json`
    /// (the empty role, version 1). Safe to send to the registry's maintainer.
    pub public: PathBuf,
    /// `<dir>/private/` (0700): the signing key alone. Never sent anywhere.
    pub private: PathBuf,
    /// `<dir>/private/<name>.pk8` (0600), for `publish --key`.
    pub key: PathBuf,
}

/// A publisher's own key and its empty delegated role, made on the
/// publisher's machine. The key goes in a private folder of its own, so the
/// folder handed to the registry (`public/`) never holds it (issue #15).
pub async fn publisher_init(dir: &Path, name: &str) -> Result<PublisherFiles> {
    let name = crate::check_name(name).map_err(anyhow::Error::msg)?;
    let (public, private) = (dir.join("public"), dir.join("private"));
    let key_file = private.join(format!("{name}.pk8"));
    for existing in [&key_file, &dir.join(format!("{name}.pk8"))] {
        if existing.exists() {
            bail!("{} exists already: a publisher keeps one key", existing.display());
        }
    }
    std::fs::create_dir_all(&public).with_context(|| format!("creating {}", public.display()))?;
    crate::fs::create_private_dir(&private)?;
    let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
    crate::fs::write_private(&key_file, document.as_ref())?;
    let key = parse_keypair(document.as_ref())?.tuf_key();
    std::fs::write(public.join(format!("{name}.pub.json")), serde_json::to_vec_pretty(&key)?)?;
    let signer: Vec<Box<dyn KeySource>> = vec![Box::new(LocalKeySource { path: key_file.clone() })];
    let mut role = tough::editor::targets::TargetsEditor::new(&name);
    role.version(NonZeroU64::MIN).expires(in_days(365)?);
    role.sign(&signer).await?.write(&public, false).await?;
    Ok(PublisherFiles { name, public, private, key: key_file })
}

/// The folder a publisher sent: their `public/` folder, or the folder
/// `publisher init` made (whose `public/` is then used).
fn publisher_public_dir(from: &Path, name: &str) -> PathBuf {
    let nested = from.join("public");
    if !from.join(format!("{name}.pub.json")).is_file() && nested.join(format!("{name}.pub.json")).is_file() {
        nested
    } else {
        from.to_path_buf()
    }
}

fn dir_url(dir: &Path) -> Result<String> {
    let dir = std::fs::canonicalize(dir).with_context(|| format!("{}: no such folder", dir.display()))?;
    Ok(url::Url::from_directory_path(&dir).map_err(|_| anyhow::anyhow!("bad path {}", dir.display()))?.to_string())
}

impl Registry {
    /// Delegates the package names `<name>-*` to a publisher: their key signs
    /// their packages from now on; the registry's targets key is not needed
    /// for their releases.
    pub async fn add_publisher(&self, name: &str, from: &Path, expiry: Expiry) -> Result<()> {
        let name = crate::check_name(name).map_err(anyhow::Error::msg)?;
        let from = &publisher_public_dir(from, &name);
        let public: tough::schema::key::Key =
            serde_json::from_slice(&std::fs::read(from.join(format!("{name}.pub.json"))).with_context(|| {
                format!("{}: no {name}.pub.json (made by `paired market publisher init`)", from.display())
            })?)?;
        let keys = std::collections::HashMap::from([(public.key_id()?, public)]);
        let paths = tough::schema::PathSet::Paths(vec![tough::schema::PathPattern::new(format!("{name}-*"))?]);
        let repo = self.load().await?;
        if repo.delegated_role(&name).is_some() {
            bail!("{name} is a publisher of this registry already");
        }
        self.resign_with(repo, expiry, &["targets", "snapshot", "timestamp"], async |editor| {
            editor.add_role(&name, &dir_url(from)?, paths, true, NonZeroU64::MIN, Some(keys)).await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Publishes as a delegated publisher: their key signs their role; the
    /// registry's snapshot and timestamp keys (online keys) re-sign the rest.
    pub async fn publish_as(
        &self,
        key: &Path,
        package: &[u8],
        meta: PackageMeta,
        expiry: Expiry,
    ) -> Result<PackageMeta> {
        let publisher = meta.publisher.clone();
        if !meta.name.starts_with(&format!("{publisher}-")) {
            bail!("publisher {publisher} signs only packages named {publisher}-…; {} is not one", meta.name);
        }
        let repo = self.load().await?;
        let role = repo.delegated_role(&publisher).with_context(|| {
            format!("{publisher} is not a publisher of this registry: `paired market publisher add`")
        })?;
        let version = role.targets.as_ref().map_or(NonZeroU64::MIN, |t| t.signed.version);
        for (_, target) in repo.all_targets() {
            if let Some(other) = meta_of(target)
                && other.name == meta.name
                && other.version == meta.version
            {
                bail!(
                    "{}@{} is already published; versions never change: publish a new version",
                    meta.name,
                    meta.version
                );
            }
        }
        let name = crate::target_name(&meta.name, &meta.version);
        let staging = self.dir.join(".staging").join(format!("publisher-{}", std::process::id()));
        std::fs::create_dir_all(&staging)?;
        let file = staging.join(&name);
        std::fs::write(&file, package)?;
        let mut target = Target::from_path(&file).await?;
        target.custom.insert(META_KEY.to_owned(), serde_json::to_value(&meta)?);
        let mut editor = tough::editor::targets::TargetsEditor::from_repo(repo, &publisher)?;
        editor.add_target(TargetName::new(&name)?, target)?;
        editor.version(version.checked_add(1).context("version overflow")?).expires(in_days(expiry.targets_days)?);
        let key: Vec<Box<dyn KeySource>> = vec![Box::new(LocalKeySource { path: key.to_path_buf() })];
        editor.sign(&key).await.context("signing with the publisher's key")?.write(&staging, false).await?;
        let repo = self.load().await?;
        let url = dir_url(&staging)?;
        self.resign_with(repo, expiry, &["snapshot", "timestamp"], async |editor| {
            editor.update_delegated_targets(&publisher, &url).await?;
            Ok(())
        })
        .await?;
        // The package, named by its hash as consistent snapshots want.
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, package);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(self.targets().join(format!("{hex}.{name}")), package)?;
        let _ = std::fs::remove_dir_all(&staging);
        Ok(meta)
    }

    /// Like `resign`, with an async edit and the given keys.
    async fn resign_with(
        &self,
        repo: tough::Repository,
        expiry: Expiry,
        roles: &[&str],
        edit: impl AsyncFnOnce(&mut RepositoryEditor) -> Result<()>,
    ) -> Result<tough::editor::signed::SignedRepository> {
        expiry.check()?;
        let next = |v: NonZeroU64| v.checked_add(1).context("version overflow");
        let targets_version = next(repo.targets().signed.version)?;
        let snapshot_version = next(repo.snapshot().signed.version)?;
        let timestamp_version = next(repo.timestamp().signed.version)?;
        let mut editor = RepositoryEditor::from_repo(self.root_file(), repo).await?;
        edit(&mut editor).await?;
        if roles.contains(&"targets") {
            editor.targets_version(targets_version)?.targets_expires(in_days(expiry.targets_days)?)?;
        }
        editor
            .snapshot_version(snapshot_version)
            .snapshot_expires(in_days(expiry.snapshot_days)?)
            .timestamp_version(timestamp_version)
            .timestamp_expires(in_secs(expiry.timestamp_secs)?);
        let signed = editor.sign(&self.sources(roles)).await?;
        signed.write(self.metadata()).await?;
        Ok(signed)
    }
}

pub fn meta_of(target: &Target) -> Option<PackageMeta> {
    serde_json::from_value(target.custom.get(META_KEY)?.clone()).ok()
}

fn in_days(days: i64) -> Result<Timestamp> {
    in_secs(days.checked_mul(24 * 3600).with_context(|| format!("an expiry of {days} days is out of range"))?)
}

/// Now plus `secs`; an error, not a panic, past the calendar's end.
fn in_secs(secs: i64) -> Result<Timestamp> {
    Timestamp::now()
        .checked_add(SignedDuration::from_secs(secs))
        .with_context(|| format!("an expiry {secs} seconds from now is out of range"))
}

/// A registry being made: a hidden folder removed on drop unless it was
/// moved into place.
struct Unfinished(PathBuf);

impl Unfinished {
    fn create(work_in: &Path, name: &str) -> Result<Unfinished> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = work_in.join(format!(".{name}.paired-init-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Unfinished(dir))
    }

    /// `dir` did not exist: one rename puts the whole registry there.
    fn rename_to(self, dir: &Path) -> Result<()> {
        std::fs::rename(&self.0, dir).with_context(|| format!("moving the new registry to {}", dir.display()))?;
        std::mem::forget(self);
        Ok(())
    }

    /// `dir` exists (and holds other things): its three entries move in, the
    /// keys last; if one cannot, those moved already are taken back.
    fn move_contents_into(self, dir: &Path) -> Result<()> {
        let mut moved = Vec::new();
        for entry in ["repository", "root.json", "keys"] {
            let to = dir.join(entry);
            if let Err(err) = std::fs::rename(self.0.join(entry), &to) {
                for back in moved {
                    let _ = std::fs::rename(dir.join(back), self.0.join(back));
                }
                return Err(err).with_context(|| format!("moving the new registry's {entry} to {}", to.display()));
            }
            moved.push(entry);
        }
        Ok(())
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Certification levels, by what was checked (issue #15: a package with no
/// test cases was "certified"). `validated`: the manifest, name, version and a
/// review of the permissions passed. `tested`: that, and its own test cases ran
/// and passed. Only `tested` is shown as certified.
pub const VALIDATED: &str = "validated";
pub const TESTED: &str = "tested";
/// Checks named so are the package's test cases.
const TEST_CHECK: &str = "test ";

/// Whether a signed certification record says the package's test cases ran
/// and passed (judged by its checks, so records made before the levels had
/// names count too).
pub fn tested(certification: Option<&protocol::agents::Certification>) -> bool {
    certification
        .is_some_and(|c| c.checks.iter().all(|c| c.passed) && c.checks.iter().any(|c| c.name.starts_with(TEST_CHECK)))
}

/// The level a signed certification record shows: `tested`, `validated`,
/// `failed`, or `none`.
pub fn level(certification: Option<&protocol::agents::Certification>) -> &'static str {
    match certification {
        None => "none",
        Some(_) if tested(certification) => TESTED,
        Some(c) if c.checks.iter().all(|c| c.passed) => VALIDATED,
        Some(_) => "failed",
    }
}

/// What `paired market check` found: the certification record, and warnings
/// for the reviewer.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub manifest: protocol::agents::AgentManifest,
    pub certification: protocol::agents::Certification,
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.certification.checks.iter().all(|c| c.passed)
    }

    /// `Err` naming every failed check, as `paired market check` prints them.
    pub fn require_passed(&self) -> Result<()> {
        if self.passed() {
            return Ok(());
        }
        let failed: Vec<String> = self
            .certification
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        bail!("the package does not pass `paired market check`:\n  {}", failed.join("\n  "))
    }
}

/// The Quality Assurance Pipeline over an agent folder: the manifest, its
/// name and version, a review of its permissions, and the package's own test
/// cases (`tests/*.toml`: `skill`, `file`, `expect` rule ids) run against the
/// offline skills.
pub fn check(folder: &Path) -> Result<CheckReport> {
    use protocol::agents::{Certification, CertificationCheck};
    let manifest_path = folder.join("agent.toml");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("{}: an agent package needs an agent.toml", manifest_path.display()))?;
    let manifest = agents::manifest::parse_toml(&manifest_path.display().to_string(), &text)?;
    let mut checks = Vec::new();
    let mut warnings = Vec::new();
    let mut add = |name: &str, result: Result<String, String>| {
        let (passed, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        checks.push(CertificationCheck { name: name.to_owned(), passed, detail });
    };
    add("manifest", Ok(format!("{} parses", manifest_path.display())));
    add(
        "name",
        crate::check_name(&manifest.id).and_then(|n| {
            if n == manifest.id {
                Ok(format!("{n} is a valid package name"))
            } else {
                Err(format!("write the id as {n:?} (lower case, `-` for `_`): packages are installed under that name"))
            }
        }),
    );
    add(
        "version",
        semver::Version::parse(&manifest.metadata.version)
            .map_err(|err| format!("{:?} is not a semver version: {err}", manifest.metadata.version))
            .and_then(|v| match v.build.is_empty() {
                true => Ok(format!("{v} is semver")),
                false => Err(format!("{v}: build metadata (+{}) is not allowed in a package's version", v.build)),
            }),
    );
    let p = &manifest.permissions;
    let broad = |items: &[String]| items.iter().any(|i| i == "**" || i == "*" || i == "/**");
    if broad(&p.fs_write) {
        warnings.push("asks to propose edits anywhere in the workspace (fs_write **)".to_owned());
    }
    if broad(&p.net) {
        warnings.push("asks to reach any host (net *)".to_owned());
    }
    if !p.commands.is_empty() {
        warnings.push(format!(
            "asks to run commands ({}): they run in PAIRED's sandbox, but execute the project's code and use its CPU and memory",
            p.commands.join(", ")
        ));
    }
    let all = [&p.fs_read, &p.fs_write, &p.net, &p.commands, &p.mcp_tools];
    let hidden = all
        .iter()
        .flat_map(|items| items.iter())
        .find(|i| i.chars().any(|c| c.is_control() || crate::is_bidi_control(c)));
    add(
        "permissions",
        match hidden {
            Some(item) => Err(format!(
                "{} holds control or direction characters, which could disguise it when the user is asked",
                crate::shown(item)
            )),
            None if warnings.is_empty() => Ok("no broad permission".to_owned()),
            None => Ok(format!("broad: {}", warnings.join("; "))),
        },
    );
    let mut cases: Vec<PathBuf> = std::fs::read_dir(folder.join("tests"))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    cases.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    cases.sort();
    if cases.is_empty() {
        warnings.push("no test cases (tests/*.toml)".to_owned());
    }
    if cases.len() > MAX_CASES {
        add("tests", Err(format!("{} test cases: at most {MAX_CASES}", cases.len())));
        cases.truncate(MAX_CASES);
    }
    for case in cases {
        let label =
            format!("{TEST_CHECK}{}", case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        add(&label, run_case(folder, &case));
    }
    let level = if !checks.iter().all(|c| c.passed) {
        "failed"
    } else if checks.iter().any(|c| c.name.starts_with(TEST_CHECK)) {
        TESTED
    } else {
        VALIDATED
    };
    let certification = Certification { level: level.to_owned(), checked_at: Timestamp::now().to_string(), checks };
    Ok(CheckReport { manifest, certification, warnings })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TestCase {
    skill: String,
    /// A file of the package, relative to its folder.
    file: String,
    /// Rule ids the skill must report.
    #[serde(default)]
    expect: Vec<String>,
    /// Rule ids it must not.
    #[serde(default)]
    reject: Vec<String>,
}

fn run_case(folder: &Path, case: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(case).map_err(|err| format!("cannot read: {err}"))?;
    let case: TestCase = toml::from_str(&text).map_err(|err| format!("not a test case: {err}"))?;
    let rel = Path::new(&case.file);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(format!("{}: test files must be inside the package", case.file));
    }
    if case.expect.is_empty() {
        return Err(format!(
            "{}: a test case must expect at least one rule id (one that expects nothing proves nothing)",
            case.file
        ));
    }
    let file = folder.join(rel);
    let size = std::fs::metadata(&file).map_err(|err| format!("{}: {err}", case.file))?.len();
    if size > MAX_CASE_BYTES {
        return Err(format!("{}: {size} bytes; a test file is at most {MAX_CASE_BYTES}", case.file));
    }
    let source = std::fs::read_to_string(&file).map_err(|err| format!("{}: {err}", case.file))?;
    let skill = agents::skills::Skill::from_name(&case.skill)
        .ok_or_else(|| format!("{}: unknown skill {:?}", case.file, case.skill))?;
    let output =
        agents::skills::run_on_text(skill, &case.file, source).map_err(|err| format!("{}: {err}", case.skill))?;
    let found: Vec<&str> = output.findings.iter().map(|f| f.rule).collect();
    let missing: Vec<&String> = case.expect.iter().filter(|r| !found.contains(&r.as_str())).collect();
    let unwanted: Vec<&String> = case.reject.iter().filter(|r| found.contains(&r.as_str())).collect();
    if missing.is_empty() && unwanted.is_empty() {
        Ok(format!("{} on {}: found {}", case.skill, case.file, found.join(", ")))
    } else {
        Err(format!("{} on {}: missing {missing:?}, unwanted {unwanted:?} (found {found:?})", case.skill, case.file))
    }
}

/// The most test cases a package runs when checked, and the largest file one reads.
const MAX_CASES: usize = 100;
const MAX_CASE_BYTES: u64 = 1 << 20;

/// The most a package's signed record may take (its description, capabilities,
/// permissions, checks): every version's is in the registry's targets metadata,
/// which every client downloads.
pub const MAX_META_BYTES: usize = 64 << 10;

/// Packs an agent folder after checking it; the metadata a registry signs.
pub fn pack_checked(folder: &Path, publisher: &str, daemon: &str) -> Result<(Vec<u8>, PackageMeta, CheckReport)> {
    let report = check(folder)?;
    report.require_passed()?;
    semver::VersionReq::parse(daemon).with_context(|| format!("{daemon:?} is not a semver requirement"))?;
    let bytes = archive::pack(folder)?;
    let m = &report.manifest;
    let meta = PackageMeta {
        name: crate::check_name(&m.id).map_err(anyhow::Error::msg)?,
        version: m.metadata.version.clone(),
        description: m.metadata.description.clone(),
        domain: m.metadata.domain.clone(),
        specialization: m.metadata.specialization.clone(),
        capabilities: m.capabilities.clone(),
        permissions: m.permissions.clone(),
        pricing: m.pricing.clone(),
        publisher: publisher.to_owned(),
        certification: Some(report.certification.clone()),
        daemon: daemon.to_owned(),
        ..PackageMeta::default()
    };
    let size = serde_json::to_vec(&meta)?.len();
    if size > MAX_META_BYTES {
        bail!(
            "the package's description, capabilities, permissions and checks come to {size} bytes; at most {MAX_META_BYTES} (every version's is in the registry's metadata, which every client downloads)"
        );
    }
    Ok((bytes, meta, report))
}
