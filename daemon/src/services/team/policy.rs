//! The policy on this machine, by level: the team's (organisation > team >
//! member) — pulled from the hub, verified against the key pinned when joining,
//! cached in `team-policy.json`, applied offline until it expires, failing
//! closed when forged, expired or missing — then the user's own
//! (`<config>/policy.toml`), then the project's (`<project>/.paired/policy.toml`),
//! in the same rules. A deny anywhere wins and an allow list anywhere
//! restricts, so the user and a project can only narrow what the team allows.
//! A local file that does not read refuses what it would decide, saying why.
//! Without a hub and without local files nothing is decided here.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Mutex,
    time::{Duration, SystemTime},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use policy::{Action, Decision, Envelope, Policy};

use super::{Membership, TeamError, device_token, load, membership_file, request};
use crate::platform::paths::{self, Paths};

fn cache_file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("team-policy.json")
}

/// Where this machine stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not joined, or the hub signs no policy: nothing is decided by a team.
    None,
    Applies(Box<Policy>),
    /// Joined, but the policy cannot be trusted: everything it decides is refused.
    FailsClosed(String),
}

impl State {
    pub fn decide(&self, action: &Action) -> Decision {
        match self {
            State::None => Decision { allowed: true, source: None, rule: "no team policy applies".into() },
            State::Applies(policy) => {
                let sources: Vec<(String, policy::Rules)> =
                    policy.sources.iter().map(|s| (s.scope.clone(), s.rules.clone())).collect();
                policy::decide(&sources, action)
            }
            State::FailsClosed(why) => {
                Decision { allowed: false, source: Some("the team hub".into()), rule: format!("{why} (fails closed)") }
            }
        }
    }
}

/// Fetches this member's policy, verifies it and caches it. The first policy
/// pins the hub's key when the join did not (a hub given its key later).
pub async fn pull(paths: &Paths) -> Result<Policy, TeamError> {
    let mut membership = load(paths)?.ok_or(TeamError::NotJoined)?;
    let token = device_token().await?;
    let reply = request(&membership.hub, reqwest::Method::GET, "/api/v1/policy", Some(&token), None).await?;
    let envelope: Envelope = serde_json::from_value(reply["envelope"].clone())
        .map_err(|err| TeamError::Protocol(format!("the policy envelope: {err}")))?;
    if membership.policy_key.is_none() {
        let offered = reply["public_key"].as_str().ok_or_else(|| TeamError::Protocol("no public key".into()))?;
        membership.policy_key = Some(offered.to_owned());
        save(paths, &membership)?;
    }
    let key = pinned_key(&membership).map_err(TeamError::Protocol)?;
    let policy = policy::signed::verify(&envelope, &key, jiff::Timestamp::now())
        .map_err(|err| TeamError::Refused(err.to_string()))?;
    let text = serde_json::to_vec_pretty(&envelope).map_err(|err| TeamError::State(err.into()))?;
    paths::write_private(&cache_file(paths), &text).map_err(TeamError::State)?;
    Ok(policy)
}

fn save(paths: &Paths, membership: &Membership) -> Result<(), TeamError> {
    let text = serde_json::to_vec_pretty(membership).map_err(|err| TeamError::State(err.into()))?;
    paths::write_private(&membership_file(paths), &text).map_err(TeamError::State)
}

fn pinned_key(membership: &Membership) -> Result<Vec<u8>, String> {
    let key = membership.policy_key.as_deref().ok_or("no key pinned")?;
    STANDARD.decode(key).map_err(|err| format!("the pinned policy key is damaged ({err}); join again"))
}

/// Pulls the policy when the cached one is older than `every` (or missing).
/// Failures are logged once per kind; the cached policy holds until it expires.
pub async fn refresh_if_due(paths: &Paths, every: Duration) {
    static LAST_ERROR: Mutex<Option<String>> = Mutex::new(None);
    let Ok(Some(membership)) = load(paths) else { return };
    let age = std::fs::metadata(cache_file(paths))
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok());
    if membership.policy_key.is_some() && age.is_some_and(|age| age < every) {
        return;
    }
    let outcome = match pull(paths).await {
        // The registry on the same beat: one the organisation made since is picked up.
        Ok(_) => super::registry::sync(paths).await.err().map(|err| format!("the team's agent registry: {err}")),
        Err(err) => Some(err.to_string()),
    };
    let mut last = LAST_ERROR.lock().unwrap_or_else(|p| p.into_inner());
    if outcome != *last {
        match &outcome {
            Some(err) => {
                tracing::warn!("the team policy could not be renewed (the cached one holds until it expires): {err}")
            }
            None => tracing::info!("the team policy was renewed from {}", membership.hub),
        }
        *last = outcome;
    }
}

