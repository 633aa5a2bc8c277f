//! What a prompt asks: its text and the files it points at (links, embedded
//! resources, a file of the session's folder its words name), and which agent
//! takes it.

use std::path::{Path, PathBuf};

use agent_client_protocol::v1::schema::{ContentBlock, EmbeddedResourceResource};

use super::session::{AgentChoice, TEAM};

/// What a prompt asks, once its content blocks are read.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Ask {
    pub(super) text: String,
    /// The files the prompt points at: uri (without fragment), line range, text sent along.
    pub(super) files: Vec<FileRef>,
}

#[derive(Debug, PartialEq)]
pub(super) struct FileRef {
    pub(super) uri: String,
    pub(super) lines: Option<(u32, u32)>,
    pub(super) text: Option<String>,
}

/// The file a prompt's words name ("review src/main.rs"), relative to the
/// session's folder or absolute, as a path or a `file://` URI: the first word
/// that is a file inside the folder.
pub(super) fn named_file(text: &str, cwd: &Path) -> Option<PathBuf> {
    let quotes = |c: char| matches!(c, '`' | '"' | '\'' | '(' | ')' | '[' | ']' | '<' | '>' | ',' | ';' | '!' | '?');
    text.split_whitespace()
        .take(256)
        .map(|word| word.trim_matches(quotes).trim_end_matches([':', '.']))
        .filter(|word| !word.is_empty() && !word.starts_with('@'))
        .find_map(|word| {
            let path = match word.strip_prefix("file://") {
                Some(_) => crate::platform::uri::to_path(word)?,
                None => cwd.join(word),
            };
            let real = std::fs::canonicalize(path).ok()?;
            (real.starts_with(cwd) && real.is_file()).then_some(real)
        })
}

/// Which agent (and skill) takes a prompt: `@agent` first, else the session's
/// mode, else Alex's routing rules. Returns the prompt without the `@agent`.
pub(super) fn choose(agents: &[AgentChoice], mode: &str, text: &str) -> (String, Option<String>, String) {
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix('@') {
        let (name, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let name = name.trim_end_matches([',', ':']).to_lowercase();
        if let Some(agent) = agents.iter().find(|a| a.id == name || a.aliases.contains(&name)) {
            return (agent.id.clone(), None, after.trim().to_owned());
        }
    }
    if mode != TEAM {
        return (mode.to_owned(), None, text.trim().to_owned());
    }
    let (agent, skill) =
        agents::skills::route::route(text).into_iter().next().unwrap_or(("alex".into(), "assess".into()));
    (agent, Some(skill), text.trim().to_owned())
}

pub(super) fn read_prompt(blocks: &[ContentBlock]) -> Ask {
    let mut ask = Ask::default();
    for block in blocks {
        match block {
            ContentBlock::Text(text) => {
                if !ask.text.is_empty() {
                    ask.text.push('\n');
                }
                ask.text.push_str(&text.text);
            }
            ContentBlock::ResourceLink(link) => ask.files.extend(file_ref(&link.uri, None)),
            ContentBlock::Resource(embedded) => {
                if let EmbeddedResourceResource::TextResourceContents(contents) = &embedded.resource {
                    ask.files.extend(file_ref(&contents.uri, Some(contents.text.clone())));
                }
            }
            _ => {}
        }
    }
    ask
}

/// A `file://` URI as clients send it, with Zed's `#L10:20` (or `#L10-20`)
/// line fragment taken off.
fn file_ref(uri: &str, text: Option<String>) -> Option<FileRef> {
    if !uri.starts_with("file://") {
        return None;
    }
    let (base, fragment) = uri.split_once('#').unwrap_or((uri, ""));
    let lines = fragment.strip_prefix('L').and_then(|range| {
        let (first, last) = range.split_once([':', '-']).unwrap_or((range, range));
        let first: u32 = first.trim_start_matches('L').parse().ok()?;
        let last: u32 = last.trim_start_matches('L').parse().ok()?;
        (first >= 1 && last >= first).then_some((first, last))
    });
    // An embedded excerpt of some lines is not the file's text.
    let text = if lines.is_some() { None } else { text };
    Some(FileRef { uri: base.to_owned(), lines, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Vec<AgentChoice> {
        ["alex", "sherlock", "edison"]
            .iter()
            .map(|id| AgentChoice {
                id: (*id).to_owned(),
                name: id.to_uppercase(),
                description: String::new(),
                aliases: if *id == "sherlock" { vec!["qa".to_owned()] } else { Vec::new() },
            })
            .collect()
    }

    #[test]
    fn an_at_name_picks_the_agent_else_the_mode_else_alex_routes() {
        let agents = team();
        assert_eq!(choose(&agents, TEAM, "@qa, look at this"), ("sherlock".into(), None, "look at this".into()));
        assert_eq!(choose(&agents, TEAM, "@nobody hi").0, "alex");
        assert_eq!(choose(&agents, "edison", "write tests"), ("edison".into(), None, "write tests".into()));
        assert_eq!(
            choose(&agents, TEAM, "please review this for bugs"),
            ("sherlock".into(), Some("review".into()), "please review this for bugs".into())
        );
    }

    #[test]
    fn files_come_from_links_and_embedded_resources_with_line_fragments() {
        assert_eq!(
            file_ref("file:///p/a.rs#L3:9", Some("x".into())),
            Some(FileRef { uri: "file:///p/a.rs".into(), lines: Some((3, 9)), text: None })
        );
        assert_eq!(file_ref("file:///p/a.rs#L4-2", None).and_then(|f| f.lines), None);
        assert_eq!(file_ref("file:///p/a.rs", Some("t".into())).and_then(|f| f.text), Some("t".into()));
        assert_eq!(file_ref("https://example.com/a.rs", None), None);
    }

    /// Issue #15: "review src/main.rs" was refused for want of a file.
    #[test]
    fn a_prompt_names_a_file_of_the_session_folder_by_path_or_uri() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cwd = std::fs::canonicalize(dir.path()).expect("canonical");
        std::fs::create_dir_all(cwd.join("src")).expect("mkdir");
        std::fs::write(cwd.join("src/main.rs"), "fn main() {}\n").expect("write");
        let main = cwd.join("src/main.rs");
        let uri = crate::platform::uri::from_path(&main);
        let cases = [
            ("review src/main.rs", Some(&main)),
            ("is `src/main.rs`, safe?", Some(&main)),
            ("look at src/main.rs.", Some(&main)),
            (&*format!("review {}", main.display()), Some(&main)),
            (&*format!("review ({uri})"), Some(&main)),
            ("review src", None),
            ("review this file", None),
            ("review ../../../etc/passwd", None),
            ("review /etc/passwd", None),
        ];
        for (prompt, expected) in cases {
            assert_eq!(named_file(prompt, &cwd).as_ref(), expected, "{prompt}");
        }
    }
}
