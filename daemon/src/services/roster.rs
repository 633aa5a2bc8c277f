//! The roster: the built-in team, PAIRED 1.0 agent files and 2.0 manifests,
//! loaded from their folders each time it is asked for (they are few and small,
//! and an edit takes effect without a restart).
//!
//! Precedence, lowest first: built-in, user (`~/.paired/core/config/agents/*.yml`,
//! `<config>/agents/*.toml`), project (`.paired/config/agents/*.yml`,
//! `.paired/agents/*.toml`). A file with a built-in's id customises that agent's
//! persona and keeps its skills.

use std::path::{Path, PathBuf};

use agents::{BUILTIN_AGENTS, BuiltinAgent, manifest, skills::Skill};
use protocol::agents::{AgentInfo, AgentManifest, AgentMetadata, Permissions, Personality, Pricing, SkillInfo};

/// 1.0 capability names (and common synonyms) → skills, for community agents.
const CAPABILITY_SKILLS: [(&str, Skill); 16] = [
    ("code_review", Skill::Review),
    ("quality_auditing", Skill::Review),
    ("bug_investigation", Skill::Review),
    ("security_review", Skill::Review),
    ("documentation", Skill::Document),
    ("test_management", Skill::Tests),
    ("testing", Skill::Tests),
    ("architecture", Skill::Architecture),
    ("system_design", Skill::Architecture),
    ("metrics", Skill::Metrics),
    ("data_analysis", Skill::Metrics),
    ("sprint_planning", Skill::Backlog),
    ("task_management", Skill::Backlog),
    ("accessibility", Skill::Accessibility),
    ("ux_design", Skill::Accessibility),
    ("project_management", Skill::Assess),
];

#[derive(Debug, Clone)]
pub struct Agent {
    pub manifest: AgentManifest,
    /// `builtin` or the file it came from.
    pub source: String,
    pub builtin: Option<&'static BuiltinAgent>,
    pub skills: Vec<Skill>,
}

impl Agent {
    pub fn info(&self) -> AgentInfo {
        let m = &self.manifest;
        let function = self.builtin.map_or_else(|| title_case(&m.metadata.role), |b| b.function.to_owned());
        let mut aliases: Vec<String> = vec![m.metadata.role.clone()];
        if let Some(builtin) = self.builtin
            && builtin.alias != builtin.role
        {
            aliases.push(builtin.alias.to_owned());
        }
        AgentInfo {
            id: m.id.clone(),
            name: m.metadata.name.clone(),
            display_name: format!("{} ({function})", m.metadata.name),
            emoji: m.metadata.emoji.clone().unwrap_or_default(),
            role: m.metadata.role.clone(),
            description: m.metadata.description.clone(),
            version: m.metadata.version.clone(),
            capabilities: m.capabilities.clone(),
            skills: self.skills.iter().map(|s| skill_info(&m.metadata.name, *s)).collect(),
            aliases,
            source: self.source.clone(),
        }
    }

    /// The system prompt for model mode, from the manifest's personality.
    pub fn persona(&self) -> String {
        let m = &self.manifest;
        let emoji = m.metadata.emoji.as_deref().map(|e| format!(" {e}")).unwrap_or_default();
        let mut parts = vec![
            format!(
                "You are {}{emoji}, the {} of the PAIRED team. {}",
                m.metadata.name,
                m.metadata.role.replace('_', " "),
                m.metadata.description
            )
            .trim_end()
            .to_owned(),
        ];
        if let Some(tone) = &m.personality.tone {
            parts.push(format!("Tone: {}.", tone.replace('_', " ")));
        }
        if let Some(approach) = &m.personality.approach {
            parts.push(format!("Approach: {approach}"));
        }
        for (key, value) in &m.personality.traits {
            if Some(value) != m.personality.approach.as_ref() && Some(value) != m.personality.tone.as_ref() {
                parts.push(format!("{}: {}.", key.replace('_', " "), value.replace('_', " ")));
            }
        }
        if !m.capabilities.is_empty() {
            parts.push(format!("Capabilities: {}.", m.capabilities.join(", ").replace('_', " ")));
        }
        parts.extend(m.personality.system_prompt.iter().cloned());
        parts.join("\n\n")
    }
}

