//! A scratch copy of the project to try tests on, and how a command runs
//! there: in the sandbox, and (the probe's second run) as another user.

use std::path::{Path, PathBuf};

use agents::skills::testgen::{self, Target};
use context::Language;

use super::{
    Placed, go_package, js,
    output::{self, last_lines},
};
use crate::{
    platform::{config::SandboxConfig, os::sandbox, paths::Paths},
    services::checks::{self, Scratch},
};

/// The user id Edison's second probe runs as ([`Trial::run_as`]).
const ELSEWHERE_UID: u32 = 4242;

/// What each call of a probe returned, and whether it printed (a Python
/// doctest would show that too).
pub(super) type Probed = (Vec<testgen::Observed>, Vec<bool>);

/// A scratch copy of the project and how to run a command on it in the sandbox.
pub(super) struct Trial<'a> {
    paths: &'a Paths,
    config: &'a SandboxConfig,
    pub(super) root: &'a Path,
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
    pub(super) async fn new(
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
    pub(super) async fn copy(&self) -> Result<(), String> {
        self.copy_to(self.work.clone()).await
    }

    /// A fresh copy of the project at `work` (the trial's, or the probe's
    /// second run's elsewhere).
    async fn copy_to(&self, work: PathBuf) -> Result<(), String> {
        let copied = tokio::task::spawn_blocking({
            let root = self.root.to_path_buf();
            move || checks::copy_project(&root, &work)
        })
        .await;
        match copied {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(format!("the project could not be copied to try the test: {err}")),
            Err(err) => Err(format!("the copy stopped: {err}")),
        }
    }

    pub(super) fn write(&self, rel: &str, text: &str) -> Result<(), String> {
        write_in(&self.work, rel, text)
    }

    pub(super) async fn run(&self, command: Vec<String>) -> Result<sandbox::Outcome, String> {
        self.run_in(&self.work, command, false).await
    }

    /// [`Trial::run`] in the copy at `work`, and (`elsewhere`) as another
    /// user would: another user and group id, another home, another time
    /// zone (Nepal's, a quarter-hour off).
    async fn run_in(&self, work: &Path, command: Vec<String>, elsewhere: bool) -> Result<sandbox::Outcome, String> {
        let mut spec = checks::sandbox_spec(self.paths, self.config, self.root, &self.scratch, work, &command);
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
    pub(super) async fn formatted(&self, plan: &js::Plan, placed: Placed) -> Placed {
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
    pub(super) async fn formatter_on(&self, command: Vec<String>, placed: &Placed) -> Option<String> {
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
    pub(super) async fn probe_js(
        &self,
        target: &Target,
        plan: &js::Plan,
        rel: &str,
        source: &str,
    ) -> Result<Probed, String> {
        let probe = plan.probe_file();
        self.write(&probe, &testgen::ts_probe(target, &plan.style))?;
        // Through an exported function: the module marked where the private
        // function starts, so that the probe sees which calls reach it.
        if let Some(through) = &target.through {
            let marked = through
                .marked(source, target.language != Language::JavaScript)
                .ok_or_else(|| format!("`{}`'s body could not be found to see which calls reach it", through.name))?;
            self.write(rel, &marked)?;
        }
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
        let mut seen = output::outside(testgen::observed(target, &stdout), &self.work.display().to_string());
        if let Some(through) = &target.through {
            let reached = testgen::reached(target, &stdout);
            if !reached.contains(&true) {
                return Err(format!(
                    "`{}` is not exported, and none of the inputs Edison found for `{}`, through which it runs, \
                     reaches it: choosing one that does takes a model",
                    through.name, target.name
                ));
            }
            for (observed, reached) in seen.iter_mut().zip(reached) {
                if !reached {
                    *observed = testgen::Observed::Opaque;
                }
            }
        }
        if output::unreachable(&seen) {
            return Err(format!(
                "`{}` could not be called the way its tests reach it (every call failed: \"is not a function\")",
                target.name
            ));
        }
        Ok((seen, vec![false; target.calls.len()]))
    }

    /// Calls the function on the copy and reads what it did: twice, the
    /// second time on another copy in another folder, as another user
    /// ([`Trial::run_in`]), so that a value of the machine's, the process's,
    /// the folder's or the clock's is not pinned. The second run counts only
    /// where it ran to its end.
    pub(super) async fn probe(
        &self,
        target: &Target,
        runner: &[String],
        rel: &str,
        source: &str,
    ) -> Result<Probed, String> {
        let (probe, text, command) = match target.language {
            Language::Rust => {
                let mut command = runner.to_vec();
                command.extend(["paired_probe".into(), "--".into(), "--nocapture".into(), "--test-threads=1".into()]);
                (rel.to_owned(), source.to_owned() + &testgen::rust_probe(target), command)
            }
            Language::Go => {
                let dir = rel.rsplit_once('/').map_or("", |(dir, _)| dir);
                let probe = if dir.is_empty() {
                    "paired_probe_test.go".to_owned()
                } else {
                    format!("{dir}/paired_probe_test.go")
                };
                let mut command = runner.to_vec();
                command.extend(["-run".into(), "^TestPairedProbe$".into(), go_package(rel)]);
                (probe, testgen::go_probe(target), command)
            }
            _ => {
                // The Python the tests will run with: a probe by another (the
                // environment's, without pytest) sees other packages.
                let python = runner.first().cloned().unwrap_or_else(|| "python3".into());
                (".paired_probe.py".to_owned(), testgen::python_probe(target), vec![python, ".paired_probe.py".into()])
            }
        };
        self.write(&probe, &text)?;
        let outcome = self.run(command.clone()).await;
        let elsewhere = match &outcome {
            Ok(first) if String::from_utf8_lossy(&first.stdout).contains(testgen::MARK) => {
                let other = self.scratch.dir.join("elsewhere");
                let second = match self.copy_to(other.clone()).await.and_then(|()| write_in(&other, &probe, &text)) {
                    Ok(()) => self.run_in(&other, command, true).await.ok().filter(sandbox::Outcome::success),
                    Err(_) => None,
                };
                let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(other)).await;
                second
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
        // A second run that did not run to its end (it could not start as
        // another user, it timed out) leaves the first's values as they were.
        let seen = match elsewhere.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()) {
            Some(second) if second.contains(testgen::MARK) => testgen::observed_twice(target, &stdout, &second),
            _ => testgen::observed(target, &stdout),
        };
        Ok((seen, testgen::printed(target, &stdout)))
    }
}

/// Writes `text` at `rel` in the copy at `work`.
fn write_in(work: &Path, rel: &str, text: &str) -> Result<(), String> {
    let path = work.join(rel);
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&path, text).map_err(|err| format!("the copy could not be written: {err}"))
}
