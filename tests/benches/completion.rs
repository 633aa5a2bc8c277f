//! Inline completions (issue #17.3), against a fill-in-the-middle server on
//! loopback that answers at once (the model's time taken out):
//!
//! 1. The daemon's overhead per `completion/inline` (everything but the model:
//!    the document, the index's definitions of names in scope, redaction, the
//!    request, the stream cut, tree-sitter's settle): each request's round trip
//!    less the median of the same server called directly, in the same run.
//!    Every request is at another line of `glob`'s `src/lib.rs` (vendored in
//!    `tests/fixtures/projects/glob`), so none is served from the cache.
//! 2. Keystroke to completion through `paired lsp`: a `didChange` typing one
//!    character, then an automatic `textDocument/inlineCompletion`, until the
//!    reply; with the proxy's debounce off, and at its default (50 ms).
//! 3. Cancel to abort: `$/cancelRequest` of a completion whose model is
//!    streaming, until the model's server sees its connection close.
//!
//! Run: `cargo bench -p tests --bench completion` (builds the release binary).

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use protocol::{
    completion::{Inline, InlineParams, Trigger},
    documents::{self, OpenParams, Position},
};
use serde_json::json;
use tests::{
    Home, Lsp, Rpc,
    fake_provider::{Fake, Reply, direct_call, openai_fim, serve_fake},
};

const SAMPLES: usize = 300;
const KEYSTROKES: usize = 100;
const CANCELS: usize = 40;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (port, fake) = runtime.block_on(serve_fake(vec![]));
    let instant = Reply::Stream {
        content_type: "text/event-stream",
        chunks: openai_fim(&["next_item();"]),
        gap: Duration::ZERO,
        stall: false,
    };
    *fake.fallback.lock().expect("lock") = Some(instant);

    let home = Home::new();
    let root = home.path().join("glob");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/glob"), &root);
    // `PAIRED_BENCH_COMPLETION="context_tokens = 0"`: other `[completion]` settings.
    let extra = std::env::var("PAIRED_BENCH_COMPLETION").unwrap_or_default();
    home.write_config(&format!(
        "[agents]\nprovider = \"fim\"\n[providers.fim]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"m\"\n[completion]\n{extra}\n"
    ));
    if !extra.is_empty() {
        println!("[completion] {extra}");
    }
    let daemon = home.start_daemon();
    println!("binary: {}", tests::paired_bin().display());
    let source_path = root.join("src/lib.rs");
    let source = std::fs::read_to_string(&source_path).expect("glob's lib.rs");
    let uri = format!("file://{}", source_path.canonicalize().expect("canonical").display());
    // Cursors at the end of statements inside functions: where one types.
    let cursors: Vec<Position> = source
        .lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with("        ") && line.trim_end().ends_with(';'))
        .map(|(n, line)| Position { line: n as u32, character: line.trim_end().len() as u32 })
        .collect();
    println!("document: glob src/lib.rs, {} lines; {} distinct cursors", source.lines().count(), cursors.len());

    let (direct, overhead) = runtime.block_on(async {
        let client = home.ws().await;
        tests::add_workspace(&client, &root).await;
        let open = OpenParams { uri: uri.clone(), language_id: "rust".into(), version: 1, text: source.clone() };
        client.call::<documents::Open>(open).await;
        let mut direct = Vec::new();
        for _ in 0..SAMPLES {
            direct.push(direct_call(port).await.1);
        }
        let mut round_trips = Vec::new();
        for i in 0..SAMPLES {
            let position = cursors[i % cursors.len()];
            let params = InlineParams { uri: uri.clone(), position, key: None, trigger: Trigger::Invoked };
            let started = Instant::now();
            let reply = client.call::<Inline>(params).await;
            round_trips.push(started.elapsed());
            assert!(i >= cursors.len() || !reply.cached, "each sample asks the model");
        }
        (direct, round_trips)
    });
    let floor = percentile(&direct, 50);
    let overhead: Vec<Duration> = overhead.iter().map(|d| d.saturating_sub(floor)).collect();
    println!("\n1. daemon overhead per completion ({SAMPLES} requests, distinct cursors; model time taken out)");
    println!("   the FIM server alone:        p50 {}  p99 {}", ms(floor), ms(percentile(&direct, 99)));
    println!(
        "   overhead (round trip - p50 of the server alone): p50 {}  p99 {}   target p50 <= 2 ms, p99 <= 10 ms",
        ms(percentile(&overhead, 50)),
        ms(percentile(&overhead, 99))
    );

    if std::env::var("PAIRED_BENCH_ONLY").is_ok_and(|only| only == "overhead") {
        return;
    }
    println!("\n2. keystroke -> completion through `paired lsp` ({KEYSTROKES} keystrokes each)");
    for debounce in [Some(0), None] {
        let times = keystrokes(&home, &root, &source_path, &source, debounce);
        let label = debounce.map_or("default debounce (50 ms)".to_owned(), |d| format!("debounce {d} ms"));
        println!(
            "   {label:<26} p50 {}  p99 {}   (the server alone: p50 {})",
            ms(percentile(&times, 50)),
            ms(percentile(&times, 99)),
            ms(floor)
        );
    }

    let aborts = cancels(&home, &root, &source_path, &source, &fake);
    println!(
        "\n3. $/cancelRequest -> the model's connection closed ({CANCELS} cancels): p50 {}  p99 {}   target <= 5 ms",
        ms(percentile(&aborts, 50)),
        ms(percentile(&aborts, 99))
    );
    drop(daemon);
}

