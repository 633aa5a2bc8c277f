//! A document's text and tree. Edits re-parse incrementally: the old tree is edited
//! and handed to the parser, which reuses every subtree the edit did not touch.
//!
//! The re-parse waits until someone asks for the tree: an edit only adjusts the
//! text and the old tree's positions (microseconds), so a burst of keystrokes
//! costs one re-parse when a request next needs the tree, not one each. This
//! matters for files tree-sitter re-parses slowly whatever the edit (thousands
//! of top-level items: every one is reduced again on each parse).

use std::sync::OnceLock;

use tree_sitter::{InputEdit, Parser, Point, Tree};

use crate::Language;

pub struct SyntaxDocument {
    language: Language,
    text: String,
    /// The tree of the current text, once parsed.
    parsed: OnceLock<Option<Tree>>,
    /// The last parsed tree with the edits made since applied to it: where the
    /// next parse starts from.
    edited: Option<Tree>,
}

impl Clone for SyntaxDocument {
    /// A clone shares the tree: the document is parsed first if an edit is
    /// pending, so that both copies keep the result.
    fn clone(&self) -> SyntaxDocument {
        let tree = self.tree().cloned();
        SyntaxDocument { language: self.language, text: self.text.clone(), parsed: OnceLock::from(tree), edited: None }
    }
}

impl std::fmt::Debug for SyntaxDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxDocument").field("language", &self.language).field("bytes", &self.text.len()).finish()
    }
}

impl SyntaxDocument {
    /// A document not parsed yet: the parse waits until the tree is needed
    /// (an editor opens many files it never asks about).
    pub fn new(language: Language, text: String) -> SyntaxDocument {
        SyntaxDocument { language, text, parsed: OnceLock::new(), edited: None }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The tree of the current text, re-parsed now if edits are pending.
    pub fn tree(&self) -> Option<&Tree> {
        self.parsed.get_or_init(|| parse(self.language, &self.text, self.edited.as_ref())).as_ref()
    }

    /// Whether edits are waiting for a re-parse.
    pub fn is_parse_pending(&self) -> bool {
        self.parsed.get().is_none()
    }

    /// Replaces the whole text (a full-document change): parsed from scratch
    /// when the tree is next needed.
    pub fn replace_all(&mut self, text: String) {
        self.text = text;
        self.parsed = OnceLock::new();
        self.edited = None;
    }

    /// Replaces `start..end` (byte offsets on char boundaries, `start <= end`) with
    /// `new_text`. The re-parse, incremental, happens when the tree is next needed.
    pub fn edit(&mut self, start: usize, end: usize, new_text: &str) {
        // The freshest tree: the parsed one if there is one, else the one the
        // previous edits were applied to.
        let tree = match self.parsed.take() {
            Some(parsed) => parsed,
            None => self.edited.take(),
        };
        // Never parsed (a document only edited since it was opened): nothing
        // to tell of the edit's points, which are a scan of the text to find.
        let Some(mut tree) = tree else {
            self.text.replace_range(start..end, new_text);
            // A failed parse left no tree: none from before it stays either.
            self.edited = None;
            return;
        };
        // Found through the tree, before it is edited.
        let start_position = point_via(Some(&tree), &self.text, start);
        let old_end_position = point_via(Some(&tree), &self.text, end);
        self.text.replace_range(start..end, new_text);
        tree.edit(&InputEdit {
            start_byte: start,
            old_end_byte: end,
            new_end_byte: start + new_text.len(),
            start_position,
            old_end_position,
            new_end_position: advance(start_position, new_text),
        });
        self.edited = Some(tree);
    }
}

impl SyntaxDocument {
    /// The point of `byte`, found from the nearest node's start rather than by
    /// counting every line above it: O(depth) instead of O(file).
    pub fn point(&self, byte: usize) -> Point {
        // Positions of an edited tree are already adjusted: no need to parse.
        let tree = self.parsed.get().map_or(self.edited.as_ref(), Option::as_ref);
        point_via(tree, &self.text, byte)
    }
}

/// The point of `byte` in `text`, from the nearest node of `tree` (the text's
/// tree) that starts before it, else by counting lines.
fn point_via(tree: Option<&Tree>, text: &str, byte: usize) -> Point {
    let byte = byte.min(text.len());
    let Some(node) = tree.and_then(|t| t.root_node().descendant_for_byte_range(byte, byte)) else {
        return point_at(text, byte);
    };
    let from = node.start_byte();
    if from > byte || !text.is_char_boundary(from) {
        return point_at(text, byte);
    }
    advance(node.start_position(), &text[from..byte])
}

fn parse(language: Language, text: &str, old: Option<&Tree>) -> Option<Tree> {
    let support = language.support()?;
    // One parser per thread and language: a fresh parser allocates its stacks
    // anew, which costs more than a small incremental re-parse.
    thread_local! {
        static PARSERS: std::cell::RefCell<Vec<(Language, Parser)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let index = match parsers.iter().position(|(l, _)| *l == language) {
            Some(index) => index,
            None => {
                let mut parser = Parser::new();
                parser.set_language(&support.grammar).ok()?;
                parsers.push((language, parser));
                parsers.len() - 1
            }
        };
        parsers[index].1.parse(text, old)
    })
}

