//! `paired-hub`: a team's hub (`paired hub` runs it). See `docs/team.md`.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "paired hub",
    bin_name = "paired hub",
    version,
    about = "A team's PAIRED hub: organisation, teams, roles, tokens, audit, on PostgreSQL"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the hub's API (every replica runs this, against the same database).
    Serve(Box<ServeArgs>),
    /// Make the Ed25519 key policies are signed with (PKCS#8, readable by you alone).
    Keygen {
        /// Where to write it; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the organisation's agent registry as static files, for a web server or
    /// an object store (run it on a schedule: it re-signs what is about to expire).
    ExportRegistry {
        #[arg(long, env = "PAIRED_HUB_DATABASE_URL")]
        database_url: String,
        #[arg(long, env = "PAIRED_HUB_ORG")]
        org: String,
        /// The policy key file the replicas use (the registry's keys are sealed under it).
        #[arg(long, env = "PAIRED_HUB_POLICY_KEY_FILE")]
        policy_key_file: PathBuf,
        /// The folder to write: `root.json` and `repository/` (serve the latter as is).
        #[arg(long)]
        out: PathBuf,
    },
    /// Apply the database migrations and exit (replicas also do this at start).
    Migrate {
        #[arg(long, env = "PAIRED_HUB_DATABASE_URL")]
        database_url: String,
    },
}

/// `paired hub serve`'s flags (each also an environment variable).
#[derive(clap::Args)]
struct ServeArgs {
    /// PostgreSQL connection string: `postgres://user@host/db` or `host=/run/postgresql dbname=hub`.
    #[arg(long, env = "PAIRED_HUB_DATABASE_URL")]
    database_url: String,
    /// Where to listen; loopback unless the hub is meant to be reached from elsewhere (then behind a TLS proxy).
    #[arg(long, env = "PAIRED_HUB_LISTEN", default_value = "127.0.0.1:8440")]
    listen: SocketAddr,
    /// The organisation this hub serves; created on first start.
    #[arg(long, env = "PAIRED_HUB_ORG")]
    org: String,
    /// A file holding the break-glass admin token (at least 32 characters), for first setup.
    #[arg(long, env = "PAIRED_HUB_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// The URL members reach the hub at (invitation links); default: the listen address.
    #[arg(long, env = "PAIRED_HUB_PUBLIC_URL")]
    public_url: Option<String>,
    /// Database connections per replica.
    #[arg(long, env = "PAIRED_HUB_POOL_SIZE", default_value_t = 16)]
    pool_size: usize,
    /// The Ed25519 key policies are signed with (`paired hub keygen`); the same file on every replica.
    #[arg(long, env = "PAIRED_HUB_POLICY_KEY_FILE")]
    policy_key_file: Option<PathBuf>,
    /// How long a signed policy holds while a daemon cannot reach the hub.
    #[arg(long, env = "PAIRED_HUB_POLICY_TTL_HOURS", default_value_t = 24)]
    policy_ttl_hours: u32,
    /// Requests a second per token (bursts of twice that; a tenth per address without a token).
    #[arg(long, env = "PAIRED_HUB_RATE_LIMIT", default_value_t = 200)]
    rate_limit: u32,
    /// The OpenID Connect issuer people sign in with (its discovery document is read at start).
    #[arg(long, env = "PAIRED_HUB_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_client_secret_file"])]
    oidc_issuer: Option<String>,
    /// The hub's client id at the identity provider (redirect URI: PUBLIC_URL/auth/callback).
    #[arg(long, env = "PAIRED_HUB_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// A file holding the client secret.
    #[arg(long, env = "PAIRED_HUB_OIDC_CLIENT_SECRET_FILE")]
    oidc_client_secret_file: Option<PathBuf>,
    /// The ID token claim listing the user's groups (teams follow groups).
    #[arg(long, env = "PAIRED_HUB_OIDC_GROUPS_CLAIM", default_value = "groups")]
    oidc_groups_claim: String,
    /// Serve HTTPS with this certificate chain (PEM), when no proxy in front terminates TLS.
    #[arg(long, env = "PAIRED_HUB_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "PAIRED_HUB_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl ServeArgs {
    fn config(self) -> hub::Config {
        let oidc = match (self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret_file) {
            (Some(issuer), Some(client_id), Some(client_secret_file)) => Some(hub::oidc::OidcConfig {
                issuer,
                client_id,
                client_secret_file,
                groups_claim: self.oidc_groups_claim,
            }),
            _ => None,
        };
        hub::Config {
            database_url: self.database_url,
            listen: self.listen,
            org: self.org,
            admin_token_file: self.admin_token_file,
            public_url: self.public_url,
            pool_size: self.pool_size,
            policy_key_file: self.policy_key_file,
            policy_ttl_hours: self.policy_ttl_hours,
            rate_limit: self.rate_limit,
            oidc,
            tls: self.tls_cert.zip(self.tls_key),
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAIRED_HUB_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("paired hub: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => hub::serve(args.config(), shutdown()).await,
            Command::Keygen { out } => keygen(&out),
            Command::ExportRegistry { database_url, org, policy_key_file, out } => {
                export_registry(&database_url, &org, &policy_key_file, &out).await
            }
            Command::Migrate { database_url } => hub::db::migrate(&hub::db::pool(&database_url, 1)?).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("paired hub: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn export_registry(
    database_url: &str,
    org: &str,
    key_file: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let pool = hub::db::pool(database_url, 2)?;
    let org_id: i64 = pool
        .get()
        .await?
        .query_opt("select id from orgs where name = $1", &[&org])
        .await?
        .with_context(|| format!("this database has no organisation {org:?}"))?
        .get(0);
    let key = std::fs::read(key_file).with_context(|| format!("reading {}", key_file.display()))?;
    let sealing = hub::registry::Sealing::derive(&key);
    let files = hub::registry::export(&pool, &sealing, org_id, out).await?;
    println!("wrote {files} files: serve {}/repository/; users pin {}/root.json", out.display(), out.display());
    Ok(())
}

fn keygen(out: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let key = policy::signed::generate().map_err(anyhow::Error::msg)?;
    let public = policy::signed::SigningKey::from_pkcs8(&key).map_err(anyhow::Error::msg)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|err| anyhow::anyhow!("cannot create {}: {err}", out.display()))?;
    file.write_all(&key)?;
    file.sync_all()?;
    println!("wrote {} (key id {})", out.display(), policy::signed::key_id(public.public_key()));
    Ok(())
}

/// Ctrl-C or SIGTERM (what a container runtime sends): stop taking
/// connections, finish the requests in flight.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}
