//! The sandbox every program an agent runs goes through: the project's linters,
//! type checkers and test runners, and anything a granted command names.
//!
//! The daemon never confines itself. It starts its own binary again as a small
//! helper (`paired __sandbox`, a fresh single-threaded process), which confines
//! itself and then `exec`s the program, so the program and everything it starts
//! inherit the confinement and nothing of the daemon's threads or descriptors:
//!
//! - **Files** (Landlock): the paths in [`Spec::read`] read-only (read, list,
//!   execute), the paths in [`Spec::write`] (a scratch folder) writable, nothing
//!   else at all: not the user's home, keys or tokens, not the daemon's files.
//! - **Network**: unless granted, a network namespace of its own (loopback only);
//!   where the kernel refuses one, Landlock's TCP rules (no connect, no bind).
//! - **Privileges**: `no_new_privs` (no setuid programs), no core dumps.
//! - **Resources**: rlimits on CPU time, allocated memory, file size and open
//!   files; processes by a `pids` cgroup (as root, where rlimits do not bind) or
//!   `RLIMIT_NPROC`; here, a wall-clock timeout that kills the process group, a
//!   cap on output, and a watch on the scratch folder's size.
//!
//! What the kernel actually enforced comes back on every [`Outcome`]
//! ([`Enforcement`]): fully, partially or not, with the reason. With
//! [`Spec::require_full`] the helper refuses to start the program on less.

#[cfg(target_os = "linux")]
mod linux;

use std::{
    io,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The first argument that makes `paired` the sandbox helper.
pub const HELPER_ARG: &str = "__sandbox";
/// The environment variable that carries the [`Spec`] to the helper.
const SPEC_VAR: &str = "PAIRED_SANDBOX_SPEC";
/// The helper's report, the first line it writes to stderr before `exec`.
const REPORT_MARK: &str = "\u{1e}paired-sandbox ";

/// What to run and inside which walls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// A program name (looked up on the `PATH` of [`Spec::env`]) or path.
    pub program: String,
    pub args: Vec<String>,
    /// Where it runs: inside one of the readable or writable paths.
    pub cwd: PathBuf,
    /// The program's whole environment: nothing of the daemon's is passed on.
    pub env: Vec<(String, String)>,
    /// Readable (and executable) trees: the project, the system, toolchains.
    pub read: Vec<PathBuf>,
    /// Writable trees: the run's scratch folder.
    pub write: Vec<PathBuf>,
    /// Whether the program may reach the network.
    pub network: bool,
    /// Trees covered by an empty folder: the daemon's own socket folder,
    /// which this user's programs could otherwise connect to.
    #[serde(default)]
    pub hide: Vec<PathBuf>,
    /// Refuse to run unless files, network and processes are all confined.
    pub require_full: bool,
    /// The user and group id the program sees, where not ours (its user
    /// namespace maps them to ours, so what it writes is still ours; never 0):
    /// Edison's second probe runs as another user, to tell what a function
    /// gets from the machine (`os.getuid()`, a DCE UUID's id) from what it
    /// computes.
    #[serde(default)]
    pub seen_as: Option<u32>,
    pub limits: Limits,
}

/// Resource limits of one sandboxed program and everything it starts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Limits {
    /// CPU seconds (`RLIMIT_CPU`), per process.
    pub cpu_secs: u64,
    /// Memory a process may allocate (`RLIMIT_DATA`: its heap and private
    /// writable mappings). Not its address space: V8 (node's WebAssembly) and
    /// Go reserve far more than they use, and `RLIMIT_AS` made them fail.
    pub memory_bytes: u64,
    /// Processes and threads at once.
    pub processes: u64,
    /// The largest file it may write (`RLIMIT_FSIZE`).
    pub file_bytes: u64,
    /// All it may add to the writable trees together.
    pub disk_bytes: u64,
    /// Bytes of stdout and of stderr kept; past twice that it is stopped.
    pub output_bytes: usize,
    /// Wall-clock time before it is killed.
    pub wall: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            cpu_secs: 300,
            memory_bytes: 4 << 30,
            processes: 256,
            file_bytes: 512 << 20,
            disk_bytes: 2 << 30,
            output_bytes: 8 << 20,
            wall: Duration::from_secs(300),
        }
    }
}

