//! A model provider's section: `[providers.NAME]`.

use serde::{Deserialize, Serialize};

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
    /// The model runs on this machine (Ollama, llama.cpp, LM Studio, vLLM
    /// here): context goes to it unredacted. A loopback URL is not enough —
    /// a gateway on 127.0.0.1 (LiteLLM) may forward to the cloud — so it is
    /// said, and only for endpoints on this machine.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
    /// What this provider's models cost, for the console's estimates:
    /// `[providers.NAME.prices] "MODEL" = { input_per_mtok = 2.5, output_per_mtok = 10 }`.
    /// A model without a price counts as free (the console says which).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub prices: std::collections::BTreeMap<String, ModelPrice>,
}

/// US dollars per million tokens sent to and received from a model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
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

    /// The user says the model runs here (`local = true`): context goes
    /// unredacted. Every other provider gets redacted context.
    pub fn is_local(&self) -> bool {
        self.local && self.on_this_machine()
    }

    /// Every endpoint is on this machine (loopback): what `local = true` needs.
    pub fn on_this_machine(&self) -> bool {
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
        for (model, price) in &self.prices {
            if ![price.input_per_mtok, price.output_per_mtok].iter().all(|p| (0.0..=100_000.0).contains(p)) {
                return Err(format!(
                    "key `providers.{name}.prices.{model}`: prices are US dollars per million tokens, 0 to 100000"
                ));
            }
        }
        if self.local && !self.on_this_machine() {
            return Err(format!(
                "key `providers.{name}.local`: its endpoints are not on this machine; `local = true` sends unredacted context, so it is only for a model served here"
            ));
        }
        Ok(())
    }
}
