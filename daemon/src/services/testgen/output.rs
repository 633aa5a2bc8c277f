//! What a test runner's output says: how many passed, its last lines.

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

pub(super) fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join(" / ")
}
