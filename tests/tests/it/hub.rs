//! `paired hub` on a real PostgreSQL: roles enforced per endpoint, invitations
//! and joining, deactivation, personal-data deletion, the audit log, replicas
//! sharing one database, and bad input.

use serde_json::{Value, json};
use tests::{hub::Hub, postgres::Postgres};

/// A member made through the API as a user would: invited, joined (a device
/// token), then a personal token with both scopes.
pub(crate) struct Member {
    pub id: i64,
    pub device: String,
    pub token: String,
    pub token_id: i64,
}

pub(crate) fn invite(hub: &Hub, by: &str, role: &str, email: &str, team: Option<i64>) -> String {
    let reply = hub.call("POST", "/api/v1/invitations", by, Some(&json!({"role": role, "email": email, "team": team})));
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.json()["code"].as_str().expect("code").to_owned()
}

fn join(hub: &Hub, code: &str, email: Option<&str>) -> tests::HttpReply {
    hub.call("POST", "/api/v1/join", "", Some(&json!({"code": code, "email": email, "device": "laptop"})))
}

pub(crate) fn member(hub: &Hub, role: &str, email: &str, team: Option<i64>) -> Member {
    let code = invite(hub, &hub.admin, role, email, team);
    let joined = join(hub, &code, None);
    assert_eq!(joined.status, 201, "{joined:?}");
    let joined = joined.json();
    let device = joined["token"].as_str().expect("device token").to_owned();
    assert!(device.starts_with("phub_dev_"));
    let made = hub.call("POST", "/api/v1/tokens", &device, Some(&json!({"name": "cli", "scopes": ["read", "write"]})));
    assert_eq!(made.status, 201, "{made:?}");
    let made = made.json();
    Member {
        id: joined["member"]["id"].as_i64().expect("member id"),
        device,
        token: made["token"].as_str().expect("token").to_owned(),
        token_id: made["id"].as_i64().expect("token id"),
    }
}

/// A usage event as a daemon sends one.
fn usage_event(id: &str) -> Value {
    json!({
        "id": id, "at": jiff::Timestamp::now().to_string(), "kind": "run", "agent": "sherlock", "skill": "review",
        "provider": "openai", "model": "gpt-test", "tokens_in": 1000, "tokens_out": 500,
        "latency_ms": 1200, "outcome": "succeeded", "findings": 3, "edits": 0,
    })
}

fn team(hub: &Hub, name: &str) -> i64 {
    let reply = hub.call("POST", "/api/v1/teams", &hub.admin, Some(&json!({"name": name})));
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.json()["id"].as_i64().expect("team id")
}

fn audit(hub: &Hub, query: &str) -> Vec<Value> {
    let reply = hub.call("GET", &format!("/api/v1/audit{query}"), &hub.admin, None);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["entries"].as_array().expect("entries").clone()
}

/// Every role × every endpoint: what the roles table grants succeeds, the rest
/// is refused with 403. The list of endpoints is the hub's own (`/api/v1/roles`):
/// an endpoint added without a line here fails the test.
#[test]
fn every_role_is_checked_on_every_endpoint() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "rolecheck");
    let roles = ["admin", "manager", "team_lead", "member", "viewer"];
    let matrix = hub.call("GET", "/api/v1/roles", &hub.admin, None).json();
    let actions = matrix["actions"].as_array().expect("actions");
    // A quota, so that leases are real rows (without one, a lease is unlimited and has no id).
    let quota = json!({"subject_kind": "org", "subject": "org", "metric": "runs", "period": "day", "limit": 1e9});
    assert_eq!(hub.call("PUT", "/api/v1/quotas", &hub.admin, Some(&quota)).status, 200);
    assert_eq!(hub.call("POST", "/api/v1/registry", &hub.admin, None).status, 201);
    let packages = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    for role in roles {
        let own_team = team(&hub, &format!("team-of-{role}"));
        let who = member(&hub, role, &format!("{role}@example.com"), Some(own_team));
        for action in actions {
            n += 1;
            let name = action["action"].as_str().expect("name");
            // Fresh things to act on, so that each request can succeed when allowed.
            let other = member(&hub, "viewer", &format!("target{n}@example.com"), Some(own_team));
            let spare_team = team(&hub, &format!("spare{n}"));
            let mine = hub.call(
                "POST",
                "/api/v1/tokens",
                &who.token,
                Some(&json!({"name": format!("t{n}"), "scopes": ["read"]})),
            );
            let mine = mine.json()["id"].as_i64().expect("own token");
            let invitation = hub.call(
                "POST",
                "/api/v1/invitations",
                &hub.admin,
                Some(&json!({"role": "viewer", "email": format!("invited{n}@example.com")})),
            );
            let invitation = invitation.json()["id"].as_i64().expect("invitation");
            let lease_body = json!({"agent": "alex", "provider": "p", "runs": 1, "tokens": 10});
            let lease = hub.call("POST", "/api/v1/quota/lease", &who.token, Some(&lease_body)).json()["lease"].as_i64();
            let spare_quota = hub.call(
                "PUT",
                "/api/v1/quotas",
                &hub.admin,
                Some(&json!({"subject_kind": "agent", "subject": format!("spare{n}"), "metric": "runs", "period": "day", "limit": 5})),
            );
            let spare_quota = spare_quota.json()["id"].as_i64().expect("quota");
            let (method, path, body) = match name {
                "org.read" => ("GET", "/api/v1/org".to_owned(), None),
                "me.read" => ("GET", "/api/v1/me".to_owned(), None),
                "roles.read" => ("GET", "/api/v1/roles".to_owned(), None),
                "teams.list" => ("GET", "/api/v1/teams".to_owned(), None),
                "teams.create" => ("POST", "/api/v1/teams".to_owned(), Some(json!({"name": format!("new{n}")}))),
                "teams.delete" => ("DELETE", format!("/api/v1/teams/{spare_team}"), None),
                "teams.members.add" => {
                    hub.call("DELETE", &format!("/api/v1/teams/{own_team}/members/{}", other.id), &hub.admin, None);
                    ("PUT", format!("/api/v1/teams/{own_team}/members/{}", other.id), None)
                }
                "teams.members.remove" => ("DELETE", format!("/api/v1/teams/{own_team}/members/{}", other.id), None),
                "members.list" => ("GET", "/api/v1/members".to_owned(), None),
                "members.set_role" => {
                    ("PUT", format!("/api/v1/members/{}/role", other.id), Some(json!({"role": "viewer"})))
                }
                "members.deactivate" => ("POST", format!("/api/v1/members/{}/deactivate", other.id), None),
                "members.reactivate" => {
                    hub.call("POST", &format!("/api/v1/members/{}/deactivate", other.id), &hub.admin, None);
                    ("POST", format!("/api/v1/members/{}/reactivate", other.id), None)
                }
                "members.erase" => ("DELETE", format!("/api/v1/members/{}", other.id), None),
                "invitations.create" => (
                    "POST",
                    "/api/v1/invitations".to_owned(),
                    Some(json!({"role": "viewer", "team": own_team, "email": format!("new{n}@example.com")})),
                ),
                "invitations.list" => ("GET", "/api/v1/invitations".to_owned(), None),
                "invitations.revoke" => ("DELETE", format!("/api/v1/invitations/{invitation}"), None),
                "tokens.create" => {
                    ("POST", "/api/v1/tokens".to_owned(), Some(json!({"name": format!("made{n}"), "scopes": ["read"]})))
                }
                "tokens.list" => ("GET", "/api/v1/tokens".to_owned(), None),
                "tokens.revoke" => ("DELETE", format!("/api/v1/tokens/{mine}"), None),
                "tokens.list_any" => ("GET", format!("/api/v1/members/{}/tokens", other.id), None),
                "tokens.revoke_any" => {
                    ("DELETE", format!("/api/v1/members/{}/tokens/{}", other.id, other.token_id), None)
                }
                "audit.read" => ("GET", "/api/v1/audit".to_owned(), None),
                "usage.push" => {
                    ("POST", "/api/v1/usage".to_owned(), Some(json!({"events": [usage_event(&format!("e{n}"))]})))
                }
                "usage.read" => ("GET", format!("/api/v1/usage?team={own_team}&by=day"), None),
                "usage.own" => ("GET", "/api/v1/me/usage".to_owned(), None),
                "policy.read" => ("GET", "/api/v1/policy".to_owned(), None),
                "policies.list" => ("GET", "/api/v1/policies".to_owned(), None),
                "policies.set" => ("PUT", "/api/v1/policies".to_owned(), Some(json!({"scope": "org", "rules": {}}))),
                "teams.map_group" => {
                    ("PUT", format!("/api/v1/teams/{spare_team}/sso-group"), Some(json!({"group": format!("g{n}")})))
                }
                "quotas.list" => ("GET", "/api/v1/quotas".to_owned(), None),
                "quotas.set" => (
                    "PUT",
                    "/api/v1/quotas".to_owned(),
                    Some(
                        json!({"subject_kind": "agent", "subject": format!("a{n}"), "metric": "tokens", "period": "month", "limit": 1000}),
                    ),
                ),
                "quotas.delete" => ("DELETE", format!("/api/v1/quotas/{spare_quota}"), None),
                "quota.lease" => ("POST", "/api/v1/quota/lease".to_owned(), Some(lease_body.clone())),
                "quota.release" => (
                    "POST",
                    "/api/v1/quota/release".to_owned(),
                    Some(json!({"lease": lease.expect("a lease"), "runs_used": 1, "tokens_used": 5})),
                ),
                "quota.own" => ("GET", "/api/v1/me/quota".to_owned(), None),
                "prices.read" => ("GET", "/api/v1/prices".to_owned(), None),
                "prices.write" => (
                    "PUT",
                    "/api/v1/prices".to_owned(),
                    Some(json!({"provider": "p", "model": "m", "input_per_mtok": 1.5, "output_per_mtok": 2})),
                ),
                "registry.init" => {
                    pg.sql(
                        &dbname(&hub),
                        "delete from registry_files; delete from registry_owners; delete from registries",
                    );
                    ("POST", "/api/v1/registry".to_owned(), None)
                }
                "registry.read" => ("GET", "/api/v1/registry".to_owned(), None),
                "registry.fetch" => ("GET", "/api/v1/registry/repository/metadata/timestamp.json".to_owned(), None),
                "registry.publish" => ("POST", "/api/v1/registry/packages".to_owned(), None),
                "registry.yank" | "registry.curate" => {
                    let bytes = super::hub_registry::package(packages.path(), "role-check", &format!("1.0.{n}"));
                    let published =
                        hub.send("POST", "/api/v1/registry/packages", &hub.admin, "application/gzip", &bytes);
                    assert_eq!(published.status, 201, "{published:?}");
                    let (verb, field) =
                        if name == "registry.yank" { ("yank", "yanked") } else { ("curate", "curated") };
                    (
                        "POST",
                        format!("/api/v1/registry/packages/role-check/1.0.{n}/{verb}"),
                        Some(json!({ field: true })),
                    )
                }
                unknown => panic!("the hub offers {unknown}, which this test does not try: add it here"),
            };
            assert_eq!(
                (method, action["path"].as_str().map(|p| p.split('/').count())),
                (action["method"].as_str().expect("method"), Some(path.split('/').count()))
            );
            let allowed = action["roles"].as_array().expect("roles").iter().any(|r| r == role);
            let reply = if name == "registry.publish" {
                // Each role's own package (a team lead publishes only their own).
                let id = format!("role-check-{}", role.replace('_', "-"));
                let bytes = super::hub_registry::package(packages.path(), &id, &format!("2.0.{n}"));
                hub.send(method, &path, &who.token, "application/gzip", &bytes)
            } else {
                hub.call(method, &path, &who.token, body.as_ref())
            };
            if name == "registry.init" && !allowed {
                // The registry the other actions need.
                assert_eq!(hub.call("POST", "/api/v1/registry", &hub.admin, None).status, 201);
            }
            if allowed {
                assert!((200..300).contains(&reply.status), "{role} may {name}: {reply:?}");
            } else {
                assert_eq!(reply.status, 403, "{role} may not {name}: {reply:?}");
                assert!(reply.json()["error"]["message"].as_str().is_some_and(|m| m.contains(role)), "{reply:?}");
            }
        }
    }
    assert_eq!(n, roles.len() * actions.len());
    // The table itself, where it matters most: a viewer changes nothing but
    // their own tokens and usage, only admins erase, set roles and read the audit log.
    for action in actions {
        let (name, method) = (action["action"].as_str().unwrap_or(""), action["method"].as_str().unwrap_or(""));
        let holders = action["roles"].as_array().expect("roles");
        if method != "GET"
            && !name.starts_with("tokens.")
            && !["usage.push", "quota.lease", "quota.release"].contains(&name)
        {
            assert!(!holders.iter().any(|r| r == "viewer"), "{name}");
        }
        if ["members.erase", "members.set_role", "audit.read", "tokens.revoke_any"].contains(&name) {
            assert_eq!(holders, &[json!("admin")], "{name}");
        }
    }
    assert!(actions.len() >= 21, "{actions:?}");
}

