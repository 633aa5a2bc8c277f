//! The PAIRED 1.0 bridge, for 1.0 clients (the 1.0 editor extension, scripts
//! speaking to `ws://localhost:7890`): the HTTP endpoints and WebSocket message
//! types of 1.0's `cascade-bridge.js`, including those 1.0 announced but never
//! handled, answered by the real agents instead of 1.0's text templates.
//!
//! Off unless `compat.bridge_1x = true` (or `paired daemon --bridge-1x`). It
//! keeps the Host and Origin checks of the daemon's own server, on 127.0.0.1
//! only. Port 7890, or `BRIDGE_PORT`.
//!
//! Reach (issue #14). 1.0 clients send no token, and any local user can connect,
//! so a client without one reaches only files of a project it connected with
//! (`PROJECT_CONNECT`, `projectPath`, the 1.0 extension's `context.workspace.path`)
//! that the user opened too: a workspace an
//! editor registered with the daemon, or a folder listed in `[bridge] projects`.
//! Paths are resolved (symbolic links, `..`) before that check, the project's
//! ignore rules apply, and a refusal reads the same whether or not the file
//! exists. Instances and shared context stay within the projects a connection
//! connected with. A client that sends the daemon's token (`?token=` on the
//! URL, `Authorization: Bearer`, or `token` in a WebSocket message) reaches
//! what the user can; `[bridge] require_token = true` refuses every other one.
//!
//! A connection's state (its instance, stored context, outbox) goes when it
//! closes, however it closes.
//!
//! Both of 1.0's spellings are accepted (`agent` / `targetAgent`, `message` /
//! `content`) and answered (`message` and `content`; `agent` as an object with
//! `name` and `emoji`, which the 1.0 extension reads, plus `agentId`).
//!
//! The parts: [`listen`] (the listener, its routes and the guard), [`http`]
//! (1.0's HTTP endpoints), [`socket`] (1.0's WebSocket, one message at a time)
//! and [`messages`] (the replies), [`answer`] (a message answered by an
//! agent), [`reach`] (the projects and files a client reaches), over the
//! shared [`state`].

mod answer;
mod http;
mod listen;
mod messages;
mod reach;
mod socket;
mod state;

pub use listen::{DEFAULT_PORT, start};
#[doc(hidden)]
pub use socket::fuzz_text_frame;
