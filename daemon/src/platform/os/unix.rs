//! The Unix implementation of [`super`]: Linux in full; other Unixes get what
//! POSIX gives them, and what has no implementation on them yet (the uid
//! behind a loopback TCP connection) says so rather than guessing.

use std::{
    fs::{File, OpenOptions},
    io,
    net::SocketAddr,
    os::unix::{
        fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
        process::CommandExt,
    },
    path::Path,
    process::Command,
};

use super::NotPrivate;

/// The daemon's local transport: a Unix domain socket.
pub type LocalListener = tokio::net::UnixListener;
/// A connection over [`LocalListener`].
pub type LocalStream = tokio::net::UnixStream;
/// A bound [`LocalListener`] before the async runtime takes it.
pub type StdLocalListener = std::os::unix::net::UnixListener;

/// The effective user id of this process.
/// The desktop's "open this address" program, when none is named by `$BROWSER`.
pub fn url_opener() -> &'static str {
    if cfg!(target_os = "macos") { "open" } else { "xdg-open" }
}

pub fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Checks that `dir` is a real folder of this user that nobody else can write to,
/// as ssh-agent and gpg-agent check their socket folders. `Ok(None)` is private.
pub fn check_private_dir(dir: &Path) -> io::Result<Option<NotPrivate>> {
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Ok(Some(NotPrivate::Link));
    }
    if meta.uid() != current_uid() {
        return Ok(Some(NotPrivate::Owner { uid: meta.uid() }));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Ok(Some(NotPrivate::Writable { mode: mode & 0o777 }));
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        let parent_meta = std::fs::metadata(parent)?;
        let parent_mode = parent_meta.permissions().mode() & 0o7777;
        // A sticky folder (/tmp) protects our entry from others, but not from
        // the folder's owner: it must be ours or root's.
        let others_may_replace = parent_mode & 0o002 != 0 && parent_mode & 0o1000 == 0
            || parent_meta.uid() != current_uid() && parent_meta.uid() != 0;
        if others_may_replace {
            return Ok(Some(NotPrivate::ParentWritable {
                parent: parent.display().to_string(),
                mode: parent_mode & 0o777,
                owner: parent_meta.uid(),
            }));
        }
    }
    Ok(None)
}

/// Opens (creating when absent) a file of ours for reading and writing without
/// following a symbolic link at `path`, private to the user. The file must be a
/// regular file this user owns.
pub fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path).map_err(|err| {
        if err.raw_os_error() == Some(libc::ELOOP) {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is a symbolic link; refusing to follow it", path.display()),
            )
        } else {
            err
        }
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.uid() != current_uid() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is not a regular file of yours (uid {}); refusing to use it", path.display(), meta.uid()),
        ));
    }
    Ok(file)
}

/// Reads `path` as text when it is a regular file of at most `max` bytes,
/// opened without following a link at it or waiting on a FIFO: what a
/// sandboxed program left in a scratch copy, read by the daemon outside the
/// sandbox (a link to the user's key or `/dev/zero` is refused).
pub fn read_regular_text(path: &Path, max: u64) -> io::Result<String> {
    use std::io::Read;
    let file =
        OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a regular file of at most {max} bytes", path.display()),
        ));
    }
    let mut text = String::new();
    file.take(max).read_to_string(&mut text)?;
    Ok(text)
}

/// Creates `path`, which must not exist (`O_EXCL`: not even as a dangling link),
/// readable and writable by the user only.
pub fn create_new_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Raises the soft limit on open descriptors to the hard limit, so a flood of
/// connections meets the daemon's own caps long before the kernel's. Returns the
/// new soft limit.
pub fn raise_descriptor_limit() -> io::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // macOS refuses a soft limit above OPEN_MAX even when the hard one is unlimited.
    let ceiling = if cfg!(target_os = "macos") { Some(10_240) } else { None };
    let wanted = match (limit.maximum, ceiling) {
        (Some(max), Some(c)) => Some(max.min(c)),
        (None, Some(c)) => Some(c),
        (max, None) => max,
    };
    if wanted.is_some() && wanted != limit.current {
        setrlimit(Resource::Nofile, Rlimit { current: wanted, maximum: limit.maximum })?;
    }
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}