fn title_case(role: &str) -> String {
    match role {
        "qa" | "ux" | "pm" => role.to_uppercase(),
        _ => {
            let mut chars = role.replace('_', " ").chars().collect::<Vec<_>>();
            if let Some(first) = chars.first_mut() {
                *first = first.to_ascii_uppercase();
            }
            chars.into_iter().collect()
        }
    }
}

pub fn skill_info(agent_name: &str, skill: Skill) -> SkillInfo {
    SkillInfo {
        name: skill.name().to_owned(),
        title: format!("{agent_name}: {skill}"),
        description: skill.description().to_owned(),
        scope: skill.scope(),
    }
}

/// Model mode's `ask`, for an agent a provider serves.
pub fn ask_info(agent_name: &str, provider: &str) -> SkillInfo {
    SkillInfo {
        name: "ask".to_owned(),
        title: format!("{agent_name}: ask"),
        description: format!("Ask, in model mode (provider {provider}), with the file's context and tools."),
        scope: agents::skills::Scope::Prompt,
    }
}

fn builtin_manifest(agent: &BuiltinAgent) -> AgentManifest {
    let skills = Skill::of_role(agent.role);
    AgentManifest {
        id: agent.id.to_owned(),
        metadata: AgentMetadata {
            name: agent.name.to_owned(),
            version: env!("CARGO_PKG_VERSION").split('-').next().unwrap_or("2.0.0").to_owned(),
            role: agent.role.to_owned(),
            domain: None,
            specialization: None,
            description: skills.iter().map(|s| s.description()).collect::<Vec<_>>().join(" "),
            emoji: Some(agent.emoji.to_owned()),
            author: Some("PAIRED".to_owned()),
            license: Some("MIT".to_owned()),
            homepage: None,
        },
        capabilities: skills.iter().map(|s| s.name().to_owned()).collect(),
        personality: Personality::default(),
        // Not `run_command`: built-ins are granted no commands (their offline
        // skills run the project's tools themselves, in the sandbox).
        tools: agents::manifest::TOOL_CATALOG
            .iter()
            .filter(|(name, _)| *name != "run_command")
            .map(|(name, _)| (*name).to_owned())
            .collect(),
        // Built-ins read the workspace and propose edits: the daemon never
        // writes a file, the user's editor applies a proposal or not.
        permissions: Permissions { fs_read: vec!["**".into()], fs_write: vec!["**".into()], ..Permissions::default() },
        pricing: Pricing::default(),
        certification: None,
        provider: None,
    }
}

/// A loaded roster and the files that failed to load (with why).
#[derive(Debug, Default)]
pub struct Roster {
    pub agents: Vec<Agent>,
    pub errors: Vec<String>,
}

impl Roster {
    /// The roster of one project: built-ins, then the user's 1.0 and 2.0
    /// agents (`home` for `~/.paired`, `config_dir` for 2.0 manifests), then
    /// agents installed from a marketplace (`market`: their active
    /// `agent.toml`s), then the project's own, if the request is about one —
    /// never another project's.
    pub fn load(home: Option<&Path>, config_dir: &Path, market: &[PathBuf], project: Option<&Path>) -> Roster {
        let mut roster = Roster {
            agents: BUILTIN_AGENTS
                .iter()
                .map(|b| Agent {
                    manifest: builtin_manifest(b),
                    source: "builtin".into(),
                    builtin: Some(b),
                    skills: Skill::of_role(b.role),
                })
                .collect(),
            errors: Vec::new(),
        };
        let mut layers: Vec<(PathBuf, bool)> = Vec::new();
        if let Some(home) = home {
            layers.push((home.join(".paired/core/config/agents"), true));
        }
        layers.push((config_dir.join("agents"), false));
        for (dir, v1) in layers {
            roster.load_dir(&dir, v1);
        }
        for manifest in market {
            roster.load_file(manifest, false);
        }
        if let Some(project) = project {
            roster.load_dir(&project.join(".paired/config/agents"), true);
            roster.load_dir(&project.join(".paired/agents"), false);
        }
        roster
    }

