//! TypeScript and JavaScript: an exported function's inputs (ES module or
//! CommonJS) from the calls the project's tests make (`parse(…)`,
//! `contentType.parse(…)`, `parse.bind(null, …)`) and from its parameter
//! types, a probe test file (vitest, jest or mocha) that prints what each
//! call returned, and tests written as the project's are
//! (`it("f(x)", () => { expect(f(x)).toEqual(…) })`, `assert.strictEqual`).

use context::Language;
use serde_json::Value;
use tree_sitter::Node;

use super::{CommonJs, JsTests, MARK, Observed, Target, calls_up_to, compared_literals_in, with_examples_up_to};

pub(super) fn target(
    path: &str,
    name: &str,
    node: Node<'_>,
    text: &str,
    language: Language,
    (tests, prefer): (&[String], &[String]),
) -> Result<Target, String> {
    // A declaration's function, or the one a `module.exports = function (…)`
    // (or `exports.x =`) assigns.
    let mut value = node;
    while let Some(inner) = match value.kind() {
        "variable_declarator" => value.child_by_field_name("value"),
        "lexical_declaration" | "variable_declaration" => {
            let mut cursor = value.walk();
            value.named_children(&mut cursor).find(|c| c.kind() == "variable_declarator")
        }
        "expression_statement" => value.named_child(0),
        "assignment_expression" => value.child_by_field_name("right"),
        "pair" => value.child_by_field_name("value"),
        _ => None,
    } {
        value = inner;
    }
    let function = Some(value)
        .filter(|f| matches!(f.kind(), "function_declaration" | "arrow_function" | "function_expression" | "function"))
        .ok_or_else(|| format!("`{name}` is not a function a test can call"))?;
    let mut exported = node.parent();
    while let Some(n) = exported.filter(|n| n.kind() != "export_statement") {
        exported = n.parent().filter(|p| p.kind() != "program");
    }
    // A default export is imported under a name of the test's choosing
    // (`import parse from "../src/parse"`), which offline tests do not write.
    if exported.is_some_and(|e| text[e.byte_range()].starts_with("export default")) {
        return Err(format!("`{name}` is its module's default export: offline, Edison tests named exports"));
    }
    let mut root = node;
    while let Some(parent) = root.parent() {
        root = parent;
    }
    let commonjs = match exported {
        Some(_) => None,
        None => Some(commonjs_export(root, text, name, function).ok_or_else(|| format!("`{name}` {NOT_EXPORTED}"))?),
    };
    // The calls the project's tests make, by the name they call it by: its
    // own, the property CommonJS exports it as (`escape.command(…)`), or the
    // binding a test gives a module that is the function (`nanoid(…)`).
    let module = path.rsplit_once('.').map_or(path, |(stem, _)| stem).to_owned();
    let (name, every) = match &commonjs {
        Some(CommonJs::Property(key)) => (name.to_owned(), super::every_example_call(key, language, tests)),
        Some(CommonJs::Whole) => {
            let bindings: Vec<String> = tests.iter().flat_map(|t| bindings_of(t, &module)).collect();
            let mut examples: Vec<Vec<String>> = Vec::new();
            for binding in &bindings {
                for call in super::every_example_call(binding, language, tests) {
                    if !examples.contains(&call) {
                        examples.push(call);
                    }
                }
            }
            // An anonymous function is named after what its tests call it.
            let named = if name == "exports" { bindings.first().cloned() } else { None };
            (named.unwrap_or_else(|| name.to_owned()), examples)
        }
        None => (name.to_owned(), super::every_example_call(name, language, tests)),
    };
    // Inputs start from the first few; every one is a call the tests make already.
    // Those that hold what a private function reached through this one
    // compares with first (their variants are made from the first).
    let mut every = every;
    every.sort_by_key(|call| !call.iter().any(|arg| prefer.iter().any(|p| arg.contains(p.as_str()))));
    let examples: Vec<Vec<String>> = every.iter().take(8).cloned().collect();
    let (name, examples) = (name.as_str(), examples.as_slice());
    if text[function.byte_range()].trim_start().starts_with("async") {
        return Err(format!("`{name}` is async: what it resolves to takes a model to test offline"));
    }
    let (mut strings, mut numbers) = (Vec::new(), Vec::new());
    if let Some(body) = function.child_by_field_name("body") {
        compared_literals_in(body, text, &["string"], &mut strings);
        // Not an error's message (`throw new TypeError('argument is required')`)
        // or a `typeof` comparison's type name: no input anyone would pass.
        let body_text = &text[body.byte_range()];
        strings.retain(|literal| {
            let inner = literal.trim_matches(['\'', '"', '`']);
            !TYPE_NAMES.contains(&inner) && !body_text.contains(&format!("Error({literal}"))
        });
        compared_literals_in(body, text, &["number"], &mut numbers);
    }
    let list = function.child_by_field_name("parameters").ok_or_else(|| format!("`{name}` has no parameter list"))?;
    let mut candidates = Vec::new();
    let mut cursor = list.walk();
    for parameter in list.named_children(&mut cursor).filter(|p| !p.kind().contains("comment")) {
        // Optional and defaulted parameters keep their defaults, unless the
        // project's tests pass them (`withoutTrailingSlash(input = "")`
        // called with each row's input): then those values.
        let default = parameter.child_by_field_name("value").or_else(|| parameter.child_by_field_name("right"));
        if matches!(parameter.kind(), "optional_parameter" | "assignment_pattern") || default.is_some() {
            let declared =
                parameter.child_by_field_name("type").map(|t| text[t.byte_range()].trim_start_matches(':').trim());
            let ty = declared.unwrap_or_else(|| match default.map(|d| &text[d.byte_range()]) {
                Some(d) if d.starts_with(['"', '\'', '`']) => "string",
                Some("true" | "false") => "boolean",
                Some(d) if d.trim_start_matches('-').starts_with(|c: char| c.is_ascii_digit()) => "number",
                _ => "",
            });
            let index = candidates.len();
            let usable: Vec<Vec<String>> =
                examples.iter().filter(|c| c.get(index).is_some_and(|v| fits(ty, v))).cloned().collect();
            match with_examples_up_to(EXAMPLES, index, &usable, values(ty, &strings, &numbers))
                .filter(|_| !usable.is_empty())
            {
                Some(given) => candidates.push(given),
                None => continue,
            }
            continue;
        }
        if matches!(parameter.kind(), "rest_pattern") || text[parameter.byte_range()].starts_with("...") {
            return Err(format!("`{name}` takes a rest parameter: choosing its inputs takes a model"));
        }
        let ty = parameter
            .child_by_field_name("type")
            .map(|t| text[t.byte_range()].trim_start_matches(':').trim().to_owned())
            .unwrap_or_default();
        // A type parameter stands for its constraint (`<S extends string>`).
        let ty = constraint_of(function, text, &ty).unwrap_or(ty);
        let index = candidates.len();
        let usable: Vec<Vec<String>> =
            examples.iter().filter(|c| c.get(index).is_some_and(|v| fits(&ty, v))).cloned().collect();
        // JavaScript leaves a trailing argument out as the project's tests do
        // (`bytes(1024)` of `bytes(value, options)`): the calls stop here.
        if language == Language::JavaScript && usable.is_empty() && examples.iter().any(|c| c.len() == index) {
            break;
        }
        // Untyped (JavaScript, `any`): the kind of value the tests pass; and
        // inputs they do not (a case or spacing of theirs, an empty one).
        let untyped = matches!(ty.as_str(), "" | "any" | "unknown");
        let kinds = if untyped { inferred(&usable, index) } else { vec![ty.as_str()] };
        let mut derived: Vec<String> = Vec::new();
        for kind in kinds {
            for value in values(kind, &strings, &numbers).into_iter().flatten() {
                if !derived.contains(&value) {
                    derived.push(value);
                }
            }
        }
        derived.extend(super::string_variants(&usable, index, &['\'', '"']));
        let derived = (!derived.is_empty()).then_some(derived);
        candidates.push(with_examples_up_to(EXAMPLES, index, &usable, derived).ok_or_else(|| {
            let param = parameter
                .child_by_field_name("pattern")
                .map_or(&text[parameter.byte_range()], |p| &text[p.byte_range()]);
            let shown = if ty.is_empty() { String::new() } else { format!(": {ty}") };
            if examples.is_empty() {
                format!(
                    "`{name}` takes `{param}{shown}`, and no call of it in the project's tests passes literals \
                         to start from: choosing an input takes a model"
                )
            } else {
                format!("`{name}` takes `{param}{shown}` and its tests pass it no literal: choosing one takes a model")
            }
        })?);
    }
    // A literal the tests wrote over several lines is one line in a call.
    let candidates: Vec<Vec<String>> =
        candidates.into_iter().map(|values| values.iter().map(|v| one_line(v)).collect()).collect();
    Ok(Target {
        // The tests' own inputs and as many new: those are what is proposed.
        calls: calls_up_to(&candidates, 2 * EXAMPLES),
        module: Some(module),
        commonjs,
        tested: every.iter().map(|call| call.iter().map(|a| one_line(a)).collect()).collect(),
        thrown: thrown_messages(text),
        ..Target::new(language, name)
    })
}

