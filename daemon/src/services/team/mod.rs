//! Membership of a team's hub (`paired hub`, docs/team.md): joining with an
//! invitation code, this machine's device token in the OS keyring, what the
//! hub says of us, and leaving. Without a hub nothing here runs.
//!
//! `usage.rs` sends usage events (and refreshes the policy on the same beat);
//! `policy.rs` pulls, verifies and caches the signed policy and decides by it.
//!
//! What a join leaves: `team.json` in the state folder (private: the hub, the
//! organisation, the member; never the token) and the device token in the OS
//! keyring under `paired/hub-device`.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::platform::{
    os,
    paths::{self, Paths},
    secrets::{self, KeyringError},
};

pub mod policy;
pub mod quota;
pub mod registry;
pub mod sso;
pub mod usage;

/// The keyring entry of the device token.
pub const KEYRING_ENTRY: &str = "hub-device";

/// How long one request to the hub may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// This machine's membership of a hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The hub's address, as the invitation gave it.
    pub hub: String,
    pub org_id: i64,
    pub org: String,
    pub member: i64,
    pub email: String,
    /// The role when joining (`paired team status` asks the hub for today's).
    pub role: String,
    /// The device token's id on the hub (to revoke it when leaving).
    pub token_id: i64,
    pub joined_at: String,
    /// The hub's Ed25519 policy key (base64), pinned when joining: a policy
    /// signed by any other key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("{0}")]
    BadUrl(String),
    #[error("this machine has already joined {org} on {hub}; `paired team leave` first")]
    AlreadyJoined { org: String, hub: String },
    #[error("this machine has not joined a team hub; `paired team join URL --code CODE`")]
    NotJoined,
    #[error("the hub refused: {0}")]
    Refused(String),
    #[error("the hub at {hub} cannot be reached: {cause}")]
    Unreachable { hub: String, cause: String },
    #[error("the hub's answer is not what a PAIRED hub sends: {0}")]
    Protocol(String),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error("{0:#}")]
    State(anyhow::Error),
}

pub(crate) fn membership_file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("team.json")
}

/// The membership this machine holds, if any.
pub fn load(paths: &Paths) -> Result<Option<Membership>, TeamError> {
    let file = membership_file(paths);
    match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|err| {
            TeamError::State(anyhow::anyhow!("{} is damaged ({err}); remove it and join again", file.display()))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(TeamError::State(anyhow::anyhow!("cannot read {}: {err}", file.display()))),
    }
}

