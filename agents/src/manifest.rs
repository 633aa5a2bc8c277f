//! Agent manifests: 2.0 TOML files ([`parse_toml`]) and PAIRED 1.0 YAML agent
//! files ([`parse_v1_yaml`]), both into [`AgentManifest`], with errors that name
//! the file, the field and the reason.

use std::{collections::BTreeMap, fmt};

use protocol::agents::{AgentManifest, AgentMetadata, Permissions, Personality, Pricing, PricingKind};
use regex::Regex;

/// The tools an agent may name in its manifest.
pub const TOOL_CATALOG: [(&str, &str); 7] = [
    ("read_file", "read a workspace file (within the agent's fs_read grants)"),
    ("search_symbols", "search the workspace index for symbols"),
    ("build_context", "build a context bundle for a position"),
    ("propose_edit", "propose an edit, applied only if the user accepts (within fs_write grants)"),
    ("publish_diagnostics", "report findings as editor diagnostics"),
    ("ask_agent", "ask another agent of the team"),
    ("run_command", "run a granted command (permissions.commands) in PAIRED's sandbox"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub file: String,
    /// Dotted path of the field, e.g. `metadata.version`.
    pub field: String,
    pub reason: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}`: {}", self.file, self.field, self.reason)
    }
}

impl std::error::Error for ManifestError {}

fn error(file: &str, field: &str, reason: impl Into<String>) -> ManifestError {
    ManifestError { file: file.to_owned(), field: field.to_owned(), reason: reason.into() }
}

fn pattern(source: &str) -> Regex {
    // Constant patterns, exercised by the tests below.
    Regex::new(source).unwrap_or_else(|err| panic!("manifest pattern {source}: {err}"))
}

/// Parses and validates a 2.0 manifest.
pub fn parse_toml(file: &str, text: &str) -> Result<AgentManifest, ManifestError> {
    let manifest: AgentManifest = toml::from_str(text).map_err(|err| {
        let at = err.span().map(|span| span.start.min(text.len()));
        let message = err.message().trim().to_owned();
        let field = field_of(text, at, &message).unwrap_or_else(|| "(file)".to_owned());
        let reason = match at {
            Some(at) => format!("{message} (line {})", text[..at].matches('\n').count() + 1),
            None => message,
        };
        error(file, &field, reason)
    })?;
    validate(file, &manifest)?;
    Ok(manifest)
}

/// The dotted key an error is about: named in the message for unknown and
/// missing fields, else the key on the error's line under the table above it.
fn field_of(text: &str, at: Option<usize>, message: &str) -> Option<String> {
    let table = |at: usize| -> Option<String> {
        text[..at].lines().rev().find_map(|l| {
            let l = l.trim();
            (l.starts_with('[') && !l.starts_with("[[")).then(|| l.trim_matches(['[', ']']).trim().to_owned())
        })
    };
    let qualify = |key: &str, at: Option<usize>| match at.and_then(table) {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_owned(),
    };
    if message.starts_with("unknown field") || message.starts_with("missing field") {
        let start = message.find('`')? + 1;
        let end = start + message[start..].find('`')?;
        return Some(qualify(&message[start..end], at));
    }
    let at = at?;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let (key, _) = text[line_start..].split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| qualify(key, Some(line_start)))
}

