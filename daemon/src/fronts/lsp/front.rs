//! The tower `Service` in front of tower-lsp-server's ([`Front`]): document
//! notifications taken off the stream synchronously, in order; PAIRED's
//! methods, symbols, code actions and commands answered through the daemon,
//! cancellable; everything else (the LSP lifecycle) passed on.

use std::{
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
};

use futures::{FutureExt, future::BoxFuture};
use serde_json::Value;
use tower_lsp_server::{
    ExitedError,
    jsonrpc::{self, ErrorCode, Request, Response},
};
use tracing::Instrument;

use super::{
    agents,
    commands::{self, Work},
    convert::{to_document_symbols, to_symbol_information},
    proxy::Proxy,
};

/// What [`super::frames`] turns a malformed frame into: a request that [`Front`]
/// answers with the error, so the answer goes out in turn with the others.
pub(super) const MALFORMED: &str = "$/paired/malformedFrame";

/// The answer to one request (or `None` for a notification).
type Answer = BoxFuture<'static, Result<Option<Response>, ExitedError>>;

/// The tower `Service` in front of tower-lsp-server's: see the module docs.
pub(super) struct Front<S> {
    pub(super) inner: S,
    pub(super) proxy: Arc<Proxy>,
}

impl<S> tower::Service<Request> for Front<S>
where
    S: tower::Service<Request, Response = Option<Response>, Error = ExitedError>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = ExitedError;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ExitedError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let method = request.method().to_owned();
        let id = request.id().cloned();
        let span = tracing::info_span!("lsp", method = %method, id = ?id.as_ref().map(ToString::to_string));
        let initialized = self.proxy.initialized.load(Ordering::Acquire);
        match method.as_str() {
            "textDocument/didOpen" | "textDocument/didChange" | "textDocument/didClose" if initialized => {
                let _entered = span.enter();
                let (_, _, params) = request.into_parts();
                self.proxy.document_notification(&method, params);
                nothing()
            }
            super::incoming::DOCUMENT if id.is_none() && self.proxy.incoming.is_placeholder(request.params()) => {
                let kind = self.proxy.incoming.claim(request.params());
                // Before `initialized`, as tower-lsp-server does: not taken.
                if let Some(kind) = kind.filter(|_| initialized) {
                    let _entered = tracing::info_span!("lsp", method = kind.method()).entered();
                    self.proxy.document_op(kind);
                }
                nothing()
            }
            MALFORMED => {
                let Some(id) = id else { return nothing() };
                malformed(id, request.params())
            }
            "$/cancelRequest" => {
                self.proxy.cancel(request.params());
                self.inner.call(request).instrument(span).boxed()
            }
            "textDocument/documentSymbol" | "workspace/symbol" => {
                let Some(id) = id else { return nothing() };
                let (_, _, params) = request.into_parts();
                self.symbols(id, &method, params.unwrap_or(Value::Null), initialized, span)
            }
            "textDocument/codeAction" => {
                let Some(id) = id else { return nothing() };
                let (_, _, params) = request.into_parts();
                self.code_action(id, params.unwrap_or(Value::Null), initialized, span)
            }
            "textDocument/codeLens" => {
                let Some(id) = id else { return nothing() };
                let (_, _, params) = request.into_parts();
                let uri = params.as_ref().map_or(Value::Null, |p| p["textDocument"]["uri"].clone());
                let outline = Some(serde_json::json!({ "uri": uri }));
                let method = <protocol::context::Outline as protocol::Method>::NAME;
                self.forward_request(id, method, outline, super::lenses::code_lenses, initialized, span)
            }
            "textDocument/hover" => {
                let Some(id) = id else { return nothing() };
                let params = request.params().cloned().unwrap_or(Value::Null);
                let uri = params["textDocument"]["uri"].as_str().unwrap_or_default();
                let found = self.proxy.agent_diagnostics.lock().unwrap_or_else(|p| p.into_inner());
                let hover = super::lenses::hover(found.get(uri), &params["position"]);
                futures::future::ready(Ok(Some(Response::from_ok(id, hover)))).boxed()
            }
            "textDocument/inlineCompletion" => {
                let Some(id) = id else { return nothing() };
                let (_, _, params) = request.into_parts();
                let work = super::complete::inline_completion(&self.proxy, &id, params.unwrap_or(Value::Null));
                self.answer_with(id, work, initialized, span)
            }
            "textDocument/completion" => {
                let Some(id) = id else { return nothing() };
                let (_, _, params) = request.into_parts();
                let work = super::complete::menu_completion(&self.proxy, &id, params.unwrap_or(Value::Null));
                self.answer_with(id, work, initialized, span)
            }
            "workspace/executeCommand" => {
                let Some(id) = id else { return nothing() };
                let (_, _, params) = request.into_parts();
                self.execute_command(id, params.unwrap_or(Value::Null), initialized, span)
            }
            name if self.proxy.forwarded.contains(&name) => {
                let Some(id) = id else {
                    return nothing(); // a notification: nothing to answer
                };
                let (_, _, params) = request.into_parts();
                let method: &'static str = self.proxy.forwarded.iter().copied().find(|m| *m == method).unwrap_or("");
                self.forward_request(id, method, params, |v| v, initialized, span)
            }
            _ => self.inner.call(request).instrument(span).boxed(),
        }
    }
}

/// No answer: the request was a notification.
fn nothing() -> Answer {
    futures::future::ready(Ok(None)).boxed()
}

