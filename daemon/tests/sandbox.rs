//! The sandbox attacked from inside: a program run through `paired __sandbox`
//! tries to write outside its scratch space, read past its roots, follow
//! links out, reach the network, signal the daemon's processes, fork without
//! end, fill the disk, print without end and outlive its time.

use std::{
    io::Read,
    net::TcpListener,
    path::{Path, PathBuf},
    time::Duration,
};

use daemon::platform::os::sandbox::{self, Exit, Level, Limits, Outcome, Spec};

struct Cell {
    _dir: tempfile::TempDir,
    project: PathBuf,
    scratch: PathBuf,
    outside: PathBuf,
}

fn cell() -> Cell {
    let dir = tempfile::tempdir().expect("test set-up");
    let (project, scratch, outside) =
        (dir.path().join("project"), dir.path().join("scratch"), dir.path().join("outside"));
    for d in [&project, &scratch, &outside] {
        std::fs::create_dir(d).expect("test set-up");
    }
    std::fs::write(project.join("lib.rs"), "pub fn f() {}\n").expect("test set-up");
    std::fs::write(outside.join("secret"), "AWS_SECRET=abc\n").expect("test set-up");
    Cell { _dir: dir, project, scratch, outside }
}

fn spec(cell: &Cell, script: &str) -> Spec {
    let mut read = sandbox::system_read_paths();
    read.push(cell.project.clone());
    Spec {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        cwd: cell.scratch.clone(),
        env: vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("PROJECT".into(), cell.project.display().to_string()),
            ("OUTSIDE".into(), cell.outside.display().to_string()),
        ],
        read,
        write: vec![cell.scratch.clone()],
        network: false,
        hide: Vec::new(),
        require_full: false,
        seen_as: None,
        limits: Limits { wall: Duration::from_secs(20), ..Limits::default() },
    }
}

fn run(spec: &Spec) -> Outcome {
    let helper = Path::new(env!("CARGO_BIN_EXE_paired"));
    tokio::runtime::Runtime::new()
        .expect("test set-up")
        .block_on(sandbox::run(helper, spec))
        .expect("the helper starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_program_reads_the_project_writes_its_scratch_and_is_fully_confined() {
    let cell = cell();
    let out = run(&spec(&cell, "cat \"$PROJECT/lib.rs\" && echo built > out.txt && grep NoNewPrivs /proc/self/status"));
    assert!(out.success(), "{:?} {}", out.exit, text(&out.stderr));
    assert_eq!(text(&out.stdout), "pub fn f() {}\nNoNewPrivs:\t1\n");
    assert_eq!(std::fs::read_to_string(cell.scratch.join("out.txt")).expect("test set-up"), "built\n");
    let e = &out.enforcement;
    assert_eq!((e.level, e.files, e.network.as_str()), (Level::Fully, Level::Fully, "namespace"), "{e:?}");
    assert!(e.no_new_privs && e.processes != "none", "{e:?}");
    assert_eq!(e.summary(), "fully enforced");
}

/// Edison's second probe: the program sees another user id, and what it
/// writes is still ours.
#[test]
fn a_program_can_be_shown_another_user_id() {
    let cell = cell();
    let script = "id -u; id -g; echo x > made; stat -c %u made; cat /proc/sys/kernel/hostname; echo $$";
    let mut other = spec(&cell, script);
    other.seen_as = Some(4242);
    let outcome = run(&other);
    assert!(outcome.success(), "{}", text(&outcome.stderr));
    // Another host name and process id, too, than a run as ourselves has.
    let seen = text(&outcome.stdout);
    let usual = text(&run(&spec(&cell, script)).stdout);
    assert_eq!(seen.lines().take(3).collect::<Vec<_>>(), ["4242", "4242", "4242"], "{seen}");
    assert_eq!(seen.lines().nth(3), Some("elsewhere"), "{seen}");
    assert!(seen.lines().nth(4).and_then(|pid| pid.parse::<u32>().ok()).is_some_and(|pid| pid > 4000), "{seen}");
    assert_ne!(usual.lines().nth(3), Some("elsewhere"), "{usual}");
    assert!(usual.lines().nth(4).and_then(|pid| pid.parse::<u32>().ok()).is_some_and(|pid| pid < 100), "{usual}");
    // Never root inside for whoever asks.
    let mut root = spec(&cell, "id -u");
    root.seen_as = Some(0);
    assert_eq!(text(&run(&root).stdout).trim(), rustix::process::geteuid().as_raw().to_string());
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(cell.scratch.join("made")).expect("written"));
    assert_eq!(owner, rustix::process::geteuid().as_raw(), "the file is ours outside");
    let same = run(&spec(&cell, "id -u"));
    assert_eq!(text(&same.stdout).trim(), rustix::process::geteuid().as_raw().to_string());
}

