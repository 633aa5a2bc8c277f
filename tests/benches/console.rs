//! The console's dashboard queries over a million usage events (issue #21.5):
//! the real daemon, its SQLite database seeded with 1,000,000 events over a
//! year (12 agents, 6 models, runs/workflows/completions), every console API
//! a page calls, timed over loopback HTTP with a session cookie; beside two
//! floors in the same run — an API call that reads nothing (`about`) and one
//! plain scan of the raw events (what a dashboard without the daily rollups
//! would pay at least) — and the first page's time to interactive in
//! headless Chromium.
//!
//! Then the same for the team console on the hub: PostgreSQL seeded with
//! 1,000,000 events of 50 members in two teams (one statement, so the rollup
//! trigger sees them as the batches daemons send), every console API of an
//! admin's session.
//!
//! Run: `cargo bench -p tests --bench console` (with `PAIRED_BIN` set to a
//! built `paired`, `paired-hub` beside it; release for the figures in
//! docs/benchmarks.md). Knobs: `PAIRED_BENCH_EVENTS` (1000000),
//! `PAIRED_BENCH_ROUNDS` (20).

use std::time::{Duration, Instant};

use tests::{
    Home,
    console::{PRICED_CONFIG, api, browse_first_page, sign_in},
    hub::Hub,
    postgres::Postgres,
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

/// Times `rounds` of each query (`call` returns the status), as a Markdown table.
fn time_queries(queries: &[&str], rounds: usize, call: impl Fn(&str) -> u16) {
    println!("\n| query | p50 | p95 | max |\n|---|---|---|---|");
    for query in queries {
        let samples: Vec<Duration> = (0..rounds)
            .map(|_| {
                let began = Instant::now();
                assert_eq!(call(query), 200, "{query}");
                began.elapsed()
            })
            .collect();
        let (p50, p95, max) = stats(samples);
        println!("| `{query}` | {p50:.1} ms | {p95:.1} ms | {max:.1} ms |");
    }
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.95), at(1.0))
}

fn main() {
    let events = knob("PAIRED_BENCH_EVENTS", 1_000_000);
    let rounds = knob("PAIRED_BENCH_ROUNDS", 20);
    if std::env::var_os("PAIRED_BENCH_HUB_ONLY").is_some() {
        return hub(events, rounds);
    }
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
    time_queries(&queries, rounds, |query| api(&home, &cookie, query).status);
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
    hub(events, rounds);
}

/// The team console over `events` usage events in PostgreSQL.
fn hub(events: usize, rounds: usize) {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "consolebench");
    // `host=… user=… dbname=NAME`
    let database = hub.database_url.rsplit("dbname=").next().unwrap_or("").trim().to_owned();
    let began = Instant::now();
    pg.sql(
        &database,
        &format!(
            "insert into teams (org_id, name) select id, t from orgs, unnest(array['engineering', 'operations']) t;
             insert into members (org_id, email, display_name, role, email_verified)
               select o.id, 'm' || g || '@example.com', 'Member ' || g, case when g = 1 then 'admin' else 'member' end, true
                 from orgs o, generate_series(1, 50) g;
             insert into team_members (team_id, member_id)
               select t.id, m.id from members m
                 join teams t on t.name = case when m.id % 2 = 0 then 'engineering' else 'operations' end;
             insert into prices (org_id, provider, model, input_per_mtok, output_per_mtok)
               select id, 'cloud', m, p, p * 3 from orgs, (values ('big', 10.0), ('small', 0.5)) as x(m, p);
             insert into usage_events (org_id, member_id, team_ids, event_id, at, kind, agent, provider, model,
                                       tokens_in, tokens_out, cost_usd, latency_ms, outcome, findings, edits)
               select m.org_id, m.id, array[(select team_id from team_members where member_id = m.id)], 'e' || g,
                      now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second',
                      (array['completion', 'completion', 'completion', 'run', 'run', 'workflow'])[g % 6 + 1],
                      (array['alex', 'sherlock', 'edison', 'leonardo', 'maya', 'vince', 'marie', 'review', 'docs',
                             'acme/lint', 'acme/sec'])[g % 11 + 1],
                      'cloud', (array['big', 'small', 'mid'])[g / 7 % 3 + 1], g * 31 % 4000, g * 17 % 900,
                      (g * 31 % 4000) * 0.00001, 50 + g * 7919 % 5000,
                      case when g % 37 = 0 then 'failed' else 'succeeded' end, g % 3, g % 2
                 from generate_series(1::int8, {events}::int8) g
                 join members m on m.email = 'm' || (g % 50 + 1) || '@example.com';
             insert into console_sessions (id_hash, org_id, member_id, expires_at)
               select sha256('bench-session'::bytea), org_id, id, now() + interval '1 hour'
                 from members where email = 'm1@example.com';
             update members set role = 'team_lead' where email = 'm2@example.com';
             insert into console_sessions (id_hash, org_id, member_id, expires_at)
               select sha256('bench-lead'::bytea), org_id, id, now() + interval '1 hour'
                 from members where email = 'm2@example.com';
             insert into console_sessions (id_hash, org_id, member_id, expires_at)
               select sha256('bench-own'::bytea), org_id, id, now() + interval '1 hour'
                 from members where email = 'm3@example.com';
             analyze;"
        ),
    );
    let rollups = pg.sql(&database, "select count(*) from usage_daily");
    println!(
        "\nhub: seeded {events} events of 50 members (one statement; {rollups} rollup rows) in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let host = format!("127.0.0.1:{}", hub.port);
    let queries = [
        "about",
        "overview?days=30",
        "overview?days=365",
        "usage?days=30&by=agent",
        "usage?days=365&by=agent",
        "usage?days=365&by=member",
        "usage?days=365&by=team&agent=sherlock",
        "usage?days=365&by=model&format=csv",
        "cost?days=365",
        "team",
        "audit?limit=200",
        // A team lead sees their team: the per-member rollups, filtered.
        "lead: overview?days=365",
        "lead: usage?days=365&by=member",
        "lead: usage?days=365&by=agent",
        "lead: cost?days=365",
        // A member sees their own: their rows of the per-member rollups.
        "own: overview?days=365",
        "own: usage?days=365&by=agent",
        "own: cost?days=365",
    ];
    time_queries(&queries, rounds, |query| {
        let (cookie, query) = match query.split_once(": ") {
            Some(("lead", query)) => ("paired_hub_console=bench-lead", query),
            Some(("own", query)) => ("paired_hub_console=bench-own", query),
            _ => ("paired_hub_console=bench-session", query),
        };
        let headers = [("Host", host.as_str()), ("Cookie", cookie)];
        tests::http(hub.port, "GET", &format!("/console/api/{query}"), &headers, "").status
    });
}
