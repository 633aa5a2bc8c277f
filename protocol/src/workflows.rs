//! `workflows/*` and `sessions/*`: multi-agent workflows. A workflow (a file in
//! `.paired/workflows/*.toml`, or built in) runs as a session: its steps, the
//! shared board the agents write to, the conflicts found between them and how
//! each was resolved. Sessions persist; `sessions/resume` picks up one the daemon
//! did not finish.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    Method,
    agents::{Finding, TextEdit},
    documents::{Position, Range},
};

pub struct List;
impl Method for List {
    const NAME: &'static str = "workflows/list";
    const SUMMARY: &'static str =
        "The workflows of a project: built-ins and its `.paired/workflows/*.toml`, with their steps.";
    type Params = crate::agents::ProjectRef;
    type Result = WorkflowList;
}

pub struct Run;
impl Method for Run {
    const NAME: &'static str = "workflows/run";
    const SUMMARY: &'static str = "Start a workflow on a file, selection or prompt. Returns its session (finished when `wait`); progress streams as `session_update` events.";
    type Params = RunWorkflowParams;
    type Result = SessionInfo;
}

pub struct ListSessions;
impl Method for ListSessions {
    const NAME: &'static str = "sessions/list";
    const SUMMARY: &'static str = "Recent workflow sessions, newest first, without their steps and board.";
    type Params = ListSessionsParams;
    type Result = Vec<SessionSummary>;
}

pub struct GetSession;
impl Method for GetSession {
    const NAME: &'static str = "sessions/get";
    const SUMMARY: &'static str = "A session with its steps, board and conflicts (when `wait`, once it has finished).";
    type Params = SessionRef;
    type Result = SessionInfo;
}

pub struct ResumeSession;
impl Method for ResumeSession {
    const NAME: &'static str = "sessions/resume";
    const SUMMARY: &'static str =
        "Resume a session the daemon did not finish: finished steps are kept, the others run again.";
    type Params = SessionRef;
    type Result = SessionInfo;
}

