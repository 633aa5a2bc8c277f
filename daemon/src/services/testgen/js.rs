//! Edison's TypeScript and JavaScript tests: where they go (the test file
//! that already reaches the module, else a new one where the project keeps
//! its tests), the framework that runs them (vitest, jest or mocha, from
//! `package.json`), and how the probe and the tests reach the function (an
//! ES import or CommonJS `require`) and check it (`expect` or node's
//! `assert`), written as the project's test files are.

mod suite;

use std::path::{Path, PathBuf};

use agents::skills::testgen::{CommonJs, JsTests, Target};
use protocol::{
    agents::TextEdit,
    documents::{Position, Range},
};
use serde_json::Value;

use super::Placed;
use crate::{
    platform::uri,
    services::{codebase::LineIndex, workspace::read_source},
};

/// How a function's tests are written and run in this project.
pub(super) struct Plan {
    pub framework: &'static str,
    /// The framework's own binary and its options.
    pub runner: Vec<String>,
    /// Where the tests go (workspace-relative), and the file's text if it exists.
    pub test_file: String,
    existing: Option<String>,
    /// How the tests reach the function and how they are written.
    pub style: JsTests,
}

pub(super) fn plan(root: &Path, rel: &str, target: &Target) -> Result<Plan, String> {
    let package = read_source(&root.join("package.json")).and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let (framework, runner) = framework(root, package.as_ref(), target)?;
    let module = target.module.clone().unwrap_or_default();
    // The test file that reaches the function already (an import from its
    // module or a barrel of it, a `require` of it): of several, the one
    // that calls it most.
    let tests = test_files(root);
    let main = package.as_ref().and_then(|p| p.get("main")).and_then(Value::as_str).map(without_extension);
    let reaching = tests
        .iter()
        .filter_map(|file| {
            let text = read_source(&root.join(file))?;
            let reach = reach_in(root, &text, file, &module, main.as_deref(), target)?;
            // Mocha's tests assert with node's `assert`, bound in the file;
            // a vitest file may take chai's `assert` from vitest, not `expect`.
            let assert = assert_binding(&text).or_else(|| vitest_assert(&text).then(|| "assert".to_owned()));
            if framework == "mocha" && assert.is_none() {
                return None;
            }
            Some((file.clone(), text, reach, assert))
        })
        .enumerate()
        .max_by_key(|(i, (_, text, reach, _))| {
            (text.matches(&format!("{}(", reach.callee)).count(), std::cmp::Reverse(*i))
        })
        .map(|(_, found)| found);
    let (test_file, existing, reach, assert) = match reaching {
        Some((file, text, reach, assert)) => (file, Some(text), reach, assert),
        None => {
            let (file, reach) = new_file(root, rel, target, package.as_ref(), framework, &tests)?;
            (file, None, reach, (framework == "mocha").then(|| "assert".to_owned()))
        }
    };
    let sample = existing.clone().or_else(|| tests.first().and_then(|t| read_source(&root.join(t))));
    let sample = sample.or_else(|| read_source(&root.join(rel))).unwrap_or_default();
    let style = styled(framework, &test_file, &sample, existing.is_some(), reach, assert, &target.name);
    Ok(Plan { framework, runner, test_file, existing, style })
}

/// The framework the project tests with (one Edison runs), and its runner.
fn framework(root: &Path, package: Option<&Value>, target: &Target) -> Result<(&'static str, Vec<String>), String> {
    let framework = match package.and_then(agents::toolchain::js_framework) {
        Some(f @ ("vitest" | "jest" | "mocha")) => f,
        Some(other) => {
            return Err(format!("the project tests with {other}; offline, Edison runs vitest, jest and mocha"));
        }
        None => {
            return Err("package.json names no test framework (vitest, jest or mocha) to run the tests with".into());
        }
    };
    if framework == "vitest" && target.commonjs.is_some() {
        return Err(format!(
            "`{}` is exported through CommonJS (`exports`) and the project tests with vitest, which runs ES \
             modules: offline, Edison tests CommonJS modules with mocha or jest",
            target.name
        ));
    }
    if !root.join("node_modules/.bin").join(framework).exists() {
        return Err(format!("{framework} is not installed in node_modules (`npm install`), so no test could be run"));
    }
    let options: &[&str] = match framework {
        "vitest" => &["run"],
        "jest" => &["--ci"],
        // Its spec reporter, whatever `.mocharc` says: it prints what the probe logs and how many passed.
        _ => &["--reporter", "spec"],
    };
    let runner = std::iter::once(format!("node_modules/.bin/{framework}"))
        .chain(options.iter().map(|o| (*o).to_owned()))
        .collect();
    Ok((framework, runner))
}

