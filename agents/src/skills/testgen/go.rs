//! Go: the function's inputs from its parameter types (and the literals its
//! body and the package's tests use), a `_test.go` probe in its package that
//! prints what each call returned as Go syntax (`%#v`), and table-free tests
//! in the package's own style (`if got := F(x); got != want { t.Errorf(…) }`).

use context::Language;
use tree_sitter::Node;

use super::{MARK, Mutated, Observed, Target, calls, compared_literals_in, unescaped, with_examples};

/// The Go result types a test can compare with `!=` and write as a literal.
const BASIC: [&str; 16] = [
    "string", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "byte",
    "rune", "float32", "float64",
];

pub(super) fn target(name: &str, node: Node<'_>, text: &str, examples: &[Vec<String>]) -> Result<Target, String> {
    if node.child_by_field_name("type_parameters").is_some() {
        return Err(format!("`{name}` is generic: its inputs take a model to choose"));
    }
    let package = package_of(node, text).ok_or("the file has no package clause")?;
    let (mut strings, mut numbers) = (Vec::new(), Vec::new());
    if let Some(body) = node.child_by_field_name("body") {
        compared_literals_in(body, text, &["interpreted_string_literal"], &mut strings);
        compared_literals_in(body, text, &["int_literal"], &mut numbers);
    }
    let list = node.child_by_field_name("parameters").ok_or("no parameters")?;
    let mut candidates = Vec::new();
    let mut cursor = list.walk();
    for declaration in list.named_children(&mut cursor) {
        if declaration.kind() != "parameter_declaration" {
            return Err(format!("`{name}` takes a variadic parameter: choosing its inputs takes a model"));
        }
        let ty = declaration.child_by_field_name("type").map_or("", |t| &text[t.byte_range()]);
        let mut names = declaration.walk();
        let count = declaration.children_by_field_name("name", &mut names).count().max(1);
        for _ in 0..count {
            let index = candidates.len();
            let usable: Vec<Vec<String>> =
                examples.iter().filter(|c| c.get(index).is_some_and(|v| fits(ty, v))).cloned().collect();
            let mut derived = values(ty, &strings, &numbers, text, usable.is_empty());
            if ty == "string" {
                derived.get_or_insert_with(Vec::new).extend(super::string_variants(&usable, index, &['"']));
            }
            candidates.push(with_examples(index, &usable, derived).ok_or_else(|| {
                format!("`{name}` takes a `{ty}`: choosing one takes a model (offline, Edison fills numbers, strings, booleans, slices of them, byte slices, readers, hashes, errors and the package's own arrays and numbers)")
            })?);
        }
    }
    let result = node.child_by_field_name("result").map(|r| text[r.byte_range()].to_owned());
    // A setter with its getter in the file: what it sets is what the getter reads back.
    let reads = match (&result, &candidates[..]) {
        (None, [_]) => list
            .named_child(0)
            .and_then(|p| p.child_by_field_name("type"))
            .and_then(|ty| getter_of(name, &text[ty.byte_range()], text)),
        _ => None,
    };
    // A buffer it writes into (`encodeHex(dst []byte, uuid UUID)`), of the
    // size the file's own calls give it: what it holds after is what it does.
    if let (None, Some((index, buffer, size))) = (&result, output_buffer(name, node, text)) {
        candidates[index] = vec![format!("make([]byte, {size})")];
        return Ok(Target {
            calls: calls(&candidates),
            returns: Some("[]byte".into()),
            module: Some(package),
            mutated: vec![Mutated { index, name: buffer, ty: "[]byte".into() }],
            ..Target::new(Language::Go, name)
        });
    }
    if let Some((getter, ty)) = reads {
        return Ok(Target {
            calls: calls(&candidates),
            returns: Some(ty),
            module: Some(package),
            reads: Some(getter),
            ..Target::new(Language::Go, name)
        });
    }
    let returns = result.ok_or_else(|| {
        format!("`{name}` returns nothing: what it does is a side effect, which a characterization test cannot see")
    })?;
    if shape(&returns).is_none() {
        return Err(format!(
            "`{name}` returns `{returns}`: offline, Edison compares numbers, strings, booleans and slices of them (and an error)"
        ));
    }
    Ok(Target {
        calls: calls(&candidates),
        returns: Some(returns),
        module: Some(package),
        ..Target::new(Language::Go, name)
    })
}

/// A `[]byte` parameter the function writes into (`dst[8] = '-'`,
/// `copy(dst, …)`, `hex.Encode(dst, …)`), and the size of the buffer the
/// file's own calls pass it (`var buf [36]byte; encodeHex(buf[:], uuid)`):
/// its index, its name and the size.
fn output_buffer(name: &str, node: Node<'_>, text: &str) -> Option<(usize, String, usize)> {
    let body = &text[node.child_by_field_name("body")?.byte_range()];
    let list = node.child_by_field_name("parameters")?;
    let mut index = 0;
    let mut cursor = list.walk();
    let mut found = None;
    for declaration in list.named_children(&mut cursor) {
        let ty = declaration.child_by_field_name("type").map_or("", |t| &text[t.byte_range()]);
        let mut names = declaration.walk();
        let declared: Vec<&str> =
            declaration.children_by_field_name("name", &mut names).map(|n| &text[n.byte_range()]).collect();
        for parameter in &declared {
            let written = body.lines().any(|line| {
                let line = line.trim();
                line.strip_prefix(&format!("{parameter}[")).is_some_and(|rest| {
                    rest.split_once(']').is_some_and(|(_, after)| after.trim_start().starts_with("= "))
                }) || line.contains(&format!("copy({parameter},"))
                    || line.contains(&format!(".Encode({parameter},"))
            });
            if ty == "[]byte" && written && found.is_none() {
                found = Some((index, (*parameter).to_owned()));
            }
            index += 1;
        }
        index += usize::from(declared.is_empty());
    }
    let (index, parameter) = found?;
    // The file's calls: `name(buf[:], …)` with `var buf [N]byte` or `buf := make([]byte, N)`.
    let call = format!("{name}(");
    let size = text.match_indices(&call).find_map(|(at, _)| {
        if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.') {
            return None;
        }
        let args = &text[at + call.len()..];
        let first = args.split([',', ')']).nth(index)?.trim();
        let buffer = first.strip_suffix("[:]").unwrap_or(first);
        if !buffer.chars().all(|c| c.is_alphanumeric() || c == '_') || buffer.is_empty() {
            return None;
        }
        let before = &text[..at];
        let array = format!("var {buffer} [");
        let made = format!("{buffer} := make([]byte, ");
        let size = match (before.rfind(&array), before.rfind(&made)) {
            (Some(a), m) if m.is_none_or(|m| a > m) => before[a + array.len()..].split(']').next()?,
            (_, Some(m)) => before[m + made.len()..].split([')', ',']).next()?,
            _ => return None,
        };
        // A number, or the file's constant of one (`make([]byte, encodedLen)`).
        let size = size.trim();
        let size = size.parse::<usize>().ok().or_else(|| constant_of(text, size))?;
        (1..=4096).contains(&size).then_some(size)
    })?;
    Some((index, parameter, size))
}

/// The number the file's constant `name` stands for (`const encodedLen =
/// 20`, or `encodedLen = 20 // …` in a `const (…)` block).
fn constant_of(file: &str, name: &str) -> Option<usize> {
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    file.lines().find_map(|line| {
        let line = line.trim().strip_prefix("const ").unwrap_or(line.trim());
        let value = line.strip_prefix(name)?.trim_start().strip_prefix('=')?;
        value.split("//").next()?.trim().parse().ok()
    })
}

/// The getter of the setter `name` taking a `ty` (`SetClockSequence(seq int)`
/// → `ClockSequence() int`), declared in `file` with no parameters and
/// returning that type, comparable: its name and the type.
fn getter_of(name: &str, ty: &str, file: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix("Set").or_else(|| name.strip_prefix("set"))?;
    if !rest.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    // `SetX` → `X` or `GetX`; `setX` → `x` or `getX`.
    let getters = if name.starts_with('s') {
        let mut chars = rest.chars();
        let lower = chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())?;
        [lower, format!("get{rest}")]
    } else {
        [rest.to_owned(), format!("Get{rest}")]
    };
    let comparable = BASIC.contains(&ty) || is_named(ty);
    let declared = |getter: &str| {
        file.lines().any(|line| {
            line.strip_prefix("func ")
                .and_then(|l| l.strip_prefix(getter))
                .and_then(|l| l.strip_prefix("()"))
                .is_some_and(|l| l.split('{').next().unwrap_or_default().trim() == ty)
        })
    };
    let getter = getters.into_iter().find(|g| declared(g))?;
    comparable.then(|| (getter, ty.to_owned()))
}

/// What a call gives back: a comparable value, and whether an error comes last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Value,
    ValueAndError,
    Error,
    /// Two to four comparable values, no error (`(byte, bool)`).
    Values(usize),
}

fn shape(returns: &str) -> Option<Shape> {
    let types = result_types(returns);
    let comparable = |ty: &str| BASIC.contains(&ty) || is_named(ty);
    // A slice of a basic type (`[]string`, `[]byte`) too, compared with `reflect.DeepEqual`.
    let one = |ty: &str| comparable(ty) || is_basic_slice(ty);
    match types.as_slice() {
        ["error"] => Some(Shape::Error),
        [ty] if one(ty) => Some(Shape::Value),
        [ty, "error"] if one(ty) => Some(Shape::ValueAndError),
        many if (2..=4).contains(&many.len()) && many.iter().all(|ty| comparable(ty)) => {
            Some(Shape::Values(many.len()))
        }
        _ => None,
    }
}

