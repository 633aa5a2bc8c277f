//! Fill-in-the-middle, sans IO: whether a completion is wanted at the cursor,
//! when a streamed one has said enough ([`Cutter`]), and how much of it to keep
//! ([`settle`]: the longest part, cut at a line end, that leaves the document
//! parsing as well as it did without it).
//!
//! Cutting while streaming is what makes completions fast: the provider request
//! is dropped as soon as the [`Cutter`] says stop, rather than when the model
//! runs out of tokens.

use tree_sitter::Tree;

use crate::{Language, SyntaxDocument};

/// Why a completion ends where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The model stopped.
    Model,
    /// The cursor is inside a line: one line only.
    Line,
    /// A line went left of the cursor's block: the block is over.
    Block,
    /// The longer text would not have parsed as well as the file did.
    Syntax,
    /// The line limit.
    Length,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Model => "model",
            Stop::Line => "line",
            Stop::Block => "block",
            Stop::Syntax => "syntax",
            Stop::Length => "length",
        }
    }
}

/// Whether to ask for a completion at byte `at`: an automatic one is not
/// wanted in the middle of a word (the user is typing it).
pub fn wanted(text: &str, at: usize, automatic: bool) -> bool {
    let next = text.get(at..).and_then(|rest| rest.chars().next());
    !(automatic && next.is_some_and(|c| c.is_alphanumeric() || c == '_'))
}

/// The text of the cursor's line before and after the cursor.
fn line_around(text: &str, at: usize) -> (&str, &str) {
    let start = text[..at].rfind('\n').map_or(0, |nl| nl + 1);
    let end = text[at..].find('\n').map_or(text.len(), |nl| at + nl);
    (&text[start..at], &text[at..end])
}

fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// Watches a streamed completion and says when it has said enough.
#[derive(Debug)]
pub struct Cutter {
    /// The cursor has text after it on its line: complete that line only.
    single_line: bool,
    /// What follows the cursor on its line (to drop a repeated closer).
    line_suffix: String,
    max_lines: usize,
    /// Indentation of the cursor's line: a later line left of it ends the block.
    base_indent: usize,
    text: String,
    cut: Option<(usize, Stop)>,
}

impl Cutter {
    pub fn new(text: &str, at: usize, max_lines: usize) -> Cutter {
        let (before, after) = line_around(text, at);
        Cutter {
            single_line: !after.trim().is_empty(),
            line_suffix: after.to_owned(),
            max_lines: max_lines.max(1),
            base_indent: indent_of(before),
            text: String::new(),
            cut: None,
        }
    }

    /// Takes the next piece of the stream; true when enough has come (stop
    /// the stream).
    pub fn push(&mut self, piece: &str) -> bool {
        if self.cut.is_some() {
            return true;
        }
        let from = self.text.len();
        self.text.push_str(piece);
        // Look at each line that is complete, or at its indentation once its
        // first visible character has come.
        let mut line_start = self.text[..from].rfind('\n').map_or(0, |nl| nl + 1);
        loop {
            let rest = &self.text[line_start..];
            let line_end = rest.find('\n').map(|nl| line_start + nl);
            let line = &self.text[line_start..line_end.unwrap_or(self.text.len())];
            let lines_before = self.text[..line_start].matches('\n').count();
            if line_start > 0 && !line.trim().is_empty() && indent_of(line) < self.base_indent {
                // A line left of the cursor's: the block is over, before its line break.
                self.cut = Some((line_start - 1, Stop::Block));
                return true;
            }
            let Some(end) = line_end else { return false };
            if self.single_line {
                self.cut = Some((end, Stop::Line));
                return true;
            }
            if lines_before + 1 >= self.max_lines {
                self.cut = Some((end, Stop::Length));
                return true;
            }
            line_start = end + 1;
        }
    }

    /// The completion so far, cut where it said enough (trailing blank lines dropped).
    pub fn finish(self) -> (String, Stop) {
        let (mut text, stop) = match self.cut {
            Some((at, stop)) => (self.text[..at].to_owned(), stop),
            None => (self.text, Stop::Model),
        };
        if self.single_line {
            if let Some(nl) = text.find('\n') {
                text.truncate(nl);
            }
            // `foo(|)` completed as `a, b)`: the `)` is already there.
            let closers: String = self.line_suffix.chars().take_while(|c| ")]}>\"'`;,".contains(*c)).collect();
            for take in (1..=closers.len()).rev() {
                if let Some(kept) = text.strip_suffix(&closers[..take]) {
                    text.truncate(kept.len());
                    break;
                }
            }
        }
        let trimmed = text.trim_end_matches(['\n', '\r', ' ', '\t']).len();
        let keep_line_break = text[..trimmed].is_empty();
        if !keep_line_break {
            text.truncate(trimmed);
        }
        (text, stop)
    }
}

/// Error and missing nodes in a tree.
fn errors(tree: &Tree) -> usize {
    let root = tree.root_node();
    if !root.has_error() {
        return 0;
    }
    let mut count = 0;
    let mut cursor = root.walk();
    let mut descend = true;
    loop {
        let node = cursor.node();
        if descend {
            if node.is_error() || node.is_missing() {
                count += 1;
            }
            if node.has_error() && cursor.goto_first_child() {
                continue;
            }
        }
        if cursor.goto_next_sibling() {
            descend = true;
            continue;
        }
        if !cursor.goto_parent() {
            return count;
        }
        descend = false;
    }
}

