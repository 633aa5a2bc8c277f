//! `paired market …`: the publisher's commands (a registry folder and its
//! keys, on this machine) and the user's (through the daemon, which verifies
//! and installs).

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::{
    io::{BufRead, IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use protocol::{
    NoParams, Subscription as _,
    client::{Attach, ClientHello, ClientKind, Event},
    errors,
    market::{self as wire, InstallParams, Installed, PackageRef, PackageSummary, SearchParams},
};

use crate::fronts::cli::common::{errln, errout, outln};
use crate::{
    platform::paths::Paths,
    server::client::{self, ByName},
    services::market::registry::{self, Expiry, Registry},
};

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

/// Checked here, before anything is written: issue #14 (a timestamp past the
/// calendar's end panicked half-way through `market init`).
fn expiry(timestamp_secs: Option<i64>) -> Result<Expiry> {
    timestamp_secs.map_or_else(|| Ok(Expiry::default()), Expiry::with_timestamp_secs)
}

fn split(package: &str) -> (String, Option<String>) {
    match package.split_once('@') {
        Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
        None => (package.to_owned(), None),
    }
}

/// What a command did: `value` with `--json`, else `text`.
fn said(json: bool, value: serde_json::Value, text: impl FnOnce() -> String) -> Result<ExitCode> {
    if json {
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        outln!("{}", text())?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(paths: &Paths, command: MarketCommand) -> Result<ExitCode> {
    match command {
        MarketCommand::Init { dir, timestamp_secs, json } => {
            let registry = Registry::init(&dir, expiry(timestamp_secs)?).await?;
            let value = serde_json::json!({
                "dir": dir,
                "serve": dir.join("repository"),
                "root": registry.root_file(),
                "keys": dir.join("keys"),
            });
            said(json, value, || {
                format!(
                    "created the registry in {d}\n  serve:      {d}/repository/ (any static host)\n  root:       {} (give it to users; config `root`)\n  keys:       {d}/keys/ (private: never serve or commit them)",
                    registry.root_file().display(),
                    d = dir.display()
                )
            })
        }
        MarketCommand::Check { folder, json } => {
            let report = registry::check(&folder)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&report.certification)?)?;
            } else {
                for check in &report.certification.checks {
                    outln!("{} {}: {}", if check.passed { "ok  " } else { "FAIL" }, check.name, check.detail)?;
                }
                for warning in &report.warnings {
                    outln!("warn {warning}")?;
                }
            }
            Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        MarketCommand::Pack { folder, output, json } => {
            let bytes = crate::services::market::archive::pack(&folder)?;
            let report = registry::check(&folder)?;
            let name = crate::services::market::target_name(&report.manifest.id, &report.manifest.metadata.version);
            let output = output.unwrap_or_else(|| PathBuf::from(&name));
            std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
            let value = serde_json::json!({"file": output, "bytes": bytes.len()});
            said(json, value, || format!("{} ({} bytes)", output.display(), bytes.len()))
        }
        MarketCommand::Publish { folder, registry, publisher, daemon, timestamp_secs, key, json } => {
            let target = Registry::open(&registry)?;
            let (bytes, mut meta, report) = registry::pack_checked(&folder, "", &daemon)?;
            meta.publisher = publisher_of(&target, &meta.name, publisher, key.as_deref()).await?;
            for warning in &report.warnings {
                errln!("warn {warning}");
            }
            let meta = match key {
                Some(key) => target.publish_as(&key, &bytes, meta, expiry(timestamp_secs)?).await?,
                None => target.publish(&bytes, meta, expiry(timestamp_secs)?).await?,
            };
            let value = serde_json::json!({
                "name": meta.name,
                "version": meta.version,
                "publisher": meta.publisher,
                "bytes": bytes.len(),
                "certification": registry::level(meta.certification.as_ref()),
                "registry": registry,
            });
            said(json, value, || {
                format!(
                    "published {}@{} by {} ({} bytes, {}) to {}",
                    meta.name,
                    meta.version,
                    meta.publisher,
                    bytes.len(),
                    registry::level(meta.certification.as_ref()),
                    registry.display()
                )
            })
        }
        MarketCommand::Yank { package, registry, .. } | MarketCommand::Curate { package, registry, .. }
            if !package.contains('@') =>
        {
            bail!("{package}: say which version, as NAME@VERSION (registry {})", registry.display())
        }
        MarketCommand::Yank { package, registry, json } => {
            let (name, version) = split(&package);
            let version = version.unwrap_or_default();
            Registry::open(&registry)?.amend(&name, &version, Expiry::default(), |m| m.yanked = true).await?;
            let value = serde_json::json!({"name": name, "version": version, "yanked": true});
            said(json, value, || format!("yanked {name}@{version}"))
        }
        MarketCommand::Curate { package, registry, json } => {
            let (name, version) = split(&package);
            let version = version.unwrap_or_default();
            Registry::open(&registry)?.amend(&name, &version, Expiry::default(), |m| m.curated = true).await?;
            let value = serde_json::json!({"name": name, "version": version, "curated": true});
            said(json, value, || format!("curated {name}@{version}"))
        }
        MarketCommand::Stats { package, registry, downloads, stars, ratings, json } => {
            let (name, Some(version)) = split(&package) else {
                bail!("{package}: say which version, as NAME@VERSION");
            };
            if let (Some(stars), Some(ratings)) = (stars, ratings)
                && stars > ratings.saturating_mul(5)
            {
                bail!("{stars} stars from {ratings} ratings is more than five stars each");
            }
            let meta = Registry::open(&registry)?
                .amend(&name, &version, Expiry::default(), |m| {
                    if let Some(downloads) = downloads {
                        m.downloads = downloads;
                    }
                    if let (Some(stars), Some(count)) = (stars, ratings) {
                        m.rating = crate::services::market::SignedRating { stars, count };
                    }
                })
                .await?;
            let rating = meta.rating.shown();
            let value = serde_json::json!({
                "name": name, "version": version, "downloads": meta.downloads, "rating": rating,
            });
            said(json, value, || {
                format!(
                    "{name}@{version}: {} downloads, {:.1} stars from {} ratings",
                    meta.downloads, rating.average, rating.count
                )
            })
        }
        MarketCommand::Resign { registry, timestamp_secs, json } => resign(&registry, timestamp_secs, json).await,
        MarketCommand::Refresh { registry: Some(folder), timestamp_secs, json }
            if Path::new(&folder).join("repository/metadata/timestamp.json").is_file() =>
        {
            if !json {
                errln!("note: re-signing the registry folder {folder}; this is `paired market resign`");
            }
            resign(Path::new(&folder), timestamp_secs, json).await
        }
        MarketCommand::Refresh { timestamp_secs: Some(_), .. } => {
            bail!(
                "--timestamp-secs re-signs a registry folder: `paired market resign --registry DIR --timestamp-secs N`"
            )
        }
        MarketCommand::Refresh { registry, json, .. } => {
            let refreshed = refresh(paths, registry.as_deref()).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&refreshed)?)?;
            } else {
                for r in &refreshed {
                    match &r.error {
                        None => outln!("{}: {} packages, verified", r.registry, r.packages)?,
                        Some(why) => errln!("warn {why}"),
                    }
                }
            }
            let failed = refreshed.iter().any(|r| r.error.is_some());
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        MarketCommand::Search { query, registry, refresh: again, json } => {
            if again {
                warn_failed(&refresh(paths, registry.as_deref()).await?);
            }
            let connection = client::connect_or_start(paths).await?;
            let found =
                client::call::<wire::Search>(&connection.client, &SearchParams { query, registry, limit: None })
                    .await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&found)?)?;
            } else {
                for warning in &found.warnings {
                    errln!("warn {warning}");
                }
                if found.packages.is_empty() {
                    outln!("no package matches")?;
                }
                for p in &found.packages {
                    outln!("{}", line(p))?;
                    if !p.description.is_empty() {
                        outln!("    {}", p.description)?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Recommend { workspace, json } => {
            let folder = match workspace {
                Some(folder) => folder,
                None => std::env::current_dir()?,
            };
            let folder =
                std::fs::canonicalize(&folder).with_context(|| format!("{}: no such folder", folder.display()))?;
            let connection = client::connect_or_start(paths).await?;
            let add = protocol::context::AddWorkspaceParams { folder: folder.display().to_string(), wait: true };
            client::call::<protocol::context::AddWorkspace>(&connection.client, &add).await?;
            let params = wire::RecommendParams { workspace: Some(folder.display().to_string()), limit: None };
            let found = client::call::<wire::Recommend>(&connection.client, &params).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&found)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            for line in &found.context {
                outln!("for {line}")?;
            }
            for warning in &found.warnings {
                errln!("warn {warning}");
            }
            if found.packages.is_empty() {
                outln!("nothing to recommend")?;
            }
            for r in &found.packages {
                outln!("{}", line(&r.package))?;
                for reason in &r.reasons {
                    outln!("    {reason}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Info { name, refresh: again, json } => {
            if again {
                warn_failed(&refresh(paths, None).await?);
            }
            let connection = client::connect_or_start(paths).await?;
            let info = client::call::<wire::Info>(&connection.client, &PackageRef { name, registry: None }).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&info)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            let p = &info.latest;
            outln!("{}", line(p))?;
            outln!("    {}", p.description)?;
            if !p.capabilities.is_empty() {
                outln!("capabilities: {}", p.capabilities.join(", "))?;
            }
            outln!(
                "may: {}",
                if p.permissions.is_empty() { "nothing beyond answering".to_owned() } else { p.permissions.join("; ") }
            )?;
            outln!(
                "checked: {}",
                if p.certified {
                    "tested (its manifest and permissions were reviewed, and its test cases ran and passed)"
                } else {
                    "not tested (no test cases of its own ran and passed)"
                }
            )?;
            outln!("publisher: {}", if p.publisher.is_empty() { "unknown" } else { p.publisher.as_str() })?;
            let versions: Vec<String> = info
                .versions
                .iter()
                .map(|v| format!("{}{}", v.version, if v.yanked { " (yanked)" } else { "" }))
                .collect();
            outln!("versions: {}", versions.join(", "))?;
            if let Some(installed) = &info.installed {
                outln!("installed: {}", installed.version)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Install { package, registry, yes, json } => {
            let (name, version) = split(&package);
            let params =
                InstallParams { name, version, registry, accept_permissions: false, permissions: None, licence: None };
            install::<wire::Install>(paths, params, yes, json).await
        }
        MarketCommand::Update { name, yes, json } => {
            let params = InstallParams {
                name,
                version: None,
                registry: None,
                accept_permissions: false,
                permissions: None,
                licence: None,
            };
            install::<wire::Update>(paths, params, yes, json).await
        }
        MarketCommand::Remove { name, json } => {
            let connection = client::connect_or_start(paths).await?;
            let removed =
                client::call::<wire::Remove>(&connection.client, &PackageRef { name, registry: None }).await?;
            said(json, serde_json::to_value(&removed)?, || format!("removed {}", removed.name))
        }
        MarketCommand::Rollback { name, json } => {
            let connection = client::connect_or_start(paths).await?;
            let back = client::call::<wire::Rollback>(&connection.client, &PackageRef { name, registry: None }).await?;
            said(json, serde_json::to_value(&back)?, || format!("{} is back at {}", back.name, back.version))
        }
        MarketCommand::Publisher { command: PublisherCommand::Init { name, out, json } } => {
            let files = registry::publisher_init(&out, &name).await?;
            said(json, serde_json::to_value(&files)?, || {
                format!(
                    "publisher {}:\n  send:  {} (your public key and role) to the registry's maintainer (`paired market publisher add --from`)\n  keep:  {} (your private signing key, {}): never send, serve or commit it; publish with `--key {}`",
                    files.name,
                    files.public.display(),
                    files.private.display(),
                    files.key.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    files.key.display()
                )
            })
        }
        MarketCommand::Publisher { command: PublisherCommand::Add { registry, name, from, json } } => {
            Registry::open(&registry)?.add_publisher(&name, &from, Expiry::default()).await?;
            let value = serde_json::json!({"publisher": name, "packages": format!("{name}-*"), "registry": registry});
            said(json, value, || format!("{name} now signs the packages named {name}-… in {}", registry.display()))
        }
        MarketCommand::License { command: LicenseCommand::Issue { registry, agent, licensee, seconds, json } } => {
            let token = Registry::open(&registry)?.issue_licence(&agent, &licensee, seconds).await?;
            let value = serde_json::json!({"agent": agent, "licensee": licensee, "token": token});
            said(json, value, || token.clone())
        }
        MarketCommand::License { command: LicenseCommand::Add { agent, token, json } } => {
            let name = crate::services::market::check_name(&agent).map_err(anyhow::Error::msg)?;
            crate::services::market::licence::save_token(&paths.data_dir, &name, &token)?;
            said(json, serde_json::json!({"agent": name, "kept": true}), || {
                format!("kept the licence for {name}: it is verified at install and before every run")
            })
        }
        MarketCommand::Usage { json } => {
            let connection = client::connect_or_start(paths).await?;
            let rows = client::call::<wire::Usage>(&connection.client, &NoParams {}).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&rows)?)?;
            } else if rows.is_empty() {
                outln!("no agent installed from a marketplace")?;
            } else {
                for r in &rows {
                    outln!(
                        "{}@{} ({}, {}): {} runs, {} succeeded, {} tokens",
                        r.name,
                        r.version,
                        r.publisher,
                        r.pricing,
                        r.runs,
                        r.succeeded,
                        r.tokens
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Installed { json } => {
            let connection = client::connect_or_start(paths).await?;
            let all = client::call::<wire::ListInstalled>(&connection.client, &NoParams {}).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&all)?)?;
            } else if all.is_empty() {
                outln!("no agent installed from a marketplace")?;
            } else {
                for i in &all {
                    let kept =
                        if i.kept.is_empty() { String::new() } else { format!(" (kept: {})", i.kept.join(", ")) };
                    outln!("{}@{} from {}{kept}", i.name, i.version, i.registry)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn resign(registry: &Path, timestamp_secs: Option<i64>, json: bool) -> Result<ExitCode> {
    Registry::open(registry)?.refresh(expiry(timestamp_secs)?).await?;
    said(json, serde_json::json!({"resigned": registry}), || format!("re-signed {}", registry.display()))
}

/// Who publishes a package: as given (a package name's rules), else whoever
/// published its earlier versions here, else the name of the delegated key.
/// Never empty: users are shown it when asked to grant permissions.
async fn publisher_of(target: &Registry, package: &str, given: Option<String>, key: Option<&Path>) -> Result<String> {
    let from_key = key.and_then(|k| k.file_stem()).map(|s| s.to_string_lossy().into_owned());
    let name = match given {
        Some(name) => name,
        None => match target.owner(package).await?.filter(|o| !o.is_empty()) {
            Some(owner) => owner,
            None => from_key.with_context(|| {
                format!(
                    "say who publishes {package}: --publisher NAME (users see it when asked to grant its permissions)"
                )
            })?,
        },
    };
    crate::services::market::check_name(&name).map_err(|why| anyhow::anyhow!("--publisher: {why}"))
}

/// One registry's refresh, as `paired market refresh --json` says it.
#[derive(Debug, serde::Serialize)]
struct Refreshed {
    registry: String,
    packages: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Fetches and verifies the configured registries' metadata now, as the
/// daemon would (same pinned roots, same trusted state in the data folder),
/// and saves their indexes: the daemon uses a saved index as soon as it
/// changes, so search and info show a publish or a yank at once.
async fn refresh(paths: &Paths, only: Option<&str>) -> Result<Vec<Refreshed>> {
    // The daemon's configuration: the user's file and the environment, no project's.
    let market = crate::fronts::cli::common::load_layers(paths, None)?.config.market;
    if market.registries.is_empty() {
        bail!("no agent registry is configured: add a [[market.registries]] entry (name, url, root) to config.toml");
    }
    let chosen: Vec<_> = market.registries.iter().filter(|r| only.is_none_or(|n| r.name == n)).collect();
    if chosen.is_empty() {
        bail!("no registry named {:?} is configured", only.unwrap_or(""));
    }
    let deadline = std::time::Duration::from_secs(u64::from(market.fetch_timeout_secs));
    let mut done = Vec::new();
    for registry in chosen {
        let result = crate::services::market::remote::refresh(registry, &paths.data_dir, deadline).await;
        done.push(match result {
            Ok((_, index)) => {
                Refreshed { registry: registry.name.clone(), packages: index.packages.len(), error: None }
            }
            Err(err) => Refreshed { registry: registry.name.clone(), packages: 0, error: Some(format!("{err:#}")) },
        });
    }
    Ok(done)
}

fn warn_failed(refreshed: &[Refreshed]) {
    for why in refreshed.iter().filter_map(|r| r.error.as_ref()) {
        errln!("warn {why}");
    }
}

fn line(p: &PackageSummary) -> String {
    let mut tags = vec![p.pricing.clone()];
    if p.certified {
        tags.push("tested".into());
    }
    if p.curated {
        tags.push("curated".into());
    }
    if p.rating.count > 0 {
        tags.push(format!("★ {:.1} ({})", p.rating.average, p.rating.count));
    }
    if !p.compatible {
        tags.push(format!("needs daemon {}", p.daemon));
    }
    if let Some(installed) = &p.installed {
        tags.push(format!("installed {installed}"));
    }
    format!("{}@{} [{}] {}", p.name, p.version, p.registry, tags.join(" · "))
}

/// Installs (or updates) through the daemon: shows its progress, asks for
/// consent to the agent's permissions when it needs it, and calls again.
async fn install<M>(paths: &Paths, mut params: InstallParams, yes: bool, json: bool) -> Result<ExitCode>
where
    M: protocol::Method<Params = InstallParams, Result = Installed>,
{
    let connection = client::connect_or_start(paths).await?;
    let hello = ClientHello {
        kind: ClientKind::Cli,
        name: "paired market".into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        pid: Some(std::process::id()),
        workspace_folders: Vec::new(),
    };
    let mut events: jsonrpsee::core::client::Subscription<Event> =
        connection.client.subscribe(Attach::SUBSCRIBE, ByName(&hello), Attach::UNSUBSCRIBE).await?;
    // A bar on a terminal; elsewhere (a log, CI, an editor's task) plain lines.
    let terminal = !json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let bar = if terminal { indicatif::ProgressBar::new(0) } else { indicatif::ProgressBar::hidden() };
    let mut lines = PlainProgress::default();
    let mut listening = true;
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:12} [{bar:30}] {bytes}/{total_bytes}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut asked = 0;
    loop {
        let result = {
            let call = connection.client.request::<Installed, _>(M::NAME, ByName(&params));
            tokio::pin!(call);
            loop {
                // Every event is taken here and the others skipped: a pattern in the
                // branch itself would disable it at the first other event (such as
                // this client's own attach), silencing the progress (issue #15).
                tokio::select! {
                    result = &mut call => break result,
                    event = events.next(), if listening => match event {
                        Some(Ok(Event::MarketProgress { name, phase, done, total })) if name == params.name => {
                            if !terminal {
                                lines.show(&name, &phase, done, total);
                            }
                            bar.set_message(phase);
                            bar.set_length(total);
                            bar.set_position(done);
                        }
                        Some(_) => {}
                        None => listening = false,
                    },
                }
            }
        };
        match result {
            Ok(installed) => {
                bar.finish_and_clear();
                if json {
                    outln!("{}", serde_json::to_string_pretty(&installed)?)?;
                } else {
                    outln!("installed {}@{} from {}", installed.name, installed.version, installed.registry)?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            Err(jsonrpsee::core::client::Error::Call(call))
                if call.code() == errors::NEEDS_CONSENT && !asked_twice(&mut asked) =>
            {
                bar.finish_and_clear();
                let data: serde_json::Value =
                    call.data().and_then(|raw| serde_json::from_str(raw.get()).ok()).unwrap_or_default();
                let lines: Vec<String> = data["permissions"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                let version = data["version"].as_str().unwrap_or("?").to_owned();
                let registry = data["registry"].as_str().unwrap_or("?").to_owned();
                // What the installed version was granted: the rest is new.
                let granted: Option<Vec<&str>> =
                    data["granted"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect());
                let publisher = data["publisher"].as_str().filter(|p| !p.is_empty()).unwrap_or("unknown");
                errln!(
                    "{}@{version} from registry {registry} (publisher {}) will be allowed to{}:",
                    params.name,
                    crate::services::market::shown(publisher),
                    if granted.is_some() { " (+ new, - granted before)" } else { "" }
                );
                for line in &lines {
                    match &granted {
                        Some(granted) if !granted.contains(&line.as_str()) => {
                            errln!("  + {} (new)", crate::services::market::shown(line))
                        }
                        _ => errln!("  - {}", crate::services::market::shown(line)),
                    }
                }
                if !yes && !confirm("Grant these permissions and install?")? {
                    bail!("not installed: the permissions were not granted");
                }
                // Consent covers exactly this: the daemon asks again if any of it changed.
                params.accept_permissions = true;
                params.version = Some(version);
                params.registry = Some(registry);
                params.permissions = Some(lines);
            }
            Err(jsonrpsee::core::client::Error::Call(call)) => bail!("{}: {}", M::NAME, call.message()),
            Err(other) => bail!("{}: {other}", M::NAME),
        }
    }
}

/// Progress as plain lines, when there is no terminal for a bar: each phase
/// once, and the download at every tenth.
#[derive(Default)]
struct PlainProgress {
    phase: String,
    tenth: u64,
}

impl PlainProgress {
    fn show(&mut self, name: &str, phase: &str, done: u64, total: u64) {
        let tenth = (done.min(total) * 10).checked_div(total).unwrap_or(0);
        if phase != self.phase {
            (self.phase, self.tenth) = (phase.to_owned(), tenth);
        } else if phase != "download" || tenth == self.tenth {
            return;
        } else {
            self.tenth = tenth;
        }
        if phase == "download" && total > 0 {
            errln!("{name}: download {done}/{total} bytes ({}%)", done.min(total) * 100 / total);
        } else {
            errln!("{name}: {phase}");
        }
    }
}

fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("the agent asks for permissions and there is no terminal to ask: pass --yes to grant them");
    }
    errout!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// The user is asked at most twice (once more if what they accepted changed
/// before the install); a third change is an error.
fn asked_twice(asked: &mut u32) -> bool {
    *asked += 1;
    *asked > 2
}
