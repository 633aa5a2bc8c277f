//! Agent benchmarks (issue #4): the daemon's overhead per model run against an
//! instant fake provider (p50/p99, and 200 runs at once), the time to first
//! token the daemon adds over the provider's own, and offline Sherlock review
//! throughput on one core.
//!
//! Run: `cargo bench -p tests --bench agents` (builds the release binary).
//! Review throughput reads the crate sources cargo has downloaded
//! (`~/.cargo/registry/src`); `PAIRED_BENCH_TREE` picks another tree.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use context::{Language, SyntaxDocument};
use jsonrpsee::{
    core::client::{ClientT, SubscriptionClientT},
    rpc_params,
};
use serde_json::{Value, json};
use tests::{
    Home,
    fake_provider::{Reply, openai_text, serve_fake},
};

fn main() {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    review_throughput(&mut rows);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(model_runs(&mut rows));
    println!("\n| measure | result | target |\n|---|---|---|");
    for (what, result, target) in rows {
        println!("| {what} | {result} | {target} |");
    }
}

fn tree() -> PathBuf {
    tests::bench_tree()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => rust_files(&path, out),
            Ok(kind) if kind.is_file() && path.extension().is_some_and(|e| e == "rs") => out.push(path),
            _ => {}
        }
    }
}

/// Parse + review of real Rust code, one thread. Generated bindings (which the
/// index scans shallowly) are left out: this is about code people review.
fn review_throughput(rows: &mut Vec<(String, String, String)>) {
    let mut files = Vec::new();
    for krate in ["tokio-1", "syn-2", "regex-automata", "serde_json-1", "hyper-1", "clap_builder", "rusqlite"] {
        if let Ok(entries) = std::fs::read_dir(tree()) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(krate) {
                    rust_files(&entry.path(), &mut files);
                }
            }
        }
    }
    let sources: Vec<(String, String)> = files
        .iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(p).ok()?)))
        .filter(|(_, text)| text.len() < 512 * 1024)
        .collect();
    let lines: usize = sources.iter().map(|(_, t)| t.lines().count()).sum();
    let mut findings = 0;
    let started = Instant::now();
    for (path, text) in &sources {
        let doc = SyntaxDocument::new(Language::Rust, text.clone());
        findings += agents::skills::review::review(path, &doc).findings.len();
    }
    let elapsed = started.elapsed();
    rows.push((
        format!(
            "offline Sherlock review, parse included, one thread ({} files, {lines} lines, {findings} findings)",
            sources.len()
        ),
        format!("{:.0} lines/s ({:.2} s)", lines as f64 / elapsed.as_secs_f64(), elapsed.as_secs_f64()),
        "≥ 50,000 lines/s".into(),
    ));
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn model_runs(rows: &mut Vec<(String, String, String)>) {
    let (port, fake) = serve_fake(Vec::new()).await;
    *fake.fallback.lock().expect("lock") = Some(Reply::Sse(openai_text(&["ok"])));
    let home = Home::new();
    home.write_config(&tests::fake_provider::config(port));
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let ask = json!({"agent": "alex", "prompt": "hi", "wait": true});
    for _ in 0..50 {
        let _: Value = client.request("agents/run", rpc_params![ask.clone()]).await.expect("warm up");
    }

    // The provider's own time, then the same through the daemon.
    let (mut direct, mut direct_first) = (Vec::new(), Vec::new());
    for _ in 0..500 {
        let (first, total) = tests::fake_provider::direct_call(port).await;
        direct.push(total);
        direct_first.push(first);
    }
    let mut through = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        let run: Value = client.request("agents/run", rpc_params![ask.clone()]).await.expect("run");
        through.push(started.elapsed());
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let (d50, d99) = (percentile(&mut direct, 0.5), percentile(&mut direct, 0.99));
    let (t50, t99) = (percentile(&mut through, 0.5), percentile(&mut through, 0.99));
    rows.push((
        "instant fake provider called directly (fresh connection), p50 / p99".into(),
        format!("{} / {}", ms(d50), ms(d99)),
        String::new(),
    ));
    rows.push((
        "`agents/run` (model mode, wait) through the daemon, p50 / p99".into(),
        format!("{} / {}", ms(t50), ms(t99)),
        String::new(),
    ));
    rows.push((
        "daemon overhead per run (through − direct), p50 / p99".into(),
        format!("{} / {}", ms(t50.saturating_sub(d50)), ms(t99.saturating_sub(d99))),
        "≤ 1 ms".into(),
    ));

    // Time to first token: the first output_delta event after the request.
    let mut events = client
        .subscribe::<Value, _>("client/attach", rpc_params![json!({"kind": "other", "name": "bench"})], "client/detach")
        .await
        .expect("attach");
    let mut first_token = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        let run: Value =
            client.request("agents/run", rpc_params![json!({"agent": "alex", "prompt": "hi"})]).await.expect("start");
        let id = run["id"].as_str().expect("id").to_owned();
        loop {
            let event = events.next().await.expect("stream").expect("event");
            if event["run_id"] == id.as_str() && event["output_delta"].is_string() {
                first_token.push(started.elapsed());
                break;
            }
        }
    }
    let (f50, f99) = (percentile(&mut first_token, 0.5), percentile(&mut first_token, 0.99));
    let (df50, df99) = (percentile(&mut direct_first, 0.5), percentile(&mut direct_first, 0.99));
    rows.push((
        "time to first token, provider directly, p50 / p99".into(),
        format!("{} / {}", ms(df50), ms(df99)),
        String::new(),
    ));
    rows.push((
        "time to first token through the daemon (event to the client), p50 / p99".into(),
        format!("{} / {}", ms(f50), ms(f99)),
        String::new(),
    ));
    rows.push((
        "time to first token added by the daemon, p50 / p99".into(),
        format!("{} / {}", ms(f50.saturating_sub(df50)), ms(f99.saturating_sub(df99))),
        "≤ 2 ms".into(),
    ));
    drop(events);

    // 200 runs at once.
    let started = Instant::now();
    let runs = futures::future::join_all((0..200).map(|_| {
        let client = &client;
        let ask = ask.clone();
        async move {
            let started = Instant::now();
            let run: Value = client.request("agents/run", rpc_params![ask]).await.expect("run");
            (run["status"] == "succeeded", started.elapsed())
        }
    }))
    .await;
    let total = started.elapsed();
    let ok = runs.iter().filter(|(ok, _)| *ok).count();
    let mut latencies: Vec<Duration> = runs.iter().map(|(_, d)| *d).collect();
    rows.push((
        format!("200 concurrent runs: {ok} succeeded"),
        format!(
            "all in {}, p50 {} / p99 {}",
            ms(total),
            ms(percentile(&mut latencies, 0.5)),
            ms(percentile(&mut latencies, 0.99))
        ),
        String::new(),
    ));
}
