//! The organisation's private agent registry, when its hub keeps one: learnt
//! on joining and on the policy's beat (a registry created later is picked up),
//! its root of trust pinned the first time it is seen (the hub cannot swap it
//! afterwards: TUF's own root rotation is the way to new keys), and offered to
//! the marketplace as the registry named `team`, read with this machine's
//! device token.
//!
//! What it leaves: `team-registry.json` (its address) and
//! `team-registry-root.json` (the pinned root) in the state folder; leaving
//! the team removes both.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{TeamError, device_token, load, request};
use crate::platform::{
    config::RegistryConfig,
    paths::{self, Paths},
};

/// The name the organisation's registry has here.
pub const NAME: &str = "team";

/// Where a hub serves its registry.
const REPOSITORY: &str = "/api/v1/registry/repository";

/// What the hub says of its registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Known {
    name: String,
    url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_team_name_is_the_organisations_while_joined() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = Paths {
            config_dir: dir.path().join("c"),
            data_dir: dir.path().join("d"),
            state_dir: dir.path().join("s"),
            runtime_dir: dir.path().join("r"),
        };
        let mine = |name: &str| RegistryConfig {
            name: name.into(),
            url: "https://agents.example".into(),
            root: "/r.json".into(),
            token_env: None,
            team_device_token: false,
        };
        let names =
            |all: Vec<RegistryConfig>| all.into_iter().map(|r| (r.name, r.team_device_token)).collect::<Vec<_>>();
        assert_eq!(names(with_team(&paths, vec![mine("team")])), [("team".to_owned(), false)], "not joined");
        std::fs::create_dir_all(&paths.state_dir).expect("mkdir");
        std::fs::write(root_file(&paths), "{}").expect("root");
        let known = serde_json::to_vec(&Known { name: NAME.into(), url: "http://127.0.0.1:1/r".into() }).expect("json");
        std::fs::write(info_file(&paths), known).expect("info");
        assert_eq!(
            names(with_team(&paths, vec![mine("acme"), mine("team")])),
            [("acme".to_owned(), false), ("team".to_owned(), true)]
        );
    }
}

fn info_file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("team-registry.json")
}

fn root_file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("team-registry-root.json")
}

/// Forgets the registry (on leaving the team).
pub fn forget(paths: &Paths) {
    let _ = std::fs::remove_file(info_file(paths));
    let _ = std::fs::remove_file(root_file(paths));
}

/// Asks the hub whether the organisation has a registry and keeps what it
/// says; `true` when one is configured here afterwards.
pub async fn sync(paths: &Paths) -> Result<bool, TeamError> {
    let membership = load(paths)?.ok_or(TeamError::NotJoined)?;
    let token = device_token().await?;
    let me = request(&membership.hub, reqwest::Method::GET, "/api/v1/me", Some(&token), None).await?;
    let Some(offered) = me.get("registry").filter(|r| !r.is_null()) else {
        return Ok(configured(paths).is_some());
    };
    // Named `team` and read from the hub this machine joined, whatever the hub
    // says: its words name no folder here, and the device token goes nowhere else.
    let (name, url) = (NAME.to_owned(), format!("{}{REPOSITORY}", membership.hub));
    let root = offered
        .get("root")
        .filter(|r| r.get("signed").is_some())
        .ok_or_else(|| TeamError::Protocol("the hub's registry root is not a signed TUF root".into()))?;
    let root = serde_json::to_vec_pretty(root).map_err(|err| TeamError::State(err.into()))?;
    match std::fs::read(root_file(paths)) {
        Ok(pinned) if same_root(&pinned, &root) => {}
        Ok(_) => {
            return Err(TeamError::Refused(format!(
                "the hub now offers a different registry root than the one pinned here ({}); \
                 leave and join the team again to trust the new one",
                root_file(paths).display()
            )));
        }
        Err(_) => paths::write_private(&root_file(paths), &root).map_err(TeamError::State)?,
    }
    let known = serde_json::to_vec_pretty(&Known { name, url }).map_err(|err| TeamError::State(err.into()))?;
    paths::write_private(&info_file(paths), &known).map_err(TeamError::State)?;
    Ok(true)
}

/// Whether two root documents are the same JSON (formatting aside).
fn same_root(a: &[u8], b: &[u8]) -> bool {
    let parse = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).ok();
    parse(a).is_some_and(|a| Some(a) == parse(b))
}

/// The team's registry as the marketplace uses it, when there is one.
pub fn configured(paths: &Paths) -> Option<RegistryConfig> {
    let known: Known = serde_json::from_slice(&std::fs::read(info_file(paths)).ok()?).ok()?;
    let root = root_file(paths);
    root.is_file().then_some(RegistryConfig {
        name: known.name,
        url: known.url,
        root,
        token_env: None,
        team_device_token: true,
    })
}

