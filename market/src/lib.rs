//! The agent marketplace's formats and its publisher side, shared by the
//! daemon (`paired market …`, installs) and the team hub (an organisation's
//! private registry): package archives, what a registry signs of each package
//! ([`PackageMeta`]), certification, the TUF registry, licences for paid agents.
//!
//! A registry is a TUF repository: `metadata/` (root, targets, snapshot,
//! timestamp, each signed and expiring) and `targets/` (the packages, named by
//! their hash). Each package version is one target, `<name>-<version>.tgz`,
//! whose signed custom metadata ([`PackageMeta`]) says what the package is and
//! what it may do; the archive's own `agent.toml` must agree with it, so a
//! signed artifact of one package cannot be passed off as another.
//!
//! | module | what |
//! |---|---|
//! | [`archive`] | reproducible packing, defensive unpacking |
//! | [`registry`] | the publisher side: init, check, pack, publish, yank, curate, re-sign |
//! | [`licence`] | licences for paid agents: issued by a registry, verified offline |

pub mod archive;
pub mod fs;
pub mod licence;
pub mod registry;

use serde::{Deserialize, Serialize};

/// The signed description of one package version (a target's custom
/// metadata, under the key `paired`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PackageMeta {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialization: Option<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub permissions: protocol::agents::Permissions,
    #[serde(default)]
    pub pricing: protocol::agents::Pricing,
    #[serde(default)]
    pub publisher: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<protocol::agents::Certification>,
    #[serde(default)]
    pub curated: bool,
    /// Ratings as whole stars summed (canonical JSON, which TUF signs, has no
    /// floating point).
    #[serde(default)]
    pub rating: SignedRating,
    #[serde(default)]
    pub downloads: u64,
    #[serde(default)]
    pub yanked: bool,
    /// Semver requirement on the daemon.
    #[serde(default = "any_daemon")]
    pub daemon: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SignedRating {
    pub stars: u64,
    pub count: u64,
}

impl SignedRating {
    pub fn shown(self) -> protocol::market::Rating {
        let average = if self.count == 0 { 0.0 } else { self.stars as f64 / self.count as f64 };
        protocol::market::Rating { average, count: self.count }
    }
}

fn any_daemon() -> String {
    "*".to_owned()
}

/// The key of [`PackageMeta`] in a target's custom metadata.
pub const META_KEY: &str = "paired";

pub fn target_name(name: &str, version: &str) -> String {
    format!("{name}-{version}.tgz")
}

/// Names the marketplace refuses: the built-in team, their 1.0 aliases, and
/// words that would mislead.
fn reserved() -> impl Iterator<Item = &'static str> {
    agents::BUILTIN_AGENTS
        .iter()
        .flat_map(|b| [b.id, b.alias])
        .chain(["paired", "core", "builtin", "official", "system", "admin", "team"])
}

/// A package name: ASCII letters, digits and `-`, starting with a letter,
/// 2–64 long, lower case. `_` is read as `-`. Refused: reserved names and
/// names that look like one (`sherl0ck`).
pub fn check_name(name: &str) -> Result<String, String> {
    let normal = name.to_ascii_lowercase().replace('_', "-");
    let ok = (2..=64).contains(&normal.len())
        && normal.starts_with(|c: char| c.is_ascii_lowercase())
        && normal.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(format!(
            "{name:?} is not a package name: 2–64 ASCII letters, digits and `-`, starting with a letter"
        ));
    }
    if let Some(like) = reserved().find(|r| skeleton(r) == skeleton(&normal)) {
        return Err(format!("{name:?} is reserved or looks like {like:?}, a name PAIRED keeps"));
    }
    Ok(normal)
}

/// What a name looks like, for look-alike checks: digits and letters that
/// pass for one another folded together.
pub fn skeleton(name: &str) -> String {
    name.to_ascii_lowercase()
        .replace(['_', '.'], "-")
        .replace("rn", "m")
        .replace("vv", "w")
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | 'i' | '|' => 'l',
            '3' => 'e',
            '5' => 's',
            '4' => 'a',
            '7' => 't',
            '8' => 'b',
            _ => c,
        })
        .filter(|c| *c != '-')
        .collect()
}

/// Text from a package, safe to show in a terminal or a dialog: control
/// characters and bidirectional overrides (which could redraw or reorder what
/// the user reads) are escaped.
pub fn shown(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() || is_bidi_control(c) { c.escape_unicode().to_string() } else { c.to_string() })
        .collect()
}

pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The permissions of an agent, one line each, as the user is asked them.
pub fn permission_lines(p: &protocol::agents::Permissions) -> Vec<String> {
    let mut lines = Vec::new();
    let mut add = |what: &str, items: &[String]| {
        if !items.is_empty() {
            lines.push(shown(&format!("{what}: {}", items.join(", "))));
        }
    };
    add("read files", &p.fs_read);
    add("propose edits to files", &p.fs_write);
    add("reach hosts", &p.net);
    add(
        "run these commands in PAIRED's sandbox (they read the project; no network, no writes outside a scratch folder)",
        &p.commands,
    );
    add("use MCP tools", &p.mcp_tools);
    lines
}

/// Whether this PAIRED (the workspace's version: the daemon and the hub are
/// released together) satisfies a package's requirement.
pub fn compatible(requirement: &str) -> bool {
    let ours = semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is semver");
    match semver::VersionReq::parse(requirement) {
        Ok(req) => req.matches(&ours) || req.matches(&semver::Version::new(ours.major, ours.minor, ours.patch)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_not_look_alikes_of_the_team() {
        assert_eq!(check_name("Rust_Auditor").as_deref(), Ok("rust-auditor"));
        for bad in ["a", "9lives", "ünïcode", "has space", "sherlock", "Sherl0ck", "sherIock", "qa", "paired", "edlson"]
        {
            assert!(check_name(bad).is_err(), "{bad} should be refused");
        }
        assert!(check_name("sherlock-plus").is_ok());
    }

    #[test]
    fn requirements_match_this_daemon() {
        assert!(compatible("*"));
        assert!(compatible(">=2.0.0-alpha"));
        assert!(compatible("^2"));
        assert!(!compatible(">=3"));
        assert!(!compatible("not semver"));
    }

    #[test]
    fn permissions_are_said_plainly() {
        let p = protocol::agents::Permissions {
            fs_read: vec!["**".into()],
            commands: vec!["cargo".into()],
            ..Default::default()
        };
        assert_eq!(
            permission_lines(&p),
            [
                "read files: **",
                "run these commands in PAIRED's sandbox (they read the project; no network, no writes outside a scratch folder): cargo"
            ]
        );
    }
}
