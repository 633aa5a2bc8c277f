//! Configuration: built-in defaults, then the user's `config.toml`, then the
//! project's `.paired/config.toml`, then `PAIRED_*` environment variables, each
//! overriding the one before.
//!
//! Every layer is checked on its own, so an error names the file (or variable), the
//! key and the line. Unknown keys are errors, not silently ignored.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

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
    pub providers: std::collections::BTreeMap<String, crate::provider::ProviderConfig>,
    pub agents: AgentsConfig,
    pub market: MarketConfig,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextConfig {
    /// Token budget of a context bundle when the request names none.
    pub budget_tokens: u32,
    /// Workspace files larger than this many KiB are indexed by a lexical scan
    /// of their declarations instead of a parse (generated files always are).
    pub full_parse_max_kb: u32,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig { budget_tokens: 6000, full_parse_max_kb: (context::index::FULL_PARSE_MAX_BYTES / 1024) as u32 }
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

/// Where a layer of configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Defaults,
    File(PathBuf),
    Env(Vec<String>),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Defaults => f.write_str("built-in defaults"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Env(vars) => write!(f, "environment ({})", vars.join(", ")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub sources: Vec<Source>,
}

/// Aliases kept short because users type them: `PAIRED_PORT`, `PAIRED_LOG`.
const ENV_ALIASES: [(&str, &str, &str); 2] = [("PAIRED_PORT", "daemon", "port"), ("PAIRED_LOG", "log", "filter")];

/// Loads and merges every layer. `project_dir` is the project root (the folder
/// holding `.paired/`), if any.
pub fn load(user_file: &Path, project_dir: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded> {
    let mut merged = toml::Table::new();
    let mut sources = vec![Source::Defaults];
    let project_file = project_dir.map(|dir| dir.join(".paired").join("config.toml"));
    for file in std::iter::once(user_file.to_path_buf()).chain(project_file) {
        if let Some(table) = read_layer(&file)? {
            merge(&mut merged, table);
            sources.push(Source::File(file));
        }
    }
    let (env_table, vars) = env_layer(env)?;
    if !vars.is_empty() {
        merge(&mut merged, env_table);
        sources.push(Source::Env(vars));
    }
    let config: Config = toml::Value::Table(merged).try_into().context("invalid merged configuration")?;
    validate(&config)?;
    Ok(Loaded { config, sources })
}

/// Checks one file; `Ok(None)` when it does not exist.
pub fn read_layer(path: &Path) -> Result<Option<toml::Table>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read config file {}", path.display()));
        }
    };
    let table = check_text(&text).map_err(|err| anyhow::anyhow!("{}:{err}", path.display()))?;
    Ok(Some(table))
}

/// Parses a config file's text and checks it against [`Config`]. The error reads
/// `<line>: key `<key>`: <reason>`.
pub fn check_text(text: &str) -> std::result::Result<toml::Table, String> {
    let located = |err: toml::de::Error| -> String {
        let Some(span) = err.span() else {
            return format!(" {}", err.message());
        };
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        match key_at(text, span.start) {
            Some(key) => format!("{line}: key `{key}`: {}", err.message()),
            None => format!("{line}: {}", err.message()),
        }
    };
    let table: toml::Table = toml::from_str(text).map_err(located)?;
    toml::from_str::<Config>(text).map_err(located)?;
    Ok(table)
}

/// The dotted key whose line holds byte `offset`: the last `[table]` header above
/// it, joined with the key on that line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    let header = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    if line.starts_with('[') {
        return Some(line.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    }
    let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_owned())?;
    Some(match header {
        Some(h) => format!("{h}.{key}"),
        None => key,
    })
}

/// `PAIRED_<SECTION>_<KEY>` for every key of [`Config`], plus [`ENV_ALIASES`].
fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> Result<(toml::Table, Vec<String>)> {
    let defaults = toml::Table::try_from(Config::default()).context("serializing defaults")?;
    let mut table = toml::Table::new();
    let mut used = Vec::new();
    let mut keys: Vec<(String, &str, &str)> = Vec::new();
    for (section, values) in &defaults {
        if let Some(values) = values.as_table() {
            for key in values.keys() {
                keys.push((format!("PAIRED_{}_{}", section.to_uppercase(), key.to_uppercase()), section, key));
            }
        }
    }
    for (alias, section, key) in ENV_ALIASES {
        keys.push((alias.to_owned(), section, key));
    }
    for (var, section, key) in keys {
        let Some(raw) = env(&var) else { continue };
        let default = &defaults[section][key];
        let value = parse_env_value(&raw, default)
            .with_context(|| format!("environment variable {var}={raw:?} (for `{section}.{key}`)"))?;
        let section_table = table.entry(section.to_owned()).or_insert_with(|| toml::Table::new().into());
        if let Some(section_table) = section_table.as_table_mut() {
            section_table.insert(key.to_owned(), value);
        }
        used.push(var);
    }
    Ok((table, used))
}

