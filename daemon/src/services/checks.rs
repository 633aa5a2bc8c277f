//! The project's own tools, run in the sandbox: which ones the project uses
//! (`agents::toolchain::detect`), each run with the project read-only and a
//! scratch folder of its own (kept per project, so a second review reuses the
//! first one's build), and their output read into findings.

use std::{
    collections::hash_map::DefaultHasher,
    hash::{Hash, Hasher},
    path::{Path, PathBuf},
    time::Duration,
};

use agents::toolchain::{
    self, Purpose, REPORT, Tool, ToolFinding,
    results::{TestFailure, TestResults},
};
use protocol::agents::Severity;

use toolchain::Project as _;

use super::pinned;

mod format;
mod reach;

use crate::platform::{
    config::{SandboxConfig, SandboxRequirement},
    os::sandbox::{self, Enforcement, Exit, Limits, Spec},
    paths::Paths,
};
use reach::{cargo_home, home, toolchain_roots};

/// One tool's run.
#[derive(Debug)]
pub struct ToolRun {
    pub tool: Tool,
    /// What the sandbox held, and how the tool ended; `Err` when it could not start.
    pub ran: Result<(Enforcement, Exit, Duration), String>,
    pub findings: Vec<ToolFinding>,
    /// A test runner's results, when its output could be read.
    pub results: Option<TestResults>,
    /// The end of its stderr, when it failed.
    pub failure: Option<String>,
}

impl ToolRun {
    /// One line: `clippy (Cargo.toml): 3 findings in 4.1 s, sandbox fully enforced`.
    pub fn summary(&self) -> String {
        // A test framework PAIRED runs itself, for a report it reads: every
        // test, whatever the script adds (mocha's `--bail` stopped at the
        // first failure where this counted them all).
        let own_way =
            if self.tool.purpose == Purpose::Test && self.tool.report && self.tool.evidence.contains("scripts.") {
                "; run for a report PAIRED reads, every test, not with the script's options"
            } else {
                ""
            };
        let head = format!("{} ({}{own_way})", self.tool.name, self.tool.evidence);
        match &self.ran {
            Err(err) => format!("{head}: could not run: {err}"),
            Ok((enforcement, exit, took)) => {
                let count = match (&self.results, self.findings.len()) {
                    (Some(results), _) => results.summary(),
                    (None, 1) => "1 finding".to_owned(),
                    (None, n) => format!("{n} findings"),
                };
                let mut line =
                    format!("{head}: {count} in {:.1} s, sandbox {}", took.as_secs_f32(), enforcement.summary());
                if let Some(failure) = &self.failure {
                    line.push_str(&format!("; it failed ({}): {failure}", exit.describe()));
                    // Cargo offline, its dependencies never downloaded here.
                    if failure.contains("offline mode") && failure.contains("no matching package") {
                        line.push_str(" — the sandbox has no network: run `cargo fetch` in the project once");
                    }
                }
                line
            }
        }
    }
}

/// Makes `tool` run the version the project pins (see [`pinned`]) and says
/// so in its evidence; the folder the sandbox must let it read, if any.
async fn the_pinned_version(
    paths: &Paths,
    config: &SandboxConfig,
    root: &Path,
    scratch: &Scratch,
    tool: &mut Tool,
    pin: &toolchain::pins::Pin,
) -> Option<PathBuf> {
    let versions = InSandbox { paths, config, root, scratch };
    let (resolved, installed) = pinned::resolve(paths, config, tool.name, pin, &versions).await;
    // `pyproject.toml mentions ruff; ` — unless that is where the pin is.
    let base = if tool.evidence == pin.evidence { String::new() } else { format!("{}; ", tool.evidence) };
    let (version, pinned_by) = (&pin.version, &pin.evidence);
    match resolved {
        pinned::Resolved::Installed => {
            tool.evidence = format!("{base}{version}, as {pinned_by} pins");
            None
        }
        pinned::Resolved::Fetched { program, folder } => {
            let instead = installed.map(|v| format!(", not the installed {v}")).unwrap_or_default();
            tool.evidence = format!("{base}{version}, as {pinned_by} pins{instead}");
            tool.command[0] = program.display().to_string();
            Some(folder)
        }
        pinned::Resolved::Unavailable(why) => {
            let ran =
                installed.map(|v| format!("the installed {v} ran")).unwrap_or_else(|| "the installed one ran".into());
            tool.evidence = format!("{base}{pinned_by} pins {version}, {ran} ({why})");
            None
        }
    }
}

/// Programs' versions as the sandbox runs them.
struct InSandbox<'a> {
    paths: &'a Paths,
    config: &'a SandboxConfig,
    root: &'a Path,
    scratch: &'a Scratch,
}