/// The policy as it stands now, read from the files.
pub fn state(paths: &Paths) -> State {
    let membership = match load(paths) {
        Ok(Some(membership)) => membership,
        Ok(None) => return State::None,
        Err(err) => return State::FailsClosed(err.to_string()),
    };
    if membership.policy_key.is_none() {
        return State::None;
    }
    let key = match pinned_key(&membership) {
        Ok(key) => key,
        Err(why) => return State::FailsClosed(why),
    };
    let envelope = match std::fs::read(cache_file(paths)) {
        Ok(bytes) => match serde_json::from_slice::<Envelope>(&bytes) {
            Ok(envelope) => envelope,
            Err(err) => return State::FailsClosed(format!("the cached team policy is damaged ({err})")),
        },
        Err(_) => {
            return State::FailsClosed(format!(
                "no team policy from {} yet; it is fetched when the hub is reached",
                membership.hub
            ));
        }
    };
    match policy::signed::verify(&envelope, &key, jiff::Timestamp::now()) {
        Ok(policy) => State::Applies(Box::new(policy)),
        Err(err) => State::FailsClosed(err.to_string()),
    }
}

/// The policy for the daemon's services: read again when its files change,
/// its expiry checked on every decision.
pub struct TeamPolicy {
    paths: Paths,
    memo: Mutex<Option<(Stamp, State)>>,
    /// Local policy files read, by path, with the stamp they were read at.
    files: Mutex<HashMap<PathBuf, (FileStamp, Option<Local>)>>,
}

type Stamp = (Option<SystemTime>, Option<SystemTime>);

/// A local file as last read: when it changed and its length (none: absent).
type FileStamp = Option<(Option<SystemTime>, u64)>;

impl TeamPolicy {
    pub fn new(paths: Paths) -> TeamPolicy {
        TeamPolicy { paths, memo: Mutex::new(None), files: Mutex::new(HashMap::new()) }
    }

    pub fn state(&self) -> State {
        let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let stamp = (modified(membership_file(&self.paths)), modified(cache_file(&self.paths)));
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, state)) = memo.as_ref()
            && *seen == stamp
        {
            match state {
                State::Applies(policy) if policy.expires_at <= jiff::Timestamp::now() => {}
                _ => return state.clone(),
            }
        }
        let state = state(&self.paths);
        *memo = Some((stamp, state.clone()));
        state
    }

    /// Every level that decides for `project` (none: the team's and the user's).
    pub fn for_project(&self, project: Option<&Path>) -> Decider {
        let mut local = Vec::new();
        let files = [Some(user_file(&self.paths)), project.map(project_file)];
        let mut read = self.files.lock().unwrap_or_else(|p| p.into_inner());
        for file in files.into_iter().flatten() {
            let meta = std::fs::metadata(&file).ok();
            let stamp: FileStamp = meta.as_ref().map(|m| (m.modified().ok(), m.len()));
            let source = match read.get(&file) {
                Some((seen, source)) if *seen == stamp => source.clone(),
                _ => {
                    let source =
                        meta.is_some().then(|| Local::read(&file, project.is_some() && file != user_file(&self.paths)));
                    if read.len() > 256 {
                        read.clear();
                    }
                    read.insert(file.clone(), (stamp, source.clone()));
                    source
                }
            };
            local.extend(source);
        }
        Decider { team: self.state(), local }
    }

    pub fn decide(&self, action: &Action) -> Decision {
        self.for_project(None).decide(action)
    }

    /// Whether secrets are redacted even for a model on this machine (a policy
    /// that cannot be trusted says yes).
    pub fn forces_redaction(&self, project: Option<&Path>) -> bool {
        self.for_project(project).forces_redaction()
    }

    /// `Err(why)` when `action` is refused, in words for the user.
    pub fn check(&self, action: &Action, what: &str) -> Result<(), String> {
        self.check_in(None, action, what)
    }

    /// [`TeamPolicy::check`] for an action about `project`: its own file counts too.
    pub fn check_in(&self, project: Option<&Path>, action: &Action, what: &str) -> Result<(), String> {
        self.for_project(project).check(action, what)
    }
}

