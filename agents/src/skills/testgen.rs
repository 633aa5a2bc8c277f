//! Edison's tests without a model: characterization tests. The function at the
//! cursor is called with inputs chosen from its parameter types (and the
//! literals its body compares against); what it returns or raises is observed
//! by running it (the daemon does, in the sandbox, on a scratch copy); the
//! tests assert exactly that. A test is only proposed after it passed there.
//!
//! Pure: this module writes the probe that observes and the tests that
//! assert, and reads the probe's output. Rust and Python.

mod go;
mod rust;
mod ts;

use context::{Language, SyntaxDocument, symbols};
use serde_json::Value;
use tree_sitter::Node;

/// The function a test is for, as far as a test needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub language: Language,
    pub name: String,
    /// One list of argument literals per call to make.
    pub calls: Vec<Vec<String>>,
    /// The return type as written (Rust), for how to compare.
    pub returns: Option<String>,
    /// Python: `from MODULE import NAME`.
    pub module: Option<String>,
    /// Python: what the arguments need imported besides the function, as
    /// `(module, name)` (`Namespace` from `argparse`, as the project's tests
    /// build the arguments), or `(module, "")` for the module itself (`json`).
    pub imports: Vec<(String, String)>,
    /// Go: a setter's getter (`SetClockSequence` → `ClockSequence`): each
    /// call is followed by the getter's, whose value is what is compared.
    pub reads: Option<String>,
    /// Rust: the file's types with private fields. A value that shows one
    /// is asserted by its variant (`is_ok()`), not by a `Debug` form that
    /// pins internals a refactoring may change.
    pub hidden: Vec<String>,
    /// JavaScript: how CommonJS exports the function (none for an ES module's export).
    pub commonjs: Option<CommonJs>,
    /// Rust: the unit variants of the file's enums that derive `PartialEq`
    /// (`Error::Empty`): a value that is one is compared as it.
    pub variants: Vec<String>,
    /// Rust: the unit variants of every enum of the file (`QuoteError::Nul`):
    /// a value that is one, and compares with nothing, is matched as it.
    pub patterns: Vec<String>,
    /// Rust: the macro a test formats a value's `Debug` form with —
    /// `format!`, `alloc::format!` in a `no_std` crate that has `alloc`;
    /// none in one that has not, where no test compares a `Debug` form.
    pub debug_format: Option<&'static str>,
    /// JavaScript: the calls the project's tests make already. A test of
    /// one of them would only repeat theirs: new inputs are proposed.
    pub tested: Vec<Vec<String>>,
    /// JavaScript: the messages the module's own code throws (`new
    /// TypeError('invalid type')`). An error with another message (the
    /// engine's, which changes between Node versions) is checked by its
    /// class alone. Python: the exception classes the module raises itself.
    pub thrown: Vec<String>,
    /// Rust: the parameters passed by `&mut` (`String`, `Vec<…>`): each call
    /// binds a variable first, and the test asserts what it holds after.
    pub mutated: Vec<Mutated>,
    /// Rust: the path an associated function is called by (`Version::parse`
    /// for `parse` in `impl Version`); none for a free function.
    pub callee: Option<String>,
    /// Python: by position, the name an argument is passed by in a test
    /// (`clamp(1, "{:.0%}", ceil=0.99)`) and its default: a parameter with a
    /// default, which a reader knows by its name (and leaves out where the
    /// call passes its default); none for one passed by position.
    pub keywords: Vec<Option<(String, String)>>,
    /// JavaScript: the module-private function the tests are for, reached
    /// through this exported one, in which it runs (content-type's `qstring`
    /// through `format`); none for the function itself.
    pub through: Option<Through>,
}

/// A function a test cannot import, and where its body starts: the probe
/// counts the calls that reach it (on a copy of the module marked there),
/// and only those are tests of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Through {
    pub name: String,
    /// The byte just inside its body's `{`, after its directives.
    pub at: usize,
}

impl Through {
    /// The module's text with the mark that counts the calls reaching it.
    pub fn marked(&self, text: &str, typed: bool) -> Option<String> {
        let at = self.at.min(text.len());
        if !text.is_char_boundary(at) || !text[..at].trim_end_matches([';', ' ', '\t']).ends_with(['{', '\'', '"']) {
            return None;
        }
        let global = if typed { "(globalThis as any)" } else { "globalThis" };
        // `;` first: after a directive on the same line, no statement may follow without one.
        Some(format!("{}; {global}.{REACHED} = ({global}.{REACHED} || 0) + 1;{}", &text[..at], &text[at..]))
    }
}

/// The global the marked module counts a private function's calls in.
const REACHED: &str = "__pairedReached";

/// A Rust parameter passed by `&mut`: where it is, what a test calls the
/// variable it binds, and the type behind the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutated {
    pub index: usize,
    pub name: String,
    pub ty: String,
}

/// How a CommonJS module exports a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommonJs {
    /// A property of `module.exports`, by its name there (`exports.parse =
    /// parse`, `module.exports = { parse }`, `module.exports.command =
    /// escapeCommand`).
    Property(String),
    /// `module.exports` itself (`module.exports = vary`).
    Whole,
}

/// How a JavaScript/TypeScript project's tests reach and check a function,
/// as its own test files do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsTests {
    /// `vitest`, `jest` or `mocha`.
    pub framework: &'static str,
    /// The lines a new test file (and the probe) start with to reach the
    /// function, and node's `assert` where the tests use it.
    pub header: String,
    /// How a call names the function: `parse`, `contentType.parse`.
    pub callee: String,
    /// Node's `assert`, by the name the file gives it; none: `expect`.
    pub assert: Option<String>,
    /// What the file calls a test: `it` or `test`.
    pub it: &'static str,
    /// The file's string quote.
    pub quote: char,
    pub semicolons: bool,
    /// A test's body is `function () {`, not `() => {`.
    pub function_keyword: bool,
    /// How the file declares a variable: `var` or `const`.
    pub declare: &'static str,
    /// TypeScript: the probe may carry type annotations.
    pub typed: bool,
}

impl Target {
    /// `name` in `language`, with no inputs yet and nothing else known.
    pub fn new(language: Language, name: &str) -> Target {
        Target {
            language,
            name: name.to_owned(),
            calls: Vec::new(),
            returns: None,
            module: None,
            imports: Vec::new(),
            reads: None,
            hidden: Vec::new(),
            commonjs: None,
            variants: Vec::new(),
            patterns: Vec::new(),
            debug_format: Some("format!"),
            tested: Vec::new(),
            thrown: Vec::new(),
            keywords: Vec::new(),
            callee: None,
            mutated: Vec::new(),
            through: None,
        }
    }

    /// What a call names: the function, or the path of an associated one.
    pub fn called(&self) -> &str {
        self.callee.as_deref().unwrap_or(&self.name)
    }

    /// Rust: the name a test module imports to reach the function — its
    /// own, or its type's (`Version` for `Version::parse`, `<Version as
    /// FromStr>::from_str`); none for a path that needs no import
    /// (`crate::Version::parse`).
    pub fn imported(&self) -> Option<&str> {
        let Some(callee) = &self.callee else { return Some(&self.name) };
        let owner = match callee.strip_prefix('<') {
            Some(rest) => rest.split(" as ").next()?,
            None => callee.rsplit_once("::")?.0,
        };
        (!owner.contains("::")).then_some(owner)
    }
}

impl JsTests {
    /// An ES module's function tested with `expect`, as PAIRED writes it
    /// where the project says nothing else.
    pub fn expect(framework: &'static str, name: &str, import: &str) -> JsTests {
        JsTests {
            framework,
            header: format!("import {{ {name} }} from \"{import}\";\n"),
            callee: name.to_owned(),
            assert: None,
            it: "it",
            quote: '"',
            semicolons: true,
            function_keyword: false,
            declare: "const",
            typed: true,
        }
    }
}

/// What one call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// Rust: its `Debug` form as a string literal; Python: a `repr` that
    /// evaluates back to an equal value.
    Value(String),
    /// It panicked (Rust) or raised this built-in exception (Python).
    Fails(Option<String>),
    /// Nothing a test could assert (a value without a literal form).
    Opaque,
    /// JavaScript: an object of a class, or one without a prototype, whose
    /// own fields are this plain data (JSON): compared ignoring prototypes.
    Shaped(String),
    /// Go: a different value on each call (random, the clock), so no value
    /// to assert: what many calls' values (Go's `%#v`) have in common is.
    Varies(Vec<String>),
    /// A value that differed between two runs of the probe — the second in
    /// another process, as another user, in another time zone, with another
    /// home (a random node id, a clock sequence, the user's id): not pinned.
    /// Go: what it held in both runs, `(accessor, literal)` (`len(got)`,
    /// `got.Version()`), which a test asserts instead.
    Differs(Vec<(String, String)>),
}

/// The function at `byte` of the file at `path`, if a characterization test
/// can call it: a free function (not a method: no instance to call it on),
/// not generic or async, whose parameters all have inputs: from the calls the
/// project's own tests make (`tests`: the text of its test files in the same
/// language), from their types, or for Python from their names.
pub fn target(path: &str, doc: &SyntaxDocument, byte: usize, tests: &[String]) -> Result<Target, String> {
    target_preferring(path, doc, byte, tests, &[])
}

/// [`target`], the project's test calls whose arguments hold one of
/// `prefer` (the text a private function reached through this one compares
/// with: destr's `"__proto__"`) first among its inputs.
fn target_preferring(
    path: &str,
    doc: &SyntaxDocument,
    byte: usize,
    tests: &[String],
    prefer: &[String],
) -> Result<Target, String> {
    let function = |chain: &[symbols::Symbol]| {
        chain
            .iter()
            .rev()
            .find(|s| matches!(s.kind, symbols::SymbolKind::Function | symbols::SymbolKind::Method))
            .cloned()
    };
    // The signature's line counts as inside the function, `export ` before it too.
    let text = doc.text();
    let line_end = text[byte.min(text.len())..].find('\n').map_or(text.len(), |n| byte + n);
    let last_on_line = text[..line_end].trim_end().len().saturating_sub(1).max(byte.min(text.len()));
    let chain = symbols::enclosing_at(doc, byte);
    let symbol = function(&chain)
        .or_else(|| function(&symbols::enclosing_at(doc, last_on_line)))
        .ok_or("put the cursor in a function to test it")?;
    let chain = symbols::enclosing_at(doc, symbol.bytes.start);
    let root = doc.tree().ok_or("the file does not parse")?.root_node();
    let mut node = root.descendant_for_byte_range(symbol.bytes.start, symbol.bytes.end).ok_or("no such function")?;
    while node.byte_range() != symbol.bytes {
        node = node.parent().ok_or("no such function")?;
    }
    // Rust: an associated function (no `self`) is called through its type,
    // `Version::parse("1.2.3")`; a method needs an instance.
    let mut owner = None;
    if symbol.kind == symbols::SymbolKind::Method || chain.iter().any(|s| s.kind == symbols::SymbolKind::Impl) {
        let associated = match doc.language() {
            Language::Rust => rust::associated_type(node, text),
            _ => Err("is a method: a test needs an instance to call it on, which takes a model"),
        };
        owner = Some(associated.map_err(|why| format!("`{}` {why}", symbol.name))?);
    }
    let callee = owner.as_ref().map(|associated| associated.callee(&symbol.name));
    // The project's tests write `Version::from_str(…)` whatever the trait.
    let called = owner.as_ref().map_or_else(|| symbol.name.clone(), |a| format!("{}::{}", a.owner, symbol.name));
    // Edison's own tests from an earlier request are calls the tests make
    // (no repeat of them), not inputs to vary again (`' Camel_Case '` spaced
    // once more).
    let theirs = without_edisons(tests, &symbol.name, doc.language());
    let examples = || {
        let calls = example_calls(&called, doc.language(), &theirs);
        if doc.language() == Language::Python {
            python_positional(calls, &python_parameters(node, text))
        } else {
            calls
        }
    };
    // The calls the project's tests make already: a test of one would only
    // repeat theirs (JavaScript's are found through its module's bindings).
    let tested = |mut target: Target| {
        target.tested = every_example_call(&called, doc.language(), tests);
        if target.language == Language::Python {
            let positional = python_positional(target.tested, &python_parameters(node, text));
            target.tested = with_defaults(positional, &python_defaults(node, text));
        }
        // Sixteen of theirs observed too, so that a new input giving the value
        // one of theirs gives is known for it (`intword("0", "%.0f")` is
        // their `intword("0")`'s `"0"`).
        // Go and Rust compile every call into one probe: only calls whose
        // every argument is one already known to fit its parameter.
        let arity = target.calls.first().map(Vec::len);
        let typed = matches!(target.language, Language::Go | Language::Rust);
        let fits = |call: &Vec<String>| {
            !typed || call.iter().enumerate().all(|(i, arg)| target.calls.iter().any(|c| c.get(i) == Some(arg)))
        };
        let theirs: Vec<Vec<String>> = target
            .tested
            .iter()
            .filter(|call| Some(call.len()) == arity && !target.calls.contains(call) && fits(call))
            .take(16)
            .cloned()
            .collect();
        target.calls.extend(theirs);
        target
    };
    match doc.language() {
        Language::Rust => rust_target(&symbol.name, node, text, &examples())
            .map(|target| match &owner {
                // `-> Self` is the type's.
                Some(associated) => Target {
                    returns: target.returns.as_deref().map(|r| rust::with_self_as(r, &associated.owner)),
                    callee: callee.clone(),
                    ..target
                },
                None => target,
            })
            .map(tested),
        Language::Python => python_target(path, &symbol.name, node, text, (&examples(), tests)).map(tested),
        Language::Go => go::target(&symbol.name, node, text, &examples()).map(tested),
        language @ (Language::TypeScript | Language::Tsx | Language::JavaScript) => {
            match ts::target(path, &symbol.name, node, text, language, (tests, prefer)) {
                // Module-private: through an exported function that calls it.
                Err(why) if why.ends_with(ts::NOT_EXPORTED) => {
                    let Some(at) = ts::body_start(node) else { return Err(why) };
                    // (A constructor's value is the object `new` makes: `ContentType`.)
                    let constructor = symbol.name.starts_with(char::is_uppercase);
                    if !ts::gives_a_value(node) && !constructor {
                        return Err(format!(
                            "{why}, and it returns nothing: what it does is a side effect, which a \
                             characterization test of the functions that call it cannot see"
                        ));
                    }
                    let through = Through { name: symbol.name.clone(), at };
                    let mut compared = ts::compared_strings(node, text);
                    compared.extend(ts::compared_by_private_callers(root, text, &symbol.name));
                    let mut tried = Vec::new();
                    for caller in ts::exported_callers(root, text, &symbol.name) {
                        match target_preferring(path, doc, caller.1, tests, &compared) {
                            Ok(found) => return Ok(Target { through: Some(through), ..found }),
                            Err(because) => tried.push(format!("`{}`: {because}", caller.0)),
                        }
                    }
                    Err(match tried.is_empty() {
                        true => format!("{why}, and no exported function of the file runs it"),
                        false => format!("{why}; through the exported functions it runs in — {}", tried.join("; ")),
                    })
                }
                other => other,
            }
        }
        other => Err(format!(
            "Edison writes tests without a model for Rust, Python, Go, TypeScript and JavaScript; {other:?} takes a model"
        )),
    }
}

/// The calls of `name` in the project's tests whose arguments are all
/// literals (`parse("1.2.3")`, `chars_eq('a', 'A', false)`): inputs its
/// authors chose, by position. Keyword arguments and expressions are left
/// out; at most eight calls.
pub fn example_calls(name: &str, language: Language, tests: &[String]) -> Vec<Vec<String>> {
    let mut calls = every_example_call(name, language, tests);
    calls.truncate(8);
    calls
}

/// [`example_calls`], all of them (at most 500).
fn every_example_call(name: &str, language: Language, tests: &[String]) -> Vec<Vec<String>> {
    let mut calls: Vec<Vec<String>> = Vec::new();
    // Calls written out come first; rows of tables after them.
    let mut from_tables: Vec<Vec<String>> = Vec::new();
    // JavaScript's calls bound for later: most are a test's error cases.
    let mut bound_calls: Vec<Vec<String>> = Vec::new();
    for text in tests.iter().filter(|t| t.contains(name)) {
        if matches!(
            language,
            Language::Rust | Language::Go | Language::TypeScript | Language::Tsx | Language::JavaScript
        ) {
            // Most Rust test calls sit inside `assert!`/`assert_eq!`, whose
            // arguments tree-sitter keeps as tokens: read the text.
            let literal = match language {
                Language::Go => go::is_literal,
                Language::Rust => is_rust_literal,
                _ => ts::is_literal,
            };
            // JavaScript: through the binding a test gives the module
            // (`contentType.parse(…)` after `var contentType = require('..')`),
            // and bound for later (`assert.throws(parse.bind(null, 'text/'))`):
            // the arguments after the `this` it binds.
            let js = matches!(language, Language::TypeScript | Language::Tsx | Language::JavaScript);
            let qualified: Vec<String> = if js {
                ts::module_bindings(text).into_iter().map(|binding| format!("{binding}.{name}")).collect()
            } else {
                Vec::new()
            };
            let callees = std::iter::once(name.to_owned()).chain(qualified.iter().cloned()).filter(|_| js);
            for callee in callees {
                for (_, args) in rust_calls_in(text, &format!("{callee}.bind")) {
                    let this = args.first().is_some_and(|a| matches!(a.as_str(), "null" | "undefined" | "this"));
                    let args = args.get(1..).unwrap_or_default().to_vec();
                    if this && !args.is_empty() && args.iter().all(|a| literal(a)) && !bound_calls.contains(&args) {
                        bound_calls.push(args);
                    }
                }
            }
            let found: Vec<(usize, Vec<String>)> = rust_calls_in(text, name)
                .into_iter()
                .chain(qualified.iter().flat_map(|q| rust_calls_in(text, q)))
                .collect();
            for (at, args) in found {
                if args.is_empty() {
                    continue;
                }
                if args.iter().all(|a| literal(a)) {
                    if !calls.contains(&args) {
                        calls.push(args);
                    }
                    continue;
                }
                // A table-driven test (`for (const c of cases) f(c.input)`,
                // `for _, tt := range tests { F(tt.in) }`): each row's fields.
                // Rust: `for &(input, output) in TABLE { f(input) }`.
                if language == Language::Rust {
                    for row in rust_loop_rows(text, at, &args) {
                        if !from_tables.contains(&row) {
                            from_tables.push(row);
                        }
                    }
                    continue;
                }
                // Or the loop's own names (`for (const [a, b] of pairs) f(a, b)`).
                if language != Language::Go {
                    for row in ts::loop_rows(text, at, &args) {
                        if !from_tables.contains(&row) {
                            from_tables.push(row);
                        }
                    }
                }
                let fields: Option<Vec<Option<&str>>> =
                    args.iter().map(|a| if literal(a) { Some(None) } else { table_field(a).map(Some) }).collect();
                let Some(fields) = fields else { continue };
                let wanted: Vec<&str> = fields.iter().flatten().copied().collect();
                let (struct_at, positional) =
                    if language == Language::Go { go_struct_fields(text, at) } else { (0, Vec::new()) };
                for row in table_rows(text, at, &wanted, literal, (struct_at, &positional)) {
                    let filled: Vec<String> = args
                        .iter()
                        .zip(&fields)
                        .map(|(arg, field)| field.and_then(|f| row.get(f).cloned()).unwrap_or_else(|| arg.clone()))
                        .collect();
                    if !from_tables.contains(&filled) {
                        from_tables.push(filled);
                    }
                }
            }
            continue;
        }
        let doc = SyntaxDocument::new(language, text.clone());
        let Some(tree) = doc.tree() else { continue };
        // `import humanize` … `humanize.ordinal(x)`: the function through
        // the module (or package) the test file imports.
        let modules = if language == Language::Python { python_imported_modules(text) } else { Vec::new() };
        // `b2h = strutils.bytes2human` at the top: `b2h(…)` calls it.
        let aliases = if language == Language::Python { python_aliases(text, name, &modules) } else { Vec::new() };
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
            let (call, callee) = match language {
                Language::Rust => ("call_expression", "function"),
                Language::Python => ("call", "function"),
                _ => return Vec::new(),
            };
            let Some(function) = node.child_by_field_name(callee).filter(|_| node.kind() == call) else { continue };
            let named = |n: Node<'_>| &text[n.byte_range()] == name;
            let through_module = function.kind() == "attribute"
                && function.child_by_field_name("attribute").is_some_and(named)
                && function
                    .child_by_field_name("object")
                    .is_some_and(|o| o.kind() == "identifier" && modules.iter().any(|m| *m == text[o.byte_range()]));
            let aliased = function.kind() == "identifier" && aliases.iter().any(|a| *a == text[function.byte_range()]);
            if !(function.kind() == "identifier" && named(function) || through_module || aliased) {
                continue;
            }
            let Some(arguments) = node.child_by_field_name("arguments") else { continue };
            let mut cursor = arguments.walk();
            let args: Vec<Node<'_>> =
                arguments.named_children(&mut cursor).filter(|a| !a.kind().contains("comment")).collect();
            // `f(*test_args)` over a parametrized list of arguments: each row's.
            let splatted = match args.as_slice() {
                [one] if one.kind() == "list_splat" => one.named_child(0).map(|n| &text[n.byte_range()]),
                _ => None,
            };
            // Keyword arguments are kept as `name=value`, put in place by the
            // function's parameters later ([`python_positional`]).
            if args.is_empty() || (splatted.is_none() && args.iter().any(|a| a.kind() == "list_splat")) {
                continue;
            }
            if in_changed_state(node, text) {
                continue;
            }
            // A name the test is parametrized over stands for each row's value.
            let rows = parametrized_rows(node, text);
            // Rows past the first eight are calls all the same, after the others.
            let mut keep = |n: usize, call: Vec<String>| {
                let list = if n < 8 { &mut calls } else { &mut from_tables };
                if !list.contains(&call) {
                    list.push(call);
                }
            };
            if let Some(name) = splatted {
                for (n, row) in rows.iter().enumerate() {
                    let Some((_, value)) = row.iter().find(|(n, _)| n == name) else { continue };
                    let Some(items) = python_sequence_items(value) else { continue };
                    let literal = items.iter().all(|i| !i.starts_with('f') && is_python_literal(i));
                    if literal && !items.is_empty() {
                        keep(n, items);
                    }
                }
                continue;
            }
            let variants: Vec<Vec<(String, String)>> = if rows.is_empty() { vec![Vec::new()] } else { rows };
            for (n, row) in variants.into_iter().enumerate() {
                let filled: Option<Vec<String>> = args
                    .iter()
                    .map(|a| {
                        let (keyword, a) = match a.kind() {
                            "keyword_argument" => (
                                Some(&text[a.child_by_field_name("name")?.byte_range()]),
                                a.child_by_field_name("value")?,
                            ),
                            _ => (None, *a),
                        };
                        let arg = &text[a.byte_range()];
                        let value = row.iter().find(|(n, _)| n == arg).map_or(arg, |(_, v)| v.as_str());
                        let literal = !value.starts_with('f') && is_python_literal(value);
                        literal.then(|| keyword.map_or_else(|| value.to_owned(), |k| format!("{k}={value}")))
                    })
                    .collect();
                if let Some(filled) = filled {
                    keep(n, filled);
                }
            }
        }
    }
    // Two error cases after the first few calls written out: a test of
    // what fails is worth as much as one more of what works.
    let mut at = calls.len().min(3);
    for call in bound_calls.into_iter().take(2) {
        if !calls.contains(&call) {
            calls.insert(at, call);
            at += 1;
        }
    }
    for call in from_tables {
        if !calls.contains(&call) {
            calls.push(call);
        }
    }
    calls.truncate(500);
    calls
}

