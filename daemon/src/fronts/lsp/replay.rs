//! The daemon connection for the life of the process: attach, re-open every
//! document from the mirror (the replay), pass the daemon's events on to the
//! editor, and on a lost connection start over.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use anyhow::Result;
use jsonrpsee::{core::client::SubscriptionClientT, ws_client::WsClient};
use protocol::{
    Subscription as _,
    client::{Attach, ClientHello, Event},
    documents::OpenParams,
};
use tower_lsp_server::ls_types::MessageType;

use super::{
    limits::{open_request_bytes, over_limit},
    proxy::Proxy,
};
use crate::server::client::{self, ByName};
use crate::services::documents::Buffer as _;

/// The daemon's events an editor uses (handled below and in `commands.rs`):
/// named when attaching, so the daemon does not send every other editor's
/// document events down each editor's connection.
pub(super) const EVENTS: [&str; 6] =
    ["shutting_down", "index_progress", "index_warning", "run_update", "session_update", "choice"];

/// And for an editor that takes `paired/event` notifications: edits as the
/// models write them, for live diffs.
pub(super) const PANEL_EVENTS: [&str; 1] = ["run_edit"];

/// Keeps the proxy attached to a daemon for the life of the process.
pub(super) async fn stay_connected(proxy: Arc<Proxy>) {
    let Some(hello) = proxy.hello.get().cloned() else {
        return;
    };
    let mut backoff = Duration::from_millis(20);
    let mut warned = false;
    loop {
        match attach_and_replay(&proxy, &hello).await {
            Ok((connection, mut events, replayed)) => {
                backoff = Duration::from_millis(20);
                warned = false;
                tracing::info!(replayed, "attached to the PAIRED daemon");
                proxy.connection.send_replace(Some(connection.clone()));
                let mut progress = IndexProgressUi::default();
                // Dropped by the proxy (a request went unanswered): start over.
                let mut current = proxy.connection.subscribe();
                let dropped = async {
                    while current.changed().await.is_ok() {
                        if !current.borrow_and_update().as_ref().is_some_and(|c| Arc::ptr_eq(c, &connection)) {
                            return;
                        }
                    }
                };
                tokio::pin!(dropped);
                loop {
                    tokio::select! {
                        _ = connection.on_disconnect() => break,
                        () = &mut dropped => break,
                        event = events.next() => match event {
                            Some(Ok(Event::ShuttingDown { reason })) => tracing::info!(%reason, "the daemon is shutting down"),
                            Some(Ok(event @ (Event::RunUpdate { .. } | Event::RunEdit { .. } | Event::SessionUpdate { .. } | Event::Choice { .. }))) => {
                                proxy.to_panel(&event).await;
                                proxy.to_session(event);
                            }
                            Some(Ok(event)) => progress.show(&proxy, &hello, event).await,
                            Some(Err(_)) => {}
                            None => break,
                        },
                    }
                }
                proxy.drop_connection(&connection);
                tracing::info!("lost the daemon connection; reconnecting");
            }
            Err(err) => {
                tracing::warn!("cannot reach the PAIRED daemon: {err:#}");
                if !warned && let Some(editor) = proxy.editor.get() {
                    warned = true;
                    editor
                        .show_message(
                            MessageType::WARNING,
                            format!("PAIRED: cannot reach the daemon ({err:#}); retrying"),
                        )
                        .await;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

type Events = jsonrpsee::core::client::Subscription<Event>;

/// Shows the indexing of this editor's workspace folders as LSP `$/progress`, and
/// index warnings as messages.
#[derive(Default)]
struct IndexProgressUi {
    ongoing:
        HashMap<String, tower_lsp_server::OngoingProgress<tower_lsp_server::Bounded, tower_lsp_server::NotCancellable>>,
    next_token: u32,
}

impl IndexProgressUi {
    async fn show(&mut self, proxy: &Proxy, hello: &ClientHello, event: Event) {
        let Some(editor) = proxy.editor.get() else { return };
        let ours = |root: &str| {
            hello
                .workspace_folders
                .iter()
                .any(|f| crate::platform::uri::to_path(f).is_some_and(|p| p.to_string_lossy() == root))
        };
        match event {
            Event::IndexProgress { root, done, total, finished } if ours(&root) => {
                let percentage = if total == 0 { 100 } else { (u64::from(done) * 100 / u64::from(total)) as u32 };
                if finished {
                    if let Some(progress) = self.ongoing.remove(&root) {
                        progress.finish_with_message(format!("{total} files indexed")).await;
                    }
                    return;
                }
                if let Some(progress) = self.ongoing.get(&root) {
                    progress.report_with_message(format!("{done}/{total} files"), percentage).await;
                    return;
                }
                self.next_token += 1;
                let token =
                    tower_lsp_server::ls_types::NumberOrString::String(format!("paired-index-{}", self.next_token));
                let create = editor.send_request::<tower_lsp_server::ls_types::request::WorkDoneProgressCreate>(
                    tower_lsp_server::ls_types::WorkDoneProgressCreateParams { token: token.clone() },
                );
                // An editor that never answers must not stall the event stream.
                if !matches!(tokio::time::timeout(Duration::from_secs(2), create).await, Ok(Ok(()))) {
                    return;
                }
                let name = root.rsplit('/').next().unwrap_or(&root).to_owned();
                let progress = editor
                    .progress(token, format!("PAIRED: indexing {name}"))
                    .with_percentage(percentage)
                    .with_message(format!("{done}/{total} files"))
                    .begin()
                    .await;
                self.ongoing.insert(root, progress);
            }
            Event::IndexWarning { root, message } if ours(&root) => {
                editor.show_message(MessageType::WARNING, format!("PAIRED: {message}")).await;
            }
            _ => {}
        }
    }
}

async fn attach_and_replay(proxy: &Proxy, hello: &ClientHello) -> Result<(Arc<WsClient>, Events, usize)> {
    let connection = Arc::new(client::connect_or_start(&proxy.paths).await?.client);
    let mut events: Events = connection.subscribe(Attach::SUBSCRIBE, ByName(hello), Attach::UNSUBSCRIBE).await?;
    // The first event says what the daemon takes; the replay keeps within it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next()).await.ok().flatten();
    // (A daemon before 2.0.0-alpha.2 does not say; nor is 0 a limit.)
    let limit_said = match first {
        Some(Ok(Event::Attached { max_request_bytes: Some(bytes), .. })) if bytes > 0 => {
            proxy.set_request_limit(bytes);
            true
        }
        _ => false,
    };
    // Under the lock, at one operation number: compressed copies of what
    // goes (cheap), what is held, and — when this daemon said its limit — a
    // held document that fits again goes too.
    let (documents, seq) = {
        let mut mirror = proxy.mirror();
        let limit = proxy.request_limit();
        let mut going = Vec::new();
        let mut held = Vec::new();
        for (uri, language_id, version, buffer) in mirror.documents.latest() {
            let was_held = mirror.held.contains(uri);
            if was_held && !limit_said {
                continue;
            }
            match over_limit(uri, buffer.byte_len(), || buffer.text(), limit) {
                Some(bytes) => held.push((uri.to_owned(), bytes)),
                None => going.push((uri.to_owned(), language_id.to_owned(), version, buffer.clone())),
            }
        }
        for (uri, _, _, _) in &going {
            mirror.held.remove(uri);
        }
        for (uri, bytes) in held {
            mirror.held.insert(uri.clone());
            if mirror.told.insert(uri.clone()) {
                proxy.tell_held(&uri, bytes);
            }
        }
        (going, mirror.seq)
    };
    let replayed = documents.len();
    // One text decompressed at a time, and moved into its request.
    for (uri, language_id, version, buffer) in documents {
        let params = OpenParams { uri, language_id, version, text: buffer.text().into_owned() };
        drop(buffer);
        match client::call::<protocol::documents::Open>(&connection, &params).await {
            Ok(_) => {
                proxy.mirror().replay_failures.remove(&params.uri);
            }
            // Refused: the daemon goes on without this document, so do we.
            Err(err) if connection.is_connected() => {
                tracing::warn!(uri = params.uri, "the daemon refused a replayed document: {err:#}");
            }
            // The connection went with it. Twice is no coincidence (a request
            // over a limit we did not know of): the document is held here, or
            // every reconnect would end the same way.
            Err(err) => {
                let mut mirror = proxy.mirror();
                let failures = mirror.replay_failures.entry(params.uri.clone()).or_default();
                *failures += 1;
                if *failures >= 2 {
                    mirror.replay_failures.remove(&params.uri);
                    mirror.held.insert(params.uri.clone());
                    if mirror.told.insert(params.uri.clone()) {
                        proxy.tell_held(&params.uri, open_request_bytes(&params.uri, &params.text));
                    }
                }
                return Err(err);
            }
        }
    }
    proxy.replayed_through.store(seq, Ordering::Release);
    proxy.mark_sent(seq);
    // The replay's texts are freed: their pages go back.
    crate::platform::os::release_free_memory();
    Ok((connection, events, replayed))
}

/// The daemon's run and session events, for editors that asked for them.
enum PairedEvent {}

impl tower_lsp_server::ls_types::notification::Notification for PairedEvent {
    type Params = Event;
    const METHOD: &'static str = "paired/event";
}

impl Proxy {
    /// Passes a run or session event on to an editor that shows them (an agent panel).
    async fn to_panel(&self, event: &Event) {
        if !self.events_wanted.load(Ordering::Relaxed) {
            return;
        }
        if let Some(editor) = self.editor.get() {
            editor.send_notification::<PairedEvent>(event.clone()).await;
        }
    }

    /// Hands a workflow event to the command that started the session.
    fn to_session(&self, event: Event) {
        let id = match &event {
            Event::SessionUpdate { step: Some(_), .. } if self.lose_step_updates => return,
            Event::SessionUpdate { session_id, .. } | Event::Choice { session_id, .. } => session_id.clone(),
            _ => return,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        // A command the editor cancelled no longer listens: forget it.
        if sessions.get(&id).is_some_and(|sender| sender.send(event).is_err()) {
            sessions.remove(&id);
        }
    }
}
