//! The project's own tools: which linters, type checkers and test runners a
//! project uses, read from its files ([`detect`]), and their machine-readable
//! output turned into findings ([`parse`]). Pure: the daemon lists and reads
//! the files, runs the commands in its sandbox and hands the output back.

pub mod docs;
pub mod parse;
pub mod pins;
pub mod results;

use protocol::agents::Severity;
use serde_json::Value;

/// What a tool is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Linters and type checkers: findings.
    Check,
    /// The project's test runner.
    Test,
}

/// How a tool's output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `cargo … --message-format=json`: one JSON message per line.
    Cargo,
    /// `ruff check --output-format=json`.
    Ruff,
    /// `flake8`'s default `path:line:col: CODE message`.
    Flake8,
    /// `mypy --output json`: one JSON object per line.
    Mypy,
    /// `eslint --format json`.
    Eslint,
    /// `tsc --pretty false`: `path(line,col): error TSnnnn: message`.
    Tsc,
    /// `go vet -json`: `{package: {analyzer: [diagnostic]}}` blocks.
    GoVet,
    /// A test runner read by its exit code alone (`npm test` with a framework
    /// PAIRED does not read).
    TestRun,
    /// libtest's text (`cargo test`).
    CargoTest,
    /// A JUnit XML report (pytest, vitest, mocha).
    JUnit,
    /// `go test -json`.
    GoTest,
    /// jest's `--json` report.
    JestJson,
    /// TAP on stdout (ava, node's test runner).
    Tap,
    /// `prettier --check`: a `[warn] path` line per file it would change.
    Prettier,
}

/// In a tool's command, the path of the report file it is asked to write;
/// the daemon puts a file of its scratch folder there.
pub const REPORT: &str = "{report}";

/// One command the project's own set-up says it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// A short name: `clippy`, `ruff`, `pytest`, `npm test`…
    pub name: &'static str,
    pub purpose: Purpose,
    /// The program and its arguments, run in the project's root.
    pub command: Vec<String>,
    pub format: Format,
    /// What in the project says it uses this (`Cargo.toml`, `pyproject.toml [tool.ruff]`).
    pub evidence: String,
    /// Test frameworks seen (`pytest`, `jest`, `ava`…), for test runners.
    pub framework: Option<&'static str>,
    /// Whether the command writes a report file at [`REPORT`].
    pub report: bool,
    /// The version the project pins, which the daemon runs where it can
    /// (see [`pins`]); `None` where the project pins none.
    pub pin: Option<pins::Pin>,
}

/// A finding from a project's tool, in the tool's own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFinding {
    /// The tool's name, as in [`Tool::name`].
    pub tool: &'static str,
    /// The tool's rule id, prefixed: `clippy::unwrap_used`, `ruff:F401`.
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// Workspace-relative, `/`-separated.
    pub path: String,
    /// One-based line and column (in characters).
    pub line: u32,
    pub column: u32,
    pub end: Option<(u32, u32)>,
    /// A fix the tool itself proposes, where it is sure of it.
    pub fix: Option<ToolFix>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFix {
    pub title: String,
    pub edits: Vec<ToolEdit>,
}

/// Replace from `start` to `end` (one-based line and character column) of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolEdit {
    pub path: String,
    pub start: (u32, u32),
    pub end: (u32, u32),
    pub new_text: String,
}

/// ruff's default rules that are a project's taste rather than defects
/// (E731 lambda assignment, E741 ambiguous names, E402 an import after code —
/// a version check or `sys.path` set-up first is a choice): left out unless the
/// project configures ruff itself. Not E713 (`not x in y`): projects act on
/// it when they take up a linter (itsdangerous, jinja's "apply flake8").
const RUFF_TASTE: [&str; 3] = ["E731", "E741", "E402"];

/// ruff rules ruff itself deprecated, which newer releases no longer report
/// (UP038: `isinstance(x, A | B)` is slower than the tuple): left out even
/// where a project selects their group, as the project's own ruff would.
const RUFF_DEPRECATED: [&str; 1] = ["UP038"];

/// Python 2's built-in names, which compatibility code uses under a version check.
const PYTHON2_NAMES: [&str; 13] = [
    "unicode",
    "long",
    "basestring",
    "xrange",
    "unichr",
    "raw_input",
    "buffer",
    "file",
    "cmp",
    "execfile",
    "reload",
    "izip",
    "reduce",
];

