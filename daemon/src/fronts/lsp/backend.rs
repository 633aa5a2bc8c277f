//! The LSP lifecycle — `initialize`, `initialized`, `shutdown` — and the watch
//! on the editor's process. Documents and PAIRED methods are the front's
//! ([`super::front`]).

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use protocol::client::{ClientHello, ClientKind};
use serde_json::Value;
use tower_lsp_server::{
    LanguageServer, jsonrpc,
    ls_types::{
        InitializeParams, InitializeResult, InitializedParams, MessageType, OneOf, PositionEncodingKind,
        ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    },
};

use super::{agents, proxy::Proxy, replay::stay_connected};
use crate::{server::client, services::workspace::unfit_root};

/// How long the proxy waits for `initialized` before connecting anyway.
const CONNECT_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// The LSP lifecycle; documents and PAIRED methods are handled by the front.
pub(super) struct Backend {
    pub(super) proxy: Arc<Proxy>,
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> jsonrpc::Result<InitializeResult> {
        // `rootUri` stands for the folders when the editor names none.
        #[allow(deprecated)]
        let named: Vec<String> = match params.workspace_folders {
            Some(folders) => folders.into_iter().map(|folder| folder.uri.as_str().to_owned()).collect(),
            None => params.root_uri.iter().map(|uri| uri.as_str().to_owned()).collect(),
        };
        let mut workspace_folders = Vec::new();
        for uri in named {
            let unfit = crate::platform::uri::to_path(&uri).and_then(|path| {
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                unfit_root(&path)
            });
            match unfit {
                Some(why) => {
                    tracing::warn!(uri, "not indexing the workspace folder: {why}");
                    self.proxy.notices.lock().unwrap_or_else(|p| p.into_inner()).push(why);
                }
                None => workspace_folders.push(uri),
            }
        }
        let wants_events = params
            .initialization_options
            .as_ref()
            .and_then(|options| options.pointer("/paired/events"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let hello = ClientHello {
            kind: ClientKind::Lsp,
            name: params.client_info.as_ref().map_or_else(|| "editor".to_owned(), |info| info.name.clone()),
            version: params.client_info.and_then(|info| info.version),
            pid: Some(std::process::id()),
            workspace_folders,
            events: Some(
                super::replay::EVENTS
                    .iter()
                    .chain(wants_events.then_some(&super::replay::PANEL_EVENTS).into_iter().flatten())
                    .map(|kind| (*kind).to_owned())
                    .collect(),
            ),
        };
        self.proxy.events_wanted.store(wants_events, Ordering::Relaxed);
        let reviews = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.workspace_edit.as_ref())
            .is_some_and(|e| e.change_annotation_support.is_some() && e.document_changes == Some(true));
        self.proxy.edit_review.store(reviews, Ordering::Relaxed);
        let text = params.capabilities.text_document.as_ref();
        let menu = text.is_some_and(|t| t.inline_completion.is_none() && t.completion.is_some());
        self.proxy.completion_menu.store(menu, Ordering::Relaxed);
        if let Some(debounce) = params
            .initialization_options
            .as_ref()
            .and_then(|options| options.pointer("/paired/completion/debounceMs"))
            .and_then(Value::as_u64)
        {
            self.proxy.completion_debounce_ms.store(debounce.min(2000), Ordering::Relaxed);
        }
        if self.proxy.hello.set(hello).is_ok() {
            // Connect once the editor has this answer (`initialized`), or soon
            // after without it: attaching starts the daemon's work on a new
            // workspace, which must not delay the answer on a 2-core machine.
            let proxy = self.proxy.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(CONNECT_AFTER, proxy.connect_now.notified()).await;
                stay_connected(proxy).await;
            });
        }
        // Watch the editor's pid only if we can see it now: an editor in a
        // sandbox (Flatpak, a container) may report a pid from another namespace.
        match params.process_id {
            Some(editor_pid) if client::process_alive(editor_pid) => {
                tokio::spawn(exit_when_gone(editor_pid));
            }
            Some(editor_pid) => {
                tracing::warn!(editor_pid, "the editor's pid is not visible here; relying on stdin to end")
            }
            None => {}
        }
        self.proxy.initialized.store(true, Ordering::Release);
        Ok(InitializeResult {
            capabilities: capabilities(&self.proxy),
            server_info: Some(ServerInfo {
                name: "paired".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.proxy.connect_now.notify_one();
        let refused = std::mem::take(&mut *self.proxy.notices.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(editor) = self.proxy.editor.get() {
            for why in refused {
                editor.show_message(MessageType::WARNING, format!("PAIRED: {why}")).await;
            }
        }
    }

    async fn shutdown(&self) -> jsonrpc::Result<()> {
        self.proxy.shutdown_requested.store(true, Ordering::Release);
        Ok(())
    }
}

/// Exits when the editor process dies, even if it left our stdin open.
async fn exit_when_gone(editor_pid: u32) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !client::process_alive(editor_pid) {
            tracing::info!(editor_pid, "the editor process is gone; exiting");
            std::process::exit(1);
        }
    }
}

/// What `paired lsp` serves: the same for every editor.
fn capabilities(proxy: &Proxy) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        document_symbol_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(tower_lsp_server::ls_types::CodeActionProviderCapability::Simple(true)),
        execute_command_provider: Some(tower_lsp_server::ls_types::ExecuteCommandOptions {
            commands: vec![agents::RUN_AGENT.to_owned(), agents::RUN_WORKFLOW.to_owned(), agents::FEEDBACK.to_owned()],
            ..Default::default()
        }),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        inline_completion_provider: Some(OneOf::Left(true)),
        // Only for an editor without inline completions: the model's
        // completion as the first item of its completion menu.
        completion_provider: proxy
            .completion_menu
            .load(Ordering::Relaxed)
            .then(tower_lsp_server::ls_types::CompletionOptions::default),
        code_lens_provider: Some(tower_lsp_server::ls_types::CodeLensOptions { resolve_provider: Some(false) }),
        hover_provider: Some(tower_lsp_server::ls_types::HoverProviderCapability::Simple(true)),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            ..TextDocumentSyncOptions::default()
        })),
        experimental: Some(serde_json::json!({
            "paired": {
                "protocolVersion": protocol::PROTOCOL_VERSION,
                "methods": proxy.forwarded,
            }
        })),
        ..ServerCapabilities::default()
    }
}