impl pinned::Versions for InSandbox<'_> {
    /// `program --version`'s last word (`ruff 0.8.6` → `0.8.6`), run as the
    /// tool itself would be.
    async fn version(&self, program: &str) -> Option<String> {
        let helper = std::env::current_exe().ok()?;
        let command = [program.to_owned(), "--version".to_owned()];
        let mut spec = sandbox_spec(self.paths, self.config, self.root, self.scratch, self.root, &command);
        // A program by its path (a fetched one): its folder is readable too.
        let path = Path::new(program);
        spec.read.extend(path.is_absolute().then(|| path.parent()).flatten().map(Path::to_path_buf));
        spec.limits.wall = spec.limits.wall.min(std::time::Duration::from_secs(20));
        let outcome = sandbox::run(&helper, &spec).await.ok()?;
        let text = String::from_utf8_lossy(&outcome.stdout);
        text.split_whitespace().last().filter(|v| v.starts_with(|c: char| c.is_ascii_digit())).map(str::to_owned)
    }
}

/// What the project at `root` says it uses, of `purpose` (a program in the
/// project's own virtual environment first, and then said).
pub fn detect(root: &Path, purpose: Purpose) -> Vec<Tool> {
    let venv = project_venv(root);
    let mut tools: Vec<Tool> = toolchain::detect(&OnDisk { root, path: project_path(root) })
        .into_iter()
        .filter(|t| t.purpose == purpose)
        .collect();
    for tool in &mut tools {
        let own = venv.as_ref().zip(tool.command.first()).is_some_and(|(v, p)| v.join("bin").join(p).is_file());
        if let (true, Some(venv)) = (own, &venv) {
            let name = venv.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            tool.evidence.push_str(&format!("; the project's {name}"));
        }
    }
    tools
}

/// The tools the project at `root` configures that are not installed for
/// its tools to run, with what configures them.
pub fn missing(root: &Path) -> Vec<(&'static str, String)> {
    toolchain::missing(&OnDisk { root, path: project_path(root) })
}

/// Whether the project at `root` uses any tool PAIRED can run here.
pub fn has_tools(root: &Path) -> bool {
    !toolchain::detect(&OnDisk { root, path: project_path(root) }).is_empty()
}

/// The project's own virtual environment: `.venv` or `venv` at its root, a
/// folder of its own (not a link) with `pyvenv.cfg` and `bin/python` that
/// git ignores — one a developer made, not one a repository ships (whose
/// programs would then run on a review of a single file).
pub(crate) fn project_venv(root: &Path) -> Option<PathBuf> {
    [".venv", "venv"].into_iter().map(|name| root.join(name)).find(|venv| {
        std::fs::symlink_metadata(venv).is_ok_and(|m| m.is_dir())
            && venv.join("pyvenv.cfg").is_file()
            && venv.join("bin/python").exists()
            && ignored_by_git(root, venv)
    })
}

/// Whether git would ignore the folder `dir` of the project at `root`: its
/// own `.gitignore` of `*` (uv's, Python 3.13's venv) or the project's.
fn ignored_by_git(root: &Path, dir: &Path) -> bool {
    let own = dir.join(".gitignore");
    if std::fs::symlink_metadata(&own).is_ok_and(|m| m.is_file() && m.len() < 4096)
        && std::fs::read_to_string(&own).is_ok_and(|t| t.lines().any(|l| l.trim() == "*"))
    {
        return true;
    }
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
    if builder.add(root.join(".gitignore")).is_some() {
        return false;
    }
    builder.build().is_ok_and(|ignore| ignore.matched(dir, true).is_ignore())
}

/// What the project's environment's interpreter needs read: the prefix its
/// `bin/python` resolves to (uv's, conda's, pyenv's Pythons live outside the
/// roots), when it is a Python installation (`lib/python3.*/os.py`) and
/// neither the home folder nor a folder above it.
fn venv_interpreter(venv: &Path) -> Option<PathBuf> {
    let python = std::fs::canonicalize(venv.join("bin/python")).ok()?;
    let prefix = python.parent()?.parent()?.to_path_buf();
    let home = home();
    if home.as_deref().is_some_and(|h| h.starts_with(&prefix)) || prefix.parent().is_none() {
        return None;
    }
    let lib = std::fs::read_dir(prefix.join("lib")).ok()?;
    let stdlib = lib
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("python3") && e.path().join("os.py").is_file());
    stdlib.then_some(prefix)
}

