//! Outlines: the definitions in a file, nested, with ranges, signatures and doc
//! comments; the enclosing symbol at a position; and imports. Definitions come
//! from each grammar's own tags query; nesting, kinds, signatures and docs are
//! derived from the tree.

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, QueryCursor};

use crate::{Language, SyntaxDocument};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum SymbolKind {
    Module,
    Class,
    Struct,
    Enum,
    Interface,
    Type,
    Impl,
    Function,
    Method,
    Macro,
    Constant,
}

impl SymbolKind {
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Module => "module",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Enum => "enum",
            SymbolKind::Interface => "interface",
            SymbolKind::Type => "type",
            SymbolKind::Impl => "impl",
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Macro => "macro",
            SymbolKind::Constant => "constant",
        }
    }

    fn is_container(self) -> bool {
        matches!(
            self,
            SymbolKind::Module
                | SymbolKind::Class
                | SymbolKind::Interface
                | SymbolKind::Impl
                | SymbolKind::Struct
                | SymbolKind::Enum
        )
    }
}

/// Zero-based line and byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    /// The whole definition, bytes and positions.
    pub bytes: std::ops::Range<usize>,
    pub start: Pos,
    pub end: Pos,
    /// Where the name is.
    pub name_start: Pos,
    pub name_end: Pos,
    /// The definition's head, without its body, on one line.
    pub signature: String,
    pub doc: Option<String>,
    pub children: Vec<Symbol>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Import {
    /// The statement as written, on one line.
    pub text: String,
    pub line: u32,
    /// The imported module as path segments, e.g. `["app", "models"]` for
    /// `from app.models import User`, `["./util"]` for `import x from './util'`.
    pub module: Vec<String>,
    /// Only for the type checker, gone when the program runs: TypeScript's
    /// `import type`, Python's imports under `if TYPE_CHECKING:`.
    pub type_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    pub symbols: Vec<Symbol>,
    pub imports: Vec<Import>,
}

impl Outline {
    /// The chain of symbols containing `byte`, outermost first.
    pub fn enclosing(&self, byte: usize) -> Vec<&Symbol> {
        let mut chain = Vec::new();
        let mut level = &self.symbols;
        while let Some(symbol) =
            level.iter().find(|s| s.bytes.start <= byte && byte < s.bytes.end.max(s.bytes.start + 1))
        {
            chain.push(symbol);
            level = &symbol.children;
        }
        chain
    }

    /// Every symbol, depth first, with its container's name.
    pub fn flatten(&self) -> Vec<(&Symbol, Option<&str>)> {
        fn walk<'a>(symbols: &'a [Symbol], parent: Option<&'a str>, out: &mut Vec<(&'a Symbol, Option<&'a str>)>) {
            for symbol in symbols {
                out.push((symbol, parent));
                walk(&symbol.children, Some(&symbol.name), out);
            }
        }
        let mut out = Vec::new();
        walk(&self.symbols, None, &mut out);
        out
    }
}

pub fn outline(doc: &SyntaxDocument) -> Outline {
    analyze_range(doc, None).0
}

/// The outline and, from the same pass of the tags query, the names called in the file with the zero-based line of each
/// call: what the index's walk ([`crate::tags`]) must find, and is tested against.
#[cfg(test)]
pub(crate) fn analyze(doc: &SyntaxDocument) -> (Outline, Vec<(String, u32)>) {
    let (outline, calls) = analyze_range(doc, None);
    (outline, calls.into_iter().map(|(range, line)| (doc.text()[range].to_owned(), line)).collect())
}

/// What [`crate::tags::walk`] finds, from the tags query: for the languages
/// the walk has no tables for.
pub(crate) fn query_tags(doc: &SyntaxDocument) -> crate::tags::Tags {
    let (outline, calls) = analyze_range(doc, None);
    let mut definitions = Vec::new();
    let mut stack: Vec<Symbol> = outline.symbols;
    while let Some(mut symbol) = stack.pop() {
        stack.append(&mut symbol.children);
        definitions.push(crate::tags::Definition {
            bytes: symbol.bytes,
            name: crate::tags::DefinitionName::Owned(symbol.name),
            kind: symbol.kind,
            line: symbol.start.line,
            end_line: symbol.end.line,
        });
    }
    definitions.sort_by_key(|d| d.bytes.start);
    crate::tags::Tags { definitions, calls, imports: outline.imports }
}