/// How far the kernel confined a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Fully,
    Partially,
    Not,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Fully => "fully",
            Level::Partially => "partially",
            Level::Not => "not",
        }
    }
}

/// What the helper could enforce, part by part, in words a user reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enforcement {
    pub level: Level,
    /// Landlock's status for the files.
    pub files: Level,
    /// `namespace`, `landlock-tcp` (UDP open), `granted` or `open`.
    pub network: String,
    /// `cgroup`, `rlimit` or `none`.
    pub processes: String,
    pub no_new_privs: bool,
    /// Whether [`Spec::hide`] (the daemon's socket folder) is out of reach.
    pub daemon_hidden: bool,
    /// A PID namespace of its own: what the program leaves running when it
    /// ends (a `setsid` grandchild too) ends with it.
    #[serde(default)]
    pub own_pids: bool,
    /// A `/proc` of that namespace: other processes (their command lines)
    /// are out of sight.
    #[serde(default)]
    pub own_proc: bool,
    /// Why anything is short of full, one line each.
    pub notes: Vec<String>,
}

impl Enforcement {
    /// Nothing enforced, for `reason`.
    pub fn none(reason: &str) -> Enforcement {
        Enforcement {
            level: Level::Not,
            files: Level::Not,
            network: "open".into(),
            processes: "none".into(),
            no_new_privs: false,
            daemon_hidden: false,
            own_pids: false,
            own_proc: false,
            notes: vec![reason.to_owned()],
        }
    }

    /// The overall level from the parts.
    fn settle(&mut self, network_granted: bool) {
        let network_closed = self.network == "namespace" || network_granted;
        self.level = match self.files {
            Level::Not => Level::Not,
            Level::Fully
                if network_closed
                    && self.processes != "none"
                    && self.no_new_privs
                    && self.daemon_hidden
                    && self.own_proc =>
            {
                Level::Fully
            }
            _ => Level::Partially,
        };
    }

    /// One line: `fully enforced` or `partially enforced: …`.
    pub fn summary(&self) -> String {
        match self.level {
            Level::Fully => "fully enforced".to_owned(),
            level => format!("{} enforced: {}", level.as_str(), self.notes.join("; ")),
        }
    }
}

/// How a sandboxed program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it (`SIGXCPU` for CPU time, `SIGXFSZ` for file size…).
    Signal(i32),
    /// The sandbox stopped it, for this reason (time, output, disk).
    Stopped(String),
    /// The helper refused to start it, for this reason.
    Refused(String),
}

impl Exit {
    /// What happened, in words.
    pub fn describe(&self) -> String {
        match self {
            Exit::Code(code) => format!("exit code {code}"),
            Exit::Signal(signal) => match linux_signal_name(*signal) {
                Some(meaning) => format!("killed by signal {signal} ({meaning})"),
                None => format!("killed by signal {signal}"),
            },
            Exit::Stopped(why) => format!("stopped: {why}"),
            Exit::Refused(why) => format!("not started: {why}"),
        }
    }
}

fn linux_signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        9 => "killed",
        11 => "segmentation fault",
        24 => "CPU time limit",
        25 => "file size limit",
        6 => "aborted",
        _ => return None,
    })
}

/// What a sandboxed program did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Whether stdout or stderr was cut at the cap.
    pub truncated: bool,
    pub enforcement: Enforcement,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.exit == Exit::Code(0)
    }
}

