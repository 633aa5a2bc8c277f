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
            "circular",
            "layering",
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

/// Words that say a request's kind less surely: each counts half a keyword,
/// so "write tests for the failing path" goes to tests, not a review.
const WEAK: [(&[&str], &str); 2] = [
    (&["wrong", "broken", "crash", "crashes", "failing", "incorrect", "regression"], "sherlock"),
    (&["often", "frequently"], "marie"),
];

/// The agents a request goes to, best match first; Alex's assessment when
/// nothing matches.
pub fn route(request: &str) -> Vec<(String, String)> {
    let matched = matched(request);
    if matched.is_empty() {
        return vec![("alex".into(), "assess".into())];
    }
    matched
}

/// The parts of a request, each a task of its own: split at `;`, at a
/// sentence's end and at "and" or "then" between clauses. A part no rule
/// routes stays with the one before it ("review the parser and the lexer"
/// is one task), or the one after when it comes first.
pub fn parts(request: &str) -> Vec<String> {
    fn splitter() -> &'static regex::Regex {
        static SPLIT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        SPLIT.get_or_init(|| {
            regex::Regex::new(
                r"(?i)\s*(?:;\s*(?:and\s+)?(?:then\s+)?|\.\s+(?:then\s+)?|,\s*(?:and\s+)?then\s+|,\s+and\s+|\s+and\s+(?:then\s+|also\s+)?|\s+then\s+)\s*",
            )
            .expect("the split pattern")
        })
    }
    let mut parts: Vec<String> = Vec::new();
    let mut pending = String::new();
    // A comma starts a task only before a request's verb ("document x, write
    // tests for y"), and never in a request that quotes code or text (`f("1, 000")`).
    let quotes = request.contains(['"', '\'', '`', '(', '[']);
    let pieces = splitter().split(request.trim().trim_end_matches('.')).flat_map(|piece| {
        let mut split: Vec<&str> = Vec::new();
        let mut rest = piece;
        while let Some(at) = rest.find(", ").filter(|_| !quotes) {
            let next = rest[at + 2..].trim_start();
            let first = next.split_whitespace().next().unwrap_or_default().to_lowercase();
            if REQUEST_VERBS.contains(&first.as_str()) || ROUTES.iter().any(|(k, ..)| k.contains(&first.as_str())) {
                split.push(&rest[..at]);
                rest = next;
            } else {
                break;
            }
        }
        split.push(rest);
        split
    });
    for piece in pieces.map(str::trim).filter(|p| !p.is_empty()) {
        let piece =
            if pending.is_empty() { piece.to_owned() } else { format!("{} and {piece}", std::mem::take(&mut pending)) };
        // A part of its own asks for something by name ("review", "test"): a
        // sentence that only describes ("It crashes on empty input") belongs
        // to the task before it.
        let asks = {
            let lower = piece.to_lowercase();
            let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '_').collect();
            ROUTES.iter().any(|(keywords, ..)| words.iter().any(|w| keywords.contains(w)))
        };
        match (!asks, parts.last_mut()) {
            (true, Some(last)) => {
                last.push_str(" and ");
                last.push_str(&piece);
            }
            (true, None) => pending = piece,
            (false, _) => parts.push(piece),
        }
    }
    if !pending.is_empty() {
        parts.push(pending);
    }
    parts
}

/// The agents whose keywords a request has, best match first (none when it
/// has none: what [`route`] falls back on is not a match).
pub fn matched(request: &str) -> Vec<(String, String)> {
    let lower = request.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()).collect();
    let mut scored: Vec<(usize, usize, &str, &str)> = ROUTES
        .iter()
        .enumerate()
        .map(|(order, (keywords, agent, skill))| {
            let strong = words.iter().filter(|w| keywords.contains(w)).count() * 2;
            let weak =
                WEAK.iter().filter(|(_, a)| a == agent).map(|(k, _)| words.iter().filter(|w| k.contains(w)).count());
            (strong + weak.sum::<usize>(), order, *agent, *skill)
        })
        .filter(|(score, ..)| *score > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, agent, skill)| (agent.to_owned(), skill.to_owned())).collect()
}

