//! Marketplace benchmarks (issue #6): `market/search` over a 10,000-package
//! index, and installing a 1 MB agent from a registry on loopback — TUF
//! refresh, download, hash check, extraction and activation included.
//!
//! Run: `cargo bench -p tests --bench market` (builds the release binary).

use std::time::{Duration, Instant};

use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClient};
use serde_json::{Value, json};
use tests::{Home, static_server::StaticServer};

const PACKAGES: usize = 10_000;
const SEARCHES: usize = 2_000;
const INSTALLS: usize = 40;

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

fn paired(home: &Home, args: &[&str]) {
    let out = home.paired(args).output().expect("paired");
    assert!(out.status.success(), "paired {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A catalogue shaped like a real one: names, domains and capabilities drawn
/// from small vocabularies, a sentence of description each.
fn catalogue() -> Vec<Value> {
    let domains = ["frontend", "backend", "devops", "data", "mobile", "security", "testing", "docs"];
    let techs = ["rust", "react", "python", "go", "kubernetes", "aws", "java", "typescript", "sql", "terraform"];
    let capabilities = ["code_review", "testing", "documentation", "refactoring", "security", "deployment", "analysis"];
    let verbs = ["audits", "reviews", "documents", "tests", "deploys", "profiles", "migrates", "explains"];
    (0..PACKAGES)
        .map(|i| {
            let tech = techs[i % techs.len()];
            let domain = domains[(i / 3) % domains.len()];
            let verb = verbs[(i / 7) % verbs.len()];
            json!({
                "meta": {
                    "name": format!("{tech}-{verb}-{i}"),
                    "version": format!("1.{}.0", i % 5),
                    "description": format!("{verb} {tech} {domain} code with care, package {i}"),
                    "domain": domain,
                    "specialization": format!("{tech} {domain}"),
                    "capabilities": [capabilities[i % capabilities.len()], capabilities[(i / 2) % capabilities.len()]],
                    "publisher": format!("pub{}", i % 50),
                    "rating": { "stars": (i % 5 + 1) * 10, "count": 10 },
                    "daemon": "*",
                },
                "length": 4096,
            })
        })
        .collect()
}

async fn run() -> Vec<(String, String, String)> {
    let mut rows = Vec::new();

    // Search: the index as a refresh leaves it, 10,000 packages.
    let home = Home::new();
    let registry = home.path().join("registry");
    paired(&home, &["market", "init", registry.to_str().expect("utf-8")]);
    home.write_config(&format!(
        "[market]\nrefresh_secs = 1000000\n[[market.registries]]\nname = \"bench\"\nurl = \"http://127.0.0.1:9\"\nroot = \"{}\"\n",
        registry.join("root.json").display()
    ));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let index = json!({ "registry": "bench", "expires": now + 86_400, "refreshed": now, "packages": catalogue() });
    let dir = home.path().join(".local/share/paired/market/registries/bench");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).expect("json")).expect("write");
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let first = Instant::now();
    let found = request(&client, "market/search", json!({"query": "rust audits"})).await;
    let cold = first.elapsed();
    assert!(found["packages"].as_array().is_some_and(|p| !p.is_empty()), "{found}");
    let queries = [
        "rust",
        "react testing",
        "security audits",
        "kubernetes deploys devops",
        "python docs",
        "sql data",
        "terraform",
        "typescript frontend review",
        "",
        "go backend",
    ];
    let mut samples = Vec::with_capacity(SEARCHES);
    for i in 0..SEARCHES {
        let started = Instant::now();
        let found = request(&client, "market/search", json!({"query": queries[i % queries.len()], "limit": 20})).await;
        samples.push(started.elapsed());
        assert!(found["packages"].is_array());
    }
    let p50 = percentile(&mut samples, 0.5);
    let p99 = percentile(&mut samples, 0.99);
    rows.push((format!("market/search over {PACKAGES} packages, first (loads and indexes)"), ms(cold), "—".into()));
    rows.push((
        format!("market/search over {PACKAGES} packages, p50 / p99 ({SEARCHES} queries)"),
        format!("{} / {}", ms(p50), ms(p99)),
        "p99 ≤ 5 ms".into(),
    ));
    drop(client);
    let _ = home.paired(&["stop"]).output();

    // Install: a 1 MB package (incompressible fixture) from loopback.
    let home = Home::new();
    let registry = home.path().join("registry");
    paired(&home, &["market", "init", registry.to_str().expect("utf-8")]);
    let folder = home.path().join("big");
    std::fs::create_dir_all(folder.join("fixtures")).expect("mkdir");
    std::fs::write(
        folder.join("agent.toml"),
        "id = \"big-agent\"\ncapabilities = [\"code_review\"]\n[metadata]\nname = \"Big\"\nversion = \"1.0.0\"\nrole = \"qa\"\n[permissions]\nfs_read = [\"**\"]\n",
    )
    .expect("write");
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..1_048_576)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    std::fs::write(folder.join("fixtures/blob.bin"), noise).expect("write");
    paired(
        &home,
        &[
            "market",
            "publish",
            folder.to_str().expect("utf-8"),
            "--registry",
            registry.to_str().expect("utf-8"),
            "--publisher",
            "bench",
        ],
    );
    let server = StaticServer::start(registry.join("repository"));
    home.write_config(&format!(
        "[market]\nrefresh_secs = 0\n[[market.registries]]\nname = \"bench\"\nurl = \"{}\"\nroot = \"{}\"\n",
        server.url(),
        registry.join("root.json").display()
    ));
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let mut samples = Vec::with_capacity(INSTALLS);
    let mut size = 0;
    for _ in 0..INSTALLS {
        let started = Instant::now();
        let installed =
            request(&client, "market/install", json!({"name": "big-agent", "accept_permissions": true})).await;
        samples.push(started.elapsed());
        assert_eq!(installed["version"], "1.0.0");
        request(&client, "market/remove", json!({"name": "big-agent"})).await;
        let info = request(&client, "market/info", json!({"name": "big-agent"})).await;
        size = info["latest"]["size"].as_u64().unwrap_or(0);
    }
    let p50 = percentile(&mut samples, 0.5);
    let p99 = percentile(&mut samples, 0.99);
    rows.push((
        format!(
            "market/install of a {:.2} MB package from loopback, p50 / max ({INSTALLS} installs)",
            size as f64 / 1e6
        ),
        format!("{} / {}", ms(p50), ms(p99)),
        "≤ 100 ms".into(),
    ));
    drop(client);
    let _ = home.paired(&["stop"]).output();
    rows
}
