//! The web console (#21) on the daemon: signed in through `paired console`,
//! every page in headless Chromium against seeded history and a real review
//! workflow, filters, CSV against the API, the keyboard, Maya's accessibility
//! rules on every rendered page, another origin trying to read it, sign-out;
//! and the HTTP rules a hostile page or local user meets.

use protocol::{
    agents::{Feedback, FeedbackParams, Verdict},
    workflows::{self, RunWorkflowParams, SessionStatus},
};
use serde_json::{Value, json};
use tests::{
    Home,
    console::{PRICED_CONFIG, api, browse, cookie_of, paired_console, seed_usage, sign_in},
    http, workflow_run,
};

const LIB: &str = "pub fn load(p: &str) -> String {\n    std::fs::read_to_string(p).unwrap()\n}\n";

/// A daemon with 45 days of seeded usage and one real (offline) review workflow.
fn seeded() -> (Home, tests::Daemon, String) {
    let home = Home::new();
    home.write_config(PRICED_CONFIG);
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"proj\"\n").expect("write");
    std::fs::write(root.join("src/lib.rs"), LIB).expect("write");
    let daemon = home.start_daemon();
    let root = root.canonicalize().expect("canonical");
    let folder = root.display().to_string();
    home.call::<protocol::context::AddWorkspace>(protocol::context::AddWorkspaceParams { folder, wait: true });
    let uri = format!("file://{}", root.join("src/lib.rs").display());
    let session =
        home.call::<workflows::Run>(RunWorkflowParams { uri: Some(uri), wait: true, ..workflow_run("review") });
    assert_eq!(session.status, SessionStatus::Succeeded, "{session:#?}");
    let qa = session.steps.iter().find(|s| s.step == "qa").expect("sherlock's step");
    // The user accepts Sherlock's finding (as the editor's review would say).
    let verdicts = vec![Verdict { item: "finding:0".into(), accepted: true }];
    let run = qa.run_id.clone().expect("a run");
    assert_eq!(home.call::<Feedback>(FeedbackParams { source: run, verdicts }).recorded, 1);
    seed_usage(&home, 45);
    (home, daemon, session.id)
}

fn table<'a>(page: &'a Value, caption: &str) -> &'a Value {
    page["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["caption"] == caption))
        .unwrap_or_else(|| panic!("no table {caption:?} in {}", page["text"]))
}

fn keys(table: &Value) -> Vec<String> {
    table["keys"].as_array().expect("keys").iter().map(|k| k.as_str().unwrap_or_default().to_owned()).collect()
}

