//! The interface of [`super`] on an OS PAIRED does not support yet: every
//! call that needs the OS says so (`ErrorKind::Unsupported`, naming the OS),
//! nothing guesses. Types that cannot exist here are uninhabited.
#![cfg_attr(all(unix, test), allow(dead_code))]

use std::{
    fs::{File, OpenOptions},
    io,
    net::SocketAddr,
    path::Path,
    pin::Pin,
    process::Command,
    task::{Context, Poll},
};

use super::NotPrivate;

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not supported on {} yet (PAIRED runs on Linux; see the README)", std::env::consts::OS),
    )
}

/// No local transport here.
pub enum LocalListener {}
/// No local transport here.
pub enum LocalStream {}
/// No local transport here.
pub enum StdLocalListener {}

impl LocalListener {
    pub fn from_std(listener: StdLocalListener) -> io::Result<LocalListener> {
        match listener {}
    }

    pub async fn accept(&self) -> io::Result<(LocalStream, ())> {
        match *self {}
    }
}

impl tokio::io::AsyncRead for LocalStream {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }
}

impl tokio::io::AsyncWrite for LocalStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        match *self {}
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {}
    }
}

/// The desktop's "open this address" program, when none is named by `$BROWSER`.
pub fn url_opener() -> &'static str {
    "explorer"
}

pub fn current_uid() -> u32 {
    0
}

pub fn check_private_dir(_dir: &Path) -> io::Result<Option<NotPrivate>> {
    Err(unsupported("checking who owns a folder"))
}

pub fn open_private(_path: &Path, _options: &mut OpenOptions) -> io::Result<File> {
    Err(unsupported("opening a private file"))
}

pub fn read_regular_text(_path: &Path, _max: u64) -> io::Result<String> {
    Err(unsupported("reading a scratch copy's file"))
}

pub fn create_new_private(_path: &Path) -> io::Result<File> {
    Err(unsupported("creating a private file"))
}

pub fn raise_descriptor_limit() -> io::Result<u64> {
    Err(unsupported("raising the descriptor limit"))
}

pub fn is_resource_exhaustion(_err: &io::Error) -> bool {
    false
}

pub fn loopback_peer_uid(_local: SocketAddr, _peer: SocketAddr) -> io::Result<Option<u32>> {
    Err(unsupported("finding who listens on a loopback port"))
}

pub fn tcp_socket_uid(_local: SocketAddr, _remote: SocketAddr) -> io::Result<u32> {
    Err(unsupported("finding who owns a TCP socket"))
}

pub fn bind_local(_path: &Path) -> io::Result<StdLocalListener> {
    Err(unsupported("the daemon's private socket"))
}

pub async fn connect_local(_path: &Path) -> io::Result<LocalStream> {
    Err(unsupported("the daemon's private socket"))
}

pub fn local_peer_uid(stream: &LocalStream) -> io::Result<u32> {
    match *stream {}
}

pub fn create_private_dir(_path: &Path) -> io::Result<()> {
    Err(unsupported("creating a private folder"))
}

pub fn mode(_meta: &std::fs::Metadata) -> u32 {
    0o644
}

pub fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Err(unsupported("setting file permissions"))
}

pub fn symlink(_target: &Path, _link: &Path) -> io::Result<()> {
    Err(unsupported("symbolic links"))
}

/// The bytes a file takes: its length where blocks are not known.
pub fn allocated_bytes(meta: &std::fs::Metadata) -> u64 {
    meta.len()
}

pub fn exec(_command: &mut Command) -> io::Error {
    unsupported("replacing the process")
}

pub fn detach(command: &mut Command) -> &mut Command {
    command
}

pub fn hostname() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "this machine".to_owned())
}

pub fn process_alive(_pid: u32) -> bool {
    false
}

pub fn thread_usage() -> super::ThreadUsage {
    super::ThreadUsage::default()
}

pub fn lower_priority() {}

pub fn become_background_process() {}

pub fn own_executable() -> io::Result<std::path::PathBuf> {
    std::env::current_exe()
}

pub fn parent_pid() -> u32 {
    0
}

pub fn release_free_memory() {}

pub fn page_out_own_code() -> bool {
    false
}

pub fn resident_file_kib() -> u64 {
    0
}

pub fn tune_allocator() {}

/// Why the daemon was asked to stop by a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Interrupt,
    Terminate,
    Hangup,
}

/// Ctrl-C only.
pub struct StopSignals;

impl StopSignals {
    pub fn new() -> io::Result<StopSignals> {
        Ok(StopSignals)
    }

    pub async fn recv(&mut self) -> StopSignal {
        let _ = tokio::signal::ctrl_c().await;
        StopSignal::Interrupt
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn what_the_os_cannot_do_is_said_not_guessed() {
        let err = super::check_private_dir(std::path::Path::new("/")).expect_err("unsupported");
        assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("is not supported on"), "{err}");
        assert!(super::exec(&mut std::process::Command::new("true")).to_string().contains("not supported"));
    }
}
