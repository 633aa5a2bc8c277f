//! The team policy on this machine: pulled from the hub, verified against the
//! key pinned when joining, cached in `team-policy.json`, applied offline until
//! it expires. A policy that is forged, expired or missing refuses everything
//! it would decide: it fails closed. Without a hub (or with a hub that signs
//! no policy) nothing is decided here.

use std::{
    path::PathBuf,
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
}

type Stamp = (Option<SystemTime>, Option<SystemTime>);

impl TeamPolicy {
    pub fn new(paths: Paths) -> TeamPolicy {
        TeamPolicy { paths, memo: Mutex::new(None) }
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

    pub fn decide(&self, action: &Action) -> Decision {
        self.state().decide(action)
    }

    /// Whether secrets are redacted even for a model on this machine (a policy
    /// that cannot be trusted says yes).
    pub fn forces_redaction(&self) -> bool {
        match self.state() {
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
        Err(format!("the team policy does not allow {what}: {by}: {}", decision.rule))
    }
}

/// Asking the configured provider `name` as the team policy sees it.
pub fn model_action(config: &crate::platform::config::Config, name: &str) -> policy::Action {
    let provider = config.providers.get(name);
    let kind = provider.map_or("", |p| match p.kind {
        crate::platform::config::ProviderKind::Openai => "openai",
        crate::platform::config::ProviderKind::Azure => "azure",
        crate::platform::config::ProviderKind::Anthropic => "anthropic",
    });
    policy::Action::Model {
        provider: name.to_owned(),
        kind: kind.to_owned(),
        model: provider.map(|p| p.model.clone()).unwrap_or_default(),
        local: provider.is_some_and(|p| p.is_local()),
    }
}
