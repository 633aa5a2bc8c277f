//! The real `paired-hub` for the tests: started on a database of its own,
//! listening on a free loopback port, with a break-glass admin token.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use serde_json::Value;

use crate::{HttpReply, http, paired_bin, postgres::Postgres};

/// The `paired-hub` binary beside the `paired` under test.
pub fn hub_bin() -> PathBuf {
    let bin = paired_bin().with_file_name("paired-hub");
    assert!(bin.exists(), "{} is missing: `cargo build -p hub`", bin.display());
    bin
}

pub struct Hub {
    pub port: u16,
    pub admin: String,
    pub database_url: String,
    child: Child,
    _token_dir: tempfile::TempDir,
}

impl Hub {
    /// A hub for `org` on a new database of `pg`.
    pub fn start(pg: &Postgres, org: &str) -> Hub {
        let url = pg.database(org);
        Hub::start_on(&url, org)
    }

    /// Another replica on the same database.
    pub fn start_on(database_url: &str, org: &str) -> Hub {
        Hub::start_at(database_url, org, 0)
    }

    /// A hub with its environment changed (`PAIRED_HUB_RATE_LIMIT`, …).
    pub fn start_with(pg: &Postgres, org: &str, env: &[(&str, &str)]) -> Hub {
        Hub::start_with_port(pg, org, 0, env)
    }

    /// A hub on `port` (one an identity provider already knows as its redirect).
    pub fn start_with_port(pg: &Postgres, org: &str, port: u16, env: &[(&str, &str)]) -> Hub {
        let url = pg.database(org);
        Hub::spawn(&url, org, port, env)
    }

    /// The hub again, on the same database and port (a restart daemons see as
    /// the same hub).
    pub fn restart(&mut self, org: &str) {
        self.stop();
        *self = Hub::start_at(&self.database_url.clone(), org, self.port);
    }

    fn start_at(database_url: &str, org: &str, port: u16) -> Hub {
        Hub::spawn(database_url, org, port, &[])
    }

    fn spawn(database_url: &str, org: &str, port: u16, env: &[(&str, &str)]) -> Hub {
        let dir = tempfile::tempdir().expect("temp dir");
        let admin = "break-glass-0123456789abcdefghijklmnopqrstuvwxyz".to_owned();
        let file = dir.path().join("admin-token");
        std::fs::write(&file, &admin).expect("write the admin token");
        let key = policy_key(database_url);
        let mut child = Command::new(hub_bin())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--org", org, "--database-url", database_url])
            .arg("--admin-token-file")
            .arg(&file)
            .arg("--policy-key-file")
            .arg(&key)
            // Tests make requests faster than people; the rate-limit test sets its own.
            .env("PAIRED_HUB_RATE_LIMIT", "100000")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start paired-hub");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read the hub's address");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the hub did not say where it listens: {line:?}"));
        Hub { port, admin, database_url: database_url.to_owned(), child, _token_dir: dir }
    }

    /// A request with `token` as bearer (none when empty).
    pub fn call(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> HttpReply {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![("Host", "hub.test"), ("Content-Type", "application/json")];
        if !token.is_empty() {
            headers.push(("Authorization", &bearer));
        }
        let body = body.map(Value::to_string).unwrap_or_default();
        http(self.port, method, path, &headers, &body)
    }

    /// A request whose body is `body`, of type `kind` (an agent package, say).
    pub fn send(&self, method: &str, path: &str, token: &str, kind: &str, body: &[u8]) -> HttpReply {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![("Host", "hub.test"), ("Content-Type", kind)];
        if !token.is_empty() {
            headers.push(("Authorization", &bearer));
        }
        crate::http_bytes(self.port, method, path, &headers, body)
    }

    /// Stops the hub as a container runtime would (SIGTERM).
    pub fn stop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// A port free now (for a server whose address another must know before it starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A real OpenID Connect provider (`tests/oidc/idp.mjs`, node-oidc-provider) on
/// loopback, whose client `paired-hub` redirects to `redirect`.
pub struct IdentityProvider {
    pub issuer: String,
    pub accounts: PathBuf,
    pub secret_file: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl IdentityProvider {
    pub fn start(redirect: &str, accounts: &Value) -> IdentityProvider {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("accounts.json");
        std::fs::write(&file, accounts.to_string()).expect("accounts");
        let secret_file = dir.path().join("client-secret");
        std::fs::write(&secret_file, "hub-client-secret-0123456789").expect("secret");
        let port = free_port();
        let script = oidc_dir().join("idp.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .arg(port.to_string())
            .arg(redirect)
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the identity provider (node; `npm ci` in tests/oidc)");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdout.read_line(&mut line).expect("read");
        assert!(line.contains("idp listening"), "the identity provider did not start: {line:?}");
        // Kept read: a provider writing to a closed pipe would die of it.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        IdentityProvider { issuer: format!("http://127.0.0.1:{port}"), accounts: file, secret_file, child, _dir: dir }
    }

    /// Who signs in next, and the accounts.
    pub fn set_accounts(&self, accounts: &Value) {
        std::fs::write(&self.accounts, accounts.to_string()).expect("accounts");
    }
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/oidc`: the identity provider and the browser script.
pub fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// A browser's sign-in from `url` (redirects and cookies followed,
/// `tests/oidc/browser.mjs`): the final status and page.
pub fn browse(url: &str) -> (u16, String) {
    let out =
        Command::new("node").arg(oidc_dir().join("browser.mjs")).arg(url).output().expect("run the browser script");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, page) = text.split_once('\n').unwrap_or((&text, ""));
    (status.trim().parse().unwrap_or(0), page.to_owned())
}

/// A sign-in started from `url` in one browser, stopped where the identity
/// provider sends it back to the hub: the callback address (code and state).
pub fn sign_in_until_callback(url: &str) -> String {
    let out = Command::new("node")
        .arg(oidc_dir().join("browser.mjs"))
        .args([url, "--stop-at", "/auth/callback"])
        .output()
        .expect("run the browser script");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The policy signing key of the hubs on `database_url`: one per database, so
/// replicas and restarts sign with the same key, as they would in production.
pub fn policy_key(database_url: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("paired-hub-test-keys");
    std::fs::create_dir_all(&dir).expect("key folder");
    let name: String = database_url.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let key = dir.join(format!("{name}.key"));
    if !key.exists() {
        let out = Command::new(hub_bin()).arg("keygen").arg("--out").arg(&key).output().expect("paired-hub keygen");
        assert!(out.status.success() || key.exists(), "keygen: {out:?}");
    }
    key
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
