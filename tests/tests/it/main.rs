//! Integration tests: the real `paired` binary in a temporary HOME.

mod agents;
mod bridge;
mod chat;
mod cli;
mod completion;
mod console;
mod context;
mod daemon;
mod editors;
mod grants;
mod hostile_cli;
mod hostile_editors;
mod hub;
mod hub_registry;
mod lsp;
mod market;
mod never_block;
mod policy_levels;
mod providers;
mod security;
mod toolchains;
mod trust;
mod workflows;
