//! 2.0 agent manifests (`agent.toml`: project, user and marketplace agents):
//! `agents::manifest::parse_toml`, which also validates.
//!
//! Invariant: a manifest that loads serialises back to TOML that loads to the
//! same manifest (what `paired market` packs is what the daemon reads).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = paired_fuzz::text(data) else { return };
    paired_fuzz::on_worker_stack(|| check(text));
});

fn check(text: &str) {
    let Ok(manifest) = agents::manifest::parse_toml("agent.toml", text) else { return };
    let written = toml::to_string(&manifest).unwrap_or_else(|err| panic!("a loaded manifest does not serialise: {err}"));
    let again = agents::manifest::parse_toml("agent.toml", &written)
        .unwrap_or_else(|err| panic!("a loaded manifest, written back, does not load: {err}\n{written}"));
    assert_eq!(manifest, again, "round trip changed the manifest:\n{written}");
}
