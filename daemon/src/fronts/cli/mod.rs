//! The `paired` command line. Errors print once, as `paired: <what>: <cause>`,
//! followed by a hint, and exit non-zero; with `--json` (any command's) the
//! error is JSON on stdout instead, `{"error": {"message": …, "hint": …}}`, so
//! whoever parses the output always gets JSON. Both happen here, in [`main`],
//! never in a command.
//!
//! Output goes through [`outln!`] and [`errln!`], never `println!`: a closed
//! stdout (`paired status | head -1`) is a quiet success, as for any Unix tool,
//! where `println!` would panic.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod common;

pub mod agents;
pub mod doctor;
pub mod market;
pub mod policy;
pub mod providers;
pub mod run;
pub mod sessions;
pub mod setup;
pub mod team;
pub mod workflow;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, Result, bail};
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use protocol::{NoParams, daemon};

use common::{StdoutClosed, errln, load_config, load_layers, open_browser, out, outln, project_root};

use crate::{fronts::cli::run::DaemonOptions, platform::config, platform::paths::Paths, server::client};

#[derive(Debug, Parser)]
#[command(name = "paired", version, about = "PAIRED: one local AI-agent daemon for all your editors")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon (in the foreground unless --detach). One per user: a second start says so and exits 0.
    Daemon {
        /// Port on 127.0.0.1 (overrides PAIRED_PORT and daemon.port; 0 picks a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Start in the background and return once it answers.
        #[arg(long)]
        detach: bool,
        /// Serve the PAIRED 1.0 bridge on 127.0.0.1:7890 as well.
        #[arg(long = "bridge-1x")]
        bridge_1x: bool,
        /// Internal: this process is the background child of `--detach`.
        #[arg(long, hide = true)]
        detached_child: bool,
        /// Internal: started on demand by a client; stops when idle.
        #[arg(long, hide = true)]
        autostarted: bool,
    },
    /// Serve LSP on stdio for an editor, through the shared daemon (started if absent).
    Lsp {
        /// Accepted for editors that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// Serve the Agent Client Protocol on stdio (JetBrains AI Assistant, Zed, Neovim plugins), through the shared daemon.
    Acp,
    /// Show the daemon's status.
    Status {
        /// Print the status as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Stop the daemon.
    Stop,
    /// Show or check the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Check the installation: daemon, token, port, config, versions.
    Doctor {
        /// Print the checks as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Print the context bundle an agent would get for a position: exactly what would be sent.
    Context {
        /// The file.
        #[arg(long)]
        file: PathBuf,
        /// 1-based line.
        #[arg(long)]
        line: u32,
        /// 1-based column (characters).
        #[arg(long, default_value_t = 1)]
        column: u32,
        /// A question to include, as an agent request would.
        #[arg(long)]
        question: Option<String>,
        /// Token budget (default: context.budget_tokens).
        #[arg(long)]
        budget: Option<u32>,
        /// Show the bundle as a model on this machine would get it (secrets not redacted).
        #[arg(long)]
        local: bool,
        /// Print the bundle as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// The agents: list them, show one, run one's skill.
    Agents {
        #[command(subcommand)]
        command: crate::fronts::cli::agents::AgentsCommand,
    },
    /// Multi-agent workflows: list them, run one on a file.
    Workflow {
        #[command(subcommand)]
        command: crate::fronts::cli::workflow::WorkflowCommand,
    },
    /// Open the web console (usage, cost, runs, agents, policy, audit) in the browser, signed in.
    Console {
        /// Print the address without opening a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Workflow sessions and conversations with the team, from any editor or the CLI: list, show, resume, cancel.
    Sessions {
        #[command(subcommand)]
        command: crate::fronts::cli::sessions::SessionsCommand,
    },
    /// A model from the first minute: finds the model servers running here
    /// (Ollama, llama.cpp, LM Studio, vLLM) or takes a cloud provider and its
    /// key, writes the provider into config.toml and tests it.
    Setup(crate::fronts::cli::setup::SetupArgs),
    /// Model providers, and their API keys in the OS keyring.
    Providers {
        #[command(subcommand)]
        command: crate::fronts::cli::providers::ProvidersCommand,
    },
    /// The team policy this machine applies, and which rule decides an action.
    Policy {
        #[command(subcommand)]
        command: crate::fronts::cli::policy::PolicyCommand,
    },
    /// This machine's membership of a team's hub: join with an invitation code, status, leave.
    Team {
        #[command(subcommand)]
        command: crate::fronts::cli::team::TeamCommand,
    },
    /// A team's hub (runs `paired-hub`, beside `paired`): organisation, teams, roles, tokens, audit on PostgreSQL. See docs/team.md.
    #[command(disable_help_flag = true)]
    Hub {
        /// `serve …`, `migrate …`, `--help`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// The agent marketplace: publish to a signed registry; search, install, update, roll back.
    Market {
        #[command(subcommand)]
        command: crate::fronts::cli::market::MarketCommand,
    },
    /// Create `.paired/` in a project (the PAIRED 1.0 layout).
    Init {
        /// Project folder (default: the current directory).
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration and where it came from.
    Show,
    /// Check a config file (default: every layer that applies here).
    Validate {
        /// The config file to check.
        file: Option<PathBuf>,
    },
}

/// Entry point: runs the command and turns an error into one `paired: ...`
/// line, or into a JSON error when the command was asked for JSON.
pub fn main() -> ExitCode {
    exit_quietly_on_closed_stdout();
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(err) => return usage_error(err),
    };
    let output = if asks_for_json(&matches) { Output::Json } else { Output::Text };
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    match execute(cli) {
        Ok(code) => code,
        Err(err) if err.chain().any(|cause| cause.is::<StdoutClosed>()) => ExitCode::SUCCESS,
        Err(err) if err.chain().any(|cause| cause.is::<common::Interrupted>()) => {
            errln!("paired: {err}");
            ExitCode::from(130)
        }
        Err(err) => {
            report(&err, output);
            ExitCode::FAILURE
        }
    }
}

/// How an error is told: a line for people (stderr), or JSON for programs (stdout).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Text,
    Json,
}

/// Whether the command given, at any level, has `--json` set: every command
/// names the flag `json`, so this needs no list of commands.
fn asks_for_json(matches: &clap::ArgMatches) -> bool {
    let mut level = Some(matches);
    while let Some(matches) = level {
        if matches!(matches.try_get_one::<bool>("json"), Ok(Some(true))) {
            return true;
        }
        level = matches.subcommand().map(|(_, sub)| sub);
    }
    false
}

/// A command line clap cannot read: its own message (and exit code 2), or,
/// when the line asks for JSON, that message as a JSON error.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let asked_json = std::env::args_os().skip(1).any(|arg| arg == "--json");
    if !asked_json || matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        err.exit();
    }
    let rendered = err.render().to_string();
    let message = rendered.lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned();
    let hint = "`paired help <command>` lists a command's flags".to_owned();
    let _ = write_json_error(&message, Some(&hint));
    ExitCode::from(2)
}

/// The last line of defence for code that still uses `println!` (outside the
/// CLI's modules): its panic on a closed stdout ends the process quietly with
/// success instead of exit 101 and a panic message. `paired daemon` installs
/// its own hook once it runs.
fn exit_quietly_on_closed_stdout() {
    // The same on Linux, macOS and the BSDs.
    const EPIPE: i32 = 32;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        let epipe = format!("(os error {EPIPE})");
        if message.starts_with("failed printing to stdout") && message.ends_with(&epipe) {
            std::process::exit(0);
        }
        previous(info);
    }));
}

