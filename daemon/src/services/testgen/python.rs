//! Edison's Python tests: where they go (the module's test file under
//! `tests/`, or beside it), with the imports they lack put where the file's
//! own are, and what a test file already imports or binds.

use std::path::Path;

use agents::skills::testgen::{self, Target};
use protocol::{
    agents::TextEdit,
    documents::{Position, Range},
};

use super::Placed;
use crate::{platform::uri, services::codebase::LineIndex};

/// The project's Python test file (`test*.py` or `*_test.py`, at the top
/// or in `tests/`/`test/`) that imports `module` and calls `name` most.
fn importing_test_file(root: &Path, module: &str, name: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for dir in ["", "tests", "test"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        let mut files: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            // As pytest collects them (not a `testutils.py` helper).
            .filter(|f| {
                f.starts_with("test_") && f.ends_with(".py")
                    || f.ends_with("_test.py")
                    || f == "test.py"
                    || f == "tests.py"
            })
            .collect();
        files.sort();
        for file in files {
            let rel = if dir.is_empty() { file } else { format!("{dir}/{file}") };
            let Ok(text) = std::fs::read_to_string(root.join(&rel)) else { continue };
            // The module or its package (`from slugify import slugify` for
            // `slugify.slugify`, which the package re-exports).
            let package = module.split('.').next().unwrap_or(module);
            let imports = text.lines().any(|l| {
                [module, package]
                    .iter()
                    .any(|m| l.starts_with(&format!("from {m} import ")) || l.trim_end() == format!("import {m}"))
            });
            let calls = text.matches(&format!("{name}(")).count();
            if imports && calls > 0 && best.as_ref().is_none_or(|(most, _)| calls > *most) {
                best = Some((calls, rel));
            }
        }
    }
    best.map(|(_, rel)| rel)
}

/// Python: appended to the module's test file (`tests/test_NAME.py`, or
/// beside it), with the imports it lacks; nothing of the existing tests moves.
pub(super) fn place_python(
    target: &Target,
    root: &Path,
    rel: &str,
    tests: &str,
    insert: &dyn Fn(&str, &str, usize, String) -> Placed,
) -> Result<Placed, String> {
    let module = target.module.as_deref().unwrap_or_default();
    let path = test_file(root, rel, module, &target.name);
    if runs_unittest_only(root) {
        return Err(format!(
            "the project runs its tests with unittest (its tox.ini, setup.cfg, pyproject.toml or CI say `unittest`, \
             none says pytest): pytest functions in `{path}` would never run there"
        ));
    }
    let raises = tests.contains("pytest.raises");
    // What the arguments need (`Namespace`), where the file lacks it.
    let needed = |existing: &str| -> String {
        target
            .imports
            .iter()
            .filter(|(m, n)| !python_imports(existing, m, n))
            .map(|(m, n)| testgen::python_import(m, n))
            .collect()
    };
    let imports =
        format!("{}{}from {module} import {}\n", if raises { "import pytest\n" } else { "" }, needed(""), target.name);
    match std::fs::read_to_string(root.join(&path)) {
        // Appended, with the imports it lacks: nothing of the existing tests moves.
        Ok(existing) => {
            if let Some((module, _)) =
                target.imports.iter().find(|(m, n)| n.is_empty() && python_binds_otherwise(&existing, m))
            {
                return Err(format!(
                    "`{path}` has a `{module}` of its own: tests passing the standard library's `{module}` there would change what its other tests see"
                ));
            }
            let has_pytest = existing.lines().any(|l| l.split('#').next().unwrap_or("").trim() == "import pytest");
            let (through, tests) = as_the_file_calls(&existing, module, &target.name, tests);
            let tests = tests.as_str();
            let imports = format!(
                "{}{}{}",
                if raises && !has_pytest { "import pytest\n" } else { "" },
                needed(&existing),
                // Or from its package, which re-exports it (`from slugify
                // import slugify` for `slugify.slugify`'s).
                if through
                    || python_imports(&existing, module, &target.name)
                    || python_imports(&existing, module.split('.').next().unwrap_or(module), &target.name)
                {
                    String::new()
                } else {
                    format!("from {module} import {}\n", target.name)
                }
            );
            let gap = if existing.ends_with('\n') { "\n\n" } else { "\n\n\n" };
            let tests = format!("{gap}{}\n", in_the_files_style(tests, &existing).trim_matches('\n'));
            // The imports go where the file's are (at its end they would be
            // ruff's E402), the tests at its end.
            let Some(block) = python_import_block_end(&existing).filter(|_| !imports.is_empty()) else {
                let separated = if imports.is_empty() { String::new() } else { format!("{imports}\n\n") };
                return Ok(insert(
                    &path,
                    &existing,
                    existing.len(),
                    format!("{gap}{separated}{}", tests.trim_start_matches('\n')),
                ));
            };
            let lines = LineIndex::new(&existing);
            let uri = uri::from_path(&root.join(&path));
            let at = |offset: usize| {
                let position = lines.position(offset);
                Range { start: position, end: position }
            };
            // The block ends the file without a newline: the imports start a line.
            let imports = if existing[..block].ends_with('\n') { imports } else { format!("\n{imports}") };
            let after = format!("{}{imports}{}{tests}", &existing[..block], &existing[block..]);
            Ok(Placed {
                path,
                after,
                edits: vec![
                    TextEdit { uri: uri.clone(), range: at(block), new_text: imports },
                    TextEdit { uri, range: at(existing.len()), new_text: tests },
                ],
            })
        }
        Err(_) => {
            let new = format!("{imports}{tests}");
            let uri = uri::from_path(&root.join(&path));
            let at = Position { line: 0, character: 0 };
            Ok(Placed {
                path,
                after: new.clone(),
                edits: vec![TextEdit { uri, range: Range { start: at, end: at }, new_text: new }],
            })
        }
    }
}

