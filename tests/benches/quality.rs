//! What the agents' work is worth (issue #16.9), measured on real code nobody
//! here wrote:
//!
//! - **Detection**: on a corpus of real bugs with known fixes
//!   (`tests/fixtures/quality/cases`, made by `make_corpus.py` from the
//!   projects' histories), Sherlock reviews the buggy file as it was before the
//!   fix, with the project's own tools; a bug counts as found when a finding
//!   lands on a line the fix changed (±1).
//! - **Noise**: every finding of Sherlock's file review on the vendored projects
//!   (`tests/fixtures/projects`) has a label in `tests/fixtures/quality/labels.tsv`
//!   — `act` or `noise`, with why — as a developer acting on it would give it
//!   (Tricorder's "not useful" rate). A finding without a label is listed.
//! - **Edison**: a test asked for every free function of the vendored projects;
//!   how many requests yield a test, and whether the proposed tests, applied to
//!   a fresh copy, pass with the project's whole suite (0 may break it).
//!
//! Run: `cargo bench -p tests --bench quality` (builds the release binary; the
//! project tools of `scripts/test` must be installed; the ruff versions the
//! cases pin are fetched from PyPI once, into `target/quality-tools`).
//! `PAIRED_QUALITY_ONLY=detection|noise|edison` runs one part;
//! `PAIRED_QUALITY_CORPUS=cases|heldout|heldout2|heldout3` one corpus of detection (`heldout`:
//! fixes picked by `make_heldout.py`'s fixed rule from projects the rules were
//! never tuned on).
//!
//! With a model: `PAIRED_QUALITY_MODEL=http://127.0.0.1:8081/v1` (an
//! OpenAI-compatible server, e.g. `scripts/dev-model`; `PAIRED_QUALITY_MODEL_NAME`,
//! default `qwen2.5-coder`) measures detection again with Sherlock asked to find
//! the file's bugs by that model, grounded in his offline review, reporting
//! through his `publish_diagnostics` tool. `PAIRED_QUALITY_CASES=N` reviews the
//! first N cases only (a small model on 2 cores takes about a minute a case).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use context::{Language, SyntaxDocument, symbols};
use serde_json::Value;
use tests::Home;

