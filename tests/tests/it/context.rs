//! The context engine through the real daemon: the workspace index and its
//! watcher, privacy, LSP symbols and progress, and `paired context`.

use std::{collections::BTreeMap, path::Path, time::Duration};

use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClient};
use protocol::{
    NoParams,
    client::{ClientHello, ClientKind, Event},
    context::{
        Build, BuildParams, ListWorkspaces, Outline, OutlineParams, SymbolMatch, SymbolQuery, Symbols, WorkspaceStatus,
    },
    daemon::Status,
};
use serde_json::{Value, json};
use tests::{Home, Rpc, attach, build_at, eventually, hello, next_event, wait_until};

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// A small Python project with an ignored secret file and an ignored build folder.
fn project(home: &Home) -> std::path::PathBuf {
    let root = home.path().join("proj");
    write(&root.join(".pairedignore"), "secrets.py\n");
    write(&root.join(".gitignore"), "build/\n");
    write(&root.join("pyproject.toml"), "[project]\ndependencies = [\"flask\"]\n[tool.pytest.ini_options]\n");
    write(
        &root.join("app/models.py"),
        "class User:\n    \"\"\"A user.\"\"\"\n    def __init__(self, name):\n        self.name = name\n\n\ndef load_user(name):\n    return User(name)\n",
    );
    write(
        &root.join("app/views.py"),
        "from app.models import User, load_user\nfrom app.secrets import hidden_helper\n\n\ndef show(name):\n    user = load_user(name)\n    token = hidden_helper()\n    return render(user)\n",
    );
    write(&root.join("app/secrets.py"), "def hidden_helper():\n    return 'NOT_FOR_AGENTS_marker'\n");
    write(&root.join("build/generated.py"), "def generated_thing():\n    pass\n");
    root.canonicalize().expect("canonical")
}

async fn add(client: &WsClient, root: &Path) -> WorkspaceStatus {
    tests::add_workspace(client, root).await
}

async fn search(client: &WsClient, query: &str) -> Vec<SymbolMatch> {
    client.call::<Symbols>(SymbolQuery { query: query.into(), limit: 100 }).await
}

async fn symbols(client: &WsClient, query: &str) -> Vec<String> {
    search(client, query)
        .await
        .iter()
        .map(|m| format!("{}@{}", m.name, m.uri.rsplit('/').next().unwrap_or("")))
        .collect()
}

/// An index warning from the client's events.
async fn index_warning(events: &mut jsonrpsee::core::client::Subscription<Event>) -> String {
    loop {
        if let Event::IndexWarning { message, .. } = next_event(events, Duration::from_secs(10)).await {
            return message;
        }
    }
}

