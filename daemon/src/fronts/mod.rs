//! What users and editors talk to: the command line ([`cli`], whose `paired
//! daemon` composes the server and the bridge), `paired lsp` ([`lsp`]),
//! `paired acp` ([`acp`]) and the PAIRED 1.0 bridge ([`bridge`]).

pub mod acp;
pub mod bridge;
pub mod cli;
pub mod lsp;
