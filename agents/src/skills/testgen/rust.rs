//! Rust: what a test asserts of a value the probe printed with `Debug`.
//! Compared as a value where the type allows it (`assert_eq!(parse("1s"),
//! Ok(Duration::from_secs(1)))`), through `unwrap()` where the value
//! compares but its wrapper does not (an error type without `PartialEq`,
//! a `Cow<str>` against `"…"`), matched where only the pattern can be
//! written (`matches!(try_quote(b"\0"), Err(QuoteError::Nul))`), and by its
//! `Debug` text last — with the macro a `no_std` crate's tests can reach.

use super::{Target, is_rust_string_literal, unescaped};

/// The assertion a test makes of `call`, which printed `debug` (its `Debug`
/// form as a string literal); none where no honest one can be written (a
/// value whose `Debug` shows private fields, in a crate whose tests cannot
/// format).
pub(super) fn assertion(target: &Target, call: &str, debug: &str) -> Option<String> {
    let returns = target.returns.as_deref().unwrap_or("").trim();
    let text = unescaped(debug)?;
    if let Some(Expected { access, literal, ty, .. }) = expected(returns, &text, target) {
        let value = format!("{call}{access}");
        return Some(match literal.as_str() {
            // As clippy would have it: no comparison with a bool, or with `None`.
            "true" => format!("assert!({value});"),
            "false" => format!("assert!(!{value});"),
            "None" => format!("assert!({value}.is_none());"),
            EMPTY => format!("assert!({value}.is_empty());"),
            // A float the arithmetic rounded (`0.47222222222222215`):
            // within a margin, not to its last bit.
            literal if is_long_float(&ty, literal) => format!("assert!(({value} - {literal}).abs() < 1e-9);"),
            literal => format!("assert_eq!({value}, {literal});"),
        });
    }
    if let Some(pattern) = pattern(returns, &text, target) {
        return Some(format!("assert!(matches!({call}, {pattern}));"));
    }
    // A value showing a type's private fields: what kind it is.
    if shows_hidden(debug, &target.hidden) {
        let check = ["Ok(", "Err(", "Some("]
            .iter()
            .zip(["is_ok", "is_err", "is_some"])
            .find_map(|(variant, check)| text.starts_with(variant).then_some(check))?;
        return Some(format!("assert!({call}.{check}());"));
    }
    let format = target.debug_format?;
    // A `no_std` crate's test brings `std` in itself (tests always have it).
    let std = if format.starts_with("std::") { "extern crate std;\n        " } else { "" };
    Some(format!("{std}assert_eq!({format}(\"{{:?}}\", {call}), {debug});"))
}

/// A call whose `&mut` arguments are variables bound first: the `let mut`
/// lines and the call (`append(&mut string, 0)`).
pub(super) fn bound_call(target: &Target, args: &[String]) -> (Vec<String>, String) {
    let mut lets = Vec::new();
    let written: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(i, arg)| match target.mutated.iter().find(|m| m.index == i) {
            Some(m) => {
                lets.push(format!("let mut {} = {arg};", m.name));
                format!("&mut {}", m.name)
            }
            None => arg.clone(),
        })
        .collect();
    (lets, format!("{}({})", target.called(), written.join(", ")))
}

/// The body of a test of a call with `&mut` arguments, which printed
/// `debug` (its result's `Debug` and each argument's after, as one string
/// literal): the variables bound, the call, what it returned where that can
/// be asserted, and what each argument holds.
pub(super) fn mutated_test(target: &Target, args: &[String], debug: &str) -> Option<String> {
    let text = unescaped(debug)?;
    let parts: Vec<&str> = text.split('\u{1f}').collect();
    let [result, after @ ..] = parts.as_slice() else { return None };
    if after.len() != target.mutated.len() {
        return None;
    }
    let (lets, call) = bound_call(target, args);
    let mut lines = lets;
    let returns = target.returns.as_deref().map(str::trim).filter(|r| *r != "()");
    match returns.and_then(|_| assertion(target, "got", &format!("{result:?}"))) {
        Some(check) => {
            lines.push(format!("let got = {call};"));
            lines.push(check);
        }
        None if returns.is_some() => lines.push(format!("let _ = {call};")),
        None => lines.push(format!("{call};")),
    }
    for (m, value) in target.mutated.iter().zip(after) {
        let written = Target { returns: Some(m.ty.clone()), ..target.clone() };
        lines.push(assertion(&written, &m.name, &format!("{value:?}"))?);
    }
    Some(lines.join("\n        "))
}

/// An empty sequence: asserted with `is_empty()` (`[]` alone has no type).
const EMPTY: &str = "[]";

/// What a value is compared with: `{call}{access} == {literal}`, `ty` the
/// type compared.
struct Expected {
    /// `.unwrap()`s down to the part that compares.
    access: String,
    literal: String,
    ty: String,
    /// The literal is of the type itself (`"a"` for a `&str`), not only
    /// one it compares with (`"a"` for a `String` or a `Cow<str>`, `[…]`
    /// for a `Vec`): it can stand inside `Some(…)`/`Ok(…)`.
    exact: bool,
}