#[tokio::test]
async fn ignored_files_never_appear_and_secrets_are_redacted() {
    let home = Home::new();
    let root = project(&home);
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let status = add(&client, &root).await;
    assert_eq!(status.state, "ready");
    assert_eq!(status.files, 3, "{status:?}"); // models.py, views.py, pyproject.toml: ignored files and dot-files left out
    assert_eq!(symbols(&client, "hidden_helper").await, Vec::<String>::new());
    assert_eq!(symbols(&client, "generated_thing").await, Vec::<String>::new());
    assert_eq!(symbols(&client, "load_user").await, ["load_user@models.py"]);

    let views = format!("file://{}", root.join("app/views.py").display());
    let bundle = client.call::<Build>(BuildParams { question: Some("why?".into()), ..build_at(&views, 5, 8) }).await;
    let kinds: Vec<&str> = bundle.parts.iter().map(|p| p.kind.name()).collect();
    assert_eq!(kinds, ["question", "selection", "definition", "import", "project_facts"], "{bundle:#?}");
    let everything = serde_json::to_string(&bundle).expect("json");
    assert!(!everything.contains("NOT_FOR_AGENTS_marker"), "nothing from an ignored file");
    assert!(!everything.contains("def hidden_helper"), "nothing from an ignored file");
    assert_eq!(bundle.facts.frameworks, ["flask"]);
    assert_eq!(bundle.facts.test_frameworks, ["pytest"]);

    // Excluded through the repository's own exclude file, which the walk reads too.
    std::fs::create_dir_all(root.join(".git/info")).expect("mkdir");
    std::fs::write(root.join(".git/info/exclude"), "local_notes.py\n").expect("write");
    write(&root.join("app/local_notes.py"), "def local_only():\n    pass\n");
    let notes = format!("file://{}", root.join("app/local_notes.py").display());
    let err = client.try_call::<Build>(build_at(&notes, 0, 0)).await.expect_err("excluded");
    assert!(err.message.contains("is excluded from context"), "{err}");
    let err = client.try_call::<Outline>(OutlineParams { uri: notes }).await.expect_err("excluded");
    assert!(err.message.contains("is excluded from context"), "{err}");

    let secret = format!("file://{}", root.join("app/secrets.py").display());
    let err = client.try_call::<Build>(build_at(&secret, 0, 0)).await.expect_err("ignored");
    assert!(err.message.contains("is excluded from context by .pairedignore"), "{err}");

    // A secret in a file that is not ignored is redacted, and counted.
    write(&root.join("app/settings.py"), "DATABASE_URL = 'postgres://app:s3cr3t-pw@db/app'\n");
    let settings = format!("file://{}", root.join("app/settings.py").display());
    let bundle = client.call::<Build>(build_at(&settings, 0, 0)).await;
    assert!(!serde_json::to_string(&bundle).expect("json").contains("s3cr3t-pw"));
    assert_eq!(bundle.redactions, BTreeMap::from([("connection-string-password".to_owned(), 1)]));
    assert!(!home.log().contains("s3cr3t-pw"), "the log names the rule, never the secret");
    let local = client.call::<Build>(BuildParams { local_provider: true, ..build_at(&settings, 0, 0) }).await;
    assert_eq!(local.redactions, BTreeMap::new());
}

#[tokio::test]
async fn the_index_follows_creates_edits_renames_and_deletes() {
    let home = Home::new();
    let root = project(&home);
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    add(&client, &root).await;

    write(&root.join("app/new_module.py"), "def brand_new_function():\n    pass\n");
    eventually("create", async || symbols(&client, "brand_new_function").await == ["brand_new_function@new_module.py"])
        .await;

    write(&root.join("app/new_module.py"), "def renamed_function():\n    pass\n");
    eventually("modify", async || {
        symbols(&client, "renamed_function").await == ["renamed_function@new_module.py"]
            && symbols(&client, "brand_new_function").await.is_empty()
    })
    .await;

    std::fs::rename(root.join("app/new_module.py"), root.join("app/moved.py")).expect("rename");
    eventually("rename", async || symbols(&client, "renamed_function").await == ["renamed_function@moved.py"]).await;

    std::fs::remove_file(root.join("app/moved.py")).expect("delete");
    eventually("delete", async || symbols(&client, "renamed_function").await.is_empty()).await;

    // A link created later is not followed: its target (outside the rules) never
    // enters the index.
    write(&home.path().join("outside/private.py"), "def private_outside_function():\n    pass\n");
    std::os::unix::fs::symlink(home.path().join("outside/private.py"), root.join("app/linked.py")).expect("symlink");
    write(&root.join("app/after_link.py"), "def after_the_link():\n    pass\n");
    eventually("a later file", async || symbols(&client, "after_the_link").await.len() == 1).await;
    assert!(symbols(&client, "private_outside_function").await.is_empty());

    // Editing .pairedignore re-applies the rules.
    write(&root.join(".pairedignore"), "secrets.py\nmodels.py\n");
    eventually("new ignore rules", async || symbols(&client, "load_user").await.is_empty()).await;
}

