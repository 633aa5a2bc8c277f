//! What every command of the command line shares: output that a closed pipe
//! cannot break ([`outln!`] and friends), the configuration for a command run
//! here, and the project a folder belongs to.

use std::{fmt, io, path::PathBuf};

use anyhow::Result;

use crate::platform::{
    config::{self, Loaded},
    paths::Paths,
};

/// `println!` for the CLI: returns [`StdoutClosed`] when the reader of stdout
/// has gone, which `cli::main` turns into a quiet success.
macro_rules! outln {
    () => {
        $crate::fronts::cli::common::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::fronts::cli::common::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for the CLI, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::fronts::cli::common::write_stdout(format_args!($($arg)*))
    };
}

/// `eprintln!` that cannot panic: when stderr is closed there is nowhere left
/// to say anything.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::fronts::cli::common::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!`, as [`errln!`].
macro_rules! errout {
    ($($arg:tt)*) => {
        $crate::fronts::cli::common::write_stderr(format_args!($($arg)*))
    };
}

pub(crate) use {errln, errout, out, outln};

/// Whoever read our stdout has gone (`paired … | head -1`): not a failure.
#[derive(Debug, thiserror::Error)]
#[error("stdout is closed")]
pub struct StdoutClosed;

/// The exit code of a run or workflow that worked and had nothing to give
/// (`no_result`): not a failure (1), not a success (0) a script could mistake.
pub(crate) const NO_RESULT: u8 = 3;

pub(crate) fn write_stdout(args: fmt::Arguments<'_>) -> Result<()> {
    use std::io::Write as _;
    std::io::stdout().lock().write_fmt(args).map_err(stdout_error)
}

/// A failed write or flush of stdout: [`StdoutClosed`] for a broken pipe.
pub(crate) fn stdout_error(err: io::Error) -> anyhow::Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        anyhow::Error::new(err).context("cannot write to stdout")
    }
}

pub(crate) fn write_stderr(args: fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// The configuration for a command run here: the user's, this project's, the
/// environment's. `warnings` holds the unknown `PAIRED_*` variables (commands
/// a person types have refused them already).
pub fn load_config(paths: &Paths) -> Result<Loaded> {
    let cwd = std::env::current_dir().ok();
    let project = cwd.as_deref().and_then(config::find_project_root);
    load_layers(paths, project.as_deref())
}

pub(crate) fn load_layers(paths: &Paths, project: Option<&std::path::Path>) -> Result<Loaded> {
    let env = config::Environment::from_process()?;
    let loaded = config::load(&paths.config_file(), project, &|key| env.get(key))?;
    Ok(Loaded { warnings: env.warnings(), ..loaded })
}

/// The project a folder belongs to (see [`crate::services::workspace::project_root`]).
pub fn project_root(dir: &std::path::Path) -> PathBuf {
    crate::services::workspace::project_root(dir)
}

/// The user pressed Ctrl-C while a command waited for a run or a session,
/// which was cancelled in the daemon first: exit 130, as a shell expects.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {0} cancelled")]
pub struct Interrupted(pub String);

/// `waiting`, unless the user presses Ctrl-C first: then the run or session
/// `id` is cancelled in the daemon — left alone it would go on, and a model
/// would go on being called and billed — and the command ends [`Interrupted`].
pub async fn unless_interrupted<T>(
    client: &jsonrpsee::ws_client::WsClient,
    id: &str,
    waiting: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        done = waiting => done,
        _ = tokio::signal::ctrl_c() => {
            let cancel = protocol::agents::RunRef { run_id: id.to_owned(), wait: false };
            crate::server::client::call::<protocol::agents::CancelRun>(client, &cancel).await?;
            Err(Interrupted(id.to_owned()).into())
        }
    }
}

/// Prints `shown` after `label`, and opens `target` in the user's browser:
/// `$BROWSER` when set (a command, given the target as its last argument, as
/// other command-line tools read it), else the desktop's opener.
pub fn open_browser(label: &str, shown: &str, target: &str) {
    errln!("{label}: {shown}");
    let browser = std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty());
    let commands = match &browser {
        Some(value) => browser_commands(value, target),
        None => browser_commands(crate::platform::os::url_opener(), target),
    };
    let mut failed = Vec::new();
    for words in commands {
        let Some((program, args)) = words.split_first() else { continue };
        let spawned = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(_) => return,
            Err(err) => failed.push(format!("{program}: {err}")),
        }
    }
    match browser {
        Some(browser) => {
            errln!("paired: cannot start $BROWSER ({browser}): {}; open the address yourself", failed.join("; "))
        }
        None => errln!("paired: no browser opened ({}); open the address yourself, or set $BROWSER", failed.join("; ")),
    }
}

/// The commands `$BROWSER` names, as other command-line tools read it: a
/// `:`-separated list tried in turn, `%s` in a command replaced by the address
/// (else the address is its last argument), `%%` a literal `%`.
fn browser_commands(value: &str, url: &str) -> Vec<Vec<String>> {
    value
        .split(':')
        .filter(|command| !command.trim().is_empty())
        .map(|command| {
            let mut placed = false;
            let mut words: Vec<String> = command
                .split_whitespace()
                .map(|word| {
                    let mut out = String::new();
                    let mut chars = word.chars().peekable();
                    while let Some(c) = chars.next() {
                        match (c, chars.peek()) {
                            ('%', Some('s')) => {
                                chars.next();
                                out.push_str(url);
                                placed = true;
                            }
                            ('%', Some('%')) => {
                                chars.next();
                                out.push('%');
                            }
                            _ => out.push(c),
                        }
                    }
                    out
                })
                .collect();
            if !placed {
                words.push(url.to_owned());
            }
            words
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::browser_commands;

    #[test]
    fn browser_is_a_list_of_commands_with_the_address_in_place_of_percent_s() {
        let url = "file:///run/user/1/console-x.html";
        assert_eq!(browser_commands("firefox", url), [vec!["firefox".to_owned(), url.to_owned()]]);
        assert_eq!(
            browser_commands("flatpak run org.mozilla.firefox %s --new-tab:xdg-open", url),
            [
                vec!["flatpak".into(), "run".into(), "org.mozilla.firefox".into(), url.to_owned(), "--new-tab".into()],
                vec!["xdg-open".to_owned(), url.to_owned()],
            ]
        );
        assert_eq!(browser_commands("open --url=%s%%", url), [vec!["open".to_owned(), format!("--url={url}%")]]);
        assert!(browser_commands("::", url).is_empty());
    }
}
