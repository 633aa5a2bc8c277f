//! Who may do what: the one table of roles × actions, and the one check every
//! endpoint makes (`may`). `docs/team.md`'s table is `markdown_table()`'s output
//! (a test keeps them equal), and `GET /api/v1/roles` serves the same matrix.

use serde::{Deserialize, Serialize};

/// A member's role in the organisation, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    TeamLead,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Manager, Role::TeamLead, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::TeamLead => "team_lead",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// Whether a member of this role may give `other` to someone (invite with
    /// it, set it): an admin any role, anyone else only roles below their own.
    pub fn may_grant(self, other: Role) -> bool {
        self == Role::Admin || other > self
    }
}

/// What a token must carry besides its holder's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Reading: any token but a device's.
    Read,
    /// Changing: personal tokens with the `write` scope.
    Write,
    /// What a joined daemon needs: any token. (A device token is its
    /// member's credential on their own machine, as `gh auth token` is: it may
    /// make them a personal token.)
    Device,
}

/// Where an action applies: the whole organisation, or one team (which a team
/// lead may act on only when they are in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    Org,
    Team(i64),
}

macro_rules! actions {
    ($( $variant:ident $name:literal $method:literal $path:literal $scope:ident [$($role:ident),*] $team:literal $doc:literal; )*) => {
        /// Every action the hub's API offers, one per endpoint.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The action's name, as the audit log and the roles matrix say it.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            /// The endpoint that performs it.
            pub fn endpoint(self) -> (&'static str, &'static str) {
                match self { $(Action::$variant => ($method, $path),)* }
            }

            pub fn scope(self) -> Scope {
                match self { $(Action::$variant => Scope::$scope,)* }
            }

            /// The roles it is granted to (a team lead's only within their teams
            /// when `team_scoped`).
            pub fn roles(self) -> &'static [Role] {
                match self { $(Action::$variant => &[$(Role::$role),*],)* }
            }

            /// Whether a team lead may do it only within a team they belong to.
            pub fn team_scoped(self) -> bool {
                match self { $(Action::$variant => $team,)* }
            }

            pub fn describe(self) -> &'static str {
                match self { $(Action::$variant => $doc,)* }
            }
        }
    };
}