/// `PAIRED_*` variables that are not configuration keys.
const NON_CONFIG_ENV: [&str; 3] = ["PAIRED_TEST_HOOKS", "PAIRED_TEST_INOTIFY_EXHAUSTED", "PAIRED_BIN"];

/// Refuses `PAIRED_*` variables that name no key, such as a mistyped
/// `PAIRED_DAEMON_PROT`, which would otherwise be silently ignored.
pub fn check_env_names(names: impl IntoIterator<Item = String>) -> Result<()> {
    let defaults = toml::Table::try_from(Config::default()).context("serializing defaults")?;
    let mut known: Vec<String> = NON_CONFIG_ENV.iter().map(|s| (*s).to_owned()).collect();
    known.extend(ENV_ALIASES.iter().map(|(alias, _, _)| (*alias).to_owned()));
    for (section, values) in &defaults {
        if let Some(values) = values.as_table() {
            known.extend(values.keys().map(|key| format!("PAIRED_{}_{}", section.to_uppercase(), key.to_uppercase())));
        }
    }
    for name in names {
        if name.starts_with("PAIRED_") && !known.contains(&name) {
            bail!(
                "environment variable {name} is not a PAIRED setting; `paired config show` lists the keys (as PAIRED_<SECTION>_<KEY>)"
            );
        }
    }
    Ok(())
}

fn parse_env_value(raw: &str, like: &toml::Value) -> Result<toml::Value> {
    Ok(match like {
        toml::Value::Integer(_) => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| anyhow::anyhow!("expected a whole number"))?)
        }
        toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => bail!("expected true or false"),
        }),
        toml::Value::Array(_) => toml::Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.to_owned().into()).collect(),
        ),
        _ => toml::Value::String(raw.to_owned()),
    })
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(value)) => merge(existing, value),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Rules serde cannot express. Messages name the key.
pub fn validate(config: &Config) -> Result<()> {
    let s = &config.server;
    for (key, value) in [
        ("server.max_request_bytes", u64::from(s.max_request_bytes)),
        ("server.max_response_bytes", u64::from(s.max_response_bytes)),
        ("server.max_connections", u64::from(s.max_connections)),
        ("server.max_batch_len", u64::from(s.max_batch_len)),
        ("server.max_nesting_depth", u64::from(s.max_nesting_depth)),
        ("server.max_subscriptions_per_connection", u64::from(s.max_subscriptions_per_connection)),
        ("log.file_max_bytes", config.log.file_max_bytes),
        ("context.budget_tokens", u64::from(config.context.budget_tokens)),
        ("context.full_parse_max_kb", u64::from(config.context.full_parse_max_kb)),
        ("limits.max_running", u64::from(config.limits.max_running)),
        ("limits.per_provider", u64::from(config.limits.per_provider)),
        ("limits.offline", u64::from(config.limits.offline)),
        ("limits.max_queued", u64::from(config.limits.max_queued)),
        ("limits.max_sessions", u64::from(config.limits.max_sessions)),
    ] {
        if value == 0 {
            bail!("key `{key}`: must be greater than 0");
        }
    }
    for origin in &s.allowed_origins {
        validate_origin_pattern(origin)?;
    }
    let mut names = std::collections::BTreeSet::new();
    for registry in &config.market.registries {
        let key = format!("market.registries.{}", registry.name);
        if registry.name.is_empty() || !registry.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("key `{key}`: a registry name is letters, digits, `-` and `_`");
        }
        if !names.insert(registry.name.clone()) {
            bail!("key `{key}`: two registries with this name");
        }
        match url::Url::parse(&registry.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https" | "file") => {}
            Ok(url) => bail!("key `{key}.url`: scheme `{}` is not http, https or file", url.scheme()),
            Err(err) => bail!("key `{key}.url`: {err}"),
        }
        if !registry.root.is_absolute() {
            bail!("key `{key}.root`: must be an absolute path to the registry's root.json");
        }
    }
    for kind in &config.market.policy.deny {
        if !PERMISSION_KINDS.contains(&kind.as_str()) {
            bail!("key `market.policy.deny`: {kind:?} is not a permission kind ({})", PERMISSION_KINDS.join(", "));
        }
    }
    if config.market.fetch_timeout_secs == 0 {
        bail!("key `market.fetch_timeout_secs`: must be greater than 0");
    }
    if config.market.max_package_kb == 0 {
        bail!("key `market.max_package_kb`: must be greater than 0");
    }
    for (name, provider) in &config.providers {
        provider.validate(name).map_err(|err| anyhow::anyhow!(err))?;
    }
    let named = config.agents.provider.iter().map(|p| ("agents.provider".to_owned(), p));
    let per_agent = config.agents.providers.iter().map(|(agent, p)| (format!("agents.providers.{agent}"), p));
    for (key, provider) in named.chain(per_agent) {
        if !config.providers.contains_key(provider) {
            let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
            bail!(
                "key `{key}`: no provider named {provider:?}; define [providers.{provider}] (defined: {})",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            );
        }
    }
    if config.compat.bridge_1x && config.daemon.port == BRIDGE_1X_PORT {
        bail!(
            "key `daemon.port`: {BRIDGE_1X_PORT} is the PAIRED 1.0 bridge's port while `compat.bridge_1x` is on; pick another"
        );
    }
    tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .map_err(|err| anyhow::anyhow!("key `log.filter`: {err}"))?;
    Ok(())
}