fn report(err: &anyhow::Error, output: Output) {
    let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
    let refused = err.chain().find_map(|cause| cause.downcast_ref::<crate::server::client::Refused>());
    let (message, hint) = in_cli_words(chain.join(": "), refused.and_then(|r| r.reply.data()));
    if output == Output::Json {
        // Nowhere left to say it if stdout is closed.
        let _ = write_json_error(&message, hint);
        return;
    }
    errln!("paired: {message}");
    if let Some(hint) = hint {
        errln!("hint: {hint}");
    }
}

/// `{"error": {"message": …, "hint": …}}` on stdout, where `--json` output goes.
fn write_json_error(message: &str, hint: Option<&str>) -> Result<()> {
    let error = serde_json::json!({ "error": { "message": message, "hint": hint } });
    outln!("{}", serde_json::to_string_pretty(&error)?)
}

/// An error in the terms of this command line, with what to do about it. A
/// run or workflow the daemon refused for want of a file or a request (told by
/// the reply's `data`, else its words) names the flag that gives it (the
/// daemon's own words name no flag; other fronts say it their way).
fn in_cli_words(message: String, data: Option<&serde_json::value::RawValue>) -> (String, Option<&'static str>) {
    use crate::services::runs::Missing;
    let hint = match Missing::of_error(&message, data) {
        Some(Missing::File) => Some("name the file with `--file FILE` (and `--line N` for a definition in it)"),
        Some(Missing::Prompt) => Some("say what you want with `--prompt TEXT`"),
        None => return (message.clone(), hint_for(&message)),
    };
    // The daemon method that refused ("agents/run: ") means nothing to the user here.
    let message = match message.split_once(": ") {
        Some((method, rest)) if method.contains('/') && !method.contains(' ') => rest.to_owned(),
        _ => message,
    };
    (message, hint)
}