/// What every program needs to read to start at all: the system's programs
/// and libraries, and of `/etc` only what loaders, name lookup, TLS and
/// Debian's alternatives use (not `/etc/shadow`, which root could read).
pub fn system_read_paths() -> Vec<PathBuf> {
    let dirs = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/opt", "/proc", "/sys/devices/system/cpu"];
    let etc = [
        "ld.so.cache",
        "ld.so.conf",
        "ld.so.conf.d",
        "passwd",
        "group",
        "nsswitch.conf",
        "localtime",
        "ssl",
        "ca-certificates",
        "alternatives",
        "hosts",
        "resolv.conf",
        "gitconfig",
        "python3",
        "mime.types",
    ];
    dirs.iter()
        .map(PathBuf::from)
        .chain(etc.iter().map(|name| Path::new("/etc").join(name)))
        .filter(|path| path.exists())
        .collect()
}

/// Runs `spec` in the sandbox through `helper` (the `paired` binary). An
/// `Err` is a failure to start at all; everything after that is an [`Outcome`].
pub async fn run(helper: &Path, spec: &Spec) -> io::Result<Outcome> {
    let started = Instant::now();
    // What the writable trees held before (a project's build cache): the
    // budget is for what this run adds.
    let baseline = disk_usage(&spec.write).await;
    let mut command = tokio::process::Command::new(helper);
    command
        .arg(HELPER_ARG)
        .env_clear()
        .env(SPEC_VAR, serde_json::to_string(spec).map_err(io::Error::other)?)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The helper makes itself a session (and process group) of its own,
        // without a terminal; a timeout kills that group.
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or(0);
    // A run dropped before its end (its request cancelled): `kill_on_drop`
    // ends the helper alone; what it started goes too.
    let mut reap = Reap(pid);
    let cap = spec.limits.output_bytes;
    let overflow = Arc::new(tokio::sync::Notify::new());
    let (out_sink, err_sink) = (Arc::new(Captured::default()), Arc::new(Captured::default()));
    let stdout = tokio::spawn(capped(child.stdout.take(), cap, overflow.clone(), out_sink.clone()));
    let stderr = tokio::spawn(capped(child.stderr.take(), cap, overflow.clone(), err_sink.clone()));
    let deadline = tokio::time::sleep(spec.limits.wall);
    tokio::pin!(deadline);
    let mut watch = tokio::time::interval(Duration::from_millis(250));
    let status = loop {
        tokio::select! {
            status = child.wait() => break Ok(status?),
            () = &mut deadline => break Err(format!("ran longer than {} s", spec.limits.wall.as_secs_f32())),
            () = overflow.notified() => break Err(format!("printed more than {} bytes", cap * 2)),
            _ = watch.tick() => {
                let used = disk_usage(&spec.write).await.saturating_sub(baseline);
                if used > spec.limits.disk_bytes {
                    break Err(format!("wrote more than {} MiB to its scratch space", spec.limits.disk_bytes >> 20));
                }
            }
        }
    };
    // Whatever it started goes with it, whether it ended or was stopped.
    kill_group(pid);
    let status = match status {
        Ok(status) => Ok(status),
        Err(why) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(why)
        }
    };
    release(pid);
    reap.0 = 0;
    // A process that left the group (`setsid`) may still hold the pipes:
    // what was read by then is what there is.
    let (stdout, out_cut) = joined(stdout, &out_sink).await;
    let (stderr, err_cut) = joined(stderr, &err_sink).await;
    let (report, stderr) = split_report(stderr);
    let enforcement = report.unwrap_or_else(|| Enforcement::none("the sandbox helper did not report"));
    let exit = match status {
        Err(why) => Exit::Stopped(why),
        Ok(status) => match (status.code(), exit_signal(&status)) {
            (Some(126), _) if enforcement.notes.first().is_some_and(|n| n.starts_with("refused:")) => {
                Exit::Refused(enforcement.notes[0].trim_start_matches("refused: ").to_owned())
            }
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Stopped("ended without an exit code".into()),
        },
    };
    Ok(Outcome { exit, stdout, stderr, truncated: out_cut || err_cut, enforcement, elapsed: started.elapsed() })
}