fn main() {
    let only = std::env::var("PAIRED_QUALITY_ONLY").ok();
    let wanted = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let mut rows: Vec<(String, String, String)> = Vec::new();
    if wanted("detection") {
        detection(&mut rows);
    }
    if wanted("noise") {
        noise(&mut rows);
    }
    if wanted("edison") {
        edison(&mut rows);
    }
    println!("\n| measure | result | target |\n|---|---|---|");
    for (what, result, target) in rows {
        println!("| {what} | {result} | {target} |");
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Copies a tree (links as links; `node_modules` hard-linked where it can be).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture").map(|e| e.expect("entry")) {
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

fn pct(n: usize, of: usize) -> String {
    if of == 0 { "—".to_owned() } else { format!("{:.0} % ({n} of {of})", 100.0 * n as f64 / of as f64) }
}

/// Sherlock's review of one file, as JSON (by the model, asked to find bugs, with `ask`).
fn review(home: &Home, root: &Path, file: &str, ask: bool) -> Value {
    let mut args = vec!["agents", "run", "sherlock", "--file", file, "--json"];
    if ask {
        args.extend(["--prompt", ASK]);
    }
    let out = home.paired_with_toolchains(&args).current_dir(root).output().expect("run paired");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("review of {file}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

fn findings(run: &Value) -> Vec<(u64, String, String)> {
    let list = run["findings"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (f["line"].as_u64().unwrap_or(0), text("rule"), text("message"))
        })
        .collect()
}

/// The labels of `labels.tsv`, and what was counted against them.
#[derive(Default)]
struct Labels {
    /// (project or case, file, line, rule) → `act` or `noise`.
    known: BTreeMap<(String, String, u64, String), String>,
    act: usize,
    noise: usize,
    unlabelled: Vec<String>,
}

impl Labels {
    fn load() -> Labels {
        let text = std::fs::read_to_string(fixtures().join("quality/labels.tsv")).unwrap_or_default();
        let mut known = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() >= 5 {
                let key = (cols[0].to_owned(), cols[1].to_owned(), cols[2].parse().unwrap_or(0), cols[3].to_owned());
                known.insert(key, cols[4].to_owned());
            }
        }
        Labels { known, ..Labels::default() }
    }

    fn count(&mut self, project: &str, file: &str, found: &[(u64, String, String)]) {
        for (line, rule, message) in found {
            match self.known.get(&(project.to_owned(), file.to_owned(), *line, rule.clone())).map(String::as_str) {
                Some("act") => self.act += 1,
                Some("noise") => self.noise += 1,
                _ => self.unlabelled.push(format!("{project}\t{file}\t{line}\t{rule}\t?\t{message}")),
            }
        }
    }

    /// The row, and the unlabelled findings printed.
    fn row(&self, what: &str) -> (String, String, String) {
        if !self.unlabelled.is_empty() {
            println!("\nFindings without a label (add them to labels.tsv):\n{}", self.unlabelled.join("\n"));
        }
        (
            format!("{what}: not worth acting on ({} labelled, {} not)", self.act + self.noise, self.unlabelled.len()),
            pct(self.noise, self.act + self.noise),
            "≤ 10 %".into(),
        )
    }
}

struct Case {
    id: String,
    project: String,
    title: String,
    file: String,
    lines: Vec<u64>,
    base: Option<String>,
}

fn cases(corpus: &str) -> Vec<Case> {
    let dir = fixtures().join("quality").join(corpus);
    let mut cases: Vec<Case> = std::fs::read_dir(&dir)
        .expect("the corpus")
        .map(|e| e.expect("entry").path())
        .map(|path| {
            let text = std::fs::read_to_string(path.join("case.toml")).expect("case.toml");
            let case: toml::Table = text.parse().expect("case.toml parses");
            let s = |k: &str| case.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let lines = case.get("lines").and_then(|v| v.as_array()).expect("lines");
            Case {
                id: path.file_name().expect("name").to_string_lossy().into_owned(),
                project: s("project").expect("project"),
                title: s("title").expect("title"),
                file: s("file").expect("file"),
                lines: lines.iter().filter_map(|l| l.as_integer()).map(|l| l as u64).collect(),
                base: s("base"),
            }
        })
        .collect();
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    cases
}

/// The model to measure with, when one is named: its base URL and model.
fn model() -> Option<(String, String)> {
    let url = std::env::var("PAIRED_QUALITY_MODEL").ok().filter(|u| !u.is_empty())?;
    let name = std::env::var("PAIRED_QUALITY_MODEL_NAME").unwrap_or_else(|_| "qwen2.5-coder".to_owned());
    Some((url, name))
}

/// What Sherlock is asked when a model reviews a file.
const ASK: &str = "Find the bugs in this file: logic errors, wrong conditions, missing checks, wrong values. \
Report each with the publish_diagnostics tool on the line where it is. Do not report style.";

/// The corpora: the one the rules were written against, and the one held out
/// from them (`make_heldout.py`: picked by a fixed rule, never read first).
const CORPORA: [(&str, &str); 4] = [
    ("cases", "the rules written after reading them"),
    ("heldout", "held out"),
    ("heldout2", "held out, a second set: click, jinja, tqdm"),
    ("heldout3", "held out, a third set: marshmallow, httpie, attrs"),
];

fn detection(rows: &mut Vec<(String, String, String)>) {
    let only = std::env::var("PAIRED_QUALITY_CORPUS").ok();
    for corpus in CORPORA.iter().filter(|(dir, _)| only.as_deref().is_none_or(|o| o == *dir)) {
        detect(rows, *corpus, None);
        if let Some(model) = model() {
            detect(rows, *corpus, Some(model));
        }
    }
}

/// The ruff versions the cases' projects pin, fetched once (from the package
/// index, `sandbox.tool_index`) into the target folder and shared by every
/// run's HOME: the numbers do not wait on the network after the first run.
fn share_fetched_tools(home: &Home) {
    use std::os::unix::fs::DirBuilderExt as _;
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/quality-tools");
    std::fs::create_dir_all(&shared).expect("mkdir shared tools");
    let data = home.path().join(".local/share/paired");
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&data).expect("mkdir data");
    std::os::unix::fs::symlink(&shared, data.join("tools")).expect("link tools");
}

fn detect(rows: &mut Vec<(String, String, String)>, (corpus, about): (&str, &str), model: Option<(String, String)>) {
    let home = Home::new();
    share_fetched_tools(&home);
    if let Some((url, name)) = &model {
        home.write_config(&format!(
            "[agents]\nprovider = \"model\"\n[providers.model]\nkind = \"openai\"\nbase_url = \"{url}\"\nmodel = \"{name}\"\nlocal = true\nread_timeout_secs = 600\nmax_tokens = 1024\n"
        ));
    }
    let limit = std::env::var("PAIRED_QUALITY_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
    let mut cases = cases(corpus);
    cases.truncate(limit);
    let mut labels = Labels::load();
    let started = Instant::now();
    let (mut found, mut total_findings) = (0, 0);
    let mut per_project: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let how = match &model {
        Some((url, name)) => format!("with the model {name} at {url}"),
        None => "offline".to_owned(),
    };
    println!("## Detection: Sherlock {how} on {} real bugs ({about})\n", cases.len());
    for case in &cases {
        let root = home.path().join("cases").join(&case.id);
        if let Some(base) = &case.base {
            copy_tree(&fixtures().join("projects").join(base), &root);
        }
        copy_tree(&fixtures().join("quality").join(corpus).join(&case.id).join("files"), &root);
        let run = review(&home, &root, &case.file, model.is_some());
        let list = findings(&run);
        labels.count(&case.id, &case.file, &list);
        total_findings += list.len();
        let near = |line: u64| case.lines.iter().any(|l| l.abs_diff(line) <= 1);
        let hits: Vec<&(u64, String, String)> = list.iter().filter(|(line, ..)| near(*line)).collect();
        let entry = per_project.entry(case.project.clone()).or_default();
        entry.1 += 1;
        if !hits.is_empty() {
            found += 1;
            entry.0 += 1;
        }
        let verdict = match hits.first() {
            Some((line, rule, _)) => format!("found: line {line} [{rule}]"),
            None => "missed".to_owned(),
        };
        println!("- {} ({}): {} findings, {verdict} — {}", case.id, case.file, list.len(), case.title);
        for (line, rule, message) in &list {
            println!("    {line} [{rule}] {message}");
        }
    }
    let _ = home.paired(&["stop"]).output();
    let target = if model.is_some() { "≥ 50 %" } else { "≥ 20 %" };
    rows.push((
        format!("Sherlock {how}, bugs found on the lines their fix changed ({} real bugs, {about})", cases.len()),
        pct(found, cases.len()),
        target.into(),
    ));
    for (project, (hit, of)) in per_project {
        rows.push((format!("… of which in {project}"), pct(hit, of), String::new()));
    }
    rows.push((
        "findings per buggy file reviewed (mean)".into(),
        format!("{:.1}", total_findings as f64 / cases.len().max(1) as f64),
        String::new(),
    ));
    if model.is_none() && self::model().is_none() {
        let why = "not measured: set PAIRED_QUALITY_MODEL (scripts/dev-model serves one)";
        rows.push(("Sherlock with a model".into(), why.into(), "≥ 50 %".into()));
    }
    if model.is_none() {
        rows.push(labels.row(&format!("findings on the buggy files ({about})")));
    } else if !labels.unlabelled.is_empty() {
        println!("\nThe model's findings have no labels yet: {} of them.", labels.unlabelled.len());
    }
    println!("\n({:.0} s)", started.elapsed().as_secs_f64());
}

/// The files of the vendored projects a developer would have reviewed.
const REVIEWED: [(&str, &[&str]); 5] = [
    ("glob", &["src/lib.rs"]),
    ("itsdangerous", &["itsdangerous.py", "tests.py"]),
    ("semver", &["semver.py", "test_semver.py"]),
    ("destr", &["src/index.ts", "test/index.test.ts"]),
    (
        "uuid",
        &["uuid.go", "hash.go", "marshal.go", "node.go", "sql.go", "time.go", "util.go", "version1.go", "version4.go"],
    ),
];

fn noise(rows: &mut Vec<(String, String, String)>) {
    let mut labels = Labels::load();
    let home = Home::new();
    println!("\n## Noise: every finding on the vendored projects, labelled\n");
    for (project, files) in REVIEWED {
        let root = home.path().join(project);
        copy_tree(&fixtures().join("projects").join(project), &root);
        for file in files {
            let run = review(&home, &root, file, false);
            labels.count(project, file, &findings(&run));
        }
    }
    let _ = home.paired(&["stop"]).output();
    rows.push(labels.row("findings on the vendored projects"));
}

/// The free functions of a file (not methods): what a test is asked for.
fn free_functions(path: &Path, language: Language) -> Vec<(String, u32)> {
    let text = std::fs::read_to_string(path).expect("read");
    let doc = SyntaxDocument::new(language, text);
    symbols::outline(&doc)
        .symbols
        .into_iter()
        .filter(|s| s.kind == symbols::SymbolKind::Function)
        .map(|s| (s.name, s.start.line + 1))
        .collect()
}

/// Applies a run's edits (insertions at a position) to the files on disk.
fn apply(run: &Value) {
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
            (start["line"].as_u64().expect("line") as usize, start["character"].as_u64().expect("col"));
        let mut offset: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        offset += text[offset..].chars().take(character as usize).map(char::len_utf8).sum::<usize>();
        let mut new = text.clone();
        new.insert_str(offset, edit["new_text"].as_str().expect("text"));
        std::fs::write(&path, new).expect("write");
    }
}

/// The project's whole test suite on `root`: the tests that failed (by
/// name), or why it did not run.
fn suite(home: &Home, root: &Path, language: Language) -> Result<Vec<String>, String> {
    use agents::toolchain::{Format, results::test_results};
    let report = home.path().join("suite.xml");
    let _ = std::fs::remove_file(&report);
    let mut command = match language {
        // content-type's mocha, its report as JUnit XML.
        Language::JavaScript => {
            let mut c = Command::new(root.join("node_modules/.bin/mocha"));
            c.args(["--reporter", "xunit", "--reporter-option"])
                .arg(format!("output={}", report.display()))
                .arg("test/");
            c
        }
        Language::TypeScript => {
            let mut c = Command::new(root.join("node_modules/.bin/vitest"));
            c.args(["run", "--reporter=junit", "--outputFile"]).arg(&report);
            c
        }
        Language::Go => {
            let mut c = Command::new("go");
            c.args(["test", "-json", "-count=1", "./..."]).env("GOCACHE", home.path().join("go-cache"));
            c
        }
        Language::Rust => {
            let mut c = Command::new("cargo");
            c.args(["test", "--offline", "--quiet", "--no-fail-fast"])
                .env("CARGO_TARGET_DIR", home.path().join("suite-target"));
            c
        }
        _ => {
            let mut c = Command::new("python3");
            c.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1", "--junitxml"])
                .arg(&report);
            // itsdangerous' own tests are `tests.py`, which pytest collects only by name.
            if root.join("tests.py").exists() {
                c.args([".", "tests.py"]);
            }
            c
        }
    };
    let out = command.current_dir(root).output().expect("run the suite");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let xml = std::fs::read_to_string(&report).ok();
    let format = match language {
        Language::Rust => Format::CargoTest,
        Language::Go => Format::GoTest,
        _ => Format::JUnit,
    };
    let root_text = root.display().to_string();
    let module = std::fs::read_to_string(root.join("go.mod")).ok();
    let module = module.as_deref().and_then(agents::toolchain::go_module);
    let results = test_results(format, &stdout, xml.as_deref(), &root_text, module).ok_or_else(|| {
        format!("the suite did not run: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""))
    })?;
    Ok(results.failures.into_iter().map(|f| f.name).collect())
}

fn edison(rows: &mut Vec<(String, String, String)>) {
    let go_files =
        ["uuid.go", "util.go", "node.go", "time.go", "hash.go", "dce.go", "version1.go", "version4.go", "sql.go"];
    let mut targets: Vec<(&str, &str, Language)> = vec![
        ("glob", "src/lib.rs", Language::Rust),
        ("itsdangerous", "itsdangerous.py", Language::Python),
        ("semver", "semver.py", Language::Python),
    ];
    targets.extend(go_files.iter().map(|f| ("uuid", *f, Language::Go)));
    targets.push(("destr", "src/index.ts", Language::TypeScript));
    targets.push(("content-type", "index.js", Language::JavaScript));
    // `PAIRED_QUALITY_EDISON=uuid,semver`: those projects only (the figure is then theirs).
    if let Ok(only) = std::env::var("PAIRED_QUALITY_EDISON") {
        targets.retain(|(project, _, _)| only.split(',').any(|p| p.trim() == *project));
    }
    let home = Home::new();
    let (mut asked, mut yielded, mut passed_suite, mut broke) = (0, 0, 0, 0);
    println!("\n## Edison: a test for every free function\n");
    let mut baselines: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (project, file, language) in targets {
        let pristine = fixtures().join("projects").join(project);
        let root = home.path().join(project);
        if !root.exists() {
            copy_tree(&pristine, &root);
        }
        // What fails before anything is added (glob's `test_iteration_errors`
        // expects /root to be unreadable, which it is not to root).
        let baseline = baselines.entry(project).or_insert_with(|| {
            let failing = suite(&home, &root, language).unwrap_or_default();
            println!("- {project}: the suite before: {} failing {failing:?}", failing.len());
            failing
        });
        let baseline = baseline.clone();
        for (name, line) in free_functions(&root.join(file), language) {
            asked += 1;
            let out = home
                .paired_with_toolchains(&["agents", "run", "edison", "--skill", "tests", "--file", file, "--line"])
                .arg(line.to_string())
                .arg("--json")
                .current_dir(&root)
                .output()
                .expect("run paired");
            let run: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if run["status"] != "succeeded" || run["edits"].as_array().is_none_or(Vec::is_empty) {
                let why = run["error"].as_str().or(run["output"].as_str()).unwrap_or("no answer");
                println!("- {project} `{name}`: none — {}", why.lines().next().unwrap_or_default());
                continue;
            }
            yielded += 1;
            // Applied to a fresh copy of the project, its whole suite must pass.
            let trial = home.path().join("trial");
            let _ = std::fs::remove_dir_all(&trial);
            copy_tree(&pristine, &trial);
            let rebased: Value = serde_json::from_str(
                &run.to_string().replace(&format!("file://{}", root.display()), &format!("file://{}", trial.display())),
            )
            .expect("json");
            apply(&rebased);
            let after = suite(&home, &trial, language);
            let new_failures: Vec<String> = match &after {
                Ok(failed) => failed.iter().filter(|f| !baseline.contains(f)).cloned().collect(),
                Err(why) => vec![why.clone()],
            };
            if new_failures.is_empty() {
                passed_suite += 1;
            } else {
                broke += 1;
            }
            let verdict = if new_failures.is_empty() {
                "the suite passes as before".to_owned()
            } else {
                format!("BREAKS: {new_failures:?}")
            };
            println!("- {project} `{name}`: test proposed; {verdict}");
        }
    }
    let _ = home.paired(&["stop"]).output();
    rows.push((
        "Edison offline: test requests that yield a verified test (every free function of glob, itsdangerous, semver, uuid, destr, content-type)"
            .into(),
        pct(yielded, asked),
        "≥ 75 %".into(),
    ));
    rows.push((
        "proposed tests that pass with the project's whole suite".into(),
        pct(passed_suite, yielded),
        "100 %".into(),
    ));
    rows.push(("proposed edits that break the build or existing tests".into(), broke.to_string(), "0".into()));
}