/// Between the values of a call with several results, as the probe prints
/// them (a control character `%#v` never writes bare).
const SEPARATOR: char = '\u{1f}';

/// `got`, `got1`, `got2`…: the variables a test gives a call's results.
fn result_names(n: usize) -> Vec<String> {
    (0..n).map(|i| if i == 0 { "got".to_owned() } else { format!("got{i}") }).collect()
}

/// `(uuid UUID, err error)` → `["UUID", "error"]`; `(lo, hi byte)` →
/// `["byte", "byte"]` (named results share the type written after them).
fn result_types(returns: &str) -> Vec<&str> {
    let inner = returns.trim().trim_start_matches('(').trim_end_matches(')');
    let parts: Vec<Vec<&str>> = inner.split(',').map(|t| t.split_whitespace().collect()).collect();
    let named = parts.iter().any(|words| words.len() >= 2);
    (0..parts.len())
        .map(|i| match parts[i].as_slice() {
            [.., ty] if !named || parts[i].len() >= 2 => *ty,
            // A name alone: the type of the next part that has one.
            _ => parts[i..].iter().find(|words| words.len() >= 2).and_then(|words| words.last().copied()).unwrap_or(""),
        })
        .collect()
}

/// `[]string`, `[]byte`, `[]int`: a slice of a basic type.
fn is_basic_slice(ty: &str) -> bool {
    ty.strip_prefix("[]").is_some_and(|element| BASIC.contains(&element))
}

/// `[]string` → `string`: a slice of a basic type other than bytes (which
/// are written `[]byte("…")`).
fn slice_of(ty: &str) -> Option<&str> {
    ty.strip_prefix("[]").filter(|element| *element != "byte" && BASIC.contains(element))
}

