//! Edison's tests, verified: the function is called on a scratch copy of the
//! project in the sandbox to see what it does (`agents::skills::testgen`
//! writes the probe and reads it), tests asserting that are written where the
//! project keeps its tests, and they are run there, in the sandbox, before
//! anything is proposed. A test that does not compile or does not pass is
//! never proposed; the report says why there is none.

mod beside;
mod examples;
mod js;
mod output;
mod python;
mod rust;
mod trial;

pub use examples::examples;

use beside::{beside_in_one_run, beside_the_others, go_resets, is_ours_in_go, pytest_failing};
use output::{last_lines, number_before, passed_count};
use rust::{passed_in_rust, rust_deprecated, with_crate};
use trial::Trial;

use std::path::Path;

use agents::skills::testgen::{self, Target};
use context::{Language, SyntaxDocument};
use protocol::{agents::TextEdit, documents::Range};

use super::{checks, codebase::LineIndex};
use crate::platform::{config::SandboxConfig, os::sandbox, paths::Paths, uri};

/// One test generation at a time: they share the project's scratch copy and
/// build cache (and the machine's cores).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The report and the verified test's edit (none when no test passed).
pub struct Written {
    pub report: String,
    pub edits: Vec<TextEdit>,
    /// Why there is no test, when there is none.
    pub none: Option<String>,
}

/// Tests for the function at `cursor` of `doc` (`rel` in the project at
/// `root`), verified in the sandbox.
pub async fn verified_tests(
    paths: &Paths,
    config: &SandboxConfig,
    root: &Path,
    rel: &str,
    doc: &SyntaxDocument,
    cursor: usize,
    speaker: &str,
) -> Written {
    match write_and_run(paths, config, root, rel, doc, cursor, speaker).await {
        Ok(written) => written,
        Err(why) => {
            Written { report: format!("{speaker} proposes no test: {why}.\n"), edits: Vec::new(), none: Some(why) }
        }
    }
}

