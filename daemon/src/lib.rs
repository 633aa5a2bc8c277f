//! The `paired` binary's library: everything but `main`.
//!
//! - [`cli`]: the command line, glue only.
//! - [`run`]: `paired daemon`: start-up, serving, shutdown.
//! - [`server`] and [`rpc`]: the JSON-RPC server, its security layers, its methods.
//! - [`state`], [`documents`]: the daemon's shared state (sans IO).
//! - [`lsp`]: `paired lsp`, the editor-facing proxy.
//! - [`client`]: finding and calling the daemon.
//! - [`config`], [`paths`], [`instance`], [`store`], [`logging`], [`doctor`].

pub mod acp;
pub mod admission;
pub mod agents_rpc;
pub mod bridge;
pub mod cli;
pub mod cli_agents;
pub mod cli_market;
pub mod cli_providers;
pub mod cli_workflow;
pub mod client;
pub mod config;
pub mod context_rpc;
pub mod doctor;
pub mod documents;
pub mod instance;
pub mod logging;
pub mod lsp;
pub mod lsp_agents;
pub mod market;
pub mod model_run;
pub mod orchestrator;
pub mod paths;
pub mod platform;
pub mod provider;
pub mod roster;
pub mod rpc;
pub mod run;
pub mod scheduler;
pub mod secrets;
pub mod server;
pub mod state;
pub mod store;
pub mod uri;
pub mod workspace;