/// The longest part of `completion` ending at a line end (or all of it) with
/// which the document parses with no more errors than without it; the first
/// line when none does. Plain text is kept whole. Each try is an incremental
/// re-parse of the document's tree: its cost is the edit's, not the file's.
pub fn settle(doc: &SyntaxDocument, at: usize, completion: &str, stop: Stop) -> (String, Stop) {
    if completion.trim().is_empty() {
        return (String::new(), stop);
    }
    let Some(baseline) = doc.tree().map(errors) else {
        return (completion.to_owned(), stop);
    };
    let parse_errors = |middle: &str| {
        let mut copy = doc.clone();
        copy.edit(at, at, middle);
        copy.tree().map(errors)
    };
    if parse_errors(completion).is_some_and(|n| n <= baseline) {
        return (completion.to_owned(), stop);
    }
    let mut ends: Vec<usize> = completion.match_indices('\n').map(|(i, _)| i).filter(|i| *i > 0).collect();
    ends.reverse();
    for &cut in &ends {
        let part = completion[..cut].trim_end();
        if !part.trim().is_empty() && parse_errors(part).is_some_and(|n| n <= baseline) {
            return (part.to_owned(), Stop::Syntax);
        }
    }
    let first = completion.trim_start_matches('\n');
    let skipped = completion.len() - first.len();
    let first_line = &completion[..skipped + first.find('\n').unwrap_or(first.len())];
    (first_line.trim_end().to_owned(), Stop::Syntax)
}

/// How a line comment starts in `language` (context from other files goes to
/// the model as comments).
pub fn line_comment(language: Language) -> &'static str {
    match language {
        Language::Python | Language::Ruby | Language::Bash | Language::PlainText => "#",
        _ => "//",
    }
}

/// Snippets of other files as comments, each under its path: what goes before
/// the prefix for a model that takes only prefix and suffix.
pub fn commented(language: Language, snippets: &[(String, String)]) -> String {
    let comment = line_comment(language);
    let mut out = String::new();
    for (path, text) in snippets {
        out.push_str(&format!("{comment} Path: {path}\n"));
        for line in text.lines() {
            out.push_str(comment);
            if !line.is_empty() {
                out.push(' ');
                out.push_str(line);
            }
            out.push('\n');
        }
        out.push_str(comment);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(text: &str, pieces: &[&str], max_lines: usize) -> (String, Stop, usize) {
        let at = text.find('|').expect("a cursor");
        let text = text.replace('|', "");
        let mut cutter = Cutter::new(&text, at, max_lines);
        let mut taken = 0;
        for piece in pieces {
            taken += 1;
            if cutter.push(piece) {
                break;
            }
        }
        let (out, stop) = cutter.finish();
        (out, stop, taken)
    }

    #[test]
    fn inside_a_line_one_line_is_enough_and_a_closer_already_there_is_not_repeated() {
        let (out, stop, taken) = stream("let x = foo(|);\n", &["a, ", "b)", ";\n", "let y = 2;\n"], 12);
        assert_eq!((out.as_str(), stop, taken), ("a, b", Stop::Line, 3));
    }

    #[test]
    fn a_line_left_of_the_cursor_ends_the_block_and_the_stream() {
        // At the end of `if x {`, the body and its closing brace; not what follows.
        let text = "fn f() {\n    if x {|\n}\n";
        let (out, stop, taken) =
            stream(text, &["\n        y();\n", "        z();\n", "    }\n", "}\n", "fn g() {}\n"], 12);
        assert_eq!(out, "\n        y();\n        z();\n    }");
        assert_eq!((stop, taken), (Stop::Block, 4), "the stream stops at the line that goes left");
        // On a blank line of the body, the body only.
        let text = "fn f() {\n    if x {\n        |\n}\n";
        let (out, stop, _) = stream(text, &["y();\n", "    }\n"], 12);
        assert_eq!((out.as_str(), stop), ("y();", Stop::Block));
    }

    #[test]
    fn the_line_limit_holds() {
        let (out, stop, _) = stream("|", &["a\nb\nc\nd\n"], 2);
        assert_eq!((out.as_str(), stop), ("a\nb", Stop::Length));
    }

    #[test]
    fn settle_keeps_what_parses_as_well_as_the_file_did() {
        // The editor closed the brace already: the model's `}` would be one too many.
        let text = "fn main() {\n    let v = vec![1, 2];\n    for x in v {\n        \n    }\n}\n";
        let at = text.find("        \n").expect("the blank line") + 8;
        let completion = "println!(\"{x}\");\n    }";
        let doc = SyntaxDocument::new(Language::Rust, text.to_owned());
        let (kept, stop) = settle(&doc, at, completion, Stop::Model);
        assert_eq!((kept.as_str(), stop), ("println!(\"{x}\");", Stop::Syntax));
        // A completion that fits is kept whole.
        let (kept, stop) = settle(&doc, at, "println!(\"{x}\");", Stop::Model);
        assert_eq!((kept.as_str(), stop), ("println!(\"{x}\");", Stop::Model));
        // Python: an unbalanced bracket in a later line is dropped.
        let py = "def f(xs):\n    total = 0\n    \n    return total\n";
        let at = py.find("    \n").expect("blank") + 4;
        let doc = SyntaxDocument::new(Language::Python, py.to_owned());
        let (kept, _) = settle(&doc, at, "for x in xs:\n        total += x\n    print((", Stop::Model);
        assert_eq!(kept, "for x in xs:\n        total += x");
    }

    #[test]
    fn automatic_completions_wait_for_the_end_of_a_word() {
        assert!(!wanted("let value", 5, true));
        assert!(wanted("let value", 5, false));
        assert!(wanted("let value = ", 12, true));
        assert!(wanted("foo()", 4, true));
    }

    #[test]
    fn other_files_go_in_as_comments_under_their_path() {
        let out = commented(Language::Python, &[("pkg/a.py".into(), "def a(x):\n\n    return x".into())]);
        assert_eq!(out, "# Path: pkg/a.py\n# def a(x):\n#\n#     return x\n#\n");
    }
}
