//! PAIRED 1.0 agent files (`.paired/agents/*.yml`, read unchanged):
//! `agents::manifest::parse_v1_yaml`.
//!
//! Invariants: an imported agent has 1.0's required fields, non-empty, and an
//! id by 1.0's rule; it is written as 2.0 TOML and read back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = paired_fuzz::text(data) else { return };
    paired_fuzz::on_worker_stack(|| check(text));
});

fn check(text: &str) {
    let Ok(manifest) = agents::manifest::parse_v1_yaml("agent.yml", text) else { return };
    assert!(!manifest.id.is_empty() && manifest.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{:?}", manifest.id);
    assert!(!manifest.metadata.name.trim().is_empty() && !manifest.metadata.role.trim().is_empty());
    let written = toml::to_string(&manifest).unwrap_or_else(|err| panic!("an imported agent does not serialise: {err}"));
    let back: protocol::agents::AgentManifest =
        toml::from_str(&written).unwrap_or_else(|err| panic!("an imported agent, written as TOML, does not read back: {err}\n{written}"));
    assert_eq!(manifest, back, "TOML round trip changed the agent:\n{written}");
}
