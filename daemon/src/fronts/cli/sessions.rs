//! `paired sessions list|show|resume|cancel`: workflow sessions and
//! conversations with the team (`chat-…`), wherever they were started (an
//! editor, ACP, the CLI), as the daemon keeps them — also after a restart, when
//! an interrupted session can be resumed.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use protocol::{
    agents::{CancelRun, RunRef},
    chat,
    workflows::{self as wire, SessionInfo, SessionStatus, StepStatus},
};

use crate::{
    fronts::cli::common::{errln, outln},
    platform::paths::Paths,
    server::client,
};

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Recent sessions, newest first.
    List {
        /// How many (at most 1,000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print them as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// One session: its steps, conflicts, board, output and edits.
    Show {
        /// The session's id (`session-…`).
        session: String,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Continue a session the daemon did not finish (interrupted by a stop or a crash).
    Resume {
        /// The session's id (`session-…`; `paired sessions list` shows them).
        session: String,
        /// Return at once instead of waiting for the session to finish.
        #[arg(long)]
        no_wait: bool,
        /// Print the session as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a running session and every run it started.
    Cancel {
        /// The session's id (`session-…`).
        session: String,
    },
}

pub async fn execute(paths: &Paths, command: SessionsCommand) -> Result<ExitCode> {
    let connection = client::connect_or_start(paths).await?;
    let client = &connection.client;
    match command {
        SessionsCommand::List { limit, json } => {
            let sessions =
                client::call::<wire::ListSessions>(client, &wire::ListSessionsParams { limit: Some(limit) }).await?;
            let conversations =
                client::call::<chat::List>(client, &chat::ListParams { project: None, limit: Some(limit) }).await?;
            if json {
                let both = serde_json::json!({ "sessions": sessions, "conversations": conversations });
                outln!("{}", serde_json::to_string_pretty(&both)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            if sessions.is_empty() && conversations.is_empty() {
                errln!("paired: no workflow sessions or conversations yet (`paired workflow run` starts a session)");
            }
            for s in sessions {
                let error = s.error.map(|e| format!("  {e}")).unwrap_or_default();
                outln!("{:<24} {:<12} {:<12} {}{error}", s.id, s.workflow, s.status.name(), when(s.created_ms))?;
            }
            for c in conversations {
                let turns = format!("{} turn(s)", c.turns);
                outln!("{:<24} {:<12} {:<12} {}  {}", c.id, "chat", turns, when(c.updated_ms as u64), c.title)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionsCommand::Show { session, json } if session.starts_with("chat-") => {
            let conversation =
                client::call::<chat::Get>(client, &chat::ConversationRef { conversation: session }).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&conversation)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            let summary = &conversation.summary;
            outln!("{}: {}, started {}", summary.id, summary.title, when(summary.created_ms as u64))?;
            for turn in &conversation.turns {
                outln!("\n[{}] you: {}", turn.turn, turn.text)?;
                match &turn.run {
                    Some(run) => {
                        let answer = if run.output.trim().is_empty() {
                            run.status.name().to_owned()
                        } else {
                            run.output.trim_end().to_owned()
                        };
                        outln!("[{}] {}: {answer}", turn.turn, turn.agent)?;
                        if !run.findings.is_empty() || !run.edits.is_empty() {
                            outln!(
                                "    {} finding(s), {} edit(s) (all in `--json`)",
                                run.findings.len(),
                                run.edits.len()
                            )?;
                        }
                    }
                    None => outln!("[{}] {}: (the run's record is gone)", turn.turn, turn.agent)?,
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionsCommand::Show { session, json } => {
            let info = client::call::<wire::GetSession>(client, &wire::SessionRef { session_id: session, wait: false })
                .await?;
            print(&info, json)?;
            Ok(ExitCode::SUCCESS)
        }
        SessionsCommand::Resume { session, no_wait, json } => {
            let params = wire::SessionRef { session_id: session, wait: !no_wait };
            let info = client::call::<wire::ResumeSession>(client, &params).await?;
            print(&info, json)?;
            Ok(match info.status {
                _ if no_wait => ExitCode::SUCCESS,
                SessionStatus::Succeeded => ExitCode::SUCCESS,
                SessionStatus::NoResult => ExitCode::from(super::common::NO_RESULT),
                _ => ExitCode::FAILURE,
            })
        }
        SessionsCommand::Cancel { session } => {
            let run = client::call::<CancelRun>(client, &RunRef { run_id: session.clone(), wait: false }).await?;
            outln!("{session}: {}", run.status.name())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Milliseconds since the epoch as UTC `YYYY-MM-DD HH:MM`.
fn when(ms: u64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// How a step's end is said, the same while a workflow runs and after: a
/// step with nothing to show is "no result", not "FAILED".
pub(super) fn step_mark(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Succeeded => "done",
        StepStatus::Skipped => "skipped",
        StepStatus::Cancelled => "cancelled",
        StepStatus::NoResult => "no result",
        _ => "FAILED",
    }
}

fn print(session: &SessionInfo, json: bool) -> Result<()> {
    if json {
        return outln!("{}", serde_json::to_string_pretty(session)?);
    }
    outln!("{} ({}): {}, started {}", session.id, session.workflow, session.status.name(), when(session.created_ms))?;
    for step in &session.steps {
        let mark = step_mark(step.status);
        let detail = match &step.error {
            Some(error) => error.clone(),
            None => format!("{} findings, {} edits", step.findings.len(), step.edits.len()),
        };
        outln!("  {mark:<9} {:<16} {} {}: {detail}", step.key, step.agent, step.skill)?;
    }
    for conflict in &session.conflicts {
        outln!("  conflict {}: {} → {}", conflict.id, conflict.what, conflict.resolution)?;
    }
    if !session.output.is_empty() {
        outln!("\n{}", session.output.trim_end())?;
    }
    if let Some(error) = &session.error {
        errln!("paired: session {} {}: {error}", session.id, session.status.name());
    }
    Ok(())
}