#[test]
fn a_team_lead_manages_only_their_own_teams_and_nobody_grants_above_themselves() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "teamlead");
    let (theirs, another) = (team(&hub, "theirs"), team(&hub, "another"));
    let lead = member(&hub, "team_lead", "lead@example.com", Some(theirs));
    let someone = member(&hub, "member", "someone@example.com", None);
    let put = |team: i64| hub.call("PUT", &format!("/api/v1/teams/{team}/members/{}", someone.id), &lead.token, None);
    assert_eq!(put(theirs).status, 204);
    let refused = put(another);
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("only within a team they are in"), "{refused:?}");
    let invite = |body: Value| hub.call("POST", "/api/v1/invitations", &lead.token, Some(&body));
    assert_eq!(invite(json!({"role": "member", "team": theirs})).status, 201);
    assert_eq!(invite(json!({"role": "member", "team": another})).status, 403);
    assert_eq!(invite(json!({"role": "member"})).status, 403, "a team lead invites only into a team");
    assert_eq!(invite(json!({"role": "team_lead", "team": theirs})).status, 403);
    let manager = member(&hub, "manager", "manager@example.com", None);
    let promote = hub.call(
        "PUT",
        &format!("/api/v1/members/{}/role", someone.id),
        &manager.token,
        Some(&json!({"role": "admin"})),
    );
    assert_eq!(promote.status, 403);
    let admin = member(&hub, "admin", "admin@example.com", None);
    let by_manager = hub.call("POST", &format!("/api/v1/members/{}/deactivate", admin.id), &manager.token, None);
    assert_eq!(by_manager.status, 403, "a manager may not deactivate an admin: {by_manager:?}");
}

#[test]
fn an_invitation_is_a_credential_used_once_until_it_expires_or_is_revoked() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "invites");
    let code = invite(&hub, &hub.admin, "member", "ada@example.com", None);
    assert_eq!(join(&hub, &code, Some("eve@example.com")).status, 403, "another address");
    let typed = code.to_lowercase().replace('-', " ");
    let joined = join(&hub, &typed, None);
    assert_eq!(joined.status, 201, "{joined:?}");
    assert_eq!(joined.json()["member"]["email"], "ada@example.com");
    let again = join(&hub, &code, None);
    assert_eq!(again.status, 403);
    assert!(again.body.contains("used, expired or revoked"), "{again:?}");

    // An open code: anyone holding it, twice, each saying who they are.
    let open = hub.call("POST", "/api/v1/invitations", &hub.admin, Some(&json!({"role": "viewer", "max_uses": 2})));
    let code = open.json()["code"].as_str().expect("code").to_owned();
    assert_eq!(join(&hub, &code, None).status, 400, "who is joining?");
    assert_eq!(join(&hub, &code, Some("bo@example.com")).status, 201);
    let taken = join(&hub, &code, Some("ADA@example.com"));
    assert_eq!(taken.status, 409, "an open code cannot take over an existing member: {taken:?}");
    assert_eq!(join(&hub, &code, Some("cy@example.com")).status, 201);
    assert_eq!(join(&hub, &code, Some("di@example.com")).status, 403, "used up");

    let revoked =
        hub.call("POST", "/api/v1/invitations", &hub.admin, Some(&json!({"role": "viewer", "email": "x@example.com"})));
    let revoked = revoked.json();
    let id = revoked["id"].as_i64().expect("id");
    assert_eq!(hub.call("DELETE", &format!("/api/v1/invitations/{id}"), &hub.admin, None).status, 204);
    assert_eq!(join(&hub, revoked["code"].as_str().expect("code"), None).status, 403);

    let expired = invite(&hub, &hub.admin, "viewer", "late@example.com", None);
    pg.sql(
        &dbname(&hub),
        "update invitations set expires_at = now() - interval '1 second' where email = 'late@example.com'",
    );
    assert_eq!(join(&hub, &expired, None).status, 403);
    let pending = hub.call("GET", "/api/v1/invitations", &hub.admin, None).json();
    assert!(pending["invitations"].as_array().expect("list").is_empty(), "{pending}");
}

fn dbname(hub: &Hub) -> String {
    hub.database_url.rsplit("dbname=").next().expect("dbname").to_owned()
}