/// Whether an `accept` error means the process or the system ran out of
/// something (descriptors, memory): waiting helps, retrying at once does not.
pub fn is_resource_exhaustion(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// The user that owns the socket at the other end of a loopback TCP connection
/// this process made from `local` to `peer`: the uid of the listening program.
/// `Ok(None)` where the OS cannot tell us (not Linux yet).
///
/// On Linux the kernel lists every TCP socket with its owner in `/proc/net/tcp`
/// and `/proc/net/tcp6`; the server side of an established connection carries
/// the uid of the listener that accepted it, before and after `accept`. A
/// dual-stack IPv6 listener holds IPv4 connections too, in `tcp6`, with
/// IPv4-mapped addresses: both tables are read. On Linux a connection found in
/// neither is an error, never a pass.
pub fn loopback_peer_uid(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<u32>> {
    if !cfg!(target_os = "linux") {
        return Ok(None);
    }
    tcp_socket_uid(peer, local).map(Some)
}

/// The owner of the TCP socket whose local address is `local` and remote
/// address `remote`, from `/proc/net/tcp` and `/proc/net/tcp6` (Linux).
pub fn tcp_socket_uid(local: SocketAddr, remote: SocketAddr) -> io::Result<u32> {
    for (table, local, remote) in
        [("/proc/net/tcp", Some(local), Some(remote)), ("/proc/net/tcp6", Some(as_v6(local)), Some(as_v6(remote)))]
    {
        let (Some(local), Some(remote)) = (local, remote) else { continue };
        let text = match std::fs::read_to_string(table) {
            Ok(text) => text,
            // No IPv6 in this kernel.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        if let Some(uid) = find_socket_uid(&text, local, remote) {
            return Ok(uid);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("no TCP socket {local} ↔ {remote} in /proc/net/tcp or /proc/net/tcp6"),
    ))
}

/// An address as a dual-stack socket sees it: IPv4 as `::ffff:a.b.c.d`.
fn as_v6(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(v4) => SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port()),
        v6 => v6,
    }
}

/// The uid column of the row of a `/proc/net/tcp` table whose local address is
/// `local` and remote address `remote`.
fn find_socket_uid(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<u32> {
    let (want_local, want_remote) = (proc_net_address(local), proc_net_address(remote));
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, uid) = (fields.get(1)?, fields.get(2)?, fields.get(7)?);
        (local.eq_ignore_ascii_case(&want_local) && remote.eq_ignore_ascii_case(&want_remote))
            .then(|| uid.parse().ok())
            .flatten()
    })
}

/// An address as `/proc/net/tcp` prints it: the address as the kernel stores it
/// (network order), each 32-bit word printed as a host-order number, then the port.
fn proc_net_address(addr: SocketAddr) -> String {
    let words: Vec<u32> = match addr {
        SocketAddr::V4(v4) => vec![u32::from_ne_bytes(v4.ip().octets())],
        SocketAddr::V6(v6) => {
            let o = v6.ip().octets();
            o.chunks(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect()
        }
    };
    let mut text: String = words.iter().map(|w| format!("{w:08X}")).collect();
    text.push_str(&format!(":{:04X}", addr.port()));
    text
}

/// Binds the daemon's socket at `path`, replacing a stale one (the caller
/// holds the instance lock and the folder is private), readable and writable
/// by the user only.
pub fn bind_local(path: &Path) -> io::Result<StdLocalListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let socket = StdLocalListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(socket)
}

/// Connects to the daemon's socket.
pub async fn connect_local(path: &Path) -> io::Result<LocalStream> {
    LocalStream::connect(path).await
}

/// The user at the other end of a local connection, as the kernel says
/// (`SO_PEERCRED`, `getpeereid`).
pub fn local_peer_uid(stream: &LocalStream) -> io::Result<u32> {
    Ok(stream.peer_cred()?.uid())
}

