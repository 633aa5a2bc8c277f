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

pub use examples::examples;

use beside::{beside_in_one_run, beside_the_others, go_resets, is_ours_in_go, pytest_failing};
use output::{last_lines, number_before, passed_count};
use rust::{passed_in_rust, rust_deprecated, with_crate};

use std::path::{Path, PathBuf};

use agents::skills::testgen::{self, Target};
use context::{Language, SyntaxDocument};
use protocol::{agents::TextEdit, documents::Range};

use super::{
    checks::{self, Scratch},
    codebase::LineIndex,
};
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
        Some(plan) => trial.probe_js(&target, plan).await?.0,
        None => trial.probe(&target, &runner, rel, doc.text()).await?.0,
    };
    let (tests, count) = testgen::tests_in(&target, &seen, js.as_ref().map(|plan| &plan.style)).ok_or_else(|| {
        if testgen::differed(&target, &seen) {
            format!(
                "what `{}` returns differs from one run to the next (run again as another user, in another time \
                 zone, it gave other values) and nothing about it held in both, so there is no value a test could \
                 pin",
                target.name
            )
        } else if testgen::only_tested(&target, &seen) {
            format!(
                "every input Edison found for `{}` is one the project's tests pass already or fails as one of \
                 theirs does, and a test of it would repeat theirs: new inputs take a model",
                target.name
            )
        } else {
            format!("nothing `{}` returned could be written down as a value to assert", target.name)
        }
    })?;
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
    let report = format!(
        "{speaker} wrote {count} test(s) for `{}` in `{}` and ran them on a copy of the project \
         (sandbox {sandbox}): {passed} passed.\n\nThey pin down what `{}` does today, for the inputs shown; \
         check that each is what it should do.\n\n```\n{}\n```\n",
        target.name,
        placed.path,
        target.name,
        tests.trim_matches('\n')
    );
    Ok(Written { report, edits: placed.edits, none: None })
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

/// The user id Edison's second probe runs as ([`Trial::run_as`]).
const ELSEWHERE_UID: u32 = 4242;

/// What each call of a probe returned, and whether it printed (a Python
/// doctest would show that too).
type Probed = (Vec<testgen::Observed>, Vec<bool>);

/// A scratch copy of the project and how to run a command on it in the sandbox.
struct Trial<'a> {
    paths: &'a Paths,
    config: &'a SandboxConfig,
    root: &'a Path,
    scratch: Scratch,
    work: PathBuf,
    /// Python with a `src/` layout: the package is found there.
    python_src: bool,
}

/// The copy goes when the trial ends (it was left, one per project, in the
/// data folder: 22 MB for python-humanize's copies in one trial): moved at
/// once to a trash folder outside every sandbox's writable tree (the next
/// trial of the project makes its own copy in the same place), removed off
/// the async threads; what a daemon that stopped meanwhile left there goes
/// at the next trial.
impl Drop for Trial<'_> {
    fn drop(&mut self) {
        static GONE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = GONE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let trash = trash(self.paths);
        let aside = trash.join(format!("gone-{}-{n}", std::process::id()));
        if std::fs::create_dir_all(&trash).is_ok() && std::fs::rename(&self.work, &aside).is_ok() {
            std::thread::spawn(move || std::fs::remove_dir_all(aside));
        }
    }
}

/// Where trials' copies wait to be removed: beside the projects' scratch
/// folders, in none of them.
fn trash(paths: &Paths) -> PathBuf {
    paths.data_dir.join("checks").join(".trash")
}

