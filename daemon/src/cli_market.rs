//! `paired market …`: the publisher's commands (a registry folder and its
//! keys, on this machine) and the user's (through the daemon, which verifies
//! and installs).

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::{
    io::{BufRead, IsTerminal, Write},
    path::PathBuf,
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

use crate::cli::{errln, errout, outln};
use crate::{
    client::{self, ByName},
    market::registry::{self, Expiry, Registry},
    paths::Paths,
};

#[derive(Debug, Subcommand)]
pub enum MarketCommand {
    /// Create a registry in DIR: keys (keep them private), a signed root, an empty repository to serve.
    Init {
        dir: PathBuf,
        /// How long the timestamp signature holds, in seconds (default a week).
        #[arg(long, allow_negative_numbers = true)]
        timestamp_secs: Option<i64>,
    },
    /// Run the Quality Assurance Pipeline on an agent folder: manifest, name, version, permissions, its test cases.
    Check {
        folder: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Pack an agent folder into a reproducible .tgz.
    Pack {
        folder: PathBuf,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check, pack and add an agent folder to a registry, and re-sign it.
    Publish {
        folder: PathBuf,
        /// The registry folder (made by `paired market init`).
        #[arg(long)]
        registry: PathBuf,
        #[arg(long, default_value = "")]
        publisher: String,
        /// Daemon versions the agent works with (semver requirement).
        #[arg(long, default_value = ">=2.0.0-alpha, <3")]
        daemon: String,
        #[arg(long, allow_negative_numbers = true)]
        timestamp_secs: Option<i64>,
        /// Sign as a delegated publisher with this key (`paired market publisher init`):
        /// the registry's targets key is then not needed.
        #[arg(long, requires = "publisher")]
        key: Option<PathBuf>,
    },
    /// Publishers with their own keys (TUF delegations).
    Publisher {
        #[command(subcommand)]
        command: PublisherCommand,
    },
    /// Mark NAME@VERSION yanked: no longer installed by default.
    Yank {
        package: String,
        #[arg(long)]
        registry: PathBuf,
    },
    /// Mark NAME@VERSION as reviewed by a maintainer.
    Curate {
        package: String,
        #[arg(long)]
        registry: PathBuf,
    },
    /// Record a version's downloads and ratings (as the marketplace's web side counts them), and re-sign.
    Stats {
        package: String,
        #[arg(long)]
        registry: PathBuf,
        #[arg(long)]
        downloads: Option<u64>,
        /// Sum of all the stars given (with --ratings, how many gave them).
        #[arg(long, requires = "ratings")]
        stars: Option<u64>,
        #[arg(long, requires = "stars")]
        ratings: Option<u64>,
    },
    /// Re-sign a registry with fresh expiries (before its timestamp runs out).
    Refresh {
        #[arg(long)]
        registry: PathBuf,
        #[arg(long, allow_negative_numbers = true)]
        timestamp_secs: Option<i64>,
    },
    /// Search the configured registries.
    Search {
        #[arg(default_value = "")]
        query: String,
        #[arg(long)]
        registry: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Packages for a project, from its languages and frameworks (default: the current directory).
    Recommend {
        #[arg(long)]
        workspace: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// A package's versions and what it may do.
    Info {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Verify and install NAME or NAME@VERSION.
    Install {
        package: String,
        #[arg(long)]
        registry: Option<String>,
        /// Grant the permissions the agent asks for without asking.
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Install the newest compatible version of an installed package.
    Update {
        name: String,
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed package.
    Remove { name: String },
    /// Go back to the previously active version.
    Rollback { name: String },
    /// Installed packages.
    Installed {
        #[arg(long)]
        json: bool,
    },
    /// Runs per installed marketplace agent (for usage billing and revenue sharing).
    Usage {
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
    /// (Publisher side) make a signing key and an empty role for NAME in DIR.
    Init {
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// (Registry side) delegate the package names `NAME-*` to the publisher whose files are in FROM.
    Add {
        #[arg(long)]
        registry: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// (Registry side) sign a licence for AGENT, bound to a user or `org:<domain>`.
    Issue {
        #[arg(long)]
        registry: PathBuf,
        #[arg(long)]
        agent: String,
        #[arg(long)]
        licensee: String,
        /// How long it holds.
        #[arg(long, default_value_t = 365 * 24 * 3600, allow_negative_numbers = true)]
        seconds: i64,
    },
    /// (User side) keep a licence token for AGENT; verified at install and before every run.
    Add { agent: String, token: String },
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

async fn run(paths: &Paths, command: MarketCommand) -> Result<ExitCode> {
    match command {
        MarketCommand::Init { dir, timestamp_secs } => {
            let registry = Registry::init(&dir, expiry(timestamp_secs)?).await?;
            outln!("created the registry in {}", dir.display())?;
            outln!("  serve:      {}/repository/ (any static host)", dir.display())?;
            outln!("  root:       {} (give it to users; config `root`)", registry.root_file().display())?;
            outln!("  keys:       {}/keys/ (private: never serve or commit them)", dir.display())?;
            Ok(ExitCode::SUCCESS)
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
        MarketCommand::Pack { folder, output } => {
            let bytes = crate::market::archive::pack(&folder)?;
            let report = registry::check(&folder)?;
            let name = crate::market::target_name(&report.manifest.id, &report.manifest.metadata.version);
            let output = output.unwrap_or_else(|| PathBuf::from(&name));
            std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
            outln!("{} ({} bytes)", output.display(), bytes.len())?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Publish { folder, registry, publisher, daemon, timestamp_secs, key } => {
            let target = Registry::open(&registry)?;
            let (bytes, meta, report) = registry::pack_checked(&folder, &publisher, &daemon)?;
            for warning in &report.warnings {
                errln!("warn {warning}");
            }
            let meta = match key {
                Some(key) => target.publish_as(&key, &bytes, meta, expiry(timestamp_secs)?).await?,
                None => target.publish(&bytes, meta, expiry(timestamp_secs)?).await?,
            };
            outln!("published {}@{} ({} bytes) to {}", meta.name, meta.version, bytes.len(), registry.display())?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Yank { package, registry } | MarketCommand::Curate { package, registry }
            if !package.contains('@') =>
        {
            bail!("{package}: say which version, as NAME@VERSION (registry {})", registry.display())
        }
        MarketCommand::Yank { package, registry } => {
            let (name, version) = split(&package);
            let version = version.unwrap_or_default();
            Registry::open(&registry)?.amend(&name, &version, Expiry::default(), |m| m.yanked = true).await?;
            outln!("yanked {name}@{version}")?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Curate { package, registry } => {
            let (name, version) = split(&package);
            let version = version.unwrap_or_default();
            Registry::open(&registry)?.amend(&name, &version, Expiry::default(), |m| m.curated = true).await?;
            outln!("curated {name}@{version}")?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Stats { package, registry, downloads, stars, ratings } => {
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
                        m.rating = crate::market::SignedRating { stars, count };
                    }
                })
                .await?;
            let rating = meta.rating.shown();
            outln!(
                "{name}@{version}: {} downloads, {:.1} stars from {} ratings",
                meta.downloads,
                rating.average,
                rating.count
            )?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Refresh { registry, timestamp_secs } => {
            Registry::open(&registry)?.refresh(expiry(timestamp_secs)?).await?;
            outln!("re-signed {}", registry.display())?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Search { query, registry, json } => {
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
        MarketCommand::Info { name, json } => {
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
        MarketCommand::Remove { name } => {
            let connection = client::connect_or_start(paths).await?;
            let removed =
                client::call::<wire::Remove>(&connection.client, &PackageRef { name, registry: None }).await?;
            outln!("removed {}", removed.name)?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Rollback { name } => {
            let connection = client::connect_or_start(paths).await?;
            let back = client::call::<wire::Rollback>(&connection.client, &PackageRef { name, registry: None }).await?;
            outln!("{} is back at {}", back.name, back.version)?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Publisher { command: PublisherCommand::Init { name, out } } => {
            let key = registry::publisher_init(&out, &name).await?;
            outln!("publisher {name}: key {} (private: keep it)", key.display())?;
            outln!("give {} to the registry's maintainer (`paired market publisher add`)", out.display())?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::Publisher { command: PublisherCommand::Add { registry, name, from } } => {
            Registry::open(&registry)?.add_publisher(&name, &from, Expiry::default()).await?;
            outln!("{name} now signs the packages named {name}-… in {}", registry.display())?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::License { command: LicenseCommand::Issue { registry, agent, licensee, seconds } } => {
            let token = Registry::open(&registry)?.issue_licence(&agent, &licensee, seconds).await?;
            outln!("{token}")?;
            Ok(ExitCode::SUCCESS)
        }
        MarketCommand::License { command: LicenseCommand::Add { agent, token } } => {
            let name = crate::market::check_name(&agent).map_err(anyhow::Error::msg)?;
            crate::market::licence::save_token(&paths.data_dir, &name, &token)?;
            outln!("kept the licence for {name}: it is verified at install and before every run")?;
            Ok(ExitCode::SUCCESS)
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

fn line(p: &PackageSummary) -> String {
    let mut tags = vec![p.pricing.clone()];
    if p.certified {
        tags.push("certified".into());
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
    let bar = if json || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    };
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
                tokio::select! {
                    result = &mut call => break result,
                    Some(Ok(Event::MarketProgress { name, phase, done, total })) = events.next() => {
                        if name == params.name {
                            bar.set_message(phase);
                            bar.set_length(total);
                            bar.set_position(done);
                        }
                    }
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
                errln!(
                    "{}@{version} from registry {registry} (publisher {}) will be allowed to:",
                    params.name,
                    crate::market::shown(data["publisher"].as_str().unwrap_or("?"))
                );
                for line in &lines {
                    errln!("  - {}", crate::market::shown(line));
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
