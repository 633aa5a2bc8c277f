//! The `paired` binary: see `daemon::fronts::cli`. Started as
//! `paired __sandbox` by the daemon itself, it is the sandbox helper instead
//! (`daemon::platform::os::sandbox`): nothing else runs before it confines itself.

use daemon::platform::os::sandbox;

fn main() -> std::process::ExitCode {
    if std::env::args_os().nth(1).is_some_and(|arg| arg == sandbox::HELPER_ARG) {
        return std::process::ExitCode::from(u8::try_from(sandbox::helper_main()).unwrap_or(1));
    }
    daemon::platform::os::tune_allocator();
    daemon::fronts::cli::main()
}