/// A new test file for `target`: beside the project's other tests, else
/// beside the module; and how it reaches the function.
fn new_file(
    root: &Path,
    rel: &str,
    target: &Target,
    package: Option<&Value>,
    framework: &str,
    tests: &[String],
) -> Result<(String, Reach), String> {
    let module = target.module.clone().unwrap_or_default();
    let extension = rel.rsplit_once('.').map_or("ts", |(_, e)| e);
    let stem = module.rsplit('/').next().unwrap_or(&module).to_owned();
    let dir = tests
        .first()
        .and_then(|t| t.rsplit_once('/').map(|(d, _)| d.to_owned()))
        .or_else(|| ["test", "tests", "__tests__"].iter().find(|d| root.join(d).is_dir()).map(|d| (*d).to_owned()));
    let dir = dir.unwrap_or_else(|| module.rsplit_once('/').map_or_else(String::new, |(d, _)| d.to_owned()));
    // Named as the project names its tests, so that its runner's pattern
    // (`*.spec.js`, `test/*.js`) finds the file too.
    let kind = tests.first().map_or(".test", |t| {
        let name = t.rsplit('/').next().unwrap_or(t);
        if name.contains(".spec.") {
            ".spec"
        } else if name.contains(".test.") {
            ".test"
        } else {
            ""
        }
    });
    let base = format!("{stem}.edison{kind}.{extension}");
    let file = if dir.is_empty() { base } else { format!("{dir}/{base}") };
    if root.join(&file).exists() {
        return Err(format!("{file} exists already"));
    }
    let mut spec = relative_import(&file, &module);
    // Node's own ES modules (mocha's) name the file with its extension.
    let esm_package = package.and_then(|p| p.get("type")).and_then(Value::as_str) == Some("module");
    if framework == "mocha" && target.commonjs.is_none() && (esm_package || extension == "mjs") {
        spec = format!("{spec}.{extension}");
    }
    let sample = tests.first().and_then(|t| read_source(&root.join(t))).or_else(|| read_source(&root.join(rel)));
    let sample = sample.unwrap_or_default();
    let keyword = if sample.matches("var ").count() > sample.matches("const ").count() { "var" } else { "const" };
    let reach = match &target.commonjs {
        None => Reach { callee: target.name.clone(), binding: Binding::Named(spec) },
        Some(form) => {
            let binding = binding_name(&stem, &module, package);
            let callee = match form {
                CommonJs::Whole => binding.clone(),
                CommonJs::Property(key) => format!("{binding}.{key}"),
            };
            Reach { callee, binding: Binding::Required(keyword, binding, spec) }
        }
    };
    Ok((file, reach))
}

/// How tests are written where `sample` (the test file, another of the
/// project's, or the module) says: quotes, semicolons, `it` or `test`,
/// their bodies; and the header a new file (and the probe) start with.
fn styled(
    framework: &'static str,
    test_file: &str,
    sample: &str,
    existing: bool,
    reach: Reach,
    assert: Option<String>,
    name: &str,
) -> JsTests {
    let quote = if sample.matches('\'').count() > sample.matches('"').count() { '\'' } else { '"' };
    let semicolons = {
        let ends = |end: char| sample.lines().filter(|l| l.trim_end().ends_with(end)).count();
        ends(';') >= ends(')')
    };
    // What the file calls its tests (a line that starts `it(` or `test(`;
    // `split(` is neither), `it` in a new file; and their bodies.
    let starting = |word: &'static str| {
        sample.lines().filter(move |l| l.trim_start().strip_prefix(word).is_some_and(|r| r.starts_with(['(', '.'])))
    };
    let it = if existing && starting("test").count() > starting("it").count() { "test" } else { "it" };
    let function_keyword = {
        let bodies: Vec<&str> = starting(it).collect();
        bodies.iter().filter(|l| l.contains("function")).count() > bodies.iter().filter(|l| l.contains("=>")).count()
    };
    let semi = if semicolons { ";" } else { "" };
    let assert = assert.filter(|a| framework == "mocha" || (existing && vitest_assert(sample) && a == "assert"));
    let mut header = String::new();
    if let Some(assert) = assert.as_deref().filter(|_| framework == "mocha") {
        header.push_str(&match &reach.binding {
            Binding::Named(_) => format!("import {assert} from {}{semi}\n", quoted("assert", quote)),
            Binding::Required(keyword, ..) => {
                format!("{keyword} {assert} = require({}){semi}\n", quoted("assert", quote))
            }
        });
    }
    header.push_str(&match &reach.binding {
        Binding::Named(spec) => format!("import {{ {name} }} from {}{semi}\n", quoted(spec, quote)),
        Binding::Required(keyword, binding, spec) => {
            format!("{keyword} {binding} = require({}){semi}\n", quoted(spec, quote))
        }
    });
    let typed = !matches!(test_file.rsplit_once('.').map(|(_, e)| e), Some("js" | "mjs" | "cjs" | "jsx"));
    let declare = if sample.matches("var ").count() > sample.matches("const ").count() { "var" } else { "const" };
    JsTests { framework, header, callee: reach.callee, assert, it, quote, semicolons, function_keyword, declare, typed }
}

/// How a test file reaches the function: the call's callee and the binding.
struct Reach {
    callee: String,
    binding: Binding,
}

