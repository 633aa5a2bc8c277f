//! The environment's layer: `PAIRED_<SECTION>_<KEY>` variables (and two
//! short aliases), each value checked on its own so an error names its variable.

use std::ffi::OsString;

use anyhow::{Context, Result, bail};

use super::sections::Config;

/// Aliases kept short because users type them: `PAIRED_PORT`, `PAIRED_LOG`.
const ENV_ALIASES: [(&str, &str, &str); 2] = [("PAIRED_PORT", "daemon", "port"), ("PAIRED_LOG", "log", "filter")];
/// One `PAIRED_*` variable that set a key.
pub(super) struct EnvVar {
    pub(super) name: String,
    raw: String,
    /// `section.key`.
    pub(super) key: String,
}

impl EnvVar {
    pub(super) fn shown(&self) -> String {
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
pub(super) fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> Result<(toml::Table, Vec<EnvVar>)> {
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
const NON_CONFIG_ENV: [&str; 5] = [
    "PAIRED_TEST_HOOKS",
    "PAIRED_TEST_INOTIFY_EXHAUSTED",
    "PAIRED_TEST_SETUP_SERVERS",
    "PAIRED_TEST_LOSE_STEP_UPDATES",
    "PAIRED_BIN",
];

/// The variables named after a key, `PAIRED_<SECTION>_<KEY>`, written out so
/// that reading the environment needs no TOML (`paired-lsp`, which every editor
/// window runs, links none). A test holds it to [`Config`]'s keys.
const SETTING_VARS: [&str; 50] = [
    "PAIRED_AGENTS_PROVIDERS",
    "PAIRED_BRIDGE_PROJECTS",
    "PAIRED_BRIDGE_REQUIRE_TOKEN",
    "PAIRED_COMPAT_BRIDGE_1X",
    "PAIRED_COMPLETION_API",
    "PAIRED_COMPLETION_CONTEXT_TOKENS",
    "PAIRED_COMPLETION_ENABLED",
    "PAIRED_COMPLETION_MAX_LINES",
    "PAIRED_COMPLETION_MAX_TOKENS",
    "PAIRED_COMPLETION_PREFIX_CHARS",
    "PAIRED_COMPLETION_SUFFIX_CHARS",
    "PAIRED_COMPLETION_TIMEOUT_MS",
    "PAIRED_CONTEXT_BUDGET_TOKENS",
    "PAIRED_CONTEXT_FULL_PARSE_MAX_KB",
    "PAIRED_CONTEXT_IDLE_WORKSPACE_SECS",
    "PAIRED_CONTEXT_KEEP_IDLE_WORKSPACES",
    "PAIRED_DAEMON_AUTOSTART_IDLE_SECS",
    "PAIRED_DAEMON_PORT",
    "PAIRED_LIMITS_INTERACTIVE_RESERVED",
    "PAIRED_LIMITS_MAX_QUEUED",
    "PAIRED_LIMITS_MAX_RUNNING",
    "PAIRED_LIMITS_MAX_SESSIONS",
    "PAIRED_LIMITS_OFFLINE",
    "PAIRED_LIMITS_PER_PROVIDER",
    "PAIRED_LOG_FILE_MAX_BYTES",
    "PAIRED_LOG_FILTER",
    "PAIRED_MARKET_FETCH_TIMEOUT_SECS",
    "PAIRED_MARKET_MAX_PACKAGE_KB",
    "PAIRED_MARKET_POLICY",
    "PAIRED_MARKET_REFRESH_SECS",
    "PAIRED_MARKET_REGISTRIES",
    "PAIRED_SANDBOX_DISK_MB",
    "PAIRED_SANDBOX_FETCH_PINNED",
    "PAIRED_SANDBOX_MEMORY_MB",
    "PAIRED_SANDBOX_PROCESSES",
    "PAIRED_SANDBOX_PROJECT_TOOLS",
    "PAIRED_SANDBOX_REQUIRE",
    "PAIRED_SANDBOX_TIMEOUT_SECS",
    "PAIRED_SANDBOX_TOOL_INDEX",
    "PAIRED_SANDBOX_TRY_EDITS",
    "PAIRED_SERVER_ALLOWED_ORIGINS",
    "PAIRED_SERVER_MAX_BATCH_LEN",
    "PAIRED_SERVER_MAX_CONNECTIONS",
    "PAIRED_SERVER_MAX_NESTING_DEPTH",
    "PAIRED_SERVER_MAX_REQUEST_BYTES",
    "PAIRED_SERVER_MAX_RESPONSE_BYTES",
    "PAIRED_SERVER_MAX_SUBSCRIPTIONS_PER_CONNECTION",
    "PAIRED_SERVER_REQUIRE_TOKEN",
    "PAIRED_TEAM_POLICY_REFRESH_SECS",
    "PAIRED_TEAM_USAGE_PUSH_SECS",
];

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
        let is_setting =
            |name: &str| SETTING_VARS.contains(&name) || ENV_ALIASES.iter().any(|(alias, ..)| *alias == name);
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
            if !is_setting(name) {
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

    /// What [`load`](super::load) reads as the environment.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::config::load;
    use std::{collections::HashMap, path::Path};

    fn os_pairs(pairs: &[(&[u8], &[u8])]) -> Vec<(OsString, OsString)> {
        use std::os::unix::ffi::OsStringExt;
        pairs.iter().map(|(k, v)| (OsString::from_vec(k.to_vec()), OsString::from_vec(v.to_vec()))).collect()
    }

    #[test]
    fn the_written_out_variables_are_the_config_keys() {
        let defaults = toml::Table::try_from(Config::default()).expect("defaults");
        let mut from_config: Vec<String> = env_keys(&defaults)
            .into_iter()
            .map(|(var, ..)| var)
            .filter(|var| !ENV_ALIASES.iter().any(|(a, ..)| a == var))
            .collect();
        from_config.sort();
        let mut written: Vec<String> = SETTING_VARS.iter().map(|v| (*v).to_owned()).collect();
        written.sort();
        assert_eq!(written, from_config, "SETTING_VARS must list PAIRED_<SECTION>_<KEY> for every key of Config");
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
}
