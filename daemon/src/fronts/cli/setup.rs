//! `paired setup`: a model from the first minute. Finds the model servers
//! already running on this machine (Ollama, llama.cpp's server, LM Studio,
//! vLLM on their usual loopback ports; other addresses only when named with
//! `--probe`), lists their models, or takes a cloud provider and its key into
//! the OS keyring; writes the provider into the user's config (appended: the
//! file's own text and comments stay) and tests it with one short request.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::{
    io::{BufRead, IsTerminal, Write},
    process::ExitCode,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::{
    fronts::cli::common::{errln, outln},
    platform::paths::Paths,
};

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Also look for an OpenAI-compatible server at this URL (another machine: only when named).
    #[arg(long = "probe", value_name = "URL")]
    probes: Vec<String>,
    /// The model to use (default: the first the server lists).
    #[arg(long)]
    model: Option<String>,
    /// A cloud provider instead: `anthropic` or `openai`. Its key is asked for
    /// (or read from standard input) and kept in the OS keyring.
    #[arg(long, value_name = "KIND")]
    cloud: Option<String>,
    /// The cloud provider's URL (default: the kind's own).
    #[arg(long)]
    base_url: Option<String>,
    /// The name under `[providers.NAME]` (default: the server's kind).
    #[arg(long)]
    name: Option<String>,
    /// Do not ask: take the first server found (and its first model).
    #[arg(long)]
    yes: bool,
}

/// Where local model servers listen by default.
const LOCAL_SERVERS: [(&str, &str); 4] = [
    ("ollama", "http://127.0.0.1:11434"),
    ("llamacpp", "http://127.0.0.1:8080"),
    ("lmstudio", "http://127.0.0.1:1234"),
    ("vllm", "http://127.0.0.1:8000"),
];

/// A server that answered, with its models.
struct Found {
    kind: String,
    base_url: String,
    models: Vec<String>,
    loopback: bool,
}

pub fn execute(paths: &Paths, args: SetupArgs) -> Result<ExitCode> {
    let (name, block) = match &args.cloud {
        Some(kind) => cloud(&args, kind)?,
        None => local(&args)?,
    };
    write_provider(paths, &name, &block)?;
    outln!("paired: wrote [providers.{name}] to {}", paths.config_file().display())?;
    // One short request, as a run would make it.
    crate::fronts::cli::providers::execute(
        paths,
        crate::fronts::cli::providers::ProvidersCommand::Test { name: name.clone(), json: false },
    )
    .map_err(|err| {
        anyhow::anyhow!(
            "{err:#}\nthe configuration is written; fix the server or key and run `paired providers test {name}`"
        )
    })?;
    if crate::platform::instance::is_running(paths) {
        outln!("paired: the running daemon uses it after a restart: `paired stop` (editors start it again)")?;
    }
    outln!("paired: agents now answer in words too: `paired agents run sherlock --file F --prompt \"…\"`")?;
    Ok(ExitCode::SUCCESS)
}

fn local(args: &SetupArgs) -> Result<(String, String)> {
    let mut candidates: Vec<(String, String)> =
        LOCAL_SERVERS.iter().map(|(kind, url)| ((*kind).to_owned(), (*url).to_owned())).collect();
    // Tests point the usual ports at servers of their own.
    if std::env::var_os("PAIRED_TEST_HOOKS").is_some()
        && let Ok(listed) = std::env::var("PAIRED_TEST_SETUP_SERVERS")
    {
        candidates = listed
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(kind, url)| (kind.to_owned(), url.to_owned()))
            .collect();
    }
    candidates.extend(args.probes.iter().map(|url| ("openai".to_owned(), url.trim_end_matches('/').to_owned())));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let found: Vec<Found> = runtime.block_on(probe_all(&candidates));
    if found.is_empty() {
        bail!(
            "no model server answered on this machine (looked for Ollama on 11434, llama.cpp on 8080, LM Studio on 1234, vLLM on 8000); \
             start one, name another with `--probe URL`, or use a cloud provider: `paired setup --cloud anthropic --model claude-sonnet-4-5`"
        );
    }
    for server in &found {
        outln!(
            "paired: found {} at {} with {} model(s): {}",
            server.kind,
            server.base_url,
            server.models.len(),
            server.models.join(", ")
        )?;
    }
    let server = choose_server(&found, args.yes)?;
    let model = match &args.model {
        Some(model) if server.models.contains(model) => model.clone(),
        Some(model) => bail!("{} has no model {model:?} (it has: {})", server.kind, server.models.join(", ")),
        None => server.models.first().cloned().context("the server lists no model; load one and run setup again")?,
    };
    let name = args.name.clone().unwrap_or_else(|| server.kind.clone());
    // A server on this machine runs the model here; one elsewhere does not.
    let local = if server.loopback {
        "local = true                       # the model runs on this machine: context goes unredacted\n\
         # (set local = false if this server forwards to a cloud, as a LiteLLM gateway does)\n"
    } else {
        ""
    };
    let block = format!(
        "\n# Written by `paired setup`: {kind} at {url}.\n[providers.{name}]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\nmodel = \"{model}\"\n{local}",
        kind = server.kind,
        url = server.base_url,
    );
    Ok((name, block))
}