enum Binding {
    /// `import { name } from "spec"`.
    Named(String),
    /// `var binding = require('spec')` (or `const`), or `{ name }` as the binding.
    Required(&'static str, String, String),
}

/// How `text` (the test file `file`) reaches `target`: an import of its
/// name from its module (or a barrel of it), a `require` of its CommonJS
/// module bound to a name (`contentType.parse(…)`) or destructured.
fn reach_in(root: &Path, text: &str, file: &str, module: &str, main: Option<&str>, target: &Target) -> Option<Reach> {
    let name = &target.name;
    let Some(form) = &target.commonjs else {
        // Of the specifiers that name the module (or a barrel of it), the one the function comes through.
        let specs = module_specs(text, file, module, &|barrel| reexports(root, barrel, module));
        let spec = specs.into_iter().find(|spec| imports_name(text, spec, name))?;
        return Some(Reach { callee: name.clone(), binding: Binding::Named(spec) });
    };
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    required(text).into_iter().find_map(|(keyword, bound, spec)| {
        let resolved = without_extension(&normalize(&PathBuf::from(dir).join(&spec)));
        let index = if resolved.is_empty() { "index".to_owned() } else { format!("{resolved}/index") };
        // `require('..')`: the package's `main`, else its index.
        let package =
            (resolved.is_empty() || root.join(&resolved).join("package.json").is_file()) && main == Some(module);
        if !(resolved == module || index == module || package) {
            return None;
        }
        let callee = match (form, bound.strip_prefix('{')) {
            (CommonJs::Property(key), None) => format!("{bound}.{key}"),
            (CommonJs::Whole, None) => bound.clone(),
            (CommonJs::Property(key), Some(names)) => {
                names.trim_end_matches('}').split(',').any(|n| n.trim() == key.as_str()).then(|| key.clone())?
            }
            (CommonJs::Whole, Some(_)) => return None,
        };
        Some(Reach { callee, binding: Binding::Required(keyword, bound, spec) })
    })
}

/// A file's `require`s of relative specifiers: the keyword, what it binds
/// (a name or `{ a, b }`) and the specifier.
fn required(text: &str) -> Vec<(&'static str, String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let (keyword, rest) = ["var", "let", "const"]
                .into_iter()
                .find_map(|k| Some((k, line.strip_prefix(k)?.strip_prefix(' ')?)))?;
            let (bound, value) = rest.split_once('=')?;
            let inner = value.trim().strip_prefix("require(")?;
            let quote = inner.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
            let end = inner[1..].find(quote)? + 1;
            let spec = &inner[1..end];
            // The module itself: `require('..')`, not `require('..').parse`.
            if !matches!(inner[end + 1..].trim(), ")" | ");") {
                return None;
            }
            let bound = bound.trim();
            let identifier = !bound.is_empty() && bound.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
            let destructured = bound.starts_with('{') && bound.ends_with('}');
            (spec.starts_with('.') && (identifier || destructured))
                .then(|| (keyword, bound.to_owned(), spec.to_owned()))
        })
        .collect()
}

/// Whether the file takes chai's `assert` from vitest and not `expect`
/// (`import { describe, it, assert } from 'vitest'`): its tests are written
/// with `assert.deepEqual` and the like, as node's.
fn vitest_assert(text: &str) -> bool {
    text.lines().map(str::trim).any(|line| {
        let Some((names, spec)) = line.strip_prefix("import {").and_then(|rest| rest.split_once("} from ")) else {
            return false;
        };
        let names: Vec<&str> = names.split(',').map(str::trim).collect();
        spec.trim().trim_end_matches(';').trim_matches(['\'', '"']) == "vitest"
            && names.contains(&"assert")
            && !names.contains(&"expect")
    })
}

/// The name the file gives node's `assert`: `var assert = require('assert')`,
/// `require('node:assert/strict')`, `import assert from "node:assert"`.
fn assert_binding(text: &str) -> Option<String> {
    const MODULES: [&str; 4] = ["assert", "node:assert", "assert/strict", "node:assert/strict"];
    text.lines().map(str::trim).find_map(|line| {
        let (bound, spec) = if let Some(rest) = ["var ", "let ", "const "].iter().find_map(|k| line.strip_prefix(k)) {
            let (bound, value) = rest.split_once('=')?;
            let value = value.trim().strip_prefix("require(")?;
            let value = value.trim_end_matches(';');
            (bound, value.strip_suffix(".strict").unwrap_or(value).strip_suffix(')')?)
        } else {
            let rest = line.strip_prefix("import ")?;
            let (bound, spec) = rest.split_once(" from ")?;
            let bound = bound.trim();
            (bound.strip_prefix("* as ").unwrap_or(bound), spec.trim_end_matches(';'))
        };
        let (bound, spec) = (bound.trim(), spec.trim().trim_matches(['\'', '"']));
        let identifier = !bound.is_empty() && bound.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
        (identifier && MODULES.contains(&spec)).then(|| bound.to_owned())
    })
}

