//! Inline completions (`completion/*`): fill-in-the-middle at an editor's
//! cursor with the configured model (`[completion]`, else `[agents] provider`).
//!
//! A request: the open document's text around the cursor (redacted unless the
//! model is local), definitions of names in scope from the index and the
//! places edited last as context; the provider's answer streamed into a
//! [`context::fim::Cutter`], which drops the request as soon as the completion
//! is long enough, then [`context::fim::settle`] keeps the longest part that
//! parses as well as the file did. Requests are cancelled by key
//! (`completion/cancel`) or superseded by the same client's next request for
//! the same document; either aborts the provider request. Answers are cached,
//! and text the user types that a completion predicted is served from it.

mod cache;
mod fim;

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, OnceLock, atomic::AtomicU64},
    time::Duration,
};

use context::fim::{Cutter, Stop};
use futures::future::{AbortHandle, Abortable};
use protocol::{
    completion::{CancelReply, InlineItem, InlineParams, InlineReply, Trigger},
    context::{BuildParams, PartKind},
    documents::Range,
};

use self::{
    cache::Cache,
    fim::{Fim, FimRequest},
};
use crate::{
    platform::config::Config,
    services::{
        codebase::{self, Codebase},
        documents::{ClientId, byte_offset},
        provider::{Provider, ProviderError},
        team::policy::TeamPolicy,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum CompletionError {
    /// Completions are off, or no provider is configured for them.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Code(#[from] codebase::Error),
    #[error("the completion was cancelled")]
    Cancelled,
    #[error("the completion provider: {0}")]
    Provider(#[from] ProviderError),
    #[error("the completion provider did not finish within {0} ms ([completion] timeout_ms)")]
    Timeout(u64),
}

/// A request in flight, to cancel by key or supersede by document.
struct InFlight {
    id: u64,
    client: ClientId,
    key: Option<String>,
    uri: String,
    abort: AbortHandle,
}

/// How many recently edited places are remembered, and how many lines of each go to the model.
const RECENT: usize = 8;
const RECENT_LINES: u32 = 6;
/// How many cancels of requests not yet seen are remembered, and for how
/// long: a request overtaken by its cancel is at most milliseconds behind it,
/// and a key a client uses again later is another request.
const EARLY_CANCELS: usize = 64;
const EARLY_CANCEL_WINDOW: Duration = Duration::from_secs(2);

/// The completions service.
pub struct Completions {
    config: Config,
    codebase: Arc<Codebase>,
    /// The team policy: which models may complete, which files never go out.
    team: Arc<TeamPolicy>,
    /// Where each completion the model made is a usage event.
    store: Option<crate::platform::store::Store>,
    fim: OnceLock<Result<Arc<Fim>, String>>,
    inflight: Mutex<Vec<InFlight>>,
    /// Cancels that came before their request (the editor gave up while the
    /// request was on its way): that request is answered `Cancelled` at once.
    /// Taken under `inflight`'s lock. The newest [`EARLY_CANCELS`].
    cancelled_early: Mutex<VecDeque<(ClientId, String, std::time::Instant)>>,
    next_id: AtomicU64,
    cache: Mutex<Cache>,
    /// Where each client asked for completions last (client, uri, line): the
    /// places being edited.
    recent: Mutex<VecDeque<(ClientId, String, u32)>>,
}

impl Completions {
    pub fn new(
        config: Config,
        codebase: Arc<Codebase>,
        team: Arc<TeamPolicy>,
        store: Option<crate::platform::store::Store>,
    ) -> Completions {
        Completions {
            config,
            codebase,
            team,
            store,
            fim: OnceLock::new(),
            inflight: Mutex::default(),
            cancelled_early: Mutex::default(),
            next_id: AtomicU64::new(1),
            cache: Mutex::default(),
            recent: Mutex::default(),
        }
    }

    /// The provider completions go to, built on first use.
    fn fim(&self) -> Result<Arc<Fim>, CompletionError> {
        let built = self.fim.get_or_init(|| {
            let completion = &self.config.completion;
            let name = completion.provider.as_ref().or(self.config.agents.provider.as_ref()).ok_or_else(|| {
                "inline completions need a model: define [providers.NAME] in config.toml and set [agents] provider \
                 (or [completion] provider) to it"
                    .to_owned()
            })?;
            let provider_config = self
                .config
                .providers
                .get(name)
                .cloned()
                .ok_or_else(|| format!("no provider named {name:?} in the config"))?;
            let provider = Provider::new(name, provider_config).map_err(|err| err.to_string())?;
            Ok(Arc::new(Fim::new(Arc::new(provider), completion)))
        });
        built.clone().map_err(CompletionError::Unavailable)
    }

    fn lock_inflight(&self) -> std::sync::MutexGuard<'_, Vec<InFlight>> {
        self.inflight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancels `client`'s request `key`: true if one was in flight. One that
    /// has not arrived yet is cancelled when it does.
    pub fn cancel(&self, client: ClientId, key: &str) -> CancelReply {
        let mut inflight = self.lock_inflight();
        let before = inflight.len();
        inflight.retain(|f| {
            let matches = f.client == client && f.key.as_deref() == Some(key);
            if matches {
                f.abort.abort();
            }
            !matches
        });
        let cancelled = inflight.len() < before;
        // Connections that never attached share one id: not theirs.
        if !cancelled && client != crate::services::documents::ANONYMOUS {
            let mut early = self.cancelled_early.lock().unwrap_or_else(|p| p.into_inner());
            early.retain(|(.., at)| at.elapsed() < EARLY_CANCEL_WINDOW);
            if early.len() >= EARLY_CANCELS {
                early.pop_front();
            }
            early.push_back((client, key.to_owned(), std::time::Instant::now()));
        }
        CancelReply { cancelled }
    }

    /// Forgets a client that went away: its requests are cancelled.
    pub fn release_client(&self, client: ClientId) {
        self.lock_inflight().retain(|f| {
            if f.client == client {
                f.abort.abort();
            }
            f.client != client
        });
    }

    /// A completion at the cursor: see the module docs.
    pub async fn complete(
        self: &Arc<Self>,
        client: ClientId,
        params: InlineParams,
    ) -> Result<InlineReply, CompletionError> {
        if !self.config.completion.enabled {
            return Err(CompletionError::Unavailable(
                "inline completions are off ([completion] enabled = false)".into(),
            ));
        }
        let fim = self.fim()?;
        let provider = fim.provider.name.clone();
        let mut model = crate::services::team::policy::model_action(&self.config, &provider);
        if let (policy::Action::Model { model, .. }, Some(chosen)) = (&mut model, &self.config.completion.model) {
            model.clone_from(chosen);
        }
        self.team.check(&model, &format!("completions from {provider}")).map_err(CompletionError::Unavailable)?;
        let (abort, registration) = AbortHandle::new_pair();
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        {
            // The same client's newer request for the same document replaces this one.
            let mut inflight = self.lock_inflight();
            if let Some(key) = &params.key {
                let mut early = self.cancelled_early.lock().unwrap_or_else(|p| p.into_inner());
                early.retain(|(.., at)| at.elapsed() < EARLY_CANCEL_WINDOW);
                if let Some(at) = early.iter().position(|(c, k, _)| *c == client && k == key) {
                    early.remove(at);
                    return Err(CompletionError::Cancelled);
                }
            }
            inflight.retain(|f| {
                let superseded = f.client == client && f.uri == params.uri;
                if superseded {
                    f.abort.abort();
                }
                !superseded
            });
            inflight.push(InFlight { id, client, key: params.key.clone(), uri: params.uri.clone(), abort });
        }
        let this = self.clone();
        let work = Abortable::new(async move { this.fill(client, &fim, params).await }, registration);
        let outcome = work.await;
        self.lock_inflight().retain(|f| f.id != id);
        let (item, cached) = outcome.map_err(|_aborted| CompletionError::Cancelled)??;
        Ok(InlineReply { items: item.into_iter().collect(), provider, cached })
    }

    async fn fill(
        self: Arc<Self>,
        client: ClientId,
        fim: &Fim,
        params: InlineParams,
    ) -> Result<(Option<InlineItem>, bool), CompletionError> {
        let this = self.clone();
        let local = fim.provider.config.is_local() && !self.config.agents.always_redact;
        let provider = fim.provider.name.clone();
        let prepared = tokio::task::spawn_blocking(move || this.prepare(client, &params, &provider, local))
            .await
            .map_err(|err| CompletionError::Unavailable(format!("preparing the completion failed: {err}")))??;
        let Some(prepared) = prepared else { return Ok((None, false)) };
        if let Some(hit) = prepared.cached.clone() {
            return Ok((Some(prepared.item(hit.0, hit.1)), true));
        }
        let completion = &self.config.completion;
        let mut cutter = Cutter::new(prepared.doc.text(), prepared.at, completion.max_lines as usize);
        let limit = Duration::from_millis(completion.timeout_ms);
        let began = std::time::Instant::now();
        let streamed =
            tokio::time::timeout(limit, fim.stream(&prepared.request, &mut |piece| cutter.push(piece))).await;
        let sent = context::bundle::estimate_tokens(&prepared.request.prefix)
            + context::bundle::estimate_tokens(&prepared.request.suffix)
            + prepared.request.extra.iter().map(|(_, text)| context::bundle::estimate_tokens(text)).sum::<usize>();
        let outcome = match &streamed {
            Ok(Ok(_)) => "succeeded",
            _ => "failed",
        };
        let (raw, stop) = cutter.finish();
        self.record(fim, sent, context::bundle::estimate_tokens(&raw), began.elapsed(), outcome);
        match streamed {
            Err(_elapsed) => return Err(CompletionError::Timeout(completion.timeout_ms)),
            Ok(result) => result?,
        }
        let (text, stop, prepared) = tokio::task::spawn_blocking(move || {
            let (text, stop) = context::fim::settle(&prepared.doc, prepared.at, &raw, stop);
            (text, stop, prepared)
        })
        .await
        .map_err(|err| CompletionError::Unavailable(format!("settling the completion failed: {err}")))?;
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).put(prepared.key.clone(), &text, stop);
        let item = (!text.trim().is_empty()).then(|| prepared.item(text, stop));
        Ok((item, false))
    }

    /// The request for the model, or a cached answer; `None` when no
    /// completion is wanted here. Reads documents and the index (blocking pool).
    fn prepare(
        &self,
        client: ClientId,
        params: &InlineParams,
        provider: &str,
        local: bool,
    ) -> Result<Option<Prepared>, CompletionError> {
        let (doc, path) = codebase::document_for(&self.codebase, &params.uri)?;
        // A file the policy keeps on this machine gets no completion, quietly.
        // Every level is read once per request (the files by their stamps).
        let resolved = codebase::resolve_uri(&self.codebase, &params.uri, None).ok().flatten();
        let project = resolved.as_ref().and_then(|r| r.workspace.as_ref()).map(|w| w.root.clone());
        let policy = self.team.for_project(project.as_deref());
        let local = local && !policy.forces_redaction();
        let send = |rel: &str| crate::services::team::policy::send_action(&self.config, provider, rel, local);
        let sendable = |rel: &str| policy.is_empty() || policy.decide(&send(rel)).allowed;
        if !policy.is_empty() && resolved.and_then(|r| r.rel()).is_some_and(|rel| !sendable(&rel)) {
            return Ok(None);
        }
        let text = doc.text();
        let at = byte_offset(text, params.position);
        if !context::fim::wanted(text, at, params.trigger == Trigger::Automatic) {
            return Ok(None);
        }
        let completion = &self.config.completion;
        let prefix = tail(&text[..at], completion.prefix_chars as usize);
        let suffix = head(&text[at..], completion.suffix_chars as usize);
        let key = cache::Key::new(&params.uri, &text[..at], &text[at..]);
        self.remember(client, &params.uri, params.position.line);
        let cached = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key);
        let display = path.as_ref().map_or_else(|| params.uri.clone(), |p| p.display().to_string());
        let (prefix, suffix) = if local {
            (prefix.to_owned(), suffix.to_owned())
        } else {
            let (from, to) = (at - prefix.len(), at + suffix.len());
            // The cursor inside a secret: nothing of it goes out, so no completion.
            let Some(redacted) = redacted_around(&display, text, at, from, to) else { return Ok(None) };
            redacted
        };
        let extra = if cached.is_some() || completion.context_tokens == 0 {
            Vec::new()
        } else {
            self.extra(client, params, local, &sendable)
        };
        let request = FimRequest {
            path: display,
            language: doc.language(),
            prefix,
            suffix,
            extra,
            max_tokens: completion.max_tokens,
        };
        Ok(Some(Prepared { doc, at, position: params.position, request, key, cached }))
    }

    fn remember(&self, client: ClientId, uri: &str, line: u32) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.retain(|(c, u, _)| !(*c == client && u == uri));
        recent.push_front((client, uri.to_owned(), line));
        recent.truncate(RECENT);
    }

    /// Other files' text the model should see: definitions of the names in
    /// scope (from the index), then the places this client edited last in
    /// other open documents of the same workspace that it does not exclude,
    /// within `[completion] context_tokens`.
    /// A completion the model made, as a usage event (written beside the
    /// reply, never before it).
    fn record(&self, fim: &Fim, sent: usize, received: usize, took: Duration, outcome: &'static str) {
        let Some(store) = self.store.clone() else { return };
        let provider = fim.provider.name.clone();
        let model = self.config.completion.model.clone().unwrap_or_else(|| fim.provider.config.model.clone());
        let id = crate::platform::clock::new_id("completion");
        let source = crate::platform::clock::new_id("c");
        let at = jiff::Timestamp::now().as_millisecond();
        tokio::spawn(async move {
            let written = store
                .call(move |conn| {
                    conn.execute(
                        "INSERT INTO usage_events (id, source, at_ms, kind, agent, provider, model, tokens_in, tokens_out,
                             latency_ms, outcome, findings, edits)
                         VALUES (?1, ?2, ?3, 'completion', 'completion', ?4, ?5, ?6, ?7, ?8, ?9, 0, 0)",
                        rusqlite::params![
                            id,
                            source,
                            at,
                            provider,
                            model,
                            sent as i64,
                            received as i64,
                            took.as_millis() as i64,
                            outcome
                        ],
                    )
                })
                .await;
            if let Err(err) = written {
                tracing::debug!("a completion's usage was not recorded: {err:#}");
            }
        });
    }

    fn extra(
        &self,
        client: ClientId,
        params: &InlineParams,
        local: bool,
        may_send: &dyn Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        let budget = self.config.completion.context_tokens as usize;
        let mut out: Vec<(String, String)> = Vec::new();
        let mut used = 0;
        let build = BuildParams {
            uri: params.uri.clone(),
            position: Some(params.position),
            range: None,
            question: None,
            diagnostics: Vec::new(),
            budget_tokens: Some(budget as u32 * 4),
            local_provider: local,
        };
        if let Ok(bundle) = codebase::build(&self.codebase, build) {
            let sendable = |p: &protocol::context::BundlePart| p.path.as_deref().is_none_or(may_send);
            for part in bundle.parts.into_iter().filter(|p| p.kind == PartKind::Definition && sendable(p)) {
                let tokens = part.tokens as usize;
                if used + tokens > budget {
                    continue;
                }
                used += tokens;
                out.push((part.path.unwrap_or(part.title), part.text));
            }
        }
        // Only another file of this document's workspace, checked as every path
        // is (links, exclusions): another project's buffer never goes along.
        let Some(root) = codebase::resolve_uri(&self.codebase, &params.uri, None)
            .ok()
            .flatten()
            .and_then(|r| r.workspace.map(|w| w.root.clone()))
        else {
            return out;
        };
        let recent: Vec<(String, u32)> = self
            .recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(c, u, _)| *c == client && *u != params.uri)
            .map(|(_, u, l)| (u.clone(), *l))
            .collect();
        for (uri, line) in recent.into_iter().take(2) {
            let Ok(Some(resolved)) = codebase::resolve_uri(&self.codebase, &uri, Some(&root)) else { continue };
            let Some(text) = self.codebase.documents().buffer(&uri).map(|(doc, _)| doc.text().to_owned()) else {
                continue;
            };
            let (first, last) = (line.saturating_sub(RECENT_LINES), line + RECENT_LINES);
            let path = resolved.rel().unwrap_or_else(|| resolved.path.display().to_string());
            if !may_send(&path) {
                continue;
            }
            // Redacted as the whole file would be (a key block the window cuts is widened over), then cut.
            let snippet = if local {
                text.lines().skip(first as usize).take((last - first) as usize + 1).collect::<Vec<_>>().join("\n")
            } else {
                context::redact::redact_lines(&path, &text, first, last).0
            };
            let tokens = context::bundle::estimate_tokens(&snippet);
            if snippet.trim().is_empty() || used + tokens > budget {
                continue;
            }
            used += tokens;
            out.push((path, snippet));
        }
        out
    }
}

