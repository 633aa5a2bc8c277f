//! Dynamic agent generation (the PAIRED 2.0 design's `AgentGenerationRequest`
//! → `GeneratedAgent`), offline and deterministic: requested capabilities are
//! mapped to the capabilities the skills know, those to catalog tools, and the
//! permissions asked are the fewest that let those tools work. A persona and
//! its prompt come from templates. Sans IO: the daemon checks, installs or
//! writes the result.

use protocol::agents::{AgentGenerationRequest, AgentManifest, AgentMetadata, Permissions, Personality};

/// Words in a requested capability → the capability the offline skills know.
const CAPABILITY_WORDS: [(&[&str], &str); 8] = [
    (&["security", "vulnerability", "vulnerabilities", "secret", "secrets", "cve"], "security_review"),
    (&["test", "tests", "testing", "coverage", "tdd", "unit"], "testing"),
    (&["review", "lint", "linting", "audit", "auditing", "quality", "bug", "bugs", "smell"], "code_review"),
    (&["doc", "docs", "documentation", "document", "comments", "docstring", "readme"], "documentation"),
    (&["architecture", "design", "dependency", "dependencies", "modules", "structure"], "architecture"),
    (&["metrics", "complexity", "analysis", "analytics", "churn", "hotspots"], "metrics"),
    (&["planning", "sprint", "tasks", "backlog", "todo", "todos", "scrum"], "task_management"),
    (&["accessibility", "a11y", "aria", "wcag", "ux"], "accessibility"),
];

