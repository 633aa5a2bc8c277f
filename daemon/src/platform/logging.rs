//! Logging: `tracing` to stderr in the foreground and to a size-capped file in the
//! state directory.
//!
//! The file writer is written here rather than taken from `tracing-appender`, whose
//! rolling appender rotates by time only; a daemon that runs for weeks needs a
//! bound on disk use. One previous file (`paired.log.1`) is kept.
//!
//! Secrets never reach a log: every line goes through [`Redacting`], which
//! replaces each value registered with [`redact`] (the daemon's token, on both
//! sides of a connection) whatever the level and whichever library logged it.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, IsTerminal, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
};

use tracing_subscriber::{EnvFilter, filter::Targets, fmt, layer::SubscriberExt, util::SubscriberInitExt};

pub struct Logging<'a> {
    pub filter: &'a str,
    pub stderr: bool,
    pub file: Option<(&'a Path, u64)>,
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured filter.
pub fn init(logging: Logging<'_>) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.is_empty() => EnvFilter::try_new(&from_env)
            .map_err(|err| anyhow::anyhow!("RUST_LOG={from_env:?} is not a valid filter: {err}"))?,
        _ => EnvFilter::try_new(logging.filter)?,
    };
    let stderr_layer = logging.stderr.then(|| {
        fmt::layer().with_writer(|| Redacting(io::stderr())).with_ansi(io::stderr().is_terminal()).with_target(false)
    });
    let file_layer = match logging.file {
        Some((path, max_bytes)) => {
            let writer = CappedFile::open(path, max_bytes)?;
            Some(
                fmt::layer()
                    .with_ansi(false)
                    .fmt_fields(PlainFields::default())
                    .with_writer(move || Redacting(writer.clone())),
            )
        }
        None => None,
    };
    tracing_subscriber::registry().with(filter).with(stderr_layer).with(file_layer).try_init()?;
    Ok(())
}

/// Logging to stderr for `paired lsp`, the proxy each editor window runs, with
/// `filter` unless `RUST_LOG` is set. Filters are `target=level` directives
/// ([`Targets`]): `EnvFilter`'s span and field matching would put a regex
/// engine in every editor window's process. Returns why a filter was not
/// taken (`info` is used instead), for the caller to log.
pub fn init_front(filter: &str) -> anyhow::Result<Option<String>> {
    let (targets, refused) = match std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()) {
        Some(from_env) => front_filter("RUST_LOG", &from_env),
        None => front_filter("the log filter", filter),
    };
    let stderr_layer =
        fmt::layer().with_writer(|| Redacting(io::stderr())).with_ansi(io::stderr().is_terminal()).with_target(false);
    tracing_subscriber::registry().with(targets).with(stderr_layer).try_init()?;
    Ok(refused)
}

/// `Targets` reads an empty directive (`info,`, or an empty filter) as
/// "everything at trace", and span or field directives (`x[span]=debug`) as
/// ones that never match: neither is what the user meant, so empty pieces are
/// dropped, an empty filter is `info`, and `[` is refused.
fn front_filter(name: &str, filter: &str) -> (Targets, Option<String>) {
    let directives: Vec<&str> = filter.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    let info = || Targets::new().with_default(tracing::Level::INFO);
    if directives.is_empty() {
        return (info(), None);
    }
    let parsed = if directives.iter().any(|d| d.contains('[')) {
        Err("span and field filters are the daemon's only".to_owned())
    } else {
        directives.join(",").parse::<Targets>().map_err(|err| err.to_string())
    };
    match parsed {
        Ok(targets) => (targets, None),
        Err(err) => (
            info(),
            Some(format!("{name} {filter:?} is not a list of `target=level` directives ({err}); logging at info")),
        ),
    }
}

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Never writes `secret` to any log from now on: lines that hold it show
/// `[redacted]` instead.
pub fn redact(secret: &str) {
    if secret.len() < 8 {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_owned());
    }
}