async fn write_and_run(
    paths: &Paths,
    config: &SandboxConfig,
    root: &Path,
    rel: &str,
    doc: &SyntaxDocument,
    cursor: usize,
    speaker: &str,
) -> Result<Written, String> {
    let sources = tests_of(root, doc).await;
    let mut target = testgen::target(rel, doc, cursor, &sources)?;
    if target.language == Language::Rust {
        with_crate(&mut target, root, rel, doc.text()).await;
    }
    let (js, runner) = how_to_run(&target, rel, root)?;
    let _turn = ONE_AT_A_TIME.lock().await;
    let trial = Trial::new(paths, config, root, &target).await?;

    // 1. What the function does: the probe, run on the copy.
    let seen = match &js {
        Some(plan) => trial.probe_js(&target, plan, rel, doc.text()).await?.0,
        None => trial.probe(&target, &runner, rel, doc.text()).await?.0,
    };
    let (tests, count) = testgen::tests_in(&target, &seen, js.as_ref().map(|plan| &plan.style))
        .ok_or_else(|| nothing_to_assert(&target, &seen))?;
    // Numbered past the tests of those names there already (Edison's from
    // an earlier request): a second `digits_1` would not compile.
    let tests = testgen::renumbered(&target, &tests, &format!("{}\n{}", doc.text(), sources.join("\n")));
    let generated = tests.clone();
    // The classes the expected values are built with (`VersionInfo(…)`).
    for import in testgen::value_imports(&target, &seen) {
        if !target.imports.contains(&import) {
            target.imports.push(import);
        }
    }

    // 2–4. Written where the project keeps its tests and run there. Go: a test
    // that passes alone but fails after the package's others (state they leave
    // behind: uuid's tests end with `SetRand` on a spent reader) is tried once
    // more, starting with the resets the package's own tests use.
    let attempt = |tests: String| {
        let (trial, target, js, runner) = (&trial, &target, &js, &runner);
        async move {
            let placed = match js {
                Some(plan) => trial.formatted(plan, plan.placed(root, &tests)).await,
                None => {
                    let placed = place(target, root, rel, doc.text(), &tests).map_err(Failed::Alone)?;
                    if target.language == Language::Rust { trial.rustfmt(doc.text(), placed).await } else { placed }
                }
            };
            let written = Candidate { placed: &placed, tests: &tests, count };
            let (verified, passed) = write_and_verify(trial, target, js.as_ref(), runner, rel, written).await?;
            Ok::<_, Failed>((tests, placed, verified, passed))
        }
    };
    let (tests, placed, verified, passed) = match attempt(tests).await {
        Ok(done) => done,
        Err(Failed::AfterOthers(why)) => {
            // Go: again, starting from the resets the package's tests use.
            let resets = if target.language == Language::Go { go_resets(root, rel) } else { Vec::new() };
            if resets.is_empty() {
                return Err(why);
            }
            trial.copy().await?;
            // Said with the first reason: the retry's own may be a consequence
            // of the resets (a setter declared under a build tag).
            attempt(testgen::go_with_resets(&generated, &resets)).await.map_err(|again| {
                format!("{why}; tried again starting with {}, and then: {}", resets.join(", "), again.into_reason())
            })?
        }
        Err(failed) => return Err(failed.into_reason()),
    };
    let sandbox = verified.enforcement.summary();
    // As proposed: the tests' edit (the last: imports come first), in the
    // file's style and as the formatter laid them out.
    let tests = placed.edits.last().map_or(tests, |edit| edit.new_text.clone());
    let subject = match &target.through {
        Some(through) => format!(
            "`{}` — a function its module keeps to itself, so they call `{}`, through which it runs, with \
             inputs that reach it —",
            through.name, target.name
        ),
        None => format!("`{}`", target.name),
    };
    let report = format!(
        "{speaker} wrote {count} test(s) for {subject} in `{}` and ran them on a copy of the project \
         (sandbox {sandbox}): {passed} passed.\n\nThey pin down what `{}` does today, for the inputs shown; \
         check that each is what it should do.\n\n```\n{}\n```\n",
        placed.path,
        target.name,
        tests.trim_matches('\n')
    );
    Ok(Written { report, edits: placed.edits, none: None })
}

/// Why nothing `target` did for `seen` became a test.
fn nothing_to_assert(target: &Target, seen: &[testgen::Observed]) -> String {
    // Through an exported function: said of the inputs that reach the private one.
    let reaching = match &target.through {
        Some(through) => format!(" that reaches `{}`", through.name),
        None => String::new(),
    };
    if testgen::differed(target, seen) {
        format!(
            "what `{}` returns differs from one run to the next (run again as another user, in another time \
             zone, it gave other values) and nothing about it held in both, so there is no value a test could \
             pin",
            target.name
        )
    } else if testgen::only_tested(target, seen) {
        format!(
            "every input Edison found for `{}`{reaching} is one the project's tests pass already or fails as one \
             of theirs does, and a test of it would repeat theirs: new inputs take a model",
            target.name
        )
    } else {
        match &target.through {
            Some(_) => format!(
                "nothing `{}` returned for an input{reaching} could be written down as a new value to assert",
                target.name
            ),
            None => format!("nothing `{}` returned could be written down as a value to assert", target.name),
        }
    }
}

/// The project's tests in the document's language ([`test_sources`]), read
/// off the async threads.
async fn tests_of(root: &Path, doc: &SyntaxDocument) -> Vec<String> {
    tokio::task::spawn_blocking({
        let (root, language, own) = (root.to_path_buf(), doc.language(), doc.text().to_owned());
        move || test_sources(&root, language, own)
    })
    .await
    .unwrap_or_default()
}

