//! Document sync: the editor's `didOpen`/`didChange`/`didClose`, taken off the
//! stream in order, applied to the mirror and queued, numbered, for the one
//! task that sends them to the daemon ([`sync_documents`]). A document too
//! large for the daemon is held here, and the user told once.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use protocol::documents::{ChangeParams, ContentChange, DocumentOp, OpenParams, SyncParams, UriParams};
use serde_json::Value;
use tokio::sync::mpsc;
use tower_lsp_server::ls_types::MessageType;

use super::{
    limits::{ENVELOPE_BYTES, change_request_bytes, open_request_bytes, over_limit},
    packed::Packed,
    proxy::{DocOp, DocOpKind, Proxy, Settle},
};
use crate::{
    platform::paths::Paths,
    server::client,
    services::documents::{ANONYMOUS, Buffer as _, Documents, apply_change, as_edit},
};

impl Proxy {
    /// Takes a document notification off the stream, in order. Called
    /// synchronously by the front ([`super::front`]).
    pub(super) fn document_notification(&self, method: &str, params: Option<Value>) {
        match super::incoming::parse_notification(method, params.unwrap_or(Value::Null)) {
            Ok(kind) => self.document_op(kind),
            Err(err) => tracing::warn!(method, "ignoring malformed notification: {err}"),
        }
    }

