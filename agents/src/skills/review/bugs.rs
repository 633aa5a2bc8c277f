//! Bug patterns: code that runs but does not do what it says — a comparison
//! whose result is thrown away, a value stored and overwritten before any
//! read, a shared variable read after its lock is released.
//!
//! Each rule is a pattern established tools report as a defect (flake8-bugbear's
//! B015, pylint's consider-using-ternary, clang's and SpotBugs' dead stores,
//! mypy's strict equality for `bytes`, lock-set race checks), narrowed to the
//! shapes that are wrong whatever the intent, so that a finding is worth
//! acting on (`tests/fixtures/quality/labels.tsv`).

use context::Language;
use protocol::agents::Severity;
use tree_sitter::Node;

use super::Walker;

/// Calls whose result can be falsy (`0`, `""`, empty) for ordinary input.
const FALSY_CALLS: [&str; 14] =
    ["int", "float", "len", "sum", "abs", "round", "ord", "str", "bytes", "list", "tuple", "dict", "min", "max"];

impl Walker<'_> {
    /// The bug patterns that one node shows.
    pub(super) fn bug_rules(&mut self, node: Node<'_>) {
        match (self.language, node.kind()) {
            (Language::Python, "expression_statement") => self.useless_comparison(node),
            (Language::Python, "boolean_operator") => self.and_or_ternary(node),
            (Language::Python, "conditional_expression") => {
                self.swapped_none_branches(node);
                self.unanchored_match(node);
            }
            (Language::Python, "if_statement") => self.unanchored_match(node),
            (Language::Python, "comparison_operator") => self.bytes_index_comparison(node),
            (Language::Python, "call") => self.local_time_epoch(node),
            (Language::Python, "assignment") => self.dead_store(node),
            (Language::Go, "function_declaration" | "method_declaration" | "func_literal") => {
                self.read_after_unlock(node);
            }
            _ => {}
        }
    }

    /// `salt is self.salt` as a statement: compared, and the answer dropped
    /// (flake8-bugbear B015). Mostly an assignment or an `assert` meant.
    fn useless_comparison(&mut self, statement: Node<'_>) {
        let Some(comparison) = statement.named_child(0).filter(|c| c.kind() == "comparison_operator") else {
            return;
        };
        if statement.named_child_count() != 1 || self.expects_an_error(statement) {
            return;
        }
        let text = self.text(comparison).to_owned();
        let operators = self.operators(comparison);
        let left = comparison.named_child(0).filter(|l| matches!(l.kind(), "identifier" | "attribute"));
        let operators: Vec<&str> = operators.iter().map(String::as_str).collect();
        let hint = match (operators.as_slice(), left) {
            (["is" | "=="], Some(left)) => {
                let right = comparison.named_child(1).map_or("", |r| self.text(r));
                format!("did you mean `{} = {right}`?", self.text(left))
            }
            _ => format!("did you mean `assert {text}`?"),
        };
        self.find(
            "useless-comparison",
            Severity::Warning,
            comparison,
            format!("`{text}` compares and throws the answer away: {hint}"),
        );
    }

    /// Inside `with pytest.raises(…)` / `self.assertRaises(…)`: the statement
    /// is there for the error it raises, not for its value.
    fn expects_an_error(&self, node: Node<'_>) -> bool {
        let mut parent = node.parent();
        while let Some(node) = parent {
            match node.kind() {
                "with_statement" => {
                    let mut cursor = node.walk();
                    let clause = node.named_children(&mut cursor).find(|c| c.kind() == "with_clause");
                    let clause = clause.map(|c| self.text(c).to_ascii_lowercase()).unwrap_or_default();
                    if clause.contains("raises") || clause.contains("warns") {
                        return true;
                    }
                }
                // `try: a < b` / `except TypeError:`: evaluated for the error.
                "try_statement" => return true,
                "function_definition" | "class_definition" => return false,
                _ => {}
            }
            parent = node.parent();
        }
        false
    }

    /// The operator tokens of a Python comparison (`is not` as one).
    fn operators(&self, comparison: Node<'_>) -> Vec<String> {
        let mut cursor = comparison.walk();
        let mut operators: Vec<String> = Vec::new();
        let mut last_was_operator = false;
        for child in comparison.children(&mut cursor) {
            if child.is_named() {
                last_was_operator = false;
                continue;
            }
            let token = self.text(child);
            match operators.last_mut() {
                Some(previous) if last_was_operator => {
                    previous.push(' ');
                    previous.push_str(token);
                }
                _ => operators.push(token.to_owned()),
            }
            last_was_operator = true;
        }
        operators
    }

    /// `cond and int(text) or other`: gives `other` whenever the middle is
    /// falsy — `int("0")` is 0 (pylint's consider-using-ternary; semver's
    /// "rc0 vs rc1" bug). Only where the middle can be falsy for ordinary
    /// input: a number, a length, a conversion.
    fn and_or_ternary(&mut self, node: Node<'_>) {
        if !self.operator_is(node, "or") {
            return;
        }
        let (Some(left), Some(otherwise)) = (node.child_by_field_name("left"), node.child_by_field_name("right"))
        else {
            return;
        };
        let left = unparenthesised(left);
        if left.kind() != "boolean_operator" || !self.operator_is(left, "and") {
            return;
        }
        let (Some(condition), Some(middle)) = (left.child_by_field_name("left"), left.child_by_field_name("right"))
        else {
            return;
        };
        let middle = unparenthesised(middle);
        let falsy = match middle.kind() {
            "call" => middle.child_by_field_name("function").is_some_and(|f| FALSY_CALLS.contains(&self.text(f))),
            "integer" | "float" => self.text(middle).trim_matches(|c| c == '0' || c == '.').is_empty(),
            "none" | "false" | "list" | "dictionary" | "tuple" => self.named_children(middle).is_empty(),
            "string" => self.text(middle).trim_start_matches(|c: char| c.is_ascii_alphabetic()).len() == 2,
            _ => false,
        };
        // `x and len(x) or 0`: when the middle is falsy the fallback is too.
        let fallback_falsy = matches!(unparenthesised(otherwise).kind(), "none" | "false" | "integer" | "string")
            && ["0", "None", "False", "''", "\"\""].contains(&self.text(otherwise));
        if !falsy || fallback_falsy {
            return;
        }
        let (condition, middle_text, otherwise) = (self.text(condition), self.text(middle), self.text(otherwise));
        let message = format!(
            "`… and {middle_text} or {otherwise}` gives `{otherwise}` whenever `{middle_text}` is falsy (0, empty), \
             not only when `{condition}` is false; write `{middle_text} if {condition} else {otherwise}`"
        );
        self.find("and-or-ternary", Severity::Warning, node, message);
    }

    fn operator_is(&self, node: Node<'_>, operator: &str) -> bool {
        node.child_by_field_name("operator").is_some_and(|o| self.text(o) == operator)
    }

    pub(super) fn named_children<'t>(&self, node: Node<'t>) -> Vec<Node<'t>> {
        let mut cursor = node.walk();
        node.named_children(&mut cursor).filter(|c| !c.kind().contains("comment")).collect()
    }

    /// `len(s) if n is not None else n`: `n`'s value is never used — when it
    /// is given the result ignores it, and otherwise the result is `None`.
    /// The branches are swapped (wcwidth's `wcswidth(s, n)`).
    fn swapped_none_branches(&mut self, node: Node<'_>) {
        let [consequence, condition, alternative] = self.named_children(node)[..] else { return };
        if condition.kind() != "comparison_operator" || self.operators(condition) != ["is not"] {
            return;
        }
        let [tested, none] = self.named_children(condition)[..] else { return };
        if none.kind() != "none" || self.text(alternative) != self.text(tested) {
            return;
        }
        let name = self.text(tested).to_owned();
        if self.mentions(consequence, &name) {
            return;
        }
        let consequence = self.text(consequence).to_owned();
        let message = format!(
            "when `{name}` is given its value is ignored (the result is `{consequence}`), and when it is None \
             the result is None: the branches look swapped — `{name} if {name} is not None else {consequence}`?"
        );
        self.find("swapped-branches", Severity::Warning, node, message);
    }

    /// Whether `name` (a name or a dotted path) is used anywhere in `node`.
    pub(super) fn mentions(&self, node: Node<'_>, name: &str) -> bool {
        let mut stack = vec![node];
        while let Some(node) = stack.pop() {
            if matches!(node.kind(), "identifier" | "attribute") && self.text(node) == name {
                return true;
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        false
    }

    /// `payload[0] == b'.'`: indexing `bytes` gives an `int` in Python 3,
    /// never equal to a `bytes` value (itsdangerous' compressed payloads).
    fn bytes_index_comparison(&mut self, node: Node<'_>) {
        if !matches!(self.operators(node).as_slice(), [op] if op == "==" || op == "!=") {
            return;
        }
        let [a, b] = self.named_children(node)[..] else { return };
        let (index, literal) = if a.kind() == "subscript" { (a, b) } else { (b, a) };
        if index.kind() != "subscript" || !self.is_one_byte_literal(literal) {
            return;
        }
        // `line.split(b' ')[0]`, `struct.unpack('c', d)[0]`: items of a list or
        // tuple, which may well be bytes.
        if index.child_by_field_name("value").is_none_or(|v| !matches!(v.kind(), "identifier" | "attribute")) {
            return;
        }
        let Some(subscript) = index.child_by_field_name("subscript") else { return };
        let position = self.text(subscript).trim_start_matches('-');
        if position.is_empty() || !position.bytes().all(|c| c.is_ascii_digit()) {
            return;
        }
        let value = index.child_by_field_name("value").map_or("", |v| self.text(v));
        let (literal, subscript) = (self.text(literal), self.text(subscript));
        let always = if self.operators(node)[0] == "==" { "False" } else { "True" };
        let slice = match subscript.parse::<i64>() {
            Ok(-1) => format!("{value}[-1:]"),
            Ok(i) => format!("{value}[{i}:{}]", i + 1),
            Err(_) => format!("{value}[{subscript}:…]"),
        };
        let message = format!(
            "on Python 3 `{value}[{subscript}]` of `bytes` is an int, so comparing it with `{literal}` is always \
             {always}; compare a one-byte slice, `{slice} == {literal}`"
        );
        self.find("bytes-index-comparison", Severity::Warning, node, message);
    }

    fn is_one_byte_literal(&self, node: Node<'_>) -> bool {
        if node.kind() != "string" {
            return false;
        }
        let text = self.text(node);
        let prefix: String = text.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        if !prefix.to_ascii_lowercase().contains('b') {
            return false;
        }
        let body = &text[prefix.len()..];
        let body = body.get(1..body.len().saturating_sub(1)).unwrap_or("");
        body.len() == 1 || (body.starts_with("\\x") && body.len() == 4) || matches!(body, "\\n" | "\\r" | "\\t" | "\\0")
    }

    /// `int(text) if re.match('[0-9]+', text) else text`: `re.match` anchors
    /// only at the start, so '1a' passes and `int` raises (semver's
    /// prerelease comparison).
    fn unanchored_match(&mut self, node: Node<'_>) {
        let (condition, guarded) = if node.kind() == "if_statement" {
            (node.child_by_field_name("condition"), node.child_by_field_name("consequence"))
        } else {
            let children = self.named_children(node);
            (children.get(1).copied(), children.first().copied())
        };
        let (Some(condition), Some(guarded)) = (condition, guarded) else { return };
        if condition.kind() != "call" {
            return;
        }
        let function = condition.child_by_field_name("function").map_or("", |f| self.text(f));
        if !matches!(function, "re.match" | "re.search") {
            return;
        }
        let Some(arguments) = condition.child_by_field_name("arguments") else { return };
        let [pattern, subject] = self.named_children(arguments)[..] else { return };
        if pattern.kind() != "string" || subject.kind() != "identifier" {
            return;
        }
        let pattern_text = self.text(pattern).trim_end_matches(['\'', '"']);
        if pattern_text.ends_with('$') || pattern_text.ends_with("\\Z") {
            return;
        }
        let subject = self.text(subject).to_owned();
        let Some(conversion) = self.conversion_of(guarded, &subject) else { return };
        let message = format!(
            "`{function}` checks only {} of `{subject}`, so text such as '1a' passes and `{conversion}({subject})` \
             raises ValueError; use `re.fullmatch` (or end the pattern with `$`)",
            if function == "re.match" { "the start" } else { "a part" }
        );
        self.find("unanchored-match", Severity::Warning, condition, message);
    }

    /// `int` or `float` called on `name` somewhere in `node`.
    fn conversion_of(&self, node: Node<'_>, name: &str) -> Option<&'static str> {
        let mut stack = vec![node];
        while let Some(node) = stack.pop() {
            if node.kind() == "call"
                && let Some(function) = node.child_by_field_name("function")
                && let Some(arguments) = node.child_by_field_name("arguments")
                && matches!(self.named_children(arguments)[..], [only] if self.text(only) == name)
            {
                match self.text(function) {
                    "int" => return Some("int"),
                    "float" => return Some("float"),
                    _ => {}
                }
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        None
    }

    /// `time.mktime((2011, 1, 1, 0, 0, 0, 0, 0, 0))`: a fixed date read as
    /// local time, so the value depends on the machine's timezone
    /// (itsdangerous' epoch).
    fn local_time_epoch(&mut self, node: Node<'_>) {
        let function = node.child_by_field_name("function").map_or("", |f| self.text(f));
        if function != "time.mktime" {
            return;
        }
        let Some(arguments) = node.child_by_field_name("arguments") else { return };
        let [tuple] = self.named_children(arguments)[..] else { return };
        let fields = self.named_children(tuple);
        if tuple.kind() != "tuple" || fields.is_empty() || fields.iter().any(|f| f.kind() != "integer") {
            return;
        }
        self.find(
            "local-time-epoch",
            Severity::Warning,
            node,
            "`time.mktime` reads this fixed date as local time, so the value differs between machines in \
             different timezones; for a UTC instant use `calendar.timegm(…)`"
                .into(),
        );
    }
}

/// `(x)` → `x`.
fn unparenthesised(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression"
        && let Some(inner) = node.named_child(0)
    {
        node = inner;
    }
    node
}
