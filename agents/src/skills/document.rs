//! Edison and the documentation engine: a doc-comment skeleton and a test
//! skeleton for the definition at the cursor, as edits in the language's own
//! conventions (rustdoc, docstrings, JSDoc, Go doc comments, Javadoc).

use context::{Language, SyntaxDocument, symbols};
use tree_sitter::Node;

use super::{RawEdit, SkillOutput};

/// The definition at `byte`: the innermost function, method or type.
fn target(doc: &SyntaxDocument, byte: usize) -> Option<(symbols::Symbol, Node<'_>)> {
    let chain = symbols::enclosing_at(doc, byte);
    let symbol = chain.into_iter().rev().find(|s| s.kind != symbols::SymbolKind::Impl)?;
    let root = doc.tree()?.root_node();
    let mut node = root.descendant_for_byte_range(symbol.bytes.start, symbol.bytes.end)?;
    while node.byte_range() != symbol.bytes {
        node = node.parent()?;
    }
    Some((symbol, node))
}

fn parameters(language: Language, node: Node<'_>, text: &str) -> Vec<String> {
    let Some(list) = node.child_by_field_name("parameters") else { return Vec::new() };
    let mut cursor = list.walk();
    let mut names = Vec::new();
    for (i, child) in list.named_children(&mut cursor).enumerate() {
        let name = match child.kind() {
            k if k.contains("comment") => None,
            "self_parameter" => None,
            "identifier"
                if language == Language::Python && i == 0 && matches!(&text[child.byte_range()], "self" | "cls") =>
            {
                None
            }
            "identifier" => Some(text[child.byte_range()].to_owned()),
            "parameter_declaration" => {
                let mut inner = child.walk();
                let found: Vec<String> =
                    child.children_by_field_name("name", &mut inner).map(|n| text[n.byte_range()].to_owned()).collect();
                names.extend(found);
                None
            }
            _ => child
                .child_by_field_name("pattern")
                .or_else(|| child.child_by_field_name("name"))
                .or_else(|| child.child_by_field_name("left"))
                .or_else(|| child.named_child(0).filter(|c| c.kind() == "identifier"))
                .map(|n| text[n.byte_range()].to_owned()),
        };
        names.extend(name);
    }
    names
}

fn returns(language: Language, node: Node<'_>, text: &str) -> Option<String> {
    let field = match language {
        Language::Go => "result",
        Language::Java => "type",
        _ => "return_type",
    };
    let value = text[node.child_by_field_name(field)?.byte_range()].trim_start_matches(':').trim().to_owned();
    (value != "void" && value != "None" && value != "()").then_some(value)
}

fn line_start(text: &str, byte: usize) -> usize {
    text[..byte].rfind('\n').map_or(0, |i| i + 1)
}

fn indent_of(text: &str, byte: usize) -> String {
    let start = line_start(text, byte);
    text[start..].chars().take_while(|c| *c == ' ' || *c == '\t').collect()
}

/// A doc-comment skeleton for the definition at `byte`.
pub fn document(speaker: &str, doc: &SyntaxDocument, byte: usize) -> SkillOutput {
    let Some((symbol, node)) = target(doc, byte) else {
        return SkillOutput {
            report: format!("{speaker}: put the cursor in a function, method or type to document it.\n"),
            ..SkillOutput::default()
        };
    };
    let text = doc.text();
    if let Some(existing) = &symbol.doc {
        return SkillOutput {
            report: format!(
                "{speaker}: `{}` is documented already:\n\n> {}\n",
                symbol.name,
                existing.replace('\n', "\n> ")
            ),
            ..SkillOutput::default()
        };
    }
    let language = doc.language();
    let params = parameters(language, node, text);
    let returned = returns(language, node, text);
    let name = &symbol.name;
    let is_function = matches!(symbol.kind, symbols::SymbolKind::Function | symbols::SymbolKind::Method);
    let (at, comment) = match language {
        Language::Python => {
            // A docstring is the body's first statement.
            let Some(body) = node.child_by_field_name("body") else { return SkillOutput::default() };
            let indent = indent_of(text, body.start_byte());
            let mut lines = vec![format!("TODO: describe what `{name}` does.")];
            if !params.is_empty() {
                lines.push(String::new());
                lines.push("Args:".into());
                lines.extend(params.iter().map(|p| format!("    {p}: TODO.")));
            }
            if let Some(returned) = &returned {
                lines.push(String::new());
                lines.push("Returns:".into());
                lines.push(format!("    {returned}: TODO."));
            }
            let mut docstring = format!("{indent}\"\"\"");
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    docstring.push('\n');
                    if !line.is_empty() {
                        docstring.push_str(&indent);
                    }
                }
                docstring.push_str(line);
            }
            if lines.len() > 1 {
                docstring.push('\n');
                docstring.push_str(&indent);
            }
            docstring.push_str("\"\"\"\n");
            (line_start(text, body.start_byte()), docstring)
        }
        _ => {
            // Comments go above the definition, its attributes and its `export`.
            let anchor = match node.parent() {
                Some(p) if p.kind() == "export_statement" => p,
                _ => node,
            };
            let mut at = line_start(text, anchor.start_byte());
            while at > 0 {
                let previous = line_start(text, at - 1);
                let line = text[previous..at].trim();
                if line.starts_with("#[") || (line.starts_with('@') && language != Language::Python) {
                    at = previous;
                } else {
                    break;
                }
            }
            let indent = indent_of(text, anchor.start_byte());
            let lines =
                comment_lines(language, name, &params, returned.as_deref(), is_function, &text[node.byte_range()]);
            (at, lines.iter().map(|l| format!("{indent}{l}").trim_end().to_owned() + "\n").collect())
        }
    };
    SkillOutput {
        report: format!("{speaker} drafted documentation for `{name}`; fill in the TODOs.\n\n```\n{comment}```\n"),
        edits: vec![RawEdit { bytes: at..at, new_text: comment, path: None }],
        ..SkillOutput::default()
    }
}