/// The tools' `PATH` for the project at `root`: its virtual environment's
/// programs first (its pytest, with its plugins), then the daemon's.
pub(crate) fn project_path(root: &Path) -> String {
    let Some(venv) = project_venv(root) else { return tool_path() };
    let dirs = std::iter::once(venv.join("bin")).chain(std::env::split_paths(&tool_path()).collect::<Vec<_>>());
    std::env::join_paths(dirs).map_or_else(|_| tool_path(), |p| p.to_string_lossy().into_owned())
}

/// Runs the project's checkers (linters, type checkers) in the sandbox.
pub async fn run_checks(paths: &Paths, config: &SandboxConfig, root: &Path) -> Vec<ToolRun> {
    let mut runs = Vec::new();
    for tool in detect(root, Purpose::Check) {
        runs.push(run_tool(paths, config, root, tool).await);
    }
    runs
}

/// Runs the project's tests in the sandbox: their failures are findings.
pub async fn run_tests(paths: &Paths, config: &SandboxConfig, root: &Path) -> Vec<ToolRun> {
    let mut runs = Vec::new();
    for tool in detect(root, Purpose::Test) {
        runs.push(run_tool(paths, config, root, tool).await);
    }
    runs
}

/// Runs one tool of the project at `root` in the sandbox.
pub async fn run_tool(paths: &Paths, config: &SandboxConfig, root: &Path, tool: Tool) -> ToolRun {
    run_tool_in(paths, config, root, tool, None).await
}

/// As [`run_tool`], in `copy` when given: a copy of the project at `root`
/// that the caller made (and may have changed) where no other sandbox
/// writes; it is writable to this run and kept when the tool ends.
pub(crate) async fn run_tool_in(
    paths: &Paths,
    config: &SandboxConfig,
    root: &Path,
    mut tool: Tool,
    copy: Option<&Path>,
) -> ToolRun {
    let failed =
        |tool: Tool, err: String| ToolRun { tool, ran: Err(err), findings: Vec::new(), results: None, failure: None };
    let helper = match std::env::current_exe() {
        Ok(helper) => helper,
        Err(err) => return failed(tool, format!("cannot find the paired binary for the sandbox: {err}")),
    };
    let scratch = match Scratch::for_project(paths, root) {
        Ok(scratch) => scratch,
        Err(err) => return failed(tool, format!("cannot make a scratch folder: {err}")),
    };
    // Tests run on a copy of the project of their own: test suites write
    // (coverage, caches, snapshots), and the project is read-only to them.
    // So do cargo's checks of a crate that commits no `Cargo.lock` (a
    // library's): cargo writes one first, and the project is read-only.
    let lockless = root.join("Cargo.toml").is_file() && !root.join("Cargo.lock").exists();
    let work = match (copy, tool.purpose) {
        (Some(copy), _) => copy.to_path_buf(),
        (None, Purpose::Check) if !lockless => root.to_path_buf(),
        (None, Purpose::Check | Purpose::Test) => match fresh_copy(root, &scratch).await {
            Ok(work) => work,
            Err(err) => return failed(tool, err),
        },
    };
    // A temporary folder of this run's own (another run of the project's
    // tools may be using the scratch space), with the report file the tool
    // writes, read (as a regular file of a sensible size, never through a
    // link) after it ends.
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = scratch.tmp().join(format!("run-{}-{n}", std::process::id()));
    if let Err(err) = std::fs::create_dir_all(&tmp) {
        return failed(tool, format!("cannot make a temporary folder: {err}"));
    }
    let report = tmp.join(format!("report-{}", tool.name.replace(' ', "-")));
    let pinned = match tool.pin.clone() {
        Some(pin) => the_pinned_version(paths, config, root, &scratch, &mut tool, &pin).await,
        None => None,
    };
    let command: Vec<String> = tool.command.iter().map(|a| a.replace(REPORT, &report.display().to_string())).collect();
    let mut spec = sandbox_spec(paths, config, root, &scratch, &work, &command);
    spec.read.extend(pinned);
    for (key, value) in &mut spec.env {
        if key == "TMPDIR" {
            *value = tmp.display().to_string();
        }
    }
    // A copy made for this run is its to write (it lies outside the scratch space).
    spec.write.extend(copy.map(Path::to_path_buf));
    if tool.framework == Some("pytest") {
        // The copy's package first (a `src/` layout's there), before an
        // editable install of the project itself in its environment.
        let package = if work.join("src").is_dir() { work.join("src") } else { work.clone() };
        spec.env.push(("PYTHONPATH".into(), package.display().to_string()));
    }
    let outcome = sandbox::run(&helper, &spec).await;
    let report = tool.report.then(|| read_untrusted(&report, 64 << 20)).flatten();
    let _ = std::fs::remove_dir_all(&tmp);
    if work != root && copy.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(err) => return failed(tool, format!("the sandbox did not start: {err}")),
    };
    let (stdout, stderr) = (String::from_utf8_lossy(&outcome.stdout), String::from_utf8_lossy(&outcome.stderr));
    let root_text = work.to_string_lossy().replace('\\', "/");
    let mut findings = toolchain::parse::findings(tool.name, tool.format, &stdout, &stderr, &root_text);
    // Read where the tool ran: a changed copy's lines are not the project's.
    let source = copy.unwrap_or(root);
    findings.retain(|f| !toolchain::intended(f, &|path| OnDisk { root: source, path: String::new() }.read(path)));
    if tool.format == toolchain::Format::Prettier {
        let place = format::Place { paths, config, root, scratch: &scratch, work: &work };
        format::prettier_fixes(&helper, &place, &mut findings).await;
    }
    let results = (tool.purpose == Purpose::Test)
        .then(|| {
            let module = OnDisk { root: source, path: String::new() }.read("go.mod");
            let module = module.as_deref().and_then(toolchain::go_module);
            toolchain::results::test_results(tool.format, &stdout, report.as_deref(), &root_text, module)
        })
        .flatten();
    if let Some(results) = &results {
        findings.extend(results.failures.iter().filter_map(|f| failing_test(tool.name, f)));
    }
    // A tool that found nothing and did not end well did not check (or its
    // tests did not run): say why.
    let failure = (!outcome.success() && findings.is_empty() && results.as_ref().is_none_or(|r| r.failed == 0))
        .then(|| tail(&stderr, &stdout));
    tool.command = command;
    ToolRun { tool, ran: Ok((outcome.enforcement, outcome.exit, outcome.elapsed)), findings, results, failure }
}