/// The user's own policy file.
pub fn user_file(paths: &Paths) -> PathBuf {
    paths.config_dir.join("policy.toml")
}

/// A project's own policy file.
pub fn project_file(root: &Path) -> PathBuf {
    root.join(".paired/policy.toml")
}

/// One local level: its label (`user:PATH`, `project:PATH`) and its rules,
/// or why its file does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub label: String,
    pub rules: Result<policy::Rules, String>,
}

impl Local {
    fn read(file: &Path, project: bool) -> Local {
        let label = format!("{}:{}", if project { "project" } else { "user" }, file.display());
        let rules = std::fs::read_to_string(file)
            .map_err(|err| format!("cannot read it: {err}"))
            .and_then(|text| toml::from_str::<policy::Rules>(&text).map_err(|err| err.to_string()))
            .and_then(|rules| rules.check().map(|()| rules))
            .map_err(|why| format!("{why} — fix the file; until then what it would decide is refused"));
        Local { label, rules }
    }
}

/// Every level that decides for one project, read once for a burst of decisions.
#[derive(Debug, Clone)]
pub struct Decider {
    pub team: State,
    pub local: Vec<Local>,
}

impl Decider {
    /// Nothing decides: no team policy and no local file (the hot path's shortcut).
    pub fn is_empty(&self) -> bool {
        matches!(self.team, State::None) && self.local.is_empty()
    }

    pub fn decide(&self, action: &Action) -> Decision {
        if let State::FailsClosed(_) = self.team {
            return self.team.decide(action);
        }
        if let Some(broken) = self.local.iter().find(|l| l.rules.is_err()) {
            let why = broken.rules.as_ref().err().cloned().unwrap_or_default();
            return Decision { allowed: false, source: Some(broken.label.clone()), rule: why };
        }
        if self.local.is_empty() {
            return self.team.decide(action);
        }
        let mut sources: Vec<(String, policy::Rules)> = match &self.team {
            State::Applies(policy) => policy.sources.iter().map(|s| (s.scope.clone(), s.rules.clone())).collect(),
            _ => Vec::new(),
        };
        sources.extend(self.local.iter().filter_map(|l| Some((l.label.clone(), l.rules.clone().ok()?))));
        policy::decide(&sources, action)
    }

    pub fn forces_redaction(&self) -> bool {
        let local = self.local.iter().any(|l| l.rules.as_ref().map_or(true, |r| r.egress.force_redaction));
        local
            || match &self.team {
                State::None => false,
                State::Applies(policy) => policy.sources.iter().any(|s| s.rules.egress.force_redaction),
                State::FailsClosed(_) => true,
            }
    }

    /// `Err(why)` when `action` is refused, in words for the user.
    pub fn check(&self, action: &Action, what: &str) -> Result<(), String> {
        let decision = self.decide(action);
        if decision.allowed {
            return Ok(());
        }
        let by = decision.source.as_deref().unwrap_or("the team policy");
        let whose =
            if by.starts_with("user:") || by.starts_with("project:") { "the policy" } else { "the team policy" };
        Err(format!("{whose} does not allow {what}: {by}: {}", decision.rule))
    }
}

/// Asking the configured provider `name` as the team policy sees it.
pub fn model_action(config: &crate::platform::config::Config, name: &str) -> policy::Action {
    let provider = config.providers.get(name);
    let kind = kind_of(config, name);
    policy::Action::Model {
        provider: name.to_owned(),
        kind: kind.to_owned(),
        model: provider.map(|p| p.model.clone()).unwrap_or_default(),
        local: provider.is_some_and(|p| p.is_local()),
    }
}

