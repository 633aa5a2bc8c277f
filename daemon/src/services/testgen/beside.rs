//! Edison's tests beside the project's others, before they are proposed:
//! Go's whole package; JavaScript's and Python's run with the tests they
//! share a process with. A new test that depends on state another leaves,
//! or leaves state that breaks another, is not proposed.

use std::path::Path;

use agents::skills::testgen::{self, Target};

use super::{Failed, Trial, go_package, output::last_lines, output::number_before};
use crate::platform::os::sandbox;

/// The package's whole suite with the new tests: each of them passes, and
/// every other test that fails failed without them too. Anything else — a
/// run that failed with no test named (a panic, a timeout, `os.Exit`), output
/// cut short — is a rejection unless the run without them ends the same way.
pub(super) async fn beside_the_others(
    trial: &Trial<'_>,
    runner: &[String],
    rel: &str,
    target: &Target,
    count: usize,
) -> Result<(), Failed> {
    let mut command = runner.to_vec();
    command.push(go_package(rel));
    let is_ours = |name: &str| is_ours_in_go(&target.name, name);
    let names = |outcome: &sandbox::Outcome, mark: &str| -> Vec<String> {
        String::from_utf8_lossy(&outcome.stdout)
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix(mark))
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
            .collect()
    };
    let with = trial.run(command.clone()).await.map_err(Failed::Alone)?;
    let failed = names(&with, "--- FAIL: ");
    if let Some(name) = failed.iter().find(|f| is_ours(f)) {
        return Err(Failed::AfterOthers(format!(
            "`{name}` passes alone but fails when the package's other tests run first (it depends on state they leave behind)"
        )));
    }
    let passed = names(&with, "--- PASS: ").iter().filter(|p| is_ours(p)).count();
    if with.success() && !with.truncated && passed >= count {
        return Ok(());
    }
    // Without the new tests: a fresh copy (what ran may have left links a
    // write would follow).
    trial.copy().await.map_err(Failed::Alone)?;
    let without = trial.run(command).await.map_err(Failed::Alone)?;
    let before = names(&without, "--- FAIL: ");
    let broken: Vec<&String> = failed.iter().filter(|f| !before.contains(f)).collect();
    let unexplained = passed < count && (without.success() || with.truncated);
    if !broken.is_empty() {
        Err(Failed::Alone(format!("the new tests make the package's own fail: {broken:?}")))
    } else if unexplained {
        Err(Failed::Alone(format!(
            "the package's suite with the new tests did not finish cleanly ({}; {passed} of {count} new test(s) seen passing)",
            with.exit.describe()
        )))
    } else {
        Ok(())
    }
}

/// JavaScript and Python: the new tests passed alone; run with the
/// project's others (`command`: see [`js::Plan::beside_the_others`], or
/// the Python test file) no more tests may fail than without them, as
/// `failing` counts them (a new test that depends on state another leaves,
/// or leaves state that breaks another, is not proposed).
pub(super) async fn beside_in_one_run(
    trial: &Trial<'_>,
    command: Vec<String>,
    failing: &(dyn Fn(&str) -> Option<usize> + Sync),
) -> Result<(), Failed> {
    let output = |outcome: &sandbox::Outcome| {
        format!("{}\n{}", String::from_utf8_lossy(&outcome.stdout), String::from_utf8_lossy(&outcome.stderr))
    };
    // The summary is on stdout (pytest, mocha) or stderr (jest): stdout first,
    // so that a line on stderr cannot be taken for it.
    let count = |outcome: &sandbox::Outcome| {
        failing(&String::from_utf8_lossy(&outcome.stdout))
            .or_else(|| failing(&String::from_utf8_lossy(&outcome.stderr)))
    };
    let with = trial.run(command.clone()).await.map_err(Failed::Alone)?;
    if with.success() && !with.truncated {
        return Ok(());
    }
    let failing_with = count(&with);
    trial.copy().await.map_err(Failed::Alone)?;
    let without = trial.run(command).await.map_err(Failed::Alone)?;
    let failing_without = count(&without);
    let clean_without = without.success() && !without.truncated;
    match (failing_with, failing_without) {
        (Some(with), Some(without)) if with > without => Err(Failed::AfterOthers(format!(
            "the new tests pass alone, but beside the project's other tests {with} fail against {without} without them \
             (one depends on state another leaves behind)"
        ))),
        // Clean without them, not with them (an unhandled error, a timeout),
        // whatever the counts say.
        _ if clean_without => Err(Failed::AfterOthers(format!(
            "the new tests pass alone, but beside the project's other tests the run does not finish cleanly ({}), \
             where it does without them: {}",
            with.exit.describe(),
            last_lines(&output(&with))
        ))),
        (Some(_), Some(_)) => Ok(()),
        _ if without.exit.describe() == with.exit.describe() => Ok(()),
        _ => Err(Failed::Alone(format!(
            "the project's tests with the new ones did not finish cleanly ({}): {}",
            with.exit.describe(),
            last_lines(&output(&with))
        ))),
    }
}