fn comment_lines(
    language: Language,
    name: &str,
    params: &[String],
    returned: Option<&str>,
    is_function: bool,
    source: &str,
) -> Vec<String> {
    match language {
        Language::Rust => {
            let mut lines = vec![format!("/// TODO: describe what `{name}` does.")];
            if returned.is_some_and(|r| r.contains("Result")) {
                lines.extend(["///".into(), "/// # Errors".into(), "///".into(), "/// TODO: when it fails.".into()]);
            }
            if source.contains(".unwrap()") || source.contains(".expect(") || source.contains("panic!") {
                lines.extend(["///".into(), "/// # Panics".into(), "///".into(), "/// TODO: when it panics.".into()]);
            }
            lines
        }
        Language::Go => vec![format!("// {name} TODO: describe what it does.")],
        Language::Java | Language::JavaScript | Language::TypeScript | Language::Tsx => {
            let mut lines = vec!["/**".to_owned(), format!(" * TODO: describe what `{name}` does.")];
            if is_function && (!params.is_empty() || returned.is_some()) {
                lines.push(" *".into());
                lines.extend(params.iter().map(|p| format!(" * @param {p} TODO")));
                if returned.is_some() {
                    lines.push(if language == Language::Java { " * @return TODO" } else { " * @returns TODO" }.into());
                }
            }
            lines.push(" */".into());
            lines
        }
        _ => Vec::new(),
    }
}

/// A test skeleton for the function at `byte`, in the file's test convention.
pub fn tests(speaker: &str, path: &str, doc: &SyntaxDocument, byte: usize) -> SkillOutput {
    let Some((symbol, _)) = target(doc, byte) else {
        return SkillOutput {
            report: format!("{speaker}: put the cursor in a function to test it.\n"),
            ..SkillOutput::default()
        };
    };
    let name = &symbol.name;
    let text = doc.text();
    let stem = path.rsplit('/').next().unwrap_or(path).rsplit_once('.').map_or(path, |(s, _)| s);
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let beside = |file: String| if dir.is_empty() { file } else { format!("{dir}/{file}") };
    let edit = match doc.language() {
        Language::Rust => {
            let test = format!(
                "    #[test]\n    fn {name}_works() {{\n        // Arrange, act, assert.\n        let result = {name}(todo!(\"arguments\"));\n        assert_eq!(result, todo!(\"expected value\"));\n    }}\n"
            );
            match text.find("#[cfg(test)]\nmod tests {").and_then(|at| find_closing_brace(text, at)) {
                Some(close) => RawEdit { bytes: close..close, new_text: format!("\n{test}"), path: None },
                None => {
                    let prefix = if text.ends_with('\n') { "\n" } else { "\n\n" };
                    RawEdit {
                        bytes: text.len()..text.len(),
                        new_text: format!("{prefix}#[cfg(test)]\nmod tests {{\n    use super::*;\n\n{test}}}\n"),
                        path: None,
                    }
                }
            }
        }
        Language::Python => {
            let module = path.trim_end_matches(".py").replace('/', ".");
            RawEdit {
                bytes: 0..0,
                new_text: format!(
                    "from {module} import {name}\n\n\ndef test_{name}():\n    # Arrange, act, assert.\n    result = {name}()  # TODO: arguments\n    assert result == ...  # TODO: expected value\n"
                ),
                path: Some(format!("tests/test_{}.py", stem)),
            }
        }
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            let ext = path.rsplit_once('.').map_or("js", |(_, e)| e);
            RawEdit {
                bytes: 0..0,
                new_text: format!(
                    "import {{ {name} }} from './{stem}';\n\ntest('{name}', () => {{\n  // Arrange, act, assert.\n  expect({name}()).toEqual(undefined); // TODO: arguments and expected value\n}});\n"
                ),
                path: Some(beside(format!("{stem}.test.{ext}"))),
            }
        }
        Language::Go => {
            let package = text.lines().find_map(|l| l.strip_prefix("package ")).map_or("main", str::trim).to_owned();
            let exported = name.chars().next().map(|c| c.to_ascii_uppercase()).into_iter().chain(name.chars().skip(1));
            RawEdit {
                bytes: 0..0,
                new_text: format!(
                    "package {package}\n\nimport \"testing\"\n\nfunc Test{}(t *testing.T) {{\n\t// Arrange, act, assert.\n\tt.Skip(\"TODO: test {name}\")\n}}\n",
                    exported.collect::<String>()
                ),
                path: Some(beside(format!("{stem}_test.go"))),
            }
        }
        _ => {
            return SkillOutput {
                report: format!("{speaker} has no test template for `{path}` yet.\n"),
                ..SkillOutput::default()
            };
        }
    };
    let target = edit.path.clone().unwrap_or_else(|| path.to_owned());
    SkillOutput {
        report: format!(
            "{speaker} drafted a test for `{name}` in `{target}`.\n\n```\n{}```\n",
            edit.new_text.trim_start()
        ),
        edits: vec![edit],
        ..SkillOutput::default()
    }
}

