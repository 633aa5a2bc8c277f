use rusqlite::{Connection, params};

use analytics::{Price, Prices};

use super::*;
use crate::platform::store::Store;

const DAY_MS: i64 = 86_400_000;

const NOW: i64 = 20_000 * DAY_MS + 12 * 3_600_000; // noon on day 20000

/// A usage event as the three writers (runs, workflows, completions) insert it.
#[allow(clippy::too_many_arguments)]
fn event(
    conn: &Connection,
    source: &str,
    day: i64,
    kind: &str,
    agent: &str,
    model: Option<(&str, &str)>,
    tokens: (i64, i64),
    latency: i64,
    outcome: &str,
    findings: i64,
) {
    conn.execute(
        "INSERT OR IGNORE INTO usage_events (id, source, at_ms, kind, agent, provider, model, tokens_in, tokens_out,
             latency_ms, outcome, findings, edits)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0)",
        params![
            format!("e-{source}"),
            source,
            day * DAY_MS + 1000,
            kind,
            agent,
            model.map(|m| m.0),
            model.map(|m| m.1),
            tokens.0,
            tokens.1,
            latency,
            outcome,
            findings
        ],
    )
    .expect("insert");
}

fn prices() -> Prices {
    let mut prices = Prices::default();
    prices.0.insert(("cloud".into(), "big".into()), Price { input_per_mtok: 10.0, output_per_mtok: 30.0 });
    prices.0.insert(("cloud".into(), "small".into()), Price { input_per_mtok: 1.0, output_per_mtok: 2.0 });
    prices
}

async fn with_db<R: Send + 'static>(f: impl FnOnce(&mut Connection) -> R + Send + 'static) -> R {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("paired.db")).expect("store");
    store.call(move |conn| Ok(f(conn))).await.expect("call")
}

#[tokio::test]
async fn usage_is_rolled_up_once_per_event_with_latency_percentiles_and_cost() {
    let usage = with_db(|conn| {
        let today = NOW / DAY_MS;
        for i in 0..100 {
            event(
                conn,
                &format!("r{i}"),
                today,
                "run",
                "sherlock",
                Some(("cloud", "big")),
                (1000, 100),
                10 * (i + 1),
                "succeeded",
                1,
            );
        }
        // A retried write of the same run is not counted again.
        event(conn, "r0", today, "run", "sherlock", Some(("cloud", "big")), (1000, 100), 10, "succeeded", 1);
        event(conn, "f1", today - 1, "run", "edison", Some(("local", "llama")), (50, 50), 2000, "failed", 0);
        usage(conn, NOW, 7, "agent", &UsageFilter::default(), &prices()).expect("usage")
    })
    .await;
    let sherlock = usage.rows.iter().find(|r| r.key == "sherlock").expect("sherlock");
    assert_eq!((sherlock.runs, sherlock.errors, sherlock.tokens_in, sherlock.findings), (100, 0, 100_000, 100));
    assert!((sherlock.cost_usd - (100_000.0 * 10.0 + 10_000.0 * 30.0) / 1e6).abs() < 1e-9);
    // Latencies 10..=1000 ms: p50 = 500, p95 = 950, within a bucket (±10%).
    let p50 = sherlock.latency_p50_ms.expect("p50");
    let p95 = sherlock.latency_p95_ms.expect("p95");
    assert!((450.0..=550.0).contains(&p50), "p50 {p50}");
    assert!((855.0..=1045.0).contains(&p95), "p95 {p95}");
    let edison = usage.rows.iter().find(|r| r.key == "edison").expect("edison");
    assert_eq!((edison.runs, edison.errors), (1, 1));
    assert_eq!(usage.unpriced, vec!["local/llama".to_owned()]);
    assert_eq!(usage.series.keys, vec!["sherlock".to_owned(), "edison".to_owned()]);
    assert_eq!(usage.series.days.len(), 7);
    assert_eq!(usage.series.runs[0].iter().sum::<i64>(), 100);
    assert_eq!(usage.options["model"], vec!["big".to_owned(), "llama".to_owned()]);
}

