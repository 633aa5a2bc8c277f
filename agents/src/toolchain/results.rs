//! Test runners' results: how many tests passed, failed and were skipped,
//! and each failure with its test's name, the place it failed and what it
//! said. Read from the runners' machine-readable output — JUnit XML
//! (pytest, vitest, mocha), `go test -json`, jest's JSON, TAP (ava, node's
//! runner) — and from libtest's text, which has no stable machine format.
//! What does not parse is left out, never guessed at.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Format, parse::relative_to};

/// What one run of a project's tests found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestResults {
    pub passed: u32,
    pub failed: u32,
    pub skipped: u32,
    pub failures: Vec<TestFailure>,
}

impl TestResults {
    /// `41 passed, 2 failed, 1 skipped`.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{} passed", self.passed), format!("{} failed", self.failed)];
        if self.skipped > 0 {
            parts.push(format!("{} skipped", self.skipped));
        }
        parts.join(", ")
    }
}

/// One failing test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailure {
    /// As the runner names it: `tests::parses_empty`, `tests/test_a.py::test_add`.
    pub name: String,
    /// Where it failed, workspace-relative, one-based; `None` when the runner
    /// did not say or the place is outside the workspace (the standard library).
    pub place: Option<(String, u32)>,
    /// The assertion's or exception's message, a few lines at most.
    pub message: String,
}

/// The results of a test run: `report` is the file the runner wrote (JUnit
/// XML, jest's JSON) where its format has one. `None` when the output holds
/// no results at all (the tests did not build, the runner did not start).
/// `go_module` is the module path `go.mod` declares, for `go test`'s
/// package names.
pub fn test_results(
    format: Format,
    stdout: &str,
    report: Option<&str>,
    root: &str,
    go_module: Option<&str>,
) -> Option<TestResults> {
    let relative = |path: &str| relative_to(root, path);
    match format {
        Format::CargoTest => libtest(stdout, &relative),
        Format::JUnit => junit(report?, &relative),
        Format::GoTest => go_test(stdout, go_module.unwrap_or_default(), &relative),
        Format::JestJson => jest(report?, &relative),
        Format::Tap => tap(stdout, &relative),
        _ => None,
    }
}

type Relative<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// At most a few lines and characters of a message.
fn brief(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).take(6).collect();
    let text = lines.join("\n");
    if text.chars().count() > 600 { format!("{}…", text.chars().take(600).collect::<String>()) } else { text }
}

/// `path:line` or `path:line:column` where `path` is in the workspace.
fn place(text: &str, relative: &Relative<'_>) -> Option<(String, u32)> {
    let text = text.trim().trim_start_matches('(').trim_end_matches(')');
    let mut parts = text.rsplitn(3, ':');
    let (last, middle) = (parts.next()?, parts.next()?);
    let (path, line) = match (middle.parse::<u32>(), parts.next()) {
        (Ok(line), Some(path)) if last.parse::<u32>().is_ok() => (path, line),
        _ => (text.rsplit_once(':')?.0, last.parse().ok()?),
    };
    let path = path.trim_start_matches("file://");
    // A dependency's frame is not where the project's test failed.
    let path = relative(path).filter(|p| !p.split('/').any(|s| s == "node_modules" || s == "site-packages"))?;
    Some((path, line))
}

/// A JavaScript stack frame in the workspace: `at f (path:line:col)`,
/// `at path:line:col`, vitest's `❯ path:line:col`.
fn js_frame(line: &str, relative: &Relative<'_>) -> Option<(String, u32)> {
    let line = line.trim();
    let line = line.strip_prefix("at ").or_else(|| line.strip_prefix("❯ "))?;
    place(line.rsplit_once(" (").map_or(line, |(_, inside)| inside), relative)
}

