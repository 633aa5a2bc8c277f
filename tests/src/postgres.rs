//! A real PostgreSQL for the hub's tests: the cluster `scripts/test` started
//! (`PAIRED_TEST_PG_HOST`, its socket folder), or one of this process's own in a
//! temporary folder, from Debian's `postgresql` package (`initdb` and
//! `postgres` under `/usr/lib/postgresql/*/bin`). It listens only on a Unix
//! socket in its folder: no port to collide on. As root, the server runs as the
//! package's `postgres` user (PostgreSQL refuses to run as root).
//!
//! Each test gets a database of its own ([`Postgres::database`]).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

pub struct Postgres {
    socket_dir: PathBuf,
    server: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

/// The superuser the clusters are made with.
const SUPERUSER: &str = "postgres";

impl Postgres {
    /// The suite's shared cluster, or a new one of this process's own.
    pub fn get() -> Postgres {
        match std::env::var_os("PAIRED_TEST_PG_HOST") {
            Some(host) => Postgres { socket_dir: PathBuf::from(host), server: None, _dir: None },
            None => Postgres::start(),
        }
    }

    /// A new cluster in a temporary folder, started and accepting connections.
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new().prefix("paired-pg").tempdir().expect("a temporary folder");
        let data = dir.path().join("data");
        let owner = server_user();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster folder");
        }
        let status = as_server_user(owner, &bin("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
            .stdout(Stdio::null())
            .status()
            .expect("run initdb (is Debian's postgresql package installed?)");
        assert!(status.success(), "initdb failed");
        let server = as_server_user(owner, &bin("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .args(["-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=300"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let pg = Postgres { socket_dir: dir.path().to_owned(), server: Some(server), _dir: Some(dir) };
        pg.wait_ready();
        pg
    }

    /// The folder of the server's socket (`host=` of a connection string).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// A new empty database; its connection string.
    pub fn database(&self, hint: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{}_{}_{}",
            hint.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.sql("postgres", &format!("create database {name}"));
        self.url(&name)
    }

    pub fn url(&self, database: &str) -> String {
        format!("host={} user={SUPERUSER} dbname={database}", self.socket_dir.display())
    }

    /// Runs `sql` in `database` with psql; its output (unaligned, tuples only).
    pub fn sql(&self, database: &str, sql: &str) -> String {
        let out = Command::new(bin("psql"))
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-U", SUPERUSER, "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = Command::new(bin("pg_isready"))
                .arg("-h")
                .arg(&self.socket_dir)
                .args(["-U", SUPERUSER, "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(server) = &mut self.server {
            // SIGINT: PostgreSQL's fast shutdown.
            send_signal(server.id(), libc::SIGINT);
            let _ = server.wait();
        }
    }
}

fn send_signal(pid: u32, signal: i32) {
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
}

/// A PostgreSQL program: on `PATH`, or the newest of Debian's.
pub fn bin(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin").join(name))
        .filter(|path| path.exists())
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| PathBuf::from(name))
}

/// The `postgres` user's uid and gid when we are root (PostgreSQL will not run as root).
fn server_user() -> Option<(u32, u32)> {
    if current_uid() != 0 {
        return None;
    }
    let out = Command::new("id").args(["-u", SUPERUSER]).output().ok()?;
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let out = Command::new("id").args(["-g", SUPERUSER]).output().ok()?;
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some((uid, gid))
}

fn current_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(u32::MAX)
}

fn as_server_user(owner: Option<(u32, u32)>, program: &Path) -> Command {
    use std::os::unix::process::CommandExt as _;
    let mut command = Command::new(program);
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    command
}
