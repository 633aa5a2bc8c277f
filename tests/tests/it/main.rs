//! Integration tests: the real `paired` binary in a temporary HOME.

mod cli;
mod daemon;
mod lsp;
mod security;