/// A tool's finding that the code shows it meant: a package's `__init__.py`
/// importing its own modules "unused" (they are re-exported), or an undefined Python 2 name
/// (`text_type = unicode`) in a module that checks which Python runs it
/// (`if PY2:`, `sys.version_info`) — the branch for the other version — or
/// in a project that never says it runs on Python 3: its manifests declare
/// Python 2 only, or no Python version at all (no `python_requires`,
/// `requires-python` nor `Python :: 3` classifier: the code of Python 2's
/// time, which ruff reads as Python 3); or a bare `except:` that re-raises or
/// hands `sys.exc_info()` on. `read` gives a workspace file's text.
pub fn intended(finding: &ToolFinding, read: &dyn Fn(&str) -> Option<String>) -> bool {
    // A bare `except:` whose handler ends in a bare `raise` or takes
    // `sys.exc_info()` lets the exception through or hands it on
    // (KeyboardInterrupt too): Sherlock's own bare-except rule is quiet there.
    if matches!(finding.rule.as_str(), "ruff:E722" | "flake8:E722")
        && read(&finding.path).is_some_and(|text| bare_except_hands_on(&text, finding.line as usize))
    {
        return true;
    }
    let undefined = matches!(finding.rule.as_str(), "ruff:F821" | "flake8:F821");
    let Some(name) = finding.message.split('`').nth(1).or_else(|| finding.message.split('\'').nth(1)) else {
        return false;
    };
    // A package's `__init__.py` importing its own modules (`from .ansi import
    // Fore`) publishes them: the import is used, by the package's users.
    let unused_import = matches!(finding.rule.as_str(), "ruff:F401" | "flake8:F401");
    if unused_import
        && name.starts_with('.')
        && (finding.path == "__init__.py" || finding.path.ends_with("/__init__.py"))
    {
        return true;
    }
    // `import fixpath` of a module beside it that does something when imported
    // (`sys.path.insert(…)` at its top level): imported for that effect.
    if unused_import && !name.contains('.') {
        let folder = finding.path.rsplit_once('/').map_or("", |(folder, _)| folder);
        let sibling = if folder.is_empty() { format!("{name}.py") } else { format!("{folder}/{name}.py") };
        if read(&sibling).is_some_and(|text| acts_when_imported(&text)) {
            return true;
        }
    }
    if unused_import && imported_on_purpose(finding, read) {
        return true;
    }
    // `__traceback_hide__ = True`: a marker debuggers and test runners read
    // from the frame, not a variable the function forgot.
    if matches!(finding.rule.as_str(), "ruff:F841" | "flake8:F841") && name.starts_with("__") && name.ends_with("__") {
        return true;
    }
    let never_python3 = || {
        let manifests: Vec<String> =
            ["setup.py", "setup.cfg", "pyproject.toml"].iter().filter_map(|f| read(f)).collect();
        !manifests.is_empty()
            && !manifests.iter().any(|text| {
                text.contains("Programming Language :: Python :: 3")
                    || text.contains("python_requires")
                    || text.contains("requires-python")
            })
    };
    undefined
        && PYTHON2_NAMES.contains(&name)
        && (read(&finding.path).is_some_and(|text| {
            ["PY2", "is_py2", "PY3", "is_py3", "sys.version_info"].iter().any(|w| text.contains(w))
        }) || never_python3())
}

/// The handler of the `except:` on one-based `line`: its lines indented
/// deeper than the `except`; whether it re-raises (last statement a bare
/// `raise`) or takes `sys.exc_info()`.
fn bare_except_hands_on(text: &str, line: usize) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let Some(except) = line.checked_sub(1).and_then(|l| lines.get(l)) else { return false };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let depth = indent(except);
    let handler: Vec<&str> = lines[line..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > depth)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .copied()
        .collect();
    crate::skills::review::hands_exc_info_on(&handler.join("\n")) || handler.last().is_some_and(|l| l.trim() == "raise")
}

/// An import a module makes for others or for its effect, and says so: a
/// compatibility module (`compat.py`, whose names other modules import), an
/// import the author explains in a comment (above it or at its end: "imported
/// here for backwards compatibility", "import now, to avoid implicit import
/// later"), or one inside `try:` … `except ImportError` (a check that a
/// package is installed).
fn imported_on_purpose(finding: &ToolFinding, read: &dyn Fn(&str) -> Option<String>) -> bool {
    let file = finding.path.rsplit('/').next().unwrap_or(&finding.path);
    if matches!(file, "compat.py" | "_compat.py") {
        return true;
    }
    let Some(text) = read(&finding.path) else { return false };
    let lines: Vec<&str> = text.lines().collect();
    let Some(mut start) = (finding.line as usize).checked_sub(1).filter(|&l| l < lines.len()) else { return false };
    // From a name on a continuation line back to its `import`/`from` line.
    while start > 0 && !["import ", "from "].iter().any(|k| lines[start].trim_start().starts_with(k)) {
        start -= 1;
    }
    let indent = |line: &str| line.len() - line.trim_start().len();
    // A comment that says why, not a section header (`# Third-party`).
    let says_why = |comment: &str| {
        let comment = comment.to_ascii_lowercase();
        [
            "compat", "backward", "export", "expos", "unused", "effect", "register", "imported", "keep", "kept",
            "needed", "avoid", "so that", "because",
        ]
        .iter()
        .any(|w| comment.contains(w))
    };
    let trailing = lines[start].split_once('#').map(|(_, c)| c);
    // The comment lines just above it, as one comment (requests: "Import
    // encoding now, to avoid implicit import later." then two more lines).
    let above: Vec<&str> =
        lines[..start].iter().rev().map(|l| l.trim_start()).take_while(|l| l.starts_with('#')).collect();
    if trailing.is_some_and(says_why) || above.iter().any(|l| says_why(l)) {
        return true;
    }
    let at = indent(lines[start]);
    let opener = lines[..start].iter().rev().find(|l| !l.trim().is_empty() && indent(l) < at);
    if opener.is_none_or(|l| l.trim() != "try:") {
        return false;
    }
    let handler = lines[start..].iter().find(|l| !l.trim().is_empty() && indent(l) < at);
    handler.is_some_and(|l| {
        let l = l.trim_start();
        l.starts_with("except") && (l.contains("ImportError") || l.contains("ModuleNotFoundError"))
    })
}

