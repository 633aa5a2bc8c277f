//! `paired agents list|show|run`: the team through the daemon, with a run's
//! output streamed to the terminal as it arrives.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use protocol::{
    Subscription as _,
    agents::{self as wire, RunInfo, RunParams, RunStatus},
    client::{Attach, ClientHello, ClientKind, Event},
};

use crate::fronts::cli::common::{errln, out, outln, unless_interrupted};
use crate::{
    platform::paths::Paths,
    server::client::{self, ByName},
};

#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// The agents: built-in, 1.0 files and 2.0 manifests, with their skills.
    List {
        /// Print the agents as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// One agent: where it comes from, its skills, permissions and persona.
    Show {
        /// An id, a name or a 1.0 alias (qa, arch, …).
        agent: String,
        /// Print the agent's description as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Run an agent's skill on a file, a position, the project or a prompt.
    Run {
        /// The agent: an id, a name or a 1.0 alias (`paired agents list` shows them).
        agent: String,
        /// The file to work on (a file skill such as document needs one; review without one reviews the project).
        #[arg(long)]
        file: Option<PathBuf>,
        /// 1-based line (for skills that work on the definition there).
        #[arg(long)]
        line: Option<u32>,
        /// 1-based column (characters).
        #[arg(long, default_value_t = 1)]
        column: u32,
        /// One of the agent's skills (default: its first).
        #[arg(long)]
        skill: Option<String>,
        /// The request, in words (for skills that answer one, such as Alex's route).
        #[arg(long)]
        prompt: Option<String>,
        /// Print the finished run (findings with 1-based lines, output) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Generate an agent: least-privilege manifest, persona, QA certification.
    Generate {
        /// The field it works in ("frontend", "backend", "devops"…; default: none).
        #[arg(long, default_value = "")]
        domain: String,
        /// What it is good at, in words ("React testing", "AWS deployment"); names the agent.
        #[arg(long)]
        specialization: String,
        /// A capability in words ("code review", "security"); repeatable.
        #[arg(long = "capability")]
        capabilities: Vec<String>,
        /// A platform it works with (github, jira, aws…; "team" to ask other agents); repeatable.
        #[arg(long = "integration")]
        integrations: Vec<String>,
        /// How it speaks, in words (default: "precise and friendly").
        #[arg(long)]
        tone: Option<String>,
        /// Install it for this user.
        #[arg(long)]
        install: bool,
        /// Write it as a package folder here (for `paired market publish`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the generated manifest, certification and warnings as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
}

pub async fn execute(paths: &Paths, command: AgentsCommand) -> Result<ExitCode> {
    match command {
        AgentsCommand::List { json } => list(paths, json).await,
        AgentsCommand::Generate { domain, specialization, capabilities, integrations, tone, install, out, json } => {
            let out = match out {
                Some(dir) if dir.is_relative() => Some(std::env::current_dir()?.join(dir)),
                other => other,
            };
            let params = protocol::agents::GenerateParams {
                request: protocol::agents::AgentGenerationRequest {
                    domain,
                    specialization,
                    capabilities,
                    personality: protocol::agents::Personality { tone, ..Default::default() },
                    integrations,
                },
                install,
                out_dir: out.map(|d| d.display().to_string()),
            };
            let connection = client::connect_or_start(paths).await?;
            let generated = client::call::<protocol::agents::Generate>(&connection.client, &params).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&generated)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("{} — {}", generated.id, generated.metadata.description)?;
            outln!("tools: {}", generated.tools.join(", "))?;
            let may = crate::services::market::permission_lines(&generated.permissions);
            outln!("may: {}", if may.is_empty() { "nothing beyond answering".to_owned() } else { may.join("; ") })?;
            if let Some(c) = &generated.certification {
                let passed = c.checks.iter().filter(|c| c.passed).count();
                outln!("certification: {} ({passed}/{} checks passed)", c.level, c.checks.len())?;
            }
            for warning in &generated.warnings {
                errln!("warn {warning}");
            }
            if let Some(file) = &generated.installed {
                outln!("installed: {file}")?;
            }
            if let Some(folder) = &generated.folder {
                outln!("package folder: {folder}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AgentsCommand::Show { agent, json } => show(paths, &agent, json).await,
        AgentsCommand::Run { agent, file, line, column, skill, prompt, json } => {
            run(paths, RunArgs { agent, file, line, column, skill, prompt, json }).await
        }
    }
}

/// The daemon (started if need be) with the PAIRED project the command runs
/// in open, if it runs in one (the nearest folder upward with `.paired/` or
/// `.pairedrules`), and that project as requests name it: the roster is the
/// project's, as for `agents run`, so a 1.0 project's
/// `.paired/config/agents/*.yml` are listed, and no other project's.
async fn connect_in_project(paths: &Paths) -> Result<(client::Connection, Option<String>)> {
    let connection = client::connect_or_start(paths).await?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let home = std::env::var_os("HOME").map(PathBuf::from).and_then(|h| h.canonicalize().ok());
    // `~/.paired` is 1.0's global install, not a project: its agents are the user's.
    let root = crate::platform::config::find_project_root(&cwd)
        .map(|root| root.canonicalize().unwrap_or(root))
        .filter(|root| Some(root) != home.as_ref());
    if let Some(root) = &root {
        // Indexing goes on in the background: the roster needs the folder only.
        let folder =
            protocol::context::AddWorkspaceParams { folder: crate::platform::uri::from_path(root), wait: false };
        if let Err(err) = client::call::<protocol::context::AddWorkspace>(&connection.client, &folder).await {
            errln!("paired: warn: the agents of {} are not listed: {err:#}", root.display());
        }
    }
    Ok((connection, root.map(|root| crate::platform::uri::from_path(&root))))
}

async fn list(paths: &Paths, json: bool) -> Result<ExitCode> {
    let (connection, project) = connect_in_project(paths).await?;
    let project = wire::ProjectRef { project };
    let agents = client::call::<wire::List>(&connection.client, &project).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&agents)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let problems = client::call::<wire::Problems>(&connection.client, &project).await?;
    for agent in agents {
        let skills: Vec<&str> = agent.skills.iter().map(|s| s.name.as_str()).collect();
        let source = if agent.source == "builtin" { String::new() } else { format!("  [{}]", agent.source) };
        outln!(
            "{:<10} {} {:<24} {}{source}",
            agent.id,
            agent.emoji,
            agent.display_name,
            if skills.is_empty() { "(model mode only)".to_owned() } else { skills.join(", ") }
        )?;
    }
    for problem in problems {
        errln!("paired: agent file not loaded: {problem}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(paths: &Paths, agent: &str, json: bool) -> Result<ExitCode> {
    let (connection, project) = connect_in_project(paths).await?;
    let described =
        client::call::<wire::Describe>(&connection.client, &wire::DescribeParams { agent: agent.to_owned(), project })
            .await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&described)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let info = &described.info;
    outln!("{} {}  v{}  ({})", info.emoji, info.display_name, info.version, info.source)?;
    if !info.description.is_empty() {
        outln!("{}", info.description)?;
    }
    outln!("aliases: {}", info.aliases.join(", "))?;
    outln!("capabilities: {}", info.capabilities.join(", "))?;
    for skill in &info.skills {
        outln!("skill {} ({}): {}", skill.name, skill.scope, skill.description)?;
    }
    let p = &described.manifest.permissions;
    let grants = |name: &str, list: &[String]| {
        if list.is_empty() { format!("{name}: none") } else { format!("{name}: {}", list.join(", ")) }
    };
    outln!(
        "permissions: {}; {}; {}; {}",
        grants("read", &p.fs_read),
        grants("write", &p.fs_write),
        grants("net", &p.net),
        grants("commands", &p.commands)
    )?;
    if !p.commands.is_empty() {
        outln!("  (commands run in PAIRED's sandbox: they read the project, write only a scratch folder, no network)")?;
    }
    outln!("\npersona:\n{}", described.persona)?;
    Ok(ExitCode::SUCCESS)
}

struct RunArgs {
    agent: String,
    file: Option<PathBuf>,
    line: Option<u32>,
    column: u32,
    skill: Option<String>,
    prompt: Option<String>,
    json: bool,
}

/// `--file`, `--line`, `--column` as a document URI, a position, and the project
/// folder the file is in (the current directory's without a file).
pub(crate) fn target(
    file: Option<&std::path::Path>,
    line: Option<u32>,
    column: u32,
) -> Result<(Option<String>, Option<protocol::documents::Position>, PathBuf)> {
    let Some(file) = file else {
        let root = crate::fronts::cli::common::project_root(
            &std::env::current_dir().context("cannot read the current directory")?,
        );
        return Ok((None, None, root));
    };
    let file = file.canonicalize().with_context(|| format!("cannot open {}", file.display()))?;
    let mut position = None;
    if let Some(line) = line {
        if line == 0 || column == 0 {
            bail!("--line and --column count from 1");
        }
        let text = crate::services::workspace::read_source(&file)
            .with_context(|| format!("{} is not a text file under 2 MiB", file.display()))?;
        let line_text = text.lines().nth(line as usize - 1).with_context(|| {
            format!("{} has {} lines; --line {line} is past the end", file.display(), text.lines().count())
        })?;
        let character: u32 = line_text.chars().take(column as usize - 1).map(|c| c.len_utf16() as u32).sum();
        position = Some(protocol::documents::Position { line: line - 1, character });
    }
    let root = crate::fronts::cli::common::project_root(file.parent().unwrap_or(&file));
    Ok((Some(crate::platform::uri::from_path(&file)), position, root))
}

/// The daemon (started if need be) with `root` open and indexed, and its
/// events, subscribed before the caller starts anything so no update is missed.
pub(crate) async fn open_and_listen(
    paths: &Paths,
    root: &std::path::Path,
    name: &str,
) -> Result<(client::Connection, Subscription<Event>)> {
    let connection = client::connect_or_start(paths).await?;
    client::open_project(&connection.client, root, true).await?;
    let hello = ClientHello {
        kind: ClientKind::Cli,
        name: name.into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        pid: Some(std::process::id()),
        workspace_folders: vec![crate::platform::uri::from_path(root)],
        events: Some(["run_update", "session_update", "choice", "shutting_down"].map(String::from).to_vec()),
    };
    let events = connection.client.subscribe(Attach::SUBSCRIBE, ByName(&hello), Attach::UNSUBSCRIBE).await?;
    Ok((connection, events))
}

async fn run(paths: &Paths, args: RunArgs) -> Result<ExitCode> {
    let (uri, position, root) = target(args.file.as_deref(), args.line, args.column)?;
    let (connection, mut events) = open_and_listen(paths, &root, "paired agents run").await?;
    let params = RunParams {
        agent: args.agent,
        skill: args.skill,
        uri,
        position,
        range: None,
        prompt: args.prompt,
        workspace: Some(crate::platform::uri::from_path(&root)),
        wait: false,
        max_tokens: None,
    };
    let started = client::call::<wire::Run>(&connection.client, &params).await?;
    let mut streamed = false;
    let mut status = started.status;
    while !status.is_finished() {
        let next = async { Ok(tokio::time::timeout(Duration::from_secs(600), events.next()).await) };
        let event = match unless_interrupted(&connection.client, &started.id, next).await? {
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(err))) => bail!("reading the run's progress: {err}"),
            Ok(None) => bail!("the daemon closed the connection during the run"),
            Err(_) => bail!("no progress from run {} for 10 minutes", started.id),
        };
        if let Event::RunUpdate { run_id, status: now, output_delta, message, .. } = event
            && run_id == started.id
        {
            status = now;
            if !args.json {
                if let Some(delta) = output_delta {
                    out!("{delta}")?;
                    streamed = true;
                } else if let Some(message) = message.filter(|_| !now.is_finished()) {
                    errln!("paired: {message}");
                }
            }
        }
    }
    let run =
        client::call::<wire::GetRun>(&connection.client, &wire::RunRef { run_id: started.id.clone(), wait: false })
            .await?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&run)?)?;
    } else {
        print_run(&run, streamed)?;
    }
    Ok(match run.status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::NoResult => ExitCode::from(super::common::NO_RESULT),
        _ => ExitCode::FAILURE,
    })
}

fn print_run(run: &RunInfo, streamed: bool) -> Result<()> {
    if !streamed && !run.output.is_empty() {
        out!("{}", run.output)?;
    }
    if !run.findings.is_empty() {
        outln!()?;
    }
    for finding in &run.findings {
        let file = finding.uri.as_deref().and_then(crate::platform::uri::to_path);
        let file = file.map_or_else(String::new, |f| format!("{}:", f.display()));
        let fix = finding.fix.as_ref().map_or_else(String::new, |f| format!(" (fix: {})", f.title));
        outln!("{file}{}: {} [{}] {}{fix}", finding.line, finding.severity.name(), finding.rule, finding.message)?;
    }
    for edit in &run.edits {
        outln!("\nproposed edit to {} at line {}:\n{}", edit.uri, edit.range.start.line + 1, edit.new_text)?;
    }
    match &run.error {
        // Its report says why already.
        Some(_) if run.status == RunStatus::NoResult && !run.output.is_empty() => {
            errln!("paired: run {} ended with no result", run.id);
        }
        Some(error) => errln!("paired: run {} {}: {error}", run.id, run.status.name()),
        None => {}
    }
    Ok(())
}
