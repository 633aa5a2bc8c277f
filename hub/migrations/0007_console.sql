-- The web console: sessions of people signed in through single sign-on, and
-- usage rolled up per day (by a statement trigger on usage_events, one upsert
-- per batch), so a dashboard reads thousands of rows, not millions.

create table console_sessions (
    -- SHA-256 of the cookie's value
    id_hash     bytea primary key,
    org_id      bigint not null references orgs(id),
    member_id   bigint not null references members(id) on delete cascade,
    created_at  timestamptz not null default now(),
    seen_at     timestamptz not null default now(),
    expires_at  timestamptz not null
);
create index console_sessions_member on console_sessions (member_id);

create table usage_daily (
    org_id      bigint not null,
    day         date not null,
    -- the member; 0 once their personal data is deleted
    member_key  bigint not null,
    team_ids    bigint[] not null,
    kind        text not null,
    agent       text not null,
    provider    text not null,
    model       text not null,
    runs        bigint not null,
    errors      bigint not null,
    tokens_in   bigint not null,
    tokens_out  bigint not null,
    cost_usd    numeric(18, 9) not null,
    findings    bigint not null,
    edits       bigint not null,
    primary key (org_id, day, member_key, team_ids, kind, agent, provider, model)
);

-- Latency histograms: bucket k holds [2^((k-1)/4), 2^(k/4)) ms, as the daemon's.
create table usage_latency (
    org_id      bigint not null,
    day         date not null,
    member_key  bigint not null,
    team_ids    bigint[] not null,
    kind        text not null,
    agent       text not null,
    provider    text not null,
    model       text not null,
    bucket      integer not null,
    count       bigint not null,
    primary key (org_id, day, member_key, team_ids, kind, agent, provider, model, bucket)
);

create function latency_bucket(ms bigint) returns integer language sql immutable as $$
    select case when ms < 1 then 0 else least(128, floor(4 * log(2.0, ms::numeric))::integer + 1) end
$$;

create function usage_rollup() returns trigger language plpgsql as $$
begin
    -- In key order, so batches that meet lock the same rows in the same order.
    insert into usage_daily as d
    select org_id, (at at time zone 'UTC')::date, coalesce(member_id, 0), team_ids, kind, agent,
           coalesce(provider, ''), coalesce(model, ''), count(*), count(*) filter (where outcome = 'failed'),
           sum(tokens_in), sum(tokens_out), sum(cost_usd), sum(findings), sum(edits)
      from inserted group by 1, 2, 3, 4, 5, 6, 7, 8 order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (org_id, day, member_key, team_ids, kind, agent, provider, model) do update
       set runs = d.runs + excluded.runs, errors = d.errors + excluded.errors,
           tokens_in = d.tokens_in + excluded.tokens_in, tokens_out = d.tokens_out + excluded.tokens_out,
           cost_usd = d.cost_usd + excluded.cost_usd, findings = d.findings + excluded.findings,
           edits = d.edits + excluded.edits;
    insert into usage_latency as l
    select org_id, (at at time zone 'UTC')::date, coalesce(member_id, 0), team_ids, kind, agent,
           coalesce(provider, ''), coalesce(model, ''), latency_bucket(latency_ms), count(*)
      from inserted group by 1, 2, 3, 4, 5, 6, 7, 8, 9 order by 1, 2, 3, 4, 5, 6, 7, 8, 9
    on conflict (org_id, day, member_key, team_ids, kind, agent, provider, model, bucket) do update
       set count = l.count + excluded.count;
    return null;
end
$$;

create trigger usage_events_rollup after insert on usage_events
    referencing new table as inserted for each statement execute function usage_rollup();

-- What arrived before this migration.
insert into usage_daily
select org_id, (at at time zone 'UTC')::date, coalesce(member_id, 0), team_ids, kind, agent,
       coalesce(provider, ''), coalesce(model, ''), count(*), count(*) filter (where outcome = 'failed'),
       sum(tokens_in), sum(tokens_out), sum(cost_usd), sum(findings), sum(edits)
  from usage_events group by 1, 2, 3, 4, 5, 6, 7, 8;
insert into usage_latency
select org_id, (at at time zone 'UTC')::date, coalesce(member_id, 0), team_ids, kind, agent,
       coalesce(provider, ''), coalesce(model, ''), latency_bucket(latency_ms), count(*)
  from usage_events group by 1, 2, 3, 4, 5, 6, 7, 8, 9;
