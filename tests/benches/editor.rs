//! The editor's hot path (issue #18): one editor window's burst of document
//! updates through `paired lsp` with the daemon already running, next to a
//! trivial LSP server (the floor: frames parsed, texts kept in a map, nothing
//! else) measured in the same run, and any other language server named in
//! `PAIRED_BENCH_PEERS` (`name=command args…;…`, e.g. lsp-ai or GitHub
//! Copilot's server, installed by hand).
//!
//! The burst: 200 `didOpen` of real-shaped Rust and Python files (~1.8 MB in
//! all, from the cargo registry and Python's standard library), then 500
//! full-text `didChange`, then a `codeAction` as the barrier (it is answered
//! after every edit before it). Five runs, medians. The files are also on
//! disk in the editor's workspace folder, so the daemon indexes them as it
//! would a real project's.
//!
//! Then whether the memory comes back: the daemon's RSS before the five
//! sessions, when the last has closed, and over the next 70 s (a workspace no
//! editor holds is put to sleep after `[context] idle_workspace_secs`, 30 s).
//!
//! Then ten editors at once, each on its own workspace of the same files,
//! all starting the burst together: each burst's time and the daemon's peak RSS.
//!
//! Last, under load (with a fresh daemon of its own, detached as editors start
//! it): fifty editors doing the burst at once and twenty agent
//! runs, beside a probe editor whose round trips say what it waited for the
//! others' work, and the daemon's longest polls ([`under_load`]).
//!
//! Run: `cargo bench -p tests --bench editor` (builds the release binary);
//! `PAIRED_BENCH_ONLY=load` for the last part alone, `PAIRED_BENCH_ONLY=burst`
//! for the single editor's burst alone (the floor, `paired lsp`, `paired-lsp`),
//! `PAIRED_BENCH_ONLY=initialize` for spawn → `initialize`, warm and cold,
//! `PAIRED_BENCH_ONLY=memory` for the five sessions and the daemon's memory after,
//! `PAIRED_BENCH_ONLY=many` for the single editor's burst and the ten at once (#18.6's ratio, one run).
//! The load part's knobs: `PAIRED_BENCH_LOADED` (editors, 50), `PAIRED_BENCH_AGENT_RUNS`
//! (20), `PAIRED_BENCH_SESSIONS=0` (everything in one scheduling group), `PAIRED_BENCH_RAW=FILE`
//! (every time the probe measured, as JSON, with when each round began).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use futures::StreamExt;
use jsonrpsee::core::client::ClientT;
use serde_json::{Value, json};
use tests::{Home, Lsp, daemon_rss_kib, rss_kib, status_kib};

const OPENS: usize = 200;
const CHANGES: usize = 500;
const RUNS: usize = 5;
/// Editors bursting at once on their own workspaces.
const MANY: usize = 10;
/// Editors bursting at once under load (`PAIRED_BENCH_LOADED` for another
/// number), and the agent runs beside them (#18.7).
const LOADED: usize = 50;
const AGENT_RUNS: usize = 20;

