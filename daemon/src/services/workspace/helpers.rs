//! Indexing's parsing in helper processes (`paired __index`), not the
//! daemon's own threads: both passes (the first, mostly a lexical scan, too:
//! fifty workspaces' first passes at once were the load's slowest second).
//!
//! Why a process: on Linux a session is a scheduling group, and the kernel
//! shares the cores between groups before threads. With every workspace's
//! tree-sitter parsing inside the daemon, its group was never idle while
//! editors opened projects, so a woken request waited behind the group's own
//! parsing for its turn among all the others (fifty editors' bursts: the
//! probe editor's code actions up to hundreds of milliseconds, #18.7). In a
//! helper of its own session, at a lower weight, parsing takes what the
//! machine has spare and the daemon's group stays idle between requests.
//! A parser that crashes on an odd file (a grammar's C code) while indexing
//! now takes its helper down, not the daemon, and the file is indexed by its
//! declarations (the lexical scan, in the daemon) instead. (Documents the
//! editors have open, and outlines asked for, are still parsed in the daemon.)
//!
//! The protocol is private to this binary: on the helper's stdin, frames of a
//! little-endian `u32` length and a `postcard` request (`quick`,
//! `full_parse_max`, the language, the text); on its stdout, a frame with
//! the entry and whether it waits for the second pass, or why parsing failed.
//! Helpers are started from this process's own executable (the same build,
//! even after an upgrade replaced the file). The daemon kills helpers idle
//! for [`IDLE_EXIT`] (indexing is done: their memory goes back); a helper
//! exits when its stdin closes or its parent changes (the daemon ended,
//! however). The next parse starts one again; helpers that cannot start
//! three times running are given up for the daemon's life (parsing in its
//! threads, said once).
//! What it costs: the first complete index of a 2,736-file tree in 0.24 s
//! instead of 0.22 s (`ctags -R`: 0.85 s), the full parse unchanged (1.65 s);
//! the daemon reads the files and merges the entries.

use std::{
    io::{self, BufReader, BufWriter, Read, Write},
    path::PathBuf,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use context::{Language, index::FileEntry};

/// The argument `paired` is started with to be an index helper.
pub const HELPER_ARG: &str = "__index";

/// With `PAIRED_TEST_HOOKS=1` (passed on to helpers), a helper given a text
/// with this line dies as a parser crashing on a file would.
const CRASH_MARKER: &str = "// paired-test: crash the index helper";

/// How long a helper waits for its next file before the daemon ends it.
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// The largest frame either side accepts (a request's text is at most what
/// the indexer reads; an entry, with its calls, is of the order of its text).
const MAX_FRAME: usize = 64 << 20;

/// Helpers that could not start, in a row; at [`GIVE_UP_AFTER`], none is
/// started again.
static FAILED_STARTS: AtomicUsize = AtomicUsize::new(0);
const GIVE_UP_AFTER: usize = 3;

/// Helpers alive; past [`max_helpers`], files are parsed in the calling
/// thread (a watcher's updates take no indexing turn).
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn max_helpers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) + 1
}

/// What a helper answers: the entry and whether it waits for the second pass.
type Parsed = (FileEntry, bool);

/// The `paired` executable to start helpers from; unset (unit tests, other
/// embedders), files are parsed in the calling thread.
static EXECUTABLE: OnceLock<PathBuf> = OnceLock::new();

/// Helpers between two files, ready for the next, with when each finished.
static IDLE: Mutex<Vec<(Helper, Instant)>> = Mutex::new(Vec::new());

/// Whether a thread is ending idle helpers (while any is idle).
static REAPING: AtomicBool = AtomicBool::new(false);

/// Parses in helper processes from now on (the daemon calls this at start).
pub fn use_helper_processes() {
    match crate::platform::os::own_executable() {
        Ok(exe) => drop(EXECUTABLE.set(exe)),
        Err(err) => {
            tracing::warn!("indexing parses in the daemon's own threads: the paired executable is not found ({err})")
        }
    }
}