/// The byte of the `}` closing the first `{` at or after `from`.
fn find_closing_brace(text: &str, from: usize) -> Option<usize> {
    let open = from + text[from..].find('{')?;
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(source: &str, output: &SkillOutput) -> String {
        let mut text = source.to_owned();
        for edit in output.edits.iter().filter(|e| e.path.is_none()).rev() {
            text.replace_range(edit.bytes.clone(), &edit.new_text);
        }
        text
    }

    fn doc_for(language: Language, source_with_cursor: &str) -> String {
        let byte = source_with_cursor.find('$').expect("cursor");
        let source = source_with_cursor.replacen('$', "", 1);
        let doc = SyntaxDocument::new(language, source.clone());
        apply(&source, &document("Edison", &doc, byte))
    }

    #[test]
    fn doc_skeletons_follow_each_language() {
        assert_eq!(
            doc_for(Language::Rust, "#[inline]\npub fn load(p: &str) -> Result<u8, E> {\n    x.unwrap()$\n}\n"),
            "/// TODO: describe what `load` does.\n///\n/// # Errors\n///\n/// TODO: when it fails.\n///\n/// # Panics\n///\n/// TODO: when it panics.\n#[inline]\npub fn load(p: &str) -> Result<u8, E> {\n    x.unwrap()\n}\n"
        );
        assert_eq!(
            doc_for(Language::Python, "class A:\n    def f(self, x, y=2) -> int:\n        return $x\n"),
            "class A:\n    def f(self, x, y=2) -> int:\n        \"\"\"TODO: describe what `f` does.\n\n        Args:\n            x: TODO.\n            y: TODO.\n\n        Returns:\n            int: TODO.\n        \"\"\"\n        return x\n"
        );
        assert_eq!(
            doc_for(Language::TypeScript, "export function add(a: number, b: number): number { return $a + b; }\n"),
            "/**\n * TODO: describe what `add` does.\n *\n * @param a TODO\n * @param b TODO\n * @returns TODO\n */\nexport function add(a: number, b: number): number { return a + b; }\n"
        );
        assert_eq!(
            doc_for(Language::Go, "package m\n\nfunc Run(a, b int) error { return $nil }\n"),
            "package m\n\n// Run TODO: describe what it does.\nfunc Run(a, b int) error { return nil }\n"
        );
        assert_eq!(
            doc_for(Language::Java, "class A {\n    int count(List<String> xs) { return $0; }\n}\n"),
            "class A {\n    /**\n     * TODO: describe what `count` does.\n     *\n     * @param xs TODO\n     * @return TODO\n     */\n    int count(List<String> xs) { return 0; }\n}\n"
        );
        // Documented already: no edit.
        let doc = SyntaxDocument::new(Language::Rust, "/// Adds.\nfn add() {}\n".into());
        assert!(document("Edison", &doc, 15).edits.is_empty());
    }

    #[test]
    fn test_skeletons() {
        let source = "pub fn add(a: u8) -> u8 { a }\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
        let doc = SyntaxDocument::new(Language::Rust, source.into());
        let out = tests("Edison", "src/lib.rs", &doc, 26);
        let applied = apply(source, &out);
        assert!(applied.contains("    use super::*;\n\n    #[test]\n    fn add_works() {"), "{applied}");
        assert!(applied.ends_with("    }\n}\n"), "{applied}");
        let py = SyntaxDocument::new(Language::Python, "def total(xs):\n    return sum(xs)\n".into());
        let out = tests("Edison", "app/cart.py", &py, 20);
        assert_eq!(out.edits[0].path.as_deref(), Some("tests/test_cart.py"));
        assert!(out.edits[0].new_text.starts_with("from app.cart import total\n\n\ndef test_total():"));
    }
}