actions! {
    OrgRead "org.read" "GET" "/api/v1/org" Device [Admin, Manager, TeamLead, Member, Viewer] false "see the organisation";
    MeRead "me.read" "GET" "/api/v1/me" Device [Admin, Manager, TeamLead, Member, Viewer] false "see oneself, one's teams and role";
    RolesRead "roles.read" "GET" "/api/v1/roles" Read [Admin, Manager, TeamLead, Member, Viewer] false "see this table";
    TeamsList "teams.list" "GET" "/api/v1/teams" Read [Admin, Manager, TeamLead, Member, Viewer] false "list teams and their members";
    TeamsCreate "teams.create" "POST" "/api/v1/teams" Write [Admin, Manager] false "create a team";
    TeamsDelete "teams.delete" "DELETE" "/api/v1/teams/{team}" Write [Admin, Manager] false "delete a team";
    TeamMembersAdd "teams.members.add" "PUT" "/api/v1/teams/{team}/members/{member}" Write [Admin, Manager, TeamLead] true "put a member in a team";
    TeamMembersRemove "teams.members.remove" "DELETE" "/api/v1/teams/{team}/members/{member}" Write [Admin, Manager, TeamLead] true "take a member out of a team";
    TeamsMapGroup "teams.map_group" "PUT" "/api/v1/teams/{team}/sso-group" Write [Admin, Manager] false "make a team follow an identity-provider group (members join and leave it as they sign in)";
    MembersList "members.list" "GET" "/api/v1/members" Read [Admin, Manager, TeamLead, Member, Viewer] false "list members (name, role, status, teams; addresses for admins, managers and team leads)";
    MembersSetRole "members.set_role" "PUT" "/api/v1/members/{member}/role" Write [Admin] false "change a member's role";
    MembersDeactivate "members.deactivate" "POST" "/api/v1/members/{member}/deactivate" Write [Admin, Manager] false "deactivate a member (their tokens stop working)";
    MembersReactivate "members.reactivate" "POST" "/api/v1/members/{member}/reactivate" Write [Admin, Manager] false "reactivate a member";
    MembersErase "members.erase" "DELETE" "/api/v1/members/{member}" Write [Admin] false "delete a member's personal data";
    InvitationsCreate "invitations.create" "POST" "/api/v1/invitations" Write [Admin, Manager, TeamLead] true "invite someone (a team lead: into their team, as member or viewer)";
    InvitationsList "invitations.list" "GET" "/api/v1/invitations" Read [Admin, Manager] false "list pending invitations";
    InvitationsRevoke "invitations.revoke" "DELETE" "/api/v1/invitations/{invitation}" Write [Admin, Manager] false "revoke an invitation";
    TokensCreate "tokens.create" "POST" "/api/v1/tokens" Device [Admin, Manager, TeamLead, Member, Viewer] false "create a personal access token for oneself";
    TokensList "tokens.list" "GET" "/api/v1/tokens" Read [Admin, Manager, TeamLead, Member, Viewer] false "list one's own tokens";
    TokensRevoke "tokens.revoke" "DELETE" "/api/v1/tokens/{token}" Device [Admin, Manager, TeamLead, Member, Viewer] false "revoke one of one's own tokens";
    TokensListAny "tokens.list_any" "GET" "/api/v1/members/{member}/tokens" Read [Admin] false "list any member's tokens";
    TokensRevokeAny "tokens.revoke_any" "DELETE" "/api/v1/members/{member}/tokens/{token}" Write [Admin] false "revoke any member's token (a lost laptop)";
    UsagePush "usage.push" "POST" "/api/v1/usage" Device [Admin, Manager, TeamLead, Member, Viewer] false "send one's own usage events (a joined daemon does)";
    UsageRead "usage.read" "GET" "/api/v1/usage" Read [Admin, Manager, TeamLead, Viewer] true "query usage: totals and time series by member, team, agent, provider, model (a team lead: their teams')";
    UsageOwn "usage.own" "GET" "/api/v1/me/usage" Device [Admin, Manager, TeamLead, Member, Viewer] false "query one's own usage";
    PricesRead "prices.read" "GET" "/api/v1/prices" Read [Admin, Manager, TeamLead, Member, Viewer] false "see the price table usage is costed with";
    PricesWrite "prices.write" "PUT" "/api/v1/prices" Write [Admin] false "set the price of a provider's model";
    PolicyRead "policy.read" "GET" "/api/v1/policy" Device [Admin, Manager, TeamLead, Member, Viewer] false "get one's own policy, signed by the hub (a joined daemon does)";
    PoliciesList "policies.list" "GET" "/api/v1/policies" Read [Admin, Manager] false "see every scope's policy rules";
    PoliciesSet "policies.set" "PUT" "/api/v1/policies" Write [Admin] false "set the rules of the organisation, a team or a member";
    QuotasList "quotas.list" "GET" "/api/v1/quotas" Read [Admin, Manager] false "see the quotas and how much of each is used";
    QuotasSet "quotas.set" "PUT" "/api/v1/quotas" Write [Admin] false "set a quota (runs, tokens or cost per day or month, of the organisation, a team, a member, an agent or a provider)";
    QuotasDelete "quotas.delete" "DELETE" "/api/v1/quotas/{quota}" Write [Admin] false "remove a quota";
    QuotaLease "quota.lease" "POST" "/api/v1/quota/lease" Device [Admin, Manager, TeamLead, Member, Viewer] false "take a lease on one's quotas (a joined daemon does, before model runs)";
    QuotaRelease "quota.release" "POST" "/api/v1/quota/release" Device [Admin, Manager, TeamLead, Member, Viewer] false "give back what a lease did not use";
    QuotaOwn "quota.own" "GET" "/api/v1/me/quota" Device [Admin, Manager, TeamLead, Member, Viewer] false "see the quotas that apply to oneself, used and left";
    RegistryInit "registry.init" "POST" "/api/v1/registry" Write [Admin] false "create the organisation's private agent registry";
    RegistryRead "registry.read" "GET" "/api/v1/registry" Device [Admin, Manager, TeamLead, Member, Viewer] false "see the agent registry: its address, its root of trust, its packages (a joined daemon does)";
    RegistryFetch "registry.fetch" "GET" "/api/v1/registry/repository/{kind}/{file}" Device [Admin, Manager, TeamLead, Member, Viewer] false "read the registry's signed metadata and packages (a joined daemon's installs do)";
    RegistryPublish "registry.publish" "POST" "/api/v1/registry/packages" Write [Admin, Manager, TeamLead] false "publish an agent package to the registry (checked and certified by the hub)";
    RegistryYank "registry.yank" "POST" "/api/v1/registry/packages/{name}/{version}/yank" Write [Admin, Manager] false "yank a package version (or take the yank back)";
    RegistryCurate "registry.curate" "POST" "/api/v1/registry/packages/{name}/{version}/curate" Write [Admin, Manager] false "mark a package version as curated by the organisation";
    AuditRead "audit.read" "GET" "/api/v1/audit" Read [Admin] false "read and export the audit log";
}