/// The messages `text` throws itself: the string right after an `Error(`
/// (`throw new TypeError('invalid media type')`), undone of its quotes.
fn thrown_messages(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("Error(") {
        let rest = text[at + "Error(".len()..].trim_start();
        let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"' | '`')) else { continue };
        let Some(end) = rest[1..].find(quote) else { continue };
        let message = &rest[1..=end];
        if !message.contains(['\\', '$']) && !found.iter().any(|m| m == message) {
            found.push(message.to_owned());
        }
    }
    found
}

/// The kinds of value the tests pass at `index`: `string` where any is a
/// string, `number` where any is a number (`bytes(1024)` and
/// `bytes('1KB')`), `boolean` where all are; none where nothing says.
fn inferred(examples: &[Vec<String>], index: usize) -> Vec<&'static str> {
    let values: Vec<&String> = examples.iter().filter_map(|call| call.get(index)).collect();
    let mut kinds = Vec::new();
    if values.iter().any(|v| v.starts_with(['\'', '"'])) {
        kinds.push("string");
    }
    if values.iter().any(|v| fits("number", v) && !v.starts_with(['\'', '"', '{', '['])) {
        kinds.push("number");
    }
    if !values.is_empty() && values.iter().all(|v| matches!(v.as_str(), "true" | "false")) {
        kinds.push("boolean");
    }
    kinds
}

/// How CommonJS exports the function `name` (its node `function`), if it
/// does, from the program's top-level assignments: `module.exports = name`
/// or `= function (…)` (the module itself); `exports.key = name`,
/// `module.exports.key = …`, a `module.exports = { key: name }` (a
/// property, by its key).
fn commonjs_export(root: Node<'_>, text: &str, name: &str, function: Node<'_>) -> Option<CommonJs> {
    let is_it = |n: Node<'_>| (n.kind() == "identifier" && &text[n.byte_range()] == name) || n.id() == function.id();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let Some(assignment) = statement.named_child(0).filter(|a| a.kind() == "assignment_expression") else {
            continue;
        };
        let (Some(left), Some(mut right)) =
            (assignment.child_by_field_name("left"), assignment.child_by_field_name("right"))
        else {
            continue;
        };
        // `module.exports = exports = fn`
        while right.kind() == "assignment_expression" {
            let Some(inner) = right.child_by_field_name("right") else { break };
            right = inner;
        }
        let target: String = text[left.byte_range()].split_whitespace().collect();
        if target == "module.exports" {
            if is_it(right) {
                return Some(CommonJs::Whole);
            }
            if right.kind() != "object" {
                continue;
            }
            let mut pairs = right.walk();
            for pair in right.named_children(&mut pairs) {
                match pair.kind() {
                    "shorthand_property_identifier" if &text[pair.byte_range()] == name => {
                        return Some(CommonJs::Property(name.to_owned()));
                    }
                    "pair" if pair.child_by_field_name("value").is_some_and(is_it) => {
                        let key = pair.child_by_field_name("key").map(|k| &text[k.byte_range()])?;
                        return Some(CommonJs::Property(key.trim_matches(['\'', '"']).to_owned()));
                    }
                    "method_definition" if pair.id() == function.id() => {
                        return Some(CommonJs::Property(name.to_owned()));
                    }
                    _ => {}
                }
            }
        } else if let Some(key) = target.strip_prefix("module.exports.").or_else(|| target.strip_prefix("exports."))
            && !key.contains(['.', '['])
            && is_it(right)
        {
            return Some(CommonJs::Property(key.to_owned()));
        }
    }
    None
}

/// How [`target`]'s refusal of a module-private function ends.
pub(super) const NOT_EXPORTED: &str = "is not exported: a test cannot import it";

/// The byte just inside the body of the function `node` declares (a
/// declaration, or a variable holding a function with a block body).
pub(super) fn body_start(node: Node<'_>) -> Option<usize> {
    let function = match node.kind() {
        "variable_declarator" => node.child_by_field_name("value")?,
        _ => node,
    };
    let body = function.child_by_field_name("body").filter(|b| b.kind() == "statement_block")?;
    // After its directives (`'use strict'`), which must stay first to count.
    let mut cursor = body.walk();
    let directives = body.named_children(&mut cursor).take_while(|statement| {
        statement.kind() == "expression_statement" && statement.named_child(0).is_some_and(|e| e.kind() == "string")
    });
    Some(directives.last().map_or(body.start_byte() + 1, |d| d.end_byte()))
}

/// Whether the function `node` declares gives a value back (`return x`
/// somewhere in its own body): one that only has effects (destr's
/// `warnKeyDropped`, which warns) leaves its caller's value as it was.
pub(super) fn gives_a_value(node: Node<'_>) -> bool {
    let function = match node.kind() {
        "variable_declarator" => node.child_by_field_name("value"),
        _ => Some(node),
    };
    let Some(body) = function.and_then(|f| f.child_by_field_name("body")) else { return false };
    if body.kind() != "statement_block" {
        return true;
    }
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        if n.kind() == "return_statement" && n.named_child_count() > 0 {
            return true;
        }
        // Not the returns of functions nested in it.
        if n.id() != body.id() && n.kind().contains("function") {
            continue;
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    false
}

/// The text of the string literals the function `node` declares compares
/// with (`key === "__proto__"`), two characters long at least.
pub(super) fn compared_strings(node: Node<'_>, text: &str) -> Vec<String> {
    let function = match node.kind() {
        "variable_declarator" => node.child_by_field_name("value"),
        _ => Some(node),
    };
    let mut found = Vec::new();
    if let Some(body) = function.and_then(|f| f.child_by_field_name("body")) {
        compared_literals_in(body, text, &["string"], &mut found);
    }
    inputs_among(&found)
}

/// [`compared_strings`] of the module's private functions that call `name`
/// (destr's `jsonParseTransform`, which compares with `"__proto__"` before it
/// calls `warnKeyDropped`).
pub(super) fn compared_by_private_callers(root: Node<'_>, text: &str, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (caller, _, body, exported) in top_level_functions(root, text) {
        if !exported && caller != name && runs(body, text, name) {
            compared_literals_in(body, text, &["string"], &mut found);
        }
    }
    inputs_among(&found)
}

/// The text of string literals an input could hold: two characters long at
/// least, not a `typeof` name.
fn inputs_among(literals: &[String]) -> Vec<String> {
    literals
        .iter()
        .map(|literal| literal.trim_matches(['\'', '"', '`']).to_owned())
        .filter(|inner| inner.chars().count() >= 2 && !TYPE_NAMES.contains(&inner.as_str()))
        .collect()
}

/// What `typeof` gives: compared with, but no input anyone passes.
const TYPE_NAMES: [&str; 8] = ["string", "number", "object", "function", "undefined", "boolean", "bigint", "symbol"];

/// The top-level functions of the file that call `name` (`name(…)`, `new
/// name(…)`, or pass it to be called: `JSON.parse(text, reviver)`) and a test can import, by name and where their name is;
/// through one private function that calls it at most (destr's
/// `warnKeyDropped`, called by `jsonParseTransform`, called by `destr`).
pub(super) fn exported_callers(root: Node<'_>, text: &str, name: &str) -> Vec<(String, usize)> {
    let functions = top_level_functions(root, text);
    let calls = |body: Node<'_>, callee: &str| runs(body, text, callee);
    let mut found: Vec<(String, usize)> = Vec::new();
    for private in [None, Some(())] {
        let callees: Vec<&str> = match private {
            None => vec![name],
            // One step further: the private functions that call it.
            Some(()) => functions
                .iter()
                .filter(|(caller, _, body, exported)| !exported && caller != name && calls(*body, name))
                .map(|(caller, ..)| caller.as_str())
                .collect(),
        };
        for (caller, at, body, exported) in &functions {
            if *exported
                && caller != name
                && callees.iter().any(|callee| calls(*body, callee))
                && !found.iter().any(|(f, _)| f == caller)
            {
                found.push((caller.clone(), *at));
            }
        }
    }
    found
}

