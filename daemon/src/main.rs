//! The `paired` binary: see `daemon::cli`.

fn main() -> std::process::ExitCode {
    daemon::cli::main()
}
