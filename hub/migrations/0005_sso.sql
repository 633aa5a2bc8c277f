-- Sign-in with OpenID Connect: a member's subject at the identity provider,
-- the group whose members a team follows, sign-ins in progress (state, PKCE
-- verifier, nonce: single use, ten minutes) and one-time codes a CLI trades
-- for a device token.

alter table members add column oidc_subject text;
create unique index members_oidc_subject on members (org_id, oidc_subject) where oidc_subject is not null;

alter table teams add column sso_group text;
create unique index teams_sso_group on teams (org_id, sso_group) where sso_group is not null;

create table sso_logins (
    state       text primary key,
    org_id      bigint not null references orgs(id),
    verifier    text not null,
    nonce       text not null,
    -- the loopback address of a CLI waiting for the sign-in; null: a browser
    redirect    text,
    device      text,
    created_at  timestamptz not null default now()
);

create table sso_codes (
    code_hash   bytea primary key,
    org_id      bigint not null references orgs(id),
    member_id   bigint not null references members(id) on delete cascade,
    device      text not null,
    expires_at  timestamptz not null
);
