//! What an editor writes to `paired lsp`: bytes in LSP's base protocol
//! (`Content-Length` headers, JSON-RPC bodies), read as the proxy reads them:
//! PAIRED's frame decoder (`daemon::fronts::lsp::frames::Decoder`), its frames written
//! on to tower-lsp-server's `Server` as `editor_input` does, and, as in the
//! proxy's `Front`, document notifications taken off the stream by PAIRED's own
//! reader (`daemon::fronts::lsp::fuzz_document_notifications`: didOpen, didChange,
//! didClose into the proxy's mirror, UTF-16 positions to bytes). Everything
//! else goes to a language server that only answers `initialize`.
//!
//! The first byte of an input picks how the rest is cut into reads.
//!
//! Invariants: the decoder gives the same frames however the input is cut into
//! reads; every message it passes on reaches the service (tower-lsp-server
//! never stops reading on one, up to `exit`); the operations the proxy queues
//! for the daemon, applied to the daemon's own document state
//! (`Documents<SyntaxDocument>`, tree-sitter trees edited incrementally), give
//! the same text and version as the mirror; every node of each re-parsed tree
//! has positions (row, byte column) that match its byte offsets.
#![no_main]

use std::{
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use daemon::{
    services::documents::{ANONYMOUS, Documents},
    fronts::lsp::frames::{Decoder, Frame},
};
use futures::{FutureExt, future::BoxFuture};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower_lsp_server::{
    ExitedError, LanguageServer, LspService, Server,
    jsonrpc::{Request, Response, Result},
    ls_types::{InitializeParams, InitializeResult},
};

struct Quiet;

impl LanguageServer for Quiet {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult::default())
    }
    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }
}

/// `paired lsp`'s `Front`, for document notifications: taken off the stream
/// synchronously, in order.
struct Front<S> {
    inner: S,
    notifications: Arc<Mutex<Vec<(String, Option<Value>)>>>,
    calls: Arc<Mutex<usize>>,
}

impl<S> tower::Service<Request> for Front<S>
where
    S: tower::Service<Request, Response = Option<Response>, Error = ExitedError>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = ExitedError;
    type Future = BoxFuture<'static, std::result::Result<Option<Response>, ExitedError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), ExitedError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        *self.calls.lock().expect("lock") += 1;
        match request.method() {
            "textDocument/didOpen" | "textDocument/didChange" | "textDocument/didClose" => {
                let method = request.method().to_owned();
                let (_, _, params) = request.into_parts();
                self.notifications.lock().expect("lock").push((method, params));
                futures::future::ready(Ok(None)).boxed()
            }
            _ => self.inner.call(request).boxed(),
        }
    }
}

fn check_positions(text: &str, tree: &tree_sitter::Tree) {
    let mut cursor = tree.walk();
    let mut seen = 0;
    loop {
        let node = cursor.node();
        for (byte, point) in [(node.start_byte(), node.start_position()), (node.end_byte(), node.end_position())] {
            assert!(byte <= text.len(), "node {} ends past the text", node.kind());
            assert_eq!(point, context::syntax::point_at(text, byte), "node {} at byte {byte}", node.kind());
        }
        seen += 1;
        if seen > 20_000 {
            return;
        }
        if cursor.goto_first_child() || cursor.goto_next_sibling() {
            continue;
        }
        loop {
            if !cursor.goto_parent() {
                return;
            }
            if cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

fn decode(data: &[u8], chunk: usize) -> Vec<Frame> {
    let mut decoder = Decoder::default();
    let mut frames = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        decoder.push(piece);
        while let Some(frame) = decoder.next_frame() {
            frames.push(frame);
        }
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else { return };
    let frames = decode(data, 64 * 1024);
    assert_eq!(frames, decode(data, usize::from(cut % 16) + 1), "the frames depend on how the input was read");

    // As `editor_input`: each frame written on with a `Content-Length` of its own.
    let mut input = Vec::new();
    let mut messages = 0;
    for frame in &frames {
        let body = match frame {
            Frame::Message(body) => body.clone(),
            Frame::Malformed { id, code, message } => serde_json::to_vec(&serde_json::json!({
                "jsonrpc": "2.0", "id": id, "method": "$/paired/malformedFrame",
                "params": { "code": code, "message": message },
            }))
            .expect("JSON"),
        };
        // Requests and notifications (tower-lsp-server reads a message without
        // `method` as one too) reach the service; responses go to the client side.
        let message: Value = serde_json::from_slice(&body).expect("a frame passed on is JSON");
        let request = serde_json::from_slice::<tower_lsp_server::jsonrpc::Response>(&body).is_err();
        if request {
            messages += 1;
        }
        input.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        input.extend_from_slice(&body);
        if request && message["method"] == "exit" {
            break; // the server stops reading here
        }
    }

    let notifications = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(Mutex::new(0));
    let (service, socket) = LspService::new(|_| Quiet);
    let front = Front { inner: service, notifications: notifications.clone(), calls: calls.clone() };
    paired_fuzz::runtime().block_on(Server::new(&input[..], tokio::io::sink(), socket).serve(front));
    assert_eq!(*calls.lock().expect("lock"), messages, "tower-lsp-server stopped before the input's end");
    let notifications = std::mem::take(&mut *notifications.lock().expect("lock"));
    let (mirror, sent) = daemon::fronts::lsp::fuzz_document_notifications(notifications);

    // The daemon's side: what `documents/open|change|close` do with them.
    let mut documents: Documents<context::SyntaxDocument> = Documents::default();
    for (method, params) in sent {
        match method {
            "documents/open" => {
                documents.open(ANONYMOUS, serde_json::from_value(params).expect("open params"));
            }
            "documents/change" => {
                documents.change(ANONYMOUS, serde_json::from_value(params).expect("change params")).expect(
                    "the mirror took this change, so must the daemon",
                );
            }
            _ => {
                let uri = params["uri"].as_str().expect("uri");
                documents.close(ANONYMOUS, uri).expect("the mirror closed it, so must the daemon");
            }
        }
    }
    let daemon_side = documents.snapshot();
    assert_eq!(mirror.len(), daemon_side.len(), "the mirror and the daemon hold different documents");
    for (m, d) in mirror.iter().zip(&daemon_side) {
        assert_eq!((&m.uri, m.version, &m.text), (&d.uri, d.version, &d.text), "mirror and daemon differ");
        let (buffer, _) = documents.buffer(&d.uri).expect("open");
        if let Some(tree) = buffer.tree() {
            check_positions(buffer.text(), tree);
        }
    }
});
