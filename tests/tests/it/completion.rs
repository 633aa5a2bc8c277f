//! Inline completions end to end: the real `paired lsp` and daemon against a
//! fill-in-the-middle server on loopback speaking OpenAI's `/completions`,
//! llama.cpp's `/infill` and Ollama's `/api/generate` streams.

use std::time::{Duration, Instant};

use protocol::{
    completion::{Inline, InlineParams, Trigger},
    documents::{self, OpenParams, Position},
};
use serde_json::{Value, json};
use tests::{
    Home, Rpc,
    fake_provider::{Fake, Reply, llamacpp_infill, ollama_generate, openai_fim, openai_text, serve_fake},
};

const MAIN: &str =
    "mod geometry;\nuse geometry::area;\n\nfn main() {\n    let unit = area(1.0, 1.0);\n    let a = \n}\n";

/// A Rust project whose `main` calls a function defined in another file.
fn project(home: &Home) -> std::path::PathBuf {
    let root = home.path().join("shapes");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"shapes\"\nversion = \"0.1.0\"\n").expect("write");
    std::fs::write(
        root.join("src/geometry.rs"),
        "/// The area of a rectangle.\npub fn area(w: f64, h: f64) -> f64 {\n    w * h\n}\n",
    )
    .expect("write");
    std::fs::write(root.join("src/main.rs"), MAIN).expect("write");
    root.canonicalize().expect("canonical")
}

fn config(port: u16, completion: &str) -> String {
    format!(
        "[agents]\nprovider = \"fim\"\n[providers.fim]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"chat-model\"\nlocal = true\n[completion]\n{completion}"
    )
}

fn stream(chunks: Vec<String>, gap_ms: u64, stall: bool) -> Reply {
    Reply::Stream { content_type: "text/event-stream", chunks, gap: Duration::from_millis(gap_ms), stall }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime")
}

/// The cursor after `let a = ` in [`MAIN`].
fn cursor() -> Value {
    json!({"line": 5, "character": 12})
}

/// `textDocument/didOpen` of a Rust document.
fn open(lsp: &mut tests::Lsp, uri: &str, text: &str) {
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
    );
}

fn requests(fake: &Fake) -> Vec<(String, Value)> {
    fake.requests.lock().expect("lock").clone()
}