impl Expected {
    /// `literal` compared with the whole value (of type `ty`).
    fn whole(literal: String, ty: &str, exact: bool) -> Expected {
        Expected { access: String::new(), literal, ty: ty.to_owned(), exact }
    }
}

/// How a value of type `ty` whose `Debug` form is `text` is compared: a
/// literal of the same type (`exact`), or one it compares with.
fn expected(ty: &str, text: &str, target: &Target) -> Option<Expected> {
    let (outer, params) = generics(ty)?;
    // `io::Result<T>` is a `Result<T, io::Error>`.
    let (outer, params) = match (outer, params.as_slice()) {
        ("io::Result" | "std::io::Result", [ok]) => ("Result", vec![*ok, "std::io::Error"]),
        _ => (outer, params),
    };
    let wrapped = |variant: &str| text.strip_prefix(variant)?.strip_prefix('(')?.strip_suffix(')');
    // A wrapped value compares as the wrapper when its literal is of its
    // own type and the wrapper's other side compares too; else unwrapped.
    let inside = |wrapper: &str, inner: &str, value: &str, other_compares: bool| {
        let found = expected(inner, value, target)?;
        Some(if found.access.is_empty() && found.exact && other_compares {
            Expected::whole(format!("{wrapper}({})", found.literal), ty, true)
        } else {
            Expected { access: format!(".unwrap(){}", found.access), ..found }
        })
    };
    match (outer, params.as_slice()) {
        ("Option", [inner]) => match text {
            "None" => Some(Expected::whole("None".into(), ty, true)),
            _ => inside("Some", inner, wrapped("Some")?, true),
        },
        ("Result", [ok, err]) => match (wrapped("Ok"), wrapped("Err")) {
            (Some(value), _) => inside("Ok", ok, value, comparable(err, target)),
            (_, Some(error)) => {
                let found = expected(err, error, target)?;
                (comparable(ok, target) && found.access.is_empty() && found.exact)
                    .then(|| Expected::whole(format!("Err({})", found.literal), ty, true))
            }
            _ => None,
        },
        ("Cow" | "String" | "&str" | "&'static str", _) if is_str(ty) && is_rust_string_literal(text) => {
            Some(Expected::whole(text.to_owned(), ty, matches!(outer, "&str" | "&'static str")))
        }
        _ if is_bytes(ty) => Some(Expected::whole(byte_string(text)?, ty, false)),
        // Compared as their OS strings: `Path`'s own `==` compares components
        // (`a//b/` equals `a/b`), which would not pin what a normalizer does.
        ("&T", [inner])
            if matches!(inner.rsplit("::").next(), Some("Path" | "OsStr")) && is_rust_string_literal(text) =>
        {
            let access = if inner.ends_with("Path") { ".as_os_str()" } else { "" };
            Some(Expected {
                access: access.into(),
                literal: format!("::std::ffi::OsStr::new({text})"),
                ty: ty.into(),
                exact: false,
            })
        }
        ("PathBuf" | "std::path::PathBuf" | "OsString" | "std::ffi::OsString", []) if is_rust_string_literal(text) => {
            let access = if outer.ends_with("PathBuf") { ".as_os_str()" } else { "" };
            Some(Expected {
                access: access.into(),
                literal: format!("::std::ffi::OsStr::new({text})"),
                ty: ty.into(),
                exact: false,
            })
        }
        // A reference to another value: compared as a reference to its literal.
        ("&T", [inner]) => {
            let found = expected(inner, text, target)?;
            (found.access.is_empty() && found.exact && found.literal != "None")
                .then(|| Expected::whole(format!("&{}", found.literal), ty, true))
        }
        ("Vec" | "&", [element]) => {
            let items = list(text)?;
            if items.is_empty() {
                return Some(Expected::whole(EMPTY.into(), ty, false));
            }
            // Not a list of lists: rows of different lengths are no array.
            let literals = items
                .iter()
                .map(|item| {
                    expected(element, item, target)
                        .filter(|e| e.access.is_empty() && !e.literal.starts_with('[') && e.literal != EMPTY)
                        .map(|e| e.literal)
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Expected::whole(format!("[{}]", literals.join(", ")), ty, false))
        }
        // A float compared within a margin cannot stand inside `Ok(…)`.
        _ => scalar(outer, text, target).map(|literal| {
            let exact = !is_long_float(ty, &literal);
            Expected::whole(literal, ty, exact)
        }),
    }
}

/// A literal of the scalar type `outer` (the last segment of its path)
/// for `text`: numbers, booleans, chars, `()`, a `Duration`, a unit
/// variant of one of the file's comparable enums (`Empty` → `Error::Empty`).
fn scalar(outer: &str, text: &str, target: &Target) -> Option<String> {
    if is_foreign(outer) && outer.rsplit("::").next() != Some("Duration") {
        return None;
    }
    let number = |s: &str| !s.is_empty() && s.trim_start_matches('-').chars().all(|c| c.is_ascii_digit());
    let float = |s: &str| s.parse::<f64>().is_ok_and(f64::is_finite) && s.contains('.');
    let name = outer.rsplit("::").next().unwrap_or(outer);
    match name {
        "bool" if matches!(text, "true" | "false") => Some(text.to_owned()),
        "f32" | "f64" if float(text) => Some(text.to_owned()),
        "char" if text.starts_with('\'') && text.ends_with('\'') && text.len() <= 12 => Some(text.to_owned()),
        int if is_integer(int) && number(text) => Some(text.to_owned()),
        "()" if text == "()" => Some("()".into()),
        "Duration" => duration(text).map(|(unit, n)| format!("{outer}::from_{unit}({n})")),
        _ => {
            let variants = || target.variants.iter().filter_map(|v| v.strip_prefix(name)?.strip_prefix("::"));
            if let Some(unit) = variants().find(|v| *v == text) {
                return Some(format!("{name}::{unit}"));
            }
            // A variant holding numbers, characters and booleans:
            // `InvalidHexCharacter { c: '\u{1}', index: 0 }`, `InvalidCharacter(3)`.
            variants()
                .any(|v| v.ends_with(['(', '{']) && text.starts_with(v) && simple_payload(&text[v.len()..]))
                .then(|| format!("{name}::{text}"))
        }
    }
}

/// A variant's payload as `Debug` writes it (`3)`, ` c: 'a', index: 0 }`),
/// when every value in it is a number, a character or a boolean: the text
/// is then the Rust that builds it.
fn simple_payload(payload: &str) -> bool {
    let Some(inner) = payload.strip_suffix([')', '}']) else { return false };
    inner.split(", ").all(|part| {
        let value = match part.split_once(": ") {
            Some((field, value)) => {
                if !field.trim().chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return false;
                }
                value
            }
            None => part,
        };
        let value = value.trim();
        // `3`, `-2.5`, `1e-7`; not a `Duration`'s `32ms` or a version's `1.2.3`.
        let number = value.parse::<f64>().is_ok_and(f64::is_finite)
            && value.trim_start_matches('-').starts_with(|c: char| c.is_ascii_digit());
        let character = value.len() <= 12
            && value.len() >= 3
            && value.starts_with('\'')
            && value.ends_with('\'')
            && !value[1..value.len() - 1].contains(", ");
        number || character || matches!(value, "true" | "false")
    })
}