/// Whether the code in `node` runs the function `name`: calls it (`name(…)`,
/// `new name(…)`) or passes it on to be called (`JSON.parse(value, name)`) —
/// an identifier in those places, never a word in a string or a comment,
/// a property (`obj.name`) or a key.
fn runs(node: Node<'_>, text: &str, name: &str) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "identifier" && &text[n.byte_range()] == name {
            let parent = n.parent();
            let called = parent.is_some_and(|p| {
                matches!(p.kind(), "call_expression" | "new_expression")
                    && p.child_by_field_name(if p.kind() == "call_expression" { "function" } else { "constructor" })
                        .is_some_and(|f| f.id() == n.id())
            });
            if called || parent.is_some_and(|p| p.kind() == "arguments") {
                return true;
            }
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    false
}

/// The file's top-level functions: name, where the name is, body, and
/// whether a test can import it (an ES `export`, or CommonJS's exports).
fn top_level_functions<'t>(root: Node<'t>, text: &str) -> Vec<(String, usize, Node<'t>, bool)> {
    let mut found = Vec::new();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let exported = statement.kind() == "export_statement";
        let declaration = if exported { statement.child_by_field_name("declaration") } else { Some(statement) };
        let Some(declaration) = declaration else { continue };
        let mut functions: Vec<(Node<'t>, Node<'t>)> = Vec::new();
        if declaration.kind() == "function_declaration" {
            functions.extend(declaration.child_by_field_name("name").zip(Some(declaration)));
        } else if matches!(declaration.kind(), "lexical_declaration" | "variable_declaration") {
            let mut inner = declaration.walk();
            for declarator in declaration.named_children(&mut inner).filter(|d| d.kind() == "variable_declarator") {
                let value = declarator.child_by_field_name("value");
                if value.is_some_and(|v| matches!(v.kind(), "arrow_function" | "function_expression" | "function")) {
                    functions.extend(declarator.child_by_field_name("name").zip(value));
                }
            }
        }
        for (name_node, function) in functions {
            let Some(body) = function.child_by_field_name("body") else { continue };
            let name = text[name_node.byte_range()].to_owned();
            let exported = exported || commonjs_export(root, text, &name, function).is_some();
            found.push((name, name_node.start_byte(), body, exported));
        }
    }
    found
}

/// The names a test file gives the module at `module` (workspace-relative,
/// no extension) when it requires it whole: `var nanoid = require('..')`
/// for `index`, `require('../format')` for `format`.
fn bindings_of(text: &str, module: &str) -> Vec<String> {
    let stem = module.rsplit('/').next().unwrap_or(module);
    text.lines()
        .filter_map(|line| {
            let rest = ["var ", "let ", "const "].iter().find_map(|k| line.trim().strip_prefix(k))?;
            let (name, value) = rest.split_once('=')?;
            let spec =
                value.trim().strip_prefix("require(")?.trim_matches(|c: char| matches!(c, '\'' | '"' | ')' | ';'));
            let last = spec.trim_end_matches('/').rsplit('/').next().unwrap_or(spec);
            let last = last.rsplit_once('.').filter(|(_, e)| ["js", "cjs", "mjs"].contains(e)).map_or(last, |(s, _)| s);
            let names_it = last == stem || (stem == "index" && matches!(last, ".." | "."));
            let name = name.trim();
            let identifier = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
            (spec.starts_with('.') && names_it && identifier).then(|| name.to_owned())
        })
        .collect()
}

/// A literal on one line: whitespace that holds a line break, outside
/// quotes, becomes one space (none just inside brackets).
fn one_line(literal: &str) -> String {
    if !literal.contains('\n') {
        return literal.to_owned();
    }
    let (mut out, mut quote, mut escaped, mut pending) = (String::new(), None::<char>, false, None::<bool>);
    for c in literal.chars() {
        if quote.is_none() && c.is_whitespace() {
            let broke = pending.unwrap_or(false) || c == '\n';
            pending = Some(broke);
            continue;
        }
        if let Some(broke) = pending.take() {
            let inside = out.ends_with(['[', '(']) || matches!(c, ']' | ')');
            if !(broke && inside) {
                out.push(' ');
            }
        }
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '"' | '\'' | '`') => quote = Some(c),
            None => {}
        }
        out.push(c);
    }
    out
}

