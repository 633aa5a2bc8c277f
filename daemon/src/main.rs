//! The `paired` binary: see `daemon::fronts::cli`. Started as
//! `paired __sandbox` by the daemon itself, it is the sandbox helper instead
//! (`daemon::platform::os::sandbox`): nothing else runs before it confines itself;
//! as `paired __index`, an index helper (`daemon::services::workspace::helpers`).

use daemon::{platform::os::sandbox, services::workspace::helpers};

fn main() -> std::process::ExitCode {
    let mut args = std::env::args_os().skip(1);
    match args.next() {
        Some(arg) if arg == sandbox::HELPER_ARG => {
            return std::process::ExitCode::from(u8::try_from(sandbox::helper_main()).unwrap_or(1));
        }
        // The daemon's indexer parsing in a process apart (`paired __index`).
        Some(arg) if arg == helpers::HELPER_ARG => {
            daemon::platform::os::tune_allocator();
            return std::process::ExitCode::from(u8::try_from(helpers::helper_main()).unwrap_or(1));
        }
        // An editor starting its proxy (`paired lsp`, every window, every
        // time): straight to `paired-lsp`, before parsing a command line.
        Some(arg) if arg == "lsp" && args.all(|a| a == "--stdio") => daemon::fronts::cli::exec_lean_proxy(),
        _ => {}
    }
    daemon::platform::os::tune_allocator();
    daemon::fronts::cli::main()
}