/// What a new test file calls a CommonJS module: its file's name in camel
/// case (`contentType` for the package `content-type`'s `index.js`), never
/// `assert`.
fn binding_name(stem: &str, module: &str, package: Option<&Value>) -> String {
    let package_name =
        package.and_then(|p| p.get("name")).and_then(Value::as_str).map(|n| n.rsplit('/').next().unwrap_or(n));
    let base = if stem == "index" {
        package_name
            .map(str::to_owned)
            .or_else(|| module.rsplit('/').nth(1).map(str::to_owned))
            .unwrap_or_else(|| stem.to_owned())
    } else {
        stem.to_owned()
    };
    let mut name = String::new();
    let mut upper = false;
    for c in base.chars() {
        if c.is_alphanumeric() || c == '_' || c == '$' {
            name.extend(if upper { c.to_uppercase().collect::<Vec<_>>() } else { vec![c] });
            upper = false;
        } else {
            upper = !name.is_empty();
        }
    }
    const TAKEN: [&str; 16] = [
        "assert", "require", "module", "exports", "result", "new", "delete", "default", "function", "var", "const",
        "let", "class", "import", "export", "this",
    ];
    if name.is_empty() || TAKEN.contains(&name.as_str()) || name.starts_with(|c: char| c.is_ascii_digit()) {
        "subject".into()
    } else {
        name
    }
}

fn without_extension(path: &str) -> String {
    let path = path.trim_start_matches("./");
    ["ts", "js", "mjs", "cjs", "tsx", "jsx", "mts"]
        .iter()
        .find_map(|e| path.strip_suffix(&format!(".{e}")))
        .unwrap_or(path)
        .to_owned()
}

/// `text` in `quote`s (a specifier: nothing to escape but the quote).
fn quoted(text: &str, quote: char) -> String {
    format!("{quote}{}{quote}", text.replace(quote, &format!("\\{quote}")))
}

impl Plan {
    /// The probe: a test file beside where the tests go.
    pub(super) fn probe_file(&self) -> String {
        let (dir, name) = self.test_file.rsplit_once('/').map_or(("", self.test_file.as_str()), |(d, n)| (d, n));
        let extension = name.rsplit_once('.').map_or("ts", |(_, e)| e);
        // Named as the tests are, for a runner that takes files by pattern.
        let kind = if name.contains(".spec.") {
            ".spec"
        } else if name.contains(".test.") {
            ".test"
        } else {
            ""
        };
        let file = format!("paired-probe{kind}.{extension}");
        if dir.is_empty() { file } else { format!("{dir}/{file}") }
    }

    /// The run that puts the new tests beside the project's others: mocha's
    /// whole suite (its files share one process, and module state with it);
    /// jest's and vitest's test file (each file runs in a process or context
    /// of its own). None where the tests go to a new file of their own under
    /// jest or vitest: nothing else runs beside them.
    pub(super) fn beside_the_others(&self) -> Option<Vec<String>> {
        match self.framework {
            "mocha" => Some(self.runner.clone()),
            _ if self.existing.is_some() => Some(self.runner.iter().cloned().chain([self.test_file.clone()]).collect()),
            _ => None,
        }
    }

    /// How many tests a run of the framework reports failing (`2 failing`,
    /// `Tests:       2 failed`, `Tests  2 failed`); none where it says nothing
    /// (it did not get that far).
    pub(super) fn failing(&self, output: &str) -> Option<usize> {
        if self.framework == "mocha" {
            // Its summary, `  46 passing (20ms)` then `  2 failing`, is
            // followed by each failure's details, which may say either word.
            let count = |line: &str, word: &str| -> Option<usize> {
                let mut words = line.split_whitespace();
                let n = words.next()?.parse().ok()?;
                (words.next()? == word).then_some(n)
            };
            let passing = output.lines().position(|l| count(l, "passing").is_some())?;
            return Some(output.lines().skip(passing + 1).take(3).find_map(|l| count(l, "failing")).unwrap_or(0));
        }
        output.lines().rev().find_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("Tests:").or_else(|| line.strip_prefix("Tests "))?;
            Some(super::number_before(rest, " failed").unwrap_or(0))
        })
    }

    /// The titles of the tests in `tests` (as [`agents::skills::testgen::tests_in`] wrote them).
    pub(super) fn titles(&self, tests: &str) -> Vec<String> {
        tests
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix(self.style.it)?.strip_prefix('(')?;
                let quote = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
                let mut title = String::new();
                let mut chars = rest[1..].chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next()? {
                            'n' => title.push('\n'),
                            't' => title.push('\t'),
                            'r' => title.push('\r'),
                            other => title.push(other),
                        },
                        c if c == quote => return Some(title),
                        c => title.push(c),
                    }
                }
                None
            })
            .collect()
    }

    /// The runner's options that run only `titles`: a regular expression
    /// of the whole titles, after their suite's (the project's own tests
    /// under a `describe` named like the call never match).
    pub(super) fn only(&self, titles: &[String]) -> Vec<String> {
        let escape = agents::skills::testgen::regex_escaped;
        // After the `describe` titles the tests are in, if any.
        let pattern = format!("(?:^| )(?:{})$", titles.iter().map(|t| escape(t)).collect::<Vec<_>>().join("|"));
        let option = if self.framework == "mocha" { "--grep" } else { "-t" };
        vec![self.test_file.clone(), option.to_owned(), pattern]
    }

    /// The tests in the project's framework, appended to the test file (or a
    /// new one with its imports).
    pub(super) fn placed(&self, root: &Path, tests: &str) -> Placed {
        let body = tests.trim_start_matches('\n');
        let uri = uri::from_path(&root.join(&self.test_file));
        let (after, at, new_text) = match &self.existing {
            // In the file's `describe` for the function, else at its end.
            Some(text) => {
                let (at, indent) = suite::insertion(text, &self.style.callee);
                let gap = if text[..at].ends_with('\n') || at == 0 { "\n" } else { "\n\n" };
                let new_text = format!("{gap}{}", suite::indented(body, &indent));
                (format!("{}{new_text}{}", &text[..at], &text[at..]), LineIndex::new(text).position(at), new_text)
            }
            None => {
                let semi = if self.style.semicolons { ";" } else { "" };
                let framework = if self.framework == "vitest" {
                    format!("import {{ expect, it }} from {}{semi}\n", quoted("vitest", self.style.quote))
                } else {
                    String::new()
                };
                let new_text = format!("{framework}{}\n{body}", self.style.header);
                (new_text.clone(), Position { line: 0, character: 0 }, new_text)
            }
        };
        Placed {
            path: self.test_file.clone(),
            after,
            edits: vec![TextEdit { uri, range: Range { start: at, end: at }, new_text }],
        }
    }
}

