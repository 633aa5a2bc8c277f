//! Model providers: OpenAI-compatible chat completions (OpenAI, Azure OpenAI,
//! Ollama, llama.cpp, vLLM, LM Studio, OpenRouter) and Anthropic Messages, both
//! streamed over SSE, with tool calls.
//!
//! Reliability rules: connect and read timeouts on every request; retries with
//! backoff on 429 and 5xx (honouring `Retry-After`) and on connection failures,
//! moving to the next endpoint, but never once output has streamed (the caller
//! already showed it); dropping the future aborts the HTTP request (how
//! `runs/cancel` and `$/cancelRequest` stop a run). API keys come from the
//! environment or the OS keyring (`crate::platform::secrets`) and are never logged or put
//! in an error.

use std::{sync::atomic::AtomicUsize, time::Duration};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};

pub use crate::platform::config::{ProviderConfig, ProviderKind};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// `user`, `assistant` or `tool`.
    pub role: String,
    pub content: String,
    /// Tool calls the assistant made (in an assistant message).
    pub tool_calls: Vec<ToolCall>,
    /// The call this message answers (in a tool message).
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Message {
        Message { role: "user".into(), content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text, as the model wrote it.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    /// At most this many tokens in the answer; else the provider's `max_tokens`.
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub stop_reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{0}")]
    Config(String),
    #[error("{endpoint}: HTTP {status}: {detail}")]
    Http { endpoint: String, status: u16, detail: String },
    #[error("{endpoint}: {detail}")]
    Transport { endpoint: String, detail: String },
    #[error("{endpoint}: the stream broke after output had started ({detail}); not retried, the output so far is kept")]
    Interrupted { endpoint: String, detail: String },
    #[error("{endpoint}: malformed stream: {detail}")]
    Malformed { endpoint: String, detail: String },
    #[error("gave up after {attempts} attempt(s); last: {last}")]
    Exhausted { attempts: u32, last: Box<ProviderError> },
}

impl ProviderError {
    /// Worth another attempt (at the same or another endpoint)?
    fn retryable(&self) -> bool {
        match self {
            ProviderError::Http { status, .. } => *status == 429 || *status >= 500,
            ProviderError::Transport { .. } => true,
            _ => false,
        }
    }
}

/// A provider ready to call.
pub struct Provider {
    pub name: String,
    pub config: ProviderConfig,
    client: reqwest::Client,
    next: AtomicUsize,
    /// The key read from the keyring, kept until the API refuses it.
    keyring_key: std::sync::Mutex<Option<String>>,
}

impl Provider {
    pub fn new(name: &str, config: ProviderConfig) -> Result<Provider, ProviderError> {
        config.validate(name).map_err(ProviderError::Config)?;
        let client = crate::platform::http::client()
            .connect_timeout(Duration::from_secs(config.connect_timeout_secs))
            .read_timeout(Duration::from_secs(config.read_timeout_secs))
            .build()
            .map_err(|err| ProviderError::Config(format!("provider {name}: cannot build an HTTP client: {err}")))?;
        Ok(Provider {
            name: name.to_owned(),
            config,
            client,
            next: AtomicUsize::new(0),
            keyring_key: std::sync::Mutex::new(None),
        })
    }

    async fn api_key(&self) -> Result<Option<String>, ProviderError> {
        if let Some(entry) = &self.config.api_key_keyring {
            if let Some(key) = self.keyring_key.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                return Ok(Some(key));
            }
            let lookup = entry.clone();
            let key = tokio::task::spawn_blocking(move || crate::platform::secrets::get(&lookup))
                .await
                .map_err(|err| ProviderError::Config(format!("provider {}: keyring lookup failed: {err}", self.name)))?
                .map_err(|err| ProviderError::Config(format!("provider {}: {err}", self.name)))?;
            *self.keyring_key.lock().unwrap_or_else(|e| e.into_inner()) = Some(key.clone());
            return Ok(Some(key));
        }
        let Some(var) = &self.config.api_key_env else { return Ok(None) };
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(Some(key.trim().to_owned())),
            _ => Err(ProviderError::Config(format!(
                "provider {}: the environment variable {var} (its api_key_env) is not set; export it where the daemon runs, or remove api_key_env for a local model",
                self.name
            ))),
        }
    }

    /// One chat turn, streamed: `on_stream` gets each piece of text, and each
    /// tool call's arguments so far, as they arrive.
    pub async fn chat(
        &self,
        request: &ChatRequest,
        on_stream: &mut OnStream<'_>,
    ) -> Result<ChatResponse, ProviderError> {
        let key = self.api_key().await?;
        let endpoints = self.config.endpoints();
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let attempts = self.config.max_retries + 1;
        let mut last = None;
        for attempt in 0..attempts {
            let endpoint = &endpoints[(start + attempt as usize) % endpoints.len()];
            let mut streamed = false;
            let outcome = {
                let mut forward = |piece: Streamed<'_>| {
                    streamed = true;
                    on_stream(piece);
                };
                self.attempt(endpoint, key.as_deref(), request, &mut forward).await
            };
            let (error, retry_after) = match outcome {
                Ok(response) => return Ok(response),
                Err((error, retry_after)) => (error, retry_after),
            };
            if let ProviderError::Http { status: 401 | 403, .. } = error {
                // A rotated key in the keyring is picked up by the next run.
                *self.keyring_key.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            if streamed || !error.retryable() {
                return Err(error);
            }
            tracing::warn!(provider = %self.name, attempt = attempt + 1, "model call failed, retrying: {error}");
            if attempt + 1 < attempts {
                let backoff = Duration::from_millis(250 * 2u64.pow(attempt.min(6)));
                let wait = retry_after.unwrap_or(backoff).min(Duration::from_secs(30));
                tokio::time::sleep(wait).await;
            }
            last = Some(error);
        }
        let last = last.unwrap_or_else(|| ProviderError::Config("no attempt was made".into()));
        Err(ProviderError::Exhausted { attempts, last: Box::new(last) })
    }

    /// Where the key comes from, for messages (never the key).
    fn key_source(&self) -> Option<String> {
        match (&self.config.api_key_env, &self.config.api_key_keyring) {
            (Some(var), _) => Some(var.clone()),
            (None, Some(entry)) => {
                Some(format!("the OS keyring entry {entry}; replace it with `paired providers set-key {entry}`"))
            }
            (None, None) => None,
        }
    }

    fn url(&self, endpoint: &str) -> String {
        match self.config.kind {
            ProviderKind::Openai => format!("{endpoint}/chat/completions"),
            ProviderKind::Azure => format!(
                "{endpoint}/chat/completions?api-version={}",
                self.config.api_version.as_deref().unwrap_or("2024-10-21")
            ),
            ProviderKind::Anthropic => format!("{endpoint}/v1/messages"),
        }
    }

    fn body(&self, request: &ChatRequest) -> Value {
        match self.config.kind {
            ProviderKind::Anthropic => anthropic_body(&self.config, request),
            _ => openai_body(&self.config, request),
        }
    }

    /// A JSON POST to `url` with the provider's authentication.
    pub(crate) fn post(&self, url: &str, key: Option<&str>, body: String) -> reqwest::RequestBuilder {
        let builder = self.client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        match (self.config.kind, key) {
            (ProviderKind::Anthropic, key) => {
                let builder = builder.header("anthropic-version", "2023-06-01");
                match key {
                    Some(key) => builder.header("x-api-key", key),
                    None => builder,
                }
            }
            (ProviderKind::Azure, Some(key)) => builder.header("api-key", key),
            (_, Some(key)) => builder.bearer_auth(key),
            (_, None) => builder,
        }
    }

    /// The API key, if the provider has one (never logged).
    pub(crate) async fn key(&self) -> Result<Option<String>, ProviderError> {
        self.api_key().await
    }

    /// An HTTP error reply in words: the API's message and what to do about it.
    pub(crate) async fn refusal(&self, endpoint: &str, response: reqwest::Response) -> ProviderError {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        ProviderError::Http {
            endpoint: endpoint.to_owned(),
            status,
            detail: error_detail(&body, status, self.key_source().as_deref()),
        }
    }

    async fn attempt(
        &self,
        endpoint: &str,
        key: Option<&str>,
        request: &ChatRequest,
        on_stream: &mut OnStream<'_>,
    ) -> Result<ChatResponse, (ProviderError, Option<Duration>)> {
        let transport = |detail: String| ProviderError::Transport { endpoint: endpoint.to_owned(), detail };
        let builder = self.post(&self.url(endpoint), key, self.body(request).to_string());
        let response = builder.send().await.map_err(|err| (transport(describe(&err)), None))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response.text().await.unwrap_or_default();
            let detail = error_detail(&body, status.as_u16(), self.key_source().as_deref());
            return Err((
                ProviderError::Http { endpoint: endpoint.to_owned(), status: status.as_u16(), detail },
                retry_after,
            ));
        }
        let mut events = response.bytes_stream().eventsource();
        let mut state = StreamState::default();
        while let Some(event) = events.next().await {
            let event = event.map_err(|err| {
                let detail = format!("{err}");
                if state.started() {
                    (ProviderError::Interrupted { endpoint: endpoint.to_owned(), detail }, None)
                } else {
                    (transport(detail), None)
                }
            })?;
            let malformed = |detail: String| (ProviderError::Malformed { endpoint: endpoint.to_owned(), detail }, None);
            let done = match self.config.kind {
                ProviderKind::Anthropic => state.anthropic(&event.event, &event.data, on_stream).map_err(malformed)?,
                _ => state.openai(&event.data, on_stream).map_err(malformed)?,
            };
            if done {
                return Ok(state.finish(on_stream));
            }
        }
        if state.finished {
            return Ok(state.finish(on_stream));
        }
        let detail = "the connection closed before the response was complete".to_owned();
        Err(if state.started() {
            (ProviderError::Interrupted { endpoint: endpoint.to_owned(), detail }, None)
        } else {
            (transport(detail), None)
        })
    }
}