/// How `target` is probed and its tests run: a JavaScript/TypeScript plan
/// (its framework's runner), or the language's runner.
fn how_to_run(target: &Target, rel: &str, root: &Path) -> Result<(Option<js::Plan>, Vec<String>), String> {
    let js = is_js(target.language).then(|| js::plan(root, rel, target)).transpose()?;
    let runner = match &js {
        Some(plan) => plan.runner.clone(),
        None => runner(target, rel, root)?,
    };
    Ok((js, runner))
}

/// Why written tests are not proposed.
enum Failed {
    /// They did not compile or pass on their own (or could not be placed).
    Alone(String),
    /// Go: they pass alone but fail after the package's other tests.
    AfterOthers(String),
}

impl Failed {
    fn into_reason(self) -> String {
        match self {
            Failed::Alone(why) | Failed::AfterOthers(why) => why,
        }
    }
}

/// Tests to verify: where they were placed, as generated, how many.
struct Candidate<'a> {
    placed: &'a Placed,
    tests: &'a str,
    count: usize,
}

/// Writes the placed tests into the copy and runs them: alone, then (Go)
/// beside the package's other tests. The run and how many passed.
async fn write_and_verify(
    trial: &Trial<'_>,
    target: &Target,
    js: Option<&js::Plan>,
    runner: &[String],
    rel: &str,
    written: Candidate<'_>,
) -> Result<(sandbox::Outcome, usize), Failed> {
    let Candidate { placed, tests, count } = written;
    trial.write(&placed.path, &placed.after).map_err(Failed::Alone)?;
    let mut command = runner.to_vec();
    match (target.language, js) {
        // Only the new tests, by their whole titles.
        (_, Some(plan)) => command.extend(plan.only(&plan.titles(tests))),
        // Ours by name: `new_` would run the project's `new_*` too, whose failure is not ours.
        (Language::Rust, None) => {
            command.push("--".into());
            command.extend(rust::test_names(tests));
        }
        (Language::Go, None) => {
            let test = testgen::go_test_name(&target.name, 1);
            command.extend(["-run".into(), format!("^{}", test.trim_end_matches('1')), go_package(rel)]);
        }
        // Ours by node id: `-k test_intword_` would run the project's own
        // `test_intword_powers` too, and count its passes as ours.
        _ => {
            let ours: Vec<String> = placed
                .edits
                .iter()
                .flat_map(|edit| edit.new_text.lines())
                .filter_map(|line| line.strip_prefix("def ")?.split_once('(').map(|(name, _)| name))
                .filter(|name| name.starts_with("test_"))
                .map(|name| format!("{}::{name}", placed.path))
                .collect();
            if ours.is_empty() {
                command.push(placed.path.clone());
                command.extend(["-k".into(), format!("test_{}_", target.name)]);
            } else {
                command.extend(ours);
            }
        }
    }
    let verified = trial.run(command).await.map_err(Failed::Alone)?;
    let output =
        format!("{}\n{}", String::from_utf8_lossy(&verified.stdout), String::from_utf8_lossy(&verified.stderr));
    let passed = match target.language {
        // `-run ^TestF_` also runs the package's own `TestF_Invalid`: ours only.
        Language::Go => output
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("--- PASS: "))
            .filter(|l| is_ours_in_go(&target.name, l.split_whitespace().next().unwrap_or_default()))
            .count(),
        Language::Rust => passed_in_rust(&target.name, tests, &output),
        // `3 passing (4ms)`
        _ if js.is_some_and(|plan| plan.framework == "mocha") => {
            output.lines().rev().find_map(|l| number_before(l, " passing")).unwrap_or(0)
        }
        language => passed_count(language, &output),
    };
    if !verified.success() || passed < count {
        return Err(Failed::Alone(format!(
            "the {count} test(s) written for `{}` did not pass when run ({}; {passed} passed): {}",
            target.name,
            verified.exit.describe(),
            last_lines(&output)
        )));
    }
    if target.language == Language::Go {
        beside_the_others(trial, runner, rel, target, count).await?;
    }
    match (js, target.language) {
        (Some(plan), _) => {
            if let Some(command) = plan.beside_the_others() {
                beside_in_one_run(trial, command, &|output| plan.failing(output)).await?;
            }
        }
        // The whole test file the tests join: its tests share the process.
        (None, Language::Python) => {
            let mut command = runner.to_vec();
            command.push(placed.path.clone());
            beside_in_one_run(trial, command, &pytest_failing).await?;
        }
        _ => {}
    }
    Ok((verified, passed))
}

