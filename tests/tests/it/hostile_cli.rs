//! Hostile input at the command line, in the environment and in the
//! marketplace's files (issue #14): each is refused with an error that names
//! it, or handled quietly, and never panics.

use std::{
    ffi::OsStr,
    io::{BufRead, BufReader, Write},
    os::unix::ffi::OsStrExt,
    path::Path,
    process::{Command, Output, Stdio},
    time::Duration,
};

use serde_json::{Value, json};
use tests::Home;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A command that must fail with a `paired:` error (exit 1, not a panic's 101).
fn refused(mut command: Command) -> String {
    let out = command.output().expect("run paired");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Notes may come first (`note: re-signing …`); the error is a `paired:` line.
    assert!(stderr.lines().any(|line| line.starts_with("paired: ")), "{stderr}");
    stderr
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn market_lifetimes_out_of_range_are_refused_and_init_is_all_or_nothing() {
    let home = Home::new();
    let parent = home.path().join("registries");
    std::fs::create_dir_all(&parent).expect("mkdir");
    let registry = parent.join("acme");
    let reg = registry.to_str().expect("utf-8");
    for secs in ["999999999999999", "0", "-5", "9223372036854775807"] {
        let stderr = refused(home.paired(&["market", "init", reg, "--timestamp-secs", secs]));
        assert!(
            stderr.starts_with(&format!(
                "paired: --timestamp-secs {secs}: must be from 1 to 315360000 seconds (3650 days, the root's lifetime)"
            )),
            "{stderr}"
        );
        assert!(names(&parent).is_empty(), "nothing is left of a refused init: {:?}", names(&parent));
    }

    let out = home.paired(&["market", "init", reg, "--timestamp-secs", "3600"]).output().expect("init");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(names(&parent), ["acme"], "made beside, then renamed into place");
    assert_eq!(names(&registry), ["keys", "repository", "root.json"]);
    let stderr = refused(home.paired(&["market", "init", reg]));
    assert!(stderr.contains("already holds a registry"), "{stderr}");

    let stderr = refused(home.paired(&["market", "resign", "--registry", reg, "--timestamp-secs", "999999999999999"]));
    assert!(stderr.starts_with("paired: --timestamp-secs 999999999999999: must be from 1 to"), "{stderr}");
    let stderr = refused(home.paired(&[
        "market",
        "license",
        "issue",
        "--registry",
        reg,
        "--agent",
        "x",
        "--licensee",
        "a@b.example",
        "--seconds",
        "9223372036854775807",
    ]));
    assert!(stderr.starts_with("paired: --seconds 9223372036854775807: must be from 1 to"), "{stderr}");
    let out = home.paired(&["market", "refresh", "--registry", reg]).output().expect("refresh");
    assert!(out.status.success(), "the registry is whole: {}", text(&out.stderr));

    // An existing folder with other things in it: the registry moves in beside them.
    let existing = parent.join("existing");
    std::fs::create_dir_all(existing.join(".git")).expect("mkdir");
    let out = home.paired(&["market", "init", existing.to_str().expect("utf-8")]).output().expect("init");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(names(&existing), [".git", "keys", "repository", "root.json"]);
}

#[test]
fn settings_that_are_not_utf8_or_out_of_range_name_their_variable() {
    let home = Home::new();
    let mut show = home.paired(&["config", "show"]);
    show.env("PAIRED_PORT", OsStr::from_bytes(b"\xff"));
    let stderr = refused(show);
    assert!(
        stderr.starts_with(
            "paired: invalid configuration: environment variable PAIRED_PORT=\"\\xFF\" is not valid UTF-8"
        ),
        "{stderr}"
    );
    let mut daemon = home.paired(&["daemon"]);
    daemon.env("PAIRED_PORT", OsStr::from_bytes(b"\xff"));
    assert!(refused(daemon).contains("PAIRED_PORT"), "the daemon does not start on the default port");

    let mut show = home.paired(&["config", "show"]);
    show.env("PAIRED_PORT", "99999");
    let stderr = refused(show);
    assert!(
        stderr.starts_with(
            "paired: invalid configuration: environment variable PAIRED_PORT=\"99999\" (for `daemon.port`): must be a whole number from 0 to 65535"
        ),
        "{stderr}"
    );

    let file = home.write_config("# limits\n[daemon]\nport = 0\n\n[limits]\noffline = 2\nmax_running = 0\n");
    let stderr = refused(home.paired(&["config", "show"]));
    assert!(
        stderr.starts_with(&format!(
            "paired: invalid configuration: {}:7: key `limits.max_running`: must be greater than 0",
            file.display()
        )),
        "{stderr}"
    );
}

/// A `paired` process talking to the test over its stdio, its stderr kept.
fn spawn_front(home: &Home, args: &[&str]) -> (std::process::Child, std::path::PathBuf) {
    let stderr_file = home.path().join(format!(".{}-stderr", args[0]));
    let stderr = std::fs::File::create(&stderr_file).expect("stderr file");
    let child = home
        .paired(args)
        .env("PAIRED_TYPO", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn");
    (child, stderr_file)
}

#[test]
fn unknown_variables_stop_typed_commands_but_not_what_an_editor_launches() {
    let home = Home::new();
    let mut show = home.paired(&["config", "show"]);
    show.env("PAIRED_TYPO", "1");
    assert!(refused(show).contains("environment variable PAIRED_TYPO is not a PAIRED setting"));

    // paired lsp: answers, warns once on stderr, and the daemon it starts runs.
    let (mut lsp, stderr_file) = spawn_front(&home, &["lsp"]);
    let mut stdin = lsp.stdin.take().expect("stdin");
    let uri = format!("file://{}", home.path().display());
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": std::process::id(), "rootUri": uri, "capabilities": {},
        "workspaceFolders": [{"uri": uri, "name": "root"}],
    }})
    .to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{init}", init.len()).expect("write");
    stdin.flush().expect("flush");
    let mut reader = BufReader::new(lsp.stdout.take().expect("stdout"));
    let mut next_frame = || -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).expect("read") > 0, "paired lsp exited: {}", home.log());
            if let Some(n) = line.trim().strip_prefix("Content-Length:") {
                length = n.trim().parse().expect("length");
            }
            if line.trim().is_empty() {
                break;
            }
        }
        let mut body = vec![0; length];
        std::io::Read::read_exact(&mut reader, &mut body).expect("body");
        serde_json::from_slice(&body).expect("json")
    };
    let reply = next_frame();
    assert!(reply["result"]["capabilities"].is_object(), "{reply}");
    // The user sees the warning in the editor, once the editor is ready.
    let initialized = json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}).to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{initialized}", initialized.len()).expect("write");
    stdin.flush().expect("flush");
    let shown = loop {
        let frame = next_frame();
        if frame["method"] == "window/showMessage"
            && frame["params"]["message"].as_str().is_some_and(|m| m.contains("PAIRED_TYPO"))
        {
            break frame;
        }
    };
    assert_eq!(shown["params"]["type"], 2, "a warning: {shown}");
    tests::wait_until("the daemon paired lsp starts", Duration::from_secs(15), || home.discovery().is_some());
    drop(stdin);
    assert!(tests::wait_child(&mut lsp, Duration::from_secs(10)).is_some(), "paired lsp exits on stdin EOF");
    let stderr = std::fs::read_to_string(&stderr_file).expect("stderr");
    assert_eq!(stderr.matches("PAIRED_TYPO").count(), 1, "warned once: {stderr}");
    assert!(stderr.contains("environment variable PAIRED_TYPO is not a PAIRED setting"), "{stderr}");

    // paired acp: the same.
    let (mut acp, stderr_file) = spawn_front(&home, &["acp"]);
    let mut stdin = acp.stdin.take().expect("stdin");
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": 1, "clientCapabilities": {"fs": {"readTextFile": true, "writeTextFile": true}},
    }});
    writeln!(stdin, "{init}").expect("write");
    stdin.flush().expect("flush");
    let mut line = String::new();
    BufReader::new(acp.stdout.take().expect("stdout")).read_line(&mut line).expect("read");
    let reply: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("paired acp answers: {line:?}"));
    assert!(reply["result"].is_object(), "{reply}");
    drop(stdin);
    assert!(tests::wait_child(&mut acp, Duration::from_secs(10)).is_some(), "paired acp exits on stdin EOF");
    let stderr = std::fs::read_to_string(&stderr_file).expect("stderr");
    assert_eq!(stderr.matches("PAIRED_TYPO").count(), 1, "warned once: {stderr}");
    let _ = home.paired(&["stop"]).output();
}