/// Whether values of type `ty` compare with `==` as far as this module
/// can tell: numbers, booleans, text, `()`, and the file's enums that
/// derive `PartialEq` (an error type the file does not declare may not).
fn comparable(ty: &str, target: &Target) -> bool {
    let Some((outer, params)) = generics(ty) else { return false };
    let name = outer.rsplit("::").next().unwrap_or(outer);
    // `std::io::Error`, `serde_json::Error`: another crate's, whatever the file declares.
    if is_foreign(outer) && !matches!(name, "Duration" | "String" | "Cow" | "Option" | "Vec" | "Result") {
        return false;
    }
    match (name, params.as_slice()) {
        ("Option" | "Vec" | "Box", [inner]) => comparable(inner, target),
        ("Result", [ok, err]) => comparable(ok, target) && comparable(err, target),
        ("bool" | "char" | "f32" | "f64" | "()" | "String" | "&str" | "&'static str" | "Duration" | "Cow", _) => true,
        (int, []) if is_integer(int) => true,
        (_, []) => target.variants.iter().any(|v| v.strip_prefix(name).is_some_and(|r| r.starts_with("::"))),
        _ => false,
    }
}

/// A pattern `matches!` can test a value of type `ty` against, where no
/// literal compares: a unit variant of any of the file's enums, inside
/// `Ok`/`Err`/`Some` (`Err(QuoteError::Nul)`), `PartialEq` or not.
fn pattern(ty: &str, text: &str, target: &Target) -> Option<String> {
    let (outer, params) = generics(ty)?;
    let wrapped = |variant: &str| text.strip_prefix(variant)?.strip_prefix('(')?.strip_suffix(')');
    match (outer, params.as_slice()) {
        ("Option", [inner]) => Some(format!("Some({})", pattern(inner, wrapped("Some")?, target)?)),
        ("Result", [ok, err]) => match (wrapped("Ok"), wrapped("Err")) {
            (Some(value), _) => Some(format!("Ok({})", pattern(ok, value, target)?)),
            (_, Some(error)) => Some(format!("Err({})", pattern(err, error, target)?)),
            _ => None,
        },
        (_, []) => {
            let name = outer.rsplit("::").next().unwrap_or(outer);
            target
                .patterns
                .iter()
                .find(|v| v.strip_prefix(name).and_then(|r| r.strip_prefix("::")) == Some(text))
                .cloned()
        }
        _ => None,
    }
}

