-- Quotas: limits on runs, tokens and estimated cost per organisation, team,
-- member, agent or provider, per day or month (UTC). Daemons hold leases: an
-- allowance reserved on every counter that applies, all at once or not at all,
-- under row locks, so no number of concurrent requests on any number of
-- replicas takes a counter past its limit.

create table quotas (
    id            bigint generated always as identity primary key,
    org_id        bigint not null references orgs(id),
    subject_kind  text not null check (subject_kind in ('org', 'team', 'member', 'agent', 'provider')),
    -- a team or member id, an agent or provider name; '*': each one separately
    subject       text not null,
    metric        text not null check (metric in ('runs', 'tokens', 'cost_usd')),
    period        text not null check (period in ('day', 'month')),
    quota_limit   numeric(20, 6) not null check (quota_limit >= 0),
    created_at    timestamptz not null default now(),
    unique (org_id, subject_kind, subject, metric, period)
);

create table quota_usage (
    quota_id      bigint not null references quotas(id) on delete cascade,
    -- whom it counts: 'org', a team or member id, an agent or provider name
    subject_key   text not null,
    period_start  timestamptz not null,
    used          numeric(20, 6) not null default 0,
    primary key (quota_id, subject_key, period_start)
);

create table leases (
    id           bigint generated always as identity primary key,
    org_id       bigint not null references orgs(id),
    member_id    bigint references members(id),
    agent        text not null,
    provider     text not null,
    runs         integer not null,
    tokens       bigint not null,
    cost_usd     numeric(20, 9) not null,
    granted_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    released_at  timestamptz,
    -- the counters it reserved on: [{"quota", "key", "period_start", "amount"}]
    reserved     jsonb not null
);
create index leases_member on leases (member_id);
