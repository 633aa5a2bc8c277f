//! The team hub under load (issue #20.7): 1,000 simulated daemons send usage
//! batches while 50 dashboard queries run, against one hub replica and then
//! two on the same PostgreSQL — ingest latency, throughput, and every event
//! counted exactly once though a share of the batches is sent twice (as a
//! daemon does when an answer is lost).
//!
//! Run: `cargo bench -p tests --bench hub` (builds the release binaries; with
//! them built, `PAIRED_BIN=$PWD/target/release/paired` skips that). Knobs:
//! `PAIRED_BENCH_DAEMONS` (1000), `PAIRED_BENCH_BATCHES` (2 per daemon),
//! `PAIRED_BENCH_EVENTS` (100 per batch), `PAIRED_BENCH_SECONDS` (40: the
//! paced run's window).
//!
//! Two runs per replica count: *paced* — each daemon's batches at its own
//! moments in the window (2 × 1,000 batches in 40 s is 50 a second, three times
//! what 1,000 daemons pushing every 60 s send) — for latency; and *flat out* —
//! every batch at once — for capacity.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tests::{hub::Hub, postgres::Postgres};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

struct Outcome {
    ingest: Vec<Duration>,
    dashboards: Vec<Duration>,
    events_sent: usize,
    elapsed: Duration,
    failures: usize,
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let daemons = knob("PAIRED_BENCH_DAEMONS", 1000);
    let batches = knob("PAIRED_BENCH_BATCHES", 2);
    let events = knob("PAIRED_BENCH_EVENTS", 100);
    let window = Duration::from_secs(knob("PAIRED_BENCH_SECONDS", 40) as u64);
    let pg = Postgres::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut rows = Vec::new();
    for replicas in [1usize, 2] {
        let url = pg.database(&format!("bench{replicas}"));
        let hubs: Vec<Hub> = (0..replicas).map(|_| Hub::start_on(&url, "bench")).collect();
        let tokens = runtime.block_on(members(&hubs[0], daemons));
        let db = url.rsplit("dbname=").next().unwrap_or("").to_owned();
        for (label, paced) in [("paced", true), ("flat out", false)] {
            pg.sql(&db, "truncate usage_events");
            let outcome = runtime.block_on(load(&hubs, &tokens, batches, events, paced.then_some(window)));
            let recorded: usize = pg.sql(&db, "select count(*) from usage_events").parse().unwrap_or(0);
            let distinct: usize =
                pg.sql(&db, "select count(distinct (member_id, event_id)) from usage_events").parse().unwrap_or(0);
            let mut ingest = outcome.ingest;
            let mut dashboards = outcome.dashboards;
            rows.push(vec![
                format!("{replicas} replica{}, {label}", if replicas == 1 { "" } else { "s" }),
                format!("{} batches", ingest.len()),
                ms(percentile(&mut ingest, 0.5)),
                ms(percentile(&mut ingest, 0.99)),
                if paced {
                    format!("offered {:.0} events/s", outcome.events_sent as f64 / window.as_secs_f64())
                } else {
                    format!("{:.0} events/s", outcome.events_sent as f64 / outcome.elapsed.as_secs_f64())
                },
                format!("{} / {}", ms(percentile(&mut dashboards, 0.5)), ms(percentile(&mut dashboards, 0.95))),
                format!("{} lost, {} twice", outcome.events_sent.saturating_sub(recorded), recorded - distinct),
                outcome.failures.to_string(),
            ]);
        }
        drop(hubs);
    }
    println!(
        "\n{daemons} daemons × {batches} batches × {events} events; 1 batch in 10 sent twice; 50 dashboard queries alongside\n"
    );
    println!(
        "| run | ingest requests | ingest p50 | ingest p99 | throughput | dashboard p50 / p95 | exactly once | failed requests |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

/// `count` members, each with a device token (invited and joined through the API).
async fn members(hub: &Hub, count: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", hub.port);
    let admin = hub.admin.clone();
    let mut tasks = Vec::new();
    for i in 0..count {
        let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let invite: Value = client
                .post(format!("{base}/api/v1/invitations"))
                .bearer_auth(&admin)
                .json(&json!({"role": "member", "email": format!("dev{i}@example.com")}))
                .send()
                .await
                .expect("invite")
                .json()
                .await
                .expect("json");
            let joined: Value = client
                .post(format!("{base}/api/v1/join"))
                .json(&json!({"code": invite["code"], "device": format!("laptop-{i}")}))
                .send()
                .await
                .expect("join")
                .json()
                .await
                .expect("json");
            joined["token"].as_str().expect("token").to_owned()
        }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.expect("member"));
    }
    tokens
}

