//! The rules of a policy and how an action is decided: every source (the
//! organisation, each of the member's teams, the user, the project) may deny
//! and may restrict to an allow list; a deny anywhere wins, then an allow list
//! anywhere that does not name the thing refuses it. Sources are listed from
//! the widest (the organisation) to the narrowest (the project), and the first
//! that refuses is the one named.

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

/// One source's rules. Every part is optional: a policy says only what it cares about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Agents that may run (ids: `sherlock`, `acme/linter`).
    pub agents: List,
    /// Marketplace publishers whose agents may be installed.
    pub publishers: List,
    /// Registries agents may be installed from (by name).
    pub registries: List,
    /// The least certification an installed agent must have: `none`,
    /// `validated` (manifest and permissions reviewed), `tested` (its own test
    /// cases ran and passed too) — the marketplace's signed levels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_certification: Option<String>,
    /// Permission kinds never granted to an agent: `fs_read`, `fs_write`,
    /// `net`, `commands`, `mcp_tools`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny_grants: Vec<String>,
    /// Model providers (by kind or name) and models (`provider/model`).
    pub providers: List,
    pub models: List,
    /// MCP servers agents may use.
    pub mcp_servers: List,
    /// What may leave this machine for a model.
    pub egress: Egress,
}

/// An allow list (none: anything) and a deny list, of glob patterns (`*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct List {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Egress {
    /// Files (globs relative to the project, `**` for any folders) never sent
    /// to a model that does not run on this machine.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny_paths: Vec<String>,
    /// Secrets are redacted even for models on this machine.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force_redaction: bool,
    /// Only models on this machine may be sent code.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub local_models_only: bool,
    /// Files that may leave this machine only for some providers:
    /// `[{paths = ["payments/**"], providers = ["azure"]}]` (providers by
    /// configured name or kind). Models on this machine are not leaving it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

/// Where some files may go: only to these providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub paths: Vec<String>,
    pub providers: Vec<String>,
}

impl Rules {
    /// Problems a person should fix before the rules are saved: bad globs,
    /// unknown permission kinds and certification levels.
    pub fn check(&self) -> Result<(), String> {
        let lists = [
            ("agents", &self.agents),
            ("publishers", &self.publishers),
            ("registries", &self.registries),
            ("providers", &self.providers),
            ("models", &self.models),
            ("mcp_servers", &self.mcp_servers),
        ];
        for (name, list) in lists {
            for pattern in list.allow.iter().flatten().chain(&list.deny) {
                glob(pattern).map_err(|err| format!("{name}: {pattern:?} is not a valid pattern: {err}"))?;
            }
        }
        for pattern in &self.egress.deny_paths {
            glob(pattern).map_err(|err| format!("egress.deny_paths: {pattern:?} is not a valid pattern: {err}"))?;
        }
        for (n, route) in self.egress.routes.iter().enumerate() {
            if route.paths.is_empty() {
                return Err(format!("egress.routes[{n}]: name the paths it routes"));
            }
            for pattern in route.paths.iter().chain(&route.providers) {
                glob(pattern)
                    .map_err(|err| format!("egress.routes[{n}]: {pattern:?} is not a valid pattern: {err}"))?;
            }
        }
        for kind in &self.deny_grants {
            if !GRANTS.contains(&kind.as_str()) {
                return Err(format!("deny_grants: {kind:?} is not one of {}", GRANTS.join(", ")));
            }
        }
        if let Some(level) = &self.min_certification
            && !CERTIFICATIONS.contains(&level.as_str())
        {
            return Err(format!("min_certification: {level:?} is not one of {}", CERTIFICATIONS.join(", ")));
        }
        Ok(())
    }
}

pub const GRANTS: &[&str] = &["fs_read", "fs_write", "net", "commands", "mcp_tools"];
/// Certification levels, least first.
pub const CERTIFICATIONS: &[&str] = &["none", "validated", "tested"];

