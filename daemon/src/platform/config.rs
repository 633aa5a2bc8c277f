//! Configuration: built-in defaults, then the user's `config.toml`, then the
//! project's `.paired/config.toml`, then `PAIRED_*` environment variables, each
//! overriding the one before.
//!
//! Every layer is checked on its own, so an error names the file (or variable), the
//! key and the line. Unknown keys are errors, not silently ignored.

use std::{
    ffi::OsString,
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
    pub providers: std::collections::BTreeMap<String, ProviderConfig>,
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
    /// Problems that do not stop the program, one sentence each, such as an
    /// unknown `PAIRED_*` variable when an editor launched us (`paired lsp`,
    /// `paired acp`): the caller logs them once, and a front may show them.
    pub warnings: Vec<String>,
}

/// Aliases kept short because users type them: `PAIRED_PORT`, `PAIRED_LOG`.
const ENV_ALIASES: [(&str, &str, &str); 2] = [("PAIRED_PORT", "daemon", "port"), ("PAIRED_LOG", "log", "filter")];

/// Loads and merges every layer. `project_dir` is the project root (the folder
/// holding `.paired/`), if any.
///
/// A rule broken by the merged configuration (a limit of 0, a provider nobody
/// defined) is blamed on the last layer that set the key: `<file>:<line>: key …`
/// or `environment variable PAIRED_… (for …)`.
pub fn load(user_file: &Path, project_dir: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded> {
    let mut merged = toml::Table::new();
    let mut sources = vec![Source::Defaults];
    let mut files = Vec::new();
    let project_file = project_dir.map(|dir| dir.join(".paired").join("config.toml"));
    for file in std::iter::once(user_file.to_path_buf()).chain(project_file) {
        if let Some((table, text)) = read_layer_text(&file)? {
            merge(&mut merged, table);
            sources.push(Source::File(file.clone()));
            files.push((file, text));
        }
    }
    let (env_table, vars) = env_layer(env)?;
    if !vars.is_empty() {
        merge(&mut merged, env_table);
        sources.push(Source::Env(vars.iter().map(|v| v.name.clone()).collect()));
    }
    let config: Config = toml::Value::Table(merged).try_into().context("invalid merged configuration")?;
    validate(&config).map_err(|err| blame(err, &files, &vars))?;
    Ok(Loaded { config, sources, warnings: Vec::new() })
}

/// Checks one file; `Ok(None)` when it does not exist.
pub fn read_layer(path: &Path) -> Result<Option<toml::Table>> {
    Ok(read_layer_text(path)?.map(|(table, _)| table))
}

fn read_layer_text(path: &Path) -> Result<Option<(toml::Table, String)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read config file {}", path.display()));
        }
    };
    let table = check_text(&text).map_err(|err| anyhow::anyhow!("{}:{err}", path.display()))?;
    Ok(Some((table, text)))
}