/// `Result<Duration, Error>` → `("Result", ["Duration", "Error"])`;
/// `&[u8]` → `("&", ["u8"])`; `&'a str` → `("&str", [])`; a path's
/// generic arguments, lifetimes left out.
fn generics(ty: &str) -> Option<(&str, Vec<&str>)> {
    let ty = ty.trim();
    if let Some(slice) = ty.strip_prefix('&') {
        let slice = slice.trim_start();
        let slice = if slice.starts_with('\'') { slice.split_once(' ')?.1.trim_start() } else { slice };
        let slice = slice.strip_prefix("mut ").unwrap_or(slice);
        if slice == "str" {
            return Some((
                if ty.contains('\'') && ty.contains("static") { "&'static str" } else { "&str" },
                Vec::new(),
            ));
        }
        // A reference to anything else: `("&T", [T])`.
        let Some(element) = slice.strip_prefix('[').and_then(|s| s.strip_suffix(']')) else {
            return Some(("&T", vec![slice.trim()]));
        };
        return (!element.contains(';')).then(|| ("&", vec![element.trim()]));
    }
    let Some((outer, rest)) = ty.split_once('<') else { return Some((ty, Vec::new())) };
    let params = split_generics(rest.strip_suffix('>')?).into_iter().filter(|p| !p.starts_with('\'')).collect();
    Some((outer.trim(), params))
}

/// Whether a type's path leaves the crate (`std::io::Error`, `io::Error`):
/// not one of the file's own enums, whose name it may share.
fn is_foreign(path: &str) -> bool {
    path.contains("::") && !["crate::", "self::", "super::"].iter().any(|own| path.starts_with(own))
}

fn is_integer(name: &str) -> bool {
    matches!(name, "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize")
}

/// `String`, `&str`, `Cow<str>`: text a string literal compares with.
fn is_str(ty: &str) -> bool {
    match generics(ty) {
        Some(("String" | "&str" | "&'static str", params)) => params.is_empty(),
        Some(("Cow", params)) => params.as_slice() == ["str"],
        _ => false,
    }
}

/// `Vec<u8>`, `&[u8]`, `Cow<[u8]>`, `Box<[u8]>`: bytes, compared with a
/// byte string.
fn is_bytes(ty: &str) -> bool {
    match generics(ty) {
        Some(("Vec" | "&", params)) => params.as_slice() == ["u8"],
        Some(("Cow", params)) => params.as_slice() == ["[u8]"],
        _ => false,
    }
}