fn hint_for(message: &str) -> Option<&'static str> {
    if message.contains("no PAIRED daemon is running") || message.contains("cannot connect to the daemon") {
        Some("start it with `paired daemon --detach`, or run `paired doctor`")
    } else if message.contains("config") || message.contains("key `") || message.contains("environment variable") {
        Some("fix the value named above; `paired config show` prints the effective configuration")
    } else if message.contains("cannot listen") {
        Some("`paired doctor` shows which port is configured and from where")
    } else {
        None
    }
}

fn execute(cli: Cli) -> Result<ExitCode> {
    let paths = Paths::from_env()?;
    // An unknown `PAIRED_*` variable is a typo to fix in what a person types; in
    // what an editor launches (`paired lsp`, `paired acp`, the daemon they start)
    // it is a warning, logged once, that must not stop the editor's agent.
    let launched_by_editor =
        matches!(cli.command, Command::Lsp { .. } | Command::Acp | Command::Daemon { autostarted: true, .. });
    if !launched_by_editor {
        config::Environment::from_process().and_then(|env| env.refuse_unknown()).context("invalid configuration")?;
    }
    match cli.command {
        Command::Daemon { port, detach, bridge_1x, detached_child, autostarted } => {
            // The daemon is shared by every project: it reads the user's config and
            // the environment, never the overrides of the folder it was started in.
            let mut loaded = load_layers(&paths, None).context("invalid configuration")?;
            let mut forwarded = Vec::new();
            if let Some(port) = port {
                loaded.config.daemon.port = port;
                forwarded.extend(["--port".to_owned(), port.to_string()]);
            }
            if bridge_1x {
                loaded.config.compat.bridge_1x = true;
                forwarded.push("--bridge-1x".to_owned());
            }
            config::validate(&loaded.config).context("invalid configuration")?;
            run::run(&paths, loaded, DaemonOptions { detach, detached_child, autostarted, forwarded })
        }
        Command::Lsp { stdio: _ } => {
            exec_lean_proxy();
            run_lsp(paths)
        }
        Command::Acp => run_acp(&paths),
        Command::Status { json } => with_runtime(status(&paths, json)),
        Command::Stop => with_runtime(stop(&paths)),
        Command::Config { command: ConfigCommand::Show } => config_show(&paths),
        Command::Config { command: ConfigCommand::Validate { file } } => config_validate(&paths, file),
        Command::Doctor { json } => with_runtime(crate::fronts::cli::doctor::run(&paths, json)),
        Command::Init { dir } => init(dir),
        Command::Workflow { command } => with_runtime(crate::fronts::cli::workflow::execute(&paths, command)),
        Command::Console { no_browser } => with_runtime(console(&paths, no_browser)),
        Command::Sessions { command } => with_runtime(crate::fronts::cli::sessions::execute(&paths, command)),
        Command::Providers { command } => crate::fronts::cli::providers::execute(&paths, command),
        Command::Setup(args) => crate::fronts::cli::setup::execute(&paths, args),
        Command::Market { command } => crate::fronts::cli::market::execute(&paths, command),
        Command::Hub { args } => run_hub(&args),
        Command::Team { command } => crate::fronts::cli::team::execute(&paths, command),
        Command::Policy { command } => crate::fronts::cli::policy::execute(&paths, command),
        Command::Agents { command } => with_runtime(crate::fronts::cli::agents::execute(&paths, command)),
        Command::Context { file, line, column, question, budget, local, json } => {
            with_runtime(context(&paths, ContextArgs { file, line, column, question, budget, local, json }))
        }
    }
}