impl<'a> Trial<'a> {
    async fn new(
        paths: &'a Paths,
        config: &'a SandboxConfig,
        root: &'a Path,
        target: &Target,
    ) -> Result<Trial<'a>, String> {
        let scratch = Scratch::for_project(paths, root).map_err(|err| format!("no scratch folder: {err}"))?;
        let work = scratch.dir.join("work");
        // What an earlier daemon left in the trash (this one's own go as they end).
        let leftovers: Vec<PathBuf> = std::fs::read_dir(trash(paths))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                let own = format!("gone-{}-", std::process::id());
                path.file_name().is_some_and(|name| !name.to_string_lossy().starts_with(&own))
            })
            .collect();
        if !leftovers.is_empty() {
            std::thread::spawn(move || leftovers.into_iter().for_each(|path| drop(std::fs::remove_dir_all(path))));
        }
        let mut trial = Trial { paths, config, root, scratch, work, python_src: false };
        trial.copy().await?;
        trial.python_src = target.language == Language::Python && trial.work.join("src").is_dir();
        Ok(trial)
    }

    /// A fresh copy of the project. Also after anything ran in the copy: what
    /// ran could have left links there (`src` → the user's home) that a write
    /// of the daemon's would follow; the old copy goes, links unfollowed.
    async fn copy(&self) -> Result<(), String> {
        let copied = tokio::task::spawn_blocking({
            let (root, work) = (self.root.to_path_buf(), self.work.clone());
            move || checks::copy_project(&root, &work)
        })
        .await;
        match copied {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(format!("the project could not be copied to try the test: {err}")),
            Err(err) => Err(format!("the copy stopped: {err}")),
        }
    }

    fn write(&self, rel: &str, text: &str) -> Result<(), String> {
        let path = self.work.join(rel);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&path, text).map_err(|err| format!("the copy could not be written: {err}"))
    }

    async fn run(&self, command: Vec<String>) -> Result<sandbox::Outcome, String> {
        self.run_as(command, false).await
    }

    /// [`Trial::run`], or (`elsewhere`) as another user would: another user
    /// id, another home, another time zone (Nepal's, a quarter-hour off).
    async fn run_as(&self, command: Vec<String>, elsewhere: bool) -> Result<sandbox::Outcome, String> {
        let mut spec = checks::sandbox_spec(self.paths, self.config, self.root, &self.scratch, &self.work, &command);
        if self.python_src {
            spec.env.push(("PYTHONPATH".into(), "src".into()));
        }
        if elsewhere {
            let home = self.scratch.dir.join("home-elsewhere");
            let _ = std::fs::create_dir_all(&home);
            spec.env.retain(|(key, _)| key != "HOME" && key != "TZ");
            spec.env.push(("HOME".into(), home.display().to_string()));
            spec.env.push(("TZ".into(), "Asia/Kathmandu".into()));
            spec.seen_as = Some(ELSEWHERE_UID);
        }
        let helper = std::env::current_exe().map_err(|err| format!("the paired binary is not found: {err}"))?;
        sandbox::run(&helper, &spec).await.map_err(|err| format!("the sandbox did not start: {err}"))
    }

    /// JavaScript/TypeScript: the tests as the project's formatter writes
    /// them (its prettier, in the sandbox, on the copy), when it has one and
    /// it leaves the rest of the file as it was; else as written.
    async fn formatted(&self, plan: &js::Plan, placed: Placed) -> Placed {
        let Some(mut command) = js::formatter(self.root) else { return placed };
        command.push(placed.path.clone());
        match self.formatter_on(command, &placed).await {
            Some(after) => plan.reformatted(self.root, placed, after),
            None => placed,
        }
    }

    /// `placed` written to the copy, a formatter `command` run on it there,
    /// and the file as it left it (none where either failed). The copy is
    /// fresh again after.
    async fn formatter_on(&self, command: Vec<String>, placed: &Placed) -> Option<String> {
        self.write(&placed.path, &placed.after).ok()?;
        let ran = self.run(command).await;
        // What a program of the project's left: no link, FIFO or device is followed.
        let after = tokio::task::spawn_blocking({
            let path = self.work.join(&placed.path);
            move || crate::platform::os::read_regular_text(&path, 4 << 20)
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|read| read);
        // What ran may have left links in the copy: a fresh one.
        self.copy().await.ok()?;
        match (ran, after) {
            (Ok(outcome), Ok(after)) if outcome.success() => Some(after),
            _ => None,
        }
    }

    /// JavaScript/TypeScript: the probe is a test file of the project's
    /// framework beside where the tests will go.
    async fn probe_js(&self, target: &Target, plan: &js::Plan) -> Result<Probed, String> {
        let probe = plan.probe_file();
        self.write(&probe, &testgen::ts_probe(target, &plan.style))?;
        let mut command = plan.runner.clone();
        command.push(probe);
        let outcome = self.run(command).await;
        self.copy().await?;
        let outcome = outcome?;
        let stdout = String::from_utf8_lossy(&outcome.stdout);
        if !stdout.contains(testgen::MARK) {
            return Err(format!(
                "`{}` could not be called on a copy of the project ({}): {}",
                target.name,
                outcome.exit.describe(),
                last_lines(&format!("{stdout}\n{}", String::from_utf8_lossy(&outcome.stderr)))
            ));
        }
        let seen = output::outside(testgen::observed(target, &stdout), &self.work.display().to_string());
        if output::unreachable(&seen) {
            return Err(format!(
                "`{}` could not be called the way its tests reach it (every call failed: \"is not a function\")",
                target.name
            ));
        }
        Ok((seen, vec![false; target.calls.len()]))
    }

    /// Calls the function on the copy and reads what it did: twice, the
    /// second time as another user elsewhere ([`Trial::run_as`]), so that a
    /// value of the machine's, the process's or the clock's is not pinned.
    async fn probe(&self, target: &Target, runner: &[String], rel: &str, source: &str) -> Result<Probed, String> {
        let command = match target.language {
            Language::Rust => {
                self.write(rel, &(source.to_owned() + &testgen::rust_probe(target)))?;
                let mut command = runner.to_vec();
                command.extend(["paired_probe".into(), "--".into(), "--nocapture".into(), "--test-threads=1".into()]);
                command
            }
            Language::Go => {
                let dir = rel.rsplit_once('/').map_or("", |(dir, _)| dir);
                let probe = if dir.is_empty() {
                    "paired_probe_test.go".to_owned()
                } else {
                    format!("{dir}/paired_probe_test.go")
                };
                self.write(&probe, &testgen::go_probe(target))?;
                let mut command = runner.to_vec();
                command.extend(["-run".into(), "^TestPairedProbe$".into(), go_package(rel)]);
                command
            }
            _ => {
                self.write(".paired_probe.py", &testgen::python_probe(target))?;
                // The Python the tests will run with: a probe by another (the
                // environment's, without pytest) sees other packages.
                let python = runner.first().cloned().unwrap_or_else(|| "python3".into());
                vec![python, ".paired_probe.py".into()]
            }
        };
        let outcome = self.run(command.clone()).await;
        let elsewhere = match &outcome {
            Ok(first) if String::from_utf8_lossy(&first.stdout).contains(testgen::MARK) => {
                self.run_as(command, true).await.ok()
            }
            _ => None,
        };
        // Not written back over what ran: a fresh copy instead.
        self.copy().await?;
        let outcome = outcome?;
        let stdout = String::from_utf8_lossy(&outcome.stdout);
        if !stdout.contains(testgen::MARK) {
            let stderr = String::from_utf8_lossy(&outcome.stderr);
            // Rust: what it returns cannot be printed, so not observed (fnv's
            // `FnvHasher`, an `impl Iterator`): said as that, not as a broken project.
            if target.language == Language::Rust && stderr.contains("doesn't implement `Debug`") {
                return Err(format!(
                    "`{}` returns a value without `Debug` (`{}`): offline, Edison observes what a function \
                     returns through `Debug`, so there is nothing to assert",
                    target.name,
                    target.returns.as_deref().unwrap_or("?")
                ));
            }
            return Err(format!(
                "`{}` could not be called on a copy of the project ({}): {}",
                target.name,
                outcome.exit.describe(),
                last_lines(&stderr)
            ));
        }
        // A second run that printed nothing (it could not start as another
        // user) leaves the first's values as they were.
        let seen = match elsewhere.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()) {
            Some(second) if second.contains(testgen::MARK) => testgen::observed_twice(target, &stdout, &second),
            _ => testgen::observed(target, &stdout),
        };
        Ok((seen, testgen::printed(target, &stdout)))
    }
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
