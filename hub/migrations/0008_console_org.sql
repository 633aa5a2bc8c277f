-- The console's organisation-wide views, read from rollups without the member
-- dimension: usage per day, latency per day and per calendar month (a long
-- period reads its whole months once), and who was active each day.

create table usage_daily_org (
    org_id      bigint not null,
    day         date not null,
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
    primary key (org_id, day, kind, agent, provider, model)
);

create table usage_latency_org (
    org_id      bigint not null,
    day         date not null,
    kind        text not null,
    agent       text not null,
    provider    text not null,
    model       text not null,
    bucket      integer not null,
    count       bigint not null,
    primary key (org_id, day, kind, agent, provider, model, bucket)
);

create table usage_latency_org_monthly (
    org_id      bigint not null,
    -- the month's first day
    month       date not null,
    kind        text not null,
    agent       text not null,
    provider    text not null,
    model       text not null,
    bucket      integer not null,
    count       bigint not null,
    primary key (org_id, month, kind, agent, provider, model, bucket)
);

create table usage_active (
    org_id      bigint not null,
    day         date not null,
    member_key  bigint not null,
    primary key (org_id, day, member_key)
);

create function usage_rollup_org() returns trigger language plpgsql as $$
begin
    insert into usage_daily_org as d
    select org_id, (at at time zone 'UTC')::date, kind, agent, coalesce(provider, ''), coalesce(model, ''), count(*),
           count(*) filter (where outcome = 'failed'), sum(tokens_in), sum(tokens_out), sum(cost_usd), sum(findings),
           sum(edits)
      from inserted group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6
    on conflict (org_id, day, kind, agent, provider, model) do update
       set runs = d.runs + excluded.runs, errors = d.errors + excluded.errors,
           tokens_in = d.tokens_in + excluded.tokens_in, tokens_out = d.tokens_out + excluded.tokens_out,
           cost_usd = d.cost_usd + excluded.cost_usd, findings = d.findings + excluded.findings,
           edits = d.edits + excluded.edits;
    insert into usage_latency_org as l
    select org_id, (at at time zone 'UTC')::date, kind, agent, coalesce(provider, ''), coalesce(model, ''),
           latency_bucket(latency_ms), count(*)
      from inserted group by 1, 2, 3, 4, 5, 6, 7 order by 1, 2, 3, 4, 5, 6, 7
    on conflict (org_id, day, kind, agent, provider, model, bucket) do update set count = l.count + excluded.count;
    insert into usage_latency_org_monthly as l
    select org_id, date_trunc('month', at at time zone 'UTC')::date, kind, agent, coalesce(provider, ''),
           coalesce(model, ''), latency_bucket(latency_ms), count(*)
      from inserted group by 1, 2, 3, 4, 5, 6, 7 order by 1, 2, 3, 4, 5, 6, 7
    on conflict (org_id, month, kind, agent, provider, model, bucket) do update set count = l.count + excluded.count;
    insert into usage_active
    select distinct org_id, (at at time zone 'UTC')::date, coalesce(member_id, 0) from inserted order by 1, 2, 3
    on conflict do nothing;
    return null;
end
$$;

create trigger usage_events_rollup_org after insert on usage_events
    referencing new table as inserted for each statement execute function usage_rollup_org();

insert into usage_daily_org
select org_id, day, kind, agent, provider, model, sum(runs), sum(errors), sum(tokens_in), sum(tokens_out),
       sum(cost_usd), sum(findings), sum(edits)
  from usage_daily group by 1, 2, 3, 4, 5, 6;
insert into usage_latency_org
select org_id, day, kind, agent, provider, model, bucket, sum(count) from usage_latency group by 1, 2, 3, 4, 5, 6, 7;
insert into usage_latency_org_monthly
select org_id, date_trunc('month', day)::date, kind, agent, provider, model, bucket, sum(count)
  from usage_latency group by 1, 2, 3, 4, 5, 6, 7;
insert into usage_active select distinct org_id, day, member_key from usage_daily;