/// Something a policy decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run an agent.
    Run { agent: String },
    /// Ask a model: the provider's name and kind, and the model.
    Model { provider: String, kind: String, model: String, local: bool },
    /// Send a file (relative to its project) to a model: the provider's name
    /// and kind (empty when not known), and whether it runs on this machine.
    Send { path: String, local: bool, provider: String, kind: String },
    /// Install an agent.
    Install { publisher: String, registry: String, certification: String },
    /// Grant an agent a permission kind.
    Grant { kind: String },
    /// Let an agent use an MCP server.
    Mcp { server: String },
}

impl Action {
    /// Reads `run:AGENT`, `model:PROVIDER/MODEL`, `send:PATH[@PROVIDER]`,
    /// `install:PUBLISHER@REGISTRY`, `grant:KIND`, `mcp:SERVER` (what
    /// `paired policy explain` takes).
    pub fn parse(text: &str) -> Result<Action, String> {
        let (verb, what) = text.split_once(':').ok_or_else(|| format!("{text:?}: say what, e.g. run:sherlock"))?;
        let what = what.trim().to_owned();
        Ok(match verb.trim() {
            "run" => Action::Run { agent: what },
            "model" => {
                let (provider, model) = what.split_once('/').unwrap_or((&what, ""));
                Action::Model { provider: provider.into(), kind: provider.into(), model: model.into(), local: false }
            }
            "send" => {
                let (path, provider) = what.rsplit_once('@').unwrap_or((&what, ""));
                Action::Send { path: path.into(), local: false, provider: provider.into(), kind: provider.into() }
            }
            "install" => {
                let (publisher, registry) = what.split_once('@').unwrap_or((&what, "default"));
                Action::Install { publisher: publisher.into(), registry: registry.into(), certification: "none".into() }
            }
            "grant" => Action::Grant { kind: what },
            "mcp" => Action::Mcp { server: what },
            other => {
                return Err(format!("{other:?} is not an action: run, model, send, install, grant or mcp"));
            }
        })
    }
}

/// What decided an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The source whose rule decided (`org`, `team:core`, `user`, `project`);
    /// none when no rule speaks of the action.
    pub source: Option<String>,
    /// The rule, in words.
    pub rule: String,
}

impl Decision {
    /// The rule and who set it, in words: `models.deny: … (set by team:core)`.
    pub fn because(&self) -> String {
        match &self.source {
            Some(source) => format!("{} (set by {source})", self.rule),
            None => self.rule.clone(),
        }
    }

    /// The level the deciding rule was set at: `org`, `team`, `member`, …
    pub fn level(&self) -> Option<&str> {
        self.source.as_deref().map(|s| s.split(':').next().unwrap_or(s))
    }
}

/// Decides `action` under `sources` (widest first).
pub fn decide(sources: &[(String, Rules)], action: &Action) -> Decision {
    // Denies first, from every source: a deny anywhere wins.
    for (source, rules) in sources {
        if let Some(rule) = denies(rules, action) {
            return Decision { allowed: false, source: Some(source.clone()), rule };
        }
    }
    for (source, rules) in sources {
        if let Some(rule) = not_allowed(rules, action) {
            return Decision { allowed: false, source: Some(source.clone()), rule };
        }
    }
    Decision { allowed: true, source: None, rule: "no rule restricts it".into() }
}