/// Answers `id` with `error` at once.
fn refuse(id: jsonrpc::Id, error: jsonrpc::Error) -> Answer {
    futures::future::ready(Ok(Some(Response::from_error(id, error)))).boxed()
}

/// The answer to a malformed frame: the error the framing found.
fn malformed(id: jsonrpc::Id, params: Option<&Value>) -> Answer {
    let params = params.cloned().unwrap_or(Value::Null);
    let error = jsonrpc::Error {
        code: ErrorCode::from(params["code"].as_i64().unwrap_or(-32700)),
        message: params["message"].as_str().unwrap_or("Parse error").to_owned().into(),
        data: None,
    };
    refuse(id, error)
}

impl<S> Front<S> {
    /// `textDocument/documentSymbol` and `workspace/symbol`, from the context engine.
    fn symbols(
        &mut self,
        id: jsonrpc::Id,
        method: &str,
        params: Value,
        initialized: bool,
        span: tracing::Span,
    ) -> Answer {
        let (daemon_method, daemon_params, convert): (&'static str, Value, fn(Value) -> Value) =
            if method == "workspace/symbol" {
                let query = params["query"].as_str().unwrap_or("").to_owned();
                (
                    <protocol::context::Symbols as protocol::Method>::NAME,
                    serde_json::json!({ "query": query, "limit": 200 }),
                    to_symbol_information,
                )
            } else {
                let uri = params["textDocument"]["uri"].clone();
                (
                    <protocol::context::Outline as protocol::Method>::NAME,
                    serde_json::json!({ "uri": uri }),
                    to_document_symbols,
                )
            };
        self.forward_request(id, daemon_method, Some(daemon_params), convert, initialized, span)
    }

    /// `textDocument/codeAction`: the agents' actions for the range.
    fn code_action(&mut self, id: jsonrpc::Id, params: Value, initialized: bool, span: tracing::Span) -> Answer {
        let proxy = self.proxy.clone();
        let after_seq = self.proxy.mirror().seq;
        let work = async move {
            // The agents of the document's project, not of every project the daemon has open.
            let project = serde_json::json!({ "project": params["textDocument"]["uri"] });
            let agents =
                proxy.forward(<protocol::agents::List as protocol::Method>::NAME, Some(project), after_seq).await?;
            Ok(agents::code_actions(&agents, &params))
        }
        .boxed();
        self.answer_with(id, work, initialized, span)
    }

    /// `workspace/executeCommand`: `paired.runWorkflow`, `paired.runAgent` or `paired.feedback`.
    fn execute_command(&mut self, id: jsonrpc::Id, params: Value, initialized: bool, span: tracing::Span) -> Answer {
        let work = if params["command"] == agents::RUN_WORKFLOW {
            commands::run_workflow(&self.proxy, &id, &params)
        } else if params["command"] == agents::FEEDBACK {
            let Some(feedback) = agents::feedback_params(&params["arguments"]) else {
                let error = jsonrpc::Error::invalid_params("paired.feedback takes [{source, item, accepted}]");
                return refuse(id, error);
            };
            let proxy = self.proxy.clone();
            let after_seq = proxy.mirror().seq;
            Ok(async move {
                let method = <protocol::agents::Feedback as protocol::Method>::NAME;
                proxy.forward(method, Some(feedback), after_seq).await?;
                Ok(Value::Null)
            }
            .boxed())
        } else if params["command"] != agents::RUN_AGENT {
            let error = jsonrpc::Error::invalid_params(format!(
                "unknown command {}; PAIRED has {}, {} and {}",
                params["command"],
                agents::RUN_AGENT,
                agents::RUN_WORKFLOW,
                agents::FEEDBACK
            ));
            return refuse(id, error);
        } else {
            commands::run_agent(&self.proxy, &id, &params)
        };
        match work {
            Ok(work) => self.answer_with(id, work, initialized, span),
            Err(error) => refuse(id, error),
        }
    }

    /// Forwards a request to the daemon after every edit that came before it,
    /// cancellable with `$/cancelRequest`, converting the result with `convert`.
    fn forward_request(
        &mut self,
        id: jsonrpc::Id,
        method: &'static str,
        params: Option<Value>,
        convert: fn(Value) -> Value,
        initialized: bool,
        span: tracing::Span,
    ) -> Answer {
        let proxy = self.proxy.clone();
        let after_seq = self.proxy.mirror().seq;
        let work = async move { proxy.forward(method, params, after_seq).await.map(convert) }.boxed();
        self.answer_with(id, work, initialized, span)
    }

    /// Answers request `id` with `work`, which `$/cancelRequest` aborts.
    fn answer_with(&mut self, id: jsonrpc::Id, work: Work, initialized: bool, span: tracing::Span) -> Answer {
        if !initialized || self.proxy.shutdown_requested.load(Ordering::Acquire) {
            let error = if initialized {
                jsonrpc::Error::invalid_request()
            } else {
                jsonrpc::Error {
                    code: ErrorCode::ServerError(-32002),
                    message: "server not initialized: send initialize first".into(),
                    data: None,
                }
            };
            return refuse(id, error);
        }
        let key = serde_json::to_string(&id).unwrap_or_default();
        let (work, handle) = futures::future::abortable(work);
        self.proxy.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), handle);
        let proxy = self.proxy.clone();
        async move {
            let result = work.await;
            proxy.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            let body = result.unwrap_or_else(|_aborted| Err(jsonrpc::Error::request_cancelled()));
            Ok(Some(Response::from_parts(id, body)))
        }
        .instrument(span)
        .boxed()
    }
}
