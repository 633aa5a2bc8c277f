//! Agents through the real daemon: the roster (built-ins, the 1.0 originals,
//! community and 2.0 agents), runs of the offline skills with exact findings,
//! streamed progress, persistence across restarts, refusal, and the CLI.

use std::{path::Path, time::Duration};

use protocol::{
    agents::{
        self, CancelRun, Describe, DescribeParams, GetRun, ListRuns, ListRunsParams, ProjectRef, RunInfo, RunParams,
        RunRef, RunStatus,
    },
    client::{ClientKind, Event},
    documents::Position,
};
use serde_json::{Value, json};
use tests::{Home, Rpc, agent_run, attach, hello, next_event};

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

const LIB_RS: &str = "pub fn load(path: &str) -> String {\n    let text = std::fs::read_to_string(path).unwrap();\n    // FIXME(ada): cache the parsed value\n    text\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {\n        Some(1).unwrap();\n    }\n}\n";

/// A Rust project with the 1.0 agents in the user's 1.0 folder, a community
/// 1.0 agent, a broken one, a 2.0 manifest, and an ignored file.
fn project(home: &Home) -> std::path::PathBuf {
    let v1 = home.path().join(".paired/core/config/agents");
    let originals = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/paired-1.0/agents");
    for entry in std::fs::read_dir(originals).expect("the 1.0 agents in tests/fixtures") {
        let path = entry.expect("entry").path();
        write(&v1.join(path.file_name().expect("name")), &std::fs::read_to_string(&path).expect("read"));
    }
    write(
        &v1.join("rusty.yml"),
        "agent:\n  id: rusty\n  name: Rusty\n  role: reviewer\n  version: 0.1.0\ncapabilities:\n  - code_review\npersonality:\n  communication: blunt\n",
    );
    write(&v1.join("broken.yml"), "agent:\n  id: Not Valid\n");
    let root = home.path().join("proj");
    write(&root.join("Cargo.toml"), "[package]\nname = \"proj\"\n");
    write(&root.join("src/lib.rs"), LIB_RS);
    write(&root.join(".pairedignore"), "private.rs\n");
    write(&root.join("src/private.rs"), "fn secret() { std::fs::read_to_string(\"x\").unwrap(); }\n");
    write(
        &root.join(".paired/agents/ferris.toml"),
        "id = \"ferris\"\ncapabilities = [\"documentation\"]\n[metadata]\nname = \"Ferris\"\nversion = \"1.2.0\"\nrole = \"docs\"\n[permissions]\nfs_read = [\"src/**\"]\n",
    );
    root.canonicalize().expect("canonical")
}

async fn run(client: &jsonrpsee::ws_client::WsClient, params: RunParams) -> RunInfo {
    client.call::<agents::Run>(params).await
}

fn run_ref(id: &str) -> RunRef {
    RunRef { run_id: id.to_owned(), wait: false }
}