fn choose_server(found: &[Found], yes: bool) -> Result<&Found> {
    if yes || found.len() == 1 && !std::io::stdin().is_terminal() {
        return Ok(&found[0]);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{} servers answered; say which with --probe URL, or take the first with --yes", found.len());
    }
    for (i, server) in found.iter().enumerate() {
        outln!("  {}. {} at {}", i + 1, server.kind, server.base_url)?;
    }
    let mut stdout = std::io::stdout();
    write!(stdout, "Use which? [1] ").context("cannot ask")?;
    stdout.flush().context("cannot ask")?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).context("cannot read the answer")?;
    let pick = answer.trim().parse::<usize>().unwrap_or(1);
    found.get(pick.saturating_sub(1)).context("no such server")
}

async fn probe_all(candidates: &[(String, String)]) -> Vec<Found> {
    let client = match crate::platform::http::client().timeout(Duration::from_millis(1500)).build() {
        Ok(client) => client,
        Err(_) => return Vec::new(),
    };
    let probes = candidates.iter().map(|(kind, url)| probe(&client, kind, url));
    futures::future::join_all(probes).await.into_iter().flatten().collect()
}

/// The models an OpenAI-compatible server lists (`GET /v1/models`); Ollama,
/// llama.cpp, LM Studio and vLLM all answer it.
async fn probe(client: &reqwest::Client, kind: &str, base_url: &str) -> Option<Found> {
    let reply = client.get(format!("{base_url}/v1/models")).send().await.ok()?;
    if !reply.status().is_success() {
        return None;
    }
    let listed: serde_json::Value = serde_json::from_slice(&reply.bytes().await.ok()?).ok()?;
    let models: Vec<String> = listed
        .get("data")?
        .as_array()?
        .iter()
        .filter_map(|m| m.get("id").and_then(|id| id.as_str()).map(str::to_owned))
        .collect();
    let host = url::Url::parse(base_url).ok()?.host_str().map(str::to_owned).unwrap_or_default();
    let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]" | "::1");
    Some(Found { kind: kind.to_owned(), base_url: base_url.to_owned(), models, loopback })
}

fn cloud(args: &SetupArgs, kind: &str) -> Result<(String, String)> {
    let (default_url, example) = match kind {
        "anthropic" => ("https://api.anthropic.com", "claude-sonnet-4-5"),
        "openai" => ("https://api.openai.com/v1", "gpt-4o"),
        other => bail!(
            "no cloud provider kind {other:?}: use anthropic or openai (OpenAI-compatible services: openai with --base-url)"
        ),
    };
    let Some(model) = &args.model else {
        bail!("name the model: `paired setup --cloud {kind} --model {example}`");
    };
    let name = args.name.clone().unwrap_or_else(|| kind.to_owned());
    let base_url = args.base_url.clone().unwrap_or_else(|| default_url.to_owned());
    if !base_url.starts_with("https://") {
        errln!("paired: {base_url} is not https: the key would cross the network in the clear");
    }
    // The key into the OS keyring, asked without echo (or read from standard input).
    crate::fronts::cli::providers::execute_set_key(&name)?;
    Ok((
        name.clone(),
        format!(
            "\n# Written by `paired setup`.\n[providers.{name}]\nkind = \"{kind}\"\nbase_url = \"{base_url}\"\nmodel = \"{model}\"\napi_key_keyring = \"{name}\"\n"
        ),
    ))
}

/// Appends the provider to the user's `config.toml` and makes it the
/// default unless another one is: the file's own text stays as it is, and
/// the result must load before it is written.
fn write_provider(paths: &Paths, name: &str, block: &str) -> Result<()> {
    let file = paths.config_file();
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", file.display())),
    };
    let parsed: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} does not parse; fix it first", file.display()))?;
    if parsed.get("providers").and_then(|p| p.get(name)).is_some() {
        bail!("{} has [providers.{name}] already; choose another with --name", file.display());
    }
    let default = parsed.get("agents").and_then(|a| a.get("provider")).and_then(|p| p.as_str()).map(str::to_owned);
    let mut new = text.clone();
    match (&default, parsed.contains_key("agents")) {
        (Some(current), _) => {
            outln!(
                "paired: agents keep their default provider {current:?}; `[agents] provider = \"{name}\"` makes it this one"
            )?;
        }
        // Into the existing [agents] table, just under its header.
        (None, true) => {
            let at = new.lines().scan(0, |offset, line| {
                let start = *offset;
                *offset += line.len() + 1;
                Some((start, line))
            });
            let header = at.filter(|(_, l)| l.trim() == "[agents]").map(|(start, l)| start + l.len() + 1).next();
            let header = header.context("an [agents] table written inline; add `provider = \"NAME\"` to it by hand")?;
            new.insert_str(header.min(new.len()), &format!("provider = \"{name}\"\n"));
        }
        (None, false) => new.push_str(&format!("\n[agents]\nprovider = \"{name}\"\n")),
    }
    new.push_str(block);
    // Loaded as the daemon will load it, before anything is written.
    let _: crate::platform::config::Config =
        toml::from_str(&new).context("the new configuration does not load (a defect; nothing was written)")?;
    if let Some(dir) = file.parent() {
        crate::platform::paths::create_private_dir(dir)?;
    }
    crate::platform::paths::write_private(&file, new.as_bytes())
}
