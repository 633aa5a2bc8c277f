//! Vince's backlog: every TODO/FIXME/XXX/HACK comment of the workspace as a task,
//! grouped by owner and file. The owner is the one the comment names
//! (`TODO(ada)`, `TODO @ada`), else the file's most frequent git author.

use std::collections::BTreeMap;

use context::{Language, SyntaxDocument};
use regex::Regex;

use super::History;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub path: String,
    /// Zero-based.
    pub line: u32,
    pub tag: String,
    pub text: String,
    pub owner: Option<String>,
}

/// `TODO(owner): text`, `FIXME @owner text`, `XXX: text`…
pub(crate) fn pattern() -> &'static Regex {
    static TASK: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    TASK.get_or_init(|| {
        Regex::new(r"\b(TODO|FIXME|XXX|HACK)\b(?:\(([^)]*)\))?:?\s*(?:@([A-Za-z0-9_.-]+):?\s*)?(.*)")
            .unwrap_or_else(|err| panic!("task pattern: {err}"))
    })
}

/// The tasks in one file's comments (parsed languages: comment nodes only, so
/// strings never count; other files: `#` and `//` comment lines).
pub fn tasks(path: &str, text: &str) -> Vec<Task> {
    let language = Language::from_path(path);
    let mut comments: Vec<(u32, &str)> = Vec::new();
    if language == Language::PlainText {
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') || trimmed.starts_with("//") || trimmed.starts_with("<!--") {
                comments.push((n as u32, line));
            }
        }
    } else {
        let doc = SyntaxDocument::new(language, text.to_owned());
        let Some(tree) = doc.tree() else { return Vec::new() };
        let mut stack = vec![tree.root_node()];
        let mut found = Vec::new();
        while let Some(node) = stack.pop() {
            if node.kind().contains("comment") {
                found.push((node.start_position().row as u32, node.byte_range()));
                continue;
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        found.sort_by_key(|(line, _)| *line);
        for (line, bytes) in found {
            for (i, part) in text[bytes].lines().enumerate() {
                comments.push((line + i as u32, part));
            }
        }
    }
    let mut out = Vec::new();
    for (line, comment) in comments {
        let Some(captures) = pattern().captures(comment) else { continue };
        let tag = captures.get(1).map_or("", |m| m.as_str()).to_owned();
        let owner = captures.get(2).or(captures.get(3)).map(|m| m.as_str().trim().to_owned()).filter(|o| !o.is_empty());
        let text = captures.get(4).map_or("", |m| m.as_str()).trim().trim_end_matches("*/").trim_end_matches("-->");
        out.push(Task { path: path.to_owned(), line, tag, text: text.trim().to_owned(), owner });
    }
    out
}

/// The backlog as Markdown, grouped by owner, then file.
pub fn report(speaker: &str, tasks: &[Task], history: Option<&History>) -> String {
    if tasks.is_empty() {
        return format!("{speaker}'s backlog: no TODO, FIXME, XXX or HACK comments found.\n");
    }
    // The one the comment names; else who wrote the comment's line; else who
    // changed the file most (said as such).
    let owner_of = |task: &Task| -> String {
        task.owner.clone().unwrap_or_else(|| {
            let wrote = history.and_then(|h| h.blame.get(&task.path)).and_then(|lines| lines.get(task.line as usize));
            if let Some(author) = wrote {
                return author.clone();
            }
            history
                .and_then(|h| h.files.get(&task.path))
                .and_then(|f| f.authors.first())
                .map_or_else(|| "unassigned".to_owned(), |(author, _)| format!("{author} (changed the file most)"))
        })
    };
    let mut groups: BTreeMap<String, BTreeMap<&str, Vec<&Task>>> = BTreeMap::new();
    for task in tasks {
        groups.entry(owner_of(task)).or_default().entry(&task.path).or_default().push(task);
    }
    let fixme = tasks.iter().filter(|t| t.tag != "TODO").count();
    let mut out = format!(
        "{speaker}'s backlog: {} task(s) ({} TODO, {fixme} FIXME/XXX/HACK), {} owner(s).\n",
        tasks.len(),
        tasks.len() - fixme,
        groups.len()
    );
    for (owner, files) in &groups {
        out.push_str(&format!("\n## {owner}\n"));
        for (path, tasks) in files {
            out.push_str(&format!("\n### {path}\n"));
            for task in tasks {
                let text = if task.text.is_empty() { "(no description)" } else { &task.text };
                out.push_str(&format!("- [ ] {}:{} **{}** {text}\n", path, task.line + 1, task.tag));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_come_from_comments_with_owners() {
        let source = "// TODO(ada): split this\nfn f() {\n    let s = \"TODO: not a task\";\n    /* FIXME @bob overflow */\n}\n// HACK\n";
        let got = tasks("src/a.rs", source);
        let rendered: Vec<String> =
            got.iter().map(|t| format!("{}:{} {} {:?} {}", t.path, t.line + 1, t.tag, t.owner, t.text)).collect();
        assert_eq!(
            rendered,
            [
                "src/a.rs:1 TODO Some(\"ada\") split this",
                "src/a.rs:4 FIXME Some(\"bob\") overflow",
                "src/a.rs:6 HACK None ",
            ]
        );
        let mut history = History::default();
        history.files.insert(
            "src/a.rs".into(),
            super::super::FileHistory { commits: 2, lines_changed: 9, authors: vec![("Cy".into(), 2)] },
        );
        let report = report("Vince", &got, Some(&history));
        assert!(report.starts_with("Vince's backlog: 3 task(s) (1 TODO, 2 FIXME/XXX/HACK), 3 owner(s)."), "{report}");
        assert!(
            report
                .contains("## Cy (changed the file most)\n\n### src/a.rs\n- [ ] src/a.rs:6 **HACK** (no description)"),
            "{report}"
        );
        // Who wrote the comment's line owns it, not who edits the file most.
        history.blame.insert("src/a.rs".into(), ["ada", "ada", "ada", "bob", "ada", "Dee"].map(String::from).to_vec());
        let report = super::report("Vince", &got, Some(&history));
        assert!(report.contains("## Dee\n\n### src/a.rs\n- [ ] src/a.rs:6 **HACK**"), "{report}");
        assert!(report.contains("## ada\n\n### src/a.rs\n- [ ] src/a.rs:1 **TODO** split this"), "{report}");
    }
}