    /// Applies a document notification to the mirror and queues what the
    /// daemon must hear of it, in order.
    pub(super) fn document_op(&self, mut kind: DocOpKind) {
        let method = kind.method();
        let mut mirror = self.mirror();
        let uri = kind.uri().to_owned();
        let known = mirror.documents.buffer(&uri).is_some();
        // A whole new text goes to the daemon as the edit it makes, when that
        // is a small part of it (an editor syncing whole texts); the mirror
        // takes the text itself (nothing to copy, no edit to locate in it).
        let mut whole_for_mirror = None;
        if let DocOpKind::Change(params) = &mut kind
            && let [whole @ ContentChange { range: None, .. }] = params.changes.as_slice()
            && let Some((buffer, _)) = mirror.documents.buffer(&uri)
            && let Some(edit) = as_edit(&buffer.text(), &whole.text)
        {
            let whole = std::mem::replace(&mut params.changes, vec![edit]);
            whole_for_mirror = Some(ChangeParams { uri: params.uri.clone(), version: params.version, changes: whole });
        }
        let applied = match (&kind, whole_for_mirror) {
            (DocOpKind::Open(params), _) => {
                mirror.documents.open(ANONYMOUS, params.clone());
                Ok(())
            }
            (DocOpKind::Change(_), Some(whole)) => mirror.documents.change(ANONYMOUS, whole).map(drop),
            (DocOpKind::Change(params), None) => mirror.documents.change(ANONYMOUS, params.clone()).map(drop),
            (DocOpKind::Close(uri), _) => mirror.documents.close(ANONYMOUS, uri.as_str()).map(drop),
        };
        if let Err(err) = applied {
            tracing::warn!(method, "{err}");
            mirror.settle(&uri, Settle::Failed);
            return;
        }
        let settle = match kind {
            DocOpKind::Open(_) => Settle::Opened,
            DocOpKind::Change(_) => Settle::Changed,
            DocOpKind::Close(_) => Settle::Closed,
        };
        mirror.settle(&uri, settle);
        let held = mirror.held.contains(&uri);
        let oversized = match &kind {
            DocOpKind::Close(_) => None,
            _ => mirror
                .documents
                .buffer(&uri)
                .and_then(|(buffer, _)| over_limit(&uri, buffer.byte_len(), || buffer.text(), self.request_limit())),
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
            DocOpKind::Change(params) if held || change_request_bytes(&params) > self.request_limit() => {
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
            self.request_limit() as f64 / (1024.0 * 1024.0),
        );
        tracing::warn!(
            uri,
            bytes,
            limit = self.request_limit(),
            "document held in the proxy: too large for the daemon"
        );
        if let Some(editor) = self.editor.get().cloned() {
            tokio::spawn(async move { editor.show_message(MessageType::WARNING, message).await });
        }
    }
}

/// The mirror's current copy of `uri`, as a `documents/open`.
fn reopen_params(documents: &Documents<Packed>, uri: &str) -> Option<OpenParams> {
    let doc = documents.get(uri)?;
    Some(OpenParams { uri: doc.uri, language_id: doc.language_id, version: doc.version, text: doc.text })
}

/// Most operations in one `documents/sync` request.
const MAX_BATCH_OPS: usize = 4096;

/// The size a `documents/sync` request stops growing at (one operation larger
/// than this goes alone, within the daemon's limit). A batch taken off the
/// queue is coalesced whole, then sent in requests of this size: the WebSocket
/// client keeps a buffer as large as the largest message it sent (each frame is
/// copied to be masked) for the life of the connection, and requests of the
/// daemon's whole limit left a burst's 4 MiB in every editor's proxy.
const MESSAGE_BYTES: usize = 128 * 1024;

/// Sends document operations to the daemon in order: whatever queued while the
/// previous request was on its way goes in the next one (`documents/sync`), so
/// a burst of edits costs a few round trips, not one each, and a forwarded
/// request still waits only for the edits sent before it.
pub(super) async fn sync_documents(proxy: Arc<Proxy>, mut ops: mpsc::UnboundedReceiver<DocOp>) {
    // Bytes sent since memory was last given back to the OS.
    let mut since_trim = 0;
    while let Some(first) = ops.recv().await {
        let budget = proxy.request_limit().saturating_sub(ENVELOPE_BYTES);
        let mut bytes = op_bytes_at_most(&first.kind);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_OPS {
            let Ok(op) = ops.try_recv() else { break };
            let more = op_bytes_at_most(&op.kind);
            bytes += more;
            batch.push(op);
            if bytes >= budget {
                break;
            }
        }
        // Over the budget: the last operation goes in a request of its own.
        let last = (bytes > budget && batch.len() > 1).then(|| batch.pop()).flatten();
        send_batch(&proxy, batch).await;
        if let Some(last) = last {
            send_batch(&proxy, vec![last]).await;
        }
        // After a burst (a project's files opened at once) the requests and
        // texts it took are freed, but the allocator would keep the pages:
        // the proxy holds only its mirror from then on.
        since_trim += bytes;
        if since_trim >= TRIM_AFTER_BYTES && ops.is_empty() {
            since_trim = 0;
            // Here, not on a blocking thread: a thread of its own would get
            // an allocator arena of its own, kept for the life of the process.
            crate::platform::os::release_free_memory();
        }
    }
}

/// How much must have gone through the proxy before its free memory is
/// given back to the OS, once the queue is empty (not on every keystroke).
const TRIM_AFTER_BYTES: usize = 1 << 20;

/// Sends `batch` once the daemon is connected, coalesced, in requests of at
/// most [`MESSAGE_BYTES`], in order. A reconnect replays the mirror, which holds
/// every queued operation: what it covered is not sent again.
async fn send_batch(proxy: &Proxy, batch: Vec<DocOp>) {
    let Some(through) = batch.last().map(|op| op.seq) else { return };
    let replayed = proxy.replayed_through.load(Ordering::Acquire);
    let ops = coalesce(batch.into_iter().filter(|op| op.seq > replayed).map(|op| op.kind));
    let limit = MESSAGE_BYTES.min(proxy.request_limit().saturating_sub(ENVELOPE_BYTES));
    for ops in in_messages(ops, limit) {
        match send_sync(proxy, SyncParams { ops }, through).await {
            Sent::Applied => {}
            Sent::Covered => break,
            Sent::Closing => return,
        }
    }
    proxy.mark_sent(through);
}

enum Sent {
    /// Applied.
    Applied,
    /// A replay put the daemon's documents where the editor has them.
    Covered,
    /// The proxy is closing.
    Closing,
}

async fn send_sync(proxy: &Proxy, params: SyncParams, through: u64) -> Sent {
    loop {
        let Some(connection) = proxy.connected(Duration::MAX).await else {
            return Sent::Closing;
        };
        if proxy.replayed_through.load(Ordering::Acquire) >= through {
            return Sent::Covered;
        }
        // A refused update leaves the daemon's copy other than the editor's,
        // and the next edits (ranged, or whole texts sent as their edits)
        // would be applied to it: start over on a new connection, whose
        // replay from the mirror puts every document back as the editor has it.
        match client::call::<protocol::documents::Sync>(&connection, &params).await {
            Ok(reply) if reply.refused.is_empty() => return Sent::Applied,
            Ok(reply) => {
                for refused in reply.refused {
                    tracing::warn!("the daemon refused a document update ({}): reconnecting", refused.message);
                }
                proxy.drop_connection(&connection);
            }
            Err(_) if !connection.is_connected() => proxy.drop_connection(&connection),
            Err(err) if err.downcast_ref::<client::Refused>().is_some() => {
                tracing::warn!("the daemon refused {} document updates ({err:#}): reconnecting", params.ops.len());
                proxy.drop_connection(&connection);
            }
            // No answer (a timeout): the batch may still be applied later, after
            // the next one. Start over on a new connection, whose replay from the
            // mirror puts every document back as the editor has it.
            Err(err) => {
                tracing::warn!("no answer to {} document updates ({err:#}): reconnecting", params.ops.len());
                proxy.drop_connection(&connection);
            }
        }
    }
}

/// `ops` in order, in runs of at most `limit` request bytes (an operation
/// larger than that alone).
fn in_messages(ops: Vec<DocumentOp>, limit: usize) -> Vec<Vec<DocumentOp>> {
    let mut messages: Vec<Vec<DocumentOp>> = Vec::new();
    let mut bytes = 0;
    for op in ops {
        let size = document_op_bytes(&op);
        match messages.last_mut() {
            Some(last) if bytes + size <= limit => last.push(op),
            _ => {
                bytes = 0;
                messages.push(vec![op]);
            }
        }
        bytes += size;
    }
    messages
}

/// The request size an operation adds to a batch, at most: every byte
/// counted as the longest escape, not read (a batch is only where coalescing
/// happens; what is sent is cut into messages by their exact sizes, see
/// [`in_messages`]).
fn op_bytes_at_most(kind: &DocOpKind) -> usize {
    let text = |text: &str| 6 * text.len() + 2;
    match kind {
        DocOpKind::Open(params) => ENVELOPE_BYTES + text(&params.uri) + text(&params.text),
        DocOpKind::Change(params) => {
            ENVELOPE_BYTES
                + text(&params.uri)
                + params.changes.iter().map(|c| ENVELOPE_BYTES + text(&c.text)).sum::<usize>()
        }
        DocOpKind::Close(uri) => ENVELOPE_BYTES + text(uri),
    }
}

fn document_op_bytes(op: &DocumentOp) -> usize {
    match op {
        DocumentOp::Open(params) => open_request_bytes(&params.uri, &params.text),
        DocumentOp::Change(params) => change_request_bytes(params),
        DocumentOp::Close(params) => ENVELOPE_BYTES + params.uri.len() * 6,
    }
}

/// The operations of a batch with what a later full-text change replaces left
/// out: the changes before it to the same document, and, for a document the
/// batch opens, the change itself (the open carries the final text). The
/// daemon ends with the same documents and versions.
fn coalesce(kinds: impl Iterator<Item = DocOpKind>) -> Vec<DocumentOp> {
    let mut out: Vec<Option<DocumentOp>> = Vec::new();
    // Per document: where its operations since its last open or close are.
    let mut since: HashMap<String, Vec<usize>> = HashMap::new();
    for kind in kinds {
        match kind {
            DocOpKind::Open(params) => {
                since.insert(params.uri.clone(), vec![out.len()]);
                out.push(Some(DocumentOp::Open(params)));
            }
            DocOpKind::Close(uri) => {
                since.remove(&uri);
                out.push(Some(DocumentOp::Close(UriParams { uri })));
            }
            DocOpKind::Change(mut params) => {
                let earlier = since.entry(params.uri.clone()).or_default();
                if let Some(full) = params.changes.iter().rposition(|c| c.range.is_none()) {
                    params.changes.drain(..full);
                    for &at in earlier.iter() {
                        if matches!(out[at], Some(DocumentOp::Change(_))) {
                            out[at] = None;
                        }
                    }
                    earlier.retain(|&at| out[at].is_some());
                }
                // Opened in this batch and not changed since: the open carries
                // the changed text (a file opened, then edited, is sent once).
                if let Some(&at) = earlier.last()
                    && let Some(DocumentOp::Open(open)) = &mut out[at]
                {
                    for change in &params.changes {
                        apply_change(&mut open.text, change);
                    }
                    open.version = params.version;
                    continue;
                }
                earlier.push(out.len());
                out.push(Some(DocumentOp::Change(params)));
            }
        }
    }
    out.into_iter().flatten().collect()
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

#[cfg(test)]
mod tests {
    use protocol::documents::{ChangeParams, Position, Range};

    use super::*;

    fn open(uri: &str, version: i32, text: &str) -> DocOpKind {
        DocOpKind::Open(OpenParams { uri: uri.into(), language_id: "rust".into(), version, text: text.into() })
    }

    fn change(uri: &str, version: i32, text: &str, incremental: bool) -> DocOpKind {
        let at = Position { line: 0, character: 0 };
        let range = incremental.then_some(Range { start: at, end: at });
        DocOpKind::Change(ChangeParams {
            uri: uri.into(),
            version,
            changes: vec![ContentChange { range, text: text.into() }],
        })
    }

    /// Applies `ops` to a fresh set of documents, as the daemon would.
    fn apply(ops: Vec<DocumentOp>) -> Vec<protocol::documents::Document> {
        let mut documents = Documents::<String>::default();
        for op in ops {
            match op {
                DocumentOp::Open(p) => drop(documents.open(ANONYMOUS, p)),
                DocumentOp::Change(p) => drop(documents.change(ANONYMOUS, p).expect("change")),
                DocumentOp::Close(p) => drop(documents.close(ANONYMOUS, &p.uri).expect("close")),
            }
        }
        let mut docs = documents.snapshot();
        docs.sort_by(|a, b| a.uri.cmp(&b.uri));
        docs
    }

    #[test]
    fn a_batch_keeps_what_the_daemon_would_end_with_and_drops_what_is_replaced() {
        let batch = vec![
            open("a", 1, "one"),
            change("a", 2, "two", false),
            change("b", 7, "x", true),
            change("a", 3, "!", true),
            change("a", 4, "four", false),
            open("c", 1, "c1"),
            change("c", 2, "c2", false),
            DocOpKind::Close("c".into()),
            open("c", 5, "c5"),
            open("d", 1, "dee"),
            change("d", 2, "x", true),
            change("d", 3, "y", true),
            change("b", 8, "whole b", false),
            change("b", 9, "y", true),
        ];
        let coalesced = coalesce(batch.clone().into_iter());
        let names: Vec<String> = coalesced
            .iter()
            .map(|op| match op {
                DocumentOp::Open(p) => format!("open {} v{} {}", p.uri, p.version, p.text),
                DocumentOp::Change(p) => format!("change {} v{}", p.uri, p.version),
                DocumentOp::Close(p) => format!("close {}", p.uri),
            })
            .collect();
        assert_eq!(
            names,
            [
                "open a v4 four",
                "open c v2 c2",
                "close c",
                "open c v5 c5",
                "open d v3 yxdee",
                "change b v8",
                "change b v9"
            ],
            "b's first change is replaced by a full text; a's and d's changes (whole or ranged) fold into their opens"
        );
        // Against the same documents with b open beforehand: the same end.
        let with_b = |ops: Vec<DocumentOp>| {
            let mut all = vec![DocumentOp::Open(OpenParams {
                uri: "b".into(),
                language_id: "rust".into(),
                version: 1,
                text: "b".into(),
            })];
            all.extend(ops);
            apply(all)
        };
        let one_by_one = with_b(coalesce_none(batch));
        assert_eq!(with_b(coalesced), one_by_one);
        assert_eq!(
            one_by_one.iter().map(|d| (d.text.as_str(), d.version)).collect::<Vec<_>>(),
            [("four", 4), ("ywhole b", 9), ("c5", 5), ("yxdee", 3)]
        );
    }

    /// The batch as sent before coalescing: one operation each.
    fn coalesce_none(batch: Vec<DocOpKind>) -> Vec<DocumentOp> {
        batch
            .into_iter()
            .map(|kind| match kind {
                DocOpKind::Open(p) => DocumentOp::Open(p),
                DocOpKind::Change(p) => DocumentOp::Change(p),
                DocOpKind::Close(uri) => DocumentOp::Close(UriParams { uri }),
            })
            .collect()
    }

    #[test]
    fn the_mirror_keeps_the_document_being_edited_plain_and_the_others_compressed() {
        let (ops, mut queued) = mpsc::unbounded_channel();
        let none = std::path::PathBuf::new;
        let paths = Paths { config_dir: none(), data_dir: none(), state_dir: none(), runtime_dir: none() };
        let proxy = Proxy::new(paths, 10 << 20, Vec::new(), Vec::new(), ops);
        let text = |name: &str| format!("fn {name}() {{ let values = [1, 2, 3]; }}\n").repeat(100);
        let notify = |method: &str, params: Value| proxy.document_notification(method, Some(params));
        let open = |uri: &str| {
            notify(
                "textDocument/didOpen",
                serde_json::json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text(uri)}}),
            );
        };
        open("a");
        open("b");
        let packed = |uri: &str| proxy.mirror().documents.buffer(uri).expect("open").0.is_packed();
        assert!(packed("a") && packed("b"), "opened, not being edited");
        let typed = |uri: &str, version: i32| {
            let edit = serde_json::json!({"range": {"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 4}}, "text": "A"});
            notify(
                "textDocument/didChange",
                serde_json::json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [edit]}),
            );
        };
        typed("a", 2);
        assert!(!packed("a") && packed("b"), "typing in a: a plain, b compressed");
        let a = proxy.mirror().documents.get("a").expect("a");
        assert_eq!((a.version, a.text), (2, format!("fn A{}", &text("a")[4..])));
        assert_eq!(proxy.mirror().documents.get("b").expect("b").text, text("b"), "b reads back whole");
        // Peeking at another file, closing it, a change the mirror refuses:
        // the document being edited stays plain, the others compressed.
        open("c");
        notify("textDocument/didClose", serde_json::json!({"textDocument": {"uri": "c"}}));
        typed("b", 1);
        assert!(!packed("a") && packed("b"), "a stays the one being edited; b's refused change left it compressed");
        notify("textDocument/didClose", serde_json::json!({"textDocument": {"uri": "a"}}));
        assert_eq!(proxy.mirror().hot, None);
        open("d");
        assert!(packed("b") && packed("d"));
        let mut sent = 0;
        while queued.try_recv().is_ok() {
            sent += 1;
        }
        assert_eq!(sent, 7, "every notification the mirror took is queued for the daemon as before");
    }