/// Creates a folder (and its parents) that only the user can enter.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// The permission bits of a file (`0o644`).
pub fn mode(meta: &std::fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

/// Sets the permission bits of a file.
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Makes `link` a symbolic link to `target`.
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

/// The bytes a file takes on disk (its allocated blocks).
pub fn allocated_bytes(meta: &std::fs::Metadata) -> u64 {
    meta.blocks() * 512
}

/// Replaces this process with `command`; returns only if that failed.
pub fn exec(command: &mut Command) -> io::Error {
    command.exec()
}

/// Starts `command` in a session of its own (and so a process group of its
/// own), as a daemon detaches: the terminal's signals (Ctrl-C, a hang-up) do
/// not reach it, and it outlives the command that started it. On Linux a
/// session is also a scheduling group (autogroup): the daemon, which serves
/// every editor, is not one thread among the busy editor's that started it —
/// sharing the editors' group, fifty editors' bursts kept its requests waiting
/// hundreds of milliseconds for a core (#18.7, measured).
#[allow(unsafe_code)]
pub fn detach(command: &mut Command) -> &mut Command {
    // SAFETY: the closure runs in the forked child before exec; it makes one
    // async-signal-safe system call (setsid) and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        })
    }
}

/// This machine's name (what a hub calls this daemon's device token).
pub fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

/// Whether a process with this id exists (ours or another user's).
pub fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // EPERM: it exists but belongs to someone else.
        Err(err) => err == rustix::io::Errno::PERM,
    }
}

/// What this thread has used so far: CPU time, and how often it blocked (gave
/// up the CPU waiting: a lock, IO, a sleep). Linux counts both per thread;
/// elsewhere only the CPU time is known.
#[allow(unsafe_code)]
pub fn thread_usage() -> super::ThreadUsage {
    #[cfg(target_os = "linux")]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `usage` is a valid, writable rusage; RUSAGE_THREAD reads the
        // calling thread's counters only.
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) } == 0 {
            // SAFETY: getrusage filled it in (it returned 0).
            let usage = unsafe { usage.assume_init() };
            let time = |t: libc::timeval| std::time::Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
            return super::ThreadUsage {
                cpu: time(usage.ru_utime) + time(usage.ru_stime),
                blocked: usage.ru_nvcsw as u64,
            };
        }
    }
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    super::ThreadUsage { cpu: std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32), blocked: 0 }
}

/// The executable this process runs, to start a helper of the same build: on
/// Linux `/proc/self/exe` (the running file even after an upgrade replaced
/// the one on disk, which may speak another version of a private protocol).
pub fn own_executable() -> std::io::Result<std::path::PathBuf> {
    #[cfg(target_os = "linux")]
    if Path::new("/proc/self/exe").exists() {
        return Ok("/proc/self/exe".into());
    }
    std::env::current_exe()
}

/// This process's parent's id (a helper whose parent changed was orphaned).
pub fn parent_pid() -> u32 {
    rustix::process::getppid().map_or(0, |pid| pid.as_raw_nonzero().get() as u32)
}

/// Makes this process background work of its own: a session of its own (on
/// Linux, a scheduling group apart from the daemon's, which then stays idle
/// between editors' requests and is woken at once; fifty editors' bursts
/// kept its requests waiting up to hundreds of milliseconds behind its own
/// indexing, #18.7) at nice 10 among the others (the group's weight: what
/// every editor's group gets is not shared with it evenly). Best effort.
pub fn become_background_process() {
    let _ = rustix::process::setsid();
    #[cfg(target_os = "linux")]
    let _ = std::fs::write("/proc/self/autogroup", "10");
}

/// Lowers this thread's CPU priority (nice 10): background work yields to the
/// editor's requests. Linux only; elsewhere a no-op.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    let _ = rustix::process::nice(10);
}

/// Fixes glibc's thresholds for giving memory back. Left to itself, glibc
/// raises them after each large block is freed (up to 32 MiB for `mmap`, twice
/// that for trimming): after an editor's burst (a multi-MiB request parsed
/// and freed) every later large buffer came from the arenas, whose free tops
/// `malloc_trim` does not return — measured, the daemon kept ~10 MiB of free
/// memory per burst for good. With fixed thresholds, large blocks are mapped
/// and unmapped on their own, and an arena's free top over 128 KiB goes back
/// at once. That threshold is also what a thread's arena keeps for good:
/// `malloc_trim` returns the free pages inside every arena but shrinks only
/// the main arena's top, so each of the ~15 arenas the daemon's threads use
/// kept up to its threshold resident — at 1 MiB, ~2 MiB more after five
/// editors had come and gone (#18.3, measured; no slower in the editor
/// bench's bursts). Elsewhere a no-op.
// `mallopt` changes the allocator's parameters only; it is called once,
// before any other thread starts.
#[allow(unsafe_code)]
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: no pointers; glibc takes the main arena's lock while setting these.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

