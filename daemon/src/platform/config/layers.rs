//! The layers — defaults, the user's file, the project's file, the
//! environment — read, checked one by one and merged; a rule the merged
//! configuration breaks is blamed on the layer that set the key.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

use super::{
    env::{EnvVar, env_layer},
    sections::Config,
    validate::{KeyError, validate},
};

/// Where a layer of configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Defaults,
    File(PathBuf),
    Env(Vec<String>),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Defaults => f.write_str("built-in defaults"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Env(vars) => write!(f, "environment ({})", vars.join(", ")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub sources: Vec<Source>,
    /// Problems that do not stop the program, one sentence each, such as an
    /// unknown `PAIRED_*` variable when an editor launched us (`paired lsp`,
    /// `paired acp`): the caller logs them once, and a front may show them.
    pub warnings: Vec<String>,
}
/// Loads and merges every layer. `project_dir` is the project root (the folder
/// holding `.paired/`), if any.
///
/// A rule broken by the merged configuration (a limit of 0, a provider nobody
/// defined) is blamed on the last layer that set the key: `<file>:<line>: key …`
/// or `environment variable PAIRED_… (for …)`.
pub fn load(user_file: &Path, project_dir: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded> {
    let mut merged = toml::Table::new();
    let mut sources = vec![Source::Defaults];
    let mut files = Vec::new();
    let project_file = project_dir.map(|dir| dir.join(".paired").join("config.toml"));
    for file in std::iter::once(user_file.to_path_buf()).chain(project_file) {
        if let Some((table, text)) = read_layer_text(&file)? {
            merge(&mut merged, table);
            sources.push(Source::File(file.clone()));
            files.push((file, text));
        }
    }
    let (env_table, vars) = env_layer(env)?;
    if !vars.is_empty() {
        merge(&mut merged, env_table);
        sources.push(Source::Env(vars.iter().map(|v| v.name.clone()).collect()));
    }
    let config: Config = toml::Value::Table(merged).try_into().context("invalid merged configuration")?;
    validate(&config).map_err(|err| blame(err, &files, &vars))?;
    Ok(Loaded { config, sources, warnings: Vec::new() })
}

/// Checks one file; `Ok(None)` when it does not exist.
pub fn read_layer(path: &Path) -> Result<Option<toml::Table>> {
    Ok(read_layer_text(path)?.map(|(table, _)| table))
}

fn read_layer_text(path: &Path) -> Result<Option<(toml::Table, String)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read config file {}", path.display()));
        }
    };
    let table = check_text(&text).map_err(|err| anyhow::anyhow!("{}:{err}", path.display()))?;
    Ok(Some((table, text)))
}
/// Names where a broken rule's key was set: the environment variable, else the
/// last file that sets it (or, failing that, the deepest part of it), with its line.
fn blame(err: anyhow::Error, files: &[(PathBuf, String)], vars: &[EnvVar]) -> anyhow::Error {
    let Some(KeyError { key, reason }) = err.downcast_ref::<KeyError>() else { return err };
    let within = |set: &str| key == set || key.starts_with(&format!("{set}."));
    if let Some(var) = vars.iter().rev().find(|v| within(&v.key)) {
        return anyhow::anyhow!("{}: {reason}", var.shown());
    }
    let mut best: Option<(usize, &Path, usize)> = None;
    for (path, text) in files.iter().rev() {
        if let Some((depth, line)) = key_line(text, key)
            && best.is_none_or(|(d, _, _)| depth > d)
        {
            best = Some((depth, path, line));
        }
    }
    match best {
        Some((_, path, line)) => anyhow::anyhow!("{}:{line}: key `{key}`: {reason}", path.display()),
        None => err,
    }
}

/// How many parts of the dotted `key` a file's text sets, and the line of the
/// deepest one. An array of tables is entered by its entries' `name`.
fn key_line(text: &str, key: &str) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    let mut parts = key.split('.').peekable();
    let mut depth = 0;
    while let Some(part) = parts.next() {
        let Some((name, value)) = table.iter().find(|(name, _)| name.get_ref() == part) else { break };
        depth += 1;
        found = Some(name.span().start);
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            DeValue::Array(items) => {
                let Some(&wanted) = parts.peek() else { break };
                let entry = items.iter().find_map(|item| match item.get_ref() {
                    DeValue::Table(entry)
                        if entry.iter().any(|(k, v)| {
                            k.get_ref() == "name" && matches!(v.get_ref(), DeValue::String(s) if s == wanted)
                        }) =>
                    {
                        Some((item.span().start, entry))
                    }
                    _ => None,
                });
                let Some((start, entry)) = entry else { break };
                parts.next();
                depth += 1;
                found = Some(start);
                table = entry;
            }
            _ => break,
        }
    }
    let offset = found?;
    Some((depth, text[..offset.min(text.len())].matches('\n').count() + 1))
}

/// Parses a config file's text and checks it against [`Config`]. The error reads
/// `<line>: key `<key>`: <reason>`.
pub fn check_text(text: &str) -> std::result::Result<toml::Table, String> {
    let located = |err: toml::de::Error| -> String {
        let Some(span) = err.span() else {
            return format!(" {}", err.message());
        };
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        match key_at(text, span.start) {
            Some(key) => format!("{line}: key `{key}`: {}", err.message()),
            None => format!("{line}: {}", err.message()),
        }
    };
    let table: toml::Table = toml::from_str(text).map_err(located)?;
    toml::from_str::<Config>(text).map_err(located)?;
    Ok(table)
}