/// A transport error in words, with the source chain (timeouts say so).
pub(crate) fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The API's own error message, short, and what to do about common statuses.
fn error_detail(body: &str, status: u16, key_source: Option<&str>) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v["error"]["message"].as_str().or(v["error"].as_str()).or(v["message"].as_str()))
        .map(str::to_owned)
        .unwrap_or_else(|| body.chars().take(200).collect());
    let hint = match status {
        401 | 403 => match key_source {
            Some(source) => format!(" (check the key in {source})"),
            None => " (this provider needs an API key: set api_key_env or api_key_keyring)".to_owned(),
        },
        404 => " (check base_url and model)".to_owned(),
        429 => " (rate limited)".to_owned(),
        _ => String::new(),
    };
    format!("{}{hint}", message.trim())
}

fn openai_body(config: &ProviderConfig, request: &ChatRequest) -> Value {
    let mut messages = vec![json!({"role": "system", "content": request.system})];
    for m in &request.messages {
        let mut message = json!({"role": m.role, "content": m.content});
        if !m.tool_calls.is_empty() {
            message["tool_calls"] = m
                .tool_calls
                .iter()
                .map(
                    |c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}),
                )
                .collect();
        }
        if let Some(id) = &m.tool_call_id {
            message["tool_call_id"] = json!(id);
        }
        messages.push(message);
    }
    let mut body = json!({
        "model": config.model,
        "messages": messages,
        "stream": true,
        "max_tokens": request.max_tokens.unwrap_or(config.max_tokens),
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
            .collect();
    }
    body
}