/// Each positional parameter's default as written (`ndigits=None` →
/// `None`), none for a parameter without one; up to the first `*`.
fn python_defaults(function: Node<'_>, text: &str) -> Vec<Option<String>> {
    python_parameters(function, text).into_iter().map(|(_, default)| default).collect()
}

/// A Python function's parameters by position, each name with its default.
fn python_parameters(function: Node<'_>, text: &str) -> Vec<(String, Option<String>)> {
    let Some(list) = function.child_by_field_name("parameters") else { return Vec::new() };
    let mut parameters = Vec::new();
    let mut cursor = list.walk();
    for parameter in list.named_children(&mut cursor) {
        let name = |p: Node<'_>| match p.kind() {
            "identifier" => text[p.byte_range()].to_owned(),
            _ => p
                .child_by_field_name("name")
                .or_else(|| p.named_child(0))
                .map(|n| text[n.byte_range()].to_owned())
                .unwrap_or_default(),
        };
        match parameter.kind() {
            // `*args: str` is a typed parameter too: positions end there.
            "typed_parameter" if text[parameter.byte_range()].starts_with('*') => break,
            "identifier" | "typed_parameter" => parameters.push((name(parameter), None)),
            "default_parameter" | "typed_default_parameter" => parameters.push((
                name(parameter),
                parameter.child_by_field_name("value").map(|v| text[v.byte_range()].to_owned()),
            )),
            k if k.contains("comment") || k == "positional_separator" => {}
            _ => break,
        }
    }
    parameters
}

/// The project's test sources without the tests Edison wrote for `name`
/// in an earlier request (`def test_camelize_1():` to the next top-level
/// line, `fn camelize_1() {` to its closing brace, `func TestCamelize_1(`
/// likewise).
fn without_edisons(tests: &[String], name: &str, language: Language) -> Vec<String> {
    let first = match language {
        Language::Python => format!("def test_{name}_1"),
        Language::Rust => format!("fn {name}_1"),
        Language::Go => format!("func {}", go::test_name(name, 1)),
        _ => return tests.to_vec(),
    };
    let prefix = &first[..first.len() - 1];
    let starts = |line: &str| {
        line.trim_start().strip_prefix(prefix).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    tests
        .iter()
        .map(|text| {
            if !text.contains(prefix) {
                return text.clone();
            }
            let mut out = String::with_capacity(text.len());
            let mut skipping: Option<usize> = None;
            for line in text.split_inclusive('\n') {
                let indent = line.len() - line.trim_start().len();
                if let Some(depth) = skipping {
                    let ended = match language {
                        // The next line at the definition's depth or less.
                        Language::Python => !line.trim().is_empty() && indent <= depth,
                        // Its closing brace, at the definition's depth.
                        _ => line.trim_end() == format!("{}}}", " ".repeat(depth)),
                    };
                    if !ended {
                        continue;
                    }
                    skipping = None;
                    if language != Language::Python {
                        continue;
                    }
                }
                if starts(line) {
                    skipping = Some(indent);
                    continue;
                }
                out.push_str(line);
            }
            out
        })
        .collect()
}

/// Python: each call with its keyword arguments (`name=value`, as
/// [`every_example_call`] keeps them) put in their parameters' places and the
/// defaults written out between (`camelize('a', uppercase_first_letter=False)`
/// is `camelize('a', False)`); a call naming a parameter the function does not
/// have, or skipping one without a default, is left out.
fn python_positional(calls: Vec<Vec<String>>, parameters: &[(String, Option<String>)]) -> Vec<Vec<String>> {
    fn keyword(arg: &str) -> Option<(&str, &str)> {
        let (name, value) = arg.split_once('=')?;
        (name.chars().all(|c| c.is_alphanumeric() || c == '_') && !name.is_empty() && !value.starts_with('='))
            .then_some((name, value))
    }
    let mut out = Vec::new();
    'calls: for call in calls {
        if call.iter().all(|a| keyword(a).is_none()) {
            out.push(call);
            continue;
        }
        let mut placed: Vec<Option<String>> = Vec::new();
        for arg in &call {
            match keyword(arg) {
                None if placed.iter().all(Option::is_some) => placed.push(Some(arg.clone())),
                None => continue 'calls,
                Some((name, value)) => {
                    let Some(at) = parameters.iter().position(|(p, _)| p == name) else { continue 'calls };
                    if placed.len() <= at {
                        placed.resize(at + 1, None);
                    }
                    if placed[at].is_some() {
                        continue 'calls;
                    }
                    placed[at] = Some(value.to_owned());
                }
            }
        }
        let filled: Option<Vec<String>> = placed
            .into_iter()
            .enumerate()
            .map(|(i, arg)| arg.or_else(|| parameters.get(i).and_then(|(_, default)| default.clone())))
            .collect();
        if let Some(filled) = filled.filter(|f| !out.contains(f)) {
            out.push(filled);
        }
    }
    out
}

/// `calls` and each of them with the defaults after its last argument
/// written out (`intcomma(100)` is `intcomma(100, None)` too): a call that
/// spells out a default makes the same call.
fn with_defaults(calls: Vec<Vec<String>>, defaults: &[Option<String>]) -> Vec<Vec<String>> {
    let mut all = calls.clone();
    for call in calls {
        // Shorter: the defaults it writes out left off (`f(100, None)` is `f(100)`).
        let mut shorter = call.clone();
        while shorter.len() > 1 && defaults.get(shorter.len() - 1).is_some_and(|d| d.as_ref() == shorter.last()) {
            shorter.pop();
            if !all.contains(&shorter) {
                all.push(shorter.clone());
            }
        }
        let mut longer = call;
        while let Some(Some(default)) = defaults.get(longer.len()) {
            longer.push(default.clone());
            if !all.contains(&longer) {
                all.push(longer.clone());
            }
        }
    }
    all
}

/// What a Python test does before a call that changes what the call
/// returns: a locale activated, the clock frozen, something patched. Such a
/// call's inputs and answers hold only there (humanize's
/// `intcomma("1.234.567,8")` after `i18n.activate("de_DE")`), not as examples.
const CHANGED_STATE: [&str; 10] = [
    "activate(",
    "setlocale(",
    "freeze_time",
    "monkeypatch",
    "patch(",
    "patch.object",
    "override_settings",
    "setattr(",
    "environ[",
    "time_machine",
];

/// Whether the test function around `call` (its decorators too) changes
/// state before it.
fn in_changed_state(call: Node<'_>, text: &str) -> bool {
    let mut function = call.parent();
    while let Some(n) = function.filter(|n| n.kind() != "function_definition") {
        function = n.parent();
    }
    let Some(function) = function else { return false };
    let start = function.parent().filter(|p| p.kind() == "decorated_definition").unwrap_or(function).start_byte();
    let before = &text[start..call.start_byte()];
    // Whole names: `mock.patch(` is one, `bump_patch(` is not.
    CHANGED_STATE.iter().any(|marker| {
        before
            .match_indices(marker)
            .any(|(at, _)| !before[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_'))
    })
}

/// The names a Python file binds to `name`, directly or through one of
/// `modules`: `b2h = strutils.bytes2human`.
fn python_aliases(text: &str, name: &str, modules: &[String]) -> Vec<String> {
    let mut aliases = Vec::new();
    for line in text.lines() {
        let Some((alias, value)) = line.split_once('=') else { continue };
        let (alias, value) = (alias.trim_end(), value.split('#').next().unwrap_or_default().trim());
        let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        let through = match value.split_once('.') {
            Some((module, function)) => modules.iter().any(|m| m == module) && function == name,
            None => value == name,
        };
        // At the top or in a test (boltons' `b2h = strutils.bytes2human`).
        let alias = alias.trim_start();
        if through && ident(alias) && alias != name {
            aliases.push(alias.to_owned());
        }
    }
    aliases
}

/// The names a Python file binds to modules with `import a`, `import a.b`
/// (`a`) and `import a.b as c` (`c`), and to what may be one with `from p
/// import m` (`m`, lower case: boltons' tests call `strutils.f(…)` after
/// `from boltons import strutils`), at its top level.
fn python_imported_modules(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let from = line.strip_prefix("from ").and_then(|rest| rest.split_once(" import ")).map(|(_, list)| list);
        let from = from
            .map(|l| l.split('#').next().unwrap_or_default().trim())
            .map(|l| l.strip_prefix('(').and_then(|l| l.strip_suffix(')')).unwrap_or(l));
        if let Some(list) = from.filter(|l| !l.contains('(')) {
            for item in list.split(',') {
                let name = item.split_once(" as ").map_or(item, |(_, alias)| alias).trim();
                let module_like = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !name.is_empty() && module_like {
                    names.push(name.to_owned());
                }
            }
            continue;
        }
        let Some(list) = line.strip_prefix("import ") else { continue };
        for item in list.split('#').next().unwrap_or_default().split(',') {
            let item = item.trim();
            let name = match item.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => item.split('.').next().unwrap_or_default(),
            };
            if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// The rows of the `@pytest.mark.parametrize("a,b", [(…), …])` around a
/// call: each row's values by argument name; eight rows across the table
/// first (the examples), then the others (calls the tests make all the same).
fn parametrized_rows(call: Node<'_>, text: &str) -> Vec<Vec<(String, String)>> {
    let mut function = call.parent();
    while let Some(node) = function.filter(|n| n.kind() != "function_definition") {
        function = node.parent();
    }
    let Some(decorated) = function.and_then(|f| f.parent()).filter(|p| p.kind() == "decorated_definition") else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let mut cursor = decorated.walk();
    for decorator in decorated.named_children(&mut cursor).filter(|d| d.kind() == "decorator") {
        let Some(call) = decorator.named_child(0).filter(|c| c.kind() == "call") else { continue };
        let callee = call.child_by_field_name("function").map_or("", |f| &text[f.byte_range()]);
        if !callee.ends_with("parametrize") {
            continue;
        }
        let Some(arguments) = call.child_by_field_name("arguments") else { continue };
        let mut cursor = arguments.walk();
        let parts: Vec<Node<'_>> = arguments.named_children(&mut cursor).collect();
        let (Some(names), Some(values)) = (parts.first(), parts.get(1)) else { continue };
        let names: Vec<String> = text[names.byte_range()]
            .trim_matches(|c| c == '"' || c == '\'')
            .split(',')
            .map(|n| n.trim().to_owned())
            .collect();
        let mut cursor = values.walk();
        let all: Vec<Node<'_>> = values.named_children(&mut cursor).filter(|r| !r.kind().contains("comment")).collect();
        // Rows across the table, not its first few (ordinal's 11th, 12th, 13th
        // come after 1st to 4th): at most eight, evenly spaced, first and last in.
        let mut chosen: Vec<Node<'_>> = match all.len() {
            0..=8 => all.clone(),
            n => (0..8).map(|k| all[k * (n - 1) / 7]).collect(),
        };
        chosen.extend(all.iter().filter(|row| !chosen.iter().any(|c| c.id() == row.id())).copied().collect::<Vec<_>>());
        for row in chosen {
            let cells: Vec<String> = if names.len() == 1 {
                vec![text[row.byte_range()].to_owned()]
            } else if row.kind() == "tuple" {
                let mut cursor = row.walk();
                row.named_children(&mut cursor).map(|c| text[c.byte_range()].to_owned()).collect()
            } else {
                continue;
            };
            if cells.len() == names.len() {
                rows.push(names.iter().cloned().zip(cells).collect());
            }
        }
    }
    rows
}

/// The items of a Python list or tuple literal written out (`[1, "a, b"]`
/// → `1`, `"a, b"`), split at its top-level commas.
fn python_sequence_items(text: &str) -> Option<Vec<String>> {
    let text = text.trim();
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .or_else(|| text.strip_prefix('(').and_then(|t| t.strip_suffix(')')))?;
    let (mut items, mut current, mut depth, mut quote) = (Vec::new(), String::new(), 0usize, None::<char>);
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        current.push(c);
        match (quote, c) {
            (Some(_), '\\') => current.extend(chars.next()),
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '(' | '{') => depth += 1,
            (None, ']' | ')' | '}') => depth = depth.checked_sub(1)?,
            (None, ',') if depth == 0 => {
                current.pop();
                items.push(std::mem::take(&mut current).trim().to_owned());
            }
            _ => {}
        }
    }
    let trailing_comma = current.trim().is_empty() && !items.is_empty();
    if !current.trim().is_empty() {
        items.push(current.trim().to_owned());
    }
    // `("1000")` is a string in parentheses, `("1000",)` a tuple.
    if text.starts_with('(') && items.len() == 1 && !trailing_comma {
        return None;
    }
    (quote.is_none() && depth == 0).then_some(items)
}

/// The rows of a Rust table a `for` loop open at `call_at` walks, for a
/// call passing the loop's names: `for &(input, output) in SPLIT_TEST_ITEMS`
/// (or `.iter()`) over a `static`/`const`/`let` array or slice of tuples
/// (shlex's tests), each row's values by position; literals only.
fn rust_loop_rows(text: &str, call_at: usize, args: &[String]) -> Vec<Vec<String>> {
    let before = &text[..call_at.min(text.len())];
    let Some(at) = before.rfind("for ") else { return Vec::new() };
    let after = &before[at..];
    if after.matches('{').count() <= after.matches('}').count() {
        return Vec::new();
    }
    let Some((pattern, rest)) = after["for ".len()..].split_once(" in ") else { return Vec::new() };
    let table = rest.split('{').next().unwrap_or_default().trim().trim_start_matches('&');
    let table = table.strip_suffix(".iter()").or_else(|| table.strip_suffix(".into_iter()")).unwrap_or(table);
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !ident(table) {
        return Vec::new();
    }
    let pattern = pattern.trim().trim_start_matches('&');
    let names: Vec<&str> = match pattern.strip_prefix('(').and_then(|p| p.strip_suffix(')')) {
        Some(inner) => inner.split(',').map(|n| n.trim().trim_start_matches('&')).collect(),
        None => vec![pattern],
    };
    if !names.iter().all(|n| ident(n)) || !args.iter().any(|a| names.contains(&a.as_str())) {
        return Vec::new();
    }
    // Its definition: `static TABLE: … = &[` (or `const`, `let`), before the loop.
    let definition = ["static ", "const ", "let "].iter().find_map(|keyword| {
        let pattern = format!("{keyword}{table}");
        text.match_indices(&pattern).find_map(|(at, _)| {
            let rest = &text[at + pattern.len()..];
            if !rest.starts_with([':', ' ', '=']) {
                return None;
            }
            let value = rest[rest.find('=')? + 1..].trim_start().trim_start_matches('&');
            let value = value.strip_prefix("vec!").unwrap_or(value).trim_start();
            value.starts_with('[').then_some(value)
        })
    });
    let Some((items, _)) = definition.and_then(ts::bracketed) else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let row = if names.len() > 1 { ts::bracketed(item)?.0 } else { vec![item.clone()] };
            filled(args, &names, &row, is_rust_literal)
        })
        .take(200)
        .collect()
}

/// A call's arguments with a table row's values in place of the names a
/// loop or callback binds (`names`, by position in `row`); none where one
/// is not a literal (as `literal` says).
fn filled(args: &[String], names: &[&str], row: &[String], literal: fn(&str) -> bool) -> Option<Vec<String>> {
    args.iter()
        .map(|arg| match names.iter().position(|n| n == arg) {
            Some(i) => row.get(i).filter(|v| literal(v)).cloned(),
            None => literal(arg).then(|| arg.clone()),
        })
        .collect()
}

/// `tc.input` → `input`: a field of a table row, by the loop's variable.
fn table_field(arg: &str) -> Option<&str> {
    let (row, field) = arg.split_once('.')?;
    let ident = |s: &str| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    (ident(row) && ident(field)).then_some(field)
}

/// The rows of a test's table that give every field of `fields` a literal
/// (`{ input: "9", output: 9 }` in TypeScript, `{in: "9", want: 9}` in Go):
/// object literals in `text` (the last eight before `call_at`, else the first
/// after it), each its fields' values by name.
fn table_rows(
    text: &str,
    call_at: usize,
    fields: &[&str],
    literal: fn(&str) -> bool,
    (struct_at, positional): (usize, &[String]),
) -> Vec<std::collections::HashMap<String, String>> {
    const LONGEST_ROW: usize = 2000;
    let mut rows: Vec<(usize, std::collections::HashMap<String, String>)> = Vec::new();
    if fields.is_empty() {
        return Vec::new();
    }
    for (start, _) in text.match_indices('{') {
        // Where the object ends, and its top-level `key: value` parts.
        let (mut depth, mut quote, mut parts, mut current) = (0usize, None::<char>, Vec::new(), String::new());
        let mut escaped = false;
        let mut closed = false;
        for c in text[start..].chars().take(LONGEST_ROW) {
            if let Some(q) = quote {
                current.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '"' | '\'' | '`' => quote = Some(c),
                '{' | '[' | '(' => depth += 1,
                '}' | ']' | ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        parts.push(std::mem::take(&mut current));
                        closed = true;
                        break;
                    }
                }
                ',' if depth == 1 => {
                    parts.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            if depth >= 1 && !(depth == 1 && c == '{' && current.is_empty()) {
                current.push(c);
            }
        }
        if !closed {
            continue;
        }
        let mut row = std::collections::HashMap::new();
        // Go's keys are bare names (`in: "x"`); a `:` in a string is none.
        let keyed = |part: &str| {
            part.split_once(':').is_some_and(|(key, _)| {
                let key = key.trim();
                !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
        };
        // Go's rows by position (`{"signStr = 0", "", 0, "0.00"}`): the
        // fields in the order the table's struct declares them.
        let own_table = start > struct_at;
        if own_table && !positional.is_empty() && parts.len() == positional.len() && !parts.iter().any(|p| keyed(p)) {
            for (name, value) in positional.iter().zip(&parts) {
                let value = value.trim();
                if fields.contains(&name.as_str()) && literal(value) {
                    row.insert(name.clone(), value.to_owned());
                }
            }
        }
        for part in &parts {
            let Some((key, value)) = part.split_once(':') else { continue };
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            let value = value.trim();
            if fields.contains(&key) && literal(value) {
                row.insert(key.to_owned(), value.to_owned());
            }
        }
        if fields.iter().all(|f| row.contains_key(*f)) {
            rows.push((start, row));
        }
    }
    // The table the call loops over is above it: the last rows before it, in
    // the order written (then the earlier ones: calls the tests make all the
    // same); else the first after it.
    let before = rows.iter().filter(|(at, _)| *at < call_at).count();
    let chosen = if before > 0 { before.saturating_sub(8)..before } else { 0..rows.len().min(8) };
    let earlier = if before > 0 { 0..before.saturating_sub(8) } else { 0..0 };
    let mut table: Vec<_> = rows[chosen].iter().map(|(_, row)| row.clone()).collect();
    table.extend(rows[earlier].iter().map(|(_, row)| row.clone()));
    table
}

/// The fields of the last anonymous struct declared before `at`, in order
/// (`[]struct{ name, format string; num float64 }` → `name`, `format`,
/// `num`): a Go table's rows written by position fill them.
fn go_struct_fields(text: &str, at: usize) -> (usize, Vec<String>) {
    let before = &text[..at.min(text.len())];
    let Some(start) = before.rfind("struct {").max(before.rfind("struct{")) else {
        return (0, Vec::new());
    };
    (start, go_fields_at(text, start))
}

fn go_fields_at(text: &str, start: usize) -> Vec<String> {
    let body = &text[start..];
    let Some(open) = body.find('{') else { return Vec::new() };
    let Some(close) = body.find('}') else { return Vec::new() };
    let mut fields = Vec::new();
    for declaration in body[open + 1..close].split(['\n', ';']) {
        let declaration = declaration.split("//").next().unwrap_or_default().trim();
        // `name, format string`: the names before the type.
        let Some((names, _ty)) = declaration.rsplit_once(char::is_whitespace) else { continue };
        for name in names.split(',') {
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Vec::new();
            }
            fields.push(name.to_owned());
        }
    }
    fields
}

/// The argument lists of the calls `name(…)` in Rust source text (not
/// definitions, not methods), split at top-level commas, with where each is.
fn rust_calls_in(text: &str, name: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    for (at, _) in text.match_indices(&format!("{name}(")) {
        let before = text[..at].trim_end();
        if text[..at].chars().next_back().is_some_and(|c| ident(c) || c == '.' || c == ':') || before.ends_with("fn") {
            continue;
        }
        let (mut depth, mut args, mut current, mut quote) = (0usize, Vec::new(), String::new(), None::<char>);
        let mut chars = text[at + name.len()..].chars();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), '\\') => {
                    current.push(c);
                    current.extend(chars.next());
                    let _ = q;
                    continue;
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"') => quote = Some('"'),
                (None, '\'') if current.trim().is_empty() => quote = Some('\''),
                (None, '(' | '[' | '{') => depth += 1,
                (None, ')' | ']' | '}') => {
                    depth -= 1;
                    if depth == 0 {
                        args.push(current.trim().to_owned());
                        break;
                    }
                }
                (None, ',') if depth == 1 => {
                    args.push(std::mem::take(&mut current).trim().to_owned());
                    continue;
                }
                _ => {}
            }
            if depth >= 1 && !(depth == 1 && c == '(' && current.is_empty() && args.is_empty() && quote.is_none()) {
                current.push(c);
            }
        }
        args.retain(|a| !a.is_empty());
        found.push((at, args));
    }
    found
}