/// Whether a Python module's top level does something beyond defining names:
/// a statement that is a call (`sys.path.insert(0, here)`, `setup()`).
fn acts_when_imported(text: &str) -> bool {
    text.lines().any(|line| {
        let first = line.chars().next();
        first.is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && !["def ", "class ", "import ", "from ", "if ", "try:", "async ", "with ", "for ", "while "]
                .iter()
                .any(|k| line.starts_with(k))
            && line.trim_end().ends_with(')')
            && !line.split('(').next().unwrap_or("").contains('=')
    })
}

/// What the detection may look at: the workspace's files (relative paths)
/// and the text of a few of them.
pub trait Project {
    fn has(&self, path: &str) -> bool;
    fn read(&self, path: &str) -> Option<String>;
    /// Whether a program is installed (on the `PATH` the tools will get).
    fn installed(&self, program: &str) -> bool;
}

/// Tools the project says it uses that are not installed where its tools
/// run, with what says so: a review names them rather than skipping them
/// without a word (python-humanize's mypy, spf13/pflag's golangci-lint).
pub fn missing(project: &dyn Project) -> Vec<(&'static str, String)> {
    let manifests = ["pyproject.toml", "setup.cfg", "tox.ini", "requirements-dev.txt", ".pre-commit-config.yaml"];
    let mentioned = |needle: &str| manifests.iter().find(|m| project.read(m).is_some_and(|t| t.contains(needle)));
    let mut missing = Vec::new();
    for (name, configured) in [
        (
            "ruff",
            ["ruff.toml", ".ruff.toml"]
                .into_iter()
                .find(|f| project.has(f))
                .map(str::to_owned)
                .or_else(|| mentioned("[tool.ruff").map(|m| format!("{m} configures it"))),
        ),
        (
            "mypy",
            project.has("mypy.ini").then(|| "mypy.ini".to_owned()).or_else(|| {
                mentioned("[tool.mypy").or_else(|| mentioned("[mypy]")).map(|m| format!("{m} configures it"))
            }),
        ),
        (
            "golangci-lint",
            [".golangci.yml", ".golangci.yaml", ".golangci.toml", ".golangci.json"]
                .into_iter()
                .find(|f| project.has(f))
                .map(str::to_owned),
        ),
    ] {
        if let Some(evidence) = configured
            && !project.installed(name)
        {
            missing.push((name, evidence));
        }
    }
    missing
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// The project's tools, from its files: what it configures or depends on,
/// and only what is installed to run it.
pub fn detect(project: &dyn Project) -> Vec<Tool> {
    let mut tools = Vec::new();
    rust(project, &mut tools);
    python(project, &mut tools);
    javascript(project, &mut tools);
    go(project, &mut tools);
    jvm(project, &mut tools);
    tools
}

fn rust(project: &dyn Project, tools: &mut Vec<Tool>) {
    if !project.has("Cargo.toml") || !project.installed("cargo") {
        return;
    }
    let json = "--message-format=json";
    tools.push(Tool {
        name: "clippy",
        purpose: Purpose::Check,
        command: argv(&["cargo", "clippy", "--all-targets", "--offline", "--quiet", json]),
        format: Format::Cargo,
        evidence: "Cargo.toml".into(),
        framework: None,
        report: false,
        pin: None,
    });
    tools.push(Tool {
        name: "cargo test",
        purpose: Purpose::Test,
        command: argv(&["cargo", "test", "--offline", "--quiet", "--no-fail-fast"]),
        format: Format::CargoTest,
        evidence: "Cargo.toml".into(),
        framework: Some("cargo test"),
        report: false,
        pin: None,
    });
}

fn python(project: &dyn Project, tools: &mut Vec<Tool>) {
    let manifests = ["pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "requirements-dev.txt", "requirements.txt"];
    let present: Vec<&str> = manifests.into_iter().filter(|m| project.has(m)).collect();
    if present.is_empty() {
        return;
    }
    let text: String = present.iter().filter_map(|m| project.read(m)).collect::<Vec<_>>().join("\n");
    let mentions = |word: &str| text.contains(word);
    let evidence = |word: &str| {
        present
            .iter()
            .find(|m| project.read(m).is_some_and(|t| t.contains(word)))
            .map_or_else(|| present[0].to_owned(), |m| format!("{m} mentions {word}"))
    };
    // A project that pins a ruff (its pre-commit hook) runs ruff: its
    // defaults are the project's standard.
    let pin = pins::ruff(project);
    let ruff_configured = project.has("ruff.toml") || project.has(".ruff.toml") || mentions("ruff") || pin.is_some();
    if project.installed("ruff") {
        // `--no-fix`: a project's `fix = true` would have ruff write the
        // read-only project, and report `E902 Permission denied` in place
        // of each finding it can fix.
        let mut command = argv(&["ruff", "check", "--output-format=json", "--no-cache", "--no-fix", "--exit-zero"]);
        // Without the project's choice, ruff's defaults less rules of taste,
        // not defects: a lambda given a name, a name like `l`, import order.
        let ignored: Vec<&str> =
            RUFF_DEPRECATED.iter().chain(if ruff_configured { &[][..] } else { &RUFF_TASTE[..] }).copied().collect();
        command.push(format!("--ignore={}", ignored.join(",")));
        command.push(".".into());
        tools.push(Tool {
            name: "ruff",
            purpose: Purpose::Check,
            command,
            format: Format::Ruff,
            evidence: match (["ruff.toml", ".ruff.toml"].into_iter().find(|f| project.has(f)), &pin) {
                _ if mentions("ruff") => evidence("ruff"),
                (Some(file), _) => file.to_owned(),
                (None, Some(pin)) => pin.evidence.clone(),
                (None, None) => format!("{} (ruff's defaults)", present[0]),
            },
            framework: None,
            report: false,
            pin,
        });
    } else if (project.has(".flake8") || mentions("flake8")) && project.installed("flake8") {
        tools.push(Tool {
            name: "flake8",
            purpose: Purpose::Check,
            command: argv(&["flake8", "--exit-zero", "."]),
            format: Format::Flake8,
            evidence: evidence("flake8"),
            framework: None,
            report: false,
            pin: None,
        });
    }
    if (project.has("mypy.ini") || mentions("[tool.mypy]") || mentions("[mypy]")) && project.installed("mypy") {
        tools.push(Tool {
            name: "mypy",
            purpose: Purpose::Check,
            command: argv(&["mypy", "--output", "json", "--no-incremental", "."]),
            format: Format::Mypy,
            evidence: evidence("mypy"),
            framework: None,
            report: false,
            pin: None,
        });
    }
    let has_tests = project.has("tests") || project.has("test") || mentions("pytest");
    if has_tests && project.installed("pytest") {
        tools.push(Tool {
            name: "pytest",
            purpose: Purpose::Test,
            command: argv(&[
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "junit_family=xunit1",
                "--junitxml",
                REPORT,
            ]),
            format: Format::JUnit,
            evidence: evidence("pytest"),
            framework: Some("pytest"),
            report: true,
            pin: None,
        });
    }
}

/// The JavaScript test frameworks, as their package names.
const JS_FRAMEWORKS: [&str; 5] = ["vitest", "jest", "ava", "mocha", "tap"];

/// The framework a `package.json` uses for tests: named in the test script
/// first, then among its dependencies.
pub fn js_framework(package: &Value) -> Option<&'static str> {
    let script = package.pointer("/scripts/test").and_then(Value::as_str).unwrap_or("");
    let deps = |key: &str| package.get(key).and_then(Value::as_object).cloned().unwrap_or_default();
    let (dev, prod) = (deps("devDependencies"), deps("dependencies"));
    JS_FRAMEWORKS
        .into_iter()
        .find(|f| script.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').any(|w| w == *f))
        .or_else(|| JS_FRAMEWORKS.into_iter().find(|f| dev.contains_key(*f) || prod.contains_key(*f)))
}

fn javascript(project: &dyn Project, tools: &mut Vec<Tool>) {
    let Some(package) = project.read("package.json").and_then(|t| serde_json::from_str::<Value>(&t).ok()) else {
        return;
    };
    let dev = |name: &str| {
        ["devDependencies", "dependencies"].iter().any(|k| package.get(k).and_then(|d| d.get(name)).is_some())
    };
    let local = |bin: &str| project.has(&format!("node_modules/.bin/{bin}"));
    if dev("eslint") && local("eslint") {
        tools.push(Tool {
            name: "eslint",
            purpose: Purpose::Check,
            command: argv(&["node_modules/.bin/eslint", "--format", "json", "."]),
            format: Format::Eslint,
            evidence: "package.json devDependencies: eslint".into(),
            framework: None,
            report: false,
            pin: None,
        });
    }
    if dev("typescript") && project.has("tsconfig.json") && local("tsc") {
        tools.push(Tool {
            name: "tsc",
            purpose: Purpose::Check,
            command: argv(&["node_modules/.bin/tsc", "--noEmit", "--pretty", "false"]),
            format: Format::Tsc,
            evidence: "tsconfig.json and package.json devDependencies: typescript".into(),
            framework: None,
            report: false,
            pin: None,
        });
    }
    // Prettier where a script of the project checks with it (`"lint":
    // "eslint . && prettier -c src test"`), on what that script checks.
    let scripts = package.get("scripts").and_then(Value::as_object);
    let checking = scripts.into_iter().flatten().find_map(|(name, script)| {
        let script = script.as_str()?;
        prettier_check_paths(script).map(|paths| (name.clone(), script.to_owned(), paths))
    });
    if let Some((name, script, paths)) = checking.filter(|_| local("prettier")) {
        let mut command = argv(&["node_modules/.bin/prettier", "--check"]);
        command.extend(paths);
        tools.push(Tool {
            name: "prettier",
            purpose: Purpose::Check,
            command,
            format: Format::Prettier,
            evidence: format!("package.json scripts.{name}: {script}"),
            framework: None,
            report: false,
            pin: None,
        });
    }
    let script = package.pointer("/scripts/test").and_then(Value::as_str);
    let Some(script) = script.filter(|s| !s.contains("no test specified")) else { return };
    let evidence = format!("package.json scripts.test: {script}");
    let framework = js_framework(&package);
    // The framework itself, asked for a report PAIRED reads; `npm test`
    // (its exit code) for one it does not.
    let (command, format, report): (&[&str], Format, bool) = match framework {
        Some("vitest") if local("vitest") => {
            (&["node_modules/.bin/vitest", "run", "--reporter=junit", "--outputFile", REPORT], Format::JUnit, true)
        }
        Some("jest") if local("jest") => (
            &["node_modules/.bin/jest", "--ci", "--json", "--testLocationInResults", "--outputFile", REPORT],
            Format::JestJson,
            true,
        ),
        Some("ava") if local("ava") => (&["node_modules/.bin/ava", "--tap"], Format::Tap, false),
        Some("mocha") if local("mocha") => (
            &["node_modules/.bin/mocha", "--reporter", "xunit", "--reporter-option", "output={report}"],
            Format::JUnit,
            true,
        ),
        _ if script.trim_start().starts_with("node --test") && project.installed("node") => {
            (&["node", "--test", "--test-reporter=tap"], Format::Tap, false)
        }
        _ if project.installed("npm") && project.has("node_modules") => {
            (&["npm", "test", "--silent"], Format::TestRun, false)
        }
        _ => return,
    };
    let name = match framework {
        Some(name) if format != Format::TestRun => name,
        _ => "npm test",
    };
    let mut command = argv(command);
    // The type tests the project's script runs too (`vitest run --typecheck`).
    if name == "vitest" && script.split_whitespace().any(|word| word == "--typecheck") {
        command.insert(2, "--typecheck".to_owned());
    }
    tools.push(Tool { name, purpose: Purpose::Test, command, format, evidence, framework, report, pin: None });
}

/// What a script checks with prettier (`prettier -c src test` → `src`,
/// `test`; `prettier --check .` → `.`), `.` when it names nothing; `None`
/// when it does not check with prettier (`prettier --write` formats).
fn prettier_check_paths(script: &str) -> Option<Vec<String>> {
    script.split(['&', ';', '|']).find_map(|command| {
        let words: Vec<&str> = command.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "prettier" || w.ends_with("/prettier"))?;
        let rest = &words[at + 1..];
        if !rest.iter().any(|w| matches!(*w, "-c" | "--check")) {
            return None;
        }
        // Plain paths only: no flag, no shell or glob a sandboxed argv would take literally.
        let paths: Vec<String> = rest
            .iter()
            .filter(|w| !w.starts_with('-'))
            .filter(|w| w.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '/' | '_' | '-')))
            .map(|w| (*w).to_owned())
            .collect();
        Some(if paths.is_empty() { vec![".".to_owned()] } else { paths })
    })
}

