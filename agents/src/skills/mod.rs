//! Offline skills: deterministic work on tree-sitter context, no model needed.
//! Each takes a [`SkillInput`] and returns a [`SkillOutput`] in byte offsets of
//! the document; the daemon turns those into LSP ranges and edits.
//!
//! A report speaks as the agent that runs the skill (`speaker`, its manifest's
//! name), never as the built-in that owns the skill: a marketplace reviewer
//! says "Holmes reviewed…", not "Sherlock reviewed…".

pub mod accessibility;
pub mod architecture;
pub mod backlog;
pub mod document;
pub mod metrics;
pub mod review;
pub mod route;
pub mod rules;
mod table;
pub mod testgen;

pub use table::{Scope, Skill, run_on_text, scope_of};

use std::ops::Range;

use context::{SyntaxDocument, index::WorkspaceIndex};
use protocol::agents::Severity;

/// What a skill works on. Everything is optional but the path: a workspace
/// skill needs no document, a document skill no index.
pub struct SkillInput<'a> {
    /// The running agent's name (its manifest's `metadata.name`), as its report names it.
    pub speaker: &'a str,
    /// Workspace-relative where known, `/`-separated.
    pub path: &'a str,
    pub document: Option<&'a SyntaxDocument>,
    /// The selection or cursor (empty range), in bytes.
    pub selection: Option<Range<usize>>,
    pub index: Option<&'a WorkspaceIndex>,
    pub prompt: Option<&'a str>,
    /// Files of the workspace, for skills that read beyond the document.
    pub read_file: &'a dyn Fn(&str) -> Option<String>,
    /// `git log` facts, for Marie.
    pub history: Option<&'a History>,
    /// Calls the project's tests make of the function at the cursor and what
    /// they returned when run, for its documentation.
    pub examples: &'a [document::Example],
}

/// Per-file change history from git: commits touching it and their authors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Path → (commits, lines added + removed, authors by commits, most first),
    /// a renamed file's history under its current name.
    pub files: std::collections::BTreeMap<String, FileHistory>,
    /// Path → who wrote each line (zero-based), for the files that need it.
    pub blame: std::collections::BTreeMap<String, Vec<String>>,
    /// Address (lower case) → the name its newest commit gives: one person
    /// under one name ("Hugo van Kemenade", not also "Hugo").
    pub names: std::collections::HashMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileHistory {
    pub commits: u32,
    pub lines_changed: u64,
    pub authors: Vec<(String, u32)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillOutput {
    /// The report, as Markdown.
    pub report: String,
    pub findings: Vec<RawFinding>,
    /// Edits proposed as the run's result (not as fixes of a finding).
    pub edits: Vec<RawEdit>,
    /// For routing: the agents (and skills) a request should go to.
    pub routed: Vec<(String, String)>,
    /// Nothing the request asked for came of it, and why (the run ends
    /// `no_result`, not `succeeded`).
    pub none: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// In the document's bytes.
    pub bytes: Range<usize>,
    /// Another file than the document (workspace-relative), for workspace skills.
    pub path: Option<String>,
    /// Zero-based line, set when `path` is another file (no bytes to map).
    pub line: Option<u32>,
    pub fix: Option<RawFix>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFix {
    pub title: String,
    pub edits: Vec<RawEdit>,
}

/// Replace `bytes` of the document (or of `path`, created if missing) with
/// `new_text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEdit {
    pub bytes: Range<usize>,
    pub new_text: String,
    /// Another file, workspace-relative: a new file when it does not exist.
    pub path: Option<String>,
}

/// Named functions and methods, in every parsed grammar.
pub fn is_named_function(kind: &str) -> bool {
    matches!(
        kind,
        "function_item"
            | "function_definition"
            | "function_declaration"
            | "method_declaration"
            | "method_definition"
            | "constructor_declaration"
            | "generator_function_declaration"
    )
}

/// Functions of any kind, closures and lambdas included.
pub fn is_function(kind: &str) -> bool {
    is_named_function(kind) || matches!(kind, "arrow_function" | "function_expression" | "func_literal")
}

/// Whether a path is test code by the usual conventions of its language.
pub fn is_test_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let in_dir = |dir: &str| path.starts_with(&format!("{dir}/")) || path.contains(&format!("/{dir}/"));
    in_dir("tests")
        || in_dir("test")
        || in_dir("__tests__")
        || in_dir("benches")
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name.ends_with("_test.go")
        || name.ends_with("_tests.rs")
        || name == "tests.rs"
        || name == "tests.py"
        || name == "test.py"
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.ends_with("Test.java")
        || name.ends_with("Tests.java")
}