fn main() {
    if std::env::args().any(|a| a == "--floor-lsp") {
        floor::serve();
        return;
    }
    if std::env::args().nth(1).is_some_and(|a| a == "--probe-driver") {
        probe::drive(std::env::args().skip(2).collect());
        return;
    }
    let files = corpus();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    println!("corpus: {} files, {:.1} MB", files.len(), bytes as f64 / 1e6);
    println!("binary: {}", tests::paired_bin().display());

    if std::env::var("PAIRED_BENCH_ONLY").is_ok_and(|only| only == "load") {
        load_part(&files);
        return;
    }

    if std::env::var("PAIRED_BENCH_ONLY").is_ok_and(|only| only == "initialize") {
        initialize_times();
        return;
    }
    let only_many = std::env::var("PAIRED_BENCH_ONLY").is_ok_and(|only| only == "many");
    let only_burst = only_many || std::env::var("PAIRED_BENCH_ONLY").is_ok_and(|only| only == "burst");
    let only_memory = std::env::var("PAIRED_BENCH_ONLY").is_ok_and(|only| only == "memory");
    let mut rows = Vec::new();
    let floor_exe = std::env::current_exe().expect("exe");
    if !only_memory {
        rows.push(measure("trivial LSP server (floor)", &files, || {
            let mut command = Command::new(&floor_exe);
            command.arg("--floor-lsp");
            (command, None)
        }));
    }

    let home = Home::new();
    let daemon = home.start_daemon();
    let project = home.project();
    // Idle means the same before the sessions as after them: a daemon idle for
    // `idle_workspace_secs` (30 s) has given its code pages back.
    std::thread::sleep(Duration::from_secs(if only_burst { 2 } else { 35 }));
    let idle = daemon_rss_kib(daemon.pid);
    let split =
        |pid: u32| format!("anonymous {}, files {}", mib(status_kib(pid, "RssAnon")), mib(status_kib(pid, "RssFile")));
    let idle_split = split(daemon.pid);
    let idle_first = first_answer(&home);
    std::thread::sleep(Duration::from_secs(1));
    rows.push(measure("`paired lsp`, daemon already running (proxy + daemon)", &files, || {
        (home.paired(&["lsp"]), Some(daemon.pid))
    }));
    drop(project);
    let closed = daemon_rss_kib(daemon.pid);
    let closed_split = split(daemon.pid);
    let mut back = None;
    let waited = Instant::now();
    while !only_burst && waited.elapsed() < Duration::from_secs(70) {
        std::thread::sleep(Duration::from_secs(1));
        if back.is_none() && daemon_rss_kib(daemon.pid) <= idle + 5 * 1024 {
            back = Some(waited.elapsed());
        }
    }
    let after = daemon_rss_kib(daemon.pid);
    let after_split = split(daemon.pid);
    // What giving the memory back costs the next editor: its first answer
    // from the daemon, which reads its paged-out code back in.
    let next_first = first_answer(&home);
    let next_again = first_answer(&home);
    let memory_table = || {
        println!();
        println!(
            "| the daemon's RSS | idle, before the sessions | when the last editor has closed | 70 s later | back within 5 MiB of idle after |"
        );
        println!("|---|---|---|---|---|");
        println!(
            "| {RUNS} editor sessions one after another, each its own {}-file workspace | {} ({idle_split}) | {} ({closed_split}) | {} ({after_split}) | {} |",
            files.len(),
            mib(idle),
            mib(closed),
            mib(after),
            back.map_or_else(|| "not within 70 s".to_owned(), |t| format!("{:.0} s", t.as_secs_f64()))
        );
        println!(
            "\na new editor (a new one-file workspace), spawn → first `codeAction` answered: before the sessions {:.1} ms; 70 s after them {:.1} ms; the one after it {:.1} ms",
            idle_first.as_secs_f64() * 1e3,
            next_first.as_secs_f64() * 1e3,
            next_again.as_secs_f64() * 1e3
        );
    };
    if only_memory {
        print_rows(rows);
        memory_table();
        return;
    }
    // What the VS Code extension starts when `paired-lsp` sits beside `paired`
    // (`paired lsp` execs it): the same proxy, one process start sooner.
    let lean = tests::paired_bin().with_file_name("paired-lsp");
    if lean.is_file() {
        rows.push(measure("`paired-lsp` started directly, daemon already running (proxy + daemon)", &files, || {
            let mut command = home.paired(&[]);
            let mut direct = Command::new(&lean);
            direct.env_clear().current_dir(home.path());
            for (key, value) in command.get_envs() {
                if let Some(value) = value {
                    direct.env(key, value);
                }
            }
            command = direct;
            (command, Some(daemon.pid))
        }));
    }
    if only_burst && !only_many {
        print_rows(rows);
        return;
    }
    let commands = (0..MANY).map(|_| home.paired(&["lsp"])).collect();
    let daemon_cpu = cpu_time(daemon.pid);
    let bench_cpu = own_cpu_time();
    let (many, many_peak, proxies_cpu) = many_at_once(MANY, &files, commands, daemon.pid);
    let (daemon_cpu, bench_cpu) = (cpu_time(daemon.pid).saturating_sub(daemon_cpu), own_cpu_time() - bench_cpu);
    let many_table = |single: Duration| {
        let mut sorted = many.clone();
        sorted.sort();
        println!();
        println!(
            "| {MANY} editors at once, each its own {}-file workspace | fastest burst | median | slowest | slowest / the single editor's | the daemon's largest RSS | CPU: the daemon with its helpers / the {MANY} proxies / the bench's editors (their frames made before the clock included) |",
            files.len()
        );
        println!("|---|---|---|---|---|---|---|");
        println!(
            "| `paired lsp`, one daemon | {:.3} s | {:.3} s | {:.3} s | {:.1}× ({:.3} s) | {} | {:.2} s / {:.2} s / {:.2} s |",
            sorted[0].as_secs_f64(),
            sorted[sorted.len() / 2].as_secs_f64(),
            sorted[sorted.len() - 1].as_secs_f64(),
            sorted[sorted.len() - 1].as_secs_f64() / single.as_secs_f64(),
            single.as_secs_f64(),
            mib(many_peak),
            daemon_cpu.as_secs_f64(),
            proxies_cpu.as_secs_f64(),
            bench_cpu.as_secs_f64(),
        );
    };
    let single = rows.iter().find(|row| row.name.starts_with("`paired lsp`")).map_or(Duration::ZERO, |row| row.burst);
    if only_many {
        print_rows(rows);
        many_table(single);
        return;
    }

    if let Ok(peers) = std::env::var("PAIRED_BENCH_PEERS") {
        for peer in peers.split(';').filter(|p| !p.trim().is_empty()) {
            let (name, command) = peer.split_once('=').expect("name=command");
            let words: Vec<&str> = command.split_whitespace().collect();
            rows.push(measure(name, &files, || {
                let mut command = Command::new(words[0]);
                command.args(&words[1..]);
                (command, None)
            }));
        }
    }

    print_rows(rows);
    memory_table();
    many_table(single);
    // With a daemon of its own, detached as editors start it: the one above is
    // the bench's child, in the bench's scheduling group (measured: under the
    // load its requests then waited seconds behind the bench's own threads).
    drop(daemon);
    load_part(&files);
}