#[test]
fn the_console_shows_this_machines_record_in_a_real_browser() {
    tests::console::clear_of_midnight(std::time::Duration::from_secs(120));
    let (home, _daemon, session_id) = seeded();
    let (target, address) = paired_console(&home);
    // The browser was given the private redirect page, not the code.
    assert!(target.starts_with("file://") && !target.contains("login="), "{target}");
    let shots = std::env::var("PAIRED_CONSOLE_SCREENSHOTS").ok();
    let report = browse(&json!({
        "login": target, "reuse": address, "filter": {"name": "model", "value": "small"},
        "foreign": true, "screenshots": shots,
    }));
    // Signed in: the code left the address; one HttpOnly, SameSite=Strict cookie; no storage.
    assert!(!report["url_after_login"].as_str().unwrap_or("").contains("login="), "{}", report["url_after_login"]);
    let cookies = report["cookies"].as_array().expect("cookies");
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert_eq!(
        (&cookies[0]["name"], &cookies[0]["httpOnly"], &cookies[0]["sameSite"]),
        (&json!("paired_console"), &json!(true), &json!("Strict"))
    );
    let path = cookies[0]["path"].as_str().unwrap_or("");
    assert!(path.starts_with("/console/") && path.len() > 30, "the cookie is scoped to the secret path: {path}");
    assert_eq!(report["storage"], json!({"local": 0, "session": 0}));
    assert_eq!(report["nav"], json!(["overview", "usage", "cost", "runs", "agents", "policy", "audit"]));
    assert_eq!(report["errors_signed_in"], json!([]), "no script error, no refused request, no CSP violation");

    // What the pages show is what the API says.
    let cookie = sign_in(&home);
    let overview = api(&home, &cookie, "overview?days=30").json();
    let pages = &report["pages"];
    let text = pages["overview"]["text"].as_str().expect("text");
    let runs_this_week = overview["this_week"]["runs"].as_i64().expect("runs");
    assert!(runs_this_week > 20, "{overview}");
    assert!(text.contains(&format!("Agent runs this week\n{runs_this_week}")), "{text}");
    assert!(text.contains("What changed this week") && text.contains("Most used model: cloud/"), "{text}");
    assert!(text.contains("No price is set for local/llama"), "{text}");
    assert_eq!(pages["overview"]["charts"], 4, "runs, tokens, cost, members");

    let usage = api(&home, &cookie, "usage?days=30&by=agent").json();
    let by_agent: Vec<String> = usage["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["key"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(keys(table(&pages["usage"], "Usage by agent")), by_agent);
    assert_eq!(by_agent[0], "completion");
    let sherlock = &table(&pages["usage"], "Usage by agent")["rows"]
        [by_agent.iter().position(|k| k == "sherlock").expect("sherlock")];
    assert_eq!(sherlock[10], "1", "the accepted finding: {sherlock}");

    // Filters change the chart and the table; the CSV is the API's.
    let filter = &report["filter"];
    // The busiest models first; "(none)" is the offline review's runs.
    assert_eq!(filter["before"]["legends"][0], json!(["small", "big", "llama", "(none)"]), "{filter}");
    assert_eq!(filter["after"]["legends"][0], json!(["small"]), "{filter}");
    assert_eq!(keys(&filter["after"]["tables"][0]), vec!["small".to_owned()]);
    let csv = api(&home, &cookie, "usage?days=30&by=model&model=small&format=csv");
    assert_eq!(report["csv"]["text"], csv.body.as_str());
    assert!(csv.body.starts_with("model,runs,errors,tokens_in"), "{}", csv.body);
    assert_eq!(report["csv"]["name"], "paired-usage.csv");

    // Cost: the dear model's pairs first, each with the cheaper model named.
    let cost = table(&pages["cost"], "Agent and model pairs, most expensive first");
    assert_eq!(cost["rows"][0][0], "sherlock · cloud/big");
    assert_eq!(cost["rows"][0][7], "cloud/small");
    assert!(pages["cost"]["text"].as_str().unwrap_or("").contains("would have cost"), "{}", pages["cost"]["text"]);

    // Runs: the real workflow's timeline, board and the run's findings.
    assert!(keys(table(&pages["runs"], "Workflow sessions")).contains(&session_id));
    let session = &pages["session"];
    assert_eq!(session["h1"], "Workflow review");
    let session_text = session["text"].as_str().expect("text");
    assert!(
        session_text.contains("qa — sherlock · review") && session_text.contains("merge — alex · merge"),
        "{session_text}"
    );
    assert!(keys(table(session, "Board")).iter().any(|k| !k.is_empty()));
    let run = &pages["run"];
    assert!(run["h1"].as_str().unwrap_or("").contains(" · "), "{}", run["h1"]);

    assert!(keys(table(&pages["agents"], "The team")).contains(&"sherlock".to_owned()));
    assert!(pages["policy"]["text"].as_str().unwrap_or("").contains("No team policy applies"));
    let audit = keys(table(&pages["audit"], "Audit log, newest first"));
    assert!(!audit.is_empty());
    assert!(table(&pages["audit"], "Audit log, newest first")["rows"][0][2] == "sign-in");

    // Maya's accessibility rules pass on every rendered page.
    for (name, page) in pages.as_object().expect("pages") {
        let html = page["html"].as_str().expect("html");
        let found = agents::skills::accessibility::accessibility("maya", "console.html", html);
        let messages: Vec<&str> = found.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(messages.is_empty(), "Maya on the {name} page: {messages:#?}");
    }
    // The keyboard: the skip link first, then every page in order.
    let keyboard: Vec<&str> = report["keyboard"].as_array().expect("keys").iter().filter_map(Value::as_str).collect();
    assert_eq!(&keyboard[..4], ["a:Skip to content", "button:Sign out", "a:Overview", "a:Usage"], "{keyboard:?}");
    assert_eq!(report["focus_after_link"], "page", "following a link moves focus to the page's content");

    // Another origin on this machine reads nothing, framed or fetched.
    for host in ["127.0.0.1", "localhost"] {
        let seen = &report["foreign"][host];
        assert!(seen["cors"].as_str().unwrap_or("").starts_with("error:"), "{host}: {seen}");
        // Cross-Origin-Resource-Policy: not even an opaque answer.
        assert_eq!(seen["no_cors"], "error: Failed to fetch", "{host}: {seen}");
        assert!(seen["frame"].as_str().unwrap_or("").starts_with("unreadable"), "{host}: {seen}");
    }
    // Signed out, and the one-time code does not sign in again.
    let signed_out = report["signed_out"].as_str().unwrap_or("");
    assert!(signed_out.contains("You are signed out.") && signed_out.contains("Run paired console"), "{signed_out}");
    assert_eq!(report["cookies_after"], json!([]));
    assert!(report["second_use"].as_str().unwrap_or("").contains("did not work"), "{}", report["second_use"]);
}

#[test]
fn every_page_renders_with_no_data() {
    let home = Home::new();
    let _daemon = home.start_daemon();
    let (target, address) = paired_console(&home);
    let report = browse(&json!({"login": target, "reuse": address}));
    assert_eq!(report["errors_signed_in"], json!([]));
    let pages = report["pages"].as_object().expect("pages");
    assert_eq!(pages.len(), 7);
    for (name, page) in pages {
        assert!(!page["h1"].as_str().unwrap_or("").is_empty(), "{name}");
    }
    assert!(pages["overview"]["text"].as_str().unwrap_or("").contains("Nothing ran in the last two weeks."));
    assert!(pages["usage"]["text"].as_str().unwrap_or("").contains("nothing was used"), "{}", pages["usage"]["text"]);
    assert!(pages["runs"]["text"].as_str().unwrap_or("").contains("no workflow has run"));
}

/// The team console of a hub nobody has used yet: an admin signed in
/// through SSO opens every page, and each renders, empty, without an error.
#[test]
fn every_team_page_renders_with_no_data() {
    use tests::{
        hub::{Hub, IdentityProvider, free_port},
        postgres::Postgres,
    };
    let pg = Postgres::get();
    let port = free_port();
    let ada = json!({"email": "ada@example.com", "email_verified": true, "name": "Ada", "groups": []});
    let idp = IdentityProvider::start(
        &format!("http://127.0.0.1:{port}/auth/callback"),
        &json!({"next": "ada", "accounts": {"ada": ada}}),
    );
    let secret = idp.secret_file.display().to_string();
    let hub = Hub::start_with_port(
        &pg,
        "emptyorg",
        port,
        &[
            ("PAIRED_HUB_OIDC_ISSUER", &idp.issuer),
            ("PAIRED_HUB_OIDC_CLIENT_ID", "paired-hub"),
            ("PAIRED_HUB_OIDC_CLIENT_SECRET_FILE", &secret),
        ],
    );
    let invitation = json!({"role": "admin", "email": "ada@example.com"});
    let code = hub.call("POST", "/api/v1/invitations", &hub.admin, Some(&invitation)).json()["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let joined = hub.call("POST", "/api/v1/join", "", Some(&json!({"code": code, "device": "laptop"})));
    assert!(joined.status < 300, "{joined:?}");
    let report = browse(&json!({"sso": format!("http://127.0.0.1:{port}/console/")}));
    assert_eq!(report["errors_signed_in"], json!([]), "{report}");
    assert_eq!(report["nav"], json!(["overview", "usage", "cost", "team", "policy", "audit"]));
    let pages = report["pages"].as_object().expect("pages");
    for (name, page) in pages {
        assert!(!page["h1"].as_str().unwrap_or("").is_empty(), "{name}");
    }
    let text = |page: &str| pages[page]["text"].as_str().unwrap_or("").to_owned();
    assert!(text("overview").contains("Nothing ran in the last two weeks."), "{}", text("overview"));
    assert!(text("usage").contains("nothing was used"), "{}", text("usage"));
    assert!(text("team").contains("Ada"), "{}", text("team"));
}

#[test]
fn the_console_answers_only_its_own_page_with_a_session() {
    let home = Home::new();
    let _daemon = home.start_daemon();
    let port = home.port();
    let host = format!("127.0.0.1:{port}");
    let own = format!("http://127.0.0.1:{port}");
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut all = vec![("Host", host.as_str())];
        all.extend_from_slice(headers);
        http(port, "GET", path, &all, "")
    };
    // The page is anyone's to load, with the rules that keep it safe.
    let page = get("/console/", &[]);
    assert_eq!(page.status, 200);
    let head = page.head.to_ascii_lowercase();
    assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'"), "{head}");
    assert!(head.contains("x-frame-options: deny") && head.contains("x-content-type-options: nosniff"));
    // The data is not: no session, the daemon's own token, a made-up cookie.
    let signed = sign_in(&home);
    let me = format!("{}api/me", signed.base);
    assert!(signed.base.starts_with("/console/") && signed.base.len() > "/console/".len() + 20, "{}", signed.base);
    assert_eq!(get(&me, &[]).status, 401);
    let bearer = format!("Bearer {}", home.token());
    assert_eq!(get(&me, &[("Authorization", &bearer)]).status, 401, "the JSON-RPC token is not a session");
    assert_eq!(get(&me, &[("Cookie", "paired_console=made-up")]).status, 401);
    let with = format!("paired_console={}", signed.cookie);
    assert_eq!(get(&me, &[("Cookie", &with)]).json()["backend"], "daemon");
    // A bogus cookie of the same name beside it (set by another page) does not sign the user out.
    let tossed = format!("paired_console=tossed; {with}");
    assert_eq!(get(&me, &[("Cookie", &tossed)]).status, 200);
    // Only under the secret path: the cookie is scoped to it, so a browser never
    // sends it to a server on another port; elsewhere the session opens nothing.
    assert_eq!(get("/console/api/me", &[("Cookie", &with)]).status, 401);
    assert_eq!(get("/console/other-path/api/me", &[("Cookie", &with)]).status, 404);
    // An old run's page still loads (and then says it is signed out).
    assert_eq!(get("/console/an-old-secret/", &[]).status, 200);
    // Another name for this port (DNS rebinding), another origin, another site's fetch.
    let rebound = http(port, "GET", &me, &[("Host", &format!("attacker.example:{port}")), ("Cookie", &with)], "");
    assert_eq!(rebound.status, 403, "{rebound:?}");
    assert_eq!(get(&me, &[("Cookie", &with), ("Origin", "http://127.0.0.1:1")]).status, 403);
    assert_eq!(get(&me, &[("Cookie", &with), ("Sec-Fetch-Site", "same-site")]).status, 403);
    assert_eq!(get(&me, &[("Cookie", &with), ("Origin", &own)]).status, 200);
    // The cookie opens nothing else on the port.
    let rpc = http(
        port,
        "POST",
        "/",
        &[("Host", &host), ("Cookie", &with), ("Content-Type", "application/json")],
        r#"{"jsonrpc":"2.0","id":1,"method":"daemon/status"}"#,
    );
    assert_eq!(rpc.status, 401, "{rpc:?}");
    // A code is one-time, a wrong one and junk are refused plainly, a big body is cut.
    let login = home.call::<protocol::console::Login>(protocol::NoParams {});
    let session = format!("{}api/session", signed.base);
    let post = |body: &str| {
        http(port, "POST", &session, &[("Host", &host), ("Origin", &own), ("Content-Type", "application/json")], body)
    };
    let first = post(&format!("{{\"code\":\"{}\"}}", login.code));
    assert_eq!(first.status, 200);
    let set = first.head.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie")).expect("cookie");
    let path = format!("Path={}", signed.base);
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains(&path), "{set}");
    assert!(cookie_of(&first.head).is_some());
    assert_eq!(post(&format!("{{\"code\":\"{}\"}}", login.code)).status, 401, "used");
    assert_eq!(post("{\"code\":\"nope\"}").status, 401);
    assert_eq!(post("not json").status, 400);
    assert_eq!(post(&format!("{{\"code\":\"{}\"}}", "x".repeat(100_000))).status, 413);
    let foreign = http(port, "POST", &session, &[("Host", &host), ("Origin", "http://evil.example")], "{}");
    assert_eq!(foreign.status, 403);
    // Sign-out ends the session for good.
    let out = http(port, "DELETE", &session, &[("Host", &host), ("Origin", &own), ("Cookie", &with)], "");
    assert_eq!(out.status, 200);
    assert_eq!(get(&me, &[("Cookie", &with)]).status, 401);
    // Nothing outside the built pages is served.
    assert_eq!(get("/console/%2e%2e/Cargo.toml", &[]).status, 404);
    let climbing = get(&format!("{}api/../../token", signed.base), &[("Cookie", &with)]);
    assert!(climbing.status >= 400 && !climbing.body.contains(&home.token()), "{climbing:?}");
}