/// The project's formatter, when it has one installed: prettier, named in
/// `package.json` (a dependency or its `prettier` key) or by a config file.
pub(super) fn formatter(root: &Path) -> Option<Vec<String>> {
    let bin = root.join("node_modules/.bin/prettier");
    let package = read_source(&root.join("package.json")).and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let named = package.as_ref().is_some_and(|p| {
        p.get("prettier").is_some()
            || ["dependencies", "devDependencies"].iter().any(|k| p.get(k).and_then(|d| d.get("prettier")).is_some())
    });
    let configured = std::fs::read_dir(root).into_iter().flatten().flatten().any(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        name.starts_with(".prettierrc") || name.starts_with("prettier.config.")
    });
    (bin.exists() && (named || configured))
        .then(|| vec!["node_modules/.bin/prettier".to_owned(), "--log-level=warn".to_owned(), "--write".to_owned()])
}

impl Plan {
    /// `placed` as the formatter left its file (`after`): the new text is
    /// what comes between the file's two parts as they were, which the
    /// formatter must have left alone (else the tests stay as written).
    pub(super) fn reformatted(&self, root: &Path, placed: Placed, after: String) -> Placed {
        let uri = uri::from_path(&root.join(&self.test_file));
        // The same code, laid out anew: nothing but whitespace, quotes,
        // commas and brackets may differ (a formatter that rewrote the file
        // into something else is not believed).
        let shape = |text: &str| -> String {
            text.chars().filter(|c| c.is_alphanumeric() || matches!(c, '.' | '=' | '+' | '-' | '*' | '/')).collect()
        };
        if shape(&after) != shape(&placed.after) {
            return placed;
        }
        match &self.existing {
            Some(text) => {
                let (at, _) = suite::insertion(text, &self.style.callee);
                let new_text = after
                    .strip_prefix(&text[..at])
                    .and_then(|rest| rest.strip_suffix(&text[at..]))
                    .filter(|t| !t.trim().is_empty());
                let Some(new_text) = new_text else {
                    return placed;
                };
                let at = LineIndex::new(text).position(at);
                let edits = vec![TextEdit { uri, range: Range { start: at, end: at }, new_text: new_text.to_owned() }];
                Placed { path: placed.path, after, edits }
            }
            None => {
                let at = Position { line: 0, character: 0 };
                let edits = vec![TextEdit { uri, range: Range { start: at, end: at }, new_text: after.clone() }];
                Placed { path: placed.path, after, edits }
            }
        }
    }
}

/// The project's JavaScript/TypeScript test files (workspace-relative), at most 200.
fn test_files(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    // Installed packages are never the project's tests, ignored by git or not
    // (their own `test/` folders would otherwise be found first, walk order permitting).
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != "node_modules")
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker.filter_map(Result::ok).take(5000) {
        let Ok(rel) = entry.path().strip_prefix(root) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let script = [".ts", ".tsx", ".js", ".mjs", ".cjs", ".jsx", ".mts"].iter().any(|e| rel.ends_with(e));
        if script && entry.file_type().is_some_and(|k| k.is_file()) && agents::skills::is_test_path(&rel) {
            files.push(rel);
            if files.len() >= 200 {
                break;
            }
        }
    }
    files.sort();
    files
}

/// The import specifier in `text` (of the test file `file`) that names
/// `module` (`src/index`): `../src/index`, `../src`, with or without an
/// extension; or a barrel that re-exports it (`../src` whose `index.ts`
/// says `export * from "./utils"`), as `barrel_of` tells.
#[cfg(test)]
fn imports_module(text: &str, file: &str, module: &str, barrel_of: &dyn Fn(&str) -> bool) -> Option<String> {
    module_specs(text, file, module, barrel_of).into_iter().next()
}