fn is_js(language: Language) -> bool {
    matches!(language, Language::TypeScript | Language::Tsx | Language::JavaScript)
}

/// `go test`'s name for the package of the file at `rel`: `./dir` or `.`.
fn go_package(rel: &str) -> String {
    rel.rsplit_once('/').map_or_else(|| ".".to_owned(), |(dir, _)| format!("./{dir}"))
}

/// Go: appended to the file's own `_test.go` when it is in the same
/// package and imports `testing` and whatever else the tests use (a
/// reader's `strings`); else a test file of its own that imports them.
fn place_go(
    target: &Target,
    root: &Path,
    rel: &str,
    tests: &str,
    insert: &dyn Fn(&str, &str, usize, String) -> Placed,
) -> Result<Placed, String> {
    let package = target.module.as_deref().unwrap_or("main");
    let (dir, file) = rel.rsplit_once('/').map_or(("", rel), |(d, f)| (d, f));
    let in_dir = |name: &str| if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") };
    let stem = file.trim_end_matches(".go");
    // A test of that name anywhere in the package would not compile (the
    // tests were numbered past the ones there: this is the last check).
    let names: Vec<&str> =
        tests.lines().filter_map(|l| l.strip_prefix("func ")?.split_once('(').map(|(name, _)| name)).collect();
    let taken = std::fs::read_dir(root.join(dir)).into_iter().flatten().flatten().find_map(|entry| {
        let source = entry
            .file_name()
            .to_string_lossy()
            .ends_with("_test.go")
            .then(|| super::workspace::read_source(&entry.path()))??;
        names.iter().find(|name| source.contains(&format!("func {name}("))).copied()
    });
    if let Some(name) = taken {
        return Err(format!("the package has a `{name}` already"));
    }
    let body = tests.trim_start_matches('\n');
    let mut imports = testgen::go_imports(body);
    for candidate in [in_dir(&format!("{stem}_test.go")), in_dir(&format!("{stem}_edison_test.go"))] {
        match super::workspace::read_source(&root.join(&candidate)) {
            Some(existing) => {
                let same_package = existing.lines().any(|l| l.trim() == format!("package {package}"));
                // Imports come before the first declaration.
                let head = existing.find("\nfunc ").map_or(existing.as_str(), |at| &existing[..at]);
                // Under its own name: `str "strings"`, `_` or `.` do not give `strings.`.
                let imported = |path: &str| {
                    let quoted = format!("\"{path}\"");
                    head.lines().map(str::trim).any(|l| l == quoted || l == format!("import {quoted}"))
                };
                if same_package && imported("testing") && imports.iter().all(|p| imported(p)) {
                    let gap = if existing.ends_with('\n') { "\n" } else { "\n\n" };
                    return Ok(insert(&candidate, &existing, existing.len(), format!("{gap}{body}")));
                }
            }
            None if !root.join(&candidate).exists() => {
                imports.push("testing");
                imports.sort_unstable();
                let imports = match &imports[..] {
                    [one] => format!("import \"{one}\"\n"),
                    many => format!("import (\n{})\n", many.iter().map(|p| format!("\t\"{p}\"\n")).collect::<String>()),
                };
                let new = format!("package {package}\n\n{imports}\n{body}");
                return Ok(insert(&candidate, "", 0, new));
            }
            None => {}
        }
    }
    Err(format!("no test file of package `{package}` to put the tests in"))
}