/// A fresh copy of the project in its scratch folder, one per run (two
/// reviews at once do not share one).
async fn fresh_copy(root: &Path, scratch: &Scratch) -> Result<PathBuf, String> {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let work = scratch.dir.join(format!("tests-{}-{n}", std::process::id()));
    let copied = tokio::task::spawn_blocking({
        let (root, work) = (root.to_path_buf(), work.clone());
        move || copy_project(&root, &work)
    })
    .await;
    match copied {
        Ok(Ok(())) => Ok(work),
        Ok(Err(err)) => Err(format!("the project could not be copied to run its tests: {err}")),
        Err(err) => Err(format!("the copy stopped: {err}")),
    }
}

/// A failing test as a finding at the place it failed.
fn failing_test(tool: &'static str, failure: &TestFailure) -> Option<ToolFinding> {
    let (path, line) = failure.place.clone()?;
    let said = failure.message.lines().next().unwrap_or("it failed");
    Some(ToolFinding {
        tool,
        rule: format!("{}:failing-test", tool.replace(' ', "-")),
        severity: Severity::Error,
        message: format!("`{}` fails: {said}", failure.name),
        path,
        line,
        column: 1,
        end: None,
        fix: None,
    })
}

/// A file a sandboxed program wrote: opened without following a link, a
/// regular file of this user's (not `/dev/zero`, not a FIFO), at most `limit` bytes.
fn read_untrusted(path: &Path, limit: u64) -> Option<String> {
    let file = crate::platform::os::open_private(path, std::fs::OpenOptions::new().read(true)).ok()?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut bytes).ok()?;
    (bytes.len() as u64 <= limit).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// The last few lines a failed tool printed.
fn tail(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() { stdout } else { stderr };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(4)..].join(" / ");
    if tail.chars().count() > 400 { format!("{}…", tail.chars().take(400).collect::<String>()) } else { tail }
}

/// A project's scratch folder: `home`, `tmp` and build output, kept between
/// runs under the daemon's state folder.
pub(crate) struct Scratch {
    pub(crate) dir: PathBuf,
}