/// The definitions enclosing `byte`, outermost first, without walking the rest of
/// the file: the tags query runs only over nodes that contain `byte`.
pub fn enclosing_at(doc: &SyntaxDocument, byte: usize) -> Vec<Symbol> {
    let (outline, _) = analyze_range(doc, Some(byte..byte + 1));
    let mut chain = Vec::new();
    let mut level = outline.symbols;
    while let Some(position) =
        level.iter().position(|s| s.bytes.start <= byte && byte < s.bytes.end.max(s.bytes.start + 1))
    {
        let mut symbol = level.swap_remove(position);
        level = std::mem::take(&mut symbol.children);
        chain.push(symbol);
    }
    chain
}

type Calls = Vec<(std::ops::Range<usize>, u32)>;

fn analyze_range(doc: &SyntaxDocument, range: Option<std::ops::Range<usize>>) -> (Outline, Calls) {
    let (Some(support), Some(tree)) = (doc.language().support(), doc.tree()) else {
        return (Outline::default(), Vec::new());
    };
    let text = doc.text();
    let source = text.as_bytes();
    let names = support.tags.capture_names();

    let mut flat: Vec<Symbol> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut calls = Vec::new();
    let mut cursor = QueryCursor::new();
    if let Some(range) = &range {
        cursor.set_byte_range(range.clone());
    }
    let mut matches = cursor.matches(&support.tags, tree.root_node(), source);
    while let Some(m) = matches.next() {
        let mut definition = None;
        let mut name_node = None;
        let mut is_call = false;
        for capture in m.captures() {
            let capture_name = names[capture.index as usize];
            if let Some(tag) = capture_name.strip_prefix("definition.") {
                definition = Some((tag, capture.node));
            } else if capture_name == "name" {
                name_node = Some(capture.node);
            } else if capture_name == "reference.call" {
                is_call = true;
            }
        }
        if is_call && let Some(name) = name_node {
            calls.push((name.byte_range(), name.start_position().row as u32));
            continue;
        }
        let (Some((tag, node)), Some(name_node)) = (definition, name_node) else { continue };
        let Some(kind) = kind_of(doc.language(), tag, node) else { continue };
        // Two patterns can tag one node (a Rust method is also a function): keep the first.
        if !seen.insert(node.byte_range()) {
            continue;
        }
        let mut symbol = symbol(doc.language(), text, node, name_node, kind);
        if kind == SymbolKind::Impl {
            // "impl Display for Point"
            symbol.name = signature_of(text, node);
        }
        flat.push(symbol);
    }
    let imports = if range.is_none() { imports(doc) } else { Vec::new() };
    (Outline { symbols: nest(doc.language(), flat), imports }, calls)
}

fn kind_of(language: Language, tag: &str, node: Node<'_>) -> Option<SymbolKind> {
    Some(match (tag, node.kind()) {
        (_, "struct_item" | "union_item" | "struct_specifier" | "union_specifier" | "struct_declaration") => {
            SymbolKind::Struct
        }
        (_, "enum_item" | "enum_declaration" | "enum_specifier") => SymbolKind::Enum,
        (
            _,
            "type_item"
            | "type_alias_declaration"
            | "type_spec"
            | "type_definition"
            | "alias_declaration"
            | "typealias_declaration"
            | "type_alias",
        ) => SymbolKind::Type,
        ("impl", _) => SymbolKind::Impl,
        // Swift says which in a child: `struct Circle`, `enum Suit`, `extension Int`.
        ("class", "class_declaration") if language == Language::Swift => {
            match node.child_by_field_name("declaration_kind").map(|k| k.kind()) {
                Some("struct") => SymbolKind::Struct,
                Some("enum") => SymbolKind::Enum,
                Some("extension") => SymbolKind::Impl,
                _ => SymbolKind::Class,
            }
        }
        ("class", _) => SymbolKind::Class,
        ("interface", _) => SymbolKind::Interface,
        ("module", _) => SymbolKind::Module,
        ("method", _) => SymbolKind::Method,
        ("function", _) => SymbolKind::Function,
        ("macro", _) => SymbolKind::Macro,
        // An exported JS/TS value that is a function is tagged a function too.
        ("constant", "variable_declarator")
            if node
                .child_by_field_name("value")
                .is_some_and(|v| matches!(v.kind(), "arrow_function" | "function_expression")) =>
        {
            return None;
        }
        ("constant", _) => SymbolKind::Constant,
        ("type", _) => SymbolKind::Type,
        _ => {
            let _ = language;
            return None;
        }
    })
}