#[test]
fn nothing_outside_the_roots_can_be_read_or_written() {
    let cell = cell();
    let script = "cat \"$OUTSIDE/secret\"; echo x > \"$PROJECT/planted\"; echo x > \"$OUTSIDE/planted\"; \
                  rm \"$PROJECT/lib.rs\"; cat /etc/shadow; ls /root; echo done";
    let out = run(&spec(&cell, script));
    let stderr = text(&out.stderr);
    assert_eq!(text(&out.stdout), "done\n", "{stderr}");
    assert_eq!(stderr.matches("Permission denied").count(), 6, "each attempt is refused: {stderr}");
    assert!(!cell.project.join("planted").exists() && !cell.outside.join("planted").exists());
    assert!(cell.project.join("lib.rs").exists(), "the project is read-only");
}

#[test]
fn links_do_not_lead_out() {
    let cell = cell();
    // A link planted in the project (by a hostile repository) and one made inside.
    std::os::unix::fs::symlink(cell.outside.join("secret"), cell.project.join("innocent.txt")).expect("test set-up");
    let script = "cat \"$PROJECT/innocent.txt\"; ln -s \"$OUTSIDE\" out && echo x > out/planted; \
                  ln -s \"$OUTSIDE/secret\" s && cat s; ln \"$OUTSIDE/secret\" hard; echo done";
    let out = run(&spec(&cell, script));
    let stderr = text(&out.stderr);
    assert_eq!(text(&out.stdout), "done\n", "{stderr}");
    assert!(!stderr.contains("AWS_SECRET") && !text(&out.stdout).contains("AWS_SECRET"));
    assert!(!cell.outside.join("planted").exists());
    assert!(!cell.scratch.join("hard").exists(), "no hard link to a file outside: {stderr}");
}

#[test]
fn the_network_is_closed_unless_granted() {
    let cell = cell();
    let listener = TcpListener::bind("127.0.0.1:0").expect("test set-up");
    let port = listener.local_addr().expect("test set-up").port();
    listener.set_nonblocking(true).expect("test set-up");
    let script = format!("exec bash -c 'echo hello > /dev/tcp/127.0.0.1/{port}' && echo connected");
    let closed = run(&spec(&cell, &script));
    assert!(!closed.success(), "{}", text(&closed.stdout));
    assert!(listener.accept().is_err(), "nothing reached the host's loopback");
    let mut granted = spec(&cell, &script);
    granted.network = true;
    let open = run(&granted);
    assert!(open.success(), "{}", text(&open.stderr));
    assert_eq!(open.enforcement.network, "granted");
    listener.set_nonblocking(false).expect("test set-up");
    let (mut stream, _) = listener.accept().expect("test set-up");
    let mut got = String::new();
    stream.read_to_string(&mut got).expect("test set-up");
    assert_eq!(got, "hello\n");
}

#[test]
fn processes_outside_cannot_be_signalled_and_the_environment_is_not_passed_on() {
    let cell = cell();
    let mut victim = std::process::Command::new("sleep").arg("30").spawn().expect("test set-up");
    // SAFETY-free: set for this test process; the sandbox must not pass it on.
    let out = run(&spec(&cell, &format!("kill {} ; echo \"token=$PAIRED_TOKEN home=$HOME\"", victim.id())));
    assert!(victim.try_wait().expect("test set-up").is_none(), "the process outside is alive");
    victim.kill().expect("test set-up");
    assert_eq!(text(&out.stdout), "token= home=\n", "only the spec's environment: {}", text(&out.stderr));
}

#[test]
fn the_daemons_socket_folder_is_out_of_sight() {
    let cell = cell();
    let runtime = cell.outside.join("runtime");
    std::fs::create_dir(&runtime).expect("test set-up");
    let _listener = std::os::unix::net::UnixListener::bind(runtime.join("paired.sock")).expect("test set-up");
    let mut s = spec(&cell, &format!("ls -A {0}; test -S {0}/paired.sock || echo hidden", runtime.display()));
    // Readable, to show it is the mount that hides it, not Landlock.
    s.read.push(runtime.clone());
    s.hide.push(runtime.clone());
    let out = run(&s);
    assert_eq!(text(&out.stdout), "hidden\n", "{}", text(&out.stderr));
    assert!(out.enforcement.daemon_hidden && out.enforcement.level == Level::Fully, "{:?}", out.enforcement);
    assert!(runtime.join("paired.sock").exists(), "hidden in the sandbox only");
}

