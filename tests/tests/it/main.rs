//! Integration tests: the real `paired` binary in a temporary HOME.

mod agents;
mod cli;
mod context;
mod daemon;
mod lsp;
mod providers;
mod security;
mod workflows;