/// The module path a `go.mod` declares.
pub fn go_module(go_mod: &str) -> Option<&str> {
    go_mod.lines().find_map(|l| l.trim().strip_prefix("module ")).map(|m| m.trim().trim_matches('"'))
}

fn go(project: &dyn Project, tools: &mut Vec<Tool>) {
    if !project.has("go.mod") || !project.installed("go") {
        return;
    }
    tools.push(Tool {
        name: "go vet",
        purpose: Purpose::Check,
        command: argv(&["go", "vet", "-json", "./..."]),
        format: Format::GoVet,
        evidence: "go.mod".into(),
        framework: None,
        report: false,
        pin: None,
    });
    tools.push(Tool {
        name: "go test",
        purpose: Purpose::Test,
        command: argv(&["go", "test", "-json", "./..."]),
        format: Format::GoTest,
        evidence: "go.mod".into(),
        framework: Some("go test"),
        report: false,
        pin: None,
    });
}

fn jvm(project: &dyn Project, tools: &mut Vec<Tool>) {
    if project.has("pom.xml") && project.installed("mvn") {
        tools.push(Tool {
            name: "mvn test",
            purpose: Purpose::Test,
            command: argv(&["mvn", "-q", "-o", "test"]),
            format: Format::TestRun,
            evidence: "pom.xml".into(),
            framework: Some("junit"),
            report: false,
            pin: None,
        });
    } else if (project.has("build.gradle") || project.has("build.gradle.kts")) && project.has("gradlew") {
        tools.push(Tool {
            name: "gradle test",
            purpose: Purpose::Test,
            command: argv(&["./gradlew", "--offline", "-q", "test"]),
            format: Format::TestRun,
            evidence: "build.gradle and gradlew".into(),
            framework: Some("junit"),
            report: false,
            pin: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Fake {
        files: HashMap<&'static str, &'static str>,
        installed: &'static [&'static str],
    }

    impl Project for Fake {
        fn has(&self, path: &str) -> bool {
            self.files.contains_key(path)
        }
        fn read(&self, path: &str) -> Option<String> {
            self.files.get(path).map(|t| (*t).to_owned())
        }
        fn installed(&self, program: &str) -> bool {
            self.installed.contains(&program)
        }
    }

    fn names(files: &[(&'static str, &'static str)], installed: &'static [&'static str]) -> Vec<&'static str> {
        detect(&Fake { files: files.iter().copied().collect(), installed }).iter().map(|t| t.name).collect()
    }

    #[test]
    fn each_ecosystem_gets_its_own_tools_when_installed() {
        assert_eq!(names(&[("Cargo.toml", "[package]")], &["cargo"]), ["clippy", "cargo test"]);
        assert!(names(&[("Cargo.toml", "[package]")], &[]).is_empty(), "nothing runs that is not installed");
        let python = [("pyproject.toml", "[tool.ruff]\n[tool.mypy]\n[tool.pytest.ini_options]"), ("tests", "")];
        assert_eq!(names(&python, &["ruff", "mypy", "pytest"]), ["ruff", "mypy", "pytest"]);
        assert_eq!(names(&[("setup.cfg", "[flake8]"), ("tests", "")], &["flake8"]), ["flake8"]);
        let ruff = |files: &[(&'static str, &'static str)]| {
            let tools = detect(&Fake { files: files.iter().copied().collect(), installed: &["ruff"] });
            tools[0].command.join(" ")
        };
        assert!(
            ruff(&[("setup.py", "setup()")]).contains("--ignore=UP038,E731,E741,E402 "),
            "ruff's defaults less taste"
        );
        assert!(
            ruff(&python).contains("--ignore=UP038 ."),
            "the project's own ruff settings decide, less what ruff deprecated"
        );
        assert_eq!(names(&[("go.mod", "module x")], &["go"]), ["go vet", "go test"]);
    }

    #[test]
    fn a_configured_tool_that_is_not_installed_is_named() {
        let missing = |files: &[(&'static str, &'static str)], installed: &'static [&'static str]| {
            super::missing(&Fake { files: files.iter().copied().collect(), installed })
        };
        let humanize = [("pyproject.toml", "[tool.ruff]\nfix = true\n[tool.mypy]\nstrict = true\n")];
        assert_eq!(missing(&humanize, &["ruff"]), [("mypy", "pyproject.toml configures it".to_owned())]);
        assert_eq!(missing(&humanize, &["ruff", "mypy"]), []);
        let pflag = [("go.mod", "module github.com/spf13/pflag"), (".golangci.yaml", "linters: {}")];
        assert_eq!(missing(&pflag, &["go"]), [("golangci-lint", ".golangci.yaml".to_owned())]);
        assert_eq!(missing(&[("setup.py", "setup()")], &[]), [], "nothing configured, nothing missing");
    }

    #[test]
    fn the_javascript_framework_is_what_the_project_uses() {
        let ava: Value =
            serde_json::json!({"scripts": {"test": "xo && ava"}, "devDependencies": {"ava": "6", "jest-mock": "1"}});
        assert_eq!(js_framework(&ava), Some("ava"));
        let vitest: Value =
            serde_json::json!({"scripts": {"test": "run-p test:*"}, "devDependencies": {"vitest": "2"}});
        assert_eq!(js_framework(&vitest), Some("vitest"));
        let none: Value = serde_json::json!({"scripts": {"test": "node test.js"}});
        assert_eq!(js_framework(&none), None);
        let package =
            r#"{"scripts": {"test": "jest"}, "devDependencies": {"eslint": "9", "typescript": "5", "jest": "29"}}"#;
        let files = [
            ("package.json", package),
            ("tsconfig.json", "{}"),
            ("node_modules", ""),
            ("node_modules/.bin/eslint", ""),
            ("node_modules/.bin/tsc", ""),
        ];
        assert_eq!(names(&files, &["npm"]), ["eslint", "tsc", "npm test"]);
        let tools = detect(&Fake { files: files.iter().copied().collect(), installed: &["npm"] });
        assert_eq!(tools[2].framework, Some("jest"));
        // With the framework installed, PAIRED runs it for a report it reads.
        let files = [("package.json", package), ("node_modules", ""), ("node_modules/.bin/jest", "")];
        let tools = detect(&Fake { files: files.iter().copied().collect(), installed: &["npm"] });
        assert_eq!((tools[0].name, tools[0].format, tools[0].report), ("jest", Format::JestJson, true));
        assert!(tools[0].command.iter().any(|a| a == REPORT));
        assert_eq!(go_module("// x\nmodule example.com/m\n\ngo 1.21\n"), Some("example.com/m"));
        // Prettier on what the project's lint script checks with it (ufo's).
        assert_eq!(prettier_check_paths("eslint . && prettier -c src test"), Some(vec!["src".into(), "test".into()]));
        assert_eq!(prettier_check_paths("prettier --check ."), Some(vec![".".into()]));
        assert_eq!(prettier_check_paths("prettier --check '**/*.ts'"), Some(vec![".".into()]));
        assert_eq!(prettier_check_paths("prettier --write src"), None);
        let lint = r#"{"scripts": {"lint": "eslint . && prettier -c src test"}, "devDependencies": {"prettier": "3"}}"#;
        let files = [("package.json", lint), ("node_modules", ""), ("node_modules/.bin/prettier", "")];
        let tools = detect(&Fake { files: files.iter().copied().collect(), installed: &[] });
        assert_eq!(tools[0].command, ["node_modules/.bin/prettier", "--check", "src", "test"]);
        assert_eq!(tools[0].evidence, "package.json scripts.lint: eslint . && prettier -c src test");
        // The type tests the script asks for (ufo's `vitest run --typecheck`).
        let typed =
            r#"{"scripts": {"test": "pnpm lint && vitest run --typecheck"}, "devDependencies": {"vitest": "3"}}"#;
        let files = [("package.json", typed), ("node_modules", ""), ("node_modules/.bin/vitest", "")];
        let tools = detect(&Fake { files: files.iter().copied().collect(), installed: &[] });
        assert_eq!(tools[0].command[..3], ["node_modules/.bin/vitest", "run", "--typecheck"]);
    }

    #[test]
    fn findings_the_code_shows_it_meant_are_left_out() {
        let finding = |message: &str| ToolFinding {
            tool: "ruff",
            rule: "ruff:F821".into(),
            severity: Severity::Error,
            message: message.into(),
            path: "m.py".into(),
            line: 3,
            column: 5,
            end: None,
            fix: None,
        };
        let compat = |_: &str| Some("PY2 = sys.version_info[0] == 2\nif PY2:\n    text_type = unicode\n".to_owned());
        let declared = |path: &str| match path {
            "setup.py" => Some("classifiers=['Programming Language :: Python :: 2.7']".to_owned()),
            _ => Some("text_type = unicode\n".to_owned()),
        };
        assert!(intended(&finding("Undefined name `unicode`"), &declared), "a Python 2 project");
        let undeclared = |path: &str| match path {
            "setup.py" => Some("classifiers=['Programming Language :: Python']".to_owned()),
            _ => Some("text_type = unicode\n".to_owned()),
        };
        assert!(intended(&finding("Undefined name `unicode`"), &undeclared), "the code of Python 2's time");
        let plain = |path: &str| match path {
            "pyproject.toml" => Some("[project]\nrequires-python = \">=3.9\"\n".to_owned()),
            "setup.py" | "setup.cfg" => None,
            _ => Some("text_type = unicode\n".to_owned()),
        };
        assert!(intended(&finding("Undefined name `unicode`"), &compat));
        assert!(!intended(&finding("Undefined name `unicode`"), &plain), "a Python 3 project: a real mistake");
        let loose = |path: &str| (path == "m.py").then(|| "text_type = unicode\n".to_owned());
        assert!(!intended(&finding("Undefined name `unicode`"), &loose), "no manifest: nothing says Python 2");
        assert!(!intended(&finding("Undefined name `nme`"), &compat), "a typo is a typo");
        let import =
            |path: &str, message: &str| ToolFinding { rule: "ruff:F401".into(), path: path.into(), ..finding(message) };
        let reexport =
            "`.ansi.Fore` imported but unused; consider removing, adding to `__all__`, or using a redundant alias";
        assert!(intended(&import("colorama/__init__.py", reexport), &plain), "a package publishing its modules");
        assert!(!intended(&import("colorama/win32.py", reexport), &plain));
        assert!(!intended(&import("colorama/__init__.py", "`os` imported but unused"), &plain), "not its own module");
        let demos = |path: &str| match path {
            "demos/fixpath.py" => Some("import sys\nhere = '..'\nsys.path.insert(0, here)\n".to_owned()),
            "demos/helpers.py" => Some("import sys\nX = dict(a=1)\ndef f():\n    g()\n".to_owned()),
            _ => None,
        };
        assert!(
            intended(&import("demos/demo01.py", "`fixpath` imported but unused"), &demos),
            "imported for its effect"
        );
        assert!(!intended(&import("demos/demo01.py", "`helpers` imported but unused"), &demos), "defines names only");
        assert!(
            !intended(&import("demos/demo01.py", "`json` imported but unused"), &demos),
            "no such module beside it"
        );
    }

    #[test]
    fn imports_and_markers_the_code_says_it_means() {
        let finding = |message: &str| ToolFinding {
            tool: "ruff",
            rule: "ruff:F821".into(),
            severity: Severity::Error,
            message: message.into(),
            path: "m.py".into(),
            line: 1,
            column: 1,
            end: None,
            fix: None,
        };
        let source = "\
# kept here for backwards compatibility
from ._internal import to_native_string
import encodings.idna  # registers the codec before threads start
# Third-party
import yaml
from io import BytesIO
from .utils import (DEFAULT, get_encoding,
                    to_native)
try:
    import OpenSSL
except ImportError:
    raise SystemExit('needs pyOpenSSL')
try:
    import json
except Exception:
    json = None
";
        let read = |path: &str| (path == "pkg/models.py" || path == "pkg/compat.py").then(|| source.to_owned());
        let at = |path: &str, line: u32, message: &str| ToolFinding {
            rule: "ruff:F401".into(),
            path: path.into(),
            line,
            ..finding(message)
        };
        assert!(intended(&at("pkg/models.py", 2, "`._internal.to_native_string` imported but unused"), &read));
        assert!(intended(&at("pkg/models.py", 3, "`encodings.idna` imported but unused"), &read));
        assert!(!intended(&at("pkg/models.py", 6, "`io.BytesIO` imported but unused"), &read), "just unused");
        assert!(!intended(&at("pkg/models.py", 8, "`.utils.to_native` imported but unused"), &read), "no comment");
        assert!(intended(&at("pkg/models.py", 10, "`OpenSSL` imported but unused"), &read), "an availability check");
        assert!(!intended(&at("pkg/models.py", 14, "`json` imported but unused"), &read), "not an ImportError");
        assert!(intended(&at("pkg/compat.py", 6, "`io.BytesIO` imported but unused"), &read), "a compat module");
        // A comment of several lines above the import, the reason in its first.
        let block = "import sys\n\n# Import encoding now, to avoid implicit import later.\n# Implicit import within threads may cause LookupError\n# in embedded Python. See issue 3578.\nimport encodings.idna\n\n# Third-party\n# (sorted)\nimport yaml\n";
        let read_block = |path: &str| (path == "pkg/models.py").then(|| block.to_owned());
        assert!(intended(&at("pkg/models.py", 6, "`encodings.idna` imported but unused"), &read_block));
        assert!(!intended(&at("pkg/models.py", 10, "`yaml` imported but unused"), &read_block));
        let local = |message: &str| ToolFinding { rule: "ruff:F841".into(), ..finding(message) };
        assert!(intended(&local("Local variable `__traceback_hide__` is assigned to but never used"), &read));
        // A bare `except:` that hands the exception on, or re-raises; not one that drops it.
        let source = "try:\n    run()\nexcept:\n    info = sys.exc_info()\ntry:\n    run()\nexcept:\n    # undo\n    undo()\n    raise\n\ntry:\n    run()\nexcept:\n    pass\n";
        let read_bare = |path: &str| (path == "lib/a.py").then(|| source.to_owned());
        let bare = |line: u32| ToolFinding {
            rule: "ruff:E722".into(),
            path: "lib/a.py".into(),
            line,
            ..finding("Do not use bare `except`")
        };
        assert!(intended(&bare(3), &read_bare) && intended(&bare(7), &read_bare));
        assert!(!intended(&bare(14), &read_bare));
        assert!(!intended(&local("Local variable `success` is assigned to but never used"), &read));
        let guarded = |_: &str| Some("url = unicode(url) if is_py2 else str(url)\n".to_owned());
        assert!(intended(&finding("Undefined name `unicode`"), &guarded), "under requests' `is_py2`");
        let copying = |path: &str| (path == "m.py").then(|| "shutil.copy2(a, b)\nname = unicode(b)\n".to_owned());
        assert!(!intended(&finding("Undefined name `unicode`"), &copying), "`copy2` is no version check");
        assert!(!intended(&at("pkg/models.py", 5, "`yaml` imported but unused"), &read), "a section header");
    }
}