fn batch(daemon: usize, number: usize, events: usize) -> Value {
    let agents = ["sherlock", "edison", "alex", "maya", "leonardo"];
    let now = jiff::Timestamp::now().to_string();
    let events: Vec<Value> = (0..events)
        .map(|e| {
            json!({
                "id": format!("run-{daemon}-{number}-{e}"), "at": now, "kind": "run",
                "agent": agents[(daemon + e) % agents.len()], "skill": "review", "provider": "openai", "model": "gpt-test",
                "tokens_in": 1200 + e, "tokens_out": 300, "latency_ms": 800 + (e % 50) * 10, "outcome": "succeeded",
                "findings": e % 4, "edits": e % 2,
            })
        })
        .collect();
    json!({"events": events})
}

async fn load(hubs: &[Hub], tokens: &[String], batches: usize, events: usize, window: Option<Duration>) -> Outcome {
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("client");
    let ingest = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (daemon, token) in tokens.iter().enumerate() {
        let base = format!("http://127.0.0.1:{}", hubs[daemon % hubs.len()].port);
        let (client, token, ingest, failures) = (client.clone(), token.clone(), ingest.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            for number in 0..batches {
                if let Some(window) = window {
                    // Paced: each daemon's batches at its own moments in the window.
                    let slot = window.as_secs_f64() * ((daemon * 7919 + number * 104_729) % 10_007) as f64 / 10_007.0;
                    let at = started + Duration::from_secs_f64(slot);
                    tokio::time::sleep_until(at.into()).await;
                }
                let body = batch(daemon, number, events);
                let sends = if (daemon + number) % 10 == 0 { 2 } else { 1 };
                for _ in 0..sends {
                    let began = Instant::now();
                    let ok = client
                        .post(format!("{base}/api/v1/usage"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if ok {
                        ingest.lock().expect("lock").push(began.elapsed());
                    } else {
                        *failures.lock().expect("lock") += 1;
                    }
                }
            }
        }));
    }
    // Fifty dashboard queries while the events arrive.
    let dashboards = Arc::new(Mutex::new(Vec::new()));
    let queries = ["by=day,agent", "by=member", "by=team", "by=provider,model", "by=hour", "by=agent&format=csv"];
    let mut readers = Vec::new();
    for q in 0..50 {
        let base = format!("http://127.0.0.1:{}", hubs[q % hubs.len()].port);
        let (client, admin, dashboards) = (client.clone(), hubs[0].admin.clone(), dashboards.clone());
        let query = queries[q % queries.len()];
        let spread = window.unwrap_or(Duration::from_secs(2)).mul_f64(q as f64 / 50.0);
        readers.push(tokio::spawn(async move {
            tokio::time::sleep(spread).await;
            let began = Instant::now();
            let ok = client
                .get(format!("{base}/api/v1/usage?{query}"))
                .bearer_auth(&admin)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                dashboards.lock().expect("lock").push(began.elapsed());
            }
        }));
    }
    for task in tasks.into_iter().chain(readers) {
        task.await.expect("task");
    }
    let elapsed = started.elapsed();
    let ingest = std::mem::take(&mut *ingest.lock().expect("lock"));
    let dashboards = std::mem::take(&mut *dashboards.lock().expect("lock"));
    let failures = *failures.lock().expect("lock");
    Outcome { ingest, dashboards, events_sent: tokens.len() * batches * events, elapsed, failures }
}