#[tokio::test]
async fn a_long_period_reads_whole_months_from_the_monthly_histograms_and_agrees_with_the_days() {
    let (long, days) = with_db(|conn| {
        let today = NOW / DAY_MS;
        // 150 days, ten runs a day, with latencies 100, 200, …, 1000 ms.
        for d in 0..150 {
            for (i, latency) in (1..=10).map(|i| i * 100).enumerate() {
                event(conn, &format!("r{d}-{i}"), today - d, "run", "sherlock", None, (0, 0), latency, "succeeded", 0);
            }
        }
        (
            usage(conn, NOW, 150, "agent", &UsageFilter::default(), &prices()).expect("usage"),
            usage(conn, NOW, 20, "agent", &UsageFilter::default(), &prices()).expect("usage"),
        )
    })
    .await;
    assert!(Period::last(150, NOW).full_months().is_some(), "the long period has whole months");
    for report in [&long, &days] {
        let row = &report.rows[0];
        let (p50, p95) = (row.latency_p50_ms.expect("p50"), row.latency_p95_ms.expect("p95"));
        // The 5th and 10th of 100..=1000: 500 and 1000, each within its bucket (±10%).
        assert!((450.0..=550.0).contains(&p50) && (900.0..=1100.0).contains(&p95), "{p50} {p95}");
    }
    assert_eq!(long.rows[0].runs, 1500);
}

#[tokio::test]
async fn filters_and_grouping_narrow_what_is_counted() {
    let usage = with_db(|conn| {
        let today = NOW / DAY_MS;
        event(conn, "a", today, "run", "sherlock", Some(("cloud", "big")), (10, 0), 5, "succeeded", 0);
        event(conn, "b", today, "run", "edison", Some(("cloud", "small")), (10, 0), 5, "succeeded", 0);
        event(conn, "c", today, "completion", "completion", Some(("cloud", "small")), (10, 0), 5, "succeeded", 0);
        // Outside the period.
        event(conn, "d", today - 40, "run", "edison", Some(("cloud", "small")), (10, 0), 5, "succeeded", 0);
        let filter = UsageFilter { model: Some("small".into()), ..UsageFilter::default() };
        usage(conn, NOW, 30, "kind", &filter, &prices()).expect("usage")
    })
    .await;
    let keys: Vec<(&str, i64)> = usage.rows.iter().map(|r| (r.key.as_str(), r.runs)).collect();
    assert_eq!(keys, vec![("completion", 1), ("run", 1)]);
}

#[tokio::test]
async fn accepted_work_prices_each_result_and_a_cheaper_model_is_named() {
    let (usage, cost) = with_db(|conn| {
        let today = NOW / DAY_MS;
        conn.execute(
            "INSERT INTO agent_runs (id, agent, skill, status, created_ms, params) VALUES ('r1', 'sherlock', 'review', 'succeeded', 0, '{}')",
            [],
        )
        .expect("run");
        event(conn, "r1", today, "run", "sherlock", Some(("cloud", "big")), (1_000_000, 0), 5, "succeeded", 4);
        let verdicts = [
            Feedback { source: "r1".into(), item: "finding:0".into(), accepted: true },
            Feedback { source: "r1".into(), item: "finding:1".into(), accepted: true },
            Feedback { source: "r1".into(), item: "finding:2".into(), accepted: false },
        ];
        assert!(feedback(conn, &verdicts, NOW).expect("feedback"));
        // A changed mind replaces the verdict.
        let again = [Feedback { source: "r1".into(), item: "finding:2".into(), accepted: true }];
        assert!(feedback(conn, &again, NOW).expect("feedback"));
        // An unknown run is refused, and nothing of the batch is kept.
        let unknown = [Feedback { source: "nope".into(), item: "edit:0".into(), accepted: true }];
        assert!(!feedback(conn, &unknown, NOW).expect("feedback"));
        (
            usage(conn, NOW, 7, "model", &UsageFilter::default(), &prices()).expect("usage"),
            cost(conn, NOW, 7, &prices()).expect("cost"),
        )
    })
    .await;
    let big = &usage.rows[0];
    assert_eq!((big.key.as_str(), big.accepted), ("big", 3));
    assert!((big.cost_per_accepted.expect("per accepted") - 10.0 / 3.0).abs() < 1e-9);
    let row = &cost.rows[0];
    assert_eq!((row.agent.as_str(), row.accepted), ("sherlock", 3));
    let cheaper = row.cheaper.as_ref().expect("a cheaper model");
    assert_eq!((cheaper.model.as_str(), cheaper.cost_usd), ("small", 1.0));
}

