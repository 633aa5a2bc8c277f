//! The project's own tools on real projects vendored as fixtures: detected
//! from the project's files, run in the sandbox, their findings in
//! Sherlock's review with the tool's rule ids, places and fixes.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tests::Home;

/// Copies a vendored project (`tests/fixtures/projects/NAME`) into the home's project folder.
fn vendored(home: &Home, name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects").join(name);
    let root = home.project();
    copy_tree(&from, &root);
    root
}

/// Copies a tree, links as links; installed dependencies (`node_modules`)
/// hard-linked where the file system allows, as they are many and read-only.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("type");
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).expect("link"), &target).expect("link");
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if !entry.path().components().any(|c| c.as_os_str() == "node_modules")
            || std::fs::hard_link(entry.path(), &target).is_err()
        {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `paired` in `home`, with the toolchains of the machine the tests run on.
fn paired(home: &Home, args: &[&str]) -> std::process::Command {
    home.paired_with_toolchains(args)
}

/// Sherlock's review of the whole project: its own checks and tests.
fn review_project(home: &Home, root: &Path) -> Value {
    let out = paired(home, &["agents", "run", "sherlock", "--skill", "review", "--json"])
        .current_dir(root)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// pytest in `root` with `args`, leaving no cache or bytecode behind.
fn pytest(root: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new("python3");
    command.args(["-m", "pytest"]).args(args).current_dir(root).env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Replaces `from` with `to` in a project's file: a bug for its tests to find.
fn break_code(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(text.matches(from).count(), 1, "{from:?} once in {file}");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}

fn review(home: &Home, file: &Path) -> Value {
    let out = paired(home, &["agents", "run", "sherlock", "--file", file.to_str().expect("utf8"), "--json"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn finding<'a>(run: &'a Value, rule: &str) -> &'a Value {
    run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:#}", run["findings"]))
}

/// Lists a tree's files with their contents, to show a run changed nothing
/// (installed dependencies aside).
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry")) {
            let kind = entry.file_type().expect("type");
            if kind.is_dir() && entry.file_name() != "node_modules" {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.push((entry.path(), std::fs::read(entry.path()).expect("read")));
            }
        }
    }
    files.sort();
    files
}

/// A crate with a dependency, cargo's downloaded sources outside the home
/// folder (`CARGO_HOME`, as in a container's `/usr/local/cargo`): clippy
/// reads them in the sandbox. They were not readable, clippy failed ("no
/// matching package named …") and the headline said "no findings".
#[test]
fn clippy_reads_the_dependencies_cargo_downloaded_outside_the_home_folder() {
    let home = Home::new();
    let root = home.path().join("dep");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmemchr = \"2\"\n",
    )
    .expect("write");
    let lib = "pub fn first_comma(text: &[u8]) -> Option<usize> {\n    let found = memchr::memchr(b',', text);\n    return found;\n}\n";
    std::fs::write(root.join("src/lib.rs"), lib).expect("write");
    let run = review(&home, &root.join("src/lib.rs"));
    let report = run["output"].as_str().unwrap_or_default();
    assert!(!report.contains("could not check") && report.contains("clippy (Cargo.toml): 1 finding"), "{report}");
    assert_eq!(finding(&run, "clippy::needless_return")["line"], 3);
    assert!(!root.join("Cargo.lock").exists(), "cargo wrote its lock file in a copy, not in the project");
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn clippy_runs_in_the_sandbox_on_a_real_crate_and_its_findings_are_sherlocks() {
    let home = Home::new();
    let root = vendored(&home, "glob");
    let before = snapshot(&root);
    let run = review(&home, &root.join("src/lib.rs"));
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("clippy (Cargo.toml): 3 findings"), "{report}");
    assert!(report.contains("sandbox fully enforced"), "{report}");
    // No model here: the report says what it is made of, and what a model adds (#16.6).
    assert!(
        report.contains("_Offline: the project's own tools and PAIRED's rules. With a model, Sherlock also"),
        "{report}"
    );
    // What upstream fixed in "Apply remaining clippy suggestions".
    let while_let = finding(&run, "clippy::while_let_loop");
    assert_eq!(while_let["line"], 214);
    assert_eq!(while_let["severity"], "warning");
    assert!(while_let["message"].as_str().unwrap_or_default().contains("while let"), "{while_let}");
    assert!(while_let["message"].as_str().unwrap_or_default().contains("help: try: `while let Some("), "{while_let}");
    let ignore_case = finding(&run, "clippy::manual_ignore_case_cmp");
    assert_eq!(ignore_case["line"], 1032);
    assert!(
        ignore_case["fix"]["edits"][0]["new_text"].as_str().unwrap_or_default().contains("eq_ignore_ascii_case"),
        "{ignore_case}"
    );
    // In the tests of the crate (clippy checks every target).
    assert_eq!(finding(&run, "clippy::iter_skip_next")["line"], 1254);
    assert_eq!(snapshot(&root), before, "the project is read-only to its tools: no target/, no lock file change");
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn ruff_runs_on_a_real_python_package_with_its_safe_fix() {
    let home = Home::new();
    let root = vendored(&home, "itsdangerous");
    let before = snapshot(&root);
    let run = review(&home, &root.join("itsdangerous.py"));
    let report = run["output"].as_str().unwrap_or_default();
    // Ruff's 4, less `unicode` and `long` under `if PY2:` (the Python 2 branch, meant).
    assert!(report.contains("ruff (setup.py (ruff's defaults)): 2 findings"), "{report}");
    // The headline counts the tools' findings too; each tool says how many are in the file.
    let headline = report.lines().next().unwrap_or_default();
    assert!(headline.starts_with("Sherlock reviewed `itsdangerous.py`: "), "{report}");
    assert!(headline.ends_with(" from its own rules, 1 from the project's tools."), "{report}");
    assert!(report.contains("— 1 in `itsdangerous.py`"), "the other is in tests.py: {report}");
    let membership = finding(&run, "ruff:E713");
    assert_eq!(membership["line"], 434);
    let fix = &membership["fix"];
    assert_eq!(fix["title"], "Convert to `not in`", "{membership}");
    let source = std::fs::read_to_string(root.join("itsdangerous.py")).expect("read");
    let line = source.lines().nth(433).expect("line 434");
    let edit = &fix["edits"][0];
    let (from, to) = (edit["range"]["start"]["character"].as_u64(), edit["range"]["end"]["character"].as_u64());
    let (from, to) = (from.expect("start") as usize, to.expect("end") as usize);
    let fixed = format!("{}{}{}", &line[..from], edit["new_text"].as_str().expect("text"), &line[to..]);
    assert!(fixed.contains(" not in ") && !fixed.contains("not '"), "{line} → {fixed}");
    assert!(run["findings"].as_array().expect("findings").iter().all(|f| f["rule"] != "ruff:F821"), "{run:#}");
    assert!(
        run["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["uri"].as_str().is_some_and(|u| u.ends_with("itsdangerous.py"))),
        "only the reviewed file's findings (tests.py has its own)"
    );
    assert_eq!(snapshot(&root), before);
    let _ = paired(&home, &["stop"]).output();
}

/// Applies a run's edits (insertions, and new files at 0:0) to the files on disk.
fn apply_edits(run: &Value) -> Vec<PathBuf> {
    let mut files = Vec::new();
    // Every position is of the file as it was: the last first.
    // (Insertions at one place keep their order: the last of them first.)
    let mut edits: Vec<(usize, &Value)> = run["edits"].as_array().into_iter().flatten().enumerate().collect();
    let at = |e: &Value| (e["range"]["start"]["line"].as_u64(), e["range"]["start"]["character"].as_u64());
    edits.sort_by_key(|(i, e)| std::cmp::Reverse((at(e), *i)));
    for (_, edit) in edits {
        let path = PathBuf::from(edit["uri"].as_str().expect("uri").trim_start_matches("file://"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let start = &edit["range"]["start"];
        let (line, character) =
            (start["line"].as_u64().expect("line") as usize, start["character"].as_u64().expect("character"));
        let mut offset: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        offset += text[offset..].chars().take(character as usize).map(char::len_utf8).sum::<usize>();
        let mut new = text.clone();
        new.insert_str(offset, edit["new_text"].as_str().expect("text"));
        std::fs::write(&path, new).expect("write");
        files.push(path);
    }
    files
}

fn edison(home: &Home, file: &Path, line: &str) -> Value {
    let out = paired(
        home,
        &[
            "agents",
            "run",
            "edison",
            "--skill",
            "tests",
            "--file",
            file.to_str().expect("utf8"),
            "--line",
            line,
            "--json",
        ],
    )
    .output()
    .expect("run");
    let run: Value = serde_json::from_slice(&out.stdout).expect("json");
    // 0 with a test, 3 (no result) without one; never a failure.
    let expected = if run["status"] == "no_result" { Some(3) } else { Some(0) };
    assert_eq!(out.status.code(), expected, "{run}: {}", String::from_utf8_lossy(&out.stderr));
    run
}

#[test]
fn edisons_rust_tests_were_run_before_they_are_proposed_and_pass_in_the_project() {
    let home = Home::new();
    let root = vendored(&home, "glob");
    // `chars_eq`, whose signature is line 1027 (the signature line counts as inside it).
    let run = edison(&home, &root.join("src/lib.rs"), "1027");
    let report = run["output"].as_str().unwrap_or_default();
    // Three: of four inputs three give `false` (two tests of one value at most).
    assert!(report.contains("Edison wrote 3 test(s) for `chars_eq`") && report.contains("3 passed"), "{report}");
    assert!(report.contains("sandbox fully enforced"), "{report}");
    let source = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    assert_eq!(apply_edits(&run), [root.join("src/lib.rs")]);
    let after = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    assert!(after.starts_with(&source[..source.rfind('}').expect("the test module's end")]), "appended, nothing moved");
    assert_eq!(after.matches("mod test").count(), source.matches("mod test").count(), "into glob's own test module");
    // The project's own test command on the real (not the scratch) copy.
    let target = home.path().join("target");
    let out = std::process::Command::new("cargo")
        .args(["test", "--offline", "--lib", "chars_eq_"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&root)
        .output()
        .expect("cargo test");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("test result: ok. 3 passed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // An associated function is called through its type (`Pattern::new`,
    // line 603), imported into the test module by it.
    let associated = edison(&home, &root.join("src/lib.rs"), "603");
    let report = associated["output"].as_str().unwrap_or_default();
    assert!(report.contains("Pattern::new(") && report.contains("passed"), "{associated}");
    // A method needs an instance (`matches(&self, …)`): no test, and the reason.
    let method = edison(&home, &root.join("src/lib.rs"), "749");
    assert_eq!(method["status"], "no_result", "{method}");
    assert!(method["error"].as_str().is_some_and(|e| e.contains("is a method")), "{method}");
    assert!(method["edits"].as_array().is_some_and(Vec::is_empty), "{method}");
    assert!(
        method["output"].as_str().unwrap_or_default().contains("proposes no test: `matches` is a method"),
        "{method}"
    );
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn edisons_python_tests_are_pytest_functions_that_pass_in_the_project() {
    let home = Home::new();
    let root = vendored(&home, "itsdangerous");
    let run = edison(&home, &root.join("itsdangerous.py"), "229");
    assert_eq!(run["status"], "succeeded", "{run}");
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("for `bytes_to_int` in `test_itsdangerous.py`") && report.contains("2 passed"), "{report}");
    assert_eq!(apply_edits(&run), [root.join("test_itsdangerous.py")]);
    let written = std::fs::read_to_string(root.join("test_itsdangerous.py")).expect("read");
    assert!(written.starts_with("from itsdangerous import bytes_to_int\n"), "{written}");
    assert!(written.contains("assert bytes_to_int(b'abc') == 6382179"), "{written}");
    let out = pytest(&root, &["-q", "-p", "no:cacheprovider", "test_itsdangerous.py"]).output().expect("pytest");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("2 passed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = paired(&home, &["stop"]).output();
}

/// Edison's documentation shows what the function returned for the inputs
/// the project's tests give it, run: semver runs its docstrings as doctests
/// (`--doctest-modules`), so the example must be exactly right. A call that
/// leaves defaulted parameters out is an example too, the simplest
/// (`format_version(3, 4, 5)`; only the call passing all five was shown).
#[test]
fn edisons_documentation_shows_what_the_projects_tests_calls_return() {
    let home = Home::new();
    let root = vendored(&home, "semver");
    let documented = "def bump_major(version):\n    \"\"\"\n    Raise the major part of the version.\n\n    :param: version string\n    :return: the raised version string\n    :rtype: str\n\n    >>> semver.bump_major(\"3.4.5\")\n    '4.0.0'\n    \"\"\"\n";
    break_code(&root, "semver.py", documented, "def bump_major(version):\n");
    let written = document(&home, &root, "def bump_major", "with 1 example(s): calls the project's tests make, run");
    assert!(
        written.contains("def bump_major(version):\n    \"\"\"Bumps major for `version`.\n\n    Examples:\n        >>> bump_major(\"3.4.5\")\n        '4.0.0'\n    \"\"\"\n    verinfo"),
        "{written}"
    );
    let source = std::fs::read_to_string(root.join("semver.py")).expect("read");
    let at = source.find("def format_version(").expect("format_version");
    let docstring = &source[at..];
    let docstring = &docstring[docstring.find("    \"\"\"").expect("its docstring")..];
    let end = docstring[7..].find("\"\"\"\n").expect("its end") + 7 + 4;
    break_code(&root, "semver.py", &docstring[..end], "");
    let written = document(&home, &root, "def format_version", "example(s): calls the project's tests make, run");
    assert!(written.contains("        >>> format_version(3, 4, 5)\n        '3.4.5'\n"), "{written}");
    let out = pytest(&root, &["-v", "-p", "no:cacheprovider", "semver.py"]).output().expect("pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("semver.py::semver.bump_major PASSED"), "{stdout}");
    assert!(stdout.contains("semver.py::semver.format_version PASSED"), "{stdout}");
    let _ = paired(&home, &["stop"]).output();
}

/// Edison documents the function whose line starts with `signature` in the
/// vendored semver at `root`; the report says `said`; his edit is applied.
/// Returns the file as written.
fn document(home: &Home, root: &Path, signature: &str, said: &str) -> String {
    let source = std::fs::read_to_string(root.join("semver.py")).expect("read");
    let line = source.lines().position(|l| l.starts_with(signature)).expect("the function") + 1;
    let file = root.join("semver.py");
    let args = ["agents", "run", "edison", "--skill", "document", "--file", file.to_str().expect("utf8")];
    let out = paired(home, &args).args(["--line", &line.to_string(), "--json"]).output().expect("run");
    let run: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(run["status"], "succeeded", "{run}");
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains(said), "{report}");
    assert_eq!(apply_edits(&run), std::slice::from_ref(&file));
    std::fs::read_to_string(&file).expect("read")
}

/// A parameter the body calls `.dumps` on: the standard library's two
/// serializers, imported as modules, and the answers compared with `is`.
#[test]
fn edisons_python_tests_pass_a_serializer_the_standard_librarys_modules() {
    let home = Home::new();
    let root = vendored(&home, "itsdangerous");
    let text = std::fs::read_to_string(root.join("itsdangerous.py")).expect("read");
    let line = text.lines().position(|l| l.starts_with("def is_text_serializer(")).expect("the function") + 1;
    let run = edison(&home, &root.join("itsdangerous.py"), &line.to_string());
    assert_eq!(run["status"], "succeeded", "{run}");
    let files = apply_edits(&run);
    assert_eq!(files.len(), 1, "{run}");
    let written = std::fs::read_to_string(&files[0]).expect("read");
    assert!(written.contains("import json\n") && written.contains("import pickle\n"), "{written}");
    assert!(written.contains("assert is_text_serializer(json) is True\n"), "{written}");
    assert!(written.contains("assert is_text_serializer(pickle) is False\n"), "{written}");
    let out = pytest(&root, &["-q", "-p", "no:cacheprovider", "-k", "test_is_text_serializer_"])
        .arg(&files[0])
        .output()
        .expect("pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("2 passed"), "{stdout}");
    let _ = paired(&home, &["stop"]).output();
}

/// A function returning one of the module's classes (`VersionInfo`, a named
/// tuple's shape): its value is asserted as the construction its `repr` writes.
#[test]
fn edisons_python_tests_compare_with_values_of_the_modules_own_classes() {
    let home = Home::new();
    let root = vendored(&home, "semver");
    let run = edison(&home, &root.join("semver.py"), "356");
    assert_eq!(run["status"], "succeeded", "{run}");
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("for `parse_version_info` in `test_semver.py`"), "{report}");
    assert!(report.contains(") == VersionInfo(major=3, minor=4, patch=5, prerelease="), "{report}");
    assert_eq!(apply_edits(&run), [root.join("test_semver.py")]);
    let out = pytest(&root, &["-q", "-p", "no:cacheprovider", "test_semver.py", "-k", "test_parse_version_info_"])
        .output()
        .expect("pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !stdout.contains("failed"), "{stdout}");
    let _ = paired(&home, &["stop"]).output();
}

/// The whole Go module's tests (`go test -v`), outside PAIRED.
fn go_test(home: &Home, root: &std::path::Path) -> std::process::Output {
    std::process::Command::new("go")
        .args(["test", "-count=1", "-v", "./..."])
        .current_dir(root)
        .env("GOCACHE", home.path().join("go-cache"))
        .env("GOFLAGS", "-mod=readonly")
        .env("HOME", home.path())
        .output()
        .expect("go test")
}

/// The whole Go module's tests, outside PAIRED (the old ones and the new):
/// they must pass; what `go test -v` printed.
fn go_test_all(home: &Home, root: &std::path::Path) -> String {
    let out = go_test(home, root);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn edisons_go_tests_take_the_packages_inputs_and_pass_with_its_suite() {
    let home = Home::new();
    let root = vendored(&home, "uuid");
    // `func Parse(s string) (UUID, error)`: a value of the package's own type, and an error.
    let run = edison(&home, &root.join("uuid.go"), "64");
    assert_eq!(run["status"], "succeeded", "{run}");
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("for `Parse` in `uuid_test.go`") && report.contains("1 passed"), "{report}");
    let before = std::fs::read_to_string(root.join("uuid_test.go")).expect("read");
    assert_eq!(apply_edits(&run), [root.join("uuid_test.go")]);
    let written = std::fs::read_to_string(root.join("uuid_test.go")).expect("read");
    assert!(written.starts_with(&before), "appended; nothing of the existing tests moves");
    // uuid's table of inputs asserts each one's version and variant, and its
    // error cases fail as an empty or cut input would: what is new is an
    // input of theirs in capitals, and the bytes it parses to.
    assert!(
        written.contains("(t *testing.T) {\n\tgot, err := Parse(\"F47AC10B-58CC-0372-8567-0E02B2C3D479\")"),
        "{written}"
    );
    assert!(written.contains("if got != (UUID{0xf4, 0x7a, 0xc1, 0xb,"), "{written}");
    assert!(!written[before.len()..].contains("f47ac10b-58cc-0372"), "none of theirs: {written}");
    let stdout = go_test_all(&home, &root);
    assert_eq!(stdout.matches("--- PASS: TestParse_").count(), 1, "{stdout}");
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn edisons_go_tests_pass_readers_errors_and_the_packages_values_import_what_they_use_and_read_setters_back() {
    let home = Home::new();
    let root = vendored(&home, "uuid");
    let line = |file: &str, signature: &str| {
        let text = std::fs::read_to_string(root.join(file)).expect("read");
        (text.lines().position(|l| l.starts_with(signature)).expect("signature") + 1).to_string()
    };
    // `func NewRandomFromReader(r io.Reader) (UUID, error)`: a reader with
    // bytes to give and an empty one, in a new test file importing `strings`.
    let run = edison(&home, &root.join("version4.go"), &line("version4.go", "func NewRandomFromReader("));
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(apply_edits(&run), [root.join("version4_test.go")]);
    let written = std::fs::read_to_string(root.join("version4_test.go")).expect("read");
    assert!(written.starts_with("package uuid\n\nimport (\n\t\"strings\"\n\t\"testing\"\n)\n"), "{written}");
    // The bytes read, with the version (4) and variant bits set.
    assert!(
        written.contains("NewRandomFromReader(strings.NewReader(\"0123456789abcdef0123456789abcdef\"))")
            && written.contains("(UUID{0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x46, 0x37, 0xb8, 0x39,"),
        "{written}"
    );
    assert!(written.contains("if _, err := NewRandomFromReader(strings.NewReader(\"\")); err == nil {"), "{written}");
    // `func Must(uuid UUID, err error) UUID`: the package's array type (declared
    // in the file) and an error. `uuid_test.go` does not import `errors`: the
    // tests go to a file of their own rather than into it.
    let run = edison(&home, &root.join("uuid.go"), &line("uuid.go", "func Must("));
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(apply_edits(&run), [root.join("uuid_edison_test.go")]);
    let written = std::fs::read_to_string(root.join("uuid_edison_test.go")).expect("read");
    assert!(written.contains("import (\n\t\"errors\"\n\t\"testing\"\n)"), "{written}");
    assert!(written.contains("Must(UUID{}, errors.New(\"boom\"))") && written.contains("did not panic"), "{written}");
    // `func SetClockSequence(seq int)`: what `ClockSequence()` reads back
    // after it, and the old value put back after the test.
    let run = edison(&home, &root.join("time.go"), &line("time.go", "func SetClockSequence("));
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(apply_edits(&run), [root.join("time_test.go")]);
    let written = std::fs::read_to_string(root.join("time_test.go")).expect("read");
    assert!(
        written.contains("\told := ClockSequence()\n\tdefer SetClockSequence(old)\n\tSetClockSequence(-7)\n\tif got := ClockSequence(); got != 16377 {"),
        "{written}"
    );
    let stdout = go_test_all(&home, &root);
    assert_eq!(stdout.matches("--- PASS: TestNewRandomFromReader_").count(), 2, "{stdout}");
    assert_eq!(stdout.matches("--- PASS: TestMust_").count(), 3, "{stdout}");
    // Not `SetClockSequence(-1)`, which uuid's tests make.
    assert!(!written.contains("SetClockSequence(-1)\n"), "{written}");
    assert_eq!(stdout.matches("--- PASS: TestSetClockSequence_").count(), 3, "{stdout}");
    let _ = paired(&home, &["stop"]).output();
}

/// A value that differs from one run to the next — run again as another
/// user, with another home, in another time zone — is not pinned (it would
/// pass on the copy and fail on the user's machine); Go: what it held in
/// both runs is asserted instead.
#[test]
fn edison_pins_no_value_of_the_machine_and_asserts_what_held_in_both_runs() {
    let home = Home::new();
    let root = vendored(&home, "uuid");
    let line = |file: &str, start: &str| {
        let text = std::fs::read_to_string(root.join(file)).expect("read");
        (text.lines().position(|l| l.starts_with(start)).expect("the function") + 1).to_string()
    };
    // `NewDCEPerson()`: a version 2 UUID of the user's id, the node id random
    // in each process. Its domain, version and variant hold; its id (the
    // user's) and time do not.
    let run = edison(&home, &root.join("dce.go"), &line("dce.go", "func NewDCEPerson("));
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(apply_edits(&run), [root.join("dce_test.go")]);
    let written = std::fs::read_to_string(root.join("dce_test.go")).expect("read");
    assert!(written.contains("\tgot, err := NewDCEPerson()\n"), "{written}");
    assert!(written.contains("if v := got.Domain(); v != Domain(0) {"), "{written}");
    assert!(written.contains("if v := got.Version(); v != Version(2) {"), "{written}");
    assert!(!written.contains("got.ID()") && !written.contains("got.Time()"), "{written}");
    assert!(!written.contains("UUID{0x"), "no whole value pinned: {written}");
    // `encodeHex(dst []byte, uuid UUID)` returns nothing: it writes into a
    // buffer of 36 bytes (as `String` makes it), which its tests assert.
    let run = edison(&home, &root.join("uuid.go"), &line("uuid.go", "func encodeHex("));
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(apply_edits(&run), [root.join("uuid_test.go")]);
    let written = std::fs::read_to_string(root.join("uuid_test.go")).expect("read");
    assert!(
        written.contains("\tdst := make([]byte, 36)\n\tencodeHex(dst, UUID{})\n\tif got := string(dst); got != \"00000000-0000-0000-0000-000000000000\" {"),
        "{written}"
    );
    // `NewDCEGroup()`: the group's id is not pinned either.
    let run = edison(&home, &root.join("dce.go"), &line("dce.go", "func NewDCEGroup("));
    assert!(run["output"].as_str().is_some_and(|o| o.contains("got.Version()") && !o.contains("got.ID()")), "{run}");
    let stdout = go_test_all(&home, &root);
    assert!(stdout.contains("--- PASS: TestNewDCEPerson_1"), "{stdout}");
    assert!(stdout.contains("--- PASS: Test_encodeHex_1"), "{stdout}");
    // The process's id and the host's name: the same in every sandboxed run
    // here, another in the user's.
    let machine = "package uuid\n\nimport \"os\"\n\nfunc processID() int { return os.Getpid() }\n\nfunc hostName() string {\n\th, _ := os.Hostname()\n\treturn h\n}\n";
    std::fs::write(root.join("machine.go"), machine).expect("write");
    for at in ["5", "7"] {
        let run = edison(&home, &root.join("machine.go"), at);
        assert_eq!(run["status"], "no_result", "{run}");
        assert!(run["error"].as_str().is_some_and(|e| e.contains("differs from one run to the next")), "{run}");
    }
    std::fs::remove_file(root.join("machine.go")).expect("remove");
    // `ClockSequence()`: random in each process, nothing else to it.
    let run = edison(&home, &root.join("time.go"), &line("time.go", "func ClockSequence("));
    assert_eq!(run["status"], "no_result", "{run}");
    assert!(run["error"].as_str().is_some_and(|e| e.contains("differs from one run to the next")), "{run}");

    // Python: a path under the user's home, and the user's id.
    let root = vendored(&home, "itsdangerous");
    let module = root.join("itsdangerous.py");
    let mut text = std::fs::read_to_string(&module).expect("read");
    text.push_str("\n\ndef home_folder(name):\n    import os\n    return os.path.join(os.path.expanduser(\"~\"), name)\n\n\ndef user_id():\n    import os\n    return os.getgid()\n\n\ndef absolute(name):\n    import os\n    return os.path.abspath(name)\n");
    std::fs::write(&module, &text).expect("write");
    let lines = text.lines().count();
    // The home, the group's id, the folder the copy is in.
    for line in [lines - 11, lines - 6, lines - 1] {
        let run = edison(&home, &module, &line.to_string());
        assert_eq!(run["status"], "no_result", "{run}");
        assert!(run["error"].as_str().is_some_and(|e| e.contains("differs from one run to the next")), "{run}");
    }
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn an_edison_go_test_that_fails_after_the_packages_own_starts_with_the_reset_they_use() {
    let home = Home::new();
    let root = vendored(&home, "uuid");
    let text = std::fs::read_to_string(root.join("version4.go")).expect("read");
    let line = text.lines().position(|l| l.starts_with("func New() UUID")).expect("New") + 1;
    // `New()` passes alone, and fails after uuid's own tests: they leave
    // `SetRand` on a spent reader. They reset it with `SetRand(nil)`; so does
    // Edison's test, and it passes with the whole suite.
    let run = edison(&home, &root.join("version4.go"), &line.to_string());
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(apply_edits(&run), [root.join("version4_test.go")]);
    let written = std::fs::read_to_string(root.join("version4_test.go")).expect("read");
    assert!(
        written.contains("func TestNew_1(t *testing.T) {\n\tSetRand(nil) // as the package's tests do"),
        "{written}"
    );
    let stdout = go_test_all(&home, &root);
    assert!(stdout.contains("--- PASS: TestNew_1"), "{stdout}");
    // Without the reset it would not have: the same test, the line taken out.
    std::fs::write(
        root.join("version4_test.go"),
        written.replace("\tSetRand(nil) // as the package's tests do: a test before may have left it set\n", ""),
    )
    .expect("write");
    let out = go_test(&home, &root);
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn edisons_typescript_tests_join_the_test_file_that_imports_the_module() {
    let home = Home::new();
    let root = vendored(&home, "destr");
    // `export function destr<T = unknown>(value: any, options: Options = {}): T {`:
    // `any` says nothing; the project's tests pass strings, and Edison's are
    // of strings they do not pass (theirs assert `destr("true")` already).
    let run = edison(&home, &root.join("src/index.ts"), "32");
    assert_eq!(run["status"], "succeeded", "{run}");
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("for `destr` in `test/index.test.ts`") && report.contains("4 passed"), "{report}");
    let written = apply_to_destrs_tests(&run, &root);
    // In its `describe("destr", …)`, as its tests are indented.
    assert!(
        written.contains("  it('destr(\"abc\")', () => {\n    expect(destr(\"abc\")).toBe(\"abc\");\n  });"),
        "{written}"
    );
    assert!(!run["edits"][0]["new_text"].as_str().unwrap_or_default().contains("destr(\"true\")"), "{written}");
    // The project's whole suite, outside PAIRED: its 22 tests and the 4 new.
    destrs_suite_passes_with(&root, 26);
    let _ = paired(&home, &["stop"]).output();
}

/// A CommonJS package tested with mocha and node's `assert` (jshttp's
/// content-type): the tests join the `describe` the file keeps for the
/// function, call it through the binding the file `require`s it by, try
/// inputs its tests do not (theirs are asserted already), assert as it does
/// (an object of its class field by field, an error by a regular
/// expression), in its style (single quotes, no semicolons, `function ()
/// {`), and the project's suite passes with them. A function whose every
/// input is tested already gets none.
#[test]
fn edisons_tests_of_a_commonjs_module_are_mocha_tests_in_the_files_style() {
    let home = Home::new();
    let root = vendored(&home, "content-type");
    // `function parse (string) {`, exported by `exports.parse = parse`.
    let run = edison(&home, &root.join("index.js"), "107");
    assert_eq!(run["status"], "succeeded", "{run}");
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("for `parse` in `test/contentType_parse.js`") && report.contains("3 passed"), "{report}");
    let before = std::fs::read_to_string(root.join("test/contentType_parse.js")).expect("read");
    assert_eq!(apply_edits(&run), [root.join("test/contentType_parse.js")]);
    let written = std::fs::read_to_string(root.join("test/contentType_parse.js")).expect("read");
    let added = run["edits"][0]["new_text"].as_str().expect("the tests");
    assert_eq!(written.replacen(added, "", 1), before, "one insertion");
    // Inside `describe('contentType.parse(string)', …)`, before `contentType.parse(req)`'s.
    let suite = written.find("describe('contentType.parse(string)'").expect("the suite");
    let next = written.find("describe('contentType.parse(req)'").expect("the next suite");
    let at = written.find(added).expect("the insertion");
    assert!(suite < at && at < next, "{written}");
    assert!(
        added.contains("  it(\"contentType.parse('abc') throws\", function () {\n    assert.throws(function () {\n      contentType.parse('abc')\n    }, /^TypeError: invalid media type$/)\n  })\n"),
        "{added}"
    );
    // Not the tests' own inputs, nor one that does what one of theirs does
    // (`'TEXT/HTML'` parses as their `'text/html'`).
    assert!(!added.contains("parse('text/html')") && !added.contains("TEXT/HTML"), "{added}");
    assert!(!added.lines().any(|l| l.trim_end().ends_with(';')), "no semicolons: {added}");
    // `format` takes objects, each of which its tests assert already.
    let run = edison(&home, &root.join("index.js"), "66");
    assert_eq!(run["status"], "no_result", "{run}");
    assert!(run["error"].as_str().unwrap_or_default().contains("one the project's tests pass already"), "{run}");
    let out = std::process::Command::new(root.join("node_modules/.bin/mocha"))
        .args(["--reporter", "dot", "--check-leaks", "test/"])
        .current_dir(&root)
        .output()
        .expect("mocha");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("46 passing"), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let _ = paired(&home, &["stop"]).output();
}

/// A function its module keeps to itself is tested through the exported
/// function that calls it, with the inputs that reach it (a copy of the
/// module marked at its start counts them) — and where none of them does,
/// the refusal says so.
#[test]
fn edison_tests_a_module_private_javascript_function_through_its_exported_caller() {
    let home = Home::new();
    let root = vendored(&home, "content-type");
    let module = root.join("index.js");
    let mut text = std::fs::read_to_string(&module).expect("read");
    text.push_str("\nexports.shout = shout\n\nfunction shout (text) {\n  if (typeof text !== 'string') return null\n  return exclaim(text.toUpperCase())\n}\n\nfunction exclaim (text) {\n  return text.length ? text + '!' : '?'\n}\n");
    std::fs::write(&module, &text).expect("write");
    std::fs::write(
        root.join("test/shout.js"),
        "var assert = require('assert')\nvar contentType = require('..')\n\ndescribe('contentType.shout(text)', function () {\n  it('should shout', function () {\n    assert.strictEqual(contentType.shout('hi'), 'HI!')\n  })\n})\n",
    )
    .expect("write");
    let line = text.lines().position(|l| l.starts_with("function exclaim")).expect("exclaim") + 1;
    let run = edison(&home, &module, &line.to_string());
    assert_eq!(run["status"], "succeeded", "{run}");
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("for `exclaim` — a function its module keeps to itself, so they call `shout`"), "{report}");
    assert_eq!(apply_edits(&run), [root.join("test/shout.js")]);
    let written = std::fs::read_to_string(root.join("test/shout.js")).expect("read");
    // Only inputs that reach it: not a number (`shout` returns null first).
    assert!(written.contains("contentType.shout('')") && written.contains("'?'"), "{written}");
    assert!(!written.contains("shout(0)") && !written.contains("shout(1)"), "{written}");
    let out = std::process::Command::new(root.join("node_modules/.bin/mocha"))
        .args(["--reporter", "dot", "--check-leaks", "test/"])
        .current_dir(&root)
        .output()
        .expect("mocha");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("paired"), "the mark is not left in the module");
    assert!(!std::fs::read_to_string(&module).expect("read").contains("__pairedReached"));
    // `getcontenttype(obj)`: `parse` calls it with an object, and none of
    // the inputs Edison finds for `parse` is one.
    let line = text.lines().position(|l| l.starts_with("function getcontenttype")).expect("declared") + 1;
    let run = edison(&home, &module, &line.to_string());
    assert_eq!(run["status"], "no_result", "{run}");
    assert!(
        run["error"].as_str().is_some_and(
            |e| e.contains("none of the inputs Edison found for `parse`, through which it runs, reaches it")
        ),
        "{run}"
    );
    let _ = paired(&home, &["stop"]).output();
}

/// A test that passes alone but fails beside the project's others (a test
/// of theirs leaves module state it does not set) is not proposed: mocha
/// runs every file in one process, so the whole suite is run with it.
#[test]
fn an_edison_javascript_test_that_fails_beside_the_projects_others_is_not_proposed() {
    let home = Home::new();
    let root = vendored(&home, "content-type");
    // content-type's installed mocha, a module with state of its own.
    for stale in ["index.js", "test", "package.json"] {
        let path = root.join(stale);
        let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
    }
    std::fs::create_dir_all(root.join("test")).expect("mkdir");
    let write = |path: &str, text: &str| std::fs::write(root.join(path), text).expect("write");
    write("package.json", r#"{ "name": "state", "main": "index.js", "devDependencies": { "mocha": "*" } }"#);
    write(
        "index.js",
        "'use strict'\nvar unit = 'B'\nexports.setUnit = function setUnit (u) { unit = u }\nexports.label = function label (n) {\n  return n + unit\n}\n",
    );
    let theirs = "var assert = require('assert')\nvar state = require('..')\ndescribe('state.label(n)', function () {\n  it('labels a number', function () {\n    state.setUnit('B')\n    assert.strictEqual(state.label(3), '3B')\n  })\n  it('labels in another unit', function () {\n    state.setUnit('K')\n    assert.strictEqual(state.label(1), '1K')\n  })\n})\n";
    write("test/label.js", theirs);
    let run = edison(&home, &root.join("index.js"), "4");
    assert_eq!(run["status"], "no_result", "{run}");
    assert!(
        run["error"].as_str().unwrap_or_default().contains("pass alone, but beside the project's other tests"),
        "{run}"
    );
    // Their second test puts the unit back: then the new ones are proposed.
    write(
        "test/label.js",
        &theirs.replace(
            "    assert.strictEqual(state.label(1), '1K')\n",
            "    assert.strictEqual(state.label(1), '1K')\n    state.setUnit('B')\n",
        ),
    );
    let run = edison(&home, &root.join("index.js"), "4");
    assert_eq!(run["status"], "succeeded", "{run}");
    let _ = paired(&home, &["stop"]).output();
}

/// Python's counterpart: the new tests join a test file whose last test
/// leaves the module's unit changed; run with that file they would fail.
#[test]
fn an_edison_python_test_that_fails_beside_the_files_others_is_not_proposed() {
    let home = Home::new();
    let root = home.project();
    std::fs::create_dir_all(root.join("tests")).expect("mkdir");
    let write = |path: &str, text: &str| std::fs::write(root.join(path), text).expect("write");
    write(
        "units.py",
        "UNIT = 'B'\n\n\ndef set_unit(u):\n    global UNIT\n    UNIT = u\n\n\ndef label(n: int) -> str:\n    return f'{n}{UNIT}'\n",
    );
    let theirs = "import units\nfrom units import label\n\n\ndef test_label():\n    units.set_unit('B')\n    assert label(3) == '3B'\n\n\ndef test_other_unit():\n    units.set_unit('K')\n    assert label(1) == '1K'\n";
    write("tests/test_units.py", theirs);
    let run = edison(&home, &root.join("units.py"), "9");
    assert_eq!(run["status"], "no_result", "{run}");
    assert!(
        run["error"].as_str().unwrap_or_default().contains("pass alone, but beside the project's other tests"),
        "{run}"
    );
    write("tests/test_units.py", &format!("{theirs}    units.set_unit('B')\n"));
    let run = edison(&home, &root.join("units.py"), "9");
    assert_eq!(run["status"], "succeeded", "{run}");
    let _ = paired(&home, &["stop"]).output();
}

/// Applies Edison's run to destr's test file: one insertion, nothing of
/// the existing tests changed. The file as written.
fn apply_to_destrs_tests(run: &Value, root: &Path) -> String {
    let before = std::fs::read_to_string(root.join("test/index.test.ts")).expect("read");
    assert_eq!(apply_edits(run), [root.join("test/index.test.ts")]);
    let written = std::fs::read_to_string(root.join("test/index.test.ts")).expect("read");
    let inserted = run["edits"][0]["new_text"].as_str().expect("the tests");
    assert_eq!(written.replacen(inserted, "", 1), before, "one insertion; nothing of the existing tests changes");
    written
}

/// destr's whole suite, outside PAIRED, passes with `tests` tests.
fn destrs_suite_passes_with(root: &Path, tests: usize) {
    let out = std::process::Command::new(root.join("node_modules/.bin/vitest"))
        .args(["run"])
        .current_dir(root)
        .env("CI", "1")
        .output()
        .expect("vitest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let passed = format!("{tests} passed");
    assert!(out.status.success() && stdout.contains(&passed), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
}

/// A stand-in for one of the project's installed tools (`node_modules/.bin/NAME`).
fn stand_in(root: &Path, name: &str, script: &str) {
    let bin = root.join("node_modules/.bin").join(name);
    std::fs::write(&bin, script).expect("stand-in");
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
}

/// A project formatted by prettier gets Edison's tests as its prettier
/// writes them: run in the sandbox on the copy, the tests taken from the
/// file it left (here a stand-in prettier that wraps `toBe(…)` as prettier
/// does a long line), and run again as formatted.
#[test]
fn edisons_typescript_tests_are_formatted_by_the_projects_prettier() {
    let home = Home::new();
    let root = vendored(&home, "destr");
    let prettier = "#!/bin/sh\n# A stand-in: wraps `expect(destr(\"abc\")).toBe(…);` as prettier wraps a long line.\nfor file in \"$@\"; do :; done\nsed -i 's/^\\( *\\)expect(\\(destr(\"abc\")\\))\\.toBe(\\(.*\\));$/\\1expect(\\2).toBe(\\n\\1  \\3,\\n\\1);/' \"$file\"\n";
    stand_in(&root, "prettier", prettier);
    std::fs::write(root.join(".prettierrc"), "{}\n").expect("config");
    let run = edison(&home, &root.join("src/index.ts"), "32");
    assert_eq!(run["status"], "succeeded", "{run}");
    let written = apply_to_destrs_tests(&run, &root);
    assert!(
        written.contains("    expect(destr(\"abc\")).toBe(\n      \"abc\",\n    );\n"),
        "as the formatter wrote it: {written}"
    );
    destrs_suite_passes_with(&root, 26);
    let _ = paired(&home, &["stop"]).output();
}

/// A project whose lint script checks with prettier (ufo's `prettier -c src
/// test`): Sherlock runs `prettier --check` on what the script checks, and a
/// file it would change is a finding whose fix is the file as that prettier
/// writes it (here a stand-in that marks the first line), the lines that differ.
#[test]
fn prettier_runs_where_the_lint_script_does_and_its_finding_carries_the_formatting() {
    let home = Home::new();
    let root = vendored(&home, "destr");
    let prettier = "#!/bin/sh\n# A stand-in for prettier: --check names src/index.ts; a file alone is printed formatted.\ncase \"$*\" in\n  *--check*) echo 'Checking formatting...'; echo '[warn] src/index.ts'; echo '[warn] Code style issues found in the above file. Run Prettier with --write to fix.'; exit 1 ;;\n  *) sed '1s/$/ \\/\\/ formatted/' \"$1\" ;;\nesac\n";
    stand_in(&root, "prettier", prettier);
    let mut package: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("package.json")).expect("package.json")).expect("json");
    package["scripts"]["lint"] = Value::from("eslint . && prettier -c src");
    std::fs::write(root.join("package.json"), package.to_string()).expect("package.json");
    let run = review(&home, &root.join("src/index.ts"));
    let report = run["output"].as_str().unwrap_or_default();
    assert!(
        report.contains("prettier (package.json scripts.lint: eslint . && prettier -c src): 1 finding"),
        "{report}"
    );
    let found = finding(&run, "prettier:format");
    assert_eq!(found["line"], 1, "{found}");
    let edit = &found["fix"]["edits"][0];
    let first =
        std::fs::read_to_string(root.join("src/index.ts")).expect("read").lines().next().expect("a line").to_owned();
    assert_eq!(edit["new_text"], format!("{first} // formatted\n"), "{found}");
    assert_eq!((edit["range"]["start"]["line"].as_u64(), edit["range"]["end"]["line"].as_u64()), (Some(0), Some(1)));
    let _ = paired(&home, &["stop"]).output();
}

/// A model's `run_command`: only the granted commands, in the sandbox, with
/// what the program printed and what the sandbox held.
#[tokio::test]
async fn a_granted_command_runs_in_the_sandbox_and_nothing_else_runs() {
    use protocol::agents::{self, RunParams, RunStatus};
    use tests::{
        Rpc,
        fake_provider::{Reply, openai_text, openai_tool_calls, serve_fake},
    };
    let home = Home::new();
    let root = home.project();
    std::fs::write(root.join("notes.txt"), "inside the project\n").expect("write");
    std::fs::write(home.path().join("secret.txt"), "THE_USERS_SECRET\n").expect("write");
    let manifest = "id = \"runner\"\ntools = [\"run_command\"]\n[metadata]\nname = \"Runner\"\nversion = \"1.0.0\"\nrole = \"dev\"\n[permissions]\nfs_read = [\"**\"]\ncommands = [\"cat\"]\n";
    std::fs::create_dir_all(root.join(".paired/agents")).expect("mkdir");
    std::fs::write(root.join(".paired/agents/runner.toml"), manifest).expect("write");
    let secret = home.path().join("secret.txt").display().to_string();
    let cat = format!(r#"{{"command": "cat notes.txt {secret}"}}"#);
    let calls = [("run_command", cat.as_str()), ("run_command", r#"{"command": "rm -rf ."}"#)];
    let (port, fake) =
        serve_fake(vec![Reply::Sse(openai_tool_calls(&calls)), Reply::Sse(openai_text(&["done"]))]).await;
    home.write_config(&tests::fake_provider::config(port));
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    tests::add_workspace(&client, &root).await;
    let params = RunParams {
        skill: Some("ask".into()),
        prompt: Some("Read the notes.".into()),
        workspace: Some(format!("file://{}", root.display())),
        wait: true,
        ..tests::agent_run("runner")
    };
    let run = client.call::<agents::Run>(params).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let requests = fake.requests.lock().expect("lock").clone();
    let results = tests::fake_provider::tool_results(&requests[1].1);
    assert!(results[0].starts_with("exit code 1") && results[0].contains("sandbox fully enforced"), "{results:?}");
    assert!(results[0].contains("inside the project"), "the project is readable: {results:?}");
    assert!(results[0].contains("Permission denied") && !results[0].contains("THE_USERS_SECRET"), "{results:?}");
    assert!(results[1].contains("Runner may run only: cat"), "{results:?}");
    assert!(root.join("notes.txt").exists());

    // The consent a user sees for such an agent says what it is.
    let shown = home.paired(&["agents", "show", "runner"]).current_dir(&root).output().expect("show");
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("commands: cat") && text.contains("commands run in PAIRED's sandbox"), "{text}");
}

/// A hostile project's code, called by Edison's probe, swaps a folder of the
/// scratch copy for a link to the user's home: the daemon's own writes into
/// the copy afterwards must not follow it.
#[test]
fn code_run_for_a_test_cannot_redirect_the_daemons_writes() {
    let home = Home::new();
    let root = home.project();
    let outside = home.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::create_dir_all(root.join("tests")).expect("mkdir");
    std::fs::write(root.join("tests/test_other.py"), "def test_other():\n    assert True\n").expect("write");
    let hostile = format!(
        "import os, shutil\n\n\ndef plant(n: int) -> int:\n    if os.path.isdir('tests') and not os.path.islink('tests'):\n        shutil.rmtree('tests')\n        os.symlink({:?}, 'tests')\n    return n\n",
        outside.display().to_string()
    );
    std::fs::write(root.join("hostile.py"), hostile).expect("write");
    let run = edison(&home, &root.join("hostile.py"), "4");
    assert!(std::fs::read_dir(&outside).expect("outside").next().is_none(), "nothing written outside: {run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["edits"][0]["uri"].as_str().is_some_and(|u| u.ends_with("/tests/test_hostile.py")), "{run}");
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn pytest_runs_on_a_copy_and_each_failing_test_is_a_finding_where_it_failed() {
    let home = Home::new();
    let root = vendored(&home, "semver");
    break_code(&root, "semver.py", r#"verinfo["patch"] + 1)"#, r#"verinfo["patch"] + 2)"#);
    let before = snapshot(&root);
    let run = review_project(&home, &root);
    let report = run["output"].as_str().unwrap_or_default();
    // pytest with the project's set-up (pytest-cov and doctests in setup.cfg's addopts).
    assert!(report.contains("pytest (setup.cfg mentions pytest): 187 passed, 8 failed"), "{report}");
    assert!(report.contains("sandbox fully enforced"), "{report}");
    let failed = run["findings"].as_array().expect("findings").iter().filter(|f| f["rule"] == "pytest:failing-test");
    let failed: Vec<&Value> = failed.collect();
    assert_eq!(failed.len(), 8, "{failed:#?}");
    let bump = failed.iter().find(|f| f["message"].as_str().is_some_and(|m| m.contains("test_should_bump_patch`")));
    let bump = bump.expect("test_should_bump_patch");
    assert_eq!((bump["line"].as_u64(), bump["severity"].as_str()), (Some(349), Some("error")));
    assert!(bump["message"].as_str().unwrap_or_default().contains("assert '3.4.7' == '3.4.6'"), "{bump}");
    assert!(bump["uri"].as_str().unwrap_or_default().ends_with("/test_semver.py"), "{bump}");
    // The doctest says what it ran and what differed, not the docstring above it.
    assert!(report.contains(">>> semver.bump_patch(\"3.4.5\")"), "{report}");
    assert_eq!(snapshot(&root), before, "the tests ran on a copy: no .coverage in the project");
    let _ = paired(&home, &["stop"]).output();
}

/// A Python project as hatch-vcs and a developer's virtual environment leave
/// it (python-humanize, tried as a user would): `_version.py` generated and
/// git-ignored, pytest and a test dependency only in `.venv`, and ruff told
/// to `fix = true`. Its tests run where they pass for its developer, and
/// ruff's fixable findings are findings, not `E902 Permission denied`.
#[test]
fn a_python_projects_venv_generated_version_and_ruff_fix_setting_are_its_own() {
    let home = Home::new();
    let root = home.project();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "pyproject.toml",
        "[project]\nname = \"pkg\"\ndynamic = [\"version\"]\n\n[tool.ruff]\nfix = true\n\n[tool.pytest.ini_options]\npythonpath = [\"src\"]\n",
    );
    write(".gitignore", "src/pkg/_version.py\n.venv/\n");
    write(
        "src/pkg/__init__.py",
        "from pkg._version import __version__\nfrom pkg.util import add\n\n__all__ = [\"__version__\", \"add\"]\n",
    );
    // An unused import: a finding ruff can fix (safely, outside `__init__.py`).
    write("src/pkg/util.py", "import os\n\n\ndef add(a, b):\n    return a + b\n");
    write("src/pkg/_version.py", "__version__ = \"1.0\"\n");
    write(
        "tests/test_pkg.py",
        "import only_in_the_venv\n\nfrom pkg import __version__, add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_from_the_venv():\n    assert only_in_the_venv.HERE and __version__\n",
    );
    // The developer's venv: its own pytest (the machine's, seen through
    // system site-packages) and a module only it has.
    let venv = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip", "--system-site-packages", ".venv"])
        .current_dir(&root)
        .output()
        .expect("python3 -m venv");
    assert!(venv.status.success(), "{}", String::from_utf8_lossy(&venv.stderr));
    let site = std::fs::read_dir(root.join(".venv/lib"))
        .expect("lib")
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .expect("site-packages");
    std::fs::write(site.join("only_in_the_venv.py"), "HERE = True\n").expect("write");
    let pytest = root.join(".venv/bin/pytest");
    let python = root.join(".venv/bin/python");
    std::fs::write(
        &pytest,
        format!("#!{}\nimport sys\nfrom pytest import console_main\nsys.exit(console_main())\n", python.display()),
    )
    .expect("write");
    std::fs::set_permissions(&pytest, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let before = snapshot(&root);

    let run = review_project(&home, &root);
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("; the project's .venv): 2 passed, 0 failed"), "{report}");
    let unused = finding(&run, "ruff:F401");
    assert!(unused["uri"].as_str().unwrap_or_default().ends_with("src/pkg/util.py"), "{unused}");
    assert!(!report.contains("E902"), "ruff fixed nothing (the project is read-only to it): {report}");
    assert_eq!(snapshot(&root), before);
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn cargo_test_failures_are_findings_at_the_panic() {
    let home = Home::new();
    let root = vendored(&home, "glob");
    break_code(&root, "src/lib.rs", "'?' | '*' | '[' | ']' => {", "'?' | '*' | '[' => {");
    let run = review_project(&home, &root);
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("cargo test (Cargo.toml): 22 passed, 1 failed, 2 skipped"), "{report}");
    let failed = finding(&run, "cargo-test:failing-test");
    assert_eq!(failed["line"], 1328, "{failed}");
    assert!(failed["message"].as_str().unwrap_or_default().contains("test::test_pattern_escape"), "{failed}");
    assert!(report.contains(r#"right: "_[[]_[]]_[?]_[*]_!_""#), "{report}");
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn a_typescript_project_gets_its_eslint_tsc_and_vitest() {
    let home = Home::new();
    let root = vendored(&home, "destr");
    break_code(&root, "src/index.ts", r#"if (_lval === "nan") {"#, r#"if (_lval === "nah") {"#);
    let before = snapshot(&root);
    let run = review_project(&home, &root);
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("eslint (package.json devDependencies: eslint): 6 findings"), "{report}");
    assert!(
        report.contains("tsc (tsconfig.json and package.json devDependencies: typescript): 0 findings"),
        "{report}"
    );
    assert!(report.contains("vitest (package.json scripts.test: vitest run; run for a report PAIRED reads, every test, not with the script's options): 21 passed, 1 failed"), "{report}");
    // What upstream removed in "chore: update eslint", with eslint's own fix.
    let directive = run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["rule"] == "eslint:unused-disable-directive"
                && f["uri"].as_str().is_some_and(|u| u.ends_with("src/index.ts"))
        })
        .expect("the directive in src/index.ts");
    assert_eq!(directive["line"], 39);
    let edit = &directive["fix"]["edits"][0];
    let source = std::fs::read_to_string(root.join("src/index.ts")).expect("read");
    let line = source.lines().nth(38).expect("line 39");
    let (from, to) = (edit["range"]["start"]["character"].as_u64(), edit["range"]["end"]["character"].as_u64());
    assert_eq!((edit["range"]["start"]["line"].as_u64(), edit["range"]["end"]["line"].as_u64()), (Some(38), Some(38)));
    let fixed = format!(
        "{}{}{}",
        &line[..from.expect("start") as usize],
        edit["new_text"].as_str().expect("text"),
        &line[to.expect("end") as usize..]
    );
    assert!(
        line.contains("eslint-disable-next-line unicorn/prefer-at") && !fixed.contains("eslint-disable"),
        "{line} → {fixed}"
    );
    let failed = finding(&run, "vitest:failing-test");
    assert_eq!(failed["line"], 42, "{failed}");
    assert!(failed["message"].as_str().unwrap_or_default().contains("expected 'nan' to be NaN"), "{failed}");
    assert_eq!(snapshot(&root), before, "eslint, tsc and vitest wrote nothing in the project");
    let _ = paired(&home, &["stop"]).output();
}

/// A project with a `vitest.config.mts`: vite bundles it into
/// `node_modules/.vite-temp` before any test runs. The copy's `node_modules`
/// is its own folder (the packages linked), so that write lands in the copy
/// (it was `EACCES` with the whole folder linked to the user's, read-only),
/// and Edison's tests run too.
#[test]
fn a_vitest_config_is_bundled_in_the_copy_and_the_tests_run() {
    let home = Home::new();
    let root = vendored(&home, "destr");
    let config = "import { defineConfig } from \"vitest/config\";\n\nexport default defineConfig({ test: {} });\n";
    std::fs::write(root.join("vitest.config.mts"), config).expect("config");
    // As after the developer ran vitest once (vite falls back to the config's
    // folder only when it cannot make this one).
    std::fs::create_dir_all(root.join("node_modules/.vite-temp")).expect("mkdir");
    let run = review_project(&home, &root);
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("vitest (package.json scripts.test: vitest run; run for a report PAIRED reads, every test, not with the script's options): 22 passed, 0 failed"), "{report}");
    let written = std::fs::read_dir(root.join("node_modules/.vite-temp")).expect("dir").count();
    assert_eq!(written, 0, "nothing written in the user's node_modules");
    let tests = edison(&home, &root.join("src/index.ts"), "32");
    assert_eq!(tests["status"], "succeeded", "{tests}");
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn a_go_module_gets_go_vet_and_go_test() {
    let home = Home::new();
    let root = vendored(&home, "uuid");
    let pristine = std::fs::read_to_string(root.join("uuid_test.go")).expect("read");
    break_code(&root, "uuid.go", "return Version(uuid[6] >> 4)", "return Version(uuid[6] >> 3)");
    let run = review_project(&home, &root);
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("go vet (go.mod): 0 findings"), "{report}");
    assert!(report.contains("go test (go.mod): 25 passed, 6 failed, 1 skipped"), "{report}");
    let failed = run["findings"].as_array().expect("findings").iter().find(|f| {
        f["rule"] == "go-test:failing-test" && f["message"].as_str().is_some_and(|m| m.contains("uuid.TestUUID`"))
    });
    let failed = failed.expect("TestUUID fails");
    assert_eq!(failed["line"], 107, "{failed}");
    assert!(failed["uri"].as_str().unwrap_or_default().ends_with("/uuid_test.go"), "{failed}");
    // A mistake go vet knows (and go test refuses to build): %d given a string.
    break_code(&root, "uuid.go", "return Version(uuid[6] >> 3)", "return Version(uuid[6] >> 4)");
    let wrong =
        pristine.replace(r#""Version(%s) got %d expected %d\b", in,"#, r#""Version(%d) got %d expected %d\b", in,"#);
    assert_ne!(wrong, pristine);
    std::fs::write(root.join("uuid_test.go"), wrong).expect("write");
    let run = review_project(&home, &root);
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("go vet (go.mod): 1 finding"), "{report}");
    let vet = finding(&run, "govet:printf");
    assert_eq!(vet["line"], 107, "{vet}");
    assert!(vet["message"].as_str().unwrap_or_default().contains("wrong type string"), "{vet}");
    let _ = paired(&home, &["stop"]).output();
}

/// A package index on loopback with PyPI's simple API, holding one ruff wheel
/// whose program is a script: `--version` says `version`, `check` reports
/// one finding (`PIN001`) on `app.py`. `digest`: the SHA-256 the index
/// claims, the wheel's own when `None`.
fn ruff_index(home: &Home, version: &str, digest: Option<&str>) -> tests::static_server::StaticServer {
    ruff_index_padded(home, version, digest, 0)
}

/// [`ruff_index`] with a wheel `pad` bytes heavier (another file in it).
fn ruff_index_padded(
    home: &Home,
    version: &str,
    digest: Option<&str>,
    pad: usize,
) -> tests::static_server::StaticServer {
    use sha2::Digest as _;
    use std::io::Write as _;
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'ruff {version}'; exit 0; fi\n\
         echo \"[{{\\\"code\\\":\\\"PIN001\\\",\\\"filename\\\":\\\"$PWD/app.py\\\",\\\"location\\\":{{\\\"row\\\":1,\\\"column\\\":1}},\\\"end_location\\\":{{\\\"row\\\":1,\\\"column\\\":2}},\\\"message\\\":\\\"from the pinned ruff\\\",\\\"fix\\\":null}}]\"\n"
    );
    let mut wheel = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    wheel.start_file(format!("ruff-{version}.dist-info/METADATA"), stored).expect("zip");
    wheel.write_all(format!("Name: ruff\nVersion: {version}\n").as_bytes()).expect("zip");
    wheel.start_file(format!("ruff-{version}.data/scripts/ruff"), stored.unix_permissions(0o755)).expect("zip");
    wheel.write_all(script.as_bytes()).expect("zip");
    wheel.start_file(format!("ruff-{version}.dist-info/RECORD"), stored).expect("zip");
    wheel.write_all(&vec![b'#'; pad]).expect("zip");
    let wheel = wheel.finish().expect("zip").into_inner();
    let sha256: String = sha2::Sha256::digest(&wheel).iter().map(|b| format!("{b:02x}")).collect();
    let served = home.path().join("index");
    let arch = std::env::consts::ARCH;
    let filename = format!("ruff-{version}-py3-none-manylinux_2_17_{arch}.manylinux2014_{arch}.whl");
    std::fs::create_dir_all(served.join("files")).expect("mkdir");
    std::fs::write(served.join("files").join(&filename), &wheel).expect("write");
    let server = tests::static_server::StaticServer::start(served.clone());
    // The simple API in JSON (PEP 691), as pypi.org answers pip: this
    // version's wheel (by a URL relative to the listing), its sdist, another
    // version's wheel, and a yanked one.
    let file = |name: String, url: String, sha256: &str, yanked: Value| serde_json::json!({"filename": name, "url": url, "hashes": {"sha256": sha256}, "yanked": yanked});
    let zeros = "0".repeat(64);
    let listing = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": "ruff",
        "files": [
            file(format!("ruff-{version}.tar.gz"), "../../files/none.tar.gz".into(), &zeros, false.into()),
            file(filename.replace(version, "9.9.9"), "../../files/none.whl".into(), &zeros, false.into()),
            file(filename.replace("manylinux_2_17", "manylinux_2_5"), "../../files/none.whl".into(), &zeros, "broken".into()),
            file(filename.clone(), format!("../../files/{filename}"), digest.unwrap_or(&sha256), false.into()),
        ],
    });
    server.set(|b| {
        b.replace.insert("/simple/ruff/".to_owned(), listing.to_string().into_bytes());
    });
    home.write_config(&format!("[sandbox]\ntool_index = \"{}/simple\"\n", server.url()));
    server
}

/// The listing [`ruff_index`] serves, as an index that speaks only HTML
/// (PEP 503) serves it: an anchor per file, the digest in the fragment.
fn serve_as_html(server: &tests::static_server::StaticServer) {
    let path = "/simple/ruff/".to_owned();
    server.set(|b| {
        let json: Value = serde_json::from_slice(&b.replace[&path]).expect("listing");
        let anchors: String = json["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| {
                let yanked = if f["yanked"] == false { "" } else { " data-yanked=\"\"" };
                let (url, sha, name) = (&f["url"], &f["hashes"]["sha256"], &f["filename"]);
                format!(
                    "<a href=\"{}#sha256={}\"{yanked}>{}</a><br />\n",
                    url.as_str().unwrap_or(""),
                    sha.as_str().unwrap_or(""),
                    name.as_str().unwrap_or("")
                )
            })
            .collect();
        let html = format!("<!DOCTYPE html>\n<html><body><h1>Links for ruff</h1>\n{anchors}</body></html>\n");
        b.replace.insert(path.clone(), html.into_bytes());
    });
}

#[test]
fn an_index_that_serves_only_html_gives_the_pinned_ruff_too() {
    let home = Home::new();
    let index = ruff_index(&home, "1.0.3", None);
    serve_as_html(&index);
    let root = pinning_project(&home, "1.0.3");
    let run = review(&home, &root.join("app.py"));
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("1.0.3, as .pre-commit-config.yaml pins"), "{report}");
    assert_eq!(finding(&run, "ruff:PIN001")["line"], 1);
    let _ = paired(&home, &["stop"]).output();
}

/// A Python project whose pre-commit runs ruff `version`, with one unused import.
fn pinning_project(home: &Home, version: &str) -> PathBuf {
    let root = home.project();
    std::fs::write(root.join("pyproject.toml"), "[project]\nname = \"app\"\nrequires-python = \">=3.8\"\n").expect("w");
    let config = format!(
        "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v{version}\n    hooks:\n      - id: ruff\n"
    );
    std::fs::write(root.join(".pre-commit-config.yaml"), config).expect("write");
    std::fs::write(root.join("app.py"), "import os\n\n\ndef f():\n    return 1\n").expect("write");
    root
}

#[test]
fn the_ruff_a_project_pins_is_fetched_once_checked_and_run_instead_of_the_installed_one() {
    let home = Home::new();
    let index = ruff_index(&home, "1.0.1", None);
    let root = pinning_project(&home, "1.0.1");
    let run = review(&home, &root.join("app.py"));
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("1.0.1, as .pre-commit-config.yaml pins, not the installed"), "{report}");
    assert!(finding(&run, "ruff:PIN001")["message"].as_str().is_some_and(|m| m.starts_with("from the pinned ruff")));
    let rules: Vec<&Value> = run["findings"].as_array().expect("findings").iter().map(|f| &f["rule"]).collect();
    assert!(!rules.contains(&&Value::from("ruff:F401")), "the installed ruff did not run: {rules:?}");
    let platform = format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH);
    let program = home.path().join(".local/share/paired/tools/ruff/1.0.1").join(&platform).join("ruff");
    assert!(program.is_file(), "kept for the next review");
    let fetched = index.requests();
    assert_eq!(
        fetched,
        [
            "/simple/ruff/".to_owned(),
            format!("/files/ruff-1.0.1-py3-none-manylinux_2_17_{0}.manylinux2014_{0}.whl", std::env::consts::ARCH)
        ]
    );
    // The next review runs what was fetched, asking the index nothing.
    let again = review(&home, &root.join("app.py"));
    assert_eq!(finding(&again, "ruff:PIN001")["line"], 1);
    assert_eq!(index.requests().len(), 2);
    // A program cut short (a full disk, a crash) no longer says its version:
    // it is fetched again, not run broken forever.
    std::fs::write(&program, "#!/bin/sh\nexit 1\n").expect("damage");
    let third = review(&home, &root.join("app.py"));
    assert_eq!(finding(&third, "ruff:PIN001")["line"], 1);
    assert_eq!(index.requests().len(), 4, "listing and wheel again");
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn a_pinned_ruff_whose_digest_does_not_match_is_not_run_and_the_review_says_so() {
    let home = Home::new();
    let index = ruff_index(&home, "1.0.2", Some(&"ab".repeat(32)));
    let root = pinning_project(&home, "1.0.2");
    let run = review(&home, &root.join("app.py"));
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains(".pre-commit-config.yaml pins 1.0.2, the installed"), "{report}");
    assert!(report.contains("its SHA-256 is"), "{report}");
    // The installed ruff ran instead, as before pins were read.
    assert_eq!(finding(&run, "ruff:F401")["line"], 1);
    assert!(!home.path().join(".local/share/paired/tools/ruff/1.0.2").exists());
    assert_eq!(index.requests().len(), 2);
    // Not tried again at once: a review offline does not wait on the network each time.
    let _ = review(&home, &root.join("app.py"));
    assert_eq!(index.requests().len(), 2);
    let _ = paired(&home, &["stop"]).output();
}

#[test]
fn a_slow_fetch_does_not_hold_the_review_and_the_next_review_runs_what_it_fetched() {
    let home = Home::new();
    // ~30 s to send: the review waits 20 s, then runs the installed ruff.
    let index = ruff_index_padded(&home, "1.0.4", None, 30 * 1024);
    index.set(|b| b.slow = Some(("/files/".to_owned(), std::time::Duration::from_secs(1))));
    let root = pinning_project(&home, "1.0.4");
    let started = std::time::Instant::now();
    let run = review(&home, &root.join("app.py"));
    assert!(started.elapsed() < std::time::Duration::from_secs(28), "{:?}", started.elapsed());
    let report = run["output"].as_str().unwrap_or_default();
    assert!(report.contains("ruff 1.0.4 is being fetched; the next review runs it"), "{report}");
    assert_eq!(finding(&run, "ruff:F401")["line"], 1, "the installed ruff ran");
    let platform = format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH);
    let program = home.path().join(".local/share/paired/tools/ruff/1.0.4").join(platform).join("ruff");
    tests::wait_until("the fetch to finish", std::time::Duration::from_secs(90), || program.is_file());
    let next = review(&home, &root.join("app.py"));
    assert_eq!(finding(&next, "ruff:PIN001")["line"], 1);
    let _ = paired(&home, &["stop"]).output();
}