impl Scratch {
    pub(crate) fn for_project(paths: &Paths, root: &Path) -> std::io::Result<Scratch> {
        let mut hasher = DefaultHasher::new();
        root.hash(&mut hasher);
        let name = root.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        // In the data folder: never under the runtime folder (its fallback is
        // the state folder), which the sandbox hides.
        let dir = paths.data_dir.join("checks").join(format!("{name}-{:016x}", hasher.finish()));
        // What ran here before may have left links in place of these
        // folders (to the user's home): the daemon follows none of them.
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(&dir)?;
        }
        for sub in ["home", "tmp", "target", "cargo-home"] {
            let path = dir.join(sub);
            if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
                std::fs::remove_file(&path)?;
            }
            std::fs::create_dir_all(path)?;
        }
        // Cargo's home: the user's registry and git checkouts (linked, and
        // readable in the sandbox) and a copy of their config (the sandbox
        // reads nothing else of ~/.cargo), never their credentials.
        if let Some(cargo_home) = cargo_home() {
            for shared in ["registry", "git"] {
                let (from, to) = (cargo_home.join(shared), dir.join("cargo-home").join(shared));
                if from.exists() && std::fs::symlink_metadata(&to).is_err() {
                    let _ = crate::platform::os::symlink(&from, &to);
                }
            }
            for config in ["config.toml", "config"] {
                let (from, to) = (cargo_home.join(config), dir.join("cargo-home").join(config));
                // Replaced each time: not through a link the sandbox left there.
                let _ = std::fs::remove_file(&to);
                if std::fs::symlink_metadata(&from).is_ok_and(|m| m.is_file() && m.len() <= 1 << 20)
                    && let Ok(text) = std::fs::read(&from)
                {
                    // O_EXCL: a link planted since the removal is not followed.
                    let created = std::fs::OpenOptions::new().write(true).create_new(true).open(&to);
                    if let Ok(mut file) = created {
                        let _ = std::io::Write::write_all(&mut file, &text);
                    }
                }
            }
        }
        Ok(Scratch { dir })
    }

    pub(crate) fn tmp(&self) -> PathBuf {
        self.dir.join("tmp")
    }
}

/// The `PATH` the tools get: the daemon's own.
pub(crate) fn tool_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned())
}

/// What a sandboxed program must not see even where it may read: the
/// folders that hold the sockets of this user's and the system's services
/// (the daemon's own, the session bus — `systemd-run` would start anything
/// unconfined —, ssh and gpg agents, docker, X11) and the daemon's config.
/// Never a folder that holds the project or the scratch space.
fn hidden(paths: &Paths, scratch: &Path, root: &Path) -> Vec<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let mut hide: Vec<PathBuf> =
        [paths.runtime_dir.clone(), paths.config_dir.clone()].into_iter().chain(runtime).collect();
    hide.extend(["/run", "/var/run", "/tmp", "/var/tmp", "/dev/shm"].map(PathBuf::from));
    hide.retain(|d| !scratch.starts_with(d) && !root.starts_with(d));
    hide.retain(|d| std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir()));
    hide
}

