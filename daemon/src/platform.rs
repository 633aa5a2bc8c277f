//! What PAIRED needs from the operating system that the standard library does not
//! say portably: who owns a folder, files opened without following links, the
//! descriptor limit, and who is listening on the other end of a loopback socket.
//!
//! Linux is the implementation; other Unixes get what POSIX gives them, and what
//! has no implementation yet says so at run time rather than guessing.

use std::{
    fs::{File, OpenOptions},
    io,
    net::SocketAddr,
    os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt},
    path::Path,
};

/// The effective user id of this process.
pub fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Why a folder is not private enough to keep PAIRED's lock, discovery file,
/// token or log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPrivate {
    /// Another user owns it.
    Owner { uid: u32 },
    /// Others (group or world) may create or replace files in it.
    Writable { mode: u32 },
    /// Its parent lets anyone rename or replace it (world-writable, not sticky).
    ParentWritable { parent: String, mode: u32 },
    /// It is a symbolic link (which someone else could point elsewhere).
    Link,
}

impl std::fmt::Display for NotPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotPrivate::Owner { uid } => {
                write!(f, "it belongs to another user (uid {uid}), not to you (uid {})", current_uid())
            }
            NotPrivate::Writable { mode } => write!(f, "others can write to it (mode {mode:03o})"),
            NotPrivate::ParentWritable { parent, mode } => {
                write!(f, "its parent {parent} lets anyone replace it (mode {mode:03o}, no sticky bit)")
            }
            NotPrivate::Link => write!(f, "it is a symbolic link"),
        }
    }
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
        if parent_mode & 0o002 != 0 && parent_mode & 0o1000 == 0 {
            return Ok(Some(NotPrivate::ParentWritable {
                parent: parent.display().to_string(),
                mode: parent_mode & 0o777,
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
/// (`tcp6`); the server side of an established connection carries the uid of
/// the listener that accepted it, before and after `accept`.
pub fn loopback_peer_uid(local: SocketAddr, peer: SocketAddr) -> io::Result<Option<u32>> {
    if !cfg!(target_os = "linux") {
        return Ok(None);
    }
    let table = if peer.is_ipv4() { "/proc/net/tcp" } else { "/proc/net/tcp6" };
    let text = std::fs::read_to_string(table)?;
    Ok(find_socket_uid(&text, peer, local))
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

#[cfg(test)]
mod tests {
    use super::*;

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