pub fn route_output(speaker: &str, request: &str, index: Option<&WorkspaceIndex>) -> SkillOutput {
    let routed = matched(request);
    let mut report = if routed.is_empty() {
        // Not an assessment nobody asked for (spf13/pflag: "add a flag type
        // for URL values" got the project's overview).
        format!(
            "{speaker} finds no agent's offline skill for \"{}\": offline, the agents review, write tests and \
             docs, map the architecture, measure, list the backlog and check accessibility. With a model \
             (`paired setup`), the `feature` workflow and the agents' `--prompt` take requests like this.\n",
            request.trim()
        )
    } else {
        format!("{speaker} routes \"{}\" to:\n\n", request.trim())
    };
    for (agent, skill) in &routed {
        report.push_str(&format!("- {agent}: {skill}\n"));
    }
    let resolved = index.map(|index| resolve(request, index)).unwrap_or_default();
    if !resolved.is_empty() {
        report.push_str("\nWhat the request names, in the project:\n\n");
        for r in &resolved {
            match &r.symbol {
                Some((name, line)) => {
                    report.push_str(&format!("- \"{}\": `{name}` in {}:{}\n", r.word, r.path, line + 1))
                }
                None => report.push_str(&format!("- \"{}\": {}\n", r.word, r.path)),
            }
        }
    }
    SkillOutput { report, routed, ..SkillOutput::default() }
}

/// A name in a request found in the project: a file, or a definition in one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The request's word (`parser`).
    pub word: String,
    /// Workspace-relative.
    pub path: String,
    /// The definition's name and zero-based line, when the word names one.
    pub symbol: Option<(String, u32)>,
}

/// Words of a request that name nothing in a project.
const STOPWORDS: &[&str] = &[
    "the", "a", "an", "and", "or", "of", "for", "to", "in", "on", "at", "by", "with", "from", "into", "this", "that",
    "these", "those", "it", "its", "is", "are", "be", "please", "can", "could", "you", "we", "i", "me", "my", "our",
    "what", "why", "how", "where", "which", "all", "any", "some", "file", "files", "code", "function", "class", "make",
    "add", "then", "also", "them",
];

/// The verbs a request starts with: no name of the code there ("write
/// tests for…" is no `write`), though they may be one elsewhere ("document
/// check").
const REQUEST_VERBS: &[&str] = &[
    "write", "create", "fix", "find", "explain", "check", "update", "show", "tell", "give", "document", "review",
    "test", "add", "make", "list", "map", "run",
];

/// The files and definitions a request names ("review the parser" →
/// `src/parser.rs`), through the index: a file whose name (or folder) is the
/// word, else a definition named by it (`Parser`, `parse_config`). Test files
/// only when the request is about tests. At most three, best first.
pub fn resolve(request: &str, index: &WorkspaceIndex) -> Vec<Resolved> {
    let lower = request.to_lowercase();
    let about_tests = lower.split(|c: char| !c.is_alphanumeric()).any(|w| matches!(w, "test" | "tests" | "testing"));
    let keywords: Vec<&str> = ROUTES.iter().flat_map(|(words, ..)| words.iter().copied()).collect();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '.' && c != '/')
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .enumerate()
        .filter(|(i, w)| *i > 0 || !REQUEST_VERBS.contains(w))
        .map(|(_, w)| w)
        .filter(|w| w.len() >= 3 && !STOPWORDS.contains(w) && !keywords.contains(w))
        .collect();
    let mut found: Vec<Resolved> = Vec::new();
    let candidates = |path: &&str| about_tests || !super::is_test_path(path);
    // A definition two of the request's words name together ("duration
    // parsing" → `parse_duration`) comes first; those words name nothing else.
    let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
    let together = words
        .iter()
        .flat_map(|word| index.search(&stem(word), 50))
        .filter(|h| candidates(&h.path))
        .filter_map(|h| {
            let parts: Vec<String> = name_words(h.name).iter().map(|w| stem(w)).collect();
            let covered = stems.iter().filter(|s| parts.contains(s)).count();
            (covered >= 2).then_some((covered, parts.len(), h))
        })
        .max_by_key(|(covered, parts, h)| (*covered, std::cmp::Reverse(*parts), std::cmp::Reverse(h.name.len())));
    let mut words = words;
    if let Some((_, _, hit)) = together {
        let parts: Vec<String> = name_words(hit.name).iter().map(|w| stem(w)).collect();
        let (named, rest): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| parts.contains(&stem(w)));
        words = rest;
        found.push(Resolved {
            word: named.join(" "),
            path: hit.path.to_owned(),
            symbol: Some((hit.name.to_owned(), hit.symbol.line)),
        });
    }
    for word in words {
        let stem_of = |path: &str| {
            let name = path.rsplit('/').next().unwrap_or(path);
            name.split('.').next().unwrap_or(name).to_lowercase()
        };
        // A path named in full, a file named by the word, a folder (its `mod.rs`/`__init__.py`/`index.*`).
        let file = index
            .paths()
            .filter(candidates)
            .find(|p| p.to_lowercase() == word || p.to_lowercase().ends_with(&format!("/{word}")))
            .or_else(|| index.paths().filter(candidates).filter(|p| stem_of(p) == word).min_by_key(|p| p.len()))
            .or_else(|| {
                let folder = format!("{word}/");
                index
                    .paths()
                    .filter(candidates)
                    .filter(|p| {
                        p.to_lowercase().starts_with(&folder) || p.to_lowercase().contains(&format!("/{folder}"))
                    })
                    .filter(|p| matches!(stem_of(p).as_str(), "mod" | "__init__" | "index" | "lib"))
                    .min_by_key(|p| p.len())
            });
        if let Some(path) = file {
            if !found.iter().any(|r| r.path == path) {
                found.push(Resolved { word: word.to_owned(), path: path.to_owned(), symbol: None });
            }
            continue;
        }
        // A definition whose name's words include it (`Parser`, `parse_config` for "parse").
        let hit = index.search(word, 50).into_iter().filter(|h| candidates(&h.path)).find(|h| {
            let name = h.name.to_lowercase();
            name == word || name.split('_').any(|w| w == word) || split_camel(h.name).iter().any(|w| w == word)
        });
        if let Some(hit) = hit.filter(|h| !found.iter().any(|r| r.symbol.as_ref().is_some_and(|(n, _)| n == h.name))) {
            found.push(Resolved {
                word: word.to_owned(),
                path: hit.path.to_owned(),
                symbol: Some((hit.name.to_owned(), hit.symbol.line)),
            });
        }
    }
    found.truncate(3);
    found
}