/// What `prepare` found: the document as it was asked about, the request, and
/// maybe a cached answer.
struct Prepared {
    /// The document as it was asked about (its tree shared, for the settle).
    doc: context::SyntaxDocument,
    at: usize,
    position: protocol::documents::Position,
    request: FimRequest,
    key: cache::Key,
    cached: Option<(String, Stop)>,
}

impl Prepared {
    fn item(&self, insert_text: String, stop: Stop) -> InlineItem {
        InlineItem {
            insert_text,
            range: Range { start: self.position, end: self.position },
            stopped: stop.name().to_owned(),
        }
    }
}

/// The text before and after the cursor (`at`), from `from` to `to`, redacted
/// as the whole file would be — a key block the window cuts is widened over,
/// and redaction runs before the cut at the cursor, so no secret is split in
/// two and let through. `None` when the cursor is inside a secret.
fn redacted_around(path: &str, text: &str, at: usize, from: usize, to: usize) -> Option<(String, String)> {
    const CURSOR: &str = "\u{F8FF}paired-cursor\u{F8FF}";
    if text.contains(CURSOR) {
        return None;
    }
    let first = text[..from].matches('\n').count() as u32;
    let last = text[..to].matches('\n').count() as u32;
    let marked = format!("{}{CURSOR}{}", &text[..at], &text[at..]);
    let (with_cursor, _) = context::redact::redact_lines(path, &marked, first, last);
    let (without, _) = context::redact::redact_lines(path, text, first, last);
    // The cursor changed what was found: it sits inside a secret.
    if with_cursor.replacen(CURSOR, "", 1) != without {
        return None;
    }
    let (before, after) = with_cursor.split_once(CURSOR)?;
    Some((before.to_owned(), after.to_owned()))
}

