-- The organisation: teams, members and their roles, invitations, tokens, and
-- the audit log of every administrative action.

create table orgs (
    id          bigint generated always as identity primary key,
    name        text not null unique,
    created_at  timestamptz not null default now()
);

create table members (
    id            bigint generated always as identity primary key,
    org_id        bigint not null references orgs(id),
    -- null once the member's personal data is deleted
    email         text,
    display_name  text,
    role          text not null check (role in ('admin', 'manager', 'team_lead', 'member', 'viewer')),
    status        text not null default 'active' check (status in ('active', 'deactivated', 'deleted')),
    created_at    timestamptz not null default now(),
    deleted_at    timestamptz,
    check ((status = 'deleted') = (email is null))
);
create unique index members_email on members (org_id, lower(email)) where email is not null;

create table teams (
    id          bigint generated always as identity primary key,
    org_id      bigint not null references orgs(id),
    name        text not null,
    created_at  timestamptz not null default now(),
    unique (org_id, name)
);

create table team_members (
    team_id    bigint not null references teams(id) on delete cascade,
    member_id  bigint not null references members(id) on delete cascade,
    primary key (team_id, member_id)
);
create index team_members_member on team_members (member_id);

create table invitations (
    id          bigint generated always as identity primary key,
    org_id      bigint not null references orgs(id),
    code_hash   bytea not null unique,
    -- who may use it: one address, or anyone holding the code (max_uses times)
    email       text,
    role        text not null check (role in ('admin', 'manager', 'team_lead', 'member', 'viewer')),
    team_id     bigint references teams(id) on delete cascade,
    max_uses    integer not null check (max_uses > 0),
    uses        integer not null default 0,
    expires_at  timestamptz not null,
    created_by  bigint references members(id),
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);

create table tokens (
    id            bigint generated always as identity primary key,
    org_id        bigint not null references orgs(id),
    member_id     bigint not null references members(id),
    kind          text not null check (kind in ('personal', 'device')),
    name          text not null,
    -- SHA-256 of the token: the token itself is shown once and never stored
    token_hash    bytea not null unique,
    scopes        text[] not null,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    created_at    timestamptz not null default now()
);
create index tokens_member on tokens (member_id);

create table audit_log (
    id         bigint generated always as identity primary key,
    org_id     bigint not null references orgs(id),
    at         timestamptz not null default now(),
    -- null: the break-glass admin token
    actor_id   bigint references members(id),
    action     text not null,
    target     text not null,
    -- never personal data: members are named by id
    details    jsonb not null default '{}'
);
create index audit_log_org_at on audit_log (org_id, at desc);