/// An allowed origin is exact (`https://app.example:8443`) or `scheme://*` for a
/// scheme whose origins are opaque ids (`vscode-webview://*`). Wildcards over web
/// origins (`https://*`, `http://localhost*`) would let any site in.
fn validate_origin_pattern(origin: &str) -> Result<()> {
    let hint = "write `scheme://host[:port]`, or `scheme://*` for a non-web scheme such as vscode-webview";
    let Some((scheme, rest)) = origin.split_once("://") else {
        bail!("key `server.allowed_origins`: {origin:?} is not an origin; {hint}");
    };
    let web = matches!(scheme, "http" | "https" | "ws" | "wss");
    let ok = if rest == "*" {
        !web && !scheme.is_empty()
    } else {
        !rest.is_empty() && !rest.contains(['*', '/', '?', '#', '@'])
    };
    if !ok {
        bail!("key `server.allowed_origins`: {origin:?} is not allowed; {hint}");
    }
    Ok(())
}

/// The project root for `dir`: the nearest ancestor holding `.paired/` or
/// `.pairedrules` (1.0's two markers).
pub fn find_project_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.join(".paired").is_dir() || d.join(".pairedrules").is_file()).map(Path::to_path_buf)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn check(text: &str, expected: &str) {
        let actual = match check_text(text) {
            Ok(_) => "ok".to_owned(),
            Err(err) => err,
        };
        assert_eq!(actual.trim(), expected, "for:\n{text}");
    }

    #[test]
    fn providers_are_checked() {
        let parse = |text: &str| -> anyhow::Result<Config> {
            let config: Config = toml::from_str(text)?;
            validate(&config)?;
            Ok(config)
        };
        let ok = "[agents]\nprovider = \"local\"\n[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3\"\n";
        let config = parse(ok).expect("valid");
        assert!(config.providers["local"].is_local());
        let err = |text: &str| parse(text).expect_err("invalid").to_string();
        assert_eq!(
            err("[agents]\nprovider = \"cloud\"\n"),
            "key `agents.provider`: no provider named \"cloud\"; define [providers.cloud] (defined: none)"
        );
        assert!(err(&ok.replace("http://127.0.0.1:11434/v1", "ftp://x")).contains("key `providers.local.base_url`"));
        assert!(err(&ok.replace("kind = \"openai\"", "kind = \"azure\"")).contains("`providers.local.api_version`"));
        assert!(err(&ok.replace("kind = \"openai\"", "kind = \"gemini\"")).contains("unknown variant `gemini`"));
        let both = format!("{ok}api_key_env = \"K\"\napi_key_keyring = \"local\"\n");
        assert!(err(&both).contains("key `providers.local.api_key_keyring`: the key comes either from api_key_env"));
        let local = |url: &str| {
            parse(&ok.replace("http://127.0.0.1:11434/v1", url)).expect("valid").providers["local"].is_local()
        };
        assert!(local("http://[::1]:8080/v1") && local("http://LOCALHOST:1234") && local("http://127.0.0.2/v1"));
        assert!(!local("http://localhost@evil.example/v1") && !local("https://127.0.0.1.evil.example/v1"));
        assert!(!local("https://api.openai.com/v1"));
    }

    #[test]
    fn errors_name_line_key_and_reason() {
        check("[daemon]\nport = 7000\n", "ok");
        check("[daemon]\nport = 70000\n", "2: key `daemon.port`: invalid value: integer `70000`, expected u16");
        check(
            "[daemon]\nprot = 1\n",
            "2: key `daemon.prot`: unknown field `prot`, expected `port` or `autostart_idle_secs`",
        );
        check(
            "\n\n[logs]\nfilter='x'\n",
            "3: key `logs`: unknown field `logs`, expected one of `daemon`, `server`, `log`, `context`, `compat`, `limits`, `providers`, `agents`, `market`",
        );
        check(
            "[server]\nrequire_token = \"yes\"\n",
            "2: key `server.require_token`: invalid type: string \"yes\", expected a boolean",
        );
        check("[daemon\n", "1: key `daemon`: unclosed table, expected `]`");
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = dir.path().join("user.toml");
        std::fs::write(&user, "[daemon]\nport = 8000\n[log]\nfilter = \"debug\"\n").expect("write");
        let project = dir.path().join("proj");
        std::fs::create_dir_all(project.join(".paired")).expect("mkdir");
        std::fs::write(project.join(".paired/config.toml"), "[daemon]\nport = 8001\n").expect("write");
        let env: HashMap<&str, &str> = [("PAIRED_SERVER_MAX_BATCH_LEN", "3")].into();
        let loaded = load(&user, Some(&project), &|k| env.get(k).map(|v| v.to_string())).expect("load");
        assert_eq!(loaded.config.daemon.port, 8001);
        assert_eq!(loaded.config.log.filter, "debug");
        assert_eq!(loaded.config.server.max_batch_len, 3);
        assert_eq!(loaded.sources.len(), 4);

        let env: HashMap<&str, &str> = [("PAIRED_PORT", "9000")].into();
        let loaded = load(&user, Some(&project), &|k| env.get(k).map(|v| v.to_string())).expect("load");
        assert_eq!(loaded.config.daemon.port, 9000);

        let env: HashMap<&str, &str> = [("PAIRED_PORT", "ninety")].into();
        let err = load(&user, None, &|k| env.get(k).map(|v| v.to_string())).expect_err("bad env");
        assert_eq!(
            format!("{err:#}"),
            "environment variable PAIRED_PORT=\"ninety\" (for `daemon.port`): expected a whole number"
        );

        std::fs::write(&user, "[daemon]\nport = -1\n").expect("write");
        let err = load(&user, None, &|_| None).expect_err("bad file");
        assert!(format!("{err:#}").starts_with(&format!("{}:2: key `daemon.port`", user.display())), "{err:#}");
    }

    #[test]
    fn unknown_paired_variables_are_refused() {
        check_env_names(["PAIRED_PORT".to_owned(), "PAIRED_SERVER_MAX_BATCH_LEN".to_owned(), "HOME".to_owned()])
            .expect("known");
        let err = check_env_names(["PAIRED_DAEMON_PROT".to_owned()]).expect_err("typo");
        assert!(err.to_string().starts_with("environment variable PAIRED_DAEMON_PROT is not a PAIRED setting"));
    }

    #[test]
    fn semantic_rules() {
        let mut config = Config::default();
        for bad in ["null", "*", "https://*", "http://localhost*", "https://a.example/path", "nope"] {
            config.server.allowed_origins = vec![bad.into()];
            let err = format!("{:#}", validate(&config).expect_err(bad));
            assert!(err.contains("server.allowed_origins"), "{bad}: {err}");
        }
        config.server.allowed_origins = vec!["vscode-webview://*".into(), "https://app.example".into()];
        validate(&config).expect("valid");
        assert!(config.origin_allowed("vscode-webview://abc"));
        assert!(config.origin_allowed("https://app.example"));
        assert!(!config.origin_allowed("https://app.example.evil"));
        assert!(!config.origin_allowed("null"));
        config.log.filter = "info,[".into();
        assert!(format!("{:#}", validate(&config).expect_err("filter")).contains("log.filter"));
    }
}
