//! What an agent may read: its manifest's `fs_read` globs, narrowed by every
//! agent that asked it for a report. Pure: paths are workspace-relative,
//! `/`-separated strings; the daemon resolves links and ignore rules first.

use protocol::agents::AgentManifest;

/// `*` matches within a path segment, `**` across segments.
pub fn glob_matches(pattern: &str, path: &str) -> bool {
    fn matches(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) if p.get(1) == Some(&b'*') => {
                // `**` spans whole segments: what follows starts a segment.
                let rest = p[2..].strip_prefix(b"/").unwrap_or(&p[2..]);
                if rest.is_empty() {
                    return true;
                }
                (0..=s.len()).filter(|i| *i == 0 || s[i - 1] == b'/').any(|i| matches(rest, &s[i..]))
            }
            (Some(b'*'), _) => {
                (0..=s.len()).take_while(|i| *i == 0 || s[i - 1] != b'/').any(|i| matches(&p[1..], &s[i..]))
            }
            (Some(a), Some(b)) if a == b => matches(&p[1..], &s[1..]),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), path.as_bytes())
}

/// Whether `path` is plain and workspace-relative: no leading `/`, no empty,
/// `.` or `..` segment. Globs are matched against such paths only (`**`
/// matches `../x` as a string).
pub fn is_plain(path: &str) -> bool {
    !path.is_empty() && !path.starts_with('/') && path.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The files a run may read: a path must be allowed by the `fs_read` grants
/// of the agent that runs and of every agent that asked it (the intersection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Each agent's display name and `fs_read` globs, the one that runs first.
    grants: Vec<(String, Vec<String>)>,
}

impl Reach {
    /// What `manifest`'s agent may read on its own.
    pub fn of(manifest: &AgentManifest) -> Reach {
        Reach { grants: vec![(manifest.metadata.name.clone(), manifest.permissions.fs_read.clone())] }
    }

    /// This reach, also limited to what `manifest`'s agent may read: the
    /// reach of an agent asked by this one.
    pub fn narrowed_to(&self, manifest: &AgentManifest) -> Reach {
        let mut grants = vec![(manifest.metadata.name.clone(), manifest.permissions.fs_read.clone())];
        grants.extend(self.grants.iter().cloned());
        Reach { grants }
    }

    /// Whether every grant list allows `path` (plain, workspace-relative).
    pub fn allows(&self, path: &str) -> bool {
        self.refusal(path).is_none()
    }

    /// Why `path` may not be read, naming the agent whose grants leave it
    /// out; `None` when it may be.
    pub fn refusal(&self, path: &str) -> Option<String> {
        if !is_plain(path) {
            return Some(format!("{path:?} is not a plain workspace-relative path"));
        }
        let (name, globs) = self.grants.iter().find(|(_, globs)| !globs.iter().any(|g| glob_matches(g, path)))?;
        Some(format!("{name} may not read {path}: its fs_read grants are [{}]", globs.join(", ")))
    }

    /// Whether every file of a workspace is within reach (every list holds `**`).
    pub fn is_everything(&self) -> bool {
        self.grants.iter().all(|(_, globs)| globs.iter().any(|g| g == "**"))
    }

    /// The grants that keep this reach from being everything, for messages:
    /// `Ferris: [src/**]`.
    pub fn describe(&self) -> String {
        let limits: Vec<String> = self
            .grants
            .iter()
            .filter(|(_, globs)| !globs.iter().any(|g| g == "**"))
            .map(|(name, globs)| format!("{name}: [{}]", globs.join(", ")))
            .collect();
        if limits.is_empty() { "every file".to_owned() } else { limits.join("; ") }
    }
}

#[cfg(test)]
mod tests {
    use protocol::agents::AgentManifest;

    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches("src/**", "src/a/b.rs"));
        assert!(glob_matches("**", "any/where.txt"));
        assert!(glob_matches("src/*.rs", "src/lib.rs"));
        assert!(!glob_matches("src/*.rs", "src/a/lib.rs"));
        assert!(!glob_matches("src/**", "secrets/.env"));
        assert!(glob_matches("**/*.py", "app/models.py"));
        assert!(!glob_matches("**/public/**", "notpublic/secret.txt"));
        assert!(!glob_matches("src/**/mod.rs", "src/a/evilmod.rs"));
        assert!(glob_matches("src/**/mod.rs", "src/a/mod.rs"));
    }

    fn manifest(name: &str, fs_read: &[&str]) -> AgentManifest {
        let mut manifest: AgentManifest = toml::from_str(&format!(
            "id = \"{}\"\n[metadata]\nname = \"{name}\"\nversion = \"1.0.0\"\nrole = \"dev\"\n",
            name.to_lowercase()
        ))
        .expect("manifest");
        manifest.permissions.fs_read = fs_read.iter().map(|g| (*g).to_owned()).collect();
        manifest
    }

    #[test]
    fn a_reach_is_the_intersection_of_the_grants() {
        let ferris = Reach::of(&manifest("Ferris", &["src/**"]));
        assert!(ferris.allows("src/lib.rs"));
        assert!(!ferris.allows("other/private.py"));
        assert!(!ferris.is_everything());
        let asked = ferris.narrowed_to(&manifest("Vince", &["**"]));
        assert!(asked.allows("src/lib.rs"));
        assert_eq!(
            asked.refusal("other/private.py").as_deref(),
            Some("Ferris may not read other/private.py: its fs_read grants are [src/**]")
        );
        let both = asked.narrowed_to(&manifest("Docs", &["**/*.md", "src/**"]));
        assert!(both.allows("src/lib.rs"));
        assert!(both.allows("src/a/readme.md"));
        assert!(!both.allows("docs/readme.md"));
        assert_eq!(both.describe(), "Docs: [**/*.md, src/**]; Ferris: [src/**]");
        let everyone = Reach::of(&manifest("Vince", &["**"]));
        assert!(everyone.is_everything());
        assert_eq!(everyone.describe(), "every file");
        // `**` matches any string: paths that are not plain are never within reach.
        for path in ["../outside.py", "/etc/passwd", "src/../secret/key.py", "src//x", "./src/a.rs", ""] {
            assert!(!everyone.allows(path), "{path}");
        }
    }
}