/// A configuration rule broken by the value of one key.
#[derive(Debug, thiserror::Error)]
#[error("key `{key}`: {reason}")]
pub struct KeyError {
    /// Dotted, as in the file: `limits.max_running`, `providers.local.model`,
    /// `market.registries.<name>.url` (an entry of an array by its `name`).
    pub key: String,
    pub reason: String,
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> anyhow::Error {
    KeyError { key: key.into(), reason: reason.into() }.into()
}

/// Names where a broken rule's key was set: the environment variable, else the
/// last file that sets it (or, failing that, the deepest part of it), with its line.
fn blame(err: anyhow::Error, files: &[(PathBuf, String)], vars: &[EnvVar]) -> anyhow::Error {
    let Some(KeyError { key, reason }) = err.downcast_ref::<KeyError>() else { return err };
    let within = |set: &str| key == set || key.starts_with(&format!("{set}."));
    if let Some(var) = vars.iter().rev().find(|v| within(&v.key)) {
        return anyhow::anyhow!("{}: {reason}", var.shown());
    }
    let mut best: Option<(usize, &Path, usize)> = None;
    for (path, text) in files.iter().rev() {
        if let Some((depth, line)) = key_line(text, key)
            && best.is_none_or(|(d, _, _)| depth > d)
        {
            best = Some((depth, path, line));
        }
    }
    match best {
        Some((_, path, line)) => anyhow::anyhow!("{}:{line}: key `{key}`: {reason}", path.display()),
        None => err,
    }
}

/// How many parts of the dotted `key` a file's text sets, and the line of the
/// deepest one. An array of tables is entered by its entries' `name`.
fn key_line(text: &str, key: &str) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    let mut parts = key.split('.').peekable();
    let mut depth = 0;
    while let Some(part) = parts.next() {
        let Some((name, value)) = table.iter().find(|(name, _)| name.get_ref() == part) else { break };
        depth += 1;
        found = Some(name.span().start);
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            DeValue::Array(items) => {
                let Some(&wanted) = parts.peek() else { break };
                let entry = items.iter().find_map(|item| match item.get_ref() {
                    DeValue::Table(entry)
                        if entry.iter().any(|(k, v)| {
                            k.get_ref() == "name" && matches!(v.get_ref(), DeValue::String(s) if s == wanted)
                        }) =>
                    {
                        Some((item.span().start, entry))
                    }
                    _ => None,
                });
                let Some((start, entry)) = entry else { break };
                parts.next();
                depth += 1;
                found = Some(start);
                table = entry;
            }
            _ => break,
        }
    }
    let offset = found?;
    Some((depth, text[..offset.min(text.len())].matches('\n').count() + 1))
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

/// One `PAIRED_*` variable that set a key.
struct EnvVar {
    name: String,
    raw: String,
    /// `section.key`.
    key: String,
}

impl EnvVar {
    fn shown(&self) -> String {
        format!("environment variable {}={:?} (for `{}`)", self.name, self.raw, self.key)
    }
}

/// Every variable that sets a key: `PAIRED_<SECTION>_<KEY>` for every key of
/// [`Config`], plus [`ENV_ALIASES`]; `(variable, section, key)`.
fn env_keys(defaults: &toml::Table) -> Vec<(String, &str, &str)> {
    let mut keys: Vec<(String, &str, &str)> = Vec::new();
    for (section, values) in defaults {
        if let Some(values) = values.as_table() {
            for key in values.keys() {
                keys.push((format!("PAIRED_{}_{}", section.to_uppercase(), key.to_uppercase()), section, key));
            }
        }
    }
    for (alias, section, key) in ENV_ALIASES {
        keys.push((alias.to_owned(), section, key));
    }
    keys
}

/// The environment's layer. Each value is checked on its own, so an error
/// names its variable.
fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> Result<(toml::Table, Vec<EnvVar>)> {
    let defaults = toml::Table::try_from(Config::default()).context("serializing defaults")?;
    let mut table = toml::Table::new();
    let mut used = Vec::new();
    for (var, section, key) in env_keys(&defaults) {
        let Some(raw) = env(&var) else { continue };
        let var = EnvVar { name: var, raw, key: format!("{section}.{key}") };
        let value = parse_env_value(&var.raw, &defaults[section][key]).with_context(|| var.shown())?;
        let alone = toml::Table::from_iter([(
            section.to_owned(),
            toml::Table::from_iter([(key.to_owned(), value.clone())]).into(),
        )]);
        if let Err(err) = toml::Value::Table(alone).try_into::<Config>() {
            let reason = match value.as_integer().and(integer_range(section, key)) {
                Some((min, max)) => format!("must be a whole number from {min} to {max}"),
                None => err.message().trim().to_owned(),
            };
            return Err(anyhow::anyhow!(reason).context(var.shown()));
        }
        let section_table = table.entry(section.to_owned()).or_insert_with(|| toml::Table::new().into());
        if let Some(section_table) = section_table.as_table_mut() {
            section_table.insert(key.to_owned(), value);
        }
        used.push(var);
    }
    Ok((table, used))
}

