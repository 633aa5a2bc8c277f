//! Linux confinement for the helper: a `pids` cgroup or `RLIMIT_NPROC`,
//! rlimits, user, PID, network and mount namespaces ([`prepare`]); then, in
//! the PID namespace's first process, a `/proc` of that namespace and
//! Landlock, which sets `no_new_privs` ([`restrict`]). Runs single-threaded,
//! before `exec`.

use std::{fs, io, path::Path};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, RestrictionStatus, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};
use rustix::process::{Resource, Rlimit, setrlimit};

use super::{Enforcement, Level, Spec};

/// The newest Landlock ABI this code asks for; older kernels get what they have.
const ABI_WANTED: ABI = ABI::V6;
/// Where a `pids` cgroup (v1) for one sandbox is made, as root.
const PIDS_V1: &str = "/sys/fs/cgroup/pids";

/// What [`prepare`] did, for [`restrict`] to finish.
pub(super) struct Prepared {
    processes: String,
    network: String,
    daemon_hidden: bool,
    own_pids: bool,
    own_mounts: bool,
    notes: Vec<String>,
}

impl Prepared {
    /// Whether the program runs in a PID namespace of its own, under
    /// [`first_of_its_pids`].
    pub(super) fn own_pids(&self) -> bool {
        self.own_pids
    }
}

/// Everything but Landlock, in the helper: what must be done with the
/// helper's rights (the cgroup) or before the PID namespace's first process
/// exists (the namespaces).
pub(super) fn prepare(spec: &Spec) -> Prepared {
    let mut notes = Vec::new();
    let processes = limit_processes(spec.limits.processes, &mut notes);
    let limits = [
        (Resource::Cpu, spec.limits.cpu_secs, spec.limits.cpu_secs + 5),
        (Resource::Data, spec.limits.memory_bytes, spec.limits.memory_bytes),
        (Resource::Fsize, spec.limits.file_bytes, spec.limits.file_bytes),
        (Resource::Core, 0, 0),
        (Resource::Nofile, 4096, 4096),
    ];
    for (resource, soft, hard) in limits {
        if let Err(err) = setrlimit(resource, Rlimit { current: Some(soft), maximum: Some(hard) }) {
            notes.push(format!("the {resource:?} limit could not be set: {err}"));
        }
    }
    let (network, daemon_hidden, own_pids, own_mounts) = namespaces(spec, &mut notes);
    Prepared { processes, network, daemon_hidden, own_pids, own_mounts, notes }
}

/// The rest, in the process the program is started from (the PID
/// namespace's first, when there is one): its own `/proc`, then Landlock,
/// which forbids mounting.
pub(super) fn restrict(spec: &Spec, prepared: Prepared) -> Enforcement {
    let Prepared { processes, network, daemon_hidden, own_pids, own_mounts, mut notes } = prepared;
    let own_proc = own_pids && own_mounts && own_proc(&mut notes);
    if own_proc && spec.seen_as.is_some() {
        // Elsewhere: the program's process id is not the one it has in
        // every other run (2, the namespace's second).
        if let Err(err) = fs::write("/proc/sys/kernel/ns_last_pid", "4241") {
            notes.push(format!("the process ids could not be moved on ({err})"));
        }
    }
    let (files, no_new_privs) = match landlock(spec, network == "landlock-tcp") {
        Ok(status) => {
            let files = match status.ruleset {
                RulesetStatus::FullyEnforced => Level::Fully,
                RulesetStatus::PartiallyEnforced => {
                    notes.push("this kernel's Landlock covers some file rights only".into());
                    Level::Partially
                }
                _ => {
                    notes.push("this kernel has no Landlock: files are not confined".into());
                    Level::Not
                }
            };
            (files, status.no_new_privs)
        }
        Err(err) => {
            notes.push(format!("Landlock failed: {err}"));
            (Level::Not, false)
        }
    };
    if network == "landlock-tcp" && files == Level::Not {
        notes.push("the network is open".into());
    }
    let network = if network == "landlock-tcp" && files == Level::Not { "open".to_owned() } else { network };
    Enforcement { level: Level::Not, files, network, processes, no_new_privs, daemon_hidden, own_pids, own_proc, notes }
}

/// A `/proc` of the sandbox's PID namespace over the host's: the program
/// sees its own processes only — not every process's command line, its
/// environment's neighbours, the daemon. Mounted by the namespace's first
/// process (a procfs shows the namespace of whoever mounts it).
fn own_proc(notes: &mut Vec<String>) -> bool {
    use rustix::mount::{MountFlags, mount};
    let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    match mount("proc", "/proc", "proc", flags, None) {
        Ok(()) => true,
        Err(err) => {
            notes.push(format!("/proc is the host's ({err}): the program can see other processes' command lines"));
            false
        }
    }
}

