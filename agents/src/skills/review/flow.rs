//! Bug patterns that follow a function's statements in order: a value
//! stored and overwritten before any read (clang's and SpotBugs' dead
//! stores, staticcheck's SA4006), a shared variable read after its lock is
//! released (the lock-set check of race detectors, within one function).

use protocol::agents::Severity;
use tree_sitter::Node;

use super::Walker;

impl Walker<'_> {
    /// `value = signed.encode()` and, before any read, `value, sig = …`:
    /// the first value is lost (itsdangerous' `unsign`, which then used the
    /// unencoded string). Only in functions, only a computed value (`x =
    /// None` first is a default), and only where control reaches the second
    /// assignment straight from the first.
    pub(super) fn dead_store(&mut self, assignment: Node<'_>) {
        let Some(left) = assignment.child_by_field_name("left").filter(|l| l.kind() == "identifier") else { return };
        let Some(right) = assignment.child_by_field_name("right") else { return };
        let Some(statement) = assignment.parent().filter(|p| p.kind() == "expression_statement") else { return };
        if is_constant(right) {
            return;
        }
        let name = self.text(left).to_owned();
        if name.starts_with('_') {
            return;
        }
        let Some(function) = enclosing_function(statement) else { return };
        // In a `try`, a handler or `finally` may read the first value when
        // what assigns the second raises.
        let mut ancestor = statement.parent();
        while let Some(node) = ancestor.filter(|n| n.id() != function.id()) {
            if node.kind() == "try_statement" {
                return;
            }
            ancestor = node.parent();
        }
        if self.captured_or_shared(function, &name) {
            return;
        }
        let mut current = statement;
        loop {
            let mut sibling = current.next_named_sibling();
            while let Some(next) = sibling {
                sibling = next.next_named_sibling();
                if next.kind().contains("comment") {
                    continue;
                }
                if self.mentions(next, &name) {
                    if self.overwrites(next, &name) {
                        let line = self.line_of(next);
                        let message = format!(
                            "the value stored in `{name}` here is never read: line {line} assigns `{name}` again \
                             first — was it meant to be used below?"
                        );
                        self.find("dead-store", Severity::Warning, assignment, message);
                    }
                    return;
                }
                if self.leaves_loop(next) {
                    return;
                }
            }
            // Out of an `if`'s branch or a `with` to what follows it.
            let Some(block) = current.parent().filter(|b| b.kind() == "block") else { return };
            let Some(owner) = block.parent() else { return };
            current = match owner.kind() {
                "if_statement" | "with_statement" => owner,
                "elif_clause" | "else_clause" => match owner.parent() {
                    Some(conditional) if conditional.kind() == "if_statement" => conditional,
                    _ => return,
                },
                _ => return,
            };
        }
    }

    /// `name` is declared `global`/`nonlocal`, read by a nested function or
    /// lambda, or the function reads its locals by name.
    fn captured_or_shared(&self, function: Node<'_>, name: &str) -> bool {
        let Some(body) = function.child_by_field_name("body") else { return true };
        let mut stack = vec![body];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "global_statement" | "nonlocal_statement" | "function_definition" | "lambda"
                    if self.mentions(node, name) =>
                {
                    return true;
                }
                "call"
                    if matches!(
                        node.child_by_field_name("function").map(|f| self.text(f)),
                        Some("locals" | "vars" | "exec" | "eval")
                    ) =>
                {
                    return true;
                }
                _ => {}
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        false
    }

    /// `name = …` or `name, other = …` that does not read `name`.
    fn overwrites(&self, statement: Node<'_>, name: &str) -> bool {
        let Some(assignment) = statement.named_child(0).filter(|a| a.kind() == "assignment") else { return false };
        if statement.kind() != "expression_statement" {
            return false;
        }
        let (Some(left), Some(right)) =
            (assignment.child_by_field_name("left"), assignment.child_by_field_name("right"))
        else {
            return false;
        };
        let targets = match left.kind() {
            "identifier" => vec![left],
            "pattern_list" | "tuple_pattern" | "list_pattern" => {
                let mut cursor = left.walk();
                left.named_children(&mut cursor).collect()
            }
            _ => return false,
        };
        targets.iter().any(|t| t.kind() == "identifier" && self.text(*t) == name) && !self.mentions(right, name)
    }

    /// A `break` or `continue` in `node` (outside loops of its own): control
    /// may go back to a read the statements after do not show.
    fn leaves_loop(&self, node: Node<'_>) -> bool {
        let mut stack = vec![node];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "break_statement" | "continue_statement" => return true,
                "for_statement" | "while_statement" | "function_definition" | "lambda" => continue,
                _ => {}
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        false
    }

    pub(super) fn line_of(&self, node: Node<'_>) -> usize {
        self.text[..node.start_byte()].matches('\n').count() + 1
    }

    /// Go: `mu.Lock()`, a package variable used, `mu.Unlock()`, then the
    /// same variable used again without the lock (uuid's `NewUUID`, which
    /// copied `nodeID` after unlocking while another goroutine could set it).
    pub(super) fn read_after_unlock(&mut self, function: Node<'_>) {
        let Some(body) = function.child_by_field_name("body") else { return };
        let list = body.named_child(0).filter(|l| l.kind() == "statement_list").unwrap_or(body);
        let statements = self.named_children(list);
        // A function literal sees its enclosing function's names too.
        let mut top = function;
        while let Some(parent) = top.parent().filter(|p| p.kind() != "source_file") {
            top = parent;
        }
        let locals = self.go_locals(top);
        let mut i = 0;
        while i < statements.len() {
            let Some(mutex) = self.lock_call(statements[i], &["Lock", "RLock"]) else {
                i += 1;
                continue;
            };
            let unlock = (i + 1..statements.len())
                .find(|&j| self.lock_call(statements[j], &["Unlock", "RUnlock"]).as_deref() == Some(mutex.as_str()));
            let Some(unlock) = unlock else { return };
            let mut guarded: Vec<String> = Vec::new();
            for statement in &statements[i + 1..unlock] {
                self.go_shared_names(*statement, &locals, &mut guarded);
            }
            let unlocked_line = self.line_of(statements[unlock]);
            for statement in &statements[unlock + 1..] {
                // Locked again (here or in a branch): what follows may be guarded.
                if self.contains_lock(*statement) {
                    break;
                }
                let mut used = Vec::new();
                self.go_shared_names(*statement, &locals, &mut used);
                for name in used.iter().filter(|n| guarded.contains(n)) {
                    let Some(at) = self.first_identifier(*statement, name) else { continue };
                    let message = format!(
                        "`{name}` is used here after `{mutex}.Unlock()` (line {unlocked_line}), though it is used \
                         under that lock above: another goroutine can change it in between; keep the lock until \
                         done with it, or copy it while locked"
                    );
                    self.find("read-after-unlock", Severity::Warning, at, message);
                }
                guarded.retain(|g| !used.contains(g));
            }
            i = unlock + 1;
        }
    }

    /// A `.Lock()` or `.RLock()` call anywhere in `node`.
    fn contains_lock(&self, node: Node<'_>) -> bool {
        let mut stack = vec![node];
        while let Some(node) = stack.pop() {
            if node.kind() == "selector_expression"
                && node.child_by_field_name("field").is_some_and(|f| matches!(self.text(f), "Lock" | "RLock"))
            {
                return true;
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        false
    }

    /// `mu.Lock()` as a statement (not deferred): `mu`.
    fn lock_call(&self, statement: Node<'_>, methods: &[&str]) -> Option<String> {
        let call = statement.named_child(0).filter(|c| c.kind() == "call_expression")?;
        if statement.kind() != "expression_statement" {
            return None;
        }
        let function = call.child_by_field_name("function").filter(|f| f.kind() == "selector_expression")?;
        let method = self.text(function.child_by_field_name("field")?);
        let operand = function.child_by_field_name("operand")?;
        methods.contains(&method).then(|| self.text(operand).to_owned())
    }

    /// Names a Go function declares: parameters, results, receivers, `:=`,
    /// `var`, `const`, `range`.
    fn go_locals(&self, function: Node<'_>) -> Vec<String> {
        let mut locals = Vec::new();
        let mut stack = vec![function];
        while let Some(node) = stack.pop() {
            let declared = match node.kind() {
                "parameter_declaration" | "variadic_parameter_declaration" | "var_spec" | "const_spec" => {
                    let mut cursor = node.walk();
                    node.children_by_field_name("name", &mut cursor).collect::<Vec<_>>()
                }
                "short_var_declaration" | "range_clause" | "receive_statement" => node
                    .child_by_field_name("left")
                    .map(|left| {
                        let mut cursor = left.walk();
                        left.named_children(&mut cursor).collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            locals.extend(declared.into_iter().map(|n| self.text(n).to_owned()));
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        locals
    }

    /// Names in `node` that are neither the function's own, nor called, nor
    /// a selector's operand (a package, or a value whose fields are used).
    fn go_shared_names(&self, node: Node<'_>, locals: &[String], names: &mut Vec<String>) {
        let mut stack = vec![node];
        while let Some(node) = stack.pop() {
            if node.kind() == "identifier" {
                let parent = node.parent();
                let called = parent
                    .is_some_and(|p| p.kind() == "call_expression" && p.child_by_field_name("function") == Some(node));
                let operand = parent.is_some_and(|p| {
                    p.kind() == "selector_expression" && p.child_by_field_name("operand") == Some(node)
                });
                // `T{Name: x}`: a field's name, not a variable.
                let key = parent.is_some_and(|p| {
                    p.kind() == "literal_element"
                        && p.parent().is_some_and(|k| k.kind() == "keyed_element" && k.named_child(0) == Some(p))
                });
                let name = self.text(node);
                if !called && !operand && !key && !locals.iter().any(|l| l == name) && !names.iter().any(|n| n == name)
                {
                    names.push(name.to_owned());
                }
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
    }

    fn first_identifier<'t>(&self, node: Node<'t>, name: &str) -> Option<Node<'t>> {
        let mut stack = vec![node];
        let mut first: Option<Node<'t>> = None;
        while let Some(node) = stack.pop() {
            if node.kind() == "identifier"
                && self.text(node) == name
                && first.is_none_or(|f| node.start_byte() < f.start_byte())
            {
                first = Some(node);
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        first
    }
}

/// Literals and empty containers: a default, not a computed value.
fn is_constant(node: Node<'_>) -> bool {
    match node.kind() {
        "none" | "true" | "false" | "integer" | "float" | "string" | "concatenated_string" => true,
        "list" | "dictionary" | "tuple" | "set" => node.named_child_count() == 0,
        "unary_operator" => node.named_child(0).is_some_and(is_constant),
        _ => false,
    }
}

fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    let mut parent = node.parent();
    while let Some(node) = parent {
        match node.kind() {
            "function_definition" => return Some(node),
            "class_definition" | "module" => return None,
            _ => parent = node.parent(),
        }
    }
    None
}