/// The kind of the configured provider `name` (empty when there is none).
fn kind_of(config: &crate::platform::config::Config, name: &str) -> &'static str {
    config.providers.get(name).map_or("", |p| match p.kind {
        crate::platform::config::ProviderKind::Openai => "openai",
        crate::platform::config::ProviderKind::Azure => "azure",
        crate::platform::config::ProviderKind::Anthropic => "anthropic",
    })
}

/// Sending `path` to the configured provider `name` as the policy sees it
/// (`local`: it stays on this machine).
pub fn send_action(config: &crate::platform::config::Config, name: &str, path: &str, local: bool) -> policy::Action {
    policy::Action::Send {
        path: path.to_owned(),
        local,
        provider: name.to_owned(),
        kind: kind_of(config, name).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> (tempfile::TempDir, TeamPolicy) {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let paths = Paths {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
            state_dir: root.join("state"),
            runtime_dir: root.join("run"),
        };
        std::fs::create_dir_all(&paths.config_dir).expect("mkdir");
        (dir, TeamPolicy::new(paths))
    }

    fn project(dir: &Path, name: &str, policy: &str) -> PathBuf {
        let root = dir.join(name);
        std::fs::create_dir_all(root.join(".paired")).expect("mkdir");
        std::fs::write(project_file(&root), policy).expect("write");
        root
    }

    fn send(path: &str) -> Action {
        Action::Send { path: path.to_owned(), local: false, provider: String::new(), kind: String::new() }
    }

    #[test]
    fn the_user_and_a_project_narrow_what_is_allowed_each_for_itself() {
        let (dir, levels) = machine();
        assert!(levels.for_project(None).is_empty(), "no hub, no files: nothing decides");
        assert!(levels.decide(&Action::Run { agent: "vince".into() }).allowed);

        std::fs::write(user_file(&levels.paths), "[agents]\ndeny = [\"vince\"]\n").expect("write");
        let refused = levels.decide(&Action::Run { agent: "vince".into() });
        assert!(!refused.allowed);
        assert_eq!(refused.level(), Some("user"));
        let why = levels.check(&Action::Run { agent: "vince".into() }, "running Vince").expect_err("refused");
        assert!(why.starts_with("the policy does not allow running Vince: user:"), "{why}");

        let strict =
            project(dir.path(), "payments", "[egress]\ndeny_paths = [\"secrets/**\"]\nforce_redaction = true\n");
        let relaxed = project(dir.path(), "docs", "[agents]\nallow = [\"vince\", \"maya\"]\n");
        let in_strict = levels.for_project(Some(&strict));
        assert_eq!(in_strict.decide(&send("secrets/prod.env")).level(), Some("project"));
        assert!(in_strict.forces_redaction());
        assert!(in_strict.decide(&send("src/main.rs")).allowed);
        // Another project's file decides nothing here; the user's file still does.
        let in_relaxed = levels.for_project(Some(&relaxed));
        assert!(in_relaxed.decide(&send("secrets/prod.env")).allowed);
        assert!(!in_relaxed.forces_redaction());
        // A project's allow list cannot take back what the user denied (deny wins),
        // and restricts what it does not name.
        assert_eq!(in_relaxed.decide(&Action::Run { agent: "vince".into() }).level(), Some("user"));
        assert_eq!(in_relaxed.decide(&Action::Run { agent: "sherlock".into() }).level(), Some("project"));
    }

    #[test]
    fn a_local_file_that_does_not_read_refuses_and_says_why() {
        let (dir, levels) = machine();
        let broken = project(dir.path(), "p", "[agents\n");
        let decision = levels.for_project(Some(&broken)).decide(&Action::Run { agent: "alex".into() });
        assert!(!decision.allowed);
        assert!(decision.rule.contains("fix the file"), "{decision:?}");
        assert!(levels.for_project(Some(&broken)).forces_redaction());
        // Fixed: read again (by its stamp), and allowed.
        std::fs::write(project_file(&broken), "[agents]\ndeny = [\"vince\"]\n").expect("write");
        assert!(levels.for_project(Some(&broken)).decide(&Action::Run { agent: "alex".into() }).allowed);
        let unknown = project(dir.path(), "q", "[agents]\nallow = [\"[\"]\n");
        assert!(!levels.for_project(Some(&unknown)).decide(&Action::Run { agent: "alex".into() }).allowed);
    }
}
