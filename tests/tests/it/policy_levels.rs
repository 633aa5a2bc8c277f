//! Policy levels of one's own (issue #20.3): the user's file and a project's
//! narrow what may happen — a project's only for that project — through the
//! daemon's runs and `paired policy explain|show`, with no hub at all.

use protocol::agents::{Run, RunParams};
use tests::Rpc as _;

fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_and_each_project_narrow_runs_for_themselves() {
    let home = tests::Home::new();
    let strict = home.path().join("payments");
    let open = home.path().join("website");
    for root in [&strict, &open] {
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::fs::write(root.join("src/lib.rs"), "pub fn f(x: Option<u8>) -> u8 { x.unwrap() }\n").expect("write");
    }
    std::fs::create_dir_all(strict.join(".paired")).expect("mkdir");
    std::fs::write(strict.join(".paired/policy.toml"), "[agents]\ndeny = [\"sherlock\"]\n").expect("write");
    let config = home.write_config("");
    std::fs::write(config.with_file_name("policy.toml"), "[agents]\ndeny = [\"vince\"]\n").expect("write");

    let _daemon = home.start_daemon();
    let client = home.ws().await;
    for root in [&strict, &open] {
        tests::add_workspace(&client, root).await;
    }
    let run = |root: &std::path::Path, agent: &str| RunParams {
        uri: Some(file_uri(&root.join("src/lib.rs"))),
        workspace: Some(file_uri(root)),
        skill: Some("review".into()),
        wait: true,
        ..tests::agent_run(agent)
    };
    // Sherlock reviews the website; in payments its own file refuses him.
    let reviewed = client.call::<Run>(run(&open, "sherlock")).await;
    assert!(reviewed.findings.iter().any(|f| f.rule == "rust-unwrap"), "{reviewed:?}");
    let refused = client.try_call::<Run>(run(&strict, "sherlock")).await.expect_err("refused in payments");
    let refused = refused.to_string();
    assert!(refused.contains("project:") && refused.contains("payments/.paired/policy.toml"), "{refused}");
    // The user's file counts everywhere.
    let refused = client.try_call::<Run>(RunParams { skill: Some("backlog".into()), ..run(&open, "vince") }).await;
    let refused = refused.expect_err("vince is the user's no").to_string();
    assert!(refused.contains("user:"), "{refused}");

    // The CLI explains it from where it runs.
    let explain = |dir: &std::path::Path, action: &str| {
        let out = home.paired(&["policy", "explain", action]).current_dir(dir).output().expect("explain");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = explain(&strict, "run:sherlock");
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("refused by project:"), "{out}");
    assert_eq!(explain(&open, "run:sherlock").0, Some(0));
    let (code, out) = explain(&open, "run:vince");
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("refused by user:"), "{out}");
    let shown = home.paired(&["policy", "show", "--json"]).current_dir(&strict).output().expect("show");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    let levels: Vec<&str> =
        shown["local"].as_array().expect("local").iter().filter_map(|l| l["level"].as_str()).collect();
    assert!(levels.len() == 2 && levels[0].starts_with("user:") && levels[1].starts_with("project:"), "{shown}");

    // A broken file refuses, saying so, until it is fixed.
    std::fs::write(strict.join(".paired/policy.toml"), "[agents\n").expect("write");
    let (code, out) = explain(&strict, "run:alex");
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("fix the file"), "{out}");
}

/// Egress routes (issue #20.3, "which paths may go to which providers"): a
/// project's files under a route leave the machine only for its providers —
/// the file asked about, through a run, and `paired policy explain send:PATH@PROVIDER`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_files_leave_the_machine_only_for_their_providers() {
    use tests::fake_provider::{Reply, config, openai_text, serve_fake};
    let (port, fake) = serve_fake(vec![]).await;
    *fake.fallback.lock().expect("lock") = Some(Reply::Sse(openai_text(&["It loads."])));
    let home = tests::Home::new();
    home.write_config(&config(port));
    let root = home.path().join("bank");
    std::fs::create_dir_all(root.join("src/payments")).expect("mkdir");
    std::fs::create_dir_all(root.join(".paired")).expect("mkdir");
    std::fs::write(root.join("src/lib.rs"), "pub fn load() -> u8 { 1 }\n").expect("write");
    std::fs::write(root.join("src/payments/card.rs"), "pub fn charge() -> u8 { 2 }\n").expect("write");
    std::fs::write(
        root.join(".paired/policy.toml"),
        "[[egress.routes]]\npaths = [\"src/payments/**\"]\nproviders = [\"azure\"]\n",
    )
    .expect("write");
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    tests::add_workspace(&client, &root).await;
    let ask = |file: &str| RunParams {
        uri: Some(file_uri(&root.join(file))),
        workspace: Some(file_uri(&root)),
        prompt: Some("What does this do?".into()),
        wait: true,
        ..tests::agent_run("alex")
    };
    let answered = client.call::<Run>(ask("src/lib.rs")).await;
    assert!(answered.output.contains("It loads."), "{answered:?}");
    let refused = client.try_call::<Run>(ask("src/payments/card.rs")).await;
    let refused = format!("{refused:?}");
    assert!(refused.contains("egress.routes: src/payments/card.rs leaves this machine only for azure"), "{refused}");
    let sent = fake.requests.lock().expect("lock").clone();
    assert!(sent.iter().all(|(_, body)| !body.to_string().contains("charge")), "the routed file never went");

    let explain = |action: &str| {
        let out = home.paired(&["policy", "explain", action]).current_dir(&root).output().expect("explain");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    assert_eq!(explain("send:src/payments/card.rs@fake").0, Some(3));
    assert_eq!(explain("send:src/payments/card.rs@azure").0, Some(0));
    assert_eq!(explain("send:src/lib.rs@fake").0, Some(0));
}
