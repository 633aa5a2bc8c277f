//! What a test runner's output says: how many passed, its last lines.

use agents::skills::testgen::Observed;
use context::Language;

/// How many tests the runner says passed.
pub(super) fn passed_count(language: Language, output: &str) -> usize {
    match language {
        // `test result: ok. 3 passed; 0 failed; …`, one line per test binary.
        Language::Rust => {
            output.lines().filter(|l| l.contains("test result:")).filter_map(|l| number_before(l, " passed")).sum()
        }
        // `3 passed in 0.01s`
        _ => output.lines().rev().find_map(|l| number_before(l, " passed")).unwrap_or(0),
    }
}

/// The number just before `word` on `line` (`3` of `3 passed in 0.1s`).
pub(super) fn number_before(line: &str, word: &str) -> Option<usize> {
    let at = line.find(word)?;
    line[..at].split(|c: char| !c.is_ascii_digit()).rfind(|w| !w.is_empty())?.parse::<usize>().ok()
}

/// The last lines of a run's output, after the first line that names an
/// error (`ReferenceError: expect is not defined`) where they do not hold
/// it: vitest ends with a code frame, which says where but not what.
pub(super) fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = &lines[lines.len().saturating_sub(6)..];
    let named = |l: &str| {
        let l = l.trim_start();
        let word = l.split(':').next().unwrap_or_default();
        l.contains(": ") && word.ends_with("Error") && word.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    match lines.iter().find(|l| named(l)) {
        Some(error) if !last.iter().any(|l| named(l)) => {
            format!("{} / … / {}", error.trim(), last.join(" / "))
        }
        _ => last.join(" / "),
    }
}

/// What the calls did, less what names the copy they ran in (`copy`:
/// `path.resolve(x)`, an error's path), which holds only there.
pub(super) fn outside(seen: Vec<Observed>, copy: &str) -> Vec<Observed> {
    seen.into_iter()
        .map(|seen| match &seen {
            Observed::Value(text) | Observed::Shaped(text) if text.contains(copy) => Observed::Opaque,
            Observed::Fails(Some(error)) if error.contains(copy) => Observed::Fails(None),
            _ => seen,
        })
        .collect()
}

/// Whether every call failed as "… is not a function": the tests could not
/// reach the function (an import that names nothing), which says nothing
/// of what it does.
pub(super) fn unreachable(seen: &[Observed]) -> bool {
    let failed = |o: &Observed| matches!(o, Observed::Fails(Some(error)) if error.contains("is not a function"));
    !seen.is_empty() && seen.iter().all(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_that_never_reached_the_function_are_told_apart() {
        let missing = Observed::Fails(Some("TypeError: (0 , _parse.parse) is not a function".into()));
        assert!(unreachable(&[missing.clone(), missing.clone()]));
        assert!(!unreachable(&[missing, Observed::Value("1".into())]), "one call reached it");
        assert!(!unreachable(&[]));
        assert_eq!(passed_count(Language::Python, "3 passed in 0.01s"), 3);
        let vitest =
            "FAIL test/a.test.ts > parse\nReferenceError: expect is not defined\n a\n b\n c\n d\n e\n 396| it('x')\n";
        assert!(
            last_lines(vitest).starts_with("ReferenceError: expect is not defined / … / "),
            "{}",
            last_lines(vitest)
        );
        assert_eq!(last_lines("a\nb\n"), "a / b");
        let copy = "/home/u/.cache/paired/checks/1/work";
        let seen = vec![
            Observed::Value(format!("\"{copy}/a.txt\"")),
            Observed::Fails(Some(format!("Error: ENOENT {copy}/b"))),
            Observed::Value("\"a.txt\"".into()),
        ];
        assert_eq!(outside(seen, copy), [Observed::Opaque, Observed::Fails(None), Observed::Value("\"a.txt\"".into())]);
    }
}
