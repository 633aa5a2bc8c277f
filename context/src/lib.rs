//! The context engine: what the editor has open, turned into precise, bounded and
//! private context for agents.
//!
//! - [`language`]: which grammar a file gets, and its queries.
//! - [`syntax`]: a document's text and tree-sitter tree, re-parsed incrementally.
//! - [`symbols`]: outline, enclosing symbol, imports (from the grammars' tags queries).
//! - [`index`]: the workspace index and fuzzy symbol search; `tags` is its one
//!   walk over a parsed file (the tags queries' rules as tables).
//! - [`shallow`]: declarations of generated and very large files, by a lexical scan.
//! - [`redact`]: secret detection and redaction.
//! - [`bundle`]: context bundles fitted to a token budget.
//! - [`fim`]: fill-in-the-middle: when a streamed completion stops, how much of it to keep.
//!
//! Sans IO: callers hand in text and paths; nothing here touches the file system,
//! the clock or the network.

pub mod bundle;
pub mod fim;
pub mod index;
pub mod language;
pub mod redact;
pub mod shallow;

pub mod symbols;
pub mod syntax;
mod tags;

pub use language::Language;
pub use syntax::SyntaxDocument;