/// A type of the package's own, by name (`UUID`, `Version`): compared as
/// `%#v` writes it when that is a literal (an array of numbers, a number).
fn is_named(ty: &str) -> bool {
    ty != "error" && !ty.is_empty() && ty.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn package_of(node: Node<'_>, text: &str) -> Option<String> {
    let mut root = node;
    while let Some(parent) = root.parent() {
        root = parent;
    }
    let mut cursor = root.walk();
    let clause = root.named_children(&mut cursor).find(|n| n.kind() == "package_clause")?;
    let name = clause.named_child(0)?;
    Some(text[name.byte_range()].to_owned())
}

/// Whether a test's literal fits a parameter's type: a string literal for
/// `string`, a number for the number types, `true`/`false` for `bool`.
fn fits(ty: &str, value: &str) -> bool {
    let quoted = value.starts_with('"') || value.starts_with('`');
    match ty {
        "string" => quoted,
        "bool" => matches!(value, "true" | "false"),
        "[]byte" => value.starts_with("[]byte("),
        _ if BASIC.contains(&ty) => is_number(value),
        // `[]string{"a", "b"}` for a `[]string`, as the tests write it.
        _ if slice_of(ty).is_some() => value == "nil" || value.starts_with(&format!("{ty}{{")),
        // The package's own type (`UUID`, `Domain`): a value the package
        // exports (`NameSpaceDNS`, `Person`) as its tests pass it, or a number.
        _ if is_named(ty) => is_exported_name(value) || is_number(value),
        _ => false,
    }
}

fn is_number(value: &str) -> bool {
    value.trim_start_matches('-').starts_with(|c: char| c.is_ascii_digit())
}

/// `NameSpaceDNS`: a name of the package's own top level (capitalised, not
/// qualified), which a `_test.go` file in the package can use as its tests do.
fn is_exported_name(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_uppercase()) && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Values of a Go type: edge values first, then what the body uses. `file`
/// is the function's file, where the package's own types may be declared;
/// `guess` allows the values it exports when the type is not declared there
/// (not when the project's tests gave values: a guess of the wrong type
/// would keep the probe from compiling).
fn values(ty: &str, strings: &[String], numbers: &[String], file: &str, guess: bool) -> Option<Vec<String>> {
    let with = |mut base: Vec<String>, extra: &[String]| {
        for e in extra.iter().filter(|e| !e.contains('\n')).take(2) {
            if !base.contains(e) {
                base.push(e.clone());
            }
        }
        base
    };
    Some(match ty.trim() {
        "string" => with(vec!["\"\"".into(), "\"abc\"".into()], strings),
        "bool" => vec!["true".into(), "false".into()],
        "int" | "int8" | "int16" | "int32" | "int64" => with(vec!["0".into(), "1".into(), "-7".into()], numbers),
        "uint" | "uint8" | "uint16" | "uint32" | "uint64" | "byte" => {
            with(vec!["0".into(), "1".into(), "7".into()], numbers)
        }
        "rune" => vec!["'a'".into(), "' '".into()],
        "float32" | "float64" => vec!["0".into(), "1.5".into(), "-2".into()],
        "[]byte" => {
            let mut base: Vec<String> = vec!["nil".into(), "[]byte(\"abc\")".into()];
            base.extend(strings.iter().filter(|s| !s.contains('\n')).take(2).map(|s| format!("[]byte({s})")));
            base
        }
        // Fresh on every call (the probe calls twice): a reader that has
        // bytes to give and one at its end; hashes of two kinds; no error and one.
        "io.Reader" => {
            vec!["strings.NewReader(\"0123456789abcdef0123456789abcdef\")".into(), "strings.NewReader(\"\")".into()]
        }
        "hash.Hash" => vec!["sha1.New()".into(), "md5.New()".into()],
        "error" => vec!["nil".into(), "errors.New(\"boom\")".into()],
        // A slice of a basic type: none, empty, one element, two.
        slice if slice_of(slice).is_some() => {
            let element = slice_of(slice)?;
            let one = values(element, strings, numbers, file, guess)?;
            let pick: Vec<&String> = one.iter().filter(|v| !matches!(v.as_str(), "\"\"" | "0" | "false")).collect();
            let (first, second) = (pick.first().copied().unwrap_or(&one[0]), pick.get(1).copied().unwrap_or(&one[0]));
            vec![
                "nil".into(),
                format!("{slice}{{}}"),
                format!("{slice}{{{first}}}"),
                format!("{slice}{{{first}, {second}}}"),
            ]
        }
        named if is_named(named) => return own_values(named, file, guess),
        _ => return None,
    })
}

/// Values of the package's own type `ty`: from its declaration in `file`
/// (`type UUID [16]byte`: the zero value and one of counting bytes; `type
/// Version byte`: 0 and 1), else the values `file` exports at its top level
/// (`var NameSpaceDNS = Must(…)`) if `guess`, which the probe's compiler checks.
fn own_values(ty: &str, file: &str, guess: bool) -> Option<Vec<String>> {
    let declared = file.lines().find_map(|line| {
        let rest = line.strip_prefix("type ")?.trim_start().strip_prefix(ty)?;
        rest.starts_with([' ', '\t']).then(|| rest.split("//").next().unwrap_or("").trim())
    });
    if let Some(underlying) = declared {
        if let Some((len, element)) = underlying.strip_prefix('[').and_then(|r| r.split_once(']')) {
            let len: usize = len.trim().parse().ok().filter(|n| (1..=64).contains(n))?;
            if !matches!(element.trim(), "byte" | "uint8") {
                return None;
            }
            let counting: Vec<String> = (1..=len).map(|b| format!("{b:#x}")).collect();
            return Some(vec![format!("{ty}{{}}"), format!("{ty}{{{}}}", counting.join(", "))]);
        }
        return match underlying {
            "string" => Some(vec![format!("{ty}(\"\")"), format!("{ty}(\"abc\")")]),
            "bool" => Some(vec![format!("{ty}(true)"), format!("{ty}(false)")]),
            _ => BASIC.contains(&underlying).then(|| vec![format!("{ty}(0)"), format!("{ty}(1)")]),
        };
    }
    if !guess {
        return None;
    }
    let mut exported = Vec::new();
    let mut in_block = false;
    for line in file.lines() {
        let trimmed = line.trim_end();
        if trimmed == "var (" {
            in_block = true;
            continue;
        }
        if in_block && trimmed == ")" {
            in_block = false;
            continue;
        }
        let declaration = if in_block { line.strip_prefix('\t') } else { line.strip_prefix("var ") };
        let Some((name, value)) = declaration.and_then(|d| d.split_once('=')) else { continue };
        let (name, value) = (name.trim(), value.trim());
        // `ErrX = errors.New(…)`, `Other{…}`, a literal: not a `ty`. A call of
        // the package's (`Must(Parse(…))`) may be: the compiler says.
        let other_type = value.starts_with(['"', '`', '\'', '&', '[', '-'])
            || value.starts_with(|c: char| c.is_ascii_digit())
            || value.starts_with("map[")
            || value.starts_with("func")
            || value.contains("errors.New(")
            || value.contains("fmt.Errorf(")
            || value
                .split(['{', '('])
                .next()
                .is_some_and(|head| is_exported_name(head) && head != ty && value[head.len()..].starts_with('{'));
        let typed = name.split_whitespace().nth(1);
        let name = name.split_whitespace().next().unwrap_or(name);
        if is_exported_name(name) && !other_type && typed.is_none_or(|t| t == ty) && exported.len() < 2 {
            exported.push(name.to_owned());
        }
    }
    (!exported.is_empty()).then_some(exported)
}

/// The standard library packages the values above are written with, and
/// the comparison of slices (`reflect.DeepEqual`).
const STD_VALUES: [(&str, &str); 5] = [
    ("strings.", "strings"),
    ("sha1.", "crypto/sha1"),
    ("md5.", "crypto/md5"),
    ("errors.", "errors"),
    ("reflect.", "reflect"),
];

/// The packages `code` (calls written with the values above) needs imported,
/// sorted as gofmt keeps them.
pub(super) fn imports_in(code: &str) -> Vec<&'static str> {
    let code = &outside_literals(code);
    let mut found: Vec<&'static str> = STD_VALUES
        .iter()
        .filter(|(prefix, _)| {
            code.match_indices(prefix)
                .any(|(at, _)| !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.'))
        })
        .map(|(_, package)| *package)
        .collect();
    found.sort_unstable();
    found
}

/// `code` with the insides of its string and rune literals blanked: a
/// sentence saying "no errors." uses no package.
fn outside_literals(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in code.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(c);
                    continue;
                }
                out.push(' ');
            }
            None => {
                if matches!(c, '"' | '`' | '\'') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// How many values of a call that gives a different one each time the probe
/// prints: enough that a bit every value shares is not chance (2^-63).
const SAMPLES: usize = 64;

/// A `_test.go` file in the function's package that makes each call and
/// prints, per call, what it returned as Go syntax (quoted, one line) or
/// that it panicked; a call whose second value differs from its first is
/// made [`SAMPLES`] times, each value printed.
pub(super) fn probe(target: &Target) -> String {
    let package = target.module.as_deref().unwrap_or("main");
    let shape = target.returns.as_deref().and_then(shape).unwrap_or(Shape::Value);
    // `runtime`: a panic of the runtime's own (a nil pointer, an index out of
    // range) is a crash, not what the function means to do; it is not pinned.
    // `reflect`: what a value holds, for [`properties`].
    let mut imports = vec!["fmt", "reflect", "runtime", "testing"];
    imports.extend(imports_in(&target.calls.iter().flatten().map(String::as_str).collect::<Vec<_>>().join(" ")));
    imports.sort_unstable();
    imports.dedup();
    let imports: String = imports.iter().map(|p| format!("\t\"{p}\"\n")).collect();
    let mut calls = String::new();
    for args in &target.calls {
        let call = format!("{}({})", target.name, args.join(", "));
        if let Some(getter) = &target.reads {
            // What the setter set, read back; and whether setting back what
            // was read restores it (the test's `defer`): if not, no value.
            let setter = &target.name;
            calls.push_str(&format!(
                "\t\tfunc() (string, interface{{}}) {{ old := {getter}(); {call}; got := {getter}(); {setter}(old); if {getter}() != old {{ return \"not restored\", nil }}; return fmt.Sprintf(\"%#v\", got), nil }},\n"
            ));
            continue;
        }
        if let Some(buffer) = target.mutated.first() {
            // What the buffer holds after the call.
            let mut bound = args.clone();
            let made = std::mem::replace(&mut bound[buffer.index], buffer.name.clone());
            let call = format!("{}({})", target.name, bound.join(", "));
            let name = &buffer.name;
            calls.push_str(&format!(
                "\t\tfunc() (string, interface{{}}) {{ {name} := {made}; {call}; return fmt.Sprintf(\"%#v\", {name}), nil }},\n"
            ));
            continue;
        }
        calls.push_str(&match shape {
            Shape::Value => format!("\t\tfunc() (string, interface{{}}) {{ v := {call}; return fmt.Sprintf(\"%#v\", v), v }},\n"),
            Shape::ValueAndError => format!(
                "\t\tfunc() (string, interface{{}}) {{ v, err := {call}; if err != nil {{ return \"error\", nil }}; return fmt.Sprintf(\"%#v\", v), v }},\n"
            ),
            Shape::Error => format!(
                "\t\tfunc() (string, interface{{}}) {{ if err := {call}; err != nil {{ return \"error\", nil }}; return \"nil\", nil }},\n"
            ),
            Shape::Values(n) => {
                let names = result_names(n).join(", ");
                let verbs = vec!["%#v"; n].join("\\x1f");
                format!(
                    "\t\tfunc() (string, interface{{}}) {{ {names} := {call}; return fmt.Sprintf(\"{verbs}\", {names}), nil }},\n"
                )
            }
        });
    }
    format!(
        "package {package}\n\nimport (\n{imports})\n\nfunc TestPairedProbe(t *testing.T) {{\n\tcalls := []func() (string, interface{{}}){{\n{calls}\t}}\n\tfor i, call := range calls {{\n\t\tfunc() {{\n\t\t\tdefer func() {{\n\t\t\t\tif r := recover(); r != nil {{\n\t\t\t\t\tif _, crash := r.(runtime.Error); crash {{\n\t\t\t\t\t\tfmt.Printf(\"{MARK} %d crash\\n\", i)\n\t\t\t\t\t}} else {{\n\t\t\t\t\t\tfmt.Printf(\"{MARK} %d panic\\n\", i)\n\t\t\t\t\t}}\n\t\t\t\t}}\n\t\t\t}}()\n\t\t\tfirst, value := call()\n\t\t\tfmt.Printf(\"{MARK} %d %q\\n\", i, first)\n\t\t\tpairedProperties(i, value)\n\t\t\tif again, _ := call(); again != first {{\n\t\t\t\tfmt.Printf(\"{MARK} %d %q\\n\", i, again)\n\t\t\t\tfor n := 2; n < {SAMPLES}; n++ {{\n\t\t\t\t\tnext, _ := call()\n\t\t\t\t\tfmt.Printf(\"{MARK} %d %q\\n\", i, next)\n\t\t\t\t}}\n\t\t\t}}\n\t\t}}()\n\t}}\n}}\n{PROPERTIES}"
    )
}

/// The probe's printer of what a value holds (see [`properties`]): a slice's
/// or string's length, and what each exported method that takes nothing and
/// gives one number, string or boolean returns (`got.Version()`), with its
/// type (`%T` of a method's result type) — each on a line of its own. Only
/// of a value that is data (an array, a slice, a string, a number: not a
/// struct, a pointer or a channel, whose methods may change what is shared),
/// and not the methods named for a change (`Next`, `Reset`, `Stop`…).
const PROPERTIES: &str = "
var pairedChanges = map[string]bool{\"Next\": true, \"Scan\": true, \"Stop\": true, \"Reset\": true, \"Close\": true, \"Lock\": true, \"TryLock\": true, \"Unlock\": true, \"Read\": true, \"Write\": true, \"Flush\": true, \"Wait\": true, \"Run\": true, \"Start\": true, \"Pop\": true, \"Push\": true, \"Inc\": true, \"Dec\": true, \"Clear\": true, \"Shuffle\": true, \"Sort\": true}

func pairedProperties(i int, value interface{}) {
\tif value == nil {
\t\treturn
\t}
\tv := reflect.ValueOf(value)
\tswitch v.Kind() {
\tcase reflect.Slice, reflect.String:
\t\tfmt.Printf(\"PAIRED-OBS %d prop len(got) int %q\\n\", i, fmt.Sprintf(\"%d\", v.Len()))
\tcase reflect.Array, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
\tdefault:
\t\treturn
\t}
\tt := v.Type()
\tfor m := 0; m < t.NumMethod(); m++ {
\t\tmethod := t.Method(m)
\t\tif method.Type.NumIn() != 1 || method.Type.NumOut() != 1 || pairedChanges[method.Name] {
\t\t\tcontinue
\t\t}
\t\tout := method.Type.Out(0)
\t\tswitch out.Kind() {
\t\tcase reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.String:
\t\tdefault:
\t\t\tcontinue
\t\t}
\t\tfunc() {
\t\t\tdefer func() { _ = recover() }()
\t\t\tgot := v.Method(m).Call(nil)[0].Interface()
\t\t\tfmt.Printf(\"PAIRED-OBS %d prop got.%s() %s %q\\n\", i, method.Name, out.String(), fmt.Sprintf(\"%#v\", got))
\t\t}()
\t}
}
";

/// What each call's first value held, as the probe's `pairedProperties`
/// printed it: `(accessor, literal)` pairs a test can write
/// (`("got.Version()", "Version(2)")`, `("len(got)", "6")`); a method's
/// result of another package's type is left out.
pub(super) fn properties(target: &Target, stdout: &str) -> Vec<Vec<(String, String)>> {
    let package = target.module.as_deref().unwrap_or("");
    let mut found = vec![Vec::new(); target.calls.len()];
    for line in stdout.lines().filter_map(|l| l.trim_start().strip_prefix(MARK)) {
        let mut parts = line.trim().splitn(5, ' ');
        let (Some(Ok(i)), Some("prop"), Some(accessor), Some(ty), Some(quoted)) =
            (parts.next().map(str::parse::<usize>), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let method = accessor.strip_prefix("got.").and_then(|m| m.strip_suffix("()")).is_some_and(is_exported_name);
        let (Some(slot), Some(value), true) = (found.get_mut(i), unescaped(quoted), method || accessor == "len(got)")
        else {
            continue;
        };
        if of_the_clock(accessor) || of_the_clock(ty) {
            continue;
        }
        let literal = match ty.split_once('.') {
            // The package's own type: its constant, converted (`Domain(42)`).
            Some((from, name)) if from == package && is_exported_name(name) => {
                let decimal = value.strip_prefix("0x").and_then(|hex| u64::from_str_radix(hex, 16).ok());
                match decimal {
                    Some(n) => format!("{name}({n})"),
                    None if is_number(&value) || matches!(value.as_str(), "true" | "false") => {
                        format!("{name}({value})")
                    }
                    None if is_go_string_literal(&value) => format!("{name}({value})"),
                    None => continue,
                }
            }
            Some(_) => continue,
            None => match literal_of(package, ty, &value) {
                Some(literal) => literal,
                None => continue,
            },
        };
        slot.push((accessor.to_owned(), literal));
    }
    found
}

/// A test of what a function wrote into its buffer: the buffer made as the
/// file's calls make it, the call, and the bytes after — as text where they
/// are printable (`string(dst) != "00000000-…"`).
fn buffer_test(target: &Target, n: usize, args: &[String], buffer: &Mutated, want: &str) -> Option<String> {
    let mut bound = args.to_vec();
    // The test's own names are not the buffer's (`t`, `got`).
    let name = if matches!(buffer.name.as_str(), "t" | "got" | "testing") { "buf" } else { buffer.name.as_str() };
    let made = std::mem::replace(bound.get_mut(buffer.index)?, name.to_owned());
    let call = format!("{}({})", target.name, bound.join(", "));
    let shown = in_message(&call);
    let bytes: Option<Vec<u8>> = want.strip_prefix("[]byte{").and_then(|w| w.strip_suffix('}')).and_then(|inner| {
        inner
            .split(", ")
            .filter(|b| !b.is_empty())
            .map(|b| u8::from_str_radix(b.strip_prefix("0x")?, 16).ok())
            .collect()
    });
    let check = match bytes.filter(|b| !b.is_empty() && b.iter().all(|c| c.is_ascii_graphic() || *c == b' ')) {
        Some(text) => {
            let text: String = text.iter().map(|&c| c as char).collect();
            let literal = format!("{text:?}");
            format!(
                "\tif got := string({name}); got != {literal} {{\n\t\tt.Errorf(\"after {shown}, {name} = %q, want %q\", got, {literal})\n\t}}\n"
            )
        }
        None => format!(
            "\tif !reflect.DeepEqual({name}, {want}) {{\n\t\tt.Errorf(\"after {shown}, {name} = %#v, want %#v\", {name}, {want})\n\t}}\n"
        ),
    };
    let test = test_name(&target.name, n);
    Some(format!("\nfunc {test}(t *testing.T) {{\n\t{name} := {made}\n\t{call}\n{check}}}\n"))
}

/// Whether a name (`got.Time()`, `uuid.Time`, `ClockSequence`) is the
/// clock's: two runs a second apart agree on a timestamp's high part (a
/// version 1 UUID's `Time()` changes its upper bytes every seven minutes), so
/// agreeing twice says nothing about it.
fn of_the_clock(name: &str) -> bool {
    const CLOCK: [&str; 41] = [
        "time",
        "times",
        "timestamp",
        "clock",
        "date",
        "now",
        "stamp",
        "epoch",
        "elapsed",
        "unix",
        "nano",
        "seq",
        "sequence",
        "uptime",
        "year",
        "years",
        "month",
        "months",
        "week",
        "weeks",
        "weekday",
        "day",
        "days",
        "yday",
        "hour",
        "hours",
        "minute",
        "minutes",
        "second",
        "seconds",
        "age",
        "expires",
        "expiry",
        "deadline",
        "ttl",
        "duration",
        "since",
        "until",
        "today",
        "zone",
        "ago",
    ];
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in name.chars() {
        // (An acronym falls apart into letters, none of them a clock word.)
        if c.is_ascii_uppercase() && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    words.push(word);
    words.iter().any(|w| CLOCK.contains(&w.as_str()))
}

/// A call's text as a Go test's message shows it: in a string literal,
/// where `%` is `Errorf`'s.
fn in_message(call: &str) -> String {
    call.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%")
}

/// A test's lines binding `var` to what `call` returns, stopping the test
/// where it also returns an error that is not nil.
fn fetched(shape: Shape, call: &str, shown: &str, var: &str, err: &str) -> String {
    match shape {
        Shape::ValueAndError => {
            format!("\t{var}, {err} := {call}\n\tif {err} != nil {{\n\t\tt.Fatalf(\"{shown}: %v\", {err})\n\t}}\n")
        }
        _ => format!("\t{var} := {call}\n"),
    }
}

/// A test of what a value that differs from run to run (the machine's node
/// id, a clock sequence, the user's id inside) held in every run: its length,
/// its methods' results (a DCE UUID's `Domain()` and `ID()`, its `Version()`).
fn held_test(target: &Target, n: usize, args: &[String], held: &[(String, String)]) -> Option<String> {
    let shape = target.returns.as_deref().and_then(shape)?;
    if held.is_empty() || !matches!(shape, Shape::Value | Shape::ValueAndError) {
        return None;
    }
    let call = format!("{}({})", target.name, args.join(", "));
    let shown = in_message(&call);
    let mut body = fetched(shape, &call, &shown, "got", "err");
    for (accessor, want) in held {
        body.push_str(&format!(
            "\tif v := {accessor}; v != {want} {{\n\t\tt.Errorf(\"{shown}: {accessor} = %#v, want %#v\", v, {want})\n\t}}\n"
        ));
    }
    let name = test_name(&target.name, n);
    Some(format!("\nfunc {name}(t *testing.T) {{\n{body}}}\n"))
}

/// One probe line's value: Go's `%q` of what `%#v` printed, unquoted and
/// accepted only as a literal of the result type (it is pasted into code).
pub(super) fn observed(target: &Target, quoted: &str) -> Observed {
    let Some(value) = unescaped(quoted) else { return Observed::Opaque };
    let ty = target.returns.as_deref().unwrap_or("");
    match value.as_str() {
        "error" => return Observed::Fails(Some("error".into())),
        "nil" if shape(ty) == Some(Shape::Error) => return Observed::Value("nil".into()),
        _ => {}
    }
    let package = target.module.as_deref().unwrap_or("");
    let types = result_types(ty);
    if let Some(Shape::Values(n)) = shape(ty) {
        let parts: Vec<&str> = value.split(SEPARATOR).collect();
        if parts.len() != n {
            return Observed::Opaque;
        }
        let literals: Option<Vec<String>> =
            parts.iter().zip(&types).map(|(part, ty)| literal_of(package, ty, part)).collect();
        return literals.map_or(Observed::Opaque, |l| Observed::Value(l.join(&SEPARATOR.to_string())));
    }
    let value_type = types.first().copied().unwrap_or("");
    literal_of(package, value_type, &value).map_or(Observed::Opaque, Observed::Value)
}

/// An observed value as a doc comment says it: the results separated by
/// commas, and "a nil error" where the function returns one too.
pub(super) fn shown(target: &Target, value: &str) -> String {
    let values = value.replace(SEPARATOR, ", ");
    match shape(target.returns.as_deref().unwrap_or("")) {
        Some(Shape::ValueAndError) => format!("{values} and a nil error"),
        _ => values,
    }
}

/// `value` as `%#v` printed it, when it is a literal of `value_type` a test
/// can paste (the package's own type written without the package's name).
fn literal_of(package: &str, value_type: &str, value: &str) -> Option<String> {
    // `[]string{"a", "b"}`, `[]byte{0x1, 0x2}`, `[]int(nil)`: every element a literal.
    if let Some(element) = value_type.strip_prefix("[]").filter(|_| is_basic_slice(value_type)) {
        if value == format!("{value_type}(nil)") {
            return Some(value.to_owned());
        }
        let inner = value.strip_prefix(value_type)?.strip_prefix('{')?.strip_suffix('}')?;
        let elements = if inner.is_empty() { Vec::new() } else { split_elements(inner)? };
        let literals: Vec<String> = elements.iter().map(|e| literal_of(package, element, e)).collect::<Option<_>>()?;
        return (value.len() <= 400).then(|| format!("{value_type}{{{}}}", literals.join(", ")));
    }
    if is_named(value_type) && !BASIC.contains(&value_type) {
        // `uuid.UUID{0x6b, …}` or `uuid.Version(0x4)`: the package's own type,
        // written without the package's name inside it; numbers only.
        // A number, text or truth value of a type of those: `%#v` writes the
        // bare constant, which compares with the type's values as it is.
        if !value.starts_with(&format!("{package}.")) {
            let digits = value.trim_start_matches('-');
            let number = !digits.is_empty()
                && digits.starts_with(|c: char| c.is_ascii_digit())
                && digits.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | 'x' | 'e' | '+' | '-'))
                && value.len() <= 40;
            let literal = number || is_go_string_literal(value) || matches!(value, "true" | "false");
            return literal.then(|| value.to_owned());
        }
        let rest = value.strip_prefix(&format!("{package}.{value_type}"))?;
        let numbers =
            |inner: &str| inner.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, 'x' | ',' | ' ' | '-' | '.'));
        let literal = match (
            rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')),
            rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')),
        ) {
            (Some(inner), _) | (None, Some(inner)) => numbers(inner) && value.len() <= 400,
            _ => false,
        };
        return literal.then(|| format!("{value_type}{rest}"));
    }
    // `%#v` writes unsigned numbers in hex (`0x54`): a count reads as 84.
    if let Some(n) = value.strip_prefix("0x").and_then(|hex| u64::from_str_radix(hex, 16).ok())
        && value_type.starts_with("uint")
    {
        return Some(n.to_string());
    }
    let literal = match value_type {
        "string" => is_go_string_literal(value),
        "bool" => matches!(value, "true" | "false"),
        "rune" | "int32" => value.trim_start_matches('-').chars().all(|c| c.is_ascii_digit()) && !value.is_empty(),
        _ => {
            let digits = value.trim_start_matches('-');
            !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | 'x' | 'e' | '+' | '-'))
                && value.len() <= 40
        }
    };
    literal.then(|| value.to_owned())
}

