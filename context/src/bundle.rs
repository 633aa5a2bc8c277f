//! Context bundles: what an agent sees for a position in a document, fitted to a
//! token budget by priority.
//!
//! Parts, most important first: the question, the selection (or the lines around
//! the cursor), the editor's diagnostics, the enclosing symbol, definitions of
//! what it uses, its callers, the relevant parts of imported files, and project
//! facts. When the budget runs out, the least important parts are dropped first;
//! a long part may be cut, but only at a line boundary. Every drop is recorded.
//! With `redact`, secrets are removed from every part before it is counted.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::{
    SyntaxDocument,
    index::{ProjectFacts, WorkspaceIndex},
    redact,
    symbols::{self, SymbolKind},
    syntax::point_at,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartKind {
    Question,
    Selection,
    Diagnostics,
    EnclosingSymbol,
    Definition,
    Caller,
    Import,
    ProjectFacts,
}

impl PartKind {
    pub fn name(self) -> &'static str {
        match self {
            PartKind::Question => "question",
            PartKind::Selection => "selection",
            PartKind::Diagnostics => "diagnostics",
            PartKind::EnclosingSymbol => "enclosing_symbol",
            PartKind::Definition => "definition",
            PartKind::Caller => "caller",
            PartKind::Import => "import",
            PartKind::ProjectFacts => "project_facts",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub kind: PartKind,
    pub title: String,
    pub path: Option<String>,
    /// One-based, inclusive.
    pub lines: Option<(u32, u32)>,
    pub text: String,
    pub tokens: usize,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub kind: PartKind,
    pub title: String,
    pub tokens: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bundle {
    pub parts: Vec<Part>,
    pub dropped: Vec<Dropped>,
    pub tokens: usize,
    pub budget: usize,
    /// Secrets removed, by rule.
    pub redactions: BTreeMap<String, u32>,
    pub facts: ProjectFacts,
}

pub struct BundleInput<'a> {
    /// The document's path as shown to the agent (workspace-relative when known).
    pub path: &'a str,
    pub document: &'a SyntaxDocument,
    /// Byte range; empty for a cursor.
    pub selection: Range<usize>,
    pub question: Option<&'a str>,
    /// The editor's diagnostics for this file, one line each ("12: error: ...").
    pub diagnostics: &'a [String],
    pub index: Option<&'a WorkspaceIndex>,
    /// The file's index entry: for a file that is not open, the daemon passes its
    /// text unparsed (`Language::PlainText`) and the structure comes from here.
    pub entry: Option<&'a crate::index::FileEntry>,
    /// Reads another workspace file by index path; the daemon supplies it and
    /// returns `None` for files that are ignored or unreadable.
    pub read_file: &'a dyn Fn(&str) -> Option<String>,
    pub budget_tokens: usize,
    pub redact: bool,
}

/// A rough, tokenizer-free estimate: ~4 bytes of source per token.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4).max(1)
}

const CURSOR_CONTEXT_LINES: usize = 10;
const MAX_DEFINITIONS: usize = 8;
const MAX_CALLERS: usize = 5;
const MAX_DEFINITION_LINES: u32 = 40;

struct Candidate {
    priority: u32,
    part: Part,
    /// May be cut at a line boundary instead of dropped.
    truncatable: bool,
}