/// Caps processes and threads: a `pids` cgroup as root (whom `RLIMIT_NPROC`
/// does not bind), else `RLIMIT_NPROC` above what the user already runs.
fn limit_processes(limit: u64, notes: &mut Vec<String>) -> String {
    if rustix::process::geteuid().is_root() {
        let dir = Path::new(PIDS_V1).join(format!("paired-sandbox-{}", std::process::id()));
        // One left by an earlier sandbox of the same (reused) process id
        // whose processes outlived its release: removed when empty, else
        // taken over (the name is ours; this sandbox's limit is written anew).
        let created = match fs::create_dir(&dir) {
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                let _ = fs::remove_dir(&dir);
                match fs::create_dir(&dir) {
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                    other => other,
                }
            }
            other => other,
        };
        let joined = created
            // The helper and the PID namespace's init besides the program's own.
            .and_then(|()| fs::write(dir.join("pids.max"), (limit + 2).to_string()))
            .and_then(|()| fs::write(dir.join("cgroup.procs"), std::process::id().to_string()));
        return match joined {
            Ok(()) => "cgroup".to_owned(),
            Err(err) => {
                let _ = fs::remove_dir(&dir);
                notes.push(format!("running as root without a pids cgroup ({err}): processes are not limited"));
                "none".to_owned()
            }
        };
    }
    let uid = rustix::process::getuid().as_raw();
    let running = user_processes(uid);
    // The PID namespace's init besides the program's own (the helper is running already).
    let cap = running + limit + 1;
    match setrlimit(Resource::Nproc, Rlimit { current: Some(cap), maximum: Some(cap) }) {
        Ok(()) => "rlimit".to_owned(),
        Err(err) => {
            notes.push(format!("RLIMIT_NPROC could not be set ({err}): processes are not limited"));
            "none".to_owned()
        }
    }
}

/// Threads the user runs now (`RLIMIT_NPROC` counts them all).
fn user_processes(uid: u32) -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else { return 0 };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|e| fs::read_to_string(e.path().join("status")).ok())
        .filter(|status| {
            status
                .lines()
                .any(|l| l.strip_prefix("Uid:").and_then(|v| v.split_whitespace().next()) == Some(&*uid.to_string()))
        })
        .map(|status| {
            status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok()).unwrap_or(1)
        })
        .sum()
}

/// Namespaces of our own: a network one with its loopback up unless the
/// network is granted (nothing outside is reachable, not even the host's
/// loopback and the daemon's port), and a mount one where each of
/// [`Spec::hide`] is covered by an empty read-only tmpfs (the daemon's socket
/// folder: same user, but not reachable from here). A user namespace first
/// when not root; and a PID namespace, whose first process the program will
/// be ([`first_of_its_pids`]), with a mount namespace for the `/proc` it
/// mounts. Returns how the network is closed, whether the hidden trees are,
/// whether the PID namespace is the sandbox's own, and the mount namespace.
// `unshare` is unsafe for what `CLONE_FILES` does to other threads; the helper
// has one thread and does not ask for it.
#[allow(unsafe_code)]
fn namespaces(spec: &Spec, notes: &mut Vec<String>) -> (String, bool, bool, bool) {
    use rustix::thread::{UnshareFlags, unshare_unsafe};
    // A user namespace of its own, for root too: its capabilities then hold
    // in that namespace only (no device nodes, no modules, no raw I/O on the
    // host). The pids cgroup was joined before, with the host's rights.
    {
        let (uid, gid) = (rustix::process::geteuid().as_raw(), rustix::process::getegid().as_raw());
        // SAFETY: single-threaded helper, no CLONE_FILES.
        let mapped = unsafe { unshare_unsafe(UnshareFlags::NEWUSER) }.map_err(io::Error::from).and_then(|()| {
            // Map ourselves to ourselves (or to whom the program is to see),
            // so files we create are still ours.
            // Never root inside for a program not run by root.
            fs::write("/proc/self/setgroups", "deny")?;
            let other = spec.seen_as.filter(|&id| id != 0);
            fs::write("/proc/self/uid_map", format!("{} {uid} 1", other.unwrap_or(uid)))?;
            fs::write("/proc/self/gid_map", format!("{} {gid} 1", other.unwrap_or(gid)))
        });
        if let Err(err) = mapped {
            notes.push(format!("no user namespace ({err})"));
        }
    }
    // Elsewhere: another host name too.
    if spec.seen_as.is_some() {
        // SAFETY: as above.
        let renamed = unsafe { unshare_unsafe(UnshareFlags::NEWUTS) }
            .and_then(|()| rustix::system::sethostname(b"elsewhere"))
            .map_err(io::Error::from);
        if let Err(err) = renamed {
            notes.push(format!("the host name could not be changed ({err})"));
        }
    }
    // SAFETY: as above. Applies to the next child only.
    let own_pids = match unsafe { unshare_unsafe(UnshareFlags::NEWPID) } {
        Ok(()) => true,
        Err(err) => {
            notes.push(format!(
                "no PID namespace ({err}): a process the program detaches may outlive it, and /proc is the host's"
            ));
            false
        }
    };
    let network = if spec.network {
        "granted".to_owned()
    } else {
        // SAFETY: as above.
        match unsafe { unshare_unsafe(UnshareFlags::NEWNET) }.map_err(io::Error::from).and_then(|()| loopback_up()) {
            Ok(()) => "namespace".to_owned(),
            Err(err) => {
                notes.push(format!("no network namespace ({err}): TCP is closed by Landlock, UDP is not"));
                "landlock-tcp".to_owned()
            }
        }
    };
    if spec.hide.is_empty() && !own_pids {
        return (network, true, own_pids, false);
    }
    use rustix::mount::{MountFlags, MountPropagationFlags, mount, mount_change};
    // SAFETY: as above.
    let own_mounts = unsafe { unshare_unsafe(UnshareFlags::NEWNS) }
        .and_then(|()| mount_change("/", MountPropagationFlags::REC | MountPropagationFlags::PRIVATE))
        .map_err(io::Error::from);
    let hidden = own_mounts.as_ref().map_err(|err| io::Error::new(err.kind(), err.to_string())).and_then(|()| {
        for path in spec.hide.iter().filter(|p| p.exists()) {
            let flags = MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
            mount("paired-hidden", path, "tmpfs", flags, None)?;
        }
        Ok(())
    });
    if let Err(err) = &hidden
        && !spec.hide.is_empty()
    {
        notes.push(format!("the daemon's socket could not be hidden ({err})"));
    }
    if let (Err(err), true) = (&own_mounts, own_pids) {
        notes.push(format!(
            "/proc is the host's (no mount namespace: {err}): the program can see other processes' command lines"
        ));
    }
    (network, hidden.is_ok() || spec.hide.is_empty(), own_pids, own_mounts.is_ok())
}