/// One editor typing at the end of statements, asking after each keystroke.
fn keystrokes(home: &Home, root: &Path, path: &Path, source: &str, debounce: Option<u64>) -> Vec<Duration> {
    let mut lsp = home.lsp();
    let uri = format!("file://{}", path.canonicalize().expect("canonical").display());
    let folder = format!("file://{}", root.canonicalize().expect("canonical").display());
    let mut options = json!({"paired": {}});
    if let Some(ms) = debounce {
        options["paired"]["completion"] = json!({"debounceMs": ms});
    }
    lsp.request(
        "initialize",
        json!({"processId": std::process::id(), "rootUri": folder, "capabilities": {},
               "workspaceFolders": [{"uri": folder, "name": "glob"}], "initializationOptions": options}),
    );
    lsp.notify("initialized", json!({}));
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": source}}),
    );
    let lines: Vec<(u32, u32)> = source
        .lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with("        ") && line.trim_end().ends_with(';'))
        .map(|(n, line)| (n as u32, line.len() as u32))
        .collect();
    let mut times = Vec::new();
    for (i, (line, end)) in lines.iter().cycle().take(KEYSTROKES).enumerate() {
        // A space after the statement, then ask: another place every time.
        let at = json!({"line": line, "character": end});
        let started = Instant::now();
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": i + 2},
                   "contentChanges": [{"range": {"start": at, "end": at}, "text": " "}]}),
        );
        let reply = lsp.request(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": end + 1},
                   "context": {"triggerKind": 2}}),
        );
        times.push(started.elapsed());
        assert!(reply["result"]["items"].is_array(), "{reply}");
    }
    times
}

/// Completions cancelled while their model streams: until the connection closes.
fn cancels(home: &Home, root: &Path, path: &Path, source: &str, fake: &Arc<Fake>) -> Vec<Duration> {
    let stalled = Reply::Stream {
        content_type: "text/event-stream",
        chunks: openai_fim(&["partial"])[..1].to_vec(),
        gap: Duration::ZERO,
        stall: true,
    };
    *fake.fallback.lock().expect("lock") = Some(stalled);
    let mut lsp: Lsp = home.lsp();
    lsp.initialize(root);
    let uri = format!("file://{}", path.canonicalize().expect("canonical").display());
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": source}}),
    );
    let lines: Vec<(usize, &str)> =
        source.lines().enumerate().filter(|(_, l)| l.starts_with("        ") && l.ends_with(';')).collect();
    let mut times = Vec::new();
    for (line, text) in lines.iter().take(CANCELS) {
        *fake.closed_at.lock().expect("lock") = None;
        let asked = fake.requests.lock().expect("lock").len();
        let id = lsp.request_async(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": text.len()},
                   "context": {"triggerKind": 1}}),
        );
        tests::wait_until("the model to be asked", Duration::from_secs(10), || {
            fake.requests.lock().expect("lock").len() > asked
        });
        std::thread::sleep(Duration::from_millis(20));
        let sent = Instant::now();
        lsp.notify("$/cancelRequest", json!({"id": id}));
        let closed = tests::poll_for("the model's connection to close", Duration::from_secs(10), || {
            *fake.closed_at.lock().expect("lock")
        });
        times.push(closed.0.saturating_duration_since(sent));
        let reply = lsp.response(id, Duration::from_secs(10));
        assert_eq!(reply["error"]["code"], -32800, "{reply}");
    }
    times
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn percentile(samples: &[Duration], p: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) * p / 100).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