/// Rules a manifest must follow beyond its shape.
pub fn validate(file: &str, manifest: &AgentManifest) -> Result<(), ManifestError> {
    if !pattern(r"^[a-z][a-z0-9_-]{0,63}$").is_match(&manifest.id) {
        return Err(error(
            file,
            "id",
            format!("{:?} must be 1-64 lower-case letters, digits, `_` or `-`, starting with a letter", manifest.id),
        ));
    }
    let meta = &manifest.metadata;
    if meta.name.trim().is_empty() {
        return Err(error(file, "metadata.name", "must not be empty"));
    }
    if meta.role.trim().is_empty() {
        return Err(error(file, "metadata.role", "must not be empty"));
    }
    if !pattern(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$").is_match(&meta.version) {
        return Err(error(file, "metadata.version", format!("{:?} is not a semantic version (1.2.3)", meta.version)));
    }
    if let Some(homepage) = &meta.homepage
        && !(homepage.starts_with("https://") || homepage.starts_with("http://"))
    {
        return Err(error(file, "metadata.homepage", "must be an http(s) URL"));
    }
    for (i, tool) in manifest.tools.iter().enumerate() {
        if !TOOL_CATALOG.iter().any(|(name, _)| name == tool) {
            let known: Vec<&str> = TOOL_CATALOG.iter().map(|(n, _)| *n).collect();
            return Err(error(
                file,
                &format!("tools[{i}]"),
                format!("unknown tool {tool:?}; the catalog has {}", known.join(", ")),
            ));
        }
    }
    validate_permissions(file, &manifest.permissions)?;
    if manifest.pricing.kind == PricingKind::Paid && manifest.pricing.price_cents.is_none() {
        return Err(error(file, "pricing.price_cents", "a paid agent states its price"));
    }
    Ok(())
}

fn validate_permissions(file: &str, permissions: &Permissions) -> Result<(), ManifestError> {
    for (key, paths) in [("fs_read", &permissions.fs_read), ("fs_write", &permissions.fs_write)] {
        for (i, path) in paths.iter().enumerate() {
            let field = format!("permissions.{key}[{i}]");
            let escapes = path.split(['/', '\\']).any(|segment| segment == "..");
            if path.is_empty() || path.starts_with('/') || path.starts_with('~') || path.contains(':') || escapes {
                return Err(error(
                    file,
                    &field,
                    format!("{path:?} must be a path or glob inside the workspace (relative, no `..`)"),
                ));
            }
        }
    }
    let host =
        pattern(r"^(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$");
    for (i, net) in permissions.net.iter().enumerate() {
        if !host.is_match(net) {
            return Err(error(
                file,
                &format!("permissions.net[{i}]"),
                format!("{net:?} must be a host name, optionally `*.` for subdomains and `:port`"),
            ));
        }
    }
    for (i, command) in permissions.commands.iter().enumerate() {
        if command.trim().is_empty() {
            return Err(error(file, &format!("permissions.commands[{i}]"), "must not be empty"));
        }
    }
    for (i, tool) in permissions.mcp_tools.iter().enumerate() {
        if tool.split_once('/').is_none_or(|(server, name)| server.is_empty() || name.is_empty()) {
            return Err(error(file, &format!("permissions.mcp_tools[{i}]"), format!("{tool:?} must be `server/tool`")));
        }
    }
    Ok(())
}

/// A PAIRED 1.0 agent file (YAML), as 1.0 read it.
#[derive(Debug, serde::Deserialize)]
struct V1File {
    agent: Option<V1Agent>,
    #[serde(default)]
    capabilities: Vec<serde_json::Value>,
    #[serde(default)]
    personality: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, serde::Deserialize)]
struct V1Agent {
    id: Option<serde_json::Value>,
    name: Option<serde_json::Value>,
    role: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
    emoji: Option<serde_json::Value>,
    description: Option<serde_json::Value>,
}