/// The last `chars` bytes of `text` (or so), starting at a line.
fn tail(text: &str, chars: usize) -> &str {
    if text.len() <= chars {
        return text;
    }
    let mut from = text.len() - chars;
    while !text.is_char_boundary(from) {
        from += 1;
    }
    match text[from..].find('\n') {
        Some(nl) if nl + 1 < text.len() - from => &text[from + nl + 1..],
        _ => &text[from..],
    }
}

/// The first `chars` bytes of `text` (or so), ending at a line.
fn head(text: &str, chars: usize) -> &str {
    if text.len() <= chars {
        return text;
    }
    let mut to = chars;
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    match text[..to].rfind('\n') {
        Some(nl) if nl > 0 => &text[..=nl],
        _ => &text[..to],
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_around;

    const KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFc\n-----END RSA PRIVATE KEY-----";

    #[test]
    fn a_key_cut_by_the_cursor_or_the_window_never_goes_out() {
        let text = format!("const PEM: &str = \"{KEY}\";\nfn main() {{\n    let x = \n}}\n");
        // The cursor inside the key: nothing is sent.
        let inside = text.find("7onLRn").expect("key line");
        assert_eq!(redacted_around("src/main.rs", &text, inside, 0, text.len()), None);
        // After it, with the prefix window starting inside the key: its body is not there.
        let at = text.find("let x = ").expect("cursor") + 8;
        let from = text.find("7onLRn").expect("key line");
        let (before, after) = redacted_around("src/main.rs", &text, at, from, text.len()).expect("a completion");
        assert!(!before.contains("7onLRn") && !before.contains("MIIEow"), "{before}");
        assert!(before.ends_with("    let x = ") && after == "\n}\n", "{before:?} {after:?}");
    }

    #[test]
    fn a_token_split_at_the_cursor_is_not_sent_in_halves() {
        let text = "let token = \"ghp_Abc123Def456Ghi789Jkl012Mno345Pqr678\";\n";
        let inside = text.find("Def456").expect("token");
        assert_eq!(redacted_around("a.rs", text, inside, 0, text.len()), None);
        let (before, _) = redacted_around("a.rs", text, text.len(), 0, text.len()).expect("after it");
        assert!(!before.contains("Abc123Def456"), "{before}");
    }
}