/// Runs the program in the sandbox's PID namespace and ends as it ended: the
/// helper's next child is the namespace's first process, a small init that
/// finishes the confinement (`start`: [`restrict`], the report, the command
/// to run, or the code to end with) and starts the program (not the program
/// itself: the first process of a
/// namespace ignores signals it has no handler for — a full disk's SIGXFSZ,
/// a closed pipe's SIGPIPE), reaps what is orphaned and, when the program
/// ends, ends — and the kernel ends every process left in the namespace, a
/// `setsid` grandchild or a daemon it started, which a process group does
/// not reach. The init passes the program's wait status back through a
/// pipe. The helper is single-threaded, so the children may do anything
/// before `exec`.
#[allow(unsafe_code)]
pub(super) fn first_of_its_pids(program: &str, start: impl FnOnce() -> Result<std::process::Command, i32>) -> i32 {
    let mut fds = [0; 2];
    // SAFETY: a pipe into an array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        eprintln!("paired: cannot start {program}: {}", io::Error::last_os_error());
        return 126;
    }
    let (read_end, write_end) = (fds[0], fds[1]);
    // SAFETY: fork in a single-threaded process.
    match unsafe { libc::fork() } {
        -1 => {
            eprintln!("paired: cannot start {program}: {}", io::Error::last_os_error());
            126
        }
        // SAFETY (all of the init): our own descriptors and children.
        0 => unsafe {
            libc::close(read_end);
            // The init ends if the helper does (killed alone: by the OOM
            // killer, say), and with it the namespace.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            // … and if it died before that (no signal would come): its end
            // of the pipe is closed then.
            let mut gone = libc::pollfd { fd: write_end, events: 0, revents: 0 };
            if libc::poll(&mut gone, 1, 0) == 1 && gone.revents & libc::POLLERR != 0 {
                libc::_exit(1);
            }
            // A panic in it ends the init, never unwinds into the helper's code.
            let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(start)).unwrap_or(Err(126));
            let status = match started {
                Ok(mut command) => init(&mut command, program),
                // As a process that exited with `code`.
                Err(code) => (code & 0xff) << 8,
            };
            let bytes = status.to_le_bytes();
            libc::write(write_end, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(0)
        },
        child => {
            // SAFETY: our own descriptors and child.
            unsafe {
                libc::close(write_end);
                wait_for(child);
                let mut bytes = [0u8; 4];
                let read = libc::read(read_end, bytes.as_mut_ptr().cast(), bytes.len());
                libc::close(read_end);
                if read != 4 {
                    return 126;
                }
                let status = i32::from_le_bytes(bytes);
                if libc::WIFEXITED(status) {
                    return libc::WEXITSTATUS(status);
                }
                // Only a wait status an ending gives (the pipe's end is the
                // init's, but a program root in its user namespace could
                // reach it): a stop signal raised here would hold the run.
                if !libc::WIFSIGNALED(status)
                    || matches!(libc::WTERMSIG(status), libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
                {
                    return 126;
                }
                // Ended by a signal: so does the helper, as the daemon reads it.
                let signal = libc::WTERMSIG(status);
                libc::signal(signal, libc::SIG_DFL);
                libc::raise(signal);
                128 + signal
            }
        }
    }
}

