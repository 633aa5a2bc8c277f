//! The offline skills as one table: each [`Skill`] knows its name, the built-in
//! role that owns it, what it works on ([`Scope`]), what it does, and how it
//! runs. The daemon, the roster, workflows and the 1.0 bridge all read it here.

use super::{RawFinding, SkillInput, SkillOutput};

/// What a skill needs to work on: the protocol's own enum.
pub use protocol::agents::SkillScope as Scope;

/// An offline skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skill {
    Review,
    Document,
    Tests,
    Architecture,
    Metrics,
    Backlog,
    Accessibility,
    Assess,
    Route,
}

impl Skill {
    /// Every skill, in the order agents list them.
    pub const ALL: [Skill; 9] = [
        Skill::Review,
        Skill::Document,
        Skill::Tests,
        Skill::Architecture,
        Skill::Metrics,
        Skill::Backlog,
        Skill::Accessibility,
        Skill::Assess,
        Skill::Route,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Skill::Review => "review",
            Skill::Document => "document",
            Skill::Tests => "tests",
            Skill::Architecture => "architecture",
            Skill::Metrics => "metrics",
            Skill::Backlog => "backlog",
            Skill::Accessibility => "accessibility",
            Skill::Assess => "assess",
            Skill::Route => "route",
        }
    }

    /// The skill of that name; `None` for a model-mode skill (`ask`) or an unknown one.
    pub fn from_name(name: &str) -> Option<Skill> {
        Skill::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The built-in role (`agent.role`) that owns the skill.
    pub fn owner(self) -> &'static str {
        match self {
            Skill::Review => "qa",
            Skill::Document | Skill::Tests => "dev",
            Skill::Architecture => "architecture",
            Skill::Metrics => "analyst",
            Skill::Backlog => "scrum_master",
            Skill::Accessibility => "ux",
            Skill::Assess | Skill::Route => "pm",
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Skill::Review | Skill::Metrics | Skill::Accessibility => Scope::File,
            Skill::Document | Skill::Tests => Scope::Symbol,
            Skill::Architecture | Skill::Backlog | Skill::Assess => Scope::Workspace,
            Skill::Route => Scope::Prompt,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Skill::Review => {
                "Review the file: bugs, error handling, debug leftovers, secrets, complexity; without a file, the \
                 project, with its own linters and tests."
            }
            Skill::Document => "Draft a doc comment for the definition at the cursor.",
            Skill::Tests => "Tests for the function at the cursor, run in the project before they are proposed.",
            Skill::Architecture => "Map modules and dependencies, find import cycles, draft an ADR.",
            Skill::Metrics => "Size, cyclomatic complexity, churn and authors.",
            Skill::Backlog => "Every TODO/FIXME as a task list by owner and file.",
            Skill::Accessibility => "Accessibility problems in HTML/JSX/TSX.",
            Skill::Assess => "A project assessment: languages, build, tests, next steps.",
            Skill::Route => "Route a request to the agents that should take it.",
        }
    }

    /// The skills a built-in role owns.
    pub fn of_role(role: &str) -> Vec<Skill> {
        Skill::ALL.into_iter().filter(|s| s.owner() == role).collect()
    }

    /// Runs the skill on its input. Errors say what the input lacks.
    pub fn run(self, input: &SkillInput<'_>) -> Result<SkillOutput, String> {
        let document = || input.document.ok_or_else(|| format!("{} works on a file", self.name()));
        let cursor = input.selection.as_ref().map_or(0, |s| s.start);
        let speaker = input.speaker;
        Ok(match self {
            Skill::Review => super::review::review_as(speaker, input.path, document()?),
            Skill::Metrics => super::metrics::metrics(speaker, input.path, document()?, input.history),
            Skill::Document => super::document::document(speaker, document()?, cursor, input.examples),
            // Tests are written only where they can be run before they are
            // proposed: in a project (the daemon's `testgen`), never here.
            Skill::Tests => {
                document()?;
                SkillOutput {
                    report: format!(
                        "{speaker} writes only tests he has run: open the project this file belongs to, and ask again.\n"
                    ),
                    ..SkillOutput::default()
                }
            }
            Skill::Accessibility => super::accessibility::accessibility(speaker, input.path, document()?.text()),
            Skill::Architecture => {
                let index =
                    input.index.ok_or("open a workspace folder first: the architecture map comes from its index")?;
                super::architecture::architecture(speaker, index)
            }
            Skill::Backlog => backlog(input)?,
            Skill::Assess => super::route::assess(speaker, input.index),
            Skill::Route => super::route::route_output(speaker, input.prompt.unwrap_or(""), input.index),
        })
    }
}

