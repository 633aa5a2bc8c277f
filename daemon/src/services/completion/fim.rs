//! Fill-in-the-middle over the wire: OpenAI-compatible `/completions` with
//! `suffix` (Ollama, OpenAI-compatible servers), Ollama's `/api/generate`,
//! llama.cpp's `/infill`, a model's own FIM tokens through `/completions`
//! (vLLM), and a chat model through a FIM prompt. Every answer is streamed;
//! the caller says when it has enough, and the request is dropped there
//! (dropping the response aborts the HTTP request).

use std::sync::Arc;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{
    platform::config::{CompletionApi, CompletionConfig, ProviderKind},
    services::provider::{ChatRequest, Message, Provider, ProviderError, Streamed, describe},
};

/// What the model is asked to fill in.
pub(super) struct FimRequest {
    pub(super) path: String,
    pub(super) language: context::Language,
    pub(super) prefix: String,
    pub(super) suffix: String,
    /// Other files' snippets: (path, text).
    pub(super) extra: Vec<(String, String)>,
    pub(super) max_tokens: u32,
}

/// A model's own fill-in-the-middle tokens: the prompt and where it stops.
struct Template {
    text: String,
    stops: Vec<&'static str>,
}

impl Template {
    fn named(name: &str) -> Template {
        let (text, stops): (&str, &[&'static str]) = match name {
            "qwen" => (
                "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>",
                &["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>"],
            ),
            "codellama" => ("<PRE> {prefix} <SUF>{suffix} <MID>", &["<EOT>"]),
            "deepseek" => ("<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>", &["<｜end▁of▁sentence｜>"]),
            "starcoder" => ("<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>", &["<|endoftext|>", "<file_sep>"]),
            own => (own, &[]),
        };
        Template { text: text.to_owned(), stops: stops.to_vec() }
    }

    fn fill(&self, prefix: &str, suffix: &str) -> String {
        // One pass, so a `{suffix}` inside the user's prefix stays text.
        let mut out = String::with_capacity(self.text.len() + prefix.len() + suffix.len());
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find('{') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("{prefix}") {
                out.push_str(prefix);
                rest = after;
            } else if let Some(after) = tail.strip_prefix("{suffix}") {
                out.push_str(suffix);
                rest = after;
            } else {
                out.push('{');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        out
    }
}

enum Api {
    Openai,
    Ollama,
    Llamacpp,
    Template(Template),
    Chat,
}

/// A provider asked for completions.
pub(super) struct Fim {
    pub(super) provider: Arc<Provider>,
    api: Api,
    model: String,
}

impl Fim {
    pub(super) fn new(provider: Arc<Provider>, config: &CompletionConfig) -> Fim {
        let api = match config.api {
            CompletionApi::Auto => match provider.config.kind {
                ProviderKind::Openai => Api::Openai,
                ProviderKind::Azure | ProviderKind::Anthropic => Api::Chat,
            },
            CompletionApi::Openai => Api::Openai,
            CompletionApi::Ollama => Api::Ollama,
            CompletionApi::Llamacpp => Api::Llamacpp,
            CompletionApi::Template => Api::Template(Template::named(config.template.as_deref().unwrap_or("qwen"))),
            CompletionApi::Chat => Api::Chat,
        };
        let model = config.model.clone().unwrap_or_else(|| provider.config.model.clone());
        Fim { provider, api, model }
    }

    /// Streams the completion into `enough`, which says when to stop. The
    /// endpoints are tried in turn while none has answered.
    pub(super) async fn stream(
        &self,
        request: &FimRequest,
        enough: &mut (dyn FnMut(&str) -> bool + Send),
    ) -> Result<(), ProviderError> {
        if let Api::Chat = self.api {
            return self.chat(request, enough).await;
        }
        let key = self.provider.key().await?;
        let endpoints = self.provider.config.endpoints();
        let mut last = None;
        for endpoint in &endpoints {
            let (url, body) = self.wire(endpoint, request);
            let response = match self.provider.post(&url, key.as_deref(), body.to_string()).send().await {
                Ok(response) => response,
                Err(err) => {
                    last = Some(ProviderError::Transport { endpoint: endpoint.clone(), detail: describe(&err) });
                    continue;
                }
            };
            if !response.status().is_success() {
                return Err(self.provider.refusal(endpoint, response).await);
            }
            return self.read(endpoint, response, enough).await;
        }
        Err(last.unwrap_or_else(|| ProviderError::Config("the provider has no endpoint".into())))
    }

    /// The URL and body of a request to `endpoint`.
    fn wire(&self, endpoint: &str, request: &FimRequest) -> (String, Value) {
        let commented = context::fim::commented(request.language, &request.extra);
        let prefix = format!("{commented}{}", request.prefix);
        // Ollama's and llama.cpp's own APIs sit at the server's root, beside `/v1`.
        let root = endpoint.strip_suffix("/v1").unwrap_or(endpoint);
        match &self.api {
            Api::Openai => (
                format!("{endpoint}/completions"),
                json!({"model": self.model, "prompt": prefix, "suffix": request.suffix,
                       "max_tokens": request.max_tokens, "temperature": 0.1, "stream": true}),
            ),
            Api::Template(template) => (
                format!("{endpoint}/completions"),
                json!({"model": self.model, "prompt": template.fill(&prefix, &request.suffix),
                       "max_tokens": request.max_tokens, "temperature": 0.1, "stream": true,
                       "stop": template.stops}),
            ),
            Api::Ollama => (
                format!("{root}/api/generate"),
                json!({"model": self.model, "prompt": prefix, "suffix": request.suffix, "stream": true,
                       "options": {"num_predict": request.max_tokens, "temperature": 0.1}}),
            ),
            Api::Llamacpp => (
                format!("{root}/infill"),
                json!({"input_prefix": request.prefix, "input_suffix": request.suffix,
                       "input_extra": request.extra.iter().map(|(path, text)| json!({"filename": path, "text": text})).collect::<Vec<_>>(),
                       "n_predict": request.max_tokens, "temperature": 0.1, "stream": true, "cache_prompt": true}),
            ),
            Api::Chat => (String::new(), Value::Null),
        }
    }

    /// Reads the streamed answer until it ends or `enough` says stop.
    async fn read(
        &self,
        endpoint: &str,
        response: reqwest::Response,
        enough: &mut (dyn FnMut(&str) -> bool + Send),
    ) -> Result<(), ProviderError> {
        let malformed = |detail: String| ProviderError::Malformed { endpoint: endpoint.to_owned(), detail };
        let broken = |detail: String| ProviderError::Interrupted { endpoint: endpoint.to_owned(), detail };
        if let Api::Ollama = self.api {
            // One JSON object per line.
            let mut bytes = response.bytes_stream();
            let mut pending = Vec::new();
            while let Some(chunk) = bytes.next().await {
                pending.extend_from_slice(&chunk.map_err(|err| broken(err.to_string()))?);
                while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=nl).collect();
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let value: Value = serde_json::from_slice(&line).map_err(|err| malformed(err.to_string()))?;
                    if let Some(error) = value.get("error") {
                        return Err(malformed(format!("the provider reported an error: {error}")));
                    }
                    if enough(value["response"].as_str().unwrap_or("")) || value["done"] == true {
                        return Ok(());
                    }
                }
            }
            return Ok(());
        }
        let mut events = response.bytes_stream().eventsource();
        while let Some(event) = events.next().await {
            let event = event.map_err(|err| broken(err.to_string()))?;
            if event.data.trim() == "[DONE]" {
                return Ok(());
            }
            let value: Value = serde_json::from_str(&event.data).map_err(|err| malformed(err.to_string()))?;
            if let Some(error) = value.get("error") {
                return Err(malformed(format!("the provider reported an error mid-stream: {error}")));
            }
            let (text, done) = match self.api {
                Api::Llamacpp => (value["content"].as_str().unwrap_or(""), value["stop"] == true),
                _ => {
                    let choice = &value["choices"][0];
                    (choice["text"].as_str().unwrap_or(""), choice["finish_reason"].is_string())
                }
            };
            if enough(text) || done {
                return Ok(());
            }
        }
        Ok(())
    }