/// A composite literal's elements, split at the commas outside its string
/// literals (`"a, b", "c"` → two); none when a literal is left open.
fn split_elements(inner: &str) -> Option<Vec<&str>> {
    let (mut parts, mut start, mut quote, mut escaped) = (Vec::new(), 0, None::<char>, false);
    for (at, c) in inner.char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some('"'), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '`' | '\'') => quote = Some(c),
            (None, ',') => {
                parts.push(inner[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(inner[start..].trim());
    quote.is_none().then_some(parts)
}

/// A call that gave a different value each time: kept when its values share
/// something a test can assert (see [`Shared`]).
pub(super) fn varies(target: &Target, lines: &[&str]) -> Observed {
    let Some(values) = lines.iter().map(|q| unescaped(q)).collect::<Option<Vec<String>>>() else {
        return Observed::Opaque;
    };
    if values.len() < SAMPLES || values.iter().any(|v| v == "error" || v == "panic") {
        // A call that works once (`Register`, then "exists"): its first value,
        // as a single call would have given it.
        return lines.first().map_or(Observed::Opaque, |first| observed(target, first));
    }
    match shared(target, &values) {
        Some(_) => Observed::Varies(values),
        None => Observed::Opaque,
    }
}

/// A call that varied in both runs of the probe: the samples of both, kept
/// when they still share something (a bit only a process fixed — uuid's
/// clock sequence inside a version 1 UUID — is no longer trusted).
pub(super) fn varies_across(target: &Target, values: Vec<String>) -> Observed {
    match shared(target, &values) {
        Some(_) => Observed::Varies(values),
        None => Observed::Opaque,
    }
}

/// What every value of a varying result had: all different from each other,
/// the same length, and bits (of bytes, or characters of a string) that never
/// changed — a UUID's version and variant, a string's dashes.
#[derive(Debug, PartialEq, Eq)]
struct Shared {
    distinct: bool,
    string: bool,
    len: Option<usize>,
    /// (index, mask of the bits that never changed, their value).
    fixed: Vec<(usize, u8, u8)>,
}

fn shared(target: &Target, values: &[String]) -> Option<Shared> {
    let ty = result_types(target.returns.as_deref()?).first().copied()?;
    let package = target.module.as_deref().unwrap_or("");
    let string = ty == "string";
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|value| {
            if string {
                return unescaped(value).filter(|s| s.is_ascii()).map(String::into_bytes);
            }
            let inner = value.strip_prefix(&format!("{package}.{ty}{{"))?.strip_suffix('}')?;
            inner
                .split(", ")
                .map(|b| match b.strip_prefix("0x") {
                    Some(hex) => u8::from_str_radix(hex, 16).ok(),
                    None => b.parse().ok(),
                })
                .collect()
        })
        .collect::<Option<_>>()?;
    let first = bytes.first()?;
    let len = bytes.iter().all(|b| b.len() == first.len()).then_some(first.len());
    let shortest = bytes.iter().map(Vec::len).min().unwrap_or(0);
    // How often each position (string) or bit (bytes) differed from the first
    // value: random ones about half the time. A slow counter or the clock
    // changes its high bits rarely, so only bits beside bits that look
    // random are trusted to stay fixed (a UUID's version inside its random
    // byte), never a whole byte that merely did not change yet.
    let often = |changes: usize| changes * 4 >= bytes.len();
    let mut fixed = Vec::new();
    if string {
        let changes: Vec<usize> = (0..shortest).map(|i| bytes.iter().filter(|b| b[i] != first[i]).count()).collect();
        // A fixed letter or digit counts only between characters that change
        // often (a UUID's version), skipping separators; never inside a run of
        // steady ones (a timestamp's prefix).
        let alnum = |i: usize| first[i].is_ascii_alphanumeric();
        let random_beside = |i: usize| {
            let left = (0..i).rev().find(|&j| alnum(j));
            let right = (i + 1..shortest).find(|&j| alnum(j));
            [left, right].iter().all(|side| side.is_none_or(|j| often(changes[j])))
                && (left.is_some() || right.is_some())
        };
        for (i, &c) in changes.iter().enumerate() {
            let ch = first[i];
            let trusted = !ch.is_ascii_alphanumeric() || random_beside(i);
            if c == 0 && trusted && ch.is_ascii_graphic() && !matches!(ch, b'\'' | b'\\') {
                fixed.push((i, 0xff, ch));
            }
        }
    } else {
        // Per byte: the bits that never changed, and whether every other bit
        // changed often.
        let bits: Vec<(u8, bool)> = (0..shortest)
            .map(|i| {
                let flips = |bit: u8| bytes.iter().filter(|b| (b[i] ^ first[i]) & bit != 0).count();
                let mask = (0..8).map(|k| 1u8 << k).filter(|&bit| flips(bit) == 0).fold(0u8, |m, bit| m | bit);
                let others = (0..8).map(|k| 1u8 << k).filter(|bit| mask & bit == 0).all(|bit| often(flips(bit)));
                (mask, others)
            })
            .collect();
        // A bit field inside random bytes (a UUID's version): the bytes on
        // either side random too. A counter's byte has a steady byte beside it.
        let random = |i: usize| bits.get(i).is_none_or(|&(mask, others)| mask == 0 && others);
        for (i, &(mask, others)) in bits.iter().enumerate() {
            if mask != 0 && mask != 0xff && others && random(i + 1) && (i == 0 || random(i - 1)) {
                fixed.push((i, mask, first[i] & mask));
            }
        }
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.dedup();
    let distinct = sorted.len() == values.len();
    (distinct || !fixed.is_empty()).then_some(Shared { distinct, string, len, fixed })
}

/// A test of what a varying result always has: two calls differ, the length,
/// the bits that never changed.
fn varied_test(target: &Target, n: usize, args: &[String], values: &[String]) -> Option<String> {
    let shape = target.returns.as_deref().and_then(shape)?;
    let shared = shared(target, values)?;
    let call = format!("{}({})", target.name, args.join(", "));
    let shown = in_message(&call);
    let fetch = |var: &str, err: &str| fetched(shape, &call, &shown, var, err);
    let mut body = fetch("got", "err");
    if shared.distinct {
        body.push_str(&fetch("again", "err2"));
        body.push_str(&format!("\tif got == again {{\n\t\tt.Errorf(\"{shown} gave %#v twice\", got)\n\t}}\n"));
    }
    if let Some(len) = shared.len.filter(|_| shared.string) {
        body.push_str(&format!(
            "\tif len(got) != {len} {{\n\t\tt.Errorf(\"len({shown}) = %d, want {len}\", len(got))\n\t}}\n"
        ));
    }
    for (i, mask, value) in &shared.fixed {
        let (got, want) = if shared.string {
            (format!("got[{i}]"), format!("'{}'", *value as char))
        } else if *mask == 0xff {
            (format!("got[{i}]"), format!("{value:#04x}"))
        } else {
            (format!("got[{i}]&{mask:#04x}"), format!("{value:#04x}"))
        };
        let guard = if shared.len.is_none() { format!("len(got) > {i} && ") } else { String::new() };
        let verb = if shared.string { "%q" } else { "%#x" };
        body.push_str(&format!(
            "\tif {guard}{got} != {want} {{\n\t\tt.Errorf(\"{shown}: {got} = {verb}, want {verb}\", {got}, {want})\n\t}}\n"
        ));
    }
    let name = test_name(&target.name, n);
    Some(format!("\nfunc {name}(t *testing.T) {{\n{body}}}\n"))
}

/// One interpreted Go string literal on one line, nothing after it.
fn is_go_string_literal(text: &str) -> bool {
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

/// A Go literal the tests of a package pass to a function: string, number,
/// rune, bool, `[]byte("…")`, or a value the package exports.
pub(super) fn is_literal(text: &str) -> bool {
    let number = text.trim_start_matches('-');
    matches!(text, "true" | "false")
        || (number.starts_with(|c: char| c.is_ascii_digit())
            && number.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.')))
        || is_go_string_literal(text)
        || (text.starts_with('`') && text.ends_with('`') && text.len() >= 2 && !text[1..text.len() - 1].contains('`'))
        || (text.len() <= 8 && text.starts_with('\'') && text.ends_with('\''))
        || text.strip_prefix("[]byte(").and_then(|t| t.strip_suffix(')')).is_some_and(is_go_string_literal)
        || is_exported_name(text)
}

/// `TestParse_1`…: Go's test names. An unexported function's keep its name
/// after an underscore (`Test_xtob_1`, as gotests writes them): capitalised,
/// `clockSequence`'s would be `ClockSequence`'s.
pub(super) fn test_name(name: &str, n: usize) -> String {
    // (`_hidden`'s too: `Test__hidden_1`, not `hidden`'s `Test_hidden_1`.)
    if !name.starts_with(|c: char| c.is_uppercase()) {
        return format!("Test_{name}_{n}");
    }
    format!("Test{name}_{n}")
}

/// One test per case, in the package's own form.
pub(super) fn test(target: &Target, n: usize, args: &[String], observed: &Observed) -> Option<String> {
    let call = format!("{}({})", target.name, args.join(", "));
    let shown = in_message(&call);
    let name = test_name(&target.name, n);
    let shape = target.returns.as_deref().and_then(shape)?;
    if let Some(buffer) = target.mutated.first() {
        // A buffer that holds something else on every call: nothing to pin.
        let Observed::Value(want) = observed else { return None };
        return buffer_test(target, n, args, buffer, want);
    }
    if let Some(getter) = &target.reads {
        // What the setter sets, read back, and what was there put back after.
        let Observed::Value(want) = observed else { return None };
        let want = if want.contains('{') { format!("({want})") } else { want.clone() };
        let setter = &target.name;
        return Some(format!(
            "\nfunc {name}(t *testing.T) {{\n\told := {getter}()\n\tdefer {setter}(old)\n\t{call}\n\tif got := {getter}(); got != {want} {{\n\t\tt.Errorf(\"after {shown}, {getter}() = %#v, want %#v\", got, {want})\n\t}}\n}}\n"
        ));
    }
    // A composite literal in an `if` condition must be in parentheses.
    let observed = match observed {
        Observed::Value(want) if want.contains('{') && !matches!(shape, Shape::Values(_)) => {
            &Observed::Value(format!("({want})"))
        }
        other => other,
    };
    // A slice compares with `reflect.DeepEqual` (nil and empty told apart, as `%#v` did).
    let slice = result_types(target.returns.as_deref().unwrap_or("")).first().is_some_and(|ty| is_basic_slice(ty));
    let differs = |want: &str| match want.strip_prefix('(').and_then(|w| w.strip_suffix(')')) {
        Some(inner) if slice => format!("!reflect.DeepEqual(got, {inner})"),
        _ if slice => format!("!reflect.DeepEqual(got, {want})"),
        _ => format!("got != {want}"),
    };
    Some(match (shape, observed) {
        (Shape::Value, Observed::Value(want)) => format!(
            "\nfunc {name}(t *testing.T) {{\n\tif got := {call}; {} {{\n\t\tt.Errorf(\"{shown} = %#v, want %#v\", got, {want})\n\t}}\n}}\n",
            differs(want)
        ),
        (Shape::ValueAndError, Observed::Value(want)) => format!(
            "\nfunc {name}(t *testing.T) {{\n\tgot, err := {call}\n\tif err != nil {{\n\t\tt.Fatalf(\"{shown}: %v\", err)\n\t}}\n\tif {} {{\n\t\tt.Errorf(\"{shown} = %#v, want %#v\", got, {want})\n\t}}\n}}\n",
            differs(want)
        ),
        (Shape::Error, Observed::Value(_)) => format!(
            "\nfunc {name}(t *testing.T) {{\n\tif err := {call}; err != nil {{\n\t\tt.Errorf(\"{shown}: %v\", err)\n\t}}\n}}\n"
        ),
        (Shape::Error | Shape::ValueAndError, Observed::Fails(Some(_))) => {
            let blank = if shape == Shape::ValueAndError { "_, " } else { "" };
            format!(
                "\nfunc {name}(t *testing.T) {{\n\tif {blank}err := {call}; err == nil {{\n\t\tt.Errorf(\"{shown}: want an error\")\n\t}}\n}}\n"
            )
        }
        (Shape::Values(count), Observed::Value(wants)) => {
            let names = result_names(count);
            let wants: Vec<String> =
                wants.split(SEPARATOR).map(|w| if w.contains('{') { format!("({w})") } else { w.to_owned() }).collect();
            if wants.len() != count {
                return None;
            }
            let differs: Vec<String> = names.iter().zip(&wants).map(|(got, want)| format!("{got} != {want}")).collect();
            let verbs = vec!["%#v"; count].join(", ");
            format!(
                "\nfunc {name}(t *testing.T) {{\n\t{} := {call}\n\tif {} {{\n\t\tt.Errorf(\"{shown} = {verbs}, want {verbs}\", {}, {})\n\t}}\n}}\n",
                names.join(", "),
                differs.join(" || "),
                names.join(", "),
                wants.join(", ")
            )
        }
        (Shape::Value | Shape::ValueAndError, Observed::Varies(values)) => return varied_test(target, n, args, values),
        (_, Observed::Differs(held)) => return held_test(target, n, args, held),
        (_, Observed::Fails(None)) => format!(
            "\nfunc {name}(t *testing.T) {{\n\tdefer func() {{\n\t\tif recover() == nil {{\n\t\t\tt.Errorf(\"{shown} did not panic\")\n\t\t}}\n\t}}()\n\t{call}\n}}\n"
        ),
        _ => return None,
    })
}

/// The resets the package's own tests use: a statement `SetX(nil)` alone on
/// its line, where the package declares `func SetX(` (uuid's tests set
/// `SetRand(nil)` back after a test of their own reader). Each once, in the
/// order first seen.
pub(super) fn resets(tests: &[&str], package: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in tests.iter().flat_map(|t| t.lines()).map(str::trim) {
        let Some(name) = line.strip_suffix("(nil)") else { continue };
        let setter = name.strip_prefix("Set").is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let declared = package.iter().any(|file| file.contains(&format!("\nfunc {name}(")));
        if setter && declared && !found.iter().any(|f| f == line) {
            found.push(line.to_owned());
        }
    }
    found
}

/// `tests` with each test function starting with the resets, so that what
/// the package's earlier tests left set does not change what they see.
pub(super) fn with_resets(tests: &str, resets: &[String]) -> String {
    let mut out = String::with_capacity(tests.len());
    for line in tests.split_inclusive('\n') {
        out.push_str(line);
        if line.starts_with("func Test") && line.ends_with("(t *testing.T) {\n") {
            for (i, reset) in resets.iter().enumerate() {
                let why = if i == 0 { " // as the package's tests do: a test before may have left it set" } else { "" };
                out.push_str(&format!("\t{reset}{why}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// uuid's `NewDCESecurity(42, 1)`: another UUID in each process (the node
    /// id is random, the clock sequence too), the same domain, id, version
    /// and variant — what its test asserts; its `Time()` agrees between two
    /// runs a second apart only because the clock's high part moves slowly.
    #[test]
    fn what_a_value_that_differs_between_runs_held_in_both_is_asserted() {
        let target = Target {
            calls: vec![vec!["42".into(), "1".into()]],
            returns: Some("(UUID, error)".into()),
            module: Some("uuid".into()),
            ..Target::new(Language::Go, "NewDCESecurity")
        };
        let run = |bytes: &str, id: &str| {
            format!(
                "{MARK} 0 \"uuid.UUID{{{bytes}}}\"\n{MARK} 0 prop got.Domain() uuid.Domain \"0x2a\"\n{MARK} 0 prop got.ID() uint32 \"{id}\"\n{MARK} 0 prop got.Time() uuid.Time \"140159832433885185\"\n{MARK} 0 prop got.String() string \"\\\"00000001-{bytes}\\\"\"\n{MARK} 0 prop got.Next() time.Month \"0x1\"\n{MARK} 0 prop len(got) int \"16\"\n{MARK} 0 prop os.Exit(1) int \"1\"\n"
            )
        };
        let first = run("0x0, 0x1", "0x1");
        assert_eq!(
            properties(&target, &first)[0],
            [
                ("got.Domain()".to_owned(), "Domain(42)".to_owned()),
                ("got.ID()".to_owned(), "1".to_owned()),
                ("got.String()".to_owned(), "\"00000001-0x0, 0x1\"".to_owned()),
                ("len(got)".to_owned(), "16".to_owned()),
            ],
            "the clock's, another package's type and what is no accessor are left out"
        );
        // The same in both runs: pinned as it is.
        assert_eq!(super::super::observed_twice(&target, &first, &first), [Observed::Value("UUID{0x0, 0x1}".into())]);
        let seen = super::super::observed_twice(&target, &first, &run("0x0, 0x2", "0x1"));
        let Observed::Differs(held) = &seen[0] else { panic!("{seen:?}") };
        assert_eq!(held.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), ["got.Domain()", "got.ID()", "len(got)"]);
        let test = test(&target, 1, &target.calls[0], &seen[0]).expect("a test");
        assert!(test.contains("\tgot, err := NewDCESecurity(42, 1)\n\tif err != nil {"), "{test}");
        assert!(
            test.contains("\tif v := got.Domain(); v != Domain(42) {\n\t\tt.Errorf(\"NewDCESecurity(42, 1): got.Domain() = %#v, want %#v\", v, Domain(42))"),
            "{test}"
        );
        assert!(!test.contains("String()") && !test.contains("Time()"), "{test}");
        // Nothing held in both (the user's id seen as another user): no test, and why.
        let bare = format!("{MARK} 0 \"uuid.UUID{{0x1}}\"\n");
        let seen = super::super::observed_twice(&target, &bare, &format!("{MARK} 0 \"uuid.UUID{{0x2}}\"\n"));
        assert_eq!(seen, [Observed::Differs(Vec::new())]);
        assert!(super::super::tests(&target, &seen).is_none());
        assert!(super::super::differed(&target, &seen));
        assert!(of_the_clock("ClockSequence") && of_the_clock("uuid.Time") && of_the_clock("got.UnixNano()"));
        assert!(!of_the_clock("got.Domain()") && !of_the_clock("NodeID") && !of_the_clock("Known"));
    }

    /// uuid's `encodeHex(dst []byte, uuid UUID)` returns nothing: it writes
    /// into `dst`, 36 bytes as `String` makes it. The test makes the buffer,
    /// calls, and compares what it holds after.
    #[test]
    fn a_buffer_the_function_writes_into_is_what_its_test_asserts() {
        let file = "package uuid\n\ntype UUID [16]byte\n\nfunc (uuid UUID) String() string {\n\tvar buf [36]byte\n\tencodeHex(buf[:], uuid)\n\treturn string(buf[:])\n}\n\nfunc encodeHex(dst []byte, uuid UUID) {\n\thex.Encode(dst, uuid[:4])\n\tdst[8] = '-'\n}\n\nfunc fill(n int, out []byte) {\n\tcopy(out, \"x\")\n}\n\nfunc g() {\n\tb := make([]byte, 8)\n\tfill(1, b)\n}\n\nfunc read(src []byte) {\n\t_ = src[0]\n}\n";
        let found = |name: &str| {
            let doc = context::SyntaxDocument::new(Language::Go, file.to_owned());
            let at = file.find(&format!("func {name}(")).expect("declared");
            let tree = doc.tree().expect("parsed");
            let node = tree.root_node().descendant_for_byte_range(at, at).expect("node");
            let node = std::iter::successors(Some(node), |n| n.parent())
                .find(|n| n.kind() == "function_declaration")
                .expect("a function");
            output_buffer(name, node, file)
        };
        assert_eq!(found("encodeHex"), Some((0, "dst".to_owned(), 36)));
        assert_eq!(found("fill"), Some((1, "out".to_owned(), 8)));
        assert_eq!(found("read"), None, "only read");
        // rs/xid's `encode(dst, id []byte)`, its buffer `make([]byte, encodedLen)`.
        assert_eq!(
            constant_of("const (\n\tencodedLen = 20 // string encoded len\n\trawLen     = 12\n)\n", "encodedLen"),
            Some(20)
        );
        assert_eq!(constant_of("const rawLen = 12\n", "rawLen"), Some(12));
        assert_eq!(constant_of("var encodedLenX = 3\n", "encodedLen"), None);
        assert_eq!(constant_of("const n = f()\n", "n"), None);
        let target = Target {
            calls: vec![vec!["make([]byte, 36)".into(), "UUID{}".into()]],
            returns: Some("[]byte".into()),
            module: Some("uuid".into()),
            mutated: vec![Mutated { index: 0, name: "dst".into(), ty: "[]byte".into() }],
            ..Target::new(Language::Go, "encodeHex")
        };
        assert!(
            probe(&target).contains(
                "func() (string, interface{}) { dst := make([]byte, 36); encodeHex(dst, UUID{}); return fmt.Sprintf(\"%#v\", dst), nil },"
            ),
            "{}",
            probe(&target)
        );
        let test =
            test(&target, 1, &target.calls[0], &Observed::Value("[]byte{0x30, 0x2d, 0x22}".into())).expect("a test");
        assert_eq!(
            test,
            "\nfunc Test_encodeHex_1(t *testing.T) {\n\tdst := make([]byte, 36)\n\tencodeHex(dst, UUID{})\n\tif got := string(dst); got != \"0-\\\"\" {\n\t\tt.Errorf(\"after encodeHex(dst, UUID{}), dst = %q, want %q\", got, \"0-\\\"\")\n\t}\n}\n"
        );
        let binary =
            super::test(&target, 2, &target.calls[0], &Observed::Value("[]byte{0x0, 0x1}".into())).expect("a test");
        assert!(binary.contains("if !reflect.DeepEqual(dst, []byte{0x0, 0x1}) {"), "{binary}");
    }

    /// The probe compiles in a module that says `go 1.16` (uuid's): no `any`.
    #[test]
    fn the_probe_prints_what_values_hold_without_newer_go() {
        let target = Target {
            calls: vec![vec![]],
            returns: Some("[]byte".into()),
            module: Some("uuid".into()),
            ..Target::new(Language::Go, "NodeID")
        };
        let probe = probe(&target);
        assert!(probe.contains("pairedProperties(i, value)") && probe.contains("\t\"reflect\"\n"), "{probe}");
        assert!(!probe.contains(" any") && !probe.contains("(any"), "{probe}");
        assert!(PROPERTIES.contains(&format!("\"{MARK} %d prop len(got) int %q")), "the marker the parser reads");
    }

    /// go-humanize's `ParseBytes("84 ")` is a `uint64` that `%#v` writes as
    /// `0x54`: the test compares with 84.
    #[test]
    fn unsigned_numbers_are_written_in_decimal() {
        assert_eq!(literal_of("humanize", "uint64", "0x54").as_deref(), Some("84"));
        assert_eq!(literal_of("humanize", "uint", "0x0").as_deref(), Some("0"));
        assert_eq!(literal_of("humanize", "int", "-7").as_deref(), Some("-7"));
        assert_eq!(literal_of("uuid", "Version", "uuid.Version(0x4)").as_deref(), Some("Version(0x4)"));
    }

    #[test]
    fn resets_are_the_package_tests_own_set_nil_calls_of_its_setters() {
        let tests = [
            "func TestBad(t *testing.T) {\n\tSetRand(badRand{})\n\tSetRand(nil)\n\tx.SetOther(nil)\n\tSetLogger(nil) // back\n\tSetRand(nil)\n\tSetMissing(nil)\n\tReset(nil)\n}\n",
        ];
        let package =
            ["package uuid\n\nfunc SetRand(r io.Reader) {}\nfunc SetMissingNot() {}\nfunc Reset(x *int) {}\n"];
        assert_eq!(super::resets(&tests, &package), ["SetRand(nil)"]);
        assert!(super::resets(&tests, &[]).is_empty());
    }

    #[test]
    fn resets_start_every_test_function() {
        let tests = "\nfunc TestNew_1(t *testing.T) {\n\tif got := New(); got == nil {\n\t}\n}\n\nfunc TestNew_2(t *testing.T) {\n\tx := 1\n}\n";
        let out = super::with_resets(tests, &["SetRand(nil)".into(), "SetHook(nil)".into()]);
        assert_eq!(out.matches("\tSetRand(nil) // as the package's tests do").count(), 2);
        assert_eq!(out.matches("\tSetHook(nil)\n").count(), 2);
        assert!(out.contains("func TestNew_2(t *testing.T) {\n\tSetRand(nil)"), "{out}");
        assert_eq!(super::with_resets(tests, &[]), tests);
    }

    /// go-humanize-like `Fields(s string) []string`: a slice compared whole.
    #[test]
    fn a_slice_result_is_compared_with_reflect() {
        assert_eq!(shape("[]string"), Some(Shape::Value));
        assert_eq!(shape("([]byte, error)"), Some(Shape::ValueAndError));
        assert_eq!(shape("[]*Node"), None);
        assert_eq!(
            literal_of("p", "[]string", r#"[]string{"a, b", "c\"d"}"#).as_deref(),
            Some(r#"[]string{"a, b", "c\"d"}"#)
        );
        assert_eq!(literal_of("p", "[]byte", "[]byte{0x1, 0xff}").as_deref(), Some("[]byte{0x1, 0xff}"));
        assert_eq!(literal_of("p", "[]int", "[]int{}").as_deref(), Some("[]int{}"));
        assert_eq!(literal_of("p", "[]int", "[]int(nil)").as_deref(), Some("[]int(nil)"));
        assert_eq!(literal_of("p", "[]string", "[]string{x}"), None, "not a literal");
        assert_eq!(literal_of("p", "[]string", r#"[]string{"a}"#), None, "left open");
        let target = Target {
            returns: Some("[]string".into()),
            module: Some("p".into()),
            ..Target::new(Language::Go, "Fields")
        };
        let args = vec!["\"a b\"".to_owned()];
        let test = test(&target, 1, &args, &Observed::Value("[]string{\"a\", \"b\"}".into())).expect("a test");
        assert!(
            test.contains("if got := Fields(\"a b\"); !reflect.DeepEqual(got, []string{\"a\", \"b\"}) {"),
            "{test}"
        );
        assert_eq!(imports_in(&test), ["reflect"]);
    }

    #[test]
    fn quoted_values_become_literals_only_of_the_result_type() {
        let target = |returns: &str| Target {
            calls: vec![vec!["1".into()]],
            returns: Some(returns.into()),
            module: Some("p".into()),
            ..Target::new(Language::Go, "F")
        };
        assert_eq!(observed(&target("string"), r#""\"a\\tb\"""#), Observed::Value("\"a\\tb\"".into()));
        assert_eq!(observed(&target("(int, error)"), r#""42""#), Observed::Value("42".into()));
        assert_eq!(observed(&target("(int, error)"), r#""error""#), Observed::Fails(Some("error".into())));
        // Whatever else the code printed is never pasted into a test.
        assert_eq!(observed(&target("string"), r#""\"a\" + os.Getenv(\"X\")""#), Observed::Opaque);
        assert_eq!(observed(&target("int"), r#""os.Exit(1)""#), Observed::Opaque);
        assert_eq!(observed(&target("bool"), r#""1""#), Observed::Opaque);
        assert_eq!(test_name("xtob", 2), "Test_xtob_2");
        assert_eq!(test_name("Parse", 1), "TestParse_1");
        assert_eq!(test_name("_hidden", 1), "Test__hidden_1");
        // The package's own array type, without the package's name.
        assert_eq!(
            observed(&target("(UUID, error)"), r#""p.UUID{0x1, 0xff}""#),
            Observed::Value("UUID{0x1, 0xff}".into())
        );
        assert_eq!(observed(&target("UUID"), r#""p.UUID{Name:"x"}""#), Observed::Opaque);
        // A named number or text type: `%#v` writes the bare constant.
        assert_eq!(observed(&target("Level"), r#""0x2""#), Observed::Value("0x2".into()));
        assert_eq!(observed(&target("ID"), r#""\"abc\"""#), Observed::Value("\"abc\"".into()));
        assert_eq!(observed(&target("ID"), r#""os.Getenv(\"X\")""#), Observed::Opaque);
        // Several results: each a literal of its own type, or nothing.
        assert_eq!(result_types("(lo, hi byte)"), ["byte", "byte"]);
        assert_eq!(result_types("(u UUID, err error)"), ["UUID", "error"]);
        assert_eq!(result_types("(byte, bool)"), ["byte", "bool"]);
        let pair = target("(byte, bool)");
        assert_eq!(observed(&pair, r#""0x12\x1ftrue""#), Observed::Value("0x12\u{1f}true".into()));
        assert_eq!(observed(&pair, r#""0x12\x1f1""#), Observed::Opaque);
        assert_eq!(observed(&pair, r#""0x12""#), Observed::Opaque);
        let test = test(&pair, 1, &["1".into()], &Observed::Value("0x12\u{1f}true".into())).expect("a test");
        assert!(test.contains("got, got1 := F(1)\n\tif got != 0x12 || got1 != true {"), "{test}");
        assert!(
            probe(&pair).contains(r#"got, got1 := F(1); return fmt.Sprintf("%#v\x1f%#v", got, got1)"#),
            "{}",
            probe(&pair)
        );
        assert_eq!(observed(&target("UUID"), r#""q.UUID{0x1}""#), Observed::Opaque);
    }

    #[test]
    fn inputs_of_the_standard_librarys_interfaces_and_the_packages_own_types() {
        let file = "package p\n\ntype UUID [4]byte\ntype Version byte\ntype Name string\n\nvar (\n\tNil = UUID{}\n\tnotMine = 1\n)\nvar Max = UUID{0xff}\n";
        let of = |ty: &str, guess: bool| values(ty, &[], &[], file, guess);
        assert_eq!(of("UUID", false).expect("declared"), ["UUID{}", "UUID{0x1, 0x2, 0x3, 0x4}"]);
        assert_eq!(of("Version", false).expect("declared"), ["Version(0)", "Version(1)"]);
        // A string type's literals are not numbers; a type declared elsewhere
        // takes the values the file exports, and only when nothing better is known.
        assert_eq!(of("Name", true).expect("a string type"), ["Name(\"\")", "Name(\"abc\")"]);
        // (`Nil` and `Max` are `UUID`s: not guessed for a `Domain`.)
        assert_eq!(of("Domain", true), None);
        assert_eq!(of("Domain", false), None);
        let other = "package p\n\nvar ErrBad = errors.New(\"bad\")\nvar Default = Config{N: 1}\nvar Name = \"x\"\nvar Typed Config = make()\nvar Mine Domain = load()\nvar Guess = Must(Parse(\"x\"))\n";
        assert_eq!(values("Domain", &[], &[], other, true).expect("guesses"), ["Mine", "Guess"]);
        assert_eq!(of("io.Reader", false).expect("readers").len(), 2);
        assert_eq!(of("error", false).expect("errors"), ["nil", "errors.New(\"boom\")"]);
        assert_eq!(of("io.Writer", true), None);
        // Slices of basic types; the tests' own slices fit them, nothing else does.
        let words = values("[]string", &["\"a,b\"".into()], &[], file, false).expect("string slices");
        assert_eq!(words, ["nil", "[]string{}", "[]string{\"abc\"}", "[]string{\"abc\", \"a,b\"}"]);
        assert_eq!(of("[]int", false).expect("int slices")[3], "[]int{1, -7}");
        assert_eq!(of("[]io.Reader", false), None);
        assert!(fits("[]string", "[]string{\"x\", \"y\"}") && fits("[]string", "nil"));
        assert!(!fits("[]string", "[]int{1}") && !fits("[]string", "\"x\""));
        // What a call's text needs imported, sorted; a name that only ends so does not count.
        assert_eq!(
            imports_in("F(sha1.New(), strings.NewReader(\"\"), errors.New(\"x\"))"),
            ["crypto/sha1", "errors", "strings"]
        );
        assert!(imports_in("F(mystrings.X, a.strings.Y)").is_empty());
        // Text that merely mentions a package uses none.
        assert!(imports_in(r#"Summary(1, "no errors.", `see strings.Split`, '"')"#).is_empty());
        assert_eq!(imports_in(r#"F("a\"b", errors.New("x"))"#), ["errors"]);
        let target = Target {
            calls: vec![vec!["md5.New()".into()]],
            returns: Some("UUID".into()),
            module: Some("p".into()),
            ..Target::new(Language::Go, "F")
        };
        assert!(
            probe(&target).starts_with(
                "package p\n\nimport (\n\t\"crypto/md5\"\n\t\"fmt\"\n\t\"reflect\"\n\t\"runtime\"\n\t\"testing\"\n)\n"
            ) && probe(&target).contains("if _, crash := r.(runtime.Error); crash {"),
            "{}",
            probe(&target)
        );
    }

    #[test]
    fn a_setter_is_tested_through_its_getter_and_put_back() {
        let file = "package p\n\nfunc ClockSequence() int {\n\treturn 1\n}\n\nfunc clockSequence() int {\n\treturn 1\n}\n\nfunc Label() string { return \"\" }\n";
        assert_eq!(getter_of("SetClockSequence", "int", file), Some(("ClockSequence".into(), "int".into())));
        assert_eq!(getter_of("setClockSequence", "int", file), Some(("clockSequence".into(), "int".into())));
        // Another type, no getter, or not a setter's name: not one.
        assert_eq!(getter_of("SetClockSequence", "uint16", file), None);
        assert_eq!(getter_of("SetRand", "io.Reader", file), None);
        assert_eq!(getter_of("Settle", "int", file), None);
        let get = "func GetLevel() Level {\n\treturn level\n}\n";
        assert_eq!(getter_of("SetLevel", "Level", get), Some(("GetLevel".into(), "Level".into())));
        assert_eq!(getter_of("SetLabel", "string", file).map(|g| g.0), Some("Label".into()));
        let target = Target {
            calls: vec![vec!["-7".into()]],
            returns: Some("int".into()),
            module: Some("p".into()),
            reads: Some("ClockSequence".into()),
            ..Target::new(Language::Go, "SetClockSequence")
        };
        assert!(
            probe(&target)
                .contains("func() (string, interface{}) { old := ClockSequence(); SetClockSequence(-7); got := ClockSequence(); SetClockSequence(old); if ClockSequence() != old { return \"not restored\", nil }; return fmt.Sprintf(\"%#v\", got), nil },")
        );
        assert_eq!(observed(&target, "\"not restored\""), Observed::Opaque);
        let test = test(&target, 1, &["-7".into()], &Observed::Value("16377".into())).expect("a test");
        assert!(
            test.contains("\told := ClockSequence()\n\tdefer SetClockSequence(old)\n\tSetClockSequence(-7)\n\tif got := ClockSequence(); got != 16377 {"),
            "{test}"
        );
        // A value that differs from call to call says nothing of the setter.
        assert_eq!(super::test(&target, 1, &["-1".into()], &Observed::Varies(vec!["1".into(), "2".into()])), None);
    }

    /// Random UUIDs as the probe prints them (`%q` of `%#v`), version 4.
    fn random_uuids(seed: u64, time_based: bool) -> Vec<String> {
        let mut state = seed;
        (0..SAMPLES as u64)
            .map(|n| {
                let mut bytes = [0u8; 16];
                for b in &mut bytes {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    *b = state as u8;
                }
                if time_based {
                    // A clock: the low bytes count up, the rest stays for now.
                    bytes[..8].copy_from_slice(&(0x01f1_3621_0000_0000u64 + n * 37).to_be_bytes());
                    bytes[8..].copy_from_slice(&[0x9f, 0xcb, 0x0d, 0x97, 0x69, 0x1a, 0x2b, 0x3c]);
                } else {
                    bytes[6] = (bytes[6] & 0x0f) | 0x40;
                    bytes[8] = (bytes[8] & 0x3f) | 0x80;
                }
                let inner: Vec<String> = bytes.iter().map(|b| format!("{b:#x}")).collect();
                format!("{:?}", format!("p.UUID{{{}}}", inner.join(", ")))
            })
            .collect()
    }

    #[test]
    fn values_that_vary_are_tested_for_what_they_share() {
        let target = |returns: &str| Target {
            calls: vec![vec![]],
            returns: Some(returns.into()),
            module: Some("p".into()),
            ..Target::new(Language::Go, "NewRandom")
        };
        let uuids = random_uuids(7, false);
        let lines: Vec<&str> = uuids.iter().map(String::as_str).collect();
        let seen = varies(&target("(UUID, error)"), &lines);
        let Observed::Varies(values) = &seen else { panic!("{seen:?}") };
        let test = varied_test(&target("(UUID, error)"), 1, &[], values).expect("a test");
        assert!(test.contains("again, err2 := NewRandom()") && test.contains("if got == again"), "{test}");
        assert!(test.contains("if got[6]&0xf0 != 0x40") && test.contains("if got[8]&0xc0 != 0x80"), "{test}");
        assert_eq!(test.matches("!= 0x").count(), 2, "only the version and variant bits: {test}");
        // The clock: values differ, but no byte that merely did not change yet.
        let clock = random_uuids(7, true);
        let lines: Vec<&str> = clock.iter().map(String::as_str).collect();
        let Observed::Varies(values) = varies(&target("UUID"), &lines) else { panic!("distinct values") };
        let test = varied_test(&target("UUID"), 1, &[], &values).expect("a test");
        assert!(test.contains("if got == again") && !test.contains("got["), "{test}");
        // Strings: the dashes and the version character of a random UUID.
        let strings: Vec<String> = uuids
            .iter()
            .map(|u| {
                let bytes: Vec<u8> = unescaped(u).expect("quoted")["p.UUID{".len()..]
                    .trim_end_matches('}')
                    .split(", ")
                    .map(|b| u8::from_str_radix(&b[2..], 16).expect("hex"))
                    .collect();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let text = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
                format!("{:?}", format!("{text:?}"))
            })
            .collect();
        let lines: Vec<&str> = strings.iter().map(String::as_str).collect();
        let Observed::Varies(values) = varies(&target("string"), &lines) else { panic!("strings vary") };
        let test = varied_test(&target("string"), 1, &[], &values).expect("a test");
        for check in ["len(got) != 36", "got[8] != '-'", "got[14] != '4'", "got[23] != '-'"] {
            assert!(test.contains(check), "{check} in {test}");
        }
        // Too few values to share anything: the first, as a single call would have given it.
        assert!(
            matches!(varies(&target("string"), &lines[..8]), Observed::Value(v) if v == unescaped(lines[0]).expect("quoted"))
        );
    }
}