#[test]
fn deactivation_stops_tokens_and_the_last_admin_cannot_leave() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "deactivate");
    let ada = member(&hub, "member", "ada@example.com", None);
    assert_eq!(hub.call("GET", "/api/v1/me", &ada.token, None).status, 200);
    assert_eq!(hub.call("POST", &format!("/api/v1/members/{}/deactivate", ada.id), &hub.admin, None).status, 200);
    assert_eq!(hub.call("GET", "/api/v1/me", &ada.token, None).status, 401);
    assert_eq!(hub.call("GET", "/api/v1/me", &ada.device, None).status, 401);
    assert_eq!(hub.call("POST", &format!("/api/v1/members/{}/reactivate", ada.id), &hub.admin, None).status, 200);
    assert_eq!(hub.call("GET", "/api/v1/me", &ada.token, None).status, 200);

    // A revoked token stops at once; the others go on.
    assert_eq!(hub.call("DELETE", &format!("/api/v1/tokens/{}", ada.token_id), &ada.device, None).status, 204);
    assert_eq!(hub.call("GET", "/api/v1/me", &ada.token, None).status, 401);
    assert_eq!(hub.call("GET", "/api/v1/me", &ada.device, None).status, 200);

    let only = member(&hub, "admin", "root@example.com", None);
    let demote =
        hub.call("PUT", &format!("/api/v1/members/{}/role", only.id), &only.token, Some(&json!({"role": "member"})));
    assert_eq!(demote.status, 409, "{demote:?}");
    assert!(demote.body.contains("last active admin"));
    assert_eq!(hub.call("DELETE", &format!("/api/v1/members/{}", only.id), &hub.admin, None).status, 409);
    let second = member(&hub, "admin", "second@example.com", None);
    // Two admins demoting each other at the same moment: one succeeds.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            hub.call(
                "PUT",
                &format!("/api/v1/members/{}/role", second.id),
                &only.token,
                Some(&json!({"role": "member"})),
            )
        });
        let b = s.spawn(|| {
            hub.call(
                "PUT",
                &format!("/api/v1/members/{}/role", only.id),
                &second.token,
                Some(&json!({"role": "member"})),
            )
        });
        (a.join().expect("a").status, b.join().expect("b").status)
    });
    // The loser was either still an admin when it asked (and is refused as the
    // last one) or already demoted (and may not set roles).
    let mut statuses = [a, b];
    statuses.sort();
    assert!(statuses == [200, 403] || statuses == [200, 409], "{statuses:?}");
    let admins = pg.sql(&dbname(&hub), "select count(*) from members where role = 'admin' and status = 'active'");
    assert_eq!(admins, "1");
}

#[test]
fn erasing_a_member_leaves_no_personal_data_and_the_audit_log_anonymous() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "erase");
    let core = team(&hub, "core");
    let ada = member(&hub, "team_lead", "ada.lovelace@example.com", Some(core));
    // Her invitation of someone else stays (under her number).
    invite(&hub, &ada.token, "viewer", "friend@example.com", Some(core));
    assert_eq!(hub.call("DELETE", &format!("/api/v1/members/{}", ada.id), &hub.admin, None).status, 204);
    let db = dbname(&hub);
    let everywhere = pg.sql(
        &db,
        "select count(*) from (select to_jsonb(m)::text t from members m union all select to_jsonb(a)::text from audit_log a
         union all select to_jsonb(i)::text from invitations i union all select to_jsonb(t)::text from tokens t) x
         where t ilike '%lovelace%'",
    );
    assert_eq!(everywhere, "0", "her address is gone from every table");
    assert_eq!(pg.sql(&db, &format!("select count(*) from tokens where member_id = {}", ada.id)), "0");
    assert_eq!(hub.call("GET", "/api/v1/me", &ada.device, None).status, 401);
    let members = hub.call("GET", "/api/v1/members", &hub.admin, None).json();
    assert!(!members.to_string().contains("lovelace"));
    let teams = hub.call("GET", "/api/v1/teams", &hub.admin, None).json();
    assert_eq!(teams["teams"][0]["members"], json!([]));
    // What she did stays in the log, under a number.
    let hers = audit(&hub, &format!("?actor={}", ada.id));
    assert!(hers.iter().any(|e| e["action"] == "invitations.create"), "{hers:?}");
    assert!(audit(&hub, "?action=members.erase").iter().any(|e| e["target"] == format!("member:{}", ada.id)));
}

#[test]
fn the_audit_log_has_every_change_pages_and_exports_csv() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "audit");
    let core = team(&hub, "core");
    let ada = member(&hub, "manager", "ada@example.com", Some(core));
    let bo = member(&hub, "member", "bo@example.com", None);
    hub.call("PUT", &format!("/api/v1/teams/{core}/members/{}", bo.id), &ada.token, None);
    hub.call("POST", &format!("/api/v1/members/{}/deactivate", bo.id), &ada.token, None);
    // Reads and refusals change nothing and are not administrative actions.
    hub.call("GET", "/api/v1/members", &ada.token, None);
    hub.call("DELETE", &format!("/api/v1/members/{}", bo.id), &ada.token, None);
    let every = audit(&hub, "?limit=1000");
    assert!(
        every.iter().any(|e| e["action"] == "break_glass.use" && e["details"]["path"] == "/api/v1/teams"),
        "every use of the break-glass token is in the log, reads too"
    );
    let all: Vec<Value> = every.into_iter().filter(|e| e["action"] != "break_glass.use").collect();
    let actions: Vec<&str> = all.iter().rev().map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(
        actions,
        [
            "teams.create",
            "invitations.create",
            "invitations.accept",
            "tokens.create",
            "invitations.create",
            "invitations.accept",
            "tokens.create",
            "teams.members.add",
            "members.deactivate",
        ]
    );
    assert!(all.last().expect("first")["actor"].is_null(), "the break-glass token made the team");
    assert_eq!(all[0]["actor"], ada.id);
    // Paging, read with an admin's own token (reads with it are not logged).
    let root = member(&hub, "admin", "root@example.com", None);
    let read = |query: &str| hub.call("GET", &format!("/api/v1/audit{query}"), &root.token, None).json();
    let total = read("?limit=10000")["entries"].as_array().expect("all").len();
    let page = read("?limit=4");
    let next = page["next_before"].as_i64().expect("a next page");
    let rest = read(&format!("?limit=10000&before={next}"))["entries"].as_array().expect("rest").len();
    assert_eq!(page["entries"].as_array().expect("page").len() + rest, total);

    let csv = hub.call("GET", "/api/v1/audit?format=csv&action=members.deactivate", &hub.admin, None);
    assert_eq!(csv.status, 200);
    assert!(csv.head.to_lowercase().contains("content-type: text/csv"), "{}", csv.head);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "id,at,actor,action,target,details");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains(&format!("member:{},members.deactivate,member:{}", ada.id, bo.id)), "{lines:?}");

    let viewer = member(&hub, "viewer", "vi@example.com", None);
    assert_eq!(hub.call("GET", "/api/v1/audit?format=csv", &viewer.token, None).status, 403);
    assert_eq!(hub.call("GET", "/api/v1/audit?since=yesterday", &hub.admin, None).status, 400);
}

#[test]
fn replicas_start_together_on_one_database_and_serve_the_same_organisation() {
    let pg = Postgres::get();
    let url = pg.database("replicas");
    let (one, two) = std::thread::scope(|s| {
        let one = s.spawn(|| Hub::start_on(&url, "replicated"));
        let two = s.spawn(|| Hub::start_on(&url, "replicated"));
        (one.join().expect("one"), two.join().expect("two"))
    });
    let applied = pg.sql(
        &dbname(&one),
        "select count(*) || ' ' || count(distinct version) || ' ' || max(version) from hub_migrations",
    );
    let [count, distinct, newest]: [&str; 3] = applied.split(' ').collect::<Vec<_>>().try_into().expect("three");
    assert!(count == distinct && distinct == newest, "each migration once: {applied}");
    assert_eq!(pg.sql(&dbname(&one), "select count(*) from orgs"), "1");
    let ada = member(&one, "admin", "ada@example.com", None);
    assert_eq!(two.call("GET", "/api/v1/me", &ada.token, None).json()["email"], "ada@example.com");
    assert_eq!(two.call("DELETE", &format!("/api/v1/tokens/{}", ada.token_id), &ada.token, None).status, 204);
    assert_eq!(one.call("GET", "/api/v1/me", &ada.token, None).status, 401);

    // A restart keeps everything; a database from a newer hub is refused.
    drop(one);
    let three = Hub::start_on(&url, "replicated");
    assert_eq!(three.call("GET", "/api/v1/me", &ada.device, None).status, 200);
    pg.sql(&dbname(&three), "insert into hub_migrations (version, name) values (999, 'from the future')");
    let refused = std::process::Command::new(tests::hub::hub_bin())
        .args(["migrate", "--database-url", &url])
        .output()
        .expect("run paired-hub migrate");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("newer than this hub knows"));
}