/// The whole numbers `section.key` takes, found by trying them: the bounds of
/// its integer type.
fn integer_range(section: &str, key: &str) -> Option<(i64, i64)> {
    let fits = |n: i64| {
        let alone = toml::Table::from_iter([(
            section.to_owned(),
            toml::Table::from_iter([(key.to_owned(), toml::Value::Integer(n))]).into(),
        )]);
        toml::Value::Table(alone).try_into::<Config>().is_ok()
    };
    let bounds = [i64::from(u8::MAX), i64::from(u16::MAX), i64::from(u32::MAX), i64::MAX];
    let max = bounds.into_iter().take_while(|&n| fits(n)).last()?;
    let min = if fits(-1) { i64::MIN } else { 0 };
    Some((min, max))
}

/// `PAIRED_*` variables that are not configuration keys.
const NON_CONFIG_ENV: [&str; 3] = ["PAIRED_TEST_HOOKS", "PAIRED_TEST_INOTIFY_EXHAUSTED", "PAIRED_BIN"];

/// The process's `PAIRED_*` variables, read once and checked: values by name,
/// and the variables that name no setting.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    values: std::collections::BTreeMap<String, String>,
    unknown: Vec<String>,
}

impl Environment {
    pub fn from_process() -> Result<Environment> {
        Environment::from_vars(std::env::vars_os())
    }

    /// A setting whose value is not UTF-8 is an error naming it (`std::env::var`
    /// would pass it over, and the default would apply without a word).
    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Result<Environment> {
        let defaults = toml::Table::try_from(Config::default()).context("serializing defaults")?;
        let settings: Vec<String> = env_keys(&defaults).into_iter().map(|(var, _, _)| var).collect();
        let mut environment = Environment::default();
        for (name, value) in vars {
            if !name.as_encoded_bytes().starts_with(b"PAIRED_") {
                continue;
            }
            let Some(name) = name.to_str() else {
                environment.unknown.push(name.to_string_lossy().into_owned());
                continue;
            };
            if NON_CONFIG_ENV.contains(&name) {
                continue;
            }
            if !settings.iter().any(|s| s == name) {
                environment.unknown.push(name.to_owned());
                continue;
            }
            match value.into_string() {
                Ok(value) => {
                    environment.values.insert(name.to_owned(), value);
                }
                Err(value) => bail!(
                    "environment variable {name}={value:?} is not valid UTF-8; set it to a setting's value or unset it"
                ),
            }
        }
        environment.unknown.sort();
        Ok(environment)
    }

    /// What [`load`] reads as the environment.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// One sentence per variable that names no setting, such as a mistyped
    /// `PAIRED_DAEMON_PROT`.
    pub fn warnings(&self) -> Vec<String> {
        self.unknown
            .iter()
            .map(|name| {
                format!(
                    "environment variable {name} is not a PAIRED setting; `paired config show` lists the keys (as PAIRED_<SECTION>_<KEY>)"
                )
            })
            .collect()
    }