#[test]
fn completions_fill_in_the_middle_stop_where_the_block_ends_and_are_cached() {
    let runtime = runtime();
    // The model goes on past the end of `main`: the daemon stops reading there.
    let pieces = ["area(2.0", ", 3.0);\n", "    println!(\"{a}\");\n", "}\n", "\nfn unrelated() {}\n", "// more\n"];
    let (port, fake) = runtime.block_on(serve_fake(vec![stream(openai_fim(&pieces), 30, true)]));
    let home = Home::new();
    let root = project(&home);
    home.write_config(&config(port, "model = \"fim-model\"\n"));
    let _daemon = home.start_daemon();
    let mut lsp = home.lsp();
    let init = lsp.initialize(&root);
    assert_eq!(init["result"]["capabilities"]["inlineCompletionProvider"], true, "{init}");
    let uri = format!("file://{}/src/main.rs", root.display());
    open(&mut lsp, &uri, MAIN);
    tests::wait_until("the workspace to be indexed", Duration::from_secs(20), || {
        lsp.request("workspace/symbol", json!({"query": "area"}))["result"].as_array().is_some_and(|s| !s.is_empty())
    });

    let ask = |lsp: &mut tests::Lsp| {
        lsp.request(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": uri}, "position": cursor(), "context": {"triggerKind": 1}}),
        )
    };
    let reply = ask(&mut lsp);
    let items = reply["result"]["items"].as_array().unwrap_or_else(|| panic!("{reply}")).clone();
    assert_eq!(items.len(), 1, "{reply}");
    assert_eq!(items[0]["insertText"], "area(2.0, 3.0);\n    println!(\"{a}\");", "cut before `}}`: {reply}");
    assert_eq!(items[0]["range"], json!({"start": cursor(), "end": cursor()}));

    let sent = requests(&fake);
    assert_eq!(sent.len(), 1);
    let (head, body) = &sent[0];
    assert!(head.starts_with("POST /v1/completions "), "{head}");
    assert_eq!(body["model"], "fim-model", "[completion] model overrides the provider's");
    assert_eq!(body["stream"], true);
    assert_eq!(body["suffix"], "\n}\n");
    let prompt = body["prompt"].as_str().expect("prompt");
    assert!(prompt.ends_with("fn main() {\n    let unit = area(1.0, 1.0);\n    let a = "), "{prompt}");
    assert!(prompt.contains("// Path: src/geometry.rs"), "the definition of a name in scope goes along: {prompt}");
    assert!(prompt.contains("// pub fn area(w: f64, h: f64) -> f64 {"), "{prompt}");
    tests::wait_until("the stream to be dropped at the block's end", Duration::from_secs(10), || {
        fake.closed_at.lock().expect("lock").is_some()
    });
    let (_, chunks_sent) = fake.closed_at.lock().expect("lock").expect("closed");
    assert!(chunks_sent < pieces.len() + 2, "stopped before the model did: {chunks_sent} chunks");

    // Asked again at the same place: from the cache, no new request.
    let again = ask(&mut lsp);
    assert_eq!(again["result"]["items"][0]["insertText"], items[0]["insertText"], "{again}");
    // The user types the start of the completion: the rest, still no request.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"range": {"start": cursor(), "end": cursor()}, "text": "area("}]}),
    );
    let typed = lsp.request(
        "textDocument/inlineCompletion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 5, "character": 17}, "context": {"triggerKind": 2}}),
    );
    assert_eq!(typed["result"]["items"][0]["insertText"], "2.0, 3.0);\n    println!(\"{a}\");", "{typed}");
    assert_eq!(requests(&fake).len(), 1, "served from the cache");
    // In the middle of a word, typing gets nothing (and asks nobody).
    let mid_word = lsp.request(
        "textDocument/inlineCompletion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 5, "character": 14}, "context": {"triggerKind": 2}}),
    );
    assert_eq!(mid_word["result"]["items"], json!([]), "{mid_word}");
    assert_eq!(requests(&fake).len(), 1);

    // The places edited last go along — this project's only.
    *fake.fallback.lock().expect("lock") = Some(stream(openai_fim(&["1"]), 0, false));
    let util = format!("file://{}/src/util.rs", root.display());
    let elsewhere = home.path().join("notes/private.rs");
    std::fs::create_dir_all(elsewhere.parent().expect("parent")).expect("mkdir");
    std::fs::write(&elsewhere, "").expect("write");
    let private = format!("file://{}", elsewhere.canonicalize().expect("canonical").display());
    for (uri, text) in [(&util, "pub fn util_marker() -> u8 {\n    \n}\n"), (&private, "const PRIVATE_MARKER: u8 = \n")]
    {
        open(&mut lsp, uri, text);
        lsp.request(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}, "context": {"triggerKind": 1}}),
        );
    }
    lsp.request(
        "textDocument/inlineCompletion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 4, "character": 30}, "context": {"triggerKind": 1}}),
    );
    let (_, last) = requests(&fake).pop().expect("asked");
    let prompt = last["prompt"].as_str().expect("prompt");
    assert!(prompt.contains("// Path: src/util.rs") && prompt.contains("util_marker"), "{prompt}");
    assert!(!prompt.contains("PRIVATE_MARKER"), "a file of no workspace of this document stays out: {prompt}");
    // Each completion the model made is a usage event (a cached one is not).
    let db = rusqlite::Connection::open(home.database()).expect("database");
    let rows = || -> Vec<(String, Option<String>, i64, String)> {
        db.prepare("SELECT kind, model, tokens_out, outcome FROM usage_events")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect())
            .unwrap_or_default()
    };
    let expected = ("completion".to_owned(), Some("fim-model".to_owned()), true, "succeeded".to_owned());
    let asked = requests(&fake).len();
    let seen = tests::poll_for("the completions' usage", std::time::Duration::from_secs(10), || {
        let rows = rows();
        (rows.len() >= asked).then_some(rows)
    });
    let seen: Vec<_> = seen.into_iter().map(|(k, m, t, o)| (k, m, t > 0, o)).collect();
    assert_eq!(seen, vec![expected; asked], "one event per request the model answered");
}