#[tokio::test]
async fn generated_and_huge_files_are_indexed_by_their_declarations() {
    let home = Home::new();
    let root = home.path().join("gen");
    write(
        &root.join("api/api.pb.go"),
        "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage api\n\ntype GetUserRequest struct {\n\tId string\n}\n\nfunc (x *GetUserRequest) GetId() string {\n\treturn x.Id\n}\n",
    );
    // Over the 256 KiB default: thousands of constants, like bindings.
    let mut huge = String::from("//! Bindings.\n");
    for i in 0..12_000 {
        huge.push_str(&format!("pub const BINDING_CONSTANT_{i}: u32 = {i}u32;\n"));
    }
    huge.push_str("pub fn last_binding_function() {\n    helper();\n}\n");
    write(&root.join("src/bindings.rs"), &huge);
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let status = add(&client, &root.canonicalize().expect("root")).await;
    assert_eq!(status.symbols, 12_001 + 2, "{status:?}");
    assert_eq!(status.shallow_files, 2, "one generated, one huge: {status:?}");

    let found = search(&client, "GetId").await;
    assert_eq!(found[0].name, "GetId", "{found:?}");
    assert_eq!(found[0].kind.name(), "method");
    assert_eq!(found[0].line, 7, "zero-based line of the declaration: {found:?}");
    assert_eq!(found[0].end_line, 9);
    let found = search(&client, "last_binding_function").await;
    assert_eq!(found[0].line, 12_001, "{found:?}");
    assert_eq!(found[0].end_line, 12_003, "{found:?}");
}

/// The languages indexed through their tags queries: a polyglot project's
/// symbols are found by name, with kinds, lines and outlines over the daemon.
#[tokio::test]
async fn c_cpp_csharp_ruby_php_kotlin_swift_and_shell_are_indexed_and_outlined() {
    let home = Home::new();
    let root = home.path().join("poly");
    write(
        &root.join("native/list.c"),
        "#include \"list.h\"\n\nint list_sum(const node_t *l) {\n    return l ? l->value + list_sum(l->next) : 0;\n}\n",
    );
    write(
        &root.join("native/shape.hpp"),
        "namespace geo {\nclass ShapeRegistry {\n  public:\n    int count() const { return 0; }\n};\n}\n",
    );
    write(
        &root.join("app/Checkout.cs"),
        "namespace Shop {\n  public class CheckoutService {\n    public decimal PriceOrder(int n) => n * 2m;\n  }\n}\n",
    );
    write(
        &root.join("lib/invoice.rb"),
        "module Billing\n  class InvoiceBuilder\n    def build_invoice\n    end\n  end\nend\n",
    );
    write(
        &root.join("web/controller.php"),
        "<?php\nclass UserController {\n  public function showUser($id) { return $id; }\n}\n",
    );
    write(&root.join("android/Cart.kt"), "class ShoppingCart {\n    fun addItem(name: String) {}\n}\n");
    write(&root.join("ios/Canvas.swift"), "struct CanvasView {\n    func drawShapes() {}\n}\n");
    write(&root.join("scripts/deploy.sh"), "#!/bin/sh\ndeploy_release() {\n  echo deploying\n}\n");
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let status = add(&client, &root.canonicalize().expect("root")).await;
    assert_eq!(status.files, 8, "{status:?}");
    for (name, kind, file) in [
        ("list_sum", "function", "list.c"),
        ("ShapeRegistry", "class", "shape.hpp"),
        ("PriceOrder", "method", "Checkout.cs"),
        ("InvoiceBuilder", "class", "invoice.rb"),
        ("build_invoice", "method", "invoice.rb"),
        ("showUser", "method", "controller.php"),
        ("addItem", "method", "Cart.kt"),
        ("CanvasView", "struct", "Canvas.swift"),
        ("drawShapes", "method", "Canvas.swift"),
        ("deploy_release", "function", "deploy.sh"),
    ] {
        let found = search(&client, name).await;
        let hit = found.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{name}: {found:?}"));
        assert_eq!((hit.kind.name(), hit.uri.rsplit('/').next().unwrap_or("")), (kind, file), "{name}");
    }
    let uri = format!("file://{}/lib/invoice.rb", root.canonicalize().expect("root").display());
    let outline = client.call::<protocol::context::Outline>(protocol::context::OutlineParams { uri }).await;
    assert_eq!(outline.language, protocol::context::Language::Ruby);
    assert_eq!(outline.symbols[0].name, "Billing");
    assert_eq!(outline.symbols[0].children[0].children[0].name, "build_invoice");
}

