//! `paired providers list|test|set-key|delete-key`: the model providers the
//! daemon would use, one short request to see that one answers, and their API
//! keys in the OS keyring (`crate::platform::secrets`).

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::{
    io::{IsTerminal, Read},
    process::ExitCode,
};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;

use crate::fronts::cli::common::outln;
use crate::{platform::paths::Paths, platform::secrets};

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// The configured providers, which one agents use, and whether each key resolves.
    List {
        /// Print the providers as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Send one short request to a provider, as the daemon would, and say how it went.
    Test {
        /// The provider's name (`[providers.NAME]`).
        name: String,
        /// Print the outcome as JSON (an error too, as `{"error": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Store an API key in the OS keyring, read from the terminal without echo
    /// or from standard input. Point a provider at it with `api_key_keyring = "ENTRY"`.
    SetKey {
        /// The entry name (usually the provider's name).
        entry: String,
    },
    /// Remove an API key from the OS keyring.
    DeleteKey {
        /// The entry name (usually the provider's name).
        entry: String,
    },
}

pub fn execute(paths: &Paths, command: ProvidersCommand) -> Result<ExitCode> {
    match command {
        ProvidersCommand::List { json } => list(paths, json),
        ProvidersCommand::Test { name, json } => test(paths, &name, json),
        ProvidersCommand::SetKey { entry } => set_key(&entry),
        ProvidersCommand::DeleteKey { entry } => {
            if secrets::delete(&entry)? {
                outln!("paired: removed the key {}/{entry} from the OS keyring", secrets::SERVICE)?;
            } else {
                outln!("paired: the OS keyring had no key {}/{entry}", secrets::SERVICE)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One short request through the same client, key lookup, retries and
/// timeouts as a run: what works here works for the agents.
fn test(paths: &Paths, name: &str, as_json: bool) -> Result<ExitCode> {
    use crate::services::provider::{ChatModel as _, ChatRequest, Message, Provider};
    let loaded = crate::fronts::cli::common::load_layers(paths, None).context("invalid configuration")?;
    let Some(config) = loaded.config.providers.get(name).cloned() else {
        let known: Vec<&str> = loaded.config.providers.keys().map(String::as_str).collect();
        bail!(
            "no provider named {name:?} in config.toml (defined: {})",
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        );
    };
    let (model, endpoints) = (config.model.clone(), config.endpoints().join(", "));
    let provider = Provider::new(name, config)?;
    let local = provider.is_local();
    let request = ChatRequest {
        system: "You are being tested. Reply with the single word OK.".into(),
        messages: vec![Message::user("Say OK.")],
        tools: Vec::new(),
        max_tokens: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = std::time::Instant::now();
    let answer = runtime.block_on(provider.chat(&request, &mut |_| {}));
    let ms = started.elapsed().as_millis();
    let context = if local { "unredacted (local = true)" } else { "redacted (not marked local)" };
    match answer {
        Ok(reply) => {
            let said: String = reply.text.trim().chars().take(80).collect();
            if as_json {
                outln!(
                    "{}",
                    json!({ "provider": name, "model": model, "ok": true, "ms": ms, "reply": said, "local": local })
                )?;
            } else {
                outln!(
                    "paired: {name} ({model} at {endpoints}) answered in {ms} ms: {said:?}; context goes {context}"
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => bail!("provider {name} ({model} at {endpoints}) did not answer: {err}"),
    }
}

/// `paired providers set-key`, for `paired setup` too.
pub(crate) fn execute_set_key(entry: &str) -> Result<ExitCode> {
    set_key(entry)
}

fn set_key(entry: &str) -> Result<ExitCode> {
    secrets::checked(entry)?;
    let key = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("API key for {entry}: ")).context("cannot read the key from the terminal")?
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the key from standard input")?;
        text
    };
    let key = key.trim();
    if key.is_empty() {
        bail!("no key given: type it at the prompt, or pipe it in (`paired providers set-key {entry} < file`)");
    }
    if key.contains(char::is_whitespace) {
        bail!("the key contains whitespace; give the key alone, on one line");
    }
    secrets::set(entry, key)?;
    // Read it back: a keyring that accepts writes but cannot be read is no use to the daemon.
    if secrets::get(entry)? != key {
        bail!("the OS keyring stored the key but returned something else when read back");
    }
    outln!(
        "paired: stored the key as {}/{entry} in the OS keyring; use it with `api_key_keyring = \"{entry}\"` under [providers.NAME]",
        secrets::SERVICE
    )?;
    Ok(ExitCode::SUCCESS)
}

fn list(paths: &Paths, as_json: bool) -> Result<ExitCode> {
    // What the daemon reads: the user's file and the environment, no project layer.
    let loaded = crate::fronts::cli::common::load_layers(paths, None).context("invalid configuration")?;
    let agents = &loaded.config.agents;
    let mut rows = Vec::new();
    for (name, provider) in &loaded.config.providers {
        let (source, status) = match (&provider.api_key_env, &provider.api_key_keyring) {
            (Some(var), _) => {
                let set = std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
                (format!("env {var}"), if set { "ok".to_owned() } else { format!("{var} is not set") })
            }
            (None, Some(entry)) => {
                let status = match secrets::get(entry) {
                    Ok(_) => "ok".to_owned(),
                    Err(err) => err.to_string(),
                };
                (format!("keyring {}/{entry}", secrets::SERVICE), status)
            }
            (None, None) => ("none".to_owned(), if provider.is_local() { "ok (local)" } else { "ok" }.to_owned()),
        };
        let used_by: Vec<&str> = agents
            .providers
            .iter()
            .filter(|(_, p)| *p == name)
            .map(|(agent, _)| agent.as_str())
            .chain((agents.provider.as_deref() == Some(name)).then_some("default"))
            .collect();
        rows.push(json!({
            "name": name,
            "kind": provider.kind,
            "model": provider.model,
            "endpoints": provider.endpoints(),
            "local": provider.is_local(),
            "key": source,
            "key_status": status,
            "used_by": used_by,
        }));
    }
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&json!({ "providers": rows }))?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!("no providers configured: agents run their offline skills (add [providers.NAME] to config.toml)")?;
        return Ok(ExitCode::SUCCESS);
    }
    for row in &rows {
        let used =
            row["used_by"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "));
        outln!(
            "{:<12} {:<9} {:<24} key: {} ({}){}",
            row["name"].as_str().unwrap_or(""),
            row["kind"].as_str().unwrap_or(""),
            row["model"].as_str().unwrap_or(""),
            row["key"].as_str().unwrap_or(""),
            row["key_status"].as_str().unwrap_or(""),
            used.filter(|u| !u.is_empty()).map(|u| format!("  used by: {u}")).unwrap_or_default(),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