/// What a skill named in a request works on: model mode's `ask` (and any name
/// that is no offline skill) answers a request in words.
pub fn scope_of(name: &str) -> Scope {
    Skill::from_name(name).map_or(Scope::Prompt, Skill::scope)
}

impl std::fmt::Display for Skill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The backlog: the workspace's tasks (or the file's, with no workspace), each
/// also a finding on its line.
fn backlog(input: &SkillInput<'_>) -> Result<SkillOutput, String> {
    let mut tasks = Vec::new();
    match input.index {
        Some(index) => {
            for path in index.paths() {
                if let Some(text) = (input.read_file)(path) {
                    tasks.extend(super::backlog::tasks(path, &text));
                }
            }
        }
        None => {
            let doc = input.document.ok_or("open a workspace folder or pass a file")?;
            tasks.extend(super::backlog::tasks(input.path, doc.text()));
        }
    }
    let report = super::backlog::report(input.speaker, &tasks, input.history);
    let findings = tasks
        .iter()
        .map(|task| RawFinding {
            rule: "todo",
            severity: protocol::agents::Severity::Info,
            message: format!("{}: {}", task.tag, if task.text.is_empty() { "(no description)" } else { &task.text }),
            bytes: 0..0,
            path: Some(task.path.clone()),
            line: Some(task.line),
            fix: None,
        })
        .collect();
    Ok(SkillOutput { report, findings, ..SkillOutput::default() })
}

/// A skill on one file's text, outside any workspace (the marketplace's QA
/// pipeline runs packages' test cases with it; the report speaks as no agent
/// in particular).
pub fn run_on_text(skill: Skill, path: &str, text: String) -> Result<SkillOutput, String> {
    let document = context::SyntaxDocument::new(context::Language::from_path(path), text);
    let no_files = |_: &str| None;
    let input = SkillInput {
        speaker: "The agent",
        path,
        document: Some(&document),
        selection: None,
        index: None,
        prompt: None,
        read_file: &no_files,
        history: None,
        examples: &[],
    };
    skill.run(&input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_role_of_the_team_owns_a_skill() {
        for skill in Skill::ALL {
            assert_eq!(Skill::from_name(skill.name()), Some(skill));
        }
        assert_eq!(Skill::from_name("ask"), None, "model mode is not an offline skill");
        for agent in crate::BUILTIN_AGENTS {
            assert!(!Skill::of_role(agent.role).is_empty(), "{} has no skill", agent.id);
        }
        assert!(Skill::Tests.scope().needs_file() && !Skill::Backlog.scope().needs_file());
    }

    #[test]
    fn a_file_skill_without_a_file_says_so() {
        let no_files = |_: &str| None;
        let input = SkillInput {
            speaker: "Sherlock",
            path: "",
            document: None,
            selection: None,
            index: None,
            prompt: None,
            read_file: &no_files,
            history: None,
            examples: &[],
        };
        assert_eq!(Skill::Review.run(&input).err().as_deref(), Some("review works on a file"));
        let out = run_on_text(Skill::Backlog, "a.rs", "// TODO: ship it\nfn main() {}\n".into()).expect("backlog");
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].line, Some(0));
    }
}
