//! Edison's Rust tests: which are his, whether the function is deprecated,
//! and the tests laid out by rustfmt.

use std::path::Path;

use protocol::agents::TextEdit;

use super::{Placed, Trial};

/// Whether the Rust test `name` is one Edison wrote for `function`:
/// `hamming_1`, `hamming_2_panics`; `hamming_empty` is the project's own.
pub(super) fn is_ours_in_rust(function: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(function).and_then(|r| r.strip_prefix('_')) else { return false };
    let number = rest.strip_suffix("_panics").unwrap_or(rest);
    !number.is_empty() && number.chars().all(|c| c.is_ascii_digit())
}

/// Whether the Rust function `name` in `source` carries `#[deprecated…]`
/// among the attributes right above it.
pub(super) fn rust_deprecated(source: &str, name: &str) -> bool {
    let Some(at) = source.find(&format!("fn {name}(")) else { return false };
    source[..at]
        .lines()
        .rev()
        .skip(1)
        .map(str::trim)
        // Up to the item before: its end, or a blank line.
        .take_while(|l| !l.is_empty() && !l.ends_with('}') && !l.ends_with(';'))
        .take(12)
        .any(|l| l.starts_with("#[deprecated"))
}

/// The crate root's source (`src/lib.rs`, else `src/main.rs`) of the crate
/// holding `rel` in the project at `root`; empty where there is none.
pub(super) fn crate_root(root: &Path, rel: &str) -> String {
    let mut dir = root.join(rel);
    while dir.pop() && dir.starts_with(root) {
        if dir.join("Cargo.toml").is_file() {
            return ["src/lib.rs", "src/main.rs"]
                .iter()
                .find_map(|file| crate::services::workspace::read_source(&dir.join(file)))
                .unwrap_or_default();
        }
    }
    String::new()
}

/// The macro a test in the crate whose root is `lib` writes a `Debug` form
/// with: `format!`; in a `no_std` crate, `alloc::format!` when it declares
/// `alloc` (shlex's tests fail under `--no-default-features` with
/// `format!`), none when it does not.
pub(super) fn debug_format(lib: &str) -> Option<&'static str> {
    let no_std = lib.lines().map(str::trim).any(|l| l.starts_with("#![") && l.contains("no_std"));
    let alloc = lib.lines().map(str::trim).any(|l| l.starts_with("extern crate alloc"));
    match (no_std, alloc) {
        (false, _) => Some("format!"),
        (true, true) => Some("alloc::format!"),
        (true, false) => None,
    }
}

impl Trial<'_> {
    /// Rust: the tests as rustfmt lays them out (with the project's
    /// `rustfmt.toml`, in the sandbox, on the copy), when it leaves the rest
    /// of the file (`source`) as it was; else as written. A project whose CI
    /// runs `cargo fmt --check` fails on a long line Edison wrote.
    pub(super) async fn rustfmt(&self, source: &str, placed: Placed) -> Placed {
        let [edit] = &placed.edits[..] else { return placed };
        let new_text = edit.new_text.clone();
        let Some(at) = placed.after.find(&new_text) else { return placed };
        if source.get(..at) != placed.after.get(..at) {
            return placed;
        }
        let manifest = crate::services::workspace::read_source(&self.root.join("Cargo.toml")).unwrap_or_default();
        let edition = manifest
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("edition")?
                    .trim_start()
                    .strip_prefix('=')?
                    .trim()
                    .strip_prefix('"')?
                    .split('"')
                    .next()
            })
            .filter(|e| e.chars().all(|c| c.is_ascii_digit()))
            .unwrap_or("2015")
            .to_owned();
        let command = vec!["rustfmt".into(), "--edition".into(), edition, placed.path.clone()];
        let Some(after) = self.formatter_on(command, &placed).await else { return placed };
        // Only the tests may have moved: the file's two parts as they were.
        let formatted = after
            .strip_prefix(&source[..at])
            .and_then(|rest| rest.strip_suffix(&source[at..]))
            .filter(|t| !t.trim().is_empty());
        let Some(formatted) = formatted else { return placed };
        let edits = vec![TextEdit { new_text: formatted.to_owned(), ..edit.clone() }];
        Placed { path: placed.path, after, edits }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rust_tests_edison_wrote_are_told_from_the_projects_own() {
        assert!(super::is_ours_in_rust("hamming", "hamming_1"));
        assert!(super::is_ours_in_rust("hamming", "hamming_12_panics"));
        assert!(!super::is_ours_in_rust("hamming", "hamming_empty"));
        assert!(!super::is_ours_in_rust("hamming", "hamming_"));
        assert!(!super::is_ours_in_rust("ham", "hamming_1"));
    }

    #[test]
    fn a_deprecated_rust_function_is_known_by_its_attribute() {
        let source = "/// Quotes.\n#[deprecated(since = \"1.3.0\", note = \"use try_quote\")]\npub fn quote(s: &str) -> String {\n    s.into()\n}\n\npub fn try_quote(s: &str) -> String {\n    s.into()\n}\n";
        assert!(super::rust_deprecated(source, "quote"));
        assert!(!super::rust_deprecated(source, "try_quote"));
    }

    /// shlex: `#![cfg_attr(not(feature = "std"), no_std)]` and `extern
    /// crate alloc;` in `src/lib.rs`; the file tested is `src/bytes.rs`.
    #[test]
    fn a_no_std_crates_tests_format_with_alloc_or_not_at_all() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("src")).expect("src");
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").expect("manifest");
        let lib = "#![cfg_attr(not(feature = \"std\"), no_std)]\nextern crate alloc;\npub mod bytes;\n";
        std::fs::write(dir.path().join("src/lib.rs"), lib).expect("lib");
        assert_eq!(super::crate_root(dir.path(), "src/bytes.rs"), lib);
        let elsewhere = tempfile::tempdir().expect("dir");
        assert_eq!(super::crate_root(elsewhere.path(), "src/lib.rs"), "", "no crate above the file");
        assert_eq!(super::debug_format(lib), Some("alloc::format!"));
        assert_eq!(super::debug_format("pub mod bytes;\n"), Some("format!"));
        assert_eq!(super::debug_format("#![no_std]\npub mod bytes;\n"), None);
    }
}