/// The text of the project's tests in `language`, where the inputs its
/// authors chose are: its test files and, for Rust, the file itself (its
/// unit tests live beside the code). Bounded: 300 files, 8 MiB.
fn test_sources(root: &Path, language: Language, own: String) -> Vec<String> {
    let mut sources = Vec::new();
    let mut total = 0usize;
    if language == Language::Rust {
        total += own.len();
        sources.push(own);
    }
    // In name order (the same inputs on every machine), never installed packages.
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != "node_modules")
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker.filter_map(Result::ok) {
        if sources.len() >= 300 || total >= 8 << 20 {
            break;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let is_file = entry.file_type().is_some_and(|k| k.is_file());
        if !is_file || Language::from_path(&rel) != language || !agents::skills::is_test_path(&rel) {
            continue;
        }
        if let Some(text) = super::workspace::read_source(entry.path()) {
            total += text.len();
            sources.push(text);
        }
    }
    sources
}

/// The command that runs the project's tests for `target`'s language.
fn runner(target: &Target, rel: &str, root: &Path) -> Result<Vec<String>, String> {
    // As the sandbox will find them: the project's virtual environment first.
    let path = checks::project_path(root);
    let installed = |program: &str| std::env::split_paths(&path).any(|dir| dir.join(program).is_file());
    let pytest = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--color=no"].map(str::to_owned);
    match target.language {
        Language::Rust if installed("cargo") => {
            // The target the file belongs to, and only it: other targets may
            // need dev-dependencies that are not here offline.
            let which = if rel == "src/main.rs" || rel.starts_with("src/bin/") { "--bins" } else { "--lib" };
            if which == "--lib" && rust::lib_tests_off(root, rel) {
                return Err("the crate's `Cargo.toml` says `[lib] test = false`: `cargo test` never runs a test \
                            written in its library, so none is proposed there"
                    .into());
            }
            // Not `--quiet`: libtest then names each test it ran, which tells ours apart.
            Ok(["cargo", "test", "--offline", which].map(str::to_owned).to_vec())
        }
        Language::Rust => Err("cargo is not installed, so no test could be run".into()),
        Language::Go if installed("go") => Ok(["go", "test", "-count=1", "-v"].map(str::to_owned).to_vec()),
        Language::Go => Err("go is not installed, so no test could be run".into()),
        // The environment's Python where it has pytest; else the daemon's,
        // by its path (the environment's `python3` comes first on `PATH`).
        _ if checks::project_venv(root).is_some_and(|venv| venv.join("bin/pytest").is_file()) => {
            Ok(std::iter::once("python3".to_owned()).chain(pytest).collect())
        }
        _ => {
            let daemons = checks::tool_path();
            let find = |program: &str| std::env::split_paths(&daemons).map(|d| d.join(program)).find(|p| p.is_file());
            match (find("python3"), find("pytest")) {
                (Some(python), Some(_)) => Ok(std::iter::once(python.display().to_string()).chain(pytest).collect()),
                _ => Err("pytest is not installed, so no test could be run (`pip install pytest`)".into()),
            }
        }
    }
}

/// Where the tests go and the file as it will read.
struct Placed {
    /// Workspace-relative.
    path: String,
    after: String,
    /// Insertions into the file as it is (imports in its import block, the
    /// tests at its end), or the new file.
    edits: Vec<TextEdit>,
}