/// A Rust literal of a kind the tests compare: a string, char, number or bool.
fn is_rust_literal(text: &str) -> bool {
    let number = |t: &str| {
        let t = t.strip_prefix('-').unwrap_or(t);
        t.starts_with(|c: char| c.is_ascii_digit())
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    // A byte (`b'A'`) or byte string (`b"ab"`) too: an earlier answer's `is_token(b'A')`.
    let text = text.strip_prefix('b').filter(|t| t.starts_with(['\'', '"'])).unwrap_or(text);
    let char_literal = text.len() <= 12 && text.starts_with('\'') && text.ends_with('\'') && !text.contains('\n');
    matches!(text, "true" | "false") || number(text) || char_literal || is_rust_string_literal(text)
}

/// Each parameter's inputs: what the project's tests pass in its place
/// first (three distinct at most), then `derived` (from its type or name).
fn with_examples(index: usize, examples: &[Vec<String>], derived: Option<Vec<String>>) -> Option<Vec<String>> {
    with_examples_up_to(3, index, examples, derived)
}

/// [`with_examples`], `limit` of the tests' values.
fn with_examples_up_to(
    limit: usize,
    index: usize,
    examples: &[Vec<String>],
    derived: Option<Vec<String>>,
) -> Option<Vec<String>> {
    let mut values: Vec<String> = Vec::new();
    for value in examples.iter().filter_map(|call| call.get(index)) {
        if !values.contains(value) {
            values.push(value.clone());
        }
    }
    values.truncate(limit);
    for value in derived.unwrap_or_default() {
        if !values.contains(&value) {
            values.push(value);
        }
    }
    (!values.is_empty()).then_some(values)
}

/// Inputs beside the tests' own strings at `index`: the first one in
/// capitals, with spaces around it, and cut short (`'text/html'` →
/// `'TEXT/HTML'`, `' text/html '`, `'text/'`), and empty, where they
/// differ from it.
/// Only a string quoted by one of `quotes`, with no escape inside (no
/// prefix either: Python's `b'…'`, `r'…'`, `f'…'` are left alone).
fn string_variants(examples: &[Vec<String>], index: usize, quotes: &[char]) -> Vec<String> {
    // The first that is not empty (scule's table starts with `["", ""]`).
    // (The other quote may be inside: `'{ "__proto__": {} }'`.)
    let usable = |v: &&String| {
        v.starts_with(quotes)
            && v[1..].strip_suffix(&v[..1]).is_some_and(|inner| {
                !inner.is_empty() && !inner.contains('\\') && !inner.contains(v.chars().next().unwrap_or('"'))
            })
    };
    let Some(first) = examples.iter().filter_map(|call| call.get(index)).find(usable) else {
        return Vec::new();
    };
    let quote = &first[..1];
    let inner = &first[1..first.len() - 1];
    let cut: String = inner.chars().take(inner.chars().count().div_ceil(2)).collect();
    // Not one of theirs, whichever quote they wrote it with.
    let theirs = |v: &String| {
        examples.iter().filter_map(|call| call.get(index)).any(|e| e.len() >= 2 && e[1..e.len() - 1] == **v)
    };
    [inner.to_uppercase(), format!(" {inner} "), cut, String::new()]
        .into_iter()
        .filter(|v| v != inner && !theirs(v))
        .map(|v| format!("{quote}{v}{quote}"))
        .collect()
}

/// The tests' first string for parameter `index` that starts with an
/// operator the body compares with (`">=2.3.6"`; `compared`: the body's
/// compared string literals, `">="`, `"<"`, `"!="`…), with each other such
/// operator in its place (`"<2.3.6"`, `"!=2.3.6"`): the branches the body
/// tells apart, at the tests' own value. None of theirs.
fn token_swaps(examples: &[Vec<String>], index: usize, compared: &[String]) -> Vec<String> {
    let operator = |t: &str| !t.is_empty() && t.len() <= 3 && t.chars().all(|c| "<>=!~^*+-".contains(c));
    let operators: Vec<&str> = compared
        .iter()
        .filter_map(|c| c.strip_prefix(['\'', '"']).and_then(|c| c.strip_suffix(['\'', '"'])))
        .filter(|t| operator(t))
        .collect();
    if operators.len() < 2 {
        return Vec::new();
    }
    let theirs: Vec<&str> = examples
        .iter()
        .filter_map(|call| call.get(index))
        .filter_map(|v| v.strip_prefix(['\'', '"']).and_then(|v| v.strip_suffix(['\'', '"'])))
        .collect();
    let Some((quote, token, rest)) = examples.iter().filter_map(|call| call.get(index)).find_map(|v| {
        let quote = v.chars().next().filter(|q| matches!(q, '\'' | '"'))?;
        let inner = v[1..].strip_suffix(quote)?;
        if inner.contains(['\\', '\'', '"']) {
            return None;
        }
        let token = operators.iter().filter(|t| inner.starts_with(**t)).max_by_key(|t| t.len())?;
        let rest = &inner[token.len()..];
        // A value after it, not another operator's tail (`>=` read as `>`).
        (!rest.is_empty() && !rest.starts_with(|c: char| "<>=!~^*+-".contains(c))).then_some((quote, *token, rest))
    }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for other in operators.iter().filter(|t| **t != token) {
        let swapped = format!("{other}{rest}");
        let literal = format!("{quote}{swapped}{quote}");
        if !theirs.contains(&swapped.as_str()) && !out.contains(&literal) {
            out.push(literal);
        }
    }
    out
}

/// What sets a quoted string literal apart, as [`string_variants`] makes
/// one: in capitals, or with space around it.
fn string_form(literal: &str) -> Option<&'static str> {
    let inner = literal.strip_prefix(['\'', '"'])?.strip_suffix(['\'', '"'])?;
    if inner.trim() != inner && !inner.trim().is_empty() {
        Some("spaced")
    } else if inner.chars().any(char::is_alphabetic) && !inner.chars().any(char::is_lowercase) {
        Some("capitals")
    } else {
        None
    }
}

/// The literals of `kinds` in `node` that the code compares with: an operand
/// of `==`, `<` and the like, a `case`/`match` arm's pattern, the argument of
/// a prefix or suffix test (`s.startswith('http')`). An input equal to one
/// takes the branch it decides; a format string, an encoding's name or a
/// bit mask is no input anyone would pass (`slugify('utf-8')`).
fn compared_literals_in(node: Node<'_>, text: &str, kinds: &[&str], found: &mut Vec<String>) {
    let mut all = Vec::new();
    literal_nodes(node, kinds, &mut all);
    for literal in all {
        let Some(mut parent) = literal.parent() else { continue };
        // `-1`, `(…)`, a Go case's list of values.
        while matches!(
            parent.kind(),
            "unary_expression" | "unary_operator" | "parenthesized_expression" | "expression_list" | "negative_literal"
        ) {
            match parent.parent() {
                Some(p) => parent = p,
                None => break,
            }
        }
        let operator = |n: Node<'_>| {
            let mut cursor = n.walk();
            n.children(&mut cursor)
                .filter(|c| !c.is_named())
                .map(|c| text[c.byte_range()].to_owned())
                .collect::<Vec<_>>()
        };
        // A tuple or list a value is looked for in (`x in ('a', 'b')`).
        if matches!(parent.kind(), "tuple" | "list" | "set")
            && let Some(outer) = parent.parent().filter(|p| p.kind() == "comparison_operator")
        {
            parent = outer;
        }
        let compared = match parent.kind() {
            "binary_expression" => operator(parent)
                .iter()
                .any(|o| matches!(o.as_str(), "==" | "!=" | "===" | "!==" | "<" | ">" | "<=" | ">=")),
            // Python: not a string that is the container of `in` (`c in 'aeiou'`).
            "comparison_operator" => {
                let before = literal.prev_sibling().map(|s| text[s.byte_range()].to_owned()).unwrap_or_default();
                !(before.ends_with("in") && literal.parent() == Some(parent))
            }
            "case_pattern" | "switch_case" | "expression_case" | "match_pattern" | "case_clause" | "union_pattern"
            | "or_pattern" | "range_pattern" => true,
            // A key looked up (`d['major']`, `d.get('major')`): what a mapping holds.
            "subscript" | "index_expression" | "subscript_expression" => literal.kind().contains("string"),
            "argument_list" | "arguments" => {
                parent.parent().and_then(|call| call.child_by_field_name("function")).is_some_and(|f| {
                    let callee = &text[f.byte_range()];
                    [
                        ".get",
                        "startswith",
                        "endswith",
                        "starts_with",
                        "ends_with",
                        "startsWith",
                        "endsWith",
                        "HasPrefix",
                        "HasSuffix",
                        "strip_prefix",
                        "strip_suffix",
                        "TrimPrefix",
                        "TrimSuffix",
                    ]
                    .iter()
                    .any(|name| callee.ends_with(name))
                })
            }
            _ => false,
        };
        // `-3` (Go's `v < -3`, Rust's `-1 =>`), not `3`.
        let negated = literal.parent().filter(|p| {
            matches!(p.kind(), "unary_expression" | "unary_operator" | "negative_literal")
                && text[p.byte_range()].starts_with('-')
        });
        let value = &text[negated.unwrap_or(literal).byte_range()];
        if compared && value.len() <= 40 && !found.iter().any(|f| f == value) {
            found.push(value.to_owned());
        }
    }
}

fn literal_nodes<'a>(node: Node<'a>, kinds: &[&str], found: &mut Vec<Node<'a>>) {
    if kinds.contains(&node.kind()) {
        found.push(node);
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        literal_nodes(child, kinds, found);
    }
}

/// Up to ten calls, one factor at a time: every parameter's first candidate,
/// then each parameter moved through its others while the rest stay. The
/// first few are the project's tests' own inputs (for documentation's
/// examples); the rest are what a new test can add.
fn calls(candidates: &[Vec<String>]) -> Vec<Vec<String>> {
    calls_up_to(candidates, 10)
}

/// [`calls`], `limit` of them.
fn calls_up_to(candidates: &[Vec<String>], limit: usize) -> Vec<Vec<String>> {
    let base: Vec<String> = candidates.iter().map(|c| c[0].clone()).collect();
    let mut calls = vec![base.clone()];
    // Round by round, so every parameter moves before any moves twice.
    let rounds = candidates.iter().map(Vec::len).max().unwrap_or(1);
    for round in 1..rounds {
        for (i, values) in candidates.iter().enumerate() {
            let Some(value) = values.get(round) else { continue };
            let mut call = base.clone();
            call[i] = value.clone();
            if !calls.iter().any(|c| same_args(c, &call)) {
                calls.push(call);
            }
        }
    }
    calls.truncate(limit);
    calls
}

fn rust_target(name: &str, node: Node<'_>, text: &str, examples: &[Vec<String>]) -> Result<Target, String> {
    let signature =
        &text[node.start_byte()..node.child_by_field_name("body").map_or(node.end_byte(), |b| b.start_byte())];
    // Lifetimes alone are no generics (`fn percent_encode<'a>(input: &'a [u8], …)`).
    let generic = node.child_by_field_name("type_parameters").is_some_and(|generics| {
        let mut cursor = generics.walk();
        generics.named_children(&mut cursor).any(|g| !g.kind().contains("lifetime"))
    });
    if generic || signature.contains("async ") || signature.contains("unsafe ") {
        return Err(format!("`{name}` is generic, async or unsafe: its inputs take a model to choose"));
    }
    let body = node.child_by_field_name("body");
    let mut strings = Vec::new();
    let mut numbers = Vec::new();
    let mut chars = Vec::new();
    if let Some(body) = body {
        compared_literals_in(body, text, &["string_literal"], &mut strings);
        compared_literals_in(body, text, &["integer_literal"], &mut numbers);
        compared_literals_in(body, text, &["char_literal"], &mut chars);
    }
    let mut candidates = Vec::new();
    let mut mutated = Vec::new();
    let list = node.child_by_field_name("parameters").ok_or("no parameters")?;
    let mut cursor = list.walk();
    for parameter in list.named_children(&mut cursor) {
        match parameter.kind() {
            "parameter" => {}
            "self_parameter" => {
                return Err(format!("`{name}` is a method: a test needs an instance, which takes a model"));
            }
            k if k.contains("comment") || k == "attribute_item" => continue,
            _ => return Err(format!("`{name}` takes a parameter this offline test writer cannot fill")),
        }
        let ty = parameter.child_by_field_name("type").map_or("", |t| &text[t.byte_range()]);
        let index = candidates.len();
        // Written into (`append_separator_if_needed(&mut String, usize)`): a
        // variable of the type, whose value after the call is asserted.
        if let Some(inner) = ty.strip_prefix("&mut ").map(str::trim).filter(|t| *t == "String" || t.starts_with("Vec<"))
        {
            let values = if inner == "String" {
                vec!["String::new()".to_owned(), "String::from(\"abc\")".to_owned()]
            } else {
                rust_values(inner, &strings, &numbers, text)
                    .ok_or_else(|| format!("`{name}` takes a `{ty}`: choosing one takes a model"))?
            };
            let pattern = parameter.child_by_field_name("pattern").map_or("", |p| &text[p.byte_range()]);
            let usable = pattern.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !pattern.is_empty()
                && !matches!(pattern, "_" | "got")
                && pattern != name;
            let variable = if usable { pattern.to_owned() } else { format!("arg{index}") };
            mutated.push(Mutated { index, name: variable, ty: inner.to_owned() });
            candidates.push(values);
            continue;
        }
        // A test's `"abc"` fills a `&str`, not a `String`: examples only where the type takes them.
        let fits = |v: &String| !(ty == "String" && v.starts_with('"'));
        let usable: Vec<Vec<String>> = examples.iter().filter(|c| c.get(index).is_some_and(fits)).cloned().collect();
        let mut derived = rust_values(ty, &strings, &numbers, text);
        // The characters the body matches a byte or a char against (hex's
        // `b'a'..=b'f'`): a `u8` takes the byte literals, a `char` the others.
        // Text takes them as one-character strings (semver's `wildcard` matches
        // `Some(b'*' | b'x' | b'X')` on its first byte: `"*"`), and bytes inside
        // others (form_urlencoded's `replace_plus` compares each with `b'+'`: `b"a+b"`).
        let printable: Vec<&str> = chars
            .iter()
            .filter_map(|c| c.trim_start_matches('b').strip_prefix('\'')?.strip_suffix('\''))
            .filter(|c| c.len() == 1 && c.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\')))
            .take(3)
            .collect();
        let compared: Vec<String> = match ty {
            "u8" => chars.iter().filter(|c| c.starts_with("b'")).take(3).cloned().collect(),
            "char" => chars.iter().filter(|c| c.starts_with('\'')).take(3).cloned().collect(),
            _ if ty.starts_with('&') && ty.ends_with("str") => printable.iter().map(|c| format!("\"{c}\"")).collect(),
            _ if ty.starts_with('&') && ty.replace(' ', "").ends_with("[u8]") && !ty.contains("mut") => {
                printable.iter().take(2).map(|c| format!("b\"a{c}b\"")).collect()
            }
            _ => Vec::new(),
        };
        if !compared.is_empty() {
            derived.get_or_insert_with(Vec::new).extend(compared);
        }
        if ty.starts_with('&') && ty.ends_with("str") {
            derived.get_or_insert_with(Vec::new).extend(string_variants(&usable, index, &['"']));
        }
        candidates.push(with_examples(index, &usable, derived).ok_or_else(|| {
            format!("`{name}` takes a `{ty}`: choosing one takes a model (offline, Edison fills numbers, text, booleans, their Options, slices and Vecs, and the file's own enums and types with `new()` or `Default`)")
        })?);
    }
    let returns = node.child_by_field_name("return_type").map(|r| text[r.byte_range()].to_owned());
    if returns.is_none() && mutated.is_empty() {
        return Err(format!(
            "`{name}` returns nothing: what it does is a side effect, which a characterization test cannot see"
        ));
    }
    Ok(Target {
        calls: calls(&candidates),
        mutated,
        returns: returns.map(|r| rust::unaliased(&r, text)),
        hidden: rust::hidden_types(text),
        variants: rust::comparable_variants(text),
        patterns: rust::unit_variants(text),
        ..Target::new(Language::Rust, name)
    })
}

/// Literals of a Rust type: edge values first, then what the body compares
/// against; for a type `file` declares, its own values (see [`rust_own_values`]).
fn rust_values(ty: &str, strings: &[String], numbers: &[String], file: &str) -> Option<Vec<String>> {
    // A reference's lifetime says nothing of its values (`&'a [u8]` is `&[u8]`).
    let unlived;
    let ty = match ty.trim().strip_prefix("&'").and_then(|rest| rest.split_once(' ')) {
        Some((_, rest)) => {
            unlived = format!("&{}", rest.trim_start());
            unlived.as_str()
        }
        None => ty.trim(),
    };
    let with = |mut base: Vec<String>, extra: &[String]| {
        for e in extra.iter().take(2) {
            if !base.contains(e) {
                base.push(e.clone());
            }
        }
        base
    };
    let owned = |v: Vec<String>| v.into_iter().map(|s| format!("{s}.to_string()")).collect();
    // The file's constants of a type of its own (percent-encoding's
    // `NON_ALPHANUMERIC: &AsciiSet`); a `&str` constant is a message, no input.
    let named = ty.trim_start_matches('&').trim_start().starts_with(|c: char| c.is_ascii_uppercase());
    let constants = if named && ty != "String" { rust_constants(ty, file) } else { Vec::new() };
    if !constants.is_empty() {
        return Some(constants);
    }
    // A path or an OS string from text, by the type's name as written (`&Path`).
    if let Some(kind) = ty.strip_prefix('&').map(str::trim).filter(|t| {
        matches!(t.rsplit("::").next(), Some("Path" | "OsStr")) && t.chars().all(|c| c.is_alphanumeric() || c == ':')
    }) {
        let texts = with(vec!["\"\"".into(), "\"a/b.txt\"".into()], strings);
        return Some(texts.into_iter().map(|t| format!("{kind}::new({t})")).collect());
    }
    // A byte array by reference (`&[u8; 4]`): zeros, and a run of one byte.
    if let Some(len) = ty.strip_prefix("&[u8;").and_then(|r| r.strip_suffix(']')).map(str::trim) {
        return len
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 64)
            .map(|_| vec![format!("&[0; {len}]"), format!("&[b'a'; {len}]")]);
    }
    Some(match ty {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => with(vec!["0".into(), "1".into(), "-7".into()], numbers),
        // A byte as a letter too: a predicate on bytes (`is_token`) says yes to some.
        "u8" => with(vec!["0".into(), "1".into(), "7".into(), "b'a'".into()], numbers),
        "u16" | "u32" | "u64" | "u128" | "usize" => with(vec!["0".into(), "1".into(), "7".into()], numbers),
        "f32" | "f64" => vec!["0.0".into(), "1.5".into(), "-2.0".into()],
        "bool" => vec!["true".into(), "false".into()],
        "char" => vec!["'a'".into(), "'A'".into(), "' '".into()],
        _ if ty.starts_with('&') && ty.ends_with("str") => with(vec!["\"\"".into(), "\"abc\"".into()], strings),
        "String" => owned(with(vec!["\"\"".into(), "\"abc\"".into()], strings)),
        _ if ty.starts_with("Option<") && ty.ends_with('>') => {
            let inner = rust_values(&ty[7..ty.len() - 1], strings, numbers, file)?;
            std::iter::once("None".to_owned()).chain(inner.into_iter().take(2).map(|v| format!("Some({v})"))).collect()
        }
        _ if ty.starts_with("&[") && ty.ends_with(']') || ty.starts_with("Vec<") && ty.ends_with('>') => {
            let inner = if ty.starts_with('&') { &ty[2..ty.len() - 1] } else { &ty[4..ty.len() - 1] };
            let items = rust_values(inner, strings, numbers, file)?;
            let wrap = |list: String| if ty.starts_with('&') { format!("&[{list}]") } else { format!("vec![{list}]") };
            vec![wrap(String::new()), wrap(items.join(", ")), wrap(items[..1].join(", "))]
        }
        _ if ty.starts_with('&') && !ty.starts_with("&mut") => {
            rust_own_values(ty[1..].trim(), strings, numbers, file)?.into_iter().map(|v| format!("&{v}")).collect()
        }
        _ => return rust_own_values(ty, strings, numbers, file),
    })
}

/// The constants and statics `file` declares of type `ty` (lifetimes aside:
/// `&'static AsciiSet` is `&AsciiSet`), three at most, by name.
fn rust_constants(ty: &str, file: &str) -> Vec<String> {
    let bare = |t: &str| t.replace("'static ", "").split_whitespace().collect::<Vec<_>>().join(" ");
    let wanted = bare(ty);
    let mut found = Vec::new();
    // Top-level items only: an `impl`'s or a function's constant is not in scope bare.
    for line in file.lines() {
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let Some(rest) = line.strip_prefix("const ").or_else(|| line.strip_prefix("static ")) else { continue };
        let Some((name, rest)) = rest.split_once(':') else { continue };
        let Some((declared, _)) = rest.split_once('=') else { continue };
        let name = name.trim();
        if bare(declared) == wanted
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && found.len() < 3
        {
            found.push(name.to_owned());
        }
    }
    found
}

