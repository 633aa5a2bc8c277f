//! The PAIRED agent runtime. For now: the built-in team and how a name, a 1.0 id or
//! a 1.0 role alias finds its agent, and the offline skills ([`skills`]).

pub mod generate;
pub mod grants;
pub mod manifest;
pub mod skills;
pub mod toolchain;

/// One member of the built-in team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinAgent {
    /// The 1.0 agent id, kept as the 2.0 id.
    pub id: &'static str,
    pub name: &'static str,
    pub emoji: &'static str,
    /// The 1.0 `agent.role`.
    pub role: &'static str,
    /// The 1.0 CLI alias (`paired qa ...`).
    pub alias: &'static str,
    /// 1.0's display function, as in "Sherlock (QA)".
    pub function: &'static str,
}

/// The seven agents of PAIRED 1.0, in 1.0's order.
pub const BUILTIN_AGENTS: [BuiltinAgent; 7] = [
    BuiltinAgent { id: "alex", name: "Alex", emoji: "👑", role: "pm", alias: "pm", function: "PM" },
    BuiltinAgent { id: "sherlock", name: "Sherlock", emoji: "🕵️", role: "qa", alias: "qa", function: "QA" },
    BuiltinAgent { id: "edison", name: "Edison", emoji: "⚡", role: "dev", alias: "dev", function: "Dev" },
    BuiltinAgent {
        id: "leonardo",
        name: "Leonardo",
        emoji: "🏛️",
        role: "architecture",
        alias: "arch",
        function: "Architecture",
    },
    BuiltinAgent { id: "maya", name: "Maya", emoji: "🎨", role: "ux", alias: "ux", function: "UX" },
    BuiltinAgent { id: "vince", name: "Vince", emoji: "🏈", role: "scrum_master", alias: "scrum", function: "Scrum" },
    BuiltinAgent { id: "marie", name: "Marie", emoji: "🔬", role: "analyst", alias: "analyst", function: "Analyst" },
];

/// Finds a built-in agent by id, display name, role or 1.0 alias, ignoring case.
pub fn resolve(name: &str) -> Option<&'static BuiltinAgent> {
    let name = name.trim();
    BUILTIN_AGENTS
        .iter()
        .find(|a| [a.id, a.name, a.role, a.alias].iter().any(|candidate| candidate.eq_ignore_ascii_case(name)))
}

impl BuiltinAgent {
    /// 1.0's display convention: "Sherlock (QA)".
    pub fn display_name(&self) -> String {
        format!("{} ({})", self.name, self.function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_names_roles_and_aliases_resolve() {
        let cases = [
            ("pm", "alex"),
            ("qa", "sherlock"),
            ("dev", "edison"),
            ("arch", "leonardo"),
            ("architecture", "leonardo"),
            ("ux", "maya"),
            ("scrum", "vince"),
            ("scrum_master", "vince"),
            ("analyst", "marie"),
            ("Sherlock", "sherlock"),
            (" MARIE ", "marie"),
        ];
        for (query, id) in cases {
            assert_eq!(resolve(query).map(|a| a.id), Some(id), "{query}");
        }
        assert_eq!(resolve("nobody"), None);
        assert_eq!(resolve("qa").map(BuiltinAgent::display_name).as_deref(), Some("Sherlock (QA)"));
    }
}