/// The registries in force: the user's, then the team's. While this machine
/// has the team's, the name `team` is the team's (a policy allowing `team`
/// means the organisation's registry): a registry of the user's so named is
/// left out, with a warning.
pub fn with_team(paths: &Paths, mut registries: Vec<RegistryConfig>) -> Vec<RegistryConfig> {
    if let Some(team) = configured(paths) {
        if registries.iter().any(|r| r.name == team.name) {
            tracing::warn!(
                "the registry named {:?} in config.toml is left out: while this machine is in a team, that name is the organisation's registry; rename yours",
                team.name
            );
            registries.retain(|r| r.name != team.name);
        }
        registries.push(team);
    }
    registries
}

/// What managing the registry from this machine acts with: `$PAIRED_HUB_TOKEN`
/// (a personal token with the `write` scope) when set, else a token the device
/// token makes for the one change and which is revoked after it.
pub struct Acting {
    hub: String,
    token: String,
    /// The id of a token made for this change, revoked by [`Acting::done`].
    made: Option<i64>,
}

/// The environment variable a personal token for managing the hub is read from.
pub const TOKEN_ENV: &str = "PAIRED_HUB_TOKEN";

impl Acting {
    pub async fn new(paths: &Paths) -> Result<Acting, TeamError> {
        let membership = load(paths)?.ok_or(TeamError::NotJoined)?;
        if let Ok(token) = std::env::var(TOKEN_ENV)
            && !token.trim().is_empty()
        {
            return Ok(Acting { hub: membership.hub, token: token.trim().to_owned(), made: None });
        }
        let device = device_token().await?;
        let body = serde_json::json!({"name": "paired team (one change)", "scopes": ["write"], "expires_in_days": 1});
        let made = request(&membership.hub, reqwest::Method::POST, "/api/v1/tokens", Some(&device), Some(body)).await?;
        let token = made["token"].as_str().ok_or_else(|| TeamError::Protocol("no token made".into()))?.to_owned();
        Ok(Acting { hub: membership.hub, token, made: made["id"].as_i64() })
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Value, TeamError> {
        super::send(&self.hub, method, path, Some(&self.token), body).await
    }

    /// Revokes the token made for this change, if one was.
    pub async fn done(self) {
        if let Some(id) = self.made {
            let path = format!("/api/v1/tokens/{id}");
            if let Err(err) = request(&self.hub, reqwest::Method::DELETE, &path, Some(&self.token), None).await {
                tracing::warn!("the token made for this change (id {id}) was not revoked: {err}; it expires in a day");
            }
        }
    }
}

/// Publishes a packed agent (`paired market pack`'s bytes) to the team's
/// registry; the hub checks and certifies it. `daemon`: a semver requirement.
pub async fn publish(paths: &Paths, package: Vec<u8>, daemon: Option<&str>) -> Result<Value, TeamError> {
    let acting = Acting::new(paths).await?;
    let path = match daemon {
        Some(req) => format!(
            "/api/v1/registry/packages?daemon={}",
            url::form_urlencoded::byte_serialize(req.as_bytes()).collect::<String>()
        ),
        None => "/api/v1/registry/packages".to_owned(),
    };
    let result = acting.send(reqwest::Method::POST, &path, Some(("application/gzip", package))).await;
    acting.done().await;
    result
}

/// Yanks (or un-yanks) a version, or marks it curated (or not).
pub async fn amend(paths: &Paths, name: &str, version: &str, what: Amend, on: bool) -> Result<Value, TeamError> {
    let acting = Acting::new(paths).await?;
    let (verb, field) = match what {
        Amend::Yank => ("yank", "yanked"),
        Amend::Curate => ("curate", "curated"),
    };
    let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let path = format!("/api/v1/registry/packages/{}/{}/{verb}", encode(name), encode(version));
    let body = serde_json::json!({ field: on }).to_string().into_bytes();
    let result = acting.send(reqwest::Method::POST, &path, Some(("application/json", body))).await;
    acting.done().await;
    result
}

#[derive(Debug, Clone, Copy)]
pub enum Amend {
    Yank,
    Curate,
}

/// Creates the organisation's registry (an admin's), then sets it up here.
pub async fn create(paths: &Paths) -> Result<Value, TeamError> {
    let acting = Acting::new(paths).await?;
    let result = acting.send(reqwest::Method::POST, "/api/v1/registry", None).await;
    acting.done().await;
    let created = result?;
    sync(paths).await?;
    Ok(created)
}
