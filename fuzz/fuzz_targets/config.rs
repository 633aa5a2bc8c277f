//! Configuration files (`~/.config/paired/config.toml`, a project's
//! `.paired/config.toml`) and `PAIRED_*` variables: `daemon::platform::config::check_text`,
//! then `daemon::platform::config::load` as `paired daemon` and every command call it.
//!
//! The input is a config file's text; after a NUL byte, lines of
//! `NAME=value` are the environment.
//!
//! Invariants: a file `check_text` accepts deserialises into `Config`; `load`
//! gives a configuration that passes `validate`.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(input) = paired_fuzz::text(data) else { return };
    paired_fuzz::on_worker_stack(|| check(input));
});

fn check(input: &str) {
    let (text, env) = input.split_once('\0').unwrap_or((input, ""));
    if let Ok(table) = daemon::platform::config::check_text(text) {
        let config: daemon::platform::config::Config =
            toml::Value::Table(table).try_into().unwrap_or_else(|err| panic!("check_text accepted it, yet: {err}"));
        let _ = daemon::platform::config::validate(&config);
    }
    static N: AtomicU64 = AtomicU64::new(0);
    let file = paired_fuzz::scratch().join(format!("config-{}.toml", N.fetch_add(1, Ordering::Relaxed) % 4));
    std::fs::write(&file, text).expect("write the config file");
    let vars: Vec<(&str, &str)> = env.lines().filter_map(|l| l.split_once('=')).collect();
    let lookup = |name: &str| vars.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
    if let Ok(loaded) = daemon::platform::config::load(&file, None, &lookup) {
        daemon::platform::config::validate(&loaded.config).expect("load returns a valid configuration");
    }
}