/// Every import specifier of `text` that names `module` or a barrel of it
/// (`import { a } from "../src"` and `import { f } from "../src/utils"`).
fn module_specs(text: &str, file: &str, module: &str, barrel_of: &dyn Fn(&str) -> bool) -> Vec<String> {
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    import_statements(text)
        .into_iter()
        .filter_map(|line| {
            let spec = line.rsplit(" from ").next()?.trim().trim_end_matches(';').trim_matches(['"', '\'']);
            if !spec.starts_with('.') {
                return None;
            }
            let resolved = normalize(&PathBuf::from(dir).join(spec));
            let resolved =
                resolved.rsplit_once('.').filter(|(_, e)| !e.contains('/')).map_or(resolved.clone(), |(s, e)| {
                    if ["ts", "js", "mjs", "cjs", "tsx", "jsx", "mts"].contains(&e) {
                        s.to_owned()
                    } else {
                        resolved.clone()
                    }
                });
            let names = resolved == module || format!("{resolved}/index") == module;
            (names || barrel_of(&resolved) || barrel_of(&format!("{resolved}/index"))).then(|| spec.to_owned())
        })
        .collect()
}

/// Whether the module file `barrel` (workspace-relative, no extension) of
/// the project at `root` re-exports `module` (`export * from "./utils"`,
/// `export { a } from "./utils.js"`). One level: a barrel of barrels is not followed.
fn reexports(root: &Path, barrel: &str, module: &str) -> bool {
    let Some(text) = ["ts", "js", "mts", "mjs", "tsx", "jsx"]
        .iter()
        .find_map(|extension| read_source(&root.join(format!("{barrel}.{extension}"))))
    else {
        return false;
    };
    let dir = barrel.rsplit_once('/').map_or("", |(d, _)| d);
    text.lines().map(str::trim).filter(|l| l.starts_with("export ") && l.contains(" from ")).any(|line| {
        let spec =
            line.rsplit(" from ").next().unwrap_or_default().trim().trim_end_matches(';').trim_matches(['"', '\'']);
        let resolved = normalize(&PathBuf::from(dir).join(spec));
        let resolved = ["ts", "js", "mts", "mjs", "tsx", "jsx"]
            .iter()
            .find_map(|e| resolved.strip_suffix(&format!(".{e}")))
            .map_or(resolved.clone(), str::to_owned);
        spec.starts_with('.') && (resolved == module || format!("{resolved}/index") == module)
    })
}

/// The file's `import … from "…"` statements, each on one line (one written
/// over several — `import {\n  parse,\n} from "./index.js"` — joined).
fn import_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut open: Option<String> = None;
    for line in text.lines().map(str::trim) {
        let statement = match open.take() {
            Some(so_far) => format!("{so_far} {line}"),
            None if line.starts_with("import ") => line.to_owned(),
            None => continue,
        };
        if statement.contains(" from ") || statement.contains("}from") {
            statements.push(statement);
        } else if statement.len() < 4000 && !statement.ends_with(';') {
            open = Some(statement);
        }
    }
    statements
}

/// Whether `text` imports `name` from `spec` (`import { a, name } from "spec"`).
fn imports_name(text: &str, spec: &str, name: &str) -> bool {
    let statements = import_statements(text);
    statements.iter().filter(|l| l.contains(&format!("\"{spec}\"")) || l.contains(&format!("'{spec}'"))).any(|l| {
        l.split_once('{')
            .and_then(|(_, rest)| rest.split_once('}'))
            .is_some_and(|(names, _)| names.split(',').any(|n| n.trim() == name))
    })
}

/// `a/./b/../c` as `a/c`, `/`-separated.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part.as_os_str().to_string_lossy().as_ref() {
            "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other.to_owned()),
        }
    }
    parts.join("/")
}

