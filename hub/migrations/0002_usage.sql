-- Usage: events daemons send in batches, each once (a retried batch is never
-- counted twice: (member, id) is unique), with the cost estimated at arrival
-- from the price table an admin edits.

create table prices (
    org_id               bigint not null references orgs(id),
    provider             text not null,
    model                text not null,
    -- US dollars per million tokens
    input_per_mtok       numeric(12, 6) not null check (input_per_mtok >= 0),
    output_per_mtok      numeric(12, 6) not null check (output_per_mtok >= 0),
    updated_at           timestamptz not null default now(),
    primary key (org_id, provider, model)
);

create table usage_events (
    seq          bigint generated always as identity primary key,
    org_id       bigint not null references orgs(id),
    -- null once the member's personal data is deleted: their usage stays,
    -- anonymous, in the aggregates
    member_id    bigint references members(id),
    -- the teams the member was in when the event arrived
    team_ids     bigint[] not null default '{}',
    event_id     text not null,
    at           timestamptz not null,
    kind         text not null,
    agent        text not null,
    skill        text,
    provider     text,
    model        text,
    tokens_in    bigint not null default 0 check (tokens_in >= 0),
    tokens_out   bigint not null default 0 check (tokens_out >= 0),
    cost_usd     numeric(18, 9) not null default 0,
    latency_ms   bigint not null default 0 check (latency_ms >= 0),
    outcome      text not null,
    findings     integer not null default 0,
    edits        integer not null default 0,
    received_at  timestamptz not null default now(),
    unique (member_id, event_id)
);
create index usage_events_org_at on usage_events (org_id, at);
