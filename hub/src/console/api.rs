//! The console's API on the hub: the same paths and shapes as the daemon's
//! (`console/src/api.ts`), for an organisation, each checked against the
//! member's role with the hub's actions — usage as `usage.read` allows it
//! (the organisation; a team lead, their teams; a member, their own, as
//! `usage.own`), the team as `members.list`, `invitations.list` and
//! `tokens.list`, the policy as `policies.list` (every scope) or `policy.read`
//! (one's own), the audit log as `audit.read`.

use std::collections::{BTreeMap, BTreeSet};

use analytics::{Period, Price, Prices, Rollup};
use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Session;
use crate::{
    Hub,
    auth::Principal,
    error::ApiError,
    roles::{Action, Role, Within},
};

/// The dimensions usage can be grouped by on a hub.
pub(super) const DIMENSIONS: [&str; 6] = ["agent", "provider", "model", "kind", "member", "team"];

pub fn router() -> Router<Hub> {
    Router::new()
        .route("/console/api/about", get(about))
        .route("/console/api/sso/login", get(|| async { (StatusCode::SEE_OTHER, [(header::LOCATION, "/auth/login")]) }))
        .route("/console/api/session", axum::routing::delete(sign_out))
        .route("/console/api/me", get(me))
        .route("/console/api/overview", get(overview))
        .route("/console/api/usage", get(super::usage::usage))
        .route("/console/api/cost", get(cost))
        .route("/console/api/team", get(team))
        .route("/console/api/policy", get(policy))
        .route("/console/api/policy/explain", get(explain))
        .route("/console/api/audit", get(audit))
}

async fn about(State(hub): State<Hub>) -> Json<Value> {
    Json(json!({"backend": "hub", "sso": hub.oidc.is_some()}))
}

async fn sign_out(State(hub): State<Hub>, session: Session) -> Result<Response, ApiError> {
    let client = hub.pool.get().await?;
    client.execute("delete from console_sessions where id_hash = $1", &[&session.id_hash.as_slice()]).await?;
    let clear = "paired_hub_console=; Path=/console/; HttpOnly; SameSite=Strict; Max-Age=0";
    Ok(([(header::SET_COOKIE, clear)], Json(json!({"signed_out": true}))).into_response())
}

fn allowed(who: &Principal, action: Action) -> bool {
    who.check(action, Within::Org).is_ok()
}

async fn me(State(hub): State<Hub>, session: Session) -> Result<Json<Value>, ApiError> {
    let who = &session.who;
    let mut pages = vec!["overview", "usage", "cost"];
    if allowed(who, Action::MembersList) {
        pages.push("team");
    }
    pages.push("policy");
    if allowed(who, Action::AuditRead) {
        pages.push("audit");
    }
    let client = hub.pool.get().await?;
    let org: String = client.query_one("select name from orgs where id = $1", &[&hub.org]).await?.get(0);
    Ok(Json(json!({
        "backend": "hub",
        "name": session.name,
        "role": who.role.as_str(),
        "version": env!("CARGO_PKG_VERSION"),
        "pages": pages,
        "team": {"org": org, "hub": hub.public_url},
    })))
}

/// Whose usage the member may see.
pub(super) enum Scope {
    Org,
    Teams(Vec<i64>),
    Member(i64),
}

pub(super) fn scope(who: &Principal) -> Result<Scope, ApiError> {
    if allowed(who, Action::UsageRead) {
        return Ok(Scope::Org);
    }
    if who.role == Role::TeamLead && !who.teams.is_empty() {
        return Ok(Scope::Teams(who.teams.clone()));
    }
    who.check(Action::UsageOwn, Within::Org)?;
    Ok(Scope::Member(who.member()?))
}