    /// Refuses variables that name no setting, which would otherwise be
    /// silently ignored: for commands a person types.
    pub fn refuse_unknown(&self) -> Result<()> {
        match self.warnings().into_iter().next() {
            Some(warning) => Err(anyhow::anyhow!(warning)),
            None => Ok(()),
        }
    }
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
            return Err(invalid(key, "must be greater than 0"));
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
            return Err(invalid(key, "a registry name is letters, digits, `-` and `_`"));
        }
        if !names.insert(registry.name.clone()) {
            return Err(invalid(key, "two registries with this name"));
        }
        match url::Url::parse(&registry.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https" | "file") => {}
            Ok(url) => {
                return Err(invalid(
                    format!("{key}.url"),
                    format!("scheme `{}` is not http, https or file", url.scheme()),
                ));
            }
            Err(err) => return Err(invalid(format!("{key}.url"), err.to_string())),
        }
        if !registry.root.is_absolute() {
            return Err(invalid(format!("{key}.root"), "must be an absolute path to the registry's root.json"));
        }
    }
    for kind in &config.market.policy.deny {
        if !PERMISSION_KINDS.contains(&kind.as_str()) {
            return Err(invalid(
                "market.policy.deny",
                format!("{kind:?} is not a permission kind ({})", PERMISSION_KINDS.join(", ")),
            ));
        }
    }
    if config.market.fetch_timeout_secs == 0 {
        return Err(invalid("market.fetch_timeout_secs", "must be greater than 0"));
    }
    if config.market.max_package_kb == 0 {
        return Err(invalid("market.max_package_kb", "must be greater than 0"));
    }
    for (name, provider) in &config.providers {
        // The provider's messages read "key `<key>`: <reason>".
        provider.validate(name).map_err(|err| match err.strip_prefix("key `").and_then(|r| r.split_once("`: ")) {
            Some((key, reason)) => invalid(key, reason),
            None => anyhow::anyhow!(err),
        })?;
    }
    let named = config.agents.provider.iter().map(|p| ("agents.provider".to_owned(), p));
    let per_agent = config.agents.providers.iter().map(|(agent, p)| (format!("agents.providers.{agent}"), p));
    for (key, provider) in named.chain(per_agent) {
        if !config.providers.contains_key(provider) {
            let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
            let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
            return Err(invalid(
                key,
                format!("no provider named {provider:?}; define [providers.{provider}] (defined: {known})"),
            ));
        }
    }
    if config.compat.bridge_1x && config.daemon.port == BRIDGE_1X_PORT {
        return Err(invalid(
            "daemon.port",
            format!("{BRIDGE_1X_PORT} is the PAIRED 1.0 bridge's port while `compat.bridge_1x` is on; pick another"),
        ));
    }
    tracing_subscriber::EnvFilter::try_new(&config.log.filter).map_err(|err| invalid("log.filter", err.to_string()))?;
    Ok(())
}

