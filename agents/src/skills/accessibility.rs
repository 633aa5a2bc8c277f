//! Maya's accessibility checks on markup: JSX/TSX from the syntax tree, HTML
//! (and Vue/Svelte templates) from a tag scan. Each check is a WCAG failure a
//! screen-reader or keyboard user meets.

use std::collections::BTreeMap;

use context::{Language, SyntaxDocument};
use protocol::agents::Severity;
use regex::Regex;

use super::{RawFinding, SkillOutput};

/// One start tag: name, attributes (lower-cased names), bytes, and the text up
/// to its end tag when it has content (for buttons and links).
#[derive(Debug)]
struct Tag {
    name: String,
    attributes: BTreeMap<String, Option<String>>,
    bytes: std::ops::Range<usize>,
    content: Option<String>,
}

/// Files that hold no markup: source code Maya has nothing to check in.
const NOT_MARKUP: [&str; 16] =
    ["py", "pyi", "rs", "go", "java", "kt", "c", "h", "cc", "cpp", "hpp", "rb", "sh", "toml", "yaml", "yml"];

pub fn accessibility(speaker: &str, path: &str, text: &str) -> SkillOutput {
    let language = Language::from_path(path);
    let extension = path.rsplit_once('.').map_or("", |(_, e)| e).to_ascii_lowercase();
    if NOT_MARKUP.contains(&extension.as_str()) {
        let why =
            format!("`{path}` holds no markup to check (Maya checks HTML, JSX and TSX, Vue, Svelte and Markdown)");
        return SkillOutput { report: format!("{speaker}: {why}.\n"), none: Some(why), ..SkillOutput::default() };
    }
    let markdown = matches!(extension.as_str(), "md" | "markdown" | "mdx");
    // Markdown's code is not markup: `<T>` in a code block is an example.
    let scanned = if markdown { without_markdown_code(text) } else { text.to_owned() };
    let mut tags = match language {
        Language::JavaScript | Language::Tsx | Language::TypeScript => jsx_tags(language, text),
        _ => html_tags(&scanned),
    };
    if markdown {
        tags.extend(markdown_images(&scanned));
        tags.sort_by_key(|t| t.bytes.start);
    }
    let labelled_ids: Vec<&str> = tags
        .iter()
        .filter(|t| t.name == "label")
        .filter_map(|t| t.attributes.get("for").or(t.attributes.get("htmlfor")).and_then(|v| v.as_deref()))
        .collect();
    let mut findings = Vec::new();
    let mut find = |rule: &'static str, tag: &Tag, message: String| {
        findings.push(RawFinding {
            rule,
            severity: Severity::Warning,
            message,
            bytes: tag.bytes.clone(),
            path: None,
            line: None,
            fix: None,
        });
    };
    let has = |tag: &Tag, name: &str| tag.attributes.contains_key(name);
    let named = |tag: &Tag| has(tag, "aria-label") || has(tag, "aria-labelledby") || has(tag, "title");
    for tag in &tags {
        match tag.name.as_str() {
            "img" if !has(tag, "alt") => find(
                "img-alt",
                tag,
                "`<img>` without `alt`: add a description, or `alt=\"\"` if it is decorative (WCAG 1.1.1)".into(),
            ),
            "input" | "select" | "textarea" => {
                let kind = tag.attributes.get("type").and_then(|v| v.as_deref()).unwrap_or("text");
                if matches!(kind, "hidden" | "submit" | "button" | "reset" | "image") {
                    continue;
                }
                let id = tag.attributes.get("id").and_then(|v| v.as_deref());
                let labelled = named(tag) || id.is_some_and(|id| labelled_ids.contains(&id)) || tag.content.is_some();
                if !labelled && !inside_label(text, tag.bytes.start) {
                    find(
                        "unlabeled-control",
                        tag,
                        format!(
                            "`<{}>` has no label: add a `<label for>`, wrap it in `<label>`, or give it `aria-label` (WCAG 4.1.2)",
                            tag.name
                        ),
                    );
                }
            }
            "button" | "a" => {
                let content = tag.content.as_deref().unwrap_or("");
                let visible = strip_tags(content);
                if visible.trim().is_empty() && !named(tag) && !content.contains("alt=") {
                    find(
                        "empty-control",
                        tag,
                        format!(
                            "`<{}>` has no text a screen reader can announce: add text or `aria-label` (WCAG 2.4.4)",
                            tag.name
                        ),
                    );
                }
                if tag.name == "a" && !has(tag, "href") && (has(tag, "onclick")) {
                    find(
                        "clickable-non-button",
                        tag,
                        "`<a>` without `href` used as a button: use `<button>` (WCAG 2.1.1)".into(),
                    );
                }
            }
            "div" | "span" | "li" | "td" | "p" | "section" | "article"
                if has(tag, "onclick") && !(has(tag, "role") && has(tag, "tabindex")) =>
            {
                find(
                    "clickable-non-button",
                    tag,
                    format!(
                        "clickable `<{}>` is not reachable by keyboard: use `<button>`, or add `role=\"button\"`, `tabIndex={{0}}` and a key handler (WCAG 2.1.1)",
                        tag.name
                    ),
                );
            }
            "html" if !has(tag, "lang") => {
                find(
                    "html-lang",
                    tag,
                    "`<html>` without `lang`: screen readers guess the language (WCAG 3.1.1)".into(),
                );
            }
            _ => {}
        }
    }
    let report = if findings.is_empty() {
        format!("{speaker} checked `{path}` for accessibility: no problems found in {} element(s).\n", tags.len())
    } else {
        format!(
            "{speaker} checked `{path}` for accessibility: {} problem(s) in {} element(s).\n",
            findings.len(),
            tags.len()
        )
    };
    SkillOutput { report, findings, ..SkillOutput::default() }
}