#[test]
fn cancelling_a_completion_in_the_editor_aborts_the_model_request() {
    let runtime = runtime();
    let (port, fake) = runtime.block_on(serve_fake(vec![stream(openai_fim(&["area("])[..1].to_vec(), 0, true)]));
    let home = Home::new();
    let root = project(&home);
    home.write_config(&config(port, "context_tokens = 0\n"));
    let _daemon = home.start_daemon();
    let mut lsp = home.lsp();
    lsp.initialize(&root);
    let uri = format!("file://{}/src/main.rs", root.display());
    open(&mut lsp, &uri, MAIN);
    let id = lsp.request_async(
        "textDocument/inlineCompletion",
        json!({"textDocument": {"uri": uri}, "position": cursor(), "context": {"triggerKind": 1}}),
    );
    tests::wait_until("the model to be asked", Duration::from_secs(20), || !requests(&fake).is_empty());
    std::thread::sleep(Duration::from_millis(100));
    let cancelled = Instant::now();
    lsp.notify("$/cancelRequest", json!({"id": id}));
    let reply = lsp.response(id, Duration::from_secs(10));
    assert_eq!(reply["error"]["code"], -32800, "{reply}");
    tests::wait_until("the model request to be aborted", Duration::from_secs(10), || {
        fake.closed_at.lock().expect("lock").is_some()
    });
    let (closed, _) = fake.closed_at.lock().expect("lock").expect("closed");
    assert!(closed >= cancelled, "closed by the cancel, not before it");
}

#[tokio::test]
async fn a_newer_request_for_the_same_document_supersedes_the_older_and_cancel_by_key_aborts() {
    let (port, fake) = serve_fake(vec![
        stream(openai_fim(&["slow"])[..1].to_vec(), 0, true),
        stream(openai_fim(&["area(4.0, 5.0);"]), 0, false),
        stream(openai_fim(&["never"])[..1].to_vec(), 0, true),
    ])
    .await;
    let home = Home::new();
    let root = project(&home);
    home.write_config(&config(port, "context_tokens = 0\n"));
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let uri = format!("file://{}/src/main.rs", root.display());
    let open = OpenParams { uri: uri.clone(), language_id: "rust".into(), version: 1, text: MAIN.into() };
    client.call::<documents::Open>(open).await;
    let params = |key: &str| InlineParams {
        uri: uri.clone(),
        position: Position { line: 5, character: 12 },
        key: Some(key.into()),
        trigger: Trigger::Invoked,
    };
    let first = client.try_call::<Inline>(params("first"));
    let second = async {
        tests::eventually("the first request to reach the model", async || !requests(&fake).is_empty()).await;
        client.call::<Inline>(params("second")).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.expect_err("superseded").code, -32800);
    assert_eq!(second.items[0].insert_text, "area(4.0, 5.0);");
    tests::eventually("the superseded model request to be aborted", async || {
        fake.closed_at.lock().expect("lock").is_some()
    })
    .await;

    *fake.closed_at.lock().expect("lock") = None;
    // Elsewhere in the file (the same place would be answered from the cache).
    let third =
        client.try_call::<Inline>(InlineParams { position: Position { line: 6, character: 1 }, ..params("third") });
    let cancel = async {
        tests::eventually("the third request to reach the model", async || requests(&fake).len() == 3).await;
        client.call::<protocol::completion::Cancel>(protocol::completion::CancelParams { key: "third".into() }).await
    };
    let (third, cancelled) = tokio::join!(third, cancel);
    assert!(cancelled.cancelled);
    assert_eq!(third.expect_err("cancelled").code, -32800);
    tests::eventually("the cancelled model request to be aborted", async || {
        fake.closed_at.lock().expect("lock").is_some()
    })
    .await;
    let unknown =
        client.call::<protocol::completion::Cancel>(protocol::completion::CancelParams { key: "third".into() }).await;
    assert!(!unknown.cancelled, "nothing left to cancel");

    // A cancel that overtakes its request (the editor gave up while it was on
    // its way): the request, when it comes, is not sent to the model. Only for
    // a client that said who it is (connections that never attached share one id).
    let _events = tests::attach(&client, tests::hello(protocol::client::ClientKind::Lsp, "editor")).await;
    let early =
        client.call::<protocol::completion::Cancel>(protocol::completion::CancelParams { key: "fourth".into() }).await;
    assert!(!early.cancelled, "nothing was in flight yet");
    let fourth = client
        .try_call::<Inline>(InlineParams { position: Position { line: 4, character: 1 }, ..params("fourth") })
        .await;
    assert_eq!(fourth.expect_err("cancelled before it came").code, -32800);
    assert_eq!(requests(&fake).len(), 3, "the model was not asked");
}

