//! The pool and the versioned migrations. Every replica runs `migrate` at its
//! start; an advisory lock held for the migration's transaction makes the
//! replicas take turns, and DDL is transactional in PostgreSQL, so a migration
//! is applied whole, once, or not at all.

use std::str::FromStr as _;

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use tokio_postgres::NoTls;

pub type Pool = deadpool_postgres::Pool;

/// The migrations, in order; a migration is never edited once released (a new
/// one is added instead): `hub_migrations` records what each database has.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "organisation", include_str!("../migrations/0001_organisation.sql")),
    (2, "usage", include_str!("../migrations/0002_usage.sql")),
    (3, "policy", include_str!("../migrations/0003_policy.sql")),
    (4, "quotas", include_str!("../migrations/0004_quotas.sql")),
    (5, "sso", include_str!("../migrations/0005_sso.sql")),
    (6, "verified", include_str!("../migrations/0006_verified.sql")),
    (7, "console", include_str!("../migrations/0007_console.sql")),
    (8, "console_org", include_str!("../migrations/0008_console_org.sql")),
    (9, "console_rollups", include_str!("../migrations/0009_console_rollups.sql")),
    (10, "registry", include_str!("../migrations/0010_registry.sql")),
    (11, "rejected", include_str!("../migrations/0011_rejected.sql")),
    (12, "registry_owners", include_str!("../migrations/0012_registry_owners.sql")),
];

/// Any constant: the key of the advisory lock migrations take.
const MIGRATION_LOCK: i64 = 0x7061_6972_6564; // "paired"

pub fn pool(url: &str, size: usize) -> anyhow::Result<Pool> {
    let config = tokio_postgres::Config::from_str(url).context("the database URL is not valid")?;
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Ok(Pool::builder(manager).max_size(size.max(1)).build()?)
}

/// Applies the migrations this database lacks; refuses a database migrated by
/// a newer hub.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let mut client = pool.get().await.context("connecting to PostgreSQL")?;
    let tx = client.transaction().await?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(
        "create table if not exists hub_migrations (
             version integer primary key,
             name text not null,
             applied_at timestamptz not null default now())",
    )
    .await?;
    let newest: Option<i32> = tx.query_one("select max(version) from hub_migrations", &[]).await?.get(0);
    let newest = newest.unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    anyhow::ensure!(
        newest <= known,
        "the database is at migration {newest}, newer than this hub knows ({known}): upgrade the hub"
    );
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > newest) {
        tx.batch_execute(sql).await.with_context(|| format!("migration {version} ({name})"))?;
        tx.execute("insert into hub_migrations (version, name) values ($1, $2)", &[&version, &name]).await?;
        tracing::info!(version, name, "migrated");
    }
    tx.commit().await?;
    Ok(())
}

/// The organisation's id, creating it the first time.
pub async fn ensure_org(pool: &Pool, name: &str) -> anyhow::Result<i64> {
    let client = pool.get().await?;
    client.execute("insert into orgs (name) values ($1) on conflict (name) do nothing", &[&name]).await?;
    Ok(client.query_one("select id from orgs where name = $1", &[&name]).await?.get(0))
}

pub async fn has_admin(pool: &Pool, org: i64) -> anyhow::Result<bool> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "select exists (select 1 from members where org_id = $1 and role = 'admin' and status = 'active')",
            &[&org],
        )
        .await?;
    Ok(row.get(0))
}