/// `text` with Markdown's fenced code blocks and code spans blanked (a
/// space per byte, lines kept, so offsets stay the file's): what is left is
/// prose and markup. A fence closes on a line of its own character at least
/// as long; a span on a run of backticks as long as the one that opened it.
fn without_markdown_code(text: &str) -> String {
    let blank = |out: &mut String, piece: &str| {
        out.extend(piece.chars().flat_map(|c| std::iter::repeat_n(if c == '\n' { '\n' } else { ' ' }, c.len_utf8())));
    };
    let fence_of = |line: &str| {
        let trimmed = line.trim_start();
        let mark = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let run = trimmed.len() - trimmed.trim_start_matches(mark).len();
        (run >= 3).then_some((mark, run, trimmed[run..].trim().is_empty()))
    };
    let mut out = String::with_capacity(text.len());
    let mut open: Option<(char, usize)> = None;
    for line in text.split_inclusive('\n') {
        match (open, fence_of(line)) {
            (Some((mark, run)), Some((m, r, bare))) if m == mark && r >= run && bare => {
                open = None;
                blank(&mut out, line);
            }
            (Some(_), _) => blank(&mut out, line),
            (None, Some((mark, run, _))) => {
                open = Some((mark, run));
                blank(&mut out, line);
            }
            (None, None) => {
                let mut rest = line;
                while let Some(at) = rest.find('`') {
                    out.push_str(&rest[..at]);
                    let run = rest[at..].len() - rest[at..].trim_start_matches('`').len();
                    let ticks = &rest[at..at + run];
                    match rest[at + run..].find(ticks) {
                        Some(end) => {
                            blank(&mut out, &rest[at..at + run + end + run]);
                            rest = &rest[at + run + end + run..];
                        }
                        None => {
                            out.push_str(ticks);
                            rest = &rest[at + run..];
                        }
                    }
                }
                out.push_str(rest);
            }
        }
    }
    out
}

/// Markdown images (`![alt](src)`, and by reference: `![alt][ref]`,
/// `![alt][]`, the badges of most READMEs) as the `<img>` tags they become.
fn markdown_images(text: &str) -> Vec<Tag> {
    static IMAGE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let image = IMAGE.get_or_init(|| {
        Regex::new(r"!\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])").unwrap_or_else(|err| panic!("image pattern: {err}"))
    });
    image
        .captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let alt = c.get(1).map(|a| a.as_str().trim()).filter(|a| !a.is_empty());
            // An empty alt is a missing one here: Markdown has no way to say "decorative".
            let attributes = alt.map(|a| ("alt".to_owned(), Some(a.to_owned()))).into_iter().collect();
            Some(Tag { name: "img".into(), attributes, bytes: whole.range(), content: None })
        })
        .collect()
}

