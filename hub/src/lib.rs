//! `paired hub`: a team's server. Stateless: any number of replicas serve one
//! organisation from the same PostgreSQL database, where all state and all
//! coordination live (in transactions). See `docs/team.md`.
//!
//! `api/` holds the HTTP endpoints (one file per area), `auth.rs` who is asking,
//! `roles.rs` what they may do, `audit.rs` the record of what they did,
//! `db.rs` the pool and the versioned migrations, `secret.rs` tokens and codes.

pub mod api;
pub mod audit;
pub mod auth;
pub mod console;
pub mod db;
pub mod error;
pub mod limits;
pub mod oidc;
pub mod registry;
pub mod roles;
pub mod secret;
pub mod tls;

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context as _;

/// How a hub is started (the `paired-hub serve` flags).
#[derive(Debug, Clone)]
pub struct Config {
    /// A PostgreSQL connection string (`postgres://…` or `host=… dbname=…`).
    pub database_url: String,
    pub listen: SocketAddr,
    /// The organisation this hub serves (created on first start).
    pub org: String,
    /// A file holding the break-glass admin token (for first setup and for
    /// when SSO is down); every use of it is in the audit log.
    pub admin_token_file: Option<PathBuf>,
    /// The address members reach the hub at, for invitation links.
    pub public_url: Option<String>,
    pub pool_size: usize,
    /// The Ed25519 key (PKCS#8) policies are signed with (`paired hub keygen`);
    /// every replica has the same one. Without it the hub serves no policy.
    pub policy_key_file: Option<PathBuf>,
    /// How long a signed policy holds without the hub (daemons renew it well before).
    pub policy_ttl_hours: u32,
    /// Requests a second one token may make (twice that in a burst; a tenth per address without one).
    pub rate_limit: u32,
    /// Sign-in with an OpenID Connect identity provider.
    pub oidc: Option<oidc::OidcConfig>,
    /// Serve HTTPS with this certificate chain and key (PEM), when no proxy terminates TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// What every handler shares.
#[derive(Clone)]
pub struct Hub {
    pub pool: db::Pool,
    pub org: i64,
    pub admin_token: Option<secret::Hash>,
    pub public_url: String,
    pub signing: Option<std::sync::Arc<policy::signed::SigningKey>>,
    /// Seals the agent registry's keys (derived from the policy key file).
    pub sealing: Option<std::sync::Arc<registry::Sealing>>,
    pub policy_ttl: jiff::SignedDuration,
    pub oidc: Option<std::sync::Arc<oidc::Oidc>>,
}

impl Hub {
    /// Connects, migrates, and makes sure the organisation exists.
    pub async fn open(config: &Config) -> anyhow::Result<Hub> {
        let pool = db::pool(&config.database_url, config.pool_size)?;
        db::migrate(&pool).await.context("migrating the database")?;
        let org = db::ensure_org(&pool, &config.org).await.context("creating the organisation")?;
        let admin_token = match &config.admin_token_file {
            Some(path) => Some(secret::read_admin_token(path)?),
            None => None,
        };
        if admin_token.is_none() && !db::has_admin(&pool, org).await? {
            anyhow::bail!(
                "the organisation {:?} has no admin yet: start the hub with --admin-token-file FILE \
                 (a random token of at least 32 characters, e.g. `head -c 32 /dev/urandom | base64 > FILE`) \
                 and invite the first admin with it",
                config.org
            );
        }
        let (signing, sealing) = match &config.policy_key_file {
            Some(path) => {
                let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let key = policy::signed::SigningKey::from_pkcs8(&bytes).map_err(|err| {
                    anyhow::anyhow!("{}: {err}; make one with `paired hub keygen --out FILE`", path.display())
                })?;
                (Some(std::sync::Arc::new(key)), Some(std::sync::Arc::new(registry::Sealing::derive(&bytes))))
            }
            None => (None, None),
        };
        anyhow::ensure!((1..=24 * 30).contains(&config.policy_ttl_hours), "--policy-ttl-hours must be 1 to 720");
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("{scheme}://{}", config.listen));
        let public_url = public_url.trim_end_matches('/').to_owned();
        let oidc = match &config.oidc {
            Some(settings) => Some(std::sync::Arc::new(oidc::Oidc::discover(settings, &public_url).await?)),
            None => None,
        };
        Ok(Hub {
            pool,
            org,
            admin_token,
            public_url,
            signing,
            sealing,
            oidc,
            policy_ttl: jiff::SignedDuration::from_hours(i64::from(config.policy_ttl_hours)),
        })
    }
}

/// Serves the hub until `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    // The address taken (port 0: the one the system chose) is the default public one.
    let config = Config { listen: local, ..config };
    let hub = Hub::open(&config).await?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    tracing::info!(%local, org = %config.org, scheme, "paired hub listening");
    let app = api::router(hub.clone())
        .merge(console::router(hub))
        .layer(axum::middleware::from_fn_with_state(limits::Limits::new(config.rate_limit), limits::limit));
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    match &config.tls {
        Some((cert, key)) => {
            let acceptor = tls::acceptor(cert, key)?;
            let listener = axum::serve::ListenerExt::tap_io(tls::TlsListener::new(listener, acceptor)?, |_| {});
            // Tests and scripts read the port from the first line of output.
            println!("paired hub listening on {scheme}://{local}");
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
        }
        None => {
            println!("paired hub listening on {scheme}://{local}");
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
        }
    }
    Ok(())
}
