//! The fix of a file the project's prettier would change (`prettier --check`
//! found it): the file as that prettier writes it, made in the sandbox, as
//! the finding's edit — the lines that differ, not the whole file.

use std::path::Path;

use agents::toolchain::{ToolEdit, ToolFinding, ToolFix};

use super::Scratch;
use crate::platform::{config::SandboxConfig, os::sandbox, paths::Paths};

/// At most this many files get their fix (a sandboxed run each).
const MOST: usize = 5;

/// The largest file formatted for a fix.
const MAX_BYTES: u64 = 1 << 20;

/// Where the project is, and where the tool ran on it.
pub(super) struct Place<'a> {
    pub paths: &'a Paths,
    pub config: &'a SandboxConfig,
    pub root: &'a Path,
    pub scratch: &'a Scratch,
    pub work: &'a Path,
}

/// Gives `prettier:format` findings the edit that formats their file.
pub(super) async fn prettier_fixes(helper: &Path, place: &Place<'_>, findings: &mut [ToolFinding]) {
    for finding in findings.iter_mut().filter(|f| f.rule == "prettier:format").take(MOST) {
        let Some(before) = super::read_untrusted(&place.work.join(&finding.path), MAX_BYTES) else { continue };
        // `prettier FILE` prints the file formatted, writing nothing.
        let command = vec!["node_modules/.bin/prettier".to_owned(), finding.path.clone()];
        let spec = super::sandbox_spec(place.paths, place.config, place.root, place.scratch, place.work, &command);
        let Ok(outcome) = sandbox::run(helper, &spec).await else { continue };
        let Ok(after) = String::from_utf8(outcome.stdout.clone()) else { continue };
        if !outcome.success() || after.is_empty() {
            continue;
        }
        if let Some(edit) = changed_lines(&finding.path, &before, &after) {
            let title = "Format the file as the project's prettier writes it".to_owned();
            finding.fix = Some(ToolFix { title, edits: vec![edit] });
        }
    }
}

/// The lines `before` and `after` differ in, as one edit (one-based lines,
/// from the first that differs to the last).
fn changed_lines(path: &str, before: &str, after: &str) -> Option<ToolEdit> {
    let (a, b): (Vec<&str>, Vec<&str>) =
        (before.split_inclusive('\n').collect(), after.split_inclusive('\n').collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if prefix == a.len() && prefix == b.len() {
        return None;
    }
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let line = |n: usize| u32::try_from(n + 1).unwrap_or(u32::MAX);
    Some(ToolEdit {
        path: path.to_owned(),
        start: (line(prefix), 1),
        end: (line(a.len() - suffix), 1),
        new_text: b[prefix..b.len() - suffix].concat(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_edit_is_the_lines_that_differ() {
        let before = "a\nb(x,y)\nc\nd\n";
        let after = "a\nb(x, y)\nc\nd\n";
        let edit = super::changed_lines("f.ts", before, after).expect("an edit");
        assert_eq!((edit.start, edit.end, edit.new_text.as_str()), ((2, 1), (3, 1), "b(x, y)\n"));
        // Lines added at the end; a file unchanged has no edit.
        let edit = super::changed_lines("f.ts", "a\n", "a\nb\n").expect("an edit");
        assert_eq!((edit.start, edit.end, edit.new_text.as_str()), ((2, 1), (2, 1), "b\n"));
        assert!(super::changed_lines("f.ts", before, before).is_none());
    }
}