#[tokio::test]
async fn the_team_runs_offline_and_runs_persist() {
    let home = Home::new();
    let root = project(&home);
    let mut daemon = home.start_daemon();
    let client = home.ws().await;
    tests::add_workspace(&client, &root).await;

    let agents = client.call::<agents::List>(ProjectRef::default()).await;
    let ids: Vec<&str> = agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["alex", "sherlock", "edison", "leonardo", "maya", "vince", "marie", "rusty", "ferris"]);
    let sherlock = &agents[1];
    assert_eq!(sherlock.display_name, "Sherlock (QA)");
    assert!(sherlock.source.ends_with("qa_agent_config.yml"), "{sherlock:?}");
    assert_eq!(agents[7].skills[0].name, "review", "a community 1.0 agent's capabilities give it skills");
    let described = client.call::<Describe>(DescribeParams { agent: "qa".into(), project: None }).await;
    assert!(described.persona.contains("The smallest detail"), "{described:?}");

    let uri = format!("file://{}", root.join("src/lib.rs").display());
    let finished = run(&client, RunParams { uri: Some(uri), wait: true, ..agent_run("qa") }).await;
    assert_eq!(finished.status, RunStatus::Succeeded, "{finished:?}");
    let findings: Vec<String> =
        finished.findings.iter().map(|f| format!("{} {} {}", f.line, f.rule, f.severity.name())).collect();
    // The unwrap inside #[cfg(test)] is not a finding.
    // Nor is the FIXME: Vince's backlog lists it, a review does not repeat it.
    assert_eq!(findings, ["2 rust-unwrap warning"]);
    assert_eq!(finished.findings[0].range.start, Position { line: 1, character: 44 });
    assert!(finished.output.starts_with("Sherlock reviewed `src/lib.rs`"));

    // Progress streams to attached clients.
    let mut events = attach(&client, hello(ClientKind::Other, "it")).await;
    let started = run(&client, agent_run("vince")).await;
    let mut seen = Vec::new();
    while !seen.contains(&RunStatus::Succeeded) {
        if let Event::RunUpdate { run_id, status, output_delta, .. } =
            next_event(&mut events, Duration::from_secs(20)).await
            && run_id == started.id
        {
            seen.push(status);
            if status == RunStatus::Succeeded {
                let delta = output_delta.unwrap_or_default();
                assert!(delta.contains("- [ ] src/lib.rs:3 **FIXME** cache the parsed value"), "{delta}");
            }
        }
    }
    assert_eq!(seen.first(), Some(&RunStatus::Running), "{seen:?}");

    // Refusals say why: an ignored file, an unknown agent, a skill it lacks.
    let private = format!("file://{}", root.join("src/private.rs").display());
    let refused = client
        .try_call::<agents::Run>(RunParams { uri: Some(private), ..agent_run("sherlock") })
        .await
        .expect_err("ignored file");
    assert!(refused.message.contains("excluded from context"), "{refused}");
    let unknown = client.try_call::<agents::Run>(agent_run("moriarty")).await.expect_err("unknown agent");
    assert!(unknown.message.contains("no agent named") && unknown.message.contains("moriarty"), "{unknown}");
    let lacking = client
        .try_call::<agents::Run>(RunParams { skill: Some("backlog".into()), ..agent_run("sherlock") })
        .await
        .expect_err("skill");
    assert!(lacking.message.contains("its skills: review"), "{lacking}");

    // A finished run survives a kill -9; one left running is failed with why.
    let review_id = finished.id.clone();
    drop(events);
    drop(client);
    daemon.kill9();
    {
        let db = rusqlite::Connection::open(home.database()).expect("db");
        db.execute(
            "INSERT INTO agent_runs (id, agent, skill, status, created_ms, params) VALUES ('run-interrupted', 'marie', 'metrics', 'running', 1, '{}')",
            [],
        )
        .expect("insert");
    }
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let again = client.call::<GetRun>(run_ref(&review_id)).await; // the finished run is kept
    assert_eq!(again.findings, finished.findings);
    let interrupted = client.call::<GetRun>(run_ref("run-interrupted")).await;
    assert_eq!(interrupted.status, RunStatus::Failed);
    assert!(interrupted.error.is_some_and(|e| e.contains("daemon stopped before this run finished")));
    let cancelled = client.call::<CancelRun>(run_ref(&review_id)).await;
    assert_eq!(cancelled.status, RunStatus::Succeeded, "cancelling a finished run changes nothing");
    let recent = client.call::<ListRuns>(ListRunsParams { limit: Some(10) }).await;
    assert_eq!(recent.len(), 3, "{recent:?}");
}

#[test]
fn paired_agents_run_prints_findings_as_json_and_text() {
    let home = Home::new();
    let root = project(&home);
    let lib = root.join("src/lib.rs");
    let out = home
        .paired(&["agents", "run", "sherlock", "--file", lib.to_str().expect("utf8"), "--json"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run: Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings: Vec<(u64, &str)> = run["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| (f["line"].as_u64().unwrap_or(0), f["message"].as_str().unwrap_or("")))
        .collect();
    let unwrap = "`unwrap()` panics when this fails: `read_to_string` can fail on input the program does not control; \
                  propagate the error with `?` or handle it";
    assert_eq!(findings, [(2, unwrap)], "the FIXME is the backlog's, not the review's");

    let out = home
        .paired(&["agents", "run", "edison", "--file", lib.to_str().expect("utf8"), "--line", "2"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("/// Loads from `path`."), "{text}");
    assert!(text.contains("/// # Panics\n///\n/// Panics when `read_to_string` fails (`unwrap`)."), "{text}");

    let out = home.paired(&["agents", "list"]).output().expect("list");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("agent file not loaded:") && stderr.contains("broken.yml: `agent.id`"), "{stderr}");

    let out = home.paired(&["agents", "show", "ferris"]).output().expect("show");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("permissions: read: src/**; write: none"), "{text}");

    // In the project: the home folder itself is no project folder to run in.
    let out = home.paired(&["agents", "run", "nobody"]).current_dir(&root).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no agent named \"nobody\""));
    let _ = home.paired(&["stop"]).output();
}