    fn load_dir(&mut self, dir: &Path, v1: bool) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for path in files {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let wanted = if v1 { matches!(ext, "yml" | "yaml") } else { ext == "toml" };
            if wanted {
                self.load_file(&path, v1);
            } else if !v1 && matches!(ext, "yml" | "yaml") {
                // A 1.0 file where 2.0 manifests go: said, not silently ignored.
                let home = match dir.parent().and_then(Path::parent) {
                    Some(project) if dir.ends_with(".paired/agents") => project.join(".paired/config/agents"),
                    _ => Path::new("~/.paired/core/config/agents").to_path_buf(),
                };
                self.errors.push(format!(
                    "{}: a PAIRED 1.0 agent file (YAML) among 2.0 manifests; 1.0 files go in {}, 2.0 manifests here are agent.toml files",
                    path.display(),
                    home.display()
                ));
            }
        }
    }

    fn load_file(&mut self, path: &Path, v1: bool) {
        let shown = path.display().to_string();
        // A project can carry agent files: links, devices and pipes are
        // refused, and the size is checked before anything is read.
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_file() && meta.len() <= 256 * 1024 => {}
            Ok(meta) if meta.file_type().is_file() => {
                self.errors.push(format!("{shown}: larger than 256 KiB; not an agent file"));
                return;
            }
            Ok(_) => {
                self.errors.push(format!("{shown}: not a regular file (links are not followed)"));
                return;
            }
            Err(err) => {
                self.errors.push(format!("{shown}: cannot read: {err}"));
                return;
            }
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) if text.len() <= 256 * 1024 => text,
            Ok(_) => {
                self.errors.push(format!("{shown}: larger than 256 KiB; not an agent file"));
                return;
            }
            Err(err) => {
                self.errors.push(format!("{shown}: cannot read: {err}"));
                return;
            }
        };
        let parsed = if v1 { manifest::parse_v1_yaml(&shown, &text) } else { manifest::parse_toml(&shown, &text) };
        match parsed {
            Ok(manifest) => self.add(manifest, shown),
            Err(err) => self.errors.push(err.to_string()),
        }
    }

    fn add(&mut self, mut manifest: AgentManifest, source: String) {
        let builtin = BUILTIN_AGENTS.iter().find(|b| b.id == manifest.id);
        if let Some(b) = builtin {
            // Customising a built-in changes its persona, never what it may do
            // or where its requests go.
            let own = builtin_manifest(b);
            manifest.tools = own.tools;
            manifest.permissions = own.permissions;
            manifest.provider = None;
        }
        let mut skills = match builtin {
            Some(b) => Skill::of_role(b.role),
            None => Skill::of_role(&manifest.metadata.role),
        };
        for capability in &manifest.capabilities {
            for (cap, skill) in CAPABILITY_SKILLS {
                if cap == capability && !skills.contains(&skill) {
                    skills.push(skill);
                }
            }
        }
        let agent = Agent { manifest, source, builtin, skills };
        match self.agents.iter_mut().find(|a| a.manifest.id == agent.manifest.id) {
            Some(existing) => *existing = agent,
            None => self.agents.push(agent),
        }
    }

    /// By id, name, role or 1.0 alias, ignoring case; ids first.
    /// The agents that offer `capability` (a manifest capability, a 1.0
    /// capability name, or a skill name), built-ins first: the candidates a
    /// coordinator assigns a subtask to, in order.
    pub fn offering(&self, capability: &str) -> Vec<&Agent> {
        let wanted = capability.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        let skill =
            CAPABILITY_SKILLS.iter().find(|(cap, _)| *cap == wanted).map(|(_, s)| *s).or(Skill::from_name(&wanted));
        self.agents
            .iter()
            .filter(|a| {
                skill.is_some_and(|skill| a.skills.contains(&skill))
                    || a.manifest.capabilities.iter().any(|c| c.to_ascii_lowercase().replace([' ', '-'], "_") == wanted)
            })
            .collect()
    }

    pub fn resolve(&self, name: &str) -> Option<&Agent> {
        let name = name.trim();
        self.agents.iter().find(|a| a.manifest.id.eq_ignore_ascii_case(name)).or_else(|| {
            self.agents.iter().find(|a| {
                a.manifest.metadata.name.eq_ignore_ascii_case(name)
                    || a.manifest.metadata.role.eq_ignore_ascii_case(name)
                    || a.builtin.is_some_and(|b| b.alias.eq_ignore_ascii_case(name))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_v1_files_and_manifests_load_with_precedence() {
        let home = tempfile::tempdir().expect("tmp");
        let config = home.path().join("config");
        let project = home.path().join("proj");
        let user_v1 = home.path().join(".paired/core/config/agents");
        std::fs::create_dir_all(&user_v1).expect("mkdir");
        std::fs::create_dir_all(project.join(".paired/agents")).expect("mkdir");
        std::fs::create_dir_all(config.join("agents")).expect("mkdir");
        // The 1.0 originals, unchanged, in the 1.0 user folder.
        let originals = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/paired-1.0/agents");
        for entry in std::fs::read_dir(originals).expect("the 1.0 agents in tests/fixtures") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, user_v1.join(path.file_name().expect("name"))).expect("copy");
        }
        std::fs::write(
            user_v1.join("rusty.yml"),
            "agent:\n  id: rusty\n  name: Rusty\n  role: reviewer\n  version: 0.1.0\ncapabilities: [code_review]\n",
        )
        .expect("write");
        std::fs::write(user_v1.join("broken.yml"), "agent:\n  id: Broken!\n").expect("write");
        std::fs::write(
            project.join(".paired/agents/ferris.toml"),
            "id = \"ferris\"\n[metadata]\nname = \"Ferris\"\nversion = \"1.0.0\"\nrole = \"dev\"\n",
        )
        .expect("write");
        // Hostile project files: a link (to an endless device) and a built-in's
        // id trying to widen its grants.
        std::os::unix::fs::symlink("/dev/zero", project.join(".paired/agents/zero.toml")).expect("symlink");
        std::fs::write(
            project.join(".paired/agents/leonardo.toml"),
            "id = \"leonardo\"\ntools = [\"propose_edit\"]\nprovider = \"cloud\"\n[metadata]\nname = \"Leo\"\nversion = \"1.0.0\"\nrole = \"architecture\"\n[permissions]\nnet = [\"evil.example\"]\ncommands = [\"curl\"]\n",
        )
        .expect("write");
        let roster = Roster::load(Some(home.path()), &config, &[], Some(&project));
        let leo = roster.resolve("leonardo").expect("leonardo");
        assert_eq!(leo.manifest.metadata.name, "Leo", "the persona is customised");
        let grants = &leo.manifest.permissions;
        assert!(
            grants.net.is_empty() && grants.commands.is_empty() && leo.manifest.provider.is_none(),
            "grants are not"
        );
        assert_eq!(roster.agents.len(), 9, "{:?}", roster.agents.iter().map(|a| &a.manifest.id).collect::<Vec<_>>());
        assert_eq!(roster.errors.len(), 2, "{:?}", roster.errors);
        assert!(roster.errors.iter().any(|e| e.contains("zero.toml: not a regular file")), "{:?}", roster.errors);
        assert!(roster.errors[0].contains("broken.yml: `agent.id`"), "{:?}", roster.errors);
        let sherlock = roster.resolve("qa").expect("qa alias");
        assert_eq!(sherlock.manifest.id, "sherlock");
        assert!(sherlock.source.ends_with("qa_agent_config.yml"), "the 1.0 file customises the built-in");
        // Its 1.0 capabilities (test_management) add to its own skills.
        assert_eq!(sherlock.skills, [Skill::Review, Skill::Tests]);
        assert!(sherlock.persona().contains("The smallest detail can reveal the greatest truth"));
        assert_eq!(sherlock.info().display_name, "Sherlock (QA)");
        for (alias, id) in [
            ("pm", "alex"),
            ("dev", "edison"),
            ("arch", "leonardo"),
            ("ux", "maya"),
            ("scrum", "vince"),
            ("analyst", "marie"),
        ] {
            assert_eq!(roster.resolve(alias).map(|a| a.manifest.id.as_str()), Some(id), "{alias}");
        }
        assert_eq!(roster.resolve("rusty").expect("community").skills, [Skill::Review], "capabilities give skills");
        assert_eq!(roster.resolve("ferris").expect("2.0").skills, [Skill::Document, Skill::Tests]);
    }
}
