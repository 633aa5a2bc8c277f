//! Edison and the documentation engine: a doc-comment skeleton and a test
//! skeleton for the definition at the cursor, as edits in the language's own
//! conventions (rustdoc, docstrings, JSDoc, Go doc comments, Javadoc).

use context::{Language, SyntaxDocument, symbols};
use tree_sitter::Node;

use super::{RawEdit, SkillOutput};

/// The definition at `byte`: the innermost function, method or type. The
/// line of its signature counts as inside it, `export ` before it too.
fn target(doc: &SyntaxDocument, byte: usize) -> Option<(symbols::Symbol, Node<'_>)> {
    let innermost =
        |at: usize| symbols::enclosing_at(doc, at).into_iter().rev().find(|s| s.kind != symbols::SymbolKind::Impl);
    let text = doc.text();
    let byte = byte.min(text.len());
    let line_end = text[byte..].find('\n').map_or(text.len(), |n| byte + n);
    let last_on_line = text[..line_end].trim_end().len().saturating_sub(1).max(byte);
    let symbol = innermost(byte).or_else(|| innermost(last_on_line))?;
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

/// A call of the function as the project's tests make it (`ordinal(3)`) and
/// the value it returned when run, written as the language writes values
/// (`'3rd'` in Python, `"3rd"` elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub call: String,
    pub value: String,
}

/// Whether the definition at `byte` is a function without documentation:
/// the one worth running the project's example calls for.
pub fn wants_examples(doc: &SyntaxDocument, byte: usize) -> bool {
    target(doc, byte).is_some_and(|(symbol, _)| {
        symbol.doc.is_none() && matches!(symbol.kind, symbols::SymbolKind::Function | symbols::SymbolKind::Method)
    })
}

