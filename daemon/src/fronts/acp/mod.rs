//! `paired acp`: the PAIRED team as an Agent Client Protocol agent on stdio, for
//! JetBrains AI Assistant, Zed and Neovim plugins (CodeCompanion, avante).
//!
//! Like `paired lsp`, this process is a thin front: it attaches to the shared
//! daemon (starting it if needed) and turns ACP into daemon calls. A session
//! has a mode: `team` (Alex routes each prompt to the agent and skill that fits,
//! by the same rules as the daemon's delegation) or one agent of the roster;
//! `@agent` at the start of a prompt picks one for that turn. A prompt's first
//! file (resource link or embedded resource, else a file of the session's
//! folder its words name: "review src/main.rs") is the run's target: read through
//! the client when it offers `fs/read_text_file`, so unsaved buffers count.
//! One turn at a time per session; a `session/cancel` stops the daemon run, any
//! pending edit, and makes the turn answer `cancelled`.
//! A run streams as a tool call plus message chunks (its report, the summary);
//! each finding is then a finished tool call of its own, with the file and line
//! to jump to, the message and the suggested fix. A run the daemon refuses is
//! told in the chat in this front's words ("attach or name a file"). Its proposed edits are
//! shown as diffs and written through the client's `fs/write_text_file` only
//! after the user allows them (`session/request_permission`): the daemon itself
//! never writes a file.
//! The client's input is read as lines here ([`io`]): a line that is
//! not UTF-8, not JSON or not a request is answered with an error and the
//! connection goes on. A session's folder must be a project folder (the rule of
//! [`crate::services::workspace::unfit_root`]): `/`, the home folder or a system folder is refused.
//! The process ends with success when the client closes its input. When the
//! daemon goes away it reconnects (starting the daemon again) and re-opens its
//! sessions' folders; a turn running then ends with the daemon's error.
//!
//! The parts: [`io`] (stdio as lines), [`session`] (the sessions and what they
//! share), [`prompt`] (what a prompt asks, which agent takes it), [`turn`] (a
//! prompt turn: the run and its stream), [`edits`] (edits offered and written).

mod edits;
mod io;
mod live;
mod prompt;
mod session;
mod turn;

use acp::v1::{ConnectionTo, Responder, schema::*};
use agent_client_protocol::{self as acp, Agent, Client, Lines, on_receive_notification, on_receive_request};
use anyhow::Result;

use crate::platform::paths::Paths;

/// Serves ACP on stdio until the client closes its input (success) or the
/// daemon goes away (an error).
pub async fn serve(paths: &Paths) -> Result<()> {
    let (shared, events_task) = session::Shared::attach(paths).await?;
    let (s1, s2, s3, s4, s5) = (shared.clone(), shared.clone(), shared.clone(), shared.clone(), shared.clone());
    let served = Agent
        .v1()
        .name("paired")
        .on_receive_request(
            async move |request: InitializeRequest,
                        responder: Responder<InitializeResponse>,
                        _cx: ConnectionTo<Client>| { responder.respond(s1.initialize(&request)) },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: NewSessionRequest,
                        responder: Responder<NewSessionResponse>,
                        cx: ConnectionTo<Client>| {
                // It asks the daemon (which may be restarting): beside the
                // dispatch loop, so other requests and cancels go on.
                let shared = s2.clone();
                cx.spawn(async move {
                    let _ = responder.respond_with_result(shared.new_session(request).await);
                    Ok(())
                })
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: SetSessionModeRequest,
                        responder: Responder<SetSessionModeResponse>,
                        _cx: ConnectionTo<Client>| { responder.respond_with_result(s3.set_mode(&request)) },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: PromptRequest, responder: Responder<PromptResponse>, cx: ConnectionTo<Client>| {
                // The turn calls back into the client (permissions, files):
                // it runs beside the dispatch loop, never inside it.
                // The turn is reserved here, in order with `session/cancel`
                // notifications, so a cancel sent right after the prompt counts.
                if let Err(err) = s4.begin_turn(&request.session_id) {
                    return responder.respond_with_error(err);
                }
                let shared = s4.clone();
                let peer = cx.clone();
                cx.spawn(async move {
                    let sid = request.session_id.clone();
                    let result = shared.turn(&peer, request).await;
                    let cancelled = shared.end_turn(&sid);
                    // After a cancel the answer is `cancelled`, whatever happened meanwhile.
                    let result = if cancelled { Ok(PromptResponse::new(StopReason::Cancelled)) } else { result };
                    // A failed answer means the client is gone; the connection ends anyway.
                    let _ = responder.respond_with_result(result);
                    Ok(())
                })
            },
            on_receive_request!(),
        )
        .on_receive_notification(
            async move |notification: CancelNotification, cx: ConnectionTo<Client>| {
                let run = s5.mark_cancelled(&notification.session_id.0);
                let shared = s5.clone();
                cx.spawn(async move {
                    if let Some(run_id) = run {
                        shared.cancel_run(run_id).await;
                    }
                    Ok(())
                })
            },
            on_receive_notification!(),
        )
        .connect_to(Lines::new(io::client_output(), io::client_lines()));
    let served = served.await;
    // The client is gone (or the connection broke): the daemon connection is
    // ours to close, not a loss to report.
    // Runs are cancelled while the connection can still come back, then the
    // reconnecting stops (a cancel with no daemon waits for nothing).
    if shared.connected() {
        shared.cancel_all().await;
    }
    events_task.abort();
    served.map_err(|err| anyhow::anyhow!("ACP connection failed: {err}"))
}