/// Gives the allocator's free memory back to the OS (glibc keeps freed
/// pages in its arenas otherwise: the daemon's RSS would stay at its peak
/// after a workspace's index is dropped). Elsewhere a no-op.
// `malloc_trim` only releases free pages; it is safe to call at any time
// from any thread.
#[allow(unsafe_code)]
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: no pointers are passed; glibc locks each arena while trimming it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Hands the pages of this executable's code and read-only data back to the
/// OS (`MADV_PAGEOUT`, Linux 5.4+): called when the daemon has gone idle
/// (no editor attached, every workspace asleep). Parsing a project pages in
/// the grammars' tables and the indexer's code, megabytes the idle daemon
/// does not touch again until the next project; the kernel would reclaim
/// these clean pages under pressure anyway, and this does it now, so the
/// daemon's resident size comes back to what it was before (#18.3). Pages
/// another process maps too are left; a page needed later is read back in
/// (from the page cache, or the disk if it was evicted). Best effort:
/// elsewhere, on older kernels, or when the user may not write the
/// executable (the kernel's rule for file pages), nothing happens.
// `madvise` with MADV_PAGEOUT changes no contents: a private read-only
// mapping's pages are dropped and faulted back from the file when next used.
// Returns whether the kernel took the advice.
pub fn page_out_own_code() -> bool {
    std::fs::read_link("/proc/self/exe").is_ok_and(|exe| page_out_mappings_of(&exe))
}

/// This process's resident file-backed memory in KiB (`RssFile`), where the
/// OS says; 0 elsewhere.
pub fn resident_file_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("RssFile:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// `MADV_PAGEOUT` on every read-only mapping of `file` in this process.
#[allow(unsafe_code)]
fn page_out_mappings_of(file: &Path) -> bool {
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        false
    }
    #[cfg(target_os = "linux")]
    {
        let mut taken = false;
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return false };
        for line in maps.lines() {
            // start-end perms offset dev inode path (which may hold spaces)
            let fields: Vec<&str> = line.splitn(6, ' ').collect();
            let [range, perms, _, _, _, path] = fields[..] else { continue };
            if Path::new(path.trim_start()) != file || perms.contains('w') {
                continue;
            }
            let Some((start, end)) = range.split_once('-') else { continue };
            let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else {
                continue;
            };
            // SAFETY: a range of this process's own read-only file mapping,
            // as the kernel listed it; MADV_PAGEOUT only drops its pages.
            taken |= unsafe {
                libc::madvise(start as *mut libc::c_void, end.saturating_sub(start), libc::MADV_PAGEOUT) == 0
            };
        }
        taken
    }
}

/// Why the daemon was asked to stop by a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGHUP: the terminal closed.
    Hangup,
}