/// The load part ([`under_load`]) with a daemon started as an editor's
/// `paired lsp` starts it: detached, in a session (on Linux, a scheduling
/// group) of its own. `PAIRED_BENCH_FOREGROUND=1`: a child of the bench, in
/// the editors' group.
fn load_part(files: &[(String, String)]) {
    let home = Home::new();
    if std::env::var("PAIRED_BENCH_FOREGROUND").is_ok() {
        let daemon = home.start_daemon();
        under_load(&home, files, daemon.pid);
        return;
    }
    let out = home.paired(&["daemon", "--detach"]).output().expect("paired daemon --detach");
    assert!(out.status.success(), "{out:?}");
    // Stopped however the bench ends: in a session of its own, it would
    // outlive the bench and its temporary home.
    struct Stop<'a>(&'a Home);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = self.0.paired(&["stop"]).output();
        }
    }
    let _stop = Stop(&home);
    home.wait_for_daemon(0);
    under_load(&home, files, home.daemon_pid());
}

/// A new editor on a new one-file workspace: spawn → its first `codeAction`
/// answered (after `initialize` and a `didOpen`).
fn first_answer(home: &Home) -> Duration {
    let root = std::env::temp_dir().join(format!("paired-bench-next-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&root).expect("root");
    let small = "fn probe(x: u32) -> u32 {\n    x + 1\n}\n";
    std::fs::write(root.join("probe.rs"), small).expect("write");
    let uri = format!("file://{}/probe.rs", root.display());
    let started = Instant::now();
    let mut lsp = Lsp::spawn(home.paired(&["lsp"]));
    lsp.initialize(&root);
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": small}}),
    );
    let reply = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}),
    );
    let took = started.elapsed();
    assert!(reply.get("error").is_none(), "first answer: {reply}");
    let _ = lsp.request("shutdown", Value::Null);
    lsp.notify("exit", Value::Null);
    lsp.close_stdin();
    let _ = lsp.wait_exit(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&root);
    took
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// Issue #18.4: spawn → `initialize` answered, [`STARTS`] starts each of the
/// floor, `paired lsp` and `paired-lsp` with the daemon running (a workspace
/// folder of one file, on disk before the clock starts); then cold, with no
/// daemon: `paired lsp` in a fresh HOME, spawn → `initialize` answered and →
/// the first request the daemon answers (a `codeAction` after a `didOpen`),
/// the daemon's start (token, database) included.
fn initialize_times() {
    const STARTS: usize = 25;
    let root = std::env::temp_dir().join(format!("paired-bench-init-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("root");
    let small = "fn probe(x: u32) -> u32 {\n    x + 1\n}\n";
    std::fs::write(root.join("probe.rs"), small).expect("write");
    let uri = format!("file://{}/probe.rs", root.display());
    let open = json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": small}});
    let action = json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}});
    let start = |command: Command| {
        let started = Instant::now();
        let mut lsp = Lsp::spawn(command);
        lsp.initialize(&root);
        (lsp, started)
    };
    let stop = |mut lsp: Lsp| {
        let _ = lsp.request("shutdown", Value::Null);
        lsp.notify("exit", Value::Null);
        lsp.close_stdin();
        let _ = lsp.wait_exit(Duration::from_secs(5));
    };
    let warm = |command: &dyn Fn() -> Command| {
        let times = (0..STARTS)
            .map(|_| {
                let (lsp, started) = start(command());
                let took = started.elapsed();
                stop(lsp);
                took
            })
            .collect::<Vec<_>>();
        median(times)
    };
    let floor_exe = std::env::current_exe().expect("exe");
    let home = Home::new();
    let daemon = home.start_daemon();
    let floor = warm(&|| {
        let mut command = Command::new(&floor_exe);
        command.arg("--floor-lsp");
        command
    });
    let proxy = warm(&|| home.paired(&["lsp"]));
    let lean = tests::paired_bin().with_file_name("paired-lsp");
    let direct = lean.is_file().then(|| {
        warm(&|| {
            let mut direct = Command::new(&lean);
            let command = home.paired(&[]);
            direct.env_clear().current_dir(home.path());
            for (key, value) in command.get_envs() {
                if let Some(value) = value {
                    direct.env(key, value);
                }
            }
            direct
        })
    });
    drop(daemon);
    let (mut cold_init, mut cold_first) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let fresh = Home::new();
        let (mut lsp, started) = start(fresh.paired(&["lsp"]));
        cold_init.push(started.elapsed());
        lsp.notify("textDocument/didOpen", open.clone());
        let reply = lsp.request("textDocument/codeAction", action.clone());
        assert!(reply.get("error").is_none(), "cold: {reply}");
        cold_first.push(started.elapsed());
        stop(lsp);
        tests::kill9(fresh.daemon_pid());
    }
    let _ = std::fs::remove_dir_all(&root);
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!("| spawn → `initialize` answered (median of {STARTS}) | time |");
    println!("|---|---|");
    println!("| trivial LSP server (floor) | {} |", ms(floor));
    println!("| `paired lsp`, daemon running | {} |", ms(proxy));
    if let Some(direct) = direct {
        println!("| `paired-lsp` started directly, daemon running | {} |", ms(direct));
    }
    println!("| `paired lsp`, no daemon, fresh HOME (median of 10) | {} |", ms(median(cold_init)));
    println!("| … → first request answered by the daemon it started (`codeAction`) | {} |", ms(median(cold_first)));
}