/// libtest's text (`cargo test`): `test result:` lines summed over the test
/// binaries, and per failure the `panicked at path:line:col:` line and the
/// message under it.
fn libtest(stdout: &str, relative: &Relative<'_>) -> Option<TestResults> {
    let mut results = TestResults::default();
    let mut seen = false;
    for line in stdout.lines() {
        let Some(counts) = line.strip_prefix("test result: ") else { continue };
        seen = true;
        for part in counts.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(count)) = (words.next(), words.next()) else { continue };
            let Ok(count) = count.parse::<u32>() else { continue };
            match kind {
                "passed" => results.passed += count,
                "failed" => results.failed += count,
                "ignored" => results.skipped += count,
                _ => {}
            }
        }
    }
    let mut lines = stdout.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) else { continue };
        let mut failure = TestFailure { name: name.to_owned(), place: None, message: String::new() };
        let mut message = Vec::new();
        while let Some(next) = lines.next_if(|l| !l.starts_with("---- ") && !l.starts_with("failures:")) {
            if let Some((_, at)) = next.split_once("panicked at ") {
                failure.place = place(at.trim_end_matches(':'), relative);
                message.clear();
            } else if next.starts_with("stack backtrace:") || next.starts_with("note: ") {
                while lines.next_if(|l| !l.starts_with("---- ") && !l.starts_with("failures:")).is_some() {}
            } else {
                message.push(next);
            }
        }
        failure.message = brief(&message.join("\n"));
        results.failures.push(failure);
    }
    seen.then_some(results)
}

/// JUnit XML, as pytest (`-o junit_family=xunit1`), vitest, mocha and
/// Maven's surefire write it: `<testcase>` elements with a `<failure>` or
/// `<error>` child, or `<skipped>`.
fn junit(report: &str, relative: &Relative<'_>) -> Option<TestResults> {
    let document = roxmltree::Document::parse(report).ok()?;
    let mut results = TestResults::default();
    for case in document.descendants().filter(|n| n.has_tag_name("testcase")) {
        let child = |tag: &str| case.children().find(|c| c.has_tag_name(tag));
        if child("skipped").is_some() {
            results.skipped += 1;
            continue;
        }
        let Some(failure) = child("failure").or_else(|| child("error")) else {
            results.passed += 1;
            continue;
        };
        results.failed += 1;
        let file = case.attribute("file").or_else(|| case.attribute("classname").filter(|c| c.contains('/')));
        let name = case.attribute("name").unwrap_or("?");
        let name = match file {
            Some(file) if !name.contains(file) => format!("{file}::{name}"),
            _ => name.to_owned(),
        };
        let text = failure.text().unwrap_or_default();
        // The innermost frame in the workspace: the first of a JavaScript
        // stack (`at … (path:line:col)`, vitest's `❯ path:line:col`), the
        // last of pytest's `path:line: Error` lines.
        let js_frame = text.lines().find_map(|l| js_frame(l, relative));
        let py_frame = text.lines().filter_map(|l| place(l.trim().split(": ").next().unwrap_or(""), relative)).last();
        let frame = js_frame.or(py_frame);
        let line = case.attribute("line").and_then(|l| l.parse::<u32>().ok());
        let declared = file.and_then(relative).zip(line.map(|l| l + 1));
        // pytest's "collection failure" says nothing: the error it hides is
        // the last line of the text (`E   ModuleNotFoundError: No module …`).
        let said = failure.attribute("message").filter(|m| !m.is_empty() && *m != "collection failure");
        let collection = said.is_none() && failure.attribute("message") == Some("collection failure");
        let message = said.unwrap_or(text);
        let message = match collection {
            true => collection_error(text),
            false => doctest_difference(message).unwrap_or_else(|| brief(message)),
        };
        results.failures.push(TestFailure { name, place: frame.or(declared), message });
    }
    Some(results)
}

/// What a pytest collection error was: the last error line of the
/// traceback (`E   ImportError: …`, its `E   ` dropped).
fn collection_error(text: &str) -> String {
    let error = text.lines().rev().find_map(|l| l.trim_start().strip_prefix("E ").map(str::trim));
    match error.filter(|e| !e.is_empty()) {
        Some(error) => format!("could not be collected: {}", brief(error)),
        None => format!(
            "could not be collected: {}",
            brief(text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("?"))
        ),
    }
}

/// A failed doctest's example and its difference, without the numbered
/// listing of the docstring above it: `>>> bump("3.4.5")`, `- '3.4.6'`, `+ '3.4.7'`.
fn doctest_difference(message: &str) -> Option<String> {
    let lines: Vec<&str> = message.lines().collect();
    fn listing(line: &str) -> Option<&str> {
        line.split_once(' ').filter(|(n, _)| n.parse::<u32>().is_ok()).map(|(_, rest)| rest)
    }
    let example = lines.iter().rposition(|l| listing(l).is_some_and(|rest| rest.trim_start().starts_with(">>>")))?;
    let mut kept = vec![listing(lines[example])?.trim()];
    kept.extend(
        lines[example + 1..]
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !l.starts_with('?') && !l.ends_with("DocTestFailure")),
    );
    Some(brief(&kept.join("\n")))
}

