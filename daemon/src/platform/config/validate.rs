//! Rules serde cannot express, checked on the merged configuration. Messages
//! name the key ([`KeyError`]); `layers` blames the layer that set it.

use anyhow::Result;

use super::sections::{BRIDGE_1X_PORT, Config, PERMISSION_KINDS};

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
    let completion = config.completion.provider.iter().map(|p| ("completion.provider".to_owned(), p));
    for (key, provider) in named.chain(per_agent).chain(completion) {
        if !config.providers.contains_key(provider) {
            let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
            let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
            return Err(invalid(
                key,
                format!("no provider named {provider:?}; define [providers.{provider}] (defined: {known})"),
            ));
        }
    }
    validate_tool_index(&config.sandbox.tool_index)?;
    validate_completion(&config.completion)?;
    if !(1..=86_400).contains(&config.team.usage_push_secs) {
        return Err(invalid("team.usage_push_secs", "must be 1 to 86400 seconds"));
    }
    if !(1..=86_400).contains(&config.team.policy_refresh_secs) {
        return Err(invalid("team.policy_refresh_secs", "must be 1 to 86400 seconds"));
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

/// Where pinned tools come from: HTTPS, or plain HTTP on this machine.
fn validate_tool_index(index: &str) -> Result<()> {
    match url::Url::parse(index) {
        Ok(url) if url.scheme() == "https" => Ok(()),
        Ok(url) if url.scheme() == "http" && matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")) => {
            Ok(())
        }
        Ok(_) => Err(invalid("sandbox.tool_index", "must be https (or http on loopback)")),
        Err(err) => Err(invalid("sandbox.tool_index", err.to_string())),
    }
}

fn validate_completion(completion: &super::sections::CompletionConfig) -> Result<()> {
    use super::sections::CompletionApi;
    match (&completion.template, completion.api) {
        (None, CompletionApi::Template) => {
            return Err(invalid(
                "completion.template",
                "api = \"template\" needs one: qwen, codellama, deepseek, starcoder, or your own with {prefix} and {suffix}",
            ));
        }
        (Some(template), _)
            if !(["qwen", "codellama", "deepseek", "starcoder"].contains(&template.as_str())
                || (template.contains("{prefix}") && template.contains("{suffix}"))) =>
        {
            return Err(invalid(
                "completion.template",
                format!(
                    "{template:?} is neither qwen, codellama, deepseek, starcoder nor a template with {{prefix}} and {{suffix}}"
                ),
            ));
        }
        _ => {}
    }
    if completion.max_tokens == 0 || completion.max_lines == 0 || completion.timeout_ms == 0 {
        return Err(invalid("completion", "max_tokens, max_lines and timeout_ms must be greater than 0"));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::config::{Config, SandboxConfig};

    #[test]
    fn providers_are_checked() {
        let err_of = |result: anyhow::Result<Config>| result.expect_err("invalid").to_string();
        let parse = |text: &str| -> anyhow::Result<Config> {
            let config: Config = toml::from_str(text)?;
            validate(&config)?;
            Ok(config)
        };
        let ok = "[agents]\nprovider = \"local\"\n[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3\"\nlocal = true\n";
        let config = parse(ok).expect("valid");
        assert!(config.providers["local"].is_local());
        // A loopback URL alone (a LiteLLM gateway) is not a local model.
        assert!(!parse(&ok.replace("local = true\n", "")).expect("valid").providers["local"].is_local());
        let remote = ok.replace("http://127.0.0.1:11434/v1", "https://api.openai.com/v1");
        assert!(err_of(parse(&remote)).contains("key `providers.local.local`: its endpoints are not on this machine"));
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
            let text = ok.replace("http://127.0.0.1:11434/v1", url).replace("local = true\n", "");
            parse(&text).expect("valid").providers["local"].on_this_machine()
        };
        assert!(local("http://[::1]:8080/v1") && local("http://LOCALHOST:1234") && local("http://127.0.0.2/v1"));
        assert!(!local("http://localhost@evil.example/v1") && !local("https://127.0.0.1.evil.example/v1"));
        assert!(!local("https://api.openai.com/v1"));
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
        for bad in ["http://pypi.example/simple", "file:///srv/simple", "not a url"] {
            let config =
                Config { sandbox: SandboxConfig { tool_index: bad.into(), ..Default::default() }, ..Config::default() };
            assert!(format!("{:#}", validate(&config).expect_err(bad)).contains("sandbox.tool_index"), "{bad}");
        }
        for good in ["https://pypi.org/simple", "http://127.0.0.1:3141/root/pypi/+simple"] {
            let config = Config {
                sandbox: SandboxConfig { tool_index: good.into(), ..Default::default() },
                ..Config::default()
            };
            validate(&config).expect(good);
        }
        config.log.filter = "info,[".into();
        assert!(format!("{:#}", validate(&config).expect_err("filter")).contains("log.filter"));
    }
}