/// The editor surface: code actions, running one, diagnostics named after the
/// agent with a quick fix (taking it counts as accepted work), and an edit
/// through `workspace/applyEdit`.
#[test]
fn agents_in_the_editor_over_lsp() {
    let home = Home::new();
    let root = project(&home);
    let mut lsp = home.lsp();
    let init = lsp.initialize(&root);
    assert_eq!(init["result"]["capabilities"]["executeCommandProvider"]["commands"][0], "paired.runAgent");
    let uri = format!("file://{}", root.join("src/lib.rs").display());
    let text = LIB_RS.replace("    text\n}", "    dbg!(text)\n}");
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
    );
    let range = json!({"start": {"line": 0, "character": 10}, "end": {"line": 0, "character": 10}});
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}),
    );
    let actions = actions["result"].as_array().expect("actions").clone();
    let titles: Vec<&str> = actions.iter().filter_map(|a| a["title"].as_str()).collect();
    assert!(titles.contains(&"Sherlock: review") && titles.contains(&"Edison: document"), "{titles:?}");
    let review = actions.iter().find(|a| a["title"] == "Sherlock: review").expect("review action");

    let run = lsp.request("workspace/executeCommand", review["command"].clone());
    assert_eq!(run["result"]["status"], "succeeded", "{run}");
    let published = lsp.wait_for_method("textDocument/publishDiagnostics", Duration::from_secs(20));
    assert_eq!(published["params"]["uri"], uri.as_str());
    let diagnostics = published["params"]["diagnostics"].as_array().expect("diagnostics").clone();
    let shown: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d["range"]["start"]["line"],
                d["source"].as_str().unwrap_or(""),
                d["code"].as_str().unwrap_or("")
            )
        })
        .collect();
    // Zero-based lines: the unwrap on line 2, the dbg! on 4 (the FIXME on 3 is the backlog's).
    assert_eq!(shown, ["1 Sherlock rust-unwrap", "3 Sherlock debug-print"]);
    // The dbg! finding carries its fix, offered as a quick fix.
    let fixable = diagnostics.iter().find(|d| d["code"] == "debug-print").expect("dbg finding").clone();
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": fixable["range"], "context": {"diagnostics": [fixable]}}),
    );
    let fix = &actions["result"][0];
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["edit"]["documentChanges"][0]["edits"][0]["newText"], "text");
    // Taking the fix (the editor applies its edit, then runs its command) counts
    // the finding as accepted work: the run's verdict is on the console.
    assert_eq!(fix["command"]["command"], "paired.feedback");
    let verdict = &fix["command"]["arguments"][0];
    assert_eq!((&verdict["source"], &verdict["accepted"]), (&run["result"]["id"], &json!(true)), "{fix}");
    let taken = lsp.request("workspace/executeCommand", fix["command"].clone());
    assert!(taken.get("error").is_none(), "{taken}");
    let signed = tests::console::sign_in(&home);
    let usage = tests::console::api(&home, &signed, "usage?days=7&by=agent").json();
    let rows = usage["rows"].as_array().expect("rows");
    let sherlock = rows.iter().find(|r| r["key"] == "sherlock").unwrap_or_else(|| panic!("{usage}"));
    assert_eq!(sherlock["accepted"], 1, "{usage}");
    // Hovering over it says who found what, the rule (linked to its page, and
    // explained), and the fix.
    let hover =
        lsp.request("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": fixable["range"]["start"]}));
    let said = hover["result"]["contents"]["value"].as_str().unwrap_or_else(|| panic!("{hover}"));
    assert!(
        said.starts_with("**Sherlock**: ")
            && said.contains(
                "Rule [`debug-print`](https://github.com/SEMalytics/paired/blob/main/docs/rules.md#debug-print)"
            )
            && said.contains("Use the project's logger")
            && said.contains("Fix: "),
        "{said}"
    );
    let nothing = lsp
        .request("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}));
    assert_eq!(nothing["result"], Value::Null, "{nothing}");

    // Lenses over the function; one clicked runs its agent on the function.
    let lenses = lsp.request("textDocument/codeLens", json!({"textDocument": {"uri": uri}}));
    let lenses = lenses["result"].as_array().unwrap_or_else(|| panic!("{lenses}")).clone();
    let titles: Vec<&str> = lenses.iter().filter_map(|l| l["command"]["title"].as_str()).collect();
    assert_eq!(titles, ["Ask Sherlock", "Tests", "Docs", "Ask Sherlock", "Tests", "Docs"], "over `load` and `t`");
    assert_eq!(lenses[0]["range"]["start"]["line"], 0, "over `load`");
    let clicked = lsp.request("workspace/executeCommand", lenses[0]["command"].clone());
    assert_eq!(clicked["result"]["status"], "succeeded", "{clicked}");
    assert_eq!(clicked["result"]["agent"], "sherlock");

    // Edison's doc skeleton: nothing is written unless the user says so. Asked
    // (this editor has no change-annotation review), the user discards it...
    let document = actions_for(&mut lsp, &uri, "Edison: document");
    lsp.choose = Some(1);
    let discarded = lsp.request("workspace/executeCommand", document["command"].clone());
    assert_eq!(discarded["result"]["status"], "succeeded");
    let asked = lsp.backlog.iter().rev().find(|m| m["method"] == "window/showMessageRequest").expect("asked");
    assert!(
        asked["params"]["message"].as_str().is_some_and(|m| m.starts_with("Edison proposes 1 edit(s) in 1 file(s)")),
        "{asked}"
    );
    assert!(!lsp.backlog.iter().any(|m| m["method"] == "workspace/applyEdit"), "discarded: nothing applied");
    // ...then applies it: it arrives as a workspace/applyEdit request.
    lsp.choose = Some(0);
    let id = lsp.request_async("workspace/executeCommand", document["command"].clone());
    let apply = lsp.wait_for_method("workspace/applyEdit", Duration::from_secs(20));
    let change = &apply["params"]["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"]["uri"], uri.as_str());
    assert!(change["edits"][0]["newText"].as_str().is_some_and(|t| t.starts_with("/// Loads from `path`.")));
    let reply = lsp.response(id, Duration::from_secs(20));
    assert_eq!(reply["result"]["status"], "succeeded");
    let unknown = lsp.request("workspace/executeCommand", json!({"command": "rm -rf", "arguments": []}));
    assert!(unknown["error"]["message"].as_str().is_some_and(|m| m.contains("unknown command")), "{unknown}");
}

