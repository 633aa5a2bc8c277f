//! The review (Sherlock's skill, and any agent's with `code_review`): one walk over the syntax tree, findings with severities and,
//! where a change cannot alter behaviour, quick fixes.
//!
//! Rules look at syntax, not text, so that the same words in a string or a
//! comment are not mistaken for code (and `TODO` in a string is not a task).

use context::{Language, SyntaxDocument, redact};
use protocol::agents::Severity;
use tree_sitter::{Node, TreeCursor};

use super::{RawEdit, RawFinding, RawFix, SkillOutput, is_test_path};

// No thresholds on size, nesting or parameters: on real code nobody acted on
// "split it up" or "group these parameters" (tests/fixtures/quality/labels.tsv);
// size and complexity are Marie's metrics.

/// Lookups that find nothing in an empty or short collection.
const LOOKUPS: [&str; 10] = ["first", "last", "get", "get_mut", "pop", "next", "nth", "max", "min", "find"];

/// Calls whose failure the input decides (files, text, the network, other
/// processes, the environment): an `unwrap` on them is a crash waiting for
/// the wrong input.
pub(crate) const FALLIBLE_BY_INPUT: [&str; 34] = [
    "parse",
    "from_str",
    "from_slice",
    "from_reader",
    "from_value",
    "from_utf8",
    "from_str_radix",
    "decode",
    "read_to_string",
    "read",
    "read_to_end",
    "read_line",
    "read_dir",
    "read_link",
    "open",
    "create",
    "write",
    "write_all",
    "remove_file",
    "remove_dir",
    "create_dir",
    "create_dir_all",
    "copy",
    "rename",
    "metadata",
    "canonicalize",
    "var",
    "connect",
    "bind",
    "accept",
    "output",
    "spawn",
    "status",
    "try_from",
];

/// The review as the built-in reviewer, Sherlock, reports it (benchmarks and
/// tests; runs go through [`review_as`] with their own agent's name).
pub fn review(path: &str, doc: &SyntaxDocument) -> SkillOutput {
    review_as("Sherlock", path, doc)
}

/// The review of `path`, reported by `speaker`.
pub fn review_as(speaker: &str, path: &str, doc: &SyntaxDocument) -> SkillOutput {
    let mut findings = Vec::new();
    if let Some(tree) = doc.tree() {
        let mut walker = Walker {
            language: doc.language(),
            text: doc.text(),
            test_file: is_test_path(path),
            findings: &mut findings,
            frames: Vec::new(),
            functions: Vec::new(),
        };
        walker.walk(&mut tree.walk());
    }
    secrets(path, doc.text(), &mut findings);
    findings.retain(|f| !silenced(doc.text(), f));
    findings.sort_by_key(|f| (f.bytes.start, f.rule));
    let report = report(speaker, path, &findings);
    SkillOutput { report, findings, ..SkillOutput::default() }
}

/// A handler that takes the exception as a value to hand on
/// (`exc_info = sys.exc_info()`), not one that merely logs it.
pub fn hands_exc_info_on(handler: &str) -> bool {
    handler.lines().any(|line| {
        let code = line.split('#').next().unwrap_or("");
        code.split_once('=').is_some_and(|(left, right)| {
            let name = left.trim();
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ',' | ' ' | '.'))
                && right.trim_start().starts_with("sys.exc_info()")
        })
    })
}

/// What Python's linters call the same thing, for `# noqa: CODE` comments
/// and for merging Sherlock's findings with the project's tools' ([`same_as_tool`]).
const LINTER_CODES: [(&str, &[&str]); 6] = [
    ("bare-except", &["E722", "B001"]),
    ("swallowed-error", &["S110", "BLE001", "SIM105"]),
    ("useless-comparison", &["B015"]),
    ("debugger", &["T100"]),
    ("debug-print", &["T201", "T203"]),
    ("and-or-ternary", &["PLR1706"]),
];

/// Whether Sherlock's `rule` and a tool's `tool_rule` (`ruff:E722`) are the
/// same check under two names.
pub fn same_as_tool(rule: &str, tool_rule: &str) -> bool {
    let code = tool_rule.rsplit(':').next().unwrap_or(tool_rule);
    LINTER_CODES.iter().any(|(own, codes)| *own == rule && codes.contains(&code))
}