fn pos(point: tree_sitter::Point) -> Pos {
    Pos { line: point.row as u32, column: point.column as u32 }
}

fn symbol(language: Language, text: &str, node: Node<'_>, name: Node<'_>, kind: SymbolKind) -> Symbol {
    Symbol {
        name: text[name.byte_range()].to_owned(),
        kind,
        bytes: node.byte_range(),
        start: pos(node.start_position()),
        end: pos(node.end_position()),
        name_start: pos(name.start_position()),
        name_end: pos(name.end_position()),
        signature: signature_of(text, node),
        doc: doc_comment(language, text, node),
        children: Vec::new(),
    }
}

/// The head of a definition: its text up to the body, whitespace collapsed.
pub(crate) fn signature_of(text: &str, node: Node<'_>) -> String {
    // `const f = (x) => ...` has its body one level down.
    let function_value = node.child_by_field_name("value").filter(|v| v.kind().contains("function"));
    let body = node.child_by_field_name("body").or_else(|| function_value?.child_by_field_name("body"));
    let end = body.map_or(node.end_byte(), |body| body.start_byte());
    let head = &text[node.start_byte()..end];
    let head = if body.is_none() { head.lines().next().unwrap_or("") } else { head };
    let mut collapsed = head.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed.trim_end_matches([' ', '{', ':', '=', ';']).trim_end().len();
    collapsed.truncate(trimmed);
    if collapsed.len() > 240 {
        let cut = (0..=240).rev().find(|i| collapsed.is_char_boundary(*i)).unwrap_or(0);
        collapsed.truncate(cut);
        collapsed.push('…');
    }
    collapsed
}

/// Comments directly above a definition (skipping attributes and decorators), or a
/// Python docstring, with comment markers removed.
fn doc_comment(language: Language, text: &str, node: Node<'_>) -> Option<String> {
    if language == Language::Python
        && let Some(body) = node.child_by_field_name("body")
        && let Some(first) = body.named_child(0)
        && first.kind() == "expression_statement"
        && let Some(string) = first.named_child(0)
        && string.kind() == "string"
    {
        let raw = &text[string.byte_range()];
        let doc = raw.trim_start_matches(['r', 'u', 'b']).trim_matches('"').trim_matches('\'').trim();
        return (!doc.is_empty()).then(|| dedent(doc));
    }
    // In JS/TS an exported definition's comment sits above the export statement.
    let anchor = match node.parent() {
        Some(parent) if parent.kind() == "export_statement" || parent.kind() == "decorated_definition" => parent,
        _ => node,
    };
    // Read the lines above the definition from the text, not the tree: walking
    // back through siblings costs O(siblings) per step in tree-sitter, which is
    // quadratic over a file of thousands of items.
    let mut end = text[..anchor.start_byte()].rfind('\n').map_or(0, |nl| nl + 1);
    let mut lines = Vec::new();
    let mut in_block = false;
    // A JSDoc block stays its function's across blank lines, as JSDoc and
    // TypeScript read it (`/** … */`, a blank line, `function format (obj)`:
    // the style of express and its packages); another comment does not.
    let jsdoc = matches!(language, Language::JavaScript | Language::TypeScript | Language::Tsx);
    let mut apart = false;
    while end > 0 {
        let start = text[..end - 1].rfind('\n').map_or(0, |nl| nl + 1);
        let raw = text[start..end - 1].trim();
        end = start;
        if jsdoc && lines.is_empty() && raw.is_empty() {
            apart = true;
            continue;
        }
        if in_block {
            lines.push(raw);
            in_block = !raw.starts_with("/*");
            continue;
        }
        let is_comment = raw.starts_with("//") || raw.starts_with("/*") || raw.ends_with("*/");
        let is_comment = is_comment || (language == Language::Python && raw.starts_with('#'));
        if is_comment {
            if language == Language::Rust && !(raw.starts_with("///") || raw.starts_with("/**") || raw.ends_with("*/"))
            {
                break;
            }
            lines.push(raw);
            in_block = raw.ends_with("*/") && !raw.starts_with("/*");
        } else if raw.starts_with("#[") || raw.starts_with('@') {
            // Attributes, decorators and annotations sit between a doc and its item.
            if !lines.is_empty() {
                break;
            }
        } else {
            break;
        }
    }
    // Apart from it, only a JSDoc block of its own lines (not code ending
    // in `*/`, a regex's `/\s*,\s*/`) that documents no file or type of its
    // own (a licence, `@typedef`).
    const NOT_ITS: [&str; 7] = ["@license", "@copyright", "@file", "@fileoverview", "@module", "@typedef", "@callback"];
    if apart
        && !(lines.first().is_some_and(|l| l.ends_with("*/") && (l.starts_with('*') || l.starts_with("/**")))
            && lines.last().is_some_and(|l| l.starts_with("/**"))
            && !lines.iter().any(|l| NOT_ITS.iter().any(|tag| l.contains(tag))))
    {
        return None;
    }
    if lines.first().is_some_and(|l| l.ends_with("*/")) && language == Language::Rust {
        // A Rust block comment is a doc only if it opens with `/**`.
        let opening = lines.last().copied().unwrap_or("");
        if !opening.starts_with("/**") {
            return None;
        }
    }
    lines.reverse();
    let doc = strip_comment(&lines.join("\n"));
    let doc = doc.trim().to_owned();
    (!doc.is_empty()).then_some(doc)
}