/// `go test -json`: one event per line; a test's `fail` action, and the
/// output lines it printed (`    parse_test.go:12: got 1, want 2`). A test
/// with subtests counts through them, not again itself.
fn go_test(stdout: &str, module: &str, relative: &Relative<'_>) -> Option<TestResults> {
    let mut results = TestResults::default();
    let mut output: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut parents: HashSet<(String, String)> = HashSet::new();
    let mut seen = false;
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
        seen = true;
        let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (action, test, package) = (text("Action"), text("Test"), text("Package"));
        if test.is_empty() {
            continue;
        }
        if let Some((parent, _)) = test.rsplit_once('/') {
            parents.insert((package.clone(), parent.to_owned()));
        }
        let key = (package, test);
        match action.as_str() {
            "output" => output.entry(key).or_default().push(text("Output").trim_end().to_owned()),
            _ if parents.contains(&key) => {}
            "pass" => results.passed += 1,
            "skip" => results.skipped += 1,
            "fail" => {
                results.failed += 1;
                let lines = output.remove(&key).unwrap_or_default();
                let said: Vec<&str> = lines
                    .iter()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty() && !l.starts_with("=== ") && !l.starts_with("--- "))
                    .collect();
                // `file_test.go:12: message`, the file in the package's folder.
                let folder = key.0.strip_prefix(module).map(|rest| rest.trim_start_matches('/'));
                let place = said.iter().find_map(|l| {
                    let (file, line) = l.split_once(": ")?.0.rsplit_once(':')?;
                    let path = match folder? {
                        "" => file.to_owned(),
                        folder => format!("{folder}/{file}"),
                    };
                    Some((relative(&path)?, line.parse().ok()?))
                });
                let name = format!("{}.{}", key.0, key.1);
                results.failures.push(TestFailure { name, place, message: brief(&said.join("\n")) });
            }
            _ => {}
        }
    }
    seen.then_some(results)
}