/// An allowed origin is exact (`https://app.example:8443`) or `scheme://*` for a
/// scheme whose origins are opaque ids (`vscode-webview://*`). Wildcards over web
/// origins (`https://*`, `http://localhost*`) would let any site in.
fn validate_origin_pattern(origin: &str) -> Result<()> {
    let hint = "write `scheme://host[:port]`, or `scheme://*` for a non-web scheme such as vscode-webview";
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(invalid("server.allowed_origins", format!("{origin:?} is not an origin; {hint}")));
    };
    let web = matches!(scheme, "http" | "https" | "ws" | "wss");
    let ok = if rest == "*" {
        !web && !scheme.is_empty()
    } else {
        !rest.is_empty() && !rest.contains(['*', '/', '?', '#', '@'])
    };
    if !ok {
        return Err(invalid("server.allowed_origins", format!("{origin:?} is not allowed; {hint}")));
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

/// The configuration a running daemon applies when the user's `config.toml`
/// changes: the marketplace (`[market]`: registries, policy, limits). The rest
/// is fixed at start (ports, limits, providers, logging…): a change there is
/// logged as needing a restart and kept in `restart_needed`.
#[derive(Debug)]
pub struct Live {
    market: std::sync::RwLock<std::sync::Arc<MarketConfig>>,
    restart_needed: std::sync::Mutex<Vec<String>>,
}

impl Live {
    pub fn new(config: &Config) -> Live {
        Live {
            market: std::sync::RwLock::new(std::sync::Arc::new(config.market.clone())),
            restart_needed: std::sync::Mutex::default(),
        }
    }

    /// The marketplace configuration in force now.
    pub fn market(&self) -> std::sync::Arc<MarketConfig> {
        self.market.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sections of the file that changed since start and apply only after a restart.
    pub fn restart_needed(&self) -> Vec<String> {
        self.restart_needed.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Applies a changed configuration (`loaded`: the user's file and the
    /// environment, as `paired daemon` reads them, or why it could not be
    /// read) against `started`, the one the daemon started with. A bad file
    /// changes nothing. Says what happened, one sentence, for the log.
    pub fn apply(&self, started: &Config, loaded: Result<Config>) -> Reload {
        let config = match loaded {
            Ok(config) => config,
            Err(err) => return Reload::Invalid(format!("{err:#}")),
        };
        let market_changed = {
            let mut market = self.market.write().unwrap_or_else(|p| p.into_inner());
            let changed = **market != config.market;
            if changed {
                *market = std::sync::Arc::new(config.market.clone());
            }
            changed
        };
        let restart = fixed_sections_changed(started, &config);
        *self.restart_needed.lock().unwrap_or_else(|p| p.into_inner()) = restart.clone();
        Reload::Applied { market_changed, restart_needed: restart }
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// The file does not load: the configuration in force is kept.
    Invalid(String),
    Applied {
        market_changed: bool,
        /// Sections that differ from the running daemon's and need a restart.
        restart_needed: Vec<String>,
    },
}

/// The top-level sections other than `[market]` in which `new` differs from
/// `started`.
fn fixed_sections_changed(started: &Config, new: &Config) -> Vec<String> {
    let (Ok(toml::Value::Table(old)), Ok(toml::Value::Table(new))) =
        (toml::Value::try_from(started), toml::Value::try_from(new))
    else {
        return vec!["(the configuration could not be compared)".to_owned()];
    };
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).filter(|k| *k != "market").collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| old.get(*k) != new.get(*k)).cloned().collect()
}

/// A model provider: `[providers.NAME]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenAI-compatible `/chat/completions`: OpenAI, Ollama, llama.cpp,
    /// vLLM, LM Studio, OpenRouter.
    Openai,
    /// Azure OpenAI: a deployment URL, `api-key` header, `api-version`.
    Azure,
    /// Anthropic Messages.
    Anthropic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// The API's base URL, e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Several endpoints of the same API: requests rotate over them and fail
    /// over to the next when one is down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_urls: Vec<String>,
    pub model: String,
    /// The environment variable holding the API key (none for a local model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The OS keyring entry holding the API key (service `paired`), stored with
    /// `paired providers set-key ENTRY`. Exclusive with `api_key_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_keyring: Option<String>,
    /// Azure's `api-version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Longest silence allowed while waiting for or reading the response.
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: u64,
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Requests in flight to this provider at once (default: `limits.per_provider`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
}

fn default_connect_timeout() -> u64 {
    5
}
fn default_read_timeout() -> u64 {
    60
}
fn default_retries() -> u32 {
    3
}
fn default_max_tokens() -> u32 {
    2048
}

impl ProviderConfig {
    pub fn endpoints(&self) -> Vec<String> {
        let mut all: Vec<String> = self.base_url.iter().cloned().collect();
        all.extend(self.base_urls.iter().cloned());
        all.iter().map(|u| u.trim_end_matches('/').to_owned()).collect()
    }

    /// Every endpoint is on this machine: context need not be redacted.
    pub fn is_local(&self) -> bool {
        let endpoints = self.endpoints();
        !endpoints.is_empty()
            && endpoints.iter().all(|url| {
                // Parsed, not split: `http://localhost@evil.example` is not local.
                match url::Url::parse(url).ok().and_then(|u| u.host().map(|h| h.to_owned())) {
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                    None => false,
                }
            })
    }

    /// Rules serde cannot express; messages name the key.
    pub fn validate(&self, name: &str) -> Result<(), String> {
        let endpoints = self.endpoints();
        if endpoints.is_empty() {
            return Err(format!("key `providers.{name}.base_url`: set the API's URL"));
        }
        for url in &endpoints {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!("key `providers.{name}.base_url`: {url:?} is not an http(s) URL"));
            }
        }
        if self.model.trim().is_empty() {
            return Err(format!("key `providers.{name}.model`: name the model"));
        }
        if self.kind == ProviderKind::Azure && self.api_version.is_none() {
            return Err(format!("key `providers.{name}.api_version`: Azure OpenAI needs it (e.g. \"2024-10-21\")"));
        }
        if self.api_key_env.is_some() && self.api_key_keyring.is_some() {
            return Err(format!(
                "key `providers.{name}.api_key_keyring`: the key comes either from api_key_env or from the keyring; keep one"
            ));
        }
        if self.connect_timeout_secs == 0 || self.read_timeout_secs == 0 {
            return Err(format!("key `providers.{name}`: timeouts must be greater than 0"));
        }
        Ok(())
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
            "3: key `logs`: unknown field `logs`, expected one of `daemon`, `server`, `log`, `context`, `compat`, `bridge`, `limits`, `providers`, `agents`, `market`",
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

    fn os_pairs(pairs: &[(&[u8], &[u8])]) -> Vec<(OsString, OsString)> {
        use std::os::unix::ffi::OsStringExt;
        pairs.iter().map(|(k, v)| (OsString::from_vec(k.to_vec()), OsString::from_vec(v.to_vec()))).collect()
    }

    #[test]
    fn unknown_paired_variables_are_refused_or_warned() {
        let env = Environment::from_vars(os_pairs(&[
            (b"PAIRED_PORT", b"1"),
            (b"PAIRED_SERVER_MAX_BATCH_LEN", b"2"),
            (b"HOME", b"/h"),
        ]))
        .expect("known");
        env.refuse_unknown().expect("nothing unknown");
        assert_eq!(env.get("PAIRED_PORT").as_deref(), Some("1"));
        let env = Environment::from_vars(os_pairs(&[(b"PAIRED_DAEMON_PROT", b"1"), (b"PAIRED_\xff", b"1")]))
            .expect("unknown names are not fatal here");
        let warnings = env.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("environment variable PAIRED_DAEMON_PROT is not a PAIRED setting"));
        assert!(warnings[1].starts_with("environment variable PAIRED_\u{fffd} is not a PAIRED setting"));
        let err = env.refuse_unknown().expect_err("typo");
        assert!(err.to_string().starts_with("environment variable PAIRED_DAEMON_PROT is not a PAIRED setting"));
    }

    /// Issue #14: `PAIRED_PORT=$'\xff'` was read as unset, so the default port applied.
    #[test]
    fn a_setting_that_is_not_utf8_is_refused() {
        let err = Environment::from_vars(os_pairs(&[(b"PAIRED_PORT", b"\xff")])).expect_err("not UTF-8");
        assert_eq!(
            err.to_string(),
            "environment variable PAIRED_PORT=\"\\xFF\" is not valid UTF-8; set it to a setting's value or unset it"
        );
        // Variables that are not settings keep whatever bytes they hold.
        Environment::from_vars(os_pairs(&[(b"PAIRED_BIN", b"/tmp/\xff/paired")])).expect("not a setting");
    }

    /// Issue #14: a value out of a key's range names the variable and the range.
    #[test]
    fn environment_values_are_checked_one_by_one() {
        let load_env = |pairs: &[(&str, &str)]| {
            let env: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            load(Path::new("/nonexistent/config.toml"), None, &|k| env.get(k).cloned()).map_err(|e| format!("{e:#}"))
        };
        assert_eq!(
            load_env(&[("PAIRED_PORT", "99999")]).expect_err("range"),
            "environment variable PAIRED_PORT=\"99999\" (for `daemon.port`): must be a whole number from 0 to 65535"
        );
        assert_eq!(
            load_env(&[("PAIRED_LIMITS_MAX_RUNNING", "-1")]).expect_err("range"),
            "environment variable PAIRED_LIMITS_MAX_RUNNING=\"-1\" (for `limits.max_running`): must be a whole number from 0 to 4294967295"
        );
        assert_eq!(
            load_env(&[("PAIRED_LIMITS_MAX_RUNNING", "0")]).expect_err("rule"),
            "environment variable PAIRED_LIMITS_MAX_RUNNING=\"0\" (for `limits.max_running`): must be greater than 0"
        );
        assert!(
            load_env(&[("PAIRED_MARKET_REGISTRIES", "x")])
                .expect_err("type")
                .starts_with("environment variable PAIRED_MARKET_REGISTRIES=\"x\" (for `market.registries`): ")
        );
        assert_eq!(load_env(&[("PAIRED_PORT", "65535")]).expect("in range").config.daemon.port, 65535);
    }

    /// Issue #14: rules checked on the merged configuration name the file, key
    /// and line that set the value.
    #[test]
    fn broken_rules_name_the_layer_that_set_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = dir.path().join("config.toml");
        let project = dir.path().join("proj");
        std::fs::create_dir_all(project.join(".paired")).expect("mkdir");
        let project_file = project.join(".paired/config.toml");
        let load_err = |user_text: &str, project_text: &str| {
            std::fs::write(&user, user_text).expect("write");
            std::fs::write(&project_file, project_text).expect("write");
            format!("{:#}", load(&user, Some(&project), &|_| None).expect_err("invalid"))
        };
        let user_shown = user.display().to_string();
        let project_shown = project_file.display().to_string();
        assert_eq!(
            load_err("# limits\n\n[limits]\noffline = 2\nmax_running = 0\n", "[limits]\noffline = 3\n"),
            format!("{user_shown}:5: key `limits.max_running`: must be greater than 0")
        );
        assert_eq!(
            load_err("[limits]\nmax_running = 0\n", "\n[limits]\nmax_running = 0\n"),
            format!("{project_shown}:3: key `limits.max_running`: must be greater than 0"),
            "the last layer that sets the key is blamed"
        );
        assert_eq!(
            load_err("[server]\nallowed_origins = [\"https://*\"]\n", ""),
            format!(
                "{user_shown}:2: key `server.allowed_origins`: \"https://*\" is not allowed; write `scheme://host[:port]`, or `scheme://*` for a non-web scheme such as vscode-webview"
            )
        );
        let registries = "[[market.registries]]\nname = \"a\"\nurl = \"https://a.example\"\nroot = \"/r.json\"\n\n[[market.registries]]\nname = \"b\"\nurl = \"gopher://b\"\nroot = \"/r.json\"\n";
        assert_eq!(
            load_err(registries, ""),
            format!("{user_shown}:8: key `market.registries.b.url`: scheme `gopher` is not http, https or file")
        );
        assert_eq!(
            load_err("[providers.local]\nkind = \"openai\"\nbase_url = \"ftp://x\"\nmodel = \"m\"\n", ""),
            format!("{user_shown}:3: key `providers.local.base_url`: \"ftp://x\" is not an http(s) URL")
        );
        assert_eq!(
            load_err("", "[agents]\nprovider = \"cloud\"\n"),
            format!(
                "{project_shown}:2: key `agents.provider`: no provider named \"cloud\"; define [providers.cloud] (defined: none)"
            )
        );
    }

    /// Issue #15: a registry added to config.toml is used at once; a bad
    /// file keeps the configuration in force; other sections need a restart.
    #[test]
    fn the_market_section_reloads_and_the_rest_needs_a_restart() {
        let started = Config::default();
        let live = Live::new(&started);
        assert!(live.market().registries.is_empty());
        let mut changed = started.clone();
        changed.market.registries.push(RegistryConfig {
            name: "acme".into(),
            url: "https://agents.acme.example".into(),
            root: "/r.json".into(),
            token_env: None,
        });
        let outcome = live.apply(&started, Ok(changed.clone()));
        assert_eq!(outcome, Reload::Applied { market_changed: true, restart_needed: vec![] });
        assert_eq!(live.market().registries[0].name, "acme");
        let outcome = live.apply(&started, Err(anyhow::anyhow!("config.toml:2: key `market.x`: unknown field")));
        assert!(matches!(outcome, Reload::Invalid(why) if why.contains("unknown field")));
        assert_eq!(live.market().registries.len(), 1, "a bad file keeps what was in force");
        changed.limits.max_running = 3;
        changed.log.filter = "debug".into();
        let outcome = live.apply(&started, Ok(changed));
        assert_eq!(
            outcome,
            Reload::Applied { market_changed: false, restart_needed: vec!["limits".into(), "log".into()] }
        );
        assert_eq!(live.restart_needed(), ["limits", "log"]);
        live.apply(&started, Ok(started.clone()));
        assert!(live.restart_needed().is_empty() && live.market().registries.is_empty(), "reverted");
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