/// The names a test file gives the project's own modules it loads whole:
/// `var contentType = require('..')`, `import * as utils from "./utils"`,
/// `import ufo from "../src"` (relative specifiers only).
pub(super) fn module_bindings(text: &str) -> Vec<String> {
    let identifier = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    let relative = |rest: &str| rest.trim_start().trim_start_matches(['(', '"', '\'', '`']).starts_with('.');
    let mut names = Vec::new();
    for line in text.lines().map(str::trim) {
        let name = if let Some(rest) = ["var ", "let ", "const "].iter().find_map(|k| line.strip_prefix(k)) {
            let Some((name, value)) = rest.split_once('=') else { continue };
            let Some(spec) = value.trim_start().strip_prefix("require") else { continue };
            if !relative(spec) {
                continue;
            }
            name.trim()
        } else if let Some(rest) = line.strip_prefix("import ") {
            let Some((what, spec)) = rest.split_once(" from ") else { continue };
            if !relative(spec) {
                continue;
            }
            what.trim().strip_prefix("* as ").unwrap_or(what.trim()).trim()
        } else {
            continue;
        };
        if identifier(name) && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Values the project's tests pass to a parameter, at most: the probe tries
/// them all, the tests keep the ones that do different things.
const EXAMPLES: usize = 8;

/// What kind of thing a call did, its values left out: `{"a":"x","b":[1]}`
/// and `{"a":"y","b":[2]}` are alike, `{"a":"x","b":[]}` is not; errors by
/// their message.
pub(super) fn shape(observed: &Observed) -> String {
    fn skeleton(value: &Value) -> String {
        match value {
            Value::String(text) if text.is_empty() => "\"\"".into(),
            Value::String(_) => "s".into(),
            Value::Number(_) => "0".into(),
            Value::Array(items) => format!("[{}]", items.first().map(skeleton).unwrap_or_default()),
            Value::Object(fields) => {
                let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{}", skeleton(v))).collect();
                format!("{{{}}}", fields.join(","))
            }
            other => other.to_string(),
        }
    }
    match observed {
        Observed::Value(text) | Observed::Shaped(text) => {
            serde_json::from_str::<Value>(text).map_or_else(|_| text.clone(), |value| skeleton(&value))
        }
        Observed::Fails(error) => format!("throws {}", error.as_deref().unwrap_or_default()),
        other => format!("{other:?}"),
    }
}

/// Whether a test's literal fits a parameter's declared type: a string for
/// `string`, a number for `number`, a literal of one of a union's members;
/// any literal where the type says nothing (`any`, JavaScript) or is the
/// project's own (an alias such as `Path`, an interface): the project's
/// tests pass it so, and they type-check.
fn fits(ty: &str, value: &str) -> bool {
    let quoted = value.starts_with(['"', '\'']);
    match ty.trim() {
        "string" => quoted,
        "number" => value.trim_start_matches('-').starts_with(|c: char| c.is_ascii_digit()),
        "boolean" => matches!(value, "true" | "false"),
        union if union.contains('|') => union.split('|').any(|member| fits(member, value)),
        // A literal type (`"a" | "b"`'s members) is that literal.
        literal if literal.starts_with(['"', '\'']) || literal.starts_with(|c: char| c.is_ascii_digit()) => {
            literal == value
        }
        "null" | "undefined" => value == ty.trim(),
        _ => true,
    }
}

fn values(ty: &str, strings: &[String], numbers: &[String]) -> Option<Vec<String>> {
    let with = |mut base: Vec<String>, extra: &[String]| {
        for e in extra.iter().filter(|e| !e.contains('\n') && is_literal(e)).take(2) {
            if !base.contains(e) {
                base.push(e.clone());
            }
        }
        base
    };
    Some(match ty {
        // A union: the values of its first member that has some (`string | number`).
        union if union.contains('|') => {
            return union.split('|').find_map(|member| values(member.trim(), strings, numbers));
        }
        "string" => with(vec!["\"\"".into(), "\"abc\"".into()], strings),
        "number" => with(vec!["0".into(), "1".into(), "-7".into()], numbers),
        "boolean" => vec!["true".into(), "false".into()],
        _ => return None,
    })
}

/// A JavaScript literal a test passes: a string (single or double quotes,
/// one line), a number, `true`, `false`, `null`, `undefined`.
pub(super) fn is_literal(text: &str) -> bool {
    let number = text.trim_start_matches('-');
    if matches!(text, "true" | "false" | "null" | "undefined") {
        return true;
    }
    // Plain data: an array of literals, an object of literals by name
    // (`{ foo: "0", "a-b": [1, 2] }`), whole.
    if text.starts_with(['[', '{']) {
        let Some((items, end)) = bracketed(text) else { return false };
        let object = text.starts_with('{');
        return end == text.len()
            && text.len() <= 400
            && items.iter().all(|item| match object {
                false => is_literal(item),
                true => split_top_level(item, ':').is_some_and(|(key, value)| {
                    let key = key.trim();
                    let named = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
                    (named || (is_literal(key) && key.starts_with(['"', '\'']))) && is_literal(value.trim())
                }),
            });
    }
    if number.starts_with(|c: char| c.is_ascii_digit()) {
        return number.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'));
    }
    let Some(quote) = text.chars().next().filter(|c| matches!(c, '"' | '\'')) else { return false };
    let mut chars = text[1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return false,
            '\\' => {}
            '\n' => return false,
            c if c == quote => return chars.next().is_none(),
            _ => {}
        }
    }
    false
}

/// A test file of the project's framework that reaches the function as
/// `js` says, makes each call and prints what it returned as JSON
/// (`{"value": …}` only when the value is plain data, `{"shaped": …}` for
/// an object of a class whose own fields are, `{"throws": …}` with the
/// error's name and message), one line per call. Plain JavaScript where
/// the project's tests are (no type annotations).
pub(super) fn probe(target: &Target, js: &JsTests) -> String {
    let runner = if js.framework == "vitest" { "import { test } from \"vitest\";\n" } else { "" };
    // Mocha has `it` (its BDD interface), jest and vitest `test`.
    let test = if js.framework == "mocha" { "it" } else { "test" };
    let calls: Vec<String> =
        target.calls.iter().map(|args| format!("() => {}({})", js.callee, args.join(", "))).collect();
    // Through an exported function: whether each call reached the private
    // one, as its marked module counts (see `Through::marked`).
    let (reset, reached) = match &target.through {
        Some(_) => (
            "(globalThis as any).__pairedReached = 0;\n    ".to_owned(),
            format!("if ((globalThis as any).__pairedReached) console.log(\"{MARK} \" + i + \" reached\");"),
        ),
        None => (String::new(), String::new()),
    };
    let probe = format!(
        r#"{runner}{header}
@@HELPERS@@
function pairedPlain(v: unknown, depth: number): boolean {{
  if (depth > 8) return false;
  if (v === null || ["string", "boolean"].includes(typeof v)) return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => pairedPlain(x, depth + 1));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every((x) => pairedPlain(x, depth + 1));
  return false;
}}

// An object of a class (or without a prototype) whose own fields are data;
// at the top, at least one.
function pairedFields(v: unknown, depth: number): boolean {{
  if (depth > 8 || typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v) || v instanceof Error) return false;
  if (typeof (v as any).toJSON === "function") return false;
  const values = Object.values(v as object);
  return (depth > 0 || values.length > 0) && values.every((x) => pairedPlain(x, depth + 1) || pairedFields(x, depth + 1));
}}

function pairedShow(v: unknown): unknown {{
  if (typeof v === "number" && !Number.isFinite(v)) return {{ special: Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity" }};
  if (v === undefined) return {{ special: "undefined" }};
  if (Object.is(v, -0)) return {{ special: "-0" }};
  if (pairedPlain(v, 0)) return {{ value: v }};
  return pairedFields(v, 0) ? {{ shaped: v }} : {{ opaque: true }};
}}

{test}("paired probe", () => {{
  [{calls}].forEach((call, i) => {{
    let seen: unknown;
    {reset}try {{
      const result = call();
      try {{
        seen = pairedShow(result);
      }} catch (_) {{
        seen = {{ opaque: true }};
      }}
    }} catch (e) {{
      const error = e as any;
      seen = error instanceof Error ? {{ throws: true, name: error.name, message: error.message }} : {{ throws: true }};
    }}
    console.log("{MARK} " + i + " " + JSON.stringify(seen));
    {reached}
  }});
}});
"#,
        header = js.header,
        calls = calls.join(", ")
    );
    // Plain JavaScript where the tests are: the probe's own annotations
    // out, not the header's or the calls' (an argument may hold `: number`).
    let (head, rest) = probe.split_once("@@HELPERS@@\n").unwrap_or((&probe, ""));
    if js.typed {
        return format!("{head}{rest}");
    }
    let plain: String = rest
        .split_inclusive('\n')
        .map(|line| match line.trim_start().starts_with("[() =>") {
            true => line.to_owned(),
            false => [": unknown", ": number", ": boolean", " as object", " as any"]
                .iter()
                .fold(line.to_owned(), |text, annotation| text.replace(annotation, "")),
        })
        .collect();
    format!("{head}{plain}")
}

/// One probe line's JSON: the value written again by PAIRED (never the text
/// the code printed), a special number or `undefined`, or that it threw
/// (`Fails(Some("TypeError: invalid type"))` for a built-in error with a
/// message a test can pin).
pub(super) fn observed(line: &str) -> Observed {
    let Ok(seen) = serde_json::from_str::<Value>(line.trim()) else { return Observed::Opaque };
    if seen.get("throws") == Some(&Value::Bool(true)) {
        let name = seen.get("name").and_then(Value::as_str).unwrap_or_default();
        let message = seen.get("message").and_then(Value::as_str).unwrap_or_default();
        let builtin = ["Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError"].contains(&name);
        // Not a message that names a place on this machine (the copy's
        // paths) or that is too long to pin.
        let pinnable = !message.is_empty()
            && message.len() <= 120
            && !message.contains(['\n', '\r', '\\', '\u{2028}', '\u{2029}'])
            && !message.split_whitespace().any(|w| w.trim_start_matches(['\'', '"', '`', '(']).starts_with('/'));
        return Observed::Fails((builtin && pinnable).then(|| format!("{name}: {message}")));
    }
    if let Some(special) = seen.get("special").and_then(Value::as_str) {
        return match special {
            "NaN" => Observed::Value("Number.NaN".into()),
            "Infinity" => Observed::Value("Number.POSITIVE_INFINITY".into()),
            "-Infinity" => Observed::Value("Number.NEGATIVE_INFINITY".into()),
            "undefined" => Observed::Value("undefined".into()),
            // JSON writes it `0`, which `strictEqual` (`Object.is`) tells apart.
            "-0" => Observed::Value("-0".into()),
            _ => Observed::Opaque,
        };
    }
    let short = |value: &Value| Some(value.to_string()).filter(|text| text.len() <= 400);
    match (seen.get("value"), seen.get("shaped")) {
        (Some(value), _) => short(value).map_or(Observed::Opaque, Observed::Value),
        (None, Some(shaped)) if shaped.is_object() => short(shaped).map_or(Observed::Opaque, Observed::Shaped),
        _ => Observed::Opaque,
    }
}

/// The rows of the table a call's arguments loop over, as the test binds
/// them: `for (const input of inputs)` (each element), `for (const [a, b] of
/// pairs)` (each array's elements by position), `for (const input in tests)`
/// over an object (each key, as a string). Each row is the call's argument
/// list with the loop's names replaced; a row with an argument that is no
/// literal is left out. Eight rows at most, in the order written.
pub(super) fn loop_rows(text: &str, call_at: usize, args: &[String]) -> Vec<Vec<String>> {
    // Only a call passing a bare name can be bound by a loop: others cost nothing.
    let bare = |a: &String| !a.is_empty() && a.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if !args.iter().any(bare) {
        return Vec::new();
    }
    let Some((names, destructured, of, table)) = enclosing_loop(&text[..call_at]) else {
        return each_rows(&text[..call_at], args);
    };
    if !args.iter().any(|a| names.contains(&a.as_str())) {
        return Vec::new();
    }
    // The table: its last definition before the loop (`const tests = [`).
    let Some(open) = definition(&text[..call_at], table) else { return Vec::new() };
    let Some(items) = top_level_items(&text[open..]) else { return Vec::new() };
    let rows: Vec<Vec<String>> = match (of, text[open..].starts_with('[')) {
        (true, true) if !destructured => items.into_iter().map(|item| vec![item]).collect(),
        (true, true) => items.iter().filter_map(|item| top_level_items(item)).collect(),
        (false, false) => items
            .iter()
            .filter_map(|item| {
                let (key, _) = split_top_level(item, ':')?;
                let key = key.trim();
                let bare = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
                Some(vec![if bare { format!("\"{key}\"") } else { key.to_owned() }])
            })
            .collect(),
        _ => return Vec::new(),
    };
    rows.into_iter().filter_map(|row| super::filled(args, &names, &row, is_literal)).take(8).collect()
}

/// The constraint of the function's type parameter `name` (`string` of
/// `upperFirst<S extends string>(str: S)`), if it is one of its own.
fn constraint_of(function: Node<'_>, text: &str, name: &str) -> Option<String> {
    let list = function.child_by_field_name("type_parameters")?;
    let mut cursor = list.walk();
    list.named_children(&mut cursor).find_map(|parameter| {
        let own = parameter.child_by_field_name("name").is_some_and(|n| &text[n.byte_range()] == name);
        let constraint = parameter.child_by_field_name("constraint")?;
        own.then(|| text[constraint.byte_range()].trim_start_matches("extends").trim().to_owned())
    })
}

/// The rows of a `test.each([[…], …])('…', (a, b) => { … })` (or
/// `it.each`, `describe.each`) open at the end of `before`, for a call
/// passing its callback's names: each row's values by position (scule's
/// `test.each([["", ""], ["foo", "Foo"]])` for `upperFirst(input)`).
fn each_rows(before: &str, args: &[String]) -> Vec<Vec<String>> {
    let Some(at) = before.rfind(".each(") else { return Vec::new() };
    let after = &before[at..];
    if after.matches('{').count() <= after.matches('}').count() {
        return Vec::new();
    }
    let open = at + ".each(".len();
    let Some((items, end)) = bracketed(&before[open..]).filter(|_| before[open..].starts_with('[')) else {
        return Vec::new();
    };
    // The callback's parameters: `(input, expected) =>` or `function (input, expected)`.
    // After the title (which may hold `=>` itself): `(…) =>`, or `function (…) {`.
    let rest = &before[open + end..];
    let arrow = rest.match_indices("=>").map(|(i, _)| i).find(|i| rest[..*i].trim_end().ends_with(')'));
    let Some(arrow) = arrow.or_else(|| rest.find("function").and_then(|f| rest[f..].find('{').map(|b| f + b))) else {
        return Vec::new();
    };
    let head = rest[..arrow].trim_end();
    let Some(list) = head.strip_suffix(')').and_then(|h| h.rfind('(').map(|o| &h[o + 1..])) else {
        return Vec::new();
    };
    let names: Vec<&str> = list.split(',').map(|n| n.trim().split(':').next().unwrap_or_default().trim()).collect();
    if names.iter().any(|n| n.is_empty() || !n.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')) {
        return Vec::new();
    }
    items
        .iter()
        .filter_map(|item| {
            let row = if item.starts_with('[') { top_level_items(item)? } else { vec![item.clone()] };
            super::filled(args, &names, &row, is_literal)
        })
        .take(64)
        .collect()
}

/// The innermost `for (const … of|in NAME)` open at the end of `before`:
/// the names it binds, whether they are an array's (`[a, b]`), whether it
/// is `of`, and the table's name.
fn enclosing_loop(before: &str) -> Option<(Vec<&str>, bool, bool, &str)> {
    let at = before.rfind("for (")?;
    // Still open where the call is: its body's braces are not all closed.
    let after = &before[at..];
    if after.matches('{').count() <= after.matches('}').count() {
        return None;
    }
    let header = &after["for (".len()..after.find(')')?];
    let rest = ["const ", "let ", "var "].iter().find_map(|k| header.trim_start().strip_prefix(k))?.trim();
    let destructured = rest.starts_with('[');
    let (binding, of, table) = if let Some(end) = rest.strip_prefix('[').and_then(|r| r.find(']')) {
        let (binding, tail) = rest[1..].split_at(end);
        let tail = tail[1..].trim_start();
        let (of, table) =
            tail.strip_prefix("of ").map(|t| (true, t)).or_else(|| tail.strip_prefix("in ").map(|t| (false, t)))?;
        (binding.split(',').map(str::trim).collect::<Vec<_>>(), of, table.trim())
    } else {
        let (name, tail) = rest.split_once(' ')?;
        let tail = tail.trim_start();
        let (of, table) =
            tail.strip_prefix("of ").map(|t| (true, t)).or_else(|| tail.strip_prefix("in ").map(|t| (false, t)))?;
        (vec![name], of, table.trim())
    };
    let identifier = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    (binding.iter().all(|n| identifier(n)) && identifier(table)).then_some((binding, destructured, of, table))
}

/// Where the literal assigned to `name` last before the end of `text` opens
/// (`const tests = {` → the byte of `{`).
fn definition(text: &str, name: &str) -> Option<usize> {
    ["const ", "let ", "var "]
        .iter()
        .filter_map(|keyword| {
            let pattern = format!("{keyword}{name}");
            text.rmatch_indices(&pattern).find_map(|(at, _)| {
                let rest = text[at + pattern.len()..].trim_start();
                // `const tests: Record<string, string> = {` too.
                let rest = rest.strip_prefix(':').map_or(Some(rest), |typed| typed.split_once('=').map(|(_, r)| r));
                let rest = rest?.trim_start().strip_prefix('=').unwrap_or(rest?).trim_start();
                let opens = rest.starts_with(['[', '{']);
                opens.then(|| text.len() - rest.len())
            })
        })
        .max()
}

/// The top-level items of the bracketed literal `text` starts with (`[a, [b,
/// c]]` → `a`, `[b, c]`), comments left out; `None` when it does not close.
fn top_level_items(text: &str) -> Option<Vec<String>> {
    bracketed(text).map(|(items, _)| items)
}

/// [`top_level_items`], and the byte just after the closing bracket.
pub(super) fn bracketed(text: &str) -> Option<(Vec<String>, usize)> {
    let close = match text.chars().next()? {
        '[' => ']',
        '{' => '}',
        '(' => ')',
        _ => return None,
    };
    let (mut depth, mut quote, mut current, mut items) = (0usize, None::<char>, String::new(), Vec::new());
    let mut chars = text.char_indices().map(|(_, c)| c).peekable();
    let mut at = 0usize;
    while let Some(c) = chars.next() {
        at += c.len_utf8();
        if let Some(q) = quote {
            current.push(c);
            if c == '\\' {
                if let Some(escaped) = chars.next() {
                    at += escaped.len_utf8();
                    current.push(escaped);
                }
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for skipped in chars.by_ref() {
                    at += skipped.len_utf8();
                    if skipped == '\n' {
                        break;
                    }
                }
                continue;
            }
            '"' | '\'' | '`' => quote = Some(c),
            '[' | '{' | '(' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            ']' | '}' | ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    if c != close {
                        return None;
                    }
                    items.push(std::mem::take(&mut current));
                    let items = items.into_iter().map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()).collect();
                    return Some((items, at));
                }
            }
            ',' if depth == 1 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    None
}

