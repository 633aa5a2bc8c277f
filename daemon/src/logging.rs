//! Logging: `tracing` to stderr in the foreground and to a size-capped file in the
//! state directory.
//!
//! The file writer is written here rather than taken from `tracing-appender`, whose
//! rolling appender rotates by time only; a daemon that runs for weeks needs a
//! bound on disk use. One previous file (`paired.log.1`) is kept.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, IsTerminal, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

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
    let stderr_layer = logging
        .stderr
        .then(|| fmt::layer().with_writer(io::stderr).with_ansi(io::stderr().is_terminal()).with_target(false));
    let file_layer = match logging.file {
        Some((path, max_bytes)) => {
            let writer = CappedFile::open(path, max_bytes)?;
            Some(fmt::layer().with_ansi(false).fmt_fields(PlainFields::default()).with_writer(move || writer.clone()))
        }
        None => None,
    };
    tracing_subscriber::registry().with(filter).with(stderr_layer).with(file_layer).try_init()?;
    Ok(())
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
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

impl Write for CappedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.len > 0 && inner.len + buf.len() as u64 > inner.max_bytes {
            let rotated = inner.path.with_extension("log.1");
            fs::rename(&inner.path, rotated)?;
            inner.file = open_log(&inner.path)?;
            inner.len = 0;
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
}