#[test]
fn a_fork_bomb_is_capped_and_everything_it_started_is_killed() {
    let cell = cell();
    let mut spec = spec(&cell, "i=0; while [ $i -lt 500 ]; do sleep 33.3 & i=$((i+1)); done; wait");
    spec.limits.processes = 40;
    spec.limits.wall = Duration::from_secs(3);
    let out = run(&spec);
    // The shell gives up when a fork fails (or runs out of time trying).
    assert!(!out.success(), "{:?}", out.exit);
    assert!(text(&out.stderr).contains("fork"), "forks past the cap fail: {}", text(&out.stderr));
    let left = std::fs::read_dir("/proc")
        .expect("test set-up")
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmdline| cmdline.windows(4).any(|w| w == b"33.3"))
        .count();
    assert_eq!(left, 0, "every process the sandbox started is gone");
}

/// A run whose request is cancelled (its future dropped mid-run) takes what
/// it started with it, not only the helper.
#[test]
fn a_cancelled_run_leaves_no_process_behind() {
    let cell = cell();
    let spec = spec(&cell, "sleep 44.4 & sleep 44.4 & echo started; wait");
    let helper = Path::new(env!("CARGO_BIN_EXE_paired"));
    let count = || {
        std::fs::read_dir("/proc")
            .expect("test set-up")
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .filter(|cmdline| cmdline.as_slice() == b"sleep\x0044.4\x00")
            .count()
    };
    let runtime = tokio::runtime::Runtime::new().expect("test set-up");
    runtime.block_on(async {
        let run = sandbox::run(helper, &spec);
        // Cancelled once its children run.
        let started = tokio::time::timeout(Duration::from_secs(20), async {
            tokio::pin!(run);
            loop {
                tokio::select! {
                    _ = &mut run => panic!("the run ended by itself"),
                    () = tokio::time::sleep(Duration::from_millis(50)) => if count() == 2 { break },
                }
            }
        })
        .await;
        assert!(started.is_ok(), "the run's children never started");
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(count(), 0, "every process the cancelled run started is gone");
}

/// A program that detaches a process (`setsid`: a session, and so a process
/// group, of its own) and ends: the process ends with it, as the sandbox's
/// PID namespace ends with its first process. Without one it lived on.
#[test]
fn a_process_the_program_detaches_ends_with_it() {
    let cell = cell();
    let spec = spec(&cell, "setsid sleep 55.5 < /dev/null > /dev/null 2>&1 & sleep 0.3; echo left");
    let helper = Path::new(env!("CARGO_BIN_EXE_paired"));
    let count = || {
        std::fs::read_dir("/proc")
            .expect("test set-up")
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .filter(|cmdline| cmdline.as_slice() == b"sleep\x0055.5\x00")
            .count()
    };
    let runtime = tokio::runtime::Runtime::new().expect("test set-up");
    let outcome = runtime.block_on(sandbox::run(helper, &spec)).expect("ran");
    assert!(outcome.success(), "{outcome:?}");
    assert!(outcome.enforcement.own_pids, "{:?}", outcome.enforcement);
    assert_eq!(String::from_utf8_lossy(&outcome.stdout), "left\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(count(), 0, "the detached process ended with the program");
}

/// The program's `/proc` is its PID namespace's: the processes outside —
/// this test, the daemon, the user's shells, whose command lines can hold
/// passwords and tokens — are not there to read.
#[test]
fn other_processes_are_out_of_the_programs_sight() {
    let cell = cell();
    let outside = std::process::id();
    let spec = spec(
        &cell,
        &format!(
            "cat /proc/{outside}/cmdline > /dev/null 2>&1 && echo seen; ls /proc | grep -c '^[0-9]*$'; cat /proc/1/comm"
        ),
    );
    let helper = Path::new(env!("CARGO_BIN_EXE_paired"));
    let runtime = tokio::runtime::Runtime::new().expect("test set-up");
    let outcome = runtime.block_on(sandbox::run(helper, &spec)).expect("ran");
    assert!(outcome.success(), "{outcome:?}");
    assert!(outcome.enforcement.own_proc, "{:?}", outcome.enforcement);
    let stdout = String::from_utf8_lossy(&outcome.stdout);
    let mut lines = stdout.lines();
    let processes: usize = lines.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{stdout}"));
    // The init, the shell, and `ls` and `grep` of the pipe.
    assert!(processes <= 4, "{processes} processes in sight: {stdout}");
    assert_eq!(lines.next(), Some("paired"), "the namespace's first process is the sandbox's init: {stdout}");
}

/// `kill 0` (a shell's clean-up, `killpg(getpgrp())`) reaches the program's
/// own process group, not the helper outside its PID namespace, which would
/// end the run as killed.
#[test]
fn the_programs_kill_0_reaches_its_own_group_only() {
    let cell = cell();
    let spec = spec(&cell, "trap '' TERM; kill 0; echo survived");
    let helper = Path::new(env!("CARGO_BIN_EXE_paired"));
    let runtime = tokio::runtime::Runtime::new().expect("test set-up");
    let outcome = runtime.block_on(sandbox::run(helper, &spec)).expect("ran");
    assert!(outcome.success(), "{outcome:?}");
    assert_eq!(String::from_utf8_lossy(&outcome.stdout), "survived\n");
}

#[test]
fn the_disk_cannot_be_filled() {
    let cell = cell();
    // One big file: the file-size limit.
    let mut one = spec(&cell, "");
    one.program = "head".into();
    one.args = vec!["-c".into(), "100000000".into(), "/dev/zero".into()];
    one.limits.file_bytes = 8 << 20;
    let one_file = {
        let mut s = one.clone();
        s.program = "sh".into();
        s.args = vec!["-c".into(), "exec head -c 100000000 /dev/zero > big".into()];
        run(&s)
    };
    assert_eq!(one_file.exit, Exit::Signal(25), "{}", one_file.exit.describe());
    assert!(one_file.exit.describe().contains("file size limit"));
    // Many files: the scratch space's budget.
    let mut many =
        spec(&cell, "i=0; while [ $i -lt 100 ]; do head -c 4000000 /dev/zero > f$i; i=$((i+1)); done; sleep 10");
    many.limits.disk_bytes = 40 << 20;
    let out = run(&many);
    assert!(matches!(&out.exit, Exit::Stopped(why) if why.contains("scratch space")), "{:?}", out.exit);
}

#[test]
fn allocations_are_capped_but_reservations_are_not() {
    let cell = cell();
    // 64 MiB: a 200 MiB allocation fails...
    let mut big = spec(&cell, "");
    big.program = "/usr/bin/python3".into();
    big.args = vec!["-c".into(), "b = bytearray(200 << 20); print('allocated')".into()];
    big.limits.memory_bytes = 64 << 20;
    let out = run(&big);
    assert!(!out.success(), "{}", out.exit.describe());
    assert!(text(&out.stderr).contains("MemoryError"), "{}", text(&out.stderr));
    // ...while 16 GiB of address space reserved without access (what V8 does
    // for WebAssembly, and Go for its heap) is not memory used.
    let mut reserve = big.clone();
    reserve.args = vec![
        "-c".into(),
        "import mmap; m = mmap.mmap(-1, 16 << 30, flags=mmap.MAP_PRIVATE, prot=0); print('reserved')".into(),
    ];
    let out = run(&reserve);
    assert_eq!(text(&out.stdout), "reserved\n", "{}", text(&out.stderr));
}

#[test]
fn time_and_output_are_capped() {
    let cell = cell();
    let mut slow = spec(&cell, "sleep 30");
    slow.limits.wall = Duration::from_millis(500);
    let out = run(&slow);
    assert!(matches!(&out.exit, Exit::Stopped(why) if why.contains("longer than")), "{:?}", out.exit);
    assert!(out.elapsed < Duration::from_secs(5));
    let mut loud = spec(&cell, "yes");
    loud.limits.output_bytes = 1 << 20;
    let out = run(&loud);
    assert!(matches!(&out.exit, Exit::Stopped(why) if why.contains("printed more than")), "{:?}", out.exit);
    assert_eq!(out.stdout.len(), 1 << 20);
    assert!(out.truncated);
}

#[test]
fn a_missing_program_is_a_clear_failure() {
    let cell = cell();
    let mut s = spec(&cell, "");
    s.program = "no-such-linter".into();
    let out = run(&s);
    assert_eq!(out.exit, Exit::Code(127));
    assert!(text(&out.stderr).contains("cannot run no-such-linter"), "{}", text(&out.stderr));
}

#[test]
fn no_device_node_no_terminal_and_no_host_privilege() {
    let cell = cell();
    // As root outside, a device node would read the disk; /dev/tty would type into the user's shell.
    let out = run(&spec(
        &cell,
        "mknod null2 c 1 3; test -e null2 || echo no-node; echo x > /dev/tty || echo no-tty; \
                               hostname paired-sandbox 2>/dev/null || echo no-hostname; echo done",
    ));
    assert_eq!(text(&out.stdout), "no-node\nno-tty\nno-hostname\ndone\n", "{}", text(&out.stderr));
    assert!(!cell.scratch.join("null2").exists());
}
