//! `paired-lsp`: the editor-facing LSP proxy as its own small executable.
//!
//! `paired lsp` execs this when it sits beside `paired`, so the process an editor
//! keeps per window maps only the proxy's code, not the daemon's parsers and
//! database (see docs/benchmarks.md). It behaves exactly like `paired lsp`.

fn main() -> std::process::ExitCode {
    daemon::platform::os::tune_allocator();
    daemon::fronts::cli::lsp_main()
}