impl Scope {
    /// `AND …` on a rollup table aliased `d`; `$4` is its argument.
    pub(super) fn clause(&self) -> &'static str {
        match self {
            Scope::Org => "and $4::int8[] is not null",
            Scope::Teams(_) => "and d.team_ids && $4::int8[]",
            Scope::Member(_) => "and d.member_key = any($4::int8[])",
        }
    }

    pub(super) fn arg(&self) -> Vec<i64> {
        match self {
            Scope::Org => Vec::new(),
            Scope::Teams(teams) => teams.clone(),
            Scope::Member(member) => vec![*member],
        }
    }
}

pub(super) fn days(from: i64) -> jiff::civil::Date {
    jiff::Timestamp::from_second(from * 86_400).map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date()).unwrap_or_default()
}

/// Rollup rows of the period, grouped by day, kind, agent, provider and model.
async fn rollups(
    client: &deadpool_postgres::Client,
    org: i64,
    period: Period,
    scope: &Scope,
) -> Result<Vec<Rollup>, ApiError> {
    // The organisation's views read the rollups without the member dimension,
    // a team lead's those without the member, a member's their own rows.
    let (table, clause) = match scope {
        Scope::Org => ("usage_daily_org", "and $4::int8[] is not null"),
        Scope::Teams(_) => ("usage_team_daily", scope.clause()),
        Scope::Member(_) => ("usage_daily", scope.clause()),
    };
    let sql = format!(
        "select (d.day - date '1970-01-01')::int8, d.kind, d.agent, d.provider, d.model, sum(d.runs)::int8,
                sum(d.errors)::int8, sum(d.tokens_in)::int8, sum(d.tokens_out)::int8, sum(d.cost_usd)::float8,
                sum(d.findings)::int8, sum(d.edits)::int8, sum(d.accepted)::int8
           from {table} d where d.org_id = $1 and d.day between $2 and $3 {clause}
          group by 1, 2, 3, 4, 5"
    );
    let rows = client.query(&sql, &[&org, &days(period.from), &days(period.to), &scope.arg()]).await?;
    Ok(rows
        .iter()
        .map(|r| Rollup {
            day: r.get(0),
            kind: r.get(1),
            agent: r.get(2),
            provider: r.get(3),
            model: r.get(4),
            runs: r.get(5),
            errors: r.get(6),
            tokens_in: r.get(7),
            tokens_out: r.get(8),
            cost_usd: r.get(9),
            findings: r.get(10),
            edits: r.get(11),
            accepted: r.get(12),
            ..Rollup::default()
        })
        .collect())
}

async fn prices(client: &deadpool_postgres::Client, org: i64) -> Result<Prices, ApiError> {
    let rows = client
        .query(
            "select provider, model, input_per_mtok::float8, output_per_mtok::float8 from prices where org_id = $1",
            &[&org],
        )
        .await?;
    let mut prices = Prices::default();
    for r in &rows {
        prices.0.insert((r.get(0), r.get(1)), Price { input_per_mtok: r.get(2), output_per_mtok: r.get(3) });
    }
    Ok(prices)
}

/// Used `provider/model` pairs with tokens but no price.
fn unpriced(rows: &[Rollup], prices: &Prices) -> Vec<String> {
    let unpriced: BTreeSet<String> = rows
        .iter()
        .filter(|r| {
            !r.provider.is_empty() && r.tokens_in + r.tokens_out > 0 && prices.get(&r.provider, &r.model).is_none()
        })
        .map(|r| format!("{}/{}", r.provider, r.model))
        .collect();
    unpriced.into_iter().collect()
}

#[derive(Deserialize)]
struct PeriodQuery {
    days: Option<u32>,
}