/// The namespace's first process: starts the program, reaps every child
/// until the program's own end, and gives back its wait status.
#[allow(unsafe_code)]
unsafe fn init(command: &mut std::process::Command, program: &str) -> i32 {
    // SAFETY: the init is single-threaded too.
    match unsafe { libc::fork() } {
        -1 => {
            eprintln!("paired: cannot start {program}: {}", io::Error::last_os_error());
            126 << 8
        }
        0 => {
            // A session of its own, as the program had before it ran under
            // the init: `kill 0` or `killpg(getpgrp())` reach its own group,
            // never the helper's (outside the namespace, where they would
            // end the run).
            // SAFETY: setsid on this process.
            unsafe { libc::setsid() };
            let err = crate::platform::os::exec(command);
            eprintln!("paired: cannot run {program}: {err}");
            let code = if err.kind() == io::ErrorKind::NotFound { 127 } else { 126 };
            // SAFETY: ends the child without the helper's exit handlers.
            unsafe { libc::_exit(code) }
        }
        program_pid => loop {
            let mut status = 0;
            // SAFETY: any child of ours: the program or an orphan of it.
            let ended = unsafe { libc::waitpid(-1, &mut status, 0) };
            if ended == program_pid {
                return status;
            }
            if ended == -1 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                eprintln!("paired: lost {program}: {}", io::Error::last_os_error());
                return 126 << 8;
            }
        },
    }
}

/// Waits for `child`, through interruptions.
#[allow(unsafe_code)]
unsafe fn wait_for(child: libc::pid_t) {
    let mut status = 0;
    // SAFETY: our own child.
    while unsafe { libc::waitpid(child, &mut status, 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

// Raw `ioctl`s: no safe binding sets an interface's flags.
#[allow(unsafe_code)]
fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket and ioctl calls on a struct we own.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (to, from) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *to = *from as libc::c_char;
        }
        let mut result = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request);
        if result == 0 {
            request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            result = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
        }
        let err = io::Error::last_os_error();
        libc::close(socket);
        if result != 0 { Err(err) } else { Ok(()) }
    }
}

/// Files: read-only trees, writable trees, the few devices every program
/// uses; signals and abstract sockets scoped to the sandbox; TCP closed when
/// the network namespace was refused.
fn landlock(spec: &Spec, close_tcp: bool) -> Result<RestrictionStatus, landlock::RulesetError> {
    let read = AccessFs::from_read(ABI_WANTED);
    let all = AccessFs::from_all(ABI_WANTED);
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::BestEffort).handle_access(all)?;
    if close_tcp {
        ruleset = ruleset.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?;
    }
    let ruleset = ruleset.scope(Scope::AbstractUnixSocket | Scope::Signal)?;
    // No terminal (`/dev/tty`: TIOCSTI could type into the user's shell),
    // and nothing executable among the devices.
    let devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"];
    let device = AccessFs::ReadFile | AccessFs::WriteFile;
    // Writable trees: everything but device nodes.
    let write = all & !(AccessFs::MakeChar | AccessFs::MakeBlock);
    ruleset
        .create()?
        .add_rules(path_beneath_rules(&spec.read, read))?
        .add_rules(path_beneath_rules(&spec.write, write))?
        .add_rules(path_beneath_rules(devices, device))?
        .restrict_self()
}

/// Kills everything the sandbox started: its process group and, as root,
/// every process left in its cgroup.
pub(super) fn kill_all(pid: u32) {
    if pid == 0 {
        return;
    }
    if let Some(group) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    let procs = Path::new(PIDS_V1).join(format!("paired-sandbox-{pid}")).join("cgroup.procs");
    for _ in 0..50 {
        let Ok(list) = fs::read_to_string(&procs) else { return };
        let pids: Vec<i32> = list.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.is_empty() {
            return;
        }
        for p in pids.into_iter().filter_map(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Removes the sandbox's cgroup once its processes are gone.
pub(super) fn release(pid: u32) {
    let dir = Path::new(PIDS_V1).join(format!("paired-sandbox-{pid}"));
    for _ in 0..50 {
        match fs::remove_dir(&dir) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            _ => return,
        }
    }
}
