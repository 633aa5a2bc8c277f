//! A document's text and tree. Edits re-parse incrementally: the old tree is edited
//! and handed to the parser, which reuses every subtree the edit did not touch.

use tree_sitter::{InputEdit, Parser, Point, Tree};

use crate::Language;

#[derive(Clone)]
pub struct SyntaxDocument {
    language: Language,
    text: String,
    tree: Option<Tree>,
}

impl std::fmt::Debug for SyntaxDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxDocument").field("language", &self.language).field("bytes", &self.text.len()).finish()
    }
}

impl SyntaxDocument {
    pub fn new(language: Language, text: String) -> SyntaxDocument {
        let tree = parse(language, &text, None);
        SyntaxDocument { language, text, tree }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn tree(&self) -> Option<&Tree> {
        self.tree.as_ref()
    }

    /// Replaces the whole text (a full-document change): parsed from scratch.
    pub fn replace_all(&mut self, text: String) {
        self.tree = parse(self.language, &text, None);
        self.text = text;
    }

    /// Replaces `start..end` (byte offsets on char boundaries, `start <= end`) with
    /// `new_text`, then re-parses incrementally.
    pub fn edit(&mut self, start: usize, end: usize, new_text: &str) {
        let start_position = self.point(start);
        let old_end_position = self.point(end);
        self.text.replace_range(start..end, new_text);
        let new_end_byte = start + new_text.len();
        let new_end_position = advance(start_position, new_text);
        if let Some(tree) = &mut self.tree {
            tree.edit(&InputEdit {
                start_byte: start,
                old_end_byte: end,
                new_end_byte,
                start_position,
                old_end_position,
                new_end_position,
            });
        }
        self.tree = parse(self.language, &self.text, self.tree.as_ref());
    }
}

impl SyntaxDocument {
    /// The point of `byte`, found from the nearest node's start rather than by
    /// counting every line above it: O(depth) instead of O(file).
    pub fn point(&self, byte: usize) -> Point {
        let byte = byte.min(self.text.len());
        let Some(node) = self.tree.as_ref().and_then(|t| t.root_node().descendant_for_byte_range(byte, byte)) else {
            return point_at(&self.text, byte);
        };
        let from = node.start_byte();
        if from > byte || !self.text.is_char_boundary(from) {
            return point_at(&self.text, byte);
        }
        advance(node.start_position(), &self.text[from..byte])
    }
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
