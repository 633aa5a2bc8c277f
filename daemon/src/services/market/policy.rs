//! The user's and the organisation's limits on what agents are granted and
//! how what they run is confined (`/etc/paired/policy.toml` wins).

use crate::platform::config::{MarketPolicy, PERMISSION_KINDS};

/// Where an organisation puts its policy (managed by its IT, not the user).
pub const ORGANISATION_FILE: &str = "/etc/paired/policy.toml";

fn organisation(file: &std::path::Path) -> Result<Option<MarketPolicy>, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => toml::from_str(&text).map(Some).map_err(|e| format!("{}: {e}", file.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(format!("{}: {err}", file.display())),
    }
}

/// Whether the organisation's policy requires a fully enforced sandbox
/// (a policy that cannot be read does: it fails closed).
pub fn sandbox_must_be_full() -> bool {
    sandbox_must_be_full_with(std::path::Path::new(ORGANISATION_FILE))
}

pub fn sandbox_must_be_full_with(organisation_file: &std::path::Path) -> bool {
    organisation(organisation_file).map_or(true, |p| p.is_some_and(|p| p.require_full_sandbox))
}

/// Why `permissions` from `registry` may not be granted, if they may not.
pub fn refusal(user: &MarketPolicy, registry: &str, permissions: &protocol::agents::Permissions) -> Option<String> {
    refusal_with(user, std::path::Path::new(ORGANISATION_FILE), registry, permissions)
}

pub fn refusal_with(
    user: &MarketPolicy,
    organisation_file: &std::path::Path,
    registry: &str,
    permissions: &protocol::agents::Permissions,
) -> Option<String> {
    // An organisation policy that cannot be read refuses everything: it fails closed.
    let organisation = match organisation(organisation_file) {
        Ok(policy) => policy,
        Err(why) => return Some(format!("the organisation policy cannot be read ({why})")),
    };
    let asked = |kind: &str| asked_kinds(permissions).contains(&kind);
    for (whose, policy) in [("the organisation's", organisation.as_ref()), ("your", Some(user))] {
        let Some(policy) = policy else { continue };
        if let Some(kind) = PERMISSION_KINDS.iter().find(|k| policy.deny.iter().any(|d| d == *k) && asked(k)) {
            return Some(format!("it asks for {kind}, which {whose} policy denies"));
        }
        if !policy.allow_registries.is_empty() && !policy.allow_registries.iter().any(|r| r == registry) {
            return Some(format!("registry {registry} is not among those {whose} policy allows"));
        }
    }
    None
}

/// The permission kinds `permissions` asks for.
pub fn asked_kinds(permissions: &protocol::agents::Permissions) -> Vec<&'static str> {
    PERMISSION_KINDS
        .iter()
        .copied()
        .filter(|kind| match *kind {
            "fs_read" => !permissions.fs_read.is_empty(),
            "fs_write" => !permissions.fs_write.is_empty(),
            "net" => !permissions.net.is_empty(),
            "commands" => !permissions.commands.is_empty(),
            "mcp_tools" => !permissions.mcp_tools.is_empty(),
            _ => false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_organisation_may_require_a_full_sandbox_and_fails_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("policy.toml");
        assert!(!sandbox_must_be_full_with(&file), "no policy: the user's [sandbox] decides");
        std::fs::write(&file, "deny = [\"net\"]\n").expect("write");
        assert!(!sandbox_must_be_full_with(&file));
        std::fs::write(&file, "require_full_sandbox = true\n").expect("write");
        assert!(sandbox_must_be_full_with(&file));
        std::fs::write(&file, "require_full_sandbox = \"yes\"\n").expect("write");
        assert!(sandbox_must_be_full_with(&file), "a policy that does not parse requires it");
    }

    #[test]
    fn the_organisation_policy_wins_and_fails_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("policy.toml");
        let asks = protocol::agents::Permissions { net: vec!["api.github.com".into()], ..Default::default() };
        let user = MarketPolicy::default();
        assert_eq!(refusal_with(&user, &file, "acme", &asks), None, "no policy: the user decides");
        std::fs::write(&file, "deny = [\"net\"]\n").expect("write");
        assert!(refusal_with(&user, &file, "acme", &asks).is_some_and(|r| r.contains("organisation's policy denies")));
        std::fs::write(&file, "allow_registries = [\"internal\"]\n").expect("write");
        assert!(refusal_with(&user, &file, "acme", &asks).is_some_and(|r| r.contains("not among")));
        assert_eq!(refusal_with(&user, &file, "internal", &asks), None);
        std::fs::write(&file, "deny = \"everything\"\n").expect("write");
        assert!(refusal_with(&user, &file, "internal", &asks).is_some_and(|r| r.contains("cannot be read")));
        std::fs::remove_file(&file).expect("rm");
        let strict = MarketPolicy { deny: vec!["net".into()], ..Default::default() };
        assert!(refusal_with(&strict, &file, "acme", &asks).is_some_and(|r| r.contains("your policy denies")));
    }
}
