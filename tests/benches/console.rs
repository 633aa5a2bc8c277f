//! The console's dashboard queries over a million usage events (issue #21.5):
//! the real daemon, its SQLite database seeded with 1,000,000 events over a
//! year (12 agents, 6 models, runs/workflows/completions), every console API
//! a page calls, timed over loopback HTTP with a session cookie; beside two
//! floors in the same run — an API call that reads nothing (`about`) and one
//! plain scan of the raw events (what a dashboard without the daily rollups
//! would pay at least) — and the first page's time to interactive in
//! headless Chromium.
//!
//! Run: `cargo bench -p tests --bench console` (with `PAIRED_BIN` set to a
//! built `paired`, release for the figures in docs/benchmarks.md). Knobs:
//! `PAIRED_BENCH_EVENTS` (1000000), `PAIRED_BENCH_ROUNDS` (20).

use std::time::{Duration, Instant};

use tests::{
    Home,
    console::{PRICED_CONFIG, api, browse_first_page, sign_in},
};

const AGENTS: [&str; 12] = [
    "alex",
    "sherlock",
    "edison",
    "leonardo",
    "maya",
    "vince",
    "marie",
    "review",
    "docs",
    "acme/lint",
    "acme/sec",
    "completion",
];
const MODELS: [(&str, &str); 6] =
    [("cloud", "big"), ("cloud", "small"), ("local", "llama"), ("cloud", "mid"), ("other", "x1"), ("other", "x2")];

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn seed(home: &Home, events: usize) -> Duration {
    let began = Instant::now();
    let mut db = rusqlite::Connection::open(home.database()).expect("database");
    db.busy_timeout(Duration::from_secs(30)).expect("busy timeout");
    let now = jiff::Timestamp::now().as_millisecond();
    let tx = db.transaction().expect("transaction");
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO usage_events (id, source, at_ms, kind, agent, provider, model, tokens_in, tokens_out,
                     latency_ms, outcome, findings, edits)
                 VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .expect("prepare");
        for i in 0..events {
            let kind = match i % 10 {
                0..=5 => "completion",
                6..=8 => "run",
                _ => "workflow",
            };
            let agent = if kind == "completion" { "completion" } else { AGENTS[i % 11] };
            let (provider, model) = MODELS[(i / 7) % MODELS.len()];
            let at = now - (i % 365) as i64 * 86_400_000 - (i % 86_400) as i64 * 1000;
            insert
                .execute(rusqlite::params![
                    format!("e{i}"),
                    at,
                    kind,
                    agent,
                    provider,
                    model,
                    (i * 31 % 4000) as i64,
                    (i * 17 % 900) as i64,
                    (50 + i * 7919 % 5000) as i64,
                    if i % 37 == 0 { "failed" } else { "succeeded" },
                    (i % 3) as i64,
                    (i % 2) as i64
                ])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    began.elapsed()
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.95), at(1.0))
}

fn main() {
    let events = knob("PAIRED_BENCH_EVENTS", 1_000_000);
    let rounds = knob("PAIRED_BENCH_ROUNDS", 20);
    let home = Home::new();
    home.write_config(PRICED_CONFIG);
    let _daemon = home.start_daemon();
    let took = seed(&home, events);
    println!("seeded {events} events (rollups by trigger) in {:.1} s", took.as_secs_f64());
    let cookie = sign_in(&home);
    let queries = [
        "about",
        "overview?days=30",
        "overview?days=365",
        "usage?days=30&by=agent",
        "usage?days=365&by=agent",
        "usage?days=365&by=model&agent=sherlock",
        "usage?days=365&by=provider&format=csv",
        "cost?days=365",
        "runs?limit=100",
        "audit?limit=200",
    ];
    println!("\n| query | p50 | p95 | max |\n|---|---|---|---|");
    for query in queries {
        let samples: Vec<Duration> = (0..rounds)
            .map(|_| {
                let began = Instant::now();
                let reply = api(&home, &cookie, query);
                assert_eq!(reply.status, 200, "{query}: {reply:?}");
                began.elapsed()
            })
            .collect();
        let (p50, p95, max) = stats(samples);
        println!("| `{query}` | {p50:.1} ms | {p95:.1} ms | {max:.1} ms |");
    }
    // The floor: one scan of the raw events, as a dashboard without rollups would.
    let db = rusqlite::Connection::open(home.database()).expect("database");
    let samples: Vec<Duration> = (0..rounds.min(5))
        .map(|_| {
            let began = Instant::now();
            let _: (i64, i64) = db
                .query_row("SELECT count(*), sum(tokens_in) FROM usage_events WHERE at_ms > 0", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .expect("scan");
            began.elapsed()
        })
        .collect();
    let (p50, p95, max) = stats(samples);
    println!("| floor: one scan of the raw events (SQLite, in process) | {p50:.1} ms | {p95:.1} ms | {max:.1} ms |");
    // The first page in a real browser: sign-in link to the overview drawn.
    let samples: Vec<Duration> = (0..5).map(|_| browse_first_page(&home)).collect();
    let (p50, p95, max) = stats(samples);
    println!(
        "\nfirst page interactive (Chromium, sign-in link → overview with its charts): p50 {p50:.0} ms, p95 {p95:.0} ms, max {max:.0} ms"
    );
}