fn inside_label(text: &str, at: usize) -> bool {
    let before = &text[..at];
    match (before.rfind("<label"), before.rfind("</label")) {
        (Some(open), Some(close)) => open > close,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The text of an element's content without its tags; a JSX `{expression}`
/// counts as text (it renders some at run time).
fn strip_tags(text: &str) -> String {
    static TAG: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let tag = TAG.get_or_init(|| Regex::new(r"<[^>]*>").unwrap_or_else(|err| panic!("tag pattern: {err}")));
    tag.replace_all(text, "").into_owned()
}

fn html_tags(text: &str) -> Vec<Tag> {
    static START: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static ATTRIBUTE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let start = START.get_or_init(|| {
        Regex::new(r"(?s)<([A-Za-z][A-Za-z0-9-]*)((?:[^>\x22']|\x22[^\x22]*\x22|'[^']*')*)>")
            .unwrap_or_else(|err| panic!("tag pattern: {err}"))
    });
    let attribute = ATTRIBUTE.get_or_init(|| {
        Regex::new(r#"([@:A-Za-z_][-A-Za-z0-9_:.@]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"#)
            .unwrap_or_else(|err| panic!("attribute pattern: {err}"))
    });
    let without_comments = blank_comments(text);
    let mut tags = Vec::new();
    for found in start.captures_iter(&without_comments) {
        let (Some(whole), Some(name)) = (found.get(0), found.get(1)) else { continue };
        let name = name.as_str().to_ascii_lowercase();
        let mut attributes = BTreeMap::new();
        for a in attribute.captures_iter(found.get(2).map_or("", |m| m.as_str())) {
            let key = a.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
            let key = key.trim_start_matches("v-on:").trim_start_matches('@').to_owned();
            let key = if key == "click" { "onclick".to_owned() } else { key };
            let value = a.get(2).or(a.get(3)).or(a.get(4)).map(|m| m.as_str().to_owned());
            attributes.insert(key, value);
        }
        let close = format!("</{name}");
        let content = text[whole.end()..]
            .to_ascii_lowercase()
            .find(&close)
            .map(|end| text[whole.end()..whole.end() + end].to_owned());
        tags.push(Tag { name, attributes, bytes: whole.range(), content });
    }
    tags
}

/// Comments replaced by spaces, so commented-out markup is not checked.
fn blank_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("-->").map_or(rest.len(), |e| start + e + 3);
        // Byte for byte, so offsets in the result are offsets in `text`.
        for c in rest[start..end].chars() {
            if c == '\n' {
                out.push('\n');
            } else {
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn jsx_tags(language: Language, text: &str) -> Vec<Tag> {
    let doc = SyntaxDocument::new(language, text.to_owned());
    let Some(tree) = doc.tree() else { return Vec::new() };
    let mut tags = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        let (opening, content) = match node.kind() {
            "jsx_self_closing_element" => (node, None),
            "jsx_element" => {
                let Some(open) = node.child_by_field_name("open_tag") else { continue };
                let close = node.child_by_field_name("close_tag").map_or(node.end_byte(), |c| c.start_byte());
                (open, Some(text[open.end_byte()..close].to_owned()))
            }
            _ => continue,
        };
        let Some(name) = opening.child_by_field_name("name") else { continue };
        let name = &text[name.byte_range()];
        // Components (`<Button>`) render whatever they render: not judged here.
        if name.starts_with(|c: char| c.is_ascii_uppercase()) || name.contains('.') {
            continue;
        }
        let mut attributes = BTreeMap::new();
        let mut cursor = opening.walk();
        for attribute in opening.children_by_field_name("attribute", &mut cursor) {
            if attribute.kind() == "jsx_expression" {
                // `{...props}` may carry anything: assume it labels.
                attributes.insert("aria-label".to_owned(), None);
                continue;
            }
            let Some(key) = attribute.named_child(0) else { continue };
            let value = attribute.named_child(1).map(|v| text[v.byte_range()].trim_matches(['"', '\'']).to_owned());
            attributes.insert(text[key.byte_range()].to_ascii_lowercase(), value);
        }
        tags.push(Tag { name: name.to_ascii_lowercase(), attributes, bytes: opening.byte_range(), content });
    }
    tags.sort_by_key(|t| t.bytes.start);
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, source: &str) -> Vec<String> {
        accessibility("Maya", path, source)
            .findings
            .iter()
            .map(|f| format!("{} {}", source[..f.bytes.start].matches('\n').count() + 1, f.rule))
            .collect()
    }

    /// python-humanize's README: `<…>` in code is an example, not markup;
    /// its images are; a Python file has nothing to check.
    #[test]
    fn markdown_is_checked_outside_its_code_and_code_is_not_markup() {
        let readme = "# humanize\n\n![](docs/logo.png)\n![The logo](logo.png)\n\n```python\n>>> humanize.naturalsize(<int>)\n<img src=x>\n```\n\nUse `<button>` here.\n";
        assert_eq!(check("README.md", readme), ["3 img-alt"], "the image without alt text, nothing in code");
        let out = accessibility("Maya", "README.md", readme);
        assert!(out.report.contains("1 problem(s) in 2 element(s)"), "{}", out.report);
        // Offsets stay the file's past multi-byte code; a longer fence holds a shorter one;
        // a double-backtick span holds a backtick.
        let tricky = "`é` é `日本`\n````md\n```\n<img src=x>\n```\n````\n``a ` <img src=y>``\n<input>\n";
        assert_eq!(without_markdown_code(tricky).len(), tricky.len());
        assert_eq!(check("README.md", tricky), ["8 unlabeled-control"], "only the input outside code");
        // Badges by reference (ufo's README): with alt text, and without.
        let badges = "[![npm version][npm-version-src]][npm-version-href]\n[![][x]][y]\n\n[npm-version-src]: https://img.shields.io/x\n";
        assert_eq!(check("README.md", badges), ["2 img-alt"]);
        assert!(accessibility("Maya", "README.md", badges).report.contains("in 2 element(s)"));
        let python = accessibility("Maya", "src/humanize/time.py", "x = '<img>'\n");
        assert!(python.findings.is_empty() && python.none.as_deref().is_some_and(|w| w.contains("holds no markup")));
    }

    #[test]
    fn jsx() {
        let source = r#"export function Card({ user }) {
  return (
    <div onClick={open}>
      <img src={user.avatar} />
      <img src="x.png" alt="" />
      <input type="text" />
      <label htmlFor="q">Search</label><input id="q" />
      <button onClick={close}></button>
      <button aria-label="Close" onClick={close}><Icon /></button>
      <button>{t("save")}</button>
      <Avatar src={user.avatar} />
      <div role="button" tabIndex={0} onClick={open} onKeyDown={key}>ok</div>
    </div>
  );
}
"#;
        assert_eq!(
            check("web/Card.tsx", source),
            ["3 clickable-non-button", "4 img-alt", "6 unlabeled-control", "8 empty-control"]
        );
    }

    #[test]
    fn non_ascii_comments_keep_offsets() {
        let source = "<!--😀 é-->\n<img src=\"é.png\">\n<input title=\"é\">\n";
        assert_eq!(check("page.html", source), ["2 img-alt"]);
    }

    #[test]
    fn html() {
        let source = "<html>\n<body>\n<!-- <img src=\"old.png\"> -->\n<img src=\"a.png\">\n<label>Name <input name=\"n\"></label>\n<input type=\"email\">\n<a onclick=\"go()\">Go</a>\n<input type=\"hidden\" name=\"t\">\n</body>\n</html>\n";
        assert_eq!(
            check("index.html", source),
            ["1 html-lang", "4 img-alt", "6 unlabeled-control", "7 clickable-non-button"]
        );
    }
}