/// Reads `from` to the end, keeping `cap` bytes; wakes `overflow` past twice that.
async fn capped(
    from: Option<impl AsyncRead + Unpin>,
    cap: usize,
    overflow: Arc<tokio::sync::Notify>,
    sink: Arc<Captured>,
) {
    let Some(mut from) = from else { return };
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut captured = sink.0.lock().unwrap_or_else(|p| p.into_inner());
                let (kept, seen) = &mut *captured;
                let room = cap.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
                *seen += n;
                if *seen > cap.saturating_mul(2) {
                    overflow.notify_one();
                }
            }
        }
    }
}

/// The helper's report line, if stderr starts with one, and the rest.
fn split_report(stderr: Vec<u8>) -> (Option<Enforcement>, Vec<u8>) {
    let mark = REPORT_MARK.as_bytes();
    if !stderr.starts_with(mark) {
        return (None, stderr);
    }
    let end = stderr.iter().position(|b| *b == b'\n').unwrap_or(stderr.len());
    let report = serde_json::from_slice(&stderr[mark.len()..end]).ok();
    (report, stderr.get(end + 1..).unwrap_or_default().to_vec())
}

/// Bytes on disk under `roots` (allocated blocks, so sparse files count as
/// what they take).
async fn disk_usage(roots: &[PathBuf]) -> u64 {
    let roots = roots.to_vec();
    tokio::task::spawn_blocking(move || {
        roots
            .iter()
            .flat_map(|root| walkdir::WalkDir::new(root).follow_links(false))
            .filter_map(Result::ok)
            .filter_map(|entry| entry.metadata().ok())
            .map(|meta| super::allocated_bytes(&meta))
            .sum()
    })
    .await
    .unwrap_or(0)
}

/// What a pipe gave: the bytes kept (up to the cap) and how many came.
#[derive(Default)]
struct Captured(std::sync::Mutex<(Vec<u8>, usize)>);

/// A pipe's output, its reader waited for at most two seconds once the run
/// is over; whether it was cut.
async fn joined(reader: tokio::task::JoinHandle<()>, sink: &Captured) -> (Vec<u8>, bool) {
    let abort = reader.abort_handle();
    let ended = tokio::time::timeout(Duration::from_secs(2), reader).await.is_ok();
    abort.abort();
    let (kept, seen) = std::mem::take(&mut *sink.0.lock().unwrap_or_else(|p| p.into_inner()));
    let cut = !ended || seen > kept.len();
    (kept, cut)
}

/// Kills and releases a sandbox's processes when dropped, unless disarmed (0).
struct Reap(u32);

impl Drop for Reap {
    fn drop(&mut self) {
        let pid = self.0;
        if pid != 0 {
            // Off the async thread: both wait for the processes to go.
            let _ = std::thread::Builder::new().name("paired-reap".into()).spawn(move || {
                kill_group(pid);
                release(pid);
            });
        }
    }
}

#[cfg(target_os = "linux")]
fn kill_group(pid: u32) {
    linux::kill_all(pid);
}

#[cfg(target_os = "linux")]
fn release(pid: u32) {
    linux::release(pid);
}

#[cfg(not(target_os = "linux"))]
fn kill_group(_pid: u32) {}

#[cfg(not(target_os = "linux"))]
fn release(_pid: u32) {}

