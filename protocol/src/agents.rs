//! `agents/*` and `runs/*`: the team, what each member can do, and runs of their
//! skills. Also the agent manifest 2.0 format (`agent.toml`), whose JSON Schema is
//! generated from [`AgentManifest`] into `protocol/agent-manifest.schema.json`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Method, documents::Range};

pub struct List;
impl Method for List {
    const NAME: &'static str = "agents/list";
    const SUMMARY: &'static str = "The agents a project may use: the built-in team, the user's and installed agents, and the project's own 1.0 agent files and 2.0 manifests.";
    type Params = ProjectRef;
    type Result = Vec<AgentInfo>;
}

pub struct Problems;
impl Method for Problems {
    const NAME: &'static str = "agents/problems";
    const SUMMARY: &'static str = "Agent files that did not load (1.0 YAML or 2.0 TOML), the user's and the project's, each naming the file, the field and the reason.";
    type Params = ProjectRef;
    type Result = Vec<String>;
}

pub struct Describe;
impl Method for Describe {
    const NAME: &'static str = "agents/describe";
    const SUMMARY: &'static str = "One agent: its manifest (as 2.0), skills and persona.";
    type Params = DescribeParams;
    type Result = AgentDescription;
}

pub struct Run;
impl Method for Run {
    const NAME: &'static str = "agents/run";
    const SUMMARY: &'static str = "Run an agent's skill on a file, position or prompt. Returns the run (finished when `wait`); progress streams as `run_update` events.";
    type Params = RunParams;
    type Result = RunInfo;
}

pub struct GetRun;
impl Method for GetRun {
    const NAME: &'static str = "runs/get";
    const SUMMARY: &'static str = "A run with its output and findings; finished runs survive daemon restarts.";
    type Params = RunRef;
    type Result = RunInfo;
}

pub struct CancelRun;
impl Method for CancelRun {
    const NAME: &'static str = "runs/cancel";
    const SUMMARY: &'static str = "Cancel a queued or running run.";
    type Params = RunRef;
    type Result = RunInfo;
}

pub struct ListRuns;
impl Method for ListRuns {
    const NAME: &'static str = "runs/list";
    const SUMMARY: &'static str = "Recent runs, newest first, without their output.";
    type Params = ListRunsParams;
    type Result = Vec<RunInfo>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentInfo {
    pub id: String,
    pub name: String,
    /// 1.0's convention: "Sherlock (QA)".
    pub display_name: String,
    pub emoji: String,
    pub role: String,
    pub description: String,
    pub version: String,
    pub capabilities: Vec<String>,
    /// What it can do without a model.
    pub skills: Vec<SkillInfo>,
    /// Other names that find it: the 1.0 role and CLI alias.
    pub aliases: Vec<String>,
    /// `builtin`, or the file it was loaded from.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkillInfo {
    pub name: String,
    /// For a menu: "Sherlock: review".
    pub title: String,
    pub description: String,
    /// What it works on.
    pub scope: SkillScope,
}

/// What a skill works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SkillScope {
    /// A file.
    File,
    /// A definition in a file (the cursor's).
    Symbol,
    /// The workspace's index.
    Workspace,
    /// A request in words.
    Prompt,
}

impl SkillScope {
    pub fn name(self) -> &'static str {
        match self {
            SkillScope::File => "file",
            SkillScope::Symbol => "symbol",
            SkillScope::Workspace => "workspace",
            SkillScope::Prompt => "prompt",
        }
    }

    /// A file or a definition in one: the run must name a file.
    pub fn needs_file(self) -> bool {
        matches!(self, SkillScope::File | SkillScope::Symbol)
    }
}

impl std::fmt::Display for SkillScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DescribeParams {
    /// An id, a name, or a 1.0 role alias (`qa`, `arch`, …).
    pub agent: String,
    /// The project whose agent it is (see [`ProjectRef`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// The project a roster or workflow request is about: its agents and
/// workflows, never another open project's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProjectRef {
    /// A `file://` URI of the project's folder or of a file in it. Without it,
    /// the only open project if there is one, else none (the built-in team,
    /// the user's and installed agents, the built-in workflows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentDescription {
    pub info: AgentInfo,
    pub manifest: AgentManifest,
    /// The system prompt the agent gets in model mode.
    pub persona: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunParams {
    /// An id, a name, or a 1.0 role alias.
    pub agent: String,
    /// One of the agent's skills; its first when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The document (`file://`); open documents are read from the editor's copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<crate::documents::Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The workspace folder (URI or path) for skills without a file; needed when
    /// several are open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Answer when the run has finished instead of when it has started.
    #[serde(default)]
    pub wait: bool,
    /// Token budget of a model-mode run: it stops, failed, once its requests
    /// and answers have used this many (estimated when the API does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunRef {
    pub run_id: String,
    /// `runs/get`: answer when the run has finished.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ListRunsParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// It ran and produced nothing the request asked for (no test that
    /// passed, no function at the cursor…); `error` says why.
    NoResult,
}

impl RunStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled | RunStatus::NoResult)
    }

    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::NoResult => "no_result",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    pub id: String,
    pub agent: String,
    pub skill: String,
    pub status: RunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
    /// The run's report, as Markdown.
    pub output: String,
    pub findings: Vec<Finding>,
    /// Proposed edits, applied only by the client (`workspace/applyEdit`).
    pub edits: Vec<TextEdit>,
    /// Why it failed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Model tokens used (0 for offline skills).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
    Hint,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Hint => "hint",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable rule id, e.g. `rust-unwrap`.
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// One-based line, for people.
    pub line: u32,
    /// Zero-based LSP range (UTF-16 columns).
    pub range: Range,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<TextEdit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TextEdit {
    pub uri: String,
    pub range: Range,
    pub new_text: String,
}