/// `item` split at its first `separator` outside quotes and brackets.
fn split_top_level(item: &str, separator: char) -> Option<(&str, &str)> {
    let (mut depth, mut quote, mut escaped) = (0usize, None::<char>, false);
    for (at, c) in item.char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '[' | '{' | '(') => depth += 1,
            (None, ']' | '}' | ')') => depth = depth.saturating_sub(1),
            (None, c) if c == separator && depth == 0 => return Some((&item[..at], &item[at + 1..])),
            _ => {}
        }
    }
    None
}

/// One test in the project's framework, written as its test files are
/// (`js`): `expect` (vitest, jest) or node's `assert` (mocha), the file's
/// quotes, semicolons and test bodies.
pub(super) fn test(js: &JsTests, args: &[String], observed: &Observed, thrown: &[String]) -> Option<String> {
    // An error's message is pinned where the module throws it itself; an
    // engine's (`Cannot read properties of null`) by its class alone.
    let observed = &match observed {
        Observed::Fails(Some(error))
            if !error.split_once(": ").is_some_and(|(_, message)| thrown.iter().any(|m| m == message)) =>
        {
            Observed::Fails(error.split_once(": ").map(|(class, _)| class.to_owned()))
        }
        other => other.clone(),
    };
    // A plain string argument in the file's quotes (`""` written by PAIRED is `''` there).
    let restyled: Vec<String> = args
        .iter()
        .map(|arg| match arg.chars().next() {
            Some(q @ ('"' | '\''))
                if q != js.quote && is_literal(arg) && !arg[1..arg.len() - 1].contains(['\\', '"', '\'']) =>
            {
                quoted(&arg[1..arg.len() - 1], js.quote)
            }
            _ => arg.clone(),
        })
        .collect();
    let call = format!("{}({})", js.callee, restyled.join(", "));
    let semi = if js.semicolons { ";" } else { "" };
    let body = if js.function_keyword { "function () {" } else { "() => {" };
    let title = |text: &str| quoted(text, js.quote);
    let assertion = match (&js.assert, observed) {
        (None, Observed::Value(value)) => {
            let matcher = if value.starts_with(['{', '[']) { "toEqual" } else { "toBe" };
            format!("expect({call}).{matcher}({}){semi}", literal(value, js.quote))
        }
        // `toEqual` does not compare prototypes.
        (None, Observed::Shaped(fields)) => format!("expect({call}).toEqual({}){semi}", literal(fields, js.quote)),
        (None, Observed::Fails(error)) => {
            let expected = match error.as_deref().map(|e| e.split_once(": ")) {
                Some(Some((_, message))) => quoted(message, js.quote),
                Some(None) => error.clone().unwrap_or_default(),
                None => String::new(),
            };
            format!("expect(() => {call}).toThrow({expected}){semi}")
        }
        (Some(assert), Observed::Value(value)) => {
            let how = if value.starts_with(['{', '[']) { "deepStrictEqual" } else { "strictEqual" };
            format!("{assert}.{how}({call}, {}){semi}", literal(value, js.quote))
        }
        // An object of a class: field by field, as the projects' own tests
        // check one (`strictEqual(type.type, 'text/html')`); an object in a
        // field with legacy `deepEqual`, which leaves prototypes out (one
        // made by `Object.create(null)`).
        (Some(assert), Observed::Shaped(fields)) => {
            let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) else { return None };
            let mut lines = vec![format!("{} result = {call}{semi}", js.declare)];
            for (key, value) in &fields {
                let bare = !key.is_empty()
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                    && !key.starts_with(|c: char| c.is_ascii_digit());
                let field = if bare { format!("result.{key}") } else { format!("result[{}]", quoted(key, js.quote)) };
                let how = if value.is_object() || value.is_array() { "deepEqual" } else { "strictEqual" };
                lines.push(format!("{assert}.{how}({field}, {}){semi}", literal(&value.to_string(), js.quote)));
            }
            lines.join("\n  ")
        }
        (Some(assert), Observed::Fails(error)) => {
            let thrower = if js.function_keyword {
                format!("function () {{\n    {call}{semi}\n  }}")
            } else {
                format!("() => {call}")
            };
            // As the projects' own tests check an error, by a regular
            // expression, which node tests against `TypeError: the message`.
            let expected = error.as_deref().map(|e| {
                // A class alone: `assert.throws(fn, TypeError)`.
                if !e.contains(": ") {
                    return format!(", {e}");
                }
                let escape = super::regex_escaped;
                // chai's `assert` (vitest's) tests the message alone, after the class.
                if js.framework != "mocha" {
                    let (class, message) = e.split_once(": ").unwrap_or((e, ""));
                    let builtin = ["Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "URIError"];
                    let class = if builtin.contains(&class) { format!("{class}, ") } else { String::new() };
                    return format!(", {class}/^{}$/", escape(message));
                }
                format!(", /^{}$/", escape(e))
            });
            format!("{assert}.throws({thrower}{}){semi}", expected.unwrap_or_default())
        }
        (_, Observed::Opaque | Observed::Varies(_) | Observed::Differs(_)) => return None,
    };
    let name = match observed {
        Observed::Fails(_) => format!("{call} throws"),
        _ => call.clone(),
    };
    Some(format!("\n{}({}, {body}\n  {assertion}\n}}){semi}\n", js.it, title(&name)))
}