/// The hub's address, checked: `https://`, or `http://` to this machine only
/// (a device token never crosses a network in clear).
pub fn hub_url(text: &str) -> Result<String, TeamError> {
    let url = url::Url::parse(text.trim())
        .map_err(|err| TeamError::BadUrl(format!("{text:?} is not a URL ({err}); e.g. https://paired.example.com")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(TeamError::BadUrl(format!(
                "{text} is plain HTTP: a hub on another machine must be reached over https://"
            )));
        }
        other => return Err(TeamError::BadUrl(format!("{text}: {other}:// is not http(s)"))),
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(TeamError::BadUrl(format!("{text}: give the hub's address alone (no user, password or query)")));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Joins the hub at `hub` with an invitation `code`: the hub makes us a member
/// and gives this machine a device token, kept in the OS keyring.
pub async fn join(
    paths: &Paths,
    hub: &str,
    code: &str,
    email: Option<&str>,
    name: Option<&str>,
) -> Result<Membership, TeamError> {
    let hub = ready_to_join(paths, hub).await?;
    let body = json!({"code": code, "email": email, "name": name, "device": os::hostname()});
    let reply = request(&hub, reqwest::Method::POST, "/api/v1/join", None, Some(body)).await?;
    adopt(paths, &hub, &reply).await
}

/// Refuses a second membership and a machine without a keyring, before anything
/// is spent (the hub takes an invitation or a sign-in code once, and a token with
/// nowhere to go would waste it); the hub's address, checked.
pub(crate) async fn ready_to_join(paths: &Paths, hub: &str) -> Result<String, TeamError> {
    if let Some(joined) = load(paths)? {
        return Err(TeamError::AlreadyJoined { org: joined.org, hub: joined.hub });
    }
    let hub = hub_url(hub)?;
    match tokio::task::spawn_blocking(|| secrets::get(KEYRING_ENTRY))
        .await
        .map_err(|err| TeamError::State(err.into()))?
    {
        Ok(_) | Err(KeyringError::Missing(_)) => Ok(hub),
        Err(err) => Err(TeamError::Keyring(err)),
    }
}

/// Keeps what the hub gave on joining (`/join` or a sign-in's exchange): the
/// device token in the keyring, the membership in `team.json`, then the policy.
pub(crate) async fn adopt(paths: &Paths, hub: &str, reply: &Value) -> Result<Membership, TeamError> {
    let field = |pointer: &str| reply.pointer(pointer).cloned().unwrap_or(Value::Null);
    let token = field("/token").as_str().map(str::to_owned).ok_or_else(|| TeamError::Protocol("no token".into()))?;
    let membership = Membership {
        hub: hub.to_owned(),
        org_id: field("/org/id").as_i64().unwrap_or_default(),
        org: field("/org/name").as_str().unwrap_or_default().to_owned(),
        member: field("/member/id").as_i64().unwrap_or_default(),
        email: field("/member/email").as_str().unwrap_or_default().to_owned(),
        role: field("/member/role").as_str().unwrap_or_default().to_owned(),
        token_id: field("/token_id").as_i64().unwrap_or_default(),
        joined_at: jiff::Timestamp::now().to_string(),
        policy_key: field("/policy_key").as_str().map(str::to_owned),
    };
    // The token first: a membership without its token would be useless; a
    // token without a membership file is overwritten by the next join.
    let stored = tokio::task::spawn_blocking(move || secrets::set(KEYRING_ENTRY, &token))
        .await
        .map_err(|err| TeamError::State(err.into()))?;
    if let Err(err) = stored {
        return Err(TeamError::Keyring(err));
    }
    let text = serde_json::to_vec_pretty(&membership).map_err(|err| TeamError::State(err.into()))?;
    paths.create_all().map_err(TeamError::State)?;
    paths::write_private(&membership_file(paths), &text).map_err(TeamError::State)?;
    // The policy at once, so that nothing waits for the first refresh (a hub
    // that signs none answers so, and none applies).
    if membership.policy_key.is_some()
        && let Err(err) = policy::pull(paths).await
    {
        tracing::warn!("joined, but the team policy could not be fetched yet: {err}");
    }
    if let Err(err) = registry::sync(paths).await {
        tracing::warn!("joined, but the team's agent registry could not be set up yet: {err}");
    }
    audit(paths, "team.join", &membership).await;
    Ok(membership)
}

/// A change of membership in this machine's audit log (the console's Audit
/// page). Not writing it is logged, never the user's problem.
async fn audit(paths: &Paths, action: &str, membership: &Membership) {
    let event = crate::services::analytics::AuditEvent {
        at_ms: jiff::Timestamp::now().as_millisecond(),
        actor: "you".into(),
        action: action.into(),
        target: format!("{} on {}", membership.org, membership.hub),
        details: format!("{} as {} (device token {})", membership.email, membership.role, membership.token_id),
    };
    let written = match crate::platform::store::Store::open(&paths.database()) {
        Ok(store) => store.call(move |conn| crate::services::analytics::record_audit(conn, &event)).await,
        Err(err) => Err(err),
    };
    if let Err(err) = written {
        tracing::warn!("cannot write {action} to the audit log: {err:#}");
    }
}

/// The membership and what the hub says of us now (`GET /api/v1/me`), or why
/// it could not be asked.
pub async fn status(paths: &Paths) -> Result<(Membership, Result<Value, TeamError>), TeamError> {
    let membership = load(paths)?.ok_or(TeamError::NotJoined)?;
    let now = match device_token().await {
        Ok(token) => request(&membership.hub, reqwest::Method::GET, "/api/v1/me", Some(&token), None).await,
        Err(err) => Err(err),
    };
    Ok((membership, now))
}

/// Leaves: the device token is revoked on the hub (when it can be reached) and
/// forgotten here. Returns the membership left and whether the hub revoked it.
pub async fn leave(paths: &Paths) -> Result<(Membership, Result<(), TeamError>), TeamError> {
    let membership = load(paths)?.ok_or(TeamError::NotJoined)?;
    let revoked = match device_token().await {
        Ok(token) => {
            let path = format!("/api/v1/tokens/{}", membership.token_id);
            request(&membership.hub, reqwest::Method::DELETE, &path, Some(&token), None).await.map(|_| ())
        }
        Err(err) => Err(err),
    };
    tokio::task::spawn_blocking(|| secrets::delete(KEYRING_ENTRY))
        .await
        .map_err(|err| TeamError::State(err.into()))??;
    std::fs::remove_file(membership_file(paths))
        .map_err(|err| TeamError::State(anyhow::anyhow!("cannot remove the membership file: {err}")))?;
    let _ = std::fs::remove_file(paths.state_dir.join("team-policy.json"));
    registry::forget(paths);
    audit(paths, "team.leave", &membership).await;
    Ok((membership, revoked))
}

pub(crate) async fn device_token() -> Result<String, TeamError> {
    tokio::task::spawn_blocking(|| secrets::get(KEYRING_ENTRY))
        .await
        .map_err(|err| TeamError::State(err.into()))?
        .map_err(TeamError::Keyring)
}

/// One request to the hub; its JSON answer, or its error's message.
pub(crate) async fn request(
    hub: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<Value, TeamError> {
    let body = body.map(|body| ("application/json", body.to_string().into_bytes()));
    send(hub, method, path, token, body).await
}

/// [`request`] with a body of any type (`content type`, bytes).
pub(crate) async fn send(
    hub: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Result<Value, TeamError> {
    let unreachable = |cause: String| TeamError::Unreachable { hub: hub.to_owned(), cause };
    let client = crate::platform::http::client()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| unreachable(err.to_string()))?;
    let mut request = client.request(method, format!("{hub}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some((kind, body)) = body {
        request = request.header(reqwest::header::CONTENT_TYPE, kind).body(body);
    }
    let response = request.send().await.map_err(|err| unreachable(describe(&err)))?;
    let status = response.status();
    let text = response.text().await.map_err(|err| unreachable(describe(&err)))?;
    let value: Value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
    if status.is_success() {
        return Ok(value);
    }
    let message = value.pointer("/error/message").and_then(Value::as_str).map(str::to_owned);
    Err(match message {
        Some(message) => TeamError::Refused(message),
        None => TeamError::Protocol(format!("HTTP {status} from {hub}{path}")),
    })
}

/// reqwest's error with its causes (its own Display names only the first).
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_token_crosses_a_network_only_over_https() {
        assert_eq!(hub_url("https://paired.example.com/").ok().as_deref(), Some("https://paired.example.com"));
        assert_eq!(hub_url("http://127.0.0.1:8440").ok().as_deref(), Some("http://127.0.0.1:8440"));
        assert!(hub_url("http://localhost:8440").is_ok());
        assert!(hub_url("http://[::1]:8440").is_ok());
        for bad in
            ["http://paired.example.com", "ftp://x", "paired.example.com", "https://u:p@x.com", "https://x.com/?a=b"]
        {
            assert!(matches!(hub_url(bad), Err(TeamError::BadUrl(_))), "{bad}");
        }
    }
}