/// Row and byte column of `byte` in `text`.
pub fn point_at(text: &str, byte: usize) -> Point {
    let before = &text.as_bytes()[..byte.min(text.len())];
    let row = before.iter().filter(|b| **b == b'\n').count();
    let column = before.iter().rposition(|b| *b == b'\n').map_or(before.len(), |nl| before.len() - nl - 1);
    Point { row, column }
}

fn advance(mut point: Point, inserted: &str) -> Point {
    match inserted.rfind('\n') {
        Some(last) => {
            point.row += inserted.matches('\n').count();
            point.column = inserted.len() - last - 1;
        }
        None => point.column += inserted.len(),
    }
    point
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_edits_give_the_same_tree_as_a_fresh_parse() {
        let mut doc = SyntaxDocument::new(Language::Rust, "fn main() {\n    let x = 1;\n}\n".into());
        let edits: [(usize, usize, &str); 4] =
            [(24, 25, "42"), (20, 21, "answer"), (12, 12, "    // hi\n"), (0, 2, "pub fn")];
        for (start, end, text) in edits {
            doc.edit(start, end, text);
            let fresh = SyntaxDocument::new(Language::Rust, doc.text().to_owned());
            let sexp = |d: &SyntaxDocument| d.tree().expect("tree").root_node().to_sexp();
            assert_eq!(sexp(&doc), sexp(&fresh), "after inserting {text:?}");
        }
        assert_eq!(doc.text(), "pub fn main() {\n    // hi\n    let answer = 42;\n}\n");
        assert!(!doc.tree().expect("tree").root_node().has_error());
    }

    #[test]
    fn a_burst_of_edits_is_parsed_once_when_the_tree_is_needed() {
        let mut doc = SyntaxDocument::new(Language::Rust, "fn main() {\n    let x = 1;\n}\n\nfn other() {}\n".into());
        assert!(doc.is_parse_pending(), "opening a document does not parse it");
        assert!(doc.tree().is_some() && !doc.is_parse_pending());
        // Typing "answer" over `x`, a letter at a time, then a new line above.
        doc.edit(20, 21, "");
        for (i, letter) in "answer".char_indices() {
            doc.edit(20 + i, 20 + i, &letter.to_string());
            assert!(doc.is_parse_pending(), "no re-parse per keystroke");
        }
        doc.edit(12, 12, "    // hi\n");
        // Positions come from the edited, not yet re-parsed, tree.
        for byte in (0..=doc.text().len()).filter(|b| doc.text().is_char_boundary(*b)) {
            assert_eq!(doc.point(byte), point_at(doc.text(), byte), "at {byte}");
        }
        assert!(doc.is_parse_pending());
        let fresh = SyntaxDocument::new(Language::Rust, doc.text().to_owned());
        assert_eq!(doc.text(), "fn main() {\n    // hi\n    let answer = 1;\n}\n\nfn other() {}\n");
        let tree = doc.tree().expect("tree");
        assert_eq!(tree.root_node().to_sexp(), fresh.tree().expect("tree").root_node().to_sexp());
        assert!(!doc.is_parse_pending());
        // The name's position comes from the re-parsed tree.
        let name = tree.root_node().descendant_for_byte_range(30, 30).expect("node");
        assert_eq!((name.kind(), name.start_position()), ("identifier", Point { row: 2, column: 8 }));
        // A clone taken while an edit is pending shares the parse.
        doc.edit(0, 0, "// top\n");
        let copy = doc.clone();
        assert!(!doc.is_parse_pending() && !copy.is_parse_pending());
        assert!(!copy.tree().expect("tree").root_node().has_error());
    }

    /// Random edits (inserts, deletions across lines and nodes, replacements),
    /// several between parses: positions from the edited tree always match
    /// counting lines, and the re-parsed tree matches a fresh parse.
    #[test]
    fn random_edits_keep_positions_and_trees_right() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below.max(1) as u64) as usize
        };
        let pieces = ["x", "\n", "fn f() {}\n", "let y = 2;", "}", "{", "é", "// c\n", "\"s\n\"", ""];
        let mut doc = SyntaxDocument::new(
            Language::Rust,
            "fn main() {\n    let x = 1;\n    call(x);\n}\n\nstruct S { a: u8 }\n\nimpl S {\n    fn m(&self) {}\n}\n"
                .into(),
        );
        for round in 0..300 {
            let boundary = |doc: &SyntaxDocument, at: usize| {
                (0..=at.min(doc.text().len())).rev().find(|b| doc.text().is_char_boundary(*b)).unwrap_or(0)
            };
            let start = boundary(&doc, next(doc.text().len() + 1));
            let end = boundary(&doc, start + next(12)).max(start);
            doc.edit(start, end, pieces[next(pieces.len())]);
            assert!(doc.is_parse_pending());
            for byte in (0..=doc.text().len()).filter(|b| doc.text().is_char_boundary(*b)) {
                assert_eq!(doc.point(byte), point_at(doc.text(), byte), "round {round}, byte {byte}");
            }
            if round % 3 == 2 {
                let fresh = SyntaxDocument::new(Language::Rust, doc.text().to_owned());
                let sexp = |d: &SyntaxDocument| d.tree().expect("tree").root_node().to_sexp();
                assert_eq!(sexp(&doc), sexp(&fresh), "round {round}: {:?}", doc.text());
            }
        }
    }

    #[test]
    fn points_count_bytes() {
        let text = "ab\né\nxyz";
        assert_eq!(point_at(text, 0), Point { row: 0, column: 0 });
        assert_eq!(point_at(text, 5), Point { row: 1, column: 2 });
        assert_eq!(point_at(text, 7), Point { row: 2, column: 1 });
        assert_eq!(advance(Point { row: 1, column: 3 }, "a\nbc"), Point { row: 2, column: 2 });
    }

    #[test]
    fn points_from_the_tree_match_counting_lines() {
        let text = "fn main() {\n    let é = \"a\nb\";\n    // c\n}\n\nstruct S;\n";
        let doc = SyntaxDocument::new(Language::Rust, text.to_owned());
        for byte in (0..=text.len()).filter(|b| text.is_char_boundary(*b)) {
            assert_eq!(doc.point(byte), point_at(text, byte), "at {byte}");
        }
    }

    #[test]
    fn plain_text_has_no_tree() {
        let mut doc = SyntaxDocument::new(Language::PlainText, "hello".into());
        doc.edit(0, 0, "oh ");
        assert_eq!(doc.text(), "oh hello");
        assert!(doc.tree().is_none());
    }
}