/// Issue #18.7: [`LOADED`] editors each doing the burst on its own workspace and
/// [`AGENT_RUNS`] offline agent runs, all at once, beside one more editor (the
/// probe) asking for code actions on a small file every 10 ms. What the probe
/// waits is what another editor's work costs an editor; the daemon's longest
/// poll (`daemon/status`, `runtime`) is the longest any request could have
/// waited for a runtime worker held by another's.
fn under_load(home: &Home, files: &[(String, String)], daemon: u32) {
    let loaded = std::env::var("PAIRED_BENCH_LOADED").ok().and_then(|n| n.parse().ok()).unwrap_or(LOADED);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let client = runtime.block_on(home.ws());
    let probe_root = std::env::temp_dir().join(format!("paired-bench-probe-{}", std::process::id()));
    std::fs::create_dir_all(&probe_root).expect("probe root");
    std::fs::write(probe_root.join("probe.rs"), probe::SMALL).expect("write");
    // The agents work on the probe's workspace: the same files as the editors'.
    for (path, text) in files {
        std::fs::write(probe_root.join(path), text).expect("write");
    }
    // The probe editor is an app of its own: a process in a session of its
    // own that starts its `paired lsp` and times its requests, as an editor
    // does — not a thread of this process, which drives fifty editors' bursts
    // (its scheduling group would be theirs). `PAIRED_BENCH_SESSIONS=0`: all
    // in this one group.
    let driver = probe::Driver::start(home, &probe_root);
    let started = Instant::now();
    let (bursts, peak, runs) = std::thread::scope(|scope| {
        let runs = scope.spawn(|| runtime.block_on(agent_runs(&client, &probe_root, files)));
        let commands = (0..loaded).map(|_| own_session(home.paired(&["lsp"]))).collect();
        let (bursts, peak, _) = many_at_once(loaded, files, commands, daemon);
        let runs = runs.join().expect("agent runs");
        (bursts, peak, runs)
    });
    let probe::Waits {
        quiet, waits, edit_quiet, edit_waits, floor_quiet, floor_waits, direct_quiet, direct_waits, ..
    } = driver.stop();
    let took = started.elapsed();
    let status: Value = runtime.block_on(client.request("daemon/status", jsonrpsee::rpc_params![])).expect("status");
    let _ = std::fs::remove_dir_all(&probe_root);

    let pct = |v: &[Duration], p: f64| {
        let mut v = v.to_vec();
        v.sort();
        v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3
    };
    println!();
    println!(
        "{loaded} editors at once (each its own {}-file workspace, the burst) and agent runs ({} finished): {:.1} s in all; slowest burst {:.2} s, median {:.2} s; the daemon's largest RSS {}",
        files.len(),
        runs,
        took.as_secs_f64(),
        pct(&bursts, 1.0) / 1e3,
        pct(&bursts, 0.5) / 1e3,
        mib(peak)
    );
    println!();
    println!("| the probe editor's `codeAction` round trip | requests | p50 | p99 | longest |");
    println!("|---|---|---|---|---|");
    for (name, waits) in [
        ("alone", &quiet),
        ("under the load", &waits),
        ("after a keystroke (`didChange` then `codeAction`), alone", &edit_quiet),
        ("after a keystroke, under the load", &edit_waits),
        ("floor: a trivial LSP server's, alone", &floor_quiet),
        ("floor: a trivial LSP server's, under the same load", &floor_waits),
        ("the daemon's `agents/list` over a WebSocket (no editor process), alone", &direct_quiet),
        ("the daemon's `agents/list` over a WebSocket, under the load", &direct_waits),
    ] {
        println!(
            "| {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            waits.len(),
            pct(waits, 0.5),
            pct(waits, 0.99),
            pct(waits, 1.0)
        );
    }
    println!();
    println!(
        "| the daemon's longest polls on its runtime (what held a worker) | longest | most CPU in one poll | polls ≥ 1 ms | ≥ 10 ms | that blocked (longest) |"
    );
    println!("|---|---|---|---|---|---|");
    let ms = |v: &Value| v.as_f64().unwrap_or(0.0) / 1e3;
    for slow in status["runtime"]["slow_polls"].as_array().into_iter().flatten() {
        println!(
            "| {} | {:.1} ms | {:.1} ms | {} | {} | {} ({:.1} ms) |",
            slow["name"].as_str().unwrap_or("?"),
            ms(&slow["longest_us"]),
            ms(&slow["most_cpu_us"]),
            slow["over_1ms"],
            slow["over_10ms"],
            slow["blocked"],
            ms(&slow["longest_blocked_us"])
        );
    }
    // Inside the daemon, from a request's first poll to its reply: what the
    // daemon kept it (the probe's code actions ask `agents/list`; the quiet
    // requests before the load are among them).
    println!();
    println!("| time in the daemon, first poll → reply (whole run) | requests | p50 | p99 | longest |");
    println!("|---|---|---|---|---|");
    for times in status["runtime"]["requests"].as_array().into_iter().flatten() {
        println!(
            "| {} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            times["name"].as_str().unwrap_or("?"),
            times["count"],
            ms(&times["p50_us"]),
            ms(&times["p99_us"]),
            ms(&times["longest_us"])
        );
    }
}

