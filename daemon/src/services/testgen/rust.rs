//! Edison's Rust tests: which are his, whether the function is deprecated,
//! and the tests laid out by rustfmt.

use std::path::Path;

use agents::skills::testgen::Target;
use protocol::agents::TextEdit;

use super::{Placed, Trial};

/// The names of the Rust tests in `tests` (`fn hamming_1()`), for libtest's
/// filters.
pub(super) fn test_names(tests: &str) -> Vec<String> {
    tests
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("fn ")?.split_once('(').map(|(name, _)| name.to_owned()))
        .collect()
}

/// How many of Edison's new tests of `function` (`tests`) libtest's
/// `output` says passed: `test tests::hamming_1 ... ok` and `test
/// tests::hamming_2_panics - should panic ... ok` are his, the project's
/// `hamming_empty` (which cargo's name filter runs too) is not, nor his own
/// `hamming_1` from an earlier request when these are `hamming_2`….
pub(super) fn passed_in_rust(function: &str, tests: &str, output: &str) -> usize {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... ok"))
        .map(|path| path.strip_suffix(" - should panic").unwrap_or(path))
        .map(|path| path.rsplit("::").next().unwrap_or(path))
        .filter(|name| is_ours_in_rust(function, name) && tests.contains(&format!("fn {name}(")))
        .count()
}

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

/// What `target` (in `file`, `rel` in the project at `root`) learns from
/// its crate: whether it is `no_std` (how a test formats a `Debug` text) and
/// the enums it imports from the crate's other files.
pub(super) async fn with_crate(target: &mut Target, root: &Path, rel: &str, file: &str) {
    // Read and scanned off the runtime's threads: a crate may be megabytes.
    let (root, rel, file, mut learned) = (root.to_path_buf(), rel.to_owned(), file.to_owned(), target.clone());
    let learned = tokio::task::spawn_blocking(move || {
        let sources = crate_sources(&root, &rel);
        learned.debug_format = Some(debug_format(&sources.root));
        agents::skills::testgen::with_crate_sources(&mut learned, &sources.all, &file);
        learned
    })
    .await;
    if let Ok(learned) = learned {
        *target = learned;
    }
}

/// The crate holding `rel` in the project at `root`: its root's source
/// (`src/lib.rs`, else `src/main.rs`) and every source file under its `src/`
/// (hex's `FromHexError` is declared in `src/error.rs`, and the root
/// re-exports it); empty where there is no crate.
pub(super) struct CrateSources {
    pub(super) root: String,
    pub(super) all: String,
}

/// The folder of the crate holding `rel` (the nearest `Cargo.toml` above
/// it, inside the project at `root`).
fn crate_dir(root: &Path, rel: &str) -> Option<std::path::PathBuf> {
    let mut dir = root.join(rel);
    while dir.pop() && dir.starts_with(root) {
        if dir.join("Cargo.toml").is_file() {
            return Some(dir);
        }
    }
    None
}

/// Whether the crate holding `rel` turns its library's tests off (`[lib]
/// test = false`: form_urlencoded): `cargo test` would never run a test
/// written in it.
pub(super) fn lib_tests_off(root: &Path, rel: &str) -> bool {
    let Some(dir) = crate_dir(root, rel) else { return false };
    let manifest = crate::services::workspace::read_source(&dir.join("Cargo.toml")).unwrap_or_default();
    toml::from_str::<toml::Table>(&manifest)
        .ok()
        .and_then(|table| table.get("lib")?.get("test")?.as_bool())
        .is_some_and(|test| !test)
}

pub(super) fn crate_sources(root: &Path, rel: &str) -> CrateSources {
    if Path::new(rel).components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return CrateSources { root: String::new(), all: String::new() };
    }
    if let Some(dir) = crate_dir(root, rel) {
        let read = |file: &Path| crate::services::workspace::read_source(file);
        let lib = ["src/lib.rs", "src/main.rs"].iter().find_map(|file| read(&dir.join(file))).unwrap_or_default();
        let mut all = String::new();
        let mut folders = vec![dir.join("src")];
        let mut files = 0;
        while let Some(folder) = folders.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&folder).into_iter().flatten().flatten().collect();
            entries.sort_by_key(std::fs::DirEntry::file_name);
            for entry in entries {
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && files < 200 && all.len() < 8 << 20 {
                    files += 1;
                    all.push_str(&read(&path).unwrap_or_default());
                    all.push('\n');
                }
            }
        }
        return CrateSources { root: lib, all };
    }
    CrateSources { root: String::new(), all: String::new() }
}

/// The macro a test in the crate whose root is `lib` writes a `Debug` form
/// with: `format!`; in a `no_std` crate `std::format!`, the test declaring
/// `extern crate std` itself (shlex's tests failed under
/// `--no-default-features` with `format!`, hex's with `alloc::format!`: it
/// has `alloc` only with a feature; a test always runs with `std`).
pub(super) fn debug_format(lib: &str) -> &'static str {
    let no_std = lib.lines().map(str::trim).any(|l| l.starts_with("#![") && l.contains("no_std"));
    if no_std { "std::format!" } else { "format!" }
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
    fn passes_are_counted_with_should_panic_ones() {
        let output = "running 4 tests\ntest tests::div_ceil_1 ... ok\ntest tests::div_ceil_empty ... ok\ntest tests::div_ceil_3_panics - should panic ... ok\ntest tests::div_ceil_2 ... FAILED\n";
        let tests = "fn div_ceil_1() {}\nfn div_ceil_3_panics() {}\nfn div_ceil_2() {}\n";
        assert_eq!(super::passed_in_rust("div_ceil", tests, output), 2);
        assert_eq!(super::passed_in_rust("div_ceil", "fn div_ceil_3_panics() {}\n", output), 1, "only the new ones");
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
        std::fs::write(dir.path().join("src/error.rs"), "pub enum E { A }\n").expect("error");
        let sources = super::crate_sources(dir.path(), "src/bytes.rs");
        assert_eq!(sources.root, lib);
        assert!(
            sources.all.contains("pub enum E { A }") && sources.all.contains("extern crate alloc"),
            "{}",
            sources.all
        );
        let elsewhere = tempfile::tempdir().expect("dir");
        assert_eq!(super::crate_sources(elsewhere.path(), "src/lib.rs").all, "", "no crate above the file");
        assert_eq!(super::debug_format(lib), "std::format!");
        assert_eq!(super::debug_format("pub mod bytes;\n"), "format!");
        assert!(!super::lib_tests_off(dir.path(), "src/bytes.rs"));
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n\n[lib]\ntest = false\n")
            .expect("manifest");
        assert!(super::lib_tests_off(dir.path(), "src/bytes.rs"), "form_urlencoded's");
    }
}