    /// A chat model through a fill-in-the-middle prompt; code fences dropped.
    async fn chat(
        &self,
        request: &FimRequest,
        enough: &mut (dyn FnMut(&str) -> bool + Send),
    ) -> Result<(), ProviderError> {
        let extra = context::fim::commented(request.language, &request.extra);
        let question = format!(
            "{extra}File: {}\n\n{}<FILL>{}\n\nReply with the code that replaces <FILL>: only that code, without code fences, \
             without repeating what is before or after <FILL>.",
            request.path, request.prefix, request.suffix
        );
        let chat = ChatRequest {
            system: "You complete code at the cursor, like an editor's inline completion. You reply with code only."
                .to_owned(),
            messages: vec![Message::user(question)],
            tools: Vec::new(),
            // [completion] max_tokens, as the FIM endpoints get it.
            max_tokens: Some(request.max_tokens),
        };
        let stop = tokio::sync::Notify::new();
        let mut unfence = Unfence::default();
        let mut forward = |piece: Streamed<'_>| {
            if let Streamed::Text(text) = piece
                && unfence.push(text, enough)
            {
                stop.notify_one();
            }
        };
        let answered = tokio::select! {
            answered = self.provider.chat(&chat, &mut forward) => answered.map(drop),
            () = stop.notified() => return Ok(()),
        };
        // A one-line answer without a line break is still held back: pass it on.
        unfence.flush(enough);
        answered
    }
}

