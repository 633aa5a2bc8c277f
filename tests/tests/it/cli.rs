//! The command line: config errors, init, doctor, status.

use serde_json::Value;
use tests::Home;

#[test]
fn config_errors_name_file_key_and_line() {
    let home = Home::new();
    let file = home.write_config("[daemon]\nport = 99999\n");
    let out = home.paired(&["config", "validate"]).output().expect("validate");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "paired: invalid configuration: {}:2: key `daemon.port`: invalid value: integer `99999`, expected u16\n",
        file.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert_eq!(stderr.matches("paired:").count(), 1, "the error prints once: {stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");

    // The daemon refuses to start on a broken config, with the same message.
    let out = home.paired(&["daemon"]).output().expect("daemon");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(&expected));

    std::fs::write(&file, "[daemon]\nport = 0\n[server]\nmax_batch_len = 5\n").expect("write");
    let out = home.paired(&["config", "show"]).env_remove("PAIRED_PORT").output().expect("show");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("max_batch_len = 5"), "{stdout}");
    assert!(stdout.contains(&file.display().to_string()), "names its sources: {stdout}");

    let out = home.paired(&["config", "show"]).env("PAIRED_SERVER_MAX_BATCH_LEN", "x").output().expect("show");
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "environment variable PAIRED_SERVER_MAX_BATCH_LEN=\"x\" (for `server.max_batch_len`): expected a whole number"
    ));
}

#[test]
fn project_config_overrides_user_config() {
    let home = Home::new();
    let project = home.path().join("proj");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    let out = home.paired(&["init", project.to_str().expect("utf8")]).output().expect("init");
    assert!(out.status.success(), "{out:?}");
    for dir in ["config/agents", "workflows", "memory", "contexts", "handoff", "data"] {
        assert!(project.join(".paired").join(dir).is_dir(), "{dir}");
    }
    std::fs::write(project.join(".paired/config.toml"), "[server]\nmax_batch_len = 7\n").expect("write");
    let out = home.paired(&["config", "show"]).current_dir(project.join("src")).output().expect("show");
    assert!(String::from_utf8_lossy(&out.stdout).contains("max_batch_len = 7"));
    let again = home.paired(&["init", project.to_str().expect("utf8")]).output().expect("init");
    assert!(String::from_utf8_lossy(&again.stdout).contains("already initialised"));
}

#[test]
fn doctor_and_status_json() {
    let home = Home::new();
    let out = home.paired(&["doctor"]).output().expect("doctor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("warn daemon    not running"), "{stdout}");

    let _daemon = home.start_daemon();
    let out = home.paired(&["doctor", "--json"]).output().expect("doctor");
    assert!(out.status.success(), "{out:?}");
    let checks: Value = serde_json::from_slice(&out.stdout).expect("json");
    let levels: Vec<(String, String)> = checks
        .as_array()
        .expect("array")
        .iter()
        .map(|c| (c["name"].as_str().unwrap_or("").to_owned(), c["level"].as_str().unwrap_or("").to_owned()))
        .collect();
    // The sandbox: this machine kind has Landlock, namespaces and a pids cgroup.
    for name in ["config", "token", "daemon", "versions", "port", "database", "sandbox"] {
        assert!(levels.contains(&(name.to_owned(), "ok".to_owned())), "{name}: {levels:?}");
    }

    let out = home.paired(&["status", "--json"]).output().expect("status");
    let status: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert!(status["uptime_ms"].is_u64());
}

#[test]
fn requests_are_logged_with_method_and_id() {
    let home = Home::new();
    let _daemon = home.start_daemon_with(&[("PAIRED_LOG", "info,daemon=debug")]);
    let reply = home.post(r#"{"jsonrpc":"2.0","id":"log-me","method":"daemon/status"}"#);
    assert_eq!(reply.status, 200);
    tests::wait_until("log line", std::time::Duration::from_secs(5), || {
        home.log().contains(r#"rpc{method=daemon/status id="log-me"}"#)
    });
}

/// Issue #15: `paired status --json` without a daemon printed a line of text;
/// every `--json` prints JSON, errors included, on stdout with a non-zero exit.
#[test]
fn json_output_is_json_even_when_the_command_fails() {
    let home = Home::new();
    let json_error = |args: &[&str]| {
        let out = home.paired(args).current_dir(home.project()).output().expect("run paired");
        assert!(!out.status.success(), "{args:?}: {out:?}");
        let reply: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|err| panic!("{args:?}: stdout is not JSON ({err}): {out:?}"));
        assert!(reply["error"]["message"].is_string(), "{args:?}: {reply}");
        assert!(out.stderr.is_empty(), "{args:?}: the error is told once, in the JSON: {out:?}");
        reply
    };
    let status = json_error(&["status", "--json"]);
    assert!(status["error"]["message"].as_str().is_some_and(|m| m.contains("no PAIRED daemon is running")), "{status}");
    assert!(status["error"]["hint"].as_str().is_some_and(|h| h.contains("paired daemon --detach")), "{status}");
    // A command line clap cannot read, when it asks for JSON.
    let usage = json_error(&["status", "--json", "--colour"]);
    assert!(usage["error"]["message"].as_str().is_some_and(|m| m.contains("--colour")), "{usage}");

    // The daemon refuses a review with no file: the command line names its flag, not the RPC field.
    let refused = json_error(&["agents", "run", "sherlock", "--json"]);
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(message, "Sherlock's review works on a file, and none was named", "{refused}");
    assert!(refused["error"]["hint"].as_str().is_some_and(|h| h.contains("--file FILE")), "{refused}");
    let out = home.paired(&["agents", "run", "sherlock"]).current_dir(home.project()).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{out:?}");
    assert!(stderr.contains("paired: Sherlock's review works on a file") && stderr.contains("--file FILE"), "{stderr}");
    assert!(!stderr.contains("uri") && !stderr.contains("agents/run"), "no RPC words: {stderr}");
    let _ = home.paired(&["stop"]).output();
}