#[test]
fn paired_hub_runs_the_hub_beside_it() {
    let out = tests::Home::new().paired(&["hub", "--help"]).output().expect("run paired hub");
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: paired hub <COMMAND>") && help.contains("serve"), "{help}");
    let out = tests::Home::new()
        .paired(&["hub", "serve", "--org", "x", "--database-url", "host=/nonexistent"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("paired hub: "), "{out:?}");
}

#[test]
fn bad_requests_get_clear_errors_and_change_nothing() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "badinput");
    let no_token = hub.call("GET", "/api/v1/org", "", None);
    assert_eq!(no_token.status, 401);
    assert!(no_token.head.to_lowercase().contains("www-authenticate: bearer"));
    assert_eq!(hub.call("GET", "/api/v1/org", "phub_pat_forged", None).status, 401);
    assert_eq!(hub.call("GET", "/api/v1/org", &hub.admin[..hub.admin.len() - 1], None).status, 401);
    let cases = [
        ("POST", "/api/v1/teams", "{\"name\": "),
        ("POST", "/api/v1/teams", "{\"name\": \"x\", \"admin\": true}"),
        ("POST", "/api/v1/teams", "{\"name\": \"\\u0000\"}"),
        ("POST", "/api/v1/teams", "{\"name\": \"   \"}"),
        ("POST", "/api/v1/invitations", "{\"role\": \"owner\"}"),
        ("POST", "/api/v1/invitations", "{\"role\": \"member\", \"email\": \"not an address\"}"),
        ("POST", "/api/v1/invitations", "{\"role\": \"member\", \"expires_in_hours\": 100000}"),
        ("POST", "/api/v1/join", "[]"),
    ];
    let bearer = format!("Bearer {}", hub.admin);
    for (method, path, body) in cases {
        let reply = tests::http(
            hub.port,
            method,
            path,
            &[("Authorization", &bearer), ("Content-Type", "application/json")],
            body,
        );
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        let message = reply.json()["error"]["message"].as_str().expect("message").to_owned();
        assert!(!message.is_empty());
    }
    assert_eq!(hub.call("GET", "/api/v1/nothing", &hub.admin, None).status, 404);
    assert_eq!(hub.call("DELETE", "/api/v1/teams/99999", &hub.admin, None).status, 404);
    assert_eq!(hub.call("DELETE", "/api/v1/teams/abc", &hub.admin, None).status, 400);
    let teams = hub.call("GET", "/api/v1/teams", &hub.admin, None).json();
    assert_eq!(teams["teams"], json!([]));
    assert_eq!(team(&hub, "core"), team(&hub, "other") - 1);
    assert_eq!(hub.call("POST", "/api/v1/teams", &hub.admin, Some(&json!({"name": "core"}))).status, 409);
}

/// A developer's side: `paired team join` with the code an admin gave them,
/// the device token in the OS keyring (never in a file), `status` asking the
/// hub, `leave` revoking the token; joins and leaves in the audit log.
#[test]
fn a_developer_joins_with_a_code_and_the_device_token_stays_in_the_keyring() {
    use std::os::unix::fs::PermissionsExt as _;
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "joining");
    let home = tests::Home::new();
    let keyring = tests::SecretService::start(home.path());
    let paired = |args: &[&str]| {
        let out = home.paired(args).env("DBUS_SESSION_BUS_ADDRESS", &keyring.address).output().expect("run paired");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let url = format!("http://127.0.0.1:{}", hub.port);
    let core = team(&hub, "core");
    let code = invite(&hub, &hub.admin, "member", "ada@example.com", Some(core));

    let (ok, _, err) = paired(&["team", "join", &url, "--code", "0000-0000-0000-0000"]);
    assert!(!ok && err.contains("the hub refused: this invitation code is not valid"), "{err}");
    let (ok, _, err) = paired(&["team", "join", "http://10.1.2.3:8440", "--code", &code]);
    assert!(!ok && err.contains("https://"), "{err}");
    let (ok, out, err) = paired(&["team", "join", &format!("{url}/"), "--code", &code.to_lowercase(), "--name", "Ada"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Joined joining on") && out.contains("ada@example.com (member)"), "{out}");

    let state = std::fs::read_to_string(home.state_dir().join("team.json")).expect("team.json");
    assert!(!state.contains("phub_"), "the token is not in the file: {state}");
    let mode = std::fs::metadata(home.state_dir().join("team.json")).expect("meta").permissions().mode();
    assert_eq!(mode & 0o077, 0, "private: {mode:o}");
    let (ok, _, err) = paired(&["team", "join", &url, "--code", &code]);
    assert!(!ok && err.contains("already joined joining"), "{err}");

    // The hub's word, not the file's: a role changed on the hub shows.
    let members = hub.call("GET", "/api/v1/members", &hub.admin, None).json();
    let ada = members["members"][0]["id"].as_i64().expect("ada");
    hub.call("PUT", &format!("/api/v1/members/{ada}/role"), &hub.admin, Some(&json!({"role": "viewer"})));
    let (ok, out, _) = paired(&["team", "status", "--json"]);
    assert!(ok);
    let status: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(status["hub_says"]["role"], "viewer", "{status}");
    assert_eq!(status["hub_says"]["teams"], json!([core]));
    assert_eq!(status["membership"]["email"], "ada@example.com");

    let (ok, out, err) = paired(&["team", "leave"]);
    assert!(ok && out.contains("The hub revoked it."), "{out}{err}");
    let tokens = hub.call("GET", &format!("/api/v1/members/{ada}/tokens"), &hub.admin, None).json();
    assert_eq!(tokens["tokens"][0]["kind"], "device");
    assert_eq!(tokens["tokens"][0]["revoked"], true, "{tokens}");
    let (ok, _, err) = paired(&["team", "status"]);
    assert!(!ok && err.contains("has not joined a team hub"), "{err}");
    // Without a keyring, joining says what is missing and stores nothing.
    let code = invite(&hub, &hub.admin, "member", "bo@example.com", None);
    let out = home
        .paired(&["team", "join", &url, "--code", &code])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keyring"), "{out:?}");
    assert!(!home.state_dir().join("team.json").exists());
    let (ok, out, err) = paired(&["team", "join", &url, "--code", &code]);
    assert!(ok && out.contains("bo@example.com"), "the code was not spent: {out}{err}");
    // Each join and leave is in this machine's audit log (the console's Audit page).
    let db = rusqlite::Connection::open(home.database()).expect("the daemon's database");
    let mut statement = db.prepare("SELECT action || ' ' || details FROM audit_events ORDER BY id").expect("query");
    let audit: Vec<String> = statement.query_map([], |r| r.get(0)).expect("rows").map(|r| r.expect("row")).collect();
    assert_eq!(
        audit,
        [
            "team.join ada@example.com as member (device token 1)",
            "team.leave ada@example.com as member (device token 1)",
            "team.join bo@example.com as member (device token 2)"
        ],
    );
}

#[test]
fn usage_is_counted_once_costed_from_the_price_table_and_queried_by_dimension() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "usage");
    let core = team(&hub, "core");
    let ada = member(&hub, "member", "ada@example.com", Some(core));
    let bo = member(&hub, "member", "bo@example.com", None);
    let lead = member(&hub, "team_lead", "lead@example.com", Some(core));
    let price = json!({"provider": "openai", "model": "gpt-test", "input_per_mtok": 2.0, "output_per_mtok": 6.0});
    assert_eq!(hub.call("PUT", "/api/v1/prices", &hub.admin, Some(&price)).status, 204);

    let batch = json!({"events": [usage_event("run-1"), usage_event("run-2"), usage_event("run-3")]});
    let first = hub.call("POST", "/api/v1/usage", &ada.device, Some(&batch));
    assert_eq!(first.json(), json!({"received": 3, "recorded": 3, "duplicates": 0, "accepted": 0}), "{first:?}");
    let again = hub.call("POST", "/api/v1/usage", &ada.device, Some(&batch)).json();
    assert_eq!(
        again,
        json!({"received": 3, "recorded": 0, "duplicates": 3, "accepted": 0}),
        "a retried batch counts nothing twice"
    );
    // Another member's event with the same id is another event.
    let mut other = usage_event("run-1");
    other["agent"] = json!("edison");
    other["outcome"] = json!("failed");
    assert_eq!(hub.call("POST", "/api/v1/usage", &bo.device, Some(&json!({"events": [other]}))).json()["recorded"], 1);

    let by_agent = hub.call("GET", "/api/v1/usage?by=agent", &hub.admin, None).json();
    let series = by_agent["series"].as_array().expect("series");
    assert_eq!(series.len(), 2, "{by_agent}");
    assert_eq!(series[1]["agent"], "sherlock");
    assert_eq!(series[1]["events"], 3);
    assert_eq!(series[1]["tokens_in"], 3000);
    // (1000 × $2 + 500 × $6) per million tokens, three times.
    assert!((series[1]["cost_usd"].as_f64().expect("cost") - 0.015).abs() < 1e-9, "{by_agent}");
    assert_eq!(series[1]["latency_p50_ms"], 1200.0);
    assert_eq!(series[0]["error_rate"], 1.0);
    let by_team = hub.call("GET", "/api/v1/usage?by=team,member", &hub.admin, None).json();
    assert_eq!(
        by_team["series"],
        json!([{
            "team": core.to_string(), "member": ada.id.to_string(), "events": 3, "tokens_in": 3000, "tokens_out": 1500,
            "cost_usd": 0.015, "latency_p50_ms": 1200.0, "latency_p95_ms": 1200.0, "error_rate": 0.0, "findings": 9, "edits": 0,
            "accepted": 0, "rejected": 0,
        }])
    );
    let csv = hub.call("GET", "/api/v1/usage?by=day,agent&format=csv", &hub.admin, None);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "day,agent,events,tokens_in,tokens_out,cost_usd,latency_p50_ms,latency_p95_ms,error_rate,findings,edits,accepted,rejected"
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[2].ends_with(",sherlock,3,3000,1500,0.015,1200.0,1200.0,0.0,9,0,0,0"), "{lines:?}");

    // Who may see what.
    assert_eq!(hub.call("GET", &format!("/api/v1/usage?team={core}"), &lead.token, None).status, 200);
    assert_eq!(hub.call("GET", "/api/v1/usage", &lead.token, None).status, 403);
    assert_eq!(hub.call("GET", "/api/v1/usage", &ada.token, None).status, 403);
    let own = hub.call("GET", "/api/v1/me/usage", &bo.device, None).json();
    assert_eq!(own["series"][0]["events"], 1, "{own}");

    // What a daemon may not send: code or prompts, or nonsense.
    let bad = |event: Value| {
        hub.call("POST", "/api/v1/usage", &ada.device, Some(&json!({"events": [usage_event("ok"), event]})))
    };
    let mut prompt = usage_event("p");
    prompt["prompt"] = json!("fn main() { secret() }");
    assert_eq!(bad(prompt).status, 400);
    let mut negative = usage_event("n");
    negative["tokens_in"] = json!(-5);
    let refused = bad(negative);
    assert!(refused.status == 400 && refused.body.contains("event 1"), "{refused:?}");
    let mut future = usage_event("f");
    future["at"] = json!("2999-01-01T00:00:00Z");
    assert_eq!(bad(future).status, 400);
    let too_many: Vec<Value> = (0..1001).map(|i| usage_event(&format!("m{i}"))).collect();
    assert_eq!(hub.call("POST", "/api/v1/usage", &ada.device, Some(&json!({"events": too_many}))).status, 400);
    let db = dbname(&hub);
    assert_eq!(pg.sql(&db, "select count(*) from usage_events"), "4", "a refused batch records nothing");

    // Erasing a member keeps their usage in the totals, under no one.
    assert_eq!(hub.call("DELETE", &format!("/api/v1/members/{}", ada.id), &hub.admin, None).status, 204);
    let totals = hub.call("GET", "/api/v1/usage", &hub.admin, None).json();
    assert_eq!(totals["series"][0]["events"], 4);
    assert_eq!(pg.sql(&db, &format!("select count(*) from usage_events where member_id = {}", ada.id)), "0");
}