/// A chat answer without its code fence: the opening fence line is dropped and
/// a closing one ends the answer.
#[derive(Default)]
struct Unfence {
    /// Text not yet passed on: the first line, until it is known not to be a fence.
    head: Option<String>,
    started: bool,
    line: String,
}

impl Unfence {
    /// What is still held back when the answer ends (its last line, or all of
    /// a one-line answer), less a closing fence.
    fn flush(&mut self, enough: &mut (dyn FnMut(&str) -> bool + Send)) {
        let held = format!("{}{}", self.head.take().unwrap_or_default(), std::mem::take(&mut self.line));
        let held = held.trim_start_matches("```").trim_end_matches("```");
        if !held.is_empty() {
            enough(held);
        }
    }

    /// True when enough has come.
    fn push(&mut self, text: &str, enough: &mut (dyn FnMut(&str) -> bool + Send)) -> bool {
        let mut text = text.to_owned();
        if !self.started {
            let head = self.head.get_or_insert_with(String::new);
            head.push_str(&text);
            let Some(nl) = head.find('\n') else { return false };
            self.started = true;
            let head = self.head.take().unwrap_or_default();
            text = if head.trim_start().starts_with("```") { head[nl + 1..].to_owned() } else { head };
        }
        // A line that is a closing fence ends the answer; pass on what precedes it.
        let mut passed = String::new();
        for c in text.chars() {
            self.line.push(c);
            if c == '\n' {
                if self.line.trim() == "```" {
                    enough(&passed);
                    return true;
                }
                passed.push_str(&self.line);
                self.line.clear();
            }
        }
        if !self.line.trim_start().starts_with('`') {
            passed.push_str(&self.line);
            self.line.clear();
        }
        enough(&passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_the_prefix_and_suffix_once_each() {
        let qwen = Template::named("qwen");
        assert_eq!(qwen.fill("a {suffix}", "b"), "<|fim_prefix|>a {suffix}<|fim_suffix|>b<|fim_middle|>");
        let own = Template::named("<pre>{prefix}<suf>{suffix}<mid>");
        assert_eq!(own.fill("x", "y"), "<pre>x<suf>y<mid>");
    }

    #[test]
    fn a_chat_answer_loses_its_fences() {
        let mut got = String::new();
        let mut take = |t: &str| {
            got.push_str(t);
            false
        };
        let mut unfence = Unfence::default();
        let mut done = false;
        for piece in ["```py", "thon\nreturn a", " + b\n", "```\nExplanation: adds"] {
            done = unfence.push(piece, &mut take);
            if done {
                break;
            }
        }
        assert!(done);
        assert_eq!(got, "return a + b\n");
        let mut got = String::new();
        let mut take = |t: &str| {
            got.push_str(t);
            false
        };
        let mut unfence = Unfence::default();
        unfence.push("x = 1\ny", &mut take);
        assert_eq!(got, "x = 1\ny");
        // A one-line answer (no line break at all) is passed on when the answer ends.
        let mut got = String::new();
        let mut take = |t: &str| {
            got.push_str(t);
            false
        };
        let mut unfence = Unfence::default();
        unfence.push("a, b", &mut take);
        unfence.flush(&mut take);
        assert_eq!(got, "a, b");
    }
}