/// Values of a type `file` declares: an enum's variants (unit ones, and
/// tuple ones of types above with their first value: `CharRange('a', 'a')`),
/// three at most; a type with an associated `new()` of no arguments, or
/// that derives `Default`, its `T::new()` / `T::default()`.
fn rust_own_values(ty: &str, strings: &[String], numbers: &[String], file: &str) -> Option<Vec<String>> {
    if ty.is_empty()
        || !ty.starts_with(|c: char| c.is_ascii_uppercase())
        || !ty.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        return None;
    }
    let declared = |keyword: &str| {
        file.match_indices(&format!("{keyword} {ty}"))
            .map(|(at, m)| at + m.len())
            .find(|end| file[*end..].starts_with([' ', '{', '(', ';', '<']))
    };
    if let Some(end) = declared("enum") {
        let body = &file[end..];
        let body = &body[body.find('{')? + 1..];
        // To the enum's own closing brace (it may sit inside a `mod`).
        let mut depth = 1usize;
        let close = body.char_indices().find_map(|(at, c)| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(at)
        })?;
        let body = &body[..close];
        let mut values = Vec::new();
        for variant in
            body.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('#'))
        {
            let variant = variant.split("//").next().unwrap_or("").trim().trim_end_matches(',');
            let (name, fields) = match variant.split_once('(') {
                Some((name, rest)) => match rest.strip_suffix(')') {
                    Some(fields) => (name.trim(), Some(fields)),
                    None => continue,
                },
                None => (variant, None),
            };
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_') || name.is_empty() {
                continue;
            }
            let value = match fields {
                None => format!("{ty}::{name}"),
                Some(fields) => {
                    let firsts: Option<Vec<String>> = fields
                        .split(',')
                        .map(|f| rust_values(f.trim(), strings, numbers, "").and_then(|v| v.into_iter().next()))
                        .collect();
                    let Some(firsts) = firsts else { continue };
                    format!("{ty}::{name}({})", firsts.join(", "))
                }
            };
            values.push(value);
            if values.len() == 3 {
                break;
            }
        }
        return (!values.is_empty()).then_some(values);
    }
    let new = file.match_indices(&format!("impl {ty} {{")).any(|(at, _)| {
        let block = &file[at..];
        let block = &block[..block.find("\n}").unwrap_or(block.len())];
        block.contains("fn new() -> Self") || block.contains(&format!("fn new() -> {ty}"))
    });
    if new {
        return Some(vec![format!("{ty}::new()")]);
    }
    let derives_default = declared("struct").is_some_and(|end| {
        let start = file[..end].rfind("struct").unwrap_or(0);
        let above: Vec<&str> = file[..start].lines().rev().take(4).collect();
        above.iter().any(|l| l.contains("derive(") && l.contains("Default"))
    });
    derives_default.then(|| vec![format!("{ty}::default()")])
}

fn python_target(
    path: &str,
    name: &str,
    node: Node<'_>,
    text: &str,
    (examples, tests): (&[Vec<String>], &[String]),
) -> Result<Target, String> {
    if node.parent().is_some_and(|p| p.kind() == "decorated_definition") {
        return Err(format!("`{name}` is decorated: what the decorator does to it takes a model to test"));
    }
    let mut strings = Vec::new();
    let mut numbers = Vec::new();
    if let Some(body) = node.child_by_field_name("body") {
        compared_literals_in(body, text, &["string"], &mut strings);
        compared_literals_in(body, text, &["integer"], &mut numbers);
    }
    // Docstrings and f-strings are no inputs.
    strings.retain(|s| !s.starts_with("\"\"\"") && !s.starts_with("'''") && !s.starts_with('f'));
    let mut candidates = Vec::new();
    let mut keywords: Vec<Option<(String, String)>> = Vec::new();
    let mut imports = Vec::new();
    let list = node.child_by_field_name("parameters").ok_or("no parameters")?;
    let mut cursor = list.walk();
    for parameter in list.named_children(&mut cursor) {
        // After `*` or `*args` a parameter is passed by name only: no more positions.
        if text[parameter.byte_range()].starts_with('*') && !text[parameter.byte_range()].starts_with("**") {
            break;
        }
        let (param, ty, has_default) = match parameter.kind() {
            "identifier" => (&text[parameter.byte_range()], None, false),
            "typed_parameter" => (
                parameter.named_child(0).map_or("", |n| &text[n.byte_range()]),
                parameter.child_by_field_name("type").map(|t| &text[t.byte_range()]),
                false,
            ),
            // Left to its default, unless the project's tests pass it (`main(["bump",
            // "major", "1.2.3"])`): then their values, by position.
            "default_parameter" | "typed_default_parameter" => {
                let index = candidates.len();
                // Their strings varied too (`format_version(3, 4, 5, "")`: a dangling `-`).
                let variants = string_variants(examples, index, &['\'', '"']);
                match with_examples(index, examples, (!variants.is_empty()).then_some(variants)) {
                    Some(values) => {
                        candidates.push(values);
                        let field = |f: &str| parameter.child_by_field_name(f).map(|n| text[n.byte_range()].to_owned());
                        keywords.push(field("name").zip(field("value")));
                        continue;
                    }
                    // The parameters after it are positional only by it.
                    None => break,
                }
            }
            // Those before `/` are passed by position only.
            "positional_separator" => {
                keywords.iter_mut().for_each(|k| *k = None);
                continue;
            }
            "list_splat_pattern" | "dictionary_splat_pattern" | "keyword_separator" => continue,
            _ => return Err(format!("`{name}` takes a parameter this offline test writer cannot fill")),
        };
        if matches!(param, "self" | "cls") {
            return Err(format!("`{name}` is a method: a test needs an instance, which takes a model"));
        }
        let _ = has_default;
        let index = candidates.len();
        let usage = node.child_by_field_name("body").and_then(|body| python_usage(body, text, param));
        let mut derived = python_values(param, ty, usage, &strings, &numbers);
        // Strings beside the tests' own: theirs in capitals, spaced, cut short;
        // with another of the operators the body looks for in front.
        let mut variants = token_swaps(examples, index, &strings);
        variants.extend(string_variants(examples, index, &['\'', '"']));
        if !variants.is_empty() {
            derived.get_or_insert_with(Vec::new).extend(variants);
        }
        if usage == Some("serializer") && derived.as_ref().is_some_and(|d| d.iter().any(|v| v == "json")) {
            for module in ["json", "pickle"] {
                let import = (module.to_owned(), String::new());
                if !imports.contains(&import) {
                    imports.push(import);
                }
            }
        }
        // Parsed command-line arguments: a `Namespace` as the project's tests build one.
        if derived.is_none()
            && ty.is_none()
            && let Some(namespaces) =
                node.child_by_field_name("body").and_then(|body| namespaces_for(body, text, param, tests))
        {
            derived = Some(namespaces);
            if !imports.iter().any(|(_, n)| n == "Namespace") {
                imports.push(("argparse".to_owned(), "Namespace".to_owned()));
            }
        }
        candidates.push(with_examples(index, examples, derived).ok_or_else(|| {
            format!(
                "`{name}` takes `{param}`{}: choosing one takes a model",
                ty.map(|t| format!(": {t}")).unwrap_or_default()
            )
        })?);
        keywords.push(None);
    }
    let module = path.strip_suffix(".py").ok_or("not a Python file")?;
    let module = module.strip_prefix("src/").unwrap_or(module).trim_end_matches("/__init__").replace('/', ".");
    Ok(Target {
        calls: calls(&candidates),
        module: Some(module),
        imports,
        thrown: python_raised(text),
        keywords,
        ..Target::new(Language::Python, name)
    })
}

/// Python's own exceptions for a misuse or a crash: pinned only where the
/// module raises them itself.
const PYTHON_CRASHES: [&str; 9] = [
    "TypeError",
    "AttributeError",
    "IndexError",
    "KeyError",
    "ZeroDivisionError",
    "UnboundLocalError",
    "NameError",
    "RecursionError",
    "AssertionError",
];

/// The exception classes `text` raises itself (`raise TypeError(…)`).
fn python_raised(text: &str) -> Vec<String> {
    let mut raised = Vec::new();
    for (at, _) in text.match_indices("raise ") {
        let class: String =
            text[at + "raise ".len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if class.starts_with(|c: char| c.is_ascii_uppercase()) && !raised.contains(&class) {
            raised.push(class);
        }
    }
    raised
}

/// What the body does with an untyped parameter says what it takes: a str
/// method (`a.isdigit()`, `a.split('.')`), `.decode()` (bytes), `.get(…)` or
/// `.items()` (a dict), arithmetic or an order with a number (an int), `len`
/// (a str, the simplest sized value). The first such use decides.
fn python_usage(body: Node<'_>, text: &str, param: &str) -> Option<&'static str> {
    const STR_METHODS: [&str; 16] = [
        "split",
        "rsplit",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "isdigit",
        "isalpha",
        "isalnum",
        "startswith",
        "endswith",
        "encode",
        "replace",
        "find",
        "partition",
    ];
    let is_param = |n: Node<'_>| n.kind() == "identifier" && &text[n.byte_range()] == param;
    let mut stack = vec![body];
    let mut found: Option<(usize, &'static str)> = None;
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        let kind = match node.kind() {
            "attribute" if node.child_by_field_name("object").is_some_and(is_param) => {
                let attribute = node.child_by_field_name("attribute").map_or("", |a| &text[a.byte_range()]);
                match attribute {
                    a if STR_METHODS.contains(&a) => "str",
                    "decode" => "bytes",
                    "get" | "items" | "keys" | "values" => "dict",
                    // `json`'s and `pickle`'s interface: a serializer.
                    "dumps" | "loads" => "serializer",
                    _ => continue,
                }
            }
            "binary_operator" | "comparison_operator" | "augmented_assignment" => {
                let mut cursor = node.walk();
                let operands: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                let numeric = operands.iter().any(|o| matches!(o.kind(), "integer" | "float"));
                // The operator itself, not the text (`a == "<html>"`, `"%s" % a`).
                let mut cursor = node.walk();
                let ordered = node.children(&mut cursor).filter(|c| !c.is_named()).any(|c| {
                    matches!(
                        &text[c.byte_range()],
                        "<" | ">" | "<=" | ">=" | "-" | "*" | "/" | "//" | "**" | "-=" | "*="
                    )
                });
                let numeric = numeric && !operands.iter().any(|o| o.kind() == "string");
                if !operands.iter().any(|o| is_param(*o)) || !(numeric || ordered) {
                    continue;
                }
                "int"
            }
            // `isinstance(a, tuple)`: the body handles that kind (the first
            // built-in one named; a class of the project's takes a model).
            "call" if node.child_by_field_name("function").is_some_and(|f| &text[f.byte_range()] == "isinstance") => {
                let args = node.child_by_field_name("arguments");
                if !args.and_then(|a| a.named_child(0)).is_some_and(is_param) {
                    continue;
                }
                let named = args.and_then(|a| a.named_child(1)).map_or("", |k| &text[k.byte_range()]);
                let first = named.trim_matches(|c| c == '(' || c == ')').split(',').next().unwrap_or("").trim();
                match first {
                    "str" => "str",
                    "bytes" => "bytes",
                    "int" => "int",
                    "dict" => "dict",
                    "tuple" => "tuple",
                    "list" => "list",
                    _ => continue,
                }
            }
            "call" if node.child_by_field_name("function").is_some_and(|f| &text[f.byte_range()] == "len") => {
                let args = node.child_by_field_name("arguments");
                if !args.and_then(|a| a.named_child(0)).is_some_and(is_param) {
                    continue;
                }
                "sized"
            }
            _ => continue,
        };
        if found.is_none_or(|(at, _)| node.start_byte() < at) {
            found = Some((node.start_byte(), kind));
        }
    }
    found.map(|(_, kind)| kind)
}

/// An untyped parameter the body reads fields of (`args.bump`, not
/// `args.func(…)`), as parsed command-line arguments are: the
/// `Namespace(…)`s of the project's tests that set every field read as a
/// value, each a literal; at most four.
fn namespaces_for(body: Node<'_>, text: &str, param: &str, tests: &[String]) -> Option<Vec<String>> {
    let mut fields: Vec<&str> = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        if node.kind() != "attribute"
            || !node
                .child_by_field_name("object")
                .is_some_and(|o| o.kind() == "identifier" && &text[o.byte_range()] == param)
        {
            continue;
        }
        // A method called on it: not a plain record of fields.
        if node.parent().is_some_and(|p| p.kind() == "call" && p.child_by_field_name("function") == Some(node)) {
            return None;
        }
        // A field used as an object in turn (`args.parser.print_help()`) is
        // the argument parser's own: the tests' `Namespace`s leave it out.
        if node.parent().is_some_and(|p| p.kind() == "attribute" && p.child_by_field_name("object") == Some(node)) {
            continue;
        }
        let field = node.child_by_field_name("attribute").map_or("", |a| &text[a.byte_range()]);
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    if fields.is_empty() {
        return None;
    }
    let mut found: Vec<(usize, String)> = Vec::new();
    for source in tests {
        let mut rest = source.as_str();
        while let Some(at) = rest.find("Namespace(") {
            let after = &rest[at + "Namespace(".len()..];
            rest = after;
            let Some(end) = after.find(')') else { break };
            let inner = after[..end].trim().trim_end_matches(',');
            // `key=literal` pairs only: nothing of the tests' but literals becomes code.
            let pairs: Option<Vec<(&str, &str)>> = inner
                .split(',')
                .map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    let (key, value) = (key.trim(), value.trim());
                    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    (plain && is_python_literal(value)).then_some((key, value))
                })
                .collect();
            let Some(pairs) = pairs.filter(|p| !p.is_empty()) else { continue };
            if !fields.iter().all(|f| pairs.iter().any(|(k, _)| k == f)) {
                continue;
            }
            let call =
                format!("Namespace({})", pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "));
            // Those built for this function (no other command's fields) first.
            let extra = pairs.len() - fields.len();
            if !found.iter().any(|(_, c)| *c == call) {
                found.push((extra, call));
            }
        }
    }
    found.sort_by_key(|(extra, _)| *extra);
    let found: Vec<String> = found.into_iter().take(4).map(|(_, call)| call).collect();
    (!found.is_empty()).then_some(found)
}

fn python_values(
    param: &str,
    ty: Option<&str>,
    usage: Option<&'static str>,
    strings: &[String],
    numbers: &[String],
) -> Option<Vec<String>> {
    let named = |words: &[&str]| words.iter().any(|w| param == *w || param.ends_with(&format!("_{w}")));
    let ty = ty.map(str::trim).filter(|t| !matches!(*t, "Any" | "t.Any" | "typing.Any" | "object"));
    let kind = match ty {
        Some("int") => "int",
        Some("str") => "str",
        Some("bool") => "bool",
        Some("float") => "float",
        Some("bytes") => "bytes",
        // A sequence of strings: none, one, and two (boltons' `human_readable_list`).
        Some(t)
            if [
                "list[str]",
                "List[str]",
                "Sequence[str]",
                "typing.Sequence[str]",
                "Iterable[str]",
                "typing.List[str]",
            ]
            .contains(&t) =>
        {
            return Some(vec!["[]".into(), "['abc']".into(), "['', 'abc']".into()]);
        }
        Some(t) if t.starts_with("list") || t.starts_with("List") => "list",
        Some(_) => return None,
        // What the body does says more than a name does.
        None if usage.is_some_and(|u| u != "sized") => usage?,
        None if named(&["n", "count", "size", "number", "index", "i", "width", "length", "num"]) => "int",
        None if named(&["s", "text", "name", "string", "value", "word", "line", "path", "key", "prefix"]) => "str",
        None if named(&["bytes", "bytestr", "data", "raw", "payload", "b"]) => "bytes",
        None if param.starts_with("is_") || named(&["flag", "enabled"]) => "bool",
        // `len(x)` and nothing else: a str, the simplest sized value.
        None if usage == Some("sized") => "str",
        None => return None,
    };
    let with = |mut base: Vec<String>, extra: &[String]| {
        base.extend(extra.iter().filter(|e| !e.contains('\n')).take(2).cloned());
        base.dedup();
        base
    };
    Some(match kind {
        "int" => with(vec!["0".into(), "1".into(), "-7".into()], numbers),
        "str" => with(vec!["''".into(), "'abc'".into()], strings),
        "bool" => vec!["True".into(), "False".into()],
        "float" => vec!["0.0".into(), "1.5".into()],
        "bytes" => vec!["b''".into(), "b'abc'".into()],
        "dict" => {
            // The keys the body names, each with a number.
            let keys: Vec<String> =
                strings.iter().filter(|s| s.len() <= 20 && !s.contains('\n')).take(3).cloned().collect();
            let filled: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("{k}: {}", i + 1)).collect();
            let mut values = vec!["{}".to_owned()];
            if !filled.is_empty() {
                values.push(format!("{{{}}}", filled.join(", ")));
            }
            values
        }
        "tuple" => vec!["()".into(), "(1, 2, 3)".into()],
        // The standard library's: one that writes text, one that writes bytes.
        "serializer" => vec!["json".into(), "pickle".into()],
        _ => vec!["[]".into(), "[1, 2, 3]".into()],
    })
}

/// Go: a `_test.go` file of the function's package that makes each call
/// and prints what it returned as Go syntax, or that it panicked.
pub fn go_probe(target: &Target) -> String {
    go::probe(target)
}

/// TypeScript/JavaScript: a test file of the project's framework that
/// reaches the function as `js` says and prints what each call returned.
pub fn ts_probe(target: &Target, js: &JsTests) -> String {
    ts::probe(target, js)
}

/// Go: the standard library packages `tests` (written by [`tests`]) need
/// imported besides `testing` (`strings` for a reader, `errors`…), sorted.
pub fn go_imports(tests: &str) -> Vec<&'static str> {
    go::imports_in(tests)
}

/// Go: the resets the package's tests use (`SetRand(nil)`), from the text of
/// its test files and of its other files (where the setters are declared).
pub fn go_resets(tests: &[&str], package: &[&str]) -> Vec<String> {
    go::resets(tests, package)
}

/// Go: `tests` with each test starting with the resets.
pub fn go_with_resets(tests: &str, resets: &[String]) -> String {
    go::with_resets(tests, resets)
}

/// Go's test function name for the `n`th test of `name` (`TestParse_1`).
pub fn go_test_name(name: &str, n: usize) -> String {
    go::test_name(name, n)
}

/// `tests` (as [`tests_in`] wrote them) numbered past the tests of the
/// same names `existing` (the project's test sources) has already — Edison's
/// of the function from an earlier request: `hamming_1`…`hamming_3` there,
/// and the new ones are `hamming_4`…, not a second `hamming_1` that does not
/// compile. JavaScript's tests are named by their calls, not numbered.
pub fn renumbered(target: &Target, tests: &str, existing: &str) -> String {
    let first = match target.language {
        Language::Rust => format!("{}_1", target.name),
        Language::Python => format!("test_{}_1", target.name),
        Language::Go => go::test_name(&target.name, 1),
        _ => return tests.to_owned(),
    };
    let prefix = &first[..first.len() - 1];
    let word = |c: char| c.is_alphanumeric() || c == '_';
    // Each `{prefix}{n}` declared as a test (after `fn `, `def ` or `func `),
    // with no digit after it (`hamming_1(`, `hamming_2_panics`); not a
    // string's `"hamming_1"`.
    let numbered = |text: &str| -> Vec<(usize, usize, usize)> {
        text.match_indices(prefix)
            .filter(|(at, _)| ["fn ", "def ", "func "].iter().any(|k| text[..*at].ends_with(k)))
            .filter(|(at, _)| !text[..*at].ends_with(word))
            .filter_map(|(at, _)| {
                let digits: String = text[at + prefix.len()..].chars().take_while(char::is_ascii_digit).collect();
                let n = digits.parse().ok()?;
                Some((at, at + prefix.len() + digits.len(), n))
            })
            .collect()
    };
    let Some(taken) = numbered(existing).into_iter().map(|(_, _, n)| n).max() else { return tests.to_owned() };
    let mut out = String::with_capacity(tests.len());
    let mut last = 0;
    for (start, end, n) in numbered(tests) {
        out.push_str(&tests[last..start]);
        out.push_str(&format!("{prefix}{}", n + taken));
        last = end;
    }
    out.push_str(&tests[last..]);
    out
}

/// The marker each observation line starts with.
pub const MARK: &str = "PAIRED-OBS";

/// Rust: a test module that makes each call and prints what it returned
/// (its `Debug` form, as a string literal) or that it panicked. Appended to
/// the file on the scratch copy only.
pub fn rust_probe(target: &Target) -> String {
    let mut out = String::from("\n#[cfg(test)]\nmod paired_probe {\n    #[allow(unused_imports)]\n    use super::*;\n");
    // A `no_std` crate's tests have neither `std` nor its prelude in scope
    // (`self::std`: an edition-2015 `use` starts from the crate's root).
    if target.debug_format.is_some_and(|format| format.starts_with("std::")) {
        out.push_str("    extern crate std;\n    #[allow(unused_imports)]\n    use self::std::{borrow::ToOwned, boxed::Box, format, println, string::String, string::ToString, vec, vec::Vec};\n");
    }
    out.push_str("\n    #[test]\n    fn paired_probe() {\n        std::panic::set_hook(Box::new(|_| {}));\n");
    for (i, args) in target.calls.iter().enumerate() {
        // With `&mut` arguments: bound first, printed after the result.
        let (lets, call) = rust::bound_call(target, args);
        let seen = if target.mutated.is_empty() {
            format!("format!(\"{{:?}}\", {call})")
        } else {
            let names: Vec<&str> = target.mutated.iter().map(|m| m.name.as_str()).collect();
            let verbs = vec!["{:?}"; names.len() + 1].join("\\u{1f}");
            format!("{{ {} let got = {call}; format!(\"{verbs}\", got, {}) }}", lets.join(" "), names.join(", "))
        };
        out.push_str(&format!(
            "        match std::panic::catch_unwind(|| {seen}) {{\n            Ok(seen) => println!(\"{MARK} {i} {{seen:?}}\"),\n            Err(e) if crashed(&*e) => println!(\"{MARK} {i} crash\"),\n            Err(e) => println!(\"{MARK} {i} panic {{:?}}\", message(&*e)),\n        }}\n",
        ));
    }
    // Arithmetic, an index or an `unwrap()` gone wrong: a crash to fix, not
    // a panic the function means (`panic!("…")`, `assert!`), so not pinned.
    out.push_str(&format!(
        "    }}\n\n    fn message(e: &(dyn std::any::Any + Send)) -> String {{\n        e.downcast_ref::<&str>().map(|m| m.to_string()).or_else(|| e.downcast_ref::<String>().cloned()).unwrap_or_default()\n    }}\n\n    fn crashed(e: &(dyn std::any::Any + Send)) -> bool {{\n        let m = message(e);\n        {:?}.iter().any(|c| m.contains(c))\n    }}\n}}\n",
        RUST_CRASHES
    ));
    out
}