fn actions_for(lsp: &mut tests::Lsp, uri: &str, title: &str) -> Value {
    let range = json!({"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}});
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}),
    );
    actions["result"].as_array().into_iter().flatten().find(|a| a["title"] == title).cloned().expect("action")
}

/// With several projects open, a workspace skill runs in the one named.
#[tokio::test]
async fn workspace_skills_run_in_the_named_workspace() {
    let home = Home::new();
    let root = project(&home);
    let other = home.path().join("other");
    write(&other.join("main.py"), "# TODO: only in the other project\n");
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    for folder in [&root, &other] {
        tests::add_workspace(&client, folder).await;
    }
    let ambiguous = run(&client, RunParams { wait: true, ..agent_run("vince") }).await;
    assert_eq!(ambiguous.status, RunStatus::Failed);
    // In the user's words, naming no RPC field (#15).
    let error = ambiguous.error.as_deref().unwrap_or_default();
    assert!(error.contains("2 project folders are open") && !error.contains('`'), "{ambiguous:?}");
    let named =
        run(&client, RunParams { workspace: Some(other.display().to_string()), wait: true, ..agent_run("vince") })
            .await;
    assert_eq!(named.status, RunStatus::Succeeded, "{named:?}");
    assert!(named.output.contains("only in the other project") && !named.output.contains("cache the parsed value"));
}

/// Alex given words and no skill routes them (python-humanize's trial: he
/// assessed the project and ignored the question), unless they ask for his
/// own assessment.
#[tokio::test]
async fn alex_given_words_routes_them_or_assesses_when_that_is_what_they_ask() {
    let home = Home::new();
    let root = project(&home);
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    tests::add_workspace(&client, &root).await;
    let ask = |prompt: &str| RunParams {
        prompt: Some(prompt.into()),
        workspace: Some(root.display().to_string()),
        wait: true,
        ..agent_run("alex")
    };
    let routed = run(&client, ask("which files change most often?")).await;
    assert_eq!((routed.skill.as_str(), routed.status), ("route", RunStatus::Succeeded), "{routed:?}");
    assert!(routed.output.contains("marie: metrics"), "{}", routed.output);
    let assessed = run(&client, ask("give me an overview of the project")).await;
    assert_eq!(assessed.skill, "assess", "{assessed:?}");
}