pub struct Decide;
impl Method for Decide {
    const NAME: &'static str = "sessions/decide";
    const SUMMARY: &'static str =
        "Answer a conflict the workflow asked the user about (a `choice` event): the index of the chosen option.";
    type Params = DecideParams;
    type Result = SessionInfo;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkflowList {
    pub workflows: Vec<WorkflowInfo>,
    /// Workflow files that did not load, each naming the file, step and field.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkflowInfo {
    pub name: String,
    pub description: String,
    /// `built-in` or the file it came from.
    pub source: String,
    pub steps: Vec<StepInfo>,
    /// How conflicts between agents are resolved.
    pub strategy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StepInfo {
    pub id: String,
    /// The agent, or `capability:<name>` when chosen by capability.
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    pub needs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunWorkflowParams {
    pub workflow: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The workspace folder, when several are open and no `uri` says which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Answer when the session has finished.
    #[serde(default)]
    pub wait: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ListSessionsParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionRef {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DecideParams {
    pub session_id: String,
    pub conflict_id: String,
    /// Index into the options of the `choice` event.
    pub choice: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Running,
    /// Waiting for the user to decide a conflict (`sessions/decide`).
    Waiting,
    Succeeded,
    Failed,
    Cancelled,
    /// The daemon stopped while it ran; `sessions/resume` continues it.
    Interrupted,
    /// It ran, and no step produced what it asked for; `error` says why.
    NoResult,
}

impl SessionStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            SessionStatus::Succeeded | SessionStatus::Failed | SessionStatus::Cancelled | SessionStatus::NoResult
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            SessionStatus::Running => "running",
            SessionStatus::Waiting => "waiting",
            SessionStatus::Succeeded => "succeeded",
            SessionStatus::Failed => "failed",
            SessionStatus::Cancelled => "cancelled",
            SessionStatus::Interrupted => "interrupted",
            SessionStatus::NoResult => "no_result",
        }
    }

    pub fn from_name(name: &str) -> SessionStatus {
        match name {
            "running" => SessionStatus::Running,
            "waiting" => SessionStatus::Waiting,
            "succeeded" => SessionStatus::Succeeded,
            "cancelled" => SessionStatus::Cancelled,
            "interrupted" => SessionStatus::Interrupted,
            "no_result" => SessionStatus::NoResult,
            _ => SessionStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionSummary {
    pub id: String,
    pub workflow: String,
    pub status: SessionStatus,
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionInfo {
    pub id: String,
    pub workflow: String,
    pub status: SessionStatus,
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
    pub params: RunWorkflowParams,
    /// Every step attempt that ran or was decided, in the order they finished.
    pub steps: Vec<StepRecord>,
    pub conflicts: Vec<ConflictRecord>,
    pub board: Vec<BoardEntry>,
    /// The edits that stand after conflict resolution, for the editor to apply.
    pub edits: Vec<TextEdit>,
    /// The final report (the last step's output).
    pub output: String,
    /// Model tokens spent by the session's runs (estimated when the API does not say).
    pub tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Its condition was false, or a step it needs failed.
    Skipped,
    Cancelled,
    /// Its run produced nothing the step asked for; `error` says why.
    NoResult,
}

impl StepStatus {
    pub fn is_finished(self) -> bool {
        !matches!(self, StepStatus::Pending | StepStatus::Running)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StepRecord {
    /// The step's id in the workflow, with `#N` for loop rounds after the first
    /// and `[i]` for fan-out items: `review#2`, `document[3]`.
    pub key: String,
    pub step: String,
    pub round: u32,
    pub agent: String,
    pub skill: String,
    /// The document it worked on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub attempts: u32,
    pub output: String,
    pub findings: Vec<Finding>,
    pub edits: Vec<TextEdit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub started_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
}

/// What agents disagree over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Edits to overlapping lines.
    OverlappingEdits,
    /// Different edits to one symbol.
    SameSymbol,
    /// Contradictory review verdicts on one subject.
    Verdict,
    /// Contradictory decisions on one key.
    Decision,
}

impl ConflictKind {
    pub fn name(self) -> &'static str {
        match self {
            ConflictKind::OverlappingEdits => "overlapping_edits",
            ConflictKind::SameSymbol => "same_symbol",
            ConflictKind::Verdict => "verdict",
            ConflictKind::Decision => "decision",
        }
    }
}

impl std::fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConflictRecord {
    pub id: String,
    pub kind: ConflictKind,
    /// What the agents disagree about.
    pub what: String,
    /// The step keys on each side.
    pub parties: Vec<String>,
    /// `priority`, `vote`, `merge`, `arbiter` or `ask`.
    pub strategy: String,
    /// `pending` (asked the user, no answer yet) or what was decided.
    pub resolution: String,
    /// The step whose position stands, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
    pub reasons: String,
    /// When the user is asked: the options, in the order `sessions/decide` counts them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Edits that lost, as `step-key@index` into that step's `edits`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_edits: Vec<String>,
}

/// What a board entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BoardKind {
    Fact,
    /// A decision: a conflict with another on the same key is settled by the workflow's strategy.
    Decision,
    Artifact,
    Question,
}

impl BoardKind {
    pub const ALL: [BoardKind; 4] = [BoardKind::Fact, BoardKind::Decision, BoardKind::Artifact, BoardKind::Question];

    pub fn name(self) -> &'static str {
        match self {
            BoardKind::Fact => "fact",
            BoardKind::Decision => "decision",
            BoardKind::Artifact => "artifact",
            BoardKind::Question => "question",
        }
    }

    pub fn from_name(name: &str) -> Option<BoardKind> {
        BoardKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for BoardKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BoardEntry {
    pub kind: BoardKind,
    /// What the entry is about (a decision's subject, an artifact's name).
    pub key: String,
    pub text: String,
    /// Provenance: which agent, in which step, when.
    pub agent: String,
    pub step: String,
    pub at_ms: u64,
}
