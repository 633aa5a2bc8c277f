//! PAIRED 1.0 bridge messages (WebSocket text frames from 1.0 clients on
//! 127.0.0.1:7890, which carry no token): `daemon::fronts::bridge::fuzz_text_frame`,
//! the frame parsed and answered by the bridge's own handler, on the real
//! daemon state (roster, agents, runs in SQLite).
//!
//! Project paths in a message (`projectPath`, `project.path`) are pinned to a
//! small fixture project the daemon has open (the bridge connects a token-less
//! client only to such projects, so a random path would only be refused);
//! everything else reaches the handler as sent.
//!
//! Invariant: every frame gets a reply with a `type`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(text) = paired_fuzz::text(data) else { return };
    let mut frame = text.to_owned();
    if let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) {
        let project = Value::String(paired_fuzz::project().display().to_string());
        let mut pinned = false;
        if message.contains_key("projectPath") {
            message.insert("projectPath".into(), project.clone());
            pinned = true;
        }
        if let Some(Value::Object(p)) = message.get_mut("project")
            && p.contains_key("path")
        {
            p.insert("path".into(), project);
            pinned = true;
        }
        if pinned {
            frame = Value::Object(message).to_string();
        }
    }
    let daemon = paired_fuzz::daemon();
    let reply = paired_fuzz::on_worker(async move { daemon::fronts::bridge::fuzz_text_frame(daemon, &frame).await });
    assert!(reply["type"].is_string(), "a reply without a type: {reply}");
});