/// The signals that stop a daemon.
pub struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub fn new() -> io::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next stop signal.
    pub async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.interrupt.recv() => StopSignal::Interrupt,
            _ = self.terminate.recv() => StopSignal::Terminate,
            _ = self.hangup.recv() => StopSignal::Hangup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The resident KiB of this process's read-only mappings of `file`.
    #[cfg(target_os = "linux")]
    fn resident_kib(file: &Path) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut ours = false;
        let mut kib = 0;
        for line in smaps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.first().is_some_and(|f| f.contains('-') && !f.ends_with(':')) {
                ours = fields.len() == 6 && Path::new(fields[5]) == file && !fields[1].contains('w');
            } else if ours && fields.first() == Some(&"Rss:") {
                kib += fields[1].parse::<u64>().unwrap_or(0);
            }
        }
        kib
    }

    /// What [`page_out_own_code`] does to the executable, on a file only this
    /// process maps (the kernel leaves pages another process maps too, and
    /// the test binary runs in several processes at once).
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    #[test]
    fn pages_of_a_read_only_file_mapping_go_back_to_the_os() {
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("code");
        let len = 4 << 20;
        std::fs::write(&path, vec![7u8; len]).expect("write");
        let path = path.canonicalize().expect("canonical");
        let file = std::fs::File::open(&path).expect("open");
        // Written back first: the kernel does not drop dirty pages.
        file.sync_all().expect("sync");
        // SAFETY: a fresh read-only private mapping of a file nobody else
        // writes, unmapped below; only read through `bytes`.
        let mapped =
            unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
        assert_ne!(mapped, libc::MAP_FAILED);
        // SAFETY: `len` readable bytes at `mapped`, alive until the munmap.
        let bytes = unsafe { std::slice::from_raw_parts(mapped.cast::<u8>(), len) };
        let sum: u64 = bytes.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(sum, 7 * (len as u64 / 4096));
        let before = resident_kib(&path);
        let taken = page_out_mappings_of(&path);
        let after = resident_kib(&path);
        // SAFETY: the mapping made above, no longer read.
        unsafe { libc::munmap(mapped, len) };
        if !taken {
            // A kernel older than 5.4 (no MADV_PAGEOUT): nothing to check.
            return;
        }
        assert!(before >= 3 << 10 && after < before / 4, "resident {before} KiB → {after} KiB");
    }

    #[test]
    fn proc_net_rows_are_matched_by_both_ends() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:D783 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 18015 1\n   1: 0100007F:D783 0100007F:A22A 01 00000000:00000000 00:00000000 00000000  1001        0 0 1\n";
        let server: SocketAddr = "127.0.0.1:55171".parse().expect("addr");
        let client: SocketAddr = "127.0.0.1:41514".parse().expect("addr");
        if cfg!(target_endian = "little") {
            assert_eq!(find_socket_uid(table, server, client), Some(1001));
            assert_eq!(find_socket_uid(table, client, server), None);
        }
    }

    #[test]
    fn a_real_loopback_connection_is_ours() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let stream = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let uid = loopback_peer_uid(stream.local_addr().expect("local"), stream.peer_addr().expect("peer"))
            .expect("read /proc/net/tcp");
        if cfg!(target_os = "linux") {
            assert_eq!(uid, Some(current_uid()));
        }
    }

    /// #14 review: a dual-stack IPv6 listener holds an IPv4 connection in
    /// `/proc/net/tcp6`; the check found no row and let the token through.
    #[test]
    fn a_dual_stack_listener_is_found_and_a_missing_row_is_an_error() {
        let Ok(listener) = std::net::TcpListener::bind("[::]:0") else {
            eprintln!("SKIPPED: no IPv6 here");
            return;
        };
        let port = listener.local_addr().expect("addr").port();
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (local, peer) = (stream.local_addr().expect("local"), stream.peer_addr().expect("peer"));
        if cfg!(target_os = "linux") {
            assert_eq!(loopback_peer_uid(local, peer).expect("found in tcp6"), Some(current_uid()));
            let nowhere: SocketAddr = "127.0.0.1:1".parse().expect("addr");
            assert!(loopback_peer_uid(local, nowhere).is_err(), "a missing row must not pass");
        }
    }

    #[test]
    fn private_dirs_are_checked_for_owner_mode_and_links() {
        let root = tempfile::tempdir().expect("tmp");
        let dir = root.path().join("paired");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert_eq!(check_private_dir(&dir).expect("check"), None);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert_eq!(check_private_dir(&dir).expect("check"), Some(NotPrivate::Writable { mode: 0o777 }));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(matches!(check_private_dir(&dir).expect("check"), Some(NotPrivate::ParentWritable { .. })));
        // /tmp-like: world-writable but sticky.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        assert_eq!(check_private_dir(&dir).expect("check"), None);
        // The owner of a sticky folder may still rename what is in it.
        if current_uid() == 0 {
            std::os::unix::fs::chown(root.path(), Some(65534), None).expect("chown");
            assert!(matches!(
                check_private_dir(&dir).expect("check"),
                Some(NotPrivate::ParentWritable { owner: 65534, .. })
            ));
            std::os::unix::fs::chown(root.path(), Some(0), None).expect("chown");
        }
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).expect("symlink");
        assert_eq!(check_private_dir(&link).expect("check"), Some(NotPrivate::Link));
    }

    #[test]
    fn private_files_are_not_opened_through_links() {
        let root = tempfile::tempdir().expect("tmp");
        let target = root.path().join("victim");
        std::fs::write(&target, "precious").expect("write");
        let link = root.path().join("daemon.lock");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let err = open_private(&link, OpenOptions::new().read(true).write(true).create(true)).expect_err("link");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(create_new_private(&link).is_err());
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "precious");
    }
}