fn place(target: &Target, root: &Path, rel: &str, source: &str, tests: &str) -> Result<Placed, String> {
    let insert = |path: &str, text: &str, at: usize, new_text: String| {
        let lines = LineIndex::new(text);
        let position = lines.position(at);
        let after = format!("{}{new_text}{}", &text[..at], &text[at..]);
        let uri = uri::from_path(&root.join(path));
        Placed {
            path: path.to_owned(),
            after,
            edits: vec![TextEdit { uri, range: Range { start: position, end: position }, new_text }],
        }
    };
    // A deprecated function's tests say they call it knowingly, as the
    // project's own do (else `-D warnings` fails the build).
    let allowed;
    let tests = if target.language == Language::Rust && rust_deprecated(source, &target.name) {
        allowed = tests.replace("    #[test]\n", "    #[test]\n    #[allow(deprecated)]\n");
        allowed.as_str()
    } else {
        tests
    };
    match target.language {
        Language::Rust => {
            // Into the file's own `mod tests`, before its closing brace; or a new one at the end.
            let module = test_module(source)
                .and_then(|at| Some((at, agents::skills::document::find_closing_brace(source, at)?)));
            Ok(match module {
                Some((start, close)) => {
                    // The module's own imports, unless they reach the function
                    // (and the file's types its arguments name) already.
                    let body = &source[start..close];
                    // An associated function is reached through its type (`Pattern::new`).
                    let mut names: Vec<String> = target.imported().map(str::to_owned).into_iter().collect();
                    names.extend(types_named(tests).into_iter().filter(|t| {
                        [format!("enum {t}"), format!("struct {t}")].iter().any(|d| source.contains(d.as_str()))
                    }));
                    // Reached by a `use` of the module (not by a comment or a longer name).
                    let used = |name: &str| {
                        body.lines()
                            .map(str::trim)
                            .filter(|l| l.starts_with("use "))
                            .any(|l| l.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|word| word == name))
                    };
                    let missing: Vec<&String> = if body.contains("use super::*") {
                        Vec::new()
                    } else {
                        names.iter().filter(|n| !used(n)).collect()
                    };
                    let import = match &missing[..] {
                        [] => String::new(),
                        [one] => format!("    use super::{one};\n"),
                        many => format!(
                            "    use super::{{{}}};\n",
                            many.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    insert(rel, source, close, format!("\n{import}{}", tests.trim_start_matches('\n')))
                }
                None => {
                    let gap = if source.ends_with("\n\n") {
                        ""
                    } else if source.ends_with('\n') {
                        "\n"
                    } else {
                        "\n\n"
                    };
                    let body = tests.trim_start_matches('\n');
                    insert(
                        rel,
                        source,
                        source.len(),
                        format!("{gap}#[cfg(test)]\nmod tests {{\n    use super::*;\n\n{body}}}\n"),
                    )
                }
            })
        }
        Language::Go => place_go(target, root, rel, tests, &insert),
        _ => python::place_python(target, root, rel, tests, &insert),
    }
}

/// The types Rust tests name a path in (`CharSpecifier::SingleChar('a')`,
/// `MatchOptions::new()`), in order, once each.
fn types_named(tests: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (at, _) in tests.match_indices("::") {
        let start = tests[..at].rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let name = &tests[start..at];
        let after_path = tests[..start].ends_with("::");
        if name.starts_with(|c: char| c.is_ascii_uppercase()) && !after_path && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Where the file's own test module starts: `#[cfg(test)]` then `mod NAME {`
/// (`tests`, `test`, whatever the project calls it).
fn test_module(source: &str) -> Option<usize> {
    source.match_indices("#[cfg(test)]").map(|(at, _)| at).find(|at| {
        let rest = source[at + "#[cfg(test)]".len()..].trim_start();
        let rest = rest.strip_prefix("pub ").unwrap_or(rest);
        rest.strip_prefix("mod ").is_some_and(|r| {
            let name: String = r.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            !name.is_empty() && r[name.len()..].trim_start().starts_with('{')
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_types_rust_tests_name_a_path_in() {
        let tests = "assert!(f(&[CharSpecifier::SingleChar('a')], MatchOptions::new()));\nlet _ = std::path::Path::new(\"x\");\nassert!(f(&[CharSpecifier::Any]));";
        assert_eq!(super::types_named(tests), ["CharSpecifier", "MatchOptions"]);
    }
}