/// Whether the project's own test command is unittest's (titlecase's tox
/// runs `coverage run -m unittest`) and nothing of it names pytest: a new
/// file of pytest functions is one its runner never collects.
fn runs_unittest_only(root: &Path) -> bool {
    let mut files: Vec<std::path::PathBuf> =
        ["tox.ini", "setup.cfg", "pyproject.toml", "noxfile.py", "Makefile"].iter().map(|f| root.join(f)).collect();
    let workflows = root.join(".github/workflows");
    files.extend(std::fs::read_dir(workflows).into_iter().flatten().flatten().map(|e| e.path()).take(20));
    let texts: Vec<String> = files.iter().filter_map(|f| crate::services::workspace::read_source(f)).collect();
    let says = |word: &str| texts.iter().any(|t| t.contains(word));
    says("unittest") && !says("pytest")
}

/// The test file for `rel`'s tests: `tests/test_{stem}.py` (or `test/`,
/// or at the root) where it exists; else the test file that already
/// imports the module (python-slugify's `test.py`, which its pytest
/// settings name), not a new one its settings may leave out.
fn test_file(root: &Path, rel: &str, module: &str, name: &str) -> String {
    let stem = rel.rsplit('/').next().unwrap_or(rel).trim_end_matches(".py");
    let dir = ["tests", "test"].into_iter().find(|d| root.join(d).is_dir());
    let path = match dir {
        Some(dir) => format!("{dir}/test_{stem}.py"),
        None => format!("test_{stem}.py"),
    };
    if root.join(&path).is_file() { path } else { importing_test_file(root, module, name).unwrap_or(path) }
}

/// Whether `existing` calls through the module (`import parse`, then
/// `parse.parse(…)`, or inflection's `inflection.camelize(…)`), and `tests`
/// calling `name` as it does: `from parse import parse` would rebind the
/// module's name under its other tests.
fn as_the_file_calls(existing: &str, module: &str, name: &str, tests: &str) -> (bool, String) {
    let through = !python_imports(existing, module, name) && python_imports(existing, module, "");
    (through, if through { through_module(tests, name, module) } else { tests.to_owned() })
}

