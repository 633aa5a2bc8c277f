//! `paired policy show|explain`: the policy this machine applies for the
//! project the command runs in — the team's (from the hub it joined, verified
//! and cached by `services::team::policy`), the user's own file and the
//! project's — and which rule decides an action.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use crate::{
    fronts::cli::common::outln,
    platform::paths::Paths,
    services::team::policy::{self, State},
};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// The policy in force: where it came from, until when, each source's rules.
    Show {
        /// Fetch it from the hub first (otherwise the daemon's cached copy).
        #[arg(long)]
        refresh: bool,
        /// Print it as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Which rule decides an action: run:AGENT, model:PROVIDER/MODEL, send:PATH[@PROVIDER],
    /// install:PUBLISHER@REGISTRY, grant:KIND, mcp:SERVER.
    Explain {
        /// The action, e.g. `run:vince`, `model:openai/gpt-4o`, `send:config/prod.env`.
        action: String,
        /// Print the decision as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
}

pub fn execute(paths: &Paths, command: PolicyCommand) -> Result<ExitCode> {
    let project = std::env::current_dir().ok().map(|dir| crate::fronts::cli::common::project_root(&dir));
    let levels = || policy::TeamPolicy::new(paths.clone()).for_project(project.as_deref());
    match command {
        PolicyCommand::Show { refresh, json } => {
            if refresh {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(policy::pull(paths))?;
            }
            let levels = levels();
            if json {
                let mut value = team_json(&levels.team);
                value["local"] = local_json(&levels.local);
                outln!("{value}")?;
                return Ok(ExitCode::SUCCESS);
            }
            show(&levels.team)?;
            show_local(paths, project.as_deref(), &levels.local)
        }
        PolicyCommand::Explain { action, json } => {
            let parsed = policy_action(&action)?;
            let decision = levels().decide(&parsed);
            if json {
                outln!("{}", serde_json::to_string_pretty(&decision)?)?;
            } else {
                let verdict = if decision.allowed { "allowed" } else { "refused" };
                match &decision.source {
                    Some(source) => outln!("{action}: {verdict} by {source}: {}", decision.rule)?,
                    None => outln!("{action}: {verdict}: {}", decision.rule)?,
                }
            }
            Ok(if decision.allowed { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
    }
}

fn policy_action(text: &str) -> Result<::policy::Action> {
    ::policy::Action::parse(text).map_err(anyhow::Error::msg)
}

/// The user's and the project's own levels, after the team's.
fn show_local(paths: &Paths, project: Option<&std::path::Path>, local: &[policy::Local]) -> Result<ExitCode> {
    for level in local {
        outln!("\n[{}]", level.label)?;
        match &level.rules {
            Ok(rules) => outln!("{}", serde_json::to_string_pretty(rules)?)?,
            Err(why) => outln!("does not read: {why}")?,
        }
    }
    if local.is_empty() {
        let project = project.map(|p| format!(" or {}", policy::project_file(p).display())).unwrap_or_default();
        outln!(
            "\nNo policy of your own: {}{project} would narrow the team's (same rules, TOML).",
            policy::user_file(paths).display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn local_json(local: &[policy::Local]) -> serde_json::Value {
    local
        .iter()
        .map(|l| match &l.rules {
            Ok(rules) => json!({"level": l.label, "rules": rules}),
            Err(why) => json!({"level": l.label, "error": why}),
        })
        .collect()
}

fn team_json(state: &State) -> serde_json::Value {
    match state {
        State::None => json!({"applies": false}),
        State::FailsClosed(why) => json!({"applies": true, "valid": false, "why": why}),
        State::Applies(policy) => json!({"applies": true, "valid": true, "policy": policy}),
    }
}

fn show(state: &State) -> Result<ExitCode> {
    match state {
        State::None => outln!("No team policy applies (this machine has joined no hub that signs one).")?,
        State::FailsClosed(why) => {
            outln!("The team policy cannot be trusted: {why}.")?;
            outln!("Until the hub is reached, what it would decide is refused (it fails closed).")?;
        }
        State::Applies(policy) => {
            outln!(
                "Team policy of {} for member {}, signed by the hub; valid until {}.",
                policy.org,
                policy.member,
                policy.expires_at
            )?;
            if policy.sources.is_empty() {
                outln!("No rules are set: nothing is restricted.")?;
            }
            for source in &policy.sources {
                outln!("\n[{}]", source.scope)?;
                outln!("{}", serde_json::to_string_pretty(&source.rules)?)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
