//! The configuration's keys, section by section, with their defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::provider::ProviderConfig;

/// The JSON-RPC port used when nothing else is configured. 7890 stays free for the
/// PAIRED 1.0 bridge.
pub const DEFAULT_PORT: u16 = 7891;
pub const BRIDGE_1X_PORT: u16 = 7890;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub daemon: DaemonConfig,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub context: ContextConfig,
    pub compat: CompatConfig,
    /// Who may reach what through the PAIRED 1.0 bridge (`compat.bridge_1x`).
    pub bridge: BridgeConfig,
    pub limits: LimitsConfig,
    /// Named model providers (`[providers.NAME]`).
    pub providers: std::collections::BTreeMap<String, ProviderConfig>,
    pub agents: AgentsConfig,
    /// Inline completions in the editor (`[completion]`).
    pub completion: CompletionConfig,
    pub market: MarketConfig,
    /// What agents run (the project's linters and tests) and inside which walls.
    pub sandbox: SandboxConfig,
    /// A team hub this machine joined (`paired team join`).
    pub team: TeamConfig,
}

/// A team hub this machine joined (`[team]`; the membership itself is state
/// that `paired team join` writes, not configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeamConfig {
    /// How often usage events go to the hub, in seconds (sooner when many wait).
    pub usage_push_secs: u32,
    /// How old the cached team policy may get before it is fetched again, in seconds.
    pub policy_refresh_secs: u32,
}

impl Default for TeamConfig {
    fn default() -> TeamConfig {
        TeamConfig { usage_push_secs: 60, policy_refresh_secs: 300 }
    }
}

/// The sandbox every program an agent runs goes through (`[sandbox]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Sherlock's review runs the project's own linters and type checkers.
    pub project_tools: bool,
    /// `full`: nothing runs unless files, network and processes are all
    /// confined; `best-effort`: runs with what the kernel gives, and says so.
    pub require: SandboxRequirement,
    /// Wall-clock seconds one program may take.
    pub timeout_secs: u32,
    /// Address space per process, in MiB.
    pub memory_mb: u32,
    /// Processes and threads at once.
    pub processes: u32,
    /// What a run may add to its scratch space (build output included), in MiB.
    pub disk_mb: u32,
    /// Where the project pins another version of a tool than the one
    /// installed (ruff's `required-version`, pre-commit's `rev`), fetch that
    /// version from [`SandboxConfig::tool_index`] once and run it.
    pub fetch_pinned: bool,
    /// A Python package index's simple API, as pip's `index-url` (PEP 691's JSON).
    pub tool_index: String,
    /// A model's edits are tried on a copy of the project with its checkers
    /// and tests before they are proposed; one that breaks it is refused.
    pub try_edits: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            project_tools: true,
            require: SandboxRequirement::BestEffort,
            timeout_secs: 300,
            memory_mb: 4096,
            processes: 512,
            disk_mb: 4096,
            fetch_pinned: true,
            tool_index: "https://pypi.org/simple".to_owned(),
            try_edits: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxRequirement {
    Full,
    #[default]
    BestEffort,
}

/// Agent registries (`[[market.registries]]`) and install limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketConfig {
    pub registries: Vec<RegistryConfig>,
    /// Packages larger than this are refused before download.
    pub max_package_kb: u32,
    /// Search and info reuse a registry's index this many seconds before
    /// asking it again (installs and updates always ask).
    pub refresh_secs: u32,
    /// The most one registry fetch (a metadata file, a package) may take, in seconds.
    pub fetch_timeout_secs: u32,
    /// Who this user is for paid agents' licences (`alice@acme.example`; a
    /// licence for `org:acme.example` covers everyone there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licensee: Option<String>,
    /// What this user never grants an agent, whatever they answer when asked.
    pub policy: MarketPolicy,
}