#[test]
fn feedback_is_checked_before_it_counts() {
    let home = Home::new();
    let _daemon = home.start_daemon();
    let unknown = FeedbackParams {
        source: "run-nope".into(),
        verdicts: vec![Verdict { item: "finding:0".into(), accepted: true }],
    };
    let err = home.try_call::<Feedback>(unknown).expect_err("an unknown run");
    assert!(err.message.contains("no run or workflow session"), "{err:?}");
    let junk =
        FeedbackParams { source: "run-nope".into(), verdicts: vec![Verdict { item: "line:3".into(), accepted: true }] };
    let err = home.try_call::<Feedback>(junk).expect_err("a junk item");
    assert!(err.message.contains("finding:N"), "{err:?}");
}

/// The team console on the hub: one front-end, the hub's data. People sign in
/// through the organisation's identity provider (node-oidc-provider on
/// loopback) in Chromium; each role sees what the roles table gives it.
#[test]
fn the_team_console_signs_in_with_sso_and_shows_each_role_its_own() {
    tests::console::clear_of_midnight(std::time::Duration::from_secs(120));
    use tests::{
        hub::{Hub, IdentityProvider, free_port},
        postgres::Postgres,
    };
    let pg = Postgres::get();
    let port = free_port();
    let person = |name: &str| json!({"email": format!("{name}@example.com"), "email_verified": true, "name": name, "groups": []});
    let accounts = |next: &str| json!({"next": next, "accounts": {"ada": person("Ada"), "vic": person("Vic"), "tim": person("Tim"), "mo": person("Mo")}});
    let idp = IdentityProvider::start(&format!("http://127.0.0.1:{port}/auth/callback"), &accounts("ada"));
    let secret = idp.secret_file.display().to_string();
    let hub = Hub::start_with_port(
        &pg,
        "consoleorg",
        port,
        &[
            ("PAIRED_HUB_OIDC_ISSUER", &idp.issuer),
            ("PAIRED_HUB_OIDC_CLIENT_ID", "paired-hub"),
            ("PAIRED_HUB_OIDC_CLIENT_SECRET_FILE", &secret),
        ],
    );
    let call = |method: &str, path: &str, token: &str, body: Value| {
        let reply = hub.call(method, path, token, Some(&body));
        assert!(reply.status < 300, "{method} {path}: {reply:?}");
        if reply.body.is_empty() { Value::Null } else { reply.json() }
    };
    let eng = call("POST", "/api/v1/teams", &hub.admin, json!({"name": "engineering"}))["id"].as_i64().expect("team");
    let ops = call("POST", "/api/v1/teams", &hub.admin, json!({"name": "operations"}))["id"].as_i64().expect("team");
    // Members invited by address (their first sign-in binds to it); each one's daemon pushes usage.
    let join = |role: &str, name: &str, team: Option<i64>| {
        let email = format!("{}@example.com", name.to_lowercase());
        let code = call("POST", "/api/v1/invitations", &hub.admin, json!({"role": role, "email": email, "team": team}))
            ["code"]
            .as_str()
            .expect("code")
            .to_owned();
        call("POST", "/api/v1/join", "", json!({"code": code, "device": "laptop"}))["token"]
            .as_str()
            .expect("device")
            .to_owned()
    };
    let devices = [
        join("admin", "Ada", Some(eng)),
        join("viewer", "Vic", None),
        join("team_lead", "Tim", Some(eng)),
        join("member", "Mo", Some(ops)),
    ];
    // Someone who names themselves like a placeholder is still themselves.
    let open_code = call("POST", "/api/v1/invitations", &hub.admin, json!({"role": "member", "max_uses": 1}))["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let joined = json!({"code": open_code, "email": "x@example.com", "name": "(deleted members)", "device": "laptop"});
    let impostor = call("POST", "/api/v1/join", "", joined)["token"].as_str().expect("device").to_owned();
    call(
        "PUT",
        "/api/v1/prices",
        &hub.admin,
        json!({"provider": "cloud", "model": "big", "input_per_mtok": 10, "output_per_mtok": 30}),
    );
    call(
        "PUT",
        "/api/v1/prices",
        &hub.admin,
        json!({"provider": "cloud", "model": "small", "input_per_mtok": 0.5, "output_per_mtok": 1.5}),
    );
    let now = jiff::Timestamp::now();
    for (m, device) in devices.iter().enumerate() {
        let events: Vec<Value> = (0..60)
            .map(|i| {
                let at = now - jiff::SignedDuration::from_hours(i * 9 + m as i64);
                let (agent, model) = [("sherlock", "big"), ("edison", "small"), ("completion", "small")][(i as usize + m) % 3];
                json!({"id": format!("m{m}-e{i}"), "at": at.to_string(), "kind": if agent == "completion" { "completion" } else { "run" },
                       "agent": agent, "provider": "cloud", "model": model, "tokens_in": 1000 + 100 * i, "tokens_out": 200,
                       "latency_ms": 300 + 40 * i, "outcome": if i % 11 == 0 { "failed" } else { "succeeded" }, "findings": i % 3, "edits": 0})
            })
            .collect();
        assert_eq!(call("POST", "/api/v1/usage", device, json!({"events": events}))["recorded"], 60);
    }
    let one = json!({"id": "x-1", "at": now.to_string(), "kind": "run", "agent": "sherlock", "outcome": "succeeded"});
    assert_eq!(call("POST", "/api/v1/usage", &impostor, json!({"events": [one]}))["recorded"], 1);
    let console = format!("http://127.0.0.1:{port}/console/");
    // The console's pages are not counted against the address's allowance (a
    // proxy's one address would lock everyone out of sign-in otherwise).
    let host = format!("127.0.0.1:{port}");
    let statuses: Vec<u16> =
        (0..80).map(|_| tests::http(port, "GET", "/console/app.js", &[("Host", &host)], "").status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(tests::http(port, "GET", "/auth/login", &[("Host", &host)], "").status, 303, "sign-in still open");
    // A sign-in is the browser's that started it: a callback handed to another browser is refused.
    let handed = tests::hub::sign_in_until_callback(&format!("http://127.0.0.1:{port}/auth/login"));
    assert!(handed.contains("/auth/callback?"), "{handed}");
    let path = handed.split_once(&host).map(|(_, p)| p).expect("path");
    let replayed = tests::http(port, "GET", path, &[("Host", &host)], "");
    assert_eq!(replayed.status, 400, "{replayed:?}");
    assert!(replayed.body.contains("not started in this browser") && !replayed.head.contains("paired_hub_console"));

    // Ada, an admin: every page, the whole organisation.
    let report = browse(&json!({
        "sso": console, "filter": {"by": "member", "name": "team", "value": "engineering"}, "foreign": true,
        "probe": ["usage?days=30&by=member&team=engineering&format=csv", "audit?limit=5", "overview?days=30"],
    }));
    assert!(report["signed_out_before"].as_str().unwrap_or("").contains("You are signed out."));
    assert_eq!(report["nav"], json!(["overview", "usage", "cost", "team", "policy", "audit"]));
    assert_eq!(report["errors_signed_in"], json!([]));
    // (The identity provider, on another port of the same host, keeps cookies of its own.)
    let ours: Vec<&Value> =
        report["cookies"].as_array().expect("cookies").iter().filter(|c| c["name"] == "paired_hub_console").collect();
    assert_eq!(
        ours,
        [
            &json!({"name": "paired_hub_console", "httpOnly": true, "sameSite": "Strict", "path": "/console/", "value_len": 52})
        ]
    );
    let pages = &report["pages"];
    let overview: Value =
        serde_json::from_str(report["probes"]["overview?days=30"]["body"].as_str().unwrap_or("")).expect("overview");
    assert_eq!(overview["this_week"]["members"], 5, "{overview}");
    let text = pages["overview"]["text"].as_str().unwrap_or("");
    assert!(text.contains(&format!("Agent runs this week\n{}", overview["this_week"]["runs"])), "{text}");
    assert!(text.contains("Active members this week\n5"), "{text}");
    let members = keys(table(&pages["team"], "Members"));
    // Ada's name came with her sign-in; the others have not signed in yet.
    let impostor_label = members.last().cloned().unwrap_or_default();
    assert!(impostor_label.starts_with("(deleted members) (#"), "{members:?}");
    assert_eq!(members[..4], ["Ada", "vic@example.com", "tim@example.com", "mo@example.com"]);
    assert_eq!(table(&pages["team"], "Members")["rows"][2][3], "engineering");
    let by_member = keys(table(&pages["usage"], "Usage by agent"));
    assert_eq!(by_member, ["sherlock", "completion", "edison"], "busiest first");
    // Filters: by member, then only engineering's members; the CSV is the API's.
    let filter = &report["filter"];
    let everyone = ["Ada", "mo@example.com", "tim@example.com", "vic@example.com", impostor_label.as_str()];
    assert_eq!(keys(&filter["before"]["tables"][0]), everyone, "{filter}");
    assert_eq!(keys(&filter["after"]["tables"][0]), ["Ada", "tim@example.com"], "{filter}");
    assert_eq!(filter["after"]["legends"][0], json!(["Ada", "tim@example.com"]));
    let csv = &report["probes"]["usage?days=30&by=member&team=engineering&format=csv"];
    assert_eq!(report["csv"]["text"], csv["body"]);
    assert!(csv["body"].as_str().unwrap_or("").starts_with("member,runs,"));
    let cost = table(&pages["cost"], "Agent and model pairs, most expensive first");
    assert_eq!(cost["rows"][0][0], "sherlock · cloud/big");
    assert_eq!(cost["rows"][0][7], "cloud/small");
    let audit = &report["probes"]["audit?limit=5"];
    assert_eq!(audit["status"], 200);
    assert!(audit["body"].as_str().unwrap_or("").contains("sso.sign_in"), "{audit}");
    for (name, page) in pages.as_object().expect("pages") {
        let found =
            agents::skills::accessibility::accessibility("maya", "console.html", page["html"].as_str().unwrap_or(""));
        assert!(
            found.findings.is_empty(),
            "Maya on the hub's {name} page: {:?}",
            found.findings.iter().map(|f| &f.message).collect::<Vec<_>>()
        );
    }
    for host in ["127.0.0.1", "localhost"] {
        let seen = &report["foreign"][host];
        assert!(seen["cors"].as_str().unwrap_or("").starts_with("error:"), "{host}: {seen}");
        assert!(seen["frame"].as_str().unwrap_or("").starts_with("unreadable"), "{host}: {seen}");
    }
    assert!(!report["cookies_after"].as_array().expect("cookies").contains(&json!("paired_hub_console")), "signed out");

    // Vic, a viewer: no audit page, and its API refuses; names without addresses.
    idp.set_accounts(&accounts("vic"));
    let report = browse(&json!({"sso": console, "probe": ["audit", "team"]}));
    assert_eq!(report["nav"], json!(["overview", "usage", "cost", "team", "policy"]));
    assert_eq!(report["probes"]["audit"]["status"], 403);
    let team: Value = serde_json::from_str(report["probes"]["team"]["body"].as_str().unwrap_or("")).expect("team");
    assert!(team["members"].as_array().expect("members").iter().all(|m| m["email"].is_null()), "{team}");
    assert_eq!(team["invitations"], json!([]));

    // Tim, engineering's lead: engineering's usage only; Mo, a member: his own.
    idp.set_accounts(&accounts("tim"));
    let report = browse(&json!({"sso": console, "probe": ["usage?days=30&by=member"], "stay": true}));
    let usage: Value = serde_json::from_str(report["probes"]["usage?days=30&by=member"]["body"].as_str().unwrap_or(""))
        .expect("usage");
    let seen: Vec<&str> = usage["rows"].as_array().expect("rows").iter().filter_map(|r| r["key"].as_str()).collect();
    assert_eq!(seen, ["Ada", "Tim"], "engineering's two; Tim named by his sign-in");
    idp.set_accounts(&accounts("mo"));
    let report = browse(&json!({"sso": console, "probe": ["usage?days=30&by=member"], "stay": true}));
    let usage: Value = serde_json::from_str(report["probes"]["usage?days=30&by=member"]["body"].as_str().unwrap_or(""))
        .expect("usage");
    let seen: Vec<&str> = usage["rows"].as_array().expect("rows").iter().filter_map(|r| r["key"].as_str()).collect();
    assert_eq!(seen, ["Mo"]);
    // Deactivating Mo ends his console session (reactivating does not bring it back).
    let database = hub.database_url.rsplit("dbname=").next().unwrap_or("").trim().to_owned();
    let sessions = |email: &str| {
        let sql = format!(
            "select count(*) from console_sessions s join members m on m.id = s.member_id where m.email = '{email}'"
        );
        pg.sql(&database, &sql)
    };
    assert_eq!(sessions("mo@example.com"), "1");
    let members = call("GET", "/api/v1/members", &hub.admin, Value::Null);
    let mo = members["members"].as_array().expect("members").iter().find(|m| m["email"] == "mo@example.com");
    let mo = mo.expect("mo")["id"].as_i64().expect("id");
    call("POST", &format!("/api/v1/members/{mo}/deactivate"), &hub.admin, Value::Null);
    assert_eq!(sessions("mo@example.com"), "0");
}

/// The team console's usage, read from rollups cut by day and by calendar
/// month (with and without the other dimensions), equals the raw events it
/// was made from — for periods with and without whole months, grouped and
/// filtered every way, accepted counts changed after the events came
/// included — and still does once a member's personal data is deleted.
#[test]
fn the_team_consoles_rollups_add_up_to_the_events() {
    tests::console::clear_of_midnight(std::time::Duration::from_secs(120));
    use tests::{hub::Hub, postgres::Postgres};
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "rollups");
    let database = hub.database_url.rsplit("dbname=").next().unwrap_or("").trim().to_owned();
    // Nine members in two teams (the ninth in none), 420 days of events in
    // two batches (the second adds to rows the first made); latency 4 s for
    // events older than 60 days, 0.1 s after, so a period's median says
    // whether its whole months were counted.
    pg.sql(
        &database,
        "insert into teams (org_id, name) select id, t from orgs, unnest(array['eng', 'ops']) t;
         insert into members (org_id, email, display_name, role, email_verified)
           select o.id, 'p' || g || '@example.com', 'P' || g, case when g = 1 then 'admin' else 'member' end, true
             from orgs o, generate_series(1, 9) g;
         insert into team_members (team_id, member_id)
           select t.id, m.id from members m join teams t on t.name = case when m.display_name in ('P1', 'P3', 'P5', 'P7') then 'eng' else 'ops' end
            where m.display_name <> 'P9';
         create temporary table seed as
           select m.org_id, m.id as member_id,
                  coalesce((select array_agg(team_id) from team_members where member_id = m.id), '{}') as team_ids,
                  'r' || g as event_id, now() - (g % 420) * interval '1 day' - (g % 7) * interval '1 hour' as at,
                  (array['run', 'completion', 'workflow'])[g % 3 + 1] as kind,
                  (array['sherlock', 'edison', 'maya', 'review'])[g % 4 + 1] as agent, 'cloud' as provider,
                  (array['big', 'small'])[g / 5 % 2 + 1] as model, g % 900 as tokens_in, g % 300 as tokens_out,
                  (g % 900) * 0.0001 as cost_usd, case when g % 420 > 60 then 4000 else 100 end as latency_ms,
                  case when g % 13 = 0 then 'failed' else 'succeeded' end as outcome, g % 3 as findings, g % 2 as edits
             from generate_series(1, 20000) g join members m on m.display_name = 'P' || (g % 9 + 1);
         insert into usage_events (org_id, member_id, team_ids, event_id, at, kind, agent, provider, model, tokens_in,
                                   tokens_out, cost_usd, latency_ms, outcome, findings, edits)
           select * from seed where event_id < 'r5';
         insert into usage_events (org_id, member_id, team_ids, event_id, at, kind, agent, provider, model, tokens_in,
                                   tokens_out, cost_usd, latency_ms, outcome, findings, edits)
           select * from seed where event_id >= 'r5';
         update usage_events set accepted = 2 where event_id like 'r2%';
         update usage_events set accepted = findings where event_id like 'r2%' or event_id like 'r3%';
         insert into console_sessions (id_hash, org_id, member_id, expires_at)
           select sha256('rollup-session'::bytea), org_id, id, now() + interval '1 hour'
             from members where display_name = 'P1';
         update members set role = 'team_lead' where display_name = 'P3';
         insert into console_sessions (id_hash, org_id, member_id, expires_at)
           select sha256('rollup-lead'::bytea), org_id, id, now() + interval '1 hour'
             from members where display_name = 'P3';
         insert into console_sessions (id_hash, org_id, member_id, expires_at)
           select sha256('rollup-own'::bytea), org_id, id, now() + interval '1 hour'
             from members where display_name = 'P4';",
    );
    let host = format!("127.0.0.1:{}", hub.port);
    // `lead:` as P3, eng's team lead; `own:` as P4, a member; else as P1, an admin.
    let get = |query: &str| {
        let (cookie, query) = match query.split_once(": ") {
            Some(("lead", query)) => ("paired_hub_console=rollup-lead", query),
            Some(("own", query)) => ("paired_hub_console=rollup-own", query),
            _ => ("paired_hub_console=rollup-session", query),
        };
        let headers = [("Host", host.as_str()), ("Cookie", cookie)];
        let reply = http(hub.port, "GET", &format!("/console/api/usage?{query}"), &headers, "");
        assert_eq!(reply.status, 200, "{query}: {reply:?}");
        reply.json()
    };
    // `key|runs|errors|tokens_in|tokens_out|findings|edits|accepted|cost|median ms` per key, from the raw events.
    let expected = |days: i64, key: &str, filter: &str| {
        let sql = format!(
            "select {key}, count(*), count(*) filter (where outcome = 'failed'), sum(tokens_in), sum(tokens_out),
                    sum(findings), sum(edits), sum(accepted), round(sum(cost_usd), 4),
                    percentile_disc(0.5) within group (order by latency_ms)
               from usage_events e join members m on m.id = e.member_id
               left join lateral unnest(e.team_ids) as t(team) on true left join teams tm on tm.id = t.team
              where (e.at at time zone 'UTC')::date > (now() at time zone 'UTC')::date - {days} {filter}
              group by 1 order by 1"
        );
        pg.sql(&database, &sql).lines().map(str::to_owned).collect::<Vec<_>>()
    };
    let seen = |usage: &Value| {
        let mut rows: Vec<String> = usage["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                let median = r["latency_p50_ms"].as_f64().unwrap_or(0.0);
                // Medians are a histogram's (buckets 2^(1/4) wide): said as the event's value it is near.
                let median = if median > 1000.0 { 4000 } else { 100 };
                format!(
                    "{}|{}|{}|{}|{}|{}|{}|{}|{:.4}|{median}",
                    r["key"].as_str().unwrap_or(""),
                    r["runs"],
                    r["errors"],
                    r["tokens_in"],
                    r["tokens_out"],
                    r["findings"],
                    r["edits"],
                    r["accepted"],
                    r["cost_usd"].as_f64().unwrap_or(0.0)
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let cases = [
        ("by=member", "m.display_name", ""),
        ("by=team", "coalesce(tm.name, '(no team)')", ""),
        ("by=team&agent=maya", "coalesce(tm.name, '(no team)')", "and e.agent = 'maya'"),
        ("by=agent&member=P2", "e.agent", "and m.display_name = 'P2'"),
        ("by=kind&team=eng", "e.kind", "and tm.name = 'eng'"),
        ("by=member&team=ops", "m.display_name", "and tm.name = 'ops'"),
        ("by=model", "e.model", ""),
        ("lead: by=agent", "e.agent", "and tm.name = 'eng'"),
        ("lead: by=member", "m.display_name", "and tm.name = 'eng'"),
        ("lead: by=kind&agent=edison", "e.kind", "and tm.name = 'eng' and e.agent = 'edison'"),
        ("own: by=agent", "e.agent", "and m.display_name = 'P4'"),
        ("own: by=model&kind=run", "e.model", "and m.display_name = 'P4' and e.kind = 'run'"),
    ];
    for days in [30, 90, 365, 400] {
        for (query, key, filter) in cases {
            let query = match query.split_once(": ") {
                Some((who, query)) => format!("{who}: days={days}&{query}"),
                None => format!("days={days}&{query}"),
            };
            let usage = get(&query);
            assert_eq!(seen(&usage), expected(days, key, filter), "{query}");
            // The chart's days add up to its keys' runs.
            let charted: i64 = usage["series"]["runs"]
                .as_array()
                .expect("runs")
                .iter()
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(Value::as_i64)
                .sum();
            let keys = usage["series"]["keys"].as_array().expect("keys");
            let runs: i64 = usage["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .filter(|r| keys.contains(&r["key"]))
                .filter_map(|r| r["runs"].as_i64())
                .sum();
            assert_eq!(charted, runs, "{query}");
        }
    }
    // The lead's and the member's overview and cost count their events too.
    for (cookie, filter) in [("rollup-lead", "and tm.name = 'eng'"), ("rollup-own", "and m.display_name = 'P4'")] {
        let headers = [("Host", host.as_str()), ("Cookie", &format!("paired_hub_console={cookie}") as &str)];
        let page = |path: &str| http(hub.port, "GET", &format!("/console/api/{path}"), &headers, "").json();
        let total = |v: &Value, list: &str, fields: &[&str]| -> i64 {
            v[list]
                .as_array()
                .expect(list)
                .iter()
                .map(|r| fields.iter().filter_map(|f| r[*f].as_i64()).sum::<i64>())
                .sum()
        };
        let events: i64 =
            expected(365, "'all'", filter)[0].split('|').nth(1).and_then(|n| n.parse().ok()).unwrap_or(-1);
        assert_eq!(
            total(&page("overview?days=365"), "days", &["runs", "workflows", "completions"]),
            events,
            "{cookie}"
        );
        assert_eq!(total(&page("cost?days=365"), "rows", &["runs"]), events, "{cookie}");
    }
    // P9's personal data deleted: the organisation's numbers stay, P9's join the deleted members'.
    let mut before = expected(365, "m.display_name", "");
    let p9 = pg.sql(&database, "select id from members where display_name = 'P9'");
    assert!(hub.call("DELETE", &format!("/api/v1/members/{}", p9.trim()), &hub.admin, None).status < 300);
    let after = seen(&get("days=365&by=member"));
    for row in &mut before {
        if let Some(rest) = row.strip_prefix("P9|") {
            *row = format!("(deleted members)|{rest}");
        }
    }
    before.sort();
    assert_eq!(after, before);
}
