//! The `paired` binary's library: everything but `main`, in four layers.
//! Each layer uses only the layers below it (a test, `layers.rs` in the
//! integration tests' sibling `tests/layers.rs`, checks it and that no two
//! modules use each other in a circle):
//!
//! - [`fronts`]: what users and editors talk to — the command line, `paired lsp`,
//!   `paired acp`, the 1.0 bridge. Thin: they convert their protocol to the
//!   daemon's and back.
//! - [`server`]: the daemon's JSON-RPC server — transport, guard, router — the
//!   client side of it, and [`server::daemon::Daemon`], the composition root
//!   that builds the services.
//! - [`services`]: what the daemon does — documents and the context engine's
//!   workspaces, runs and model mode, workflows, the marketplace. No JSON-RPC,
//!   no LSP: they speak `protocol` types and their own errors.
//! - [`platform`]: the machine — paths, configuration, the database, logging,
//!   secrets, and everything OS-specific (`platform::os`).

pub mod fronts;
pub mod platform;
pub mod server;
pub mod services;