/// The messages of Rust's own panics (core's arithmetic and bounds checks,
/// `unwrap()`), as opposed to those a function raises on purpose.
const RUST_CRASHES: [&str; 17] = [
    "attempt to ",
    "index out of bounds",
    "is out of bounds of",
    "range end index",
    "range start index",
    "slice index starts",
    "begin <= end",
    "is not a char boundary",
    "removal index",
    "insertion index",
    "mid > len",
    "already borrowed",
    "already mutably borrowed",
    "entered unreachable code",
    "capacity overflow",
    "called `Option::unwrap()`",
    "called `Result::unwrap()`",
];

/// Python: a script that makes each call and prints, as JSON, the `repr` of
/// what it returned (when that evaluates back to an equal value: a literal,
/// or a call of a class the module exports with literal arguments — a
/// dataclass's or named tuple's `VersionInfo(major=1, minor=2)` — and then
/// the class's name) or the built-in exception it raised.
pub fn python_probe(target: &Target) -> String {
    let module = target.module.as_deref().unwrap_or_default();
    let calls: Vec<String> =
        target.calls.iter().map(|a| format!("lambda: {}({})", target.name, a.join(", "))).collect();
    format!(
        r#"import ast, contextlib, io, json, sys
sys.path[:0] = [".", "src"]
from {module} import {name}
{imports}seen = []

def constructed(value, text):
    cls = type(value)
    if getattr(sys.modules.get("{module}"), cls.__name__, None) is not cls:
        return None
    try:
        node = ast.parse(text, mode="eval").body
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == cls.__name__):
            return None
        if any(k.arg is None for k in node.keywords):
            return None
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {{k.arg: ast.literal_eval(k.value) for k in node.keywords}}
        return cls.__name__ if cls(*args, **kwargs) == value else None
    except Exception:
        return None

printed = []
for call in [{calls}]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            value = call()
        text = repr(value)
        try:
            back = ast.literal_eval(text)
            same = back == value and type(back) is type(value)
        except Exception:
            same = False
        if same or len(text) > 200:
            seen.append({{"value": text if same and len(text) <= 200 else None}})
        else:
            cls = constructed(value, text)
            seen.append({{"value": text if cls else None, "class": cls}})
    # `SystemExit` too: a command line's entry point exits on bad arguments.
    except (Exception, SystemExit) as error:
        kind = type(error)
        seen.append({{"raises": kind.__name__ if kind.__module__ == "builtins" else None}})
    printed.append(bool(out.getvalue()))
print("{MARK} " + json.dumps(seen))
print("{PRINTED} " + json.dumps(printed))
"#,
        name = target.name,
        calls = calls.join(", "),
        imports = target.imports.iter().map(|(m, n)| python_import(m, n)).collect::<String>(),
    )
}

/// The line that imports `name` from `module`, or `module` itself when
/// `name` is empty.
pub fn python_import(module: &str, name: &str) -> String {
    if name.is_empty() { format!("import {module}\n") } else { format!("from {module} import {name}\n") }
}

