//! `context/*` and `workspaces/*`: outlines, symbol search, context bundles, and
//! the workspace folders the daemon indexes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Method, NoParams, documents::Range};

pub struct Outline;
impl Method for Outline {
    const NAME: &'static str = "context/outline";
    const SUMMARY: &'static str = "The symbols of an open document (or a file on disk), nested, with imports.";
    type Params = OutlineParams;
    type Result = DocumentOutline;
}

pub struct Symbols;
impl Method for Symbols {
    const NAME: &'static str = "context/symbols";
    const SUMMARY: &'static str = "Fuzzy, ranked symbol search across the indexed workspaces.";
    type Params = SymbolQuery;
    type Result = Vec<SymbolMatch>;
}

pub struct Build;
impl Method for Build {
    const NAME: &'static str = "context/build";
    const SUMMARY: &'static str =
        "The context bundle an agent would see for a position or range, fitted to a token budget.";
    type Params = BuildParams;
    type Result = ContextBundle;
}

pub struct AddWorkspace;
impl Method for AddWorkspace {
    const NAME: &'static str = "workspaces/add";
    const SUMMARY: &'static str =
        "Index a folder (honouring .gitignore, .ignore and .pairedignore) and keep it current.";
    type Params = AddWorkspaceParams;
    type Result = WorkspaceStatus;
}

pub struct ListWorkspaces;
impl Method for ListWorkspaces {
    const NAME: &'static str = "workspaces/list";
    const SUMMARY: &'static str = "Indexed folders with their file and symbol counts, state and warnings.";
    type Params = NoParams;
    type Result = Vec<WorkspaceStatus>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutlineParams {
    /// `file://` URI of an open document or a file on disk.
    pub uri: String,
}

/// A closed set of names on the wire: the enum, its wire names, `name`,
/// `from_name`, `Display`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            pub fn from_name(name: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.name() == name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

wire_enum! {
    /// A document's language, as the context engine parses it.
    pub enum Language {
        Rust => "rust",
        Python => "python",
        TypeScript => "typescript",
        Tsx => "tsx",
        JavaScript => "javascript",
        Go => "go",
        Java => "java",
        C => "c",
        Cpp => "cpp",
        CSharp => "csharp",
        Ruby => "ruby",
        Php => "php",
        Kotlin => "kotlin",
        Swift => "swift",
        Bash => "bash",
        /// Not parsed.
        PlainText => "text",
    }
}

wire_enum! {
    /// What kind of definition a symbol is.
    pub enum SymbolKind {
        Module => "module",
        Class => "class",
        Struct => "struct",
        Enum => "enum",
        Interface => "interface",
        Type => "type",
        Impl => "impl",
        Function => "function",
        Method => "method",
        Macro => "macro",
        Constant => "constant",
    }
}

wire_enum! {
    /// What a part of a context bundle holds.
    pub enum PartKind {
        Question => "question",
        Selection => "selection",
        Diagnostics => "diagnostics",
        EnclosingSymbol => "enclosing_symbol",
        Definition => "definition",
        Caller => "caller",
        Import => "import",
        ProjectFacts => "project_facts",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentOutline {
    pub uri: String,
    pub language: Language,
    pub symbols: Vec<OutlineSymbol>,
    pub imports: Vec<ImportInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutlineSymbol {
    pub name: String,
    pub kind: SymbolKind,
    /// The whole definition (LSP positions, UTF-16 columns).
    pub range: Range,
    /// The name.
    pub selection_range: Range,
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<OutlineSymbol>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImportInfo {
    pub text: String,
    /// Zero-based.
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SymbolQuery {
    pub query: String,
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    100
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SymbolMatch {
    pub name: String,
    pub kind: SymbolKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub uri: String,
    /// Zero-based first and last line of the definition.
    pub line: u32,
    pub end_line: u32,
    /// The definition's first line, for the best 20 results; empty for the rest.
    pub signature: String,
    pub score: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BuildParams {
    pub uri: String,
    /// The cursor; ignored when `range` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<crate::documents::Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The editor's current diagnostics for the file.
    #[serde(default)]
    pub diagnostics: Vec<DiagnosticInfo>,
    /// Token budget; the daemon's `context.budget_tokens` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
    /// Set only when the bundle goes to a model on this machine: secrets are
    /// otherwise redacted.
    #[serde(default)]
    pub local_provider: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DiagnosticInfo {
    /// Zero-based.
    pub line: u32,
    /// `error`, `warning`, `information` or `hint` (the editor's word, passed on
    /// as text: a client's other spelling is no reason to refuse the request).
    pub severity: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContextBundle {
    pub parts: Vec<BundlePart>,
    /// What did not fit the budget, least relevant last.
    pub dropped: Vec<DroppedPart>,
    pub tokens: u32,
    pub budget_tokens: u32,
    /// Secrets redacted, by rule id.
    pub redactions: BTreeMap<String, u32>,
    pub facts: ProjectFacts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BundlePart {
    pub kind: PartKind,
    pub title: String,
    /// Workspace-relative path of the file the text comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// One-based, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    pub text: String,
    pub tokens: u32,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DroppedPart {
    pub kind: PartKind,
    pub title: String,
    pub tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ProjectFacts {
    /// Language and number of files, most first.
    pub languages: Vec<(String, u32)>,
    pub build_files: Vec<String>,
    pub test_frameworks: Vec<String>,
    pub frameworks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AddWorkspaceParams {
    /// A `file://` URI or an absolute path.
    pub folder: String,
    /// Reply only once the index is complete and every file in it parsed (`ready`).
    #[serde(default)]
    pub wait: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkspaceStatus {
    pub root: String,
    /// `indexing` (reading every file and finding its declarations), `analysing`
    /// (the index is complete; files are being parsed for calls, imports and
    /// exact extents, their entries upgraded in place), `ready`, or `asleep` (no
    /// client has held it for a while: its index is dropped until it is next
    /// opened).
    pub state: String,
    pub files: u32,
    pub symbols: u32,
    /// Files indexed by a declaration scan instead of a parse (generated,
    /// bindings, or over `context.full_parse_max_kb`).
    #[serde(default)]
    pub shallow_files: u32,
    /// `inotify` (native events), `polling` (fallback) or `none`.
    pub watching: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}