#[tokio::test]
async fn llama_cpp_and_ollama_are_asked_in_their_own_wire_formats() {
    let (port, fake) = serve_fake(vec![
        stream(llamacpp_infill(&["area(", "2.0, 2.0);"]), 0, false),
        Reply::Stream {
            content_type: "application/x-ndjson",
            chunks: ollama_generate(&["area(", "3.0, 3.0);"]),
            gap: Duration::ZERO,
            stall: false,
        },
        stream(openai_fim(&["area(5.0, 5.0);"]), 0, false),
        stream(openai_text(&["area(7.0, ", "7.0);"]), 0, false),
    ])
    .await;
    let uri_of = |root: &std::path::Path| format!("file://{}/src/main.rs", root.display());
    for (api, expected_path, expected) in [
        ("api = \"llamacpp\"\n", "POST /infill ", "area(2.0, 2.0);"),
        ("api = \"ollama\"\n", "POST /api/generate ", "area(3.0, 3.0);"),
        ("api = \"template\"\ntemplate = \"qwen\"\n", "POST /v1/completions ", "area(5.0, 5.0);"),
        // A chat model through a fill-in prompt, held to [completion] max_tokens.
        ("api = \"chat\"\nmax_tokens = 48\n", "POST /v1/chat/completions ", "area(7.0, 7.0);"),
    ] {
        let home = Home::new();
        let root = project(&home);
        home.write_config(&config(port, &format!("{api}context_tokens = 0\n")));
        let _daemon = home.start_daemon();
        let client = home.ws().await;
        let open = OpenParams { uri: uri_of(&root), language_id: "rust".into(), version: 1, text: MAIN.into() };
        client.call::<documents::Open>(open).await;
        let reply = client
            .call::<Inline>(InlineParams {
                uri: uri_of(&root),
                position: Position { line: 5, character: 12 },
                key: None,
                trigger: Trigger::Invoked,
            })
            .await;
        assert_eq!(reply.items[0].insert_text, expected, "{api}");
        let (head, body) = requests(&fake).pop().expect("a request");
        assert!(head.starts_with(expected_path), "{api}: {head}");
        match expected_path {
            "POST /infill " => {
                assert!(body["input_prefix"].as_str().is_some_and(|p| p.ends_with("let a = ")), "{body}");
                assert_eq!(body["input_suffix"], "\n}\n");
            }
            "POST /api/generate " => {
                assert_eq!(body["suffix"], "\n}\n");
                assert_eq!(body["model"], "chat-model");
            }
            "POST /v1/chat/completions " => {
                assert_eq!(body["max_tokens"], 48, "[completion] max_tokens, not the provider's");
                let question = body["messages"][1]["content"].as_str().expect("the question");
                assert!(question.contains("let a = <FILL>"), "{question}");
            }
            _ => {
                let prompt = body["prompt"].as_str().expect("prompt");
                assert!(prompt.starts_with("<|fim_prefix|>mod geometry;"), "{prompt}");
                assert!(prompt.ends_with("let a = <|fim_suffix|>\n}\n<|fim_middle|>"), "{prompt}");
                assert!(body["stop"].as_array().is_some_and(|s| s.contains(&json!("<|endoftext|>"))), "{body}");
            }
        }
    }
}

