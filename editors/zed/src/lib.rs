//! PAIRED in Zed: `paired lsp` as the language server of every language PAIRED
//! parses. Zed runs this as WebAssembly; it only says which command to start.

use zed_extension_api::{self as zed, LanguageServerId, Result, Worktree};

struct Paired;

impl zed::Extension for Paired {
    fn new() -> Self {
        Paired
    }

    /// `paired lsp`, with `paired` from the worktree's `PATH` (`cargo install --path daemon`).
    fn language_server_command(&mut self, _id: &LanguageServerId, worktree: &Worktree) -> Result<zed::Command> {
        let command = worktree.which("paired").ok_or_else(|| {
            "`paired` is not on PATH: install it with `cargo install --path daemon` from the PAIRED repository".to_owned()
        })?;
        Ok(zed::Command { command, args: vec!["lsp".to_owned()], env: worktree.shell_env() })
    }
}

zed::register_extension!(Paired);