pub(super) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn overview(
    State(hub): State<Hub>,
    session: Session,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(&session.who)?;
    let now = now_ms();
    let period = Period::last(q.days.unwrap_or(30), now);
    let client = hub.pool.get().await?;
    let rows = rollups(&client, hub.org, period.with_two_weeks(now), &scope).await?;
    let prices = prices(&client, hub.org).await?;
    let mut report = analytics::overview(period, now, &rows, unpriced(&rows, &prices));
    // Active members: people, counted in the store (rows above are summed over
    // them); for the organisation, from who was active each day.
    let (table, clause) = match scope {
        Scope::Org => ("usage_active", "and $4::int8[] is not null"),
        _ => ("usage_member_daily", scope.clause()),
    };
    let sql = format!(
        "select (d.day - date '1970-01-01')::int8, count(distinct d.member_key)::int8 from {table} d
          where d.org_id = $1 and d.day between $2 and $3 and d.member_key <> 0 {clause} group by 1"
    );
    let widest = period.with_two_weeks(now);
    let per_day: BTreeMap<i64, i64> = client
        .query(&sql, &[&hub.org, &days(widest.from), &days(widest.to), &scope.arg()])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (day, entry) in period.days().zip(report.days.iter_mut()) {
        entry.members = per_day.get(&day).copied().unwrap_or(0);
    }
    let weeks = Period::last(14, now);
    let distinct = |from: i64, to: i64| {
        let sql = format!(
            "select count(distinct d.member_key)::int8 from {table} d
              where d.org_id = $1 and d.day between $2 and $3 and d.member_key <> 0 {clause}"
        );
        let (client, org, arg) = (&client, hub.org, scope.arg());
        async move { client.query_one(&sql, &[&org, &days(from), &days(to), &arg]).await.map(|r| r.get::<_, i64>(0)) }
    };
    report.this_week.members = distinct(weeks.to - 6, weeks.to).await?;
    report.last_week.members = distinct(weeks.from, weeks.to - 7).await?;
    Ok(Json(report).into_response())
}

/// Who and which team each number is: members' names (`(deleted members)`
/// for those whose data was deleted) and teams' names.
pub(super) struct Names {
    pub(super) members: BTreeMap<i64, String>,
    pub(super) teams: BTreeMap<i64, String>,
}

impl Names {
    pub(super) async fn load(client: &deadpool_postgres::Client, org: i64) -> Result<Names, ApiError> {
        let named: Vec<(i64, String)> = client
            .query("select id, coalesce(display_name, email, 'member ' || id) from members where org_id = $1", &[&org])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        // Names are the members' own to choose: one that another member has
        // too, or that reads as a placeholder, gets the member's number, so
        // no two members are ever counted (or filtered) as one.
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, name) in &named {
            *seen.entry(name.as_str()).or_default() += 1;
        }
        let members = named
            .iter()
            .map(|(id, name)| {
                let unique = seen.get(name.as_str()) == Some(&1) && !name.starts_with('(');
                (*id, if unique { name.clone() } else { format!("{name} (#{id})") })
            })
            .chain([(0, "(deleted members)".to_owned())])
            .collect();
        let teams = client
            .query("select id, name from teams where org_id = $1", &[&org])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(Names { members, teams })
    }

    pub(super) fn member(&self, id: i64) -> String {
        self.members.get(&id).cloned().unwrap_or_else(|| format!("member {id}"))
    }

    pub(super) fn team(&self, id: i64) -> String {
        if id == 0 {
            "(no team)".to_owned()
        } else {
            self.teams.get(&id).cloned().unwrap_or_else(|| format!("team {id}"))
        }
    }
}

pub(super) fn csv(name: &str, text: String) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response()
}

async fn cost(State(hub): State<Hub>, session: Session, Query(q): Query<PeriodQuery>) -> Result<Response, ApiError> {
    let scope = scope(&session.who)?;
    let period = Period::last(q.days.unwrap_or(30), now_ms());
    let client = hub.pool.get().await?;
    let rows = rollups(&client, hub.org, period, &scope).await?;
    let prices = prices(&client, hub.org).await?;
    let unpriced = unpriced(&rows, &prices);
    Ok(Json(analytics::cost(&rows, &prices, &BTreeMap::new(), unpriced)).into_response())
}

