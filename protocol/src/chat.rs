//! `chat/*`: conversations with the team, kept by the daemon — persisted,
//! resumable, the same from every editor and from `paired sessions`.
//!
//! A message goes to the agent it names (`agent`, or `@sherlock` at its
//! start), else to the one its command names (`review`, `tests`, `docs`,
//! `plan`, `explain`), else to the agent Alex's routing picks. Each message
//! starts a run; its answer streams as the run's `run_update` events, and
//! `chat/get` has every turn with its run.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Method, agents::RunInfo, context::DiagnosticInfo, documents::Range};

pub struct Send;
impl Method for Send {
    const NAME: &'static str = "chat/send";
    const SUMMARY: &'static str = "Send a message to the team in a conversation (a new one without `conversation`): \
                                   the agent that takes it and the run that answers (streamed as run events).";
    type Params = SendParams;
    type Result = ChatTurn;
}

pub struct List;
impl Method for List {
    const NAME: &'static str = "chat/list";
    const SUMMARY: &'static str = "Conversations, the most recently active first (of one project, when named).";
    type Params = ListParams;
    type Result = Vec<ConversationSummary>;
}

pub struct Get;
impl Method for Get {
    const NAME: &'static str = "chat/get";
    const SUMMARY: &'static str = "A conversation with every turn: the message, the agent that took it and its run.";
    type Params = ConversationRef;
    type Result = Conversation;
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SendParams {
    /// The conversation to continue; none starts one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    /// The project the conversation is about (a folder URI): its agents answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub text: String,
    /// The agent to ask (an id or alias); else `@agent` at the start of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// `review`, `tests`, `docs`, `plan` or `explain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The file the message is about (the active editor's, by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The selection in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// Problems the user attached (`#problems`): they go to the agent with the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<DiagnosticInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChatTurn {
    pub conversation: String,
    /// One-based number of this turn in the conversation.
    pub turn: u32,
    /// The agent that answers, and the skill, when one was chosen.
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The run answering; `chat/get` (or `runs/get`) has its result.
    pub run: RunInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// At most this many (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationSummary {
    pub id: String,
    /// The first message, shortened.
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub turns: u32,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationRef {
    pub conversation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Conversation {
    pub summary: ConversationSummary,
    pub turns: Vec<TurnRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TurnRecord {
    pub turn: u32,
    /// The user's message.
    pub text: String,
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The answer: output, findings, edits, status (`None` if the run record is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
}