/// `text` as a JavaScript string in the file's quote (the other where that
/// saves escapes, as `avoidEscape` allows).
fn quoted(text: &str, quote: char) -> String {
    let other = if quote == '"' { '\'' } else { '"' };
    let quote = if text.contains(quote) && !text.contains(other) { other } else { quote };
    let mut out = String::from(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A value the probe printed (JSON) as a JavaScript literal in the file's
/// quote: `{ type: 'text/html', parameters: {} }`. Other text (`Number.NaN`,
/// `undefined`) as it is.
fn literal(value: &str, quote: char) -> String {
    fn write(value: &Value, quote: char) -> String {
        match value {
            Value::String(text) => quoted(text, quote),
            Value::Array(items) => {
                format!("[{}]", items.iter().map(|v| write(v, quote)).collect::<Vec<_>>().join(", "))
            }
            Value::Object(fields) if fields.is_empty() => "{}".into(),
            Value::Object(fields) => {
                let bare = |key: &str| {
                    key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                };
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(key, v)| {
                        let key = if bare(key) { key.clone() } else { quoted(key, quote) };
                        format!("{key}: {}", write(v, quote))
                    })
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }
            other => other.to_string(),
        }
    }
    match serde_json::from_str::<Value>(value) {
        // As JavaScript writes it (`-0.0` is Rust's).
        Ok(_) if value == "-0" => value.to_owned(),
        Ok(parsed) => write(&parsed, quote),
        Err(_) => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_test_each_table_fill_the_callbacks_names() {
        let text = "import { upperFirst } from \"../src\";\n\ndescribe(\"upperFirst\", () => {\n  test.each([\n    [\"\", \"\"],\n    [\"foo\", \"Foo\"],\n  ])(\"%s => %s\", (input, expected) => {\n    expect(upperFirst(input)).toBe(expected);\n  });\n});\n";
        let at = text.find("upperFirst(input)").expect("call");
        assert_eq!(loop_rows(text, at, &["input".to_owned()]), [vec!["\"\""], vec!["\"foo\""]]);
        let closed = "test.each([[1]])('x', (a) => {\n  f(a);\n});\nf(a);\n";
        assert!(
            loop_rows(closed, closed.rfind("f(a)").expect("call"), &["a".to_owned()]).is_empty(),
            "outside the callback"
        );
    }

    #[test]
    fn rows_of_the_tables_a_tests_loops_go_over() {
        let text = r#"
describe("isSamePath", () => {
  const samePaths = [
    ["/foo", "/foo/"],
    // ["/commented", "/out"],
    ["/", ""],
    [base, "/x"],
  ];
  for (const [u1, u2] of samePaths) {
    test(u1, () => {
      expect(isSamePath(u1, u2)).toBe(true);
    });
  }
  const tests = {
    "": "/",
    bar: "bar/",
    "a,b": "a,b/",
  };
  for (const input in tests) {
    expect(withTrailingSlash(input, true)).toBe(tests[input]);
  }
  const valid = ["http://a.b", 'x:y'];
  for (const input of valid) {
    expect(normalizeURL(input)).toBe(input);
  }
  for (const t of done) {}
  expect(isSamePath(u1, u2)).toBe(false);
});
"#;
        let rows = |name: &str, args: &[&str]| {
            let at = text.find(&format!("{name}({}", args[0])).expect("the call");
            loop_rows(text, at, &args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(rows("isSamePath", &["u1", "u2"]), [["\"/foo\"", "\"/foo/\""], ["\"/\"", "\"\""]]);
        assert_eq!(
            rows("withTrailingSlash", &["input", "true"]),
            [["\"\"", "true"], ["\"bar\"", "true"], ["\"a,b\"", "true"]]
        );
        assert_eq!(rows("normalizeURL", &["input"]), [["\"http://a.b\""], ["'x:y'"]]);
        // One name destructured is the row's first element, not the row.
        let single = "const cases = [[\"a\"], [\"b\"]];\nfor (const [input] of cases) {\n  f(input);\n}\n";
        let at = single.find("f(input)").expect("call");
        assert_eq!(loop_rows(single, at, &["input".into()]), [["\"a\""], ["\"b\""]]);
        // After its loop has closed, a call binds nothing.
        let last = text.rfind("isSamePath(u1").expect("the last call");
        assert!(loop_rows(text, last, &["u1".into(), "u2".into()]).is_empty());
    }

    #[test]
    fn plain_data_is_a_literal_and_the_projects_own_types_take_what_its_tests_pass() {
        assert!(is_literal(r#"{ foo: "0", "a-b": [1, 2], c: null }"#) && is_literal("[]") && is_literal("{}"));
        assert!(!is_literal("[1] + [2]") && !is_literal("{ a: b }") && !is_literal("{ ...x }") && !is_literal("[f()]"));
        assert!(!is_literal("{ [k]: 1 }"), "a computed key is code");
        assert!(fits("Path", "\"/a/:b\"") && fits("string | number", "1") && fits("QueryObject", "{ a: 1 }"));
        assert!(!fits("string", "1") && !fits("number | boolean", "\"x\"") && !fits("\"a\" | \"b\"", "\"c\""));
        assert_eq!(values("string | number", &[], &[]).expect("the string's")[0], "\"\"");
    }

    /// The export forms of real CommonJS packages (content-type, vary,
    /// cross-spawn's `module.exports.command = escapeCommand`, jest-junit's
    /// object, nanoid's anonymous `module.exports = function`), and none.
    /// content-type's `qstring` is module-private: its tests call `format`,
    /// which calls it, and count on a marked copy of the module which calls
    /// reach it; destr's `warnKeyDropped` is reached a step further.
    #[test]
    fn a_private_function_is_tested_through_an_exported_caller() {
        let source = "'use strict'\nexports.format = format\n\nfunction format (obj) {\n  return qstring(obj.x)\n}\n\nfunction qstring (val) {\n  return '\"' + val + '\"'\n}\n\nfunction unused () {\n  return 1\n}\n";
        let doc = context::SyntaxDocument::new(Language::JavaScript, source.to_owned());
        let at = source.find("qstring (val)").expect("declared");
        let tests = vec![
            "const ct = require('..')\nit('f', () => { assert.strictEqual(ct.format({ x: 'a' }), '\"a\"') })\n"
                .to_owned(),
        ];
        let found = super::super::target("index.js", &doc, at, &tests).expect("through format");
        assert_eq!(found.name, "format");
        let through = found.through.clone().expect("through");
        assert_eq!(through.name, "qstring");
        let marked = through.marked(source, false).expect("marked");
        assert!(
            marked.contains(
                "function qstring (val) {; globalThis.__pairedReached = (globalThis.__pairedReached || 0) + 1;\n  return"
            ),
            "{marked}"
        );
        assert!(through.marked(source, true).expect("typed").contains("(globalThis as any).__pairedReached"));
        assert_eq!(
            super::super::Through { name: "x".into(), at: 3 }.marked(source, false),
            None,
            "not just inside a body"
        );
        // The probe says which calls reached it; only those are its tests'.
        let plain = JsTests { typed: false, ..JsTests::expect("mocha", "format", "") };
        let probe = probe(&found, &plain);
        assert!(probe.contains("(globalThis).__pairedReached = 0;"), "{probe}");
        assert!(probe.contains("if ((globalThis).__pairedReached) console.log(\"PAIRED-OBS \" + i + \" reached\");"));
        let stdout = "PAIRED-OBS 0 {\"value\":\"\\\"a\\\"\"}\nPAIRED-OBS 0 reached\nPAIRED-OBS 1 {\"value\":1}\n";
        let two = Target { calls: vec![vec!["{ x: 'a' }".into()], vec!["{}".into()]], ..found.clone() };
        assert_eq!(super::super::reached(&two, stdout), [true, false]);
        assert_eq!(super::super::observed(&two, stdout)[0], Observed::Value("\"\\\"a\\\"\"".into()));
        // Nothing calls it: the refusal says so.
        let at = source.find("unused ()").expect("declared");
        let why = super::super::target("index.js", &doc, at, &tests).expect_err("no caller");
        assert!(why.ends_with("and no exported function of the file runs it"), "{why}");
        // A word in a string or a comment, a property, a key: no run of it.
        let words = "exports.f = f\nfunction f (x) {\n  // unused() is old\n  return x === 'unused' ? { unused: 1 } : x.unused\n}\nfunction unused () {\n  return 1\n}\n";
        let doc = context::SyntaxDocument::new(Language::JavaScript, words.to_owned());
        let root = doc.tree().expect("parsed").root_node();
        assert!(exported_callers(root, words, "unused").is_empty());
        // After a function's own `'use strict'`, which must stay first.
        let strict =
            "exports.f = f\nfunction f (x) { return g(x) }\nfunction g (x) {\n  'use strict'\n  return this\n}\n";
        let doc = context::SyntaxDocument::new(Language::JavaScript, strict.to_owned());
        let at = strict.find("function g").expect("g");
        let theirs = vec!["const lib = require('..')\nit('f', () => { assert.strictEqual(lib.f(1), 1) })\n".to_owned()];
        let found = super::super::target("index.js", &doc, at, &theirs).expect("through f");
        let marked = found.through.expect("through").marked(strict, false).expect("marked");
        assert!(marked.contains("  'use strict'; globalThis.__pairedReached"), "{marked}");
        // One that only has effects: its callers' values say nothing of it.
        let warn = "exports.f = f\nfunction f (x) { warn(x); return x }\nfunction warn (x) {\n  console.warn(x)\n}\n";
        let doc = context::SyntaxDocument::new(Language::JavaScript, warn.to_owned());
        let at = warn.find("function warn").expect("warn");
        let why = super::super::target("index.js", &doc, at, &[]).expect_err("no value");
        assert!(why.contains("it returns nothing: what it does is a side effect"), "{why}");
        // A constructor's value is the object `new` makes.
        let made = "exports.f = f\nfunction f (x) { return new Shape(x) }\nfunction Shape (x) {\n  this.x = x\n}\n";
        let doc = context::SyntaxDocument::new(Language::JavaScript, made.to_owned());
        let at = made.find("function Shape").expect("Shape");
        let found = super::super::target("index.js", &doc, at, &theirs).expect("through f");
        assert_eq!(found.through.map(|t| t.name).as_deref(), Some("Shape"));
        // A step further: `jsonParseTransform` calls `warnKeyDropped`, `destr` calls it.
        let destr = "export function destr(value) {\n  return JSON.parse(value, jsonParseTransform)\n}\nfunction jsonParseTransform(key, value) {\n  if (key === \"__proto__\" || typeof value === \"object\") warnKeyDropped(key)\n  return value\n}\nfunction warnKeyDropped(key) {\n  console.warn(key)\n}\n";
        let doc = context::SyntaxDocument::new(Language::TypeScript, destr.to_owned());
        let root = doc.tree().expect("parsed").root_node();
        let callers = exported_callers(root, destr, "warnKeyDropped");
        assert_eq!(callers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["destr"]);
        assert!(exported_callers(root, destr, "destr").is_empty(), "no caller calls itself in");
        // What the private step compares with comes first among `destr`'s inputs.
        assert_eq!(compared_by_private_callers(root, destr, "warnKeyDropped"), ["__proto__"]);
        let tests = vec![
            "test('d', () => {\n  expect(destr('1')).toBe(1)\n  expect(destr('{ \"__proto__\": {} }')).toEqual({})\n})\n".to_owned(),
        ];
        // (`warnKeyDropped` only warns: nothing of it to see in `destr`'s values.)
        let at = destr.find("function warnKeyDropped").expect("declared");
        let why = super::super::target("src/index.ts", &doc, at, &tests).expect_err("only an effect");
        assert!(why.contains("a side effect"), "{why}");
        let at = destr.find("function jsonParseTransform").expect("declared");
        let found = super::super::target("src/index.ts", &doc, at, &tests).expect("through destr");
        assert_eq!(found.calls[0], ["'{ \"__proto__\": {} }'"], "{:?}", found.calls);
        // Its variants too, the other quote inside: spaced, in capitals.
        assert!(found.calls.iter().any(|c| c[0] == "' { \"__proto__\": {} } '"), "{:?}", found.calls);
    }

    #[test]
    fn commonjs_exports_are_told_apart_from_none() {
        // What `target` makes of the function at the marker `<|>`, as its form or its refusal.
        let form = |text: &str| -> Result<Option<CommonJs>, String> {
            let at = text.find("<|>").expect("a marker");
            let source = text.replacen("<|>", "", 1);
            let doc = context::SyntaxDocument::new(Language::JavaScript, source);
            super::super::target("index.js", &doc, at, &[]).map(|t| t.commonjs)
        };
        let property = |key: &str| Ok(Some(CommonJs::Property(key.to_owned())));
        assert_eq!(form("function <|>format () {}\nexports.format = format\n"), property("format"));
        assert_eq!(form("module.exports.parse = parse;\nfunction <|>parse () {}\n"), property("parse"));
        let content_type = "/**\n * Module exports.\n * @public\n */\n\nexports.format = format\nexports.parse = parse\nfunction <|>parse () {}\n";
        assert_eq!(form(content_type), property("parse"), "after another export");
        assert_eq!(form("module.exports = vary\nfunction <|>vary () {}\n"), Ok(Some(CommonJs::Whole)));
        assert_eq!(
            form("module.exports = {\n  parse,\n  format: format\n}\nfunction <|>format () {}\n"),
            property("format")
        );
        assert_eq!(
            form("module.exports.command = escapeCommand;\nfunction <|>escapeCommand () {}\n"),
            property("command")
        );
        let junit = "module.exports = {\n  options: (o = {}) => {\n    return o;\n  },\n  getAppOptions: getAppOptions,\n};\nfunction <|>getAppOptions () {}\n";
        assert_eq!(form(junit), property("getAppOptions"), "past a value with braces");
        let nanoid = "var random = require('./random')\nmodule.exports = function (size) {\n  size = size || 21<|>\n  return random(size)\n}\n";
        let whole = form(nanoid);
        assert!(whole == Ok(Some(CommonJs::Whole)) || whole.as_ref().is_err_and(|e| e.contains("`size`")), "{whole:?}");
        let refused = |text: &str| form(text).expect_err("no export");
        assert!(refused("export default function <|>parse () {}\n").contains("default export"));
        assert!(refused("module.exports = { parse }\nfunction <|>formatter () {}\n").contains("is not exported"));
        assert!(refused("exports.formatted = 1\nfunction <|>format () {}\n").contains("is not exported"));
        assert!(refused("myexports.format = format\nfunction <|>format () {}\n").contains("is not exported"));
    }

    /// How content-type's mocha tests reach the module, and the tests
    /// written as they are: node's `assert`, single quotes, no semicolons,
    /// `function () {` bodies.
    #[test]
    fn tests_are_written_as_the_projects_own_test_files_are() {
        let text = "var assert = require('assert')\nvar contentType = require('..')\nvar deepEqual = require('deep-equal')\nimport * as utils from \"../src/utils\";\nimport { x } from \"./x\";\nimport chalk from \"chalk\";\n";
        assert_eq!(module_bindings(text), ["contentType", "utils"]);
        let js = JsTests {
            framework: "mocha",
            header: "var assert = require('assert')\nvar contentType = require('..')\n".into(),
            callee: "contentType.parse".into(),
            assert: Some("assert".into()),
            it: "it",
            quote: '\'',
            semicolons: false,
            function_keyword: true,
            declare: "var",
            typed: false,
        };
        let args = ["'text/html; charset=utf-8'".to_owned()];
        let shaped = Observed::Shaped(r#"{"parameters":{"charset":"utf-8"},"type":"text/html"}"#.into());
        assert_eq!(
            test(&js, &args, &shaped, &[]).expect("a test"),
            "\nit(\"contentType.parse('text/html; charset=utf-8')\", function () {\n  var result = contentType.parse('text/html; charset=utf-8')\n  assert.deepEqual(result.parameters, { charset: 'utf-8' })\n  assert.strictEqual(result.type, 'text/html')\n})\n"
        );
        let fails = Observed::Fails(Some("TypeError: invalid media type".into()));
        assert_eq!(
            test(&js, &["' '".to_owned()], &fails, &["invalid media type".to_owned()]).expect("a test"),
            "\nit(\"contentType.parse(' ') throws\", function () {\n  assert.throws(function () {\n    contentType.parse(' ')\n  }, /^TypeError: invalid media type$/)\n})\n"
        );
        // The engine's own message (it changed in Node 16.9): the class alone.
        let engine = Observed::Fails(Some("TypeError: Cannot read properties of null (reading '1')".into()));
        let written = test(&js, &["''".to_owned()], &engine, &["invalid media type".to_owned()]).expect("a test");
        assert!(written.contains("  }, TypeError)\n"), "{written}");
        assert_eq!(
            thrown_messages("throw new TypeError('invalid media type')\nthrow new Error(`at ${x}`)\n"),
            ["invalid media type"]
        );
        let value = Observed::Value(r#""it's""#.into());
        assert!(
            test(&js, &args, &value, &[])
                .expect("a test")
                .contains("assert.strictEqual(contentType.parse('text/html; charset=utf-8'), \"it's\")")
        );
        // The probe is plain JavaScript there, and reaches the function the same way.
        let target = Target {
            calls: vec![args.to_vec()],
            module: Some("index".into()),
            commonjs: Some(CommonJs::Property("parse".into())),
            ..Target::new(Language::JavaScript, "parse")
        };
        let probe_of = |target: &Target, js: &JsTests| probe(target, js);
        let probe = probe(&target, &js);
        assert!(
            probe.starts_with(&js.header) && probe.contains("[() => contentType.parse('text/html; charset=utf-8')]")
        );
        assert!(!probe.contains(": unknown") && !probe.contains(" as ") && probe.contains("\nit(\"paired probe\""));
        // An argument's own text stays as written.
        let annotated = Target { calls: vec![vec!["'width: number'".to_owned()]], ..target.clone() };
        assert!(probe_of(&annotated, &js).contains("contentType.parse('width: number')"));
        // A literal the tests wrote over lines, on one.
        assert_eq!(
            one_line("{\n  type: 'text/html',\n  parameters: { foo: 'a  b\n' }\n}"),
            "{ type: 'text/html', parameters: { foo: 'a  b\n' } }"
        );
        assert_eq!(one_line("[\n  1,\n  2\n]"), "[1, 2]");
        assert_eq!(quoted("say \"hi\"", '"'), "'say \"hi\"'");
        assert_eq!(literal(r#"{"a-b":[1,null],"c":"\n"}"#, '\''), r"{ 'a-b': [1, null], c: '\n' }");
    }

    #[test]
    fn only_data_becomes_code() {
        assert_eq!(observed(r#"{"value":{"a":[1,"x",null]}}"#), Observed::Value(r#"{"a":[1,"x",null]}"#.into()));
        assert_eq!(observed(r#"{"special":"NaN"}"#), Observed::Value("Number.NaN".into()));
        assert_eq!(observed(r#"{"special":"-0"}"#), Observed::Value("-0".into()));
        assert_eq!(literal("-0", '"'), "-0");
        assert_eq!(observed(r#"{"throws":true}"#), Observed::Fails(None));
        let thrown = |name: &str, message: &str| {
            observed(&serde_json::json!({ "throws": true, "name": name, "message": message }).to_string())
        };
        assert_eq!(thrown("TypeError", "invalid type"), Observed::Fails(Some("TypeError: invalid type".into())));
        assert_eq!(thrown("ParseError", "invalid type"), Observed::Fails(None), "the project's own class");
        assert_eq!(thrown("Error", "ENOENT: no such file, open '/tmp/x/a'"), Observed::Fails(None), "a path");
        assert_eq!(observed(r#"{"shaped":{"type":"a"}}"#), Observed::Shaped(r#"{"type":"a"}"#.into()));
        assert_eq!(observed(r#"{"shaped":"a"}"#), Observed::Opaque);
        assert_eq!(observed(r#"{"special":"process.exit(1)"}"#), Observed::Opaque);
        assert_eq!(observed("x); process.exit(1); ("), Observed::Opaque);
        assert!(!is_literal("'it''s'") && is_literal("\"a\\\"b\"") && is_literal("-1.5") && !is_literal("a + b"));
    }
}