/// A doc comment for the definition at `byte`, from what it is (name,
/// signature, body) and, when given, what it returned for the inputs the
/// project's tests give it (`examples`, run by the daemon).
pub fn document(speaker: &str, doc: &SyntaxDocument, byte: usize, examples: &[Example]) -> SkillOutput {
    let Some((symbol, node)) = target(doc, byte) else {
        return SkillOutput {
            report: format!("{speaker}: put the cursor in a function, method or type to document it.\n"),
            none: Some("no function, method or type at the cursor to document".into()),
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
            none: Some(format!("`{}` is documented already", symbol.name)),
            ..SkillOutput::default()
        };
    }
    let language = doc.language();
    let params = parameters(language, node, text);
    let returned = returns(language, node, text);
    let name = &symbol.name;
    let is_function = matches!(symbol.kind, symbols::SymbolKind::Function | symbols::SymbolKind::Method);
    let facts = if is_function { facts(language, node, text) } else { Facts::default() };
    let examples = if is_function { usable_examples(language, examples) } else { Vec::new() };
    // Unannotated Python and JavaScript: whether it returns a value at all.
    let gives = returned.clone().or_else(|| {
        let body = &text[node.byte_range()];
        body.lines()
            .any(|l| l.trim_start().strip_prefix("return ").is_some_and(|v| !v.trim().is_empty()))
            .then(String::new)
    });
    let (at, comment) = match language {
        Language::Python => {
            // A docstring is the body's first statement.
            let Some(body) = node.child_by_field_name("body") else { return SkillOutput::default() };
            let indent = indent_of(text, body.start_byte());
            // Within the line length ruff and black hold by default (88), the
            // opening quotes on the first line.
            let mut lines = wrapped(&summary(name, &params, gives.as_deref(), is_function), 88 - indent.len() - 3);
            if let Some(returned) = &returned {
                lines.push(String::new());
                lines.push("Returns:".into());
                lines.push(format!("    {returned}"));
            }
            if !facts.fails.is_empty() {
                lines.push(String::new());
                lines.push("Raises:".into());
                for raised in &facts.fails {
                    // `ValueError("width")` → `ValueError: width`
                    let (kind, message) = raised.split_once('(').unwrap_or((raised, ""));
                    let message = message.trim_end_matches(')');
                    // A message written out; a variable's name (`msg`) says nothing.
                    let message = if message.starts_with(['"', '\'']) {
                        message.trim_matches(|c| c == '\'' || c == '"')
                    } else {
                        ""
                    };
                    // Nothing that would end the docstring or be read as an escape in it.
                    let message = if message.contains("\"\"\"") || message.contains('\\') { "" } else { message };
                    lines.push(if message.is_empty() {
                        format!("    {kind}")
                    } else {
                        format!("    {kind}: {message}")
                    });
                }
            }
            if !examples.is_empty() {
                lines.push(String::new());
                lines.push("Examples:".into());
                for example in &examples {
                    lines.push(format!("    >>> {}", example.call));
                    lines.push(format!("    {}", example.value));
                }
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
            let mut lines =
                comment_lines(language, name, &params, returned.as_deref(), gives.as_deref(), is_function, &facts);
            if is_function && let Some(style) = JsDocTags::of(language, text) {
                style.add(&mut lines, node, text, &params, gives.is_some());
            }
            with_examples(language, &mut lines, &examples, example_fence(text).as_deref());
            (at, lines.iter().map(|l| format!("{indent}{l}").trim_end().to_owned() + "\n").collect())
        }
    };
    let from_tests = match examples.len() {
        0 => String::new(),
        n => format!(", with {n} example(s): calls the project's tests make, run on a copy of the project"),
    };
    let read = match language {
        Language::Rust => "what it returns, the errors it passes on, when it panics",
        Language::Python => "what it returns, what it raises",
        Language::Go => "what it returns",
        _ => "what it returns, what it throws",
    };
    SkillOutput {
        report: format!(
            "{speaker} drafted documentation for `{name}` from its name, signature and body ({read}){from_tests}; \
             check that the summary says what it is for.\n\n```\n{comment}```\n"
        ),
        edits: vec![RawEdit { bytes: at..at, new_text: comment, path: None }],
        ..SkillOutput::default()
    }
}

fn comment_lines(
    language: Language,
    name: &str,
    params: &[String],
    returned: Option<&str>,
    gives: Option<&str>,
    is_function: bool,
    facts: &Facts,
) -> Vec<String> {
    let summary = summary(name, params, gives, is_function);
    match language {
        Language::Rust => {
            let mut lines = vec![format!("/// {summary}")];
            if returned.is_some_and(|r| r.contains("Result")) {
                let own = facts.errors.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>();
                let when = match (own.as_slice(), facts.fails.as_slice()) {
                    ([], []) => "Returns an error when the work it delegates fails.".to_owned(),
                    ([], calls) => format!("Returns an error when {} fails.", list(calls)),
                    (own, []) => format!("Returns {} as its error.", list(own)),
                    (own, calls) => {
                        format!("Returns {} as its error, or an error when {} fails.", list(own), list(calls))
                    }
                };
                lines.extend(["///".into(), "/// # Errors".into(), "///".into(), format!("/// {when}")]);
            }
            if !facts.panics.is_empty() {
                let when = format!("Panics when {}.", facts.panics.join(", or when "));
                lines.extend(["///".into(), "/// # Panics".into(), "///".into(), format!("/// {when}")]);
            }
            lines
        }
        Language::Go => {
            let mut words = summary.splitn(2, ' ');
            let (verb, rest) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            vec![format!(
                "// {name} {}{}",
                verb.to_lowercase(),
                if rest.is_empty() { String::new() } else { format!(" {rest}") }
            )]
        }
        Language::Java | Language::JavaScript | Language::TypeScript | Language::Tsx => {
            let mut lines = vec!["/**".to_owned(), format!(" * {summary}")];
            if is_function && !facts.fails.is_empty() {
                lines.push(" *".into());
                lines.extend(facts.fails.iter().map(|f| format!(" * {}", throws_tag(language, f))));
            }
            lines.push(" */".into());
            lines
        }
        _ => Vec::new(),
    }
}

/// The JSDoc tags a file's own doc comments write (`@param {object} obj`,
/// `@return {string}`: express's packages; `@param name` in TypeScript,
/// whose types are the signature's), for Edison's to match: none where its
/// comments write none.
struct JsDocTags {
    /// `{type}` after `@param`.
    typed: bool,
    /// `@return` or `@returns`, as the file writes it more often.
    returns: &'static str,
}

impl JsDocTags {
    fn of(language: Language, text: &str) -> Option<JsDocTags> {
        if !matches!(language, Language::JavaScript | Language::TypeScript | Language::Tsx) {
            return None;
        }
        let params: Vec<&str> = text.match_indices("@param").map(|(at, _)| &text[at + 6..]).collect();
        if params.is_empty() {
            return None;
        }
        let typed = language == Language::JavaScript
            && params.iter().filter(|rest| rest.trim_start().starts_with('{')).count() * 2 > params.len();
        let long = text.matches("@returns").count();
        let short = text.matches("@return").count() - long;
        Some(JsDocTags { typed, returns: if short > long { "@return" } else { "@returns" } })
    }

    /// The tags after the summary (before `@throws`, which stays last).
    fn add(&self, lines: &mut Vec<String>, node: Node<'_>, text: &str, params: &[String], gives: bool) {
        let mut tags: Vec<String> = params
            .iter()
            .map(|name| match self.typed {
                true => format!(" * @param {{{}}} {name}", default_type(node, text, name)),
                false => format!(" * @param {name}"),
            })
            .collect();
        if gives {
            tags.push(if self.typed { format!(" * {} {{*}}", self.returns) } else { format!(" * {}", self.returns) });
        }
        if tags.is_empty() {
            return;
        }
        tags.insert(0, " *".to_owned());
        // After ` * summary`, before the `@throws` block or the end.
        let at = 2.min(lines.len().saturating_sub(1));
        lines.splice(at..at, tags);
    }
}

/// A JavaScript parameter's type from its default value (`= 0`: number),
/// else `*` (any).
fn default_type(node: Node<'_>, text: &str, name: &str) -> &'static str {
    let Some(list) = node.child_by_field_name("parameters") else { return "*" };
    let mut cursor = list.walk();
    let value = list
        .named_children(&mut cursor)
        .filter(|p| p.kind() == "assignment_pattern")
        .find(|p| p.child_by_field_name("left").is_some_and(|l| &text[l.byte_range()] == name))
        .and_then(|p| p.child_by_field_name("right"));
    match value.map(|v| v.kind()) {
        Some("number") => "number",
        Some("string" | "template_string") => "string",
        Some("true" | "false") => "boolean",
        Some("object") => "object",
        Some("array") => "Array",
        _ => "*",
    }
}

/// The examples a doc comment can show as they are: three at most, on one
/// line each, short, and in Python none a docstring would change (a
/// backslash is an escape there) or end.
fn usable_examples(language: Language, examples: &[Example]) -> Vec<Example> {
    examples
        .iter()
        .filter(|e| {
            let text = format!("{}{}", e.call, e.value);
            !text.contains('\n')
                && e.call.len() <= 80
                && e.value.len() <= 60
                && match language {
                    Language::Python => !text.contains('\\') && !text.contains("\"\"\""),
                    Language::Rust => !text.contains('`'),
                    _ => !text.contains("*/"),
                }
        })
        .take(3)
        .cloned()
        .collect()
}

/// `text` in lines of at most `width` characters, broken between words (a
/// word longer than the line stays whole).
fn wrapped(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// The fence the file's first `@example` opens (` ```js `: its tag), if it
/// opens one: the file's own way, which new examples follow.
fn example_fence(text: &str) -> Option<String> {
    let mut lines = text.lines().map(|l| l.trim().trim_start_matches('*').trim());
    lines.by_ref().find(|l| *l == "@example")?;
    lines.next()?.strip_prefix("```").map(str::to_owned)
}

/// The examples in a comment above the definition, in the language's way:
/// a sentence in Rust and Go, JSDoc's `@example` (before its closing line),
/// in a fenced block where the file's other examples are (`fence`: its tag).
fn with_examples(language: Language, lines: &mut Vec<String>, examples: &[Example], fence: Option<&str>) {
    if examples.is_empty() {
        return;
    }
    let said = |quote: &str| {
        let each: Vec<String> =
            examples.iter().map(|e| format!("{quote}{}{quote} returns {quote}{}{quote}", e.call, e.value)).collect();
        let joined = match each.as_slice() {
            [one] => one.clone(),
            [first, second] => format!("{first} and {second}"),
            [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
            [] => String::new(),
        };
        format!("For example, {joined}.")
    };
    match language {
        // After the summary: the sections (`# Errors`, `# Panics`) follow it.
        Language::Rust => {
            let at = 1.min(lines.len());
            lines.splice(at..at, ["///".to_owned(), format!("/// {}", said("`"))]);
        }
        Language::Go => lines.extend(["//".to_owned(), format!("// {}", said(""))]),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            let at = lines.len().saturating_sub(1);
            let mut block = vec![" *".to_owned(), " * @example".to_owned()];
            block.extend(fence.map(|tag| format!(" * ```{tag}")));
            block.extend(examples.iter().map(|e| format!(" * {}; // {}", e.call, e.value)));
            block.extend(fence.map(|_| " * ```".to_owned()));
            lines.splice(at..at, block);
        }
        _ => {}
    }
}

/// A `@throws` line for what the body throws: JSDoc's type in braces and
/// its message (`PathError("Unexpected end", …)` → `{PathError} Unexpected
/// end`); Javadoc's class and message likewise, without braces.
fn throws_tag(language: Language, thrown: &str) -> String {
    let (kind, arguments) = thrown.split_once('(').unwrap_or((thrown, ""));
    let kind = kind.trim();
    let is_class = !kind.is_empty() && kind.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.'));
    if !is_class {
        let tag = if language == Language::Java { "@throws" } else { "@throws {Error}" };
        return if thrown.contains("*/") { tag.to_owned() } else { format!("{tag} {thrown}") };
    }
    // The message, when the first argument is a string written out.
    let first = arguments.trim_start();
    let message = first.chars().next().filter(|q| matches!(q, '"' | '\'' | '`')).and_then(|quote| {
        let rest = &first[1..];
        rest.find(quote).map(|end| rest[..end].to_owned())
    });
    let kind = if language == Language::Java { kind.to_owned() } else { format!("{{{kind}}}") };
    // A message that would end the comment (`*/`) is left out.
    match message {
        Some(message) if !message.is_empty() && !message.contains("*/") => format!("@throws {kind} {message}"),
        _ => format!("@throws {kind}"),
    }
}

/// What a function's body says about how it ends: the calls whose errors it
/// passes on (`?`), what it raises or throws, and when it panics.
#[derive(Debug, Default)]
struct Facts {
    /// Rust: the calls before a `?`; Python/JS/Java: the exceptions raised, with their message.
    fails: Vec<String>,
    /// Rust: ``"`parse` fails (`unwrap`)"``, `"it is called with …"` from `panic!`.
    panics: Vec<String>,
    /// Rust: the errors it returns itself (`Err(Error::InvalidFormat)`).
    errors: Vec<String>,
}

fn facts(language: Language, node: Node<'_>, text: &str) -> Facts {
    let mut facts = Facts::default();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        let mut cursor = n.walk();
        let children: Vec<Node<'_>> = n.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
        // Not what nested functions do.
        if n != node && matches!(n.kind(), "function_item" | "closure_expression" | "function_definition" | "lambda") {
            continue;
        }
        let called = |call: Node<'_>| -> Option<String> {
            let mut callee = call.child_by_field_name("function")?;
            if callee.kind() == "generic_function" {
                callee = callee.child_by_field_name("function")?;
            }
            let name = match callee.kind() {
                "field_expression" => callee.child_by_field_name("field")?,
                "scoped_identifier" => callee.child_by_field_name("name")?,
                "identifier" => callee,
                _ => return None,
            };
            Some(text[name.byte_range()].to_owned())
        };
        let fact = match (language, n.kind()) {
            (Language::Rust, "try_expression") => n
                .named_child(0)
                .filter(|c| c.kind() == "call_expression")
                .and_then(called)
                .map(|c| (true, format!("`{c}`"))),
            // `Err(Error::InvalidFormat)`: an error of its own.
            (Language::Rust, "call_expression")
                if n.child_by_field_name("function").is_some_and(|f| &text[f.byte_range()] == "Err") =>
            {
                let argument = n.child_by_field_name("arguments").and_then(|a| a.named_child(0));
                if let Some(error) =
                    argument.map(|a| text[a.byte_range()].split_whitespace().collect::<Vec<_>>().join(" "))
                    // A type's value (`Error::InvalidFormat`), not a variable passed on.
                    && error.starts_with(|c: char| c.is_ascii_uppercase())
                    && error.len() <= 60
                    && !facts.errors.contains(&error)
                    && facts.errors.len() < 4
                {
                    facts.errors.push(error);
                }
                None
            }
            (Language::Rust, "call_expression") => {
                let method = called(n);
                let receiver = n.child_by_field_name("function").and_then(|f| f.child_by_field_name("value"));
                match (method.as_deref(), receiver) {
                    // Where the input decides, as Sherlock sees it: an unwrap on
                    // an invariant is no panic a caller can cause.
                    (Some(m @ ("unwrap" | "expect")), Some(receiver)) => {
                        let what = if receiver.kind() == "call_expression" { called(receiver) } else { None };
                        what.filter(|w| super::review::FALLIBLE_BY_INPUT.contains(&w.as_str()))
                            .map(|w| (false, format!("`{w}` fails (`{m}`)")))
                    }
                    _ => None,
                }
            }
            (Language::Rust, "macro_invocation") => {
                let name = n.child_by_field_name("macro").map_or("", |m| &text[m.byte_range()]);
                (name == "panic").then(|| {
                    let message =
                        text[n.byte_range()].split_once('"').and_then(|(_, rest)| rest.split_once('"')).map(|(m, _)| m);
                    (false, message.map_or_else(|| "it reaches `panic!`".to_owned(), |m| format!("\"{m}\"")))
                })
            }
            (Language::Python, "raise_statement")
            | (Language::JavaScript | Language::TypeScript | Language::Tsx | Language::Java, "throw_statement") => {
                let raised = text[n.byte_range()]
                    .trim_start_matches("raise")
                    .trim_start_matches("throw")
                    .trim()
                    .trim_start_matches("new ")
                    .trim_end_matches(';');
                // One line: `throw new PathError(\n  "…",\n)` as `PathError( "…", )`.
                let raised = raised.split_whitespace().collect::<Vec<_>>().join(" ");
                (!raised.is_empty()).then(|| (true, raised.chars().take(80).collect::<String>()))
            }
            _ => None,
        };
        if let Some((fails, what)) = fact {
            let list = if fails { &mut facts.fails } else { &mut facts.panics };
            if !list.contains(&what) && list.len() < 4 {
                list.push(what);
            }
        }
    }
    facts
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The words of an identifier: `parse_char_specifiers`, `parseCharSpecifiers`.
fn words(name: &str) -> Vec<String> {
    // `NOOP_VALUE` is a constant's way of writing `noop value`; in `toASCII`
    // the acronym stays one word, as written.
    let shouting = !name.chars().any(char::is_lowercase);
    let chars: Vec<char> = name.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        // `parseURL` → `parse` `URL`; `ASCIIString` → `ASCII` `String`.
        let starts = c.is_uppercase()
            && !current.is_empty()
            && (previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (previous.is_some_and(char::is_uppercase) && next.is_some_and(char::is_lowercase)));
        if starts {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .into_iter()
        .map(|word| {
            let acronym = word.chars().count() > 1 && word.chars().all(|c| c.is_uppercase() || c.is_ascii_digit());
            if acronym && !shouting { word } else { word.to_lowercase() }
        })
        .collect()
}

/// A verb in the third person: `parse` → `Parses`, `match` → `Matches`.
fn third_person(verb: &str) -> String {
    let mut out = verb.to_owned();
    if verb.ends_with(['s', 'x', 'z']) || verb.ends_with("ch") || verb.ends_with("sh") {
        out.push_str("es");
    } else if verb.ends_with('y') && !verb.ends_with("ay") && !verb.ends_with("ey") && !verb.ends_with("oy") {
        out.pop();
        out.push_str("ies");
    } else {
        out.push('s');
    }
    let mut chars = out.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().collect::<String>() + chars.as_str())
}

/// Verbs a function name starts with.
const VERBS: &[&str] = &[
    "add",
    "append",
    "apply",
    "build",
    "bump",
    "check",
    "clean",
    "clear",
    "close",
    "collect",
    "compare",
    "compute",
    "convert",
    "copy",
    "count",
    "create",
    "decode",
    "decrement",
    "decrypt",
    "delete",
    "deserialize",
    "dump",
    "emit",
    "encode",
    "encrypt",
    "ensure",
    "escape",
    "evaluate",
    "execute",
    "expand",
    "extract",
    "fetch",
    "fill",
    "filter",
    "finalize",
    "find",
    "flush",
    "format",
    "generate",
    "handle",
    "hash",
    "increment",
    "init",
    "insert",
    "install",
    "invoke",
    "join",
    "list",
    "load",
    "lookup",
    "make",
    "map",
    "match",
    "merge",
    "normalize",
    "notify",
    "open",
    "parse",
    "prepend",
    "print",
    "process",
    "push",
    "quote",
    "read",
    "register",
    "remove",
    "rename",
    "render",
    "replace",
    "reset",
    "resolve",
    "run",
    "save",
    "scan",
    "search",
    "select",
    "send",
    "serialize",
    "set",
    "show",
    "sign",
    "sort",
    "split",
    "start",
    "stop",
    "strip",
    "transform",
    "translate",
    "trim",
    "truncate",
    "unquote",
    "update",
    "validate",
    "verify",
    "visit",
    "walk",
    "wrap",
    "write",
];

/// One sentence from what the function is: its name, parameters and return type.
fn summary(name: &str, params: &[String], returned: Option<&str>, is_function: bool) -> String {
    let words = words(name);
    let code = |p: &String| format!("`{p}`");
    let given = match params {
        [] => String::new(),
        [one] => format!(" {}", code(one)),
        _ => format!(" {}", list(&params.iter().map(code).collect::<Vec<_>>()).replace(" or ", " and ")),
    };
    let rest = |from: usize| words[from.min(words.len())..].join(" ");
    if !is_function {
        return format!("{}.", capitalise(&words.join(" ")));
    }
    if name == "main" && params.is_empty() {
        return "The program's entry point.".to_owned();
    }
    // `bytes_to_int(b)`: a conversion.
    if let Some(to) = words.iter().position(|w| w == "to").filter(|at| *at > 0 && *at + 1 < words.len()) {
        let subject = if given.is_empty() { " it".to_owned() } else { given.clone() };
        return format!("Converts{subject} from {} to {}.", words[..to].join(" "), rest(to + 1));
    }
    let sentence = match words.first().map(String::as_str) {
        Some("is" | "has" | "can" | "should" | "contains" | "needs") if words.len() > 1 => {
            let subject = if given.is_empty() { "it".to_owned() } else { given.trim().to_owned() };
            // `is_same_path(p1, p2)`: whether `p1` and `p2` *are* the same path.
            let verb = match (params.len() > 1, words[0].as_str()) {
                (true, "is") => "are",
                (true, "has") => "have",
                (true, "contains") => "contain",
                (true, "needs") => "need",
                (_, verb) => verb,
            };
            format!("Returns whether {subject} {verb} {}", rest(1))
        }
        Some("new") if words.len() == 1 => {
            format!("Creates a new `{}`", returned.unwrap_or("Self").trim_start_matches("Self").trim())
                .replace("a new ``", "a new value")
        }
        Some("get") if words.len() > 1 => format!("Returns the {}{}", rest(1), of(&given)),
        Some("to" | "into" | "as") if words.len() > 1 => {
            format!("Converts{} to {}", if given.is_empty() { " it".to_owned() } else { given.clone() }, rest(1))
        }
        Some("from") if words.len() > 1 => format!(
            "Builds {} from {}{}",
            returned.map_or("it".to_owned(), |r| format!("a `{r}`")),
            rest(1),
            if given.is_empty() { String::new() } else { format!(" ({})", given.trim()) }
        ),
        Some(verb) if VERBS.contains(&verb) => {
            let object = if words.len() > 1 { format!(" {}", rest(1)) } else { String::new() };
            let source = match (verb, given.is_empty()) {
                (_, true) => String::new(),
                ("parse" | "read" | "load" | "decode" | "extract" | "fetch", false) => format!(" from{given}"),
                // `add(a, b)`: "Adds `a` and `b`."
                _ if words.len() == 1 => given.clone(),
                _ => format!(" for{given}"),
            };
            format!("{}{object}{source}", third_person(verb))
        }
        _ => match returned {
            Some(r) if r == "bool" || r == "boolean" => format!(
                "Returns whether {} holds{}",
                words.join(" "),
                if given.is_empty() { String::new() } else { format!(" for{given}") }
            ),
            Some(_) => format!("Returns the {}{}", words.join(" "), of(&given)),
            None => format!(
                "{}{}",
                capitalise(&words.join(" ")),
                if given.is_empty() { String::new() } else { format!(" with{given}") }
            ),
        },
    };
    format!("{}.", sentence.trim_end())
}

fn of(given: &str) -> String {
    if given.is_empty() { String::new() } else { format!(" of{given}") }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().collect::<String>() + chars.as_str())
}

/// The byte of the `}` closing the first `{` at or after `from`.
pub fn find_closing_brace(text: &str, from: usize) -> Option<usize> {
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
        apply(&source, &document("Edison", &doc, byte, &[]))
    }

    #[test]
    fn examples_from_the_projects_tests_in_each_languages_way() {
        let with = |language: Language, source: &str, examples: &[(&str, &str)]| {
            let examples: Vec<Example> =
                examples.iter().map(|(c, v)| Example { call: (*c).into(), value: (*v).into() }).collect();
            let doc = SyntaxDocument::new(language, source.into());
            let byte = source.rfind('(').expect("a parameter list");
            assert!(wants_examples(&doc, byte));
            apply(source, &document("Edison", &doc, byte, &examples))
        };
        let python = with(
            Language::Python,
            "def ordinal(n):\n    return str(n)\n",
            &[("ordinal(3)", "'3rd'"), ("ordinal(11)", "'11th'")],
        );
        assert!(python.contains("    Examples:\n        >>> ordinal(3)\n        '3rd'\n        >>> ordinal(11)\n        '11th'\n    \"\"\""), "{python}");
        // A backslash is an escape in a docstring: that example is left out.
        let escaped = with(Language::Python, "def ordinal(n):\n    return str(n)\n", &[("ordinal('\\n')", "'x'")]);
        assert!(!escaped.contains(">>>"), "{escaped}");
        let rust = with(
            Language::Rust,
            "fn chars_eq(a: char, b: char) -> Result<bool, E> {\n    Ok(a == b)\n}\n",
            &[
                ("chars_eq('a', 'A')", "Ok(false)"),
                ("chars_eq('a', 'a')", "Ok(true)"),
                ("chars_eq('b', 'b')", "Ok(true)"),
            ],
        );
        assert!(
            rust.starts_with("/// Returns the chars eq of `a` and `b`.\n///\n/// For example, `chars_eq('a', 'A')` returns `Ok(false)`, `chars_eq('a', 'a')` returns `Ok(true)`, and `chars_eq('b', 'b')` returns `Ok(true)`.\n///\n/// # Errors"),
            "{rust}"
        );
        let go = with(
            Language::Go,
            "package p\n\nfunc Ordinal(n int) string {\n\treturn \"\"\n}\n",
            &[("Ordinal(3)", "\"3rd\"")],
        );
        assert!(go.contains("//\n// For example, Ordinal(3) returns \"3rd\".\nfunc Ordinal"), "{go}");
        let ts = with(
            Language::TypeScript,
            "function withQuery(u: string) {\n  return u;\n}\n",
            &[("withQuery(\"/a\")", "\"/a\"")],
        );
        assert!(ts.contains(" *\n * @example\n * withQuery(\"/a\"); // \"/a\"\n */\nfunction withQuery"), "{ts}");
        // The cursor at the start of an exported function's line: that function.
        let exported =
            with(Language::TypeScript, "export function f(u: string) {\n  return u;\n}\n", &[("f(\"a\")", "\"a\"")]);
        assert!(exported.starts_with("/**\n * Returns the f of `u`.\n *\n * @example\n"), "{exported}");
        let doc = SyntaxDocument::new(Language::TypeScript, "export function f(u: string) {\n  return u;\n}\n".into());
        assert!(wants_examples(&doc, 0) && !document("Edison", &doc, 0, &[]).edits.is_empty());
        // Fenced where the file's other examples are.
        let fenced = with(
            Language::TypeScript,
            "/**\n * G.\n *\n * @example\n * ```js\n * g(); // 1\n * ```\n */\nfunction g() {}\n\nexport function f(u: string) {\n  return u;\n}\n",
            &[("f(\"a\")", "\"a\"")],
        );
        assert!(
            fenced.contains(" * @example\n * ```js\n * f(\"a\"); // \"a\"\n * ```\n */\nexport function f"),
            "{fenced}"
        );
        // Acronyms stay words; a constant's capitals do not shout.
        assert_eq!(words("toASCII"), ["to", "ASCII"]);
        assert_eq!(words("parseURLString"), ["parse", "URL", "string"]);
        assert_eq!(words("NOOP_VALUE"), ["noop", "value"]);
        assert_eq!(words("parse_char_specifiers"), ["parse", "char", "specifiers"]);
        assert_eq!(words("toJSON"), ["to", "JSON"]);
        // What is thrown, as JSDoc writes it, on one line.
        let thrown = doc_for(
            Language::TypeScript,
            &"function consumeUntil(end: string) {\n  throw new PathError(\n    `Unexpected end at ${end}`,\n    end,\n  );\n}\n".replacen("throw", "$throw", 1),
        );
        assert!(thrown.contains(" * @throws {PathError} Unexpected end at ${end}\n */"), "{thrown}");
        assert_eq!(throws_tag(Language::TypeScript, "TypeError(msg)"), "@throws {TypeError}");
        assert_eq!(throws_tag(Language::TypeScript, "Error(\"bad */ here\")"), "@throws {Error}");
        assert_eq!(
            throws_tag(Language::Java, "IllegalStateException(\"closed\")"),
            "@throws IllegalStateException closed"
        );
        // A message in a variable says nothing: the exception alone.
        let raised = doc_for(Language::Python, "def clamp($value):\n    msg = 'x'\n    raise ValueError(msg)\n");
        assert!(raised.contains("    Raises:\n        ValueError\n"), "{raised}");
        // A long summary is wrapped within 88 columns (ruff's and black's E501).
        let long = doc_for(
            Language::Python,
            "    def clamp(self, value, format, floor, ceil, floor_token, ceil_token, extra_one, extra_two):\n        return $value\n",
        );
        assert!(long.lines().filter(|l| !l.contains("def ")).all(|l| l.chars().count() <= 88), "{long}");
        assert!(long.contains("`floor_token`,\n        `ceil_token`"), "{long}");
        assert_eq!(wrapped("a bb ccc", 4), ["a bb", "ccc"]);
        // Two subjects, a plural verb.
        assert!(
            doc_for(Language::Python, "def is_same(a, b):\n    return $a == b\n")
                .contains("Returns whether `a` and `b` are same.")
        );
        // None given: none written.
        assert!(!doc_for(Language::Go, "package p\n\nfunc F$(n int) int {\n\treturn n\n}\n").contains("For example"));
    }

    #[test]
    fn doc_comments_say_what_the_code_is_in_each_language() {
        assert_eq!(
            doc_for(
                Language::Rust,
                "#[inline]\npub fn load(p: &str) -> Result<u8, E> {\n    let t = std::fs::read_to_string(p)?;\n    Ok(t.parse::<u8>().unwrap()$)\n}\n"
            ),
            "/// Loads from `p`.\n///\n/// # Errors\n///\n/// Returns an error when `read_to_string` fails.\n///\n/// # Panics\n///\n/// Panics when `parse` fails (`unwrap`).\n#[inline]\npub fn load(p: &str) -> Result<u8, E> {\n    let t = std::fs::read_to_string(p)?;\n    Ok(t.parse::<u8>().unwrap())\n}\n"
        );
        assert_eq!(
            doc_for(
                Language::Python,
                "def slug(text: str, width: int) -> str:\n    if width < 0:\n        raise ValueError('width must not be negative')\n    return $text[:width]\n"
            ),
            "def slug(text: str, width: int) -> str:\n    \"\"\"Returns the slug of `text` and `width`.\n\n    Returns:\n        str\n\n    Raises:\n        ValueError: width must not be negative\n    \"\"\"\n    if width < 0:\n        raise ValueError('width must not be negative')\n    return text[:width]\n"
        );
        assert_eq!(
            doc_for(Language::TypeScript, "export function add(a: number, b: number): number { return $a + b; }\n"),
            "/**\n * Adds `a` and `b`.\n */\nexport function add(a: number, b: number): number { return a + b; }\n"
        );
        assert_eq!(
            doc_for(Language::Go, "package m\n\nfunc ParseConfig(path string) error { return $nil }\n"),
            "package m\n\n// ParseConfig parses config from `path`.\nfunc ParseConfig(path string) error { return nil }\n"
        );
        assert_eq!(
            doc_for(
                Language::Java,
                "class A {\n    int count(List<String> xs) { if (xs == null) throw new IllegalArgumentException(\"xs\"); return $0; }\n}\n"
            ),
            "class A {\n    /**\n     * Counts `xs`.\n     *\n     * @throws IllegalArgumentException xs\n     */\n    int count(List<String> xs) { if (xs == null) throw new IllegalArgumentException(\"xs\"); return 0; }\n}\n"
        );
        assert_eq!(
            doc_for(Language::Rust, "fn is_dir_sep(c: char) -> bool { $c == '/' }\n").lines().next(),
            Some("/// Returns whether `c` is dir sep.")
        );
        assert_eq!(
            doc_for(Language::Rust, "fn chars_eq(a: char, b: char, case_sensitive: bool) -> bool { $a == b }\n")
                .lines()
                .next(),
            Some("/// Returns whether chars eq holds for `a`, `b` and `case_sensitive`.")
        );
        // An error of its own, and one passed on.
        assert!(
            doc_for(
                Language::Rust,
                "pub fn parse(s: &str) -> Result<u8, Error> {\n    if s.is_empty() {\n        return Err(Error::InvalidFormat);\n    }\n    let n = read(s)?;\n    $Ok(n)\n}\n"
            )
            .contains("/// # Errors\n///\n/// Returns `Error::InvalidFormat` as its error, or an error when `read` fails.\n"),
        );
        // No placeholder anywhere.
        for (language, source) in
            [(Language::Rust, "fn f(x: u8) -> u8 { $x }\n"), (Language::Python, "def g(x):\n    return $x\n")]
        {
            assert!(!doc_for(language, source).contains("TODO"), "{source}");
        }
        // Documented already: no edit.
        let doc = SyntaxDocument::new(Language::Rust, "/// Adds.\nfn add() {}\n".into());
        assert!(document("Edison", &doc, 15, &[]).edits.is_empty());
    }

    /// The JSDoc tags the file's own comments write: express's packages'
    /// `@param {type} name` and `@return {type}`; TypeScript's `@param name`;
    /// none in a file whose comments have none.
    #[test]
    fn jsdoc_tags_as_the_file_writes_them() {
        let jshttp = "/**\n * Format.\n *\n * @param {object} obj\n * @return {string}\n * @public\n */\n\nfunction format (obj) {\n  return 'x'\n}\n\nfunction parse (string, strict = false) {\n  if (!string) throw new TypeError('argument string is required')\n  return ${ type: string }\n}\n";
        let written = doc_for(Language::JavaScript, jshttp);
        assert!(
            written.contains("/**\n * Parses from `string` and `strict`.\n *\n * @param {*} string\n * @param {boolean} strict\n * @return {*}\n *\n * @throws {TypeError} argument string is required\n */\nfunction parse"),
            "{written}"
        );
        let ts = "/** Adds. @param a the first @returns the sum */\nexport function one(a: number): number { return a; }\n\nexport function add(a: number, b: number): number { return $a + b; }\n";
        assert!(
            doc_for(Language::TypeScript, ts).contains(
                "/**\n * Adds `a` and `b`.\n *\n * @param a\n * @param b\n * @returns\n */\nexport function add"
            ),
            "{}",
            doc_for(Language::TypeScript, ts)
        );
    }
}
