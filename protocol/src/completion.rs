//! `completion/*`: inline completions — fill-in-the-middle at the cursor of an
//! open document, with the configured model (`[completion]`, else the default
//! provider of `[agents]`).
//!
//! A request carries a key of the caller's choosing; `completion/cancel` with
//! that key stops the work and aborts the provider request. A newer request of
//! the same client for the same document supersedes (cancels) an older one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    Method,
    documents::{Position, Range},
};

pub struct Inline;
impl Method for Inline {
    const NAME: &'static str = "completion/inline";
    const SUMMARY: &'static str = "Fill in the middle at a position of an open document: the text to insert, cut at a \
                                   syntactically sensible point. Cancelled by `completion/cancel` or a newer request \
                                   for the same document.";
    type Params = InlineParams;
    type Result = InlineReply;
}

pub struct Cancel;
impl Method for Cancel {
    const NAME: &'static str = "completion/cancel";
    const SUMMARY: &'static str = "Cancel this client's completion request `key`: its reply is a cancellation error and \
                                   its provider request is aborted.";
    type Params = CancelParams;
    type Result = CancelReply;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InlineParams {
    pub uri: String,
    /// The cursor (UTF-16 columns, as in LSP).
    pub position: Position,
    /// The caller's name for this request, for `completion/cancel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `invoked` (the user asked) or `automatic` (typing); an automatic request
    /// in the middle of a word gets nothing.
    #[serde(default)]
    pub trigger: Trigger,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Invoked,
    #[default]
    Automatic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InlineReply {
    /// Zero or one completion (none when the model had nothing sensible).
    pub items: Vec<InlineItem>,
    /// The provider that answered (or would have, for a cached answer).
    pub provider: String,
    /// Served from the cache (the same text around the cursor, or text the
    /// user typed that the previous completion predicted).
    pub cached: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InlineItem {
    /// The text to insert at `range` (the cursor, when the range is empty).
    pub insert_text: String,
    pub range: Range,
    /// Why the completion ends where it does: `model` (the model stopped),
    /// `line` (the rest of the line was already there), `block` (the enclosing
    /// block closes), `syntax` (the longest part that parses as well as the
    /// file did), `length` (the line limit).
    pub stopped: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CancelParams {
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CancelReply {
    /// A request with that key was in flight and is now cancelled.
    pub cancelled: bool,
}