fn scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Loads a 1.0 agent file unchanged as a 2.0 manifest: 1.0's required fields
/// (`agent.id` matching `^[a-z_]+$`, `agent.name`, `agent.role`, `agent.version`
/// as x.y.z) are checked as 1.0 checked them; `personality` becomes the
/// persona's traits, `capabilities` carry over. 1.0 agents asked for no
/// permissions and get none.
pub fn parse_v1_yaml(file: &str, text: &str) -> Result<AgentManifest, ManifestError> {
    let parsed: V1File = serde_saphyr::from_str(text).map_err(|err| {
        let message = err.to_string();
        let first = message.lines().next().unwrap_or("invalid YAML").to_owned();
        error(file, "(file)", format!("not a PAIRED 1.0 agent file: {first}"))
    })?;
    let agent = parsed.agent.ok_or_else(|| error(file, "agent", "missing (1.0 requires an `agent:` section)"))?;
    let required = |value: &Option<serde_json::Value>, field: &str| -> Result<String, ManifestError> {
        match value.as_ref().and_then(scalar) {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(_) => Err(error(file, field, "must not be empty")),
            None if value.is_some() => Err(error(file, field, "must be a string")),
            None => Err(error(file, field, "missing (required by PAIRED 1.0)")),
        }
    };
    let id = required(&agent.id, "agent.id")?;
    if !pattern(r"^[a-z_]+$").is_match(&id) {
        return Err(error(file, "agent.id", format!("{id:?} must match ^[a-z_]+$ (PAIRED 1.0's rule)")));
    }
    let name = required(&agent.name, "agent.name")?;
    let role = required(&agent.role, "agent.role")?;
    let version = required(&agent.version, "agent.version")?;
    if !pattern(r"^\d+\.\d+\.\d+$").is_match(&version) {
        return Err(error(file, "agent.version", format!("{version:?} must be x.y.z (PAIRED 1.0's rule)")));
    }
    let mut capabilities = Vec::new();
    for (i, capability) in parsed.capabilities.iter().enumerate() {
        match capability {
            serde_json::Value::String(s) => capabilities.push(s.clone()),
            // windsurf-style `- name: "description"` entries.
            serde_json::Value::Object(map) if map.len() == 1 => capabilities.extend(map.keys().cloned()),
            _ => return Err(error(file, &format!("capabilities[{i}]"), "must be a name")),
        }
    }
    let mut traits = BTreeMap::new();
    for (key, value) in parsed.personality.unwrap_or_default() {
        let value = scalar(&value).unwrap_or_else(|| value.to_string());
        traits.insert(key, value);
    }
    let approach = traits.get("philosophy").cloned();
    let tone = traits.get("communication").or_else(|| traits.get("communication_style")).cloned();
    let manifest = AgentManifest {
        id,
        metadata: AgentMetadata {
            name,
            version,
            role,
            domain: None,
            specialization: None,
            description: agent.description.as_ref().and_then(scalar).unwrap_or_default(),
            emoji: agent.emoji.as_ref().and_then(scalar),
            author: None,
            license: None,
            homepage: None,
        },
        capabilities,
        personality: Personality { tone, approach, system_prompt: Vec::new(), traits },
        tools: Vec::new(),
        permissions: Permissions::default(),
        pricing: Pricing::default(),
        certification: None,
        provider: None,
    };
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
id = "rust-reviewer"
capabilities = ["code_review"]
tools = ["read_file", "publish_diagnostics"]

[metadata]
name = "Ferris"
version = "0.1.0"
role = "qa"
description = "Reviews Rust."

[permissions]
fs_read = ["src/**"]
net = ["api.github.com", "*.example.com:8443"]
"#;

    #[test]
    fn a_valid_manifest_loads() {
        let manifest = parse_toml("agent.toml", VALID).expect("valid");
        assert_eq!(manifest.id, "rust-reviewer");
        assert_eq!(manifest.permissions.fs_read, ["src/**"]);
        assert!(manifest.permissions.fs_write.is_empty(), "nothing by default");
    }

    #[test]
    fn errors_name_file_field_and_reason() {
        let cases = [
            (
                VALID.replace("0.1.0", "1.0"),
                "agent.toml: `metadata.version`: \"1.0\" is not a semantic version (1.2.3)",
            ),
            (VALID.replace("\"read_file\"", "\"rm_rf\""), "agent.toml: `tools[0]`: unknown tool \"rm_rf\""),
            (VALID.replace("src/**", "../secrets"), "agent.toml: `permissions.fs_read[0]`: \"../secrets\" must be"),
            (VALID.replace("src/**", "/etc/passwd"), "agent.toml: `permissions.fs_read[0]`"),
            (VALID.replace("api.github.com", "http://x"), "agent.toml: `permissions.net[0]`"),
            (VALID.replace("rust-reviewer", "Rust Reviewer"), "agent.toml: `id`"),
            (VALID.replace("role = \"qa\"", "rol = \"qa\""), "agent.toml: `metadata.rol`: unknown field `rol`"),
            (
                VALID.replace("capabilities = [\"code_review\"]", "capabilities = 3"),
                "agent.toml: `capabilities`: invalid type",
            ),
            (
                VALID.replace("fs_read = [\"src/**\"]", "fs_read = \"src\""),
                "agent.toml: `permissions.fs_read`: invalid type",
            ),
        ];
        for (text, wanted) in cases {
            let err = parse_toml("agent.toml", &text).expect_err(wanted).to_string();
            assert!(err.starts_with(wanted), "{err}\n  wanted: {wanted}");
        }
    }

    #[test]
    fn every_shipped_v1_agent_imports() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/paired-1.0/agents");
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the 1.0 agents in tests/fixtures") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            let manifest = parse_v1_yaml(&path.display().to_string(), &text).expect("imports");
            validate("x", &manifest).expect("valid as 2.0 too");
            assert!(!manifest.capabilities.is_empty(), "{}", manifest.id);
            assert!(!manifest.personality.traits.is_empty(), "{}", manifest.id);
            ids.push(manifest.id);
        }
        ids.sort();
        assert_eq!(ids, ["alex", "edison", "leonardo", "marie", "maya", "sherlock", "vince"]);
    }

    #[test]
    fn a_community_v1_agent_and_broken_ones() {
        let ok = "agent:\n  id: rusty_reviewer\n  name: Rusty\n  role: qa\n  version: 0.2.0\ncapabilities: [code_review]\npersonality:\n  communication: blunt\n";
        let manifest = parse_v1_yaml("rusty.yml", ok).expect("community agent");
        assert_eq!(manifest.personality.tone.as_deref(), Some("blunt"));
        let cases = [
            (
                "agent:\n  id: Bad-Id\n  name: x\n  role: qa\n  version: 1.0.0\n",
                "rusty.yml: `agent.id`: \"Bad-Id\" must match",
            ),
            ("agent:\n  id: ok\n  role: qa\n  version: 1.0.0\n", "rusty.yml: `agent.name`: missing"),
            (
                "agent:\n  id: ok\n  name: x\n  role: qa\n  version: 1.0\n",
                "rusty.yml: `agent.version`: \"1.0\" must be x.y.z",
            ),
            ("capabilities: []\n", "rusty.yml: `agent`: missing"),
            ("agent: [unclosed\n", "rusty.yml: `(file)`: not a PAIRED 1.0 agent file"),
            (
                "agent:\n  id: [1, 2]\n  name: x\n  role: qa\n  version: 1.0.0\n",
                "rusty.yml: `agent.id`: must be a string",
            ),
        ];
        for (text, wanted) in cases {
            let err = parse_v1_yaml("rusty.yml", text).expect_err(wanted).to_string();
            assert!(err.starts_with(wanted), "{err}\n  wanted: {wanted}");
        }
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    /// A project can carry agent files: a YAML alias bomb must fail fast.
    #[test]
    fn alias_bombs_are_refused() {
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
            text.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        text.push_str("agent:\n  id: bomb\n  name: *i\n  role: qa\n  version: 1.0.0\n");
        let started = std::time::Instant::now();
        let result = parse_v1_yaml("bomb.yml", &text);
        let err = result.expect_err("a bomb must not load").to_string();
        assert!(err.starts_with("bomb.yml: `(file)`: not a PAIRED 1.0 agent file"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused quickly: {:?}", started.elapsed());
    }
}
