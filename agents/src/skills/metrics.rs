//! Marie's metrics: size and cyclomatic complexity per function (from the tree),
//! and churn and authors per file (from git, gathered by the daemon).

use context::{Language, SyntaxDocument};
use protocol::agents::Severity;
use tree_sitter::Node;

use super::{History, RawFinding, SkillOutput};

/// McCabe's rule of thumb: above 10 a function is hard to test thoroughly.
pub const COMPLEXITY_WARNING: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionMetrics {
    pub name: String,
    /// Zero-based first line.
    pub line: u32,
    pub lines: u32,
    pub complexity: u32,
    pub bytes: std::ops::Range<usize>,
}

/// Every named function of the document with its cyclomatic complexity:
/// 1 + one per branch point (if, loop, case arm, catch, `&&`/`||`, `?:`).
pub fn functions(doc: &SyntaxDocument) -> Vec<FunctionMetrics> {
    let Some(tree) = doc.tree() else { return Vec::new() };
    let text = doc.text();
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if is_function(node.kind()) {
            let name = node
                .child_by_field_name("name")
                .map_or_else(|| "(anonymous)".to_owned(), |n| text[n.byte_range()].to_owned());
            out.push(FunctionMetrics {
                name,
                line: node.start_position().row as u32,
                lines: (node.end_position().row - node.start_position().row + 1) as u32,
                complexity: 1 + branches(doc.language(), node, text),
                bytes: node.byte_range(),
            });
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    out.sort_by_key(|f| f.bytes.start);
    out
}

use super::is_named_function as is_function;

/// Branch points inside `function`, not counting nested named functions.
fn branches(language: Language, function: Node<'_>, text: &str) -> u32 {
    let mut count = 0;
    let mut stack = Vec::new();
    let mut cursor = function.walk();
    stack.extend(function.named_children(&mut cursor));
    while let Some(node) = stack.pop() {
        if is_function(node.kind()) {
            continue;
        }
        count += match node.kind() {
            "if_expression"
            | "if_statement"
            | "elif_clause"
            | "while_expression"
            | "while_statement"
            | "for_expression"
            | "for_statement"
            | "for_in_statement"
            | "enhanced_for_statement"
            | "do_statement"
            | "loop_expression"
            | "catch_clause"
            | "except_clause"
            | "conditional_expression"
            | "ternary_expression"
            | "case_clause"
            | "expression_case"
            | "type_case"
            | "communication_case"
            | "switch_case"
            | "switch_block_statement_group"
            | "switch_rule" => 1,
            "match_arm" => 1,
            "binary_expression" | "boolean_operator" => {
                let operator = node.child_by_field_name("operator").map_or("", |o| &text[o.byte_range()]);
                u32::from(matches!(operator, "&&" | "||" | "and" | "or"))
            }
            _ => 0,
        };
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    // A `match` with n arms has n - 1 decisions.
    if language == Language::Rust {
        let mut matches = 0;
        let mut stack = vec![function];
        while let Some(node) = stack.pop() {
            if node.kind() == "match_expression" {
                matches += 1;
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor).filter(|c| !is_function(c.kind())));
        }
        count = count.saturating_sub(matches);
    }
    count
}

pub fn metrics(speaker: &str, path: &str, doc: &SyntaxDocument, history: Option<&History>) -> SkillOutput {
    let functions = functions(doc);
    let text = doc.text();
    let lines = text.lines().count();
    let code_lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let mut report = format!("{speaker}'s metrics for `{path}`\n\n");
    report.push_str(&format!("- lines: {lines} ({code_lines} non-blank)\n- functions: {}\n", functions.len()));
    if !functions.is_empty() {
        let total: u32 = functions.iter().map(|f| f.complexity).sum();
        let max = functions.iter().map(|f| f.complexity).max().unwrap_or(0);
        report.push_str(&format!(
            "- cyclomatic complexity: average {:.1}, highest {max}\n",
            f64::from(total) / functions.len() as f64
        ));
    }
    match history.and_then(|h| h.files.get(path)) {
        Some(file) => {
            report.push_str(&format!(
                "- churn: {} commit(s), {} line(s) changed\n- authors: {}\n",
                file.commits,
                file.lines_changed,
                file.authors.iter().map(|(a, n)| format!("{a} ({n})")).collect::<Vec<_>>().join(", ")
            ));
        }
        None if history.is_some() => report.push_str("- churn: no commits touch this file\n"),
        None => report.push_str("- churn: not a git repository (or git is not installed)\n"),
    }
    let mut ranked = functions.clone();
    ranked.sort_by(|a, b| b.complexity.cmp(&a.complexity).then(a.line.cmp(&b.line)));
    if !ranked.is_empty() {
        report.push_str("\n| function | line | lines | complexity |\n|---|---|---|---|\n");
        for f in ranked.iter().take(15) {
            report.push_str(&format!("| `{}` | {} | {} | {} |\n", f.name, f.line + 1, f.lines, f.complexity));
        }
    }
    let findings = functions
        .iter()
        .filter(|f| f.complexity > COMPLEXITY_WARNING)
        .map(|f| RawFinding {
            rule: "high-complexity",
            severity: Severity::Info,
            message: format!(
                "`{}` has cyclomatic complexity {} (over {COMPLEXITY_WARNING}); it needs at least that many tests to cover every path",
                f.name, f.complexity
            ),
            bytes: f.bytes.start..f.bytes.start + text[f.bytes.clone()].find('\n').unwrap_or(f.bytes.len()),
            path: None,
            line: None,
            fix: None,
        })
        .collect();
    SkillOutput { report, findings, ..SkillOutput::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complexity_counts_decisions() {
        let doc = SyntaxDocument::new(
            Language::Python,
            "def f(x):\n    if x and x > 1:\n        return 1\n    elif x:\n        return 2\n    for i in x:\n        pass\n    return 3\n\ndef g():\n    return 0\n"
                .into(),
        );
        let got: Vec<(String, u32)> = functions(&doc).into_iter().map(|f| (f.name, f.complexity)).collect();
        // if + and + elif + for = 4 decisions.
        assert_eq!(got, [("f".to_owned(), 5), ("g".to_owned(), 1)]);
        let rust = SyntaxDocument::new(
            Language::Rust,
            "fn m(x: u8) -> u8 { match x { 0 => 1, 1 => 2, _ => 3 } }\nfn w(a: bool, b: bool) { while a || b {} }\n"
                .into(),
        );
        let got: Vec<u32> = functions(&rust).into_iter().map(|f| f.complexity).collect();
        assert_eq!(got, [3, 3]);
    }

    #[test]
    fn report_has_churn_when_known() {
        let doc = SyntaxDocument::new(Language::Go, "package m\n\nfunc A() {}\n".into());
        let mut history = History::default();
        history.files.insert(
            "m.go".into(),
            super::super::FileHistory {
                commits: 3,
                lines_changed: 40,
                authors: vec![("Ada".into(), 2), ("Bob".into(), 1)],
            },
        );
        let out = metrics("Marie", "m.go", &doc, Some(&history));
        assert!(
            out.report.contains("- churn: 3 commit(s), 40 line(s) changed\n- authors: Ada (2), Bob (1)"),
            "{}",
            out.report
        );
        assert!(metrics("Marie", "m.go", &doc, None).report.contains("not a git repository"));
    }
}