/// A developer's machine, for the tests of the daemon's side: a home with an
/// OS keyring of its own, a model on loopback that answers `answer`, `[team]`
/// settings, and a project whose `src/lib.rs` has an unwrap.
pub(crate) struct Machine {
    pub home: tests::Home,
    keyring: tests::SecretService,
    fake: std::sync::Arc<tests::fake_provider::Fake>,
    root: std::path::PathBuf,
}

impl Machine {
    pub async fn new(answer: &str, team: &str) -> Machine {
        use tests::fake_provider::{Reply, openai_text, serve_fake};
        let home = tests::Home::new();
        let keyring = tests::SecretService::start(home.path());
        let (port, fake) = serve_fake(vec![]).await;
        *fake.fallback.lock().expect("lock") = Some(Reply::Sse(openai_text(&[answer])));
        home.write_config(&format!("{}[team]\n{team}", tests::fake_provider::config(port)));
        let root = home.path().join("proj");
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        let lib = "pub fn load(p: &str) -> String { std::fs::read_to_string(p).unwrap() }\n";
        std::fs::write(root.join("src/lib.rs"), lib).expect("write");
        Machine { home, keyring, fake, root }
    }

    /// `paired ARGS` on this machine (its keyring on the bus): code, output.
    pub fn paired(&self, args: &[&str]) -> (Option<i32>, String) {
        let out =
            self.home.paired(args).env("DBUS_SESSION_BUS_ADDRESS", &self.keyring.address).output().expect("paired");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    }

    /// `paired team join` with an invitation for `email`.
    fn join(&self, hub: &Hub, email: &str, team: Option<i64>) {
        self.join_with(hub, "member", email, team);
    }

    /// `paired team join` with an invitation for `email` as `role`; the member's id.
    pub fn join_as(&self, hub: &Hub, role: &str, email: &str) -> i64 {
        self.join_with(hub, role, email, None)
    }

    fn join_with(&self, hub: &Hub, role: &str, email: &str, team: Option<i64>) -> i64 {
        let code = invite(hub, &hub.admin, role, email, team);
        let (status, out) = self.paired(&["team", "join", &format!("http://127.0.0.1:{}", hub.port), "--code", &code]);
        assert_eq!(status, Some(0), "{out}");
        let (_, status) = self.paired(&["team", "status", "--json"]);
        let status: Value = serde_json::from_str(&status).expect("status json");
        status["membership"]["member"].as_i64().expect("member id")
    }

    pub fn daemon(&self) -> tests::Daemon {
        self.home.start_daemon_with(&[("DBUS_SESSION_BUS_ADDRESS", &self.keyring.address)])
    }
}

/// The daemon's side of usage: each finished run is an event, sent once this
/// machine has joined (not before), kept while the hub is down and across a
/// `kill -9`, and counted once even when a batch is sent twice; verdicts on
/// a run's work follow its event as its accepted count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reaches_the_hub_exactly_once_across_a_hub_restart_and_a_daemon_kill() {
    use protocol::agents::{Feedback, FeedbackParams, Run, RunParams, RunStatus, Verdict};
    use tests::Rpc;
    let pg = Postgres::get();
    let mut hub = Hub::start(&pg, "pushing");
    let machine = Machine::new("Load reads a file.", "usage_push_secs = 1\n").await;
    let (home, root) = (&machine.home, &machine.root);
    let total = |hub: &Hub| {
        let reply = hub.call("GET", "/api/v1/usage", &hub.admin, None).json();
        reply["series"][0]["events"].as_i64().unwrap_or(0)
    };
    let wait_for = |hub: &Hub, events: i64| {
        tests::wait_until("the hub has the events", std::time::Duration::from_secs(30), || total(hub) == events);
    };

    let mut daemon = machine.daemon();
    let client = home.ws().await;
    tests::add_workspace(&client, root).await;
    let ask = async |client: &jsonrpsee::ws_client::WsClient| {
        let params = RunParams { prompt: Some("What does load do?".into()), wait: true, ..tests::agent_run("alex") };
        let run = client.call::<Run>(params).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        run
    };
    ask(&client).await; // before joining: stays on this machine

    machine.join(&hub, "ada@example.com", None);
    ask(&client).await;
    ask(&client).await;
    wait_for(&hub, 2);
    let by_model = hub.call("GET", "/api/v1/usage?by=agent,provider,model", &hub.admin, None).json();
    let row = &by_model["series"][0];
    assert_eq!(
        (row["agent"].as_str(), row["provider"].as_str(), row["model"].as_str()),
        (Some("alex"), Some("fake"), Some("m"))
    );
    assert_eq!(row["error_rate"], 0.0);
    assert!(row["tokens_in"].as_i64().unwrap_or(0) > row["tokens_out"].as_i64().unwrap_or(0), "{by_model}");
    assert!(row["tokens_out"].as_i64().unwrap_or(0) > 0, "{by_model}");

    // The hub goes down; a run's usage waits here, through a kill -9.
    hub.stop();
    ask(&client).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    daemon.kill9();
    hub.restart("pushing");
    let mut daemon = machine.daemon();
    wait_for(&hub, 3);

    // Every answer lost: the daemon sends everything again, the hub counts none twice.
    daemon.kill9();
    let db = rusqlite::Connection::open(home.database()).expect("open the daemon's database");
    let local: i64 = db.query_row("SELECT count(*) FROM usage_events", [], |r| r.get(0)).expect("count");
    assert_eq!(local, 4, "every run is an event here, the one before joining too");
    db.execute("UPDATE usage_events SET pushed_ms = NULL", []).expect("forget");
    let _daemon = machine.daemon();
    tests::wait_until("sent again", std::time::Duration::from_secs(30), || {
        db.query_row("SELECT count(*) FROM usage_events WHERE pushed_ms IS NOT NULL", [], |r| r.get::<_, i64>(0))
            .is_ok_and(|n| n == 3)
    });
    assert_eq!(total(&hub), 3);
    assert_eq!(pg.sql(&dbname(&hub), "select count(*) from usage_events"), "3");

    // Verdicts given after a run's event was sent reach the hub as its
    // accepted count (a changed verdict changes it; the console sums it),
    // never more than the run's findings and edits.
    let client = home.ws().await;
    tests::add_workspace(&client, root).await;
    let file = format!("file://{}", root.join("src/lib.rs").display());
    let review = RunParams { uri: Some(file), wait: true, ..tests::agent_run("sherlock") };
    let first = client.call::<Run>(review).await;
    let found = first.findings.len() + first.edits.len();
    assert!(found > 0, "{first:?}");
    wait_for(&hub, 4);
    let verdicts = |accepted: &dyn Fn(usize) -> bool| FeedbackParams {
        source: first.id.clone(),
        verdicts: (0..found + 5).map(|n| Verdict { item: format!("finding:{n}"), accepted: accepted(n) }).collect(),
    };
    let accepted_on_hub = || pg.sql(&dbname(&hub), "select coalesce(sum(accepted), 0) from usage_daily");
    client.call::<Feedback>(verdicts(&|_| true)).await;
    tests::wait_until("the accepted count reaches the hub", std::time::Duration::from_secs(30), || {
        accepted_on_hub() == found.to_string()
    });
    client.call::<Feedback>(verdicts(&|n| n == 0)).await;
    tests::wait_until("a changed verdict reaches the hub", std::time::Duration::from_secs(30), || {
        accepted_on_hub() == "1"
    });
    let rollups = "select (select sum(accepted) from usage_monthly)::text || (select sum(accepted) from usage_member_daily)::text
                          || (select sum(accepted) from usage_team_daily)::text || (select sum(accepted) from usage_daily_org)::text
                          || (select sum(accepted) from usage_events)::text";
    assert_eq!(pg.sql(&dbname(&hub), rollups), "11111", "every rollup follows");
    // The rest were rejected (never more than what was not accepted), and the
    // usage API says both.
    let series = hub.call("GET", "/api/v1/usage", &hub.admin, None).json()["series"][0].clone();
    assert_eq!(
        (series["accepted"].as_i64(), series["rejected"].as_i64()),
        (Some(1), Some(found as i64 - 1)),
        "{series}"
    );
    let csv = hub.call("GET", "/api/v1/usage?format=csv", &hub.admin, None).body;
    assert!(csv.lines().next().is_some_and(|h| h.ends_with(",accepted,rejected")), "{csv}");
}

