//! The web console's test kit: usage history seeded into a daemon's database,
//! signing in as `paired console` does, and the browser script
//! (`tests/browser/console.mjs`, Playwright driving Debian's Chromium).

use std::{path::PathBuf, process::Command, time::Duration};

use serde_json::Value;

use crate::Home;

/// The config the seeded history is priced with: a cloud provider with a
/// dear and a cheap model (nothing calls it), and a local one left unpriced.
pub const PRICED_CONFIG: &str = "[providers.cloud]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"big\"\n\
     [providers.cloud.prices]\nbig = { input_per_mtok = 10.0, output_per_mtok = 30.0 }\n\
     small = { input_per_mtok = 0.5, output_per_mtok = 1.5 }\n";

/// Waits out UTC midnight when it is less than `margin` away: the console's
/// weeks and days are whole UTC days, so a page shown before midnight and the
/// API asked after it count different days (a test comparing the two failed
/// so in CI at 00:00).
pub fn clear_of_midnight(margin: Duration) {
    let now = jiff::Timestamp::now().as_second();
    let to_midnight = 86_400 - now.rem_euclid(86_400);
    if (to_midnight as u64) < margin.as_secs() {
        std::thread::sleep(Duration::from_secs(to_midnight as u64 + 1));
    }
}

/// Writes `days` days of usage (today back), as the daemon's three writers
/// would have: agents on the dear and the cheap model, completions, workflows,
/// some failures, a local model without a price. Deterministic.
pub fn seed_usage(home: &Home, days: i64) -> usize {
    let db = rusqlite::Connection::open(home.database()).expect("database");
    db.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
    let now = jiff::Timestamp::now().as_millisecond();
    let mut count = 0;
    let tx = db.unchecked_transaction().expect("transaction");
    for d in 0..days {
        let at = now - d * 86_400_000 - 3_600_000;
        let mut add = |agent: &str,
                       kind: &str,
                       provider: Option<&str>,
                       model: Option<&str>,
                       i: i64,
                       tokens: (i64, i64),
                       latency: i64,
                       failed: bool,
                       findings: i64,
                       edits: i64| {
            tx.execute(
                "INSERT INTO usage_events (id, source, at_ms, kind, agent, provider, model, tokens_in, tokens_out,
                     latency_ms, outcome, findings, edits)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                rusqlite::params![
                    format!("seed-{d}-{agent}-{i}"),
                    format!("seed-run-{d}-{agent}-{i}"),
                    at - i * 60_000,
                    kind,
                    agent,
                    provider,
                    model,
                    tokens.0,
                    tokens.1,
                    latency,
                    if failed { "failed" } else { "succeeded" },
                    findings,
                    edits
                ],
            )
            .expect("seed event");
            count += 1;
        };
        for i in 0..3 + d % 4 {
            add("sherlock", "run", Some("cloud"), Some("big"), i, (4000, 600), 900 + 37 * i, (d + i) % 9 == 0, 2, 0);
        }
        for i in 0..2 + d % 3 {
            add("edison", "run", Some("cloud"), Some("small"), i, (2500, 900), 1500 + 50 * i, false, 0, 1);
        }
        if d % 2 == 0 {
            add("maya", "run", Some("local"), Some("llama"), 0, (1200, 300), 2400, false, 3, 0);
        }
        for i in 0..20 + d % 7 {
            add(
                "completion",
                "completion",
                Some("cloud"),
                Some("small"),
                i,
                (300, 20),
                120 + 3 * i,
                i % 25 == 24,
                0,
                0,
            );
        }
        if d % 3 == 0 {
            add("review", "workflow", None, None, 0, (0, 0), 4200, false, 0, 0);
        }
    }
    tx.commit().expect("commit");
    count
}

/// A console session: its cookie's value and the secret path the console
/// lives under for it (`/console/SECRET/`).
pub struct Signed {
    pub cookie: String,
    pub base: String,
}

/// Signs in as `paired console` does (a one-time code over JSON-RPC, traded
/// on the console's page).
pub fn sign_in(home: &Home) -> Signed {
    let login = home.call::<protocol::console::Login>(protocol::NoParams {});
    let port = home.port();
    let base = login
        .url
        .split_once(&format!("127.0.0.1:{port}"))
        .map(|(_, path)| path.to_owned())
        .expect("the console's path");
    let origin = format!("http://127.0.0.1:{port}");
    let host = format!("127.0.0.1:{port}");
    let body = format!("{{\"code\":\"{}\"}}", login.code);
    let reply = crate::http(
        port,
        "POST",
        &format!("{base}api/session"),
        &[("Host", &host), ("Origin", &origin), ("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    Signed { cookie: cookie_of(&reply.head).expect("a session cookie"), base }
}

/// The `paired_console` cookie a reply sets.
pub fn cookie_of(head: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .find_map(|c| c.strip_prefix("paired_console=")?.split(';').next().map(str::to_owned))
}

/// `GET` the console API's `path` with the session.
pub fn api(home: &Home, signed: &Signed, path: &str) -> crate::HttpReply {
    let port = home.port();
    let host = format!("127.0.0.1:{port}");
    let cookie = format!("paired_console={}", signed.cookie);
    crate::http(port, "GET", &format!("{}api/{path}", signed.base), &[("Host", &host), ("Cookie", &cookie)], "")
}

/// `paired console` with `$BROWSER` set to a script that notes what it was
/// asked to open: that target, and the address the command printed.
pub fn paired_console(home: &Home) -> (String, String) {
    let noted = home.path().join("browser-opened");
    let script = home.path().join("browser.sh");
    std::fs::write(&script, format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", noted.display())).expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    // What an earlier call noted is not this call's (the browser starts after the command returns).
    let _ = std::fs::remove_file(&noted);
    let out = home.paired(&["console"]).env("BROWSER", &script).output().expect("paired console");
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stderr).to_string();
    let address = printed.split_whitespace().find(|w| w.starts_with("http://")).expect("the address").to_owned();
    let target = crate::poll_for("the browser to be started", Duration::from_secs(10), || {
        std::fs::read_to_string(&noted).ok().filter(|t| !t.is_empty())
    });
    (target, address)
}

/// `tests/browser`: the Playwright scripts.
pub fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Runs `tests/browser/console.mjs` with `options`: what the browser saw.
pub fn browse(options: &Value) -> Value {
    let out = Command::new("node")
        .arg(browser_dir().join("console.mjs"))
        .arg(options.to_string())
        .output()
        .expect("run the browser script (node; `npm ci` in tests/browser)");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("the browser script printed no report ({e}): {}", String::from_utf8_lossy(&out.stderr))
    });
    assert!(out.status.success() && report.get("failure").is_none(), "the browser failed: {}", report["failure"]);
    report
}

/// How long the first page takes in Chromium: from opening the sign-in link
/// (`paired console`'s) to the overview drawn with its charts.
pub fn browse_first_page(home: &Home) -> Duration {
    let login = home.call::<protocol::console::Login>(protocol::NoParams {});
    let url = format!("{}#login={}", login.url, login.code);
    let out = Command::new("node")
        .arg(browser_dir().join("first-page.mjs"))
        .arg(&url)
        .output()
        .expect("run the browser script (node; `npm ci` in tests/browser)");
    let text = String::from_utf8_lossy(&out.stdout);
    let ms: f64 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("first-page.mjs: {text} {}", String::from_utf8_lossy(&out.stderr)));
    Duration::from_secs_f64(ms / 1e3)
}