#[test]
fn without_a_model_the_editor_is_told_once_and_excluded_files_are_never_sent() {
    let runtime = runtime();
    let (port, fake) = runtime.block_on(serve_fake(vec![]));
    let home = Home::new();
    let root = project(&home);
    std::fs::write(root.join(".pairedignore"), "src/secret.rs\n").expect("write");
    std::fs::write(root.join("src/secret.rs"), "const KEY: &str = \"\";\n").expect("write");
    let _daemon = home.start_daemon();
    let mut lsp = home.lsp();
    lsp.initialize(&root);
    let uri = format!("file://{}/src/main.rs", root.display());
    open(&mut lsp, &uri, MAIN);
    let ask = json!({"textDocument": {"uri": uri}, "position": cursor(), "context": {"triggerKind": 1}});
    let reply = lsp.request("textDocument/inlineCompletion", ask.clone());
    assert_eq!(reply["result"]["items"], json!([]), "{reply}");
    let told = lsp.wait_for_method("window/showMessage", Duration::from_secs(10));
    let message = told["params"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("[providers.NAME]") && message.contains("[completion] provider"), "{message}");
    lsp.request("textDocument/inlineCompletion", ask);
    assert!(
        !lsp.backlog.iter().any(|m| m["method"] == "window/showMessage"),
        "told once, not at every keystroke: {:?}",
        lsp.backlog
    );
    drop(lsp);

    // With a model: a file the project excludes is refused, and nothing is sent.
    drop(_daemon);
    let home = Home::new();
    let root = project(&home);
    std::fs::write(root.join(".pairedignore"), "src/secret.rs\n").expect("write");
    let secret = "const KEY: &str = \"\";\n";
    std::fs::write(root.join("src/secret.rs"), secret).expect("write");
    home.write_config(&config(port, ""));
    let _daemon = home.start_daemon();
    let mut lsp = home.lsp();
    lsp.initialize(&root);
    let uri = format!("file://{}/src/secret.rs", root.display());
    open(&mut lsp, &uri, secret);
    let reply = lsp.request(
        "textDocument/inlineCompletion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 19}, "context": {"triggerKind": 1}}),
    );
    assert_eq!(reply["result"]["items"], json!([]), "refused quietly, not an error at every key: {reply}");
    assert!(requests(&fake).is_empty(), "nothing of an excluded file reaches the model");
}

/// An editor without inline completions (Helix's capabilities: a completion
/// menu, no `inlineCompletion`) gets the model's completion as the first item
/// of its menu, through LSP alone; an editor with them gets no menu items
/// from PAIRED (it would show the same text twice).
#[test]
fn an_editor_without_inline_completions_gets_them_in_its_completion_menu() {
    let runtime = runtime();
    let pieces = ["area(2.0", ", 3.0);\n", "    println!(\"{a}\");\n", "}\n"];
    let replies = vec![stream(openai_fim(&pieces), 5, false), stream(openai_fim(&pieces), 5, false)];
    let (port, _fake) = runtime.block_on(serve_fake(replies));
    let home = Home::new();
    let root = project(&home);
    home.write_config(&config(port, ""));
    let _daemon = home.start_daemon();
    let uri = format!("file://{}/src/main.rs", root.display());
    let menu = |lsp: &mut tests::Lsp| {
        lsp.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": cursor(), "context": {"triggerKind": 1}}),
        )
    };

    let mut helix = home.lsp();
    let helix_capabilities = json!({"textDocument": {"completion": {"completionItem": {"snippetSupport": true}}}});
    let init = helix.initialize_with(&root, helix_capabilities);
    assert_eq!(init["result"]["capabilities"]["completionProvider"], json!({}), "{init}");
    open(&mut helix, &uri, MAIN);
    let reply = menu(&mut helix);
    let items = reply["result"]["items"].as_array().unwrap_or_else(|| panic!("{reply}")).clone();
    assert_eq!(items.len(), 1, "{reply}");
    let text = "area(2.0, 3.0);\n    println!(\"{a}\");";
    assert_eq!(items[0]["label"], "area(2.0, 3.0);…");
    assert_eq!(items[0]["detail"], "PAIRED (model)");
    assert_eq!(items[0]["textEdit"], json!({"range": {"start": cursor(), "end": cursor()}, "newText": text}));
    assert_eq!(reply["result"]["isIncomplete"], true);

    let mut vscode = home.lsp();
    let vscode_capabilities = json!({"textDocument": {"completion": {}, "inlineCompletion": {}}});
    let init = vscode.initialize_with(&root, vscode_capabilities);
    assert!(init["result"]["capabilities"].get("completionProvider").is_none(), "{init}");
    open(&mut vscode, &uri, MAIN);
    assert_eq!(menu(&mut vscode)["result"], Value::Null);
}