/// Bytes' `Debug` form (`[39, 0, 97]`) as a byte string every byte type
/// compares with: `&b"'\0a"[..]`.
fn byte_string(text: &str) -> Option<String> {
    let items = list(text)?;
    let mut out = String::from("&b\"");
    for item in items {
        let byte: u8 = item.parse().ok()?;
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0 => out.push_str("\\0"),
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push_str("\"[..]");
    Some(out)
}

/// The items of a `Debug` list (`["a", "b,c"]`), split at its top-level
/// commas (strings and brackets kept whole).
fn list(text: &str) -> Option<Vec<&str>> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let (mut depth, mut start, mut items, mut quote, mut escaped) = (0usize, 0usize, Vec::new(), None::<char>, false);
    for (at, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote.is_some() => escaped = true,
            '"' | '\'' if quote == Some(c) => quote = None,
            _ if quote.is_some() => {}
            '"' | '\'' => quote = Some(c),
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(inner[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        items.push(inner[start..].trim());
    }
    Some(items)
}

/// Whether `literal` is an `f32`/`f64` (the type `ty` compared) with more
/// than six decimals.
fn is_long_float(ty: &str, literal: &str) -> bool {
    matches!(ty.trim(), "f64" | "f32")
        && literal
            .split_once('.')
            .is_some_and(|(_, decimals)| decimals.len() > 6 && decimals.chars().all(|c| c.is_ascii_digit()))
}

/// The type an associated function (`node`, a `function_item` with no
/// `self`) belongs to, as a call names it: `Version` for `impl Version`,
/// `Parser` for `impl<'a> Parser<'a>`; else why a test cannot call it
/// offline: a method, a trait's own function, a generic impl's.
pub(super) fn associated_type(node: tree_sitter::Node<'_>, text: &str) -> Result<Associated, &'static str> {
    const METHOD: &str = "is a method: a test needs an instance to call it on, which takes a model";
    let parameters = node.child_by_field_name("parameters").ok_or(METHOD)?;
    let mut cursor = parameters.walk();
    let takes_self =
        |p: tree_sitter::Node<'_>| p.kind() == "self_parameter" || text[p.byte_range()].starts_with("self");
    if parameters.named_children(&mut cursor).any(takes_self) {
        return Err(METHOD);
    }
    // The impl's (or trait's) own item, not a helper inside one of its functions.
    let item = node.parent().filter(|p| p.kind() == "declaration_list").and_then(|list| list.parent()).ok_or(METHOD)?;
    if item.kind() == "trait_item" {
        return Err("is a trait's own function: a test calls it through a type that implements the trait, \
                    which takes a model to choose");
    }
    let generic = "belongs to a generic impl: a test needs its type's parameters chosen, which takes a model";
    if let Some(generics) = item.child_by_field_name("type_parameters") {
        let mut cursor = generics.walk();
        if generics.named_children(&mut cursor).any(|g| !g.kind().contains("lifetime")) {
            return Err(generic);
        }
    }
    let ty = &text[item.child_by_field_name("type").ok_or(METHOD)?.byte_range()];
    // `Parser<'a>` → `Parser`: lifetimes are inferred; other arguments are not.
    let (name, arguments) = ty.split_once('<').unwrap_or((ty, ""));
    let only_lifetimes =
        arguments.trim_end_matches('>').split(',').all(|a| a.trim().is_empty() || a.trim().starts_with('\''));
    let name = name.trim();
    // A trait's function through the trait as the impl names it (`<Version
    // as FromStr>::from_str`): the type's own function of that name, or
    // another `From<…>`'s, would be another function.
    let trait_name = item.child_by_field_name("trait").map(|t| text[t.byte_range()].to_owned());
    (only_lifetimes && !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == ':'))
        .then(|| Associated { owner: name.to_owned(), trait_name })
        .ok_or(generic)
}

/// The type (and trait) an associated function belongs to.
pub(super) struct Associated {
    pub(super) owner: String,
    pub(super) trait_name: Option<String>,
}

impl Associated {
    /// How a test calls `name`: `Version::parse`, `<Version as FromStr>::from_str`.
    pub(super) fn callee(&self, name: &str) -> String {
        match &self.trait_name {
            Some(trait_name) => format!("<{} as {trait_name}>::{name}", self.owner),
            None => format!("{}::{name}", self.owner),
        }
    }
}

/// `ty` with the word `Self` read as `owner` (`Result<Self, Error>`).
pub(super) fn with_self_as(ty: &str, owner: &str) -> String {
    let mut out = String::new();
    let mut rest = ty;
    while let Some(at) = rest.find("Self") {
        let word = |c: char| c.is_alphanumeric() || c == '_';
        let standalone = !rest[..at].ends_with(word) && !rest[at + 4..].starts_with(word);
        out.push_str(&rest[..at]);
        out.push_str(if standalone { owner } else { "Self" });
        rest = &rest[at + 4..];
    }
    out.push_str(rest);
    out
}

/// `type HammingResult = Result<usize, StrSimError>;` in `file`: `ty`
/// with its alias undone (not a generic alias).
pub(super) fn unaliased(ty: &str, file: &str) -> String {
    let mut ty = ty.trim().to_owned();
    for _ in 0..4 {
        let found = file.match_indices("type ").find_map(|(at, _)| {
            let line_start = file[..at].rfind('\n').map_or(0, |n| n + 1);
            let before = file[line_start..at].trim();
            if !(before.is_empty() || before == "pub" || before.starts_with("pub(")) {
                return None;
            }
            let (name, rest) = file[at + "type ".len()..].split_once('=')?;
            (name.trim() == ty).then(|| rest.split(';').next().unwrap_or_default().trim().to_owned())
        });
        match found {
            Some(target) if !target.is_empty() => ty = target,
            _ => break,
        }
    }
    ty
}

/// The structs `file` declares with a field that is not `pub`.
pub(super) fn hidden_types(file: &str) -> Vec<String> {
    let mut hidden = Vec::new();
    for (at, _) in file.match_indices("struct ") {
        let rest = &file[at + "struct ".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let Some(open) = rest.find(['{', ';', '(']) else { continue };
        if name.is_empty() || !rest[open..].starts_with('{') {
            continue;
        }
        let body = &rest[open + 1..];
        let body = &body[..body.find('}').unwrap_or(body.len())];
        let private = body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('#'))
            .any(|field| !field.starts_with("pub") && field.contains(':'));
        if private && !hidden.contains(&name) {
            hidden.push(name);
        }
    }
    // The standard library's clocks print what the platform holds
    // (`SystemTime { tv_sec: …, tv_nsec: … }` on Unix only).
    for clock in ["SystemTime", "Instant"] {
        if file.contains(clock) {
            hidden.push(clock.to_owned());
        }
    }
    hidden
}

/// Whether a `Debug` form (as a string literal) shows a value of one of the
/// `hidden` types (`Paths { dir_patterns: …`).
pub(super) fn shows_hidden(debug: &str, hidden: &[String]) -> bool {
    hidden.iter().any(|name| {
        debug
            .match_indices(&format!("{name} {{"))
            .any(|(at, _)| !debug[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
    })
}

/// A type's generic arguments, split at top-level commas (`Vec<u8>, E`).
fn split_generics(args: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0usize, 0usize, Vec::new());
    for (at, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(args[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(args[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// A `Duration`'s `Debug` form (`9420s`, `32ms`, `4.2s`, `1.000000001s`,
/// `7µs`) as the largest whole unit that builds it exactly: `("secs", 9420)`,
/// `("millis", 4200)`.
fn duration(text: &str) -> Option<(&'static str, u128)> {
    let (digits, scale) = [("ns", 0u32), ("µs", 3), ("ms", 6), ("s", 9)].iter().find_map(|(unit, scale)| {
        text.strip_suffix(unit).filter(|d| !d.ends_with(['n', 'µ', 'm'])).map(|d| (d, *scale))
    })?;
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > scale as usize {
        return None;
    }
    let padded = format!("{whole}{fraction:0<width$}", width = scale as usize);
    let nanos: u128 = padded.parse().ok()?;
    [("secs", 1_000_000_000u128), ("millis", 1_000_000), ("micros", 1_000), ("nanos", 1)]
        .into_iter()
        .find(|(_, per)| nanos.is_multiple_of(*per))
        .map(|(unit, per)| (unit, nanos / per))
}

/// Adds to `target` the enums of the crate (`sources`: its files) that
/// `file` imports by name (`use crate::QuoteError;` in shlex's `bytes.rs`,
/// `pub use crate::error::FromHexError;` in hex's root): a test module's
/// `use super::*;` reaches them.
pub(super) fn add_imported_enums(target: &mut Target, sources: &str, file: &str) {
    let imported = |variant: &String| {
        let name = variant.split("::").next().unwrap_or_default();
        file.lines().map(str::trim).filter(|l| l.starts_with("use ") || l.starts_with("pub use ")).any(|l| {
            l.match_indices(name).any(|(at, _)| {
                let word = |c: char| c.is_alphanumeric() || c == '_';
                !l[..at].ends_with(word) && !l[at + name.len()..].starts_with(word)
            })
        })
    };
    for (found, into) in
        [(comparable_variants(sources), &mut target.variants), (unit_variants(sources), &mut target.patterns)]
    {
        for variant in found {
            if imported(&variant) && !into.contains(&variant) {
                into.push(variant);
            }
        }
    }
}

/// The unit variants of the enums `file` declares deriving `PartialEq`, as
/// `Enum::Variant`: compared as values.
pub(super) fn comparable_variants(file: &str) -> Vec<String> {
    enum_variants(file, true)
}

/// The unit variants of every enum `file` declares: matched as patterns.
pub(super) fn unit_variants(file: &str) -> Vec<String> {
    enum_variants(file, false)
}

fn enum_variants(file: &str, comparable_only: bool) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in file.match_indices("enum ") {
        // Its attributes: the lines just above.
        let above: Vec<&str> = file[..at]
            .lines()
            .rev()
            .skip(1)
            .map(str::trim)
            .take_while(|l| l.starts_with("#[") || l.starts_with("///"))
            .collect();
        let line = file[..at].rsplit('\n').next().unwrap_or_default();
        if comparable_only && !above.iter().chain([&line]).any(|l| l.contains("derive(") && l.contains("PartialEq")) {
            continue;
        }
        let rest = &file[at + "enum ".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let Some(open) = rest.find('{') else { continue };
        if name.is_empty() || rest[..open].contains(['<', ';']) {
            continue;
        }
        let mut depth = 0usize;
        let mut item = String::new();
        // Line by line up to the enum's end, comments left out: a doc
        // comment's `,` or `[` is no syntax.
        'body: for line in rest[open + 1..].lines() {
            for c in line.split("//").next().unwrap_or_default().chars().chain(['\n']) {
                match c {
                    '{' | '(' | '[' => depth += 1,
                    '}' if depth == 0 => break 'body,
                    '}' | ')' | ']' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                if c == ',' && depth == 0 {
                    variant(&name, &item, comparable_only, &mut found);
                    item.clear();
                } else {
                    item.push(c);
                }
            }
        }
        variant(&name, &item, comparable_only, &mut found);
    }
    found
}

/// `item` (one variant as written, attributes and docs included) as
/// `Enum::Variant` when it is a unit variant; with `payloads`, a tuple or
/// struct variant too, as `Enum::Variant(` or `Enum::Variant {`.
fn variant(enum_name: &str, item: &str, payloads: bool, found: &mut Vec<String>) {
    let code: Vec<&str> =
        item.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#[")).collect();
    let Some(first) = code.first() else { return };
    let name: String = first.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    let rest = first[name.len()..].trim_start();
    if name.is_empty() {
        return;
    }
    if code.len() == 1 && (rest.is_empty() || rest.starts_with('=')) {
        found.push(format!("{enum_name}::{name}"));
    } else if payloads && rest.starts_with('(') {
        found.push(format!("{enum_name}::{name}("));
    } else if payloads && rest.starts_with('{') {
        found.push(format!("{enum_name}::{name} {{"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use context::Language;

    fn target(returns: &str, file: &str) -> Target {
        Target {
            returns: Some(unaliased(returns, file)),
            variants: comparable_variants(file),
            patterns: unit_variants(file),
            hidden: hidden_types(file),
            ..Target::new(Language::Rust, "f")
        }
    }

    /// What `f(x)` is asserted with when it printed `debug`.
    fn asserted(target: &Target, debug: &str) -> Option<String> {
        assertion(target, "f(x)", &format!("{debug:?}"))
    }

    /// humantime's `parse_duration`, shlex's `try_quote` and `split`,
    /// strsim's `hamming`: values compared as values where their types
    /// allow, through `unwrap()` where only the inside compares, matched
    /// where only a pattern can be written.
    #[test]
    fn values_are_compared_as_their_types_allow() {
        let file = "#[derive(Debug, PartialEq, Clone)]\npub enum Error {\n    /// Empty, [as in](x), none.\n    Empty,\n    InvalidCharacter(usize),\n    UnknownUnit { start: usize, unit: String },\n    #[doc(hidden)]\n    NumberOverflow,\n}\n\n#[derive(Debug)]\nenum Opaque { A, B }\npub type HammingResult = Result<usize, Error>;\n";
        assert_eq!(
            comparable_variants(file),
            ["Error::Empty", "Error::InvalidCharacter(", "Error::UnknownUnit {", "Error::NumberOverflow"]
        );
        assert_eq!(unit_variants(file), ["Error::Empty", "Error::NumberOverflow", "Opaque::A", "Opaque::B"]);
        let cases = [
            ("Result<Duration, Error>", "Ok(9420s)", "assert_eq!(f(x), Ok(Duration::from_secs(9420)));"),
            ("Result<Duration, Error>", "Ok(4.2s)", "assert_eq!(f(x), Ok(Duration::from_millis(4200)));"),
            ("Result<Duration, Error>", "Err(Empty)", "assert_eq!(f(x), Err(Error::Empty));"),
            // A variant holding numbers or characters (hex's `InvalidHexCharacter { c, index }`).
            (
                "Result<Duration, Error>",
                "Err(InvalidCharacter(3))",
                "assert_eq!(f(x), Err(Error::InvalidCharacter(3)));",
            ),
            (
                "Result<Duration, Error>",
                "Err(UnknownUnit { start: 0, unit: '\\u{1}' })",
                "assert_eq!(f(x), Err(Error::UnknownUnit { start: 0, unit: '\\u{1}' }));",
            ),
            // An error type without `PartialEq`: the `Ok` side unwrapped, the error matched.
            (
                "Result<std::time::Duration, Opaque>",
                "Ok(7µs)",
                "assert_eq!(f(x).unwrap(), std::time::Duration::from_micros(7));",
            ),
            ("Result<Duration, Opaque>", "Err(A)", "assert!(matches!(f(x), Err(Opaque::A)));"),
            ("Result<Cow<'a, str>, QuoteError>", "Ok(\"''\")", "assert_eq!(f(x).unwrap(), \"''\");"),
            // The alias undone.
            ("HammingResult", "Ok(7)", "assert_eq!(f(x), Ok(7));"),
            ("HammingResult", "Err(Empty)", "assert_eq!(f(x), Err(Error::Empty));"),
            // A `String` does not equal a `&str` inside an `Option`.
            ("Option<String>", "Some(\"a\\\"b\")", "assert_eq!(f(x).unwrap(), \"a\\\"b\");"),
            ("Option<&'static str>", "Some(\"a\")", "assert_eq!(f(x), Some(\"a\"));"),
            ("Option<u8>", "None", "assert!(f(x).is_none());"),
            ("Result<(), Error>", "Ok(())", "assert_eq!(f(x), Ok(()));"),
            ("Cow<str>", "\"''\"", "assert_eq!(f(x), \"''\");"),
            // Bytes as a byte string; lists as arrays; an empty one by `is_empty()`.
            (
                "Result<Cow<'_, [u8]>, QuoteError>",
                "Ok([39, 0, 34, 255])",
                "assert_eq!(f(x).unwrap(), &b\"'\\0\\\"\\xff\"[..]);",
            ),
            ("Result<Vec<u8>, Error>", "Ok([1])", "assert_eq!(f(x).unwrap(), &b\"\\x01\"[..]);"),
            ("Option<Vec<String>>", "Some([\"a\", \"b, c\"])", "assert_eq!(f(x).unwrap(), [\"a\", \"b, c\"]);"),
            ("Option<Vec<String>>", "Some([])", "assert!(f(x).unwrap().is_empty());"),
            ("Option<Vec<Vec<u8>>>", "Some([[0, 1, 7]])", "assert_eq!(f(x).unwrap(), [&b\"\\0\\x01\\x07\"[..]]);"),
            ("&[i32]", "[1, -2]", "assert_eq!(f(x), [1, -2]);"),
            ("f64", "0.47222222222222215", "assert!((f(x) - 0.47222222222222215).abs() < 1e-9);"),
            (
                "Result<f64, Error>",
                "Ok(0.3055555555555555)",
                "assert!((f(x).unwrap() - 0.3055555555555555).abs() < 1e-9);",
            ),
            ("bool", "true", "assert!(f(x));"),
            // dunce's `simplified(&Path) -> &Path`; paths owned and not.
            ("&Path", "\"a/b\"", "assert_eq!(f(x).as_os_str(), ::std::ffi::OsStr::new(\"a/b\"));"),
            (
                "io::Result<PathBuf>",
                "Ok(\"a\")",
                "assert_eq!(f(x).unwrap().as_os_str(), ::std::ffi::OsStr::new(\"a\"));",
            ),
            // `std::io::Error` is not the file's `Error`, comparable as that is.
            ("io::Result<u64>", "Ok(3)", "assert_eq!(f(x).unwrap(), 3);"),
            ("&'static Error", "Empty", "assert_eq!(f(x), &Error::Empty);"),
            // Nothing comparable: the `Debug` text.
            (
                "Result<Duration, Error>",
                "Err(UnknownUnit { start: 0, unit: \"ms\" })",
                "assert_eq!(format!(\"{:?}\", f(x)), \"Err(UnknownUnit { start: 0, unit: \\\"ms\\\" })\");",
            ),
        ];
        for (returns, debug, expected) in cases {
            assert_eq!(asserted(&target(returns, file), debug).as_deref(), Some(expected), "{returns} {debug}");
        }
        assert_eq!(duration("1.000000001s"), Some(("nanos", 1_000_000_001)));
        assert_eq!(duration("32ms"), Some(("millis", 32)));
        assert_eq!(duration("0ns"), Some(("secs", 0)));
        assert_eq!(duration("1.5ns"), None);
    }

    /// shlex is `no_std` with `alloc`: `format!` is not in its tests'
    /// scope under `--no-default-features`; a crate without `alloc` gets
    /// no `Debug`-text test at all.
    #[test]
    fn a_debug_text_is_formatted_with_what_the_crate_has() {
        let debug = "Err(InvalidCharacter(0))";
        let no_std = Target { debug_format: Some("std::format!"), ..target("Result<u8, E>", "") };
        assert_eq!(
            asserted(&no_std, debug).as_deref(),
            Some("extern crate std;\n        assert_eq!(std::format!(\"{:?}\", f(x)), \"Err(InvalidCharacter(0))\");")
        );
        let core = Target { debug_format: None, ..target("Result<u8, E>", "") };
        assert_eq!(asserted(&core, debug), None);
        assert_eq!(
            asserted(&core, "Ok(1)").as_deref(),
            Some("assert_eq!(f(x).unwrap(), 1);"),
            "a value needs no format"
        );
    }

    #[test]
    fn enums_the_file_imports_from_the_crate_root_are_known() {
        let lib =
            "#[derive(Debug, PartialEq)]\npub enum QuoteError {\n    Nul,\n}\n#[derive(Debug)]\nenum Other { A }\n";
        let mut target = target("Result<u8, QuoteError>", "");
        add_imported_enums(&mut target, lib, "use crate::{QuoteError, Quoter};\nfn f() {}\n");
        assert_eq!(target.variants, ["QuoteError::Nul"]);
        assert_eq!(target.patterns, ["QuoteError::Nul"]);
        let mut target = super::tests::target("u8", "");
        add_imported_enums(&mut target, lib, "use crate::QuoteErrorKind;\n// Other\n");
        assert!(target.patterns.is_empty(), "{:?}", target.patterns);
    }

    /// form_urlencoded's `append_separator_if_needed(&mut String, usize)`.
    #[test]
    fn a_written_argument_is_bound_and_asserted_after() {
        let target = Target {
            mutated: vec![crate::skills::testgen::Mutated { index: 0, name: "string".into(), ty: "String".into() }],
            returns: None,
            ..Target::new(Language::Rust, "append")
        };
        let args = ["String::from(\"abc\")".to_owned(), "1".to_owned()];
        let (lets, call) = bound_call(&target, &args);
        assert_eq!(lets, ["let mut string = String::from(\"abc\");"]);
        assert_eq!(call, "append(&mut string, 1)");
        let body = mutated_test(&target, &args, &format!("{:?}", "()\u{1f}\"abc&\"")).expect("a test");
        assert_eq!(
            body,
            "let mut string = String::from(\"abc\");\n        append(&mut string, 1);\n        assert_eq!(string, \"abc&\");"
        );
        let returning = Target { returns: Some("usize".into()), ..target };
        let body = mutated_test(&returning, &args, &format!("{:?}", "4\u{1f}\"abc&\"")).expect("a test");
        assert!(body.contains("let got = append(&mut string, 1);\n        assert_eq!(got, 4);"), "{body}");
    }

    #[test]
    fn generic_types_are_read_without_lifetimes() {
        assert_eq!(generics("Cow<'a, str>"), Some(("Cow", vec!["str"])));
        assert_eq!(generics("&'a [u8]"), Some(("&", vec!["u8"])));
        assert_eq!(generics("&mut [u8]"), Some(("&", vec!["u8"])));
        assert_eq!(generics("&'static str"), Some(("&'static str", vec![])));
        assert_eq!(generics("&[u8; 4]"), None);
        assert_eq!(unaliased("R", "type R = Result<u8, E>;\npub type S = R;\n"), "Result<u8, E>");
        assert_eq!(unaliased("S", "type R = Result<u8, E>;\npub type S = R;\n"), "Result<u8, E>");
        assert_eq!(unaliased("R", "// a type R = u8; in prose\n"), "R");
    }
}
