//! The organisation's private agent registry on the hub (issue #20.6): made by
//! an admin, published to by team leads from their machines, checked and
//! certified by the hub whatever was uploaded, yanked and curated with roles,
//! served from PostgreSQL by any replica, and set up on members' daemons by
//! joining — who install from it with their device token, and no one else can.

use serde_json::Value;
use tests::{hub::Hub, postgres::Postgres};

use super::hub::{Machine, member};

/// An agent folder that passes the hub's checks (a manifest, a fixture, a case).
pub fn agent_folder(dir: &std::path::Path, id: &str, version: &str) -> std::path::PathBuf {
    super::market::agent(dir, id, version, "fs_read = [\"**\"]")
}

/// A package's bytes, as `paired market pack` makes them.
pub fn package(dir: &std::path::Path, id: &str, version: &str) -> Vec<u8> {
    market::archive::pack(&agent_folder(dir, id, version)).expect("pack")
}

/// The JSON a command printed (its output and errors are read together).
fn first_json(out: &str) -> Value {
    let start = out.find('{').unwrap_or_else(|| panic!("no JSON in {out}"));
    serde_json::Deserializer::from_str(&out[start..]).into_iter::<Value>().next().expect("a value").expect("json")
}

fn registry(hub: &Hub) -> Value {
    let reply = hub.call("GET", "/api/v1/registry", &hub.admin, None);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organisations_registry_is_managed_on_the_hub_and_installed_from_by_members() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "registry");
    let lead = Machine::new("ok", "").await;
    let lead_id = lead.join_as(&hub, "team_lead", "lead@example.com");

    // No registry yet: said plainly; a team lead may not create one.
    let folder = agent_folder(lead.home.path(), "panic-finder", "1.0.0");
    let folder = folder.to_str().expect("utf-8");
    let (status, out) = lead.paired(&["team", "publish", folder]);
    assert_ne!(status, Some(0));
    assert!(out.contains("has no agent registry") || out.contains("agent registry (an admin creates it"), "{out}");
    let (status, out) = lead.paired(&["team", "create-registry"]);
    assert_ne!(status, Some(0));
    assert!(out.contains("a team_lead may not create the organisation's private agent registry"), "{out}");

    let created = hub.call("POST", "/api/v1/registry", &hub.admin, None);
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.json()["root"]["signed"]["_type"], "root");
    assert_eq!(hub.call("POST", "/api/v1/registry", &hub.admin, None).status, 409, "one registry per organisation");

    // The team lead publishes from their machine; the hub certifies it.
    let (status, out) = lead.paired(&["team", "publish", folder, "--json"]);
    assert_eq!(status, Some(0), "{out}");
    let published = first_json(&out);
    assert_eq!(
        (published["name"].as_str(), published["publisher"].as_str(), published["certification"].as_str()),
        (Some("panic-finder"), Some("registry"), Some("tested")),
        "{published}"
    );
    let (status, out) = lead.paired(&["team", "publish", folder]);
    assert_ne!(status, Some(0));
    assert!(out.contains("already published"), "{out}");

    // What the hub takes is checked there, whatever the uploader ran: an
    // archive escaping its folder, a failing test case, garbage.
    let before = registry(&hub);
    // A release pipeline's token, for the raw API.
    let lead_token = member(&hub, "team_lead", "ci@example.com", None).token;
    let escaping = super::market::hostile_tgz(&[("../../evil.sh", tar::EntryType::Regular, b"rm -rf ~", "")]);
    let failing = {
        let folder = agent_folder(lead.home.path(), "panic-finder", "1.0.1");
        std::fs::write(folder.join("fixtures/sample.rs"), "pub fn f() {}\n").expect("write");
        market::archive::pack(&folder).expect("pack")
    };
    let built = package(lead.home.path(), "panic-finder", "1.0.2+ci.7");
    let proves_nothing = {
        let folder = agent_folder(lead.home.path(), "panic-finder", "1.0.3");
        std::fs::write(folder.join("tests/unwrap.toml"), "skill = \"review\"\nfile = \"fixtures/sample.rs\"\n")
            .expect("write");
        market::archive::pack(&folder).expect("pack")
    };
    for (bytes, why) in [
        (escaping, "must stay inside"),
        (failing, "does not pass"),
        (built, "build metadata"),
        (proves_nothing, "must expect at least one rule id"),
        (b"not gzip at all".to_vec(), "gzip"),
        (Vec::new(), "send the agent package"),
    ] {
        let reply = hub.send("POST", "/api/v1/registry/packages", &lead_token, "application/gzip", &bytes);
        assert_eq!(reply.status, 400, "{why}: {reply:?}");
        assert!(reply.json()["error"]["message"].as_str().is_some_and(|m| m.contains(why)), "{why}: {reply:?}");
    }
    assert_eq!(registry(&hub)["packages"], before["packages"], "nothing refused reached the registry");

    // A member's daemon joined after the registry existed: it is `team` there,
    // installed from with the device token; the member may not publish.
    let ada = Machine::new("ok", "").await;
    ada.join_as(&hub, "member", "ada@example.com");
    let _daemon = ada.daemon();
    let (status, out) = ada.paired(&["market", "install", "panic-finder", "--yes", "--json"]);
    assert_eq!(status, Some(0), "{out}\n{:?}", ada.paired(&["team", "status", "--json"]));
    let installed = first_json(&out);
    assert_eq!((installed["registry"].as_str(), installed["version"].as_str()), (Some("team"), Some("1.0.0")));
    let (status, out) = ada.paired(&["team", "publish", folder]);
    assert_ne!(status, Some(0));
    assert!(out.contains("a member may not publish"), "{out}");

    // Without a member's token the registry is not readable.
    for token in ["", "phub_dev_forged"] {
        let reply = hub.call("GET", "/api/v1/registry/repository/metadata/timestamp.json", token, None);
        assert_eq!(reply.status, 401, "{reply:?}");
    }

    // Curated and yanked by the team lead? Only admins and managers.
    let (status, out) = lead.paired(&["team", "yank", "panic-finder@1.0.0"]);
    assert_ne!(status, Some(0));
    assert!(out.contains("a team_lead may not yank"), "{out}");
    let manager = Machine::new("ok", "").await;
    manager.join_as(&hub, "manager", "max@example.com");
    let (status, out) = manager.paired(&["team", "curate", "panic-finder@1.0.0", "--json"]);
    assert_eq!(status, Some(0), "{out}");
    let (status, out) = manager.paired(&["team", "yank", "panic-finder@1.0.0", "--json"]);
    assert_eq!(status, Some(0), "{out}");
    let listed = &registry(&hub)["packages"][0];
    assert_eq!((listed["curated"].as_bool(), listed["yanked"].as_bool()), (Some(true), Some(true)), "{listed}");
    // The yank reaches the member's daemon through TUF: no longer offered.
    let (status, out) = ada.paired(&["market", "install", "panic-finder@1.0.0", "--yes"]);
    assert_ne!(status, Some(0));
    assert!(out.contains("was yanked"), "{out}");

    // Two replicas publishing at once: the registry's lock makes them take
    // turns, and neither version is lost.
    // A package is its first publisher's: another team lead may not publish
    // it (a manager may).
    let refused = hub.send(
        "POST",
        "/api/v1/registry/packages",
        &lead_token,
        "application/gzip",
        &package(lead.home.path(), "panic-finder", "1.0.9"),
    );
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(refused.body.contains("first published by another member"), "{refused:?}");
    let manager_token = member(&hub, "manager", "release@example.com", None).token;
    let replica = Hub::start_on(&hub.database_url, "registry");
    let packages = tempfile::tempdir().expect("temp dir");
    let (a, b) = (package(packages.path(), "panic-finder", "1.1.0"), package(packages.path(), "panic-finder", "1.2.0"));
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| hub.send("POST", "/api/v1/registry/packages", &manager_token, "application/gzip", &a));
        let second =
            s.spawn(|| replica.send("POST", "/api/v1/registry/packages", &manager_token, "application/gzip", &b));
        (first.join().expect("first"), second.join().expect("second"))
    });
    assert_eq!((first.status, second.status), (201, 201), "{first:?} {second:?}");
    let versions: Vec<String> = registry(&replica)["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| p["version"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(versions, ["1.0.0", "1.1.0", "1.2.0"]);
    let (status, out) = ada.paired(&["market", "install", "panic-finder", "--yes", "--json"]);
    assert_eq!(status, Some(0), "{out}");
    assert_eq!(first_json(&out)["version"], "1.2.0");

    // Signatures about to run out are renewed when a daemon next reads the
    // timestamp, by whichever replica it asks.
    let timestamp = |hub: &Hub| {
        let reply = hub.call("GET", "/api/v1/registry/repository/metadata/timestamp.json", &lead_token, None);
        assert_eq!(reply.status, 200, "{reply:?}");
        let json = reply.json();
        (json["signed"]["version"].as_i64().expect("version"), json["signed"]["expires"].as_str().map(str::to_owned))
    };
    let (version, expires) = timestamp(&hub);
    assert_eq!(timestamp(&replica), (version, expires.clone()), "nothing due: nothing re-signed");
    let db = hub.database_url.rsplit("dbname=").next().expect("dbname").to_owned();
    pg.sql(&db, "update registries set expires_at = now() + interval '1 hour'");
    let (renewed, _) = timestamp(&replica);
    assert_eq!(renewed, version + 1);
    assert_eq!(timestamp(&hub).0, renewed, "re-signed once");
    // The member's machine verifies the renewed metadata against the pinned root.
    let (status, out) = ada.paired(&["market", "refresh", "--registry", "team", "--json"]);
    assert_eq!(status, Some(0), "{out}");
    let refreshed = first_json(&format!("{{\"r\": {}}}", &out[out.find('[').unwrap_or(0)..]));
    assert_eq!(refreshed["r"][0]["packages"], 3, "{out}");
    assert!(refreshed["r"][0]["error"].is_null(), "{out}");

    // Every edit signs new metadata; old versions go (16 of each kept), so a
    // registry edited all year does not grow with it. Clients notice nothing.
    for n in 0..24 {
        let path = "/api/v1/registry/packages/panic-finder/1.1.0/curate";
        let reply = hub.call("POST", path, &hub.admin, Some(&serde_json::json!({"curated": n % 2 == 0})));
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let kept = pg.sql(&db, "select count(*) from registry_files where path ~ '^metadata/[0-9]+\\.targets\\.json$'");
    assert_eq!(kept, "17", "the newest and 16 before it");
    let (status, out) = ada.paired(&["market", "refresh", "--registry", "team", "--json"]);
    assert!(status == Some(0) && !out.contains("\"error\""), "{out}");

    // Exported as static files (for a web server or an object store), it is a
    // registry like any other: someone not on the hub installs from a copy.
    let exported = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(tests::hub::hub_bin())
        .args(["export-registry", "--org", "registry", "--database-url", &hub.database_url])
        .arg("--policy-key-file")
        .arg(tests::hub::policy_key(&hub.database_url))
        .arg("--out")
        .arg(exported.path())
        .output()
        .expect("export");
    assert!(out.status.success(), "{out:?}");
    let server = tests::static_server::StaticServer::start(exported.path().join("repository"));
    let outsider = tests::Home::new();
    outsider.write_config(&format!(
        "[market]\nrefresh_secs = 0\n[[market.registries]]\nname = \"acme\"\nurl = \"{}\"\nroot = \"{}\"\n",
        server.url(),
        exported.path().join("root.json").display()
    ));
    let out = outsider.paired(&["market", "install", "panic-finder", "--yes", "--json"]).output().expect("install");
    let _ = outsider.paired(&["stop"]).output();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(first_json(&String::from_utf8_lossy(&out.stdout))["version"], "1.2.0");

    // Every change is in the audit log, by who made it; the tokens the CLI
    // made for one change are revoked after it.
    let audit = hub.call("GET", "/api/v1/audit", &hub.admin, None).json();
    let actions: Vec<&str> =
        audit["entries"].as_array().expect("entries").iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["registry.init", "registry.publish", "registry.curate", "registry.yank"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let made = hub.call("GET", &format!("/api/v1/members/{lead_id}/tokens"), &hub.admin, None).json();
    let one_change: Vec<&Value> =
        made["tokens"].as_array().expect("tokens").iter().filter(|t| t["name"] == "paired team (one change)").collect();
    assert!(!one_change.is_empty() && one_change.iter().all(|t| t["revoked"] == true), "{made}");
}
