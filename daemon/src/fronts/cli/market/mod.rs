//! `paired market …`: the publisher's commands (a registry folder and its
//! keys, on this machine) and the user's (through the daemon, which verifies
//! and installs).

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod install;
mod publisher;
mod shared;
mod user;

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::platform::paths::Paths;

#[derive(Debug, Subcommand)]
pub enum MarketCommand {
    /// Create a registry in DIR: keys (keep them private), a signed root, an empty repository to serve.
    Init {
        /// The folder to create the registry in (its keys go in DIR/keys/, what to serve in DIR/repository/).
        dir: PathBuf,
        /// How long the timestamp signature holds, in seconds: 1 to 315360000 (default 604800, a week).
        #[arg(long, allow_negative_numbers = true)]
        timestamp_secs: Option<i64>,
        /// Print where the registry, its root and its keys are as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Run the Quality Assurance Pipeline on an agent folder: manifest, name, version, permissions, its test cases.
    Check {
        /// The agent's folder (with its `agent.toml`).
        folder: PathBuf,
        /// Print the checks and the certification level as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Pack an agent folder into a reproducible .tgz.
    Pack {
        /// The agent's folder (with its `agent.toml`).
        folder: PathBuf,
        /// The file to write (default: NAME-VERSION.tgz in the current directory).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Print the file written and its size as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Check, pack and add an agent folder to a registry, and re-sign it.
    Publish {
        /// The agent's folder (with its `agent.toml`).
        folder: PathBuf,
        /// The registry folder (made by `paired market init`).
        #[arg(long)]
        registry: PathBuf,
        /// Who publishes it, as users are shown when asked to grant its permissions.
        /// Default: the publisher of its earlier versions, else the name of the `--key`.
        #[arg(long)]
        publisher: Option<String>,
        /// Daemon versions the agent works with (semver requirement).
        #[arg(long, default_value = ">=2.0.0-alpha, <3")]
        daemon: String,
        /// How long the new timestamp signature holds, in seconds: 1 to 315360000 (default 604800, a week).
        #[arg(long, allow_negative_numbers = true)]
        timestamp_secs: Option<i64>,
        /// Sign as a delegated publisher with this key (`paired market publisher init`:
        /// `private/NAME.pk8`): the registry's targets key is then not needed.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Print the published name, version, publisher and certification as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Publishers with their own keys (TUF delegations).
    Publisher {
        #[command(subcommand)]
        command: PublisherCommand,
    },
    /// Mark NAME@VERSION yanked: no longer installed by default.
    Yank {
        /// The version to yank, as NAME@VERSION.
        package: String,
        /// The registry folder (made by `paired market init`).
        #[arg(long)]
        registry: PathBuf,
        /// Print what was yanked as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Mark NAME@VERSION as reviewed by a maintainer.
    Curate {
        /// The version reviewed, as NAME@VERSION.
        package: String,
        /// The registry folder (made by `paired market init`).
        #[arg(long)]
        registry: PathBuf,
        /// Print what was curated as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Record a version's downloads and ratings (as the marketplace's web side counts them), and re-sign.
    Stats {
        /// The version counted, as NAME@VERSION.
        package: String,
        /// The registry folder (made by `paired market init`).
        #[arg(long)]
        registry: PathBuf,
        /// How many times it was downloaded, in all (replaces the number recorded).
        #[arg(long)]
        downloads: Option<u64>,
        /// Sum of all the stars given (with --ratings, how many gave them).
        #[arg(long, requires = "ratings")]
        stars: Option<u64>,
        /// How many people rated it (with --stars, the sum of their stars: at most five each).
        #[arg(long, requires = "stars")]
        ratings: Option<u64>,
        /// Print the version's downloads and rating as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// (Registry side) re-sign a registry folder with fresh expiries (before its timestamp runs out).
    Resign {
        /// The registry folder (made by `paired market init`).
        #[arg(long)]
        registry: PathBuf,
        /// How long the new timestamp signature holds, in seconds: 1 to 315360000 (default 604800, a week).
        #[arg(long, allow_negative_numbers = true)]
        timestamp_secs: Option<i64>,
        /// Print the folder re-signed as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Fetch and verify the configured registries' indexes now (search and info reuse
    /// them for `market.refresh_secs`). Given a registry folder, re-signs it (`resign`).
    Refresh {
        /// Only this configured registry (by name).
        #[arg(long)]
        registry: Option<String>,
        /// With a registry folder as --registry: how long the new timestamp signature
        /// holds, in seconds, 1 to 315360000 (as `paired market resign --timestamp-secs`).
        #[arg(long, allow_negative_numbers = true, hide = true)]
        timestamp_secs: Option<i64>,
        /// Print each registry's package count, or why it failed, as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Search the configured registries.
    Search {
        /// Words to look for in names, descriptions and capabilities (default: list every package).
        #[arg(default_value = "")]
        query: String,
        /// Only this configured registry (by name; default: all of them).
        #[arg(long)]
        registry: Option<String>,
        /// Fetch the registries' indexes first (`paired market refresh`).
        #[arg(long)]
        refresh: bool,
        /// Print the packages found as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Packages for a project, from its languages and frameworks (default: the current directory).
    Recommend {
        /// The project folder to recommend for (default: the current directory).
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// Print the packages recommended, with the reasons, as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// A package's versions and what it may do.
    Info {
        /// The package's name.
        name: String,
        /// Fetch the registries' indexes first (`paired market refresh`).
        #[arg(long)]
        refresh: bool,
        /// Print the package's versions, permissions and install as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Verify and install NAME or NAME@VERSION.
    Install {
        /// The package, as NAME (its newest compatible version) or NAME@VERSION.
        package: String,
        /// The configured registry to install from (by name; default: the first that has it).
        #[arg(long)]
        registry: Option<String>,
        /// Grant the permissions the agent asks for without asking.
        #[arg(long)]
        yes: bool,
        /// Print what was installed as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Install the newest compatible version of an installed package.
    Update {
        /// The installed package's name.
        name: String,
        /// Grant the permissions the new version asks for without asking.
        #[arg(long)]
        yes: bool,
        /// Print what was installed as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed package.
    Remove {
        /// The installed package's name.
        name: String,
        /// Print what was removed as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Go back to the previously active version (once: never forward again).
    Rollback {
        /// The installed package's name.
        name: String,
        /// Print the version now active as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Installed packages.
    Installed {
        /// Print the installed packages as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Runs per installed marketplace agent (for usage billing and revenue sharing).
    Usage {
        /// Print the runs per agent as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Licences for paid agents.
    License {
        #[command(subcommand)]
        command: LicenseCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PublisherCommand {
    /// (Publisher side) make a signing key and an empty role for NAME: OUT/public/ to send
    /// to the registry's maintainer, OUT/private/ (the key) to keep.
    Init {
        /// The publisher's name: the prefix of the packages it signs (`NAME-*`).
        #[arg(long)]
        name: String,
        /// The folder to write public/ and private/ in.
        #[arg(long)]
        out: PathBuf,
        /// Print where the public folder and the key are as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// (Registry side) delegate the package names `NAME-*` to the publisher whose public folder is FROM.
    Add {
        /// The registry folder (made by `paired market init`).
        #[arg(long)]
        registry: PathBuf,
        /// The publisher's name, as given to `paired market publisher init --name`.
        #[arg(long)]
        name: String,
        /// The public/ folder the publisher sent (from `paired market publisher init`).
        #[arg(long)]
        from: PathBuf,
        /// Print the publisher and the names it now signs as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// (Registry side) sign a licence for AGENT, bound to a user or `org:<domain>`.
    Issue {
        /// The registry folder (made by `paired market init`) that holds the agent.
        #[arg(long)]
        registry: PathBuf,
        /// The paid agent's package name.
        #[arg(long)]
        agent: String,
        /// Who may run it: a user (alice@acme.example, as their `market.licensee`) or an organisation (org:acme.example).
        #[arg(long)]
        licensee: String,
        /// How long it holds, in seconds: 1 to 315360000.
        #[arg(long, default_value_t = 365 * 24 * 3600, allow_negative_numbers = true)]
        seconds: i64,
        /// Print the agent, the licensee and the token as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// (User side) keep a licence token for AGENT; verified at install and before every run.
    Add {
        /// The paid agent's package name.
        agent: String,
        /// The licence token (paired-licence.v1.…), as its marketplace gave it.
        token: String,
        /// Print the agent whose licence was kept as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
}

pub fn execute(paths: &Paths, command: MarketCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run(paths, command))
}

/// One function per subcommand: the publisher's ([`publisher`]), the user's
/// ([`user`], [`install`]).
async fn run(paths: &Paths, command: MarketCommand) -> Result<ExitCode> {
    match command {
        MarketCommand::Init { dir, timestamp_secs, json } => publisher::init(&dir, timestamp_secs, json).await,
        MarketCommand::Check { folder, json } => publisher::check(&folder, json),
        MarketCommand::Pack { folder, output, json } => publisher::pack(&folder, output, json),
        MarketCommand::Publish { folder, registry, publisher, daemon, timestamp_secs, key, json } => {
            publisher::publish(&folder, &registry, publisher, &daemon, timestamp_secs, key, json).await
        }
        MarketCommand::Yank { package, registry, .. } | MarketCommand::Curate { package, registry, .. }
            if !package.contains('@') =>
        {
            bail!("{package}: say which version, as NAME@VERSION (registry {})", registry.display())
        }
        MarketCommand::Yank { package, registry, json } => publisher::yank(&package, &registry, json).await,
        MarketCommand::Curate { package, registry, json } => publisher::curate(&package, &registry, json).await,
        MarketCommand::Stats { package, registry, downloads, stars, ratings, json } => {
            publisher::stats(&package, &registry, downloads, stars.zip(ratings), json).await
        }
        MarketCommand::Resign { registry, timestamp_secs, json } => {
            publisher::resign(&registry, timestamp_secs, json).await
        }
        MarketCommand::Refresh { registry: Some(folder), timestamp_secs, json }
            if std::path::Path::new(&folder).join("repository/metadata/timestamp.json").is_file() =>
        {
            publisher::resign_folder(&folder, timestamp_secs, json).await
        }
        MarketCommand::Refresh { timestamp_secs: Some(_), .. } => {
            bail!(
                "--timestamp-secs re-signs a registry folder: `paired market resign --registry DIR --timestamp-secs N`"
            )
        }
        MarketCommand::Refresh { registry, json, .. } => user::refresh(paths, registry.as_deref(), json).await,
        MarketCommand::Search { query, registry, refresh, json } => {
            user::search(paths, query, registry, refresh, json).await
        }
        MarketCommand::Recommend { workspace, json } => user::recommend(paths, workspace, json).await,
        MarketCommand::Info { name, refresh, json } => user::info(paths, name, refresh, json).await,
        MarketCommand::Install { package, registry, yes, json } => {
            install::install_package(paths, &package, registry, yes, json).await
        }
        MarketCommand::Update { name, yes, json } => install::update(paths, name, yes, json).await,
        MarketCommand::Remove { name, json } => user::remove(paths, name, json).await,
        MarketCommand::Rollback { name, json } => user::rollback(paths, name, json).await,
        MarketCommand::Publisher { command: PublisherCommand::Init { name, out, json } } => {
            publisher::publisher_init(&name, &out, json).await
        }
        MarketCommand::Publisher { command: PublisherCommand::Add { registry, name, from, json } } => {
            publisher::publisher_add(&registry, &name, &from, json).await
        }
        MarketCommand::License { command: LicenseCommand::Issue { registry, agent, licensee, seconds, json } } => {
            publisher::issue_licence(&registry, &agent, &licensee, seconds, json).await
        }
        MarketCommand::License { command: LicenseCommand::Add { agent, token, json } } => {
            user::add_licence(paths, &agent, &token, json)
        }
        MarketCommand::Usage { json } => user::usage(paths, json).await,
        MarketCommand::Installed { json } => user::installed(paths, json).await,
    }
}
