//! `paired team join|status|leave`: this machine's membership of a team's hub
//! (`services::team`, docs/team.md).

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::{
    fronts::cli::common::{errln, open_browser, outln},
    platform::{paths::Paths, secrets},
    services::team::{self, Membership, registry},
};

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Join a team's hub with the invitation code an admin or team lead gave you.
    Join {
        /// The hub's address (https://…; http:// only to this machine).
        url: String,
        /// The invitation code (`XXXX-XXXX-XXXX-XXXX`; case and dashes do not matter).
        #[arg(long, required_unless_present = "sso", conflicts_with = "sso")]
        code: Option<String>,
        /// Sign in with the organisation's identity provider in the browser instead
        /// (`$BROWSER` when set; the address is printed too).
        #[arg(long)]
        sso: bool,
        /// Your address, for a code that is not for one address.
        #[arg(long)]
        email: Option<String>,
        /// Your name, as the team sees it.
        #[arg(long)]
        name: Option<String>,
        /// Print the outcome as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// The hub this machine joined, and what the hub says of you now.
    Status {
        /// Print the status as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Create the organisation's private agent registry (admins); members' daemons
    /// get it as the registry named `team`.
    CreateRegistry {
        /// Print the registry's address and root as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Publish an agent folder to the organisation's registry (admins, managers,
    /// team leads): packed here, checked and certified by the hub. Acts with
    /// $PAIRED_HUB_TOKEN when set, else with a token made for this change.
    Publish {
        /// The agent's folder (its `agent.toml`, tests and files).
        folder: std::path::PathBuf,
        /// A semver requirement on the daemon (default any).
        #[arg(long)]
        daemon: Option<String>,
        /// Print what was published as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Yank NAME@VERSION from the organisation's registry (`--undo` takes it back).
    Yank {
        /// NAME@VERSION.
        package: String,
        /// Take it back: the version is no longer yanked.
        #[arg(long)]
        undo: bool,
        /// Print the version's state as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Mark NAME@VERSION of the organisation's registry as curated (`--undo`: not).
    Curate {
        /// NAME@VERSION.
        package: String,
        /// Take it back: the version is no longer curated.
        #[arg(long)]
        undo: bool,
        /// Print the version's state as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Leave the hub: this machine's device token is revoked and forgotten.
    Leave {
        /// Print the outcome as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
}

pub fn execute(paths: &Paths, command: TeamCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match command {
        TeamCommand::Join { url, code, sso, email, name, json } => {
            let joined = match (code, sso) {
                (Some(code), _) => {
                    runtime.block_on(team::join(paths, &url, &code, email.as_deref(), name.as_deref()))?
                }
                (None, _) => {
                    runtime.block_on(team::sso::join(paths, &url, |url| open_browser("Sign in at", url, url)))?
                }
            };
            if json {
                outln!("{}", serde_json::to_string_pretty(&joined)?)?;
            } else {
                outln!("Joined {} on {} as {} ({}).", joined.org, joined.hub, joined.email, joined.role)?;
                outln!(
                    "This machine's device token is in the OS keyring ({}/{}).",
                    secrets::SERVICE,
                    team::KEYRING_ENTRY
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        TeamCommand::Status { json } => {
            let (membership, now) = runtime.block_on(team::status(paths))?;
            print_status(&membership, now, json)
        }
        TeamCommand::CreateRegistry { json } => {
            let created = runtime.block_on(registry::create(paths))?;
            said(json, &created, || {
                format!(
                    "Created the organisation's agent registry at {}; this machine uses it as `team`.",
                    created["url"].as_str().unwrap_or("?")
                )
            })
        }
        TeamCommand::Publish { folder, daemon, json } => {
            // Checked here first, so a package the hub would refuse says why at once.
            market::registry::check(&folder)?.require_passed()?;
            let package = market::archive::pack(&folder)?;
            let published = runtime.block_on(registry::publish(paths, package, daemon.as_deref()))?;
            if !json {
                for warning in published["warnings"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    errln!("warn {warning}");
                }
            }
            said(json, &published, || {
                format!(
                    "published {}@{} by {} to the team's registry ({})",
                    published["name"].as_str().unwrap_or("?"),
                    published["version"].as_str().unwrap_or("?"),
                    published["publisher"].as_str().unwrap_or("?"),
                    published["certification"].as_str().unwrap_or("?")
                )
            })
        }
        TeamCommand::Yank { package, undo, json } => {
            amend(&runtime, paths, &package, registry::Amend::Yank, !undo, json)
        }
        TeamCommand::Curate { package, undo, json } => {
            amend(&runtime, paths, &package, registry::Amend::Curate, !undo, json)
        }
        TeamCommand::Leave { json } => {
            let (left, revoked) = runtime.block_on(team::leave(paths))?;
            if json {
                let revoked = revoked.as_ref().map_err(ToString::to_string).err();
                outln!("{}", json!({"left": left, "revoke_error": revoked}))?;
            } else {
                outln!("Left {} on {}; the device token is no longer on this machine.", left.org, left.hub)?;
                match revoked {
                    Ok(()) => outln!("The hub revoked it.")?,
                    Err(err) => errln!(
                        "paired: the hub did not revoke it ({err}); ask an admin to revoke device token {} of member {}",
                        left.token_id,
                        left.member
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn amend(
    runtime: &tokio::runtime::Runtime,
    paths: &Paths,
    package: &str,
    what: registry::Amend,
    on: bool,
    json: bool,
) -> Result<ExitCode> {
    let Some((name, version)) = package.rsplit_once('@').filter(|(n, v)| !n.is_empty() && !v.is_empty()) else {
        anyhow::bail!("name the version: NAME@VERSION (e.g. acme-reviewer@1.2.0)");
    };
    let done = runtime.block_on(registry::amend(paths, name, version, what, on))?;
    said(json, &done, || {
        let state = match (what, on) {
            (registry::Amend::Yank, true) => "yanked",
            (registry::Amend::Yank, false) => "no longer yanked",
            (registry::Amend::Curate, true) => "curated",
            (registry::Amend::Curate, false) => "no longer curated",
        };
        format!("{name}@{version} is {state} in the team's registry")
    })
}

fn said(json: bool, value: &Value, text: impl FnOnce() -> String) -> Result<ExitCode> {
    if json {
        outln!("{}", serde_json::to_string_pretty(value)?)?;
    } else {
        outln!("{}", text())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(membership: &Membership, now: Result<Value, team::TeamError>, json: bool) -> Result<ExitCode> {
    if json {
        let (hub, error) = match &now {
            Ok(me) => (Some(me.clone()), None),
            Err(err) => (None, Some(err.to_string())),
        };
        outln!("{}", json!({"membership": membership, "hub_says": hub, "hub_error": error}))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Team: {} on {}", membership.org, membership.hub)?;
    match now {
        Ok(me) => {
            let role = me["role"].as_str().unwrap_or(&membership.role);
            let teams = me["teams"].as_array().map_or(0, Vec::len);
            outln!("You:  {} ({role}), in {teams} team(s)", membership.email)?;
            outln!("Hub:  reachable; this machine's token is valid")?;
        }
        Err(err) => {
            outln!("You:  {} ({} when you joined)", membership.email, membership.role)?;
            outln!("Hub:  {err}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
