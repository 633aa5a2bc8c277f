//! Document sync: the editor's `didOpen`/`didChange`/`didClose`, taken off the
//! stream in order, applied to the mirror and queued, numbered, for the one
//! task that sends them to the daemon ([`sync_documents`]). A document too
//! large for the daemon is held here, and the user told once.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use protocol::documents::{ChangeParams, ContentChange, OpenParams};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tower_lsp_server::ls_types::MessageType;

use super::{
    limits::{MAX_LANGUAGE_ID_BYTES, change_request_bytes, over_limit},
    proxy::{DocOp, DocOpKind, Proxy},
};
use crate::{
    platform::paths::Paths,
    server::client,
    services::documents::{ANONYMOUS, Documents},
};

impl Proxy {
    /// Takes a document notification off the stream, in order. Called
    /// synchronously by the front ([`super::front`]).
    pub(super) fn document_notification(&self, method: &str, params: Option<Value>) {
        let kind = match parse_notification(method, params.unwrap_or(Value::Null)) {
            Ok(kind) => kind,
            Err(err) => {
                tracing::warn!(method, "ignoring malformed notification: {err}");
                return;
            }
        };
        let mut mirror = self.mirror();
        let uri = kind.uri().to_owned();
        let known = mirror.documents.buffer(&uri).is_some();
        let applied = match &kind {
            DocOpKind::Open(params) => {
                mirror.documents.open(ANONYMOUS, params.clone());
                Ok(())
            }
            DocOpKind::Change(params) => mirror.documents.change(ANONYMOUS, params.clone()).map(drop),
            DocOpKind::Close(uri) => mirror.documents.close(ANONYMOUS, uri).map(drop),
        };
        if let Err(err) = applied {
            tracing::warn!(method, "{err}");
            return;
        }
        let held = mirror.held.contains(&uri);
        let oversized = match &kind {
            DocOpKind::Close(_) => None,
            _ => mirror.documents.buffer(&uri).and_then(|(text, _)| over_limit(&uri, text, self.request_limit)),
        };
        // What the daemon must hear for its copy to match the mirror's.
        let ops = match kind {
            DocOpKind::Close(uri) if mirror.held.remove(&uri) => Vec::new(),
            DocOpKind::Close(uri) => vec![DocOpKind::Close(uri)],
            _ if oversized.is_some() => {
                mirror.held.insert(uri.clone());
                if mirror.told.insert(uri.clone()) {
                    self.tell_held(&uri, oversized.unwrap_or_default());
                }
                // The daemon's older copy would be read as this document's text.
                if known && !held { vec![DocOpKind::Close(uri)] } else { Vec::new() }
            }
            DocOpKind::Change(params) if held || change_request_bytes(&params) > self.request_limit => {
                mirror.held.remove(&uri);
                let reopen = reopen_params(&mirror.documents, &uri);
                let close = (!held).then_some(DocOpKind::Close(uri));
                close.into_iter().chain(reopen.map(DocOpKind::Open)).collect()
            }
            kind => {
                mirror.held.remove(&uri);
                vec![kind]
            }
        };
        for kind in ops {
            mirror.seq += 1;
            // Sent while the mirror is locked, so queue order is number order.
            let _ = self.ops.send(DocOp { seq: mirror.seq, kind });
        }
    }

    /// Tells the user, once per document, that the daemon does not get it.
    pub(super) fn tell_held(&self, uri: &str, bytes: usize) {
        let name = uri.rsplit('/').next().unwrap_or(uri);
        let message = format!(
            "PAIRED: {name} is too large to share with the daemon ({:.1} MiB; its limit is {:.1} MiB, \
             server.max_request_bytes). PAIRED's agents will not see this editor's copy of it; everything else works as usual.",
            bytes as f64 / (1024.0 * 1024.0),
            self.request_limit as f64 / (1024.0 * 1024.0),
        );
        tracing::warn!(uri, bytes, limit = self.request_limit, "document held in the proxy: too large for the daemon");
        if let Some(editor) = self.editor.get().cloned() {
            tokio::spawn(async move { editor.show_message(MessageType::WARNING, message).await });
        }
    }
}

/// A document notification's parameters, as the operation it asks for.
fn parse_notification(method: &str, params: Value) -> serde_json::Result<DocOpKind> {
    match method {
        "textDocument/didOpen" => serde_json::from_value::<DidOpen>(params).map(|p| {
            DocOpKind::Open(OpenParams {
                uri: p.text_document.uri,
                language_id: Some(p.text_document.language_id)
                    .filter(|id| id.len() <= MAX_LANGUAGE_ID_BYTES)
                    .unwrap_or_default(),
                version: p.text_document.version,
                text: p.text_document.text,
            })
        }),
        "textDocument/didChange" => serde_json::from_value::<DidChange>(params).map(|p| {
            DocOpKind::Change(ChangeParams {
                uri: p.text_document.uri,
                version: p.text_document.version,
                changes: p.content_changes,
            })
        }),
        _ => serde_json::from_value::<DidClose>(params).map(|p| DocOpKind::Close(p.text_document.uri)),
    }
}