/// The dotted key whose line holds byte `offset`: the last `[table]` header above
/// it, joined with the key on that line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    let header = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    if line.starts_with('[') {
        return Some(line.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    }
    let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_owned())?;
    Some(match header {
        Some(h) => format!("{h}.{key}"),
        None => key,
    })
}
fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(value)) => merge(existing, value),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}
/// The project root for `dir`: the nearest ancestor holding `.paired/` or
/// `.pairedrules` (1.0's two markers).
pub fn find_project_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.join(".paired").is_dir() || d.join(".pairedrules").is_file()).map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn check(text: &str, expected: &str) {
        let actual = match check_text(text) {
            Ok(_) => "ok".to_owned(),
            Err(err) => err,
        };
        assert_eq!(actual.trim(), expected, "for:\n{text}");
    }

    #[test]
    fn errors_name_line_key_and_reason() {
        check("[daemon]\nport = 7000\n", "ok");
        check("[daemon]\nport = 70000\n", "2: key `daemon.port`: invalid value: integer `70000`, expected u16");
        check(
            "[daemon]\nprot = 1\n",
            "2: key `daemon.prot`: unknown field `prot`, expected `port` or `autostart_idle_secs`",
        );
        check(
            "\n\n[logs]\nfilter='x'\n",
            "3: key `logs`: unknown field `logs`, expected one of `daemon`, `server`, `log`, `context`, `compat`, `bridge`, `limits`, `providers`, `agents`, `completion`, `market`, `sandbox`, `team`",
        );
        check(
            "[server]\nrequire_token = \"yes\"\n",
            "2: key `server.require_token`: invalid type: string \"yes\", expected a boolean",
        );
        check("[daemon\n", "1: key `daemon`: unclosed table, expected `]`");
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = dir.path().join("user.toml");
        std::fs::write(&user, "[daemon]\nport = 8000\n[log]\nfilter = \"debug\"\n").expect("write");
        let project = dir.path().join("proj");
        std::fs::create_dir_all(project.join(".paired")).expect("mkdir");
        std::fs::write(project.join(".paired/config.toml"), "[daemon]\nport = 8001\n").expect("write");
        let env: HashMap<&str, &str> = [("PAIRED_SERVER_MAX_BATCH_LEN", "3")].into();
        let loaded = load(&user, Some(&project), &|k| env.get(k).map(|v| v.to_string())).expect("load");
        assert_eq!(loaded.config.daemon.port, 8001);
        assert_eq!(loaded.config.log.filter, "debug");
        assert_eq!(loaded.config.server.max_batch_len, 3);
        assert_eq!(loaded.sources.len(), 4);

        let env: HashMap<&str, &str> = [("PAIRED_PORT", "9000")].into();
        let loaded = load(&user, Some(&project), &|k| env.get(k).map(|v| v.to_string())).expect("load");
        assert_eq!(loaded.config.daemon.port, 9000);

        let env: HashMap<&str, &str> = [("PAIRED_PORT", "ninety")].into();
        let err = load(&user, None, &|k| env.get(k).map(|v| v.to_string())).expect_err("bad env");
        assert_eq!(
            format!("{err:#}"),
            "environment variable PAIRED_PORT=\"ninety\" (for `daemon.port`): expected a whole number"
        );

        std::fs::write(&user, "[daemon]\nport = -1\n").expect("write");
        let err = load(&user, None, &|_| None).expect_err("bad file");
        assert!(format!("{err:#}").starts_with(&format!("{}:2: key `daemon.port`", user.display())), "{err:#}");
    }

    /// Issue #14: rules checked on the merged configuration name the file, key
    /// and line that set the value.
    #[test]
    fn broken_rules_name_the_layer_that_set_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = dir.path().join("config.toml");
        let project = dir.path().join("proj");
        std::fs::create_dir_all(project.join(".paired")).expect("mkdir");
        let project_file = project.join(".paired/config.toml");
        let load_err = |user_text: &str, project_text: &str| {
            std::fs::write(&user, user_text).expect("write");
            std::fs::write(&project_file, project_text).expect("write");
            format!("{:#}", load(&user, Some(&project), &|_| None).expect_err("invalid"))
        };
        let user_shown = user.display().to_string();
        let project_shown = project_file.display().to_string();
        assert_eq!(
            load_err("# limits\n\n[limits]\noffline = 2\nmax_running = 0\n", "[limits]\noffline = 3\n"),
            format!("{user_shown}:5: key `limits.max_running`: must be greater than 0")
        );
        assert_eq!(
            load_err("[limits]\nmax_running = 0\n", "\n[limits]\nmax_running = 0\n"),
            format!("{project_shown}:3: key `limits.max_running`: must be greater than 0"),
            "the last layer that sets the key is blamed"
        );
        assert_eq!(
            load_err("[server]\nallowed_origins = [\"https://*\"]\n", ""),
            format!(
                "{user_shown}:2: key `server.allowed_origins`: \"https://*\" is not allowed; write `scheme://host[:port]`, or `scheme://*` for a non-web scheme such as vscode-webview"
            )
        );
        let registries = "[[market.registries]]\nname = \"a\"\nurl = \"https://a.example\"\nroot = \"/r.json\"\n\n[[market.registries]]\nname = \"b\"\nurl = \"gopher://b\"\nroot = \"/r.json\"\n";
        assert_eq!(
            load_err(registries, ""),
            format!("{user_shown}:8: key `market.registries.b.url`: scheme `gopher` is not http, https or file")
        );
        assert_eq!(
            load_err("[providers.local]\nkind = \"openai\"\nbase_url = \"ftp://x\"\nmodel = \"m\"\n", ""),
            format!("{user_shown}:3: key `providers.local.base_url`: \"ftp://x\" is not an http(s) URL")
        );
        assert_eq!(
            load_err("", "[agents]\nprovider = \"cloud\"\n"),
            format!(
                "{project_shown}:2: key `agents.provider`: no provider named \"cloud\"; define [providers.cloud] (defined: none)"
            )
        );
    }
}