/// The team policy: set on the hub per scope, signed, pulled by the daemon,
/// applied to runs, models and what is sent; offline from its cache; a forged
/// or expired one refuses everything (fails closed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_policy_is_signed_applied_offline_and_fails_closed() {
    use protocol::agents::{Run, RunParams, RunStatus};
    use tests::Rpc;
    let pg = Postgres::get();
    let mut hub = Hub::start(&pg, "policed");
    let machine = Machine::new("Fine.", "usage_push_secs = 1\npolicy_refresh_secs = 1\n").await;
    let (home, root, fake) = (&machine.home, &machine.root, &machine.fake);
    std::fs::create_dir_all(root.join("src/secrets")).expect("mkdir");
    std::fs::write(root.join("src/secrets/keys.rs"), "pub const K: &str = \"do-not-send-0xC0FFEE\";\n").expect("write");
    let core = team(&hub, "core");
    let set = |hub: &Hub, scope: &str, rules: Value| {
        let reply = hub.call("PUT", "/api/v1/policies", &hub.admin, Some(&json!({"scope": scope, "rules": rules})));
        assert_eq!(reply.status, 204, "{reply:?}");
    };
    set(&hub, "org", json!({"agents": {"deny": ["vince"]}, "egress": {"deny_paths": ["**/secrets/**"]}}));
    let bad = hub.call(
        "PUT",
        "/api/v1/policies",
        &hub.admin,
        Some(&json!({"scope": "org", "rules": {"deny_grants": ["root"]}})),
    );
    assert_eq!(bad.status, 400, "{bad:?}");

    machine.join(&hub, "ada@example.com", Some(core));
    let paired = |args: &[&str]| machine.paired(args);
    let (status, out) = paired(&["policy", "explain", "run:vince"]);
    assert_eq!(status, Some(3), "{out}");
    assert!(out.contains("run:vince: refused by org: agents.deny has \"vince\""), "{out}");
    assert_eq!(paired(&["policy", "explain", "run:sherlock"]).0, Some(0));
    assert!(paired(&["policy", "explain", "send:src/secrets/keys.rs"]).1.contains("egress.deny_paths"));

    let _daemon = machine.daemon();
    let client = home.ws().await;
    tests::add_workspace(&client, root).await;
    let uri = |rel: &str| format!("file://{}", root.join(rel).display());
    let ask = |agent: &str, file: &str| RunParams {
        prompt: Some("What is this?".into()),
        uri: Some(uri(file)),
        wait: true,
        ..tests::agent_run(agent)
    };
    let refused = client.try_call::<Run>(ask("vince", "src/lib.rs")).await.expect_err("vince is denied");
    assert!(refused.message.contains("the team policy does not allow running"), "{refused:?}");
    let secret = client.call::<Run>(ask("alex", "src/secrets/keys.rs")).await;
    assert_eq!(secret.status, RunStatus::Failed, "{secret:?}");
    assert!(secret.error.as_deref().is_some_and(|e| e.contains("egress.deny_paths")), "{secret:?}");
    let fine = client.call::<Run>(ask("alex", "src/lib.rs")).await;
    assert_eq!(fine.status, RunStatus::Succeeded, "{fine:?}");
    let sent: String = fake.requests.lock().expect("lock").iter().map(|(_, body)| body.to_string()).collect();
    assert!(!sent.contains("0xC0FFEE"), "the denied file never reached the model");

    // A team rule: this provider's models are not for this team. It applies
    // once the daemon has renewed the policy.
    set(&hub, &format!("team:{core}"), json!({"models": {"deny": ["fake/*"]}}));
    tests::wait_until("the renewed policy applies", std::time::Duration::from_secs(20), || {
        paired(&["policy", "explain", "model:fake/m"]).0 == Some(3)
    });
    let no_model = client.try_call::<Run>(ask("alex", "src/lib.rs")).await.expect_err("the model is denied");
    assert!(no_model.message.contains("team:core: models.deny has \"fake/*\""), "{no_model:?}");
    let completion = protocol::completion::InlineParams {
        uri: uri("src/lib.rs"),
        position: protocol::documents::Position { line: 0, character: 10 },
        key: None,
        trigger: protocol::completion::Trigger::Invoked,
    };
    let no_completion = client.try_call::<protocol::completion::Inline>(completion).await.expect_err("denied");
    assert!(no_completion.message.contains("does not allow completions from fake"), "{no_completion:?}");

    // The hub goes away: the cached policy still applies.
    hub.stop();
    let offline = client.try_call::<Run>(ask("vince", "src/lib.rs")).await.expect_err("still denied offline");
    assert!(offline.message.contains("agents.deny"), "{offline:?}");
    let review = RunParams {
        skill: Some("review".into()),
        uri: Some(uri("src/lib.rs")),
        wait: true,
        ..tests::agent_run("sherlock")
    };
    assert_eq!(client.call::<Run>(review.clone()).await.status, RunStatus::Succeeded);

    // Forged: one byte of the cached policy changed. Everything is refused.
    let cache = home.state_dir().join("team-policy.json");
    let mut envelope: Value = serde_json::from_str(&std::fs::read_to_string(&cache).expect("cache")).expect("json");
    let payload = envelope["payload"].as_str().expect("payload").to_owned();
    use base64::Engine as _;
    let mut bytes = base64::engine::general_purpose::STANDARD.decode(&payload).expect("b64");
    let text = String::from_utf8(bytes.clone()).expect("utf8").replace("vince", "vinny");
    bytes = text.into_bytes();
    envelope["payload"] = json!(base64::engine::general_purpose::STANDARD.encode(&bytes));
    std::fs::write(&cache, envelope.to_string()).expect("forge");
    let forged = client.try_call::<Run>(review.clone()).await.expect_err("fails closed");
    assert!(forged.message.contains("not signed by this hub's key"), "{forged:?}");

    // Expired: signed by the hub's own key, but past its time.
    let key = std::fs::read(tests::hub::policy_key(&hub.database_url)).expect("key");
    let key = policy::signed::SigningKey::from_pkcs8(&key).expect("pkcs8");
    let then = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48);
    let old = policy::Policy {
        org: "policed".into(),
        member: 1,
        issued_at: then,
        expires_at: then + jiff::SignedDuration::from_hours(24),
        sources: vec![],
    };
    std::fs::write(&cache, serde_json::to_string(&key.sign(&old)).expect("json")).expect("write");
    let expired = client.try_call::<Run>(review).await.expect_err("fails closed");
    assert!(expired.message.contains("expired"), "{expired:?}");
    let (_, shown) = paired(&["policy", "show"]);
    assert!(shown.contains("cannot be trusted") && shown.contains("fails closed"), "{shown}");
}

