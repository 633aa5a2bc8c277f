//! `paired workflow list|run`: multi-agent workflows through the daemon, each
//! step reported as it finishes; a conflict the workflow asks the user about is
//! asked at the terminal.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::{
    io::{BufRead, IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

use anyhow::{Result, bail};
use clap::Subcommand;
use protocol::{
    client::Event,
    workflows::{self as wire, SessionInfo, SessionStatus, StepStatus},
};

use crate::fronts::cli::common::{errln, errout, outln, unless_interrupted};
use crate::{platform::paths::Paths, server::client};

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// The workflows: built-ins and the project's `.paired/workflows/*.toml`.
    List {
        /// Print the workflows as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Run a workflow on a file (and position) or a request.
    Run {
        /// The workflow's name (`paired workflow list` shows them).
        workflow: String,
        /// The file to work on.
        #[arg(long)]
        file: Option<PathBuf>,
        /// 1-based line.
        #[arg(long)]
        line: Option<u32>,
        /// 1-based column (characters).
        #[arg(long, default_value_t = 1)]
        column: u32,
        /// The request, in words.
        #[arg(long)]
        prompt: Option<String>,
        /// Print the finished session (steps, conflicts, board, edits) as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn execute(paths: &Paths, command: WorkflowCommand) -> Result<ExitCode> {
    match command {
        WorkflowCommand::List { json } => list(paths, json).await,
        WorkflowCommand::Run { workflow, file, line, column, prompt, json } => {
            let (uri, position, root) = crate::fronts::cli::agents::target(file.as_deref(), line, column)?;
            let (connection, mut events) =
                crate::fronts::cli::agents::open_and_listen(paths, &root, "paired workflow run").await?;
            let params = wire::RunWorkflowParams {
                workflow,
                uri,
                position,
                range: None,
                prompt,
                workspace: Some(crate::platform::uri::from_path(&root)),
                wait: false,
            };
            let started = client::call::<wire::Run>(&connection.client, &params).await?;
            if !json {
                errln!("paired: session {} ({})", started.id, started.workflow);
            }
            let mut status = started.status;
            while !(status.is_finished() || status == SessionStatus::Interrupted) {
                let next = async { Ok(tokio::time::timeout(Duration::from_secs(900), events.next()).await) };
                let event = match unless_interrupted(&connection.client, &started.id, next).await? {
                    Ok(Some(Ok(event))) => event,
                    Ok(Some(Err(err))) => bail!("reading the session's progress: {err}"),
                    Ok(None) => bail!("the daemon closed the connection during the workflow"),
                    Err(_) => bail!("no progress from session {} for 15 minutes", started.id),
                };
                match event {
                    Event::SessionUpdate { session_id, status: now, step, .. } if session_id == started.id => {
                        status = now;
                        if let (Some(step), false) = (step, json) {
                            let mark = super::sessions::step_mark(step.status);
                            let detail = match (&step.error, step.status) {
                                (Some(error), _) => error.clone(),
                                (None, StepStatus::Skipped) => step.output.clone(),
                                (None, _) => format!("{} findings, {} edits", step.findings.len(), step.edits.len()),
                            };
                            errln!("  {mark:<9} {:<16} {} {}: {detail}", step.key, step.agent, step.skill);
                        }
                    }
                    Event::Choice { session_id, conflict_id, question, options } if session_id == started.id => {
                        if let Some(choice) = ask(&question, &options)? {
                            let decide = wire::DecideParams { session_id, conflict_id, choice };
                            client::call::<wire::Decide>(&connection.client, &decide).await?;
                        }
                    }
                    _ => {}
                }
            }
            let session = client::call::<wire::GetSession>(
                &connection.client,
                &wire::SessionRef { session_id: started.id.clone(), wait: false },
            )
            .await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&session)?)?;
            } else {
                print_session(&session)?;
            }
            Ok(match session.status {
                SessionStatus::Succeeded => ExitCode::SUCCESS,
                SessionStatus::NoResult => ExitCode::from(super::common::NO_RESULT),
                _ => ExitCode::FAILURE,
            })
        }
    }
}

/// Asks at the terminal; with no terminal the workflow's fallback decides.
fn ask(question: &str, options: &[String]) -> Result<Option<u32>> {
    if !std::io::stdin().is_terminal() {
        errln!("paired: {question} (no terminal to ask; the workflow decides when its wait runs out)");
        return Ok(None);
    }
    errln!("paired: {question}");
    for (i, option) in options.iter().enumerate() {
        errln!("  {}) {option}", i + 1);
    }
    loop {
        errout!("choose 1-{}: ", options.len());
        std::io::stderr().flush()?;
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line)? == 0 {
            return Ok(None);
        }
        match line.trim().parse::<u32>() {
            Ok(n) if (1..=options.len() as u32).contains(&n) => return Ok(Some(n - 1)),
            _ => errln!("paired: type a number from 1 to {}", options.len()),
        }
    }
}

fn print_session(session: &SessionInfo) -> Result<()> {
    if !session.output.is_empty() {
        outln!("{}", session.output.trim_end())?;
    }
    for conflict in &session.conflicts {
        outln!(
            "\nconflict {}: {}\n  {} → {}\n  because {}",
            conflict.id,
            conflict.what,
            conflict.strategy,
            conflict.resolution,
            conflict.reasons
        )?;
    }
    for edit in &session.edits {
        outln!("\nproposed edit to {} at line {}:\n{}", edit.uri, edit.range.start.line + 1, edit.new_text)?;
    }
    if let Some(error) = &session.error {
        errln!("paired: session {} {}: {error}", session.id, session.status.name());
    }
    Ok(())
}

async fn list(paths: &Paths, json: bool) -> Result<ExitCode> {
    let connection = client::connect_or_start(paths).await?;
    let root = crate::fronts::cli::common::project_root(&std::env::current_dir()?);
    client::open_project(&connection.client, &root, false).await?;
    let project = protocol::agents::ProjectRef { project: Some(crate::platform::uri::from_path(&root)) };
    let list = client::call::<wire::List>(&connection.client, &project).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for workflow in &list.workflows {
        let steps: Vec<String> = workflow
            .steps
            .iter()
            .map(|s| if s.needs.is_empty() { s.id.clone() } else { format!("{} (after {})", s.id, s.needs.join(", ")) })
            .collect();
        let source = if workflow.source == "built-in" { String::new() } else { format!("  [{}]", workflow.source) };
        outln!(
            "{:<10} {}{source}\n           steps: {}; conflicts: {}",
            workflow.name,
            workflow.description,
            steps.join(" → "),
            workflow.strategy
        )?;
    }
    for problem in &list.problems {
        errln!("paired: workflow file not loaded: {problem}");
    }
    Ok(ExitCode::SUCCESS)
}
