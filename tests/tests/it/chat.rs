//! Conversations with the team (`chat/*`) over the daemon's JSON-RPC: who takes
//! a message, its run, the conversation kept across a daemon restart.

use std::time::Duration;

use protocol::{
    agents::{GetRun, RunRef, RunStatus},
    chat::{ConversationRef, Get, List, ListParams, Send, SendParams},
};
use tests::{Home, Rpc};

const LIB_RS: &str = "pub fn load(path: &str) -> String {\n    std::fs::read_to_string(path).unwrap()\n}\n";

fn project(home: &Home) -> std::path::PathBuf {
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"proj\"\nversion = \"0.1.0\"\n").expect("write");
    std::fs::write(root.join("src/lib.rs"), LIB_RS).expect("write");
    root.canonicalize().expect("canonical")
}

#[tokio::test]
async fn a_conversation_routes_each_message_keeps_its_turns_and_survives_a_restart() {
    let home = Home::new();
    let root = project(&home);
    let mut daemon = home.start_daemon();
    let client = home.ws().await;
    tests::add_workspace(&client, &root).await;
    let project = format!("file://{}", root.display());
    let lib = format!("file://{}/src/lib.rs", root.display());
    let send = |text: &str| SendParams {
        project: Some(project.clone()),
        uri: Some(lib.clone()),
        text: text.to_owned(),
        ..SendParams::default()
    };

    // /review: Sherlock reviews the file.
    let first = client.call::<Send>(SendParams { command: Some("review".into()), ..send("") }).await;
    assert_eq!((first.turn, first.agent.as_str(), first.skill.as_deref()), (1, "sherlock", Some("review")));
    let run = client.call::<GetRun>(RunRef { run_id: first.run.id.clone(), wait: true }).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert!(run.findings.iter().any(|f| f.rule == "rust-unwrap"), "{:?}", run.findings);

    // @edison in the same conversation: Edison documents it.
    let second = client
        .call::<Send>(SendParams { conversation: Some(first.conversation.clone()), ..send("@edison document load") })
        .await;
    assert_eq!((second.turn, second.agent.as_str()), (2, "edison"));
    assert_eq!(second.conversation, first.conversation);
    client.call::<GetRun>(RunRef { run_id: second.run.id.clone(), wait: true }).await;
    // Words alone: Alex's routing picks the agent ("tests" → Edison's tests).
    let third = client
        .call::<Send>(SendParams { conversation: Some(first.conversation.clone()), ..send("write tests for load") })
        .await;
    assert_eq!((third.agent.as_str(), third.skill.as_deref()), ("edison", Some("tests")), "{third:?}");

    // Mistakes get clear errors, and start nothing.
    let unknown = client.try_call::<Send>(SendParams { command: Some("deploy".into()), ..send("x") }).await;
    let unknown = unknown.expect_err("no such command");
    assert!(unknown.message.contains("no chat command /deploy; the commands: /review"), "{unknown}");
    let empty = client.try_call::<Send>(send("  ")).await.expect_err("empty");
    assert!(empty.message.contains("the message is empty"), "{empty}");
    let missing = client
        .try_call::<Send>(SendParams { conversation: Some("chat-nope".into()), ..send("hello") })
        .await
        .expect_err("no such conversation");
    assert_eq!(missing.code, protocol::errors::NOT_FOUND);

    // Kept by the daemon: after a restart the conversation and its answers are there.
    drop(client);
    daemon.kill9();
    let _daemon = home.start_daemon();
    let client = home.ws().await;
    let list = client.call::<List>(ListParams { project: Some(project.clone()), limit: None }).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0].title.as_str(), list[0].turns), ("/review", 3));
    let conversation = client.call::<Get>(ConversationRef { conversation: first.conversation.clone() }).await;
    let turns: Vec<(u32, &str, &str)> =
        conversation.turns.iter().map(|t| (t.turn, t.text.as_str(), t.agent.as_str())).collect();
    assert_eq!(
        turns,
        [(1, "/review", "sherlock"), (2, "@edison document load", "edison"), (3, "write tests for load", "edison")]
    );
    let answered = conversation.turns[0].run.as_ref().expect("the review's run");
    assert_eq!(answered.status, RunStatus::Succeeded);
    // `paired sessions` shows it beside the workflow sessions, and its turns.
    let listed = home.paired(&["sessions", "list"]).output().expect("sessions list");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains(&first.conversation) && listed.contains("3 turn(s)") && listed.contains("/review"),
        "{listed}"
    );
    let shown = home.paired(&["sessions", "show", &first.conversation]).output().expect("sessions show");
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("[1] you: /review") && shown.contains("[1] sherlock: "), "{shown}");
    assert!(shown.contains("[2] you: @edison document load") && shown.contains("[3] edison: "), "{shown}");
    // And it goes on.
    tests::add_workspace(&client, &root).await;
    let fourth = client
        .call::<Send>(SendParams {
            conversation: Some(first.conversation.clone()),
            ..send("@sherlock review it again")
        })
        .await;
    assert_eq!(fourth.turn, 4);
    let _ = tokio::time::timeout(
        Duration::from_secs(30),
        client.call::<GetRun>(RunRef { run_id: fourth.run.id, wait: true }),
    )
    .await;
}