/// A Python literal and nothing else: numbers, strings and bytes, `True`,
/// `False`, `None`, and brackets, commas and colons between them — no name,
/// no call, no operator. What the probe prints passes through here before it
/// becomes a test: the code it ran could print anything.
pub fn is_python_literal(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    // No triple quotes (`'''x' '''+code+''' '''` reads as strings here and as
    // code to Python), and nothing right after a string but what separates
    // values (no implicit concatenation, no operator, no method call).
    if text.contains('\n') || text.len() > 200 || text.contains("'''") || text.contains("\"\"\"") {
        return false;
    }
    while let Some(c) = chars.next() {
        match c {
            ' ' | '[' | ']' | '(' | ')' | '{' | '}' | ',' | ':' | '-' | '.' | '+' => {}
            // A number, with its own letters: 1e5, 0x1f, 1_000, 2j.
            c if c.is_ascii_digit() => {
                while chars.peek().is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_') {
                    chars.next();
                }
            }
            'b' | 'r' | 'u' if matches!(chars.peek(), Some('\'' | '"')) => {}
            '\'' | '"' => {
                let mut closed = false;
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        d if d == c => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                if !closed {
                    return false;
                }
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
                if chars.peek().is_some_and(|d| !matches!(d, ',' | ')' | ']' | '}' | ':')) {
                    return false;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::from(c);
                while let Some(d) = chars.peek().copied().filter(|d| d.is_ascii_alphanumeric() || *d == '_') {
                    word.push(d);
                    chars.next();
                }
                if !matches!(word.as_str(), "True" | "False" | "None") {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// `Class(literal, name=literal, …)` and nothing else: a value of one of the
/// module's classes as its `repr` writes it, every argument a literal.
pub fn is_python_construction(text: &str, class: &str) -> bool {
    let Some(inner) = text.strip_prefix(class).and_then(|t| t.strip_prefix('(')).and_then(|t| t.strip_suffix(')'))
    else {
        return false;
    };
    if text.len() > 200 || text.contains('\n') {
        return false;
    }
    // Split at the commas between arguments (not those inside brackets or strings).
    let (mut parts, mut depth, mut quote, mut start) = (Vec::new(), 0i32, None, 0);
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            (None, ',') if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    const KEYWORDS: [&str; 35] = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
        "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ];
    let identifier = |k: &str| {
        !k.is_empty()
            && !k.starts_with(|c: char| c.is_ascii_digit())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !KEYWORDS.contains(&k)
    };
    quote.is_none()
        && depth == 0
        && parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).all(|part| {
            let value = match part.split_once('=') {
                Some((name, value)) if identifier(name.trim()) => value.trim(),
                _ => part,
            };
            is_python_literal(value)
        })
}

/// What the test file must import for the values the tests compare with:
/// the classes of Python values written as constructions (`VersionInfo(…)`),
/// from the function's module (the probe checked it exports them).
pub fn value_imports(target: &Target, seen: &[Observed]) -> Vec<(String, String)> {
    let Some(module) = target.module.as_deref().filter(|_| target.language == Language::Python) else {
        return Vec::new();
    };
    let mut imports: Vec<(String, String)> = Vec::new();
    for observed in seen {
        let Observed::Value(value) = observed else { continue };
        let Some((class, _)) = value.split_once('(') else { continue };
        let is_class = class.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && class.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let import = (module.to_owned(), class.to_owned());
        if is_class && !imports.contains(&import) {
            imports.push(import);
        }
    }
    imports
}

/// The text a double-quoted literal holds, its escapes undone: Rust's
/// `Debug` of a string (`"\"Ok(1)\""`, `\u{1f}`) and Go's `%q` (`\xNN`,
/// `\uNNNN`); none for an escape neither writes.
fn unescaped(literal: &str) -> Option<String> {
    let inner = literal.trim().strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            quote @ ('"' | '\\' | '\'') => out.push(quote),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
            }
            'u' => {
                let rest = chars.as_str();
                let hex: String = match rest.strip_prefix('{') {
                    Some(braced) => {
                        let hex: String = braced.chars().take_while(|c| *c != '}').collect();
                        chars = braced[hex.len()..].strip_prefix('}')?.chars();
                        hex
                    }
                    None => chars.by_ref().take(4).collect(),
                };
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// One Rust string literal (`"…"`, escapes inside) and nothing after it.
pub fn is_rust_string_literal(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('"') else { return false };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return false,
            '\\' => {}
            '"' => return chars.next().is_none(),
            '\n' => return false,
            _ => {}
        }
    }
    false
}

/// What the probe printed, call by call (`Opaque` where it printed nothing usable).
pub fn observed(target: &Target, stdout: &str) -> Vec<Observed> {
    let mut seen = vec![Observed::Opaque; target.calls.len()];
    match target.language {
        Language::Python => {
            let line = stdout.lines().find_map(|l| l.strip_prefix(MARK)).unwrap_or("[]");
            let items: Vec<Value> = serde_json::from_str(line.trim()).unwrap_or_default();
            for (slot, item) in seen.iter_mut().zip(items) {
                let identifier = |k: &str| {
                    !k.is_empty()
                        && k.len() <= 60
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !k.starts_with(|c: char| c.is_ascii_digit())
                };
                let class = item.get("class").and_then(Value::as_str).filter(|c| identifier(c));
                *slot = match (item.get("value").and_then(Value::as_str), item.get("raises")) {
                    (Some(value), _) if is_python_literal(value) => Observed::Value(value.to_owned()),
                    (Some(value), _) if class.is_some_and(|c| is_python_construction(value, c)) => {
                        Observed::Value(value.to_owned())
                    }
                    (None, Some(Value::String(kind))) if identifier(kind) => Observed::Fails(Some(kind.clone())),
                    _ => Observed::Opaque,
                };
            }
        }
        Language::Go => {
            // One line per call; a call whose second value differed from its
            // first printed many (the probe's sampling).
            let mut lines: Vec<Vec<&str>> = vec![Vec::new(); target.calls.len()];
            for line in stdout.lines().filter_map(|l| l.trim_start().strip_prefix(MARK)) {
                let mut parts = line.trim().splitn(2, ' ');
                let (Some(Ok(i)), Some(rest)) = (parts.next().map(str::parse::<usize>), parts.next()) else { continue };
                // What the value held: [`go::properties`].
                if rest.starts_with("prop ") {
                    continue;
                }
                if let Some(slot) = lines.get_mut(i) {
                    slot.push(rest);
                }
            }
            for (slot, lines) in seen.iter_mut().zip(lines) {
                *slot = match lines[..] {
                    [] => Observed::Opaque,
                    ["panic", ..] => Observed::Fails(None),
                    // A nil pointer or an index out of range: a crash to fix, not a test to pin.
                    ["crash", ..] => Observed::Opaque,
                    [quoted] => go::observed(target, quoted),
                    _ => go::varies(target, &lines),
                };
            }
        }
        _ => {
            for line in stdout.lines().filter_map(|l| l.trim_start().strip_prefix(MARK)) {
                let mut parts = line.trim().splitn(2, ' ');
                let (Some(Ok(i)), Some(rest)) = (parts.next().map(str::parse::<usize>), parts.next()) else { continue };
                // Whether it reached the private function: [`reached`].
                if rest == "reached" {
                    continue;
                }
                if let Some(slot) = seen.get_mut(i) {
                    *slot = match rest {
                        "panic" => Observed::Fails(None),
                        // Rust: the message a deliberate panic gave, which the test expects.
                        message if target.language == Language::Rust && message.starts_with("panic ") => {
                            let text = &message["panic ".len()..];
                            let usable = is_rust_string_literal(text) && text.len() > 2 && text.len() <= 200;
                            Observed::Fails(usable.then(|| text.to_owned()))
                        }
                        // Rust: a crash to fix, not a test to pin.
                        "crash" => Observed::Opaque,
                        json if matches!(
                            target.language,
                            Language::TypeScript | Language::Tsx | Language::JavaScript
                        ) =>
                        {
                            ts::observed(json)
                        }
                        // A string literal, else nothing: it is pasted into code.
                        debug if is_rust_string_literal(debug) && debug.len() <= 400 => {
                            Observed::Value(debug.to_owned())
                        }
                        _ => Observed::Opaque,
                    };
                }
            }
        }
    }
    seen
}

/// The Python probe's second line: which calls printed something.
const PRINTED: &str = "PAIRED-PRINTED";

/// What each call returned in two runs of the probe (`first`, `second`: their
/// output), the second as another user, in another folder and time zone: a call that
/// gave the same in both, as it did; one that differed ([`Observed::Differs`]),
/// with what held in both (Go); one that varied within each run, with the
/// samples of both (a bit that only a process fixes is then not trusted).
pub fn observed_twice(target: &Target, first: &str, second: &str) -> Vec<Observed> {
    let (one, two) = (observed(target, first), observed(target, second));
    let held = |i: usize| -> Vec<(String, String)> {
        if target.language != Language::Go {
            return Vec::new();
        }
        let (a, b) = (go::properties(target, first), go::properties(target, second));
        let (Some(a), Some(b)) = (a.get(i), b.get(i)) else { return Vec::new() };
        a.iter().filter(|p| b.contains(p)).cloned().collect()
    };
    one.into_iter()
        .zip(two)
        .enumerate()
        .map(|(i, (one, two))| match (one, two) {
            (one, two) if one == two => one,
            (Observed::Varies(mut values), Observed::Varies(more)) => {
                values.extend(more);
                go::varies_across(target, values)
            }
            (Observed::Opaque, _) => Observed::Opaque,
            // (A value in one run and none in the other differs too.)
            _ => Observed::Differs(held(i)),
        })
        .collect()
}

/// JavaScript: which calls reached the module-private function the tests
/// are for ([`Target::through`]), as the probe of its marked module said.
pub fn reached(target: &Target, stdout: &str) -> Vec<bool> {
    let mut reached = vec![false; target.calls.len()];
    for line in stdout.lines().filter_map(|l| l.trim_start().strip_prefix(MARK)) {
        if let Some((i, "reached")) = line.trim().split_once(' ')
            && let Some(slot) = i.parse::<usize>().ok().and_then(|i| reached.get_mut(i))
        {
            *slot = true;
        }
    }
    reached
}

/// Which of a Python probe's calls printed something (none for a probe
/// that does not say).
pub fn printed(target: &Target, stdout: &str) -> Vec<bool> {
    let said = stdout.lines().find_map(|l| l.strip_prefix(PRINTED)).unwrap_or("[]");
    let mut flags: Vec<bool> = serde_json::from_str(said.trim()).unwrap_or_default();
    flags.resize(target.calls.len(), false);
    flags
}

/// The calls that returned a value, as a doc comment shows them: the call as
/// the project's tests write it, the value as the language writes it (Rust:
/// its `Debug` form; Go: its results, and that the error was nil). Python's
/// become doctests, which compare what the session prints: not a call that
/// printed (`printed`), nor `None` (doctest shows nothing), nor a set (its
/// order changes from run to run).
pub fn doc_examples(target: &Target, seen: &[Observed], printed: &[bool]) -> Vec<super::document::Example> {
    // A call that writes into its arguments is no one-line example.
    if !target.mutated.is_empty() {
        return Vec::new();
    }
    let shown = |value: &String| match target.language {
        // Not a value whose `Debug` shows private or platform fields.
        Language::Rust => {
            serde_json::from_str::<String>(value).ok().filter(|_| !rust::shows_hidden(value, &target.hidden))
        }
        Language::Go => Some(go::shown(target, value)),
        Language::Python => {
            let set = value.starts_with("set(")
                || value.starts_with("frozenset(")
                || (value.starts_with('{') && value != "{}" && !value.contains(':'));
            (is_python_literal(value) && value != "None" && !set).then(|| value.clone())
        }
        _ => Some(value.clone()),
    };
    let mut examples: Vec<super::document::Example> = Vec::new();
    for (i, (args, seen)) in target.calls.iter().zip(seen).enumerate() {
        if printed.get(i).copied().unwrap_or(false) {
            continue;
        }
        let Observed::Value(value) = seen else { continue };
        let Some(value) = shown(value) else { continue };
        let call = format!("{}({})", target.called(), args.join(", "));
        if !examples.iter().any(|e| e.call == call) {
            examples.push(super::document::Example { call, value });
        }
    }
    // Each distinct value first (`true` and `false`, not three `true`s), then
    // the rest; a doctest's in the order it ran (a call may change state).
    if target.language == Language::Python {
        return examples;
    }
    let mut firsts: Vec<super::document::Example> = Vec::new();
    let mut rest = Vec::new();
    for example in examples {
        if firsts.iter().any(|e| e.value == example.value) { rest.push(example) } else { firsts.push(example) }
    }
    firsts.extend(rest);
    firsts
}

/// The tests: one per distinct thing observed, named after the function,
/// in the language's own form. `None` when nothing was worth asserting.
pub fn tests(target: &Target, seen: &[Observed]) -> Option<(String, usize)> {
    tests_in(target, seen, None)
}

/// [`tests`], JavaScript's written as `js` says (else as an ES module's,
/// with `expect`).
pub fn tests_in(target: &Target, seen: &[Observed], js: Option<&JsTests>) -> Option<(String, usize)> {
    // Every distinct outcome first, then other inputs, four tests at most.
    let usable: Vec<(&Vec<String>, &Observed)> = target
        .calls
        .iter()
        .zip(seen)
        .filter(|(_, o)| assertable(target, o))
        .filter(|(_, o)| !(target.language == Language::Python && **o == Observed::Value("None".into())))
        // A `TypeError` or `AttributeError` the module does not raise itself is
        // Python's own on a misuse (`None` where a string goes), an
        // `IndexError` or a `ZeroDivisionError` a crash (inflection's
        // `camelize('')`, isodate's `fquotmod(0, 0, 0)`): nothing to pin.
        .filter(|(_, o)| match o {
            Observed::Fails(Some(kind)) if target.language == Language::Python => {
                !PYTHON_CRASHES.contains(&kind.as_str()) || target.thrown.contains(kind)
            }
            _ => true,
        })
        // Pickle's bytes depend on the protocol the Python version defaults to.
        .filter(|(args, o)| {
            let pickled = args.iter().any(|a| a == "pickle");
            !(pickled && matches!(o, Observed::Value(v) if v.starts_with("b'") || v.starts_with("b\"")))
        })
        // What the project's tests call already, they assert already; and
        // an input that fails as one of theirs does adds nothing.
        .filter(|(args, o)| !repeats(target, seen, args, o))
        .collect();
    // An input with a value one of theirs gives too (the same text in
    // capitals, spaced): after every other, one such at most, and none of
    // a form their inputs have already (content-type's tests parse
    // `'IMAGE/SVG+XML'`: `'TEXT/HTML'` would show nothing new).
    let theirs = |o: &Observed| target.calls.iter().zip(seen).any(|(c, s)| s == o && is_tested(target, c));
    let (mut usable, same_value): (Vec<_>, Vec<_>) = usable.into_iter().partition(|(_, o)| !theirs(o));
    let known_form = |args: &[String]| {
        args.iter().enumerate().any(|(i, arg)| {
            string_form(arg).is_some_and(|form| {
                target.tested.iter().any(|call| call.get(i).and_then(|a| string_form(a)) == Some(form))
            })
        })
    };
    usable.extend(same_value.into_iter().filter(|(args, _)| !known_form(args)).take(1));
    // A Rust value asserted by its variant (`is_ok()`): one test per variant.
    let variant = |o: &Observed| match o {
        Observed::Value(debug) if target.language == Language::Rust && rust::shows_hidden(debug, &target.hidden) => {
            debug.split('(').next().map(str::to_owned)
        }
        _ => None,
    };
    // JavaScript: values of one shape are alike (`{ parameters: {}, type: "a" }`
    // and `… "b" }`): a value of another shape comes first.
    let script = matches!(target.language, Language::TypeScript | Language::Tsx | Language::JavaScript);
    // A Rust error (or panic) of one kind is one outcome: hex's `val(1, 0)`
    // and `val(7, 0)` are both `Err(InvalidHexCharacter { … })`.
    let error_kind = |o: &Observed| match o {
        Observed::Fails(_) if target.language == Language::Rust => Some("panic".to_owned()),
        Observed::Value(debug) if target.language == Language::Rust && debug.starts_with("\"Err(") => {
            Some(debug.chars().take_while(|c| c.is_alphanumeric() || matches!(c, '"' | '(' | '_')).collect())
        }
        _ => None,
    };
    let same = |a: &Observed, b: &Observed| {
        a == b
            || variant(a).is_some_and(|v| variant(b) == Some(v))
            || (script && ts::shape(a) == ts::shape(b))
            || error_kind(a).is_some_and(|k| error_kind(b) == Some(k))
    };
    let mut cases: Vec<(&Vec<String>, &Observed)> = Vec::new();
    for (args, observed) in &usable {
        if !cases.iter().any(|(_, o)| same(o, observed)) {
            cases.push((args, observed));
        }
    }
    for case in &usable {
        // Two tests of one value at most (tomli's `loads('')`, `loads('\n')`
        // and `loads('\r\n')` all give `{}`); in JavaScript, of one shape
        // (four `null`s say little).
        let alike =
            cases.iter().filter(|(_, o)| if script { ts::shape(o) == ts::shape(case.1) } else { *o == case.1 }).count();
        // One error or panic of a kind is said once (shlex's `Err(Nul)` for `&[0]` and `&[0, 1, 7]`).
        let error = error_kind(case.1).is_some();
        let repeats =
            ((variant(case.1).is_some() || error) && cases.iter().any(|(_, o)| same(o, case.1))) || alike >= 2;
        if cases.len() < 4 && !repeats && !cases.iter().any(|(a, _)| *a == case.0) {
            cases.push(*case);
        }
    }
    cases.truncate(4);
    cases.sort_by_key(|(args, _)| target.calls.iter().position(|c| c == *args));
    if cases.is_empty() {
        return None;
    }
    let name = &target.name;
    let mut out = String::new();
    // Counted as written: a case with nothing honest to assert is left out.
    let mut written = 0;
    for (args, observed) in &cases {
        let n = written;
        let call = format!("{}({})", target.called(), written_args(target, args));
        let test = format!("{name}_{}", n + 1);
        out.push_str(&match (target.language, observed) {
            // `is` for the singletons, as flake8 would have it (E712: no `== True`).
            (Language::Python, Observed::Value(value)) if matches!(value.as_str(), "True" | "False") => {
                format!("\n\ndef test_{test}():\n    assert {call} is {value}\n")
            }
            (Language::Python, Observed::Value(value)) => {
                format!("\n\ndef test_{test}():\n    assert {call} == {value}\n")
            }
            (Language::Python, Observed::Fails(Some(kind))) => {
                format!("\n\ndef test_{test}_raises():\n    with pytest.raises({kind}):\n        {call}\n")
            }
            (Language::Rust, Observed::Value(debug)) if !target.mutated.is_empty() => {
                let Some(body) = rust::mutated_test(target, args, debug) else { continue };
                format!("\n    #[test]\n    fn {test}() {{\n        {body}\n    }}\n")
            }
            (Language::Rust, Observed::Value(debug)) => {
                let Some(assertion) = rust::assertion(target, &call, debug) else { continue };
                format!("\n    #[test]\n    fn {test}() {{\n        {assertion}\n    }}\n")
            }
            (Language::TypeScript | Language::Tsx | Language::JavaScript, observed) => {
                let default = JsTests::expect("vitest", name, "");
                match ts::test(js.unwrap_or(&default), args, observed, &target.thrown) {
                    Some(test) => test,
                    None => continue,
                }
            }
            (Language::Go, observed) => match go::test(target, n + 1, args, observed) {
                Some(test) => test,
                None => continue,
            },
            (Language::Rust, Observed::Fails(message)) => {
                let attribute = match message {
                    Some(text) => format!("#[should_panic(expected = {text})]"),
                    None => "#[should_panic]".to_owned(),
                };
                let (lets, call) = rust::bound_call(target, args);
                let lets: String = lets.iter().map(|l| format!("{l}\n        ")).collect();
                format!(
                    "\n    #[test]\n    {attribute}\n    fn {test}_panics() {{\n        {lets}let _ = {call};\n    }}\n"
                )
            }
            _ => continue,
        });
        written += 1;
    }
    (written > 0).then_some((out, written))
}

/// A call's arguments as a test writes them: by name where
/// [`Target::keywords`] says (`clamp(1, "{:.0%}", ceil=0.99)`), from the
/// first such on (a positional argument cannot follow a named one).
fn written_args(target: &Target, args: &[String]) -> String {
    let first = target.keywords.iter().position(Option::is_some).unwrap_or(args.len());
    let all_named = target.keywords.len() >= args.len()
        && target.keywords[first.min(args.len())..args.len()].iter().all(Option::is_some);
    args.iter()
        .enumerate()
        .filter_map(|(i, arg)| match target.keywords.get(i) {
            Some(Some((_, default))) if all_named && i >= first && default == arg => None,
            Some(Some((name, _))) if all_named && i >= first => Some(format!("{name}={arg}")),
            _ => Some(arg.clone()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` for a JavaScript regular expression (a literal `/…/`, mocha's
/// `--grep`): its special characters and `/` escaped, `-` too.
pub fn regex_escaped(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\^$.*+?()[]{}|/-".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// Whether a test of the call `args`, which did `observed`, would repeat
/// one of the project's: they make that call already, or one of theirs
/// fails the same way. (A new input with a value one of theirs also gives
/// is kept: `parse("TEXT/HTML")` equal to `parse("text/html")` says
/// something theirs does not.)
fn repeats(target: &Target, seen: &[Observed], args: &[String], observed: &Observed) -> bool {
    is_tested(target, args)
        || (matches!(observed, Observed::Fails(_))
            && target.calls.iter().zip(seen).any(|(call, o)| o == observed && is_tested(target, call)))
}

/// Whether the project's tests make the call `args`: the same arguments,
/// a string written with either quote (`parse("")` is `parse('')`).
fn is_tested(target: &Target, args: &[String]) -> bool {
    target.tested.iter().any(|call| same_args(call, args))
}

/// Whether two calls pass the same arguments, a string written with either
/// quote.
fn same_args(a: &[String], b: &[String]) -> bool {
    let same = |a: &String, b: &String| a == b || unquoted(a).is_some_and(|inner| unquoted(b) == Some(inner));
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
}

/// The text of a string literal quoted by `'` or `"` with no escape or
/// quote inside.
fn unquoted(literal: &str) -> Option<&str> {
    let quote = literal.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let inner = literal[1..].strip_suffix(quote)?;
    (!inner.contains(['\\', '\'', '"'])).then_some(inner)
}

/// Rust: what `target`'s file (`file`) imports from the rest of its crate
/// (`sources`: its source files) that a test compares or matches — the
/// enums it names in a `use`.
pub fn with_crate_sources(target: &mut Target, sources: &str, file: &str) {
    rust::add_imported_enums(target, sources, file);
}

/// Whether every call with something to assert is one the project's tests
/// make already, or fails as one of theirs does (so no test is proposed: it
/// would repeat theirs).
pub fn only_tested(target: &Target, seen: &[Observed]) -> bool {
    let assertable: Vec<(&Vec<String>, &Observed)> =
        target.calls.iter().zip(seen).filter(|(_, o)| assertable(target, o)).collect();
    !assertable.is_empty() && assertable.iter().all(|(args, o)| repeats(target, seen, args, o))
}

/// Whether a test can assert something of what a call did: not an opaque
/// value, nor one that differed from run to run with nothing held in both
/// (Go's held properties only: other languages' tests compare whole values).
fn assertable(target: &Target, observed: &Observed) -> bool {
    match observed {
        Observed::Opaque => false,
        Observed::Differs(held) => target.language == Language::Go && !held.is_empty(),
        _ => true,
    }
}

/// Whether some call's value differed between the probe's two runs and
/// nothing else was left to assert: the reason there is no test.
pub fn differed(target: &Target, seen: &[Observed]) -> bool {
    seen.iter().any(|o| matches!(o, Observed::Differs(_))) && !seen.iter().any(|o| assertable(target, o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(path: &str, text: &str) -> SyntaxDocument {
        SyntaxDocument::new(Language::from_path(path), text.to_owned())
    }

    /// humantime's `parse_duration`: `Ok(9420s)` and `Err(Empty)` are
    /// compared as values, not as their `Debug` text.
    #[test]
    fn rust_values_are_compared_as_values_where_their_types_allow() {
        let file = "#[derive(Debug, PartialEq, Clone)]\npub enum Error {\n    Empty,\n}\n";
        let variants = rust::comparable_variants(file);
        let target = Target {
            returns: Some("Result<Duration, Error>".into()),
            variants: variants.clone(),
            tested: Vec::new(),
            thrown: Vec::new(),
            keywords: Vec::new(),
            ..rust_only("parse_duration", &[&["\"\""]])
        };
        let (written, _) = tests(&target, &[Observed::Value(format!("{:?}", "Err(Empty)"))]).expect("a test");
        assert!(written.contains("assert_eq!(parse_duration(\"\"), Err(Error::Empty));"), "{written}");
        let target = Target { returns: Some("Option<u8>".into()), ..target };
        let (written, _) = tests(&target, &[Observed::Value(format!("{:?}", "None"))]).expect("a test");
        assert!(written.contains("assert!(parse_duration(\"\").is_none());"), "{written}");
    }

    /// bytes.js: `bytes(value, options)`, which its tests call with the
    /// value alone; `exports.parse = parse` reached through the binding.
    #[test]
    fn javascript_calls_leave_out_what_the_tests_leave_out() {
        let source = "exports.parse = parse\nmodule.exports = bytes\n\nfunction bytes(value, options) {\n  return value;\n}\n\nfunction parse(val) {\n  return val;\n}\n";
        let tests = vec!["var assert = require('assert');\nvar bytes = require('..');\nassert.strictEqual(bytes(undefined), null);\nassert.strictEqual(bytes(1024), '1KB');\nassert.strictEqual(bytes.parse('1KB'), 1024);\nassert.throws(bytes.parse.bind(null, '1XB'));\n".to_owned()];
        let doc = doc("index.js", source);
        let whole = target("index.js", &doc, source.find("function bytes").expect("bytes"), &tests).expect("testable");
        assert_eq!(whole.commonjs, Some(CommonJs::Whole));
        assert_eq!(whole.calls[..2], [vec!["undefined"], vec!["1024"]], "the value alone, as the tests call it");
        assert_eq!(whole.calls[2..], [vec!["0"], vec!["1"], vec!["-7"]], "and numbers they do not pass");
        let parse = target("index.js", &doc, source.find("function parse").expect("parse"), &tests).expect("testable");
        assert_eq!(parse.commonjs, Some(CommonJs::Property("parse".into())));
        assert_eq!(parse.calls[..2], [vec!["'1KB'"], vec!["'1XB'"]], "through `bytes.`, and a bound error case");
        // And strings the tests do not pass: empty, spaced, cut short (its capitals are itself).
        assert_eq!(parse.calls[2..], [vec!["\"\""], vec!["\"abc\""], vec!["' 1KB '"], vec!["'1K'"]]);
        assert_eq!(parse.tested, [vec!["'1KB'"], vec!["'1XB'"]]);
        // The tests' own calls are theirs: the new ones are proposed, an
        // input that fails as one of theirs does is left out too, and one
        // with the value one of theirs has (`' 1KB '` as `'1KB'`) comes last.
        let value = |v: &str| Observed::Value(v.into());
        let seen =
            vec![value("1024"), Observed::Fails(None), value("null"), Observed::Fails(None), value("1024"), value("1")];
        let (written, count) = super::tests(&parse, &seen).expect("tests");
        assert_eq!(count, 3, "{written}");
        assert!(
            written.contains("parse(\"\")") && !written.contains("\"abc\"") && written.contains("parse(\"1K\")"),
            "{written}"
        );
        assert!(written.contains("parse(\" 1KB \")") && !written.contains("parse(\"1KB\")"), "{written}");
        let failing = [Observed::Fails(None), Observed::Fails(None), Observed::Opaque];
        assert!(only_tested(&parse, &[&[value("1024")], &failing[..], &failing[..]].concat()));
        assert!(!only_tested(&parse, &[&[value("1024")], &failing[..], &[value("1024")][..], &failing[..1]].concat()));
    }

    /// A new input that gives the value one of the tests' inputs gives is
    /// kept only where their inputs do not have its form already.
    #[test]
    fn an_input_like_theirs_in_form_and_value_is_left_out() {
        let call = |a: &str| vec![a.to_owned()];
        let target = Target {
            calls: vec![call("'text/html'"), call("'TEXT/HTML'"), call("' text/html '")],
            tested: vec![call("'text/html'"), call("'IMAGE/SVG+XML'")],
            ..Target::new(Language::JavaScript, "parse")
        };
        let value = Observed::Value("'text/html'".into());
        let seen = vec![value.clone(), value.clone(), value];
        let (written, count) = super::tests(&target, &seen).expect("a test");
        assert_eq!(count, 1, "{written}");
        assert!(written.contains("parse(\" text/html \")"), "spaced is new, capitals are theirs: {written}");
        assert_eq!(string_form("'A-B'"), Some("capitals"));
        assert_eq!(string_form("\" a \""), Some("spaced"));
        assert_eq!(string_form("' '"), None);
        assert_eq!(string_form("'a'"), None);
    }

    /// Inputs from the body are what it compares with, not every literal
    /// in it (an encoding's name, a format string, a bit mask, a message).
    #[test]
    fn body_literals_are_inputs_only_where_the_code_compares_with_them() {
        let found = |path: &str, source: &str, kinds: &[&str]| {
            let doc = doc(path, source);
            let mut found = Vec::new();
            compared_literals_in(doc.tree().expect("parses").root_node(), source, kinds, &mut found);
            found
        };
        let python = "def f(s, d):\n    if s == 'none' or s.startswith('http'):\n        return s.encode('utf-8')\n    if 'x' in s or s[-1] in 'aeiou':\n        return d['major'] + d.get('minor')\n    if len(s) > 40:\n        raise ValueError('too long')\n    return '{}{}'.format(s, s)\n";
        assert_eq!(found("m.py", python, &["string"]), ["'none'", "'http'", "'x'", "'major'", "'minor'"]);
        assert_eq!(found("m.py", python, &["integer"]), ["40"]);
        let go = "package p\n\nfunc F(s string, v int) string {\n\tswitch s {\n\tcase \"a\", \"b\":\n\t\treturn fmt.Sprintf(\"%d\", v&^0b111)\n\t}\n\tif v < -3 {\n\t\treturn \"\"\n\t}\n\treturn s\n}\n";
        assert_eq!(found("p.go", go, &["interpreted_string_literal"]), ["\"a\"", "\"b\""]);
        assert_eq!(found("p.go", go, &["int_literal"]), ["-3"]);
        let rust = "fn f(s: &str) -> u8 {\n    match s {\n        \"one\" => 1,\n        _ if s.starts_with(\"t\") => 2,\n        _ => s.parse().expect(\"a number\"),\n    }\n}\n";
        assert_eq!(found("l.rs", rust, &["string_literal"]), ["\"one\"", "\"t\""]);
        // `in (…)`, `case 'a' | 'b'`, Rust's or-patterns and negative literals.
        let python = "def g(s, n):\n    if s in ('x', 'y'):\n        return 1\n    match n:\n        case 1 | 2:\n            return 2\n";
        assert_eq!(found("m.py", python, &["string"]), ["'x'", "'y'"]);
        assert_eq!(found("m.py", python, &["integer"]), ["1", "2"]);
        let rust = "fn g(n: i8) -> u8 {\n    match n {\n        -1 | 7 => 1,\n        _ => 0,\n    }\n}\n";
        assert_eq!(found("l.rs", rust, &["integer_literal"]), ["-1", "7"]);
        // A call that writes out a default is the call without it.
        let defaults = vec![None, Some("None".to_owned()), Some("','".to_owned())];
        let calls = with_defaults(vec![vec!["100".to_owned()]], &defaults);
        assert_eq!(calls, [vec!["100"], vec!["100", "None"], vec!["100", "None", "','"]]);
        let calls = with_defaults(vec![vec!["100".to_owned(), "None".to_owned()]], &defaults);
        assert_eq!(calls, [vec!["100", "None"], vec!["100"], vec!["100", "None", "','"]], "and the other way");
        let source = "def f(value, *rest: str, sep=','):\n    return value\n";
        assert_eq!(
            python_defaults(
                doc("h.py", source).tree().expect("parses").root_node().named_child(0).expect("def"),
                source
            ),
            [None]
        );
        let source = "def intcomma(value, ndigits=None, sep=','):\n    return value\n";
        assert_eq!(
            python_defaults(
                doc("h.py", source).tree().expect("parses").root_node().named_child(0).expect("def"),
                source
            ),
            defaults
        );
    }

    /// humanize's `clamp(1, "{:.0%}", None, …)` raises Python's own
    /// `TypeError` on a `None` token: a misuse, not behaviour to pin, unless
    /// the module raises that class itself.
    #[test]
    fn python_type_errors_are_pinned_only_where_the_module_raises_them() {
        let source = "def clamp(value: int, token: str):\n    return token.format(value)\n";
        let found = target("n.py", &doc("n.py", source), 5, &[]).expect("testable");
        assert!(found.thrown.is_empty());
        let fails = |kind: &str| vec![Observed::Fails(Some(kind.into())); found.calls.len()];
        assert!(super::tests(&found, &fails("TypeError")).is_none());
        assert!(super::tests(&found, &fails("AttributeError")).is_none());
        assert!(super::tests(&found, &fails("IndexError")).is_none(), "inflection's camelize('')");
        assert!(super::tests(&found, &fails("ZeroDivisionError")).is_none());
        assert!(super::tests(&found, &fails("ValueError")).is_some());
        let raising = "def clamp(value: int, token: str):\n    if token is None:\n        raise TypeError('token')\n    return value\n";
        let found = target("n.py", &doc("n.py", raising), 5, &[]).expect("testable");
        assert_eq!(found.thrown, ["TypeError"]);
        assert!(super::tests(&found, &vec![Observed::Fails(Some("TypeError".into())); found.calls.len()]).is_some());
    }

    /// shlex's tests walk a `static` table of tuples: each row is a call
    /// the tests make.
    #[test]
    fn rust_tables_walked_by_a_loop_are_calls_the_tests_make() {
        let tests = vec!["static SPLIT_TEST_ITEMS: &[(&str, Option<&[&str]>)] = &[\n    (\"foo$baz\", Some(&[\"foo$baz\"])),\n    (\"foo baz\", Some(&[\"foo\", \"baz\"])), // two\n];\n\n#[test]\nfn test_split() {\n    for &(input, output) in SPLIT_TEST_ITEMS {\n        assert_eq!(split(input), output.map(|o| o.to_vec()));\n    }\n}\n".to_owned()];
        assert_eq!(example_calls("split", Language::Rust, &tests), [vec!["\"foo$baz\""], vec!["\"foo baz\""]]);
    }

    /// go-humanize's `FormatFloat` table: rows written by position, in the
    /// order of the struct's fields; every row is a call the tests make.
    #[test]
    fn go_table_rows_by_position_are_calls_the_tests_make() {
        let tests = vec!["package humanize\n\nfunc TestFormatFloat(t *testing.T) {\n\ttests := []struct {\n\t\tname, format string\n\t\tnum    float64 // the number\n\t\twant   string\n\t}{\n\t\t{\"default\", \"\", 12345.6789, \"12,345.68\"},\n\t\t{\"signStr = 0\", \"+#\", 0, \"+0\"},\n\t}\n\tfor _, test := range tests {\n\t\tgot := FormatFloat(test.format, test.num)\n\t\t_ = got\n\t}\n}\n".to_owned()];
        assert_eq!(
            example_calls("FormatFloat", Language::Go, &tests),
            [vec!["\"\"", "12345.6789"], vec!["\"+#\"", "0"]]
        );
        assert_eq!(
            go_struct_fields(&tests[0], tests[0].find("for _").expect("loop")).1,
            ["name", "format", "num", "want"]
        );
    }

    /// scule's `upperFirst<S extends string>(str: S)`, tested through a
    /// `test.each` table that starts with `["", ""]`: its rows are theirs,
    /// and a string of theirs in capitals, spaced and cut is new.
    #[test]
    fn a_type_parameter_takes_its_constraints_inputs_and_test_each_rows_are_theirs() {
        let source = "export function upperFirst<S extends string>(str: S): Capitalize<S> {\n  return (str ? str[0].toUpperCase() + str.slice(1) : \"\") as Capitalize<S>;\n}\n";
        let tests = vec!["import { upperFirst } from \"../src\";\n\ndescribe(\"upperFirst\", () => {\n  test.each([\n    [\"\", \"\"],\n    [\"foo\", \"Foo\"],\n  ])(\"%s => %s\", (input, expected) => {\n    expect(upperFirst(input)).toMatchObject(expected);\n  });\n});\n".to_owned()];
        let found = target("src/index.ts", &doc("src/index.ts", source), 20, &tests).expect("testable");
        assert_eq!(found.tested, [vec!["\"\""], vec!["\"foo\""]]);
        for new in ["\"FOO\"", "\" foo \"", "\"fo\""] {
            assert!(found.calls.iter().any(|c| c[0] == new), "{new}: {:?}", found.calls);
        }
    }

    /// semver's `match(version, match_expr)`: its tests pass `">=2.3.6"`;
    /// the body tells `>=`, `<=`, `==`, `!=`, `>` and `<` apart, so the
    /// same version with each other operator is an input (`"<2.3.6"`: the
    /// strict comparisons at the boundary its tests leave out).
    #[test]
    fn a_python_string_starting_with_an_operator_is_tried_with_the_others() {
        let source = "def match(version, match_expr):\n    prefix = match_expr[:2]\n    if prefix in ('>=', '<=', '==', '!='):\n        v = match_expr[2:]\n    elif prefix and prefix[0] in ('>', '<'):\n        v = match_expr[1:]\n    return v\n";
        let tests = vec![
            "def test_m():\n    assert match('2.3.7', '>=2.3.6') is True\n    assert match('2.3.7', '!=2.3.6') is True\n"
                .to_owned(),
        ];
        let found = target("semver.py", &doc("semver.py", source), 5, &tests).expect("testable");
        let exprs: Vec<&str> = found.calls.iter().filter_map(|c| c.get(1)).map(String::as_str).collect();
        for swapped in ["'<=2.3.6'", "'==2.3.6'", "'>2.3.6'"] {
            assert!(exprs.contains(&swapped), "{swapped} in {exprs:?}");
        }
        assert!(!exprs.iter().any(|e| e.starts_with("'>=>") || e.starts_with("'=2")), "{exprs:?}");
        // Nothing to swap without two operators, or without one in front.
        assert!(token_swaps(&[vec!["'a>b'".into()]], 0, &["'>'".into(), "'<'".into()]).is_empty());
        assert!(token_swaps(&[vec!["'>b'".into()]], 0, &["'>'".into()]).is_empty());
    }

    /// humanize's `clamp(value, format="{:}", floor=None, ceil=None, …)`:
    /// the arguments its tests pass by position are written by name, those
    /// equal to their defaults left out.
    #[test]
    fn python_arguments_with_defaults_are_written_by_name() {
        let source = "def clamp(value: float, format='{:}', floor=None, ceil=None, floor_token='<', ceil_token='>'):\n    return value\n";
        let tests = vec!["def test_c():\n    assert clamp(1, '{:.0%}', None, 0.99, '<', '>') == '>99%'\n".to_owned()];
        let found = target("n.py", &doc("n.py", source), 5, &tests).expect("testable");
        assert_eq!(found.keywords.iter().filter(|k| k.is_some()).count(), 5, "{:?}", found.keywords);
        let call = |args: &[&str]| written_args(&found, &args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>());
        assert_eq!(call(&["0.5", "'{:.0%}'", "None", "0.99", "'<'", "'>'"]), "0.5, format='{:.0%}', ceil=0.99");
        assert_eq!(call(&["0.5"]), "0.5");
        // Before `/`, by position.
        let positional = "def f(value: int, sep=',', /, width=3):\n    return value\n";
        let tests = vec!["def test_f():\n    assert f(1, ';', 4) == 1\n".to_owned()];
        let found = target("n.py", &doc("n.py", positional), 5, &tests).expect("testable");
        let written = written_args(&found, &["1".to_owned(), "';'".to_owned(), "4".to_owned()]);
        assert_eq!(written, "1, ';', width=4");
    }

    /// boltons' tests: `from boltons import strutils`, then
    /// `strutils.parse_int_list(…)`, and `b2h = strutils.bytes2human`.
    #[test]
    fn python_calls_through_a_module_imported_from_a_package_or_an_alias() {
        let tests = vec!["from boltons import strutils\nfrom boltons.strutils import Thing\n\n\ndef test_p():\n    b2h = strutils.bytes2human\n    assert strutils.parse_int_list('1,3') == [1, 3]\n    assert b2h(1024) == '1K'\n    assert Thing.parse_int_list('x') == 0\n".to_owned()];
        assert_eq!(example_calls("parse_int_list", Language::Python, &tests), [vec!["'1,3'"]]);
        assert_eq!(example_calls("bytes2human", Language::Python, &tests), [vec!["1024"]]);
    }

    /// Every row of a parametrized test is a call the tests make, past the
    /// eight taken as examples.
    #[test]
    fn every_parametrized_row_counts_as_tested() {
        let rows: Vec<String> = (0..22).map(|n| format!("({n}, '{n}')")).collect();
        let tests = vec![format!(
            "@pytest.mark.parametrize('x,expected', [{}])\ndef test_s(x, expected):\n    assert scientific(x) == expected\n",
            rows.join(", ")
        )];
        let source = "def scientific(value):\n    return str(value)\n";
        let found = target("h.py", &doc("h.py", source), 5, &tests).expect("testable");
        assert_eq!(found.tested.len(), 22, "{:?}", found.tested);
        assert_eq!(example_calls("scientific", Language::Python, &tests).len(), 8);
        // Theirs are observed too (all 22 here), and never proposed.
        assert_eq!(found.calls.iter().filter(|c| found.tested.contains(c)).count(), 16 + 3, "{:?}", found.calls);
        let seen: Vec<Observed> = (0..found.calls.len()).map(|n| Observed::Value(format!("'{n}'"))).collect();
        let (written, _) = super::tests(&found, &seen).expect("tests");
        assert!(!written.lines().any(|l| l.contains("scientific(") && !l.contains("scientific('")), "{written}");
        assert!(written.contains("scientific('')"), "{written}");
    }

    /// strsim's `jaro_winkler("abc", "cheese fries")`: `0.47222222222222215`
    /// within a margin; a short float exactly.
    #[test]
    fn rust_floats_with_many_decimals_are_compared_within_a_margin() {
        let target = Target {
            returns: Some("f64".into()),
            ..rust_only("jaro_winkler", &[&["\"abc\"", "\"x\""], &["\"\"", "\"\""]])
        };
        let seen = [Observed::Value(format!("{:?}", "0.47222222222222215")), Observed::Value(format!("{:?}", "0.5"))];
        let (written, _) = super::tests(&target, &seen).expect("tests");
        assert!(
            written.contains("assert!((jaro_winkler(\"abc\", \"x\") - 0.47222222222222215).abs() < 1e-9);"),
            "{written}"
        );
        assert!(written.contains("assert_eq!(jaro_winkler(\"\", \"\"), 0.5);"), "{written}");
    }

    fn rust_only(name: &str, calls: &[&[&str]]) -> Target {
        let calls = calls.iter().map(|c| c.iter().map(|a| (*a).to_owned()).collect()).collect();
        Target { calls, ..Target::new(Language::Rust, name) }
    }

    /// shlex's `try_quote(&[0])` and `try_quote(&[0, 1, 7])` both give
    /// `Err(Nul)`: said once.
    #[test]
    fn edisons_earlier_tests_are_no_inputs_to_vary_again() {
        let python = vec!["def test_other():\n    assert camelize('a_b') == 'AB'\n\n\ndef test_camelize_1():\n    assert camelize(' Camel_Case ') == ' CamelCase '\n\n\ndef test_last():\n    pass\n".to_owned()];
        let kept = without_edisons(&python, "camelize", Language::Python);
        assert_eq!(kept[0], "def test_other():\n    assert camelize('a_b') == 'AB'\n\n\ndef test_last():\n    pass\n");
        let rust = vec!["mod tests {\n    #[test]\n    fn val_1() {\n        assert_eq!(val(1), 2);\n    }\n\n    #[test]\n    fn val_theirs() {\n        assert_eq!(val(3), 4);\n    }\n}\n".to_owned()];
        let kept = without_edisons(&rust, "val", Language::Rust);
        assert!(!kept[0].contains("val(1)") && kept[0].contains("val(3)"), "{}", kept[0]);
        // Still calls the tests make: not proposed again.
        let text = "def camelize(string):\n    return string\n";
        let found = target("inflection.py", &doc("inflection.py", text), 5, &python).expect("testable");
        assert!(found.tested.contains(&vec!["' Camel_Case '".to_owned()]), "{:?}", found.tested);
        assert!(!found.calls.iter().any(|c| c[0].contains("  ")), "not varied again: {:?}", found.calls);
    }

    /// One decoder for Rust's `Debug` strings and Go's `%q`.
    #[test]
    fn literals_of_both_dialects_are_read() {
        assert_eq!(unescaped(r#""Ok(\"a\")\u{1f}\0\'""#).as_deref(), Some("Ok(\"a\")\u{1f}\0'"));
        assert_eq!(unescaped(r#" "\x41\u00e9\\" "#).as_deref(), Some("Aé\\"));
        assert_eq!(unescaped(r#""\a""#), None, "an escape neither writes");
        assert_eq!(unescaped(r#""\u{1f""#), None, "left open");
    }

    #[test]
    fn tests_are_numbered_past_those_there_already() {
        let rust = Target::new(Language::Rust, "digits");
        let tests = "    #[test]\n    fn digits_1() {\n        assert_eq!(digits(1), 1);\n    }\n\n    #[test]\n    #[should_panic]\n    fn digits_2_panics() {\n        let _ = digits(0);\n    }\n";
        let existing = "mod tests {\n    fn digits_1() {}\n    fn digits_3_panics() {}\n    fn my_digits_9() {}\n    fn digits_10x() {}\n    const S: &str = \"digits_40\";\n}\n";
        let again = renumbered(&rust, tests, existing);
        assert!(again.contains("fn digits_11() {") && again.contains("fn digits_12_panics() {"), "{again}");
        assert!(again.contains("assert_eq!(digits(1), 1);"), "a call is no name: {again}");
        assert_eq!(renumbered(&rust, tests, "fn other_1() {}"), tests, "nothing there: as written");
        let go = Target::new(Language::Go, "Parse");
        let renamed = renumbered(&go, "func TestParse_1(t *testing.T) {}\n", "func TestParse_2(t *testing.T) {}\n");
        assert_eq!(renamed, "func TestParse_3(t *testing.T) {}\n");
        let python = Target::new(Language::Python, "parse");
        let renamed = renumbered(&python, "def test_parse_1_raises():\n", "def test_parse_1():\n");
        assert_eq!(renamed, "def test_parse_2_raises():\n");
    }

    #[test]
    fn a_rust_error_is_said_once() {
        let target = Target {
            returns: Some("Result<u8, QuoteError>".into()),
            patterns: vec!["QuoteError::Nul".into()],
            ..rust_only("try_quote", &[&["&[0]"], &["&[0, 1, 7]"], &["&[]"]])
        };
        let err = Observed::Value(format!("{:?}", "Err(Nul)"));
        let other = Observed::Value(format!("{:?}", "Err(Nul { at: 1 })"));
        let (written, count) = tests(&target, &[err, other, Observed::Value(format!("{:?}", "Ok(2)"))]).expect("tests");
        assert_eq!(count, 2, "{written}");
        assert!(written.contains("assert!(matches!(try_quote(&[0]), Err(QuoteError::Nul)));"), "{written}");
        assert!(written.contains("assert_eq!(try_quote(&[]).unwrap(), 2);"), "{written}");
    }

    /// semver's `Version::new`, fnv's `FnvHasher::with_key` and `default`:
    /// associated functions are called through their type; methods and a
    /// generic impl's functions are not offline.
    #[test]
    fn an_associated_function_is_called_through_its_type() {
        let text = "pub struct Version { pub major: u64 }\n\nimpl Version {\n    pub fn new(major: u64) -> Self {\n        Version { major }\n    }\n\n    pub fn major(&self) -> u64 {\n        self.major\n    }\n}\n\nimpl Default for Version {\n    fn default() -> Version {\n        Version { major: 0 }\n    }\n}\n\nimpl<'a> Parser<'a> {\n    pub fn parse(s: &'a str) -> Option<u8> {\n        None\n    }\n}\n\nimpl<T> Wrapper<T> {\n    pub fn wrap(n: u8) -> u8 {\n        n\n    }\n}\n";
        let tests = vec![
            "#[test]\nfn t() {\n    assert_eq!(Version::new(3).major, 3);\n    assert_eq!(other::new(9), 9);\n}\n"
                .to_owned(),
        ];
        let at = |needle: &str| text.find(needle).expect("in the text");
        let new = target("src/lib.rs", &doc("src/lib.rs", text), at("pub fn new"), &tests).expect("testable");
        assert_eq!(new.called(), "Version::new");
        assert_eq!(new.returns.as_deref(), Some("Version"), "Self is the type");
        assert!(
            new.tested.contains(&vec!["3".to_owned()]) && !new.tested.contains(&vec!["9".to_owned()]),
            "{:?}",
            new.tested
        );
        let probe = rust_probe(&new);
        assert!(probe.contains("Version::new(0)"), "{probe}");
        let default = target("src/lib.rs", &doc("src/lib.rs", text), at("fn default"), &[]).expect("testable");
        assert_eq!(default.called(), "<Version as Default>::default", "through the trait");
        assert_eq!(default.imported(), Some("Version"));
        let parse = target("src/lib.rs", &doc("src/lib.rs", text), at("pub fn parse"), &[]).expect("testable");
        assert_eq!(parse.called(), "Parser::parse");
        let refused =
            |needle: &str| target("src/lib.rs", &doc("src/lib.rs", text), at(needle), &[]).expect_err("refused");
        assert!(refused("pub fn major").contains("is a method"));
        let constants = "pub const CONTROLS: &AsciiSet = &AsciiSet {};\npub const NON_ALPHANUMERIC: &AsciiSet = &CONTROLS;\nconst N: usize = 3;\n\npub fn percent_encode<'a>(input: &'a [u8], ascii_set: &'static AsciiSet) -> PercentEncode<'a> {\n    todo()\n}\n";
        let encode = target("src/lib.rs", &doc("src/lib.rs", constants), constants.find("pub fn").expect("fn"), &[])
            .expect("testable");
        assert!(encode.calls.iter().any(|c| c[1] == "NON_ALPHANUMERIC"), "{:?}", encode.calls);
        assert_eq!(rust_values("&Path", &[], &[], "").expect("paths")[0], "Path::new(\"\")");
        assert_eq!(
            rust_values("&std::ffi::OsStr", &[], &[], "").expect("paths")[1],
            "std::ffi::OsStr::new(\"a/b.txt\")"
        );
        assert_eq!(rust_values("&[u8; 4]", &[], &[], "").expect("bytes"), ["&[0; 4]", "&[b'a'; 4]"]);
        let lifetimes = "pub fn first<'a>(s: &'a str) -> &'a str {\n    s\n}\n";
        assert!(target("src/lib.rs", &doc("src/lib.rs", lifetimes), 8, &[]).is_ok(), "a lifetime is no generic");
        assert!(refused("pub fn wrap").contains("belongs to a generic impl"), "{}", refused("pub fn wrap"));
    }

    /// hex's `val`: the bytes it matches are its inputs, not only numbers
    /// that all miss every range.
    #[test]
    fn a_byte_takes_the_characters_the_body_matches() {
        let text = "fn val(c: u8, idx: usize) -> Result<u8, FromHexError> {\n    match c {\n        b'A'..=b'F' => Ok(c - b'A' + 10),\n        b'0'..=b'9' => Ok(c - b'0'),\n        _ => Err(FromHexError::InvalidHexCharacter { c: c as char, index: idx }),\n    }\n}\n";
        let target = target("src/lib.rs", &doc("src/lib.rs", text), 3, &[]).expect("testable");
        for byte in ["b'A'", "b'F'", "b'0'"] {
            assert!(target.calls.iter().any(|c| c[0] == byte), "{byte}: {:?}", target.calls);
        }
        let text = "fn wildcard(input: &str) -> Option<u8> {\n    match input.as_bytes().first() {\n        Some(b'*' | b'x') => Some(1),\n        Some(b'\\\\') => None,\n        _ => None,\n    }\n}\n";
        let wildcard = super::target("src/lib.rs", &doc("src/lib.rs", text), 3, &[]).expect("testable");
        assert!(wildcard.calls.iter().any(|c| c[0] == "\"*\""), "{:?}", wildcard.calls);
        assert!(wildcard.calls.iter().any(|c| c[0] == "\"x\""), "{:?}", wildcard.calls);
        assert!(!wildcard.calls.iter().any(|c| c[0].contains('\\')), "{:?}", wildcard.calls);
        let text = "fn replace_plus(input: &[u8]) -> u8 {\n    if input[0] == b'+' { 1 } else { 0 }\n}\n";
        let plus = super::target("src/lib.rs", &doc("src/lib.rs", text), 3, &[]).expect("testable");
        assert!(plus.calls.iter().any(|c| c[0] == "b\"a+b\""), "{:?}", plus.calls);
        // An earlier answer's byte arguments are calls the tests make.
        let tests = vec![
            "#[test]\nfn t() {\n    assert!(is_token(b'A'));\n    assert_eq!(decode(b\"a+b\"), 1);\n}\n".to_owned(),
        ];
        assert_eq!(every_example_call("is_token", Language::Rust, &tests), [vec!["b'A'".to_owned()]]);
        assert_eq!(every_example_call("decode", Language::Rust, &tests), [vec!["b\"a+b\"".to_owned()]]);
    }

    #[test]
    fn rust_inputs_come_from_types_and_the_body() {
        let text = "pub fn grade(score: u32, name: &str) -> String {\n    if score > 90 { return format!(\"{name}: A\"); }\n    format!(\"{name}: B\")\n}\n";
        let target = target("src/lib.rs", &doc("src/lib.rs", text), 20, &[]).expect("testable");
        assert_eq!(target.calls[0], ["0", "\"\""]);
        assert!(target.calls.iter().any(|c| c[0] == "90"), "{:?}", target.calls);
        let probe = rust_probe(&target);
        assert!(probe.contains("format!(\"{:?}\", grade(0, \"\"))"), "{probe}");
        let seen = observed(&target, &format!("{MARK} 0 \"\\\": B\\\"\"\n{MARK} 1 panic\nnoise\n"));
        assert_eq!(seen[0], Observed::Value("\"\\\": B\\\"\"".into()));
        assert_eq!(seen[1], Observed::Fails(None));
        let (tests, count) = tests(&target, &seen).expect("tests");
        assert_eq!(count, 2);
        assert!(tests.contains("assert_eq!(grade(0, \"\"), \": B\");"), "{tests}");
        assert!(tests.contains("#[should_panic]"), "{tests}");
        // A deliberate panic's message is expected.
        let seen = observed(&target, &format!("{MARK} 0 panic \"grade out of range\"\n{MARK} 1 panic \"\"\n"));
        assert_eq!(seen[0], Observed::Fails(Some("\"grade out of range\"".into())));
        assert_eq!(seen[1], Observed::Fails(None), "no message: none expected");
        let (tests, _) = super::tests(&target, &seen).expect("tests");
        assert!(tests.contains("#[should_panic(expected = \"grade out of range\")]"), "{tests}");
    }

    /// The code the probe runs could print anything: only literals become tests.
    #[test]
    fn parametrized_argument_lists_are_splatted_and_rows_come_from_across_the_table() {
        let tests = vec![
            "import humanize\n\n@pytest.mark.parametrize(\n    \"test_args, expected\",\n    [\n        ([100], \"100\"),\n        ([\"1000\"], \"1,000\"),\n        ([1234.5454545, 2], \"1,234.55\"),\n        ([\"a, b\", None], \"x\"),\n    ],\n)\ndef test_intcomma(test_args: list[int], expected: str) -> None:\n    assert humanize.intcomma(*test_args) == expected\n".to_owned(),
        ];
        let calls = example_calls("intcomma", Language::Python, &tests);
        assert_eq!(calls, [vec!["100"], vec!["\"1000\""], vec!["1234.5454545", "2"], vec!["\"a, b\"", "None"]]);
        assert_eq!(python_sequence_items("(1, (2, 3), 'x')").expect("a tuple"), ["1", "(2, 3)", "'x'"]);
        assert_eq!(python_sequence_items("[1, 2"), None);
        assert_eq!(python_sequence_items("(\"1000\")"), None, "a string in parentheses");
        assert_eq!(python_sequence_items("(\"1000\",)").expect("a tuple"), ["\"1000\""]);
        // Twenty rows: eight of them, the last among them.
        let rows: String = (1..=20).map(|n| format!("        ({n}, \"{n}\"),\n")).collect();
        let table = vec![format!(
            "@pytest.mark.parametrize(\n    \"n, expected\",\n    [\n{rows}    ],\n)\ndef test_ordinal(n, expected):\n    assert ordinal(n) == expected\n"
        )];
        let calls = example_calls("ordinal", Language::Python, &table);
        assert_eq!(calls.len(), 8);
        assert_eq!((calls[0][0].as_str(), calls[7][0].as_str()), ("1", "20"));
    }

    #[test]
    fn calls_after_a_change_of_state_are_not_examples() {
        let tests = vec![
            "import humanize\n\ndef test_de():\n    humanize.i18n.activate(\"de_DE\")\n    assert humanize.intcomma(\"1.234.567,8\") == \"1.234.567,8\"\n\n@freeze_time(\"2020-01-01\")\ndef test_time():\n    assert humanize.intcomma(5) == \"5\"\n\ndef test_plain():\n    assert humanize.intcomma(1000) == \"1,000\"\n".to_owned(),
        ];
        assert_eq!(example_calls("intcomma", Language::Python, &tests), [vec!["1000".to_owned()]]);
        // A name that only ends so changes nothing (semver's `bump_patch`).
        let semver = vec!["def test_should_bump_patch():\n    assert bump_patch(\"3.4.5\") == \"3.4.6\"\n".to_owned()];
        assert_eq!(example_calls("bump_patch", Language::Python, &semver), [vec!["\"3.4.5\"".to_owned()]]);
    }

    #[test]
    fn doc_examples_show_each_distinct_value_first_as_the_language_writes_it() {
        let target = |language: Language, returns: &str, calls: &[&str]| Target {
            calls: calls.iter().map(|c| vec![(*c).to_owned()]).collect(),
            returns: Some(returns.into()),
            module: Some("p".into()),
            ..Target::new(language, "f")
        };
        let shown = |examples: Vec<super::super::document::Example>| {
            examples.into_iter().map(|e| format!("{} = {}", e.call, e.value)).collect::<Vec<_>>()
        };
        let ts = target(Language::TypeScript, "", &["1", "2", "3", "3"]);
        let seen = [true, true, false, true].map(|b| Observed::Value(b.to_string()));
        assert_eq!(shown(doc_examples(&ts, &seen, &[])), ["f(1) = true", "f(3) = false", "f(2) = true"]);
        // Rust: the `Debug` form, not the string literal holding it; one that is no JSON string is left out.
        let rust = target(Language::Rust, "Option<u8>", &["1", "2"]);
        let seen = [Observed::Value(r#""Some(1)""#.into()), Observed::Value(r#""\u{1b}""#.into())];
        assert_eq!(shown(doc_examples(&rust, &seen, &[])), ["f(1) = Some(1)"]);
        // Go: several results, and a nil error said.
        let go = target(Language::Go, "(string, error)", &["1"]);
        assert_eq!(shown(doc_examples(&go, &[Observed::Value("\"a\"".into())], &[])), ["f(1) = \"a\" and a nil error"]);
        // Python: what raised or cannot be written is no example; nor, in a
        // doctest, `None` (shown as nothing), a set (its order varies) or a
        // call that printed. In the order the calls ran.
        let py = target(Language::Python, "", &["1", "2", "3", "4", "5", "6", "7"]);
        let seen = ["'x'", "'y'", "None", "{'a', 'b'}", "{'a': 1}", "'z'", "'x'"].map(|v| Observed::Value(v.into()));
        let printed = [false, false, false, false, false, true];
        assert_eq!(
            shown(doc_examples(&py, &seen, &printed)),
            ["f(1) = 'x'", "f(2) = 'y'", "f(5) = {'a': 1}", "f(7) = 'x'"]
        );
        let seen = [Observed::Fails(Some("ValueError".into())), Observed::Opaque];
        assert!(doc_examples(&target(Language::Python, "", &["1", "2"]), &seen, &[]).is_empty());
        let stdout = format!("{MARK} []\n{PRINTED} [true, false]\n");
        assert_eq!(super::printed(&target(Language::Python, "", &["1", "2", "3"]), &stdout), [true, false, false]);
    }

    #[test]
    fn forged_observations_never_become_code() {
        assert!(is_python_literal("[1, 'a', b'x', None, (2.5, -3), {'k': True}]"));
        for forged in ["1 or __import__('os').system('x')", "open('f')", "x", "1; import os", "'a' 'b'\nx"] {
            assert!(!is_python_literal(forged), "{forged}");
        }
        assert!(is_rust_string_literal("\"\\\"a\\\" + 1\""));
        assert!(!is_rust_string_literal("\"a\" + evil() + \"b\""));
        let text = "pub fn name(n: u32) -> String {\n    n.to_string()\n}\n";
        let target = target("src/lib.rs", &doc("src/lib.rs", text), 10, &[]).expect("testable");
        let forged = format!(
            "{MARK} 0 \"\\\"a\\\" + &std::process::Command::new(\\\"x\\\").status().is_ok().to_string() + \\\"\\\"\"\n"
        );
        let seen = observed(&target, &forged);
        let (tests, _) = tests(&target, &seen).expect("tests");
        assert!(!tests.contains("Command::new(\"x\")"), "injected code: {tests}");
        let python = target_py();
        let seen = observed(
            &python,
            &format!("{MARK} [{{\"value\": \"__import__('os').system('x')\"}}, {{\"raises\": \"E(); import os\"}}]"),
        );
        assert_eq!(seen[..2], [Observed::Opaque, Observed::Opaque]);
    }

    #[test]
    fn a_table_driven_tests_rows_are_its_inputs() {
        let ts = r#"
  it("throws", () => {
    const testCases = [
      { input: "{     ", output: "Expected property name" },
      { input: '"  x', output: "Unterminated" },
      { input: someValue(), output: "not a literal" },
    ];
    for (const testCase of testCases) {
      expect(() => safeDestr(testCase.input)).toThrowError(testCase.output);
    }
  });
"#;
        assert_eq!(
            example_calls("safeDestr", Language::TypeScript, &[ts.to_owned()]),
            [vec![r#""{     ""#.to_owned()], vec![r#"'"  x'"#.to_owned()]]
        );
        // Go: keyed rows, a field beside a literal argument.
        let go = "func TestF(t *testing.T) {\n\ttests := []struct{ in string; want int }{\n\t\t{in: \"a,b\", want: 2},\n\t\t{want: 0, in: \"\"},\n\t}\n\tfor _, tt := range tests {\n\t\tif got := Count(tt.in, 1); got != tt.want {\n\t\t\tt.Fail()\n\t\t}\n\t}\n}\n";
        assert_eq!(
            example_calls("Count", Language::Go, &[go.to_owned()]),
            [vec!["\"a,b\"".to_owned(), "1".to_owned()], vec!["\"\"".to_owned(), "1".to_owned()]]
        );
        // A call on something else than a row's field: nothing.
        assert!(example_calls("Count", Language::Go, &["Count(x.y.z)".to_owned()]).is_empty());
    }

    #[test]
    fn a_serializer_parameter_takes_the_standard_librarys_and_imports_them() {
        let text = "import typing as t\n\ndef is_text_serializer(serializer: t.Any) -> bool:\n    return isinstance(serializer.dumps({}), str)\n";
        let target = target("itsdangerous.py", &doc("itsdangerous.py", text), 40, &[]).expect("testable");
        assert_eq!(target.calls, [vec!["json".to_owned()], vec!["pickle".to_owned()]]);
        assert_eq!(target.imports, [("json".to_owned(), String::new()), ("pickle".to_owned(), String::new())]);
        assert!(python_probe(&target).contains("\nimport json\nimport pickle\n"));
        let seen = [Observed::Value("True".into()), Observed::Value("False".into())];
        let (tests, _) = tests(&target, &seen).expect("tests");
        assert!(tests.contains("assert is_text_serializer(json) is True\n"), "{tests}");
        assert!(tests.contains("assert is_text_serializer(pickle) is False\n"), "{tests}");
        // What pickle wrote is not asserted byte for byte (protocol 4 today, 5 on 3.14).
        let seen = [Observed::Value("'{}'".into()), Observed::Value("b'\\x80\\x04}\\x94.'".into())];
        let (tests, count) = super::tests(&target, &seen).expect("tests");
        assert!(count == 1 && !tests.contains("pickle"), "{tests}");
    }

    #[test]
    fn a_parameter_with_a_default_takes_what_the_tests_pass_it() {
        let text = "def main(cliargs=None):\n    return run(cliargs)\n\n\ndef bump(text, token='rc', n=1):\n    return text.upper()\n";
        let tests = ["def test_main():\n    assert main(['bump', 'major', '1.2.3']) == 0\n    with pytest.raises(SystemExit):\n        main([])\n"
            .to_owned()];
        let main = target("semver.py", &doc("semver.py", text), 5, &tests).expect("testable");
        let mut calls = main.calls.clone();
        calls.sort();
        assert_eq!(calls, [vec!["['bump', 'major', '1.2.3']".to_owned()], vec!["[]".to_owned()]]);
        // No test passes it: its default, and the ones after it too.
        let bump = target("semver.py", &doc("semver.py", text), 50, &[]).expect("testable");
        assert!(bump.calls.iter().all(|c| c.len() == 1), "{:?}", bump.calls);
        assert!(python_probe(&main).contains("except (Exception, SystemExit) as error:"));
    }

    #[test]
    fn rust_values_of_the_files_own_enums_and_types_with_new_or_default() {
        let file = "#[derive(Copy, Clone)]\nenum CharSpecifier {\n    SingleChar(char),\n    CharRange(char, char),\n    /// Any.\n    Any,\n    Named { x: u8 },\n}\n\n#[derive(Debug, Default)]\npub struct Opts {\n    pub a: bool,\n}\n\npub struct Built;\n\nimpl Built {\n    pub fn new() -> Self {\n        Built\n    }\n}\n";
        let of = |ty: &str| rust_values(ty, &[], &[], file);
        assert_eq!(
            of("CharSpecifier").expect("an enum"),
            ["CharSpecifier::SingleChar('a')", "CharSpecifier::CharRange('a', 'a')", "CharSpecifier::Any"]
        );
        assert_eq!(of("&[CharSpecifier]").expect("a slice")[2], "&[CharSpecifier::SingleChar('a')]");
        assert_eq!(of("Opts").expect("Default"), ["Opts::default()"]);
        assert_eq!(of("&Built").expect("new()"), ["&Built::new()"]);
        assert_eq!(of("Elsewhere"), None);
        assert_eq!(of("&mut Built"), None);
        // An enum inside a module ends at its own brace; a variant with a comment is read.
        let nested = "mod shapes {\n    pub enum Shape {\n        Dot, // a point\n        Line(u8), // a length\n        Odd(std::path::PathBuf),\n        Many(Vec<String>),\n    }\n\n    pub fn describe(s: Shape) -> u8 {\n        0\n    }\n}\n";
        assert_eq!(
            rust_values("Shape", &[], &[], nested).expect("an enum"),
            ["Shape::Dot", "Shape::Line(0)", "Shape::Many(vec![])"]
        );
        // `Opts` shows only `pub` fields; a struct with private ones is asserted by its variant.
        let file = "pub struct Paths {\n    dir: Vec<u8>,\n    pub n: usize,\n}\npub struct Opts {\n    pub a: bool,\n}\npub struct Unit;\n";
        assert_eq!(rust::hidden_types(file), ["Paths"]);
        // The clocks' `Debug` is the platform's: asserted by variant too.
        assert_eq!(
            rust::hidden_types("use std::time::SystemTime;\npub fn parse(s: &str) -> Result<SystemTime, E> {}\n"),
            ["SystemTime"]
        );
        assert!(rust::shows_hidden("\"Ok(SystemTime { tv_sec: 0, tv_nsec: 0 })\"", &["SystemTime".to_owned()]));
        let target = Target {
            calls: vec![vec!["\"a\"".into()], vec!["\"[\"".into()]],
            returns: Some("Result<Paths, PatternError>".into()),
            hidden: rust::hidden_types(file),
            ..Target::new(Language::Rust, "glob_with")
        };
        let seen = [
            Observed::Value(r#""Ok(Paths { dir: [], n: 0 })""#.into()),
            Observed::Value(r#""Err(PatternError { pos: 0 })""#.into()),
        ];
        let (tests, _) = tests(&target, &seen).expect("tests");
        // Several inputs that are all `Ok(Paths { … })`: one `is_ok()` test, not one each.
        let many =
            Target { calls: vec![vec!["\"a\"".into()], vec!["\"b\"".into()], vec!["\"c\"".into()]], ..target.clone() };
        let oks = [
            Observed::Value(r#""Ok(Paths { dir: [1], n: 0 })""#.into()),
            Observed::Value(r#""Ok(Paths { dir: [2], n: 0 })""#.into()),
            Observed::Value(r#""Ok(Paths { dir: [3], n: 0 })""#.into()),
        ];
        let (one, count) = super::tests(&many, &oks).expect("a test");
        assert_eq!(count, 1, "{one}");
        assert!(tests.contains("assert!(glob_with(\"a\").is_ok());"), "{tests}");
        assert!(
            tests.contains(r#"assert_eq!(format!("{:?}", glob_with("[")), "Err(PatternError { pos: 0 })");"#),
            "{tests}"
        );
    }

    #[test]
    fn a_go_crash_is_not_pinned_a_deliberate_panic_is() {
        let target = Target {
            calls: vec![vec!["nil".into()], vec!["errors.New(\"x\")".into()]],
            returns: Some("string".into()),
            module: Some("p".into()),
            ..Target::new(Language::Go, "Message")
        };
        let seen = observed(&target, &format!("{MARK} 0 crash\n{MARK} 1 panic\n"));
        assert_eq!(seen, [Observed::Opaque, Observed::Fails(None)]);
    }

    fn target_py() -> Target {
        let text = "def f(n: int) -> int:\n    return n\n";
        target("m.py", &doc("m.py", text), 5, &[]).expect("testable")
    }

    #[test]
    fn what_needs_a_model_says_so() {
        let method = "struct S;\nimpl S {\n    fn f(&self) -> u8 { 1 }\n}\n";
        assert!(target("src/lib.rs", &doc("src/lib.rs", method), 30, &[]).expect_err("refused").contains("method"));
        let generic = "fn f<T>(x: T) -> T { x }\n";
        assert!(target("src/lib.rs", &doc("src/lib.rs", generic), 10, &[]).expect_err("refused").contains("generic"));
        let custom = "fn f(x: Config) -> u8 { 1 }\n";
        assert!(target("src/lib.rs", &doc("src/lib.rs", custom), 10, &[]).expect_err("refused").contains("`Config`"));
        let nothing = "fn f(x: u8) { println!(\"{x}\") }\n";
        assert!(
            target("src/lib.rs", &doc("src/lib.rs", nothing), 10, &[])
                .expect_err("refused")
                .contains("returns nothing")
        );
    }

    #[test]
    fn python_calls_observe_values_and_builtin_exceptions() {
        let text = "def slug(text: str, width: int) -> str:\n    if width < 0:\n        raise ValueError('width')\n    return text[:width]\n";
        let target = target("src/pkg/util.py", &doc("src/pkg/util.py", text), 10, &[]).expect("testable");
        assert_eq!(target.module.as_deref(), Some("pkg.util"));
        assert!(python_probe(&target).contains("from pkg.util import slug"));
        // One factor at a time: the text moves, then the width.
        assert_eq!(target.calls[0], ["''", "0"]);
        assert!(target.calls.iter().any(|c| c == &["''", "-7"]) && target.calls.iter().any(|c| c[0] == "'abc'"));
        assert!(!target.calls.iter().any(|c| c[0] == "'width'"), "an error's message is no input");
        let negative = target.calls.iter().position(|c| c[1] == "-7").expect("a negative width");
        let items: Vec<&str> = (0..target.calls.len())
            .map(|i| {
                if i == negative {
                    r#"{"raises": "ValueError"}"#
                } else if i == 1 {
                    r#"{"value": null}"#
                } else {
                    r#"{"value": "''"}"#
                }
            })
            .collect();
        let seen = observed(&target, &format!("{MARK} [{}]", items.join(", ")));
        assert_eq!(seen[1], Observed::Opaque);
        let (tests, count) = tests(&target, &seen).expect("tests");
        // Two tests of the value `''` at most: the others say nothing new.
        assert_eq!(count, 3, "{tests}");
        assert_eq!(tests.matches("== ''").count(), 2, "{tests}");
        assert!(tests.contains("def test_slug_1():\n    assert slug('', 0) == ''"), "{tests}");
        assert!(tests.contains("_raises():\n    with pytest.raises(ValueError):\n        slug('', -7)"), "{tests}");
        assert!(!tests.contains("slug('abc', 0)"), "nothing is asserted of an opaque value: {tests}");
    }

    /// A value of one of the module's classes, as its `repr` builds it with
    /// literal arguments, is asserted as that construction, the class imported.
    #[test]
    fn python_values_of_the_modules_own_classes() {
        let text = "def parse(version: str) -> 'Info':\n    return Info(*version.split('.'))\n";
        let target = target("semver.py", &doc("semver.py", text), 5, &[]).expect("testable");
        let probe = python_probe(&target);
        assert!(probe.contains("sys.modules.get(\"semver\")") && probe.contains("cls(*args, **kwargs) == value"));
        let info = "Info(major=1, minor='2', tags=['a, b'], build=None)";
        assert!(is_python_construction(info, "Info"));
        assert!(is_python_construction("Info()", "Info") && is_python_construction("Info(1, 'x,)')", "Info"));
        // What a hostile `__repr__` could print, as a bare value too.
        for bad in ["'''x' '''+__import__(\"os\").system(\"id\")+''' ' '''", "'a' 'b'", "'a'+'b'", "'a'.join([])"] {
            assert!(!is_python_literal(bad), "{bad}");
        }
        assert!(is_python_literal("{'a': [1, 'b'], 'c': ('d',)}") && is_python_literal("b'x'"));
        for bad in [
            "Info(major=os.system('x'))",
            "Info(major=1) + 1",
            "Other(major=1)",
            "Info(**{'a': 1})",
            "Info(major=[1)",
            "Info(x='a)",
            "Info(1)(2)",
            "Info(1), (2)",
            "Info(0)-0or(1)",
            "Info(1=2)",
            "Info(if=2)",
            "Info(a='''x' '''+__import__(\"os\").system(\"id\")+''' ' ''')",
        ] {
            assert!(!is_python_construction(bad, "Info"), "{bad}");
        }
        let line = serde_json::json!([{"value": info, "class": "Info"}, {"value": "Info(x=f())", "class": "Info"}, {"value": "Info(1)", "class": "os.system"}]);
        let seen =
            observed(&Target { calls: vec![vec!["'1.2'".into()]; 3], ..target.clone() }, &format!("{MARK} {line}"));
        assert_eq!(seen, [Observed::Value(info.into()), Observed::Opaque, Observed::Opaque]);
        assert_eq!(value_imports(&target, &seen), [("semver".to_owned(), "Info".to_owned())]);
        assert!(value_imports(&target, &[Observed::Value("(1, 2)".into()), Observed::Value("b'x'".into())]).is_empty());
    }

    #[test]
    fn inputs_come_from_the_projects_own_tests_first() {
        let tests = vec![
            "def test_bump():\n    assert bump('3.4.5') == '4.0.0'\n    assert bump(version='1.0.0') == '2.0.0'\n    assert bump(make()) == 'x'\n".to_owned(),
            "def test_other():\n    assert bump(\"0.1.0\") == '1.0.0'\n".to_owned(),
            "@pytest.mark.parametrize(\"version,expected\", [(\"1.2.3\", {\"major\": 1}), (\"0.0.1\", {})])\ndef test_p(version, expected):\n    assert bump(version) == expected\n".to_owned(),
        ];
        assert_eq!(
            example_calls("bump", Language::Python, &tests),
            [vec!["version='1.0.0'"], vec!["'3.4.5'"], vec!["\"0.1.0\""], vec!["\"1.2.3\""], vec!["\"0.0.1\""]],
            "plain calls, by keyword too, and a parametrized test's rows"
        );
        // Keywords in their places, defaults between (an earlier answer's
        // `camelize('Camel_Case', uppercase_first_letter=False)` is a call theirs make).
        let parameters = [
            ("string".to_owned(), None),
            ("upper".to_owned(), Some("True".to_owned())),
            ("sep".to_owned(), Some("'_'".to_owned())),
        ];
        let call = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<String>>();
        assert_eq!(
            python_positional(
                vec![
                    call(&["'a'", "sep='-'"]),
                    call(&["string='b'"]),
                    call(&["'c'", "flag=1"]),
                    call(&["upper=False", "'d'"])
                ],
                &parameters
            ),
            [call(&["'a'", "True", "'-'"]), call(&["'b'"])],
            "an unknown keyword, or a position after a keyword, leaves the call out"
        );
        // Through the package the test imports (python-humanize's tests).
        let through = vec![
            "import humanize\nimport pytest\n\n\n@pytest.mark.parametrize(\n    \"test_input, expected\",\n    [\n        (\"1\", \"1st\"),\n        (\"2\", \"2nd\"),\n    ],\n)\ndef test_ordinal(test_input: str, expected: str) -> None:\n    assert humanize.ordinal(test_input) == expected\n\n\ndef test_other(thing) -> None:\n    assert thing.ordinal(3) == 'x'\n".to_owned(),
        ];
        assert_eq!(
            example_calls("ordinal", Language::Python, &through),
            [vec!["\"1\""], vec!["\"2\""]],
            "the module's function, not a method of something else of that name"
        );
        // `version` says nothing of its type; the tests' calls do.
        let text = "def bump(version):\n    return version\n";
        let found = target("semver.py", &doc("semver.py", text), 5, &tests).expect("testable");
        assert_eq!(
            found.calls,
            [
                vec!["'1.0.0'"],
                vec!["'3.4.5'"],
                vec!["\"0.1.0\""],
                vec!["' 1.0.0 '"],
                vec!["'1.0'"],
                vec!["''"],
                vec!["\"1.2.3\""],
                vec!["\"0.0.1\""],
            ],
            "the tests' inputs first (`version='1.0.0'` in its place), then a spaced and a cut one of theirs, then the rest of theirs"
        );
        assert_eq!(found.tested.len(), 5, "every call the tests make, not only the first three: {:?}", found.tested);
        let rust = vec![
            "#[test]\nfn t() {\n    assert!(chars_eq('a', 'A', true));\n    assert!(!chars_eq('a', 'b', x));\n}\n"
                .to_owned(),
        ];
        assert_eq!(example_calls("chars_eq", Language::Rust, &rust), [vec!["'a'", "'A'", "true"]]);
        // Untyped Python parameters: what the body does with them.
        let text = "def cmp(a, b):\n    return (a > b) - (a < b)\n\ndef nat(a):\n    return a.isdigit()\n\ndef keys(d1):\n    return d1.get('major')\n";
        let calls = |byte: usize| target("m.py", &doc("m.py", text), byte, &[]).expect("testable").calls;
        assert_eq!(calls(5)[0], ["0", "0"]);
        assert_eq!(calls(text.find("nat").expect("nat"))[0], ["''"]);
        assert_eq!(calls(text.find("keys").expect("keys")), [vec!["{}"], vec!["{'major': 1}"]]);
        // `isinstance`: the built-in kind the body handles; a class of the project's is no input.
        let text = "def to_dict(obj):\n    if isinstance(obj, Version):\n        return obj.as_dict()\n    elif isinstance(obj, (tuple, list)):\n        return Version(*obj).as_dict()\n    return obj\n";
        let found = target("m.py", &doc("m.py", text), 4, &[]).expect("testable");
        assert_eq!(found.calls, [vec!["()"], vec!["(1, 2, 3)"]]);
        let only_class = "def f(obj):\n    if isinstance(obj, Version):\n        return 1\n";
        assert!(target("m.py", &doc("m.py", only_class), 4, &[]).is_err(), "an instance of Version takes a model");
        // Parsed command-line arguments: a `Namespace` as the project's tests build one.
        let cli = "def cmd_bump(args):\n    if args.bump is None:\n        args.parser.print_help()\n    return bump(args.version, args.bump)\n\ndef process(args):\n    return args.func(args)\n";
        let tests = vec![
            "from argparse import Namespace\nROWS = [(cmd_bump, Namespace(bump=\"major\", version=\"1.2.3\"), ok), (cmd_check, Namespace(version=\"1.2\"), no), (cmd_bump, Namespace(bump=open('x'), version='1'), no)]\n".to_owned(),
        ];
        let found = target("semver.py", &doc("semver.py", cli), 4, &tests).expect("testable");
        assert_eq!(
            found.calls,
            [vec!["Namespace(bump=\"major\", version=\"1.2.3\")"]],
            "every field it reads, literals only"
        );
        let check = "def cmd_check(args):\n    return valid(args.version)\n";
        let found = target("semver.py", &doc("semver.py", check), 4, &tests).expect("testable");
        assert_eq!(
            found.calls,
            [vec!["Namespace(version=\"1.2\")"], vec!["Namespace(bump=\"major\", version=\"1.2.3\")"]],
            "its own first, then others' that set its fields"
        );
        assert_eq!(found.imports, [("argparse".to_owned(), "Namespace".to_owned())]);
        assert!(python_probe(&found).contains("from argparse import Namespace\n"));
        let process = cli.find("def process").expect("process") + 4;
        assert!(
            target("semver.py", &doc("semver.py", cli), process, &tests).is_err(),
            "a method called on it: not a record"
        );
        // Go: the package's own values and byte slices, as its tests pass them.
        let go_tests = vec![
            "package uuid\n\nfunc TestMD5(t *testing.T) {\n\tuuid := NewMD5(NameSpaceDNS, []byte(\"python.org\")).String()\n\tx := NewMD5(local, b)\n}\n"
                .to_owned(),
        ];
        let text = "package uuid\n\nfunc NewMD5(space UUID, data []byte) UUID {\n\treturn NewHash(md5.New(), space, data, 3)\n}\n";
        let found = target("hash.go", &doc("hash.go", text), 20, &go_tests).expect("testable");
        assert_eq!(found.calls[0], ["NameSpaceDNS", "[]byte(\"python.org\")"]);
        assert!(found.calls.iter().all(|c| c[0] == "NameSpaceDNS"), "no other UUID to choose: {:?}", found.calls);
    }
}
