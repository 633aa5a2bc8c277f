//! The editor's document notifications as read: their wire shapes, decoded
//! into the operations the mirror applies ([`DocOpKind`]), and the fast way
//! for the frequent ones ([`Incoming`]).

use serde::Deserialize;
use serde_json::Value;

use protocol::documents::{ChangeParams, ContentChange, OpenParams};

use super::limits::MAX_LANGUAGE_ID_BYTES;

/// A document notification, as the operation it asks of the mirror.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum DocOpKind {
    Open(OpenParams),
    Change(ChangeParams),
    Close(String),
}

/// Document notifications read on the stdin thread, waiting for their turn.
///
/// An editor's `didOpen`/`didChange` carry whole texts; passed to
/// tower-lsp-server they were read as JSON three times (checked as JSON, as
/// JSON-RPC, then decoded by its codec) before their parameters were decoded
/// again. Here their envelope is checked where they are framed, their
/// parameters decoded once, and tower-lsp-server is given a placeholder
/// ([`DOCUMENT`], carrying a number) in their place in the stream, so the
/// front takes them in the order the editor sent them. Anything that is not
/// plainly such a notification (an `id`, a field more, an escaped method name)
/// goes the usual way. (Fields this proxy ignores are skipped unchecked here,
/// where the usual way refused a number out of range, a lone surrogate or
/// nesting past 128 in them with an error and dropped the notification; here
/// it is applied.)
pub(super) struct Incoming {
    /// The notifications waiting, numbered, and the next number.
    queue: std::sync::Mutex<(std::collections::VecDeque<(u64, DocOpKind)>, u64)>,
    /// In every placeholder: one the editor wrote itself is not taken for ours.
    key: u64,
}

impl Default for Incoming {
    fn default() -> Incoming {
        use std::hash::{BuildHasher, Hasher};
        let key = std::collections::hash_map::RandomState::new().build_hasher().finish();
        Incoming { queue: Default::default(), key }
    }
}

/// The placeholder's method.
pub(super) const DOCUMENT: &str = "$/paired/document";

impl Incoming {
    /// A frame's body, taken if it is a document notification: the frame to
    /// pass on in its place.
    pub(super) fn take(&self, body: &[u8]) -> Option<super::frames::Frame> {
        let kind = read_notification(body)?;
        let seq = {
            let (queue, next) = &mut *self.queue.lock().unwrap_or_else(|p| p.into_inner());
            *next += 1;
            queue.push_back((*next, kind));
            *next
        };
        let key = self.key;
        let placeholder = format!(r#"{{"jsonrpc":"2.0","method":"{DOCUMENT}","params":{{"seq":{seq},"key":{key}}}}}"#);
        Some(super::frames::Frame::Message(placeholder.into_bytes()))
    }

    /// Whether `params` are those of one of this proxy's placeholders.
    pub(super) fn is_placeholder(&self, params: Option<&Value>) -> bool {
        params.and_then(|p| p.get("key")).and_then(Value::as_u64) == Some(self.key)
    }

    /// The notification a placeholder stands for (any left before it were
    /// not asked for: dropped, which never happens while tower-lsp-server
    /// passes every message on in order).
    pub(super) fn claim(&self, params: Option<&Value>) -> Option<DocOpKind> {
        if !self.is_placeholder(params) {
            return None;
        }
        let seq = params?.get("seq")?.as_u64()?;
        let (queue, _) = &mut *self.queue.lock().unwrap_or_else(|p| p.into_inner());
        while queue.front().is_some_and(|(at, _)| *at < seq) {
            queue.pop_front();
            tracing::error!(
                seq,
                "a document notification's turn never came: dropped (the mirror may differ from the editor)"
            );
        }
        queue.front().is_some_and(|(at, _)| *at == seq).then(|| queue.pop_front().map(|(_, kind)| kind)).flatten()
    }
}

/// A document notification's operation, if `body` is plainly one (see [`Incoming`]).
fn read_notification(body: &[u8]) -> Option<DocOpKind> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Envelope<'a> {
        jsonrpc: &'a str,
        method: &'a str,
        #[serde(borrow)]
        params: &'a serde_json::value::RawValue,
    }
    let envelope: Envelope<'_> = serde_json::from_slice(body).ok()?;
    let method = envelope.method;
    if envelope.jsonrpc != "2.0"
        || !matches!(method, "textDocument/didOpen" | "textDocument/didChange" | "textDocument/didClose")
    {
        return None;
    }
    let params = envelope.params.get();
    let decoded = match method {
        "textDocument/didOpen" => serde_json::from_str::<DidOpen>(params).map(DidOpen::into_op),
        "textDocument/didChange" => serde_json::from_str::<DidChange>(params).map(DidChange::into_op),
        _ => serde_json::from_str::<DidClose>(params).map(|p| DocOpKind::Close(p.text_document.uri)),
    };
    // Malformed parameters go the usual way (to be told about there).
    decoded.ok()
}