/// Issue #15: `paired agents list` and `show`, run inside a 1.0 project (or a
/// folder below it), list the project's 1.0 agents (`.paired/config/agents/*.yml`)
/// although no editor registered the project, as `agents run` does.
#[test]
fn agents_list_and_show_work_on_the_1_0_project_they_run_in() {
    let home = Home::new();
    let root = home.path().join("legacy");
    write(&root.join("src/main.rs"), "fn main() {}\n");
    write(
        &root.join(".paired/config/agents/scout.yml"),
        "agent:\n  id: scout\n  name: Scout\n  role: reviewer\n  emoji: \"🔭\"\n  version: 1.0.0\ncapabilities:\n  - code_review\n",
    );
    let in_project = |args: &[&str]| {
        let out = home.paired(args).current_dir(root.join("src")).output().expect("paired");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = in_project(&["agents", "list"]);
    assert!(listed.lines().any(|l| l.starts_with("scout ") && l.contains("review")), "{listed}");
    let shown = in_project(&["agents", "show", "scout"]);
    assert!(shown.contains("Scout") && shown.contains("scout.yml"), "{shown}");
    let _ = home.paired(&["stop"]).output();
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Issue #16.1: one daemon serves several projects; each request is about one.
/// A project's own agents, 1.0 overrides and workflows are never listed, shown
/// or run for another, and a 1.0 file put where 2.0 manifests go is said.
#[tokio::test]
async fn agents_and_workflows_are_one_projects_never_every_open_ones() {
    let home = Home::new();
    let alpha = home.path().join("alpha");
    let beta = home.path().join("beta");
    for root in [&alpha, &beta] {
        write(&root.join("Cargo.toml"), "[package]\nname = \"p\"\n");
        write(&root.join("src/lib.rs"), LIB_RS);
    }
    write(
        &alpha.join(".paired/agents/ferris.toml"),
        "id = \"ferris\"\ncapabilities = [\"documentation\"]\n[metadata]\nname = \"Ferris\"\nversion = \"1.2.0\"\nrole = \"docs\"\n",
    );
    write(
        &alpha.join(".paired/config/agents/sherlock.yml"),
        "agent:\n  id: sherlock\n  name: Sherlock\n  role: qa\n  version: 1.0.0\npersonality:\n  communication: Alpha's own Sherlock, terse.\n",
    );
    write(
        &alpha.join(".paired/workflows/alpha-only.toml"),
        "[[steps]]\nid = \"review\"\nagent = \"sherlock\"\nskill = \"review\"\n",
    );
    write(&beta.join(".paired/agents/old.yml"), "agent:\n  id: old\n  name: Old\n  role: qa\n");
    let (alpha, beta) = (alpha.canonicalize().expect("alpha"), beta.canonicalize().expect("beta"));
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    tests::add_workspace(&client, &alpha).await;
    tests::add_workspace(&client, &beta).await;
    let of = |root: &Path| ProjectRef { project: Some(file_uri(root)) };

    let ids = |agents: Vec<protocol::agents::AgentInfo>| agents.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert!(ids(client.call::<agents::List>(of(&alpha)).await).contains(&"ferris".to_owned()));
    assert!(!ids(client.call::<agents::List>(of(&beta)).await).contains(&"ferris".to_owned()), "alpha's agent in beta");
    assert!(
        !ids(client.call::<agents::List>(ProjectRef::default()).await).contains(&"ferris".to_owned()),
        "two projects open and none named: no project's agents"
    );

    let sherlock = |project| DescribeParams { agent: "sherlock".into(), project };
    let in_alpha = client.call::<Describe>(sherlock(of(&alpha).project)).await;
    assert!(in_alpha.persona.contains("Alpha's own Sherlock"), "{}", in_alpha.persona);
    let in_beta = client.call::<Describe>(sherlock(of(&beta).project)).await;
    assert_eq!(in_beta.info.source, "builtin", "beta's Sherlock is the built-in one");

    // A run on a beta file cannot use alpha's agent.
    let on_beta = RunParams {
        uri: Some(file_uri(&beta.join("src/lib.rs"))),
        skill: Some("document".into()),
        wait: true,
        ..tests::agent_run("ferris")
    };
    let refused = client.try_call::<agents::Run>(on_beta).await.expect_err("ferris is alpha's");
    assert!(refused.message.contains("no agent named \"ferris\""), "{refused}");
    let on_alpha = RunParams {
        uri: Some(file_uri(&alpha.join("src/lib.rs"))),
        position: Some(protocol::documents::Position { line: 0, character: 8 }),
        wait: true,
        ..tests::agent_run("ferris")
    };
    assert_eq!(run(&client, on_alpha).await.status, RunStatus::Succeeded);

    let flows = |root: &Path| {
        let client = &client;
        let project = of(root);
        async move {
            let listed = client.call::<protocol::workflows::List>(project).await;
            listed.workflows.into_iter().map(|w| w.name).collect::<Vec<_>>()
        }
    };
    assert!(flows(&alpha).await.contains(&"alpha-only".to_owned()));
    assert!(!flows(&beta).await.contains(&"alpha-only".to_owned()), "alpha's workflow in beta");

    let problems = client.call::<agents::Problems>(of(&beta)).await;
    let said = problems.iter().find(|p| p.contains("old.yml")).expect("the stray 1.0 file is said");
    assert!(said.contains("1.0 files go in") && said.contains("beta/.paired/config/agents"), "{said}");
    assert!(client.call::<agents::Problems>(of(&alpha)).await.iter().all(|p| !p.contains("old.yml")));
}

/// Issue #16: Marie's churn follows renames; Vince's owner of a TODO is who
/// wrote it, not who edits the file most. On a real git repository.
#[test]
fn history_follows_renames_and_todos_belong_to_their_authors() {
    let home = Home::new();
    let root = home.project();
    // One address per person, whatever name a commit gives.
    let git = |author: &str, args: &[&str]| {
        let email = format!("{}@example.com", author.split(' ').next().unwrap_or(author).to_lowercase());
        let out = std::process::Command::new("git")
            .args([
                "-c",
                &format!("user.name={author}"),
                "-c",
                &format!("user.email={email}"),
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(&root)
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git("Ada", &["init", "-q"]);
    write(&root.join("old_name.rs"), "// TODO: handle the empty case\npub fn f() -> u8 {\n    1\n}\n");
    git("Ada", &["add", "."]);
    git("Ada", &["commit", "-qm", "f"]);
    git("Ada", &["mv", "old_name.rs", "lib.rs"]);
    git("Ada", &["commit", "-qm", "rename"]);
    for n in 2..5 {
        // Bob's FIXME, written under the name he later stopped using.
        let text = format!("// TODO: handle the empty case\npub fn f() -> u8 {{\n    {n}\n}}\n// FIXME: past 255\n");
        write(&root.join("lib.rs"), &text);
        // Bob's name as his newest commit gives it (python-humanize's "Hugo" and "Hugo van Kemenade").
        git(if n == 4 { "Bob Smith" } else { "Bob" }, &["commit", "-qam", &format!("v{n}")]);
    }
    let lib = root.join("lib.rs");
    let marie = home.paired(&["agents", "run", "marie", "--file", lib.to_str().expect("utf8")]).output().expect("run");
    let report = String::from_utf8_lossy(&marie.stdout);
    assert!(report.contains("- churn: 5 commit(s)"), "the commits before the rename count: {report}");
    assert!(report.contains("Bob Smith (3), Ada (2)"), "one person, one name: {report}");
    let vince = home.paired(&["agents", "run", "vince"]).current_dir(&root).output().expect("run");
    let report = String::from_utf8_lossy(&vince.stdout);
    assert!(report.contains("## Ada\n\n### lib.rs\n- [ ] lib.rs:1 **TODO** handle the empty case"), "{report}");
    assert!(report.contains("## Bob Smith\n\n### lib.rs\n- [ ] lib.rs:5 **FIXME** past 255"), "one name: {report}");
    assert!(!report.contains("## Bob\n"), "{report}");
    let _ = home.paired(&["stop"]).output();
}

/// The roster's thread stuck on the disk (a hung agent folder) holds no
/// editor's `agents/list`: after a second it is read on the blocking pool.
#[tokio::test]
async fn a_stuck_roster_thread_holds_no_editors_list() {
    use jsonrpsee::core::client::ClientT;
    let home = Home::new();
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let stalled: u64 =
        client.request("debug/stall_roster", jsonrpsee::rpc_params![30_000]).await.expect("debug/stall_roster");
    assert_eq!(stalled, 30_000);
    let started = std::time::Instant::now();
    let agents = client.call::<agents::List>(ProjectRef::default()).await;
    let took = started.elapsed();
    assert!(agents.iter().any(|a| a.id == "sherlock"), "{agents:?}");
    assert!(took >= Duration::from_millis(900), "it waited its turn first: {took:?}");
    assert!(took < Duration::from_secs(10), "not the stuck thread's 30 s: {took:?}");
}