/// jest's `--json --testLocationInResults` report.
fn jest(report: &str, relative: &Relative<'_>) -> Option<TestResults> {
    let report: Value = serde_json::from_str(report).ok()?;
    let count = |key: &str| report.get(key).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    let mut results = TestResults {
        passed: count("numPassedTests"),
        failed: count("numFailedTests"),
        skipped: count("numPendingTests") + count("numTodoTests"),
        failures: Vec::new(),
    };
    for file in report.get("testResults").and_then(Value::as_array).into_iter().flatten() {
        let path = file.get("name").and_then(Value::as_str).unwrap_or_default();
        for test in file.get("assertionResults").and_then(Value::as_array).into_iter().flatten() {
            if test.get("status").and_then(Value::as_str) != Some("failed") {
                continue;
            }
            let text: Vec<&str> = test
                .get("failureMessages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let text = text.join("\n");
            let frame = text.lines().find_map(|l| js_frame(l, relative));
            let declared = test
                .pointer("/location/line")
                .and_then(Value::as_u64)
                .and_then(|l| Some((relative(path)?, u32::try_from(l).ok()?)));
            let name = test.get("fullName").and_then(Value::as_str).unwrap_or("?");
            let message =
                text.lines().take_while(|l| !l.trim_start().starts_with("at ")).collect::<Vec<_>>().join("\n");
            results.failures.push(TestFailure {
                name: format!("{}::{name}", relative(path).unwrap_or_default()),
                place: frame.or(declared),
                message: brief(&message),
            });
        }
    }
    (results.failures.len() as u32 <= results.failed).then_some(results)
}

/// TAP (ava's `--tap`, `node --test --test-reporter=tap`): `ok`/`not ok`
/// lines, `# SKIP`/`# TODO` directives, and a failure's YAML block with its
/// `at:` place and message.
fn tap(stdout: &str, relative: &Relative<'_>) -> Option<TestResults> {
    let mut results = TestResults::default();
    let mut seen = false;
    let mut lines = stdout.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let (ok, rest) = if let Some(rest) = trimmed.strip_prefix("not ok ") {
            (false, rest)
        } else if let Some(rest) = trimmed.strip_prefix("ok ") {
            (true, rest)
        } else {
            continue;
        };
        // Subtests are indented; their parent's line counts them once.
        if line.len() != trimmed.len() {
            continue;
        }
        seen = true;
        let (head, directive) = rest.split_once(" # ").unwrap_or((rest, ""));
        let directive = directive.to_ascii_uppercase();
        if directive.starts_with("SKIP") || directive.starts_with("TODO") {
            results.skipped += 1;
            continue;
        }
        if ok {
            results.passed += 1;
            continue;
        }
        results.failed += 1;
        let name = head.split_once(" - ").map_or(head, |(_, name)| name).trim().to_owned();
        let (mut at, mut message) = (None, Vec::new());
        if lines.next_if(|l| l.trim() == "---").is_some() {
            while let Some(yaml) = lines.next_if(|l| l.trim() != "...") {
                let yaml = yaml.trim();
                if let Some(value) = yaml.strip_prefix("at:").or_else(|| yaml.strip_prefix("location:")) {
                    at = at.or_else(|| place(value.trim().trim_matches(|c| c == '\'' || c == '"'), relative));
                } else if let Some(value) =
                    ["message:", "error:", "assertion:"].iter().find_map(|k| yaml.strip_prefix(k))
                {
                    let value = value.trim().trim_matches(|c| c == '\'' || c == '"');
                    message.extend((!value.is_empty()).then(|| value.to_owned()));
                } else if !yaml.contains(':') {
                    // A multi-line value: ava's difference between actual and expected.
                    message.push(yaml.to_owned());
                }
            }
            lines.next();
        }
        results.failures.push(TestFailure { name, place: at, message: brief(&message.join("\n")) });
    }
    seen.then_some(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_text_sums_binaries_and_keeps_each_panic() {
        // From a real `cargo test --quiet` run (Rust 1.95), two test binaries.
        let out = "\nrunning 4 tests\ni.FF\nfailures:\n\n---- tests::adds stdout ----\n\nthread 'tests::adds' (7787) panicked at src/lib.rs:7:17:\nassertion `left == right` failed\n  left: -1\n right: 3\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n---- tests::unwraps stdout ----\n\nthread 'tests::unwraps' (7789) panicked at /rustc/abc/library/core/src/option.rs:2245:5:\na value\n\n\nfailures:\n    tests::adds\n    tests::unwraps\n\ntest result: FAILED. 1 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.20s\n\nrunning 3 tests\n...\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        let results = test_results(Format::CargoTest, out, None, "/p", None).expect("results");
        assert_eq!((results.passed, results.failed, results.skipped), (4, 2, 1));
        assert_eq!(results.failures[0].name, "tests::adds");
        assert_eq!(results.failures[0].place, Some(("src/lib.rs".to_owned(), 7)));
        assert_eq!(results.failures[0].message, "assertion `left == right` failed\n  left: -1\n right: 3");
        assert_eq!(results.failures[1].place, None, "the standard library is not the workspace");
        assert_eq!(results.failures[1].message, "a value");
        assert_eq!(results.summary(), "4 passed, 2 failed, 1 skipped");
        assert_eq!(test_results(Format::CargoTest, "error[E0425]: cannot find value", None, "/p", None), None);
    }

    #[test]
    fn pytest_junit_points_at_the_innermost_frame_in_the_workspace() {
        // From a real `pytest --junitxml=r.xml -o junit_family=xunit1` run (pytest 8.3).
        let report = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="2" skipped="1" tests="4"><testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="5" time="0.000" /><testcase classname="tests.test_a" name="test_add" file="tests/test_a.py" line="8" time="0.000"><failure message="assert -1 == 3&#10; +  where -1 = add(1, 2)">def test_add():
&gt;       assert add(1, 2) == 3
E       assert -1 == 3

tests/test_a.py:10: AssertionError</failure></testcase><testcase classname="tests.test_a" name="test_error" file="tests/test_a.py" line="14" time="0.000"><failure message="ValueError: boom">def test_error():
&gt;       helper()

tests/test_a.py:16:
_ _ _ _ _ _ _ _

    def helper():
&gt;       raise ValueError("boom")
E       ValueError: boom

pkg/util.py:13: ValueError</failure></testcase><testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="17" time="0.000"><skipped type="pytest.skip" message="later">/p/tests/test_a.py:18: later</skipped></testcase></testsuite></testsuites>"#;
        let results = test_results(Format::JUnit, "", Some(report), "/p", None).expect("results");
        assert_eq!((results.passed, results.failed, results.skipped), (1, 2, 1));
        assert_eq!(results.failures[0].name, "tests/test_a.py::test_add");
        assert_eq!(results.failures[0].place, Some(("tests/test_a.py".to_owned(), 10)));
        assert_eq!(results.failures[0].message, "assert -1 == 3\n +  where -1 = add(1, 2)");
        assert_eq!(results.failures[1].place, Some(("pkg/util.py".to_owned(), 13)), "where it raised");
        assert_eq!(test_results(Format::JUnit, "", Some("<not xml"), "/p", None), None);
        // A doctest's failure: its example and the difference, not the docstring's listing.
        let doctest = r#"<testsuite><testcase classname="semver" name="semver.bump_patch" file="semver.py" line="613"><failure message="614 &#10;615     Raise the patch part of the version.&#10;621     &gt;&gt;&gt; semver.bump_patch(&quot;3.4.5&quot;)&#10;Differences (ndiff with -expected +actual):&#10;    - '3.4.6'&#10;    ?      ^&#10;    + '3.4.7'&#10;    ?      ^&#10;&#10;/p/semver.py:621: DocTestFailure">…</failure></testcase></testsuite>"#;
        let results = test_results(Format::JUnit, "", Some(doctest), "/p", None).expect("results");
        assert_eq!(results.failures[0].name, "semver.py::semver.bump_patch");
        assert_eq!(results.failures[0].place, Some(("semver.py".to_owned(), 614)));
        assert_eq!(
            results.failures[0].message,
            ">>> semver.bump_patch(\"3.4.5\")\nDifferences (ndiff with -expected +actual):\n- '3.4.6'\n+ '3.4.7'"
        );
        assert_eq!(test_results(Format::JUnit, "", None, "/p", None), None, "no report written: no results");
    }

    #[test]
    fn a_pytest_collection_failure_says_the_error_it_hides() {
        // From a real run (pytest 8.3): a test module whose import fails.
        let report = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="0" skipped="0" tests="1"><testcase classname="" name="tests.test_a" file="tests/test_a.py" time="0.000"><error message="collection failure">ImportError while importing test module '/p/tests/test_a.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/root/.pyenv/versions/3.11.7/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_a.py:1: in &lt;module&gt;
    from pkg._version import v
E   ModuleNotFoundError: No module named 'pkg'</error></testcase></testsuite></testsuites>"#;
        let results = test_results(Format::JUnit, "", Some(report), "/p", None).expect("results");
        assert_eq!(results.failed, 1);
        assert_eq!(results.failures[0].message, "could not be collected: ModuleNotFoundError: No module named 'pkg'");
    }

    #[test]
    fn tap_counts_top_level_tests_and_reads_the_yaml_block() {
        let out = "TAP version 13\nok 1 - parses\nnot ok 2 - rejects empty input\n  ---\n    name: AssertionError\n    message: 'Expected values to be strictly equal'\n    at: 'test/parse.test.js:12:5'\n  ...\nok 3 - later # SKIP\n1..3\n";
        let results = test_results(Format::Tap, out, None, "/p", None).expect("results");
        assert_eq!((results.passed, results.failed, results.skipped), (1, 1, 1));
        assert_eq!(results.failures[0].name, "rejects empty input");
        assert_eq!(results.failures[0].place, Some(("test/parse.test.js".to_owned(), 12)));
        assert_eq!(results.failures[0].message, "Expected values to be strictly equal");
    }

    #[test]
    fn go_test_json_counts_subtests_once_and_finds_the_file_in_its_package() {
        // From a real `go test -json ./...` run (Go 1.19), trimmed.
        let out = r#"{"Action":"run","Package":"example.com/gt/sub","Test":"TestAdd"}
{"Action":"output","Package":"example.com/gt/sub","Test":"TestAdd","Output":"=== RUN   TestAdd\n"}
{"Action":"output","Package":"example.com/gt/sub","Test":"TestAdd","Output":"    a_test.go:7: Add(1, 2) = -1, want 3\n"}
{"Action":"output","Package":"example.com/gt/sub","Test":"TestAdd","Output":"--- FAIL: TestAdd (0.00s)\n"}
{"Action":"fail","Package":"example.com/gt/sub","Test":"TestAdd","Elapsed":0}
{"Action":"pass","Package":"example.com/gt/sub","Test":"TestOk","Elapsed":0}
{"Action":"skip","Package":"example.com/gt/sub","Test":"TestSkip","Elapsed":0}
{"Action":"run","Package":"example.com/gt/sub","Test":"TestTable"}
{"Action":"run","Package":"example.com/gt/sub","Test":"TestTable/one"}
{"Action":"output","Package":"example.com/gt/sub","Test":"TestTable/one","Output":"    a_test.go:18: one + one\n"}
{"Action":"fail","Package":"example.com/gt/sub","Test":"TestTable/one","Elapsed":0}
{"Action":"fail","Package":"example.com/gt/sub","Test":"TestTable","Elapsed":0}
{"Action":"fail","Package":"example.com/gt/sub","Elapsed":0.002}"#;
        let results = test_results(Format::GoTest, out, None, "/p", Some("example.com/gt")).expect("results");
        assert_eq!((results.passed, results.failed, results.skipped), (1, 2, 1));
        assert_eq!(results.failures[0].name, "example.com/gt/sub.TestAdd");
        assert_eq!(results.failures[0].place, Some(("sub/a_test.go".to_owned(), 7)));
        assert_eq!(results.failures[0].message, "a_test.go:7: Add(1, 2) = -1, want 3");
        assert_eq!(results.failures[1].place, Some(("sub/a_test.go".to_owned(), 18)));
    }

    #[test]
    fn jest_json_and_vitest_junit_point_at_the_test_not_at_node_modules() {
        // From real runs of jest 29 (`--json --testLocationInResults`) and vitest 3 (`--reporter=junit`).
        let jest_report = r#"{"numFailedTests":1,"numPassedTests":1,"numPendingTests":1,"numTodoTests":0,"testResults":[{"name":"/p/test/a.test.js","assertionResults":[{"fullName":"adds","status":"failed","location":{"column":1,"line":2},"failureMessages":["Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 3\nReceived: -1\n    at Object.toBe (/p/test/a.test.js:3:21)\n    at Promise.then.completed (/p/node_modules/jest-circus/build/utils.js:298:28)"]},{"fullName":"ok","status":"passed","failureMessages":[]}]}]}"#;
        let results = test_results(Format::JestJson, "", Some(jest_report), "/p", None).expect("results");
        assert_eq!((results.passed, results.failed, results.skipped), (1, 1, 1));
        assert_eq!(results.failures[0].name, "test/a.test.js::adds");
        assert_eq!(results.failures[0].place, Some(("test/a.test.js".to_owned(), 3)));
        assert!(results.failures[0].message.contains("Received: -1"), "{}", results.failures[0].message);
        let vitest = r#"<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="3" failures="1" errors="0" time="0.005712932">
    <testsuite name="test/v.test.mjs" tests="3" failures="1" errors="0" skipped="1">
        <testcase classname="test/v.test.mjs" name="adds" time="0.004897997">
            <failure message="expected -1 to be 3 // Object.is equality" type="AssertionError">
AssertionError: expected -1 to be 3 // Object.is equality

 ❯ node_modules/some-helper/index.js:9:3
 ❯ test/v.test.mjs:4:21
            </failure>
        </testcase>
        <testcase classname="test/v.test.mjs" name="ok" time="0.000208765">
        </testcase>
        <testcase classname="test/v.test.mjs" name="later" time="0"><skipped/></testcase>
    </testsuite>
</testsuites>"#;
        let results = test_results(Format::JUnit, "", Some(vitest), "/p", None).expect("results");
        assert_eq!((results.passed, results.failed, results.skipped), (1, 1, 1));
        assert_eq!(results.failures[0].name, "test/v.test.mjs::adds");
        assert_eq!(results.failures[0].place, Some(("test/v.test.mjs".to_owned(), 4)));
        assert_eq!(results.failures[0].message, "expected -1 to be 3 // Object.is equality");
    }

    #[test]
    fn ava_tap_difference_is_the_message_when_it_names_no_place_of_ours() {
        // From a real `ava --tap` run (ava 6): `at:` names ava's own assert.js.
        let out = "TAP version 13\nok 1 - later # SKIP\nnot ok 2 - adds\n  ---\n    name: AssertionError\n    assertion: t.is()\n    details:\n      'Difference (- actual, + expected):': |-\n        - -1\n        + 3\n    message: ''\n    at: 'ExecutionContext.is (file:///p/node_modules/ava/lib/assert.js:309:16)'\n  ...\nok 3 - ok\n\n1..3\n# tests 3\n";
        let results = test_results(Format::Tap, out, None, "/p", None).expect("results");
        assert_eq!((results.passed, results.failed, results.skipped), (1, 1, 1));
        assert_eq!(results.failures[0].place, None);
        assert_eq!(results.failures[0].message, "t.is()\n- -1\n+ 3");
    }
}