#[tokio::test]
async fn the_overview_counts_weeks_and_says_what_changed() {
    let overview = with_db(|conn| {
        let today = NOW / DAY_MS;
        for i in 0..3 {
            event(
                conn,
                &format!("old{i}"),
                today - 9,
                "run",
                "sherlock",
                Some(("cloud", "big")),
                (100, 0),
                5,
                "succeeded",
                0,
            );
        }
        for i in 0..8 {
            event(
                conn,
                &format!("new{i}"),
                today - 1,
                "run",
                "sherlock",
                Some(("cloud", "big")),
                (100, 0),
                5,
                "succeeded",
                0,
            );
        }
        event(conn, "m", today, "run", "maya", None, (0, 0), 5, "failed", 0);
        event(conn, "w", today, "workflow", "review", None, (0, 0), 5, "succeeded", 0);
        overview(conn, NOW, 30, &prices()).expect("overview")
    })
    .await;
    assert_eq!(overview.days.len(), 30);
    assert_eq!(overview.days.last().map(|d| (d.runs, d.workflows, d.members)), Some((1, 1, 1)));
    assert_eq!((overview.this_week.runs, overview.last_week.runs, overview.this_week.workflows), (9, 3, 1));
    assert!(overview.changes.iter().any(|c| c == "First used this week: maya, review."), "{:?}", overview.changes);
    assert!(overview.changes.iter().any(|c| c == "sherlock ran 8 times, up from 3."), "{:?}", overview.changes);
    assert!(overview.changes.iter().any(|c| c.starts_with("Failures: 10.0%")), "{:?}", overview.changes);
}

#[tokio::test]
async fn events_written_before_the_rollups_existed_are_counted() {
    // The migration backfills: a database with events from before it.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("paired.db");
    {
        let store = Store::open(&path).expect("store");
        store
            .call(|conn| {
                event(conn, "x", NOW / DAY_MS, "run", "sherlock", Some(("cloud", "big")), (5, 5), 40, "succeeded", 0);
                conn.execute_batch(
                    "DROP TRIGGER usage_events_rollup; DROP TABLE usage_daily; DROP TABLE usage_latency;
                     DROP TABLE latency_buckets; DROP TABLE feedback; DROP TABLE audit_events;
                     DROP TRIGGER usage_events_latency_monthly; DROP TABLE usage_latency_monthly;
                     DROP INDEX usage_events_accepted_due; ALTER TABLE usage_events DROP COLUMN accepted_due;
                     ALTER TABLE usage_events DROP COLUMN rejected_due;",
                )?;
                conn.pragma_update(None, "user_version", 5)
            })
            .await
            .expect("downgrade");
    }
    let store = Store::open(&path).expect("migrated again");
    let usage = store
        .call(|conn| Ok(usage(conn, NOW, 7, "agent", &UsageFilter::default(), &prices()).expect("usage")))
        .await
        .expect("call");
    assert_eq!(usage.rows[0].runs, 1);
    assert!(usage.rows[0].latency_p50_ms.is_some());
}

#[tokio::test]
async fn the_audit_log_is_searched_literally() {
    let found = with_db(|conn| {
        for (action, target) in [("install", "acme/lint@1.0.0"), ("sign-in", "console"), ("remove", "50%_off")] {
            record_audit(
                conn,
                &AuditEvent {
                    at_ms: NOW,
                    actor: "you".into(),
                    action: action.into(),
                    target: target.into(),
                    details: String::new(),
                },
            )
            .expect("audit");
        }
        (
            audit(conn, "", 10).expect("all").len(),
            audit(conn, "ACME", 10).expect("acme"),
            audit(conn, "%_", 10).expect("literal"),
        )
    })
    .await;
    assert_eq!(found.0, 3);
    assert_eq!(found.1.len(), 1);
    assert_eq!(found.2.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(), vec!["50%_off"]);
}