async fn team(State(hub): State<Hub>, session: Session) -> Result<Json<Value>, ApiError> {
    let who = &session.who;
    who.check(Action::MembersList, Within::Org)?;
    let client = hub.pool.get().await?;
    let names = Names::load(&client, hub.org).await?;
    let addresses = matches!(who.role, Role::Admin | Role::Manager | Role::TeamLead);
    let members: Vec<Value> = client
        .query(
            "select m.id, m.email, coalesce(m.display_name, m.email, 'member ' || m.id), m.role, m.status,
                    array(select team_id from team_members where member_id = m.id order by team_id)
               from members m where m.org_id = $1 and m.status <> 'deleted' order by m.id",
            &[&hub.org],
        )
        .await?
        .iter()
        .map(|r| {
            let teams: Vec<String> = r.get::<_, Vec<i64>>(5).into_iter().map(|t| names.team(t)).collect();
            json!({
                "id": r.get::<_, i64>(0),
                "email": if addresses { r.get::<_, Option<String>>(1) } else { None },
                "name": names.member(r.get(0)),
                "role": r.get::<_, String>(3),
                "active": r.get::<_, String>(4) == "active",
                "teams": teams,
            })
        })
        .collect();
    let invitations: Vec<Value> = if allowed(who, Action::InvitationsList) {
        client
            .query(
                "select id, role, email, expires_at::text, uses, max_uses from invitations
                  where org_id = $1 and revoked_at is null and expires_at > now() and uses < max_uses order by id",
                &[&hub.org],
            )
            .await?
            .iter()
            .map(|r| {
                json!({"id": r.get::<_, i64>(0), "role": r.get::<_, String>(1), "email": r.get::<_, Option<String>>(2),
                       "expires_at": r.get::<_, String>(3), "uses": r.get::<_, i32>(4), "max_uses": r.get::<_, i32>(5)})
            })
            .collect()
    } else {
        Vec::new()
    };
    let tokens: Vec<Value> = client
        .query(
            "select id, name, array_to_string(scopes, ', '), expires_at::text, last_used_at::text from tokens
              where member_id = $1 and revoked_at is null and (expires_at is null or expires_at > now()) order by id",
            &[&who.member()?],
        )
        .await?
        .iter()
        .map(|r| {
            json!({"id": r.get::<_, i64>(0), "name": r.get::<_, String>(1), "scope": r.get::<_, String>(2),
                   "expires_at": r.get::<_, Option<String>>(3), "last_used_at": r.get::<_, Option<String>>(4)})
        })
        .collect();
    Ok(Json(json!({"members": members, "invitations": invitations, "tokens": tokens})))
}

/// The rules as rows: `path: value` per set rule, with the level and source.
fn rule_rows(scope: &str, rules: &policy::rules::Rules) -> Vec<Value> {
    fn walk(prefix: &str, value: Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    walk(&if prefix.is_empty() { key } else { format!("{prefix}.{key}") }, value, out);
                }
            }
            Value::Null => {}
            leaf => out.push((prefix.to_owned(), leaf.to_string())),
        }
    }
    let mut leaves = Vec::new();
    walk("", serde_json::to_value(rules).unwrap_or_default(), &mut leaves);
    let level = scope.split(':').next().unwrap_or(scope);
    leaves
        .into_iter()
        .map(|(path, value)| json!({"rule": format!("{path}: {value}"), "level": level, "source": scope}))
        .collect()
}

const ACTIONS: [&str; 6] = ["run", "model", "send", "install", "grant", "mcp"];