/// The specifier a file at `from` uses to import `module`.
fn relative_import(from: &str, module: &str) -> String {
    let from_dir: Vec<&str> = from.rsplit_once('/').map_or(Vec::new(), |(d, _)| d.split('/').collect());
    let target: Vec<&str> = module.split('/').collect();
    let common = from_dir.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let ups = from_dir.len() - common;
    let rest = target[common..].join("/");
    if ups == 0 { format!("./{rest}") } else { format!("{}{rest}", "../".repeat(ups)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formatter's file is taken when it left the file as it was before
    /// the tests; else the tests stay as written.
    #[test]
    fn the_formatters_tests_only_where_it_left_the_rest_alone() {
        let root = tempfile::tempdir().expect("temp");
        assert!(formatter(root.path()).is_none(), "no prettier installed");
        std::fs::create_dir_all(root.path().join("node_modules/.bin")).expect("bin");
        std::fs::write(root.path().join("node_modules/.bin/prettier"), "").expect("prettier");
        assert!(formatter(root.path()).is_none(), "installed, but the project does not use it");
        std::fs::write(root.path().join(".prettierrc"), "{}").expect("config");
        assert_eq!(formatter(root.path()).expect("configured").last().map(String::as_str), Some("--write"));
        let existing = "import { f } from \"../src\";\n";
        let plan = Plan {
            framework: "vitest",
            runner: Vec::new(),
            test_file: "test/a.test.ts".into(),
            existing: Some(existing.into()),
            style: JsTests::expect("vitest", "f", "../src"),
        };
        let placed =
            plan.placed(root.path(), "\nit(\"f(1)\", () => {\n  expect(f(1)).toBe(\"a very long value\");\n});\n");
        let wrapped = format!(
            "{existing}\nit(\"f(1)\", () => {{\n  expect(f(1)).toBe(\n    \"a very long value\",\n  );\n}});\n"
        );
        let formatted = plan.reformatted(root.path(), placed, wrapped.clone());
        assert_eq!(formatted.after, wrapped);
        assert_eq!(formatted.edits[0].range.start.line, 1, "after the file as it was");
        assert!(
            formatted.edits[0].new_text.starts_with("\nit(\"f(1)\"") && formatted.edits[0].new_text.contains("toBe(\n")
        );
        // The formatter changed the file's own lines: the tests as written.
        let placed = plan.placed(root.path(), "\nit(\"f(1)\", () => {});\n");
        let as_written = placed.edits[0].new_text.clone();
        let kept = plan.reformatted(root.path(), placed, "import { f } from '../src';\n".into());
        assert_eq!(kept.edits[0].new_text, as_written);
    }

    /// Beside the others: mocha's whole suite; jest's and vitest's file
    /// when it holds others; and how many each says failed.
    #[test]
    fn new_tests_run_beside_the_projects_others_and_failures_are_counted() {
        let plan = |framework: &'static str, existing: Option<&str>| Plan {
            framework,
            runner: vec![format!("node_modules/.bin/{framework}")],
            test_file: "test/a.test.js".into(),
            existing: existing.map(str::to_owned),
            style: JsTests::expect(framework, "f", "../src"),
        };
        assert_eq!(plan("mocha", None).beside_the_others(), Some(vec!["node_modules/.bin/mocha".to_owned()]));
        assert_eq!(plan("vitest", None).beside_the_others(), None, "a new file holds only the new tests");
        assert_eq!(
            plan("jest", Some("test('x', () => {})\n")).beside_the_others(),
            Some(vec!["node_modules/.bin/jest".to_owned(), "test/a.test.js".to_owned()])
        );
        let mocha = plan("mocha", None);
        assert_eq!(mocha.failing("  46 passing (20ms)\n  2 failing\n\n  1) parse\n"), Some(2));
        assert_eq!(mocha.failing("  46 passing (20ms)\n"), Some(0));
        assert_eq!(mocha.failing("Error: Cannot find module\n"), None);
        // A failure's details after the summary say "passing" or "failing" too.
        let details = "  3 passing (9ms)\n  1 failing\n\n  1) parse\n       throws when passing a non-string:\n     2 failing checks\n";
        assert_eq!(mocha.failing(details), Some(1));
        assert_eq!(mocha.failing("  3 passing (9ms)\n\n  x) throws when passing a value\n"), Some(0));
        let jest = plan("jest", None);
        assert_eq!(jest.failing("Tests:       1 failed, 12 passed, 13 total\n"), Some(1));
        let vitest = plan("vitest", None);
        assert_eq!(vitest.failing(" Test Files  1 failed (1)\n      Tests  3 failed | 9 passed (12)\n"), Some(3));
        assert_eq!(vitest.failing("      Tests  9 passed (9)\n"), Some(0));
    }

    /// CommonJS: the test file that requires the module (by `..`, the
    /// package's `main`), what it binds, and node's `assert` by its name.
    #[test]
    fn a_commonjs_module_is_reached_through_the_binding_its_tests_require() {
        let root = tempfile::tempdir().expect("temp");
        std::fs::write(root.path().join("package.json"), r#"{"name": "content-type", "main": "./index.js"}"#)
            .expect("package");
        let text = "var assert = require('assert')\nvar contentType = require('..')\nconst { format } = require(\"../index.js\");\n";
        assert_eq!(
            required(text),
            [
                ("var", "contentType".to_owned(), "..".to_owned()),
                ("const", "{ format }".to_owned(), "../index.js".to_owned())
            ]
        );
        assert!(required("const parse = require('../lib/util').parse\n").is_empty(), "a property, not the module");
        assert_eq!(assert_binding(text).as_deref(), Some("assert"));
        assert_eq!(assert_binding("const strict = require('node:assert').strict;\n").as_deref(), Some("strict"));
        assert_eq!(assert_binding("import assert from \"node:assert/strict\";\n").as_deref(), Some("assert"));
        assert_eq!(assert_binding("const { expect } = require('chai')\nvar assert = require('./assert')\n"), None);
        let target = |name: &str, commonjs| Target {
            module: Some("index".into()),
            commonjs: Some(commonjs),
            ..Target::new(context::Language::JavaScript, name)
        };
        let reach = |name: &str, commonjs| {
            reach_in(root.path(), text, "test/a.js", "index", Some("index"), &target(name, commonjs)).map(|r| r.callee)
        };
        assert_eq!(reach("parse", CommonJs::Property("parse".into())).as_deref(), Some("contentType.parse"));
        assert_eq!(
            reach("format", CommonJs::Property("format".into())).as_deref(),
            Some("contentType.format"),
            "the first binding"
        );
        assert_eq!(reach("vary", CommonJs::Whole).as_deref(), Some("contentType"));
        let destructured = "const { format, parse } = require('../lib/util')\n";
        let util = Target { module: Some("lib/util".into()), ..target("parse", CommonJs::Property("parse".into())) };
        let found = reach_in(root.path(), destructured, "test/util.test.js", "lib/util", None, &util);
        assert_eq!(found.map(|r| r.callee).as_deref(), Some("parse"));
        let other = Target { name: "quote".into(), commonjs: Some(CommonJs::Property("quote".into())), ..util };
        assert!(reach_in(root.path(), destructured, "test/util.test.js", "lib/util", None, &other).is_none());
        // A new file is named as the project's tests are (`*.spec.js` here), its probe too.
        let spec = tempfile::tempdir().expect("temp");
        std::fs::write(
            spec.path().join("package.json"),
            r#"{"name": "media-typer", "devDependencies": {"mocha": "10"}}"#,
        )
        .expect("package");
        std::fs::create_dir_all(spec.path().join("node_modules/.bin")).expect("bin");
        std::fs::write(spec.path().join("node_modules/.bin/mocha"), "").expect("mocha");
        std::fs::create_dir_all(spec.path().join("test")).expect("test");
        std::fs::write(spec.path().join("test/other.spec.js"), "var assert = require('assert')\n").expect("other");
        let planned =
            plan(spec.path(), "index.js", &target("parse", CommonJs::Property("parse".into()))).expect("a plan");
        assert_eq!(planned.test_file, "test/index.edison.spec.js");
        assert_eq!(planned.probe_file(), "test/paired-probe.spec.js");
        assert_eq!(planned.style.callee, "mediaTyper.parse");
        assert!(
            planned.style.header.starts_with("var assert = require('assert')\nvar mediaTyper = require('../index')"),
            "{}",
            planned.style.header
        );
        let package = serde_json::json!({ "name": "@jshttp/content-type" });
        assert_eq!(binding_name("index", "index", Some(&package)), "contentType");
        assert_eq!(binding_name("media-typer", "lib/media-typer", None), "mediaTyper");
        assert_eq!(binding_name("assert", "lib/assert", None), "subject");
        assert_eq!(binding_name("new", "lib/new", None), "subject", "a reserved word");
    }

    #[test]
    fn the_test_file_that_imports_the_module_is_found_by_its_specifier() {
        let text = "import { describe, expect, it } from \"vitest\";\nimport { destr, safeDestr } from \"../src\";\n";
        let no_barrel = |_: &str| false;
        assert_eq!(imports_module(text, "test/index.test.ts", "src/index", &no_barrel).as_deref(), Some("../src"));
        assert!(imports_name(text, "../src", "destr") && !imports_name(text, "../src", "dest"));
        assert_eq!(
            imports_module("import { a } from './util.js';\n", "src/util.test.ts", "src/util", &no_barrel).as_deref(),
            Some("./util.js")
        );
        assert_eq!(imports_module(text, "test/index.test.ts", "src/other", &no_barrel), None);
        // An import written over several lines (path-to-regexp's).
        let multi = "import { it } from \"vitest\";\nimport {\n  parse,\n  compile,\n} from \"./index.js\";\n";
        assert_eq!(imports_module(multi, "src/index.spec.ts", "src/index", &no_barrel).as_deref(), Some("./index.js"));
        assert!(imports_name(multi, "./index.js", "compile") && !imports_name(multi, "./index.js", "it"));
        // Through a barrel that re-exports the module (ufo's `src/index.ts`).
        let root = tempfile::tempdir().expect("temp");
        std::fs::create_dir_all(root.path().join("src")).expect("src");
        std::fs::write(
            root.path().join("src/index.ts"),
            "export * from \"./encoding\";\nexport { a } from './utils.js';\n",
        )
        .expect("index");
        let barrel = |b: &str| reexports(root.path(), b, "src/utils");
        assert_eq!(imports_module(text, "test/index.test.ts", "src/utils", &barrel).as_deref(), Some("../src"));
        // The barrel for one name, the module for another: both specifiers.
        let both = "import { other } from \"../src\";\nimport { f } from \"../src/utils\";\n";
        assert_eq!(module_specs(both, "test/a.test.ts", "src/utils", &barrel), ["../src", "../src/utils"]);
        assert!(
            reexports(root.path(), "src/index", "src/encoding") && !reexports(root.path(), "src/index", "src/query")
        );
        assert_eq!(relative_import("test/a.edison.test.ts", "src/a"), "../src/a");
        assert_eq!(relative_import("src/a.edison.test.ts", "src/a"), "./a");
    }
}