#[cfg(unix)]
fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn exit_signal(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// The helper: `paired __sandbox`. Confines this process as its [`Spec`]
/// says, reports what held on stderr, and becomes the program. Returns only
/// on failure, with the exit code to end with.
pub fn helper_main() -> i32 {
    let spec: Spec = match std::env::var(SPEC_VAR).ok().and_then(|s| serde_json::from_str(&s).ok()) {
        Some(spec) => spec,
        None => {
            eprintln!("paired {HELPER_ARG}: started without a sandbox spec; the daemon starts this, not people");
            return 2;
        }
    };
    // A session of its own: no controlling terminal to type into, and a
    // process group the daemon kills as one.
    new_session();
    let prepared = prepare(&spec);
    // The rest of the confinement in the PID namespace's first process: its
    // `/proc` is mounted there, before Landlock forbids mounting.
    #[cfg(target_os = "linux")]
    if prepared.own_pids() {
        return linux::first_of_its_pids(&spec.program, || command(&spec, confine(&spec, prepared)));
    }
    match command(&spec, confine(&spec, prepared)) {
        Ok(mut command) => {
            let err = super::exec(&mut command);
            eprintln!("paired: cannot run {}: {err}", spec.program);
            if err.kind() == io::ErrorKind::NotFound { 127 } else { 126 }
        }
        Err(code) => code,
    }
}

/// Reports `enforcement`, and the program's command unless the spec
/// requires more than it is (`Err`: the code to end with).
fn command(spec: &Spec, enforcement: Enforcement) -> Result<std::process::Command, i32> {
    if spec.require_full && enforcement.level != Level::Fully {
        let mut refused = enforcement.clone();
        refused.notes.insert(0, format!("refused: the sandbox is {}", enforcement.summary()));
        report(&refused);
        return Err(126);
    }
    report(&enforcement);
    let mut command = std::process::Command::new(&spec.program);
    command.args(&spec.args).env_clear().envs(spec.env.iter().cloned()).current_dir(&spec.cwd);
    Ok(command)
}

fn report(enforcement: &Enforcement) {
    eprintln!("{REPORT_MARK}{}", serde_json::to_string(enforcement).unwrap_or_default());
}

#[cfg(unix)]
fn new_session() {
    let _ = rustix::process::setsid();
}

#[cfg(not(unix))]
fn new_session() {}

#[cfg(target_os = "linux")]
use linux::{Prepared, prepare};

#[cfg(target_os = "linux")]
fn confine(spec: &Spec, prepared: Prepared) -> Enforcement {
    let mut enforcement = linux::restrict(spec, prepared);
    enforcement.settle(spec.network);
    enforcement
}

#[cfg(not(target_os = "linux"))]
struct Prepared;

#[cfg(not(target_os = "linux"))]
fn prepare(_spec: &Spec) -> Prepared {
    Prepared
}

#[cfg(not(target_os = "linux"))]
fn confine(_spec: &Spec, _prepared: Prepared) -> Enforcement {
    Enforcement::none("this OS has no sandbox in PAIRED yet (Linux has Landlock)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(files: Level, network: &str, processes: &str, no_new_privs: bool) -> Enforcement {
        let mut e = Enforcement {
            level: Level::Not,
            files,
            network: network.into(),
            processes: processes.into(),
            no_new_privs,
            daemon_hidden: true,
            own_pids: true,
            own_proc: true,
            notes: vec!["why".into()],
        };
        e.settle(false);
        e
    }

    #[test]
    fn full_means_every_part_held() {
        assert_eq!(parts(Level::Fully, "namespace", "cgroup", true).level, Level::Fully);
        assert_eq!(parts(Level::Fully, "landlock-tcp", "cgroup", true).level, Level::Partially, "UDP is open");
        assert_eq!(parts(Level::Fully, "namespace", "none", true).level, Level::Partially);
        assert_eq!(parts(Level::Partially, "namespace", "rlimit", true).level, Level::Partially);
        assert_eq!(parts(Level::Not, "namespace", "rlimit", true).level, Level::Not);
        assert_eq!(parts(Level::Fully, "landlock-tcp", "cgroup", true).summary(), "partially enforced: why");
        let mut host_proc = parts(Level::Fully, "namespace", "cgroup", true);
        host_proc.own_proc = false;
        host_proc.settle(false);
        assert_eq!(host_proc.level, Level::Partially, "other processes' command lines in sight");
    }

    #[test]
    fn the_report_line_is_taken_off_stderr() {
        let e = Enforcement::none("no Landlock");
        let stderr = format!("{REPORT_MARK}{}\nwarning: x\n", serde_json::to_string(&e).expect("serializes"));
        let (report, rest) = split_report(stderr.into_bytes());
        assert_eq!(report, Some(e));
        assert_eq!(rest, b"warning: x\n");
        let (report, rest) = split_report(b"plain\n".to_vec());
        assert_eq!((report, rest), (None, b"plain\n".to_vec()));
    }
}