/// The sandbox for `command` run in `cwd` on the project at `root`: the
/// project and toolchains read-only, the project's scratch folder writable.
pub(crate) fn sandbox_spec(
    paths: &Paths,
    config: &SandboxConfig,
    root: &Path,
    scratch: &Scratch,
    cwd: &Path,
    command: &[String],
) -> Spec {
    let s = |p: &Path| p.display().to_string();
    let dir = &scratch.dir;
    let mut env = vec![
        ("PATH".to_owned(), project_path(root)),
        ("HOME".to_owned(), s(&dir.join("home"))),
        ("TMPDIR".to_owned(), s(&scratch.tmp())),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("TERM".to_owned(), "dumb".to_owned()),
        ("NO_COLOR".to_owned(), "1".to_owned()),
        ("CI".to_owned(), "1".to_owned()),
        ("CARGO_TARGET_DIR".to_owned(), s(&dir.join("target"))),
        ("CARGO_HOME".to_owned(), s(&dir.join("cargo-home"))),
        ("CARGO_TERM_COLOR".to_owned(), "never".to_owned()),
        ("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned()),
        ("RUFF_CACHE_DIR".to_owned(), s(&dir.join("tmp/ruff"))),
        ("MYPY_CACHE_DIR".to_owned(), s(&dir.join("tmp/mypy"))),
        ("GOCACHE".to_owned(), s(&dir.join("target/go"))),
        ("GOFLAGS".to_owned(), "-mod=readonly".to_owned()),
        ("GOTOOLCHAIN".to_owned(), "local".to_owned()),
        ("npm_config_cache".to_owned(), s(&dir.join("tmp/npm"))),
        ("npm_config_update_notifier".to_owned(), "false".to_owned()),
    ];
    // Which toolchain: what the user chose, kept; the project's own
    // virtual environment over the daemon's.
    let venv = project_venv(root);
    for key in ["RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV", "GOROOT", "GOMODCACHE"]
    {
        if let Ok(value) = std::env::var(key)
            && !(key == "VIRTUAL_ENV" && venv.is_some())
        {
            env.push((key.to_owned(), value));
        }
    }
    env.extend(venv.map(|v| ("VIRTUAL_ENV".to_owned(), s(&v))));
    if std::env::var_os("RUSTUP_HOME").is_none()
        && let Some(rustup) = home().map(|h| h.join(".rustup")).filter(|p| p.exists())
    {
        env.push(("RUSTUP_HOME".to_owned(), s(&rustup)));
    }
    let mut read = sandbox::system_read_paths();
    read.extend(toolchain_roots());
    read.extend(project_venv(root).as_deref().and_then(venv_interpreter));
    read.push(root.to_path_buf());
    let mb = |n: u32| u64::from(n) << 20;
    Spec {
        program: command[0].clone(),
        args: command[1..].to_vec(),
        cwd: cwd.to_path_buf(),
        env,
        read,
        write: vec![dir.clone()],
        network: false,
        // The daemon's socket and configuration; never a folder that holds
        // the scratch space or the project (the runtime folder falls back to
        // the state folder where there is no XDG_RUNTIME_DIR).
        hide: hidden(paths, dir, root),
        require_full: config.require == SandboxRequirement::Full
            || crate::services::market::policy::sandbox_must_be_full(),
        seen_as: None,
        limits: Limits {
            cpu_secs: u64::from(config.timeout_secs),
            memory_bytes: mb(config.memory_mb),
            processes: u64::from(config.processes),
            file_bytes: mb(config.disk_mb),
            disk_bytes: mb(config.disk_mb),
            output_bytes: 16 << 20,
            wall: Duration::from_secs(u64::from(config.timeout_secs)),
        },
    }
}

/// Projects larger than this are not copied for a test run.
const MAX_COPY_BYTES: u64 = 256 << 20;

/// What a build generates that git is told to ignore but code imports:
/// copied with the project (at most 1 MiB each).
const GENERATED_SOURCES: [&str; 2] = ["py", "pyi"];

/// Installed dependencies, which [`copy_project`] links into a copy: the
/// user's own, never written through.
pub(crate) const LINKED: [&str; 3] = ["node_modules", ".venv", "venv"];

/// Copies the project into `to` (emptied first): what git would track, and
/// `node_modules` and virtual environments linked rather than copied.
pub(crate) fn copy_project(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::create_dir_all(to)?;
    let mut total = 0u64;
    let mut copied_dirs = vec![PathBuf::new()];
    let walker = ignore::WalkBuilder::new(from)
        .hidden(false)
        .git_ignore(true)
        .require_git(false)
        // Installed dependencies are linked below, not copied.
        .filter_entry(|entry| entry.depth() != 1 || !LINKED.iter().any(|l| entry.file_name() == *l))
        .build();
    for entry in walker.filter_map(Result::ok) {
        let Ok(rel) = entry.path().strip_prefix(from) else { continue };
        if rel.as_os_str().is_empty() || rel.starts_with(".git") {
            continue;
        }
        let target: PathBuf = to.join(rel);
        let kind = entry.file_type();
        if kind.is_some_and(|k| k.is_dir()) {
            std::fs::create_dir_all(&target)?;
            copied_dirs.push(rel.to_path_buf());
        } else if kind.is_some_and(|k| k.is_file()) {
            total += entry.metadata().map(|m| m.len()).unwrap_or(0);
            if total > MAX_COPY_BYTES {
                return Err(std::io::Error::other(format!("the project is larger than {} MiB", MAX_COPY_BYTES >> 20)));
            }
            std::fs::copy(entry.path(), &target)?;
        }
    }
    // Source files git ignores in the folders copied: what a build made
    // (hatch-vcs's and setuptools-scm's `_version.py`), which imports need.
    for dir in &copied_dirs {
        let Ok(entries) = std::fs::read_dir(from.join(dir)) else { continue };
        for entry in entries.flatten() {
            let (source, target) = (entry.path(), to.join(dir).join(entry.file_name()));
            let generated = source.extension().is_some_and(|e| GENERATED_SOURCES.iter().any(|g| e == *g));
            let Ok(meta) = std::fs::symlink_metadata(&source) else { continue };
            if generated && meta.is_file() && meta.len() <= 1 << 20 && std::fs::symlink_metadata(&target).is_err() {
                total += meta.len();
                if total > MAX_COPY_BYTES {
                    return Err(std::io::Error::other(format!(
                        "the project is larger than {} MiB",
                        MAX_COPY_BYTES >> 20
                    )));
                }
                std::fs::copy(&source, &target)?;
            }
        }
    }
    for linked in LINKED {
        let (source, target) = (from.join(linked), to.join(linked));
        if !source.is_dir() || std::fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        if linked != "node_modules" {
            let _ = crate::platform::os::symlink(&source, &target);
            continue;
        }
        // A folder of the copy's own whose packages are the user's: tools
        // write their caches in it (vite bundles its config into
        // `node_modules/.vite-temp`), never through to the user's.
        std::fs::create_dir_all(&target)?;
        for entry in std::fs::read_dir(&source)?.flatten() {
            if !NODE_CACHES.iter().any(|cache| entry.file_name() == *cache) {
                let _ = crate::platform::os::symlink(&entry.path(), &target.join(entry.file_name()));
            }
        }
    }
    Ok(())
}

/// What tools write into `node_modules` (vite's bundled config, vitest's
/// results): made afresh in a copy, never linked to the user's.
const NODE_CACHES: [&str; 5] = [".vite", ".vite-temp", ".vitest", ".cache", ".tmp"];

/// The project as the detection sees it.
struct OnDisk<'a> {
    root: &'a Path,
    path: String,
}