    /// An editor that syncs whole texts: each keystroke's whole text goes to
    /// the daemon as the small edit it makes; a text replaced wholesale goes whole.
    #[test]
    fn a_whole_text_change_goes_to_the_daemon_as_its_edit() {
        let (ops, mut queued) = mpsc::unbounded_channel();
        let none = std::path::PathBuf::new;
        let paths = Paths { config_dir: none(), data_dir: none(), state_dir: none(), runtime_dir: none() };
        let proxy = Proxy::new(paths, 10 << 20, Vec::new(), Vec::new(), ops);
        let text = "fn main() {\n    let x = 1;\n}\n".repeat(200);
        let notify = |method: &str, params: Value| proxy.document_notification(method, Some(params));
        notify(
            "textDocument/didOpen",
            serde_json::json!({"textDocument": {"uri": "a", "languageId": "rust", "version": 1, "text": text}}),
        );
        let whole = |version: i32, text: &str| {
            notify(
                "textDocument/didChange",
                serde_json::json!({"textDocument": {"uri": "a", "version": version}, "contentChanges": [{"text": text}]}),
            );
        };
        // A keystroke in the hundredth function.
        let mut typed = text.clone();
        let (hundredth, _) = text.match_indices("let x = 1").nth(99).expect("200 of them");
        typed.insert(hundredth + "let x = 1".len(), '2');
        whole(2, &typed);
        whole(3, "something else");
        let sent: Vec<DocOpKind> = std::iter::from_fn(|| queued.try_recv().ok().map(|op| op.kind)).collect();
        let [DocOpKind::Open(_), DocOpKind::Change(edit), DocOpKind::Change(replaced)] = sent.as_slice() else {
            panic!("an open and two changes: {}", sent.len());
        };
        let at = Position { line: 100 * 3 - 2, character: "    let x = 1".len() as u32 };
        assert_eq!(edit.changes, [ContentChange { range: Some(Range { start: at, end: at }), text: "2".into() }]);
        assert_eq!(replaced.changes, [ContentChange { range: None, text: "something else".into() }]);
        // Applied in order, the daemon's copy is the editor's.
        let mut daemon = Documents::<String>::default();
        daemon.open(
            ANONYMOUS,
            OpenParams { uri: "a".into(), language_id: "rust".into(), version: 1, text: text.clone() },
        );
        daemon.change(ANONYMOUS, edit.clone()).expect("edit");
        assert_eq!(daemon.get("a").expect("a").text, typed);
        assert_eq!(proxy.mirror().documents.get("a").expect("a").text, "something else");
    }

