//! `textDocument/inlineCompletion` (LSP 3.18): the daemon's `completion/inline`
//! after the edits that came before it; for an editor without inline
//! completions (Helix, Emacs, Kakoune…), `textDocument/completion` with the
//! same completion as the first item of the menu. Typing asks again and again, so an
//! automatic request waits `paired.completion.debounceMs` (initialization
//! options) and gives way to a newer one for the same document before it
//! reaches the daemon; `$/cancelRequest` of one that did reaches the daemon as
//! `completion/cancel`, which aborts the model's request.

use std::{sync::Arc, sync::atomic::Ordering, time::Duration};

use futures::FutureExt as _;
use protocol::Method as _;
use serde_json::{Value, json};
use tower_lsp_server::{jsonrpc, ls_types::MessageType};

use super::{commands::Work, proxy::Proxy};
use crate::server::client::ByName;

/// The request's work: see the module docs.
pub(super) fn inline_completion(proxy: &Arc<Proxy>, id: &jsonrpc::Id, params: Value) -> Work {
    let proxy = proxy.clone();
    let after_seq = proxy.mirror().seq;
    let key = serde_json::to_string(id).unwrap_or_default();
    let uri = params["textDocument"]["uri"].as_str().unwrap_or_default().to_owned();
    // LSP: 1 invoked, 2 automatic.
    let automatic = params["context"]["triggerKind"].as_u64() != Some(1);
    let request = json!({
        "uri": uri,
        "position": params["position"],
        "key": key,
        "trigger": if automatic { "automatic" } else { "invoked" },
    });
    async move {
        proxy.latest_completion(&uri, &key);
        let debounce = proxy.completion_debounce_ms.load(Ordering::Relaxed);
        if automatic && debounce > 0 {
            tokio::time::sleep(Duration::from_millis(debounce)).await;
            if !proxy.is_latest_completion(&uri, &key) {
                return Ok(json!({ "items": [] }));
            }
        }
        let _forwarded = Forwarded::new(&proxy, &key);
        let reply = proxy.forward(protocol::completion::Inline::NAME, Some(request), after_seq).await;
        match reply {
            Ok(reply) => Ok(to_lsp(&reply)),
            Err(err) if err.code == jsonrpc::ErrorCode::ServerError(i64::from(protocol::errors::MODEL_UNAVAILABLE)) => {
                // Said once per proxy; typing must not raise a message per key.
                if !proxy.told_completion_unavailable.swap(true, Ordering::Relaxed)
                    && let Some(editor) = proxy.editor.get()
                {
                    editor.show_message(MessageType::WARNING, format!("PAIRED completions: {}", err.message)).await;
                }
                tracing::warn!("inline completion: {}", err.message);
                Ok(json!({ "items": [] }))
            }
            // A file the project excludes: no completion, quietly (the editor asks at every key).
            Err(err) if err.code == jsonrpc::ErrorCode::ServerError(i64::from(protocol::errors::REFUSED)) => {
                Ok(json!({ "items": [] }))
            }
            Err(err) => Err(err),
        }
    }
    .boxed()
}

/// `textDocument/completion` for an editor without inline completions: the
/// inline completion as one menu item (its first line as the label, the whole
/// text as the edit); none for an editor that has them.
pub(super) fn menu_completion(proxy: &Arc<Proxy>, id: &jsonrpc::Id, params: Value) -> Work {
    if !proxy.completion_menu.load(Ordering::Relaxed) {
        return futures::future::ready(Ok(Value::Null)).boxed();
    }
    // The editor asks while typing (it waits for a pause itself); a menu it opens by hand is "invoked".
    let mut params = params;
    let invoked = params["context"]["triggerKind"].as_u64() == Some(1);
    params["context"] = json!({ "triggerKind": if invoked { 1 } else { 2 } });
    let inline = inline_completion(proxy, id, params);
    async move {
        let list = inline.await?;
        let items: Vec<Value> = list["items"].as_array().into_iter().flatten().filter_map(menu_item).collect();
        Ok(json!({ "isIncomplete": true, "items": items }))
    }
    .boxed()
}

/// An inline completion as a completion item.
fn menu_item(item: &Value) -> Option<Value> {
    let text = item["insertText"].as_str().filter(|t| !t.trim().is_empty())?;
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let label: String = first.chars().take(60).collect();
    let more = if text.trim_end().contains('\n') || first.chars().count() > 60 { "…" } else { "" };
    Some(json!({
        "label": format!("{label}{more}"),
        // Text: a model's suggestion, not a symbol the language server knows.
        "kind": 1,
        "detail": "PAIRED (model)",
        "documentation": { "kind": "markdown", "value": format!("```\n{text}\n```") },
        "sortText": "0",
        "filterText": text,
        "insertTextFormat": 1,
        "textEdit": { "range": item["range"], "newText": text },
    }))
}

/// The daemon's reply as an LSP `InlineCompletionList`.
fn to_lsp(reply: &Value) -> Value {
    let items: Vec<Value> = reply["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| json!({ "insertText": item["insert_text"], "range": item["range"] }))
        .collect();
    json!({ "items": items })
}

/// A request the daemon has: while this lives, `$/cancelRequest` of it
/// reaches the daemon.
struct Forwarded<'a> {
    proxy: &'a Proxy,
    key: String,
}

impl<'a> Forwarded<'a> {
    fn new(proxy: &'a Proxy, key: &str) -> Forwarded<'a> {
        proxy.completions.lock().unwrap_or_else(|p| p.into_inner()).forwarded.insert(key.to_owned());
        Forwarded { proxy, key: key.to_owned() }
    }
}

impl Drop for Forwarded<'_> {
    fn drop(&mut self) {
        self.proxy.completions.lock().unwrap_or_else(|p| p.into_inner()).forwarded.remove(&self.key);
    }
}

impl Proxy {
    fn latest_completion(&self, uri: &str, key: &str) {
        let mut requests = self.completions.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: an older document's entry only matters while its request waits.
        if requests.latest.len() >= 256 {
            requests.latest.clear();
        }
        requests.latest.insert(uri.to_owned(), key.to_owned());
    }

    fn is_latest_completion(&self, uri: &str, key: &str) -> bool {
        self.completions.lock().unwrap_or_else(|p| p.into_inner()).latest.get(uri).is_some_and(|k| k == key)
    }

    /// `$/cancelRequest` of a completion the daemon has: cancelled there too.
    pub(super) fn cancel_completion(&self, key: &str) {
        let forwarded = self.completions.lock().unwrap_or_else(|p| p.into_inner()).forwarded.remove(key);
        if !forwarded {
            return;
        }
        let Some(connection) = self.connection.borrow().clone() else { return };
        let params = protocol::completion::CancelParams { key: key.to_owned() };
        tokio::spawn(async move {
            use jsonrpsee::core::client::ClientT as _;
            if let Err(err) = connection.request::<Value, _>(protocol::completion::Cancel::NAME, ByName(&params)).await
            {
                tracing::debug!("cannot cancel completion {}: {err}", params.key);
            }
        });
    }
}