/// Limits on what marketplace agents may be granted: the user's
/// (`[market.policy]`), and the organisation's (`/etc/paired/policy.toml`,
/// same keys at the top level), which wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct MarketPolicy {
    /// Permission kinds never granted: `fs_read`, `fs_write`, `net`, `commands`, `mcp_tools`.
    pub deny: Vec<String>,
    /// Only these registries (by name); empty: any configured one.
    pub allow_registries: Vec<String>,
    /// Run nothing an agent runs unless the sandbox is fully enforced
    /// (as `[sandbox] require = "full"`, for everyone the policy covers).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_full_sandbox: bool,
}

pub const PERMISSION_KINDS: [&str; 5] = ["fs_read", "fs_write", "net", "commands", "mcp_tools"];

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            registries: Vec::new(),
            max_package_kb: 16 * 1024,
            refresh_secs: 300,
            fetch_timeout_secs: 120,
            licensee: None,
            policy: MarketPolicy::default(),
        }
    }
}

/// One registry: where it is served, and the root of trust pinned for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    pub name: String,
    /// Base URL: `<url>/metadata/` and `<url>/targets/` (http, https or file).
    pub url: String,
    /// The registry's `root.json`, as its maintainer published it: the keys
    /// trusted for everything else.
    pub root: std::path::PathBuf,
    /// Environment variable holding a bearer token (private registries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Read with the team hub's device token (the organisation's registry,
    /// configured by joining; never from the config file).
    #[serde(skip)]
    pub team_device_token: bool,
}

/// Which provider agents use in model mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsConfig {
    /// The default provider; none means offline skills only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Per agent id: a provider other than the default.
    pub providers: std::collections::BTreeMap<String, String>,
    /// Redact secrets from what goes to every provider, `local = true` ones too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub always_redact: bool,
}

/// Inline completions: fill-in-the-middle at the cursor (`[completion]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompletionConfig {
    pub enabled: bool,
    /// The provider to ask; none means `[agents] provider`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// A model other than the provider's (a small base model suits completion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// How the provider is asked: `auto` (by its kind: OpenAI-compatible
    /// `/completions` with `suffix`, chat for Azure and Anthropic), `openai`
    /// (`/completions` with `suffix`: Ollama, OpenAI-compatible servers),
    /// `ollama` (`/api/generate`), `llamacpp` (llama.cpp's `/infill`),
    /// `template` (`/completions` with the prompt built from `template`: vLLM),
    /// `chat` (a chat model through a fill-in-the-middle prompt).
    pub api: CompletionApi,
    /// For `api = "template"`: `qwen`, `codellama`, `deepseek`, `starcoder`, or
    /// a template of your own with `{prefix}` and `{suffix}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The most tokens a completion may have.
    pub max_tokens: u32,
    /// The most lines a completion may have.
    pub max_lines: u32,
    /// Characters of the document before and after the cursor sent as prefix and suffix.
    pub prefix_chars: u32,
    pub suffix_chars: u32,
    /// Tokens of other context (definitions of names in scope, recently edited
    /// places); 0 sends only the document.
    pub context_tokens: u32,
    /// A completion request to the provider gives up after this long.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CompletionApi {
    #[default]
    Auto,
    Openai,
    Ollama,
    Llamacpp,
    Template,
    Chat,
}