fn denies(rules: &Rules, action: &Action) -> Option<String> {
    let hit = |list: &List, name: &str, field: &str| {
        list.deny.iter().find(|p| matches(p, name)).map(|p| format!("{field}.deny has {p:?}"))
    };
    match action {
        Action::Run { agent } => hit(&rules.agents, agent, "agents"),
        Action::Model { provider, kind, model, local } => hit(&rules.providers, provider, "providers")
            .or_else(|| hit(&rules.providers, kind, "providers"))
            .or_else(|| hit(&rules.models, &format!("{provider}/{model}"), "models"))
            .or_else(|| hit(&rules.models, model, "models"))
            .or_else(|| {
                (rules.egress.local_models_only && !local)
                    .then(|| "egress.local_models_only: only models on this machine".to_owned())
            }),
        Action::Send { path, local, provider, kind } => (!local)
            .then(|| {
                rules
                    .egress
                    .deny_paths
                    .iter()
                    .find(|p| matches(p, path))
                    .map(|p| format!("egress.deny_paths has {p:?}"))
            })
            .flatten()
            .or_else(|| {
                let routed = |r: &&Route| r.paths.iter().any(|p| matches(p, path));
                let admits = |r: &Route| r.providers.iter().any(|p| matches(p, provider) || matches(p, kind));
                (!local)
                    .then(|| rules.egress.routes.iter().filter(routed).find(|r| !admits(r)))
                    .flatten()
                    .map(|r| format!("egress.routes: {path} leaves this machine only for {}", r.providers.join(", ")))
            })
            .or_else(|| {
                (rules.egress.local_models_only && !local)
                    .then(|| "egress.local_models_only: only models on this machine".to_owned())
            }),
        Action::Install { publisher, registry, certification } => hit(&rules.publishers, publisher, "publishers")
            .or_else(|| hit(&rules.registries, registry, "registries"))
            .or_else(|| {
                let least = rules.min_certification.as_deref()?;
                (rank(certification) < rank(least))
                    .then(|| format!("min_certification is {least:?}; this agent is {certification:?}"))
            }),
        Action::Grant { kind } => {
            rules.deny_grants.iter().find(|k| *k == kind).map(|k| format!("deny_grants has {k:?}"))
        }
        Action::Mcp { server } => hit(&rules.mcp_servers, server, "mcp_servers"),
    }
}

fn not_allowed(rules: &Rules, action: &Action) -> Option<String> {
    let outside = |list: &List, names: &[&str], field: &str| {
        let allow = list.allow.as_ref()?;
        (!names.iter().any(|name| allow.iter().any(|p| matches(p, name))))
            .then(|| format!("{field}.allow ({}) does not name it", allow.join(", ")))
    };
    match action {
        Action::Run { agent } => outside(&rules.agents, &[agent], "agents"),
        Action::Model { provider, kind, model, .. } => outside(&rules.providers, &[provider, kind], "providers")
            .or_else(|| outside(&rules.models, &[&format!("{provider}/{model}"), model], "models")),
        Action::Install { publisher, registry, .. } => outside(&rules.publishers, &[publisher], "publishers")
            .or_else(|| outside(&rules.registries, &[registry], "registries")),
        Action::Mcp { server } => outside(&rules.mcp_servers, &[server], "mcp_servers"),
        Action::Send { .. } | Action::Grant { .. } => None,
    }
}

fn rank(level: &str) -> usize {
    CERTIFICATIONS.iter().position(|l| *l == level).unwrap_or(0)
}

fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern).literal_separator(false).case_insensitive(false).build()?.compile_matcher())
}