impl toolchain::Project for OnDisk<'_> {
    fn has(&self, path: &str) -> bool {
        std::fs::symlink_metadata(self.root.join(path)).is_ok()
    }

    fn read(&self, path: &str) -> Option<String> {
        let path = self.root.join(path);
        let meta = std::fs::metadata(&path).ok()?;
        (meta.is_file() && meta.len() <= 1 << 20).then(|| std::fs::read_to_string(path).ok()).flatten()
    }

    fn installed(&self, program: &str) -> bool {
        std::env::split_paths(&self.path).any(|dir| dir.join(program).is_file())
    }
}

/// A tool's finding in protocol terms: the file's URI, an LSP range (its
/// character columns counted again in UTF-16 from the file), the fix's edits.
pub fn to_protocol(root: &Path, found: &ToolFinding) -> protocol::agents::Finding {
    use protocol::{
        agents::{Finding, Fix, TextEdit},
        documents::{Position, Range},
    };
    // What a tool printed is not trusted: a regular file of the workspace,
    // not a link (`x -> /dev/zero`), of a sensible size, or no columns.
    let file = root.join(&found.path);
    let readable = std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file() && m.len() <= 8 << 20);
    let text = if readable { std::fs::read_to_string(&file).unwrap_or_default() } else { String::new() };
    let position = |(line, column): (u32, u32)| {
        let row = line.saturating_sub(1);
        let chars = column.saturating_sub(1) as usize;
        let units = text.lines().nth(row as usize).map_or(chars, |l| l.chars().take(chars).map(char::len_utf16).sum());
        Position { line: row, character: u32::try_from(units).unwrap_or(u32::MAX) }
    };
    let start = position((found.line, found.column));
    let end = found.end.map_or(Position { line: start.line + 1, character: 0 }, position);
    let uri = crate::platform::uri::from_path(&root.join(&found.path));
    let fix = found.fix.as_ref().map(|fix| Fix {
        title: fix.title.clone(),
        edits: fix
            .edits
            .iter()
            .map(|e| TextEdit {
                uri: crate::platform::uri::from_path(&root.join(&e.path)),
                range: Range { start: position(e.start), end: position(e.end) },
                new_text: e.new_text.clone(),
            })
            .collect(),
    });
    Finding {
        rule: found.rule.clone(),
        severity: found.severity,
        message: format!("{} ({})", found.message, found.tool),
        uri: Some(uri),
        line: found.line,
        range: Range { start, end },
        fix,
    }
}

/// The tools' findings and an agent's own, one list: an own finding on the
/// same line as a tool's about the same thing (a word of their rule ids in
/// common: `rust-unwrap` and `clippy::unwrap_used`; or the same check under
/// two names: `bare-except` and `ruff:E722`) is dropped for the
/// tool's, which is the project's own word and often carries a fix. Ranked
/// by severity, then place.
pub fn merge(
    own: Vec<protocol::agents::Finding>,
    tools: Vec<protocol::agents::Finding>,
) -> Vec<protocol::agents::Finding> {
    let words = |rule: &str| -> Vec<String> {
        const TOOL_WORDS: [&str; 9] = ["rust", "rustc", "clippy", "ruff", "py", "python", "js", "eslint", "mypy"];
        rule.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.len() > 2 && !TOOL_WORDS.contains(w))
            .map(str::to_ascii_lowercase)
            .collect()
    };
    let mut tools = tools;
    let mut merged: Vec<protocol::agents::Finding> = Vec::new();
    for mine in own {
        let same = tools.iter().position(|t| {
            t.uri == mine.uri
                && t.line == mine.line
                && (words(&t.rule).iter().any(|w| words(&mine.rule).contains(w))
                    || agents::skills::review::same_as_tool(&mine.rule, &t.rule))
        });
        match same {
            // The tool's word, with the agent's quick fix where the tool has none.
            Some(i) => {
                if tools[i].fix.is_none() {
                    tools[i].fix = mine.fix;
                }
            }
            None => merged.push(mine),
        }
    }
    merged.extend(tools);
    merged.sort_by(|a, b| (a.severity, &a.uri, a.line).cmp(&(b.severity, &b.uri, b.line)));
    merged
}