/// Whether `role` may perform `action` at all (before the team check).
pub fn permits(role: Role, action: Action) -> bool {
    action.roles().contains(&role)
}

/// The one check: whether a holder of `role`, in `teams`, with a token of
/// `scopes`, may perform `action` `within` the organisation or a team.
pub fn may(role: Role, teams: &[i64], scopes: &[String], action: Action, within: Within) -> bool {
    let scoped = match action.scope() {
        Scope::Read => scopes.iter().any(|s| s == "read" || s == "write"),
        Scope::Write => scopes.iter().any(|s| s == "write"),
        // A read-only token reads (GET) what a device may; it changes nothing.
        Scope::Device => {
            scopes.iter().any(|s| s == "device" || s == "write")
                || (action.endpoint().0 == "GET" && scopes.iter().any(|s| s == "read"))
        }
    };
    if !scoped || !permits(role, action) {
        return false;
    }
    match (role, within) {
        (Role::TeamLead, Within::Team(team)) if action.team_scoped() => teams.contains(&team),
        (Role::TeamLead, Within::Org) if action.team_scoped() => false,
        _ => true,
    }
}

/// The roles × actions table for `docs/team.md`.
pub fn markdown_table() -> String {
    let mut out = String::from("| action | endpoint | admin | manager | team lead | member | viewer |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for &action in Action::ALL {
        let (method, path) = action.endpoint();
        out.push_str(&format!("| {} — {} | `{method} {path}` |", action.name(), action.describe()));
        for role in Role::ALL {
            let mark = match (permits(role, action), role == Role::TeamLead && action.team_scoped()) {
                (false, _) => " — |",
                (true, true) => " own teams |",
                (true, false) => " ✓ |",
            };
            out.push_str(mark);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write() -> Vec<String> {
        vec!["write".to_owned()]
    }

    #[test]
    fn a_team_lead_acts_only_on_their_own_teams() {
        let action = Action::TeamMembersAdd;
        assert!(may(Role::TeamLead, &[3], &write(), action, Within::Team(3)));
        assert!(!may(Role::TeamLead, &[3], &write(), action, Within::Team(4)));
        assert!(!may(Role::TeamLead, &[3], &write(), action, Within::Org));
        assert!(may(Role::Manager, &[], &write(), action, Within::Team(4)));
        assert!(!may(Role::Member, &[4], &write(), action, Within::Team(4)));
    }

    #[test]
    fn scopes_narrow_what_a_role_may_do() {
        let read = vec!["read".to_owned()];
        let device = vec!["device".to_owned()];
        assert!(may(Role::Admin, &[], &read, Action::AuditRead, Within::Org));
        assert!(!may(Role::Admin, &[], &read, Action::TeamsCreate, Within::Org));
        assert!(!may(Role::Admin, &[], &device, Action::MembersList, Within::Org));
        assert!(may(Role::Viewer, &[], &device, Action::MeRead, Within::Org));
        assert!(may(Role::Member, &[], &read, Action::MeRead, Within::Org));
        assert!(!may(Role::Member, &[], &read, Action::TokensCreate, Within::Org), "read-only makes nothing");
        assert!(!may(Role::Member, &[], &read, Action::UsagePush, Within::Org));
        assert!(!may(Role::Admin, &[], &[], Action::MeRead, Within::Org));
    }

    #[test]
    fn no_role_grants_above_itself() {
        assert!(Role::Admin.may_grant(Role::Admin));
        assert!(Role::Manager.may_grant(Role::TeamLead));
        assert!(!Role::Manager.may_grant(Role::Manager));
        assert!(!Role::Manager.may_grant(Role::Admin));
        assert!(!Role::TeamLead.may_grant(Role::TeamLead));
        assert!(Role::TeamLead.may_grant(Role::Viewer));
    }

    #[test]
    fn every_endpoint_is_named_once() {
        let mut seen = std::collections::HashSet::new();
        for &action in Action::ALL {
            assert!(seen.insert(action.endpoint()), "{:?} repeats an endpoint", action);
            assert!(!action.roles().is_empty());
        }
    }

    /// `docs/team.md` shows the table the code enforces.
    #[test]
    fn the_docs_table_is_the_enforced_one() {
        let docs = include_str!("../../docs/team.md");
        let table = markdown_table();
        assert!(docs.contains(&table), "docs/team.md's roles table differs from the code's; replace it with:\n{table}");
    }
}