/// Parses `text` as [`FileEntry::first_pass`] (`quick`) or [`FileEntry::index`]
/// do, in a helper process when the daemon has them. `Err`: why parsing
/// this file failed.
pub(super) fn parse(language: Language, text: String, full_parse_max: usize, quick: bool) -> Result<Parsed, String> {
    let Some(exe) = EXECUTABLE.get().filter(|_| FAILED_STARTS.load(Ordering::Relaxed) < GIVE_UP_AFTER) else {
        return in_this_thread(language, text, full_parse_max, quick);
    };
    let request =
        postcard::to_stdvec(&(quick, full_parse_max as u64, language, text.as_str())).map_err(|err| err.to_string())?;
    // An idle helper may have died meanwhile: one more try, with another. A
    // file that crashes its parser crashes the second too.
    for attempt in 0..2 {
        let taken = IDLE.lock().unwrap_or_else(|p| p.into_inner()).pop().map(|(helper, _)| helper);
        let mut helper = match taken {
            Some(helper) => helper,
            None if LIVE.load(Ordering::Relaxed) >= max_helpers() => {
                return in_this_thread(language, text, full_parse_max, quick);
            }
            None => match Helper::start(exe) {
                Ok(helper) => {
                    FAILED_STARTS.store(0, Ordering::Relaxed);
                    helper
                }
                Err(err) => {
                    if FAILED_STARTS.fetch_add(1, Ordering::Relaxed) + 1 == GIVE_UP_AFTER {
                        tracing::warn!(
                            "index helpers cannot start ({err}); parsing in the daemon's threads from now on"
                        );
                    }
                    return in_this_thread(language, text, full_parse_max, quick);
                }
            },
        };
        match helper.call(&request) {
            Ok(Ok(parsed)) => {
                put_back(helper);
                return Ok(parsed);
            }
            Ok(Err(cause)) => {
                put_back(helper);
                tracing::error!(%cause, "parsing a file failed; it is indexed by its declarations (please report it)");
                break;
            }
            Err(err) if attempt == 0 => tracing::debug!("an index helper went ({err}); starting another"),
            Err(err) => {
                tracing::error!(
                    "parsing a file ended its parser's process ({err}); it is indexed by its declarations (please report it)"
                );
            }
        }
    }
    std::panic::catch_unwind(|| (FileEntry::shallow(language, &text), false)).map_err(|panic| panic_message(&*panic))
}

/// Keeps `helper` for the next file; a thread ends it after [`IDLE_EXIT`].
fn put_back(helper: Helper) {
    let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
    idle.push((helper, Instant::now()));
    // Under the lock the reaper checks for an empty pool in: never none
    // reaping while one is idle.
    if !REAPING.swap(true, Ordering::AcqRel) {
        let started = std::thread::Builder::new().name("paired-reap".into()).spawn(reap);
        if started.is_err() {
            REAPING.store(false, Ordering::Release);
        }
    }
}

/// Ends helpers idle for [`IDLE_EXIT`], until none is idle.
fn reap() {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let (ended, done): (Vec<(Helper, Instant)>, bool) = {
            let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
            let (ended, kept) = idle.drain(..).partition(|(_, since)| since.elapsed() >= IDLE_EXIT);
            *idle = kept;
            let done = idle.is_empty();
            if done {
                REAPING.store(false, Ordering::Release);
            }
            (ended, done)
        };
        // Ended outside the lock (each is waited for).
        drop(ended);
        if done {
            return;
        }
    }
}

fn in_this_thread(language: Language, text: String, full_parse_max: usize, quick: bool) -> Result<Parsed, String> {
    std::panic::catch_unwind(|| parse_one(language, text, full_parse_max, quick))
        .map_err(|panic| panic_message(&*panic))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let cause = panic.downcast_ref::<&str>().map(|s| (*s).to_owned());
    cause.or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".into())
}

fn parse_one(language: Language, text: String, full_parse_max: usize, quick: bool) -> Parsed {
    if quick {
        FileEntry::first_pass(language, text, full_parse_max)
    } else {
        (FileEntry::index(language, text, full_parse_max), false)
    }
}

/// One helper process, between two requests.
struct Helper {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Helper {
    fn start(exe: &PathBuf) -> io::Result<Helper> {
        let mut command = Command::new(exe);
        command.arg(HELPER_ARG).env_clear();
        if let Some(hooks) = std::env::var_os("PAIRED_TEST_HOOKS") {
            command.env("PAIRED_TEST_HOOKS", hooks);
        }
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("the helper's pipes were not made"));
        };
        LIVE.fetch_add(1, Ordering::Relaxed);
        Ok(Helper { child, stdin: BufWriter::new(stdin), stdout: BufReader::new(stdout) })
    }

    fn call(&mut self, request: &[u8]) -> io::Result<Result<Parsed, String>> {
        write_frame(&mut self.stdin, request)?;
        let reply = read_frame(&mut self.stdout)?.ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        postcard::from_bytes(&reply).map_err(io::Error::other)
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        // Killed (idle, or failed) or gone already (crashed): reaped either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

fn write_frame(out: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    let len = u32::try_from(frame.len()).map_err(|_| io::Error::other("frame too large"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(frame)?;
    out.flush()
}

/// The next frame; `None` at the end of the stream between two frames.
fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::other(format!("a frame of {len} bytes (at most {MAX_FRAME})")));
    }
    let mut frame = vec![0; len];
    input.read_exact(&mut frame)?;
    Ok(Some(frame))
}