/// `command` in a session of its own (`setsid`, which execs in place): each
/// editor an app of its own, as on a desktop, rather than fifty processes of
/// the bench's one scheduling group. `PAIRED_BENCH_SESSIONS=0`: as they are.
fn own_session(plain: Command) -> Command {
    if std::env::var("PAIRED_BENCH_SESSIONS").is_ok_and(|v| v == "0") {
        return plain;
    }
    let mut command = Command::new("setsid");
    command.arg(plain.get_program()).args(plain.get_args()).env_clear();
    for (key, value) in plain.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    if let Some(dir) = plain.get_current_dir() {
        command.current_dir(dir);
    }
    command
}

/// [`AGENT_RUNS`] offline runs, ten at a time: Sherlock reviewing one of the
/// files and Leonardo mapping the folder, by turns. Returns how many finished
/// (succeeded, or found nothing to report).
async fn agent_runs(client: &jsonrpsee::ws_client::WsClient, root: &Path, files: &[(String, String)]) -> usize {
    let folder = root.display().to_string();
    // `PAIRED_BENCH_AGENT_RUNS=N`: another number of runs (0: editors only).
    let count = std::env::var("PAIRED_BENCH_AGENT_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(AGENT_RUNS);
    let runs = (0..count).map(|n| {
        let ask = if n % 2 == 0 {
            json!({"agent": "sherlock", "uri": format!("file://{folder}/{}", files[n % files.len()].0), "wait": true})
        } else {
            json!({"agent": "leonardo", "workspace": folder, "wait": true})
        };
        async move {
            let run: Result<Value, _> = client.request("agents/run", jsonrpsee::rpc_params![ask]).await;
            run.is_ok_and(|r| matches!(r["status"].as_str(), Some("succeeded" | "no_result")))
        }
    });
    futures::stream::iter(runs).buffer_unordered(10).filter(|ok| std::future::ready(*ok)).count().await
}

fn print_rows(rows: Vec<Row>) {
    println!();
    println!(
        "| server | spawn → initialize | RSS after init | RSS after the burst (the server process alone: anonymous + file-backed) | burst → barrier reply | CPU during the burst |"
    );
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {:.1} ms | {} | {} ({}: {} + {}) | {:.3} s | {:.2} s |",
            row.name,
            row.initialize.as_secs_f64() * 1e3,
            mib(row.rss_init),
            mib(row.rss_burst),
            mib(row.rss_proxy),
            mib(row.rss_proxy_anon),
            mib(row.rss_proxy.saturating_sub(row.rss_proxy_anon)),
            row.burst.as_secs_f64(),
            row.cpu.as_secs_f64()
        );
    }
}

