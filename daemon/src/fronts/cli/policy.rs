//! `paired policy show|explain`: the team policy this machine applies (from
//! the hub it joined, verified and cached by `services::team::policy`), and
//! which rule decides an action.

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
    /// Which rule decides an action: run:AGENT, model:PROVIDER/MODEL, send:PATH,
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
    match command {
        PolicyCommand::Show { refresh, json } => {
            if refresh {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(policy::pull(paths))?;
            }
            show(&policy::state(paths), json)
        }
        PolicyCommand::Explain { action, json } => {
            let parsed = policy_action(&action)?;
            let decision = policy::state(paths).decide(&parsed);
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

fn show(state: &State, json: bool) -> Result<ExitCode> {
    match (state, json) {
        (State::None, true) => outln!("{}", json!({"applies": false}))?,
        (State::None, false) => outln!("No team policy applies (this machine has joined no hub that signs one).")?,
        (State::FailsClosed(why), true) => outln!("{}", json!({"applies": true, "valid": false, "why": why}))?,
        (State::FailsClosed(why), false) => {
            outln!("The team policy cannot be trusted: {why}.")?;
            outln!("Until the hub is reached, what it would decide is refused (it fails closed).")?;
        }
        (State::Applies(policy), true) => {
            outln!("{}", json!({"applies": true, "valid": true, "policy": policy}))?;
        }
        (State::Applies(policy), false) => {
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