async fn policy(State(hub): State<Hub>, session: Session) -> Result<Json<Value>, ApiError> {
    let who = &session.who;
    let client = hub.pool.get().await?;
    let (summary, rules) = if allowed(who, Action::PoliciesList) {
        let names = Names::load(&client, hub.org).await?;
        let mut rules = Vec::new();
        for r in client.query("select scope, rules from policies where org_id = $1 order by scope", &[&hub.org]).await?
        {
            let scope: String = r.get(0);
            let label = match scope.split_once(':') {
                Some(("team", id)) => format!("team:{}", names.team(id.parse().unwrap_or(0))),
                Some(("member", id)) => format!("member:{}", names.member(id.parse().unwrap_or(0))),
                _ => scope,
            };
            if let Ok(parsed) = serde_json::from_value::<policy::rules::Rules>(r.get(1)) {
                rules.extend(rule_rows(&label, &parsed));
            }
        }
        (
            "Every scope's rules: the organisation's, each team's, each member's. A deny anywhere wins; then each allow list must allow.",
            rules,
        )
    } else {
        who.check(Action::PolicyRead, Within::Org)?;
        let sources = crate::api::policy::sources(&client, hub.org, who.member()?).await?;
        let rules = sources.iter().flat_map(|s| rule_rows(&s.scope, &s.rules)).collect();
        ("The rules that apply to you: the organisation's, your teams', your own. A deny anywhere wins.", rules)
    };
    Ok(Json(json!({"state": "applies", "summary": summary, "rules": rules, "actions": ACTIONS})))
}

#[derive(Deserialize)]
struct ExplainQuery {
    action: String,
    what: String,
}

async fn explain(
    State(hub): State<Hub>,
    session: Session,
    Query(q): Query<ExplainQuery>,
) -> Result<Json<Value>, ApiError> {
    let who = &session.who;
    who.check(Action::PolicyRead, Within::Org)?;
    let action = policy::rules::Action::parse(&format!("{}:{}", q.action, q.what)).map_err(ApiError::Invalid)?;
    let client = hub.pool.get().await?;
    let sources = crate::api::policy::sources(&client, hub.org, who.member()?).await?;
    let sources: Vec<(String, policy::rules::Rules)> = sources.into_iter().map(|s| (s.scope, s.rules)).collect();
    let decision = policy::rules::decide(&sources, &action);
    let (because, level) = (decision.because(), decision.level());
    Ok(Json(json!({"allowed": decision.allowed, "because": because, "level": level})))
}

#[derive(Deserialize)]
struct AuditQuery {
    q: Option<String>,
    limit: Option<i64>,
    format: Option<String>,
}

async fn audit(State(hub): State<Hub>, session: Session, Query(q): Query<AuditQuery>) -> Result<Response, ApiError> {
    session.who.check(Action::AuditRead, Within::Org)?;
    let search = q.q.unwrap_or_default();
    let pattern = format!("%{}%", search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let limit = q.limit.unwrap_or(200).clamp(1, 10_000);
    let client = hub.pool.get().await?;
    let rows = client
        .query(
            "select (extract(epoch from a.at) * 1000)::int8, coalesce(m.display_name, m.email, case when a.actor_id is null then 'break-glass admin' else 'member ' || a.actor_id end),
                    a.action, a.target, a.details::text
               from audit_log a left join members m on m.id = a.actor_id
              where a.org_id = $1 and ($2 = '' or a.action ilike $3 or a.target ilike $3 or a.details::text ilike $3
                    or coalesce(m.display_name, m.email, '') ilike $3)
              order by a.id desc limit $4",
            &[&hub.org, &search, &pattern, &limit],
        )
        .await?;
    let events: Vec<(i64, String, String, String, String)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect();
    if q.format.as_deref() == Some("csv") {
        let rows =
            events.iter().map(|e| vec![analytics::day_time(e.0), e.1.clone(), e.2.clone(), e.3.clone(), e.4.clone()]);
        return Ok(csv("paired-audit.csv", analytics::to_csv(&["at", "actor", "action", "target", "details"], rows)));
    }
    let events: Vec<Value> = events
        .into_iter()
        .map(|(at_ms, actor, action, target, details)| json!({"at_ms": at_ms, "actor": actor, "action": action, "target": target, "details": details}))
        .collect();
    Ok(Json(json!({"events": events})).into_response())
}