/// A word without its English ending, so that "parsing", "parser" and
/// `parse` meet (`pars`).
fn stem(word: &str) -> String {
    let word = word.to_lowercase();
    for ending in ["ing", "ers", "er", "ed", "es", "s", "e"] {
        if let Some(base) = word.strip_suffix(ending).filter(|b| b.len() >= 3) {
            // "formatted" → `format`.
            let doubled = base.len() >= 4 && base.as_bytes()[base.len() - 1] == base.as_bytes()[base.len() - 2];
            let consonant = !base.ends_with(['a', 'e', 'i', 'o', 'u', 'l', 's']);
            return if doubled && consonant { base[..base.len() - 1].to_owned() } else { base.to_owned() };
        }
    }
    word
}

/// A definition's name in words: `parse_duration`, `parseDuration`, `ParseDuration`.
fn name_words(name: &str) -> Vec<String> {
    name.split(['_', '-']).filter(|w| !w.is_empty()).flat_map(split_camel).collect()
}

fn split_camel(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in name.chars() {
        if c.is_uppercase() && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
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
    // Test code, not the fixtures and notes beside it (`test/fixture/*.json`, a README).
    let tests = index
        .paths()
        .filter(|p| super::is_test_path(p))
        .filter(|p| index.file(p).is_some_and(|f| f.language != context::Language::PlainText))
        .count();
    let mut report = format!("{speaker}'s project assessment\n\n- {files} files, {symbols} symbols indexed\n");
    if !facts.languages.is_empty() {
        let languages: Vec<String> = facts.languages.iter().map(|(l, n)| format!("{l} ({n})")).collect();
        report.push_str(&format!("- languages: {}\n", languages.join(", ")));
    }
    let list = |items: &[String]| if items.is_empty() { "none found".to_owned() } else { items.join(", ") };
    report.push_str(&format!("- build files: {}\n", list(&facts.build_files)));
    // With the evidence: how many test files import each.
    let imports = index.test_imports();
    let frameworks: Vec<String> = facts
        .test_frameworks
        .iter()
        .map(|f| match imports.iter().find(|(name, _)| name == f) {
            Some((_, 1)) => format!("{f} (1 test file imports it)"),
            Some((_, n)) => format!("{f} ({n} test files import it)"),
            None => f.clone(),
        })
        .collect();
    report.push_str(&format!("- test frameworks: {}\n", list(&frameworks)));
    report.push_str(&format!("- frameworks: {}\n", list(&facts.frameworks)));
    report.push_str(&format!("- linters, formatters and type checkers: {}\n", list(&facts.linters)));
    if !facts.package_managers.is_empty() {
        report.push_str(&format!("- package manager: {}\n", facts.package_managers.join(", ")));
    }
    report.push_str(&format!("- test files: {tests}\n"));
    report.push_str("\nNext steps:\n");
    if tests == 0 {
        report
            .push_str("- No tests found: ask Edison for tests of a function (`paired agents run edison --skill tests --file F --line N`).\n");
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
    fn a_request_of_several_tasks_is_split_into_them() {
        assert_eq!(
            parts("add a test for withQuery and review src/parse.ts"),
            ["add a test for withQuery", "review src/parse.ts"]
        );
        assert_eq!(parts("review the parser and the lexer"), ["review the parser and the lexer"]);
        assert_eq!(parts("write tests for parse; then find the TODOs."), ["write tests for parse", "find the TODOs"]);
        assert_eq!(parts("the parser, then review it"), ["the parser and review it"]);
        assert_eq!(parts("hello there"), ["hello there"]);
        assert_eq!(
            parts("document naturalsize, write tests for clamp, and review time.py for bugs"),
            ["document naturalsize", "write tests for clamp", "review time.py for bugs"]
        );
        assert_eq!(
            parts("write tests for intcomma, intword and ordinal"),
            ["write tests for intcomma, intword and ordinal"]
        );
        // A comma before no request's verb, or in quoted code, splits nothing.
        assert_eq!(parts("write tests for clamp, not documentation"), ["write tests for clamp, not documentation"]);
        assert_eq!(
            parts("explain why intcomma(\"1, 000\") fails, review it"),
            ["explain why intcomma(\"1, 000\") fails, review it"]
        );
        assert_eq!(parts("Review parse. It crashes on empty input"), ["Review parse and It crashes on empty input"]);
    }

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
        // Asked as users ask (python-humanize's trial): a bug, history, structure.
        assert_eq!(first("naturaltime returns wrong output for future dates, fix it"), "sherlock/review");
        assert_eq!(first("which files change most often?"), "marie/metrics");
        assert_eq!(first("is there a circular import?"), "leonardo/architecture");
        // A weak word does not outweigh what a request asks for.
        assert_eq!(first("write tests for the failing path"), "edison/tests");
        assert_eq!(first("import the CSV data"), "alex/assess", "not a question of structure");
    }

    #[test]
    fn names_in_a_request_resolve_to_files_and_definitions() {
        use context::{Language, index::FileEntry};
        let mut index = WorkspaceIndex::default();
        for (path, text) in [
            ("src/parser.rs", "pub struct Parser;\nimpl Parser { pub fn parse(&self) {} }\n"),
            ("src/lexer/mod.rs", "pub fn tokens() {}\n"),
            ("src/config.rs", "pub fn load_settings() {}\n"),
            ("tests/parser.rs", "fn parses() {}\n"),
            ("src/duration.rs", "pub fn parse_duration(s: &str) {}\npub fn format_duration() {}\n"),
        ] {
            index.upsert(path, FileEntry::parse(Language::from_path(path), text));
        }
        let found = |request: &str| -> Vec<String> {
            resolve(request, &index)
                .into_iter()
                .map(|r| match r.symbol {
                    Some((name, line)) => format!("{} {name}:{line}", r.path),
                    None => r.path,
                })
                .collect()
        };
        assert_eq!(found("review the parser"), ["src/parser.rs"], "not its test file");
        assert_eq!(found("write tests for the parser"), ["src/parser.rs"]);
        assert_eq!(found("is the lexer ok?"), ["src/lexer/mod.rs"]);
        assert_eq!(found("document how settings load"), ["src/config.rs load_settings:0"]);
        assert!(found("review everything please").is_empty());
        // Two words that name one definition together: it, before the file one of them names.
        assert_eq!(found("where is duration parsing?"), ["src/duration.rs parse_duration:0"]);
        assert_eq!(found("explain how durations are formatted"), ["src/duration.rs format_duration:1"]);
        let out = route_output("Alex", "review the parser", Some(&index));
        assert!(out.report.contains("- \"parser\": src/parser.rs"), "{}", out.report);
    }
}