/// Quotas hold under concurrency: 100 leases asked at once through two
/// replicas, for a limit of 37 runs, get exactly 37; the refusal says which
/// quota, what is left and when it resets; what a lease does not use comes back.
#[test]
fn quotas_never_overshoot_across_two_replicas_and_say_why_they_refuse() {
    let pg = Postgres::get();
    let url = pg.database("quotas");
    let one = Hub::start_on(&url, "quotas");
    let two = Hub::start_on(&url, "quotas");
    let core = team(&one, "core");
    let ada = member(&one, "member", "ada@example.com", Some(core));
    let set = |body: Value| {
        let reply = one.call("PUT", "/api/v1/quotas", &one.admin, Some(&body));
        assert_eq!(reply.status, 200, "{reply:?}");
    };
    set(json!({"subject_kind": "member", "subject": "*", "metric": "runs", "period": "day", "limit": 37}));
    set(json!({"subject_kind": "team", "subject": core.to_string(), "metric": "runs", "period": "day", "limit": 50}));
    set(json!({"subject_kind": "org", "subject": "org", "metric": "tokens", "period": "month", "limit": 1_000_000}));
    let lease = json!({"agent": "alex", "provider": "openai", "runs": 1, "tokens": 1000, "min_tokens": 1000});
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let (hub, lease, token) = (if i % 2 == 0 { &one } else { &two }, &lease, &ada.device);
                s.spawn(move || hub.call("POST", "/api/v1/quota/lease", token, Some(lease)).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 37, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 63, "{statuses:?}");
    let db = dbname(&one);
    let used = pg.sql(&db, "select string_agg(q.subject_kind || '=' || u.used::int, ',' order by q.id) from quota_usage u join quotas q on q.id = u.quota_id");
    assert_eq!(used, "member=37,team=37,org=37000");

    let refused = two.call("POST", "/api/v1/quota/lease", &ada.device, Some(&lease));
    assert_eq!(refused.status, 429);
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "quota_exceeded");
    let message = error["message"].as_str().expect("message");
    assert!(message.contains("37 runs per day for each member is used up (0 left); it resets at"), "{message}");
    assert_eq!(error["quota"]["left"], 0.0);
    let resets: jiff::Timestamp = error["quota"]["resets_at"].as_str().expect("resets").parse().expect("time");
    assert!(resets > jiff::Timestamp::now() && resets <= jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24));

    // Another member has their own 37, within the team's 50.
    let bo = member(&one, "member", "bo@example.com", Some(core));
    let big = json!({"agent": "alex", "provider": "openai", "runs": 30, "tokens": 1000});
    let granted = one.call("POST", "/api/v1/quota/lease", &bo.device, Some(&big)).json();
    assert_eq!(granted["runs"], 13, "the team's 50 bind first: {granted}");
    let released = one.call(
        "POST",
        "/api/v1/quota/release",
        &bo.device,
        Some(&json!({"lease": granted["lease"], "runs_used": 3, "tokens_used": 200})),
    );
    assert_eq!(released.json()["runs_returned"], 10.0, "{released:?}");
    let again = one.call(
        "POST",
        "/api/v1/quota/release",
        &bo.device,
        Some(&json!({"lease": granted["lease"], "runs_used": 0, "tokens_used": 0})),
    );
    assert_eq!(again.json()["released"], false, "a second release changes nothing");
    let mine = one.call("GET", "/api/v1/me/quota", &bo.device, None).json();
    let team_left =
        mine["quotas"].as_array().expect("quotas").iter().find(|q| q["subject_kind"] == "team").expect("team")["left"]
            .clone();
    assert_eq!(team_left, 10.0, "{mine}");
    // One's own quotas include those named for an agent or a provider.
    set(json!({"subject_kind": "agent", "subject": "edison", "metric": "tokens", "period": "month", "limit": 5000}));
    let mine = one.call("GET", "/api/v1/me/quota", &bo.device, None).json();
    assert!(
        mine["quotas"]
            .as_array()
            .expect("quotas")
            .iter()
            .any(|q| q["subject_kind"] == "agent" && q["subject"] == "edison"),
        "{mine}"
    );
    // Someone else's lease cannot be released by them.
    assert_eq!(
        one.call(
            "POST",
            "/api/v1/quota/release",
            &ada.device,
            Some(&json!({"lease": granted["lease"], "runs_used": 0, "tokens_used": 0}))
        )
        .status,
        404
    );
}

#[test]
fn requests_beyond_the_rate_limit_wait_their_turn() {
    let pg = Postgres::get();
    let hub = Hub::start_with(&pg, "ratelimit", &[("PAIRED_HUB_RATE_LIMIT", "5")]);
    let replies: Vec<tests::HttpReply> = (0..30).map(|_| hub.call("GET", "/api/v1/org", &hub.admin, None)).collect();
    let limited: Vec<&tests::HttpReply> = replies.iter().filter(|r| r.status == 429).collect();
    assert!(
        !limited.is_empty() && replies.iter().filter(|r| r.status == 200).count() >= 10,
        "burst of 10, then 5 a second"
    );
    assert!(limited[0].head.to_lowercase().contains("retry-after: 1"), "{}", limited[0].head);
    assert_eq!(limited[0].json()["error"]["code"], "rate_limited");
    // Without a token, an address gets a tenth: joining cannot be hammered.
    let joins: Vec<u16> = (0..10).map(|_| join(&hub, "AAAA-AAAA-AAAA-AAAA", Some("x@example.com")).status).collect();
    assert!(joins.contains(&429), "{joins:?}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(hub.call("GET", "/api/v1/org", &hub.admin, None).status, 200, "a second later it is served again");
}

/// The daemon's side of quotas: a lease before model runs; runs go on from it
/// while the hub is down and stop when it is used up; the hub's refusal says
/// which quota and when it resets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_leases_let_runs_go_on_offline_and_stop_when_used_up() {
    use protocol::agents::{Run, RunParams, RunStatus};
    use tests::Rpc;
    let pg = Postgres::get();
    let mut hub = Hub::start(&pg, "leasing");
    let quota = json!({"subject_kind": "member", "subject": "*", "metric": "runs", "period": "day", "limit": 3});
    assert_eq!(hub.call("PUT", "/api/v1/quotas", &hub.admin, Some(&quota)).status, 200);
    let machine = Machine::new("Sure.", "").await;
    machine.join(&hub, "ada@example.com", None);
    let _daemon = machine.daemon();
    let client = machine.home.ws().await;
    tests::add_workspace(&client, &machine.root).await;
    let ask = || RunParams { prompt: Some("Plan the week.".into()), wait: true, ..tests::agent_run("alex") };

    assert_eq!(client.call::<Run>(ask()).await.status, RunStatus::Succeeded);
    hub.stop();
    // The lease holds the other two runs of the day: they go on without the hub.
    assert_eq!(client.call::<Run>(ask()).await.status, RunStatus::Succeeded);
    assert_eq!(client.call::<Run>(ask()).await.status, RunStatus::Succeeded);
    let offline = client.try_call::<Run>(ask()).await.expect_err("the lease is used up");
    assert!(
        offline.message.contains("no quota lease is left") && offline.message.contains("cannot be reached"),
        "{offline:?}"
    );
    hub.restart("leasing");
    let refused = client.try_call::<Run>(ask()).await.expect_err("the quota is used up");
    assert!(
        refused.message.contains(
            "the team's quota: the quota of 3 runs per day for each member is used up (0 left); it resets at"
        ),
        "{refused:?}"
    );
    // Offline skills cost the team nothing and are not counted.
    let review = RunParams {
        skill: Some("review".into()),
        uri: Some(format!("file://{}", machine.root.join("src/lib.rs").display())),
        wait: true,
        ..tests::agent_run("sherlock")
    };
    assert_eq!(client.call::<Run>(review).await.status, RunStatus::Succeeded);
}

/// Sign-in with a real OpenID Connect provider (node-oidc-provider on
/// loopback): `paired team join --sso` through the browser, a member made from
/// their group, teams following groups in and out, and the flow's checks.
#[test]
fn people_sign_in_with_the_identity_provider_and_their_groups_are_their_teams() {
    use tests::hub::{IdentityProvider, browse, free_port};
    let pg = Postgres::get();
    let port = free_port();
    let accounts = |next: &str, ada_groups: Value| {
        json!({"next": next, "accounts": {
            "ada": {"email": "ada@example.com", "email_verified": true, "name": "Ada", "groups": ada_groups},
            "eve": {"email": "eve@elsewhere.example", "email_verified": true, "name": "Eve", "groups": ["visitors"]},
        }})
    };
    let idp =
        IdentityProvider::start(&format!("http://127.0.0.1:{port}/auth/callback"), &accounts("ada", json!(["eng"])));
    let secret = idp.secret_file.display().to_string();
    let hub = Hub::start_with_port(
        &pg,
        "ssoorg",
        port,
        &[
            ("PAIRED_HUB_OIDC_ISSUER", &idp.issuer),
            ("PAIRED_HUB_OIDC_CLIENT_ID", "paired-hub"),
            ("PAIRED_HUB_OIDC_CLIENT_SECRET_FILE", &secret),
        ],
    );
    let engineering = team(&hub, "engineering");
    let manual = team(&hub, "hand-picked");
    let mapped =
        hub.call("PUT", &format!("/api/v1/teams/{engineering}/sso-group"), &hub.admin, Some(&json!({"group": "eng"})));
    assert_eq!(mapped.status, 204, "{mapped:?}");

    // The CLI: a browser opens, signs in at the provider, comes back to the CLI.
    let home = tests::Home::new();
    let keyring = tests::SecretService::start(home.path());
    let browser = format!("node {}", tests::hub::oidc_dir().join("browser.mjs").display());
    let out = home
        .paired(&["team", "join", &format!("http://127.0.0.1:{port}"), "--sso"])
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .env("BROWSER", &browser)
        .output()
        .expect("paired team join --sso");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("Sign in at: http://127.0.0.1:{port}/auth/login?redirect=")), "{stderr}");
    assert!(stdout.contains("Joined ssoorg") && stdout.contains("ada@example.com (member)"), "{stdout}");
    let status = home
        .paired(&["team", "status", "--json"])
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .output()
        .expect("status");
    let status: Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(status["hub_says"]["teams"], json!([engineering]), "{status}");
    let members = hub.call("GET", "/api/v1/members", &hub.admin, None).json();
    let ada = members["members"][0]["id"].as_i64().expect("ada");
    hub.call("PUT", &format!("/api/v1/teams/{manual}/members/{ada}"), &hub.admin, None);

    // Out of the group, out of the team that follows it (and only that one).
    idp.set_accounts(&accounts("ada", json!([])));
    let (code, page) = browse(&format!("http://127.0.0.1:{port}/auth/login"));
    assert_eq!(code, 200, "{page}");
    // A person in a browser lands in the team console.
    assert!(page.contains("<title>PAIRED console</title>"), "{page}");
    let teams = hub.call("GET", "/api/v1/teams", &hub.admin, None).json();
    let of = |id: i64| {
        teams["teams"].as_array().expect("teams").iter().find(|t| t["id"] == id).expect("team")["members"].clone()
    };
    assert_eq!((of(engineering), of(manual)), (json!([]), json!([ada])));
    let signins = audit(&hub, "?action=sso.sign_in");
    assert_eq!(signins.len(), 2);
    assert_eq!(signins[0]["details"]["teams_left"], json!([engineering]));

    // Someone the organisation does not know, in no group of its teams: refused.
    idp.set_accounts(&accounts("eve", json!(["eng"])));
    let (code, page) = browse(&format!("http://127.0.0.1:{port}/auth/login"));
    assert_eq!(code, 403, "{page}");
    assert!(page.contains("is not a member"), "{page}");
    // The sign-in goes back only to this machine's loopback.
    let evil = hub.call("GET", "/auth/login?redirect=http://evil.example/cb", "", None);
    assert_eq!(evil.status, 400);
    // A callback whose state this browser was never given is refused.
    let (code, page) = browse(&format!("http://127.0.0.1:{port}/auth/callback?code=x&state=forged"));
    assert_eq!(code, 400, "{page}");
    assert!(page.contains("not started in this browser"), "{page}");
    // A one-time code is good once.
    assert_eq!(hub.call("POST", "/api/v1/auth/exchange", "", Some(&json!({"code": "phub_dev_nope"}))).status, 403);
}