/// Replaces this process with `paired-lsp` from the same folder, when it is
/// there: same behaviour, a fraction of the memory. Returns only if it is not.
pub fn exec_lean_proxy() {
    let Ok(exe) = std::env::current_exe() else { return };
    let lean = exe.with_file_name("paired-lsp");
    if lean.is_file() {
        let err = crate::platform::os::exec(&mut std::process::Command::new(&lean));
        errln!("paired: cannot run {}: {err}; serving LSP in this process", lean.display());
    }
}

/// `paired hub …`: `paired-hub` from the same folder (or `PATH`), which keeps the
/// hub's PostgreSQL and web code out of every developer's daemon.
fn run_hub(args: &[std::ffi::OsString]) -> Result<ExitCode> {
    let beside = std::env::current_exe().ok().map(|exe| exe.with_file_name("paired-hub"));
    let program = beside.filter(|path| path.is_file()).unwrap_or_else(|| PathBuf::from("paired-hub"));
    let err = crate::platform::os::exec(std::process::Command::new(&program).args(args));
    anyhow::bail!(
        "cannot run {}: {err}; the hub is its own program: install paired-hub beside paired (`cargo build --release -p hub`)",
        program.display()
    )
}

/// `paired lsp` reads no configuration file: the daemon does, and says what
/// the proxy needs to know (its request limit) when the proxy attaches; the
/// proxy's own log filter is `RUST_LOG`, `PAIRED_LOG` or `PAIRED_LOG_FILTER`.
/// What it links is what every editor window holds (no TOML, no regex engine).
fn run_lsp(paths: Paths) -> Result<ExitCode> {
    let (environment, broken) = match config::Environment::from_process() {
        Ok(environment) => (environment, None),
        Err(err) => (config::Environment::default(), Some(format!("invalid configuration: {err:#}"))),
    };
    let filter = environment.get("PAIRED_LOG").or_else(|| environment.get("PAIRED_LOG_FILTER"));
    let refused = crate::platform::logging::init_front(filter.as_deref().unwrap_or("info"))?;
    let warnings = environment.warnings();
    for warning in refused.iter().chain(&broken).chain(&warnings) {
        tracing::warn!("{warning}");
    }
    let test_hooks = std::env::var("PAIRED_TEST_HOOKS").is_ok_and(|v| v == "1");
    crate::fronts::lsp::run(paths, warnings, test_hooks)
}

/// `paired acp`: stdout carries the protocol, so logs go to stderr (editors show it).
fn run_acp(paths: &Paths) -> Result<ExitCode> {
    init_front_logging(paths)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(crate::fronts::acp::serve(paths))?;
    Ok(ExitCode::SUCCESS)
}