/// A log writer that blanks out registered secrets. `tracing`'s formatter hands
/// each event over in one `write`, so a secret is never split across two calls.
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
        let mut redacted: Option<Vec<u8>> = None;
        for secret in secrets.iter() {
            let text = redacted.as_deref().unwrap_or(buf);
            if let Some(replaced) = replace_all(text, secret.as_bytes(), b"[redacted]") {
                redacted = Some(replaced);
            }
        }
        drop(secrets);
        self.0.write_all(redacted.as_deref().unwrap_or(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `haystack` with every `needle` replaced, or `None` when there is none.
fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    let first = haystack.windows(needle.len()).position(|w| w == needle)?;
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    let mut at = Some(first);
    while let Some(i) = at {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(with);
        rest = &rest[i + needle.len()..];
        at = rest.windows(needle.len()).position(|w| w == needle);
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// Span fields are formatted once per formatter *type* and cached in the span, so
/// the file layer needs a type of its own or it would reuse the terminal's
/// colourised fields.
#[derive(Default)]
struct PlainFields(fmt::format::DefaultFields);

impl<'writer> fmt::FormatFields<'writer> for PlainFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: fmt::format::Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// An append-only log file that moves itself to `<name>.1` when it would grow past
/// `max_bytes`.
///
/// The next file is opened before anything is renamed: when that fails (out of
/// descriptors, say), writing goes on in the current file past the cap and the
/// rotation is tried again at the next line, so the log is never lost.
#[derive(Clone)]
pub struct CappedFile {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    path: PathBuf,
    file: File,
    len: u64,
    max_bytes: u64,
}

impl CappedFile {
    pub fn open(path: &Path, max_bytes: u64) -> io::Result<CappedFile> {
        let file = open_log(path)?;
        let len = file.metadata()?.len();
        Ok(CappedFile { inner: Arc::new(Mutex::new(Inner { path: path.to_path_buf(), file, len, max_bytes })) })
    }
}

fn open_log(path: &Path) -> io::Result<File> {
    crate::platform::os::open_private(path, OpenOptions::new().create(true).append(true))
}

impl Inner {
    /// `paired.log` → `paired.log.1`, a fresh `paired.log` in its place.
    fn rotate(&mut self) -> io::Result<()> {
        let next = self.path.with_extension("log.next");
        match fs::remove_file(&next) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let fresh = crate::platform::os::create_new_private(&next)?;
        let rotated = self.path.with_extension("log.1");
        if let Err(err) = fs::rename(&self.path, &rotated) {
            let _ = fs::remove_file(&next);
            return Err(err);
        }
        if let Err(err) = fs::rename(&next, &self.path) {
            // Put the current file back rather than leave no `paired.log`.
            let _ = fs::rename(&rotated, &self.path);
            let _ = fs::remove_file(&next);
            return Err(err);
        }
        self.file = fresh;
        self.len = 0;
        Ok(())
    }
}

impl Write for CappedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.len > 0 && inner.len + buf.len() as u64 > inner.max_bytes {
            // A failed rotation costs disk, not the line: see the type's comment.
            let _ = inner.rotate();
        }
        inner.file.write_all(buf)?;
        inner.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).file.flush()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_proxys_filter_never_turns_on_everything_by_accident() {
        use tracing::{Level, level_filters::LevelFilter};
        let max = |filter: &str| {
            let (targets, refused) = super::front_filter("PAIRED_LOG", filter);
            (targets.default_level(), targets.would_enable("paired", &Level::TRACE), refused.is_some())
        };
        let info = Some(LevelFilter::INFO);
        assert_eq!(max(""), (info, false, false), "empty: info");
        assert_eq!(max("info,"), (info, false, false), "a trailing comma is no trace-everything directive");
        assert_eq!(max("warn,,paired=debug"), (Some(LevelFilter::WARN), false, false));
        assert!(max("paired=trace").1);
        assert_eq!(max("x[span]=debug"), (info, false, true), "span filters are refused, said");
        assert_eq!(max("paired=loud"), (info, false, true));
    }

    use super::*;

    #[test]
    fn rotates_past_the_cap_and_keeps_one_old_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("paired.log");
        let mut file = CappedFile::open(&path, 100).expect("open");
        for i in 0..30 {
            writeln!(file, "line {i:04}").expect("write");
        }
        let current = fs::metadata(&path).expect("meta").len();
        let old = fs::metadata(dir.path().join("paired.log.1")).expect("rotated").len();
        assert!(current <= 100 && old <= 100, "{current} {old}");
        assert!(fs::read_to_string(&path).expect("read").ends_with("line 0029\n"));
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 2);
    }

    /// #14: a rotation that ran out of descriptors left no `paired.log` for the
    /// rest of the daemon's life.
    #[test]
    fn a_rotation_without_descriptors_keeps_logging_and_rotates_later() {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("paired.log");
        let mut file = CappedFile::open(&path, 100).expect("open");
        writeln!(file, "before the flood").expect("write");
        // Use up every descriptor (under a low limit, so this stays cheap).
        let saved = getrlimit(Resource::Nofile);
        setrlimit(Resource::Nofile, Rlimit { current: Some(64), maximum: saved.maximum }).expect("setrlimit");
        let mut hogs = Vec::new();
        while let Ok(hog) = File::open("/dev/null") {
            hogs.push(hog);
        }
        for i in 0..20 {
            writeln!(file, "during the flood {i:02}").expect("a line is never refused");
        }
        assert!(path.exists());
        drop(hogs);
        setrlimit(Resource::Nofile, saved).expect("restore");
        writeln!(file, "after the flood").expect("write");
        let current = fs::read_to_string(&path).expect("paired.log is there");
        let old = fs::read_to_string(dir.path().join("paired.log.1")).expect("rotated");
        assert_eq!(current, "after the flood\n");
        assert!(old.starts_with("before the flood\n") && old.contains("during the flood 19\n"), "{old}");
    }

    #[test]
    fn secrets_are_redacted_wherever_they_appear() {
        redact("0123456789abcdef");
        let mut out = Redacting(Vec::new());
        out.write_all(b"Authorization: Bearer 0123456789abcdef; again ?token=0123456789abcdef&x=1\n").expect("write");
        assert_eq!(
            String::from_utf8(out.0).expect("utf8"),
            "Authorization: Bearer [redacted]; again ?token=[redacted]&x=1\n"
        );
        assert_eq!(replace_all(b"abc", b"zz", b"y"), None);
    }
}