impl Default for CompletionConfig {
    fn default() -> Self {
        CompletionConfig {
            enabled: true,
            provider: None,
            model: None,
            api: CompletionApi::Auto,
            template: None,
            max_tokens: 128,
            max_lines: 12,
            prefix_chars: 6000,
            suffix_chars: 2000,
            context_tokens: 600,
            timeout_ms: 8000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextConfig {
    /// Token budget of a context bundle when the request names none.
    pub budget_tokens: u32,
    /// Workspace files larger than this many KiB are indexed by a lexical scan
    /// of their declarations instead of a parse (generated files always are).
    pub full_parse_max_kb: u32,
    /// A workspace no editor has had open for this many seconds is put to
    /// sleep: its index and file watches are dropped, and the memory goes back
    /// to the OS. It is indexed again when next opened.
    pub idle_workspace_secs: u64,
    /// How many workspaces no editor has open are kept indexed regardless (the
    /// most recently used): a budget for switching between projects.
    pub keep_idle_workspaces: u32,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            budget_tokens: 6000,
            full_parse_max_kb: (context::index::FULL_PARSE_MAX_BYTES / 1024) as u32,
            idle_workspace_secs: 30,
            keep_idle_workspaces: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// TCP port on 127.0.0.1 for JSON-RPC over HTTP and WebSocket; 0 picks a free one
    /// (clients find it in the discovery file).
    pub port: u16,
    /// A daemon started on demand by `paired lsp` stops after this many seconds
    /// without any attached client. 0 keeps it running.
    pub autostart_idle_secs: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig { port: DEFAULT_PORT, autostart_idle_secs: 900 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Browser origins allowed to call the daemon, exact (`https://app.example`) or
    /// with a trailing `*` (`vscode-webview://*`). Requests without `Origin` (editors,
    /// the CLI) are not affected; `null` is never allowed.
    pub allowed_origins: Vec<String>,
    /// Requests without the token are refused. Turning this off is an explicit,
    /// logged opt-out.
    pub require_token: bool,
    pub max_request_bytes: u32,
    pub max_response_bytes: u32,
    pub max_connections: u32,
    pub max_batch_len: u32,
    pub max_nesting_depth: u32,
    pub max_subscriptions_per_connection: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            allowed_origins: Vec::new(),
            require_token: true,
            max_request_bytes: 10 * 1024 * 1024,
            max_response_bytes: 32 * 1024 * 1024,
            max_connections: 256,
            max_batch_len: 64,
            max_nesting_depth: 64,
            max_subscriptions_per_connection: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `RUST_LOG`-style filter, e.g. `info,daemon::server=debug`.
    pub filter: String,
    /// The log file in the state directory is rotated past this size (one old file kept).
    pub file_max_bytes: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { filter: "info".to_owned(), file_max_bytes: 10 * 1024 * 1024 }
    }
}

/// How many runs go at once, and how many may wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Runs in flight at once, across editors and workflows.
    pub max_running: u32,
    /// Of those, slots kept for interactive runs (editor, CLI), so background
    /// workflows never make the editor wait.
    pub interactive_reserved: u32,
    /// Runs in flight per model provider (a provider's `max_concurrent` overrides).
    pub per_provider: u32,
    /// Offline skill runs in flight.
    pub offline: u32,
    /// Runs waiting beyond which new ones are refused ("busy, try again").
    pub max_queued: u32,
    /// Workflow sessions running at once.
    pub max_sessions: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_running: 16,
            interactive_reserved: 4,
            per_provider: 4,
            offline: 8,
            max_queued: 2048,
            max_sessions: 32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CompatConfig {
    /// Also serve the PAIRED 1.0 bridge on 127.0.0.1:7890 (`BRIDGE_PORT`).
    pub bridge_1x: bool,
}

/// The PAIRED 1.0 bridge's reach (`[bridge]`). A 1.0 client without a token
/// reaches only files of a project it connected with that is also a workspace
/// an editor opened or listed here; a client that sends the daemon's token
/// reaches what the user can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeConfig {
    /// Refuse 1.0 clients that do not send the daemon's token.
    pub require_token: bool,
    /// Project folders (absolute) token-less 1.0 clients may connect to, besides
    /// the workspaces editors opened.
    pub projects: Vec<PathBuf>,
}

impl Config {
    /// Whether a browser `Origin` may call the daemon.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        origin != "null"
            && self.server.allowed_origins.iter().any(|allowed| match allowed.strip_suffix("://*") {
                Some(scheme) => {
                    origin.strip_prefix(scheme).is_some_and(|rest| rest.starts_with("://") && rest.len() > 3)
                }
                None => origin == allowed,
            })
    }
}
