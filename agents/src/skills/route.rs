//! Alex: routing a free-text request to the agents (and skills) that should
//! take it, and a project assessment from the workspace index.

use context::index::WorkspaceIndex;

use super::SkillOutput;

/// Keywords → (agent, skill). Checked on whole words of the lower-cased request.
const ROUTES: [(&[&str], &str, &str); 8] = [
    (&["review", "bug", "bugs", "quality", "qa", "smell", "smells", "secret", "secrets", "lint"], "sherlock", "review"),
    (&["test", "tests", "testing", "coverage", "unit"], "edison", "tests"),
    (
        &["document", "documentation", "docs", "doc", "docstring", "comment", "comments", "explain"],
        "edison",
        "document",
    ),
    (
        &[
            "architecture",
            "dependency",
            "dependencies",
            "cycle",
            "cycles",
            "module",
            "modules",
            "design",
            "adr",
            "coupling",
        ],
        "leonardo",
        "architecture",
    ),
    (
        &["metrics", "complexity", "churn", "size", "hotspot", "hotspots", "analyze", "analyse", "stats"],
        "marie",
        "metrics",
    ),
    (&["todo", "todos", "fixme", "backlog", "sprint", "task", "tasks", "plan", "standup"], "vince", "backlog"),
    (&["accessibility", "a11y", "ux", "aria", "alt", "wcag", "screen", "keyboard"], "maya", "accessibility"),
    (&["assess", "assessment", "overview", "status", "project", "onboard", "summary"], "alex", "assess"),
];

/// The agents a request goes to, best match first; Alex's assessment when
/// nothing matches.
pub fn route(request: &str) -> Vec<(String, String)> {
    let lower = request.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()).collect();
    let mut scored: Vec<(usize, usize, &str, &str)> = ROUTES
        .iter()
        .enumerate()
        .map(|(order, (keywords, agent, skill))| {
            (words.iter().filter(|w| keywords.contains(w)).count(), order, *agent, *skill)
        })
        .filter(|(score, ..)| *score > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    if scored.is_empty() {
        return vec![("alex".into(), "assess".into())];
    }
    scored.into_iter().map(|(_, _, agent, skill)| (agent.to_owned(), skill.to_owned())).collect()
}

pub fn route_output(speaker: &str, request: &str) -> SkillOutput {
    let routed = route(request);
    let mut report = format!("{speaker} routes \"{}\" to:\n\n", request.trim());
    for (agent, skill) in &routed {
        report.push_str(&format!("- {agent}: {skill}\n"));
    }
    SkillOutput { report, routed, ..SkillOutput::default() }
}

/// What the project is, from the index: languages, size, build and test set-up,
/// and what to look at first.
pub fn assess(speaker: &str, index: Option<&WorkspaceIndex>) -> SkillOutput {
    let Some(index) = index else {
        return SkillOutput {
            report: format!(
                "{speaker}: no workspace is open; open a folder (or `paired init`) for a project assessment.\n"
            ),
            ..SkillOutput::default()
        };
    };
    let facts = index.facts();
    let files = index.len();
    let symbols = index.symbol_count();
    let tests = index.paths().filter(|p| super::is_test_path(p)).count();
    let mut report = format!("{speaker}'s project assessment\n\n- {files} files, {symbols} symbols indexed\n");
    if !facts.languages.is_empty() {
        let languages: Vec<String> = facts.languages.iter().map(|(l, n)| format!("{l} ({n})")).collect();
        report.push_str(&format!("- languages: {}\n", languages.join(", ")));
    }
    let list = |items: &[String]| if items.is_empty() { "none found".to_owned() } else { items.join(", ") };
    report.push_str(&format!("- build files: {}\n", list(&facts.build_files)));
    report.push_str(&format!("- test frameworks: {}\n", list(&facts.test_frameworks)));
    report.push_str(&format!("- frameworks: {}\n", list(&facts.frameworks)));
    report.push_str(&format!("- test files: {tests}\n"));
    report.push_str("\nNext steps:\n");
    if tests == 0 {
        report
            .push_str("- No tests found: ask Edison for test skeletons (`paired agents run edison --skill tests`).\n");
    }
    report.push_str("- Leonardo maps the modules and import cycles (`paired agents run leonardo`).\n");
    report.push_str("- Vince lists the TODO/FIXME backlog (`paired agents run vince`).\n");
    report.push_str("- Sherlock reviews a file (`paired agents run sherlock --file F`).\n");
    SkillOutput { report, ..SkillOutput::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_find_their_agents() {
        let first = |r: &str| route(r).first().map(|(a, s)| format!("{a}/{s}")).unwrap_or_default();
        assert_eq!(first("Please review this file for bugs"), "sherlock/review");
        assert_eq!(first("write unit tests"), "edison/tests");
        assert_eq!(first("are there import cycles between modules?"), "leonardo/architecture");
        assert_eq!(first("which functions have the highest complexity"), "marie/metrics");
        assert_eq!(first("what's left in the backlog (TODOs)?"), "vince/backlog");
        assert_eq!(first("check the form for a11y"), "maya/accessibility");
        assert_eq!(first("hello there"), "alex/assess");
        // "reviewing" is not "review": whole words only.
        assert_eq!(first("docs for the reviewing tool"), "edison/document");
        assert_eq!(route("review the docs").len(), 2);
    }
}