/// `paired __index`: parses what the daemon sends until its stdin closes or
/// its parent changes (orphaned mid-parse, it would parse on for no one).
/// Returns the exit code.
pub fn helper_main() -> i32 {
    crate::platform::os::become_background_process();
    let parent = crate::platform::os::parent_pid();
    let _ = std::thread::Builder::new().name("paired-orphan".into()).spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            if crate::platform::os::parent_pid() != parent {
                std::process::exit(0);
            }
        }
    });
    let crash_on_marker = std::env::var("PAIRED_TEST_HOOKS").is_ok_and(|v| v == "1");
    serve(io::stdin().lock(), io::stdout().lock(), crash_on_marker)
}

fn serve(mut input: impl Read, mut output: impl Write, crash_on_marker: bool) -> i32 {
    let mut output = BufWriter::new(&mut output);
    loop {
        let request = match read_frame(&mut input) {
            Ok(Some(request)) => request,
            Ok(None) => return 0,
            Err(_) => return 1,
        };
        let reply: Result<Parsed, String> = match postcard::from_bytes::<(bool, u64, Language, String)>(&request) {
            Ok((_, _, _, text)) if crash_on_marker && text.contains(CRASH_MARKER) => std::process::abort(),
            Ok((quick, max, language, text)) => {
                let max = usize::try_from(max).unwrap_or(usize::MAX);
                std::panic::catch_unwind(|| parse_one(language, text, max, quick))
                    .map_err(|panic| panic_message(&*panic))
            }
            Err(err) => Err(format!("a request the helper cannot read: {err}")),
        };
        let written =
            postcard::to_stdvec(&reply).map_err(io::Error::other).and_then(|reply| write_frame(&mut output, &reply));
        if written.is_err() {
            return 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(quick: bool, language: Language, text: &str) -> Vec<u8> {
        let mut framed = Vec::new();
        let body = postcard::to_stdvec(&(quick, 256u64 * 1024, language, text)).expect("encode");
        write_frame(&mut framed, &body).expect("frame");
        framed
    }

    /// What a helper answers is what parsing in the daemon gives, a file at a
    /// time, in order, until its input ends.
    #[test]
    fn a_helper_answers_as_parsing_here_would() {
        let rust = "use std::fmt;\nfn one() { two(); }\nstruct Two;\nimpl Two { fn three(&self) {} }\n";
        let python = "import os\nclass A:\n    def b(self):\n        return os.getcwd()\n";
        let mut input = request(false, Language::Rust, rust);
        input.extend(request(true, Language::Python, python));
        input.extend(request(false, Language::Python, python));
        let mut output = Vec::new();
        assert_eq!(serve(&input[..], &mut output, false), 0, "ends with its input");
        let mut replies = &output[..];
        let mut next = || -> Parsed {
            let frame = read_frame(&mut replies).expect("read").expect("a reply");
            postcard::from_bytes::<Result<Parsed, String>>(&frame).expect("decode").expect("parsed")
        };
        assert_eq!(next(), parse_one(Language::Rust, rust.into(), 256 * 1024, false));
        assert_eq!(next(), parse_one(Language::Python, python.into(), 256 * 1024, true));
        let (entry, later) = next();
        assert!(!later && entry.named_symbols().any(|(name, _)| name == "b"), "{entry:?}");
        assert!(read_frame(&mut replies).expect("read").is_none());
    }

    #[test]
    fn a_request_it_cannot_read_is_answered_with_why_and_a_runaway_frame_ends_it() {
        let mut input = Vec::new();
        write_frame(&mut input, b"\xff\xff\xff").expect("frame");
        input.extend(request(false, Language::Rust, "fn a() {}"));
        input.extend(((MAX_FRAME + 1) as u32).to_le_bytes());
        let mut output = Vec::new();
        assert_eq!(serve(&input[..], &mut output, false), 1);
        let mut replies = &output[..];
        let first = read_frame(&mut replies).expect("read").expect("reply");
        let first = postcard::from_bytes::<Result<Parsed, String>>(&first).expect("decode");
        assert!(first.is_err_and(|why| why.contains("cannot read")));
        let second = read_frame(&mut replies).expect("read").expect("reply");
        assert!(postcard::from_bytes::<Result<Parsed, String>>(&second).expect("decode").is_ok(), "served on");
    }
}