#[cfg(test)]
mod tests {

    /// A developer's environment is the project's; one a repository ships
    /// (tracked by git) is not, nor a link.
    #[test]
    fn only_an_environment_git_ignores_is_the_projects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join(".venv/bin")).expect("mkdir");
        std::fs::write(root.join(".venv/pyvenv.cfg"), "home = /usr/bin\n").expect("write");
        std::fs::write(root.join(".venv/bin/python"), "").expect("write");
        assert_eq!(super::project_venv(root), None, "shipped: not ignored");
        std::fs::write(root.join(".gitignore"), "__pycache__/\n.venv/\n").expect("write");
        assert_eq!(super::project_venv(root), Some(root.join(".venv")), "the project's .gitignore");
        std::fs::write(root.join(".gitignore"), "").expect("write");
        std::fs::write(root.join(".venv/.gitignore"), "# created by uv\n*\n").expect("write");
        assert_eq!(super::project_venv(root), Some(root.join(".venv")), "its own .gitignore");
        assert!(super::project_path(root).starts_with(&root.join(".venv/bin").display().to_string()));
        let other = tempfile::tempdir().expect("tempdir");
        std::fs::rename(root.join(".venv"), other.path().join("venv")).expect("move");
        crate::platform::os::symlink(&other.path().join("venv"), &root.join(".venv")).expect("link");
        assert_eq!(super::project_venv(root), None, "a link is not the project's own");
    }
    /// A copy's `node_modules` is a folder of its own whose packages are
    /// links to the user's: vite's bundled config goes in the copy, and a
    /// copy of a copy (an edit's trial) has the same packages.
    #[test]
    fn a_copys_node_modules_links_the_packages_and_keeps_its_caches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let project = dir.path().join("project");
        std::fs::create_dir_all(project.join("node_modules/vitest")).expect("mkdir");
        std::fs::create_dir_all(project.join("node_modules/.vite/vitest")).expect("mkdir");
        std::fs::write(project.join("node_modules/vitest/package.json"), "{}").expect("write");
        std::fs::write(project.join("index.ts"), "export {};\n").expect("write");
        let copy = dir.path().join("copy");
        super::copy_project(&project, &copy).expect("copy");
        let modules = std::fs::symlink_metadata(copy.join("node_modules")).expect("node_modules");
        assert!(modules.is_dir(), "a folder, not a link to the user's");
        assert!(std::fs::symlink_metadata(copy.join("node_modules/vitest")).expect("vitest").is_symlink());
        assert!(copy.join("node_modules/vitest/package.json").is_file(), "the package reads through");
        assert!(!copy.join("node_modules/.vite").exists(), "the user's caches are not the copy's");
        std::fs::create_dir(copy.join("node_modules/.vite-temp")).expect("a cache of the copy's own");
        assert!(!project.join("node_modules/.vite-temp").exists());
        let again = dir.path().join("again");
        super::copy_project(&copy, &again).expect("copy of the copy");
        assert!(again.join("node_modules/vitest/package.json").is_file());
        assert!(!again.join("node_modules/.vite-temp").exists());
    }

    use protocol::{
        agents::{Finding, Severity},
        documents::{Position, Range},
    };

    use super::merge;

    fn finding(rule: &str, line: u32) -> Finding {
        let at = Position { line: line - 1, character: 0 };
        Finding {
            rule: rule.into(),
            severity: Severity::Warning,
            message: rule.into(),
            uri: Some("file:///p/a.py".into()),
            line,
            range: Range { start: at, end: at },
            fix: None,
        }
    }

    /// One check said twice (Sherlock's name and the tool's) is said once, in
    /// the tool's words; a different check on the same line stays.
    #[test]
    fn the_same_check_under_two_names_is_one_finding() {
        let fix = protocol::agents::Fix { title: "Catch `Exception` instead".into(), edits: Vec::new() };
        let own = vec![
            Finding { fix: Some(fix.clone()), ..finding("bare-except", 3) },
            finding("swallowed-error", 3),
            finding("bare-except", 9),
        ];
        let tools = vec![finding("ruff:E722", 3), finding("clippy::unwrap_used", 5)];
        let merged = merge(own, tools);
        assert_eq!(merged[1].fix.as_ref(), Some(&fix), "the tool's finding takes the agent's quick fix");
        let merged: Vec<(String, u32)> = merged.into_iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(
            merged,
            [("swallowed-error", 3), ("ruff:E722", 3), ("clippy::unwrap_used", 5), ("bare-except", 9)]
                .map(|(rule, line)| (rule.to_owned(), line))
        );
    }
}