struct Row {
    name: String,
    initialize: Duration,
    rss_init: u64,
    rss_burst: u64,
    /// The server's own process (for `paired lsp`: the proxy alone).
    rss_proxy: u64,
    rss_proxy_anon: u64,
    burst: Duration,
    cpu: Duration,
}

/// Five runs of the burst against a fresh server process each; medians. RSS
/// and CPU count the server and, for `paired lsp`, the daemon's growth too.
fn measure(name: &str, files: &[(String, String)], spawn: impl Fn() -> (Command, Option<u32>)) -> Row {
    let mut initialize = Vec::new();
    let mut rss_init = Vec::new();
    let mut rss_burst = Vec::new();
    let mut rss_proxy = Vec::new();
    let mut rss_proxy_anon = Vec::new();
    let mut burst = Vec::new();
    let mut cpu = Vec::new();
    for run in 0..RUNS {
        let (command, daemon) = spawn();
        let daemon_before = daemon.map_or(0, daemon_rss_kib);
        // The workspace is on disk before the clock starts: writing 1.8 MB
        // while the server starts was counted as its `initialize` before.
        let root = std::env::temp_dir().join(format!("paired-bench-editor-{}-{run}", std::process::id()));
        std::fs::create_dir_all(&root).expect("root");
        for (path, text) in files {
            std::fs::write(root.join(path), text).expect("write");
        }
        let started = Instant::now();
        let mut lsp = Lsp::spawn(command);
        lsp.initialize(&root);
        initialize.push(started.elapsed());
        let pid = lsp.child.id();
        std::thread::sleep(Duration::from_millis(200));
        rss_init.push(rss_kib(pid));
        let cpu_before = cpu_time(pid) + daemon.map_or(Duration::ZERO, cpu_time);

        let frames = burst_frames(&root, files);
        let started = Instant::now();
        let reply = burst_of_edits(&mut lsp, &root, files, &frames);
        burst.push(started.elapsed());
        assert!(reply.get("error").is_none(), "{name}: {reply}");
        cpu.push((cpu_time(pid) + daemon.map_or(Duration::ZERO, cpu_time)).saturating_sub(cpu_before));
        rss_burst.push(rss_kib(pid) + daemon.map_or(0, |d| daemon_rss_kib(d).saturating_sub(daemon_before)));
        rss_proxy.push(rss_kib(pid));
        if let Ok(dir) = std::env::var("PAIRED_BENCH_SMAPS") {
            let _ = std::fs::copy(format!("/proc/{pid}/smaps"), format!("{dir}/smaps-{run}"));
            let _ = std::fs::copy(format!("/proc/{pid}/status"), format!("{dir}/status-{run}"));
        }
        rss_proxy_anon.push(status_kib(pid, "RssAnon"));
        let _ = lsp.request("shutdown", Value::Null);
        lsp.notify("exit", Value::Null);
        lsp.close_stdin();
        let _ = lsp.wait_exit(Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(&root);
    }
    Row {
        name: name.to_owned(),
        initialize: median(initialize),
        rss_init: median(rss_init),
        rss_burst: median(rss_burst),
        rss_proxy: median(rss_proxy),
        rss_proxy_anon: median(rss_proxy_anon),
        burst: median(burst),
        cpu: median(cpu),
    }
}

/// The burst's notifications, as the frames an editor writes: made before
/// the clock starts, so that the bench's own JSON work is not what the
/// server's processes wait behind (ten editors' worth of it did, on 2 cores).
fn burst_frames(root: &Path, files: &[(String, String)]) -> Vec<u8> {
    let uris: Vec<String> = files.iter().map(|(path, _)| format!("file://{}/{path}", root.display())).collect();
    let mut frames = Vec::new();
    for (i, (path, text)) in files.iter().enumerate() {
        let language = if path.ends_with(".py") { "python" } else { "rust" };
        frames.extend(tests::frame(&json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": uris[i], "languageId": language, "version": 1, "text": text}}})));
    }
    for change in 0..CHANGES {
        let i = change % files.len();
        let text = format!("{}\n// edit {change}\n", files[i].1);
        frames.extend(tests::frame(&json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": uris[i], "version": 2 + change}, "contentChanges": [{"text": text}]}})));
    }
    frames
}

/// The burst ([`burst_frames`]) written, then the barrier: returns its reply.
fn burst_of_edits(lsp: &mut Lsp, root: &Path, files: &[(String, String)], frames: &[u8]) -> Value {
    lsp.send_frames(frames);
    lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": format!("file://{}/{}", root.display(), files[0].0)}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}),
    )
}

/// `editors` editors at once, each its own workspace of the same files, all
/// starting the burst together: each burst's time, and the daemon's largest RSS.
fn many_at_once(
    editors: usize,
    files: &[(String, String)],
    commands: Vec<Command>,
    daemon: u32,
) -> (Vec<Duration>, u64, Duration) {
    let start = std::sync::Barrier::new(editors);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(daemon_rss_kib(daemon));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        let workers: Vec<_> = commands
            .into_iter()
            .enumerate()
            .map(|(n, command)| {
                let start = &start;
                scope.spawn(move || {
                    let root = std::env::temp_dir().join(format!("paired-bench-many-{}-{n}", std::process::id()));
                    std::fs::create_dir_all(&root).expect("root");
                    for (path, text) in files {
                        std::fs::write(root.join(path), text).expect("write");
                    }
                    let mut lsp = Lsp::spawn(command);
                    lsp.initialize(&root);
                    let frames = burst_frames(&root, files);
                    start.wait();
                    let started = Instant::now();
                    let reply = burst_of_edits(&mut lsp, &root, files, &frames);
                    let took = started.elapsed();
                    assert!(reply.get("error").is_none(), "editor {n}: {reply}");
                    let cpu = cpu_time(lsp.child.id());
                    let _ = lsp.request("shutdown", Value::Null);
                    lsp.notify("exit", Value::Null);
                    lsp.close_stdin();
                    let _ = lsp.wait_exit(Duration::from_secs(5));
                    let _ = std::fs::remove_dir_all(&root);
                    (took, cpu)
                })
            })
            .collect();
        let (times, cpu): (Vec<Duration>, Vec<Duration>) =
            workers.into_iter().map(|w| w.join().expect("editor")).unzip();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (times, sampler.join().expect("sampler"), cpu.into_iter().sum())
    })
}

/// 200 real files: Rust from the crates cargo downloaded, Python from the
/// standard library, the biggest first until ~1.8 MB.
fn corpus() -> Vec<(String, String)> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    collect(&tests::bench_tree(), "rs", &mut candidates, 4000);
    for python in ["/usr/lib/python3.11", "/usr/lib/python3"] {
        collect(Path::new(python), "py", &mut candidates, 4000);
    }
    candidates.sort();
    let mut rust = Vec::new();
    let mut python = Vec::new();
    for path in candidates {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        // Real-shaped: a few hundred lines, not generated tables.
        if !(2_000..=30_000).contains(&text.len()) {
            continue;
        }
        let name =
            format!("f{}_{}", rust.len() + python.len(), path.file_name().and_then(|n| n.to_str()).unwrap_or("x"));
        if path.extension().is_some_and(|e| e == "py") { &mut python } else { &mut rust }.push((name, text));
    }
    let mut files: Vec<(String, String)> = Vec::new();
    let (mut r, mut p) = (rust.into_iter(), python.into_iter());
    while files.len() < OPENS {
        match (files.len() % 2, r.next(), p.next()) {
            (_, Some(a), Some(b)) => files.extend([a, b]),
            (_, Some(a), None) => files.push(a),
            (_, None, Some(b)) => files.push(b),
            (_, None, None) => break,
        }
    }
    files.truncate(OPENS);
    // Scale to ~1.8 MB in all, as measured in the issue.
    let mut total = 0;
    files.retain(|(_, text)| {
        total += text.len();
        total <= 1_800_000 || text.len() < 4_000
    });
    files
}

fn collect(dir: &Path, extension: &str, out: &mut Vec<PathBuf>, limit: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if out.len() >= limit {
            return;
        }
        if path.is_dir() && !path.is_symlink() {
            collect(&path, extension, out, limit);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

/// A process's CPU time, with its children's it has waited for (the daemon's
/// index helpers that have ended) and, for a daemon, its running helpers'.
fn cpu_time(pid: u32) -> Duration {
    let ticks = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        // utime, stime, cutime, cstime.
        (11..=14).filter_map(|i| fields.get(i)?.parse::<u64>().ok()).sum()
    };
    let all = ticks(pid) + tests::index_helpers(pid).into_iter().map(ticks).sum::<u64>();
    Duration::from_millis(all * 10)
}

/// The bench process's own CPU time (the editors' side of the bursts), not
/// its children's.
fn own_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = (11..=12).filter_map(|i| fields.get(i)?.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The floor: a language server that does nothing but read its input, keep
/// each document's text and answer.
#[path = "editor/probe.rs"]
mod probe;

mod floor {
    use std::{
        collections::HashMap,
        io::{BufRead, BufReader, Read, Write},
    };

    use serde_json::{Value, json};

    pub fn serve() {
        let stdin = std::io::stdin();
        let mut input = BufReader::new(stdin.lock());
        let mut output = std::io::stdout().lock();
        let mut documents: HashMap<String, String> = HashMap::new();
        loop {
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if input.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if let Some(n) = line.trim().strip_prefix("Content-Length:") {
                    length = n.trim().parse().unwrap_or(0);
                }
                if line.trim().is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            if input.read_exact(&mut body).is_err() {
                return;
            }
            let Ok(message) = serde_json::from_slice::<Value>(&body) else { continue };
            let method = message["method"].as_str().unwrap_or("");
            let params = &message["params"];
            let result = match method {
                "initialize" => Some(json!({"capabilities": {"textDocumentSync": 1, "codeActionProvider": true}})),
                "textDocument/didOpen" => {
                    let document = &params["textDocument"];
                    documents.insert(
                        document["uri"].as_str().unwrap_or("").to_owned(),
                        document["text"].as_str().unwrap_or("").to_owned(),
                    );
                    None
                }
                "textDocument/didChange" => {
                    if let Some(text) = params["contentChanges"][0]["text"].as_str() {
                        documents
                            .insert(params["textDocument"]["uri"].as_str().unwrap_or("").to_owned(), text.to_owned());
                    }
                    None
                }
                "exit" => return,
                _ if message.get("id").is_some() => {
                    Some(if method == "textDocument/codeAction" { json!([]) } else { Value::Null })
                }
                _ => None,
            };
            if let (Some(result), Some(id)) = (result, message.get("id")) {
                let reply = json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string();
                let _ = write!(output, "Content-Length: {}\r\n\r\n{reply}", reply.len());
                let _ = output.flush();
            }
        }
    }
}