pub fn build(input: &BundleInput<'_>) -> Bundle {
    // Each other file is read (and mapped for redaction) at most once per bundle.
    let reads: std::cell::RefCell<HashMap<String, Option<std::rc::Rc<str>>>> = Default::default();
    let read_file = |path: &str| -> Option<std::rc::Rc<str>> {
        reads.borrow_mut().entry(path.to_owned()).or_insert_with(|| (input.read_file)(path).map(Into::into)).clone()
    };
    let maps: std::cell::RefCell<HashMap<String, std::rc::Rc<redact::LineMap>>> = Default::default();
    // Lines are cut out of files redacted as a whole would be (a cut through a
    // key must not hide it from the rule that needs both its ends), at the cost
    // of the lines shown rather than the file.
    let window = |path: &str, text: &str, first: u32, last: u32| -> (String, Option<(u32, u32)>) {
        if !input.redact {
            return line_slice(text, first, last);
        }
        let map = maps
            .borrow_mut()
            .entry(path.to_owned())
            .or_insert_with(|| std::rc::Rc::new(redact::LineMap::new(text)))
            .clone();
        let (region, offset) = map.redact_window(path, text, first, last);
        let (body, lines) = line_slice(&region, first.saturating_sub(offset), last.saturating_sub(offset));
        (body, lines.map(|(a, b)| (a + offset, b + offset)))
    };
    let text = input.document.text();
    let shown: std::rc::Rc<str> = text.into();
    let selection = input.selection.start.min(text.len())..input.selection.end.min(text.len());
    let structure = Structure::new(input, selection.start);
    let mut candidates = Vec::new();
    let mut add = |priority: u32, kind, title: String, path: Option<&str>, lines, body: String, truncatable| {
        candidates.push(Candidate {
            priority,
            part: Part { kind, title, path: path.map(str::to_owned), lines, tokens: 0, text: body, truncated: false },
            truncatable,
        });
    };

    if let Some(question) = input.question.filter(|q| !q.trim().is_empty()) {
        add(100, PartKind::Question, "question".into(), None, None, question.trim().to_owned(), false);
    }

    let (first, last) = if selection.is_empty() {
        let line = point_at(text, selection.start).row;
        (line.saturating_sub(CURSOR_CONTEXT_LINES), line + CURSOR_CONTEXT_LINES)
    } else {
        (point_at(text, selection.start).row, point_at(text, selection.end.saturating_sub(1).max(selection.start)).row)
    };
    let (body, lines_shown) = window(input.path, &shown, first as u32, last as u32);
    let title = if selection.is_empty() { "around the cursor" } else { "selection" };
    add(95, PartKind::Selection, title.into(), Some(input.path), lines_shown, body, true);

    if !input.diagnostics.is_empty() {
        add(
            90,
            PartKind::Diagnostics,
            "diagnostics".into(),
            Some(input.path),
            None,
            input.diagnostics.join("\n"),
            true,
        );
    }

    let chain = &structure.chain;
    let enclosing = chain.last();
    if let Some(symbol) = enclosing {
        let (body, lines_shown) = window(input.path, &shown, symbol.start_line, symbol.end_line);
        let title = format!("{} {}", symbol.kind.name(), symbol.name);
        add(85, PartKind::EnclosingSymbol, title, Some(input.path), lines_shown, body, true);
    }

    if let Some(index) = input.index {
        // Definitions of the names used where the user is.
        let focus = enclosing.map_or(selection.clone(), |s| s.bytes.clone());
        let mut uses: Vec<(String, usize)> = identifiers(input.document, focus).into_iter().collect();
        uses.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut shown_defs = 0;
        for (name, _) in uses {
            if shown_defs == MAX_DEFINITIONS {
                break;
            }
            if enclosing.is_some_and(|s| s.name == name) {
                continue;
            }
            let Some((path, symbol)) =
                index.definitions(&name).into_iter().min_by_key(|(p, _)| (*p != input.path, p.len()))
            else {
                continue;
            };
            if path == input.path && chain.iter().any(|s| s.start_line == symbol.line) {
                continue;
            }
            let end = symbol.end_line.min(symbol.line + MAX_DEFINITION_LINES);
            let source: Option<std::rc::Rc<str>> =
                if path == input.path { Some(shown.clone()) } else { read_file(path) };
            let (body, lines_shown) = match source {
                Some(source) => window(path, &source, symbol.line, end),
                None => (format!("{} {name}", symbol.kind.name()), Some((symbol.line + 1, symbol.line + 1))),
            };
            let title = format!("{} {name} ({path})", symbol.kind.name());
            add(70 - shown_defs as u32, PartKind::Definition, title, Some(path), lines_shown, body, true);
            shown_defs += 1;
        }

        // Who calls the enclosing function.
        if let Some(symbol) = enclosing.filter(|s| matches!(s.kind, SymbolKind::Function | SymbolKind::Method)) {
            for (rank, (path, line)) in index.callers(&symbol.name, MAX_CALLERS).into_iter().enumerate() {
                let source: Option<std::rc::Rc<str>> =
                    if path == input.path { Some(shown.clone()) } else { read_file(path) };
                let Some(source) = source else { continue };
                let (body, lines_shown) = window(path, &source, line.saturating_sub(2), line + 2);
                add(
                    60 - rank as u32,
                    PartKind::Caller,
                    format!("call of {} in {path}", symbol.name),
                    Some(path),
                    lines_shown,
                    body,
                    true,
                );
            }
        }

        // What this file imports from the workspace: the signatures it can use.
        for (rank, import) in structure.imports.iter().enumerate() {
            let Some(target) = index.resolve_import(input.path, import) else { continue };
            let Some(file) = index.file(target) else { continue };
            let named: Vec<_> = file.named_symbols().filter(|(name, _)| import.text.contains(name)).collect();
            let chosen: Vec<_> = if named.is_empty() {
                file.named_symbols().filter(|(_, s)| s.parent().is_none()).collect()
            } else {
                named
            };
            if chosen.is_empty() {
                continue;
            }
            let source = read_file(target);
            let body = chosen
                .iter()
                .take(20)
                .map(|(name, s)| match &source {
                    Some(source) => crate::index::signature_at(&window(target, source, s.line, s.line).0, 0),
                    None => format!("{} {name}", s.kind.name()),
                })
                .collect::<Vec<_>>()
                .join("\n");
            add(
                50u32.saturating_sub(rank as u32),
                PartKind::Import,
                format!("from {target}: {}", import.text),
                Some(target),
                None,
                body,
                true,
            );
        }
    }

    let facts = input.index.map(WorkspaceIndex::facts).unwrap_or_default();
    let facts_text = render_facts(&facts);
    if !facts_text.is_empty() {
        add(40, PartKind::ProjectFacts, "project".into(), None, None, facts_text, false);
    }

    fit(candidates, input.budget_tokens, input.redact, facts)
}