/// Reading files is not changing them: after indexing (which reads every file)
/// the index stays quiet instead of rescanning what it just read, forever.
#[tokio::test]
async fn reading_files_does_not_trigger_reindexing() {
    let home = Home::new();
    let root = home.path().join("many");
    for i in 0..2_500 {
        write(&root.join(format!("m{}/f{i}.py", i % 10)), &format!("def f{i}():\n    pass\n"));
    }
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let status = add(&client, &root.canonicalize().expect("root")).await;
    assert_eq!(status.files, 2_500);
    let uri = format!("file://{}", root.canonicalize().expect("root").join("m1/f1.py").display());
    for _ in 0..3 {
        client.call::<Build>(build_at(&uri, 1, 4)).await;
    }
    // Waiting for something not to happen: the reads' events (if taken for
    // changes) would have been handled well within this time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log = home.log();
    assert!(!log.contains("rescanning"), "reads were taken for changes:\n{log}");
    let listed = client.call::<ListWorkspaces>(NoParams {}).await;
    assert_eq!(listed[0].state, "ready", "{listed:?}");
}

#[tokio::test]
async fn five_thousand_files_at_once_like_a_branch_switch() {
    let home = Home::new();
    let root = project(&home);
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    add(&client, &root).await;
    let files = async || -> u32 { client.call::<ListWorkspaces>(NoParams {}).await[0].files };
    let before = files().await;
    for i in 0..5_000 {
        write(&root.join(format!("gen/m{}/f{i}.py", i % 50)), &format!("def generated_{i}():\n    return {i}\n"));
    }
    eventually("5,000 new files indexed", async || files().await == before + 5_000).await;
    assert_eq!(symbols(&client, "generated_4999").await, ["generated_4999@f4999.py"]);
    std::fs::remove_dir_all(root.join("gen")).expect("rm");
    eventually("5,000 files gone", async || files().await == before).await;
}

#[tokio::test]
async fn out_of_inotify_watches_falls_back_to_polling_and_says_so() {
    let home = Home::new();
    let root = project(&home);
    let _daemon = home.start_daemon_with(&[("PAIRED_TEST_INOTIFY_EXHAUSTED", "1")]);
    let client = home.ws().await;
    let folder = format!("file://{}", root.display());
    let mut events =
        attach(&client, ClientHello { workspace_folders: vec![folder], ..hello(ClientKind::Other, "ed") }).await;
    let message = index_warning(&mut events).await;
    assert!(message.contains("ran out of file watches") && message.contains("polling"), "{message}");
    let status = add(&client, &root).await;
    assert_eq!(status.watching, "polling");
    assert!(status.warning.is_some_and(|w| w.contains("max_user_watches")));
    // Not stale: polling still sees changes.
    write(&root.join("app/polled.py"), "def seen_by_polling():\n    pass\n");
    eventually("polling picks up a new file", async || symbols(&client, "seen_by_polling").await.len() == 1).await;
}