pub struct Feedback;
impl Method for Feedback {
    const NAME: &'static str = "agents/feedback";
    const SUMMARY: &'static str = "Record which of a run's (or workflow session's) findings and edits the user accepted or rejected: what the console's cost per accepted result counts.";
    type Params = FeedbackParams;
    type Result = FeedbackReply;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeedbackParams {
    /// The run id, or a workflow session's id.
    pub source: String,
    pub verdicts: Vec<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// `finding:N` or `edit:N`, N indexing the run's `findings` or `edits`.
    pub item: String,
    pub accepted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeedbackReply {
    pub recorded: u32,
}

pub struct Generate;
impl Method for Generate {
    const NAME: &'static str = "agents/generate";
    const SUMMARY: &'static str = "Generate an agent from a domain, specialization and capabilities: least-privilege manifest, persona, QA certification; optionally installed or written as a package folder.";
    type Params = GenerateParams;
    type Result = GeneratedAgent;
}

/// The PAIRED 2.0 design's `AgentGenerationRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct AgentGenerationRequest {
    /// "frontend", "backend", "devops"…
    #[serde(default)]
    pub domain: String,
    /// "React testing", "AWS deployment"…
    pub specialization: String,
    /// Required tools and skills, in words ("code review", "security").
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub personality: Personality,
    /// Platforms it works with ("github", "jira", "aws"…; "team" to ask other agents).
    #[serde(default)]
    pub integrations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct GenerateParams {
    #[serde(flatten)]
    pub request: AgentGenerationRequest,
    /// Install it for this user (`<config>/agents/<id>.toml`).
    #[serde(default)]
    pub install: bool,
    /// Also write it as a package folder here, ready for `paired market publish`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_dir: Option<String>,
}

/// The PAIRED 2.0 design's `GeneratedAgent`, with the manifest it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GeneratedAgent {
    pub id: String,
    pub metadata: AgentMetadata,
    pub capabilities: Vec<String>,
    pub personality: Personality,
    pub tools: Vec<String>,
    pub permissions: Permissions,
    pub pricing: Pricing,
    pub certification: Option<Certification>,
    /// The `agent.toml`.
    pub manifest: String,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Where it was installed, or written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// The model provider that refined the persona, if one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refined_by: Option<String>,
}

/// An agent manifest, format 2.0 (`agent.toml`). The fields of the PAIRED 2.0
/// design's `GeneratedAgent`. Unknown keys are errors, so a typo cannot silently
/// drop a permission or a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentManifest {
    /// Lower case letters, digits, `_` and `-`, starting with a letter.
    pub id: String,
    pub metadata: AgentMetadata,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub personality: Personality,
    /// Names from the tool catalog.
    #[serde(default)]
    pub tools: Vec<String>,
    /// What the agent asks to be allowed; nothing by default.
    #[serde(default)]
    pub permissions: Permissions,
    #[serde(default)]
    pub pricing: Pricing,
    /// Filled in by the marketplace's quality pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<Certification>,
    /// A provider named in `config.toml` for this agent's model mode, instead of
    /// the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentMetadata {
    pub name: String,
    /// Semantic version, `MAJOR.MINOR.PATCH`.
    pub version: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialization: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Personality {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approach: Option<String>,
    /// Parts of the system prompt, joined by blank lines.
    #[serde(default)]
    pub system_prompt: Vec<String>,
    /// Other traits, free-form (1.0's `personality` map lands here).
    #[serde(default)]
    pub traits: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// Workspace-relative paths or globs the agent may read (`src/**`).
    #[serde(default)]
    pub fs_read: Vec<String>,
    /// Workspace-relative paths or globs the agent may propose edits to.
    #[serde(default)]
    pub fs_write: Vec<String>,
    /// Host names the agent may reach (`api.github.com`).
    #[serde(default)]
    pub net: Vec<String>,
    /// Commands the agent may run (`cargo test`).
    #[serde(default)]
    pub commands: Vec<String>,
    /// MCP tools, as `server/tool`.
    #[serde(default)]
    pub mcp_tools: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PricingKind {
    #[default]
    Free,
    Paid,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    #[serde(default)]
    pub kind: PricingKind,
    /// How a paid agent is billed: `one_time`, `subscription` or `usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Price in cents of `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_cents: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Certification {
    /// `automated` (the pipeline passed) or `curated` (and a maintainer looked).
    pub level: String,
    /// RFC 3339.
    pub checked_at: String,
    #[serde(default)]
    pub checks: Vec<CertificationCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificationCheck {
    pub name: String,
    pub passed: bool,
    #[serde(default)]
    pub detail: String,
}

/// The JSON Schema of [`AgentManifest`], for editors and the marketplace.
pub fn manifest_schema() -> serde_json::Value {
    crate::canonical_json(serde_json::to_value(schemars::schema_for!(AgentManifest)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn agent_manifest_schema_json_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("agent-manifest.schema.json");
        let fresh = serde_json::to_string_pretty(&super::manifest_schema()).expect("serializable") + "\n";
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&path, &fresh).expect("write agent-manifest.schema.json");
            return;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == fresh,
            "protocol/agent-manifest.schema.json is stale: run `UPDATE_EXPECT=1 cargo test -p protocol`"
        );
    }
}