fn fit(mut candidates: Vec<Candidate>, budget: usize, redact_secrets: bool, facts: ProjectFacts) -> Bundle {
    let mut bundle = Bundle { budget, facts, ..Bundle::default() };
    candidates.sort_by_key(|c| std::cmp::Reverse(c.priority));
    let mut out_of_budget = false;
    for Candidate { mut part, truncatable, .. } in candidates {
        // Already in view: a definition or symbol inside lines another part shows.
        if bundle.parts.iter().any(|shown| contains(shown, &part)) {
            continue;
        }
        // Redacted before it is measured (source files already are; this catches
        // questions, diagnostics and titles); counted from what is sent.
        if redact_secrets {
            part.text = redact::redact(part.path.as_deref().unwrap_or(""), &part.text).0;
            part.title = redact::redact("", &part.title).0;
        }
        part.tokens = estimate_tokens(&part.text);
        let left = budget.saturating_sub(bundle.tokens);
        if !out_of_budget && part.tokens <= left {
            redact::count_markers(&part.title, &mut bundle.redactions);
            redact::count_markers(&part.text, &mut bundle.redactions);
            bundle.tokens += part.tokens;
            bundle.parts.push(part);
            continue;
        }
        if !out_of_budget && truncatable && left >= 16 {
            let mut kept = String::new();
            let mut lines_kept = 0u32;
            for line in part.text.split_inclusive('\n') {
                if estimate_tokens(&kept) + estimate_tokens(line) > left.saturating_sub(2) {
                    break;
                }
                kept.push_str(line);
                lines_kept += 1;
            }
            if lines_kept > 0 {
                let original_tokens = part.tokens;
                part.text = format!("{kept}…\n");
                part.tokens = estimate_tokens(&part.text);
                part.truncated = true;
                if let Some((start, _)) = part.lines {
                    part.lines = Some((start, start + lines_kept - 1));
                }
                let title = format!("rest of {}", part.title);
                bundle.dropped.push(Dropped {
                    kind: part.kind,
                    title,
                    tokens: original_tokens.saturating_sub(part.tokens),
                });
                bundle.tokens += part.tokens;
                bundle.parts.push(part);
                out_of_budget = true;
                continue;
            }
        }
        // Whatever does not fit goes, and so does everything less relevant.
        out_of_budget = true;
        bundle.dropped.push(Dropped { kind: part.kind, title: part.title, tokens: part.tokens });
    }
    bundle
}

/// Whether `shown` already shows all of `part`'s lines of the same file.
fn contains(shown: &Part, part: &Part) -> bool {
    match (&shown.path, shown.lines, &part.path, part.lines) {
        (Some(a), Some((a1, a2)), Some(b), Some((b1, b2))) => a == b && a1 <= b1 && b2 <= a2 && !shown.truncated,
        _ => false,
    }
}