/// What an attacker tried (an independent review): each now refused.
#[test]
fn what_the_review_broke_stays_fixed() {
    let pg = Postgres::get();
    let hub = Hub::start(&pg, "review");
    let core = team(&hub, "core");
    let ada = member(&hub, "member", "ada@example.com", Some(core));
    let lead = member(&hub, "team_lead", "lead@example.com", Some(core));
    let admin = member(&hub, "admin", "boss@example.com", Some(core));

    // Usage sums cannot overflow: a count no run comes near is refused.
    let mut huge = usage_event("h1");
    huge["tokens_in"] = json!(i64::MAX);
    assert_eq!(hub.call("POST", "/api/v1/usage", &ada.device, Some(&json!({"events": [huge]}))).status, 400);
    let mut big = usage_event("b1");
    big["tokens_in"] = json!(1_000_000_000);
    let mut big2 = big.clone();
    big2["id"] = json!("b2");
    assert_eq!(hub.call("POST", "/api/v1/usage", &ada.device, Some(&json!({"events": [big, big2]}))).status, 200);
    let totals = hub.call("GET", "/api/v1/usage", &hub.admin, None);
    assert_eq!(totals.status, 200, "{totals:?}");
    assert_eq!(totals.json()["series"][0]["tokens_in"], 2_000_000_000i64);

    // An open code cannot take an address someone was invited at.
    let open = hub.call("POST", "/api/v1/invitations", &hub.admin, Some(&json!({"role": "member", "max_uses": 5})));
    let open = open.json()["code"].as_str().expect("code").to_owned();
    invite(&hub, &hub.admin, "admin", "ceo@example.com", None);
    let squat = join(&hub, &open, Some("ceo@example.com"));
    assert_eq!(squat.status, 409, "{squat:?}");

    // A read-only token changes nothing, and makes nothing that outlives it.
    let read = hub.call(
        "POST",
        "/api/v1/tokens",
        &ada.token,
        Some(&json!({"name": "bi", "scopes": ["read"], "expires_in_days": 1})),
    );
    let read = read.json()["token"].as_str().expect("token").to_owned();
    assert_eq!(hub.call("GET", "/api/v1/me", &read, None).status, 200);
    assert_eq!(hub.call("POST", "/api/v1/tokens", &read, Some(&json!({"name": "x", "scopes": ["read"]}))).status, 403);
    assert_eq!(hub.call("DELETE", &format!("/api/v1/tokens/{}", ada.token_id), &read, None).status, 403);
    assert_eq!(hub.call("POST", "/api/v1/usage", &read, Some(&json!({"events": []}))).status, 403);
    let long = hub.call(
        "POST",
        "/api/v1/tokens",
        &ada.token,
        Some(&json!({"name": "y", "scopes": ["read"], "expires_in_days": 366})),
    );
    assert_eq!(long.status, 201);

    // A team lead moves no one above them, nor themselves, in or out of a team.
    let out = |who: i64| hub.call("DELETE", &format!("/api/v1/teams/{core}/members/{who}"), &lead.token, None).status;
    assert_eq!(out(admin.id), 403);
    assert_eq!(out(lead.id), 403);
    assert_eq!(out(ada.id), 204);

    // Joining cannot be hammered with made-up tokens.
    let limited = Hub::start_with(&pg, "review2", &[("PAIRED_HUB_RATE_LIMIT", "10")]);
    let statuses: Vec<u16> = (0..20)
        .map(|i| {
            let bearer = format!("Bearer made-up-{i}");
            let body = json!({"code": "AAAA-AAAA-AAAA-AAAA", "email": "x@example.com"}).to_string();
            tests::http(
                limited.port,
                "POST",
                "/api/v1/join",
                &[("Authorization", &bearer), ("Content-Type", "application/json")],
                &body,
            )
            .status
        })
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");

    // Errors from outside the handlers speak the API's shape.
    let wrong_method = hub.call("PATCH", "/api/v1/teams", &hub.admin, None);
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.json()["error"]["code"], "method_not_allowed");
    let bad_id = hub.call("DELETE", "/api/v1/teams/99999999999999999999999", &hub.admin, None);
    assert_eq!((bad_id.status, bad_id.json()["error"]["code"].as_str()), (400, Some("invalid")));
    let too_big = "x".repeat(3 * 1024 * 1024);
    let big_body = tests::http(
        hub.port,
        "POST",
        "/api/v1/teams",
        &[("Authorization", &format!("Bearer {}", hub.admin)), ("Content-Type", "application/json")],
        &too_big,
    );
    assert_eq!(big_body.status, 413, "{}", big_body.head);

    // A name a spreadsheet would run as a formula is quoted in CSV exports.
    let mut formula = usage_event("f1");
    formula["agent"] = json!("=SUM(A1:A9)");
    assert_eq!(hub.call("POST", "/api/v1/usage", &ada.device, Some(&json!({"events": [formula]}))).status, 200);
    let csv = hub.call("GET", "/api/v1/usage?by=agent&format=csv", &hub.admin, None).body;
    assert!(csv.contains("'=SUM(A1:A9)") && !csv.lines().any(|l| l.starts_with("=SUM")), "{csv}");

    // Names that read as other names are refused; the invitation link has a page.
    let bidi = hub.call("POST", "/api/v1/teams", &hub.admin, Some(&json!({"name": "plat\u{202e}form"})));
    assert_eq!(bidi.status, 400);
    let page = hub.call("GET", "/join?code=ABCD-EFGH-JKMN-PQRS", "", None);
    assert!(
        page.status == 200 && page.body.contains("paired team join") && page.body.contains("ABCD-EFGH-JKMN-PQRS"),
        "{page:?}"
    );
    // Members and viewers see names, not addresses.
    let seen = hub.call("GET", "/api/v1/members", &ada.token, None).json();
    assert!(!seen.to_string().contains("@example.com"), "{seen}");
    let seen = hub.call("GET", "/api/v1/members", &lead.token, None).json();
    assert!(seen.to_string().contains("ada@example.com"));
}

/// A hub not behind a proxy serves HTTPS itself (rustls), with the
/// certificate it is given; plain HTTP to it gets nothing.
#[test]
fn the_hub_serves_https_with_its_own_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args([
            "-subj",
            "/CN=hub.test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{made:?}");
    let pg = Postgres::get();
    let (cert_text, key_text) = (cert.display().to_string(), key.display().to_string());
    let hub = Hub::start_with(&pg, "tls", &[("PAIRED_HUB_TLS_CERT", &cert_text), ("PAIRED_HUB_TLS_KEY", &key_text)]);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let trusted = reqwest::Certificate::from_pem(&std::fs::read(&cert).expect("cert")).expect("pem");
        let client = reqwest::Client::builder().tls_certs_only([trusted]).build().expect("client");
        let url = format!("https://127.0.0.1:{}/api/v1/org", hub.port);
        let reply = client.get(&url).bearer_auth(&hub.admin).send().await.expect("https");
        assert_eq!(reply.status(), 200);
        let org: Value = reply.json().await.expect("json");
        assert_eq!(org["name"], "tls");
        // A client that does not trust the certificate does not get through.
        let stranger = reqwest::Client::builder().tls_certs_only([]).build().expect("client");
        assert!(stranger.get(&url).send().await.is_err());
    });
    let plain = hub.call("GET", "/api/v1/org", &hub.admin, None);
    assert_ne!(plain.status, 200, "{plain:?}");
}