/// The mirror's current copy of `uri`, as a `documents/open`.
fn reopen_params(documents: &Documents, uri: &str) -> Option<OpenParams> {
    let doc = documents.get(uri)?;
    Some(OpenParams { uri: doc.uri, language_id: doc.language_id, version: doc.version, text: doc.text })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidOpen {
    text_document: TextDocumentItem,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TextDocumentItem {
    uri: String,
    language_id: String,
    version: i32,
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidChange {
    text_document: VersionedId,
    content_changes: Vec<ContentChange>,
}

#[derive(Deserialize)]
struct VersionedId {
    uri: String,
    version: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidClose {
    text_document: UriOnly,
}

#[derive(Deserialize)]
struct UriOnly {
    uri: String,
}

/// Sends document operations to the daemon one at a time, in order.
pub(super) async fn sync_documents(proxy: Arc<Proxy>, mut ops: mpsc::UnboundedReceiver<DocOp>) {
    while let Some(op) = ops.recv().await {
        loop {
            let Some(connection) = proxy.connected(Duration::MAX).await else {
                return;
            };
            if op.seq <= proxy.replayed_through.load(Ordering::Acquire) {
                proxy.mark_sent(op.seq);
                break;
            }
            let sent = match &op.kind {
                DocOpKind::Open(params) => {
                    client::call::<protocol::documents::Open>(&connection, params).await.map(drop)
                }
                DocOpKind::Change(params) => {
                    client::call::<protocol::documents::Change>(&connection, params).await.map(drop)
                }
                DocOpKind::Close(uri) => {
                    let params = protocol::documents::UriParams { uri: uri.clone() };
                    client::call::<protocol::documents::Close>(&connection, &params).await.map(drop)
                }
            };
            match sent {
                Ok(()) => {
                    proxy.mark_sent(op.seq);
                    break;
                }
                Err(_) if !connection.is_connected() => {
                    // The reconnect replays the mirror, which already holds this op.
                    proxy.drop_connection(&connection);
                }
                Err(err) => {
                    tracing::warn!("the daemon refused a document update: {err:#}");
                    proxy.mark_sent(op.seq);
                    break;
                }
            }
        }
    }
}

/// For the fuzz target `lsp_framing` (`fuzz/`) only: the editor's document
/// notifications, `(method, params)` in arrival order, taken off the stream by
/// the proxy's own reader ([`Proxy::document_notification`]) on a proxy with no
/// daemon behind it. Returns the mirror's documents afterwards and the
/// operations queued for the daemon, as `documents/*` method and params.
#[doc(hidden)]
pub fn fuzz_document_notifications(
    notifications: Vec<(String, Option<Value>)>,
) -> (Vec<protocol::documents::Document>, Vec<(&'static str, Value)>) {
    let (ops, mut queued) = mpsc::unbounded_channel();
    let none = std::path::PathBuf::new;
    let paths = Paths { config_dir: none(), data_dir: none(), state_dir: none(), runtime_dir: none() };
    let limit = crate::platform::config::ServerConfig::default().max_request_bytes as usize;
    let proxy = Proxy::new(paths, limit, Vec::new(), Vec::new(), ops);
    proxy.initialized.store(true, Ordering::Release);
    for (method, params) in notifications {
        proxy.document_notification(&method, params);
    }
    let mut sent = Vec::new();
    while let Ok(op) = queued.try_recv() {
        sent.push(match op.kind {
            DocOpKind::Open(p) => {
                (<protocol::documents::Open as protocol::Method>::NAME, serde_json::to_value(p).unwrap_or_default())
            }
            DocOpKind::Change(p) => {
                (<protocol::documents::Change as protocol::Method>::NAME, serde_json::to_value(p).unwrap_or_default())
            }
            DocOpKind::Close(uri) => {
                (<protocol::documents::Close as protocol::Method>::NAME, serde_json::json!({ "uri": uri }))
            }
        });
    }
    // Documents held in the proxy (too large for the daemon) are not the daemon's to have.
    let mirror = proxy.mirror();
    let documents = mirror.documents.snapshot().into_iter().filter(|doc| !mirror.held.contains(&doc.uri)).collect();
    drop(mirror);
    (documents, sent)
}