fn anthropic_body(config: &ProviderConfig, request: &ChatRequest) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    for m in &request.messages {
        match m.role.as_str() {
            "tool" => messages.push(json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            ]})),
            "assistant" if !m.tool_calls.is_empty() => {
                let mut content = Vec::new();
                if !m.content.is_empty() {
                    content.push(json!({"type": "text", "text": m.content}));
                }
                for call in &m.tool_calls {
                    let input: Value = serde_json::from_str(&call.arguments).unwrap_or(json!({}));
                    content.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}));
                }
                messages.push(json!({"role": "assistant", "content": content}));
            }
            role => messages.push(json!({"role": role, "content": m.content})),
        }
    }
    let mut body = json!({
        "model": config.model,
        "system": request.system,
        "messages": messages,
        "max_tokens": request.max_tokens.unwrap_or(config.max_tokens),
        "stream": true,
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
    }
    body
}

/// What a stream has said so far.
#[derive(Default)]
struct StreamState {
    text: String,
    /// By index (OpenAI) or content block (Anthropic): id, name, arguments.
    calls: Vec<(usize, ToolCall)>,
    stop_reason: String,
    finished: bool,
}

impl StreamState {
    fn started(&self) -> bool {
        !self.text.is_empty() || !self.calls.is_empty()
    }