/// Runs `command` with its stdout a pipe nobody reads any more.
fn into_closed_pipe(mut command: Command) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    command.stdout(writer).stderr(Stdio::piped());
    command.output().expect("run paired")
}

#[test]
fn printing_into_a_closed_pipe_is_a_quiet_success() {
    let home = Home::new();
    let project = home.path().join("proj");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::write(project.join("Cargo.toml"), "[package]\nname = \"p\"\n").expect("write");
    let lib = project.join("src/lib.rs");
    std::fs::write(&lib, "// TODO: one\n// FIXME: two\npub fn f(x: Option<u8>) -> u8 { x.unwrap() }\n").expect("write");
    let lib = lib.to_str().expect("utf-8");
    let _daemon = home.start_daemon();
    let commands: &[&[&str]] = &[
        &["config", "show"],
        &["config", "validate"],
        &["status"],
        &["status", "--json"],
        &["doctor"],
        &["agents", "list"],
        &["agents", "show", "sherlock"],
        &["agents", "run", "sherlock", "--file", lib],
        &["agents", "run", "sherlock", "--file", lib, "--json"],
        &["workflow", "list"],
        &["providers", "list"],
        &["context", "--file", lib, "--line", "3"],
        &["market", "installed"],
        &["init", project.to_str().expect("utf-8")],
    ];
    for args in commands {
        let out = into_closed_pipe(home.paired(args));
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "paired {args:?}: {:?}\n{stderr}", out.status);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "paired {args:?}: {stderr}");
    }
}

#[test]
fn interrupted_installs_are_cleaned_at_daemon_start_without_following_links() {
    let home = Home::new();
    let agents = home.path().join(".local/share/paired/market/agents");
    let outside = home.path().join("outside");
    std::fs::create_dir_all(outside.join(".staging-1-1")).expect("mkdir");
    std::fs::write(outside.join(".staging-1-1/keep"), "x").expect("write");
    std::fs::create_dir_all(agents.join("scribe/.staging-123-456/tests")).expect("mkdir");
    std::fs::write(agents.join("scribe/.staging-123-456/agent.toml"), "id = \"scribe\"\n").expect("write");
    std::os::unix::fs::symlink(&outside, agents.join("scribe/.staging-link")).expect("symlink");
    std::fs::create_dir_all(agents.join(".removed-old-789/1.0.0")).expect("mkdir");
    std::os::unix::fs::symlink(&outside, agents.join("linked")).expect("symlink");

    let _daemon = home.start_daemon();
    assert_eq!(names(&agents), ["linked", "scribe"]);
    assert_eq!(names(&agents.join("scribe")), [".staging-link"]);
    assert_eq!(names(&outside), [".staging-1-1"]);
    assert!(outside.join(".staging-1-1/keep").is_file(), "nothing behind a link is touched");
}