/// Lines `first..=last` (zero-based, clamped) and the one-based range shown.
/// Stops reading at `last`: files can be large.
fn line_slice(text: &str, first: u32, last: u32) -> (String, Option<(u32, u32)>) {
    let mut out = String::new();
    let mut shown = None;
    let mut last_seen = None;
    for (n, line) in text.split_inclusive('\n').enumerate().take(last as usize + 1) {
        last_seen = Some((n, line));
        if n >= first as usize {
            out.push_str(line);
            shown = Some((shown.map_or(n as u32 + 1, |(a, _)| a), n as u32 + 1));
        }
    }
    if shown.is_none() {
        // Past the end: show the last line.
        if let Some((n, line)) = last_seen {
            return (line.to_owned(), Some((n as u32 + 1, n as u32 + 1)));
        }
    }
    (out, shown)
}

/// The definitions around the cursor and the file's imports.
struct Structure {
    chain: Vec<Enclosing>,
    imports: Vec<symbols::Import>,
}

struct Enclosing {
    name: String,
    kind: SymbolKind,
    /// Zero-based.
    start_line: u32,
    end_line: u32,
    bytes: Range<usize>,
}

impl Structure {
    fn new(input: &BundleInput<'_>, byte: usize) -> Structure {
        let doc = input.document;
        if doc.tree().is_some() {
            let chain = symbols::enclosing_at(doc, byte)
                .into_iter()
                .map(|s| Enclosing {
                    name: s.name,
                    kind: s.kind,
                    start_line: s.start.line,
                    end_line: s.end.line,
                    bytes: s.bytes,
                })
                .collect();
            return Structure { chain, imports: symbols::imports(doc) };
        }
        let Some(entry) = input.entry else { return Structure { chain: Vec::new(), imports: Vec::new() } };
        // From the index: no parse. Byte ranges come from line starts.
        let text = doc.text();
        let line = crate::syntax::point_at(text, byte).row as u32;
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let at = |l: u32| starts.get(l as usize).copied().unwrap_or(text.len());
        let mut chain: Vec<Enclosing> = entry
            .named_symbols()
            .filter(|(_, s)| s.line <= line && line <= s.end_line)
            .map(|(name, s)| Enclosing {
                name: name.to_owned(),
                kind: s.kind,
                start_line: s.line,
                end_line: s.end_line,
                bytes: at(s.line)..at(s.end_line + 1),
            })
            .collect();
        chain.sort_by(|a, b| a.start_line.cmp(&b.start_line).then(b.end_line.cmp(&a.end_line)));
        Structure { chain, imports: entry.imports.clone() }
    }
}

/// Identifier names used in `range`, with counts: from the tree when there is
/// one, else from the words of the text.
fn identifiers(doc: &SyntaxDocument, range: Range<usize>) -> HashMap<String, usize> {
    let mut found = HashMap::new();
    let Some(tree) = doc.tree() else {
        let text = doc.text().get(range.clone()).unwrap_or("");
        for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if word.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
                *found.entry(word.to_owned()).or_insert(0) += 1;
            }
        }
        return found;
    };
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.end_byte() <= range.start || node.start_byte() >= range.end.max(range.start + 1) {
            continue;
        }
        if node.child_count() == 0 {
            if node.kind().ends_with("identifier") {
                *found.entry(doc.text()[node.byte_range()].to_owned()).or_insert(0) += 1;
            }
            continue;
        }
        cursor.reset(node);
        stack.extend(node.children(&mut cursor));
    }
    found
}

fn render_facts(facts: &ProjectFacts) -> String {
    let mut lines = Vec::new();
    if !facts.languages.is_empty() {
        let langs: Vec<String> = facts.languages.iter().map(|(l, n)| format!("{l} ({n} files)")).collect();
        lines.push(format!("languages: {}", langs.join(", ")));
    }
    for (label, list) in [
        ("build files", &facts.build_files),
        ("test frameworks", &facts.test_frameworks),
        ("frameworks", &facts.frameworks),
    ] {
        if !list.is_empty() {
            lines.push(format!("{label}: {}", list.join(", ")));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests;