    fn call(&mut self, index: usize) -> &mut ToolCall {
        let position = match self.calls.iter().position(|(i, _)| *i == index) {
            Some(position) => position,
            None => {
                self.calls.push((index, ToolCall { id: String::new(), name: String::new(), arguments: String::new() }));
                self.calls.len() - 1
            }
        };
        &mut self.calls[position].1
    }

    /// The response, each tool call said complete to `on_stream` first.
    fn finish(self, on_stream: &mut OnStream<'_>) -> ChatResponse {
        for (index, call) in &self.calls {
            on_stream(Streamed::Call { index: *index, name: &call.name, arguments: &call.arguments, done: true });
        }
        ChatResponse {
            text: self.text,
            tool_calls: self.calls.into_iter().map(|(_, call)| call).collect(),
            stop_reason: self.stop_reason,
        }
    }

    /// One `data:` of an OpenAI stream; true at `[DONE]`.
    fn openai(&mut self, data: &str, on_stream: &mut OnStream<'_>) -> Result<bool, String> {
        if data.trim() == "[DONE]" {
            self.finished = true;
            return Ok(true);
        }
        let chunk: Value = serde_json::from_str(data).map_err(|err| format!("not JSON ({err}): {}", excerpt(data)))?;
        if let Some(error) = chunk.get("error") {
            return Err(format!("the provider reported an error mid-stream: {error}"));
        }
        let Some(choice) = chunk["choices"].get(0) else { return Ok(false) };
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            self.text.push_str(text);
            on_stream(Streamed::Text(text));
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap_or(0) as usize;
            let entry = self.call(index);
            if let Some(id) = call["id"].as_str() {
                entry.id = id.to_owned();
            }
            if let Some(name) = call["function"]["name"].as_str() {
                entry.name.push_str(name);
            }
            if let Some(arguments) = call["function"]["arguments"].as_str().filter(|a| !a.is_empty()) {
                entry.arguments.push_str(arguments);
                on_stream(Streamed::Call { index, name: &entry.name, arguments: &entry.arguments, done: false });
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.stop_reason = reason.to_owned();
            self.finished = true;
        }
        Ok(false)
    }