/// A finding the line's `# noqa` (all) or `# noqa: CODE` (the same rule in
/// another linter's name) says the author has seen.
fn silenced(text: &str, finding: &RawFinding) -> bool {
    // A secret stays reported: `# noqa` is about lint, not leaked keys.
    if finding.rule == "hardcoded-secret" {
        return false;
    }
    let start = text[..finding.bytes.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[finding.bytes.start..].find('\n').map_or(text.len(), |i| finding.bytes.start + i);
    let Some((_, after)) = text[start..end].split_once("# noqa") else { return false };
    let Some(codes) = after.strip_prefix(':') else { return true };
    let aliases = LINTER_CODES.iter().find(|(rule, _)| *rule == finding.rule).map_or(&[][..], |(_, codes)| codes);
    codes.split([',', ' ']).map(str::trim).any(|code| aliases.contains(&code))
}

fn report(speaker: &str, path: &str, findings: &[RawFinding]) -> String {
    if findings.is_empty() {
        return format!("{speaker} reviewed `{path}`: no findings.\n");
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let mut out = format!(
        "{speaker} reviewed `{path}`: {} finding(s) — {} error(s), {} warning(s), {} note(s).\n\n",
        findings.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info) + count(Severity::Hint)
    );
    let mut rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    for rule in rules {
        let n = findings.iter().filter(|f| f.rule == rule).count();
        out.push_str(&format!("- `{rule}`: {n}\n"));
    }
    out
}

/// Per-node state kept while the walk is inside a node.
struct Frame {
    /// A block of statements.
    block: bool,
    /// Inside test code (a `#[test]` function, a `#[cfg(test)]` module).
    test: bool,
    /// A test attribute was seen; the next item is test code.
    pending_test: bool,
    /// A statement that ends the block (return, throw…) was seen in this block.
    terminated: bool,
    /// Unreachable code in this block was reported already.
    reported_unreachable: bool,
}

struct Function {
    /// Its parameters' names (Rust): what the caller decides.
    parameters: Vec<String>,
}

struct Walker<'a> {
    language: Language,
    text: &'a str,
    test_file: bool,
    findings: &'a mut Vec<RawFinding>,
    frames: Vec<Frame>,
    functions: Vec<Function>,
}