/// The real thing, not a test hook: the daemon runs in a user namespace whose
/// inotify watch limit (`/proc/sys/user/max_inotify_watches`, per namespace
/// since Linux 5.11) is lower than the folder's directory count, so the kernel
/// refuses a watch with ENOSPC as it does when a large tree exhausts
/// `fs.inotify.max_user_watches`. The host's limit is not touched.
#[tokio::test]
async fn a_kernel_out_of_inotify_watches_falls_back_to_polling_and_says_so() {
    let home = Home::new();
    let root = project(&home);
    for i in 0..20 {
        write(&root.join(format!("pkg/mod{i}/lib.py")), &format!("def helper_{i}():\n    pass\n"));
    }
    let available = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", "echo 5 > /proc/sys/user/max_inotify_watches"])
        .status()
        .is_ok_and(|s| s.success());
    // CI runs where user namespaces work: there this test must run. Elsewhere
    // (a container whose seccomp profile forbids them, say) a developer can
    // say so explicitly; it never skips silently.
    if !available && std::env::var_os("PAIRED_NO_USER_NAMESPACES").is_some() {
        eprintln!("skipped: PAIRED_NO_USER_NAMESPACES is set");
        return;
    }
    assert!(
        available,
        "this test needs util-linux's unshare and user namespaces with a writable /proc/sys/user/max_inotify_watches (Linux 5.11+); set PAIRED_NO_USER_NAMESPACES=1 to skip it where they are forbidden"
    );
    let daemon = home.paired(&["daemon"]);
    let mut command = std::process::Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "sh",
            "-c",
            "echo 5 > /proc/sys/user/max_inotify_watches && exec \"$@\"",
            "sh",
        ])
        .arg(daemon.get_program())
        .args(daemon.get_args())
        .env_clear()
        .current_dir(home.path());
    for (key, value) in daemon.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let _daemon = home.start_daemon_command(command);
    let client = home.ws().await;
    let status = add(&client, &root).await;
    assert_eq!(status.watching, "polling", "{status:?}");
    let warning = status.warning.as_deref().unwrap_or("");
    assert!(warning.contains("ran out of file watches") && warning.contains("max_user_watches"), "{warning}");
    assert_eq!(symbols(&client, "helper_19").await.len(), 1, "indexed all the same");
    // Not stale: polling sees what inotify no longer can.
    write(&root.join("pkg/mod7/later.py"), "def seen_without_inotify():\n    pass\n");
    eventually("polling picks up a new file", async || symbols(&client, "seen_without_inotify").await.len() == 1).await;
}

/// Watches that fail after the start (the OS runs out as folders are added) are
/// reported the way notify reports them: the workspace switches to polling,
/// says so, and keeps following changes.
#[tokio::test]
async fn a_watch_error_at_runtime_switches_to_polling_with_a_warning() {
    let home = Home::new();
    let root = project(&home);
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let folder = format!("file://{}", root.display());
    let mut events =
        attach(&client, ClientHello { workspace_folders: vec![folder.clone()], ..hello(ClientKind::Other, "ed") })
            .await;
    let status = add(&client, &root).await;
    assert_eq!(status.watching, "inotify");
    // A test hook, not a protocol method.
    let found: bool = client.request("debug/watch_error", rpc_params![folder]).await.expect("hook");
    assert!(found);
    let warning = index_warning(&mut events).await;
    assert!(warning.contains("ran out of file watches") && warning.contains("polling"), "{warning}");
    assert_eq!(add(&client, &root).await.watching, "polling");
    write(&root.join("app/after.py"), "def seen_after_the_switch():\n    pass\n");
    eventually("polling picks up a new file", async || symbols(&client, "seen_after_the_switch").await.len() == 1)
        .await;
}

#[test]
fn lsp_symbols_progress_and_shared_index() {
    let home = Home::new();
    let root = project(&home);
    let mut first = home.lsp();
    first.initialize(&root);
    // Indexing shows as LSP progress in the editor. (Read before starting the
    // second editor: an editor that does not answer the progress request within
    // 2 s gets none, and a test blocked on the other editor answers nothing.)
    let begin = first.wait_for_method("$/progress", Duration::from_secs(20));
    assert!(begin["params"]["value"]["kind"].is_string(), "{begin}");
    let mut second = home.lsp();
    second.initialize(&root);

    let uri = format!("file://{}", root.join("app/models.py").display());
    let text = std::fs::read_to_string(root.join("app/models.py")).expect("read");
    first.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
    );
    let outline = first.request("textDocument/documentSymbol", json!({"textDocument": {"uri": uri}}));
    let symbols = &outline["result"];
    assert_eq!(symbols[0]["name"], "User");
    assert_eq!(symbols[0]["kind"], 5, "class");
    assert_eq!(symbols[0]["children"][0]["name"], "__init__");
    assert_eq!(symbols[0]["children"][0]["kind"], 6, "method");
    assert_eq!(symbols[1]["name"], "load_user");
    assert_eq!(symbols[1]["range"]["start"], json!({"line": 6, "character": 0}));
    assert_eq!(symbols[1]["selectionRange"]["start"], json!({"line": 6, "character": 4}));

    let mut found = Value::Null;
    wait_until("workspace symbols", Duration::from_secs(20), || {
        found = second.request("workspace/symbol", json!({"query": "ldusr"}));
        found["result"].as_array().is_some_and(|r| !r.is_empty())
    });
    assert_eq!(found["result"][0]["name"], "load_user");
    assert!(found["result"][0]["location"]["uri"].as_str().is_some_and(|u| u.ends_with("/app/models.py")));

    let workspaces = first.call::<ListWorkspaces>(NoParams {});
    assert_eq!(workspaces.len(), 1, "two editors, one index: {workspaces:?}");
    let pid = first.call::<Status>(NoParams {}).daemon.pid;
    tests::kill9(pid);
}