/// A document notification's parameters, as the operation it asks for.
pub(super) fn parse_notification(method: &str, params: Value) -> serde_json::Result<DocOpKind> {
    match method {
        "textDocument/didOpen" => serde_json::from_value::<DidOpen>(params).map(DidOpen::into_op),
        "textDocument/didChange" => serde_json::from_value::<DidChange>(params).map(DidChange::into_op),
        _ => serde_json::from_value::<DidClose>(params).map(|p| DocOpKind::Close(p.text_document.uri)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidOpen {
    text_document: TextDocumentItem,
}

impl DidOpen {
    fn into_op(self) -> DocOpKind {
        let item = self.text_document;
        DocOpKind::Open(OpenParams {
            uri: item.uri,
            language_id: Some(item.language_id).filter(|id| id.len() <= MAX_LANGUAGE_ID_BYTES).unwrap_or_default(),
            version: item.version,
            text: item.text,
        })
    }
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

impl DidChange {
    fn into_op(self) -> DocOpKind {
        DocOpKind::Change(ChangeParams {
            uri: self.text_document.uri,
            version: self.text_document.version,
            changes: self.content_changes,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Vec<u8> {
        serde_json::to_vec(&value).expect("json")
    }

    fn did_open(text: &str) -> Value {
        serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
            {"uri": "file:///a.rs", "languageId": "rust", "version": 1, "text": text}}})
    }

    #[test]
    fn document_notifications_are_read_once_and_claimed_in_order() {
        let incoming = Incoming::default();
        let text = "fn main() {\n\t\"é😀\\\" \u{1}\r\n}";
        let change = serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": "file:///a.rs", "version": 2},
            "contentChanges": [{"range": {"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 7}}, "text": "x"}]}});
        let close = serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": "file:///a.rs"}}});
        let mut placeholders = Vec::new();
        for value in [did_open(text), change, close] {
            let Some(super::super::frames::Frame::Message(placeholder)) = incoming.take(&body(value)) else {
                panic!("taken")
            };
            placeholders.push(serde_json::from_slice::<Value>(&placeholder).expect("a placeholder is JSON"));
        }
        assert_eq!(placeholders[0]["method"], DOCUMENT);
        let claim = |n: usize| incoming.claim(placeholders[n].get("params"));
        let Some(DocOpKind::Open(open)) = claim(0) else { panic!("the open") };
        assert_eq!((open.uri.as_str(), open.language_id.as_str(), open.version), ("file:///a.rs", "rust", 1));
        assert_eq!(open.text, text, "escapes decoded");
        // A placeholder claimed twice, or one skipped, gives nothing; nor
        // does one the editor wrote (it cannot know the key).
        assert!(claim(0).is_none());
        let forged = serde_json::json!({"seq": 1});
        assert!(!incoming.is_placeholder(Some(&forged)) && incoming.claim(Some(&forged)).is_none());
        let Some(DocOpKind::Close(uri)) = claim(2) else { panic!("the close, the change before it dropped") };
        assert_eq!(uri, "file:///a.rs");
        assert!(claim(1).is_none());
    }

    #[test]
    fn anything_not_plainly_a_document_notification_goes_the_usual_way() {
        let incoming = Incoming::default();
        let open = did_open("fn a() {}");
        let with = |key: &str, value: Value| {
            let mut open = open.clone();
            open[key] = value;
            body(open)
        };
        let not_taken: Vec<Vec<u8>> = vec![
            with("id", 1.into()),
            with("extra", true.into()),
            with("jsonrpc", "1.0".into()),
            with("method", "textDocument/hover".into()),
            with("params", serde_json::json!({"textDocument": {"uri": "file:///a.rs"}})),
            body(open.clone()).into_iter().chain(*b" trailing").collect(),
            String::from_utf8(body(open.clone()))
                .expect("utf-8")
                .replace("textDocument/didOpen", r"textDocument\/didOpen")
                .into_bytes(),
            String::from_utf8(body(open.clone()))
                .expect("utf-8")
                .replace("\"2.0\"", "\"2.0\",\"jsonrpc\":\"2.0\"")
                .into_bytes(),
            String::from_utf8(body(open.clone())).expect("utf-8").replace("fn a", "fn \u{0}").into_bytes(),
            [&body(open.clone())[..20], &[0xff, 0xfe], &body(open.clone())[20..]].concat(),
        ];
        for bytes in not_taken {
            assert!(incoming.take(&bytes).is_none(), "taken: {}", String::from_utf8_lossy(&bytes));
        }
        assert!(incoming.take(&body(open)).is_some());
    }

    /// What the fast way takes, the usual way (the whole body checked as
    /// JSON-RPC, then the parameters decoded from a `Value`) decodes to the same
    /// operation; bodies made of an editor's notifications with random changes
    /// to them.
    #[test]
    fn what_is_taken_the_usual_way_reads_the_same() {
        const PIECES: [&str; 14] = [
            r#""id":1,"#,
            r#""jsonrpc":"2.0","#,
            r#""method":"textDocument/didOpen","#,
            r#""method":"textDocument/didChange","#,
            r#""method":"textDocument/didClose","#,
            r#""method":"textDocument\/didOpen","#,
            r#""params":{"textDocument":{"uri":"file:///a.rs","languageId":"rust","version":1,"text":"fn a() {}\n\u00e9"}},"#,
            r#""params":{"textDocument":{"uri":"file:///a.rs","version":2},"contentChanges":[{"text":"x"}]},"#,
            r#""params":{"textDocument":{"uri":"file:///a.rs","version":2},"contentChanges":[{"range":{"start":{"line":0,"character":1},"end":{"line":0,"character":2}},"text":"\"y\""}]},"#,
            r#""params":{"textDocument":{"uri":"file:///a.rs"}},"#,
            r#""params":{"textDocument":{"uri":"file:///a.rs","languageId":"rust","version":1.5,"text":""}},"#,
            r#""params":null,"#,
            r#""extra":[1,{"a":null}],"#,
            r#""params":{"textDocument":{"uri":"file:///a.rs","languageId":"rust","version":1,"text":"","more":{"deep":[true]}}},"#,
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let incoming = Incoming::default();
        let (mut taken, mut usual) = (0, 0);
        for _ in 0..20_000 {
            // Mostly an envelope and parameters, sometimes a field more or less, in any order.
            let mut picked = vec![PIECES[1], PIECES[2 + next(4)], PIECES[6 + next(6)]];
            if next(4) == 0 {
                let gone = next(picked.len());
                picked.remove(gone);
            }
            if next(3) == 0 {
                picked.push(PIECES[next(PIECES.len())]);
            }
            let turn = next(picked.len());
            picked.rotate_left(turn);
            let fields: String = picked.concat();
            let body = format!("{{{}}}", fields.trim_end_matches(','));
            let Some(super::super::frames::Frame::Message(placeholder)) = incoming.take(body.as_bytes()) else {
                usual += 1;
                continue;
            };
            taken += 1;
            let placeholder: Value = serde_json::from_slice(&placeholder).expect("json");
            let fast = incoming.claim(placeholder.get("params")).expect("claimed");
            let mut decoder = super::super::frames::Decoder::default();
            decoder.push(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
            let Some(super::super::frames::Frame::Message(checked)) = decoder.next_frame() else {
                panic!("the usual way refuses what was taken: {body}")
            };
            let message: Value = serde_json::from_slice(&checked).expect("json");
            let method = message["method"].as_str().expect("method");
            let slow = parse_notification(method, message["params"].clone()).expect("the usual way decodes it");
            assert_eq!(fast, slow, "{body}");
        }
        assert!(taken > 1000 && usual > 1000, "both ways tried: {taken} taken, {usual} the usual way");
    }
}