/// `tests` with each call of `name` made through `module` (`camelize(…)` →
/// `inflection.camelize(…)`); a test's own name or a method is left alone.
fn through_module(tests: &str, name: &str, module: &str) -> String {
    let call = format!("{name}(");
    let mut out = String::with_capacity(tests.len() + 64);
    let mut last = 0;
    for (at, _) in tests.match_indices(&call) {
        let before = tests[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        out.push_str(&tests[last..at]);
        out.push_str(module);
        out.push('.');
        last = at;
    }
    out.push_str(&tests[last..]);
    out
}

/// Edison's tests written as the file's own are: `-> None` on each test
/// where its tests have it (a strict mypy asks for it), and a plain string
/// compared with in double quotes where its strings are (black's, ruff
/// format's).
fn in_the_files_style(tests: &str, existing: &str) -> String {
    let annotated = existing.lines().any(|l| l.starts_with("def test_") && l.trim_end().ends_with("-> None:"));
    let double = existing.matches('"').count() > existing.matches('\'').count();
    let mut out = String::with_capacity(tests.len() + 64);
    for line in tests.split_inclusive('\n') {
        let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let mut body = body.to_owned();
        if annotated && body.starts_with("def test_") && body.ends_with("():") {
            body = format!("{} -> None:", body.trim_end_matches(':'));
        }
        if double
            && let Some((head, literal)) = body.rsplit_once(" == '")
            && let Some(inner) = literal.strip_suffix('\'')
            && !inner.contains(['\'', '"', '\\'])
        {
            body = format!("{head} == \"{inner}\"");
        }
        out.push_str(&body);
        out.push_str(end);
    }
    out
}

/// Whether Python source imports `name` from `module` already, at module
/// level (`from semver import (compare, parse)`); an import inside a function
/// reaches only that function.
fn python_imports(source: &str, module: &str, name: &str) -> bool {
    // The module itself: `import json`, `import json, pickle`.
    if name.is_empty() {
        // Under its own name: `import pickle as pk` does not give `pickle`.
        return source.lines().filter_map(|l| l.strip_prefix("import ")).any(|names| {
            names
                .split('#')
                .next()
                .unwrap_or("")
                .split(',')
                .any(|n| n.split_whitespace().collect::<Vec<_>>() == [module])
        });
    }
    let head = format!("from {module} import ");
    source.match_indices(&head).any(|(at, _)| {
        if at > 0 && !source[..at].ends_with('\n') {
            return false;
        }
        let rest = &source[at + head.len()..];
        let end = if rest.starts_with('(') { rest.find(')') } else { rest.find('\n') }.unwrap_or(rest.len());
        rest[..end].split(|c: char| !c.is_alphanumeric() && c != '_').any(|word| word == name)
    })
}

/// Where a Python file's leading import block ends: the byte after the line
/// that ends its last top-level `import`/`from … import` before the first
/// top-level definition (a parenthesized or continued import whole).
fn python_import_block_end(text: &str) -> Option<usize> {
    let (mut offset, mut end, mut open) = (0usize, None, 0i32);
    let mut continued = false;
    let mut in_string = false;
    for line in text.split_inclusive('\n') {
        // Inside a triple-quoted string (a docstring's example `import x`), nothing counts.
        let quotes = line.matches("\"\"\"").count() + line.matches("\'\'\'").count();
        if in_string || quotes % 2 == 1 {
            in_string ^= quotes % 2 == 1;
            offset += line.len();
            continue;
        }
        let code = line.split('#').next().unwrap_or("").trim_end();
        let inside = open > 0 || continued;
        let starts = code.starts_with("import ") || (code.starts_with("from ") && code.contains(" import"));
        if !inside && ["def ", "class ", "async def ", "@"].iter().any(|d| code.starts_with(d)) {
            break;
        }
        offset += line.len();
        if inside || starts {
            open += code.matches('(').count() as i32 - code.matches(')').count() as i32;
            continued = code.ends_with('\\');
            if open <= 0 && !continued {
                end = Some(offset);
            }
        }
    }
    end
}

/// Whether Python source binds `name` at module level other than by
/// `import name` (`from x import y as name`, `import simplejson as name`,
/// `name = …`, a `def` or `class`): importing the module there would change
/// what its tests see.
fn python_binds_otherwise(source: &str, name: &str) -> bool {
    let word_end = |rest: &str| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_');
    source.lines().filter(|l| !l.starts_with([' ', '\t'])).any(|line| {
        let code = line.split('#').next().unwrap_or("").trim_end();
        let aliased = code.match_indices(&format!(" as {name}")).any(|(at, m)| word_end(&code[at + m.len()..]));
        let assigned = code
            .strip_prefix(name)
            .is_some_and(|rest| rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("=="));
        let defined = [format!("def {name}"), format!("class {name}")]
            .iter()
            .any(|head| code.strip_prefix(head.as_str()).is_some_and(word_end));
        let from_import = code.starts_with("from ")
            && code.split_once(" import ").is_some_and(|(_, names)| {
                names.split(',').any(|n| n.trim().trim_matches(|c| c == '(' || c == ')') == name)
            });
        aliased || assigned || defined || from_import
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_take_the_files_annotations_and_quotes() {
        let tests = "def test_ordinal_1():\n    assert ordinal(5) == '5th'\n\n\ndef test_ordinal_2():\n    assert ordinal('a\"b') == 'a\"b'\n";
        let black = "def test_old() -> None:\n    assert humanize.ordinal(\"1\") == \"1st\"\n";
        assert_eq!(
            in_the_files_style(tests, black),
            "def test_ordinal_1() -> None:\n    assert ordinal(5) == \"5th\"\n\n\ndef test_ordinal_2() -> None:\n    assert ordinal('a\"b') == 'a\"b'\n"
        );
        assert_eq!(
            in_the_files_style(tests, "def test_old():\n    assert f('x') == 'y'\n"),
            tests,
            "its style is this"
        );
    }

    /// titlecase's tox runs `coverage run -m unittest`: a new file of pytest
    /// functions would never run there.
    #[test]
    fn a_unittest_project_gets_no_new_file_of_pytest_functions() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tox.ini"), "[base]\ncommands =\n    coverage run -m unittest\n").expect("tox");
        assert!(runs_unittest_only(dir.path()));
        let target = Target { module: Some("titlecase".into()), ..Target::new(context::Language::Python, "titlecase") };
        let insert = |path: &str, _: &str, _: usize, _: String| Placed {
            path: path.into(),
            after: String::new(),
            edits: Vec::new(),
        };
        let tests = "def test_titlecase_1():\n    assert titlecase('a') == 'A'\n";
        let refused =
            place_python(&target, dir.path(), "titlecase/__init__.py", tests, &insert).err().expect("refused");
        assert!(refused.contains("unittest"), "{refused}");
        std::fs::write(dir.path().join("setup.cfg"), "[tool:pytest]\naddopts = -q\n").expect("cfg");
        assert!(!runs_unittest_only(dir.path()), "pytest named too");
    }

    /// parse's tests `import parse` and call `parse.parse(…)`: a `from parse
    /// import parse` rebound the module's name and broke 62 of them.
    #[test]
    fn a_file_that_calls_through_the_module_gets_tests_that_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("tests")).expect("tests");
        let existing = "import parse\n\n\ndef test_a():\n    assert parse.parse('{}', 'a')\n";
        std::fs::write(dir.path().join("tests/test_parse.py"), existing).expect("write");
        let target = Target { module: Some("parse".into()), ..Target::new(context::Language::Python, "parse") };
        let insert = |path: &str, before: &str, at: usize, text: String| Placed {
            path: path.into(),
            after: format!("{}{text}{}", &before[..at], &before[at..]),
            edits: Vec::new(),
        };
        let tests = "def test_parse_1():\n    assert parse('{}', 'b').fixed == ('b',)\n";
        let placed = place_python(&target, dir.path(), "parse.py", tests, &insert).expect("placed");
        assert!(!placed.after.contains("from parse import parse"), "{}", placed.after);
        assert!(
            placed.after.contains("def test_parse_1():\n    assert parse.parse('{}', 'b').fixed == ('b',)"),
            "{}",
            placed.after
        );
        assert_eq!(
            through_module("x = camelize('a') + a.camelize('b') + my_camelize('c')", "camelize", "inflection"),
            "x = inflection.camelize('a') + a.camelize('b') + my_camelize('c')"
        );
    }

    /// python-slugify keeps its tests in `test.py` (its pytest settings name
    /// it): a new `test_slugify.py` would not run; the file that imports the
    /// module and calls the function is where they go.
    #[test]
    fn without_the_modules_test_file_the_tests_join_the_one_that_imports_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("test.py"),
            "from slugify import slugify\n\ndef test_a():\n    assert slugify('a') == 'a'\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("test_other.py"), "import os\n\ndef test_b():\n    slugify('x')\n")
            .expect("write");
        assert_eq!(importing_test_file(dir.path(), "slugify", "slugify").as_deref(), Some("test.py"));
        assert_eq!(importing_test_file(dir.path(), "slugify", "smart_truncate"), None, "it calls no smart_truncate");
        let target =
            Target { module: Some("slugify.slugify".into()), ..Target::new(context::Language::Python, "slugify") };
        let insert = |path: &str, _: &str, _: usize, _: String| Placed {
            path: path.to_owned(),
            after: String::new(),
            edits: Vec::new(),
        };
        let placed =
            place_python(&target, dir.path(), "slugify/__init__.py", "def test_slugify_1():\n    pass\n", &insert)
                .expect("placed");
        assert_eq!(placed.path, "test.py");
        let insert = |path: &str, existing: &str, at: usize, text: String| Placed {
            path: path.to_owned(),
            after: format!("{}{text}{}", &existing[..at], &existing[at..]),
            edits: Vec::new(),
        };
        let placed =
            place_python(&target, dir.path(), "slugify/slugify.py", "def test_slugify_1():\n    pass\n", &insert)
                .expect("placed");
        assert!(
            !placed.after.contains("from slugify.slugify import"),
            "the package's import is the file's: {}",
            placed.after
        );
    }

    /// An existing test file: the imports Edison's test needs join the
    /// file's own (at its end they were ruff's E402), the test goes at its
    /// end, and both edits are of the file as it is.
    #[test]
    fn imports_join_the_files_own_and_the_test_goes_at_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
        let existing = "\"\"\"Number tests.\"\"\"\n\nimport pytest\n\nimport humanize\n\n\ndef test_old() -> None:\n    assert humanize.ordinal(1) == \"1st\"\n";
        std::fs::write(dir.path().join("tests/test_number.py"), existing).expect("write");
        let target = Target {
            module: Some("humanize.number".into()),
            imports: vec![("json".into(), String::new())],
            ..Target::new(context::Language::Python, "ordinal")
        };
        let insert = |_: &str, _: &str, _: usize, _: String| -> Placed { unreachable!("two edits") };
        let tests = "def test_ordinal_1():\n    assert ordinal(json.loads(\"2\")) == \"2nd\"\n";
        let placed = place_python(&target, dir.path(), "src/humanize/number.py", tests, &insert).expect("placed");
        assert_eq!(placed.path, "tests/test_number.py");
        let expected = "\"\"\"Number tests.\"\"\"\n\nimport pytest\n\nimport humanize\nimport json\nfrom humanize.number import ordinal\n\n\ndef test_old() -> None:\n    assert humanize.ordinal(1) == \"1st\"\n\n\ndef test_ordinal_1() -> None:\n    assert ordinal(json.loads(\"2\")) == \"2nd\"\n";
        assert_eq!(placed.after, expected);
        let edits: Vec<&TextEdit> = placed.edits.iter().collect();
        assert_eq!(
            crate::services::documents::apply_edits(existing, &edits).as_deref(),
            Some(expected),
            "the edits make it"
        );
    }

    #[test]
    fn a_test_file_that_imports_the_function_is_not_given_a_second_import() {
        let source =
            "import pytest  # noqa\n\nfrom semver import (\n    VersionInfo,\n    compare,\n)\nfrom x import y\n";
        assert!(python_imports(source, "semver", "compare"));
        assert!(!python_imports(source, "semver", "comparator"), "a longer name is another name");
        assert!(!python_imports(source, "x", "compare"));
        assert!(python_imports("from pkg.mod import a, b\n", "pkg.mod", "b"));
        let inside = "from semver import compare\n\ndef test_private():\n    from semver import _increment_string\n";
        assert!(!python_imports(inside, "semver", "_increment_string"), "a function's own import");
        // A module itself.
        assert!(!python_imports("import os\nimport json, pickle as pk  # both\n", "pickle", ""), "under another name");
        assert!(python_imports("import os\nimport json, pickle  # both\n", "pickle", ""));
        assert!(python_imports("import json\n", "json", ""));
        assert!(!python_imports("import jsonschema\nfrom json import dumps\n", "json", ""));
        assert!(!python_imports("def f():\n    import json\n", "json", ""));
        // `json` bound to something else at module level.
        for source in [
            "from ser import compact_json as json\n",
            "import simplejson as json  # fast\n",
            "json = make()\n",
            "def json():\n    pass\n",
            "from ser import (json)\n",
        ] {
            assert!(python_binds_otherwise(source, "json"), "{source}");
        }
        for source in
            ["import json\n", "def test():\n    json = 1\n", "jsonish = 1\nfrom a import json_x\n", "json == 1\n"]
        {
            assert!(!python_binds_otherwise(source, "json"), "{source}");
        }
    }

    /// Where Edison's imports go in an existing test file: after its leading
    /// imports (python-humanize: at the file's end they were ruff's E402).
    #[test]
    fn the_import_block_of_a_python_test_file_ends_after_its_last_leading_import() {
        fn end(text: &str) -> Option<&str> {
            python_import_block_end(text).map(|at| &text[..at])
        }
        let text = "\"\"\"Tests.\"\"\"\nfrom __future__ import annotations\n\nimport pytest\nfrom humanize import (\n    naturalsize,\n    ordinal,\n)\n\n\ndef test_a():\n    import os\n\nimport late\n";
        assert_eq!(
            end(text),
            Some(
                "\"\"\"Tests.\"\"\"\nfrom __future__ import annotations\n\nimport pytest\nfrom humanize import (\n    naturalsize,\n    ordinal,\n)\n"
            )
        );
        let continued = "import a, \\\n    b\nX = 1\n";
        assert_eq!(end(continued), Some("import a, \\\n    b\n"));
        assert_eq!(end("def test():\n    pass\n"), None, "no imports: none to follow");
        let docstring =
            "\"\"\"Examples:\n\nimport (this is prose\n\"\"\"\nimport pytest\n\n\ndef test_a():\n    pass\n";
        assert_eq!(
            end(docstring),
            Some("\"\"\"Examples:\n\nimport (this is prose\n\"\"\"\nimport pytest\n"),
            "not in a string"
        );
        assert_eq!(end("@pytest.fixture\ndef f():\n    pass\nimport x\n"), None, "after a definition is not the block");
    }
}