#[test]
fn paired_context_prints_what_would_be_sent() {
    let home = Home::new();
    let root = project(&home);
    let views = root.join("app/views.py");
    let out = home
        .paired(&["context", "--file", views.to_str().expect("utf8"), "--line", "6", "--json"])
        .output()
        .expect("context");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bundle: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(bundle["parts"][0]["kind"], "selection");
    assert!(
        bundle["parts"].as_array().expect("parts").iter().any(|p| p["title"] == "function load_user (app/models.py)"),
        "{bundle:#}"
    );
    let out = home
        .paired(&["context", "--file", views.to_str().expect("utf8"), "--line", "6", "--budget", "20"])
        .output()
        .expect("context");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("left out: "), "{text}");
    let out =
        home.paired(&["context", "--file", views.to_str().expect("utf8"), "--line", "600"]).output().expect("context");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has 8 lines; --line 600 is past the end"));
    let out = home.paired(&["stop"]).output().expect("stop");
    assert!(out.status.success());
}

/// The resident KiB of `pid`'s mappings of `file`.
fn resident_kib(pid: u32, file: &Path) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut ours = false;
    let mut kib = 0;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first().is_some_and(|f| f.contains('-') && !f.ends_with(':')) {
            ours = fields.len() == 6 && Path::new(fields[5]) == file;
        } else if ours && fields.first() == Some(&"Rss:") {
            kib += fields[1].parse::<u64>().unwrap_or(0);
        }
    }
    kib
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A workspace no editor holds any more sleeps after `[context]
/// idle_workspace_secs` (its index dropped), and a run about a file in it
/// wakes it: the run finishes with the index back (it used to wait forever
/// for an index nobody would build).
#[test]
fn a_workspace_no_editor_holds_sleeps_and_a_run_wakes_it() {
    let home = Home::new();
    let root = project(&home).canonicalize().expect("canonical");
    home.write_config("[context]\nidle_workspace_secs = 1\n");
    // The daemon runs a copy of the binary no other process maps: the kernel
    // pages out only code no other process shares (other tests' daemons). It
    // sits beside the binary, on disk: pages of a file on tmpfs are memory
    // with nowhere to go.
    let exe = tests::paired_bin().with_file_name(format!("paired-private-{}", std::process::id()));
    std::fs::copy(tests::paired_bin(), &exe).expect("copy the binary");
    let _remove = RemoveOnDrop(exe.clone());
    // Written back to the disk: the kernel cannot drop dirty pages.
    std::fs::File::open(&exe).and_then(|f| f.sync_all()).expect("sync the copy");
    let exe = exe.canonicalize().expect("canonical");
    let template = home.paired(&["daemon"]);
    let mut command = std::process::Command::new(&exe);
    command.args(template.get_args()).env_clear().current_dir(home.path());
    for (key, value) in template.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let daemon = home.start_daemon_command(command);
    let ours = |home: &Home| home.call::<ListWorkspaces>(NoParams {}).into_iter().find(|w| Path::new(&w.root) == root);
    let mut editor = home.lsp();
    editor.initialize(&root);
    wait_until("indexed", Duration::from_secs(20), || {
        ours(&home).is_some_and(|status| status.state == "ready" && status.files > 0)
    });
    let code_in_use = resident_kib(daemon.pid, &exe);
    const GIVEN_BACK: &str = "idle: the daemon's code pages given back to the OS";
    let given_back = home.log().matches(GIVEN_BACK).count();
    let _ = editor.request("shutdown", Value::Null);
    editor.notify("exit", Value::Null);
    editor.close_stdin();
    let _ = editor.wait_exit(Duration::from_secs(10));
    wait_until("asleep", Duration::from_secs(20), || {
        ours(&home).is_some_and(|status| status.state == "asleep" && status.files == 0 && status.watching == "none")
    });
    // Nothing awake and no editor: the daemon gave its code pages back (#18.3).
    // (On the daemon's next sweep, each second, once no editor is attached.)
    // How much goes depends on the kernel (it leaves pages of large folios
    // only partly mapped): 20 % to 78 % seen.
    wait_until("the binary's pages given back", Duration::from_secs(20), || {
        home.log().matches(GIVEN_BACK).count() > given_back && resident_kib(daemon.pid, &exe) + 4096 < code_in_use
    });

    let uri = format!("file://{}", root.join("app/models.py").display());
    let (done, finished) = std::sync::mpsc::channel();
    let (port, auth) = (home.port(), format!("Bearer {}", home.token()));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "agents/run", "params": {
        "agent": "sherlock", "skill": "review", "uri": uri, "wait": true
    }})
    .to_string();
    std::thread::spawn(move || {
        let headers = [("Host", "127.0.0.1"), ("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        let _ = done.send(tests::http(port, "POST", "/", &headers, &body).json());
    });
    let run = finished.recv_timeout(Duration::from_secs(60)).expect("the run finishes");
    assert_eq!(run["result"]["status"], "succeeded", "{run}");
    assert!(ours(&home).is_some_and(|status| status.files > 0), "woken and indexed again");
}

/// Indexing's parses run in helper processes (`paired __index`), each a
/// session of its own: on Linux a scheduling group apart from the daemon's,
/// which stays idle between editors' requests (#18.7). A parser that dies on
/// a file leaves that file indexed by its declarations (the lexical scan) and
/// everything else parsed; the daemon serves on and the next parse starts
/// another helper.
#[tokio::test]
async fn parses_run_in_helpers_apart_and_one_that_dies_costs_only_that_files_parse() {
    let home = Home::new();
    let root = home.path().join("proj");
    write(&root.join("a.rs"), "fn alpha() {\n    beta();\n}\n");
    write(&root.join("b.rs"), "// paired-test: crash the index helper\nfn beta() {}\n");
    write(&root.join("c.py"), "def gamma():\n    return 1\n");
    let root = root.canonicalize().expect("canonical");
    let daemon = home.start_daemon_with(&[("PAIRED_TEST_HOOKS", "1")]);
    let client = home.ws().await;
    add(&client, &root).await;
    let status = async || client.call::<ListWorkspaces>(NoParams {}).await.remove(0);
    eventually("analysed", async || status().await.state == "ready").await;
    let ready = status().await;
    assert_eq!((ready.files, ready.shallow_files), (3, 1), "b.rs indexed by its declarations: {ready:?}");
    for name in ["alpha", "beta", "gamma"] {
        assert_eq!(symbols(&client, name).await.len(), 1, "{name}");
    }
    // The helpers still there (idle ones go after ten seconds): the daemon's
    // children started as `paired __index`, each in a session of its own.
    let session = |pid: u32| -> String {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit(") ").next().unwrap_or("").split(' ').nth(3).unwrap_or("").to_owned()
    };
    let helpers: Vec<u32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let parent = stat.rsplit(") ").next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_owned();
            cmdline.split(|b| *b == 0).nth(1) == Some(b"__index") && parent == daemon.pid.to_string()
        })
        .collect();
    assert!(!helpers.is_empty(), "the full parses ran in helpers");
    for helper in &helpers {
        let (theirs, ours) = (session(*helper), session(daemon.pid));
        assert!(!theirs.is_empty() && !ours.is_empty(), "sessions read");
        assert_ne!(theirs, ours, "helper {helper} is a session of its own");
    }
    // After the crash: a new file is parsed fully (by a new helper).
    write(&root.join("d.rs"), "fn delta() {\n    alpha();\n}\n");
    eventually("d.rs parsed", async || {
        let now = status().await;
        symbols(&client, "delta").await.len() == 1 && now.state == "ready" && (now.files, now.shallow_files) == (4, 1)
    })
    .await;
}