/// Integrations → the hosts an agent may reach for them.
const INTEGRATION_HOSTS: [(&str, &str); 10] = [
    ("github", "api.github.com"),
    ("gitlab", "gitlab.com"),
    ("jira", "*.atlassian.net"),
    ("confluence", "*.atlassian.net"),
    ("linear", "api.linear.app"),
    ("slack", "slack.com"),
    ("aws", "*.amazonaws.com"),
    ("azure", "*.azure.com"),
    ("gcp", "*.googleapis.com"),
    ("sentry", "sentry.io"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub manifest: AgentManifest,
    /// Requested capabilities no offline skill covers (model mode only).
    pub unmapped: Vec<String>,
    pub warnings: Vec<String>,
    /// A test case for the QA pipeline: (fixture path, fixture text, case TOML).
    pub test_case: Option<(String, String, String)>,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn slug(text: &str) -> String {
    words(text).join("-")
}

fn title(text: &str) -> String {
    words(text)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The capability a free-text request maps to, if any.
pub fn map_capability(requested: &str) -> Option<&'static str> {
    let found = words(requested);
    CAPABILITY_WORDS.iter().find(|(keys, _)| found.iter().any(|w| keys.contains(&w.as_str()))).map(|(_, cap)| *cap)
}

pub fn generate(request: &AgentGenerationRequest) -> Result<Generated, String> {
    if request.specialization.trim().is_empty() {
        return Err("say what the agent specialises in (`specialization`, e.g. \"React testing\")".into());
    }
    let mut id = slug(&format!("{} {}", request.specialization, request.domain));
    if id.len() > 48 {
        id.truncate(48);
        id = id.trim_end_matches('-').to_owned();
    }
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id = format!("agent-{id}");
    }
    let mut capabilities: Vec<String> = Vec::new();
    let mut unmapped = Vec::new();
    let asked: Vec<&str> = if request.capabilities.is_empty() {
        vec![request.specialization.as_str()]
    } else {
        request.capabilities.iter().map(String::as_str).collect()
    };
    for capability in asked {
        match map_capability(capability) {
            Some(known) if !capabilities.iter().any(|c| c == known) => capabilities.push(known.to_owned()),
            Some(_) => {}
            None => unmapped.push(capability.to_owned()),
        }
    }
    let mut warnings = Vec::new();
    if capabilities.is_empty() {
        warnings.push(format!(
            "no offline skill covers {:?}: the agent works only with a model configured",
            request.capabilities
        ));
    }
    for capability in &unmapped {
        warnings.push(format!("{capability:?} has no offline skill; with a model the agent still takes it on"));
    }

    let has = |c: &str| capabilities.iter().any(|x| x == c);
    let mut tools = vec!["read_file", "search_symbols", "build_context"];
    let reports = ["code_review", "security_review", "metrics", "accessibility", "task_management", "architecture"];
    if reports.iter().any(|c| has(c)) {
        tools.push("publish_diagnostics");
    }
    let edits = has("documentation") || has("testing");
    if edits {
        tools.push("propose_edit");
    }
    let integrations: Vec<String> = request.integrations.iter().map(|i| i.trim().to_lowercase()).collect();
    if integrations.iter().any(|i| i == "team" || i == "paired") {
        tools.push("ask_agent");
    }
    let mut net = Vec::new();
    for integration in integrations.iter().filter(|i| *i != "team" && *i != "paired") {
        match INTEGRATION_HOSTS.iter().find(|(name, _)| name == integration) {
            Some((_, host)) if !net.iter().any(|h| h == host) => net.push((*host).to_owned()),
            Some(_) => {}
            None => {
                warnings.push(format!("no known host for the integration {integration:?}: no network granted for it"))
            }
        }
    }
    // Least privilege: reading the code is the job; proposing edits only for
    // the skills that write (and the user still accepts each edit); no
    // commands, ever, from a generated agent.
    let permissions = Permissions {
        fs_read: vec!["**".into()],
        fs_write: if edits { vec!["**".into()] } else { Vec::new() },
        net,
        ..Permissions::default()
    };
    let role = match capabilities.first().map(String::as_str) {
        Some("code_review" | "security_review" | "testing") => "qa",
        Some("documentation") => "docs",
        Some("architecture") => "architecture",
        Some("metrics") => "analyst",
        Some("task_management") => "scrum",
        Some("accessibility") => "ux",
        _ => "specialist",
    };
    let name = title(&request.specialization);
    let domain = request.domain.trim().to_owned();
    let shown_caps: Vec<String> = capabilities.iter().map(|c| c.replace('_', " ")).collect();
    let description = if domain.is_empty() {
        format!("{name}: {}", shown_caps.join(", "))
    } else {
        format!("{name} for {domain}: {}", shown_caps.join(", "))
    };
    let mut personality: Personality = request.personality.clone();
    if personality.tone.is_none() {
        personality.tone = Some("precise and friendly".into());
    }
    if personality.approach.is_none() {
        personality.approach = Some("evidence first: point at the line, say why, propose the smallest fix".into());
    }
    if personality.system_prompt.is_empty() {
        personality.system_prompt = vec![
            format!(
                "You are {name}, a PAIRED agent specialised in {}{}.",
                request.specialization.trim(),
                if domain.is_empty() { String::new() } else { format!(" ({domain})") }
            ),
            format!(
                "Your work: {}. Stay within what you were asked and what you may touch; say so when something is outside it.",
                if shown_caps.is_empty() { "help with this speciality".to_owned() } else { shown_caps.join(", ") }
            ),
        ];
    }
    let manifest = AgentManifest {
        id: id.clone(),
        metadata: AgentMetadata {
            name,
            version: "0.1.0".into(),
            role: role.into(),
            domain: (!domain.is_empty()).then_some(domain),
            specialization: Some(request.specialization.trim().to_owned()),
            description,
            emoji: None,
            author: None,
            license: None,
            homepage: None,
        },
        capabilities: capabilities.clone(),
        personality,
        tools: tools.into_iter().map(str::to_owned).collect(),
        permissions,
        pricing: Default::default(),
        certification: None,
        provider: None,
    };
    let test_case = (has("code_review") || has("security_review")).then(|| {
        (
            "fixtures/sample.rs".to_owned(),
            "pub fn first(values: &[u32]) -> u32 {\n    *values.first().unwrap()\n}\n".to_owned(),
            "skill = \"review\"\nfile = \"fixtures/sample.rs\"\nexpect = [\"rust-unwrap\"]\n".to_owned(),
        )
    });
    Ok(Generated { manifest, unmapped, warnings, test_case })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(specialization: &str, capabilities: &[&str], integrations: &[&str]) -> AgentGenerationRequest {
        AgentGenerationRequest {
            domain: "frontend".into(),
            specialization: specialization.into(),
            capabilities: capabilities.iter().map(|c| (*c).into()).collect(),
            personality: Personality::default(),
            integrations: integrations.iter().map(|c| (*c).into()).collect(),
        }
    }

    #[test]
    fn capabilities_map_to_skills_tools_and_the_fewest_permissions() {
        let g = generate(&request(
            "React code review",
            &["code review", "security audit", "deploy to k8s"],
            &["github", "pagerduty"],
        ))
        .expect("generated");
        let m = &g.manifest;
        assert_eq!(m.id, "react-code-review-frontend");
        assert_eq!(m.capabilities, ["code_review", "security_review"]);
        assert_eq!(m.tools, ["read_file", "search_symbols", "build_context", "publish_diagnostics"]);
        assert!(m.permissions.fs_write.is_empty(), "a reviewer proposes no edits");
        assert_eq!(m.permissions.net, ["api.github.com"]);
        assert!(m.permissions.commands.is_empty());
        assert_eq!(g.unmapped, ["deploy to k8s"]);
        assert!(g.warnings.iter().any(|w| w.contains("pagerduty")));
        assert!(g.test_case.is_some());
        assert_eq!(m.metadata.role, "qa");
        assert!(m.personality.system_prompt[0].contains("React code review (frontend)"));
    }

    #[test]
    fn writers_may_propose_edits_and_nothing_else() {
        let g = generate(&request("Docs and tests", &["documentation", "unit testing"], &["team"])).expect("generated");
        assert_eq!(g.manifest.capabilities, ["documentation", "testing"]);
        assert!(
            g.manifest.tools.contains(&"propose_edit".to_owned()) && g.manifest.tools.contains(&"ask_agent".to_owned())
        );
        assert_eq!(g.manifest.permissions.fs_write, ["**"]);
        assert!(g.manifest.permissions.net.is_empty());
        assert!(generate(&request("  ", &[], &[])).is_err());
    }
}