/// Whether `name` matches `pattern` (a glob; an invalid one matches nothing,
/// and `Rules::check` refuses it before it is saved).
fn matches(pattern: &str, name: &str) -> bool {
    glob(pattern).is_ok_and(|g| g.is_match(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: serde_json::Value) -> Rules {
        serde_json::from_value(json).expect("rules")
    }

    #[test]
    fn a_deny_anywhere_wins_over_an_allow_anywhere() {
        let sources = vec![
            ("org".to_owned(), rules(serde_json::json!({"agents": {"allow": ["*"]}}))),
            ("team:core".to_owned(), rules(serde_json::json!({"agents": {"deny": ["vince"]}}))),
            ("project".to_owned(), rules(serde_json::json!({"agents": {"allow": ["vince", "sherlock"]}}))),
        ];
        let vince = decide(&sources, &Action::Run { agent: "vince".into() });
        assert_eq!((vince.allowed, vince.source.as_deref()), (false, Some("team:core")));
        assert!(vince.rule.contains("agents.deny"));
        let maya = decide(&sources, &Action::Run { agent: "maya".into() });
        assert_eq!((maya.allowed, maya.source.as_deref()), (false, Some("project")), "{maya:?}");
        assert!(decide(&sources, &Action::Run { agent: "sherlock".into() }).allowed);
    }

    #[test]
    fn models_paths_and_installs() {
        let sources = vec![(
            "org".to_owned(),
            rules(serde_json::json!({
                "providers": {"allow": ["ollama", "azure"]},
                "models": {"deny": ["*/gpt-4o"]},
                "egress": {"deny_paths": ["**/secrets/**", "*.pem"]},
                "publishers": {"deny": ["shady"]},
                "min_certification": "validated",
                "deny_grants": ["net"],
            })),
        )];
        let model = |provider: &str, kind: &str, model: &str| Action::Model {
            provider: provider.into(),
            kind: kind.into(),
            model: model.into(),
            local: false,
        };
        assert!(decide(&sources, &model("work", "azure", "gpt-4.1")).allowed, "by its kind");
        assert!(!decide(&sources, &model("work", "azure", "gpt-4o")).allowed);
        assert!(!decide(&sources, &model("openai", "openai", "o3")).allowed);
        let send = |path: &str, local: bool| Action::Send {
            path: path.into(),
            local,
            provider: "p".into(),
            kind: "openai".into(),
        };
        assert!(!decide(&sources, &send("config/secrets/prod.env", false)).allowed);
        assert!(!decide(&sources, &send("tls/server.pem", false)).allowed);
        assert!(decide(&sources, &send("tls/server.pem", true)).allowed, "a local model may read it");
        assert!(decide(&sources, &send("src/lib.rs", false)).allowed);
        let install = |publisher: &str, certification: &str| Action::Install {
            publisher: publisher.into(),
            registry: "default".into(),
            certification: certification.into(),
        };
        assert!(!decide(&sources, &install("shady", "tested")).allowed);
        assert!(!decide(&sources, &install("acme", "none")).allowed);
        assert!(!decide(&sources, &install("acme", "failed")).allowed, "a failed certification ranks lowest");
        assert!(decide(&sources, &install("acme", "validated")).allowed);
        assert!(!decide(&sources, &Action::Grant { kind: "net".into() }).allowed);
    }

    #[test]
    fn routed_files_leave_the_machine_only_for_their_providers() {
        let sources = vec![(
            "org".to_owned(),
            rules(
                serde_json::json!({"egress": {"routes": [{"paths": ["payments/**"], "providers": ["azure", "eu-*"]}]}}),
            ),
        )];
        let send = |path: &str, provider: &str, kind: &str, local: bool| Action::Send {
            path: path.into(),
            local,
            provider: provider.into(),
            kind: kind.into(),
        };
        assert!(decide(&sources, &send("payments/card.rs", "work", "azure", false)).allowed, "by its kind");
        assert!(decide(&sources, &send("payments/card.rs", "eu-west", "openai", false)).allowed, "by its name");
        let refused = decide(&sources, &send("payments/card.rs", "cloud", "openai", false));
        assert!(!refused.allowed);
        assert_eq!(refused.rule, "egress.routes: payments/card.rs leaves this machine only for azure, eu-*");
        assert!(decide(&sources, &send("payments/card.rs", "ollama", "openai", true)).allowed, "a local model");
        assert!(decide(&sources, &send("web/app.ts", "cloud", "openai", false)).allowed, "not routed");
        assert_eq!(Action::parse("send:payments/a.rs@cloud"), Ok(send("payments/a.rs", "cloud", "cloud", false)));
        let bad = rules(serde_json::json!({"egress": {"routes": [{"paths": [], "providers": ["azure"]}]}}));
        assert!(bad.check().is_err_and(|e| e.contains("egress.routes[0]")));
    }

    #[test]
    fn bad_rules_are_refused_with_the_field() {
        let bad = rules(serde_json::json!({"agents": {"deny": ["[oops"]}}));
        assert!(bad.check().is_err_and(|e| e.starts_with("agents:")));
        let bad = rules(serde_json::json!({"deny_grants": ["root"]}));
        assert!(bad.check().is_err_and(|e| e.contains("deny_grants")));
        assert!(serde_json::from_value::<Rules>(serde_json::json!({"agent": {}})).is_err(), "unknown fields");
        assert_eq!(Action::parse("model:openai/gpt-4o").ok().map(|a| matches!(a, Action::Model { .. })), Some(true));
        assert!(Action::parse("fly:away").is_err());
    }
}
