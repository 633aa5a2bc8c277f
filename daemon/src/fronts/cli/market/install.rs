//! `paired market install` and `update`, through the daemon: its progress as a
//! bar (or plain lines), and the permission prompt when the agent asks for
//! permissions the user has not granted.

use std::{
    io::{BufRead, IsTerminal, Write},
    process::ExitCode,
};

use anyhow::{Result, bail};
use jsonrpsee::{
    core::client::{ClientT, Error as ClientError, Subscription, SubscriptionClientT},
    types::ErrorObjectOwned,
};
use protocol::{
    Subscription as _,
    client::{Attach, ClientHello, ClientKind, Event},
    errors,
    market::{self as wire, InstallParams, Installed},
};

use super::shared::split;
use crate::{
    fronts::cli::common::{errln, errout, outln},
    platform::paths::Paths,
    server::client::{self, ByName},
};

/// `paired market install NAME[@VERSION]`.
pub(super) async fn install_package(
    paths: &Paths,
    package: &str,
    registry: Option<String>,
    yes: bool,
    json: bool,
) -> Result<ExitCode> {
    let (name, version) = split(package);
    let params = InstallParams { name, version, registry, accept_permissions: false, permissions: None, licence: None };
    install::<wire::Install>(paths, params, yes, json).await
}

/// `paired market update NAME`.
pub(super) async fn update(paths: &Paths, name: String, yes: bool, json: bool) -> Result<ExitCode> {
    let params = InstallParams {
        name,
        version: None,
        registry: None,
        accept_permissions: false,
        permissions: None,
        licence: None,
    };
    install::<wire::Update>(paths, params, yes, json).await
}

/// Installs (or updates) through the daemon: shows its progress, asks for
/// consent to the agent's permissions when it needs it, and calls again.
async fn install<M>(paths: &Paths, mut params: InstallParams, yes: bool, json: bool) -> Result<ExitCode>
where
    M: protocol::Method<Params = InstallParams, Result = Installed>,
{
    let connection = client::connect_or_start(paths).await?;
    let hello = ClientHello {
        kind: ClientKind::Cli,
        name: "paired market".into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        pid: Some(std::process::id()),
        workspace_folders: Vec::new(),
        events: Some(vec!["market_progress".to_owned()]),
    };
    let mut events: Subscription<Event> =
        connection.client.subscribe(Attach::SUBSCRIBE, ByName(&hello), Attach::UNSUBSCRIBE).await?;
    let mut progress = Progress::new(json);
    let mut asked = 0;
    loop {
        let call = connection.client.request::<Installed, _>(M::NAME, ByName(&params));
        let result = progress.follow(&mut events, call, &params.name).await;
        match result {
            Ok(installed) => {
                progress.bar.finish_and_clear();
                if json {
                    outln!("{}", serde_json::to_string_pretty(&installed)?)?;
                } else {
                    outln!("installed {}@{} from {}", installed.name, installed.version, installed.registry)?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            Err(ClientError::Call(call)) if call.code() == errors::NEEDS_CONSENT && !asked_twice(&mut asked) => {
                progress.bar.finish_and_clear();
                consent(&call, &mut params, yes)?;
            }
            Err(ClientError::Call(call)) => bail!("{}: {}", M::NAME, call.message()),
            Err(other) => bail!("{}: {other}", M::NAME),
        }
    }
}

/// An install's progress: a bar on a terminal; elsewhere (a log, CI, an
/// editor's task) plain lines.
struct Progress {
    terminal: bool,
    bar: indicatif::ProgressBar,
    lines: PlainProgress,
    /// The daemon's events still come.
    listening: bool,
}

impl Progress {
    fn new(json: bool) -> Progress {
        let terminal = !json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let bar = if terminal { indicatif::ProgressBar::new(0) } else { indicatif::ProgressBar::hidden() };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:12} [{bar:30}] {bytes}/{total_bytes}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Progress { terminal, bar, lines: PlainProgress::default(), listening: true }
    }

    /// Waits for `call`, showing the progress of package `name` meanwhile.
    async fn follow<T>(
        &mut self,
        events: &mut Subscription<Event>,
        call: impl Future<Output = Result<T, ClientError>>,
        name: &str,
    ) -> Result<T, ClientError> {
        tokio::pin!(call);
        loop {
            // Every event is taken here and the others skipped: a pattern in the
            // branch itself would disable it at the first other event (such as
            // this client's own attach), silencing the progress (issue #15).
            tokio::select! {
                result = &mut call => break result,
                event = events.next(), if self.listening => match event {
                    Some(Ok(Event::MarketProgress { name: of, phase, done, total })) if of == name => {
                        if !self.terminal {
                            self.lines.show(&of, &phase, done, total);
                        }
                        self.bar.set_message(phase);
                        self.bar.set_length(total);
                        self.bar.set_position(done);
                    }
                    Some(_) => {}
                    None => self.listening = false,
                },
            }
        }
    }
}

/// The agent asks for permissions: shows them (what is new since the
/// installed version), asks the user unless `yes`, and puts the consent in
/// `params`. An error if the user does not grant them.
fn consent(call: &ErrorObjectOwned, params: &mut InstallParams, yes: bool) -> Result<()> {
    let data: serde_json::Value = call.data().and_then(|raw| serde_json::from_str(raw.get()).ok()).unwrap_or_default();
    let lines: Vec<String> = data["permissions"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let version = data["version"].as_str().unwrap_or("?").to_owned();
    let registry = data["registry"].as_str().unwrap_or("?").to_owned();
    // What the installed version was granted: the rest is new.
    let granted: Option<Vec<&str>> = data["granted"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect());
    let publisher = data["publisher"].as_str().filter(|p| !p.is_empty()).unwrap_or("unknown");
    errln!(
        "{}@{version} from registry {registry} (publisher {}) will be allowed to{}:",
        params.name,
        crate::services::market::shown(publisher),
        if granted.is_some() { " (+ new, - granted before)" } else { "" }
    );
    for line in &lines {
        match &granted {
            Some(granted) if !granted.contains(&line.as_str()) => {
                errln!("  + {} (new)", crate::services::market::shown(line))
            }
            _ => errln!("  - {}", crate::services::market::shown(line)),
        }
    }
    if !yes && !confirm("Grant these permissions and install?")? {
        bail!("not installed: the permissions were not granted");
    }
    // Consent covers exactly this: the daemon asks again if any of it changed.
    params.accept_permissions = true;
    params.version = Some(version);
    params.registry = Some(registry);
    params.permissions = Some(lines);
    Ok(())
}

/// Progress as plain lines, when there is no terminal for a bar: each phase
/// once, and the download at every tenth.
#[derive(Default)]
struct PlainProgress {
    phase: String,
    tenth: u64,
}

impl PlainProgress {
    fn show(&mut self, name: &str, phase: &str, done: u64, total: u64) {
        let tenth = (done.min(total) * 10).checked_div(total).unwrap_or(0);
        if phase != self.phase {
            (self.phase, self.tenth) = (phase.to_owned(), tenth);
        } else if phase != "download" || tenth == self.tenth {
            return;
        } else {
            self.tenth = tenth;
        }
        if phase == "download" && total > 0 {
            errln!("{name}: download {done}/{total} bytes ({}%)", done.min(total) * 100 / total);
        } else {
            errln!("{name}: {phase}");
        }
    }
}

fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("the agent asks for permissions and there is no terminal to ask: pass --yes to grant them");
    }
    errout!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// The user is asked at most twice (once more if what they accepted changed
/// before the install); a third change is an error.
fn asked_twice(asked: &mut u32) -> bool {
    *asked += 1;
    *asked > 2
}