/// How many tests pytest's summary says failed or errored (`2 failed, 10
/// passed in 0.12s`); none without a summary line.
pub(super) fn pytest_failing(output: &str) -> Option<usize> {
    output.lines().rev().map(|l| l.trim().trim_matches('=').trim()).find_map(|line| {
        let summary =
            line.contains(" in ") && ["passed", "failed", "error", "no tests ran"].iter().any(|w| line.contains(w));
        summary.then(|| number_before(line, " failed").unwrap_or(0) + number_before(line, " error").unwrap_or(0))
    })
}

/// Whether the Go test `name` is one Edison wrote for `function`: `TestF_1`,
/// `TestF_2`…; `TestF_Concurrent` is the package's own.
pub(super) fn is_ours_in_go(function: &str, name: &str) -> bool {
    let first = testgen::go_test_name(function, 1);
    let prefix = first.trim_end_matches('1');
    name.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Go: the resets the package's own tests use (`SetRand(nil)`), read from
/// the package's files in the project (the folder of `rel`).
pub(super) fn go_resets(root: &Path, rel: &str) -> Vec<String> {
    let dir = rel.rsplit_once('/').map_or("", |(dir, _)| dir);
    let (mut tests, mut package) = (Vec::new(), Vec::new());
    let mut entries: Vec<_> = std::fs::read_dir(root.join(dir)).into_iter().flatten().flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries.iter().take(500) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".go") {
            continue;
        }
        if let Some(text) = crate::services::workspace::read_source(&entry.path()) {
            if name.ends_with("_test.go") { tests.push(text) } else { package.push(text) }
        }
    }
    fn refs(texts: &[String]) -> Vec<&str> {
        texts.iter().map(String::as_str).collect()
    }
    testgen::go_resets(&refs(&tests), &refs(&package))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pytests_summary_says_how_many_failed() {
        assert_eq!(super::pytest_failing("....F\n1 failed, 4 passed in 0.12s\n"), Some(1));
        assert_eq!(super::pytest_failing("===== 2 failed, 1 error, 3 passed in 1.01s =====\n"), Some(3));
        assert_eq!(super::pytest_failing("5 passed in 0.03s\n"), Some(0));
        assert_eq!(super::pytest_failing("ImportError while loading conftest\n"), None);
    }

    #[test]
    fn go_tests_edison_wrote_are_told_from_the_packages_own() {
        assert!(super::is_ours_in_go("FromBytes", "TestFromBytes_1"));
        assert!(super::is_ours_in_go("FromBytes", "TestFromBytes_12"));
        assert!(!super::is_ours_in_go("FromBytes", "TestFromBytes_Invariant"));
        assert!(!super::is_ours_in_go("FromBytes", "TestFromBytes_"));
        assert!(!super::is_ours_in_go("New", "TestNewString_1"));
    }
}
