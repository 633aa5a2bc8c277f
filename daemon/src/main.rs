//! The `paired` binary: see `daemon::fronts::cli`.

fn main() -> std::process::ExitCode {
    daemon::fronts::cli::main()
}