    #[test]
    fn requests_stay_small_and_in_order_and_a_large_operation_goes_alone() {
        let text = |n: usize| "x".repeat(n);
        let ops = coalesce_none(vec![
            open("a", 1, &text(100)),
            open("b", 1, &text(100)),
            open("big", 1, &text(5000)),
            change("a", 2, &text(100), true),
            DocOpKind::Close("b".into()),
        ]);
        let sizes: Vec<usize> = ops.iter().map(document_op_bytes).collect();
        let limit = (sizes[0] + sizes[1]).max(sizes[3] + sizes[4]);
        assert!(sizes[2] > limit && sizes[0] + sizes[1] + sizes[3] > limit);
        let messages = in_messages(ops.clone(), limit);
        let shape: Vec<usize> = messages.iter().map(Vec::len).collect();
        assert_eq!(shape, [2, 1, 2], "a and b fit together, the large open alone, then the rest");
        for message in [&messages[0], &messages[2]] {
            assert!(message.iter().map(document_op_bytes).sum::<usize>() <= limit);
        }
        assert_eq!(messages.concat(), ops, "nothing lost, nothing reordered");
        assert!(in_messages(Vec::new(), limit).is_empty());
        // Counted as the request will be written: JSON escapes included.
        let quoted = coalesce_none(vec![open("q", 1, &"\"".repeat(1000))]);
        let written = serde_json::to_string(&SyncParams { ops: quoted.clone() }).expect("json").len();
        assert!(document_op_bytes(&quoted[0]) >= written, "{} < {written}", document_op_bytes(&quoted[0]));
    }
}
