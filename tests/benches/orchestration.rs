//! Orchestration benchmarks (issue #5): the scheduling overhead a workflow adds
//! per step — a 1,000-step fan-out, offline and against an instant fake
//! provider, beside the same 1,000 runs started directly — and the latency of
//! an interactive run while a workflow keeps the background queue full.
//!
//! Run: `cargo bench -p tests --bench orchestration` (builds the release binary).

use std::time::{Duration, Instant};

use futures::StreamExt;
use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClient};
use serde_json::{Value, json};
use tests::{
    Home,
    fake_provider::{Reply, openai_text, serve_fake},
};

const STEPS: usize = 1000;
/// Interactive samples per phase: enough that p99 is not two or three outliers.
const SAMPLES: usize = 2000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let rows = runtime.block_on(run());
    println!("\n| measure | result | target |\n|---|---|---|");
    for (what, result, target) in rows {
        println!("| {what} | {result} | {target} |");
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn request(client: &WsClient, method: &str, params: Value) -> Value {
    client.request(method, rpc_params![params]).await.unwrap_or_else(|err| panic!("{method}: {err}"))
}

/// The 1,000 runs a fan-out starts, started directly instead, as many at once
/// as the workflow keeps in flight.
async fn direct(client: &WsClient, uri: &str, positions: &[Value], prompt: Option<&str>) -> Duration {
    let started = Instant::now();
    let runs = futures::stream::iter(positions.iter().map(|position| {
        let mut params =
            json!({"agent": "edison", "skill": "document", "uri": uri, "position": position, "wait": true});
        if let Some(prompt) = prompt {
            params["skill"] = json!("ask");
            params["prompt"] = json!(prompt);
        }
        async move { request(client, "agents/run", params).await }
    }))
    .buffer_unordered(256)
    .collect::<Vec<Value>>()
    .await;
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{:?}", runs.iter().find(|r| r["status"] != "succeeded"));
    started.elapsed()
}

async fn workflow(client: &WsClient, name: &str, uri: &str) -> Duration {
    let started = Instant::now();
    let session = request(client, "workflows/run", json!({"workflow": name, "uri": uri, "wait": true})).await;
    let elapsed = started.elapsed();
    assert_eq!(session["status"], "succeeded", "{}", session["error"]);
    assert_eq!(session["steps"].as_array().map(Vec::len), Some(STEPS));
    elapsed
}

async fn interactive(client: &WsClient, params: &Value, n: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let run = request(client, "agents/run", params.clone()).await;
        samples.push(started.elapsed());
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    samples
}

async fn run() -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let (port, fake) = serve_fake(Vec::new()).await;
    *fake.fallback.lock().expect("lock") = Some(Reply::Sse(openai_text(&["ok"])));
    let home = Home::new();
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::create_dir_all(root.join(".paired/workflows")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"proj\"\n").expect("write");
    let many: String = (0..STEPS).map(|i| format!("pub fn f{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n")).collect();
    std::fs::write(root.join("src/many.rs"), &many).expect("write");
    std::fs::write(
        root.join("src/lib.rs"),
        "pub fn load(p: &str) -> String {\n    std::fs::read_to_string(p).unwrap()\n}\n",
    )
    .expect("write");
    let fan = "[[steps]]\nid = \"doc\"\nagent = \"edison\"\nskill = \"document\"\neach = \"undocumented_symbol\"\n";
    std::fs::write(root.join(".paired/workflows/fan.toml"), fan).expect("write");
    std::fs::write(root.join(".paired/workflows/fan_model.toml"), format!("{fan}prompt = \"Document it.\"\n"))
        .expect("write");
    home.write_config(&tests::fake_provider::config(port));
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    request(&client, "workspaces/add", json!({"folder": root.display().to_string(), "wait": true})).await;
    let uri = format!("file://{}", root.join("src/many.rs").display());
    let outline = request(&client, "context/outline", json!({"uri": uri})).await;
    let positions: Vec<Value> =
        outline["symbols"].as_array().expect("symbols").iter().map(|s| s["selection_range"]["start"].clone()).collect();
    assert_eq!(positions.len(), STEPS);

    // Warm up both paths.
    workflow(&client, "fan", &uri).await;
    direct(&client, &uri, &positions, None).await;

    for (label, name, prompt) in
        [("offline skill", "fan", None), ("model mode, instant fake provider", "fan_model", Some("Document it."))]
    {
        let mut overheads = Vec::new();
        let (mut wf_total, mut direct_total) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..3 {
            let w = workflow(&client, name, &uri).await;
            let d = direct(&client, &uri, &positions, prompt).await;
            wf_total += w;
            direct_total += d;
            overheads.push(w.saturating_sub(d));
        }
        let per_step = |d: Duration| d / (3 * STEPS as u32);
        rows.push((
            format!("1,000-step fan-out, {label}: workflow / the same runs started directly (mean of 3)"),
            format!(
                "{} / {} ({} / {} per step)",
                ms(wf_total / 3),
                ms(direct_total / 3),
                ms(per_step(wf_total)),
                ms(per_step(direct_total))
            ),
            String::new(),
        ));
        rows.push((
            format!("scheduling overhead per step, {label} (workflow − direct) / 1,000"),
            ms(per_step(wf_total.saturating_sub(direct_total))),
            "≤ 0.5 ms".into(),
        ));
    }

    // Interactive latency, idle and with a full background queue: a workflow of
    // 1,000 model steps against a provider that takes 50 ms per answer.
    let lib = format!("file://{}", root.join("src/lib.rs").display());
    let offline = json!({"agent": "sherlock", "skill": "review", "uri": lib, "wait": true});
    let model = json!({"agent": "alex", "prompt": "hi", "wait": true});
    let mut idle_offline = interactive(&client, &offline, SAMPLES).await;
    let mut idle_model = interactive(&client, &model, SAMPLES).await;
    let mut idle_direct = provider_alone(port, SAMPLES).await;
    *fake.slow_when.lock().expect("lock") = Some(("Document it.".into(), Duration::from_millis(50)));
    let background = request(&client, "workflows/run", json!({"workflow": "fan_model", "uri": uri})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = request(&client, "runs/list", json!({"limit": 1000})).await;
    let waiting = queued.as_array().expect("runs").iter().filter(|r| r["status"] == "queued").count();
    // The editor's requests get the instant answer: only the background steps' are slow.
    let mut busy_offline = interactive(&client, &offline, SAMPLES).await;
    let mut busy_model = interactive(&client, &model, SAMPLES).await;
    // The provider alone under the same load: it shares these 2 cores, and
    // serves the background's requests itself.
    let mut busy_direct = provider_alone(port, SAMPLES).await;
    let still = request(&client, "sessions/get", json!({"session_id": background["id"]})).await;
    assert_eq!(still["status"], "running", "the background queue stayed full while measuring");
    request(&client, "runs/cancel", json!({"run_id": background["id"]})).await;
    for (label, idle, busy) in [
        ("offline review", &mut idle_offline, &mut busy_offline),
        ("model ask, same provider", &mut idle_model, &mut busy_model),
    ] {
        let (i50, i99) = (percentile(idle, 0.5), percentile(idle, 0.99));
        let (b50, b99) = (percentile(busy, 0.5), percentile(busy, 0.99));
        rows.push((
            format!("interactive {label}: idle p50 / p99 → with {waiting} background steps queued p50 / p99"),
            format!(
                "{} / {} → {} / {} ({:.2}× at p99)",
                ms(i50),
                ms(i99),
                ms(b50),
                ms(b99),
                b99.as_secs_f64() / i99.as_secs_f64()
            ),
            "p99 ≤ 2× idle".into(),
        ));
    }
    let (di99, db99) = (percentile(&mut idle_direct, 0.99), percentile(&mut busy_direct, 0.99));
    let (mi99, mb99) = (percentile(&mut idle_model, 0.99), percentile(&mut busy_model, 0.99));
    rows.push((
        "the fake provider alone (same process as this bench): idle p99 → loaded p99".into(),
        format!("{} → {}", ms(di99), ms(db99)),
        String::new(),
    ));
    let (added_idle, added_busy) = (mi99.saturating_sub(di99), mb99.saturating_sub(db99));
    rows.push((
        "model ask: what the daemon adds over the provider, idle p99 → loaded p99".into(),
        format!(
            "{} → {} ({:.2}×)",
            ms(added_idle),
            ms(added_busy),
            added_busy.as_secs_f64() / added_idle.as_secs_f64().max(1e-6)
        ),
        "≤ 2×".into(),
    ));
    rows
}

async fn provider_alone(port: u16, n: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        samples.push(tests::fake_provider::direct_call(port).await.1);
    }
    samples
}