/// Logging to stderr for a front an editor launched, with the configured
/// filter. What is wrong with the configuration is logged here, once, and
/// does not stop the front: an unknown `PAIRED_*` variable is a warning; a
/// broken config is an error the daemon will refuse to start with.
fn init_front_logging(paths: &Paths) -> Result<()> {
    let (filter, warnings) = match load_config(paths) {
        Ok(loaded) => (loaded.config.log.filter, loaded.warnings),
        Err(err) => ("info".to_owned(), vec![format!("invalid configuration: {err:#}")]),
    };
    crate::platform::logging::init(crate::platform::logging::Logging { filter: &filter, stderr: true, file: None })?;
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    Ok(())
}

/// Entry point of the `paired-lsp` executable.
pub fn lsp_main() -> ExitCode {
    match Paths::from_env().and_then(run_lsp) {
        Ok(code) => code,
        Err(err) => {
            report(&err, Output::Text);
            ExitCode::FAILURE
        }
    }
}

fn with_runtime(future: impl Future<Output = Result<ExitCode>>) -> Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(future)
}

/// `paired console`: a one-time code from the daemon (started if need be),
/// opened through the daemon's private redirect page so the code never sits
/// on a command line other users can read; the address is printed too.
async fn console(paths: &Paths, no_browser: bool) -> Result<ExitCode> {
    let connection = client::connect_or_start(paths).await?;
    let login = client::call::<protocol::console::Login>(&connection.client, &protocol::NoParams {}).await?;
    let address = format!("{}#login={}", login.url, login.code);
    let label = format!(
        "The console (this address signs in once, within {} s; if the browser shows an error instead, open it there)",
        login.expires_in_secs
    );
    if no_browser {
        errln!("{label}: {address}");
    } else {
        match login.redirect_file {
            Some(file) => open_browser(&label, &address, &crate::platform::uri::from_path(std::path::Path::new(&file))),
            // Never the code on a command line other users can read: the address is for the user alone.
            None => errln!("{label}: {address}\n(no browser opened: the daemon could not write its sign-in page)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(paths: &Paths, json: bool) -> Result<ExitCode> {
    let connection = client::connect(paths).await?;
    let status = client::call::<daemon::Status>(&connection.client, &NoParams {}).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&status)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let report = &status.daemon;
    let clients = if report.clients.is_empty() {
        "none".to_owned()
    } else {
        report
            .clients
            .iter()
            .map(|(kind, n)| format!("{n} {}", crate::server::daemon::kind_name(*kind)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    outln!("PAIRED daemon {} (protocol {})", report.version, report.protocol_version)?;
    outln!("  pid             {}", report.pid)?;
    outln!("  listening       127.0.0.1:{}", report.port)?;
    outln!("  uptime          {}", human_duration(Duration::from_millis(report.uptime_ms)))?;
    outln!("  clients         {clients}")?;
    outln!("  open documents  {}", report.open_documents)?;
    outln!(
        "  workspaces      {}",
        if report.workspaces.is_empty() { "none".to_owned() } else { report.workspaces.join(", ") }
    )?;
    outln!("  agents          {}", report.agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "))?;
    outln!("  1.0 bridge      {}", crate::fronts::cli::doctor::bridge_line(status.bridge_1x.as_ref()))?;
    if !report.restart_needed.is_empty() {
        outln!("  restart needed  {}", crate::fronts::cli::doctor::restart_line(&report.restart_needed))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

async fn stop(paths: &Paths) -> Result<ExitCode> {
    let connection = client::connect(paths).await?;
    let reply = client::call::<daemon::Shutdown>(&connection.client, &NoParams {}).await?;
    client::wait_for_exit(reply.pid, Duration::from_secs(10)).await?;
    outln!("paired: daemon (pid {}) stopped", reply.pid)?;
    Ok(ExitCode::SUCCESS)
}

fn config_show(paths: &Paths) -> Result<ExitCode> {
    let loaded = load_config(paths).context("invalid configuration")?;
    outln!("# layers, later ones win:")?;
    for source in &loaded.sources {
        outln!("#   {source}")?;
    }
    out!("{}", toml::to_string_pretty(&loaded.config)?)?;
    Ok(ExitCode::SUCCESS)
}

fn config_validate(paths: &Paths, file: Option<PathBuf>) -> Result<ExitCode> {
    match file {
        Some(file) => {
            if config::read_layer(&file).context("invalid configuration")?.is_none() {
                bail!("{}: no such file", file.display());
            }
            outln!("paired: {} is valid", file.display())?;
        }
        None => {
            let loaded = load_config(paths).context("invalid configuration")?;
            for source in &loaded.sources {
                outln!("ok  {source}")?;
            }
            outln!("paired: configuration is valid")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

struct ContextArgs {
    file: PathBuf,
    line: u32,
    column: u32,
    question: Option<String>,
    budget: Option<u32>,
    local: bool,
    json: bool,
}

async fn context(paths: &Paths, args: ContextArgs) -> Result<ExitCode> {
    let file = args.file.canonicalize().with_context(|| format!("cannot open {}", args.file.display()))?;
    if args.line == 0 || args.column == 0 {
        bail!("--line and --column count from 1");
    }
    let text = crate::services::workspace::read_source(&file)
        .with_context(|| format!("{} is not a text file under 2 MiB", file.display()))?;
    let line_text = text.lines().nth(args.line as usize - 1).with_context(|| {
        format!("{} has {} lines; --line {} is past the end", file.display(), text.lines().count(), args.line)
    })?;
    let character: u32 = line_text.chars().take(args.column as usize - 1).map(|c| c.len_utf16() as u32).sum();
    let root = project_root(file.parent().unwrap_or(&file));
    let connection = client::connect_or_start(paths).await?;
    client::open_project(&connection.client, &root, true).await?;
    let params = protocol::context::BuildParams {
        uri: crate::platform::uri::from_path(&file),
        position: Some(protocol::documents::Position { line: args.line - 1, character }),
        range: None,
        question: args.question,
        diagnostics: Vec::new(),
        budget_tokens: args.budget,
        local_provider: args.local,
    };
    let bundle = client::call::<protocol::context::Build>(&connection.client, &params).await?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&bundle)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for part in &bundle.parts {
        let lines = match (part.start_line, part.end_line) {
            (Some(a), Some(b)) => format!(" lines {a}-{b}"),
            _ => String::new(),
        };
        let cut = if part.truncated { ", cut" } else { "" };
        outln!("── {}{lines} (~{} tokens{cut})", part.title, part.tokens)?;
        out!("{}", part.text)?;
        if !part.text.ends_with('\n') {
            outln!()?;
        }
    }
    out!("── {} of {} tokens", bundle.tokens, bundle.budget_tokens)?;
    if !bundle.dropped.is_empty() {
        let dropped: Vec<String> =
            bundle.dropped.iter().map(|d| format!("{} (~{} tokens)", d.title, d.tokens)).collect();
        out!("; left out: {}", dropped.join(", "))?;
    }
    if !bundle.redactions.is_empty() {
        let r: Vec<String> = bundle.redactions.iter().map(|(rule, n)| format!("{rule} ×{n}")).collect();
        out!("; secrets redacted: {}", r.join(", "))?;
    }
    outln!()?;
    Ok(ExitCode::SUCCESS)
}

const PROJECT_CONFIG_TEMPLATE: &str = "\
# PAIRED project settings. They override the user's config.toml for this project.
# `paired config show` prints the effective configuration.

# [log]
# filter = \"info\"
";

/// `paired init`: the 1.0 per-project layout, without touching existing files.
fn init(dir: Option<PathBuf>) -> Result<ExitCode> {
    let dir = match dir {
        Some(dir) => dir,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let root = dir.join(".paired");
    let mut created = Vec::new();
    for sub in ["config/agents", "workflows", "memory", "contexts", "handoff", "data"] {
        let path = root.join(sub);
        if !path.exists() {
            std::fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
            created.push(path);
        }
    }
    let config = root.join("config.toml");
    if !config.exists() {
        std::fs::write(&config, PROJECT_CONFIG_TEMPLATE)
            .with_context(|| format!("cannot write {}", config.display()))?;
        created.push(config);
    }
    if created.is_empty() {
        outln!("paired: {} is already initialised", root.display())?;
    } else {
        outln!("paired: initialised {}", root.display())?;
        for path in created {
            outln!("  created {}", path.strip_prefix(&dir).unwrap_or(&path).display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arguments and subcommands under `command` with no help text, as
    /// `paired agents run <agent>` or `paired status --json`.
    fn without_help(command: &clap::Command, path: &str, out: &mut Vec<String>) {
        let blank = |text: Option<&clap::builder::StyledStr>| text.is_none_or(|t| t.to_string().trim().is_empty());
        for arg in command.get_arguments() {
            if blank(arg.get_help()) && blank(arg.get_long_help()) {
                let name = arg.get_long().map_or_else(|| format!("<{}>", arg.get_id()), |long| format!("--{long}"));
                out.push(format!("{path} {name}"));
            }
        }
        for sub in command.get_subcommands() {
            let sub_path = format!("{path} {}", sub.get_name());
            if blank(sub.get_about()) && blank(sub.get_long_about()) {
                out.push(sub_path.clone());
            }
            without_help(sub, &sub_path, out);
        }
    }

    /// Issue #15: every flag and subcommand says what it is for in `--help`.
    #[test]
    fn every_flag_and_subcommand_has_help() {
        let mut command = Cli::command();
        command.build();
        let mut missing = Vec::new();
        without_help(&command, "paired", &mut missing);
        assert_eq!(missing, Vec::<String>::new());
    }

    #[test]
    fn json_is_asked_at_any_level_of_the_command_line() {
        let asks = |line: &[&str]| asks_for_json(&Cli::command().get_matches_from(line));
        assert!(asks(&["paired", "status", "--json"]));
        assert!(asks(&["paired", "agents", "run", "sherlock", "--json"]));
        assert!(!asks(&["paired", "status"]));
        assert!(!asks(&["paired", "stop"]));
    }

    /// Issue #15: a refused run said "pass `uri`" (a JSON-RPC field) to people at a terminal.
    #[test]
    fn a_run_refused_for_want_of_a_file_or_a_request_names_the_flag() {
        let words = |message: &str| in_cli_words(message.into(), None);
        let (message, hint) = words("agents/run: Sherlock's review works on a file, and none was named");
        assert_eq!(message, "Sherlock's review works on a file, and none was named");
        assert!(hint.is_some_and(|h| h.contains("--file FILE")), "{hint:?}");
        let (_, hint) = words("agents/run: Alex's route needs a request in words, and none was given");
        assert!(hint.is_some_and(|h| h.contains("--prompt")), "{hint:?}");
        let (message, hint) = words(
            "workflows/run: the delegate workflow needs a request in words, and none was given: step `subtasks` splits it into subtasks",
        );
        assert!(message.starts_with("the delegate workflow needs a request"), "{message}");
        assert!(hint.is_some_and(|h| h.contains("--prompt")), "{hint:?}");
        // The reply's data decides, whatever its words.
        let data = serde_json::value::RawValue::from_string(r#"{"missing":"file"}"#.into()).expect("json");
        let (message, hint) = in_cli_words("workflows/run: some other words".into(), Some(&data));
        assert_eq!(message, "some other words");
        assert!(hint.is_some_and(|h| h.contains("--file FILE")), "{hint:?}");
        let (message, hint) = words("no PAIRED daemon is running; start one with `paired daemon`");
        assert_eq!(message, "no PAIRED daemon is running; start one with `paired daemon`");
        assert!(hint.is_some_and(|h| h.contains("paired daemon --detach")));
    }
}