    /// One event of an Anthropic stream; true at `message_stop`.
    fn anthropic(&mut self, event: &str, data: &str, on_stream: &mut OnStream<'_>) -> Result<bool, String> {
        if event == "ping" {
            return Ok(false);
        }
        let value: Value = serde_json::from_str(data).map_err(|err| format!("not JSON ({err}): {}", excerpt(data)))?;
        match event {
            "message_start" | "content_block_stop" => {}
            "content_block_start" => {
                let block = &value["content_block"];
                if block["type"] == "tool_use" {
                    let index = value["index"].as_u64().unwrap_or(0) as usize;
                    let call = self.call(index);
                    call.id = block["id"].as_str().unwrap_or("").to_owned();
                    call.name = block["name"].as_str().unwrap_or("").to_owned();
                }
            }
            "content_block_delta" => {
                let delta = &value["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        let text = delta["text"].as_str().unwrap_or("");
                        self.text.push_str(text);
                        on_stream(Streamed::Text(text));
                    }
                    Some("input_json_delta") => {
                        let index = value["index"].as_u64().unwrap_or(0) as usize;
                        let partial = delta["partial_json"].as_str().unwrap_or("");
                        let call = self.call(index);
                        call.arguments.push_str(partial);
                        on_stream(Streamed::Call { index, name: &call.name, arguments: &call.arguments, done: false });
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = value["delta"]["stop_reason"].as_str() {
                    self.stop_reason = reason.to_owned();
                }
            }
            "message_stop" => {
                self.finished = true;
                return Ok(true);
            }
            "error" => return Err(format!("the provider reported an error mid-stream: {}", value["error"])),
            other => return Err(format!("unexpected event {other:?}")),
        }
        Ok(false)
    }
}

fn excerpt(data: &str) -> String {
    let cut: String = data.chars().take(80).collect();
    if cut.len() < data.len() { format!("{cut}…") } else { cut }
}

/// What a chat turn streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streamed<'a> {
    /// The next piece of the answer's text.
    Text(&'a str),
    /// A tool call being written: its arguments so far (incomplete JSON),
    /// for showing an edit as the model writes it; `done` once, when the
    /// turn ended, with the whole of them.
    Call { index: usize, name: &'a str, arguments: &'a str, done: bool },
}

/// Who hears a chat turn as it streams.
pub type OnStream<'a> = dyn FnMut(Streamed<'_>) + Send + 'a;

/// A chat model, as model mode asks it: [`Provider`] speaks HTTP to a real
/// one; the runs service's unit tests use a fake.
pub trait ChatModel: Send + Sync {
    fn name(&self) -> &str;
    /// The model's name at the provider (usage events); empty when unknown.
    fn model(&self) -> &str {
        ""
    }
    /// The model runs on this machine: context need not be redacted.
    fn is_local(&self) -> bool;
    /// One turn: `on_stream` gets the output, and the tool calls' arguments, as they stream.
    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_stream: &'a mut OnStream<'a>,
    ) -> futures::future::BoxFuture<'a, Result<ChatResponse, ProviderError>>;
}

impl ChatModel for Provider {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    fn is_local(&self) -> bool {
        self.config.is_local()
    }

    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_stream: &'a mut OnStream<'a>,
    ) -> futures::future::BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        Box::pin(Provider::chat(self, request, on_stream))
    }
}

/// Providers are built once (their HTTP client pools connections).
#[derive(Default)]
pub struct Providers {
    built: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<dyn ChatModel>>>,
}

impl Providers {
    /// The model of the configured provider `name`, built on first use.
    pub fn get(
        &self,
        config: &crate::platform::config::Config,
        name: &str,
    ) -> Result<std::sync::Arc<dyn ChatModel>, String> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(provider) = built.get(name) {
            return Ok(provider.clone());
        }
        let provider_config =
            config.providers.get(name).cloned().ok_or_else(|| format!("no provider named {name:?} in the config"))?;
        let provider: std::sync::Arc<dyn ChatModel> =
            std::sync::Arc::new(Provider::new(name, provider_config).map_err(|err| err.to_string())?);
        built.insert(name.to_owned(), provider.clone());
        Ok(provider)
    }

    /// Serves `name` with a model built elsewhere (the unit tests' fakes).
    pub fn insert(&self, name: &str, model: std::sync::Arc<dyn ChatModel>) {
        self.built.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_owned(), model);
    }
}