fn strip_comment(raw: &str) -> String {
    raw.lines()
        .map(|line| {
            let line = line.trim();
            let line = line
                .strip_prefix("///")
                .or_else(|| line.strip_prefix("//!"))
                .or_else(|| line.strip_prefix("//"))
                .unwrap_or(line);
            let line = line.strip_prefix("/**").or_else(|| line.strip_prefix("/*")).unwrap_or(line);
            let line = line.strip_suffix("*/").unwrap_or(line);
            let line = line.trim_start().strip_prefix('*').unwrap_or(line);
            let line = line.strip_prefix('#').unwrap_or(line);
            line.trim().to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn dedent(doc: &str) -> String {
    doc.lines().map(str::trim).collect::<Vec<_>>().join("\n").trim().to_owned()
}

/// Nests definitions by range containment.
fn nest(language: Language, mut flat: Vec<Symbol>) -> Vec<Symbol> {
    flat.sort_by(|a, b| a.bytes.start.cmp(&b.bytes.start).then(b.bytes.end.cmp(&a.bytes.end)));
    let mut roots: Vec<Symbol> = Vec::new();
    let mut stack: Vec<Symbol> = Vec::new();
    for symbol in flat {
        while let Some(top) = stack.last() {
            if top.bytes.end >= symbol.bytes.end && top.bytes.start <= symbol.bytes.start {
                break;
            }
            close(language, &mut stack, &mut roots);
        }
        stack.push(symbol);
    }
    while !stack.is_empty() {
        close(language, &mut stack, &mut roots);
    }
    roots
}

fn close(language: Language, stack: &mut Vec<Symbol>, roots: &mut Vec<Symbol>) {
    let Some(mut done) = stack.pop() else { return };
    if let Some(parent) = stack.last_mut() {
        done.kind = done.kind.nested_in(Some(parent.kind), language);
        parent.children.push(done);
    } else {
        roots.push(done);
    }
}

impl SymbolKind {
    /// The kind of a definition the tags query tagged as `self`, once its
    /// container is known: a function directly inside a type or impl is a
    /// method; inside a module (Rust's `mod` bodies look like impl bodies to the
    /// tags query) or at top level it is not.
    pub(crate) fn nested_in(self, parent: Option<SymbolKind>, language: Language) -> SymbolKind {
        let Some(parent) = parent else { return self };
        let in_type = parent.is_container() && parent != SymbolKind::Module;
        match self {
            SymbolKind::Function if in_type => SymbolKind::Method,
            // Go methods live at top level, after their receiver type.
            SymbolKind::Method if !in_type && language != Language::Go => SymbolKind::Function,
            kind => kind,
        }
    }
}

pub fn imports(doc: &SyntaxDocument) -> Vec<Import> {
    let (Some(support), Some(tree)) = (doc.language().support(), doc.tree()) else { return Vec::new() };
    let text = doc.text();
    let mut cursor = QueryCursor::new();
    // Imports sit at the top of a file (Go's inside an import block): no need
    // to visit function bodies.
    cursor.set_max_start_depth(Some(3));
    let mut out = Vec::new();
    let mut matches = cursor.matches(&support.imports, tree.root_node(), text.as_bytes());
    while let Some(m) = matches.next() {
        for capture in m.captures() {
            // Only the statement: a query may capture parts of it to test them.
            if support.imports.capture_names()[capture.index as usize] != "import" {
                continue;
            }
            let raw = &text[capture.node.byte_range()];
            out.push(Import {
                text: raw.split_whitespace().collect::<Vec<_>>().join(" "),
                line: capture.node.start_position().row as u32,
                module: module_path(doc.language(), raw),
                type_only: type_only_import(doc.language(), capture.node, text),
            });
        }
    }
    out
}

/// Whether an import is for the type checker only: TypeScript's
/// `import type { X } from …`, `import { type X, type Y } from …` and
/// `export type { X } from …`; Python's imports inside `if TYPE_CHECKING:`.
pub(crate) fn type_only_import(language: Language, node: tree_sitter::Node<'_>, text: &str) -> bool {
    match language {
        Language::Python => {
            let mut parent = node.parent();
            while let Some(p) = parent {
                if p.kind() == "if_statement"
                    && p.child_by_field_name("condition")
                        .is_some_and(|c| matches!(&text[c.byte_range()], "TYPE_CHECKING" | "typing.TYPE_CHECKING"))
                {
                    return true;
                }
                parent = p.parent();
            }
            false
        }
        Language::TypeScript | Language::Tsx => {
            let statement = &text[node.byte_range()];
            let statement = statement.split_whitespace().collect::<Vec<_>>().join(" ");
            if statement.starts_with("import type ") || statement.starts_with("export type ") {
                return true;
            }
            let names = statement.split_once('{').and_then(|(_, rest)| rest.split_once('}')).map(|(names, _)| names);
            let Some(names) = names else { return false };
            let names: Vec<&str> = names.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
            // Every name a type, and no default import beside them (`import X, { type A }`).
            !names.is_empty()
                && names.iter().all(|n| n.starts_with("type "))
                && statement.contains("} from")
                && statement.split_once('{').is_some_and(|(head, _)| !head.contains(','))
        }
        _ => false,
    }
}

/// The module an import statement names, as path segments.
pub(crate) fn module_path(language: Language, statement: &str) -> Vec<String> {
    let quoted = || {
        let start = statement.find(['"', '\'', '`'])?;
        let quote = statement[start..].chars().next()?;
        let rest = &statement[start + 1..];
        Some(rest[..rest.find(quote)?].to_owned())
    };
    let words: Vec<&str> = statement.split_whitespace().collect();
    let path = match language {
        Language::Rust => {
            let body = statement.trim_start_matches("pub ").trim_start_matches("use ").trim_end_matches(';');
            let body = body.split('{').next().unwrap_or(body);
            return body
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "crate" && *s != "self" && *s != "super")
                .map(str::to_owned)
                .collect();
        }
        Language::Python => words.get(1).map(|s| s.trim_end_matches(',').to_owned()),
        Language::Go => quoted(),
        Language::Java => words.last().map(|s| s.trim_end_matches(';').trim_start_matches("static").to_owned()),
        _ => quoted(),
    };
    let Some(path) = path else { return Vec::new() };
    match language {
        Language::Python | Language::Java => {
            path.split('.').filter(|s| !s.is_empty() && *s != "*").map(str::to_owned).collect()
        }
        _ => path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    }
}

#[cfg(test)]
mod languages;
#[cfg(test)]
mod tests;