impl Walker<'_> {
    fn walk(&mut self, cursor: &mut TreeCursor<'_>) {
        loop {
            let node = cursor.node();
            self.enter(node);
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                self.leave(cursor.node());
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }

    fn text(&self, node: Node<'_>) -> &str {
        &self.text[node.byte_range()]
    }

    fn find(&mut self, rule: &'static str, severity: Severity, node: Node<'_>, message: String) {
        self.find_with(rule, severity, node.byte_range(), message, None);
    }

    fn find_with(
        &mut self,
        rule: &'static str,
        severity: Severity,
        bytes: std::ops::Range<usize>,
        message: String,
        fix: Option<RawFix>,
    ) {
        self.findings.push(RawFinding { rule, severity, message, bytes, path: None, line: None, fix });
    }

    fn in_test(&self) -> bool {
        self.test_file || self.frames.last().is_some_and(|f| f.test)
    }

    fn enter(&mut self, node: Node<'_>) {
        let kind = node.kind();
        let is_comment = kind.contains("comment");
        // Test attributes mark the next item.
        let mut test = self.in_test();
        if let Some(parent) = self.frames.last_mut()
            && node.is_named()
            && !is_comment
        {
            if kind == "attribute_item" {
                let attribute = &self.text[node.byte_range()];
                if attribute.contains("test") {
                    parent.pending_test = true;
                }
            } else {
                test |= parent.pending_test;
                parent.pending_test = false;
            }
        }
        // TODO/FIXME comments are the authors' own notes: Vince's backlog
        // lists them; a review does not repeat them.
        self.unreachable(node);
        let function = self.is_function(node);
        if function {
            let parameters = self.parameter_names(node);
            self.functions.push(Function { parameters });
        }
        self.frames.push(Frame {
            block: is_block(kind),
            test,
            pending_test: false,
            terminated: false,
            reported_unreachable: false,
        });
        self.node_rules(node);
    }

    fn leave(&mut self, node: Node<'_>) {
        self.frames.pop();
        // Length and nesting are Marie's metrics, not findings: on real code
        // (glob's 96-line `glob_with`, five levels in `fill_todo`) nobody acted
        // on "split it up" (the quality benchmark's labels).
        if self.is_function(node) {
            self.functions.pop();
        }
        if self.is_terminator(node)
            && let Some(parent) = self.frames.last_mut()
            && parent.block
        {
            parent.terminated = true;
        }
    }

    fn is_function(&self, node: Node<'_>) -> bool {
        super::is_function(node.kind())
    }

    fn is_terminator(&self, node: Node<'_>) -> bool {
        match node.kind() {
            "return_statement" | "raise_statement" | "throw_statement" | "break_statement" | "continue_statement"
            | "goto_statement" => true,
            "expression_statement" => node.named_child(0).is_some_and(|child| match child.kind() {
                "return_expression" | "break_expression" | "continue_expression" => true,
                "macro_invocation" => {
                    matches!(self.macro_name(child), "panic" | "unreachable" | "todo" | "unimplemented")
                }
                "call_expression" if self.language == Language::Go => {
                    child.child_by_field_name("function").is_some_and(|f| self.text(f) == "panic")
                }
                _ => false,
            }),
            _ => false,
        }
    }

    fn unreachable(&mut self, node: Node<'_>) {
        if !node.is_named() || node.kind().contains("comment") {
            return;
        }
        let Some(parent) = self.frames.last_mut() else { return };
        if !parent.block || !parent.terminated || parent.reported_unreachable {
            return;
        }
        // Go labels and Python/JS empty statements are not code.
        if matches!(node.kind(), "labeled_statement" | "empty_statement" | "label_name") {
            return;
        }
        parent.reported_unreachable = true;
        self.find(
            "unreachable-code",
            Severity::Warning,
            node,
            "unreachable: the code above always leaves this block".into(),
        );
    }

    fn macro_name<'t>(&'t self, node: Node<'_>) -> &'t str {
        node.child_by_field_name("macro").map_or("", |m| {
            let name = &self.text[m.byte_range()];
            name.rsplit("::").next().unwrap_or(name)
        })
    }

    fn node_rules(&mut self, node: Node<'_>) {
        self.bug_rules(node);
        match (self.language, node.kind()) {
            (Language::Rust, "call_expression") => self.rust_call(node),
            (Language::Rust, "macro_invocation") => self.rust_macro(node),
            (Language::Rust, "let_declaration") => {
                let ignored = node.child_by_field_name("pattern").is_some_and(|p| self.text(p) == "_")
                    && node
                        .child_by_field_name("value")
                        .is_some_and(|v| matches!(v.kind(), "call_expression" | "await_expression"));
                if ignored && !self.in_test() {
                    self.find(
                        "ignored-result",
                        Severity::Info,
                        node,
                        "`let _ =` discards this call's result; if it can fail, handle or log the error".into(),
                    );
                }
            }
            (Language::Python, "except_clause") => self.python_except(node),
            (Language::Python, "call") => {
                let callee = node.child_by_field_name("function").map_or("", |f| self.text(f));
                if matches!(callee, "breakpoint" | "pdb.set_trace" | "ipdb.set_trace") {
                    let statement = node.parent().filter(|p| p.kind() == "expression_statement").unwrap_or(node);
                    let fix = self.delete_line_fix(statement, "Remove the breakpoint");
                    self.find_with(
                        "debugger",
                        Severity::Warning,
                        node.byte_range(),
                        format!("`{callee}()` stops the program in a debugger"),
                        fix,
                    );
                }
            }
            (Language::JavaScript | Language::TypeScript | Language::Tsx, "debugger_statement") => {
                let fix = self.delete_line_fix(node, "Remove `debugger`");
                self.find_with(
                    "debugger",
                    Severity::Warning,
                    node.byte_range(),
                    "`debugger` statement left in".into(),
                    fix,
                );
            }
            (Language::JavaScript | Language::TypeScript | Language::Tsx, "call_expression") => {
                let callee = node.child_by_field_name("function").map_or("", |f| self.text(f));
                if matches!(callee, "console.log" | "console.debug" | "console.trace") && !self.in_test() {
                    self.find(
                        "debug-print",
                        Severity::Info,
                        node,
                        format!("`{callee}` left in; use a logger or remove it"),
                    );
                }
            }
            (Language::JavaScript | Language::TypeScript | Language::Tsx | Language::Java, "catch_clause") => {
                if let Some(body) = node.child_by_field_name("body")
                    && self.is_empty_block(body)
                {
                    self.find(
                        "swallowed-error",
                        Severity::Warning,
                        node,
                        "empty `catch` swallows the error; handle it, log it, or say in a comment why it is safe"
                            .into(),
                    );
                }
            }
            (Language::Java, "method_invocation") => {
                let text = self.text(node);
                if text.starts_with("System.out.print") || text.starts_with("System.err.print") {
                    self.find("debug-print", Severity::Info, node, "printing to the console; use a logger".into());
                } else if node.child_by_field_name("name").is_some_and(|n| self.text(n) == "printStackTrace") {
                    self.find(
                        "swallowed-error",
                        Severity::Info,
                        node,
                        "`printStackTrace()` only prints; log the error or rethrow it".into(),
                    );
                }
            }
            (Language::Go, "short_var_declaration" | "assignment_statement") => self.go_ignored_error(node),
            (Language::Go, "if_statement") => {
                let condition = node.child_by_field_name("condition").map_or("", |c| self.text(c));
                if condition.replace(' ', "").contains("err!=nil")
                    && let Some(body) = node.child_by_field_name("consequence")
                    && self.is_empty_block(body)
                {
                    self.find(
                        "swallowed-error",
                        Severity::Warning,
                        node,
                        "`if err != nil {}` ignores the error".into(),
                    );
                }
            }
            _ => {}
        }
    }

    /// The `//` comment lines just above the line `node` starts on, and a
    /// comment after it on its last line, as one text (none when neither).
    fn comment_around(&self, node: Node<'_>) -> Option<String> {
        let text = self.text;
        let line_start = text[..node.start_byte()].rfind('\n').map_or(0, |n| n + 1);
        let mut said: Vec<&str> =
            text[..line_start].lines().rev().map(str::trim).take_while(|l| l.starts_with("//")).take(5).collect();
        let line_end = text[node.end_byte()..].find('\n').map_or(text.len(), |n| node.end_byte() + n);
        if let Some((_, after)) = text[node.end_byte()..line_end].split_once("//") {
            said.push(after);
        }
        (!said.is_empty()).then(|| said.join(" "))
    }

    fn is_empty_block(&self, block: Node<'_>) -> bool {
        let mut cursor = block.walk();
        // A comment inside says the emptiness is deliberate.
        block.named_children(&mut cursor).next().is_none()
    }

    fn rust_call(&mut self, node: Node<'_>) {
        if self.in_test() {
            return;
        }
        let Some(function) = node.child_by_field_name("function") else { return };
        if function.kind() != "field_expression" {
            return;
        }
        let Some(field) = function.child_by_field_name("field") else { return };
        let method = self.text(field);
        let message = match method {
            "unwrap" => "`unwrap()` panics when this fails",
            "expect" => "`expect()` panics when this fails",
            _ => return,
        };
        // Only where the input decides: a call that reads, parses or talks
        // to the world. `to_str().unwrap()` on a path made from a `&str`,
        // `chars().next().unwrap()` after a length check and the like are
        // invariants, and `expect("BUG: …")` says so in words.
        let Some(receiver) = function.child_by_field_name("value") else { return };
        let is_parameter = |name: &str| self.functions.last().is_some_and(|f| f.parameters.iter().any(|p| p == name));
        let called = self.called_name(receiver);
        let what = if let Some(called) = called.filter(|name| FALLIBLE_BY_INPUT.contains(name)) {
            format!("`{called}` can fail on input the program does not control")
        } else if receiver.kind() == "identifier" && is_parameter(self.text(receiver)) {
            format!("`{}` is the caller's to give, `None` or `Err` included", self.text(receiver))
        } else if let (Some(lookup), Some(root)) = (called.filter(|n| LOOKUPS.contains(n)), self.chain_root(receiver))
            && is_parameter(root)
        {
            format!("`{lookup}()` on `{root}`, which the caller gives, is `None` when nothing is there")
        } else {
            return;
        };
        if method == "expect"
            && let Some(args) = node.child_by_field_name("arguments")
        {
            let said = self.text(args).to_ascii_lowercase();
            if ["bug", "invariant", "always", "never", "cannot fail", "infallible", "checked"]
                .iter()
                .any(|w| said.contains(w))
            {
                return;
            }
        }
        // Or a comment just above (or after it on its line) says why it holds:
        // humantime's `// we know our chars are all ascii` over `from_utf8(&buf).expect(…)`.
        if self.comment_around(node).is_some_and(|said| {
            let said = said.to_ascii_lowercase();
            [
                "we know",
                "invariant",
                "always",
                "never",
                "cannot fail",
                "can't fail",
                "infallible",
                "guarantee",
                "all ascii",
                "checked above",
                "validated",
            ]
            .iter()
            .any(|w| said.contains(w))
        }) {
            return;
        }
        let message = format!("{message}: {what}; propagate the error with `?` or handle it");
        // From the method name to the end of the call: `.unwrap()`.
        let start = field.start_byte().saturating_sub(1);
        self.find_with("rust-unwrap", Severity::Warning, start..node.end_byte(), message, None);
    }

    /// The variable a chain of calls and fields starts from: `values` in
    /// `values.iter().first()`.
    /// `None` through `split`, which always yields at least one piece.
    fn chain_root(&self, mut node: Node<'_>) -> Option<&str> {
        loop {
            node = match node.kind() {
                "call_expression" => {
                    if self.called_name(node).is_some_and(|n| matches!(n, "split" | "rsplit" | "splitn" | "rsplitn")) {
                        return None;
                    }
                    node.child_by_field_name("function")?
                }
                "field_expression" => node.child_by_field_name("value")?,
                "identifier" => return Some(self.text(node)),
                _ => return None,
            };
        }
    }

    /// The names of a Rust function's parameters (`x` in `x: Option<u8>`).
    fn parameter_names(&self, function: Node<'_>) -> Vec<String> {
        let Some(parameters) = function.child_by_field_name("parameters").filter(|_| self.language == Language::Rust)
        else {
            return Vec::new();
        };
        let mut cursor = parameters.walk();
        parameters
            .named_children(&mut cursor)
            .filter(|p| p.kind() == "parameter")
            .filter_map(|p| p.child_by_field_name("pattern"))
            .filter(|p| p.kind() == "identifier")
            .map(|p| self.text(p).to_owned())
            .collect()
    }

    /// The name a call expression calls: `parse` in `s.parse::<u32>()`,
    /// `read_to_string` in `std::fs::read_to_string(p)`.
    fn called_name(&self, node: Node<'_>) -> Option<&str> {
        if node.kind() != "call_expression" {
            return None;
        }
        let mut callee = node.child_by_field_name("function")?;
        if callee.kind() == "generic_function" {
            callee = callee.child_by_field_name("function")?;
        }
        let name = match callee.kind() {
            "field_expression" => callee.child_by_field_name("field")?,
            "scoped_identifier" => callee.child_by_field_name("name")?,
            "identifier" => callee,
            _ => return None,
        };
        Some(self.text(name))
    }

    fn rust_macro(&mut self, node: Node<'_>) {
        let name = self.macro_name(node);
        match name {
            "panic" | "todo" | "unimplemented" if !self.in_test() => {
                self.find(
                    "rust-panic",
                    Severity::Warning,
                    node,
                    format!("`{name}!` aborts the caller; return an error"),
                );
            }
            "dbg" => {
                // `dbg!(x)` evaluates to `x`: replacing it by its argument is safe.
                let fix = node.named_children(&mut node.walk()).find(|c| c.kind() == "token_tree").and_then(|tree| {
                    let inner = self.text(tree);
                    let inner = inner.strip_prefix('(')?.strip_suffix(')')?.trim().trim_end_matches(',').trim();
                    if inner.is_empty() || has_top_level_comma(inner) {
                        return None;
                    }
                    Some(RawFix {
                        title: format!("Replace `dbg!(…)` with `{inner}`"),
                        edits: vec![RawEdit { bytes: node.byte_range(), new_text: inner.to_owned(), path: None }],
                    })
                });
                self.find_with("debug-print", Severity::Warning, node.byte_range(), "`dbg!` left in".into(), fix);
            }
            _ => {}
        }
    }

    fn python_except(&mut self, node: Node<'_>) {
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        let body = children.iter().find(|c| c.kind() == "block").copied();
        let bare = children.iter().all(|c| c.kind() == "block" || c.kind().contains("comment"));
        // `except:` that ends in a bare `raise` cleans up and lets everything
        // through, KeyboardInterrupt included: what a `finally` would do.
        let reraises = body.is_some_and(|b| {
            let mut cursor = b.walk();
            let last = b.named_children(&mut cursor).filter(|c| !c.kind().contains("comment")).last();
            last.is_some_and(|l| l.kind() == "raise_statement" && l.named_child_count() == 0)
        });
        // `except:` whose handler takes `sys.exc_info()` hands the exception
        // on (to be re-raised or reported elsewhere), KeyboardInterrupt too.
        let hands_on = body.is_some_and(|b| hands_exc_info_on(self.text(b)));
        if bare && !reraises && !hands_on {
            // `except:` also catches KeyboardInterrupt and SystemExit;
            // `except Exception:` is what is almost always meant.
            let keyword_end = node.start_byte() + "except".len();
            let fix = self.text[keyword_end..].starts_with(':').then(|| RawFix {
                title: "Catch `Exception` instead".into(),
                edits: vec![RawEdit { bytes: keyword_end..keyword_end, new_text: " Exception".into(), path: None }],
            });
            self.find_with(
                "bare-except",
                Severity::Warning,
                node.start_byte()..keyword_end + 1,
                "bare `except:` also catches KeyboardInterrupt and SystemExit".into(),
                fix,
            );
        }
        if let Some(body) = body {
            let mut cursor = body.walk();
            let statements: Vec<Node<'_>> =
                body.named_children(&mut cursor).filter(|c| !c.kind().contains("comment")).collect();
            let swallows = !statements.is_empty()
                && statements.iter().all(|s| {
                    s.kind() == "pass_statement"
                        || (s.kind() == "expression_statement" && self.text(*s).trim() == "...")
                        || s.kind() == "continue_statement"
                });
            // Catching one named exception and passing is a decision (`except
            // BrokenPipeError: pass`), and so is a broad one with a comment
            // that says why: only an unexplained broad catch is reported.
            let caught: Vec<&str> = children
                .iter()
                .filter(|c| c.kind() != "block" && !c.kind().contains("comment"))
                .map(|c| self.text(*c))
                .collect();
            let broad = caught.is_empty()
                || caught.iter().any(|c| {
                    let name = c.split(" as ").next().unwrap_or(c).trim().trim_matches(|ch| ch == '(' || ch == ')');
                    matches!(name, "Exception" | "BaseException")
                });
            let line_end = |at: usize| self.text[at..].find('\n').map_or(self.text.len(), |n| at + n);
            let explained =
                self.text[node.start_byte()..line_end(body.end_byte())].contains('#') || self.try_explained_above(node);
            if swallows
                && broad
                && !explained
                && !self.keeps_a_default(node)
                && !self.has_else(node)
                && !self.meant_to_swallow(node)
            {
                self.find(
                    "swallowed-error",
                    Severity::Warning,
                    node,
                    "this `except` swallows the error; handle it, log it, or re-raise".into(),
                );
            }
        }
    }

    /// `try: attr = str(x)` / `except Exception: pass` / `else: …`: a `try`
    /// that only computes a value the `else` uses, so the `except` is that
    /// branch's condition, not a swallowed error. (`try: save()` … `else:
    /// log("saved")` still loses the failure silently: reported.)
    fn has_else(&self, except: Node<'_>) -> bool {
        let Some(try_statement) = except.parent().filter(|p| p.kind() == "try_statement") else { return false };
        let mut cursor = try_statement.walk();
        let has_else = try_statement.named_children(&mut cursor).any(|c| c.kind() == "else_clause");
        let Some(body) = try_statement.child_by_field_name("body") else { return false };
        let mut cursor = body.walk();
        let only_assignments = body
            .named_children(&mut cursor)
            .filter(|c| !c.kind().contains("comment"))
            .all(|s| s.kind() == "expression_statement" && s.named_child(0).is_some_and(|a| a.kind() == "assignment"));
        has_else && only_assignments
    }

    /// A comment just above the `try:` that says it may fail and that this is
    /// fine ("if it's possible, rename the code; this won't work on App
    /// Engine"), not any comment (`# Load config`).
    fn try_explained_above(&self, except: Node<'_>) -> bool {
        let Some(try_statement) = except.parent().filter(|p| p.kind() == "try_statement") else { return false };
        let before = &self.text[..self.text[..try_statement.start_byte()].rfind('\n').unwrap_or(0)];
        let comment: Vec<String> = before
            .lines()
            .rev()
            .map(str::trim_start)
            .take_while(|l| l.starts_with('#'))
            .map(str::to_ascii_lowercase)
            .collect();
        const SAYS: [&str; 12] = [
            "if possible",
            "if it's possible",
            "may fail",
            "might fail",
            "can fail",
            "won't work",
            "doesn't work",
            "not work",
            "best effort",
            "best-effort",
            "optional",
            "not supported",
        ];
        comment.iter().any(|line| SAYS.iter().any(|s| line.contains(s)))
    }

    /// The function the `except` is in, or one around it, says in its
    /// docstring that swallowing errors is what it is for (click's `safecall`:
    /// "Wraps a function so that it swallows exceptions").
    fn meant_to_swallow(&self, except: Node<'_>) -> bool {
        let mut node = except.parent();
        // The function itself, and the one around it (a decorator's wrapper).
        let mut functions = 0;
        while let Some(current) = node {
            if current.kind() == "function_definition" {
                functions += 1;
                if functions > 2 {
                    return false;
                }
                let docstring = current
                    .child_by_field_name("body")
                    .and_then(|b| b.named_child(0))
                    .filter(|s| s.kind() == "expression_statement")
                    .and_then(|s| s.named_child(0))
                    .filter(|s| s.kind() == "string")
                    .map(|s| self.text(s).to_ascii_lowercase());
                // "swallows exceptions", "ignoring any errors": the verb, then
                // within three words what it swallows.
                let says = docstring.is_some_and(|doc| {
                    let words: Vec<&str> =
                        doc.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty()).collect();
                    words.iter().enumerate().any(|(i, w)| {
                        ["swallow", "ignor", "suppress", "silenc"].iter().any(|v| w.starts_with(v))
                            && words[i + 1..]
                                .iter()
                                .take(3)
                                .any(|n| n.starts_with("exception") || n.starts_with("error"))
                    })
                });
                if says {
                    return true;
                }
            }
            node = current.parent();
        }
        false
    }

    /// `x = None` then `try: x = parse(…)` / `except Exception: pass`: the
    /// `try` only assigns names that were given a value before it, so a
    /// failure keeps that value — a fallback the code checks later, not a
    /// swallowed error (itsdangerous' timestamp parsing).
    fn keeps_a_default(&self, except: Node<'_>) -> bool {
        let Some(try_statement) = except.parent().filter(|p| p.kind() == "try_statement") else { return false };
        let Some(body) = try_statement.child_by_field_name("body") else { return false };
        let mut cursor = body.walk();
        let mut assigned = Vec::new();
        for statement in body.named_children(&mut cursor).filter(|c| !c.kind().contains("comment")) {
            let assignment = statement.named_child(0).filter(|a| a.kind() == "assignment");
            let Some(left) = assignment.and_then(|a| a.child_by_field_name("left")) else { return false };
            if statement.kind() != "expression_statement" || left.kind() != "identifier" {
                return false;
            }
            assigned.push(self.text(left));
        }
        // Before the `try`, in its block or a block around it (`x = None`,
        // then `if probe: try: x = …`), up to the function it is in.
        let mut before = Vec::new();
        let mut level = Some(try_statement);
        while let Some(statement) = level {
            let mut sibling = statement.prev_named_sibling();
            while let Some(node) = sibling {
                let left = node
                    .named_child(0)
                    .filter(|a| a.kind() == "assignment")
                    .and_then(|a| a.child_by_field_name("left"));
                before.extend(left.map(|l| self.text(l)));
                sibling = node.prev_named_sibling();
            }
            // Out through `if`/`elif`/`else` only: a loop around the `try`
            // would keep the default through every failure, silently.
            level = statement
                .parent()
                .filter(|p| p.kind() == "block")
                .and_then(|block| block.parent())
                .map(|p| if matches!(p.kind(), "else_clause" | "elif_clause") { p.parent().unwrap_or(p) } else { p })
                .filter(|p| p.kind() == "if_statement");
        }
        !assigned.is_empty() && assigned.iter().all(|name| before.contains(name))
    }

    fn go_ignored_error(&mut self, node: Node<'_>) {
        let (Some(left), Some(right)) = (node.child_by_field_name("left"), node.child_by_field_name("right")) else {
            return;
        };
        let mut cursor = left.walk();
        let names: Vec<&str> = left.named_children(&mut cursor).map(|n| self.text(n)).collect();
        let mut cursor = right.walk();
        let values: Vec<Node<'_>> = right.named_children(&mut cursor).collect();
        // Go returns the error last: `x, _ := f()`. Everything discarded
        // (`_ = f()`, `_, _ = fmt.Fprintf(…)`) is said on purpose, as is a
        // discard with a comment on its line or the line above (errcheck,
        // by default, is quiet on blanks altogether).
        let all_blank = names.iter().all(|n| *n == "_");
        let line_start = self.text[..node.start_byte()].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[node.end_byte()..].find('\n').map_or(self.text.len(), |i| node.end_byte() + i);
        let above = self.text[..line_start.saturating_sub(1)].rsplit('\n').next().unwrap_or("").trim_start();
        // A comment after the statement (not `//` inside a string), or one
        // above that speaks of the error (`// Parse the port.` does not).
        let after = &self.text[node.end_byte()..line_end];
        let said_after = after.trim_start().starts_with("//");
        let lower = above.to_lowercase();
        let said_above = above.starts_with("//")
            && ["error", "ignor", "fail", "nolint", "discard", "cannot", "can't"].iter().any(|w| lower.contains(w));
        let commented = said_after || said_above;
        if names.last() == Some(&"_")
            && !all_blank
            && !commented
            && values.len() == 1
            && values[0].kind() == "call_expression"
        {
            let callee = values[0].child_by_field_name("function").map_or("", |f| self.text(f));
            self.find(
                "ignored-error",
                Severity::Warning,
                node,
                format!("the last result of `{callee}` (by convention the error) is discarded"),
            );
        }
    }

    /// Deletes `node`'s line when it is alone on it, else just the node.
    fn delete_line_fix(&self, node: Node<'_>, title: &str) -> Option<RawFix> {
        let line_start = self.text[..node.start_byte()].rfind('\n').map_or(0, |i| i + 1);
        let after = &self.text[node.end_byte()..];
        let line_end = after.find('\n').map_or(self.text.len(), |i| node.end_byte() + i + 1);
        let alone = self.text[line_start..node.start_byte()].trim().is_empty()
            && self.text[node.end_byte()..line_end].trim().trim_start_matches(';').trim().is_empty();
        // Beside other code, the spaces after it go too when spaces come
        // before it: `{ debugger }` → `{ }`, not `{  }` (eslint's
        // `no-multi-spaces`).
        // A statement that is a branch's whole body (`if (x) debugger`,
        // `if x: breakpoint()`) has no removal that keeps the code the same.
        let in_block = node.parent().is_some_and(|p| {
            is_block(p.kind()) || matches!(p.kind(), "program" | "module" | "source_file" | "expression_statement")
        });
        if !alone && !in_block {
            return None;
        }
        // A Python block's only statement: `pass` keeps the block.
        if self.language == Language::Python
            && node.parent().is_some_and(|p| p.kind() == "block" && p.named_child_count() == 1)
        {
            let edit = RawEdit { bytes: node.byte_range(), new_text: "pass".into(), path: None };
            return Some(RawFix { title: title.to_owned(), edits: vec![edit] });
        }
        let spaced = self.text[..node.start_byte()].ends_with([' ', '\t']);
        let line_rest = &self.text[node.end_byte()..line_end];
        let bytes = if alone {
            line_start..line_end
        } else if spaced && line_rest.trim().is_empty() {
            // Last on its line: the spaces before it go (no trailing space).
            let before = &self.text[..node.start_byte()];
            before.trim_end_matches([' ', '\t']).len()..node.end_byte()
        } else {
            let trailing = if spaced { after.len() - after.trim_start_matches([' ', '\t']).len() } else { 0 };
            node.start_byte()..node.end_byte() + trailing
        };
        Some(RawFix { title: title.to_owned(), edits: vec![RawEdit { bytes, new_text: String::new(), path: None }] })
    }
}

fn is_block(kind: &str) -> bool {
    matches!(kind, "block" | "statement_block" | "statement_list")
}

fn has_top_level_comma(text: &str) -> bool {
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Hard-coded secrets, found by the same rules that redact bundles. The finding
/// names the rule and the line, never the secret.
fn secrets(path: &str, text: &str, findings: &mut Vec<RawFinding>) {
    let (_, redactions) = redact::redact(path, text);
    if redactions.is_empty() {
        return;
    }
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    for redaction in redactions {
        let line = redaction.line as usize;
        let start = starts.get(line).copied().unwrap_or(text.len());
        let end = starts.get(line + 1).map_or(text.len(), |e| e.saturating_sub(1));
        let rule = redact::rules().iter().find(|r| r.id == redaction.rule);
        let what = rule.map_or(redaction.rule.as_str(), |r| r.description.as_str());
        findings.push(RawFinding {
            rule: "hardcoded-secret",
            severity: Severity::Error,
            message: format!("hard-coded secret ({what}); load it from the environment or a secret store"),
            bytes: start..end,
            path: None,
            line: None,
            fix: None,
        });
    }
}

mod bugs;
mod flow;
#[cfg(test)]
mod tests;
