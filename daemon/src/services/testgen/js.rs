//! Edison's TypeScript and JavaScript tests: where they go (the test file
//! that already imports the module, else a new one where the project keeps
//! its tests), the framework that runs them (vitest or jest, from
//! `package.json`), and how the probe and the tests import the function.

use std::path::{Path, PathBuf};

use agents::skills::testgen::Target;
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
    /// The framework's own binary, and `run` for vitest.
    pub runner: Vec<String>,
    /// Where the tests go (workspace-relative), and the file's text if it exists.
    pub test_file: String,
    existing: Option<String>,
    /// The module as the test file imports it (`../src`).
    pub import: String,
    /// What the file calls a test: `it` or `test`.
    pub it: &'static str,
}

pub(super) fn plan(root: &Path, rel: &str, target: &Target) -> Result<Plan, String> {
    let package = read_source(&root.join("package.json")).and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let framework = package.as_ref().and_then(agents::toolchain::js_framework);
    let framework = match framework {
        Some(f @ ("vitest" | "jest")) => f,
        Some(other) => return Err(format!("the project tests with {other}; offline, Edison runs vitest and jest")),
        None => return Err("package.json names no test framework (vitest or jest) to run the tests with".into()),
    };
    let bin = root.join("node_modules/.bin").join(framework);
    if !bin.exists() {
        return Err(format!("{framework} is not installed in node_modules (`npm install`), so no test could be run"));
    }
    let mut runner = vec![format!("node_modules/.bin/{framework}")];
    runner.push(if framework == "vitest" { "run".into() } else { "--ci".into() });
    let module = target.module.clone().unwrap_or_default();
    let extension = rel.rsplit_once('.').map_or("ts", |(_, e)| e);
    let stem = module.rsplit('/').next().unwrap_or(&module).to_owned();
    // The test file that imports the function from its module already (or
    // through a barrel): of several, the one that calls it most.
    let tests = test_files(root);
    let importing = tests
        .iter()
        .filter_map(|file| {
            let text = read_source(&root.join(file))?;
            // Of the specifiers that name the module (or a barrel of it), the one the function comes through.
            let specs = module_specs(&text, file, &module, &|barrel| reexports(root, barrel, &module));
            let spec = specs.into_iter().find(|spec| imports_name(&text, spec, &target.name))?;
            Some((file.clone(), text, spec))
        })
        .enumerate()
        .max_by_key(|(i, (_, text, _))| (text.matches(&format!("{}(", target.name)).count(), std::cmp::Reverse(*i)))
        .map(|(_, found)| found);
    let (test_file, existing, import) = match importing {
        Some((file, text, spec)) => (file, Some(text), spec),
        None => {
            // Beside the project's other tests, else beside the module.
            let dir = tests.first().and_then(|t| t.rsplit_once('/').map(|(d, _)| d.to_owned())).or_else(|| {
                ["test", "tests", "__tests__"].iter().find(|d| root.join(d).is_dir()).map(|d| (*d).to_owned())
            });
            let dir = dir.unwrap_or_else(|| module.rsplit_once('/').map_or_else(String::new, |(d, _)| d.to_owned()));
            let base = format!("{stem}.edison.test.{extension}");
            let file = if dir.is_empty() { base } else { format!("{dir}/{base}") };
            if root.join(&file).exists() {
                return Err(format!("{file} exists already"));
            }
            let import = relative_import(&file, &module);
            (file, None, import)
        }
    };
    // What the file calls its tests (a line that starts `it(` or `test(`;
    // `split(` is neither), `it` in a new file.
    let starting = |text: &str, word: &str| {
        text.lines().filter(|l| l.trim_start().strip_prefix(word).is_some_and(|r| r.starts_with(['(', '.']))).count()
    };
    let it = match &existing {
        Some(text) if starting(text, "test") > starting(text, "it") => "test",
        _ => "it",
    };
    Ok(Plan { framework, runner, test_file, existing, import, it })
}

impl Plan {
    /// The probe: a test file beside where the tests go.
    pub(super) fn probe_file(&self) -> String {
        let (dir, name) = self.test_file.rsplit_once('/').map_or(("", self.test_file.as_str()), |(d, n)| (d, n));
        let extension = name.rsplit_once('.').map_or("ts", |(_, e)| e);
        let file = format!("paired-probe.test.{extension}");
        if dir.is_empty() { file } else { format!("{dir}/{file}") }
    }

    /// The tests in the project's framework, appended to the test file (or a
    /// new one with its imports).
    pub(super) fn placed(&self, root: &Path, target: &Target, tests: &str) -> Placed {
        let tests = if self.it == "it" { tests.to_owned() } else { tests.replace("\nit(", &format!("\n{}(", self.it)) };
        let body = tests.trim_start_matches('\n');
        let uri = uri::from_path(&root.join(&self.test_file));
        let (after, at, new_text) = match &self.existing {
            Some(text) => {
                let gap = if text.ends_with('\n') { "\n" } else { "\n\n" };
                let new_text = format!("{gap}{body}");
                (format!("{text}{new_text}"), LineIndex::new(text).position(text.len()), new_text)
            }
            None => {
                let framework =
                    if self.framework == "vitest" { "import { expect, it } from \"vitest\";\n" } else { "" };
                let new_text = format!("{framework}import {{ {} }} from \"{}\";\n\n{body}", target.name, self.import);
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
    /// what follows the file as it was, which the formatter must have left
    /// alone (else the tests stay as written).
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
                let Some(new_text) = after.strip_prefix(text.as_str()).filter(|t| !t.trim().is_empty()) else {
                    return placed;
                };
                let at = LineIndex::new(text).position(text.len());
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
            import: "../src".into(),
            it: "it",
        };
        let target = Target {
            language: context::Language::TypeScript,
            name: "f".into(),
            calls: Vec::new(),
            returns: None,
            module: Some("src/index".into()),
            imports: Vec::new(),
            reads: None,
            hidden: Vec::new(),
        };
        let placed = plan.placed(
            root.path(),
            &target,
            "\nit(\"f(1)\", () => {\n  expect(f(1)).toBe(\"a very long value\");\n});\n",
        );
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
        let placed = plan.placed(root.path(), &target, "\nit(\"f(1)\", () => {});\n");
        let as_written = placed.edits[0].new_text.clone();
        let kept = plan.reformatted(root.path(), placed, "import { f } from '../src';\n".into());
        assert_eq!(kept.edits[0].new_text, as_written);
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
