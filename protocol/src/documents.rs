//! `documents/*`: the editor's open documents, mirrored in the daemon.
//!
//! Positions are LSP positions: zero-based line, and `character` in UTF-16 code
//! units. A document opened by several clients stays open until the last closes it
//! or goes away.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Method, NoParams};

pub struct Open;
impl Method for Open {
    const NAME: &'static str = "documents/open";
    const SUMMARY: &'static str = "Open (or re-open, replacing the text of) a document for this client.";
    type Params = OpenParams;
    type Result = DocumentVersion;
}

pub struct Change;
impl Method for Change {
    const NAME: &'static str = "documents/change";
    const SUMMARY: &'static str = "Apply incremental or full changes; versions must increase, changes apply in order.";
    type Params = ChangeParams;
    type Result = DocumentVersion;
}

pub struct Close;
impl Method for Close {
    const NAME: &'static str = "documents/close";
    const SUMMARY: &'static str = "Close a document for this client.";
    type Params = UriParams;
    type Result = CloseReply;
}

pub struct Sync;
impl Method for Sync {
    const NAME: &'static str = "documents/sync";
    const SUMMARY: &'static str = "Apply opens, changes and closes in order, in one request: an editor's burst \
                                   costs one round trip. One outcome per operation; a refused one does not stop the rest.";
    type Params = SyncParams;
    type Result = SyncReply;
}

pub struct Get;
impl Method for Get {
    const NAME: &'static str = "documents/get";
    const SUMMARY: &'static str = "The daemon's current text and version of an open document.";
    type Params = UriParams;
    type Result = Document;
}

pub struct List;
impl Method for List {
    const NAME: &'static str = "documents/list";
    const SUMMARY: &'static str = "Every open document with its version, size and number of clients.";
    type Params = NoParams;
    type Result = Vec<DocumentSummary>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OpenParams {
    pub uri: String,
    pub language_id: String,
    pub version: i32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeParams {
    pub uri: String,
    pub version: i32,
    pub changes: Vec<ContentChange>,
}

/// One LSP `TextDocumentContentChangeEvent`: with a range it replaces that range,
/// without one it replaces the whole text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContentChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Position {
    pub line: u32,
    /// UTF-16 code units, as in LSP.
    pub character: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

/// Document operations, applied in order as if sent one by one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyncParams {
    pub ops: Vec<DocumentOp>,
}

/// One of `documents/open`, `documents/change`, `documents/close`, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum DocumentOp {
    Open(OpenParams),
    Change(ChangeParams),
    Close(UriParams),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyncReply {
    /// How many operations were applied.
    pub applied: u32,
    /// The operations refused (a change to a document not open, a version that
    /// does not increase), by their index in `ops`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedOp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefusedOp {
    pub index: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UriParams {
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentVersion {
    pub uri: String,
    pub version: i32,
    /// Length of the text in bytes (UTF-8).
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CloseReply {
    pub uri: String,
    /// True while another client still has the document open.
    pub still_open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Document {
    pub uri: String,
    pub language_id: String,
    pub version: i32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentSummary {
    pub uri: String,
    pub language_id: String,
    pub version: i32,
    pub bytes: u64,
    /// How many attached clients have it open.
    pub clients: u32,
}
